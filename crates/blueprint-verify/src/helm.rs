//! Helm values files checked against the chart's own `values.schema.json`, the schema
//! `helm template` and `helm install` validate values with (`schemas/vendor/helm/`, embedded;
//! see its `PROVENANCE.txt` for the repository, path and commit of each).
//!
//! 1. [`HelmSchemas::new`] compiles the vendored schemas once, offline: each declares its draft
//!    in `$schema` (checked against the draft recorded here) and has no `$ref` outside itself, so
//!    nothing is ever fetched.
//! 2. [`HelmSchemas::verify`] parses a rendered values file back with the strict plant parser
//!    (one document, no anchors, no duplicate keys, no YAML 1.1 look-alikes, at most 24 levels
//!    deep and 20 000 values; the 256-entry list cap belongs to the typed plant decoder and does
//!    not apply) and validates it against the chart's schema. A chart without a schema is only
//!    parsed. Every problem names its JSON path; an unknown key is named by its own path
//!    (`/logs`, `/ports/web/redirectTo`).
//!
//! How much a schema catches is the chart's doing: Traefik's sets `additionalProperties: false`
//! at the root, on every `ports.<name>` and on most sections, so a renamed or misspelt key is
//! refused; bitnami/redis's declares types only (no `additionalProperties`), so an unknown key
//! there passes and only wrong types are caught.
//!
//! What Helm does differently: it validates the chart's defaults merged with the values, so a
//! `required` key the defaults provide is reported here when the file does not set it, and a
//! key set to `null` (Helm's way to drop a default) is checked as `null`. Blueprint writes
//! neither.

use crate::{pointer_segment, schema_problem};
use jsonschema::{Draft, Validator, error::ValidationErrorKind};
use serde_json::Value;
use std::collections::BTreeMap;

/// The charts blueprint writes values for: (name, vendored schema if the chart ships one, the
/// draft that schema declares).
const CHARTS: &[(&str, Option<&str>, Draft)] = &[
    (
        "traefik",
        Some(include_str!(
            "../../../schemas/vendor/helm/traefik/values.schema.json"
        )),
        Draft::Draft202012,
    ),
    // `$schema: http://json-schema.org/schema#`, the version-less URI: the current draft.
    (
        "redis",
        Some(include_str!(
            "../../../schemas/vendor/helm/redis/values.schema.json"
        )),
        Draft::Draft202012,
    ),
];

/// The compiled chart schemas.
pub struct HelmSchemas {
    /// Chart name → its validator, `None` for a chart that ships no schema.
    charts: BTreeMap<&'static str, Option<Validator>>,
}

/// Every `$ref` in a schema.
fn refs<'a>(schema: &'a Value, out: &mut Vec<&'a str>) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref" | "$dynamicRef" | "$recursiveRef", Value::String(r)) => out.push(r),
                    _ => refs(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// Compiles one vendored chart schema, offline.
fn compile(chart: &str, text: &str, draft: Draft) -> Result<Validator, String> {
    let schema: Value = serde_json::from_str(text)
        .map_err(|e| format!("vendored values schema of chart {chart} is not JSON: {e}"))?;
    let declared = schema.get("$schema").and_then(Value::as_str).unwrap_or("");
    if Draft::from_schema_uri(declared) != draft {
        return Err(format!(
            "vendored values schema of chart {chart} declares `$schema: {declared}`, not the \
             draft {draft:?} it was vendored for"
        ));
    }
    let mut found = Vec::new();
    refs(&schema, &mut found);
    if let Some(remote) = found.iter().find(|r| !r.starts_with('#')) {
        return Err(format!(
            "vendored values schema of chart {chart} refers to `{remote}`: vendor that schema \
             too, nothing is fetched"
        ));
    }
    jsonschema::options()
        .with_draft(draft)
        .build(&schema)
        .map_err(|e| format!("vendored values schema of chart {chart} does not compile: {e}"))
}

impl HelmSchemas {
    /// Compiles every vendored chart schema.
    pub fn new() -> Result<Self, String> {
        let mut charts = BTreeMap::new();
        for &(chart, text, draft) in CHARTS {
            let validator = text.map(|t| compile(chart, t, draft)).transpose()?;
            charts.insert(chart, validator);
        }
        Ok(Self { charts })
    }

    /// The charts known here, in name order.
    pub fn charts(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.charts.keys().copied()
    }

    /// Whether `chart` ships a values schema (its values are then validated, not only parsed).
    #[must_use]
    pub fn has_schema(&self, chart: &str) -> bool {
        self.charts.get(chart).is_some_and(Option::is_some)
    }

    /// Every problem of one rendered values file of `chart` (empty when it is valid).
    #[must_use]
    pub fn verify(&self, chart: &str, text: &str) -> Vec<String> {
        let Some(validator) = self.charts.get(chart) else {
            return vec![format!(
                "chart `{chart}` is not one blueprint writes values for (known: {})",
                self.charts().collect::<Vec<_>>().join(", ")
            )];
        };
        let values = match crate::parse_back(&format!("{chart} values"), text) {
            Ok(v) => v,
            Err(problems) => return problems,
        };
        if !values.is_object() {
            return vec!["/: Helm values must be a mapping".to_string()];
        }
        let Some(validator) = validator else {
            return Vec::new();
        };
        let mut problems = Vec::new();
        for error in validator.iter_errors(&values) {
            match error.kind() {
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    let at = error.instance_path().as_str();
                    problems.extend(unexpected.iter().map(|key| {
                        format!(
                            "{at}/{}: unknown key: the {chart} chart's values schema allows no \
                             `{key}` here",
                            pointer_segment(key)
                        )
                    }));
                }
                _ => problems.push(schema_problem(&error)),
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schemas() -> HelmSchemas {
        HelmSchemas::new().expect("the vendored chart schemas compile offline")
    }

    /// Values a plant's Traefik gets, with the keys of traefik.md §7 (chart 41.x).
    const TRAEFIK: &str = r#"deployment:
  kind: Deployment
  replicas: 2
podDisruptionBudget:
  enabled: true
  minAvailable: 1
ports:
  web:
    http:
      redirections:
        entryPoint:
          to: websecure
          scheme: https
          permanent: true
  websecure:
    http:
      tls:
        enabled: true
      middlewares:
        - "erp-ingress-headers@kubernetescrd"
    transport:
      respondingTimeouts:
        readTimeout: 600s
        idleTimeout: 180s
    forwardedHeaders:
      trustedIPs:
        - "10.0.0.0/8"
service:
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-type: nlb
  spec:
    externalTrafficPolicy: Local
tlsOptions:
  default:
    sniStrict: true
    minVersion: VersionTLS12
log:
  level: INFO
  format: json
accessLog:
  enabled: true
  format: json
providers:
  kubernetesCRD:
    enabled: true
    allowCrossNamespace: false
    allowExternalNameServices: false
  kubernetesIngress:
    enabled: false
ingressRoute:
  dashboard:
    enabled: false
image:
  registry: registry.example.com
  repository: mirror/traefik
  tag: v3.7.11
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: [ALL]
"#;

    #[test]
    fn every_vendored_schema_compiles_offline_with_its_declared_draft() {
        let s = schemas();
        assert_eq!(s.charts().collect::<Vec<_>>(), ["redis", "traefik"]);
        assert!(s.has_schema("traefik") && s.has_schema("redis"));
        for &(chart, text, _) in CHARTS {
            let Some(text) = text else { continue };
            let schema: Value = serde_json::from_str(text).expect("JSON");
            let mut found = Vec::new();
            refs(&schema, &mut found);
            assert!(found.is_empty(), "{chart} has $refs: {found:?}");
        }
    }

    #[test]
    fn a_realistic_traefik_values_file_passes() {
        assert_eq!(schemas().verify("traefik", TRAEFIK), Vec::<String>::new());
    }

    #[test]
    fn keys_the_chart_renamed_are_refused_by_their_path() {
        let s = schemas();
        // Removed in chart v34: `ports.<ep>.redirectTo`.
        let redirect_to = TRAEFIK.replace(
            "  web:\n    http:\n",
            "  web:\n    redirectTo:\n      port: websecure\n    http:\n",
        );
        let problems = s.verify("traefik", &redirect_to);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("/ports/web/redirectTo: unknown key")),
            "{problems:?}"
        );
        // Removed in chart v41: `logs.general.level` (now `log.level`).
        let logs = TRAEFIK.replace(
            "log:\n  level: INFO\n",
            "logs:\n  general:\n    level: INFO\n",
        );
        let problems = s.verify("traefik", &logs);
        assert!(
            problems.iter().any(|p| p.starts_with("/logs: unknown key")),
            "{problems:?}"
        );
        // Deep inside a closed section.
        let crd = TRAEFIK.replace("allowCrossNamespace: false", "allowCrossNamespaces: false");
        let problems = s.verify("traefik", &crd);
        assert_eq!(
            problems,
            [
                "/providers/kubernetesCRD/allowCrossNamespaces: unknown key: the traefik chart's \
              values schema allows no `allowCrossNamespaces` here"
            ]
        );
    }

    #[test]
    fn wrong_types_and_values_name_their_path() {
        let s = schemas();
        let replicas = TRAEFIK.replace("replicas: 2", "replicas: \"2\"");
        let problems = s.verify("traefik", &replicas);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("/deployment/replicas: ")),
            "{problems:?}"
        );
        let level = TRAEFIK.replace("level: INFO", "level: VERBOSE");
        let problems = s.verify("traefik", &level);
        assert!(
            problems.iter().any(|p| p.starts_with("/log/level: ")),
            "{problems:?}"
        );
        let digest = TRAEFIK.replace("tag: v3.7.11", "digest: sha256:abc");
        let problems = s.verify("traefik", &digest);
        assert!(
            problems.iter().any(|p| p.starts_with("/image/digest: ")),
            "{problems:?}"
        );
    }

    #[test]
    fn values_must_parse_back_strictly_and_be_a_mapping() {
        let s = schemas();
        // A YAML 1.1 boolean is refused by the parser before any schema sees it.
        let yes = TRAEFIK.replace("allowCrossNamespace: false", "allowCrossNamespace: no");
        assert!(
            s.verify("traefik", &yes)
                .iter()
                .any(|p| p.starts_with("does not parse back")),
        );
        let dup = format!("{TRAEFIK}log:\n  level: DEBUG\n");
        assert!(
            s.verify("traefik", &dup)
                .iter()
                .any(|p| p.starts_with("does not parse back")),
        );
        assert_eq!(
            s.verify("traefik", "- a\n- b\n"),
            ["/: Helm values must be a mapping"]
        );
        assert_eq!(s.verify("traefik", ""), ["is empty"]);
    }

    /// Values a plant's Redis gets, with the keys of redis.md §4 (replication with Sentinel,
    /// images mirrored and pinned, password from an existing Secret).
    const REDIS: &str = r#"global:
  security:
    allowInsecureImages: true
image:
  registry: registry.example.com
  repository: mirror/redis
  digest: "sha256:0f3c5b2a9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a"
architecture: replication
auth:
  enabled: true
  sentinel: true
  existingSecret: lyon-prod-redis
  existingSecretPasswordKey: redis-password
  usePasswordFiles: true
commonConfiguration: |-
  appendonly yes
  save ""
master:
  count: 1
  configuration: |-
    maxmemory 200mb
    maxmemory-policy allkeys-lru
  disableCommands: [FLUSHDB, FLUSHALL]
  persistence:
    enabled: true
    size: 8Gi
  resources:
    requests:
      cpu: 100m
      memory: 256Mi
    limits:
      memory: 256Mi
  pdb:
    create: true
    maxUnavailable: 1
replica:
  replicaCount: 2
  persistence:
    enabled: true
    size: 8Gi
  pdb:
    create: true
    maxUnavailable: 1
sentinel:
  enabled: true
  masterSet: mymaster
  quorum: 2
  image:
    registry: registry.example.com
    repository: mirror/redis-sentinel
    digest: "sha256:1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b"
networkPolicy:
  enabled: true
  allowExternal: false
metrics:
  enabled: true
  serviceMonitor:
    enabled: true
    interval: 30s
    additionalLabels:
      release: kube-prometheus-stack
volumePermissions:
  enabled: false
"#;

    #[test]
    fn a_realistic_redis_values_file_passes() {
        assert_eq!(schemas().verify("redis", REDIS), Vec::<String>::new());
    }

    #[test]
    fn redis_values_of_the_wrong_type_name_their_path() {
        let s = schemas();
        let count = REDIS.replace("replicaCount: 2", "replicaCount: \"2\"");
        let problems = s.verify("redis", &count);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("/replica/replicaCount: ")),
            "{problems:?}"
        );
        let auth = REDIS.replace(
            "  sentinel: true\n  existingSecret",
            "  sentinel: [true]\n  existingSecret",
        );
        let problems = s.verify("redis", &auth);
        assert!(
            problems.iter().any(|p| p.starts_with("/auth/sentinel: ")),
            "{problems:?}"
        );
    }

    #[test]
    fn the_redis_schema_is_open_so_unknown_keys_pass() {
        // bitnami/redis declares no `additionalProperties`: a misspelt key is not caught here.
        let misspelt = REDIS.replace("  usePasswordFiles: true", "  usePasswordFile: true");
        assert_eq!(schemas().verify("redis", &misspelt), Vec::<String>::new());
    }

    #[test]
    fn an_unknown_chart_is_a_problem() {
        let problems = schemas().verify("nginx", "replicaCount: 1\n");
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("chart `nginx`"), "{problems:?}");
    }

    #[test]
    fn a_schema_of_another_draft_or_with_a_remote_ref_is_refused() {
        let draft7 = r#"{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}"#;
        assert!(compile("x", draft7, Draft::Draft202012).is_err_and(|e| e.contains("declares")),);
        let undeclared = r#"{"type": "object"}"#;
        assert!(compile("x", undeclared, Draft::Draft202012).is_err());
        let remote = r#"{"$schema": "https://json-schema.org/draft/2020-12/schema",
            "properties": {"a": {"$ref": "https://example.invalid/a.json"}}}"#;
        assert!(compile("x", remote, Draft::Draft202012).is_err_and(|e| e.contains("refers to")),);
        let local = r##"{"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$defs": {"n": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/n"}}}"##;
        assert!(compile("x", local, Draft::Draft202012).is_ok());
    }

    #[test]
    fn long_lists_are_not_capped_here() {
        let mut doc = String::from("additionalArguments:\n");
        for i in 0..300 {
            doc.push_str(&format!(
                "  - \"--entrypoints.e{i}.address=:{}\"\n",
                9000 + i
            ));
        }
        assert_eq!(schemas().verify("traefik", &doc), Vec::<String>::new());
    }
}

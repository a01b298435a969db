//! Domain facts of DESIGN §4.5 visible in the `traefik`, `clusters` and `argocd` outputs of the
//! example fleets: the plants' IngressRoutes, Middlewares, TLSOptions, Certificates and client
//! CA ExternalSecrets, the clusters' Traefik values and storage classes, and the Argo CD
//! Applications (plants, clusters, platforms, the fleet's root).
//!
//! Only these families' outputs are rendered (with the real renderer and verifier), so these
//! tests judge their templates whatever state the other families are in; the paths of every
//! output (rendered or not) are kept to check what the Applications point at.

use crate::support::yaml as parse;
use crate::support::{EXAMPLES, read_inputs, root};
use blueprint_compiler::Input;
use blueprint_compiler::lower::{Ir, Output, PlantCtx, lower};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

// The three constants below restate `lower/traefik.rs` on purpose: they are Odoo's facts
// (DESIGN §4.5, reference odoo.md §4), written independently of the code so that a path
// dropped from the code's list, or a changed limit, fails these tests instead of silently
// changing both sides.

/// Odoo rejects bodies above this whatever the proxy allows.
const ODOO_MAX_BODY: u64 = 128 * 1024 * 1024;

/// Endpoints that check a password or send account mail: the strict login rate limit.
const LOGIN_PATHS: &[&str] = &[
    "/web/login",
    "/web/session/authenticate",
    "/xmlrpc/common",
    "/xmlrpc/2/common",
    "/web/reset_password",
    "/web/signup",
];

/// The database-manager surface.
const ADMIN_PREFIXES: &[&str] = &["/web/database", "/xmlrpc/db", "/xmlrpc/2/db"];

fn mine(o: &Output) -> bool {
    let t = o.template.as_str();
    t.starts_with("traefik/")
        || t.starts_with("kubernetes/certificate-")
        || t.starts_with("clusters/traefik-")
        || t.starts_with("clusters/storageclass")
        || t.starts_with("argocd/")
        || t.starts_with("kubernetes/externalsecret-integration-")
}

struct Built {
    ir: Ir,
    files: BTreeMap<String, String>,
    /// The path of every output of the tree, of every family.
    all: BTreeSet<String>,
}

fn build(inputs: &[Input]) -> Built {
    let c = blueprint_compiler::compile(inputs);
    assert!(
        !c.has_errors(),
        "{}",
        blueprint_diagnostics::render_human(&c.map, &c.diagnostics, false)
    );
    let mut ir = lower(c.fleet.as_ref().expect("a fleet"), &c.plants, &c.platforms);
    let all = ir.outputs.iter().map(|o| o.path.clone()).collect();
    ir.outputs.retain(mine);
    let blueprint_cli::build::Rendered {
        files, findings, ..
    } = blueprint_cli::build::render_and_verify(&ir, &blueprint_cli::build::Options::default());
    assert!(
        findings.is_empty(),
        "{}",
        blueprint_diagnostics::render_human(&c.map, &findings, false)
    );
    let files = files
        .into_iter()
        .map(|(p, b)| (p, String::from_utf8(b).expect("UTF-8")))
        .collect();
    Built { ir, files, all }
}

fn example(name: &str) -> Built {
    build(&read_inputs(&root().join("examples").join(name), "plants"))
}

/// Every example fleet, built once for all the tests of this module.
fn examples() -> &'static [(&'static str, Built)] {
    static BUILT: OnceLock<Vec<(&'static str, Built)>> = OnceLock::new();
    BUILT.get_or_init(|| EXAMPLES.iter().map(|e| (*e, example(e))).collect())
}

impl Built {
    fn dir(p: &PlantCtx) -> String {
        format!("{}/", p.dir)
    }

    /// The plant environments (not the clusters' shared platforms).
    fn plants(&self) -> impl Iterator<Item = &PlantCtx> {
        self.ir.plants.iter().filter(|p| !p.platform)
    }

    /// Every object of a plant environment, by path.
    fn objects(&self, p: &PlantCtx) -> BTreeMap<String, Value> {
        let dir = Self::dir(p);
        self.files
            .iter()
            .filter(|(path, _)| path.starts_with(&dir))
            .map(|(path, text)| (path.clone(), parse(path, text)))
            .collect()
    }

    fn of_kind(&self, p: &PlantCtx, kind: &str) -> Vec<Value> {
        self.objects(p)
            .into_values()
            .filter(|o| o["kind"] == kind)
            .collect()
    }

    fn middleware(&self, p: &PlantCtx, name: &str) -> Value {
        self.of_kind(p, "Middleware")
            .into_iter()
            .find(|m| m["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{}: no Middleware {name}", Self::dir(p)))
    }

    /// The IngressRoute whose first route matches `host` (a client-certificate integration's).
    fn route_for_host(&self, p: &PlantCtx, host: &str) -> Value {
        self.of_kind(p, "IngressRoute")
            .into_iter()
            .find(|r| {
                r["spec"]["routes"][0]["match"]
                    .as_str()
                    .is_some_and(|m| m.contains(host))
            })
            .unwrap_or_else(|| panic!("{}: no route for {host}", Self::dir(p)))
    }

    fn main_route(&self, p: &PlantCtx) -> Value {
        let path = format!("{}traefik/ingressroute-odoo.yaml", Self::dir(p));
        parse(&path, self.files.get(&path).expect("the main IngressRoute"))
    }

    /// The cluster a plant environment runs on.
    fn cluster_of(p: &PlantCtx) -> String {
        p.cluster
            .clone()
            .unwrap_or_else(|| format!("{}-{}", p.name, p.env))
    }

    fn traefik_values(&self, cluster: &str) -> Value {
        let path = format!("clusters/{cluster}/traefik/values.yaml");
        parse(
            &path,
            self.files.get(&path).unwrap_or_else(|| panic!("no {path}")),
        )
    }
}

fn routes(route: &Value) -> Vec<Value> {
    route["spec"]["routes"].as_array().expect("routes").clone()
}

fn middleware_names(route: &Value) -> Vec<String> {
    route["middlewares"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .map(|m| m["name"].as_str().expect("a name").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The values of every `matcher(`…`)` in a rule, split by whether a `!` negates it. Values
/// cannot contain a backtick, so the needle (which ends with one) is never inside a value.
fn matchers(rule: &str, matcher: &str) -> (Vec<String>, Vec<String>) {
    let (mut positive, mut negative) = (Vec::new(), Vec::new());
    let needle = format!("{matcher}(`");
    let mut from = 0;
    while let Some(found) = rule[from..].find(&needle) {
        let at = from + found;
        let start = at + needle.len();
        let end = start + rule[start..].find('`').expect("closing backtick");
        let value = rule[start..end].to_string();
        if rule[..at].ends_with('!') {
            negative.push(value);
        } else {
            positive.push(value);
        }
        from = end + 1;
    }
    (positive, negative)
}

fn seconds(period: &str) -> u64 {
    let (n, unit) = period.split_at(period.len() - 1);
    let n: u64 = n.parse().expect("a number");
    match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => panic!("period {period}"),
    }
}

#[test]
fn exactly_one_default_tls_option_per_cluster_and_none_under_plants() {
    for (name, b) in examples() {
        for c in &b.ir.clusters {
            let values = b.traefik_values(&c.name);
            let options = values["tlsOptions"].as_object().expect("tlsOptions");
            assert_eq!(options.len(), 1, "{name}/{}", c.name);
            assert_eq!(options["default"]["minVersion"], "VersionTLS12");
            assert_eq!(options["default"]["sniStrict"], true);
            let others = b
                .files
                .iter()
                .filter(|(p, _)| p.starts_with(&format!("clusters/{}/", c.name)))
                .filter(|(p, t)| !p.ends_with("values.yaml") && t.contains("kind: TLSOption"))
                .count();
            assert_eq!(others, 0, "{name}/{}", c.name);
        }
        for p in b.plants() {
            assert!(
                b.files.contains_key(&format!(
                    "clusters/{}/traefik/values.yaml",
                    Built::cluster_of(p)
                )),
                "{name}: the cluster of {}/{} has no Traefik values",
                p.name,
                p.env
            );
            for o in b.of_kind(p, "TLSOption") {
                assert_ne!(o["metadata"]["name"], "default", "{name}: {}", p.name);
            }
        }
        assert!(
            !b.files
                .keys()
                .any(|path| path.starts_with("plants/") && path.contains("default")),
            "{name}"
        );
        // A shared platform is reached through its tenants' routes only.
        assert!(
            !b.files
                .keys()
                .any(|path| path.contains("/platform/traefik/")),
            "{name}"
        );
    }
}

#[test]
fn websocket_routes_to_8072_only_with_workers() {
    for (name, b) in examples() {
        for p in b.plants() {
            let rs = routes(&b.main_route(p));
            let gevent: Vec<&Value> = rs
                .iter()
                .filter(|r| r["services"][0]["port"] == 8072)
                .collect();
            // A shared tenant reaches the platform's Odoo, which always runs prefork.
            assert_eq!(
                gevent.len(),
                usize::from(p.odoo.workers > 0 || p.tenancy == "shared"),
                "{name}: {}",
                p.name
            );
            for r in gevent {
                let rule = r["match"].as_str().expect("match");
                assert_eq!(matchers(rule, "PathPrefix").0, vec!["/websocket"], "{rule}");
            }
            for r in &rs {
                let port = &r["services"][0]["port"];
                assert!(port == 8069 || port == 8072, "{name}: {port}");
            }
        }
    }
}

#[test]
fn database_manager_is_reachable_only_through_the_admin_allow_list() {
    let mut blocked_seen = false;
    let hostile = build(&hostile_inputs(HOSTILE_PATH));
    let all = examples()
        .iter()
        .map(|(n, b)| (*n, b))
        .chain([("hostile", &hostile)]);
    for (name, b) in all {
        for p in b.plants() {
            let rs = routes(&b.main_route(p));
            let admin = format!("{}odoo-admin-allowlist", p.names.prefix);
            let allow = b.middleware(p, &admin);
            let range: Vec<String> = allow["spec"]["ipAllowList"]["sourceRange"]
                .as_array()
                .expect("sourceRange")
                .iter()
                .map(|v| v.as_str().expect("CIDR").to_string())
                .collect();
            // A shared tenant never reaches the shared Odoo's database manager.
            blocked_seen |= p.admin_allow_from.is_empty();
            if p.admin_allow_from.is_empty() || p.tenancy == "shared" {
                assert_eq!(range, vec!["127.0.0.1/32"], "{name}: {}", p.name);
            } else {
                assert_eq!(range, p.admin_allow_from, "{name}: {}", p.name);
            }
            assert!(allow["spec"]["ipAllowList"].get("ipStrategy").is_none());
            let top = rs
                .iter()
                .map(|r| r["priority"].as_u64().unwrap_or(0))
                .max()
                .expect("routes");
            for r in &rs {
                let rule = r["match"].as_str().expect("match");
                let (positive, negative) = matchers(rule, "PathPrefix");
                let exact = matchers(rule, "Path").0;
                let guards_admin = positive
                    .iter()
                    .any(|p| ADMIN_PREFIXES.contains(&p.as_str()));
                if guards_admin {
                    assert_eq!(positive, ADMIN_PREFIXES, "{rule}");
                    assert!(middleware_names(r).contains(&admin), "{rule}");
                    assert_eq!(r["priority"].as_u64(), Some(top), "{rule}");
                } else if positive.is_empty() && exact.is_empty() {
                    // The catch-all leaves the admin surface out.
                    for prefix in ADMIN_PREFIXES {
                        assert!(negative.iter().any(|n| n == prefix), "{name}: {rule}");
                    }
                } else {
                    for prefix in positive.iter().chain(&exact) {
                        for admin_prefix in ADMIN_PREFIXES {
                            assert!(
                                !admin_prefix.starts_with(prefix.as_str()),
                                "{name}: {rule} also matches {admin_prefix}"
                            );
                        }
                    }
                }
            }
            assert_eq!(
                rs.iter()
                    .filter(|r| middleware_names(r).contains(&admin))
                    .count(),
                1
            );
        }
    }
    assert!(
        blocked_seen,
        "some example plant has an empty adminAllowFrom"
    );
}

#[test]
fn login_rate_limit_is_stricter_than_the_default() {
    for (name, b) in examples() {
        for p in b.plants() {
            let rate = |m: &str| {
                let spec = &b.middleware(p, &format!("{}{m}", p.names.prefix))["spec"]["rateLimit"];
                let per_s = spec["average"].as_f64().expect("average")
                    / seconds(spec["period"].as_str().expect("period")) as f64;
                (per_s, spec["burst"].as_u64().expect("burst"))
            };
            let (login, login_burst) = rate("odoo-login-ratelimit");
            let (default, default_burst) = rate("odoo-ratelimit");
            assert!(login < default, "{name}: {}: {login} vs {default}", p.name);
            assert!(login_burst <= default_burst, "{name}: {}", p.name);
            let rs = routes(&b.main_route(p));
            let login_route = rs
                .iter()
                .find(|r| {
                    matchers(r["match"].as_str().expect("match"), "Path")
                        .0
                        .contains(&"/web/login".to_string())
                })
                .expect("a login route");
            assert!(
                middleware_names(login_route)
                    .contains(&format!("{}odoo-login-ratelimit", p.names.prefix))
            );
            // Every password and account endpoint not owned by an integration's path.
            let guarded = matchers(login_route["match"].as_str().expect("match"), "Path").0;
            for path in LOGIN_PATHS {
                let owned = p
                    .integrations
                    .iter()
                    .filter_map(|i| i.path.as_deref())
                    .any(|i| path.starts_with(i));
                assert_eq!(
                    guarded.contains(&path.to_string()),
                    !owned,
                    "{name}: {}: {path}",
                    p.name
                );
            }
        }
    }
}

#[test]
fn buffering_never_exceeds_what_odoo_accepts() {
    let mut objects = Vec::new();
    for (_, b) in examples() {
        for p in b.plants() {
            for m in b.of_kind(p, "Middleware") {
                if let Some(buf) = m["spec"].get("buffering") {
                    objects.push((p.max_upload_bytes, buf.clone()));
                }
            }
        }
    }
    let b = build(&hostile_inputs(HOSTILE_PATH));
    for p in b.plants() {
        for m in b.of_kind(p, "Middleware") {
            if let Some(buf) = m["spec"].get("buffering") {
                objects.push((p.max_upload_bytes, buf.clone()));
            }
        }
    }
    assert!(objects.iter().any(|(upload, _)| *upload > ODOO_MAX_BODY));
    for (upload, buf) in objects {
        let max = buf["maxRequestBodyBytes"].as_u64().expect("a limit");
        assert!(max > 0 && max <= ODOO_MAX_BODY, "{max}");
        assert_eq!(max, upload.min(ODOO_MAX_BODY));
    }
}

#[test]
fn rate_limits_account_for_traefik_replicas() {
    let mut three = false;
    let mut integration_limits = 0;
    for (name, b) in examples() {
        for p in b.plants() {
            let replicas = b.traefik_values(&Built::cluster_of(p))["deployment"]["replicas"]
                .as_u64()
                .expect("replicas");
            assert!(replicas >= 2, "{name}");
            three |= replicas == 3;
            let mut uses: BTreeMap<String, usize> = BTreeMap::new();
            for route in b.of_kind(p, "IngressRoute") {
                for r in routes(&route) {
                    for m in middleware_names(&r) {
                        *uses.entry(m).or_default() += 1;
                    }
                }
            }
            for m in b.of_kind(p, "Middleware") {
                if m["spec"].get("rateLimit").is_some() {
                    let n = m["metadata"]["name"].as_str().expect("name");
                    // In-memory buckets are per router too: one route per rate limit.
                    assert_eq!(uses.get(n), Some(&1), "{name}: {n}");
                    assert_eq!(
                        m["spec"]["rateLimit"]["sourceCriterion"]["ipStrategy"]["depth"],
                        0
                    );
                }
            }
            for i in p
                .integrations
                .iter()
                .filter(|i| i.inbound && i.protocol == "https")
            {
                let (Some(avg), Some(period)) = (i.rate_average, i.rate_period_s) else {
                    continue;
                };
                if i.path.is_none() && !i.mutual_tls {
                    continue;
                }
                let m = b.middleware(
                    p,
                    &format!("{}integration-{}-ratelimit", p.names.prefix, i.name),
                );
                let spec = &m["spec"]["rateLimit"];
                assert_eq!(
                    spec["average"].as_u64(),
                    Some(avg.div_ceil(replicas)),
                    "{name}: {}",
                    i.name
                );
                assert_eq!(seconds(spec["period"].as_str().expect("period")), period);
                integration_limits += 1;
            }
        }
    }
    assert!(
        three,
        "a critical dedicated cluster runs three Traefik replicas"
    );
    assert!(
        integration_limits > 0,
        "some example integration has a rateLimit"
    );
}

/// Keys Traefik v3 removed (or renamed) that the CRD schemas still accept.
const REMOVED: &[&str] = &[
    "sslRedirect",
    "sslTemporaryRedirect",
    "sslHost",
    "sslForceHost",
    "sslProxyHeaders",
    "featurePolicy",
    "ipWhiteList",
    "forceSlash",
    "caOptional",
    "preferServerCipherSuites",
];

fn keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| keys(i, out)),
        _ => {}
    }
}

#[test]
fn no_traefik_v3_removed_fields_and_odoo_may_frame_itself() {
    let mut security_headers = 0;
    for (name, b) in examples() {
        for (path, text) in b.files.iter().filter(|(p, _)| p.contains("/traefik/")) {
            let v = parse(path, text);
            let mut all = Vec::new();
            keys(&v, &mut all);
            for removed in REMOVED {
                assert!(
                    !all.iter().any(|k| k == removed),
                    "{name}: {path}: {removed}"
                );
            }
            if path.starts_with("plants/") {
                assert_eq!(v["apiVersion"], "traefik.io/v1alpha1", "{path}");
            }
            // The security headers (the X-Forwarded-Host middleware sets request headers only).
            if let Some(h) = v["spec"]
                .get("headers")
                .filter(|h| h.get("customRequestHeaders").is_none())
            {
                assert!(h.get("frameDeny").is_none(), "{path}");
                assert_eq!(h["customFrameOptionsValue"], "SAMEORIGIN", "{path}");
                assert_eq!(h["contentTypeNosniff"], true);
                assert!(h["stsSeconds"].as_u64().expect("stsSeconds") >= 31_536_000);
                security_headers += 1;
            }
        }
    }
    assert!(security_headers > 0, "no security headers Middleware");
}

#[test]
fn every_host_has_a_certificate() {
    for (name, b) in examples() {
        for p in b.plants() {
            let certs = b.of_kind(p, "Certificate");
            let routes_ = b.of_kind(p, "IngressRoute");
            assert!(!routes_.is_empty());
            for route in routes_ {
                let secret = &route["spec"]["tls"]["secretName"];
                for r in routes(&route) {
                    for host in matchers(r["match"].as_str().expect("match"), "Host").0 {
                        let cert = certs
                            .iter()
                            .find(|c| {
                                c["spec"]["dnsNames"]
                                    .as_array()
                                    .is_some_and(|d| d.iter().any(|h| h == &host))
                            })
                            .unwrap_or_else(|| panic!("{name}: no Certificate for {host}"));
                        assert_eq!(&cert["spec"]["secretName"], secret, "{host}");
                        assert_eq!(
                            cert["metadata"]["namespace"],
                            route["metadata"]["namespace"]
                        );
                        assert_eq!(cert["spec"]["issuerRef"]["kind"], "ClusterIssuer");
                    }
                }
            }
        }
    }
}

#[test]
fn client_certificate_integrations_have_their_own_host_and_tls_option() {
    let mut seen = 0;
    for (name, b) in examples() {
        for p in b.plants() {
            let main = b.main_route(p);
            for i in p.integrations.iter().filter(|i| i.mutual_tls && i.inbound) {
                seen += 1;
                let host = i.host.clone().expect("an own host");
                let route = b.route_for_host(p, &host);
                let option = route["spec"]["tls"]["options"]["name"].clone();
                let tls = b
                    .of_kind(p, "TLSOption")
                    .into_iter()
                    .find(|o| o["metadata"]["name"] == option)
                    .expect("its TLSOption");
                assert_eq!(
                    tls["spec"]["clientAuth"]["clientAuthType"],
                    "RequireAndVerifyClientCert"
                );
                assert_eq!(
                    tls["spec"]["clientAuth"]["secretNames"][0],
                    format!("{}{}-client-ca", p.names.prefix, i.name)
                );
                // Never reachable on the main host without a client certificate.
                if let Some(path) = &i.path {
                    for r in routes(&main) {
                        let (positive, negative) =
                            matchers(r["match"].as_str().expect("match"), "PathPrefix");
                        assert!(!positive.contains(path), "{name}: {path}");
                        if positive.is_empty()
                            && matchers(r["match"].as_str().expect("m"), "Path")
                                .0
                                .is_empty()
                        {
                            assert!(negative.contains(path), "{name}: {path}");
                        }
                    }
                }
            }
        }
    }
    assert!(seen > 0);
}

#[test]
fn cluster_traefik_keeps_client_ips_redirects_to_https_and_allows_slow_uploads() {
    for (name, b) in examples() {
        for c in &b.ir.clusters {
            let v = b.traefik_values(&c.name);
            assert_eq!(
                v["service"]["spec"]["externalTrafficPolicy"], "Local",
                "{name}"
            );
            assert_eq!(
                v["ports"]["web"]["http"]["redirections"]["entryPoint"],
                serde_json::json!({"to": "websecure", "scheme": "https", "permanent": true})
            );
            let read = v["ports"]["websecure"]["transport"]["respondingTimeouts"]["readTimeout"]
                .as_str()
                .expect("readTimeout");
            assert!(seconds(read) >= 600, "{read}");
            assert_eq!(
                v["providers"]["kubernetesCRD"]["allowCrossNamespace"],
                false
            );
            assert_eq!(v["autoscaling"]["enabled"], false);
            assert_eq!(v["podDisruptionBudget"]["enabled"], true);
            assert!(
                v.get("logs").is_none() && v.get("log").is_some() && v.get("accessLog").is_some()
            );
            assert_eq!(v["image"]["registry"], b.ir.fleet.registry.as_str());
            assert_eq!(v["securityContext"]["allowPrivilegeEscalation"], false);
            assert_eq!(
                v["podSecurityContext"]["seccompProfile"]["type"],
                "RuntimeDefault"
            );
            assert_eq!(
                v["metrics"]["prometheus"]["serviceMonitor"]["enabled"],
                true
            );
            let sc = format!(
                "clusters/{}/kubernetes/storageclass-blueprint-retain-rwo.yaml",
                c.name
            );
            let sc = parse(&sc, b.files.get(&sc).expect("a storage class"));
            assert_eq!(sc["reclaimPolicy"], "Retain");
            assert_eq!(sc["allowVolumeExpansion"], true);
        }
    }
}

/// An integration path full of quoting, rule and template syntax that RFC 3986 still allows
/// in a path (the compiler refuses backticks, quotes, whitespace, `|`, `{`, `#` and the like).
const HOSTILE_PATH: &str = "/api')&&Host('evil.example.com')&&!PathPrefix('/$x%7By:@;=*+,~";

fn hostile_inputs(path: &str) -> Vec<Input> {
    let plant = format!(
        r#"apiVersion: blueprint/v1
kind: Plant
name: hostile
displayName: {display}
description: {display}
region: eu-west
owner:
  team: erp-hostile
  email: erp-hostile@example.com
tier: standard
tenancy: dedicated-namespace
cluster: shared-eu-west
recovery:
  rpo: 15m
  rto: 4h
odoo:
  version: "18.0"
  edition: community
  image: registry.example.com/odoo/odoo:18.0@sha256:721a1accefa20e9bab8d69ee144b6ebc13499634acc384f07ffaee45657e0875
  users: 10
database:
  size: 10Gi
  writeRate: 1Gi/day
ingress:
  host: hostile.erp.example.com
  adminAllowFrom: []
  maxUploadSize: 1Gi
integrations:
  - name: api
    kind: mes
    direction: inbound
    protocol: https
    peers:
      - 172.16.99.0/28
    port: 443
    path: {path}
    rateLimit: 7/s
maintenance:
  window: "Sun 01:00-06:00"
  timezone: Europe/Paris
environments:
  prod: {{}}
"#,
        display = serde_json::to_string(
            "x\"\nevil: true\n{{ 7*7 }} ${x} `Host(`evil`)` && PathPrefix(`/`)"
        )
        .expect("JSON"),
        path = serde_json::to_string(path).expect("JSON"),
    );
    vec![Input {
        path: "plants/hostile.yaml".into(),
        bytes: plant.into_bytes(),
        is_fleet: false,
    }]
}

#[test]
fn hostile_display_names_and_paths_stay_inert() {
    let b = build(&hostile_inputs(HOSTILE_PATH));
    let p = &b.ir.plants[0];
    assert!(p.display_name.contains("evil: true"));
    let rs = routes(&b.main_route(p));
    // websocket, database manager, login, the integration, default.
    assert_eq!(rs.len(), 5);
    let integration = rs
        .iter()
        .find(|r| middleware_names(r).contains(&"integration-api-allowlist".to_string()))
        .expect("the integration route");
    assert_eq!(
        integration["match"],
        format!("Host(`hostile.erp.example.com`) && PathPrefix(`{HOSTILE_PATH}`)")
    );
    let default = rs.last().expect("default route");
    assert_eq!(default["priority"], 1);
    assert!(
        default["match"]
            .as_str()
            .expect("match")
            .ends_with(&format!("&& !PathPrefix(`{HOSTILE_PATH}`)"))
    );
    for (path, text) in &b.files {
        let v = parse(path, text);
        assert!(v.get("evil").is_none(), "{path}");
        assert!(v["metadata"].get("evil").is_none(), "{path}");
    }
    // A backtick would end a rule literal, a quote or brace could start template syntax: the
    // compiler refuses them before lowering.
    for path in [
        "/api`) || Host(`evil",
        "/api\")||Host(\"evil.example.com\")",
        "/#{{7*7}}${x}%{y}",
        "/a|b",
    ] {
        let c = blueprint_compiler::compile(&hostile_inputs(path));
        assert!(
            c.diagnostics.iter().any(|d| d.code.to_string() == "BP1014"),
            "{path}: {:?}",
            c.diagnostics
        );
    }
}

#[test]
fn shared_tenants_integration_hosts_reach_the_tenants_database() {
    let mut seen = 0;
    for (name, b) in examples() {
        for p in b.plants() {
            for i in p.integrations.iter().filter(|i| i.mutual_tls && i.inbound) {
                let host = i.host.clone().expect("an own host");
                let route = b.route_for_host(p, &host);
                let first = middleware_names(&routes(&route)[0])[0].clone();
                let forward = format!("{}integration-{}-host", p.names.prefix, i.name);
                if p.tenancy == "shared" {
                    seen += 1;
                    // The shared Odoo's dbfilter `^%h$` must see the tenant's host.
                    assert_eq!(first, forward, "{name}: {host}");
                    let m = b.middleware(p, &forward);
                    assert_eq!(
                        m["spec"]["headers"]["customRequestHeaders"],
                        serde_json::json!({ "X-Forwarded-Host": p.host })
                    );
                } else {
                    assert_ne!(first, forward, "{name}: {host}");
                }
            }
        }
    }
    assert!(
        seen > 0,
        "a shared tenant has a client-certificate integration"
    );
}

#[test]
fn every_client_ca_comes_from_the_secret_store() {
    let mut seen = 0;
    for (name, b) in examples() {
        let org = &b.ir.fleet.org;
        for p in b.plants() {
            let secrets = b.of_kind(p, "ExternalSecret");
            for option in b.of_kind(p, "TLSOption") {
                let ca = &option["spec"]["clientAuth"]["secretNames"][0];
                let s = secrets
                    .iter()
                    .find(|s| &s["spec"]["target"]["name"] == ca)
                    .unwrap_or_else(|| panic!("{name}: nothing creates Secret {ca}"));
                seen += 1;
                assert_eq!(s["metadata"]["namespace"], option["metadata"]["namespace"]);
                assert_eq!(s["apiVersion"], "external-secrets.io/v1");
                assert_eq!(s["spec"]["secretStoreRef"]["kind"], "ClusterSecretStore");
                assert_eq!(s["spec"]["secretStoreRef"]["name"], "aws-secrets-manager");
                assert_eq!(
                    s["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"],
                    "-5"
                );
                let data = &s["spec"]["data"][0];
                assert_eq!(data["secretKey"], "ca.crt");
                let key = data["remoteRef"]["key"].as_str().expect("a key");
                assert!(
                    key.starts_with(&format!("{org}/{}/{}/integration-", p.name, p.env))
                        && key.ends_with("-client-ca"),
                    "{name}: {key}"
                );
            }
        }
    }
    assert!(seen > 0);
}

/// Argo CD's directory `include` glob as it matches it (gobwas/glob without separators):
/// `{a,b}` alternatives, `*` any run of characters, `/` included.
fn glob(pattern: &str, text: &str) -> bool {
    if let Some(open) = pattern.find('{') {
        let close = open + pattern[open..].find('}').expect("a closing brace");
        return pattern[open + 1..close].split(',').any(|alt| {
            glob(
                &format!("{}{alt}{}", &pattern[..open], &pattern[close + 1..]),
                text,
            )
        });
    }
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            text.starts_with(head) && (head.len()..=text.len()).any(|at| glob(rest, &text[at..]))
        }
    }
}

/// Every Application of an example (not the root), by path.
fn applications(b: &Built) -> BTreeMap<String, Value> {
    b.files
        .iter()
        .filter(|(path, _)| path.contains("/argocd/"))
        .map(|(path, text)| (path.clone(), parse(path, text)))
        .collect()
}

fn wave(app: &Value) -> i64 {
    app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
        .as_str()
        .expect("a sync wave")
        .parse()
        .expect("a number")
}

#[test]
fn every_application_targets_its_cluster_by_name() {
    for (name, b) in examples() {
        let clusters: BTreeSet<String> = b.ir.clusters.iter().map(|c| c.name.clone()).collect();
        for (path, app) in applications(b) {
            assert_eq!(app["kind"], "Application", "{path}");
            let dest = &app["spec"]["destination"];
            assert!(dest.get("server").is_none(), "{name}: {path}");
            let cluster = dest["name"].as_str().expect("destination.name");
            assert!(clusters.contains(cluster), "{name}: {path}: {cluster}");
            assert!(
                b.all
                    .iter()
                    .any(|p| p.starts_with(&format!("clusters/{cluster}/"))),
                "{name}: {path}: no clusters/{cluster}/"
            );
            // Deleting an Application never deletes what it deployed.
            assert!(app["metadata"].get("finalizers").is_none(), "{path}");
            if let Some(c) = path.strip_prefix("clusters/") {
                assert!(c.starts_with(&format!("{cluster}/")), "{name}: {path}");
            }
            // Every Git path it deploys has files.
            for source in app["spec"]["sources"].as_array().expect("sources") {
                if let Some(dir) = source["path"].as_str() {
                    assert!(
                        b.all.iter().any(|p| p.starts_with(&format!("{dir}/"))),
                        "{name}: {path}: {dir} is empty"
                    );
                }
            }
        }
        for p in b.plants() {
            let path = format!("{}/argocd/application.yaml", p.dir);
            let app = parse(&path, b.files.get(&path).expect("the plant's Application"));
            assert_eq!(
                app["spec"]["destination"]["name"],
                Built::cluster_of(p),
                "{name}: {path}"
            );
        }
        for c in b.ir.clusters.iter().filter(|c| !c.tenants.is_empty()) {
            let path = format!("clusters/{}/platform/argocd/application.yaml", c.name);
            let app = parse(
                &path,
                b.files
                    .get(&path)
                    .unwrap_or_else(|| panic!("{name}: no {path}")),
            );
            assert_eq!(app["spec"]["destination"]["name"], c.name.as_str());
        }
    }
}

#[test]
fn every_cluster_deploys_its_traefik_values_and_manifests_before_its_plants() {
    for (name, b) in examples() {
        let apps = applications(b);
        let plant_waves: Vec<i64> = apps
            .iter()
            .filter(|(p, _)| p.starts_with("plants/"))
            .map(|(_, a)| wave(a))
            .collect();
        let platform_waves: Vec<i64> = apps
            .iter()
            .filter(|(p, _)| p.contains("/platform/"))
            .map(|(_, a)| wave(a))
            .collect();
        for c in &b.ir.clusters {
            let path = format!("clusters/{}/argocd/application-traefik.yaml", c.name);
            let t = apps
                .get(&path)
                .unwrap_or_else(|| panic!("{name}: no {path}"));
            let sources = t["spec"]["sources"].as_array().expect("sources");
            let chart = &sources[0];
            assert_eq!(chart["repoURL"], "https://traefik.github.io/charts");
            assert_eq!(chart["chart"], "traefik");
            assert_eq!(chart["targetRevision"], "41.3.0");
            let values = chart["helm"]["valueFiles"][0].as_str().expect("values");
            let values = values
                .strip_prefix("$values/")
                .expect("from the ref source");
            assert_eq!(values, format!("clusters/{}/traefik/values.yaml", c.name));
            assert!(b.files.contains_key(values), "{name}: {values}");
            assert!(
                sources.iter().any(
                    |s| s["ref"] == "values" && s["repoURL"] == b.ir.fleet.gitops_repo.as_str()
                ),
                "{name}: {path}"
            );
            assert_eq!(t["spec"]["destination"]["namespace"], "traefik");
            let options = &t["spec"]["syncPolicy"]["syncOptions"];
            for o in ["CreateNamespace=true", "ServerSideApply=true"] {
                assert!(
                    options.as_array().expect("options").iter().any(|v| v == o),
                    "{path}: {o}"
                );
            }
            let path = format!("clusters/{}/argocd/application-cluster.yaml", c.name);
            let k = apps
                .get(&path)
                .unwrap_or_else(|| panic!("{name}: no {path}"));
            assert_eq!(
                k["spec"]["sources"][0]["path"],
                format!("clusters/{}/kubernetes", c.name)
            );
            for w in plant_waves.iter().chain(&platform_waves) {
                assert!(wave(t) < *w && wave(k) < *w, "{name}: {}", c.name);
            }
        }
        for pw in &platform_waves {
            assert!(plant_waves.iter().all(|w| pw < w), "{name}");
        }
    }
}

#[test]
fn the_root_application_deploys_every_application() {
    for (name, b) in examples() {
        let roots: Vec<&String> = b.all.iter().filter(|p| p.ends_with("root.yaml")).collect();
        assert_eq!(roots, vec!["argocd/root.yaml"], "{name}");
        let root = parse("argocd/root.yaml", &b.files["argocd/root.yaml"]);
        assert_eq!(root["kind"], "Application");
        assert_eq!(root["metadata"]["name"], "blueprint-root");
        assert_eq!(root["metadata"]["namespace"], "argocd");
        assert!(root["metadata"].get("finalizers").is_none());
        let spec = &root["spec"];
        assert_eq!(spec["project"], "default");
        assert_eq!(spec["destination"]["namespace"], "argocd");
        assert_eq!(spec["source"]["repoURL"], b.ir.fleet.gitops_repo.as_str());
        assert_eq!(spec["source"]["path"], ".");
        assert_eq!(spec["source"]["directory"]["recurse"], true);
        assert_eq!(spec["syncPolicy"]["automated"]["prune"], true);
        assert_eq!(spec["syncPolicy"]["automated"]["selfHeal"], true);
        let include = spec["source"]["directory"]["include"]
            .as_str()
            .expect("include");
        let mut deployed = 0;
        for path in &b.all {
            let is_app = path.contains("/argocd/");
            assert_eq!(glob(include, path), is_app, "{name}: {path}");
            deployed += usize::from(is_app);
        }
        assert!(deployed > b.ir.clusters.len(), "{name}");
    }
}

#[test]
fn the_include_glob_reads_like_argo_cd() {
    let include = "{plants/*/*/argocd/*.yaml,clusters/*/argocd/*.yaml}";
    assert!(glob(include, "plants/a/prod/argocd/application.yaml"));
    assert!(glob(include, "clusters/c/argocd/application-traefik.yaml"));
    assert!(!glob(include, "plants/a/prod/kubernetes/namespace.yaml"));
    assert!(!glob(include, "argocd/root.yaml"));
}

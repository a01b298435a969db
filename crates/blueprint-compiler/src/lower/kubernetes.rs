//! `plants/<plant>/<env>/kubernetes/`: the plant's namespace and its guard rails (DESIGN §5,
//! reference/kubernetes.md §2–§4, §10).
//!
//! For every plant environment with a namespace of its own (every tenancy but `shared`, whose
//! objects live in the platform's namespace), and for each cluster's shared Odoo platform
//! (namespace `odoo-shared`, under `clusters/<cluster>/platform/`):
//!
//! 1. the Namespace (Pod Security `restricted`, cost labels, Argo CD prune protection);
//! 2. a ResourceQuota sized on what the plant runs and a LimitRange whose defaults bound every
//!    container that declares nothing ([`derive`] computes both, with their arithmetic);
//! 3. NetworkPolicies, one per file: default deny, then one allow per need (DNS, Traefik to
//!    Odoo, Odoo and the database setup Job to the database, Odoo to its cache and SMTP,
//!    PostgreSQL to the API server and to object storage, the restore test to the API server
//!    or the RDS API, monitoring, each integration);
//! 4. the Odoo ServiceAccount and one Role and RoleBinding per fleet identity group
//!    (`admin`, `operate`, `view`), the owner team joining `operate`;
//! 5. ExternalSecrets that reference secret-store keys (never values): the pgBackRest
//!    repository cipher passphrases, the RDS master credentials, the Redis password.

use super::{Check, IntegrationCtx, Output, PlantCtx, Scope, plant_path};
use crate::ResolvedPlant;
use crate::units::{fmt_bytes, fmt_cpu};
use serde::Serialize;
use serde_json::{Value, json};

const MI: u64 = 1024 * 1024;
const GI: u64 = 1024 * MI;

/// Pods of a bitnami Redis `replication` release: one master and the chart's default
/// `replica.replicaCount` of 3 (redis.md §4).
const REDIS_REPLICATION_PODS: u64 = 4;
/// Size of one Redis volume: the chart's default `persistence.size` (redis.md §4).
const REDIS_VOLUME: u64 = 8 * GI;
/// Memory limit a restore test may use (the quota counts 2Gi for it, `resolve/sizing.rs`).
const RESTORE_TEST_MEMORY: u64 = 2 * GI;
/// `limit_memory_soft` per Odoo process, as `resolve/sizing.rs` sizes the cron pod.
const ODOO_SOFT: u64 = 640 * MI;

/// The secret store every ExternalSecret reads from (a ClusterSecretStore in `clusters/`).
const SECRET_STORE: &str = "aws-secrets-manager";
/// How often External Secrets re-reads a key: rotation in the store reaches the cluster
/// within the hour, at 24 reads a day per key.
const SECRET_REFRESH: &str = "1h";

/// `plant.derived.kubernetes`: values only the Kubernetes templates need.
#[derive(Debug, Clone, Serialize)]
struct KubernetesDerived {
    /// The namespace's ResourceQuota.
    quota: QuotaCtx,
    /// The namespace's LimitRange.
    limits: LimitsCtx,
    /// Secret-store keys the ExternalSecrets reference, without the `<org>/` the template
    /// prepends (`fleet.org` is not part of the plant): `<plant>/<env>/<what>`.
    secrets: SecretsCtx,
}

/// ResourceQuota `spec.hard`.
#[derive(Debug, Clone, Serialize)]
struct QuotaCtx {
    /// `requests.cpu` and `limits.cpu`: `plant.quota_cpu` (`resolve/sizing.rs`: web pods at
    /// the HPA maximum plus rollout surge, cron, PostgreSQL, Redis, restore test). Requests
    /// never exceed limits, so the same figure bounds both.
    cpu: String,
    /// `requests.memory` and `limits.memory`: `plant.quota_memory`, same rule.
    memory: String,
    /// `pods`: every pod the plant can run at once.
    pods: u64,
    /// How `pods` was counted.
    pods_detail: String,
    /// `persistentvolumeclaims`.
    pvcs: u64,
    /// How `pvcs` was counted.
    pvcs_detail: String,
    /// `requests.storage` (`250Gi`).
    storage: String,
    /// `requests.storage`, bytes.
    storage_bytes: u64,
    /// How `storage` was summed.
    storage_detail: String,
}

/// LimitRange `type: Container`.
#[derive(Debug, Clone, Serialize)]
struct LimitsCtx {
    /// `default` CPU limit for a container that declares none (PGO's sidecars, init containers).
    default_cpu: String,
    /// `default` memory limit.
    default_memory: String,
    /// `defaultRequest` CPU.
    default_request_cpu: String,
    /// `defaultRequest` memory.
    default_request_memory: String,
    /// `max` CPU of one container: the largest container the sizing plans (an Odoo web pod or
    /// a PostgreSQL instance, both `cpuPerPod` cores), never above the quota.
    max_cpu: String,
    /// `max` CPU, millicores.
    max_cpu_m: u64,
    /// `max` memory of one container: the largest of the Odoo web limit, the cron pod
    /// ((cron threads + 1) × 640Mi), a PostgreSQL instance (database size / 10, between 2Gi
    /// and 32Gi, as the quota counts it) and the restore test (2Gi), never above the quota.
    max_memory: String,
    /// `max` memory, bytes.
    max_memory_bytes: u64,
    /// How the maxima were chosen.
    max_detail: String,
}

/// Secret-store keys (`<plant>/<env>/<what>`, `<cluster>/platform/<what>` for a cluster's
/// shared platform; the store key is `<org>/` + this).
#[derive(Debug, Clone, Serialize)]
struct SecretsCtx {
    /// The ClusterSecretStore every ExternalSecret reads from ([`SECRET_STORE`]).
    store: String,
    /// `spec.refreshInterval` ([`SECRET_REFRESH`]).
    refresh_interval: String,
    /// pgBackRest cipher passphrase of each repository (in-cluster PostgreSQL only).
    pgbackrest: Vec<CipherKey>,
    /// The `repo-cipher.conf` the ExternalSecret renders (ESO template v2 text, written into
    /// the YAML as a quoted string): `[global]` and one `repoN-cipher-pass={{ .repoN }}` line
    /// per repository.
    pgbackrest_conf: String,
    /// RDS master credentials (JSON with `username` and `password`), managed databases only.
    rds_master: Option<String>,
    /// Redis password, when Redis is rendered.
    redis_password: Option<String>,
}

/// One repository's cipher passphrase.
#[derive(Debug, Clone, Serialize)]
struct CipherKey {
    /// `repo1`: the repository, and the ESO data key the template reads.
    repo: String,
    /// `<plant>/<env>/pgbackrest-repo1-cipher-pass`.
    key: String,
}

fn in_cluster_db(p: &ResolvedPlant) -> bool {
    !p.database.managed && !p.database.shared
}

fn round_up(v: u64, to: u64) -> u64 {
    v.div_ceil(to) * to
}

/// Counts pods, PVCs and storage (DESIGN §4.2–§4.3, reference/kubernetes.md §4: the quota sums
/// every pod, Jobs of CronJobs included).
fn quota(ctx: &PlantCtx, p: &ResolvedPlant) -> QuotaCtx {
    let o = &p.odoo;
    let max = u64::from(o.max_replicas.value);
    // A Deployment's default rolling update surges 25 % of its replicas, rounded up: the rule
    // `resolve/sizing.rs` counts for connections and quota.
    let surge = max.div_ceil(4);
    let mut pods = vec![
        (max + surge, format!("{max} web (HPA max) + {surge} surge")),
        (2, "cron 1 + 1 during a rollout".to_string()),
        (1, "upgrade Job (PreSync)".to_string()),
    ];
    if in_cluster_db(p) {
        pods.push((1, "database setup Job".to_string()));
    }
    let mut pvcs = vec![(1, "filestore".to_string())];
    let filestore = p.database.filestore.value;
    let mut storage = vec![(filestore, format!("filestore {}", fmt_bytes(filestore)))];
    if in_cluster_db(p) {
        let inst = u64::from(p.database.instances.value);
        let repos = p.backup.repos.len() as u64;
        let data = p.database.storage.value;
        pods.push((inst, format!("{inst} PostgreSQL")));
        pods.push((1, "pgBackRest repo host".to_string()));
        pods.push((
            repos + 1,
            format!(
                "{} backup Jobs ({repos} repos + stanza/replica create)",
                repos + 1
            ),
        ));
        pods.push((
            3,
            "restore test 3 (CronJob, throw-away instance, its restore Job)".to_string(),
        ));
        pvcs.push((inst, format!("{inst} PostgreSQL data")));
        pvcs.push((1, "restore test data".to_string()));
        storage.push((
            inst * data,
            format!("{inst} PostgreSQL × {}", fmt_bytes(data)),
        ));
        storage.push((data, format!("restore test {}", fmt_bytes(data))));
    } else {
        // The RDS restore test restores to a new RDS instance: one runner pod, no volume.
        pods.push((1, "restore test CronJob".to_string()));
    }
    if let Some(r) = &p.redis {
        let n = if r.architecture.value == "replication" {
            REDIS_REPLICATION_PODS
        } else {
            1
        };
        pods.push((n, format!("{n} Redis")));
        if r.persistence.value {
            pvcs.push((n, format!("{n} Redis")));
            storage.push((
                n * REDIS_VOLUME,
                format!("{n} Redis × {}", fmt_bytes(REDIS_VOLUME)),
            ));
        }
    }
    pods.push((2, "2 Jobs started by hand from CronJobs".to_string()));
    let sum = |v: &[(u64, String)]| v.iter().map(|(n, _)| n).sum::<u64>();
    let text = |v: &[(u64, String)]| {
        v.iter()
            .map(|(_, t)| t.as_str())
            .collect::<Vec<_>>()
            .join(" + ")
    };
    let storage_bytes = round_up(sum(&storage), GI);
    QuotaCtx {
        cpu: ctx.quota_cpu.clone(),
        memory: ctx.quota_memory.clone(),
        pods: sum(&pods),
        pods_detail: format!("{} = {}", text(&pods), sum(&pods)),
        pvcs: sum(&pvcs),
        pvcs_detail: format!("{} = {}", text(&pvcs), sum(&pvcs)),
        storage: fmt_bytes(storage_bytes),
        storage_bytes,
        storage_detail: format!("{} = {}", text(&storage), fmt_bytes(storage_bytes)),
    }
}

/// The container defaults and maxima (reference/kubernetes.md §4).
fn limits(p: &ResolvedPlant) -> LimitsCtx {
    let o = &p.odoo;
    let mut cpu = vec![(o.cpu_limit_m.value, "Odoo web")];
    let mut mem = vec![
        (o.memory_limit.value, "Odoo web"),
        (u64::from(o.cron_threads.value + 1) * ODOO_SOFT, "Odoo cron"),
        (RESTORE_TEST_MEMORY, "restore test"),
    ];
    if in_cluster_db(p) {
        // The PostgreSQL instance as the quota counts it (resolve/sizing.rs `quota`).
        cpu.push((o.cpu_limit_m.value, "PostgreSQL"));
        mem.push((
            (p.database.size.value / 10).clamp(2 * GI, 32 * GI),
            "PostgreSQL",
        ));
    }
    let pick = |v: &[(u64, &'static str)]| {
        v.iter()
            .copied()
            .fold((0, ""), |best, x| if x.0 > best.0 { x } else { best })
    };
    let (c, c_from) = pick(&cpu);
    let (m, m_from) = pick(&mem);
    let c = c.min(p.quota.cpu_m.value);
    let m = m.min(p.quota.memory.value);
    LimitsCtx {
        default_cpu: "500m".into(),
        default_memory: "512Mi".into(),
        default_request_cpu: "100m".into(),
        default_request_memory: "128Mi".into(),
        max_cpu: fmt_cpu(c),
        max_cpu_m: c,
        max_memory: fmt_bytes(m),
        max_memory_bytes: m,
        max_detail: format!(
            "cpu {} ({c_from}), memory {} ({m_from}): the largest container the sizing plans",
            fmt_cpu(c),
            fmt_bytes(m)
        ),
    }
}

fn secrets(ctx: &PlantCtx, p: &ResolvedPlant) -> SecretsCtx {
    // A cluster's shared platform keeps its keys beside its tenants': `<cluster>/platform`.
    let base = if ctx.platform {
        format!("{}/platform", ctx.name)
    } else {
        format!("{}/{}", p.name.value, p.env)
    };
    let pgbackrest: Vec<CipherKey> = if in_cluster_db(p) {
        p.backup
            .repos
            .iter()
            .map(|r| CipherKey {
                repo: r.name.clone(),
                key: format!("{base}/pgbackrest-{}-cipher-pass", r.name),
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut conf = String::from("[global]\n");
    for k in &pgbackrest {
        conf.push_str(&format!("{0}-cipher-pass={{{{ .{0} }}}}\n", k.repo));
    }
    SecretsCtx {
        store: SECRET_STORE.into(),
        refresh_interval: SECRET_REFRESH.into(),
        pgbackrest,
        pgbackrest_conf: conf,
        rds_master: p.database.managed.then(|| format!("{base}/rds-master")),
        redis_password: p.redis.is_some().then(|| format!("{base}/redis-password")),
    }
}

/// Values only the Kubernetes templates need: the quota, the limits and the secret keys.
pub(super) fn derive(ctx: &mut PlantCtx, p: &ResolvedPlant) {
    let d = KubernetesDerived {
        quota: quota(ctx, p),
        limits: limits(p),
        secrets: secrets(ctx, p),
    };
    if let Ok(v) = serde_json::to_value(d) {
        ctx.derived.insert("kubernetes".into(), v);
    }
}

/// What one integration opens in the plant's namespace.
#[derive(Debug, Clone, Serialize)]
struct IntegrationPolicy {
    /// The integration's name.
    name: String,
    /// `odoo` (the Odoo pods) or `postgres` (the PostgreSQL pods).
    pods: &'static str,
    /// Port the rules open.
    port: u32,
    /// Peers may connect to the pods (inbound, not HTTPS: HTTPS comes through Traefik).
    ingress: bool,
    /// The pods may connect to the peers (outbound).
    egress: bool,
    /// Peer CIDRs.
    peers: Vec<String>,
}

/// The rules an integration needs, if any: inbound HTTPS arrives through Traefik (covered by
/// the Traefik policy); a `postgres-readonly` peer reads the in-cluster database on 5432 (an
/// RDS database is reached through its security group, rendered by Terraform).
fn integration_policy(i: &IntegrationCtx, in_cluster_db: bool) -> Option<IntegrationPolicy> {
    let (pods, port, ingress) = match i.protocol.as_str() {
        "postgres-readonly" => ("postgres", 5432, i.inbound && in_cluster_db),
        "https" => ("odoo", i.port, false),
        _ => ("odoo", i.port, i.inbound),
    };
    let egress = i.outbound && pods == "odoo";
    (ingress || egress).then(|| IntegrationPolicy {
        name: i.name.clone(),
        pods,
        port,
        ingress,
        egress,
        peers: i.peers.clone(),
    })
}

/// The files of `kubernetes/`.
pub(super) fn outputs(p: &PlantCtx, scope: Scope, out: &mut Vec<Output>) {
    if p.tenancy == "shared" {
        return;
    }
    let in_cluster_db = !p.database.managed && !p.database.shared;
    let mut push = |file: &str, template: &str, item: Value| {
        out.push(Output::new(
            plant_path(p, "kubernetes", file),
            &format!("kubernetes/{template}.yaml.j2"),
            scope,
            item,
            Check::Kubernetes,
        ));
    };
    push("namespace.yaml", "namespace", Value::Null);
    push(
        "resourcequota-plant-quota.yaml",
        "resourcequota",
        Value::Null,
    );
    push("limitrange-plant-limits.yaml", "limitrange", Value::Null);

    // NetworkPolicies.
    push(
        "networkpolicy-default-deny.yaml",
        "networkpolicy-default-deny",
        Value::Null,
    );
    push(
        "networkpolicy-allow-dns.yaml",
        "networkpolicy-allow-dns",
        Value::Null,
    );
    let via_traefik: Vec<&str> = p
        .integrations
        .iter()
        .filter(|i| i.inbound && i.protocol == "https")
        .map(|i| i.name.as_str())
        .collect();
    push(
        "networkpolicy-odoo-from-traefik.yaml",
        "networkpolicy-odoo-from-traefik",
        json!({ "https_integrations": via_traefik }),
    );
    if in_cluster_db || p.cidr.is_some() {
        push(
            "networkpolicy-odoo-to-database.yaml",
            "networkpolicy-odoo-to-database",
            Value::Null,
        );
    }
    push(
        "networkpolicy-odoo-to-smtp.yaml",
        "networkpolicy-odoo-to-smtp",
        Value::Null,
    );
    if in_cluster_db {
        for name in [
            "postgres-from-clients",
            "database-setup-to-postgres",
            "postgres-internal",
            "postgres-to-apiserver",
            "postgres-to-object-storage",
            "postgres-from-monitoring",
        ] {
            push(
                &format!("networkpolicy-{name}.yaml"),
                &format!("networkpolicy-{name}"),
                Value::Null,
            );
        }
    }
    // The restore test (database family) drives the operator through the API server, or the
    // RDS API for a managed database.
    push(
        "networkpolicy-restore-test.yaml",
        "networkpolicy-restore-test",
        Value::Null,
    );
    if p.redis.is_some() {
        push(
            "networkpolicy-odoo-to-redis.yaml",
            "networkpolicy-odoo-to-redis",
            Value::Null,
        );
        push(
            "networkpolicy-redis.yaml",
            "networkpolicy-redis",
            Value::Null,
        );
    }
    for i in &p.integrations {
        if let Some(policy) = integration_policy(i, in_cluster_db) {
            push(
                &format!("networkpolicy-integration-{}.yaml", i.name),
                "networkpolicy-integration",
                serde_json::to_value(policy).unwrap_or(Value::Null),
            );
        }
    }

    // Identity: the Odoo ServiceAccount, one Role and RoleBinding per identity group.
    push(
        &format!("serviceaccount-{}.yaml", p.names.odoo_sa),
        "serviceaccount-odoo",
        Value::Null,
    );
    for role in ["admin", "operate", "view"] {
        push(
            &format!("role-plant-{role}.yaml"),
            &format!("role-{role}"),
            Value::Null,
        );
        push(
            &format!("rolebinding-plant-{role}.yaml"),
            "rolebinding-plant",
            json!({ "role": role, "team": role == "operate" }),
        );
    }

    // ExternalSecrets: references into the secret store, never values.
    if in_cluster_db {
        push(
            "externalsecret-pgbackrest-secrets.yaml",
            "externalsecret-pgbackrest",
            Value::Null,
        );
    }
    if p.database.managed {
        push(
            &format!("externalsecret-{}.yaml", p.names.db_secret),
            "externalsecret-rds-master",
            Value::Null,
        );
    }
    if p.redis.is_some() {
        push(
            "externalsecret-redis-auth.yaml",
            "externalsecret-redis-auth",
            Value::Null,
        );
    }
}

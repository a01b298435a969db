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
//!    Odoo Enterprise to the internet on HTTPS (subscription server), the filestore backup to
//!    object storage, PostgreSQL to the API server and to object storage, the restore test to
//!    the API server or the RDS API, monitoring, each integration the pods can serve);
//! 4. the Odoo ServiceAccount and one Role and RoleBinding per fleet identity group
//!    (`admin`, `operate`, `view`), the owner team joining `operate`;
//! 5. ExternalSecrets that reference secret-store keys (never values): the pgBackRest
//!    repository cipher passphrases, the RDS master credentials (the secret RDS creates and
//!    rotates, found by its tag), the Redis password.

use super::{Check, GI, IntegrationCtx, MI, Output, PlantCtx, Scope, helm, plant_path, round_up};
use crate::ResolvedPlant;
use crate::units::{cpu_millis, fmt_bytes, fmt_cpu, quantity as parse_quantity};
use serde::Serialize;
use serde_json::{Value, json};

/// Memory limit a restore test may use (the quota counts 2Gi for it, `resolve/sizing.rs`).
const RESTORE_TEST_MEMORY: u64 = 2 * GI;
/// `limit_memory_soft` per Odoo process, as `resolve/sizing.rs` sizes the cron pod.
const ODOO_SOFT: u64 = 640 * MI;
/// What the LimitRange gives a container that declares nothing (CPU millicores, bytes): also
/// what the quota counts for a container whose limits another family does not expose (the
/// filestore backup CronJob's pod, when `plant.derived.database` does not say).
const DEFAULT_LIMIT: (u64, u64) = (500, 512 * MI);
/// Private and link-local ranges every "internet" egress rule leaves out: the cluster, the
/// VPC, on-premises networks and the instance metadata service.
const PRIVATE_RANGES: [&str; 4] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
];

/// The secret store every ExternalSecret reads from (a ClusterSecretStore in `clusters/`).
const SECRET_STORE: &str = "aws-secrets-manager";
/// How often External Secrets re-reads a key: rotation in the store reaches the cluster
/// within the hour, at 24 reads a day per key.
const SECRET_REFRESH: &str = "1h";

/// `plant.derived.kubernetes`: values only the Kubernetes templates need.
#[derive(Debug, Clone, Serialize)]
struct KubernetesDerived {
    /// The namespace's LimitRange.
    limits: LimitsCtx,
    /// Secret-store keys the ExternalSecrets reference, without the `<org>/` the template
    /// prepends (`fleet.org` is not part of the plant): `<plant>/<env>/<what>`.
    secrets: SecretsCtx,
}

/// ResourceQuota `spec.hard`: the item of `resourcequota-plant-quota.yaml`. Computed in
/// [`outputs`], once every family has derived its values, from the limits the families render
/// (`plant.derived.odoo`, `plant.derived.database`, the Redis values of `helm`), so that the
/// quota admits exactly the pods the plant can run at once.
#[derive(Debug, Clone, Serialize)]
struct QuotaCtx {
    /// `requests.cpu` and `limits.cpu`: the sum over [`QuotaCtx::parts`] of pods × CPU limit
    /// of one pod. Requests never exceed limits, so the same figure bounds both.
    cpu: String,
    /// `requests.memory` and `limits.memory`: the same sum for memory.
    memory: String,
    /// The fleet capacity check's figure (`plant.quota_cpu`, `resolve/sizing.rs`), for the
    /// comment: it may differ from [`QuotaCtx::cpu`].
    sizing_cpu: String,
    /// The same for memory (`plant.quota_memory`).
    sizing_memory: String,
    /// `pods`: every pod the plant can run at once.
    pods: u64,
    /// What each kind of pod adds, in the comment of the file.
    parts: Vec<QuotaPart>,
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

/// One kind of pod the quota counts: `pods` pods with the limits of one pod.
#[derive(Debug, Clone, Serialize)]
struct QuotaPart {
    /// What they are (`12 web (HPA max 10 + surge 2)`).
    what: String,
    /// How many can run at once.
    pods: u64,
    /// CPU limit of one pod (its containers' limits summed), millicores.
    cpu_m: u64,
    /// Memory limit of one pod, bytes.
    memory: u64,
    /// `12 × (2 cpu, 3200Mi) = 24 cpu, 37.5Gi`.
    line: String,
}

impl QuotaPart {
    fn new(what: impl Into<String>, pods: u64, (cpu_m, memory): (u64, u64)) -> Self {
        let what = what.into();
        let line = format!(
            "{what}: {pods} × ({} cpu, {}) = {} cpu, {}",
            fmt_cpu(cpu_m),
            fmt_bytes(memory),
            fmt_cpu(pods * cpu_m),
            fmt_bytes(pods * memory)
        );
        Self {
            what,
            pods,
            cpu_m,
            memory,
            line,
        }
    }
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
    /// The RDS master user secret, managed databases only.
    rds: Option<RdsSecret>,
    /// Redis password, when Redis is rendered.
    redis_password: Option<String>,
}

/// How the ExternalSecret finds the RDS master user secret. Terraform sets
/// `manage_master_user_password`: RDS creates the secret itself, names it `rds!db-<uuid>`
/// (unknown before the apply) and rotates it every 7 days, so no fixed key can name it. RDS
/// tags it `aws:rds:primaryDBInstanceArn` = the instance's ARN, which is known: the
/// ExternalSecret finds it by that tag (`dataFrom[].find.tags`), renames the one key found
/// (the secret's name) to [`RdsSecret::key`] (`rewrite[].regexp`), and its template takes
/// `username` and `password` out of the secret's JSON.
#[derive(Debug, Clone, Serialize)]
struct RdsSecret {
    /// The RDS instance identifier, `<plant>-<env>` (the Terraform `identifier`); the
    /// template writes the ARN `arn:aws:rds:<cloud region>:<account>:db:<identifier>`.
    instance: String,
    /// The data key the found secret is renamed to.
    key: String,
    /// ESO template (engine v2) of the `username` key: `{{ (index . "rds-master" | fromJson).username }}`.
    username: String,
    /// ESO template of the `password` key.
    password: String,
}

/// One repository's cipher passphrase.
#[derive(Debug, Clone, Serialize)]
struct CipherKey {
    /// `repo1`: the repository, and the ESO data key the template reads.
    repo: String,
    /// `<plant>/<env>/pgbackrest-repo1-cipher-pass`.
    key: String,
}

/// The limits of one container as a family renders them: `{limits: {cpu, memory}}` (database)
/// or `{cpu_limit, memory_limit}` (odoo), at `pointer` under `root`. A container whose limits
/// cannot be read counts as the LimitRange default, what Kubernetes would give it.
fn container_limits(root: Option<&Value>, pointer: &str) -> (u64, u64) {
    let Some(r) = root.and_then(|v| v.pointer(pointer)) else {
        return DEFAULT_LIMIT;
    };
    let cpu = r
        .pointer("/limits/cpu")
        .or_else(|| r.get("cpu_limit"))
        .and_then(Value::as_str)
        .and_then(|c| cpu_millis(c).ok())
        .unwrap_or(DEFAULT_LIMIT.0);
    let mem = r
        .pointer("/limits/memory")
        .or_else(|| r.get("memory_limit"))
        .and_then(Value::as_str)
        .and_then(|m| parse_quantity(m).ok())
        .unwrap_or(DEFAULT_LIMIT.1);
    (cpu, mem)
}

/// The sum of several containers' limits: one pod.
fn pod(containers: &[(u64, u64)]) -> (u64, u64) {
    containers
        .iter()
        .fold((0, 0), |(c, m), (cc, mm)| (c + cc, m + mm))
}

/// Counts pods, CPU, memory, PVCs and storage (DESIGN §4.2–§4.3, reference/kubernetes.md §4:
/// the quota sums every pod that can run at once, Jobs of CronJobs included), from the limits
/// the other families render. Runs after every family's `derive`.
fn quota(p: &PlantCtx) -> QuotaCtx {
    let odoo = p.derived.get("odoo");
    let db = p.derived.get("database");
    let pgo = p.database.in_cluster();
    let max = u64::from(p.odoo.max_replicas);
    // A Deployment's default rolling update surges 25 % of its replicas, rounded up: the rule
    // `resolve/sizing.rs` counts for connections and quota.
    let surge = max.div_ceil(4);
    let mut parts = vec![
        QuotaPart::new(
            format!("web (HPA max {max} + surge {surge})"),
            max + surge,
            container_limits(odoo, "/web/resources"),
        ),
        // The cron Deployment is `Recreate`: never two at once.
        QuotaPart::new("cron", 1, container_limits(odoo, "/cron/resources")),
        // An Argo CD Sync hook, beside the running web pods.
        QuotaPart::new(
            "upgrade Job (Sync hook)",
            1,
            container_limits(odoo, "/upgrade/pod/resources"),
        ),
    ];
    if db
        .and_then(|d| d.get("setup"))
        .is_some_and(|s| !s.is_null())
    {
        parts.push(QuotaPart::new(
            "database setup Job",
            1,
            container_limits(db, "/setup/resources"),
        ));
    }
    let repos = p.backup.repos.len() as u64;
    if pgo {
        let instance = pod(&[
            container_limits(db, "/postgres/database"),
            container_limits(db, "/postgres/cert_copy"),
            container_limits(db, "/postgres/pgbackrest"),
            container_limits(db, "/postgres/pgbackrest_config"),
            container_limits(db, "/postgres/exporter"),
        ]);
        parts.push(QuotaPart::new(
            "PostgreSQL instance (database + 4 sidecars)",
            u64::from(p.database.instances),
            instance,
        ));
        // PGO creates a pgBackRest repo host only for a volume repository: S3 repositories
        // have none. Backups run as Jobs: one scheduled per repository at a time (pgBackRest
        // holds a lock per repository), and the replica-create or a manual backup.
        parts.push(QuotaPart::new(
            format!("backup Job ({repos} repo + replica-create/manual)"),
            repos + 1,
            container_limits(db, "/postgres/backup_job"),
        ));
    }
    // The restore test: its runner and, with PGO, the throw-away PostgresCluster (its restore
    // Job, then its instance: database + replication-cert-copy), read from its manifest.
    let runner = container_limits(db, "/restore_test/resources");
    parts.push(QuotaPart::new("restore test runner", 1, runner));
    if pgo {
        let manifest: Option<Value> = db
            .and_then(|d| d.pointer("/restore_test/manifest"))
            .and_then(Value::as_str)
            .and_then(|m| serde_json::from_str(m).ok());
        let m = manifest.as_ref();
        parts.push(QuotaPart::new(
            "restore test restore Job",
            1,
            container_limits(m, "/spec/dataSource/pgbackrest/resources"),
        ));
        parts.push(QuotaPart::new(
            "restore test instance (database + replication-cert-copy)",
            1,
            pod(&[
                container_limits(m, "/spec/instances/0/resources"),
                container_limits(m, "/spec/instances/0/sidecars/replicaCertCopy/resources"),
            ]),
        ));
    }
    let filestore_backup = container_limits(db, "/filestore_backup/resources");
    parts.push(QuotaPart::new(
        "filestore backup CronJob",
        1,
        filestore_backup,
    ));
    let mut pvcs = vec![(1, "filestore".to_string())];
    let filestore = parse_quantity(&p.database.filestore).unwrap_or(0);
    let mut storage = vec![(filestore, format!("filestore {}", fmt_bytes(filestore)))];
    if pgo {
        let inst = u64::from(p.database.instances);
        let data = p.database.storage_bytes;
        pvcs.push((inst, format!("{inst} PostgreSQL data")));
        pvcs.push((1, "restore test data".to_string()));
        storage.push((
            inst * data,
            format!("{inst} PostgreSQL × {}", fmt_bytes(data)),
        ));
        storage.push((data, format!("restore test {}", fmt_bytes(data))));
    }
    if let Some(r) = helm::redis_values(p) {
        let replication = r.architecture == "replication";
        let replicas = if replication {
            u64::from(r.replica_count)
        } else {
            0
        };
        let n = 1 + replicas;
        let limit = |cpu: &str, mem: &str| {
            (
                cpu_millis(cpu).unwrap_or(DEFAULT_LIMIT.0),
                parse_quantity(mem).unwrap_or(DEFAULT_LIMIT.1),
            )
        };
        let redis_pod = pod(&[
            limit(&r.resources.cpu_limit, &r.resources.memory_limit),
            limit(&r.exporter.cpu_limit, &r.exporter.memory_limit),
        ]);
        parts.push(QuotaPart::new(
            format!("Redis (master + {replicas} replicas, redis + metrics sidecar)"),
            n,
            redis_pod,
        ));
        if r.persistence {
            let size = parse_quantity(&r.persistence_size).unwrap_or(0);
            pvcs.push((n, format!("{n} Redis")));
            storage.push((n * size, format!("{n} Redis × {}", fmt_bytes(size))));
        }
    }
    // Jobs started by hand from CronJobs (`kubectl create job --from`), which no
    // concurrencyPolicy stops: one filestore backup and one restore test runner.
    parts.push(QuotaPart::new(
        "filestore backup started by hand",
        1,
        filestore_backup,
    ));
    parts.push(QuotaPart::new("restore test started by hand", 1, runner));

    let pods = parts.iter().map(|x| x.pods).sum();
    let cpu_m: u64 = parts.iter().map(|x| x.pods * x.cpu_m).sum();
    // Memory rounded up to a mebibyte so the quantity stays readable.
    let memory = round_up(parts.iter().map(|x| x.pods * x.memory).sum(), MI);
    let sum = |v: &[(u64, String)]| v.iter().map(|(n, _)| n).sum::<u64>();
    let text = |v: &[(u64, String)]| {
        v.iter()
            .map(|(_, t)| t.as_str())
            .collect::<Vec<_>>()
            .join(" + ")
    };
    let storage_bytes = round_up(sum(&storage), GI);
    QuotaCtx {
        cpu: fmt_cpu(cpu_m),
        memory: fmt_bytes(memory),
        sizing_cpu: p.quota_cpu.clone(),
        sizing_memory: p.quota_memory.clone(),
        pods,
        parts,
        pvcs: sum(&pvcs),
        pvcs_detail: format!("{} = {}", text(&pvcs), sum(&pvcs)),
        storage: fmt_bytes(storage_bytes),
        storage_bytes,
        storage_detail: format!("{} = {}", text(&storage), fmt_bytes(storage_bytes)),
    }
}

/// The container defaults and maxima (reference/kubernetes.md §4).
fn limits(p: &ResolvedPlant, in_cluster_db: bool) -> LimitsCtx {
    let o = &p.odoo;
    let mut cpu = vec![(o.cpu_limit_m.value, "Odoo web")];
    let mut mem = vec![
        (o.memory_limit.value, "Odoo web"),
        (u64::from(o.cron_threads.value + 1) * ODOO_SOFT, "Odoo cron"),
        (RESTORE_TEST_MEMORY, "restore test"),
    ];
    if in_cluster_db {
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
    let pgbackrest: Vec<CipherKey> = if ctx.database.in_cluster() {
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
        rds: p.database.managed.then(|| {
            let key = "rds-master";
            let field = |f: &str| format!("{{{{ (index . \"{key}\" | fromJson).{f} }}}}");
            RdsSecret {
                instance: format!("{}-{}", ctx.name, ctx.env),
                key: key.into(),
                username: field("username"),
                password: field("password"),
            }
        }),
        redis_password: p.redis.is_some().then(|| format!("{base}/redis-password")),
    }
}

/// Values only the Kubernetes templates need: the limits and the secret keys (the quota is
/// computed in [`outputs`], from what the other families derive).
pub(super) fn derive(ctx: &mut PlantCtx, p: &ResolvedPlant) {
    let d = KubernetesDerived {
        limits: limits(p, ctx.database.in_cluster()),
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
/// RDS database is reached through its security group, rendered by Terraform). Inbound
/// `sftp`, `mqtt` or `amqp` opens nothing: Odoo listens on 8069 and 8072 only, so no pod of
/// the plant could answer on the integration's port (the compiler should warn about such an
/// integration; a rule here would only be a hole).
fn integration_policy(i: &IntegrationCtx, in_cluster_db: bool) -> Option<IntegrationPolicy> {
    let (pods, port, ingress) = match i.protocol.as_str() {
        "postgres-readonly" => ("postgres", 5432, i.inbound && in_cluster_db),
        _ => ("odoo", i.port, false),
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
    let in_cluster_db = p.database.in_cluster();
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
        serde_json::to_value(quota(p)).unwrap_or(Value::Null),
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
    // Odoo Enterprise checks its subscription with Odoo's servers (and the IAP services) over
    // HTTPS; Community calls out for nothing the plant needs.
    if p.odoo.edition == "enterprise" {
        push(
            "networkpolicy-odoo-to-internet-https.yaml",
            "networkpolicy-odoo-to-internet-https",
            json!({ "except": PRIVATE_RANGES }),
        );
    }
    // Every plant that runs its own Odoo backs its filestore up to object storage.
    push(
        "networkpolicy-filestore-backup-to-object-storage.yaml",
        "networkpolicy-filestore-backup-to-object-storage",
        json!({ "except": PRIVATE_RANGES }),
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

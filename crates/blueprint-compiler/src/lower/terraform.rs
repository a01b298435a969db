//! `terraform/`: reusable modules, one root per cloud region for the shared backup bucket, and
//! one root per plant environment (DESIGN §4.2, §4.5, §5; reference `terraform.md`).
//!
//! 1. [`fleet_outputs`] decides which modules exist (only those some root calls) and renders
//!    each once (`terraform/modules/<module>/{main,variables,outputs,versions}.tf`); then one
//!    root per bucket, `terraform/backup/<cloud region>/`, since buckets are shared per
//!    (organisation, cloud region) (`<org>-pgbackrest-<cloud region>`, the names the
//!    repositories of the resolved plants carry).
//! 2. [`plant_outputs`] renders `terraform/plants/<plant>/<env>/`: the backup identity
//!    (`plant.names.backup_role`: pgBackRest of plants whose own PostgreSQL runs it, and the
//!    filestore backup of every namespace with its own Odoo, RDS plants included), the DNS
//!    records of the plant's hosts, and for dedicated tenancies the cluster (node group sized
//!    by [`node_sizing`]) and (`dedicated-environment`) the Amazon RDS instance. A cluster's
//!    shared Odoo platform gets `terraform/platforms/<cluster>/` the same way: the identity of
//!    the pgBackRest that backs up every `shared` tenant and of the platform's filestore backup.
//!
//! Every number a root passes to a module is computed here, and its doc comment says how.
//! Attribute keys are fixed per block so the templates can align `=` the way `terraform fmt`
//! does; plant text reaches HCL only through the `hcl` filter.

use super::{Check, FleetCtx, Output, PlantCtx, Scope};
use crate::units;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The reusable modules, in the order they are listed.
const MODULES: [&str; 5] = [
    "backup-bucket",
    "pgbackrest-identity",
    "dns-record",
    "cluster",
    "managed-database",
];

/// Days a deleted (noncurrent) backup file stays recoverable after its object lock ends, or
/// after pgBackRest expired it when the bucket has no lock: a week to notice a wrong `expire`.
const NONCURRENT_MARGIN_DAYS: u64 = 7;

/// Kubernetes version of dedicated clusters: the version the manifests are validated against
/// (`schemas/vendor/kubernetes/v1.33-strict`).
const KUBERNETES_VERSION: &str = "1.33";

/// Node types a dedicated cluster may get, cheapest first (x86: the official Odoo images are
/// built for amd64): `(name, vCPUs, memory GiB, max pods)`. Each `r6i` (8 GiB per vCPU) costs
/// less than the next `m6i` (4 GiB per vCPU) size up, so the first that fits is also the
/// cheapest. Max pods: the EKS AMI's value for the VPC CNI without prefix delegation.
const NODE_TYPES: [(&str, u64, u64, u64); 8] = [
    ("m6i.xlarge", 4, 16, 58),
    ("r6i.xlarge", 4, 32, 58),
    ("m6i.2xlarge", 8, 32, 58),
    ("r6i.2xlarge", 8, 64, 58),
    ("m6i.4xlarge", 16, 64, 234),
    ("r6i.4xlarge", 16, 128, 234),
    ("m6i.8xlarge", 32, 128, 234),
    ("r6i.8xlarge", 32, 256, 234),
];
/// Requests of the DaemonSets on every node (VPC CNI with its network policy agent, kube-proxy,
/// EBS CSI node, log and metrics agents): 1 vCPU, 2 GiB.
const DAEMONSET_MILLICORES: u64 = 1000;
/// See [`DAEMONSET_MILLICORES`].
const DAEMONSET_BYTES: u64 = 2 * GIB;
/// Requests of the cluster's own Deployments besides the plant's (CoreDNS, Traefik, the AWS Load
/// Balancer Controller, External Secrets, cert-manager, PGO): 1 vCPU, 2 GiB, counted once.
const CLUSTER_SERVICES_MILLICORES: u64 = 1000;
/// See [`CLUSTER_SERVICES_MILLICORES`].
const CLUSTER_SERVICES_BYTES: u64 = 2 * GIB;
/// Availability zones of a dedicated cluster (one private and one public subnet each).
const ZONE_COUNT: u64 = 3;

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

/// `terraform/modules/<module>/` from a root at `depth` directories below `terraform/`.
fn module_source(depth: usize, module: &str) -> String {
    format!("{}modules/{module}", "../".repeat(depth))
}

/// The S3 backend of a root: the organisation's state bucket.
#[derive(Debug, Serialize)]
struct Backend {
    /// `<org>-terraform-state`, created once by the platform team (not by blueprint).
    bucket: String,
    /// `<root directory under terraform/>/terraform.tfstate`: `plants/<plant>/<env>/…`,
    /// `platforms/<cluster>/…` or `backup/<cloud region>/…`.
    key: String,
    /// Region of the state bucket: see [`state_region`].
    region: String,
}

/// The cloud region of the state bucket: backend blocks cannot use variables and a bucket name
/// lives in one region, so the whole fleet uses one, that of the first fleet region by name.
fn state_region(f: &FleetCtx) -> String {
    f.regions
        .values()
        .next()
        .cloned()
        .unwrap_or_else(|| "eu-west-3".into())
}

fn backend(f: &FleetCtx, key: String) -> Value {
    serde_json::to_value(Backend {
        bucket: format!("{}-terraform-state", f.org),
        key,
        region: state_region(f),
    })
    .unwrap_or(Value::Null)
}

/// One shared backup bucket and the root that creates it.
#[derive(Debug, Serialize)]
struct BucketRoot {
    /// Cloud region (`eu-west-3`).
    cloud_region: String,
    /// `<org>-pgbackrest-<cloud region>`.
    bucket: String,
    /// Object Lock default retention (GOVERNANCE), days: the smallest `repo1-retention-full`
    /// (days) of the `critical` plant environments with a repository in this bucket, so no
    /// backup is locked longer than its plant keeps it (DESIGN §4.5); 0 (no default retention)
    /// when no critical plant uses the bucket.
    object_lock_days: u64,
    /// Noncurrent versions expire after `object_lock_days` + [`NONCURRENT_MARGIN_DAYS`].
    noncurrent_version_days: u64,
}

/// Whether pgBackRest runs for this plant's database: everywhere but on Amazon RDS.
fn runs_pgbackrest(p: &PlantCtx) -> bool {
    !p.database.managed
}

/// Whether the plant's own pgBackRest writes to the buckets: plants with their own
/// PostgreSQL. A `shared` tenant's database is the platform's, backed up by the platform's
/// own pgBackRest under the platform's identity (rendered in the platform's root).
fn has_pgbackrest(p: &PlantCtx) -> bool {
    runs_pgbackrest(p) && !p.database.shared
}

/// Whether the namespace runs an Odoo of its own, whose filestore the `database` family's
/// `filestore-backup` CronJob copies to the repo1 bucket: every tenancy but `shared` (whose
/// files live in the platform's filestore), including RDS plants and the platform.
fn backs_up_filestore(p: &PlantCtx) -> bool {
    p.tenancy != "shared"
}

/// Whether the plant root creates the backup identity (`plant.names.backup_role`): for its
/// pgBackRest and/or its filestore backup.
fn has_identity(p: &PlantCtx) -> bool {
    has_pgbackrest(p) || (backs_up_filestore(p) && filestore_repo(p).is_some())
}

/// The repository whose bucket receives the filestore: repo1.
fn filestore_repo(p: &PlantCtx) -> Option<&super::RepoCtx> {
    p.backup.repos.first()
}

/// The filestore's key prefix in that bucket, as the `database` family derives it for its
/// CronJob (`derived.database.filestore_prefix`), so the role grants what the job writes.
fn filestore_prefix(p: &PlantCtx) -> Option<String> {
    p.derived
        .get("database")?
        .get("filestore_prefix")?
        .as_str()
        .map(str::to_string)
}

/// ServiceAccount of the filestore backup CronJob (`database` family).
const FILESTORE_SA: &str = "filestore-backup";

/// Dedicated tenancies bring their own cluster.
fn has_cluster(p: &PlantCtx) -> bool {
    matches!(
        p.tenancy.as_str(),
        "dedicated-cluster" | "dedicated-environment"
    )
}

/// The buckets of the fleet, by bucket name, from the repositories of every plant and shared
/// platform whose PostgreSQL runs pgBackRest.
fn buckets(plants: &[PlantCtx]) -> BTreeMap<String, BucketRoot> {
    let mut out: BTreeMap<String, BucketRoot> = BTreeMap::new();
    for p in plants.iter().filter(|p| has_identity(p)) {
        // pgBackRest writes to every repository; a filestore backup alone (RDS) to repo1.
        let repos = if has_pgbackrest(p) {
            &p.backup.repos[..]
        } else {
            &p.backup.repos[..p.backup.repos.len().min(1)]
        };
        for r in repos {
            let b = out.entry(r.bucket.clone()).or_insert_with(|| BucketRoot {
                cloud_region: r.cloud_region.clone(),
                bucket: r.bucket.clone(),
                object_lock_days: 0,
                noncurrent_version_days: NONCURRENT_MARGIN_DAYS,
            });
            if p.tier == "critical" && has_pgbackrest(p) {
                let days = p.backup.retention_full_days.max(1);
                b.object_lock_days = if b.object_lock_days == 0 {
                    days
                } else {
                    b.object_lock_days.min(days)
                };
                b.noncurrent_version_days = b.object_lock_days + NONCURRENT_MARGIN_DAYS;
            }
        }
    }
    out
}

/// Modules and fleet-wide roots.
pub(super) fn fleet_outputs(plants: &[PlantCtx], f: &FleetCtx, out: &mut Vec<Output>) {
    let buckets = buckets(plants);
    let used = |m: &str| match m {
        "backup-bucket" => !buckets.is_empty(),
        "pgbackrest-identity" => plants.iter().any(has_identity),
        "dns-record" => plants.iter().any(|p| !p.platform),
        "cluster" => plants.iter().any(has_cluster),
        "managed-database" => plants.iter().any(|p| p.database.managed),
        _ => false,
    };
    for module in MODULES.into_iter().filter(|m| used(m)) {
        for file in ["main", "variables", "outputs"] {
            out.push(Output::new(
                format!("terraform/modules/{module}/{file}.tf"),
                &format!("terraform/modules/{module}/{file}.tf.j2"),
                Scope::Fleet,
                Value::Null,
                Check::Hcl,
            ));
        }
        out.push(Output::new(
            format!("terraform/modules/{module}/versions.tf"),
            "terraform/versions.tf.j2",
            Scope::Fleet,
            Value::Null,
            Check::Hcl,
        ));
    }
    for b in buckets.values() {
        let dir = format!("terraform/backup/{}", b.cloud_region);
        let item = serde_json::json!({
            "root": serde_json::to_value(b).unwrap_or(Value::Null),
            "source": module_source(2, "backup-bucket"),
        });
        let key = format!("backup/{}/terraform.tfstate", b.cloud_region);
        for (file, template, item) in [
            ("versions.tf", "terraform/versions.tf.j2", Value::Null),
            ("backend.tf", "terraform/backend.tf.j2", backend(f, key)),
            (
                "providers.tf",
                "terraform/backup/providers.tf.j2",
                item.clone(),
            ),
            ("main.tf", "terraform/backup/main.tf.j2", item.clone()),
            ("outputs.tf", "terraform/backup/outputs.tf.j2", item.clone()),
        ] {
            out.push(Output::new(
                format!("{dir}/{file}"),
                template,
                Scope::Fleet,
                item,
                Check::Hcl,
            ));
        }
    }
}

/// How the pgBackRest role learns the OIDC issuer of the cluster it trusts.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
enum OidcSource {
    /// `clusters.<name>.oidcIssuer` of the fleet, written as a literal.
    Fleet,
    /// The fleet does not name it: read from the EKS cluster of that name.
    Lookup,
    /// The plant's dedicated cluster: `module.cluster.oidc_issuer`.
    Cluster,
}

/// One repository the role may use.
#[derive(Debug, Serialize)]
struct IdentityRepo {
    /// `repo1`.
    name: String,
    /// Bucket.
    bucket: String,
    /// Cloud region of the bucket (and of its KMS key).
    region: String,
    /// `repoN-path` (`/pgbackrest/<plant>/<env>`).
    path: String,
}

/// The `pgbackrest-identity` call.
#[derive(Debug, Serialize)]
struct Identity {
    /// `plant.names.backup_role`.
    role_name: String,
    /// `/<org>/`, so the ARN is `plant.names.backup_role_arn`.
    role_path: String,
    /// Where the issuer comes from.
    oidc: OidcSource,
    /// The fleet's issuer URL ([`OidcSource::Fleet`]).
    issuer: Option<String>,
    /// The EKS cluster to read it from ([`OidcSource::Lookup`]).
    eks_cluster: Option<String>,
    /// `<namespace>:<service account>` of the pods that run pgBackRest: Crunchy PGO's
    /// `<cluster>-instance` (archive-push from PostgreSQL) and `<cluster>-pgbackrest` (backup
    /// Jobs); none for RDS plants.
    service_accounts: Vec<String>,
    /// The plant's repositories (none for RDS plants).
    repositories: Vec<IdentityRepo>,
    /// The filestore backup's place in the repo1 bucket.
    filestore: Option<Filestore>,
    /// The read-only role of the PGO restore test.
    restore_test: Option<RestoreRole>,
}

/// Where the filestore backup CronJob copies the filestore: `filestore/<plant>/<env>/` of the
/// repo1 bucket (`filestore/platform/<cluster>/` for a shared platform), as
/// `<namespace>:filestore-backup`.
#[derive(Debug, Serialize)]
struct Filestore {
    /// repo1's bucket.
    bucket: String,
    /// Its cloud region.
    region: String,
    /// Key prefix, ending with `/`.
    prefix: String,
    /// `<namespace>:filestore-backup`.
    service_account: String,
}

/// The role a restore test runs with: the one the `database` family annotates its restore
/// test with (`derived.database.restore_test.role_arn`), trusted by the test's pods.
#[derive(Debug, Serialize)]
struct RestoreRole {
    /// The last segment of that ARN.
    role_name: String,
    /// RDS: the runner's ServiceAccount (`<ns>:restore-test`), which calls the RDS API. PGO:
    /// only the throw-away PostgresCluster's (`<ns>:restore-test-instance`,
    /// `<ns>:restore-test-pgbackrest`), which read the repositories and carry the annotation
    /// through its `spec.metadata`; the runner only talks to Kubernetes.
    service_accounts: Vec<String>,
    /// RDS: the throw-away instance the test restores into and deletes.
    target_identifier: Option<String>,
}

/// The restore test the `database` family renders, if any: its kind (`pgo`, `rds`) and role.
fn restore_role(p: &PlantCtx) -> Option<(String, RestoreRole)> {
    let t = p.derived.get("database")?.get("restore_test")?;
    let text = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_string);
    let (kind, name, arn) = (text("kind")?, text("name")?, text("role_arn")?);
    let role_name = arn.rsplit('/').next()?.to_string();
    let ns = &p.names.namespace;
    let service_accounts = if kind == "pgo" {
        vec![
            format!("{ns}:{name}-instance"),
            format!("{ns}:{name}-pgbackrest"),
        ]
    } else {
        vec![format!("{ns}:{name}")]
    };
    Some((
        kind,
        RestoreRole {
            role_name,
            service_accounts,
            target_identifier: text("target"),
        },
    ))
}

/// The `dns-record` call.
#[derive(Debug, Serialize)]
struct Dns {
    /// `organization.dnsZone`.
    zone_name: String,
    /// `plant.host` and the host of every client-certificate integration.
    names: Vec<String>,
    /// The EKS cluster whose ingress load balancer the names point at; `None` for the plant's
    /// own cluster (`module.cluster.name`).
    cluster_name: Option<String>,
}

/// The `cluster` call.
#[derive(Debug, Serialize)]
struct Cluster {
    /// `<plant>-<env>`.
    name: String,
    /// `network.cidr`.
    cidr: String,
    /// [`ZONE_COUNT`].
    zone_count: u64,
    /// [`KUBERNETES_VERSION`].
    kubernetes_version: String,
    /// See [`node_sizing`].
    node_instance_types: Vec<String>,
    /// See [`node_sizing`].
    node_min_size: u64,
    /// See [`node_sizing`].
    node_max_size: u64,
    /// `organization.name`: External Secrets may read the secrets named `<org>/…` (and the
    /// RDS-managed `rds!…`).
    secret_prefix: String,
    /// `organization.dnsZone`: the zone cert-manager answers DNS-01 challenges in.
    dns_zone: String,
}

/// The `managed-database` call.
#[derive(Debug, Serialize)]
struct ManagedDatabase {
    /// `<plant>-<env>`.
    identifier: String,
    /// `database.postgresVersion` (a major version: RDS picks the latest minor).
    engine_version: String,
    /// See [`instance_class`].
    instance_class: String,
    /// `database.storage` in GiB (at least 20, the gp3 minimum).
    allocated_storage: u64,
    /// Storage autoscaling up to twice the allocation.
    max_allocated_storage: u64,
    /// A standby in another zone when the tier has one (`database.instances` ≥ 2).
    multi_az: bool,
    /// `plant.names.db_name`.
    db_name: String,
    /// `plant.names.db_user`: the master user; RDS keeps its password in Secrets Manager.
    username: String,
    /// `max_connections` of the connection budget (DESIGN §4.4).
    max_connections: u32,
    /// `recovery.pitrWindow` in whole days, at most 35 (the RDS limit).
    backup_retention_period: u64,
    /// See [`rds_windows`].
    backup_window: String,
    /// See [`rds_windows`].
    maintenance_window: String,
    /// Who may connect: the plant's `network.cidr` (its cluster's VPC), then the peers of its
    /// `postgres-readonly` integrations (plant-file order, each once).
    allowed_cidr_blocks: Vec<String>,
    /// `plant.names.db_host`, a record in a private zone of the cluster's VPC.
    host_name: String,
    /// The zone of `host_name` (`rds.internal`).
    private_zone_name: String,
    /// `critical`: the backup peer's cloud region, where automated backups are replicated.
    replica_region: Option<String>,
    /// The role of the RDS restore test (restores into a new instance and deletes it).
    restore_test: Option<RestoreRole>,
    /// `/<org>/`, the path of that role.
    role_path: String,
}

/// The main file of a plant root.
#[derive(Debug, Serialize)]
struct PlantRoot {
    /// `../../../modules`.
    modules: String,
    /// pgBackRest identity.
    identity: Option<Identity>,
    /// DNS records: none for a shared platform, which no route serves under its own host
    /// (its tenants' roots write their hosts).
    dns: Option<Dns>,
    /// Dedicated cluster.
    cluster: Option<Cluster>,
    /// Amazon RDS.
    database: Option<ManagedDatabase>,
}

fn ceil_div(a: u64, b: u64) -> u64 {
    a.div_ceil(b.max(1))
}

/// CPU (millicores) and memory (bytes) requested by one pod.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Pod {
    cpu: u64,
    memory: u64,
}

impl Pod {
    fn add(self, o: Pod) -> Pod {
        Pod {
            cpu: self.cpu + o.cpu,
            memory: self.memory + o.memory,
        }
    }

    fn times(self, n: u64) -> Pod {
        Pod {
            cpu: self.cpu * n,
            memory: self.memory * n,
        }
    }
}

/// Requests of a `{requests: {cpu, memory}}` container in a family's derived values.
fn requests(v: Option<&Value>) -> Pod {
    let r = v.and_then(|v| v.get("requests"));
    let text = |k: &str| {
        r.and_then(|r| r.get(k))
            .and_then(Value::as_str)
            .unwrap_or("0")
    };
    Pod {
        cpu: units::cpu_millis(text("cpu")).unwrap_or(0),
        memory: units::quantity(text("memory")).unwrap_or(0),
    }
}

/// The plant's pods as (requests of one pod, pods in steady state): a PostgreSQL instance
/// (`database` container plus its sidecars, from `derived.database.postgres`) × instances,
/// one pgBackRest backup Job, the Odoo web pod (`odoo.cpuRequest`/`memoryRequest`) × replicas
/// and the cron pod (`derived.odoo.cron`) × 1. RDS plants have no PostgreSQL pods.
fn plant_pods(p: &PlantCtx) -> Vec<(Pod, u64)> {
    let mut pods = Vec::new();
    if let Some(pg) = p
        .derived
        .get("database")
        .and_then(|d| d.get("postgres"))
        .filter(|v| !v.is_null())
    {
        let instance = [
            "database",
            "cert_copy",
            "pgbackrest",
            "pgbackrest_config",
            "exporter",
        ]
        .iter()
        .fold(Pod::default(), |acc, c| acc.add(requests(pg.get(*c))));
        pods.push((instance, u64::from(p.database.instances.max(1))));
        pods.push((requests(pg.get("backup_job")), 1));
    }
    let web = Pod {
        cpu: units::cpu_millis(&p.odoo.cpu_request).unwrap_or(0),
        memory: units::quantity(&p.odoo.memory_request).unwrap_or(0),
    };
    pods.push((web, u64::from(p.odoo.replicas.max(1))));
    if let Some(cron) = p.derived.get("odoo").and_then(|o| o.get("cron")) {
        let r = cron.get("resources");
        let text = |k: &str| {
            r.and_then(|r| r.get(k))
                .and_then(Value::as_str)
                .unwrap_or("0")
        };
        let pod = Pod {
            cpu: units::cpu_millis(text("cpu_request")).unwrap_or(0),
            memory: units::quantity(text("memory_request")).unwrap_or(0),
        };
        pods.push((pod, 1));
    }
    pods
}

/// What a node of the type `(_, vcpus, gib, max_pods)` leaves for the plant's pods: capacity
/// minus the EKS AMI's kube-reserved (CPU: 6 % of the first core, 1 % of the second, 0.5 % of
/// the third and fourth, 0.25 % of the others; memory: 255 MiB + 11 MiB per pod the node may
/// hold), the 100 MiB eviction threshold, and the DaemonSets ([`DAEMONSET_MILLICORES`],
/// [`DAEMONSET_BYTES`]).
fn node_usable(vcpus: u64, gib: u64, max_pods: u64) -> Pod {
    let cores = vcpus;
    let reserved_m = 60
        + if cores >= 2 { 10 } else { 0 }
        + cores.clamp(2, 4).saturating_sub(2) * 5
        + cores.saturating_sub(4) * 10 / 4;
    let reserved_b = (255 + 11 * max_pods + 100) * MIB;
    Pod {
        cpu: (vcpus * 1000).saturating_sub(reserved_m + DAEMONSET_MILLICORES),
        memory: (gib * GIB).saturating_sub(reserved_b + DAEMONSET_BYTES),
    }
}

/// The node group of a dedicated cluster, as (instance type, min size, max size):
///
/// - type: the first of [`NODE_TYPES`] (cheapest first) on which every pod of the plant fits
///   ([`plant_pods`]: the PostgreSQL instance with its sidecars, the Odoo web and cron pods),
///   with what a node leaves for pods ([`node_usable`]); the largest type if none does;
/// - min size: the steady-state requests (every pod of [`plant_pods`] times its count, plus
///   the cluster's own services [`CLUSTER_SERVICES_MILLICORES`]/[`CLUSTER_SERVICES_BYTES`])
///   over one node's usable CPU and memory, whichever needs more nodes, and at least one
///   node per zone;
/// - max size: the namespace quota (CPU and memory limits of every pod at the HPA maximum
///   plus surge) plus the cluster's services over one node, whichever needs more, plus one
///   spare for rolling node updates; at least min size + 1.
fn node_sizing(p: &PlantCtx) -> (String, u64, u64) {
    let pods = plant_pods(p);
    let (name, usable) = NODE_TYPES
        .iter()
        .map(|(n, c, g, m)| (*n, node_usable(*c, *g, *m)))
        .find(|(_, u)| {
            pods.iter()
                .all(|(pod, _)| pod.cpu <= u.cpu && pod.memory <= u.memory)
        })
        .unwrap_or_else(|| {
            let (n, c, g, m) = NODE_TYPES[NODE_TYPES.len() - 1];
            (n, node_usable(c, g, m))
        });
    let services = Pod {
        cpu: CLUSTER_SERVICES_MILLICORES,
        memory: CLUSTER_SERVICES_BYTES,
    };
    let nodes_for =
        |total: Pod| ceil_div(total.cpu, usable.cpu).max(ceil_div(total.memory, usable.memory));
    let steady = pods
        .iter()
        .fold(services, |acc, (pod, n)| acc.add(pod.times(*n)));
    let min = nodes_for(steady).max(ZONE_COUNT);
    let quota = services.add(Pod {
        cpu: units::cpu_millis(&p.quota_cpu).unwrap_or(0),
        memory: units::quantity(&p.quota_memory).unwrap_or(0),
    });
    let max = (nodes_for(quota) + 1).max(min + 1);
    (name.to_string(), min, max)
}

fn cluster(p: &PlantCtx, f: &FleetCtx) -> Cluster {
    let (instance_type, min, max) = node_sizing(p);
    Cluster {
        name: format!("{}-{}", p.name, p.env),
        cidr: p.cidr.clone().unwrap_or_default(),
        zone_count: ZONE_COUNT,
        kubernetes_version: KUBERNETES_VERSION.into(),
        node_instance_types: vec![instance_type],
        node_min_size: min,
        node_max_size: max,
        secret_prefix: f.org.clone(),
        dns_zone: f.dns_zone.clone(),
    }
}

/// The smallest memory-optimised Graviton class (`db.r6g`) whose memory holds an eighth of the
/// database (the hot part, for the buffer cache) plus 8 MiB per allowed connection, and at
/// least 16 GiB (`db.r6g.large`).
fn instance_class(size_bytes: u64, max_connections: u32) -> String {
    const CLASSES: [(&str, u64); 7] = [
        ("large", 16),
        ("xlarge", 32),
        ("2xlarge", 64),
        ("4xlarge", 128),
        ("8xlarge", 256),
        ("12xlarge", 384),
        ("16xlarge", 512),
    ];
    let need = size_bytes / 8 + u64::from(max_connections) * 8 * MIB;
    let class = CLASSES
        .iter()
        .find(|(_, gib)| gib * GIB >= need)
        .map_or("16xlarge", |(c, _)| c);
    format!("db.r6g.{class}")
}

/// RDS windows in UTC from the plant's maintenance window: the part of the window that is
/// inside it in winter and in summer time (as for the pgBackRest schedules) starts with the
/// daily `backup_window` (half of it, 30 to 60 minutes) and the weekly `maintenance_window`
/// takes the rest (ending at the latest when the next day's backup starts). A window
/// shorter than an hour still gets the 30 minutes each that RDS requires, back to back.
fn rds_windows(window: &str, timezone: &str) -> (String, String) {
    const WEEK: i64 = 7 * 1440;
    let window = units::window(window).ok();
    let tz = units::timezone(timezone).ok();
    let (start, end) = match (window, tz) {
        (Some(w), Some(tz)) => {
            let [mut a, mut b] = units::window_utc(w, tz);
            if (a.0 - b.0).abs() > 3 * 1440 {
                if a.0 < b.0 {
                    a = (a.0 + WEEK, a.1 + WEEK);
                } else {
                    b = (b.0 + WEEK, b.1 + WEEK);
                }
            }
            (a.0.max(b.0), a.1.min(b.1))
        }
        // The compiler has checked both; a fallback keeps lowering total.
        _ => (6 * 1440 + 120, 6 * 1440 + 300),
    };
    let usable = (end - start).max(0);
    let backup = (usable / 2).clamp(30, 60);
    let maintenance_end = end.max(start + backup + 30).min(start + 1440);
    let hm = |m: i64| {
        let m = m.rem_euclid(1440);
        format!("{:02}:{:02}", m / 60, m % 60)
    };
    let dhm = |m: i64| {
        const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let m = m.rem_euclid(WEEK);
        let day = DAYS
            .get(usize::try_from(m / 1440).unwrap_or(0))
            .copied()
            .unwrap_or("sun");
        format!("{day}:{}", hm(m))
    };
    (
        format!("{}-{}", hm(start), hm(start + backup)),
        format!("{}-{}", dhm(start + backup), dhm(maintenance_end)),
    )
}

/// See [`ManagedDatabase::allowed_cidr_blocks`].
fn allowed_cidr_blocks(p: &PlantCtx) -> Vec<String> {
    let mut out: Vec<String> = p.cidr.iter().cloned().collect();
    for i in p
        .integrations
        .iter()
        .filter(|i| i.protocol == "postgres-readonly")
    {
        for peer in &i.peers {
            if !out.contains(peer) {
                out.push(peer.clone());
            }
        }
    }
    out
}

fn managed_database(p: &PlantCtx, f: &FleetCtx) -> ManagedDatabase {
    let (backup_window, maintenance_window) =
        rds_windows(&p.maintenance_window, &p.maintenance_timezone);
    let allocated = ceil_div(p.database.storage_bytes, GIB).max(20);
    let (_, zone) = p
        .names
        .db_host
        .split_once('.')
        .unwrap_or(("", "rds.internal"));
    ManagedDatabase {
        identifier: format!("{}-{}", p.name, p.env),
        engine_version: p.database.postgres_version.to_string(),
        instance_class: instance_class(p.database.size_bytes, p.database.max_connections),
        allocated_storage: allocated,
        max_allocated_storage: allocated * 2,
        multi_az: p.database.instances >= 2,
        db_name: p.names.db_name.clone(),
        username: p.names.db_user.clone(),
        max_connections: p.database.max_connections,
        backup_retention_period: ceil_div(p.recovery.pitr_window_s, 86_400).clamp(1, 35),
        backup_window,
        maintenance_window,
        allowed_cidr_blocks: allowed_cidr_blocks(p),
        host_name: p.names.db_host.clone(),
        private_zone_name: zone.to_string(),
        replica_region: (p.tier == "critical")
            .then(|| {
                p.backup
                    .repos
                    .iter()
                    .find(|r| r.cloud_region != p.cloud_region)
                    .map(|r| r.cloud_region.clone())
            })
            .flatten(),
        restore_test: restore_role(p)
            .filter(|(kind, _)| kind == "rds")
            .map(|(_, r)| r),
        role_path: format!("/{}/", f.org),
    }
}

fn identity(p: &PlantCtx, f: &FleetCtx) -> Identity {
    let (oidc, issuer, eks_cluster) = if has_cluster(p) {
        (OidcSource::Cluster, None, None)
    } else if let Some(i) = &p.oidc_issuer {
        (OidcSource::Fleet, Some(i.clone()), None)
    } else {
        (OidcSource::Lookup, None, p.cluster.clone())
    };
    let ns = &p.names.namespace;
    let pg = &p.names.postgres;
    let own = has_pgbackrest(p);
    Identity {
        role_name: p.names.backup_role.clone(),
        role_path: format!("/{}/", f.org),
        oidc,
        issuer,
        eks_cluster,
        service_accounts: if own {
            vec![
                format!("{ns}:{pg}-instance"),
                format!("{ns}:{pg}-pgbackrest"),
            ]
        } else {
            Vec::new()
        },
        filestore: filestore_repo(p)
            .filter(|_| backs_up_filestore(p))
            .zip(filestore_prefix(p))
            .map(|(r, prefix)| Filestore {
                bucket: r.bucket.clone(),
                region: r.cloud_region.clone(),
                prefix,
                service_account: format!("{ns}:{FILESTORE_SA}"),
            }),
        repositories: p
            .backup
            .repos
            .iter()
            .filter(|_| own)
            .map(|r| IdentityRepo {
                name: r.name.clone(),
                bucket: r.bucket.clone(),
                region: r.cloud_region.clone(),
                path: r.path.clone(),
            })
            .collect(),
        restore_test: restore_role(p)
            .filter(|(kind, _)| kind == "pgo")
            .map(|(_, r)| r),
    }
}

/// The root module of a plant environment.
pub(super) fn plant_outputs(p: &PlantCtx, f: &FleetCtx, scope: Scope, out: &mut Vec<Output>) {
    let mut names = vec![p.host.clone()];
    for host in p.integrations.iter().filter_map(|i| i.host.as_ref()) {
        if !names.contains(host) {
            names.push(host.clone());
        }
    }
    // A root directory under `terraform/`: `plants/<plant>/<env>`, or `platforms/<cluster>` for
    // the shared Odoo platform of a cluster (its PostgreSQL and pgBackRest serve every tenant).
    let rel = if p.platform {
        format!("platforms/{}", p.cluster.as_deref().unwrap_or(&p.name))
    } else {
        format!("plants/{}/{}", p.name, p.env)
    };
    let depth = rel.split('/').count();
    let root = PlantRoot {
        modules: module_source(depth, "").trim_end_matches('/').to_string(),
        identity: has_identity(p).then(|| identity(p, f)),
        dns: (!p.platform).then(|| Dns {
            zone_name: f.dns_zone.clone(),
            names,
            cluster_name: if has_cluster(p) {
                None
            } else {
                p.cluster.clone()
            },
        }),
        cluster: has_cluster(p).then(|| cluster(p, f)),
        database: p.database.managed.then(|| managed_database(p, f)),
    };
    let item = serde_json::to_value(root).unwrap_or(Value::Null);
    let dir = format!("terraform/{rel}");
    let key = format!("{rel}/terraform.tfstate");
    for (file, template, item) in [
        ("versions.tf", "terraform/versions.tf.j2", Value::Null),
        ("backend.tf", "terraform/backend.tf.j2", backend(f, key)),
        (
            "providers.tf",
            "terraform/plant/providers.tf.j2",
            Value::Null,
        ),
        ("main.tf", "terraform/plant/main.tf.j2", item.clone()),
        ("outputs.tf", "terraform/plant/outputs.tf.j2", item),
    ] {
        out.push(Output::new(
            format!("{dir}/{file}"),
            template,
            scope,
            item,
            Check::Hcl,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_class_holds_an_eighth_of_the_database_and_the_connections() {
        assert_eq!(instance_class(80 * GIB, 100), "db.r6g.large");
        assert_eq!(instance_class(250 * GIB, 400), "db.r6g.2xlarge");
        assert_eq!(instance_class(100 * 1024 * GIB, 400), "db.r6g.16xlarge");
    }

    #[test]
    fn rds_windows_share_the_part_of_the_maintenance_window_inside_it_all_year() {
        // Sun 04:00-08:00 in Madrid: 03:00-07:00 UTC in winter, 02:00-06:00 in summer.
        assert_eq!(
            rds_windows("Sun 04:00-08:00", "Europe/Madrid"),
            ("03:00-04:00".into(), "sun:04:00-sun:06:00".into())
        );
        // A window across midnight keeps its days.
        assert_eq!(
            rds_windows("Sat 23:00-02:00", "UTC"),
            ("23:00-00:00".into(), "sun:00:00-sun:02:00".into())
        );
        // Too short for both: 30 minutes each, back to back.
        assert_eq!(
            rds_windows("Wed 01:00-01:45", "UTC"),
            ("01:00-01:30".into(), "wed:01:30-wed:02:00".into())
        );
    }

    #[test]
    fn module_sources_are_relative_to_the_root() {
        assert_eq!(
            module_source(3, "dns-record"),
            "../../../modules/dns-record"
        );
        assert_eq!(
            module_source(2, "backup-bucket"),
            "../../modules/backup-bucket"
        );
    }
}

//! Lowering (DESIGN §5): the resolved plants and the fleet become the IR templates are fed with.
//!
//! 1. [`lower`] turns every [`ResolvedPlant`] into a [`PlantCtx`]: plain values (no origins),
//!    the names every template agrees on ([`Names`]), labels, and the values derived for the
//!    output (quantities as Kubernetes writes them, probes, alert thresholds, …).
//! 2. Each family module (`kubernetes` for the namespace and its guard rails, `odoo` for the
//!    workloads, `database` for PostgreSQL, backups and monitoring, `traefik`, `helm`, `argocd`,
//!    `terraform`, `runbook`, `clusters`) decides which files exist for a plant, a cluster or the fleet and
//!    adds one [`Output`] per file: its path under OUT, its template, the item it renders
//!    (beyond the plant or cluster context) and how the verifier must judge it.
//! 3. Outputs are sorted by path; two outputs with the same path are a bug (BP9001).
//!
//! Everything here is pure and deterministic: maps are `BTreeMap`, lists are sorted or in the
//! order of the plant file.

mod argocd;
mod clusters;
mod database;
mod helm;
mod kubernetes;
mod odoo;
mod runbook;
mod terraform;
mod traefik;

use crate::ResolvedPlant;
use crate::fleet::Fleet;
use crate::units::{fmt_bytes, fmt_cpu, fmt_duration};
use blueprint_syntax::doc::Tenancy;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The version of the output layout, recorded in `blueprint.lock`.
pub const OUTPUT_VERSION: u32 = 1;

/// How the verifier judges a rendered file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Check {
    /// One Kubernetes object or custom resource, validated against its schema.
    Kubernetes,
    /// Values of a Helm chart, validated against the chart's values schema when vendored.
    HelmValues {
        /// Chart name (`traefik`, `redis`).
        chart: String,
    },
    /// An INI file read back and compared with the intended keys.
    Ini {
        /// `odoo` or `pgbackrest`.
        flavor: IniFlavor,
        /// Section → key → values.
        intended: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    },
    /// Terraform: parses, and is in `terraform fmt` layout.
    Hcl,
    /// Markdown (runbooks): text, checked for structure only.
    Markdown,
}

/// INI dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IniFlavor {
    /// `odoo.conf`.
    Odoo,
    /// `pgbackrest.conf`.
    PgBackRest,
}

/// What an output is rendered with besides its item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "scope", content = "index", rename_all = "kebab-case")]
pub enum Scope {
    /// The fleet only.
    Fleet,
    /// A plant environment: `plant` is `Ir::plants[i]`.
    Plant(usize),
    /// A cluster: `cluster` is `Ir::clusters[i]`.
    Cluster(usize),
}

/// One file of the output tree.
#[derive(Debug, Clone, Serialize)]
pub struct Output {
    /// Path relative to OUT (`plants/lyon/prod/kubernetes/namespace.yaml`).
    pub path: String,
    /// Template name (`kubernetes/namespace.yaml.j2`).
    pub template: String,
    /// The context beyond `fleet`.
    pub scope: Scope,
    /// The object this file renders (a NetworkPolicy, a Middleware…); `null` when the template
    /// needs only the plant or cluster.
    pub item: Value,
    /// How the verifier judges it.
    pub check: Check,
}

impl Output {
    fn new(path: String, template: &str, scope: Scope, item: Value, check: Check) -> Self {
        Self {
            path,
            template: template.to_string(),
            scope,
            item,
            check,
        }
    }
}

/// The IR: contexts and the files to render from them.
#[derive(Debug, Clone, Serialize)]
pub struct Ir {
    /// The fleet.
    pub fleet: FleetCtx,
    /// Plant environments, sorted by plant then environment.
    pub plants: Vec<PlantCtx>,
    /// Clusters that get files under `clusters/`.
    pub clusters: Vec<ClusterCtx>,
    /// Every file, sorted by path.
    pub outputs: Vec<Output>,
}

/// Fleet-wide values.
#[derive(Debug, Clone, Serialize)]
pub struct FleetCtx {
    /// `organization.name`.
    pub org: String,
    /// `organization.dnsZone`.
    pub dns_zone: String,
    /// `organization.gitopsRepo`.
    pub gitops_repo: String,
    /// `organization.imageRegistry`.
    pub registry: String,
    /// `cloud.accountId`.
    pub account_id: String,
    /// `identity.groups`: admin, operate, view (absent groups are left out).
    pub groups: BTreeMap<String, String>,
    /// Fleet regions: name → cloud region.
    pub regions: BTreeMap<String, String>,
}

/// The names every template agrees on for one plant environment.
#[derive(Debug, Clone, Serialize)]
pub struct Names {
    /// Namespace the plant's objects live in (the shared Odoo's for `shared`).
    pub namespace: String,
    /// Prefix of object names: empty in the plant's own namespace, `<plant>-<env>-` in the
    /// shared Odoo's.
    pub prefix: String,
    /// Odoo web Deployment.
    pub web: String,
    /// Odoo cron Deployment.
    pub cron: String,
    /// Odoo Service.
    pub service: String,
    /// `odoo.conf` ConfigMap.
    pub config: String,
    /// Filestore PVC.
    pub filestore: String,
    /// Odoo ServiceAccount.
    pub odoo_sa: String,
    /// PostgresCluster (in-cluster PostgreSQL).
    pub postgres: String,
    /// Database host Odoo connects to.
    pub db_host: String,
    /// Database name.
    pub db_name: String,
    /// Database role Odoo connects as.
    pub db_user: String,
    /// Secret holding the database password (created by PGO, or by an ExternalSecret).
    pub db_secret: String,
    /// Redis release name (when rendered).
    pub redis: String,
    /// TLS Secret of the plant's host.
    pub tls_secret: String,
    /// Argo CD Application.
    pub application: String,
    /// IAM role of pgBackRest.
    pub backup_role: String,
    /// ARN of that role.
    pub backup_role_arn: String,
}

/// Odoo values as the output writes them.
#[derive(Debug, Clone, Serialize)]
pub struct OdooCtx {
    /// `18.0`.
    pub version: String,
    /// 18.
    pub major: u32,
    /// `community` / `enterprise`.
    pub edition: String,
    /// Full image reference.
    pub image: String,
    /// Digest, when pinned.
    pub image_digest: Option<String>,
    /// Concurrent users.
    pub users: u32,
    /// Installed modules.
    pub modules: Vec<String>,
    /// HTTP workers per web pod.
    pub workers: u32,
    /// Web replicas (HPA minimum).
    pub replicas: u32,
    /// HPA maximum.
    pub max_replicas: u32,
    /// Whether an HPA scales the web Deployment (max > min).
    pub hpa: bool,
    /// CPU request per web pod (`1500m`).
    pub cpu_request: String,
    /// CPU limit per web pod.
    pub cpu_limit: String,
    /// Memory request per web pod (`3Gi`).
    pub memory_request: String,
    /// Memory limit per web pod.
    pub memory_limit: String,
    /// `limit_memory_soft`, bytes.
    pub limit_memory_soft: u64,
    /// `limit_memory_hard`, bytes.
    pub limit_memory_hard: u64,
    /// `max_cron_threads` of the cron pod.
    pub cron_threads: u32,
    /// `db_maxconn`.
    pub db_maxconn: u32,
    /// `db_maxconn_gevent` (17.0+).
    pub db_maxconn_gevent: Option<u32>,
    /// A Redis session store module is installed.
    pub session_redis: bool,
    /// The image's numeric user and group (the image's `USER odoo` is a name).
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// `limit_time_real`, seconds: proxies must wait at least this long.
    pub limit_time_real: u64,
}

/// PostgreSQL values as the output writes them.
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseCtx {
    /// Expected size, bytes.
    pub size_bytes: u64,
    /// Expected size (`80Gi`).
    pub size: String,
    /// Major version.
    pub postgres_version: u32,
    /// WAL per day (`2Gi`).
    pub write_rate: String,
    /// Instances.
    pub instances: u32,
    /// Synchronous replication.
    pub synchronous: bool,
    /// Amazon RDS.
    pub managed: bool,
    /// The platform's shared database.
    pub shared: bool,
    /// `max_connections`.
    pub max_connections: u32,
    /// `reserved_connections`.
    pub reserved_connections: u32,
    /// `superuser_reserved_connections`.
    pub superuser_reserved_connections: u32,
    /// Data volume (`100Gi`).
    pub storage: String,
    /// Data volume, bytes.
    pub storage_bytes: u64,
    /// Filestore volume (`20Gi`).
    pub filestore: String,
    /// Minimum pgBackRest version.
    pub min_pgbackrest: String,
}

impl DatabaseCtx {
    /// PostgreSQL runs in the plant's namespace (PGO): neither Amazon RDS nor the platform's
    /// shared database.
    #[must_use]
    pub fn in_cluster(&self) -> bool {
        !self.managed && !self.shared
    }
}

/// One backup repository.
#[derive(Debug, Clone, Serialize)]
pub struct RepoCtx {
    /// `repo1`.
    pub name: String,
    /// 1.
    pub index: usize,
    /// Fleet region.
    pub region: String,
    /// Cloud region.
    pub cloud_region: String,
    /// Bucket.
    pub bucket: String,
    /// S3 endpoint (`s3.eu-west-3.amazonaws.com`).
    pub endpoint: String,
    /// `repoN-path`.
    pub path: String,
}

/// Backups.
#[derive(Debug, Clone, Serialize)]
pub struct BackupCtx {
    /// Full backup cron (UTC).
    pub full_schedule: String,
    /// Differential cron (UTC).
    pub diff_schedule: String,
    /// Incremental cron (UTC).
    pub incr_schedule: String,
    /// Seconds between two backups.
    pub interval_s: u64,
    /// Estimated full backup duration, seconds.
    pub full_duration_s: u64,
    /// `repo1-retention-full` (days, type `time`).
    pub retention_full_days: u64,
    /// PostgreSQL `archive_timeout`, seconds.
    pub archive_timeout_s: u64,
    /// Worst-case WAL loss on region loss or PITR, seconds.
    pub archive_loss_window_s: u64,
    /// RTO estimate, seconds.
    pub rto_estimate_s: u64,
    /// RTO estimate, human.
    pub rto_estimate: String,
    /// Repositories.
    pub repos: Vec<RepoCtx>,
    /// Restore test cron (in `restore_test_timezone`).
    pub restore_test_schedule: String,
    /// Time zone of the restore test CronJob.
    pub restore_test_timezone: String,
}

/// Recovery objectives.
#[derive(Debug, Clone, Serialize)]
pub struct RecoveryCtx {
    /// RPO, seconds.
    pub rpo_s: u64,
    /// RTO, seconds.
    pub rto_s: u64,
    /// Point-in-time window, seconds.
    pub pitr_window_s: u64,
    /// RPO, human (`15m`).
    pub rpo: String,
    /// RTO, human.
    pub rto: String,
    /// Window, human.
    pub pitr_window: String,
}

/// One integration.
#[derive(Debug, Clone, Serialize)]
pub struct IntegrationCtx {
    /// Name.
    pub name: String,
    /// Kind (`mes`…).
    pub kind: String,
    /// `inbound` / `outbound` / `both`.
    pub direction: String,
    /// Traffic comes in.
    pub inbound: bool,
    /// Traffic goes out.
    pub outbound: bool,
    /// Protocol.
    pub protocol: String,
    /// Peer CIDRs.
    pub peers: Vec<String>,
    /// Port.
    pub port: u32,
    /// HTTPS path prefix.
    pub path: Option<String>,
    /// Requests per period.
    pub rate_average: Option<u64>,
    /// Period in seconds.
    pub rate_period_s: Option<u64>,
    /// Batch schedule.
    pub schedule: Option<String>,
    /// Needs client certificates: its own host and TLSOption.
    pub mutual_tls: bool,
    /// The host of a client-certificate integration (`<name>.<host>`).
    pub host: Option<String>,
}

/// Redis (only with a session store module).
#[derive(Debug, Clone, Serialize)]
pub struct RedisCtx {
    /// `standalone` / `replication`.
    pub architecture: String,
    /// Persistence on.
    pub persistence: bool,
}

/// A plant environment, lowered.
#[derive(Debug, Clone, Serialize)]
pub struct PlantCtx {
    /// Plant name (for a shared platform, its cluster's name).
    pub name: String,
    /// Directory of its files under OUT: `plants/<plant>/<env>`, or
    /// `clusters/<cluster>/platform` for the shared Odoo platform of a cluster.
    pub dir: String,
    /// Whether this is the shared Odoo platform serving a cluster's `shared` tenants.
    pub platform: bool,
    /// Environment.
    pub env: String,
    /// Whether this is `prod`.
    pub prod: bool,
    /// The plant file.
    pub file: String,
    /// Display name (free text).
    pub display_name: String,
    /// Description (free text).
    pub description: Option<String>,
    /// `critical` / `standard` / `basic`.
    pub tier: String,
    /// Tenancy.
    pub tenancy: String,
    /// Fleet region.
    pub region: String,
    /// Cloud region.
    pub cloud_region: String,
    /// Shared cluster it runs on (`shared`, `dedicated-namespace`).
    pub cluster: Option<String>,
    /// OIDC issuer of the cluster it runs on, when the fleet names it.
    pub oidc_issuer: Option<String>,
    /// Owner team.
    pub team: String,
    /// Owner email.
    pub email: String,
    /// Cost center.
    pub cost_center: Option<String>,
    /// Labels on every object of the plant.
    pub labels: BTreeMap<String, String>,
    /// Names.
    pub names: Names,
    /// Objectives.
    pub recovery: RecoveryCtx,
    /// Odoo.
    pub odoo: OdooCtx,
    /// PostgreSQL.
    pub database: DatabaseCtx,
    /// Backups.
    pub backup: BackupCtx,
    /// Host.
    pub host: String,
    /// Admin allow list.
    pub admin_allow_from: Vec<String>,
    /// Request body limit, bytes.
    pub max_upload_bytes: u64,
    /// Network CIDR (dedicated clusters).
    pub cidr: Option<String>,
    /// Integrations.
    pub integrations: Vec<IntegrationCtx>,
    /// Maintenance window (`Sun 02:00-05:00`).
    pub maintenance_window: String,
    /// Its time zone.
    pub maintenance_timezone: String,
    /// Redis.
    pub redis: Option<RedisCtx>,
    /// Namespace quota: CPU limits.
    pub quota_cpu: String,
    /// Namespace quota: memory limits.
    pub quota_memory: String,
    /// Family-specific values, keyed by family (`kubernetes`, `traefik`, …).
    pub derived: BTreeMap<String, Value>,
}

/// A cluster that gets files under `clusters/<name>/`.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterCtx {
    /// Name (a fleet cluster, or `<plant>-<env>` for a dedicated one).
    pub name: String,
    /// Fleet region.
    pub region: String,
    /// Cloud region.
    pub cloud_region: String,
    /// Whether the fleet runs it for several plants.
    pub shared: bool,
    /// Index of the plant environment of a dedicated cluster.
    pub plant: Option<usize>,
    /// Indices of the `shared` tenants it serves.
    pub tenants: Vec<usize>,
    /// Indices of all plant environments that run on it.
    pub plants: Vec<usize>,
    /// Family-specific values.
    pub derived: BTreeMap<String, Value>,
}

/// The numeric user of the official Odoo images (odoo.md §6: `uid=100 gid=101` on the noble
/// based 18.0/19.0 images, `101` on the jammy based 17.0 image).
fn odoo_ids(major: u32) -> (u32, u32) {
    if major >= 18 { (100, 101) } else { (101, 101) }
}

/// A mebibyte.
const MI: u64 = 1 << 20;
/// A gibibyte.
const GI: u64 = 1 << 30;

/// `n` rounded up to a multiple of `to`.
fn round_up(n: u64, to: u64) -> u64 {
    n.div_ceil(to) * to
}

/// Kubernetes quantity: binary units when exact, else bytes.
#[must_use]
pub fn quantity(bytes: u64) -> String {
    fmt_bytes(bytes)
}

fn labels(p: &ResolvedPlant) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    l.insert("app.kubernetes.io/part-of".into(), "odoo".into());
    l.insert("app.kubernetes.io/managed-by".into(), "blueprint".into());
    l.insert("blueprint.dev/plant".into(), p.name.value.clone());
    l.insert("blueprint.dev/environment".into(), p.env.clone());
    l.insert("blueprint.dev/tier".into(), p.tier.value.as_str().into());
    l.insert(
        "blueprint.dev/tenancy".into(),
        p.tenancy.value.as_str().into(),
    );
    l.insert("blueprint.dev/team".into(), p.owner.team.value.clone());
    if let Some(cc) = &p.owner.cost_center {
        l.insert("blueprint.dev/cost-center".into(), cc.value.clone());
    }
    l
}

/// The namespace of the shared Odoo platform on a shared cluster.
pub const SHARED_NAMESPACE: &str = "odoo-shared";

/// The ARN of an IAM role of the fleet (roles live under the path `/<org>/`).
fn role_arn(fleet: &FleetCtx, role: &str) -> String {
    format!(
        "arn:aws:iam::{}:role/{}/{role}",
        fleet.account_id, fleet.org
    )
}

fn names(p: &ResolvedPlant, fleet: &FleetCtx) -> Names {
    let shared = p.tenancy.value == Tenancy::Shared;
    let plant = &p.name.value;
    let (namespace, prefix) = if shared {
        (SHARED_NAMESPACE.to_string(), format!("{}-", p.namespace))
    } else {
        (p.namespace.clone(), String::new())
    };
    let backup_role = format!("{plant}-{}-pgbackrest", p.env);
    let backup_role_arn = role_arn(fleet, &backup_role);
    let (db_host, db_name, db_secret) = if shared {
        (
            format!("postgres-primary.{SHARED_NAMESPACE}.svc"),
            p.ingress.host.value.clone(),
            "postgres-pguser-odoo".to_string(),
        )
    } else if p.database.managed {
        (
            format!("{plant}-{}.rds.internal", p.env),
            plant.replace('-', "_"),
            "odoo-database".to_string(),
        )
    } else {
        (
            format!("postgres-primary.{}.svc", p.namespace),
            plant.replace('-', "_"),
            "postgres-pguser-odoo".to_string(),
        )
    };
    Names {
        namespace,
        web: format!("{prefix}odoo-web"),
        cron: format!("{prefix}odoo-cron"),
        service: if shared {
            "odoo".into()
        } else {
            format!("{prefix}odoo")
        },
        config: format!("{prefix}odoo-conf"),
        filestore: format!("{prefix}odoo-filestore"),
        odoo_sa: format!("{prefix}odoo"),
        postgres: "postgres".into(),
        db_host,
        db_name,
        db_user: "odoo".into(),
        db_secret,
        redis: format!("{prefix}redis"),
        tls_secret: format!("{prefix}odoo-tls"),
        application: format!("{plant}-{}", p.env),
        backup_role,
        backup_role_arn,
        prefix,
    }
}

fn plant_ctx(p: &ResolvedPlant, fleet: &Fleet, f: &FleetCtx) -> PlantCtx {
    let major = p.odoo.version.value.as_str()[..2].parse().unwrap_or(18);
    let (uid, gid) = odoo_ids(major);
    let names = names(p, f);
    let oidc_issuer = p.cluster.as_ref().and_then(|c| {
        fleet
            .doc
            .clusters
            .as_ref()
            .and_then(|cs| cs.value.get(&c.value))
            .and_then(|c| c.oidc_issuer.as_ref().map(|i| i.value.clone()))
    });
    let b = &p.backup;
    let repos = b
        .repos
        .iter()
        .enumerate()
        .map(|(i, r)| RepoCtx {
            name: r.name.clone(),
            index: i + 1,
            region: r.region.clone(),
            cloud_region: r.cloud_region.clone(),
            bucket: r.bucket.clone(),
            endpoint: format!("s3.{}.amazonaws.com", r.cloud_region),
            path: r.path.clone(),
        })
        .collect();
    let integrations = p
        .integrations
        .iter()
        .map(|i| {
            use blueprint_syntax::doc::Direction;
            IntegrationCtx {
                name: i.name.value.clone(),
                kind: i.kind.as_str().into(),
                direction: i.direction.as_str().into(),
                inbound: matches!(i.direction, Direction::Inbound | Direction::Both),
                outbound: matches!(i.direction, Direction::Outbound | Direction::Both),
                protocol: i.protocol.as_str().into(),
                peers: i.peers.iter().map(|p| p.value.clone()).collect(),
                port: i.port.value,
                path: i.path.as_ref().map(|p| p.value.clone()),
                rate_average: i.rate_limit.as_ref().map(|r| r.value.average),
                rate_period_s: i.rate_limit.as_ref().map(|r| r.value.period),
                schedule: i.schedule.as_ref().map(|s| s.value.clone()),
                mutual_tls: i.mutual_tls,
                host: i
                    .mutual_tls
                    .then(|| format!("{}.{}", i.name.value, p.ingress.host.value)),
            }
        })
        .collect();
    let o = &p.odoo;
    let d = &p.database;
    PlantCtx {
        name: p.name.value.clone(),
        dir: format!("plants/{}/{}", p.name.value, p.env),
        platform: false,
        env: p.env.clone(),
        prod: p.env == "prod",
        file: p.file.clone(),
        display_name: p
            .display_name
            .as_ref()
            .map_or_else(|| p.name.value.clone(), |d| d.value.clone()),
        description: p.description.as_ref().map(|d| d.value.clone()),
        tier: p.tier.value.as_str().into(),
        tenancy: p.tenancy.value.as_str().into(),
        region: p.region.value.clone(),
        cloud_region: p.cloud_region.clone(),
        cluster: p.cluster.as_ref().map(|c| c.value.clone()),
        oidc_issuer,
        team: p.owner.team.value.clone(),
        email: p.owner.email.value.clone(),
        cost_center: p.owner.cost_center.as_ref().map(|c| c.value.clone()),
        labels: labels(p),
        names,
        recovery: RecoveryCtx {
            rpo_s: p.recovery.rpo.value,
            rto_s: p.recovery.rto.value,
            pitr_window_s: p.recovery.pitr_window.value,
            rpo: fmt_duration(p.recovery.rpo.value),
            rto: fmt_duration(p.recovery.rto.value),
            pitr_window: fmt_duration(p.recovery.pitr_window.value),
        },
        odoo: OdooCtx {
            version: o.version.value.as_str().into(),
            major,
            edition: o.edition.value.as_str().into(),
            image: o.image.value.clone(),
            image_digest: o.image_ref.as_ref().and_then(|r| r.digest.clone()),
            users: o.users.value,
            modules: o.modules.value.clone(),
            workers: o.workers.value,
            replicas: o.replicas.value,
            max_replicas: o.max_replicas.value,
            hpa: o.max_replicas.value > o.replicas.value,
            cpu_request: fmt_cpu(o.cpu_request_m.value),
            cpu_limit: fmt_cpu(o.cpu_limit_m.value),
            memory_request: quantity(o.memory_request.value),
            memory_limit: quantity(o.memory_limit.value),
            limit_memory_soft: o.limit_memory_soft.value,
            limit_memory_hard: o.limit_memory_hard.value,
            cron_threads: o.cron_threads.value,
            db_maxconn: o.db_maxconn.value,
            db_maxconn_gevent: o.db_maxconn_gevent.as_ref().map(|v| v.value),
            session_redis: o.session_redis,
            uid,
            gid,
            limit_time_real: 1200,
        },
        database: DatabaseCtx {
            size_bytes: d.size.value,
            size: quantity(d.size.value),
            postgres_version: d.postgres_version.value,
            write_rate: quantity(d.write_rate.value),
            instances: d.instances.value,
            synchronous: d.synchronous.value,
            managed: d.managed,
            shared: d.shared,
            max_connections: d.max_connections.value,
            reserved_connections: d.reserved_connections.value,
            superuser_reserved_connections: d.superuser_reserved_connections,
            storage: quantity(d.storage.value),
            storage_bytes: d.storage.value,
            filestore: quantity(d.filestore.value),
            min_pgbackrest: d.min_pgbackrest.value.clone(),
        },
        backup: BackupCtx {
            full_schedule: b.full_schedule.value.clone(),
            diff_schedule: b.diff_schedule.value.clone(),
            incr_schedule: b.incr_schedule.value.clone(),
            interval_s: b.interval.value,
            full_duration_s: b.full_duration.value,
            retention_full_days: b.retention_full_days.value,
            archive_timeout_s: b.archive_timeout.value,
            archive_loss_window_s: b.archive_loss_window.value,
            rto_estimate_s: b.rto_estimate.value,
            rto_estimate: fmt_duration(b.rto_estimate.value),
            repos,
            restore_test_schedule: b.restore_test_schedule.value.clone(),
            restore_test_timezone: p.maintenance.timezone.value.clone(),
        },
        host: p.ingress.host.value.clone(),
        admin_allow_from: p.ingress.admin_allow_from.value.clone(),
        max_upload_bytes: p.ingress.max_upload_size.value,
        cidr: p.cidr.as_ref().map(|c| c.value.clone()),
        integrations,
        maintenance_window: p.maintenance.window.value.to_string(),
        maintenance_timezone: p.maintenance.timezone.value.clone(),
        redis: p.redis.as_ref().map(|r| RedisCtx {
            architecture: r.architecture.value.clone(),
            persistence: r.persistence.value,
        }),
        quota_cpu: fmt_cpu(p.quota.cpu_m.value),
        quota_memory: quantity(p.quota.memory.value),
        derived: BTreeMap::new(),
    }
}

fn fleet_ctx(fleet: &Fleet) -> FleetCtx {
    let doc = &fleet.doc;
    let mut groups = BTreeMap::new();
    if let Some(identity) = &doc.identity {
        let g = &identity.value.groups.value;
        for (role, group) in [
            ("admin", &g.admin),
            ("operate", &g.operate),
            ("view", &g.view),
        ] {
            if let Some(group) = group {
                groups.insert(role.to_string(), group.value.clone());
            }
        }
    }
    FleetCtx {
        org: fleet.org().to_string(),
        dns_zone: fleet.dns_zone().to_string(),
        gitops_repo: doc.organization.value.gitops_repo.value.clone(),
        registry: fleet.registry().to_string(),
        account_id: doc.cloud.value.account_id.value.clone(),
        groups,
        regions: fleet
            .regions
            .iter()
            .map(|(n, r)| (n.clone(), r.cloud_region.clone()))
            .collect(),
    }
}

/// The cluster a plant environment runs on, named as its `clusters/<cluster>/` directory and
/// as it is registered in Argo CD: the fleet cluster (`plant.cluster`), or `<plant>-<env>` for
/// the dedicated cluster of a `dedicated-cluster` or `dedicated-environment` plant.
fn cluster_of(p: &PlantCtx) -> String {
    p.cluster
        .clone()
        .unwrap_or_else(|| format!("{}-{}", p.name, p.env))
}

fn clusters(plants: &[PlantCtx]) -> Vec<ClusterCtx> {
    let mut by_name: BTreeMap<String, ClusterCtx> = BTreeMap::new();
    for (i, p) in plants.iter().enumerate() {
        let (name, shared) = (cluster_of(p), p.cluster.is_some());
        let c = by_name.entry(name.clone()).or_insert_with(|| ClusterCtx {
            name,
            region: p.region.clone(),
            cloud_region: p.cloud_region.clone(),
            shared,
            plant: (!shared).then_some(i),
            tenants: Vec::new(),
            plants: Vec::new(),
            derived: BTreeMap::new(),
        });
        c.plants.push(i);
        if p.tenancy == Tenancy::Shared.as_str() {
            c.tenants.push(i);
        }
    }
    by_name.into_values().collect()
}

/// The context of a cluster's shared platform: its files go to `clusters/<cluster>/platform`,
/// its objects to the shared namespace, and its Odoo serves every tenant database whose name
/// is the request's host.
fn platform_ctx(p: &ResolvedPlant, fleet: &Fleet, f: &FleetCtx) -> PlantCtx {
    let mut ctx = plant_ctx(p, fleet, f);
    let cluster = p
        .cluster
        .as_ref()
        .map_or(ctx.name.clone(), |c| c.value.clone());
    ctx.dir = format!("clusters/{cluster}/platform");
    ctx.platform = true;
    ctx.tenancy = "platform".into();
    ctx.names.namespace = SHARED_NAMESPACE.into();
    ctx.names.service = "odoo".into();
    ctx.names.db_host = format!("postgres-primary.{SHARED_NAMESPACE}.svc");
    ctx.names.application = format!("{cluster}-platform");
    // Plant names are DNS labels: none holds `_`, so no plant environment's
    // `<plant>-<env>-pgbackrest` can take this name.
    ctx.names.backup_role = format!("platform_{cluster}-pgbackrest");
    ctx.names.backup_role_arn = role_arn(f, &ctx.names.backup_role);
    ctx.labels
        .insert("blueprint.dev/tenancy".into(), "platform".into());
    ctx.labels
        .insert("blueprint.dev/environment".into(), "platform".into());
    ctx
}

/// Lowers a compilation without errors into the IR: its plants and the shared platforms.
#[must_use]
pub fn lower(fleet: &Fleet, plants: &[ResolvedPlant], platforms: &[ResolvedPlant]) -> Ir {
    let f = fleet_ctx(fleet);
    let mut ctxs: Vec<PlantCtx> = plants.iter().map(|p| plant_ctx(p, fleet, &f)).collect();
    let n_plants = ctxs.len();
    ctxs.extend(platforms.iter().map(|p| platform_ctx(p, fleet, &f)));
    let all: Vec<&ResolvedPlant> = plants.iter().chain(platforms).collect();
    for (ctx, p) in ctxs.iter_mut().zip(all) {
        kubernetes::derive(ctx, p);
        odoo::derive(ctx, p);
        traefik::derive(ctx, p);
        database::derive(ctx, p);
    }
    let mut cls = clusters(&ctxs[..n_plants]);
    clusters::derive(&mut cls, &ctxs, fleet);
    let mut outputs = Vec::new();
    for (i, p) in ctxs.iter().enumerate() {
        let scope = Scope::Plant(i);
        let from = outputs.len();
        kubernetes::outputs(p, scope, &mut outputs);
        odoo::outputs(p, scope, &mut outputs);
        traefik::outputs(p, scope, &mut outputs);
        database::outputs(p, scope, &mut outputs);
        helm::outputs(p, scope, &mut outputs);
        argocd::outputs(p, scope, &mut outputs, from);
        terraform::plant_outputs(p, &f, scope, &mut outputs);
    }
    for (i, c) in cls.iter().enumerate() {
        clusters::outputs(c, Scope::Cluster(i), &mut outputs);
    }
    // Every plant runs on a cluster: a fleet with plants has one, and its root Application.
    if !cls.is_empty() {
        argocd::fleet_outputs(&mut outputs);
    }
    terraform::fleet_outputs(&ctxs, &f, &mut outputs);
    runbook::outputs(&ctxs, &mut outputs);
    outputs.sort_by(|a, b| a.path.cmp(&b.path));
    Ir {
        fleet: f,
        plants: ctxs,
        clusters: cls,
        outputs,
    }
}

/// `plants/<plant>/<env>/<family>/<file>` (`clusters/<cluster>/platform/<family>/<file>` for a
/// shared platform).
fn plant_path(p: &PlantCtx, family: &str, file: &str) -> String {
    format!("{}/{family}/{file}", p.dir)
}

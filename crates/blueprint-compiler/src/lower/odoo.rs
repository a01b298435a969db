//! The Odoo workloads in `kubernetes/` (DESIGN §4.5, reference/odoo.md, reference/kubernetes.md
//! §2, §5–§7), for every plant that runs its own Odoo (all tenancies but `shared`) and for the
//! shared platform of each cluster with `shared` tenants (`clusters/<cluster>/platform/`: one
//! Odoo for all of them, `dbfilter = ^%h$` and no `db_name`; `shared` plants get none of these
//! files):
//!
//! | file | exists |
//! |---|---|
//! | `configmap-<config>.yaml` | always: `odoo.conf`, its keys computed by [`conf_keys`] |
//! | `deployment-<web>.yaml` | always: HTTP workers and the gevent (websocket) worker |
//! | `deployment-<cron>.yaml` | always: the cron workers, no HTTP |
//! | `service-<service>.yaml` | always: `http` 8069, and `websocket` 8072 when `workers > 0` |
//! | `persistentvolumeclaim-<filestore>.yaml` | always: `data_dir` (filestore and sessions) |
//! | `poddisruptionbudget-<web>.yaml` | when the web Deployment's (minimum) replicas are ≥ 2 |
//! | `horizontalpodautoscaler-<web>.yaml` | when an HPA scales the web Deployment |
//! | `job-odoo-upgrade.yaml` | always: installs and upgrades the plant's modules when the image or the module list changed |
//!
//! A `shared` tenant gets one file, `job-<prefix>odoo-init.yaml` in `odoo-shared`: it installs
//! the tenant's modules into its database ([`TenantInit`]).
//!
//! Decisions where the design and the references are silent (each is also said where it is made):
//! - One `odoo.conf` for every Odoo process of the plant, written for the web pods
//!   (`max_cron_threads = 0`); the cron Deployment and the upgrade Job override what differs on
//!   the command line (`--no-http --max-cron-threads N`; `--workers 0 --no-http`), which Odoo
//!   lets win over the file. One file means no second copy of the database settings to drift.
//! - The filestore volume is always `ReadWriteMany`: the web pods, the cron pod and the upgrade
//!   Job all use `data_dir` at once, on any node and in any zone of the spread.
//! - The upgrade Job is an Argo CD `Sync` hook in wave 4 (after the ConfigMap, the volume and the
//!   database, before the Deployments in wave 5), not a `PreSync` hook: PreSync hooks run before
//!   anything of the sync is applied, so on a plant's first sync the namespace, the ConfigMap,
//!   the database Secret and the database itself do not exist yet and the Job can never start.
//! - Argo CD runs hooks at every sync, so the Job records what it upgraded (image and modules) in
//!   the database (`ir_config_parameter` key `blueprint.upgrade`) and does nothing when that is
//!   already the value; a restored database carries its own record, so restoring one taken
//!   before an upgrade upgrades it again at the next sync. Its file keeps one path whatever the
//!   image (`job-odoo-upgrade.yaml`, the Job itself is `odoo-upgrade-<12 hex>`), so an image
//!   change is a diff of one file rather than a deletion and an addition.
//! - The few checks of the security scanner (checkov) the workloads fail on purpose are written
//!   on the objects as `checkov.io/skipN` annotations with their reason.

use super::{Check, GI, MI, OdooCtx, Output, PlantCtx, Scope, plant_path, quantity, round_up};
use crate::ResolvedPlant;
use crate::units::fmt_cpu;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Odoo's HTTP port (`http_port`).
const HTTP_PORT: u32 = 8069;
/// The gevent (websocket) worker's port (`gevent_port`), listened on only when `workers > 0`.
const GEVENT_PORT: u32 = 8072;
/// PostgreSQL's port.
const DB_PORT: u32 = 5432;
/// `data_dir`: the filestore volume's mount point (the image's own `data_dir`).
const DATA_DIR: &str = "/var/lib/odoo";
/// Where the ConfigMap is mounted; `ODOO_RC` points at `odoo.conf` in it.
const CONF_DIR: &str = "/etc/odoo";
/// Where the database password Secret is mounted; `PASSWORD_FILE` points at `password` in it.
const DB_SECRET_DIR: &str = "/run/secrets/postgres";
/// The official image's addons directory (its shipped `odoo.conf`); core addons are found
/// without being listed.
const ADDONS_PATH: &str = "/mnt/extra-addons";
/// Requests a worker serves before it is recycled (the Odoo deployment guide's sample; the
/// 18-era source default, 65536, recycles too seldom to bound slow leaks).
const LIMIT_REQUEST: u32 = 8192;
/// The fleet-level StorageClass with `reclaimPolicy: Retain` and `ReadWriteMany` volumes,
/// rendered once per cluster (`clusters/`).
const STORAGE_CLASS_RWX: &str = "blueprint-retain-rwx";
/// The `ir_config_parameter` key where the upgrade Job records what it upgraded.
const UPGRADE_RECORD_KEY: &str = "blueprint.upgrade";
/// Argo CD sync waves (reference/kubernetes.md §9).
const WAVE_STORAGE: &str = "-5";
/// Wave of the upgrade hook: after the database (wave 0), before Odoo.
const WAVE_UPGRADE: &str = "4";
/// Wave of the Odoo workloads.
const WAVE_ODOO: &str = "5";

/// checkov CKV_K8S_40 asks for a UID of 10000 or more; Odoo runs as its image's own user.
const SKIP_HIGH_UID: &str = "CKV_K8S_40=runs as the numeric uid of the official image's own odoo user, which owns the image's home and data paths";
/// checkov CKV_K8S_8 and CKV_K8S_9 ask for probes; the cron pod serves nothing to probe.
const SKIP_CRON_LIVENESS: &str = "CKV_K8S_8=the cron pod serves no HTTP (--no-http); the Odoo prefork master restarts cron workers that die or overrun their limits";
/// See [`SKIP_CRON_LIVENESS`].
const SKIP_CRON_READINESS: &str =
    "CKV_K8S_9=the cron pod takes no traffic: no Service selects it and nothing listens in it";
/// checkov CKV_K8S_35 prefers Secrets as files; the Redis session store reads its password
/// only from the environment.
const SKIP_SECRET_ENV: &str = "CKV_K8S_35=the session_redis add-on reads its password only from ODOO_SESSION_REDIS_PASSWORD; the database password is a file (PASSWORD_FILE)";

/// checkov CKV_K8S_43 asks for a digest; outside prod a plant may follow a tag (BP4001 requires
/// the digest in prod only), and such an image is pulled at every start.
const SKIP_DIGEST: &str = "CKV_K8S_43=outside prod the image may follow a tag (BP4001 requires a digest in prod only); imagePullPolicy Always fetches the tag's current image";

/// Resources of one container, as Kubernetes writes quantities.
#[derive(Debug, Clone, Serialize)]
struct Resources {
    cpu_request: String,
    cpu_limit: String,
    memory_request: String,
    memory_limit: String,
}

/// One of the plant's Odoo pod templates (web, cron, upgrade).
#[derive(Debug, Clone, Serialize)]
struct Workload {
    /// Object name.
    name: String,
    /// `app.kubernetes.io/component`.
    component: &'static str,
    /// Labels of the object and of its pods: the plant's labels, `app.kubernetes.io/name: odoo`
    /// and the component.
    labels: BTreeMap<String, String>,
    /// The Deployment's selector (immutable once applied, so only labels that never change):
    /// name, component, plant and environment.
    selector: BTreeMap<String, String>,
    /// Container arguments after the image's entrypoint.
    args: Vec<String>,
    /// Container resources.
    resources: Resources,
    /// `spec.replicas`; `None` when an HPA owns it (kubernetes.md §6: Argo CD would fight it).
    replicas: Option<u32>,
    /// `IfNotPresent` for an image pinned by digest (it cannot change), `Always` for a tag.
    pull_policy: &'static str,
    /// Checks of the security scanner (checkov) this workload fails on purpose, each as
    /// `CHECK=reason`, written on the object as `checkov.io/skipN` annotations so that the
    /// exception and its reason travel with it (DESIGN §6).
    scanner_exceptions: Vec<String>,
    /// Seconds a pod has to stop: a request (or a cron job) may legitimately run for
    /// `limit_time_real`, and Odoo's prefork master lets its workers finish the current one on
    /// SIGTERM, so the grace period is `limit_time_real`.
    termination_grace_s: u64,
}

/// Probes of the web container. The readiness probe asks `/web/health?db_server_status=1`,
/// which also opens a connection to PostgreSQL (odoo/odoo#182537, in the 17.0, 18.0 and 19.0
/// sources), so a pod that cannot reach its database takes no traffic; a build older than that
/// change ignores the unknown argument (with a warning in its log) and answers as
/// `/web/health`. Liveness never involves the database: a database outage must not restart
/// every pod. Liveness is lenient (2 minutes) because all HTTP workers may be busy with long
/// requests; the prefork master kills stuck workers itself (`limit_time_*`).
#[derive(Debug, Clone, Serialize)]
struct Probes {
    /// Liveness and startup path.
    liveness_path: &'static str,
    /// Readiness path.
    readiness_path: &'static str,
    /// Startup: period × failures = 5 minutes to come up (the entrypoint first waits up to
    /// 30 s for PostgreSQL).
    startup_period_s: u32,
    /// Startup failures allowed.
    startup_failures: u32,
    /// Liveness period.
    liveness_period_s: u32,
    /// Liveness timeout.
    liveness_timeout_s: u32,
    /// Liveness failures before a restart: 8 × 15 s = 2 minutes.
    liveness_failures: u32,
    /// Readiness period.
    readiness_period_s: u32,
    /// Readiness timeout.
    readiness_timeout_s: u32,
    /// Readiness failures before the pod leaves the Service.
    readiness_failures: u32,
}

/// The HPA of the web Deployment.
#[derive(Debug, Clone, Serialize)]
struct Hpa {
    /// `minReplicas`: the plant's replicas.
    min: u32,
    /// `maxReplicas`.
    max: u32,
    /// Average CPU utilisation target, percent of the request (the request is half the limit,
    /// so 70 % of the request is 35 % of the limit: headroom for the spikes of a worker pool).
    cpu_utilization: u32,
    /// Scale-down stabilisation window, seconds (the Kubernetes default, written explicitly).
    scale_down_window_s: u32,
    /// At most this many pods removed per period when scaling down: a removed pod's in-flight
    /// requests and websockets move to the others.
    scale_down_pods: u32,
    /// That period, seconds.
    scale_down_period_s: u32,
}

/// The upgrade Job.
#[derive(Debug, Clone, Serialize)]
struct Upgrade {
    /// `odoo-upgrade-<12 hex>`: the first 12 hex digits of the image digest, or of an FNV-1a
    /// hash of the image reference when it is not pinned (non-prod). Argo CD runs hooks at every
    /// sync whatever the name (the delete policy `BeforeHookCreation` replaces the previous
    /// Job); the name says which image the last run was for.
    pod: Workload,
    /// The databases it upgrades, separated by spaces: the plant's; `None` for a shared
    /// platform, whose Job upgrades every database the Odoo role owns (its tenants', each named
    /// as its host, DESIGN §4.2), as Odoo itself lists candidate databases.
    databases: Option<String>,
    /// The modules, sorted and de-duplicated, separated by commas (`base` when the plant lists
    /// none): per database, the script passes `--init` for those not installed there and
    /// `--update` for the installed ones (`--init` of an installed module would reload its data
    /// in init mode and overwrite its `noupdate` records).
    modules: String,
    /// Whether missing modules are installed: yes for a dedicated plant; a shared platform only
    /// upgrades (which of its addons a tenant installs is the tenant's choice).
    install: bool,
    /// What the Job records in each database once done, and compares with before doing
    /// anything: the image reference and the sorted module list (an added module is installed
    /// at the next sync; reordering the plant file's list changes nothing).
    record: String,
    /// `ir_config_parameter` key of the record.
    record_key: &'static str,
    /// Seconds the Job may run (an upgrade of every module of a large database stays well
    /// below): a hung upgrade fails the sync instead of holding it forever.
    deadline_s: u32,
    /// Retries: none. A failed upgrade is a failed sync for a person to read (its log names the
    /// module), not something to run again blindly; the script itself waits for PostgreSQL.
    backoff_limit: u32,
}

/// Everything the Odoo templates need beyond `plant`, in `plant.derived.odoo`.
#[derive(Debug, Clone, Serialize)]
struct OdooDerived {
    /// `odoo.conf` keys of `[options]`, as written (sorted); see [`conf_keys`].
    conf: BTreeMap<String, String>,
    /// An FNV-1a hash of `conf`, on the pod templates: a changed `odoo.conf` rolls the pods
    /// (Odoo reads its file only at start).
    conf_hash: String,
    /// Labels of objects that belong to no single component (ConfigMap, volume).
    labels: BTreeMap<String, String>,
    /// The web Deployment.
    web: Workload,
    /// The cron Deployment.
    cron: Workload,
    /// The upgrade Job.
    upgrade: Upgrade,
    /// Whether the gevent worker runs (`workers > 0`): port 8072 on the container and the
    /// Service.
    websocket: bool,
    /// Web probes.
    probes: Probes,
    /// `whenUnsatisfiable` of the zone spread: `DoNotSchedule` for `critical` (a zone loss must
    /// leave pods elsewhere), `ScheduleAnyway` otherwise; the node spread is always
    /// `ScheduleAnyway`.
    zone_spread: &'static str,
    /// A PodDisruptionBudget (`maxUnavailable: 1`) only when the web Deployment keeps at least
    /// 2 replicas: over a single replica it would block node drains.
    pdb: bool,
    /// The HPA, when one scales the web Deployment.
    hpa: Option<Hpa>,
    /// Filestore access mode: always `ReadWriteMany` (web, cron and the upgrade Job share it).
    filestore_access_mode: &'static str,
    /// Its StorageClass (Retain).
    filestore_class: &'static str,
    /// Environment of the web container beyond `ODOO_RC` and `PASSWORD_FILE`: the Redis session
    /// store's settings when the plant installs one (reference/odoo.md §7).
    session_redis: Option<SessionRedis>,
    /// Container ports.
    ports: Ports,
    /// Mount points.
    paths: Paths,
    /// Sync waves.
    waves: Waves,
}

/// What a `shared` tenant's templates need, in `plant.derived.odoo`.
#[derive(Debug, Clone, Serialize)]
struct TenantDerived {
    /// The database initialisation Job.
    init: TenantInit,
}

/// The Job that initialises a `shared` tenant's database (created empty by the PreSync
/// create-database Job) with the tenant's modules: an Argo CD `Sync` hook of the tenant's
/// Application in `odoo-shared`, running the platform's image (a tenant's `odoo` values are the
/// platform's, resolve/odoo.rs) with the platform's `odoo.conf`, filestore and database Secret.
/// Idempotent: it installs (`--init`) only the tenant's modules not installed yet (all of them
/// while the database has no `ir_module_module` table), never `--update` (upgrades are the
/// platform's upgrade Job's), and does nothing when none is missing. Its pods carry the labels
/// of the platform's upgrade Job so that the platform's NetworkPolicies admit them.
#[derive(Debug, Clone, Serialize)]
struct TenantInit {
    /// `<prefix>odoo-init`.
    name: String,
    /// The tenant's labels, `app.kubernetes.io/name: odoo`, `app.kubernetes.io/component:
    /// upgrade`.
    labels: BTreeMap<String, String>,
    /// Container arguments after the image's entrypoint (the script adds `--init` and
    /// `--database`).
    args: Vec<String>,
    /// The tenant's modules, sorted, de-duplicated, comma-separated (`base` when none).
    modules: String,
    /// The tenant's database (named as its host).
    database: String,
    /// PostgreSQL host, port and role (the platform's).
    db_host: String,
    /// Port.
    db_port: u32,
    /// Role.
    db_user: String,
    /// The platform's Secret of the Odoo role.
    db_secret: String,
    /// The platform's `odoo.conf` ConfigMap.
    config: String,
    /// The platform's filestore volume (module data may write attachments).
    filestore: String,
    /// The platform's Odoo ServiceAccount.
    service_account: String,
    /// `IfNotPresent` for an image pinned by digest, else `Always`.
    pull_policy: &'static str,
    /// checkov exceptions, as on the platform's workloads.
    scanner_exceptions: Vec<String>,
    /// Requests and limits: an Odoo process installing modules, within the platform
    /// namespace's LimitRange.
    resources: Resources,
    /// Sync wave of the hook.
    wave: &'static str,
    /// `activeDeadlineSeconds`.
    deadline_s: u32,
    /// Retries: a failed run leaves the modules it did not finish uninstalled, and the next
    /// run installs exactly those.
    backoff_limit: u32,
    /// Mount points, as the platform's pods use them.
    paths: Paths,
}

/// The Redis session store add-on's settings (`session_redis`, reference/odoo.md §7).
#[derive(Debug, Clone, Serialize)]
struct SessionRedis {
    /// `<redis release>-master`: the Bitnami chart's primary Service.
    host: String,
    /// 6379.
    port: u32,
    /// Secret holding the password.
    secret: &'static str,
    /// Its key.
    secret_key: &'static str,
}

/// Odoo's ports, the same numbers as in `odoo.conf`.
#[derive(Debug, Clone, Serialize)]
struct Ports {
    http: u32,
    websocket: u32,
}

/// Where things are mounted.
#[derive(Debug, Clone, Serialize)]
struct Paths {
    conf_dir: &'static str,
    conf_file: String,
    data_dir: &'static str,
    db_secret_dir: &'static str,
    db_password_file: String,
}

/// Argo CD sync waves.
#[derive(Debug, Clone, Serialize)]
struct Waves {
    storage: &'static str,
    upgrade: &'static str,
    odoo: &'static str,
}

/// Which database an `odoo.conf` serves.
pub(super) struct DbTarget<'a> {
    /// Host.
    pub(super) host: &'a str,
    /// Role.
    pub(super) user: &'a str,
    /// `db_name`: the plant's database; `None` for a multi-tenant Odoo.
    pub(super) name: Option<&'a str>,
    /// `dbfilter` (a regular expression, anchored).
    pub(super) filter: String,
}

fn yes(b: bool) -> String {
    if b { "True" } else { "False" }.to_string()
}

/// The `odoo.conf` keys of section `[options]` for an Odoo process serving `db`, named as
/// `odoo.version` names them (reference/odoo.md §1, §9):
/// - prefork (`workers` > 0), `proxy_mode = True`, `list_db = False` always (it also disables
///   the `db` RPC service, which path blocking misses);
/// - `max_cron_threads = 0`: crons run in their own Deployment (`--max-cron-threads` there);
/// - `gevent_port`, never `longpolling_port` (a deprecated alias since 16.0);
/// - `db_maxconn_gevent` only from 17.0, `limit_memory_*_gevent` only from 18.0 (set to the
///   workers' limits: the memory limit of the pod counts the gevent worker as one more
///   worker);
/// - `limit_time_cpu` is half of `limit_time_real`, the ratio of the deployment guide's sample;
/// - `db_sslmode = require`: encrypted to PGO (TLS always on) and RDS; `verify-full` would need
///   the CA bundle mounted;
/// - no `admin_passwd` (file only, and useless with `list_db = False`) and no `db_password`
///   (the image's entrypoint reads `PASSWORD_FILE`, reference/odoo.md §8);
/// - `server_wide_modules` adds `session_redis` when the plant installs it.
///
/// Values are written `key = value` with single spaces: the image's entrypoint reads `db_host`,
/// `db_port` and `db_user` back from the file as the third space-separated field.
pub(super) fn conf_keys(odoo: &OdooCtx, db: &DbTarget<'_>) -> BTreeMap<String, String> {
    let mut c = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        c.insert(k.to_string(), v);
    };
    set("addons_path", ADDONS_PATH.into());
    set("data_dir", DATA_DIR.into());
    set("db_host", db.host.into());
    set("db_port", DB_PORT.to_string());
    set("db_user", db.user.into());
    if let Some(name) = db.name {
        set("db_name", name.into());
    }
    set("dbfilter", db.filter.clone());
    set("db_sslmode", "require".into());
    set("db_maxconn", odoo.db_maxconn.to_string());
    if odoo.major >= 17
        && let Some(g) = odoo.db_maxconn_gevent
    {
        set("db_maxconn_gevent", g.to_string());
    }
    set("workers", odoo.workers.to_string());
    set("max_cron_threads", "0".into());
    set("proxy_mode", yes(true));
    set("list_db", yes(false));
    set("http_port", HTTP_PORT.to_string());
    set("gevent_port", GEVENT_PORT.to_string());
    set("limit_memory_soft", odoo.limit_memory_soft.to_string());
    set("limit_memory_hard", odoo.limit_memory_hard.to_string());
    if odoo.major >= 18 {
        set(
            "limit_memory_soft_gevent",
            odoo.limit_memory_soft.to_string(),
        );
        set(
            "limit_memory_hard_gevent",
            odoo.limit_memory_hard.to_string(),
        );
    }
    set("limit_request", LIMIT_REQUEST.to_string());
    set("limit_time_real", odoo.limit_time_real.to_string());
    set("limit_time_cpu", (odoo.limit_time_real / 2).to_string());
    set("log_level", "info".into());
    let mut wide = vec!["base", "web"];
    if odoo.session_redis {
        wide.push("session_redis");
    }
    set("server_wide_modules", wide.join(","));
    c
}

/// Escapes a database name for a Python regular expression, as `re.escape` does for the
/// characters that mean something in one.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if "\\.^$*+?{}[]|()-#&~ ".contains(ch) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// FNV-1a, 64 bits: a short, stable fingerprint (not a security boundary).
fn fnv1a(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The 12 hex digits naming the upgrade Job: from the image digest when pinned, else from an
/// FNV-1a hash of the image reference.
fn image_tag_hash(odoo: &OdooCtx) -> String {
    let hex = odoo
        .image_digest
        .as_deref()
        .and_then(|d| d.strip_prefix("sha256:"))
        .map_or_else(|| format!("{:016x}", fnv1a(&odoo.image)), str::to_string);
    hex.chars().take(12).collect()
}

/// The modules as Odoo's `--init`/`--update` take them: sorted, de-duplicated, joined by
/// commas; `base` when there are none.
fn module_list(modules: &[String]) -> String {
    let mut m: Vec<&str> = modules.iter().map(String::as_str).collect();
    m.sort_unstable();
    m.dedup();
    if m.is_empty() {
        "base".into()
    } else {
        m.join(",")
    }
}

/// Arguments of a one-shot Odoo run (upgrade, tenant initialisation) after the image's
/// entrypoint, before the script adds `--init`/`--update` and `--database`: no HTTP, no
/// workers, no crons, stop when done; before 19.0 initialising a database loads demo data
/// unless told not to.
fn batch_args(o: &OdooCtx) -> Vec<String> {
    let mut args = vec!["odoo".to_string()];
    if o.major <= 18 {
        args.extend(["--without-demo".into(), "all".into()]);
    }
    args.extend([
        "--stop-after-init".into(),
        "--no-http".into(),
        "--workers".into(),
        "0".into(),
        "--max-cron-threads".into(),
        "0".into(),
    ]);
    args
}

/// The initialisation Job of a `shared` tenant's database (see [`TenantInit`]).
fn derive_tenant(ctx: &mut PlantCtx) {
    let o = &ctx.odoo;
    let n = &ctx.names;
    // The platform's objects: a tenant's names are the platform's (built with an empty
    // prefix, lower/mod.rs `names`) with the tenant's prefix.
    let platform = |name: &str| name.strip_prefix(&n.prefix).unwrap_or(name).to_string();
    let mut labels = ctx.labels.clone();
    labels.insert("app.kubernetes.io/name".into(), "odoo".into());
    labels.insert("app.kubernetes.io/component".into(), "upgrade".into());
    let init = TenantInit {
        name: format!("{}odoo-init", n.prefix),
        labels,
        args: batch_args(o),
        modules: module_list(&o.modules),
        database: n.db_name.clone(),
        db_host: n.db_host.clone(),
        db_port: DB_PORT,
        db_user: n.db_user.clone(),
        db_secret: n.db_secret.clone(),
        config: platform(&n.config),
        filestore: platform(&n.filestore),
        service_account: platform(&n.odoo_sa),
        pull_policy: pull_policy(o),
        scanner_exceptions: scanner_exceptions(o, vec![SKIP_HIGH_UID]),
        resources: Resources {
            cpu_request: fmt_cpu(500),
            cpu_limit: fmt_cpu(1000),
            memory_request: quantity(GI),
            memory_limit: quantity(3 * GI),
        },
        wave: WAVE_UPGRADE,
        deadline_s: 3600,
        backoff_limit: 2,
        paths: paths(),
    };
    if let Ok(v) = serde_json::to_value(TenantDerived { init }) {
        ctx.derived.insert("odoo".into(), v);
    }
}

/// `IfNotPresent` for an image pinned by digest (it cannot change), `Always` for a tag.
fn pull_policy(o: &OdooCtx) -> &'static str {
    if o.image_digest.is_some() {
        "IfNotPresent"
    } else {
        "Always"
    }
}

/// The checkov checks a workload fails on purpose: `checks`, and the digest check when the
/// image follows a tag.
fn scanner_exceptions(o: &OdooCtx, mut checks: Vec<&str>) -> Vec<String> {
    if o.image_digest.is_none() {
        checks.push(SKIP_DIGEST);
    }
    checks.into_iter().map(str::to_string).collect()
}

fn paths() -> Paths {
    Paths {
        conf_dir: CONF_DIR,
        conf_file: format!("{CONF_DIR}/odoo.conf"),
        data_dir: DATA_DIR,
        db_secret_dir: DB_SECRET_DIR,
        db_password_file: format!("{DB_SECRET_DIR}/password"),
    }
}

/// Values only these templates need: for plants that run their own Odoo, the workloads; for a
/// `shared` tenant, the Job that initialises its database with its modules.
pub(super) fn derive(ctx: &mut PlantCtx, _p: &ResolvedPlant) {
    if ctx.tenancy == "shared" {
        derive_tenant(ctx);
        return;
    }
    let o = &ctx.odoo;
    let n = &ctx.names;
    // A dedicated plant serves its one database; a cluster's shared platform serves every
    // tenant database, each named exactly as its host (DESIGN §4.5: `dbfilter = ^%h$`).
    let target = if ctx.platform {
        DbTarget {
            host: &n.db_host,
            user: &n.db_user,
            name: None,
            filter: "^%h$".into(),
        }
    } else {
        DbTarget {
            host: &n.db_host,
            user: &n.db_user,
            name: Some(&n.db_name),
            filter: format!("^{}$", regex_escape(&n.db_name)),
        }
    };
    let conf = conf_keys(o, &target);
    let pull_policy = pull_policy(o);
    let skips = |checks| scanner_exceptions(o, checks);
    let conf_text: String = conf.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
    let mut labels = ctx.labels.clone();
    labels.insert("app.kubernetes.io/name".into(), "odoo".into());
    let component_labels = |component: &str| {
        let mut l = labels.clone();
        l.insert("app.kubernetes.io/component".into(), component.into());
        l
    };
    // The selector is the part of the pod labels that never changes (a Deployment's selector
    // is immutable): taken from those labels, so that it always matches them.
    let selector = |component: &str| -> BTreeMap<String, String> {
        component_labels(component)
            .into_iter()
            .filter(|(k, _)| {
                [
                    "app.kubernetes.io/name",
                    "app.kubernetes.io/component",
                    "blueprint.dev/plant",
                    "blueprint.dev/environment",
                ]
                .contains(&k.as_str())
            })
            .collect()
    };
    let web_resources = Resources {
        cpu_request: o.cpu_request.clone(),
        cpu_limit: o.cpu_limit.clone(),
        memory_request: o.memory_request.clone(),
        memory_limit: o.memory_limit.clone(),
    };
    let web = Workload {
        name: n.web.clone(),
        component: "web",
        labels: component_labels("web"),
        selector: selector("web"),
        args: vec!["odoo".into()],
        resources: web_resources.clone(),
        replicas: (!o.hpa).then_some(o.replicas),
        pull_policy,
        scanner_exceptions: skips(if o.session_redis {
            vec![SKIP_HIGH_UID, SKIP_SECRET_ENV]
        } else {
            vec![SKIP_HIGH_UID]
        }),
        termination_grace_s: o.limit_time_real,
    };
    // The cron pod is what the namespace quota budgets for it (resolve/sizing.rs `quota`):
    // 1 CPU, and memory for the prefork master plus one process per cron thread at
    // `limit_memory_soft` each, requested in full (a cron run must not be evicted mid-way).
    let cron_memory = quantity(round_up(
        u64::from(o.cron_threads + 1) * o.limit_memory_soft,
        64 * MI,
    ));
    let cron = Workload {
        name: n.cron.clone(),
        component: "cron",
        labels: component_labels("cron"),
        selector: selector("cron"),
        args: vec![
            "odoo".into(),
            "--no-http".into(),
            "--max-cron-threads".into(),
            o.cron_threads.to_string(),
        ],
        resources: Resources {
            cpu_request: fmt_cpu(500),
            cpu_limit: fmt_cpu(1000),
            memory_request: cron_memory.clone(),
            memory_limit: cron_memory,
        },
        replicas: Some(1),
        pull_policy,
        scanner_exceptions: skips(vec![SKIP_HIGH_UID, SKIP_CRON_LIVENESS, SKIP_CRON_READINESS]),
        termination_grace_s: o.limit_time_real,
    };
    // The Job's script reads, per database, which of the modules are installed, and adds
    // `--init` for the missing ones (a new database, or a module added to the plant),
    // `--update` for the installed ones and `--database`. An empty list means `base`, whose
    // upgrade upgrades every installed module. A shared platform only upgrades: which of its
    // addons a tenant installs is the tenant's choice.
    let modules = module_list(&o.modules);
    let upgrade_args = batch_args(o);
    let upgrade = Upgrade {
        // The Job fits in the quota's rollout surge (at least one web pod), which is free
        // while it runs: the Deployments roll in the next wave.
        pod: Workload {
            name: format!("{}odoo-upgrade-{}", n.prefix, image_tag_hash(o)),
            component: "upgrade",
            labels: component_labels("upgrade"),
            selector: selector("upgrade"),
            args: upgrade_args,
            resources: web_resources,
            replicas: None,
            pull_policy,
            scanner_exceptions: skips(vec![SKIP_HIGH_UID]),
            termination_grace_s: 30,
        },
        databases: (!ctx.platform).then(|| n.db_name.clone()),
        record: format!("{} {modules}", o.image),
        modules,
        install: !ctx.platform,
        record_key: UPGRADE_RECORD_KEY,
        deadline_s: 7200,
        backoff_limit: 0,
    };
    let derived = OdooDerived {
        conf_hash: format!("{:016x}", fnv1a(&conf_text)),
        conf,
        labels,
        web,
        cron,
        upgrade,
        websocket: o.workers > 0,
        probes: Probes {
            liveness_path: "/web/health",
            readiness_path: "/web/health?db_server_status=1",
            startup_period_s: 5,
            startup_failures: 60,
            liveness_period_s: 15,
            liveness_timeout_s: 10,
            liveness_failures: 8,
            readiness_period_s: 10,
            readiness_timeout_s: 5,
            readiness_failures: 3,
        },
        zone_spread: if ctx.tier == "critical" {
            "DoNotSchedule"
        } else {
            "ScheduleAnyway"
        },
        pdb: o.replicas >= 2,
        hpa: o.hpa.then_some(Hpa {
            min: o.replicas,
            max: o.max_replicas,
            cpu_utilization: 70,
            scale_down_window_s: 300,
            scale_down_pods: 1,
            scale_down_period_s: 120,
        }),
        filestore_access_mode: "ReadWriteMany",
        filestore_class: STORAGE_CLASS_RWX,
        session_redis: o.session_redis.then(|| SessionRedis {
            host: format!("{}-master", n.redis),
            port: 6379,
            secret: "redis-auth",
            secret_key: "redis-password",
        }),
        ports: Ports {
            http: HTTP_PORT,
            websocket: GEVENT_PORT,
        },
        paths: paths(),
        waves: Waves {
            storage: WAVE_STORAGE,
            upgrade: WAVE_UPGRADE,
            odoo: WAVE_ODOO,
        },
    };
    if let Ok(v) = serde_json::to_value(derived) {
        ctx.derived.insert("odoo".into(), v);
    }
}

/// The files of this family (see the table at the top).
pub(super) fn outputs(p: &PlantCtx, scope: Scope, out: &mut Vec<Output>) {
    let Some(d) = p.derived.get("odoo") else {
        return;
    };
    let n = &p.names;
    let mut add = |file: String, template: &str| {
        out.push(Output::new(
            plant_path(p, "kubernetes", &file),
            &format!("kubernetes/{template}.yaml.j2"),
            scope,
            Value::Null,
            Check::Kubernetes,
        ));
    };
    if d.get("init").is_some_and(|i| !i.is_null()) {
        add(format!("job-{}odoo-init.yaml", n.prefix), "job-odoo-init");
        return;
    }
    add(
        format!("configmap-{}.yaml", n.config),
        "configmap-odoo-conf",
    );
    add(format!("deployment-{}.yaml", n.web), "deployment-odoo-web");
    add(
        format!("deployment-{}.yaml", n.cron),
        "deployment-odoo-cron",
    );
    add(format!("service-{}.yaml", n.service), "service-odoo");
    add(
        format!("persistentvolumeclaim-{}.yaml", n.filestore),
        "persistentvolumeclaim-odoo-filestore",
    );
    if d.get("pdb").and_then(Value::as_bool) == Some(true) {
        add(
            format!("poddisruptionbudget-{}.yaml", n.web),
            "poddisruptionbudget-odoo-web",
        );
    }
    if d.get("hpa").is_some_and(|h| !h.is_null()) {
        add(
            format!("horizontalpodautoscaler-{}.yaml", n.web),
            "horizontalpodautoscaler-odoo-web",
        );
    }
    // One stable path whatever the image: an image change shows as a diff of this file.
    add(
        format!("job-{}odoo-upgrade.yaml", n.prefix),
        "job-odoo-upgrade",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_escaped_for_dbfilter() {
        assert_eq!(regex_escape("lyon_prod"), "lyon_prod");
        assert_eq!(regex_escape("a.b-c"), "a\\.b\\-c");
    }

    #[test]
    fn fnv1a_matches_its_reference_values() {
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
    }
}

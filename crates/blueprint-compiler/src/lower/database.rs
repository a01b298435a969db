//! `database` outputs (DESIGN §4.3, §4.5; reference/pgbackrest.md): PostgreSQL, its backups,
//! their monitoring and the restore test, per plant environment.
//!
//! 1. [`derive`] computes, in Rust, everything the templates write (`plant.derived.database`):
//!    one pgBackRest configuration ([`PgBackRest`]) from which both `pgbackrest.conf` and the
//!    PostgresCluster's `spec.backups.pgbackrest` are rendered, so they cannot drift; the
//!    PostgresCluster's sizing ([`Postgres`]); the alert thresholds ([`Alerts`]); the restore
//!    test ([`RestoreTest`]); the database setup Job ([`SetupJob`]).
//! 2. [`outputs`] decides which files exist:
//!
//! | tenancy | files |
//! |---|---|
//! | `dedicated-namespace`, `dedicated-cluster` (PGO) | `pgbackrest/pgbackrest.conf`, `kubernetes/postgrescluster-postgres.yaml`, `job-prepare-database.yaml`, `podmonitor-postgres-exporter.yaml`, `prometheusrule-database.yaml`, `cronjob-restore-test.yaml`, `serviceaccount-`/`role-`/`rolebinding-restore-test.yaml` |
//! | `dedicated-environment` (RDS) | `prometheusrule-database.yaml` (restore-test and filestore-backup alerts only), `cronjob-restore-test.yaml` (restores RDS to a new instance), `serviceaccount-restore-test.yaml` |
//! | shared platform (`clusters/<cluster>/platform/`) | as a PGO plant, without `job-prepare-database.yaml` (its databases are its tenants'); the restore test checks the restored catalog |
//! | `shared` | `job-<plant>-<env>-create-database.yaml` in `odoo-shared` (PostgreSQL, backups, alerts and restore test are the platform's) |
//!
//! Every row but `shared` also has `cronjob-filestore-backup.yaml` and
//! `serviceaccount-filestore-backup.yaml` ([`FilestoreBackup`]).

use super::{Check, IniFlavor, Output, PlantCtx, Scope, plant_path, quantity};
use crate::ResolvedPlant;
use crate::units::{fmt_cpu, fmt_duration};
use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The stanza: PGO hard-codes it (CrunchyData/postgres-operator#3712; pgbackrest.md §7).
pub(super) const STANZA: &str = "db";
/// The Secret projected into `/etc/pgbackrest/conf.d`: a `*.conf` key holding
/// `[global]` `repoN-cipher-pass=…` (rendered by the ExternalSecret of the secrets family).
pub(super) const PGBACKREST_SECRET: &str = "pgbackrest-secrets";
/// PGO's superuser Secret (`<cluster>-pguser-postgres`, created because `postgres` is listed in
/// `spec.users`).
const SUPERUSER_SECRET: &str = "postgres-pguser-postgres";
/// Where the setup Job mounts the superuser Secret's keys as files (`host`, `port`, `user`,
/// `password`): the password reaches libpq through a pgpass file, not the environment.
const SUPERUSER_SECRET_DIR: &str = "/run/secrets/postgres";
/// The instance set of the PostgresCluster (pod label `postgres-operator.crunchydata.com/instance-set`).
const INSTANCE_SET: &str = "db";
/// Storage class of stateful volumes (`reclaimPolicy: Retain`, DESIGN §4.5).
const STORAGE_CLASS: &str = "blueprint-retain-rwo";
/// PGO's PostgreSQL port.
const PORT: u32 = 5432;
/// PGO's socket directory (`postgres.SocketDirectory`).
const SOCKET_PATH: &str = "/tmp/postgres";
/// PGO's pgBackRest spool path, next to the WAL (`pgbackrest/config.go`).
const SPOOL_PATH: &str = "/pgdata/pgbackrest-spool";
/// The restore test's objects: CronJob, ServiceAccount, Role, RoleBinding and the throw-away
/// PostgresCluster it creates.
const RESTORE_TEST: &str = "restore-test";
/// Image of the PGO restore-test runner under the fleet registry: `sh` and `kubectl`
/// (a mirror of `alpine/k8s`).
const KUBECTL_IMAGE: &str = "alpine/k8s:1.33.4";
/// Image of the RDS restore-test runner under the fleet registry (a mirror of `amazon/aws-cli`).
const AWS_CLI_IMAGE: &str = "amazon/aws-cli:2.27.50";
/// The filestore backup's CronJob and ServiceAccount.
const FILESTORE_BACKUP: &str = "filestore-backup";
/// Odoo's `data_dir`, the filestore volume's mount point (as the Odoo pods mount it).
const DATA_DIR: &str = "/var/lib/odoo";
/// Odoo's filestore inside `data_dir`: one directory per database.
const FILESTORE_DIR: &str = "/var/lib/odoo/filestore";
/// How late a scheduled filestore backup may start (`startingDeadlineSeconds`).
const FILESTORE_STARTING_DEADLINE_S: u64 = 1800;
/// Non-root user of the runner images, the database setup Job's `psql` included (any numeric
/// user works: they run as root by default, and `psql` needs no passwd entry when `PGUSER` and
/// `HOME` are set).
const RUNNER_UID: u32 = 65_532;
/// Checks of the security scanner (checkov) the runner pods fail on purpose, written on the
/// objects as `checkov.io/skipN` annotations (`CHECK=reason`; checkov splits on `=`, so a
/// reason has none). CKV_K8S_43 asks for an image digest: the runner images are tags.
const SKIP_RUNNER_DIGEST: &str = "CKV_K8S_43=the runner image is a tag under the fleet registry (postgres:MAJOR-alpine, alpine/k8s, amazon/aws-cli) for which blueprint holds no digest; imagePullPolicy Always fetches the image the tag names at each start";
/// CKV_K8S_40 asks for a UID of 10000 or more; the filestore backup reads files Odoo wrote.
const SKIP_FILESTORE_UID: &str = "CKV_K8S_40=runs as the numeric uid of the Odoo image's own odoo user, which owns every file of the filestore it copies";
/// CKV_K8S_38 asks for no API token; the PGO restore test drives its cluster with kubectl.
const SKIP_RESTORE_TOKEN: &str = "CKV_K8S_38=the restore test runs kubectl: it creates, watches, execs into and deletes its throw-away PostgresCluster through the API, within the Role restore-test";
/// Slack on backup age: CronJob start latency and one retry of a failed backup Job, seconds.
const BACKUP_AGE_MARGIN_S: u64 = 1800;
/// How late a scheduled restore test may start (CronJob `startingDeadlineSeconds`).
const RESTORE_STARTING_DEADLINE_S: u64 = 3600;
/// Time kept for deleting the test cluster or instance after the restore wait times out.
const RESTORE_CLEANUP_S: u64 = 900;
/// The restore test's SQL smoke check: the restored database is promoted (not in recovery) and
/// is an Odoo database with installed modules. A constant: no plant text in it.
const SMOKE_SQL: &str =
    "SELECT pg_is_in_recovery(), (SELECT count(*) FROM ir_module_module WHERE state = 'installed')";
/// The smoke check of a shared platform's restore (its databases are its tenants'): promoted, and
/// the catalog lists its databases.
const SMOKE_SQL_PLATFORM: &str =
    "SELECT pg_is_in_recovery(), (SELECT count(*) FROM pg_database WHERE NOT datistemplate)";
/// `Mi`.
const MI: u64 = 1 << 20;
/// `Gi`.
const GI: u64 = 1 << 30;

/// What the `database` templates render from: `plant.derived.database`.
#[derive(Debug, Clone, Serialize)]
struct Derived {
    /// The PostgresCluster (PGO plants only).
    postgres: Option<Postgres>,
    /// pgBackRest (PGO plants only): `pgbackrest.conf` and `spec.backups.pgbackrest`.
    pgbackrest: Option<PgBackRest>,
    /// The PrometheusRule (and, for PGO, the PodMonitor); none for `shared` plants.
    alerts: Option<Alerts>,
    /// The scheduled restore test; none for `shared` plants (the platform's test covers them).
    restore_test: Option<RestoreTest>,
    /// The Job that creates (`shared`) or hands over (PGO) the Odoo database.
    setup: Option<SetupJob>,
    /// The filestore backup (every environment that runs its own Odoo: not `shared` tenants,
    /// whose filestore is a directory of the platform's).
    filestore_backup: Option<FilestoreBackup>,
    /// The S3 key prefix of the filestore copy in repo1's bucket, with its final `/`:
    /// `filestore/<plant>/<env>/`, or `filestore/platform/<cluster>/` for a shared platform
    /// (the Terraform and runbook families read it from here).
    filestore_prefix: Option<String>,
}

/// The filestore backup (DESIGN §4.3: the filestore is backed up on the database's schedule).
/// `aws s3 sync --delete` mirrors `data_dir/filestore` into repo1's bucket, which is versioned:
/// every earlier state of every file stays restorable to a point in time.
#[derive(Debug, Clone, Serialize)]
struct FilestoreBackup {
    /// CronJob and ServiceAccount name.
    name: String,
    /// Cron in UTC: the union of the full, differential and incremental backup times when one
    /// cron can say it (same minute, the same hours every scheduled day), else the incremental
    /// schedule, else the differential one.
    schedule: String,
    /// `startingDeadlineSeconds`.
    starting_deadline_s: u64,
    /// `activeDeadlineSeconds`: the longest gap between two scheduled runs (at least an hour):
    /// a run may last until the next one is due (`concurrencyPolicy: Forbid` skips that one).
    active_deadline_s: u64,
    /// Runner image under the fleet registry.
    image_path: String,
    /// checkov exceptions (`CHECK=reason`), written as `checkov.io/skipN` annotations.
    scanner_exceptions: Vec<String>,
    /// Runner resources.
    resources: Resources,
    /// IRSA role: the plant's backup role (Terraform trusts `<namespace>:filestore-backup`
    /// and grants the prefix).
    role_arn: String,
    /// Where the filestore volume is mounted, read-only.
    mount: String,
    /// The filestore directory in it.
    source: String,
    /// `s3://<repo1 bucket>/<prefix>`.
    destination: String,
    /// Cloud region of the bucket.
    region: String,
}

/// CPU and memory, as Kubernetes writes them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(super) struct Quantities {
    /// CPU (`650m`).
    pub(super) cpu: String,
    /// Memory (`1600Mi`).
    pub(super) memory: String,
}

/// Requests and limits of one container, in the shape of a container's `resources` (templates
/// write it as a block mapping, one quantity a line).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(super) struct Resources {
    /// `requests`.
    pub(super) requests: Quantities,
    /// `limits`.
    pub(super) limits: Quantities,
}

impl Resources {
    fn new(req_cpu_m: u64, req_mem: u64, lim_cpu_m: u64, lim_mem: u64) -> Self {
        Self {
            requests: Quantities {
                cpu: fmt_cpu(req_cpu_m),
                memory: quantity(req_mem),
            },
            limits: Quantities {
                cpu: fmt_cpu(lim_cpu_m),
                memory: quantity(lim_mem),
            },
        }
    }
}

/// The containers of a PGO instance pod besides `database`: (requests cpu m, requests memory,
/// limits cpu m, limits memory).
const EXPORTER: (u64, u64, u64, u64) = (20, 64 * MI, 100, 128 * MI);
/// `replication-cert-copy`.
const CERT_COPY: (u64, u64, u64, u64) = (10, 16 * MI, 50, 32 * MI);
/// `pgbackrest-config`.
const PGBACKREST_CONFIG: (u64, u64, u64, u64) = (10, 16 * MI, 50, 32 * MI);
/// `pgbackrest` (the TLS server backups read the data through; compresses with process-max).
const PGBACKREST_SIDECAR: (u64, u64, u64, u64) = (50, 64 * MI, 500, 256 * MI);
/// Backup Jobs (`spec.backups.pgbackrest.jobs`): upload to object storage.
const BACKUP_JOB: (u64, u64, u64, u64) = (50, 64 * MI, 500, 256 * MI);

fn res((rc, rm, lc, lm): (u64, u64, u64, u64)) -> Resources {
    Resources::new(rc, rm, lc, lm)
}

/// The PostgresCluster `postgres`.
#[derive(Debug, Clone, Serialize)]
struct Postgres {
    /// Instance set name.
    instance_set: String,
    /// Instances (`plant.database.instances`).
    replicas: u32,
    /// Data volume storage class.
    storage_class: String,
    /// Data volume size.
    storage: String,
    /// PostgreSQL port.
    port: u32,
    /// `whenUnsatisfiable` of the zone spread: `DoNotSchedule` when instances must survive a
    /// zone (tier `critical`, or synchronous replication), else `ScheduleAnyway`.
    zone_spread: String,
    /// The `database` container. The instance pod's limits add up to the namespace quota's
    /// per-instance share: CPU = tier `cpuPerPod` (as `odoo.cpuLimit`), memory =
    /// `database.size / 10` clamped to 2Gi..32Gi (resolve/sizing.rs `quota`), minus the sidecars.
    database: Resources,
    /// `replication-cert-copy`.
    cert_copy: Resources,
    /// `pgbackrest` sidecar.
    pgbackrest: Resources,
    /// `pgbackrest-config` sidecar.
    pgbackrest_config: Resources,
    /// The pgMonitor exporter sidecar.
    exporter: Resources,
    /// Backup Jobs.
    backup_job: Resources,
    /// Patroni `postgresql.parameters`, by name.
    parameters: BTreeMap<String, Value>,
    /// Synchronous replication: Patroni `synchronous_mode` and `synchronous_mode_strict`
    /// (DESIGN §4.3: RPO zero needs strict mode and three instances across zones).
    synchronous: bool,
    /// IRSA role of every PGO ServiceAccount (instances push WAL, Jobs back up).
    role_arn: String,
    /// The Odoo database PGO creates for the Odoo role; none on a shared platform.
    odoo_database: Option<String>,
}

/// One `key=value` line of `pgbackrest.conf`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(super) struct IniOption {
    /// Option name.
    pub(super) key: String,
    /// Value.
    pub(super) value: String,
}

/// One section of `pgbackrest.conf`, options in file order.
#[derive(Debug, Clone, Serialize)]
pub(super) struct IniSection {
    /// `global`, `db`. No command section (`global:archive-push`): PGO's
    /// `spec.backups.pgbackrest.global` cannot carry one, and both renderings must agree.
    pub(super) name: String,
    /// Options.
    pub(super) options: Vec<IniOption>,
}

/// Backup schedules of one repository: 5-field crons in UTC (PGO CronJobs have no time zone).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(super) struct Schedules {
    /// Weekly full backup.
    pub(super) full: String,
    /// Differential backups.
    pub(super) differential: String,
    /// Incremental backups (none when the cadence is daily, or for a second repository whose
    /// shift would collide with them).
    pub(super) incremental: Option<String>,
}

/// One repository as PGO's `repos[]` and `pgbackrest.conf` describe it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct PgoRepo {
    /// `repo1`.
    pub(super) name: String,
    /// `1`, the `repo` label of the pgMonitor backup metrics.
    pub(super) index: usize,
    /// Bucket.
    pub(super) bucket: String,
    /// S3 endpoint.
    pub(super) endpoint: String,
    /// Cloud region.
    pub(super) region: String,
    /// `repoN-path`.
    pub(super) path: String,
    /// The environment variable pgBackRest reads the cipher passphrase from.
    pub(super) cipher_env: String,
    /// Schedules.
    pub(super) schedules: Schedules,
}

/// The pgBackRest configuration of a PGO plant, one structure for both renderings.
#[derive(Debug, Clone, Serialize)]
pub(super) struct PgBackRest {
    /// `db`.
    pub(super) stanza: String,
    /// The cipher Secret projected into PGO's `conf.d`.
    pub(super) secret: String,
    /// `pgbackrest.conf`: `[global]`, `[db]`.
    pub(super) sections: Vec<IniSection>,
    /// `spec.backups.pgbackrest.global`: `[global]` minus the options PGO writes itself from
    /// `repos[].s3` (`repoN-type`, `repoN-s3-bucket`, `-endpoint`, `-region`).
    pub(super) pgo_global: BTreeMap<String, String>,
    /// Repositories.
    pub(super) repos: Vec<PgoRepo>,
    /// `process-max` of backup and restore: 2, or 4 from 100Gi of database (pgBackRest: "the
    /// default 1 is almost never appropriate"; reference baseline 4).
    pub(super) process_max: u32,
    /// `repoN-retention-diff`: the differentials of one full-backup cycle (the days of the
    /// differential schedule), so every point of the newest cycle restores from a differential.
    pub(super) retention_diff: u32,
    /// The minimum pgBackRest version the options were chosen for.
    pub(super) min_version: String,
}

/// One alerting rule.
#[derive(Debug, Clone, Serialize)]
struct AlertRule {
    /// Alert name.
    alert: String,
    /// PromQL; plant text in it is only the namespace, a DNS label (no quote can occur).
    expr: String,
    /// `for`.
    #[serde(rename = "for")]
    for_: String,
    /// `warning` / `critical`.
    severity: String,
    /// Labels besides severity and the plant's (the repository of a backup alert).
    labels: BTreeMap<String, String>,
    /// One line.
    summary: String,
    /// What it means and where the threshold comes from.
    description: String,
}

/// Alert thresholds, seconds, each derived from the plant's objectives and schedules.
#[derive(Debug, Clone, Serialize)]
struct Thresholds {
    /// Per repository (`repo1`…): (warning, critical) backup age. Warning = the longest gap
    /// between two scheduled backups of that repository (the backup interval, or a day when
    /// the repository has no incrementals) + the estimated full-backup duration (the backup that
    /// ends the gap may be a full) + 30 min margin ([`BACKUP_AGE_MARGIN_S`]). Critical = twice
    /// the warning: a whole scheduled backup was missed. Backup age does not bound the RPO (WAL
    /// archiving does); it lengthens replay and so the RTO, which the doubling keeps in view.
    backup_age: BTreeMap<String, (u64, u64)>,
    /// Last archived WAL age, warning: the archive loss window the RPO check relies on
    /// (`archive_timeout` + push latency to the slowest repository).
    wal_age_warning: u64,
    /// Last archived WAL age, critical: max(RPO, loss window): losing the region now would lose
    /// more than the RPO.
    wal_age_critical: u64,
    /// Window of the archive-failure alert: two `archive_timeout`s (a forced segment switch
    /// failed at least once).
    wal_failure_window: u64,
    /// Replication lag (instances > 1): (warning, critical) = (max(RPO/2, 15s), max(RPO, 30s)):
    /// losing the primary now would lose more than the RPO allows.
    replication_lag: Option<(u64, u64)>,
    /// Restore test age: the longest gap between two scheduled restore tests (in their time
    /// zone, DST included) + the run's start deadline + its active deadline.
    restore_test_age: u64,
    /// Filestore backup age (see [`filestore_rule`]); 0 where there is none.
    filestore_backup_age: u64,
}

/// The monitoring of one plant environment.
#[derive(Debug, Clone, Serialize)]
struct Alerts {
    /// PrometheusRule name.
    name: String,
    /// Whether a PodMonitor scrapes PGO's exporter sidecars (PGO plants).
    pod_monitor: bool,
    /// The runbook in the GitOps repository: `runbooks/<plant>.md`; a shared platform has none
    /// of its own, its alerts point at the runbooks of its tenants (`runbooks/`).
    runbook: String,
    /// Rules, in a fixed order.
    rules: Vec<AlertRule>,
    /// The numbers behind them.
    thresholds: Thresholds,
}

/// The scheduled restore test.
#[derive(Debug, Clone, Serialize)]
struct RestoreTest {
    /// `pgo` (a throw-away PostgresCluster) or `rds` (a new RDS instance).
    kind: String,
    /// CronJob and ServiceAccount name.
    name: String,
    /// Cron in `timezone`.
    schedule: String,
    /// IANA zone of the schedule.
    timezone: String,
    /// `startingDeadlineSeconds`.
    starting_deadline_s: u64,
    /// `activeDeadlineSeconds`: twice the RTO estimate (the test runs with a small share of the
    /// namespace quota, not production resources) + 30 min.
    active_deadline_s: u64,
    /// How long the script waits for the restore: the active deadline minus 15 min for cleanup.
    timeout_s: u64,
    /// Runner image under the fleet registry.
    image_path: String,
    /// Runner user.
    uid: u32,
    /// checkov exceptions (`CHECK=reason`), written as `checkov.io/skipN` annotations.
    scanner_exceptions: Vec<String>,
    /// Runner resources.
    resources: Resources,
    /// IRSA role: read-only repository access for PGO, RDS restore rights for RDS.
    role_arn: String,
    /// The throw-away PostgresCluster (PGO), as JSON handed to `kubectl create`.
    manifest: Option<String>,
    /// The SQL smoke check (PGO).
    smoke_sql: String,
    /// Database the smoke check runs in.
    database: String,
    /// RDS: the instance restored from.
    source: Option<String>,
    /// RDS: the throw-away instance.
    target: Option<String>,
    /// RDS: cloud region.
    region: String,
}

/// The Job that makes the Odoo database exist and belong to the Odoo role.
#[derive(Debug, Clone, Serialize)]
struct SetupJob {
    /// Object name.
    name: String,
    /// Argo CD hook: `PreSync` for a shared tenant (the platform database exists), `Sync` in
    /// wave 1 for PGO (after the PostgresCluster, before Odoo).
    hook: String,
    /// Sync wave.
    wave: String,
    /// Shared tenant: also revoke the database from PUBLIC.
    shared: bool,
    /// Image under the fleet registry (`postgres:<major>-alpine`).
    image_path: String,
    /// Its user.
    uid: u32,
    /// checkov exceptions (`CHECK=reason`), written as `checkov.io/skipN` annotations.
    scanner_exceptions: Vec<String>,
    /// The database (the tenant's host for `shared`).
    database: String,
    /// Its owner.
    owner: String,
    /// Superuser Secret.
    secret: String,
    /// Where its keys are mounted.
    secret_dir: String,
    /// `activeDeadlineSeconds`: PGO may still be creating the cluster.
    deadline_s: u64,
    /// Resources.
    resources: Resources,
}

/// `2.53.1` → (2, 53, 1).
fn version(v: &str) -> (u32, u32, u32) {
    let mut it = v.split('.').map(|x| x.parse::<u32>().unwrap_or(0));
    (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    )
}

/// pgBackRest options (repo options without their index) newer than 2.45, the oldest version
/// blueprint renders for, with the release that accepts them (pgbackrest.md §6). Options not
/// listed are accepted by 2.45: `repo-s3-key-type=web-id` (2.36), `repo-bundle` (2.39),
/// `compress-type=zst` and `repo-retention-full-type=time` (2.27).
const NEWER_OPTIONS: &[(&str, (u32, u32, u32))] = &[("repo-block", (2, 46, 0))];

/// A repository option without its index (`repo1-block` → `repo-block`); others as they are.
fn generic(option: &str) -> String {
    match option.strip_prefix("repo") {
        Some(rest) => format!(
            "repo{}",
            rest.trim_start_matches(|c: char| c.is_ascii_digit())
        ),
        None => option.to_string(),
    }
}

/// Whether pgBackRest `min` accepts `option` (`repo1-block` is looked up as `repo-block`).
pub(super) fn accepts(min: &str, option: &str) -> bool {
    let generic = generic(option);
    NEWER_OPTIONS
        .iter()
        .find(|(o, _)| *o == generic)
        .is_none_or(|(_, since)| version(min) >= *since)
}

/// `m h * * dow` shifted by `hours`, the day of week following midnight; `None` for any other
/// form (several hours together with a day-of-week list, ranges, steps).
fn shift_cron(cron: &str, hours: u32) -> Option<String> {
    let f: Vec<&str> = cron.split_whitespace().collect();
    let [m, h, dom, month, dow] = f.as_slice() else {
        return None;
    };
    if *dom != "*" || *month != "*" || m.parse::<u32>().is_err() {
        return None;
    }
    let hs: Vec<u32> = h
        .split(',')
        .map(|x| x.parse::<u32>().ok().filter(|v| *v < 24))
        .collect::<Option<_>>()?;
    if *dow == "*" {
        let mut shifted: Vec<u32> = hs.iter().map(|x| (x + hours) % 24).collect();
        shifted.sort_unstable();
        shifted.dedup();
        let list: Vec<String> = shifted.iter().map(u32::to_string).collect();
        return Some(format!("{m} {} * * *", list.join(",")));
    }
    let [hour] = hs.as_slice() else {
        return None;
    };
    let days: Vec<u32> = dow
        .split(',')
        .map(|x| x.parse::<u32>().ok().filter(|v| *v <= 7))
        .collect::<Option<_>>()?;
    let carry = (hour + hours) / 24;
    let mut days: Vec<u32> = days.iter().map(|d| (d + carry) % 7).collect();
    days.sort_unstable();
    days.dedup();
    let list: Vec<String> = days.iter().map(u32::to_string).collect();
    Some(format!(
        "{m} {} * * {}",
        (hour + hours) % 24,
        list.join(",")
    ))
}

/// Days of week in a cron's last field (`*` → 7).
fn weekdays(cron: &str) -> Option<u32> {
    let dow = cron.split_whitespace().nth(4)?;
    if dow == "*" {
        return Some(7);
    }
    u32::try_from(dow.split(',').count()).ok()
}

fn parse_cron(s: &str) -> Option<croner::Cron> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .year(croner::parser::Year::Disallowed)
        .build()
        .parse(s)
        .ok()
}

/// A fixed Monday, so that derived numbers do not depend on the clock.
fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The longest gap, seconds, between two consecutive runs of any of `crons` over `days` days
/// from [`epoch`] in zone `tz`; `None` when a cron does not parse or fewer than two runs occur.
fn longest_gap<Z: TimeZone>(crons: &[&str], tz: &Z, days: i64) -> Option<u64> {
    let start = epoch().with_timezone(tz);
    let end = start.clone() + chrono::Duration::days(days);
    let mut times: Vec<i64> = Vec::new();
    for c in crons {
        let cron = parse_cron(c)?;
        times.extend(
            cron.iter_after(start.clone())
                .take_while(|t| *t < end)
                .take(20_000)
                .map(|t| t.timestamp()),
        );
    }
    times.sort_unstable();
    times.dedup();
    times
        .windows(2)
        .filter_map(|w| u64::try_from(w[1] - w[0]).ok())
        .max()
}

/// The PGO restore-test role: read-only access to the repositories.
fn role_arn(ctx: &PlantCtx, role: &str) -> String {
    let prefix = ctx
        .names
        .backup_role_arn
        .strip_suffix(&ctx.names.backup_role)
        .unwrap_or("");
    format!("{prefix}{role}")
}

/// The options of `[global]` for one repository, in file order.
fn repo_options(
    repo: &super::RepoCtx,
    retention_full_days: u64,
    retention_diff: u32,
) -> Vec<(String, String)> {
    let n = &repo.name;
    vec![
        (format!("{n}-type"), "s3".into()),
        (format!("{n}-path"), repo.path.clone()),
        (format!("{n}-s3-bucket"), repo.bucket.clone()),
        (format!("{n}-s3-endpoint"), repo.endpoint.clone()),
        (format!("{n}-s3-region"), repo.cloud_region.clone()),
        (format!("{n}-s3-key-type"), "web-id".into()),
        (format!("{n}-cipher-type"), "aes-256-cbc".into()),
        (format!("{n}-retention-full-type"), "time".into()),
        (
            format!("{n}-retention-full"),
            retention_full_days.to_string(),
        ),
        (format!("{n}-retention-diff"), retention_diff.to_string()),
        (format!("{n}-bundle"), "y".into()),
        (format!("{n}-block"), "y".into()),
    ]
}

/// Options PGO writes itself from `repos[].s3` (pgbackrest/config.go `getExternalRepoConfigs`).
fn pgo_writes(key: &str) -> bool {
    matches!(
        generic(key).as_str(),
        "repo-type" | "repo-s3-bucket" | "repo-s3-endpoint" | "repo-s3-region"
    )
}

fn pgbackrest(ctx: &PlantCtx) -> PgBackRest {
    let b = &ctx.backup;
    let min = ctx.database.min_pgbackrest.clone();
    let process_max = if ctx.database.size_bytes >= 100 * GI {
        4
    } else {
        2
    };
    let retention_diff = weekdays(&b.diff_schedule).unwrap_or(6);
    // Repositories after the first back up later by the full backup's estimated duration, in
    // whole hours, so that two backups of the stanza never run together (before 2.53 pgBackRest
    // refuses a second concurrent backup); their incrementals only when that shift stays
    // inside the interval, so that they cannot meet the first repository's.
    let shift_h = u32::try_from(b.full_duration_s.div_ceil(3600).clamp(1, 23)).unwrap_or(1);
    let incr = (!b.incr_schedule.is_empty()).then(|| b.incr_schedule.clone());
    let repos: Vec<PgoRepo> = b
        .repos
        .iter()
        .map(|r| {
            let schedules = if r.index == 1 {
                Schedules {
                    full: b.full_schedule.clone(),
                    differential: b.diff_schedule.clone(),
                    incremental: incr.clone(),
                }
            } else {
                let shift = |c: &str| shift_cron(c, shift_h).unwrap_or_else(|| c.to_string());
                Schedules {
                    full: shift(&b.full_schedule),
                    differential: shift(&b.diff_schedule),
                    incremental: incr
                        .as_ref()
                        .filter(|_| u64::from(shift_h) * 3600 < b.interval_s)
                        .map(|c| shift(c)),
                }
            };
            PgoRepo {
                name: r.name.clone(),
                index: r.index,
                bucket: r.bucket.clone(),
                endpoint: r.endpoint.clone(),
                region: r.cloud_region.clone(),
                path: r.path.clone(),
                cipher_env: format!("PGBACKREST_REPO{}_CIPHER_PASS", r.index),
                schedules,
            }
        })
        .collect();
    let mut global: Vec<(String, String)> = Vec::new();
    for r in &b.repos {
        global.extend(repo_options(r, b.retention_full_days, retention_diff));
    }
    global.extend(
        [
            ("archive-async", "y".to_string()),
            ("compress-type", "zst".into()),
            ("delta", "y".into()),
            ("log-level-console", "info".into()),
            ("log-level-file", "off".into()),
            ("process-max", process_max.to_string()),
            ("spool-path", SPOOL_PATH.into()),
            ("start-fast", "y".into()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let keep =
        |(k, v): (String, String)| accepts(&min, &k).then_some(IniOption { key: k, value: v });
    let global: Vec<IniOption> = global.into_iter().filter_map(keep).collect();
    let pgo_global = global
        .iter()
        .filter(|o| !pgo_writes(&o.key))
        .map(|o| (o.key.clone(), o.value.clone()))
        .collect();
    let opt = |k: &str, v: String| IniOption {
        key: k.to_string(),
        value: v,
    };
    let sections = vec![
        IniSection {
            name: "global".into(),
            options: global,
        },
        IniSection {
            name: STANZA.into(),
            options: vec![
                opt(
                    "pg1-path",
                    format!("/pgdata/pg{}", ctx.database.postgres_version),
                ),
                opt("pg1-port", PORT.to_string()),
                opt("pg1-socket-path", SOCKET_PATH.into()),
            ],
        },
    ];
    PgBackRest {
        stanza: STANZA.into(),
        secret: PGBACKREST_SECRET.into(),
        sections,
        pgo_global,
        repos,
        process_max,
        retention_diff,
        min_version: min,
    }
}

/// The PostgresCluster, sized within the quota's per-instance share.
fn postgres(ctx: &PlantCtx, p: &ResolvedPlant) -> Postgres {
    let d = &ctx.database;
    let cpu_budget = p.odoo.cpu_limit_m.value;
    let mem_budget = (d.size_bytes / 10).clamp(2 * GI, 32 * GI);
    let sidecars = [EXPORTER, CERT_COPY, PGBACKREST_CONFIG, PGBACKREST_SIDECAR];
    let side_cpu: u64 = sidecars.iter().map(|s| s.2).sum();
    let side_mem: u64 = sidecars.iter().map(|s| s.3).sum();
    let db_cpu = cpu_budget.saturating_sub(side_cpu).max(500);
    let db_mem = mem_budget.saturating_sub(side_mem).max(GI);
    let mut parameters: BTreeMap<String, Value> = BTreeMap::new();
    parameters.insert("max_connections".into(), json!(d.max_connections));
    parameters.insert(
        "superuser_reserved_connections".into(),
        json!(d.superuser_reserved_connections),
    );
    if d.postgres_version >= 16 {
        parameters.insert("reserved_connections".into(), json!(d.reserved_connections));
    }
    parameters.insert(
        "archive_timeout".into(),
        json!(ctx.backup.archive_timeout_s),
    );
    // A quarter of the container's memory for shared buffers, three quarters assumed cached.
    parameters.insert(
        "shared_buffers".into(),
        json!(format!("{}MB", db_mem / 4 / MI)),
    );
    parameters.insert(
        "effective_cache_size".into(),
        json!(format!("{}MB", db_mem * 3 / 4 / MI)),
    );
    if d.synchronous {
        parameters.insert("synchronous_commit".into(), json!("on"));
    }
    Postgres {
        instance_set: INSTANCE_SET.into(),
        replicas: d.instances,
        storage_class: STORAGE_CLASS.into(),
        storage: d.storage.clone(),
        port: PORT,
        zone_spread: if ctx.tier == "critical" || d.synchronous {
            "DoNotSchedule".into()
        } else {
            "ScheduleAnyway".into()
        },
        database: Resources::new(db_cpu / 2, db_mem, db_cpu, db_mem),
        cert_copy: res(CERT_COPY),
        pgbackrest: res(PGBACKREST_SIDECAR),
        pgbackrest_config: res(PGBACKREST_CONFIG),
        exporter: res(EXPORTER),
        backup_job: res(BACKUP_JOB),
        parameters,
        synchronous: d.synchronous,
        role_arn: ctx.names.backup_role_arn.clone(),
        odoo_database: (!ctx.platform).then(|| ctx.names.db_name.clone()),
    }
}

/// Twice the RTO estimate (the test runs on a small share of the quota) + 30 min.
fn restore_deadline(ctx: &PlantCtx) -> u64 {
    ctx.backup.rto_estimate_s.saturating_mul(2) + 1800
}

/// Restore-test age threshold (see [`Thresholds::restore_test_age`]).
fn restore_test_age(ctx: &PlantCtx) -> u64 {
    let b = &ctx.backup;
    let tz: chrono_tz::Tz = b.restore_test_timezone.parse().unwrap_or(chrono_tz::UTC);
    // 400 days cover a monthly or yearly-irregular schedule; 31 days when it cannot be read.
    let period = longest_gap(&[b.restore_test_schedule.as_str()], &tz, 400).unwrap_or(31 * 86_400);
    period + RESTORE_STARTING_DEADLINE_S + restore_deadline(ctx)
}

/// How alert descriptions name the plant environment (or the shared platform).
fn who(ctx: &PlantCtx) -> String {
    if ctx.platform {
        format!("the shared platform of cluster {}", ctx.name)
    } else {
        format!("{}/{}", ctx.name, ctx.env)
    }
}

fn runbook(ctx: &PlantCtx) -> String {
    if ctx.platform {
        "runbooks/".into()
    } else {
        format!("runbooks/{}.md", ctx.name)
    }
}

/// The PromQL selector of the plant's namespace.
fn ns(ctx: &PlantCtx) -> String {
    format!("namespace=\"{}\"", ctx.names.namespace)
}

fn rule(
    alert: &str,
    expr: String,
    for_: u64,
    severity: &str,
    summary: &str,
    description: String,
) -> AlertRule {
    AlertRule {
        alert: alert.into(),
        expr,
        for_: fmt_duration(for_),
        severity: severity.into(),
        labels: BTreeMap::new(),
        summary: summary.into(),
        description,
    }
}

/// `time() - last success > age`, or, before any success, `time() - creation > age`, of the
/// CronJob `cronjob` in the plant's namespace (kube-state-metrics).
fn cronjob_age_expr(ctx: &PlantCtx, cronjob: &str, age: u64) -> String {
    let sel = format!("{}, cronjob=\"{cronjob}\"", ns(ctx));
    format!(
        "(time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{{{sel}}}) > {age}) or (time() - max by (namespace, cronjob) (kube_cronjob_created{{{sel}}}) > {age} unless on (namespace, cronjob) kube_cronjob_status_last_successful_time{{{sel}}})"
    )
}

/// The filestore backup's alert: the CronJob controller records `status.lastSuccessfulTime`
/// only when a run's `aws s3 sync` completed. Threshold: the longest gap between scheduled
/// runs + start deadline + run deadline.
fn filestore_rule(ctx: &PlantCtx, f: &FilestoreBackup, gap: u64) -> (AlertRule, u64) {
    let age = gap + f.starting_deadline_s + f.active_deadline_s;
    let r = rule(
        "FilestoreBackupTooOld",
        cronjob_age_expr(ctx, FILESTORE_BACKUP, age),
        0,
        "warning",
        "No successful filestore backup within the expected period",
        format!(
            "The last successful filestore backup of {} ended {{{{ $value | humanizeDuration }}}} ago; expected at most {} (longest gap between scheduled backups {} + start deadline {} + run deadline {}). Attachments written since are not in the backup bucket.",
            who(ctx),
            fmt_duration(age),
            fmt_duration(gap),
            fmt_duration(f.starting_deadline_s),
            fmt_duration(f.active_deadline_s)
        ),
    );
    (r, age)
}

/// One cron for the union of `crons` (5-field, UTC, day of month and month `*`): their fire
/// times over a week must share one minute, and every day that has any must have the same
/// hours; `None` otherwise.
fn union_cron(crons: &[&str]) -> Option<String> {
    use chrono::{Datelike, Timelike};
    use std::collections::BTreeSet;
    let start = epoch();
    let end = start + chrono::Duration::days(7);
    let mut minutes = BTreeSet::new();
    let mut by_day: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    for c in crons {
        let f: Vec<&str> = c.split_whitespace().collect();
        if f.len() != 5 || f[2] != "*" || f[3] != "*" {
            return None;
        }
        for t in parse_cron(c)?
            .iter_after(start)
            .take_while(|t| *t < end)
            .take(20_000)
        {
            minutes.insert(t.minute());
            by_day
                .entry(t.weekday().num_days_from_sunday())
                .or_default()
                .insert(t.hour());
        }
    }
    let [minute] = minutes.into_iter().collect::<Vec<_>>()[..] else {
        return None;
    };
    let hours = by_day.values().next()?.clone();
    if by_day.values().any(|h| *h != hours) {
        return None;
    }
    let list =
        |xs: &mut dyn Iterator<Item = u32>| xs.map(|x| x.to_string()).collect::<Vec<_>>().join(",");
    let days = if by_day.len() == 7 {
        "*".to_string()
    } else {
        list(&mut by_day.keys().copied())
    };
    Some(format!(
        "{minute} {} * * {days}",
        list(&mut hours.into_iter())
    ))
}

/// The S3 key prefix of the filestore copy in repo1's bucket, with its final `/`:
/// `filestore/<plant>/<env>/`, or `filestore/platform/<cluster>/` for a shared platform (the
/// runbook family restores from it; a `shared` tenant's files are under its platform's).
pub(super) fn filestore_prefix(ctx: &PlantCtx) -> String {
    if ctx.platform {
        format!(
            "filestore/platform/{}/",
            ctx.cluster.as_deref().unwrap_or(&ctx.name)
        )
    } else {
        format!("filestore/{}/{}/", ctx.name, ctx.env)
    }
}

/// The filestore backup of an environment that runs its own Odoo; `None` without a repository.
fn filestore_backup(ctx: &PlantCtx, prefix: &str) -> Option<(FilestoreBackup, u64)> {
    let b = &ctx.backup;
    let repo1 = b.repos.iter().find(|r| r.index == 1)?;
    let mut crons = vec![b.full_schedule.as_str(), b.diff_schedule.as_str()];
    if !b.incr_schedule.is_empty() {
        crons.push(b.incr_schedule.as_str());
    }
    let schedule = union_cron(&crons).unwrap_or_else(|| {
        if b.incr_schedule.is_empty() {
            b.diff_schedule.clone()
        } else {
            b.incr_schedule.clone()
        }
    });
    let gap = longest_gap(&[schedule.as_str()], &Utc, 14).unwrap_or(86_400);
    Some((
        FilestoreBackup {
            name: FILESTORE_BACKUP.into(),
            schedule,
            starting_deadline_s: FILESTORE_STARTING_DEADLINE_S,
            active_deadline_s: gap.max(3600),
            image_path: AWS_CLI_IMAGE.into(),
            scanner_exceptions: vec![SKIP_FILESTORE_UID.into(), SKIP_RUNNER_DIGEST.into()],
            resources: Resources::new(50, 128 * MI, 500, 512 * MI),
            role_arn: ctx.names.backup_role_arn.clone(),
            mount: DATA_DIR.into(),
            source: FILESTORE_DIR.into(),
            destination: format!("s3://{}/{prefix}", repo1.bucket),
            region: repo1.cloud_region.clone(),
        },
        gap,
    ))
}

/// Restore-test alerts, read from kube-state-metrics: the CronJob controller sets
/// `status.lastSuccessfulTime` only when a Job of the CronJob completes, and the Job completes
/// only when the restore and the smoke check passed.
fn restore_rules(ctx: &PlantCtx, age: u64, deadline: u64) -> Vec<AlertRule> {
    let sel = format!("{}, cronjob=\"{RESTORE_TEST}\"", ns(ctx));
    vec![
        rule(
            "RestoreTestTooOld",
            cronjob_age_expr(ctx, RESTORE_TEST, age),
            0,
            "warning",
            "No successful restore test within the expected period",
            format!(
                "The last successful restore test of {} ended {{{{ $value | humanizeDuration }}}} ago; expected at most {} (longest gap between scheduled tests + start deadline {} + run deadline {}).",
                who(ctx),
                fmt_duration(age),
                fmt_duration(RESTORE_STARTING_DEADLINE_S),
                fmt_duration(deadline)
            ),
        ),
        rule(
            "RestoreTestFailed",
            // The last run was scheduled longer ago than it may take (start deadline + run
            // deadline) and has not succeeded since: no success after it, or none ever.
            format!(
                "(time() - max by (namespace, cronjob) (kube_cronjob_status_last_schedule_time{{{sel}}}) > {finished}) and on (namespace, cronjob) ((max by (namespace, cronjob) (kube_cronjob_status_last_schedule_time{{{sel}}}) > on (namespace, cronjob) max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{{{sel}}})) or (max by (namespace, cronjob) (kube_cronjob_status_last_schedule_time{{{sel}}}) unless on (namespace, cronjob) kube_cronjob_status_last_successful_time{{{sel}}}))",
                finished = deadline + RESTORE_STARTING_DEADLINE_S
            ),
            0,
            "critical",
            "The last restore test did not succeed",
            format!(
                "The restore test of {} scheduled last has not succeeded within its start deadline {} and run deadline {}: the backups are not proven restorable. Read the logs of the last restore-test Job.",
                who(ctx),
                fmt_duration(RESTORE_STARTING_DEADLINE_S),
                fmt_duration(deadline)
            ),
        ),
    ]
}

fn pgo_alerts(ctx: &PlantCtx, pgb: &PgBackRest, restore_age: u64, deadline: u64) -> Alerts {
    let b = &ctx.backup;
    let r = &ctx.recovery;
    let sel = ns(ctx);
    let mut rules = Vec::new();
    let mut backup_age = BTreeMap::new();
    for repo in &pgb.repos {
        // The full and the differentials back up once a day at one time, the incrementals
        // every interval in between (resolve/backup.rs `schedule`; a second repository's are
        // shifted as a whole): the longest gap is the interval, or a day without incrementals.
        let gap = if repo.schedules.incremental.is_some() {
            b.interval_s
        } else {
            86_400
        };
        let warning = gap + b.full_duration_s + BACKUP_AGE_MARGIN_S;
        let critical = 2 * warning;
        backup_age.insert(repo.name.clone(), (warning, critical));
        let expr = |t: u64| {
            format!(
                "min by (namespace, repo) (ccp_backrest_last_incr_backup_time_since_completion_seconds{{{sel}, repo=\"{}\"}}) > {t}",
                repo.index
            )
        };
        let why = format!(
            "longest gap between scheduled backups of {} {} + full backup estimate {} + margin {}",
            repo.name,
            fmt_duration(gap),
            fmt_duration(b.full_duration_s),
            fmt_duration(BACKUP_AGE_MARGIN_S)
        );
        let first = rules.len();
        rules.push(rule(
            "PostgresBackupTooOld",
            expr(warning),
            0,
            "warning",
            "The newest backup is older than the schedule allows",
            format!(
                "The newest backup of {} in {} completed {{{{ $value | humanizeDuration }}}} ago; threshold {} ({why}).",
                who(ctx),
                repo.name,
                fmt_duration(warning)
            ),
        ));
        rules.push(rule(
            "PostgresBackupMissing",
            expr(critical),
            0,
            "critical",
            "A scheduled backup was missed",
            format!(
                "The newest backup of {} in {} completed {{{{ $value | humanizeDuration }}}} ago, more than twice the expected {}: restores replay ever more WAL and the RTO estimate {} no longer holds.",
                who(ctx),
                repo.name,
                fmt_duration(warning),
                b.rto_estimate
            ),
        ));
        // A metric that is never scraped would keep both alerts silent: its absence for longer
        // than the warning threshold is an alert of its own (exporter not scraped, or a
        // pgMonitor version without the repository label).
        rules.push(rule(
            "PostgresBackupMetricsAbsent",
            format!(
                "absent(ccp_backrest_last_incr_backup_time_since_completion_seconds{{{sel}, repo=\"{}\"}})",
                repo.index
            ),
            warning,
            "warning",
            "No backup metric for a repository",
            format!(
                "Prometheus has had no backup metric of {} for {} for {}: the exporter is not scraped, or no backup ever completed there; the backup-age alerts cannot fire.",
                who(ctx),
                repo.name,
                fmt_duration(warning)
            ),
        ));
        for r in &mut rules[first..] {
            r.labels.insert("repo".into(), repo.name.clone());
        }
    }
    let wal_warning = b.archive_loss_window_s;
    let wal_critical = r.rpo_s.max(b.archive_loss_window_s);
    let wal_window = 2 * b.archive_timeout_s;
    let age_expr =
        |t: u64| format!("min by (namespace) (pg_stat_archiver_last_archive_age{{{sel}}}) > {t}");
    // The warning only when it comes before the critical (RPO ≤ loss window makes them one).
    if wal_warning < wal_critical {
        rules.push(rule(
        "PostgresWalArchiveLate",
        age_expr(wal_warning),
        300,
        "warning",
        "WAL archiving is slower than designed",
        format!(
            "The last WAL segment of {} was archived {{{{ $value | humanizeDuration }}}} ago; archiving should keep this under {} (archive_timeout {} + push latency).",
            who(ctx),
            fmt_duration(wal_warning),
            fmt_duration(b.archive_timeout_s)
        ),
    ));
    }
    rules.push(rule(
        "PostgresWalArchiveBeyondRpo",
        age_expr(wal_critical),
        60,
        "critical",
        "Losing the region now would lose more than the RPO",
        format!(
            "The last WAL segment of {} was archived {{{{ $value | humanizeDuration }}}} ago, beyond the RPO {} (threshold {}).",
            who(ctx),
            r.rpo,
            fmt_duration(wal_critical)
        ),
    ));
    rules.push(rule(
        "PostgresWalArchiveFailing",
        format!(
            "sum by (namespace) (increase(pg_stat_archiver_failed_count{{{sel}}}[{}])) > 0",
            fmt_duration(wal_window)
        ),
        0,
        "warning",
        "archive_command failed",
        format!(
            "PostgreSQL of {} failed to archive WAL within the last {} (two archive_timeouts): check the pgBackRest log of the primary and the object storage.",
            who(ctx),
            fmt_duration(wal_window)
        ),
    ));
    rules.push(rule(
        "PostgresWalArchiveMetricsAbsent",
        format!("absent(pg_stat_archiver_last_archive_age{{{sel}}})"),
        3600,
        "warning",
        "No WAL archiving metric",
        format!(
            "Prometheus has had no WAL archiving metric of {} for an hour: the exporter is not scraped or nothing was archived since the primary started; the RPO alerts cannot fire.",
            who(ctx)
        ),
    ));
    let replication_lag = (ctx.database.instances > 1).then(|| {
        let critical = r.rpo_s.max(30);
        let warning = (r.rpo_s / 2).max(15);
        let expr = |t: u64| {
            format!("max by (namespace, pod) (ccp_replication_lag_replay_time{{{sel}}}) > {t}")
        };
        rules.push(rule(
            "PostgresReplicationLagging",
            expr(warning),
            120,
            "warning",
            "A standby lags behind the primary",
            format!(
                "The standby {{{{ $labels.pod }}}} of {} replays {{{{ $value | humanizeDuration }}}} behind the primary (threshold {}, half the RPO).",
                who(ctx),
                fmt_duration(warning)
            ),
        ));
        rules.push(rule(
            "PostgresReplicationBeyondRpo",
            expr(critical),
            120,
            "critical",
            "Losing the primary now would lose more than the RPO",
            format!(
                "The standby {{{{ $labels.pod }}}} of {} replays {{{{ $value | humanizeDuration }}}} behind the primary, beyond the RPO {} (threshold {}).",
                who(ctx),
                r.rpo,
                fmt_duration(critical)
            ),
        ));
        (warning, critical)
    });
    rules.extend(restore_rules(ctx, restore_age, deadline));
    Alerts {
        name: "database".into(),
        pod_monitor: true,
        runbook: runbook(ctx),
        rules,
        thresholds: Thresholds {
            backup_age,
            wal_age_warning: wal_warning,
            wal_age_critical: wal_critical,
            wal_failure_window: wal_window,
            replication_lag,
            restore_test_age: restore_age,
            filestore_backup_age: 0,
        },
    }
}

fn rds_alerts(ctx: &PlantCtx, restore_age: u64, deadline: u64) -> Alerts {
    Alerts {
        name: "database".into(),
        pod_monitor: false,
        runbook: runbook(ctx),
        rules: restore_rules(ctx, restore_age, deadline),
        thresholds: Thresholds {
            backup_age: BTreeMap::new(),
            wal_age_warning: 0,
            wal_age_critical: 0,
            wal_failure_window: 0,
            replication_lag: None,
            restore_test_age: restore_age,
            filestore_backup_age: 0,
        },
    }
}

fn res_json(r: &Resources) -> Value {
    serde_json::to_value(r).unwrap_or(Value::Null)
}

/// The throw-away PostgresCluster of the restore test: restored from `repo1` with the
/// production repository options, `--type=immediate --target-action=promote
/// --archive-mode=off` (pgbackrest.md §3), no `spec.backups` (it archives nowhere), a
/// read-only IRSA role, the cluster's default storage class (throw-away volumes must not be
/// retained), and resources inside the quota's restore-test share (1 CPU, 2Gi with the runner).
fn restore_manifest(ctx: &PlantCtx, pgb: &PgBackRest, role_arn: &str) -> String {
    let repo1 = pgb.repos.iter().find(|r| r.index == 1);
    let global: Map<String, Value> = pgb
        .pgo_global
        .iter()
        .filter(|(k, _)| !k.starts_with("repo") || k.starts_with("repo1-"))
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let mut labels: Map<String, Value> = ctx
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    labels.insert("blueprint.dev/restore-test".into(), json!("true"));
    let db = Resources::new(250, 512 * MI, 700, 1536 * MI);
    let manifest = json!({
        "apiVersion": "postgres-operator.crunchydata.com/v1beta1",
        "kind": "PostgresCluster",
        "metadata": {"name": RESTORE_TEST, "labels": labels},
        "spec": {
            "metadata": {
                "labels": labels,
                "annotations": {"eks.amazonaws.com/role-arn": role_arn},
            },
            "postgresVersion": ctx.database.postgres_version,
            "port": PORT,
            "dataSource": {"pgbackrest": {
                "stanza": pgb.stanza,
                "configuration": [{"secret": {"name": pgb.secret}}],
                "global": global,
                "repo": {
                    "name": repo1.map_or("repo1", |r| r.name.as_str()),
                    "s3": {
                        "bucket": repo1.map(|r| r.bucket.as_str()),
                        "endpoint": repo1.map(|r| r.endpoint.as_str()),
                        "region": repo1.map(|r| r.region.as_str()),
                    },
                },
                "options": ["--type=immediate", "--target-action=promote", "--archive-mode=off"],
                "resources": res_json(&db),
            }},
            "instances": [{
                "name": INSTANCE_SET,
                "replicas": 1,
                "dataVolumeClaimSpec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": ctx.database.storage}},
                },
                "resources": res_json(&db),
                "sidecars": {"replicaCertCopy": {"resources": res_json(&res(CERT_COPY))}},
            }],
        },
    });
    serde_json::to_string(&manifest).unwrap_or_default()
}

/// Values only these templates need.
pub(super) fn derive(ctx: &mut PlantCtx, p: &ResolvedPlant) {
    let shared = ctx.tenancy == "shared";
    let managed = ctx.database.managed;
    let pgo = !shared && !managed;
    let deadline = restore_deadline(ctx);
    let age = restore_test_age(ctx);
    let runner = |image: &str, uid: u32, resources: Resources, role: String| RestoreTest {
        kind: if managed { "rds".into() } else { "pgo".into() },
        name: RESTORE_TEST.into(),
        schedule: ctx.backup.restore_test_schedule.clone(),
        timezone: ctx.backup.restore_test_timezone.clone(),
        starting_deadline_s: RESTORE_STARTING_DEADLINE_S,
        active_deadline_s: deadline,
        timeout_s: deadline - RESTORE_CLEANUP_S,
        image_path: image.into(),
        uid,
        // The PGO variant adds its API token's exception.
        scanner_exceptions: vec![SKIP_RUNNER_DIGEST.into()],
        resources,
        role_arn: role,
        manifest: None,
        smoke_sql: if ctx.platform {
            SMOKE_SQL_PLATFORM.into()
        } else {
            SMOKE_SQL.into()
        },
        database: if ctx.platform {
            "postgres".into()
        } else {
            ctx.names.db_name.clone()
        },
        source: None,
        target: None,
        region: ctx.cloud_region.clone(),
    };
    let setup = |name: String, hook: &str, wave: &str| SetupJob {
        name,
        hook: hook.into(),
        wave: wave.into(),
        shared,
        image_path: format!("postgres:{}-alpine", ctx.database.postgres_version),
        uid: RUNNER_UID,
        scanner_exceptions: vec![SKIP_RUNNER_DIGEST.into()],
        database: ctx.names.db_name.clone(),
        owner: ctx.names.db_user.clone(),
        secret: SUPERUSER_SECRET.into(),
        secret_dir: SUPERUSER_SECRET_DIR.into(),
        deadline_s: 1800,
        resources: Resources::new(10, 32 * MI, 100, 128 * MI),
    };
    let mut derived = if pgo {
        let pgb = pgbackrest(ctx);
        let restore_role = role_arn(ctx, &format!("{}-restore-test", ctx.names.backup_role));
        let mut test = runner(
            KUBECTL_IMAGE,
            RUNNER_UID,
            Resources::new(20, 32 * MI, 100, 128 * MI),
            restore_role.clone(),
        );
        test.manifest = Some(restore_manifest(ctx, &pgb, &restore_role));
        test.scanner_exceptions.insert(0, SKIP_RESTORE_TOKEN.into());
        Derived {
            postgres: Some(postgres(ctx, p)),
            alerts: Some(pgo_alerts(ctx, &pgb, age, deadline)),
            pgbackrest: Some(pgb),
            restore_test: Some(test),
            // A shared platform has no database of its own: its tenants' Jobs create theirs.
            setup: (!ctx.platform).then(|| setup("prepare-database".into(), "Sync", "1")),
            filestore_backup: None,
            filestore_prefix: None,
        }
    } else if managed {
        let instance = format!("{}-{}", ctx.name, ctx.env);
        let role = role_arn(ctx, &format!("{instance}-rds-restore-test"));
        let mut test = runner(
            AWS_CLI_IMAGE,
            RUNNER_UID,
            Resources::new(20, 64 * MI, 200, 256 * MI),
            role,
        );
        test.target = Some(format!("{instance}-{RESTORE_TEST}"));
        test.source = Some(instance);
        Derived {
            postgres: None,
            pgbackrest: None,
            alerts: Some(rds_alerts(ctx, age, deadline)),
            restore_test: Some(test),
            setup: None,
            filestore_backup: None,
            filestore_prefix: None,
        }
    } else {
        Derived {
            postgres: None,
            pgbackrest: None,
            alerts: None,
            restore_test: None,
            setup: Some(setup(
                format!("{}create-database", ctx.names.prefix),
                "PreSync",
                "-1",
            )),
            filestore_backup: None,
            filestore_prefix: None,
        }
    };
    // Every environment that runs its own Odoo backs its filestore up (a `shared` tenant's
    // files are a directory of its platform's filestore, backed up with it).
    if !shared {
        let prefix = filestore_prefix(ctx);
        if let Some((f, gap)) = filestore_backup(ctx, &prefix) {
            if let Some(a) = derived.alerts.as_mut() {
                let (r, age) = filestore_rule(ctx, &f, gap);
                a.rules.push(r);
                a.thresholds.filestore_backup_age = age;
            }
            derived.filestore_backup = Some(f);
        }
        derived.filestore_prefix = Some(prefix);
    }
    if let Ok(v) = serde_json::to_value(derived) {
        ctx.derived.insert("database".into(), v);
    }
}

/// The files of this family (see the module documentation for which exist when).
pub(super) fn outputs(p: &PlantCtx, scope: Scope, out: &mut Vec<Output>) {
    let Some(d) = p.derived.get("database") else {
        return;
    };
    let k8s = |file: String, template: &str| {
        Output::new(
            plant_path(p, "kubernetes", &file),
            template,
            scope,
            Value::Null,
            Check::Kubernetes,
        )
    };
    if let Some(pgb) = d
        .get("pgbackrest")
        .filter(|v| !v.is_null())
        .and_then(|v| serde_json::from_value::<PgBackRestIntended>(v.clone()).ok())
    {
        out.push(Output::new(
            plant_path(p, "pgbackrest", "pgbackrest.conf"),
            "pgbackrest/pgbackrest.conf.j2",
            scope,
            Value::Null,
            Check::Ini {
                flavor: IniFlavor::PgBackRest,
                intended: pgb.intended(),
            },
        ));
    }
    let present = |key: &str| d.get(key).is_some_and(|v| !v.is_null());
    if present("postgres") {
        out.push(k8s(
            "postgrescluster-postgres.yaml".into(),
            "kubernetes/postgrescluster.yaml.j2",
        ));
    }
    if let Some(alerts) = d.get("alerts").filter(|v| !v.is_null()) {
        out.push(k8s(
            "prometheusrule-database.yaml".into(),
            "kubernetes/prometheusrule-database.yaml.j2",
        ));
        if alerts.get("pod_monitor") == Some(&Value::Bool(true)) {
            out.push(k8s(
                "podmonitor-postgres-exporter.yaml".into(),
                "kubernetes/podmonitor-postgres-exporter.yaml.j2",
            ));
        }
    }
    if let Some(test) = d.get("restore_test").filter(|v| !v.is_null()) {
        let pgo = test.get("kind").and_then(Value::as_str) == Some("pgo");
        out.push(k8s(
            format!("cronjob-{RESTORE_TEST}.yaml"),
            if pgo {
                "kubernetes/cronjob-restore-test.yaml.j2"
            } else {
                "kubernetes/cronjob-restore-test-rds.yaml.j2"
            },
        ));
        out.push(k8s(
            format!("serviceaccount-{RESTORE_TEST}.yaml"),
            "kubernetes/serviceaccount-restore-test.yaml.j2",
        ));
        if pgo {
            out.push(k8s(
                format!("role-{RESTORE_TEST}.yaml"),
                "kubernetes/role-restore-test.yaml.j2",
            ));
            out.push(k8s(
                format!("rolebinding-{RESTORE_TEST}.yaml"),
                "kubernetes/rolebinding-restore-test.yaml.j2",
            ));
        }
    }
    if present("filestore_backup") {
        out.push(k8s(
            format!("cronjob-{FILESTORE_BACKUP}.yaml"),
            "kubernetes/cronjob-filestore-backup.yaml.j2",
        ));
        out.push(k8s(
            format!("serviceaccount-{FILESTORE_BACKUP}.yaml"),
            "kubernetes/serviceaccount-filestore-backup.yaml.j2",
        ));
    }
    if let Some(name) = d
        .get("setup")
        .and_then(|s| s.get("name"))
        .and_then(Value::as_str)
    {
        out.push(k8s(
            format!("job-{name}.yaml"),
            "kubernetes/job-setup-database.yaml.j2",
        ));
    }
}

/// The sections of [`PgBackRest`], read back from `plant.derived` for the INI check.
#[derive(Debug, serde::Deserialize)]
struct PgBackRestIntended {
    sections: Vec<SectionIn>,
}

#[derive(Debug, serde::Deserialize)]
struct SectionIn {
    name: String,
    options: Vec<OptionIn>,
}

#[derive(Debug, serde::Deserialize)]
struct OptionIn {
    key: String,
    value: String,
}

impl PgBackRestIntended {
    fn intended(&self) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
        let mut out: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
        for s in &self.sections {
            let section = out.entry(s.name.clone()).or_default();
            for o in &s.options {
                section
                    .entry(o.key.clone())
                    .or_default()
                    .push(o.value.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_block_needs_pgbackrest_2_46() {
        assert!(!accepts("2.45", "repo1-block"));
        assert!(accepts("2.46", "repo2-block"));
        assert!(accepts("2.53.1", "repo1-block"));
        assert!(accepts("2.45", "repo1-bundle"));
        assert!(accepts("2.45", "compress-type"));
    }

    #[test]
    fn crons_shift_across_midnight_to_the_next_day() {
        assert_eq!(shift_cron("0 23 * * 0", 2).as_deref(), Some("0 1 * * 1"));
        assert_eq!(
            shift_cron("30 1 * * 1,2,3,4,5,6", 3).as_deref(),
            Some("30 4 * * 1,2,3,4,5,6")
        );
        assert_eq!(
            shift_cron("0 23 * * 1,2,3,4,5,6", 1).as_deref(),
            Some("0 0 * * 0,2,3,4,5,6")
        );
        assert_eq!(
            shift_cron("0 7,13,19 * * *", 1).as_deref(),
            Some("0 8,14,20 * * *")
        );
        assert_eq!(shift_cron("*/5 * * * *", 1), None);
        assert_eq!(shift_cron("0 1,2 * * 0", 1), None);
    }

    #[test]
    fn backup_times_merge_into_one_cron_when_one_cron_can_say_them() {
        // Full Sunday, differentials the other days, incrementals: every day the same hours.
        assert_eq!(
            union_cron(&["0 3 * * 0", "0 3 * * 1,2,3,4,5,6", "0 15 * * *"]).as_deref(),
            Some("0 3,15 * * *")
        );
        assert_eq!(
            union_cron(&["0 17 * * 6", "0 17 * * 0,1,2,3,4,5"]).as_deref(),
            Some("0 17 * * *")
        );
        // Weekdays only.
        assert_eq!(
            union_cron(&["30 1 * * 1", "30 1 * * 2,3,4,5"]).as_deref(),
            Some("30 1 * * 1,2,3,4,5")
        );
        // Two minutes, or other hours on Sunday: no single cron.
        assert_eq!(union_cron(&["0 3 * * 0", "30 3 * * 1,2,3,4,5,6"]), None);
        assert_eq!(union_cron(&["0 3 * * 0", "0 4 * * 1,2,3,4,5,6"]), None);
        assert_eq!(union_cron(&["0 3 1 * *"]), None);
    }

    #[test]
    fn longest_gap_spans_the_week() {
        // Full Sunday 01:00, differentials the other days, incrementals every 6 h.
        let gap = longest_gap(
            &["0 1 * * 0", "0 1 * * 1,2,3,4,5,6", "0 7,13,19 * * *"],
            &Utc,
            14,
        );
        assert_eq!(gap, Some(6 * 3600));
        // Daily only.
        assert_eq!(
            longest_gap(&["0 1 * * 0", "0 1 * * 1,2,3,4,5,6"], &Utc, 14),
            Some(86_400)
        );
        // Monthly: the longest month, plus the hour October gives back.
        assert_eq!(
            longest_gap(&["0 6 1 * *"], &chrono_tz::Europe::Paris, 400),
            Some(31 * 86_400 + 3600)
        );
        assert_eq!(longest_gap(&["0 6 1 * *"], &Utc, 400), Some(31 * 86_400));
        // Weekly in a zone with DST: the autumn week is an hour longer.
        assert_eq!(
            longest_gap(&["0 6 * * 1"], &chrono_tz::Europe::Paris, 400),
            Some(7 * 86_400 + 3600)
        );
    }
}

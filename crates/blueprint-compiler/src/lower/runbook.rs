//! `runbooks/<plant>.md`: one runbook per plant, covering all its environments (DESIGN §5).
//!
//! The runbook says what the objectives are and how the generated output meets them, then how
//! to restore: the exact commands for this plant, in fenced `sh` blocks each preceded by a
//! marker comment `<!-- blueprint:restore env=<env> kind=<kind>[ repo=<n>] -->` so tests (and
//! the restore drill of issue 5) can extract and run them. Three ways to restore, by where the
//! database lives:
//!
//! - in-cluster PostgreSQL (`dedicated-namespace`, `dedicated-cluster`): pgBackRest, stanza
//!   `db`, against `plants/<plant>/<env>/pgbackrest/pgbackrest.conf`; `repo2` in the backup
//!   peer region for `critical`;
//! - Amazon RDS (`dedicated-environment`): `aws rds restore-db-instance-to-point-in-time` to a
//!   new instance, from the region's automated backups or, for `critical`, from their replica in
//!   the peer region;
//! - `shared`: a side restore of the whole shared database at the time, a `pg_dump` of the
//!   tenant's database and its `pg_restore` into the platform under a temporary name, then a
//!   swap of names (DESIGN §4.2). The shared database is the cluster's platform
//!   (`clusters/<cluster>/platform`, lowered like a plant), whose own runbook
//!   (`clusters/<cluster>/platform/runbook.md`) restores it whole.
//!
//! Every value written into a command is one the compiler validated or derived (DNS labels,
//! paths, ARNs) and still goes through the `sh` filter; plant free text goes through `md`.

use super::{Check, Output, PlantCtx, Scope};
use crate::units::fmt_duration;
use serde::Serialize;
use std::collections::BTreeMap;

/// SQL run after every restore: counts an operator compares with what the business expects
/// at the target time (no statement writes).
const SQL_CHECKS: &[&str] = &[
    "SELECT count(*) AS active_users FROM res_users WHERE active",
    "SELECT count(*) AS partners, max(write_date) AS last_partner_write FROM res_partner",
    "SELECT count(*) AS attachments, count(store_fname) AS in_filestore, max(write_date) AS last_attachment FROM ir_attachment",
];

/// The runbook of one plant.
#[derive(Debug, Clone, Serialize)]
struct Runbook {
    /// Plant name.
    plant: String,
    /// The plant file.
    file: String,
    /// Display name (free text).
    display_name: String,
    /// Description (free text).
    description: Option<String>,
    /// Owner team.
    team: String,
    /// Owner email.
    email: String,
    /// Cost center.
    cost_center: Option<String>,
    /// Tier.
    tier: String,
    /// Tenancy.
    tenancy: String,
    /// Fleet region.
    region: String,
    /// Shared cluster, when on one.
    cluster: Option<String>,
    /// Whether this is a cluster's shared platform (its tenants' database).
    platform: bool,
    /// The platform's tenants.
    tenants: Vec<TenantRef>,
    /// Whether an environment restores with pgBackRest (in-cluster or side restore).
    uses_pgbackrest: bool,
    /// `prod` first, then the others by name.
    envs: Vec<EnvRunbook>,
}

/// A tenant of a shared platform, as the platform's runbook stops, starts and checks it.
#[derive(Debug, Clone, Serialize)]
struct TenantRef {
    /// `<plant>/<env>`.
    id: String,
    /// Its Argo CD Application.
    application: String,
    /// `<dir>/argocd/application.yaml`.
    application_file: String,
    /// Its database in the shared PostgreSQL (named as its host).
    db: String,
    /// Its host.
    host: String,
}

/// The Odoo workloads a restore stops and starts, and whose filestore it restores.
#[derive(Debug, Clone, Serialize)]
struct Workload {
    /// Namespace (`odoo-shared` for a shared tenant and a platform).
    namespace: String,
    /// Odoo web Deployment (the platform's for a shared tenant).
    web: String,
    /// Odoo cron Deployment (the platform's for a shared tenant).
    cron: String,
}

/// Where the filestore's versioned copy is and what it replaces.
///
/// The filestore CronJob (`filestore-backup`, database family) runs `aws s3 sync` of
/// `/var/lib/odoo/filestore` to `s3://<repo1 bucket>/<prefix>` into the versioned backup
/// bucket; a restore takes, for every key under `list_prefix`, the newest version not newer
/// than the target time (a delete marker there means the file did not exist).
#[derive(Debug, Clone, Serialize)]
struct FilestoreRestore {
    /// The bucket (repo1's, the platform's for a shared tenant).
    bucket: String,
    /// Its cloud region.
    cloud_region: String,
    /// Keys restored: the filestore's prefix, plus `<db>/` for a shared tenant.
    list_prefix: String,
    /// The directory the restored copy replaces in the Odoo pod: `/var/lib/odoo/filestore`,
    /// or `/var/lib/odoo/filestore/<db>` for a shared tenant.
    live_dir: String,
}

/// How one environment is restored.
#[derive(Debug, Clone, Serialize)]
struct EnvRunbook {
    /// The environment's context.
    p: PlantCtx,
    /// `pgbackrest` (in-cluster PostgreSQL), `rds` or `shared`.
    method: &'static str,
    /// The cluster the workload runs on (`<plant>-<env>` for a dedicated one), named in the
    /// `CLUSTER_CONTEXT` prompt.
    cluster_name: String,
    /// The Odoo Deployments.
    workload: Workload,
    /// The filestore's versioned copy, when the environment has a backup bucket.
    filestore: Option<FilestoreRestore>,
    /// Whether archiving alone keeps the worst-case loss within the RPO; otherwise the
    /// streaming standby does (for instance and zone loss).
    archive_meets_rpo: bool,
    /// RTO objective minus estimate, human (`0s` when the estimate exceeds it, which the
    /// compiler rejects).
    rto_margin: String,
    /// The full backup's start, `HH:MM` UTC (also the RDS backup window's start).
    full_start_utc: String,
    /// Estimated full backup duration.
    full_duration: String,
    /// Archive loss window, human.
    loss_window: String,
    /// `archive_timeout`, human.
    archive_timeout: String,
    /// `<dir>/pgbackrest/pgbackrest.conf` (pgBackRest), or the shared platform's.
    config: Option<String>,
    /// `<dir>/argocd/application.yaml`.
    application_file: String,
    /// Label selector of the PostgreSQL primary pod (PGO).
    primary_selector: String,
    /// Label selector of the plant environment's objects (its IngressRoutes).
    plant_selector: String,
    /// RDS.
    rds: Option<RdsRestore>,
    /// Shared tenant.
    shared: Option<SharedRestore>,
    /// SQL checks.
    sql_checks: Vec<String>,
}

/// The RDS instance and where its backups are.
#[derive(Debug, Clone, Serialize)]
struct RdsRestore {
    /// Instance identifier (`<plant>-<env>`).
    id: String,
    /// The restored instance.
    target_id: String,
    /// The instance being replaced, renamed out of the way.
    replaced_id: String,
    /// Cloud region of the instance.
    region: String,
    /// Cloud region of the replicated automated backups (`critical`).
    peer_region: Option<String>,
    /// Root module of the environment.
    terraform_dir: String,
    /// Address of the instance in that root's state (the `database` module of
    /// `blueprints/terraform/plant/main.tf.j2`, resource `aws_db_instance.this`).
    state_address: String,
    /// Address of the cross-region backup replication (`critical`), which follows the
    /// instance.
    replication_address: Option<String>,
}

/// A shared tenant's side restore.
#[derive(Debug, Clone, Serialize)]
struct SharedRestore {
    /// Shared cluster.
    cluster: String,
    /// Namespace of the shared Odoo.
    namespace: String,
    /// Bucket of the shared database's repository.
    bucket: String,
    /// Its cloud region.
    cloud_region: String,
    /// Its S3 endpoint.
    endpoint: String,
    /// Its `repo1-path`.
    repo_path: String,
    /// The platform's runbook.
    platform_runbook: String,
    /// The platform's backup role (read access to its repository).
    platform_role_arn: String,
    /// PGO's Secret of the shared PostgreSQL's superuser `postgres` (createdb, rename).
    superuser_secret: String,
    /// The tenant database (named as its host).
    db: String,
    /// Temporary name of the restored copy in the platform (≤ 63 bytes).
    restored_db: String,
    /// Name the current database is moved to.
    replaced_db: String,
    /// `pg_dump` file name.
    dump_file: String,
    /// The swap, one statement per `psql -c`.
    swap_sql: Vec<String>,
}

/// A PostgreSQL identifier in double quotes.
fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A PostgreSQL string literal.
fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Odoo's filestore in its pod (`data_dir` `/var/lib/odoo`, the filestore PVC's mount).
const FILESTORE_DIR: &str = "/var/lib/odoo/filestore";

/// PGO's Secret of the superuser of a shared platform's PostgreSQL (the `postgres` user of the
/// PostgresCluster's `spec.users`).
const SUPERUSER_SECRET: &str = "postgres-pguser-postgres";

/// The RDS instance in a dedicated environment's Terraform state.
const RDS_STATE_ADDRESS: &str = "module.database.aws_db_instance.this";

/// Its cross-region backup replication (`count` 1 when there is a peer region).
const RDS_REPLICATION_ADDRESS: &str =
    "module.database.aws_db_instance_automated_backups_replication.this[0]";

/// `HH:MM` of a five-field cron's minute and hour, when both are single numbers.
fn cron_start(cron: &str) -> String {
    let mut fields = cron.split_whitespace();
    match (
        fields.next().and_then(|m| m.parse::<u32>().ok()),
        fields.next().and_then(|h| h.parse::<u32>().ok()),
    ) {
        (Some(m), Some(h)) => format!("{h:02}:{m:02}"),
        _ => cron.to_string(),
    }
}

/// Where a plant environment's runbook is written: `runbooks/<plant>.md`, or beside the files
/// of a shared platform.
fn runbook_path(p: &PlantCtx) -> String {
    if p.platform {
        format!("{}/runbook.md", p.dir)
    } else {
        format!("runbooks/{}.md", p.name)
    }
}

fn env_runbook(p: &PlantCtx, platform: Option<&PlantCtx>) -> EnvRunbook {
    let b = &p.backup;
    let method = if p.tenancy == "shared" {
        "shared"
    } else if p.database.managed {
        "rds"
    } else {
        "pgbackrest"
    };
    let id = format!("{}-{}", p.name, p.env);
    let rds = (method == "rds").then(|| RdsRestore {
        target_id: format!("{id}-restore"),
        replaced_id: format!("{id}-replaced"),
        id: id.clone(),
        region: p.cloud_region.clone(),
        peer_region: b.repos.get(1).map(|r| r.cloud_region.clone()),
        terraform_dir: format!("terraform/plants/{}/{}", p.name, p.env),
        state_address: RDS_STATE_ADDRESS.to_string(),
        replication_address: b.repos.get(1).map(|_| RDS_REPLICATION_ADDRESS.to_string()),
    });
    let shared = match (&p.cluster, method) {
        (Some(cluster), "shared") => {
            let db = p.names.db_name.clone();
            let restored_db = format!("restore-{id}");
            let replaced_db = format!("replaced-{id}");
            let swap_sql = vec![
                format!(
                    "ALTER DATABASE {} WITH ALLOW_CONNECTIONS false",
                    quote_ident(&db)
                ),
                format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = {} AND pid <> pg_backend_pid()",
                    quote_literal(&db)
                ),
                "SELECT pg_sleep(2)".to_string(),
                format!(
                    "ALTER DATABASE {} RENAME TO {}",
                    quote_ident(&db),
                    quote_ident(&replaced_db)
                ),
                format!(
                    "ALTER DATABASE {} RENAME TO {}",
                    quote_ident(&restored_db),
                    quote_ident(&db)
                ),
            ];
            // The platform holds the database; without one (never: every cluster with a shared
            // tenant has a platform) the tenant's own view of the repository is shown.
            let repo = platform
                .and_then(|pl| pl.backup.repos.first())
                .or_else(|| b.repos.first());
            Some(SharedRestore {
                cluster: cluster.clone(),
                namespace: p.names.namespace.clone(),
                bucket: repo.map(|r| r.bucket.clone()).unwrap_or_default(),
                cloud_region: repo
                    .map_or_else(|| p.cloud_region.clone(), |r| r.cloud_region.clone()),
                endpoint: repo.map(|r| r.endpoint.clone()).unwrap_or_default(),
                repo_path: repo.map(|r| r.path.clone()).unwrap_or_default(),
                platform_runbook: platform.map_or_else(
                    || format!("clusters/{cluster}/platform/runbook.md"),
                    runbook_path,
                ),
                platform_role_arn: platform.map_or_else(
                    || p.names.backup_role_arn.clone(),
                    |pl| pl.names.backup_role_arn.clone(),
                ),
                superuser_secret: SUPERUSER_SECRET.to_string(),
                dump_file: format!("{id}.dump"),
                db,
                restored_db,
                replaced_db,
                swap_sql,
            })
        }
        _ => None,
    };
    let config = match (&p.cluster, method) {
        (_, "pgbackrest") => Some(format!("{}/pgbackrest/pgbackrest.conf", p.dir)),
        (Some(cluster), "shared") => Some(platform.map_or_else(
            || format!("clusters/{cluster}/platform/pgbackrest/pgbackrest.conf"),
            |pl| format!("{}/pgbackrest/pgbackrest.conf", pl.dir),
        )),
        _ => None,
    };
    let label = |k: &str| p.labels.get(k).cloned().unwrap_or_default();
    // A shared tenant's Odoo and filestore are the platform's.
    let host_ctx = if method == "shared" {
        platform.unwrap_or(p)
    } else {
        p
    };
    let workload = Workload {
        namespace: p.names.namespace.clone(),
        web: host_ctx.names.web.clone(),
        cron: host_ctx.names.cron.clone(),
    };
    let filestore = host_ctx.backup.repos.first().map(|r| {
        let root = super::database::filestore_prefix(host_ctx);
        if method == "shared" {
            FilestoreRestore {
                bucket: r.bucket.clone(),
                cloud_region: r.cloud_region.clone(),
                list_prefix: format!("{root}{}/", p.names.db_name),
                live_dir: format!("{FILESTORE_DIR}/{}", p.names.db_name),
            }
        } else {
            FilestoreRestore {
                bucket: r.bucket.clone(),
                cloud_region: r.cloud_region.clone(),
                list_prefix: root,
                live_dir: FILESTORE_DIR.to_string(),
            }
        }
    });
    EnvRunbook {
        method,
        cluster_name: p
            .cluster
            .clone()
            .unwrap_or_else(|| format!("{}-{}", p.name, p.env)),
        workload,
        filestore,
        archive_meets_rpo: b.archive_loss_window_s <= p.recovery.rpo_s,
        rto_margin: fmt_duration(p.recovery.rto_s.saturating_sub(b.rto_estimate_s)),
        full_start_utc: cron_start(&b.full_schedule),
        full_duration: fmt_duration(b.full_duration_s),
        loss_window: fmt_duration(b.archive_loss_window_s),
        archive_timeout: fmt_duration(b.archive_timeout_s),
        config,
        application_file: format!("{}/argocd/application.yaml", p.dir),
        primary_selector: format!(
            "postgres-operator.crunchydata.com/cluster={},postgres-operator.crunchydata.com/role=master",
            p.names.postgres
        ),
        plant_selector: format!(
            "blueprint.dev/plant={},blueprint.dev/environment={}",
            label("blueprint.dev/plant"),
            label("blueprint.dev/environment")
        ),
        rds,
        shared,
        sql_checks: SQL_CHECKS.iter().map(|s| (*s).to_string()).collect(),
        p: p.clone(),
    }
}

/// One runbook per plant, covering its environments, and one per shared platform.
pub(super) fn outputs(plants: &[PlantCtx], out: &mut Vec<Output>) {
    // Each cluster's platform, found once rather than by a scan per shared tenant.
    let mut platforms: BTreeMap<&str, &PlantCtx> = BTreeMap::new();
    for q in plants.iter().filter(|q| q.platform) {
        if let Some(cluster) = q.cluster.as_deref() {
            platforms.entry(cluster).or_insert(q);
        }
    }
    let platform_of = |p: &PlantCtx| platforms.get(p.cluster.as_deref()?).copied();
    let mut i = 0;
    while let Some(first) = plants.get(i) {
        // Plant environments are sorted by plant, then platforms follow.
        let same: Vec<&PlantCtx> = plants[i..]
            .iter()
            .take_while(|p| p.name == first.name && p.platform == first.platform)
            .collect();
        i += same.len();
        // Plant-level facts are the base's: take them from `prod` when there is one.
        let base = same.iter().find(|p| p.prod).copied().unwrap_or(first);
        let mut envs: Vec<EnvRunbook> = same
            .iter()
            .map(|p| env_runbook(p, (p.tenancy == "shared").then(|| platform_of(p)).flatten()))
            .collect();
        envs.sort_by(|a, b| (!a.p.prod, &a.p.env).cmp(&(!b.p.prod, &b.p.env)));
        let tenants = if base.platform {
            plants
                .iter()
                .filter(|t| t.tenancy == "shared" && t.cluster == base.cluster)
                .map(|t| TenantRef {
                    id: format!("{}/{}", t.name, t.env),
                    application: t.names.application.clone(),
                    application_file: format!("{}/argocd/application.yaml", t.dir),
                    db: t.names.db_name.clone(),
                    host: t.host.clone(),
                })
                .collect()
        } else {
            Vec::new()
        };
        let uses_pgbackrest = envs.iter().any(|e| e.method != "rds");
        let runbook = Runbook {
            plant: base.name.clone(),
            file: base.file.clone(),
            display_name: base.display_name.clone(),
            description: base.description.clone(),
            team: base.team.clone(),
            email: base.email.clone(),
            cost_center: base.cost_center.clone(),
            tier: base.tier.clone(),
            tenancy: base.tenancy.clone(),
            region: base.region.clone(),
            cluster: base.cluster.clone(),
            platform: base.platform,
            tenants,
            uses_pgbackrest,
            envs,
        };
        out.push(Output::new(
            runbook_path(base),
            "runbooks/runbook.md.j2",
            Scope::Fleet,
            serde_json::to_value(runbook).unwrap_or_default(),
            Check::Markdown,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_quoting_doubles_quotes() {
        assert_eq!(quote_ident("a.b\"c"), "\"a.b\"\"c\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }

    #[test]
    fn cron_start_reads_minute_and_hour() {
        assert_eq!(cron_start("0 17 * * 6"), "17:00");
        assert_eq!(cron_start("30 3 * * 0"), "03:30");
        assert_eq!(cron_start("0 5,11 * * *"), "0 5,11 * * *");
    }

    #[test]
    fn temporary_database_names_fit_postgres() {
        // 40-character plant, 12-character environment.
        let id = format!("{}-{}", "p".repeat(40), "e".repeat(12));
        assert!(format!("replaced-{id}").len() <= 63);
        assert!(format!("restore-{id}").len() <= 63);
    }
}

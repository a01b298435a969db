//! The resolved model: one [`ResolvedPlant`] per (plant, environment), every value with its
//! [`Origin`]. Rendering consumes this; `explain` prints it.

use crate::units::{ImageRef, RateLimit, Window};
use blueprint_diagnostics::{SourceMap, Span};
use blueprint_syntax::doc::{
    Direction, Edition, IntegrationKind, OdooVersion, Protocol, Tenancy, Tier,
};
use serde::Serialize;

/// Where a resolved value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Written in the plant file's base.
    Plant(Span),
    /// Written in an environment overlay.
    Overlay {
        /// The environment.
        env: String,
        /// Where.
        span: Span,
    },
    /// From `defaults` in the fleet file (or the embedded default fleet).
    FleetDefault(Span),
    /// From the fleet file (a region, a cluster, the backup throughputs).
    Fleet(Span),
    /// From a tier profile, embedded or overridden in the fleet.
    Tier {
        /// The tier.
        tier: Tier,
        /// Where the winning value was written.
        span: Span,
        /// Whether the fleet overrode the embedded profile.
        fleet: bool,
    },
    /// Derived by a rule from other values.
    Derived {
        /// Rule name (`odoo.workers`).
        rule: &'static str,
        /// The arithmetic with its inputs.
        detail: String,
    },
}

impl Origin {
    /// The span a finding about this value should point at, if it was written somewhere.
    #[must_use]
    pub fn span(&self) -> Option<Span> {
        match self {
            Origin::Plant(s) | Origin::FleetDefault(s) | Origin::Fleet(s) => Some(*s),
            Origin::Overlay { span, .. } | Origin::Tier { span, .. } => Some(*span),
            Origin::Derived { .. } => None,
        }
    }

    /// Human text: `plants/lyon.yaml:12:10`, `tier critical (embedded profile)`, …
    #[must_use]
    pub fn describe(&self, map: &SourceMap) -> String {
        match self {
            Origin::Plant(s) => map.location(*s),
            Origin::Overlay { env, span } => format!("environment {env} ({})", map.location(*span)),
            Origin::FleetDefault(s) => format!("fleet default ({})", map.location(*s)),
            Origin::Fleet(s) => format!("fleet ({})", map.location(*s)),
            Origin::Tier {
                tier,
                span,
                fleet: true,
            } => format!("tier {tier}, fleet override ({})", map.location(*span)),
            Origin::Tier { tier, .. } => format!("tier {tier} default"),
            Origin::Derived { rule, detail } => format!("derived by {rule}: {detail}"),
        }
    }

    /// Machine kind: `plant`, `overlay`, `fleet-default`, `fleet`, `tier`, `tier-fleet`, `derived`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Origin::Plant(_) => "plant",
            Origin::Overlay { .. } => "overlay",
            Origin::FleetDefault(_) => "fleet-default",
            Origin::Fleet(_) => "fleet",
            Origin::Tier { fleet: true, .. } => "tier-fleet",
            Origin::Tier { .. } => "tier",
            Origin::Derived { .. } => "derived",
        }
    }
}

/// A resolved value and its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Val<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub origin: Origin,
}

impl<T> Val<T> {
    /// A value with an origin.
    pub fn new(value: T, origin: Origin) -> Self {
        Self { value, origin }
    }

    /// A derived value.
    pub fn derived(value: T, rule: &'static str, detail: impl Into<String>) -> Self {
        Self {
            value,
            origin: Origin::Derived {
                rule,
                detail: detail.into(),
            },
        }
    }
}

/// The owning team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Team.
    pub team: Val<String>,
    /// Email.
    pub email: Val<String>,
    /// Cost center.
    pub cost_center: Option<Val<String>>,
}

/// Recovery objectives, seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// RPO.
    pub rpo: Val<u64>,
    /// RTO.
    pub rto: Val<u64>,
    /// Point-in-time window.
    pub pitr_window: Val<u64>,
}

/// Odoo, as run for this plant (for `shared`, the shared platform's values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Odoo {
    /// Version.
    pub version: Val<OdooVersion>,
    /// Edition.
    pub edition: Val<Edition>,
    /// Image.
    pub image: Val<String>,
    /// Image parts.
    pub image_ref: Option<ImageRef>,
    /// Concurrent users.
    pub users: Val<u32>,
    /// Installed modules.
    pub modules: Val<Vec<String>>,
    /// HTTP workers per web pod.
    pub workers: Val<u32>,
    /// Web replicas (HPA minimum).
    pub replicas: Val<u32>,
    /// HPA maximum.
    pub max_replicas: Val<u32>,
    /// CPU request per web pod, millicores.
    pub cpu_request_m: Val<u64>,
    /// CPU limit per web pod, millicores.
    pub cpu_limit_m: Val<u64>,
    /// Memory request per web pod, bytes.
    pub memory_request: Val<u64>,
    /// Memory limit per web pod, bytes.
    pub memory_limit: Val<u64>,
    /// `limit_memory_soft` per process, bytes.
    pub limit_memory_soft: Val<u64>,
    /// `limit_memory_hard` per process, bytes.
    pub limit_memory_hard: Val<u64>,
    /// `max_cron_threads` of the cron pod.
    pub cron_threads: Val<u32>,
    /// `db_maxconn` per process.
    pub db_maxconn: Val<u32>,
    /// `db_maxconn_gevent` (17.0+).
    pub db_maxconn_gevent: Option<Val<u32>>,
    /// Whether a Redis session store module is installed.
    pub session_redis: bool,
}

/// PostgreSQL for this plant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    /// Expected size, bytes.
    pub size: Val<u64>,
    /// Major version.
    pub postgres_version: Val<u32>,
    /// WAL bytes per day.
    pub write_rate: Val<u64>,
    /// Instances (1 = no standby).
    pub instances: Val<u32>,
    /// Synchronous replication.
    pub synchronous: Val<bool>,
    /// Amazon RDS instead of an in-cluster PostgresCluster.
    pub managed: bool,
    /// The platform's shared database (tenancy `shared`).
    pub shared: bool,
    /// Connections Odoo may open (the budget of DESIGN §4.4).
    pub connection_budget: Val<u32>,
    /// `max_connections`.
    pub max_connections: Val<u32>,
    /// `reserved_connections`.
    pub reserved_connections: Val<u32>,
    /// `superuser_reserved_connections`.
    pub superuser_reserved_connections: u32,
    /// Data volume, bytes.
    pub storage: Val<u64>,
    /// Filestore volume, bytes.
    pub filestore: Val<u64>,
    /// Minimum pgBackRest version for this PostgreSQL.
    pub min_pgbackrest: Val<String>,
}

/// A backup repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repo {
    /// `repo1`, `repo2`.
    pub name: String,
    /// Fleet region holding it.
    pub region: String,
    /// Cloud region.
    pub cloud_region: String,
    /// Bucket name.
    pub bucket: String,
    /// `repoN-path`.
    pub path: String,
}

/// Backups derived from the objectives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    /// Full backup, cron in UTC.
    pub full_schedule: Val<String>,
    /// Differential backups, cron in UTC.
    pub diff_schedule: Val<String>,
    /// Incremental backups, cron in UTC.
    pub incr_schedule: Val<String>,
    /// Seconds between two backups.
    pub interval: Val<u64>,
    /// Estimated duration of a full backup.
    pub full_duration: Val<u64>,
    /// `repo1-retention-full` in days (type `time`).
    pub retention_full_days: Val<u64>,
    /// PostgreSQL `archive_timeout`, seconds.
    pub archive_timeout: Val<u64>,
    /// Worst-case WAL loss on region loss or PITR, seconds.
    pub archive_loss_window: Val<u64>,
    /// Estimated restore time, seconds.
    pub rto_estimate: Val<u64>,
    /// Repositories.
    pub repos: Vec<Repo>,
    /// Restore-test schedule (cron with `timeZone`).
    pub restore_test_schedule: Val<String>,
}

/// One integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integration {
    /// Name.
    pub name: Val<String>,
    /// Kind.
    pub kind: IntegrationKind,
    /// Direction.
    pub direction: Direction,
    /// Protocol.
    pub protocol: Protocol,
    /// Peer networks.
    pub peers: Vec<Val<String>>,
    /// Port.
    pub port: Val<u32>,
    /// HTTPS path prefix.
    pub path: Option<Val<String>>,
    /// Rate limit.
    pub rate_limit: Option<Val<RateLimit>>,
    /// Batch schedule.
    pub schedule: Option<Val<String>>,
    /// Needs a client certificate (its own host and TLSOption).
    pub mutual_tls: bool,
}

/// Ingress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingress {
    /// Host.
    pub host: Val<String>,
    /// Admin allow list.
    pub admin_allow_from: Val<Vec<String>>,
    /// Request body limit, bytes.
    pub max_upload_size: Val<u64>,
}

/// Maintenance window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maintenance {
    /// The weekly window.
    pub window: Val<Window>,
    /// IANA zone.
    pub timezone: Val<String>,
}

/// Redis, rendered only with a session store module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redis {
    /// `standalone` or `replication`.
    pub architecture: Val<String>,
    /// AOF/RDB persistence.
    pub persistence: Val<bool>,
}

/// What the namespace may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    /// CPU limits, millicores.
    pub cpu_m: Val<u64>,
    /// Memory limits, bytes.
    pub memory: Val<u64>,
}

/// A plant in one environment, fully resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPlant {
    /// Plant name.
    pub name: Val<String>,
    /// Environment.
    pub env: String,
    /// `<plant>-<env>`.
    pub namespace: String,
    /// The plant file.
    pub file: String,
    /// Display name.
    pub display_name: Option<Val<String>>,
    /// Description.
    pub description: Option<Val<String>>,
    /// Fleet region.
    pub region: Val<String>,
    /// Cloud region.
    pub cloud_region: String,
    /// Owner.
    pub owner: Owner,
    /// Tier.
    pub tier: Val<Tier>,
    /// Tenancy.
    pub tenancy: Val<Tenancy>,
    /// Shared cluster.
    pub cluster: Option<Val<String>>,
    /// Objectives.
    pub recovery: Recovery,
    /// Odoo.
    pub odoo: Odoo,
    /// PostgreSQL.
    pub database: Database,
    /// Backups.
    pub backup: Backup,
    /// Ingress.
    pub ingress: Ingress,
    /// Network CIDR (dedicated tenancies).
    pub cidr: Option<Val<String>>,
    /// Integrations.
    pub integrations: Vec<Integration>,
    /// Maintenance.
    pub maintenance: Maintenance,
    /// Redis.
    pub redis: Option<Redis>,
    /// Namespace quota.
    pub quota: Quota,
}

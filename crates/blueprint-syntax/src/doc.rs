//! The raw plant and fleet documents: exactly the keys of DESIGN §3, no defaults, no meaning.
//!
//! Durations, quantities, CIDRs, cron expressions and the like stay text here; the compiler
//! parses them (policy rules, `BP4xxx`) so a bad value is reported with its meaning.

use crate::decode::{NamedMap, Spanned};
use crate::{Node, choice, record};
use blueprint_diagnostics::{Diagnostic, codes};

/// Text with its span.
pub type Text = Spanned<String>;

// Patterns published in the JSON Schema so editors flag a malformed value as it is typed; the
// compiler parses the same values and reports them with BP4xxx codes.
const DURATION: &str = "^([0-9]+[smhdw])+$";
const QUANTITY: &str = "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|K|M|G|T)?$";
const PER_DAY: &str = "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|K|M|G|T)?/(day|d)$";
const PER_SECOND: &str = "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|K|M|G|T)?/s$";
const RATE: &str = "^[0-9]+/(s|m|h)$";
const WINDOW: &str = "^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [0-9]{2}:[0-9]{2}-((Mon|Tue|Wed|Thu|Fri|Sat|Sun) )?[0-9]{2}:[0-9]{2}$";
const DNS_LABEL: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
const TEAM_PREFIX: &str = "^@([A-Za-z0-9][A-Za-z0-9._-]*/)+$";

choice! {
    /// `apiVersion` of plant and fleet files.
    pub enum ApiVersion [code = blueprint_diagnostics::codes::UNSUPPORTED_VERSION] { V1 = "blueprint/v1" }
}

choice! {
    /// `kind` of a plant file.
    pub enum PlantKind [code = blueprint_diagnostics::codes::UNSUPPORTED_VERSION] { Plant = "Plant" }
}

choice! {
    /// `kind` of a fleet file.
    pub enum FleetKind [code = blueprint_diagnostics::codes::UNSUPPORTED_VERSION] { Fleet = "Fleet" }
}

/// Each kind of top-level document, what it is called and where its file belongs: the help for
/// a file of one kind found where another is expected.
const KINDS: &[(&str, &str, &str)] = &[
    (
        "Plant",
        "a plant file",
        "a plant file belongs in the plants directory or a subdirectory under its own name (DIR/NAME.yaml), not as DIR/fleet.toml",
    ),
    (
        "Fleet",
        "a fleet file",
        "a fleet.toml belongs directly in the plants directory (DIR/fleet.toml), not in a subdirectory",
    ),
];

/// The finding for a document whose `kind` is another known kind than `expected`: the file
/// is in the wrong place, so reading the rest of it would only report every key as unknown.
pub(crate) fn misplaced_kind(root: &Node, expected: &str) -> Option<Diagnostic> {
    let kind = root.get("kind")?;
    let found = kind.as_str().filter(|k| *k != expected)?;
    let (_, what, help) = KINDS.iter().find(|(k, _, _)| *k == found)?;
    let wanted = KINDS
        .iter()
        .find(|(k, _, _)| *k == expected)
        .map_or(expected, |(_, w, _)| *w);
    Some(
        Diagnostic::new(
            codes::UNSUPPORTED_VERSION,
            format!("`kind` must be `{expected}` here, found `{found}`"),
        )
        .at(kind.span, format!("{what} where {wanted} is expected"))
        .help(*help),
    )
}

choice! {
    /// Service tier: selects the profile of defaults and limits.
    pub enum Tier { Critical = "critical", Standard = "standard", Basic = "basic" }
}

choice! {
    /// How the plant shares infrastructure.
    pub enum Tenancy {
        /// A database inside the shared multi-tenant Odoo of a shared cluster.
        Shared = "shared",
        /// Own namespace, Odoo and PostgreSQL on a shared cluster.
        DedicatedNamespace = "dedicated-namespace",
        /// Own cluster.
        DedicatedCluster = "dedicated-cluster",
        /// Own cluster and managed cloud database.
        DedicatedEnvironment = "dedicated-environment",
    }
}

choice! {
    /// Odoo major version (a string: `"17.0"`).
    pub enum OdooVersion { V17 = "17.0", V18 = "18.0", V19 = "19.0" }
}

choice! {
    /// Odoo edition.
    pub enum Edition { Community = "community", Enterprise = "enterprise" }
}

choice! {
    /// What an integration connects to.
    pub enum IntegrationKind {
        Mes = "mes", Wms = "wms", Edi = "edi", Iot = "iot", Barcode = "barcode",
        SupplierPortal = "supplier-portal", Shipping = "shipping", Bi = "bi",
    }
}

choice! {
    /// Who opens the connection.
    pub enum Direction { Inbound = "inbound", Outbound = "outbound", Both = "both" }
}

choice! {
    /// Wire protocol of an integration.
    pub enum Protocol {
        Https = "https", Sftp = "sftp", Mqtt = "mqtt", Amqp = "amqp",
        PostgresReadonly = "postgres-readonly",
    }
}

choice! {
    /// Cloud provider of the fleet.
    pub enum Provider { Aws = "aws" }
}

record! {
    /// The team that owns a plant.
    pub struct Owner ("owner") {
        /// Team name (becomes labels and the `operate` RoleBinding).
        pub team: Text => "team",
        /// Contact address for the runbook.
        pub email: Text => "email",
        /// Cost center label.
        pub cost_center: Option<Text> => "costCenter",
    }
}

record! {
    /// Recovery objectives.
    pub struct Recovery ("recovery") {
        /// Recovery point objective (`5m`).
        #[schemars(pattern(DURATION))]

        pub rpo: Option<Text> => "rpo",
        /// Recovery time objective (`4h`).
        #[schemars(pattern(DURATION))]

        pub rto: Option<Text> => "rto",
        /// How far back a point-in-time restore must reach (`7d`).
        #[schemars(pattern(DURATION))]

        pub pitr_window: Option<Text> => "pitrWindow",
    }
}

record! {
    /// Odoo settings.
    pub struct Odoo ("odoo") {
        /// Major version, quoted: `"17.0"`.
        pub version: Option<Spanned<OdooVersion>> => "version",
        /// `community` or `enterprise`.
        pub edition: Option<Spanned<Edition>> => "edition",
        /// Image reference; pinned by digest in `prod`.
        pub image: Option<Text> => "image",
        /// Concurrent users (sizes workers, replicas, memory).
        pub users: Option<Spanned<u32>> => "users" in 1..=100000,
        /// Installed modules.
        pub modules: Option<Spanned<Vec<Text>>> => "modules",
    }
}

record! {
    /// Database settings.
    pub struct Database ("database") {
        /// Expected size (`200Gi`).
        #[schemars(pattern(QUANTITY))]

        pub size: Option<Text> => "size",
        /// PostgreSQL major version: 15, 16 or 17.
        pub postgres_version: Option<Spanned<u32>> => "postgresVersion",
        /// WAL volume per day (`5Gi/day`).
        #[schemars(pattern(PER_DAY))]

        pub write_rate: Option<Text> => "writeRate",
    }
}

record! {
    /// Ingress settings.
    pub struct Ingress ("ingress") {
        /// Host name inside the fleet's DNS zone.
        pub host: Option<Text> => "host",
        /// CIDRs allowed to reach the database manager and admin paths; empty blocks them.
        pub admin_allow_from: Option<Spanned<Vec<Text>>> => "adminAllowFrom",
        /// Request body limit (`64Mi`).
        #[schemars(pattern(QUANTITY))]

        pub max_upload_size: Option<Text> => "maxUploadSize",
    }
}

record! {
    /// Network settings.
    pub struct Network ("network") {
        /// The plant's network (dedicated tenancies).
        pub cidr: Option<Text> => "cidr",
    }
}

record! {
    /// One integration with another system.
    pub struct Integration ("integration") {
        /// Name, unique in the plant.
        pub name: Text => "name",
        /// What it connects to.
        pub kind: Spanned<IntegrationKind> => "kind",
        /// Who opens the connection.
        pub direction: Spanned<Direction> => "direction",
        /// Wire protocol.
        pub protocol: Spanned<Protocol> => "protocol",
        /// Peer networks.
        pub peers: Spanned<Vec<Text>> => "peers",
        /// Port.
        pub port: Option<Spanned<u32>> => "port" in 1..=65535,
        /// URL path prefix (HTTPS).
        pub path: Option<Text> => "path",
        /// Rate limit (`100/s`).
        #[schemars(pattern(RATE))]

        pub rate_limit: Option<Text> => "rateLimit",
        /// Cron schedule of a batch integration.
        pub schedule: Option<Text> => "schedule",
    }
}

record! {
    /// Maintenance window.
    pub struct Maintenance ("maintenance") {
        /// Weekly window: `Sun 02:00-05:00`.
        #[schemars(pattern(WINDOW))]

        pub window: Option<Text> => "window",
        /// IANA time zone of the window.
        pub timezone: Option<Text> => "timezone",
    }
}

record! {
    /// The settings a plant file, an environment overlay and fleet defaults share.
    pub struct PlantDoc ("plant") [kind = "Plant"] {
        /// Always `blueprint/v1`.
        pub api_version: Option<Spanned<ApiVersion>> => "apiVersion",
        /// Always `Plant`.
        pub kind: Option<Spanned<PlantKind>> => "kind",
        /// DNS-1123 label, at most 40 characters, unique in the fleet.
        #[schemars(pattern(DNS_LABEL), length(max = 40))]

        pub name: Option<Text> => "name",
        /// Free text.
        pub display_name: Option<Text> => "displayName",
        /// Free text.
        pub description: Option<Text> => "description",
        /// Region from the fleet.
        pub region: Option<Text> => "region",
        /// Owning team.
        pub owner: Option<Spanned<Owner>> => "owner",
        /// `critical`, `standard` or `basic`.
        pub tier: Option<Spanned<Tier>> => "tier",
        /// Tenancy model.
        pub tenancy: Option<Spanned<Tenancy>> => "tenancy",
        /// Shared cluster from the fleet (`shared`, `dedicated-namespace`).
        pub cluster: Option<Text> => "cluster",
        /// Recovery objectives.
        pub recovery: Option<Spanned<Recovery>> => "recovery",
        /// Odoo settings.
        pub odoo: Option<Spanned<Odoo>> => "odoo",
        /// Database settings.
        pub database: Option<Spanned<Database>> => "database",
        /// Ingress settings.
        pub ingress: Option<Spanned<Ingress>> => "ingress",
        /// Network settings.
        pub network: Option<Spanned<Network>> => "network",
        /// Integrations.
        pub integrations: Option<Spanned<Vec<Integration>>> => "integrations",
        /// Maintenance window.
        pub maintenance: Option<Spanned<Maintenance>> => "maintenance",
        /// Environments and their overlays (default `prod` and `staging`).
        pub environments: Option<Spanned<NamedMap<Overlay>>> => "environments",
    }
}

/// An environment overlay: any plant settings, deep-merged onto the base. Decoded after the
/// merge as part of the merged [`PlantDoc`]; here it only has to be a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlay(pub crate::Node);

impl schemars::JsonSchema for Overlay {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Overlay".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // Replaced by the plant schema minus its fixed keys in `schema::plant_schema`.
        schemars::json_schema!({ "type": "object" })
    }
}

impl crate::decode::Decode for Overlay {
    fn decode(node: &crate::Node, cx: &mut crate::decode::Cx) -> Option<Self> {
        if matches!(node.kind, crate::NodeKind::Null) {
            return Some(Overlay(crate::Node {
                span: node.span,
                kind: crate::NodeKind::Map(Vec::new()),
            }));
        }
        cx.map(node, "environment overlay")?;
        Some(Overlay(node.clone()))
    }
}

record! {
    /// `[organization]`.
    pub struct Organization ("organization") {
        /// DNS label, prefix of cloud resource names.
        pub name: Text => "name",
        /// Every `ingress.host` lies inside it.
        pub dns_zone: Text => "dnsZone",
        /// Repository Argo CD Applications point at.
        pub gitops_repo: Text => "gitopsRepo",
        /// Where approved images come from (`host[/path]`).
        pub image_registry: Text => "imageRegistry",
    }
}

record! {
    /// `[cloud]`.
    pub struct Cloud ("cloud") {
        /// Only `aws` in v1.
        pub provider: Spanned<Provider> => "provider",
        /// 12-digit AWS account id, as text.
        pub account_id: Text => "accountId",
    }
}

record! {
    /// `[regions.<name>]`.
    pub struct Region ("region") {
        /// Cloud region (`eu-west-3`).
        pub cloud_region: Text => "cloudRegion",
        /// Availability zones.
        pub zones: Spanned<Vec<Text>> => "zones",
        /// Region holding the second repository of `critical` plants.
        pub backup_peer: Option<Text> => "backupPeer",
    }
}

record! {
    /// CPU and memory quantities.
    pub struct Capacity ("capacity") {
        /// CPU (`64`, `500m`).
        pub cpu: Text => "cpu",
        /// Memory (`256Gi`).
        #[schemars(pattern(QUANTITY))]

        pub memory: Text => "memory",
    }
}

record! {
    /// A shared cluster's guarantee to `shared` tenants.
    pub struct ClusterRecovery ("cluster recovery") {
        /// Guaranteed RPO.
        #[schemars(pattern(DURATION))]

        pub rpo: Text => "rpo",
        /// Guaranteed RTO.
        #[schemars(pattern(DURATION))]

        pub rto: Text => "rto",
    }
}

record! {
    /// The shared PostgreSQL behind `shared` tenants.
    pub struct ClusterPostgres ("cluster postgres") {
        /// `max_connections`.
        pub max_connections: Spanned<u32> => "maxConnections",
        /// `reserved_connections`.
        pub reserved_connections: Option<Spanned<u32>> => "reservedConnections",
        /// PostgreSQL major version of the shared database (default: the fleet's).
        pub version: Option<Spanned<u32>> => "version",
    }
}

record! {
    /// The shared Odoo serving `shared` tenants (blueprint extension of DESIGN §3.2).
    pub struct ClusterOdoo ("cluster odoo") {
        /// Odoo version of the shared platform.
        pub version: Spanned<OdooVersion> => "version",
        /// Edition of the shared platform.
        pub edition: Option<Spanned<Edition>> => "edition",
        /// Image of the shared platform.
        pub image: Text => "image",
        /// Modules installed for every tenant.
        pub modules: Option<Spanned<Vec<Text>>> => "modules",
    }
}

record! {
    /// `[clusters.<name>]`.
    pub struct Cluster ("cluster") {
        /// Region of the cluster.
        pub region: Text => "region",
        /// OIDC issuer URL (workload identity).
        pub oidc_issuer: Option<Text> => "oidcIssuer",
        /// Allocatable capacity for tenants.
        pub capacity: Option<Spanned<Capacity>> => "capacity",
        /// The platform's own maintenance window.
        pub maintenance: Option<Spanned<Maintenance>> => "maintenance",
        /// What the shared platform guarantees.
        pub recovery: Option<Spanned<ClusterRecovery>> => "recovery",
        /// Shared PostgreSQL.
        pub postgres: Option<Spanned<ClusterPostgres>> => "postgres",
        /// Shared Odoo.
        pub odoo: Option<Spanned<ClusterOdoo>> => "odoo",
    }
}

record! {
    /// `[backup]` throughputs and allowances.
    pub struct Backup ("backup") {
        /// Restore throughput (`200Mi/s`).
        #[schemars(pattern(PER_SECOND))]

        pub restore_throughput: Option<Text> => "restoreThroughput",
        /// Backup throughput (`100Mi/s`).
        #[schemars(pattern(PER_SECOND))]

        pub backup_throughput: Option<Text> => "backupThroughput",
        /// WAL replay rate (`50Mi/s`).
        #[schemars(pattern(PER_SECOND))]

        pub wal_replay_rate: Option<Text> => "walReplayRate",
        /// Fixed part of every restore (`10m`).
        #[schemars(pattern(DURATION))]

        pub startup_allowance: Option<Text> => "startupAllowance",
    }
}

record! {
    /// IdP group names.
    pub struct Groups ("identity groups") {
        /// Full control.
        pub admin: Option<Text> => "admin",
        /// Day-to-day operation.
        pub operate: Option<Text> => "operate",
        /// Read only.
        pub view: Option<Text> => "view",
    }
}

record! {
    /// `[identity]`.
    pub struct Identity ("identity") {
        /// Group names per role.
        pub groups: Spanned<Groups> => "groups",
    }
}

record! {
    /// `[review]`: who approves each risk class.
    pub struct Review ("review") {
        /// Groups that approve a high-risk change: forge handles (`@org/team`), team names
        /// (written with `teamPrefix`) or `owner`, the plant's `owner.team`.
        #[schemars(length(min = 1))]

        pub high: Option<Spanned<Vec<Text>>> => "high",
        /// Groups that approve a medium-risk change.
        #[schemars(length(min = 1))]

        pub medium: Option<Spanned<Vec<Text>>> => "medium",
        /// Groups that approve a low-risk change.
        #[schemars(length(min = 1))]

        pub low: Option<Spanned<Vec<Text>>> => "low",
        /// Forge prefix of team names (`@hexacore/`); default `@<owner of gitopsRepo>/`.
        #[schemars(pattern(TEAM_PREFIX))]

        pub team_prefix: Option<Text> => "teamPrefix",
    }
}

record! {
    /// A tier profile or its override: every key optional.
    pub struct TierProfile ("tier profile") {
        /// Tenancies the tier allows.
        pub tenancies: Option<Spanned<Vec<Spanned<Tenancy>>>> => "tenancies",
        /// Minimum Odoo web replicas.
        pub min_replicas: Option<Spanned<u32>> => "minReplicas",
        /// HPA maximum as a multiple of the minimum.
        pub hpa_factor: Option<Spanned<u32>> => "hpaFactor",
        /// CPU limit per Odoo web pod, in whole CPUs.
        pub cpu_per_pod: Option<Spanned<u32>> => "cpuPerPod",
        /// Cron processes (`max_cron_threads`).
        pub cron_threads: Option<Spanned<u32>> => "cronThreads",
        /// `db_maxconn` per Odoo process.
        pub db_maxconn: Option<Spanned<u32>> => "dbMaxconn",
        /// PostgreSQL instances (1 = no standby).
        pub postgres_instances: Option<Spanned<u32>> => "postgresInstances",
        /// Synchronous replication (`synchronous_mode_strict`).
        pub synchronous_replication: Option<Spanned<bool>> => "synchronousReplication",
        /// Upper bound of derived `max_connections`.
        pub max_connections_cap: Option<Spanned<u32>> => "maxConnectionsCap",
        /// Redis architecture when a session store module is installed.
        pub redis_architecture: Option<Text> => "redisArchitecture",
        /// Redis persistence.
        pub redis_persistence: Option<Spanned<bool>> => "redisPersistence",
        /// Longest incremental backup interval the compiler may pick (`24h`).
        #[schemars(pattern(DURATION))]

        pub max_backup_interval: Option<Text> => "maxBackupInterval",
        /// Longest retention the tier pays for (`35d`).
        #[schemars(pattern(DURATION))]

        pub max_retention: Option<Text> => "maxRetention",
        /// Restore test schedule (cron).
        pub restore_test_schedule: Option<Text> => "restoreTestSchedule",
        /// Default RPO.
        #[schemars(pattern(DURATION))]

        pub rpo: Option<Text> => "rpo",
        /// Default RTO.
        #[schemars(pattern(DURATION))]

        pub rto: Option<Text> => "rto",
        /// Default point-in-time window.
        #[schemars(pattern(DURATION))]

        pub pitr_window: Option<Text> => "pitrWindow",
        /// Tightest RPO the tier honours.
        #[schemars(pattern(DURATION))]

        pub min_rpo: Option<Text> => "minRpo",
        /// Tightest RTO the tier honours.
        #[schemars(pattern(DURATION))]

        pub min_rto: Option<Text> => "minRto",
    }
}

record! {
    /// `[tiers]`: overrides of the embedded profiles.
    pub struct Tiers ("tiers") {
        /// `critical` overrides.
        pub critical: Option<Spanned<TierProfile>> => "critical",
        /// `standard` overrides.
        pub standard: Option<Spanned<TierProfile>> => "standard",
        /// `basic` overrides.
        pub basic: Option<Spanned<TierProfile>> => "basic",
    }
}

record! {
    /// The fleet file.
    pub struct FleetDoc ("fleet") [kind = "Fleet"] {
        /// Always `blueprint/v1`.
        pub api_version: Spanned<ApiVersion> => "apiVersion",
        /// Always `Fleet`.
        pub kind: Spanned<FleetKind> => "kind",
        /// Organisation.
        pub organization: Spanned<Organization> => "organization",
        /// Cloud account.
        pub cloud: Spanned<Cloud> => "cloud",
        /// Regions by name.
        pub regions: Spanned<NamedMap<Region>> => "regions",
        /// Shared clusters by name.
        pub clusters: Option<Spanned<NamedMap<Cluster>>> => "clusters",
        /// Backup throughputs.
        pub backup: Option<Spanned<Backup>> => "backup",
        /// Identity groups.
        pub identity: Option<Spanned<Identity>> => "identity",
        /// Tier overrides.
        pub tiers: Option<Spanned<Tiers>> => "tiers",
        /// Review policy.
        pub review: Option<Spanned<Review>> => "review",
        /// Organisation-wide plant defaults.
        pub defaults: Option<Spanned<Overlay>> => "defaults",
    }
}

/// The keys of the plant record at a dotted path (`""` for the top level, `odoo`, …), to tell a
/// missing key from a misspelt one; empty for paths that are not records.
#[must_use]
pub fn plant_keys_at(path: &str) -> &'static [&'static str] {
    match path {
        "" => PlantDoc::KEYS,
        "owner" => Owner::KEYS,
        "recovery" => Recovery::KEYS,
        "odoo" => Odoo::KEYS,
        "database" => Database::KEYS,
        "ingress" => Ingress::KEYS,
        "network" => Network::KEYS,
        "maintenance" => Maintenance::KEYS,
        _ => &[],
    }
}

//! The pure core of `blueprint diff`: what a change does to the plants, and how risky it is.
//!
//! 1. [`diff_intent`] compares the resolved models ([`EnvModel`], the rows of `explain`) of every
//!    plant environment before and after a change, field by field, and gives each changed field
//!    the highest risk class of the [`RULES`] that match it, with a one-line reason in the
//!    architecture board's terms ("RPO relaxed 5m → 15m"); a change no rule claims is medium
//!    (`unclassified`), so nothing unknown is called low.
//! 2. [`classify_output`] judges one generated file's change from its path and text (a stateful
//!    object deleted, a Traefik middleware dropped, prune protection removed, runbook text).
//!
//! The rules are data: one table, each row its id, scope, class, description, an example reason
//! and the function that matches it. docs/review.md shows the same table. No I/O: the CLI reads
//! the models (git or `blueprint.lock`) and the rendered files.

use crate::ResolvedPlant;
use crate::explain;
use crate::units;
use blueprint_diagnostics::SourceMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Risk classes, ordered `none < low < medium < high`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    /// Byte-identical output: no rule gives it, the CLI does.
    #[default]
    None,
    /// Routine: an image bump, labels and owner, runbook text.
    Low,
    /// Capacity, schedules, tightened recovery, a new integration or environment, and anything
    /// no rule knows.
    Medium,
    /// Can lose data or open access: relaxed recovery, shorter retention, tenancy, removals,
    /// new public hosts, widened allow lists, deleted stateful objects.
    High,
}

impl Risk {
    /// `none`, `low`, `medium` or `high`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::None => "none",
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a rule judges: a field of the resolved model, or a generated file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The resolved model of a plant environment ([`diff_intent`]).
    Intent,
    /// A generated file ([`classify_output`], [`unexplained_output`]).
    Output,
}

/// One row of a resolved model as stored and compared: an owned copy of [`explain::Row`].
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct IntentRow {
    /// Dotted field path (`recovery.rpo`); `integrations.<name>.peers` has one row per peer.
    pub field: String,
    /// The value as `explain` prints it.
    pub value: String,
    /// Origin kind: `plant`, `overlay`, `fleet-default`, `fleet`, `tier`, `tier-fleet`, `derived`.
    pub origin: String,
    /// Origin as text (a location, a profile, or the derivation).
    pub from: String,
    /// Where the value was written, when it was written somewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<IntentLocation>,
    /// The rule that derived the value, for derived values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// A place in an input file.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct IntentLocation {
    /// Path as shown to the user.
    pub file: String,
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub column: u32,
}

impl From<&explain::Row> for IntentRow {
    fn from(r: &explain::Row) -> Self {
        IntentRow {
            field: r.field.clone(),
            value: r.value.clone(),
            origin: r.origin.to_string(),
            from: r.from.clone(),
            location: r.location.as_ref().map(|l| IntentLocation {
                file: l.file.clone(),
                line: l.line,
                column: l.column,
            }),
            rule: r.rule.map(str::to_string),
        }
    }
}

/// The resolved model of one plant environment.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct EnvModel {
    /// Plant name.
    pub plant: String,
    /// Environment.
    pub env: String,
    /// The plant file's path.
    pub file: String,
    /// The rows of `explain`, in its order.
    pub rows: Vec<IntentRow>,
}

impl EnvModel {
    /// The model as compact JSON with one row per line (how `blueprint.lock` holds it: quick
    /// to write for large plants, and a changed value is one changed line in review).
    #[must_use]
    pub fn to_lock_json(&self) -> String {
        // `rows` is the last field: the rest serialises with an empty list, then the rows go in.
        let head = EnvModel {
            plant: self.plant.clone(),
            env: self.env.clone(),
            file: self.file.clone(),
            rows: Vec::new(),
        };
        let mut s = serde_json::to_string(&head).unwrap_or_default();
        if s.ends_with("[]}") {
            s.truncate(s.len() - 2);
            for (i, row) in self.rows.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push('\n');
                s.push_str(&serde_json::to_string(row).unwrap_or_default());
            }
            s.push_str("\n]}");
        }
        s
    }

    /// The model of a resolved plant environment: its `explain` rows.
    #[must_use]
    pub fn of(map: &SourceMap, p: &ResolvedPlant) -> Self {
        EnvModel {
            plant: p.name.value.clone(),
            env: p.env.clone(),
            file: p.file.clone(),
            rows: explain::rows(map, p).iter().map(IntentRow::from).collect(),
        }
    }
}

/// One changed field of a plant environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntentChange {
    /// Dotted field path; `environment` for an environment added or removed.
    pub field: String,
    /// The value before (rows of a repeated field joined with `, `); `None` when absent.
    pub before: Option<String>,
    /// The value after; `None` when absent.
    pub after: Option<String>,
    /// Where the value before came from (`from` of its first row).
    pub before_from: Option<String>,
    /// Where the value after comes from.
    pub after_from: Option<String>,
    /// Where the value after (or, when it is gone, before) was written, if it was written.
    pub location: Option<IntentLocation>,
    /// The class of the rule that matched.
    pub risk: Risk,
    /// The rule's id (see [`RULES`]).
    pub rule: &'static str,
    /// One specific line: `RPO relaxed 5m → 15m`.
    pub reason: String,
}

/// How a plant environment differs between the two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvStatus {
    /// Only after.
    Added,
    /// Only before.
    Removed,
    /// On both sides, with at least one changed field.
    Changed,
}

/// The changes of one plant environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvDiff {
    /// Plant name.
    pub plant: String,
    /// Environment.
    pub env: String,
    /// The plant file (after; before for a removed environment).
    pub file: String,
    /// Added, removed or changed.
    pub status: EnvStatus,
    /// Its changes, highest class first, then in `explain` order. An added or removed
    /// environment has one change of field `environment` (plus, for an added one, any rule
    /// of class high its new values meet).
    pub changes: Vec<IntentChange>,
    /// The highest class of its changes.
    pub risk: Risk,
    /// The reason of its highest change, and how many more there are.
    pub reason: String,
}

/// How a generated file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileChange {
    /// New file.
    Added,
    /// Different bytes.
    Changed,
    /// No longer generated.
    Deleted,
}

/// The class an output rule gives a generated file's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputRisk {
    /// The rule's class.
    pub risk: Risk,
    /// The rule's id.
    pub rule: &'static str,
    /// One specific line.
    pub reason: String,
}

/// One rule of the table.
#[derive(Debug, Serialize)]
pub struct Rule {
    /// Stable kebab-case id, shown with every change it classifies.
    pub id: &'static str,
    /// What it judges.
    pub scope: Scope,
    /// The class it gives.
    pub risk: Risk,
    /// What triggers it, one line (docs/review.md).
    pub description: &'static str,
    /// A reason it gives, as docs/review.md shows it; a test produces it from a real model.
    pub example: &'static str,
    /// How it matches.
    #[serde(skip)]
    check: Check,
}

/// How a rule matches.
#[derive(Debug, Clone, Copy)]
enum Check {
    /// Judges one changed field: the reason when it applies.
    Field(fn(&FieldChange<'_>) -> Option<String>),
    /// Judges one generated file: the reason when it applies.
    File(fn(&OutputFile<'_>) -> Option<String>),
    /// Applied by [`diff_intent`] to an environment only one side has.
    Env,
    /// A changed field no `Field` rule claims.
    Unclassified,
    /// A changed file nothing explains ([`unexplained_output`]).
    Unexplained,
}

const ENV_ADDED: &str = "env-added";
const ENV_REMOVED: &str = "env-removed";
const PLANT_REMOVED: &str = "plant-removed";
const UNCLASSIFIED: &str = "unclassified";
const UNEXPLAINED: &str = "unexplained-output";
const TEMPLATE: &str = "template";

/// Every rule: intent rules of class high, medium, low, then output rules. When several match
/// one change, the highest class wins (the first of the table among equals).
pub static RULES: &[Rule] = &[
    Rule {
        id: "recovery-relaxed",
        scope: Scope::Intent,
        risk: Risk::High,
        description: "`recovery.rpo` or `recovery.rto` increased, `recovery.pitrWindow` shortened, or `database.synchronousReplication` turned off",
        example: "RPO relaxed 5m → 15m",
        check: Check::Field(recovery_relaxed),
    },
    Rule {
        id: "retention-shortened",
        scope: Scope::Intent,
        risk: Risk::High,
        description: "`backup.retentionFullDays` (pgBackRest) or `backup.retentionDays` (RDS) decreased",
        example: "full backup retention shortened 30 → 14 days",
        check: Check::Field(retention_shortened),
    },
    Rule {
        id: "tenancy-changed",
        scope: Scope::Intent,
        risk: Risk::High,
        description: "`tenancy` changed: the plant moves to other infrastructure, with its data",
        example: "tenancy dedicated-namespace → dedicated-cluster",
        check: Check::Field(tenancy_changed),
    },
    Rule {
        id: "placement-changed",
        scope: Scope::Intent,
        risk: Risk::High,
        description: "`region` or `cluster` changed, or the shared platform's database, Odoo or backup of a shared tenant (`database.instance`, `odoo.processes`, `backup`)",
        example: "cluster shared-eu-west → shared-eu-central",
        check: Check::Field(placement_changed),
    },
    Rule {
        id: "network-changed",
        scope: Scope::Intent,
        risk: Risk::High,
        description: "`network.cidr` changed, added or removed",
        example: "network.cidr 10.10.0.0/16 → 10.20.0.0/16: the plant network is re-addressed",
        check: Check::Field(network_changed),
    },
    Rule {
        id: ENV_REMOVED,
        scope: Scope::Intent,
        risk: Risk::High,
        description: "an environment is removed from a plant that keeps others",
        example: "environment lyon/training removed",
        check: Check::Env,
    },
    Rule {
        id: PLANT_REMOVED,
        scope: Scope::Intent,
        risk: Risk::High,
        description: "a plant is removed (one change per environment it had)",
        example: "plant saint-etienne removed (environment prod)",
        check: Check::Env,
    },
    Rule {
        id: "public-host",
        scope: Scope::Intent,
        risk: Risk::High,
        description: "`ingress.host` of an existing environment changed (or added)",
        example: "public host lyon.erp.hexacore.eu → lyon-new.erp.hexacore.eu",
        check: Check::Field(public_host),
    },
    Rule {
        id: "allow-list-widened",
        scope: Scope::Intent,
        risk: Risk::High,
        description: "`ingress.adminAllowFrom` allows an address it did not, or is removed; a new environment's list covering every address",
        example: "admin allow list widened: 192.168.0.0/16 now allowed",
        check: Check::Field(allow_list_widened),
    },
    Rule {
        id: "peers-widened",
        scope: Scope::Intent,
        risk: Risk::High,
        description: "`integrations.<name>.peers` of an existing integration allows an address or direction it did not; a new integration's peers covering every address",
        example: "integration mes-presses peers widened: with 172.16.0.0/16 now allowed",
        check: Check::Field(peers_widened),
    },
    Rule {
        id: "client-certificates-removed",
        scope: Scope::Intent,
        risk: Risk::High,
        description: "an integration that required client certificates (mutual TLS) no longer does",
        example: "integration supplier-qualification no longer requires client certificates",
        check: Check::Field(client_certificates_removed),
    },
    Rule {
        id: "backup-repo-removed",
        scope: Scope::Intent,
        risk: Risk::High,
        description: "`backup.repo2` (the second region's copy) or any `backup.repoN` removed, or the RDS `backup.crossRegionReplication`",
        example: "second backup repository removed: s3://hexacore-pgbackrest-eu-central-1/pgbackrest/lyon/prod (eu-central-1)",
        check: Check::Field(backup_repo_removed),
    },
    Rule {
        id: "capacity",
        scope: Scope::Intent,
        risk: Risk::Medium,
        description: "`odoo.users`, `workers`, `replicas`, `maxReplicas`, CPU and memory requests and limits, `limitMemory*`, `cronThreads`, `dbMaxconn*`, `database.size`/`writeRate`/`instances`/`storage`/`allocatedStorage`/`filestoreStorage`, connection counts, `ingress.maxUploadSize`, `quota.*`",
        example: "odoo.replicas raised 4 → 6",
        check: Check::Field(capacity),
    },
    Rule {
        id: "schedule",
        scope: Scope::Intent,
        risk: Risk::Medium,
        description: "`backup.full`, `backup.differential`, `backup.incremental`, `backup.restoreTestSchedule`, `maintenance.window`, `maintenance.timezone`",
        example: "backup.full schedule 0 17 * * 6 → 0 18 * * 6",
        check: Check::Field(schedule),
    },
    Rule {
        id: "recovery-tightened",
        scope: Scope::Intent,
        risk: Risk::Medium,
        description: "`recovery.rpo`/`rto` decreased, `recovery.pitrWindow` lengthened, synchronous replication turned on: its backups change",
        example: "RPO tightened 5m → 2m",
        check: Check::Field(recovery_tightened),
    },
    Rule {
        id: "backup-changed",
        scope: Scope::Intent,
        risk: Risk::Medium,
        description: "`backup.interval`, `fullDuration`, `archiveTimeout`, `archiveLossWindow`, `method`, `database.minPgbackrestVersion`, `recovery.rtoEstimate`, a repository added or moved, retention lengthened",
        example: "backup.interval 6h → 4h",
        check: Check::Field(backup_changed),
    },
    Rule {
        id: "tier-changed",
        scope: Scope::Intent,
        risk: Risk::Medium,
        description: "`tier` changed (the values it brings are judged by their own rules)",
        example: "tier critical → standard",
        check: Check::Field(tier_changed),
    },
    Rule {
        id: "odoo-upgrade",
        scope: Scope::Intent,
        risk: Risk::Medium,
        description: "`odoo.version` to another major version (a database migration), or `odoo.edition`",
        example: "Odoo 18.0 → 19.0: major upgrade, the database is migrated",
        check: Check::Field(odoo_upgrade),
    },
    Rule {
        id: "postgres-upgrade",
        scope: Scope::Intent,
        risk: Risk::Medium,
        description: "`database.postgresVersion` changed",
        example: "PostgreSQL 16 → 17: major upgrade",
        check: Check::Field(postgres_upgrade),
    },
    Rule {
        id: "modules-changed",
        scope: Scope::Intent,
        risk: Risk::Medium,
        description: "`odoo.modules` installed, dropped or reordered",
        example: "modules +mrp_plm −stock_barcode",
        check: Check::Field(modules_changed),
    },
    Rule {
        id: "image-source-changed",
        scope: Scope::Intent,
        risk: Risk::Medium,
        description: "`odoo.image` from another repository or registry",
        example: "image source registry.hexacore.eu/erp/odoo-enterprise → registry.hexacore.eu/erp/odoo-custom",
        check: Check::Field(image_source_changed),
    },
    Rule {
        id: "access-narrowed",
        scope: Scope::Intent,
        risk: Risk::Medium,
        description: "`ingress.adminAllowFrom` or an integration's peers allow fewer addresses and none new: someone may lose access",
        example: "admin allow list narrowed: 192.168.200.0/26 no longer allowed",
        check: Check::Field(access_narrowed),
    },
    Rule {
        id: "integration-added",
        scope: Scope::Intent,
        risk: Risk::Medium,
        description: "a new integration",
        example: "new integration group-bi: bi inbound postgres-readonly from 172.16.10.32/28, port 5432",
        check: Check::Field(integration_added),
    },
    Rule {
        id: "integration-removed",
        scope: Scope::Intent,
        risk: Risk::Medium,
        description: "an integration removed: the peer loses its path",
        example: "integration group-bi removed (bi inbound postgres-readonly)",
        check: Check::Field(integration_removed),
    },
    Rule {
        id: "integration-changed",
        scope: Scope::Intent,
        risk: Risk::Medium,
        description: "an integration's kind, direction, protocol, `port`, `path`, `rateLimit` or `schedule`, or client certificates now required",
        example: "integration mes-presses port 5671 → 5672",
        check: Check::Field(integration_changed),
    },
    Rule {
        id: ENV_ADDED,
        scope: Scope::Intent,
        risk: Risk::Medium,
        description: "a new environment or plant; its public host is named",
        example: "new environment lyon/training: host lyon-training.erp.hexacore.eu, dedicated-cluster, critical",
        check: Check::Env,
    },
    Rule {
        id: UNCLASSIFIED,
        scope: Scope::Intent,
        risk: Risk::Medium,
        description: "any other change (`redis.*`, `name`, fields added in later versions), or a value a rule cannot read",
        example: "unclassified change: redis.persistence true → false",
        check: Check::Unclassified,
    },
    Rule {
        id: "image-bump",
        scope: Scope::Intent,
        risk: Risk::Low,
        description: "`odoo.image` tag or digest in the same repository, or `odoo.version` within its major version",
        example: "image registry.hexacore.eu/erp/odoo-enterprise:18.0-hx3@sha256:78e917b3e6d4 → :18.0-hx4@sha256:0123456789ab",
        check: Check::Field(image_bump),
    },
    Rule {
        id: "metadata",
        scope: Scope::Intent,
        risk: Risk::Low,
        description: "`displayName`, `description`, `owner.team`, `owner.email`, `owner.costCenter`: labels and annotations",
        example: "owner.team hx-erp-lyon → hx-erp-france",
        check: Check::Field(metadata),
    },
    Rule {
        id: "stateful-deleted",
        scope: Scope::Output,
        risk: Risk::High,
        description: "a Namespace, PersistentVolumeClaim or PostgresCluster deleted (by kind, or by file name when the text cannot be read); a file of `terraform/backup/<region>/` or `terraform/modules/{backup-bucket,managed-database}/` deleted; a `module` block sourcing `backup-bucket` or `managed-database` deleted or dropped from its file",
        example: "PersistentVolumeClaim lyon-staging/odoo-filestore deleted",
        check: Check::File(stateful_deleted),
    },
    Rule {
        id: "middleware-removed",
        scope: Scope::Output,
        risk: Risk::High,
        description: "a Traefik Middleware (`traefik/middleware-*.yaml`) deleted, or a route of an IngressRoute losing a middleware reference",
        example: "IngressRoute lyon-prod/odoo lost middleware odoo-admin-allowlist",
        check: Check::File(middleware_removed),
    },
    Rule {
        id: "prune-protection-removed",
        scope: Scope::Output,
        risk: Risk::High,
        description: "an object's `argocd.argoproj.io/sync-options` annotation loses `Prune=false` or `Delete=false`",
        example: "PersistentVolumeClaim lyon-prod/odoo-filestore lost sync option Prune=false, Delete=false",
        check: Check::File(prune_protection_removed),
    },
    Rule {
        id: UNEXPLAINED,
        scope: Scope::Output,
        risk: Risk::Medium,
        description: "a generated file changed that no other output rule and no intent change of its environment explains",
        example: "generated file changed with no intent change: plants/lyon/prod/kubernetes/deployment-odoo-web.yaml",
        check: Check::Unexplained,
    },
    Rule {
        id: TEMPLATE,
        scope: Scope::Output,
        risk: Risk::Medium,
        description: "a generated file changed that no other output rule and no intent change explains, and the base was generated by another blueprint version: the generator's own change (read it with the release notes)",
        example: "generated by blueprint 0.1.0, now by blueprint 0.2.0: plants/lyon/prod/kubernetes/deployment-odoo-web.yaml",
        check: Check::Unexplained,
    },
    Rule {
        id: "runbook-text",
        scope: Scope::Output,
        risk: Risk::Low,
        description: "a runbook (`runbooks/*.md`, `clusters/<cluster>/platform/runbook.md`) added or changed: text for people. Alone it makes a low change; with intent changes, theirs decide",
        example: "runbook text changed: runbooks/lyon.md",
        check: Check::File(runbook_text),
    },
];

/// The rule of an id.
#[must_use]
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

fn risk_of(id: &str) -> Risk {
    rule(id).map_or(Risk::Medium, |r| r.risk)
}

// ---------------------------------------------------------------------------------------------
// Intent
// ---------------------------------------------------------------------------------------------

/// The rows of one model by field, in `explain` order.
struct Fields<'a> {
    order: Vec<&'a str>,
    rows: BTreeMap<&'a str, Vec<&'a IntentRow>>,
}

impl<'a> Fields<'a> {
    fn of(m: Option<&'a EnvModel>) -> Self {
        let mut f = Fields {
            order: Vec::new(),
            rows: BTreeMap::new(),
        };
        for r in m.map_or(&[][..], |m| &m.rows) {
            let rows = f.rows.entry(r.field.as_str()).or_default();
            if rows.is_empty() {
                f.order.push(&r.field);
            }
            rows.push(r);
        }
        f
    }
    fn rows(&self, field: &str) -> &[&'a IntentRow] {
        self.rows.get(field).map_or(&[], Vec::as_slice)
    }
    fn values(&self, field: &str) -> Vec<&'a str> {
        self.rows(field).iter().map(|r| r.value.as_str()).collect()
    }
    fn value(&self, field: &str) -> Option<&'a str> {
        self.rows(field).first().map(|r| r.value.as_str())
    }
    /// Names of the integrations (rows `integrations.<name>`).
    fn integrations(&self) -> BTreeSet<&'a str> {
        self.order
            .iter()
            .filter_map(|f| match integration_field(f) {
                Some((name, None)) => Some(name),
                _ => None,
            })
            .collect()
    }
}

/// One changed field, as the rules see it.
struct FieldChange<'a> {
    field: &'a str,
    /// Its values before (one per row; none when absent).
    before: Vec<&'a str>,
    /// Its values after.
    after: Vec<&'a str>,
    /// The field belongs to something new (an environment or an integration): it has no old
    /// value to be compared with, only rules that judge a value on its own apply.
    new: bool,
    /// The whole model after (what a new integration holds).
    model: &'a Fields<'a>,
}

impl FieldChange<'_> {
    fn old(&self) -> Option<&str> {
        self.before.first().copied()
    }
    fn now(&self) -> Option<&str> {
        self.after.first().copied()
    }
    fn both(&self) -> Option<(&str, &str)> {
        Some((self.old()?, self.now()?))
    }
    /// `old → now`, each shortened, `(none)` when absent.
    fn arrow(&self) -> String {
        format!("{} → {}", shown(&self.before), shown(&self.after))
    }
}

/// `integrations.<name>[.<sub>]` → (name, sub). Names are DNS labels: no dots.
fn integration_field(field: &str) -> Option<(&str, Option<&str>)> {
    let rest = field.strip_prefix("integrations.")?;
    Some(match rest.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (rest, None),
    })
}

/// The models by (plant, environment); the first of a key counts.
fn by_key(models: &[EnvModel]) -> BTreeMap<(&str, &str), &EnvModel> {
    let mut map = BTreeMap::new();
    for m in models {
        map.entry((m.plant.as_str(), m.env.as_str())).or_insert(m);
    }
    map
}

/// Compares the models of every plant environment before and after a change. Both sides are
/// keyed by (plant, environment) (the first model of a key counts); unchanged environments are
/// omitted; the result is sorted by plant, then environment. A field whose value is the same
/// on both sides is unchanged whatever its origin; allow lists and peers are compared as the
/// addresses they allow (reordering is no change).
#[must_use]
pub fn diff_intent(before: &[EnvModel], after: &[EnvModel]) -> Vec<EnvDiff> {
    let (b, a) = (by_key(before), by_key(after));
    let plants_after: BTreeSet<&str> = after.iter().map(|m| m.plant.as_str()).collect();
    let plants_before: BTreeSet<&str> = before.iter().map(|m| m.plant.as_str()).collect();
    let keys: BTreeSet<&(&str, &str)> = b.keys().chain(a.keys()).collect();
    let mut out = Vec::new();
    for k in keys {
        let diff = match (b.get(k).copied(), a.get(k).copied()) {
            (Some(old), Some(new)) => changed(old, new),
            (Some(old), None) => Some(removed(old, plants_after.contains(old.plant.as_str()))),
            (None, Some(new)) => Some(added(new, plants_before.contains(new.plant.as_str()))),
            (None, None) => None,
        };
        out.extend(diff);
    }
    out
}

fn env_diff(m: &EnvModel, status: EnvStatus, mut changes: Vec<IntentChange>) -> EnvDiff {
    // Highest class first; the sort is stable, so `explain` order among equals.
    changes.sort_by_key(|c| std::cmp::Reverse(c.risk));
    let risk = changes.iter().map(|c| c.risk).max().unwrap_or_default();
    let reason = match changes.as_slice() {
        [] => String::new(),
        [one] => one.reason.clone(),
        [first, rest @ ..] => format!(
            "{}; {} more change{}",
            first.reason,
            rest.len(),
            if rest.len() == 1 { "" } else { "s" }
        ),
    };
    EnvDiff {
        plant: m.plant.clone(),
        env: m.env.clone(),
        file: m.file.clone(),
        status,
        changes,
        risk,
        reason,
    }
}

fn changed(old: &EnvModel, new: &EnvModel) -> Option<EnvDiff> {
    let (b, a) = (Fields::of(Some(old)), Fields::of(Some(new)));
    let changes = field_changes(&b, &a, false);
    (!changes.is_empty()).then(|| env_diff(new, EnvStatus::Changed, changes))
}

fn removed(old: &EnvModel, plant_stays: bool) -> EnvDiff {
    let (rule, reason) = if plant_stays {
        (
            ENV_REMOVED,
            format!("environment {}/{} removed", old.plant, old.env),
        )
    } else {
        (
            PLANT_REMOVED,
            format!("plant {} removed (environment {})", old.plant, old.env),
        )
    };
    let name = old.rows.iter().find(|r| r.field == "name");
    let change = IntentChange {
        field: "environment".into(),
        before: Some(old.env.clone()),
        after: None,
        before_from: Some(old.file.clone()),
        after_from: None,
        location: name.and_then(|r| r.location.clone()),
        risk: risk_of(rule),
        rule,
        reason,
    };
    env_diff(old, EnvStatus::Removed, vec![change])
}

fn added(new: &EnvModel, plant_existed: bool) -> EnvDiff {
    let (b, a) = (Fields::of(None), Fields::of(Some(new)));
    let mut detail: Vec<String> = a
        .value("ingress.host")
        .map(|h| format!("host {h}"))
        .into_iter()
        .collect();
    detail.extend(
        ["tenancy", "tier"]
            .iter()
            .filter_map(|f| a.value(f))
            .map(str::to_string),
    );
    let detail = detail.join(", ");
    let reason = if plant_existed {
        format!("new environment {}/{}", new.plant, new.env)
    } else {
        format!("new plant {} (environment {})", new.plant, new.env)
    };
    let reason = if detail.is_empty() {
        reason
    } else {
        format!("{reason}: {detail}")
    };
    let name = a.rows("name").first().copied();
    let mut changes = vec![IntentChange {
        field: "environment".into(),
        before: None,
        after: Some(new.env.clone()),
        before_from: None,
        after_from: Some(new.file.clone()),
        location: name.and_then(|r| r.location.clone()),
        risk: risk_of(ENV_ADDED),
        rule: ENV_ADDED,
        reason,
    }];
    changes.extend(field_changes(&b, &a, true));
    env_diff(new, EnvStatus::Added, changes)
}

/// The changed fields between two models, in `explain` order (fields only before last).
/// `env_added`: every value is new.
fn field_changes(b: &Fields<'_>, a: &Fields<'_>, env_added: bool) -> Vec<IntentChange> {
    let (ints_b, ints_a) = (b.integrations(), a.integrations());
    let mut fields: Vec<&str> = a.order.clone();
    fields.extend(b.order.iter().filter(|f| !a.rows.contains_key(*f)));
    let mut changes = Vec::new();
    for field in fields {
        let mut new = env_added;
        if let Some((name, Some(_))) = integration_field(field) {
            match (ints_b.contains(name), ints_a.contains(name)) {
                // A removed integration: its own row says so.
                (true, false) => continue,
                // A new integration's values are part of it.
                (false, true) => new = true,
                _ => {}
            }
        }
        let (before, after) = (b.values(field), a.values(field));
        if same(field, &before, &after) {
            continue;
        }
        let c = FieldChange {
            field,
            before,
            after,
            new,
            model: a,
        };
        let (rule, risk, reason) = judge(&c);
        // What is new is reported by what holds it (the environment, the integration); only a
        // high rule says more.
        if new && risk <= Risk::Medium {
            continue;
        }
        let (rb, ra) = (b.rows(field).first(), a.rows(field).first());
        changes.push(IntentChange {
            field: field.to_string(),
            before: joined(&c.before),
            after: joined(&c.after),
            before_from: rb.map(|r| r.from.clone()),
            after_from: ra.map(|r| r.from.clone()),
            location: ra
                .and_then(|r| r.location.clone())
                .or_else(|| rb.and_then(|r| r.location.clone())),
            risk,
            rule,
            reason,
        });
    }
    changes
}

/// The highest-class `Field` rule that matches, else `unclassified`.
fn judge(c: &FieldChange<'_>) -> (&'static str, Risk, String) {
    let mut best: Option<(&'static Rule, String)> = None;
    for r in RULES {
        if let Check::Field(f) = r.check
            && best.as_ref().is_none_or(|(b, _)| r.risk > b.risk)
            && let Some(reason) = f(c)
        {
            best = Some((r, reason));
        }
    }
    match best {
        Some((r, reason)) => (r.id, r.risk, reason),
        None => (
            UNCLASSIFIED,
            risk_of(UNCLASSIFIED),
            format!("unclassified change: {} {}", c.field, c.arrow()),
        ),
    }
}

/// Whether a field did not change: equal values, or (allow lists, peers) the same addresses
/// allowed, or (repeated rows) the same rows in another order.
fn same(field: &str, before: &[&str], after: &[&str]) -> bool {
    if before == after {
        return true;
    }
    if let (Some(x), Some(y)) = (access(field, before), access(field, after)) {
        return Reach::of(&x) == Reach::of(&y);
    }
    let (mut x, mut y) = (before.to_vec(), after.to_vec());
    x.sort_unstable();
    y.sort_unstable();
    x.len() > 1 && x == y
}

fn joined(values: &[&str]) -> Option<String> {
    (!values.is_empty()).then(|| values.join(", "))
}

/// Values for a reason: joined, on one line, at most 100 characters; `(none)` when absent.
fn shown(values: &[&str]) -> String {
    match joined(values) {
        Some(v) => short(&v),
        None => "(none)".into(),
    }
}

fn short(s: &str) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= 100 {
        one_line
    } else {
        let mut t: String = one_line.chars().take(99).collect();
        t.push('…');
        t
    }
}

// --- values ---------------------------------------------------------------------------------

fn durations(c: &FieldChange<'_>) -> Option<(u64, u64)> {
    let (x, y) = c.both()?;
    Some((units::duration(x).ok()?, units::duration(y).ok()?))
}

fn integers(c: &FieldChange<'_>) -> Option<(u64, u64)> {
    let (x, y) = c.both()?;
    Some((x.trim().parse().ok()?, y.trim().parse().ok()?))
}

/// A sizing value as a number: CPU in millicores, bytes (`2432Mi`, `20Gi/day`), or a count.
fn magnitude(field: &str, s: &str) -> Option<u64> {
    let s = s.trim();
    if field.ends_with("cpu") || field.ends_with("cpuRequest") || field.ends_with("cpuLimit") {
        return units::cpu_millis(s).ok();
    }
    if let Ok(n) = s.parse() {
        return Some(n);
    }
    if s.contains('/') {
        return units::rate(s, "day").ok();
    }
    units::quantity(s).ok()
}

/// `18.0` → 18.
fn major(version: &str) -> Option<u32> {
    version.trim().split('.').next()?.parse().ok()
}

// --- networks -------------------------------------------------------------------------------

/// One allowed network, with the directions it is allowed in.
#[derive(Debug, Clone)]
struct Allowed<'a> {
    net: ipnet::IpNet,
    inbound: bool,
    outbound: bool,
    /// The network as written.
    text: &'a str,
    /// A peer (`from`/`to`/`with` before the network), not an allow list entry.
    peer: bool,
}

fn is_access_field(field: &str) -> bool {
    field == "ingress.adminAllowFrom"
        || integration_field(field).is_some_and(|(_, sub)| sub == Some("peers"))
}

/// The networks an allow list (`a, b`, or `[] (blocked)`) or the peers of an integration
/// (`from a`, `to b`, `with c`, one row each) allow; `None` when absent or unreadable.
fn access<'a>(field: &str, values: &[&'a str]) -> Option<Vec<Allowed<'a>>> {
    if field == "ingress.adminAllowFrom" {
        let [v] = values else { return None };
        if v.trim().starts_with("[]") {
            return Some(Vec::new());
        }
        return v
            .split(',')
            .map(|t| {
                let t = t.trim();
                Some(Allowed {
                    net: t.parse().ok()?,
                    inbound: true,
                    outbound: false,
                    text: t,
                    peer: false,
                })
            })
            .collect();
    }
    if !is_access_field(field) || values.is_empty() {
        return None;
    }
    values
        .iter()
        .map(|v| {
            let (word, net) = v.trim().split_once(' ')?;
            let (inbound, outbound) = match word {
                "from" => (true, false),
                "to" => (false, true),
                "with" => (true, true),
                _ => return None,
            };
            let net = net.trim();
            Some(Allowed {
                net: net.parse().ok()?,
                inbound,
                outbound,
                text: net,
                peer: true,
            })
        })
        .collect()
}

/// An inclusive range of addresses of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Span {
    v6: bool,
    start: u128,
    end: u128,
}

impl Span {
    fn of(net: &ipnet::IpNet) -> Self {
        match net.trunc() {
            ipnet::IpNet::V4(n) => Span {
                v6: false,
                start: u128::from(u32::from(n.network())),
                end: u128::from(u32::from(n.broadcast())),
            },
            ipnet::IpNet::V6(n) => Span {
                v6: true,
                start: u128::from(n.network()),
                end: u128::from(n.broadcast()),
            },
        }
    }
    fn everything(self) -> bool {
        self.start == 0
            && self.end
                == if self.v6 {
                    u128::MAX
                } else {
                    u128::from(u32::MAX)
                }
    }
}

/// Sorted, merged (overlapping or adjacent ranges joined): two lists allow the same addresses
/// exactly when their merged forms are equal, and a network is allowed by a list exactly when
/// one merged range contains it.
fn merged(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_unstable();
    let mut out: Vec<Span> = Vec::new();
    for s in spans {
        match out.last_mut() {
            Some(last) if last.v6 == s.v6 && s.start <= last.end.saturating_add(1) => {
                last.end = last.end.max(s.end);
            }
            _ => out.push(s),
        }
    }
    out
}

/// What a list allows: merged ranges per direction.
#[derive(Debug, PartialEq, Eq)]
struct Reach {
    inbound: Vec<Span>,
    outbound: Vec<Span>,
}

impl Reach {
    fn of(list: &[Allowed<'_>]) -> Self {
        let pick = |dir: fn(&Allowed<'_>) -> bool| {
            merged(
                list.iter()
                    .filter(|a| dir(a))
                    .map(|a| Span::of(&a.net))
                    .collect(),
            )
        };
        Reach {
            inbound: pick(|a| a.inbound),
            outbound: pick(|a| a.outbound),
        }
    }
    fn allows(spans: &[Span], s: Span) -> bool {
        spans
            .iter()
            .any(|m| m.v6 == s.v6 && m.start <= s.start && s.end <= m.end)
    }
    fn everything(&self) -> bool {
        self.inbound
            .iter()
            .chain(&self.outbound)
            .any(|s| s.everything())
    }
}

/// The entries of `list` that `other` does not allow, a peer with the directions it is not
/// allowed in (`from 10.1.0.0/16`).
fn beyond(list: &[Allowed<'_>], other: &[Allowed<'_>]) -> Vec<String> {
    let reach = Reach::of(other);
    list.iter()
        .filter_map(|a| {
            let s = Span::of(&a.net);
            let inbound = a.inbound && !Reach::allows(&reach.inbound, s);
            let outbound = a.outbound && !Reach::allows(&reach.outbound, s);
            let word = match (inbound, outbound) {
                (false, false) => return None,
                _ if !a.peer => return Some(a.text.to_string()),
                (true, true) => "with",
                (true, false) => "from",
                (false, true) => "to",
            };
            Some(format!("{word} {}", a.text))
        })
        .collect()
}

/// `mes-presses peers` or `admin allow list`, for reasons.
fn access_name(field: &str) -> String {
    match integration_field(field) {
        Some((name, _)) => format!("integration {name} peers"),
        None => "admin allow list".into(),
    }
}

// --- intent rules ---------------------------------------------------------------------------

fn recovery_label(field: &str) -> Option<&'static str> {
    Some(match field {
        "recovery.rpo" => "RPO",
        "recovery.rto" => "RTO",
        "recovery.pitrWindow" => "PITR window",
        _ => return None,
    })
}

/// Whether a change of a recovery objective relaxes (`true`) or tightens (`false`) what the
/// plant promises, with the reason; `None` when it does neither or cannot be read.
fn recovery_direction(c: &FieldChange<'_>) -> Option<(bool, String)> {
    if c.field == "database.synchronousReplication" {
        return match c.both()? {
            ("true", "false") => Some((true, "synchronous replication turned off".into())),
            ("false", "true") => Some((false, "synchronous replication turned on".into())),
            _ => None,
        };
    }
    let label = recovery_label(c.field)?;
    let (x, y) = durations(c)?;
    let (old, now) = c.both()?;
    if x == y {
        return None;
    }
    // A longer RPO or RTO promises less; a shorter PITR window keeps less history.
    let relaxed = if c.field == "recovery.pitrWindow" {
        y < x
    } else {
        y > x
    };
    let verb = match (c.field == "recovery.pitrWindow", relaxed) {
        (true, true) => "shortened",
        (true, false) => "lengthened",
        (false, true) => "relaxed",
        (false, false) => "tightened",
    };
    Some((relaxed, format!("{label} {verb} {old} → {now}")))
}

fn recovery_relaxed(c: &FieldChange<'_>) -> Option<String> {
    recovery_direction(c).and_then(|(relaxed, r)| relaxed.then_some(r))
}

fn recovery_tightened(c: &FieldChange<'_>) -> Option<String> {
    recovery_direction(c).and_then(|(relaxed, r)| (!relaxed).then_some(r))
}

fn retention_label(field: &str) -> Option<&'static str> {
    match field {
        "backup.retentionFullDays" => Some("full backup retention"),
        "backup.retentionDays" => Some("backup retention"),
        _ => None,
    }
}

fn retention_shortened(c: &FieldChange<'_>) -> Option<String> {
    let label = retention_label(c.field)?;
    let (x, y) = integers(c)?;
    (y < x).then(|| format!("{label} shortened {x} → {y} days"))
}

fn tenancy_changed(c: &FieldChange<'_>) -> Option<String> {
    (c.field == "tenancy" && !c.new).then(|| format!("tenancy {}", c.arrow()))
}

fn placement_changed(c: &FieldChange<'_>) -> Option<String> {
    let placement = matches!(
        c.field,
        "region" | "cluster" | "odoo.processes" | "database.instance" | "backup"
    );
    (placement && !c.new).then(|| format!("{} {}", c.field, c.arrow()))
}

fn network_changed(c: &FieldChange<'_>) -> Option<String> {
    (c.field == "network.cidr" && !c.new).then(|| {
        format!(
            "network.cidr {}: the plant network is re-addressed",
            c.arrow()
        )
    })
}

fn public_host(c: &FieldChange<'_>) -> Option<String> {
    if c.field != "ingress.host" || c.new {
        return None;
    }
    match (c.old(), c.now()?) {
        (Some(old), now) => Some(format!("public host {old} → {now}")),
        (None, now) => Some(format!("new public host {now}")),
    }
}

/// Widened: an address (or a direction) allowed after that was not before.
fn widened(c: &FieldChange<'_>) -> Option<String> {
    let name = access_name(c.field);
    let after = access(c.field, &c.after);
    // Judged on its own: a new list (or one the model did not have before) covering every
    // address.
    let anywhere = |list: Vec<Allowed<'_>>| {
        Reach::of(&list).everything().then(|| {
            let all = beyond(&list, &[]);
            format!("{name} open to every address: {}", all.join(", "))
        })
    };
    if c.new || c.before.is_empty() {
        return anywhere(after?);
    }
    let before = access(c.field, &c.before)?;
    let Some(after) = after else {
        // The list is gone (not emptied: an empty list blocks and is written `[] (blocked)`).
        return c.after.is_empty().then(|| format!("{name} removed"));
    };
    let new = beyond(&after, &before);
    (!new.is_empty()).then(|| format!("{name} widened: {} now allowed", new.join(", ")))
}

fn allow_list_widened(c: &FieldChange<'_>) -> Option<String> {
    (c.field == "ingress.adminAllowFrom")
        .then(|| widened(c))
        .flatten()
}

fn peers_widened(c: &FieldChange<'_>) -> Option<String> {
    (c.field != "ingress.adminAllowFrom" && is_access_field(c.field))
        .then(|| widened(c))
        .flatten()
}

fn access_narrowed(c: &FieldChange<'_>) -> Option<String> {
    if c.new || !is_access_field(c.field) {
        return None;
    }
    let (before, after) = (access(c.field, &c.before)?, access(c.field, &c.after)?);
    let name = access_name(c.field);
    if after.is_empty() && c.field == "ingress.adminAllowFrom" {
        return Some(format!(
            "{name} emptied: the database manager and admin paths are blocked"
        ));
    }
    let gone = beyond(&before, &after);
    (!gone.is_empty()).then(|| format!("{name} narrowed: {} no longer allowed", gone.join(", ")))
}

fn client_certificates_removed(c: &FieldChange<'_>) -> Option<String> {
    let (name, sub) = integration_field(c.field)?;
    (sub == Some("clientCertificates") && !c.new && c.old().is_some() && c.now().is_none())
        .then(|| format!("integration {name} no longer requires client certificates"))
}

/// `backup.repo2` → 2; `None` for other fields.
fn repo_number(field: &str) -> Option<u32> {
    field.strip_prefix("backup.repo")?.parse().ok()
}

fn backup_repo_removed(c: &FieldChange<'_>) -> Option<String> {
    if c.new || c.now().is_some() {
        return None;
    }
    let old = short(c.old()?);
    match (c.field, repo_number(c.field)) {
        (_, Some(2)) => Some(format!("second backup repository removed: {old}")),
        (_, Some(n)) => Some(format!("backup repository repo{n} removed: {old}")),
        ("backup.crossRegionReplication", _) => {
            Some(format!("cross-region backup replication removed: {old}"))
        }
        _ => None,
    }
}

const CAPACITY: &[&str] = &[
    "odoo.users",
    "odoo.workers",
    "odoo.replicas",
    "odoo.maxReplicas",
    "odoo.cpuRequest",
    "odoo.cpuLimit",
    "odoo.memoryRequest",
    "odoo.memoryLimit",
    "odoo.limitMemorySoft",
    "odoo.limitMemoryHard",
    "odoo.cronThreads",
    "odoo.dbMaxconn",
    "odoo.dbMaxconnGevent",
    "database.size",
    "database.writeRate",
    "database.instances",
    "database.connectionBudget",
    "database.maxConnections",
    "database.reservedConnections",
    "database.storage",
    "database.allocatedStorage",
    "database.filestoreStorage",
    "ingress.maxUploadSize",
];

fn capacity(c: &FieldChange<'_>) -> Option<String> {
    if !(CAPACITY.contains(&c.field) || c.field.starts_with("quota.")) {
        return None;
    }
    let way = c
        .both()
        .and_then(|(x, y)| Some((magnitude(c.field, x)?, magnitude(c.field, y)?)))
        .map(|(x, y)| if y > x { " raised" } else { " lowered" });
    Some(format!("{}{} {}", c.field, way.unwrap_or(""), c.arrow()))
}

fn schedule(c: &FieldChange<'_>) -> Option<String> {
    match c.field {
        "backup.full" | "backup.differential" | "backup.incremental" => {
            Some(format!("{} schedule {}", c.field, c.arrow()))
        }
        "backup.restoreTestSchedule" | "maintenance.window" | "maintenance.timezone" => {
            Some(format!("{} {}", c.field, c.arrow()))
        }
        _ => None,
    }
}

fn backup_changed(c: &FieldChange<'_>) -> Option<String> {
    if let Some(label) = retention_label(c.field) {
        let (x, y) = integers(c)?;
        return (y > x).then(|| format!("{label} lengthened {x} → {y} days"));
    }
    if repo_number(c.field).is_some() || c.field == "backup.crossRegionReplication" {
        let what = c.field.trim_start_matches("backup.");
        return match (c.old(), c.now()?) {
            (None, now) => Some(format!("{what} added: {}", short(now))),
            (Some(_), _) => Some(format!("{what} moved: {}", c.arrow())),
        };
    }
    match c.field {
        "recovery.rtoEstimate" => Some(format!("RTO estimate {}", c.arrow())),
        "backup.interval"
        | "backup.fullDuration"
        | "backup.archiveTimeout"
        | "backup.archiveLossWindow"
        | "backup.method"
        | "database.minPgbackrestVersion" => Some(format!("{} {}", c.field, c.arrow())),
        _ => None,
    }
}

fn tier_changed(c: &FieldChange<'_>) -> Option<String> {
    (c.field == "tier").then(|| format!("tier {}", c.arrow()))
}

fn odoo_upgrade(c: &FieldChange<'_>) -> Option<String> {
    match c.field {
        "odoo.version" => {
            let (x, y) = c.both()?;
            (major(x)? != major(y)?).then(|| {
                let kind = if major(y) > major(x) {
                    "major upgrade, the database is migrated"
                } else {
                    "major downgrade: Odoo does not migrate a database back"
                };
                format!("Odoo {x} → {y}: {kind}")
            })
        }
        "odoo.edition" => Some(format!("Odoo edition {}", c.arrow())),
        _ => None,
    }
}

fn postgres_upgrade(c: &FieldChange<'_>) -> Option<String> {
    if c.field != "database.postgresVersion" {
        return None;
    }
    let (x, y) = integers(c)?;
    let kind = if y > x {
        "major upgrade"
    } else {
        "major downgrade"
    };
    Some(format!("PostgreSQL {x} → {y}: {kind}"))
}

fn modules_changed(c: &FieldChange<'_>) -> Option<String> {
    if c.field != "odoo.modules" {
        return None;
    }
    let (x, y) = c.both()?;
    let set = |v: &str| -> BTreeSet<String> {
        v.split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (old, new) = (set(x), set(y));
    let mut moves: Vec<String> = new.difference(&old).map(|m| format!("+{m}")).collect();
    moves.extend(old.difference(&new).map(|m| format!("−{m}")));
    Some(if moves.is_empty() {
        "modules reordered".into()
    } else {
        format!("modules {}", short(&moves.join(" ")))
    })
}

fn images(c: &FieldChange<'_>) -> Option<(units::ImageRef, units::ImageRef)> {
    if c.field != "odoo.image" {
        return None;
    }
    let (x, y) = c.both()?;
    Some((units::image(x).ok()?, units::image(y).ok()?))
}

fn image_source_changed(c: &FieldChange<'_>) -> Option<String> {
    let (x, y) = images(c)?;
    (x.repository != y.repository)
        .then(|| format!("image source {} → {}", x.repository, y.repository))
}

/// `:18.0-hx3@sha256:78e917b3e6d4` (the digest shortened to 12 digits).
fn tag_and_digest(i: &units::ImageRef) -> String {
    let mut s = String::new();
    if let Some(t) = &i.tag {
        s.push(':');
        s.push_str(t);
    }
    if let Some(d) = &i.digest {
        s.push('@');
        s.push_str(d.get(..19).unwrap_or(d));
    }
    s
}

fn image_bump(c: &FieldChange<'_>) -> Option<String> {
    if c.field == "odoo.version" {
        let (x, y) = c.both()?;
        return (major(x)? == major(y)?).then(|| format!("Odoo {x} → {y}"));
    }
    let (x, y) = images(c)?;
    (x.repository == y.repository).then(|| {
        format!(
            "image {}{} → {}",
            x.repository,
            tag_and_digest(&x),
            tag_and_digest(&y)
        )
    })
}

fn metadata(c: &FieldChange<'_>) -> Option<String> {
    match c.field {
        "description" => Some("description changed".into()),
        "displayName" | "owner.team" | "owner.email" | "owner.costCenter" => {
            Some(format!("{} {}", c.field, c.arrow()))
        }
        _ => None,
    }
}

/// The kind, direction and protocol of an integration, and its peers: `bi inbound
/// postgres-readonly from 172.16.10.32/28, port 5432`.
fn integration_summary(f: &Fields<'_>, name: &str) -> String {
    let key = format!("integrations.{name}");
    let mut s = f.value(&key).unwrap_or_default().to_string();
    let peers = f.values(&format!("{key}.peers"));
    if !peers.is_empty() {
        s.push(' ');
        s.push_str(&peers.join(", "));
    }
    if let Some(port) = f.value(&format!("{key}.port")) {
        s.push_str(&format!(", port {port}"));
    }
    s
}

fn integration_added(c: &FieldChange<'_>) -> Option<String> {
    let (name, None) = integration_field(c.field)? else {
        return None;
    };
    (c.old().is_none() && c.now().is_some() && !c.new).then(|| {
        format!(
            "new integration {name}: {}",
            short(&integration_summary(c.model, name))
        )
    })
}

fn integration_removed(c: &FieldChange<'_>) -> Option<String> {
    let (name, None) = integration_field(c.field)? else {
        return None;
    };
    (c.old().is_some() && c.now().is_none())
        .then(|| format!("integration {name} removed ({})", shown(&c.before)))
}

fn integration_changed(c: &FieldChange<'_>) -> Option<String> {
    if c.new {
        return None;
    }
    let (name, sub) = integration_field(c.field)?;
    match sub {
        None => {
            let (x, y) = c.both()?;
            Some(format!("integration {name} {x} → {y}"))
        }
        Some("clientCertificates") => c
            .old()
            .is_none()
            .then(|| format!("integration {name} now requires client certificates")),
        Some(sub @ ("port" | "path" | "rateLimit" | "schedule")) => {
            Some(format!("integration {name} {sub} {}", c.arrow()))
        }
        Some(_) => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

/// One generated file's change, as the output rules see it.
struct OutputFile<'a> {
    path: &'a str,
    change: FileChange,
    before: Option<&'a str>,
    after: Option<&'a str>,
    yaml_before: OnceCell<Option<Value>>,
    yaml_after: OnceCell<Option<Value>>,
}

/// A generated YAML file as JSON, parsed by the strict parser its verification used; `None`
/// when it does not parse.
fn parse_yaml(path: &str, text: &str) -> Option<Value> {
    let mut map = SourceMap::new();
    let id = map.add(path, text);
    let parsed = blueprint_syntax::parse(
        &map,
        id,
        blueprint_syntax::Format::Yaml,
        &blueprint_syntax::Limits::default(),
    );
    if !parsed.diagnostics.is_empty() {
        return None;
    }
    parsed.root.map(|r| r.to_json())
}

impl OutputFile<'_> {
    fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(self.path)
    }
    /// The directory holding the file (`traefik` for `plants/lyon/prod/traefik/x.yaml`).
    fn dir(&self) -> &str {
        let mut parts = self.path.rsplit('/');
        parts.next();
        parts.next().unwrap_or("")
    }
    fn is_yaml(&self) -> bool {
        self.path.ends_with(".yaml") || self.path.ends_with(".yml")
    }
    fn under(&self, dir: &str) -> bool {
        self.path.starts_with(dir) || self.path.contains(&format!("/{dir}"))
    }
    fn yaml_before(&self) -> Option<&Value> {
        self.yaml_before
            .get_or_init(|| {
                self.before
                    .filter(|_| self.is_yaml())
                    .and_then(|t| parse_yaml(self.path, t))
            })
            .as_ref()
    }
    fn yaml_after(&self) -> Option<&Value> {
        self.yaml_after
            .get_or_init(|| {
                self.after
                    .filter(|_| self.is_yaml())
                    .and_then(|t| parse_yaml(self.path, t))
            })
            .as_ref()
    }
}

/// `Kind namespace/name` of a Kubernetes object (`Kind name` without a namespace).
fn object(v: &Value) -> Option<String> {
    let kind = v.get("kind")?.as_str()?;
    let meta = v.get("metadata")?;
    let name = meta.get("name")?.as_str()?;
    Some(match meta.get("namespace").and_then(Value::as_str) {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    })
}

/// Kinds whose deletion deletes data, and the file name (or its prefix, ending in `-`) their
/// outputs use.
const STATEFUL_KINDS: &[(&str, &str)] = &[
    ("Namespace", "namespace.yaml"),
    ("PersistentVolumeClaim", "persistentvolumeclaim-"),
    ("PostgresCluster", "postgrescluster-"),
];

/// Terraform modules holding data: the backup buckets and the RDS databases.
const STATEFUL_MODULES: &[&str] = &["backup-bucket", "managed-database"];

/// The `module "<name>" { source = ".../modules/<m>" }` blocks of a Terraform file whose
/// module is stateful, as `<name> (<m>)`.
fn stateful_modules(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut current: Option<&str> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("module ") {
            current = rest.split('"').nth(1);
        } else if let Some(src) = t.strip_prefix("source")
            && let Some(src) = src.trim_start().strip_prefix('=')
            && let Some(block) = current
        {
            let src = src.trim().trim_matches('"').trim_end_matches('/');
            let module = src.rsplit('/').next().unwrap_or("");
            if STATEFUL_MODULES.contains(&module) {
                out.insert(format!("{block} ({module})"));
            }
        } else if t == "}" && !line.starts_with(' ') {
            current = None;
        }
    }
    out
}

fn stateful_deleted(o: &OutputFile<'_>) -> Option<String> {
    match o.change {
        FileChange::Deleted if o.is_yaml() => {
            let what = match o.yaml_before() {
                Some(v) => {
                    let kind = v.get("kind")?.as_str()?;
                    STATEFUL_KINDS.iter().find(|(k, _)| *k == kind)?;
                    object(v)?
                }
                // Unreadable (or not given): judged by the file name.
                None => {
                    let name = o.name();
                    let (kind, _) = STATEFUL_KINDS.iter().find(|(_, file)| {
                        name == *file || (file.ends_with('-') && name.starts_with(file))
                    })?;
                    format!("{kind} of {}", o.path)
                }
            };
            Some(format!("{what} deleted"))
        }
        FileChange::Deleted if o.path.ends_with(".tf") => {
            if o.under("terraform/backup/") {
                let root = o.path.rsplit_once('/').map_or(o.path, |(d, _)| d);
                return Some(format!("Terraform backup bucket root {root} deleted"));
            }
            if let Some(m) = STATEFUL_MODULES
                .iter()
                .find(|m| o.under(&format!("terraform/modules/{m}/")))
            {
                return Some(format!("Terraform module {m} deleted ({})", o.name()));
            }
            let gone = stateful_modules(o.before?);
            (!gone.is_empty()).then(|| {
                let gone: Vec<String> = gone.into_iter().collect();
                format!(
                    "Terraform module {} deleted with {}",
                    gone.join(", "),
                    o.path
                )
            })
        }
        FileChange::Changed if o.path.ends_with(".tf") => {
            let now = stateful_modules(o.after?);
            let gone: Vec<String> = stateful_modules(o.before?)
                .into_iter()
                .filter(|m| !now.contains(m))
                .collect();
            (!gone.is_empty()).then(|| {
                format!(
                    "Terraform module {} removed from {}",
                    gone.join(", "),
                    o.path
                )
            })
        }
        _ => None,
    }
}

/// The middleware names each route of an IngressRoute references, with the route's `match`.
fn route_middlewares(v: &Value) -> Option<Vec<(String, BTreeSet<String>)>> {
    if !v.get("kind")?.as_str()?.starts_with("IngressRoute") {
        return None;
    }
    let routes = v.get("spec")?.get("routes")?.as_array()?;
    Some(
        routes
            .iter()
            .map(|r| {
                let matched = r
                    .get("match")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let names = r
                    .get("middlewares")
                    .and_then(Value::as_array)
                    .map(|m| {
                        m.iter()
                            .filter_map(|x| x.get("name")?.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                (matched, names)
            })
            .collect(),
    )
}

fn middleware_removed(o: &OutputFile<'_>) -> Option<String> {
    match o.change {
        FileChange::Deleted => {
            let kind = o
                .yaml_before()
                .and_then(|v| v.get("kind")?.as_str().map(str::to_string));
            let by_path = o.dir() == "traefik" && o.name().starts_with("middleware-");
            if kind.as_deref() != Some("Middleware") && !(kind.is_none() && by_path) {
                return None;
            }
            let what = o.yaml_before().and_then(object).map_or_else(
                || o.path.to_string(),
                |obj| obj.replacen("Middleware ", "", 1),
            );
            Some(format!("Traefik middleware {what} deleted"))
        }
        FileChange::Changed => {
            let before = route_middlewares(o.yaml_before()?)?;
            let after = route_middlewares(o.yaml_after()?)?;
            let mut lost = BTreeSet::new();
            for (i, (matched, names)) in before.iter().enumerate() {
                // The route with the same match, else the one at the same place.
                let Some((_, now)) = after
                    .iter()
                    .find(|(m, _)| m == matched)
                    .or_else(|| after.get(i))
                else {
                    continue;
                };
                lost.extend(names.difference(now).cloned());
            }
            let obj = object(o.yaml_after()?)?;
            (!lost.is_empty()).then(|| {
                let lost: Vec<String> = lost.into_iter().collect();
                format!(
                    "{obj} lost middleware{} {}",
                    if lost.len() == 1 { "" } else { "s" },
                    lost.join(", ")
                )
            })
        }
        FileChange::Added => None,
    }
}

const SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
const PROTECTIONS: &[&str] = &["Prune=false", "Delete=false"];

/// The prune protections an object's sync-options annotation holds, in [`PROTECTIONS`] order.
fn protections(v: &Value) -> Vec<&'static str> {
    let options = v
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(SYNC_OPTIONS))
        .and_then(Value::as_str)
        .unwrap_or("");
    let set: BTreeSet<&str> = options.split(',').map(str::trim).collect();
    PROTECTIONS
        .iter()
        .copied()
        .filter(|p| set.contains(p))
        .collect()
}

fn prune_protection_removed(o: &OutputFile<'_>) -> Option<String> {
    if o.change != FileChange::Changed {
        return None;
    }
    let (before, after) = (o.yaml_before()?, o.yaml_after()?);
    let now = protections(after);
    let lost: Vec<&str> = protections(before)
        .into_iter()
        .filter(|p| !now.contains(p))
        .collect();
    let obj = object(after).unwrap_or_else(|| o.path.to_string());
    (!lost.is_empty()).then(|| format!("{obj} lost sync option {}", lost.join(", ")))
}

fn runbook_text(o: &OutputFile<'_>) -> Option<String> {
    let runbook = o.path.ends_with(".md") && (o.under("runbooks/") || o.name() == "runbook.md");
    match o.change {
        FileChange::Changed if runbook => Some(format!("runbook text changed: {}", o.path)),
        FileChange::Added if runbook => Some(format!("runbook added: {}", o.path)),
        _ => None,
    }
}

/// Classifies one generated file's change (`before`/`after`: its text on each side, YAML,
/// HCL, INI or Markdown) with the highest output rule that applies; `None` when none does
/// (the file is then explained by its environment's intent changes, or by
/// [`unexplained_output`]). Unreadable text makes a rule that needs it not apply.
#[must_use]
pub fn classify_output(
    path: &str,
    change: FileChange,
    before: Option<&str>,
    after: Option<&str>,
) -> Option<OutputRisk> {
    let o = OutputFile {
        path,
        change,
        before,
        after,
        yaml_before: OnceCell::new(),
        yaml_after: OnceCell::new(),
    };
    let mut best: Option<OutputRisk> = None;
    for r in RULES {
        if let Check::File(f) = r.check
            && best.as_ref().is_none_or(|b| r.risk > b.risk)
            && let Some(reason) = f(&o)
        {
            best = Some(OutputRisk {
                risk: r.risk,
                rule: r.id,
                reason,
            });
        }
    }
    best
}

/// The class of a generated file that changed although no output rule
/// ([`classify_output`]) and no intent change of its environment explains it: medium, rule
/// `unexplained-output`; see [`template_output`] when the generator changed.
#[must_use]
pub fn unexplained_output(path: &str, change: FileChange) -> OutputRisk {
    let how = match change {
        FileChange::Added => "added",
        FileChange::Changed => "changed",
        FileChange::Deleted => "deleted",
    };
    OutputRisk {
        risk: risk_of(UNEXPLAINED),
        rule: UNEXPLAINED,
        reason: format!("generated file {how} with no intent change: {path}"),
    }
}

/// The class of a generated file no output rule and no intent change explains when the base
/// was generated by another generator (`blueprint <version>` on each side): rule `template`.
#[must_use]
pub fn template_output(path: &str, before: &str, after: &str) -> OutputRisk {
    OutputRisk {
        risk: risk_of(TEMPLATE),
        rule: TEMPLATE,
        reason: format!("generated by {before}, now by {after}: {path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(rows: &[(&str, &str)]) -> EnvModel {
        EnvModel {
            plant: "lyon".into(),
            env: "prod".into(),
            file: "plants/lyon.yaml".into(),
            rows: rows
                .iter()
                .map(|(f, v)| IntentRow {
                    field: (*f).into(),
                    value: (*v).into(),
                    origin: "plant".into(),
                    from: "plants/lyon.yaml:1:1".into(),
                    location: None,
                    rule: None,
                })
                .collect(),
        }
    }

    /// The changes from `before` to `after` as (field, rule, reason).
    fn changes(before: &[(&str, &str)], after: &[(&str, &str)]) -> Vec<(String, String, String)> {
        diff_intent(&[model(before)], &[model(after)])
            .into_iter()
            .flat_map(|d| d.changes)
            .map(|c| (c.field, c.rule.to_string(), c.reason))
            .collect()
    }

    fn one(before: &[(&str, &str)], after: &[(&str, &str)]) -> (String, String) {
        let c = changes(before, after);
        assert_eq!(c.len(), 1, "{c:?}");
        (c[0].1.clone(), c[0].2.clone())
    }

    const ADMIN: &str = "ingress.adminAllowFrom";
    const PEERS: &str = "integrations.mes.peers";

    #[test]
    fn risk_classes_are_ordered_and_lowercase() {
        assert!(Risk::None < Risk::Low && Risk::Low < Risk::Medium && Risk::Medium < Risk::High);
        assert_eq!(
            [Risk::High, Risk::None, Risk::Medium, Risk::Low]
                .iter()
                .max(),
            Some(&Risk::High)
        );
        assert_eq!(serde_json::to_string(&Risk::Medium).unwrap(), "\"medium\"");
        assert_eq!(
            serde_json::from_str::<Risk>("\"high\"").unwrap(),
            Risk::High
        );
    }

    #[test]
    fn rule_ids_are_unique_kebab_case_and_every_class_but_none_is_used() {
        let ids: BTreeSet<&str> = RULES.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), RULES.len(), "duplicate rule id");
        for r in RULES {
            assert!(
                r.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
                    && !r.id.starts_with('-')
                    && !r.id.ends_with('-'),
                "{}",
                r.id
            );
            assert_ne!(r.risk, Risk::None, "{}: none is the CLI's", r.id);
        }
        for id in [
            ENV_ADDED,
            ENV_REMOVED,
            PLANT_REMOVED,
            UNCLASSIFIED,
            UNEXPLAINED,
            TEMPLATE,
        ] {
            assert!(rule(id).is_some(), "{id}");
        }
    }

    #[test]
    fn widening_an_allow_list_is_high_and_names_what_is_new() {
        assert_eq!(
            one(&[(ADMIN, "10.0.0.0/24")], &[(ADMIN, "10.0.0.0/16")]),
            (
                "allow-list-widened".into(),
                "admin allow list widened: 10.0.0.0/16 now allowed".into()
            )
        );
        // One network replaced by a disjoint one: widened (and narrowed), widened wins.
        assert_eq!(
            one(&[(ADMIN, "10.0.0.0/24")], &[(ADMIN, "10.1.0.0/24")]).0,
            "allow-list-widened"
        );
        // The list gone entirely (an emptied list is written `[] (blocked)`).
        assert_eq!(
            one(&[(ADMIN, "10.0.0.0/24")], &[]),
            (
                "allow-list-widened".into(),
                "admin allow list removed".into()
            )
        );
    }

    #[test]
    fn narrowing_an_allow_list_is_not_widening() {
        assert_eq!(
            one(&[(ADMIN, "10.0.0.0/16")], &[(ADMIN, "10.0.0.0/24")]),
            (
                "access-narrowed".into(),
                "admin allow list narrowed: 10.0.0.0/16 no longer allowed".into()
            )
        );
        assert_eq!(
            one(
                &[(ADMIN, "10.0.0.0/24, 10.9.0.0/24")],
                &[(ADMIN, "10.9.0.0/24")]
            )
            .1,
            "admin allow list narrowed: 10.0.0.0/24 no longer allowed"
        );
        assert_eq!(
            one(&[(ADMIN, "10.0.0.0/24")], &[(ADMIN, "[] (blocked)")]),
            (
                "access-narrowed".into(),
                "admin allow list emptied: the database manager and admin paths are blocked".into()
            )
        );
        // From blocked to some networks: new addresses.
        assert_eq!(
            one(&[(ADMIN, "[] (blocked)")], &[(ADMIN, "10.0.0.0/24")]).0,
            "allow-list-widened"
        );
    }

    #[test]
    fn reordering_or_re_splitting_an_allow_list_is_no_change() {
        let before = [(ADMIN, "192.168.10.0/24, 192.168.200.0/26")];
        assert!(changes(&before, &[(ADMIN, "192.168.200.0/26, 192.168.10.0/24")]).is_empty());
        // Two halves are the whole; host bits do not widen.
        assert!(
            changes(
                &[(ADMIN, "10.0.0.0/24")],
                &[(ADMIN, "10.0.0.128/25, 10.0.0.0/25")]
            )
            .is_empty()
        );
        assert!(changes(&[(ADMIN, "10.0.0.0/24")], &[(ADMIN, "10.0.0.7/24")]).is_empty());
        // Covered by the union of the rows, not by any one of them.
        assert!(
            changes(
                &[(ADMIN, "10.0.0.0/25, 10.0.0.128/25")],
                &[(ADMIN, "10.0.0.0/24, 10.0.0.0/25")]
            )
            .is_empty()
        );
    }

    #[test]
    fn peers_compare_as_networks_and_directions() {
        let base = ("integrations.mes", "mes both amqp");
        let before = [
            base,
            (PEERS, "with 172.16.10.0/28"),
            (PEERS, "with 172.16.10.16/28"),
        ];
        // Reordered rows, or the same addresses in one network: no change.
        let reordered = [
            base,
            (PEERS, "with 172.16.10.16/28"),
            (PEERS, "with 172.16.10.0/28"),
        ];
        assert!(changes(&before, &reordered).is_empty());
        assert!(changes(&before, &[base, (PEERS, "with 172.16.10.0/27")]).is_empty());
        assert_eq!(
            one(&before, &[base, (PEERS, "with 172.16.10.0/26")]),
            (
                "peers-widened".into(),
                "integration mes peers widened: with 172.16.10.0/26 now allowed".into()
            )
        );
        // A direction added is a widening of that direction only.
        let out = [base, (PEERS, "to 172.16.10.0/28")];
        assert_eq!(
            one(&out, &[base, (PEERS, "with 172.16.10.0/28")]).1,
            "integration mes peers widened: from 172.16.10.0/28 now allowed"
        );
        assert_eq!(
            one(&[base, (PEERS, "with 172.16.10.0/28")], &out),
            (
                "access-narrowed".into(),
                "integration mes peers narrowed: from 172.16.10.0/28 no longer allowed".into()
            )
        );
        // Unreadable peers: no access rule can judge them, the change stays medium.
        assert_eq!(
            one(&out, &[base, (PEERS, "to somewhere")]).0,
            "unclassified"
        );
    }

    #[test]
    fn ipv6_networks_and_the_whole_internet_are_understood() {
        assert_eq!(
            one(&[(ADMIN, "2001:db8::/48")], &[(ADMIN, "2001:db8::/32")]).0,
            "allow-list-widened"
        );
        assert!(changes(&[(ADMIN, "2001:db8::/48")], &[(ADMIN, "2001:db8:0:0::/48")]).is_empty());
        // IPv4 never covers IPv6.
        assert_eq!(
            one(&[(ADMIN, "0.0.0.0/0")], &[(ADMIN, "0.0.0.0/0, ::/0")]).1,
            "admin allow list widened: ::/0 now allowed"
        );
        let everything = access(ADMIN, &["0.0.0.0/1, 128.0.0.0/1"]).unwrap();
        assert!(Reach::of(&everything).everything());
        assert!(!Reach::of(&access(ADMIN, &["0.0.0.0/1"]).unwrap()).everything());
    }

    #[test]
    fn recovery_directions_follow_what_each_objective_means() {
        let rpo = |x, y| one(&[("recovery.rpo", x)], &[("recovery.rpo", y)]);
        assert_eq!(
            rpo("5m", "15m"),
            ("recovery-relaxed".into(), "RPO relaxed 5m → 15m".into())
        );
        assert_eq!(
            rpo("1h", "30m"),
            ("recovery-tightened".into(), "RPO tightened 1h → 30m".into())
        );
        // The same duration written differently is a textual change only.
        assert_eq!(rpo("60m", "1h").0, "unclassified");
        let pitr = |x, y| one(&[("recovery.pitrWindow", x)], &[("recovery.pitrWindow", y)]);
        assert_eq!(
            pitr("30d", "14d"),
            (
                "recovery-relaxed".into(),
                "PITR window shortened 30d → 14d".into()
            )
        );
        assert_eq!(pitr("7d", "14d").0, "recovery-tightened");
        let sync = "database.synchronousReplication";
        assert_eq!(
            one(&[(sync, "true")], &[(sync, "false")]).0,
            "recovery-relaxed"
        );
        assert_eq!(
            one(&[(sync, "false")], &[(sync, "true")]).0,
            "recovery-tightened"
        );
    }

    #[test]
    fn odd_text_falls_back_to_the_unclassified_rule_without_panicking() {
        for (field, x, y) in [
            ("recovery.rpo", "5m", "soon"),
            ("recovery.rto", "", "4h"),
            ("backup.retentionFullDays", "30", "thirty"),
            (ADMIN, "10.0.0.0/24", "not a network"),
            (
                "odoo.image",
                "registry.example.com/odoo:18.0",
                "Not An Image!",
            ),
            ("odoo.version", "18.0", "master"),
            ("database.postgresVersion", "16", "latest"),
        ] {
            let (rule, reason) = one(&[(field, x)], &[(field, y)]);
            assert_eq!(rule, "unclassified", "{field}: {reason}");
            assert!(reason.starts_with("unclassified change: "), "{reason}");
        }
        // Capacity stays capacity, without a direction it cannot read.
        assert_eq!(
            one(&[("quota.cpu", "75")], &[("quota.cpu", "lots")]),
            ("capacity".into(), "quota.cpu 75 → lots".into())
        );
        assert_eq!(
            one(&[("quota.cpu", "75")], &[("quota.cpu", "1500m")]).1,
            "quota.cpu lowered 75 → 1500m"
        );
        // Long or multi-line values are cut to one short line.
        let long = "x".repeat(200);
        let (_, reason) = one(&[("future.field", "a\nb")], &[("future.field", &long)]);
        assert!(
            !reason.contains('\n') && reason.chars().count() < 150,
            "{reason}"
        );
    }

    #[test]
    fn unknown_fields_are_medium_never_low() {
        let d = diff_intent(
            &[model(&[("name", "lyon")])],
            &[model(&[("name", "lyon"), ("future.field", "on")])],
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].risk, Risk::Medium);
        assert_eq!(d[0].changes[0].rule, UNCLASSIFIED);
        assert_eq!(
            d[0].changes[0].reason,
            "unclassified change: future.field (none) → on"
        );
    }

    #[test]
    fn origins_alone_are_no_change() {
        let before = model(&[("recovery.rpo", "5m")]);
        let mut after = before.clone();
        after.rows[0].origin = "tier".into();
        after.rows[0].from = "tier critical default".into();
        after.file = "plants/france/lyon.yaml".into();
        assert!(diff_intent(&[before], &[after]).is_empty());
    }

    #[test]
    fn terraform_module_blocks_are_found_by_their_source() {
        let text = "module \"cluster\" {\n  source = \"../../../modules/cluster\"\n}\n\nmodule \"database\" {\n  source = \"../../../modules/managed-database\"\n\n  name = \"x\"\n}\n";
        assert_eq!(
            stateful_modules(text).into_iter().collect::<Vec<_>>(),
            ["database (managed-database)"]
        );
        assert!(stateful_modules("garbage {{{ \"").is_empty());
    }

    #[test]
    fn output_rules_do_not_panic_on_odd_text() {
        for path in [
            "plants/a/prod/traefik/ingressroute-odoo.yaml",
            "plants/a/prod/kubernetes/namespace.yaml",
            "terraform/plants/a/prod/main.tf",
            "runbooks/a.md",
            "",
        ] {
            for change in [FileChange::Added, FileChange::Changed, FileChange::Deleted] {
                for text in [None, Some(""), Some("{{: ["), Some("kind: [1, 2")] {
                    let _ = classify_output(path, change, text, text);
                }
            }
        }
    }
}

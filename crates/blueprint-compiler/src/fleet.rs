//! The fleet: `fleet.toml` or the embedded default, and the tier profiles with the fleet's
//! overrides applied.

use crate::model::{Origin, Val};
use crate::review::Risk;
use crate::units;
use blueprint_diagnostics::{Diagnostic, FileId, SourceMap, Span, codes};
use blueprint_syntax::doc::{FleetDoc, Tenancy, Tier, TierProfile};
use blueprint_syntax::{Format, Limits, Node, Spanned};
use chrono_tz::Tz;
use std::collections::BTreeMap;

/// The embedded default fleet.
pub const DEFAULT_FLEET: &str = include_str!("../embedded/default-fleet.toml");
/// The embedded tier profiles.
pub const TIERS: &str = include_str!("../embedded/tiers.toml");
/// Display path of the embedded default fleet.
pub const DEFAULT_FLEET_PATH: &str = "<embedded>/fleet.toml";
/// Display path of the embedded tier profiles.
pub const TIERS_PATH: &str = "<embedded>/tiers.toml";

/// A region of the fleet.
#[derive(Debug, Clone)]
pub struct Region {
    /// Cloud region.
    pub cloud_region: String,
    /// Zones.
    pub zones: usize,
    /// Backup peer region.
    pub backup_peer: Option<Spanned<String>>,
    /// Where the region is defined.
    pub span: Span,
}

/// The shared Odoo of a cluster.
#[derive(Debug, Clone)]
pub struct SharedOdoo {
    /// Version.
    pub version: Val<blueprint_syntax::doc::OdooVersion>,
    /// Edition.
    pub edition: Val<blueprint_syntax::doc::Edition>,
    /// Image.
    pub image: Val<String>,
    /// Modules.
    pub modules: Val<Vec<String>>,
}

/// A shared cluster of the fleet.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Region name.
    pub region: Spanned<String>,
    /// Capacity: CPU millicores and memory bytes.
    pub capacity: Option<(u64, u64, Span)>,
    /// The platform's maintenance window.
    pub maintenance: Option<(units::Window, Tz, Span)>,
    /// Guaranteed RPO and RTO (seconds).
    pub recovery: Option<(u64, u64, Span)>,
    /// Shared PostgreSQL: max and reserved connections, version.
    pub postgres: Option<(u32, u32, Span)>,
    /// PostgreSQL version of the shared database.
    pub postgres_version: Option<Val<u32>>,
    /// Shared Odoo.
    pub odoo: Option<SharedOdoo>,
    /// Where the cluster is defined.
    pub span: Span,
}

/// A resolved tier profile: every value with its origin.
#[derive(Debug, Clone)]
pub struct TierValues {
    /// Tier.
    pub tier: Tier,
    /// Allowed tenancies.
    pub tenancies: Val<Vec<Tenancy>>,
    /// Minimum web replicas.
    pub min_replicas: Val<u32>,
    /// HPA factor.
    pub hpa_factor: Val<u32>,
    /// CPUs per web pod.
    pub cpu_per_pod: Val<u32>,
    /// Cron threads.
    pub cron_threads: Val<u32>,
    /// `db_maxconn`.
    pub db_maxconn: Val<u32>,
    /// PostgreSQL instances.
    pub postgres_instances: Val<u32>,
    /// Synchronous replication.
    pub synchronous_replication: Val<bool>,
    /// Cap of derived `max_connections`.
    pub max_connections_cap: Val<u32>,
    /// Redis architecture.
    pub redis_architecture: Val<String>,
    /// Redis persistence.
    pub redis_persistence: Val<bool>,
    /// Longest backup interval, seconds.
    pub max_backup_interval: Val<u64>,
    /// Longest retention, seconds.
    pub max_retention: Val<u64>,
    /// Restore test schedule.
    pub restore_test_schedule: Val<String>,
    /// Default RPO, RTO, PITR window (seconds).
    pub rpo: Val<u64>,
    /// Default RTO.
    pub rto: Val<u64>,
    /// Default PITR window.
    pub pitr_window: Val<u64>,
    /// Tightest RPO.
    pub min_rpo: Val<u64>,
    /// Tightest RTO.
    pub min_rto: Val<u64>,
}

/// Backup throughputs (bytes per second) and the fixed restore allowance.
#[derive(Debug, Clone)]
pub struct Throughput {
    /// Restore.
    pub restore: Val<u64>,
    /// Backup.
    pub backup: Val<u64>,
    /// WAL replay.
    pub replay: Val<u64>,
    /// Startup allowance, seconds.
    pub startup: Val<u64>,
}

/// The resolved fleet.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// The fleet file (real or embedded).
    pub file: FileId,
    /// Whether the embedded default fleet is used.
    pub embedded: bool,
    /// The raw document.
    pub doc: FleetDoc,
    /// Regions by name.
    pub regions: BTreeMap<String, Region>,
    /// Clusters by name.
    pub clusters: BTreeMap<String, Cluster>,
    /// Tier profiles.
    pub tiers: BTreeMap<Tier, TierValues>,
    /// Throughputs.
    pub throughput: Throughput,
    /// `defaults` as a node to merge under every plant.
    pub defaults: Option<Node>,
    /// `[review]`: who approves each risk class; `None` without the table.
    pub review: Option<ReviewPolicy>,
}

/// The keyword of `[review]` lists that stands for the plant's `owner.team`.
pub const OWNER_GROUP: &str = "owner";

/// `[review]`: the groups that approve a change of each risk class, as the fleet writes them,
/// and the forge prefix of team names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewPolicy {
    /// Prefix that makes a team name a forge handle (`@hexacore/`).
    pub team_prefix: Option<String>,
    /// `high`.
    pub high: Vec<String>,
    /// `medium`.
    pub medium: Vec<String>,
    /// `low`.
    pub low: Vec<String>,
}

impl ReviewPolicy {
    /// The groups of a class as written (`none` has none).
    #[must_use]
    pub fn groups(&self, risk: Risk) -> &[String] {
        match risk {
            Risk::High => &self.high,
            Risk::Medium => &self.medium,
            Risk::Low => &self.low,
            Risk::None => &[],
        }
    }

    /// A group as a forge handle: a handle as written, `owner` as the prefixed owner team,
    /// another name prefixed. `None` for `owner` when the team is not known.
    #[must_use]
    pub fn handle(&self, group: &str, owner_team: Option<&str>) -> Option<String> {
        if group.starts_with('@') {
            return Some(group.to_string());
        }
        let name = if group == OWNER_GROUP {
            owner_team?
        } else {
            group
        };
        Some(format!(
            "{}{name}",
            self.team_prefix.as_deref().unwrap_or("@")
        ))
    }

    /// The forge handles that must approve a change of class `risk` of a plant whose owner team
    /// is `owner_team`, in the policy's order, each once.
    #[must_use]
    pub fn approvers(&self, risk: Risk, owner_team: Option<&str>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for g in self.groups(risk) {
            if let Some(h) = self.handle(g, owner_team)
                && !out.contains(&h)
            {
                out.push(h);
            }
        }
        out
    }
}

/// One path segment of a forge handle: a letter or digit, then letters, digits, `.`, `_`, `-`.
fn handle_segment(s: &str) -> bool {
    s.len() <= 100
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The default `teamPrefix`: `@<owner>/`, the owner (organisation or group path) of the GitOps
/// repository, whose teams review it; `None` when the URL has no owner path.
fn default_team_prefix(gitops_repo: &str) -> Option<String> {
    let path = units::git_url_path(gitops_repo)?;
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let owner = segs.get(..segs.len().checked_sub(1)?)?;
    (!owner.is_empty() && owner.iter().all(|s| handle_segment(s)))
        .then(|| format!("@{}/", owner.join("/")))
}

const GROUP_HELP: &str = "write a forge handle (`@org/team`, `@user`), a team name `teamPrefix` makes one of (`architecture-board`), or `owner` for the plant's owner team";

/// Checks `[review]` and returns the policy (BP4014 for each bad group or prefix).
fn review_policy(doc: &FleetDoc, diags: &mut Vec<Diagnostic>) -> Option<ReviewPolicy> {
    let review = &doc.review.as_ref()?.value;
    let mut ok = true;
    let mut bare: Option<Span> = None;
    let mut classes: Vec<Vec<String>> = Vec::new();
    for (class, list) in [
        ("high", &review.high),
        ("medium", &review.medium),
        ("low", &review.low),
    ] {
        let Some(list) = list else {
            classes.push(Vec::new());
            continue;
        };
        if list.value.is_empty() {
            ok = false;
            diags.push(
                Diagnostic::new(
                    codes::INVALID_REVIEW_GROUP,
                    format!("review.{class} lists no group"),
                )
                .at(list.span, "empty")
                .help(format!(
                    "list who approves a {class}-risk change, or leave `{class}` out: then no group is required for it"
                )),
            );
        }
        let mut seen: Vec<&str> = Vec::new();
        for g in &list.value {
            let v = g.value.as_str();
            let valid = match v.strip_prefix('@') {
                Some(h) => h.split('/').all(handle_segment),
                None => handle_segment(v),
            };
            if !valid {
                ok = false;
                bad(
                    diags,
                    codes::INVALID_REVIEW_GROUP,
                    g.span,
                    &format!("review.{class} group"),
                    v,
                    "not a forge handle, a team name or `owner`",
                    GROUP_HELP,
                );
            } else if seen.contains(&v) {
                ok = false;
                diags.push(
                    Diagnostic::new(
                        codes::INVALID_REVIEW_GROUP,
                        format!("group `{v}` is listed twice in review.{class}"),
                    )
                    .at(g.span, "listed again")
                    .help("list each group once"),
                );
            } else if !v.starts_with('@') {
                bare.get_or_insert(g.span);
            }
            seen.push(v);
        }
        classes.push(list.value.iter().map(|g| g.value.clone()).collect());
    }
    let team_prefix = match &review.team_prefix {
        Some(p) => {
            let valid = p
                .value
                .strip_prefix('@')
                .and_then(|r| r.strip_suffix('/'))
                .is_some_and(|r| r.split('/').all(handle_segment));
            if !valid {
                ok = false;
                bad(
                    diags,
                    codes::INVALID_REVIEW_GROUP,
                    p.span,
                    "review.teamPrefix",
                    &p.value,
                    "not `@` and an organisation (or group path) ending in `/`",
                    "write the forge organisation of the teams, such as `@hexacore/`",
                );
            }
            Some(p.value.clone())
        }
        None => default_team_prefix(&doc.organization.value.gitops_repo.value),
    };
    if let (Some(span), None) = (bare, &team_prefix) {
        ok = false;
        diags.push(
            Diagnostic::new(
                codes::INVALID_REVIEW_GROUP,
                "review lists team names but no forge organisation to write them in",
            )
            .at(span, "a team name, not a handle")
            .also(
                doc.organization.value.gitops_repo.span,
                "has no owner path to default teamPrefix from",
            )
            .help("set `teamPrefix = \"@<organisation>/\"` in [review], or write every group as a handle `@org/team`"),
        );
    }
    let mut classes = classes.into_iter();
    let policy = ReviewPolicy {
        team_prefix,
        high: classes.next().unwrap_or_default(),
        medium: classes.next().unwrap_or_default(),
        low: classes.next().unwrap_or_default(),
    };
    ok.then_some(policy)
}

impl Fleet {
    /// `organization.name`.
    #[must_use]
    pub fn org(&self) -> &str {
        &self.doc.organization.value.name.value
    }
    /// `organization.dnsZone`.
    #[must_use]
    pub fn dns_zone(&self) -> &str {
        &self.doc.organization.value.dns_zone.value
    }
    /// `organization.imageRegistry`.
    #[must_use]
    pub fn registry(&self) -> &str {
        &self.doc.organization.value.image_registry.value
    }
    /// The profile of a tier.
    ///
    /// # Panics
    /// Never: all three tiers are always resolved from the embedded profiles.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn tier(&self, tier: Tier) -> &TierValues {
        self.tiers
            .get(&tier)
            .expect("every tier has an embedded profile")
    }
}

/// Reports a value that does not parse, returning `None`.
pub(crate) fn bad(
    diags: &mut Vec<Diagnostic>,
    code: blueprint_diagnostics::Code,
    span: Span,
    what: &str,
    value: &str,
    why: &str,
    help: &str,
) {
    diags.push(
        Diagnostic::new(
            code,
            format!(
                "{what} `{}` is invalid: {why}",
                blueprint_diagnostics::shorten(value, 80)
            ),
        )
        .at(span, why.to_string())
        .help(help.to_string()),
    );
}

/// Parses a spanned text with `f`, reporting failures with `code`.
pub(crate) fn parse_with<T>(
    diags: &mut Vec<Diagnostic>,
    t: &Spanned<String>,
    code: blueprint_diagnostics::Code,
    what: &str,
    help: &str,
    f: impl Fn(&str) -> Result<T, String>,
) -> Option<T> {
    match f(&t.value) {
        Ok(v) => Some(v),
        Err(why) => {
            bad(diags, code, t.span, what, &t.value, &why, help);
            None
        }
    }
}

pub(crate) const DURATION_HELP: &str = "write a whole number with a unit: `30s`, `15m`, `4h`, `7d`";
pub(crate) const QUANTITY_HELP: &str =
    "write a Kubernetes quantity such as `512Mi`, `200Gi` or `1Ti`";

fn tier_values(
    tier: Tier,
    profile: &TierProfile,
    fleet_file: FileId,
    diags: &mut Vec<Diagnostic>,
) -> Option<TierValues> {
    fn val<T: Clone>(tier: Tier, fleet_file: FileId, s: &Option<Spanned<T>>) -> Option<Val<T>> {
        s.as_ref().map(|s| {
            Val::new(
                s.value.clone(),
                Origin::Tier {
                    tier,
                    span: s.span,
                    fleet: s.span.file == fleet_file,
                },
            )
        })
    }
    let dur = |diags: &mut Vec<Diagnostic>, s: &Option<Spanned<String>>| -> Option<Val<u64>> {
        let s = s.as_ref()?;
        let v = parse_with(
            diags,
            s,
            codes::INVALID_DURATION,
            "duration",
            DURATION_HELP,
            units::duration,
        )?;
        Some(Val::new(
            v,
            Origin::Tier {
                tier,
                span: s.span,
                fleet: s.span.file == fleet_file,
            },
        ))
    };
    let tenancies = profile.tenancies.as_ref().map(|t| {
        Val::new(
            t.value.iter().map(|x| x.value).collect(),
            Origin::Tier {
                tier,
                span: t.span,
                fleet: t.span.file == fleet_file,
            },
        )
    });
    // Numbers feed sizing arithmetic: each has a range that keeps it meaningful and every
    // product of them far from overflow.
    let num = |diags: &mut Vec<Diagnostic>,
               s: &Option<Spanned<u32>>,
               key: &str,
               min: u32,
               max: u32|
     -> Option<Val<u32>> {
        let v = val(tier, fleet_file, s)?;
        if (min..=max).contains(&v.value) {
            return Some(v);
        }
        diags.push(
            Diagnostic::new(
                codes::OUT_OF_RANGE,
                format!(
                    "tiers.{tier}.{key} must be from {min} to {max}, found {}",
                    v.value
                ),
            )
            .at(v.origin.span().unwrap_or_default(), "out of range")
            .help(format!(
                "set `{key}` between {min} and {max}; docs/tiers.md explains each key"
            )),
        );
        None
    };
    if let Some(a) = &profile.redis_architecture
        && !matches!(a.value.as_str(), "standalone" | "replication")
    {
        diags.push(
                Diagnostic::new(codes::INVALID_CHOICE, format!("tiers.{tier}.redisArchitecture must be `standalone` or `replication`, found `{}`", a.value))
                    .at(a.span, "not an architecture")
                    .help("use `standalone` or `replication` (Sentinel is not rendered)"),
            );
        return None;
    }
    // Reported at the `shared` item, as a module the platform does not ship is (BP1006).
    if let Some(shared) = profile.tenancies.as_ref().and_then(|t| {
        t.value
            .iter()
            .find(|x| tier == Tier::Critical && x.value == Tenancy::Shared)
    }) {
        let span = shared.span;
        diags.push(
            Diagnostic::new(codes::TIER_FORBIDS_TENANCY, "tier `critical` can never allow tenancy `shared`")
                .at(span, "includes `shared`")
                .help("remove `shared` from tiers.critical.tenancies: a point-in-time restore of the shared database would rewind every tenant"),
        );
        return None;
    }
    let schedule = profile.restore_test_schedule.as_ref()?;
    let restore_ok = parse_with(
        diags,
        schedule,
        codes::INVALID_CRON,
        "schedule",
        "write a 5-field cron: `0 6 * * 1`",
        units::cron,
    );
    let postgres_instances = num(
        diags,
        &profile.postgres_instances,
        "postgresInstances",
        1,
        5,
    );
    let synchronous_replication = val(tier, fleet_file, &profile.synchronous_replication);
    if let (Some(n), Some(sync)) = (&postgres_instances, &synchronous_replication)
        && sync.value
        && n.value < 2
    {
        // Where the fleet wrote one of the two (the embedded profiles agree with themselves).
        let fleet_span = |o: &Origin| match o {
            Origin::Tier {
                span, fleet: true, ..
            } => Some(*span),
            _ => None,
        };
        let (at, label) = match fleet_span(&n.origin) {
            Some(s) => (s, "one instance"),
            None => (
                fleet_span(&sync.origin).unwrap_or_default(),
                "with one PostgreSQL instance",
            ),
        };
        let mut d = Diagnostic::new(
            codes::OUT_OF_RANGE,
            format!(
                "tiers.{tier}.postgresInstances must be from 2 to 5 with synchronousReplication, found {}",
                n.value
            ),
        )
        .at(at, label)
        .note("synchronousReplication renders Patroni's synchronous_mode_strict: a commit waits for a synchronous standby, and with one instance there is none, so every write blocks");
        if let Some(other) = fleet_span(&sync.origin).filter(|s| *s != at) {
            d = d.also(other, "synchronousReplication set here");
        }
        diags.push(d.help(format!(
            "set `postgresInstances` of [tiers.{tier}] to 2 or more (3 across three zones for an rpo of zero), or `synchronousReplication = false`"
        )));
        return None;
    }
    Some(TierValues {
        tier,
        tenancies: tenancies?,
        min_replicas: num(diags, &profile.min_replicas, "minReplicas", 1, 50)?,
        hpa_factor: num(diags, &profile.hpa_factor, "hpaFactor", 1, 10)?,
        cpu_per_pod: num(diags, &profile.cpu_per_pod, "cpuPerPod", 1, 64)?,
        cron_threads: num(diags, &profile.cron_threads, "cronThreads", 1, 16)?,
        db_maxconn: num(diags, &profile.db_maxconn, "dbMaxconn", 1, 64)?,
        postgres_instances: postgres_instances?,
        synchronous_replication: synchronous_replication?,
        max_connections_cap: num(
            diags,
            &profile.max_connections_cap,
            "maxConnectionsCap",
            20,
            100_000,
        )?,
        redis_architecture: val(tier, fleet_file, &profile.redis_architecture)?,
        redis_persistence: val(tier, fleet_file, &profile.redis_persistence)?,
        max_backup_interval: dur(diags, &profile.max_backup_interval)?,
        max_retention: dur(diags, &profile.max_retention)?,
        restore_test_schedule: restore_ok.and(val(
            tier,
            fleet_file,
            &profile.restore_test_schedule,
        ))?,
        rpo: dur(diags, &profile.rpo)?,
        rto: dur(diags, &profile.rto)?,
        pitr_window: dur(diags, &profile.pitr_window)?,
        min_rpo: dur(diags, &profile.min_rpo)?,
        min_rto: dur(diags, &profile.min_rto)?,
    })
}

fn parse_embedded(
    map: &mut SourceMap,
    path: &str,
    text: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<(FileId, Node)> {
    let (id, ok) = blueprint_syntax::read_source(map, path, text.as_bytes(), diags);
    if !ok {
        return None;
    }
    let parsed = blueprint_syntax::parse(map, id, Format::Toml, &Limits::default());
    diags.extend(parsed.diagnostics);
    Some((id, parsed.root?))
}

/// Resolves the fleet from a parsed `fleet.toml` (or the embedded default when `None`).
pub fn resolve(
    map: &mut SourceMap,
    fleet: Option<(FileId, Node)>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Fleet> {
    let embedded = fleet.is_none();
    let (file, root) = match fleet {
        Some(f) => f,
        None => parse_embedded(map, DEFAULT_FLEET_PATH, DEFAULT_FLEET, diags)?,
    };
    let doc: FleetDoc = blueprint_syntax::decode(&root, diags)?;
    let (tiers_file, tiers_root) = parse_embedded(map, TIERS_PATH, TIERS, diags)?;
    let _ = tiers_file;

    let mut regions = BTreeMap::new();
    for (k, r) in doc.regions.value.iter() {
        regions.insert(
            k.name.clone(),
            Region {
                cloud_region: r.cloud_region.value.clone(),
                zones: r
                    .zones
                    .value
                    .iter()
                    .map(|z| z.value.as_str())
                    .collect::<std::collections::BTreeSet<_>>()
                    .len(),
                backup_peer: r.backup_peer.clone(),
                span: k.span,
            },
        );
    }
    for (k, r) in doc.regions.value.iter() {
        let bucket = format!(
            "{}-pgbackrest-{}",
            doc.organization.value.name.value, r.cloud_region.value
        );
        // The cloud region names a directory of the tree, bucket names, S3 endpoints,
        // pgbackrest.conf values and the runbook's commands: only the provider's own form.
        if let Err(why) = units::aws_region(&r.cloud_region.value) {
            bad(
                diags,
                codes::INVALID_NAME,
                r.cloud_region.span,
                "cloudRegion",
                &r.cloud_region.value,
                &why,
                "write the AWS region the plants of this fleet region run in, e.g. `eu-west-3`",
            );
        } else if bucket.len() > 63 {
            diags.push(
                Diagnostic::new(
                    codes::GENERATED_NAME_TOO_LONG,
                    format!(
                        "generated S3 bucket name `{bucket}` is {} characters; the limit is 63",
                        bucket.len()
                    ),
                )
                .at(r.cloud_region.span, "makes the bucket name too long")
                .also(doc.organization.value.name.span, "prefix of every bucket")
                .help(format!(
                    "shorten organization.name by {} character{}",
                    bucket.len() - 63,
                    if bucket.len() - 63 == 1 { "" } else { "s" }
                )),
            );
        }
        if r.zones.value.is_empty() {
            diags.push(
                Diagnostic::new(codes::OUT_OF_RANGE, format!("region `{}` lists no zones", k.name))
                    .at(r.zones.span, "empty")
                    .help("list the availability zones the plants may use, e.g. [\"eu-west-3a\", \"eu-west-3b\", \"eu-west-3c\"]"),
            );
        }
        for (i, z) in r.zones.value.iter().enumerate() {
            if let Err(why) = units::dns_label(&z.value, 63) {
                bad(
                    diags,
                    codes::INVALID_NAME,
                    z.span,
                    "zone",
                    &z.value,
                    &why,
                    "write the cloud's zone name, e.g. `eu-west-3a`",
                );
            } else if r.zones.value[..i].iter().any(|o| o.value == z.value) {
                diags.push(
                    Diagnostic::new(
                        codes::INVALID_NAME,
                        format!("zone `{}` is listed twice in region `{}`", z.value, k.name),
                    )
                    .at(z.span, "listed again")
                    .help("list each zone once: replication rules count distinct zones"),
                );
            }
        }
        if let Err(why) = units::dns_label(&k.name, 63) {
            bad(
                diags,
                codes::INVALID_NAME,
                k.span,
                "region name",
                &k.name,
                &why,
                "use a DNS label such as `eu-west`",
            );
        }
        if let Some(peer) = &r.backup_peer
            && (!regions.contains_key(&peer.value) || peer.value == k.name)
        {
            let why = if peer.value == k.name {
                "a region cannot back itself up"
            } else {
                "no such region in the fleet"
            };
            diags.push(
                Diagnostic::new(
                    codes::FLEET_REFERENCE,
                    format!("backupPeer `{}` of region `{}`: {why}", peer.value, k.name),
                )
                .at(peer.span, why)
                .help({
                    let others: Vec<&str> = regions.keys().map(String::as_str).filter(|r| *r != k.name).collect();
                    if others.is_empty() {
                        "define a second region under `[regions]` to hold the second repository, or remove `backupPeer`".to_string()
                    } else {
                        format!("name another region of `[regions]`: {}", others.join(", "))
                    }
                }),
            );
        }
    }

    let org = &doc.organization.value;
    if let Err(why) = units::dns_label(&org.name.value, 30) {
        bad(
            diags,
            codes::INVALID_NAME,
            org.name.span,
            "organization.name",
            &org.name.value,
            &why,
            "use a short DNS label: it prefixes bucket and role names",
        );
    }
    if let Err(why) = units::dns_name(&org.dns_zone.value) {
        bad(
            diags,
            codes::INVALID_NAME,
            org.dns_zone.span,
            "organization.dnsZone",
            &org.dns_zone.value,
            &why,
            "use a DNS zone such as `erp.example.com`",
        );
    }
    parse_with(
        diags,
        &org.gitops_repo,
        codes::INVALID_REFERENCE,
        "organization.gitopsRepo",
        "write the URL Argo CD clones the GitOps repository from: `https://host/path`, `ssh://git@host/path` or `git@host:path`",
        units::git_url,
    );
    parse_with(
        diags,
        &org.image_registry,
        codes::INVALID_REFERENCE,
        "organization.imageRegistry",
        "write the registry as images name it: `registry.example.com` or `registry.example.com:5000/mirror`",
        units::image_registry,
    );
    let acct = &doc.cloud.value.account_id;
    if acct.value.len() != 12 || !acct.value.bytes().all(|b| b.is_ascii_digit()) {
        bad(
            diags,
            codes::INVALID_REFERENCE,
            acct.span,
            "cloud.accountId",
            &acct.value,
            "an AWS account id has 12 digits",
            "write the 12-digit account id in quotes",
        );
    }

    let mut clusters = BTreeMap::new();
    if let Some(cs) = &doc.clusters {
        for (k, c) in cs.value.iter() {
            if let Err(why) = units::dns_label(&k.name, 40) {
                bad(
                    diags,
                    codes::INVALID_NAME,
                    k.span,
                    "cluster name",
                    &k.name,
                    &why,
                    "use a DNS label such as `shared-eu-west`",
                );
            }
            if !regions.contains_key(&c.region.value) {
                diags.push(
                    Diagnostic::new(
                        codes::FLEET_REFERENCE,
                        format!(
                            "cluster `{}` is in region `{}`, which the fleet does not define",
                            k.name, c.region.value
                        ),
                    )
                    .at(c.region.span, "no such region")
                    .help(format!(
                        "define `[regions.{}]` or use one of: {}",
                        c.region.value,
                        regions.keys().cloned().collect::<Vec<_>>().join(", ")
                    )),
                );
            }
            if let Some(i) = &c.oidc_issuer {
                parse_with(
                    diags,
                    i,
                    codes::INVALID_REFERENCE,
                    "oidcIssuer",
                    "use the cluster's OIDC issuer URL, such as `https://oidc.eks.eu-west-3.amazonaws.com/id/<ID>`",
                    units::https_url,
                );
            }
            let capacity = c.capacity.as_ref().and_then(|cap| {
                let cpu = parse_with(
                    diags,
                    &cap.value.cpu,
                    codes::INVALID_QUANTITY,
                    "capacity.cpu",
                    "write CPUs such as `64` or `500m`",
                    units::cpu_millis,
                );
                let mem = parse_with(
                    diags,
                    &cap.value.memory,
                    codes::INVALID_QUANTITY,
                    "capacity.memory",
                    QUANTITY_HELP,
                    units::quantity,
                );
                Some((cpu?, mem?, cap.span))
            });
            let maintenance = c.maintenance.as_ref().and_then(|m| {
                let w = m.value.window.as_ref().and_then(|w| {
                    parse_with(
                        diags,
                        w,
                        codes::INVALID_WINDOW,
                        "maintenance.window",
                        "write a weekly window such as `Sun 02:00-05:00`",
                        units::window,
                    )
                });
                let tz = m.value.timezone.as_ref().and_then(|t| {
                    parse_with(
                        diags,
                        t,
                        codes::INVALID_TIMEZONE,
                        "maintenance.timezone",
                        "use an IANA zone such as `Europe/Paris`",
                        units::timezone,
                    )
                });
                Some((w?, tz?, m.span))
            });
            let recovery = c.recovery.as_ref().and_then(|r| {
                let rpo = parse_with(
                    diags,
                    &r.value.rpo,
                    codes::INVALID_DURATION,
                    "recovery.rpo",
                    DURATION_HELP,
                    units::duration,
                );
                let rto = parse_with(
                    diags,
                    &r.value.rto,
                    codes::INVALID_DURATION,
                    "recovery.rto",
                    DURATION_HELP,
                    units::duration,
                );
                Some((rpo?, rto?, r.span))
            });
            if let Some(p) = &c.postgres {
                let max = p.value.max_connections.value;
                let reserved = p.value.reserved_connections.as_ref().map_or(0, |r| r.value);
                if !(10..=100_000).contains(&max) || reserved.saturating_add(3) >= max {
                    diags.push(
                        Diagnostic::new(codes::OUT_OF_RANGE, format!("cluster `{}`: maxConnections {max} with reservedConnections {reserved} leaves no connection for Odoo", k.name))
                            .at(p.span, "out of range")
                            .help("maxConnections is from 10 to 100000 and larger than reservedConnections + 3 (superuser_reserved_connections)"),
                    );
                }
            }
            let postgres = c.postgres.as_ref().map(|p| {
                (
                    p.value.max_connections.value,
                    p.value.reserved_connections.as_ref().map_or(0, |r| r.value),
                    p.span,
                )
            });
            let postgres_version = c
                .postgres
                .as_ref()
                .and_then(|p| p.value.version.as_ref())
                .map(|v| Val::new(v.value, Origin::Fleet(v.span)));
            let odoo = c.odoo.as_ref().map(|o| SharedOdoo {
                version: Val::new(o.value.version.value, Origin::Fleet(o.value.version.span)),
                edition: o.value.edition.as_ref().map_or_else(
                    || {
                        Val::new(
                            blueprint_syntax::doc::Edition::Community,
                            Origin::Fleet(o.span),
                        )
                    },
                    |e| Val::new(e.value, Origin::Fleet(e.span)),
                ),
                image: Val::new(
                    o.value.image.value.clone(),
                    Origin::Fleet(o.value.image.span),
                ),
                modules: o.value.modules.as_ref().map_or_else(
                    || Val::new(Vec::new(), Origin::Fleet(o.span)),
                    |m| {
                        Val::new(
                            m.value.iter().map(|x| x.value.clone()).collect(),
                            Origin::Fleet(m.span),
                        )
                    },
                ),
            });
            clusters.insert(
                k.name.clone(),
                Cluster {
                    region: c.region.clone(),
                    capacity,
                    maintenance,
                    recovery,
                    postgres,
                    postgres_version,
                    odoo,
                    span: k.span,
                },
            );
        }
    }

    // Tier profiles: the embedded profile with the fleet's overrides merged on top.
    let overrides = root.get("tiers");
    let mut tiers = BTreeMap::new();
    for &tier in Tier::ALL {
        let Some(base) = tiers_root.get(tier.as_str()) else {
            continue;
        };
        let merged = match overrides.and_then(|o| o.get(tier.as_str())) {
            Some(o) => base.merged(o),
            None => base.clone(),
        };
        // The overrides were decoded (and any problem reported) with the fleet document; a
        // second report from the merged profile would only repeat it.
        let profile: Option<TierProfile> = blueprint_syntax::decode(&merged, &mut Vec::new());
        if let Some(v) = profile.and_then(|p| tier_values(tier, &p, file, diags)) {
            tiers.insert(tier, v);
        }
    }
    if tiers.len() != Tier::ALL.len() {
        return None;
    }

    let b = doc.backup.as_ref().map(|b| b.value.clone());
    let defaults_span = doc
        .backup
        .as_ref()
        .map_or(Span::new(file, 0, 0), |b| b.span);
    let rate_val = |diags: &mut Vec<Diagnostic>,
                    t: Option<&Spanned<String>>,
                    fallback: u64,
                    what: &'static str|
     -> Val<u64> {
        match t {
            Some(t) => match units::rate(&t.value, "s") {
                Ok(v) if v > 0 => Val::new(v, Origin::Fleet(t.span)),
                Ok(_) | Err(_) => {
                    bad(
                        diags,
                        codes::INVALID_QUANTITY,
                        t.span,
                        what,
                        &t.value,
                        "not a positive quantity per second",
                        "write a throughput such as `200Mi/s`",
                    );
                    Val::new(fallback, Origin::Fleet(t.span))
                }
            },
            None => Val::derived(
                fallback,
                "fleet backup default",
                format!("{} (built-in default)", units::fmt_bytes(fallback)),
            ),
        }
    };
    let mi = 1024 * 1024;
    let throughput = Throughput {
        restore: rate_val(
            diags,
            b.as_ref().and_then(|b| b.restore_throughput.as_ref()),
            200 * mi,
            "backup.restoreThroughput",
        ),
        backup: rate_val(
            diags,
            b.as_ref().and_then(|b| b.backup_throughput.as_ref()),
            100 * mi,
            "backup.backupThroughput",
        ),
        replay: rate_val(
            diags,
            b.as_ref().and_then(|b| b.wal_replay_rate.as_ref()),
            50 * mi,
            "backup.walReplayRate",
        ),
        startup: match b.as_ref().and_then(|b| b.startup_allowance.as_ref()) {
            Some(t) => Val::new(
                parse_with(
                    diags,
                    t,
                    codes::INVALID_DURATION,
                    "backup.startupAllowance",
                    DURATION_HELP,
                    units::duration,
                )
                .unwrap_or(600),
                Origin::Fleet(t.span),
            ),
            None => Val::new(600, Origin::Fleet(defaults_span)),
        },
    };

    let defaults = root.get("defaults").cloned();
    let review = review_policy(&doc, diags);
    Some(Fleet {
        file,
        embedded,
        doc,
        regions,
        clusters,
        tiers,
        throughput,
        defaults,
        review,
    })
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{Input, compile};

    const REVIEW: &str = "[review]\nhigh = [\"platform-architects\", \"owner\"]\nmedium = [\"platform-operators\", \"owner\"]\nlow = [\"owner\"]\n";

    /// The default fleet with its `[review]` table replaced by `review`.
    fn fleet(review: &str) -> crate::Compilation {
        assert!(DEFAULT_FLEET.contains(REVIEW));
        let text = DEFAULT_FLEET.replace(REVIEW, review);
        compile(&[Input {
            path: "plants/fleet.toml".into(),
            bytes: text.into_bytes(),
            is_fleet: true,
        }])
    }

    /// `CODE line:col` of every finding.
    fn findings(c: &crate::Compilation) -> Vec<String> {
        c.diagnostics
            .iter()
            .map(|d| {
                let at = d.primary.as_ref().map_or(String::new(), |l| {
                    let lc = c.map.line_col(l.span);
                    format!(" {}:{}", lc.line, lc.column)
                });
                format!("{}{at}", d.code)
            })
            .collect()
    }

    fn line_of(review: &str, needle: &str) -> usize {
        let base = DEFAULT_FLEET[..DEFAULT_FLEET.find(REVIEW).unwrap()]
            .lines()
            .count();
        base + review.lines().position(|l| l.contains(needle)).unwrap() + 1
    }

    #[test]
    fn a_valid_policy_renders_handles_with_the_prefix() {
        let review = "[review]\nteamPrefix = \"@hexacore/\"\nhigh = [\"@hexacore/architecture-board\", \"owner\"]\nmedium = [\"platform\"]\n";
        let c = fleet(review);
        assert_eq!(findings(&c), Vec::<String>::new());
        let p = c.fleet.unwrap().review.unwrap();
        assert_eq!(p.team_prefix.as_deref(), Some("@hexacore/"));
        assert_eq!(
            p.approvers(Risk::High, Some("hx-erp-lyon")),
            ["@hexacore/architecture-board", "@hexacore/hx-erp-lyon"]
        );
        assert_eq!(p.approvers(Risk::Medium, Some("x")), ["@hexacore/platform"]);
        // A class left out requires nobody; `none` never does.
        assert!(p.approvers(Risk::Low, Some("x")).is_empty());
        assert!(p.approvers(Risk::None, Some("x")).is_empty());
        // `owner` of an unknown team is left out, not guessed.
        assert_eq!(
            p.approvers(Risk::High, None),
            ["@hexacore/architecture-board"]
        );
    }

    #[test]
    fn the_prefix_defaults_to_the_owner_of_the_gitops_repository() {
        let c = fleet(REVIEW);
        let p = c.fleet.unwrap().review.unwrap();
        assert_eq!(p.team_prefix.as_deref(), Some("@platform/"));
        assert_eq!(
            default_team_prefix("https://gitlab.example.com/a/b/gitops.git").as_deref(),
            Some("@a/b/")
        );
        assert_eq!(
            default_team_prefix("https://git.example.com/gitops.git"),
            None
        );
        assert_eq!(
            default_team_prefix("git@git.example.com:hexacore/erp/gitops.git").as_deref(),
            Some("@hexacore/erp/")
        );
        assert_eq!(
            default_team_prefix("ssh://git@git.example.com:2222/hexacore/gitops.git").as_deref(),
            Some("@hexacore/")
        );
    }

    #[test]
    fn no_table_no_policy() {
        let c = fleet("");
        assert_eq!(findings(&c), Vec::<String>::new());
        assert!(c.fleet.unwrap().review.is_none());
    }

    #[test]
    fn an_unknown_key_or_class_is_refused_where_it_is_written() {
        for (review, key) in [
            (
                "[review]\nhigh = [\"owner\"]\ncritical = [\"owner\"]\n",
                "critical",
            ),
            ("[review]\nhihg = [\"owner\"]\n", "hihg"),
            ("[review]\nteam_prefix = \"@x/\"\n", "team_prefix"),
        ] {
            let c = fleet(review);
            let line = line_of(review, key);
            assert_eq!(findings(&c), [format!("BP0009 {line}:1")], "{review}");
            assert!(c.diagnostics[0].help.is_some(), "{review}");
        }
        let c = fleet("[review]\nhihg = [\"owner\"]\n");
        assert!(
            c.diagnostics[0].help.as_deref().unwrap().contains("high"),
            "{:?}",
            c.diagnostics[0]
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_is_refused() {
        let review = "[review]\nhigh = \"owner\"\nlow = [1]\n";
        let c = fleet(review);
        let (h, l) = (line_of(review, "high"), line_of(review, "low"));
        assert_eq!(
            findings(&c),
            [format!("BP0011 {h}:8"), format!("BP0011 {l}:8")]
        );
    }

    #[test]
    fn bad_groups_and_prefixes_are_bp4014() {
        let review = "[review]\nteamPrefix = \"hexacore\"\nhigh = [\"team lead\", \"@ok/team\", \"@ok/team\"]\nmedium = []\nlow = [\"@/x\"]\n";
        let c = fleet(review);
        let at = |needle: &str, col: usize| format!("BP4014 {}:{col}", line_of(review, needle));
        let mut got = findings(&c);
        got.sort();
        let mut want = vec![
            at("teamPrefix", 14),
            at("high", 9),
            at("high", 34),
            at("medium", 10),
            at("low", 8),
        ];
        want.sort();
        assert_eq!(got, want);
        assert!(c.fleet.unwrap().review.is_none());
    }

    #[test]
    fn team_names_need_a_prefix_when_the_repository_has_no_owner() {
        let text = DEFAULT_FLEET.replace(
            "https://git.example.com/platform/gitops.git",
            "https://git.example.com/gitops.git",
        );
        let c = compile(&[Input {
            path: "plants/fleet.toml".into(),
            bytes: text.clone().into_bytes(),
            is_fleet: true,
        }]);
        assert_eq!(
            c.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(),
            [codes::INVALID_REVIEW_GROUP]
        );
        let fixed = text.replace("[review]\n", "[review]\nteamPrefix = \"@example/\"\n");
        let c = compile(&[Input {
            path: "plants/fleet.toml".into(),
            bytes: fixed.into_bytes(),
            is_fleet: true,
        }]);
        assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
    }
}

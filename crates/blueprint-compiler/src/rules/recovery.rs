//! Recovery rules (BP2xxx): the objectives of one plant in one environment against the backups
//! planned for it (`resolve::backup`) and what its tier, region and database can do.

use crate::fleet::{Fleet, Region};
use crate::model::{Database, Maintenance, Origin, Recovery, Repo};
use crate::resolve::backup::{Plan, Schedule, fmt_week};
use crate::resolve::placement::{Header, Placement};
use crate::units::{fmt_bytes, fmt_duration};
use blueprint_diagnostics::{Diagnostic, FileId, Span, codes};

/// One environment of a plant, resolved, with its backup plan.
pub(crate) struct Subject<'a> {
    /// The resolved fleet.
    pub(crate) fleet: &'a Fleet,
    /// The plant file: findings about a value written elsewhere point at the plant.
    pub(crate) file: FileId,
    /// Name, region and tier as written.
    pub(crate) head: &'a Header<'a>,
    /// Tier profile and tenancy.
    pub(crate) place: &'a Placement<'a>,
    /// The fleet's region.
    pub(crate) region_info: &'a Region,
    /// Objectives.
    pub(crate) recovery: &'a Recovery,
    /// PostgreSQL, sized.
    pub(crate) database: &'a Database,
    /// Maintenance window.
    pub(crate) maintenance: &'a Maintenance,
    /// Backup cadence and restore estimate.
    pub(crate) plan: &'a Plan,
    /// Backup schedules.
    pub(crate) schedule: &'a Schedule,
    /// Backup repositories.
    pub(crate) repos: &'a [Repo],
}

impl Subject<'_> {
    /// Where a value was written in the plant file, else `fallback`.
    fn written(&self, origin: &Origin, fallback: Span) -> Span {
        origin
            .span()
            .filter(|s| s.file == self.file)
            .unwrap_or(fallback)
    }
    fn rpo_span(&self) -> Span {
        self.written(&self.recovery.rpo.origin, self.head.tier.span)
    }
    fn rto_span(&self) -> Span {
        self.written(&self.recovery.rto.origin, self.head.tier.span)
    }
    /// RDS: `rpo` below its five-minute guarantee (reported as BP2006, not BP2010).
    fn managed_rpo_too_tight(&self) -> bool {
        self.place.managed && self.recovery.rpo.value < 300
    }
    /// Synchronous replication to three instances across three zones.
    fn sync_ok(&self) -> bool {
        self.place.profile.synchronous_replication.value
            && self.database.instances.value >= 3
            && self.region_info.zones >= 3
    }
    /// `rpo` zero without synchronous replication (outside RDS): BP2003, nothing else.
    fn rpo_zero_without_sync(&self) -> bool {
        !self.place.managed && self.recovery.rpo.value == 0 && !self.sync_ok()
    }
}

/// Every recovery rule, in the order their findings are reported.
pub(crate) fn check(s: &Subject<'_>, diags: &mut Vec<Diagnostic>) {
    // A shared tenant's restore depends on every tenant of its cluster: `shared_tenant_rto`.
    if !s.place.shared {
        rto_infeasible(s, diags);
    }
    managed_rpo(s, diags);
    rpo_zero_needs_sync(s, diags);
    rpo_needs_standby(s, diags);
    rpo_region_loss(s, diags);
    objective_beyond_tier(s, diags);
    pitr_beyond_retention(s, diags);
    // The shared database is backed up in the platform's window, not the tenant's.
    if !s.place.shared {
        backup_exceeds_window(s, diags);
        window_crosses_dst(s, diags);
    }
    no_second_repository(s, diags);
}

/// BP2004: no backup cadence restores within `rto`.
fn rto_infeasible(s: &Subject<'_>, diags: &mut Vec<Diagnostic>) {
    let (plan, rto) = (s.plan, &s.recovery.rto);
    if plan.fitting.is_some() {
        return;
    }
    let rto_est = plan.rto_estimate;
    diags.push(
        Diagnostic::new(codes::RTO_INFEASIBLE, format!("recovery.rto {} cannot be met: the fastest backup cadence restores in {}", fmt_duration(rto.value), fmt_duration(rto_est)))
            .at(s.rto_span(), format!("rto {}", fmt_duration(rto.value)))
            .note(if s.place.managed {
                format!("estimate from the daily automated snapshot: {}", plan.estimate.arithmetic(plan.interval()))
            } else {
                format!("estimate with hourly incremental backups: {}", plan.estimate.arithmetic(3600))
            })
            .help(format!("raise rto to {} or more, raise backup.restoreThroughput or walReplayRate in fleet.toml, or shrink database.size/writeRate", fmt_duration(rto_est))),
    );
}

/// BP2006: on Amazon RDS (`dedicated-environment`), `rpo` below the five minutes it guarantees.
fn managed_rpo(s: &Subject<'_>, diags: &mut Vec<Diagnostic>) {
    if !s.managed_rpo_too_tight() {
        return;
    }
    diags.push(
        Diagnostic::new(codes::MANAGED_DB_LIMIT, format!("recovery.rpo {} is tighter than Amazon RDS guarantees (5m)", fmt_duration(s.recovery.rpo.value)))
            .at(s.rpo_span(), "below 5m")
            .help("set rpo to 5m or more, or choose `dedicated-cluster` to run PostgreSQL with a streaming standby"),
    );
}

/// BP2003: `rpo` zero (zone loss without data loss) needs synchronous replication to three
/// instances across three zones.
fn rpo_zero_needs_sync(s: &Subject<'_>, diags: &mut Vec<Diagnostic>) {
    if !s.rpo_zero_without_sync() {
        return;
    }
    let (tier, tv) = (s.head.tier, s.place.profile);
    let zones = s.region_info.zones;
    let mut d = Diagnostic::new(codes::RPO_ZERO_NEEDS_SYNC, "recovery.rpo 0 needs synchronous replication to at least three instances across three zones")
        .at(s.rpo_span(), "rpo zero")
        .note(format!("tier {}: synchronousReplication {}, {} PostgreSQL instances; region {}: {zones} zones", tier.value, tv.synchronous_replication.value, s.database.instances.value, s.head.region.value));
    // A fleet override of the profile is the other place involved.
    for (origin, what) in [
        (
            &tv.synchronous_replication.origin,
            "synchronousReplication set here",
        ),
        (&s.database.instances.origin, "postgresInstances set here"),
    ] {
        if let Origin::Tier {
            span, fleet: true, ..
        } = origin
        {
            d = d.also(*span, what);
        }
    }
    let help = if tier.value == blueprint_syntax::doc::Tier::Critical {
        "keep `synchronousReplication = true` and `postgresInstances` at 3 or more for tier `critical` in fleet.toml, use a region with three zones, or accept an rpo above zero"
    } else {
        "use tier `critical` (synchronous_mode_strict, three instances) in a region with three zones, or accept an rpo above zero"
    };
    diags.push(d.help(help));
}

/// BP2001: without a streaming standby, losing the instance or its zone loses the archive
/// window (archive timeout + push latency), more than `rpo`.
fn rpo_needs_standby(s: &Subject<'_>, diags: &mut Vec<Diagnostic>) {
    let (rpo, plan) = (s.recovery.rpo.value, s.plan);
    if s.place.managed
        || s.rpo_zero_without_sync()
        || rpo >= plan.loss
        || s.database.instances.value >= 2
    {
        return;
    }
    diags.push(
        Diagnostic::new(codes::RPO_NEEDS_STANDBY, format!("recovery.rpo {} is tighter than WAL archiving can guarantee ({})", fmt_duration(rpo), fmt_duration(plan.loss)))
            .at(s.rpo_span(), "requested here")
            .note(format!("losing the instance or its zone loses up to archive_timeout {} + push latency {} = {}; tier {} has no streaming standby", fmt_duration(plan.archive_timeout), fmt_duration(plan.latency), fmt_duration(plan.loss), s.head.tier.value))
            .help(format!("set rpo to {} or more, or use tier `standard` or `critical`, which add a streaming standby", fmt_duration(plan.loss))),
    );
}

/// BP2002: with a standby, `rpo` holds for instance and zone loss, but a region loss or a
/// point-in-time restore still loses the archive window, whatever the replication.
fn rpo_region_loss(s: &Subject<'_>, diags: &mut Vec<Diagnostic>) {
    let (rpo, plan) = (s.recovery.rpo.value, s.plan);
    if s.place.managed
        || s.rpo_zero_without_sync()
        || rpo >= plan.loss
        || s.database.instances.value < 2
    {
        return;
    }
    diags.push(
        Diagnostic::new(codes::RPO_REGION_LOSS, format!("losing the region or restoring to a point in time can lose up to {}, more than recovery.rpo {}", fmt_duration(plan.loss), fmt_duration(rpo)))
            .at(s.rpo_span(), "met only for instance and zone loss")
            .note(format!("the standby covers instance and zone loss; a region loss or PITR loses archive_timeout {} + push latency {} to the slowest repository", fmt_duration(plan.archive_timeout), fmt_duration(plan.latency)))
            .help(format!("set rpo to {} or more if it must hold for region loss too", fmt_duration(plan.loss))),
    );
}

/// Where a value was written in the fleet file (a fleet default or a tier override), if the
/// fleet is a real file.
fn in_fleet(s: &Subject<'_>, origin: &Origin) -> Option<Span> {
    match origin {
        Origin::Tier {
            span, fleet: true, ..
        }
        | Origin::FleetDefault(span)
            if !s.fleet.embedded =>
        {
            Some(*span)
        }
        _ => None,
    }
}

/// BP2010: an objective tighter than the tier honours (`minRpo`, `minRto`), one finding each,
/// at the objective the plant writes; when it writes none, at the fleet's override of the
/// minimum (the fleet made the tier's own default infeasible), else where the fleet writes the
/// objective, else at the plant's tier. A finding at the fleet is the same for every plant of
/// the tier, and is listed once.
fn objective_beyond_tier(s: &Subject<'_>, diags: &mut Vec<Diagnostic>) {
    let (tier, tv) = (s.head.tier, s.place.profile);
    let (rpo, rto) = (&s.recovery.rpo, &s.recovery.rto);
    let rpo_beyond = rpo.value < tv.min_rpo.value && !s.managed_rpo_too_tight();
    let rto_beyond = rto.value < tv.min_rto.value;
    for (what, key, beyond, v, min) in [
        ("rpo", "minRpo", rpo_beyond, rpo, &tv.min_rpo),
        ("rto", "minRto", rto_beyond, rto, &tv.min_rto),
    ] {
        if !beyond {
            continue;
        }
        let d = Diagnostic::new(
            codes::OBJECTIVE_BEYOND_TIER,
            format!(
                "recovery.{what} {} is tighter than tier `{}` honours ({})",
                fmt_duration(v.value),
                tier.value,
                fmt_duration(min.value)
            ),
        );
        let in_plant = v.origin.span().filter(|sp| sp.file == s.file);
        let d = match (in_plant, in_fleet(s, &min.origin), in_fleet(s, &v.origin)) {
            (None, Some(at), _) => d
                .at(at, format!("tier `{}` honours {} at best", tier.value, fmt_duration(min.value)))
                .note(format!(
                    "recovery.{what} {} comes from {}; plants that set no {what} get it",
                    fmt_duration(v.value),
                    match &v.origin {
                        Origin::Tier { fleet: false, .. } => "the tier's default".to_string(),
                        Origin::Tier { .. } =>
                            format!("the tier's default in [tiers.{}]", tier.value),
                        _ => "the fleet's defaults".to_string(),
                    }
                ))
                .help(format!(
                    "set `{key}` of [tiers.{}] to {} or less, or `{what}` of the tier (or of its plants) to {} or more",
                    tier.value,
                    fmt_duration(v.value),
                    fmt_duration(min.value)
                )),
            (None, None, Some(at)) => d
                .at(at, "too tight for the tier")
                .help(format!(
                    "set {what} to {} or more, or choose a higher tier",
                    fmt_duration(min.value)
                )),
            _ => d
                .at(in_plant.unwrap_or(tier.span), "too tight for the tier")
                .also(tier.span, "tier")
                .help(format!(
                    "set {what} to {} or more, or choose a higher tier",
                    fmt_duration(min.value)
                )),
        };
        diags.push(d);
    }
}

/// BP2005 (BP2006 on Amazon RDS, which keeps at most 35 days): `pitrWindow` needs a retention
/// longer than the tier keeps backups.
fn pitr_beyond_retention(s: &Subject<'_>, diags: &mut Vec<Diagnostic>) {
    let (tier, managed) = (s.head.tier, s.place.managed);
    let pitr = &s.recovery.pitr_window;
    let retention_days = s.plan.retention_days;
    let pitr_span = s.written(&pitr.origin, tier.span);
    let max_ret = if managed {
        35 * 86_400
    } else {
        s.place.profile.max_retention.value
    };
    if retention_days * 86_400 <= max_ret {
        return;
    }
    let code = if managed {
        codes::MANAGED_DB_LIMIT
    } else {
        codes::PITR_BEYOND_RETENTION
    };
    let who = if managed {
        "Amazon RDS keeps automated backups at most 35d".to_string()
    } else {
        format!(
            "tier `{}` keeps backups at most {}",
            tier.value,
            fmt_duration(max_ret)
        )
    };
    let (needs, how) = if managed {
        (
            format!("a backup retention period of {retention_days} days"),
            "RDS restores to any point within its backup retention period".to_string(),
        )
    } else {
        (
            format!("repo1-retention-full={retention_days} days"),
            format!(
                "retention-full-type=time keeps the newest full backup older than {retention_days}d, so the oldest restorable point is at least {retention_days}d back"
            ),
        )
    };
    diags.push(
        Diagnostic::new(
            code,
            format!(
                "recovery.pitrWindow {} needs {needs}; {who}",
                fmt_duration(pitr.value)
            ),
        )
        .at(pitr_span, "window too long")
        .note(how)
        .help(format!(
            "set pitrWindow to {} or less{}",
            fmt_duration(max_ret),
            if managed {
                ""
            } else {
                ", or raise tiers.<tier>.maxRetention in fleet.toml"
            }
        )),
    );
}

/// Whether the full backup takes longer than the whole maintenance window (outside RDS).
fn full_backup_exceeds_window(s: &Subject<'_>) -> bool {
    s.plan.estimate.full_duration > s.schedule.window_secs && !s.place.managed
}

/// BP2007: the full backup takes longer than the maintenance window.
fn backup_exceeds_window(s: &Subject<'_>, diags: &mut Vec<Diagnostic>) {
    if !full_backup_exceeds_window(s) {
        return;
    }
    let (est, window) = (&s.plan.estimate, &s.maintenance.window);
    let full_duration = est.full_duration;
    diags.push(
        Diagnostic::new(
            codes::BACKUP_EXCEEDS_WINDOW,
            format!(
                "the full backup takes about {}, longer than the maintenance window {} ({})",
                fmt_duration(full_duration),
                window.value,
                fmt_duration(s.schedule.window_secs)
            ),
        )
        .at(
            s.written(&window.origin, s.head.name.span),
            "window too short",
        )
        .note(format!(
            "database.size {} / backupThroughput {}/s = {}",
            fmt_bytes(est.size),
            fmt_bytes(est.backup_rate),
            fmt_duration(full_duration)
        ))
        .help("widen the maintenance window, or raise backup.backupThroughput in fleet.toml"),
    );
}

/// BP2009: the full backup fits the window, but not the part of it that is inside the window in
/// both winter and summer time (backup schedules are in UTC).
fn window_crosses_dst(s: &Subject<'_>, diags: &mut Vec<Diagnostic>) {
    let sched = s.schedule;
    let full_duration = s.plan.estimate.full_duration;
    if full_backup_exceeds_window(s)
        || !(full_duration > sched.usable && sched.winter != sched.summer && !s.place.managed)
    {
        return;
    }
    let m = s.maintenance;
    diags.push(
        Diagnostic::new(codes::WINDOW_CROSSES_DST, format!("with a fixed UTC schedule, the full backup ({}) leaves the window {} {} in winter or summer time", fmt_duration(full_duration), m.window.value, m.timezone.value))
            .at(s.written(&m.window.origin, s.head.name.span), "shifts by the DST offset")
            .note(format!("backup schedules have no time zone: in UTC the window is {} in winter and {} in summer; the part inside both is {}", fmt_week(sched.winter), fmt_week(sched.summer), fmt_duration(sched.usable)))
            .help("widen the window by the DST offset (one hour), or use timezone UTC"),
    );
}

/// BP2008: a `critical` plant keeps backups in two regions, but its region has no usable
/// `backupPeer`.
fn no_second_repository(s: &Subject<'_>, diags: &mut Vec<Diagnostic>) {
    if !s.plan.critical || s.repos.len() > 1 {
        return;
    }
    let (name, region) = (s.head.name, s.head.region);
    diags.push(
        Diagnostic::new(
            codes::NO_SECOND_REPOSITORY,
            format!(
                "critical plant `{}` needs a second repository, but region `{}` has no backupPeer",
                name.value, region.value
            ),
        )
        .at(s.head.tier.span, "critical keeps backups in two regions")
        .also(
            s.fleet
                .regions
                .get(&region.value)
                .map_or(region.span, |r| r.span),
            "region without backupPeer",
        )
        .help(format!(
            "set `backupPeer` of `[regions.{}]` in fleet.toml to another region",
            region.value
        )),
    );
}

/// BP2004 for `shared` tenants: the side restore of the whole shared database, then a dump and
/// restore of the tenant's database (`resolve::backup::shared_tenant_estimates`), against the
/// tenant's `rto`.
pub(crate) fn shared_tenant_rto(plants: &[crate::ResolvedPlant], diags: &mut Vec<Diagnostic>) {
    for p in plants.iter().filter(|p| p.database.shared) {
        let (estimate, rto) = (p.backup.rto_estimate.value, &p.recovery.rto);
        if estimate <= rto.value {
            continue;
        }
        let detail = match &p.backup.rto_estimate.origin {
            Origin::Derived { detail, .. } => detail.clone(),
            _ => String::new(),
        };
        let cluster = p.cluster.as_ref().map_or("", |c| c.value.as_str());
        // The objective where the plant wrote it, else the plant's tenancy.
        let tenancy = p.tenancy.origin.span().unwrap_or_default();
        let written = rto.origin.span().filter(|s| s.file == tenancy.file);
        let at = written.unwrap_or(tenancy);
        let label = if written.is_some() {
            format!("rto {}", fmt_duration(rto.value))
        } else {
            format!("rto {}, the cluster's guarantee", fmt_duration(rto.value))
        };
        diags.push(
            Diagnostic::new(codes::RTO_INFEASIBLE, format!("recovery.rto {} cannot be met: recovering one shared tenant takes about {}", fmt_duration(rto.value), fmt_duration(estimate)))
                .at(at, label)
                .note(detail)
                .help(format!(
                    "raise rto to {} or more, move tenants off cluster `{cluster}` (the side restore grows with every tenant), or choose `dedicated-namespace`",
                    fmt_duration(estimate)
                ))
                .in_scope(p.env.clone()),
        );
    }
}

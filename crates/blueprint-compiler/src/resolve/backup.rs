//! Recovery objectives and the backups that meet them: RPO, RTO and PITR window (a `shared`
//! plant gets its platform's guarantee, BP1007 when it asks for more), the maintenance window,
//! archive timeout, backup cadence and restore estimate, schedules in UTC, repositories and
//! retention. The recovery rules (BP2xxx) judging the result are in `rules::recovery`.

use super::Cx;
use super::placement::{Header, Placement};
use super::sizing::filestore_estimate;
use crate::fleet::{Fleet, Region, Throughput, TierValues, parse_with};
use crate::model::{Backup, Database, Maintenance, Origin, Recovery, Repo, Val};
use crate::units::{self, fmt_bytes, fmt_duration};
use blueprint_diagnostics::{Diagnostic, codes};
use blueprint_syntax::doc::{PlantDoc, Tier};
use chrono_tz::Tz;

/// Push latency to a repository in the plant's region, seconds.
pub(crate) const PUSH_LATENCY_LOCAL: u64 = 10;
/// Push latency to a repository in another region, seconds.
pub(crate) const PUSH_LATENCY_REMOTE: u64 = 40;

/// Resolves `recovery`: each objective as written, else the shared platform's guarantee (tenancy
/// `shared`), else the tier's. A `shared` plant asking more than its platform guarantees is
/// BP1007. `None` when an objective does not parse.
pub(crate) fn objectives(
    cx: &mut Cx<'_>,
    doc: &PlantDoc,
    place: &Placement<'_>,
    head: &Header<'_>,
) -> Option<Recovery> {
    let tv = place.profile;
    let rec = doc.recovery.as_ref().map(|r| &r.value);
    // A shared tenant gets what its platform guarantees unless it asks for something else.
    let guarantee = place
        .cluster
        .as_ref()
        .filter(|_| place.shared)
        .and_then(|(_, c)| c.recovery);
    let default_rpo = guarantee.map_or_else(
        || tv.rpo.clone(),
        |(v, _, span)| Val::new(v, Origin::Fleet(span)),
    );
    let default_rto = guarantee.map_or_else(
        || tv.rto.clone(),
        |(_, v, span)| Val::new(v, Origin::Fleet(span)),
    );
    let rpo = rec
        .and_then(|r| r.rpo.as_ref())
        .map_or_else(|| Some(default_rpo), |t| cx.dur(t));
    let rto = rec
        .and_then(|r| r.rto.as_ref())
        .map_or_else(|| Some(default_rto), |t| cx.dur(t));
    let pitr = rec
        .and_then(|r| r.pitr_window.as_ref())
        .map_or_else(|| Some(tv.pitr_window.clone()), |t| cx.dur(t));

    if let (true, Some((_, c)), Some(rpo), Some(rto)) = (place.shared, &place.cluster, &rpo, &rto)
        && let Some((g_rpo, g_rto, g_span)) = c.recovery
    {
        for (what, v, g) in [("rpo", rpo, g_rpo), ("rto", rto, g_rto)] {
            if v.value < g {
                cx.reject(
                    Diagnostic::new(codes::SHARED_RECOVERY_BEYOND_PLATFORM, format!("recovery.{what} {} is tighter than the shared platform guarantees ({})", fmt_duration(v.value), fmt_duration(g)))
                        .at(v.origin.span().unwrap_or(head.tenancy.span), "asks more than the platform")
                        .also(g_span, "the cluster's guarantee")
                        .help(format!("set {what} to {} or more, or choose `dedicated-namespace` for objectives of its own", fmt_duration(g))),
                );
            }
        }
    }
    Some(Recovery {
        rpo: rpo?,
        rto: rto?,
        pitr_window: pitr?,
    })
}

/// Resolves the maintenance window and its time zone, both required.
pub(crate) fn maintenance(cx: &mut Cx<'_>, doc: &PlantDoc) -> Option<(Maintenance, Tz)> {
    let mnt = doc.maintenance.as_ref().map(|m| &m.value);
    let window = match mnt.and_then(|m| m.window.as_ref()) {
        Some(w) => parse_with(
            cx.diags,
            w,
            codes::INVALID_WINDOW,
            "maintenance.window",
            "write a weekly window such as `Sun 02:00-05:00`",
            units::window,
        )
        .map(|v| Val::new(v, cx.layers.origin(w.span))),
        None => {
            cx.missing(
                "maintenance.window",
                " (or `[defaults.maintenance]` to fleet.toml)",
            );
            None
        }
    };
    let tz = match mnt.and_then(|m| m.timezone.as_ref()) {
        Some(t) => parse_with(
            cx.diags,
            t,
            codes::INVALID_TIMEZONE,
            "maintenance.timezone",
            "use an IANA zone such as `Europe/Paris` or `UTC`",
            units::timezone,
        )
        .map(|z| (z, cx.layers.val(t))),
        None => {
            cx.missing(
                "maintenance.timezone",
                ": an IANA zone such as `Europe/Paris`",
            );
            None
        }
    };
    let (window, (tz, timezone)) = (window?, tz?);
    Some((Maintenance { window, timezone }, tz))
}

/// How long a restore takes: the last full backup, the WAL written since, the filestore and
/// the startup allowance.
pub(crate) struct RestoreEstimate {
    /// Database size, bytes.
    pub(crate) size: u64,
    /// WAL bytes per day.
    write_rate: u64,
    /// Filestore size, bytes.
    pub(crate) filestore: u64,
    /// Backup throughput, bytes per second.
    pub(crate) backup_rate: u64,
    /// Restore throughput, bytes per second.
    restore_rate: u64,
    /// WAL replay rate, bytes per second.
    replay_rate: u64,
    /// Startup allowance, seconds.
    startup: u64,
    /// Duration of a full backup, seconds.
    pub(crate) full_duration: u64,
    /// Restoring the database, seconds.
    restore_secs: u64,
    /// Restoring the filestore, seconds.
    filestore_secs: u64,
}

impl RestoreEstimate {
    fn new(database: &Database, t: &Throughput) -> Self {
        let size = database.size.value;
        let filestore = filestore_estimate(size);
        Self {
            size,
            write_rate: database.write_rate.value,
            filestore,
            backup_rate: t.backup.value,
            restore_rate: t.restore.value,
            replay_rate: t.replay.value,
            startup: t.startup.value,
            // RDS snapshots are storage snapshots: replay starts at the snapshot itself.
            full_duration: if database.managed {
                0
            } else {
                size.div_ceil(t.backup.value)
            },
            restore_secs: size.div_ceil(t.restore.value),
            filestore_secs: filestore.div_ceil(t.restore.value),
        }
    }

    /// WAL to replay with backups every `interval` seconds.
    fn wal(&self, interval: u64) -> u64 {
        self.write_rate
            .saturating_mul(interval + self.full_duration)
            / 86_400
    }

    /// Restore time with backups every `interval` seconds.
    pub(crate) fn seconds(&self, interval: u64) -> u64 {
        let wal = self.wal(interval);
        self.restore_secs + wal.div_ceil(self.replay_rate) + self.filestore_secs + self.startup
    }

    /// The arithmetic of [`Self::seconds`], for people.
    pub(crate) fn arithmetic(&self, interval: u64) -> String {
        let wal = self.wal(interval);
        format!(
            "restore {} / {}/s = {} + WAL {}/day × ({} interval + {} full backup) ≈ {} / replay {}/s = {} + filestore {} / {}/s = {} + startup {} = {}",
            fmt_bytes(self.size),
            fmt_bytes(self.restore_rate),
            fmt_duration(self.restore_secs),
            fmt_bytes(self.write_rate),
            fmt_duration(interval),
            fmt_duration(self.full_duration),
            units::fmt_bytes_approx(wal),
            fmt_bytes(self.replay_rate),
            fmt_duration(wal.div_ceil(self.replay_rate)),
            fmt_bytes(self.filestore),
            fmt_bytes(self.restore_rate),
            fmt_duration(self.filestore_secs),
            fmt_duration(self.startup),
            fmt_duration(self.seconds(interval))
        )
    }
}

/// The backup cadence and what it guarantees.
pub(crate) struct Plan {
    /// Tier `critical`: a second repository in another region.
    pub(crate) critical: bool,
    /// Amazon RDS (`dedicated-environment`): its daily snapshots, not pgBackRest.
    pub(crate) managed: bool,
    /// Push latency to the slowest repository, seconds.
    pub(crate) latency: u64,
    /// PostgreSQL `archive_timeout`, seconds.
    pub(crate) archive_timeout: u64,
    /// WAL lost on region loss or PITR: archive timeout + push latency, seconds.
    pub(crate) loss: u64,
    /// The restore estimate.
    pub(crate) estimate: RestoreEstimate,
    /// The longest interval, in hours, whose estimate fits the RTO; `None` when none does.
    pub(crate) fitting: Option<u64>,
    /// Hours between two backups (the fastest available when none fits).
    pub(crate) interval_h: u64,
    /// Estimated restore time at that interval, seconds.
    pub(crate) rto_estimate: u64,
    /// The tier's `maxBackupInterval`, seconds.
    pub(crate) max_interval: u64,
    /// `repo1-retention-full`, days.
    pub(crate) retention_days: u64,
}

impl Plan {
    /// Seconds between two backups.
    pub(crate) fn interval(&self) -> u64 {
        self.interval_h * 3600
    }
}

/// Chooses the backup cadence: the longest interval (within the tier's maximum; daily
/// snapshots on Amazon RDS) whose restore estimate fits the RTO.
pub(crate) fn plan(
    fleet: &Fleet,
    tier: Tier,
    place: &Placement<'_>,
    recovery: &Recovery,
    database: &Database,
) -> Plan {
    let (tv, managed) = (place.profile, place.managed);
    let critical = tier == Tier::Critical;
    let latency = if critical {
        PUSH_LATENCY_REMOTE
    } else {
        PUSH_LATENCY_LOCAL
    };
    let archive_timeout = recovery.rpo.value.saturating_sub(latency).clamp(60, 300);
    let loss = archive_timeout + latency;
    let estimate = RestoreEstimate::new(database, &fleet.throughput);
    let candidates: &[u64] = if managed {
        &[24]
    } else {
        &[24, 12, 8, 6, 4, 3, 2, 1]
    };
    let max_interval = tv.max_backup_interval.value;
    let fitting = candidates
        .iter()
        .copied()
        .filter(|h| managed || h * 3600 <= max_interval.max(3600))
        .find(|h| estimate.seconds(h * 3600) <= recovery.rto.value);
    // When nothing fits, the estimate shown is the best cadence available.
    let interval_h = fitting.unwrap_or(if managed { 24 } else { 1 });
    let rto_estimate = estimate.seconds(interval_h * 3600);
    Plan {
        critical,
        managed: place.managed,
        latency,
        archive_timeout,
        loss,
        estimate,
        fitting,
        interval_h,
        rto_estimate,
        max_interval,
        retention_days: recovery.pitr_window.value.div_ceil(86_400).max(1),
    }
}

/// The backup schedules, in UTC.
pub(crate) struct Schedule {
    /// The maintenance window in UTC minutes of the week, in winter.
    pub(crate) winter: (i64, i64),
    /// The same in summer.
    pub(crate) summer: (i64, i64),
    /// Seconds of the window inside it in both winter and summer time.
    pub(crate) usable: u64,
    /// Length of the window, seconds.
    pub(crate) window_secs: u64,
    /// Full backup, weekly.
    full: String,
    /// Differential backups, the other days.
    diff: String,
    /// Incremental backups, every interval in between.
    incr: String,
    /// How the time was chosen.
    detail: String,
}

/// The full backup at the start of the part of the window that is inside it in both winter
/// and summer time; differentials the other days at the same time; incrementals every
/// interval in between.
pub(crate) fn schedule(maintenance: &Maintenance, tz: Tz, interval_h: u64) -> Schedule {
    let window = &maintenance.window;
    let [winter, summer] = units::window_utc(window.value, tz);
    let (mut a, mut b) = (winter, summer);
    if (a.0 - b.0).abs() > 3 * 1440 {
        if a.0 < b.0 {
            a = (a.0 + 7 * 1440, a.1 + 7 * 1440);
        } else {
            b = (b.0 + 7 * 1440, b.1 + 7 * 1440);
        }
    }
    let (start, end) = (a.0.max(b.0), a.1.min(b.1));
    let usable = u64::try_from((end - start).max(0)).unwrap_or(0) * 60;
    let window_secs = u64::from(window.value.minutes) * 60;
    let start_m = start.rem_euclid(7 * 1440);
    let (day, hour, minute) = (
        u32::try_from(start_m / 1440).unwrap_or(0),
        start_m % 1440 / 60,
        start_m % 60,
    );
    let full_dow = units::cron_weekday(day);
    let full_schedule = format!("{minute} {hour} * * {full_dow}");
    let diff_days: Vec<String> = (0..7)
        .filter(|d| *d != full_dow)
        .map(|d| d.to_string())
        .collect();
    let diff_schedule = format!("{minute} {hour} * * {}", diff_days.join(","));
    let incr_hours: Vec<String> = (1..24 / interval_h)
        .map(|k| ((u64::try_from(hour).unwrap_or(0) + k * interval_h) % 24).to_string())
        .collect();
    let incr_schedule = if incr_hours.is_empty() {
        String::new()
    } else {
        format!("{minute} {} * * *", {
            let mut h = incr_hours.clone();
            h.sort_by_key(|x| x.parse::<u32>().unwrap_or(0));
            h.join(",")
        })
    };
    let detail = format!(
        "maintenance window {} {} → {} UTC",
        window.value,
        maintenance.timezone.value,
        fmt_week((start, end))
    );
    Schedule {
        winter,
        summer,
        usable,
        window_secs,
        full: full_schedule,
        diff: diff_schedule,
        incr: incr_schedule,
        detail,
    }
}

/// `repo1` in the plant's region; for tier `critical`, `repo2` in the region's backup peer
/// when it has one (`rules::recovery` reports when it has not).
pub(crate) fn repositories(
    fleet: &Fleet,
    head: &Header<'_>,
    region_info: &Region,
    env: &str,
    critical: bool,
) -> Vec<Repo> {
    let name = &head.name.value;
    let bucket = |cloud_region: &str| format!("{}-pgbackrest-{cloud_region}", fleet.org());
    let mut repos = vec![Repo {
        name: "repo1".into(),
        region: head.region.value.clone(),
        cloud_region: region_info.cloud_region.clone(),
        bucket: bucket(&region_info.cloud_region),
        path: format!("/pgbackrest/{name}/{env}"),
    }];
    if critical
        && let Some((p, r)) = region_info
            .backup_peer
            .as_ref()
            .and_then(|p| fleet.regions.get(&p.value).map(|r| (p, r)))
    {
        repos.push(Repo {
            name: "repo2".into(),
            region: p.value.clone(),
            cloud_region: r.cloud_region.clone(),
            bucket: bucket(&r.cloud_region),
            path: format!("/pgbackrest/{name}/{env}"),
        });
    }
    repos
}

/// The backups of the resolved model, each value with the arithmetic behind it.
pub(crate) fn model(
    plan: &Plan,
    schedule: Schedule,
    repos: Vec<Repo>,
    recovery: &Recovery,
    tv: &TierValues,
) -> Backup {
    let Plan {
        interval_h,
        max_interval,
        latency,
        archive_timeout,
        loss,
        ..
    } = *plan;
    let est = &plan.estimate;
    let sched_detail = &schedule.detail;
    let interval = plan.interval();
    Backup {
        full_schedule: Val::derived(
            schedule.full,
            "backup.full",
            format!("weekly, {sched_detail}"),
        ),
        diff_schedule: Val::derived(
            schedule.diff,
            "backup.differential",
            format!("daily at the same time, {sched_detail}"),
        ),
        incr_schedule: Val::derived(
            schedule.incr,
            "backup.incremental",
            format!(
                "every {interval_h}h: the longest interval (≤ tier maxBackupInterval {}) whose restore estimate fits rto {}",
                fmt_duration(max_interval),
                fmt_duration(recovery.rto.value)
            ),
        ),
        interval: Val::derived(interval, "backup.interval", format!("{interval_h}h")),
        full_duration: Val::derived(
            est.full_duration,
            "backup.fullDuration",
            format!(
                "database.size {} / backupThroughput {}/s",
                fmt_bytes(est.size),
                fmt_bytes(est.backup_rate)
            ),
        ),
        retention_full_days: Val::derived(
            plan.retention_days,
            "backup.retentionFull",
            format!(
                "pitrWindow {} in whole days ({})",
                fmt_duration(recovery.pitr_window.value),
                if plan.managed {
                    "RDS backup_retention_period"
                } else {
                    "repo1-retention-full-type=time"
                }
            ),
        ),
        archive_timeout: Val::derived(
            archive_timeout,
            "postgres.archive_timeout",
            format!(
                "rpo {} − push latency {}, clamped to 60s..300s",
                fmt_duration(recovery.rpo.value),
                fmt_duration(latency)
            ),
        ),
        archive_loss_window: Val::derived(
            loss,
            "backup.archiveLossWindow",
            format!(
                "archive_timeout {} + push latency {}",
                fmt_duration(archive_timeout),
                fmt_duration(latency)
            ),
        ),
        rto_estimate: Val::derived(
            plan.rto_estimate,
            "recovery.rtoEstimate",
            est.arithmetic(interval),
        ),
        repos,
        restore_test_schedule: tv.restore_test_schedule.clone(),
    }
}

/// A span of UTC minutes of the week, as `Sun 01:00-04:00`.
pub(crate) fn fmt_week((start, end): (i64, i64)) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let f = |m: i64| {
        let m = m.rem_euclid(7 * 1440);
        format!(
            "{} {:02}:{:02}",
            DAYS[usize::try_from(m / 1440).unwrap_or(0)],
            m % 1440 / 60,
            m % 60
        )
    };
    format!("{}-{}", f(start), &f(end)[4..])
}

/// The RTO estimate of `shared` tenants (DESIGN §4.2). A point-in-time restore of the shared
/// database would rewind every tenant, so one tenant is recovered by a side restore of the
/// whole shared database (every tenant database of the cluster, all environments), then a dump
/// of the tenant's database and its restore into the platform, with its filestore. Replaces the
/// per-tenant estimate made during resolution, which cannot know the other tenants.
pub(crate) fn shared_tenant_estimates(fleet: &Fleet, plants: &mut [crate::ResolvedPlant]) {
    let t = &fleet.throughput;
    // The platform backs the shared database up on the `standard` cadence.
    let interval = fleet.tier(Tier::Standard).max_backup_interval.value;
    for name in fleet.clusters.keys() {
        let on_cluster = |p: &crate::ResolvedPlant| {
            p.database.shared && p.cluster.as_ref().is_some_and(|c| &c.value == name)
        };
        let (count, total, total_write) =
            plants
                .iter()
                .filter(|p| on_cluster(p))
                .fold((0u64, 0u64, 0u64), |(n, s, w), p| {
                    (
                        n + 1,
                        s.saturating_add(p.database.size.value),
                        w.saturating_add(p.database.write_rate.value),
                    )
                });
        if count == 0 {
            continue;
        }
        let full = total.div_ceil(t.backup.value);
        let side_restore = total.div_ceil(t.restore.value);
        let wal = total_write.saturating_mul(interval + full) / 86_400;
        let replay = wal.div_ceil(t.replay.value);
        for p in plants.iter_mut().filter(|p| on_cluster(p)) {
            let size = p.database.size.value;
            let dump = size.div_ceil(t.restore.value);
            let filestore = filestore_estimate(size).div_ceil(t.restore.value);
            let estimate = side_restore + replay + t.startup.value + 2 * dump + filestore;
            let detail = format!(
                "side restore of the shared database ({count} tenant databases, {}) / {}/s = {} + WAL {}/day × ({} interval + {} full backup) ≈ {} / replay {}/s = {} + startup {} + pg_dump and restore of this tenant's {} = 2 × {} + filestore {} = {}",
                fmt_bytes(total),
                fmt_bytes(t.restore.value),
                fmt_duration(side_restore),
                units::fmt_bytes_approx(total_write),
                fmt_duration(interval),
                fmt_duration(full),
                units::fmt_bytes_approx(wal),
                fmt_bytes(t.replay.value),
                fmt_duration(replay),
                fmt_duration(t.startup.value),
                fmt_bytes(size),
                fmt_duration(dump),
                fmt_duration(filestore),
                fmt_duration(estimate),
            );
            p.backup.rto_estimate = Val::derived(estimate, "recovery.rtoEstimate", detail);
        }
    }
}

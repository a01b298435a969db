//! Sizing (docs/decisions.md): Odoo workers, replicas, CPU and memory from the users; the
//! PostgreSQL connection budget, instances and volumes; Redis; the namespace quota.

use super::database::DatabaseValues;
use super::odoo::OdooValues;
use super::placement::Placement;
use super::{GI, MI, REDIS_SESSION_MODULES, round_up};
use crate::fleet::TierValues;
use crate::model::{Database, Integration, Odoo, Origin, Quota, Redis, Val};
use crate::units::{self, fmt_bytes};
use blueprint_syntax::doc::Protocol;

/// The web pods for a number of users under a tier profile: what the connection budget and
/// the quota build on. Used for each plant's own Odoo and for the shared Odoo of a cluster
/// (sized on the users of all its tenants), so both follow one rule.
pub(crate) struct Web {
    /// Workers the users need: max(2, ceil(users / 6)).
    pub(crate) workers_needed: u64,
    /// Most workers one pod runs: 2 × cpuPerPod.
    pub(crate) per_pod_max: u64,
    /// Replicas (the HPA minimum).
    pub(crate) replicas: u64,
    /// HTTP workers per pod.
    pub(crate) workers: u64,
    /// HPA maximum.
    pub(crate) max_replicas: u64,
    /// Extra pods during a rolling update (25 % of the maximum, rounded up).
    pub(crate) surge: u64,
    /// `db_maxconn` per process.
    pub(crate) db_maxconn: u64,
    /// `db_maxconn_gevent`.
    pub(crate) gevent: u64,
    /// CPU limit per pod, millicores.
    pub(crate) cpu_limit_m: u64,
    /// Memory limit per pod, bytes.
    pub(crate) memory_limit: u64,
    /// `limit_memory_soft` per process, bytes.
    pub(crate) soft: u64,
}

/// `limit_memory_soft` per Odoo process (Odoo deployment guide sample).
const SOFT: u64 = 640 * MI;
/// Connections kept for the operator and the exporter.
pub(crate) const OPERATOR_CONNECTIONS: u64 = 10;
/// PostgreSQL `superuser_reserved_connections`.
pub(crate) const SUPERUSER_RESERVED: u64 = 3;

/// Sizes the web pods for `users` concurrent users.
pub(crate) fn web(users: u64, tv: &TierValues) -> Web {
    let workers_needed = users.div_ceil(6).max(2);
    let per_pod_max = 2 * u64::from(tv.cpu_per_pod.value);
    let replicas = workers_needed
        .div_ceil(per_pod_max)
        .max(u64::from(tv.min_replicas.value));
    let workers = workers_needed.div_ceil(replicas).max(2);
    let max_replicas = replicas * u64::from(tv.hpa_factor.value);
    let db_maxconn = u64::from(tv.db_maxconn.value);
    Web {
        workers_needed,
        per_pod_max,
        replicas,
        workers,
        max_replicas,
        surge: max_replicas.div_ceil(4),
        db_maxconn,
        // Every supported version (17.0+) has db_maxconn_gevent.
        gevent: (db_maxconn / 2).max(2),
        cpu_limit_m: u64::from(tv.cpu_per_pod.value) * 1000,
        memory_limit: round_up((workers + 1) * SOFT, 64 * MI),
        soft: SOFT,
    }
}

/// The Odoo connection budget of DESIGN §4.4 and its arithmetic: every pod at the HPA maximum
/// plus surge, the cron processes, read-only integration roles, operator and exporter.
pub(crate) fn connection_budget(w: &Web, cron_threads: u64, readonly: u64) -> (u64, String) {
    let budget = (w.max_replicas + w.surge) * (w.workers * w.db_maxconn + w.gevent)
        + cron_threads * w.db_maxconn
        + readonly
        + OPERATOR_CONNECTIONS;
    let detail = format!(
        "({} pods at HPA max + {} surge) × ({} workers × db_maxconn {} + gevent {}) + {cron_threads} cron × {} + {readonly} read-only + {OPERATOR_CONNECTIONS} operator/exporter = {budget}",
        w.max_replicas, w.surge, w.workers, w.db_maxconn, w.gevent, w.db_maxconn
    );
    (budget, detail)
}

/// Odoo with its web pods sized: workers from the users, pods from the tier.
pub(crate) fn odoo(v: OdooValues, tv: &TierValues) -> (Odoo, Web) {
    let users = v.users;
    let web = web(u64::from(users.value), tv);
    let narrow = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    let (workers_needed, replicas, workers) = (web.workers_needed, web.replicas, web.workers);
    let replicas_v = Val::derived(
        narrow(replicas),
        "odoo.replicas",
        format!(
            "max(tier minReplicas {}, ceil({workers_needed} workers needed / at most {} per pod (2 × cpuPerPod))) = {replicas}",
            tv.min_replicas.value, web.per_pod_max
        ),
    );
    let workers_v = Val::derived(
        narrow(workers),
        "odoo.workers",
        format!(
            "max(2, ceil(users {} / 6)) = {workers_needed} workers needed, spread over {replicas} replicas: max(2, ceil({workers_needed} / {replicas})) = {workers} per pod",
            users.value
        ),
    );
    let max_replicas = web.max_replicas;
    let soft = SOFT;
    let hard = 1600 * MI;
    let mem_req = round_up(workers * 325 * MI + 150 * MI, 64 * MI);
    let mem_lim = web.memory_limit;
    let cpu_lim = web.cpu_limit_m;
    let cpu_req = cpu_lim / 2;
    let db_maxconn = web.db_maxconn;
    let gevent = Some(narrow(web.gevent));
    let session_redis = v
        .modules
        .value
        .iter()
        .any(|m| REDIS_SESSION_MODULES.contains(&m.as_str()));
    let odoo = Odoo {
        version: v.version,
        edition: v.edition,
        image: v.image,
        image_ref: v.image_ref,
        users,
        modules: v.modules,
        workers: workers_v,
        replicas: replicas_v,
        max_replicas: Val::derived(
            narrow(max_replicas),
            "odoo.maxReplicas",
            format!(
                "{replicas} replicas × tier hpaFactor {}",
                tv.hpa_factor.value
            ),
        ),
        cpu_request_m: Val::derived(
            cpu_req,
            "odoo.cpuRequest",
            format!("half of the {} limit", units::fmt_cpu(cpu_lim)),
        ),
        cpu_limit_m: Val::derived(
            cpu_lim,
            "odoo.cpuLimit",
            format!("tier cpuPerPod {}", tv.cpu_per_pod.value),
        ),
        memory_request: Val::derived(
            mem_req,
            "odoo.memoryRequest",
            format!(
                "{workers} workers × 325Mi (80% × 150Mi + 20% × 1Gi) + 150Mi gevent, rounded up to 64Mi = {}",
                fmt_bytes(mem_req)
            ),
        ),
        memory_limit: Val::derived(
            mem_lim,
            "odoo.memoryLimit",
            format!(
                "({workers} workers + gevent) × limit_memory_soft 640Mi = {}",
                fmt_bytes(mem_lim)
            ),
        ),
        limit_memory_soft: Val::derived(
            soft,
            "odoo.limit_memory_soft",
            "640Mi (Odoo deployment guide sample)",
        ),
        limit_memory_hard: Val::derived(
            hard,
            "odoo.limit_memory_hard",
            "1600Mi (Odoo deployment guide sample)",
        ),
        cron_threads: tv.cron_threads.clone(),
        db_maxconn: tv.db_maxconn.clone(),
        db_maxconn_gevent: gevent.map(|g| {
            Val::derived(
                g,
                "odoo.db_maxconn_gevent",
                format!("half of db_maxconn {db_maxconn}, at least 2 (17.0+)"),
            )
        }),
        session_redis,
    };
    (odoo, web)
}

/// The filestore, estimated at half of the database.
pub(crate) fn filestore_estimate(size: u64) -> u64 {
    size / 2
}

/// PostgreSQL sized: the connection budget of the web pods at their HPA maximum and
/// `max_connections` (the platform's for a `shared` plant), instances, volumes and the
/// pgBackRest version.
pub(crate) fn database(
    v: DatabaseValues,
    web: &Web,
    integrations: &[Integration],
    place: &Placement<'_>,
) -> Database {
    let tv = place.profile;
    let (shared, managed) = (place.shared, place.managed);
    let readonly = 5 * integrations
        .iter()
        .filter(|i| i.protocol == Protocol::PostgresReadonly)
        .count() as u64;
    let (budget64, budget_detail) =
        connection_budget(web, u64::from(tv.cron_threads.value), readonly);
    let budget = u32::try_from(budget64).unwrap_or(u32::MAX);
    let superuser_reserved = u32::try_from(SUPERUSER_RESERVED).unwrap_or(3);
    let reserved = if v.postgres_version.value >= 16 { 5 } else { 0 };
    let (max_conn, reserved_v) = match (
        shared,
        place.cluster.as_ref().and_then(|(_, c)| c.postgres),
    ) {
        (true, Some((max, res, span))) => (
            Val::new(max, Origin::Fleet(span)),
            Val::new(res, Origin::Fleet(span)),
        ),
        _ => {
            let m = u32::try_from(round_up(
                u64::from(budget + reserved + superuser_reserved),
                10,
            ))
            .unwrap_or(u32::MAX);
            (
                Val::derived(
                    m,
                    "postgres.max_connections",
                    format!(
                        "connection budget {budget} + reserved {reserved} + superuser {superuser_reserved}, rounded up to 10"
                    ),
                ),
                Val::derived(
                    reserved,
                    "postgres.reserved_connections",
                    "5 on PostgreSQL 16+, none on 15",
                ),
            )
        }
    };
    let instances = if managed {
        Val::derived(
            if tv.postgres_instances.value > 1 {
                2
            } else {
                1
            },
            "database.instances",
            "RDS: Multi-AZ when the tier has a standby",
        )
    } else if shared {
        Val::derived(2, "database.instances", "the shared platform's PostgreSQL")
    } else {
        tv.postgres_instances.clone()
    };
    let size = v.size;
    let filestore = filestore_estimate(size.value);
    let storage = round_up(size.value * 3 / 2, GI);
    let pg_major = v.postgres_version.value;
    let min_pgbackrest = match pg_major {
        15 => "2.45",
        16 => "2.46",
        _ => "2.53.1",
    };
    Database {
        postgres_version: v.postgres_version,
        write_rate: v.write_rate,
        instances,
        synchronous: tv.synchronous_replication.clone(),
        managed,
        shared,
        connection_budget: Val::derived(budget, "postgres.connectionBudget", budget_detail),
        max_connections: max_conn,
        reserved_connections: reserved_v,
        superuser_reserved_connections: superuser_reserved,
        storage: Val::derived(
            storage,
            "database.storage",
            format!(
                "database.size {} × 1.5, rounded up to Gi",
                fmt_bytes(size.value)
            ),
        ),
        filestore: Val::derived(
            round_up(filestore * 3 / 2, GI),
            "filestore.storage",
            format!(
                "filestore estimated at half of database.size ({}) × 1.5",
                fmt_bytes(filestore)
            ),
        ),
        min_pgbackrest: Val::derived(
            min_pgbackrest.to_string(),
            "pgbackrest.minVersion",
            format!(
                "PostgreSQL {} needs pgBackRest {min_pgbackrest} or newer",
                pg_major
            ),
        ),
        size,
    }
}

/// Redis, only when a module stores sessions in it.
pub(crate) fn redis(odoo: &Odoo, tv: &TierValues) -> Option<Redis> {
    odoo.session_redis.then(|| Redis {
        architecture: tv.redis_architecture.clone(),
        persistence: tv.redis_persistence.clone(),
    })
}

/// What the namespace may use: web pods at HPA max + surge, cron, PostgreSQL instances, Redis
/// and the restore test.
pub(crate) fn quota(web: &Web, database: &Database, redis: bool, tv: &TierValues) -> Quota {
    let pg_mem = (database.size.value / 10).clamp(2 * GI, 32 * GI);
    let pg_cpu = u64::from(tv.cpu_per_pod.value) * 1000;
    let db_pods = if database.managed || database.shared {
        0
    } else {
        u64::from(database.instances.value)
    };
    let quota_cpu = (web.max_replicas + web.surge) * web.cpu_limit_m
        + 1000
        + db_pods * pg_cpu
        + if redis { 1000 } else { 0 }
        + 1000;
    let quota_mem = (web.max_replicas + web.surge) * web.memory_limit
        + u64::from(tv.cron_threads.value + 1) * web.soft
        + db_pods * pg_mem
        + if redis { GI } else { 0 }
        + 2 * GI;
    let pods = web.max_replicas + web.surge;
    let redis_part = |cpu: bool| match (redis, cpu) {
        (false, _) => String::new(),
        (true, true) => " + Redis 1".to_string(),
        (true, false) => " + Redis 1Gi".to_string(),
    };
    Quota {
        cpu_m: Val::derived(
            quota_cpu,
            "quota.cpu",
            format!(
                "{pods} web pods (HPA max + surge) × {} + cron 1 + {db_pods} PostgreSQL × {}{} + restore test 1 = {}",
                units::fmt_cpu(web.cpu_limit_m),
                units::fmt_cpu(pg_cpu),
                redis_part(true),
                units::fmt_cpu(quota_cpu)
            ),
        ),
        memory: Val::derived(
            quota_mem,
            "quota.memory",
            format!(
                "{pods} web pods × {} + cron {} × {} + {db_pods} PostgreSQL × {}{} + restore test 2Gi = {}",
                fmt_bytes(web.memory_limit),
                tv.cron_threads.value + 1,
                fmt_bytes(web.soft),
                fmt_bytes(pg_mem),
                redis_part(false),
                fmt_bytes(quota_mem)
            ),
        ),
    }
}

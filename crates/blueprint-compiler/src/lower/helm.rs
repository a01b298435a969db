//! `plants/<plant>/<env>/helm/`: values files of the Helm charts a plant uses.
//!
//! Only one chart today: `bitnami/redis`, for plants whose `odoo.modules` include a Redis
//! session store (DESIGN §4.2, redis.md §4–§6). `shared` tenants never get one: their sessions
//! live in the shared platform's Odoo. The Argo CD Application that installs the chart
//! (`argocd.rs`) reads [`REDIS_CHART_REPO`], [`REDIS_CHART`] and [`REDIS_CHART_VERSION`].

use super::{Check, MI, Output, PlantCtx, Scope, plant_path, quantity};
use crate::units::fmt_cpu;
use serde::Serialize;

/// OCI repository of the Bitnami charts (redis.md §5: charts are still published there; only
/// the images moved).
pub(super) const REDIS_CHART_REPO: &str = "registry-1.docker.io/bitnamicharts";
/// Chart name.
pub(super) const REDIS_CHART: &str = "redis";
/// Pinned chart version: a release after the 2025 catalog change, whose values keep the
/// names redis.md §4 lists.
pub(super) const REDIS_CHART_VERSION: &str = "25.5.3";

/// Repositories of the images, under the fleet's `imageRegistry` (a mirror of the frozen
/// `bitnamilegacy` images, redis.md §5), and the tags pinned. Redis stays on the 7.2 line, the
/// last BSD-licensed one (redis.md §6).
const REDIS_REPOSITORY: &str = "bitnami/redis";
const REDIS_TAG: &str = "7.2.5-debian-12-r6";
const EXPORTER_REPOSITORY: &str = "bitnami/redis-exporter";
const EXPORTER_TAG: &str = "1.76.0-debian-12-r0";
/// Never pulled (Sentinel and the root init container stay off) but pointed at the mirror,
/// so no value of the chart refers to Docker Hub.
const SENTINEL_REPOSITORY: &str = "bitnami/redis-sentinel";
const OS_SHELL_REPOSITORY: &str = "bitnami/os-shell";

/// The values file of the Redis release (`helm/redis.yaml`).
#[derive(Debug, Clone, Serialize)]
pub(super) struct RedisValues {
    /// Release name (`plant.names.redis`): services are `<release>-master` and, with
    /// replication, `<release>-replicas`.
    pub release: String,
    /// `standalone` or `replication` (never Sentinel: the session store add-ons are not
    /// Sentinel-aware, redis.md §6).
    pub architecture: String,
    /// Replicas beside the master (`replication` only): 2 for `critical`, else 1.
    pub replica_count: u32,
    /// A PodDisruptionBudget for the replicas: only with 2 or more of them (DESIGN §4.5). The
    /// master is one pod and never gets one.
    pub replica_pdb: bool,
    /// PVCs for the data (`redis.persistence`); without them the AOF and RDB are off too.
    pub persistence: bool,
    /// PVC size: 4 × the memory limit (an AOF rewrite needs twice the data set, which
    /// `maxmemory` bounds), rounded by the quantity.
    pub persistence_size: String,
    /// Secret holding the password (an ExternalSecret target), key `redis-password`.
    pub auth_secret: String,
    /// Images: `<fleet registry>/<repository>:<tag>`.
    pub images: Images,
    /// Redis container resources, by tier: `basic` 128Mi/256Mi, `standard` 256Mi/512Mi,
    /// `critical` 512Mi/1Gi (request/limit); CPU 100m/500m, `critical` 250m/1.
    pub resources: Resources,
    /// `maxmemory` in bytes: 75 % of the memory limit (redis.md §2: replication buffers and
    /// the fork's copy-on-write come on top of the data set).
    pub maxmemory: u64,
    /// Exporter sidecar resources (fixed: 50m/100m, 64Mi/128Mi).
    pub exporter: Resources,
}

/// Image repositories and tags under the fleet registry.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Images {
    /// Redis.
    pub redis: Image,
    /// redis_exporter.
    pub exporter: Image,
    /// Redis Sentinel repository (disabled).
    pub sentinel_repository: String,
    /// os-shell repository (volume permissions, disabled).
    pub os_shell_repository: String,
}

/// One image.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Image {
    /// Repository under the registry.
    pub repository: String,
    /// Tag.
    pub tag: String,
}

/// Requests and limits of one container.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Resources {
    /// CPU request.
    pub cpu_request: String,
    /// CPU limit.
    pub cpu_limit: String,
    /// Memory request.
    pub memory_request: String,
    /// Memory limit.
    pub memory_limit: String,
}

/// The values of a plant's Redis, or `None` when it has no session store.
pub(super) fn redis_values(p: &PlantCtx) -> Option<RedisValues> {
    let redis = p.redis.as_ref()?;
    if p.tenancy == "shared" || !p.odoo.session_redis {
        return None;
    }
    let critical = p.tier == "critical";
    let (request, limit) = match p.tier.as_str() {
        "critical" => (512 * MI, 1024 * MI),
        "standard" => (256 * MI, 512 * MI),
        _ => (128 * MI, 256 * MI),
    };
    let (cpu_request, cpu_limit) = if critical { (250, 1000) } else { (100, 500) };
    let replica_count = if critical { 2 } else { 1 };
    let replication = redis.architecture == "replication";
    Some(RedisValues {
        release: p.names.redis.clone(),
        architecture: redis.architecture.clone(),
        replica_count,
        replica_pdb: replication && replica_count >= 2,
        persistence: redis.persistence,
        persistence_size: quantity(4 * limit),
        auth_secret: format!("{}redis-auth", p.names.prefix),
        images: Images {
            redis: Image {
                repository: REDIS_REPOSITORY.into(),
                tag: REDIS_TAG.into(),
            },
            exporter: Image {
                repository: EXPORTER_REPOSITORY.into(),
                tag: EXPORTER_TAG.into(),
            },
            sentinel_repository: SENTINEL_REPOSITORY.into(),
            os_shell_repository: OS_SHELL_REPOSITORY.into(),
        },
        resources: Resources {
            cpu_request: fmt_cpu(cpu_request),
            cpu_limit: fmt_cpu(cpu_limit),
            memory_request: quantity(request),
            memory_limit: quantity(limit),
        },
        maxmemory: limit / 4 * 3,
        exporter: Resources {
            cpu_request: fmt_cpu(50),
            cpu_limit: fmt_cpu(100),
            memory_request: quantity(64 * MI),
            memory_limit: quantity(128 * MI),
        },
    })
}

/// `plants/<plant>/<env>/helm/redis.yaml`, for plants with a Redis session store.
pub(super) fn outputs(p: &PlantCtx, scope: Scope, out: &mut Vec<Output>) {
    let Some(values) = redis_values(p) else {
        return;
    };
    out.push(Output::new(
        plant_path(p, "helm", "redis.yaml"),
        "helm/redis.yaml.j2",
        scope,
        serde_json::to_value(values).unwrap_or_default(),
        Check::HelmValues {
            chart: REDIS_CHART.into(),
        },
    ));
}

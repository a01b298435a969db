//! The Argo CD Applications that reconcile the tree, and the root Application that deploys them.
//!
//! Per plant environment, `plants/<plant>/<env>/argocd/` (and
//! `clusters/<cluster>/platform/argocd/` for a cluster's shared platform):
//! 1. `application.yaml`: the plant's plain manifests, one Git source per output directory that
//!    has files (`kubernetes/`, `traefik/`). The directories are read from the outputs the
//!    families before this one pushed for the same plant (`lower` calls `kubernetes`, `odoo`,
//!    `traefik`, `database` and `helm` first), so an Application never points at a missing path.
//! 2. `application-redis.yaml`: the bitnami/redis chart from its OCI repository with the plant's
//!    values file through a `ref: values` Git source, when `helm/redis.yaml` exists.
//!
//! Per cluster, `clusters/<cluster>/argocd/` ([`cluster_outputs`]):
//! 3. `application-cluster.yaml`: `clusters/<cluster>/kubernetes` (storage classes);
//! 4. `application-traefik.yaml`: the Traefik chart with `clusters/<cluster>/traefik/values.yaml`.
//!
//! Per fleet, `argocd/root.yaml` ([`fleet_outputs`]): the one Application an operator applies
//! by hand (`kubectl apply -n argocd -f argocd/root.yaml`, once); it deploys every file matched
//! by [`ROOT_INCLUDE`] — all of the Applications above — and so every later change.
//!
//! Destinations: every Application names its cluster (`spec.destination.name`), never the API
//! server of the cluster Argo CD runs in: each cluster is registered in the fleet's Argo CD
//! under the name of its `clusters/<cluster>/` directory — the fleet cluster (`plant.cluster`)
//! for `shared` and `dedicated-namespace` plants and for a platform, `<plant>-<env>` for
//! `dedicated-cluster` and `dedicated-environment`. Only the root targets the management
//! cluster itself (the Applications live in its `argocd` namespace).
//!
//! Sync waves of the Applications, as the root applies them: cluster (-20), Traefik (-10), the
//! shared platform (-5), plants (0). Argo CD orders the root's sync by these waves; it waits
//! for a child Application's health only when the `argoproj.io/Application` health check is
//! enabled in `argocd-cm` (off by default since Argo CD 1.8), otherwise the waves only order
//! creation and each Application retries (`retry`) until what it needs exists.
//!
//! All sync automatically with prune and self-heal, and carry no
//! `resources-finalizer.argocd.argoproj.io`: deleting an Application orphans what it deployed,
//! so data is only ever removed by the runbook's removal procedure (DESIGN §4.5).

use super::clusters::TRAEFIK_NAMESPACE;
use super::helm::{REDIS_CHART, REDIS_CHART_REPO, REDIS_CHART_VERSION};
use super::traefik::CHART_VERSION as TRAEFIK_CHART_VERSION;
use super::{Check, ClusterCtx, Output, PlantCtx, Scope, cluster_of, plant_path};
use serde::Serialize;
use std::collections::BTreeMap;

/// Namespace of Argo CD.
pub(super) const ARGOCD_NAMESPACE: &str = "argocd";
/// The Argo CD project of every Application.
const PROJECT: &str = "default";
/// The branch every environment follows: promotion between environments is the review of the
/// plant file's overlays, not a separate tag (see docs/decisions.md).
pub(super) const TARGET_REVISION: &str = "main";
/// The Traefik chart's Helm repository (HTTP, not OCI).
const TRAEFIK_CHART_REPO: &str = "https://traefik.github.io/charts";
/// The root Application's file, relative to OUT.
pub(super) const ROOT_PATH: &str = "argocd/root.yaml";
/// The files the root Application deploys: Argo CD matches this glob (braces are
/// alternatives, `*` any characters) against each file's path relative to the repository root.
pub(super) const ROOT_INCLUDE: &str =
    "{plants/*/*/argocd/*.yaml,clusters/*/argocd/*.yaml,clusters/*/platform/argocd/*.yaml}";

/// Sync wave of a cluster's own objects (storage classes).
const WAVE_CLUSTER: i32 = -20;
/// Sync wave of a cluster's Traefik (its CRDs come before any plant's IngressRoute).
const WAVE_TRAEFIK: i32 = -10;
/// Sync wave of a cluster's shared platform (before its tenants).
const WAVE_PLATFORM: i32 = -5;
/// Sync wave of a plant environment.
const WAVE_PLANT: i32 = 0;

/// One Application.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Application {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (`argocd`).
    pub namespace: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `argocd.argoproj.io/sync-wave` of the Application in the root's sync.
    pub sync_wave: i32,
    /// `spec.project`.
    pub project: String,
    /// `spec.destination.name`: the cluster as registered in Argo CD (the name of its
    /// `clusters/<cluster>/` directory).
    pub cluster: String,
    /// `spec.destination.namespace` (none for cluster-scoped objects).
    pub destination_namespace: Option<String>,
    /// Git revision.
    pub target_revision: String,
    /// Git paths of plain manifests, one source each.
    pub paths: Vec<String>,
    /// The chart source, for a Helm release.
    pub chart: Option<ChartSource>,
    /// `syncPolicy.syncOptions`.
    pub sync_options: Vec<String>,
    /// Deployments whose `/spec/replicas` an HPA owns (ignored in diffs).
    pub hpa_deployments: Vec<String>,
}

/// A chart with a values file from the GitOps repository.
#[derive(Debug, Clone, Serialize)]
pub(super) struct ChartSource {
    /// Repository: an OCI repository (host/path, no scheme) or an HTTP Helm repository URL.
    pub repo: String,
    /// Chart name.
    pub chart: String,
    /// Pinned chart version.
    pub version: String,
    /// Helm release name.
    pub release: String,
    /// `$values/<path>`.
    pub values_file: String,
}

/// Sync options of an Application whose namespace is one of its own objects (Pod Security
/// labels, prune protection), or of cluster-scoped objects.
fn own_namespace_options(hpa: bool) -> Vec<String> {
    let mut o: Vec<String> = [
        "CreateNamespace=false",
        "PruneLast=true",
        "ServerSideApply=true",
        "FailOnSharedResource=true",
    ]
    .map(String::from)
    .to_vec();
    if hpa {
        o.push("RespectIgnoreDifferences=true".into());
    }
    o
}

fn application(p: &PlantCtx, name: String) -> Application {
    Application {
        name,
        namespace: ARGOCD_NAMESPACE.into(),
        labels: p.labels.clone(),
        sync_wave: if p.platform {
            WAVE_PLATFORM
        } else {
            WAVE_PLANT
        },
        project: PROJECT.into(),
        cluster: cluster_of(p),
        destination_namespace: Some(p.names.namespace.clone()),
        target_revision: TARGET_REVISION.into(),
        paths: Vec::new(),
        chart: None,
        sync_options: Vec::new(),
        hpa_deployments: Vec::new(),
    }
}

/// The Applications of one plant environment; `out[from..]` holds the outputs of this plant
/// environment pushed so far (only those are looked at, so lowering stays linear).
pub(super) fn outputs(p: &PlantCtx, scope: Scope, out: &mut Vec<Output>, from: usize) {
    let dir = |family: &str| format!("{}/{family}", p.dir);
    let has_files = |out: &[Output], family: &str| {
        let prefix = format!("{}/", dir(family));
        out.iter().any(|o| o.path.starts_with(&prefix))
    };
    let mut app = application(p, p.names.application.clone());
    app.paths = ["kubernetes", "traefik"]
        .into_iter()
        .filter(|f| has_files(&out[from..], f))
        .map(dir)
        .collect();
    if p.odoo.hpa && p.tenancy != "shared" {
        app.hpa_deployments.push(p.names.web.clone());
    }
    app.sync_options = own_namespace_options(!app.hpa_deployments.is_empty());
    let redis_values = plant_path(p, "helm", "redis.yaml");
    let redis = out[from..].iter().any(|o| o.path == redis_values).then(|| {
        let mut a = application(p, format!("{}-redis", p.names.application));
        a.chart = Some(ChartSource {
            repo: REDIS_CHART_REPO.into(),
            chart: REDIS_CHART.into(),
            version: REDIS_CHART_VERSION.into(),
            release: p.names.redis.clone(),
            values_file: format!("$values/{redis_values}"),
        });
        a.sync_options = own_namespace_options(false);
        a
    });
    if !app.paths.is_empty() {
        out.push(Output::new(
            plant_path(p, "argocd", "application.yaml"),
            "argocd/application.yaml.j2",
            scope,
            serde_json::to_value(app).unwrap_or_default(),
            Check::Kubernetes,
        ));
    }
    if let Some(redis) = redis {
        out.push(Output::new(
            plant_path(p, "argocd", "application-redis.yaml"),
            "argocd/application.yaml.j2",
            scope,
            serde_json::to_value(redis).unwrap_or_default(),
            Check::Kubernetes,
        ));
    }
}

/// Labels of a cluster's Applications.
fn cluster_labels(c: &ClusterCtx) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/managed-by".into(), "blueprint".into()),
        ("blueprint.dev/cluster".into(), c.name.clone()),
    ])
}

/// `clusters/<cluster>/argocd/`: the Applications of a cluster's own files. `traefik_values`
/// and `kubernetes_dir` are the paths the `clusters` family wrote.
pub(super) fn cluster_outputs(
    c: &ClusterCtx,
    traefik_values: &str,
    kubernetes_dir: &str,
    scope: Scope,
    out: &mut Vec<Output>,
) {
    let base = Application {
        name: String::new(),
        namespace: ARGOCD_NAMESPACE.into(),
        labels: cluster_labels(c),
        sync_wave: WAVE_CLUSTER,
        project: PROJECT.into(),
        cluster: c.name.clone(),
        destination_namespace: None,
        target_revision: TARGET_REVISION.into(),
        paths: Vec::new(),
        chart: None,
        sync_options: Vec::new(),
        hpa_deployments: Vec::new(),
    };
    let dir = format!("clusters/{}/argocd", c.name);
    let mut app = base.clone();
    app.name = format!("{}-cluster", c.name);
    app.paths = vec![kubernetes_dir.to_string()];
    app.sync_options = ["PruneLast=true", "ServerSideApply=true"]
        .map(String::from)
        .to_vec();
    out.push(Output::new(
        format!("{dir}/application-cluster.yaml"),
        "argocd/application.yaml.j2",
        scope,
        serde_json::to_value(app).unwrap_or_default(),
        Check::Kubernetes,
    ));
    let mut traefik = base;
    traefik.name = format!("{}-traefik", c.name);
    traefik.sync_wave = WAVE_TRAEFIK;
    traefik.destination_namespace = Some(TRAEFIK_NAMESPACE.into());
    traefik.chart = Some(ChartSource {
        repo: TRAEFIK_CHART_REPO.into(),
        chart: "traefik".into(),
        version: TRAEFIK_CHART_VERSION.into(),
        release: "traefik".into(),
        values_file: format!("$values/{traefik_values}"),
    });
    // The chart's CRDs are too large for client-side apply's last-applied annotation.
    traefik.sync_options = [
        "CreateNamespace=true",
        "PruneLast=true",
        "ServerSideApply=true",
    ]
    .map(String::from)
    .to_vec();
    out.push(Output::new(
        format!("{dir}/application-traefik.yaml"),
        "argocd/application.yaml.j2",
        scope,
        serde_json::to_value(traefik).unwrap_or_default(),
        Check::Kubernetes,
    ));
}

/// `argocd/root.yaml`: the fleet's root Application (see the module documentation).
pub(super) fn fleet_outputs(out: &mut Vec<Output>) {
    out.push(Output::new(
        ROOT_PATH.into(),
        "argocd/root.yaml.j2",
        Scope::Fleet,
        serde_json::json!({
            "name": "blueprint-root",
            "namespace": ARGOCD_NAMESPACE,
            "project": PROJECT,
            "target_revision": TARGET_REVISION,
            "include": ROOT_INCLUDE,
        }),
        Check::Kubernetes,
    ));
}

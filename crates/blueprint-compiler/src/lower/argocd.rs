//! `plants/<plant>/<env>/argocd/`: the Argo CD Applications that reconcile a plant environment.
//!
//! 1. `application.yaml`: the plant's plain manifests, one Git source per output directory that
//!    has files (`kubernetes/`, `traefik/`). The directories are read from the outputs the
//!    families before this one pushed for the same plant (`lower` calls `kubernetes`, `odoo`,
//!    `traefik`, `database` and `helm` first), so an Application never points at a missing path.
//! 2. `application-redis.yaml`: the bitnami/redis chart from its OCI repository with the plant's
//!    values file through a `ref: values` Git source, when `helm/redis.yaml` exists.
//!
//! Both sync automatically with prune and self-heal, and carry no
//! `resources-finalizer.argocd.argoproj.io`: deleting an Application orphans what it deployed,
//! so data is only ever removed by the runbook's removal procedure (DESIGN §4.5).

use super::helm::{REDIS_CHART, REDIS_CHART_REPO, REDIS_CHART_VERSION};
use super::{Check, Output, PlantCtx, Scope, plant_path};
use serde::Serialize;

/// Namespace of Argo CD.
pub(super) const ARGOCD_NAMESPACE: &str = "argocd";
/// The Argo CD project of every Application.
const PROJECT: &str = "default";
/// The branch every environment follows: promotion between environments is the review of the
/// plant file's overlays, not a separate tag (see docs/decisions.md).
pub(super) const TARGET_REVISION: &str = "main";

/// One Application.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Application {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (`argocd`).
    pub namespace: String,
    /// `spec.project`.
    pub project: String,
    /// `spec.destination.server`: the in-cluster API server, for plants whose own cluster runs
    /// their Argo CD (`dedicated-cluster`, `dedicated-environment`).
    pub server: Option<String>,
    /// `spec.destination.name`: the shared cluster as registered in Argo CD (`shared`,
    /// `dedicated-namespace`).
    pub cluster: Option<String>,
    /// `spec.destination.namespace`.
    pub destination_namespace: String,
    /// Git revision.
    pub target_revision: String,
    /// Git paths of plain manifests, one source each.
    pub paths: Vec<String>,
    /// The chart source, for a Helm release.
    pub chart: Option<ChartSource>,
    /// Deployments whose `/spec/replicas` an HPA owns (ignored in diffs).
    pub hpa_deployments: Vec<String>,
}

/// A chart from an OCI repository with a values file from the GitOps repository.
#[derive(Debug, Clone, Serialize)]
pub(super) struct ChartSource {
    /// OCI repository (host/path, no scheme).
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

fn application(p: &PlantCtx, name: String) -> Application {
    let own_cluster = p.cluster.is_none();
    Application {
        name,
        namespace: ARGOCD_NAMESPACE.into(),
        project: PROJECT.into(),
        server: own_cluster.then(|| "https://kubernetes.default.svc".to_string()),
        cluster: p.cluster.clone(),
        destination_namespace: p.names.namespace.clone(),
        target_revision: TARGET_REVISION.into(),
        paths: Vec::new(),
        chart: None,
        hpa_deployments: Vec::new(),
    }
}

/// The Applications of one plant environment.
pub(super) fn outputs(p: &PlantCtx, scope: Scope, out: &mut Vec<Output>) {
    let dir = |family: &str| format!("{}/{family}", p.dir);
    let has_files = |out: &[Output], family: &str| {
        let prefix = format!("{}/", dir(family));
        out.iter().any(|o| o.path.starts_with(&prefix))
    };
    let mut app = application(p, p.names.application.clone());
    app.paths = ["kubernetes", "traefik"]
        .into_iter()
        .filter(|f| has_files(out, f))
        .map(dir)
        .collect();
    if p.odoo.hpa && p.tenancy != "shared" {
        app.hpa_deployments.push(p.names.web.clone());
    }
    let redis_values = plant_path(p, "helm", "redis.yaml");
    let redis = out.iter().any(|o| o.path == redis_values).then(|| {
        let mut a = application(p, format!("{}-redis", p.names.application));
        a.chart = Some(ChartSource {
            repo: REDIS_CHART_REPO.into(),
            chart: REDIS_CHART.into(),
            version: REDIS_CHART_VERSION.into(),
            release: p.names.redis.clone(),
            values_file: format!("$values/{redis_values}"),
        });
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

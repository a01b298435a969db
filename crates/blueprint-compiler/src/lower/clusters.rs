//! `clusters/<cluster>/`: what a cluster needs once, for every cluster with plants on it (a
//! fleet cluster, or the dedicated cluster `<plant>-<env>` of a `dedicated-cluster` or
//! `dedicated-environment` plant environment).
//!
//! 1. [`derive`] computes [`ClusterDerived`]: the Traefik chart values (replicas as the plants'
//!    per-pod rate limits assume them, the entry point read timeout from the largest upload,
//!    the image from the fleet registry).
//! 2. [`outputs`] writes, per cluster:
//!    - `traefik/values.yaml`: Traefik chart 41.x values, with the cluster's single `default`
//!      TLSOption (`tlsOptions.default`), the HTTP → HTTPS entry point redirection, client IPs
//!      preserved (`externalTrafficPolicy: Local`) for allow lists and rate limits;
//!    - `kubernetes/storageclass-blueprint-retain-rwo.yaml`: EBS gp3, `reclaimPolicy: Retain`,
//!      volume expansion allowed;
//!    - `argocd/application-cluster.yaml` and `argocd/application-traefik.yaml`, the
//!      Applications that deploy the two directories above (`argocd::cluster_outputs`).
//!
//!    The fleet's root Application `argocd/root.yaml` (`argocd::fleet_outputs`) is pushed by
//!    `lower` once, when the fleet has a cluster.
//!
//! Not rendered: an RWX (EFS) storage class, whose `fileSystemId` no input names yet, and the
//! operators' chart values (the verifier knows only the charts it has schemas for).
//!
//! The shared Odoo platform of a fleet cluster (`clusters/<cluster>/platform/`) is the other
//! families' work; it has no routes of its own (its tenants' IngressRoutes reach it).

use super::traefik::{CHART_VERSION, ODOO_MAX_BODY, TRAEFIK_VERSION, replicas};
use super::{Check, ClusterCtx, Output, PlantCtx, Scope};
use crate::fleet::Fleet;
use serde::Serialize;
use serde_json::{Value, json};

/// The namespace the Traefik release is installed in (NetworkPolicies admit it to Odoo).
pub(super) const TRAEFIK_NAMESPACE: &str = "traefik";

/// The slowest client link an upload must succeed on: 256 KiB/s (2 Mbit/s).
const SLOW_LINK_BYTES_PER_S: u64 = 256 * 1024;

/// The entry point read timeout never goes below 600 s (reference/traefik.md §6: the 60 s
/// default breaks slow uploads).
const MIN_READ_TIMEOUT_S: u64 = 600;

/// The Traefik image, from the fleet's registry.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Image {
    /// `organization.imageRegistry`.
    pub registry: String,
    /// `traefik`.
    pub repository: String,
    /// The Traefik version the templates are written for.
    pub tag: String,
}

/// Traefik chart values of one cluster.
#[derive(Debug, Clone, Serialize)]
pub(super) struct TraefikValues {
    /// Chart version the values are written for.
    pub chart_version: String,
    /// Release namespace.
    pub namespace: String,
    /// Replicas: 2 on a fleet cluster, on a dedicated cluster 3 for `critical` else 2; the
    /// plants' per-pod rate limits divide by this number.
    pub replicas: u32,
    /// Image.
    pub image: Image,
    /// `websecure` read timeout, seconds: max(600, ceil(largest request body of the cluster's
    /// plants / 256 KiB/s)), the body being min(ingress.maxUploadSize, 128 MiB).
    pub read_timeout_s: u64,
    /// How the read timeout was derived.
    pub read_timeout_rule: String,
}

/// Values of the cluster templates (`derived.clusters`).
#[derive(Debug, Clone, Serialize)]
pub(super) struct ClusterDerived {
    /// Traefik.
    pub traefik: TraefikValues,
}

fn plan(c: &ClusterCtx, plants: &[PlantCtx], fleet: &Fleet) -> ClusterDerived {
    let tier = c
        .plant
        .and_then(|i| plants.get(i))
        .map_or("standard", |p| p.tier.as_str());
    let largest_body = c
        .plants
        .iter()
        .filter_map(|&i| plants.get(i))
        .map(|p| p.max_upload_bytes.min(ODOO_MAX_BODY))
        .max()
        .unwrap_or(0);
    let upload_s = largest_body.div_ceil(SLOW_LINK_BYTES_PER_S);
    let read_timeout_s = upload_s.max(MIN_READ_TIMEOUT_S);
    ClusterDerived {
        traefik: TraefikValues {
            chart_version: CHART_VERSION.into(),
            namespace: TRAEFIK_NAMESPACE.into(),
            replicas: replicas(tier, c.shared),
            image: Image {
                registry: fleet.registry().to_string(),
                repository: "traefik".into(),
                tag: TRAEFIK_VERSION.into(),
            },
            read_timeout_s,
            read_timeout_rule: format!(
                "max({MIN_READ_TIMEOUT_S}s, ceil(largest body {largest_body} B / {SLOW_LINK_BYTES_PER_S} B/s) = {upload_s}s) = {read_timeout_s}s"
            ),
        },
    }
}

/// Values only the cluster templates need.
pub(super) fn derive(clusters: &mut [ClusterCtx], plants: &[PlantCtx], fleet: &Fleet) {
    for c in clusters.iter_mut() {
        if let Ok(v) = serde_json::to_value(plan(c, plants, fleet)) {
            c.derived.insert("clusters".into(), v);
        }
    }
}

fn path(c: &ClusterCtx, dir: &str, file: &str) -> String {
    format!("clusters/{}/{dir}/{file}", c.name)
}

/// The files of one cluster.
pub(super) fn outputs(c: &ClusterCtx, scope: Scope, out: &mut Vec<Output>) {
    let d = c.derived.get("clusters").cloned().unwrap_or(Value::Null);
    let traefik_values = path(c, "traefik", "values.yaml");
    out.push(Output::new(
        traefik_values.clone(),
        "clusters/traefik-values.yaml.j2",
        scope,
        d.get("traefik").cloned().unwrap_or(Value::Null),
        Check::HelmValues {
            chart: "traefik".into(),
        },
    ));
    out.push(Output::new(
        path(c, "kubernetes", "storageclass-blueprint-retain-rwo.yaml"),
        "clusters/storageclass.yaml.j2",
        scope,
        json!({
            "name": "blueprint-retain-rwo",
            "provisioner": "ebs.csi.aws.com",
            "parameters": {
                "type": "gp3",
                "encrypted": "true",
                "csi.storage.k8s.io/fstype": "ext4",
            },
        }),
        Check::Kubernetes,
    ));
    // `kubernetes/` always holds the storage class above.
    super::argocd::cluster_outputs(
        c,
        &traefik_values,
        &format!("clusters/{}/kubernetes", c.name),
        scope,
        out,
    );
}

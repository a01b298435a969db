//! Where a plant runs and who owns it: the keys every plant needs, its region and cluster, the
//! tenancy its tier allows (BP1001–BP1005, BP1012, BP3010) and the owner.

use super::{Cx, missing};
use crate::fleet::{Cluster, Region, SharedOdoo, TierValues, bad, parse_with};
use crate::model::{Owner, Val};
use crate::units;
use blueprint_diagnostics::{Diagnostic, FileId, Span, codes};
use blueprint_syntax::doc::{self, PlantDoc, Tenancy, Text, Tier};
use blueprint_syntax::{Node, Spanned};

/// The keys a plant cannot be resolved without, as written.
pub(crate) struct Header<'a> {
    /// `name`.
    pub(crate) name: &'a Text,
    /// `region`, as written.
    pub(crate) region: &'a Text,
    /// `tier`.
    pub(crate) tier: &'a Spanned<Tier>,
    /// `tenancy`.
    pub(crate) tenancy: &'a Spanned<Tenancy>,
    /// `owner`.
    pub(crate) owner: &'a Spanned<doc::Owner>,
    /// Whether the name is a valid plant name (a finding was reported otherwise).
    pub(crate) valid_name: bool,
}

/// The keys every plant file must have, with what to write.
const REQUIRED: [(&str, &str); 7] = [
    ("apiVersion", ": `apiVersion: blueprint/v1`"),
    ("kind", ": `kind: Plant`"),
    ("name", ": a DNS label such as `lyon`"),
    ("region", ": a region of the fleet"),
    ("tier", ": `critical`, `standard` or `basic`"),
    ("tenancy", ""),
    ("owner", " with `team` and `email`"),
];

/// Reports every key of [`REQUIRED`] that `present` says is absent, all in one run.
pub(crate) fn report_missing(
    present: impl Fn(&str) -> bool,
    doc: &Node,
    anchor: Span,
    diags: &mut Vec<Diagnostic>,
) {
    for (key, why) in REQUIRED {
        if !present(key) {
            missing(diags, doc, anchor, key, why);
        }
    }
}

/// Finds the keys every plant must have; `None` (after reporting what is missing) when one is
/// absent.
pub(crate) fn header<'a>(
    doc: &'a PlantDoc,
    merged: &Node,
    file: FileId,
    diags: &mut Vec<Diagnostic>,
) -> Option<Header<'a>> {
    let file_start = Span::new(file, 0, 0);
    // Every missing key is reported in one run, at the plant's name when it has one.
    let anchor = doc.name.as_ref().map_or(file_start, |n| n.span);
    let present = |key: &str| match key {
        "apiVersion" => doc.api_version.is_some(),
        "kind" => doc.kind.is_some(),
        "name" => doc.name.is_some(),
        "region" => doc.region.is_some(),
        "tier" => doc.tier.is_some(),
        "tenancy" => doc.tenancy.is_some(),
        _ => doc.owner.is_some(),
    };
    report_missing(present, merged, anchor, diags);
    let (Some(_), Some(_), Some(name), Some(region), Some(tier), Some(tenancy), Some(owner)) = (
        &doc.api_version,
        &doc.kind,
        &doc.name,
        &doc.region,
        &doc.tier,
        &doc.tenancy,
        &doc.owner,
    ) else {
        return None;
    };
    let mut valid_name = true;
    if let Err(why) = units::dns_label(&name.value, 40) {
        bad(
            diags,
            codes::INVALID_NAME,
            name.span,
            "plant name",
            &name.value,
            &why,
            "use a DNS-1123 label of at most 40 characters, e.g. `lyon` or `plant-lyon-2`; names are never normalised",
        );
        valid_name = false;
    }
    Some(Header {
        name,
        region,
        tier,
        tenancy,
        owner,
        valid_name,
    })
}

/// Where the plant runs, resolved against the fleet.
pub(crate) struct Placement<'a> {
    /// The tier's profile.
    pub(crate) profile: &'a TierValues,
    /// The fleet's region, if it exists.
    pub(crate) region_info: Option<&'a Region>,
    /// The shared cluster, if the tenancy runs on one and it is valid.
    pub(crate) cluster: Option<(Val<String>, &'a Cluster)>,
    /// Tenancy `shared`: the platform's Odoo and PostgreSQL.
    pub(crate) shared: bool,
    /// Tenancy `dedicated-environment`: Amazon RDS.
    pub(crate) managed: bool,
    /// The shared Odoo of the cluster, if it describes one.
    pub(crate) shared_odoo: Option<&'a SharedOdoo>,
}

/// Resolves region, cluster and tenancy against the fleet and the tier.
pub(crate) fn place<'a>(cx: &mut Cx<'a>, doc: &PlantDoc, head: &Header<'_>) -> Placement<'a> {
    let fleet = cx.fleet;
    let (region, tier, tenancy) = (head.region, head.tier, head.tenancy);
    let profile = fleet.tier(tier.value);
    let region_info = fleet.regions.get(&region.value);
    if region_info.is_none() {
        cx.reject(
            Diagnostic::new(
                codes::UNKNOWN_REGION,
                format!("region `{}` is not defined in the fleet", region.value),
            )
            .at(region.span, "unknown region")
            .help(one_of("region", "[regions.<name>]", fleet.regions.keys())),
        );
    }
    let cluster = cluster(cx, doc.cluster.as_ref(), head);
    if !profile.tenancies.value.contains(&tenancy.value) {
        let allowed = profile
            .tenancies
            .value
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ");
        cx.reject(
            Diagnostic::new(
                codes::TIER_FORBIDS_TENANCY,
                format!(
                    "tier `{}` does not run on tenancy `{}`",
                    tier.value, tenancy.value
                ),
            )
            .at(tenancy.span, "not allowed for this tier")
            .also(tier.span, "tier chosen here")
            .help(format!(
                "tier `{}` allows {allowed}; change the tenancy or the tier",
                tier.value
            )),
        );
    }
    let shared = tenancy.value == Tenancy::Shared;
    let managed = tenancy.value == Tenancy::DedicatedEnvironment;
    let shared_odoo = cluster.as_ref().and_then(|(_, c)| c.odoo.as_ref());
    if shared && shared_odoo.is_none() {
        if let Some((cv, info)) = &cluster {
            cx.diags.push(
                Diagnostic::new(codes::SHARED_CLUSTER_WITHOUT_ODOO, format!("cluster `{}` does not describe the shared Odoo its `shared` tenants run on", cv.value))
                    .at(info.span, "no `odoo` for this cluster")
                    .also(tenancy.span, "shared tenant")
                    .help(format!("add `odoo = {{ version = \"18.0\", image = \"…@sha256:…\", modules = [...] }}` to `[clusters.{}]` in fleet.toml, or choose `dedicated-namespace`", cv.value)),
            );
        }
        cx.ok = false;
    }
    Placement {
        profile,
        region_info,
        cluster,
        shared,
        managed,
        shared_odoo,
    }
}

/// The shared cluster: required by `shared` and `dedicated-namespace`, forbidden otherwise,
/// defined in the fleet and in the plant's region.
fn cluster<'a>(
    cx: &mut Cx<'a>,
    written: Option<&Text>,
    head: &Header<'_>,
) -> Option<(Val<String>, &'a Cluster)> {
    let fleet = cx.fleet;
    let (region, tenancy) = (head.region, head.tenancy);
    let needs_cluster = matches!(tenancy.value, Tenancy::Shared | Tenancy::DedicatedNamespace);
    let cluster_names = || {
        fleet
            .clusters
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (written, needs_cluster) {
        (None, true) => {
            cx.reject(
                Diagnostic::new(
                    codes::CLUSTER_REQUIRED,
                    format!(
                        "tenancy `{}` runs on a shared cluster, but `cluster` is not set",
                        tenancy.value
                    ),
                )
                .at(tenancy.span, "needs `cluster`")
                .help(format!(
                    "add `cluster:` naming one of the fleet's clusters: {}",
                    cluster_names()
                )),
            );
            None
        }
        (Some(c), false) => {
            cx.reject(
                Diagnostic::new(codes::CLUSTER_FORBIDDEN, format!("tenancy `{}` gets its own cluster; `cluster: {}` does not apply", tenancy.value, c.value))
                    .at(c.span, "remove this")
                    .also(tenancy.span, "own cluster because of this tenancy")
                    .help("remove `cluster`, or choose tenancy `dedicated-namespace` to run on that shared cluster"),
            );
            None
        }
        (Some(c), true) => {
            match fleet.clusters.get(&c.value) {
                None => {
                    cx.reject(
                        Diagnostic::new(
                            codes::UNKNOWN_CLUSTER,
                            format!("cluster `{}` is not defined in the fleet", c.value),
                        )
                        .at(c.span, "unknown cluster")
                        .help(one_of(
                            "cluster",
                            "[clusters.<name>]",
                            fleet.clusters.keys(),
                        )),
                    );
                    None
                }
                Some(info) => {
                    if info.region.value != region.value {
                        cx.reject(
                        Diagnostic::new(codes::CLUSTER_REGION_MISMATCH, format!("cluster `{}` is in region `{}`, the plant in `{}`", c.value, info.region.value, region.value))
                            .at(c.span, "cluster in another region")
                            .also(region.span, "plant region")
                            .help("choose a cluster in the plant's region, or change the plant's region"),
                    );
                    }
                    Some((cx.layers.val(c), info))
                }
            }
        }
        (None, false) => None,
    }
}

/// The owner: its email must parse and its team must be usable as a label value.
pub(crate) fn owner(cx: &mut Cx<'_>, owner: &Spanned<doc::Owner>) -> Owner {
    let l = cx.layers;
    let ow = &owner.value;
    parse_with(
        cx.diags,
        &ow.email,
        codes::INVALID_EMAIL,
        "owner.email",
        "write the team's address, e.g. `erp-lyon@example.com`",
        units::email,
    );
    let owner = Owner {
        team: l.val(&ow.team),
        email: l.val(&ow.email),
        cost_center: ow.cost_center.as_ref().map(|c| l.val(c)),
    };
    // Team and cost center become label values.
    for (key, t) in [
        ("owner.team", Some(&ow.team)),
        ("owner.costCenter", ow.cost_center.as_ref()),
    ] {
        let Some(t) = t else { continue };
        if let Err(why) = units::label_value(&t.value) {
            bad(
                cx.diags,
                codes::INVALID_NAME,
                t.span,
                key,
                &t.value,
                &why,
                "it becomes a Kubernetes label value: letters, digits, `-`, `_` and `.`, at most 63 characters",
            );
        }
    }
    owner
}

/// "use one of: a, b", or how to define one when the fleet has none.
fn one_of<'k>(what: &str, table: &str, names: impl Iterator<Item = &'k String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        format!("the fleet defines no {what}: add `{table}` to fleet.toml")
    } else {
        format!("use one of: {}", names.join(", "))
    }
}

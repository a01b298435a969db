//! Resolution of one plant in one environment: fleet defaults, the plant's base and the
//! environment overlay are deep-merged, decoded, and every value is given its origin; sizing,
//! backups and recovery estimates are derived (docs/decisions.md).

use crate::fleet::{DURATION_HELP, Fleet, QUANTITY_HELP, bad, parse_with};
use crate::model::*;
use crate::units::{self, fmt_bytes, fmt_duration};
use blueprint_diagnostics::{Diagnostic, FileId, SourceMap, Span, codes};
use blueprint_syntax::doc::{Direction, Edition, PlantDoc, Protocol, Tenancy, Text};
use blueprint_syntax::schema::OVERLAY_FIXED;
use blueprint_syntax::{Node, NodeKind, Spanned};

const MI: u64 = 1024 * 1024;
const GI: u64 = 1024 * MI;
/// Modules that store Odoo sessions in Redis.
pub const REDIS_SESSION_MODULES: &[&str] = &["session_redis"];
/// Odoo refuses request bodies above this, whatever the proxy allows.
pub(crate) const ODOO_MAX_BODY: u64 = 128 * MI;
/// Push latency to a repository in the plant's region, seconds.
pub(crate) const PUSH_LATENCY_LOCAL: u64 = 10;
/// Push latency to a repository in another region, seconds.
pub(crate) const PUSH_LATENCY_REMOTE: u64 = 40;

/// Where the layers of a merged plant document come from.
struct Layers {
    fleet_file: FileId,
    env: String,
    /// Spans of every value written in the environment's overlay.
    overlay: std::collections::BTreeSet<Span>,
}

fn collect_spans(node: &Node, out: &mut std::collections::BTreeSet<Span>) {
    out.insert(node.span);
    match &node.kind {
        NodeKind::Map(m) => m.iter().for_each(|(_, v)| collect_spans(v, out)),
        NodeKind::Seq(s) => s.iter().for_each(|v| collect_spans(v, out)),
        _ => {}
    }
}

impl Layers {
    fn origin(&self, span: Span) -> Origin {
        if span.file == self.fleet_file {
            Origin::FleetDefault(span)
        } else if self.overlay.contains(&span) {
            Origin::Overlay {
                env: self.env.clone(),
                span,
            }
        } else {
            Origin::Plant(span)
        }
    }
    fn val<T: Clone>(&self, s: &Spanned<T>) -> Val<T> {
        Val::new(s.value.clone(), self.origin(s.span))
    }
}

/// A plant file after parsing, before resolution.
#[derive(Debug, Clone)]
pub(crate) struct PlantSource {
    /// The file.
    pub file: FileId,
    /// Root node.
    pub root: Node,
}

/// The environments of a plant and their overlay nodes.
pub(crate) fn environments(
    src: &PlantSource,
    diags: &mut Vec<Diagnostic>,
) -> Vec<(String, Span, Node)> {
    let default_envs = |span: Span| {
        ["prod", "staging"]
            .iter()
            .map(|e| {
                (
                    e.to_string(),
                    span,
                    Node {
                        span,
                        kind: NodeKind::Map(Vec::new()),
                    },
                )
            })
            .collect::<Vec<_>>()
    };
    let file_start = Span::new(src.file, 0, 0);
    let Some(envs) = src.root.get("environments") else {
        return default_envs(file_start);
    };
    let Some(entries) = envs.as_map() else {
        return Vec::new();
    };
    if entries.is_empty() {
        diags.push(
            Diagnostic::new(codes::MISSING_KEY, "`environments` lists no environment, so nothing would be checked or built")
                .at(envs.span, "empty")
                .help("remove `environments` to get the default `prod` and `staging`, or list at least one environment"),
        );
    }
    let mut out = Vec::new();
    for (k, v) in entries {
        if let Err(why) = units::dns_label(&k.name, 20) {
            bad(
                diags,
                codes::INVALID_NAME,
                k.span,
                "environment name",
                &k.name,
                &why,
                "use a short DNS label such as `prod` or `staging`",
            );
            continue;
        }
        let overlay = match &v.kind {
            NodeKind::Null => Node {
                span: v.span,
                kind: NodeKind::Map(Vec::new()),
            },
            NodeKind::Map(_) => v.clone(),
            _ => continue, // reported by the decoder
        };
        out.push((k.name.clone(), k.span, overlay));
    }
    out
}

fn strip(node: &Node, keys: &[&str]) -> Node {
    match &node.kind {
        NodeKind::Map(m) => Node {
            span: node.span,
            kind: NodeKind::Map(
                m.iter()
                    .filter(|(k, _)| !keys.contains(&k.name.as_str()))
                    .cloned()
                    .collect(),
            ),
        },
        _ => node.clone(),
    }
}

/// Reports a key that must be present after merging.
fn missing(diags: &mut Vec<Diagnostic>, at: Span, key: &str, why: &str) {
    diags.push(
        Diagnostic::new(codes::MISSING_KEY, format!("missing required key `{key}`"))
            .at(at, format!("this plant has no `{key}`"))
            .help(format!("add `{key}` to the plant{why}")),
    );
}

fn dur(diags: &mut Vec<Diagnostic>, l: &Layers, t: &Text) -> Option<Val<u64>> {
    parse_with(
        diags,
        t,
        codes::INVALID_DURATION,
        "duration",
        DURATION_HELP,
        units::duration,
    )
    .map(|v| Val::new(v, l.origin(t.span)))
}

fn qty(diags: &mut Vec<Diagnostic>, l: &Layers, t: &Text) -> Option<Val<u64>> {
    parse_with(
        diags,
        t,
        codes::INVALID_QUANTITY,
        "quantity",
        QUANTITY_HELP,
        units::quantity,
    )
    .map(|v| Val::new(v, l.origin(t.span)))
}

fn round_up(v: u64, to: u64) -> u64 {
    v.div_ceil(to) * to
}

/// Resolves every environment of a plant. Findings of the merged documents repeat per
/// environment; the caller deduplicates them.
pub(crate) fn resolve_plant(
    map: &SourceMap,
    fleet: &Fleet,
    src: &PlantSource,
    diags: &mut Vec<Diagnostic>,
) -> Vec<(ResolvedPlant, PlantDoc)> {
    let mut out = Vec::new();
    let base = strip(&src.root, &["environments"]);
    // Check the top level decodes on its own so `environments` entries are validated once.
    let _: Option<PlantDoc> = blueprint_syntax::decode(&src.root, diags);
    for (env, _env_span, overlay) in environments(src, diags) {
        if let Some(entries) = overlay.as_map() {
            for (k, _) in entries {
                if OVERLAY_FIXED.contains(&k.name.as_str()) {
                    diags.push(
                        Diagnostic::new(codes::OVERLAY_FIXED_FIELD, format!("environment `{env}` sets `{}`, which an overlay cannot change", k.name))
                            .at(k.span, "fixed for every environment")
                            .help(format!("set `{}` once at the top of the plant file; name, region, tier and tenancy are the same in every environment", k.name)),
                    );
                }
            }
        }
        let overlay_clean = strip(&overlay, OVERLAY_FIXED);
        let mut merged = base.clone();
        if let Some(defaults) = &fleet.defaults {
            merged = strip(defaults, blueprint_syntax::schema::DEFAULTS_FIXED).merged(&merged);
            merged.span = base.span;
        }
        merged = merged.merged(&overlay_clean);
        let Some(doc) = blueprint_syntax::decode::<PlantDoc>(&merged, diags) else {
            continue;
        };
        let mut spans = std::collections::BTreeSet::new();
        if let Some(entries) = overlay_clean.as_map() {
            entries
                .iter()
                .for_each(|(_, v)| collect_spans(v, &mut spans));
        }
        let layers = Layers {
            fleet_file: fleet.file,
            env: env.clone(),
            overlay: spans,
        };
        let before = diags.len();
        let resolved = resolve_env(map, fleet, src, &doc, &env, &layers, diags);
        // Findings of resolution hold in this environment; identical ones of other environments
        // are merged into one finding listing them all. (Decoding findings are the file's own.)
        for d in &mut diags[before..] {
            d.scopes.push(env.clone());
        }
        if let Some(p) = resolved {
            out.push((p, doc));
        }
    }
    out
}

#[allow(clippy::too_many_lines)]
fn resolve_env(
    map: &SourceMap,
    fleet: &Fleet,
    src: &PlantSource,
    doc: &PlantDoc,
    env: &str,
    l: &Layers,
    diags: &mut Vec<Diagnostic>,
) -> Option<ResolvedPlant> {
    let file_start = Span::new(src.file, 0, 0);
    // apiVersion and kind.
    match (&doc.api_version, &doc.kind) {
        (Some(_), Some(_)) => {}
        (None, _) => {
            missing(
                diags,
                file_start,
                "apiVersion",
                ": `apiVersion: blueprint/v1`",
            );
            return None;
        }
        (_, None) => {
            missing(diags, file_start, "kind", ": `kind: Plant`");
            return None;
        }
    }
    let Some(name) = &doc.name else {
        missing(diags, file_start, "name", "");
        return None;
    };
    let name_span = name.span;
    let anchor = name_span;
    let mut ok = true;
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
        ok = false;
    }
    let (Some(region), Some(tier), Some(tenancy)) = (&doc.region, &doc.tier, &doc.tenancy) else {
        for (present, key) in [
            (doc.region.is_some(), "region"),
            (doc.tier.is_some(), "tier"),
            (doc.tenancy.is_some(), "tenancy"),
        ] {
            if !present {
                missing(diags, anchor, key, "");
            }
        }
        return None;
    };
    let Some(owner) = &doc.owner else {
        missing(diags, anchor, "owner", " with `team` and `email`");
        return None;
    };
    let tv = fleet.tier(tier.value);

    // Region and cluster.
    let region_info = fleet.regions.get(&region.value);
    if region_info.is_none() {
        diags.push(
            Diagnostic::new(
                codes::UNKNOWN_REGION,
                format!("region `{}` is not defined in the fleet", region.value),
            )
            .at(region.span, "unknown region")
            .help(format!(
                "use one of: {}",
                fleet.regions.keys().cloned().collect::<Vec<_>>().join(", ")
            )),
        );
        ok = false;
    }
    let needs_cluster = matches!(tenancy.value, Tenancy::Shared | Tenancy::DedicatedNamespace);
    let cluster = match (&doc.cluster, needs_cluster) {
        (None, true) => {
            diags.push(
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
                    fleet
                        .clusters
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
            ok = false;
            None
        }
        (Some(c), false) => {
            diags.push(
                Diagnostic::new(codes::CLUSTER_FORBIDDEN, format!("tenancy `{}` gets its own cluster; `cluster: {}` does not apply", tenancy.value, c.value))
                    .at(c.span, "remove this")
                    .also(tenancy.span, "own cluster because of this tenancy")
                    .help("remove `cluster`, or choose tenancy `dedicated-namespace` to run on that shared cluster"),
            );
            ok = false;
            None
        }
        (Some(c), true) => {
            match fleet.clusters.get(&c.value) {
                None => {
                    diags.push(
                        Diagnostic::new(
                            codes::UNKNOWN_CLUSTER,
                            format!("cluster `{}` is not defined in the fleet", c.value),
                        )
                        .at(c.span, "unknown cluster")
                        .help(format!(
                            "use one of: {}",
                            fleet
                                .clusters
                                .keys()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    );
                    ok = false;
                    None
                }
                Some(info) => {
                    if info.region.value != region.value {
                        diags.push(
                        Diagnostic::new(codes::CLUSTER_REGION_MISMATCH, format!("cluster `{}` is in region `{}`, the plant in `{}`", c.value, info.region.value, region.value))
                            .at(c.span, "cluster in another region")
                            .also(region.span, "plant region")
                            .help("choose a cluster in the plant's region, or change the plant's region"),
                    );
                        ok = false;
                    }
                    Some((l.val(c), info))
                }
            }
        }
        (None, false) => None,
    };
    if !tv.tenancies.value.contains(&tenancy.value) {
        let allowed = tv
            .tenancies
            .value
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ");
        diags.push(
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
        ok = false;
    }
    let shared = tenancy.value == Tenancy::Shared;
    let managed = tenancy.value == Tenancy::DedicatedEnvironment;
    let shared_odoo = cluster.as_ref().and_then(|(_, c)| c.odoo.clone());
    if shared && shared_odoo.is_none() {
        if let Some((cv, info)) = &cluster {
            diags.push(
                Diagnostic::new(codes::SHARED_CLUSTER_WITHOUT_ODOO, format!("cluster `{}` does not describe the shared Odoo its `shared` tenants run on", cv.value))
                    .at(info.span, "no `odoo` for this cluster")
                    .also(tenancy.span, "shared tenant")
                    .help(format!("add `odoo = {{ version = \"18.0\", image = \"…@sha256:…\", modules = [...] }}` to `[clusters.{}]` in fleet.toml, or choose `dedicated-namespace`", cv.value)),
            );
        }
        ok = false;
    }

    // Owner.
    let ow = &owner.value;
    parse_with(
        diags,
        &ow.email,
        codes::INVALID_EMAIL,
        "owner.email",
        "write the team's address, e.g. `erp-lyon@example.com`",
        units::email,
    );
    let owner_m = Owner {
        team: l.val(&ow.team),
        email: l.val(&ow.email),
        cost_center: ow.cost_center.as_ref().map(|c| l.val(c)),
    };
    if let Err(why) = units::dns_label(&ow.team.value.to_ascii_lowercase(), 63) {
        bad(
            diags,
            codes::INVALID_NAME,
            ow.team.span,
            "owner.team",
            &ow.team.value,
            &why,
            "the team becomes a label value: use letters, digits and `-`",
        );
    }

    // Recovery objectives.
    let rec = doc.recovery.as_ref().map(|r| &r.value);
    // A shared tenant gets what its platform guarantees unless it asks for something else.
    let guarantee = cluster
        .as_ref()
        .filter(|_| tenancy.value == Tenancy::Shared)
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
        .map_or_else(|| Some(default_rpo), |t| dur(diags, l, t));
    let rto = rec
        .and_then(|r| r.rto.as_ref())
        .map_or_else(|| Some(default_rto), |t| dur(diags, l, t));
    let pitr = rec
        .and_then(|r| r.pitr_window.as_ref())
        .map_or_else(|| Some(tv.pitr_window.clone()), |t| dur(diags, l, t));

    if let (true, Some((_, c)), Some(rpo), Some(rto)) = (shared, &cluster, &rpo, &rto)
        && let Some((g_rpo, g_rto, g_span)) = c.recovery
    {
        for (what, v, g) in [("rpo", rpo, g_rpo), ("rto", rto, g_rto)] {
            if v.value < g {
                diags.push(
                        Diagnostic::new(codes::SHARED_RECOVERY_BEYOND_PLATFORM, format!("recovery.{what} {} is tighter than the shared platform guarantees ({})", fmt_duration(v.value), fmt_duration(g)))
                            .at(v.origin.span().unwrap_or(tenancy.span), "asks more than the platform")
                            .also(g_span, "the cluster's guarantee")
                            .help(format!("set {what} to {} or more, or choose `dedicated-namespace` for objectives of its own", fmt_duration(g))),
                    );
                ok = false;
            }
        }
    }

    // Odoo.
    let odoo_doc = doc.odoo.as_ref().map(|o| &o.value);
    let users = match odoo_doc.and_then(|o| o.users.as_ref()) {
        Some(u) if u.value >= 1 && u.value <= 100_000 => Some(l.val(u)),
        Some(u) => {
            diags.push(
                Diagnostic::new(
                    codes::OUT_OF_RANGE,
                    format!("odoo.users must be from 1 to 100000, found {}", u.value),
                )
                .at(u.span, "out of range")
                .help("give the number of concurrent users at peak"),
            );
            None
        }
        None => {
            missing(
                diags,
                anchor,
                "odoo.users",
                ": concurrent users size workers, replicas and memory",
            );
            None
        }
    };
    let (version, edition, image, modules) = if shared {
        if let Some(o) = odoo_doc
            && let Some(so) = &shared_odoo
        {
            let checks: [(Option<Span>, &str, bool, String); 3] = [
                (
                    o.version.as_ref().map(|v| v.span),
                    "odoo.version",
                    o.version
                        .as_ref()
                        .is_some_and(|v| v.value != so.version.value),
                    so.version.value.to_string(),
                ),
                (
                    o.edition.as_ref().map(|v| v.span),
                    "odoo.edition",
                    o.edition
                        .as_ref()
                        .is_some_and(|v| v.value != so.edition.value),
                    so.edition.value.to_string(),
                ),
                (
                    o.image.as_ref().map(|v| v.span),
                    "odoo.image",
                    o.image.as_ref().is_some_and(|v| v.value != so.image.value),
                    so.image.value.clone(),
                ),
            ];
            for (span, key, differs, platform) in checks {
                if let (Some(span), true) = (span, differs) {
                    diags.push(
                            Diagnostic::new(codes::SHARED_PLATFORM_OWNED, format!("`{key}` of a shared plant belongs to the platform (cluster value: {platform})"))
                                .at(span, "differs from the shared platform")
                                .help(format!("remove `{key}`: shared tenants run the cluster's Odoo; choose `dedicated-namespace` to run your own")),
                        );
                    ok = false;
                }
            }
        }
        // A tenant installs its own modules, from the addons the platform provides.
        let tenant_modules = odoo_doc.and_then(|o| o.modules.as_ref());
        if let (Some(mods), Some(so)) = (tenant_modules, &shared_odoo) {
            for m in &mods.value {
                if !so.modules.value.contains(&m.value) {
                    diags.push(
                        Diagnostic::new(codes::SHARED_PLATFORM_OWNED, format!("module `{}` is not provided by the shared platform", m.value))
                            .at(m.span, "not among the platform's addons")
                            .help(format!("use modules the platform provides ({}), ask the platform team to add it to the cluster's `odoo.modules`, or choose `dedicated-namespace`", so.modules.value.join(", "))),
                    );
                    ok = false;
                }
            }
        }
        match &shared_odoo {
            Some(so) => (
                Some(so.version.clone()),
                Some(so.edition.clone()),
                Some(so.image.clone()),
                Some(tenant_modules.map_or_else(
                    || so.modules.clone(),
                    |m| {
                        Val::new(
                            m.value.iter().map(|x| x.value.clone()).collect(),
                            l.origin(m.span),
                        )
                    },
                )),
            ),
            None => (None, None, None, None),
        }
    } else {
        let version = odoo_doc.and_then(|o| o.version.as_ref()).map(|v| l.val(v));
        let image = odoo_doc.and_then(|o| o.image.as_ref()).map(|v| l.val(v));
        if version.is_none() {
            missing(
                diags,
                anchor,
                "odoo.version",
                ": a quoted version such as \"18.0\"",
            );
        }
        if image.is_none() {
            missing(
                diags,
                anchor,
                "odoo.image",
                ": the approved image, pinned by digest in prod",
            );
        }
        let edition = odoo_doc.and_then(|o| o.edition.as_ref()).map_or_else(
            || Val::derived(Edition::Community, "odoo.edition", "community unless set"),
            |e| l.val(e),
        );
        let modules = odoo_doc.and_then(|o| o.modules.as_ref()).map_or_else(
            || Val::derived(Vec::new(), "odoo.modules", "none listed"),
            |m| {
                Val::new(
                    m.value.iter().map(|x| x.value.clone()).collect(),
                    l.origin(m.span),
                )
            },
        );
        (version, Some(edition), image, Some(modules))
    };
    let image_ref = image.as_ref().and_then(|i| {
        let span = i.origin.span().unwrap_or(anchor);
        match units::image(&i.value) {
            Ok(r) => Some(r),
            Err(why) => {
                bad(
                    diags,
                    codes::INVALID_REFERENCE,
                    span,
                    "odoo.image",
                    &i.value,
                    &why,
                    "write `registry/path/name:tag@sha256:<digest>`",
                );
                None
            }
        }
    });
    if let (Some(i), Some(r)) = (&image, &image_ref) {
        let span = i.origin.span().unwrap_or(anchor);
        let registry = fleet.registry().trim_end_matches('/');
        let from_registry = r
            .repository
            .strip_prefix(registry)
            .is_some_and(|rest| rest.starts_with('/'));
        if !from_registry {
            diags.push(
                Diagnostic::new(
                    codes::IMAGE_REGISTRY,
                    format!(
                        "image `{}` is not from the approved registry `{registry}`",
                        i.value
                    ),
                )
                .at(span, "unapproved registry")
                .help(format!(
                    "mirror the image to `{registry}/…` and reference it there"
                )),
            );
        }
        if env == "prod" && r.digest.is_none() {
            diags.push(
                Diagnostic::new(codes::IMAGE_NOT_PINNED, format!("image `{}` is not pinned by digest, which prod requires", i.value))
                    .at(span, "tag only")
                    .help(format!("append the digest: `{}@sha256:<64 hex digits>` (`crane digest` or `docker buildx imagetools inspect` prints it)", i.value)),
            );
        }
    }

    // Database.
    let db = doc.database.as_ref().map(|d| &d.value);
    let size = match db.and_then(|d| d.size.as_ref()) {
        Some(t) => qty(diags, l, t),
        None => {
            missing(
                diags,
                anchor,
                "database.size",
                ": the expected size sizes storage and the restore estimate",
            );
            None
        }
    };
    let pg_version = if shared {
        if let Some(v) = db.and_then(|d| d.postgres_version.as_ref()).filter(|v| v.span.file != fleet.file) {
            let platform = cluster.as_ref().and_then(|(_, c)| c.postgres_version.as_ref().map(|p| p.value));
            if platform.is_some_and(|p| p != v.value) || platform.is_none() {
                diags.push(
                    Diagnostic::new(codes::SHARED_PLATFORM_OWNED, "`database.postgresVersion` of a shared plant belongs to the platform")
                        .at(v.span, "set by the shared cluster")
                        .help("remove `database.postgresVersion`; choose `dedicated-namespace` to pick your own"),
                );
                ok = false;
            }
        }
        cluster.as_ref().and_then(|(_, c)| c.postgres_version.clone())
    } else {
        None
    }
    .or_else(|| db.and_then(|d| d.postgres_version.as_ref()).map(|v| l.val(v)))
    .unwrap_or_else(|| Val::derived(16, "database.postgresVersion", "16 when neither plant nor fleet sets it"));
    if !matches!(pg_version.value, 15..=17) {
        diags.push(
            Diagnostic::new(
                codes::INVALID_CHOICE,
                format!(
                    "database.postgresVersion must be 15, 16 or 17, found {}",
                    pg_version.value
                ),
            )
            .at(
                pg_version.origin.span().unwrap_or(anchor),
                "unsupported version",
            )
            .help("use 15, 16 or 17"),
        );
        ok = false;
    }
    let write_rate = match db.and_then(|d| d.write_rate.as_ref()) {
        Some(t) => parse_with(
            diags,
            t,
            codes::INVALID_QUANTITY,
            "database.writeRate",
            "write WAL volume per day, e.g. `5Gi/day`",
            |s| units::rate(s, "day"),
        )
        .map(|v| Val::new(v, l.origin(t.span))),
        None => size.as_ref().map(|s| {
            Val::derived(
                s.value / 20,
                "database.writeRate",
                format!("5% of database.size {} per day", fmt_bytes(s.value)),
            )
        }),
    };

    // Ingress.
    let ing = doc.ingress.as_ref().map(|i| &i.value);
    let host = match ing.and_then(|i| i.host.as_ref()) {
        Some(h) if env == "prod" || l.overlay.contains(&h.span) => Some(l.val(h)),
        _ if env != "prod" => Some(Val::derived(
            format!("{}-{env}.{}", name.value, fleet.dns_zone()),
            "ingress.host",
            format!("<plant>-<env>.<dnsZone> for environment {env}"),
        )),
        _ => {
            missing(
                diags,
                anchor,
                "ingress.host",
                ": the prod host name inside the fleet's DNS zone",
            );
            None
        }
    };
    if let Some(h) = &host
        && let Some(span) = h.origin.span()
        && let Err(why) = units::dns_name(&h.value)
    {
        bad(
            diags,
            codes::INVALID_NAME,
            span,
            "ingress.host",
            &h.value,
            &why,
            "use a lowercase DNS name such as `lyon.erp.example.com`",
        );
    }
    let admin_allow = ing.and_then(|i| i.admin_allow_from.as_ref()).map_or_else(
        || {
            Val::derived(
                Vec::new(),
                "ingress.adminAllowFrom",
                "empty: the database manager and admin paths are blocked",
            )
        },
        |a| {
            for c in &a.value {
                parse_with(
                    diags,
                    c,
                    codes::INVALID_CIDR,
                    "CIDR",
                    "write a network such as `10.20.0.0/16`",
                    |s| s.parse::<ipnet::IpNet>().map_err(|e| e.to_string()),
                );
            }
            Val::new(
                a.value.iter().map(|x| x.value.clone()).collect(),
                l.origin(a.span),
            )
        },
    );
    let max_upload = match ing.and_then(|i| i.max_upload_size.as_ref()) {
        Some(t) => qty(diags, l, t),
        None => Some(Val::derived(
            64 * MI,
            "ingress.maxUploadSize",
            "64Mi unless set",
        )),
    };
    if let Some(m) = &max_upload
        && m.value > ODOO_MAX_BODY
    {
        diags.push(
            Diagnostic::new(
                codes::UPLOAD_LIMIT_ABOVE_ODOO,
                format!(
                    "ingress.maxUploadSize {} is above the 128Mi Odoo accepts",
                    fmt_bytes(m.value)
                ),
            )
            .at(
                m.origin.span().unwrap_or(anchor),
                "Odoo rejects larger bodies",
            )
            .help("set 128Mi or less; larger uploads fail inside Odoo whatever the proxy allows"),
        );
    }

    // Network.
    let cidr = doc
        .network
        .as_ref()
        .and_then(|n| n.value.cidr.as_ref())
        .map(|c| l.val(c));
    if let Some(c) = &cidr {
        let span = c.origin.span().unwrap_or(anchor);
        parse_with(
            diags,
            &Spanned {
                value: c.value.clone(),
                span,
            },
            codes::INVALID_CIDR,
            "network.cidr",
            "write a network such as `10.20.0.0/16`",
            |s| s.parse::<ipnet::IpNet>().map_err(|e| e.to_string()),
        );
    }
    if matches!(
        tenancy.value,
        Tenancy::DedicatedCluster | Tenancy::DedicatedEnvironment
    ) {
        match &cidr {
            None => {
                diags.push(
                    Diagnostic::new(codes::CIDR_REQUIRED, format!("tenancy `{}` needs `network.cidr`", tenancy.value))
                        .at(tenancy.span, "own cluster needs its own network")
                        .help("add `network: {cidr: 10.x.0.0/16}`, unique in the fleet; each non-prod environment sets its own in its overlay"),
                );
                ok = false;
            }
            Some(c) if env != "prod" && !matches!(c.origin, Origin::Overlay { .. }) => {
                diags.push(
                    Diagnostic::new(
                        codes::ENV_CIDR_NOT_OWN,
                        format!(
                            "`{}` outside prod reuses the base network.cidr {}",
                            name.value, c.value
                        ),
                    )
                    .at(
                        c.origin.span().unwrap_or(anchor),
                        "shared by every environment",
                    )
                    .help(format!(
                        "set `environments.{env}.network.cidr` to a network of its own"
                    )),
                );
                ok = false;
            }
            Some(_) => {}
        }
    }

    // Integrations.
    let mut integrations = Vec::new();
    if let Some(ints) = &doc.integrations {
        for (i, it) in ints.value.iter().enumerate() {
            if let Err(why) = units::dns_label(&it.name.value, 30) {
                bad(
                    diags,
                    codes::INVALID_NAME,
                    it.name.span,
                    "integration name",
                    &it.name.value,
                    &why,
                    "use a short DNS label such as `mes-line1`",
                );
            }
            if let Some((first, _)) = ints.value[..i]
                .iter()
                .map(|o| (&o.name, ()))
                .find(|(n, _)| n.value == it.name.value)
            {
                diags.push(
                    Diagnostic::new(
                        codes::DUPLICATE_INTEGRATION,
                        format!("integration `{}` is defined twice", it.name.value),
                    )
                    .at(it.name.span, "second definition")
                    .also(first.span, "first defined here")
                    .help("give each integration its own name"),
                );
            }
            for p in &it.peers.value {
                parse_with(
                    diags,
                    p,
                    codes::INVALID_CIDR,
                    "peer",
                    "write a network such as `192.0.2.0/24`",
                    |s| s.parse::<ipnet::IpNet>().map_err(|e| e.to_string()),
                );
            }
            if it.peers.value.is_empty() {
                diags.push(
                    Diagnostic::new(
                        codes::INTEGRATION_SHAPE,
                        format!("integration `{}` lists no peers", it.name.value),
                    )
                    .at(it.peers.span, "empty")
                    .help("list the networks of the system on the other side"),
                );
            }
            let protocol = it.protocol.value;
            if let Some(p) = &it.path
                && (protocol != Protocol::Https
                    || !p.value.starts_with('/')
                    || p.value.chars().any(|c| c.is_whitespace() || c == '`'))
            {
                diags.push(
                        Diagnostic::new(codes::INTEGRATION_SHAPE, format!("integration `{}`: `path` must be a URL path starting with `/` on an https integration", it.name.value))
                            .at(p.span, "not a usable path")
                            .help("remove `path`, or use protocol `https` with a path such as `/api/mes`"),
                    );
            }
            if protocol == Protocol::PostgresReadonly && it.direction.value != Direction::Inbound {
                diags.push(
                    Diagnostic::new(codes::INTEGRATION_SHAPE, format!("integration `{}`: `postgres-readonly` is a peer reading the plant's database, so its direction is `inbound`", it.name.value))
                        .at(it.direction.span, "must be inbound")
                        .help("set `direction: inbound`"),
                );
            }
            let rate_limit = it.rate_limit.as_ref().and_then(|r| {
                parse_with(
                    diags,
                    r,
                    codes::INVALID_RATE,
                    "rateLimit",
                    "write requests per unit, e.g. `100/s` or `600/m`",
                    units::rate_limit,
                )
            });
            if let Some(s) = &it.schedule {
                parse_with(
                    diags,
                    s,
                    codes::INVALID_CRON,
                    "schedule",
                    "write a 5-field cron such as `*/15 * * * *`",
                    units::cron,
                );
            }
            let port = match &it.port {
                Some(p) if (1..=65535).contains(&p.value) => p.value,
                Some(p) => {
                    diags.push(
                        Diagnostic::new(
                            codes::OUT_OF_RANGE,
                            format!("port {} is outside 1-65535", p.value),
                        )
                        .at(p.span, "not a port")
                        .help("use a TCP port from 1 to 65535"),
                    );
                    0
                }
                None => match protocol {
                    Protocol::Https => 443,
                    Protocol::Sftp => 22,
                    Protocol::Mqtt => 8883,
                    Protocol::Amqp => 5671,
                    Protocol::PostgresReadonly => 5432,
                },
            };
            if shared && !(it.direction.value == Direction::Inbound && protocol == Protocol::Https)
            {
                diags.push(
                    Diagnostic::new(codes::SHARED_INTEGRATION, format!("integration `{}` is {} {}; shared plants may only have inbound HTTPS integrations", it.name.value, it.direction.value, protocol))
                        .at(if protocol == Protocol::Https { it.direction.span } else { it.protocol.span }, "not inbound HTTPS")
                        .also(tenancy.span, "shared tenancy")
                        .help("egress opened for one tenant is open to all: move the plant to `dedicated-namespace`, or make the peer call in over HTTPS"),
                );
                ok = false;
            }
            integrations.push(Integration {
                name: l.val(&it.name),
                kind: it.kind.value,
                direction: it.direction.value,
                protocol,
                peers: it.peers.value.iter().map(|p| l.val(p)).collect(),
                port,
                path: it.path.as_ref().map(|p| p.value.clone()),
                rate_limit,
                schedule: it.schedule.as_ref().map(|s| s.value.clone()),
                mutual_tls: protocol == Protocol::Https
                    && matches!(
                        it.kind.value,
                        blueprint_syntax::doc::IntegrationKind::Edi
                            | blueprint_syntax::doc::IntegrationKind::SupplierPortal
                    ),
            });
        }
    }

    // Maintenance window.
    let mnt = doc.maintenance.as_ref().map(|m| &m.value);
    let window = match mnt.and_then(|m| m.window.as_ref()) {
        Some(w) => parse_with(
            diags,
            w,
            codes::INVALID_WINDOW,
            "maintenance.window",
            "write a weekly window such as `Sun 02:00-05:00`",
            units::window,
        )
        .map(|v| Val::new(v, l.origin(w.span))),
        None => {
            missing(
                diags,
                anchor,
                "maintenance.window",
                " (or `[defaults.maintenance]` to fleet.toml)",
            );
            None
        }
    };
    let tz = match mnt.and_then(|m| m.timezone.as_ref()) {
        Some(t) => parse_with(
            diags,
            t,
            codes::INVALID_TIMEZONE,
            "maintenance.timezone",
            "use an IANA zone such as `Europe/Paris` or `UTC`",
            units::timezone,
        )
        .map(|z| (z, l.val(t))),
        None => {
            missing(
                diags,
                anchor,
                "maintenance.timezone",
                ": an IANA zone such as `Europe/Paris`",
            );
            None
        }
    };

    let (
        Some(rpo),
        Some(rto),
        Some(pitr),
        Some(users),
        Some(version),
        Some(edition),
        Some(image),
        Some(modules),
        Some(size),
        Some(write_rate),
        Some(host),
        Some(max_upload),
        Some(window),
        Some((tz, tz_val)),
    ) = (
        rpo, rto, pitr, users, version, edition, image, modules, size, write_rate, host,
        max_upload, window, tz,
    )
    else {
        return None;
    };
    let region_info = region_info?;
    if !ok {
        return None;
    }

    // Sizing (docs/decisions.md).
    let workers_needed = users.value.div_ceil(6).max(2);
    let per_pod_max = 2 * tv.cpu_per_pod.value;
    let replicas_needed = workers_needed.div_ceil(per_pod_max);
    let replicas = replicas_needed.max(tv.min_replicas.value);
    let workers = workers_needed.div_ceil(replicas).max(2);
    let replicas_v = Val::derived(
        replicas,
        "odoo.replicas",
        format!(
            "max(tier minReplicas {}, ceil({workers_needed} workers / {per_pod_max} per pod)) = {replicas}",
            tv.min_replicas.value
        ),
    );
    let workers_v = Val::derived(
        workers,
        "odoo.workers",
        format!(
            "max(2, ceil(users {} / 6)) = {workers_needed} workers over {replicas} pods: max(2, ceil({workers_needed} / {replicas})) = {workers} per pod",
            users.value
        ),
    );
    let max_replicas = replicas * tv.hpa_factor.value;
    let soft = 640 * MI;
    let hard = 1600 * MI;
    let mem_req = round_up(u64::from(workers) * 325 * MI + 150 * MI, 64 * MI);
    let mem_lim = round_up(u64::from(workers + 1) * soft, 64 * MI);
    let cpu_lim = u64::from(tv.cpu_per_pod.value) * 1000;
    let cpu_req = cpu_lim / 2;
    let db_maxconn = tv.db_maxconn.value;
    // Every supported version (17.0+) has db_maxconn_gevent.
    let gevent_conns = (db_maxconn / 2).max(2);
    let gevent = Some(gevent_conns);
    let surge = max_replicas.div_ceil(4);
    let readonly = u32::try_from(
        integrations
            .iter()
            .filter(|i| i.protocol == Protocol::PostgresReadonly)
            .count(),
    )
    .unwrap_or(0)
        * 5;
    let operator: u32 = 10;
    // In u64: every factor is bounded (users ≤ 100 000, tier values range-checked), but their
    // product need not fit in u32.
    let budget64 = u64::from(max_replicas + surge) * u64::from(workers * db_maxconn + gevent_conns)
        + u64::from(tv.cron_threads.value * db_maxconn)
        + u64::from(readonly)
        + u64::from(operator);
    let budget = u32::try_from(budget64).unwrap_or(u32::MAX);
    let budget_detail = format!(
        "({max_replicas} pods at HPA max + {surge} surge) × ({workers} workers × db_maxconn {db_maxconn} + gevent {gevent_conns}) + {} cron × {db_maxconn} + {readonly} read-only + {operator} operator/exporter = {budget}",
        tv.cron_threads.value
    );
    let superuser_reserved = 3;
    let reserved = if pg_version.value >= 16 { 5 } else { 0 };
    let (max_conn, reserved_v) = match (shared, cluster.as_ref().and_then(|(_, c)| c.postgres)) {
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
    let filestore = size.value / 2;
    let storage = round_up(size.value * 3 / 2, GI);

    // Backups and recovery estimates.
    let critical = tier.value == blueprint_syntax::doc::Tier::Critical;
    let latency = if critical {
        PUSH_LATENCY_REMOTE
    } else {
        PUSH_LATENCY_LOCAL
    };
    let archive_timeout = rpo.value.saturating_sub(latency).clamp(60, 300);
    let loss = archive_timeout + latency;
    let t = &fleet.throughput;
    let full_duration = size.value.div_ceil(t.backup.value);
    let restore_secs = size.value.div_ceil(t.restore.value);
    let filestore_secs = filestore.div_ceil(t.restore.value);
    let wr = write_rate.value;
    let estimate = |interval: u64| -> u64 {
        let wal = wr.saturating_mul(interval + full_duration) / 86_400;
        restore_secs + wal.div_ceil(t.replay.value) + filestore_secs + t.startup.value
    };
    let candidates: &[u64] = if managed {
        &[24]
    } else {
        &[24, 12, 8, 6, 4, 3, 2, 1]
    };
    let max_interval = tv.max_backup_interval.value;
    let chosen = candidates
        .iter()
        .copied()
        .filter(|h| managed || h * 3600 <= max_interval.max(3600))
        .find(|h| estimate(h * 3600) <= rto.value);
    // When nothing fits, the estimate shown is the best cadence available.
    let interval_h = chosen.unwrap_or(if managed { 24 } else { 1 });
    let interval = interval_h * 3600;
    let rto_est = estimate(interval);
    let arithmetic = |interval: u64| {
        let wal = wr.saturating_mul(interval + full_duration) / 86_400;
        format!(
            "restore {} / {}/s = {} + WAL {}/day × ({} interval + {} full backup) = {} / replay {}/s = {} + filestore {} / {}/s = {} + startup {} = {}",
            fmt_bytes(size.value),
            fmt_bytes(t.restore.value),
            fmt_duration(restore_secs),
            fmt_bytes(wr),
            fmt_duration(interval),
            fmt_duration(full_duration),
            fmt_bytes(wal),
            fmt_bytes(t.replay.value),
            fmt_duration(wal.div_ceil(t.replay.value)),
            fmt_bytes(filestore),
            fmt_bytes(t.restore.value),
            fmt_duration(filestore_secs),
            fmt_duration(t.startup.value),
            fmt_duration(estimate(interval))
        )
    };
    let rto_span = rto
        .origin
        .span()
        .filter(|s| s.file == src.file)
        .unwrap_or(tier.span);
    if chosen.is_none() {
        diags.push(
            Diagnostic::new(codes::RTO_INFEASIBLE, format!("recovery.rto {} cannot be met: the fastest backup cadence restores in {}", fmt_duration(rto.value), fmt_duration(rto_est)))
                .at(rto_span, format!("rto {}", fmt_duration(rto.value)))
                .note(if managed {
                    format!("estimate from the daily automated snapshot: {}", arithmetic(interval))
                } else {
                    format!("estimate with hourly incremental backups: {}", arithmetic(3600))
                })
                .help(format!("raise rto to {} or more, raise backup.restoreThroughput or walReplayRate in fleet.toml, or shrink database.size/writeRate", fmt_duration(rto_est))),
        );
    }

    // RPO per failure.
    let rpo_span = rpo
        .origin
        .span()
        .filter(|s| s.file == src.file)
        .unwrap_or(tier.span);
    if managed && rpo.value < 300 {
        diags.push(
            Diagnostic::new(codes::MANAGED_DB_LIMIT, format!("recovery.rpo {} is tighter than Amazon RDS guarantees (5m)", fmt_duration(rpo.value)))
                .at(rpo_span, "below 5m")
                .help("set rpo to 5m or more, or choose `dedicated-cluster` to run PostgreSQL with a streaming standby"),
        );
    } else if !managed {
        // RPO zero (zone loss) needs synchronous replication; independently, a region loss or a
        // point-in-time restore still loses the archive window, whatever the replication.
        let zones = region_info.zones;
        let sync_ok = tv.synchronous_replication.value && instances.value >= 3 && zones >= 3;
        if rpo.value == 0 && !sync_ok {
            diags.push(
                Diagnostic::new(codes::RPO_ZERO_NEEDS_SYNC, "recovery.rpo 0 needs synchronous replication to at least three instances across three zones")
                    .at(rpo_span, "rpo zero")
                    .note(format!("tier {}: synchronousReplication {}, {} PostgreSQL instances; region {}: {zones} zones", tier.value, tv.synchronous_replication.value, instances.value, region.value))
                    .help("use tier `critical` (synchronous_mode_strict, three instances) in a region with three zones, or accept an rpo above zero"),
            );
        } else if rpo.value < loss && instances.value < 2 {
            diags.push(
                Diagnostic::new(codes::RPO_NEEDS_STANDBY, format!("recovery.rpo {} is tighter than WAL archiving can guarantee ({})", fmt_duration(rpo.value), fmt_duration(loss)))
                    .at(rpo_span, "requested here")
                    .note(format!("losing the instance or its zone loses up to archive_timeout {} + push latency {} = {}; tier {} has no streaming standby", fmt_duration(archive_timeout), fmt_duration(latency), fmt_duration(loss), tier.value))
                    .help(format!("set rpo to {} or more, or use tier `standard` or `critical`, which add a streaming standby", fmt_duration(loss))),
            );
        } else if rpo.value < loss {
            diags.push(
                Diagnostic::new(codes::RPO_REGION_LOSS, format!("losing the region or restoring to a point in time can lose up to {}, more than recovery.rpo {}", fmt_duration(loss), fmt_duration(rpo.value)))
                    .at(rpo_span, "met only for instance and zone loss")
                    .note(format!("the standby covers instance and zone loss; a region loss or PITR loses archive_timeout {} + push latency {} to the slowest repository", fmt_duration(archive_timeout), fmt_duration(latency)))
                    .help(format!("set rpo to {} or more if it must hold for region loss too", fmt_duration(loss))),
            );
        }
    }

    // Each objective tighter than the tier honours is its own finding.
    let rpo_beyond = rpo.value < tv.min_rpo.value && !(managed && rpo.value < 300);
    let rto_beyond = rto.value < tv.min_rto.value;
    for (what, beyond, v, min, span) in [
        ("rpo", rpo_beyond, rpo.value, tv.min_rpo.value, rpo_span),
        ("rto", rto_beyond, rto.value, tv.min_rto.value, rto_span),
    ] {
        if beyond {
            diags.push(
                Diagnostic::new(
                    codes::OBJECTIVE_BEYOND_TIER,
                    format!(
                        "recovery.{what} {} is tighter than tier `{}` honours ({})",
                        fmt_duration(v),
                        tier.value,
                        fmt_duration(min)
                    ),
                )
                .at(span, "too tight for the tier")
                .also(tier.span, "tier")
                .help(format!(
                    "set {what} to {} or more, or choose a higher tier",
                    fmt_duration(min)
                )),
            );
        }
    }

    // Retention.
    let retention_days = pitr.value.div_ceil(86_400).max(1);
    let pitr_span = pitr
        .origin
        .span()
        .filter(|s| s.file == src.file)
        .unwrap_or(tier.span);
    let max_ret = if managed {
        35 * 86_400
    } else {
        tv.max_retention.value
    };
    if retention_days * 86_400 > max_ret {
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
        diags.push(
            Diagnostic::new(code, format!("recovery.pitrWindow {} needs repo1-retention-full={retention_days} days; {who}", fmt_duration(pitr.value)))
                .at(pitr_span, "window too long")
                .note(format!("retention-full-type=time keeps the newest full backup older than {retention_days}d, so the oldest restorable point is at least {retention_days}d back"))
                .help(format!("set pitrWindow to {} or less{}", fmt_duration(max_ret), if managed { "" } else { ", or raise tiers.<tier>.maxRetention in fleet.toml" })),
        );
    }

    // Schedules: the full backup at the start of the part of the window that is inside it in
    // both winter and summer time.
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
    let window_span = window
        .origin
        .span()
        .filter(|s| s.file == src.file)
        .unwrap_or(anchor);
    if full_duration > window_secs && !managed {
        diags.push(
            Diagnostic::new(
                codes::BACKUP_EXCEEDS_WINDOW,
                format!(
                    "the full backup takes about {}, longer than the maintenance window {} ({})",
                    fmt_duration(full_duration),
                    window.value,
                    fmt_duration(window_secs)
                ),
            )
            .at(window_span, "window too short")
            .note(format!(
                "database.size {} / backupThroughput {}/s = {}",
                fmt_bytes(size.value),
                fmt_bytes(t.backup.value),
                fmt_duration(full_duration)
            ))
            .help("widen the maintenance window, or raise backup.backupThroughput in fleet.toml"),
        );
    } else if full_duration > usable && winter != summer && !managed {
        diags.push(
            Diagnostic::new(codes::WINDOW_CROSSES_DST, format!("with a fixed UTC schedule, the full backup ({}) leaves the window {} {} in winter or summer time", fmt_duration(full_duration), window.value, tz_val.value))
                .at(window_span, "shifts by the DST offset")
                .note(format!("backup schedules have no time zone: in UTC the window is {} in winter and {} in summer; the part inside both is {}", fmt_week(winter), fmt_week(summer), fmt_duration(usable)))
                .help("widen the window by the DST offset (one hour), or use timezone UTC"),
        );
    }
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
    let sched_detail = format!(
        "maintenance window {} {} → {} UTC",
        window.value,
        tz_val.value,
        fmt_week((start, end))
    );

    // Repositories.
    let bucket = |cloud_region: &str| format!("{}-pgbackrest-{cloud_region}", fleet.org());
    let mut repos = vec![Repo {
        name: "repo1".into(),
        region: region.value.clone(),
        cloud_region: region_info.cloud_region.clone(),
        bucket: bucket(&region_info.cloud_region),
        path: format!("/pgbackrest/{}/{env}", name.value),
    }];
    if critical {
        match region_info.backup_peer.as_ref().and_then(|p| fleet.regions.get(&p.value).map(|r| (p, r))) {
            Some((p, r)) => repos.push(Repo {
                name: "repo2".into(),
                region: p.value.clone(),
                cloud_region: r.cloud_region.clone(),
                bucket: bucket(&r.cloud_region),
                path: format!("/pgbackrest/{}/{env}", name.value),
            }),
            None => diags.push(
                Diagnostic::new(codes::NO_SECOND_REPOSITORY, format!("critical plant `{}` needs a second repository, but region `{}` has no backupPeer", name.value, region.value))
                    .at(tier.span, "critical keeps backups in two regions")
                    .also(fleet.regions.get(&region.value).map_or(region.span, |r| r.span), "region without backupPeer")
                    .help(format!("set `backupPeer` of `[regions.{}]` in fleet.toml to another region", region.value)),
            ),
        }
    }

    let session_redis = modules
        .value
        .iter()
        .any(|m| REDIS_SESSION_MODULES.contains(&m.as_str()));
    let redis = session_redis.then(|| Redis {
        architecture: tv.redis_architecture.clone(),
        persistence: tv.redis_persistence.clone(),
    });
    let pg_mem = (size.value / 10).clamp(2 * GI, 32 * GI);
    let pg_cpu = u64::from(tv.cpu_per_pod.value) * 1000;
    let db_pods = if managed || shared {
        0
    } else {
        u64::from(instances.value)
    };
    let quota_cpu = u64::from(max_replicas + surge) * cpu_lim
        + 1000
        + db_pods * pg_cpu
        + if redis.is_some() { 1000 } else { 0 }
        + 1000;
    let quota_mem = u64::from(max_replicas + surge) * mem_lim
        + u64::from(tv.cron_threads.value + 1) * soft
        + db_pods * pg_mem
        + if redis.is_some() { GI } else { 0 }
        + 2 * GI;
    let pg_major = pg_version.value;
    let min_pgbackrest = match pg_major {
        15 => "2.45",
        16 => "2.46",
        _ => "2.53.1",
    };

    Some(ResolvedPlant {
        namespace: format!("{}-{env}", name.value),
        name: Val::new(name.value.clone(), Origin::Plant(name_span)),
        env: env.to_string(),
        file: map.file(src.file).path.clone(),
        display_name: doc.display_name.as_ref().map(|d| l.val(d)),
        description: doc.description.as_ref().map(|d| l.val(d)),
        region: l.val(region),
        cloud_region: region_info.cloud_region.clone(),
        owner: owner_m,
        tier: l.val(tier),
        tenancy: l.val(tenancy),
        cluster: cluster.map(|(c, _)| c),
        recovery: Recovery {
            rpo: rpo.clone(),
            rto: rto.clone(),
            pitr_window: pitr.clone(),
        },
        odoo: Odoo {
            version,
            edition,
            image,
            image_ref,
            users: users.clone(),
            modules,
            workers: workers_v,
            replicas: replicas_v,
            max_replicas: Val::derived(
                max_replicas,
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
        },
        database: Database {
            size: size.clone(),
            postgres_version: pg_version,
            write_rate,
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
        },
        backup: Backup {
            full_schedule: Val::derived(
                full_schedule,
                "backup.full",
                format!("weekly, {sched_detail}"),
            ),
            diff_schedule: Val::derived(
                diff_schedule,
                "backup.differential",
                format!("daily at the same time, {sched_detail}"),
            ),
            incr_schedule: Val::derived(
                incr_schedule,
                "backup.incremental",
                format!(
                    "every {interval_h}h: the longest interval (≤ tier maxBackupInterval {}) whose restore estimate fits rto {}",
                    fmt_duration(max_interval),
                    fmt_duration(rto.value)
                ),
            ),
            interval: Val::derived(interval, "backup.interval", format!("{interval_h}h")),
            full_duration: Val::derived(
                full_duration,
                "backup.fullDuration",
                format!(
                    "database.size {} / backupThroughput {}/s",
                    fmt_bytes(size.value),
                    fmt_bytes(t.backup.value)
                ),
            ),
            retention_full_days: Val::derived(
                retention_days,
                "backup.retentionFull",
                format!(
                    "pitrWindow {} in whole days (repo1-retention-full-type=time)",
                    fmt_duration(pitr.value)
                ),
            ),
            archive_timeout: Val::derived(
                archive_timeout,
                "postgres.archive_timeout",
                format!(
                    "rpo {} − push latency {}, clamped to 60s..300s",
                    fmt_duration(rpo.value),
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
            rto_estimate: Val::derived(rto_est, "recovery.rtoEstimate", arithmetic(interval)),
            repos,
            restore_test_schedule: tv.restore_test_schedule.clone(),
        },
        ingress: Ingress {
            host,
            admin_allow_from: admin_allow,
            max_upload_size: max_upload,
        },
        cidr,
        integrations,
        maintenance: Maintenance {
            window,
            timezone: tz_val,
        },
        redis,
        quota: Quota {
            cpu_m: Val::derived(
                quota_cpu,
                "quota.cpu",
                "web pods at HPA max + surge, cron, PostgreSQL instances, Redis, restore test",
            ),
            memory: Val::derived(
                quota_mem,
                "quota.memory",
                "web pods at HPA max + surge, cron, PostgreSQL instances, Redis, restore test",
            ),
        },
    })
}

fn fmt_week((start, end): (i64, i64)) -> String {
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

//! Resolution of one plant in one environment: fleet defaults, the plant's base and the
//! environment overlay are deep-merged, decoded, and every value is given its origin; sizing,
//! backups and recovery estimates are derived (docs/decisions.md).
//!
//! `resolve_env` runs the steps in order, each reporting its own findings:
//! [`placement`] (required keys, region, cluster, tenancy, owner), [`backup::objectives`],
//! [`odoo`], [`database`], [`network`] (ingress, `network.cidr`, integrations) and the
//! maintenance window; then, if nothing stopped it, [`sizing`], the backup plan
//! ([`backup`]) and the recovery rules (`rules::recovery`).

use crate::fleet::{DURATION_HELP, Fleet, QUANTITY_HELP, bad, parse_with};
use crate::model::{Origin, ResolvedPlant, Val};
use crate::rules;
use crate::units;
use blueprint_diagnostics::{Diagnostic, FileId, SourceMap, Span, codes};
use blueprint_syntax::doc::{PlantDoc, Text};
use blueprint_syntax::schema::OVERLAY_FIXED;
use blueprint_syntax::{Node, NodeKind, Spanned};

pub(crate) mod backup;
mod database;
mod network;
mod odoo;
pub(crate) mod placement;
pub(crate) mod platform;
pub(crate) mod sizing;

const MI: u64 = 1024 * 1024;
const GI: u64 = 1024 * MI;
/// Modules that store Odoo sessions in Redis.
pub const REDIS_SESSION_MODULES: &[&str] = &["session_redis"];

/// Where the layers of a merged plant document come from.
pub(crate) struct Layers {
    fleet_file: FileId,
    env: String,
    /// Spans of every value written in the environment's overlay.
    overlay: std::collections::BTreeSet<Span>,
    /// The merged document (fleet defaults, plant, overlay), to tell a missing key from a
    /// misspelt one.
    merged: Node,
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
    /// The origin of a value written at `span`.
    pub(crate) fn origin(&self, span: Span) -> Origin {
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
    /// A written value with its origin.
    pub(crate) fn val<T: Clone>(&self, s: &Spanned<T>) -> Val<T> {
        Val::new(s.value.clone(), self.origin(s.span))
    }
}

/// What every step of one environment's resolution reads, and where it reports.
pub(crate) struct Cx<'a> {
    /// The resolved fleet.
    pub(crate) fleet: &'a Fleet,
    /// Where each value of the merged document was written.
    pub(crate) layers: &'a Layers,
    /// Where findings about a missing key point: the plant's name.
    pub(crate) anchor: Span,
    /// Findings.
    pub(crate) diags: &'a mut Vec<Diagnostic>,
    /// False once a finding means this environment cannot be resolved.
    pub(crate) ok: bool,
}

impl<'a> Cx<'a> {
    /// The environment.
    pub(crate) fn env(&self) -> &'a str {
        let layers: &'a Layers = self.layers;
        &layers.env
    }

    /// Reports a finding that stops this environment from being resolved.
    pub(crate) fn reject(&mut self, d: Diagnostic) {
        self.diags.push(d);
        self.ok = false;
    }

    /// Reports a key missing after merging, at the plant's name.
    pub(crate) fn missing(&mut self, key: &str, why: &str) {
        missing(self.diags, &self.layers.merged, self.anchor, key, why);
    }

    /// A written duration, in seconds.
    pub(crate) fn dur(&mut self, t: &Text) -> Option<Val<u64>> {
        parse_with(
            self.diags,
            t,
            codes::INVALID_DURATION,
            "duration",
            DURATION_HELP,
            units::duration,
        )
        .map(|v| Val::new(v, self.layers.origin(t.span)))
    }

    /// A written quantity, in bytes.
    pub(crate) fn qty(&mut self, t: &Text) -> Option<Val<u64>> {
        parse_with(
            self.diags,
            t,
            codes::INVALID_QUANTITY,
            "quantity",
            QUANTITY_HELP,
            units::quantity,
        )
        .map(|v| Val::new(v, self.layers.origin(t.span)))
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
/// Most environments one plant may have.
const MAX_ENVIRONMENTS: usize = 20;

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
    if entries.len() > MAX_ENVIRONMENTS {
        diags.push(
            Diagnostic::new(codes::TOO_DEEP_OR_LARGE, format!("{} environments; a plant has at most {MAX_ENVIRONMENTS}", entries.len()))
                .at(envs.span, "too many environments")
                .help("keep the environments a plant really runs (prod, staging, training…); each is a namespace with its own database"),
        );
        return Vec::new();
    }
    let mut out = Vec::new();
    for (k, v) in entries {
        // 12 characters: with a 40-character plant name, `<plant>-<env>-pgbackrest` is 64, the
        // IAM limit, and so are Terraform's role names; the restore test's longer names are
        // checked against their limits by BP4009 (rules/fleet.rs `generated_names`).
        if let Err(why) = units::dns_label(&k.name, 12) {
            bad(
                diags,
                codes::INVALID_NAME,
                k.span,
                "environment name",
                &k.name,
                &why,
                "use a short DNS label (at most 12 characters) such as `prod`, `staging` or `training`",
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
/// Reports the dotted `key` missing from the merged document `doc`, unless a key next to where
/// it belongs misspells it (the unknown-key finding, with its suggestion, already says so).
fn missing(diags: &mut Vec<Diagnostic>, doc: &Node, at: Span, key: &str, why: &str) {
    let (parent, leaf) = key.rsplit_once('.').unwrap_or(("", key));
    let parent_node = parent
        .split('.')
        .filter(|s| !s.is_empty())
        .try_fold(doc, |n, seg| n.get(seg));
    let known = blueprint_syntax::doc::plant_keys_at(parent);
    if parent_node
        .and_then(Node::as_map)
        .is_some_and(|e| blueprint_syntax::decode::misspelt(e, leaf, known))
    {
        return;
    }
    diags.push(
        Diagnostic::new(codes::MISSING_KEY, format!("missing required key `{key}`"))
            .at(at, format!("this plant has no `{key}`"))
            .help(format!("add `{key}` to the plant{why}")),
    );
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
    if src.root.as_map().is_none() {
        return out; // "must be a mapping" says it all
    }
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
            // The file has other problems, but its missing keys are reported in this run too.
            let anchor = merged
                .get_key("name")
                .map_or(Span::new(src.file, 0, 0), |k| k.span);
            placement::report_missing(|key| merged.get(key).is_some(), &merged, anchor, diags);
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
            merged,
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

/// Resolves one environment of a plant; `None` when a finding stops it.
fn resolve_env(
    map: &SourceMap,
    fleet: &Fleet,
    src: &PlantSource,
    doc: &PlantDoc,
    env: &str,
    l: &Layers,
    diags: &mut Vec<Diagnostic>,
) -> Option<ResolvedPlant> {
    let head = placement::header(doc, &l.merged, src.file, diags)?;
    let mut cx = Cx {
        fleet,
        layers: l,
        anchor: head.name.span,
        diags,
        ok: head.valid_name,
    };
    // Every step reports its findings, even when an earlier one failed.
    // A blank display name would title the runbook with nothing.
    if let Some(d) = doc
        .display_name
        .as_ref()
        .filter(|d| d.value.trim().is_empty())
    {
        cx.reject(
            Diagnostic::new(codes::WRONG_TYPE, "displayName is blank")
                .at(d.span, "no text")
                .help("write the plant's name as people say it (`Lyon – stamping and assembly`), or leave displayName out to use `name`"),
        );
    }
    let place = placement::place(&mut cx, doc, &head);
    let owner = placement::owner(&mut cx, head.owner);
    let recovery = backup::objectives(&mut cx, doc, &place, &head);
    let odoo = odoo::resolve(&mut cx, doc, &place);
    let database = database::resolve(&mut cx, doc, &place);
    let ingress = network::ingress(&mut cx, doc, &head);
    let cidr = network::cidr(&mut cx, doc, &head);
    let integrations = network::integrations(&mut cx, doc, &head, place.shared);
    let maintenance = backup::maintenance(&mut cx, doc);
    let (Some(recovery), Some(odoo), Some(database), Some(ingress), Some((maintenance, tz))) =
        (recovery, odoo, database, ingress, maintenance)
    else {
        return None;
    };
    let region_info = place.region_info?;
    if !cx.ok {
        return None;
    }

    let tv = place.profile;
    let (odoo, web) = sizing::odoo(odoo, tv);
    let database = sizing::database(database, &web, &integrations, &place);
    let redis = sizing::redis(&odoo, tv);
    let quota = sizing::quota(&web, &database, redis.is_some(), tv);

    let plan = backup::plan(fleet, head.tier.value, &place, &recovery, &database);
    let schedule = backup::schedule(&maintenance, tz, plan.interval_h);
    let repos = backup::repositories(fleet, &head, region_info, env, plan.critical);
    rules::recovery::check(
        &rules::recovery::Subject {
            fleet,
            file: src.file,
            head: &head,
            place: &place,
            region_info,
            recovery: &recovery,
            database: &database,
            maintenance: &maintenance,
            plan: &plan,
            schedule: &schedule,
            repos: &repos,
        },
        cx.diags,
    );
    let backup = backup::model(&plan, schedule, repos, &recovery, tv);

    let name = head.name;
    Some(ResolvedPlant {
        namespace: format!("{}-{env}", name.value),
        name: Val::new(name.value.clone(), Origin::Plant(name.span)),
        env: env.to_string(),
        file: map.file(src.file).path.clone(),
        display_name: doc.display_name.as_ref().map(|d| l.val(d)),
        description: doc.description.as_ref().map(|d| l.val(d)),
        region: l.val(head.region),
        cloud_region: region_info.cloud_region.clone(),
        owner,
        tier: l.val(head.tier),
        tenancy: l.val(head.tenancy),
        cluster: place.cluster.map(|(c, _)| c),
        recovery,
        odoo,
        database,
        backup,
        ingress,
        cidr,
        integrations,
        maintenance,
        redis,
        quota,
    })
}

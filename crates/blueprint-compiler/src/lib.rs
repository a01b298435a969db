//! The compiler: plants and the fleet in, resolved plants and findings out.
//!
//! 1. [`compile`] registers every input, parses it strictly (`blueprint-syntax`) and finds the
//!    fleet file (or the embedded default fleet).
//! 2. [`fleet::resolve`] applies the fleet's tier overrides to the embedded profiles.
//! 3. `resolve` deep-merges fleet defaults, each plant and each environment overlay, decodes the
//!    result, gives every value its [`model::Origin`] and derives sizing, backups and recovery
//!    estimates, reporting plant rules (BP1xxx) and policy (BP4xxx) where each value is
//!    resolved, and recovery (BP2xxx, `rules::recovery`) once the backups are planned.
//! 4. `rules::fleet` checks the fleet as a whole (BP3xxx, generated names).
//! 5. [`explain`] prints a resolved plant with the origin of every value.
//! 6. [`review`] compares the resolved models of two versions of the plants (`blueprint diff`)
//!    and gives each change a risk class from one table of rules.
//!
//! Pure: no I/O, no clock, no environment.

pub mod explain;
pub mod fleet;
pub mod lower;
pub mod model;
pub mod provenance;
mod resolve;
pub mod review;
mod rules;
pub mod scaffold;
mod secrets;
pub mod units;

pub use model::ResolvedPlant;
pub use resolve::REDIS_SESSION_MODULES;

use blueprint_diagnostics::{Diagnostic, FileId, SourceMap, Span, codes, sort_and_dedup};
use blueprint_syntax::{Format, Limits, Node};
use resolve::PlantSource;

/// One input file, as read by the caller.
#[derive(Debug, Clone)]
pub struct Input {
    /// Path shown to the user (relative, `/` separators).
    pub path: String,
    /// Contents.
    pub bytes: Vec<u8>,
    /// Whether this is the directory's `fleet.toml`.
    pub is_fleet: bool,
}

/// A plant file's name and environments as written (`prod` and `staging` when it lists none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// The plant file.
    pub file: String,
    /// `name`.
    pub name: String,
    /// Environment names, in file order.
    pub envs: Vec<String>,
}

/// The result of compiling a plants directory.
#[derive(Debug)]
pub struct Compilation {
    /// Every file read, for showing findings.
    pub map: SourceMap,
    /// The resolved fleet, if it could be read.
    pub fleet: Option<fleet::Fleet>,
    /// Resolved plants, sorted by name then environment.
    pub plants: Vec<ResolvedPlant>,
    /// The shared Odoo platform of every cluster with `shared` tenants, resolved as a plant
    /// generated from the cluster's definition (`resolve/platform.rs`), sorted by cluster.
    pub platforms: Vec<ResolvedPlant>,
    /// What each plant file declares (its name and environments), whether or not it resolved.
    pub declared: Vec<Declared>,
    /// Findings, sorted by file, position and code, duplicates removed.
    pub diagnostics: Vec<Diagnostic>,
}

impl Compilation {
    /// Whether any finding is an error.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == blueprint_diagnostics::Severity::Error)
    }
}

fn parse_input(
    map: &mut SourceMap,
    input: &Input,
    diags: &mut Vec<Diagnostic>,
) -> Option<(FileId, Node)> {
    let (id, ok) = blueprint_syntax::read_source(map, &input.path, &input.bytes, diags);
    if !ok {
        return None;
    }
    secrets::scan(map, id, diags);
    let format = Format::of_path(&input.path).unwrap_or(Format::Yaml);
    let parsed = blueprint_syntax::parse(map, id, format, &Limits::default());
    let parse_findings = parsed.diagnostics.len();
    diags.extend(parsed.diagnostics);
    // An empty TOML file parses to an empty table; without content it is an empty file too.
    let blank = map.file(id).text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#')
    });
    let root = parsed
        .root
        .filter(|r| !(blank && r.as_map().is_some_and(<[_]>::is_empty)));
    if root.is_none() && parse_findings == 0 {
        diags.push(
            blueprint_diagnostics::Diagnostic::new(
                codes::MISSING_KEY,
                format!("{} is empty", input.path),
            )
            .at(Span::new(id, 0, 0), "empty file")
            .help("write a plant (`blueprint init NAME` scaffolds one) or remove the file"),
        );
    }
    Some((id, root?))
}

/// Compiles inputs (plant files and at most one fleet file) into resolved plants.
#[must_use]
pub fn compile(inputs: &[Input]) -> Compilation {
    let mut map = SourceMap::new();
    let mut diags = Vec::new();
    let fleet_input = inputs.iter().find(|i| i.is_fleet);
    let fleet_parsed = fleet_input.and_then(|f| parse_input(&mut map, f, &mut diags));
    let fleet = if fleet_input.is_some() && fleet_parsed.is_none() {
        None
    } else {
        fleet::resolve(&mut map, fleet_parsed, &mut diags)
    };
    let mut sources = Vec::new();
    for input in inputs.iter().filter(|i| !i.is_fleet) {
        let mut local = Vec::new();
        if let Some((file, root)) = parse_input(&mut map, input, &mut local)
            && local.is_empty()
        {
            sources.push(PlantSource { file, root });
        }
        diags.append(&mut local);
    }
    let declared = sources
        .iter()
        .filter_map(|src| {
            let name = src.root.get("name")?.as_str()?.to_string();
            let envs = resolve::environments(src, &mut Vec::new())
                .into_iter()
                .map(|(e, _, _)| e)
                .collect();
            Some(Declared {
                file: map.file(src.file).path.clone(),
                name,
                envs,
            })
        })
        .collect();
    let mut plants = Vec::new();
    let mut platforms = Vec::new();
    if let Some(fleet) = &fleet {
        let mut names = Vec::new();
        for src in &sources {
            if let Some(k) = src
                .root
                .get("name")
                .and_then(|n| n.as_str().map(|s| (s.to_string(), n.span)))
            {
                names.push(k);
            }
            for (p, _) in resolve::resolve_plant(&map, fleet, src, &mut diags) {
                plants.push(p);
            }
        }
        rules::unique_names(&names, &mut diags);
        plants.sort_by(|a, b| {
            (&a.name.value, &a.env, &a.file).cmp(&(&b.name.value, &b.env, &b.file))
        });
        resolve::backup::shared_tenant_estimates(fleet, &mut plants);
        rules::recovery::shared_tenant_rto(&plants, &mut diags);
        rules::check_fleet(fleet, &plants, &mut diags);
        platforms = resolve_platforms(&mut map, fleet, &plants, &mut diags);
    } else {
        // Without a usable fleet nothing resolves, but each plant file's own problems (keys,
        // types, choices) are still reported in this run.
        for src in &sources {
            let _: Option<blueprint_syntax::doc::PlantDoc> =
                blueprint_syntax::decode(&src.root, &mut diags);
        }
    }
    sort_and_dedup(&mut diags, &map);
    Compilation {
        map,
        fleet,
        plants,
        platforms,
        declared,
        diagnostics: diags,
    }
}

/// Resolves the shared platform of every cluster that serves `shared` tenants. Its warnings are
/// not reported, as the fleet rules already judge the cluster's own values where the fleet file
/// wrote them. An error about a value the platform copies from the fleet (its image, modules,
/// region…) is reported where the fleet file writes that value; any other (recovery, sizing:
/// the platform cannot honour what the cluster promises for its tenants) at the cluster's
/// `recovery`, with the generated platform's line beside it.
fn resolve_platforms(
    map: &mut SourceMap,
    fleet: &fleet::Fleet,
    plants: &[ResolvedPlant],
    diags: &mut Vec<Diagnostic>,
) -> Vec<ResolvedPlant> {
    let mut platforms = Vec::new();
    for (name, cluster) in &fleet.clusters {
        let Some(generated) = resolve::platform::plant_text(fleet, name, cluster, plants) else {
            continue;
        };
        let id = map.add(resolve::platform::path(name), generated.text.clone());
        let parsed = blueprint_syntax::parse(map, id, Format::Yaml, &Limits::default());
        let mut local = parsed.diagnostics;
        if let Some(root) = parsed.root {
            let src = PlantSource { file: id, root };
            for (mut p, _) in resolve::resolve_plant(map, fleet, &src, &mut local) {
                // A top-level prefix no plant's `/pgbackrest/<plant>/<env>` can reach, so no
                // plant's IAM prefix grants access to the platform's backups.
                for r in &mut p.backup.repos {
                    r.path = format!("/pgbackrest-platform/{name}");
                }
                platforms.push(p);
            }
        }
        let promise = cluster.recovery.map_or(cluster.span, |(_, _, span)| span);
        for mut d in local
            .into_iter()
            .filter(|d| d.severity == blueprint_diagnostics::Severity::Error)
        {
            d.scopes.clear();
            let source = d.primary.as_ref().and_then(|l| generated.source_of(l.span));
            if let (Some(at), Some(label)) = (source, d.primary.as_mut()) {
                // The fleet's own value, judged as any plant's: the same finding as a tenant
                // running it reports, so the two merge.
                label.span = at;
                diags.push(d);
                continue;
            }
            d.message = format!("shared platform of cluster `{name}`: {}", d.message);
            if let Some(generated) = d.primary.take() {
                d.secondary.insert(
                    0,
                    blueprint_diagnostics::Label {
                        span: generated.span,
                        message: format!(
                            "in the platform generated from the cluster: {}",
                            generated.message
                        ),
                    },
                );
            }
            d.primary = Some(blueprint_diagnostics::Label {
                span: promise,
                message: "what the cluster's platform must honour".into(),
            });
            d.help = Some(format!(
                "change clusters.{name}.recovery in the fleet file or move shared tenants to another cluster; for the platform's own numbers: {}",
                d.help.unwrap_or_default()
            ));
            diags.push(d);
        }
    }
    platforms
}

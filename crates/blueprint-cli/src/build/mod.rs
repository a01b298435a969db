//! The build pipeline short of writing (DESIGN §6, STYLE "Data flow"): compile → lower →
//! render → verify. Any error stops at a stage boundary, and nothing here writes: the caller
//! hands the verified files to `blueprint_emit`.

mod reuse;

use blueprint_compiler::lower::{Check, IniFlavor, Ir, Output};
use blueprint_compiler::{Compilation, Input};
use blueprint_diagnostics::{Diagnostic, codes};
use blueprint_emit::{EmitError, Entry, Lock, Payload, Stager, sha256_hex};
use blueprint_render::{Contexts, Renderer};
use blueprint_verify::Verifier;
use blueprint_verify::helm::HelmSchemas;
use std::collections::BTreeMap;

/// How a build runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Render threads (0 or 1: one thread).
    pub threads: usize,
    /// A platform team's own template set (`--blueprints DIR`): (name, source).
    pub templates: Option<Vec<(String, String)>>,
    /// The output directory of a previous build: outputs whose inputs did not change since it
    /// are read from there instead of rendered again.
    pub out: Option<std::path::PathBuf>,
    /// The plants directory as the input paths begin with (`examples/quickstart/plants`).
    /// Output and lock name inputs relative to its parent (`plants/lyon.yaml`), so a tree does
    /// not depend on where the directory is or how it was named on the command line.
    pub dir: Option<String>,
}

impl Options {
    /// An input path as output and the lock show it: `<last component of DIR>/<relative>`.
    #[must_use]
    pub fn source_path(&self, path: &str) -> String {
        let Some(dir) = &self.dir else {
            return path.to_string();
        };
        let dir = dir.trim_end_matches('/');
        let name = dir
            .rsplit('/')
            .find(|c| !c.is_empty() && *c != "." && *c != "..")
            .unwrap_or("plants");
        match path.strip_prefix(dir).and_then(|r| r.strip_prefix('/')) {
            Some(rel) => format!("{name}/{rel}"),
            None => path.to_string(),
        }
    }
}

/// The outcome of a build up to, not including, writing.
#[derive(Debug)]
pub struct Built {
    /// The compilation (source map, findings of check).
    pub compilation: Compilation,
    /// The IR, when the plants compiled without errors.
    pub ir: Option<Ir>,
    /// Rendered, verified files by path, when the build keeps them ([`build`]; the command
    /// streams them to a [`Stager`] instead): empty when anything failed.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Every file as the plan needs it (hash, what is on disk, where it is staged).
    pub entries: BTreeMap<String, Entry>,
    /// The lock to write with them (its `files` are filled in by the plan).
    pub lock: Lock,
    /// Reading OUT or staging failed (exit 2).
    pub io_error: Option<EmitError>,
}

impl Built {
    /// Whether anything stops the build (findings of severity error, BP9xxx included).
    #[must_use]
    pub fn failed(&self) -> bool {
        self.compilation.has_errors()
    }
}

/// `blueprint <version>`: the generator recorded in the lock.
#[must_use]
pub fn generator() -> String {
    format!("blueprint {}", env!("CARGO_PKG_VERSION"))
}

fn internal(code: blueprint_diagnostics::Code, message: String) -> Diagnostic {
    Diagnostic::new(code, message)
        .help("fix the template; with the embedded templates, report it as a blueprint bug")
}

/// Compiles, lowers, renders and verifies. Findings of every stage are in
/// `compilation.diagnostics`; `files` is empty unless all of them passed.
#[must_use]
pub fn build(inputs: &[Input], options: &Options) -> Built {
    build_inner(inputs, options, true, None)
}

/// [`build`] for the command: files are not kept in memory but compared with OUT as they are
/// rendered and, when they differ, staged with `stager` (nothing is staged without one, as for
/// `build --check`). The whole tree never sits in memory.
#[must_use]
pub fn build_into(inputs: &[Input], options: &Options, stager: Option<&Stager>) -> Built {
    build_inner(inputs, options, false, stager)
}

fn build_inner(inputs: &[Input], options: &Options, keep: bool, stager: Option<&Stager>) -> Built {
    let mut compilation = blueprint_compiler::compile(inputs);
    let mut lock = Lock {
        version: blueprint_emit::LOCK_VERSION,
        generator: generator(),
        inputs: inputs
            .iter()
            .map(|i| (options.source_path(&i.path), sha256_hex(&i.bytes)))
            .collect(),
        files: BTreeMap::new(),
        models: BTreeMap::new(),
        keys: BTreeMap::new(),
    };
    // Output names a plant file relative to the plants directory's parent, wherever it is.
    for p in &mut compilation.plants {
        p.file = options.source_path(&p.file);
    }
    let ir = match &compilation.fleet {
        Some(fleet) if !compilation.has_errors() => {
            blueprint_compiler::lower::lower(fleet, &compilation.plants, &compilation.platforms)
        }
        _ => {
            return Built {
                compilation,
                ir: None,
                files: BTreeMap::new(),
                entries: BTreeMap::new(),
                lock,
                io_error: None,
            };
        }
    };
    let Rendered {
        mut files,
        mut entries,
        keys,
        findings,
        io_error,
    } = render_verify_stage(&ir, options, keep, stager);
    compilation.diagnostics.extend(findings);
    lock.keys = keys;
    lock.models = intent_models(&compilation, &ir, options);
    if compilation.has_errors() {
        files.clear();
        entries.clear();
    }
    Built {
        compilation,
        ir: Some(ir),
        files,
        entries,
        lock,
        io_error,
    }
}

/// The resolved model of every plant environment and shared platform as `explain` shows it
/// (field, value, origin), by output directory: what `diff` compares when it has no git base.
/// Paths in origins are named as the lock names inputs ([`Options::source_path`]).
fn intent_models(
    compilation: &blueprint_compiler::Compilation,
    ir: &blueprint_compiler::lower::Ir,
    options: &Options,
) -> BTreeMap<String, blueprint_emit::Model> {
    let resolved = compilation.plants.iter().chain(&compilation.platforms);
    let mut models = BTreeMap::new();
    for p in resolved {
        let Some(ctx) = ir
            .plants
            .iter()
            .find(|c| c.name == p.name.value && c.env == p.env && c.file == p.file)
        else {
            continue;
        };
        let mut model = blueprint_compiler::review::EnvModel::of(&compilation.map, p);
        for row in &mut model.rows {
            if let Some(loc) = &mut row.location {
                let shown = options.source_path(&loc.file);
                row.from = row.from.replace(loc.file.as_str(), &shown);
                loc.file = shown;
            }
        }
        if let Some(m) = blueprint_emit::Model::from_json(model.to_lock_json()) {
            models.insert(ctx.dir.clone(), m);
        }
    }
    models
}

/// Every output rendered and verified.
#[derive(Debug, Default)]
pub struct Rendered {
    /// The verified files by path (those that failed are left out), when kept.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Every verified file as the plan needs it.
    pub entries: BTreeMap<String, Entry>,
    /// Reading OUT or staging failed.
    pub io_error: Option<EmitError>,
    /// The key of every file (what it was rendered from), for the lock.
    pub keys: BTreeMap<String, String>,
    /// BP9xxx findings.
    pub findings: Vec<Diagnostic>,
}

/// What rendering one output gave: its text, or the findings that stop the build.
type Outcome = Result<String, Vec<Diagnostic>>;

/// One output rendered (or reused), hashed, compared with OUT and staged where it differs.
struct Produced {
    entry: Entry,
    bytes: Option<Vec<u8>>,
}

/// Renders and verifies one output.
fn render_one(
    renderer: &Renderer,
    contexts: &Contexts,
    verifiers: &Verifiers,
    output: &Output,
) -> Outcome {
    let text = renderer.render_output(contexts, output).map_err(|e| {
        vec![internal(
            codes::TEMPLATE_FAILED,
            format!("template {} for {}: {}", e.template, output.path, e.message),
        )]
    })?;
    let problems = verify(verifiers, output, &text);
    if problems.is_empty() {
        Ok(text)
    } else {
        Err(problems
            .into_iter()
            .map(|p| {
                internal(
                    codes::OUTPUT_INVALID,
                    format!("{} (template {}): {p}", output.path, output.template),
                )
            })
            .collect())
    }
}

/// Runs `f` over `items` on up to `threads` threads; results in the order of `items`.
fn parallel<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads.clamp(1, 64);
    if threads == 1 || items.len() < 64 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(f).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// Renders every output and verifies each rendered file, keeping the files in memory.
#[must_use]
pub fn render_and_verify(ir: &Ir, options: &Options) -> Rendered {
    render_verify_stage(ir, options, true, None)
}

/// Renders every output and verifies each rendered file, then hashes it, compares it with
/// OUT and stages it with `stager` when it differs; `keep` keeps the bytes too. Outputs whose
/// key (template set and context digest) and file on disk are what the previous build
/// recorded in `options.out`'s lock are taken from disk instead (see `reuse`).
fn render_verify_stage(
    ir: &Ir,
    options: &Options,
    keep: bool,
    stager: Option<&Stager>,
) -> Rendered {
    let mut findings = Vec::new();
    let templates: Vec<(&str, &str)> = match &options.templates {
        Some(set) => set.iter().map(|(n, s)| (n.as_str(), s.as_str())).collect(),
        None => blueprint_render::EMBEDDED.to_vec(),
    };
    let renderer = match Renderer::with_templates(templates.iter().copied()) {
        Ok(r) => r,
        Err(errors) => {
            for e in errors {
                findings.push(internal(codes::TEMPLATE_FAILED, e.to_string()));
            }
            return Rendered {
                findings,
                ..Rendered::default()
            };
        }
    };
    let verifiers = match Verifiers::new() {
        Ok(v) => v,
        Err(e) => {
            findings.push(internal(codes::INTERNAL, e));
            return Rendered {
                findings,
                ..Rendered::default()
            };
        }
    };
    let keys = reuse::keys(ir, &templates);
    let previous = reuse::Previous::read(options.out.as_deref());
    let contexts = Contexts::new(ir);
    let indices: Vec<usize> = (0..ir.outputs.len()).collect();
    let produce = |i: usize| -> Result<Result<Produced, Vec<Diagnostic>>, EmitError> {
        let output = &ir.outputs[i];
        let (bytes, sha, disk) = match previous.bytes(&output.path, &keys[i]) {
            // Reused: the file in OUT has the sha256 the lock recorded, which is this one.
            Some((bytes, sha)) => {
                let disk = Some(Some(sha.clone()));
                (bytes, sha, disk)
            }
            None => match render_one(&renderer, &contexts, &verifiers, output) {
                Ok(text) => {
                    let disk = match &options.out {
                        Some(out) => Some(blueprint_emit::file_sha(&out.join(&output.path))?),
                        None => None,
                    };
                    let bytes = text.into_bytes();
                    let sha = sha256_hex(&bytes);
                    (bytes, sha, disk)
                }
                Err(f) => return Ok(Err(f)),
            },
        };
        // Staged only when it differs from OUT; a kept build hands its bytes to the caller.
        let payload = match stager {
            Some(st) if disk.as_ref() != Some(&Some(sha.clone())) => {
                let name = format!("o{i}");
                st.stage(&name, &bytes)?;
                Some(Payload::Staged(name))
            }
            _ => None,
        };
        Ok(Ok(Produced {
            entry: Entry { sha, disk, payload },
            bytes: keep.then_some(bytes),
        }))
    };
    let outcomes = parallel(&indices, options.threads, |&i| produce(i));
    let mut rendered = Rendered::default();
    for ((output, outcome), key) in ir.outputs.iter().zip(outcomes).zip(keys) {
        if rendered.entries.contains_key(&output.path) {
            findings.push(internal(
                codes::INTERNAL,
                format!("two outputs are written to {}", output.path),
            ));
            continue;
        }
        match outcome {
            Err(e) => {
                rendered.io_error.get_or_insert(e);
            }
            Ok(Err(mut f)) => findings.append(&mut f),
            Ok(Ok(p)) => {
                if let Some(bytes) = p.bytes {
                    rendered.files.insert(output.path.clone(), bytes);
                }
                rendered.keys.insert(output.path.clone(), key);
                rendered.entries.insert(output.path.clone(), p.entry);
            }
        }
    }
    rendered.findings = findings;
    rendered
}

/// The deletions of a plan that destroy state beyond a file — a Namespace, a
/// PersistentVolumeClaim, a PostgresCluster, a backup bucket's Terraform — which `build`
/// refuses without `--allow-destroy` (a removed plant's data goes after a verified final
/// backup, not by sync).
#[must_use]
pub fn stateful_deletions(plan: &blueprint_emit::Plan) -> Vec<&str> {
    plan.delete
        .iter()
        .map(String::as_str)
        .filter(|path| {
            let file = path.rsplit('/').next().unwrap_or(path);
            file == "namespace.yaml"
                || file.starts_with("persistentvolumeclaim-")
                || file.starts_with("postgrescluster-")
                || path.starts_with("terraform/backup/")
                || path.starts_with("terraform/modules/backup-bucket/")
        })
        .collect()
}

/// Files under OUT's generated top-level directories (those holding a generated file:
/// `argocd/`, `clusters/`, `plants/`, `runbooks/`, `terraform/`) that this build does not
/// generate, hidden entries aside: Argo CD and Terraform would apply them as if they were the
/// plants' (`build --check` fails on them, `build` leaves them and warns). Files at OUT's top
/// level (a README) and hidden entries are the repository's.
pub fn strays(
    out: &std::path::Path,
    generated: &BTreeMap<String, Entry>,
) -> Result<Vec<String>, blueprint_emit::EmitError> {
    let tops: std::collections::BTreeSet<&str> = generated
        .keys()
        .filter_map(|p| p.split_once('/').map(|(top, _)| top))
        .collect();
    let mut strays = Vec::new();
    let mut dirs: Vec<String> = tops.iter().map(|t| (*t).to_string()).collect();
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(out.join(&dir)) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(blueprint_emit::EmitError::Io {
                    action: "cannot read",
                    path: out.join(&dir),
                    source: e,
                });
            }
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = format!("{dir}/{name}");
            match entry.file_type() {
                Ok(t) if t.is_dir() => dirs.push(path),
                Ok(_) if !generated.contains_key(&path) => strays.push(path),
                _ => {}
            }
        }
    }
    strays.sort();
    Ok(strays)
}

/// Problems every output format shares: LF endings, one final newline, no NUL, no trailing
/// whitespace (the HCL check reports these itself, at their line).
fn layout(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if text.contains('\r') {
        problems.push("contains a carriage return (outputs use LF endings)".to_string());
    }
    if text.contains('\0') {
        problems.push("contains a NUL byte".to_string());
    }
    if !text.ends_with('\n') || text.ends_with("\n\n") {
        problems.push("does not end with exactly one newline".to_string());
    }
    if let Some((n, _)) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.ends_with(' ') || l.ends_with('\t'))
    {
        problems.push(format!("line {}: trailing whitespace", n + 1));
    }
    problems
}

/// The compiled schemas every rendered file is judged with.
pub struct Verifiers {
    kubernetes: Verifier,
    helm: HelmSchemas,
}

impl Verifiers {
    /// Compiles the vendored Kubernetes, CRD and Helm chart schemas.
    pub fn new() -> Result<Self, String> {
        Ok(Self {
            kubernetes: Verifier::new()?,
            helm: HelmSchemas::new()?,
        })
    }
}

/// Every problem of one rendered file, judged as its output says.
#[must_use]
pub fn verify(verifiers: &Verifiers, output: &Output, text: &str) -> Vec<String> {
    let mut problems = match output.check {
        Check::Hcl => Vec::new(),
        _ => layout(text),
    };
    match &output.check {
        Check::Kubernetes => problems.extend(verifiers.kubernetes.verify_yaml(&output.path, text)),
        Check::HelmValues { chart } => problems.extend(verifiers.helm.verify(chart, text)),
        Check::Ini { flavor, intended } => {
            let flavor = match flavor {
                IniFlavor::Odoo => blueprint_verify::ini::Flavor::Odoo,
                IniFlavor::PgBackRest => blueprint_verify::ini::Flavor::PgBackRest,
            };
            problems.extend(blueprint_verify::ini::verify(text, flavor, intended));
        }
        Check::Hcl => problems.extend(blueprint_verify::hcl::verify(text)),
        Check::Markdown => {}
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_deletions_of_stateful_objects_need_allow_destroy() {
        let plan = blueprint_emit::Plan {
            delete: [
                "plants/lyon/staging/kubernetes/namespace.yaml",
                "plants/lyon/staging/kubernetes/persistentvolumeclaim-odoo-filestore.yaml",
                "plants/lyon/staging/kubernetes/postgrescluster-postgres.yaml",
                "terraform/backup/eu-west-3/main.tf",
                "terraform/modules/backup-bucket/main.tf",
                "plants/lyon/staging/kubernetes/deployment-odoo-web.yaml",
                "plants/lyon/staging/kubernetes/cronjob-filestore-backup.yaml",
                "terraform/plants/lyon/staging/main.tf",
                "runbooks/lyon.md",
            ]
            .map(String::from)
            .to_vec(),
            ..blueprint_emit::Plan::default()
        };
        assert_eq!(
            stateful_deletions(&plan),
            [
                "plants/lyon/staging/kubernetes/namespace.yaml",
                "plants/lyon/staging/kubernetes/persistentvolumeclaim-odoo-filestore.yaml",
                "plants/lyon/staging/kubernetes/postgrescluster-postgres.yaml",
                "terraform/backup/eu-west-3/main.tf",
                "terraform/modules/backup-bucket/main.tf",
            ]
        );
    }
}

//! The CI recipes of docs/ci.md, `examples/ci/github-actions.yml` and `examples/ci/gitlab-ci.yml`,
//! run as their forge would run them on a pull request: each file is read with blueprint's own
//! strict YAML parser, the shell of every step (GitHub) or job (GitLab) is taken from it with
//! the forge's variables and `if`/`rules` of a pull-request event, and run with `bash -euo
//! pipefail` in a clone of a scratch `origin` whose `main` holds the manufacturing-group plants,
//! their built `gitops/` tree and the CODEOWNERS file, on a pull-request branch, with the
//! `blueprint` under test first on PATH. Only the install step and the comment-posting step are
//! not run (they need the network and the forge's API); shellcheck reads them all.
//!
//! Four pull requests per forge: (a) a plant change with its rebuilt tree and CODEOWNERS passes
//! and the diff names it; (b) a plant change without its tree and (c) a hand edit of a
//! generated file fail `build --check`; (d) a change of a plant's owning team without
//! CODEOWNERS fails the owners step.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    missing_docs
)]

mod common;

use common::{Scratch, copy_dir, edit, git, root, run};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forge {
    GitHub,
    GitLab,
}

/// What a step of a recipe is for, from the blueprint command it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Check,
    BuildCheck,
    Owners,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failed,
    NotRun,
}

/// One shell script the forge runs: a GitHub step or a GitLab job.
struct Unit {
    name: String,
    kind: Kind,
    script: String,
    /// The recipe's own variables (`env:`, `variables:`), expressions substituted.
    env: Vec<(String, String)>,
    /// Units of one group run whatever their neighbours do (a GitLab stage); a failure stops
    /// every later group (each GitHub step is its own group).
    group: usize,
}

struct Recipe {
    forge: Forge,
    units: Vec<Unit>,
    /// The install and comment-posting scripts: not run, but shellchecked.
    not_run: Vec<(String, String)>,
    /// Where the recipe keeps CODEOWNERS, from its `git diff --exit-code -- PATH`.
    codeowners: String,
    /// The file the diff step writes and the posting step reads.
    diff_file: String,
}

const INSTALL_STEP: &str = "install-blueprint";
const GITHUB_POST_STEP: &str = "post-blueprint-diff";
const GITLAB_TEMPLATE: &str = ".blueprint";
const GITLAB_POST_JOB: &str = "blueprint-diff-comment";

/// Parses a recipe with blueprint's strict YAML reader (YAML 1.2, no anchors, no YAML 1.1
/// look-alikes such as `on`/`yes` as values), so GitHub's parser and GitLab's (YAML 1.1)
/// read it alike.
fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    let mut map = blueprint_diagnostics::SourceMap::new();
    let id = map.add(path.to_string_lossy(), text);
    let parsed = blueprint_syntax::parse(
        &map,
        id,
        blueprint_syntax::Format::Yaml,
        &blueprint_syntax::Limits::default(),
    );
    assert!(
        parsed.diagnostics.is_empty(),
        "{}",
        blueprint_diagnostics::render_human(&map, &parsed.diagnostics, false)
    );
    parsed.root.unwrap().to_json()
}

fn kind_of(name: &str, script: &str) -> Kind {
    let kinds: Vec<Kind> = [
        ("blueprint check ", Kind::Check),
        ("blueprint build ", Kind::BuildCheck),
        ("blueprint review-owners ", Kind::Owners),
        ("blueprint diff ", Kind::Diff),
    ]
    .into_iter()
    .filter(|(command, _)| script.contains(command))
    .map(|(_, k)| k)
    .collect();
    assert_eq!(
        kinds.len(),
        1,
        "{name}: one blueprint command per step\n{script}"
    );
    if kinds[0] == Kind::BuildCheck {
        assert!(script.contains(" --check"), "{name}: build runs --check");
    }
    kinds[0]
}

/// The word after `marker` in `script`.
fn word_after<'a>(script: &'a str, marker: &str, what: &str) -> &'a str {
    let at = script
        .find(marker)
        .unwrap_or_else(|| panic!("{what}: `{marker}` not found in\n{script}"));
    script[at + marker.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches(';')
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Null => Vec::new(),
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
        _ => panic!("not a string or list: {v}"),
    }
}

fn vars(v: &Value) -> Vec<(String, String)> {
    v.as_object().map_or_else(Vec::new, |m| {
        m.iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), v)
            })
            .collect()
    })
}

// ---------------------------------------------------------------------------------------------
// GitHub Actions

/// `${{ EXPR }}` of a same-repository pull request into `main`.
fn github_expr(expr: &str) -> Option<&'static str> {
    Some(match expr {
        "github.event_name" => "pull_request",
        "github.base_ref" => "main",
        "github.ref" => "refs/pull/1/merge",
        "github.repository" | "github.event.pull_request.head.repo.full_name" => {
            "hexacore/erp-gitops"
        }
        "github.event.pull_request.number" => "1",
        "github.token" => "ghs_test_token",
        _ => return None,
    })
}

/// `text` with each `${{ EXPR }}` replaced; an expression the table does not know fails the
/// test when `strict` (a step that runs), and is `x` otherwise.
fn github_substitute(text: &str, strict: bool) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("closed expression") + start;
        let expr = rest[start + 3..end].trim();
        match github_expr(expr) {
            Some(value) => out.push_str(value),
            None if !strict => out.push('x'),
            None => panic!("unknown expression `{expr}`: add it to github_expr"),
        }
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// An `if:` of `A == B` terms joined by `&&`, each side an expression or a quoted literal.
fn github_if(condition: &str) -> bool {
    let condition = condition.trim();
    let condition = condition
        .strip_prefix("${{")
        .and_then(|c| c.strip_suffix("}}"))
        .unwrap_or(condition);
    condition.split("&&").all(|term| {
        let (a, b) = term
            .split_once("==")
            .unwrap_or_else(|| panic!("unsupported if: {condition}"));
        let side = |s: &str| -> String {
            let s = s.trim();
            match s.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
                Some(literal) => literal.to_string(),
                None => github_expr(s)
                    .unwrap_or_else(|| panic!("unknown expression `{s}`"))
                    .to_string(),
            }
        };
        side(a) == side(b)
    })
}

fn github_recipe() -> Recipe {
    let doc = yaml(&root().join("examples/ci/github-actions.yml"));
    // `shell: bash` is what makes GitHub add pipefail (`bash --noprofile --norc -eo pipefail`).
    assert_eq!(doc["defaults"]["run"]["shell"], "bash");
    assert!(
        doc["on"].get("pull_request").is_some(),
        "runs on pull requests"
    );
    assert_eq!(doc["permissions"], serde_json::json!({"contents": "read"}));
    let workflow_env = vars(&doc["env"]);
    let mut units = Vec::new();
    let mut not_run = Vec::new();
    let mut post: Option<String> = None;
    let mut uploads: Vec<(String, String)> = Vec::new();
    let mut downloads: Vec<String> = Vec::new();
    let mut checkout = false;
    let mut jobs_seen: Vec<&str> = Vec::new();
    for (job_id, job) in doc["jobs"].as_object().unwrap() {
        // File order is run order: a job needs only jobs before it.
        for need in strings(&job["needs"]) {
            assert!(jobs_seen.contains(&need.as_str()), "{job_id} needs {need}");
        }
        jobs_seen.push(job_id);
        assert!(
            job["permissions"].is_object(),
            "{job_id}: its own permissions"
        );
        if let Some(condition) = job["if"].as_str() {
            assert!(github_if(condition), "{job_id} runs on a pull request");
        }
        let job_env = vars(&job["env"]);
        for step in job["steps"].as_array().unwrap() {
            let id = step["id"].as_str();
            let name = step["name"]
                .as_str()
                .or(id)
                .or(step["uses"].as_str())
                .unwrap()
                .to_string();
            if let Some(uses) = step["uses"].as_str() {
                let with = &step["with"];
                let action = uses.split('@').next().unwrap();
                match action {
                    "actions/checkout" => {
                        // Full history, so that origin/<base branch> exists.
                        assert_eq!(with["fetch-depth"], 0, "{name}");
                        checkout = true;
                    }
                    "actions/upload-artifact" => uploads.push((
                        with["name"].as_str().unwrap().to_string(),
                        with["path"].as_str().unwrap().to_string(),
                    )),
                    "actions/download-artifact" => {
                        downloads.push(with["name"].as_str().unwrap().to_string());
                    }
                    _ => panic!("{name}: an action this test does not know: {uses}"),
                }
                continue;
            }
            let script = step["run"].as_str().unwrap();
            if id == Some(INSTALL_STEP) || id == Some(GITHUB_POST_STEP) {
                if id == Some(GITHUB_POST_STEP) {
                    assert_eq!(
                        job["permissions"],
                        serde_json::json!({"pull-requests": "write"}),
                        "{job_id}: the posting job may write to the pull request, nothing else"
                    );
                    post = Some(script.to_string());
                }
                not_run.push((name, github_substitute(script, false)));
                continue;
            }
            if let Some(condition) = step["if"].as_str() {
                assert!(
                    github_if(condition),
                    "{name} runs on a pull request: {condition}"
                );
            }
            let env = workflow_env
                .iter()
                .chain(&job_env)
                .chain(&vars(&step["env"]))
                .map(|(k, v)| (k.clone(), github_substitute(v, true)))
                .collect();
            let kind = kind_of(&name, script);
            if kind == Kind::Diff {
                // On a push to main there is nothing to compare with: the diff is for pull
                // requests only.
                assert!(
                    step["if"]
                        .as_str()
                        .is_some_and(|c| c.contains("github.event_name == 'pull_request'")),
                    "{name}"
                );
            }
            units.push(Unit {
                group: units.len(),
                name,
                kind,
                script: github_substitute(script, true),
                env,
            });
        }
    }
    assert!(checkout, "the workflow checks out the repository");
    assert_eq!(
        not_run.len(),
        2,
        "one install step `{INSTALL_STEP}`, one posting step `{GITHUB_POST_STEP}`"
    );
    assert_eq!(
        doc["jobs"]["blueprint"]["permissions"],
        serde_json::json!({"contents": "read"}),
        "the job that runs blueprint on the pull request's files cannot write"
    );
    let diff = units.iter().find(|u| u.kind == Kind::Diff).unwrap();
    let diff_file = word_after(&diff.script, "--format markdown > ", &diff.name).to_string();
    // The posting job reads exactly the file the diff step writes, through the artifact.
    assert_eq!(uploads.len(), 1);
    assert_eq!(
        uploads[0].1, diff_file,
        "the artifact is the diff step's file"
    );
    assert_eq!(downloads, [uploads[0].0.clone()]);
    let post = post.unwrap();
    assert!(
        post.contains(&format!("cat {diff_file};")) || post.contains(&format!("cat {diff_file}\n")),
        "the posting step reads {diff_file}:\n{post}"
    );
    let owners = units.iter().find(|u| u.kind == Kind::Owners).unwrap();
    let codeowners = word_after(&owners.script, "git diff --exit-code -- ", &owners.name);
    Recipe {
        forge: Forge::GitHub,
        codeowners: codeowners.to_string(),
        diff_file,
        units,
        not_run,
    }
}

// ---------------------------------------------------------------------------------------------
// GitLab CI

/// The predefined variables of a merge request pipeline into `main` (CI_COMMIT_BRANCH is not
/// set in merge request pipelines).
const GITLAB_VARS: &[(&str, &str)] = &[
    ("CI", "true"),
    ("GITLAB_CI", "true"),
    ("CI_PIPELINE_SOURCE", "merge_request_event"),
    ("CI_DEFAULT_BRANCH", "main"),
    ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main"),
    ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "pr"),
    ("CI_MERGE_REQUEST_IID", "1"),
    ("CI_PROJECT_ID", "1"),
    ("CI_API_V4_URL", "https://gitlab.invalid/api/v4"),
];

/// A `rules: - if:` of `$A == "b"` or `$A == $B` terms joined by `&&`.
fn gitlab_if(condition: &str) -> bool {
    condition.split("&&").all(|term| {
        let (a, b) = term
            .split_once("==")
            .unwrap_or_else(|| panic!("unsupported rule: {condition}"));
        let side = |s: &str| -> Option<String> {
            let s = s.trim();
            match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                Some(literal) => Some(literal.to_string()),
                None => {
                    let name = s.strip_prefix('$').expect("a variable");
                    GITLAB_VARS
                        .iter()
                        .find(|(k, _)| *k == name)
                        .map(|(_, v)| v.to_string())
                }
            }
        };
        side(a) == side(b)
    })
}

/// Whether `rules` let a job (or the pipeline) run in a merge request pipeline.
fn gitlab_runs(rules: &Value) -> bool {
    match rules.as_array() {
        None => true,
        Some(rules) => rules.iter().any(|r| {
            assert!(
                r.as_object().unwrap().keys().all(|k| k == "if"),
                "only `if` rules: {r}"
            );
            gitlab_if(r["if"].as_str().unwrap())
        }),
    }
}

fn gitlab_script(v: &Value) -> String {
    strings(v).join("\n")
}

fn gitlab_recipe() -> Recipe {
    let doc = yaml(&root().join("examples/ci/gitlab-ci.yml"));
    const KEYWORDS: &[&str] = &[
        "workflow",
        "stages",
        "variables",
        "default",
        "include",
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
    ];
    for k in ["default", "include", "before_script", "after_script"] {
        assert!(
            doc.get(k).is_none(),
            "no global {k}: the test would not see it"
        );
    }
    assert!(
        gitlab_runs(&doc["workflow"]["rules"]),
        "merge request pipelines run"
    );
    let global = vars(&doc["variables"]);
    assert!(
        global.contains(&("GIT_DEPTH".to_string(), "0".to_string())),
        "full history"
    );
    let stages = strings(&doc["stages"]);
    let template = doc[GITLAB_TEMPLATE]
        .as_object()
        .expect("the .blueprint template");
    let mut units = Vec::new();
    let mut not_run = vec![(
        format!("{GITLAB_TEMPLATE} before_script"),
        gitlab_script(&template["before_script"]),
    )];
    let mut post = None;
    for (name, job) in doc.as_object().unwrap() {
        if KEYWORDS.contains(&name.as_str()) || name.starts_with('.') {
            continue;
        }
        let job = job.as_object().unwrap();
        for k in ["before_script", "after_script"] {
            assert!(!job.contains_key(k), "{name}: {k} is not run by this test");
        }
        let extends = strings(job.get("extends").unwrap_or(&Value::Null));
        assert!(
            extends.iter().all(|e| e == GITLAB_TEMPLATE),
            "{name}: extends only {GITLAB_TEMPLATE}"
        );
        let base = if extends.is_empty() {
            serde_json::Map::new()
        } else {
            template.clone()
        };
        let get = |k: &str| job.get(k).or(base.get(k)).unwrap_or(&Value::Null);
        if !gitlab_runs(get("rules")) {
            continue;
        }
        let stage = get("stage").as_str().expect("a stage");
        let group = stages
            .iter()
            .position(|s| s == stage)
            .expect("a listed stage");
        let script = gitlab_script(get("script"));
        if name == GITLAB_POST_JOB {
            assert!(extends.is_empty(), "{name} installs what it needs itself");
            post = Some((strings(get("needs")), script.clone()));
            not_run.push((name.clone(), script));
            continue;
        }
        let env = global
            .iter()
            .chain(&vars(base.get("variables").unwrap_or(&Value::Null)))
            .chain(&vars(job.get("variables").unwrap_or(&Value::Null)))
            .cloned()
            .collect();
        units.push(Unit {
            kind: kind_of(name, &script),
            name: name.clone(),
            script,
            env,
            group,
        });
    }
    units.sort_by_key(|u| u.group);
    let diff = units.iter().find(|u| u.kind == Kind::Diff).unwrap();
    let diff_file = word_after(&diff.script, "--format markdown > ", &diff.name).to_string();
    let diff_job = &doc[diff.name.as_str()];
    assert_eq!(
        strings(&diff_job["artifacts"]["paths"]),
        std::slice::from_ref(&diff_file),
        "the diff job keeps its file for the posting job"
    );
    let (needs, post) = post.expect("the posting job");
    assert_eq!(
        needs,
        std::slice::from_ref(&diff.name),
        "the posting job gets the diff job's file"
    );
    assert!(
        post.contains(&format!("cat {diff_file};")) || post.contains(&format!("cat {diff_file}\n")),
        "the posting job reads {diff_file}:\n{post}"
    );
    let owners = units.iter().find(|u| u.kind == Kind::Owners).unwrap();
    let codeowners = word_after(&owners.script, "git diff --exit-code -- ", &owners.name);
    Recipe {
        forge: Forge::GitLab,
        codeowners: codeowners.to_string(),
        diff_file,
        units,
        not_run,
    }
}

// ---------------------------------------------------------------------------------------------
// The scratch repositories

fn build(dir: &Path) {
    let (code, _, err) = run(&["build", "plants", "--out", "gitops"], dir);
    assert_eq!(code, 0, "{err}");
}

/// The CODEOWNERS file of the repository as docs/ci.md says to write it: review-owners with
/// `--prefix gitops`, so its paths are the repository's; then every path it names must exist.
fn write_codeowners(dir: &Path, path: &str) {
    let (code, text, err) = run(&["review-owners", "plants", "--prefix", "gitops"], dir);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("\n/gitops/plants/"), "{text}");
    let file = dir.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, &text).unwrap();
    for pattern in text.lines().filter_map(|l| l.strip_prefix('/')) {
        let pattern = pattern.split_whitespace().next().unwrap();
        assert!(
            dir.join(pattern.trim_end_matches('/')).exists(),
            "{path}: /{pattern} names nothing in the repository"
        );
    }
}

/// A bare `origin` whose `main` holds the example's plants, their tree and CODEOWNERS, and a
/// `bin/` with the blueprint under test.
fn origin(recipe: &Recipe) -> Scratch {
    let s = Scratch::new(match recipe.forge {
        Forge::GitHub => "ci-github",
        Forge::GitLab => "ci-gitlab",
    });
    let seed = s.path().join("seed");
    copy_dir(
        &root().join("examples/manufacturing-group/plants"),
        &seed.join("plants"),
    );
    build(&seed);
    write_codeowners(&seed, &recipe.codeowners);
    git(&seed, &["init", "-q", "-b", "main"]);
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "-q", "-m", "fleet"]);
    git(
        s.path(),
        &["init", "-q", "--bare", "-b", "main", "origin.git"],
    );
    git(&seed, &["push", "-q", "../origin.git", "main"]);
    std::fs::remove_dir_all(&seed).unwrap();
    let bin = s.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_blueprint"), bin.join("blueprint")).unwrap();
    std::fs::create_dir_all(s.path().join("home")).unwrap();
    s
}

/// A clone of `origin` on a new branch `pr`. GitHub's checkout with `fetch-depth: 0` fetches
/// every branch; GitLab's fetches the merge request's own, so its recipe has to fetch the
/// target branch itself: the clone forgets `origin/main`.
fn pull_request(recipe: &Recipe, s: &Scratch, name: &str) -> PathBuf {
    git(s.path(), &["clone", "-q", "origin.git", name]);
    let dir = s.path().join(name);
    git(&dir, &["checkout", "-q", "-b", "pr"]);
    if recipe.forge == Forge::GitLab {
        git(&dir, &["remote", "set-head", "origin", "--delete"]);
        git(&dir, &["update-ref", "-d", "refs/remotes/origin/main"]);
    }
    dir
}

fn commit(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
}

// ---------------------------------------------------------------------------------------------
// Running a recipe

struct Ran {
    kind: Kind,
    outcome: Outcome,
    output: String,
}

/// Runs each unit's script as the forge would on a pull request in `dir`: `bash -euo
/// pipefail`, the forge's variables and the recipe's, blueprint under test first on PATH, a
/// failure stopping every later group.
fn run_recipe(recipe: &Recipe, s: &Scratch, dir: &Path) -> Vec<Ran> {
    let case = dir.file_name().unwrap().to_string_lossy().into_owned();
    let summary = s.path().join(format!("{case}-summary.md"));
    let forge_env: Vec<(String, String)> = match recipe.forge {
        Forge::GitHub => [
            ("CI", "true"),
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_BASE_REF", "main"),
            ("GITHUB_HEAD_REF", "pr"),
            ("GITHUB_REF", "refs/pull/1/merge"),
            ("GITHUB_REPOSITORY", "hexacore/erp-gitops"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([
            (
                "GITHUB_STEP_SUMMARY".to_string(),
                summary.to_string_lossy().into_owned(),
            ),
            (
                "GITHUB_WORKSPACE".to_string(),
                dir.to_string_lossy().into_owned(),
            ),
        ])
        .collect(),
        Forge::GitLab => GITLAB_VARS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    let path = format!(
        "{}:{}",
        s.path().join("bin").display(),
        std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())
    );
    let mut stopped_after: Option<usize> = None;
    let mut ran = Vec::new();
    for (i, unit) in recipe.units.iter().enumerate() {
        if stopped_after.is_some_and(|g| unit.group > g) {
            ran.push(Ran {
                kind: unit.kind,
                outcome: Outcome::NotRun,
                output: String::new(),
            });
            continue;
        }
        let script = s.path().join(format!("{case}-{i}.sh"));
        std::fs::write(&script, &unit.script).unwrap();
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-euo", "pipefail"])
            .arg(&script)
            .current_dir(dir)
            .env_clear()
            .env("PATH", &path)
            .env("HOME", s.path().join("home"))
            .env("LANG", "C.UTF-8")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .envs(forge_env.iter().cloned())
            .envs(unit.env.iter().cloned())
            .stdin(Stdio::null())
            .output()
            .expect("bash runs");
        let output = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let outcome = if out.status.success() {
            Outcome::Passed
        } else {
            stopped_after.get_or_insert(unit.group);
            Outcome::Failed
        };
        ran.push(Ran {
            kind: unit.kind,
            outcome,
            output,
        });
    }
    ran
}

fn report(recipe: &Recipe, ran: &[Ran]) -> String {
    recipe
        .units
        .iter()
        .zip(ran)
        .map(|(u, r)| {
            format!(
                "--- {} ({:?}): {:?}\n{}",
                u.name, u.kind, r.outcome, r.output
            )
        })
        .collect()
}

fn outcome(ran: &[Ran], kind: Kind) -> &Ran {
    ran.iter().find(|r| r.kind == kind).unwrap()
}

/// `failing` failed and nothing else did, the checks before it passed, and the diff did not run.
fn assert_fails_at(recipe: &Recipe, ran: &[Ran], failing: Kind, says: &str) {
    let report = report(recipe, ran);
    let failed: Vec<Kind> = ran
        .iter()
        .filter(|r| r.outcome == Outcome::Failed)
        .map(|r| r.kind)
        .collect();
    assert_eq!(failed, [failing], "{report}");
    assert!(outcome(ran, failing).output.contains(says), "{report}");
    assert_eq!(
        outcome(ran, Kind::Check).outcome,
        Outcome::Passed,
        "{report}"
    );
    assert_eq!(
        outcome(ran, Kind::Diff).outcome,
        Outcome::NotRun,
        "{report}"
    );
}

/// shellcheck over every script of the recipe, the ones not run included; required when `CI`
/// is set, like the runbooks' check.
fn shellcheck(recipe: &Recipe) {
    let shellcheck = ["/usr/bin/shellcheck", "/usr/local/bin/shellcheck"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    assert!(
        shellcheck.is_some() || std::env::var_os("CI").is_none(),
        "shellcheck is required when CI is set: .ci/run installs it with apt-get"
    );
    let Some(shellcheck) = shellcheck else {
        return;
    };
    let scripts = recipe
        .units
        .iter()
        .map(|u| (&u.name, &u.script))
        .chain(recipe.not_run.iter().map(|(n, s)| (n, s)));
    for (name, script) in scripts {
        use std::io::Write;
        let mut child = Command::new(shellcheck)
            .args(["-s", "bash", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("shellcheck runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{:?} {name}: shellcheck\n{}\n{script}",
            recipe.forge,
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

fn the_recipe_on_four_pull_requests(recipe: &Recipe) {
    let kinds: Vec<Kind> = recipe.units.iter().map(|u| u.kind).collect();
    for kind in [Kind::Check, Kind::BuildCheck, Kind::Owners, Kind::Diff] {
        assert_eq!(
            kinds.iter().filter(|k| **k == kind).count(),
            1,
            "{:?}: one {kind:?} step in {kinds:?}",
            recipe.forge
        );
    }
    shellcheck(recipe);
    let s = origin(recipe);
    let dresden_rpo = |dir: &Path| {
        edit(
            &dir.join("plants/germany/dresden.toml"),
            "rpo = \"5m\"",
            "rpo = \"2m\"",
        );
    };
    let poznan_team = |dir: &Path| {
        edit(
            &dir.join("plants/poland/poznan.toml"),
            "team = \"hx-erp-wroclaw\"",
            "team = \"hx-erp-poznan\"",
        );
    };

    // (a) A plant change with its rebuilt tree and CODEOWNERS: every step passes, and the
    // board's markdown names the plants and their classes.
    let dir = pull_request(recipe, &s, "a");
    dresden_rpo(&dir);
    poznan_team(&dir);
    build(&dir);
    write_codeowners(&dir, &recipe.codeowners);
    commit(&dir, "dresden: RPO 2m; poznan has its own team");
    let ran = run_recipe(recipe, &s, &dir);
    assert!(
        ran.iter().all(|r| r.outcome == Outcome::Passed),
        "{}",
        report(recipe, &ran)
    );
    let markdown = std::fs::read_to_string(dir.join(&recipe.diff_file)).unwrap();
    // Each plant with its class on one line (the summary table, each section's title),
    // whatever else the format shows.
    for (plant, risk) in [("dresden", "medium"), ("poznan", "low")] {
        assert!(
            markdown.lines().any(|l| {
                let words: Vec<&str> = l
                    .split(|c: char| !c.is_alphanumeric() && c != '-')
                    .collect();
                words.contains(&plant) && words.contains(&risk)
            }),
            "{plant} {risk}\n{markdown}"
        );
    }
    assert!(!markdown.contains("lyon"), "{markdown}");
    if recipe.forge == Forge::GitHub {
        let summary = std::fs::read_to_string(s.path().join("a-summary.md")).unwrap();
        assert_eq!(summary, markdown, "the job summary shows the diff");
    }

    // (b) A plant change without its tree: build --check fails and names the stale files.
    let dir = pull_request(recipe, &s, "b");
    dresden_rpo(&dir);
    commit(&dir, "dresden: RPO 2m, tree forgotten");
    let ran = run_recipe(recipe, &s, &dir);
    assert_fails_at(
        recipe,
        &ran,
        Kind::BuildCheck,
        "differs: plants/dresden/prod/",
    );

    // (c) A generated file edited by hand: build --check fails and says so.
    let dir = pull_request(recipe, &s, "c");
    let edited = dir.join("gitops/plants/lyon/prod/kubernetes/configmap-odoo-conf.yaml");
    let mut text = std::fs::read_to_string(&edited).unwrap();
    text.push_str("# tuned by hand\n");
    std::fs::write(&edited, text).unwrap();
    commit(&dir, "lyon: tuned by hand");
    let ran = run_recipe(recipe, &s, &dir);
    assert_fails_at(
        recipe,
        &ran,
        Kind::BuildCheck,
        "edited by hand: plants/lyon/prod/kubernetes/configmap-odoo-conf.yaml",
    );

    // (d) The change of (a) with its tree (built there) but without CODEOWNERS: the owners
    // step fails and shows the lines that change, poznan's new team.
    let dir = pull_request(recipe, &s, "d");
    dresden_rpo(&dir);
    poznan_team(&dir);
    std::fs::remove_dir_all(dir.join("gitops")).unwrap();
    copy_dir(&s.path().join("a/gitops"), &dir.join("gitops"));
    commit(
        &dir,
        "dresden: RPO 2m; poznan has its own team; CODEOWNERS forgotten",
    );
    let ran = run_recipe(recipe, &s, &dir);
    assert_fails_at(recipe, &ran, Kind::Owners, "+/gitops/plants/poznan/prod/");
    assert!(
        outcome(&ran, Kind::Owners)
            .output
            .contains("@hexacore/hx-erp-poznan"),
        "{}",
        report(recipe, &ran)
    );
    assert_eq!(outcome(&ran, Kind::BuildCheck).outcome, Outcome::Passed);
}

#[test]
fn the_github_actions_recipe_on_four_pull_requests() {
    let recipe = github_recipe();
    assert_eq!(recipe.codeowners, ".github/CODEOWNERS");
    the_recipe_on_four_pull_requests(&recipe);
}

#[test]
fn the_gitlab_ci_recipe_on_four_merge_requests() {
    let recipe = gitlab_recipe();
    assert_eq!(recipe.codeowners, ".gitlab/CODEOWNERS");
    the_recipe_on_four_pull_requests(&recipe);
}

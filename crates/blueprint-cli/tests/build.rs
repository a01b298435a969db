//! `blueprint build` through the binary: what it writes, leaves alone, refuses and survives.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::print_stderr,
    missing_docs
)]

mod common;

use common::{Scratch, copy_dir, root, run};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every file under `dir` by relative path, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out
}

/// A copy of an example's plants in a scratch directory, and an OUT beside it.
fn setup(name: &str, example: &str) -> (Scratch, String, String) {
    let s = Scratch::new(name);
    copy_dir(
        &root().join("examples").join(example).join("plants"),
        &s.path().join("plants"),
    );
    let plants = s.path().join("plants").to_string_lossy().into_owned();
    let out = s.path().join("out").to_string_lossy().into_owned();
    (s, plants, out)
}

fn build(args: &[&str], s: &Scratch) -> (i32, String, String) {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    run(&all, s.path())
}

#[test]
fn a_build_writes_the_tree_and_a_rebuild_rewrites_nothing() {
    let (s, plants, out) = setup("rebuild", "quickstart");
    let (code, _, err) = build(&[&plants, "--out", &out], &s);
    assert_eq!(code, 0, "{err}");
    let first = tree(Path::new(&out));
    assert!(first.contains_key("blueprint.lock"));
    assert!(first.contains_key("plants/lyon/prod/kubernetes/namespace.yaml"));
    let written = first.len() - 1;
    assert!(
        err.trim_end()
            .ends_with(&format!("{written} written, 0 unchanged, 0 deleted")),
        "{err}"
    );
    let lock = Path::new(&out).join("blueprint.lock");
    let ns = Path::new(&out).join("plants/lyon/prod/kubernetes/namespace.yaml");
    let mtimes = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let (lock_t, ns_t) = (mtimes(&lock), mtimes(&ns));
    std::thread::sleep(Duration::from_millis(20));
    let (code, _, err) = build(&[&plants, "--out", &out], &s);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.trim_end()
            .ends_with(&format!("0 written, {written} unchanged, 0 deleted")),
        "{err}"
    );
    assert_eq!(tree(Path::new(&out)), first);
    assert_eq!(mtimes(&ns), ns_t, "an unchanged file keeps its mtime");
    assert_eq!(mtimes(&lock), lock_t, "an unchanged lock keeps its mtime");
}

#[test]
fn build_check_exits_one_when_out_differs_and_writes_nothing() {
    let (s, plants, out) = setup("check", "quickstart");
    let (code, _, _) = build(&[&plants, "--out", &out, "--check"], &s);
    assert_eq!(code, 1, "an empty OUT is not what the plants compile to");
    assert!(tree(Path::new(&out)).is_empty(), "--check writes nothing");
    assert_eq!(build(&[&plants, "--out", &out], &s).0, 0);
    let (code, _, err) = build(&[&plants, "--out", &out, "--check"], &s);
    assert_eq!(code, 0, "{err}");
    let plant = Path::new(&plants).join("lyon.yaml");
    let text = std::fs::read_to_string(&plant).unwrap();
    std::fs::write(&plant, text.replace("users: 60", "users: 90")).unwrap();
    let before = tree(Path::new(&out));
    let (code, stdout, _) = build(&[&plants, "--out", &out, "--check"], &s);
    assert_eq!(code, 1);
    assert!(stdout.contains("differs: "), "{stdout}");
    assert_eq!(tree(Path::new(&out)), before, "--check writes nothing");
}

#[test]
fn a_hand_edited_file_stops_the_build_unless_forced() {
    let (s, plants, out) = setup("hand-edit", "quickstart");
    assert_eq!(build(&[&plants, "--out", &out], &s).0, 0);
    let ns = Path::new(&out).join("plants/lyon/prod/kubernetes/namespace.yaml");
    let original = std::fs::read_to_string(&ns).unwrap();
    std::fs::write(&ns, format!("{original}# edited\n")).unwrap();
    let before = tree(Path::new(&out));
    let (code, _, err) = build(&[&plants, "--out", &out], &s);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(
            "plants/lyon/prod/kubernetes/namespace.yaml was edited by hand (expected sha256 "
        ),
        "{err}"
    );
    assert!(err.contains(", found "), "{err}");
    assert_eq!(tree(Path::new(&out)), before, "nothing written");
    let (code, _, err) = build(&[&plants, "--out", &out, "--force"], &s);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&ns).unwrap(), original);
}

#[test]
fn files_blueprint_does_not_own_are_never_touched() {
    let (s, plants, out) = setup("unowned", "quickstart");
    let readme = Path::new(&out).join("README.md");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(&readme, "our GitOps repository\n").unwrap();
    assert_eq!(build(&[&plants, "--out", &out], &s).0, 0);
    assert_eq!(
        std::fs::read_to_string(&readme).unwrap(),
        "our GitOps repository\n"
    );
    // A file of the platform team's where blueprint would write: refused, not overwritten.
    let (s2, plants2, out2) = setup("unowned-clash", "quickstart");
    let ns = Path::new(&out2).join("plants/lyon/prod/kubernetes/namespace.yaml");
    std::fs::create_dir_all(ns.parent().unwrap()).unwrap();
    std::fs::write(&ns, "ours\n").unwrap();
    let (code, _, err) = build(&[&plants2, "--out", &out2], &s2);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("exists and was not written by blueprint"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&ns).unwrap(), "ours\n");
    assert!(!Path::new(&out2).join("blueprint.lock").exists());
}

#[test]
fn removed_environments_are_pruned_only_with_allow_destroy() {
    let (s, plants, out) = setup("prune", "quickstart");
    assert_eq!(build(&[&plants, "--out", &out], &s).0, 0);
    let plant = Path::new(&plants).join("lyon.yaml");
    let text = std::fs::read_to_string(&plant).unwrap();
    let staging = text
        .find("\n  staging:")
        .expect("the quickstart has a staging overlay");
    // The staging overlay is the end of the file: cut it, prod alone remains.
    let without = format!("{}\n", &text[..staging]);
    std::fs::write(&plant, without).unwrap();
    let before = tree(Path::new(&out));
    let (code, _, err) = build(&[&plants, "--out", &out], &s);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("would delete stateful object: plants/lyon/staging/kubernetes/namespace.yaml"),
        "{err}"
    );
    assert_eq!(tree(Path::new(&out)), before, "nothing written");
    let (code, _, err) = build(&[&plants, "--out", &out, "--allow-destroy"], &s);
    assert_eq!(code, 0, "{err}");
    let after = tree(Path::new(&out));
    assert!(after.keys().all(|p| !p.starts_with("plants/lyon/staging/")));
    assert!(!Path::new(&out).join("plants/lyon/staging").exists());
    assert!(after.contains_key("plants/lyon/prod/kubernetes/namespace.yaml"));
}

#[test]
fn a_plant_with_errors_writes_nothing() {
    let (s, plants, out) = setup("errors", "quickstart");
    assert_eq!(build(&[&plants, "--out", &out], &s).0, 0);
    let before = tree(Path::new(&out));
    let plant = Path::new(&plants).join("lyon.yaml");
    let text = std::fs::read_to_string(&plant).unwrap();
    std::fs::write(&plant, text.replace("rpo: 15m", "rpo: 15 minutes")).unwrap();
    let (code, _, err) = build(&[&plants, "--out", &out], &s);
    assert_eq!(code, 1);
    assert!(err.contains("nothing written"), "{err}");
    assert_eq!(tree(Path::new(&out)), before);
}

/// Deterministic delays for the kill test (a linear congruential generator).
fn delays(n: usize, max: Duration) -> Vec<Duration> {
    let mut x: u64 = 0x5eed;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let frac = (x >> 33) as f64 / f64::from(u32::MAX);
            max.mul_f64(frac)
        })
        .collect()
}

/// How many builds the kill test kills: 200, or `BLUEPRINT_KILLS`.
fn kills() -> usize {
    std::env::var("BLUEPRINT_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// DESIGN §6, atomic output: a build killed with SIGKILL at a random instant leaves, once
/// recovered, exactly the old tree or the new one, with no staging left; the next build
/// finishes the job. Plant states alternate, so every build really rewrites files.
#[test]
fn a_build_killed_at_any_instant_leaves_the_old_tree_or_the_new_one() {
    let (s, plants, out) = setup("kill", "quickstart");
    let plant = Path::new(&plants).join("lyon.yaml");
    let a = std::fs::read_to_string(&plant).unwrap();
    let b = a.replacen("users: 60", "users: 61", 1);
    assert_ne!(a, b);
    let reference = |text: &str, name: &str| {
        let (r, rp, ro) = setup(name, "quickstart");
        std::fs::write(Path::new(&rp).join("lyon.yaml"), text).unwrap();
        assert_eq!(build(&[&rp, "--out", &ro], &r).0, 0);
        (r, tree(Path::new(&ro)))
    };
    let (_ra, tree_a) = reference(&a, "kill-ref-a");
    let (_rb, tree_b) = reference(&b, "kill-ref-b");
    assert_ne!(tree_a, tree_b);
    assert_eq!(build(&[&plants, "--out", &out], &s).0, 0);
    // How long a rebuild takes now (the machine may be busy), to spread the kills over it;
    // the window widens while no kill has yet landed after the commit.
    let mut window = Duration::ZERO;
    for text in [&b, &a] {
        std::fs::write(&plant, text).unwrap();
        let start = Instant::now();
        assert_eq!(build(&[&plants, "--out", &out], &s).0, 0);
        window = window.max(start.elapsed().mul_f64(1.2));
    }
    let (mut old, mut new) = (0, 0);
    for (i, fraction) in delays(kills(), Duration::from_secs(1))
        .into_iter()
        .enumerate()
    {
        if i > 0 && i % 20 == 0 && new == 0 {
            window = window.mul_f64(1.5);
        }
        let delay = window.mul_f64(fraction.as_secs_f64());
        let (text, before, after) = if i % 2 == 0 {
            (&b, &tree_a, &tree_b)
        } else {
            (&a, &tree_b, &tree_a)
        };
        // OUT holds the tree of the other state: a kill before the commit leaves it.
        if tree(Path::new(&out)) != *before {
            assert_eq!(build(&[&plants, "--out", &out], &s).0, 0);
        }
        std::fs::write(&plant, text).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_blueprint"))
            .args(["build", &plants, "--out", &out])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        blueprint_emit::recover(Path::new(&out)).unwrap();
        let got = tree(Path::new(&out));
        if got == *before {
            old += 1;
        } else if got == *after {
            new += 1;
        } else {
            let differing: Vec<&String> = got
                .keys()
                .chain(after.keys())
                .filter(|p| got.get(*p) != after.get(*p) && got.get(*p) != before.get(*p))
                .collect();
            panic!("kill {i} at {delay:?}: OUT is neither the old tree nor the new: {differing:?}");
        }
        assert!(!Path::new(&out).join(".blueprint-txn").exists());
    }
    // The next build finishes the job: the tree of the plants as they are, nothing left over.
    let (code, _, err) = build(&[&plants, "--out", &out], &s);
    assert_eq!(code, 0, "{err}");
    let want = if std::fs::read_to_string(&plant).unwrap() == b {
        &tree_b
    } else {
        &tree_a
    };
    assert_eq!(tree(Path::new(&out)), *want);
    eprintln!(
        "{} kills: {old} left the old tree, {new} the new one",
        old + new
    );
    assert!(
        old > 0 && new > 0,
        "kills landed before and after the commit: {old} old, {new} new"
    );
}

/// Two builds racing on one OUT never interleave: the one that holds OUT writes, the other is
/// refused with exit 2 and a clear message, and OUT is a clean tree of one of them.
#[test]
fn two_builds_racing_on_one_out_never_interleave() {
    let (s, plants_a, out) = setup("race", "manufacturing-group");
    let (_sb, plants_b, _) = setup("race-b", "manufacturing-group");
    let lyon = Path::new(&plants_b).join("france/lyon.yaml");
    let text = std::fs::read_to_string(&lyon).unwrap();
    std::fs::write(&lyon, text.replacen("users: 150", "users: 160", 1)).unwrap();
    let reference = |plants: &str, name: &str| {
        let r = Scratch::new(name);
        let ro = r.path().join("out").to_string_lossy().into_owned();
        assert_eq!(build(&[plants, "--out", &ro], &r).0, 0);
        (r, tree(Path::new(&ro)))
    };
    let (_ra, tree_a) = reference(&plants_a, "race-ref-a");
    let (_rb, tree_b) = reference(&plants_b, "race-ref-b");
    let mut refused = 0;
    for round in 0..6 {
        let spawn = |plants: &str| {
            Command::new(env!("CARGO_BIN_EXE_blueprint"))
                .args(["build", plants, "--out", &out])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (first, second) = if round % 2 == 0 {
            (spawn(&plants_a), spawn(&plants_b))
        } else {
            (spawn(&plants_b), spawn(&plants_a))
        };
        for child in [first, second] {
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            match out.status.code() {
                Some(0) => {}
                Some(2) => {
                    // miette wraps lines and draws a margin: compare the words.
                    let words = err
                        .replace('|', " ")
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ");
                    assert!(
                        words.contains(
                            "is being written by another blueprint build; nothing was written"
                        ),
                        "{err}"
                    );
                    assert!(
                        words.contains("wait for the other build to finish"),
                        "{err}"
                    );
                    refused += 1;
                }
                other => panic!("round {round}: exit {other:?}: {err}"),
            }
        }
        let got = tree(Path::new(&out));
        assert!(
            got == tree_a || got == tree_b,
            "round {round}: OUT is neither build's tree"
        );
    }
    assert!(
        refused > 0,
        "the builds never overlapped: the race was not run"
    );
    let _ = s;
}

/// A copy of the embedded template set with `kubernetes/namespace.yaml.j2` edited by `edit`.
fn templates_with(s: &Scratch, edit: impl Fn(&str) -> String) -> String {
    let dir = s.path().join("blueprints");
    copy_dir(&root().join("blueprints"), &dir);
    let ns = dir.join("kubernetes/namespace.yaml.j2");
    let text = std::fs::read_to_string(&ns).unwrap();
    let edited = edit(&text);
    assert_ne!(edited, text, "the edit applies");
    std::fs::write(&ns, edited).unwrap();
    dir.to_string_lossy().into_owned()
}

#[test]
fn a_template_that_writes_text_without_a_filter_is_bp9002_and_nothing_is_written() {
    let (s, plants, out) = setup("bp9002", "quickstart");
    let blueprints = templates_with(&s, |t| {
        t.replacen(
            "{{ plant.names.namespace|yaml }}",
            "{{ plant.names.namespace }}",
            1,
        )
    });
    let (code, _, err) = build(&[&plants, "--out", &out, "--blueprints", &blueprints], &s);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error[BP9002]: template kubernetes/namespace.yaml.j2 for plants/lyon/prod/kubernetes/namespace.yaml: "), "{err}");
    assert!(err.contains("is written without a format filter"), "{err}");
    assert!(!Path::new(&out).exists(), "nothing written, not even OUT");
}

#[test]
fn a_template_that_renders_an_invalid_object_is_bp9003_and_nothing_is_written() {
    let (s, plants, out) = setup("bp9003", "quickstart");
    assert_eq!(build(&[&plants, "--out", &out], &s).0, 0);
    let before = tree(Path::new(&out));
    let blueprints = templates_with(&s, |t| t.replacen("  labels:\n", "  lables:\n", 1));
    let (code, _, err) = build(&[&plants, "--out", &out, "--blueprints", &blueprints], &s);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error[BP9003]: plants/lyon/prod/kubernetes/namespace.yaml (template kubernetes/namespace.yaml.j2): "), "{err}");
    assert!(err.contains("lables"), "{err}");
    assert_eq!(tree(Path::new(&out)), before, "OUT is exactly as it was");
}

/// A file added by hand in a generated directory would be applied by Argo CD or Terraform as
/// if the plants said so: `--check` fails on it, `build` leaves it and warns; a hand edit's
/// `--check` says how to get past it.
#[test]
fn check_fails_on_files_added_to_generated_directories() {
    let (s, plants, out) = setup("strays", "quickstart");
    assert_eq!(build(&[&plants, "--out", &out], &s).0, 0);
    let stray = Path::new(&out).join("plants/lyon/prod/kubernetes/configmap-sneaky.yaml");
    std::fs::write(&stray, "apiVersion: v1\nkind: ConfigMap\n").unwrap();
    // Top-level files and hidden entries are the repository's.
    std::fs::write(Path::new(&out).join("README.md"), "ours\n").unwrap();
    std::fs::write(Path::new(&out).join("plants/.gitkeep"), "").unwrap();
    let (code, stdout, err) = build(&[&plants, "--out", &out, "--check"], &s);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        stdout,
        "not generated: plants/lyon/prod/kubernetes/configmap-sneaky.yaml\n"
    );
    assert!(
        err.contains("remove the files blueprint did not generate"),
        "{err}"
    );
    let (code, _, err) = build(&[&plants, "--out", &out], &s);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: not generated by blueprint, left as it is: plants/lyon/prod/kubernetes/configmap-sneaky.yaml"),
        "{err}"
    );
    assert!(stray.exists());
    std::fs::remove_file(&stray).unwrap();
    // A hand edit: --check names --force.
    let edited = Path::new(&out).join("plants/lyon/prod/kubernetes/namespace.yaml");
    let text = std::fs::read_to_string(&edited).unwrap();
    std::fs::write(&edited, format!("{text}# by hand\n")).unwrap();
    let (code, stdout, err) = build(&[&plants, "--out", &out, "--check"], &s);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("\nedited by hand: plants/lyon/prod/kubernetes/namespace.yaml"),
        "{stdout}"
    );
    assert!(err.contains("blueprint build --force"), "{err}");
}

/// A plan that deletes more generated files than `--max-deletions` is refused without
/// `--allow-destroy` (a plants directory checked out half, a bad merge), naming each file.
#[test]
fn deleting_more_files_than_the_threshold_needs_allow_destroy() {
    let (s, plants, out) = setup("max-deletions", "quickstart");
    assert_eq!(build(&[&plants, "--out", &out], &s).0, 0);
    // Without the powerbi integration its network policies and route go.
    let plant = Path::new(&plants).join("lyon.yaml");
    let text = std::fs::read_to_string(&plant).unwrap();
    let start = text.find("  - name: powerbi").unwrap();
    let end = text[start..]
        .find("\n\n")
        .map_or(text.len(), |e| start + e + 1);
    std::fs::write(&plant, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let before = tree(Path::new(&out));
    let (code, _, err) = build(&[&plants, "--out", &out, "--max-deletions", "1"], &s);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("more than --max-deletions 1"), "{err}");
    assert!(err.contains("would delete: plants/lyon/"), "{err}");
    assert_eq!(tree(Path::new(&out)), before, "nothing written");
    let (code, _, err) = build(&[&plants, "--out", &out], &s);
    assert_eq!(code, 0, "within the default threshold: {err}");
}

/// An OUT that is the plants directory, lies inside it (its files would be read as plants by
/// the next run) or contains it (the tree would be written around the plant files) is refused
/// before anything is read or written, by `build`, `build --check` and `diff`, however it is
/// spelled (`..`, a link).
#[cfg(unix)]
#[test]
fn an_out_overlapping_the_plants_directory_is_refused_before_anything() {
    let (s, _, _) = setup("overlap", "quickstart");
    std::os::unix::fs::symlink("plants", s.path().join("link")).unwrap();
    let listing = || {
        let mut names: Vec<_> = std::fs::read_dir(s.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let (before, entries) = (tree(&s.path().join("plants")), listing());
    for (out, says) in [
        ("plants", "OUT plants is the plants directory plants"),
        ("./plants/", "OUT ./plants/ is the plants directory plants"),
        ("link", "OUT link is the plants directory plants"),
        (
            "plants/gitops",
            "OUT plants/gitops is inside the plants directory plants",
        ),
        (
            "new/../plants/gitops",
            "OUT new/../plants/gitops is inside the plants directory plants",
        ),
        (
            "link/gitops",
            "OUT link/gitops is inside the plants directory plants",
        ),
        (".", "OUT . contains the plants directory plants"),
        (&s.arg(), "contains the plants directory plants"),
    ] {
        for args in [
            &["build", "plants", "--out", out][..],
            &["build", "plants", "--out", out, "--check"],
            &["diff", "plants", "--out", out, "--lock"],
        ] {
            let (code, _, err) = run(args, s.path());
            assert_eq!(code, 2, "{args:?}: {err}");
            let flat = err.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(flat.contains(says), "{args:?}: {err}");
            assert!(flat.contains("nothing was read or written"), "{err}");
        }
        assert_eq!(
            tree(&s.path().join("plants")),
            before,
            "{out}: nothing written"
        );
        assert_eq!(listing(), entries, "{out}: nothing created");
    }
    // Beside it, even with its name as a prefix: built.
    let (code, _, err) = build(&["plants", "--out", "plants-out"], &s);
    assert_eq!(code, 0, "{err}");
}

//! The generated trees of the example fleets: every file is a reviewed snapshot named after its
//! output path, no snapshot is left that nothing produces, and the tree is the same whatever
//! the thread count or the order the plant files are given in.

use crate::support::{EXAMPLES, read_inputs, root};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where an example's snapshots live.
fn snapshot_dir(example: &str) -> PathBuf {
    root().join("tests/snapshots/build").join(example)
}

/// The snapshot name of an output path: `plants/lyon/prod/kubernetes/namespace.yaml` →
/// `plants__lyon__prod__kubernetes__namespace.yaml`.
fn snapshot_name(path: &str) -> String {
    path.replace('/', "__")
}

#[test]
fn every_generated_file_of_every_example_matches_its_snapshot() {
    let mut failures = Vec::new();
    for example in EXAMPLES {
        let files = crate::support::build_example(example);
        assert!(!files.is_empty(), "{example} generated nothing");
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(snapshot_dir(example));
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        for (path, text) in &files {
            // Every file is compared even when an earlier one differs: insta reports each
            // difference as it panics, and the failures are listed together at the end.
            let compared = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                settings.bind(|| insta::assert_snapshot!(snapshot_name(path), text));
            }));
            if compared.is_err() {
                failures.push(format!("{example}: {path}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} generated files differ from their snapshots:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn no_snapshot_is_left_that_nothing_produces() {
    let mut stale = Vec::new();
    for example in EXAMPLES {
        let files = crate::support::build_example(example);
        let wanted: std::collections::BTreeSet<String> = files
            .keys()
            .map(|p| format!("{}.snap", snapshot_name(p)))
            .collect();
        let dir = snapshot_dir(example);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !wanted.contains(&name) {
                stale.push(format!("{example}/{name}"));
            }
        }
    }
    let dirs: Vec<String> = std::fs::read_dir(root().join("tests/snapshots/build"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !EXAMPLES.contains(&n.as_str()))
                .collect()
        })
        .unwrap_or_default();
    stale.extend(dirs);
    assert!(
        stale.is_empty(),
        "snapshots nothing produces (delete them): {stale:?}"
    );
}

/// One sha256 over the sorted paths and contents of a tree.
fn digest(files: &BTreeMap<String, Vec<u8>>) -> String {
    let mut all = Vec::new();
    for (path, bytes) in files {
        all.extend_from_slice(path.as_bytes());
        all.push(0);
        all.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        all.extend_from_slice(bytes);
    }
    blueprint_emit::sha256_hex(&all)
}

#[test]
fn plants_in_any_order_and_any_thread_count_render_identical_trees() {
    for example in EXAMPLES {
        let base = root().join("examples").join(example);
        let inputs = read_inputs(&base, "plants");
        let build = |inputs: &[blueprint_compiler::Input], threads: usize| {
            let built = blueprint_cli::build::build(
                inputs,
                &blueprint_cli::build::Options {
                    threads,
                    ..Default::default()
                },
            );
            assert!(!built.failed(), "{example} failed");
            let mut files = built.files;
            files.insert("blueprint.lock".into(), built.lock.to_bytes());
            digest(&files)
        };
        let one = build(&inputs, 1);
        assert_eq!(build(&inputs, 2), one, "{example}: 2 threads");
        assert_eq!(build(&inputs, 8), one, "{example}: 8 threads");
        let mut reversed = inputs.clone();
        reversed.reverse();
        assert_eq!(build(&reversed, 8), one, "{example}: inputs reversed");
        let mut rotated = inputs.clone();
        rotated.rotate_left(inputs.len() / 2);
        assert_eq!(build(&rotated, 3), one, "{example}: inputs rotated");
    }
}

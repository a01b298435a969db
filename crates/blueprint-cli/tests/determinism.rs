//! DESIGN §6, deterministic output, through the binary: every example builds to one tree —
//! one sha256 over its sorted paths and contents, the lock included — whatever the thread
//! count (1, 2, 8), the order the plant files were created in, the time zone and locale
//! (three continents) and the working directory. `tests/blueprint/tree.rs` compares each file
//! with its committed snapshot.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    missing_docs
)]

mod common;

use common::{Scratch, root};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const EXAMPLES: &[&str] = &[
    "quickstart",
    "manufacturing-group",
    "shared-warehouses",
    "critical-managed",
];

/// One run's environment.
struct Variant {
    name: &'static str,
    jobs: &'static str,
    tz: &'static str,
    lang: &'static str,
    /// Run from a directory other than the one holding the plants (paths given absolute).
    elsewhere: bool,
    /// Create the plant files in reverse order.
    reversed: bool,
}

const VARIANTS: &[Variant] = &[
    Variant {
        name: "1 thread, UTC, C",
        jobs: "1",
        tz: "UTC",
        lang: "C",
        elsewhere: false,
        reversed: false,
    },
    Variant {
        name: "2 threads, São Paulo, pt_BR",
        jobs: "2",
        tz: "America/Sao_Paulo",
        lang: "pt_BR.UTF-8",
        elsewhere: false,
        reversed: true,
    },
    Variant {
        name: "8 threads, Tokyo, ja_JP, another working directory",
        jobs: "8",
        tz: "Asia/Tokyo",
        lang: "ja_JP.UTF-8",
        elsewhere: true,
        reversed: false,
    },
    Variant {
        name: "8 threads, Berlin, de_DE, files created in reverse, another working directory",
        jobs: "8",
        tz: "Europe/Berlin",
        lang: "de_DE.UTF-8",
        elsewhere: true,
        reversed: true,
    },
];

/// Every file under `dir`, by relative path.
fn files(dir: &Path, base: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            files(&p, base, out);
        } else {
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            out.insert(rel, std::fs::read(&p).unwrap());
        }
    }
}

/// One sha256 over the sorted paths and contents of a tree.
fn digest(tree: &BTreeMap<String, Vec<u8>>) -> String {
    let mut all = Vec::new();
    for (path, bytes) in tree {
        all.extend_from_slice(path.as_bytes());
        all.push(0);
        all.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        all.extend_from_slice(bytes);
    }
    blueprint_emit::sha256_hex(&all)
}

/// Copies the example's plants into `to`, creating the files in the given order.
fn copy_plants(example: &str, to: &Path, reversed: bool) {
    let from = root().join("examples").join(example).join("plants");
    let mut all = BTreeMap::new();
    files(&from, &from, &mut all);
    let mut order: Vec<(&String, &Vec<u8>)> = all.iter().collect();
    if reversed {
        order.reverse();
    }
    for (rel, bytes) in order {
        let target = to.join(rel);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, bytes).unwrap();
    }
}

fn build(example: &str, v: &Variant) -> String {
    let s = Scratch::new(&format!("det-{example}-{}", v.jobs));
    // The plants and OUT in `work/`; the command runs there, or in `elsewhere/`.
    let work = s.path().join("work");
    copy_plants(example, &work.join("plants"), v.reversed);
    let (cwd, plants, out) = if v.elsewhere {
        let cwd = s.path().join("elsewhere");
        std::fs::create_dir_all(&cwd).unwrap();
        (
            cwd,
            work.join("plants").to_string_lossy().into_owned(),
            work.join("out").to_string_lossy().into_owned(),
        )
    } else {
        (work.clone(), "plants".to_string(), "out".to_string())
    };
    let status = Command::new(env!("CARGO_BIN_EXE_blueprint"))
        .args(["build", &plants, "--out", &out, "-j", v.jobs])
        .current_dir(&cwd)
        .env("TZ", v.tz)
        .env("LANG", v.lang)
        .env("LC_ALL", v.lang)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{example} ({}): {}",
        v.name,
        String::from_utf8_lossy(&status.stderr)
    );
    let mut tree = BTreeMap::new();
    files(&work.join("out"), &work.join("out"), &mut tree);
    digest(&tree)
}

#[test]
fn every_example_builds_to_one_tree_in_every_environment() {
    for example in EXAMPLES {
        let reference = build(example, &VARIANTS[0]);
        for v in &VARIANTS[1..] {
            assert_eq!(
                build(example, v),
                reference,
                "{example}: {} gives another tree than {}",
                v.name,
                VARIANTS[0].name
            );
        }
    }
}

//! Rule cases: `tests/cases/check/<code>-<what>/` holds `plants/` and `expect`, one line per
//! finding that must appear (`BP2001 plants/lyon.yaml:12:10`). The whole human output is an
//! insta snapshot `tests/snapshots/check__<case>.snap`.

use crate::support::{check_dir, findings, root};
use blueprint_diagnostics::codes;

fn case_dirs() -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(root().join("tests/cases/check"))
        .expect("tests/cases/check exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Codes exercised by generated inputs in `hostile.rs` rather than a case directory, and the
/// internal-error code no input may trigger.
const NOT_CASES: &[(&str, &str)] = &[
    ("BP0001", "a 2 MiB file is generated in hostile.rs"),
    (
        "BP0002",
        "invalid UTF-8, NUL and BOM inputs are generated in hostile.rs",
    ),
    (
        "BP9001",
        "internal errors are bugs: no input may produce one",
    ),
    (
        "BP9002",
        "a broken template set (--blueprints) is exercised in build.rs",
    ),
    (
        "BP9003",
        "a template set rendering invalid objects is exercised in build.rs",
    ),
];

#[test]
fn every_case_reports_its_expected_findings_at_the_right_place() {
    let mut failures = Vec::new();
    for dir in case_dirs() {
        let name = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let (c, out) = check_dir(&dir);
        let got = findings(&c);
        let expect = std::fs::read_to_string(dir.join("expect")).unwrap_or_default();
        let wanted: Vec<&str> = expect
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        if wanted.is_empty() {
            failures.push(format!("{name}: `expect` lists no finding"));
        }
        for w in wanted {
            if !got.iter().any(|g| g == w) {
                failures.push(format!("{name}: expected `{w}`, got {got:?}"));
            }
        }
        let code = name
            .split('-')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        if !got.iter().any(|g| g.starts_with(&code)) {
            failures.push(format!("{name}: no {code} finding, got {got:?}"));
        }
        // Every case is compared even when an earlier snapshot differs: insta reports each
        // difference as it panics, and the failures are listed together at the end.
        let compared = std::panic::catch_unwind(|| {
            insta::with_settings!({ snapshot_path => root().join("tests/snapshots"), prepend_module_to_snapshot => false, omit_expression => true }, {
                insta::assert_snapshot!(format!("check__{name}"), out);
            });
        });
        if compared.is_err() {
            failures.push(format!(
                "{name}: output differs from tests/snapshots/check__{name}.snap"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_snapshot_belongs_to_a_case() {
    let cases: Vec<String> = case_dirs()
        .iter()
        .map(|d| d.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    let mut orphans = Vec::new();
    for entry in std::fs::read_dir(root().join("tests/snapshots")).expect("tests/snapshots") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name == "build" {
            continue; // the generated trees' snapshots, kept by tree.rs
        }
        let case = name
            .strip_prefix("check__")
            .and_then(|n| n.strip_suffix(".snap"));
        if !case.is_some_and(|c| cases.iter().any(|d| d == c)) {
            orphans.push(name);
        }
    }
    assert!(
        orphans.is_empty(),
        "snapshots no case produces (delete them): {orphans:?}"
    );
}

#[test]
fn every_code_has_a_case_or_a_reason() {
    let dirs: Vec<String> = case_dirs()
        .iter()
        .map(|d| {
            d.file_name()
                .expect("name")
                .to_string_lossy()
                .to_ascii_uppercase()
        })
        .collect();
    let missing: Vec<&str> = codes::ALL
        .iter()
        .map(|i| i.code.0)
        .filter(|c| !NOT_CASES.iter().any(|(n, _)| n == c))
        .filter(|c| !dirs.iter().any(|d| d.starts_with(&format!("{c}-"))))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a case in tests/cases/check: {missing:?}"
    );
}

#[test]
fn every_rule_page_shows_the_real_finding_of_its_case() {
    // Code → (case, first finding line of that code in the case's snapshot).
    let mut shown: std::collections::BTreeMap<String, Vec<(String, String)>> =
        std::collections::BTreeMap::new();
    let mut failures = Vec::new();
    for dir in case_dirs() {
        let name = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let code = name
            .split('-')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let snap = root().join(format!("tests/snapshots/check__{name}.snap"));
        let Ok(text) = std::fs::read_to_string(&snap) else {
            failures.push(format!("{name}: no snapshot {}", snap.display()));
            continue;
        };
        let first = text.lines().find(|l| {
            l.starts_with(&format!("error[{code}]")) || l.starts_with(&format!("warning[{code}]"))
        });
        match first {
            Some(line) => shown
                .entry(code)
                .or_default()
                .push((name, line.to_string())),
            None => failures.push(format!("{name}: the snapshot has no {code} finding")),
        }
    }
    for (code, cases) in &shown {
        let page = root().join(format!("docs/rules/{code}.md"));
        let text = std::fs::read_to_string(&page).unwrap_or_default();
        if !cases
            .iter()
            .any(|(_, line)| text.lines().any(|l| l == line))
        {
            for (name, line) in cases {
                failures.push(format!(
                    "docs/rules/{code}.md does not show the finding of {name}: expected the line `{line}`"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

//! CLI behaviour: exit codes, and snapshots of human and JSON output.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    missing_docs
)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_blueprint"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn snap(name: &str, value: &str) {
    insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, value);
    });
}

#[test]
fn check_of_a_clean_example_exits_zero() {
    let (code, out, err) = run(&["check", "examples/quickstart/plants"], &root());
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    assert_eq!(
        err,
        "checked examples/quickstart/plants: 1 plant file, 2 environments resolved, embedded default fleet\nno findings\n"
    );
}

#[test]
fn check_with_findings_exits_one_and_prints_them() {
    let case = root().join("tests/cases/check/bp2004-rto-infeasible");
    let (code, out, err) = run(&["check", "plants"], &case);
    assert_eq!(code, 1);
    assert_eq!(out, "");
    snap("cli__check_human", &format!("exit {code}\n{err}"));
    let (code, out, _) = run(&["check", "plants", "--format", "json"], &case);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v["version"], 1);
    assert_eq!(v["diagnostics"][0]["code"], "BP2004");
    snap("cli__check_json", &out);
}

#[test]
fn warnings_fail_only_with_deny_warnings() {
    let case = root().join("tests/cases/check/bp2002-rpo-below-archiving-region-loss");
    assert_eq!(run(&["check", "plants"], &case).0, 0);
    assert_eq!(run(&["check", "plants", "--deny-warnings"], &case).0, 1);
}

#[test]
fn a_missing_directory_exits_two() {
    let (code, _, err) = run(&["check", "no/such/plants"], &root());
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot read plants directory no/such/plants"),
        "{err}"
    );
    assert_eq!(run(&["check", "--bogus"], &root()).0, 2);
    let (code, _, err) = run(&["check", "docs"], &root());
    assert_eq!(code, 2, "a directory without plant files is a usage error");
    assert!(err.contains("no plant files"), "{err}");
}

#[test]
fn rules_lists_codes_and_explains_one() {
    let (code, out, _) = run(&["rules"], &root());
    assert_eq!(code, 0);
    assert!(out.contains("BP2001") && out.contains("BP4013"));
    let (code, out, _) = run(&["rules", "bp2001"], &root());
    assert_eq!(code, 0);
    assert!(out.starts_with("# BP2001"), "{out}");
    assert_eq!(run(&["rules", "BP7777"], &root()).0, 2);
}

#[test]
fn explain_shows_every_value_with_its_origin() {
    let (code, out, err) = run(
        &[
            "explain",
            "lyon",
            "--env",
            "prod",
            "--dir",
            "examples/quickstart/plants",
            "--format",
            "json",
        ],
        &root(),
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let values = v[0]["values"].as_array().expect("values");
    let find = |f: &str| {
        values
            .iter()
            .find(|r| r["field"] == f)
            .unwrap_or_else(|| panic!("{f} missing"))
    };
    assert_eq!(find("tier")["origin"], "plant");
    assert_eq!(find("odoo.workers")["origin"], "derived");
    assert_eq!(find("database.postgresVersion")["origin"], "fleet-default");
    assert!(
        find("recovery.rtoEstimate")["from"]
            .as_str()
            .unwrap()
            .contains("restore")
    );
    let (code, text, _) = run(
        &["explain", "lyon", "--dir", "examples/quickstart/plants"],
        &root(),
    );
    assert_eq!(code, 0);
    assert!(text.contains("lyon (prod)") && text.contains("lyon (staging)"));
    assert_eq!(
        run(
            &["explain", "nowhere", "--dir", "examples/quickstart/plants"],
            &root()
        )
        .0,
        1
    );
}

#[test]
fn init_writes_a_plant_that_passes_check_and_never_overwrites() {
    let dir = std::env::temp_dir().join(format!("blueprint-init-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_string_lossy().into_owned();
    for (name, tier, tenancy) in [
        ("alpha", "standard", "dedicated-namespace"),
        ("beta", "basic", "shared"),
        ("gamma", "critical", "dedicated-cluster"),
    ] {
        let (code, _, err) = run(
            &[
                "init",
                name,
                "--tier",
                tier,
                "--tenancy",
                tenancy,
                "--dir",
                &d,
            ],
            &root(),
        );
        assert_eq!(code, 0, "{name}: {err}");
    }
    let (code, _, err) = run(&["check", &d], &root());
    assert_eq!(code, 0, "{err}");
    // The embedded default fleet, written out, gives the same result.
    assert_eq!(run(&["init", "--fleet", "--dir", &d], &root()).0, 0);
    assert!(
        std::fs::read_to_string(dir.join("fleet.toml"))
            .unwrap()
            .contains("kind = \"Fleet\"")
    );
    let (code, _, err) = run(&["check", &d], &root());
    assert_eq!(code, 0, "{err}");
    assert_eq!(run(&["init", "--fleet", "--dir", &d], &root()).0, 2);
    let before = std::fs::read(dir.join("alpha.yaml")).unwrap();
    let (code, _, err) = run(&["init", "alpha", "--dir", &d], &root());
    assert_eq!(code, 2);
    assert!(err.contains("already exists"));
    assert_eq!(std::fs::read(dir.join("alpha.yaml")).unwrap(), before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn more_input_than_one_run_reads_is_refused_before_compiling() {
    let dir = std::env::temp_dir().join(format!("blueprint-big-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let filler = format!("description: \"{}\"\n", "x".repeat(1000 * 1024));
    for i in 0..9 {
        std::fs::write(dir.join(format!("p{i}.yaml")), &filler).unwrap();
    }
    let (code, _, err) = run(&["check", &dir.to_string_lossy()], &root());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("8 MiB"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

//! `blueprint review-owners` through the binary: the CODEOWNERS file of the
//! manufacturing-group example, `--out`, and a fleet without `[review]`.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    missing_docs
)]

mod common;

use common::{Scratch, copy_dir, root, run};

fn snap(name: &str, value: &str) {
    insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, value);
    });
}

#[test]
fn the_codeowners_of_the_manufacturing_group() {
    let (code, out, err) = run(
        &["review-owners", "examples/manufacturing-group/plants"],
        &root(),
    );
    assert_eq!((code, err.as_str()), (0, ""));
    snap("review_owners_manufacturing_group", &out);
    // General first: the catch-all, then each plant's paths (the last match wins).
    let lines: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(
        lines
            .iter()
            .find(|l| !l.is_empty())
            .unwrap()
            .starts_with("* ")
    );
    // A dedicated cluster's directory is its environment's.
    assert!(
        out.lines().any(|l| l.starts_with("/clusters/lyon-prod/")
            && l.ends_with("@hexacore/architecture-board @hexacore/hx-erp-lyon")),
        "{out}"
    );
    // --out writes the same text to a file.
    let s = Scratch::new("review-owners-out");
    let file = s.path().join("CODEOWNERS");
    let (code, printed, err) = run(
        &[
            "review-owners",
            "examples/manufacturing-group/plants",
            "--out",
            file.to_str().unwrap(),
        ],
        &root(),
    );
    assert_eq!((code, printed.as_str(), err.as_str()), (0, "", ""));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), out);
}

#[test]
fn a_fleet_without_review_is_a_usage_error_with_a_hint() {
    let s = Scratch::new("review-owners-none");
    let plants = s.path().join("plants");
    copy_dir(&root().join("examples/manufacturing-group/plants"), &plants);
    let fleet = plants.join("fleet.toml");
    let text = std::fs::read_to_string(&fleet).unwrap();
    let (start, end) = (
        text.find("[review]").unwrap(),
        text.find("# Organisation-wide").unwrap(),
    );
    std::fs::write(&fleet, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let (code, out, err) = run(&["review-owners", "plants"], s.path());
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    snap("review_owners_without_review", &err);
    // A fleet without the table is still a valid fleet.
    let (code, _, err) = run(&["check", "plants"], s.path());
    assert_eq!(code, 0, "{err}");
}

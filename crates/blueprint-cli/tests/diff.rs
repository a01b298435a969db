//! `blueprint diff` through the binary, in a scratch git repository holding the
//! manufacturing-group example and its built tree: the board's four-plant change, the lock
//! side with drift, `--exit-code`.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    missing_docs
)]

mod common;

use common::{Scratch, copy_dir, edit, git, root, run};

/// The example committed and built, then the board's change made in the work tree: dresden's
/// RPO tightened, bordeaux moved to a dedicated cluster, stuttgart's image bumped, wroclaw
/// removed.
fn repository(name: &str) -> Scratch {
    let s = Scratch::new(name);
    let dir = s.path();
    copy_dir(
        &root().join("examples/manufacturing-group/plants"),
        &dir.join("plants"),
    );
    git(dir, &["init", "-q", "-b", "main"]);
    let (code, _, err) = run(&["build", "plants", "--out", "gitops"], dir);
    assert_eq!(code, 0, "{err}");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "fleet"]);
    let plants = dir.join("plants");
    edit(
        &plants.join("germany/dresden.toml"),
        "rpo = \"5m\"",
        "rpo = \"2m\"",
    );
    let bordeaux = plants.join("france/bordeaux.toml");
    edit(
        &bordeaux,
        "tenancy = \"dedicated-namespace\"",
        "tenancy = \"dedicated-cluster\"",
    );
    edit(&bordeaux, "cluster = \"shared-eu-west\"\n", "");
    edit(
        &bordeaux,
        "[[integrations]]",
        "[network]\ncidr = \"10.40.0.0/16\"\n\n[[integrations]]",
    );
    let mut text = std::fs::read_to_string(&bordeaux).unwrap();
    text.push_str("\n[environments.staging.network]\ncidr = \"10.41.0.0/16\"\n");
    std::fs::write(&bordeaux, text).unwrap();
    edit(
        &plants.join("germany/stuttgart.yaml"),
        "18.0-hx2@sha256:419e56282a37cdd5b887807c29b1a04a230cc26cfd0a4ef7091131d6820b3a1a",
        "18.0-hx3@sha256:78e917b3e6d4a601361ad2f9dde3a62301102f955daef28de7b401bb1bfc12e6",
    );
    std::fs::remove_file(plants.join("poland/wroclaw.yaml")).unwrap();
    s
}

#[test]
fn the_boards_change_lists_exactly_its_four_plants_with_their_classes() {
    let s = repository("diff-board");
    let dir = s.path();
    let (code, json, err) = run(
        &["diff", "plants", "--base", "main", "--format", "json"],
        dir,
    );
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["version"], 1);
    let mut plants: Vec<(String, String)> = report["envs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["plant"].as_str().unwrap().to_string(),
                e["risk"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    plants.sort();
    plants.dedup();
    assert_eq!(
        plants,
        [
            ("bordeaux", "high"),
            ("dresden", "medium"),
            ("stuttgart", "low"),
            ("wroclaw", "high"),
        ]
        .map(|(p, r)| (p.to_string(), r.to_string()))
    );
    assert_eq!(report["risk"], "high");
    assert!(report["other_files"].as_array().unwrap().is_empty());
    // Who must approve: the [review] groups of each environment's own class, `owner` being
    // its plant's team under the fleet's teamPrefix; overall their union, highest first.
    for e in report["envs"].as_array().unwrap() {
        let team = format!("@hexacore/hx-erp-{}", e["plant"].as_str().unwrap());
        let want: Vec<&str> = match e["risk"].as_str().unwrap() {
            "high" => vec!["@hexacore/architecture-board", &team],
            "medium" => vec!["@hexacore/erp-platform-team", &team],
            _ => vec![&team],
        };
        assert_eq!(e["approvers"], serde_json::json!(want), "{e}");
    }
    assert_eq!(
        report["approvers"],
        serde_json::json!([
            "@hexacore/architecture-board",
            "@hexacore/hx-erp-bordeaux",
            "@hexacore/hx-erp-wroclaw",
            "@hexacore/erp-platform-team",
            "@hexacore/hx-erp-dresden",
            "@hexacore/hx-erp-stuttgart",
        ])
    );
    for e in report["envs"].as_array().unwrap() {
        let rules: Vec<&str> = e["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["rule"].as_str().unwrap())
            .collect();
        let files = e["files"].as_array().unwrap();
        let want = match e["plant"].as_str().unwrap() {
            "bordeaux" => "tenancy-changed",
            "wroclaw" => "plant-removed",
            "dresden" => "recovery-tightened",
            _ => "image-bump",
        };
        assert!(rules.contains(&want), "{e}");
        assert!(!files.is_empty(), "{e}");
        // Each intent change is linked to the files it caused: every changed field and every
        // changed file is in a cause, and the cause of the field the rule matched names the
        // edit of the plant file that made it.
        let causes = e["causes"].as_array().unwrap();
        for c in e["changes"].as_array().unwrap() {
            assert!(
                causes
                    .iter()
                    .any(|k| k["fields"].as_array().unwrap().contains(&c["field"])),
                "{c} has no cause: {e}"
            );
        }
        for f in files {
            assert!(
                causes
                    .iter()
                    .any(|k| k["files"].as_array().unwrap().contains(&f["path"])),
                "{f} has no cause: {e}"
            );
        }
        let edit_line = |file: &str, text: &str| {
            let text_now = std::fs::read_to_string(dir.join(file)).unwrap();
            1 + text_now.lines().position(|l| l.contains(text)).unwrap()
        };
        let (attribution, edits) = match e["plant"].as_str().unwrap() {
            "dresden" => (
                "sole",
                serde_json::json!([{"file": "plants/germany/dresden.toml",
                    "line": edit_line("plants/germany/dresden.toml", "rpo = \"2m\""),
                    "added_lines": 1, "removed_lines": 1}]),
            ),
            "stuttgart" => (
                "sole",
                serde_json::json!([{"file": "plants/germany/stuttgart.yaml",
                    "line": edit_line("plants/germany/stuttgart.yaml", "18.0-hx3"),
                    "added_lines": 1, "removed_lines": 1}]),
            ),
            "wroclaw" => ("sole", serde_json::json!([])),
            _ => ("combined", serde_json::Value::Null),
        };
        let main = causes
            .iter()
            .find(|k| k["attribution"] == attribution)
            .unwrap_or_else(|| panic!("no {attribution} cause: {e}"));
        if !edits.is_null() {
            assert_eq!(causes.len(), 1, "{e}");
            assert_eq!(main["edits"], edits, "{e}");
            assert_eq!(main["files"].as_array().unwrap().len(), files.len());
        } else {
            // bordeaux: the tenancy edit does not compile without the network it needs, so
            // they cause its files together; the network edit alone changes nothing of the
            // environment (a namespace tenancy has no network of its own), so it is no cause
            // by itself.
            assert!(
                main["fields"]
                    .as_array()
                    .unwrap()
                    .contains(&"tenancy".into())
            );
            assert_eq!(main["files"].as_array().unwrap().len(), files.len());
            let tenancy_line = edit_line("plants/france/bordeaux.toml", "dedicated-cluster");
            assert!(
                main["edits"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|d| d["line"] == tenancy_line),
                "{main}"
            );
            assert_eq!(causes.len(), 1, "{e}");
            assert!(
                main["fields"]
                    .as_array()
                    .unwrap()
                    .contains(&"network.cidr".into()),
                "{main}"
            );
        }
        if e["plant"] == "wroclaw" {
            assert!(files.iter().all(|f| f["change"] == "deleted"));
            assert!(
                files.iter().any(|f| f["rule"] == "stateful-deleted"
                    && f["path"]
                        .as_str()
                        .unwrap()
                        .ends_with("postgrescluster-postgres.yaml")),
                "removal shows what it deletes: {e}"
            );
        }
        if e["plant"] == "stuttgart" {
            assert!(files.iter().all(|f| f["change"] == "changed"));
        }
    }
    // The same change against the lock gives the same intent and files. Without the plant
    // files of the base, an environment whose changes were written in one place has that
    // change as sole cause (no edit to name), and one written in several is not split.
    let (code, from_lock, err) = run(&["diff", "plants", "--lock", "--format", "json"], dir);
    assert_eq!(code, 0, "{err}");
    let mut from_lock: serde_json::Value = serde_json::from_str(&from_lock).unwrap();
    let mut envs = report["envs"].clone();
    for (l, g) in from_lock["envs"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .zip(envs.as_array_mut().unwrap())
    {
        let causes = l["causes"].take();
        let want = if l["plant"] == "bordeaux" {
            "combined"
        } else {
            "sole"
        };
        assert_eq!(causes[0]["attribution"], want, "{l}");
        assert_eq!(causes[0]["edits"], serde_json::json!([]), "{l}");
        assert_eq!(
            causes[0]["files"].as_array().unwrap().len(),
            l["files"].as_array().unwrap().len()
        );
        g["causes"].take();
    }
    assert_eq!(from_lock["envs"], envs);
    assert_eq!(from_lock["base"], "gitops/blueprint.lock");

    // Without --base or --lock, in git: the merge base of HEAD and the default branch (main).
    let (code, default, err) = run(&["diff", "plants", "--format", "json"], dir);
    assert_eq!(code, 0, "{err}");
    let default: serde_json::Value = serde_json::from_str(&default).unwrap();
    assert_eq!(default["envs"], report["envs"]);
    assert!(
        default["base"]
            .as_str()
            .unwrap()
            .starts_with("git merge-base of main and HEAD ("),
        "{}",
        default["base"]
    );

    for (format, name) in [("text", "diff_text"), ("markdown", "diff_markdown")] {
        let (code, out, err) = run(
            &["diff", "plants", "--base", "main", "--format", format],
            dir,
        );
        assert_eq!(code, 0, "{err}");
        assert!(out.len() < 65_536);
        insta::assert_snapshot!(name, out);
    }
    insta::assert_snapshot!("diff_json", json);
}

#[test]
fn drift_and_exit_code() {
    let s = repository("diff-drift");
    let dir = s.path();
    // Back to the committed plants: no intent change, the output is what OUT holds.
    git(dir, &["checkout", "-q", "--", "plants"]);
    let (code, out, err) = run(&["diff", "plants", "--exit-code"], dir);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert!(
        out.contains("no change: the output is byte-identical"),
        "{out}"
    );
    // A hand edit of a generated file is drift, with both hashes, and a change.
    let edited = dir.join("gitops/plants/lyon/prod/kubernetes/configmap-odoo-conf.yaml");
    let mut text = std::fs::read_to_string(&edited).unwrap();
    text.push_str("# tuned by hand\n");
    std::fs::write(&edited, text).unwrap();
    let (code, json, _) = run(&["diff", "plants", "--format", "json", "--exit-code"], dir);
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let drift = report["drift"].as_array().unwrap();
    assert_eq!(drift.len(), 1, "{report}");
    assert_eq!(
        drift[0]["path"],
        "plants/lyon/prod/kubernetes/configmap-odoo-conf.yaml"
    );
    assert_ne!(drift[0]["locked"], drift[0]["actual"]);
    // Without --exit-code a difference still exits 0.
    assert_eq!(run(&["diff", "plants"], dir).0, 0);
    // A revision git does not know is a usage error.
    let (code, _, err) = run(&["diff", "plants", "--base", "no-such-branch"], dir);
    assert_eq!(code, 2);
    assert!(err.contains("no-such-branch"), "{err}");
}

/// Two edits of one plant file, and a comment: each edit is replayed alone on the base and
/// gets the fields and files it changes by itself; the comment causes nothing.
#[test]
fn edits_of_one_plant_are_linked_to_their_own_files() {
    let s = Scratch::new("diff-split");
    let dir = s.path();
    copy_dir(
        &root().join("examples/manufacturing-group/plants"),
        &dir.join("plants"),
    );
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "fleet"]);
    let stuttgart = dir.join("plants/germany/stuttgart.yaml");
    edit(
        &stuttgart,
        "# PostgreSQL (Terraform)",
        "# PostgreSQL (Terraform modules)",
    );
    edit(&stuttgart, "pitrWindow: 30d", "pitrWindow: 21d");
    edit(&stuttgart, "users: 140", "users: 180");
    let (code, json, err) = run(
        &["diff", "plants", "--base", "main", "--format", "json"],
        dir,
    );
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let envs = report["envs"].as_array().unwrap();
    assert_eq!(envs.len(), 2, "{report}");
    for e in envs {
        assert_eq!(e["plant"], "stuttgart");
        let causes = e["causes"].as_array().unwrap();
        let line_of = |k: &serde_json::Value| k["edits"][0]["line"].as_u64().unwrap();
        let lines: Vec<u64> = causes.iter().map(line_of).collect();
        // One cause per edit, none for the comment; staging writes its own users, so the
        // users edit is prod's only.
        let want: &[u64] = if e["env"] == "prod" { &[23, 29] } else { &[23] };
        assert_eq!(lines, want, "{e}");
        for k in causes {
            assert_eq!(k["attribution"], "replayed", "{k}");
            assert_eq!(k["edits"].as_array().unwrap().len(), 1, "{k}");
            assert!(!k["files"].as_array().unwrap().is_empty(), "{k}");
        }
        let fields = |k: &serde_json::Value| -> Vec<String> {
            k["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap().to_string())
                .collect()
        };
        let pitr = fields(&causes[0]);
        assert!(
            pitr.contains(&"recovery.pitrWindow".to_string()),
            "{pitr:?}"
        );
        if e["env"] == "staging" {
            continue;
        }
        let users = fields(&causes[1]);
        assert!(users.contains(&"odoo.users".to_string()), "{users:?}");
        assert!(
            !pitr.iter().any(|f| users.contains(f)),
            "{pitr:?} {users:?}"
        );
        // The users edit sizes Odoo: the autoscaler is its file, not the window's, and the
        // file's class is that of its own cause (capacity, medium), not the environment's.
        let has = |k: &serde_json::Value, p: &str| {
            k["files"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f.as_str().unwrap().ends_with(p))
        };
        let hpa = "horizontalpodautoscaler-odoo-web.yaml";
        assert!(has(&causes[1], hpa), "{e}");
        assert!(!has(&causes[0], hpa), "{e}");
        let hpa = e["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(hpa))
            .unwrap();
        assert_eq!(
            (&hpa["risk"], &hpa["rule"]),
            (&"medium".into(), &"intent".into())
        );
        assert!(hpa["reason"].as_str().unwrap().contains("users"), "{hpa}");
        assert_eq!(e["risk"], "high");
        // Every changed file has a cause.
        for f in e["files"].as_array().unwrap() {
            assert!(
                causes.iter().any(|k| has(k, f["path"].as_str().unwrap())),
                "{f}"
            );
        }
    }
}

/// Against a lock written by another blueprint version, a file that changed with no intent
/// change is the generator's change (`template`), not a hand edit.
#[test]
fn a_new_generator_version_shows_as_template() {
    let s = Scratch::new("diff-template");
    let dir = s.path();
    copy_dir(
        &root().join("examples/quickstart/plants"),
        &dir.join("plants"),
    );
    let (code, _, err) = run(&["build", "plants", "--out", "gitops"], dir);
    assert_eq!(code, 0, "{err}");
    // As an older generator would have left it: other bytes, recorded in its lock.
    let path = "plants/lyon/prod/kubernetes/deployment-odoo-web.yaml";
    let file = dir.join("gitops").join(path);
    let older = std::fs::read_to_string(&file).unwrap().replacen(
        "replicas:",
        "# written by an older template\nreplicas:",
        1,
    );
    std::fs::write(&file, &older).unwrap();
    let lock_path = dir.join("gitops/blueprint.lock");
    let mut lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&lock_path).unwrap()).unwrap();
    lock["generator"] = "blueprint 0.0.1".into();
    lock["files"][path] = blueprint_emit::sha256_hex(older.as_bytes()).into();
    std::fs::write(&lock_path, serde_json::to_string_pretty(&lock).unwrap()).unwrap();
    let (code, json, err) = run(&["diff", "plants", "--format", "json"], dir);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        report["base"], "gitops/blueprint.lock",
        "outside git: the lock"
    );
    assert_eq!(report["drift"], serde_json::json!([]), "{report}");
    assert_eq!(report["envs"], serde_json::json!([]), "{report}");
    let files = report["other_files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{report}");
    assert_eq!(files[0]["path"], path);
    assert_eq!(files[0]["rule"], "template");
    assert_eq!(files[0]["risk"], "medium");
    let reason = files[0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("generated by blueprint 0.0.1, now by blueprint "),
        "{reason}"
    );
}

/// The first pull request of a fleet: everything is new, and a shared cluster's platform is
/// said to be one, not a plant named after the cluster.
#[test]
fn a_first_fleet_shows_its_shared_platforms_as_such() {
    let s = Scratch::new("diff-first");
    let dir = s.path();
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("README.md"), "fleet\n").unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "empty"]);
    copy_dir(
        &root().join("examples/manufacturing-group/plants"),
        &dir.join("plants"),
    );
    let (code, json, err) = run(&["diff", "plants", "--format", "json"], dir);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let envs = report["envs"].as_array().unwrap();
    assert!(envs.iter().all(|e| e["status"] == "added"), "{report}");
    let platforms: Vec<&str> = envs
        .iter()
        .filter(|e| e["dir"].as_str().unwrap().starts_with("clusters/"))
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert!(!platforms.is_empty(), "{report}");
    for reason in platforms {
        assert!(
            reason.starts_with("new shared platform of cluster shared-"),
            "{reason}"
        );
    }
    assert!(
        envs.iter()
            .filter(|e| e["dir"].as_str().unwrap().starts_with("plants/"))
            .all(|e| e["reason"].as_str().unwrap().starts_with("new plant ")),
        "{report}"
    );
}

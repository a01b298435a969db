//! The provenance tables (`blueprint_compiler::provenance`) checked against every example's
//! generated tree, so they cannot rot: each recorded field that a generated file has holds its
//! row's value (after the entry's transform), each entry is exercised by some example, and each
//! derivation rule the examples use has its inputs recorded, naming rows that exist.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::panic,
    missing_docs
)]

mod common;

use blueprint_cli::build::{Options, build};
use blueprint_compiler::explain;
use blueprint_compiler::lower::Scope;
use blueprint_compiler::provenance::{self, RULE_INPUTS, TABLE};
use common::{root, run};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn examples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path().join("plants"))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 4, "examples: {dirs:?}");
    dirs
}

#[test]
fn every_table_entry_holds_on_every_example() {
    // Entry index → how many fields it was checked on.
    let mut checked: BTreeMap<usize, usize> = BTreeMap::new();
    let mut rules: BTreeSet<&'static str> = BTreeSet::new();
    let mut fields: BTreeSet<String> = BTreeSet::new();
    for dir in examples() {
        let inputs = blueprint_cli::walk::read_plants(&dir).unwrap();
        let built = build(
            &inputs,
            &Options {
                threads: 4,
                dir: Some(blueprint_cli::walk::display(&dir)),
                ..Options::default()
            },
        );
        assert!(!built.failed(), "{} does not build", dir.display());
        let c = &built.compilation;
        let ir = built.ir.as_ref().unwrap();
        for p in c.plants.iter().chain(&c.platforms) {
            for r in explain::rows(&c.map, p) {
                rules.extend(r.rule);
                fields.insert(r.field);
            }
        }
        for output in &ir.outputs {
            let matches = provenance::entries_for(&output.path);
            if matches.is_empty() {
                continue;
            }
            let Scope::Plant(i) = output.scope else {
                panic!("{}: a recorded path outside a plant", output.path);
            };
            let ctx = &ir.plants[i];
            let list = if ctx.platform {
                &c.platforms
            } else {
                &c.plants
            };
            let plant = list
                .iter()
                .find(|r| r.name.value == ctx.name && r.env == ctx.env)
                .unwrap();
            let rows = explain::rows(&c.map, plant);
            let text = String::from_utf8(built.files[&output.path].clone()).unwrap();
            for m in matches {
                let at = TABLE.iter().position(|e| std::ptr::eq(e, m.entry)).unwrap();
                for index in 0.. {
                    let field = m.entry.field.replace("<i>", &index.to_string());
                    let Some(value) = provenance::field_value(&output.path, &text, &field).unwrap()
                    else {
                        break;
                    };
                    let found = provenance::lookup(&output.path, &field)
                        .unwrap_or_else(|| panic!("{}#{field}: no entry", output.path));
                    assert!(
                        std::ptr::eq(found.entry, m.entry),
                        "{}#{field}",
                        output.path
                    );
                    let row = provenance::row(&rows, &found).unwrap_or_else(|| {
                        panic!("{}#{field}: no row {}[{index}]", output.path, found.source)
                    });
                    if let Err(why) =
                        provenance::check(m.entry.transform, &row.value, &value, &output.item)
                    {
                        panic!("{}: {}#{field}: {why}", dir.display(), output.path);
                    }
                    *checked.entry(at).or_default() += 1;
                    if !m.entry.field.contains("<i>") {
                        break;
                    }
                }
            }
        }
    }
    let unused: Vec<String> = TABLE
        .iter()
        .enumerate()
        .filter(|(i, _)| !checked.contains_key(i))
        .map(|(_, e)| format!("{} #{}", e.path, e.field))
        .collect();
    assert!(
        unused.is_empty(),
        "entries no example exercises: {unused:?}"
    );
    let unknown: Vec<&str> = rules
        .iter()
        .copied()
        .filter(|r| provenance::inputs_of(r).is_none())
        .collect();
    assert!(
        unknown.is_empty(),
        "rules without recorded inputs: {unknown:?}"
    );
    for (rule, inputs) in RULE_INPUTS {
        assert!(
            rules.contains(rule),
            "rule {rule} is not used by any example"
        );
        for i in *inputs {
            assert!(fields.contains(*i), "rule {rule}: input {i} is no row");
        }
    }
}

fn snap(name: &str, value: &str) {
    insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, value);
    });
}

const DIR: &str = "examples/manufacturing-group/plants";

fn explain(arg: &str, json: bool) -> (i32, String, String) {
    let mut args = vec!["explain", arg, "--dir", DIR];
    if json {
        args.extend(["--format", "json"]);
    }
    run(&args, &root())
}

/// The acceptance fields of the provenance issue, on the manufacturing-group example.
#[test]
fn explain_path_traces_the_acceptance_fields() {
    let fields = [
        "plants/lyon/prod/pgbackrest/pgbackrest.conf#global.repo1-retention-full",
        "plants/lyon/prod/kubernetes/postgrescluster-postgres.yaml#spec.backups.pgbackrest.global.repo1-retention-full",
        "plants/lyon/prod/kubernetes/postgrescluster-postgres.yaml#spec.patroni.dynamicConfiguration.postgresql.parameters.archive_timeout",
        "plants/lyon/prod/kubernetes/horizontalpodautoscaler-odoo-web.yaml#spec.maxReplicas",
        "plants/lyon/prod/kubernetes/networkpolicy-integration-group-bi.yaml#spec.ingress[0].from[0].ipBlock.cidr",
        "plants/lyon/prod/traefik/middleware-odoo-ratelimit.yaml#spec.rateLimit.average",
        "plants/bordeaux/prod/traefik/middleware-integration-scanners-ratelimit.yaml#spec.rateLimit.burst",
        "plants/lyon/prod/kubernetes/configmap-odoo-conf.yaml#data.odoo.conf.options.workers",
        "plants/lyon/prod/kubernetes/configmap-odoo-conf.yaml#data.odoo.conf.options.db_maxconn",
    ];
    let mut all = String::new();
    for f in fields {
        let (code, out, err) = explain(f, false);
        assert_eq!((code, err.as_str()), (0, ""), "{f}");
        all.push_str(&format!("$ blueprint explain '{f}'\n{out}\n"));
    }
    snap("provenance__text", &all);
    let (code, out, err) = explain(fields[0], true);
    assert_eq!((code, err.as_str()), (0, ""));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["field"]["provenance"]["chain"]["inputs"][0]["field"],
        "recovery.pitrWindow"
    );
    snap("provenance__json", &out);
}

#[test]
fn explain_path_without_a_field_lists_the_recorded_fields() {
    let (code, out, err) = explain(
        "plants/lyon/prod/kubernetes/postgrescluster-postgres.yaml",
        false,
    );
    assert_eq!((code, err.as_str()), (0, ""));
    snap("provenance__file", &out);
    // `lyon/prod` is still a plant and environment.
    let (code, out, _) = explain("lyon/prod", false);
    assert_eq!(code, 0);
    assert!(out.starts_with("lyon (prod) from "), "{out}");
}

#[test]
fn explain_path_unknown_fields_and_paths() {
    let mut all = String::new();
    for arg in [
        "plants/lyon/prod/pgbackrest/pgbackrest.conf#global.delta",
        "terraform/plants/lyon/prod/main.tf#module.backup_identity.role_name",
        "plants/lyon/prod/pgbackrest/pgbackrest.conf#global.no-such-key",
        "plants/lyon/prod/pgbackrest/pgbackrest.cnf#global.repo1-retention-full",
        "plants/lyon/prod/kubernetes/no-such-file.yaml",
    ] {
        let (code, out, err) = explain(arg, false);
        all.push_str(&format!(
            "$ blueprint explain '{arg}'\nexit {code}\n{out}{err}\n"
        ));
    }
    snap("provenance__unknown", &all);
}

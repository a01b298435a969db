//! Every example fleet passes `check` with no finding at all, and every example file
//! validates against the committed JSON Schemas.

use crate::support::{check_dir, root};
use serde_json::Value;

fn examples() -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(root().join("examples"))
        .expect("examples/ exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("plants").is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_example_passes_check_without_findings() {
    let dirs = examples();
    assert!(
        dirs.len() >= 4,
        "expected the four example fleets, found {dirs:?}"
    );
    for dir in dirs {
        let (c, out) = check_dir(&dir);
        assert!(c.diagnostics.is_empty(), "{}:\n{out}", dir.display());
        assert!(!c.plants.is_empty(), "{} resolved no plant", dir.display());
        assert!(
            dir.join("README.md").is_file(),
            "{} has no README.md",
            dir.display()
        );
    }
}

#[test]
fn every_example_file_validates_against_the_committed_schemas() {
    let load = |name: &str| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(root().join("schemas").join(name)).expect("schema committed"),
        )
        .expect("schema is JSON")
    };
    let plant = jsonschema::validator_for(&load("plant.v1.json")).expect("plant schema compiles");
    let fleet = jsonschema::validator_for(&load("fleet.v1.json")).expect("fleet schema compiles");
    let mut checked = 0;
    for dir in examples() {
        for input in crate::support::read_inputs(&dir, "plants") {
            let mut map = blueprint_diagnostics::SourceMap::new();
            let mut diags = Vec::new();
            let (id, ok) =
                blueprint_syntax::read_source(&mut map, &input.path, &input.bytes, &mut diags);
            assert!(ok);
            let format = blueprint_syntax::Format::of_path(&input.path).expect("input file");
            let root =
                blueprint_syntax::parse(&map, id, format, &blueprint_syntax::Limits::default())
                    .root
                    .expect("parses");
            let v = root.to_json();
            let validator = if input.is_fleet { &fleet } else { &plant };
            let errors: Vec<String> = validator
                .iter_errors(&v)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}", input.path);
            checked += 1;
        }
    }
    assert!(checked > 20);
}

#[test]
fn generated_fleets_pass_check_without_findings() {
    let c = blueprint_compiler::compile(&blueprint_tests::fleetgen::inputs(120));
    let out = blueprint_diagnostics::render_human(&c.map, &c.diagnostics, false);
    assert!(c.diagnostics.is_empty(), "{out}");
    assert_eq!(c.plants.len(), 240);
    assert_eq!(
        blueprint_tests::fleetgen::plant(7),
        blueprint_tests::fleetgen::plant(7)
    );
}

#[test]
fn a_fleet_written_from_design_md_alone_passes_check() {
    let (c, out) = check_dir(&root().join("tests/fixtures/design-only"));
    assert!(c.diagnostics.is_empty(), "{out}");
    assert_eq!(c.plants.iter().filter(|p| p.env == "prod").count(), 8);
}

#[test]
fn one_overlap_in_a_large_fleet_is_found_once_with_both_places() {
    let mut inputs = blueprint_tests::fleetgen::inputs(200);
    // plant 5 is dedicated-cluster with prod network 10.0.16.0/21; plant 9 gets the same one.
    let nine = inputs
        .iter_mut()
        .find(|i| i.path.ends_with("plant-00009.yaml"))
        .expect("plant 9");
    let text = String::from_utf8(nine.bytes.clone())
        .expect("utf-8")
        .replace("cidr: 10.0.32.0/21", "cidr: 10.0.16.0/21");
    nine.bytes = text.into_bytes();
    let c = blueprint_compiler::compile(&inputs);
    let overlaps: Vec<_> = c
        .diagnostics
        .iter()
        .filter(|d| d.code.0 == "BP3004")
        .collect();
    assert_eq!(overlaps.len(), 1, "{:#?}", c.diagnostics);
    let d = overlaps[0];
    let places: Vec<String> = d
        .primary
        .iter()
        .chain(&d.secondary)
        .map(|l| c.map.location(l.span))
        .collect();
    assert!(
        places
            .iter()
            .any(|p| p.starts_with("plants/plant-00005.yaml")),
        "{places:?}"
    );
    assert!(
        places
            .iter()
            .any(|p| p.starts_with("plants/plant-00009.yaml")),
        "{places:?}"
    );
}

#[test]
fn every_shared_cluster_platform_resolves_without_errors() {
    let base = crate::support::root().join("examples/shared-warehouses");
    let c = blueprint_compiler::compile(&crate::support::read_inputs(&base, "plants"));
    assert!(!c.has_errors(), "{:?}", crate::support::findings(&c));
    assert!(
        !c.platforms.is_empty(),
        "the shared clusters' platforms resolve"
    );
    for p in &c.platforms {
        assert_eq!(p.env, "prod");
        assert!(p.odoo.users.value >= 1);
    }
}

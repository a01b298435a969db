//! The committed JSON Schemas are what `blueprint schema` generates.

use crate::support::root;
use blueprint_syntax::schema::{fleet_schema, plant_schema, to_pretty};

#[test]
fn committed_schemas_are_current() {
    for (name, v) in [
        ("plant.v1.json", plant_schema()),
        ("fleet.v1.json", fleet_schema()),
    ] {
        let committed =
            std::fs::read_to_string(root().join("schemas").join(name)).unwrap_or_default();
        assert!(
            committed == to_pretty(&v),
            "schemas/{name} is stale: regenerate with `cargo run -p blueprint-cli -- schema --write schemas/`"
        );
    }
}

#[test]
fn unknown_keys_are_rejected_by_the_plant_schema() {
    let schema = plant_schema();
    let v = jsonschema::validator_for(&schema).expect("compiles");
    let plant = serde_json::json!({"apiVersion": "blueprint/v1", "kind": "Plant", "name": "x", "region": "eu-west", "tier": "basic", "tenancy": "shared", "rpo": "5m"});
    assert!(!v.is_valid(&plant));
}

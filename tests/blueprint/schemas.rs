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

#[test]
fn docs_tiers_table_matches_the_embedded_profiles() {
    use blueprint_syntax::{Format, Limits, NodeKind};
    let doc = std::fs::read_to_string(root().join("docs/tiers.md")).expect("docs/tiers.md");
    let mut map = blueprint_diagnostics::SourceMap::new();
    let id = map.add("tiers.toml", blueprint_compiler::fleet::TIERS);
    let tiers = blueprint_syntax::parse(&map, id, Format::Toml, &Limits::default())
        .root
        .expect("embedded tiers parse");
    let text = |n: &blueprint_syntax::Node| match &n.kind {
        NodeKind::Str(s) => s.clone(),
        NodeKind::Int { raw, .. } => raw.clone(),
        NodeKind::Bool(b) => b.to_string(),
        NodeKind::Seq(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    };
    let critical = tiers.get("critical").expect("critical");
    let keys: Vec<&str> = critical
        .as_map()
        .expect("table")
        .iter()
        .map(|(k, _)| k.name.as_str())
        .collect();
    for key in keys {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| `{key}` |")))
            .unwrap_or_else(|| panic!("docs/tiers.md has no row for `{key}`"));
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        for (i, tier) in ["critical", "standard", "basic"].iter().enumerate() {
            let v = text(
                tiers
                    .get(tier)
                    .and_then(|t| t.get(key))
                    .expect("every tier sets every key"),
            );
            assert_eq!(cells[2 + i], v, "docs/tiers.md `{key}` for {tier}");
        }
    }
}

#[test]
fn the_plant_schema_flags_malformed_values_as_editors_type_them() {
    let v = jsonschema::validator_for(&plant_schema()).expect("compiles");
    let plant = |rpo: &str, name: &str| {
        serde_json::json!({"apiVersion": "blueprint/v1", "kind": "Plant", "name": name, "region": "eu-west",
            "tier": "basic", "tenancy": "shared", "recovery": {"rpo": rpo}})
    };
    assert!(v.is_valid(&plant("15m", "lyon")));
    assert!(!v.is_valid(&plant("15min", "lyon")), "duration unit");
    assert!(!v.is_valid(&plant("15m", "Lyon_1")), "DNS label");
    assert!(
        !v.is_valid(&plant("15m", &"a".repeat(41))),
        "40 characters at most"
    );
}

//! JSON Schemas of plant and fleet files, derived from the same types the decoder reads.
//!
//! Regenerate the committed copies with `cargo run -p blueprint-cli -- schema --write schemas/`.

use crate::doc::{FleetDoc, PlantDoc};
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

/// Plant keys an environment overlay may not set.
pub const OVERLAY_FIXED: &[&str] = &[
    "apiVersion",
    "kind",
    "name",
    "region",
    "tier",
    "tenancy",
    "environments",
];
/// Plant keys `defaults` in fleet.toml may not set.
pub const DEFAULTS_FIXED: &[&str] = &["apiVersion", "kind", "name", "environments"];
/// Plant keys every plant file must set itself.
pub const PLANT_REQUIRED: &[&str] = &["apiVersion", "kind", "name", "region", "tier", "tenancy"];

/// Removes the `null` alternative schemars adds to optional fields: absent keys are how a
/// plant says "not set", and an explicit null is refused by the decoder.
fn strip_null(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if let Some(Value::Array(types)) = o.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    o.insert("type".into(), only);
                }
            }
            for key in ["anyOf", "oneOf"] {
                if let Some(Value::Array(alts)) = o.get_mut(key) {
                    alts.retain(|a| a.get("type") != Some(&json!("null")));
                    if alts.len() == 1 {
                        let only = alts.remove(0);
                        o.remove(key);
                        if let Value::Object(inner) = only {
                            for (k, val) in inner {
                                o.entry(k).or_insert(val);
                            }
                        }
                    }
                }
            }
            for (_, child) in o.iter_mut() {
                strip_null(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_null),
        _ => {}
    }
}

fn generate<T: schemars::JsonSchema>(id: &str, title: &str) -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let mut v = generator.root_schema_for::<T>().to_value();
    strip_null(&mut v);
    if let Value::Object(o) = &mut v {
        o.insert("$id".into(), json!(id));
        o.insert("title".into(), json!(title));
    }
    v
}

/// A copy of the plant's properties without `fixed`, all optional.
fn partial_plant(plant: &Value, fixed: &[&str], description: &str) -> Value {
    let props: Map<String, Value> = plant
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .filter(|(k, _)| !fixed.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "description": description,
        "type": "object",
        "additionalProperties": false,
        "properties": props,
    })
}

/// The JSON Schema of plant files (`schemas/plant.v1.json`).
#[must_use]
pub fn plant_schema() -> Value {
    let mut v = generate::<PlantDoc>(
        "https://blueprint.dev/schemas/plant.v1.json",
        "blueprint plant (v1)",
    );
    let overlay = partial_plant(
        &v,
        OVERLAY_FIXED,
        "Environment overlay: plant settings deep-merged onto the base (maps merge, lists replace).",
    );
    if let Value::Object(o) = &mut v {
        o.insert("required".into(), json!(PLANT_REQUIRED));
        if let Some(Value::Object(defs)) = o.get_mut("$defs") {
            defs.insert("Overlay".into(), overlay);
        }
    }
    v
}

/// The JSON Schema of fleet files (`schemas/fleet.v1.json`).
#[must_use]
pub fn fleet_schema() -> Value {
    let plant = generate::<PlantDoc>("plant", "plant");
    let mut v = generate::<FleetDoc>(
        "https://blueprint.dev/schemas/fleet.v1.json",
        "blueprint fleet (v1)",
    );
    let mut defaults = partial_plant(&plant, DEFAULTS_FIXED, "Organisation-wide plant defaults.");
    if let Value::Object(o) = &mut v
        && let (Some(Value::Object(defs)), Some(Value::Object(plant_defs))) =
            (o.get_mut("$defs"), plant.get("$defs"))
    {
        for (k, d) in plant_defs {
            defs.entry(k.clone()).or_insert_with(|| d.clone());
        }
        if let Value::Object(d) = &mut defaults {
            d.remove("$defs");
        }
        defs.insert("Overlay".into(), defaults);
    }
    v
}

/// Pretty JSON with a final newline, as committed.
#[must_use]
pub fn to_pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

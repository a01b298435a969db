//! Hostile inputs: each ends with a finding (never a panic), quickly and in bounded memory.

use blueprint_compiler::{Input, compile};
use std::time::{Duration, Instant};

fn run(name: &str, bytes: Vec<u8>) -> Vec<String> {
    let start = Instant::now();
    let c = compile(&[Input {
        path: format!("plants/{name}"),
        bytes,
        is_fleet: false,
    }]);
    // A hang guard, not a benchmark: the figures live in docs/performance.md.
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{name} took {:?}",
        start.elapsed()
    );
    c.diagnostics.iter().map(|d| d.code.to_string()).collect()
}

fn expect(name: &str, bytes: Vec<u8>, code: &str) {
    let codes = run(name, bytes);
    assert!(
        codes.iter().any(|c| c == code),
        "{name}: expected {code}, got {codes:?}"
    );
}

#[test]
fn alias_bomb_is_refused_at_the_first_alias() {
    let mut s = String::from("a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
    for i in 1..12 {
        s.push_str(&format!(
            "b{i}: &b{i} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n",
            p = if i == 1 {
                "a".to_string()
            } else {
                format!("b{}", i - 1)
            }
        ));
    }
    expect("bomb.yaml", s.into_bytes(), "BP0006");
}

#[test]
fn ten_thousand_levels_of_nesting_are_refused() {
    let flow = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    expect(
        "deep-flow.yaml",
        format!("name: {flow}\n").into_bytes(),
        "BP0007",
    );
    // Block style: `- - - … x` nests one sequence per dash on a single 20 kB line.
    let block = format!("{}x\n", "- ".repeat(10_000));
    let codes = run("deep-block.yaml", block.into_bytes());
    assert!(codes.iter().any(|c| c == "BP0007"), "{codes:?}");
    let toml = format!("a = {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let codes = run("deep.toml", toml.into_bytes());
    assert!(
        codes.iter().any(|c| c == "BP0007" || c == "BP0003"),
        "{codes:?}"
    );
}

#[test]
fn duplicate_keys_inside_nested_maps_are_refused() {
    expect(
        "dup.yaml",
        b"apiVersion: blueprint/v1\nkind: Plant\nodoo:\n  users: 5\n  users: 6\n".to_vec(),
        "BP0004",
    );
    expect(
        "dup.toml",
        b"[odoo]\nusers = 5\nusers = 6\n".to_vec(),
        "BP0004",
    );
}

#[test]
fn yaml_1_1_booleans_are_refused() {
    expect(
        "yes.yaml",
        b"apiVersion: blueprint/v1\nkind: Plant\nname: yes\n".to_vec(),
        "BP0005",
    );
    expect(
        "on.yaml",
        b"apiVersion: blueprint/v1\nkind: Plant\nname: on\n".to_vec(),
        "BP0005",
    );
}

#[test]
fn bom_nul_and_invalid_utf8_are_refused() {
    expect(
        "bom.yaml",
        b"\xEF\xBB\xBFapiVersion: blueprint/v1\n".to_vec(),
        "BP0002",
    );
    expect(
        "nul.yaml",
        b"apiVersion: blue\0print/v1\n".to_vec(),
        "BP0002",
    );
    expect("latin1.yaml", b"name: caf\xE9\n".to_vec(), "BP0002");
}

#[test]
fn a_two_mebibyte_file_is_refused_before_parsing() {
    let mut s = String::from("apiVersion: blueprint/v1\nkind: Plant\ndescription: \"");
    s.push_str(&"x".repeat(2 * 1024 * 1024));
    s.push_str("\"\n");
    expect("big.yaml", s.into_bytes(), "BP0001");
}

#[test]
fn one_hundred_thousand_integrations_end_with_a_finding() {
    let mut s = String::from("apiVersion: blueprint/v1\nkind: Plant\nname: x\nintegrations:\n");
    for i in 0..100_000 {
        s.push_str(&format!("  - {{name: i{i}, kind: mes, direction: inbound, protocol: https, peers: [10.0.0.0/24]}}\n"));
    }
    // Over 1 MiB: refused before parsing. Under it, the node limit stops the parse.
    let codes = run("many.yaml", s.clone().into_bytes());
    assert!(codes.iter().any(|c| c == "BP0001"), "{codes:?}");
    let small: String = s.lines().take(3_000).map(|l| format!("{l}\n")).collect();
    assert!(small.len() < 1024 * 1024);
    expect("many-small.yaml", small.into_bytes(), "BP0007");
}

#[test]
fn several_documents_and_anchors_are_refused() {
    expect(
        "two.yaml",
        b"apiVersion: blueprint/v1\n---\napiVersion: blueprint/v1\n".to_vec(),
        "BP0008",
    );
    expect("anchor.yaml", b"a: &x 1\n".to_vec(), "BP0006");
    expect("tag.yaml", b"a: !!str 1\n".to_vec(), "BP0006");
}

#[test]
fn unquoted_version_look_alike_gets_a_quoting_hint() {
    let c = compile(&[Input {
        path: "plants/x.yaml".into(),
        bytes: b"apiVersion: blueprint/v1\nkind: Plant\nodoo:\n  version: 17.0\n".to_vec(),
        is_fleet: false,
    }]);
    let d = c
        .diagnostics
        .iter()
        .find(|d| d.code.0 == "BP0011")
        .expect("wrong type reported");
    assert!(
        d.help.as_deref().unwrap_or("").contains("\"17.0\""),
        "{d:?}"
    );
}

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

/// A valid plant (the quickstart's) with `edit` applied to its text.
fn quickstart_with(edit: impl Fn(String) -> String) -> Input {
    let base = std::fs::read_to_string(
        crate::support::root().join("examples/quickstart/plants/lyon.yaml"),
    )
    .expect("quickstart");
    Input {
        path: "plants/lyon.yaml".into(),
        bytes: edit(base).into_bytes(),
        is_fleet: false,
    }
}

fn fleet_with(extra: &str) -> Input {
    let mut fleet = blueprint_compiler::fleet::DEFAULT_FLEET.to_string();
    fleet.push_str(extra);
    Input {
        path: "plants/fleet.toml".into(),
        bytes: fleet.into_bytes(),
        is_fleet: true,
    }
}

fn codes_of(inputs: &[Input]) -> Vec<String> {
    let c = compile(inputs);
    let _ = blueprint_diagnostics::render_human(&c.map, &c.diagnostics, false);
    c.diagnostics.iter().map(|d| d.code.to_string()).collect()
}

#[test]
fn extreme_numbers_end_in_findings_not_panics() {
    let cases: Vec<(&str, Vec<Input>, &str)> = vec![
        (
            "cpuPerPod 0",
            vec![
                fleet_with("\n[tiers.standard]\ncpuPerPod = 0\n"),
                quickstart_with(|s| s),
            ],
            "BP0014",
        ),
        (
            "dbMaxconn 4e9",
            vec![
                fleet_with("\n[tiers.standard]\ndbMaxconn = 4000000000\n"),
                quickstart_with(|s| s),
            ],
            "BP0014",
        ),
        (
            "hpaFactor 0",
            vec![
                fleet_with("\n[tiers.standard]\nhpaFactor = 0\n"),
                quickstart_with(|s| s),
            ],
            "BP0014",
        ),
        (
            "huge size",
            vec![quickstart_with(|s| s.replace("size: 80Gi", "size: 6000Pi"))],
            "BP4006",
        ),
        (
            "huge pitrWindow",
            vec![quickstart_with(|s| {
                s.replace("pitrWindow: 14d", "pitrWindow: 18446744073709551615s")
            })],
            "BP4005",
        ),
        (
            "huge startup",
            vec![
                fleet_with("").clone_with(|f| {
                    f.replace(
                        "startupAllowance = \"10m\"",
                        "startupAllowance = \"18446744073709551615s\"",
                    )
                }),
                quickstart_with(|s| s),
            ],
            "BP4005",
        ),
        (
            "reserved 4e9",
            vec![
                fleet_with("").clone_with(|f| {
                    f.replace(
                        "reservedConnections = 10",
                        "reservedConnections = 4294967295",
                    )
                }),
                quickstart_with(|s| s),
            ],
            "BP0014",
        ),
        (
            "no environments",
            vec![quickstart_with(|s| {
                format!(
                    "{}\nenvironments: {{}}\n",
                    s.split("\nenvironments:").next().unwrap_or(&s)
                )
            })],
            "BP0010",
        ),
        (
            "critical may never allow shared",
            vec![
                fleet_with(
                    "\n[tiers.critical]\ntenancies = [\"shared\", \"dedicated-namespace\"]\n",
                ),
                quickstart_with(|s| s),
            ],
            "BP1001",
        ),
        (
            "internet in two halves",
            vec![quickstart_with(|s| {
                s.replace("172.16.10.0/26", "0.0.0.0/1\n      - 128.0.0.0/1")
            })],
            "BP3005",
        ),
    ];
    for (name, inputs, code) in cases {
        let got = codes_of(&inputs);
        assert!(
            got.iter().any(|c| c == code),
            "{name}: expected {code}, got {got:?}"
        );
    }
}

trait CloneWith {
    fn clone_with(&self, f: impl Fn(String) -> String) -> Input;
}

impl CloneWith for Input {
    fn clone_with(&self, f: impl Fn(String) -> String) -> Input {
        Input {
            path: self.path.clone(),
            bytes: f(String::from_utf8(self.bytes.clone()).expect("utf-8")).into_bytes(),
            is_fleet: self.is_fleet,
        }
    }
}

/// xorshift64*: a fixed-seed generator, so the mutations are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }
}

#[test]
fn mutated_example_files_end_in_findings_never_a_panic() {
    let root = crate::support::root();
    let sources: Vec<(String, Vec<u8>)> = [
        "examples/quickstart/plants/lyon.yaml",
        "examples/manufacturing-group/plants/fleet.toml",
        "examples/manufacturing-group/plants/germany/dresden.toml",
    ]
    .iter()
    .map(|p| (p.to_string(), std::fs::read(root.join(p)).expect("example")))
    .collect();
    // Bytes that matter to YAML and TOML syntax, plus multi-byte and invalid UTF-8.
    let tokens: &[&[u8]] = &[
        b":",
        b"-",
        b"[",
        b"]",
        b"{",
        b"}",
        b"\"",
        b"'",
        b"#",
        b"&a",
        b"*a",
        b"!!",
        b"\n",
        b"  ",
        b"=",
        b"\xc3\xa9",
        b"\xff",
        b"\0",
        b"---\n",
        b"0x",
        b"1e999",
        b"~",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..600 {
        let (path, original) = &sources[round % sources.len()];
        let mut bytes = original.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len());
            match rng.below(3) {
                0 => {
                    let t = tokens[rng.below(tokens.len())];
                    bytes.splice(at..at, t.iter().copied());
                }
                1 => {
                    let end = (at + 1 + rng.below(8)).min(bytes.len());
                    bytes.drain(at..end);
                }
                _ => bytes.truncate(at),
            }
        }
        let is_fleet = path.ends_with("fleet.toml");
        let input = Input {
            path: if is_fleet {
                "plants/fleet.toml".into()
            } else {
                format!(
                    "plants/{round}.{}",
                    if path.ends_with(".toml") {
                        "toml"
                    } else {
                        "yaml"
                    }
                )
            },
            bytes,
            is_fleet,
        };
        let c = compile(&[input]);
        let _ = blueprint_diagnostics::render_human(&c.map, &c.diagnostics, false);
        let _ = blueprint_diagnostics::render_json(&c.map, &c.diagnostics);
        assert!(
            c.diagnostics.iter().all(|d| d.code.0 != "BP9001"),
            "round {round}: internal error"
        );
    }
}

#[test]
fn a_typo_is_reported_once_and_hides_no_other_missing_key() {
    let codes = |edit: &dyn Fn(String) -> String| codes_of(&[quickstart_with(edit)]);
    // `tenncy`: one unknown key with its suggestion, not also "missing tenancy".
    assert_eq!(codes(&|s| s.replace("\ntenancy:", "\ntenncy:")), ["BP0009"]);
    // An integration's `nam` does not hide that the plant's own `name` is missing.
    let got = codes(&|s| {
        s.replace("\nname: lyon\n", "\n")
            .replace("  - name: scanners", "  - nam: scanners")
    });
    assert!(
        got.contains(&"BP0009".to_string()) && got.contains(&"BP0010".to_string()),
        "{got:?}"
    );
}

/// The `shared-warehouses` example with its fleet file edited, compiled.
fn shared_warehouses_with_fleet(
    edit: impl Fn(String) -> String,
) -> (blueprint_compiler::Compilation, String) {
    let base = crate::support::root().join("examples/shared-warehouses");
    let mut inputs = crate::support::read_inputs(&base, "plants");
    let fleet = inputs
        .iter_mut()
        .find(|i| i.is_fleet)
        .expect("shared-warehouses has a fleet file");
    let text = edit(String::from_utf8(fleet.bytes.clone()).expect("UTF-8"));
    fleet.bytes = text.clone().into_bytes();
    (compile(&inputs), text)
}

/// `plants/fleet.toml:<line>:` of the first line of `text` starting with `start`.
fn fleet_line(text: &str, start: &str) -> String {
    let n = text
        .lines()
        .position(|l| l.starts_with(start))
        .expect("the edited line");
    format!("plants/fleet.toml:{}:", n + 1)
}

#[test]
fn a_shared_platforms_own_values_are_reported_where_the_fleet_writes_them() {
    let unpinned = "image = \"registry.valdor.eu/odoo/odoo:18.0\"";
    let (c, text) = shared_warehouses_with_fleet(|s| {
        let pinned = s
            .lines()
            .find(|l| l.starts_with("image = \"registry.valdor.eu/odoo/odoo:18.0@"))
            .expect("wh-eu-west's image")
            .to_string();
        s.replacen(&pinned, unpinned, 1).replacen(
            "\"delivery\", \"account\"]",
            "\"delivery\", \"account\", \"Bad-Mod\"]",
            1,
        )
    });
    assert!(text.contains("\"Bad-Mod\"]"), "the module edit applies");
    let found = crate::support::findings(&c);
    let image_at = fleet_line(&text, unpinned);
    let modules_at = fleet_line(&text, "modules = [\"stock\", \"stock_picking_batch\"");
    // The tenants running the image and the platform report it once, at the fleet's value.
    assert_eq!(
        found.iter().filter(|f| f.starts_with("BP4001")).count(),
        1,
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|f| f.starts_with(&format!("BP4001 {image_at}"))),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|f| f.starts_with(&format!("BP4008 {modules_at}"))),
        "{found:?}"
    );
    // Neither blames the cluster's recovery promise.
    assert!(
        c.diagnostics
            .iter()
            .all(|d| !d.message.starts_with("shared platform of cluster")),
        "{found:?}"
    );
}

#[test]
fn an_operate_group_that_is_no_label_value_leaves_the_platform_team_platform() {
    let (c, text) = shared_warehouses_with_fleet(|s| {
        s.replacen(
            "operate = \"valdor-platform-operators\"",
            "operate = \"Platform Ops\"",
            1,
        )
    });
    assert!(text.contains("\"Platform Ops\""), "the edit applies");
    assert!(!c.has_errors(), "{:?}", crate::support::findings(&c));
    assert!(!c.platforms.is_empty());
    for p in &c.platforms {
        assert_eq!(p.owner.team.value, "platform");
    }
    // A group that is a label value names the team, as in the example.
    let (c, _) = shared_warehouses_with_fleet(|s| s);
    assert!(!c.platforms.is_empty());
    for p in &c.platforms {
        assert_eq!(p.owner.team.value, "valdor-platform-operators");
    }
}

#[test]
fn fleet_text_cannot_change_the_structure_of_a_generated_platform() {
    // A quote, a newline, a comment sign and a YAML indicator in the cluster's image: the
    // generated platform still parses, and holds the image as written.
    let hostile = "registry.valdor.eu/odoo/odoo:18.0\\\"\\nusers: 1\\n# &a *a: [";
    let (c, _) = shared_warehouses_with_fleet(|s| {
        let pinned = s
            .lines()
            .find(|l| l.starts_with("image = \"registry.valdor.eu/odoo/odoo:18.0@"))
            .expect("wh-eu-west's image")
            .to_string();
        s.replacen(&pinned, &format!("image = \"{hostile}\""), 1)
    });
    let found = crate::support::findings(&c);
    assert!(
        found.iter().all(|f| !f.contains("<generated>")),
        "no finding in the generated text itself: {found:?}"
    );
    let west = c
        .platforms
        .iter()
        .find(|p| p.cluster.as_ref().is_some_and(|k| k.value == "wh-eu-west"))
        .expect("wh-eu-west's platform resolves");
    assert_eq!(
        west.odoo.image.value,
        "registry.valdor.eu/odoo/odoo:18.0\"\nusers: 1\n# &a *a: ["
    );
}

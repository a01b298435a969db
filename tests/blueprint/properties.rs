//! Property tests (proptest): generated valid fleets pass `check` and build to verified trees;
//! structured mutations of the examples never panic, never give an internal error, and build
//! to verified trees whenever they still compile; arbitrary bytes and token soups never panic
//! the parsers. The invariants are `blueprint_tests::fuzz`'s, shared with the fuzz targets in
//! `fuzz/`; the generator is `blueprint_tests::plantgen`.
//!
//! Case counts (CI): see [`CASES`]. `BLUEPRINT_PROPTEST_CASES=N` runs N cases of every property
//! instead (e.g. `BLUEPRINT_PROPTEST_CASES=5000 cargo nextest run -p blueprint-tests -E
//! 'test(/properties::/)'`), and `BLUEPRINT_PROPTEST_SEED=S` explores another part of the
//! space (the default seed is fixed, so CI runs the same cases every time). A failure prints
//! the shrunk input files and the findings; proptest also records the failing case in
//! `tests/blueprint/proptest-regressions/properties.txt`, which replays it first on every
//! later run (commit it with the fix). Its `fuzz::join_files` form replays under the pipeline
//! fuzzer (fuzz/README.md).

use blueprint_compiler::Input;
use blueprint_tests::fuzz::{self, Outcome};
use blueprint_tests::plantgen;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{FileFailurePersistence, RngSeed};

/// Default cases per property in CI: 2 080 in all, about 52 s of CPU in a debug build
/// (dependencies optimised, ours not), so under 30 s on two idle cores. Measured: a generated
/// fleet checks (twice, in two input orders) in ~15 ms and builds in ~0.6 s; a mutation costs
/// ~55 ms on average (about one in six still compiles and is built); bytes ~3.6 ms.
const CASES: Cases = Cases {
    generated_check: 700,
    generated_build: 30,
    mutations: 350,
    bytes: 1_000,
};

struct Cases {
    generated_check: u32,
    generated_build: u32,
    mutations: u32,
    bytes: u32,
}

/// The proptest configuration of a property with `default` cases in CI.
#[allow(clippy::disallowed_methods)] // test configuration, not a build input
fn config(default: u32) -> ProptestConfig {
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let cases = var("BLUEPRINT_PROPTEST_CASES")
        .map_or(default, |n| u32::try_from(n).unwrap_or(u32::MAX).max(1));
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(var("BLUEPRINT_PROPTEST_SEED").unwrap_or(0x5eed_b1e9_2026)),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/blueprint/proptest-regressions/properties.txt"
        )))),
        // Shrinking replays builds: bound it so a failure is reported in minutes.
        max_shrink_time: 120_000,
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    }
}

/// Bytes for `plantgen::generate` (four plants and a fleet use up to about 2 000): proptest shrinks
/// them towards zeros, the simplest choices. The same bytes, written to a file, replay under
/// the `valid` fuzz target.
fn choices() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..4_096)
}

/// The findings of `inputs`, rendered as `check` shows them, and the inputs, when any is an
/// error.
fn errors_of(inputs: &[Input]) -> Option<String> {
    let c = blueprint_compiler::compile(inputs);
    c.has_errors().then(|| {
        format!(
            "{}\n{}",
            blueprint_diagnostics::render_human(&c.map, &c.diagnostics, false),
            fuzz::show_inputs(inputs)
        )
    })
}

proptest! {
    #![proptest_config(config(CASES.generated_check))]

    /// Every generated fleet passes `check` without an error, in any input order.
    #[test]
    fn generated_fleets_pass_check(bytes in choices()) {
        let g = plantgen::generate(&bytes);
        if let Some(errors) = errors_of(&g.inputs) {
            panic!("a generated fleet does not pass check:\n{errors}");
        }
        let mut reversed = g.inputs.clone();
        reversed.reverse();
        let (a, b) = (
            blueprint_compiler::compile(&g.inputs),
            blueprint_compiler::compile(&reversed),
        );
        prop_assert_eq!(
            crate::support::findings(&a),
            crate::support::findings(&b),
            "findings depend on the input order"
        );
    }
}

proptest! {
    #![proptest_config(config(CASES.generated_build))]

    /// Every generated fleet builds in memory with every file rendered and verified.
    #[test]
    fn generated_fleets_build_to_verified_trees(bytes in choices()) {
        let g = plantgen::generate(&bytes);
        match fuzz::pipeline(&g.inputs) {
            Outcome::Built(files) => prop_assert!(files > 0),
            Outcome::Refused(codes) => panic!(
                "a generated fleet is refused ({codes:?}):\n{}",
                errors_of(&g.inputs).unwrap_or_default()
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Structured mutations of the examples.

/// A unit to mutate: an example's fleet file (if any) and one of its plant files, which
/// compile clean together; `target` is the index of the file the mutations edit.
struct Unit {
    inputs: Vec<Input>,
    target: usize,
}

/// Every file of every example as a mutation target, with what it compiles with.
fn units() -> &'static [Unit] {
    static UNITS: std::sync::OnceLock<Vec<Unit>> = std::sync::OnceLock::new();
    UNITS.get_or_init(|| {
        let mut units = Vec::new();
        for name in crate::support::EXAMPLES {
            let base = crate::support::root().join("examples").join(name);
            let inputs = crate::support::read_inputs(&base, "plants");
            let fleet: Vec<Input> = inputs.iter().filter(|i| i.is_fleet).cloned().collect();
            let plants: Vec<&Input> = inputs.iter().filter(|i| !i.is_fleet).collect();
            for (k, p) in plants.iter().enumerate() {
                let mut unit = fleet.clone();
                unit.push((*p).clone());
                units.push(Unit {
                    target: unit.len() - 1,
                    inputs: unit.clone(),
                });
                // The fleet file is edited beside one plant after another.
                if !fleet.is_empty() && k < 3 {
                    units.push(Unit {
                        inputs: unit,
                        target: 0,
                    });
                }
            }
        }
        units
    })
}

#[test]
fn every_mutation_unit_compiles_clean_before_it_is_mutated() {
    assert!(units().len() > 20);
    for u in units() {
        if let Some(errors) = errors_of(&u.inputs) {
            panic!("{errors}");
        }
    }
}

/// Values a mutation writes in place of another, as typed values (written in the target's
/// format) or raw text.
#[derive(Debug, Clone)]
enum Lit {
    S(&'static str),
    Owned(String),
    I(i64),
    B(bool),
    Raw {
        yaml: &'static str,
        toml: &'static str,
    },
}

/// The kinds of scalar a [`Mutation::Similar`] tells apart, by the text it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Duration,
    Quantity,
    Network,
    Name,
    Choice,
    Schedule,
    Text,
    Number,
}

/// The family of a scalar written as `text` (quotes included).
fn family_of(text: &str) -> Family {
    let t = text.trim_matches(['"', '\'']);
    let unit = |s: &str, units: &[&str]| {
        let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && units.contains(&&s[digits.len()..])
    };
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) && t == text {
        Family::Number
    } else if t == "0"
        || (!t.contains('/') && t.chars().any(|c| c.is_ascii_digit()) && {
            let mut rest = t;
            let mut ok = !t.is_empty();
            while ok && !rest.is_empty() {
                let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                ok = n > 0 && rest[n..].starts_with(['s', 'm', 'h', 'd', 'w']);
                rest = rest.get(n + 1..).unwrap_or("");
            }
            ok
        })
    {
        Family::Duration
    } else if unit(
        t.split('/').next().unwrap_or(t),
        &["", "Ki", "Mi", "Gi", "Ti", "Pi", "k", "K", "M", "G", "T"],
    ) && t.chars().next().is_some_and(|c| c.is_ascii_digit())
        && !t.contains(':')
        && t.split('/')
            .nth(1)
            .is_none_or(|u| matches!(u, "s" | "day" | "d" | "m" | "h"))
    {
        Family::Quantity
    } else if t.contains('/')
        && t.chars()
            .all(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '/'))
    {
        Family::Network
    } else if t.starts_with(['M', 'T', 'W', 'F', 'S']) && t.get(3..4) == Some(" ")
        || t.contains('*')
        || t.starts_with('@')
        || (t.contains('/') && t.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
    {
        Family::Schedule
    } else if CHOICES.iter().any(|c| c == t) {
        Family::Choice
    } else if t
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '/' | '_' | '@' | ':'))
    {
        Family::Name
    } else {
        Family::Text
    }
}

/// Values of the plants' and fleets' enumerations (tier, tenancy, versions, integration
/// fields, provider…): every `const` of the published JSON Schemas, so a new choice is
/// mutated to as soon as the DSL has it.
static CHOICES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
    fn consts(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x.as_str()) {
                        ("const", Some(c)) if !out.iter().any(|o| o == c) => out.push(c.into()),
                        _ => consts(x, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| consts(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    consts(&blueprint_syntax::schema::plant_schema(), &mut out);
    consts(&blueprint_syntax::schema::fleet_schema(), &mut out);
    out
});

/// Literals by family: a mutation writes one in place of a scalar, of the scalar's own family
/// ([`Mutation::Similar`], which keeps more mutants meaningful and reaches the rules and the
/// build) or of any ([`Mutation::Replace`]).
fn families() -> Vec<(Family, Vec<Lit>)> {
    use Lit::{B, I, Raw, S};
    vec![
        (
            // Durations at and past their limits.
            Family::Duration,
            vec![
                S("0s"),
                S("0"),
                S("1s"),
                S("59s"),
                S("1m"),
                S("5m"),
                S("15m"),
                S("1h"),
                S("4h"),
                S("12h"),
                S("1d"),
                S("7d"),
                S("35d"),
                S("36d"),
                S("91d"),
                S("400d"),
                S("401d"),
                S("3650d"),
                S("3651d"),
                S("99999999999w"),
                S("1h30m"),
                S("0.5h"),
            ],
        ),
        (
            // Quantities and rates.
            Family::Quantity,
            vec![
                S("1Ki"),
                S("512Mi"),
                S("1Gi"),
                S("1.5Gi"),
                S("1Ei"),
                S("2Ei"),
                S("-1Gi"),
                S("200Mi/s"),
                S("0Mi/s"),
                S("5Gi/day"),
                S("0/day"),
                S("1/s"),
                S("0/s"),
                S("999999999999/h"),
            ],
        ),
        (
            // Networks.
            Family::Network,
            vec![
                S("0.0.0.0/0"),
                S("::/0"),
                S("10.0.0.0/8"),
                S("10.40.0.0/16"),
                S("172.16.10.0/28"),
                S("192.168.10.5/24"),
                S("1.2.3.4/33"),
                S("fe80::/10"),
                S("10.0.0.0"),
            ],
        ),
        (
            // Names, hosts, references.
            Family::Name,
            vec![
                S("a"),
                S("-a"),
                S("A"),
                S("prod"),
                S("staging"),
                S("lyon"),
                S("eu-west"),
                S("eu-central"),
                S("eu-south"),
                S("shared-eu-west"),
                S("wh-eu-west"),
                S("a.b"),
                S("lyon.erp.example.com"),
                S("erp.example.com"),
                S("x.erp.hexacore.eu"),
                S("registry.example.com/odoo/odoo:18.0"),
                S("docker.io/odoo:18"),
                S("registry.hexacore.eu/erp/Odoo:18"),
                S("erp@example.com"),
                S("not-an-email"),
                S("https://x"),
                S("/api/x"),
                S("no-slash"),
                Lit::Owned("a".repeat(41)),
                Lit::Owned("a".repeat(63)),
                Lit::Owned("b".repeat(64)),
                Lit::Owned(format!("{}.erp.example.com", "h".repeat(63))),
                Lit::Owned(format!(
                    "registry.example.com/odoo/odoo@sha256:{}",
                    "a".repeat(64)
                )),
            ],
        ),
        (
            // Enumerations: another valid choice reaches deeper than garbage.
            Family::Choice,
            CHOICES.iter().map(|c| S(c.as_str())).collect(),
        ),
        (
            // Schedules, windows, time zones.
            Family::Schedule,
            vec![
                S("* * * * *"),
                S("@hourly"),
                S("61 * * * *"),
                S("0 0 31 2 *"),
                S("CRON_TZ=UTC 0 * * * *"),
                S("Sun 23:00-01:00"),
                S("Mon 00:00-Sun 23:59"),
                S("Sun 02:00-02:00"),
                S("Sun 24:00-01:00"),
                S("Sat 22:00-Sun 04:00"),
                S("Sun 02:00-03:00"),
                S("UTC"),
                S("Europe/Paris"),
                S("America/St_Johns"),
                S("Australia/Lord_Howe"),
                S("Asia/Kathmandu"),
                S("EST5EDT"),
                S("Etc/GMT-14"),
                S("Mars/Olympus"),
            ],
        ),
        (
            // Free text that output formats must escape.
            Family::Text,
            vec![
                S(""),
                S(" "),
                S("a\"b'c"),
                S("line\nbreak"),
                S("{{ x }}"),
                S("$(id)`id`"),
                S("\u{7}bell"),
                S("é 工場 🏭"),
                S("# not a comment"),
                S(": x"),
                S("- item"),
                S("\\"),
            ],
        ),
        (
            // Numbers, booleans and the rest.
            Family::Number,
            vec![
                I(0),
                I(1),
                I(-1),
                I(5),
                I(15),
                I(16),
                I(17),
                I(60),
                I(443),
                I(65_535),
                I(65_536),
                I(100_000),
                I(100_001),
                I(4_294_967_295),
                I(4_294_967_296),
                I(i64::MAX),
                I(i64::MIN),
                B(true),
                B(false),
                Raw {
                    yaml: "1.5",
                    toml: "1.5",
                },
                Raw {
                    yaml: "1e999",
                    toml: "1e999",
                },
                Raw {
                    yaml: ".nan",
                    toml: "nan",
                },
                Raw {
                    yaml: "99999999999999999999",
                    toml: "99999999999999999999",
                },
                Raw {
                    yaml: "0x1F",
                    toml: "0x1F",
                },
                Raw {
                    yaml: "~",
                    toml: "\"\"",
                },
                Raw {
                    yaml: "[]",
                    toml: "[]",
                },
                Raw {
                    yaml: "{}",
                    toml: "{}",
                },
                Raw {
                    yaml: "[a, 1, true]",
                    toml: "[\"a\", 1, true]",
                },
                Raw {
                    yaml: "{a: 1}",
                    toml: "{ a = 1 }",
                },
                Raw {
                    yaml: "yes",
                    toml: "yes",
                },
                Raw {
                    yaml: "0410",
                    toml: "0410",
                },
                Raw {
                    yaml: "2026-01-15T10:00:00Z",
                    toml: "2026-01-15T10:00:00Z",
                },
                Raw {
                    yaml: "!!str x",
                    toml: "'''x'''",
                },
                Raw {
                    yaml: "&a x",
                    toml: "\"\"\"x\n\"\"\"",
                },
                Raw {
                    yaml: "|\n  text\n",
                    toml: "\"\\u00e9\"",
                },
            ],
        ),
    ]
}

/// The literals, by family and all together.
struct Literals {
    by_family: Vec<(Family, Vec<Lit>)>,
    all: Vec<Lit>,
}

fn literals() -> Literals {
    let by_family = families();
    let all = by_family.iter().flat_map(|(_, l)| l.clone()).collect();
    Literals { by_family, all }
}

/// Syntax tokens a mutation inserts at a node boundary.
const TOKENS: &[&str] = &[
    ":", "- ", "[", "]", "{", "}", "\"", "'", "#", ",", "&a ", "*a", "!!", "\n", "  ", "\t", "=",
    "---\n", "...\n", "? ", "|", ">", "%", "@", "`", "[x]\n", "[[x]]\n", "a = 1\n", "a: 1\n", "\\",
];

fn is_toml(input: &Input) -> bool {
    input.path.ends_with(".toml")
}

fn written(lit: &Lit, toml: bool) -> String {
    match lit {
        Lit::S(s) => written_str(s, toml),
        Lit::Owned(s) => written_str(s, toml),
        Lit::I(i) => i.to_string(),
        Lit::B(b) => b.to_string(),
        Lit::Raw { yaml, toml: t } => (if toml { t } else { yaml }).to_string(),
    }
}

fn written_str(s: &str, toml: bool) -> String {
    let plain = !toml
        && !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '/' | '_' | '@'));
    if plain {
        s.to_string()
    } else {
        let escaped: String = s
            .chars()
            .map(|c| match c {
                '"' => "\\\"".to_string(),
                '\\' => "\\\\".to_string(),
                '\n' => "\\n".to_string(),
                c if c.is_control() => format!("\\u{:04X}", c as u32),
                c => c.to_string(),
            })
            .collect();
        format!("\"{escaped}\"")
    }
}

/// One structured edit; indices pick among what the file has when the edit applies.
#[derive(Debug, Clone)]
enum Mutation {
    /// A scalar's text replaced by a literal of any family.
    Replace(Index, Index),
    /// A scalar's text replaced by another literal of its family (a duration by a duration).
    Similar(Index, Index),
    /// A mapping entry or list item deleted (whole lines when it starts its line).
    Delete(Index),
    /// A mapping entry or list item written twice.
    Duplicate(Index),
    /// Two scalars' texts swapped.
    Swap(Index, Index),
    /// A line indented by `delta` spaces more (or fewer).
    Reindent(Index, i8),
    /// A syntax token inserted at a node's start or end.
    Insert(Index, bool, Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Replace(a, b)),
        4 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Similar(a, b)),
        2 => any::<Index>().prop_map(Mutation::Delete),
        1 => any::<Index>().prop_map(Mutation::Duplicate),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        1 => (any::<Index>(), -4i8..=4).prop_map(|(a, d)| Mutation::Reindent(a, d)),
        1 => (any::<Index>(), any::<bool>(), any::<Index>())
            .prop_map(|(a, end, t)| Mutation::Insert(a, end, t)),
    ]
}

/// What a file's tree offers to mutate: scalar spans and entry spans (key start to value end).
#[derive(Default)]
struct Sites {
    scalars: Vec<(usize, usize)>,
    entries: Vec<(usize, usize)>,
    nodes: Vec<(usize, usize)>,
}

fn sites(path: &str, text: &str) -> Sites {
    let mut map = blueprint_diagnostics::SourceMap::new();
    let mut diags = Vec::new();
    let (id, ok) = blueprint_syntax::read_source(&mut map, path, text.as_bytes(), &mut diags);
    let mut s = Sites::default();
    if !ok {
        return s;
    }
    let format = blueprint_syntax::Format::of_path(path).unwrap_or(blueprint_syntax::Format::Yaml);
    let parsed = blueprint_syntax::parse(&map, id, format, &blueprint_syntax::Limits::default());
    if let Some(root) = &parsed.root {
        walk(root, &mut s);
    }
    let len = text.len();
    let ok_span = |&(a, b): &(usize, usize)| {
        a <= b && b <= len && text.is_char_boundary(a) && text.is_char_boundary(b)
    };
    s.scalars.retain(ok_span);
    s.entries.retain(ok_span);
    s.nodes.retain(ok_span);
    s
}

fn walk(node: &blueprint_syntax::Node, s: &mut Sites) {
    use blueprint_syntax::NodeKind;
    let span = (node.span.start as usize, node.span.end as usize);
    s.nodes.push(span);
    match &node.kind {
        NodeKind::Map(entries) => {
            for (k, v) in entries {
                s.entries.push((
                    k.span.start as usize,
                    (v.span.end as usize).max(k.span.end as usize),
                ));
                walk(v, s);
            }
        }
        NodeKind::Seq(items) => {
            for i in items {
                s.entries.push((i.span.start as usize, i.span.end as usize));
                walk(i, s);
            }
        }
        _ => s.scalars.push(span),
    }
}

/// Widens `(a, b)` to whole lines when it starts its line (only blanks before it).
fn whole_lines(text: &str, (a, b): (usize, usize)) -> (usize, usize) {
    let line_start = text[..a].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..a];
    if !before.trim_start_matches([' ', '-']).trim().is_empty() {
        return (a, b);
    }
    let end = text[b..].find('\n').map_or(text.len(), |i| b + i + 1);
    (line_start, end)
}

fn apply(text: &str, path: &str, toml: bool, m: &Mutation, lits: &Literals) -> String {
    let s = sites(path, text);
    let mut out = text.to_string();
    match m {
        Mutation::Replace(at, with) if !s.scalars.is_empty() => {
            let (a, b) = *at.get(&s.scalars);
            out.replace_range(a..b, &written(with.get(&lits.all), toml));
        }
        Mutation::Similar(at, with) if !s.scalars.is_empty() => {
            let (a, b) = *at.get(&s.scalars);
            let family = family_of(&text[a..b]);
            let same = lits
                .by_family
                .iter()
                .find(|(f, _)| *f == family)
                .map_or(&lits.all, |(_, l)| l);
            out.replace_range(a..b, &written(with.get(same), toml));
        }
        Mutation::Delete(at) if !s.entries.is_empty() => {
            let (a, b) = whole_lines(text, *at.get(&s.entries));
            out.replace_range(a..b, "");
        }
        Mutation::Duplicate(at) if !s.entries.is_empty() => {
            let (a, b) = whole_lines(text, *at.get(&s.entries));
            let copy = text[a..b].to_string();
            let copy = if copy.ends_with('\n') || b == text.len() {
                copy
            } else {
                format!(", {copy}")
            };
            out.insert_str(b, &copy);
        }
        Mutation::Swap(x, y) if s.scalars.len() > 1 => {
            let (p, q) = (*x.get(&s.scalars), *y.get(&s.scalars));
            let (first, second) = if p.0 <= q.0 { (p, q) } else { (q, p) };
            if first.1 <= second.0 {
                let (t1, t2) = (
                    text[first.0..first.1].to_string(),
                    text[second.0..second.1].to_string(),
                );
                out.replace_range(second.0..second.1, &t1);
                out.replace_range(first.0..first.1, &t2);
            }
        }
        Mutation::Insert(at, end, token) if !s.nodes.is_empty() => {
            let (a, b) = *at.get(&s.nodes);
            let token: &str = token.get::<&str>(TOKENS);
            out.insert_str(if *end { b } else { a }, token);
        }
        Mutation::Reindent(line, delta) => {
            let starts: Vec<usize> = std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .filter(|&i| i < text.len())
                .collect();
            if !starts.is_empty() {
                let at = *line.get(&starts);
                if *delta >= 0 {
                    out.insert_str(at, &" ".repeat(usize::from(delta.unsigned_abs())));
                } else {
                    let blanks = text[at..].bytes().take_while(|&b| b == b' ').count();
                    out.replace_range(at..at + blanks.min(usize::from(delta.unsigned_abs())), "");
                }
            }
        }
        // Syntax broken beyond a tree: the line-wise and token edits above still apply.
        _ => {
            if let Some(i) = text.find('\n') {
                out.insert_str(i, " #");
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(config(CASES.mutations))]

    /// An example file under one to three structured mutations: its bytes are read without a
    /// panic, and the unit it belongs to never gives BP9001; when it still compiles without
    /// error, it builds with every file verified (no BP9002, no BP9003).
    #[test]
    fn mutated_examples_compile_or_are_refused_and_never_build_unverified(
        unit in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..=3),
    ) {
        let lits = literals();
        let u = unit.get(units());
        let mut inputs = u.inputs.clone();
        let target = &mut inputs[u.target];
        let toml = is_toml(target);
        let mut text = String::from_utf8(target.bytes.clone()).expect("examples are UTF-8");
        for m in &mutations {
            text = apply(&text, &target.path, toml, m, &lits);
        }
        target.bytes = text.into_bytes();
        fuzz::fuzz_parse(&target.bytes);
        let _ = fuzz::pipeline(&inputs);
    }
}

proptest! {
    #![proptest_config(config(CASES.bytes))]

    /// Arbitrary bytes and soups of syntax tokens, read as YAML and TOML plant and fleet files
    /// (the `parse` fuzz target's invariants), and as a plants directory (`pipeline`'s).
    #[test]
    fn arbitrary_bytes_and_token_soups_are_read_without_a_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        soup in prop::collection::vec(
            prop_oneof![
                any::<Index>().prop_map(|i| (*i.get(TOKENS)).to_string()),
                "[a-zA-Z0-9 ._/:-]{0,12}",
            ],
            0..60,
        ),
    ) {
        fuzz::fuzz_parse(&bytes);
        let soup: String = soup.concat();
        fuzz::fuzz_parse(soup.as_bytes());
        fuzz::fuzz_pipeline(&bytes);
        let mut directory = b"lyon.yaml\n".to_vec();
        directory.extend_from_slice(soup.as_bytes());
        fuzz::fuzz_pipeline(&directory);
    }
}

/// Found by `mutated_examples_…` (a `displayName` replaced by `" "`): `check` accepted an empty
/// or blank `displayName`, whose runbook then failed its own verification (BP9003, "report a
/// blueprint bug"). `check` now refuses it at the value (BP0011).
#[test]
fn a_blank_display_name_is_refused_by_check() {
    let lyon = std::fs::read_to_string(
        crate::support::root().join("examples/quickstart/plants/lyon.yaml"),
    )
    .expect("quickstart");
    for blank in ["\"\"", "\" \""] {
        let text = lyon.replace(
            "displayName: \"Lyon – stamping and assembly\"",
            &format!("displayName: {blank}"),
        );
        assert_ne!(text, lyon);
        let inputs = [Input {
            path: "plants/lyon.yaml".into(),
            bytes: text.into_bytes(),
            is_fleet: false,
        }];
        let errors = errors_of(&inputs).unwrap_or_default();
        assert!(
            errors.contains("error[BP0011]: displayName is blank")
                && errors.contains("--> plants/lyon.yaml:9:14"),
            "{blank}: {errors}"
        );
    }
}

/// Found by the generated fleets: the restore test's IAM role
/// `<plant>-<env>-pgbackrest-restore-test` (64 characters at most) overflows for a plant with
/// its own PostgreSQL whose plant and environment names pass 39 characters together, although
/// each is within its own limit (40 and 12). `check` reports it at the plant's name (BP4009,
/// whose page gives the limit); the generator keeps the pair within 39 characters.
#[test]
fn a_forty_character_plant_name_is_reported_where_its_restore_role_overflows() {
    let name = "lyon-stamping-and-assembly-plant-north-1";
    assert_eq!(name.len(), 40);
    let lyon = std::fs::read_to_string(
        crate::support::root().join("examples/quickstart/plants/lyon.yaml"),
    )
    .expect("quickstart")
    .replace("name: lyon\n", &format!("name: {name}\n"))
    .replace("host: lyon.", &format!("host: {name}."));
    let inputs = [Input {
        path: "plants/lyon.yaml".into(),
        bytes: lyon.into_bytes(),
        is_fleet: false,
    }];
    let errors = errors_of(&inputs).unwrap_or_default();
    assert!(
        errors.contains("error[BP4009]") && errors.contains("--> plants/lyon.yaml:8:7"),
        "{errors}"
    );
}

#[test]
fn the_pipeline_fuzzer_reads_a_plants_directory_back_from_its_joined_form() {
    let base = crate::support::root().join("examples/manufacturing-group");
    let inputs = crate::support::read_inputs(&base, "plants");
    let named: Vec<(String, &[u8])> = inputs
        .iter()
        .map(|i| {
            (
                i.path.rsplit('/').next().unwrap_or("").to_string(),
                i.bytes.as_slice(),
            )
        })
        .collect();
    let files: Vec<(&str, &[u8])> = named.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    let split = fuzz::split_files(&fuzz::join_files(&files));
    assert_eq!(split.len(), inputs.len());
    assert!(split[0].is_fleet);
    for (a, b) in split.iter().zip(&inputs) {
        assert_eq!(a.bytes, b.bytes);
        assert!(b.path.ends_with(a.path.trim_start_matches("plants/")));
    }
    assert_eq!(
        blueprint_compiler::compile(&split).has_errors(),
        blueprint_compiler::compile(&inputs).has_errors()
    );
}

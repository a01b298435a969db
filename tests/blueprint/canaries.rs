//! Dependency canaries: what blueprint-syntax relies on in its YAML parser (`saphyr-parser`'s
//! event stream, `Parser::new_from_str`) and its TOML parser (`toml::de::DeTable::
//! parse_recoverable`, with the workspace's features: `preserve_order`, not `unbounded`),
//! tested on those crates as the workspace configures them, next to what blueprint makes of it
//! through its own entry points (`read_source`, `parse`). An upgrade that changes one of these
//! defaults fails here, under the dependency's name, before it changes what blueprint accepts:
//! aliases (bombs), anchors and tags, duplicate keys, YAML 1.1 look-alikes, nesting limits,
//! positions, documents, key order.

use blueprint_diagnostics::SourceMap;
use blueprint_syntax::{Format, Limits};
use saphyr_parser::{Event, Parser, ScalarStyle};
use toml::de::{DeTable, DeValue};

// ---------------------------------------------------------------------------------------------
// Helpers.

/// Every event of `text` (or the scanner's error: its message and character index), with the
/// start of each event's span in characters.
fn yaml_events(text: &str) -> Result<Vec<(Event<'_>, usize)>, (String, usize)> {
    let mut parser = Parser::new_from_str(text);
    let mut events = Vec::new();
    while let Some(next) = parser.next_event() {
        match next {
            Ok((event, span)) => events.push((event, span.start.index())),
            Err(e) => return Err((e.info().to_string(), e.marker().index())),
        }
    }
    Ok(events)
}

/// The scalars of `text`'s events: value, style, anchor id, whether tagged.
fn yaml_scalars(text: &str) -> Vec<(String, ScalarStyle, usize, bool)> {
    yaml_events(text)
        .unwrap_or_else(|e| panic!("saphyr-parser refused {text:?}: {e:?}"))
        .into_iter()
        .filter_map(|(e, _)| match e {
            Event::Scalar(v, style, anchor, tag) => {
                Some((v.into_owned(), style, anchor, tag.is_some()))
            }
            _ => None,
        })
        .collect()
}

/// blueprint's findings for `text` read as the file `path`: code and the text under the
/// finding's primary span.
fn blueprint_findings(path: &str, text: &str) -> Vec<(String, String)> {
    let mut map = SourceMap::new();
    let mut diags = Vec::new();
    let (id, ok) = blueprint_syntax::read_source(&mut map, path, text.as_bytes(), &mut diags);
    assert!(ok, "{path}: {diags:?}");
    let format = Format::of_path(path).expect("an input name");
    let parsed = blueprint_syntax::parse(&map, id, format, &Limits::default());
    parsed
        .diagnostics
        .iter()
        .map(|d| {
            let snippet = d
                .primary
                .as_ref()
                .map(|l| map.snippet(l.span).to_string())
                .unwrap_or_default();
            (d.code.0.to_string(), snippet)
        })
        .collect()
}

fn codes(findings: &[(String, String)]) -> Vec<&str> {
    findings.iter().map(|(c, _)| c.as_str()).collect()
}

/// `toml`'s errors for `text`: message and byte span.
fn toml_errors(text: &str) -> Vec<(String, Option<std::ops::Range<usize>>)> {
    let (_, errors) = DeTable::parse_recoverable(text);
    errors
        .iter()
        .map(|e| (e.message().to_string(), e.span()))
        .collect()
}

/// The byte offset of the `n`th (from 0) occurrence of `needle` in `text`.
fn nth(text: &str, needle: &str, n: usize) -> usize {
    text.match_indices(needle)
        .nth(n)
        .unwrap_or_else(|| panic!("{needle:?} #{n} in {text:?}"))
        .0
}

// ---------------------------------------------------------------------------------------------
// saphyr-parser.

#[test]
fn saphyr_yields_an_alias_as_one_event_and_never_expands_it() {
    // A billion-laughs bomb: 9 scalars, each alias names a list of 9 aliases, 11 levels.
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = if i == 1 {
            "a".to_string()
        } else {
            format!("b{}", i - 1)
        };
        bomb.push_str(&format!(
            "b{i}: &b{i} [{}]\n",
            vec![format!("*{p}"); 9].join(", ")
        ));
    }
    let events = yaml_events(&bomb).expect("saphyr-parser reads anchors and aliases");
    let aliases = events
        .iter()
        .filter(|(e, _)| matches!(e, Event::Alias(_)))
        .count();
    let xs = events
        .iter()
        .filter(|(e, _)| matches!(e, Event::Scalar(v, ..) if v == "x"))
        .count();
    assert_eq!((aliases, xs), (99, 9), "aliases must stay references");
    assert!(events.len() < 200, "{} events", events.len());
    // An alias to an anchor never defined is the parser's error.
    let (message, _) = yaml_events("a: *nope\n").expect_err("unknown anchor");
    assert!(message.contains("unknown anchor"), "{message}");
    // blueprint stops at the first anchor, before any alias.
    let found = blueprint_findings("plants/bomb.yaml", &bomb);
    assert_eq!(codes(&found), ["BP0006"], "{found:?}");
    assert!(found[0].1.starts_with("&a ["), "at the anchor: {found:?}");
}

#[test]
fn saphyr_marks_anchors_and_tags_on_the_events_they_carry() {
    let scalars = yaml_scalars("a: &x 1\nb: !!str 2\nc: !local 3\n");
    assert!(
        scalars[1].2 != 0 && !scalars[1].3,
        "anchor on a scalar: {scalars:?}"
    );
    assert!(
        scalars[3].2 == 0 && scalars[3].3,
        "tag on a scalar: {scalars:?}"
    );
    assert!(scalars[5].3, "local tag: {scalars:?}");
    let events = yaml_events("s: &s [1]\nm: &m {k: 1}\nt: !!seq [1]\n").expect("valid YAML");
    let anchored = events
        .iter()
        .filter(
            |(e, _)| matches!(e, Event::SequenceStart(a, _) | Event::MappingStart(a, _) if *a != 0),
        )
        .count();
    let tagged = events
        .iter()
        .filter(|(e, _)| matches!(e, Event::SequenceStart(_, Some(_))))
        .count();
    assert_eq!((anchored, tagged), (2, 1), "{events:?}");
    for (text, snippet) in [
        ("a: &x 1\n", "&x 1"),
        ("a: !!str 1\n", "!!str 1"),
        ("a: !local 1\n", "!local 1"),
        ("a: &s [1]\n", "&s "),
        ("a: !!map {k: 1}\n", "!!map "),
    ] {
        let found = blueprint_findings("plants/x.yaml", text);
        assert_eq!(codes(&found), ["BP0006"], "{text:?}: {found:?}");
        assert!(found[0].1.starts_with(snippet), "{text:?}: {found:?}");
    }
}

#[test]
fn saphyr_accepts_a_redefined_anchor_and_blueprint_refuses_the_first_anchor() {
    // YAML lets an anchor be defined again; an alias names the latest definition.
    let events = yaml_events("a: &x 1\nb: &x 2\nc: *x\n").expect("a redefined anchor is YAML");
    let second = events
        .iter()
        .find_map(|(e, _)| match e {
            Event::Scalar(v, _, anchor, _) if v == "2" => Some(*anchor),
            _ => None,
        })
        .expect("the second anchored scalar");
    let alias = events
        .iter()
        .find_map(|(e, _)| match e {
            Event::Alias(id) => Some(*id),
            _ => None,
        })
        .expect("the alias");
    assert_eq!(alias, second);
    // blueprint reports the first anchor and stops: which one an alias means never matters.
    let found = blueprint_findings("plants/x.yaml", "a: &x 1\nb: &x 2\nc: *x\n");
    assert_eq!(found, [("BP0006".to_string(), "&x 1".to_string())]);
}

#[test]
fn saphyr_passes_duplicate_keys_through_and_blueprint_refuses_each() {
    for (text, key) in [
        ("a: 1\na: 2\n", "a"),
        ("{a: 1, a: 2}\n", "a"),
        ("odoo:\n  users: 5\n  users: 6\n", "users"),
        (
            "environments:\n  staging:\n    odoo: {users: 1, users: 2}\n",
            "users",
        ),
        ("integrations:\n  - name: a\n    name: b\n", "name"),
        ("\"a\": 1\n'a': 2\n", "a"),
    ] {
        let keys = yaml_scalars(text)
            .into_iter()
            .filter(|(v, ..)| v == key)
            .count();
        assert_eq!(keys, 2, "saphyr-parser gives both keys of {text:?}");
        let found = blueprint_findings("plants/x.yaml", text);
        assert_eq!(codes(&found), ["BP0004"], "{text:?}: {found:?}");
        assert!(found[0].1.contains(key), "{text:?}: {found:?}");
    }
}

/// The plain values YAML 1.1 reads as booleans, as blueprint-syntax lists them.
const YAML11_BOOLEANS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
    "OFF",
];

#[test]
fn saphyr_gives_plain_scalars_as_written_and_blueprint_refuses_yaml_1_1_look_alikes() {
    for v in YAML11_BOOLEANS
        .iter()
        .chain(&["0410", "1:30", "0b101", "1_000"])
    {
        let text = format!("k: {v}\n");
        let scalars = yaml_scalars(&text);
        assert_eq!(
            scalars[1],
            ((*v).to_string(), ScalarStyle::Plain, 0, false),
            "saphyr-parser resolves no type: {v}"
        );
        let found = blueprint_findings("plants/x.yaml", &text);
        assert_eq!(found, [("BP0005".to_string(), (*v).to_string())], "{v}");
    }
    // Quoted, they are text: the style tells blueprint so.
    let scalars = yaml_scalars("a: \"yes\"\nb: 'on'\nc: |\n  no\n");
    let styles: Vec<ScalarStyle> = scalars.iter().map(|s| s.1).collect();
    assert_eq!(
        styles,
        [
            ScalarStyle::Plain,
            ScalarStyle::DoubleQuoted,
            ScalarStyle::Plain,
            ScalarStyle::SingleQuoted,
            ScalarStyle::Plain,
            ScalarStyle::Literal,
        ]
    );
    assert!(blueprint_findings("plants/x.yaml", "a: \"yes\"\nb: 'on'\nc: |\n  no\n").is_empty());
    // YAML 1.2 core values are values, not findings.
    assert!(blueprint_findings("plants/x.yaml", "a: true\nb: ~\nc: 0x1F\nd: 1.5\n").is_empty());
}

#[test]
fn saphyr_refuses_flow_nesting_past_255_levels_with_a_message_blueprint_recognises() {
    let flow = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert!(
        yaml_events(&flow(255)).is_ok(),
        "255 levels are saphyr-parser's maximum"
    );
    let (message, _) = yaml_events(&flow(256)).expect_err("256 levels are refused");
    assert!(message.contains("recursion limit"), "{message}");
    // The scanner refuses before any event: blueprint maps the message to BP0007, and its own
    // limit (24 levels) refuses anything deeper that saphyr-parser accepts.
    for n in [25, 255, 256, 10_000] {
        let found = blueprint_findings("plants/x.yaml", &flow(n));
        assert_eq!(codes(&found), ["BP0007"], "{n} levels: {found:?}");
    }
    assert!(blueprint_findings("plants/x.yaml", &flow(24)).is_empty());
    let maps = format!("a: {}1{}\n", "{b: ".repeat(300), "}".repeat(300));
    let (message, _) = yaml_events(&maps).expect_err("deep flow mappings are refused too");
    assert!(message.contains("recursion limit"), "{message}");
    assert_eq!(
        codes(&blueprint_findings("plants/x.yaml", &maps)),
        ["BP0007"]
    );
}

#[test]
fn saphyr_streams_block_nesting_without_a_limit_so_blueprints_own_limit_bounds_it() {
    // No limit of its own for block collections: every level is an event, read lazily.
    let deep = format!("{}x\n", "- ".repeat(10_000));
    let events = yaml_events(&deep).expect("block nesting has no parser limit");
    assert_eq!(events.len(), 20_005);
    let huge = format!("{}x\n", "- ".repeat(500_000));
    let start = std::time::Instant::now();
    let mut parser = Parser::new_from_str(&huge);
    for _ in 0..30 {
        assert!(matches!(parser.next_event(), Some(Ok(_))));
    }
    assert!(
        start.elapsed() < std::time::Duration::from_secs(1),
        "the first events of a deep file come before the whole file is scanned"
    );
    let block = |n: usize| format!("{}x\n", "- ".repeat(n));
    assert!(blueprint_findings("plants/x.yaml", &block(24)).is_empty());
    assert_eq!(
        codes(&blueprint_findings("plants/x.yaml", &block(25))),
        ["BP0007"]
    );
    assert_eq!(
        codes(&blueprint_findings("plants/x.yaml", &huge)),
        ["BP0007"]
    );
}

#[test]
fn saphyr_counts_positions_in_characters_and_blueprint_turns_them_into_bytes() {
    // `é` is one character and two bytes: the value starts at character 3, byte 4.
    let events = yaml_events("é: x\n").expect("valid YAML");
    let x_at = events
        .iter()
        .find_map(|(e, at)| matches!(e, Event::Scalar(v, ..) if v == "x").then_some(*at))
        .expect("the value");
    assert_eq!(x_at, 3, "saphyr-parser counts characters");
    let (_, error_at) = yaml_events("é: [").expect_err("unterminated");
    assert_eq!(error_at, 4, "errors are marked in characters too");
    let found = blueprint_findings("plants/x.yaml", "é: yes\nü: &a 1\n");
    assert_eq!(
        found,
        [
            ("BP0005".to_string(), "yes".to_string()),
            ("BP0006".to_string(), "&a 1".to_string()),
        ]
    );
}

#[test]
fn saphyr_starts_an_event_per_document_and_blueprint_refuses_a_second() {
    let starts = |text: &str| {
        yaml_events(text)
            .expect("valid YAML")
            .iter()
            .filter(|(e, _)| matches!(e, Event::DocumentStart(_)))
            .count()
    };
    assert_eq!(starts("---\na: 1\n"), 1);
    assert_eq!(starts("a: 1\n---\nb: 2\n"), 2);
    assert_eq!(starts("a: 1\n...\n---\nb: 2\n"), 2);
    assert!(blueprint_findings("plants/x.yaml", "---\na: 1\n").is_empty());
    assert_eq!(
        codes(&blueprint_findings("plants/x.yaml", "a: 1\n---\nb: 2\n")),
        ["BP0008"]
    );
}

#[test]
fn saphyr_reads_a_merge_key_as_a_plain_key_and_blueprint_refuses_it() {
    let scalars = yaml_scalars("<<: {a: 1}\n");
    assert_eq!(scalars[0], ("<<".to_string(), ScalarStyle::Plain, 0, false));
    assert_eq!(
        blueprint_findings("plants/x.yaml", "<<: {a: 1}\n"),
        [("BP0006".to_string(), "<<".to_string())]
    );
    // Quoted, it is an ordinary (unknown) key.
    assert!(blueprint_findings("plants/x.yaml", "\"<<\": 1\n").is_empty());
}

// ---------------------------------------------------------------------------------------------
// toml.

#[test]
fn toml_reports_every_form_of_duplicate_key_as_duplicate_key_at_the_second() {
    for (text, key, second) in [
        ("a = 1\na = 2\n", "a", 1),
        ("[t]\n[t]\n", "t", 1),
        ("a.b = 1\na.b = 2\n", "b", 1),
        ("a = {b = 1, b = 2}\n", "b", 1),
        ("[[t]]\nx = 1\nx = 2\n", "x", 1),
        ("[a]\nb = 1\n[a.b]\n", "b", 1),
        ("a = 1\n[a]\n", "a", 1),
        ("t = [1]\n[[t]]\n", "t", 1),
        ("[odoo]\nusers = 5\nusers = 6\n", "users", 1),
        ("\"a\" = 1\na = 2\n", "a", 1),
    ] {
        let errors = toml_errors(text);
        assert!(!errors.is_empty(), "{text:?} parses");
        let (message, span) = &errors[0];
        assert!(message.contains("duplicate key"), "{text:?}: {message}");
        let at = nth(text, key, second);
        assert_eq!(
            span.as_ref().map(|s| s.start),
            Some(at),
            "{text:?}: {errors:?}"
        );
        let found = blueprint_findings("plants/x.toml", text);
        assert!(
            !found.is_empty() && found.iter().all(|(c, _)| c == "BP0004"),
            "{text:?}: {found:?}"
        );
    }
}

#[test]
fn toml_refuses_nesting_past_80_levels_with_a_message_blueprint_recognises() {
    let arrays = |n: usize| format!("a = {}{}\n", "[".repeat(n), "]".repeat(n));
    assert!(
        toml_errors(&arrays(80)).is_empty(),
        "80 levels are toml's maximum"
    );
    let errors = toml_errors(&arrays(81));
    assert!(
        errors.iter().any(|(m, _)| m.contains("recurs")),
        "toml's recursion limit is on (feature `unbounded` off): {errors:?}"
    );
    let tables = format!("a = {}1{}\n", "{b = ".repeat(100), "}".repeat(100));
    assert!(
        toml_errors(&tables)
            .iter()
            .any(|(m, _)| m.contains("recurs")),
        "inline tables share the limit"
    );
    // blueprint refuses past its own 24 levels (the root table is level 1), wherever the
    // parser's limit lies.
    for n in [23, 24, 80, 81, 10_000] {
        let found = blueprint_findings("plants/x.toml", &arrays(n));
        let expected: &[&str] = if n < 24 { &[] } else { &["BP0007"] };
        assert_eq!(codes(&found), expected, "{n} nested arrays: {found:?}");
    }
    assert_eq!(
        codes(&blueprint_findings("plants/x.toml", &tables)),
        ["BP0007"]
    );
    let header = |n: usize| format!("[{}]\nk = 1\n", vec!["t"; n].join("."));
    assert!(blueprint_findings("plants/x.toml", &header(23)).is_empty());
    assert_eq!(
        codes(&blueprint_findings("plants/x.toml", &header(24))),
        ["BP0007"]
    );
}

#[test]
fn toml_refuses_yaml_1_1_booleans_and_leading_zeros_as_syntax() {
    for v in [
        "yes", "on", "off", "y", "n", "True", "FALSE", "0410", "1:30",
    ] {
        let text = format!("a = {v}\n");
        let errors = toml_errors(&text);
        assert!(!errors.is_empty(), "toml reads `{v}` as a value");
        assert!(
            errors
                .iter()
                .all(|(m, _)| !m.contains("duplicate key") && !m.contains("recurs")),
            "{v}: {errors:?}"
        );
        assert_eq!(
            codes(&blueprint_findings("plants/x.toml", &text)),
            ["BP0003"],
            "{v}"
        );
    }
    let (doc, errors) = DeTable::parse_recoverable("a = true\nb = false\n");
    assert!(errors.is_empty());
    assert!(
        doc.get_ref()
            .values()
            .all(|v| matches!(v.get_ref(), DeValue::Boolean(_)))
    );
}

#[test]
fn toml_keeps_keys_in_source_order() {
    // `preserve_order`: findings follow the file, and a duplicate's first place is found.
    let (doc, errors) = DeTable::parse_recoverable("z = 1\na = 2\nm = 3\n[y]\n[b]\n");
    assert!(errors.is_empty());
    let keys: Vec<&str> = doc.get_ref().keys().map(|k| k.get_ref().as_ref()).collect();
    assert_eq!(keys, ["z", "a", "m", "y", "b"]);
}

#[test]
fn toml_integers_keep_their_digits_and_radix() {
    let (doc, errors) =
        DeTable::parse_recoverable("h = 0xFF\nu = 1_000\nn = -5\no = 0o17\nb = 0b11\np = +7\n");
    assert!(errors.is_empty());
    let ints: Vec<(String, u32, String)> = doc
        .get_ref()
        .values()
        .map(|v| match v.get_ref() {
            DeValue::Integer(i) => (i.as_str().to_string(), i.radix(), i.to_string()),
            other => panic!("not an integer: {other:?}"),
        })
        .collect();
    let expect =
        |digits: &str, radix: u32, shown: &str| (digits.to_string(), radix, shown.to_string());
    assert_eq!(
        ints,
        [
            expect("FF", 16, "0xFF"),
            expect("1000", 10, "1000"),
            expect("-5", 10, "-5"),
            expect("17", 8, "0o17"),
            expect("11", 2, "0b11"),
            expect("+7", 10, "+7"),
        ]
    );
    // Special floats and datetimes are values blueprint keeps as written.
    let (doc, errors) =
        DeTable::parse_recoverable("a = inf\nb = nan\nc = 1e999\nd = 1979-05-27T07:32:00Z\n");
    assert!(errors.is_empty(), "{errors:?}");
    let kinds: Vec<String> = doc
        .get_ref()
        .values()
        .map(|v| match v.get_ref() {
            DeValue::Float(f) => f.as_str().to_string(),
            DeValue::Datetime(d) => d.to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(kinds, ["inf", "nan", "1e999", "1979-05-27T07:32:00Z"]);
}

#[test]
fn toml_spans_are_byte_offsets() {
    let text = "\"é\" = 1\nk = \"ü\"\n";
    let (doc, _) = DeTable::parse_recoverable(text);
    let spans: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)> = doc
        .get_ref()
        .iter()
        .map(|(k, v)| (k.span(), v.span()))
        .collect();
    assert_eq!(&text[spans[0].0.clone()], "\"é\"");
    assert_eq!(&text[spans[1].0.clone()], "k");
    assert_eq!(&text[spans[1].1.clone()], "\"ü\"");
    let errors = toml_errors("\"é\" = 1\n\"é\" = 2\n");
    assert_eq!(errors[0].1.as_ref().map(|s| s.start), Some(9));
}

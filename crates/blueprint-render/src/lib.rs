//! The template environment (DESIGN §7): minijinja with strict undefined behaviour, fed only
//! with the resolved model, where no text reaches the output unless a format-aware filter made
//! it safe for the place it is written to.
//!
//! 1. [`Renderer::with_templates`] builds the environment with a template set (the embedded
//!    [`EMBEDDED`] one, or a platform team's `--blueprints DIR`): undefined values are errors;
//!    `safe` and the other escape hatches are removed; the formatter refuses any string that did
//!    not come out of one of the filters below (numbers and booleans are written as they are).
//! 2. The filters quote one value (a string, number or boolean; a list or map is refused) for
//!    their format: `yaml` (a double-quoted YAML 1.2 scalar), `json` (any value, lists and maps
//!    included), `hcl` (an HCL string with `${` and `%{` escaped), `ini` (a value on one line,
//!    refusing line breaks), `md` (Markdown text: every character with a Markdown meaning
//!    backslash-escaped, line breaks folded, control and bidi characters dropped), `mdcode` (a
//!    Markdown inline code span), `sh` (a POSIX shell word in single quotes, on one line). Plant
//!    text such as `"; rm -rf /`, a newline, `{{ }}`, `${ }` or `](javascript:…)` stays data.
//! 3. [`Contexts::new`] converts an IR's fleet, plant and cluster contexts once, and
//!    [`Renderer::render_output`] renders one output with them.
//!
//! Templates are source code of blueprint (or of the platform team, with `--blueprints`), never
//! user strings: plant text only ever arrives as context values.

use blueprint_compiler::lower::{Ir, Output, Scope};
use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};

/// A template that failed to render (a bug in the templates or the model: `BP9xxx`).
#[derive(Debug, thiserror::Error)]
#[error("template {template}: {message}")]
pub struct RenderError {
    /// The template's name.
    pub template: String,
    /// What went wrong, with the line when minijinja knows it.
    pub message: String,
}

impl RenderError {
    fn from_minijinja(template: &str, e: &Error) -> Self {
        let mut message = e.to_string();
        if let Some(line) = e.line() {
            message = format!("line {line}: {message}");
        }
        Self {
            template: template.to_string(),
            message,
        }
    }
}

/// Quotes text as a double-quoted YAML 1.2 scalar, which a JSON string is, so that no quote,
/// colon, `#`, line break, anchor or tag in it can change the document's structure; control
/// characters and U+2028/U+2029 are escaped.
fn yaml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Quotes text as an HCL (Terraform) string: escapes as [`yaml_str`] does, and doubles the `$`
/// of `${` and the `%` of `%{` so that no interpolation or directive can run.
fn hcl_str(s: &str) -> String {
    let quoted = yaml_str(s);
    let mut out = String::with_capacity(quoted.len());
    let mut chars = quoted.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if (c == '$' || c == '%') && chars.peek() == Some(&'{') {
            out.push(c);
        }
    }
    out
}

/// Refuses `s` when it holds a character `forbidden` says no to: `what` cannot contain it.
fn refuse(s: &str, what: &str, forbidden: impl Fn(char) -> bool) -> Result<(), String> {
    match s.chars().find(|&c| forbidden(c)) {
        Some(c) => Err(format!("{what} cannot contain U+{:04X}", u32::from(c))),
        None => Ok(()),
    }
}

/// An INI value (`odoo.conf`, `pgbackrest.conf`): written as is on its key's line, so a line
/// break or NUL would start a new key; those are refused.
fn ini_value(s: &str) -> Result<String, String> {
    refuse(
        s,
        "an INI value (it would start a new line or key)",
        char::is_control,
    )?;
    Ok(s.trim().to_string())
}

/// Characters that reorder or hide text (control characters, bidirectional controls,
/// zero-width spaces, the BOM): dropped from Markdown text so a runbook reads as it renders.
#[must_use]
pub fn is_invisible_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200b}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
}

/// Plant text as inert Markdown inline text (a runbook paragraph, list item or table cell).
///
/// 1. Line breaks (`\n`, `\r`, U+2028, U+2029) and tabs become spaces, runs of spaces fold to
///    one and the ends are trimmed, so the text cannot start a line: no heading, list, quote,
///    fence, table row or indented code block can begin inside it.
/// 2. Other control characters, bidirectional overrides, zero-width spaces and the BOM are
///    dropped.
/// 3. Every ASCII punctuation character that has a meaning in CommonMark or GitHub Flavored
///    Markdown is backslash-escaped (CommonMark lets any ASCII punctuation be escaped, and an
///    escaped character is always literal): emphasis, code spans, links and images, raw HTML and
///    entities, tables, strikethrough, math (`$`), autolinks (`:` of a scheme, `@` of an address,
///    the `.` after `www`), and `-`, `+`, `=`, `.`, `)` where they could start a block.
fn markdown_text(s: &str) -> String {
    let mut folded = String::with_capacity(s.len());
    for c in s.chars() {
        let c = match c {
            '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}' => ' ',
            c if is_invisible_control(c) => continue,
            c => c,
        };
        if c == ' ' && (folded.is_empty() || folded.ends_with(' ')) {
            continue;
        }
        folded.push(c);
    }
    let folded = folded.trim_end();
    let mut out = String::with_capacity(folded.len() + 8);
    // Whether only digits came before (an ordered-list marker `1.` / `1)` would follow), and
    // the last three characters (for `www.`).
    let mut only_digits = false;
    let mut last3 = ['\0'; 3];
    for (i, c) in folded.chars().enumerate() {
        let escape = match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '!' | '&' | '$'
            | ':' | '@' | '{' | '}' => true,
            // A block marker only at the start of the text.
            '-' | '+' | '=' => i == 0,
            '.' | ')' => {
                only_digits || (c == '.' && last3.iter().all(|p| p.eq_ignore_ascii_case(&'w')))
            }
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
        only_digits = c.is_ascii_digit() && (i == 0 || only_digits);
        last3 = [last3[1], last3[2], c];
    }
    out
}

/// A Markdown inline code span for a value the compiler produced (a cron, a path, a CIDR):
/// delimited by a backtick run longer than any inside it. Line breaks and other control
/// characters are refused (they would end the span's line), and so is `|`, which GitHub ends a
/// table cell at even inside a code span.
fn markdown_code(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("a Markdown code span cannot be empty".into());
    }
    refuse(s, "a Markdown code span", |c| {
        is_invisible_control(c) || c == '|'
    })?;
    let mut longest = 0usize;
    let mut run = 0usize;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || s.starts_with(' ') && s.ends_with(' ') {
        " "
    } else {
        ""
    };
    Ok(format!("{fence}{pad}{s}{pad}{fence}"))
}

/// A POSIX shell word: the text in single quotes, each `'` written as `'\''`, so no character
/// of it (`$`, `` ` ``, `;`, `*`, a space) is interpreted by the shell. Control characters are
/// refused: a quoted line break is valid shell, but a runbook writes one command per line.
fn sh_word(s: &str) -> Result<String, String> {
    refuse(s, "a shell word in a runbook", char::is_control)?;
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    Ok(out)
}

/// The one value a text filter writes: a string, or a number or boolean as text. No value,
/// a list or a map is refused (minijinja's own rendering of a list would write its strings
/// unescaped for the format): loop over it, or use `json`.
fn text_of(v: &Value) -> Result<String, Error> {
    match v.kind() {
        ValueKind::String => Ok(v.as_str().unwrap_or_default().to_string()),
        ValueKind::Bool => Ok(v.is_true().to_string()),
        ValueKind::Number => Ok(v.to_string()),
        ValueKind::Undefined | ValueKind::None => Err(Error::new(
            ErrorKind::UndefinedError,
            "a filter was given no value",
        )),
        kind => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("a text filter writes one value, not a {kind}: loop over it, or use `json`"),
        )),
    }
}

/// A filter quoting strings with `quote` and writing numbers and booleans as they are.
fn quoting(quote: fn(&str) -> String) -> impl Fn(Value) -> Result<Value, Error> {
    move |v| {
        Ok(Value::from_safe_string(match v.as_str() {
            Some(s) => quote(s),
            None => text_of(&v)?,
        }))
    }
}

/// A filter writing `v` as text through `escape`, which may refuse it.
fn escaping(escape: fn(&str) -> Result<String, String>) -> impl Fn(Value) -> Result<Value, Error> {
    move |v| {
        escape(&text_of(&v)?)
            .map(Value::from_safe_string)
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, e))
    }
}

/// The environment every blueprint template renders in.
pub struct Renderer {
    env: Environment<'static>,
}

impl Renderer {
    /// A strict environment with the format-aware filters and no way to write raw text.
    fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Output files end with their final newline (DESIGN §5); `trim_blocks` keeps block tags
        // from leaving blank lines.
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .trim_blocks(true)
            .build();
        if let Ok(syntax) = syntax {
            env.set_syntax(syntax);
        }
        for escape_hatch in ["safe", "escape", "e", "tojson", "urlencode"] {
            env.remove_filter(escape_hatch);
        }
        env.add_filter("yaml", quoting(yaml_str));
        env.add_filter("json", |v: Value| -> Result<Value, Error> {
            let json = serde_json::to_string(&v).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    format!("cannot write as JSON: {e}"),
                )
            })?;
            Ok(Value::from_safe_string(json))
        });
        env.add_filter("hcl", quoting(hcl_str));
        env.add_filter("ini", escaping(ini_value));
        env.add_filter("md", |v: Value| -> Result<Value, Error> {
            Ok(Value::from_safe_string(markdown_text(&text_of(&v)?)))
        });
        env.add_filter("mdcode", escaping(markdown_code));
        env.add_filter("sh", escaping(sh_word));
        // Text is written only when a filter made it safe for its format; numbers and
        // booleans cannot break a structure and are written as they are.
        env.set_formatter(|out, _state, value| {
            let written = if value.kind() == ValueKind::Bool {
                // minijinja prints `True`; YAML, JSON, HCL and INI want `true`.
                Some(if value.is_true() {
                    "true".to_string()
                } else {
                    "false".to_string()
                })
            } else if value.is_safe() || value.is_number() {
                Some(value.to_string())
            } else {
                None
            };
            if let Some(text) = written {
                return out
                    .write_str(&text)
                    .map_err(|e| Error::new(ErrorKind::WriteFailure, e.to_string()));
            }
            Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("`{value}` is written without a format filter (yaml, json, hcl, ini, md, mdcode or sh)"),
            ))
        });
        Self { env }
    }

    /// Adds a template (blueprint's own source, never a user's string).
    fn add_template(&mut self, name: &str, source: &str) -> Result<(), RenderError> {
        self.env
            .add_template_owned(name.to_string(), source.to_string())
            .map_err(|e| RenderError::from_minijinja(name, &e))
    }

    /// The environment with a template set: the embedded one, or a platform team's own
    /// (`--blueprints DIR`, read by the caller). Every template that does not compile is
    /// reported.
    pub fn with_templates<'a>(
        templates: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, Vec<RenderError>> {
        let mut r = Self::new();
        let errors: Vec<RenderError> = templates
            .into_iter()
            .filter_map(|(name, source)| r.add_template(name, source).err())
            .collect();
        if errors.is_empty() {
            Ok(r)
        } else {
            Err(errors)
        }
    }

    fn render_value(&self, name: &str, context: Value) -> Result<String, RenderError> {
        let template = self
            .env
            .get_template(name)
            .map_err(|e| RenderError::from_minijinja(name, &e))?;
        template
            .render(context)
            .map_err(|e| RenderError::from_minijinja(name, &e))
    }

    /// Renders one output of an IR with the IR's converted contexts.
    pub fn render_output(
        &self,
        contexts: &Contexts,
        output: &Output,
    ) -> Result<String, RenderError> {
        self.render_value(&output.template, contexts.of(output))
    }
}

include!(concat!(env!("OUT_DIR"), "/blueprints.rs"));

fn to_value<T: serde::Serialize>(x: &T) -> Value {
    Value::from(minijinja::value::Serde(x))
}

/// The context values of an IR, converted once and shared by every output (and every
/// thread: values are reference counted and immutable).
pub struct Contexts {
    fleet: Value,
    plants: Vec<Value>,
    clusters: Vec<(Value, Value, Value)>,
}

impl Contexts {
    /// Converts the fleet, plant and cluster contexts of an IR.
    #[must_use]
    pub fn new(ir: &Ir) -> Self {
        let plants: Vec<Value> = ir.plants.iter().map(to_value).collect();
        let pick = |idx: &[usize]| -> Value {
            Value::from(
                idx.iter()
                    .filter_map(|&i| plants.get(i).cloned())
                    .collect::<Vec<_>>(),
            )
        };
        let clusters = ir
            .clusters
            .iter()
            .map(|c| (to_value(c), pick(&c.plants), pick(&c.tenants)))
            .collect();
        Self {
            fleet: to_value(&ir.fleet),
            plants,
            clusters,
        }
    }

    fn of(&self, o: &Output) -> Value {
        let item = to_value(&o.item);
        match o.scope {
            Scope::Fleet => minijinja::context! { fleet => self.fleet.clone(), item },
            Scope::Plant(i) => minijinja::context! {
                fleet => self.fleet.clone(),
                plant => self.plants.get(i).cloned(),
                item,
            },
            Scope::Cluster(i) => {
                let (cluster, plants, tenants) = self.clusters.get(i).cloned().unwrap_or_default();
                minijinja::context! { fleet => self.fleet.clone(), cluster, plants, tenants, item }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Plant text that tries every way out of its field.
    const HOSTILE: &[&str] = &[
        "plain",
        "quote \" and 'single'",
        "colon: value # comment",
        "line\nbreak: injected\n- item",
        "{{ 7 * 7 }} {% if true %}x{% endif %}",
        "${var.secret} %{ if true }x%{ endif }",
        "&anchor *alias !!tag",
        "back\\slash and \t tab",
        "\u{2028}line separator",
        "yes",
        "17.0",
    ];

    impl Renderer {
        /// Renders template `name` with a serialisable context.
        fn render<C: serde::Serialize>(
            &self,
            name: &str,
            context: &C,
        ) -> Result<String, RenderError> {
            self.render_value(name, to_value(context))
        }
    }

    fn renderer(source: &str) -> Renderer {
        let mut r = Renderer::new();
        r.add_template("t", source).unwrap();
        r
    }

    #[test]
    fn hostile_text_stays_one_yaml_scalar_with_its_exact_value() {
        let r = renderer("key: {{ v|yaml }}\nother: 1\n");
        for s in HOSTILE.iter().filter(|s| !s.contains('\u{2028}')) {
            let out = r.render("t", &json!({ "v": s })).unwrap();
            let mut map = blueprint_diagnostics::SourceMap::new();
            let id = map.add("out.yaml", out.clone());
            let parsed = blueprint_syntax::parse(
                &map,
                id,
                blueprint_syntax::Format::Yaml,
                &blueprint_syntax::Limits::default(),
            );
            assert!(
                parsed.diagnostics.is_empty(),
                "{s:?} → {out}: {:?}",
                parsed.diagnostics
            );
            let root = parsed.root.unwrap();
            assert_eq!(root.get("key").and_then(|k| k.as_str()), Some(*s), "{out}");
            assert_eq!(root.as_map().unwrap().len(), 2, "{out}");
        }
    }

    #[test]
    fn hostile_text_stays_one_json_string() {
        let r = renderer("{\"key\": {{ v|json }}}\n");
        for s in HOSTILE {
            let out = r.render("t", &json!({ "v": s })).unwrap();
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["key"], json!(s));
            assert_eq!(v.as_object().unwrap().len(), 1);
        }
    }

    #[test]
    fn hcl_strings_escape_interpolation_and_directives() {
        assert_eq!(hcl_str("${var.x}"), "\"$${var.x}\"");
        assert_eq!(hcl_str("%{ if x }"), "\"%%{ if x }\"");
        assert_eq!(hcl_str("a\"b\nc"), "\"a\\\"b\\nc\"");
        assert_eq!(hcl_str("$5 and 100%"), "\"$5 and 100%\"");
    }

    #[test]
    fn ini_values_refuse_line_breaks() {
        let r = renderer("[options]\ndb_name = {{ v|ini }}\n");
        assert_eq!(
            r.render("t", &json!({ "v": "lyon" })).unwrap(),
            "[options]\ndb_name = lyon\n"
        );
        let err = r
            .render("t", &json!({ "v": "lyon\nadmin_passwd = x" }))
            .unwrap_err();
        assert!(err.message.contains("U+000A"), "{err}");
    }

    #[test]
    fn text_without_a_format_filter_is_refused() {
        let r = renderer("key: {{ v }}\n");
        let err = r.render("t", &json!({ "v": "x" })).unwrap_err();
        assert!(err.message.contains("without a format filter"), "{err}");
        // Numbers and booleans cannot break a structure.
        let r = renderer("n: {{ n }}\nb: {{ b }}\nc: {{ b|yaml }}\n");
        assert_eq!(
            r.render("t", &json!({ "n": 3, "b": true })).unwrap(),
            "n: 3\nb: true\nc: true\n"
        );
    }

    #[test]
    fn text_filters_refuse_lists_and_maps() {
        // minijinja would write a list's strings unescaped: `${` would reach HCL as is.
        for filter in ["yaml", "hcl", "ini", "md", "mdcode", "sh"] {
            let r = renderer(&format!("x = {{{{ v|{filter} }}}}\n"));
            for v in [json!(["${var.secret}"]), json!({ "a": "b\nc" })] {
                let err = r.render("t", &json!({ "v": v })).unwrap_err();
                assert!(err.message.contains("writes one value"), "{filter}: {err}");
            }
        }
        let r = renderer("x = {{ v|json }}\n");
        assert_eq!(
            r.render("t", &json!({ "v": ["a", 1] })).unwrap(),
            "x = [\"a\",1]\n"
        );
    }

    #[test]
    fn escape_hatches_and_undefined_values_are_errors() {
        let mut r = Renderer::new();
        assert!(
            r.add_template("t", "{{ v|safe }}").is_err()
                || r.render("t", &json!({ "v": "x" })).is_err()
        );
        let r = renderer("{{ missing|yaml }}");
        assert!(r.render("t", &json!({})).is_err());
        // Concatenating filtered text makes plain text again, which is refused.
        let r = renderer("{{ (a|yaml) ~ b }}");
        assert!(r.render("t", &json!({ "a": "x", "b": "y" })).is_err());
    }

    /// Plant text that tries to become Markdown structure.
    const HOSTILE_MD: &[&str] = &[
        "[click](javascript:alert(1))",
        "x](javascript:alert(1))",
        "<script>alert(1)</script>",
        "`code` and ``double``",
        "```sh\nrm -rf /\n```",
        "~~~\nfenced",
        "line one\n# injected heading\n- item\n> quote",
        "{{ 7 * 7 }} {% if true %}x{% endif %}",
        "| a | b |\n|---|---|",
        "**bold** _em_ ~~strike~~ $x$ &lt; &#60;",
        "see https://evil.example or www.evil.example or a@evil.example",
        "1. first",
        "- dash",
        "+ plus",
        "=== setext",
        "    indented code",
        "![img](x.png) <!-- comment -->",
        "right\u{202e}to\u{2066}left\u{200b}\u{feff}",
        "back\\slash \\` escaped",
    ];

    /// Whether `text` is inert: no line break, no unescaped Markdown punctuation, and no
    /// character that could start a block at its beginning.
    fn assert_inert(input: &str, text: &str) {
        assert!(
            !text.contains('\n') && !text.contains('\r'),
            "{input:?} → {text:?}"
        );
        assert_eq!(text, text.trim(), "{input:?} → {text:?}");
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' {
                // An escape covers exactly the next character, which must be ASCII punctuation.
                let next = chars.get(i + 1).copied();
                assert!(
                    next.is_some_and(|n| n.is_ascii_punctuation()),
                    "{input:?} → {text:?}: dangling backslash at {i}"
                );
                i += 2;
                continue;
            }
            assert!(
                !"`*_[]<>#|~!&$:@{}".contains(c),
                "{input:?} → {text:?}: unescaped {c:?} at {i}"
            );
            assert!(
                !(i == 0 && "-+=".contains(c)),
                "{input:?} → {text:?}: block marker at the start"
            );
            assert!(
                !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}' | '\u{feff}'),
                "{input:?} → {text:?}: invisible control kept"
            );
            i += 1;
        }
    }

    #[test]
    fn hostile_text_is_inert_markdown() {
        for s in HOSTILE_MD.iter().chain(HOSTILE) {
            assert_inert(s, &markdown_text(s));
        }
    }

    #[test]
    fn markdown_text_keeps_readable_text_and_escapes_exactly() {
        assert_eq!(
            markdown_text("Lyon – stamping (Saint-Priest), 2 lines."),
            "Lyon – stamping (Saint-Priest), 2 lines."
        );
        assert_eq!(
            markdown_text("x](javascript:alert(1))"),
            "x\\](javascript\\:alert(1))"
        );
        assert_eq!(markdown_text("<script>"), "\\<script\\>");
        assert_eq!(markdown_text("a\n# injected"), "a \\# injected");
        assert_eq!(markdown_text("1. first"), "1\\. first");
        assert_eq!(markdown_text("12) x"), "12\\) x");
        assert_eq!(markdown_text("- dash"), "\\- dash");
        assert_eq!(markdown_text("see www.x.com"), "see www\\.x.com");
        assert_eq!(markdown_text("  a \t\n b  "), "a b");
        assert_eq!(markdown_text("{{ 7 * 7 }}"), "\\{\\{ 7 \\* 7 \\}\\}");
        assert_eq!(markdown_text("r\u{202e}l"), "rl");
    }

    #[test]
    fn md_filter_writes_plant_text_as_data() {
        let r = renderer("- Description: {{ v|md }}\n");
        let out = r
            .render(
                "t",
                &json!({ "v": "a\n# injected\n```sh\nrm -rf /\n```\n{{ 7 * 7 }}" }),
            )
            .unwrap();
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(!out.contains("49"), "{out}");
        assert!(out.contains("\\{\\{ 7 \\* 7 \\}\\}"), "{out}");
    }

    #[test]
    fn code_spans_outlast_the_backticks_inside_them() {
        assert_eq!(markdown_code("0 3 * * 0").unwrap(), "`0 3 * * 0`");
        assert_eq!(markdown_code("a`b").unwrap(), "``a`b``");
        assert_eq!(markdown_code("`x").unwrap(), "`` `x ``");
        // CommonMark strips one space from each end when both are spaces: pad to keep them.
        assert_eq!(markdown_code(" x ").unwrap(), "`  x  `");
        assert!(markdown_code("a\nb").is_err());
        assert!(markdown_code("a|b").is_err());
        assert!(markdown_code("").is_err());
    }

    #[test]
    fn shell_words_are_single_quoted() {
        assert_eq!(sh_word("lyon-prod").as_deref(), Ok("'lyon-prod'"));
        assert_eq!(sh_word("it's").as_deref(), Ok("'it'\\''s'"));
        assert_eq!(
            sh_word("$(rm -rf /) `x` ; *").as_deref(),
            Ok("'$(rm -rf /) `x` ; *'")
        );
        assert_eq!(sh_word("").as_deref(), Ok("''"));
        assert!(sh_word("a\rb").is_err());
        let r = renderer("echo {{ v|sh }}\n");
        assert_eq!(
            r.render("t", &json!({ "v": "a'b" })).unwrap(),
            "echo 'a'\\''b'\n"
        );
        let err = r.render("t", &json!({ "v": "a\nrm -rf /" })).unwrap_err();
        assert!(err.message.contains("U+000A"), "{err}");
    }
}

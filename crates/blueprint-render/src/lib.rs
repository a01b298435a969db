//! The template environment (DESIGN §7): minijinja with strict undefined behaviour, fed only
//! with the resolved model, where no text reaches the output unless a format-aware filter made
//! it safe for the place it is written to.
//!
//! 1. [`Renderer::new`] builds the environment: undefined values are errors; `safe` and the
//!    other escape hatches are removed; the formatter refuses any string that did not come out
//!    of one of the filters below (numbers and booleans are written as they are).
//! 2. The filters quote for their format: `yaml` (a double-quoted YAML 1.2 scalar), `json`,
//!    `hcl` (an HCL string with `${` and `%{` escaped), `ini` (a value on one line, refusing
//!    line breaks). Plant text such as `"; rm -rf /`, a newline, `{{ }}` or `${ }` stays data.
//! 3. [`Renderer::render`] renders a named template with a serialisable context.
//!
//! Templates are source code of blueprint (or of the platform team, with `--blueprints`), never
//! user strings: plant text only ever arrives as context values.

use minijinja::value::Value;
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

/// Quotes text as a double-quoted YAML 1.2 scalar (a JSON string is one), so that no quote,
/// colon, `#`, line break, anchor or tag in it can change the document's structure.
#[must_use]
pub fn yaml_str(s: &str) -> String {
    json_str(s)
}

/// Quotes text as a JSON string; control characters and U+2028/U+2029 are escaped.
#[must_use]
pub fn json_str(s: &str) -> String {
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

/// Quotes text as an HCL (Terraform) string: escapes as JSON does, and doubles the `$` of `${`
/// and the `%` of `%{` so that no interpolation or directive can run.
#[must_use]
pub fn hcl_str(s: &str) -> String {
    let quoted = json_str(s);
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

/// An INI value (`odoo.conf`, `pgbackrest.conf`): written as is on its key's line, so a line
/// break or NUL would start a new key; those are refused.
pub fn ini_value(s: &str) -> Result<String, String> {
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(format!(
            "an INI value cannot contain U+{:04X} (it would start a new line or key)",
            u32::from(c)
        ));
    }
    Ok(s.trim().to_string())
}

fn text_of(v: &Value) -> Result<String, Error> {
    match v.as_str() {
        Some(s) => Ok(s.to_string()),
        None if v.is_undefined() || v.is_none() => Err(Error::new(
            ErrorKind::UndefinedError,
            "a filter was given no value",
        )),
        None if v.kind() == minijinja::value::ValueKind::Bool => Ok(v.is_true().to_string()),
        None => Ok(v.to_string()),
    }
}

/// The environment every blueprint template renders in.
pub struct Renderer {
    env: Environment<'static>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    /// A strict environment with the format-aware filters and no way to write raw text.
    #[must_use]
    pub fn new() -> Self {
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
        env.add_filter("yaml", |v: Value| -> Result<Value, Error> {
            Ok(match v.as_str() {
                Some(s) => Value::from_safe_string(yaml_str(s)),
                None => Value::from_safe_string(text_of(&v)?),
            })
        });
        env.add_filter("json", |v: Value| -> Result<Value, Error> {
            let json = serde_json::to_string(&v).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    format!("cannot write as JSON: {e}"),
                )
            })?;
            Ok(Value::from_safe_string(json))
        });
        env.add_filter("hcl", |v: Value| -> Result<Value, Error> {
            Ok(match v.as_str() {
                Some(s) => Value::from_safe_string(hcl_str(s)),
                None => Value::from_safe_string(text_of(&v)?),
            })
        });
        env.add_filter("ini", |v: Value| -> Result<Value, Error> {
            let s = text_of(&v)?;
            ini_value(&s)
                .map(Value::from_safe_string)
                .map_err(|e| Error::new(ErrorKind::InvalidOperation, e))
        });
        // Text is written only when a filter made it safe for its format; numbers and
        // booleans cannot break a structure and are written as they are.
        env.set_formatter(|out, _state, value| {
            let written = if value.kind() == minijinja::value::ValueKind::Bool {
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
                format!("`{value}` is written without a format filter (yaml, json, hcl or ini)"),
            ))
        });
        Self { env }
    }

    /// Adds a template (blueprint's own source, never a user's string).
    pub fn add_template(&mut self, name: &str, source: &str) -> Result<(), RenderError> {
        self.env
            .add_template_owned(name.to_string(), source.to_string())
            .map_err(|e| RenderError::from_minijinja(name, &e))
    }

    /// Renders a template with a serialisable context.
    pub fn render<C: serde::Serialize>(
        &self,
        name: &str,
        context: &C,
    ) -> Result<String, RenderError> {
        let template = self
            .env
            .get_template(name)
            .map_err(|e| RenderError::from_minijinja(name, &e))?;
        template
            .render(Value::from(minijinja::value::Serde(context)))
            .map_err(|e| RenderError::from_minijinja(name, &e))
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
}

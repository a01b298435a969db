//! Credentials in plant and fleet files (BP4015). Secret values never pass through blueprint
//! (DESIGN §6): the tree holds references, and the platform's secret store the values. A plant
//! file is committed and reviewed, and its text reaches the runbook and the Terraform outputs,
//! so text that looks like a credential is refused where it is written, comments included (a
//! comment is in git history as much as a value).
//!
//! The patterns are those of the credential's own format (an AWS access key id, a private key
//! block, forge and chat tokens, a JWT, a URL with a password) and a secret-named assignment
//! (`password=…`, `api_key: …`), so ordinary text does not match.

use blueprint_diagnostics::{Diagnostic, FileId, SourceMap, Span, codes};
use regex::Regex;
use std::sync::LazyLock;

/// What each pattern finds.
static PATTERNS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    [
        (
            "an AWS access key id",
            r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b",
        ),
        ("a private key", r"-----BEGIN[A-Z ]*PRIVATE KEY( BLOCK)?-----"),
        (
            "a GitHub token",
            r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
        ),
        ("a GitLab token", r"\bglpat-[A-Za-z0-9_-]{20,}"),
        ("a Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
        (
            "a JSON Web Token",
            r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
        ),
        (
            "a URL with a password",
            r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:[^/\s@]+@",
        ),
        (
            "a secret assigned a value",
            r#"(?i)\b[a-z0-9_.-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)[a-z0-9_.-]*\s*[:=]\s*["']?[^\s"',;\\]{6,}"#,
        ),
    ]
    .into_iter()
    .filter_map(|(what, re)| Regex::new(re).ok().map(|r| (what, r)))
    .collect()
});

/// A BP4015 finding for each credential-looking text of file `id` (the first per line).
pub(crate) fn scan(map: &SourceMap, id: FileId, diags: &mut Vec<Diagnostic>) {
    let file = map.file(id);
    let text = file.text.as_str();
    let mut last_line_end = 0;
    for (start, end, what) in matches(text) {
        if start < last_line_end {
            continue;
        }
        last_line_end = text[end..].find('\n').map_or(text.len(), |n| end + n);
        diags.push(
            Diagnostic::new(
                codes::LOOKS_LIKE_SECRET,
                format!("text that looks like {what} in {}", file.path),
            )
            .at(Span::new(id, start, end), format!("looks like {what}"))
            .note("plant and fleet files are committed and reviewed, and their text reaches the runbook and Terraform outputs")
            .help("remove it, and rotate the credential: it is in git history now. Secrets live in the platform's secret store; the tree refers to them (ExternalSecret)"),
        );
    }
}

/// Each match: byte range and what it looks like, in text order.
fn matches(text: &str) -> Vec<(usize, usize, &'static str)> {
    let mut found: Vec<(usize, usize, &'static str)> = PATTERNS
        .iter()
        .flat_map(|(what, re)| re.find_iter(text).map(move |m| (m.start(), m.end(), *what)))
        .collect();
    found.sort_by_key(|(s, e, _)| (*s, std::cmp::Reverse(*e)));
    found
}

#[cfg(test)]
mod tests {
    use super::matches;

    fn kinds(text: &str) -> Vec<&'static str> {
        matches(text).into_iter().map(|(_, _, w)| w).collect()
    }

    #[test]
    fn credentials_are_found_by_their_format() {
        for (text, what) in [
            ("key: AKIAIOSFODNN7EXAMPLE", "an AWS access key id"),
            ("-----BEGIN OPENSSH PRIVATE KEY-----", "a private key"),
            ("ghp_0123456789abcdefghijABCDEFGHIJ012345", "a GitHub token"),
            ("glpat-abcdefghij0123456789", "a GitLab token"),
            ("xoxb-1234567890-abcdef", "a Slack token"),
            (
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdefghijkl",
                "a JSON Web Token",
            ),
            (
                "postgres://odoo:hunter22@db:5432/odoo",
                "a URL with a password",
            ),
            (
                "description: \"admin password=Sup3rS3cret\"",
                "a secret assigned a value",
            ),
            ("api_key: 0123456789abcdef", "a secret assigned a value"),
        ] {
            assert!(kinds(text).contains(&what), "{text}: {:?}", kinds(text));
        }
    }

    #[test]
    fn ordinary_plant_text_is_not_a_credential() {
        for text in [
            "image: registry.example.com/odoo/odoo:18.0@sha256:721a1accefa20e9bab8d69ee144b6ebc13499634acc384f07ffaee45657e0875",
            "description: Password resets go through the group's SSO portal.",
            "gitopsRepo = \"https://git.hexacore.eu/platform/erp-gitops.git\"",
            "tokens: 3",
            // An escaped newline ends the value: `x` is no secret.
            r#"description: "HOSTILE\n[options]\nadmin_passwd = x\nlist_db = True""#,
            "email: erp-lyon@example.com",
            "oidcIssuer = \"https://oidc.eks.eu-west-3.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE\"",
        ] {
            assert!(kinds(text).is_empty(), "{text}: {:?}", kinds(text));
        }
    }
}

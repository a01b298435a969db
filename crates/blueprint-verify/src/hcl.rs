//! Terraform files read back: each must parse as HCL and already be in the layout
//! `terraform fmt` writes (reference `terraform.md` §6), so `terraform fmt -check` on the
//! generated tree finds nothing to change.
//!
//! [`canonical`] is a small re-implementation of the formatter behind `terraform fmt`
//! (hclwrite's `format` plus the few rewrites of Terraform's `fmt` command), written against
//! Terraform 1.11.4. It never adds or removes a line, only spaces inside lines:
//!
//! - the text is cut into tokens (strings, `${…}`/`%{…}` templates and heredocs included) and
//!   then into lines; a heredoc with its body is one line, its body kept byte for byte;
//! - indentation is 2 spaces per level: a line whose brackets (`{ [ (`, `${`, `%{`) open more
//!   than they close indents the lines after it, one level however many it opened, and the
//!   line that closes them goes back to its opener's level (so `}, {` stays at the inner level,
//!   as terraform writes it);
//! - spaces between tokens follow hclwrite's rules: one space around `=` and operators, after
//!   `,` and inside braces (`{ a = 1 }`, but `{}`), none inside `[ ]`, `( )`, `${ }`, around `.`,
//!   after `!` or a unary `-`, before `(` of a call, `[` of an index or `,`;
//! - the `=` of consecutive lines that hold a whole single-line attribute (blocks and multi-line
//!   objects alike) is padded to one space after the longest key; a blank line, a comment line,
//!   a block header, `}`, or an attribute whose value opens brackets it closes on a later line
//!   ends the run (that attribute is not padded). Trailing comments of consecutive lines are
//!   aligned the same way;
//! - Terraform's own rewrites: block labels are quoted (`resource aws_s3_bucket x` →
//!   `resource "aws_s3_bucket" "x"`), an attribute whose value is only `"${expr}"` becomes
//!   `expr`, and a `variable`'s legacy `type` (`list`, `"string"`…) is written in the modern form.
//!
//! On top of what `terraform fmt` checks, [`verify`] holds generated files to the emission rules
//! of §6 that fmt leaves alone: LF line endings, no tab, no trailing whitespace (fmt keeps it in
//! comments and heredocs), exactly one newline at the end, and no blank line directly after `{`
//! or before `}`.

use hcl_edit::parser;
use std::borrow::Cow;
use std::collections::BTreeSet;

/// Every problem of one rendered Terraform file (empty when it is valid and fmt-clean). Each
/// names its line: `line N: …`.
#[must_use]
pub fn verify(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    // Lines whose difference from the canonical layout is already explained.
    let mut named = BTreeSet::new();
    let lines: Vec<&str> = text.split_terminator('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        if line.contains('\r') {
            problems.push(format!(
                "line {n}: carriage return (CRLF line ending); write LF only"
            ));
        }
        if line.contains('\t') {
            problems.push(format!(
                "line {n}: tab character; indent with spaces and escape tabs in strings as \\t"
            ));
            named.insert(n);
        }
        let content = line.trim_end_matches('\r');
        if content.ends_with([' ', '\t']) {
            problems.push(format!("line {n}: trailing whitespace"));
        }
    }
    if !text.is_empty() && !text.ends_with('\n') {
        problems.push(format!("line {}: no newline at end of file", lines.len()));
    } else {
        let blank = lines
            .iter()
            .rev()
            .take_while(|l| l.trim_end_matches('\r').is_empty())
            .count();
        if blank > 0 {
            let first = lines.len() - blank + 1;
            problems.push(format!(
                "line {first}: blank line at end of file (end with exactly one newline)"
            ));
            named.extend(first..=lines.len());
        }
    }
    let tokens = match tokens(text) {
        Ok(tokens) => tokens,
        Err(e) => {
            problems.push(e);
            return problems;
        }
    };
    problems.extend(blank_lines_inside_braces(&tokens));
    let canon = layout(tokens);
    let want: Vec<&str> = canon.split_terminator('\n').collect();
    let trim = |s: &&str| s.trim_end_matches([' ', '\t', '\r']).to_string();
    for i in 0..want.len().max(lines.len()) {
        let n = i + 1;
        let (w, f) = (want.get(i).map(trim), lines.get(i).map(trim));
        if w != f && !named.contains(&n) {
            let show = |s: Option<String>| {
                s.map_or_else(|| "end of file".to_string(), |s| format!("`{s}`"))
            };
            problems.push(format!("line {n}: expected {}, found {}", show(w), show(f)));
            break;
        }
    }
    problems
}

/// `text` as `terraform fmt` (Terraform 1.11) would write it, with LF line endings and exactly
/// one newline at the end (which fmt does not enforce). An error when `text` does not parse as
/// HCL (`line L:C: …`).
pub fn canonical(text: &str) -> Result<String, String> {
    tokens(text).map(layout)
}

/// Parses `text` with hcl-edit, then cuts it into the tokens the layout works on.
fn tokens(text: &str) -> Result<Vec<Tok<'_>>, String> {
    if let Err(e) = parser::parse_body(text) {
        return Err(format!(
            "line {}:{}: does not parse as HCL: {}",
            e.location().line(),
            e.location().column(),
            e.message()
        ));
    }
    Lexer::new(text).run()
}

/// Lays the tokens out and writes the text.
fn layout(tokens: Vec<Tok<'_>>) -> String {
    let mut tokens = terraform_rewrites(tokens);
    let lines = split_lines(&tokens);
    indent(&mut tokens, &lines);
    space(&mut tokens, &lines);
    align(&mut tokens, &lines);
    let mut out = String::new();
    for t in &tokens {
        out.extend(std::iter::repeat_n(' ', t.spaces));
        out.push_str(&t.text);
    }
    let mut out = out.replace("\r\n", "\n");
    let kept = out.trim_end_matches(['\n', ' ', '\t']).len();
    out.truncate(kept);
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// Blank lines directly after a line ending in `{` or directly before a line starting with `}`.
fn blank_lines_inside_braces(tokens: &[Tok<'_>]) -> Vec<String> {
    let lines = split_lines(tokens);
    let mut problems = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let is_blank = |l: &Line| l.end == l.start + 1 && tokens[l.start].kind == Kind::Newline;
        if !is_blank(line) {
            continue;
        }
        let n = tokens[line.start].line;
        let opens = i
            .checked_sub(1)
            .and_then(|p| lines.get(p))
            .is_some_and(|p| {
                tokens[p.start..p.end]
                    .iter()
                    .rev()
                    .find(|t| !matches!(t.kind, Kind::Newline | Kind::Comment))
                    .is_some_and(|t| t.kind == Kind::OBrace)
            });
        if opens {
            problems.push(format!("line {n}: blank line directly after `{{`"));
        }
        let closes = lines
            .get(i + 1)
            .is_some_and(|l| l.start < l.end && tokens[l.start].kind == Kind::CBrace);
        if closes {
            problems.push(format!("line {n}: blank line directly before `}}`"));
        }
    }
    problems
}

/// What a token is, as far as layout goes (hclsyntax's token types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Newline,
    /// `# …` or `// …` with its line break, or `/* … */`.
    Comment,
    Ident,
    Number,
    /// `"` opening a quoted template.
    OQuote,
    /// `"` closing it.
    CQuote,
    /// Literal text of a quoted template.
    QuotedLit,
    /// `<<EOT` or `<<-EOT` with its line break.
    OHeredoc,
    /// The closing marker line of a heredoc, leading spaces included.
    CHeredoc,
    /// Literal text of a heredoc.
    StringLit,
    /// `${` or `${~`.
    Interp,
    /// `%{` or `%{~`.
    Control,
    /// `}` or `~}` closing a template sequence.
    SeqEnd,
    OBrace,
    CBrace,
    OBrack,
    CBrack,
    OParen,
    CParen,
    Equal,
    Comma,
    Dot,
    Ellipsis,
    Colon,
    DoubleColon,
    Question,
    FatArrow,
    Bang,
    Minus,
    Plus,
    Star,
    Slash,
    Percent,
    EqualOp,
    NotEqual,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

/// One token: its text, the spaces before it, and the line it starts on.
#[derive(Debug, Clone)]
struct Tok<'a> {
    kind: Kind,
    text: Cow<'a, str>,
    spaces: usize,
    line: usize,
}

impl Tok<'_> {
    fn new(kind: Kind, text: &'static str, line: usize) -> Self {
        Tok {
            kind,
            text: Cow::Borrowed(text),
            spaces: 0,
            line,
        }
    }

    /// Columns it takes, the spaces before it included.
    fn columns(&self) -> usize {
        self.spaces + self.text.chars().count()
    }
}

/// +1 for an opening bracket (template sequences included), -1 for a closing one.
fn bracket_change(kind: Kind) -> i64 {
    match kind {
        Kind::OBrace | Kind::OBrack | Kind::OParen | Kind::Interp | Kind::Control => 1,
        Kind::CBrace | Kind::CBrack | Kind::CParen | Kind::SeqEnd => -1,
        _ => 0,
    }
}

enum Mode<'a> {
    /// Expressions; inside a template sequence when `template`, which its `}` at `depth` 0 ends.
    Code { template: bool, depth: usize },
    /// Inside `"…"`.
    Quoted,
    /// Inside a heredoc closed by `marker`.
    Heredoc { marker: &'a str, line_start: bool },
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    line: usize,
    toks: Vec<Tok<'a>>,
    modes: Vec<Mode<'a>>,
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str) -> Self {
        Lexer {
            src,
            pos: 0,
            line: 1,
            toks: Vec::new(),
            modes: Vec::new(),
        }
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn push(&mut self, kind: Kind, len: usize) {
        let text = &self.src[self.pos..self.pos + len];
        self.toks.push(Tok {
            kind,
            text: Cow::Borrowed(text),
            spaces: 0,
            line: self.line,
        });
        self.line += text.matches('\n').count();
        self.pos += len;
    }

    fn error(&self, what: &str) -> String {
        format!("line {}: cannot lay out: {what}", self.line)
    }

    fn run(mut self) -> Result<Vec<Tok<'a>>, String> {
        while self.pos < self.src.len() {
            match self.modes.last() {
                None => self.code(false)?,
                Some(Mode::Code { template, .. }) => {
                    let template = *template;
                    self.code(template)?;
                }
                Some(Mode::Quoted) => self.quoted()?,
                Some(Mode::Heredoc { marker, line_start }) => {
                    let (marker, line_start) = (*marker, *line_start);
                    self.heredoc(marker, line_start)?;
                }
            }
        }
        if !self.modes.is_empty() {
            return Err(self.error("unterminated string, template or heredoc"));
        }
        Ok(self.toks)
    }

    fn depth(&mut self) -> Option<&mut usize> {
        match self.modes.last_mut() {
            Some(Mode::Code { depth, .. }) => Some(depth),
            _ => None,
        }
    }

    /// One token (or a run of spaces) of an expression.
    fn code(&mut self, template: bool) -> Result<(), String> {
        let rest = self.rest();
        let Some(c) = rest.chars().next() else {
            return Ok(());
        };
        let two = |s: &str| rest.starts_with(s);
        match c {
            ' ' | '\t' => self.pos += 1,
            '\n' => self.push(Kind::Newline, 1),
            '\r' if two("\r\n") => self.push(Kind::Newline, 2),
            '#' => self.push(Kind::Comment, line_len(rest)),
            '/' if two("//") => self.push(Kind::Comment, line_len(rest)),
            '/' if two("/*") => match rest[2..].find("*/") {
                Some(end) => self.push(Kind::Comment, end + 4),
                None => return Err(self.error("unterminated /* comment")),
            },
            '"' => {
                self.push(Kind::OQuote, 1);
                self.modes.push(Mode::Quoted);
            }
            '<' if two("<<") => {
                let header = &rest[..line_len(rest)];
                let name = header[2..].strip_prefix('-').unwrap_or(&header[2..]);
                let marker = name.trim_end_matches(['\r', '\n']);
                if marker.is_empty() || !header.ends_with('\n') {
                    return Err(self.error("malformed heredoc header"));
                }
                self.push(Kind::OHeredoc, header.len());
                self.modes.push(Mode::Heredoc {
                    marker,
                    line_start: true,
                });
            }
            '{' => {
                if let Some(depth) = self.depth() {
                    *depth += 1;
                }
                self.push(Kind::OBrace, 1);
            }
            '}' | '~'
                if template && matches!(self.modes.last(), Some(Mode::Code { depth: 0, .. })) =>
            {
                let len = if c == '~' && two("~}") {
                    2
                } else if c == '}' {
                    1
                } else {
                    return Err(self.error("unexpected `~`"));
                };
                self.push(Kind::SeqEnd, len);
                self.modes.pop();
            }
            '}' => {
                if let Some(depth) = self.depth() {
                    *depth = depth.saturating_sub(1);
                }
                self.push(Kind::CBrace, 1);
            }
            '0'..='9' => self.push(Kind::Number, number_len(rest)),
            c if c.is_alphabetic() || c == '_' => {
                let len = rest
                    .char_indices()
                    .find(|&(_, c)| !(c.is_alphanumeric() || c == '_' || c == '-'))
                    .map_or(rest.len(), |(i, _)| i);
                self.push(Kind::Ident, len);
            }
            _ => {
                let (kind, len) = match c {
                    '[' => (Kind::OBrack, 1),
                    ']' => (Kind::CBrack, 1),
                    '(' => (Kind::OParen, 1),
                    ')' => (Kind::CParen, 1),
                    ',' => (Kind::Comma, 1),
                    '?' => (Kind::Question, 1),
                    '+' => (Kind::Plus, 1),
                    '-' => (Kind::Minus, 1),
                    '*' => (Kind::Star, 1),
                    '/' => (Kind::Slash, 1),
                    '%' => (Kind::Percent, 1),
                    '.' if two("...") => (Kind::Ellipsis, 3),
                    '.' => (Kind::Dot, 1),
                    ':' if two("::") => (Kind::DoubleColon, 2),
                    ':' => (Kind::Colon, 1),
                    '=' if two("==") => (Kind::EqualOp, 2),
                    '=' if two("=>") => (Kind::FatArrow, 2),
                    '=' => (Kind::Equal, 1),
                    '!' if two("!=") => (Kind::NotEqual, 2),
                    '!' => (Kind::Bang, 1),
                    '<' if two("<=") => (Kind::Le, 2),
                    '<' => (Kind::Lt, 1),
                    '>' if two(">=") => (Kind::Ge, 2),
                    '>' => (Kind::Gt, 1),
                    '&' if two("&&") => (Kind::And, 2),
                    '|' if two("||") => (Kind::Or, 2),
                    _ => return Err(self.error(&format!("unexpected character {c:?}"))),
                };
                self.push(kind, len);
            }
        }
        Ok(())
    }

    /// Literal text of a template up to its next sequence (`${`, `%{`), the end of the line
    /// (heredocs, line break included) or the closing quote (quoted, backslash escapes).
    fn literal_len(&self, quoted: bool) -> usize {
        let rest = self.rest().as_bytes();
        let mut i = 0;
        while i < rest.len() {
            let at = |s: &[u8]| rest[i..].starts_with(s);
            match rest[i] {
                b'"' if quoted => return i,
                b'\n' if quoted => return i,
                b'\n' => return i + 1,
                b'\\' if quoted => i += 2,
                b'$' | b'%' if at(b"$${") || at(b"%%{") => i += 3,
                b'$' | b'%' if rest.get(i + 1) == Some(&b'{') => return i,
                _ => i += 1,
            }
        }
        rest.len()
    }

    /// Opens the template sequence at the current position.
    fn sequence(&mut self) {
        let rest = self.rest();
        let kind = if rest.starts_with('$') {
            Kind::Interp
        } else {
            Kind::Control
        };
        let len = if rest[2..].starts_with('~') { 3 } else { 2 };
        self.push(kind, len);
        self.modes.push(Mode::Code {
            template: true,
            depth: 0,
        });
    }

    fn quoted(&mut self) -> Result<(), String> {
        let len = self.literal_len(true).min(self.rest().len());
        if len > 0 {
            self.push(Kind::QuotedLit, len);
        }
        let rest = self.rest();
        if rest.starts_with('"') {
            self.push(Kind::CQuote, 1);
            self.modes.pop();
        } else if rest.starts_with("${") || rest.starts_with("%{") {
            self.sequence();
        } else {
            return Err(self.error("unterminated quoted string"));
        }
        Ok(())
    }

    fn heredoc(&mut self, marker: &str, line_start: bool) -> Result<(), String> {
        let rest = self.rest();
        if line_start {
            let line = &rest[..line_len(rest)];
            let content = line.trim_end_matches(['\r', '\n']);
            if content.trim() == marker {
                if line.len() == content.len() {
                    return Err(self.error(&format!(
                        "heredoc marker `{marker}` closes at the end of the file without a line \
                         break, which Terraform does not accept"
                    )));
                }
                self.push(Kind::CHeredoc, content.len());
                self.push(Kind::Newline, line.len() - content.len());
                self.modes.pop();
                return Ok(());
            }
        }
        let len = self.literal_len(false);
        if len > 0 {
            self.push(Kind::StringLit, len);
        }
        let rest = self.rest();
        let sequence = rest.starts_with("${") || rest.starts_with("%{");
        if let Some(Mode::Heredoc { line_start, .. }) = self.modes.last_mut() {
            *line_start = !sequence;
        }
        if sequence {
            self.sequence();
        } else if rest.is_empty() {
            return Err(self.error("unterminated heredoc"));
        }
        Ok(())
    }
}

/// Length of the line starting `s`, its line break included.
fn line_len(s: &str) -> usize {
    s.find('\n').map_or(s.len(), |i| i + 1)
}

/// Length of the number literal starting `s`.
fn number_len(s: &str) -> usize {
    let b = s.as_bytes();
    let digits = |from: usize| {
        b[from..]
            .iter()
            .position(|c| !c.is_ascii_digit())
            .map_or(b.len(), |p| from + p)
    };
    let mut i = digits(0);
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i = digits(i + 1);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
        if b.get(i + 1 + sign).is_some_and(u8::is_ascii_digit) {
            i = digits(i + 1 + sign);
        }
    }
    i
}

/// The rewrites of Terraform's `fmt` command on top of hclwrite's layout: quoted block labels,
/// `"${expr}"` attributes unwrapped, legacy `variable` types modernised.
fn terraform_rewrites(tokens: Vec<Tok<'_>>) -> Vec<Tok<'_>> {
    let mut edits = Vec::new();
    let mut blocks = Vec::new();
    body(&tokens, 0, &mut blocks, &mut edits);
    let mut tokens = tokens;
    edits.sort_by_key(|e: &Edit<'_>| std::cmp::Reverse(e.start));
    for edit in edits {
        tokens.splice(edit.start..edit.end, edit.with);
    }
    tokens
}

/// Tokens `start..end` replaced by `with`.
struct Edit<'a> {
    start: usize,
    end: usize,
    with: Vec<Tok<'a>>,
}

/// Walks the body starting at `i` (inside the blocks named `blocks`); returns the index of the
/// `}` closing it, or the end.
fn body<'a>(
    toks: &[Tok<'a>],
    mut i: usize,
    blocks: &mut Vec<String>,
    edits: &mut Vec<Edit<'a>>,
) -> usize {
    while let Some(t) = toks.get(i) {
        match t.kind {
            Kind::CBrace => return i,
            Kind::Ident if toks.get(i + 1).is_some_and(|n| n.kind == Kind::Equal) => {
                let start = i + 2;
                let end = expression_end(toks, start);
                let expr = &toks[start..end];
                let with = if blocks.len() == 1 && blocks[0] == "variable" && t.text == "type" {
                    type_expression(expr)
                } else {
                    unwrap_interpolation(expr)
                };
                if let Some(with) = with {
                    edits.push(Edit { start, end, with });
                }
                i = end;
            }
            Kind::Ident => {
                let mut k = i + 1;
                while let Some(label) = toks.get(k).filter(|l| l.kind != Kind::OBrace) {
                    if label.kind == Kind::Ident {
                        edits.push(Edit {
                            start: k,
                            end: k + 1,
                            with: vec![
                                Tok::new(Kind::OQuote, "\"", label.line),
                                Tok {
                                    kind: Kind::QuotedLit,
                                    ..label.clone()
                                },
                                Tok::new(Kind::CQuote, "\"", label.line),
                            ],
                        });
                    }
                    k += 1;
                }
                blocks.push(t.text.to_string());
                i = body(toks, k + 1, blocks, edits) + 1;
                blocks.pop();
            }
            _ => i += 1,
        }
    }
    i
}

/// Where the expression starting at `start` ends: the line break, comment or `}` (of a
/// one-line block) outside any bracket.
fn expression_end(toks: &[Tok<'_>], start: usize) -> usize {
    let mut depth = 0;
    for (k, t) in toks.iter().enumerate().skip(start) {
        if depth == 0 && matches!(t.kind, Kind::Newline | Kind::Comment | Kind::CBrace) {
            return k;
        }
        depth += bracket_change(t.kind);
    }
    toks.len()
}

/// `"${expr}"` → `expr` (Terraform's `formatValueExpr`).
fn unwrap_interpolation<'a>(expr: &[Tok<'a>]) -> Option<Vec<Tok<'a>>> {
    let [first, second, inside @ .., before_last, last] = expr else {
        return None;
    };
    if inside.is_empty()
        || first.kind != Kind::OQuote
        || second.kind != Kind::Interp
        || before_last.kind != Kind::SeqEnd
        || last.kind != Kind::CQuote
    {
        return None;
    }
    let mut quotes = 0;
    for t in inside {
        match t.kind {
            Kind::OQuote => quotes += 1,
            Kind::CQuote => quotes -= 1,
            _ if quotes > 0 => {}
            Kind::Interp | Kind::SeqEnd | Kind::QuotedLit => return None,
            _ => {}
        }
    }
    let start = inside.iter().position(|t| t.kind != Kind::Newline)?;
    let end = inside.iter().rposition(|t| t.kind != Kind::Newline)? + 1;
    let trimmed = &inside[start..end];
    let multi_line = trimmed.iter().any(|t| t.kind == Kind::Newline);
    let parenthesised = trimmed.first().is_some_and(|t| t.kind == Kind::OParen)
        && trimmed.last().is_some_and(|t| t.kind == Kind::CParen);
    let mut with = trimmed.to_vec();
    if multi_line && !parenthesised {
        with.insert(0, Tok::new(Kind::OParen, "(", first.line));
        with.push(Tok::new(Kind::CParen, ")", last.line));
    }
    Some(with)
}

/// A `variable`'s legacy `type` in the modern form (Terraform's `formatTypeExpr`).
fn type_expression<'a>(expr: &[Tok<'a>]) -> Option<Vec<Tok<'a>>> {
    let call = |name: &'static str, arg: &'static str, line: usize| {
        Some(vec![
            Tok::new(Kind::Ident, name, line),
            Tok::new(Kind::OParen, "(", line),
            Tok::new(Kind::Ident, arg, line),
            Tok::new(Kind::CParen, ")", line),
        ])
    };
    match expr {
        [t] if t.kind == Kind::Ident => match &*t.text {
            "list" => call("list", "any", t.line),
            "map" => call("map", "any", t.line),
            "set" => call("set", "any", t.line),
            _ => None,
        },
        [o, t, c]
            if o.kind == Kind::OQuote && t.kind == Kind::QuotedLit && c.kind == Kind::CQuote =>
        {
            match &*t.text {
                "string" => Some(vec![Tok::new(Kind::Ident, "string", t.line)]),
                "list" => call("list", "string", t.line),
                "map" => call("map", "string", t.line),
                _ => None,
            }
        }
        _ => None,
    }
}

/// One line as hclwrite's formatter sees it: token indices `start..end`, cut into a lead, an
/// attribute assignment from its `=` (`assign`), and a trailing comment.
struct Line {
    start: usize,
    end: usize,
    assign: Option<usize>,
    comment: Option<usize>,
}

impl Line {
    fn lead_end(&self) -> usize {
        self.assign.or(self.comment).unwrap_or(self.end)
    }

    fn assign_range(&self) -> Option<std::ops::Range<usize>> {
        self.assign.map(|a| a..self.comment.unwrap_or(self.end))
    }
}

/// Cuts the tokens into lines (after each line break, or line comment, which holds its break).
fn split_lines(toks: &[Tok<'_>]) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        let breaks = t.kind == Kind::Newline || (t.kind == Kind::Comment && t.text.ends_with('\n'));
        if breaks {
            lines.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < toks.len() {
        lines.push((start, toks.len()));
    }
    lines
        .into_iter()
        .map(|(start, end)| {
            let comment =
                (end - start > 1 && toks[end - 1].kind == Kind::Comment).then_some(end - 1);
            let lead_end = comment.unwrap_or(end);
            let assign = (start + 1..lead_end)
                .find(|&i| toks[i].kind == Kind::Equal)
                .filter(|&i| {
                    toks[i..lead_end]
                        .iter()
                        .map(|t| bracket_change(t.kind))
                        .sum::<i64>()
                        == 0
                });
            Line {
                start,
                end,
                assign,
                comment,
            }
        })
        .collect()
}

/// Indentation: 2 spaces per level (hclwrite's `formatIndent`).
fn indent(toks: &mut [Tok<'_>], lines: &[Line]) {
    let mut levels: Vec<i64> = Vec::new();
    for line in lines {
        if toks[line.start].kind == Kind::Newline {
            toks[line.start].spaces = 0;
            continue;
        }
        let mut net = 0;
        for t in &toks[line.start..line.lead_end()] {
            net += bracket_change(t.kind);
            if t.kind == Kind::OHeredoc {
                break;
            }
        }
        if let Some(range) = line.assign_range() {
            net += toks[range]
                .iter()
                .map(|t| bracket_change(t.kind))
                .sum::<i64>();
        }
        if net < 0 {
            let mut closed = -net;
            while closed > 0 {
                let Some(top) = levels.last_mut() else {
                    break;
                };
                if closed < *top {
                    *top -= closed;
                    closed = 0;
                } else {
                    closed -= *top;
                    levels.pop();
                }
            }
        }
        toks[line.start].spaces = 2 * levels.len();
        if net > 0 {
            levels.push(net);
        }
    }
}

/// Spaces between the tokens of each cell (hclwrite's `formatSpaces`).
fn space(toks: &mut [Tok<'_>], lines: &[Line]) {
    for line in lines {
        space_cell(toks, line.start..line.lead_end());
        if let Some(range) = line.assign_range() {
            toks[range.start].spaces = 1;
            space_cell(toks, range);
        }
    }
}

fn space_cell(toks: &mut [Tok<'_>], cell: std::ops::Range<usize>) {
    for i in cell.start..cell.end.saturating_sub(1) {
        let before = (i > cell.start).then(|| toks[i - 1].kind);
        let spaced = space_after(&toks[i], before, &toks[i + 1]);
        toks[i + 1].spaces = usize::from(spaced);
    }
}

/// Whether `subject`, preceded by `before` (none at the start of a cell), takes a space before
/// `after` (hclwrite's `spaceAfterToken`).
fn space_after(subject: &Tok<'_>, before: Option<Kind>, after: &Tok<'_>) -> bool {
    use Kind::*;
    let (s, a) = (subject.kind, after.kind);
    if a == Newline {
        return false;
    }
    if (s == Ident && matches!(a, OParen | DoubleColon)) || (s == DoubleColon && a == Ident) {
        return false;
    }
    if s == Dot || a == Dot || matches!(a, Comma | Ellipsis) {
        return false;
    }
    if s == Comma {
        return true;
    }
    if matches!(s, QuotedLit | StringLit | OQuote | OHeredoc)
        || matches!(a, QuotedLit | StringLit | CQuote | CHeredoc)
    {
        return false;
    }
    if s == Ident && subject.text == "in" && before == Some(Ident) {
        return true;
    }
    if a == OBrack && (matches!(s, Ident | Number) || bracket_change(s) < 0) {
        return false;
    }
    if s == Bang {
        return false;
    }
    if s == Minus {
        // A negation, not a subtraction, when what comes before cannot end an expression.
        return !matches!(
            before,
            None | Some(
                OParen
                    | OBrace
                    | OBrack
                    | Equal
                    | Colon
                    | Comma
                    | Question
                    | Plus
                    | Star
                    | Slash
                    | Percent
                    | Minus
                    | EqualOp
                    | NotEqual
                    | Gt
                    | Ge
                    | Lt
                    | Le
                    | And
                    | Or
                    | Bang
            )
        );
    }
    if s == OBrace || a == CBrace {
        return !(s == OBrace && a == CBrace);
    }
    if matches!(s, Interp | Control) && a == OBrace {
        return true;
    }
    if s == CBrace && a == SeqEnd {
        return true;
    }
    if s == SeqEnd && matches!(a, Interp | Control) {
        return false;
    }
    bracket_change(s) <= 0 && bracket_change(a) >= 0
}

/// Aligns the `=` of runs of consecutive assignment lines, then the trailing comments of runs
/// of consecutive commented lines (hclwrite's `formatCells`).
fn align(toks: &mut [Tok<'_>], lines: &[Line]) {
    let columns = |toks: &[Tok<'_>], r: std::ops::Range<usize>| -> usize {
        toks[r].iter().map(Tok::columns).sum()
    };
    let mut run: Vec<(usize, usize)> = Vec::new();
    let close = |toks: &mut [Tok<'_>], run: &mut Vec<(usize, usize)>| {
        let widest = run.iter().map(|&(_, w)| w).max().unwrap_or(0);
        for &(at, width) in run.iter() {
            toks[at].spaces = widest - width + 1;
        }
        run.clear();
    };
    for line in lines {
        match line.assign {
            Some(a) => run.push((a, columns(toks, line.start..a))),
            None => close(toks, &mut run),
        }
    }
    close(toks, &mut run);
    for line in lines {
        match line.comment {
            Some(c) => run.push((c, columns(toks, line.start..c))),
            None => close(toks, &mut run),
        }
    }
    close(toks, &mut run);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// terraform.md §5, fmt-clean.
    const SKELETON: &str = r#"resource "aws_s3_bucket" "backup" {
  bucket              = var.bucket_name
  object_lock_enabled = var.object_lock_days > 0

  tags = var.tags
}

resource "aws_s3_bucket_versioning" "backup" {
  bucket = aws_s3_bucket.backup.id

  versioning_configuration {
    status = "Enabled"
  }
}
"#;

    /// A root module of the shape blueprint emits, as `terraform fmt` (1.11.4) left it.
    const MODULE: &str = r#"terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }

  backend "s3" {
    bucket       = "blueprint-state"
    key          = "plants/lyon/prod/terraform.tfstate"
    region       = "eu-west-3"
    use_lockfile = true
    encrypt      = true
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Plant       = "lyon"
      Environment = "prod"
      ManagedBy   = "blueprint"
    }
  }
}

variable "object_lock_days" {
  type        = number
  description = "Default Object Lock retention, in days (0 = off)."
  default     = 14

  validation {
    condition     = var.object_lock_days >= 0 && var.object_lock_days <= 3650
    error_message = "object_lock_days must be between 0 and 3650."
  }
}

locals {
  bucket_name = "lyon-prod-backup"
  repo_path   = "/pgbackrest/lyon-prod"
  tags = {
    Plant       = "lyon"
    Environment = "prod"
  }
}

resource "aws_kms_key" "backup" {
  description             = "pgBackRest repository key for lyon-prod"
  deletion_window_in_days = 30
  enable_key_rotation     = true
}

resource "aws_s3_bucket" "backup" {
  bucket              = local.bucket_name
  force_destroy       = false
  object_lock_enabled = var.object_lock_days > 0

  tags = merge(local.tags, {
    Name = local.bucket_name
  })

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "backup" {
  bucket = aws_s3_bucket.backup.id

  rule {
    id     = "noncurrent"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = 44
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.backup]
}

resource "aws_s3_bucket_policy" "backup" {
  bucket = aws_s3_bucket.backup.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.backup.arn, "${aws_s3_bucket.backup.arn}/*"]
        Condition = {
          Bool = { "aws:SecureTransport" = "false" }
        }
      },
    ]
  })
}

data "aws_iam_policy_document" "pgbackrest" {
  statement {
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.backup.arn]

    condition {
      test     = "StringEquals"
      variable = "s3:prefix"
      values   = ["", trimprefix(local.repo_path, "/")]
    }
  }

  statement {
    actions = [
      "s3:PutObject",
      "s3:GetObject",
      "s3:DeleteObject",
    ]
    resources = ["${aws_s3_bucket.backup.arn}${local.repo_path}/*"]
  }
}

resource "aws_iam_role" "pgbackrest" {
  name                 = "lyon-prod-pgbackrest"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  description          = <<-EOT
    pgBackRest for lyon-prod (IRSA).
    Literal $${HOME} and %%{ stays } escaped.
  EOT
  max_session_duration = 3600
}

module "dns" {
  source  = "./modules/dns"
  zone_id = var.zone_id
  records = { for name, target in var.records : name => lower(target) if target != "" }
  ttl     = var.ttl == null ? 300 : var.ttl
}

output "bucket_arn" {
  description = "ARN of the backup bucket"
  value       = aws_s3_bucket.backup.arn
}
"#;

    /// Written carelessly…
    const MESSY: &str = r#"resource aws_s3_bucket_versioning backup {
    bucket=aws_s3_bucket.backup.id
  versioning_configuration {
  status = "Enabled"
  }
}

resource "aws_route53_record" "odoo" {
  zone_id = var.zone_id
  name = "lyon.erp.example.com"
  type="A"
  records = ["10.0.0.1","10.0.0.2"]
  alias {
    name = "${aws_lb.main.dns_name}"
    zone_id=aws_lb.main.zone_id
    evaluate_target_health = true
  }
}

variable "tags" {
  type = map
  default = { Plant = "lyon", Environment = "prod" }
}

locals {
  statements = [{
    Effect = "Allow"
    Action = [ "s3:GetObject" ]
  }, {
    Effect = "Deny"
  }]
  url = "https://${var.host}:${var.port}/${ var.path }"
  enabled = !var.disabled && var.count > -1
}
"#;

    /// …and as `terraform fmt` (1.11.4) rewrote it.
    const MESSY_FMT: &str = r#"resource "aws_s3_bucket_versioning" "backup" {
  bucket = aws_s3_bucket.backup.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_route53_record" "odoo" {
  zone_id = var.zone_id
  name    = "lyon.erp.example.com"
  type    = "A"
  records = ["10.0.0.1", "10.0.0.2"]
  alias {
    name                   = aws_lb.main.dns_name
    zone_id                = aws_lb.main.zone_id
    evaluate_target_health = true
  }
}

variable "tags" {
  type    = map(any)
  default = { Plant = "lyon", Environment = "prod" }
}

locals {
  statements = [{
    Effect = "Allow"
    Action = ["s3:GetObject"]
    }, {
    Effect = "Deny"
  }]
  url     = "https://${var.host}:${var.port}/${var.path}"
  enabled = !var.disabled && var.count > -1
}
"#;

    /// Every construct at once, written with odd spacing…
    const ODD: &str = r#"resource aws_s3_bucket "backup" {
    bucket="${var.bucket_name}"
  object_lock_enabled = var.object_lock_days>0
  tags = {
  Plant = "lyon"
  Environment="prod"
  }
  list = ["a","b" , [ 1,2 ]]
  empty = [ ]
  obj = {a=1, bb = "x"}
  e = { }
  x = "a${ var.x }b%{ if true }y%{ endif }"
  y = !var.x
  z = -1
  w = a - 1
  s = aws_s3_bucket.x[*].id
  f = [for s in var.list : upper(s) if s!=""]
  g = {for k,v in var.m : k=>v...}
  h = var.a ? 1 : 2
  policy = jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Effect = "Allow"
        Action = ["s3:*"]
      }, {
        Effect = "Deny"
      }]
  })
  doc = <<-EOT
      hello ${ var.x }
    world
      EOT
  after = 1
  c = 1 # one
  cc = 22 # two
  d = "x" // three
  tmpl = "${var.a}-${var.b}"
  esc = "$${literal}"
  fn = format( "%s", var.x )
  idx = var.list[ 0 ]
  neg = 5 * -var.y
}
variable "v" {
  type = list
}
variable "w" {
  type = "string"
}
"#;

    /// …and as `terraform fmt` (1.11.4) rewrote it.
    const ODD_FMT: &str = r#"resource "aws_s3_bucket" "backup" {
  bucket              = var.bucket_name
  object_lock_enabled = var.object_lock_days > 0
  tags = {
    Plant       = "lyon"
    Environment = "prod"
  }
  list  = ["a", "b", [1, 2]]
  empty = []
  obj   = { a = 1, bb = "x" }
  e     = {}
  x     = "a${var.x}b%{if true}y%{endif}"
  y     = !var.x
  z     = -1
  w     = a - 1
  s     = aws_s3_bucket.x[*].id
  f     = [for s in var.list : upper(s) if s != ""]
  g     = { for k, v in var.m : k => v... }
  h     = var.a ? 1 : 2
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect = "Allow"
      Action = ["s3:*"]
      }, {
      Effect = "Deny"
    }]
  })
  doc   = <<-EOT
      hello ${var.x}
    world
      EOT
  after = 1
  c     = 1   # one
  cc    = 22  # two
  d     = "x" // three
  tmpl  = "${var.a}-${var.b}"
  esc   = "$${literal}"
  fn    = format("%s", var.x)
  idx   = var.list[0]
  neg   = 5 * -var.y
}
variable "v" {
  type = list(any)
}
variable "w" {
  type = string
}
"#;

    /// The number of the first line of `text` containing `needle`.
    fn line_of(text: &str, needle: &str) -> usize {
        text.lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .unwrap_or_else(|| panic!("`{needle}` is not in the text"))
    }

    /// Asserts that one problem names line `n` and contains `what`.
    #[track_caller]
    fn assert_problem(text: &str, n: usize, what: &str) {
        let problems = verify(text);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with(&format!("line {n}:")) && p.contains(what)),
            "no problem on line {n} containing `{what}`: {problems:?}"
        );
    }

    /// `text` with the first occurrence of `from` replaced.
    fn with(text: &str, from: &str, to: &str) -> String {
        assert!(text.contains(from), "`{from}` is not in the text");
        text.replacen(from, to, 1)
    }

    #[test]
    fn canonical_files_pass_and_are_fixed_points() {
        for text in [SKELETON, MODULE, MESSY_FMT, ODD_FMT] {
            assert_eq!(verify(text), Vec::<String>::new(), "{text}");
            assert_eq!(canonical(text).as_deref(), Ok(text));
        }
    }

    #[test]
    fn canonical_reproduces_terraform_fmt() {
        assert_eq!(canonical(MESSY).as_deref(), Ok(MESSY_FMT));
        assert_eq!(canonical(ODD).as_deref(), Ok(ODD_FMT));
        // Everything flush left, then re-indented and re-aligned.
        let flush: String = MODULE
            .lines()
            .map(|l| {
                if l.trim() == "EOT"
                    || l.starts_with("    pgBackRest")
                    || l.starts_with("    Literal")
                {
                    l.to_string()
                } else {
                    l.trim_start().to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(canonical(&flush).as_deref(), Ok(MODULE));
    }

    #[test]
    fn the_first_difference_from_terraform_fmt_is_reported() {
        assert_eq!(
            verify(MESSY),
            vec![
                "line 1: expected `resource \"aws_s3_bucket_versioning\" \"backup\" {`, found \
                 `resource aws_s3_bucket_versioning backup {`"
                    .to_string()
            ]
        );
        let n = line_of(MESSY_FMT, "name    = \"lyon.erp");
        let text = with(MESSY_FMT, "name    = \"lyon.erp", "name = \"lyon.erp");
        assert_eq!(
            verify(&text),
            vec![format!(
                "line {n}: expected `  name    = \"lyon.erp.example.com\"`, found \
                 `  name = \"lyon.erp.example.com\"`"
            )]
        );
    }

    #[test]
    fn misaligned_equals_are_reported() {
        let text = with(
            MODULE,
            "  force_destroy       = false",
            "  force_destroy = false",
        );
        assert_problem(
            &text,
            line_of(MODULE, "force_destroy"),
            "expected `  force_destroy       = false`",
        );
        // Padding an attribute that is alone in its run is as wrong as missing padding.
        let text = with(SKELETON, "  tags = var.tags", "  tags   = var.tags");
        assert_problem(&text, 5, "expected `  tags = var.tags`");
        // The multi-line attribute ends the run and is not padded itself.
        let text = with(
            MODULE,
            "  policy = jsonencode({",
            "  policy          = jsonencode({",
        );
        assert_problem(
            &text,
            line_of(MODULE, "policy = jsonencode"),
            "expected `  policy = jsonencode({`",
        );
        // Keys of a multi-line object value are aligned too.
        let text = with(
            MODULE,
            "      Plant       = \"lyon\"",
            "      Plant = \"lyon\"",
        );
        assert_problem(
            &text,
            line_of(MODULE, "Plant       = \"lyon\""),
            "expected `      Plant       = \"lyon\"`",
        );
    }

    #[test]
    fn a_heredoc_stays_in_its_alignment_run_and_its_body_is_left_alone() {
        let n = line_of(MODULE, "max_session_duration");
        let text = with(
            MODULE,
            "  max_session_duration = 3600",
            "  max_session_duration          = 3600",
        );
        assert_problem(&text, n, "expected `  max_session_duration = 3600`");
        let text = with(
            MODULE,
            "    pgBackRest for lyon-prod",
            "          pgBackRest for lyon-prod",
        );
        assert_eq!(verify(&text), Vec::<String>::new());
    }

    #[test]
    fn four_space_indentation_is_reported() {
        let text = with(
            SKELETON,
            "\n  bucket = aws_s3_bucket",
            "\n    bucket = aws_s3_bucket",
        );
        assert_problem(
            &text,
            9,
            "expected `  bucket = aws_s3_bucket.backup.id`, found `    bucket",
        );
        let text = with(
            MODULE,
            "\n    status = \"Enabled\"",
            "\n      status = \"Enabled\"",
        );
        assert_problem(
            &text,
            line_of(MODULE, "status = \"Enabled\""),
            "expected `    status = \"Enabled\"`",
        );
    }

    #[test]
    fn a_tab_is_reported() {
        let text = with(
            SKELETON,
            "\n  bucket = aws_s3_bucket",
            "\n\tbucket = aws_s3_bucket",
        );
        assert_eq!(
            verify(&text),
            vec![
                "line 9: tab character; indent with spaces and escape tabs in strings as \\t"
                    .to_string()
            ]
        );
        let text = with(SKELETON, "\"Enabled\"", "\"En\tabled\"");
        assert_problem(&text, 12, "tab character");
    }

    #[test]
    fn trailing_whitespace_is_reported() {
        let text = with(SKELETON, "status = \"Enabled\"", "status = \"Enabled\" ");
        assert_eq!(
            verify(&text),
            vec!["line 12: trailing whitespace".to_string()]
        );
        // terraform fmt keeps it in comments; blueprint does not write it anywhere.
        let text = with(
            SKELETON,
            "  tags = var.tags",
            "  # tags  \n  tags = var.tags",
        );
        assert_problem(&text, 5, "trailing whitespace");
    }

    #[test]
    fn the_final_newline_is_exactly_one() {
        let missing = SKELETON.trim_end();
        assert_eq!(
            verify(missing),
            vec!["line 14: no newline at end of file".to_string()]
        );
        let two = format!("{SKELETON}\n");
        assert_eq!(
            verify(&two),
            vec!["line 15: blank line at end of file (end with exactly one newline)".to_string()]
        );
        let canon = Ok(SKELETON.to_string());
        assert_eq!(canonical(missing), canon);
        assert_eq!(canonical(&format!("{SKELETON}\n  \n\n")), canon);
    }

    #[test]
    fn blank_lines_directly_inside_braces_are_reported() {
        let text = with(
            SKELETON,
            "\"backup\" {\n  bucket ",
            "\"backup\" {\n\n  bucket ",
        );
        assert_eq!(
            verify(&text),
            vec!["line 2: blank line directly after `{`".to_string()]
        );
        let text = with(SKELETON, "  tags = var.tags\n}", "  tags = var.tags\n\n}");
        assert_eq!(
            verify(&text),
            vec!["line 6: blank line directly before `}`".to_string()]
        );
        // Blank lines inside a heredoc are its text.
        let text = with(
            MODULE,
            "    pgBackRest for lyon-prod (IRSA).\n",
            "\n    pgBackRest for lyon-prod (IRSA).\n",
        );
        assert_eq!(verify(&text), Vec::<String>::new());
    }

    #[test]
    fn one_line_lists_are_written_with_comma_and_space() {
        let n = line_of(MESSY_FMT, "records");
        let text = with(
            MESSY_FMT,
            "[\"10.0.0.1\", \"10.0.0.2\"]",
            "[\"10.0.0.1\",\"10.0.0.2\"]",
        );
        assert_problem(
            &text,
            n,
            "expected `  records = [\"10.0.0.1\", \"10.0.0.2\"]`, found `  records = [\"10.0.0.1\",\"10.0.0.2\"]`",
        );
        let text = with(
            MESSY_FMT,
            "[\"10.0.0.1\", \"10.0.0.2\"]",
            "[ \"10.0.0.1\", \"10.0.0.2\" ]",
        );
        assert_problem(
            &text,
            n,
            "expected `  records = [\"10.0.0.1\", \"10.0.0.2\"]`",
        );
    }

    #[test]
    fn block_headers_and_spacing_around_equals_are_checked() {
        let text = with(
            SKELETON,
            "resource \"aws_s3_bucket\" \"backup\" {",
            "resource \"aws_s3_bucket\"  \"backup\"{",
        );
        assert_problem(
            &text,
            1,
            "expected `resource \"aws_s3_bucket\" \"backup\" {`",
        );
        let text = with(
            SKELETON,
            "resource \"aws_s3_bucket\" \"backup\" {",
            "resource aws_s3_bucket backup {",
        );
        assert_problem(
            &text,
            1,
            "expected `resource \"aws_s3_bucket\" \"backup\" {`",
        );
        let text = with(SKELETON, "status = \"Enabled\"", "status=\"Enabled\"");
        assert_problem(&text, 12, "expected `    status = \"Enabled\"`");
        // terraform fmt unwraps an interpolation-only string.
        let text = with(
            SKELETON,
            "bucket = aws_s3_bucket.backup.id",
            "bucket = \"${aws_s3_bucket.backup.id}\"",
        );
        assert_problem(&text, 9, "expected `  bucket = aws_s3_bucket.backup.id`");
    }

    #[test]
    fn a_syntax_error_is_reported_with_its_position() {
        let text = with(SKELETON, "  tags = var.tags\n", "  tags =\n");
        let problems = verify(&text);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("line 5:") && problems[0].contains("does not parse as HCL"),
            "{problems:?}"
        );
        let text = with(SKELETON, "  tags = var.tags\n}", "  tags = var.tags\n");
        assert!(
            verify(&text)
                .iter()
                .any(|p| p.contains("does not parse as HCL"))
        );
        assert!(canonical("a = \"unterminated\n").is_err());
        // Terraform does not find a heredoc's marker at the very end of the file.
        assert!(canonical("a = <<EOT\nx\nEOT").is_err());
    }

    #[test]
    fn escaped_interpolation_passes() {
        let text = "locals {\n  literal = \"$${HOME} and %%{ if } are text\"\n  mixed   = \"${var.prefix}-$${suffix}\"\n  doc     = <<-EOT\n    $${not.a.reference}\n  EOT\n}\n";
        assert_eq!(verify(text), Vec::<String>::new());
        assert_eq!(canonical(text).as_deref(), Ok(text));
    }

    #[test]
    fn crlf_line_endings_are_reported_and_normalised() {
        let text = SKELETON.replace('\n', "\r\n");
        let problems = verify(&text);
        assert_eq!(problems.len(), 14, "{problems:?}");
        assert!(problems[0].starts_with("line 1: carriage return"));
        assert_eq!(canonical(&text).as_deref(), Ok(SKELETON));
    }
}

//! Parsing of the value syntaxes plant files use: durations, quantities, rates, CIDRs, cron,
//! time zones, maintenance windows, DNS names and image references. Integers only.

use chrono::{NaiveDate, Offset, TimeZone, Weekday};
use chrono_tz::Tz;
use std::fmt;

/// Seconds.
pub type Secs = u64;
/// Bytes.
pub type Bytes = u64;

const KI: u64 = 1024;

/// Parses `30s`, `5m`, `4h`, `7d` (or combinations such as `1h30m`) into seconds.
pub fn duration(s: &str) -> Result<Secs, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("an empty duration".into());
    }
    if t == "0" {
        return Ok(0);
    }
    let mut total: u64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err("a number must come before each unit".into());
        }
        let (num, tail) = rest.split_at(digits);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let mult = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 604_800,
            "" => return Err("every number needs a unit (s, m, h, d, w)".into()),
            other => return Err(format!("unknown unit `{other}` (use s, m, h, d or w)")),
        };
        let n: u64 = num.parse().map_err(|_| "number too large".to_string())?;
        total = n
            .checked_mul(mult)
            .and_then(|v| total.checked_add(v))
            .ok_or("too large")?;
        rest = next;
    }
    if total > MAX_DURATION {
        return Err("longer than ten years".into());
    }
    Ok(total)
}

/// Longest duration accepted: ten years.
pub const MAX_DURATION: Secs = 3650 * 86_400;
/// Largest quantity accepted: 1 EiB.
pub const MAX_BYTES: Bytes = 1 << 60;

/// Formats seconds the shortest exact way (`90s` → `1m30s`, `86400` → `1d`).
#[must_use]
pub fn fmt_duration(secs: Secs) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = secs;
    for (unit, name) in [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")] {
        if rest >= unit {
            out.push_str(&format!("{}{name}", rest / unit));
            rest %= unit;
        }
    }
    out
}

/// Parses a Kubernetes-style byte quantity (`200Gi`, `512Mi`, `1Ti`, `10G`, `1024`).
pub fn quantity(s: &str) -> Result<Bytes, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, suffix) = t.split_at(split);
    if num.is_empty() {
        return Err("a quantity starts with a number".into());
    }
    let mult: u64 = match suffix {
        "" => 1,
        "Ki" => KI,
        "Mi" => KI * KI,
        "Gi" => KI * KI * KI,
        "Ti" => KI * KI * KI * KI,
        "Pi" => KI * KI * KI * KI * KI,
        "k" | "K" => 1000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "unknown suffix `{other}` (use Ki, Mi, Gi, Ti or k, M, G, T)"
            ));
        }
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() || frac.contains('.') || frac.len() > 9 {
        return Err("not a number".into());
    }
    let int: u128 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| "not a number")?
    };
    let frac_value: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| "not a number")?
    };
    let scale = 10u128.pow(u32::try_from(frac.len()).unwrap_or(0));
    let value = int
        .saturating_mul(u128::from(mult))
        .saturating_add(frac_value * u128::from(mult) / scale);
    if value > u128::from(MAX_BYTES) {
        return Err("larger than 1Ei".into());
    }
    Ok(u64::try_from(value).unwrap_or(MAX_BYTES))
}

/// Formats bytes with the largest binary suffix that divides them, else rounded up to Mi.
#[must_use]
pub fn fmt_bytes(b: Bytes) -> String {
    for (mult, suffix) in [(KI.pow(4), "Ti"), (KI.pow(3), "Gi"), (KI.pow(2), "Mi")] {
        if b >= mult && b.is_multiple_of(mult) {
            return format!("{}{suffix}", b / mult);
        }
    }
    let mi = KI * KI;
    if b >= KI.pow(3) {
        let tenths = (u128::from(b) * 10).div_ceil(u128::from(KI.pow(3)));
        return format!("{}.{}Gi", tenths / 10, tenths % 10);
    }
    format!("{}Mi", b.div_ceil(mi))
}

/// Formats bytes for a message, rounded up to a tenth of the largest unit (`72.9Gi`).
#[must_use]
pub fn fmt_bytes_approx(b: Bytes) -> String {
    for (mult, suffix) in [(KI.pow(4), "Ti"), (KI.pow(3), "Gi")] {
        if b >= mult {
            let tenths = (u128::from(b) * 10).div_ceil(u128::from(mult));
            return if tenths % 10 == 0 {
                format!("{}{suffix}", tenths / 10)
            } else {
                format!("{}.{}{suffix}", tenths / 10, tenths % 10)
            };
        }
    }
    fmt_bytes(b)
}

/// Parses CPU quantities into millicores (`2`, `500m`, `1.5`).
pub fn cpu_millis(s: &str) -> Result<u64, String> {
    let t = s.trim();
    if let Some(m) = t.strip_suffix('m') {
        return m
            .parse()
            .map_err(|_| "not a number of millicores".to_string());
    }
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let int: u64 = int
        .parse()
        .map_err(|_| "not a number of CPUs".to_string())?;
    let frac_m: u64 = if frac.is_empty() {
        0
    } else {
        let f = format!("{frac:0<3}");
        f.get(..3)
            .ok_or("not a number")?
            .parse()
            .map_err(|_| "not a number of CPUs".to_string())?
    };
    int.checked_mul(1000)
        .and_then(|v| v.checked_add(frac_m))
        .ok_or_else(|| "too large".into())
}

/// Formats millicores (`2000` → `2`, `1500` → `1500m`).
#[must_use]
pub fn fmt_cpu(m: u64) -> String {
    if m.is_multiple_of(1000) {
        format!("{}", m / 1000)
    } else {
        format!("{m}m")
    }
}

/// Parses `<quantity>/<unit>` where unit is `s`, `day` or `d`; returns bytes per second
/// (times `per` seconds when the unit is a day: bytes per day).
pub fn rate(s: &str, per: &str) -> Result<Bytes, String> {
    let (q, unit) = s
        .split_once('/')
        .ok_or_else(|| format!("write it as a quantity per {per}, e.g. `5Gi/{per}`"))?;
    if unit.trim() != per && !(per == "day" && unit.trim() == "d") {
        return Err(format!("the unit must be `/{per}`"));
    }
    quantity(q)
}

/// A request rate limit (`100/s`, `600/m`): average requests and period in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RateLimit {
    /// Requests per period.
    pub average: u64,
    /// Period in seconds.
    pub period: u64,
}

/// Parses `100/s`, `600/m`, `1000/h`.
pub fn rate_limit(s: &str) -> Result<RateLimit, String> {
    let (n, unit) = s
        .split_once('/')
        .ok_or("write it as requests per unit, e.g. `100/s`")?;
    let average: u64 = n
        .trim()
        .parse()
        .map_err(|_| "the count must be a whole number")?;
    let period = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err("the unit must be `s`, `m` or `h`".into()),
    };
    if average == 0 {
        return Err("a rate limit of zero blocks everything".into());
    }
    Ok(RateLimit { average, period })
}

/// Checks a 5-field cron expression (or `@daily`-style macro) as Kubernetes accepts it.
pub fn cron(s: &str) -> Result<(), String> {
    let t = s.trim();
    if t.contains("TZ=") {
        return Err("time zones do not belong in the schedule; set maintenance.timezone".into());
    }
    if matches!(
        t,
        "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily" | "@midnight" | "@hourly"
    ) {
        return Ok(());
    }
    let fields = t.split_whitespace().count();
    if fields != 5 {
        return Err(format!(
            "{fields} fields; a schedule has 5: minute hour day-of-month month day-of-week"
        ));
    }
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .year(croner::parser::Year::Disallowed)
        .build()
        .parse(t)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Parses an IANA time-zone name.
pub fn timezone(s: &str) -> Result<Tz, String> {
    s.parse::<Tz>()
        .map_err(|_| "not an IANA time zone name (e.g. `Europe/Paris`, `UTC`)".to_string())
}

/// A weekly maintenance window in local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Window {
    /// Day the window starts (0 = Monday).
    pub day: u32,
    /// Start, minutes after local midnight.
    pub start: u32,
    /// Length in minutes.
    pub minutes: u32,
}

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = self.start + self.minutes;
        let hm = |m: u32| format!("{:02}:{:02}", m % 1440 / 60, m % 60);
        let day = |d: u32| DAYS[d as usize % 7];
        if end <= 1440 {
            write!(f, "{} {}-{}", day(self.day), hm(self.start), hm(end))
        } else {
            write!(
                f,
                "{} {}-{} {}",
                day(self.day),
                hm(self.start),
                day(self.day + end / 1440),
                hm(end)
            )
        }
    }
}

fn hhmm(s: &str) -> Result<u32, String> {
    let (h, m) = s.split_once(':').ok_or("times are HH:MM")?;
    if !(h.bytes().all(|b| b.is_ascii_digit()) && m.bytes().all(|b| b.is_ascii_digit())) {
        return Err(format!("`{s}` is not a time of day (HH:MM)"));
    }
    let (h, m): (u32, u32) = (
        h.parse().map_err(|_| "bad hour")?,
        m.parse().map_err(|_| "bad minute")?,
    );
    if h > 24 || m > 59 || (h == 24 && m != 0) || s.len() != 5 {
        return Err(format!("`{s}` is not a time of day (HH:MM)"));
    }
    Ok(h * 60 + m)
}

/// Parses `Sun 02:00-05:00` (a window may end after midnight: `Sat 23:00-02:00`).
pub fn window(s: &str) -> Result<Window, String> {
    let (day, range) = s
        .trim()
        .split_once(' ')
        .ok_or("write it as `Sun 02:00-05:00`")?;
    let day_of = |d: &str| {
        DAYS.iter()
            .position(|x| x.eq_ignore_ascii_case(d.trim()))
            .and_then(|p| u32::try_from(p).ok())
            .ok_or_else(|| format!("`{d}` is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)"))
    };
    let day = day_of(day)?;
    let (a, b) = range
        .trim()
        .split_once('-')
        .ok_or("write it as `Sun 02:00-05:00`")?;
    // The end may name its own day: `Sat 22:00-Sun 04:00`.
    let (end_day, b) = match b.trim().split_once(' ') {
        Some((d, t)) => (Some(day_of(d)?), t),
        None => (None, b),
    };
    let (start, end) = (hhmm(a.trim())?, hhmm(b.trim())?);
    if start == 1440 {
        return Err("a window cannot start at 24:00; write 00:00 of the next day".into());
    }
    let minutes = match end_day {
        Some(d) => {
            ((d + 7 - day) % 7) * 1440
                + end
                + if end <= start && d == day {
                    7 * 1440
                } else {
                    0
                }
                - start
        }
        None if end > start => end - start,
        None if end == start => return Err("the window starts and ends at the same time".into()),
        None => end + 1440 - start,
    };
    if minutes == 0 || minutes > 7 * 1440 {
        return Err("a window lasts more than zero minutes and less than a week".into());
    }
    Ok(Window {
        day,
        start,
        minutes,
    })
}

/// Offset of `tz` from UTC in minutes on a reference date (2026-01-15 and 2026-07-15 are used
/// for winter and summer: a fixed date keeps the compiler free of the clock).
#[must_use]
pub fn utc_offset_minutes(tz: Tz, month: u32) -> i32 {
    let date = NaiveDate::from_ymd_opt(2026, month, 15).unwrap_or_default();
    let noon = date.and_hms_opt(12, 0, 0).unwrap_or_default();
    tz.offset_from_utc_datetime(&noon).fix().local_minus_utc() / 60
}

/// The window in minutes of the week in UTC (0 = Monday 00:00 UTC), for winter and summer.
#[must_use]
pub fn window_utc(w: Window, tz: Tz) -> [(i64, i64); 2] {
    [1, 7].map(|month| {
        let start =
            i64::from(w.day) * 1440 + i64::from(w.start) - i64::from(utc_offset_minutes(tz, month));
        let start = start.rem_euclid(7 * 1440);
        (start, start + i64::from(w.minutes))
    })
}

/// The day name of a weekday number (0 = Monday) as cron writes it (0 = Sunday).
#[must_use]
pub fn cron_weekday(day: u32) -> u32 {
    let wd = Weekday::try_from(u8::try_from(day % 7).unwrap_or(0)).unwrap_or(Weekday::Mon);
    wd.num_days_from_sunday()
}

/// Checks a DNS-1123 label (lowercase alphanumerics and `-`, starting and ending alphanumeric).
pub fn dns_label(s: &str, max: usize) -> Result<(), String> {
    if s.is_empty() {
        return Err("is empty".into());
    }
    if s.len() > max {
        return Err(format!(
            "is {} characters long; at most {max} are allowed",
            s.len()
        ));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("may contain only lowercase letters, digits and `-`".into());
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

/// Checks a Kubernetes label value: at most 63 characters, alphanumerics, `-`, `_` and `.`,
/// starting and ending alphanumeric.
pub fn label_value(s: &str) -> Result<(), String> {
    if s.len() > 63 {
        return Err(format!(
            "is {} characters long; a label value has at most 63",
            s.len()
        ));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err("may contain only letters, digits, `-`, `_` and `.`".into());
    }
    if s.starts_with(['-', '_', '.']) || s.ends_with(['-', '_', '.']) {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

/// Checks an Odoo module's technical name (`sale_management`, `l10n_fr`).
pub fn module_name(s: &str) -> Result<(), String> {
    if s.is_empty()
        || s.len() > 64
        || !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err("a module's technical name has only lowercase letters, digits and `_`".into());
    }
    Ok(())
}

/// Checks a DNS name (labels joined by dots, at most 253 characters).
pub fn dns_name(s: &str) -> Result<(), String> {
    if s.len() > 253 {
        return Err("is longer than 253 characters".into());
    }
    if !s.contains('.') {
        return Err("needs at least two labels (`erp.example.com`)".into());
    }
    for label in s.split('.') {
        dns_label(label, 63).map_err(|e| format!("label `{label}` {e}"))?;
    }
    Ok(())
}

/// An image reference split into its parts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageRef {
    /// `registry.example.com/odoo/odoo` (everything before the tag or digest).
    pub repository: String,
    /// The tag, if any.
    pub tag: Option<String>,
    /// `sha256:<64 hex>`, if pinned.
    pub digest: Option<String>,
}

/// Most characters an image name (registry host and repository path) may have, as the OCI
/// distribution reference grammar bounds it.
const IMAGE_NAME_MAX: usize = 255;

/// A registry host as the OCI reference grammar writes one: DNS labels of letters (either
/// case), digits and `-` joined by dots, or a bracketed IPv6 address, then an optional port.
fn registry_host(s: &str) -> Result<(), String> {
    let (host, port) = match s.strip_prefix('[') {
        Some(v6) => {
            let (addr, rest) = v6
                .split_once(']')
                .ok_or("an IPv6 registry host is written `[addr]`")?;
            if addr.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(format!("`[{addr}]` is not an IPv6 address"));
            }
            match rest {
                "" => ("", None),
                r => (
                    "",
                    Some(
                        r.strip_prefix(':')
                            .ok_or("a port follows `]` after a `:`")?,
                    ),
                ),
            }
        }
        None => match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        },
    };
    if !s.starts_with('[') {
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if host.len() > 253 || !host.split('.').all(label_ok) {
            return Err(format!(
                "the registry host `{host}` must be DNS labels (letters, digits, `-`) joined by dots"
            ));
        }
    }
    if let Some(p) = port
        && !(p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n)))
    {
        return Err(format!("the registry port `{p}` is not a port (1-65535)"));
    }
    Ok(())
}

/// One path component of an image repository: lowercase letters and digits, with single `.`
/// or `_`, a double `__` or runs of `-` between them (OCI distribution reference grammar).
fn image_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let dashes = sep.bytes().all(|x| x == b'-');
        if !(dashes || matches!(sep, "." | "_" | "__")) {
            return false;
        }
    }
    true
}

/// Splits `host[:port]/rest` when the first component names a registry (it holds a `.` or a
/// `:`, is `localhost` or has an uppercase letter, as the reference grammar decides).
fn split_registry(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

/// Checks an image repository path: components of [`image_path_component`] between `/`.
fn image_path(path: &str) -> Result<(), String> {
    if path.split('/').all(image_path_component) {
        Ok(())
    } else {
        Err(format!(
            "the repository path `{path}` must be lowercase letters and digits, separated by `.`, `_`, `__` or `-` and by `/`"
        ))
    }
}

/// Checks `organization.imageRegistry`: `host[:port][/path]`, the prefix of every image
/// reference the fleet renders.
pub fn image_registry(s: &str) -> Result<(), String> {
    let s = s.strip_suffix('/').unwrap_or(s);
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a registry has no spaces".into());
    }
    let (host, path) = s.split_once('/').map_or((s, None), |(h, p)| (h, Some(p)));
    registry_host(host)?;
    if let Some(p) = path {
        image_path(p)?;
    }
    if s.len() > IMAGE_NAME_MAX {
        return Err(format!("is longer than {IMAGE_NAME_MAX} characters"));
    }
    Ok(())
}

/// Parses `[host[:port]/]path[:tag][@sha256:<hex>]` by the OCI distribution reference grammar:
/// registry host, lowercase path components, a tag of at most 128 letters, digits, `_`, `.`,
/// `-` (not starting with `.` or `-`), and a `sha256` digest.
pub fn image(s: &str) -> Result<ImageRef, String> {
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("an image reference has no spaces".into());
    }
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => {
            let hex = d
                .strip_prefix("sha256:")
                .ok_or("the digest must be `sha256:<64 hex digits>`")?;
            if hex.len() != 64
                || !hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(
                    "the digest must be `sha256:` followed by 64 lowercase hex digits".into(),
                );
            }
            (r, Some(d.to_string()))
        }
        None => (s, None),
    };
    let last_slash = rest.rfind('/').unwrap_or(0);
    let (repository, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (
            rest[..last_slash + i].to_string(),
            Some(rest[last_slash + i + 1..].to_string()),
        ),
        None => (rest.to_string(), None),
    };
    if repository.is_empty() || tag.as_deref() == Some("") {
        return Err("not an image reference".into());
    }
    if let Some(t) = &tag {
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        if t.len() > 128
            || !t.bytes().next().is_some_and(word)
            || !t.bytes().all(|b| word(b) || matches!(b, b'.' | b'-'))
        {
            return Err(
                "the tag may hold only letters, digits, `_`, `.` and `-` (at most 128, not starting with `.` or `-`)"
                    .into(),
            );
        }
    }
    let (host, path) = split_registry(&repository);
    if let Some(h) = host {
        registry_host(h)?;
    }
    image_path(path)?;
    if repository.len() > IMAGE_NAME_MAX {
        return Err(format!(
            "the image name is longer than {IMAGE_NAME_MAX} characters"
        ));
    }
    Ok(ImageRef {
        repository,
        tag,
        digest,
    })
}

/// The first character of `s` a URL may not hold as blueprint writes URLs: spaces and control
/// characters, quotes, backslashes, `<`, `>`, `{`, `}`, `|`, `^`, a backtick (so no `${`,
/// `%{` or `{{` reaches a template, Terraform or a shell), and a `%` not starting a `%XX`
/// escape.
fn url_bad_char(s: &str) -> Option<String> {
    let b = s.as_bytes();
    for (i, c) in s.char_indices() {
        let bad = c.is_whitespace()
            || c.is_control()
            || !c.is_ascii()
            || matches!(
                c,
                '"' | '\'' | '\\' | '<' | '>' | '{' | '}' | '|' | '^' | '`'
            )
            || (c == '%'
                && !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)));
        if bad {
            let shown = if c.is_control() || c.is_whitespace() {
                format!("U+{:04X}", u32::from(c))
            } else {
                format!("`{c}`")
            };
            return Some(shown);
        }
    }
    None
}

/// Checks a URL host: DNS labels of letters, digits and `-` joined by dots (at most 253
/// characters).
fn url_host(host: &str) -> Result<(), String> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if host.is_empty() {
        return Err("needs a host".into());
    }
    if host.len() > 253 || !host.split('.').all(label_ok) {
        return Err(format!("`{host}` is not a host name"));
    }
    Ok(())
}

/// Checks the path of a URL (after the authority): RFC 3986 path characters only, no query
/// and no fragment.
fn url_path(path: &str) -> Result<(), String> {
    if path.contains(['?', '#']) {
        return Err("has a query or a fragment (`?`, `#`)".into());
    }
    match path
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || "-._~!$&()*+,;=:@/%".contains(c)))
    {
        Some(c) => Err(format!("`{c}` cannot appear in a URL path")),
        None => Ok(()),
    }
}

/// Checks an `https://host[/path]` URL without port, credentials, query or fragment, as an
/// OpenID Connect issuer (workload identity, IRSA) is written.
pub fn https_url(s: &str) -> Result<(), String> {
    if let Some(c) = url_bad_char(s) {
        return Err(format!("{c} cannot appear in a URL"));
    }
    let rest = s
        .strip_prefix("https://")
        .ok_or("must start with https://")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.contains('@') {
        return Err("credentials do not belong in the URL".into());
    }
    if authority.contains(':') {
        return Err("an issuer URL has no port".into());
    }
    url_host(authority)?;
    url_path(path)
}

/// Checks a Git repository URL as Argo CD reads one: `https://host[:port]/path`,
/// `ssh://user@host[:port]/path` or `user@host:path` (the SCP form); no credentials other
/// than an SSH user, no query or fragment.
pub fn git_url(s: &str) -> Result<(), String> {
    const FORMS: &str = "must be `https://host/path`, `ssh://git@host/path` or `git@host:path`";
    if let Some(c) = url_bad_char(s) {
        return Err(format!("{c} cannot appear in a repository URL"));
    }
    let user_ok = |u: &str| {
        !u.is_empty()
            && u.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    let port_ok = |p: &str| {
        p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n))
    };
    let (scheme, rest) = match s.split_once("://") {
        Some((sc, r)) => (Some(sc), r),
        None => (None, s),
    };
    let path = match scheme {
        Some("https" | "ssh") => {
            let (authority, path) = rest.split_at(rest.find('/').ok_or(FORMS)?);
            let host_port = match (scheme, authority.split_once('@')) {
                (Some("ssh"), Some((user, hp))) if user_ok(user) => hp,
                (Some("ssh"), _) => {
                    return Err("an ssh:// URL names its user: `ssh://git@host/path`".into());
                }
                (_, Some(_)) => return Err("credentials do not belong in the URL".into()),
                (_, None) => authority,
            };
            let host = match host_port.split_once(':') {
                Some((h, p)) if port_ok(p) => h,
                Some((_, p)) => return Err(format!("`{p}` is not a port")),
                None => host_port,
            };
            url_host(host)?;
            path
        }
        Some(_) => return Err(FORMS.into()),
        None => {
            let (user, host_path) = s.split_once('@').ok_or(FORMS)?;
            let (host, path) = host_path.split_once(':').ok_or(FORMS)?;
            if !user_ok(user) {
                return Err(FORMS.into());
            }
            url_host(host)?;
            path
        }
    };
    if path.trim_start_matches('/').is_empty() {
        return Err("needs the repository's path after the host".into());
    }
    url_path(path)
}

/// The path of a Git repository URL [`git_url`] accepts (`platform/gitops.git`), without
/// leading `/`.
#[must_use]
pub fn git_url_path(s: &str) -> Option<&str> {
    let path = match s.split_once("://") {
        Some((_, rest)) => &rest[rest.find('/')?..],
        None => s.split_once('@')?.1.split_once(':')?.1,
    };
    Some(path.trim_start_matches('/'))
}

/// RFC 5322 `atext`: what a plain (unquoted) local part may hold between dots.
const ATEXT: &str = "!#$%&'*+-/=?^_`{|}~";

/// Checks a plain email address, `local@domain`: the local part a dot-atom of RFC 5322 `atext`
/// (letters, digits and ``!#$%&'*+-/=?^_`{|}~``; no quotes, spaces, `(`, `)`, `<`, `>`, `,`,
/// `;`, `:`, `\`), the domain a DNS name.
pub fn email(s: &str) -> Result<(), String> {
    let (local, domain) = s.split_once('@').ok_or("needs an @")?;
    if local.is_empty() || domain.contains('@') {
        return Err("is not an address such as `team@example.com`".into());
    }
    if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "U+{:04X} (a space or control character) cannot appear in an address",
            u32::from(c)
        ));
    }
    if let Some(c) = local
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || c == '.' || ATEXT.contains(c)))
    {
        return Err(format!(
            "`{c}` cannot appear before the @ of a plain address (letters, digits, `.` and {ATEXT} can)"
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(
            "the part before the @ cannot start or end with a dot, or hold two in a row".into(),
        );
    }
    if local.len() > 64 || s.len() > 254 {
        return Err(
            "is longer than an address may be (64 characters before the @, 254 in all)".into(),
        );
    }
    if !domain.contains('.') || url_host(domain).is_err() {
        return Err(format!(
            "the domain `{domain}` is not a DNS name such as `example.com`"
        ));
    }
    Ok(())
}

/// Checks the network of a dedicated cluster: an AWS VPC's primary block is IPv4 from /16 to
/// /28 and its network address (host bits clear), and the cluster module cuts it into eight
/// subnets of /24 or larger, so /21 at the smallest.
pub fn vpc_network(net: &ipnet::IpNet) -> Result<(), String> {
    let ipnet::IpNet::V4(v4) = net else {
        return Err(
            "an AWS VPC's primary network is IPv4 (IPv6 blocks are only added to one)".into(),
        );
    };
    let prefix = v4.prefix_len();
    if prefix < 16 {
        return Err(format!(
            "a /{prefix} is larger than an AWS VPC may be (/16 at most)"
        ));
    }
    if prefix > 21 {
        return Err(format!(
            "a /{prefix} is too small for the cluster, whose VPC is cut into eight subnets of /24 or larger (/21 at least)"
        ));
    }
    if v4.addr() != v4.network() {
        return Err(format!(
            "host bits are set: the network is `{}`",
            v4.trunc()
        ));
    }
    Ok(())
}

/// Checks an AWS region name (`eu-west-3`, `us-gov-west-1`, `ap-southeast-4`): two lowercase
/// letters, one or more lowercase words and a number of one or two digits, joined by `-`, the
/// form the AWS provider accepts. It names directories, buckets and S3 endpoints.
pub fn aws_region(s: &str) -> Result<(), String> {
    let parts: Vec<&str> = s.split('-').collect();
    let word = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && word(&parts[0])
        && parts[1..parts.len() - 1].iter().all(word)
        && parts
            .last()
            .is_some_and(|n| (1..=2).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err("not an AWS region name such as `eu-west-3` or `us-gov-west-1`".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print_back() {
        assert_eq!(duration("30s"), Ok(30));
        assert_eq!(duration("1h30m"), Ok(5400));
        assert_eq!(duration("7d"), Ok(604_800));
        assert!(duration("5").is_err());
        assert!(duration("5x").is_err());
        assert_eq!(fmt_duration(5400), "1h30m");
    }

    #[test]
    fn quantities_use_binary_and_decimal_suffixes() {
        assert_eq!(quantity("200Gi"), Ok(200 * KI.pow(3)));
        assert_eq!(quantity("1.5Gi"), Ok(3 * KI.pow(3) / 2));
        assert_eq!(quantity("10M"), Ok(10_000_000));
        assert!(quantity("Gi").is_err());
        assert!(quantity("12XB").is_err());
        assert_eq!(fmt_bytes(200 * KI.pow(3)), "200Gi");
    }

    #[test]
    fn windows_cross_midnight_and_convert_to_utc() {
        let w = window("Sat 23:00-02:00").unwrap();
        assert_eq!((w.day, w.start, w.minutes), (5, 1380, 180));
        assert_eq!(window("Sat 22:00-Sun 04:00").unwrap().minutes, 360);
        assert_eq!(
            window("Sat 22:00-Sun 04:00").unwrap().to_string(),
            "Sat 22:00-Sun 04:00"
        );
        assert_eq!(
            window("Sun 02:00-05:00").unwrap().to_string(),
            "Sun 02:00-05:00"
        );
        assert!(window("Sun 25:00-02:00").is_err());
        assert!(window("Sun 24:00-01:00").is_err());
        assert!(label_value("CC-4100.a").is_ok() && label_value("Cost Center #1").is_err());
        assert!(module_name("l10n_fr").is_ok() && module_name("Bar Codes").is_err());
        let tz = timezone("Europe/Paris").unwrap();
        let [winter, summer] = window_utc(window("Sun 02:00-05:00").unwrap(), tz);
        assert_eq!(winter.0, 6 * 1440 + 60);
        assert_eq!(summer.0, 6 * 1440);
    }

    #[test]
    fn images_split_into_repository_tag_and_digest() {
        let i = image("registry.example.com:5000/odoo/odoo:17.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(i.repository, "registry.example.com:5000/odoo/odoo");
        assert_eq!(i.tag.as_deref(), Some("17.0"));
        assert!(i.digest.is_some());
        assert!(image("odoo@sha256:short").is_err());
        assert!(image("registry.example.com/Odoo/odoo:18.0").is_err());
        assert!(image("registry.example.com:5000/odoo/odoo:18.0").is_ok());
    }

    #[test]
    fn images_follow_the_oci_reference_grammar() {
        for ok in [
            "registry.example.com/odoo/odoo:18.0",
            "registry.example.com/odoo/odoo_enterprise__x:18.0-20250601_1",
            "localhost/odoo:18.0",
            "[::1]:5000/odoo/odoo:18.0",
            "Registry.Example.com/odoo/odoo:V18",
            "odoo/odoo",
        ] {
            assert!(image(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("registry.example.com/odoo/odoo:18.0\"$(id)`x`", "tag"),
            ("registry.example.com/odoo/odoo:${a}", "tag"),
            ("registry.example.com/odoo/odoo:.18", "tag"),
            ("registry.example.com/odoo/odoo:-18", "tag"),
            ("registry.example.com/odoo/odoo:a{{b}}", "tag"),
            ("registry.example.com/odoo..x/odoo:18.0", "path"),
            ("registry.example.com/odoo._x/odoo:18.0", "path"),
            ("registry.example.com/odoo/odoo_:18.0", "path"),
            ("reg$(id).example.com/odoo:18.0", "host"),
            ("registry.example.com:99999/odoo:18.0", "port"),
            ("[fe80::zz]/odoo:18.0", "IPv6"),
        ] {
            let e = image(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        assert!(image(&format!("registry.example.com/odoo:{}", "1".repeat(128))).is_ok());
        assert!(image(&format!("registry.example.com/odoo:{}", "1".repeat(129))).is_err());
        assert!(image(&format!("registry.example.com/{}:1", "a".repeat(250))).is_err());
        assert!(image_registry("registry.example.com:5000/erp/images/").is_ok());
        assert!(image_registry("registry.example.com/Erp").is_err());
        assert!(image_registry("registry.example.com\"x").is_err());
    }

    #[test]
    fn urls_refuse_what_templates_and_shells_read() {
        assert!(https_url("https://oidc.eks.eu-west-3.amazonaws.com/id/EXAMPLE0000").is_ok());
        assert!(https_url("https://issuer.example.com/").is_ok());
        for bad in [
            "http://issuer.example.com",
            "https://issuer.example.com/id/${file(\"/etc/passwd\")}",
            "https://issuer.example.com/%{if x}",
            "https://issuer.example.com/{{x}}",
            "https://issuer.example.com/a\nb",
            "https://issuer.example.com:8443/id",
            "https://user:pw@issuer.example.com/id",
            "https://issuer.example.com/id?x=1",
            "https://issuer.example.com/id#x",
            "https://issuer.example.com/a b",
            "https://issuer.example.com/%zz",
            "https:///id",
            "https://-bad-.example.com/id",
        ] {
            assert!(https_url(bad).is_err(), "{bad}");
        }
        for ok in [
            "https://git.example.com/platform/gitops.git",
            "https://git.example.com:8443/platform/gitops.git",
            "ssh://git@git.example.com/platform/gitops.git",
            "ssh://git@git.example.com:2222/platform/gitops.git",
            "git@git.example.com:platform/gitops.git",
            "https://dev.azure.com/org/project/_git/repo%20name",
        ] {
            assert!(git_url(ok).is_ok(), "{ok}: {:?}", git_url(ok));
        }
        for bad in [
            "https://git.example.com/platform/gitops.git\"}{{x}}#z",
            "http://git.example.com/platform/gitops.git",
            "git://git.example.com/platform/gitops.git",
            "ssh://git.example.com/platform/gitops.git",
            "https://user:token@git.example.com/platform/gitops.git",
            "git@git.example.com:",
            "https://git.example.com",
            "https://git.example.com/",
            "git.example.com/platform/gitops.git",
            "git@git.example.com:platform/${x}",
            "git@git.example.com:platform/'x'",
        ] {
            assert!(git_url(bad).is_err(), "{bad}");
        }
        assert_eq!(
            git_url_path("git@git.example.com:platform/gitops.git"),
            Some("platform/gitops.git")
        );
        assert_eq!(
            git_url_path("ssh://git@git.example.com:2222/a/b/gitops.git"),
            Some("a/b/gitops.git")
        );
    }

    #[test]
    fn emails_are_plain_addresses() {
        for ok in [
            "erp-lyon@example.com",
            "erp.lyon+oncall@mail.example.co.uk",
            "HOSTILE${x}%{y}{{z}}{%w%}|#*`id`'~!?=^&+/@example.com",
        ] {
            assert!(email(ok).is_ok(), "{ok}: {:?}", email(ok));
        }
        for (bad, why) in [
            ("erp-lyon(at)example.com", "needs an @"),
            ("erp-lyon\"$(id)<script>@example.com", "`\"`"),
            ("Team <team@example.com>", "U+0020"),
            ("team(x)@example.com", "`(`"),
            ("team@example", "domain"),
            ("team@exa_mple.com", "domain"),
            (".team@example.com", "dot"),
            ("te..am@example.com", "dot"),
            ("a@b@example.com", "not an address"),
            ("équipe@example.com", "`é`"),
        ] {
            let e = email(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn cloud_regions_have_the_aws_form() {
        for ok in [
            "eu-west-3",
            "us-gov-west-1",
            "ap-southeast-4",
            "il-central-1",
        ] {
            assert!(aws_region(ok).is_ok(), "{ok}");
        }
        for bad in [
            "eu/west",
            "../../../../x",
            "eu-west-3\n[global]",
            "eu-west-3'$(id)'",
            "eu-west",
            "EU-WEST-3",
            "eu-west-100",
            "europe-west-3",
            "eu--3",
        ] {
            assert!(aws_region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn vpc_networks_are_ipv4_from_16_to_21() {
        let net = |s: &str| vpc_network(&s.parse().unwrap());
        assert!(net("10.10.0.0/16").is_ok());
        assert!(net("10.10.0.0/21").is_ok());
        assert!(net("10.0.0.0/8").unwrap_err().contains("/16 at most"));
        assert!(net("10.10.0.0/24").unwrap_err().contains("/21 at least"));
        assert!(net("fd00:10::/48").unwrap_err().contains("IPv4"));
        assert!(
            net("10.10.255.255/16")
                .unwrap_err()
                .contains("`10.10.0.0/16`")
        );
    }

    #[test]
    fn cron_needs_five_fields() {
        assert!(cron("*/15 * * * *").is_ok());
        assert!(cron("0 2 * * 0").is_ok());
        assert!(cron("0 0 2 * * 0").is_err());
        assert!(cron("61 * * * *").is_err());
    }
}

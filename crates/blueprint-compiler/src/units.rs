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

/// Parses `host[:port]/path[:tag][@sha256:<hex>]`.
pub fn image(s: &str) -> Result<ImageRef, String> {
    if s.is_empty() || s.chars().any(char::is_whitespace) {
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
    // Path components after the registry host are lowercase (OCI distribution spec).
    let path = match repository.split_once('/') {
        Some((host, rest)) if host.contains(['.', ':']) || host == "localhost" => rest,
        _ => repository.as_str(),
    };
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
            && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
            && c.ends_with(|ch: char| ch.is_ascii_alphanumeric())
    };
    if !path.split('/').all(component_ok) {
        return Err(format!(
            "the repository path `{path}` must be lowercase letters, digits and `.`, `_`, `-` between `/`"
        ));
    }
    Ok(ImageRef {
        repository,
        tag,
        digest,
    })
}

/// Checks a URL starts with `https://` and has a host.
pub fn https_url(s: &str) -> Result<(), String> {
    let rest = s
        .strip_prefix("https://")
        .ok_or("must start with https://")?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || s.chars().any(char::is_whitespace) {
        return Err("needs a host after https://".into());
    }
    Ok(())
}

/// Checks an email address loosely (`local@domain.tld`).
pub fn email(s: &str) -> Result<(), String> {
    let (local, domain) = s.split_once('@').ok_or("needs an @")?;
    if local.is_empty()
        || !domain.contains('.')
        || s.chars().any(char::is_whitespace)
        || domain.contains('@')
    {
        return Err("is not an address such as `team@example.com`".into());
    }
    Ok(())
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
    fn cron_needs_five_fields() {
        assert!(cron("*/15 * * * *").is_ok());
        assert!(cron("0 2 * * 0").is_ok());
        assert!(cron("0 0 2 * * 0").is_err());
        assert!(cron("61 * * * *").is_err());
    }
}

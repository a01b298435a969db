//! A generator of *valid* fleets driven by arbitrary bytes: every byte string gives a plants
//! directory (one to four plants, YAML or TOML, with or without `fleet.toml`) that should pass
//! `check` without an error and build. The property tests feed it bytes from proptest (which
//! shrinks them towards zero, and a zero byte always takes the first, simplest choice); the
//! `valid` fuzz target feeds it the fuzzer's bytes.
//!
//! Validity is by construction, following the schema (`schemas/*.json`), `docs/rules/` and
//! `docs/decisions.md`:
//!
//! - tier and tenancy from the embedded profiles (critical: dedicated only; basic: shared or
//!   dedicated-namespace, or any when a generated fleet's `tiers.basic.tenancies` says so);
//!   a shared or dedicated-namespace plant on a cluster of its region,
//!   a shared one only on a cluster with an `odoo` table; critical only in a region with a
//!   `backupPeer`;
//! - objectives no tighter than the tier's `minRpo`/`minRto`, a shared plant's no tighter than
//!   its cluster's, RDS (`dedicated-environment`) no RPO under 5m nor pitrWindow over 35d,
//!   pitrWindow within the tier's `maxRetention`, RPO zero only with synchronous replication,
//!   databases of at most 50Gi, whose restore fits the shortest RTO (BP2004);
//! - names unique and short enough, plant names ending in a digit and environment names
//!   alphabetic, so no `<plant>-<env>` namespace nor derived host can collide (BP3011, BP3002);
//! - networks `10.N.0.0/16..21`, one per dedicated plant environment, and integration peers
//!   outside `10.0.0.0/8` (BP3004), never the whole internet (BP3005);
//! - maintenance windows of cluster tenants that contain the cluster's window in winter and
//!   summer (BP3007); any window and time zone for plants with their own cluster;
//! - users, sizes and cluster capacity in ranges that keep connection budgets (BP3008) and
//!   capacity (BP3006) within limits.
//!
//! Free text (display names, descriptions) is deliberately hostile to the output formats:
//! quotes, `#`, `{{`, `$(…)`, backslashes, non-ASCII and line breaks.

use blueprint_compiler::Input;

/// Arbitrary bytes read as a sequence of choices; past the end every choice is the first one.
#[derive(Debug)]
pub struct Choices<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Choices<'a> {
    /// Choices read from `bytes`.
    #[must_use]
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    fn byte(&mut self) -> u8 {
        let b = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    /// A number below `n` (0 when `n` is 0 or 1).
    pub fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        let v = usize::from(self.byte()) | (usize::from(self.byte()) << 8);
        v % n
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        let span = usize::try_from(hi.saturating_sub(lo)).unwrap_or(usize::MAX);
        lo + self.below(span.saturating_add(1)) as u64
    }

    /// True with about `percent` % probability (false on a zero byte).
    pub fn chance(&mut self, percent: u32) -> bool {
        u32::from(self.byte()) * 100 / 256 >= 100 - percent.min(100)
    }

    /// One of `items` (the first on a zero byte).
    pub fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        &items[self.below(items.len())]
    }

    /// A subset of `items`, in their order.
    pub fn subset<T: Clone>(&mut self, items: &[T], percent: u32) -> Vec<T> {
        items
            .iter()
            .filter(|_| self.chance(percent))
            .cloned()
            .collect()
    }
}

/// A document tree, written out as YAML or TOML by [`yaml`] and [`toml`].
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    /// Text.
    S(String),
    /// A whole number.
    I(i64),
    /// A boolean.
    B(bool),
    /// A list.
    L(Vec<V>),
    /// A mapping, in order.
    M(Vec<(String, V)>),
}

impl V {
    fn s(s: impl Into<String>) -> V {
        V::S(s.into())
    }

    fn is_scalar(&self) -> bool {
        !matches!(self, V::L(_) | V::M(_))
    }

    /// Sets `key` in a mapping (replacing its value, or appending it).
    fn set(&mut self, key: &str, value: V) {
        if let V::M(entries) = self {
            match entries.iter_mut().find(|(k, _)| k == key) {
                Some(e) => e.1 = value,
                None => entries.push((key.to_string(), value)),
            }
        }
    }
}

fn map(entries: Vec<(&str, V)>) -> V {
    V::M(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn strs(items: &[String]) -> V {
    V::L(items.iter().map(|s| V::s(s.clone())).collect())
}

// ---------------------------------------------------------------------------------------------
// YAML and TOML writers, with the style choices a person might make.

/// Whether `s` reads back as the same text when written as a plain YAML scalar.
fn yaml_plain_ok(s: &str, in_flow: bool) -> bool {
    const RESERVED: &[&str] = &[
        "null", "Null", "NULL", "~", "true", "True", "TRUE", "false", "False", "FALSE", "y", "Y",
        "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
    ];
    let Some(first) = s.chars().next() else {
        return false;
    };
    let numeric_looking = s.parse::<f64>().is_ok()
        || s.starts_with("0x")
        || s.starts_with("0o")
        || s.trim_start_matches(['-', '+', '.'])
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
    !RESERVED.contains(&s)
        && !numeric_looking
        && (first.is_ascii_alphanumeric() || first == '/')
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '.' | '/' | '@' | '+' | '-')
                || (c == ':' && !in_flow)
                || (c == ' ' && !in_flow)
        })
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with([' ', ':'])
}

/// A double-quoted string, valid in YAML and in TOML alike.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn yaml_scalar(v: &V, c: &mut Choices<'_>, in_flow: bool) -> String {
    match v {
        V::S(s) => {
            let single_ok = !s.contains(['\n', '\t', '\'']) && !s.chars().any(char::is_control);
            match c.below(6) {
                0..=3 if yaml_plain_ok(s, in_flow) => s.clone(),
                4 if single_ok => format!("'{s}'"),
                _ => quoted(s),
            }
        }
        V::I(i) => i.to_string(),
        V::B(b) => b.to_string(),
        V::L(_) | V::M(_) => yaml_flow(v, c),
    }
}

fn yaml_flow(v: &V, c: &mut Choices<'_>) -> String {
    match v {
        V::L(items) => {
            let parts: Vec<String> = items.iter().map(|i| yaml_flow(i, c)).collect();
            format!("[{}]", parts.join(", "))
        }
        V::M(entries) => {
            let parts: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}: {}", yaml_key(k), yaml_flow(v, c)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        scalar => yaml_scalar(scalar, c, true),
    }
}

fn yaml_key(k: &str) -> String {
    if yaml_plain_ok(k, true) {
        k.to_string()
    } else {
        quoted(k)
    }
}

const COMMENTS: &[&str] = &[
    "# reviewed by the platform team",
    "# see the runbook",
    "#",
    "# TODO: revisit after the audit: 'quotes' \"and\" {braces} & *stars",
];

/// Writes a block mapping at `indent`; its first key is already placed when `first_placed`
/// (a list item's `- `).
fn yaml_map(
    out: &mut String,
    entries: &[(String, V)],
    indent: usize,
    first_placed: bool,
    c: &mut Choices<'_>,
) {
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 || !first_placed {
            if c.chance(5) {
                out.push_str(&format!("{}{}\n", " ".repeat(indent), c.pick(COMMENTS)));
            }
            out.push_str(&" ".repeat(indent));
        }
        yaml_entry(out, k, v, indent, c);
    }
}

fn yaml_entry(out: &mut String, k: &str, v: &V, indent: usize, c: &mut Choices<'_>) {
    out.push_str(&yaml_key(k));
    out.push(':');
    match v {
        V::M(e) if e.is_empty() => out.push_str(" {}\n"),
        V::L(e) if e.is_empty() => out.push_str(" []\n"),
        V::M(e) if e.iter().all(|(_, v)| v.is_scalar()) && c.chance(10) => {
            out.push(' ');
            out.push_str(&yaml_flow(v, c));
            out.push('\n');
        }
        V::L(items) if items.iter().all(V::is_scalar) && c.chance(40) => {
            out.push(' ');
            out.push_str(&yaml_flow(v, c));
            out.push('\n');
        }
        V::M(e) => {
            out.push('\n');
            let step = *c.pick(&[2, 4, 3]);
            yaml_map(out, e, indent + step, false, c);
        }
        V::L(items) => {
            out.push('\n');
            let inner = indent + *c.pick(&[2, 0, 4]);
            for item in items {
                out.push_str(&" ".repeat(inner));
                out.push_str("- ");
                match item {
                    V::M(e) if !e.is_empty() => yaml_map(out, e, inner + 2, true, c),
                    other => {
                        out.push_str(&yaml_scalar(other, c, false));
                        out.push('\n');
                    }
                }
            }
        }
        V::S(s) if s.contains('\n') && !s.ends_with('\n') && c.chance(50) => {
            let pad = " ".repeat(indent + 2);
            if s.lines().all(|l| !l.is_empty() && !l.starts_with(' ')) {
                out.push_str(" |-\n");
                for line in s.lines() {
                    out.push_str(&format!("{pad}{line}\n"));
                }
            } else {
                out.push(' ');
                out.push_str(&quoted(s));
                out.push('\n');
            }
        }
        scalar => {
            out.push(' ');
            out.push_str(&yaml_scalar(scalar, c, false));
            if c.chance(5) {
                out.push_str("  # note");
            }
            out.push('\n');
        }
    }
}

/// A mapping written as a YAML document, with style choices (indentation, flow or block
/// collections, plain or quoted text, comments, a leading `---`).
#[must_use]
pub fn yaml(doc: &V, c: &mut Choices<'_>) -> String {
    let mut out = String::new();
    if c.chance(10) {
        out.push_str("# yaml-language-server: $schema=../schemas/plant.v1.json\n");
    }
    if c.chance(10) {
        out.push_str("---\n");
    }
    if let V::M(entries) = doc {
        yaml_map(&mut out, entries, 0, false, c);
    }
    out
}

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        k.to_string()
    } else {
        quoted(k)
    }
}

fn toml_inline(v: &V, c: &mut Choices<'_>) -> String {
    match v {
        V::S(s) => {
            if !s.contains(['\'', '\n', '\t']) && !s.chars().any(char::is_control) && c.chance(30) {
                format!("'{s}'")
            } else {
                quoted(s)
            }
        }
        V::I(i) => i.to_string(),
        V::B(b) => b.to_string(),
        V::L(items) => {
            let parts: Vec<String> = items.iter().map(|i| toml_inline(i, c)).collect();
            format!("[{}]", parts.join(", "))
        }
        V::M(entries) => {
            let parts: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{} = {}", toml_key(k), toml_inline(v, c)))
                .collect();
            if parts.is_empty() {
                "{}".into()
            } else {
                format!("{{ {} }}", parts.join(", "))
            }
        }
    }
}

fn is_table_list(v: &V) -> bool {
    matches!(v, V::L(items) if !items.is_empty() && items.iter().all(|i| matches!(i, V::M(_))))
}

/// Writes the entries of the table at `path`: values first (some maps inline or as dotted
/// keys), then sub-tables and arrays of tables under their own headers.
///
/// A table written without its own header (`headerless`) puts every sub-table under a header,
/// or its entries would land in the table before it.
fn toml_table(
    out: &mut String,
    path: &[String],
    entries: &[(String, V)],
    headerless: bool,
    c: &mut Choices<'_>,
) {
    let mut later: Vec<(String, &V, bool)> = Vec::new();
    for (k, v) in entries {
        match v {
            V::M(_) if headerless => later.push((k.clone(), v, false)),
            V::M(sub) if !sub.is_empty() && sub.iter().all(|(_, v)| v.is_scalar()) => {
                match c.below(4) {
                    0 | 1 => later.push((k.clone(), v, false)),
                    2 => {
                        for (sk, sv) in sub {
                            out.push_str(&format!(
                                "{}.{} = {}\n",
                                toml_key(k),
                                toml_key(sk),
                                toml_inline(sv, c)
                            ));
                        }
                    }
                    _ => out.push_str(&format!("{} = {}\n", toml_key(k), toml_inline(v, c))),
                }
            }
            V::M(sub) if sub.is_empty() && c.chance(50) => {
                out.push_str(&format!("{} = {{}}\n", toml_key(k)));
            }
            V::M(_) => later.push((k.clone(), v, false)),
            v if is_table_list(v) && c.chance(80) => later.push((k.clone(), v, true)),
            v => out.push_str(&format!("{} = {}\n", toml_key(k), toml_inline(v, c))),
        }
    }
    for (k, v, is_list) in later {
        let mut sub_path = path.to_vec();
        sub_path.push(k);
        let header: Vec<String> = sub_path.iter().map(|p| toml_key(p)).collect();
        let header = header.join(".");
        match v {
            V::L(items) if is_list => {
                for item in items {
                    out.push_str(&format!("\n[[{header}]]\n"));
                    if let V::M(e) = item {
                        toml_table(out, &sub_path, e, false, c);
                    }
                }
            }
            V::M(e) => {
                // A table whose entries are all tables needs no header of its own.
                let headerless =
                    !e.is_empty() && e.iter().all(|(_, v)| matches!(v, V::M(_))) && c.chance(50);
                if !headerless {
                    out.push_str(&format!("\n[{header}]\n"));
                }
                toml_table(out, &sub_path, e, headerless, c);
            }
            _ => {}
        }
    }
}

/// A mapping written as a TOML document, with style choices (inline tables, dotted keys,
/// headers, literal or basic strings).
#[must_use]
pub fn toml(doc: &V, c: &mut Choices<'_>) -> String {
    let mut out = String::new();
    if c.chance(10) {
        out.push_str("#:schema ../schemas/plant.v1.json\n");
    }
    if let V::M(entries) = doc {
        toml_table(&mut out, &[], entries, false, c);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The fleet.

/// A maintenance window: `Day HH:MM-[Day ]HH:MM` and its time zone.
#[derive(Debug, Clone)]
struct Window {
    window: String,
    timezone: String,
}

impl Window {
    fn new(window: &str, timezone: &str) -> Self {
        Self {
            window: window.into(),
            timezone: timezone.into(),
        }
    }

    fn value(&self) -> V {
        map(vec![
            ("window", V::s(&self.window)),
            ("timezone", V::s(&self.timezone)),
        ])
    }
}

/// Windows that contain every cluster window this generator writes (Sunday, inside 02:00-04:00
/// central European time or 02:00-03:00 UTC) in winter and in summer.
const TENANT_WINDOWS: &[(&str, &str)] = &[
    ("Sun 01:00-06:00", "Europe/Paris"),
    ("Sun 00:00-06:00", "UTC"),
    ("Sat 22:00-Sun 08:00", "Europe/Berlin"),
    ("Sun 00:00-06:00", "Europe/London"),
    ("Sun 01:00-05:00", "Europe/Warsaw"),
    ("Sun 00:30-24:00", "Europe/Madrid"),
];

/// Cluster windows, all inside every tenant window above.
const CLUSTER_WINDOWS: &[(&str, &str)] = &[
    ("Sun 02:00-04:00", "Europe/Paris"),
    ("Sun 02:00-03:00", "UTC"),
    ("Sun 02:30-03:30", "Europe/Warsaw"),
    ("Sun 03:00-04:00", "Europe/Berlin"),
];

/// Any window, for plants on their own cluster: midnight crossings, whole days, odd offsets,
/// half-hour daylight saving, the hour that does not exist on the spring change.
const OWN_WINDOWS: &[(&str, &str)] = &[
    ("Sun 01:00-06:00", "Europe/Paris"),
    ("Sat 23:00-02:00", "Europe/Madrid"),
    ("Sat 22:00-Sun 04:00", "America/St_Johns"),
    ("Mon 00:00-24:00", "UTC"),
    ("Wed 12:30-13:15", "Asia/Kathmandu"),
    ("Sun 02:00-03:00", "Europe/Paris"),
    ("Fri 20:00-Mon 06:00", "Australia/Lord_Howe"),
    ("Sun 03:00-07:00", "Pacific/Chatham"),
    ("Tue 01:00-05:00", "Asia/Kolkata"),
    ("Sun 00:00-05:00", "America/Sao_Paulo"),
    ("Sat 10:00-18:00", "Pacific/Kiritimati"),
    ("Sun 04:00-09:00", "America/Los_Angeles"),
    ("Thu 23:59-00:01", "Etc/GMT+12"),
    ("Sun 01:00-06:00", "CET"),
];

#[derive(Debug, Clone)]
struct Region {
    name: &'static str,
    has_peer: bool,
    /// Three zones or more: room for synchronous replication (RPO zero).
    three_zones: bool,
}

#[derive(Debug, Clone)]
struct SharedOdoo {
    version: String,
    edition: String,
    image: String,
    modules: Vec<String>,
}

#[derive(Debug, Clone)]
struct Cluster {
    name: String,
    region: &'static str,
    rpo: u64,
    rto: u64,
    odoo: Option<SharedOdoo>,
    /// Room left for dedicated-namespace tenants, in the units of [`tenant_cost`].
    room: u64,
    /// Shared users left, counted as 40 per tenant environment.
    shared_users: u64,
}

/// What plants need to know of the fleet.
#[derive(Debug, Clone)]
struct FleetCtx {
    zone: String,
    registry: String,
    regions: Vec<Region>,
    clusters: Vec<Cluster>,
    /// Whether `defaults.maintenance` gives every plant a tenant-safe window.
    default_window: bool,
    /// Whether the fleet lets `basic` plants run on clusters of their own.
    basic_dedicated: bool,
    /// The next free `10.N.0.0` network.
    next_network: u32,
}

const MODULES: &[&str] = &[
    "sale_management",
    "purchase",
    "stock",
    "mrp",
    "account",
    "barcodes",
    "l10n_fr",
    "session_redis",
    "quality_control",
    "stock_barcode",
    "mrp_workorder",
    "maintenance",
    "documents",
    "delivery",
];

fn digest(c: &mut Choices<'_>) -> String {
    (0..32).map(|_| format!("{:02x}", c.byte())).collect()
}

fn image(c: &mut Choices<'_>, registry: &str, version: &str, pinned: bool) -> String {
    let repo = *c.pick(&[
        "odoo/odoo",
        "odoo",
        "erp/odoo-enterprise",
        "a/b/c/odoo-plant_1.x",
    ]);
    let tag = match c.below(4) {
        0 | 1 => Some(version.to_string()),
        2 => Some(format!("{version}-RC1.build_7")),
        _ if pinned => None,
        _ => Some("latest".into()),
    };
    let mut s = format!("{registry}/{repo}");
    if let Some(t) = tag {
        s.push(':');
        s.push_str(&t);
    }
    if pinned {
        s.push_str("@sha256:");
        s.push_str(&digest(c));
    }
    s
}

fn duration(seconds: u64) -> String {
    match seconds {
        0 => "0s".into(),
        s if s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        s if s.is_multiple_of(3_600) => format!("{}h", s / 3_600),
        s if s.is_multiple_of(60) => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The embedded default fleet, as plants see it (`crates/blueprint-compiler/embedded`).
fn default_fleet() -> FleetCtx {
    FleetCtx {
        zone: "erp.example.com".into(),
        registry: "registry.example.com".into(),
        regions: vec![
            Region {
                name: "eu-west",
                has_peer: true,
                three_zones: true,
            },
            Region {
                name: "eu-central",
                has_peer: true,
                three_zones: true,
            },
        ],
        clusters: vec![Cluster {
            name: "shared-eu-west".into(),
            region: "eu-west",
            rpo: 900,
            rto: 4 * 3600,
            odoo: Some(SharedOdoo {
                version: "18.0".into(),
                edition: "community".into(),
                image: "registry.example.com/odoo/odoo:18.0@sha256:5f1d6d0c3b1e4a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b".into(),
                modules: vec!["sale".into(), "stock".into(), "purchase".into(), "account".into()],
            }),
            // 384 CPU and 500 connections.
            room: 300,
            shared_users: 120,
        }],
        default_window: true,
        basic_dedicated: false,
        next_network: 0,
    }
}

const REGIONS: &[(&str, &str, &[&str])] = &[
    (
        "eu-west",
        "eu-west-3",
        &["eu-west-3a", "eu-west-3b", "eu-west-3c"],
    ),
    (
        "eu-central",
        "eu-central-1",
        &["eu-central-1a", "eu-central-1b", "eu-central-1c"],
    ),
    ("us-east", "us-east-1", &["us-east-1a", "us-east-1b"]),
    ("ap-southeast", "ap-southeast-2", &["ap-southeast-2a"]),
];

/// A generated `fleet.toml` and what plants need to know of it.
fn generated_fleet(c: &mut Choices<'_>) -> (V, FleetCtx) {
    let org = *c.pick(&["acme", "hexa-core", "o", "a-very-long-organisation-name1"]);
    let zone = match c.below(3) {
        0 => format!("erp.{org}.example"),
        1 => format!("{org}.example"),
        _ => format!("erp.eu.{org}.example.com"),
    };
    let registry = match c.below(3) {
        0 => format!("registry.{org}.example"),
        1 => format!("registry.{org}.example/erp"),
        _ => format!("registry.{org}.example:5000/erp/images"),
    };
    let n_regions = 1 + c.below(3);
    let first = c.below(REGIONS.len());
    let chosen: Vec<_> = (0..n_regions)
        .map(|i| REGIONS[(first + i) % REGIONS.len()])
        .collect();
    let mut regions_v = Vec::new();
    let mut regions = Vec::new();
    for (i, (name, cloud, zones)) in chosen.iter().enumerate() {
        let n_zones = 1 + c.below(zones.len());
        let zones: Vec<String> = zones[..n_zones].iter().map(|z| (*z).to_string()).collect();
        let mut r = map(vec![("cloudRegion", V::s(*cloud)), ("zones", strs(&zones))]);
        let has_peer = n_regions > 1 && !c.chance(15);
        if has_peer {
            r.set("backupPeer", V::s(chosen[(i + 1) % n_regions].0));
        }
        regions_v.push(((*name).to_string(), r));
        regions.push(Region {
            name,
            has_peer,
            three_zones: n_zones >= 3,
        });
    }
    let mut clusters_v = Vec::new();
    let mut clusters = Vec::new();
    for r in &regions {
        for k in 0..c.below(3) {
            let name = if k == 0 {
                format!("shared-{}", r.name)
            } else {
                format!("{}-pool{k}", r.name)
            };
            let (window, tz) = *c.pick(CLUSTER_WINDOWS);
            let rpo = *c.pick(&[900, 300, 1800, 3600]);
            let rto = *c.pick(&[4 * 3600, 8 * 3600, 12 * 3600]);
            let mut cl = map(vec![
                ("region", V::s(r.name)),
                (
                    "oidcIssuer",
                    V::s(format!(
                        "https://oidc.eks.{}.amazonaws.com/id/{}",
                        r.name,
                        digest(c)[..32].to_uppercase()
                    )),
                ),
                (
                    "capacity",
                    map(vec![("cpu", V::s("4000")), ("memory", V::s("16Ti"))]),
                ),
                ("maintenance", Window::new(window, tz).value()),
                (
                    "recovery",
                    map(vec![
                        ("rpo", V::s(duration(rpo))),
                        ("rto", V::s(duration(rto))),
                    ]),
                ),
            ]);
            let mut pg = map(vec![
                ("maxConnections", V::I(4000)),
                ("reservedConnections", V::I(10)),
            ]);
            if c.chance(30) {
                pg.set("version", V::I(*c.pick(&[16, 15, 17])));
            }
            cl.set("postgres", pg);
            let odoo = if c.chance(80) {
                let version = (*c.pick(&["18.0", "17.0", "19.0"])).to_string();
                let edition = (*c.pick(&["community", "enterprise"])).to_string();
                let mut modules: Vec<String> = c
                    .subset(MODULES, 50)
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                if modules.is_empty() {
                    modules.push("sale_management".into());
                }
                let so = SharedOdoo {
                    image: image(c, &registry, &version, true),
                    version,
                    edition,
                    modules,
                };
                let mut o = map(vec![
                    ("version", V::s(&so.version)),
                    ("image", V::s(&so.image)),
                    ("modules", strs(&so.modules)),
                ]);
                if so.edition != "community" || c.chance(50) {
                    o.set("edition", V::s(&so.edition));
                }
                cl.set("odoo", o);
                Some(so)
            } else {
                None
            };
            clusters_v.push((name.clone(), cl));
            clusters.push(Cluster {
                name,
                region: r.name,
                rpo,
                rto,
                odoo,
                room: 2_500,
                shared_users: 1_000,
            });
        }
    }
    let mut fleet = map(vec![
        ("apiVersion", V::s("blueprint/v1")),
        ("kind", V::s("Fleet")),
        (
            "organization",
            map(vec![
                ("name", V::s(org)),
                ("dnsZone", V::s(&zone)),
                (
                    "gitopsRepo",
                    V::s(format!("https://git.{org}.example/platform/gitops.git")),
                ),
                ("imageRegistry", V::s(&registry)),
            ]),
        ),
        (
            "cloud",
            map(vec![
                ("provider", V::s("aws")),
                (
                    "accountId",
                    V::s(format!("{:012}", c.range(1, 999_999_999_999))),
                ),
            ]),
        ),
        ("regions", V::M(regions_v)),
    ]);
    if !clusters_v.is_empty() {
        fleet.set("clusters", V::M(clusters_v));
    }
    if c.chance(50) {
        fleet.set(
            "backup",
            map(vec![
                (
                    "restoreThroughput",
                    V::s(*c.pick(&["200Mi/s", "400Mi/s", "1Gi/s"])),
                ),
                (
                    "backupThroughput",
                    V::s(*c.pick(&["100Mi/s", "250Mi/s", "1.5Gi/s"])),
                ),
                ("walReplayRate", V::s(*c.pick(&["50Mi/s", "100Mi/s"]))),
                ("startupAllowance", V::s(*c.pick(&["10m", "5m", "15m"]))),
            ]),
        );
    }
    if c.chance(40) {
        fleet.set(
            "identity",
            map(vec![(
                "groups",
                map(vec![
                    ("admin", V::s("platform-admins")),
                    (
                        "operate",
                        V::s(*c.pick(&["platform-operators", "Platform Ops"])),
                    ),
                    ("view", V::s("erp-viewers")),
                ]),
            )]),
        );
    }
    if c.chance(40) {
        let mut review = map(vec![
            (
                "high",
                V::L(vec![V::s("@acme/architecture-board"), V::s("owner")]),
            ),
            ("medium", V::L(vec![V::s("erp-platform"), V::s("owner")])),
            ("low", V::L(vec![V::s("owner")])),
        ]);
        if c.chance(50) {
            review.set("teamPrefix", V::s("@acme/"));
        }
        fleet.set("review", review);
    }
    let mut basic_dedicated = false;
    if c.chance(30) {
        let mut tiers = Vec::new();
        if c.chance(50) {
            tiers.push((
                "standard".to_string(),
                map(vec![
                    ("restoreTestSchedule", V::s("30 5 * * 0")),
                    ("cronThreads", V::I(2)),
                ]),
            ));
        }
        if c.chance(50) {
            let mut basic = map(vec![("redisPersistence", V::B(true))]);
            // Basic plants on clusters of their own: no standby, one PostgreSQL instance.
            if c.chance(50) {
                basic_dedicated = true;
                basic.set(
                    "tenancies",
                    strs(&[
                        "shared".into(),
                        "dedicated-namespace".into(),
                        "dedicated-cluster".into(),
                        "dedicated-environment".into(),
                    ]),
                );
            }
            tiers.push(("basic".to_string(), basic));
        }
        if c.chance(50) {
            tiers.push((
                "critical".to_string(),
                map(vec![("maxBackupInterval", V::s("4h"))]),
            ));
        }
        if !tiers.is_empty() {
            fleet.set("tiers", V::M(tiers));
        }
    }
    let default_window = c.chance(70);
    let mut defaults = Vec::new();
    if default_window {
        let (w, tz) = *c.pick(TENANT_WINDOWS);
        defaults.push(("maintenance".to_string(), Window::new(w, tz).value()));
    }
    if c.chance(20) {
        defaults.push((
            "ingress".to_string(),
            map(vec![("maxUploadSize", V::s("32Mi"))]),
        ));
    }
    if c.chance(20) {
        // Within every tier's retention and RDS's 35 days.
        defaults.push((
            "recovery".to_string(),
            map(vec![("pitrWindow", V::s("7d"))]),
        ));
    }
    if c.chance(50) {
        defaults.push((
            "database".to_string(),
            map(vec![("postgresVersion", V::I(*c.pick(&[16, 17, 15])))]),
        ));
    }
    if !defaults.is_empty() {
        fleet.set("defaults", V::M(defaults));
    }
    let ctx = FleetCtx {
        zone,
        registry,
        regions,
        clusters,
        default_window,
        basic_dedicated,
        next_network: 0,
    };
    (fleet, ctx)
}

// ---------------------------------------------------------------------------------------------
// Plants.

const DISPLAY_NAMES: &[&str] = &[
    "Lyon – stamping and assembly",
    "Plant \"North\": line #2",
    "Zaragoza {{ not a template }} {% raw %}",
    "$(rm -rf /) `whoami` ${HOME} \\ back\\slash",
    "Ünïcödé 工場 🏭",
    "key: value # not a comment",
    "- starts like a list item",
    "' OR 1=1 --",
    "<script>alert(1)</script> & more",
    "ends with a backslash \\",
    "tab\tinside",
    "line one\nline two",
    "*bold* _under_ | pipe | [link](http://x)",
    "null",
    "yes",
    "18.0",
];

const DESCRIPTIONS: &[&str] = &[
    "Body-in-white stamping plant.",
    "First line.\nSecond line with: a colon.\n# not a heading",
    "EOF\n```\nrm -rf /\n```\n'\"",
    "   leading spaces and trailing   ",
    "%YAML 1.1\n---\n...",
];

/// The cost of a dedicated-namespace plant environment against its cluster's room: roughly
/// its quota in CPUs at the HPA maximum, by tier.
fn tenant_cost(tier: &str) -> u64 {
    match tier {
        "critical" => 160,
        "standard" => 80,
        _ => 25,
    }
}

/// Everything one plant environment's overlay may vary, given the plant.
struct PlantCx<'f> {
    fleet: &'f FleetCtx,
    tenancy: &'static str,
    cluster: Option<usize>,
    /// Smallest RPO and RTO (seconds) and largest pitrWindow (days) allowed.
    min_rpo: u64,
    min_rto: u64,
    max_pitr_days: u64,
    rpo_zero: bool,
    max_users: u64,
}

fn rto_choices() -> &'static [u64] {
    &[
        4 * 3600,
        3600,
        1800,
        2 * 3600,
        8 * 3600,
        12 * 3600,
        86_400,
        3 * 3600 + 1800,
    ]
}

fn recovery(c: &mut Choices<'_>, p: &PlantCx<'_>) -> Option<V> {
    if !c.chance(70) {
        return None;
    }
    let mut r = V::M(Vec::new());
    if c.chance(80) {
        let rpo = *c.pick(&[900, 300, 60, 0, 1800, 3600, 7200, 5400, 90]);
        let rpo = if rpo == 0 && !p.rpo_zero {
            p.min_rpo.max(300)
        } else {
            rpo.max(p.min_rpo)
        };
        r.set("rpo", V::s(duration(rpo)));
    }
    if c.chance(80) {
        let rto = (*c.pick(rto_choices())).max(p.min_rto);
        r.set("rto", V::s(duration(rto)));
    }
    if c.chance(60) {
        let days = (*c.pick(&[14, 7, 1, 30, 35, 90, 400, 2])).min(p.max_pitr_days);
        let text = match c.below(3) {
            0 | 1 => format!("{days}d"),
            _ if days.is_multiple_of(7) => format!("{}w", days / 7),
            _ => format!("{}h", days * 24),
        };
        r.set("pitrWindow", V::s(text));
    }
    Some(r)
}

fn cidr_of(n: u32, c: &mut Choices<'_>) -> String {
    let prefix = *c.pick(&[16, 20, 21, 18]);
    format!("10.{n}.0.0/{prefix}")
}

const PEERS: &[&str] = &[
    "172.16.10.0/28",
    "192.0.2.0/24",
    "203.0.113.64/28",
    "198.51.100.7/32",
    "2001:db8:10::/48",
    "172.31.255.255/32",
    "192.168.1.77/24",
    "2001:db8::1/128",
    "100.64.0.0/10",
];

fn integrations(c: &mut Choices<'_>, p: &PlantCx<'_>, tag: &str) -> V {
    let n = c.below(5);
    let mut items = Vec::new();
    for j in 0..n {
        let kind = *c.pick(&[
            "mes",
            "wms",
            "edi",
            "iot",
            "barcode",
            "supplier-portal",
            "shipping",
            "bi",
        ]);
        let shared = p.tenancy == "shared";
        let protocol = if shared {
            "https"
        } else {
            *c.pick(&["https", "sftp", "mqtt", "amqp", "postgres-readonly"])
        };
        let direction = if shared || protocol == "postgres-readonly" {
            "inbound"
        } else {
            *c.pick(&["inbound", "outbound", "both"])
        };
        let name = if c.chance(10) {
            format!("{}{tag}{j}", "i".repeat(27))
        } else {
            format!("{kind}-{tag}{j}")
        };
        let peers: Vec<String> = (0..1 + c.below(3))
            .map(|_| (*c.pick(PEERS)).to_string())
            .collect();
        let mut it = map(vec![
            ("name", V::s(name)),
            ("kind", V::s(kind)),
            ("direction", V::s(direction)),
            ("protocol", V::s(protocol)),
            ("peers", strs(&peers)),
        ]);
        if c.chance(50) {
            let port = match protocol {
                "https" => *c.pick(&[443, 8443, 1]),
                "sftp" => *c.pick(&[22, 2222]),
                "mqtt" => *c.pick(&[8883, 65535]),
                "amqp" => 5671,
                _ => 5432,
            };
            it.set("port", V::I(port));
        }
        if protocol == "https" && c.chance(60) {
            it.set(
                "path",
                V::s(*c.pick(&["/api/mes", "/", "/supplier/v1", "/api/x-y_z.1/~edi"])),
            );
        }
        if protocol == "https" && direction != "outbound" && c.chance(40) {
            it.set(
                "rateLimit",
                V::s(*c.pick(&["100/s", "1/s", "600/m", "1000/h"])),
            );
        }
        if !shared && c.chance(20) {
            it.set(
                "schedule",
                V::s(*c.pick(&["0 * * * *", "*/15 * * * *", "@daily", "0 6 * * 1-5"])),
            );
        }
        items.push(it);
    }
    V::L(items)
}

fn maintenance(c: &mut Choices<'_>, p: &PlantCx<'_>, required: bool) -> Option<V> {
    if !required && !c.chance(50) {
        return None;
    }
    let (w, tz) = if p.cluster.is_some() {
        *c.pick(TENANT_WINDOWS)
    } else {
        *c.pick(OWN_WINDOWS)
    };
    Some(Window::new(w, tz).value())
}

/// The settings an overlay or the plant's top level share: odoo, database, ingress extras.
fn odoo_values(c: &mut Choices<'_>, p: &PlantCx<'_>, top: bool, env: &str) -> Option<V> {
    let mut o = V::M(Vec::new());
    if top || c.chance(50) {
        o.set("users", V::I(c.range(1, p.max_users) as i64));
    }
    let shared = p.cluster.and_then(|k| p.fleet.clusters[k].odoo.as_ref());
    if let Some(so) = shared.filter(|_| p.tenancy == "shared") {
        if top && c.chance(20) {
            o.set("version", V::s(&so.version));
            o.set("image", V::s(&so.image));
            if c.chance(50) {
                o.set("edition", V::s(&so.edition));
            }
        }
        if c.chance(30) {
            o.set("modules", strs(&c.subset(&so.modules, 50)));
        }
    } else if top && p.tenancy != "shared" {
        let version = (*c.pick(&["18.0", "17.0", "19.0"])).to_string();
        o.set("version", V::s(&version));
        if c.chance(50) {
            o.set("edition", V::s(*c.pick(&["community", "enterprise"])));
        }
        o.set("image", V::s(image(c, &p.fleet.registry, &version, true)));
        if c.chance(70) {
            let modules: Vec<String> = c
                .subset(MODULES, 40)
                .into_iter()
                .map(str::to_string)
                .collect();
            o.set("modules", strs(&modules));
        }
    } else if env != "prod" && c.chance(30) {
        // Outside prod a tag alone will do (a release candidate).
        o.set("image", V::s(image(c, &p.fleet.registry, "18.0", false)));
    }
    match &o {
        V::M(e) if e.is_empty() => None,
        _ => Some(o),
    }
}

fn database(c: &mut Choices<'_>, p: &PlantCx<'_>, top: bool) -> Option<V> {
    let mut d = V::M(Vec::new());
    if top || c.chance(50) {
        let size = *c.pick(&["20Gi", "1Gi", "50Gi", "512Mi", "1.5Gi", "30G"]);
        d.set("size", V::s(size));
    }
    if c.chance(40) {
        d.set(
            "writeRate",
            V::s(*c.pick(&["2Gi/day", "500Mi/day", "5Gi/d", "100M/day"])),
        );
    }
    if top && p.tenancy != "shared" && c.chance(40) {
        d.set("postgresVersion", V::I(*c.pick(&[16, 15, 17])));
    }
    match &d {
        V::M(e) if e.is_empty() => None,
        _ => Some(d),
    }
}

const ENV_NAMES: &[&str] = &[
    "prod",
    "staging",
    "qa",
    "validation",
    "dev",
    "training",
    "uat",
    "preprodtests",
];

struct Plant {
    file: String,
    text: String,
}

fn plant(c: &mut Choices<'_>, fleet: &mut FleetCtx, i: usize) -> Plant {
    // Region, then a tier and a tenancy the region can host.
    let region_i = c.below(fleet.regions.len());
    let region = fleet.regions[region_i].clone();
    let clusters_here: Vec<usize> = (0..fleet.clusters.len())
        .filter(|&k| fleet.clusters[k].region == region.name)
        .collect();
    let tier = *c.pick(&["standard", "basic", "critical"]);
    let tier = if tier == "critical" && !region.has_peer {
        "standard"
    } else {
        tier
    };
    let mut tenancies: Vec<&'static str> = match tier {
        "critical" => vec![
            "dedicated-namespace",
            "dedicated-cluster",
            "dedicated-environment",
        ],
        "basic" if fleet.basic_dedicated => vec![
            "shared",
            "dedicated-namespace",
            "dedicated-cluster",
            "dedicated-environment",
        ],
        "basic" => vec!["shared", "dedicated-namespace"],
        _ => vec![
            "dedicated-namespace",
            "shared",
            "dedicated-cluster",
            "dedicated-environment",
        ],
    };
    let n_envs_hint = 1 + c.below(3) as u64;
    tenancies.retain(|t| match *t {
        "shared" => clusters_here.iter().any(|&k| {
            fleet.clusters[k].odoo.is_some() && fleet.clusters[k].shared_users >= 40 * n_envs_hint
        }),
        "dedicated-namespace" => clusters_here
            .iter()
            .any(|&k| fleet.clusters[k].room >= tenant_cost(tier) * n_envs_hint),
        _ => true,
    });
    let (tier, tenancy) = if tenancies.is_empty() {
        ("standard", "dedicated-cluster")
    } else {
        (tier, *c.pick(&tenancies))
    };
    let cluster = match tenancy {
        "shared" => {
            let ok: Vec<usize> = clusters_here
                .iter()
                .copied()
                .filter(|&k| fleet.clusters[k].odoo.is_some())
                .filter(|&k| fleet.clusters[k].shared_users >= 40 * n_envs_hint)
                .collect();
            Some(*c.pick(&ok))
        }
        "dedicated-namespace" => {
            let ok: Vec<usize> = clusters_here
                .iter()
                .copied()
                .filter(|&k| fleet.clusters[k].room >= tenant_cost(tier) * n_envs_hint)
                .collect();
            Some(*c.pick(&ok))
        }
        _ => None,
    };
    // Environments: the default pair (prod and staging), or a list with overlays.
    let dedicated = matches!(tenancy, "dedicated-cluster" | "dedicated-environment");
    let envs: Vec<&str> = if !dedicated && c.chance(30) {
        vec!["prod", "staging"]
    } else {
        let mut names = vec!["prod"];
        for _ in 0..c.below(4) {
            let e = *c.pick(ENV_NAMES);
            if !names.contains(&e) {
                names.push(e);
            }
        }
        if c.chance(10) && names.len() > 1 {
            names.remove(0);
        }
        names
    };
    let explicit = dedicated || envs != ["prod", "staging"] || c.chance(50);
    // A plant running its own PostgreSQL has a restore-test IAM role
    // `<plant>-<env>-pgbackrest-restore-test`, at most 64 characters (BP4009), although the
    // rule's page says 40 and 12 characters always fit (tests/blueprint/properties.rs,
    // `bug_a_forty_character_plant_name_overflows_the_restore_test_role`).
    let longest_env = envs.iter().map(|e| e.len()).max().unwrap_or(7);
    let max_name = if tenancy == "shared" {
        40
    } else {
        39 - longest_env
    };
    let word = *c.pick(&[
        "lyon",
        "plant",
        "saint-etienne",
        "a",
        "x9",
        "very-long-plant-name-for-the-limits-ab",
    ]);
    let word = word[..word.len().min(max_name - 2)].trim_end_matches('-');
    let name = format!("{word}-{i}");
    let (min_rpo, min_rto, max_pitr) = match tier {
        "critical" => (0, 1800, 400),
        "standard" => (60, 3600, 90),
        _ => (300, 7200, 35),
    };
    let mut pcx = PlantCx {
        fleet,
        tenancy,
        cluster,
        min_rpo,
        min_rto,
        max_pitr_days: max_pitr,
        rpo_zero: tier == "critical" && tenancy != "dedicated-environment" && region.three_zones,
        max_users: match tier {
            "critical" => 400,
            "standard" => 250,
            _ => 80,
        },
    };
    if tenancy == "dedicated-environment" {
        pcx.min_rpo = pcx.min_rpo.max(300);
        pcx.max_pitr_days = pcx.max_pitr_days.min(35);
    }
    if let Some(k) = cluster {
        let cl = &fleet.clusters[k];
        if tenancy == "shared" {
            pcx.min_rpo = pcx.min_rpo.max(cl.rpo);
            pcx.min_rto = pcx.min_rto.max(cl.rto);
            pcx.max_users = 40;
        } else {
            pcx.max_users = pcx.max_users.min(if cl.room < 1_000 { 40 } else { 250 });
        }
    }

    let mut doc = map(vec![
        ("apiVersion", V::s("blueprint/v1")),
        ("kind", V::s("Plant")),
        ("name", V::s(&name)),
    ]);
    if c.chance(50) {
        doc.set("displayName", V::s(*c.pick(DISPLAY_NAMES)));
    }
    if c.chance(30) {
        doc.set("description", V::s(*c.pick(DESCRIPTIONS)));
    }
    doc.set("region", V::s(region.name));
    let mut owner = map(vec![
        (
            "team",
            V::s(*c.pick(&[
                "erp-lyon",
                "ERP_Team.1",
                "t",
                "a23456789-123456789-123456789-123456789-123456789-123456789-123",
            ])),
        ),
        (
            "email",
            V::s(*c.pick(&["erp@acme.example", "first.last+erp@sub.acme.example"])),
        ),
    ]);
    if c.chance(50) {
        owner.set("costCenter", V::s(*c.pick(&["FR-LYO-4100", "cc_1", "0"])));
    }
    doc.set("owner", owner);
    doc.set("tier", V::s(tier));
    doc.set("tenancy", V::s(tenancy));
    if let Some(k) = cluster {
        doc.set("cluster", V::s(&pcx.fleet.clusters[k].name));
    }
    if let Some(r) = recovery(c, &pcx) {
        doc.set("recovery", r);
    }
    if let Some(o) = odoo_values(c, &pcx, true, "prod") {
        doc.set("odoo", o);
    }
    if let Some(d) = database(c, &pcx, true) {
        doc.set("database", d);
    }
    let mut ingress = map(vec![("host", V::s(format!("{name}.{}", pcx.fleet.zone)))]);
    if c.chance(60) {
        let allow: Vec<String> = c
            .subset(
                &["192.168.10.0/24", "2001:db8:ff::/64", "198.51.100.0/28"],
                50,
            )
            .into_iter()
            .map(str::to_string)
            .collect();
        ingress.set("adminAllowFrom", strs(&allow));
    }
    if c.chance(40) {
        ingress.set(
            "maxUploadSize",
            V::s(*c.pick(&["64Mi", "1Mi", "128Mi", "100M", "0.125Gi"])),
        );
    }
    doc.set("ingress", ingress);
    let mut next_network = pcx.fleet.next_network;
    if dedicated {
        doc.set(
            "network",
            map(vec![("cidr", V::s(cidr_of(next_network, c)))]),
        );
        next_network += 1;
    }
    let ints = integrations(c, &pcx, "");
    if matches!(&ints, V::L(items) if !items.is_empty()) {
        doc.set("integrations", ints);
    }
    let window_required = !pcx.fleet.default_window;
    if let Some(m) = maintenance(c, &pcx, window_required) {
        doc.set("maintenance", m);
    }
    let mut moved = Vec::new();
    if explicit {
        let mut overlays = Vec::new();
        for (j, env) in envs.iter().enumerate() {
            let mut o = V::M(Vec::new());
            if *env != "prod" || c.chance(30) {
                if let Some(odoo) = odoo_values(c, &pcx, false, env) {
                    o.set("odoo", odoo);
                }
                if let Some(d) = database(c, &pcx, false) {
                    o.set("database", d);
                }
                if *env != "prod" && c.chance(30) {
                    o.set(
                        "ingress",
                        map(vec![(
                            "host",
                            V::s(format!("{env}.{name}.{}", pcx.fleet.zone)),
                        )]),
                    );
                }
                if tenancy == "dedicated-namespace" && c.chance(20) {
                    // This environment on another cluster of the region.
                    let others: Vec<usize> = (0..pcx.fleet.clusters.len())
                        .filter(|&k| Some(k) != cluster)
                        .filter(|&k| pcx.fleet.clusters[k].region == region.name)
                        .filter(|&k| pcx.fleet.clusters[k].room >= 2 * tenant_cost(tier))
                        .collect();
                    if !others.is_empty() {
                        let k = *c.pick(&others);
                        o.set("cluster", V::s(&pcx.fleet.clusters[k].name));
                        moved.push(k);
                    }
                }
                if c.chance(15) {
                    o.set(
                        "owner",
                        map(vec![
                            ("team", V::s("erp-oncall")),
                            ("email", V::s("oncall@acme.example")),
                        ]),
                    );
                }
                if let Some(r) = recovery(c, &pcx).filter(|_| c.chance(30)) {
                    o.set("recovery", r);
                }
                if let Some(m) = maintenance(c, &pcx, false).filter(|_| c.chance(30)) {
                    o.set("maintenance", m);
                }
                if c.chance(20) {
                    o.set("integrations", integrations(c, &pcx, &format!("e{j}")));
                }
            }
            if dedicated && *env != "prod" {
                o.set(
                    "network",
                    map(vec![("cidr", V::s(cidr_of(next_network, c)))]),
                );
                next_network += 1;
            }
            overlays.push(((*env).to_string(), o));
        }
        doc.set("environments", V::M(overlays));
    }
    let n_envs = envs.len() as u64;
    fleet.next_network = next_network;
    for k in moved {
        let cl = &mut fleet.clusters[k];
        cl.room = cl.room.saturating_sub(tenant_cost(tier));
    }
    if let Some(k) = cluster {
        let cl = &mut fleet.clusters[k];
        if tenancy == "shared" {
            cl.shared_users = cl.shared_users.saturating_sub(40 * n_envs);
        } else {
            cl.room = cl.room.saturating_sub(tenant_cost(tier) * n_envs);
        }
    }
    let toml_form = c.chance(40);
    let text = if toml_form {
        toml(&doc, c)
    } else {
        yaml(&doc, c)
    };
    let dir = match c.below(3) {
        0 => String::new(),
        1 => format!("{}/", region.name),
        _ => "site/a/".into(),
    };
    let ext = if toml_form {
        "toml"
    } else {
        *c.pick(&["yaml", "yml"])
    };
    Plant {
        file: format!("plants/{dir}{name}.{ext}"),
        text,
    }
}

/// A generated plants directory: its inputs and how it was made.
#[derive(Debug, Clone)]
pub struct Generated {
    /// `plants/fleet.toml` and the plant files.
    pub inputs: Vec<Input>,
}

/// The plants directory `bytes` choose: the embedded default fleet or a generated
/// `fleet.toml`, and one to four plants (see the module doc for what keeps it valid).
#[must_use]
pub fn generate(bytes: &[u8]) -> Generated {
    let mut c = Choices::new(bytes);
    let mut inputs = Vec::new();
    let mut fleet = if c.chance(50) {
        let (doc, ctx) = generated_fleet(&mut c);
        inputs.push(Input {
            path: "plants/fleet.toml".into(),
            bytes: toml(&doc, &mut c).into_bytes(),
            is_fleet: true,
        });
        ctx
    } else {
        default_fleet()
    };
    let n = 1 + c.below(4);
    for i in 0..n {
        let p = plant(&mut c, &mut fleet, i);
        inputs.push(Input {
            path: p.file,
            bytes: p.text.into_bytes(),
            is_fleet: false,
        });
    }
    Generated { inputs }
}

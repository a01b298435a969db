//! `blueprint explain PATH#FIELD`: which resolved value a value of a generated file comes from.
//!
//! Two tables, both data. [`TABLE`] says, for a generated file (a path pattern) and a field in
//! it (a selector pattern), which `explain` row holds the value and how the file writes it
//! ([`Transform`]). [`RULE_INPUTS`] says which rows each derivation rule (the `rule` of a
//! derived row) reads, so a chain is followed down to values written in a file or taken from
//! a default. Nothing is guessed from equal values: a field the table does not list has no
//! provenance, and a listed field whose value does not match its row (after the transform) is
//! reported as a mismatch, never claimed. `crates/blueprint-cli/tests/provenance.rs` checks
//! every entry against every example's generated tree.

use crate::explain::Row;
use serde::Serialize;
use serde_json::Value;

/// How the generated file writes the resolved value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transform {
    /// The row's value text, unchanged.
    Same,
    /// A duration row (`1m20s`) written as whole seconds (`80`).
    Seconds,
    /// A peer row (`from 10.0.0.0/24`, `to …`, `with …`) written as the CIDR alone.
    PeerCidr,
    /// An integration's `rateLimit` row (`100 per 1s`) spread over the Traefik replicas: the
    /// file holds the per-pod `average` (the output's `rate`, whose `total_average` must equal
    /// the row's number).
    RatePerPodAverage,
    /// As [`Transform::RatePerPodAverage`], for `burst` (one period's worth: `total_burst` equals
    /// the row's number).
    RatePerPodBurst,
    /// The default rate limit of Odoo's route from `odoo.users`: max(100, 5 × users) per
    /// second over the whole cluster, spread over the Traefik replicas (per-pod `average`).
    UsersRatePerPodAverage,
    /// As [`Transform::UsersRatePerPodAverage`], for `burst`: 2 × max(100, 5 × users).
    UsersRatePerPodBurst,
}

impl Transform {
    /// How the transform is described to the user.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Same => "as resolved",
            Self::Seconds => "the duration in whole seconds",
            Self::PeerCidr => "the peer's CIDR",
            Self::RatePerPodAverage => {
                "per Traefik pod: ceil(average / Traefik replicas) (in-memory buckets are per pod)"
            }
            Self::RatePerPodBurst => {
                "per Traefik pod: ceil(burst / Traefik replicas) (in-memory buckets are per pod)"
            }
            Self::UsersRatePerPodAverage => {
                "max(100, 5 × users) per second, per Traefik pod: ceil(… / Traefik replicas)"
            }
            Self::UsersRatePerPodBurst => {
                "2 × max(100, 5 × users), per Traefik pod: ceil(… / Traefik replicas)"
            }
        }
    }
}

/// One recorded provenance: a field of a generated file and the row it comes from.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Entry {
    /// Path relative to the tree; `*` is one path component, `<name>` a part of one captured
    /// for `source`.
    pub path: &'static str,
    /// Field selector: `section.key` in INI, a dotted path with `[i]` indices in YAML (a
    /// string holding an INI file, such as a ConfigMap's `odoo.conf`, is entered by the
    /// following `section.key`). `<i>` is an index captured to pick the i-th `source` row.
    pub field: &'static str,
    /// The `explain` row (`<name>` replaced by the capture).
    pub source: &'static str,
    /// How the file writes it.
    pub transform: Transform,
}

const fn e(
    path: &'static str,
    field: &'static str,
    source: &'static str,
    transform: Transform,
) -> Entry {
    Entry {
        path,
        field,
        source,
        transform,
    }
}

const PG_CONF: &str = "*/*/*/pgbackrest/pgbackrest.conf";
const PG_CLUSTER: &str = "*/*/*/kubernetes/postgrescluster-postgres.yaml";
const HPA: &str = "*/*/*/kubernetes/horizontalpodautoscaler-odoo-web.yaml";
const ODOO_CONF: &str = "*/*/*/kubernetes/configmap-odoo-conf.yaml";
const NETPOL: &str = "*/*/*/kubernetes/networkpolicy-integration-<name>.yaml";
const TF_PLANT: &str = "terraform/plants/*/*/main.tf";
const ODOO_RATELIMIT: &str = "*/*/*/traefik/middleware-odoo-ratelimit.yaml";
const RATELIMIT: &str = "*/*/*/traefik/middleware-integration-<name>-ratelimit.yaml";

/// Every recorded provenance. `*/*/*/` covers `plants/<plant>/<env>/` and
/// `clusters/<cluster>/platform/`.
pub static TABLE: &[Entry] = &[
    e(
        PG_CONF,
        "global.repo1-retention-full",
        "backup.retentionFullDays",
        Transform::Same,
    ),
    e(
        PG_CONF,
        "global.repo2-retention-full",
        "backup.retentionFullDays",
        Transform::Same,
    ),
    e(
        PG_CLUSTER,
        "spec.backups.pgbackrest.global.repo1-retention-full",
        "backup.retentionFullDays",
        Transform::Same,
    ),
    e(
        PG_CLUSTER,
        "spec.backups.pgbackrest.global.repo2-retention-full",
        "backup.retentionFullDays",
        Transform::Same,
    ),
    e(
        PG_CLUSTER,
        "spec.patroni.dynamicConfiguration.postgresql.parameters.archive_timeout",
        "backup.archiveTimeout",
        Transform::Seconds,
    ),
    e(
        PG_CLUSTER,
        "spec.patroni.dynamicConfiguration.postgresql.parameters.max_connections",
        "database.maxConnections",
        Transform::Same,
    ),
    e(
        PG_CLUSTER,
        "spec.instances[0].replicas",
        "database.instances",
        Transform::Same,
    ),
    e(HPA, "spec.maxReplicas", "odoo.maxReplicas", Transform::Same),
    e(HPA, "spec.minReplicas", "odoo.replicas", Transform::Same),
    e(
        ODOO_CONF,
        "data.odoo.conf.options.workers",
        "odoo.workers",
        Transform::Same,
    ),
    e(
        ODOO_CONF,
        "data.odoo.conf.options.db_maxconn",
        "odoo.dbMaxconn",
        Transform::Same,
    ),
    e(
        ODOO_CONF,
        "data.odoo.conf.options.db_maxconn_gevent",
        "odoo.dbMaxconnGevent",
        Transform::Same,
    ),
    e(
        NETPOL,
        "spec.egress[0].to[<i>].ipBlock.cidr",
        "integrations.<name>.peers",
        Transform::PeerCidr,
    ),
    e(
        NETPOL,
        "spec.ingress[0].from[<i>].ipBlock.cidr",
        "integrations.<name>.peers",
        Transform::PeerCidr,
    ),
    e(
        RATELIMIT,
        "spec.rateLimit.average",
        "integrations.<name>.rateLimit",
        Transform::RatePerPodAverage,
    ),
    e(
        RATELIMIT,
        "spec.rateLimit.burst",
        "integrations.<name>.rateLimit",
        Transform::RatePerPodBurst,
    ),
    e(
        TF_PLANT,
        "module.database.backup_retention_period",
        "backup.retentionDays",
        Transform::Same,
    ),
    e(
        TF_PLANT,
        "module.database.max_connections",
        "database.maxConnections",
        Transform::Same,
    ),
    e(
        TF_PLANT,
        "module.database.engine_version",
        "database.postgresVersion",
        Transform::Same,
    ),
    e(
        ODOO_RATELIMIT,
        "spec.rateLimit.average",
        "odoo.users",
        Transform::UsersRatePerPodAverage,
    ),
    e(
        ODOO_RATELIMIT,
        "spec.rateLimit.burst",
        "odoo.users",
        Transform::UsersRatePerPodBurst,
    ),
];

/// The rows each derivation rule reads (by the `rule` of a derived row). Inputs that are not
/// rows (tier parameters such as `hpaFactor`, fleet throughputs) are named in the row's detail.
pub static RULE_INPUTS: &[(&str, &[&str])] = &[
    ("namespace", &["name"]),
    ("ingress.host", &["name"]),
    ("database.postgresVersion", &[]),
    ("database.instances", &["tier", "tenancy"]),
    ("tenancy shared", &["tenancy", "cluster"]),
    ("tenancy dedicated-environment", &["tenancy"]),
    ("integration.mutualTls", &[]),
    (
        "recovery.rtoEstimate",
        &[
            "database.size",
            "database.writeRate",
            "backup.interval",
            "backup.fullDuration",
        ],
    ),
    ("odoo.workers", &["odoo.users", "odoo.replicas"]),
    ("odoo.replicas", &["odoo.users"]),
    ("odoo.maxReplicas", &["odoo.replicas"]),
    ("odoo.cpuRequest", &["odoo.cpuLimit"]),
    ("odoo.cpuLimit", &[]),
    ("odoo.memoryRequest", &["odoo.workers"]),
    (
        "odoo.memoryLimit",
        &["odoo.workers", "odoo.limitMemorySoft"],
    ),
    ("odoo.limit_memory_soft", &[]),
    ("odoo.limit_memory_hard", &[]),
    ("odoo.db_maxconn_gevent", &["odoo.dbMaxconn"]),
    (
        "postgres.connectionBudget",
        &[
            "odoo.maxReplicas",
            "odoo.workers",
            "odoo.dbMaxconn",
            "odoo.dbMaxconnGevent",
            "odoo.cronThreads",
        ],
    ),
    (
        "postgres.max_connections",
        &["database.connectionBudget", "database.reservedConnections"],
    ),
    (
        "postgres.reserved_connections",
        &["database.postgresVersion"],
    ),
    ("database.storage", &["database.size"]),
    ("filestore.storage", &["database.size"]),
    ("pgbackrest.minVersion", &["database.postgresVersion"]),
    (
        "backup.full",
        &["maintenance.window", "maintenance.timezone"],
    ),
    (
        "backup.differential",
        &["maintenance.window", "maintenance.timezone"],
    ),
    ("backup.incremental", &["backup.interval"]),
    ("backup.interval", &["recovery.rto"]),
    ("backup.fullDuration", &["database.size"]),
    ("backup.retentionFull", &["recovery.pitrWindow"]),
    ("postgres.archive_timeout", &["recovery.rpo"]),
    ("backup.archiveLossWindow", &["backup.archiveTimeout"]),
    ("backup.repositories", &["region"]),
    (
        "quota.cpu",
        &["odoo.maxReplicas", "odoo.cpuLimit", "database.instances"],
    ),
    (
        "quota.memory",
        &[
            "odoo.maxReplicas",
            "odoo.memoryLimit",
            "odoo.limitMemorySoft",
            "database.instances",
        ],
    ),
];

/// The rows a rule reads, when the table knows the rule.
#[must_use]
pub fn inputs_of(rule: &str) -> Option<&'static [&'static str]> {
    RULE_INPUTS
        .iter()
        .find(|(r, _)| *r == rule)
        .map(|(_, inputs)| *inputs)
}

/// A table entry matched against a path and a field.
#[derive(Debug, Clone)]
pub struct Match {
    /// The entry.
    pub entry: &'static Entry,
    /// Its `source` with `<name>` filled in.
    pub source: String,
    /// Which row of `source` (the `<i>` of the field), 0 when the field has none.
    pub index: usize,
}

/// Matches `text` against `pattern`: `*` is one or more characters other than `/`, `<x>` one
/// or more other than `/` (captured); everything else literal.
fn glob(pattern: &str, text: &str, caps: &mut Vec<(String, String)>) -> bool {
    if pattern.is_empty() {
        return text.is_empty();
    }
    let (name, rest) = if let Some(r) = pattern.strip_prefix('*') {
        (None, r)
    } else if pattern.starts_with('<')
        && let Some(end) = pattern.find('>')
    {
        (Some(&pattern[1..end]), &pattern[end + 1..])
    } else {
        let c = pattern.chars().next().unwrap_or_default();
        return text.starts_with(c) && glob(&pattern[c.len_utf8()..], &text[c.len_utf8()..], caps);
    };
    let stop = text.find('/').unwrap_or(text.len());
    for end in (1..=stop).filter(|&i| text.is_char_boundary(i)) {
        let n = caps.len();
        if let Some(name) = name {
            caps.push((name.to_string(), text[..end].to_string()));
        }
        if glob(rest, &text[end..], caps) {
            return true;
        }
        caps.truncate(n);
    }
    false
}

fn cap<'a>(caps: &'a [(String, String)], name: &str) -> Option<&'a str> {
    caps.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The entries recorded for a generated path.
#[must_use]
pub fn entries_for(path: &str) -> Vec<Match> {
    TABLE
        .iter()
        .filter_map(|entry| {
            let mut caps = Vec::new();
            glob(entry.path, path, &mut caps).then(|| Match {
                entry,
                source: match cap(&caps, "name") {
                    Some(n) => entry.source.replace("<name>", n),
                    None => entry.source.to_string(),
                },
                index: 0,
            })
        })
        .collect()
}

/// The entry recorded for a field of a generated path.
#[must_use]
pub fn lookup(path: &str, field: &str) -> Option<Match> {
    entries_for(path).into_iter().find_map(|mut m| {
        let mut caps = Vec::new();
        if !glob(m.entry.field, field, &mut caps) {
            return None;
        }
        if let Some(i) = cap(&caps, "i") {
            m.index = i.parse().ok()?;
        }
        Some(m)
    })
}

/// The row a match names: the `index`-th row of that field.
#[must_use]
pub fn row<'a>(rows: &'a [Row], m: &Match) -> Option<&'a Row> {
    rows.iter().filter(|r| r.field == m.source).nth(m.index)
}

/// Checks that `file_value` is `row`'s value written as `transform` says. `item` is the
/// output's item (the rate of a rate-limit middleware). Returns what the transform did, or
/// why the values disagree.
pub fn check(
    transform: Transform,
    row_value: &str,
    file_value: &str,
    item: &Value,
) -> Result<String, String> {
    let same = |want: &str| {
        if want == file_value {
            Ok(transform.describe().to_string())
        } else {
            Err(format!(
                "the file has {file_value}, the resolved value written {} is {want}",
                transform.describe()
            ))
        }
    };
    match transform {
        Transform::Same => same(row_value),
        Transform::Seconds => {
            let secs = crate::units::duration(row_value)?;
            same(&secs.to_string())
        }
        Transform::PeerCidr => same(row_value.split_once(' ').map_or(row_value, |(_, c)| c)),
        Transform::RatePerPodAverage
        | Transform::RatePerPodBurst
        | Transform::UsersRatePerPodAverage
        | Transform::UsersRatePerPodBurst => {
            let first: u64 = row_value
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("`{row_value}` is not a number or a rate limit"))?;
            let total = match transform {
                Transform::UsersRatePerPodAverage => (5 * first).max(100),
                Transform::UsersRatePerPodBurst => 2 * (5 * first).max(100),
                _ => first,
            };
            let rate = &item["rate"];
            let (total_key, key) = match transform {
                Transform::RatePerPodAverage | Transform::UsersRatePerPodAverage => {
                    ("total_average", "average")
                }
                _ => ("total_burst", "burst"),
            };
            if rate[total_key].as_u64() != Some(total) {
                return Err(format!(
                    "the output's rate has {total_key} {}, the resolved rate limit {total}",
                    rate[total_key]
                ));
            }
            same(&rate[key].to_string())?;
            Ok(rate["rule"].as_str().unwrap_or_default().to_string())
        }
    }
}

/// One link of a provenance chain: a row of `explain` and the rows its rule read.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    /// The row (field, value, origin, where it was written, the rule that derived it).
    #[serde(flatten)]
    pub row: Row,
    /// The rows the rule read (empty for written and default values, and for a rule whose
    /// inputs are only tier or fleet parameters named in `from`).
    pub inputs: Vec<Link>,
}

/// The chain from `row` down to written and default values.
#[must_use]
pub fn chain(rows: &[Row], row: &Row) -> Link {
    link(rows, row, &mut Vec::new())
}

fn link(rows: &[Row], row: &Row, seen: &mut Vec<String>) -> Link {
    seen.push(row.field.clone());
    let next: Vec<&Row> = row
        .rule
        .and_then(inputs_of)
        .unwrap_or_default()
        .iter()
        .filter(|f| !seen.iter().any(|s| s == *f))
        .filter_map(|f| rows.iter().find(|r| r.field == *f))
        .collect();
    let inputs = next.into_iter().map(|r| link(rows, r, seen)).collect();
    seen.pop();
    Link {
        row: row.clone(),
        inputs,
    }
}

/// One step of a selector: a key (maybe several dotted parts, matched greedily) or an index.
#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

fn steps(selector: &str) -> Result<Vec<Step>, String> {
    let mut out = Vec::new();
    for part in selector.split('.') {
        let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if !key.is_empty() {
            out.push(Step::Key(key.to_string()));
        }
        while let Some(r) = rest.strip_prefix('[') {
            let end = r
                .find(']')
                .ok_or_else(|| format!("`{selector}`: `[` without `]`"))?;
            let i = r[..end]
                .parse()
                .map_err(|_| format!("`{selector}`: `[{}]` is not an index", &r[..end]))?;
            out.push(Step::Index(i));
            rest = &r[end + 1..];
        }
        if !rest.is_empty() || (key.is_empty() && part.is_empty()) {
            return Err(format!("`{selector}` is not a field selector"));
        }
    }
    Ok(out)
}

/// The value at `selector` in a generated file's text (YAML, INI `.conf`, HCL `.tf`), as
/// text; `None` when the file has no such field.
///
/// # Errors
/// A selector that cannot be read, or a file that does not parse.
pub fn field_value(path: &str, text: &str, selector: &str) -> Result<Option<String>, String> {
    if path.ends_with(".conf") {
        return Ok(ini_value(text, selector));
    }
    if path.ends_with(".tf") {
        return Ok(hcl_value(text, selector));
    }
    if !(path.ends_with(".yaml") || path.ends_with(".yml")) {
        return Err(format!(
            "{path}: fields are read in YAML, INI and HCL files only"
        ));
    }
    let steps = steps(selector)?;
    let mut map = blueprint_diagnostics::SourceMap::new();
    let id = map.add(path, text);
    let parsed = blueprint_syntax::parse(
        &map,
        id,
        blueprint_syntax::Format::Yaml,
        &blueprint_syntax::Limits::default(),
    );
    let Some(root) = parsed.root else {
        return Err(format!("{path} does not parse as YAML"));
    };
    Ok(yaml_value(&root.to_json(), &steps))
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".into()),
        _ => None,
    }
}

fn yaml_value(v: &Value, steps: &[Step]) -> Option<String> {
    let Some(first) = steps.first() else {
        return scalar(v);
    };
    match (v, first) {
        (Value::Array(items), Step::Index(i)) => yaml_value(items.get(*i)?, &steps[1..]),
        (Value::Object(map), Step::Key(_)) => {
            // Keys may hold dots (`odoo.conf`): the longest run of parts that is a key.
            let run = steps
                .iter()
                .take_while(|s| matches!(s, Step::Key(_)))
                .count();
            (1..=run).rev().find_map(|n| {
                let key = steps[..n]
                    .iter()
                    .filter_map(|s| match s {
                        Step::Key(k) => Some(k.as_str()),
                        Step::Index(_) => None,
                    })
                    .collect::<Vec<_>>()
                    .join(".");
                map.get(&key).and_then(|v| yaml_value(v, &steps[n..]))
            })
        }
        // A string holding an INI file (a ConfigMap's odoo.conf): `section.key`.
        (Value::String(s), Step::Key(_)) => {
            let rest: Vec<String> = steps
                .iter()
                .map(|s| match s {
                    Step::Key(k) => k.clone(),
                    Step::Index(i) => format!("[{i}]"),
                })
                .collect();
            ini_value(s, &rest.join("."))
        }
        _ => None,
    }
}

/// `section.key` of an INI file (`key=value` or `key = value`).
fn ini_value(text: &str, selector: &str) -> Option<String> {
    let (section, key) = selector.split_once('.')?;
    let mut current = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = s.trim().to_string();
        } else if current == section
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == key
        {
            return Some(v.trim().to_string());
        }
    }
    None
}

/// `TYPE.LABEL….ATTRIBUTE` of a canonically formatted HCL file: the top-level block
/// `TYPE "LABEL" … {` and an attribute directly in it (string quotes removed).
fn hcl_value(text: &str, selector: &str) -> Option<String> {
    let parts: Vec<&str> = selector.split('.').collect();
    let (attr, block) = parts.split_last()?;
    let (kind, labels) = block.split_first()?;
    let header = std::iter::once((*kind).to_string())
        .chain(labels.iter().map(|l| format!("\"{l}\"")))
        .collect::<Vec<_>>()
        .join(" ")
        + " {";
    let mut depth = 0usize;
    let mut inside = false;
    for line in text.lines() {
        let t = line.trim();
        if depth == 0 && t == header {
            inside = true;
        } else if inside
            && depth == 1
            && let Some((k, v)) = t.split_once('=')
            && k.trim() == *attr
        {
            let v = v.trim();
            return Some(
                v.strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(v)
                    .to_string(),
            );
        }
        depth += t.matches(['{', '[']).count();
        depth = depth.saturating_sub(t.matches(['}', ']']).count());
        if depth == 0 {
            inside = false;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_fields_match_with_captures() {
        let m = lookup(
            "plants/lyon/prod/kubernetes/networkpolicy-integration-group-bi.yaml",
            "spec.ingress[0].from[1].ipBlock.cidr",
        )
        .unwrap();
        assert_eq!(
            (m.source.as_str(), m.index),
            ("integrations.group-bi.peers", 1)
        );
        assert!(
            lookup(
                "plants/lyon/prod/pgbackrest/pgbackrest.conf",
                "global.delta"
            )
            .is_none()
        );
        assert!(
            lookup(
                "clusters/shared-eu-west/platform/pgbackrest/pgbackrest.conf",
                "global.repo1-retention-full"
            )
            .is_some()
        );
    }

    #[test]
    fn fields_are_read_in_yaml_ini_and_hcl() {
        let yaml = "spec:\n  a:\n    - x: 1\n  data:\n    odoo.conf: |\n      [options]\n      workers = 7\n";
        assert_eq!(
            field_value("f.yaml", yaml, "spec.a[0].x")
                .unwrap()
                .as_deref(),
            Some("1")
        );
        assert_eq!(
            field_value("f.yaml", yaml, "spec.data.odoo.conf.options.workers")
                .unwrap()
                .as_deref(),
            Some("7")
        );
        assert_eq!(field_value("f.yaml", yaml, "spec.b").unwrap(), None);
        assert_eq!(
            field_value(
                "p.conf",
                "[global]\nrepo1-retention-full=30\n",
                "global.repo1-retention-full"
            )
            .unwrap()
            .as_deref(),
            Some("30")
        );
        let hcl = "module \"backup_identity\" {\n  source    = \"../m\"\n  role_name = \"lyon-prod\"\n  tags = {\n    a = \"b\"\n  }\n}\n";
        assert_eq!(
            field_value("main.tf", hcl, "module.backup_identity.role_name")
                .unwrap()
                .as_deref(),
            Some("lyon-prod")
        );
        assert_eq!(
            field_value("main.tf", hcl, "module.backup_identity.a").unwrap(),
            None
        );
    }

    #[test]
    fn every_rule_with_inputs_is_unique() {
        let mut rules: Vec<&str> = RULE_INPUTS.iter().map(|(r, _)| *r).collect();
        rules.sort_unstable();
        let n = rules.len();
        rules.dedup();
        assert_eq!(n, rules.len());
    }
}

//! `blueprint explain`: a resolved plant as rows of (field, value, origin), in text or JSON.

use crate::model::{Origin, ResolvedPlant, Val};
use crate::units::{fmt_bytes, fmt_cpu, fmt_duration};
use blueprint_diagnostics::SourceMap;
use serde::Serialize;

/// One explained value.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Dotted field path.
    pub field: String,
    /// The value as text.
    pub value: String,
    /// Origin kind (`plant`, `overlay`, `fleet-default`, `fleet`, `tier`, `tier-fleet`, `derived`).
    pub origin: &'static str,
    /// Origin as text (a location, a profile, or the derivation).
    pub from: String,
    /// Where the value was written, when it was written somewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The rule that derived the value, for derived values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
}

/// A place in an input file.
#[derive(Debug, Clone, Serialize)]
pub struct Location {
    /// Path as shown to the user (`<embedded>/…` for built-in data).
    pub file: String,
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub column: u32,
}

fn row(map: &SourceMap, field: &str, value: String, origin: &Origin) -> Row {
    Row {
        field: field.into(),
        value,
        origin: origin.kind(),
        from: origin.describe(map),
        location: origin.span().map(|s| {
            let lc = map.line_col(s);
            Location {
                file: map.file(s.file).path.clone(),
                line: lc.line,
                column: lc.column,
            }
        }),
        rule: match origin {
            Origin::Derived { rule, .. } => Some(rule),
            _ => None,
        },
    }
}

struct Rows<'a> {
    map: &'a SourceMap,
    rows: Vec<Row>,
}

impl Rows<'_> {
    fn push<T>(&mut self, field: &str, v: &Val<T>, show: impl Fn(&T) -> String) {
        self.rows
            .push(row(self.map, field, show(&v.value), &v.origin));
    }
    fn text(&mut self, field: &str, v: &Val<String>) {
        self.push(field, v, Clone::clone);
    }
    fn plain(&mut self, field: &str, value: String, origin: &Origin) {
        self.rows.push(row(self.map, field, value, origin));
    }
}

/// The rows of a resolved plant.
#[must_use]
pub fn rows(map: &SourceMap, p: &ResolvedPlant) -> Vec<Row> {
    let mut r = Rows {
        map,
        rows: Vec::new(),
    };
    r.text("name", &p.name);
    r.plain(
        "namespace",
        p.namespace.clone(),
        &Origin::Derived {
            rule: "namespace",
            detail: "<plant>-<env>".into(),
        },
    );
    if let Some(d) = &p.display_name {
        r.text("displayName", d);
    }
    if let Some(d) = &p.description {
        r.text("description", d);
    }
    r.text("region", &p.region);
    r.push("tier", &p.tier, ToString::to_string);
    r.push("tenancy", &p.tenancy, ToString::to_string);
    if let Some(c) = &p.cluster {
        r.text("cluster", c);
    }
    r.text("owner.team", &p.owner.team);
    r.text("owner.email", &p.owner.email);
    if let Some(c) = &p.owner.cost_center {
        r.text("owner.costCenter", c);
    }
    r.push("recovery.rpo", &p.recovery.rpo, |v| fmt_duration(*v));
    r.push("recovery.rto", &p.recovery.rto, |v| fmt_duration(*v));
    r.push("recovery.pitrWindow", &p.recovery.pitr_window, |v| {
        fmt_duration(*v)
    });
    r.push("recovery.rtoEstimate", &p.backup.rto_estimate, |v| {
        fmt_duration(*v)
    });
    let o = &p.odoo;
    r.push("odoo.version", &o.version, ToString::to_string);
    r.push("odoo.edition", &o.edition, ToString::to_string);
    r.text("odoo.image", &o.image);
    r.push("odoo.users", &o.users, ToString::to_string);
    r.push("odoo.modules", &o.modules, |m| m.join(", "));
    let d = &p.database;
    r.push("database.size", &d.size, |v| fmt_bytes(*v));
    r.push(
        "database.postgresVersion",
        &d.postgres_version,
        ToString::to_string,
    );
    r.push("database.writeRate", &d.write_rate, |v| {
        format!("{}/day", fmt_bytes(*v))
    });
    let b = &p.backup;
    if d.shared {
        // The shared Odoo, its PostgreSQL and their backups belong to the platform.
        let platform = Origin::Derived {
            rule: "tenancy shared",
            detail: "owned by the shared platform of the cluster (fleet.toml)".into(),
        };
        let cluster = p
            .cluster
            .as_ref()
            .map_or_else(String::new, |c| c.value.clone());
        r.plain(
            "odoo.processes",
            format!("the shared Odoo of cluster {cluster} (dbfilter ^%h$)"),
            &platform,
        );
        r.plain(
            "database.instance",
            format!(
                "a database named {} in the shared PostgreSQL of {cluster}",
                p.ingress.host.value
            ),
            &platform,
        );
        r.plain("backup", format!("the platform's pgBackRest stanza on {cluster}; one tenant is recovered by a side restore, then a dump and restore of its database"), &platform);
        r.push(
            "database.maxConnections",
            &d.max_connections,
            ToString::to_string,
        );
    } else {
        r.push("odoo.workers", &o.workers, ToString::to_string);
        r.push("odoo.replicas", &o.replicas, ToString::to_string);
        r.push("odoo.maxReplicas", &o.max_replicas, ToString::to_string);
        r.push("odoo.cpuRequest", &o.cpu_request_m, |v| fmt_cpu(*v));
        r.push("odoo.cpuLimit", &o.cpu_limit_m, |v| fmt_cpu(*v));
        r.push("odoo.memoryRequest", &o.memory_request, |v| fmt_bytes(*v));
        r.push("odoo.memoryLimit", &o.memory_limit, |v| fmt_bytes(*v));
        r.push("odoo.limitMemorySoft", &o.limit_memory_soft, |v| {
            fmt_bytes(*v)
        });
        r.push("odoo.limitMemoryHard", &o.limit_memory_hard, |v| {
            fmt_bytes(*v)
        });
        r.push("odoo.cronThreads", &o.cron_threads, ToString::to_string);
        r.push("odoo.dbMaxconn", &o.db_maxconn, ToString::to_string);
        if let Some(g) = &o.db_maxconn_gevent {
            r.push("odoo.dbMaxconnGevent", g, ToString::to_string);
        }
        r.push("database.instances", &d.instances, ToString::to_string);
        r.push(
            "database.synchronousReplication",
            &d.synchronous,
            ToString::to_string,
        );
        r.push(
            "database.connectionBudget",
            &d.connection_budget,
            ToString::to_string,
        );
        r.push(
            "database.maxConnections",
            &d.max_connections,
            ToString::to_string,
        );
        r.push(
            "database.reservedConnections",
            &d.reserved_connections,
            ToString::to_string,
        );
        r.push(
            if d.managed {
                "database.allocatedStorage"
            } else {
                "database.storage"
            },
            &d.storage,
            |v| fmt_bytes(*v),
        );
        r.push("database.filestoreStorage", &d.filestore, |v| fmt_bytes(*v));
        if d.managed {
            let rds = Origin::Derived {
                rule: "tenancy dedicated-environment",
                detail: "Amazon RDS for PostgreSQL (Terraform)".into(),
            };
            r.plain(
                "backup.method",
                "RDS automated backups and point-in-time recovery".into(),
                &rds,
            );
            r.push(
                "backup.retentionDays",
                &b.retention_full_days,
                ToString::to_string,
            );
            if let Some(peer) = b.repos.get(1) {
                r.plain(
                    "backup.crossRegionReplication",
                    format!(
                        "automated backups replicated to {} ({})",
                        peer.region, peer.cloud_region
                    ),
                    &rds,
                );
            }
        } else {
            r.push(
                "database.minPgbackrestVersion",
                &d.min_pgbackrest,
                Clone::clone,
            );
            r.push("backup.full", &b.full_schedule, Clone::clone);
            r.push("backup.differential", &b.diff_schedule, Clone::clone);
            r.push("backup.incremental", &b.incr_schedule, |s| {
                if s.is_empty() {
                    "none (daily differential)".into()
                } else {
                    s.clone()
                }
            });
            r.push("backup.interval", &b.interval, |v| fmt_duration(*v));
            r.push("backup.fullDuration", &b.full_duration, |v| {
                fmt_duration(*v)
            });
            r.push(
                "backup.retentionFullDays",
                &b.retention_full_days,
                ToString::to_string,
            );
            r.push("backup.archiveTimeout", &b.archive_timeout, |v| {
                fmt_duration(*v)
            });
            r.push("backup.archiveLossWindow", &b.archive_loss_window, |v| {
                fmt_duration(*v)
            });
            for repo in &b.repos {
                r.plain(
                    &format!("backup.{}", repo.name),
                    format!("s3://{}{} ({})", repo.bucket, repo.path, repo.cloud_region),
                    &Origin::Derived { rule: "backup.repositories", detail: format!("region {}; bucket <org>-pgbackrest-<cloudRegion>, path /pgbackrest/<plant>/<env>", repo.region) },
                );
            }
        }
        r.push(
            "backup.restoreTestSchedule",
            &b.restore_test_schedule,
            Clone::clone,
        );
    }
    r.text("ingress.host", &p.ingress.host);
    r.push("ingress.adminAllowFrom", &p.ingress.admin_allow_from, |v| {
        if v.is_empty() {
            "[] (blocked)".into()
        } else {
            v.join(", ")
        }
    });
    r.push("ingress.maxUploadSize", &p.ingress.max_upload_size, |v| {
        fmt_bytes(*v)
    });
    if let Some(c) = &p.cidr {
        r.text("network.cidr", c);
    }
    for i in &p.integrations {
        let key = format!("integrations.{}", i.name.value);
        let toward = match i.direction {
            blueprint_syntax::doc::Direction::Inbound => "from",
            blueprint_syntax::doc::Direction::Outbound => "to",
            blueprint_syntax::doc::Direction::Both => "with",
        };
        r.plain(
            &key,
            format!("{} {} {}", i.kind, i.direction, i.protocol),
            &i.name.origin,
        );
        for peer in &i.peers {
            r.push(&format!("{key}.peers"), peer, |v| format!("{toward} {v}"));
        }
        r.push(&format!("{key}.port"), &i.port, ToString::to_string);
        if let Some(path) = &i.path {
            r.text(&format!("{key}.path"), path);
        }
        if let Some(rate) = &i.rate_limit {
            r.push(&format!("{key}.rateLimit"), rate, |v| {
                format!("{} per {}", v.average, fmt_duration(v.period))
            });
        }
        if let Some(schedule) = &i.schedule {
            r.text(&format!("{key}.schedule"), schedule);
        }
        if i.mutual_tls {
            r.plain(
                &format!("{key}.clientCertificates"),
                "required (own host and TLSOption)".into(),
                &Origin::Derived {
                    rule: "integration.mutualTls",
                    detail: format!("{} over https", i.kind),
                },
            );
        }
    }
    r.push(
        "maintenance.window",
        &p.maintenance.window,
        ToString::to_string,
    );
    r.text("maintenance.timezone", &p.maintenance.timezone);
    if let Some(redis) = &p.redis {
        r.text("redis.architecture", &redis.architecture);
        r.push("redis.persistence", &redis.persistence, ToString::to_string);
    }
    if !p.database.shared {
        r.push("quota.cpu", &p.quota.cpu_m, |v| fmt_cpu(*v));
        r.push("quota.memory", &p.quota.memory, |v| fmt_bytes(*v));
    }
    r.rows
}

/// Text output: a header and aligned rows.
#[must_use]
pub fn text(map: &SourceMap, p: &ResolvedPlant) -> String {
    let rows = rows(map, p);
    let wf = rows.iter().map(|r| r.field.len()).max().unwrap_or(0);
    let wv = rows
        .iter()
        .map(|r| r.value.chars().count().min(48))
        .max()
        .unwrap_or(0);
    let mut out = format!("{} ({}) from {}\n", p.name.value, p.env, p.file);
    for r in rows {
        let pad = wv.saturating_sub(r.value.chars().count());
        out.push_str(&format!(
            "  {:wf$}  {}{}  ← {}\n",
            r.field,
            r.value,
            " ".repeat(pad),
            r.from
        ));
    }
    out
}

#[derive(Serialize)]
struct JsonPlant<'a> {
    plant: &'a str,
    env: &'a str,
    file: &'a str,
    values: Vec<Row>,
}

/// JSON output: `{"plant", "env", "file", "values": [{field, value, origin, from}]}`.
#[must_use]
pub fn json(map: &SourceMap, plants: &[&ResolvedPlant]) -> String {
    let out: Vec<JsonPlant<'_>> = plants
        .iter()
        .map(|p| JsonPlant {
            plant: &p.name.value,
            env: &p.env,
            file: &p.file,
            values: rows(map, p),
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&out).unwrap_or_default();
    s.push('\n');
    s
}

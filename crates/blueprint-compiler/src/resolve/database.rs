//! PostgreSQL as written: expected size, major version (the platform's for a `shared` plant,
//! BP1006) and WAL write rate.

use super::Cx;
use super::placement::Placement;
use crate::fleet::parse_with;
use crate::model::Val;
use crate::units::{self, fmt_bytes};
use blueprint_diagnostics::{Diagnostic, codes};
use blueprint_syntax::doc::{self, PlantDoc};

/// The database's written (or platform) values, before sizing.
pub(crate) struct DatabaseValues {
    /// Expected size, bytes.
    pub(crate) size: Val<u64>,
    /// Major version.
    pub(crate) postgres_version: Val<u32>,
    /// WAL bytes per day.
    pub(crate) write_rate: Val<u64>,
}

/// Resolves `database`; `None` (after reporting why) when a required value is missing.
pub(crate) fn resolve(
    cx: &mut Cx<'_>,
    doc: &PlantDoc,
    place: &Placement<'_>,
) -> Option<DatabaseValues> {
    let db = doc.database.as_ref().map(|d| &d.value);
    let size = match db.and_then(|d| d.size.as_ref()) {
        Some(t) => cx.qty(t).filter(|v| {
            if v.value == 0 {
                cx.diags.push(
                    Diagnostic::new(codes::OUT_OF_RANGE, "database.size must be more than zero")
                        .at(t.span, "zero")
                        .help("give the expected size of the database, e.g. `50Gi`: it sizes storage and the restore estimate"),
                );
            }
            v.value > 0
        }),
        None => {
            cx.missing(
                "database.size",
                ": the expected size sizes storage and the restore estimate",
            );
            None
        }
    };
    let postgres_version = postgres_version(cx, db, place);
    let write_rate = match db.and_then(|d| d.write_rate.as_ref()) {
        Some(t) => parse_with(
            cx.diags,
            t,
            codes::INVALID_QUANTITY,
            "database.writeRate",
            "write WAL volume per day, e.g. `5Gi/day`",
            |s| units::rate(s, "day"),
        )
        .map(|v| Val::new(v, cx.layers.origin(t.span))),
        None => size.as_ref().map(|s| {
            Val::derived(
                s.value / 20,
                "database.writeRate",
                format!("5% of database.size {} per day", fmt_bytes(s.value)),
            )
        }),
    };
    Some(DatabaseValues {
        size: size?,
        postgres_version,
        write_rate: write_rate?,
    })
}

/// `database.postgresVersion`: the shared cluster's for a `shared` plant (BP1006 when the plant
/// writes its own), else the plant's or 16; only 15, 16 and 17 are supported (BP0012).
fn postgres_version(
    cx: &mut Cx<'_>,
    db: Option<&doc::Database>,
    place: &Placement<'_>,
) -> Val<u32> {
    let cluster = &place.cluster;
    let pg_version = if place.shared {
        if let Some(v) = db.and_then(|d| d.postgres_version.as_ref()).filter(|v| v.span.file != cx.fleet.file) {
            let platform = cluster.as_ref().and_then(|(_, c)| c.postgres_version.as_ref().map(|p| p.value));
            if platform.is_some_and(|p| p != v.value) || platform.is_none() {
                cx.reject(
                    Diagnostic::new(codes::SHARED_PLATFORM_OWNED, "`database.postgresVersion` of a shared plant belongs to the platform")
                        .at(v.span, "set by the shared cluster")
                        .help("remove `database.postgresVersion`; choose `dedicated-namespace` to pick your own"),
                );
            }
        }
        cluster.as_ref().and_then(|(_, c)| c.postgres_version.clone())
    } else {
        None
    }
    .or_else(|| db.and_then(|d| d.postgres_version.as_ref()).map(|v| cx.layers.val(v)))
    .unwrap_or_else(|| Val::derived(16, "database.postgresVersion", "16 when neither plant nor fleet sets it"));
    if !matches!(pg_version.value, 15..=17) {
        cx.reject(
            Diagnostic::new(
                codes::INVALID_CHOICE,
                format!(
                    "database.postgresVersion must be 15, 16 or 17, found {}",
                    pg_version.value
                ),
            )
            .at(
                pg_version.origin.span().unwrap_or(cx.anchor),
                "unsupported version",
            )
            .help("use 15, 16 or 17"),
        );
    }
    pg_version
}

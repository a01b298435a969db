//! The one table of diagnostic codes. Codes are never reused or renumbered.
//!
//! `BP0xxx` input syntax and types, `BP1xxx` plant rules, `BP2xxx` recovery, `BP3xxx` fleet,
//! `BP4xxx` policy, `BP9xxx` internal errors. Every code has a page in `docs/rules/`.

use crate::Severity;
use std::fmt;

/// A stable diagnostic code such as `BP2001`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Code(pub &'static str);

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// What the table knows about a code.
#[derive(Debug, Clone, Copy)]
pub struct CodeInfo {
    /// The code.
    pub code: Code,
    /// Its default severity.
    pub severity: Severity,
    /// A short title naming the problem.
    pub title: &'static str,
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $name:ident = $code:literal, $sev:ident, $title:literal; )*) => {
        $( $(#[$doc])* pub const $name: Code = Code($code); )*
        /// Every code, in order.
        pub static ALL: &[CodeInfo] = &[
            $( CodeInfo { code: $name, severity: Severity::$sev, title: $title }, )*
        ];
    };
}

codes! {
    /// File larger than the 1 MiB limit.
    FILE_TOO_LARGE = "BP0001", Error, "input file is larger than 1 MiB";
    /// Not plain UTF-8 text (invalid UTF-8, NUL byte, byte-order mark).
    NOT_UTF8_TEXT = "BP0002", Error, "input file is not plain UTF-8 text";
    /// YAML or TOML syntax error.
    SYNTAX = "BP0003", Error, "syntax error";
    /// The same key twice in one mapping or table.
    DUPLICATE_KEY = "BP0004", Error, "duplicate key";
    /// A YAML 1.1 boolean such as `yes` or `on`.
    YAML11_BOOLEAN = "BP0005", Error, "YAML 1.1 boolean look-alike";
    /// Anchors, aliases, tags or merge keys.
    YAML_REFERENCE = "BP0006", Error, "anchors, aliases and tags are not allowed";
    /// Nesting, node count or list length over the limit.
    TOO_DEEP_OR_LARGE = "BP0007", Error, "input nested too deep or too large";
    /// More than one YAML document in a file.
    MULTIPLE_DOCUMENTS = "BP0008", Error, "more than one document in a file";
    /// A key the schema does not know.
    UNKNOWN_KEY = "BP0009", Error, "unknown key";
    /// A required key is absent.
    MISSING_KEY = "BP0010", Error, "missing required key";
    /// A value of the wrong type (a number where a string is expected, say).
    WRONG_TYPE = "BP0011", Error, "value has the wrong type";
    /// A value outside a fixed set of choices.
    INVALID_CHOICE = "BP0012", Error, "value is not one of the allowed choices";
    /// `apiVersion` or `kind` not supported.
    UNSUPPORTED_VERSION = "BP0013", Error, "unsupported apiVersion or kind";
    /// A number outside its allowed range.
    OUT_OF_RANGE = "BP0014", Error, "number out of range";

    /// The tier does not allow the tenancy (`critical` on `shared`).
    TIER_FORBIDS_TENANCY = "BP1001", Error, "tier does not allow this tenancy";
    /// `cluster` missing for `shared` or `dedicated-namespace`.
    CLUSTER_REQUIRED = "BP1002", Error, "tenancy needs a shared cluster";
    /// `cluster` set for `dedicated-cluster` or `dedicated-environment`.
    CLUSTER_FORBIDDEN = "BP1003", Error, "tenancy runs on its own cluster";
    /// A region not defined in the fleet.
    UNKNOWN_REGION = "BP1004", Error, "unknown region";
    /// A cluster not defined in the fleet.
    UNKNOWN_CLUSTER = "BP1005", Error, "unknown cluster";
    /// A shared plant sets something the shared platform owns.
    SHARED_PLATFORM_OWNED = "BP1006", Error, "shared plant sets a platform-owned value";
    /// A shared plant asks for better recovery than its platform guarantees.
    SHARED_RECOVERY_BEYOND_PLATFORM = "BP1007", Error, "shared plant asks more than its platform guarantees";
    /// A shared plant has an integration other than inbound HTTPS.
    SHARED_INTEGRATION = "BP1008", Error, "shared plant integration is not inbound HTTPS";
    /// An environment overlay changes `name`, `region`, `tier` or `tenancy`.
    OVERLAY_FIXED_FIELD = "BP1009", Error, "environment overlay changes a fixed field";
    /// `network.cidr` missing for a dedicated cluster or environment.
    CIDR_REQUIRED = "BP1010", Error, "dedicated tenancy needs network.cidr";
    /// Upload limit beyond what Odoo accepts.
    UPLOAD_LIMIT_ABOVE_ODOO = "BP1011", Warning, "upload limit above what Odoo accepts";
    /// The plant's cluster is in another region.
    CLUSTER_REGION_MISMATCH = "BP1012", Error, "cluster is in another region than the plant";
    /// Two integrations of a plant share a name.
    DUPLICATE_INTEGRATION = "BP1013", Error, "duplicate integration name";
    /// An integration field required by its protocol or direction is missing or misplaced.
    INTEGRATION_SHAPE = "BP1014", Error, "integration is missing what its protocol needs";
    /// A non-prod environment of a dedicated plant reuses the prod CIDR.
    ENV_CIDR_NOT_OWN = "BP1015", Error, "environment does not set its own network.cidr";

    /// RPO tighter than archiving guarantees and no streaming standby.
    RPO_NEEDS_STANDBY = "BP2001", Error, "RPO tighter than WAL archiving without a standby";
    /// RPO tighter than what a region loss or point-in-time restore can keep.
    RPO_REGION_LOSS = "BP2002", Warning, "region loss can lose more than the RPO";
    /// RPO zero without synchronous replication across three zones.
    RPO_ZERO_NEEDS_SYNC = "BP2003", Error, "RPO zero needs synchronous replication";
    /// No backup cadence restores within the RTO.
    RTO_INFEASIBLE = "BP2004", Error, "RTO cannot be met";
    /// `pitrWindow` longer than retention may reach.
    PITR_BEYOND_RETENTION = "BP2005", Error, "pitrWindow beyond the retention limit";
    /// RPO or pitrWindow beyond what a managed database offers.
    MANAGED_DB_LIMIT = "BP2006", Error, "beyond what the managed database offers";
    /// The full backup does not fit the maintenance window.
    BACKUP_EXCEEDS_WINDOW = "BP2007", Warning, "full backup longer than the maintenance window";
    /// A `critical` plant whose region has no backup peer.
    NO_SECOND_REPOSITORY = "BP2008", Error, "critical plant without a second repository region";
    /// A maintenance window that a fixed UTC offset cannot hold across DST.
    WINDOW_CROSSES_DST = "BP2009", Warning, "maintenance window shifts across a DST change";
    /// An objective tighter than the tier can honour.
    OBJECTIVE_BEYOND_TIER = "BP2010", Error, "objective tighter than the tier can honour";

    /// Two plants with the same name.
    DUPLICATE_PLANT = "BP3001", Error, "duplicate plant name";
    /// Two plants or environments with the same host.
    DUPLICATE_HOST = "BP3002", Error, "duplicate host";
    /// A host outside the fleet's DNS zone.
    HOST_OUTSIDE_ZONE = "BP3003", Error, "host outside the fleet's DNS zone";
    /// Overlapping CIDRs between plants or integration peers.
    OVERLAPPING_CIDR = "BP3004", Error, "overlapping CIDRs";
    /// An inbound peer that is the whole internet.
    INBOUND_FROM_INTERNET = "BP3005", Error, "inbound integration open to the whole internet";
    /// Tenants of a shared cluster do not fit its capacity.
    CLUSTER_CAPACITY = "BP3006", Error, "shared cluster capacity exceeded";
    /// A shared cluster's maintenance window outside a tenant's window.
    CLUSTER_WINDOW_OUTSIDE_TENANT = "BP3007", Error, "cluster maintenance window outside a tenant's";
    /// Odoo connection budget above PostgreSQL's usable connections.
    CONNECTION_BUDGET = "BP3008", Error, "Odoo connection budget exceeds PostgreSQL";
    /// A fleet reference to a region that does not exist.
    FLEET_REFERENCE = "BP3009", Error, "fleet refers to an undefined region";
    /// A shared cluster with `shared` tenants but no description of its Odoo.
    SHARED_CLUSTER_WITHOUT_ODOO = "BP3010", Error, "shared cluster does not describe its Odoo";
    /// Two plant environments whose names combine into the same namespace.
    NAMESPACE_COLLISION = "BP3011", Error, "two plant environments share a namespace";

    /// An image not pinned by digest in `prod`.
    IMAGE_NOT_PINNED = "BP4001", Error, "image not pinned by digest";
    /// An image from a registry other than the fleet's.
    IMAGE_REGISTRY = "BP4002", Error, "image from an unapproved registry";
    /// Not an IANA time zone.
    INVALID_TIMEZONE = "BP4003", Error, "invalid time zone";
    /// Not a cron expression.
    INVALID_CRON = "BP4004", Error, "invalid cron expression";
    /// Not a duration.
    INVALID_DURATION = "BP4005", Error, "invalid duration";
    /// Not a quantity.
    INVALID_QUANTITY = "BP4006", Error, "invalid quantity";
    /// Not a CIDR.
    INVALID_CIDR = "BP4007", Error, "invalid CIDR";
    /// Not a DNS-1123 name.
    INVALID_NAME = "BP4008", Error, "invalid DNS name";
    /// A generated name over its target's length limit.
    GENERATED_NAME_TOO_LONG = "BP4009", Error, "generated name too long";
    /// Not a maintenance window.
    INVALID_WINDOW = "BP4010", Error, "invalid maintenance window";
    /// Not an email address.
    INVALID_EMAIL = "BP4011", Error, "invalid email address";
    /// Not a rate such as `100/s`.
    INVALID_RATE = "BP4012", Error, "invalid rate limit";
    /// Not a URL or image reference.
    INVALID_REFERENCE = "BP4013", Error, "invalid URL or image reference";
    /// A `[review]` group that is not a forge handle, a team name or `owner`.
    INVALID_REVIEW_GROUP = "BP4014", Error, "invalid review group";
    /// Text that looks like a credential in a plant or fleet file.
    LOOKS_LIKE_SECRET = "BP4015", Error, "value looks like a secret";

    /// A bug in blueprint.
    INTERNAL = "BP9001", Error, "internal error";
    /// A template failed to render.
    TEMPLATE_FAILED = "BP9002", Error, "template failed to render";
    /// A rendered file failed verification.
    OUTPUT_INVALID = "BP9003", Error, "rendered output failed verification";
}

impl Code {
    /// The table entry of this code.
    #[must_use]
    pub fn info(self) -> CodeInfo {
        ALL.iter()
            .find(|c| c.code == self)
            .copied()
            .unwrap_or(CodeInfo {
                code: INTERNAL,
                severity: Severity::Error,
                title: "internal error",
            })
    }

    /// The long explanation (`docs/rules/<code>.md`), if the page exists.
    #[must_use]
    pub fn explanation(self) -> Option<&'static str> {
        explanation(self.0)
    }
}

/// The explanation page of a code given as text (`bp2001` works too).
#[must_use]
pub fn explanation(code: &str) -> Option<&'static str> {
    let code = code.to_ascii_uppercase();
    PAGES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, page)| *page)
}

/// Codes that have a page, for the consistency test.
#[must_use]
pub fn documented_codes() -> Vec<&'static str> {
    PAGES.iter().map(|(c, _)| *c).collect()
}

include!(concat!(env!("OUT_DIR"), "/pages.rs"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_sorted_and_well_formed() {
        for pair in ALL.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{} before {}",
                pair[0].code,
                pair[1].code
            );
        }
        for info in ALL {
            let c = info.code.0;
            assert!(
                c.len() == 6 && c.starts_with("BP") && c[2..].bytes().all(|b| b.is_ascii_digit())
            );
        }
    }

    #[test]
    fn every_code_has_a_page_and_every_page_a_code() {
        let documented = documented_codes();
        let missing: Vec<_> = ALL
            .iter()
            .map(|i| i.code.0)
            .filter(|c| !documented.contains(c))
            .collect();
        assert!(
            missing.is_empty(),
            "codes without docs/rules page: {missing:?}"
        );
        let orphans: Vec<_> = documented
            .iter()
            .filter(|c| !ALL.iter().any(|i| i.code.0 == **c))
            .collect();
        assert!(
            orphans.is_empty(),
            "docs/rules pages without a code: {orphans:?}"
        );
    }
}

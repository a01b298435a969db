//! `blueprint diff`'s risk classes (`blueprint_compiler::review`, docs/review.md) on real data:
//! the models of the example fleets as they compile, with one value changed, and the files
//! their build generates, with one object changed or deleted.
//!
//! `CASES` is the rule table's test: each case names the rule it exercises and the reason it
//! must give; every rule has a case, and every rule's documented example is a case's reason.

use crate::support::{example, read_inputs, root};
use blueprint_compiler::review::{
    self, EnvModel, EnvStatus, FileChange, RULES, Risk, classify_output, diff_intent,
};
use blueprint_compiler::{Input, compile};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// The models of every plant environment of compiled inputs.
fn compile_models(inputs: &[Input]) -> Vec<EnvModel> {
    let c = compile(inputs);
    assert!(
        !c.has_errors(),
        "{}",
        blueprint_diagnostics::render_human(&c.map, &c.diagnostics, false)
    );
    c.plants.iter().map(|p| EnvModel::of(&c.map, p)).collect()
}

fn inputs(name: &str) -> Vec<Input> {
    read_inputs(&root().join("examples").join(name), "plants")
}

/// The models of an example fleet, compiled once per test process.
fn models(name: &str) -> &'static [EnvModel] {
    static MODELS: OnceLock<BTreeMap<&'static str, Vec<EnvModel>>> = OnceLock::new();
    MODELS.get_or_init(|| {
        crate::support::EXAMPLES
            .iter()
            .map(|e| (*e, compile_models(&inputs(e))))
            .collect()
    })[name]
        .as_slice()
}

fn env(name: &str, plant: &str, env: &str) -> EnvModel {
    models(name)
        .iter()
        .find(|m| m.plant == plant && m.env == env)
        .unwrap_or_else(|| panic!("{name} has no {plant}/{env}"))
        .clone()
}

/// Sets the value of a field (of its only row).
fn set(m: &mut EnvModel, field: &str, value: &str) {
    let rows: Vec<_> = m.rows.iter_mut().filter(|r| r.field == field).collect();
    assert_eq!(rows.len(), 1, "{}/{} has one row {field}", m.plant, m.env);
    for r in rows {
        r.value = value.to_string();
    }
}

/// Removes every row of a field, or of every field starting with `prefix.`.
fn remove(m: &mut EnvModel, prefix: &str) {
    let before = m.rows.len();
    m.rows
        .retain(|r| r.field != prefix && !r.field.starts_with(&format!("{prefix}.")));
    assert!(
        m.rows.len() < before,
        "{}/{} has no {prefix}",
        m.plant,
        m.env
    );
}

/// (rule, class, reason) of what a review found.
type Found = Vec<(&'static str, Risk, String)>;

fn found(diffs: &[review::EnvDiff]) -> Found {
    diffs
        .iter()
        .flat_map(|d| &d.changes)
        .map(|c| (c.rule, c.risk, c.reason.clone()))
        .collect()
}

/// The review of one plant environment of an example changed by `edit`.
fn edited(name: &str, plant: &str, e: &str, edit: impl FnOnce(&mut EnvModel)) -> Found {
    let before = env(name, plant, e);
    let mut after = before.clone();
    edit(&mut after);
    found(&diff_intent(&[before], &[after]))
}

/// The review of an example fleet whose models `edit` changes.
fn fleet(name: &str, edit: impl FnOnce(&mut Vec<EnvModel>)) -> Found {
    let before = models(name).to_vec();
    let mut after = before.clone();
    edit(&mut after);
    found(&diff_intent(&before, &after))
}

/// The class of a generated file of an example changed by `edit` (`None`: deleted).
fn output(name: &str, path: &str, edit: impl FnOnce(&str) -> Option<String>) -> Found {
    let before = example(name)
        .files
        .get(path)
        .unwrap_or_else(|| panic!("{name} generates no {path}"));
    let after = edit(before);
    assert_ne!(
        after.as_deref(),
        Some(before.as_str()),
        "{path}: the edit changed nothing"
    );
    let change = if after.is_some() {
        FileChange::Changed
    } else {
        FileChange::Deleted
    };
    classify_output(path, change, Some(before), after.as_deref())
        .into_iter()
        .map(|o| (o.rule, o.risk, o.reason))
        .collect()
}

/// `text` with `from` replaced (which must occur).
fn replaced(text: &str, from: &str, to: &str) -> Option<String> {
    assert!(text.contains(from), "no `{from}` in:\n{text}");
    Some(text.replacen(from, to, 1))
}

const MG: &str = "manufacturing-group";
const CM: &str = "critical-managed";

struct Case {
    /// The rule it exercises.
    rule: &'static str,
    /// The reason that rule must give.
    reason: &'static str,
    /// What the review finds.
    run: fn() -> Found,
}

const CASES: &[Case] = &[
    // --- high ---
    Case {
        rule: "recovery-relaxed",
        reason: "RPO relaxed 5m → 15m",
        run: || edited(CM, "tarragona", "prod", |m| set(m, "recovery.rpo", "15m")),
    },
    Case {
        rule: "recovery-relaxed",
        reason: "RTO relaxed 4h → 8h",
        run: || edited(MG, "lyon", "prod", |m| set(m, "recovery.rto", "8h")),
    },
    Case {
        rule: "recovery-relaxed",
        reason: "PITR window shortened 30d → 14d",
        run: || edited(MG, "lyon", "prod", |m| set(m, "recovery.pitrWindow", "14d")),
    },
    Case {
        rule: "recovery-relaxed",
        reason: "synchronous replication turned off",
        run: || {
            edited(MG, "lyon", "prod", |m| {
                set(m, "database.synchronousReplication", "false");
            })
        },
    },
    Case {
        rule: "retention-shortened",
        reason: "full backup retention shortened 30 → 14 days",
        run: || {
            edited(MG, "lyon", "prod", |m| {
                set(m, "backup.retentionFullDays", "14");
            })
        },
    },
    Case {
        rule: "retention-shortened",
        reason: "backup retention shortened 35 → 7 days",
        run: || {
            edited(CM, "tarragona", "prod", |m| {
                set(m, "backup.retentionDays", "7");
            })
        },
    },
    Case {
        rule: "tenancy-changed",
        reason: "tenancy dedicated-namespace → dedicated-cluster",
        run: || {
            edited(MG, "wroclaw", "prod", |m| {
                set(m, "tenancy", "dedicated-cluster");
            })
        },
    },
    Case {
        rule: "placement-changed",
        reason: "cluster shared-eu-west → shared-eu-central",
        run: || {
            edited(MG, "saint-etienne", "prod", |m| {
                set(m, "cluster", "shared-eu-central");
            })
        },
    },
    Case {
        rule: "placement-changed",
        reason: "region eu-west → eu-central",
        run: || edited(MG, "lyon", "prod", |m| set(m, "region", "eu-central")),
    },
    Case {
        rule: "network-changed",
        reason: "network.cidr 10.10.0.0/16 → 10.20.0.0/16: the plant network is re-addressed",
        run: || {
            edited(MG, "lyon", "prod", |m| {
                set(m, "network.cidr", "10.20.0.0/16");
            })
        },
    },
    Case {
        rule: "env-removed",
        reason: "environment lyon/training removed",
        run: || {
            fleet(MG, |ms| {
                ms.retain(|m| (m.plant.as_str(), m.env.as_str()) != ("lyon", "training"));
            })
        },
    },
    Case {
        rule: "plant-removed",
        reason: "plant saint-etienne removed (environment prod)",
        run: || fleet(MG, |ms| ms.retain(|m| m.plant != "saint-etienne")),
    },
    Case {
        rule: "public-host",
        reason: "public host lyon.erp.hexacore.eu → lyon-new.erp.hexacore.eu",
        run: || {
            edited(MG, "lyon", "prod", |m| {
                set(m, "ingress.host", "lyon-new.erp.hexacore.eu");
            })
        },
    },
    Case {
        rule: "allow-list-widened",
        reason: "admin allow list widened: 192.168.0.0/16 now allowed",
        run: || {
            edited(MG, "lyon", "prod", |m| {
                set(m, "ingress.adminAllowFrom", "192.168.0.0/16");
            })
        },
    },
    Case {
        rule: "allow-list-widened",
        reason: "admin allow list removed",
        run: || edited(MG, "lyon", "prod", |m| remove(m, "ingress.adminAllowFrom")),
    },
    Case {
        rule: "allow-list-widened",
        reason: "admin allow list open to every address: 0.0.0.0/0",
        run: || {
            fleet(MG, |ms| {
                let mut m = env(MG, "lyon", "training");
                m.env = "demo".into();
                set(&mut m, "ingress.adminAllowFrom", "0.0.0.0/0");
                ms.push(m);
            })
        },
    },
    Case {
        rule: "peers-widened",
        reason: "integration mes-presses peers widened: with 172.16.0.0/16 now allowed",
        run: || {
            edited(MG, "lyon", "prod", |m| {
                set(m, "integrations.mes-presses.peers", "with 172.16.0.0/16");
            })
        },
    },
    Case {
        rule: "peers-widened",
        reason: "integration line-telemetry peers widened: from 172.16.10.16/28 now allowed",
        run: || {
            edited(MG, "lyon", "prod", |m| {
                set(
                    m,
                    "integrations.line-telemetry.peers",
                    "with 172.16.10.16/28",
                );
            })
        },
    },
    Case {
        rule: "client-certificates-removed",
        reason: "integration supplier-qualification no longer requires client certificates",
        run: || {
            edited(CM, "tarragona", "prod", |m| {
                remove(m, "integrations.supplier-qualification.clientCertificates");
            })
        },
    },
    Case {
        rule: "backup-repo-removed",
        reason: "second backup repository removed: s3://hexacore-pgbackrest-eu-central-1/pgbackrest/lyon/prod (eu-central-1)",
        run: || edited(MG, "lyon", "prod", |m| remove(m, "backup.repo2")),
    },
    Case {
        rule: "backup-repo-removed",
        reason: "cross-region backup replication removed: automated backups replicated to eu-west (eu-west-3)",
        run: || {
            edited(CM, "tarragona", "prod", |m| {
                remove(m, "backup.crossRegionReplication");
            })
        },
    },
    // --- medium ---
    Case {
        rule: "capacity",
        reason: "odoo.replicas raised 4 → 6",
        run: || edited(MG, "lyon", "prod", |m| set(m, "odoo.replicas", "6")),
    },
    Case {
        rule: "capacity",
        reason: "database.storage lowered 600Gi → 500Gi",
        run: || edited(MG, "lyon", "prod", |m| set(m, "database.storage", "500Gi")),
    },
    Case {
        rule: "capacity",
        reason: "quota.cpu raised 75 → 75500m",
        run: || edited(MG, "lyon", "prod", |m| set(m, "quota.cpu", "75500m")),
    },
    Case {
        rule: "schedule",
        reason: "backup.full schedule 0 17 * * 6 → 0 18 * * 6",
        run: || edited(MG, "lyon", "prod", |m| set(m, "backup.full", "0 18 * * 6")),
    },
    Case {
        rule: "schedule",
        reason: "maintenance.window Sat 18:00-23:00 → Sun 02:00-05:00",
        run: || {
            edited(MG, "lyon", "prod", |m| {
                set(m, "maintenance.window", "Sun 02:00-05:00");
            })
        },
    },
    Case {
        rule: "recovery-tightened",
        reason: "RPO tightened 5m → 2m",
        run: || edited(CM, "tarragona", "prod", |m| set(m, "recovery.rpo", "2m")),
    },
    Case {
        rule: "recovery-tightened",
        reason: "PITR window lengthened 30d → 35d",
        run: || edited(MG, "lyon", "prod", |m| set(m, "recovery.pitrWindow", "35d")),
    },
    Case {
        rule: "backup-changed",
        reason: "backup.interval 6h → 4h",
        run: || edited(MG, "lyon", "prod", |m| set(m, "backup.interval", "4h")),
    },
    Case {
        rule: "backup-changed",
        reason: "full backup retention lengthened 30 → 35 days",
        run: || {
            edited(MG, "lyon", "prod", |m| {
                set(m, "backup.retentionFullDays", "35");
            })
        },
    },
    Case {
        rule: "tier-changed",
        reason: "tier critical → standard",
        run: || edited(MG, "lyon", "prod", |m| set(m, "tier", "standard")),
    },
    Case {
        rule: "odoo-upgrade",
        reason: "Odoo 18.0 → 19.0: major upgrade, the database is migrated",
        run: || edited(MG, "lyon", "prod", |m| set(m, "odoo.version", "19.0")),
    },
    Case {
        rule: "odoo-upgrade",
        reason: "Odoo edition enterprise → community",
        run: || edited(MG, "lyon", "prod", |m| set(m, "odoo.edition", "community")),
    },
    Case {
        rule: "postgres-upgrade",
        reason: "PostgreSQL 16 → 17: major upgrade",
        run: || {
            edited(MG, "lyon", "prod", |m| {
                set(m, "database.postgresVersion", "17");
            })
        },
    },
    Case {
        rule: "modules-changed",
        reason: "modules +mrp_plm −stock_barcode",
        run: || {
            edited(MG, "lyon", "prod", |m| {
                let r = m
                    .rows
                    .iter_mut()
                    .find(|r| r.field == "odoo.modules")
                    .unwrap();
                r.value = r.value.replace("stock_barcode", "mrp_plm");
            })
        },
    },
    Case {
        rule: "image-source-changed",
        reason: "image source registry.hexacore.eu/erp/odoo-enterprise → registry.hexacore.eu/erp/odoo-custom",
        run: || {
            edited(MG, "lyon", "prod", |m| {
                let r = m.rows.iter_mut().find(|r| r.field == "odoo.image").unwrap();
                r.value = r.value.replace("odoo-enterprise", "odoo-custom");
            })
        },
    },
    Case {
        rule: "access-narrowed",
        reason: "admin allow list narrowed: 192.168.200.0/26 no longer allowed",
        run: || {
            edited(MG, "lyon", "prod", |m| {
                set(m, "ingress.adminAllowFrom", "192.168.10.0/24");
            })
        },
    },
    Case {
        rule: "integration-added",
        reason: "new integration group-bi: bi inbound postgres-readonly from 172.16.10.32/28, port 5432",
        run: || {
            let mut before = env(MG, "lyon", "prod");
            remove(&mut before, "integrations.group-bi");
            found(&diff_intent(&[before], &[env(MG, "lyon", "prod")]))
        },
    },
    Case {
        rule: "integration-removed",
        reason: "integration group-bi removed (bi inbound postgres-readonly)",
        run: || edited(MG, "lyon", "prod", |m| remove(m, "integrations.group-bi")),
    },
    Case {
        rule: "integration-changed",
        reason: "integration mes-presses port 5671 → 5672",
        run: || {
            edited(MG, "lyon", "prod", |m| {
                set(m, "integrations.mes-presses.port", "5672");
            })
        },
    },
    Case {
        rule: "env-added",
        reason: "new environment lyon/training: host lyon-training.erp.hexacore.eu, dedicated-cluster, critical",
        run: || {
            let after = models(MG).to_vec();
            let before: Vec<EnvModel> = after
                .iter()
                .filter(|m| (m.plant.as_str(), m.env.as_str()) != ("lyon", "training"))
                .cloned()
                .collect();
            found(&diff_intent(&before, &after))
        },
    },
    Case {
        rule: "env-added",
        reason: "new plant lyon (environment prod): host lyon.erp.hexacore.eu, dedicated-cluster, critical",
        run: || found(&diff_intent(&[], &[env(MG, "lyon", "prod")])),
    },
    Case {
        rule: "unclassified",
        reason: "unclassified change: redis.persistence true → false",
        run: || edited(MG, "lyon", "prod", |m| set(m, "redis.persistence", "false")),
    },
    // --- low ---
    Case {
        rule: "image-bump",
        reason: "image registry.hexacore.eu/erp/odoo-enterprise:18.0-hx3@sha256:78e917b3e6d4 → :18.0-hx4@sha256:0123456789ab",
        run: || {
            edited(MG, "lyon", "prod", |m| {
                let digest = "0123456789abcdef".repeat(4);
                set(
                    m,
                    "odoo.image",
                    &format!("registry.hexacore.eu/erp/odoo-enterprise:18.0-hx4@sha256:{digest}"),
                );
            })
        },
    },
    Case {
        rule: "image-bump",
        reason: "Odoo 18.0 → 18.1",
        run: || edited(MG, "lyon", "prod", |m| set(m, "odoo.version", "18.1")),
    },
    Case {
        rule: "metadata",
        reason: "owner.team hx-erp-lyon → hx-erp-france",
        run: || {
            edited(MG, "lyon", "prod", |m| {
                set(m, "owner.team", "hx-erp-france");
            })
        },
    },
    Case {
        rule: "metadata",
        reason: "description changed",
        run: || edited(MG, "lyon", "prod", |m| set(m, "description", "Stamping.")),
    },
    // --- output ---
    Case {
        rule: "stateful-deleted",
        reason: "PersistentVolumeClaim lyon-staging/odoo-filestore deleted",
        run: || {
            output(
                MG,
                "plants/lyon/staging/kubernetes/persistentvolumeclaim-odoo-filestore.yaml",
                |_| None,
            )
        },
    },
    Case {
        rule: "stateful-deleted",
        reason: "Namespace lyon-staging deleted",
        run: || {
            output(MG, "plants/lyon/staging/kubernetes/namespace.yaml", |_| {
                None
            })
        },
    },
    Case {
        rule: "stateful-deleted",
        reason: "PostgresCluster lyon-staging/postgres deleted",
        run: || {
            output(
                MG,
                "plants/lyon/staging/kubernetes/postgrescluster-postgres.yaml",
                |_| None,
            )
        },
    },
    Case {
        rule: "stateful-deleted",
        reason: "Terraform backup bucket root terraform/backup/eu-west-3 deleted",
        run: || output(MG, "terraform/backup/eu-west-3/main.tf", |_| None),
    },
    Case {
        rule: "stateful-deleted",
        reason: "Terraform module backup-bucket deleted (main.tf)",
        run: || output(MG, "terraform/modules/backup-bucket/main.tf", |_| None),
    },
    Case {
        rule: "stateful-deleted",
        reason: "Terraform module database (managed-database) deleted with terraform/plants/tarragona/prod/main.tf",
        run: || output(CM, "terraform/plants/tarragona/prod/main.tf", |_| None),
    },
    Case {
        rule: "stateful-deleted",
        reason: "Terraform module database (managed-database) removed from terraform/plants/tarragona/prod/main.tf",
        run: || {
            output(CM, "terraform/plants/tarragona/prod/main.tf", |t| {
                replaced(t, "modules/managed-database\"", "modules/other-database\"")
            })
        },
    },
    Case {
        rule: "middleware-removed",
        reason: "IngressRoute lyon-prod/odoo lost middleware odoo-admin-allowlist",
        run: || {
            output(MG, "plants/lyon/prod/traefik/ingressroute-odoo.yaml", |t| {
                replaced(
                    t,
                    "        - name: \"odoo-admin-allowlist\"\n          namespace: \"lyon-prod\"\n",
                    "",
                )
            })
        },
    },
    Case {
        rule: "middleware-removed",
        reason: "Traefik middleware lyon-prod/odoo-admin-allowlist deleted",
        run: || {
            output(
                MG,
                "plants/lyon/prod/traefik/middleware-odoo-admin-allowlist.yaml",
                |_| None,
            )
        },
    },
    Case {
        rule: "prune-protection-removed",
        reason: "PersistentVolumeClaim lyon-prod/odoo-filestore lost sync option Prune=false, Delete=false",
        run: || {
            output(
                MG,
                "plants/lyon/prod/kubernetes/persistentvolumeclaim-odoo-filestore.yaml",
                |t| {
                    replaced(
                        t,
                        "    argocd.argoproj.io/sync-options: Prune=false,Delete=false\n",
                        "",
                    )
                },
            )
        },
    },
    Case {
        rule: "prune-protection-removed",
        reason: "Namespace lyon-prod lost sync option Delete=false",
        run: || {
            output(MG, "plants/lyon/prod/kubernetes/namespace.yaml", |t| {
                replaced(
                    t,
                    "Prune=false,Delete=false",
                    "Prune=false,ServerSideApply=true",
                )
            })
        },
    },
    Case {
        rule: "unexplained-output",
        reason: "generated file changed with no intent change: plants/lyon/prod/kubernetes/deployment-odoo-web.yaml",
        run: || {
            let o = review::unexplained_output(
                "plants/lyon/prod/kubernetes/deployment-odoo-web.yaml",
                FileChange::Changed,
            );
            vec![(o.rule, o.risk, o.reason)]
        },
    },
    Case {
        rule: "template",
        reason: "generated by blueprint 0.1.0, now by blueprint 0.2.0: plants/lyon/prod/kubernetes/deployment-odoo-web.yaml",
        run: || {
            let o = review::template_output(
                "plants/lyon/prod/kubernetes/deployment-odoo-web.yaml",
                "blueprint 0.1.0",
                "blueprint 0.2.0",
            );
            vec![(o.rule, o.risk, o.reason)]
        },
    },
    Case {
        rule: "runbook-text",
        reason: "runbook text changed: runbooks/lyon.md",
        run: || {
            output(MG, "runbooks/lyon.md", |t| {
                Some(format!("{t}\nOne more note.\n"))
            })
        },
    },
];

#[test]
fn every_rule_case_gives_its_rule_class_and_reason() {
    for case in CASES {
        let rule = review::rule(case.rule).unwrap_or_else(|| panic!("no rule {}", case.rule));
        let found = (case.run)();
        assert!(
            found.contains(&(rule.id, rule.risk, case.reason.to_string())),
            "case {} `{}`: found {found:#?}",
            case.rule,
            case.reason
        );
    }
}

#[test]
fn every_rule_has_a_case_and_its_example_is_a_real_reason() {
    for rule in RULES {
        let cases: Vec<&Case> = CASES.iter().filter(|c| c.rule == rule.id).collect();
        assert!(!cases.is_empty(), "rule {} has no case in CASES", rule.id);
        assert!(
            cases.iter().any(|c| c.reason == rule.example),
            "the example of rule {} (`{}`) is no case's reason",
            rule.id,
            rule.example
        );
    }
}

#[test]
fn a_one_value_change_changes_only_that_field() {
    // Each intent case edits one field, so it finds exactly one change: the rules do not
    // double-count, and nothing else of the model is reported.
    for case in CASES.iter().filter(|c| {
        review::rule(c.rule).is_some_and(|r| r.scope == review::Scope::Intent)
            && !c.rule.starts_with("env-")
            && !c.rule.starts_with("plant-")
            && !c.reason.contains("open to every address")
    }) {
        let found = (case.run)();
        assert_eq!(found.len(), 1, "case {}: {found:#?}", case.reason);
    }
}

#[test]
fn every_example_compared_with_itself_has_no_change() {
    for name in crate::support::EXAMPLES {
        let m = models(name);
        assert!(!m.is_empty());
        assert_eq!(diff_intent(m, m), [], "{name}");
        // Models stored as JSON (the lock) and read back compare equal too.
        let back: Vec<EnvModel> = serde_json::from_str(&serde_json::to_string(m).unwrap()).unwrap();
        assert_eq!(diff_intent(m, &back), [], "{name}");
    }
}

#[test]
fn environments_added_and_removed_are_sorted_with_their_classes() {
    let before: Vec<EnvModel> = models(MG)
        .iter()
        .filter(|m| m.plant != "wroclaw")
        .cloned()
        .collect();
    let after: Vec<EnvModel> = models(MG)
        .iter()
        .filter(|m| m.plant != "lyon" && m.plant != "bordeaux")
        .cloned()
        .collect();
    let d = diff_intent(&before, &after);
    let summary: Vec<(&str, &str, EnvStatus, Risk)> = d
        .iter()
        .map(|d| (d.plant.as_str(), d.env.as_str(), d.status, d.risk))
        .collect();
    // The models of a compilation are sorted by plant, then environment.
    let expected: Vec<(&str, &str, EnvStatus, Risk)> = models(MG)
        .iter()
        .filter_map(|m| {
            let (status, risk) = match m.plant.as_str() {
                "bordeaux" | "lyon" => (EnvStatus::Removed, Risk::High),
                "wroclaw" => (EnvStatus::Added, Risk::Medium),
                _ => return None,
            };
            Some((m.plant.as_str(), m.env.as_str(), status, risk))
        })
        .collect();
    assert!(expected.len() >= 5, "{expected:?}");
    assert_eq!(summary, expected);
    for x in &d {
        assert_eq!(x.changes.len(), 1, "{x:#?}");
        assert_eq!(x.changes[0].field, "environment");
        assert_eq!(x.reason, x.changes[0].reason);
        match x.status {
            EnvStatus::Removed => {
                assert_eq!(x.changes[0].rule, "plant-removed");
                assert!(
                    x.changes[0].location.is_some(),
                    "points at the plant's name"
                );
            }
            _ => assert_eq!(x.changes[0].rule, "env-added"),
        }
    }
}

#[test]
fn a_plant_with_several_changes_gets_its_highest_class() {
    // A real edit of lyon.yaml, compiled: a shorter PITR window (and with it a shorter
    // retention), an image bump and a new owner team.
    let mut after = inputs(MG);
    let lyon = after
        .iter_mut()
        .find(|i| i.path.ends_with("france/lyon.yaml"))
        .unwrap();
    let text = String::from_utf8(lyon.bytes.clone()).unwrap();
    let text = text
        .replace("pitrWindow: 30d", "pitrWindow: 21d")
        .replace(":18.0-hx3@sha256:78e917", ":18.0-hx4@sha256:78e917")
        .replace("team: hx-erp-lyon", "team: hx-erp-france");
    lyon.bytes = text.into_bytes();
    let d = diff_intent(models(MG), &compile_models(&after));
    let prod = d
        .iter()
        .find(|d| d.plant == "lyon" && d.env == "prod")
        .unwrap();
    assert_eq!(prod.status, EnvStatus::Changed);
    assert_eq!(prod.risk, Risk::High);
    let classes: Vec<Risk> = prod.changes.iter().map(|c| c.risk).collect();
    let mut sorted = classes.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(classes, sorted, "highest class first");
    let rules: BTreeSet<&str> = prod.changes.iter().map(|c| c.rule).collect();
    for r in [
        "recovery-relaxed",
        "retention-shortened",
        "image-bump",
        "metadata",
    ] {
        assert!(rules.contains(r), "{r} in {:#?}", prod.changes);
    }
    assert_eq!(prod.changes[0].reason, "PITR window shortened 30d → 21d");
    assert!(
        prod.reason.starts_with("PITR window shortened 30d → 21d; ")
            && prod.reason.ends_with(" more changes"),
        "{}",
        prod.reason
    );
    let pitr = &prod.changes[0];
    assert_eq!(pitr.field, "recovery.pitrWindow");
    assert_eq!(
        (pitr.before.as_deref(), pitr.after.as_deref()),
        (Some("30d"), Some("21d"))
    );
    let at = pitr.location.as_ref().expect("written in the plant file");
    assert!(
        at.file.ends_with("france/lyon.yaml") && at.line > 1,
        "{at:?}"
    );
    // Staging and training inherit the image only where they do not set their own, and the
    // owner everywhere: each environment is judged on its own.
    for e in ["staging", "training"] {
        let x = d.iter().find(|d| d.plant == "lyon" && d.env == e).unwrap();
        assert_eq!(x.risk, Risk::High, "{e}: {:#?}", x.changes);
    }
    // Nothing else of the fleet changed.
    assert!(d.iter().all(|d| d.plant == "lyon"), "{d:#?}");
}

#[test]
fn a_new_integration_is_one_change_and_a_removed_one_too() {
    let with = env(MG, "lyon", "prod");
    let mut without = with.clone();
    remove(&mut without, "integrations.edi-automotive");
    let added = diff_intent(std::slice::from_ref(&without), std::slice::from_ref(&with));
    assert_eq!(found(&added).len(), 1, "{added:#?}");
    assert_eq!(added[0].risk, Risk::Medium);
    assert_eq!(
        added[0].changes[0].reason,
        "new integration edi-automotive: edi both sftp with 203.0.113.0/28, port 22"
    );
    let removed = diff_intent(&[with], &[without]);
    assert_eq!(found(&removed).len(), 1, "{removed:#?}");
    assert_eq!(removed[0].changes[0].rule, "integration-removed");
}

#[test]
fn a_new_integration_open_to_every_address_is_high() {
    let before = env(MG, "lyon", "prod");
    let mut after = before.clone();
    let mut peer = after
        .rows
        .iter()
        .find(|r| r.field == "integrations.line-telemetry.peers")
        .unwrap()
        .clone();
    let mut base = after
        .rows
        .iter()
        .find(|r| r.field == "integrations.line-telemetry")
        .unwrap()
        .clone();
    base.field = "integrations.updates".into();
    peer.field = "integrations.updates.peers".into();
    peer.value = "to 0.0.0.0/0".into();
    after.rows.extend([base, peer]);
    let f = found(&diff_intent(&[before], &[after]));
    assert_eq!(
        f,
        [
            (
                "peers-widened",
                Risk::High,
                "integration updates peers open to every address: to 0.0.0.0/0".to_string()
            ),
            (
                "integration-added",
                Risk::Medium,
                "new integration updates: iot outbound mqtt to 0.0.0.0/0".to_string()
            ),
        ]
    );
}

#[test]
fn unchanged_generated_files_get_no_output_rule_but_runbooks() {
    let mut n = 0;
    for name in crate::support::EXAMPLES {
        for (path, text) in &example(name).files {
            n += 1;
            let got = classify_output(path, FileChange::Changed, Some(text), Some(text));
            let runbook = path.ends_with(".md");
            assert_eq!(
                got.as_ref().map(|o| o.rule),
                runbook.then_some("runbook-text"),
                "{path}"
            );
            // A new file is never a deletion.
            let added = classify_output(path, FileChange::Added, None, Some(text));
            assert!(added.is_none_or(|o| o.risk == Risk::Low), "{path}");
        }
    }
    assert!(n > 1000, "{n} files");
}

#[test]
fn deleting_an_environment_flags_each_stateful_object_and_middleware_once() {
    let files = &example(MG).files;
    let mut flagged: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (path, text) in files.iter().filter(|(p, _)| {
        p.starts_with("plants/lyon/staging/") || p.starts_with("terraform/plants/lyon/staging/")
    }) {
        if let Some(o) = classify_output(path, FileChange::Deleted, Some(text), None) {
            assert_eq!(o.risk, Risk::High, "{path}");
            flagged
                .entry(o.rule)
                .or_default()
                .push(path.rsplit('/').next().unwrap());
        }
    }
    assert_eq!(
        flagged["stateful-deleted"],
        [
            "namespace.yaml",
            "persistentvolumeclaim-odoo-filestore.yaml",
            "postgrescluster-postgres.yaml"
        ]
    );
    let middlewares: Vec<&str> = files
        .keys()
        .filter(|p| p.starts_with("plants/lyon/staging/traefik/middleware-"))
        .map(|p| p.rsplit('/').next().unwrap())
        .collect();
    assert!(!middlewares.is_empty());
    assert_eq!(flagged["middleware-removed"], middlewares);
    assert_eq!(flagged.len(), 2, "{flagged:#?}");
}

/// The rows of docs/review.md's rules table: its cells (id without backquotes, class, scope,
/// triggers, reason example).
fn documented_rules() -> Vec<Vec<String>> {
    let doc = std::fs::read_to_string(root().join("docs/review.md")).unwrap();
    doc.lines()
        .filter_map(|l| {
            let inner = l.strip_prefix("| `")?.strip_suffix(" |")?;
            let (id, rest) = inner.split_once("` | ")?;
            let mut cells = vec![id.to_string()];
            cells.extend(rest.splitn(4, " | ").map(str::to_string));
            Some(cells)
        })
        .collect()
}

#[test]
fn docs_review_md_shows_the_rules_table_as_it_is() {
    let documented = documented_rules();
    let ids: Vec<&str> = documented.iter().map(|row| row[0].as_str()).collect();
    let table: Vec<&str> = RULES.iter().map(|r| r.id).collect();
    assert_eq!(
        ids, table,
        "docs/review.md's table lists the ids of RULES, in their order, and no other"
    );
    for (r, row) in RULES.iter().zip(&documented) {
        let scope = match r.scope {
            review::Scope::Intent => "intent",
            review::Scope::Output => "output",
        };
        assert_eq!(
            row[1..],
            [r.risk.as_str(), scope, r.description, r.example],
            "docs/review.md's row of {}: class, scope, description and example of RULES",
            r.id
        );
    }
}

#[test]
fn rows_stored_as_explain_json_read_back_as_intent_rows() {
    // The lock stores each model's `explain` rows as JSON; they read back as `IntentRow`s
    // equal to the rows converted directly.
    let c = compile(&inputs(CM));
    let mut n = 0;
    for p in c.plants.iter().chain(&c.platforms) {
        let rows = blueprint_compiler::explain::rows(&c.map, p);
        let stored = serde_json::to_string(&rows).unwrap();
        let back: Vec<review::IntentRow> = serde_json::from_str(&stored).unwrap();
        let direct: Vec<review::IntentRow> = rows.iter().map(review::IntentRow::from).collect();
        assert_eq!(back, direct);
        n += direct.len();
    }
    assert!(n > 50, "{n} rows");
}

#[test]
fn a_review_serialises_with_lowercase_classes_and_statuses() {
    let d = diff_intent(&[env(MG, "lyon", "training")], &[]);
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json[0]["status"], "removed");
    assert_eq!(json[0]["risk"], "high");
    assert_eq!(json[0]["changes"][0]["rule"], "plant-removed");
    assert_eq!(json[0]["changes"][0]["risk"], "high");
    assert_eq!(json[0]["changes"][0]["before"], "training");
}

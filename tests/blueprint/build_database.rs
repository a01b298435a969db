//! Domain facts of DESIGN §4.5 visible in the `database` outputs of the example fleets:
//! pgBackRest, the PostgresCluster, monitoring, the restore test and the database setup Jobs.

use crate::support::{EXAMPLES, build_example, build_inputs, read_inputs, root};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Rendered files of an example, by path.
type Files = BTreeMap<String, String>;

fn yaml(text: &str) -> Value {
    crate::support::yaml("out.yaml", text)
}

/// `pgbackrest.conf` read back by the verifier as pgBackRest reads it: section → key → values.
fn ini(text: &str) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    blueprint_verify::ini::read(text, blueprint_verify::ini::Flavor::PgBackRest)
        .unwrap_or_else(|problems| panic!("pgbackrest.conf does not read back: {problems:?}"))
}

/// Every example, built once per test process.
fn all() -> &'static [(&'static str, Files)] {
    static BUILT: std::sync::OnceLock<Vec<(&'static str, Files)>> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| EXAMPLES.iter().map(|e| (*e, build_example(e))).collect())
}

/// `plants/<plant>/<env>/` of every environment that has a file ending in `suffix`.
fn envs_with(files: &Files, suffix: &str) -> Vec<String> {
    files
        .keys()
        .filter(|p| p.ends_with(suffix))
        .map(|p| p.trim_end_matches(suffix).to_string())
        .collect()
}

/// The resolved plants of an example (tier, tenancy, region), by `plants/<plant>/<env>/`.
fn plants(example: &str) -> BTreeMap<String, blueprint_compiler::ResolvedPlant> {
    let inputs = read_inputs(&root().join("examples").join(example), "plants");
    let c = blueprint_compiler::compile(&inputs);
    c.plants
        .into_iter()
        .map(|p| (format!("plants/{}/{}/", p.name.value, p.env), p))
        .collect()
}

fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a Value> {
    container["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
        .map(|e| &e["value"])
}

#[test]
fn pgbackrest_conf_holds_no_key_material_and_uses_workload_identity() {
    let mut seen = 0;
    for (_, files) in all() {
        for (path, text) in files.iter().filter(|(p, _)| p.ends_with("pgbackrest.conf")) {
            seen += 1;
            let conf = ini(text);
            let global = &conf["global"];
            for key in global.keys() {
                assert!(
                    !key.ends_with("-s3-key")
                        && !key.ends_with("-s3-key-secret")
                        && !key.ends_with("-s3-token")
                        && !key.ends_with("-cipher-pass"),
                    "{path}: {key} is key material"
                );
            }
            // `plants/<plant>/<env>/…` with `/pgbackrest/<plant>/<env>`, or
            // `clusters/<cluster>/platform/…` with `/pgbackrest-platform/<cluster>`, a prefix no
            // plant's path (nor its IAM policy) reaches.
            let repo_path = match path.split('/').collect::<Vec<_>>()[..] {
                ["plants", plant, env, ..] => format!("/pgbackrest/{plant}/{env}"),
                ["clusters", cluster, "platform", ..] => format!("/pgbackrest-platform/{cluster}"),
                _ => panic!("{path}"),
            };
            let repos: Vec<&String> = global
                .keys()
                .filter(|k| {
                    k.strip_prefix("repo")
                        .and_then(|r| r.strip_suffix("-type"))
                        .is_some_and(|n| n.parse::<u32>().is_ok())
                })
                .collect();
            assert!(!repos.is_empty(), "{path}: no repository");
            for t in repos {
                let n = t.trim_end_matches("-type");
                assert_eq!(global[t], ["s3"], "{path}");
                assert_eq!(global[&format!("{n}-s3-key-type")], ["web-id"], "{path}");
                assert_eq!(
                    global[&format!("{n}-path")],
                    std::slice::from_ref(&repo_path),
                    "{path}"
                );
                assert_eq!(
                    global[&format!("{n}-cipher-type")],
                    ["aes-256-cbc"],
                    "{path}"
                );
                assert_eq!(
                    global[&format!("{n}-retention-full-type")],
                    ["time"],
                    "{path}"
                );
            }
            // The stanza is PGO's `db`, and the cipher passphrase is named as an environment
            // variable, never as a value.
            // No command section: PGO's `global` cannot carry one, and the PostgresCluster must
            // run with the options of this file.
            assert_eq!(conf.keys().collect::<Vec<_>>(), ["db", "global"], "{path}");
            assert!(text.contains("PGBACKREST_REPO1_CIPHER_PASS"), "{path}");
            // In the cluster the passphrase comes from the conf.d file of the cipher Secret.
            assert!(text.contains("Secret pgbackrest-secrets"), "{path}");
        }
    }
    assert!(seen >= 8, "only {seen} pgbackrest.conf files");
}

#[test]
fn postgrescluster_backups_equal_pgbackrest_conf() {
    let mut seen = 0;
    for (_, files) in all() {
        for base in envs_with(files, "pgbackrest/pgbackrest.conf") {
            seen += 1;
            let text = &files[&format!("{base}pgbackrest/pgbackrest.conf")];
            let conf = ini(text);
            let pg = yaml(&files[&format!("{base}kubernetes/postgrescluster-postgres.yaml")]);
            let pgb = &pg["spec"]["backups"]["pgbackrest"];
            // [global] = spec.backups.pgbackrest.global + what PGO writes from repos[].s3.
            let mut from_pgo: BTreeMap<String, Vec<String>> = pgb["global"]
                .as_object()
                .expect("global")
                .iter()
                .map(|(k, v)| (k.clone(), vec![v.as_str().expect("string").to_string()]))
                .collect();
            for repo in pgb["repos"].as_array().expect("repos") {
                let n = repo["name"].as_str().expect("name");
                let s3 = &repo["s3"];
                for (key, value) in [
                    ("type", json!("s3")),
                    ("s3-bucket", s3["bucket"].clone()),
                    ("s3-endpoint", s3["endpoint"].clone()),
                    ("s3-region", s3["region"].clone()),
                ] {
                    from_pgo.insert(
                        format!("{n}-{key}"),
                        vec![value.as_str().expect("string").to_string()],
                    );
                }
                // Schedules: the conf lists them for the runbook; PGO runs them.
                let s = &repo["schedules"];
                let mut line = format!(
                    "#   {n}: full {}; differential {}",
                    s["full"].as_str().expect("full"),
                    s["differential"].as_str().expect("differential")
                );
                if let Some(i) = s["incremental"].as_str() {
                    line.push_str(&format!("; incremental {i}"));
                }
                assert!(text.lines().any(|l| l == line), "{base}: no `{line}`");
                for cron in s.as_object().expect("schedules").values() {
                    assert_eq!(cron.as_str().expect("cron").split(' ').count(), 5, "{base}");
                }
            }
            assert_eq!(conf["global"], from_pgo, "{base}");
            // The stanza section describes PGO's instance.
            let version = pg["spec"]["postgresVersion"].as_u64().expect("version");
            assert_eq!(conf["db"]["pg1-path"], [format!("/pgdata/pg{version}")]);
            assert_eq!(
                conf["db"]["pg1-port"],
                [pg["spec"]["port"].as_u64().expect("port").to_string()]
            );
            assert_eq!(
                pgb["configuration"][0]["secret"]["name"],
                "pgbackrest-secrets"
            );
        }
    }
    assert!(seen >= 8, "only {seen} PGO plant environments");
}

#[test]
fn critical_plants_keep_a_second_repository_in_the_backup_peer_region() {
    let mut critical = 0;
    for (example, files) in all() {
        let inputs = read_inputs(&root().join("examples").join(example), "plants");
        let fleet = blueprint_compiler::compile(&inputs).fleet.expect("fleet");
        for (base, plant) in plants(example) {
            let Some(text) = files.get(&format!("{base}pgbackrest/pgbackrest.conf")) else {
                continue;
            };
            let global = &ini(text)["global"];
            let region = &fleet.regions[&plant.region.value];
            assert_eq!(
                global["repo1-s3-region"],
                std::slice::from_ref(&region.cloud_region),
                "{base}"
            );
            if plant.tier.value.as_str() == "critical" {
                critical += 1;
                let peer = region.backup_peer.as_ref().expect("critical needs a peer");
                let peer_region = &fleet.regions[&peer.value].cloud_region;
                assert_eq!(
                    global["repo2-s3-region"],
                    std::slice::from_ref(peer_region),
                    "{base}"
                );
                assert_ne!(
                    global["repo2-s3-bucket"], global["repo1-s3-bucket"],
                    "{base}"
                );
                // repo2 gets backups too, or losing the region would lose every base backup.
                let pg = yaml(&files[&format!("{base}kubernetes/postgrescluster-postgres.yaml")]);
                let repos = pg["spec"]["backups"]["pgbackrest"]["repos"]
                    .as_array()
                    .expect("repos")
                    .clone();
                assert_eq!(repos.len(), 2, "{base}");
                assert!(repos[1]["schedules"]["full"].is_string(), "{base}");
                assert_ne!(
                    repos[0]["schedules"]["full"], repos[1]["schedules"]["full"],
                    "{base}: two backups of the stanza at once"
                );
            } else {
                assert!(!global.contains_key("repo2-type"), "{base}");
            }
        }
    }
    assert!(critical >= 2, "only {critical} critical PGO environments");
}

#[test]
fn postgrescluster_is_never_pruned_or_deleted_by_a_sync() {
    let mut seen = 0;
    for (_, files) in all() {
        for (path, text) in files
            .iter()
            .filter(|(p, _)| p.ends_with("postgrescluster-postgres.yaml"))
        {
            seen += 1;
            let pg = yaml(text);
            let options = pg["metadata"]["annotations"]["argocd.argoproj.io/sync-options"]
                .as_str()
                .expect("sync-options");
            assert!(options.contains("Prune=false"), "{path}");
            assert!(options.contains("Delete=false"), "{path}");
            assert_eq!(
                pg["spec"]["instances"][0]["dataVolumeClaimSpec"]["storageClassName"],
                "blueprint-retain-rwo",
                "{path}"
            );
            // Workload identity reaches every PGO ServiceAccount.
            let arn = pg["spec"]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
                .as_str()
                .expect("role");
            assert!(
                arn.starts_with("arn:aws:iam::") && arn.ends_with("-pgbackrest"),
                "{path}"
            );
        }
    }
    assert!(seen >= 8);
}

#[test]
fn pgbackrest_options_are_those_the_minimum_version_accepts() {
    let mut old = 0;
    for (example, files) in all() {
        for (base, plant) in plants(example) {
            let Some(text) = files.get(&format!("{base}pgbackrest/pgbackrest.conf")) else {
                continue;
            };
            let global = &ini(text)["global"];
            // Block incremental is beta in 2.45 (`[031] option 'repo1-block' is not valid
            // without option 'beta'`), GA from 2.46 (PostgreSQL 16).
            if plant.database.postgres_version.value == 15 {
                old += 1;
                assert!(text.contains("pgBackRest 2.45 or newer"), "{base}");
                assert!(!global.contains_key("repo1-block"), "{base}");
            } else {
                assert_eq!(global["repo1-block"], ["y"], "{base}");
            }
        }
    }
    assert!(old >= 1, "no PostgreSQL 15 plant in the examples");
}

/// The quickstart plant with its RPO replaced.
fn quickstart_with_rpo(rpo: &str) -> Files {
    let mut inputs = read_inputs(&root().join("examples/quickstart"), "plants");
    let plant = inputs.iter_mut().find(|i| !i.is_fleet).expect("a plant");
    let text = String::from_utf8(plant.bytes.clone()).expect("UTF-8");
    assert!(text.contains("rpo: 15m"));
    plant.bytes = text
        .replace("rpo: 15m", &format!("rpo: {rpo}"))
        .into_bytes();
    build_inputs(&inputs)
}

/// `alert name` → the thresholds in its expressions, in order.
fn thresholds(rule: &str) -> BTreeMap<String, Vec<u64>> {
    let rule = yaml(rule);
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for r in rule["spec"]["groups"][0]["rules"]
        .as_array()
        .expect("rules")
    {
        let expr = r["expr"].as_str().expect("expr");
        // The first number compared with `>` (none in an `absent()` rule).
        let t: Option<u64> = expr.split("> ").skip(1).find_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        });
        assert!(t.is_some() || expr.starts_with("absent("), "{expr}");
        out.entry(r["alert"].as_str().expect("alert").to_string())
            .or_default()
            .extend(t);
        let runbook = r["annotations"]["runbook_url"].as_str().expect("runbook");
        assert!(runbook.ends_with("/runbooks/lyon.md"), "{runbook}");
        assert!(r["labels"]["severity"].is_string());
    }
    out
}

#[test]
fn alert_thresholds_are_derived_from_the_rpo() {
    let path = "plants/lyon/prod/kubernetes/prometheusrule-database.yaml";
    let tight = thresholds(&quickstart_with_rpo("15m")[path]);
    let loose = thresholds(&quickstart_with_rpo("1h")[path]);
    // WAL archive age beyond the RPO, replication lag beyond the RPO.
    assert_eq!(tight["PostgresWalArchiveBeyondRpo"], [900]);
    assert_eq!(loose["PostgresWalArchiveBeyondRpo"], [3600]);
    assert_eq!(tight["PostgresReplicationBeyondRpo"], [900]);
    assert_eq!(loose["PostgresReplicationBeyondRpo"], [3600]);
    // archive_timeout follows the RPO (rpo − push latency, clamped to 60..300 s), and the
    // designed loss window with it.
    assert_eq!(tight["PostgresWalArchiveLate"], [310]);
    // Backup age: longest scheduled gap + full backup estimate + margin; critical twice that.
    let [warning, critical] = [
        tight["PostgresBackupTooOld"][0],
        tight["PostgresBackupMissing"][0],
    ];
    assert!(warning > 12 * 3600 && warning < 14 * 3600, "{warning}");
    assert_eq!(critical, 2 * warning);
    // Restore-test age: a weekly test (a week and the DST hour) + start and run deadlines.
    let age = tight["RestoreTestTooOld"][0];
    assert!(age > 7 * 86_400 + 3600 && age < 8 * 86_400, "{age}");
}

#[test]
fn restore_test_restores_into_a_throwaway_cluster_with_archiving_off() {
    let crd: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join(
            "schemas/vendor/crds/postgres-operator.crunchydata.com/postgrescluster_v1beta1.json",
        ))
        .expect("vendored CRD"),
    )
    .expect("JSON");
    let validator = jsonschema::validator_for(&crd).expect("CRD schema compiles");
    let mut seen = 0;
    for (_, files) in all() {
        for base in envs_with(files, "kubernetes/postgrescluster-postgres.yaml") {
            seen += 1;
            let cron = yaml(&files[&format!("{base}kubernetes/cronjob-restore-test.yaml")]);
            let spec = &cron["spec"];
            assert_eq!(spec["concurrencyPolicy"], "Forbid", "{base}");
            assert!(spec["timeZone"].is_string(), "{base}");
            assert!(spec["startingDeadlineSeconds"].as_u64().is_some(), "{base}");
            let job = &spec["jobTemplate"]["spec"];
            assert!(job["activeDeadlineSeconds"].as_u64().expect("deadline") > 1800);
            assert!(job["backoffLimit"].as_u64().expect("backoff") <= 2);
            let container = &job["template"]["spec"]["containers"][0];
            let manifest: Value = serde_json::from_str(
                env_value(container, "MANIFEST")
                    .and_then(Value::as_str)
                    .expect("MANIFEST"),
            )
            .expect("MANIFEST is JSON");
            let errors: Vec<String> = validator
                .iter_errors(&manifest)
                .map(|e| format!("{e} at {}", e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{base}: {errors:?}");
            assert_eq!(manifest["metadata"]["name"], "restore-test");
            let source = &manifest["spec"]["dataSource"]["pgbackrest"];
            assert_eq!(source["stanza"], "db");
            assert_eq!(source["repo"]["name"], "repo1");
            let options: Vec<&str> = source["options"]
                .as_array()
                .expect("options")
                .iter()
                .map(|o| o.as_str().expect("option"))
                .collect();
            assert!(options.contains(&"--archive-mode=off"), "{base}");
            assert!(options.contains(&"--type=immediate"), "{base}");
            // It archives nowhere, reads with a role of its own and keeps no volume.
            assert!(manifest["spec"].get("backups").is_none(), "{base}");
            let role = manifest["spec"]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
                .as_str()
                .expect("role");
            assert!(role.ends_with("-pgbackrest-restore-test"), "{base}");
            let instance = &manifest["spec"]["instances"][0];
            assert!(instance["dataVolumeClaimSpec"]["storageClassName"].is_null());
            // The test's Role lets it create and delete PostgresClusters and exec into pods.
            let role = yaml(&files[&format!("{base}kubernetes/role-restore-test.yaml")]);
            let rules = role["rules"].to_string();
            for needed in ["postgresclusters", "create", "delete", "pods/exec"] {
                assert!(rules.contains(needed), "{base}: {needed}");
            }
        }
    }
    assert!(seen >= 8);
}

#[test]
fn rds_plants_have_no_postgrescluster_and_restore_to_a_new_instance() {
    let mut seen = 0;
    for (example, files) in all() {
        for (base, plant) in plants(example) {
            if !plant.database.managed {
                continue;
            }
            seen += 1;
            assert!(!files.contains_key(&format!("{base}pgbackrest/pgbackrest.conf")));
            assert!(
                !files
                    .keys()
                    .any(|p| p.starts_with(&base) && p.contains("postgrescluster")),
                "{base}"
            );
            let cron = yaml(&files[&format!("{base}kubernetes/cronjob-restore-test.yaml")]);
            let container =
                &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
            let script = container["command"][2].as_str().expect("script");
            assert!(script.contains("aws rds restore-db-instance-to-point-in-time"));
            assert!(script.contains("--use-latest-restorable-time"));
            assert!(script.contains("aws rds delete-db-instance"));
            let source = env_value(container, "SOURCE").expect("SOURCE");
            let name = format!("{}-{}", plant.name.value, plant.env);
            assert_eq!(source, &json!(name));
            assert_eq!(
                env_value(container, "TARGET"),
                Some(&json!(format!("{name}-restore-test")))
            );
            let sa = yaml(&files[&format!("{base}kubernetes/serviceaccount-restore-test.yaml")]);
            assert!(sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].is_string());
            // In-cluster alerts are only what applies to RDS: the restore test.
            let rules = yaml(&files[&format!("{base}kubernetes/prometheusrule-database.yaml")]);
            for r in rules["spec"]["groups"][0]["rules"]
                .as_array()
                .expect("rules")
            {
                let alert = r["alert"].as_str().expect("alert");
                assert!(
                    alert.starts_with("RestoreTest") || alert == "FilestoreBackupTooOld",
                    "{alert}"
                );
            }
            assert!(!files.contains_key(&format!(
                "{base}kubernetes/podmonitor-postgres-exporter.yaml"
            )));
        }
    }
    assert!(seen >= 2, "only {seen} RDS environments");
}

#[test]
fn shared_tenants_get_a_presync_job_creating_their_host_database() {
    let mut seen = 0;
    for (example, files) in all() {
        for (base, plant) in plants(example) {
            if plant.tenancy.value.as_str() != "shared" {
                continue;
            }
            seen += 1;
            let name = format!("{}-{}-create-database", plant.name.value, plant.env);
            let job = yaml(&files[&format!("{base}kubernetes/job-{name}.yaml")]);
            assert_eq!(job["metadata"]["name"], json!(name));
            assert_eq!(job["metadata"]["namespace"], "odoo-shared");
            assert_eq!(
                job["metadata"]["annotations"]["argocd.argoproj.io/hook"],
                "PreSync"
            );
            let container = &job["spec"]["template"]["spec"]["containers"][0];
            assert_eq!(
                env_value(container, "DB_NAME"),
                Some(&json!(plant.ingress.host.value)),
                "{base}"
            );
            assert_eq!(env_value(container, "DB_OWNER"), Some(&json!("odoo")));
            let script = container["command"][2].as_str().expect("script");
            assert!(script.contains("--set=db=\"$DB_NAME\""), "{script}");
            assert!(script.contains("CREATE DATABASE :\"db\" OWNER :\"owner\";"));
            assert!(script.contains("WHERE datname = :'db'"));
            // No PostgreSQL, backups or restore test of its own.
            assert!(
                !files.keys().any(|p| p.starts_with(&base)
                    && (p.contains("postgrescluster")
                        || p.contains("pgbackrest")
                        || p.contains("restore-test")
                        || p.contains("filestore-backup"))),
                "{base}"
            );
        }
    }
    assert!(seen >= 4, "only {seen} shared environments");
}

#[test]
fn database_pods_are_restricted_and_sized() {
    let mut seen = 0;
    for (_, files) in all() {
        for (path, text) in files.iter().filter(|(p, _)| {
            p.ends_with("cronjob-restore-test.yaml")
                || p.ends_with("cronjob-filestore-backup.yaml")
                || p.contains("-database.yaml") && p.contains("/job-")
        }) {
            seen += 1;
            let o = yaml(text);
            let pod = if o["kind"] == "CronJob" {
                &o["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            } else {
                &o["spec"]["template"]["spec"]
            };
            assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{path}");
            assert!(pod["securityContext"]["runAsUser"].as_u64().expect("uid") > 0);
            assert_eq!(
                pod["securityContext"]["seccompProfile"]["type"],
                "RuntimeDefault"
            );
            for c in pod["containers"].as_array().expect("containers") {
                let sc = &c["securityContext"];
                assert_eq!(sc["allowPrivilegeEscalation"], false, "{path}");
                assert_eq!(sc["readOnlyRootFilesystem"], true, "{path}");
                assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]), "{path}");
                for k in ["cpu", "memory"] {
                    assert!(c["resources"]["requests"][k].is_string(), "{path}");
                    assert!(c["resources"]["limits"][k].is_string(), "{path}");
                }
            }
        }
    }
    assert!(seen >= 20);
}

#[test]
fn shared_platform_postgres_serves_its_tenants_databases() {
    let mut seen = 0;
    for (_, files) in all() {
        for base in envs_with(files, "kubernetes/postgrescluster-postgres.yaml")
            .into_iter()
            .filter(|b| b.starts_with("clusters/"))
        {
            seen += 1;
            let pg = yaml(&files[&format!("{base}kubernetes/postgrescluster-postgres.yaml")]);
            assert_eq!(pg["metadata"]["namespace"], "odoo-shared", "{base}");
            let users = pg["spec"]["users"].as_array().expect("users");
            // No database of its own: the tenants' Jobs create theirs with the superuser Secret.
            assert_eq!(users[0]["name"], "odoo");
            assert!(users[0].get("databases").is_none(), "{base}");
            assert!(users.iter().any(|u| u["name"] == "postgres"), "{base}");
            assert!(!files.contains_key(&format!("{base}kubernetes/job-prepare-database.yaml")));
            // Its restore test checks the restored catalog, not an Odoo database.
            let cron = yaml(&files[&format!("{base}kubernetes/cronjob-restore-test.yaml")]);
            let container =
                &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
            assert_eq!(env_value(container, "DB_NAME"), Some(&json!("postgres")));
            let sql = env_value(container, "SMOKE_SQL")
                .and_then(Value::as_str)
                .expect("SQL");
            assert!(sql.contains("pg_database"), "{sql}");
            let rules = yaml(&files[&format!("{base}kubernetes/prometheusrule-database.yaml")]);
            let url = rules["spec"]["groups"][0]["rules"][0]["annotations"]["runbook_url"]
                .as_str()
                .expect("runbook_url");
            assert!(url.ends_with("/runbooks/"), "{url}");
        }
    }
    assert!(seen >= 2, "only {seen} shared platforms");
}

#[test]
fn a_podmonitor_scrapes_the_exporter_sidecar_of_every_postgres_instance() {
    let mut seen = 0;
    for (_, files) in all() {
        for base in envs_with(files, "kubernetes/postgrescluster-postgres.yaml") {
            seen += 1;
            assert!(!files.contains_key(&format!(
                "{base}kubernetes/servicemonitor-postgres-exporter.yaml"
            )));
            let pm = yaml(&files[&format!("{base}kubernetes/podmonitor-postgres-exporter.yaml")]);
            assert_eq!(pm["apiVersion"], "monitoring.coreos.com/v1");
            assert_eq!(pm["kind"], "PodMonitor");
            let pg = yaml(&files[&format!("{base}kubernetes/postgrescluster-postgres.yaml")]);
            assert_eq!(pm["metadata"]["namespace"], pg["metadata"]["namespace"]);
            assert_eq!(
                pm["spec"]["selector"]["matchLabels"],
                json!({
                    "postgres-operator.crunchydata.com/cluster": pg["metadata"]["name"],
                    "postgres-operator.crunchydata.com/crunchy-postgres-exporter": "true",
                }),
                "{base}"
            );
            assert_eq!(pm["spec"]["podMetricsEndpoints"][0]["port"], "exporter");
        }
    }
    assert!(seen >= 8);
}

/// The 5-field UTC crons' fire times over two weeks from a Monday, as (weekday, hour, minute).
fn fire_times(crons: &[&str]) -> std::collections::BTreeSet<(u32, u32, u32)> {
    let mut out = std::collections::BTreeSet::new();
    for c in crons {
        let f: Vec<&str> = c.split(' ').collect();
        let expand = |field: &str, max: u32| -> Vec<u32> {
            if field == "*" {
                (0..max).collect()
            } else {
                field
                    .split(',')
                    .map(|x| x.parse().expect("number"))
                    .collect()
            }
        };
        for d in expand(f[4], 7) {
            for h in expand(f[1], 24) {
                for m in expand(f[0], 60) {
                    out.insert((d, h, m));
                }
            }
        }
    }
    out
}

#[test]
fn filestore_is_backed_up_at_the_database_backup_times_by_every_environment_running_odoo() {
    let mut seen = 0;
    for (example, files) in all() {
        let tenancy: BTreeMap<String, String> = plants(example)
            .into_iter()
            .map(|(b, p)| (b, p.tenancy.value.as_str().to_string()))
            .collect();
        // Every environment with its own Odoo volume, and no other.
        let with_odoo: Vec<String> = files
            .keys()
            .filter(|p| p.ends_with("kubernetes/persistentvolumeclaim-odoo-filestore.yaml"))
            .map(|p| {
                p.trim_end_matches("kubernetes/persistentvolumeclaim-odoo-filestore.yaml")
                    .to_string()
            })
            .collect();
        assert_eq!(
            envs_with(files, "kubernetes/cronjob-filestore-backup.yaml"),
            with_odoo
        );
        for (base, t) in &tenancy {
            if t == "shared" {
                assert!(!with_odoo.contains(base), "{base}");
            }
        }
        for base in with_odoo {
            seen += 1;
            let cron = yaml(&files[&format!("{base}kubernetes/cronjob-filestore-backup.yaml")]);
            let spec = &cron["spec"];
            assert_eq!(spec["concurrencyPolicy"], "Forbid", "{base}");
            assert_eq!(spec["timeZone"], "Etc/UTC", "{base}");
            // The schedule covers the database backups' times (repo1, UTC).
            let schedule = spec["schedule"].as_str().expect("schedule");
            let pg = files
                .get(&format!("{base}kubernetes/postgrescluster-postgres.yaml"))
                .map(|t| yaml(t));
            if let Some(pg) = pg {
                let s = &pg["spec"]["backups"]["pgbackrest"]["repos"][0]["schedules"];
                let mut crons = vec![
                    s["full"].as_str().expect("full"),
                    s["differential"].as_str().expect("differential"),
                ];
                crons.extend(s["incremental"].as_str());
                let backups = fire_times(&crons);
                let ours = fire_times(&[schedule]);
                if backups.len() == ours.len() {
                    assert_eq!(ours, backups, "{base}: {schedule}");
                } else {
                    // Not one cron: the incremental (else differential) cadence.
                    let cadence = s["incremental"]
                        .as_str()
                        .or(s["differential"].as_str())
                        .expect("cadence");
                    assert_eq!(schedule, cadence, "{base}");
                }
            }
            let pod = &spec["jobTemplate"]["spec"]["template"];
            assert_eq!(
                pod["metadata"]["labels"]["app.kubernetes.io/component"],
                "filestore-backup"
            );
            let pod = &pod["spec"];
            assert_eq!(pod["serviceAccountName"], "filestore-backup");
            let c = &pod["containers"][0];
            assert!(
                c["image"]
                    .as_str()
                    .expect("image")
                    .ends_with("/amazon/aws-cli:2.27.50")
            );
            let script = c["command"][2].as_str().expect("script");
            assert!(
                script.contains(
                    r#"aws s3 sync "$SOURCE" "$DESTINATION" --delete --only-show-errors --sse aws:kms"#
                ),
                "{script}"
            );
            assert_eq!(
                env_value(c, "SOURCE"),
                Some(&json!("/var/lib/odoo/filestore"))
            );
            let prefix = match base.split('/').collect::<Vec<_>>()[..] {
                ["plants", plant, env, ..] => format!("filestore/{plant}/{env}/"),
                ["clusters", cluster, "platform", ..] => format!("filestore/platform/{cluster}/"),
                _ => panic!("{base}"),
            };
            let dest = env_value(c, "DESTINATION")
                .and_then(Value::as_str)
                .expect("dest");
            assert!(
                dest.starts_with("s3://") && dest.ends_with(&format!("/{prefix}")),
                "{dest}"
            );
            // The filestore volume, read-only.
            let vol = &pod["volumes"][0];
            assert_eq!(vol["persistentVolumeClaim"]["claimName"], "odoo-filestore");
            assert_eq!(vol["persistentVolumeClaim"]["readOnly"], true);
            assert_eq!(c["volumeMounts"][0]["readOnly"], true);
            // Runs as Odoo's user, with the backup role.
            assert!(pod["securityContext"]["runAsUser"].as_u64().expect("uid") > 0);
            let sa =
                yaml(&files[&format!("{base}kubernetes/serviceaccount-filestore-backup.yaml")]);
            let arn = sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
                .as_str()
                .expect("role");
            assert!(arn.ends_with("-pgbackrest"), "{arn}");
            // And an alert when it stops succeeding.
            let rules = yaml(&files[&format!("{base}kubernetes/prometheusrule-database.yaml")]);
            let rule = rules["spec"]["groups"][0]["rules"]
                .as_array()
                .expect("rules")
                .iter()
                .find(|r| r["alert"] == "FilestoreBackupTooOld")
                .unwrap_or_else(|| panic!("{base}: no FilestoreBackupTooOld"));
            let expr = rule["expr"].as_str().expect("expr");
            assert!(
                expr.contains("kube_cronjob_status_last_successful_time"),
                "{expr}"
            );
            assert!(expr.contains("cronjob=\"filestore-backup\""), "{expr}");
        }
    }
    assert!(
        seen >= 15,
        "only {seen} environments with a filestore backup"
    );
}

#[test]
fn filestore_prefix_is_published_for_terraform_and_the_runbook() {
    let inputs = read_inputs(&root().join("examples/manufacturing-group"), "plants");
    let built = crate::support::build_ok(&inputs);
    let ir = built.ir.expect("compiled");
    for p in &ir.plants {
        let prefix = &p.derived["database"]["filestore_prefix"];
        if p.tenancy == "shared" {
            assert!(prefix.is_null(), "{}", p.dir);
        } else if p.platform {
            let cluster = p.dir.split('/').nth(1).expect("cluster");
            assert_eq!(prefix, &json!(format!("filestore/platform/{cluster}/")));
        } else {
            assert_eq!(prefix, &json!(format!("filestore/{}/{}/", p.name, p.env)));
        }
    }
}

//! Domain facts of DESIGN §4.5 visible in the `odoo` outputs of the example fleets: the
//! `odoo.conf` ConfigMap, the web and cron Deployments, the Service, the filestore volume, the
//! PodDisruptionBudget, the HorizontalPodAutoscaler and the upgrade Job.

use crate::support::yaml;
use crate::support::{EXAMPLES, each_example_plant, example, root};
use blueprint_compiler::Input;
use blueprint_compiler::lower::PlantCtx;
use serde_json::Value;
use std::collections::BTreeMap;

/// `odoo.conf` read back by the verifier's INI reader, as Odoo's configparser reads it: one
/// `[options]` section, each key once.
fn read_odoo_conf(text: &str) -> BTreeMap<String, String> {
    let ini = blueprint_verify::ini::read(text, blueprint_verify::ini::Flavor::Odoo)
        .unwrap_or_else(|problems| panic!("odoo.conf does not read back: {problems:?}"));
    assert_eq!(
        ini.keys().collect::<Vec<_>>(),
        ["options"],
        "odoo.conf has one section"
    );
    ini["options"]
        .iter()
        .map(|(k, v)| (k.clone(), v.join("")))
        .collect()
}

/// Rendered files as text, by output path.
type Files = BTreeMap<String, String>;

/// The plant contexts and the rendered files of a build.
type Built = (Vec<PlantCtx>, Files);

/// Builds inputs in memory (nothing is written); panics with the findings on failure.
fn built(inputs: &[Input]) -> Built {
    let built = crate::support::build_ok(inputs);
    let files = built
        .files
        .into_iter()
        .map(|(p, b)| (p, String::from_utf8(b).expect("UTF-8 output")))
        .collect();
    (built.ir.expect("compiled").plants, files)
}

/// Calls `f` with the example's name, the plant environment and the example's files for every
/// plant environment of the example fleets that `keep` selects; returns how many, and fails
/// when there is none.
fn each_plant(
    keep: impl Fn(&PlantCtx) -> bool,
    mut f: impl FnMut(&str, &PlantCtx, &Files),
) -> usize {
    each_example_plant(keep, |e, p| f(e.name, p, &e.files))
}

/// [`each_plant`] over the plant environments that run their own Odoo and the shared platforms
/// (the Odoo of a cluster's `shared` tenants).
fn each_own_odoo(f: impl FnMut(&str, &PlantCtx, &Files)) -> usize {
    each_plant(|p| p.tenancy != "shared", f)
}

/// [`each_plant`] over the `shared` tenants.
fn each_shared_tenant(f: impl FnMut(&str, &PlantCtx, &Files)) -> usize {
    each_plant(|p| p.tenancy == "shared", f)
}

/// `plants/<plant>/<env>/kubernetes/`, or `clusters/<cluster>/platform/kubernetes/` for a
/// cluster's shared Odoo platform.
fn kubernetes_dir(p: &PlantCtx) -> String {
    format!("{}/kubernetes/", p.dir)
}

/// A plant environment's file, parsed, if it exists.
fn object(files: &BTreeMap<String, String>, p: &PlantCtx, file: &str) -> Option<Value> {
    let path = format!("{}{file}", kubernetes_dir(p));
    files.get(&path).map(|t| yaml(&path, t))
}

/// The `odoo.conf` a plant environment renders, read back.
fn rendered_conf(files: &BTreeMap<String, String>, p: &PlantCtx) -> BTreeMap<String, String> {
    let cm = object(files, p, &format!("configmap-{}.yaml", p.names.config))
        .unwrap_or_else(|| panic!("{}/{} has no odoo.conf ConfigMap", p.name, p.env));
    read_odoo_conf(cm["data"]["odoo.conf"].as_str().expect("odoo.conf is text"))
}

/// The containers of a Deployment or Job, with where they are.
fn containers(obj: &Value) -> Vec<&Value> {
    let spec = &obj["spec"]["template"]["spec"];
    ["initContainers", "containers"]
        .iter()
        .filter_map(|k| spec[k].as_array())
        .flatten()
        .collect()
}

/// The plant file of the quickstart with some lines replaced, and the embedded default fleet
/// with `extra` appended.
fn quickstart_variant(replace: &[(&str, &str)], fleet_extra: &str) -> Vec<Input> {
    let mut plant = std::fs::read_to_string(root().join("examples/quickstart/plants/lyon.yaml"))
        .expect("quickstart plant");
    for (from, to) in replace {
        assert!(plant.contains(from), "{from}");
        plant = plant.replace(from, to);
    }
    let fleet = std::fs::read_to_string(
        root().join("crates/blueprint-compiler/embedded/default-fleet.toml"),
    )
    .expect("default fleet");
    vec![
        Input {
            path: "plants/fleet.toml".into(),
            bytes: format!("{fleet}\n{fleet_extra}").into_bytes(),
            is_fleet: true,
        },
        Input {
            path: "plants/lyon.yaml".into(),
            bytes: plant.into_bytes(),
            is_fleet: false,
        },
    ]
}

#[test]
fn every_odoo_conf_reads_back_to_the_keys_it_was_rendered_from() {
    each_own_odoo(|name, p, files| {
        let intended: BTreeMap<String, String> =
            serde_json::from_value(p.derived["odoo"]["conf"].clone()).expect("conf keys");
        assert_eq!(
            rendered_conf(files, p),
            intended,
            "{name} {}/{}",
            p.name,
            p.env
        );
    });
}

#[test]
fn list_db_is_off_and_proxy_mode_on_in_every_odoo_conf() {
    each_own_odoo(|_, p, files| {
        let conf = rendered_conf(files, p);
        assert_eq!(conf["list_db"], "False", "{}/{}", p.name, p.env);
        assert_eq!(conf["proxy_mode"], "True", "{}/{}", p.name, p.env);
        let workers: u32 = conf["workers"].parse().expect("a number");
        assert!(workers > 0, "prefork mode");
        assert_eq!(conf["max_cron_threads"], "0", "crons run in their own pod");
    });
}

#[test]
fn option_names_follow_the_odoo_version() {
    let mut majors = std::collections::BTreeSet::new();
    each_own_odoo(|_, p, files| {
        let conf = rendered_conf(files, p);
        let at = format!("{}/{} (Odoo {})", p.name, p.env, p.odoo.version);
        majors.insert(p.odoo.major);
        assert!(!conf.contains_key("longpolling_port"), "{at}");
        assert_eq!(conf["gevent_port"], "8072", "{at}");
        assert_eq!(
            conf.contains_key("db_maxconn_gevent"),
            p.odoo.major >= 17,
            "{at}"
        );
        for key in ["limit_memory_soft_gevent", "limit_memory_hard_gevent"] {
            assert_eq!(conf.contains_key(key), p.odoo.major >= 18, "{at}: {key}");
        }
        if p.platform {
            // One Odoo for every tenant: each database is named as its host.
            assert!(!conf.contains_key("db_name"), "{at}");
            assert_eq!(conf["dbfilter"], "^%h$", "{at}");
        } else {
            assert_eq!(conf["db_name"], p.names.db_name, "{at}");
            assert_eq!(conf["dbfilter"], format!("^{}$", p.names.db_name), "{at}");
        }
        let wide = conf["server_wide_modules"].split(',').collect::<Vec<_>>();
        assert_eq!(
            wide.contains(&"session_redis"),
            p.odoo.session_redis,
            "{at}"
        );
    });
    assert!(
        majors.is_superset(&[17, 18, 19].into()),
        "the examples cover 17.0, 18.0 and 19.0: {majors:?}"
    );
}

#[test]
fn no_configmap_holds_a_password() {
    let mut config_maps = 0;
    for name in EXAMPLES {
        for (path, text) in example(name)
            .files
            .iter()
            .filter(|(p, _)| p.ends_with(".yaml"))
        {
            let obj = yaml(path, text);
            if obj["kind"] != "ConfigMap" {
                continue;
            }
            config_maps += 1;
            for (key, value) in obj["data"].as_object().into_iter().flatten() {
                assert!(!key.to_lowercase().contains("passw"), "{path}: {key}");
                for line in value.as_str().unwrap_or_default().lines() {
                    let k = line.split('=').next().unwrap_or_default().to_lowercase();
                    assert!(
                        !k.contains("passw") && !k.contains("secret"),
                        "{path}: {line}"
                    );
                }
            }
        }
    }
    assert!(config_maps > 0, "the examples render odoo.conf ConfigMaps");
}

#[test]
fn no_replicas_on_a_deployment_an_hpa_scales() {
    let mut scaled = 0;
    each_own_odoo(|_, p, files| {
        let web = object(files, p, &format!("deployment-{}.yaml", p.names.web)).unwrap();
        let hpa = object(
            files,
            p,
            &format!("horizontalpodautoscaler-{}.yaml", p.names.web),
        );
        assert_eq!(hpa.is_some(), p.odoo.hpa, "{}/{}", p.name, p.env);
        if let Some(hpa) = hpa {
            scaled += 1;
            assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], p.names.web.as_str());
            assert_eq!(hpa["spec"]["minReplicas"], p.odoo.replicas);
            assert_eq!(hpa["spec"]["maxReplicas"], p.odoo.max_replicas);
            assert!(
                web["spec"].get("replicas").is_none(),
                "{}/{}: the HPA owns the replicas",
                p.name,
                p.env
            );
        } else {
            assert_eq!(web["spec"]["replicas"], p.odoo.replicas);
        }
    });
    assert!(scaled > 0);
}

#[test]
fn without_an_hpa_the_web_deployment_states_its_replicas() {
    // Standard tier (2 replicas at least) with hpaFactor 1: no HPA, replicas written, a PDB.
    let inputs = quickstart_variant(&[], "[tiers.standard]\nhpaFactor = 1\n");
    let (plants, files) = built(&inputs);
    for p in &plants {
        assert!(!p.odoo.hpa);
        assert!(p.odoo.replicas >= 2);
        let web = object(&files, p, "deployment-odoo-web.yaml").unwrap();
        assert_eq!(web["spec"]["replicas"], p.odoo.replicas);
        assert!(object(&files, p, "horizontalpodautoscaler-odoo-web.yaml").is_none());
        assert!(object(&files, p, "poddisruptionbudget-odoo-web.yaml").is_some());
    }
}

#[test]
fn pdb_only_where_the_web_deployment_keeps_two_replicas() {
    let mut with_pdb = 0;
    each_own_odoo(|_, p, files| {
        let pdb = object(
            files,
            p,
            &format!("poddisruptionbudget-{}.yaml", p.names.web),
        );
        assert_eq!(pdb.is_some(), p.odoo.replicas >= 2, "{}/{}", p.name, p.env);
        if let Some(pdb) = pdb {
            with_pdb += 1;
            assert_eq!(pdb["spec"]["maxUnavailable"], 1);
            let web = object(files, p, &format!("deployment-{}.yaml", p.names.web)).unwrap();
            assert_eq!(
                pdb["spec"]["selector"]["matchLabels"],
                web["spec"]["selector"]["matchLabels"]
            );
        }
        // The cron Deployment has one replica: never a PDB.
        assert!(
            object(
                files,
                p,
                &format!("poddisruptionbudget-{}.yaml", p.names.cron)
            )
            .is_none()
        );
    });
    assert!(with_pdb > 0);
    // Basic tier, 10 users: one replica, and with hpaFactor 1 no HPA: no PDB.
    let inputs = quickstart_variant(
        &[
            ("tier: standard", "tier: basic"),
            ("users: 60", "users: 10"),
        ],
        "[tiers.basic]\nhpaFactor = 1\n",
    );
    let (plants, files) = built(&inputs);
    for p in &plants {
        assert_eq!(p.odoo.replicas, 1);
        assert!(object(&files, p, "poddisruptionbudget-odoo-web.yaml").is_none());
        let web = object(&files, p, "deployment-odoo-web.yaml").unwrap();
        assert_eq!(web["spec"]["replicas"], 1);
    }
}

#[test]
fn every_odoo_container_has_requests_limits_and_the_restricted_security_context() {
    let mut seen = 0;
    each_plant(
        |_| true,
        |name, p, files| {
            // A shared tenant's only Odoo pod initialises its database.
            let workloads = if p.tenancy == "shared" {
                vec![format!("job-{}odoo-init.yaml", p.names.prefix)]
            } else {
                vec![
                    format!("deployment-{}.yaml", p.names.web),
                    format!("deployment-{}.yaml", p.names.cron),
                    "job-odoo-upgrade.yaml".to_string(),
                ]
            };
            for file in &workloads {
                let obj = object(files, p, file).unwrap_or_else(|| panic!("{file}"));
                let at = format!("{name} {}/{}/{file}", p.name, p.env);
                let pod = &obj["spec"]["template"]["spec"];
                let psc = &pod["securityContext"];
                assert_eq!(psc["runAsNonRoot"], true, "{at}");
                assert_eq!(psc["seccompProfile"]["type"], "RuntimeDefault", "{at}");
                assert_eq!(psc["fsGroup"], p.odoo.gid, "{at}");
                assert_eq!(pod["automountServiceAccountToken"], false, "{at}");
                for c in containers(&obj) {
                    seen += 1;
                    // A tag may move: it is pulled at every start; a digest cannot.
                    let policy = if p.odoo.image_digest.is_some() {
                        "IfNotPresent"
                    } else {
                        "Always"
                    };
                    assert_eq!(c["imagePullPolicy"], policy, "{at}");
                    for kind in ["requests", "limits"] {
                        for res in ["cpu", "memory"] {
                            assert!(c["resources"][kind][res].is_string(), "{at}: {kind}.{res}");
                        }
                    }
                    let sc = &c["securityContext"];
                    let uid = sc["runAsUser"].as_u64().expect("numeric runAsUser");
                    assert!(uid > 0, "{at}");
                    assert_eq!(uid, u64::from(p.odoo.uid), "{at}");
                    assert_eq!(sc["runAsNonRoot"], true, "{at}");
                    assert_eq!(sc["allowPrivilegeEscalation"], false, "{at}");
                    assert_eq!(sc["readOnlyRootFilesystem"], true, "{at}");
                    assert_eq!(
                        sc["capabilities"]["drop"],
                        serde_json::json!(["ALL"]),
                        "{at}"
                    );
                    assert!(sc["capabilities"].get("add").is_none(), "{at}");
                    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault", "{at}");
                    assert!(sc.get("privileged").is_none(), "{at}");
                }
                for v in pod["volumes"].as_array().expect("volumes") {
                    let kind = v
                        .as_object()
                        .unwrap()
                        .keys()
                        .find(|k| *k != "name")
                        .unwrap();
                    assert!(
                        ["configMap", "emptyDir", "persistentVolumeClaim", "secret"]
                            .contains(&kind.as_str()),
                        "{at}: volume type {kind}"
                    );
                }
            }
        },
    );
    assert!(seen > 0);
}

#[test]
fn websocket_port_8072_only_when_workers_are_prefork() {
    each_own_odoo(|_, p, files| {
        let workers: u32 = rendered_conf(files, p)["workers"].parse().unwrap();
        let svc = object(files, p, &format!("service-{}.yaml", p.names.service)).unwrap();
        let ports: Vec<(String, u64)> = svc["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["name"].as_str().unwrap().to_string(),
                    x["port"].as_u64().unwrap(),
                )
            })
            .collect();
        assert!(ports.contains(&("http".into(), 8069)));
        assert_eq!(
            ports.contains(&("websocket".into(), 8072)),
            workers > 0,
            "{}/{}",
            p.name,
            p.env
        );
        let web = object(files, p, &format!("deployment-{}.yaml", p.names.web)).unwrap();
        let container_ports: Vec<u64> = containers(&web)[0]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["containerPort"].as_u64().unwrap())
            .collect();
        assert_eq!(container_ports.contains(&8072), workers > 0);
        assert_eq!(
            svc["spec"]["selector"]["app.kubernetes.io/component"], "web",
            "the Service reaches the web pods only"
        );
    });
}

#[test]
fn cron_pod_runs_crons_only_one_at_a_time() {
    each_own_odoo(|_, p, files| {
        let cron = object(files, p, &format!("deployment-{}.yaml", p.names.cron)).unwrap();
        assert_eq!(cron["spec"]["replicas"], 1);
        assert_eq!(cron["spec"]["strategy"]["type"], "Recreate");
        let c = containers(&cron)[0];
        let args: Vec<&str> = c["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert!(args.contains(&"--no-http"), "{args:?}");
        let threads = p.odoo.cron_threads.to_string();
        assert!(
            args.windows(2)
                .any(|w| w == ["--max-cron-threads", threads.as_str()]),
            "{args:?}"
        );
        assert!(c.get("ports").is_none());
        assert_eq!(
            cron["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"],
            "cron"
        );
    });
}

#[test]
fn database_password_comes_from_its_secret_through_password_file() {
    each_own_odoo(|_, p, files| {
        for file in [
            format!("deployment-{}.yaml", p.names.web),
            format!("deployment-{}.yaml", p.names.cron),
            "job-odoo-upgrade.yaml".to_string(),
        ] {
            let obj = object(files, p, &file).unwrap();
            let pod = &obj["spec"]["template"]["spec"];
            let c = containers(&obj)[0];
            let env = c["env"].as_array().unwrap();
            let file_path = env
                .iter()
                .find(|e| e["name"] == "PASSWORD_FILE")
                .and_then(|e| e["value"].as_str())
                .expect("PASSWORD_FILE");
            let secret = pod["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["secret"]["secretName"] == p.names.db_secret.as_str())
                .expect("the database Secret is mounted");
            assert_eq!(secret["secret"]["items"][0]["key"], "password");
            let mount = c["volumeMounts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["name"] == secret["name"])
                .expect("mounted");
            assert_eq!(
                format!("{}/password", mount["mountPath"].as_str().unwrap()),
                file_path
            );
            assert!(
                env.iter()
                    .all(|e| e["name"] != "PASSWORD" && e["name"] != "PGPASSWORD"),
                "no password value in the environment"
            );
            let redis = env.iter().any(|e| e["name"] == "ODOO_SESSION_REDIS");
            assert_eq!(
                redis,
                p.odoo.session_redis && file.contains(&p.names.web),
                "{file}"
            );
        }
    });
}

#[test]
fn upgrade_job_is_a_sync_hook_named_after_the_image() {
    each_own_odoo(|_, p, files| {
        let job = object(files, p, "job-odoo-upgrade.yaml").unwrap();
        let job_name = job["metadata"]["name"].as_str().unwrap();
        let suffix = job_name.strip_prefix("odoo-upgrade-").expect(job_name);
        assert_eq!(suffix.len(), 12);
        assert!(suffix.bytes().all(|b| b.is_ascii_hexdigit()));
        if let Some(digest) = &p.odoo.image_digest {
            assert_eq!(&digest["sha256:".len().."sha256:".len() + 12], suffix);
        }
        let a = &job["metadata"]["annotations"];
        assert_eq!(a["argocd.argoproj.io/hook"], "Sync");
        assert_eq!(
            a["argocd.argoproj.io/hook-delete-policy"],
            "BeforeHookCreation"
        );
        let wave: i64 = a["argocd.argoproj.io/sync-wave"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let web = object(files, p, &format!("deployment-{}.yaml", p.names.web)).unwrap();
        let web_wave: i64 = web["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            wave < web_wave,
            "the database is upgraded before Odoo rolls"
        );
        let c = containers(&job)[0];
        assert_eq!(c["image"], p.odoo.image.as_str());
        let args: Vec<&str> = c["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        // The script decides per database what to install and what to upgrade: the
        // arguments name no module.
        assert!(
            !args.contains(&"--init") && !args.contains(&"--update"),
            "{args:?}"
        );
        let env = c["env"].as_array().unwrap();
        let value = |name: &str| {
            env.iter()
                .find(|e| e["name"] == name)
                .map(|e| e["value"].as_str().unwrap())
        };
        let mut sorted = p.odoo.modules.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(value("BLUEPRINT_MODULES"), Some(sorted.join(",").as_str()));
        // A shared platform upgrades its tenants' modules; it installs none.
        assert_eq!(
            value("BLUEPRINT_INSTALL"),
            Some(if p.platform { "false" } else { "true" })
        );
        // Per database: --init only for the modules not installed, --update for the others.
        let script = c["command"][2].as_str().unwrap();
        assert!(
            script.contains("SELECT name FROM ir_module_module WHERE state = 'installed'"),
            "{script}"
        );
        assert!(script.contains(r#"${init:+--init "$init"} ${update:+--update "$update"}"#));
        // A failed upgrade is not run again blindly.
        assert_eq!(job["spec"]["backoffLimit"], 0);
        let databases = env
            .iter()
            .find(|e| e["name"] == "BLUEPRINT_DATABASES")
            .map(|e| e["value"].as_str().unwrap());
        if p.platform {
            assert_eq!(databases, None, "every database the Odoo role owns");
        } else {
            assert_eq!(databases, Some(p.names.db_name.as_str()));
        }
        assert!(args.contains(&"--stop-after-init"));
        assert_eq!(args.contains(&"--without-demo"), p.odoo.major <= 18);
        assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");
    });
}

#[test]
fn reordering_modules_does_not_rerun_the_upgrade() {
    let record = |files: &BTreeMap<String, String>| {
        let path = "plants/lyon/prod/kubernetes/job-odoo-upgrade.yaml";
        let job = yaml(path, &files[path]);
        let c = containers(&job)[0].clone();
        c["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "BLUEPRINT_UPGRADE")
            .map(|e| e["value"].as_str().unwrap().to_string())
            .unwrap()
    };
    let original = built(&quickstart_variant(&[], ""));
    let reordered = built(&quickstart_variant(
        &[(
            "    - sale_management\n    - purchase\n    - stock\n    - mrp",
            "    - mrp\n    - stock\n    - purchase\n    - sale_management",
        )],
        "",
    ));
    assert_eq!(record(&original.1), record(&reordered.1));
    let record = record(&original.1);
    let modules: Vec<&str> = record.rsplit(' ').next().unwrap().split(',').collect();
    let mut sorted = modules.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(modules, sorted, "{record}");
}

#[test]
fn shared_tenants_databases_are_initialised_with_their_modules_by_the_platform_image() {
    let seen = each_example_plant(
        |p| p.tenancy == "shared",
        |e, p| {
            let files = &e.files;
            let file = format!("job-{}odoo-init.yaml", p.names.prefix);
            let job = object(files, p, &file).unwrap_or_else(|| panic!("{}: {file}", p.dir));
            assert_eq!(job["metadata"]["namespace"], "odoo-shared");
            // After the PreSync Job that creates the database.
            let a = &job["metadata"]["annotations"];
            assert_eq!(a["argocd.argoproj.io/hook"], "Sync");
            let create = object(
                files,
                p,
                &format!("job-{}create-database.yaml", p.names.prefix),
            )
            .unwrap();
            assert_eq!(
                create["metadata"]["annotations"]["argocd.argoproj.io/hook"],
                "PreSync"
            );
            // The platform's image, ConfigMap, volume and Secret.
            let platform =
                e.ir.plants
                    .iter()
                    .find(|q| q.platform && Some(&q.name) == p.cluster.as_ref())
                    .expect("the tenant's platform");
            let pod = &job["spec"]["template"]["spec"];
            let c = containers(&job)[0];
            assert_eq!(c["image"], platform.odoo.image.as_str());
            let vols = pod["volumes"].as_array().unwrap();
            assert!(
                vols.iter()
                    .any(|v| v["configMap"]["name"] == platform.names.config.as_str())
            );
            assert!(vols.iter().any(|v| {
                v["persistentVolumeClaim"]["claimName"] == platform.names.filestore.as_str()
            }));
            assert!(
                vols.iter()
                    .any(|v| v["secret"]["secretName"] == "postgres-pguser-odoo")
            );
            // Labelled as the platform's upgrade Job, so its NetworkPolicies admit it.
            let labels = &job["spec"]["template"]["metadata"]["labels"];
            assert_eq!(labels["app.kubernetes.io/name"], "odoo");
            assert_eq!(labels["app.kubernetes.io/component"], "upgrade");
            // The tenant's own modules, installed only where missing; never --update.
            let env = c["env"].as_array().unwrap();
            let value = |name: &str| {
                env.iter()
                    .find(|e| e["name"] == name)
                    .map(|e| e["value"].as_str().unwrap())
            };
            let mut sorted = p.odoo.modules.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(value("BLUEPRINT_MODULES"), Some(sorted.join(",").as_str()));
            assert_eq!(value("PGDATABASE"), Some(p.host.as_str()));
            let script = c["command"][2].as_str().unwrap();
            assert!(script.contains("to_regclass('public.ir_module_module')"));
            assert!(script.contains(r#"--init "$init" --database "$PGDATABASE""#));
            assert!(!script.contains("--update"));
            let args: Vec<&str> = c["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            for a in ["--stop-after-init", "--no-http", "--workers"] {
                assert!(args.contains(&a), "{args:?}");
            }
            assert_eq!(args.contains(&"--without-demo"), p.odoo.major <= 18);
        },
    );
    assert!(seen >= 4, "only {seen} shared tenants");
}

#[test]
fn filestore_is_shared_retained_and_never_pruned() {
    each_own_odoo(|_, p, files| {
        let pvc = object(
            files,
            p,
            &format!("persistentvolumeclaim-{}.yaml", p.names.filestore),
        )
        .unwrap();
        let a = &pvc["metadata"]["annotations"];
        assert_eq!(
            a["argocd.argoproj.io/sync-options"],
            "Prune=false,Delete=false"
        );
        assert_eq!(pvc["spec"]["storageClassName"], "blueprint-retain-rwx");
        assert_eq!(
            pvc["spec"]["accessModes"],
            serde_json::json!(["ReadWriteMany"])
        );
        assert_eq!(
            pvc["spec"]["resources"]["requests"]["storage"],
            p.database.filestore.as_str()
        );
        for file in [
            format!("deployment-{}.yaml", p.names.web),
            format!("deployment-{}.yaml", p.names.cron),
            "job-odoo-upgrade.yaml".to_string(),
        ] {
            let obj = object(files, p, &file).unwrap();
            let vols = obj["spec"]["template"]["spec"]["volumes"]
                .as_array()
                .unwrap();
            assert!(vols.iter().any(|v| {
                v["persistentVolumeClaim"]["claimName"] == p.names.filestore.as_str()
            }));
            assert!(
                vols.iter()
                    .any(|v| v["configMap"]["name"] == p.names.config.as_str())
            );
        }
    });
}

#[test]
fn shared_tenants_get_no_odoo_workloads_of_their_own() {
    let shared = each_shared_tenant(|_, p, files| {
        let dir = format!("plants/{}/{}/", p.name, p.env);
        assert!(
            !files.keys().any(|f| f.starts_with(&dir)
                && (f.contains("/deployment-")
                    || f.contains("/configmap-")
                    || f.contains("odoo-upgrade"))),
            "{dir}"
        );
    });
    assert!(shared > 0);
    // Their Odoo is the cluster's shared platform, rendered by the same templates.
    let e = example("manufacturing-group");
    let platforms: Vec<&PlantCtx> = e.ir.plants.iter().filter(|p| p.platform).collect();
    assert!(!platforms.is_empty());
    for p in platforms {
        assert!(p.dir.starts_with("clusters/"), "{}", p.dir);
        assert!(object(&e.files, p, &format!("deployment-{}.yaml", p.names.web)).is_some());
    }
}

#[test]
fn selectors_match_the_labels_of_the_pods_they_select() {
    let subset = |sel: &Value, labels: &Value, at: &str| {
        let sel = sel.as_object().expect("a selector");
        assert!(sel.len() >= 4, "{at}: {sel:?}");
        for (k, v) in sel {
            assert_eq!(&labels[k], v, "{at}: {k}");
        }
    };
    each_own_odoo(|_, p, files| {
        let web = object(files, p, &format!("deployment-{}.yaml", p.names.web)).unwrap();
        let web_pods = &web["spec"]["template"]["metadata"]["labels"];
        for (file, deployment) in [
            (format!("deployment-{}.yaml", p.names.web), web.clone()),
            (
                format!("deployment-{}.yaml", p.names.cron),
                object(files, p, &format!("deployment-{}.yaml", p.names.cron)).unwrap(),
            ),
        ] {
            let spec = &deployment["spec"];
            let pods = &spec["template"]["metadata"]["labels"];
            subset(&spec["selector"]["matchLabels"], pods, &file);
            for c in spec["template"]["spec"]["topologySpreadConstraints"]
                .as_array()
                .into_iter()
                .flatten()
            {
                subset(&c["labelSelector"]["matchLabels"], pods, &file);
            }
        }
        let svc = object(files, p, &format!("service-{}.yaml", p.names.service)).unwrap();
        subset(&svc["spec"]["selector"], web_pods, "service");
        if let Some(pdb) = object(
            files,
            p,
            &format!("poddisruptionbudget-{}.yaml", p.names.web),
        ) {
            subset(&pdb["spec"]["selector"]["matchLabels"], web_pods, "pdb");
        }
    });
}

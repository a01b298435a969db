//! Domain facts of DESIGN §4.5 visible in the `kubernetes` outputs of the example fleets: the
//! namespace's guard rails (Pod Security, prune protection, quota and limits, network policies,
//! RBAC, secret references).

use crate::support::yaml;
use crate::support::{EXAMPLES, Example, each_example_plant, example};
use blueprint_cli::build::{Options, render_and_verify};
use blueprint_compiler::lower::{Ir, PlantCtx};
use blueprint_compiler::units::{cpu_millis, quantity};
use serde_json::Value;
use std::collections::BTreeMap;

fn text(files: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, String> {
    files
        .into_iter()
        .map(|(p, b)| (p, String::from_utf8(b).expect("UTF-8 output")))
        .collect()
}

/// The plant environments that own a namespace (every tenancy but `shared`), and the shared
/// Odoo platforms (namespace `odoo-shared`).
fn own_namespace(ir: &Ir) -> impl Iterator<Item = &PlantCtx> {
    ir.plants.iter().filter(|p| p.tenancy != "shared")
}

/// Calls `f` with the example and the plant environment, for every plant environment of the
/// example fleets that owns a namespace and every shared platform; returns how many, and fails
/// when there is none.
fn each_own_namespace(mut f: impl FnMut(&str, &PlantCtx, &BTreeMap<String, String>)) -> usize {
    each_example_plant(|p| p.tenancy != "shared", |e, p| f(e.name, p, &e.files))
}

fn dir(p: &PlantCtx) -> String {
    format!("{}/kubernetes/", p.dir)
}

/// The file of a plant environment's `kubernetes/`, parsed.
fn object(files: &BTreeMap<String, String>, p: &PlantCtx, file: &str) -> Value {
    let path = format!("{}{file}", dir(p));
    let text = files
        .get(&path)
        .unwrap_or_else(|| panic!("{path} is not rendered"));
    yaml(&path, text)
}

/// Every object of a kind in a plant environment's `kubernetes/`, by path.
fn of_kind(files: &BTreeMap<String, String>, p: &PlantCtx, kind: &str) -> Vec<(String, Value)> {
    files
        .iter()
        .filter(|(path, _)| path.starts_with(&dir(p)) && path.ends_with(".yaml"))
        .map(|(path, text)| (path.clone(), yaml(path, text)))
        .filter(|(_, v)| v["kind"] == kind)
        .collect()
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn ports(rule: &Value) -> Vec<u64> {
    rule["ports"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["port"].as_u64()).collect())
        .unwrap_or_default()
}

fn bytes(v: &Value) -> u64 {
    quantity(v.as_str().expect("a quantity")).expect("a valid quantity")
}

fn millis(v: &Value) -> u64 {
    cpu_millis(v.as_str().expect("a CPU quantity")).expect("a valid CPU quantity")
}

#[test]
fn every_plant_namespace_enforces_restricted_pod_security_and_is_never_pruned() {
    let namespaces = each_own_namespace(|name, p, files| {
        let ns = object(files, p, "namespace.yaml");
        let labels = &ns["metadata"]["labels"];
        for mode in ["enforce", "audit", "warn"] {
            assert_eq!(
                labels[format!("pod-security.kubernetes.io/{mode}")],
                "restricted",
                "{name} {}/{}",
                p.name,
                p.env
            );
            assert!(
                labels[format!("pod-security.kubernetes.io/{mode}-version")].is_string(),
                "{mode}-version pinned"
            );
        }
        // Cost labels: the owner team and, when the plant names one, the cost center.
        assert_eq!(labels["blueprint.dev/team"], p.team.as_str());
        if let Some(cc) = &p.cost_center {
            assert_eq!(labels["blueprint.dev/cost-center"], cc.as_str());
        }
        let options = ns["metadata"]["annotations"]["argocd.argoproj.io/sync-options"]
            .as_str()
            .expect("sync options on the Namespace");
        let options: Vec<&str> = options.split(',').collect();
        assert!(
            options.contains(&"Prune=false") && options.contains(&"Delete=false"),
            "{options:?}"
        );
    });
    // Shared tenants live in the platform's namespace: they render no Namespace.
    each_example_plant(
        |p| p.tenancy == "shared",
        |e, p| assert!(!e.files.contains_key(&format!("{}namespace.yaml", dir(p)))),
    );
    assert!(namespaces >= 10, "the examples own {namespaces} namespaces");
}

#[test]
fn every_plant_namespace_denies_all_traffic_by_default() {
    each_own_namespace(|_, p, files| {
        let deny = object(files, p, "networkpolicy-default-deny.yaml");
        assert_eq!(deny["metadata"]["namespace"], p.names.namespace.as_str());
        let spec = &deny["spec"];
        assert_eq!(spec["podSelector"], serde_json::json!({}));
        assert_eq!(strings(&spec["policyTypes"]), ["Ingress", "Egress"]);
        assert!(spec.get("ingress").is_none() && spec.get("egress").is_none());
        // DNS is the one thing every pod may do.
        let dns = object(files, p, "networkpolicy-allow-dns.yaml");
        let rule = &dns["spec"]["egress"][0];
        assert_eq!(ports(rule), [53, 53]);
        assert_eq!(
            rule["to"][0]["podSelector"]["matchLabels"]["k8s-app"],
            "kube-dns"
        );
        // Every policy of the plant stays in its namespace.
        for (path, np) in of_kind(files, p, "NetworkPolicy") {
            assert_eq!(
                np["metadata"]["namespace"],
                p.names.namespace.as_str(),
                "{path}"
            );
        }
    });
}

/// Whether a pod selector can select an Odoo pod (`app.kubernetes.io/name: odoo`, component
/// `web` or `cron`).
fn selects_odoo(selector: &Value) -> bool {
    if selector.get("matchExpressions").is_some() {
        return false;
    }
    selector["matchLabels"].as_object().is_none_or(|labels| {
        labels.iter().all(|(k, v)| match k.as_str() {
            "app.kubernetes.io/name" => v == "odoo",
            "app.kubernetes.io/component" => v == "web" || v == "cron",
            _ => false,
        })
    })
}

#[test]
fn odoo_accepts_connections_only_from_traefik() {
    each_own_namespace(|_, p, files| {
        let mut traefik_rules = 0;
        for (path, np) in of_kind(files, p, "NetworkPolicy") {
            if !selects_odoo(&np["spec"]["podSelector"]) {
                continue;
            }
            for rule in np["spec"]["ingress"].as_array().into_iter().flatten() {
                let from = rule["from"].as_array().expect("every rule names its peers");
                assert!(!from.is_empty(), "{path}: a rule open to every source");
                for peer in from {
                    // Odoo listens on 8069 and 8072 only: an sftp, mqtt or amqp peer has
                    // nothing to connect to, so no integration opens Odoo's pods.
                    assert!(peer.get("ipBlock").is_none(), "{path}: {peer}");
                    assert_eq!(
                        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
                        "traefik",
                        "{path}"
                    );
                    assert_eq!(
                        peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"], "traefik",
                        "{path}"
                    );
                    assert!(ports(rule).iter().all(|port| [8069, 8072].contains(port)));
                    traefik_rules += 1;
                }
            }
        }
        assert_eq!(traefik_rules, 1, "{}/{}", p.name, p.env);
    });
}

fn traefik_ports(files: &BTreeMap<String, String>, p: &PlantCtx) -> Vec<u64> {
    let np = object(files, p, "networkpolicy-odoo-from-traefik.yaml");
    ports(&np["spec"]["ingress"][0])
}

#[test]
fn websocket_port_8072_is_open_only_with_workers() {
    for name in EXAMPLES {
        let e = example(name);
        let (mut ir, files) = (e.ir.clone(), &e.files);
        for p in own_namespace(&ir) {
            let expected: &[u64] = if p.odoo.workers > 0 {
                &[8069, 8072]
            } else {
                &[8069]
            };
            assert_eq!(traefik_ports(files, p), expected);
        }
        // Threaded mode (no workers) has no gevent port: the rule follows the plant. Only
        // the Traefik policies are rendered again (other files judge workers against values
        // lowered before the change).
        for p in &mut ir.plants {
            p.odoo.workers = 0;
        }
        ir.outputs
            .retain(|o| o.path.ends_with("/networkpolicy-odoo-from-traefik.yaml"));
        let threaded = render_and_verify(&ir, &Options::default());
        assert!(threaded.findings.is_empty(), "{:?}", threaded.findings);
        let threaded = text(threaded.files);
        for p in own_namespace(&ir) {
            assert_eq!(traefik_ports(&threaded, p), [8069]);
        }
    }
}

#[test]
fn no_output_holds_a_secret_value_only_secret_store_references() {
    let mut external_secrets = 0;
    for name in EXAMPLES {
        let Example { ir, files, .. } = example(name);
        for (path, text) in files {
            if path.ends_with(".yaml") || path.ends_with(".yml") {
                assert!(
                    !text.lines().any(|l| l == "kind: Secret"),
                    "{path} is a Secret: secret values never pass through blueprint"
                );
            }
        }
        for p in own_namespace(ir) {
            let prefix = if p.platform {
                format!("{}/{}/platform/", ir.fleet.org, p.name)
            } else {
                format!("{}/{}/{}/", ir.fleet.org, p.name, p.env)
            };
            for (path, es) in of_kind(files, p, "ExternalSecret") {
                external_secrets += 1;
                assert_eq!(es["apiVersion"], "external-secrets.io/v1", "{path}");
                let spec = &es["spec"];
                assert_eq!(spec["secretStoreRef"]["kind"], "ClusterSecretStore");
                assert_eq!(spec["secretStoreRef"]["name"], "aws-secrets-manager");
                if p.database.managed && es["metadata"]["name"] == p.names.db_secret.as_str() {
                    // The RDS master secret is found by its tag (next test), never named.
                    assert!(spec.get("data").is_none(), "{path}");
                    continue;
                }
                assert!(spec.get("dataFrom").is_none(), "{path}");
                let data = spec["data"].as_array().expect("data");
                assert!(!data.is_empty(), "{path}");
                let mut keys = Vec::new();
                for d in data {
                    let remote = d["remoteRef"].as_object().expect("remoteRef");
                    assert!(
                        remote.keys().all(|k| k == "key" || k == "property"),
                        "{path}: {remote:?}"
                    );
                    let key = remote["key"].as_str().expect("key");
                    assert!(key.starts_with(&prefix), "{path}: {key}");
                    keys.push(d["secretKey"].as_str().expect("secretKey"));
                }
                // A template only arranges fetched values: every `=` of a conf line is followed
                // by a placeholder of a fetched key, never by a value.
                if let Some(tpl) = spec["target"]["template"]["data"].as_object() {
                    for body in tpl.values() {
                        let body = body.as_str().expect("template text");
                        for line in body.lines().filter(|l| l.contains('=')) {
                            let (_, value) = line.split_once('=').expect("a conf line");
                            let var = value
                                .strip_prefix("{{ .")
                                .and_then(|v| v.strip_suffix(" }}"))
                                .unwrap_or_else(|| panic!("{path}: {line:?} holds a value"));
                            assert!(keys.contains(&var), "{path}: {var} is not fetched");
                        }
                    }
                }
            }
        }
    }
    assert!(external_secrets > 0);
}

#[test]
fn pgbackrest_cipher_passphrases_cover_every_repository() {
    each_example_plant(
        |p| p.tenancy != "shared" && !p.database.managed,
        |e, p| {
            let es = object(&e.files, p, "externalsecret-pgbackrest-secrets.yaml");
            assert_eq!(es["spec"]["target"]["name"], "pgbackrest-secrets");
            let conf = es["spec"]["target"]["template"]["data"]["repo-cipher.conf"]
                .as_str()
                .expect("repo-cipher.conf");
            assert!(conf.starts_with("[global]\n"), "{conf}");
            for r in &p.backup.repos {
                assert!(
                    conf.contains(&format!("\n{0}-cipher-pass={{{{ .{0} }}}}\n", r.name)),
                    "{conf}"
                );
            }
        },
    );
    each_example_plant(
        |p| p.tenancy != "shared" && p.database.managed,
        |e, p| {
            let path = format!("{}externalsecret-pgbackrest-secrets.yaml", dir(p));
            assert!(!e.files.contains_key(&path), "{path}");
        },
    );
}

#[test]
fn rds_credentials_come_from_the_secret_rds_tags_with_the_instance_arn() {
    let mut managed = 0;
    for name in EXAMPLES {
        let Example { ir, files, .. } = example(name);
        for p in own_namespace(ir).filter(|p| p.database.managed) {
            managed += 1;
            let path = format!("{}externalsecret-{}.yaml", dir(p), p.names.db_secret);
            let es = object(
                files,
                p,
                &format!("externalsecret-{}.yaml", p.names.db_secret),
            );
            let spec = &es["spec"];
            assert_eq!(spec["refreshInterval"], "1h", "{path}");
            // The instance the ARN names is the one Terraform creates.
            let tf = format!("terraform/plants/{}/{}/main.tf", p.name, p.env);
            let main = files
                .get(&tf)
                .unwrap_or_else(|| panic!("{tf} is not rendered"));
            let identifier = main
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once('=')?;
                    (k.trim() == "identifier").then(|| v.trim().trim_matches('"').to_string())
                })
                .unwrap_or_else(|| panic!("{tf}: no identifier"));
            let arn = format!(
                "arn:aws:rds:{}:{}:db:{identifier}",
                p.cloud_region, ir.fleet.account_id
            );
            let from = spec["dataFrom"].as_array().expect("dataFrom");
            assert_eq!(from.len(), 1, "{path}");
            assert_eq!(
                from[0]["find"],
                serde_json::json!({ "tags": { "aws:rds:primaryDBInstanceArn": arn } }),
                "{path}"
            );
            let rewrite = &from[0]["rewrite"][0]["regexp"];
            assert_eq!(rewrite["source"], "^.*$", "{path}");
            let key = rewrite["target"].as_str().expect("rewrite target");
            // The Secret holds exactly the keys Odoo and operators read, taken from the found
            // secret's JSON.
            let tpl = &spec["target"]["template"];
            assert_eq!(tpl["engineVersion"], "v2", "{path}");
            assert_eq!(tpl["mergePolicy"], "Replace", "{path}");
            let data = tpl["data"].as_object().expect("template data");
            let mut keys: Vec<&str> = data.keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(keys, ["password", "username"], "{path}");
            for (k, v) in data {
                assert_eq!(
                    v.as_str().expect("template text"),
                    format!("{{{{ (index . \"{key}\" | fromJson).{k} }}}}"),
                    "{path}"
                );
            }
        }
    }
    assert!(managed > 0, "an example has an RDS plant");
}

#[test]
fn rbac_binds_the_fleet_groups_and_the_owner_team() {
    each_example_plant(
        |p| p.tenancy != "shared",
        |e, p| {
            let files = &e.files;
            for role in ["admin", "operate", "view"] {
                let binding = object(files, p, &format!("rolebinding-plant-{role}.yaml"));
                let bound = object(files, p, &format!("role-plant-{role}.yaml"));
                assert_eq!(binding["roleRef"]["kind"], "Role");
                assert_eq!(binding["roleRef"]["name"], bound["metadata"]["name"]);
                let subjects = binding["subjects"].as_array().expect("subjects");
                for s in subjects {
                    assert_eq!(s["kind"], "Group");
                    assert_eq!(s["apiGroup"], "rbac.authorization.k8s.io");
                }
                let names: Vec<&str> = subjects.iter().filter_map(|s| s["name"].as_str()).collect();
                let mut expected: Vec<&str> =
                    e.ir.fleet
                        .groups
                        .get(role)
                        .map(String::as_str)
                        .into_iter()
                        .collect();
                if role == "operate" && !expected.contains(&p.team.as_str()) {
                    expected.push(&p.team);
                }
                assert_eq!(names, expected, "{}/{} {role}", p.name, p.env);
            }
            // Neither `view` nor `operate` reads Secrets or execs into pods.
            for role in ["view", "operate"] {
                let r = object(files, p, &format!("role-plant-{role}.yaml"));
                for rule in r["rules"].as_array().expect("rules") {
                    let resources = strings(&rule["resources"]);
                    assert!(!resources.contains(&"secrets"), "{role}");
                    assert!(!resources.contains(&"pods/exec"), "{role}");
                    assert!(!resources.contains(&"*"), "{role}");
                }
            }
            let sa = object(
                files,
                p,
                &format!("serviceaccount-{}.yaml", p.names.odoo_sa),
            );
            assert_eq!(sa["automountServiceAccountToken"], false);
        },
    );
}

#[test]
fn quota_covers_the_web_pods_at_the_hpa_maximum_and_every_claimed_volume() {
    each_own_namespace(|_, p, files| {
        let q = object(files, p, "resourcequota-plant-quota.yaml");
        let hard = &q["spec"]["hard"];
        let max = u64::from(p.odoo.max_replicas);
        let web = max + max.div_ceil(4);
        let pod_cpu = cpu_millis(&p.odoo.cpu_limit).expect("cpu");
        let pod_mem = quantity(&p.odoo.memory_limit).expect("memory");
        assert!(millis(&hard["limits.cpu"]) >= web * pod_cpu, "{}", p.name);
        assert!(bytes(&hard["limits.memory"]) >= web * pod_mem, "{}", p.name);
        assert!(millis(&hard["requests.cpu"]) <= millis(&hard["limits.cpu"]));
        let pods: u64 = hard["pods"].as_str().expect("pods").parse().expect("count");
        let db_pods = if p.database.managed {
            0
        } else {
            u64::from(p.database.instances)
        };
        assert!(pods >= web + 1 + db_pods, "{}: {pods} pods", p.name);
        // The same from the rendered objects: the Deployment each HPA scales, at the HPA's
        // maximum plus the 25 % rollout surge, with its containers' limits.
        let deployments = of_kind(files, p, "Deployment");
        for (path, hpa) in of_kind(files, p, "HorizontalPodAutoscaler") {
            let target = &hpa["spec"]["scaleTargetRef"]["name"];
            let (_, dep) = deployments
                .iter()
                .find(|(_, d)| &d["metadata"]["name"] == target)
                .unwrap_or_else(|| panic!("{path}: no Deployment {target}"));
            let max = hpa["spec"]["maxReplicas"].as_u64().expect("maxReplicas");
            let pods_at_max = max + max.div_ceil(4);
            let (mut cpu, mut mem) = (0, 0);
            for c in dep["spec"]["template"]["spec"]["containers"]
                .as_array()
                .expect("containers")
            {
                cpu += millis(&c["resources"]["limits"]["cpu"]);
                mem += bytes(&c["resources"]["limits"]["memory"]);
            }
            assert!(millis(&hard["limits.cpu"]) >= pods_at_max * cpu, "{path}");
            assert!(bytes(&hard["limits.memory"]) >= pods_at_max * mem, "{path}");
            assert!(pods >= pods_at_max, "{path}");
        }
        // Every volume the plant claims (the filestore, PostgreSQL's data volumes) fits.
        let mut claimed = 0;
        for (_, pvc) in of_kind(files, p, "PersistentVolumeClaim") {
            claimed += bytes(&pvc["spec"]["resources"]["requests"]["storage"]);
        }
        for (_, pg) in of_kind(files, p, "PostgresCluster") {
            for set in pg["spec"]["instances"].as_array().into_iter().flatten() {
                let replicas = set["replicas"].as_u64().unwrap_or(1);
                let req = &set["dataVolumeClaimSpec"]["resources"]["requests"]["storage"];
                claimed += replicas * bytes(req);
            }
        }
        assert!(
            bytes(&hard["requests.storage"]) >= claimed,
            "{}/{}: quota {} < claimed {claimed}",
            p.name,
            p.env,
            hard["requests.storage"]
        );
    });
}

/// CPU (millicores) and memory limits of a `resources` block.
fn limits_of(resources: &Value) -> (u64, u64) {
    let l = &resources["limits"];
    (millis(&l["cpu"]), bytes(&l["memory"]))
}

/// The limits of one pod: its containers' summed (init containers run before them).
fn pod_limits(pod_spec: &Value) -> (u64, u64) {
    pod_spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| limits_of(&c["resources"]))
        .fold((0, 0), |(c, m), (cc, mm)| (c + cc, m + mm))
}

#[test]
fn quota_counts_every_pod_the_families_render_with_its_limits() {
    each_own_namespace(|name, p, files| {
        let who = format!("{name} {}/{}", p.name, p.env);
        let (mut cpu, mut mem, mut pods) = (0, 0, 0);
        let mut add = |n: u64, (c, m): (u64, u64)| {
            cpu += n * c;
            mem += n * m;
            pods += n;
        };
        let hpas = of_kind(files, p, "HorizontalPodAutoscaler");
        for (_, d) in of_kind(files, p, "Deployment") {
            let name = &d["metadata"]["name"];
            let n = hpas
                .iter()
                .find(|(_, h)| &h["spec"]["scaleTargetRef"]["name"] == name)
                .map_or_else(
                    || d["spec"]["replicas"].as_u64().unwrap_or(1),
                    |(_, h)| {
                        let max = h["spec"]["maxReplicas"].as_u64().expect("maxReplicas");
                        max + max.div_ceil(4)
                    },
                );
            add(n, pod_limits(&d["spec"]["template"]["spec"]));
        }
        for (_, j) in of_kind(files, p, "Job") {
            add(1, pod_limits(&j["spec"]["template"]["spec"]));
        }
        // A CronJob's Job, and one more started by hand.
        for (_, c) in of_kind(files, p, "CronJob") {
            add(
                2,
                pod_limits(&c["spec"]["jobTemplate"]["spec"]["template"]["spec"]),
            );
        }
        for (_, pg) in of_kind(files, p, "PostgresCluster") {
            let spec = &pg["spec"];
            let pgb = &spec["backups"]["pgbackrest"];
            for set in spec["instances"].as_array().into_iter().flatten() {
                let mut one = limits_of(&set["resources"]);
                for side in [
                    &set["sidecars"]["replicaCertCopy"]["resources"],
                    &pgb["sidecars"]["pgbackrest"]["resources"],
                    &pgb["sidecars"]["pgbackrestConfig"]["resources"],
                    &spec["monitoring"]["pgmonitor"]["exporter"]["resources"],
                ] {
                    let (c, m) = limits_of(side);
                    one = (one.0 + c, one.1 + m);
                }
                add(set["replicas"].as_u64().unwrap_or(1), one);
            }
            // No repo host (S3 repositories only): backups are Jobs, one per repository
            // and the replica-create or a manual one.
            let repos = pgb["repos"].as_array().map_or(0, Vec::len) as u64;
            assert!(spec["backups"]["pgbackrest"].get("repoHost").is_none());
            add(repos + 1, limits_of(&pgb["jobs"]["resources"]));
        }
        let redis_path = format!("{}/helm/redis.yaml", p.dir);
        if let Some(text) = files.get(&redis_path) {
            let v = yaml(&redis_path, text);
            let replicas = if v["architecture"] == "replication" {
                v["replica"]["replicaCount"].as_u64().expect("replicaCount")
            } else {
                0
            };
            let (c, m) = limits_of(&v["master"]["resources"]);
            let (ec, em) = limits_of(&v["metrics"]["resources"]);
            assert_eq!(v["metrics"]["enabled"], true);
            add(1 + replicas, (c + ec, m + em));
        }
        let q = object(files, p, "resourcequota-plant-quota.yaml");
        let hard = &q["spec"]["hard"];
        assert!(millis(&hard["limits.cpu"]) >= cpu, "{who}: cpu {cpu}m");
        assert!(bytes(&hard["limits.memory"]) >= mem, "{who}: memory {mem}");
        assert_eq!(hard["requests.cpu"], hard["limits.cpu"]);
        assert_eq!(hard["requests.memory"], hard["limits.memory"]);
        let quota_pods: u64 = hard["pods"].as_str().expect("pods").parse().expect("count");
        assert!(quota_pods >= pods, "{who}: {quota_pods} < {pods} pods");
        // The arithmetic is in the file, and the upgrade Job is called what it is.
        let text = &files[&format!("{}resourcequota-plant-quota.yaml", dir(p))];
        assert!(text.contains("upgrade Job (Sync hook)"), "{who}");
        assert!(!text.contains("PreSync"), "{who}");
        assert!(!text.contains("repo host"), "{who}");
    });
}

/// The internet on HTTPS: 0.0.0.0/0 but the private and link-local ranges, on 443 only.
fn assert_internet_https(path: &str, np: &Value) {
    assert_eq!(strings(&np["spec"]["policyTypes"]), ["Egress"], "{path}");
    let rules = np["spec"]["egress"].as_array().expect("egress");
    assert_eq!(rules.len(), 1, "{path}");
    assert_eq!(ports(&rules[0]), [443], "{path}");
    let block = &rules[0]["to"][0]["ipBlock"];
    assert_eq!(block["cidr"], "0.0.0.0/0", "{path}");
    assert_eq!(
        strings(&block["except"]),
        [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "169.254.0.0/16"
        ],
        "{path}"
    );
}

#[test]
fn enterprise_odoo_reaches_the_subscription_server_on_https_community_does_not() {
    let mut enterprise = 0;
    each_own_namespace(|_, p, files| {
        let path = format!("{}networkpolicy-odoo-to-internet-https.yaml", dir(p));
        if p.odoo.edition == "enterprise" {
            enterprise += 1;
            let np = object(files, p, "networkpolicy-odoo-to-internet-https.yaml");
            assert_eq!(
                np["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"],
                "odoo"
            );
            assert_internet_https(&path, &np);
        } else {
            assert!(!files.contains_key(&path), "{path}: community");
        }
    });
    assert!(enterprise > 0, "an example runs Odoo Enterprise");
}

#[test]
fn the_filestore_backup_reaches_object_storage_wherever_odoo_runs() {
    const FILE: &str = "networkpolicy-filestore-backup-to-object-storage.yaml";
    // Every plant with its own Odoo (RDS plants and shared platforms included).
    each_own_namespace(|_, p, files| {
        let path = format!("{}{FILE}", dir(p));
        let np = object(files, p, FILE);
        assert_eq!(
            np["spec"]["podSelector"],
            serde_json::json!({ "matchLabels": { "app.kubernetes.io/component": "filestore-backup" } }),
            "{path}"
        );
        assert_internet_https(&path, &np);
    });
    each_example_plant(
        |p| p.tenancy == "shared",
        |e, p| assert!(!e.files.contains_key(&format!("{}{FILE}", dir(p)))),
    );
}

/// Every container spec of a workload object (pod templates, CronJob templates, PGO instances
/// and their sidecars).
fn containers(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if (k == "containers" || k == "initContainers") && child.is_array() {
                    out.extend(child.as_array().into_iter().flatten().cloned());
                } else {
                    containers(child, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|c| containers(c, out)),
        _ => {}
    }
}

#[test]
fn every_declared_container_limit_fits_the_limit_range() {
    each_own_namespace(|_, p, files| {
        let lr = object(files, p, "limitrange-plant-limits.yaml");
        let l = &lr["spec"]["limits"][0];
        assert_eq!(l["type"], "Container");
        let (max_cpu, max_mem) = (millis(&l["max"]["cpu"]), bytes(&l["max"]["memory"]));
        assert!(millis(&l["default"]["cpu"]) <= max_cpu);
        assert!(bytes(&l["default"]["memory"]) <= max_mem);
        assert!(millis(&l["defaultRequest"]["cpu"]) <= millis(&l["default"]["cpu"]));
        let q = object(files, p, "resourcequota-plant-quota.yaml");
        assert!(max_cpu <= millis(&q["spec"]["hard"]["limits.cpu"]));
        assert!(max_mem <= bytes(&q["spec"]["hard"]["limits.memory"]));
        let mut found = Vec::new();
        for kind in ["Deployment", "CronJob", "Job", "PostgresCluster"] {
            for (_, obj) in of_kind(files, p, kind) {
                containers(&obj["spec"], &mut found);
                if kind == "PostgresCluster" {
                    for set in obj["spec"]["instances"].as_array().into_iter().flatten() {
                        found.push(serde_json::json!({ "name": "database", "resources": set["resources"] }));
                    }
                }
            }
        }
        for c in found {
            let limits = &c["resources"]["limits"];
            if let Some(cpu) = limits.get("cpu") {
                assert!(millis(cpu) <= max_cpu, "{}/{}: {c}", p.name, p.env);
            }
            if let Some(mem) = limits.get("memory") {
                assert!(bytes(mem) <= max_mem, "{}/{}: {c}", p.name, p.env);
            }
        }
    });
}

#[test]
fn the_database_is_reachable_from_odoo_and_backups_reach_object_storage() {
    each_own_namespace(|_, p, files| {
        // The restore test reaches the API server (PGO) or the RDS API.
        let test = object(files, p, "networkpolicy-restore-test.yaml");
        let expected: &[u64] = if p.database.managed {
            &[443]
        } else {
            &[443, 6443]
        };
        assert_eq!(ports(&test["spec"]["egress"][0]), expected);
        let to_db = object(files, p, "networkpolicy-odoo-to-database.yaml");
        let rule = &to_db["spec"]["egress"][0];
        assert_eq!(ports(rule), [5432]);
        if p.database.managed {
            assert_eq!(
                rule["to"][0]["ipBlock"]["cidr"],
                p.cidr.as_deref().expect("dedicated-environment has a CIDR")
            );
            assert!(!files.contains_key(&format!(
                "{}networkpolicy-postgres-to-object-storage.yaml",
                dir(p)
            )));
            return;
        }
        let pg = &rule["to"][0]["podSelector"]["matchLabels"];
        assert_eq!(
            pg["postgres-operator.crunchydata.com/cluster"],
            p.names.postgres.as_str()
        );
        let clients = object(files, p, "networkpolicy-postgres-from-clients.yaml");
        let rule = &clients["spec"]["ingress"][0];
        assert_eq!(ports(rule), [5432]);
        let from: Vec<&Value> = rule["from"]
            .as_array()
            .expect("from")
            .iter()
            .map(|peer| &peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"])
            .collect();
        assert_eq!(from, ["odoo", "database-setup"]);
        let setup = object(files, p, "networkpolicy-database-setup-to-postgres.yaml");
        assert_eq!(ports(&setup["spec"]["egress"][0]), [5432]);
        let api = object(files, p, "networkpolicy-postgres-to-apiserver.yaml");
        assert_eq!(ports(&api["spec"]["egress"][0]), [443, 6443]);
        let s3 = object(files, p, "networkpolicy-postgres-to-object-storage.yaml");
        let block = &s3["spec"]["egress"][0]["to"][0]["ipBlock"];
        assert_eq!(block["cidr"], "0.0.0.0/0");
        assert_eq!(
            strings(&block["except"]),
            ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
        );
        let mon = object(files, p, "networkpolicy-postgres-from-monitoring.yaml");
        // PGO's exporter serves PostgreSQL and pgBackRest metrics on 9187 alone.
        assert_eq!(ports(&mon["spec"]["ingress"][0]), [9187]);
    });
}

#[test]
fn every_integration_opens_exactly_its_peers_on_its_port() {
    each_own_namespace(|_, p, files| {
        for i in &p.integrations {
            let path = format!("{}networkpolicy-integration-{}.yaml", dir(p), i.name);
            let needs_egress = i.outbound && i.protocol != "postgres-readonly";
            // Inbound HTTPS comes through Traefik; inbound sftp, mqtt or amqp would reach
            // no listener on Odoo's pods: only a read-only peer of an in-cluster database
            // is let in.
            let needs_ingress = i.inbound
                && i.protocol == "postgres-readonly"
                && !p.database.managed
                && !p.database.shared;
            let Some(text) = files.get(&path) else {
                assert!(!needs_egress && !needs_ingress, "{path} is missing");
                continue;
            };
            let np = yaml(&path, text);
            let spec = &np["spec"];
            let peers = |rule: &Value, side: &str| -> Vec<String> {
                rule[side]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["ipBlock"]["cidr"].as_str().map(str::to_string))
                    .collect()
            };
            if needs_ingress {
                let rule = &spec["ingress"][0];
                assert_eq!(peers(rule, "from"), i.peers, "{path}");
                let port = if i.protocol == "postgres-readonly" {
                    5432
                } else {
                    i.port
                };
                assert_eq!(ports(rule), [u64::from(port)], "{path}");
            } else {
                assert!(spec.get("ingress").is_none(), "{path}");
            }
            if needs_egress {
                let rule = &spec["egress"][0];
                assert_eq!(peers(rule, "to"), i.peers, "{path}");
                assert_eq!(ports(rule), [u64::from(i.port)], "{path}");
            } else {
                assert!(spec.get("egress").is_none(), "{path}");
            }
        }
    });
}

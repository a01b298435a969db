//! Domain facts of DESIGN §4.2–§4.5 visible in the runbooks, the Argo CD Applications and the
//! Redis Helm values of the example fleets.

use crate::support::yaml;
use crate::support::{EXAMPLES, root};
use blueprint_compiler::Input;
use blueprint_compiler::lower::{FleetCtx, PlantCtx};
use serde_json::Value;
use std::collections::BTreeMap;

struct Built {
    fleet: FleetCtx,
    plants: Vec<PlantCtx>,
    files: BTreeMap<String, String>,
}

fn build(inputs: &[Input]) -> Built {
    let built = crate::support::build_ok(inputs);
    let ir = built.ir.expect("compiled");
    Built {
        fleet: ir.fleet,
        plants: ir.plants,
        files: built
            .files
            .into_iter()
            .map(|(p, b)| (p, String::from_utf8(b).expect("UTF-8 output")))
            .collect(),
    }
}

fn example(name: &str) -> Built {
    let base = root().join("examples").join(name);
    build(&crate::support::read_inputs(&base, "plants"))
}

/// `runbooks/<plant>.md`, or a shared platform's `clusters/<cluster>/platform/runbook.md`.
fn runbook_path(p: &PlantCtx) -> String {
    if p.platform {
        format!("{}/runbook.md", p.dir)
    } else {
        format!("runbooks/{}.md", p.name)
    }
}

fn runbook<'a>(b: &'a Built, p: &PlantCtx) -> &'a str {
    let path = runbook_path(p);
    b.files
        .get(&path)
        .unwrap_or_else(|| panic!("{path} is missing"))
}

/// A fenced `sh` block with its marker (`env`, `kind`, `repo`).
#[derive(Debug)]
struct Block {
    env: String,
    kind: String,
    repo: Option<u32>,
    text: String,
}

/// Every fenced block of a runbook; panics on a `sh` block without a marker right before it,
/// or on a marker not followed by a `sh` block.
fn blocks(path: &str, md: &str) -> Vec<Block> {
    let lines: Vec<&str> = md.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(marker) = line
            .strip_prefix("<!-- blueprint:restore ")
            .and_then(|m| m.strip_suffix(" -->"))
        {
            let fields: BTreeMap<&str, &str> = marker
                .split(' ')
                .map(|f| f.split_once('=').expect("key=value"))
                .collect();
            assert_eq!(
                lines.get(i + 1),
                Some(&"```sh"),
                "{path}:{}: a marker is followed by a sh block",
                i + 1
            );
            let end = lines[i + 2..]
                .iter()
                .position(|l| *l == "```")
                .unwrap_or_else(|| panic!("{path}:{}: unclosed block", i + 2))
                + i
                + 2;
            out.push(Block {
                env: fields["env"].to_string(),
                kind: fields["kind"].to_string(),
                repo: fields.get("repo").map(|r| r.parse().expect("repo number")),
                text: lines[i + 2..end].join("\n"),
            });
            i = end + 1;
            continue;
        }
        assert!(
            !line.starts_with("```"),
            "{path}:{}: fenced block without a marker: {line}",
            i + 1
        );
        i += 1;
    }
    out
}

fn block<'a>(bs: &'a [Block], env: &str, kind: &str, repo: Option<u32>) -> Option<&'a Block> {
    bs.iter()
        .find(|b| b.env == env && b.kind == kind && b.repo == repo)
}

/// Quotes, command substitutions and parameter expansions are balanced, as POSIX sh reads
/// them; returns the problem.
fn sh_balance(text: &str) -> Result<(), String> {
    // Contexts: `'` single quotes, `"` double quotes, `(` command substitution, `{` parameter
    // expansion.
    let mut stack: Vec<char> = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let top = stack.last().copied();
        match (top, c) {
            (Some('\''), '\'') => {
                stack.pop();
            }
            (Some('\''), _) => {}
            (_, '\\') => {
                chars.next();
            }
            (Some('"'), '"') => {
                stack.pop();
            }
            (_, '$') if chars.peek() == Some(&'(') => {
                chars.next();
                stack.push('(');
            }
            (_, '$') if chars.peek() == Some(&'{') => {
                chars.next();
                stack.push('{');
            }
            (Some('('), ')') => {
                stack.pop();
            }
            (Some('{'), '}') => {
                stack.pop();
            }
            (Some('"'), _) => {}
            // POSIX leaves quotes inside `${…}` inside double quotes unspecified.
            (Some('{'), '\'' | '"') if stack.len() >= 2 && stack[stack.len() - 2] == '"' => {
                return Err("a quote inside ${…} inside double quotes".into());
            }
            (_, '\'') => stack.push('\''),
            (_, '"') => stack.push('"'),
            (_, '#') if top.is_none() => {
                // A comment runs to the end of the line.
                for n in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    if stack.is_empty() {
        Ok(())
    } else {
        Err(format!("unclosed {stack:?}"))
    }
}

#[test]
fn the_shell_balance_check_catches_unclosed_quotes() {
    assert!(sh_balance("echo 'a' \"b $(c \"d\")\" ${x:-'y'}").is_ok());
    assert!(sh_balance("echo 'it'\\''s'").is_ok());
    assert!(sh_balance("echo 'a").is_err());
    assert!(sh_balance("echo \"$(x\"").is_err());
    assert!(sh_balance("echo # it's a comment").is_ok());
    assert!(sh_balance(": \"${X:?the side cluster's directory}\"").is_err());
}

#[test]
fn every_runbook_command_block_is_marked_and_parses_as_sh() {
    let sh = std::path::Path::new("/bin/sh")
        .exists()
        .then_some("/bin/sh");
    for name in EXAMPLES {
        let b = example(name);
        for (path, md) in b
            .files
            .iter()
            .filter(|(p, _)| p.starts_with("runbooks/") || p.ends_with("/runbook.md"))
        {
            let bs = blocks(path, md);
            assert!(!bs.is_empty(), "{path} has no commands");
            for block in &bs {
                assert!(
                    block.text.starts_with("set -eu\n"),
                    "{path} {block:?}: blocks stop at the first failure"
                );
                if let Err(e) = sh_balance(&block.text) {
                    panic!("{path} {}/{}: {e}\n{}", block.env, block.kind, block.text);
                }
                if let Some(sh) = sh {
                    let out = std::process::Command::new(sh)
                        .arg("-n")
                        .arg("-c")
                        .arg(&block.text)
                        .output()
                        .expect("sh runs");
                    assert!(
                        out.status.success(),
                        "{path} {}/{}: {}\n{}",
                        block.env,
                        block.kind,
                        String::from_utf8_lossy(&out.stderr),
                        block.text
                    );
                }
            }
        }
    }
}

#[test]
fn every_plant_has_a_runbook_naming_stanza_db_its_repositories_and_a_pitr_command() {
    for name in EXAMPLES {
        let b = example(name);
        for p in &b.plants {
            let md = runbook(&b, p);
            let path = runbook_path(p);
            let bs = blocks(&path, md);
            let env = p.env.as_str();
            assert!(block(&bs, env, "stop", None).is_some(), "{path} {env}");
            assert!(block(&bs, env, "start", None).is_some(), "{path} {env}");
            assert!(block(&bs, env, "check", None).is_some(), "{path} {env}");
            assert!(
                block(&bs, env, "final-backup", None).is_some(),
                "{path} {env}"
            );
            if p.database.managed {
                let pitr = block(&bs, env, "rds-pitr", None)
                    .unwrap_or_else(|| panic!("{path} {env}: no RDS restore"));
                assert!(
                    pitr.text
                        .contains("aws rds restore-db-instance-to-point-in-time")
                        && pitr.text.contains(&format!("source_id='{}-{env}'", p.name))
                        && pitr.text.contains("--restore-time \"$RESTORE_TARGET\""),
                    "{path} {env}:\n{}",
                    pitr.text
                );
                assert!(!md.contains(&format!("plants/{}/{env}/pgbackrest/", p.name)));
                continue;
            }
            assert!(md.contains("stanza `db`"), "{path}");
            if p.tenancy == "shared" {
                continue; // side restore: its own test
            }
            let config = format!(
                "--config=\"${{GITOPS_DIR:-$PWD}}\"/'{}/pgbackrest/pgbackrest.conf'",
                p.dir
            );
            let pitr = block(&bs, env, "pitr", Some(1))
                .unwrap_or_else(|| panic!("{path} {env}: no repo1 PITR"));
            for needle in [
                config.as_str(),
                "--stanza=db --repo=1 --type=time \"--target=${RESTORE_TARGET}\" --target-action=promote --delta restore",
                "PGBACKREST_REPO1_CIPHER_PASS",
            ] {
                assert!(
                    pitr.text.contains(needle),
                    "{path} {env}: {needle}\n{}",
                    pitr.text
                );
            }
            for r in &p.backup.repos {
                assert!(
                    md.contains(&format!("`{}`", r.path))
                        && md.contains(&format!("`{}`", r.bucket)),
                    "{path} {env}: {} {}",
                    r.bucket,
                    r.path
                );
            }
            let pgo = block(&bs, env, "pgo-pitr", Some(1)).expect("in-place restore");
            assert!(
                pgo.text
                    .contains("postgres-operator.crunchydata.com/pgbackrest-restore=")
            );
        }
    }
}

#[test]
fn critical_runbooks_restore_from_the_backup_peer_region() {
    let mut seen = (0, 0);
    for name in EXAMPLES {
        let b = example(name);
        for p in b.plants.iter().filter(|p| p.tier == "critical") {
            let path = runbook_path(p);
            let md = runbook(&b, p);
            let bs = blocks(&path, md);
            let peer = p.backup.repos.get(1).expect("critical plants have repo2");
            if p.database.managed {
                let b = block(&bs, &p.env, "rds-pitr-peer", None).expect("peer restore");
                assert!(
                    b.text
                        .contains(&format!("peer_region='{}'", peer.cloud_region))
                        && b.text
                            .contains("--source-db-instance-automated-backups-arn"),
                    "{path}:\n{}",
                    b.text
                );
                seen.1 += 1;
            } else {
                let b = block(&bs, &p.env, "pitr", Some(2)).expect("repo2 restore");
                assert!(
                    b.text.contains("--stanza=db --repo=2 --type=time")
                        && b.text.contains("PGBACKREST_REPO2_CIPHER_PASS"),
                    "{path}:\n{}",
                    b.text
                );
                assert!(md.contains(&format!("`{}`", peer.bucket)), "{path}");
                seen.0 += 1;
            }
        }
        for p in b.plants.iter().filter(|p| p.tier != "critical") {
            let path = runbook_path(p);
            let bs = blocks(&path, runbook(&b, p));
            assert!(block(&bs, &p.env, "pitr", Some(2)).is_none(), "{path}");
            assert!(
                block(&bs, &p.env, "rds-pitr-peer", None).is_none(),
                "{path}"
            );
        }
    }
    assert!(
        seen.0 > 0 && seen.1 > 0,
        "the examples cover both: {seen:?}"
    );
}

#[test]
fn shared_runbooks_describe_the_side_restore() {
    let mut seen = 0;
    for name in EXAMPLES {
        let b = example(name);
        for p in b.plants.iter().filter(|p| p.tenancy == "shared") {
            seen += 1;
            let path = runbook_path(p);
            let md = runbook(&b, p);
            let bs = blocks(&path, md);
            let env = p.env.as_str();
            let cluster = p.cluster.as_deref().expect("shared plants have a cluster");
            let platform = b
                .plants
                .iter()
                .find(|q| q.platform && q.cluster.as_deref() == Some(cluster))
                .expect("a shared cluster has a platform");
            let repo = &platform.backup.repos[0];
            assert!(
                md.contains(&format!("`{}`", repo.path))
                    && md.contains(&format!("`{}`", repo.bucket)),
                "{path}: the platform's repository"
            );
            // Never a point-in-time restore of the shared database in place.
            assert!(block(&bs, env, "pitr", Some(1)).is_none(), "{path}");
            let side = block(&bs, env, "side-restore", Some(1)).expect("side restore");
            for needle in [
                format!("'{}/pgbackrest/pgbackrest.conf'", platform.dir),
                "--stanza=db --repo=1 --type=time".to_string(),
                "--archive-mode=off".to_string(),
                "--pg1-path=\"$SIDE_PGDATA\"".to_string(),
            ] {
                assert!(side.text.contains(&needle), "{path} {env}: {needle}");
            }
            let dump = block(&bs, env, "side-dump", None).expect("dump");
            assert!(
                dump.text
                    .contains("pg_dump -h /tmp -p \"$SIDE_PORT\" -U postgres --format=custom")
                    && dump.text.contains(&format!("'{}'", p.names.db_name)),
                "{path}:\n{}",
                dump.text
            );
            let swap = block(&bs, env, "side-swap", None).expect("swap");
            assert!(
                swap.text.contains("pg_restore --no-owner --role='odoo'")
                    && swap.text.contains(&format!(
                        "ALTER DATABASE \"{}\" RENAME TO \"replaced-{}-{env}\"",
                        p.names.db_name, p.name
                    ))
                    && swap.text.contains(&format!(
                        "ALTER DATABASE \"restore-{}-{env}\" RENAME TO \"{}\"",
                        p.name, p.names.db_name
                    )),
                "{path}:\n{}",
                swap.text
            );
            // The side restore has its own RTO estimate.
            assert!(
                md.contains(&format!(
                    "side-restore estimate `{}`",
                    p.backup.rto_estimate
                )),
                "{path}"
            );
        }
    }
    assert!(seen > 0);
}

/// The quickstart plant with hostile free text.
fn hostile_quickstart() -> Vec<Input> {
    let plant = std::fs::read_to_string(root().join("examples/quickstart/plants/lyon.yaml"))
        .expect("quickstart plant");
    let from_display = "displayName: \"Lyon – stamping and assembly\"";
    let from_desc_start = "description: >-";
    assert!(plant.contains(from_display) && plant.contains(from_desc_start));
    let desc_end = plant.find("region: eu-west").expect("region line");
    let desc_start = plant.find(from_desc_start).expect("description");
    let plant = format!(
        "{}{}",
        &plant[..desc_start],
        &plant[desc_end..]
    )
    .replace(
        from_display,
        "displayName: \"Lyon [click](javascript:alert(1)) <script>alert(1)</script>\"\ndescription: \"ok\\n# injected heading\\n```sh\\nrm -rf /\\n```\\n](javascript:alert(1)) `code` {{ 7 * 7 }} <img src=x onerror=alert(1)> | a | b |\"",
    );
    vec![Input {
        path: "plants/lyon.yaml".into(),
        bytes: plant.into_bytes(),
        is_fleet: false,
    }]
}

#[test]
fn hostile_display_name_and_description_are_inert_in_the_runbook() {
    let b = build(&hostile_quickstart());
    let md = &b.files["runbooks/lyon.md"];
    // The text arrives, escaped, on the lines that introduce it.
    assert!(
        md.starts_with(
            "# Runbook: Lyon \\[click\\](javascript\\:alert(1)) \\<script\\>alert(1)\\</script\\>\n"
        ),
        "{md}"
    );
    let desc = md
        .lines()
        .find(|l| l.starts_with("Description: "))
        .expect("description line");
    assert_eq!(
        desc,
        "Description: ok \\# injected heading \\`\\`\\`sh rm -rf / \\`\\`\\` \\](javascript\\:alert(1)) \\`code\\` \\{\\{ 7 \\* 7 \\}\\} \\<img src=x onerror=alert(1)\\> \\| a \\| b \\|"
    );
    // Nothing of it became structure: no injected heading, fence, raw HTML or link.
    assert!(!md.lines().any(|l| l.starts_with("# injected")), "{md}");
    for (n, line) in md.lines().enumerate() {
        if line.starts_with("<!-- blueprint:restore ") {
            continue;
        }
        let raw_html = line
            .match_indices('<')
            .any(|(i, _)| !line[..i].ends_with('\\') && !line[..i].contains('`'));
        assert!(!raw_html, "line {}: raw HTML: {line}", n + 1);
    }
    assert!(!md.contains("](javascript:"), "{md}");
    // Blocks are still exactly the generated ones.
    let bs = blocks("runbooks/lyon.md", md);
    assert!(block(&bs, "prod", "pitr", Some(1)).is_some());
}

#[test]
fn applications_never_carry_the_resources_finalizer() {
    for name in EXAMPLES {
        let b = example(name);
        for (path, text) in b.files.iter().filter(|(p, _)| p.contains("/argocd/")) {
            let app = yaml(path, text);
            assert_eq!(app["kind"], "Application", "{path}");
            assert_eq!(app["metadata"]["namespace"], "argocd", "{path}");
            assert!(app["metadata"].get("finalizers").is_none(), "{path}");
            assert!(!text.contains("resources-finalizer"), "{path}");
            let sync = &app["spec"]["syncPolicy"];
            assert_eq!(sync["automated"]["prune"], true, "{path}");
            assert_eq!(sync["automated"]["selfHeal"], true, "{path}");
            let options: Vec<&str> = sync["syncOptions"]
                .as_array()
                .expect("options")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            for o in [
                "CreateNamespace=false",
                "PruneLast=true",
                "ServerSideApply=true",
            ] {
                assert!(options.contains(&o), "{path}: {o}");
            }
        }
    }
}

#[test]
fn applications_deploy_every_manifest_directory_of_the_plant_to_its_cluster() {
    for name in EXAMPLES {
        let b = example(name);
        for p in &b.plants {
            let dir = &p.dir;
            let path = format!("{dir}/argocd/application.yaml");
            let dirs: Vec<String> = ["kubernetes", "traefik"]
                .iter()
                .map(|f| format!("{dir}/{f}"))
                .filter(|d| b.files.keys().any(|k| k.starts_with(&format!("{d}/"))))
                .collect();
            let Some(text) = b.files.get(&path) else {
                assert!(dirs.is_empty(), "{path} missing for {dirs:?}");
                continue;
            };
            let app = yaml(&path, text);
            let spec = &app["spec"];
            let paths: Vec<&str> = spec["sources"]
                .as_array()
                .expect("sources")
                .iter()
                .map(|s| {
                    assert_eq!(s["repoURL"], b.fleet.gitops_repo.as_str(), "{path}");
                    assert_eq!(s["targetRevision"], "main", "{path}");
                    s["path"].as_str().expect("a path")
                })
                .collect();
            assert_eq!(paths, dirs, "{path}");
            let dest = &spec["destination"];
            assert_eq!(dest["namespace"], p.names.namespace.as_str(), "{path}");
            match &p.cluster {
                Some(c) => {
                    assert_eq!(dest["name"], c.as_str(), "{path}");
                    assert!(dest.get("server").is_none(), "{path}");
                }
                None => assert_eq!(dest["server"], "https://kubernetes.default.svc", "{path}"),
            }
            if p.tenancy == "shared" {
                assert_eq!(dest["namespace"], "odoo-shared", "{path}");
            }
            let ignored = spec["ignoreDifferences"].as_array();
            if p.odoo.hpa && p.tenancy != "shared" {
                let d = &ignored.expect("HPA replicas ignored")[0];
                assert_eq!(d["kind"], "Deployment");
                assert_eq!(d["name"], p.names.web.as_str());
                assert_eq!(d["jsonPointers"][0], "/spec/replicas");
            } else {
                assert!(ignored.is_none(), "{path}");
            }
        }
    }
}

#[test]
fn redis_values_exist_only_for_plants_with_a_session_store_module() {
    let mut seen = 0;
    for name in EXAMPLES {
        let b = example(name);
        for p in &b.plants {
            let dir = &p.dir;
            let values_path = format!("{dir}/helm/redis.yaml");
            let app_path = format!("{dir}/argocd/application-redis.yaml");
            let wanted = p.odoo.session_redis && p.tenancy != "shared";
            assert_eq!(b.files.contains_key(&values_path), wanted, "{values_path}");
            assert_eq!(b.files.contains_key(&app_path), wanted, "{app_path}");
            if !wanted {
                continue;
            }
            seen += 1;
            let redis = p
                .redis
                .as_ref()
                .expect("session store plants resolve Redis");
            let v = yaml(&values_path, &b.files[&values_path]);
            assert_eq!(v["architecture"], redis.architecture.as_str());
            assert_eq!(
                v["sentinel"]["enabled"], false,
                "no Sentinel: {values_path}"
            );
            assert_eq!(v["auth"]["existingSecret"], "redis-auth");
            assert_eq!(v["auth"]["existingSecretPasswordKey"], "redis-password");
            assert_eq!(v["global"]["security"]["allowInsecureImages"], true);
            for image in [&v["image"], &v["metrics"]["image"], &v["sentinel"]["image"]] {
                assert_eq!(
                    image["registry"],
                    b.fleet.registry.as_str(),
                    "{values_path}"
                );
            }
            assert_eq!(v["master"]["persistence"]["enabled"], redis.persistence);
            let conf = v["commonConfiguration"].as_str().expect("configuration");
            assert!(conf.contains("maxmemory-policy volatile-lru"), "{conf}");
            assert_eq!(conf.contains("appendonly yes"), redis.persistence, "{conf}");
            // maxmemory is 75 % of the container's memory limit.
            let limit = v["master"]["resources"]["limits"]["memory"]
                .as_str()
                .expect("limit");
            let limit_mi: u64 = limit
                .strip_suffix("Mi")
                .map(|m| m.parse().expect("Mi"))
                .or_else(|| {
                    limit
                        .strip_suffix("Gi")
                        .map(|g| g.parse::<u64>().expect("Gi") * 1024)
                })
                .expect("a binary quantity");
            assert_eq!(
                v["master"]["configuration"],
                format!("maxmemory {}", limit_mi * 1024 * 1024 / 4 * 3).as_str()
            );
            // A PDB only where there are two pods or more to keep.
            assert_eq!(v["master"]["pdb"]["create"], false);
            if redis.architecture == "replication" {
                let count = v["replica"]["replicaCount"].as_u64().expect("count");
                assert_eq!(v["replica"]["pdb"]["create"], count >= 2);
            }
            for sc in [
                &v["master"]["containerSecurityContext"],
                &v["metrics"]["containerSecurityContext"],
            ] {
                assert_eq!(sc["runAsNonRoot"], true);
                assert_eq!(sc["allowPrivilegeEscalation"], false);
                assert_eq!(sc["capabilities"]["drop"][0], "ALL");
                assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
            }
            let app = yaml(&app_path, &b.files[&app_path]);
            let sources = app["spec"]["sources"].as_array().expect("sources");
            assert_eq!(sources[0]["chart"], "redis");
            assert_eq!(sources[0]["repoURL"], "registry-1.docker.io/bitnamicharts");
            assert_eq!(
                sources[0]["helm"]["valueFiles"][0],
                format!("$values/{values_path}").as_str()
            );
            assert_eq!(sources[1]["ref"], "values");
            assert_eq!(sources[1]["repoURL"], b.fleet.gitops_repo.as_str());
        }
    }
    assert!(seen > 0);
}

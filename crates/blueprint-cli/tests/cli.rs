//! CLI behaviour: exit codes, and snapshots of human and JSON output.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    missing_docs
)]

mod common;

use common::{Reader, Scratch, copy_dir, root, run, run_reading};

/// The quickstart example's plant.
fn lyon() -> String {
    std::fs::read_to_string(root().join("examples/quickstart/plants/lyon.yaml")).unwrap()
}

fn snap(name: &str, value: &str) {
    insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, value);
    });
}

#[test]
fn check_of_a_clean_example_exits_zero() {
    let (code, out, err) = run(&["check", "examples/quickstart/plants"], &root());
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    assert_eq!(
        err,
        "checked examples/quickstart/plants: 1 plant file, 2 environments resolved, embedded default fleet\nno findings\n"
    );
}

#[test]
fn check_with_findings_exits_one_and_prints_them() {
    let case = root().join("tests/cases/check/bp2004-rto-infeasible");
    let (code, out, err) = run(&["check", "plants"], &case);
    assert_eq!(code, 1);
    assert_eq!(out, "");
    snap("cli__check_human", &format!("exit {code}\n{err}"));
    let (code, out, _) = run(&["check", "plants", "--format", "json"], &case);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v["version"], 1);
    assert_eq!(v["diagnostics"][0]["code"], "BP2004");
    snap("cli__check_json", &out);
}

#[test]
fn warnings_fail_only_with_deny_warnings() {
    let case = root().join("tests/cases/check/bp2002-rpo-below-archiving-region-loss");
    assert_eq!(run(&["check", "plants"], &case).0, 0);
    assert_eq!(run(&["check", "plants", "--deny-warnings"], &case).0, 1);
}

#[test]
fn a_missing_directory_exits_two() {
    let (code, out, err) = run(&["check", "no/such/plants"], &root());
    assert_eq!(code, 2);
    assert_eq!(out, "");
    snap("cli__missing_directory", &format!("exit {code}\n{err}"));
    assert_eq!(run(&["check", "--bogus"], &root()).0, 2);
    let (code, _, err) = run(&["check", "docs"], &root());
    assert_eq!(code, 2, "a directory without plant files is a usage error");
    assert!(err.contains("no plant files"), "{err}");
}

#[test]
fn rules_lists_codes_and_explains_one() {
    let (code, out, _) = run(&["rules"], &root());
    assert_eq!(code, 0);
    assert!(out.contains("BP2001") && out.contains("BP4013"));
    snap("cli__rules", &out);
    let (code, out, _) = run(&["rules", "BP2001"], &root());
    assert_eq!(code, 0);
    assert!(out.starts_with("# BP2001"), "{out}");
    snap("cli__rules_bp2001", &out);
    assert_eq!(run(&["rules", "bp2001"], &root()).1, out);
    assert_eq!(run(&["rules", "BP7777"], &root()).0, 2);
}

#[test]
fn explain_shows_every_value_with_its_origin() {
    let (code, out, err) = run(
        &[
            "explain",
            "lyon",
            "--env",
            "prod",
            "--dir",
            "examples/quickstart/plants",
            "--format",
            "json",
        ],
        &root(),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "");
    snap("cli__explain_json", &out);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let values = v[0]["values"].as_array().expect("values");
    let find = |f: &str| {
        values
            .iter()
            .find(|r| r["field"] == f)
            .unwrap_or_else(|| panic!("{f} missing"))
    };
    assert_eq!(find("tier")["origin"], "plant");
    assert_eq!(find("odoo.workers")["origin"], "derived");
    assert_eq!(find("database.postgresVersion")["origin"], "fleet-default");
    assert!(
        find("recovery.rtoEstimate")["from"]
            .as_str()
            .unwrap()
            .contains("restore")
    );
    let (code, text, err) = run(
        &[
            "explain",
            "lyon",
            "--env",
            "prod",
            "--dir",
            "examples/quickstart/plants",
        ],
        &root(),
    );
    assert_eq!((code, err.as_str()), (0, ""));
    snap("cli__explain_text", &text);
    let (code, text, _) = run(
        &["explain", "lyon", "--dir", "examples/quickstart/plants"],
        &root(),
    );
    assert_eq!(code, 0);
    assert!(text.contains("lyon (prod)") && text.contains("lyon (staging)"));
}

#[test]
fn explain_of_an_unknown_plant_or_environment_is_a_usage_error() {
    let dir = ["--dir", "examples/quickstart/plants"];
    let (code, out, err) = run(&[&["explain", "lyom"][..], &dir].concat(), &root());
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        "error: no plant `lyom` in examples/quickstart/plants; did you mean `lyon`?\n  plants: lyon\n"
    );
    let (code, out, err) = run(
        &[&["explain", "lyon", "--env", "prd"][..], &dir].concat(),
        &root(),
    );
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        "error: plant `lyon` has no environment `prd`; did you mean `prod`?\n  environments of `lyon`: prod, staging\n"
    );
    assert_eq!(
        run(&[&["explain", "lyon/qa"][..], &dir].concat(), &root()).0,
        2
    );
}

#[test]
fn explain_shows_what_resolved_and_names_the_environment_that_did_not() {
    let scratch = Scratch::new("explain-partial");
    let plants = scratch.path().join("plants");
    std::fs::create_dir_all(&plants).unwrap();
    let plant = lyon().replace("      users: 10\n", "      users: ten\n");
    assert_ne!(plant, lyon(), "the staging overlay sets odoo.users");
    std::fs::write(plants.join("lyon.yaml"), plant).unwrap();
    let (code, out, err) = run(&["explain", "lyon", "--dir", "plants"], scratch.path());
    assert_eq!(code, 1, "{err}");
    assert!(
        out.starts_with("lyon (prod)") && !out.contains("lyon (staging)"),
        "{out}"
    );
    assert!(
        err.contains("error[BP0011]: `odoo.users` must be a whole number"),
        "{err}"
    );
    assert!(
        err.ends_with(
            "error: `lyon` did not resolve in environment `staging`; the findings above say why (shown: prod)\n"
        ),
        "{err}"
    );
    // Asked for the environment that did not resolve: its findings, no model, exit 1.
    let (code, out, err) = run(
        &[
            "explain", "lyon", "--env", "staging", "--dir", "plants", "--format", "json",
        ],
        scratch.path(),
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        serde_json::json!([])
    );
    assert!(
        err.contains("BP0011") && err.contains("environment `staging`"),
        "{err}"
    );
    // The environment that resolved is explained as usual.
    assert_eq!(
        run(&["explain", "lyon/prod", "--dir", "plants"], scratch.path()).0,
        0
    );
}

#[test]
fn init_prints_what_it_wrote_and_what_to_run_next() {
    let scratch = Scratch::new("init-hint");
    std::fs::create_dir_all(scratch.path().join("schemas")).unwrap();
    std::fs::write(scratch.path().join("schemas/plant.v1.json"), "{}").unwrap();
    let (code, fleet_out, err) = run(&["init", "--fleet", "--dir", "plants"], scratch.path());
    assert_eq!(code, 0, "{err}");
    let (code, plant_out, err) = run(&["init", "alpha", "--dir", "plants"], scratch.path());
    assert_eq!(code, 0, "{err}");
    let written = std::fs::read_to_string(scratch.path().join("plants/alpha.yaml")).unwrap();
    snap(
        "cli__init",
        &scratch.filter(&format!(
            "{fleet_out}{plant_out}\n--- plants/alpha.yaml\n{written}"
        )),
    );
    // Each hint works where it is given.
    assert_eq!(run(&["check", "plants"], scratch.path()).0, 0);
}

#[test]
fn init_points_the_schema_comment_at_the_nearest_schemas_directory() {
    let scratch = Scratch::new("init-schema");
    let deep = scratch.path().join("fleet/eu/plants");
    let (code, _, err) = run(
        &["init", "alpha", "--dir", &deep.to_string_lossy()],
        &root(),
    );
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(deep.join("alpha.yaml")).unwrap();
    assert!(
        text.starts_with("apiVersion: "),
        "no schema above, no comment:\n{text}"
    );
    std::fs::create_dir_all(scratch.path().join("schemas")).unwrap();
    std::fs::write(scratch.path().join("schemas/plant.v1.json"), "{}").unwrap();
    let (code, _, err) = run(
        &["init", "beta", "--dir", "fleet/eu/plants"],
        scratch.path(),
    );
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(deep.join("beta.yaml")).unwrap();
    assert!(
        text.starts_with("# yaml-language-server: $schema=../../../schemas/plant.v1.json\n"),
        "{text}"
    );
    // `..` in the directory is resolved before the levels are counted.
    let (code, _, err) = run(&["init", "gamma", "--dir", "../plants/x"], &deep);
    assert_eq!(code, 0, "{err}");
    let text =
        std::fs::read_to_string(scratch.path().join("fleet/eu/plants/x/gamma.yaml")).unwrap();
    assert!(
        text.starts_with("# yaml-language-server: $schema=../../../../schemas/plant.v1.json\n"),
        "{text}"
    );
}

#[test]
fn init_without_a_platform_image_needs_one_given() {
    let scratch = Scratch::new("init-image");
    let fleet = std::fs::read_to_string(
        root().join("crates/blueprint-compiler/embedded/default-fleet.toml"),
    )
    .unwrap();
    let without: String = fleet
        .lines()
        .filter(|l| !l.starts_with("odoo = "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(without, fleet, "the default fleet has a platform image");
    std::fs::write(scratch.path().join("fleet.toml"), without).unwrap();
    let d = scratch.arg();
    let (code, out, err) = run(&["init", "alpha", "--dir", &d], &root());
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(
        err.contains("--image registry.example.com/…@sha256:<digest>"),
        "{err}"
    );
    assert!(!scratch.path().join("alpha.yaml").exists());
    // A shared plant needs a cluster that runs a shared Odoo: refused up front, saying how.
    let (code, out, err) = run(
        &["init", "beta", "--tenancy", "shared", "--dir", &d],
        &root(),
    );
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(
        err.contains("no cluster of the fleet runs a shared Odoo")
            && err.contains("`odoo = { version, image, modules }` under `[clusters.<name>]`")
            && err.contains("dedicated-namespace")
            && !err.contains("BP1002"),
        "{err}"
    );
    assert!(!scratch.path().join("beta.yaml").exists());
    let image = "registry.example.com/odoo/odoo:17.0@sha256:721a1accefa20e9bab8d69ee144b6ebc13499634acc384f07ffaee45657e0875";
    let (code, _, err) = run(&["init", "alpha", "--image", image, "--dir", &d], &root());
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(scratch.path().join("alpha.yaml")).unwrap();
    assert!(
        text.contains(&format!(
            "  version: \"17.0\"\n  edition: community\n  image: \"{image}\"\n"
        )),
        "{text}"
    );
    assert_eq!(run(&["check", &d], &root()).0, 0);
    // A tag-only image would fail prod's digest policy: nothing is written.
    let (code, _, err) = run(
        &[
            "init",
            "beta",
            "--image",
            "registry.example.com/odoo/odoo:17.0",
            "--dir",
            &d,
        ],
        &root(),
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("BP4001") && err.contains("nothing written"),
        "{err}"
    );
    assert!(!scratch.path().join("beta.yaml").exists());
}

#[test]
fn init_writes_a_plant_that_passes_check_and_never_overwrites() {
    let scratch = Scratch::new("init");
    let dir = scratch.path();
    let d = scratch.arg();
    for (name, tier, tenancy) in [
        ("alpha", "standard", "dedicated-namespace"),
        ("beta", "basic", "shared"),
        ("gamma", "critical", "dedicated-cluster"),
    ] {
        let (code, _, err) = run(
            &[
                "init",
                name,
                "--tier",
                tier,
                "--tenancy",
                tenancy,
                "--dir",
                &d,
            ],
            &root(),
        );
        assert_eq!(code, 0, "{name}: {err}");
    }
    let (code, _, err) = run(&["check", &d], &root());
    assert_eq!(code, 0, "{err}");
    // The embedded default fleet, written out, gives the same result.
    assert_eq!(run(&["init", "--fleet", "--dir", &d], &root()).0, 0);
    assert!(
        std::fs::read_to_string(dir.join("fleet.toml"))
            .unwrap()
            .contains("kind = \"Fleet\"")
    );
    let (code, _, err) = run(&["check", &d], &root());
    assert_eq!(code, 0, "{err}");
    assert_eq!(run(&["init", "--fleet", "--dir", &d], &root()).0, 2);
    let before = std::fs::read(dir.join("alpha.yaml")).unwrap();
    let (code, _, err) = run(&["init", "alpha", "--dir", &d], &root());
    assert_eq!(code, 2);
    assert!(err.contains("already exists"));
    assert_eq!(std::fs::read(dir.join("alpha.yaml")).unwrap(), before);
    let (code, _, err) = run(&["init", "delta", "--tier", "gold", "--dir", &d], &root());
    assert_eq!(code, 2);
    assert!(err.contains("unknown tier `gold`"), "{err}");
}

#[test]
fn init_refuses_a_plant_that_would_break_the_fleet_elsewhere() {
    let scratch = Scratch::new("init-capacity");
    let plants = scratch.path().join("plants");
    copy_dir(&root().join("examples/manufacturing-group/plants"), &plants);
    assert_eq!(run(&["check", "plants"], scratch.path()).0, 0);
    // The new plant's own file is fine, but its cluster cannot hold it (BP3006 in fleet.toml).
    let (code, out, err) = run(
        &[
            "init",
            "x",
            "--tier",
            "critical",
            "--tenancy",
            "dedicated-namespace",
            "--dir",
            "plants",
        ],
        scratch.path(),
    );
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(
        err.contains("error[BP3006]")
            && err.contains("--> plants/fleet.toml:")
            && err.contains("nothing written"),
        "{err}"
    );
    assert!(!plants.join("x.yaml").exists());
    assert_eq!(run(&["check", "plants"], scratch.path()).0, 0);
}

#[test]
fn init_refuses_an_image_of_an_unsupported_odoo_version() {
    let scratch = Scratch::new("init-version");
    let d = scratch.arg();
    let image = "registry.example.com/odoo/odoo:16.0@sha256:721a1accefa20e9bab8d69ee144b6ebc13499634acc384f07ffaee45657e0875";
    let (code, out, err) = run(&["init", "alpha", "--image", image, "--dir", &d], &root());
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(
        err.contains("names Odoo 16.0") && err.contains("17.0, 18.0, 19.0"),
        "{err}"
    );
    assert!(!scratch.path().join("alpha.yaml").exists());
}

/// Runs `args` with one output stream closed by its reader and checks that `blueprint` ends
/// with the exit code it computed instead of panicking (exit 101).
fn assert_survives_closed(args: &[&str], stdout: Reader, stderr: Reader, want: i32) {
    let (code, _, err) = run_reading(args, &root(), stdout, stderr);
    assert!(
        code != 101 && !err.contains("panicked"),
        "`blueprint {}` panicked: exit {code}\n{err}",
        args.join(" ")
    );
    assert_eq!(code, want, "`blueprint {}`: {err}", args.join(" "));
}

#[test]
fn a_closed_stdout_or_stderr_ends_the_output_not_the_command() {
    let quickstart = ["--dir", "examples/quickstart/plants"];
    let explain = [&["explain", "lyon"][..], &quickstart].concat();
    let explain_json = [&explain[..], &["--format", "json"]].concat();
    let bp2004 = "tests/cases/check/bp2004-rto-infeasible/plants";
    // stdout closed (`| head -1`, or a reader gone before the first write).
    for (args, want) in [
        (&["rules"][..], 0),
        (&["rules", "BP2001"][..], 0),
        (&["schema"][..], 0),
        (&explain[..], 0),
        (&explain_json[..], 0),
        (&["check", bp2004, "--format", "json"][..], 1),
    ] {
        for reader in [Reader::ReadsOneLine, Reader::ClosesAtOnce] {
            assert_survives_closed(args, reader, Reader::Drains, want);
        }
    }
    // stderr closed (`2>&1 | head -1`): findings, errors and miette reports.
    for (args, want) in [
        (&["check", bp2004][..], 1),
        (&["check", "no/such/plants"][..], 2),
        (&[&["explain", "lyom"][..], &quickstart].concat()[..], 2),
        (&["rules", "BP7777"][..], 2),
    ] {
        for reader in [Reader::ReadsOneLine, Reader::ClosesAtOnce] {
            // With stderr closed a panic's message is lost too: the exit code tells.
            let (code, _, _) = run_reading(args, &root(), Reader::Drains, reader);
            assert_eq!(code, want, "`blueprint {}`", args.join(" "));
        }
    }
    // Both closed.
    assert_survives_closed(
        &["check", bp2004],
        Reader::ClosesAtOnce,
        Reader::ClosesAtOnce,
        1,
    );
}

#[test]
fn more_input_than_one_run_reads_is_refused_before_compiling() {
    let scratch = Scratch::new("big");
    let filler = format!("description: \"{}\"\n", "x".repeat(1000 * 1024));
    for i in 0..9 {
        std::fs::write(scratch.path().join(format!("p{i}.yaml")), &filler).unwrap();
    }
    let (code, _, err) = run(&["check", &scratch.arg()], &root());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("8 MiB"), "{err}");
}

#[cfg(unix)]
#[test]
fn symlinked_directories_are_not_followed_so_a_loop_ends() {
    let scratch = Scratch::new("loop");
    let plants = scratch.path().join("plants");
    std::fs::create_dir_all(plants.join(".shared")).unwrap();
    std::fs::write(plants.join("lyon.yaml"), lyon()).unwrap();
    // Followed, these would be read 2^depth times over.
    std::os::unix::fs::symlink(".", plants.join("a")).unwrap();
    std::os::unix::fs::symlink(&plants, plants.join("c")).unwrap();
    // A link to a file inside DIR is read like the file, under the link's name.
    std::fs::write(
        plants.join(".shared/paris.yaml"),
        lyon()
            .replace("name: lyon", "name: paris")
            .replace("host: lyon.", "host: paris."),
    )
    .unwrap();
    std::os::unix::fs::symlink(".shared/paris.yaml", plants.join("paris.yaml")).unwrap();
    let (code, _, err) = run(&["check", "plants"], scratch.path());
    assert_eq!(code, 0, "{err}");
    assert!(
        err.starts_with("checked plants: 2 plant files, 4 environments resolved"),
        "{err}"
    );
    let (code, out, err) = run(
        &["explain", "paris/prod", "--dir", "plants"],
        scratch.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("plants/paris.yaml:"), "{out}");
}

#[cfg(unix)]
#[test]
fn links_out_of_the_plants_directory_are_refused_unread() {
    let scratch = Scratch::new("escape");
    let plants = scratch.path().join("plants");
    std::fs::create_dir_all(&plants).unwrap();
    std::fs::write(plants.join("lyon.yaml"), lyon()).unwrap();
    std::fs::create_dir_all(scratch.path().join("elsewhere")).unwrap();
    std::fs::write(scratch.path().join("elsewhere/paris.yaml"), lyon()).unwrap();
    // A file link, a directory link, a chain whose last link leaves DIR, an absolute link.
    for (link, target, shown) in [
        (
            "paris.yaml",
            "../elsewhere/paris.yaml",
            "plants/paris.yaml is a symbolic link to ../elsewhere/paris.yaml (",
        ),
        ("up", "..", "plants/up is a symbolic link to .. ("),
        (
            "chain.yaml",
            "hop.txt",
            "plants/chain.yaml is a symbolic link to hop.txt (",
        ),
        (
            "environ.yaml",
            "/proc/self/environ",
            "plants/environ.yaml is a symbolic link to /proc/self/environ (",
        ),
    ] {
        let _ = std::fs::remove_file(plants.join("hop.txt"));
        std::os::unix::fs::symlink("../elsewhere/paris.yaml", plants.join("hop.txt")).unwrap();
        std::os::unix::fs::symlink(target, plants.join(link)).unwrap();
        for args in [
            &["check", "plants"][..],
            &["build", "plants", "--out", "out"],
            &["explain", "lyon", "--dir", "plants"],
        ] {
            let (code, _, err) = run(args, scratch.path());
            assert_eq!(code, 2, "{link}: {err}");
            let flat = err.split_whitespace().collect::<Vec<_>>().join(" ");
            let flat = flat.replace(" | ", " ");
            assert!(flat.contains(shown), "{link}: {err}");
            assert!(
                flat.contains("outside the plants directory plants"),
                "{err}"
            );
        }
        assert!(!scratch.path().join("out").exists());
        std::fs::remove_file(plants.join(link)).unwrap();
    }
    // A link out of DIR that is neither walked nor read (not named like an input) is left.
    std::os::unix::fs::symlink("../elsewhere/notes.md", plants.join("README.md")).unwrap();
    assert_eq!(run(&["check", "plants"], scratch.path()).0, 0);
}

#[cfg(unix)]
#[test]
fn a_fleet_toml_that_is_not_a_regular_file_is_refused() {
    let scratch = Scratch::new("fleet-kind");
    let plants = scratch.path().join("plants");
    std::fs::create_dir_all(&plants).unwrap();
    std::fs::write(plants.join("lyon.yaml"), lyon()).unwrap();
    std::fs::create_dir_all(plants.join("conf")).unwrap();
    let refused = |what: &str| {
        let (code, _, err) = run(&["check", "plants"], scratch.path());
        assert_eq!(code, 2, "{err}");
        let flat = err.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains(&format!("plants/fleet.toml is {what}, not a regular file")),
            "{err}"
        );
    };
    std::os::unix::fs::symlink("conf", plants.join("fleet.toml")).unwrap();
    refused("a symbolic link to a directory");
    std::fs::remove_file(plants.join("fleet.toml")).unwrap();
    std::fs::create_dir(plants.join("fleet.toml")).unwrap();
    refused("a directory");
    std::fs::remove_dir(plants.join("fleet.toml")).unwrap();
    std::os::unix::net::UnixListener::bind(plants.join("fleet.toml")).unwrap();
    refused("a socket");
    std::fs::remove_file(plants.join("fleet.toml")).unwrap();
    // A link to a regular file inside DIR is the fleet file.
    std::fs::write(
        plants.join("conf/fleet.txt"),
        std::fs::read(root().join("crates/blueprint-compiler/embedded/default-fleet.toml"))
            .unwrap(),
    )
    .unwrap();
    std::os::unix::fs::symlink("conf/fleet.txt", plants.join("fleet.toml")).unwrap();
    let (code, _, err) = run(&["check", "plants"], scratch.path());
    assert_eq!(code, 0, "{err}");
    assert!(
        err.starts_with("checked plants: 1 plant file, 2 environments resolved, fleet.toml\n"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn file_names_are_shown_as_they_are_or_refused() {
    let scratch = Scratch::new("names");
    let plants = scratch.path().join("plants");
    std::fs::create_dir_all(plants.join("france")).unwrap();
    std::fs::write(plants.join("france/lyon.yaml"), lyon()).unwrap();
    // `\` is a character of a name on Unix, not a separator: two files, two lock entries.
    std::fs::write(
        plants.join("france\\paris.yaml"),
        lyon()
            .replace("name: lyon", "name: paris")
            .replace("host: lyon.", "host: paris."),
    )
    .unwrap();
    let (code, _, err) = run(&["build", "plants", "--out", "out"], scratch.path());
    assert_eq!(code, 0, "{err}");
    let lock: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(scratch.path().join("out/blueprint.lock")).unwrap(),
    )
    .unwrap();
    let inputs: Vec<&String> = lock["inputs"].as_object().unwrap().keys().collect();
    assert_eq!(
        inputs,
        ["plants/france/lyon.yaml", "plants/france\\paris.yaml"]
    );
    let runbook = std::fs::read_to_string(scratch.path().join("out/runbooks/paris.md")).unwrap();
    assert!(
        runbook.contains("from `plants/france\\paris.yaml`"),
        "{runbook}"
    );
    // A line break, a bidirectional override or bytes that are not UTF-8 cannot be shown.
    for name in ["new\nline.yaml", "evil\u{202e}lmay.yaml"] {
        std::fs::write(plants.join(name), lyon()).unwrap();
        let (code, _, err) = run(&["check", "plants"], scratch.path());
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("blueprint::file_name"), "{err}");
        assert!(
            !err.contains(name),
            "the name is escaped in the message: {err}"
        );
        std::fs::remove_file(plants.join(name)).unwrap();
    }
    let name = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"bad\xff.yaml");
    std::fs::write(plants.join(name), lyon()).unwrap();
    let (code, _, err) = run(&["check", "plants"], scratch.path());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not UTF-8"), "{err}");
}

#[test]
fn a_plant_twenty_directories_deep_is_read() {
    let scratch = Scratch::new("deep");
    let mut deep = scratch.path().join("plants");
    for i in 0..20 {
        deep.push(format!("d{i}"));
    }
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("lyon.yaml"), lyon()).unwrap();
    let (code, _, err) = run(&["check", "plants"], scratch.path());
    assert_eq!(code, 0, "{err}");
    assert!(err.starts_with("checked plants: 1 plant file,"), "{err}");
    let (code, out, err) = run(&["explain", "lyon/prod", "--dir", "plants"], scratch.path());
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "plants/d0/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/d13/d14/d15/d16/d17/d18/d19/lyon.yaml"
        ),
        "{out}"
    );
}

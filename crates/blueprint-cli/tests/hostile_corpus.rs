//! The hostile-input corpus (`tests/cases/hostile/<category>/<case>/`), run through the binary:
//! `blueprint build plants --out out --format json` in a scratch copy of each case.
//!
//! A case is a directory with an `expect` file and, usually, a `plants/` directory; a
//! `generate` file names a generator of this file that adds what is better made at test time
//! (huge files, symlinks, unreadable files, a read-only or full OUT, an OUT elsewhere than
//! `out`, file names a macOS or Windows checkout cannot hold). `expect` holds `#`
//! comments (the first says what the case shows) and one or more of:
//!
//! - `BP0005 plants/lyon.yaml:12:10`: exit 1 with this finding at this place;
//! - `exit 2 <text>`: exit 2 with `<text>` in the message (I/O faults);
//! - `accepted`: exit 0 (CRLF line endings, for one);
//! - `inert <raw text>`: exit 0, and the text is inert: the plant file with `<raw text>`
//!   (as written in it, containing `HOSTILE`) replaced by a plain token builds to a tree of the
//!   same files and the same structure — YAML and JSON events and keys, HCL blocks, attributes,
//!   interpolations and directives, INI sections and keys, Markdown headings, fences and table
//!   cells, the lines of multi-line strings — so the text can only have landed as data.
//!
//! Whatever the expectation: no panic, nothing written to OUT unless the build succeeds (an OUT
//! that existed is byte-identical afterwards). Resources are measured by GNU time (which CI
//! installs): the tests, on the debug binary, hold each case to generous bounds that catch a
//! hang or a blow-up; the targets — one second of CPU and 256 MiB per case — are held on the
//! release binary by the benchmark `cargo bench -p blueprint-cli --bench hostile`, which runs
//! this same file (STANDARDS: speed targets live in benchmarks, not in timed unit tests).

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::print_stderr,
    missing_docs,
    dead_code, // the benchmark uses a part, the tests another
    unreachable_pub
)]

mod common;

use common::{copy_dir, root};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The categories of the corpus, each with what it covers; each holds at least
/// [`MIN_PER_CATEGORY`] cases and the corpus at least [`MIN_CASES`].
const CATEGORIES: &[(&str, &str)] = &[
    (
        "encoding",
        "BOM, NUL, invalid UTF-8, CRLF (accepted), tabs, empty files",
    ),
    (
        "yaml",
        "1.1 booleans, octal look-alikes, unquoted versions, anchors, merge keys, tags, several documents, duplicate keys at every level",
    ),
    ("keys", "unknown and misspelled keys at every level"),
    (
        "numbers",
        "out-of-range and overflowing numbers, .nan, .inf, negative sizes",
    ),
    ("contradictions", "between fields and between plants"),
    ("collisions", "uniqueness and network collisions"),
    (
        "injection",
        "YAML, HCL ${} and %{}, INI newlines and sections, Markdown, minijinja, shell metacharacters",
    ),
    (
        "paths",
        "path traversal and file-system names: .., /, reserved names, case-folding twins",
    ),
    (
        "unicode",
        "homoglyph and mixed-script hosts, bidi controls, zero-width characters, NFC/NFD twins",
    ),
    (
        "exhaustion",
        "alias bombs, deep nesting, 1 MiB strings, 100 000 items, a million plants' worth of files",
    ),
    (
        "filesystem",
        "unreadable file, symlink loop, symlink escaping DIR, a directory named like a plant file, read-only or full OUT",
    ),
];

const MIN_PER_CATEGORY: usize = 8;
const MIN_CASES: usize = 120;
/// The targets per case, held by the benchmark on the release binary: CPU seconds (user +
/// system) and peak resident memory, KiB.
pub const TARGETS: (f64, u64) = (1.0, 256 * 1024);
/// The bounds per case in the tests, on the debug binary: a hang or a blow-up, not a target.
const GUARDS: (f64, u64) = (10.0, 1024 * 1024);

/// Whether this run holds cases to [`TARGETS`] (the benchmark) rather than [`GUARDS`].
static TARGETED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// What replaces an `inert` text in its twin.
const TOKEN: &str = "zqxinertzqx";

fn corpus() -> PathBuf {
    root().join("tests/cases/hostile")
}

fn dirs(path: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// One line of `expect`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Finding(String),
    Exit2(String),
    Accepted,
    Inert(String),
}

fn read_expect(case: &Path) -> Result<(String, Vec<Expect>), String> {
    let text = std::fs::read_to_string(case.join("expect"))
        .map_err(|e| format!("no readable expect: {e}"))?;
    let mut about = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        if let Some(c) = line.strip_prefix('#') {
            if about.is_empty() {
                about = c.trim().to_string();
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let e = if line == "accepted" {
            Expect::Accepted
        } else if let Some(t) = line.strip_prefix("exit 2 ") {
            Expect::Exit2(t.to_string())
        } else if let Some(t) = line.strip_prefix("inert ") {
            if !t.contains("HOSTILE") {
                return Err(format!("`inert {t}`: the text must contain HOSTILE"));
            }
            Expect::Inert(t.to_string())
        } else if line.starts_with("BP") && line.contains(' ') {
            Expect::Finding(line.to_string())
        } else {
            return Err(format!("unknown expect line `{line}`"));
        };
        out.push(e);
    }
    if about.is_empty() {
        return Err("expect has no `#` line saying what the case shows".into());
    }
    if out.is_empty() {
        return Err("expect lists nothing".into());
    }
    Ok((about, out))
}

/// What one run of the binary did.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
    cpu: f64,
    rss_kib: u64,
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Runs `blueprint build plants --out <out> --format json` in `dir` under GNU time (and, for
/// permission cases as root, as `nobody`, whom permissions bind). `shell` is bash run before
/// the binary (limits, signal dispositions).
fn build(dir: &Path, out: &str, as_nobody: bool, shell: &str) -> Ran {
    let time = Path::new("/usr/bin/time");
    let bin = env!("CARGO_BIN_EXE_blueprint");
    let times = dir.join(".time");
    let mut script = String::from(shell);
    if as_nobody && is_root() {
        script.push_str("exec setpriv --reuid=65534 --regid=65534 --clear-groups ");
    } else {
        script.push_str("exec ");
    }
    let measured = time.exists();
    if measured {
        let _ = write!(
            script,
            "{} -f '%U %S %M' -o '{}' ",
            time.display(),
            times.display()
        );
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "GNU time (/usr/bin/time) is required in CI: the corpus measures each case"
        );
    }
    let _ = write!(script, "'{bin}' build plants --out '{out}' --format json");
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("BLUEPRINT_LOG")
        .output()
        .expect("bash runs");
    let (mut cpu, mut rss_kib) = (0.0, 0);
    if measured && let Ok(t) = std::fs::read_to_string(&times) {
        // The last line: a killed child makes time print a "Command terminated" line first.
        let last = t.lines().last().unwrap_or_default();
        let f: Vec<&str> = last.split_whitespace().collect();
        if let [u, s, m] = f.as_slice() {
            cpu = u.parse::<f64>().unwrap_or(0.0) + s.parse::<f64>().unwrap_or(0.0);
            rss_kib = m.parse().unwrap_or(0);
        }
        let _ = std::fs::remove_file(&times);
    }
    Ran {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        cpu,
        rss_kib,
    }
}

/// `code file:line:col` of every finding of a `--format json` run.
fn findings(stdout: &str) -> Vec<String> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(stdout) else {
        return Vec::new();
    };
    v["diagnostics"]
        .as_array()
        .map(|ds| {
            ds.iter()
                .map(|d| {
                    let code = d["code"].as_str().unwrap_or_default();
                    match d.get("location") {
                        Some(l) => format!(
                            "{code} {}:{}:{}",
                            l["file"].as_str().unwrap_or_default(),
                            l["line"],
                            l["column"]
                        ),
                        None => code.to_string(),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What is at `path`: the tree of a directory, or a file's bytes under the name `""`.
fn snapshot(path: &Path) -> BTreeMap<String, Vec<u8>> {
    if path.is_file() {
        BTreeMap::from([(String::new(), std::fs::read(path).unwrap_or_default())])
    } else {
        tree(path)
    }
}

/// Every file under `dir` with its bytes, by path relative to it (symlinks not followed).
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            let ty = e.file_type().unwrap();
            if ty.is_dir() {
                walk(base, &p, out);
            } else if ty.is_symlink() {
                let target = std::fs::read_link(&p).unwrap_or_default();
                out.insert(rel, target.to_string_lossy().as_bytes().to_vec());
            } else {
                out.insert(rel, std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

// ---------------------------------------------------------------------------------------------
// Generators: what a case's `generate` file names.

/// The quickstart plant, the base of generated plants.
fn quickstart() -> String {
    std::fs::read_to_string(root().join("examples/quickstart/plants/lyon.yaml")).unwrap()
}

/// A plant file of the quickstart under another name, host and CIDR-free: `lyon` → `name`.
fn plant_named(name: &str) -> String {
    quickstart().replace("lyon", name)
}

fn generate(dir: &Path, spec: &str) -> Result<Setup, String> {
    let plants = dir.join("plants");
    std::fs::create_dir_all(&plants).unwrap();
    let words: Vec<&str> = spec.split_whitespace().collect();
    let n = |i: usize| -> Result<usize, String> {
        words
            .get(i)
            .and_then(|w| w.replace('_', "").parse().ok())
            .ok_or_else(|| format!("`{spec}`: argument {i} must be a number"))
    };
    let mut setup = Setup::default();
    match words.first().copied().unwrap_or_default() {
        // `deep-nesting N`: N nested flow mappings as the value of `odoo.users`.
        "deep-nesting" => {
            let depth = n(1)?;
            let value = format!("{}1{}", "{k: ".repeat(depth), "}".repeat(depth));
            let text = quickstart().replacen("  users: 60\n", &format!("  users: {value}\n"), 1);
            std::fs::write(plants.join("lyon.yaml"), text).unwrap();
        }
        // `block-nesting N`: N nested block mappings under `odoo:` (2 spaces per level).
        "block-nesting" => {
            let depth = n(1)?;
            let mut nest = String::new();
            for i in 0..depth {
                let _ = writeln!(nest, "{}k:", " ".repeat(4 + 2 * i));
            }
            let text = quickstart().replacen("odoo:\n", &format!("odoo:\n  deep:\n{nest}"), 1);
            std::fs::write(plants.join("lyon.yaml"), text).unwrap();
        }
        // `flow-nesting N`: N nested flow sequences as one value.
        "flow-nesting" => {
            let depth = n(1)?;
            let value = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let text = quickstart().replacen("  users: 60\n", &format!("  users: {value}\n"), 1);
            std::fs::write(plants.join("lyon.yaml"), text).unwrap();
        }
        // `long-string FIELD BYTES`: a FIELD value (`description`, `displayName`) of BYTES.
        "long-string" => {
            let field = words.get(1).copied().unwrap_or("description");
            let bytes = n(2)?;
            let text = quickstart();
            let start = text
                .find(&format!("\n{field}:"))
                .ok_or(format!("no {field}"))?;
            let end = text[start + 1..]
                .find("\nregion:")
                .map(|e| e + start + 1)
                .ok_or("no region")?;
            let long = "x".repeat(bytes);
            let text = format!("{}\n{field}: \"{long}\"{}", &text[..start], &text[end..]);
            std::fs::write(plants.join("lyon.yaml"), text).unwrap();
        }
        // `list-items N`: N modules.
        "list-items" => {
            let count = n(1)?;
            let mut items = String::new();
            for i in 0..count {
                let _ = writeln!(items, "    - module_{i}");
            }
            let text = quickstart().replacen("  modules:\n", &format!("  modules:\n{items}"), 1);
            std::fs::write(plants.join("lyon.yaml"), text).unwrap();
        }
        // `many-files N`: N plant files (hard links, so that making them is quick; a new file
        // every 60 000 links, under ext4's limit of 65 000 links to one inode).
        "many-files" => {
            let count = n(1)?;
            let mut first = plants.join("p0000000.yaml");
            for i in 0..count {
                let path = plants.join(format!("p{i:07}.yaml"));
                if i % 60_000 == 0 {
                    std::fs::write(&path, plant_named(&format!("p{i:07}"))).unwrap();
                    first = path;
                } else {
                    std::fs::hard_link(&first, path).unwrap();
                }
            }
        }
        // `symlink-loop`: a directory symlink pointing at its own parent.
        "symlink-loop" => {
            std::os::unix::fs::symlink("..", plants.join("loop")).unwrap();
            std::os::unix::fs::symlink("b.yaml", plants.join("a.yaml")).unwrap();
            std::os::unix::fs::symlink("a.yaml", plants.join("b.yaml")).unwrap();
        }
        // `symlink-escape`: a plant file that is a symlink to a file outside DIR.
        "symlink-escape" => {
            std::fs::write(dir.join("outside.yaml"), plant_named("outside")).unwrap();
            std::os::unix::fs::symlink("../outside.yaml", plants.join("outside.yaml")).unwrap();
        }
        // `symlink-escape-dir`: a directory symlink to a directory outside DIR.
        "symlink-escape-dir" => {
            std::fs::create_dir_all(dir.join("elsewhere")).unwrap();
            std::fs::write(dir.join("elsewhere/far.yaml"), plant_named("far")).unwrap();
            std::os::unix::fs::symlink("../elsewhere", plants.join("elsewhere")).unwrap();
        }
        // `dangling-symlink`: a plant file that is a symlink to nothing.
        "dangling-symlink" => {
            std::os::unix::fs::symlink("missing.yaml", plants.join("gone.yaml")).unwrap();
        }
        // `dir-like-plant`: a directory named `x.yaml`.
        "dir-like-plant" => {
            std::fs::create_dir_all(plants.join("lyon2.yaml")).unwrap();
        }
        // `fifo [NAME]`: a named pipe called like a plant file, `pipe.yaml` unless NAME is given
        // (reading it would block forever).
        "fifo" => {
            let status = Command::new("mkfifo")
                .arg(plants.join(words.get(1).copied().unwrap_or("pipe.yaml")))
                .status()
                .unwrap();
            assert!(status.success());
        }
        // `unreadable FILE`: FILE (under plants/) with mode 000, run as nobody.
        "unreadable" => {
            let file = plants.join(words.get(1).copied().unwrap_or("lyon.yaml"));
            if !file.exists() {
                std::fs::write(&file, plant_named("lyon")).unwrap();
            }
            set_mode(&file, 0o000);
            setup.as_nobody = true;
        }
        // `unreadable-dir`: a subdirectory with mode 000, run as nobody.
        "unreadable-dir" => {
            let sub = plants.join("france");
            std::fs::create_dir_all(&sub).unwrap();
            std::fs::write(sub.join("paris.yaml"), plant_named("paris")).unwrap();
            set_mode(&sub, 0o000);
            setup.as_nobody = true;
        }
        // `read-only-out`: OUT holds the tree of an earlier plant, and is read-only.
        "read-only-out" => {
            setup.prebuilt = Some(plant_named("lyon").replace("users: 60", "users: 61"));
            setup.read_only_out = true;
            setup.as_nobody = true;
        }
        // `full-out BLOCKS`: OUT holds an earlier tree; files may not grow beyond BLOCKS KiB
        // (RLIMIT_FSIZE with SIGXFSZ ignored: writes fail with EFBIG as on a full disk).
        "full-out" => {
            setup.prebuilt = Some(plant_named("lyon").replace("users: 60", "users: 61"));
            setup.shell = format!("trap '' XFSZ; ulimit -f {}; ", n(1)?);
        }
        // `symlink LINK TARGET`: plants/LINK, a symbolic link to TARGET (as written: relative
        // to plants/, or absolute).
        "symlink" => {
            let (Some(link), Some(target)) = (words.get(1), words.get(2)) else {
                return Err(format!("`{spec}`: symlink LINK TARGET"));
            };
            std::os::unix::fs::symlink(target, plants.join(link)).unwrap();
        }
        // `copies FROM TO...`: plants/FROM copied to each plants/TO, then removed unless it is
        // one of them; for names a checkout on macOS or Windows cannot hold (case or
        // normalisation twins, `|`, `\`, 255 bytes), so that the repository can.
        "copies" => {
            let from = plants.join(words.get(1).ok_or("copies FROM TO...")?);
            let to = words.get(2..).unwrap_or_default();
            let bytes = std::fs::read(&from).map_err(|e| format!("{}: {e}", from.display()))?;
            for name in to {
                std::fs::write(plants.join(name), &bytes).unwrap();
            }
            if !to.contains(&words[1]) {
                std::fs::remove_file(from).unwrap();
            }
        }
        // `out PATH`: the build writes to PATH (relative to the case) instead of `out`.
        "out" => {
            setup.out = words.get(1).ok_or("out PATH")?.to_string();
        }
        // `out-prebuilt PATH`: OUT is PATH and holds the tree of an earlier plant.
        "out-prebuilt" => {
            setup.out = words.get(1).ok_or("out-prebuilt PATH")?.to_string();
            setup.prebuilt = Some(plant_named("lyon").replace("users: 60", "users: 61"));
        }
        // `out-file`: OUT is a regular file.
        "out-file" => {
            std::fs::write(dir.join("out"), "not a directory\n").unwrap();
        }
        // `flow-list N`: N modules in one flow sequence, on one line.
        "flow-list" => {
            let count = n(1)?;
            let items = vec!["sale"; count].join(",");
            let text = quickstart();
            let start = text.find("  modules:\n").ok_or("no modules")?;
            let end = text[start..].find("\n\n").ok_or("no end of odoo")? + start;
            let text = format!("{}  modules: [{items}]{}", &text[..start], &text[end..]);
            std::fs::write(plants.join("lyon.yaml"), text).unwrap();
        }
        // `padded BYTES`: the quickstart plant with a comment line that makes it BYTES long.
        "padded" => {
            std::fs::write(plants.join("lyon.yaml"), padded("lyon", n(1)?)?).unwrap();
        }
        // `padded-files N BYTES`: N plant files of BYTES each.
        "padded-files" => {
            let bytes = n(2)?;
            for i in 0..n(1)? {
                let name = format!("p{i:03}");
                std::fs::write(plants.join(format!("{name}.yaml")), padded(&name, bytes)?).unwrap();
            }
        }
        // `many-environments N`: N environments `e0`… (empty overlays) in place of `prod`.
        "many-environments" => {
            let mut envs = String::new();
            for i in 0..n(1)? {
                let _ = writeln!(envs, "  e{i}: {{}}");
            }
            let text = quickstart().replacen("  prod: {}\n", &envs, 1);
            std::fs::write(plants.join("lyon.yaml"), text).unwrap();
        }
        // `many-peers INTEGRATIONS PEERS`: INTEGRATIONS more inbound https integrations, each
        // with the same PEERS peers (distinct /32s).
        "many-peers" => {
            let mut peers = String::new();
            for p in 0..n(2)? {
                let _ = writeln!(peers, "      - 10.{}.{}.1/32", p / 256, p % 256);
            }
            let mut items = String::new();
            for i in 0..n(1)? {
                let _ = write!(
                    items,
                    "  - name: api{i}\n    kind: mes\n    direction: inbound\n    protocol: https\n    peers:\n{peers}    port: 443\n    path: /api/{i}\n"
                );
            }
            let text =
                quickstart().replacen("integrations:\n", &format!("integrations:\n{items}"), 1);
            std::fs::write(plants.join("lyon.yaml"), text).unwrap();
        }
        // `many-keys N`: N unknown top-level keys `k0: 1`… after `region`.
        "many-keys" => {
            let mut keys = String::new();
            for i in 0..n(1)? {
                let _ = writeln!(keys, "k{i}: 1");
            }
            let text =
                quickstart().replacen("region: eu-west\n", &format!("region: eu-west\n{keys}"), 1);
            std::fs::write(plants.join("lyon.yaml"), text).unwrap();
        }
        // `deep-dirs N LEN`: the quickstart plant N directories deep, each named with LEN `d`s
        // (made with relative `mkdir`/`cd`, so the path may pass PATH_MAX).
        "deep-dirs" => {
            let (depth, len) = (n(1)?, n(2)?);
            std::fs::write(dir.join("deep.yaml"), quickstart()).unwrap();
            let status = Command::new("bash")
                .arg("-c")
                .arg(format!(
                    "set -e; d=$(printf 'd%.0s' $(seq {len})); cd plants; for i in $(seq {depth}); do mkdir $d; cd $d; done; mv ../{up}deep.yaml lyon.yaml",
                    up = "../".repeat(depth)
                ))
                .current_dir(dir)
                .status()
                .unwrap();
            assert!(status.success());
        }
        other => return Err(format!("unknown generator `{other}`")),
    }
    Ok(setup)
}

/// The quickstart plant named `name`, with a comment line that makes it `bytes` long.
fn padded(name: &str, bytes: usize) -> Result<String, String> {
    let text = plant_named(name);
    let pad = bytes
        .checked_sub(text.len() + 2)
        .ok_or(format!("{bytes} bytes is shorter than the plant"))?;
    Ok(format!("{text}#{}\n", "x".repeat(pad)))
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// How a generated case is run.
#[derive(Default)]
struct Setup {
    as_nobody: bool,
    /// Build this plant file into OUT first (OUT then must be left as it is).
    prebuilt: Option<String>,
    read_only_out: bool,
    shell: String,
    /// OUT, relative to the case directory (`out` unless a generator says otherwise).
    out: String,
}

// ---------------------------------------------------------------------------------------------
// Structure of generated files, for `inert`.

/// Whether a text is the hostile value or the twin's token (both are data, not structure).
fn marked(s: &str) -> bool {
    s.contains("HOSTILE") || s.contains(TOKEN)
}

/// The lines of a multi-line text: each line's first word (or `S` for a line holding the
/// value), so a value that adds a line or a command shows.
fn lines_skeleton(s: &str, out: &mut Vec<String>) {
    out.push(format!("lines {}", s.lines().count()));
    for l in s.lines() {
        let first = l.split_whitespace().next().unwrap_or("");
        out.push(if marked(l) {
            format!("S{}", l.matches('|').count())
        } else {
            first.to_string()
        });
    }
}

fn yaml_skeleton(text: &str) -> Result<Vec<String>, String> {
    use saphyr_parser::{Event, Parser};
    let mut out = Vec::new();
    // Per open collection: is it a mapping, and is the next scalar a key.
    let mut stack: Vec<(bool, bool)> = Vec::new();
    let mut parser = Parser::new_from_str(text);
    while let Some(next) = parser.next_event() {
        let (ev, _) = next.map_err(|e| format!("YAML: {e}"))?;
        let is_key = matches!(stack.last(), Some((true, true)));
        if let Some((true, k)) = stack.last_mut() {
            *k = !*k;
        }
        match ev {
            Event::Scalar(v, _, _, tag) => {
                if tag.is_some() {
                    out.push("tag".into());
                }
                if is_key {
                    out.push(if marked(&v) {
                        "key S".into()
                    } else {
                        format!("key {v}")
                    });
                } else if v.contains('\n') && marked(&v) {
                    // One item: matched against the twin's (see `items_match`).
                    let mut lines = Vec::new();
                    lines_skeleton(&v, &mut lines);
                    out.push(format!("MLS {}", lines.join(" ⏎ ")));
                } else if v.contains('\n') {
                    lines_skeleton(&v, &mut out);
                } else {
                    out.push("S".into());
                }
            }
            Event::MappingStart(..) => {
                out.push("{".into());
                stack.push((true, true));
            }
            Event::SequenceStart(..) => {
                out.push("[".into());
                stack.push((false, false));
            }
            Event::MappingEnd | Event::SequenceEnd => {
                out.push("}".into());
                stack.pop();
                // The collection was a value: the next scalar of the parent mapping is a key.
            }
            Event::DocumentStart(_) => out.push("---".into()),
            Event::Alias(_) => out.push("alias".into()),
            _ => {}
        }
    }
    Ok(out)
}

fn hcl_skeleton(text: &str) -> Result<Vec<String>, String> {
    use hcl_edit::visit::{self, Visit};
    struct Skel(Vec<String>);
    impl Visit for Skel {
        fn visit_ident(&mut self, node: &hcl_edit::Decorated<hcl_edit::Ident>) {
            self.0.push(node.as_str().to_string());
        }
        fn visit_string(&mut self, node: &hcl_edit::Decorated<String>) {
            self.0.push(if marked(node) {
                "S".into()
            } else {
                format!("\"{}\"", node.as_str())
            });
        }
        fn visit_literal(&mut self, node: &hcl_edit::Spanned<String>) {
            let s: &str = node;
            self.0.push(if marked(s) {
                "L".into()
            } else {
                format!("'{s}'")
            });
        }
        fn visit_interpolation(&mut self, node: &hcl_edit::template::Interpolation) {
            self.0.push("${".into());
            visit::visit_interpolation(self, node);
            self.0.push("}".into());
        }
        fn visit_directive(&mut self, node: &hcl_edit::template::Directive) {
            self.0.push("%{".into());
            visit::visit_directive(self, node);
            self.0.push("}".into());
        }
        fn visit_block(&mut self, node: &hcl_edit::structure::Block) {
            self.0.push("block".into());
            visit::visit_block(self, node);
            self.0.push("end".into());
        }
    }
    let body = hcl_edit::parser::parse_body(text).map_err(|e| format!("HCL: {e}"))?;
    let mut s = Skel(Vec::new());
    s.visit_body(&body);
    Ok(s.0)
}

fn ini_skeleton(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            let t = l.trim();
            if t.starts_with('[') {
                if marked(t) {
                    "[S]".into()
                } else {
                    t.to_string()
                }
            } else if t.starts_with(['#', ';']) || t.is_empty() {
                String::new()
            } else if let Some((k, _)) = t.split_once('=') {
                if marked(k) {
                    "S=".into()
                } else {
                    format!("{}=", k.trim())
                }
            } else {
                format!("? {}", if marked(t) { "S" } else { t })
            }
        })
        .collect()
}

fn markdown_skeleton(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for l in text.lines() {
        let t = l.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            fenced = !fenced;
            out.push(format!("fence {}", t.trim_start_matches(['`', '~'])));
            continue;
        }
        if fenced {
            // A command line: its first word, and the value only as data.
            out.push(if marked(l) {
                format!("cmd S {}", l.split_whitespace().next().unwrap_or(""))
            } else {
                format!("cmd {l}")
            });
            continue;
        }
        let unescaped_pipes = l.replace("\\|", "").matches('|').count();
        let kind = if t.starts_with('#') {
            format!("h{}", t.chars().take_while(|c| *c == '#').count())
        } else if t.starts_with('|') {
            format!("row {unescaped_pipes}")
        } else if t.starts_with("- ") || t.starts_with("* ") {
            "item".into()
        } else if t.starts_with('<') {
            format!("html {}", if marked(t) { "S" } else { t })
        } else if t.is_empty() {
            String::new()
        } else {
            "p".into()
        };
        // A paragraph wraps differently with a longer value: consecutive lines count once.
        if kind == "p" && out.last().is_some_and(|k| k == "p") {
            continue;
        }
        out.push(kind);
    }
    out
}

fn skeleton(path: &str, bytes: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    if path.ends_with(".yaml") || path.ends_with(".yml") {
        yaml_skeleton(text)
    } else if path.ends_with(".tf") {
        hcl_skeleton(text)
    } else if path.ends_with(".conf") {
        Ok(ini_skeleton(text))
    } else if path.ends_with(".md") {
        Ok(markdown_skeleton(text))
    } else if path.ends_with(".json") || path.ends_with(".lock") {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("JSON: {e}"))?;
        let mut out = Vec::new();
        json_skeleton(&v, &mut out);
        Ok(out)
    } else {
        let mut out = Vec::new();
        lines_skeleton(text, &mut out);
        Ok(out)
    }
}

fn json_skeleton(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            out.push("{".into());
            for (k, v) in m {
                out.push(if marked(k) {
                    "key S".into()
                } else {
                    format!("key {k}")
                });
                json_skeleton(v, out);
            }
            out.push("}".into());
        }
        serde_json::Value::Array(a) => {
            out.push("[".into());
            for v in a {
                json_skeleton(v, out);
            }
            out.push("]".into());
        }
        _ => out.push("S".into()),
    }
}

/// Whether an item of the hostile tree's structure matches the twin's. A multi-line value
/// where the twin has a one-line value (`S`) is data: a plain value such as an annotation,
/// whose lines YAML keeps inside the scalar. Where the twin's value is itself multi-line (a
/// script, an embedded odoo.conf), the lines are compared one by one.
fn items_match(hostile: &str, twin: &str) -> bool {
    hostile == twin || (twin == "S" && hostile.starts_with("MLS "))
}

/// Compares the tree built from the hostile plant with its twin's; the first difference.
fn inert_difference(
    hostile: &BTreeMap<String, Vec<u8>>,
    twin: &BTreeMap<String, Vec<u8>>,
) -> Option<String> {
    let paths = |t: &BTreeMap<String, Vec<u8>>| -> Vec<String> {
        t.keys()
            .filter(|p| !p.ends_with("blueprint.lock"))
            .map(|p| if marked(p) { "S".into() } else { p.clone() })
            .collect()
    };
    if paths(hostile) != paths(twin) {
        return Some(format!(
            "different files: {:?}",
            paths(hostile)
                .into_iter()
                .filter(|p| !paths(twin).contains(p))
                .collect::<Vec<_>>()
        ));
    }
    for ((path, h), (_, t)) in hostile.iter().zip(twin) {
        if path.ends_with("blueprint.lock") {
            continue;
        }
        match (skeleton(path, h), skeleton(path, t)) {
            (Ok(a), Ok(b))
                if a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| items_match(x, y)) => {}
            (Ok(a), Ok(b)) => {
                let at = a
                    .iter()
                    .zip(&b)
                    .position(|(x, y)| !items_match(x, y))
                    .unwrap_or(a.len().min(b.len()));
                return Some(format!(
                    "{path}: structure differs at item {at}: {:?} vs the twin's {:?}",
                    a.get(at.saturating_sub(2)..(at + 3).min(a.len())),
                    b.get(at.saturating_sub(2)..(at + 3).min(b.len()))
                ));
            }
            (Err(e), _) => return Some(format!("{path}: does not parse: {e}")),
            (_, Err(e)) => return Some(format!("{path} (twin): does not parse: {e}")),
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Running a case.

/// Runs one case; `Err` says what failed. The `Ok` line is for the report.
fn run_case(case: &Path) -> Result<String, String> {
    let (_about, expects) = read_expect(case)?;
    let scratch = common::Scratch::new(&format!(
        "hostile-{}-{}",
        name(case.parent().unwrap()),
        name(case)
    ));
    let dir = scratch.path();
    set_mode(dir, 0o777);
    if case.join("plants").is_dir() {
        copy_dir(&case.join("plants"), &dir.join("plants"));
    }
    let setup = match std::fs::read_to_string(case.join("generate")) {
        Ok(spec) => generate(dir, spec.trim())?,
        Err(_) => Setup::default(),
    };
    let out = if setup.out.is_empty() {
        "out"
    } else {
        setup.out.as_str()
    };
    let before = if let Some(plant) = &setup.prebuilt {
        // OUT as an earlier build left it.
        let earlier = dir.join("earlier");
        std::fs::create_dir_all(earlier.join("plants")).unwrap();
        std::fs::write(earlier.join("plants/lyon.yaml"), plant).unwrap();
        let ran = build(&earlier, &format!("../{out}"), false, "");
        assert_eq!(ran.code, 0, "the earlier build: {}", ran.stderr);
        if setup.read_only_out {
            for (p, _) in tree(&dir.join(out)) {
                set_mode(&dir.join(out).join(p), 0o444);
            }
            let mut dirs = vec![dir.join(out)];
            while let Some(d) = dirs.pop() {
                for e in std::fs::read_dir(&d).unwrap().flatten() {
                    if e.file_type().unwrap().is_dir() {
                        dirs.push(e.path());
                    }
                }
                set_mode(&d, 0o555);
            }
        }
        Some(snapshot(&dir.join(out)))
    } else if dir.join(out).exists() {
        // OUT made by a generator (a file, the plants directory): left as it is on failure.
        Some(snapshot(&dir.join(out)))
    } else {
        None
    };
    let ran = build(dir, out, setup.as_nobody, &setup.shell);
    let mut problems = Vec::new();
    if ran.stderr.contains("panicked") || ran.code == 101 {
        problems.push(format!("panicked: {}", ran.stderr));
    }
    let (cpu_limit, rss_limit) = if TARGETED.load(std::sync::atomic::Ordering::Relaxed) {
        TARGETS
    } else {
        GUARDS
    };
    if ran.cpu > cpu_limit {
        problems.push(format!("took {:.2}s of CPU (limit {cpu_limit}s)", ran.cpu));
    }
    if ran.rss_kib > rss_limit {
        problems.push(format!(
            "took {} MiB (limit {} MiB)",
            ran.rss_kib / 1024,
            rss_limit / 1024
        ));
    }
    let out_now = snapshot(&dir.join(out));
    let wants_success = expects
        .iter()
        .any(|e| matches!(e, Expect::Accepted | Expect::Inert(_)));
    if ran.code != 0 {
        match &before {
            Some(b) if *b != out_now => {
                problems.push("OUT changed although the build failed".into());
            }
            None if dir.join(out).exists() => {
                problems.push(format!(
                    "wrote OUT although the build failed: {:?}",
                    out_now.keys().take(5).collect::<Vec<_>>()
                ));
            }
            _ => {}
        }
    }
    let got = findings(&ran.stdout);
    for e in &expects {
        match e {
            Expect::Finding(f) => {
                if ran.code != 1 {
                    problems.push(format!(
                        "exit {} (wanted 1 with {f}): {}",
                        ran.code,
                        ran.stderr.trim()
                    ));
                } else if !got.contains(f) {
                    problems.push(format!("wanted `{f}`, got {got:?}"));
                }
            }
            Expect::Exit2(text) => {
                if ran.code != 2 || !ran.stderr.contains(text.as_str()) {
                    problems.push(format!(
                        "wanted exit 2 with `{text}`, got exit {}: {} {got:?}",
                        ran.code,
                        ran.stderr.trim()
                    ));
                }
            }
            Expect::Accepted | Expect::Inert(_) => {
                if ran.code != 0 {
                    problems.push(format!(
                        "wanted success, got exit {}: {got:?} {}",
                        ran.code,
                        ran.stderr.trim()
                    ));
                }
            }
        }
    }
    if wants_success && ran.code == 0 {
        for e in &expects {
            let Expect::Inert(raw) = e else { continue };
            let twin = dir.join("twin");
            let mut replaced = 0;
            for (p, bytes) in tree(&dir.join("plants")) {
                let target = twin.join("plants").join(&p);
                std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                let text = String::from_utf8_lossy(&bytes);
                replaced += text.matches(raw.as_str()).count();
                std::fs::write(&target, text.replace(raw.as_str(), TOKEN)).unwrap();
            }
            if replaced == 0 {
                problems.push(format!("`{raw}` is not in the plant files"));
                continue;
            }
            let ran_twin = build(&twin, "out", false, "");
            if ran_twin.code != 0 {
                problems.push(format!("the twin does not build: {}", ran_twin.stdout));
                continue;
            }
            if let Some(d) = inert_difference(&out_now, &tree(&twin.join("out"))) {
                problems.push(format!("`{raw}` is not inert: {d}"));
            }
        }
    }
    if setup.read_only_out {
        // Let the scratch directory be removed.
        let mut dirs = vec![dir.join(out)];
        while let Some(d) = dirs.pop() {
            set_mode(&d, 0o755);
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                if e.file_type().unwrap().is_dir() {
                    dirs.push(e.path());
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(format!(
            "exit {}, {:.2}s CPU, {} MiB",
            ran.code,
            ran.cpu,
            ran.rss_kib / 1024
        ))
    } else {
        Err(problems.join("; "))
    }
}

/// Runs every case of a category: `ok` lines and failures.
fn category_results(category: &str) -> (usize, String, Vec<String>) {
    let cases = dirs(&corpus().join(category));
    let mut failures = Vec::new();
    let mut report = String::new();
    for case in &cases {
        match run_case(case) {
            Ok(line) => {
                let _ = writeln!(report, "ok   {category}/{}: {line}", name(case));
            }
            Err(e) => failures.push(format!("{category}/{}: {e}", name(case))),
        }
    }
    (cases.len(), report, failures)
}

/// The benchmark: every case of every category held to [`TARGETS`]; the report and the
/// failures.
pub fn run_all_targeted() -> (String, Vec<String>) {
    TARGETED.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut report = String::new();
    let mut failures = Vec::new();
    for (category, _) in CATEGORIES {
        let (_, r, f) = category_results(category);
        report.push_str(&r);
        failures.extend(f);
    }
    (report, failures)
}

#[cfg(test)]
fn run_category(category: &str) {
    let (count, report, failures) = category_results(category);
    eprint!("{report}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        count >= MIN_PER_CATEGORY,
        "{category} has {count} cases, fewer than {MIN_PER_CATEGORY}"
    );
}

macro_rules! categories {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run_category(stringify!($name));
            }
        )*
    };
}

categories!(
    encoding,
    yaml,
    keys,
    numbers,
    contradictions,
    collisions,
    injection,
    paths,
    unicode,
    exhaustion,
    filesystem,
);

#[test]
fn the_corpus_has_its_categories_and_enough_cases() {
    let found: Vec<String> = dirs(&corpus()).iter().map(|p| name(p)).collect();
    let mut wanted: Vec<String> = CATEGORIES.iter().map(|(c, _)| (*c).to_string()).collect();
    wanted.sort();
    assert_eq!(
        found, wanted,
        "tests/cases/hostile holds exactly the categories"
    );
    let total: usize = CATEGORIES
        .iter()
        .map(|(c, _)| dirs(&corpus().join(c)).len())
        .sum();
    assert!(total >= MIN_CASES, "{total} cases, fewer than {MIN_CASES}");
    for (c, _) in CATEGORIES {
        for case in dirs(&corpus().join(c)) {
            if let Err(e) = read_expect(&case) {
                panic!("{c}/{}: {e}", name(&case));
            }
        }
    }
}

/// The test of `inert`: a value that lands as data has the structure of its twin; one that
/// breaks out of its string, adds a line to a command, a heading to the runbook or an
/// interpolation to Terraform does not.
#[test]
fn the_inert_check_tells_data_from_structure() {
    let same = |path: &str, hostile: &str, twin: &str| {
        let (a, b) = (
            skeleton(path, hostile.as_bytes()).unwrap(),
            skeleton(path, twin.as_bytes()).unwrap(),
        );
        a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| items_match(x, y))
    };
    // YAML: quoted data vs a new key, a new document.
    assert!(same(
        "a.yaml",
        "a: \"HOSTILE\\nkind: x\"\nb: 1\n",
        "a: zqxinertzqx\nb: 1\n"
    ));
    assert!(!same(
        "a.yaml",
        "a: HOSTILE\nkind: x\nb: 1\n",
        "a: zqxinertzqx\nb: 1\n"
    ));
    assert!(!same(
        "a.yaml",
        "a: HOSTILE\n---\nb: 1\n",
        "a: zqxinertzqx\nb: 1\n"
    ));
    // A multi-line string (a script, an embedded odoo.conf): an added line shows.
    assert!(same(
        "a.yaml",
        "s: |\n  [options]\n  x = HOSTILE\n",
        "s: |\n  [options]\n  x = zqxinertzqx\n"
    ));
    assert!(!same(
        "a.yaml",
        "s: |\n  [options]\n  x = HOSTILE\n  admin_passwd = 1\n",
        "s: |\n  [options]\n  x = zqxinertzqx\n"
    ));
    // HCL: an escaped `$${` is a literal, `${` an interpolation, `%{` a directive.
    assert!(same(
        "a.tf",
        "x = \"HOSTILE $${a}\"\n",
        "x = \"zqxinertzqx\"\n"
    ));
    assert!(!same(
        "a.tf",
        "x = \"HOSTILE ${a}\"\n",
        "x = \"zqxinertzqx\"\n"
    ));
    assert!(!same(
        "a.tf",
        "x = \"HOSTILE %{if a}b%{endif}\"\n",
        "x = \"zqxinertzqx\"\n"
    ));
    assert!(!same(
        "a.tf",
        "x = \"HOSTILE\"\ny = 1\n",
        "x = \"zqxinertzqx\"\n"
    ));
    // INI: a new section or key.
    assert!(!same(
        "a.conf",
        "[a]\nk = HOSTILE\n[b]\n",
        "[a]\nk = zqxinertzqx\n"
    ));
    assert!(same(
        "a.conf",
        "[a]\nk = HOSTILE [b]\n",
        "[a]\nk = zqxinertzqx\n"
    ));
    // Markdown: a heading, a fence, a table cell; a command line in a fence.
    assert!(!same(
        "a.md",
        "# T\n\nHOSTILE\n# Owned\n",
        "# T\n\nzqxinertzqx\n"
    ));
    assert!(!same(
        "a.md",
        "| a | HOSTILE | x |\n",
        "| a | zqxinertzqx |\n"
    ));
    assert!(same(
        "a.md",
        "| a | HOSTILE \\| x |\n",
        "| a | zqxinertzqx |\n"
    ));
    assert!(!same(
        "a.md",
        "```sh\necho 'HOSTILE'\nrm -rf /\n```\n",
        "```sh\necho 'zqxinertzqx'\n```\n"
    ));
    assert!(same(
        "a.md",
        "Some text HOSTILE that\nwraps over lines.\n",
        "Some text zqxinertzqx.\n"
    ));
}

//! `blueprint`: the command line. The only reader of disk, environment and terminal.
//!
//! Each subcommand lives in `commands/<name>.rs`, calls the library and maps the outcome to
//! output and an exit code: 0 clean, 1 findings, 2 usage or I/O failure. All output goes
//! through `out.rs`, so a closed stdout or stderr (`blueprint rules | head -1`) ends nothing
//! but the output.

mod commands;
mod out;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// A compiler for Odoo plant infrastructure: typed plants in, a verified GitOps tree out.
#[derive(Debug, Parser)]
#[command(name = "blueprint", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Output format of commands that print findings or models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// For people.
    Text,
    /// For machines (docs/diagnostics-json.md).
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every validation pass on a plants directory; writes nothing.
    Check {
        /// Plants directory.
        #[arg(default_value = "plants")]
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// Exit 1 on warnings too.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Check, render and verify every plant, then write the GitOps tree all or nothing.
    Build {
        /// Plants directory.
        #[arg(default_value = "plants")]
        dir: PathBuf,
        /// Output directory (the GitOps tree).
        #[arg(long, default_value = "gitops")]
        out: PathBuf,
        /// Write nothing; exit 1 when OUT is not what the plants compile to.
        #[arg(long)]
        check: bool,
        /// Overwrite generated files that were edited by hand.
        #[arg(long)]
        force: bool,
        /// Allow deleting stateful objects (namespaces, volumes, databases, buckets) and more
        /// files than --max-deletions.
        #[arg(long)]
        allow_destroy: bool,
        /// Refuse (without --allow-destroy) a build that deletes more generated files than this.
        #[arg(long, value_name = "N", default_value_t = 50)]
        max_deletions: usize,
        /// Use this template set instead of the embedded blueprints.
        #[arg(long, value_name = "DIR")]
        blueprints: Option<PathBuf>,
        /// Render threads (default: the machine's cores).
        #[arg(long, short = 'j')]
        jobs: Option<usize>,
        /// Output format of findings.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// What a change of the plants does: each changed field with its origin and risk class,
    /// and the generated files it changes (docs/review.md).
    Diff {
        /// Plants directory.
        #[arg(default_value = "plants")]
        dir: PathBuf,
        /// The GitOps tree: its blueprint.lock is the "before" side with --lock (and outside
        /// git); its files are checked for hand edits whenever it has a lock.
        #[arg(long, default_value = "gitops")]
        out: PathBuf,
        /// Compare with the plants at this git revision (default: the merge base of HEAD and
        /// the default branch, origin's HEAD or main/master).
        #[arg(long, value_name = "REF", conflicts_with = "lock")]
        base: Option<String>,
        /// Compare with the models recorded in OUT's blueprint.lock instead of git.
        #[arg(long)]
        lock: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = commands::diff::DiffFormat::Text)]
        format: commands::diff::DiffFormat,
        /// Exit 1 when anything differs (like `git diff --exit-code`).
        #[arg(long)]
        exit_code: bool,
        /// Render threads (default: the machine's cores).
        #[arg(long, short = 'j')]
        jobs: Option<usize>,
    },
    /// Write a CODEOWNERS file for the generated tree from fleet.toml's [review] policy: each
    /// path with the groups that approve a high-risk change of it (docs/review.md).
    ReviewOwners {
        /// Plants directory.
        #[arg(default_value = "plants")]
        dir: PathBuf,
        /// Write the file here (e.g. .github/CODEOWNERS) instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// The generated tree's directory in the repository (e.g. gitops): paths are written
        /// from the repository's root, where forges read them.
        #[arg(long, value_name = "PATH")]
        prefix: Option<String>,
    },
    /// Show the resolved plant with the origin of every value, or where a generated file and
    /// a field in it come from.
    Explain {
        /// Plant name (or PLANT/ENV), or a generated path with an optional `#FIELD`
        /// (`plants/lyon/prod/pgbackrest/pgbackrest.conf#global.repo1-retention-full`).
        plant: String,
        /// Only this environment.
        #[arg(long)]
        env: Option<String>,
        /// Plants directory.
        #[arg(long, default_value = "plants")]
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// List diagnostic codes, or explain one at length.
    Rules {
        /// A code such as BP2001.
        code: Option<String>,
    },
    /// Print the JSON Schema of plant or fleet files.
    Schema {
        /// Which schema.
        #[arg(value_enum, default_value_t = commands::schema::Which::Plant)]
        which: commands::schema::Which,
        /// Write plant.v1.json and fleet.v1.json into this directory instead.
        #[arg(long)]
        write: Option<PathBuf>,
    },
    /// Scaffold a plant file that passes `check` (or, with `--fleet`, write out the embedded
    /// default fleet as `fleet.toml` to edit).
    Init {
        /// Plant name (DNS label, at most 40 characters).
        #[arg(required_unless_present = "fleet")]
        name: Option<String>,
        /// Write the embedded default fleet to DIR/fleet.toml instead of a plant.
        #[arg(long, conflicts_with_all = ["name", "tier", "tenancy"])]
        fleet: bool,
        /// Tier.
        #[arg(long, default_value = "standard")]
        tier: String,
        /// Tenancy.
        #[arg(long, default_value = "dedicated-namespace")]
        tenancy: String,
        /// Odoo image for a dedicated plant, pinned by digest
        /// (`registry/path/odoo:18.0@sha256:<digest>`); default: the fleet's platform image.
        #[arg(long, value_name = "REF", conflicts_with = "fleet")]
        image: Option<String>,
        /// Plants directory to write into.
        #[arg(long, default_value = "plants")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check {
            dir,
            format,
            deny_warnings,
        } => commands::check::run(&dir, format, deny_warnings),
        Command::Build {
            dir,
            out,
            check,
            force,
            allow_destroy,
            max_deletions,
            blueprints,
            jobs,
            format,
        } => commands::build::run(&commands::build::Args {
            dir: &dir,
            out: &out,
            check,
            force,
            allow_destroy,
            max_deletions,
            blueprints: blueprints.as_deref(),
            jobs: jobs.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
            }),
            format,
        }),
        Command::Diff {
            dir,
            out,
            base,
            lock,
            format,
            exit_code,
            jobs,
        } => commands::diff::run(&commands::diff::Args {
            dir: &dir,
            out: &out,
            base: base.as_deref(),
            lock,
            format,
            exit_code,
            jobs: jobs.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
            }),
        }),
        Command::ReviewOwners { dir, out, prefix } => {
            commands::review_owners::run(&dir, out.as_deref(), prefix.as_deref())
        }
        Command::Explain {
            plant,
            env,
            dir,
            format,
        } => commands::explain::run(&dir, &plant, env.as_deref(), format),
        Command::Rules { code } => commands::rules::run(code.as_deref()),
        Command::Schema { which, write } => commands::schema::run(which, write.as_deref()),
        Command::Init {
            name: Some(name),
            tier,
            tenancy,
            image,
            dir,
            fleet: false,
        } => commands::init::run(&dir, &name, &tier, &tenancy, image.as_deref()),
        Command::Init { dir, .. } => commands::init::write_fleet(&dir),
    };
    ExitCode::from(out::exit_code(code))
}

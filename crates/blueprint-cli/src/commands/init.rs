//! `blueprint init NAME [--tier] [--tenancy] [--dir]`: scaffold a plant that passes `check`.
//!
//! The scaffold is compiled together with the directory before it is written; if it would not
//! pass, nothing is written and the findings are shown.

use blueprint_compiler::{Input, fleet::Fleet};
use blueprint_syntax::doc::{Tenancy, Tier};
use std::path::Path;

fn pick<T: Copy>(all: &[T], texts: &[&str], given: &str, what: &str) -> Result<T, String> {
    texts
        .iter()
        .position(|t| *t == given)
        .and_then(|i| all.get(i).copied())
        .ok_or_else(|| format!("unknown {what} `{given}`; use one of: {}", texts.join(", ")))
}

/// The first two `10.x.0.0/16` networks (x from 200) that overlap no plant network and no
/// integration peer of the fleet being compiled.
fn free_networks(c: &blueprint_compiler::Compilation) -> (String, String) {
    let used: Vec<ipnet::IpNet> = c
        .plants
        .iter()
        .flat_map(|p| {
            p.cidr.iter().map(|v| v.value.clone()).chain(
                p.integrations
                    .iter()
                    .flat_map(|i| i.peers.iter().map(|v| v.value.clone())),
            )
        })
        .filter_map(|s| s.parse().ok())
        .collect();
    let mut free = (200u8..=255).filter_map(|x| {
        let net: ipnet::IpNet = format!("10.{x}.0.0/16").parse().ok()?;
        let overlaps = used
            .iter()
            .any(|u| u.contains(&net.network()) || net.contains(&u.network()));
        (!overlaps).then(|| net.to_string())
    });
    let prod = free.next().unwrap_or_else(|| "10.200.0.0/16".into());
    let staging = free.next().unwrap_or_else(|| "10.201.0.0/16".into());
    (prod, staging)
}

fn scaffold(
    fleet: &Fleet,
    nets: &(String, String),
    name: &str,
    tier: Tier,
    tenancy: Tenancy,
) -> String {
    let on_cluster = matches!(tenancy, Tenancy::Shared | Tenancy::DedicatedNamespace);
    let cluster = fleet
        .clusters
        .iter()
        .find(|(_, c)| tenancy != Tenancy::Shared || c.odoo.is_some())
        .map(|(n, c)| (n.clone(), c.region.value.clone()));
    let region = match (&cluster, on_cluster) {
        (Some((_, r)), true) => r.clone(),
        _ => fleet.regions.keys().next().cloned().unwrap_or_default(),
    };
    let image = fleet.clusters.values().find_map(|c| {
        c.odoo
            .as_ref()
            .map(|o| (o.version.value, o.image.value.clone()))
    });
    let (tier_v, zone) = (fleet.tier(tier), fleet.dns_zone());
    let mut y = format!(
        "# yaml-language-server: $schema=https://blueprint.dev/schemas/plant.v1.json\n\
         apiVersion: blueprint/v1\nkind: Plant\nname: {name}\ndisplayName: \"{name}\"\n\
         region: {region}\nowner:\n  team: erp-{name}\n  email: erp-{name}@{zone}\n  costCenter: \"CC-0000\"\n\
         tier: {}\ntenancy: {}\n",
        tier.as_str(),
        tenancy.as_str()
    );
    if let (true, Some((c, _))) = (on_cluster, &cluster) {
        y.push_str(&format!("cluster: {c}\n"));
    }
    let shared = tenancy == Tenancy::Shared;
    let (rpo, rto) = match (
        shared,
        cluster
            .as_ref()
            .and_then(|(c, _)| fleet.clusters.get(c))
            .and_then(|c| c.recovery),
    ) {
        (true, Some((rpo, rto, _))) => (rpo, rto),
        _ => (tier_v.rpo.value.max(300), tier_v.rto.value),
    };
    let dur = blueprint_compiler::units::fmt_duration;
    y.push_str(&format!(
        "recovery:\n  rpo: {}\n  rto: {}\n",
        dur(rpo),
        dur(rto)
    ));
    y.push_str("odoo:\n");
    if !shared {
        let (version, image) = image.map_or_else(
            || {
                (
                    "18.0".to_string(),
                    format!("{}/odoo/odoo:18.0", fleet.registry()),
                )
            },
            |(v, i)| (v.to_string(), i),
        );
        y.push_str(&format!(
            "  version: \"{version}\"\n  edition: community\n  image: {image}\n"
        ));
    }
    y.push_str("  users: 25\n");
    if !shared {
        y.push_str("  modules: [sale, stock, purchase, account]\n");
    }
    y.push_str("database:\n  size: 20Gi\n  writeRate: 1Gi/day\n");
    y.push_str(&format!(
        "ingress:\n  host: {name}.{zone}\n  adminAllowFrom: []\n  maxUploadSize: 64Mi\n"
    ));
    if matches!(
        tenancy,
        Tenancy::DedicatedCluster | Tenancy::DedicatedEnvironment
    ) {
        y.push_str(&format!(
            "network:\n  cidr: {}\nenvironments:\n  prod: {{}}\n  staging:\n    network:\n      cidr: {}\n",
            nets.0, nets.1
        ));
    }
    y.push_str("integrations: []\n");
    y
}

pub(crate) fn run(dir: &Path, name: &str, tier: &str, tenancy: &str) -> u8 {
    let tier = match pick(Tier::ALL, Tier::TEXTS, tier, "tier") {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let tenancy = match pick(Tenancy::ALL, Tenancy::TEXTS, tenancy, "tenancy") {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let path = dir.join(format!("{name}.yaml"));
    if path.exists() {
        eprintln!(
            "error: {} already exists; init never overwrites a plant file",
            path.display()
        );
        return 2;
    }
    let mut inputs = if dir.exists() {
        match crate::walk::read_inputs(dir) {
            Ok(i) => i,
            Err(e) => return super::fail(e),
        }
    } else {
        Vec::new()
    };
    let existing = blueprint_compiler::compile(&inputs);
    let nets = free_networks(&existing);
    let Some(fleet) = existing.fleet else {
        eprintln!(
            "error: the fleet file in {} has errors; run `blueprint check {}` first",
            dir.display(),
            dir.display()
        );
        return 1;
    };
    let text = scaffold(&fleet, &nets, name, tier, tenancy);
    let display = path.to_string_lossy().replace('\\', "/");
    inputs.push(Input {
        path: display.clone(),
        bytes: text.clone().into_bytes(),
        is_fleet: false,
    });
    let c = blueprint_compiler::compile(&inputs);
    let own: Vec<_> = c
        .diagnostics
        .iter()
        .filter(|d| {
            d.primary
                .as_ref()
                .is_some_and(|l| c.map.file(l.span.file).path == display)
        })
        .cloned()
        .collect();
    if own
        .iter()
        .any(|d| d.severity == blueprint_diagnostics::Severity::Error)
    {
        super::print_findings(&c.map, &own, crate::OutputFormat::Text);
        eprintln!("error: the scaffold for `{name}` would not pass check here; nothing written");
        return 1;
    }
    write_new(dir, &path, &text)
}

/// `blueprint init --fleet`: the embedded default fleet as `DIR/fleet.toml`, never overwriting.
pub(crate) fn write_fleet(dir: &Path) -> u8 {
    write_new(
        dir,
        &dir.join("fleet.toml"),
        blueprint_compiler::fleet::DEFAULT_FLEET,
    )
}

/// Creates `path` (and `dir`) with `text`; an existing file is never overwritten (exit 2).
fn write_new(dir: &Path, path: &Path, text: &str) -> u8 {
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return 2;
    }
    #[allow(clippy::disallowed_methods)]
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
    match written {
        Ok(()) => {
            println!(
                "wrote {}; edit it, then run `blueprint check {}`",
                path.display(),
                dir.display()
            );
            0
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!(
                "error: {} already exists; init never overwrites it",
                path.display()
            );
            2
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", path.display());
            2
        }
    }
}

//! `blueprint init`: the text of a new plant file that passes `check` against a fleet.
//!
//! 1. [`plant`] reads the options (name, tier, tenancy, image), picks a region and cluster of
//!    the fleet, the Odoo image (`--image`, else the fleet's platform image), objectives the
//!    tier and cluster can meet, and two networks no plant or peer of the fleet uses, and
//!    writes the YAML text.
//! 2. [`check`] compiles the directory it will join without and with that text, keeping only
//!    the findings the new file brings (wherever they are: a cluster's capacity in the fleet
//!    file, a name another plant already uses), so the caller writes nothing that would fail.
//!
//! Pure: the caller reads the directory, finds the schema path and writes the file.

use crate::fleet::Fleet;
use crate::{Compilation, Input, compile, units};
use blueprint_diagnostics::{Diagnostic, SourceMap};
use blueprint_syntax::doc::{OdooVersion, Tenancy, Tier};
use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

/// What `blueprint init NAME` was asked for.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// Plant name (a DNS label of at most 40 characters).
    pub name: &'a str,
    /// Tier, as written in files (`standard`).
    pub tier: &'a str,
    /// Tenancy, as written in files (`dedicated-namespace`).
    pub tenancy: &'a str,
    /// `odoo.image` to use instead of the fleet's platform image.
    pub image: Option<&'a str>,
    /// Path of `plant.v1.json` relative to the new file, for the editor's schema comment.
    pub schema: Option<&'a str>,
}

/// Why no scaffold was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// An option is invalid or the fleet cannot satisfy it (a usage error).
    Usage(String),
    /// The directory's fleet file has errors, so there is no fleet to scaffold against.
    BrokenFleet,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Usage(m) => f.write_str(m),
            Refusal::BrokenFleet => f.write_str("the fleet file has errors"),
        }
    }
}

fn pick<T: Copy>(all: &[T], texts: &[&str], given: &str, what: &str) -> Result<T, Refusal> {
    texts
        .iter()
        .position(|t| *t == given)
        .and_then(|i| all.get(i).copied())
        .ok_or_else(|| {
            Refusal::Usage(format!(
                "unknown {what} `{given}`; use one of: {}",
                texts.join(", ")
            ))
        })
}

/// The first two `10.x.0.0/16` networks (x from 200) that overlap no plant network and no
/// integration peer of the compiled fleet.
fn free_networks(c: &Compilation) -> (String, String) {
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

/// The version-looking start of an image tag: two digits, a dot and digits (`16.0` of
/// `16.0-20250101`, `18.01` of `18.01`), if the tag starts so.
fn version_prefix(tag: &str) -> Option<&str> {
    let b = tag.as_bytes();
    let major = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if major != 2 || b.get(2) != Some(&b'.') {
        return None;
    }
    let minor = b[3..].iter().take_while(|c| c.is_ascii_digit()).count();
    (minor > 0).then(|| &tag[..3 + minor])
}

/// The Odoo version an image's tag names (`…/odoo:17.0`, `…:17.0-20250101@sha256:…`), if any.
///
/// # Errors
/// A usage refusal when the tag starts with a version blueprint does not support (`16.0`).
fn version_of(image: &str) -> Result<Option<OdooVersion>, Refusal> {
    let Some(tag) = units::image(image).ok().and_then(|i| i.tag) else {
        return Ok(None);
    };
    let Some(named) = version_prefix(&tag) else {
        return Ok(None);
    };
    match OdooVersion::ALL
        .iter()
        .copied()
        .find(|v| v.as_str() == named)
    {
        Some(v) => Ok(Some(v)),
        None => Err(Refusal::Usage(format!(
            "the tag of `--image {image}` names Odoo {named}, which blueprint does not support; \
             pass an image of one of the supported versions: {}",
            OdooVersion::TEXTS.join(", ")
        ))),
    }
}

/// The version and image a dedicated plant runs: `--image` (its tag's version, else the
/// fleet's, else 18.0), or the platform image of the first cluster that has one.
fn odoo_image(fleet: &Fleet, given: Option<&str>) -> Result<(OdooVersion, String), Refusal> {
    let platform = fleet
        .clusters
        .values()
        .find_map(|c| c.odoo.as_ref())
        .map(|o| (o.version.value, o.image.value.clone()));
    match (given, platform) {
        (Some(image), platform) => {
            let version = version_of(image)?
                .or(platform.map(|(v, _)| v))
                .unwrap_or(OdooVersion::V18);
            Ok((version, image.to_string()))
        }
        (None, Some(platform)) => Ok(platform),
        (None, None) => Err(Refusal::Usage(format!(
            "the fleet names no platform Odoo image (no cluster has `odoo`), so there is no image \
             to scaffold with; pass the image to run, pinned by digest: `--image {}/…@sha256:<digest>`",
            fleet.registry()
        ))),
    }
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn quoted(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// The text of a new plant file for `opts`, placed in the fleet of `existing` (the directory
/// it will join, compiled).
///
/// # Errors
/// A [`Refusal`] when an option is invalid, the fleet offers no image and none was given, or
/// the fleet file has errors.
pub fn plant(existing: &Compilation, opts: &Options<'_>) -> Result<String, Refusal> {
    let tier = pick(Tier::ALL, Tier::TEXTS, opts.tier, "tier")?;
    let tenancy = pick(Tenancy::ALL, Tenancy::TEXTS, opts.tenancy, "tenancy")?;
    let name = opts.name;
    units::dns_label(name, 40)
        .map_err(|why| Refusal::Usage(format!("plant name `{name}` {why}")))?;
    let Some(fleet) = &existing.fleet else {
        return Err(Refusal::BrokenFleet);
    };
    let shared = tenancy == Tenancy::Shared;
    let odoo = if shared {
        if opts.image.is_some() {
            return Err(Refusal::Usage(
                "`--image` does not apply to tenancy `shared`: a shared plant runs its cluster's platform image"
                    .into(),
            ));
        }
        if !fleet.clusters.values().any(|c| c.odoo.is_some()) {
            return Err(Refusal::Usage(
                "no cluster of the fleet runs a shared Odoo, so a `shared` plant has nowhere to \
                 run; add one to a cluster in fleet.toml (`odoo = { version, image, modules }` \
                 under `[clusters.<name>]`), or choose `--tenancy dedicated-namespace`"
                    .into(),
            ));
        }
        None
    } else {
        Some(odoo_image(fleet, opts.image)?)
    };
    let nets = free_networks(existing);
    let on_cluster = matches!(tenancy, Tenancy::Shared | Tenancy::DedicatedNamespace);
    let cluster = fleet
        .clusters
        .iter()
        .find(|(_, c)| !shared || c.odoo.is_some())
        .map(|(n, c)| (n.clone(), c.region.value.clone()));
    let region = match (&cluster, on_cluster) {
        (Some((_, r)), true) => r.clone(),
        _ => fleet.regions.keys().next().cloned().unwrap_or_default(),
    };
    let (tier_v, zone) = (fleet.tier(tier), fleet.dns_zone());
    let mut y = String::new();
    if let Some(schema) = opts.schema {
        y.push_str(&format!("# yaml-language-server: $schema={schema}\n"));
    }
    y.push_str(&format!(
        "apiVersion: blueprint/v1\nkind: Plant\nname: {name}\ndisplayName: \"{name}\"\n\
         region: {region}\nowner:\n  team: erp-{name}\n  email: erp-{name}@{zone}\n  costCenter: \"CC-0000\"\n\
         tier: {}\ntenancy: {}\n",
        tier.as_str(),
        tenancy.as_str()
    ));
    if let (true, Some((c, _))) = (on_cluster, &cluster) {
        y.push_str(&format!("cluster: {c}\n"));
    }
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
    y.push_str(&format!(
        "recovery:\n  rpo: {}\n  rto: {}\n",
        units::fmt_duration(rpo),
        units::fmt_duration(rto)
    ));
    y.push_str("odoo:\n");
    if let Some((version, image)) = &odoo {
        y.push_str(&format!(
            "  version: \"{version}\"\n  edition: community\n  image: {}\n",
            quoted(image)
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
    Ok(y)
}

/// What makes two findings the same across compilations: code, message and rendered location
/// (`path:line:col`; file ids differ between compilations).
fn finding_key(map: &SourceMap, d: &Diagnostic) -> (&'static str, String, Option<String>) {
    (
        d.code.0,
        d.message.clone(),
        d.primary.as_ref().map(|l| map.location(l.span)),
    )
}

/// Compiles `inputs` (the directory `text` joins) without and with `text` at `path` (placed
/// where the sorted walk would read it), and keeps the findings of the second compilation the
/// first did not have, wherever they are located: if any is an error, adding the scaffold
/// would make `check` fail there (in the new file, or elsewhere, such as a cluster whose
/// capacity it exceeds). Findings the directory already had are not the scaffold's doing.
#[must_use]
pub fn check(inputs: &[Input], path: &str, text: &str) -> Compilation {
    let before = compile(inputs);
    let old: BTreeSet<_> = before
        .diagnostics
        .iter()
        .map(|d| finding_key(&before.map, d))
        .collect();
    let mut all = inputs.to_vec();
    let at = all
        .iter()
        .position(|i| Path::new(&i.path) > Path::new(path))
        .unwrap_or(all.len());
    all.insert(
        at,
        Input {
            path: path.to_string(),
            bytes: text.as_bytes().to_vec(),
            is_fleet: false,
        },
    );
    let mut c = compile(&all);
    let all_findings = std::mem::take(&mut c.diagnostics);
    c.diagnostics = all_findings
        .into_iter()
        .filter(|d| !old.contains(&finding_key(&c.map, d)))
        .collect();
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::DEFAULT_FLEET;

    const DIGEST: &str = "sha256:721a1accefa20e9bab8d69ee144b6ebc13499634acc384f07ffaee45657e0875";

    fn opts<'a>(name: &'a str, tier: &'a str, tenancy: &'a str) -> Options<'a> {
        Options {
            name,
            tier,
            tenancy,
            image: None,
            schema: None,
        }
    }

    fn fleet_input(text: &str) -> Input {
        Input {
            path: "plants/fleet.toml".into(),
            bytes: text.as_bytes().to_vec(),
            is_fleet: true,
        }
    }

    /// The default fleet without its shared cluster's platform image.
    fn fleet_without_platform_image() -> Input {
        let text: String = DEFAULT_FLEET
            .lines()
            .filter(|l| !l.starts_with("odoo = "))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_ne!(
            text.len(),
            DEFAULT_FLEET.len(),
            "the default fleet has a platform image"
        );
        fleet_input(&text)
    }

    fn errors(c: &Compilation) -> Vec<String> {
        c.diagnostics
            .iter()
            .filter(|d| d.severity == blueprint_diagnostics::Severity::Error)
            .map(|d| format!("{} {}", d.code, d.message))
            .collect()
    }

    #[test]
    fn every_tier_and_tenancy_the_default_fleet_allows_passes_check() {
        let existing = compile(&[]);
        for (name, tier, tenancy) in [
            ("alpha", "standard", "dedicated-namespace"),
            ("beta", "basic", "shared"),
            ("gamma", "critical", "dedicated-cluster"),
            ("delta", "standard", "dedicated-environment"),
        ] {
            let text = plant(&existing, &opts(name, tier, tenancy)).expect("scaffold");
            let path = format!("plants/{name}.yaml");
            let c = check(&[], &path, &text);
            assert_eq!(errors(&c), Vec::<String>::new(), "{name}:\n{text}");
            assert_eq!(c.plants.len(), 2, "prod and staging of {name}");
        }
    }

    #[test]
    fn dedicated_plant_runs_the_fleet_platform_image_by_default() {
        let text = plant(
            &compile(&[]),
            &opts("alpha", "standard", "dedicated-namespace"),
        )
        .expect("scaffold");
        assert!(text.contains("  version: \"18.0\"\n"), "{text}");
        assert!(
            text.contains("  image: \"registry.example.com/odoo/odoo:18.0@sha256:5f1d"),
            "{text}"
        );
    }

    #[test]
    fn given_image_is_used_with_the_version_of_its_tag() {
        let image = format!("registry.example.com/odoo/odoo:17.0-20250101@{DIGEST}");
        let o = Options {
            image: Some(&image),
            ..opts("alpha", "standard", "dedicated-namespace")
        };
        let text = plant(&compile(&[]), &o).expect("scaffold");
        assert!(text.contains("  version: \"17.0\"\n"), "{text}");
        assert!(text.contains(&format!("  image: \"{image}\"\n")), "{text}");
        assert_eq!(
            errors(&check(&[], "plants/alpha.yaml", &text)),
            Vec::<String>::new()
        );
    }

    #[test]
    fn given_image_without_a_version_tag_keeps_the_fleet_version() {
        for image in [
            format!("registry.example.com/odoo/odoo:custom@{DIGEST}"),
            format!("registry.example.com/odoo/odoo:v16.0@{DIGEST}"),
            format!("registry.example.com/odoo/odoo:1.2.3@{DIGEST}"),
            format!("registry.example.com/odoo/odoo@{DIGEST}"),
        ] {
            let o = Options {
                image: Some(&image),
                ..opts("alpha", "standard", "dedicated-cluster")
            };
            let text = plant(&compile(&[]), &o).expect("scaffold");
            assert!(text.contains("  version: \"18.0\"\n"), "{image}: {text}");
        }
    }

    #[test]
    fn given_image_of_an_unsupported_version_is_refused() {
        for (tag, named) in [
            ("16.0", "16.0"),
            ("16.0-20250101", "16.0"),
            ("20.0", "20.0"),
            ("18.01", "18.01"),
        ] {
            let image = format!("registry.example.com/odoo/odoo:{tag}@{DIGEST}");
            let o = Options {
                image: Some(&image),
                ..opts("alpha", "standard", "dedicated-namespace")
            };
            match plant(&compile(&[]), &o) {
                Err(Refusal::Usage(m)) => assert!(
                    m.contains(&format!("names Odoo {named},"))
                        && m.contains("supported versions: 17.0, 18.0, 19.0"),
                    "{m}"
                ),
                other => panic!("{tag}: {other:?}"),
            }
        }
        // A supported version followed by a build suffix is that version.
        let image = format!("registry.example.com/odoo/odoo:19.0.1@{DIGEST}");
        let o = Options {
            image: Some(&image),
            ..opts("alpha", "standard", "dedicated-namespace")
        };
        let text = plant(&compile(&[]), &o).expect("scaffold");
        assert!(text.contains("  version: \"19.0\"\n"), "{text}");
    }

    #[test]
    fn shared_plant_without_a_shared_odoo_in_the_fleet_is_refused() {
        let existing = compile(&[fleet_without_platform_image()]);
        assert!(existing.fleet.is_some(), "{:?}", existing.diagnostics);
        match plant(&existing, &opts("beta", "basic", "shared")) {
            Err(Refusal::Usage(m)) => assert!(
                m.contains("no cluster of the fleet runs a shared Odoo")
                    && m.contains("`odoo = { version, image, modules }` under `[clusters.<name>]`")
                    && m.contains("--tenancy dedicated-namespace"),
                "{m}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fleet_without_platform_image_and_no_image_given_is_refused() {
        let existing = compile(&[fleet_without_platform_image()]);
        assert!(existing.fleet.is_some(), "{:?}", existing.diagnostics);
        let Err(Refusal::Usage(m)) =
            plant(&existing, &opts("alpha", "standard", "dedicated-namespace"))
        else {
            panic!("expected a refusal");
        };
        assert!(
            m.contains("--image registry.example.com/…@sha256:<digest>"),
            "{m}"
        );
        // With an image the same fleet gets a plant that passes.
        let image = format!("registry.example.com/odoo/odoo:19.0@{DIGEST}");
        let o = Options {
            image: Some(&image),
            ..opts("alpha", "standard", "dedicated-namespace")
        };
        let text = plant(&existing, &o).expect("scaffold");
        assert!(text.contains("  version: \"19.0\"\n"), "{text}");
        let c = check(
            &[fleet_without_platform_image()],
            "plants/alpha.yaml",
            &text,
        );
        assert_eq!(errors(&c), Vec::<String>::new(), "{text}");
    }

    #[test]
    fn image_for_a_shared_plant_is_refused() {
        let o = Options {
            image: Some("registry.example.com/odoo/odoo:18.0"),
            ..opts("beta", "basic", "shared")
        };
        assert!(matches!(plant(&compile(&[]), &o), Err(Refusal::Usage(m)) if m.contains("shared")));
    }

    #[test]
    fn unknown_choices_and_bad_names_are_refused() {
        let existing = compile(&[]);
        for (o, want) in [
            (opts("alpha", "gold", "shared"), "unknown tier `gold`"),
            (
                opts("alpha", "basic", "private"),
                "unknown tenancy `private`",
            ),
            (opts("../etc", "basic", "shared"), "plant name `../etc`"),
            (opts("Alpha", "basic", "shared"), "plant name `Alpha`"),
        ] {
            match plant(&existing, &o) {
                Err(Refusal::Usage(m)) => assert!(m.contains(want), "{m}"),
                other => panic!("{want}: {other:?}"),
            }
        }
    }

    #[test]
    fn broken_fleet_is_refused() {
        let existing = compile(&[fleet_input("kind = 3\n")]);
        assert_eq!(
            plant(&existing, &opts("alpha", "standard", "shared")),
            Err(Refusal::BrokenFleet)
        );
    }

    #[test]
    fn schema_comment_is_written_only_when_a_schema_is_known() {
        let existing = compile(&[]);
        let plain = plant(&existing, &opts("alpha", "basic", "shared")).expect("scaffold");
        assert!(plain.starts_with("apiVersion: blueprint/v1\n"), "{plain}");
        let o = Options {
            schema: Some("../schemas/plant.v1.json"),
            ..opts("alpha", "basic", "shared")
        };
        let with = plant(&existing, &o).expect("scaffold");
        assert_eq!(
            with,
            format!("# yaml-language-server: $schema=../schemas/plant.v1.json\n{plain}")
        );
    }

    #[test]
    fn networks_skip_those_the_fleet_already_uses() {
        let first = plant(
            &compile(&[]),
            &opts("gamma", "critical", "dedicated-cluster"),
        )
        .expect("scaffold");
        assert!(first.contains("cidr: 10.200.0.0/16") && first.contains("cidr: 10.201.0.0/16"));
        let inputs = [Input {
            path: "plants/gamma.yaml".into(),
            bytes: first.into_bytes(),
            is_fleet: false,
        }];
        let existing = compile(&inputs);
        let second =
            plant(&existing, &opts("delta", "critical", "dedicated-cluster")).expect("scaffold");
        assert!(
            second.contains("cidr: 10.202.0.0/16") && second.contains("cidr: 10.203.0.0/16"),
            "{second}"
        );
        let c = check(&inputs, "plants/delta.yaml", &second);
        assert_eq!(errors(&c), Vec::<String>::new());
    }

    #[test]
    fn check_keeps_new_findings_located_outside_the_new_file() {
        // A cluster that holds the default fleet's shared Odoo but not one more critical plant.
        let small = DEFAULT_FLEET.replace(
            "capacity = { cpu = \"384\", memory = \"1536Gi\" }",
            "capacity = { cpu = \"64\", memory = \"1536Gi\" }",
        );
        assert_ne!(
            small, DEFAULT_FLEET,
            "the default fleet states its capacity"
        );
        let inputs = [fleet_input(&small)];
        let existing = compile(&inputs);
        assert_eq!(errors(&existing), Vec::<String>::new());
        let text =
            plant(&existing, &opts("alpha", "critical", "dedicated-namespace")).expect("scaffold");
        let c = check(&inputs, "plants/alpha.yaml", &text);
        let found = errors(&c);
        assert!(
            found.len() == 1 && found[0].starts_with("BP3006 "),
            "{found:?}"
        );
        let primary = c.diagnostics[0].primary.as_ref().expect("located");
        assert_eq!(c.map.file(primary.span.file).path, "plants/fleet.toml");
    }

    #[test]
    fn check_drops_the_findings_the_directory_already_had() {
        let broken = Input {
            path: "plants/other.yaml".into(),
            bytes: b"name: other\n".to_vec(),
            is_fleet: false,
        };
        assert!(!errors(&compile(std::slice::from_ref(&broken))).is_empty());
        let text = plant(&compile(&[]), &opts("alpha", "basic", "shared")).expect("scaffold");
        let c = check(&[broken], "plants/alpha.yaml", &text);
        assert_eq!(errors(&c), Vec::<String>::new());
        // A plant of the same name is a new finding, though located in the other file.
        let twin = Input {
            path: "plants/zeta.yaml".into(),
            bytes: text.clone().into_bytes(),
            is_fleet: false,
        };
        let c = check(&[twin], "plants/alpha.yaml", &text);
        assert!(!errors(&c).is_empty(), "a second `alpha` is refused");
        let located: Vec<&str> = c
            .diagnostics
            .iter()
            .filter_map(|d| d.primary.as_ref())
            .map(|l| c.map.file(l.span.file).path.as_str())
            .collect();
        assert_eq!(located, ["plants/zeta.yaml"]);
    }
}

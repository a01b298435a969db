//! Fleet-wide rules (DESIGN §4.4) and the generated-name limits (BP3xxx, BP4009). Plant-level
//! rules run during resolution, where each value's span is at hand.

use crate::fleet::Fleet;
use crate::model::{Origin, ResolvedPlant};
use crate::units::{self, fmt_cpu};
use blueprint_diagnostics::{Diagnostic, Span, codes};
use blueprint_syntax::doc::{Direction, Tenancy};
use std::collections::BTreeMap;

fn span_of(p: &ResolvedPlant, o: &Origin) -> Span {
    o.span()
        .or_else(|| p.name.origin.span())
        .unwrap_or_default()
}

/// Unique plant names (one finding per later definition, pointing at the first).
pub(crate) fn unique_names(names: &[(String, Span)], diags: &mut Vec<Diagnostic>) {
    let mut first: BTreeMap<&str, Span> = BTreeMap::new();
    for (name, span) in names {
        match first.get(name.as_str()) {
            Some(f) => diags.push(
                Diagnostic::new(codes::DUPLICATE_PLANT, format!("plant name `{name}` is used twice"))
                    .at(*span, "second plant with this name")
                    .also(*f, "first defined here")
                    .help("names become namespaces, directories and backup paths: give each plant its own"),
            ),
            None => {
                first.insert(name, *span);
            }
        }
    }
}

/// Hosts unique per (plant, environment) and inside the DNS zone, each finding once for the
/// place that writes the host (a fleet default serves many plants), and no plant host equal to
/// the host a client-certificate integration of another gets (`<integration>.<host>`, as
/// `lower` names it).
fn hosts(fleet: &Fleet, plants: &[ResolvedPlant], diags: &mut Vec<Diagnostic>) {
    let zone = fleet.dns_zone();
    let mut seen: BTreeMap<&str, &ResolvedPlant> = BTreeMap::new();
    let mut outside = std::collections::BTreeSet::new();
    let mut duplicates = std::collections::BTreeSet::new();
    for p in plants {
        let h = &p.ingress.host;
        let span = span_of(p, &h.origin);
        if !(h.value.ends_with(&format!(".{zone}"))) && outside.insert(span) {
            diags.push(
                Diagnostic::new(
                    codes::HOST_OUTSIDE_ZONE,
                    format!(
                        "ingress.host `{}` is outside the fleet's DNS zone `{zone}`",
                        h.value
                    ),
                )
                .at(span, "outside the zone")
                .help(format!(
                    "use a name ending in `.{zone}`, such as `{}.{zone}`",
                    p.name.value
                )),
            );
        }
        match seen.get(h.value.as_str()) {
            Some(other)
                if !(other.name.value == p.name.value && other.env == p.env)
                    && duplicates.insert((span, span_of(other, &other.ingress.host.origin))) =>
            {
                let d = Diagnostic::new(codes::DUPLICATE_HOST, format!("host `{}` is used by {}/{} and {}/{}", h.value, other.name.value, other.env, p.name.value, p.env))
                    .at(span, "second use")
                    .also(span_of(other, &other.ingress.host.origin), "first used here")
                    .help("every plant and environment needs its own host; non-prod environments default to `<plant>-<env>.<zone>`");
                diags.push(d);
            }
            Some(_) => {}
            None => {
                seen.insert(&h.value, p);
            }
        }
    }
    for p in plants {
        for i in p
            .integrations
            .iter()
            .filter(|i| i.mutual_tls && i.direction != Direction::Outbound)
        {
            let own = format!("{}.{}", i.name.value, p.ingress.host.value);
            let Some(other) = seen.get(own.as_str()) else {
                continue;
            };
            let span = span_of(other, &other.ingress.host.origin);
            if !duplicates.insert((span, span_of(p, &i.name.origin))) {
                continue;
            }
            diags.push(
                Diagnostic::new(
                    codes::DUPLICATE_HOST,
                    format!(
                        "host `{own}` of {}/{} is the host integration `{}` of {}/{} gets for its client certificates",
                        other.name.value, other.env, i.name.value, p.name.value, p.env
                    ),
                )
                .at(span, "taken by an integration")
                .also(
                    span_of(p, &i.name.origin),
                    format!("served on `{own}`"),
                )
                .help("choose another host; an integration that needs client certificates (EDI, supplier portal) is served on `<integration>.<plant host>`"),
            );
        }
    }
}

/// Overlapping networks between plants, and between a plant and another plant's peers;
/// inbound peers that are the whole internet.
fn networks(plants: &[ResolvedPlant], diags: &mut Vec<Diagnostic>) {
    struct Net<'a> {
        net: ipnet::IpNet,
        plant: &'a ResolvedPlant,
        what: String,
        span: Span,
        is_plant: bool,
    }
    let mut nets: Vec<Net<'_>> = Vec::new();
    for p in plants {
        if let Some(c) = &p.cidr
            && let Ok(net) = c.value.parse::<ipnet::IpNet>()
        {
            nets.push(Net {
                net,
                plant: p,
                what: format!("network of {}/{}", p.name.value, p.env),
                span: span_of(p, &c.origin),
                is_plant: true,
            });
        }
        for i in &p.integrations {
            // The peers together, merged: `0.0.0.0/1` plus `128.0.0.0/1` is the whole internet too.
            let parsed: Vec<ipnet::IpNet> = i
                .peers
                .iter()
                .filter_map(|peer| peer.value.parse().ok())
                .collect();
            let whole = ipnet::IpNet::aggregate(&parsed)
                .iter()
                .any(|n| n.prefix_len() == 0);
            if whole && matches!(i.direction, Direction::Inbound | Direction::Both) {
                let first = i.peers.first().map_or_else(
                    || span_of(p, &i.name.origin),
                    |peer| span_of(p, &peer.origin),
                );
                diags.push(
                    Diagnostic::new(codes::INBOUND_FROM_INTERNET, format!("integration `{}` of `{}` accepts inbound traffic from the whole internet ({})", i.name.value, p.name.value, i.peers.iter().map(|x| x.value.as_str()).collect::<Vec<_>>().join(", ")))
                        .at(first, "every address")
                        .help("list the peer's own networks; a supplier portal or EDI partner publishes its egress ranges"),
                );
            }
            for peer in &i.peers {
                let Ok(net) = peer.value.parse::<ipnet::IpNet>() else {
                    continue;
                };
                nets.push(Net {
                    net,
                    plant: p,
                    what: format!("peer of integration `{}` of {}", i.name.value, p.name.value),
                    span: span_of(p, &peer.origin),
                    is_plant: false,
                });
            }
        }
    }
    // Sweep over the networks sorted by first address: a network overlaps exactly those still
    // open when it starts, so the check is O(n log n + overlaps) rather than O(n²).
    let range = |n: &ipnet::IpNet| -> (u8, u128, u128) {
        match n {
            ipnet::IpNet::V4(v) => (
                4,
                u128::from(u32::from(v.network())),
                u128::from(u32::from(v.broadcast())),
            ),
            ipnet::IpNet::V6(v) => (6, u128::from(v.network()), u128::from(v.broadcast())),
        }
    };
    let mut order: Vec<usize> = (0..nets.len())
        .filter(|&i| nets[i].net.prefix_len() > 0)
        .collect();
    order.sort_by_key(|&i| {
        let (family, start, end) = range(&nets[i].net);
        (family, start, std::cmp::Reverse(end), nets[i].span)
    });
    let mut active: Vec<usize> = Vec::new();
    let mut reported = std::collections::BTreeSet::new();
    for &bi in &order {
        let b = &nets[bi];
        let (family, start, _) = range(&b.net);
        active.retain(|&ai| {
            let (f, _, end) = range(&nets[ai].net);
            f == family && end >= start
        });
        for &ai in &active {
            let a = &nets[ai];
            let same_plant_env =
                a.plant.name.value == b.plant.name.value && a.plant.env == b.plant.env;
            let relevant = (a.is_plant && b.is_plant && !same_plant_env)
                || (a.is_plant != b.is_plant
                    && (same_plant_env || a.plant.name.value != b.plant.name.value));
            // One written network two plants inherit (a fleet default) is one overlap, at it.
            let same_place = a.span == b.span;
            if !relevant || (same_place && a.plant.name.value == b.plant.name.value) {
                continue;
            }
            let (first, second) = if (a.span.file, a.span.start) <= (b.span.file, b.span.start) {
                (a, b)
            } else {
                (b, a)
            };
            if same_place && reported.insert((first.span, second.span)) {
                let tenancy = |p: &ResolvedPlant| span_of(p, &p.tenancy.origin);
                diags.push(
                    Diagnostic::new(
                        codes::OVERLAPPING_CIDR,
                        format!(
                            "{} ({}) is also the {} ({})",
                            second.what, second.net, first.what, first.net
                        ),
                    )
                    .at(second.span, "one network for several plants")
                    .also(tenancy(first.plant), format!("{}/{} inherits it", first.plant.name.value, first.plant.env))
                    .also(tenancy(second.plant), format!("{}/{} inherits it", second.plant.name.value, second.plant.env))
                    .help("a default network is the same network for every plant that inherits it: give each dedicated plant its own `network.cidr`"),
                );
            } else if reported.insert((first.span, second.span)) {
                diags.push(
                    Diagnostic::new(
                        codes::OVERLAPPING_CIDR,
                        format!(
                            "{} ({}) overlaps {} ({})",
                            second.what, second.net, first.what, first.net
                        ),
                    )
                    .at(second.span, "overlaps")
                    .also(first.span, "this network")
                    .help("networks that route to each other must not overlap: pick another block"),
                );
            }
        }
        active.push(bi);
    }
}

/// Shared clusters: capacity, maintenance windows and the shared PostgreSQL's budget.
fn clusters(fleet: &Fleet, plants: &[ResolvedPlant], diags: &mut Vec<Diagnostic>) {
    for (name, c) in &fleet.clusters {
        let tenants: Vec<&ResolvedPlant> = plants
            .iter()
            .filter(|p| p.cluster.as_ref().is_some_and(|cl| &cl.value == name))
            .collect();
        if tenants.is_empty() {
            continue;
        }
        // The shared Odoo serves every shared tenant once.
        let shared: Vec<&&ResolvedPlant> = tenants
            .iter()
            .filter(|p| p.tenancy.value == Tenancy::Shared)
            .collect();
        let shared_users: u64 = shared.iter().map(|p| u64::from(p.odoo.users.value)).sum();
        // The shared Odoo is sized like a plant's own, with the `standard` profile.
        let std = fleet.tier(blueprint_syntax::doc::Tier::Standard);
        let web = crate::resolve::sizing::web(shared_users, std);
        let (mut cpu, mut mem) = (0u64, 0u64);
        if !shared.is_empty() {
            // Web pods at the HPA maximum plus surge, and the cron pod.
            cpu += (web.max_replicas + web.surge) * web.cpu_limit_m + 1000;
            mem += (web.max_replicas + web.surge) * web.memory_limit + 2 * 1024 * 1024 * 1024;
        }
        for p in tenants
            .iter()
            .filter(|p| p.tenancy.value == Tenancy::DedicatedNamespace)
        {
            cpu += p.quota.cpu_m.value;
            mem += p.quota.memory.value;
        }
        if let Some((cap_cpu, cap_mem, span)) = c.capacity
            && (cpu > cap_cpu || mem > cap_mem)
        {
            let ns: Vec<&&ResolvedPlant> = tenants
                .iter()
                .filter(|p| p.tenancy.value == Tenancy::DedicatedNamespace)
                .collect();
            let note = if shared.is_empty() {
                format!(
                    "{} dedicated-namespace tenant environments, each counted with its quota (limits at the HPA maximum)",
                    ns.len()
                )
            } else {
                format!(
                    "{} dedicated-namespace tenant environments, each counted with its quota (limits at the HPA maximum), and the shared Odoo sized for {shared_users} users of {} shared tenant environments",
                    ns.len(),
                    shared.len()
                )
            };
            let mut d = Diagnostic::new(codes::CLUSTER_CAPACITY, format!("tenants of cluster `{name}` need {} CPU and {} memory; its capacity is {} CPU and {}", fmt_cpu(cpu), units::fmt_bytes_approx(mem), fmt_cpu(cap_cpu), units::fmt_bytes_approx(cap_mem)))
                .at(span, "capacity exceeded")
                .note(note)
                .help("raise the cluster's capacity, or move a plant to another cluster or to `dedicated-cluster`");
            // The largest dedicated-namespace tenants are the other places involved.
            for p in largest(&ns, |p| p.quota.cpu_m.value) {
                let label = format!(
                    "{}/{}: quota {} CPU, {}",
                    p.name.value,
                    p.env,
                    fmt_cpu(p.quota.cpu_m.value),
                    units::fmt_bytes_approx(p.quota.memory.value)
                );
                d = d.also(span_of(p, &p.tenancy.origin), label);
            }
            diags.push(d);
        }
        if let Some((w, tz, span)) = c.maintenance {
            let cw = units::window_utc(w, tz);
            // One finding per written window, not one per environment that inherits it.
            let mut seen = std::collections::BTreeSet::new();
            for p in &tenants {
                let Ok(ptz) = units::timezone(&p.maintenance.timezone.value) else {
                    continue;
                };
                let pw = units::window_utc(p.maintenance.window.value, ptz);
                let inside = (0..2).all(|i| {
                    let (cs, ce) = cw[i];
                    let (ps, pe) = pw[i];
                    (0..3).any(|k: i64| {
                        let shift = (k - 1) * 7 * 1440;
                        cs + shift >= ps && ce + shift <= pe
                    })
                });
                if !inside && seen.insert(span_of(p, &p.maintenance.window.origin)) {
                    diags.push(
                        Diagnostic::new(codes::CLUSTER_WINDOW_OUTSIDE_TENANT, format!("cluster `{name}` does maintenance {w} {tz}, outside the window {} {} of tenant {}", p.maintenance.window.value, p.maintenance.timezone.value, p.name.value))
                            .at(span_of(p, &p.maintenance.window.origin), "tenant's window")
                            .also(span, "cluster's window")
                            .help("widen the tenant's maintenance window to cover the cluster's, or move the plant"),
                    );
                }
            }
        }
        if let (Some((max, reserved, span)), false) = (c.postgres, shared.is_empty()) {
            // Shared tenants have only inbound HTTPS integrations (BP1008): no read-only roles.
            let (budget, detail) = crate::resolve::sizing::connection_budget(
                &web,
                u64::from(std.cron_threads.value),
                0,
            );
            let superuser = crate::resolve::sizing::SUPERUSER_RESERVED;
            let usable = u64::from(max).saturating_sub(u64::from(reserved) + superuser);
            if budget > usable {
                let mut d = Diagnostic::new(codes::CONNECTION_BUDGET, format!("the shared Odoo of cluster `{name}` may open {budget} connections; its PostgreSQL allows {usable}"))
                    .at(span, "too few connections")
                    .note(format!("{} shared tenant environments, {shared_users} users: {detail}; usable = max_connections {max} − superuser_reserved {superuser} − reserved {reserved} = {usable}", shared.len()));
                // The tenants with the most users are the other places involved.
                for p in largest(&shared, |p| u64::from(p.odoo.users.value)) {
                    d = d.also(
                        span_of(p, &p.odoo.users.origin),
                        format!("{} users ({}/{})", p.odoo.users.value, p.name.value, p.env),
                    );
                }
                diags.push(d.help(format!(
                    "raise `maxConnections` to {} or more, or move tenants to another cluster",
                    budget + superuser + u64::from(reserved)
                )));
            }
        }
    }
    for p in plants.iter().filter(|p| !p.database.shared) {
        let cap = fleet.tier(p.tier.value).max_connections_cap.clone();
        let need = p.database.max_connections.value;
        if need > cap.value {
            diags.push(
                Diagnostic::new(codes::CONNECTION_BUDGET, format!("{}/{} needs max_connections {need}; tier `{}` allows at most {}", p.name.value, p.env, p.tier.value, cap.value))
                    .at(span_of(p, &p.odoo.users.origin), "sizes the connection budget")
                    .note(format!(
                        "budget: {}; max_connections = budget + reserved {} + superuser_reserved {}, rounded up to 10 = {need}",
                        match &p.database.connection_budget.origin { Origin::Derived { detail, .. } => detail.clone(), _ => String::new() },
                        p.database.reserved_connections.value,
                        p.database.superuser_reserved_connections
                    ))
                    .help("lower odoo.users, or raise `tiers.<tier>.maxConnectionsCap` (or lower `tiers.<tier>.dbMaxconn`) in fleet.toml; docs/tiers.md lists the profile keys"),
            );
        }
    }
}

/// Names blueprint generates, against each target's length limit. With plant names of at most
/// 40 characters and environment names of at most 12, most fit by construction; the restore
/// test's names (`<plant>-<env>-pgbackrest-restore-test`, `<plant>-<env>-rds-restore-test`,
/// the RDS target `<plant>-<env>-restore-test`, the platform's
/// `platform_<cluster>-pgbackrest-restore-test`) do not, and are a finding when too long. The
/// check also keeps a change of either limit from slipping through. Objects inside a plant's
/// namespace have fixed names (`odoo-web`, `restore-test`) and need no check. The names are
/// spelled here as `lower::names` and `lower::database` spell them: keep the two in step.
/// Terraform's own IAM role names (`<plant>-<env>-` + `eks`, `flowlogs`, `rdsmon`…) are at most
/// 64 characters with these limits.
fn generated_names(plants: &[ResolvedPlant], diags: &mut Vec<Diagnostic>) {
    let mut platforms = std::collections::BTreeSet::new();
    for p in plants.iter().filter(|p| p.database.shared) {
        let Some(c) = &p.cluster else { continue };
        let name = format!("platform_{}-pgbackrest-restore-test", c.value);
        if name.len() > 64 && platforms.insert(c.value.clone()) {
            diags.push(
                Diagnostic::new(
                    codes::GENERATED_NAME_TOO_LONG,
                    format!(
                        "generated IAM role name of the shared platform's restore test `{name}` is {} characters; the limit is 64",
                        name.len()
                    ),
                )
                .at(span_of(p, &c.origin), "the cluster of this shared tenant")
                .help(format!(
                    "shorten the cluster name by {} characters",
                    name.len() - 64
                )),
            );
        }
    }
    for p in plants {
        let n = &p.name.value;
        if p.database.managed && !n.starts_with(|c: char| c.is_ascii_lowercase()) {
            diags.push(
                Diagnostic::new(codes::GENERATED_NAME_TOO_LONG, format!("the RDS instance identifier `{n}-{}` must start with a letter", p.env))
                    .at(span_of(p, &p.name.origin), "starts with a digit")
                    .help("Amazon RDS identifiers begin with a letter: rename the plant (e.g. `plant-2` instead of `2nd-plant`)"),
            );
        }
        // Bucket names depend on the organisation and region only: checked once per region in
        // `fleet::resolve`. `owner.team` is checked as a label where it is written.
        let mut names: Vec<(String, usize, &str)> = vec![
            (p.namespace.clone(), 63, "namespace"),
            (
                format!("{n}-{}-pgbackrest", p.env),
                64,
                "IAM role name (the organisation is in the role's path)",
            ),
            (
                format!("{n}-{}", p.env),
                63,
                "label value and RDS instance identifier",
            ),
        ];
        // The restore test's names (the `database` family's; Terraform creates the role).
        if p.database.managed {
            names.push((
                format!("{n}-{}-rds-restore-test", p.env),
                64,
                "IAM role name of the RDS restore test",
            ));
            names.push((
                format!("{n}-{}-restore-test", p.env),
                63,
                "RDS instance identifier of the restore test's target",
            ));
        } else if !p.database.shared {
            names.push((
                format!("{n}-{}-pgbackrest-restore-test", p.env),
                64,
                "IAM role name of the restore test",
            ));
        }
        for (name, limit, what) in names {
            if name.len() > limit {
                diags.push(
                    Diagnostic::new(
                        codes::GENERATED_NAME_TOO_LONG,
                        format!(
                            "generated {what} `{name}` is {} characters; the limit is {limit}",
                            name.len()
                        ),
                    )
                    .at(span_of(p, &p.name.origin), "name too long once combined")
                    .help(format!(
                        "shorten the plant or environment name by {} character{}",
                        name.len() - limit,
                        if name.len() - limit == 1 { "" } else { "s" }
                    )),
                );
            }
        }
    }
}

/// BP3011: `<plant>-<env>` must name one plant environment only: plant `a` with environment
/// `b-prod` and plant `a-b` in `prod` would share namespace `a-b-prod` (and backup paths).
fn namespaces(plants: &[ResolvedPlant], diags: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<&str, &ResolvedPlant> = BTreeMap::new();
    for p in plants {
        match seen.get(p.namespace.as_str()) {
            Some(first) if first.name.value != p.name.value => diags.push(
                Diagnostic::new(
                    codes::NAMESPACE_COLLISION,
                    format!(
                        "namespace `{}` would hold both {}/{} and {}/{}",
                        p.namespace, first.name.value, first.env, p.name.value, p.env
                    ),
                )
                .at(span_of(p, &p.name.origin), format!("{} in environment {}", p.name.value, p.env))
                .also(span_of(first, &first.name.origin), format!("{} in environment {}", first.name.value, first.env))
                .help("rename the environment or the plant so that `<plant>-<env>` differs; namespaces, directories and backup paths are derived from it"),
            ),
            Some(_) => {}
            None => {
                seen.insert(&p.namespace, p);
            }
        }
    }
}

/// Every fleet-wide rule.
pub(crate) fn check_fleet(fleet: &Fleet, plants: &[ResolvedPlant], diags: &mut Vec<Diagnostic>) {
    namespaces(plants, diags);
    hosts(fleet, plants, diags);
    networks(plants, diags);
    clusters(fleet, plants, diags);
    generated_names(plants, diags);
}

/// The three tenants with the largest `key`, largest first (ties by name and environment).
fn largest<'a>(
    tenants: &[&&'a ResolvedPlant],
    key: impl Fn(&ResolvedPlant) -> u64,
) -> Vec<&'a ResolvedPlant> {
    let mut v: Vec<&ResolvedPlant> = tenants.iter().map(|p| **p).collect();
    v.sort_by(|a, b| {
        key(b)
            .cmp(&key(a))
            .then_with(|| (&a.name.value, &a.env).cmp(&(&b.name.value, &b.env)))
    });
    v.truncate(3);
    v
}

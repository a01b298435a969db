//! A deterministic generator of N-plant fleets: the same `n` always gives the same bytes.
//! Plants cycle through the four tenancies and three tiers, every plant has integrations, and
//! the fleet passes `check` with no finding (a test pins that).

use blueprint_compiler::Input;

const CLUSTER_SIZE: usize = 40;

/// A made-up but well-formed image digest (64 hex digits), different for every `i`.
fn digest(i: usize) -> String {
    let i = i as u128;
    format!(
        "{:032x}{:032x}",
        (i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835),
        (i + 7).wrapping_mul(0x2545_f491_4f6c_dd1d_9e37_79b9_7f4a_7c15)
    )
}

/// `fleet.toml` for `n` plants: one shared cluster per 40 plants.
#[must_use]
pub fn fleet(n: usize) -> String {
    let mut s = String::from(
        "apiVersion = \"blueprint/v1\"\nkind = \"Fleet\"\n\n[organization]\nname = \"bench\"\ndnsZone = \"erp.bench.example\"\ngitopsRepo = \"https://git.bench.example/gitops.git\"\nimageRegistry = \"registry.bench.example\"\n\n[cloud]\nprovider = \"aws\"\naccountId = \"123456789012\"\n\n[regions.eu-west]\ncloudRegion = \"eu-west-3\"\nzones = [\"eu-west-3a\", \"eu-west-3b\", \"eu-west-3c\"]\nbackupPeer = \"eu-central\"\n\n[regions.eu-central]\ncloudRegion = \"eu-central-1\"\nzones = [\"eu-central-1a\", \"eu-central-1b\", \"eu-central-1c\"]\nbackupPeer = \"eu-west\"\n\n[defaults.maintenance]\nwindow = \"Sun 01:00-06:00\"\ntimezone = \"Europe/Paris\"\n",
    );
    for c in 0..n.div_ceil(CLUSTER_SIZE) {
        let region = if c % 2 == 0 { "eu-west" } else { "eu-central" };
        s.push_str(&format!(
            "\n[clusters.shared-{c}]\nregion = \"{region}\"\noidcIssuer = \"https://oidc.bench.example/{c}\"\ncapacity = {{ cpu = \"4000\", memory = \"16Ti\" }}\nmaintenance = {{ window = \"Sun 02:00-04:00\", timezone = \"Europe/Paris\" }}\nrecovery = {{ rpo = \"15m\", rto = \"8h\" }}\npostgres = {{ maxConnections = 4000, reservedConnections = 10 }}\nodoo = {{ version = \"18.0\", image = \"registry.bench.example/odoo/odoo:18.0@sha256:{}\" }}\n",
            digest(1_000_000 + c)
        ));
    }
    s
}

/// Plant number `i` of a generated fleet, as YAML.
#[must_use]
pub fn plant(i: usize) -> String {
    let tenancy = [
        "dedicated-namespace",
        "dedicated-cluster",
        "dedicated-environment",
        "shared",
    ][i % 4];
    let tier = match tenancy {
        "shared" => "basic",
        _ if i.is_multiple_of(3) => "critical",
        _ => "standard",
    };
    let cluster = i / CLUSTER_SIZE;
    let region = if cluster.is_multiple_of(2) {
        "eu-west"
    } else {
        "eu-central"
    };
    let name = format!("plant-{i:05}");
    let mut y = format!(
        "apiVersion: blueprint/v1\nkind: Plant\nname: {name}\ndisplayName: \"Plant {i}\"\nregion: {region}\nowner:\n  team: team-{}\n  email: team-{}@bench.example\n  costCenter: \"CC-{i}\"\ntier: {tier}\ntenancy: {tenancy}\n",
        i % 17,
        i % 17
    );
    if matches!(tenancy, "shared" | "dedicated-namespace") {
        y.push_str(&format!("cluster: shared-{cluster}\n"));
    }
    y.push_str(if tenancy == "shared" {
        "recovery:\n  rpo: 15m\n  rto: 8h\n"
    } else {
        "recovery:\n  rpo: 5m\n  rto: 4h\n  pitrWindow: 14d\n"
    });
    y.push_str("odoo:\n");
    if tenancy != "shared" {
        y.push_str(&format!("  version: \"18.0\"\n  edition: community\n  image: registry.bench.example/odoo/odoo:18.0@sha256:{}\n  modules: [sale, stock, mrp]\n", digest(i)));
    }
    y.push_str(&format!("  users: {}\n", 5 + i % 40));
    y.push_str(&format!(
        "database:\n  size: {}Gi\n  writeRate: 2Gi/day\n",
        10 + i % 90
    ));
    y.push_str(&format!(
        "ingress:\n  host: {name}.erp.bench.example\n  adminAllowFrom: [192.0.2.0/24]\n"
    ));
    let (a, b) = (i / 250, i % 250);
    if matches!(tenancy, "dedicated-cluster" | "dedicated-environment") {
        // A /21 of its own per environment (the smallest network a dedicated cluster's VPC
        // takes): prod in 10.0.0.0/9, staging in 10.128.0.0/9; `i / 2` numbers the dedicated
        // plants (i % 4 is 1 or 2), so up to 8192 plants fit.
        let k = i / 2;
        let (hi, lo) = (k / 32, (k % 32) * 8);
        y.push_str(&format!("network:\n  cidr: 10.{hi}.{lo}.0/21\nenvironments:\n  prod: {{}}\n  staging:\n    network:\n      cidr: 10.{}.{lo}.0/21\n", 128 + hi));
    }
    y.push_str(&format!(
        "integrations:\n  - name: mes\n    kind: mes\n    direction: inbound\n    protocol: https\n    peers: [172.{}.{b}.0/28]\n    path: /api/mes\n    rateLimit: 100/s\n",
        16 + a
    ));
    y
}

/// A whole fleet of `n` plants as compiler inputs (`plants/fleet.toml`, `plants/plant-NNNNN.yaml`).
#[must_use]
pub fn inputs(n: usize) -> Vec<Input> {
    let mut v = vec![Input {
        path: "plants/fleet.toml".into(),
        bytes: fleet(n).into_bytes(),
        is_fleet: true,
    }];
    v.extend((0..n).map(|i| Input {
        path: format!("plants/plant-{i:05}.yaml"),
        bytes: plant(i).into_bytes(),
        is_fleet: false,
    }));
    v
}

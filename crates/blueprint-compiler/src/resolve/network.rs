//! What reaches the plant and what it reaches: ingress (host, admin allow list, upload limit),
//! `network.cidr` of the dedicated tenancies, and integrations.

use super::placement::Header;
use super::{Cx, MI};
use crate::fleet::{bad, parse_with};
use crate::model::{Ingress, Integration, Origin, Val};
use crate::units::{self, fmt_bytes};
use blueprint_diagnostics::{Diagnostic, codes};
use blueprint_syntax::Spanned;
use blueprint_syntax::doc::{self, Direction, IntegrationKind, PlantDoc, Protocol, Tenancy};

/// Odoo refuses request bodies above this, whatever the proxy allows.
pub(crate) const ODOO_MAX_BODY: u64 = 128 * MI;
/// The smallest request body limit: less rounds to Traefik's 0, no limit.
const MIN_UPLOAD: u64 = MI;

/// Resolves `ingress`; `None` (after reporting why) when prod has no host.
pub(crate) fn ingress(cx: &mut Cx<'_>, doc: &PlantDoc, head: &Header<'_>) -> Option<Ingress> {
    let ing = doc.ingress.as_ref().map(|i| &i.value);
    let host = host(cx, ing, head);
    let admin_allow = ing.and_then(|i| i.admin_allow_from.as_ref()).map_or_else(
        || {
            Val::derived(
                Vec::new(),
                "ingress.adminAllowFrom",
                "empty: the database manager and admin paths are blocked",
            )
        },
        |a| {
            for c in &a.value {
                parse_with(
                    cx.diags,
                    c,
                    codes::INVALID_CIDR,
                    "CIDR",
                    "write a network such as `10.20.0.0/16`",
                    |s| s.parse::<ipnet::IpNet>().map_err(|e| e.to_string()),
                );
            }
            Val::new(
                a.value.iter().map(|x| x.value.clone()).collect(),
                cx.layers.origin(a.span),
            )
        },
    );
    let max_upload = max_upload(cx, ing);
    Some(Ingress {
        host: host?,
        admin_allow_from: admin_allow,
        max_upload_size: max_upload?,
    })
}

/// `ingress.host`: required in prod; other environments default to `<plant>-<env>.<dnsZone>`
/// unless their overlay sets one. It must be a DNS name (BP4008).
fn host(cx: &mut Cx<'_>, ing: Option<&doc::Ingress>, head: &Header<'_>) -> Option<Val<String>> {
    let (l, env) = (cx.layers, cx.env());
    let host = match ing.and_then(|i| i.host.as_ref()) {
        Some(h) if env == "prod" || l.overlay.contains(&h.span) => Some(l.val(h)),
        _ if env != "prod" => Some(Val::derived(
            format!("{}-{env}.{}", head.name.value, cx.fleet.dns_zone()),
            "ingress.host",
            format!("<plant>-<env>.<dnsZone> for environment {env}"),
        )),
        _ => {
            cx.missing(
                "ingress.host",
                ": the prod host name inside the fleet's DNS zone",
            );
            None
        }
    };
    if let Some(h) = &host
        && let Some(span) = h.origin.span()
        && let Err(why) = units::dns_name(&h.value)
    {
        bad(
            cx.diags,
            codes::INVALID_NAME,
            span,
            "ingress.host",
            &h.value,
            &why,
            "use a lowercase DNS name such as `lyon.erp.example.com`",
        );
    }
    host
}

/// `ingress.maxUploadSize`, 64Mi unless set; below 1Mi is BP0014 (Traefik reads a limit of 0
/// as none), above what Odoo accepts is BP1011.
fn max_upload(cx: &mut Cx<'_>, ing: Option<&doc::Ingress>) -> Option<Val<u64>> {
    let written = ing.and_then(|i| i.max_upload_size.as_ref());
    let max_upload = match written {
        Some(t) => cx.qty(t),
        None => Some(Val::derived(
            64 * MI,
            "ingress.maxUploadSize",
            "64Mi unless set",
        )),
    };
    if let (Some(m), Some(t)) = (&max_upload, written)
        && m.value < MIN_UPLOAD
    {
        cx.diags.push(
            Diagnostic::new(
                codes::OUT_OF_RANGE,
                format!(
                    "ingress.maxUploadSize must be at least 1Mi, found {}",
                    blueprint_diagnostics::shorten(&t.value, 40)
                ),
            )
            .at(t.span, "below 1Mi")
            .help("Traefik reads a request body limit of 0 as no limit at all: set the largest upload users need, from 1Mi to 128Mi (64Mi unless set)"),
        );
    }
    if let Some(m) = &max_upload
        && m.value > ODOO_MAX_BODY
    {
        cx.diags.push(
            Diagnostic::new(
                codes::UPLOAD_LIMIT_ABOVE_ODOO,
                format!(
                    "ingress.maxUploadSize {} is above the 128Mi Odoo accepts",
                    fmt_bytes(m.value)
                ),
            )
            .at(
                m.origin.span().unwrap_or(cx.anchor),
                "Odoo rejects larger bodies",
            )
            .help("set 128Mi or less; larger uploads fail inside Odoo whatever the proxy allows"),
        );
    }
    max_upload
}

/// `network.cidr`: must parse (BP4007); the dedicated tenancies need one (BP1010) that an AWS
/// VPC and the cluster module can use (IPv4, /16 to /21, the network's own address: BP4007),
/// and outside prod one of their own, set in the environment's overlay (BP1015). The other
/// tenancies run on a shared cluster's network: a `network.cidr` (a fleet default, say) is
/// checked but not kept, so it takes no part in the overlap rules (BP3004).
pub(crate) fn cidr(cx: &mut Cx<'_>, doc: &PlantDoc, head: &Header<'_>) -> Option<Val<String>> {
    let tenancy = head.tenancy;
    let env = cx.env();
    let dedicated = matches!(
        tenancy.value,
        Tenancy::DedicatedCluster | Tenancy::DedicatedEnvironment
    );
    let cidr = doc
        .network
        .as_ref()
        .and_then(|n| n.value.cidr.as_ref())
        .map(|c| cx.layers.val(c));
    if let Some(c) = &cidr {
        let span = c.origin.span().unwrap_or(cx.anchor);
        let net = parse_with(
            cx.diags,
            &Spanned {
                value: c.value.clone(),
                span,
            },
            codes::INVALID_CIDR,
            "network.cidr",
            "write a network such as `10.20.0.0/16`",
            |s| s.parse::<ipnet::IpNet>().map_err(|e| e.to_string()),
        );
        if let Some(net) = net.filter(|_| dedicated)
            && let Err(why) = units::vpc_network(&net)
        {
            bad(
                cx.diags,
                codes::INVALID_CIDR,
                span,
                "network.cidr",
                &c.value,
                &why,
                "give the cluster an IPv4 network of its own from /16 to /21, such as `10.20.0.0/16`",
            );
        }
    }
    if !dedicated {
        return None;
    }
    match &cidr {
        None => {
            cx.reject(
                Diagnostic::new(codes::CIDR_REQUIRED, format!("tenancy `{}` needs `network.cidr`", tenancy.value))
                    .at(tenancy.span, "own cluster needs its own network")
                    .help("add `network: {cidr: 10.x.0.0/16}`, unique in the fleet; each non-prod environment sets its own in its overlay"),
            );
        }
        Some(c) if env != "prod" && !matches!(c.origin, Origin::Overlay { .. }) => {
            cx.reject(
                Diagnostic::new(
                    codes::ENV_CIDR_NOT_OWN,
                    format!(
                        "`{}` outside prod reuses the base network.cidr {}",
                        head.name.value, c.value
                    ),
                )
                .at(
                    c.origin.span().unwrap_or(cx.anchor),
                    "shared by every environment",
                )
                .help(format!(
                    "set `environments.{env}.network.cidr` to a network of its own"
                )),
            );
        }
        Some(_) => {}
    }
    cidr
}

/// Resolves every integration, reporting each one's problems.
pub(crate) fn integrations(
    cx: &mut Cx<'_>,
    doc: &PlantDoc,
    head: &Header<'_>,
    shared: bool,
) -> Vec<Integration> {
    let mut integrations = Vec::new();
    if let Some(ints) = &doc.integrations {
        for (i, it) in ints.value.iter().enumerate() {
            integrations.push(integration(cx, &ints.value[..i], it, head, shared));
        }
    }
    integrations
}

/// One integration, after those listed before it: a DNS-label name (BP4008) used once
/// (BP1013), peers that parse (BP4007), the shape its protocol needs (BP1014), a valid rate
/// limit, schedule and port; a `shared` plant may only have inbound HTTPS ones (BP1008).
fn integration(
    cx: &mut Cx<'_>,
    before: &[doc::Integration],
    it: &doc::Integration,
    head: &Header<'_>,
    shared: bool,
) -> Integration {
    if let Err(why) = units::dns_label(&it.name.value, 30) {
        bad(
            cx.diags,
            codes::INVALID_NAME,
            it.name.span,
            "integration name",
            &it.name.value,
            &why,
            "use a short DNS label such as `mes-line1`",
        );
    }
    if let Some((first, _)) = before
        .iter()
        .map(|o| (&o.name, ()))
        .find(|(n, _)| n.value == it.name.value)
    {
        cx.diags.push(
            Diagnostic::new(
                codes::DUPLICATE_INTEGRATION,
                format!("integration `{}` is defined twice", it.name.value),
            )
            .at(it.name.span, "second definition")
            .also(first.span, "first defined here")
            .help("give each integration its own name"),
        );
    }
    for p in &it.peers.value {
        parse_with(
            cx.diags,
            p,
            codes::INVALID_CIDR,
            "peer",
            "write a network such as `192.0.2.0/24`",
            |s| s.parse::<ipnet::IpNet>().map_err(|e| e.to_string()),
        );
    }
    if it.peers.value.is_empty() {
        cx.diags.push(
            Diagnostic::new(
                codes::INTEGRATION_SHAPE,
                format!("integration `{}` lists no peers", it.name.value),
            )
            .at(it.peers.span, "empty")
            .help("list the networks of the system on the other side"),
        );
    }
    let protocol = it.protocol.value;
    if let Some(p) = &it.path
        && (protocol != Protocol::Https
            || !p.value.starts_with('/')
            // RFC 3986 path characters only: the path becomes part of a Traefik rule.
            || !p.value.chars().all(|c| {
                c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/%".contains(c)
            }))
    {
        cx.diags.push(
                Diagnostic::new(codes::INTEGRATION_SHAPE, format!("integration `{}`: `path` must be a URL path starting with `/` on an https integration", it.name.value))
                    .at(p.span, "not a usable path")
                    .help("remove `path`, or use protocol `https` with a path such as `/api/mes`"),
            );
    }
    if protocol == Protocol::PostgresReadonly && it.direction.value != Direction::Inbound {
        cx.diags.push(
            Diagnostic::new(codes::INTEGRATION_SHAPE, format!("integration `{}`: `postgres-readonly` is a peer reading the plant's database, so its direction is `inbound`", it.name.value))
                .at(it.direction.span, "must be inbound")
                .help("set `direction: inbound`"),
        );
    }
    let rate_limit = it.rate_limit.as_ref().and_then(|r| {
        parse_with(
            cx.diags,
            r,
            codes::INVALID_RATE,
            "rateLimit",
            "write requests per unit, e.g. `100/s` or `600/m`",
            units::rate_limit,
        )
    });
    if let Some(s) = &it.schedule {
        parse_with(
            cx.diags,
            s,
            codes::INVALID_CRON,
            "schedule",
            "write a 5-field cron such as `*/15 * * * *`",
            units::cron,
        );
    }
    let port = match &it.port {
        Some(p) if (1..=65535).contains(&p.value) => p.value,
        Some(p) => {
            cx.diags.push(
                Diagnostic::new(
                    codes::OUT_OF_RANGE,
                    format!("port {} is outside 1-65535", p.value),
                )
                .at(p.span, "not a port")
                .help("use a TCP port from 1 to 65535"),
            );
            0
        }
        None => default_port(protocol),
    };
    if shared && !(it.direction.value == Direction::Inbound && protocol == Protocol::Https) {
        cx.reject(
            Diagnostic::new(codes::SHARED_INTEGRATION, format!("integration `{}` is {} {}; shared plants may only have inbound HTTPS integrations", it.name.value, it.direction.value, protocol))
                .at(if protocol == Protocol::Https { it.direction.span } else { it.protocol.span }, "not inbound HTTPS")
                .also(head.tenancy.span, "shared tenancy")
                .help("egress opened for one tenant is open to all: move the plant to `dedicated-namespace`, or make the peer call in over HTTPS"),
        );
    }
    let l = cx.layers;
    let port = match &it.port {
        Some(p) => Val::new(port, l.origin(p.span)),
        None => Val::derived(
            port,
            "integration.port",
            format!("the usual {protocol} port"),
        ),
    };
    Integration {
        name: l.val(&it.name),
        kind: it.kind.value,
        direction: it.direction.value,
        protocol,
        peers: it.peers.value.iter().map(|p| l.val(p)).collect(),
        port,
        path: it.path.as_ref().map(|p| l.val(p)),
        rate_limit: it
            .rate_limit
            .as_ref()
            .zip(rate_limit)
            .map(|(t, r)| Val::new(r, l.origin(t.span))),
        schedule: it.schedule.as_ref().map(|s| l.val(s)),
        mutual_tls: protocol == Protocol::Https
            && matches!(
                it.kind.value,
                IntegrationKind::Edi | IntegrationKind::SupplierPortal
            ),
    }
}

/// The protocol's usual port.
fn default_port(protocol: Protocol) -> u32 {
    match protocol {
        Protocol::Https => 443,
        Protocol::Sftp => 22,
        Protocol::Mqtt => 8883,
        Protocol::Amqp => 5671,
        Protocol::PostgresReadonly => 5432,
    }
}

//! `plants/<plant>/<env>/traefik/` (IngressRoutes, Middlewares, the TLSOptions of client
//! certificate integrations) and the plant's cert-manager Certificates
//! (`plants/<plant>/<env>/kubernetes/certificate-*.yaml`), DESIGN §4.5 "Traefik" and
//! reference/traefik.md §2–§5.
//!
//! 1. [`derive`] computes [`TraefikDerived`] from the plant: the Traefik replicas of the cluster
//!    it runs on, per-pod rate limits (in-memory limits multiply by the replicas), the request
//!    body limit, whether the websocket route exists and the admin allow list.
//! 2. [`outputs`] turns it into one file per object. The routes and their match strings are
//!    built here, in Rust: templates only iterate.
//!
//! Shape of the main IngressRoute (entry point `websecure`, host `plant.host`, every route to
//! `plant.names.service`; middlewares run in the order listed):
//!
//! | route | match | port | middlewares |
//! |---|---|---|---|
//! | websocket (when `odoo.workers > 0`, and always for `shared` tenants: the platform runs prefork) | `PathPrefix(/websocket)` | 8072 | headers |
//! | database manager | `PathPrefix(/web/database)`, `/xmlrpc/db`, `/xmlrpc/2/db` | 8069 | headers → admin allow list (blocked when empty, and for `shared` tenants) → buffering |
//! | login | `Path` of `/web/login`, `/web/session/authenticate`, `/xmlrpc/common`, `/xmlrpc/2/common`, `/web/reset_password`, `/web/signup` (minus those under an integration's path) | 8069 | headers → login rate limit → buffering |
//! | each inbound HTTPS integration with a path (no client certificate) | `PathPrefix(path)` | 8069 | headers → peers allow list → its rate limit → buffering |
//! | default (priority 1) | the host, minus every guarded prefix | 8069 | headers → rate limit → buffering |
//!
//! The default route excludes the database-manager prefixes and every integration path, so if
//! a guarded route is ever dropped by Traefik (a middleware missing or invalid), its paths
//! answer 404 instead of falling through to the open catch-all. The database-manager route has
//! an explicit priority above every other rule of the host, so no integration path nested
//! under it can take it over. Every rate limit is used by exactly one route: Traefik keeps the
//! in-memory bucket per router (traefik#13706), so sharing one would multiply it.
//!
//! An integration that needs client certificates (`mutual_tls`: EDI, supplier portal) is served
//! only on its own host (`integration.host`), by its own IngressRoute with a named TLSOption
//! (`RequireAndVerifyClientCert`, CA Secret `<prefix><name>-client-ca`, key `ca.crt`, created by
//! `kubernetes/externalsecret-integration-<name>-client-ca.yaml` from the secret store key
//! `<org>/<plant>/<env>/integration-<name>-client-ca`) and its own Certificate; its path is
//! also excluded from the main host, so it is never reachable without a client certificate.
//! For a `shared` tenant its first middleware, `<prefix>integration-<name>-host`, sets
//! `X-Forwarded-Host` to the tenant's host: the shared Odoo (`proxy_mode`, `dbfilter = ^%h$`)
//! then selects the tenant's database rather than looking for one named after the
//! integration's host.
//!
//! HTTP → HTTPS: the chart's entry point redirection on `web` (`clusters/<c>/traefik/`)
//! redirects every host, so no plant renders a redirect Middleware or a `web` route.

use super::{Check, Output, PlantCtx, Scope, plant_path};
use crate::ResolvedPlant;
use serde::Serialize;
use serde_json::{Value, json};

/// The Traefik version the templates are written for (reference/traefik.md, chart 41.3.0).
pub(super) const TRAEFIK_VERSION: &str = "v3.7.11";

/// The Traefik chart version the cluster values are written for.
pub(super) const CHART_VERSION: &str = "41.3.0";

/// Odoo rejects request bodies over 128 MiB whatever the proxy allows (DESIGN §4.5).
pub(super) const ODOO_MAX_BODY: u64 = 128 * 1024 * 1024;

/// The Odoo HTTP port.
const HTTP_PORT: u32 = 8069;

/// The gevent (websocket) port, listening only in prefork mode.
const GEVENT_PORT: u32 = 8072;

/// The database-manager surface (odoo.md §4): the HTML manager and the `db` RPC service.
const ADMIN_PREFIXES: &[&str] = &["/web/database", "/xmlrpc/db", "/xmlrpc/2/db"];

/// Password and account endpoints, behind the strict login rate limit: the login form, the
/// JSON-RPC session login, the XML-RPC `common` service (`authenticate`/`login` check the same
/// password), password reset and sign-up (both send mail). `/jsonrpc` also carries `common`,
/// but is the whole external API, so it cannot be singled out by path (odoo.md §4).
const LOGIN_PATHS: &[&str] = &[
    "/web/login",
    "/web/session/authenticate",
    "/xmlrpc/common",
    "/xmlrpc/2/common",
    "/web/reset_password",
    "/web/signup",
];

/// `ipAllowList.sourceRange` when `ingress.adminAllowFrom` is empty: loopback only, an
/// address no client reaches Traefik from (the allow list keys on the TCP remote address,
/// which `externalTrafficPolicy: Local` preserves), so the database manager is blocked.
pub(super) const BLOCK_ALL: &str = "127.0.0.1/32";

/// The ClusterSecretStore the client-certificate CAs are read from (the one every
/// ExternalSecret of the tree uses).
const SECRET_STORE: &str = "aws-secrets-manager";

/// How often a client-certificate CA is re-read from the store: a new CA reaches Traefik within
/// the hour.
const SECRET_REFRESH: &str = "1h";

/// The ClusterIssuer every Certificate uses (DNS-01 on Route 53; not rendered by blueprint).
const CLUSTER_ISSUER: &str = "letsencrypt";

/// Traefik replicas of a cluster: 2 on a fleet cluster (shared by several plants); on a
/// dedicated cluster 3 for `critical` (one per zone), else 2. The chart's autoscaling stays
/// off, because per-pod rate limits are derived from this fixed count.
pub(super) fn replicas(tier: &str, fleet_cluster: bool) -> u32 {
    if !fleet_cluster && tier == "critical" {
        3
    } else {
        2
    }
}

/// A rate limit, for all Traefik pods together and per pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct Rate {
    /// Requests per period from one client IP, over the whole cluster.
    pub total_average: u64,
    /// Bucket size over the whole cluster.
    pub total_burst: u64,
    /// The period, seconds.
    pub period_s: u64,
    /// The period as Traefik reads it (`1s`, `1m`).
    pub period: String,
    /// `average` of one pod: ceil(total_average / replicas).
    pub average: u64,
    /// `burst` of one pod: ceil(total_burst / replicas).
    pub burst: u64,
    /// How the numbers were derived.
    pub rule: String,
}

impl Rate {
    fn new(total_average: u64, total_burst: u64, period_s: u64, replicas: u32, why: &str) -> Self {
        let r = u64::from(replicas.max(1));
        let average = total_average.div_ceil(r).max(1);
        let burst = total_burst.div_ceil(r).max(1);
        let period = go_duration(period_s);
        Self {
            rule: format!(
                "{why}: {total_average} per {period} (burst {total_burst}) over {r} Traefik replicas (in-memory buckets are per pod) = ceil({total_average} / {r}) = {average} per pod, burst ceil({total_burst} / {r}) = {burst}"
            ),
            total_average,
            total_burst,
            period_s,
            period,
            average,
            burst,
        }
    }
}

/// An inbound HTTPS integration as Traefik serves it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct IntegrationRoute {
    /// Integration name.
    pub name: String,
    /// Path prefix, when the integration has one.
    pub path: Option<String>,
    /// Own host (client-certificate integrations only).
    pub host: Option<String>,
    /// Peers allowed (`ipAllowList.sourceRange`).
    pub peers: Vec<String>,
    /// Its rate limit, when the plant sets `rateLimit`.
    pub rate: Option<Rate>,
}

/// Values the Traefik outputs are made of (`derived.traefik`).
#[derive(Debug, Clone, Serialize)]
pub(super) struct TraefikDerived {
    /// Traefik replicas of the cluster the plant runs on ([`replicas`]).
    pub replicas: u32,
    /// `buffering.maxRequestBodyBytes`: min(ingress.maxUploadSize, 128 MiB), Odoo rejecting
    /// anything larger.
    pub max_request_body_bytes: u64,
    /// Whether `/websocket` goes to the gevent port 8072: when `odoo.workers > 0` (in threaded
    /// mode the default route serves it on 8069), and always for a `shared` tenant, whose
    /// requests reach the platform's Odoo: `plant.odoo` of a tenant is sized from the tenant's
    /// own users, not the platform's, and the platform always runs prefork (sizing gives every
    /// Odoo at least 2 workers).
    pub websocket: bool,
    /// The database manager is blocked: `ingress.adminAllowFrom` is empty, or the plant is a
    /// `shared` tenant (the shared Odoo's database manager serves every tenant's database and
    /// belongs to the platform).
    pub admin_blocked: bool,
    /// Source ranges of the database-manager allow list (`127.0.0.1/32` when blocked).
    pub admin_source_range: Vec<String>,
    /// The default route's rate limit: per client IP max(100, 5 × users) requests per second
    /// (a whole site may share one NAT address), burst 2 × that.
    pub default_rate: Rate,
    /// The login rate limit: per client IP max(20, users) requests per minute, burst
    /// max(10, ceil(users / 5)): a shift change logging in, not a password-guessing loop.
    pub login_rate: Rate,
    /// Inbound HTTPS integrations that Traefik routes (with a path, or with their own host).
    pub integrations: Vec<IntegrationRoute>,
}

/// A Go duration for a whole number of seconds (`1s`, `1m`, `1h`, `90s`).
fn go_duration(s: u64) -> String {
    if s > 0 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s > 0 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// The values of [`TraefikDerived`] for a plant (pure: `derive` and `outputs` both call it).
pub(super) fn plan(p: &PlantCtx) -> TraefikDerived {
    let replicas = replicas(&p.tier, p.cluster.is_some());
    let users = u64::from(p.odoo.users);
    let default_average = (5 * users).max(100);
    let default_rate = Rate::new(
        default_average,
        2 * default_average,
        1,
        replicas,
        &format!("max(100, 5 × users {users}) per second, burst 2×"),
    );
    let login_rate = Rate::new(
        users.max(20),
        users.div_ceil(5).max(10),
        60,
        replicas,
        &format!("max(20, users {users}) per minute, burst max(10, ceil(users / 5))"),
    );
    let integrations = p
        .integrations
        .iter()
        .filter(|i| i.inbound && i.protocol == "https" && (i.path.is_some() || i.mutual_tls))
        .map(|i| IntegrationRoute {
            name: i.name.clone(),
            path: i.path.clone(),
            host: if i.mutual_tls { i.host.clone() } else { None },
            peers: i.peers.clone(),
            rate: i.rate_average.zip(i.rate_period_s).map(|(avg, period)| {
                Rate::new(
                    avg,
                    avg,
                    period.max(1),
                    replicas,
                    &format!("rateLimit of integration `{}`, burst one period", i.name),
                )
            }),
        })
        .collect();
    // A shared tenant's database manager is the platform's (every tenant's database, the
    // platform's master password): no tenant network reaches it.
    let admin_blocked = p.admin_allow_from.is_empty() || p.tenancy == "shared";
    TraefikDerived {
        replicas,
        max_request_body_bytes: p.max_upload_bytes.min(ODOO_MAX_BODY),
        websocket: p.odoo.workers > 0 || p.tenancy == "shared",
        admin_blocked,
        admin_source_range: if admin_blocked {
            vec![BLOCK_ALL.to_string()]
        } else {
            p.admin_allow_from.clone()
        },
        default_rate,
        login_rate,
        integrations,
    }
}

/// Values only these templates need (none for a shared platform: its tenants route to it).
pub(super) fn derive(ctx: &mut PlantCtx, _p: &ResolvedPlant) {
    if ctx.platform {
        return;
    }
    let d = plan(ctx);
    if let Ok(v) = serde_json::to_value(d) {
        ctx.derived.insert("traefik".into(), v);
    }
}

/// A Traefik rule literal: backticks delimit raw text, and the compiler refuses backticks in
/// hosts and paths, so plant text cannot leave the literal.
fn lit(s: &str) -> String {
    format!("`{s}`")
}

fn host_rule(host: &str) -> String {
    format!("Host({})", lit(host))
}

/// Whether `path` is `prefix` or below it, as Traefik's `PathPrefix(prefix)` matches it.
fn under(path: &str, prefix: &str) -> bool {
    path.starts_with(prefix)
}

fn any_of(matcher: &str, values: &[&str]) -> String {
    let parts: Vec<String> = values
        .iter()
        .map(|v| format!("{matcher}({})", lit(v)))
        .collect();
    if parts.len() == 1 {
        parts.concat()
    } else {
        format!("({})", parts.join(" || "))
    }
}

/// One route of an IngressRoute.
#[derive(Debug, Clone, Serialize)]
struct Route {
    /// What the route is for (`websocket`, `database-manager`, …).
    role: String,
    /// The rule.
    #[serde(rename = "match")]
    rule: String,
    /// Explicit priority (0: Traefik's default, the rule length).
    priority: usize,
    /// Service port.
    port: u32,
    /// Middleware names, in execution order.
    middlewares: Vec<String>,
}

/// Object names: the plant's prefix (shared tenants) and a base name.
struct Naming<'a> {
    prefix: &'a str,
}

impl Naming<'_> {
    /// The main IngressRoute and Certificate (`<prefix>odoo`).
    fn base(&self) -> String {
        format!("{}odoo", self.prefix)
    }
    fn odoo(&self, what: &str) -> String {
        format!("{}odoo-{what}", self.prefix)
    }
    fn integration(&self, name: &str, what: &str) -> String {
        if what.is_empty() {
            format!("{}integration-{name}", self.prefix)
        } else {
            format!("{}integration-{name}-{what}", self.prefix)
        }
    }
    /// The middlewares of an integration's route after any it starts with: headers → peers
    /// allow list → its rate limit (when set) → buffering.
    fn integration_chain(&self, i: &IntegrationRoute) -> [Option<String>; 4] {
        [
            Some(self.odoo("headers")),
            Some(self.integration(&i.name, "allowlist")),
            i.rate
                .as_ref()
                .map(|_| self.integration(&i.name, "ratelimit")),
            Some(self.odoo("buffering")),
        ]
    }
}

fn traefik_file(p: &PlantCtx, file: &str) -> String {
    plant_path(p, "traefik", &format!("{file}.yaml"))
}

fn middleware(
    p: &PlantCtx,
    scope: Scope,
    out: &mut Vec<Output>,
    file: &str,
    template: &str,
    item: Value,
) {
    out.push(Output::new(
        traefik_file(p, &format!("middleware-{file}")),
        &format!("traefik/middleware-{template}.yaml.j2"),
        scope,
        item,
        Check::Kubernetes,
    ));
}

/// The files of this family. A cluster's shared platform has none: each `shared` tenant's
/// routes, middlewares and Certificate reach it in its namespace.
pub(super) fn outputs(p: &PlantCtx, scope: Scope, out: &mut Vec<Output>) {
    if p.platform {
        return;
    }
    let d = plan(p);
    let n = Naming {
        prefix: &p.names.prefix,
    };
    let headers = n.odoo("headers");
    let buffering = n.odoo("buffering");
    let host = host_rule(&p.host);

    // A login path under an integration's path belongs to that integration's route (its allow
    // list, or its own host with client certificates): a login route for it would be longer,
    // hence of higher priority, and open it to everyone.
    let integration_paths: Vec<&str> = d
        .integrations
        .iter()
        .filter_map(|i| i.path.as_deref())
        .collect();
    let login_paths: Vec<&str> = LOGIN_PATHS
        .iter()
        .copied()
        .filter(|l| !integration_paths.iter().any(|i| under(l, i)))
        .collect();
    let mut routes = Vec::new();
    if d.websocket {
        routes.push(Route {
            role: "websocket".into(),
            rule: format!("{host} && {}", any_of("PathPrefix", &["/websocket"])),
            priority: 0,
            port: GEVENT_PORT,
            middlewares: vec![headers.clone()],
        });
    }
    if !login_paths.is_empty() {
        routes.push(Route {
            role: "login".into(),
            rule: format!("{host} && {}", any_of("Path", &login_paths)),
            priority: 0,
            port: HTTP_PORT,
            middlewares: vec![
                headers.clone(),
                n.odoo("login-ratelimit"),
                buffering.clone(),
            ],
        });
    }
    let mut excluded: Vec<&str> = ADMIN_PREFIXES.to_vec();
    for i in &d.integrations {
        if let Some(path) = &i.path {
            excluded.push(path);
        }
        if i.host.is_some() {
            continue;
        }
        let Some(path) = &i.path else { continue };
        routes.push(Route {
            role: format!("integration {}", i.name),
            rule: format!("{host} && {}", any_of("PathPrefix", &[path])),
            priority: 0,
            port: HTTP_PORT,
            middlewares: n.integration_chain(i).into_iter().flatten().collect(),
        });
    }
    let mut default_rule = host.clone();
    for prefix in &excluded {
        default_rule.push_str(&format!(" && !PathPrefix({})", lit(prefix)));
    }
    // Above the length of every other rule of the host (Traefik's default priority).
    let admin_rule = format!("{host} && {}", any_of("PathPrefix", ADMIN_PREFIXES));
    let admin_priority = routes
        .iter()
        .map(|r| r.rule.len())
        .chain([admin_rule.len(), default_rule.len()])
        .max()
        .unwrap_or(0)
        + 1;
    routes.insert(
        usize::from(d.websocket),
        Route {
            role: "database-manager".into(),
            rule: admin_rule,
            priority: admin_priority,
            port: HTTP_PORT,
            middlewares: vec![
                headers.clone(),
                n.odoo("admin-allowlist"),
                buffering.clone(),
            ],
        },
    );
    routes.push(Route {
        role: "default".into(),
        rule: default_rule,
        priority: 1,
        port: HTTP_PORT,
        middlewares: vec![headers.clone(), n.odoo("ratelimit"), buffering.clone()],
    });
    out.push(Output::new(
        traefik_file(p, "ingressroute-odoo"),
        "traefik/ingressroute.yaml.j2",
        scope,
        json!({
            "name": n.base(),
            "routes": routes,
            "tls_secret": p.names.tls_secret,
            "tls_option": null,
        }),
        Check::Kubernetes,
    ));
    out.push(certificate(
        p,
        scope,
        "odoo",
        &n.base(),
        &p.host,
        &p.names.tls_secret,
    ));

    middleware(
        p,
        scope,
        out,
        "odoo-headers",
        "headers",
        json!({ "name": headers }),
    );
    middleware(
        p,
        scope,
        out,
        "odoo-buffering",
        "buffering",
        json!({ "name": buffering, "max_request_body_bytes": d.max_request_body_bytes }),
    );
    middleware(
        p,
        scope,
        out,
        "odoo-ratelimit",
        "ratelimit",
        json!({ "name": n.odoo("ratelimit"), "rate": d.default_rate }),
    );
    middleware(
        p,
        scope,
        out,
        "odoo-login-ratelimit",
        "ratelimit",
        json!({ "name": n.odoo("login-ratelimit"), "rate": d.login_rate }),
    );
    middleware(
        p,
        scope,
        out,
        "odoo-admin-allowlist",
        "ipallowlist",
        json!({ "name": n.odoo("admin-allowlist"), "source_range": d.admin_source_range }),
    );

    for i in &d.integrations {
        middleware(
            p,
            scope,
            out,
            &format!("integration-{}-allowlist", i.name),
            "ipallowlist",
            json!({ "name": n.integration(&i.name, "allowlist"), "source_range": i.peers }),
        );
        if let Some(rate) = &i.rate {
            middleware(
                p,
                scope,
                out,
                &format!("integration-{}-ratelimit", i.name),
                "ratelimit",
                json!({ "name": n.integration(&i.name, "ratelimit"), "rate": rate }),
            );
        }
        let Some(own_host) = &i.host else { continue };
        let name = n.integration(&i.name, "");
        let secret = n.integration(&i.name, "tls");
        let own = host_rule(own_host);
        let mut middlewares = Vec::new();
        if p.tenancy == "shared" {
            // The shared Odoo picks the database by host (`dbfilter = ^%h$`): the tenant's
            // host, not the integration's. With proxy_mode Odoo takes the host from
            // X-Forwarded-Host, which this sets after Traefik's own forwarded headers.
            let forward = n.integration(&i.name, "host");
            middleware(
                p,
                scope,
                out,
                &format!("integration-{}-host", i.name),
                "requestheaders",
                json!({
                    "name": forward,
                    "headers": { "X-Forwarded-Host": p.host },
                }),
            );
            middlewares.push(forward);
        }
        middlewares.extend(n.integration_chain(i).into_iter().flatten());
        let route = Route {
            role: format!("integration {} (client certificates)", i.name),
            rule: match &i.path {
                Some(path) => format!("{own} && {}", any_of("PathPrefix", &[path])),
                None => own,
            },
            priority: 0,
            port: HTTP_PORT,
            middlewares,
        };
        out.push(Output::new(
            traefik_file(p, &format!("ingressroute-integration-{}", i.name)),
            "traefik/ingressroute.yaml.j2",
            scope,
            json!({
                "name": name,
                "routes": [route],
                "tls_secret": secret,
                "tls_option": name,
            }),
            Check::Kubernetes,
        ));
        let client_ca = format!("{}{}-client-ca", p.names.prefix, i.name);
        out.push(Output::new(
            traefik_file(p, &format!("tlsoption-integration-{}", i.name)),
            "traefik/tlsoption.yaml.j2",
            scope,
            json!({
                "name": name,
                "client_ca_secret": client_ca,
            }),
            Check::Kubernetes,
        ));
        out.push(Output::new(
            plant_path(
                p,
                "kubernetes",
                &format!("externalsecret-integration-{}-client-ca.yaml", i.name),
            ),
            "kubernetes/externalsecret-integration-client-ca.yaml.j2",
            scope,
            json!({
                "name": client_ca,
                "store": SECRET_STORE,
                "refresh_interval": SECRET_REFRESH,
                "key": format!("{}/{}/integration-{}-client-ca", p.name, p.env, i.name),
            }),
            Check::Kubernetes,
        ));
        out.push(certificate(
            p,
            scope,
            &format!("integration-{}", i.name),
            &name,
            own_host,
            &secret,
        ));
    }
}

/// `kubernetes/certificate-<file>.yaml`: a cert-manager Certificate for one host.
fn certificate(
    p: &PlantCtx,
    scope: Scope,
    file: &str,
    name: &str,
    host: &str,
    secret: &str,
) -> Output {
    Output::new(
        plant_path(p, "kubernetes", &format!("certificate-{file}.yaml")),
        "kubernetes/certificate-host.yaml.j2",
        scope,
        json!({
            "name": name,
            "host": host,
            "secret_name": secret,
            "issuer": CLUSTER_ISSUER,
        }),
        Check::Kubernetes,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Input, compile};

    fn quickstart() -> Vec<PlantCtx> {
        let plant = include_str!("../../../../examples/quickstart/plants/lyon.yaml");
        let c = compile(&[Input {
            path: "plants/lyon.yaml".into(),
            bytes: plant.as_bytes().to_vec(),
            is_fleet: false,
        }]);
        assert!(!c.has_errors(), "{:?}", c.diagnostics);
        super::super::lower(c.fleet.as_ref().unwrap(), &c.plants, &c.platforms).plants
    }

    fn routes_of(p: &PlantCtx) -> Vec<Value> {
        let mut out = Vec::new();
        outputs(p, Scope::Plant(0), &mut out);
        let route = out
            .iter()
            .find(|o| o.path.ends_with("traefik/ingressroute-odoo.yaml"))
            .unwrap();
        route.item["routes"].as_array().unwrap().clone()
    }

    #[test]
    fn websocket_route_exists_only_in_prefork_mode() {
        let mut p = quickstart().remove(0);
        assert!(p.odoo.workers > 0);
        let ws = |routes: &[Value]| {
            routes
                .iter()
                .filter(|r| {
                    r["port"] == 8072 || r["match"].as_str().unwrap().contains("/websocket")
                })
                .count()
        };
        assert_eq!(ws(&routes_of(&p)), 1);
        p.odoo.workers = 0;
        assert_eq!(ws(&routes_of(&p)), 0);
        assert!(!plan(&p).websocket);
    }

    #[test]
    fn per_pod_rates_round_up() {
        let r = Rate::new(50, 50, 1, 3, "t");
        assert_eq!((r.average, r.burst, r.period.as_str()), (17, 17, "1s"));
        assert_eq!(Rate::new(600, 600, 60, 2, "t").period, "1m");
        assert_eq!(Rate::new(1, 1, 90, 2, "t").average, 1);
        assert_eq!(go_duration(7200), "2h");
    }

    #[test]
    fn empty_admin_allow_list_blocks_the_database_manager() {
        let mut p = quickstart().remove(0);
        p.admin_allow_from.clear();
        let d = plan(&p);
        assert!(d.admin_blocked);
        assert_eq!(d.admin_source_range, vec![BLOCK_ALL.to_string()]);
    }
}

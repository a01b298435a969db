//! Odoo as the plant runs it: users, version, edition, image and modules. A `shared` plant runs
//! its platform's Odoo, so setting those is reported (BP1006); an image must come from the
//! approved registry (BP4002) and be pinned by digest in prod (BP4001).

use super::Cx;
use super::placement::Placement;
use crate::fleet::{SharedOdoo, bad};
use crate::model::Val;
use crate::units::{self, ImageRef};
use blueprint_diagnostics::{Diagnostic, codes};
use blueprint_syntax::Spanned;
use blueprint_syntax::doc::{self, Edition, OdooVersion, PlantDoc, Text};

/// Odoo's written (or platform) values, before sizing.
pub(crate) struct OdooValues {
    /// Concurrent users at peak.
    pub(crate) users: Val<u32>,
    /// Version.
    pub(crate) version: Val<OdooVersion>,
    /// Edition.
    pub(crate) edition: Val<Edition>,
    /// Image.
    pub(crate) image: Val<String>,
    /// Image parts, if the reference parses.
    pub(crate) image_ref: Option<ImageRef>,
    /// Installed modules.
    pub(crate) modules: Val<Vec<String>>,
}

/// Version, edition, image and modules, each possibly missing.
struct Release {
    version: Option<Val<OdooVersion>>,
    edition: Option<Val<Edition>>,
    image: Option<Val<String>>,
    modules: Option<Val<Vec<String>>>,
}

/// Resolves `odoo`; `None` (after reporting why) when a required value is missing.
pub(crate) fn resolve(
    cx: &mut Cx<'_>,
    doc: &PlantDoc,
    place: &Placement<'_>,
) -> Option<OdooValues> {
    let odoo_doc = doc.odoo.as_ref().map(|o| &o.value);
    let users = users(cx, odoo_doc);
    let release = if place.shared {
        platform_release(cx, odoo_doc, place.shared_odoo)
    } else {
        own_release(cx, odoo_doc)
    };
    let image_ref = release.image.as_ref().and_then(|i| image_policy(cx, i));
    Some(OdooValues {
        users: users?,
        version: release.version?,
        edition: release.edition?,
        image: release.image?,
        image_ref,
        modules: release.modules?,
    })
}

/// `odoo.users`, required, from 1 to 100 000.
fn users(cx: &mut Cx<'_>, odoo_doc: Option<&doc::Odoo>) -> Option<Val<u32>> {
    match odoo_doc.and_then(|o| o.users.as_ref()) {
        Some(u) if u.value >= 1 && u.value <= 100_000 => Some(cx.layers.val(u)),
        Some(u) => {
            cx.diags.push(
                Diagnostic::new(
                    codes::OUT_OF_RANGE,
                    format!("odoo.users must be from 1 to 100000, found {}", u.value),
                )
                .at(u.span, "out of range")
                .help("give the number of concurrent users at peak"),
            );
            None
        }
        None => {
            cx.missing(
                "odoo.users",
                ": concurrent users size workers, replicas and memory",
            );
            None
        }
    }
}

/// A `shared` plant runs the cluster's Odoo: version, edition and image are the platform's
/// (BP1006 when the plant writes another), modules are the tenant's own but must be among the
/// platform's addons (BP1006).
fn platform_release(
    cx: &mut Cx<'_>,
    odoo_doc: Option<&doc::Odoo>,
    shared_odoo: Option<&SharedOdoo>,
) -> Release {
    if let Some(o) = odoo_doc
        && let Some(so) = shared_odoo
    {
        owned_by_platform(cx, "odoo.version", o.version.as_ref(), &so.version);
        owned_by_platform(cx, "odoo.edition", o.edition.as_ref(), &so.edition);
        owned_by_platform(cx, "odoo.image", o.image.as_ref(), &so.image);
    }
    // A tenant installs its own modules, from the addons the platform provides.
    let tenant_modules = odoo_doc.and_then(|o| o.modules.as_ref());
    if let Some(m) = tenant_modules {
        check_module_names(cx, m);
    }
    if let (Some(mods), Some(so)) = (tenant_modules, shared_odoo) {
        for m in &mods.value {
            if !so.modules.value.contains(&m.value) {
                cx.reject(
                    Diagnostic::new(codes::SHARED_PLATFORM_OWNED, format!("module `{}` is not provided by the shared platform", m.value))
                        .at(m.span, "not among the platform's addons")
                        .help(format!("use modules the platform provides ({}), ask the platform team to add it to the cluster's `odoo.modules`, or choose `dedicated-namespace`", so.modules.value.join(", "))),
                );
            }
        }
    }
    match shared_odoo {
        Some(so) => Release {
            version: Some(so.version.clone()),
            edition: Some(so.edition.clone()),
            image: Some(so.image.clone()),
            modules: Some(tenant_modules.map_or_else(
                || so.modules.clone(),
                |m| {
                    Val::new(
                        m.value.iter().map(|x| x.value.clone()).collect(),
                        cx.layers.origin(m.span),
                    )
                },
            )),
        },
        None => Release {
            version: None,
            edition: None,
            image: None,
            modules: None,
        },
    }
}

/// Any other plant names its own version and image; edition and modules have defaults.
fn own_release(cx: &mut Cx<'_>, odoo_doc: Option<&doc::Odoo>) -> Release {
    let l = cx.layers;
    let version = odoo_doc.and_then(|o| o.version.as_ref()).map(|v| l.val(v));
    let image = odoo_doc.and_then(|o| o.image.as_ref()).map(|v| l.val(v));
    if version.is_none() {
        cx.missing("odoo.version", ": a quoted version such as \"18.0\"");
    }
    if image.is_none() {
        cx.missing(
            "odoo.image",
            ": the approved image, pinned by digest in prod",
        );
    }
    let edition = odoo_doc.and_then(|o| o.edition.as_ref()).map_or_else(
        || Val::derived(Edition::Community, "odoo.edition", "community unless set"),
        |e| l.val(e),
    );
    if let Some(m) = odoo_doc.and_then(|o| o.modules.as_ref()) {
        check_module_names(cx, m);
    }
    let modules = odoo_doc.and_then(|o| o.modules.as_ref()).map_or_else(
        || Val::derived(Vec::new(), "odoo.modules", "none listed"),
        |m| {
            Val::new(
                m.value.iter().map(|x| x.value.clone()).collect(),
                l.origin(m.span),
            )
        },
    );
    Release {
        version,
        edition: Some(edition),
        image,
        modules: Some(modules),
    }
}

/// Parses the image reference; an image from another registry is BP4002, one without a digest
/// in prod is BP4001.
fn image_policy(cx: &mut Cx<'_>, image: &Val<String>) -> Option<ImageRef> {
    let span = image.origin.span().unwrap_or(cx.anchor);
    let r = match units::image(&image.value) {
        Ok(r) => r,
        Err(why) => {
            bad(
                cx.diags,
                codes::INVALID_REFERENCE,
                span,
                "odoo.image",
                &image.value,
                &why,
                "write `registry/path/name:tag@sha256:<digest>`",
            );
            return None;
        }
    };
    let registry = cx.fleet.registry().trim_end_matches('/');
    let from_registry = r
        .repository
        .strip_prefix(registry)
        .is_some_and(|rest| rest.starts_with('/'));
    if !from_registry {
        cx.diags.push(
            Diagnostic::new(
                codes::IMAGE_REGISTRY,
                format!(
                    "image `{}` is not from the approved registry `{registry}`",
                    image.value
                ),
            )
            .at(span, "unapproved registry")
            .help(format!(
                "mirror the image to `{registry}/…` and reference it there"
            )),
        );
    }
    if cx.env() == "prod" && r.digest.is_none() {
        cx.diags.push(
            Diagnostic::new(codes::IMAGE_NOT_PINNED, format!("image `{}` is not pinned by digest, which prod requires", image.value))
                .at(span, "tag only")
                .help(format!("append the digest: `{}@sha256:<64 hex digits>` (`crane digest` or `docker buildx imagetools inspect` prints it)", image.value)),
        );
    }
    Some(r)
}

/// Module names are technical names (`sale_management`): they reach `odoo -u <modules>`, so
/// anything else is refused (BP4008), and a module listed twice is reported once.
fn check_module_names(cx: &mut Cx<'_>, modules: &Spanned<Vec<Text>>) {
    for (i, m) in modules.value.iter().enumerate() {
        if let Err(why) = units::module_name(&m.value) {
            bad(
                cx.diags,
                codes::INVALID_NAME,
                m.span,
                "module",
                &m.value,
                &why,
                "write the module's technical name, as in its manifest directory (e.g. `sale_management`, `l10n_fr`)",
            );
        } else if modules.value[..i].iter().any(|o| o.value == m.value) {
            cx.diags.push(
                Diagnostic::new(
                    codes::INVALID_NAME,
                    format!("module `{}` is listed twice", m.value),
                )
                .at(m.span, "listed again")
                .help("list each module once"),
            );
        }
    }
}

/// BP1006 when a shared plant writes `key` (`written`) with another value than the platform's.
fn owned_by_platform<T: PartialEq + std::fmt::Display>(
    cx: &mut Cx<'_>,
    key: &str,
    written: Option<&Spanned<T>>,
    platform: &Val<T>,
) {
    let Some(w) = written.filter(|w| w.value != platform.value) else {
        return;
    };
    let mut d = Diagnostic::new(codes::SHARED_PLATFORM_OWNED, format!("`{key}` of a shared plant belongs to the platform (cluster value: {})", platform.value))
        .at(w.span, "differs from the shared platform")
        .help(format!("remove `{key}`: shared tenants run the cluster's Odoo; choose `dedicated-namespace` to run your own"));
    if let Some(ps) = platform.origin.span() {
        d = d.also(ps, "the platform's value");
    }
    cx.reject(d);
}

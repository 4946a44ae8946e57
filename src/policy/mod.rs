//! The compiled, immutable policy and the pure decision over it.
//!
//! - [`compile`](Policy::compile) (`compile.rs`) turns [`Settings`](crate::settings::Settings)
//!   into everything a request needs, computed once: glob sets, network sets, the bypass secret,
//!   parsed times;
//! - [`decide`](Policy::decide) (`decide.rs`) answers one question per request, reading no clock
//!   and touching no I/O;
//! - `paths.rs` holds the path forms (the routed form `allow_paths` matches on), `networks.rs` and
//!   `client_ip.rs` the client address rules, `bypass.rs` the bypass secret and its cookie.

mod bypass;
mod client_ip;
mod compile;
mod decide;
pub(crate) use decide::is_safe;
mod networks;
mod paths;
mod redirect;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::SystemTime;

use rocket::http::uri::Origin;
use rocket::http::{HeaderMap, Method};

pub(crate) use self::bypass::BypassSecret;
pub use self::bypass::{generate_secret, COOKIE_LIFETIME, COOKIE_NAME, HEADER_NAME};
#[cfg(feature = "internals")]
pub(crate) use self::client_ip::{client_ip, parse_forwarded_entry};
#[cfg(not(feature = "internals"))]
use self::networks::NetworkSet;
#[cfg(feature = "internals")]
pub(crate) use self::networks::{parse_network, NetworkSet};
pub(crate) use crate::settings::Format;
use crate::settings::RetryAfter;

/// Template variables the page defines itself; `context` may not reuse them.
pub(crate) const BUILT_IN_VARIABLES: &[&str] = &[
    "message",
    "status",
    "title",
    "retry_after",
    "retry_at",
    "ends_at",
    "starts_at",
    "read_only",
    "retry_after_text",
    "retry_at_text",
    "lang",
    "t",
    "auto_return_script",
];

/// Why maintenance is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Why {
    /// `enabled = true` in the settings.
    File,
    /// The scheduled window `starts_at <= now < ends_at` is active.
    Window,
    /// The fleet record is on (and the file is off).
    Fleet,
}

/// The settings, compiled.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub enabled: bool,
    pub read_only: bool,
    /// The message in the default language.
    pub message: String,
    /// The default language (`language`, `"en"` by default).
    pub language: String,
    /// The message in each configured language, the default language first.
    pub messages: Vec<(String, String)>,
    /// Whether the built-in page reloads itself when the site is back.
    pub auto_return: bool,
    pub retry: Option<RetryAfter>,
    pub starts_at: Option<SystemTime>,
    pub ends_at: Option<SystemTime>,
    pub status: u16,
    pub format: Format,
    pub redirect: Option<redirect::RedirectTarget>,
    pub refresh: Option<u32>,
    pub template: Option<String>,
    pub context: BTreeMap<String, serde_json::Value>,
    pub allow_path_patterns: usize,
    allow_paths: Option<paths::PathGlobs>,
    json_paths: Option<paths::PathGlobs>,
    allow_ips: NetworkSet,
    trusted_proxies: NetworkSet,
    client_ip_header: crate::settings::ClientIpHeader,
    bypass: Option<BypassSecret>,
    /// `warn_after`: log (and say in `STATUS=`) when maintenance has been on longer.
    pub warn_after: Option<std::time::Duration>,
    /// `watch`: reload when the config file changes.
    pub watch: bool,
    /// Who turned it on or off, when and why: operators only, never visitors.
    pub audit: Audit,
    /// `health_path`, in routed form.
    pub health_path: Option<String>,
    /// `ready_path`, in routed form.
    pub ready_path: Option<String>,
}

/// An operator's note on the last change (`reason`, `changed_by`, `changed_at`): shown in the
/// log, the journal, the live state and `rocket-maintenance status`, never to visitors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Audit {
    pub reason: Option<String>,
    pub changed_by: Option<String>,
    pub changed_at: Option<String>,
}

/// The rule that let a request through during maintenance, for the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// A `force_off` route (decided by Rocket's router: counted when it answers).
    ForceOff,
    /// `allow_paths`.
    AllowPaths,
    /// `allow_ips`.
    AllowIps,
    /// The bypass cookie or header.
    Bypass,
    /// An `exempt_when` guard.
    Exempt,
    /// A read in read-only maintenance.
    ReadOnly,
}

/// What the request brings to the decision.
pub(crate) struct RequestFacts<'a> {
    pub method: Method,
    pub uri: &'a Origin<'a>,
    pub peer: Option<IpAddr>,
    pub headers: &'a HeaderMap<'a>,
    /// The value of the bypass cookie, if the request has one.
    pub bypass_cookie: Option<&'a str>,
    /// Whether the connection is TLS.
    pub tls: bool,
}

/// The decision for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Let the request through to the application.
    Pass,
    /// Let it through, after removing the bypass header.
    PassWithBypassHeader,
    /// The bypass-secret path: set the cookie and redirect to `/`.
    Login {
        /// Whether the cookie gets `Secure`.
        secure: bool,
    },
    /// Let it through during maintenance, by a rule (counted).
    PassBy(Rule),
    /// `health_path` (`ready: false`) or `ready_path` (`ready: true`): the fairing's own answer.
    Health {
        /// Whether this is the readiness path.
        ready: bool,
    },
    /// Hold it back: the maintenance response (unless an `exempt_when` guard passes).
    Hold {
        /// Whether to answer with the configured redirect instead of the page.
        redirect: bool,
    },
}

impl Policy {
    /// Whether maintenance is on at `now`, and why.
    pub fn active_at(&self, now: SystemTime) -> Option<Why> {
        if self.enabled {
            Some(Why::File)
        } else if self.window_active(now) {
            Some(Why::Window)
        } else {
            None
        }
    }

    /// Whether the scheduled window holds `now` (a window needs `starts_at`; `ends_at` alone
    /// only informs).
    pub fn window_active(&self, now: SystemTime) -> bool {
        match (self.starts_at, self.ends_at) {
            (Some(start), end) => start <= now && end.is_none_or(|end| now < end),
            (None, _) => false,
        }
    }

    /// The next instant after `now` at which the state computed from this policy changes: a
    /// window edge, or a `retry_after` time that passes.
    pub fn next_edge(&self, now: SystemTime) -> Option<SystemTime> {
        let retry_at = match self.retry {
            Some(RetryAfter::At(t)) => Some(t),
            _ => None,
        };
        [self.starts_at, self.ends_at, retry_at]
            .into_iter()
            .flatten()
            .filter(|t| *t > now)
            .min()
    }

    /// Whether a bypass secret is configured.
    pub fn has_bypass_secret(&self) -> bool {
        self.bypass.is_some()
    }

    /// How many `allow_ips` and `trusted_proxies` entries there are (for the liftoff log).
    pub fn rule_summary(&self) -> String {
        format!(
            "{} allowed path pattern(s){}{}{}",
            self.allow_path_patterns,
            if self.allow_ips.is_empty() {
                ""
            } else {
                ", allowed IPs"
            },
            if self.trusted_proxies.is_empty() {
                ""
            } else {
                ", trusted proxies"
            },
            if self.bypass.is_some() {
                ", a bypass secret"
            } else {
                ""
            },
        )
    }

    /// The bypass secret, for the response that sets the cookie.
    pub fn bypass(&self) -> Option<&BypassSecret> {
        self.bypass.as_ref()
    }
}

#[cfg(test)]
mod tests;

//! The compiled, immutable policy and the pure decision over it.
//!
//! [`Policy::compile`] turns [`Settings`] into everything a request needs, computed once: glob
//! sets, network sets, the bypass secret, parsed times. [`Policy::decide`] answers one question
//! per request, reading no clock and touching no I/O unless a bypass cookie must be checked
//! against the time the caller passes in.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::SystemTime;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use rocket::http::uri::Origin;
use rocket::http::{HeaderMap, Method};

use crate::bypass::{validate_secret, BypassSecret, HEADER_NAME};
use crate::client_ip::client_ip;
use crate::error::Error;
use crate::networks::{parse_network, NetworkSet};
use crate::settings::{RetryAfter, Settings, DEFAULT_MESSAGE, DEFAULT_READ_ONLY_MESSAGE};

pub(crate) use crate::settings::Format;

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
    pub message: String,
    pub retry: Option<RetryAfter>,
    pub starts_at: Option<SystemTime>,
    pub ends_at: Option<SystemTime>,
    pub status: u16,
    pub format: Format,
    pub redirect: Option<String>,
    pub refresh: Option<u32>,
    pub template: Option<String>,
    pub context: BTreeMap<String, serde_json::Value>,
    pub allow_path_patterns: usize,
    allow_paths: Option<GlobSet>,
    allow_ips: NetworkSet,
    trusted_proxies: NetworkSet,
    bypass: Option<BypassSecret>,
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
    /// Hold it back: the maintenance response (unless an `exempt_when` guard passes).
    Hold {
        /// Whether to answer with the configured redirect instead of the page.
        redirect: bool,
    },
}

fn is_safe(method: Method) -> bool {
    matches!(method, Method::Get | Method::Head | Method::Options)
}

impl Policy {
    /// Validates and compiles settings. Errors name the key but not yet the file: callers add it
    /// with [`Error::located`].
    pub fn compile(s: Settings) -> Result<Policy, Error> {
        if cfg!(not(feature = "fleet")) && s.fleet.is_some() {
            return Err(Error::setting(
                "fleet",
                None,
                "this build has no `fleet` feature: enable the crate feature `fleet` or remove \
                 the table",
            ));
        }
        let retry = match &s.retry_after {
            None => None,
            Some(raw) => Some(raw.parse().map_err(|reason| {
                Error::setting("retry_after", Some(format!("{raw:?}")), reason)
            })?),
        };
        let time = |key: &str, v: &Option<String>| -> Result<Option<SystemTime>, Error> {
            v.as_deref()
                .map(|t| {
                    crate::settings::parse_time(t)
                        .map_err(|reason| Error::setting(key, Some(format!("{t:?}")), reason))
                })
                .transpose()
        };
        let starts_at = time("starts_at", &s.starts_at)?;
        let ends_at = time("ends_at", &s.ends_at)?;
        if let (Some(a), Some(b)) = (starts_at, ends_at) {
            if a >= b {
                return Err(Error::setting(
                    "starts_at",
                    s.starts_at.clone().map(|t| format!("{t:?}")),
                    format!(
                        "must be before `maintenance.ends_at` ({:?})",
                        s.ends_at.clone().unwrap_or_default()
                    ),
                ));
            }
        }
        let status = s.status.unwrap_or(503);
        if !(400..=599).contains(&status) {
            return Err(Error::setting(
                "status",
                Some(status.to_string()),
                "must be from 400 to 599 (a client or server error); 503 is the usual choice",
            ));
        }
        if let Some(key) = s
            .context
            .keys()
            .find(|k| BUILT_IN_VARIABLES.contains(&k.as_str()))
        {
            return Err(Error::setting(
                &format!("context.{key}"),
                None,
                format!(
                    "`{key}` is a built-in template variable; set it with its own key or rename it"
                ),
            ));
        }
        if let Some(url) = &s.redirect {
            let local = url.starts_with('/') && !url.starts_with("//");
            let absolute = rocket::http::uri::Absolute::parse(url)
                .map(|a| matches!(a.scheme(), "http" | "https"))
                .unwrap_or(false);
            if !(local || absolute) {
                return Err(Error::setting(
                    "redirect",
                    Some(format!("{url:?}")),
                    "must be a path starting with `/` or an absolute http(s) URL",
                ));
            }
        }
        let mut globs = GlobSetBuilder::new();
        for (i, pattern) in s.allow_paths.iter().enumerate() {
            let key = format!("allow_paths[{i}]");
            if !pattern.starts_with('/') {
                return Err(Error::setting(
                    &key,
                    Some(format!("{pattern:?}")),
                    "a path pattern must start with `/`, e.g. \"/static/**\"",
                ));
            }
            let glob = GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|e| Error::setting(&key, Some(format!("{pattern:?}")), e.to_string()))?;
            globs.add(glob);
        }
        let allow_paths = if s.allow_paths.is_empty() {
            None
        } else {
            Some(
                globs
                    .build()
                    .map_err(|e| Error::setting("allow_paths", None, e.to_string()))?,
            )
        };
        let networks = |key: &str, items: &[String]| -> Result<NetworkSet, Error> {
            let mut nets = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                nets.push(parse_network(item).map_err(|reason| {
                    Error::setting(&format!("{key}[{i}]"), Some(format!("{item:?}")), reason)
                })?);
            }
            Ok(NetworkSet::new(nets))
        };
        let allow_ips = networks("allow_ips", &s.allow_ips)?;
        let trusted_proxies = networks("trusted_proxies", &s.trusted_proxies)?;
        let bypass = match s.bypass_secret {
            None => None,
            Some(secret) => {
                validate_secret(&secret.0).map_err(|reason| {
                    Error::setting("bypass_secret", Some(format!("{secret:?}")), reason)
                })?;
                Some(BypassSecret::new(secret.0))
            }
        };
        let message = s.message.unwrap_or_else(|| {
            if s.read_only {
                DEFAULT_READ_ONLY_MESSAGE.into()
            } else {
                DEFAULT_MESSAGE.into()
            }
        });
        Ok(Policy {
            enabled: s.enabled,
            read_only: s.read_only,
            message,
            retry,
            starts_at,
            ends_at,
            status: status as u16,
            format: s.format,
            redirect: s.redirect,
            refresh: s.refresh,
            template: s.template,
            context: s.context,
            allow_path_patterns: s.allow_paths.len(),
            allow_paths,
            allow_ips,
            trusted_proxies,
            bypass,
        })
    }

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

    /// The decision order of the crate docs, steps 1, 2 and 5 to 7. Steps 3 and 4 (`ForceOn`,
    /// `force_off`) are decided by Rocket's router, and step 8 (`exempt_when` guards) by the
    /// fairing, which can run guards.
    pub fn decide(&self, active: bool, req: &RequestFacts<'_>, now_unix: u64) -> Verdict {
        // 1. The bypass-secret path, in every state.
        if let Some(bypass) = &self.bypass {
            if matches!(req.method, Method::Get | Method::Head)
                && bypass.is_login_path(req.uri.path().as_str())
            {
                return Verdict::Login {
                    secure: req.tls || self.forwarded_https(req),
                };
            }
        }
        // 2. Not in maintenance, or a read in read-only maintenance.
        if !active || (self.read_only && is_safe(req.method)) {
            return Verdict::Pass;
        }
        // 5. allow_paths.
        if let Some(globs) = &self.allow_paths {
            // Most paths are already in the form Rocket routes on: match them as they are, with
            // no allocation and no segment decoding.
            let raw = req.uri.path().as_str();
            let matched = if is_routed_form(raw) {
                globs.is_match(raw)
            } else {
                routed_path(req.uri).is_some_and(|path| globs.is_match(&path))
            };
            if matched {
                return Verdict::Pass;
            }
        }
        // 6. allow_ips, with the client address per trusted_proxies.
        if !self.allow_ips.is_empty() {
            if let Some(ip) = self.client(req) {
                if self.allow_ips.contains(ip) {
                    return Verdict::Pass;
                }
            }
        }
        // 7. The bypass cookie or header.
        if let Some(bypass) = &self.bypass {
            if let Some(value) = req.headers.get_one(HEADER_NAME) {
                if bypass.header_matches(value) {
                    return Verdict::PassWithBypassHeader;
                }
            }
            if let Some(value) = req.bypass_cookie {
                if bypass.cookie_is_valid(value, now_unix) {
                    return Verdict::Pass;
                }
            }
        }
        // 9. Held back (step 8 is the fairing's).
        let redirect = match &self.redirect {
            Some(target) => target != req.uri.path().as_str(),
            None => false,
        };
        Verdict::Hold { redirect }
    }

    /// The client's address, believing forwarding headers only from trusted proxies.
    pub fn client(&self, req: &RequestFacts<'_>) -> Option<IpAddr> {
        let peer = req.peer?;
        // Forwarding headers count only from a trusted proxy: look them up only then.
        if self.trusted_proxies.is_empty() || !self.trusted_proxies.contains(peer) {
            return Some(peer.to_canonical());
        }
        Some(client_ip(
            peer,
            req.headers.get("X-Forwarded-For"),
            req.headers.get_one("X-Real-IP"),
            &self.trusted_proxies,
        ))
    }

    /// Whether a trusted proxy says the client connected over HTTPS.
    fn forwarded_https(&self, req: &RequestFacts<'_>) -> bool {
        let trusted_peer = req
            .peer
            .is_some_and(|p| !self.trusted_proxies.is_empty() && self.trusted_proxies.contains(p));
        trusted_peer
            && req
                .headers
                .get("X-Forwarded-Proto")
                .last()
                .and_then(|v| v.rsplit(',').next())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
    }

    /// The bypass secret, for the response that sets the cookie.
    pub fn bypass(&self) -> Option<&BypassSecret> {
        self.bypass.as_ref()
    }
}

/// Whether `raw` already is what [`routed_path`] returns for it: `/`, or a path with no
/// percent-encoding, no empty segment (so no `//` and no trailing `/`) and no `.` or `..`
/// segment.
fn is_routed_form(raw: &str) -> bool {
    raw == "/"
        || (raw.starts_with('/')
            && !raw.ends_with('/')
            && !raw.contains('%')
            && !raw.contains("//")
            && raw[1..].split('/').all(|s| s != "." && s != ".."))
}

/// The path Rocket routes on: its non-empty, percent-decoded segments joined by `/`, with a
/// leading `/`. `None` when a segment decodes to something containing `/`, or to `.` or `..`:
/// such a path never matches `allow_paths`.
pub(crate) fn routed_path(uri: &Origin<'_>) -> Option<String> {
    let mut path = String::with_capacity(uri.path().len() + 1);
    for segment in uri.path().segments() {
        if segment.contains('/') || segment == "." || segment == ".." {
            return None;
        }
        path.push('/');
        path.push_str(segment);
    }
    if path.is_empty() {
        path.push('/');
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_in_routed_form_is_its_own_routed_path() {
        let parts = [
            "a", "b.c", ".", "..", "", "%2F", "%41", "x y", "é", "~", "a+b", "...",
        ];
        let mut checked = 0;
        for a in parts {
            for b in parts {
                for c in parts {
                    for path in [
                        format!("/{a}"),
                        format!("/{a}/{b}"),
                        format!("/{a}/{b}/{c}"),
                    ] {
                        let Ok(uri) = Origin::parse(&path) else {
                            continue;
                        };
                        let raw = uri.path().as_str();
                        if is_routed_form(raw) {
                            checked += 1;
                            assert_eq!(routed_path(&uri).as_deref(), Some(raw), "{path}");
                        }
                    }
                }
            }
        }
        assert!(checked > 100);
    }
    use figment::providers::{Format as _, Toml};
    use rocket::http::Header;

    fn policy(toml: &str) -> Policy {
        let figment = figment::Figment::from(Toml::string(toml)).focus("maintenance");
        Policy::compile(figment.extract::<Settings>().unwrap()).unwrap()
    }

    fn compile_err(toml: &str) -> String {
        let figment = figment::Figment::from(Toml::string(toml)).focus("maintenance");
        Policy::compile(figment.extract::<Settings>().unwrap())
            .unwrap_err()
            .to_string()
    }

    fn decide(
        p: &Policy,
        method: Method,
        uri: &str,
        peer: &str,
        headers: &[(&str, &str)],
    ) -> Verdict {
        let uri = Origin::parse(uri).unwrap();
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.add(Header::new(k.to_string(), v.to_string()));
        }
        let cookie = map
            .get("Cookie")
            .flat_map(rocket::http::Cookie::split_parse)
            .flatten()
            .find(|c| c.name() == crate::bypass::COOKIE_NAME)
            .map(|c| c.value().to_string());
        let facts = RequestFacts {
            method,
            uri: &uri,
            peer: Some(peer.parse().unwrap()),
            headers: &map,
            bypass_cookie: cookie.as_deref(),
            tls: false,
        };
        p.decide(
            p.active_at(SystemTime::now()).is_some(),
            &facts,
            1_800_000_000,
        )
    }

    const HOLD: Verdict = Verdict::Hold { redirect: false };

    #[test]
    fn off_passes_everything() {
        let p = policy("[maintenance]\nenabled = false");
        assert_eq!(
            decide(&p, Method::Post, "/x", "192.0.2.1", &[]),
            Verdict::Pass
        );
    }

    #[test]
    fn on_holds_every_method_and_path() {
        let p = policy("[maintenance]\nenabled = true");
        for m in [
            Method::Get,
            Method::Head,
            Method::Post,
            Method::Delete,
            Method::Options,
        ] {
            assert_eq!(decide(&p, m, "/nowhere/at/all", "192.0.2.1", &[]), HOLD);
        }
    }

    #[test]
    fn read_only_holds_writes_only() {
        let p = policy("[maintenance]\nenabled = true\nread_only = true");
        let cases = [
            (Method::Get, Verdict::Pass),
            (Method::Options, Verdict::Pass),
            (Method::Post, HOLD),
            (Method::Patch, HOLD),
        ];
        for (method, want) in cases {
            assert_eq!(decide(&p, method, "/", "192.0.2.1", &[]), want, "{method}");
        }
    }

    #[test]
    fn allowed_path_passes_during_maintenance() {
        let p = policy(
            "[maintenance]\nenabled = true\nallow_paths = [\"/static/**\", \"/healthz\", \"/a/*/c\"]",
        );
        let cases = [
            ("/static/css/site.css", Verdict::Pass),
            ("/healthz", Verdict::Pass),
            ("//healthz", Verdict::Pass),
            ("/%68ealthz", Verdict::Pass),
            ("/a/b/c", Verdict::Pass),
            ("/a/b/x/c", HOLD), // `*` stays in a segment
            ("/healthz/more", HOLD),
        ];
        for (path, want) in cases {
            assert_eq!(
                decide(&p, Method::Get, path, "192.0.2.1", &[]),
                want,
                "{path}"
            );
        }
    }

    #[test]
    fn path_tricks_never_match_allow_paths() {
        let p = policy("[maintenance]\nenabled = true\nallow_paths = [\"/static/**\"]");
        assert_eq!(
            decide(&p, Method::Get, "/static/../admin", "192.0.2.1", &[]),
            HOLD
        );
        assert_eq!(
            decide(&p, Method::Get, "/static/%2e%2e/admin", "192.0.2.1", &[]),
            HOLD
        );
        assert_eq!(
            decide(&p, Method::Get, "/static%2F..%2Fadmin", "192.0.2.1", &[]),
            HOLD
        );
        assert_eq!(
            decide(&p, Method::Get, "/static/./x", "192.0.2.1", &[]),
            HOLD
        );
    }

    #[test]
    fn allowlisted_ip_passes_during_maintenance() {
        let p = policy(
            "[maintenance]\nenabled = true\nallow_ips = [\"192.0.2.0/24\", \"2001:db8::1\"]",
        );
        let cases = [
            ("192.0.2.77", Verdict::Pass),
            ("::ffff:192.0.2.77", Verdict::Pass),
            ("2001:db8::1", Verdict::Pass),
            ("198.51.100.1", HOLD),
        ];
        for (peer, want) in cases {
            assert_eq!(decide(&p, Method::Post, "/", peer, &[]), want, "{peer}");
        }
    }

    #[test]
    fn spoofed_forwarding_headers_from_untrusted_peers_gain_nothing() {
        let p = policy("[maintenance]\nenabled = true\nallow_ips = [\"192.0.2.0/24\"]\ntrusted_proxies = [\"10.0.0.0/8\"]");
        let spoof = [("X-Forwarded-For", "192.0.2.1"), ("X-Real-IP", "192.0.2.1")];
        assert_eq!(decide(&p, Method::Get, "/", "198.51.100.1", &spoof), HOLD);
        assert_eq!(
            decide(&p, Method::Get, "/", "10.0.0.5", &spoof[..1]),
            Verdict::Pass
        );
        assert_eq!(
            decide(&p, Method::Get, "/", "10.0.0.5", &spoof[1..]),
            Verdict::Pass
        );
        // A client that prepends a lie to a trusted proxy's header gains nothing either.
        let chained = [("X-Forwarded-For", "192.0.2.1, 198.51.100.1")];
        assert_eq!(decide(&p, Method::Get, "/", "10.0.0.5", &chained), HOLD);
    }

    #[test]
    fn bypass_path_sets_cookie_in_every_state() {
        for enabled in [true, false] {
            let p = policy(&format!(
                "[maintenance]\nenabled = {enabled}\nbypass_secret = \"0123456789abcdef\""
            ));
            assert_eq!(
                decide(&p, Method::Get, "/0123456789abcdef", "192.0.2.1", &[]),
                Verdict::Login { secure: false }
            );
            assert_ne!(
                decide(&p, Method::Post, "/0123456789abcdef", "192.0.2.1", &[]),
                Verdict::Login { secure: false }
            );
        }
    }

    #[test]
    fn login_cookie_is_secure_behind_a_trusted_https_proxy_only() {
        let p = policy("[maintenance]\nenabled = true\nbypass_secret = \"0123456789abcdef\"\ntrusted_proxies = [\"10.0.0.1\"]");
        let https = [("X-Forwarded-Proto", "https")];
        assert_eq!(
            decide(&p, Method::Get, "/0123456789abcdef", "10.0.0.1", &https),
            Verdict::Login { secure: true }
        );
        assert_eq!(
            decide(&p, Method::Get, "/0123456789abcdef", "192.0.2.1", &https),
            Verdict::Login { secure: false }
        );
    }

    #[test]
    fn bypass_cookie_and_header_pass_and_forgeries_do_not() {
        let p = policy("[maintenance]\nenabled = true\nbypass_secret = \"0123456789abcdef\"");
        let cookie = p.bypass().unwrap().cookie_value(1_800_000_000 - 10);
        use crate::bypass::COOKIE_NAME;
        let good = format!("other=1; {COOKIE_NAME}={cookie}");
        assert_eq!(
            decide(&p, Method::Post, "/", "192.0.2.1", &[("Cookie", &good)]),
            Verdict::Pass
        );
        let forged = format!("{COOKIE_NAME}=v1.1800040000.{}", "0".repeat(64));
        assert_eq!(
            decide(&p, Method::Post, "/", "192.0.2.1", &[("Cookie", &forged)]),
            HOLD
        );
        assert_eq!(
            decide(
                &p,
                Method::Post,
                "/",
                "192.0.2.1",
                &[(HEADER_NAME, "0123456789abcdef")]
            ),
            Verdict::PassWithBypassHeader
        );
        assert_eq!(
            decide(
                &p,
                Method::Post,
                "/",
                "192.0.2.1",
                &[(HEADER_NAME, "wrong")]
            ),
            HOLD
        );
    }

    #[test]
    fn redirect_applies_except_to_its_own_target() {
        let p = policy("[maintenance]\nenabled = true\nredirect = \"/down\"");
        assert_eq!(
            decide(&p, Method::Get, "/x", "192.0.2.1", &[]),
            Verdict::Hold { redirect: true }
        );
        assert_eq!(
            decide(&p, Method::Get, "/down", "192.0.2.1", &[]),
            Verdict::Hold { redirect: false }
        );
    }

    #[test]
    fn window_turns_maintenance_on_between_its_edges() {
        let p = policy("[maintenance]\nstarts_at = \"2030-01-01T00:00:00Z\"\nends_at = \"2030-01-01T01:00:00Z\"");
        let t = |s| crate::settings::parse_time(s).unwrap();
        assert_eq!(p.active_at(t("2029-12-31T23:59:59Z")), None);
        assert_eq!(p.active_at(t("2030-01-01T00:00:00Z")), Some(Why::Window));
        assert_eq!(p.active_at(t("2030-01-01T01:00:00Z")), None);
        assert_eq!(
            p.next_edge(t("2029-01-01T00:00:00Z")),
            Some(t("2030-01-01T00:00:00Z"))
        );
        assert_eq!(
            p.next_edge(t("2030-01-01T00:30:00Z")),
            Some(t("2030-01-01T01:00:00Z"))
        );
        assert_eq!(p.next_edge(t("2030-01-01T02:00:00Z")), None);
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            ("status = 200", "maintenance.status"),
            ("status = 600", "maintenance.status"),
            ("allow_ips = [\"10.0.0.0/33\"]", "maintenance.allow_ips[0]"),
            (
                "trusted_proxies = [\"x\"]",
                "maintenance.trusted_proxies[0]",
            ),
            (
                "allow_paths = [\"static/**\"]",
                "maintenance.allow_paths[0]",
            ),
            ("allow_paths = [\"/a/[\"]", "maintenance.allow_paths[0]"),
            ("starts_at = \"soon\"", "maintenance.starts_at"),
            (
                "starts_at = \"2030-01-02T00:00:00Z\"\nends_at = \"2030-01-01T00:00:00Z\"",
                "maintenance.starts_at",
            ),
            ("retry_after = \"whenever\"", "maintenance.retry_after"),
            ("redirect = \"javascript:alert(1)\"", "maintenance.redirect"),
            ("bypass_secret = \"short\"", "maintenance.bypass_secret"),
            (
                "context = { message = \"x\" }",
                "maintenance.context.message",
            ),
        ];
        for (toml, key) in cases {
            let err = compile_err(&format!("[maintenance]\n{toml}"));
            assert!(err.contains(&format!("`{key}`")), "{toml}: {err}");
        }
    }

    #[test]
    #[cfg(not(feature = "fleet"))]
    fn fleet_table_is_refused_without_the_feature() {
        let err = compile_err("[maintenance.fleet]\nstore = \"redis://127.0.0.1\"");
        assert!(
            err.contains("maintenance.fleet") && err.contains("feature"),
            "{err}"
        );
    }

    #[test]
    fn secret_never_appears_in_errors() {
        let err = compile_err("[maintenance]\nbypass_secret = \"too short!\"");
        assert!(!err.contains("too short!"), "{err}");
        assert!(err.contains("<redacted, 10 chars>"), "{err}");
    }
}

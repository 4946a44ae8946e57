//! The per-request decision: steps 1, 2 and 5 to 7 of the decision order.

use std::net::IpAddr;

use rocket::http::uri::Origin;
use rocket::http::Method;

use super::bypass::HEADER_NAME;
use super::client_ip::client_ip;
use super::paths::{is_routed_form, routed_path};
use super::{Policy, RequestFacts, Rule, Verdict};
use crate::settings::ClientIpHeader;

/// `GET`, `HEAD` and `OPTIONS`: the methods read-only maintenance lets through and the drain
/// does not track.
pub(crate) fn is_safe(method: Method) -> bool {
    matches!(method, Method::Get | Method::Head | Method::Options)
}

impl Policy {
    /// The decision order of the crate docs, steps 1, 2 and 5 to 7. Steps 3 and 4 (`ForceOn`,
    /// `force_off`) are decided by Rocket's router, and step 8 (`exempt_when` guards) by the
    /// fairing, which can run guards.
    pub fn decide(&self, active: bool, req: &RequestFacts<'_>, now_unix: u64) -> Verdict {
        // 0. `health_path` and `ready_path` (GET/HEAD), in every state.
        if self.health_path.is_some() || self.ready_path.is_some() {
            if let Some(verdict) = self.health(req) {
                return verdict;
            }
        }
        // 1. The bypass-secret path, in every state.
        if let Some(bypass) = &self.bypass {
            // Every spelling Rocket routes the same (a trailing or doubled slash, percent-encoding)
            // is the login path, so a near miss never carries the secret into the app's log.
            let raw = req.uri.path().as_str();
            let is_login = if is_routed_form(raw) {
                bypass.is_login_path(raw)
            } else {
                routed_path(req.uri).is_some_and(|path| bypass.is_login_path(&path))
            };
            if matches!(req.method, Method::Get | Method::Head) && is_login {
                return Verdict::Login {
                    secure: req.tls || self.forwarded_https(req),
                };
            }
        }
        // 2. Not in maintenance, or a read in read-only maintenance.
        if !active {
            return Verdict::Pass;
        }
        if self.read_only && is_safe(req.method) {
            return Verdict::PassBy(Rule::ReadOnly);
        }
        // A target that is not a path (asterisk-form `OPTIONS *`, `POST *`) matches no rule.
        if !req.uri.path().as_str().starts_with('/') {
            return Verdict::Hold { redirect: false };
        }
        // 5. allow_paths.
        if let Some(globs) = &self.allow_paths {
            if globs.matches(req.uri) {
                return Verdict::PassBy(Rule::AllowPaths);
            }
        }
        // 6. allow_ips, with the client address per trusted_proxies.
        if !self.allow_ips.is_empty() {
            if let Some(ip) = self.client(req) {
                if self.allow_ips.contains(ip) {
                    return Verdict::PassBy(Rule::AllowIps);
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
                    return Verdict::PassBy(Rule::Bypass);
                }
            }
        }
        // 9. Held back (step 8 is the fairing's).
        let redirect = self.redirect_applies(req);
        Verdict::Hold { redirect }
    }

    /// Step 0: `GET`/`HEAD` of `health_path` or `ready_path`, compared in routed form.
    fn health(&self, req: &RequestFacts<'_>) -> Option<Verdict> {
        if !matches!(req.method, Method::Get | Method::Head) {
            return None;
        }
        let raw = req.uri.path().as_str();
        let routed = if is_routed_form(raw) {
            std::borrow::Cow::Borrowed(raw)
        } else {
            std::borrow::Cow::Owned(routed_path(req.uri)?)
        };
        if self.health_path.as_deref() == Some(&*routed) {
            Some(Verdict::Health { ready: false })
        } else if self.ready_path.as_deref() == Some(&*routed) {
            Some(Verdict::Health { ready: true })
        } else {
            None
        }
    }

    /// The client's address, believing forwarding headers only from trusted proxies.
    pub fn client(&self, req: &RequestFacts<'_>) -> Option<IpAddr> {
        let peer = req.peer?;
        // Forwarding headers count only from a trusted proxy: look them up only then.
        if self.trusted_proxies.is_empty() || !self.trusted_proxies.contains(peer) {
            return Some(peer.to_canonical());
        }
        // Only the one configured header is believed: a proxy that sets `X-Real-IP` passes a
        // client's own `X-Forwarded-For` through, so believing both lets a client choose.
        Some(match self.client_ip_header {
            ClientIpHeader::XForwardedFor => client_ip(
                peer,
                req.headers.get("X-Forwarded-For"),
                None,
                &self.trusted_proxies,
            ),
            ClientIpHeader::XRealIp => client_ip(
                peer,
                std::iter::empty(),
                req.headers.get_one("X-Real-IP"),
                &self.trusted_proxies,
            ),
        })
    }

    /// Whether `redirect` is set.
    pub fn has_redirect(&self) -> bool {
        self.redirect.is_some()
    }

    /// Whether `json_paths` is set.
    pub fn has_json_paths(&self) -> bool {
        self.json_paths.is_some()
    }

    /// Whether a held-back request for `uri` always gets the JSON document (`json_paths`).
    pub fn is_json_path(&self, uri: &Origin<'_>) -> bool {
        self.json_paths
            .as_ref()
            .is_some_and(|globs| globs.matches(uri))
    }

    /// Whether a held-back request gets the configured redirect: never the request for the
    /// redirect target itself (it gets the page: no loop).
    pub fn redirect_applies(&self, req: &RequestFacts<'_>) -> bool {
        self.redirect.as_ref().is_some_and(|target| {
            !target.is_requested(
                req.uri,
                req.headers.get_one("Host"),
                req.tls || self.forwarded_https(req),
            )
        })
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
}

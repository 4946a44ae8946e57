//! Not part of the API (behind the `internals` feature, which is not for users): entry points for benchmarks, property tests and fuzz targets, which
//! live outside the crate. Nothing here is stable.

use std::net::IpAddr;

use figment::providers::{Format as _, Toml};
use rocket::http::uri::Origin;
use rocket::http::{HeaderMap, Method};

use crate::policy::{parse_network, BypassSecret, NetworkSet, Policy, RequestFacts, Verdict};
use crate::settings::Settings;
use crate::Error;

/// A compiled policy.
pub struct CompiledPolicy(Policy);

/// The decision, as a plain enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Passes to the application.
    Pass,
    /// Passes, after the bypass header is removed.
    PassWithBypassHeader,
    /// The bypass path: cookie and redirect.
    Login,
    /// Held back (the maintenance response, or the redirect).
    Hold,
}

impl CompiledPolicy {
    /// Compiles a TOML document whose top-level `[maintenance]` table holds the settings.
    pub fn from_toml(toml: &str) -> Result<CompiledPolicy, Error> {
        let figment = figment::Figment::from(Toml::string(toml));
        let settings = Settings::from_figment(&figment)?;
        Policy::compile(settings).map(CompiledPolicy)
    }

    /// Whether maintenance is on now (by `enabled` or a window).
    pub fn active_now(&self) -> bool {
        self.0.active_at(std::time::SystemTime::now()).is_some()
    }

    /// The decision for one request.
    #[allow(clippy::too_many_arguments)]
    pub fn decide(
        &self,
        active: bool,
        method: Method,
        uri: &Origin<'_>,
        peer: Option<IpAddr>,
        headers: &HeaderMap<'_>,
        bypass_cookie: Option<&str>,
        now_unix: u64,
    ) -> Decision {
        let facts = RequestFacts {
            method,
            uri,
            peer,
            headers,
            bypass_cookie,
            tls: false,
        };
        match self.0.decide(active, &facts, now_unix) {
            Verdict::Pass | Verdict::PassBy(_) | Verdict::Health { .. } => Decision::Pass,
            Verdict::PassWithBypassHeader => Decision::PassWithBypassHeader,
            Verdict::Login { .. } => Decision::Login,
            Verdict::Hold { .. } => Decision::Hold,
        }
    }
}

/// The client address given the peer, `X-Forwarded-For` values, `X-Real-IP` and trusted
/// proxies (each an IP or CIDR; unparsable ones are skipped).
pub fn client_ip(
    peer: IpAddr,
    forwarded_for: &[&str],
    real_ip: Option<&str>,
    trusted: &[&str],
) -> IpAddr {
    let trusted = NetworkSet::new(trusted.iter().filter_map(|t| parse_network(t).ok()));
    crate::policy::client_ip(peer, forwarded_for.iter().copied(), real_ip, &trusted)
}

/// Parses one `X-Forwarded-For` entry.
pub fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    crate::policy::parse_forwarded_entry(entry)
}

/// Whether a bypass cookie value is valid for `secret` at `now`.
pub fn cookie_is_valid(secret: &str, value: &str, now_unix: u64) -> bool {
    BypassSecret::new(secret.to_string()).cookie_is_valid(value, now_unix)
}

/// A bypass cookie value for `secret` made at `now`.
pub fn cookie_value(secret: &str, now_unix: u64) -> String {
    BypassSecret::new(secret.to_string()).cookie_value(now_unix)
}

//! The `redirect` target: where held-back requests are sent, and how a request for the target
//! itself is recognised, so that it gets the page instead of a redirect to itself.
//!
//! The target is compared on the decoded path Rocket routes on, query and fragment ignored; an
//! absolute URL counts only when its origin is the request's own (scheme per TLS or a trusted
//! `X-Forwarded-Proto`, host per `Host`, a default port written or not). `Location` is sent
//! ASCII-only: whatever is not (`/wartung-ä`) is percent-encoded.

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use rocket::http::uri::{Absolute, Origin};

use super::paths::routed_path;

/// What `Location` may not hold raw: controls, space, and what browsers treat as delimiters.
const NOT_IN_LOCATION: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>').add(b'`');

/// A validated redirect target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedirectTarget {
    /// The `Location` value, ASCII-only.
    pub location: String,
    /// The target's path in routed form (decoded, normalised).
    path: Option<String>,
    /// For an absolute URL: whether it is https, its host (lower case) and port.
    origin: Option<(bool, String, u16)>,
}

impl RedirectTarget {
    /// Validates `url`: a path with one leading `/` (not `//` or `/\`, which browsers follow to
    /// another site) and no control character, or an absolute http(s) URL.
    pub fn parse(url: &str) -> Result<RedirectTarget, String> {
        let refused = || {
            "must be a path starting with one `/` (not `//` or `/\\`, which browsers follow to \
             another site) or an absolute http(s) URL, with no control character"
                .to_string()
        };
        if url.chars().any(char::is_control) {
            return Err(refused());
        }
        let location = utf8_percent_encode(url, NOT_IN_LOCATION).to_string();
        let without_fragment = location.split('#').next().unwrap_or_default();
        if location.starts_with('/') {
            if location.starts_with("//") || location.starts_with("/\\") {
                return Err(refused());
            }
            let origin = Origin::parse(without_fragment).map_err(|_| refused())?;
            return Ok(RedirectTarget {
                path: routed_path(&origin),
                origin: None,
                location,
            });
        }
        let absolute = Absolute::parse(without_fragment).map_err(|_| refused())?;
        let https = match absolute.scheme() {
            "https" => true,
            "http" => false,
            _ => return Err(refused()),
        };
        let authority = absolute.authority().ok_or_else(refused)?;
        let port = authority.port().unwrap_or(if https { 443 } else { 80 });
        let path = Origin::parse(absolute.path().as_str())
            .ok()
            .and_then(|o| routed_path(&o))
            .or_else(|| Some("/".to_string()));
        Ok(RedirectTarget {
            path,
            origin: Some((https, authority.host().to_ascii_lowercase(), port)),
            location,
        })
    }

    /// Whether a request for `uri`, with `host` (its `Host` header) over https or not, asks for
    /// the target itself.
    pub fn is_requested(&self, uri: &Origin<'_>, host: Option<&str>, https: bool) -> bool {
        if self.path.is_none() || routed_path(uri) != self.path {
            return false;
        }
        let Some((t_https, t_host, t_port)) = &self.origin else {
            return true;
        };
        let Some(host) = host else {
            return false;
        };
        let default = if https { 443 } else { 80 };
        let (name, port) = match host.rsplit_once(':') {
            Some((name, port)) if !name.ends_with(']') || host.starts_with('[') => {
                match port.parse::<u16>() {
                    Ok(port) if !name.is_empty() => (name, port),
                    _ => (host, default),
                }
            }
            _ => (host, default),
        };
        *t_https == https && name.eq_ignore_ascii_case(t_host) && port == *t_port
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requested(target: &str, path: &str, host: &str, https: bool) -> bool {
        let t = RedirectTarget::parse(target).unwrap();
        t.is_requested(&Origin::parse(path).unwrap(), Some(host), https)
    }

    #[test]
    fn a_request_for_the_target_is_recognised_however_it_is_written() {
        assert!(requested(
            "/maintenance?from=app",
            "/maintenance",
            "h",
            false
        ));
        assert!(requested("/maintenance#top", "/maintenance/", "h", false));
        assert!(requested("/wartung-ä", "/wartung-%C3%A4", "h", false));
        assert!(requested(
            "http://example.org/maintenance",
            "/maintenance",
            "example.org",
            false
        ));
        assert!(requested(
            "http://example.org:80/m",
            "/m",
            "EXAMPLE.org:80",
            false
        ));
        assert!(requested(
            "https://example.org/m",
            "/m",
            "example.org",
            true
        ));
        assert!(!requested(
            "https://example.org/m",
            "/m",
            "example.org",
            false
        ));
        assert!(!requested(
            "http://other.example/m",
            "/m",
            "example.org",
            false
        ));
        assert!(!requested("/maintenance", "/", "h", false));
    }

    #[test]
    fn location_is_ascii_and_off_site_paths_are_refused() {
        let t = RedirectTarget::parse("/wartung-ä?x=ü").unwrap();
        assert_eq!(t.location, "/wartung-%C3%A4?x=%C3%BC");
        for bad in [
            "/\\evil.example/",
            "//evil.example",
            "javascript:alert(1)",
            "/a\nb",
            "ftp://x/",
        ] {
            assert!(RedirectTarget::parse(bad).is_err(), "{bad}");
        }
    }
}

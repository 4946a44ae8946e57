//! The bypass secret: Laravel's `down --secret`, without Rocket's `secrets` feature.
//!
//! `GET /<secret>` earns a cookie that holds `v2.<expiry>.<mac>`, where `mac` is an HMAC-SHA256 of
//! the expiry under a key derived from the secret (HKDF-SHA256 with a fixed label, so the secret
//! itself is never a MAC key): the cookie never holds the secret, changing the secret revokes every
//! cookie, and a forged, tampered, non-canonical or expired cookie fails. Comparisons are
//! constant-time.

use std::time::Duration;

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The cookie's name.
pub const COOKIE_NAME: &str = "rocket_maintenance_bypass";
/// The header that lets one request through.
pub const HEADER_NAME: &str = "X-Maintenance-Bypass";
/// How long the cookie lasts.
pub const COOKIE_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// The HKDF label the cookie key is derived with.
const KEY_LABEL: &[u8] = b"rocket_maintenance bypass cookie v2";

/// A validated secret: 16-128 characters of `[A-Za-z0-9_-]`.
#[derive(Clone)]
pub(crate) struct BypassSecret {
    secret: String,
    /// The cookie's MAC key, derived from the secret.
    mac_key: [u8; 32],
    /// SHA-256 of the secret, for the header comparison.
    digest: [u8; 32],
    /// `/<secret>`, the path that earns the cookie.
    path: String,
}

impl std::fmt::Debug for BypassSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::redact::redacted(&self.secret))
    }
}

/// Checks the shape of a secret, without ever printing it.
pub(crate) fn validate_secret(secret: &str) -> Result<(), String> {
    let len = secret.chars().count();
    let ok_chars = secret
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !(16..=128).contains(&len) || !ok_chars {
        return Err(
            "must be 16 to 128 characters of A-Z, a-z, 0-9, '_' and '-'; \
             `rocket-maintenance on --with-secret` makes one"
                .into(),
        );
    }
    Ok(())
}

fn mac_of(key: &[u8; 32], expiry: u64) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(expiry.to_string().as_bytes());
    mac
}

/// An expiry as written by [`BypassSecret::cookie_value`]: digits only, no sign, no leading zero.
fn parse_canonical(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.len() <= 20
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

impl BypassSecret {
    /// Wraps a secret that passed [`validate_secret`].
    pub fn new(secret: String) -> Self {
        use sha2::Digest;
        let path = format!("/{secret}");
        let digest = Sha256::digest(secret.as_bytes()).into();
        let mut mac_key = [0u8; 32];
        Hkdf::<Sha256>::new(None, secret.as_bytes())
            .expand(KEY_LABEL, &mut mac_key)
            .expect("32 bytes is a valid HKDF-SHA256 length");
        BypassSecret {
            secret,
            mac_key,
            digest,
            path,
        }
    }

    /// Whether `path` (the raw request path) is exactly `/<secret>`.
    pub fn is_login_path(&self, path: &str) -> bool {
        path.len() == self.path.len() && bool::from(path.as_bytes().ct_eq(self.path.as_bytes()))
    }

    /// Whether a header value equals the secret. The digests are compared, so the time taken
    /// does not depend on how long the secret is either. (The login path is compared directly:
    /// it is checked on every request, where a digest would cost more than the rest of the
    /// decision; it reveals at most the secret's length.)
    pub fn header_matches(&self, value: &str) -> bool {
        use sha2::Digest;
        let given = Sha256::digest(value.trim().as_bytes());
        bool::from(given.as_slice().ct_eq(self.digest.as_slice()))
    }

    /// A cookie value valid until `now + COOKIE_LIFETIME` (unix seconds).
    pub fn cookie_value(&self, now: u64) -> String {
        let expiry = now + COOKIE_LIFETIME.as_secs();
        let tag = mac_of(&self.mac_key, expiry).finalize().into_bytes();
        format!("v2.{expiry}.{}", hex(&tag))
    }

    /// Whether a cookie value was made by [`cookie_value`](Self::cookie_value) with this secret
    /// and has not expired at `now`.
    pub fn cookie_is_valid(&self, value: &str, now: u64) -> bool {
        let mut parts = value.splitn(3, '.');
        let (Some("v2"), Some(expiry), Some(tag)) = (parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let Some(expiry) = parse_canonical(expiry) else {
            return false;
        };
        if expiry <= now || expiry > now + COOKIE_LIFETIME.as_secs() + 60 {
            return false;
        }
        let expected = hex(&mac_of(&self.mac_key, expiry).finalize().into_bytes());
        bool::from(expected.as_bytes().ct_eq(tag.as_bytes()))
    }
}

/// A fresh random secret for `--with-secret`: 32 random bytes as 64 hex characters.
pub fn generate_secret() -> Result<String, std::io::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(hex(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn secret() -> BypassSecret {
        BypassSecret::new("s3cret-s3cret_s3cret".into())
    }

    #[test]
    fn shape_of_secret_is_checked() {
        assert!(validate_secret("s3cret-s3cret_s3cret").is_ok());
        assert!(validate_secret("short").is_err());
        assert!(validate_secret("has a space in it!!").is_err());
        assert!(validate_secret(&"a".repeat(129)).is_err());
        assert!(validate_secret(&generate_secret().unwrap()).is_ok());
    }

    #[test]
    fn login_path_is_exact() {
        let s = secret();
        assert!(s.is_login_path("/s3cret-s3cret_s3cret"));
        assert!(!s.is_login_path("/s3cret-s3cret_s3cre"));
        assert!(!s.is_login_path("/s3cret-s3cret_s3cret/"));
        assert!(!s.is_login_path("s3cret-s3cret_s3cret"));
    }

    #[test]
    fn cookie_round_trips_and_never_holds_the_secret() {
        let s = secret();
        let c = s.cookie_value(NOW);
        assert!(!c.contains("s3cret"));
        assert!(s.cookie_is_valid(&c, NOW));
        assert!(s.cookie_is_valid(&c, NOW + COOKIE_LIFETIME.as_secs() - 1));
    }

    #[test]
    fn expired_tampered_and_foreign_cookies_fail() {
        let s = secret();
        let c = s.cookie_value(NOW);
        assert!(!s.cookie_is_valid(&c, NOW + COOKIE_LIFETIME.as_secs()));
        let extended = c.replacen(&(NOW + 43200).to_string(), &(NOW + 99999).to_string(), 1);
        assert!(!s.cookie_is_valid(&extended, NOW));
        let mut flipped = c.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        assert!(!s.cookie_is_valid(std::str::from_utf8(&flipped).unwrap(), NOW));
        let rotated = BypassSecret::new("another-secret-value".into());
        assert!(
            !rotated.cookie_is_valid(&c, NOW),
            "a new secret revokes old cookies"
        );
        for junk in [
            "",
            "v1",
            "v2..",
            "v2.x.y",
            "v2.1.2",
            "v2.99999999999999999999999.00",
        ] {
            assert!(!s.cookie_is_valid(junk, NOW), "{junk}");
        }
    }

    #[test]
    fn header_compares_whole_secret() {
        let s = secret();
        assert!(s.header_matches("s3cret-s3cret_s3cret"));
        assert!(!s.header_matches("s3cret"));
        assert!(!s.header_matches(""));
    }

    #[test]
    fn the_cookie_key_is_derived_and_its_expiry_canonical() {
        let s = secret();
        let good = s.cookie_value(NOW);
        assert!(s.cookie_is_valid(&good, NOW));
        // The MAC key is derived from the secret (HKDF), not the secret itself.
        let raw_key_mac = {
            let expiry = NOW + COOKIE_LIFETIME.as_secs();
            let mut mac =
                <Hmac<Sha256> as KeyInit>::new_from_slice(b"s3cret-s3cret_s3cret").unwrap();
            mac.update(expiry.to_string().as_bytes());
            format!("v2.{expiry}.{}", hex(&mac.finalize().into_bytes()))
        };
        assert!(!s.cookie_is_valid(&raw_key_mac, NOW));
        // The same expiry written another way is refused.
        let (_, rest) = good.split_once('.').unwrap();
        let (expiry, tag) = rest.split_once('.').unwrap();
        for other in [
            format!("0{expiry}"),
            format!("+{expiry}"),
            format!("{expiry} "),
        ] {
            assert!(
                !s.cookie_is_valid(&format!("v2.{other}.{tag}"), NOW),
                "{other}"
            );
        }
    }
}

//! The `maintenance` table as the user writes it, and its validation.
//!
//! [`Settings`] is the serde view of the table; [`Settings::from_figment`] extracts it from a
//! Rocket-style figment and turns every figment error into an [`Error`] that names the key as the
//! user wrote it (`maintenance.enabeld`), the value (secrets redacted) and the file. The compiled,
//! request-time form lives in `policy`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use figment::Figment;
use serde::Deserialize;

use crate::error::Error;
use crate::redact::Secret;

/// What the response format is chosen by. Default: `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Negotiate on the `Accept` header (HTML for browsers and `*/*`).
    #[default]
    Auto,
    /// Always the HTML page.
    Html,
    /// Always the `application/problem+json` document.
    Json,
    /// Always plain text.
    Text,
}

/// `message` as written: one string (in the default language), or a table of language tags to
/// strings (`{ en = "Back at 3.", de = "Um 3 Uhr zurück." }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Message {
    Text(String),
    Languages(BTreeMap<String, String>),
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Message;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string, or a table of language tags to strings")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Message, E> {
                Ok(Message::Text(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Message, A::Error> {
                BTreeMap::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Message::Languages)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// The one forwarding header believed from `trusted_proxies`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub(crate) enum ClientIpHeader {
    /// `X-Forwarded-For`, read right to left (the default).
    #[default]
    #[serde(rename = "X-Forwarded-For")]
    XForwardedFor,
    /// `X-Real-IP`, for a proxy that sets only that one (and passes a client's own
    /// `X-Forwarded-For` through untouched).
    #[serde(rename = "X-Real-IP")]
    XRealIp,
}

/// `retry_after` as written: seconds, or a string holding a duration or an RFC 3339 time.
#[derive(Debug, Clone)]
pub(crate) enum RawRetryAfter {
    Seconds(i64),
    Text(String),
}

impl<'de> Deserialize<'de> for RawRetryAfter {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = RawRetryAfter;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("seconds, a duration (\"15m\") or an RFC 3339 time")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawRetryAfter, E> {
                Ok(RawRetryAfter::Seconds(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawRetryAfter, E> {
                i64::try_from(v)
                    .map(RawRetryAfter::Seconds)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawRetryAfter, E> {
                Ok(RawRetryAfter::Text(v.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// `retry_after`, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryAfter {
    /// A fixed delay, sent as delay-seconds.
    Delay(Duration),
    /// An instant, sent as an HTTP-date while it is in the future.
    At(SystemTime),
}

/// The `maintenance` table, as deserialized. Every field has a default, so an absent table is
/// "maintenance off".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Settings {
    pub enabled: bool,
    pub message: Option<Message>,
    pub language: Option<String>,
    pub auto_return: Option<bool>,
    pub retry_after: Option<RawRetryAfter>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub read_only: bool,
    pub status: Option<i64>,
    pub template: Option<String>,
    pub context: BTreeMap<String, serde_json::Value>,
    pub format: Format,
    pub redirect: Option<String>,
    pub refresh: Option<u32>,
    pub allow_paths: Vec<String>,
    pub json_paths: Vec<String>,
    pub health_path: Option<String>,
    pub ready_path: Option<String>,
    pub warn_after: Option<String>,
    pub watch: bool,
    pub reason: Option<String>,
    pub changed_by: Option<String>,
    pub changed_at: Option<String>,
    pub allow_ips: Vec<String>,
    pub trusted_proxies: Vec<String>,
    pub client_ip_header: ClientIpHeader,
    pub bypass_secret: Option<Secret>,
    pub bypass_secret_file: Option<std::path::PathBuf>,
    /// Accepted only so that a build without the `fleet` feature can refuse it by name.
    pub fleet: Option<figment::value::Value>,
}

/// The switch keys of a fleet record, to lay over the file's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(not(feature = "fleet"), allow(dead_code))]
pub(crate) struct SwitchKeys {
    pub enabled: bool,
    pub message: Option<String>,
    pub retry_after: Option<String>,
    pub read_only: bool,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub reason: Option<String>,
    pub changed_by: Option<String>,
    pub changed_at: Option<String>,
}

impl SwitchKeys {
    /// `file` with these switch keys; keys not given fall back to their defaults.
    pub fn over(&self, file: &Settings) -> Settings {
        Settings {
            enabled: self.enabled,
            message: self.message.clone().map(Message::Text),
            retry_after: self.retry_after.clone().map(RawRetryAfter::Text),
            read_only: self.read_only,
            starts_at: self.starts_at.clone(),
            ends_at: self.ends_at.clone(),
            reason: self.reason.clone(),
            changed_by: self.changed_by.clone(),
            changed_at: self.changed_at.clone(),
            ..file.clone()
        }
    }
}

impl Settings {
    /// Extracts the `maintenance` table from a Rocket-style figment (profile already selected).
    pub fn from_figment(figment: &Figment) -> Result<Settings, Error> {
        // `focus` on a value that is not a table gives an empty table: a silent "off".
        if let Ok(value) = figment.find_value("maintenance") {
            if value.as_dict().is_none() {
                return Err(Error::Config {
                    origin: figment
                        .find_metadata("maintenance")
                        .map(crate::error::describe_metadata),
                    reason: format!(
                        "`maintenance` must be a table, found {}; write `[default.maintenance]` \
                         with `enabled = true` in Rocket.toml, or \
                         ROCKET_MAINTENANCE='{{enabled=true}}' in the environment",
                        crate::error::value_in_words(&value)
                    ),
                });
            }
        }
        figment
            .focus("maintenance")
            .extract::<Settings>()
            .map_err(|e| Error::from_figment(e, figment))
    }
}

/// Parses a duration as written in settings and on the command line: `"900"`, `"15m"`,
/// `"1h 30m"`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(text).map_err(|e| format!("not a duration ({e}); write e.g. \"15m\""))
}

/// Parses an RFC 3339 time (`2026-11-25T03:00:00Z`, offsets allowed).
pub(crate) fn parse_time(text: &str) -> Result<SystemTime, String> {
    let t =
        time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
            .map_err(|e| {
                format!("not an RFC 3339 time ({e}); write e.g. \"2026-11-25T03:00:00Z\"")
            })?;
    Ok(SystemTime::from(t))
}

/// Formats a time as RFC 3339 in UTC, to the second.
pub fn format_time(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t)
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::from(t));
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| httpdate::fmt_http_date(t.into()))
}

/// The longest `retry_after` delay accepted: ten years.
const MAX_DELAY: Duration = Duration::from_secs(10 * 366 * 24 * 3600);

impl RawRetryAfter {
    /// The value as written in TOML: `900` or `"15m"`.
    pub fn as_toml(&self) -> String {
        match self {
            RawRetryAfter::Seconds(s) => s.to_string(),
            RawRetryAfter::Text(t) => crate::error::toml_str(t),
        }
    }

    /// Parses the written value; the error says what was wrong, without the key.
    pub fn parse(&self) -> Result<RetryAfter, String> {
        match self.parse_unbounded()? {
            RetryAfter::Delay(d) if d > MAX_DELAY => {
                Err("is longer than ten years; give a shorter delay or a time".into())
            }
            other => Ok(other),
        }
    }

    fn parse_unbounded(&self) -> Result<RetryAfter, String> {
        match self {
            RawRetryAfter::Seconds(s) if *s < 0 => {
                Err("must not be negative; give seconds, a duration or a time".into())
            }
            RawRetryAfter::Seconds(s) => Ok(RetryAfter::Delay(Duration::from_secs(*s as u64))),
            RawRetryAfter::Text(t) => match parse_duration(t) {
                Ok(d) => Ok(RetryAfter::Delay(d)),
                Err(_) => parse_time(t).map(RetryAfter::At).map_err(|_| {
                    "is neither a duration (\"15m\", \"1h 30m\") nor an RFC 3339 time \
                     (\"2026-11-25T03:00:00Z\")"
                        .to_string()
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::{Format as _, Toml};

    fn figment(toml: &str) -> Figment {
        Figment::from(Toml::string(toml).nested())
    }

    #[test]
    fn absent_table_means_defaults() {
        let s = Settings::from_figment(&figment("[default]\nport = 8000")).unwrap();
        assert!(!s.enabled);
        assert_eq!(s.format, Format::Auto);
    }

    #[test]
    fn misspelled_key_is_named_as_written() {
        let err = Settings::from_figment(&figment("[default.maintenance]\nenabeld = true"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("maintenance.enabeld"), "{err}");
        assert!(err.contains("enabled"), "suggests the known keys: {err}");
    }

    #[test]
    fn wrong_type_names_key_and_value() {
        let err = Settings::from_figment(&figment("[default.maintenance]\nenabled = \"yes\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("maintenance.enabled"), "{err}");
        assert!(err.contains("yes"), "{err}");
    }

    #[test]
    fn secret_of_wrong_type_is_not_printed() {
        let err = Settings::from_figment(&figment(
            "[default.maintenance]\nbypass_secret = 1234567890123456789",
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("maintenance.bypass_secret"), "{err}");
        assert!(!err.contains("1234567890123456789"), "{err}");
    }

    #[test]
    fn durations_and_times_parse() {
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("soon").is_err());
        let t = parse_time("2026-11-25T03:00:00+01:00").unwrap();
        assert_eq!(format_time(t), "2026-11-25T02:00:00Z");
        assert!(parse_time("tomorrow").is_err());
    }

    #[test]
    fn retry_after_accepts_seconds_durations_and_times() {
        let d = RawRetryAfter::Seconds(900).parse().unwrap();
        assert_eq!(d, RetryAfter::Delay(Duration::from_secs(900)));
        let d = RawRetryAfter::Text("15m".into()).parse().unwrap();
        assert_eq!(d, RetryAfter::Delay(Duration::from_secs(900)));
        assert!(matches!(
            RawRetryAfter::Text("2030-01-01T00:00:00Z".into()).parse(),
            Ok(RetryAfter::At(_))
        ));
        assert!(RawRetryAfter::Seconds(-1).parse().is_err());
        assert!(RawRetryAfter::Seconds(i64::MAX).parse().is_err(), "bounded");
        assert!(RawRetryAfter::Text("18446744073709551615".into())
            .parse()
            .is_err());
        assert!(RawRetryAfter::Text("later".into()).parse().is_err());
    }

    #[test]
    fn errors_show_values_as_written_in_toml_and_types_in_words() {
        let err = |toml: &str| {
            let figment = figment(toml);
            Settings::from_figment(&figment)
                .and_then(crate::policy::Policy::compile)
                .unwrap_err()
                .to_string()
        };
        let e = err("[default.maintenance]\nretry_after = true");
        assert!(
            e.contains("= true")
                && e.contains("expected seconds, a duration")
                && e.contains("found a boolean"),
            "{e}"
        );
        assert!(
            !e.contains("RawRetryAfter") && !e.contains("untagged"),
            "{e}"
        );
        let e = err("[default.maintenance]\nretry_after = \"tomorrow 14:00\"");
        assert!(e.contains("= \"tomorrow 14:00\""), "{e}");
        assert!(!e.contains("Text("), "{e}");
        let e = err("[default.maintenance]\nenabled = [1, 2]");
        assert!(e.contains("expected a boolean, found an array"), "{e}");
        let e = err("[default.maintenance]\nallow_paths = [\"/api/.*\"]");
        assert!(
            e.contains("maintenance.allow_paths[0]") && e.contains("\"/api/**\""),
            "{e}"
        );
        let e = err("[default.maintenance]\njson_paths = [\"^/health$\"]");
        assert!(e.contains("\"/health\""), "{e}");
    }

    #[test]
    fn maintenance_that_is_not_a_table_is_an_error_naming_the_fix() {
        let f = Figment::from(rocket::Config::default()).merge(("maintenance", true));
        let e = Settings::from_figment(&f).unwrap_err().to_string();
        assert!(e.contains("`maintenance`") && e.contains("table"), "{e}");
        assert!(e.contains("ROCKET_MAINTENANCE='{enabled=true}'"), "{e}");
    }

    #[test]
    fn the_documented_keys_are_exactly_the_accepted_keys() {
        let doc = include_str!("../docs/settings.md");
        let mut documented: Vec<String> = doc
            .lines()
            .filter(|l| l.starts_with("| `"))
            .flat_map(|l| {
                l.split('|')
                    .nth(1)
                    .unwrap_or_default()
                    .split(',')
                    .map(|k| k.trim().trim_matches('`').to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        documented.sort();
        let err = Settings::from_figment(&figment("[default.maintenance]\nzzz = 1\n")).unwrap_err();
        let Error::Setting { reason, .. } = err else {
            panic!("{err}")
        };
        let mut accepted: Vec<String> = reason
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect();
        accepted.sort();
        assert!(!accepted.is_empty(), "{reason}");
        assert_eq!(documented, accepted, "docs/settings.md vs the loader");
    }
}

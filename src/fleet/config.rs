//! The `[maintenance.fleet]` table, validated.

use std::path::{Path, PathBuf};
use std::time::Duration;

use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo};
use serde::Deserialize;

use super::{DEFAULT_POLL, DEFAULT_TIMEOUT};
use crate::error::{toml_str, Error};
use crate::settings::Settings;

/// `[maintenance.fleet]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetSettings {
    store: String,
    password_file: Option<PathBuf>,
    namespace: String,
    poll: Option<String>,
    timeout: Option<String>,
}

/// Where the store is and how to talk to it, validated.
#[derive(Clone)]
pub struct FleetConfig {
    pub(super) info: ConnectionInfo,
    /// The namespace: apps sharing a store never see each other's records.
    pub namespace: String,
    /// The re-read period.
    pub poll: Duration,
    /// The timeout of each store call.
    pub timeout: Duration,
    /// The store URL as given (it never holds a password).
    pub store: String,
}

impl std::fmt::Debug for FleetConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetConfig")
            .field("store", &self.store)
            .field("namespace", &self.namespace)
            .field("poll", &self.poll)
            .finish()
    }
}

impl PartialEq for FleetConfig {
    fn eq(&self, other: &Self) -> bool {
        self.store == other.store
            && self.namespace == other.namespace
            && self.poll == other.poll
            && self.timeout == other.timeout
            && self.info.redis_settings().password() == other.info.redis_settings().password()
    }
}

fn fleet_error(key: &str, value: Option<String>, reason: impl Into<String>) -> Error {
    Error::setting(&format!("fleet.{key}"), value, reason)
}

impl FleetConfig {
    /// Builds the config from the store URL, the namespace and a password file.
    pub fn new(
        store: &str,
        namespace: &str,
        password_file: Option<&Path>,
        poll: Duration,
        timeout: Duration,
    ) -> Result<FleetConfig, Error> {
        let mut info = store.into_connection_info().map_err(|e| {
            fleet_error(
                "store",
                Some(toml_str(&crate::redact::store_url(store))),
                format!("not a store URL ({e}); write redis://host:6379/0, rediss://… or redis+unix:///path"),
            )
        })?;
        if info.redis_settings().password().is_some() {
            return Err(fleet_error(
                "store",
                Some("<redacted URL>".into()),
                "must not contain a password; put it in `password_file`",
            ));
        }
        if let ConnectionAddr::TcpTls { insecure: true, .. } = info.addr() {
            return Err(fleet_error(
                "store",
                Some(toml_str(store)),
                "rediss:// always verifies certificates; remove `#insecure`",
            ));
        }
        let namespace_ok = !namespace.is_empty()
            && namespace.len() <= 64
            && namespace
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        if !namespace_ok {
            return Err(fleet_error(
                "namespace",
                Some(toml_str(namespace)),
                "must be 1-64 characters of A-Z, a-z, 0-9, '_', '-', '.'",
            ));
        }
        if let Some(path) = password_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                fleet_error(
                    "password_file",
                    Some(toml_str(&path.display().to_string())),
                    format!("cannot be read: {e}"),
                )
            })?;
            let password = text.strip_suffix('\n').unwrap_or(&text);
            let redis = info.redis_settings().clone().set_password(password);
            info = info.set_redis_settings(redis);
        }
        Ok(FleetConfig {
            info,
            namespace: namespace.to_string(),
            poll,
            timeout,
            store: store.to_string(),
        })
    }

    /// The `[maintenance.fleet]` table of the settings, if there is one.
    pub(crate) fn from_settings(settings: &Settings) -> Result<Option<FleetConfig>, Error> {
        let Some(value) = &settings.fleet else {
            return Ok(None);
        };
        let s: FleetSettings = value.deserialize().map_err(|e| {
            let mut key = e.path.join(".");
            if let figment::error::Kind::UnknownField(field, _) = &e.kind {
                key = field.clone();
            }
            fleet_error(
                if key.is_empty() { "store" } else { &key },
                None,
                match &e.kind {
                    figment::error::Kind::UnknownField(_, expected) => {
                        format!("unknown key; the known keys are {}", expected.join(", "))
                    }
                    other => other.to_string(),
                },
            )
        })?;
        let duration = |key: &str, v: &Option<String>, default: Duration| match v {
            None => Ok(default),
            Some(text) => crate::settings::parse_duration(text)
                .map_err(|reason| fleet_error(key, Some(toml_str(text)), reason))
                .and_then(|d| {
                    if d.is_zero() || d > Duration::from_secs(24 * 3600) {
                        Err(fleet_error(
                            key,
                            Some(toml_str(text)),
                            "must be more than zero and at most a day",
                        ))
                    } else {
                        Ok(d)
                    }
                }),
        };
        let poll = duration("poll", &s.poll, DEFAULT_POLL)?;
        let timeout = duration("timeout", &s.timeout, DEFAULT_TIMEOUT)?;
        FleetConfig::new(
            &s.store,
            &s.namespace,
            s.password_file.as_deref(),
            poll,
            timeout,
        )
        .map(Some)
    }
}

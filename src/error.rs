//! The crate's one error type.

use std::fmt;
use std::path::PathBuf;

use figment::error::{Actual, Kind};
use figment::Metadata;

use crate::redact::{redact_config_values, redact_quoted, redacted, SECRET_KEYS};

/// Why settings could not be loaded, a reload failed, or an operator command was refused.
///
/// Every message names what to look at (the key as written, e.g. `maintenance.enabeld`, the value
/// as written in TOML with secrets redacted, and the file) and says what to do. `Display` is one
/// line.
///
/// ```
/// # use rocket::figment::Figment;
/// let figment = rocket::Config::figment().merge(("maintenance.status", 200));
/// let err = rocket_maintenance::check_settings(&figment).unwrap_err();
/// assert!(err.to_string().contains("maintenance.status"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A setting of the `maintenance` table is invalid.
    Setting {
        /// The key as the user writes it, e.g. `maintenance.enabeld`.
        key: String,
        /// The offending value as written in TOML, or `<redacted, N chars>` for secrets.
        value: Option<String>,
        /// Where the value came from: a file path, or a provider such as `ROCKET_` environment.
        origin: Option<String>,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The configuration as a whole cannot be read: a TOML syntax error, a `maintenance` that is
    /// not a table, a figment that reads another file than at start.
    Config {
        /// Where: a file path, or a provider.
        origin: Option<String>,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The config file recorded at start cannot be read at reload.
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The maintenance page's template cannot be loaded or does not render.
    Template {
        /// The template's name (`errors/503`), or `built-in page`.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A live-state file cannot be used.
    LiveState {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The fleet store failed or refused (cargo feature `fleet`).
    Store {
        /// The store, as configured (never with a password).
        store: String,
        /// What failed.
        reason: String,
    },
    /// A value given to a function or on a command line is invalid.
    Value {
        /// The value as given.
        value: String,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// An I/O operation failed.
    Io {
        /// What was being done, e.g. `writing /run/app/123.json`.
        action: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn setting(key: &str, value: Option<String>, reason: impl Into<String>) -> Self {
        Error::Setting {
            key: format!("maintenance.{key}"),
            value,
            origin: None,
            reason: reason.into(),
        }
    }

    /// Adds the origin (file or provider) of the key, looked up in the figment.
    pub(crate) fn located(mut self, figment: &figment::Figment) -> Self {
        if let Error::Setting { key, origin, .. } = &mut self {
            if origin.is_none() {
                // `maintenance.allow_ips[2]` is not a figment path: look up `allow_ips`, and
                // failing that each parent, so that every error names its file.
                let mut path = key.split('[').next().unwrap_or(key).to_string();
                loop {
                    if let Some(md) = figment.find_metadata(&path) {
                        *origin = Some(describe_metadata(md));
                        break;
                    }
                    match path.rfind('.') {
                        Some(cut) => path.truncate(cut),
                        None => break,
                    }
                }
            }
        }
        self
    }

    /// The same error with every secret value of `config_text` (the config file it came from)
    /// redacted from its texts. Paths and origins are left as they are: a directory may be named
    /// like a secret, and a path is never one.
    pub(crate) fn redact_config(mut self, config_text: &str) -> Self {
        let clean = |s: &mut String| *s = redact_config_values(s, config_text);
        match &mut self {
            Error::Setting { value, reason, .. } => {
                value.iter_mut().for_each(clean);
                clean(reason);
            }
            Error::Config { reason, .. }
            | Error::ConfigFile { reason, .. }
            | Error::Template { reason, .. } => clean(reason),
            _ => {}
        }
        self
    }

    /// An I/O error, with what was being done.
    pub fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            action: action.into(),
            source,
        }
    }

    /// Turns the first figment error into a setting error named as the user wrote it.
    pub(crate) fn from_figment(err: figment::Error, figment: &figment::Figment) -> Self {
        let mut path: Vec<String> = err.path.clone();
        if path.first().map(String::as_str) == Some("maintenance") {
            path.remove(0);
        }
        if let Kind::UnknownField(field, _) = &err.kind {
            if path.last() != Some(field) {
                path.push(field.clone());
            }
        }
        if path.is_empty() && !matches!(err.kind, Kind::UnknownField(..)) {
            // Not about a key: the file itself (a TOML syntax error) or the whole table.
            let origin = err.metadata.as_ref().map(describe_metadata);
            return Error::Config {
                origin,
                reason: err.kind.to_string(),
            };
        }
        let secret = path.iter().any(|p| SECRET_KEYS.contains(&p.as_str()));
        let (value, reason) = describe_kind(&err.kind, secret);
        let key = if path.is_empty() {
            "maintenance".to_string()
        } else {
            format!("maintenance.{}", path.join("."))
        };
        let origin = err
            .metadata
            .as_ref()
            .map(describe_metadata)
            .or_else(|| figment.find_metadata(&key).map(describe_metadata));
        Error::Setting {
            key,
            value,
            origin,
            reason,
        }
    }
}

/// A value as written in TOML, or `None` where figment does not keep it (an array, a table).
fn describe_actual(actual: &Actual, secret: bool) -> Option<String> {
    if secret {
        return Some(match actual {
            Actual::Str(s) => redacted(s),
            _ => "<redacted>".into(),
        });
    }
    match actual {
        Actual::Bool(b) => Some(b.to_string()),
        Actual::Unsigned(n) => Some(n.to_string()),
        Actual::Signed(n) => Some(n.to_string()),
        Actual::Float(n) => Some(n.to_string()),
        Actual::Char(c) => Some(toml_str(&c.to_string())),
        Actual::Str(s) => Some(toml_str(s)),
        _ => None,
    }
}

/// What a figment value is, in words, with the value when it is a scalar: `a boolean (true)`.
pub(crate) fn value_in_words(value: &figment::value::Value) -> String {
    use figment::value::Value;
    match value {
        Value::Bool(_, b) => format!("a boolean ({b})"),
        Value::Num(_, n) => format!(
            "a number ({})",
            n.to_i128().map_or(String::from("?"), |n| n.to_string())
        ),
        Value::String(_, s) => format!("a string ({})", toml_str(s)),
        Value::Char(_, c) => format!("a string ({})", toml_str(&c.to_string())),
        Value::Array(..) => "an array".into(),
        Value::Dict(..) => "a table".into(),
        Value::Empty(..) => "nothing".into(),
    }
}

/// What a value is, in words: "a boolean", "a string", "an array".
fn kind_in_words(actual: &Actual) -> String {
    match actual {
        Actual::Bool(_) => "a boolean".into(),
        Actual::Unsigned(_) | Actual::Signed(_) => "an integer".into(),
        Actual::Float(_) => "a float".into(),
        Actual::Char(_) | Actual::Str(_) => "a string".into(),
        Actual::Seq => "an array".into(),
        Actual::Map => "a table".into(),
        Actual::Unit | Actual::Option => "nothing".into(),
        other => other.to_string(),
    }
}

fn describe_kind(kind: &Kind, secret: bool) -> (Option<String>, String) {
    match kind {
        Kind::UnknownField(_, expected) => (
            None,
            format!(
                "unknown key; the known keys are {}",
                expected
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Kind::InvalidType(actual, expected) => (
            describe_actual(actual, secret),
            format!("expected {expected}, found {}", kind_in_words(actual)),
        ),
        Kind::InvalidValue(actual, expected) => (
            describe_actual(actual, secret),
            format!("invalid value: expected {expected}"),
        ),
        Kind::UnknownVariant(found, expected) => (
            Some(if secret {
                redacted(found)
            } else {
                toml_str(found)
            }),
            format!("must be one of {}", expected.join(", ")),
        ),
        Kind::Message(m) if secret => (None, redact_quoted(m)),
        other => (None, other.to_string()),
    }
}

/// A string as TOML writes it: a basic string, quoted and escaped (`"tomorrow 14:00"`).
pub(crate) fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// A provider as a user knows it: its file path if it has one, else its name.
pub(crate) fn describe_metadata(md: &Metadata) -> String {
    match &md.source {
        Some(figment::Source::File(path)) => path.display().to_string(),
        Some(other) => format!("{} ({})", md.name, other),
        None => md.name.to_string(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Setting {
                key,
                value,
                origin,
                reason,
            } => {
                write!(f, "invalid setting `{key}`")?;
                if let Some(value) = value {
                    write!(f, " = {value}")?;
                }
                if let Some(origin) = origin {
                    write!(f, " (in {origin})")?;
                }
                write!(f, ": {reason}")
            }
            Error::ConfigFile { path, reason } => {
                write!(f, "config file {}: {reason}", path.display())
            }
            Error::Config { origin, reason } => match origin {
                Some(origin) => write!(f, "{origin}: {reason}"),
                None => f.write_str(reason),
            },
            Error::Template { name, reason } => write!(f, "template `{name}`: {reason}"),
            Error::LiveState { path, reason } => {
                write!(f, "live state {}: {reason}", path.display())
            }
            Error::Store { store, reason } => write!(f, "fleet store {store}: {reason}"),
            Error::Value { value, reason } => write!(f, "{}: {reason}", toml_str(value)),
            Error::Io { action, source } => write!(f, "{action}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_key_value_origin_and_reason() {
        let e = Error::Setting {
            key: "maintenance.status".into(),
            value: Some("600".into()),
            origin: Some("/etc/app/Rocket.toml".into()),
            reason: "must be from 400 to 599".into(),
        };
        assert_eq!(
            e.to_string(),
            "invalid setting `maintenance.status` = 600 (in /etc/app/Rocket.toml): must be from 400 to 599"
        );
    }
}

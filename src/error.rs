//! The crate's one error type.

use std::fmt;
use std::path::PathBuf;

use figment::error::{Actual, Kind};

use crate::settings::{describe_metadata, SECRET_KEYS};

/// Why settings could not be loaded, a reload failed, or an operator command was refused.
///
/// Every message names what to look at (the key as written, e.g. `maintenance.enabeld`, the value
/// with secrets redacted, and the file) and says what to do. `Display` is one line.
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
        /// The offending value as written, or `<redacted, N chars>` for secrets.
        value: Option<String>,
        /// Where the value came from: a file path, or a provider such as `ROCKET_` environment.
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
    /// An I/O operation failed.
    Io {
        /// What was being done, e.g. `writing /run/app/123.json`.
        action: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Anything else, said in one sentence.
    Other(String),
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
                *origin = figment.find_metadata(key).map(describe_metadata);
            }
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
            return Error::Other(match origin {
                Some(origin) => format!("{origin}: {}", err.kind),
                None => err.kind.to_string(),
            });
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

fn describe_actual(actual: &Actual, secret: bool) -> String {
    if !secret {
        return actual.to_string();
    }
    match actual {
        Actual::Str(s) => crate::settings::redacted(s),
        _ => "<redacted>".into(),
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
            Some(describe_actual(actual, secret)),
            format!("wrong type: expected {expected}"),
        ),
        Kind::InvalidValue(actual, expected) => (
            Some(describe_actual(actual, secret)),
            format!("invalid value: expected {expected}"),
        ),
        Kind::UnknownVariant(found, expected) => (
            Some(if secret {
                crate::settings::redacted(found)
            } else {
                format!("{found:?}")
            }),
            format!("must be one of {}", expected.join(", ")),
        ),
        Kind::Message(m) if secret => (None, redact_quoted(m)),
        other => (None, other.to_string()),
    }
}

/// Replaces, in `message`, every line of `config_text` that holds a secret (and the secret's
/// value itself), e.g. when a TOML parse error quotes the line.
pub(crate) fn redact_secret_lines(message: &str, config_text: &str) -> String {
    let mut out = message.to_string();
    // Any line naming a secret key, wherever it stands (`a.bypass_secret = …`, an inline table
    // `maintenance = { bypass_secret = … }`): the line, and every quoted or bare value on it.
    for line in config_text
        .lines()
        .filter(|l| SECRET_KEYS.iter().any(|k| l.contains(k)))
    {
        let trimmed = line.trim();
        out = out.replace(trimmed, &crate::settings::redacted(trimmed));
        for key in SECRET_KEYS {
            for (at, _) in line.match_indices(key) {
                let rest = line[at + key.len()..]
                    .trim_start()
                    .trim_start_matches(['"', '\'']);
                let Some(rest) = rest.trim_start().strip_prefix('=') else {
                    continue;
                };
                let rest = rest.trim_start();
                let value = match rest.strip_prefix(['"', '\'']) {
                    Some(quoted) => quoted.split(['"', '\'']).next().unwrap_or(quoted),
                    None => rest.split([',', '}', '#', ' ']).next().unwrap_or(rest),
                };
                if value.len() >= 4 {
                    out = out.replace(value, &crate::settings::redacted(value));
                }
            }
        }
    }
    out
}

/// A serde message about a secret may quote the value: drop everything between quotes.
fn redact_quoted(message: &str) -> String {
    let mut out = String::new();
    for (i, part) in message.split('"').enumerate() {
        out.push_str(if i % 2 == 1 { "<redacted>" } else { part });
    }
    out
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
            Error::Io { action, source } => write!(f, "{action}: {source}"),
            Error::Other(message) => f.write_str(message),
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
    fn quoted_secret_in_a_message_is_redacted() {
        assert_eq!(
            redact_quoted("bad value \"hunter2hunter2hunter2\" here"),
            "bad value <redacted> here"
        );
    }

    #[test]
    fn secret_lines_of_a_config_file_are_redacted() {
        let config = "[default.maintenance]\nbypass_secret = \"abcdefghijklmnopq\nenabled = true\n";
        let msg =
            "TOML parse error at line 2: | bypass_secret = \"abcdefghijklmnopq | unterminated";
        let out = redact_secret_lines(msg, config);
        assert!(!out.contains("abcdefghijklmnopq"), "{out}");
        assert!(out.contains("<redacted,"), "{out}");
    }

    #[test]
    fn secrets_in_inline_tables_and_bare_values_are_redacted() {
        let config = "[default]\nmaintenance = { enabled = true, bypass_secret = \"inline-secret-value1\" }\n";
        let out = redact_secret_lines("bad: maintenance = { enabled = true, bypass_secret = \"inline-secret-value1\" } here and inline-secret-value1", config);
        assert!(!out.contains("inline-secret-value1"), "{out}");
        let config = "[default.maintenance]\nbypass_secret = 1234567890123\n";
        let out = redact_secret_lines("found 1234567890123", config);
        assert!(!out.contains("1234567890123"), "{out}");
    }

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

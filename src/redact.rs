//! Every rule about hiding secrets, in one place.
//!
//! A secret's value (the bypass secret, a store password, the path of a password file) never
//! reaches a log line, `STATUS=`, the live state, an error or the CLI's output. Secrets are shown
//! as `<redacted, N chars>`. Error messages that may quote the config file (a TOML parse error
//! quotes the line it failed on) are cleaned with [`redact_config_values`], by value: every value
//! given to a secret key in the file, also one spread over several lines.

use std::fmt;

use serde::Deserialize;

/// The keys whose values are secrets: never printed, in any error or log line.
pub const SECRET_KEYS: &[&str] = &["bypass_secret", "password", "password_file"];

/// How a secret is shown: its length only.
pub fn redacted(secret: &str) -> String {
    format!("<redacted, {} chars>", secret.chars().count())
}

/// A string that never shows itself in `Debug`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub(crate) struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redacted(&self.0))
    }
}

/// The values given to secret keys in `config_text`, as written: a quoted value up to its closing
/// quote (a multi-line `"""…"""` one up to its closing delimiter, an unterminated one to the end
/// of its line), a bare one up to the next separator. Each value, and each line of a multi-line
/// one, is a piece to hide.
fn secret_values(config_text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for key in SECRET_KEYS {
        for (at, _) in config_text.match_indices(key) {
            let rest = config_text[at + key.len()..].trim_start_matches(['"', '\'']);
            let rest = rest.trim_start_matches([' ', '\t']);
            let Some(rest) = rest.strip_prefix('=') else {
                continue;
            };
            let rest = rest.trim_start_matches([' ', '\t']);
            let value = if let Some(body) = rest
                .strip_prefix("\"\"\"")
                .or_else(|| rest.strip_prefix("'''"))
            {
                let close = &rest[..3];
                body.find(close).map_or(body, |end| &body[..end])
            } else if let Some(body) = rest.strip_prefix('"') {
                // A basic string: up to the first quote not escaped, or the end of the line.
                let line = body.split('\n').next().unwrap_or(body);
                let mut escaped = false;
                let end = line
                    .char_indices()
                    .find(|&(_, c)| {
                        let closes = c == '"' && !escaped;
                        escaped = c == '\\' && !escaped;
                        closes
                    })
                    .map_or(line.len(), |(i, _)| i);
                &line[..end]
            } else if let Some(body) = rest.strip_prefix('\'') {
                let line = body.split('\n').next().unwrap_or(body);
                line.find('\'').map_or(line, |end| &line[..end])
            } else {
                // Unquoted (a syntax error, or a number): everything to the end of the line.
                rest.split('\n').next().unwrap_or(rest).trim_end()
            };
            out.push(value);
            out.extend(value.lines().map(str::trim));
        }
    }
    // Longest first, so that a value is replaced before any of its lines.
    out.retain(|v| v.chars().count() >= 4);
    out.sort_by_key(|v| std::cmp::Reverse(v.len()));
    out.dedup();
    out
}

/// `message` with every secret value of `config_text` replaced by `<redacted, N chars>`.
pub fn redact_config_values(message: &str, config_text: &str) -> String {
    let mut out = message.to_string();
    for value in secret_values(config_text) {
        if out.contains(value) {
            out = out.replace(value, &redacted(value));
        }
    }
    out
}

/// A serde message about a secret may quote the value: drop everything between quotes.
pub(crate) fn redact_quoted(message: &str) -> String {
    let mut out = String::new();
    for (i, part) in message.split('"').enumerate() {
        out.push_str(if i % 2 == 1 { "<redacted>" } else { part });
    }
    out
}

/// `text` with every control character escaped (`\n` as `\\n`), so that a value put into a log
/// line (a message, a fleet record's field) cannot start a line of its own and forge an entry.
pub(crate) fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// A store URL as it may be shown: scheme, user, host and path, never a password.
#[cfg_attr(not(feature = "fleet"), allow(dead_code))]
pub(crate) fn store_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => match userinfo.split_once(':') {
                    Some((user, password)) => {
                        format!("{scheme}://{user}:{}@{host}{path}", redacted(password))
                    }
                    None => url.to_string(),
                },
                None => url.to_string(),
            }
        }
        None => url.to_string(),
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
    fn an_unterminated_secret_in_a_parse_error_is_redacted() {
        let config = "[default.maintenance]\nbypass_secret = \"abcdefghijklmnopq\nenabled = true\n";
        let msg =
            "TOML parse error at line 2: | bypass_secret = \"abcdefghijklmnopq | unterminated";
        let out = redact_config_values(msg, config);
        assert!(!out.contains("abcdefghijklmnopq"), "{out}");
        assert!(out.contains("<redacted,"), "{out}");
    }

    #[test]
    fn a_multi_line_secret_is_redacted_line_by_line() {
        let config = "[default.maintenance]\nbypass_secret = \"\"\"\nfirst-half-of-it\nsecond-half-here\n\"\"\"\nenabled = =\n";
        let msg = "TOML parse error at line 3\n  |\n3 | first-half-of-it\n4 | second-half-here";
        let out = redact_config_values(msg, config);
        assert!(!out.contains("first-half-of-it"), "{out}");
        assert!(!out.contains("second-half-here"), "{out}");
    }

    #[test]
    fn secrets_in_inline_tables_and_bare_values_are_redacted() {
        let config = "[default]\nmaintenance = { enabled = true, bypass_secret = \"inline-secret-value1\" }\n";
        let out = redact_config_values(
            "bad: { bypass_secret = \"inline-secret-value1\" } and inline-secret-value1",
            config,
        );
        assert!(!out.contains("inline-secret-value1"), "{out}");
        let config = "[default.maintenance]\nbypass_secret = 1234567890123\n";
        let out = redact_config_values("found 1234567890123", config);
        assert!(!out.contains("1234567890123"), "{out}");
    }

    #[test]
    fn control_characters_cannot_start_a_log_line() {
        assert_eq!(escape_controls("plain"), "plain");
        assert_eq!(
            escape_controls("back soon\nmaintenance off (generation 9)"),
            "back soon\\nmaintenance off (generation 9)"
        );
    }

    #[test]
    fn unquoted_and_escaped_secrets_are_redacted_whole() {
        let config = "[default.maintenance]\nbypass_secret = correct horse battery staple\n";
        let out = redact_config_values(
            "error at: bypass_secret = correct horse battery staple",
            config,
        );
        assert!(!out.contains("horse") && !out.contains("staple"), "{out}");
        let config = "[default.maintenance]\nbypass_secret = \"Xy\\\"secret-rest\" ]\n";
        let out = redact_config_values("found Xy\\\"secret-rest here", config);
        assert!(!out.contains("secret-rest"), "{out}");
    }

    #[test]
    fn a_store_password_is_never_shown() {
        assert_eq!(
            store_url("redis://app:hunter2@db:6379/0"),
            "redis://app:<redacted, 7 chars>@db:6379/0"
        );
        assert_eq!(store_url("redis://app@db/0"), "redis://app@db/0");
        assert_eq!(store_url("not a url"), "not a url");
    }
}

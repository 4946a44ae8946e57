//! Settings, validated and compiled into a [`Policy`].

use globset::{GlobBuilder, GlobSetBuilder};

use super::bypass::{validate_secret, BypassSecret};
use super::networks::{parse_network, NetworkSet};
use super::paths::PathGlobs;
use super::redirect::RedirectTarget;
use super::{Policy, BUILT_IN_VARIABLES};
use crate::error::{toml_str, Error};
use crate::i18n::{is_language_tag, strings};
use crate::redact::Secret;
use crate::settings::{Message, Settings};
use std::time::SystemTime;

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
            Some(raw) => Some(
                raw.parse()
                    .map_err(|reason| Error::setting("retry_after", Some(raw.as_toml()), reason))?,
            ),
        };
        let time = |key: &str, v: &Option<String>| -> Result<Option<SystemTime>, Error> {
            v.as_deref()
                .map(|t| {
                    crate::settings::parse_time(t)
                        .map_err(|reason| Error::setting(key, Some(toml_str(t)), reason))
                })
                .transpose()
        };
        let starts_at = time("starts_at", &s.starts_at)?;
        let ends_at = time("ends_at", &s.ends_at)?;
        if let (Some(a), Some(b)) = (starts_at, ends_at) {
            if a >= b {
                return Err(Error::setting(
                    "starts_at",
                    s.starts_at.as_deref().map(toml_str),
                    format!(
                        "must be before `maintenance.ends_at` ({})",
                        toml_str(s.ends_at.as_deref().unwrap_or_default())
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
        let redirect = match &s.redirect {
            None => None,
            Some(url) => Some(
                RedirectTarget::parse(url)
                    .map_err(|reason| Error::setting("redirect", Some(toml_str(url)), reason))?,
            ),
        };
        let warn_after = match &s.warn_after {
            None => None,
            Some(text) => {
                let d = crate::settings::parse_duration(text)
                    .map_err(|reason| Error::setting("warn_after", Some(toml_str(text)), reason))?;
                if d < std::time::Duration::from_secs(1) {
                    return Err(Error::setting(
                        "warn_after",
                        Some(toml_str(text)),
                        "must be at least 1 s, e.g. \"4h\"",
                    ));
                }
                Some(d)
            }
        };
        if let Some(at) = &s.changed_at {
            crate::settings::parse_time(at)
                .map_err(|reason| Error::setting("changed_at", Some(toml_str(at)), reason))?;
        }
        let audit = super::Audit {
            reason: s.reason.clone(),
            changed_by: s.changed_by.clone(),
            changed_at: s.changed_at.clone(),
        };
        let health_path = probe_path("health_path", s.health_path.as_deref())?;
        let ready_path = probe_path("ready_path", s.ready_path.as_deref())?;
        if health_path.is_some() && health_path == ready_path {
            return Err(Error::setting(
                "ready_path",
                s.ready_path.as_deref().map(toml_str),
                "is the same as `maintenance.health_path`; give each its own path",
            ));
        }
        let allow_paths = compile_globs("allow_paths", &s.allow_paths)?;
        let json_paths = compile_globs("json_paths", &s.json_paths)?;
        let networks = |key: &str, items: &[String]| -> Result<NetworkSet, Error> {
            let mut nets = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                nets.push(parse_network(item).map_err(|reason| {
                    Error::setting(&format!("{key}[{i}]"), Some(toml_str(item)), reason)
                })?);
            }
            Ok(NetworkSet::new(nets))
        };
        let allow_ips = networks("allow_ips", &s.allow_ips)?;
        let trusted_proxies = networks("trusted_proxies", &s.trusted_proxies)?;
        let secret =
            match (s.bypass_secret, &s.bypass_secret_file) {
                (Some(_), Some(_)) => return Err(Error::setting(
                    "bypass_secret_file",
                    None,
                    "`maintenance.bypass_secret` and `maintenance.bypass_secret_file` are both \
                     set; keep one (the file keeps the secret out of the config)",
                )),
                (Some(secret), None) => Some(secret),
                (None, Some(path)) => Some(read_secret_file(path)?),
                (None, None) => None,
            };
        let bypass = match secret {
            None => None,
            Some(secret) => {
                validate_secret(&secret.0).map_err(|reason| {
                    Error::setting(
                        "bypass_secret",
                        Some(crate::redact::redacted(&secret.0)),
                        reason,
                    )
                })?;
                Some(BypassSecret::new(secret.0))
            }
        };
        let language = s.language.clone().unwrap_or_else(|| "en".to_string());
        if !is_language_tag(&language) {
            return Err(Error::setting(
                "language",
                Some(toml_str(&language)),
                "must be a BCP 47 language tag, e.g. \"en\", \"de\" or \"pt-BR\"",
            ));
        }
        let messages = compile_messages(s.message.clone(), &language, s.read_only)?;
        let message = messages[0].1.clone();
        Ok(Policy {
            enabled: s.enabled,
            read_only: s.read_only,
            message,
            language,
            messages,
            auto_return: s.auto_return.unwrap_or(true),
            retry,
            starts_at,
            ends_at,
            status: status as u16,
            format: s.format,
            redirect,
            refresh: s.refresh,
            template: s.template,
            context: s.context,
            allow_path_patterns: s.allow_paths.len(),
            allow_paths,
            json_paths,
            allow_ips,
            trusted_proxies,
            client_ip_header: s.client_ip_header,
            health_path,
            ready_path,
            warn_after,
            watch: s.watch,
            audit,
            bypass,
        })
    }
}

/// The bypass secret from `bypass_secret_file` (systemd's `LoadCredential=`, under
/// `$CREDENTIALS_DIRECTORY`): one trailing newline is stripped. A relative path is looked up in
/// `$CREDENTIALS_DIRECTORY` when that is set.
fn read_secret_file(path: &std::path::Path) -> Result<Secret, Error> {
    let path = match std::env::var_os("CREDENTIALS_DIRECTORY") {
        Some(dir) if path.is_relative() => std::path::Path::new(&dir).join(path),
        _ => path.to_path_buf(),
    };
    let shown = Some(toml_str(&path.display().to_string()));
    let meta = std::fs::metadata(&path).map_err(|e| {
        Error::setting(
            "bypass_secret_file",
            shown.clone(),
            format!("cannot be read: {e}"),
        )
    })?;
    if !meta.is_file() || meta.len() > 4096 {
        return Err(Error::setting(
            "bypass_secret_file",
            shown,
            "must be a regular file of at most 4 KiB holding the secret",
        ));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::setting(
            "bypass_secret_file",
            shown.clone(),
            format!("cannot be read: {e}"),
        )
    })?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    Ok(Secret(text.strip_suffix('\r').unwrap_or(text).to_string()))
}

/// The glob a pattern that looks like a regular expression was meant to be, if it looks like one
/// (starts with `^`, ends with `$`, or holds `.*`, `.+` or `\`): Django's and turnout's path
/// rules are regexes, and a copied one would silently match nothing.
fn regex_meant_as_glob(pattern: &str) -> Option<String> {
    let looks = pattern.starts_with('^')
        || pattern.ends_with('$')
        || pattern.contains(".*")
        || pattern.contains(".+")
        || pattern.contains('\\');
    looks.then(|| {
        let glob = pattern
            .trim_start_matches('^')
            .trim_end_matches('$')
            .replace(".*", "**")
            .replace(".+", "*")
            .replace('\\', "");
        if glob.starts_with('/') {
            glob
        } else {
            format!("/{glob}")
        }
    })
}

/// Compiles path globs (`*` within a segment, `**` across), refusing patterns that do not start
/// with `/` and ones that look like regular expressions, naming the glob that was meant.
fn compile_globs(key: &str, patterns: &[String]) -> Result<Option<PathGlobs>, Error> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut globs = GlobSetBuilder::new();
    for (i, pattern) in patterns.iter().enumerate() {
        let item = format!("{key}[{i}]");
        if let Some(meant) = regex_meant_as_glob(pattern) {
            return Err(Error::setting(
                &item,
                Some(toml_str(pattern)),
                format!(
                    "looks like a regular expression, but path patterns are globs (`*` within a \
                     segment, `**` across segments); write {}",
                    toml_str(&meant)
                ),
            ));
        }
        if !pattern.starts_with('/') {
            return Err(Error::setting(
                &item,
                Some(toml_str(pattern)),
                "a path pattern must start with `/`, e.g. \"/static/**\"",
            ));
        }
        let glob = GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| Error::setting(&item, Some(toml_str(pattern)), e.to_string()))?;
        globs.add(glob);
    }
    globs
        .build()
        .map(|set| Some(PathGlobs::new(set, patterns)))
        .map_err(|e| Error::setting(key, None, e.to_string()))
}

/// The message in each language, the default language first: `message` as one string (in the
/// default language) or a table that must include the default language; without `message`, the
/// default language's default sentence.
fn compile_messages(
    message: Option<Message>,
    language: &str,
    read_only: bool,
) -> Result<Vec<(String, String)>, Error> {
    let default_sentence = || {
        let t = strings(language, language);
        if read_only {
            t.default_read_only_message.clone()
        } else {
            t.default_message.clone()
        }
    };
    match message {
        None => Ok(vec![(language.to_string(), default_sentence())]),
        Some(Message::Text(text)) => Ok(vec![(language.to_string(), text)]),
        Some(Message::Languages(table)) => {
            if let Some(bad) = table.keys().find(|tag| !is_language_tag(tag)) {
                return Err(Error::setting(
                    &format!("message.{bad}"),
                    None,
                    "is not a BCP 47 language tag (e.g. \"de\" or \"pt-BR\")",
                ));
            }
            let Some((tag, text)) = table.iter().find(|(t, _)| t.eq_ignore_ascii_case(language))
            else {
                return Err(Error::setting(
                    "message",
                    None,
                    format!(
                        "has no entry for the default language `{language}` (`maintenance.language`); \
                         add `{language} = \"…\"` to the table, or set `language` to one of {}",
                        table.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                    ),
                ));
            };
            let mut out = vec![(tag.clone(), text.clone())];
            out.extend(
                table
                    .iter()
                    .filter(|(t, _)| !t.eq_ignore_ascii_case(language))
                    .map(|(t, m)| (t.clone(), m.clone())),
            );
            Ok(out)
        }
    }
}

/// A probe path (`health_path`, `ready_path`): an exact path in the form Rocket routes on (no
/// trailing or doubled slash, no `.` or `..`, no percent-encoding, no query).
fn probe_path(key: &str, path: Option<&str>) -> Result<Option<String>, Error> {
    let Some(path) = path else {
        return Ok(None);
    };
    let routed = rocket::http::uri::Origin::parse(path)
        .ok()
        .filter(|o| o.query().is_none())
        .and_then(|o| super::paths::routed_path(&o));
    match routed {
        Some(routed) if routed == path => Ok(Some(routed)),
        Some(routed) => Err(Error::setting(
            key,
            Some(toml_str(path)),
            format!(
                "must be an exact path as Rocket routes it; write {}",
                toml_str(&routed)
            ),
        )),
        None => Err(Error::setting(
            key,
            Some(toml_str(path)),
            "must be a path starting with `/`, e.g. \"/healthz\"",
        )),
    }
}

//! Editing a config file in place: set each key in the table that decides it for the profile,
//! keep comments and layout, validate the result in memory exactly as the service would, and
//! replace the file atomically and safely (see [`safety`](crate::safety)). When anything fails,
//! the file is untouched.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rocket_maintenance::control::{check_config, redact_config_values, redacted, Configured};
use toml_edit::{DocumentMut, Item, Value};

use crate::safety::OpenedConfig;
use crate::Error;

/// What `on`/`off` change: each `Some` key is set in the table that decides it.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// `enabled`.
    pub enabled: Option<bool>,
    /// `message`.
    pub message: Option<String>,
    /// `retry_after`, as written (`"15m"`, `"900"`, an RFC 3339 time).
    pub retry_after: Option<String>,
    /// `read_only`.
    pub read_only: Option<bool>,
    /// `status`.
    pub status: Option<u16>,
    /// `redirect`.
    pub redirect: Option<String>,
    /// `refresh`, in seconds.
    pub refresh: Option<u32>,
    /// `starts_at`, RFC 3339.
    pub starts_at: Option<String>,
    /// `ends_at`, RFC 3339.
    pub ends_at: Option<String>,
    /// `bypass_secret`.
    pub bypass_secret: Option<String>,
    /// `reason`: the operator's note.
    pub reason: Option<String>,
    /// `changed_by`: who (`alice@web1`).
    pub changed_by: Option<String>,
    /// `changed_at`: when (RFC 3339).
    pub changed_at: Option<String>,
    /// Keys to remove from every maintenance table (for `off`: a window's `starts_at` and
    /// `ends_at`).
    pub remove: Vec<&'static str>,
}

/// What an edit did.
#[derive(Debug, Clone)]
pub struct EditReport {
    /// The file written (symlinks resolved).
    pub path: PathBuf,
    /// One line per key changed: `[default.maintenance] enabled = true`.
    pub changes: Vec<String>,
    /// The effective settings after the edit, for the profile.
    pub effective: Configured,
}

/// The configured state of the file at `path` for `profile`, validated exactly as the service
/// validates it. `template_dir`: the service's own, else the file's.
pub fn configured(
    path: &Path,
    profile: &str,
    template_dir: Option<&Path>,
) -> Result<Configured, Error> {
    let file = OpenedConfig::open(path)?;
    // A file that is not TOML is never quoted: it may not be a config at all.
    if let Err(e) = file.text.parse::<DocumentMut>() {
        return Err(Error::Refused {
            path: file.real.clone(),
            reason: not_toml(&e, &file.text),
        });
    }
    Ok(check_config(&file.text, &file.real, profile, template_dir)?)
}

/// The tables a key can be decided by, most decisive first.
fn deciding_tables(profile: &str) -> Vec<String> {
    let mut tables = vec!["global".to_string()];
    if profile != "default" && profile != "global" {
        tables.push(profile.to_string());
    }
    tables.push("default".to_string());
    tables
}

fn maintenance_table<'a>(
    doc: &'a mut DocumentMut,
    profile: &str,
) -> Option<&'a mut dyn toml_edit::TableLike> {
    doc.get_mut(profile)?
        .as_table_like_mut()?
        .get_mut("maintenance")?
        .as_table_like_mut()
}

/// Sets `key` in the table that decides it for `profile` (else `[default.maintenance]`),
/// keeping the comments around it. Returns the table's name.
fn set_key(doc: &mut DocumentMut, profile: &str, key: &str, value: Value) -> String {
    for table in deciding_tables(profile) {
        if let Some(t) = maintenance_table(doc, &table) {
            if let Some(item) = t.get_mut(key) {
                match item.as_value_mut() {
                    Some(old) => {
                        let decor = old.decor().clone();
                        *old = value;
                        *old.decor_mut() = decor;
                    }
                    None => *item = Item::Value(value),
                }
                return table;
            }
        }
    }
    if maintenance_table(doc, "default").is_none() {
        let root = doc.entry("default").or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            Item::Table(t)
        });
        if let Some(root) = root.as_table_like_mut() {
            root.insert("maintenance", Item::Table(toml_edit::Table::new()));
        }
    }
    if let Some(t) = maintenance_table(doc, "default") {
        t.insert(key, Item::Value(value));
    }
    "default".to_string()
}

/// Removes `key` from every maintenance table; returns the tables it was in.
fn remove_key(doc: &mut DocumentMut, key: &str) -> Vec<String> {
    let tables: Vec<String> = doc.iter().map(|(k, _)| k.to_string()).collect();
    tables
        .into_iter()
        .filter(|table| {
            maintenance_table(doc, table)
                .and_then(|t| t.remove(key))
                .is_some()
        })
        .collect()
}

fn change_entries(change: &Change) -> Vec<(&'static str, Value, bool)> {
    let mut out: Vec<(&'static str, Value, bool)> = Vec::new();
    if let Some(v) = change.enabled {
        out.push(("enabled", v.into(), false));
    }
    if let Some(v) = &change.message {
        out.push(("message", v.as_str().into(), false));
    }
    if let Some(v) = &change.retry_after {
        out.push(("retry_after", v.as_str().into(), false));
    }
    if let Some(v) = change.read_only {
        out.push(("read_only", v.into(), false));
    }
    if let Some(v) = change.status {
        out.push(("status", i64::from(v).into(), false));
    }
    if let Some(v) = &change.redirect {
        out.push(("redirect", v.as_str().into(), false));
    }
    if let Some(v) = change.refresh {
        out.push(("refresh", i64::from(v).into(), false));
    }
    if let Some(v) = &change.starts_at {
        out.push(("starts_at", v.as_str().into(), false));
    }
    if let Some(v) = &change.ends_at {
        out.push(("ends_at", v.as_str().into(), false));
    }
    if let Some(v) = &change.bypass_secret {
        out.push(("bypass_secret", v.as_str().into(), true));
    }
    if let Some(v) = &change.reason {
        out.push(("reason", v.as_str().into(), false));
    }
    if let Some(v) = &change.changed_by {
        out.push(("changed_by", v.as_str().into(), false));
    }
    if let Some(v) = &change.changed_at {
        out.push(("changed_at", v.as_str().into(), false));
    }
    out
}

/// Edits the config file in place: sets each key of `change` in the table that decides it for
/// `profile`, validates the result in memory exactly as the service would, checks the effective
/// settings are what was asked, and replaces the file atomically (owner and permission bits
/// kept), under the edit lock, waited for at most `lock_timeout`. When anything fails the file
/// stays untouched.
pub fn edit_config(
    path: &Path,
    profile: &str,
    template_dir: Option<&Path>,
    change: &Change,
    lock_timeout: Duration,
) -> Result<EditReport, Error> {
    // Open once to find the file and take the lock, then again under the lock: the bytes edited
    // are the file as it is once no other edit can run.
    let _lock = OpenedConfig::open(path)?.lock(lock_timeout)?;
    let file = OpenedConfig::open(path)?;
    let real = file.real.clone();
    if change.bypass_secret.is_some() && file.world_readable() {
        return Err(Error::Refused {
            path: real,
            reason: "it is readable by every user, and a bypass secret would be stored in it; \
                     `chmod 640` it (group: the service's), or keep the secret out of the file \
                     with `bypass_secret_file`"
                .into(),
        });
    }
    let mut doc: DocumentMut =
        file.text
            .parse()
            .map_err(|e: toml_edit::TomlError| Error::Refused {
                path: real.clone(),
                reason: not_toml(&e, &file.text),
            })?;

    let mut changes = Vec::new();
    for key in &change.remove {
        for table in remove_key(&mut doc, key) {
            changes.push(format!("[{table}.maintenance] removed {key}"));
        }
    }
    for (key, value, secret) in change_entries(change) {
        let shown = if secret {
            redacted(value.as_str().unwrap_or_default())
        } else {
            value.to_string().trim().to_string()
        };
        let table = set_key(&mut doc, profile, key, value);
        changes.push(format!("[{table}.maintenance] {key} = {shown}"));
    }
    let text = doc.to_string();
    let effective =
        check_config(&text, &real, profile, template_dir).map_err(|e| Error::Refused {
            path: real.clone(),
            reason: format!("the result would be invalid: {e}"),
        })?;
    check_effective(&effective, change, &real, profile)?;
    file.replace(text.as_bytes())?;
    Ok(EditReport {
        path: real,
        changes,
        effective,
    })
}

/// After an edit, the effective settings must be what was asked.
fn check_effective(
    eff: &Configured,
    change: &Change,
    path: &Path,
    profile: &str,
) -> Result<(), Error> {
    let wrong = |what: &str| {
        Err(Error::Refused {
            path: path.to_path_buf(),
            reason: format!(
                "after the edit, {what} for profile `{profile}`; another table or key overrides it"
            ),
        })
    };
    match change.enabled {
        Some(true) if !eff.on => return wrong("maintenance would still be off"),
        // A scheduled `on` writes a window, which may already be active.
        Some(false) if change.starts_at.is_some() => {}
        Some(false) if eff.on => {
            return wrong(if eff.window_active {
                "a scheduled window would keep maintenance on"
            } else {
                "maintenance would still be on"
            })
        }
        _ => {}
    }
    if let Some(m) = &change.message {
        if &eff.message != m {
            return wrong("the message would differ");
        }
    }
    if let Some(r) = change.read_only {
        if eff.read_only != r {
            return wrong("read_only would differ");
        }
    }
    Ok(())
}

/// Why a file is not TOML, without quoting it: it may not be a config at all (a symlink to a
/// password file), so only the position and the parser's words are shown.
fn not_toml(e: &toml_edit::TomlError, text: &str) -> String {
    let at = e.span().map(|span| {
        let before = &text[..span.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!(" at line {line}, column {column}")
    });
    format!(
        "it is not valid TOML{}: {}; is it the right file? (its text is not shown)",
        at.unwrap_or_default(),
        redact_config_values(e.message(), text)
    )
}

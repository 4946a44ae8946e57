//! What the fairing checks at ignite and liftoff, beyond the settings themselves: mistakes a new
//! user makes that would otherwise pass silently or fail with a message pointing the wrong way.

use figment::value::{Dict, Value};
use figment::Figment;
use rocket::{Build, Rocket, Route};

use crate::load::config_file;

/// `Maintenance::fairing()` re-reads Rocket's own figment (`Rocket.toml`, `ROCKET_*`) at every
/// reload. An app built with `rocket::custom(figment)` runs with another figment, so its reloads
/// would read other settings than its start: refuse that at ignite, with the fix.
pub(super) fn same_figment_as_rockets(app: &Figment) -> Result<(), String> {
    let rockets = rocket::Config::figment().select(app.profile().clone());
    let file = |f: &Figment| config_file(f).map(|p| std::path::absolute(&p).unwrap_or(p));
    let table = |f: &Figment| f.find_value("maintenance").ok();
    if file(app) == file(&rockets) && table(app) == table(&rockets) {
        return Ok(());
    }
    Err(format!(
        "this rocket was built with a figment of its own (it reads {}, and its `maintenance` \
         table differs from what Rocket.toml and ROCKET_* give), but `Maintenance::fairing()` \
         re-reads Rocket's own figment at every reload, so reloads would apply other settings; \
         attach `Maintenance::custom(|| your_figment())` with the function that builds the \
         rocket's figment instead",
        file(app)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "no file".into())
    ))
}

/// A `force_off` route that the app also mounted itself: name the real mistake before Rocket's
/// collision message (which suggests ranking) does.
pub(super) fn force_off_not_mounted_twice(
    rocket: &Rocket<Build>,
    force_off: &[(String, Vec<Route>)],
) -> Result<(), String> {
    for (base, routes) in force_off {
        for route in routes {
            let Ok(mounted) = route.clone().map_base(|old| format!("{base}{old}")) else {
                continue;
            };
            let twin = rocket.routes().find(|r| {
                r.method == mounted.method && r.uri.to_string() == mounted.uri.to_string()
            });
            if let Some(twin) = twin {
                return Err(format!(
                    "route {} {}{} is given to `.force_off` and also mounted by the app; \
                     `.force_off(\"{base}\", routes![…])` mounts it: remove it from your own \
                     `.mount(…)`",
                    mounted.method,
                    mounted.uri,
                    twin.name
                        .as_deref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default(),
                ));
            }
        }
    }
    Ok(())
}

/// Settings that look meant for this crate but are not read: `ROCKET_MAINTENANCE_ENABLED=true`
/// (a top-level `maintenance_enabled`), or a table named like `maintenence`. One warning each,
/// naming the right spelling.
pub(super) fn misspellings(figment: &Figment) -> Vec<String> {
    let Ok(Value::Dict(_, top)) = figment.find_value("") else {
        return Vec::new();
    };
    misspelled_keys(&top)
}

fn misspelled_keys(top: &Dict) -> Vec<String> {
    let mut out = Vec::new();
    for (key, value) in top {
        let lower = key.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("maintenance_") {
            out.push(format!(
                "the setting `{key}` is not read (ROCKET_MAINTENANCE_{} sets it); write \
                 `maintenance.{rest}` in Rocket.toml, or ROCKET_MAINTENANCE='{{{rest}=…}}'",
                rest.to_ascii_uppercase()
            ));
        } else if lower != "maintenance"
            && matches!(value, Value::Dict(..))
            && strsim::levenshtein(&lower, "maintenance") <= 2
        {
            out.push(format!(
                "the table `{key}` is not read: did you mean `maintenance`?"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::{Format, Toml};

    #[test]
    fn misspelled_tables_and_flattened_keys_are_named() {
        let f = Figment::from(Toml::string(
            "maintenance_enabled = true\n[maintenence]\nenabled = true\n[maintenance]\nenabled = false\n[limits]\nx = 1\n",
        ));
        let warnings = misspellings(&f);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings.iter().any(|w| w.contains("maintenance.enabled")),
            "{warnings:?}"
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("did you mean `maintenance`")),
            "{warnings:?}"
        );
    }
}

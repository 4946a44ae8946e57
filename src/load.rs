//! Loading: everything a state needs, read and validated from one figment.
//!
//! [`load`] is the one place settings are read: at start, at every reload, and by
//! [`check_settings`](crate::check_settings) and the operator CLI (through
//! [`control`](crate::control)), so all of them accept and refuse exactly the same files.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use figment::value::magic::RelativePathBuf;
use figment::{Figment, Source};

use crate::error::Error;
use crate::page::{HandlebarsHook, Renderer};
use crate::policy::Policy;
use crate::settings::Settings;

/// Where the figment comes from at each reload.
#[derive(Clone)]
pub(crate) enum FigmentSource {
    /// `rocket::Config::figment()`, re-read: `ROCKET_CONFIG`/`Rocket.toml` and `ROCKET_*`.
    Rocket,
    /// The application's own function (`Maintenance::custom`).
    Custom(Arc<dyn Fn() -> Figment + Send + Sync>),
}

impl FigmentSource {
    pub(crate) fn figment(&self) -> Figment {
        match self {
            FigmentSource::Rocket => rocket::Config::figment(),
            FigmentSource::Custom(f) => f(),
        }
    }
}

/// Settings as loaded from one figment: the compiled policy and the page renderer, plus where
/// they came from.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The settings as written, for overlaying a fleet record's switch keys.
    #[cfg_attr(not(feature = "fleet"), allow(dead_code))]
    pub settings: crate::settings::Settings,
    pub policy: Policy,
    /// The `[maintenance.fleet]` table, compiled.
    #[cfg(feature = "fleet")]
    pub fleet: Option<crate::fleet::FleetConfig>,
    pub renderer: Renderer,
    pub config_path: Option<PathBuf>,
    pub template_dir: PathBuf,
}

/// The file a figment read its settings from, if any.
pub(crate) fn config_file(figment: &Figment) -> Option<PathBuf> {
    figment.metadata().find_map(|md| match &md.source {
        Some(Source::File(path)) => Some(path.clone()),
        _ => None,
    })
}

/// Rocket's `template_dir`, resolved as rocket_dyn_templates resolves it: relative to the file
/// that set it, else `templates` relative to the working directory.
/// A `template_dir` that is set but is not a path is an error, never silently `templates`.
pub(crate) fn template_dir(figment: &Figment) -> Result<PathBuf, Error> {
    let dir = match figment.extract_inner::<RelativePathBuf>("template_dir") {
        Ok(p) => p.relative(),
        Err(e) if e.missing() => PathBuf::from("templates"),
        Err(e) => {
            return Err(Error::Config {
                origin: figment
                    .find_metadata("template_dir")
                    .map(crate::error::describe_metadata),
                reason: format!("`template_dir` is not a directory path: {}", e.kind),
            })
        }
    };
    Ok(std::path::absolute(&dir).unwrap_or(dir))
}

/// Loads and validates everything a state needs from one figment (profile already selected).
pub(crate) fn load(figment: &Figment, hook: Option<&HandlebarsHook>) -> Result<Loaded, Error> {
    let settings = Settings::from_figment(figment)?;
    let policy = Policy::compile(settings.clone()).map_err(|e| e.located(figment))?;
    #[cfg(feature = "fleet")]
    let fleet =
        crate::fleet::FleetConfig::from_settings(&settings).map_err(|e| e.located(figment))?;
    let template_dir = template_dir(figment)?;
    let renderer = Renderer::new(policy.template.as_deref(), &template_dir, hook)
        .map_err(|e| e.located(figment))?;
    // Render once now: a template that does not render is refused here, not at a request.
    renderer
        .render(&policy, SystemTime::now())
        .map_err(|e| e.located(figment))?;
    Ok(Loaded {
        settings,
        policy,
        #[cfg(feature = "fleet")]
        fleet,
        renderer,
        config_path: config_file(figment),
        template_dir,
    })
}

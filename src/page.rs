//! The maintenance response, rendered once per load, never per request.
//!
//! The page is rendered with a handlebars registry of this crate's own (so it works without
//! `Template::fairing()` and outside a request): the built-in page, or a template from Rocket's
//! `template_dir` named as rocket_dyn_templates names them (`"errors/503"` is
//! `errors/503.html.hbs`), with every other template of that directory available as a partial.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use handlebars::Handlebars;
use serde_json::{json, Map, Value};

use crate::error::{toml_str, Error};
use crate::policy::Policy;
use crate::settings::{format_time, RetryAfter};

/// The built-in page's template.
pub(crate) const BUILT_IN_PAGE: &str = include_str!("../templates/rocket-maintenance.html.hbs");
const BUILT_IN_NAME: &str = "rocket_maintenance::builtin";

/// A function that registers helpers (or anything else) on the page renderer.
pub(crate) type HandlebarsHook = Arc<dyn Fn(&mut Handlebars<'static>) + Send + Sync>;

/// A handlebars registry holding the page's template and its partials.
pub(crate) struct Renderer {
    registry: Handlebars<'static>,
    name: String,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("template", &self.name)
            .finish()
    }
}

/// The response bodies and headers for one state.
#[derive(Debug, Clone)]
pub(crate) struct Pages {
    pub html: Arc<[u8]>,
    pub json: Arc<[u8]>,
    pub text: Arc<[u8]>,
    pub status: u16,
    /// `Retry-After`: delay-seconds or an HTTP-date.
    pub retry_after: Option<String>,
    /// `Refresh` on the page.
    pub refresh: Option<String>,
    /// `Location` for held-back requests when `redirect` is set.
    pub redirect: Option<String>,
}

/// The most templates `template_dir` may hold.
const MAX_TEMPLATES: usize = 1000;
/// The largest template file.
const MAX_TEMPLATE_BYTES: u64 = 1024 * 1024;

/// `template_dir` files: `name` (path without the template extensions) and the file.
///
/// The walk follows symlinks (as rocket_dyn_templates does) but visits each directory once (by
/// device and inode, so a loop or two links to one directory cost nothing), takes regular files
/// only (a FIFO named `x.html.hbs` is skipped, never opened), and stops with a named error at
/// more than 1,000 templates or a template over 1 MiB.
pub(crate) fn template_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(dir)
        .map_err(|e| format!("template_dir {} cannot be read: {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("template_dir {} is not a directory", dir.display()));
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut walk = walkdir::WalkDir::new(dir).follow_links(true).into_iter();
    while let Some(entry) = walk.next() {
        let Ok(entry) = entry else {
            continue; // a loop (walkdir detects it) or an unreadable entry
        };
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if meta.is_dir() {
            if !seen.insert((meta.dev(), meta.ino())) {
                walk.skip_current_dir();
            }
            continue;
        }
        if !meta.is_file() {
            continue;
        }
        let path = entry.path();
        let Some(rel) = path
            .strip_prefix(dir)
            .ok()
            .and_then(|r| r.to_str())
            .and_then(|r| r.strip_suffix(".hbs"))
        else {
            continue;
        };
        if meta.len() > MAX_TEMPLATE_BYTES {
            return Err(format!(
                "template {} is larger than 1 MiB; is template_dir {} the right directory?",
                path.display(),
                dir.display()
            ));
        }
        if out.len() == MAX_TEMPLATES {
            return Err(format!(
                "template_dir {} holds more than {MAX_TEMPLATES} templates; is it the right \
                 directory?",
                dir.display()
            ));
        }
        // `about.html.hbs` is `about`, as rocket_dyn_templates names it.
        let name = match rel.rsplit_once('.') {
            Some((stem, ext)) if !ext.contains('/') => stem,
            _ => rel,
        };
        out.push((name.replace('\\', "/"), path.to_path_buf()));
    }
    Ok(out)
}

/// Templates compiled by earlier loads, by name and file, with the source they came from: a
/// reload reads every file again but compiles only what changed (handlebars' parser is most of a
/// reload's work).
type CompiledCache = HashMap<(String, PathBuf), (String, handlebars::Template)>;

fn compiled_cache() -> &'static Mutex<CompiledCache> {
    static CACHE: OnceLock<Mutex<CompiledCache>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// `registry.register_template_file(name, path)`, compiling only when the file changed since it
/// was last compiled.
fn register_file(
    registry: &mut Handlebars<'static>,
    name: &str,
    path: &Path,
) -> Result<(), handlebars::TemplateError> {
    if registry.dev_mode() || registry.prevent_indent() {
        return registry.register_template_file(name, path);
    }
    let source = std::fs::read_to_string(path)
        .map_err(|e| handlebars::TemplateError::from((e, name.to_owned())))?;
    let key = (name.to_owned(), path.to_path_buf());
    let mut cache = compiled_cache().lock().unwrap_or_else(|e| e.into_inner());
    let template = match cache.get(&key) {
        Some((cached, template)) if *cached == source => template.clone(),
        _ => {
            let template = handlebars::Template::compile_with_name(&source, name.to_owned())?;
            cache.insert(key, (source, template.clone()));
            template
        }
    };
    registry.register_template(name, template);
    Ok(())
}

impl Renderer {
    /// Builds the registry: the built-in page, or `template` with the rest of `template_dir` as
    /// partials.
    pub fn new(
        template: Option<&str>,
        template_dir: &Path,
        hook: Option<&HandlebarsHook>,
    ) -> Result<Renderer, Error> {
        let mut registry = Handlebars::new();
        if let Some(hook) = hook {
            hook(&mut registry);
        }
        let name = match template {
            None => {
                registry
                    .register_template_string(BUILT_IN_NAME, BUILT_IN_PAGE)
                    .map_err(|e| Error::Template {
                        name: "built-in page".into(),
                        reason: e.to_string(),
                    })?;
                BUILT_IN_NAME.to_string()
            }
            Some(name) => {
                let files = template_files(template_dir)
                    .map_err(|reason| Error::setting("template", Some(toml_str(name)), reason))?;
                let Some((_, file)) = files.iter().find(|(n, _)| n == name) else {
                    return Err(Error::setting(
                        "template",
                        Some(toml_str(name)),
                        format!(
                            "no template `{name}` (e.g. `{name}.html.hbs`) in template_dir {}; \
                             create it or remove the key to use the built-in page",
                            template_dir.display()
                        ),
                    ));
                };
                register_file(&mut registry, name, file).map_err(|e| {
                    Error::setting(
                        "template",
                        Some(toml_str(name)),
                        format!("{} does not parse: {e}", file.display()),
                    )
                })?;
                // The others are partials; one that does not parse is only a problem if used,
                // which rendering below reports.
                for (other, path) in files.iter().filter(|(n, _)| n != name) {
                    let _ = register_file(&mut registry, other, path);
                }
                name.to_string()
            }
        };
        Ok(Renderer { registry, name })
    }

    /// Renders every representation for `policy` at `now`.
    pub fn render(&self, policy: &Policy, now: SystemTime) -> Result<Pages, Error> {
        let status = rocket::http::Status::new(policy.status);
        let title = status.reason_lossy();
        let active_window_end = policy.ends_at.filter(|end| *end > now);
        let (retry_seconds, retry_at) = match policy.retry {
            Some(RetryAfter::Delay(d)) => (Some(d), None),
            Some(RetryAfter::At(t)) if t > now => (None, Some(t)),
            Some(RetryAfter::At(_)) => (None, None),
            None => (None, active_window_end),
        };
        let mut vars = Map::new();
        for (k, v) in &policy.context {
            vars.insert(k.clone(), v.clone());
        }
        vars.insert("message".into(), json!(policy.message));
        vars.insert("status".into(), json!(policy.status));
        vars.insert("title".into(), json!(title));
        vars.insert("read_only".into(), json!(policy.read_only));
        if let Some(d) = retry_seconds {
            vars.insert("retry_after".into(), json!(d.as_secs()));
            vars.insert("retry_after_text".into(), json!(human_delay(d)));
        }
        if let Some(t) = retry_at {
            vars.insert("retry_at".into(), json!(format_time(t)));
        }
        if let Some(t) = policy.ends_at {
            vars.insert("ends_at".into(), json!(format_time(t)));
        }
        if let Some(t) = policy.starts_at {
            vars.insert("starts_at".into(), json!(format_time(t)));
        }
        let html = self
            .registry
            .render(&self.name, &Value::Object(vars))
            .map_err(|e| match self.name.as_str() {
                BUILT_IN_NAME => Error::Template {
                    name: "built-in page".into(),
                    reason: format!("does not render: {e}"),
                },
                name => Error::setting(
                    "template",
                    Some(toml_str(name)),
                    format!("does not render: {e}"),
                ),
            })?;

        let mut problem = Map::new();
        problem.insert("type".into(), json!("about:blank"));
        problem.insert("status".into(), json!(policy.status));
        problem.insert("title".into(), json!(title));
        problem.insert("detail".into(), json!(policy.message));
        // Laravel's and django-maintenance-mode's clients read `message`.
        problem.insert("message".into(), json!(policy.message));
        if policy.read_only {
            problem.insert("read_only".into(), json!(true));
        }
        if let Some(d) = retry_seconds {
            problem.insert("retry_after".into(), json!(d.as_secs()));
        }
        if let Some(t) = retry_at {
            problem.insert("retry_at".into(), json!(format_time(t)));
        }
        let json = serde_json::to_vec(&Value::Object(problem)).map_err(|e| Error::Template {
            name: "problem document".into(),
            reason: e.to_string(),
        })?;

        let mut text = format!("{} {title}\n\n{}\n", policy.status, policy.message);
        if let Some(d) = retry_seconds {
            text.push_str(&format!("\nTry again in {}.\n", human_delay(d)));
        } else if let Some(t) = retry_at {
            text.push_str(&format!("\nExpected back by {}.\n", format_time(t)));
        }

        Ok(Pages {
            html: Arc::from(html.into_bytes()),
            json: Arc::from(json),
            text: Arc::from(text.into_bytes()),
            status: policy.status,
            retry_after: retry_seconds
                .map(|d| d.as_secs().to_string())
                .or_else(|| retry_at.map(httpdate::fmt_http_date)),
            refresh: policy.refresh.map(|s| s.to_string()),
            redirect: policy.redirect.as_ref().map(|t| t.location.clone()),
        })
    }
}

/// `900 s` as "15 minutes": what a person reads on the page.
fn human_delay(d: Duration) -> String {
    let secs = d.as_secs();
    let (n, unit) = if secs < 90 {
        (secs, "second")
    } else if secs < 90 * 60 {
        ((secs + 30) / 60, "minute")
    } else if secs < 36 * 3600 {
        ((secs + 1800) / 3600, "hour")
    } else {
        (secs.saturating_add(43200) / 86400, "day")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;
    use figment::providers::{Format as _, Toml};

    fn policy(toml: &str) -> Policy {
        let figment = figment::Figment::from(Toml::string(toml)).focus("maintenance");
        Policy::compile(figment.extract::<Settings>().unwrap()).unwrap()
    }

    #[test]
    fn built_in_page_shows_message_and_delay() {
        let p = policy(
            "[maintenance]\nenabled = true\nmessage = \"Back at <3>\"\nretry_after = \"15m\"",
        );
        let r = Renderer::new(None, Path::new("/nonexistent"), None).unwrap();
        let pages = r.render(&p, SystemTime::now()).unwrap();
        let html = std::str::from_utf8(&pages.html).unwrap();
        assert!(
            html.contains("Back at &lt;3&gt;"),
            "escaped message: {html}"
        );
        assert!(html.contains("15 minutes"));
        assert_eq!(pages.retry_after.as_deref(), Some("900"));
        let json: Value = serde_json::from_slice(&pages.json).unwrap();
        assert_eq!(json["status"], 503);
        assert_eq!(json["detail"], "Back at <3>");
        assert_eq!(json["retry_after"], 900);
    }

    #[test]
    fn a_time_is_sent_as_http_date_and_a_past_time_as_nothing() {
        let p = policy("[maintenance]\nenabled = true\nretry_after = \"2030-01-01T03:00:00Z\"");
        let r = Renderer::new(None, Path::new("/nonexistent"), None).unwrap();
        let before = crate::settings::parse_time("2029-01-01T00:00:00Z").unwrap();
        let pages = r.render(&p, before).unwrap();
        assert_eq!(
            pages.retry_after.as_deref(),
            Some("Tue, 01 Jan 2030 03:00:00 GMT")
        );
        let json: Value = serde_json::from_slice(&pages.json).unwrap();
        assert_eq!(json["retry_at"], "2030-01-01T03:00:00Z");
        let after = crate::settings::parse_time("2031-01-01T00:00:00Z").unwrap();
        assert_eq!(r.render(&p, after).unwrap().retry_after, None);
    }

    #[test]
    fn missing_template_is_named() {
        let err = Renderer::new(Some("errors/503"), Path::new("/nonexistent"), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("maintenance.template") && err.contains("errors/503"),
            "{err}"
        );
    }

    #[test]
    fn delays_read_like_a_person_wrote_them() {
        assert_eq!(human_delay(Duration::from_secs(1)), "1 second");
        assert_eq!(human_delay(Duration::from_secs(900)), "15 minutes");
        assert_eq!(human_delay(Duration::from_secs(5400)), "2 hours");
        assert_eq!(human_delay(Duration::from_secs(3 * 86400)), "3 days");
    }

    #[test]
    fn the_template_walk_survives_loops_and_fifos() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("page.html.hbs"), "<p>{{message}}</p>").unwrap();
        std::os::unix::fs::symlink(".", dir.path().join("a")).unwrap();
        std::os::unix::fs::symlink(".", dir.path().join("b")).unwrap();
        nix::unistd::mkfifo(
            &dir.path().join("x.html.hbs"),
            nix::sys::stat::Mode::S_IRWXU,
        )
        .unwrap();
        let files = template_files(dir.path()).unwrap();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.contains(&"page"), "{names:?}");
        assert!(
            !names.iter().any(|n| n.ends_with('x')),
            "the FIFO was taken: {names:?}"
        );
        assert!(files.len() < 10, "the loops multiplied the walk: {names:?}");

        for i in 0..=MAX_TEMPLATES {
            std::fs::write(dir.path().join(format!("t{i}.html.hbs")), "x").unwrap();
        }
        let err = template_files(dir.path()).unwrap_err();
        assert!(err.contains("more than 1000 templates"), "{err}");
        let err = template_files(&dir.path().join("missing")).unwrap_err();
        assert!(
            err.contains("missing") && err.contains("cannot be read"),
            "{err}"
        );
    }
}

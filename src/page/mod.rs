//! The maintenance response, rendered once per load for every configured language, never per
//! request.
//!
//! The page is rendered with a handlebars registry of this crate's own (so it works without
//! `Template::fairing()` and outside a request): the built-in page, or a template from Rocket's
//! `template_dir` named as rocket_dyn_templates names them (`"errors/503"` is
//! `errors/503.html.hbs`, and `errors/503.de.html.hbs` its German variant), with every other
//! template of that directory available as a partial (`files.rs` finds and compiles them).

mod files;

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use handlebars::Handlebars;
use serde_json::{json, Map, Value};

use self::files::{register_file, template_files};
use crate::error::{toml_str, Error};
use crate::i18n::{lookup, strings};
use crate::policy::Policy;
use crate::settings::{format_time, RetryAfter};

/// The built-in page's template.
pub(crate) const BUILT_IN_PAGE: &str = include_str!("../../templates/rocket-maintenance.html.hbs");
const BUILT_IN_NAME: &str = "rocket_maintenance::builtin";

/// A function that registers helpers (or anything else) on the page renderer.
pub(crate) type HandlebarsHook = Arc<dyn Fn(&mut Handlebars<'static>) + Send + Sync>;

/// A handlebars registry holding the page's template and its partials.
pub(crate) struct Renderer {
    registry: Handlebars<'static>,
    name: String,
}

/// The answers in one language.
#[derive(Debug, Clone)]
pub(crate) struct LangPage {
    /// The language tag as configured (`de`), sent as `Content-Language`.
    pub tag: String,
    pub html: Arc<[u8]>,
    pub json: Arc<[u8]>,
    pub text: Arc<[u8]>,
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
    /// One set of answers per configured language, the default language first.
    pub langs: Vec<LangPage>,
    pub status: u16,
    /// `Retry-After`: delay-seconds or an HTTP-date.
    pub retry_after: Option<String>,
    /// `Refresh` on the page.
    pub refresh: Option<String>,
    /// `Location` for held-back requests when `redirect` is set.
    pub redirect: Option<String>,
}

impl Pages {
    /// The answers in the language `Accept-Language` asks for, else the default language's.
    pub fn pick<'a>(&self, accept_language: impl FnOnce() -> Option<&'a str>) -> &LangPage {
        if self.langs.len() < 2 {
            return &self.langs[0];
        }
        let chosen = accept_language()
            .and_then(|value| lookup(value, self.langs.iter().map(|l| l.tag.as_str())))
            .unwrap_or(0);
        &self.langs[chosen]
    }

    /// Whether the answer depends on `Accept-Language`.
    pub fn multilingual(&self) -> bool {
        self.langs.len() > 1
    }
}

impl Renderer {
    /// Builds the registry: the built-in page, or `template` (and its language variants) with
    /// the rest of `template_dir` as partials.
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
                // The others are partials, or language variants (`name.de`); one that does not
                // parse is only a problem if used, which rendering below reports.
                for (other, path) in files.iter().filter(|(n, _)| n != name) {
                    let _ = register_file(&mut registry, other, path);
                }
                name.to_string()
            }
        };
        Ok(Renderer { registry, name })
    }

    /// The template for language `tag`: its variant (`errors/503.de`) when there is one.
    fn template_for(&self, tag: &str) -> String {
        if self.name == BUILT_IN_NAME {
            return self.name.clone();
        }
        let variant = format!("{}.{tag}", self.name);
        if self.registry.has_template(&variant) {
            return variant;
        }
        let lower = variant.to_ascii_lowercase();
        if self.registry.has_template(&lower) {
            return lower;
        }
        self.name.clone()
    }

    /// Renders every representation, in every configured language, for `policy` at `now`.
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
        let auto_return = (policy.auto_return && !policy.read_only).then(|| {
            auto_return_script(policy.status, retry_seconds.map(|d| d.as_secs()), retry_at)
        });
        let mut langs = Vec::with_capacity(policy.messages.len());
        for (tag, message) in &policy.messages {
            let t = strings(tag, &policy.language);
            let mut vars = Map::new();
            for (k, v) in &policy.context {
                vars.insert(k.clone(), v.clone());
            }
            vars.insert("message".into(), json!(message));
            vars.insert("status".into(), json!(policy.status));
            vars.insert("title".into(), json!(title));
            vars.insert("read_only".into(), json!(policy.read_only));
            vars.insert("lang".into(), json!(tag));
            vars.insert(
                "auto_return_script".into(),
                json!(auto_return.clone().unwrap_or_default()),
            );
            let mut sentences = serde_json::to_value(t).unwrap_or_default();
            if let Some(d) = retry_seconds {
                let text = t.delay(tag, d);
                vars.insert("retry_after".into(), json!(d.as_secs()));
                sentences["try_again"] = json!(t.try_again_in.replace("{delay}", &text));
                vars.insert("retry_after_text".into(), json!(text));
            }
            if let Some(at) = retry_at {
                vars.insert("retry_at".into(), json!(format_time(at)));
                vars.insert("retry_at_text".into(), json!(t.date(at)));
                let (before, after) = t.back_by.split_once("{time}").unwrap_or((&t.back_by, ""));
                sentences["back_by_before"] = json!(before);
                sentences["back_by_after"] = json!(after);
            }
            vars.insert("t".into(), sentences);
            if let Some(at) = policy.ends_at {
                vars.insert("ends_at".into(), json!(format_time(at)));
            }
            if let Some(at) = policy.starts_at {
                vars.insert("starts_at".into(), json!(format_time(at)));
            }
            let template = self.template_for(tag);
            let html = self
                .registry
                .render(&template, &Value::Object(vars))
                .map_err(|e| match self.name.as_str() {
                    BUILT_IN_NAME => Error::Template {
                        name: "built-in page".into(),
                        reason: format!("does not render: {e}"),
                    },
                    _ => Error::setting(
                        "template",
                        Some(toml_str(&template)),
                        format!("does not render: {e}"),
                    ),
                })?;

            let mut problem = Map::new();
            problem.insert("type".into(), json!("about:blank"));
            problem.insert("status".into(), json!(policy.status));
            problem.insert("title".into(), json!(title));
            problem.insert("detail".into(), json!(message));
            // Laravel's and django-maintenance-mode's clients read `message`.
            problem.insert("message".into(), json!(message));
            if policy.read_only {
                problem.insert("read_only".into(), json!(true));
            }
            if let Some(d) = retry_seconds {
                problem.insert("retry_after".into(), json!(d.as_secs()));
            }
            if let Some(at) = retry_at {
                problem.insert("retry_at".into(), json!(format_time(at)));
            }
            let json =
                serde_json::to_vec(&Value::Object(problem)).map_err(|e| Error::Template {
                    name: "problem document".into(),
                    reason: e.to_string(),
                })?;

            let mut text = format!("{} {title}\n\n{message}\n", policy.status);
            if let Some(d) = retry_seconds {
                text.push_str(&format!(
                    "\n{}\n",
                    t.try_again_in.replace("{delay}", &t.delay(tag, d))
                ));
            } else if let Some(at) = retry_at {
                text.push_str(&format!("\n{}\n", t.back_by.replace("{time}", &t.date(at))));
            }
            langs.push(LangPage {
                tag: tag.clone(),
                html: Arc::from(html.into_bytes()),
                json: Arc::from(json),
                text: Arc::from(text.into_bytes()),
            });
        }

        Ok(Pages {
            langs,
            status: policy.status,
            retry_after: retry_seconds
                .map(|d| d.as_secs().to_string())
                .or_else(|| retry_at.map(httpdate::fmt_http_date)),
            refresh: policy.refresh.map(|s| s.to_string()),
            redirect: policy.redirect.as_ref().map(|t| t.location.clone()),
        })
    }
}

/// The script that brings a visitor back by itself: it checks the page's own URL with `HEAD` (no
/// cache, cookies sent) every max(15 s, retry_after / 10), at most 5 minutes, ±20 % jitter, and
/// reloads as soon as the status is no longer the maintenance status. Not for the read-only
/// page, whose reload would repeat a write.
fn auto_return_script(
    status: u16,
    retry_seconds: Option<u64>,
    retry_at: Option<SystemTime>,
) -> String {
    let retry = retry_seconds.map_or("null".to_string(), |s| s.to_string());
    let at = retry_at.map_or("null".to_string(), |t| format!("\"{}\"", format_time(t)));
    format!(
        "<script>(function(){{var s={status},r={retry},a={at};\
         function w(){{var d=a?(Date.parse(a)-Date.now())/1000:r;\
         var p=Math.min(300,Math.max(15,(d||0)/10));return p*(0.8+Math.random()*0.4)*1000}}\
         function c(){{setTimeout(function(){{fetch(location.href,{{method:\"HEAD\",\
         cache:\"no-store\",credentials:\"same-origin\"}}).then(function(x){{\
         if(x.status!==s){{location.reload()}}else{{c()}}}},c)}},w())}}c()}})();</script>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;
    use figment::providers::{Format as _, Toml};
    use serde_json::Value;

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
        let html = std::str::from_utf8(&pages.langs[0].html).unwrap();
        assert!(
            html.contains("Back at &lt;3&gt;"),
            "escaped message: {html}"
        );
        assert!(html.contains("15 minutes"));
        assert_eq!(pages.retry_after.as_deref(), Some("900"));
        let json: Value = serde_json::from_slice(&pages.langs[0].json).unwrap();
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
        let json: Value = serde_json::from_slice(&pages.langs[0].json).unwrap();
        assert_eq!(json["retry_at"], "2030-01-01T03:00:00Z");
        let html = std::str::from_utf8(&pages.langs[0].html).unwrap();
        assert!(
            html.contains("<time datetime=\"2030-01-01T03:00:00Z\">1 Jan 2030, 03:00 UTC</time>"),
            "{html}"
        );
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
    fn every_configured_language_is_rendered_with_its_own_sentences() {
        let p = policy(
            "[maintenance]\nenabled = true\nretry_after = 900\nlanguage = \"de\"\n\
             message = { de = \"Um 3 Uhr zurück.\", en = \"Back at 3.\", fi = \"Palaamme.\" }",
        );
        let r = Renderer::new(None, Path::new("/nonexistent"), None).unwrap();
        let pages = r.render(&p, SystemTime::now()).unwrap();
        let tags: Vec<&str> = pages.langs.iter().map(|l| l.tag.as_str()).collect();
        assert_eq!(tags, ["de", "en", "fi"], "the default language first");
        let html = |i: usize| String::from_utf8(pages.langs[i].html.to_vec()).unwrap();
        assert!(html(0).contains("<html lang=\"de\">") && html(0).contains("15 Minuten"));
        assert!(html(1).contains("<html lang=\"en\">") && html(1).contains("15 minutes"));
        // Finnish has a message but no sentences: the default language's (German) sentences.
        assert!(html(2).contains("Palaamme.") && html(2).contains("15 Minuten"));
        assert_eq!(pages.pick(|| Some("en-GB,en;q=0.9")).tag, "en");
        assert_eq!(pages.pick(|| Some("ja")).tag, "de");
        let json: Value = serde_json::from_slice(&pages.langs[1].json).unwrap();
        assert_eq!(json["detail"], "Back at 3.");
    }

    #[test]
    fn the_page_returns_by_itself_except_in_read_only_mode() {
        let r = Renderer::new(None, Path::new("/nonexistent"), None).unwrap();
        let render = |toml: &str| {
            let pages = r.render(&policy(toml), SystemTime::now()).unwrap();
            String::from_utf8(pages.langs[0].html.to_vec()).unwrap()
        };
        let on = render("[maintenance]\nenabled = true\nretry_after = 600");
        assert!(
            on.contains("method:\"HEAD\"") && on.contains("var s=503,r=600"),
            "{on}"
        );
        let read_only = render("[maintenance]\nenabled = true\nread_only = true");
        assert!(!read_only.contains("location.reload"), "{read_only}");
        assert!(read_only.contains("rocket-maintenance-back"), "{read_only}");
        let off = render("[maintenance]\nenabled = true\nauto_return = false");
        assert!(!off.contains("location.reload"), "{off}");
    }
}

//! The fairing: its builder ([`Maintenance`]), and the `Fairing` impl that decides each request
//! and moves held-back ones to its own routes (`routes.rs`), which answer with `respond.rs`.

mod checks;
mod request;
mod respond;
mod routes;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::futures::future::BoxFuture;
use rocket::request::FromRequest;
use rocket::{Build, Data, Orbit, Request, Response, Rocket, Route};

use self::respond::maintenance_response;
use crate::engine::{ChangeHook, Engine};
use crate::handle::MaintenanceHandle;
use crate::load::FigmentSource;
use crate::notify;
use crate::page::HandlebarsHook;
use crate::policy::{is_safe, Rule, Verdict};
use crate::signals::{self, Slot};
use crate::snapshot::{moved_path, Snapshot, PRIVATE_PREFIX};
use crate::status::MaintenanceStatus;

/// The fairing's name, as Rocket prints it.
const FAIRING_NAME: &str = "Maintenance";

type ExemptGuard = Box<dyn for<'a> Fn(&'a Request<'_>) -> BoxFuture<'a, bool> + Send + Sync>;

/// Maintenance mode for a Rocket application: the fairing and its builder.
///
/// Attach it last (request fairings attached after it would see the rewritten URI of held-back
/// requests). See the [crate docs](crate) for the settings and the decision order.
///
/// ```no_run
/// # #[macro_use] extern crate rocket;
/// use rocket_maintenance::Maintenance;
///
/// #[get("/")] fn index() -> &'static str { "home" }
/// #[get("/status")] fn status() -> &'static str { "ok" }
///
/// #[launch]
/// fn rocket() -> _ {
///     rocket::build()
///         .mount("/", routes![index])
///         .attach(Maintenance::fairing().force_off("/", routes![status]))
/// }
/// ```
pub struct Maintenance {
    source: FigmentSource,
    force_off: Vec<(String, Vec<Route>)>,
    exempt: Vec<ExemptGuard>,
    on_change: Vec<ChangeHook>,
    handlebars: Option<HandlebarsHook>,
    slot: Result<Arc<Slot>, String>,
    engine: OnceLock<Arc<Engine>>,
    tls: AtomicBool,
    /// Settings that look meant for this crate but are not read, found at ignite.
    misspellings: OnceLock<Vec<String>>,
}

impl Maintenance {
    fn new(source: FigmentSource) -> Maintenance {
        Maintenance {
            source,
            force_off: Vec::new(),
            exempt: Vec::new(),
            on_change: Vec::new(),
            handlebars: None,
            slot: signals::install(),
            engine: OnceLock::new(),
            tls: AtomicBool::new(false),
            misspellings: OnceLock::new(),
        }
    }

    /// The fairing, with settings from the `maintenance` table of Rocket's own figment
    /// (`Rocket.toml` and `ROCKET_*` environment variables, profiles honoured). At each reload it
    /// re-reads `rocket::Config::figment()` with the profile chosen at start.
    ///
    /// Installs the `SIGHUP` handler now, before any fairing ignites.
    ///
    /// ```
    /// let rocket = rocket::build().attach(rocket_maintenance::Maintenance::fairing());
    /// ```
    pub fn fairing() -> Maintenance {
        Maintenance::new(FigmentSource::Rocket)
    }

    /// The fairing, with settings from `f()`: a whole Rocket-style figment, called at start and at
    /// every reload (for apps built with `rocket::custom`).
    ///
    /// ```
    /// use rocket::figment::providers::{Format, Toml};
    /// use rocket_maintenance::Maintenance;
    ///
    /// fn figment() -> rocket::figment::Figment {
    ///     rocket::Config::figment().merge(Toml::file("/etc/myapp/Rocket.toml").nested())
    /// }
    ///
    /// let rocket = rocket::custom(figment()).attach(Maintenance::custom(figment));
    /// ```
    pub fn custom<F>(f: F) -> Maintenance
    where
        F: Fn() -> figment::Figment + Send + Sync + 'static,
    {
        Maintenance::new(FigmentSource::Custom(Arc::new(f)))
    }

    /// Mounts `routes` at `base` and keeps them open during maintenance (Django's
    /// `@force_maintenance_mode_off`). Do not mount them again yourself.
    ///
    /// Only a request that Rocket's router sends to one of these routes reaches it; if the route
    /// forwards, the maintenance response answers, never another application route.
    ///
    /// ```
    /// # #[macro_use] extern crate rocket;
    /// #[get("/about")] fn about() -> &'static str { "about us" }
    ///
    /// let fairing = rocket_maintenance::Maintenance::fairing().force_off("/", routes![about]);
    /// ```
    pub fn force_off<R: Into<Vec<Route>>>(mut self, base: &str, routes: R) -> Maintenance {
        self.force_off.push((base.to_string(), routes.into()));
        self
    }

    /// Lets a request through when request guard `G` succeeds for it: reuse the app's own admin or
    /// staff guard (Django's ignore-staff). Checked last, after every other rule (see the decision
    /// order), and only for requests that would be held back.
    ///
    /// ```
    /// use rocket::request::{FromRequest, Outcome, Request};
    ///
    /// struct Staff;
    ///
    /// #[rocket::async_trait]
    /// impl<'r> FromRequest<'r> for Staff {
    ///     type Error = ();
    ///     async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
    ///         match req.headers().get_one("X-Staff-Token") {
    ///             Some("let-me-in") => Outcome::Success(Staff),
    ///             _ => Outcome::Forward(rocket::http::Status::Unauthorized),
    ///         }
    ///     }
    /// }
    ///
    /// let fairing = rocket_maintenance::Maintenance::fairing().exempt_when::<Staff>();
    /// ```
    pub fn exempt_when<G>(mut self) -> Maintenance
    where
        G: for<'r> FromRequest<'r> + Send + 'static,
    {
        self.exempt.push(Box::new(|req| {
            Box::pin(async move { req.guard::<G>().await.is_success() })
        }));
        self
    }

    /// Calls `f(old, new)` after each change of state: a reload that applied, a window edge.
    ///
    /// ```
    /// let fairing = rocket_maintenance::Maintenance::fairing().on_change(|old, new| {
    ///     if old.is_on() != new.is_on() {
    ///         eprintln!("maintenance is now {}", if new.is_on() { "on" } else { "off" });
    ///     }
    /// });
    /// ```
    pub fn on_change<F>(mut self, f: F) -> Maintenance
    where
        F: Fn(&MaintenanceStatus, &MaintenanceStatus) + Send + Sync + 'static,
    {
        self.on_change.push(Arc::new(f));
        self
    }

    /// Registers helpers (or anything else) on the handlebars registry that renders the page.
    ///
    /// ```
    /// use rocket_maintenance::handlebars::{handlebars_helper, Handlebars};
    ///
    /// handlebars_helper!(shout: |s: String| s.to_uppercase());
    ///
    /// let fairing = rocket_maintenance::Maintenance::fairing()
    ///     .handlebars(|hbs: &mut Handlebars<'static>| hbs.register_helper("shout", Box::new(shout)));
    /// ```
    pub fn handlebars<F>(mut self, f: F) -> Maintenance
    where
        F: Fn(&mut handlebars::Handlebars<'static>) + Send + Sync + 'static,
    {
        self.handlebars = Some(Arc::new(f));
        self
    }
}

#[rocket::async_trait]
impl Fairing for Maintenance {
    fn info(&self) -> Info {
        Info {
            name: FAIRING_NAME,
            kind: Kind::Ignite | Kind::Liftoff | Kind::Request | Kind::Response | Kind::Shutdown,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        if let Err(e) = &self.slot {
            tracing::error!("maintenance: {e}");
            return Err(rocket);
        }
        if rocket.state::<MaintenanceHandle>().is_some() {
            tracing::error!(
                "maintenance: `Maintenance` is attached twice; attach it once, last, with every \
                 `force_off` route on that one fairing"
            );
            return Err(rocket);
        }
        let config = rocket
            .figment()
            .extract::<rocket::Config>()
            .unwrap_or_default();
        #[cfg(unix)]
        if config.shutdown.signals.contains(&rocket::config::Sig::Hup) {
            tracing::error!(
                "maintenance: Rocket's `shutdown.signals` contains \"hup\", but SIGHUP reloads \
                 maintenance settings; remove \"hup\" from `shutdown.signals`"
            );
            return Err(rocket);
        }
        self.tls.store(config.tls_enabled(), Ordering::Relaxed);
        let figment = match &self.source {
            FigmentSource::Rocket => rocket.figment().clone(),
            FigmentSource::Custom(f) => f(),
        };
        let checked = match &self.source {
            FigmentSource::Rocket => checks::same_figment_as_rockets(&figment),
            FigmentSource::Custom(_) => Ok(()),
        }
        .and_then(|()| checks::force_off_not_mounted_twice(&rocket, &self.force_off));
        if let Err(e) = checked {
            tracing::error!("maintenance: {e}");
            return Err(rocket);
        }
        // Told at liftoff, from the figment read now (not read again).
        let _ = self.misspellings.set(checks::misspellings(&figment));

        let engine = match Engine::start(
            &figment,
            self.source.clone(),
            self.handlebars.clone(),
            self.on_change.clone(),
        ) {
            Ok(engine) => Arc::new(engine),
            Err(e) => {
                tracing::error!("maintenance: {e}");
                return Err(rocket);
            }
        };
        let plan = match self.plan_ranks(&rocket) {
            Ok(plan) => plan,
            Err(e) => {
                tracing::error!("maintenance: {e}");
                return Err(rocket);
            }
        };
        let rocket = self.mount_routes(rocket, &plan, &engine);
        // Fleet: read the record before the first request is served.
        #[cfg(feature = "fleet")]
        crate::engine::fleet::initial(&engine).await;
        let _ = self.engine.set(engine.clone());
        Ok(rocket.manage(MaintenanceHandle { engine }))
    }

    async fn on_liftoff(&self, rocket: &Rocket<Orbit>) {
        let (Some(engine), Ok(slot)) = (self.engine.get(), &self.slot) else {
            return;
        };
        // Publishing the live state and reading the status line take the engine's lock, which a
        // reload may hold: not on a worker.
        let status_line = {
            let engine = engine.clone();
            rocket::tokio::task::spawn_blocking(move || {
                engine.publish();
                engine.current_status_line()
            })
            .await
            .unwrap_or_default()
        };
        let pending = slot.arm(engine);
        let state = engine.current();
        notify::ready(&status_line);
        tracing::info!(
            "maintenance: {} ({}; config {}, profile {}, {} force_off route(s), {} exempt guard(s); \
             live state in {})",
            state.summary(),
            state.policy().rule_summary(),
            engine
                .config_path()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "none".into()),
            engine.profile(),
            self.force_off.iter().map(|(_, r)| r.len()).sum::<usize>(),
            self.exempt.len(),
            engine.live_path().display(),
        );
        if state.policy().has_bypass_secret()
            && rocket.config().log_level == rocket::config::LogLevel::Debug
        {
            tracing::warn!(
                "maintenance: log_level is \"debug\", at which Rocket prints raw requests: a \
                 request for the bypass path or with the bypass header shows the secret in the log"
            );
        }
        for warning in self.misspellings.get().into_iter().flatten() {
            tracing::warn!("maintenance: {warning}");
        }
        crate::schedule::spawn_window_scheduler(Arc::downgrade(engine));
        crate::schedule::spawn_live_ticker(Arc::downgrade(engine));
        if let (true, Some(config)) = (state.policy().watch, engine.config_path()) {
            crate::watch::spawn(Arc::downgrade(engine), config.to_path_buf());
        }
        crate::schedule::spawn_watchdog();
        #[cfg(feature = "fleet")]
        crate::engine::fleet::spawn(Arc::downgrade(engine));
        if pending {
            let engine = engine.clone();
            rocket::tokio::task::spawn_blocking(move || {
                let _ = engine.reload(crate::engine::Trigger::Signal);
            });
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _data: &mut Data<'_>) {
        let Some(engine) = self.engine.get() else {
            return;
        };
        // Off with nothing to look for (no bypass secret, no probe path), a read passes on one
        // atomic load, unless it is for the private prefixes (see `keeps_nothing`).
        let safe = is_safe(req.method());
        if safe
            && engine.reads_pass.load(Ordering::Relaxed)
            && !req.uri().path().as_str().starts_with(PRIVATE_PREFIX)
        {
            return;
        }
        let (verdict, has_secret) = {
            let req: &Request<'_> = req;
            let (verdict, has_secret, snapshot) = {
                let live = engine.live.load();
                let verdict = self.decide(engine, &live, req);
                let has_secret = live.policy().has_bypass_secret();
                if self.keeps_nothing(req, &live, verdict) {
                    (verdict, has_secret, None)
                } else {
                    // Kept for the guards and the answer: the decision is the snapshot's (one
                    // taken earlier, by another fairing's guard, wins; decided again if it is
                    // not the state just decided on).
                    let snapshot = Snapshot::take(req, engine);
                    let verdict = if Arc::ptr_eq(&snapshot.state, &live) {
                        verdict
                    } else {
                        self.decide(engine, &snapshot.state, req)
                    };
                    let has_secret = has_secret || snapshot.state.policy().has_bypass_secret();
                    (verdict, has_secret, Some(snapshot))
                }
            };
            let mut verdict = verdict;
            if let Some(snapshot) = snapshot {
                // 8. `exempt_when` guards: the only step that awaits, boxed apart so that the
                // future Rocket boxes for every request stays small.
                if matches!(verdict, Verdict::Hold { .. }) && !self.exempt.is_empty() {
                    let exempt = Box::pin(async {
                        for exempt in &self.exempt {
                            if exempt(req).await {
                                return true;
                            }
                        }
                        false
                    });
                    if exempt.await {
                        verdict = Verdict::PassBy(Rule::Exempt);
                    }
                }
                self.record(snapshot, req, verdict);
            }
            (verdict, has_secret)
        };
        request::route(req, verdict, has_secret);
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        // Off, a read that did not answer with the maintenance status leaves no work here (one
        // atomic load). Otherwise: a failed `ForceOn` guard's answer is replaced, a write is
        // marked done (the drain), and while on the request is counted.
        let Some(engine) = self.engine.get() else {
            return;
        };
        let maintenance_status = res.status().code == engine.status_code.load(Ordering::Relaxed);
        let active = engine.active.load(Ordering::Relaxed);
        let safe = is_safe(req.method());
        if !active && !maintenance_status && safe {
            return;
        }
        let ours = req
            .route()
            .and_then(|r| r.name.as_deref())
            .is_some_and(|name| name.starts_with("rocket_maintenance::"));
        // A held-back request was moved under the open prefix: answered there by the fairing
        // (which counted it) or by a `force_off` copy (let through), counted here on the state in
        // force, with no look-up of the request's snapshot.
        if active && !ours && moved_path(req.uri().path().as_str()).is_some() {
            engine.live.load().counts.passed(Rule::ForceOff);
        }
        if safe && (!maintenance_status || ours) {
            return;
        }
        let snapshot = Snapshot::take(req, engine);
        if snapshot.write_admitted.swap(false, Ordering::Relaxed) {
            snapshot.state.counts.write_done();
        }
        if !maintenance_status || ours {
            return;
        }
        if snapshot.forced_on.load(Ordering::Relaxed) {
            let state = &snapshot.state;
            let facts = self.facts(req, None);
            let redirect = state.policy().redirect_applies(&facts);
            *res = maintenance_response(req, None, state, redirect);
        }
    }

    async fn on_shutdown(&self, _rocket: &Rocket<Orbit>) {
        notify::stopping();
        if let Some(engine) = self.engine.get() {
            let remover = engine.clone();
            let _ = rocket::tokio::task::spawn_blocking(move || remover.remove_live_file()).await;
            #[cfg(feature = "fleet")]
            crate::engine::fleet::shutdown(engine).await;
        }
    }
}

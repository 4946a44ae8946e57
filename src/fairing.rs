//! The fairing: decides each request, and routes held-back requests to its own answer.
//!
//! Rocket fairings cannot answer a request, so at ignite the fairing mounts, under two private
//! prefixes and at ranks ahead of every application route:
//!
//! - `OPEN_PREFIX`: copies of the `force_off` routes (gated: they only serve held-back requests)
//!   and, behind them, a catch-all for every method that gives the maintenance response;
//! - `ANSWER_PREFIX`: a catch-all that gives the maintenance response or the bypass redirect.
//!
//! In `on_request` a held-back request is moved under `OPEN_PREFIX`, so Rocket's own router picks
//! a `force_off` route or the catch-all, and nothing else. A request to the bypass path is moved to
//! `ANSWER_PREFIX`, where no application route can see it.

use std::io::Cursor;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::futures::future::BoxFuture;
use rocket::http::uri::Origin;
use rocket::http::{ContentType, Cookie, Header, Method, SameSite, Status};
use rocket::request::FromRequest;
use rocket::route::{Handler, Outcome};
use rocket::{Build, Data, Orbit, Request, Response, Rocket, Route};

use crate::bypass::{COOKIE_LIFETIME, COOKIE_NAME, HEADER_NAME};
use crate::engine::{ChangeHook, Engine, FigmentSource};
use crate::handle::MaintenanceHandle;
use crate::negotiate::{negotiate, Representation};
use crate::notify;
use crate::page::HandlebarsHook;
use crate::policy::{RequestFacts, Verdict};
use crate::signals::{self, Slot};
use crate::state::{MaintenanceStatus, State};

/// Where held-back requests go: `force_off` copies and the maintenance catch-all.
pub(crate) const OPEN_PREFIX: &str = "/__rocket_maintenance_open";
/// Where the bypass path goes: the answer catch-all alone.
pub(crate) const ANSWER_PREFIX: &str = "/__rocket_maintenance_answer";

/// The fairing's name, as Rocket prints it.
pub const FAIRING_NAME: &str = "Maintenance";

type ExemptGuard = Box<dyn for<'a> Fn(&'a Request<'_>) -> BoxFuture<'a, bool> + Send + Sync>;

/// The per-request snapshot: the state the decision was made on, and the decision.
///
/// Whoever asks first (a guard run by an earlier fairing, or `on_request`) fixes the state; only
/// `on_request` sets the verdict, so nothing that runs before it can make a held-back request
/// look like one that passed.
pub(crate) struct Snapshot {
    pub state: Arc<State>,
    verdict: OnceLock<Verdict>,
    /// Set by the `ForceOn` guard: `on_response` replaces the catcher's answer.
    pub forced_on: AtomicBool,
}

impl Snapshot {
    /// The request's snapshot (taken now, from the live state, if no one took it yet).
    pub fn of<'r>(req: &'r Request<'_>) -> Option<&'r Snapshot> {
        let handle = req.rocket().state::<MaintenanceHandle>()?;
        Some(req.local_cache(|| Snapshot {
            state: handle.engine.current(),
            verdict: OnceLock::new(),
            forced_on: AtomicBool::new(false),
        }))
    }

    /// The decision `on_request` made (a request it did not see passed).
    pub fn verdict(&self) -> Verdict {
        self.verdict.get().copied().unwrap_or(Verdict::Pass)
    }
}

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

    /// Where maintenance routes go: ranks ahead of every route mounted so far.
    fn plan_ranks(&self, rocket: &Rocket<Build>) -> Result<RankPlan, String> {
        let fo_ranks = || {
            self.force_off
                .iter()
                .flat_map(|(_, rs)| rs.iter().map(|r| r.rank as i128))
        };
        let min_rank = rocket
            .routes()
            .map(|r| r.rank as i128)
            .chain(fo_ranks())
            .min()
            .unwrap_or(0);
        let max_fo = fo_ranks().max().unwrap_or(0);
        let span = max_fo - fo_ranks().min().unwrap_or(0) + 1;
        let plan = RankPlan {
            catch_all: min_rank - 1,
            max_fo,
            span,
        };
        // Check the extremes fit in `isize` once, so that mounting cannot fail.
        let lowest = plan.copy_rank(fo_ranks().min().unwrap_or(0) as isize);
        match (isize::try_from(plan.catch_all), isize::try_from(lowest)) {
            (Ok(_), Ok(_)) => Ok(plan),
            _ => {
                Err("route ranks are too extreme to place maintenance routes ahead of them".into())
            }
        }
    }

    /// Mounts the `force_off` routes, their gated copies and the catch-alls.
    fn mount_routes(&self, mut rocket: Rocket<Build>, plan: &RankPlan) -> Rocket<Build> {
        let rank = |r: i128| r as isize;
        for (base, routes) in &self.force_off {
            rocket = rocket.mount(base.as_str(), routes.clone());
            let open_base = if base == "/" {
                OPEN_PREFIX.to_string()
            } else {
                format!("{OPEN_PREFIX}{base}")
            };
            let mut copies = Vec::new();
            for route in routes {
                let mut copy = route.clone();
                copy.rank = rank(plan.copy_rank(route.rank));
                copy.handler = Box::new(Gate(route.handler.clone()));
                copies.push(copy);
                let explicit_head = routes.iter().any(|r| {
                    r.method == Method::Head && r.uri.to_string() == route.uri.to_string()
                });
                if route.method == Method::Get && !explicit_head {
                    // Rocket answers HEAD with a GET route only when no HEAD route matches; the
                    // HEAD catch-all would match, so the GET route gets a HEAD twin ahead of it.
                    let mut twin = route.clone();
                    twin.method = Method::Head;
                    twin.rank = rank(plan.head_rank(route.rank));
                    twin.handler = Box::new(Gate(route.handler.clone()));
                    copies.push(twin);
                }
            }
            rocket = rocket.mount(open_base, copies);
        }
        let methods = [
            Method::Get,
            Method::Head,
            Method::Post,
            Method::Put,
            Method::Patch,
            Method::Delete,
            Method::Options,
            Method::Trace,
            Method::Connect,
        ];
        let catch_alls = |name: &'static str| -> Vec<Route> {
            methods
                .iter()
                .map(|m| {
                    let mut r = Route::ranked(rank(plan.catch_all), *m, "/<_..>", Answer);
                    r.name = Some(name.into());
                    r
                })
                .collect()
        };
        rocket
            .mount(OPEN_PREFIX, catch_alls("rocket_maintenance::held_back"))
            .mount(ANSWER_PREFIX, catch_alls("rocket_maintenance::answer"))
    }
}

/// Ranks, lowest (tried first) to highest: `force_off` copies, HEAD twins of `force_off` GET
/// routes, the catch-alls; all ahead of every application route, relative order kept.
struct RankPlan {
    catch_all: i128,
    max_fo: i128,
    span: i128,
}

impl RankPlan {
    fn head_rank(&self, r: isize) -> i128 {
        self.catch_all - 1 - (self.max_fo - r as i128)
    }

    fn copy_rank(&self, r: isize) -> i128 {
        self.head_rank(r) - self.span
    }
}

/// Wraps a `force_off` copy: it serves only requests the fairing held back.
#[derive(Clone)]
struct Gate(Box<dyn Handler>);

#[rocket::async_trait]
impl Handler for Gate {
    async fn handle<'r>(&self, req: &'r Request<'_>, data: Data<'r>) -> Outcome<'r> {
        match Snapshot::of(req).map(Snapshot::verdict) {
            Some(Verdict::Hold { .. }) => self.0.handle(req, data).await,
            _ => Outcome::forward(data, Status::NotFound),
        }
    }
}

/// The catch-all: answers held-back requests and the bypass path; forwards anything else.
#[derive(Clone)]
struct Answer;

#[rocket::async_trait]
impl Handler for Answer {
    async fn handle<'r>(&self, req: &'r Request<'_>, data: Data<'r>) -> Outcome<'r> {
        let Some(snapshot) = Snapshot::of(req) else {
            return Outcome::forward(data, Status::NotFound);
        };
        match snapshot.verdict() {
            Verdict::Hold { redirect } => {
                Outcome::Success(maintenance_response(req, &snapshot.state, redirect))
            }
            Verdict::Login { secure } => Outcome::Success(login_response(&snapshot.state, secure)),
            _ => Outcome::forward(data, Status::NotFound),
        }
    }
}

/// The maintenance response: status, headers and the pre-rendered body, shared, never copied.
pub(crate) fn maintenance_response<'r>(
    req: &'r Request<'_>,
    state: &'r State,
    redirect: bool,
) -> Response<'r> {
    let pages = &state.pages;
    let representation = negotiate(state.policy().format, req.accept());
    let mut response = Response::build();
    response
        .raw_header("Cache-Control", "no-store")
        .raw_header("Vary", "Accept");
    if let Some(retry_after) = &pages.retry_after {
        response.raw_header("Retry-After", retry_after.as_str());
    }
    if let (true, Some(url), false) = (
        redirect,
        &pages.redirect,
        representation == Representation::Json,
    ) {
        return response
            .status(Status::Found)
            .raw_header("Location", url.as_str())
            .finalize();
    }
    let (content_type, body) = match representation {
        Representation::Html => {
            if let Some(refresh) = &pages.refresh {
                response.raw_header("Refresh", refresh.as_str());
            }
            (ContentType::HTML, &pages.html)
        }
        Representation::Json => (ContentType::new("application", "problem+json"), &pages.json),
        Representation::Text => (ContentType::Plain, &pages.text),
    };
    response
        .status(Status::new(pages.status))
        .header(content_type)
        .sized_body(body.len(), Cursor::new(body.clone()))
        .finalize()
}

/// The bypass path's answer: the cookie, and a redirect to `/`.
fn login_response<'r>(state: &State, secure: bool) -> Response<'r> {
    let mut response = Response::build();
    response
        .status(Status::Found)
        .raw_header("Location", "/")
        .raw_header("Cache-Control", "no-store");
    if let Some(bypass) = state.policy().bypass() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let cookie = Cookie::build((COOKIE_NAME, bypass.cookie_value(now)))
            .path("/")
            .max_age(rocket::time::Duration::seconds(
                COOKIE_LIFETIME.as_secs() as i64
            ))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(secure)
            .build();
        response.header(Header::new("Set-Cookie", cookie.to_string()));
    }
    response.finalize()
}

/// Moves the request under `prefix`, keeping its path and query.
fn move_under(req: &mut Request<'_>, prefix: &'static str) {
    let uri = req.uri();
    let path = uri.path().as_str();
    let mut target =
        String::with_capacity(prefix.len() + path.len() + 1 + uri.query().map_or(0, |q| q.len()));
    target.push_str(prefix);
    if path != "/" {
        target.push_str(path);
    }
    if let Some(query) = uri.query() {
        target.push('?');
        target.push_str(query.as_str());
    }
    let rewritten = Origin::parse_owned(target).unwrap_or_else(|_| Origin::const_new(prefix, None));
    req.set_uri(rewritten);
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
        let rocket = self.mount_routes(rocket, &plan);
        // Fleet: read the record before the first request is served.
        #[cfg(feature = "fleet")]
        crate::fleet::initial(&engine).await;
        let _ = self.engine.set(engine.clone());
        Ok(rocket.manage(MaintenanceHandle { engine }))
    }

    async fn on_liftoff(&self, rocket: &Rocket<Orbit>) {
        let (Some(engine), Ok(slot)) = (self.engine.get(), &self.slot) else {
            return;
        };
        let pending = slot.arm(engine);
        let state = engine.current();
        notify::ready(&engine.current_status_line());
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
        crate::schedule::spawn_window_scheduler(Arc::downgrade(engine));
        crate::schedule::spawn_watchdog();
        #[cfg(feature = "fleet")]
        crate::fleet::spawn(Arc::downgrade(engine));
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
        let Some(snapshot) = Snapshot::of(req) else {
            return;
        };
        let state = &snapshot.state;
        let active = state.active.is_some();
        let facts = RequestFacts {
            method: req.method(),
            uri: req.uri(),
            peer: req.remote().map(|a| a.ip()),
            headers: req.headers(),
            bypass_cookie: req.cookies().get(COOKIE_NAME).map(|c| c.value()),
            tls: self.tls.load(Ordering::Relaxed),
        };
        let now = if active { engine.unix_now() } else { 0 };
        let mut verdict = state.policy().decide(active, &facts, now);
        if let Verdict::Hold { .. } = verdict {
            for exempt in &self.exempt {
                if exempt(req).await {
                    verdict = Verdict::Pass;
                    break;
                }
            }
        }
        let _ = snapshot.verdict.set(verdict);
        // The secret in the bypass header never reaches the app, whatever the verdict. (Rocket
        // can replace a header but not remove one: it is left empty.)
        if state.policy().has_bypass_secret() && req.headers().contains(HEADER_NAME) {
            req.replace_header(Header::new(HEADER_NAME, ""));
        }
        match verdict {
            Verdict::Pass | Verdict::PassWithBypassHeader => {}
            Verdict::Login { .. } => req.set_uri(Origin::const_new(ANSWER_PREFIX, None)),
            Verdict::Hold { .. } => move_under(req, OPEN_PREFIX),
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let Some(snapshot) = Snapshot::of(req) else {
            return;
        };
        if snapshot.forced_on.load(Ordering::Relaxed) {
            let state = &snapshot.state;
            let redirect = state
                .policy()
                .redirect
                .as_deref()
                .is_some_and(|target| target != req.uri().path().as_str());
            *res = maintenance_response(req, state, redirect);
        }
    }

    async fn on_shutdown(&self, _rocket: &Rocket<Orbit>) {
        notify::stopping();
        if let Some(engine) = self.engine.get() {
            engine.remove_live_file();
            #[cfg(feature = "fleet")]
            crate::fleet::shutdown(engine).await;
        }
    }
}

//! `rocket-maintenance`: flip maintenance mode of a Rocket service in place, and wait until the
//! running service has applied it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use rocket_maintenance::control::{generate_secret, parse_duration, Configured};
use rocket_maintenance_cli::commands::{self, on_off, Target};
use rocket_maintenance_cli::edit::Change;
use rocket_maintenance_cli::service::Service;
use rocket_maintenance_cli::Error;

/// Flip maintenance mode of a Rocket service (rocket_maintenance) in place.
#[derive(Parser)]
#[command(name = "rocket-maintenance", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Turn maintenance on: edit the config, then reload the service and wait for it.
    On(OnArgs),
    /// Turn maintenance off (also ends a window that is active now).
    Off(OffArgs),
    /// Print `maintenance: on|off` (the configured state), then details and the live state.
    Status(StatusArgs),
    /// Ask the service to reload its settings, and wait until it has (edits nothing).
    Reload(ReloadArgs),
}

#[derive(Args)]
struct Where {
    /// The config file [default: the service's, else $ROCKET_CONFIG, else ./Rocket.toml].
    #[arg(long)]
    config: Option<PathBuf>,
    /// The profile [default: the service's, else $ROCKET_PROFILE, else `default`].
    #[arg(long)]
    profile: Option<String>,
    #[command(flatten)]
    service: ServiceArgs,
}

/// The fleet store (cargo feature `fleet`): with --store, `on`/`off`/`status` act on every
/// instance through the store instead of a file.
#[derive(Args, Default)]
struct FleetArgs {
    /// The store: redis://host:6379/0, rediss://…, redis+unix:///path (never a password).
    #[cfg(feature = "fleet")]
    #[arg(long, requires = "namespace")]
    store: Option<String>,
    /// The namespace the app's instances use.
    #[cfg(feature = "fleet")]
    #[arg(long)]
    namespace: Option<String>,
    /// A file holding the store password (a trailing newline is stripped).
    #[cfg(feature = "fleet")]
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Write the record and return, without waiting for the instances.
    #[cfg(feature = "fleet")]
    #[arg(long)]
    no_wait: bool,
}

#[derive(Args)]
#[group(multiple = false)]
struct ServiceArgs {
    /// The service's process id: send it SIGHUP and wait until it has applied the change.
    #[arg(long)]
    pid: Option<u32>,
    /// The systemd unit: `systemctl reload` it and wait until it has applied the change.
    #[arg(long)]
    unit: Option<String>,
}

#[derive(Args)]
struct OnArgs {
    #[command(flatten)]
    at: Where,
    #[command(flatten)]
    fleet: FleetArgs,
    /// The message shown on the page.
    #[arg(long)]
    message: Option<String>,
    /// When to come back: seconds, a duration (`15m`, `1h 30m`) or an RFC 3339 time.
    #[arg(long)]
    retry_after: Option<String>,
    /// Read-only maintenance: reads pass, writes get the maintenance response.
    #[arg(long)]
    read_only: bool,
    /// The response status (400-599).
    #[arg(long)]
    status: Option<u16>,
    /// Redirect held-back requests to this path or URL.
    #[arg(long)]
    redirect: Option<String>,
    /// A `Refresh` header on the page, in seconds.
    #[arg(long)]
    refresh: Option<u32>,
    /// Start of a scheduled window (RFC 3339); with --starts-at, `enabled` stays false.
    #[arg(long)]
    starts_at: Option<String>,
    /// End of the window (RFC 3339).
    #[arg(long)]
    ends_at: Option<String>,
    /// End maintenance on its own after this long (`30m`, `2h`): a window from now.
    #[arg(long = "for", value_name = "DUR", value_parser = parse_duration)]
    for_: Option<Duration>,
    /// End maintenance on its own at this RFC 3339 time: a window from now.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Generate a bypass secret, store it, and print it once.
    #[arg(long)]
    with_secret: bool,
    /// Why (shown to operators: the log, the journal, `status`; never to visitors).
    #[arg(long)]
    reason: Option<String>,
    /// Return only once no write admitted before is still running ("safe to migrate").
    #[arg(long)]
    drain: bool,
    /// Bound every wait.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
}

#[derive(Args)]
struct OffArgs {
    #[command(flatten)]
    at: Where,
    #[command(flatten)]
    fleet: FleetArgs,
    /// Also remove a window planned for later (plain `off` ends only one active now).
    #[arg(long)]
    all: bool,
    /// Why (shown to operators only).
    #[arg(long)]
    reason: Option<String>,
    /// Bound every wait.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
}

#[derive(Args)]
struct StatusArgs {
    #[command(flatten)]
    at: Where,
    #[command(flatten)]
    fleet: FleetArgs,
    /// Print JSON: `{"configured": …, "live": …}`.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ReloadArgs {
    #[command(flatten)]
    service: ServiceArgs,
    /// Bound the wait.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
}

impl ServiceArgs {
    fn service(&self) -> Option<Service> {
        match (&self.pid, &self.unit) {
            (Some(pid), _) => Some(Service::Pid(*pid)),
            (_, Some(unit)) => Some(Service::Unit(unit.clone())),
            _ => None,
        }
    }
}

fn resolve(at: &Where) -> Result<Target, Error> {
    commands::resolve(at.config.clone(), at.profile.clone(), at.service.service())
}

/// Edits, reloads and prints what happened.
fn switch(
    t: &Target,
    change: Change,
    timeout: Duration,
    want_on: Option<bool>,
) -> Result<(), Error> {
    let report = commands::edit(t, &change, timeout)?;
    for line in &report.changes {
        println!("{}: {line}", report.path.display());
    }
    // Stored now: show it now, whatever the reload says next.
    if let Some(secret) = &change.bypass_secret {
        println!("bypass secret (shown once): {secret}");
        println!("open https://<your-host>/{secret} to get the bypass cookie");
    }
    match commands::reload(t, &report, timeout, want_on)? {
        None => println!(
            "maintenance: {} (configured; no --pid/--unit given, so no service was reloaded)",
            on_off(report.effective.on)
        ),
        Some(live) => println!(
            "maintenance: {} (live, generation {}: {})",
            on_off(live.on),
            live.generation,
            live.status
        ),
    }
    Ok(())
}

#[cfg(feature = "fleet")]
mod fleet_cli {
    use super::*;
    use rocket_maintenance::control::fleet::{self, FleetConfig, Switch};

    fn runtime() -> Result<tokio::runtime::Runtime, Error> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("starting a runtime", e))
    }

    fn config(f: &FleetArgs) -> Result<Option<FleetConfig>, Error> {
        let (Some(store), Some(namespace)) = (&f.store, &f.namespace) else {
            return Ok(None);
        };
        FleetConfig::new(
            store,
            namespace,
            f.password_file.as_deref(),
            fleet::DEFAULT_POLL,
            fleet::DEFAULT_TIMEOUT,
        )
        .map(Some)
        .map_err(Error::from)
    }

    /// `on`/`off` through the store; `None` when no --store was given.
    pub fn switch(
        f: &FleetArgs,
        switch: Switch,
        timeout: Duration,
        drain: bool,
    ) -> Result<Option<()>, Error> {
        let Some(config) = config(f)? else {
            return Ok(None);
        };
        let wait = (!f.no_wait).then_some(timeout);
        let on = switch.is_on()?;
        let report = runtime()?.block_on(fleet::switch(
            &config,
            &switch,
            &commands::changed_by(),
            wait,
            drain,
        ))?;
        println!(
            "maintenance: {} (fleet `{}`, generation {}{})",
            on_off(on),
            config.namespace,
            report.generation,
            if wait.is_some() {
                format!(
                    ", applied{} by {} instance(s) in {} ms",
                    if drain { " and drained" } else { "" },
                    report.applied.len(),
                    report.took.as_millis()
                )
            } else {
                ", not waiting".into()
            }
        );
        Ok(Some(()))
    }

    /// `status` through the store.
    pub fn status(f: &FleetArgs, json: bool) -> Result<Option<()>, Error> {
        let Some(config) = config(f)? else {
            return Ok(None);
        };
        let (record, instances) = runtime()?.block_on(fleet::status(&config))?;
        let on = match &record {
            Some(r) => r.switch.is_on()?,
            None => false,
        };
        if json {
            let doc = serde_json::json!({ "on": on, "record": record, "instances": instances });
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            return Ok(Some(()));
        }
        println!("maintenance: {}", on_off(on));
        match &record {
            Some(r) => println!(
                "record: generation {}, set by {} at {}: {}",
                r.generation,
                r.set_by,
                r.set_at,
                serde_json::to_string(&r.switch).unwrap_or_default()
            ),
            None => println!("record: none (each instance's file decides)"),
        }
        println!("instances: {}", instances.len());
        for (id, beat) in instances {
            println!(
                "  {id}: generation {}, maintenance {}",
                beat.generation,
                on_off(beat.on)
            );
        }
        Ok(Some(()))
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        #[cfg(feature = "fleet")]
        Command::On(a) if a.fleet.store.is_some() => {
            let window = commands::window(a.for_, a.until.as_deref(), a.starts_at, a.ends_at)?;
            let switch = rocket_maintenance::control::fleet::Switch {
                enabled: !window.scheduled,
                message: a.message,
                retry_after: a.retry_after,
                read_only: a.read_only,
                starts_at: window.starts_at,
                ends_at: window.ends_at.clone(),
                reason: a.reason,
            };
            fleet_cli::switch(&a.fleet, switch, a.timeout, a.drain).map(|_| {
                if let (true, Some(end)) = (window.expires, &window.ends_at) {
                    println!("maintenance ends on its own at {end}");
                }
            })
        }
        #[cfg(feature = "fleet")]
        Command::Off(a) if a.fleet.store.is_some() => {
            let switch = rocket_maintenance::control::fleet::Switch {
                reason: a.reason,
                ..Default::default()
            };
            fleet_cli::switch(&a.fleet, switch, a.timeout, false).map(|_| ())
        }
        #[cfg(feature = "fleet")]
        Command::Status(a) if a.fleet.store.is_some() => {
            fleet_cli::status(&a.fleet, a.json).map(|_| ())
        }
        Command::On(a) => {
            let window = commands::window(a.for_, a.until.as_deref(), a.starts_at, a.ends_at)?;
            if a.drain && a.at.service.service().is_none() {
                return Err(Error::Usage(
                    "--drain waits for a running service: give --pid PID or --unit UNIT (or \
                     --store for a fleet)"
                        .into(),
                ));
            }
            let secret = a
                .with_secret
                .then(generate_secret)
                .transpose()
                .map_err(|e| Error::io("generating a secret", e))?;
            let t = resolve(&a.at)?;
            let change = Change {
                message: a.message,
                retry_after: a.retry_after,
                status: a.status,
                redirect: a.redirect,
                refresh: a.refresh,
                starts_at: window.starts_at,
                ends_at: window.ends_at.clone(),
                bypass_secret: secret,
                ..Change::default()
            };
            let mut change = commands::on_change(&t, change, a.read_only);
            if window.expires {
                change.enabled = Some(false);
            }
            commands::audit(&mut change, a.reason);
            switch(&t, change, a.timeout, (!window.scheduled).then_some(true))?;
            if let (true, Some(end)) = (window.expires, &window.ends_at) {
                println!("maintenance ends on its own at {end}");
            }
            if a.drain {
                let started = std::time::Instant::now();
                commands::drain(&t, a.timeout)?;
                println!(
                    "drained: no write admitted before is still running (waited {} ms)",
                    started.elapsed().as_millis()
                );
            }
            Ok(())
        }
        Command::Off(a) => {
            let t = resolve(&a.at)?;
            let (mut change, note) = commands::off_change(&t, a.all)?;
            commands::audit(&mut change, a.reason);
            if let Some(note) = note {
                println!("{note}");
            }
            switch(&t, change, a.timeout, Some(false))
        }
        Command::Status(a) => {
            let r = resolve(&a.at)?;
            let conf = r.configured()?;
            if a.json {
                let doc = serde_json::json!({ "configured": conf, "config": r.config, "profile": r.profile, "live": r.live });
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
                return Ok(());
            }
            print_status(&conf, &r);
            Ok(())
        }
        Command::Reload(a) => {
            let service = a
                .service
                .service()
                .ok_or_else(|| Error::Usage("reload needs --pid PID or --unit UNIT".into()))?;
            let live = service.reload_and_wait(a.timeout)?;
            println!("reloaded: generation {}: {}", live.generation, live.status);
            Ok(())
        }
    }
}

fn print_status(conf: &Configured, r: &Target) {
    // With a service, the headline is the state it is in; the file's comes after when it differs.
    match &r.live {
        Some(live) => {
            println!("maintenance: {}", on_off(live.on));
            if live.on != conf.on {
                println!(
                    "configured: {} in {}, but the service is {} (why: {}): something else \
                     decides, e.g. ROCKET_MAINTENANCE in its environment, a fleet record, or an \
                     edit not reloaded yet",
                    on_off(conf.on),
                    r.config.display(),
                    on_off(live.on),
                    live.why.as_deref().unwrap_or("none")
                );
            }
        }
        None => {
            println!("maintenance: {}", on_off(conf.on));
            println!("(as configured: no --pid/--unit given, so no service was asked)");
        }
    }
    println!("config: {} (profile {})", r.config.display(), r.profile);
    println!("enabled: {}", conf.enabled);
    println!("read_only: {}", conf.read_only);
    println!("message: {}", conf.message);
    if conf.starts_at.is_some() || conf.ends_at.is_some() {
        println!(
            "window: {} to {}{}",
            conf.starts_at.as_deref().unwrap_or("-"),
            conf.ends_at.as_deref().unwrap_or("-"),
            if conf.window_active {
                " (active now)"
            } else if conf.window_planned {
                " (planned)"
            } else {
                ""
            }
        );
    }
    println!(
        "bypass secret: {}",
        if conf.has_bypass_secret {
            "set"
        } else {
            "none"
        }
    );
    if let Some(live) = &r.live {
        println!(
            "live: {} (pid {}, generation {}, profile {}): {}",
            on_off(live.on),
            live.pid,
            live.generation,
            live.profile,
            live.status
        );
        if let Some(e) = &live.last_error {
            println!("last reload failed: {e}");
        }
        if live.on {
            println!(
                "{}{}",
                live.counts.summary(),
                live.since
                    .as_deref()
                    .map(|s| format!(" since {s}"))
                    .unwrap_or_default()
            );
        }
        if !live.drained {
            println!(
                "writes admitted before the last change still running: {}",
                live.writes_in_flight
            );
        }
        if live.over_warn_after {
            println!("warning: on for longer than warn_after");
        }
        if let Some(by) = &live.changed_by {
            println!(
                "changed by {by}{}{}",
                live.changed_at
                    .as_deref()
                    .map(|a| format!(" at {a}"))
                    .unwrap_or_default(),
                live.reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            );
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rocket-maintenance: {e}");
            ExitCode::FAILURE
        }
    }
}

//! `rocket-maintenance`: flip maintenance mode of a Rocket service in place, and wait until the
//! running service has applied it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use rocket_maintenance::live_file::LiveState;
use rocket_maintenance::operator::{configured, edit_config, Change, Configured, Service};
use rocket_maintenance::{generate_secret, parse_duration, Error};

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
    /// Generate a bypass secret, store it, and print it once.
    #[arg(long)]
    with_secret: bool,
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

/// Where to edit: the service's own config and profile when it is named.
struct Resolved {
    config: PathBuf,
    profile: String,
    service: Option<Service>,
    live: Option<LiveState>,
}

impl Resolved {
    /// The service's template directory, when the service is known.
    fn template_dir(&self) -> Option<&std::path::Path> {
        self.live.as_ref().map(|l| l.template_dir.as_path())
    }
}

fn resolve(at: &Where) -> Result<Resolved, Error> {
    let service = at.service.service();
    let live = service.as_ref().map(Service::live_state).transpose()?;
    let config = match (&at.config, &live) {
        (Some(c), _) => c.clone(),
        (None, Some(live)) => live.config_path.clone().ok_or_else(|| {
            Error::Other("the service read no config file; pass --config PATH".into())
        })?,
        (None, None) => std::env::var_os("ROCKET_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("Rocket.toml")),
    };
    let profile = match (&at.profile, &live) {
        (Some(p), _) => p.clone(),
        (None, Some(live)) => live.profile.clone(),
        (None, None) => std::env::var("ROCKET_PROFILE").unwrap_or_else(|_| "default".into()),
    };
    Ok(Resolved {
        config,
        profile,
        service,
        live,
    })
}

/// Edits the file, then reloads the service and checks it shows `want_on` (not checked for a
/// scheduled window: `None`).
fn switch(
    r: Resolved,
    change: Change,
    timeout: Duration,
    want_on: Option<bool>,
) -> Result<(), Error> {
    let report = edit_config(&r.config, &r.profile, r.template_dir(), &change, timeout)?;
    for line in &report.changes {
        println!("{}: {line}", report.path.display());
    }
    // Stored now: show it now, whatever the reload says next.
    if let Some(secret) = &change.bypass_secret {
        println!("bypass secret (shown once): {secret}");
        println!("open https://<your-host>/{secret} to get the bypass cookie");
    }
    let Some(service) = r.service else {
        println!(
            "maintenance: {} (configured; no --pid/--unit given, so no service was reloaded)",
            on_off(report.effective.on)
        );
        return Ok(());
    };
    let live = service.reload_and_wait(timeout)?;
    if want_on.is_some_and(|want| live.on != want) {
        return Err(Error::Other(format!(
            "the service applied the reload but reports maintenance {} (why: {}): something other \
             than {} overrides it, e.g. ROCKET_MAINTENANCE in the service's environment",
            on_off(live.on),
            live.why.as_deref().unwrap_or("none"),
            report.path.display()
        )));
    }
    println!(
        "maintenance: {} (live, generation {}: {})",
        on_off(live.on),
        live.generation,
        live.status
    );
    Ok(())
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

#[cfg(feature = "fleet")]
mod fleet_cli {
    use super::*;
    use rocket_maintenance::fleet::{self, FleetConfig, Switch};

    fn runtime() -> Result<rocket::tokio::runtime::Runtime, Error> {
        rocket::tokio::runtime::Builder::new_current_thread()
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
    }

    fn who() -> String {
        let user = std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "unknown".into());
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        format!("{user}@{}", host.trim())
    }

    /// `on`/`off` through the store; `None` when no --store was given.
    pub fn switch(f: &FleetArgs, switch: Switch, timeout: Duration) -> Result<Option<()>, Error> {
        let Some(config) = config(f)? else {
            return Ok(None);
        };
        let wait = (!f.no_wait).then_some(timeout);
        let on = switch.is_on()?;
        let report = runtime()?.block_on(fleet::switch(&config, &switch, &who(), wait))?;
        println!(
            "maintenance: {} (fleet `{}`, generation {}{})",
            on_off(on),
            config.namespace,
            report.generation,
            if wait.is_some() {
                format!(
                    ", applied by {} instance(s) in {} ms",
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
            let switch = rocket_maintenance::fleet::Switch {
                enabled: a.starts_at.is_none(),
                message: a.message,
                retry_after: a.retry_after,
                read_only: a.read_only,
                starts_at: a.starts_at,
                ends_at: a.ends_at,
            };
            fleet_cli::switch(&a.fleet, switch, a.timeout).map(|_| ())
        }
        #[cfg(feature = "fleet")]
        Command::Off(a) if a.fleet.store.is_some() => {
            fleet_cli::switch(&a.fleet, Default::default(), a.timeout).map(|_| ())
        }
        #[cfg(feature = "fleet")]
        Command::Status(a) if a.fleet.store.is_some() => {
            fleet_cli::status(&a.fleet, a.json).map(|_| ())
        }
        Command::On(a) => {
            let secret = a
                .with_secret
                .then(generate_secret)
                .transpose()
                .map_err(|e| Error::io("generating a secret", e))?;
            // `on` without --read-only means full maintenance, also after an earlier
            // `on --read-only`; the key is only written when it changes something.
            let r = resolve(&a.at)?;
            let was_read_only =
                configured(&r.config, &r.profile, r.template_dir()).is_ok_and(|c| c.read_only);
            let read_only = (a.read_only || was_read_only).then_some(a.read_only);
            let change = Change {
                // A scheduled `on` writes the window and leaves `enabled` as it is.
                enabled: a.starts_at.is_none().then_some(true),
                message: a.message,
                retry_after: a.retry_after,
                read_only,
                status: a.status,
                redirect: a.redirect,
                refresh: a.refresh,
                starts_at: a.starts_at.clone(),
                ends_at: a.ends_at,
                bypass_secret: secret,
                remove_window: false,
            };
            let want = a.starts_at.is_none().then_some(true);
            switch(r, change, a.timeout, want)
        }
        Command::Off(a) => {
            let r = resolve(&a.at)?;
            let before = configured(&r.config, &r.profile, r.template_dir())?;
            if before.window_active {
                println!(
                    "a scheduled window is active now ({} to {}): removing it",
                    before.starts_at.as_deref().unwrap_or("?"),
                    before.ends_at.as_deref().unwrap_or("open end")
                );
            }
            let change = Change {
                enabled: Some(false),
                remove_window: before.window_active,
                ..Change::default()
            };
            switch(r, change, a.timeout, Some(false))
        }
        Command::Status(a) => {
            let r = resolve(&a.at)?;
            let conf = configured(&r.config, &r.profile, r.template_dir())?;
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
                .ok_or_else(|| Error::Other("reload needs --pid PID or --unit UNIT".into()))?;
            let live = service.reload_and_wait(a.timeout)?;
            println!("reloaded: generation {}: {}", live.generation, live.status);
            Ok(())
        }
    }
}

fn print_status(conf: &Configured, r: &Resolved) {
    println!("maintenance: {}", on_off(conf.on));
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

//! Fleet: one switch for many instances, through Redis or Valkey (cargo feature `fleet`).
//!
//! The store holds one record per namespace: the switch keys (`enabled`, `message`,
//! `retry_after`, `read_only`, `starts_at`, `ends_at`), a generation, who set it and when.
//! Templates, allow lists and the bypass secret stay in the reviewed file.
//!
//! Requests never touch the store. Each instance reads the record before it serves, then
//! subscribes to the namespace's channel and re-reads the whole record on every message, every
//! reconnect and every `poll` (state-based: a lost message cannot make instances diverge). It
//! applies a record through the same validated, atomic swap as a reload.
//!
//! Fail-static: when the store is unreachable, hung, refuses the password or holds a malformed
//! record, an instance keeps the state it has (at start: the last record it cached under
//! `$STATE_DIRECTORY`, else the file alone), says so once in the log, in `STATUS=` and in the
//! live state, and never changes state because of an error. Every store call has its own
//! timeout.
//!
//! Keys, for namespace `ns`: `rocket_maintenance:ns:record` (a hash), `…:generation` (a
//! counter), `…:instance:<id>` (heartbeats with a time-to-live of 3 x `poll`), and the channel
//! `rocket_maintenance:ns:changed`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands, ConnectionAddr, ConnectionInfo, IntoConnectionInfo};
use rocket::futures::StreamExt;
use rocket::tokio;
use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::Error;
use crate::policy::Policy;
use crate::settings::{format_time, Settings, SwitchKeys};
use crate::state::Overlay;

/// The default re-read period.
pub const DEFAULT_POLL: Duration = Duration::from_secs(5);
/// The default timeout of each store call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// `[maintenance.fleet]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetSettings {
    store: String,
    password_file: Option<PathBuf>,
    namespace: String,
    poll: Option<String>,
    timeout: Option<String>,
}

/// Where the store is and how to talk to it, validated.
#[derive(Clone)]
pub struct FleetConfig {
    info: ConnectionInfo,
    /// The namespace: apps sharing a store never see each other's records.
    pub namespace: String,
    /// The re-read period.
    pub poll: Duration,
    /// The timeout of each store call.
    pub timeout: Duration,
    /// The store URL as given (it never holds a password).
    pub store: String,
}

impl std::fmt::Debug for FleetConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetConfig")
            .field("store", &self.store)
            .field("namespace", &self.namespace)
            .field("poll", &self.poll)
            .finish()
    }
}

impl PartialEq for FleetConfig {
    fn eq(&self, other: &Self) -> bool {
        self.store == other.store
            && self.namespace == other.namespace
            && self.poll == other.poll
            && self.timeout == other.timeout
            && self.info.redis.password == other.info.redis.password
    }
}

fn fleet_error(key: &str, value: Option<String>, reason: impl Into<String>) -> Error {
    Error::setting(&format!("fleet.{key}"), value, reason)
}

impl FleetConfig {
    /// Builds the config from the store URL, the namespace and a password file.
    pub fn new(
        store: &str,
        namespace: &str,
        password_file: Option<&Path>,
        poll: Duration,
        timeout: Duration,
    ) -> Result<FleetConfig, Error> {
        let mut info = store.into_connection_info().map_err(|e| {
            fleet_error(
                "store",
                Some(format!("{store:?}")),
                format!("not a store URL ({e}); write redis://host:6379/0, rediss://… or redis+unix:///path"),
            )
        })?;
        if info.redis.password.is_some() {
            return Err(fleet_error(
                "store",
                Some("<redacted URL>".into()),
                "must not contain a password; put it in `password_file`",
            ));
        }
        if let ConnectionAddr::TcpTls { insecure: true, .. } = info.addr {
            return Err(fleet_error(
                "store",
                Some(format!("{store:?}")),
                "rediss:// always verifies certificates; remove `#insecure`",
            ));
        }
        let namespace_ok = !namespace.is_empty()
            && namespace.len() <= 64
            && namespace
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        if !namespace_ok {
            return Err(fleet_error(
                "namespace",
                Some(format!("{namespace:?}")),
                "must be 1-64 characters of A-Z, a-z, 0-9, '_', '-', '.'",
            ));
        }
        if let Some(path) = password_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                fleet_error(
                    "password_file",
                    Some(format!("{:?}", path.display().to_string())),
                    format!("cannot be read: {e}"),
                )
            })?;
            info.redis.password = Some(text.strip_suffix('\n').unwrap_or(&text).to_string());
        }
        Ok(FleetConfig {
            info,
            namespace: namespace.to_string(),
            poll,
            timeout,
            store: store.to_string(),
        })
    }

    /// The `[maintenance.fleet]` table of the settings, if there is one.
    pub(crate) fn from_settings(settings: &Settings) -> Result<Option<FleetConfig>, Error> {
        let Some(value) = &settings.fleet else {
            return Ok(None);
        };
        let s: FleetSettings = value.deserialize().map_err(|e| {
            let mut key = e.path.join(".");
            if let figment::error::Kind::UnknownField(field, _) = &e.kind {
                key = field.clone();
            }
            fleet_error(
                if key.is_empty() { "store" } else { &key },
                None,
                match &e.kind {
                    figment::error::Kind::UnknownField(_, expected) => {
                        format!("unknown key; the known keys are {}", expected.join(", "))
                    }
                    other => other.to_string(),
                },
            )
        })?;
        let duration = |key: &str, v: &Option<String>, default: Duration| match v {
            None => Ok(default),
            Some(text) => crate::settings::parse_duration(text)
                .map_err(|reason| fleet_error(key, Some(format!("{text:?}")), reason))
                .and_then(|d| {
                    if d.is_zero() || d > Duration::from_secs(24 * 3600) {
                        Err(fleet_error(
                            key,
                            Some(format!("{text:?}")),
                            "must be more than zero and at most a day",
                        ))
                    } else {
                        Ok(d)
                    }
                }),
        };
        let poll = duration("poll", &s.poll, DEFAULT_POLL)?;
        let timeout = duration("timeout", &s.timeout, DEFAULT_TIMEOUT)?;
        FleetConfig::new(
            &s.store,
            &s.namespace,
            s.password_file.as_deref(),
            poll,
            timeout,
        )
        .map(Some)
    }

    fn key(&self, what: &str) -> String {
        format!("rocket_maintenance:{}:{what}", self.namespace)
    }

    /// Connects, within the timeout.
    pub async fn connect(&self) -> Result<MultiplexedConnection, String> {
        let client = redis::Client::open(self.info.clone()).map_err(|e| e.to_string())?;
        bounded(self.timeout, client.get_multiplexed_async_connection()).await
    }

    async fn subscribe(&self) -> Result<redis::aio::PubSub, String> {
        let client = redis::Client::open(self.info.clone()).map_err(|e| e.to_string())?;
        let mut pubsub = bounded(self.timeout, client.get_async_pubsub()).await?;
        bounded(self.timeout, pubsub.subscribe(self.key("changed"))).await?;
        Ok(pubsub)
    }

    /// Reads the record, within the timeout. `Ok(None)`: there is no record.
    pub async fn read(&self, conn: &mut MultiplexedConnection) -> Result<Option<Record>, String> {
        let fields: BTreeMap<String, String> =
            bounded(self.timeout, conn.hgetall(self.key("record"))).await?;
        if fields.is_empty() {
            return Ok(None);
        }
        Record::from_fields(&fields).map(Some)
    }

    /// Writes the whole record, bumps the generation and publishes, in one transaction (a
    /// server-side script). Returns the new generation.
    pub async fn write(
        &self,
        conn: &mut MultiplexedConnection,
        switch: &Switch,
        set_by: &str,
    ) -> Result<u64, String> {
        let script = redis::Script::new(
            "local g = redis.call('INCR', KEYS[2]) \
             redis.call('DEL', KEYS[1]) \
             redis.call('HSET', KEYS[1], 'generation', g, 'switch', ARGV[1], 'set_by', ARGV[2], 'set_at', ARGV[3]) \
             redis.call('PUBLISH', KEYS[3], g) \
             return g",
        );
        let switch = serde_json::to_string(switch).map_err(|e| e.to_string())?;
        let mut invocation = script.key(self.key("record"));
        invocation
            .key(self.key("generation"))
            .key(self.key("changed"))
            .arg(switch)
            .arg(set_by)
            .arg(format_time(SystemTime::now()));
        bounded(self.timeout, invocation.invoke_async(conn)).await
    }

    /// The live instances' heartbeats.
    pub async fn instances(
        &self,
        conn: &mut MultiplexedConnection,
    ) -> Result<Vec<(String, Heartbeat)>, String> {
        let prefix = self.key("instance:");
        let keys: Vec<String> = bounded(self.timeout, async {
            let mut iter: redis::AsyncIter<String> = conn.scan_match(format!("{prefix}*")).await?;
            let mut keys = Vec::new();
            while let Some(k) = iter.next_item().await {
                keys.push(k?);
            }
            Ok::<_, redis::RedisError>(keys)
        })
        .await?;
        let mut out = Vec::new();
        for key in keys {
            let value: Option<String> = bounded(self.timeout, conn.get(&key)).await?;
            if let Some(beat) = value.and_then(|v| serde_json::from_str::<Heartbeat>(&v).ok()) {
                out.push((key[prefix.len()..].to_string(), beat));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    async fn heartbeat(
        &self,
        conn: &mut MultiplexedConnection,
        id: &str,
        beat: &Heartbeat,
    ) -> Result<(), String> {
        let value = serde_json::to_string(beat).map_err(|e| e.to_string())?;
        let ttl = self.poll.saturating_mul(3).as_secs().max(1);
        bounded(
            self.timeout,
            conn.set_ex(self.key(&format!("instance:{id}")), value, ttl),
        )
        .await
    }

    async fn remove_heartbeat(
        &self,
        conn: &mut MultiplexedConnection,
        id: &str,
    ) -> Result<(), String> {
        bounded(self.timeout, conn.del(self.key(&format!("instance:{id}")))).await
    }
}

/// One store call, bounded by its own timeout (a read can hang past the client's response
/// timeout otherwise).
async fn bounded<T, F>(timeout: Duration, f: F) -> Result<T, String>
where
    F: std::future::Future<Output = redis::RedisResult<T>>,
{
    match tokio::time::timeout(timeout, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(describe(&e)),
        Err(_) => Err(format!(
            "no answer within {}",
            humantime::format_duration(timeout)
        )),
    }
}

/// A store error without anything that could hold a credential.
fn describe(e: &redis::RedisError) -> String {
    format!("{:?}: {}", e.kind(), e.detail().unwrap_or(e.category()))
}

/// The switch keys of a record. Keys not given are absent: their defaults apply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    /// `enabled`.
    #[serde(default)]
    pub enabled: bool,
    /// `message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `retry_after`, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
    /// `read_only`.
    #[serde(default)]
    pub read_only: bool,
    /// `starts_at`, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    /// `ends_at`, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
}

impl Switch {
    /// The switch keys, to lay over the file's settings.
    pub(crate) fn keys(&self) -> SwitchKeys {
        SwitchKeys {
            enabled: self.enabled,
            message: self.message.clone(),
            retry_after: self.retry_after.clone(),
            read_only: self.read_only,
            starts_at: self.starts_at.clone(),
            ends_at: self.ends_at.clone(),
        }
    }

    /// The file's settings with these switch keys.
    fn overlay(&self, file: &Settings) -> Settings {
        self.keys().over(file)
    }

    /// Validates the switch keys as the fairing would (on top of default settings).
    pub fn validate(&self) -> Result<(), Error> {
        Policy::compile(self.overlay(&Settings::default())).map(|_| ())
    }

    /// Whether this record is on at `now` (`enabled`, or its window is active).
    pub fn is_on(&self) -> Result<bool, Error> {
        let policy = Policy::compile(self.overlay(&Settings::default()))?;
        Ok(policy.active_at(SystemTime::now()).is_some())
    }
}

/// The shared record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Bumped by every write.
    pub generation: u64,
    /// The switch keys.
    pub switch: Switch,
    /// Who wrote it (`user@host`).
    pub set_by: String,
    /// When (RFC 3339).
    pub set_at: String,
}

impl Record {
    fn from_fields(fields: &BTreeMap<String, String>) -> Result<Record, String> {
        let field = |k: &str| {
            fields
                .get(k)
                .cloned()
                .ok_or_else(|| format!("malformed record: no `{k}` field"))
        };
        let generation = field("generation")?
            .parse()
            .map_err(|_| "malformed record: `generation` is not a number".to_string())?;
        let switch = serde_json::from_str(&field("switch")?)
            .map_err(|e| format!("malformed record: `switch`: {e}"))?;
        Ok(Record {
            generation,
            switch,
            set_by: field("set_by").unwrap_or_default(),
            set_at: field("set_at").unwrap_or_default(),
        })
    }
}

/// What an instance reports in its heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The record generation it has applied (0: none).
    pub generation: u64,
    /// Whether maintenance is on there.
    pub on: bool,
    /// Its process id.
    pub pid: u32,
}

/// This instance's name in heartbeats: host and process id.
fn instance_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{host}:{}", std::process::id())
}

/// Where the last applied record is cached, for a start while the store is down.
fn cache_path(namespace: &str) -> Option<PathBuf> {
    let dir = std::env::var("STATE_DIRECTORY").ok()?;
    let first = dir.split(':').next()?.to_string();
    Some(Path::new(&first).join(format!("rocket-maintenance-fleet-{namespace}.json")))
}

fn write_cache(namespace: &str, record: &Record) {
    let Some(path) = cache_path(namespace) else {
        return;
    };
    let result = (|| {
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer(&mut tmp, record)?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok::<(), std::io::Error>(())
    })();
    if let Err(e) = result {
        tracing::warn!(
            "maintenance: cannot cache the fleet record in {}: {e}",
            path.display()
        );
    }
}

fn read_cache(namespace: &str) -> Option<Record> {
    let text = std::fs::read_to_string(cache_path(namespace)?).ok()?;
    serde_json::from_str(&text).ok()
}

/// Compiles a record over the file's settings.
fn overlay_of(engine: &Engine, record: &Record) -> Result<Arc<Overlay>, String> {
    Overlay::compile(
        record.generation,
        serde_json::to_string(record).unwrap_or_default(),
        record.switch.keys(),
        &engine.current().loaded.settings,
    )
    .map(Arc::new)
    .map_err(|e| format!("invalid fleet record: {e}"))
}

/// What one read of the store says to do.
fn apply_read(
    engine: &Engine,
    config: &FleetConfig,
    result: Result<Option<Record>, String>,
    had_record: &mut bool,
) {
    match result {
        Ok(Some(record)) => match overlay_of(engine, &record) {
            Ok(overlay) => {
                *had_record = true;
                engine.fleet_reachable();
                if engine.apply_overlay(Some(overlay)) {
                    write_cache(&config.namespace, &record);
                }
            }
            Err(e) => engine.fleet_failed(e),
        },
        Ok(None) => {
            engine.fleet_reachable();
            // The store says there is no record: a later start while it is down must not bring
            // back the one cached before.
            if let Some(path) = cache_path(&config.namespace) {
                let _ = std::fs::remove_file(path);
            }
            if *had_record {
                tracing::warn!(
                    "maintenance: the fleet record of namespace `{}` is gone (was the store \
                     restarted without persistence?); the file decides",
                    config.namespace
                );
                *had_record = false;
            }
            engine.apply_overlay(None);
        }
        Err(e) => engine.fleet_failed(format!("fleet store {}: {e}", config.store)),
    }
}

/// At start, before the first request: the record, else the cached one, else the file alone.
pub(crate) async fn initial(engine: &Engine) {
    let Some(config) = engine.current().loaded.fleet.clone() else {
        return;
    };
    let result = match config.connect().await {
        Ok(mut conn) => config.read(&mut conn).await,
        Err(e) => Err(e),
    };
    let mut had_record = false;
    if let Err(e) = &result {
        if let Some(cached) = read_cache(&config.namespace) {
            tracing::warn!(
                "maintenance: fleet store unreachable at start ({e}); using the record cached at \
                 generation {}",
                cached.generation
            );
            if let Ok(overlay) = overlay_of(engine, &cached) {
                engine.apply_overlay(Some(overlay));
            }
        }
    }
    apply_read(engine, &config, result, &mut had_record);
}

/// The instance side: subscribe, re-read on every message, reconnect and `poll`, heartbeat.
pub(crate) fn spawn(engine: Weak<Engine>) {
    tokio::spawn(async move {
        let id = instance_id();
        let mut had_record = engine
            .upgrade()
            .is_some_and(|e| e.current().overlay.is_some());
        loop {
            let Some(strong) = engine.upgrade() else {
                return;
            };
            let Some(config) = strong.current().loaded.fleet.clone() else {
                let mut changed = strong.subscribe();
                drop(strong);
                if changed.changed().await.is_err() {
                    return;
                }
                continue;
            };
            drop(strong);
            let connected = async {
                let pubsub = config.subscribe().await?;
                let conn = config.connect().await?;
                Ok::<_, String>((pubsub, conn))
            }
            .await;
            let (pubsub, mut conn) = match connected {
                Ok(c) => c,
                Err(e) => {
                    if let Some(engine) = engine.upgrade() {
                        engine.fleet_failed(format!("fleet store {}: {e}", config.store));
                    }
                    tokio::time::sleep(config.poll).await;
                    continue;
                }
            };
            let mut messages = pubsub.into_on_message();
            let mut ticker = tokio::time::interval(config.poll);
            let Some(mut changed) = engine.upgrade().map(|e| e.subscribe()) else {
                return;
            };
            loop {
                let Some(strong) = engine.upgrade() else {
                    return;
                };
                if strong.current().loaded.fleet.as_ref() != Some(&config) {
                    break; // the reload changed the store or namespace: reconnect
                }
                let result = config.read(&mut conn).await;
                let failed = result.is_err();
                apply_read(&strong, &config, result, &mut had_record);
                if strong.is_shutting_down() {
                    return; // the heartbeat is being removed: do not set it again
                }
                if !failed {
                    let state = strong.current();
                    let beat = Heartbeat {
                        generation: state.overlay.as_ref().map_or(0, |o| o.generation),
                        on: state.active.is_some(),
                        pid: std::process::id(),
                    };
                    if let Err(e) = config.heartbeat(&mut conn, &id, &beat).await {
                        strong.fleet_failed(format!("fleet store {}: {e}", config.store));
                    }
                }
                drop(strong);
                changed.borrow_and_update();
                tokio::select! {
                    message = messages.next() => {
                        if message.is_none() {
                            break; // the subscription ended: reconnect
                        }
                    }
                    _ = ticker.tick() => {}
                    _ = changed.changed() => {}
                }
                if failed {
                    break;
                }
            }
        }
    });
}

/// At shutdown: remove this instance's heartbeat.
pub(crate) async fn shutdown(engine: &Engine) {
    engine.shut_down();
    let Some(config) = engine.current().loaded.fleet.clone() else {
        return;
    };
    if let Ok(mut conn) = config.connect().await {
        let _ = config.remove_heartbeat(&mut conn, &instance_id()).await;
    }
}

/// What `rocket-maintenance on|off --store …` did.
#[derive(Debug, Clone)]
pub struct SwitchReport {
    /// The record's new generation.
    pub generation: u64,
    /// The instances that applied it (id), when waiting.
    pub applied: Vec<String>,
    /// How long until every live instance had applied it.
    pub took: Duration,
}

/// The operator side of `on`/`off`: validates the switch keys, writes the whole record (bumping
/// the generation and publishing, in one transaction) and, with `wait`, returns only when every
/// live instance reports the new generation. No live instance at all is an error (a mistyped
/// namespace must not look like success) unless `wait` is `None`.
pub async fn switch(
    config: &FleetConfig,
    switch: &Switch,
    set_by: &str,
    wait: Option<Duration>,
) -> Result<SwitchReport, Error> {
    switch.validate()?;
    let start = std::time::Instant::now();
    let fail = |e: String| Error::Other(format!("fleet store {}: {e}", config.store));
    let mut conn = config.connect().await.map_err(fail)?;
    if wait.is_some() && config.instances(&mut conn).await.map_err(fail)?.is_empty() {
        return Err(Error::Other(format!(
            "no live instance reports to namespace `{}`, so nothing was written (is the \
             namespace right? pass --no-wait to write the record anyway)",
            config.namespace
        )));
    }
    let generation = config
        .write(&mut conn, switch, set_by)
        .await
        .map_err(fail)?;
    let Some(timeout) = wait else {
        return Ok(SwitchReport {
            generation,
            applied: Vec::new(),
            took: start.elapsed(),
        });
    };
    loop {
        let instances = config.instances(&mut conn).await.map_err(fail)?;
        let (applied, behind): (Vec<_>, Vec<_>) = instances
            .into_iter()
            .partition(|(_, beat)| beat.generation >= generation);
        if behind.is_empty() && !applied.is_empty() {
            return Ok(SwitchReport {
                generation,
                applied: applied.into_iter().map(|(id, _)| id).collect(),
                took: start.elapsed(),
            });
        }
        if start.elapsed() >= timeout {
            return Err(Error::Other(if applied.is_empty() && behind.is_empty() {
                format!(
                    "wrote generation {generation}, but no live instance reports to namespace `{}` \
                     (is the namespace right? pass --no-wait to write without instances)",
                    config.namespace
                )
            } else {
                format!(
                    "wrote generation {generation}; within {} these instances did not apply it: {}",
                    humantime::format_duration(timeout),
                    behind
                        .iter()
                        .map(|(id, beat)| format!("{id} (at {})", beat.generation))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The record and the live instances, for `status`.
pub async fn status(
    config: &FleetConfig,
) -> Result<(Option<Record>, Vec<(String, Heartbeat)>), Error> {
    let fail = |e: String| Error::Other(format!("fleet store {}: {e}", config.store));
    let mut conn = config.connect().await.map_err(fail)?;
    let record = config.read(&mut conn).await.map_err(fail)?;
    let instances = config.instances(&mut conn).await.map_err(fail)?;
    Ok((record, instances))
}

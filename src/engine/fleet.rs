//! How a running instance follows the fleet record (cargo feature `fleet`): read it before the
//! first request, then subscribe, re-read on every message, reconnect and `poll`, keep a
//! heartbeat, and apply each record through the same validated, atomic swap as a reload.
//! Fail-static: a store error never changes the state.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::SystemTime;

use rocket::futures::StreamExt;
use rocket::tokio;

use super::Engine;
use crate::fleet::{FleetConfig, Heartbeat, Record};
use crate::notify;
use crate::state::{Overlay, State};

impl Engine {
    /// Applies a fleet record (or its absence) over the file's settings in force. Returns
    /// whether the state changed. Not a reload: no `RELOADING=1`.
    ///
    /// The record is compiled under the engine's lock, against the settings in force then: a
    /// reload that lands meanwhile cannot be overwritten by a policy compiled from the old file.
    pub fn apply_record(&self, record: Option<&Record>) -> Result<bool, String> {
        let mut journal = self.lock();
        let identity = record.map(|r| serde_json::to_string(r).unwrap_or_default());
        let same = match (&journal.overlay, &identity) {
            (None, None) => true,
            (Some(a), Some(b)) => &a.identity == b,
            _ => false,
        };
        if same {
            return Ok(false);
        }
        let old = self.current();
        let overlay = match (record, identity) {
            (Some(r), Some(identity)) => Some(Arc::new(
                Overlay::compile(r.generation, identity, record_keys(r), &old.loaded.settings)
                    .map_err(|e| format!("invalid fleet record: {e}"))?,
            )),
            _ => None,
        };
        let state = State::build(
            old.loaded.clone(),
            overlay.clone(),
            SystemTime::now(),
            old.generation + 1,
            Some(&old),
        )
        .map_err(|e| format!("cannot apply the fleet record: {e}"))?;
        let what = match &overlay {
            Some(o) => format!("fleet record generation {}: ", o.generation),
            None => "no fleet record, the file decides: ".to_string(),
        };
        journal.overlay = overlay;
        self.swap_in(journal, old, state, &what);
        Ok(true)
    }

    /// The store failed: keep the state; say so once in the log, and in `STATUS=` and the live
    /// state while it lasts.
    pub fn fleet_failed(&self, error: String) {
        let mut journal = self.lock();
        // Once per outage: the log line, STATUS= and the live state. Later errors of the same
        // outage (which change wording as reconnects fail differently) stay quiet.
        if journal.fleet_error.is_none() {
            tracing::warn!(
                "maintenance: {error}; keeping the current state until the store answers"
            );
            journal.fleet_error = Some(error);
            self.write_live_file(&mut journal);
            notify::status(&self.status_of(&self.current(), &journal));
        }
    }

    /// The store answered again.
    pub fn fleet_reachable(&self) {
        let mut journal = self.lock();
        if journal.fleet_error.take().is_some() {
            tracing::info!("maintenance: the fleet store answers again");
            self.write_live_file(&mut journal);
            notify::status(&self.status_of(&self.current(), &journal));
        }
    }
}

/// A record's switch keys, with who wrote it and when as the audit's `changed_by`/`changed_at`.
fn record_keys(r: &Record) -> crate::settings::SwitchKeys {
    let mut keys = r.switch.keys();
    keys.changed_by = Some(r.set_by.clone()).filter(|s| !s.is_empty());
    keys.changed_at = Some(r.set_at.clone()).filter(|s| !s.is_empty());
    keys
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

/// What one read of the store says to do.
fn apply_read(
    engine: &Engine,
    config: &FleetConfig,
    result: Result<Option<Record>, String>,
    had_record: &mut bool,
) {
    match result {
        Ok(Some(record)) => match engine.apply_record(Some(&record)) {
            Ok(changed) => {
                *had_record = true;
                engine.fleet_reachable();
                if changed {
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
            let _ = engine.apply_record(None);
        }
        Err(e) => engine.fleet_failed(format!("fleet store {}: {e}", config.store)),
    }
}

/// At start, before the first request: the record, else the cached one, else the file alone.
pub(crate) async fn initial(engine: &Arc<Engine>) {
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
            let _ = engine.apply_record(Some(&cached));
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
                // Applying takes the engine's lock and renders pages: not on an async worker.
                had_record = {
                    let (engine, config) = (strong.clone(), config.clone());
                    tokio::task::spawn_blocking(move || {
                        let mut had = had_record;
                        apply_read(&engine, &config, result, &mut had);
                        had
                    })
                    .await
                    .unwrap_or(had_record)
                };
                // Under the heartbeat lock: shutdown takes it before it removes the heartbeat, so
                // none is in flight then, and none is written after.
                let beating = strong.heartbeat_lock.lock().await;
                if strong.is_shutting_down() {
                    return; // the heartbeat is being removed: do not set it again
                }
                if !failed {
                    let state = strong.current();
                    let beat = Heartbeat {
                        generation: state.overlay.as_ref().map_or(0, |o| o.generation),
                        on: state.active.is_some(),
                        pid: std::process::id(),
                        drained: strong.older_writes_in_flight() == 0,
                    };
                    if let Err(e) = config.heartbeat(&mut conn, &id, &beat).await {
                        strong.fleet_failed(format!("fleet store {}: {e}", config.store));
                    }
                }
                drop(beating);
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
    // Waits for a heartbeat in flight; after this none is written.
    let _beating = engine.heartbeat_lock.lock().await;
    let Some(config) = engine.current().loaded.fleet.clone() else {
        return;
    };
    if let Ok(mut conn) = config.connect().await {
        let _ = config.remove_heartbeat(&mut conn, &instance_id()).await;
    }
}

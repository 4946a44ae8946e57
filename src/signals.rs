//! `SIGHUP`: one process-wide listener thread, and a slot per fairing.
//!
//! The handler is installed when `Maintenance::fairing()` / `custom()` is called, before any
//! fairing ignites, so a `SIGHUP` that arrives while an earlier fairing is still connecting to a
//! database cannot kill the process. Until the engine is armed at liftoff, a `SIGHUP` is remembered
//! and triggers one reload right after it. `SIGHUP`s that arrive during a reload coalesce into one
//! more reload (signal-hook's pending set).

use std::sync::{Arc, Mutex, OnceLock, Weak};

use signal_hook::consts::SIGHUP;
use signal_hook::iterator::Signals;

use crate::engine::{Engine, Trigger};

enum SlotState {
    /// Not armed yet; whether a `SIGHUP` came meanwhile.
    Waiting { pending: bool },
    /// Armed: reload this engine on `SIGHUP`.
    Armed(Weak<Engine>),
}

/// One fairing's claim on `SIGHUP`.
pub(crate) struct Slot(Mutex<SlotState>);

static SLOTS: OnceLock<Mutex<Vec<Weak<Slot>>>> = OnceLock::new();

fn slots() -> &'static Mutex<Vec<Weak<Slot>>> {
    SLOTS.get_or_init(|| Mutex::new(Vec::new()))
}

/// Installs the process-wide handler (once) and registers a new slot.
pub(crate) fn install() -> Result<Arc<Slot>, String> {
    static LISTENER: OnceLock<Result<(), String>> = OnceLock::new();
    LISTENER
        .get_or_init(|| {
            let mut signals = Signals::new([SIGHUP])
                .map_err(|e| format!("cannot install the SIGHUP handler: {e}"))?;
            std::thread::Builder::new()
                .name("rocket_maintenance-sighup".into())
                .spawn(move || {
                    for _ in signals.forever() {
                        let live: Vec<Arc<Slot>> = {
                            let mut all = slots().lock().unwrap_or_else(|e| e.into_inner());
                            all.retain(|s| s.strong_count() > 0);
                            all.iter().filter_map(Weak::upgrade).collect()
                        };
                        for slot in live {
                            slot.on_sighup();
                        }
                    }
                })
                .map_err(|e| format!("cannot start the SIGHUP thread: {e}"))?;
            Ok(())
        })
        .clone()?;
    let slot = Arc::new(Slot(Mutex::new(SlotState::Waiting { pending: false })));
    slots()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Arc::downgrade(&slot));
    Ok(slot)
}

impl Slot {
    fn on_sighup(&self) {
        let engine = {
            let mut state = self.0.lock().unwrap_or_else(|e| e.into_inner());
            match &mut *state {
                SlotState::Waiting { pending } => {
                    *pending = true;
                    tracing::info!("maintenance: SIGHUP before liftoff; reloading right after it");
                    None
                }
                SlotState::Armed(engine) => engine.upgrade(),
            }
        };
        if let Some(engine) = engine {
            // The error is logged, recorded and in STATUS=; the process carries on.
            let _ = engine.reload(Trigger::Signal);
        }
    }

    /// Arms the slot with its engine; returns whether a `SIGHUP` came before.
    pub fn arm(&self, engine: &Arc<Engine>) -> bool {
        let mut state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let pending = matches!(*state, SlotState::Waiting { pending: true });
        *state = SlotState::Armed(Arc::downgrade(engine));
        pending
    }
}

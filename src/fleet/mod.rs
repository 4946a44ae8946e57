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
//! - `config.rs`: the `[maintenance.fleet]` table, validated;
//! - `record.rs`: the record and the heartbeat;
//! - `store.rs`: every store call, each bounded by its own timeout;
//! - `switch.rs`: the operator's side (`rocket-maintenance on|off|status --store`).
//!
//! How a running instance follows the record is the engine's business (`engine/fleet.rs`).
//!
//! Keys, for namespace `ns`: `rocket_maintenance:ns:record` (a hash), `…:generation` (a
//! counter), `…:instance:<id>` (heartbeats with a time-to-live of 3 x `poll`), and the channel
//! `rocket_maintenance:ns:changed`.

mod config;
mod record;
mod store;
mod switch;

use std::time::Duration;

pub use config::FleetConfig;
pub use record::{Heartbeat, Record, Switch};
pub use switch::{status, switch, SwitchReport};

/// The default re-read period.
pub const DEFAULT_POLL: Duration = Duration::from_secs(5);
/// The default timeout of each store call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

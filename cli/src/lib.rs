//! The `rocket-maintenance` operator CLI, as a library: everything the binary does, so that the
//! binary only parses arguments and prints.
//!
//! - [`edit`]: edit a config file in place, safely (also as root), validated exactly as the
//!   service would validate it;
//! - [`service`]: find a running service's live state, signal it, and wait until it has applied
//!   a reload;
//! - [`safety`]: the checks that keep root's edit from being steered by anyone else (modelled on
//!   OpenSSH's `StrictModes`);
//! - [`commands`]: the rules of `on`, `off` and `status` (what to write, what to check after).
//!
//! The library's side (validation, the live-state format, redaction) is
//! [`rocket_maintenance::control`].

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod commands;
pub mod edit;
mod error;
pub mod safety;
pub mod service;

pub use error::Error;

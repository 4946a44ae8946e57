//! Shared by the integration tests: rockets with settings merged in, counted handlers, and the
//! paths of the demo and CLI binaries.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use rocket::figment::Figment;
use rocket::local::asynchronous::Client;
use rocket::{Build, Rocket, Route};
use rocket_maintenance::Maintenance;

/// Rocket's defaults (no `Rocket.toml`, no environment) with `toml`, a document of top-level
/// keys such as `[maintenance]`, merged in.
pub fn figment(toml: &str) -> Figment {
    use rocket::figment::providers::{Format, Toml};
    Figment::from(rocket::Config::default())
        .merge(("log_level", "off"))
        .merge(Toml::string(toml))
}

/// A rocket with `routes` at `/`, `force_off` routes, and the fairing reading `toml`.
pub fn rocket_with(toml: &str, routes: Vec<Route>, force_off: Vec<Route>) -> Rocket<Build> {
    let f = figment(toml);
    let fairing_figment = f.clone();
    rocket::custom(f)
        .mount("/", routes)
        .attach(Maintenance::custom(move || fairing_figment.clone()).force_off("/", force_off))
}

pub async fn client(rocket: Rocket<Build>) -> Client {
    Client::tracked(rocket).await.expect("valid rocket")
}

/// A counter for handler calls.
pub struct Calls(AtomicUsize);

impl Calls {
    pub const fn new() -> Self {
        Calls(AtomicUsize::new(0))
    }
    pub fn hit(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// `target/debug` (or whichever profile the tests were built with).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// The demo binary, which `cargo test` builds with the tests.
pub fn demo_bin() -> PathBuf {
    let path = target_dir().join("examples/demo");
    assert!(
        path.is_file(),
        "{} is missing: run the tests with `cargo test` (which builds examples)",
        path.display()
    );
    path
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

//! The handle in managed state, for application code.

use std::sync::Arc;

use crate::engine::{Engine, Trigger};
use crate::error::Error;
use crate::status::MaintenanceStatus;

/// The fairing's handle, in Rocket's managed state: the live status, and a way to reload.
///
/// ```
/// # #[macro_use] extern crate rocket;
/// use rocket::State;
/// use rocket_maintenance::MaintenanceHandle;
///
/// #[post("/admin/maintenance/reload")]
/// async fn reload(handle: &State<MaintenanceHandle>) -> String {
///     match handle.reload().await {
///         Ok(status) => format!("on: {}", status.is_on()),
///         Err(e) => format!("kept the old settings: {e}"),
///     }
/// }
/// ```
#[derive(Clone)]
pub struct MaintenanceHandle {
    pub(crate) engine: Arc<Engine>,
}

impl MaintenanceHandle {
    /// The state in force now.
    pub fn status(&self) -> MaintenanceStatus {
        MaintenanceStatus(self.engine.current())
    }

    /// Reloads the settings as `SIGHUP` does (same sources, start-up profile), and returns the new
    /// status. On error the old state stays in force.
    pub async fn reload(&self) -> Result<MaintenanceStatus, Error> {
        let engine = self.engine.clone();
        rocket::tokio::task::spawn_blocking(move || engine.reload(Trigger::Handle))
            .await
            .map_err(|e| Error::io("running the reload", std::io::Error::other(e)))?
    }
}

impl MaintenanceHandle {
    /// Every change of status, as a `tokio` watch channel: a reload that changes it, a window
    /// edge, a fleet record. Background workers and schedulers pause while maintenance is on
    /// (a database migration must not see their writes either):
    ///
    /// ```
    /// use rocket_maintenance::MaintenanceHandle;
    ///
    /// /// A worker that runs its jobs only while maintenance is off.
    /// async fn worker(handle: MaintenanceHandle) {
    ///     let mut status = handle.subscribe();
    ///     loop {
    ///         // Wait until maintenance is off (at once if it is).
    ///         let Ok(off) = status.wait_for(|s| !s.is_on()).await else { return };
    ///         drop(off);
    ///         // One job, then look again.
    ///         run_one_job().await;
    ///     }
    /// }
    /// # async fn run_one_job() {}
    /// ```
    ///
    /// Start it from a liftoff fairing, where the handle is in managed state:
    /// `rocket::tokio::spawn(worker(rocket.state::<MaintenanceHandle>().unwrap().clone()))`.
    pub fn subscribe(&self) -> rocket::tokio::sync::watch::Receiver<MaintenanceStatus> {
        self.engine.subscribe_status()
    }
}

impl std::fmt::Debug for MaintenanceHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaintenanceHandle")
            .field("status", &self.status())
            .finish()
    }
}

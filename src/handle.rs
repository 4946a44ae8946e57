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

impl std::fmt::Debug for MaintenanceHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaintenanceHandle")
            .field("status", &self.status())
            .finish()
    }
}

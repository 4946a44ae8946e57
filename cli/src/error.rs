//! The CLI's errors: each says what failed, on which file or service, and what to do.

use std::path::PathBuf;
use std::time::Duration;

/// Why a command failed. `Display` is one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The library refused the settings, or a file or live state it reads.
    #[error(transparent)]
    Library(#[from] rocket_maintenance::Error),
    /// An I/O operation failed.
    #[error("{action}: {source}")]
    Io {
        /// What was being done.
        action: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The edit was refused; the file is untouched.
    #[error("refusing to edit {path}: {reason}")]
    Refused {
        /// The config file.
        path: PathBuf,
        /// Why, and what to do.
        reason: String,
    },
    /// Another edit holds the lock.
    #[error("{path} is locked by another edit for more than {}; nothing was changed", humantime::format_duration(*.timeout))]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// How long we waited.
        timeout: Duration,
    },
    /// The running service could not be found, signalled or trusted.
    #[error("{0}")]
    Service(String),
    /// The service reloaded, but the reload failed: it kept its previous settings.
    #[error("the service kept its previous settings: reload failed: {0}")]
    ReloadFailed(String),
    /// The service did not answer in time.
    #[error("the service did not apply a reload within {}", humantime::format_duration(*.0))]
    NoAnswer(Duration),
    /// The arguments do not fit together.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// An I/O error, with what was being done.
    pub fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            action: action.into(),
            source,
        }
    }

    /// A `nix` error, with what was being done.
    pub(crate) fn errno(action: impl Into<String>, e: nix::errno::Errno) -> Self {
        Error::io(action, std::io::Error::from(e))
    }
}

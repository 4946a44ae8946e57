//! The shared record, its switch keys, and an instance's heartbeat.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::policy::Policy;
use crate::settings::{Settings, SwitchKeys};

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
    pub(crate) fn from_fields(fields: &BTreeMap<String, String>) -> Result<Record, String> {
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

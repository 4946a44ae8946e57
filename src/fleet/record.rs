//! The shared record, its switch keys, and an instance's heartbeat.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::policy::Policy;
use crate::settings::{Settings, SwitchKeys};

/// The largest record an instance accepts (all fields together).
const MAX_RECORD_BYTES: usize = 64 * 1024;
/// The longest message a record may carry.
const MAX_MESSAGE_BYTES: usize = 4 * 1024;

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
    /// `--reason`: the operator's note (shown to operators only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
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
            reason: self.reason.clone(),
            ..SwitchKeys::default()
        }
    }

    /// The file's settings with these switch keys.
    fn overlay(&self, file: &Settings) -> Settings {
        self.keys().over(file)
    }

    /// Validates the switch keys as the fairing would (on top of default settings).
    pub fn validate(&self) -> Result<(), Error> {
        if self
            .message
            .as_ref()
            .is_some_and(|m| m.len() > MAX_MESSAGE_BYTES)
        {
            return Err(Error::setting(
                "fleet.message",
                None,
                "is over 4 KiB; a maintenance message is a sentence or two",
            ));
        }
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
        let size: usize = fields.iter().map(|(k, v)| k.len() + v.len()).sum();
        if size > MAX_RECORD_BYTES {
            return Err(format!(
                "invalid record: {size} bytes, over the limit of 64 KiB"
            ));
        }
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
        let record = Record {
            generation,
            switch,
            set_by: field("set_by").unwrap_or_default(),
            set_at: field("set_at").unwrap_or_default(),
        };
        record
            .switch
            .validate()
            .map_err(|e| format!("invalid record: {e}"))?;
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(message: &str) -> BTreeMap<String, String> {
        let switch = serde_json::json!({ "enabled": true, "message": message }).to_string();
        [
            ("generation", "3"),
            ("switch", switch.as_str()),
            ("set_by", "a@b"),
            ("set_at", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn a_record_parses_and_an_oversized_one_is_refused() {
        let record = Record::from_fields(&fields("Back at 3")).unwrap();
        assert_eq!(record.generation, 3);
        assert_eq!(record.switch.message.as_deref(), Some("Back at 3"));
        let err = Record::from_fields(&fields(&"x".repeat(5000))).unwrap_err();
        assert!(err.contains("4 KiB"), "{err}");
        let err = Record::from_fields(&fields(&"x".repeat(70_000))).unwrap_err();
        assert!(err.contains("64 KiB"), "{err}");
        let mut bad = fields("x");
        bad.remove("switch");
        assert!(Record::from_fields(&bad)
            .unwrap_err()
            .contains("no `switch`"));
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
    /// Whether no write admitted under an earlier state is still running there.
    #[serde(default = "yes")]
    pub drained: bool,
}

fn yes() -> bool {
    true
}

//! The operator's side: write the record and wait for the instances.

use std::time::Duration;

use rocket::tokio;

use super::{FleetConfig, Heartbeat, Record, Switch};
use crate::error::Error;

/// What `rocket-maintenance on|off --store …` did.
#[derive(Debug, Clone)]
pub struct SwitchReport {
    /// The record's new generation.
    pub generation: u64,
    /// The instances that applied it (id), when waiting.
    pub applied: Vec<String>,
    /// How long until every live instance had applied it.
    pub took: Duration,
}

/// The operator side of `on`/`off`: validates the switch keys, writes the whole record (bumping
/// the generation and publishing, in one transaction) and, with `wait`, returns only when every
/// live instance reports the new generation (and, with `drain`, that no write admitted before is
/// still running there). No live instance at all is an error (a mistyped
/// namespace must not look like success) unless `wait` is `None`.
pub async fn switch(
    config: &FleetConfig,
    switch: &Switch,
    set_by: &str,
    wait: Option<Duration>,
    drain: bool,
) -> Result<SwitchReport, Error> {
    switch.validate()?;
    let start = std::time::Instant::now();
    let fail = |reason: String| Error::Store {
        store: config.store.clone(),
        reason,
    };
    let mut conn = config.connect().await.map_err(fail)?;
    if wait.is_some() && config.instances(&mut conn).await.map_err(fail)?.is_empty() {
        return Err(fail(format!(
            "no live instance reports to namespace `{}`, so nothing was written (is the \
             namespace right? pass --no-wait to write the record anyway)",
            config.namespace
        )));
    }
    let generation = config
        .write(&mut conn, switch, set_by)
        .await
        .map_err(fail)?;
    let Some(timeout) = wait else {
        return Ok(SwitchReport {
            generation,
            applied: Vec::new(),
            took: start.elapsed(),
        });
    };
    loop {
        let instances = config.instances(&mut conn).await.map_err(fail)?;
        let (applied, behind): (Vec<_>, Vec<_>) = instances
            .into_iter()
            .partition(|(_, beat)| beat.generation >= generation && (!drain || beat.drained));
        if behind.is_empty() && !applied.is_empty() {
            return Ok(SwitchReport {
                generation,
                applied: applied.into_iter().map(|(id, _)| id).collect(),
                took: start.elapsed(),
            });
        }
        if start.elapsed() >= timeout {
            return Err(fail(if applied.is_empty() && behind.is_empty() {
                format!(
                    "wrote generation {generation}, but no live instance reports to namespace `{}` \
                     (is the namespace right? pass --no-wait to write without instances)",
                    config.namespace
                )
            } else {
                format!(
                    "wrote generation {generation}; within {} these instances did not {}: {}",
                    humantime::format_duration(timeout),
                    if drain {
                        "apply it and drain"
                    } else {
                        "apply it"
                    },
                    behind
                        .iter()
                        .map(|(id, beat)| if beat.generation >= generation {
                            format!("{id} (applied it; writes admitted before still running)")
                        } else {
                            format!("{id} (at {})", beat.generation)
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The record and the live instances, for `status`.
pub async fn status(
    config: &FleetConfig,
) -> Result<(Option<Record>, Vec<(String, Heartbeat)>), Error> {
    let fail = |reason: String| Error::Store {
        store: config.store.clone(),
        reason,
    };
    let mut conn = config.connect().await.map_err(fail)?;
    let record = config.read(&mut conn).await.map_err(fail)?;
    let instances = config.instances(&mut conn).await.map_err(fail)?;
    Ok((record, instances))
}

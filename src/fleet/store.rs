//! Every store call, each bounded by its own timeout.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use redis::aio::MultiplexedConnection;
use redis::AsyncCommands;
use rocket::tokio;

use super::{FleetConfig, Heartbeat, Record, Switch};
use crate::settings::format_time;

impl FleetConfig {
    fn key(&self, what: &str) -> String {
        format!("rocket_maintenance:{}:{what}", self.namespace)
    }

    /// Connects, within the timeout.
    pub(crate) async fn connect(&self) -> Result<MultiplexedConnection, String> {
        let client = redis::Client::open(self.info.clone()).map_err(|e| e.to_string())?;
        bounded(self.timeout, client.get_multiplexed_async_connection()).await
    }

    pub(crate) async fn subscribe(&self) -> Result<redis::aio::PubSub, String> {
        let client = redis::Client::open(self.info.clone()).map_err(|e| e.to_string())?;
        let mut pubsub = bounded(self.timeout, client.get_async_pubsub()).await?;
        bounded(self.timeout, pubsub.subscribe(self.key("changed"))).await?;
        Ok(pubsub)
    }

    /// Reads the record, within the timeout. `Ok(None)`: there is no record.
    pub(crate) async fn read(
        &self,
        conn: &mut MultiplexedConnection,
    ) -> Result<Option<Record>, String> {
        let fields: BTreeMap<String, String> =
            bounded(self.timeout, conn.hgetall(self.key("record"))).await?;
        if fields.is_empty() {
            return Ok(None);
        }
        Record::from_fields(&fields).map(Some)
    }

    /// Writes the whole record, bumps the generation and publishes, in one transaction (a
    /// server-side script). Returns the new generation.
    pub(crate) async fn write(
        &self,
        conn: &mut MultiplexedConnection,
        switch: &Switch,
        set_by: &str,
    ) -> Result<u64, String> {
        let script = redis::Script::new(
            "local g = redis.call('INCR', KEYS[2]) \
             redis.call('DEL', KEYS[1]) \
             redis.call('HSET', KEYS[1], 'generation', g, 'switch', ARGV[1], 'set_by', ARGV[2], 'set_at', ARGV[3]) \
             redis.call('PUBLISH', KEYS[3], g) \
             return g",
        );
        let switch = serde_json::to_string(switch).map_err(|e| e.to_string())?;
        let mut invocation = script.key(self.key("record"));
        invocation
            .key(self.key("generation"))
            .key(self.key("changed"))
            .arg(switch)
            .arg(set_by)
            .arg(format_time(SystemTime::now()));
        bounded(self.timeout, invocation.invoke_async(conn)).await
    }

    /// The live instances' heartbeats.
    pub(crate) async fn instances(
        &self,
        conn: &mut MultiplexedConnection,
    ) -> Result<Vec<(String, Heartbeat)>, String> {
        let prefix = self.key("instance:");
        let keys: Vec<String> = bounded(self.timeout, async {
            let mut iter: redis::AsyncIter<String> = conn.scan_match(format!("{prefix}*")).await?;
            let mut keys = Vec::new();
            while let Some(k) = iter.next_item().await {
                keys.push(k?);
            }
            Ok::<_, redis::RedisError>(keys)
        })
        .await?;
        let mut out = Vec::new();
        for key in keys {
            let value: Option<String> = bounded(self.timeout, conn.get(&key)).await?;
            if let Some(beat) = value.and_then(|v| serde_json::from_str::<Heartbeat>(&v).ok()) {
                out.push((key[prefix.len()..].to_string(), beat));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    pub(crate) async fn heartbeat(
        &self,
        conn: &mut MultiplexedConnection,
        id: &str,
        beat: &Heartbeat,
    ) -> Result<(), String> {
        let value = serde_json::to_string(beat).map_err(|e| e.to_string())?;
        let ttl = self.poll.saturating_mul(3).as_secs().max(1);
        bounded(
            self.timeout,
            conn.set_ex(self.key(&format!("instance:{id}")), value, ttl),
        )
        .await
    }

    pub(crate) async fn remove_heartbeat(
        &self,
        conn: &mut MultiplexedConnection,
        id: &str,
    ) -> Result<(), String> {
        bounded(self.timeout, conn.del(self.key(&format!("instance:{id}")))).await
    }
}

/// One store call, bounded by its own timeout (a read can hang past the client's response
/// timeout otherwise).
async fn bounded<T, F>(timeout: Duration, f: F) -> Result<T, String>
where
    F: std::future::Future<Output = redis::RedisResult<T>>,
{
    match tokio::time::timeout(timeout, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(describe(&e)),
        Err(_) => Err(format!(
            "no answer within {}",
            humantime::format_duration(timeout)
        )),
    }
}

/// A store error without anything that could hold a credential.
fn describe(e: &redis::RedisError) -> String {
    format!("{:?}: {}", e.kind(), e.detail().unwrap_or(e.category()))
}

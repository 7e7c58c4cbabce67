//! Job kinds (the API calls them "types"), in one place, with the validation of their
//! payloads at enqueue time and the unique key that makes repeated enqueues collapse.

use crate::error::{Error, Result};
use crate::jobs::queue::NewJob;
use serde_json::{Map, Value};
use std::time::Duration;

/// Pull executions from the gateway and upsert trades (SPEC "Jobs and Workers").
pub const TRADES_SYNC: &str = "trades.sync";
/// Pull positions from the gateway and upsert them.
pub const POSITIONS_SYNC: &str = "positions.sync";
/// Submit every confirmed (queued) order through the gateway (the orders worker).
pub const ORDERS_SUBMIT: &str = "orders.submit";
/// Import one stored Flex statement (`{"import_id": N}`); queued by the imports service,
/// never through `POST /jobs`. A failed import is not retried: its document is refused or
/// the upload must be repeated.
pub const FLEX_IMPORT: &str = "flex.import";
/// Every kind an operator may enqueue.
pub const KNOWN: [&str; 3] = [TRADES_SYNC, POSITIONS_SYNC, ORDERS_SUBMIT];

/// Test hook: a job that does nothing and succeeds. Workers register it only when the
/// environment variable [`TEST_JOBS_ENV`] is `1` (used by the multi-process test and the
/// benchmark); it is never enqueued by the product.
pub const TEST_NOOP: &str = "test.noop";
/// The environment variable that enables [`TEST_NOOP`] in `fillbook worker` / `serve`.
pub const TEST_JOBS_ENV: &str = "FILLBOOK_TEST_JOBS";

/// Gateway connect timeout of a sync job unless its payload overrides it.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Days of executions a `trades.sync` fetches unless its payload overrides it.
pub const DEFAULT_LOOKBACK_DAYS: u32 = 7;

/// Attempts before a sync job is discarded.
pub const SYNC_MAX_ATTEMPTS: i32 = 5;

/// Payload overrides of a sync job; absent keys fall back to the worker's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncOverrides {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub client_id: Option<i32>,
    pub connect_timeout_seconds: Option<u64>,
    pub lookback_days: Option<u32>,
}

/// Where and how far back a sync job connects, after overrides are applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncSettings {
    pub host: String,
    pub port: u16,
    pub client_id: i32,
    pub connect_timeout: Duration,
    pub lookback_days: u32,
}

impl SyncSettings {
    /// These settings with the payload's overrides applied.
    pub fn with_overrides(&self, o: &SyncOverrides) -> SyncSettings {
        SyncSettings {
            host: o.host.clone().unwrap_or_else(|| self.host.clone()),
            port: o.port.unwrap_or(self.port),
            client_id: o.client_id.unwrap_or(self.client_id),
            connect_timeout: o
                .connect_timeout_seconds
                .map_or(self.connect_timeout, Duration::from_secs),
            lookback_days: o.lookback_days.unwrap_or(self.lookback_days),
        }
    }
}

fn integer_in(key: &str, value: &Value, min: i64, max: i64) -> Result<i64> {
    let field = format!("payload.{key}");
    let n = value
        .as_i64()
        .ok_or_else(|| Error::invalid(&field, format!("`{key}` must be an integer")))?;
    if n < min || n > max {
        return Err(Error::invalid(
            &field,
            format!("`{key}` must be between {min} and {max}, got {n}"),
        ));
    }
    Ok(n)
}

/// Parses the payload of a sync job: an object whose keys are all known and well typed.
pub fn parse_sync_payload(payload: &Value) -> Result<SyncOverrides> {
    let object = match payload {
        Value::Null => return Ok(SyncOverrides::default()),
        Value::Object(o) => o,
        _ => return Err(Error::invalid("payload", "payload must be a JSON object")),
    };
    let mut out = SyncOverrides::default();
    for (key, value) in object {
        match key.as_str() {
            "host" => {
                let host = value
                    .as_str()
                    .filter(|h| !h.trim().is_empty())
                    .ok_or_else(|| {
                        Error::invalid("payload.host", "`host` must be a non-empty string")
                    })?;
                out.host = Some(host.to_string());
            }
            "port" => out.port = Some(integer_in(key, value, 1, 65_535)? as u16),
            "client_id" => {
                out.client_id =
                    Some(integer_in(key, value, i64::from(i32::MIN), i64::from(i32::MAX))? as i32)
            }
            "connect_timeout_seconds" => {
                out.connect_timeout_seconds = Some(integer_in(key, value, 1, 300)? as u64)
            }
            "lookback_days" => out.lookback_days = Some(integer_in(key, value, 1, 30)? as u32),
            other => {
                return Err(Error::invalid(
                    format!("payload.{other}"),
                    format!(
                        "unknown payload key `{other}`; allowed: host, port, client_id, \
                         connect_timeout_seconds, lookback_days"
                    ),
                ))
            }
        }
    }
    Ok(out)
}

/// The `flex.import` job of one stored import: one attempt (a malformed document stays
/// malformed).
pub fn flex_import_job(import_id: i32) -> NewJob {
    NewJob::new(FLEX_IMPORT, serde_json::json!({ "import_id": import_id })).max_attempts(1)
}

/// The import id of a `flex.import` payload.
pub fn parse_import_payload(payload: &Value) -> Result<i32> {
    payload
        .get("import_id")
        .and_then(Value::as_i64)
        .and_then(|id| i32::try_from(id).ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| Error::invalid("payload.import_id", "`import_id` must be an import id"))
}

/// `value` with object keys sorted at every level, serialised compactly.
pub fn canonical_json(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(o) => {
                let mut keys: Vec<&String> = o.keys().collect();
                keys.sort();
                let mut out = Map::new();
                for k in keys {
                    out.insert(k.clone(), sorted(&o[k]));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

/// The unique key of a job: its kind and canonical payload, so the same request made
/// twice while one is waiting collapses into one job.
pub fn unique_key(kind: &str, payload: &Value) -> String {
    format!("{kind}:{}", canonical_json(payload))
}

/// A validated job of a known kind, ready to enqueue: sync kinds are unique over
/// their waiting states.
pub fn new_job(kind: &str, payload: Value) -> Result<NewJob> {
    let payload = if payload.is_null() {
        Value::Object(Map::new())
    } else {
        payload
    };
    match kind {
        TRADES_SYNC | POSITIONS_SYNC => {
            parse_sync_payload(&payload)?;
            let key = unique_key(kind, &payload);
            Ok(NewJob::new(kind, payload)
                .unique_key(key)
                .max_attempts(SYNC_MAX_ATTEMPTS))
        }
        ORDERS_SUBMIT => {
            if payload.as_object().is_some_and(|o| !o.is_empty()) {
                return Err(Error::invalid(
                    "payload",
                    "orders.submit takes no payload; it submits every queued order",
                ));
            }
            Ok(NewJob::new(kind, payload)
                .unique_key(unique_key(kind, &Value::Object(Map::new())))
                .max_attempts(SYNC_MAX_ATTEMPTS))
        }
        FLEX_IMPORT => Err(Error::invalid(
            "type",
            "flex.import jobs are queued by uploading a statement: POST /api/v1/imports/flex",
        )),
        other => Err(Error::invalid(
            "type",
            format!(
                "unknown job type `{other}`; known types: {}",
                KNOWN.join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sync_payload_accepts_every_override() {
        let o = parse_sync_payload(&json!({"host": "gw", "port": 4001, "client_id": 7,
            "connect_timeout_seconds": 5, "lookback_days": 3}))
        .unwrap();
        assert_eq!(o.host.as_deref(), Some("gw"));
        assert_eq!(o.port, Some(4001));
        assert_eq!(o.client_id, Some(7));
        assert_eq!(o.connect_timeout_seconds, Some(5));
        assert_eq!(o.lookback_days, Some(3));
    }

    #[test]
    fn sync_payload_rejects_unknown_keys_and_wrong_types() {
        let field = |v: Value| match parse_sync_payload(&v) {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        };
        assert_eq!(field(json!({"hots": "x"})), "payload.hots");
        assert_eq!(field(json!({"port": "4001"})), "payload.port");
        assert_eq!(field(json!({"port": 0})), "payload.port");
        assert_eq!(field(json!({"lookback_days": 31})), "payload.lookback_days");
        assert_eq!(
            field(json!({"connect_timeout_seconds": 1.5})),
            "payload.connect_timeout_seconds"
        );
        assert_eq!(field(json!({"host": 3})), "payload.host");
        assert_eq!(field(json!([1])), "payload");
    }

    #[test]
    fn unique_key_ignores_key_order() {
        assert_eq!(
            unique_key(TRADES_SYNC, &json!({"port": 1, "host": "a"})),
            unique_key(TRADES_SYNC, &json!({"host": "a", "port": 1}))
        );
        assert_ne!(
            unique_key(TRADES_SYNC, &json!({})),
            unique_key(POSITIONS_SYNC, &json!({}))
        );
    }

    #[test]
    fn unknown_kind_is_refused() {
        assert!(
            matches!(new_job("nope", json!({})), Err(Error::Invalid { field, .. }) if field == "type")
        );
    }

    #[test]
    fn overrides_apply_over_settings() {
        let base = SyncSettings {
            host: "127.0.0.1".into(),
            port: 4002,
            client_id: 100,
            connect_timeout: Duration::from_secs(10),
            lookback_days: 7,
        };
        let got = base.with_overrides(&SyncOverrides {
            port: Some(4001),
            lookback_days: Some(2),
            ..Default::default()
        });
        assert_eq!((got.port, got.lookback_days, got.client_id), (4001, 2, 100));
    }
}

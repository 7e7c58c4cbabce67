//! The payloads of Fillbook's job kinds and how a job is keyed: the types a request's
//! payload is decoded into (every error naming its field under `payload`), and the unique
//! key that makes the same request made twice while one waits collapse into one job. What
//! runs each kind, and which kinds a request may queue, is registered in `crate::work`.

use crate::error::{decode_json, Error, Result};
use crate::gateways::SyncSettings;
use crate::jobs::queue::NewJob;
use app::models::JobKind;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::time::Duration;

/// Days of executions a `trades.sync` fetches unless its payload overrides it.
pub const DEFAULT_LOOKBACK_DAYS: u32 = 7;

/// Attempts before a sync job is discarded.
pub const SYNC_MAX_ATTEMPTS: i32 = 5;

/// Payload of a sync job (`trades.sync`, `positions.sync`): absent keys fall back to the
/// worker's settings. The gateway is chosen by name among the configured ones
/// (`crate::gateways`), never by address. The one type the API, the tools (its JSON Schema)
/// and the worker read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncPayload {
    /// A configured gateway's name (`default`: the server's own); addresses are configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// Connect timeout override, seconds (1-300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 300))]
    pub connect_timeout_seconds: Option<u64>,
    /// Days of executions to fetch (1-7: the gateway keeps at most seven days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 7))]
    pub lookback_days: Option<u32>,
}

impl SyncPayload {
    /// `settings` with this payload's overrides applied.
    pub fn applied_to(&self, settings: &SyncSettings) -> SyncSettings {
        SyncSettings {
            connect_timeout: self
                .connect_timeout_seconds
                .map_or(settings.connect_timeout, Duration::from_secs),
            lookback_days: self.lookback_days.unwrap_or(settings.lookback_days),
            ..settings.clone()
        }
    }

    /// Reads and validates a job's payload; every error names its field (`payload.…`).
    pub fn parse(payload: &Value) -> Result<SyncPayload> {
        if let Some(key) = ["host", "port", "client_id"]
            .into_iter()
            .find(|k| payload.get(k).is_some())
        {
            return Err(Error::invalid(
                format!("payload.{key}"),
                format!(
                    "`{key}` cannot be chosen by a request: the gateway's address is \
                     configuration; choose a configured gateway with `gateway` (its name)"
                ),
            ));
        }
        let parsed: SyncPayload = decode_payload(payload)?;
        if let Some(name) = &parsed.gateway {
            crate::gateways::check_name("payload.gateway", name)?;
        }
        in_range(
            "connect_timeout_seconds",
            parsed.connect_timeout_seconds,
            1,
            300,
        )?;
        in_range("lookback_days", parsed.lookback_days.map(u64::from), 1, 7)?;
        Ok(parsed)
    }
}

/// A job's payload decoded into `T`: a JSON object (or nothing, read as `{}`), every error
/// naming its field under `payload`. (A JSON array would otherwise decode positionally.)
fn decode_payload<T: serde::de::DeserializeOwned>(payload: &Value) -> Result<T> {
    if !(payload.is_object() || payload.is_null()) {
        return Err(Error::invalid("payload", "payload must be a JSON object"));
    }
    decode_json(payload.clone(), Some("payload"))
}

fn in_range(key: &str, value: Option<u64>, min: u64, max: u64) -> Result<()> {
    match value {
        Some(n) if n < min || n > max => Err(Error::invalid(
            format!("payload.{key}"),
            format!("`{key}` must be between {min} and {max}, got {n}"),
        )),
        _ => Ok(()),
    }
}

/// Payload of a `flex.fetch` job: which stored Flex credentials to use.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlexFetchPayload {
    credentials: String,
}

/// Parses the payload of a `flex.fetch` job: `{"credentials": NAME}`; returns the name.
pub fn parse_flex_fetch_payload(payload: &Value) -> Result<String> {
    let parsed: FlexFetchPayload = decode_payload(payload)?;
    if parsed.credentials.trim().is_empty() {
        return Err(Error::invalid(
            "payload.credentials",
            "`credentials` must name stored Flex credentials (a non-empty string)",
        ));
    }
    Ok(parsed.credentials)
}

/// The `flex.import` job of one stored import: one attempt (a malformed document stays
/// malformed).
pub fn flex_import_job(import_id: i32) -> NewJob {
    NewJob::new(
        JobKind::FlexImport.as_str(),
        serde_json::json!({ "import_id": import_id }),
    )
    .max_attempts(1)
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

/// A job of `kind` that waits at most once: a second one with the same payload while the
/// first waits is absorbed by it. Requests, schedules and follow-ups queue jobs this way,
/// each retried up to [`SYNC_MAX_ATTEMPTS`] times. An absent payload is `{}`.
pub fn unique_job(kind: JobKind, payload: Value) -> NewJob {
    let payload = if payload.is_null() {
        Value::Object(Map::new())
    } else {
        payload
    };
    let key = unique_key(kind.as_str(), &payload);
    NewJob::new(kind.as_str(), payload)
        .unique_key(key)
        .max_attempts(SYNC_MAX_ATTEMPTS)
}

/// A payload that must be empty (`orders.submit` submits every queued order).
pub fn no_payload(kind: JobKind, payload: &Value) -> Result<()> {
    if payload.as_object().is_some_and(|o| !o.is_empty()) {
        return Err(Error::invalid(
            "payload",
            format!("{kind} takes no payload"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sync_payload_accepts_every_override() {
        let o = SyncPayload::parse(&json!({"gateway": "gw-2",
            "connect_timeout_seconds": 5, "lookback_days": 3}))
        .unwrap();
        assert_eq!(o.gateway.as_deref(), Some("gw-2"));
        assert_eq!(o.connect_timeout_seconds, Some(5));
        assert_eq!(o.lookback_days, Some(3));
    }

    #[test]
    fn sync_payload_rejects_unknown_keys_and_wrong_types() {
        let field = |v: Value| match SyncPayload::parse(&v) {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        };
        assert_eq!(field(json!({"hots": "x"})), "payload.hots");
        // The address is configuration: a request cannot aim the server anywhere.
        assert_eq!(field(json!({"host": "169.254.169.254"})), "payload.host");
        assert_eq!(field(json!({"port": 80})), "payload.port");
        assert_eq!(field(json!({"client_id": 1})), "payload.client_id");
        assert_eq!(field(json!({"gateway": "Not a name"})), "payload.gateway");
        assert_eq!(field(json!({"gateway": 3})), "payload.gateway");
        assert_eq!(field(json!({"lookback_days": 8})), "payload.lookback_days");
        assert_eq!(
            field(json!({"connect_timeout_seconds": 1.5})),
            "payload.connect_timeout_seconds"
        );
        assert_eq!(field(json!([1])), "payload");
    }

    #[test]
    fn unique_key_ignores_key_order() {
        assert_eq!(
            unique_key(
                JobKind::TradesSync.as_str(),
                &json!({"lookback_days": 1, "gateway": "a"})
            ),
            unique_key(
                JobKind::TradesSync.as_str(),
                &json!({"gateway": "a", "lookback_days": 1})
            )
        );
        assert_ne!(
            unique_key(JobKind::TradesSync.as_str(), &json!({})),
            unique_key(JobKind::PositionsSync.as_str(), &json!({}))
        );
    }

    #[test]
    fn flex_fetch_payload_names_credentials() {
        assert_eq!(
            parse_flex_fetch_payload(&json!({"credentials": "main"})).unwrap(),
            "main"
        );
        let field = |v: Value| match parse_flex_fetch_payload(&v) {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        };
        assert_eq!(field(json!({})), "payload.credentials");
        assert_eq!(field(json!({"credentials": ""})), "payload.credentials");
        assert_eq!(
            field(json!({"credentials": "a", "token": "x"})),
            "payload.token"
        );
        assert_eq!(field(json!([1])), "payload");
        let job = unique_job(JobKind::FlexFetch, json!({"credentials": "main"}));
        assert_eq!(
            job.unique_key.as_deref(),
            Some(r#"flex.fetch:{"credentials":"main"}"#)
        );
    }

    #[test]
    fn a_unique_job_keys_an_absent_payload_as_empty() {
        let absent = unique_job(JobKind::OrdersSubmit, Value::Null);
        assert_eq!(absent.payload, json!({}));
        assert_eq!(absent.unique_key.as_deref(), Some("orders.submit:{}"));
        assert!(no_payload(JobKind::OrdersSubmit, &json!({})).is_ok());
        assert!(matches!(
            no_payload(JobKind::OrdersSubmit, &json!({"x": 1})),
            Err(Error::Invalid { field, .. }) if field == "payload"
        ));
    }

    #[test]
    fn overrides_apply_over_settings() {
        let base = SyncSettings {
            host: "127.0.0.1".into(),
            port: 4002,
            client_id: 100,
            connect_timeout: Duration::from_secs(10),
            lookback_days: 7,
            time_zone: chrono_tz::UTC,
        };
        let got = SyncPayload {
            lookback_days: Some(2),
            connect_timeout_seconds: Some(3),
            ..Default::default()
        }
        .applied_to(&base);
        assert_eq!((got.port, got.lookback_days, got.client_id), (4002, 2, 100));
        assert_eq!(got.connect_timeout, Duration::from_secs(3));
    }
}

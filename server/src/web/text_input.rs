//! Refuses text the databases cannot store before any handler sees it: a NUL character in a
//! query parameter, a JSON body or a form body (PostgreSQL text cannot hold it) is a 422
//! problem+json naming the field. Other bodies (statement uploads) are left to their
//! handlers, which validate their own text.

use crate::error::Error;
use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// Bodies larger than this are not inspected here (the JSON extractor refuses them anyway).
const INSPECT_LIMIT: usize = 4 * 1024 * 1024;

/// The middleware.
pub async fn refuse_nul(req: Request, next: Next) -> Response {
    if let Some(field) = req.uri().query().and_then(nul_in_form) {
        return nul_error(&field).into_response();
    }
    let kind = body_kind(&req);
    if kind == BodyKind::Other {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, INSPECT_LIMIT).await {
        Ok(b) => b,
        Err(_) => return Error::BadRequest("the body is too large".into()).into_response(),
    };
    let field = match kind {
        BodyKind::Json => nul_in_json(&bytes),
        BodyKind::Form => std::str::from_utf8(&bytes).ok().and_then(nul_in_form),
        BodyKind::Other => None,
    };
    if let Some(field) = field {
        return nul_error(&field).into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn nul_error(field: &str) -> Error {
    Error::invalid(
        field,
        format!("`{field}` must not contain the NUL character (U+0000)"),
    )
}

#[derive(PartialEq, Clone, Copy)]
enum BodyKind {
    Json,
    Form,
    Other,
}

fn body_kind(req: &Request) -> BodyKind {
    let Some(ct) = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return BodyKind::Other;
    };
    let ct = ct.to_ascii_lowercase();
    if ct.starts_with("application/json") || ct.contains("+json") {
        BodyKind::Json
    } else if ct.starts_with("application/x-www-form-urlencoded") {
        BodyKind::Form
    } else {
        BodyKind::Other
    }
}

/// The first key of a URL-encoded text whose name or value holds a NUL.
fn nul_in_form(text: &str) -> Option<String> {
    if !text.contains("%00") && !text.contains('\0') {
        return None;
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(text).ok()?;
    pairs
        .into_iter()
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| k.replace('\0', "\\u0000"))
}

/// The path (`order.order_ref`, `items[2]`) of the first JSON string holding a NUL.
fn nul_in_json(bytes: &[u8]) -> Option<String> {
    // A NUL can only reach a JSON string as the escape `\u0000`; most bodies have none.
    if !bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        return None;
    }
    let value: Value = serde_json::from_slice(bytes).ok()?;
    find_nul(&value, String::new())
}

fn find_nul(value: &Value, path: String) -> Option<String> {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::String(s) if s.contains('\0') => {
            Some(if path.is_empty() { "body".into() } else { path })
        }
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                Some(join(&k.replace('\0', "\\u0000")))
            } else {
                find_nul(v, join(k))
            }
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_nul(v, format!("{path}[{i}]"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_field_holding_a_nul() {
        assert_eq!(nul_in_form("symbol=%00&limit=5").as_deref(), Some("symbol"));
        assert_eq!(nul_in_form("a=1&b=x%00y").as_deref(), Some("b"));
        assert_eq!(nul_in_form("symbol=AAPL&x=%2500"), None);
        assert_eq!(
            nul_in_json(br#"{"symbol":"\u0000"}"#).as_deref(),
            Some("symbol")
        );
        assert_eq!(
            nul_in_json(br#"{"payload":{"items":["a","b\u0000"]}}"#).as_deref(),
            Some("payload.items[1]")
        );
        assert_eq!(nul_in_json(br#""\u0000""#).as_deref(), Some("body"));
        // An escaped backslash followed by the text u0000 is no NUL.
        assert_eq!(nul_in_json(br#"{"a":"\\u0000"}"#), None);
        assert_eq!(nul_in_json(br#"{"a":"fine"}"#), None);
    }
}

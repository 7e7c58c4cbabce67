//! One way for the suites to send a request through the real router and read the answer:
//! its status, headers, body text and (when it is JSON) the parsed body.

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

/// An answer, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: Value,
}

impl Reply {
    /// A header's value ("" when absent).
    pub fn header(&self, name: header::HeaderName) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    /// The session cookie's value from `Set-Cookie`.
    pub fn session_cookie(&self) -> Option<String> {
        let set = self.header(header::SET_COOKIE);
        let value = set.strip_prefix("fillbook_session=")?.split(';').next()?;
        (!value.is_empty()).then(|| format!("fillbook_session={value}"))
    }
}

/// Sends `request` through `router` and reads the whole answer.
pub async fn send(router: &axum::Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

/// `request` with a bearer token, unless it carries credentials of its own.
pub fn with_bearer(mut request: Request<Body>, token: &str) -> Request<Body> {
    if !request.headers().contains_key(header::AUTHORIZATION) {
        let value = format!("Bearer {token}").parse().unwrap();
        request.headers_mut().insert(header::AUTHORIZATION, value);
    }
    request
}

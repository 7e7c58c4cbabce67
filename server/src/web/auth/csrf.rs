//! Cross-site request forgery protection for requests authenticated by the session cookie
//! that change state (POST, PUT, PATCH, DELETE):
//!
//! 1. `Origin` (or, without it, `Referer`) must name this server's own host; a request
//!    with neither is refused.
//! 2. A body a cross-site HTML form can send (form-encoded, multipart, plain text) must
//!    carry the session's CSRF token in a `csrf` field (a multipart upload is read up to the
//!    statement size limit): every form of the UI has it as a
//!    hidden input, so forms work the same with and without JavaScript. JSON bodies need
//!    no field: a cross-site page cannot send `application/json` without a CORS preflight,
//!    which Fillbook never grants.
//!
//! Requests with an API token (`Authorization: Bearer`) carry no ambient credential and
//! need neither check.
//!
//! Written here rather than taken from a CSRF crate: the token is a column of the session
//! row (no second, double-submit cookie), and the check has to read the bodies Leptos
//! server functions and no-JavaScript forms send, multipart uploads included.

use crate::auth::secret;
use crate::error::{Error, Result};
use axum::body::Body;
use http::{header, HeaderMap, Method, Request};

/// Largest form body read for its CSRF field.
const MAX_FORM_BYTES: usize = 1 << 20;

/// Largest multipart body (a file upload) read for its CSRF field.
const MAX_UPLOAD_BYTES: usize = crate::imports::MAX_DOCUMENT_BYTES + (1 << 20);

/// Name of the form field carrying the token.
pub const FIELD: &str = "csrf";

/// Whether `method` may change state.
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The `host[:port]` part of an absolute URL.
fn authority(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

/// Whether the request says it comes from a page of this server. `trust_proxy` also
/// accepts the `X-Forwarded-Host` a reverse proxy sets.
pub fn same_origin(headers: &HeaderMap, trust_proxy: bool) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let source = text(header::ORIGIN.as_str())
        .filter(|o| *o != "null")
        .or_else(|| text(header::REFERER.as_str()))
        .and_then(authority);
    let Some(source) = source else {
        return false;
    };
    let host = text(header::HOST.as_str());
    let forwarded = trust_proxy
        .then(|| text("x-forwarded-host"))
        .flatten()
        .and_then(|h| h.split(',').next())
        .map(str::trim);
    [host, forwarded]
        .into_iter()
        .flatten()
        .any(|h| h.eq_ignore_ascii_case(source))
}

/// Whether the body is JSON (exempt from the form token, see the module docs).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| {
            let v = v.trim().to_ascii_lowercase();
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// Runs both checks on a cookie-authenticated request; hands the request back (its body
/// read and restored) when it passes.
pub async fn check(
    request: Request<Body>,
    token: &str,
    trust_proxy: bool,
) -> Result<Request<Body>> {
    if !is_unsafe(request.method()) {
        return Ok(request);
    }
    if !same_origin(request.headers(), trust_proxy) {
        return Err(Error::Forbidden(
            "cross-site request refused: the Origin or Referer must be this server".into(),
        ));
    }
    if is_json(request.headers()) {
        return Ok(request);
    }
    let boundary = multipart_boundary(request.headers());
    let limit = if boundary.is_some() {
        MAX_UPLOAD_BYTES
    } else {
        MAX_FORM_BYTES
    };
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| Error::BadRequest("the form is too large".into()))?;
    let offered = match boundary {
        Some(boundary) => multipart_field(bytes.clone(), boundary, FIELD).await,
        None => form_field(&bytes, FIELD),
    };
    if !offered.is_some_and(|offered| secret::same(&offered, token)) {
        return Err(Error::Forbidden(
            "the form's CSRF token is missing or stale; reload the page and try again".into(),
        ));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The boundary of a `multipart/form-data` body.
fn multipart_boundary(headers: &HeaderMap) -> Option<String> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
        .then(|| multer::parse_boundary(content_type).ok())
        .flatten()
}

/// The first text value of `name` in a multipart body (the UI's forms put the token first,
/// so a large file after it is not parsed here).
pub async fn multipart_field(
    body: axum::body::Bytes,
    boundary: String,
    name: &str,
) -> Option<String> {
    let stream = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(name) && field.file_name().is_none() {
            return field.text().await.ok();
        }
    }
    None
}

/// The first value of `name` in a form-encoded body.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn origin_must_be_this_host() {
        let ok = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000"),
        ]);
        assert!(same_origin(&ok, false));
        let evil = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://evil.example"),
        ]);
        assert!(!same_origin(&evil, false));
        let referer = headers(&[("host", "a:1"), ("referer", "http://a:1/orders?x=1")]);
        assert!(same_origin(&referer, false));
        let neither = headers(&[("host", "a:1")]);
        assert!(!same_origin(&neither, false));
        let null = headers(&[("host", "a:1"), ("origin", "null")]);
        assert!(!same_origin(&null, false));
        let proxied = headers(&[
            ("host", "internal:3000"),
            ("x-forwarded-host", "fillbook.example"),
            ("origin", "https://fillbook.example"),
        ]);
        assert!(same_origin(&proxied, true));
        assert!(!same_origin(&proxied, false));
    }

    #[tokio::test]
    async fn multipart_fields_are_read() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc+\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.xml\"\r\n\
                    Content-Type: text/xml\r\n\r\n<x/>\r\n--XyZ--\r\n";
        let got = multipart_field(body.into(), "XyZ".into(), "csrf").await;
        assert_eq!(got.as_deref(), Some("abc+"));
        assert_eq!(
            multipart_field(body.into(), "XyZ".into(), "file").await,
            None
        );
        let h = headers(&[("content-type", "multipart/form-data; boundary=XyZ")]);
        assert_eq!(multipart_boundary(&h).as_deref(), Some("XyZ"));
    }

    #[test]
    fn form_fields_are_read() {
        assert_eq!(
            form_field(b"id=3&csrf=abc%2B", "csrf").as_deref(),
            Some("abc+")
        );
        assert_eq!(form_field(b"id=3", "csrf"), None);
    }
}

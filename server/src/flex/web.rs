//! Client of IB's Flex Web Service: `SendRequest` (token + query id → reference code and the
//! `GetStatement` URL), then `GetStatement` (token + reference code → the statement XML).
//!
//! "Try again" answers (1001, 1009, 1019; 1018 "too many requests" with a longer wait) are
//! retried with a capped exponential backoff within a bounded total time. Token and query
//! problems (1012, 1014, 1015, 1020 …) fail at once with what the operator must do. Requests
//! made with one token are spaced (at most one per second and ten per minute by default,
//! shared by every client in the process) and each has a timeout. The token never appears in
//! an error or a log line: URLs are shown with `t=***`.

use crate::error::{Error, Result};
use quick_xml::events::Event;
use quick_xml::Reader;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// IB's Flex Web Service.
pub const DEFAULT_BASE_URL: &str =
    "https://ndcdyn.interactivebrokers.com/AccountManagement/FlexWebService";

/// The User-Agent IB requires on every request.
pub const USER_AGENT: &str = concat!("Fillbook/", env!("CARGO_PKG_VERSION"));

/// What a Flex query is fetched with. The token is never shown by `Debug`.
#[derive(Clone)]
pub struct FlexCredentials {
    pub token: String,
    pub query_id: String,
}

impl std::fmt::Debug for FlexCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlexCredentials")
            .field("token", &"***")
            .field("query_id", &self.query_id)
            .finish()
    }
}

/// Where the service is, and how patiently and how often it is asked.
#[derive(Clone, Debug)]
pub struct FlexWebOptions {
    /// The service's base URL (`…/FlexWebService`), without a trailing slash.
    pub base_url: String,
    /// Timeout of each HTTP request.
    pub request_timeout: Duration,
    /// Least time between two requests made with one token.
    pub min_spacing: Duration,
    /// Most requests made with one token in any 60 seconds.
    pub max_per_minute: usize,
    /// First wait after "try again" (1001, 1009, 1019); doubled each time up to `max_delay`.
    pub initial_delay: Duration,
    /// First wait after "too many requests" (1018).
    pub throttled_delay: Duration,
    pub max_delay: Duration,
    /// Give up retrying "try again" answers after this long in all.
    pub total_timeout: Duration,
}

impl Default for FlexWebOptions {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_string(),
            request_timeout: Duration::from_secs(60),
            min_spacing: Duration::from_secs(1),
            max_per_minute: 10,
            initial_delay: Duration::from_secs(5),
            throttled_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(60),
            total_timeout: Duration::from_secs(600),
        }
    }
}

impl FlexWebOptions {
    /// The defaults with another base URL.
    pub fn with_base_url(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            ..Self::default()
        }
    }
}

/// A downloaded statement.
#[derive(Debug, Clone)]
pub struct FetchedStatement {
    /// The reference code `SendRequest` gave (it names the statement in IB's logs).
    pub reference_code: String,
    /// The statement document (`<FlexQueryResponse>`).
    pub body: Vec<u8>,
}

/// What to do about one of IB's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remedy {
    /// Ask again after the usual backoff.
    TryAgain,
    /// Ask again after a longer backoff (too many requests).
    SlowDown,
    /// Retrying cannot help: the operator must act.
    Operator(&'static str),
    /// Nothing the client can do now; a later run may succeed.
    Later,
}

/// How the client treats IB's error `code`.
pub fn remedy(code: u32) -> Remedy {
    match code {
        1001 | 1009 | 1019 => Remedy::TryAgain,
        1018 => Remedy::SlowDown,
        1012 => Remedy::Operator(
            "the Flex Web Service token has expired: generate a new one in Client Portal \
             (Settings → Account Settings → Reporting → Flex Web Service) and store it with \
             `fillbook flex credentials set`",
        ),
        1015 => Remedy::Operator(
            "the Flex Web Service token is invalid: check it in Client Portal (Settings → \
             Account Settings → Reporting → Flex Web Service) and store it again with \
             `fillbook flex credentials set`",
        ),
        1014 | 1020 => Remedy::Operator(
            "the Flex query id is invalid for this token: check the query's id in Client \
             Portal (Performance & Reports → Flex Queries) and store it with \
             `fillbook flex credentials set --query-id`",
        ),
        1010 => Remedy::Operator("legacy Flex queries are not supported: create a new one"),
        1011 => Remedy::Operator("the service account is inactive"),
        1013 => Remedy::Operator(
            "IB refused this IP address for the token (check the token's IP restriction)",
        ),
        1016 => Remedy::Operator("the account in the query is invalid"),
        _ => Remedy::Later,
    }
}

/// The error of an answer with IB's `code`.
fn service_error(code: u32, ib_message: &str, step: &str) -> Error {
    let ib_message = ib_message.trim();
    let (retryable, advice) = match remedy(code) {
        Remedy::Operator(advice) => (false, format!("; {advice}")),
        _ => (true, String::new()),
    };
    Error::FlexService {
        code: Some(code),
        message: format!("Flex Web Service {step} failed with error {code} ({ib_message}){advice}"),
        retryable,
    }
}

fn transport_error(step: &str, url: &str, e: reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    Error::FlexService {
        code: None,
        message: format!(
            "Flex Web Service {step} {kind} ({}): {}",
            redact(url),
            e.without_url()
        ),
        retryable: true,
    }
}

/// `url` with the value of its `t` (token) query parameter replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some(("t", _)) => "t=***".to_string(),
            _ => p.to_string(),
        })
        .collect();
    format!("{base}?{}", parts.join("&"))
}

/// The leaf elements of a `<FlexStatementResponse>` envelope, or `None` when the document
/// is something else (a statement).
fn envelope(body: &[u8]) -> Result<Option<HashMap<String, String>>> {
    let mut reader = Reader::from_reader(body);
    let mut buf = Vec::new();
    let mut fields = HashMap::new();
    let mut current: Option<String> = None;
    let mut seen_root = false;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| Error::FlexService {
                code: None,
                message: format!("the Flex Web Service answered with malformed XML: {e}"),
                retryable: true,
            })?;
        match event {
            Event::Start(e) | Event::Empty(e) if !seen_root => {
                if e.name().as_ref() != b"FlexStatementResponse" {
                    return Ok(None);
                }
                seen_root = true;
            }
            Event::Start(e) => {
                current = Some(String::from_utf8_lossy(e.name().as_ref()).into_owned());
            }
            Event::Text(t) => {
                if let Some(name) = &current {
                    let text = t
                        .decode()
                        .map(|c| c.into_owned())
                        .unwrap_or_else(|_| String::from_utf8_lossy(&t).into_owned());
                    fields.entry(name.clone()).or_insert(text);
                }
            }
            Event::End(_) => current = None,
            Event::Eof => break,
            Event::DocType(_) => {
                return Err(Error::FlexService {
                    code: None,
                    message: "the Flex Web Service answered with a document type declaration"
                        .into(),
                    retryable: true,
                })
            }
            _ => {}
        }
        buf.clear();
    }
    if !seen_root {
        return Err(Error::FlexService {
            code: None,
            message: "the Flex Web Service answered with an empty document".into(),
            retryable: true,
        });
    }
    Ok(Some(fields))
}

/// One token's recent requests (spacing and per-minute limit).
type Window = Arc<tokio::sync::Mutex<VecDeque<Instant>>>;

/// Per token (by hash), shared by every client in the process.
static WINDOWS: LazyLock<Mutex<HashMap<String, Window>>> = LazyLock::new(Default::default);

fn window_of(token: &str) -> Window {
    let key = hex::encode(Sha256::digest(token.as_bytes()));
    let mut windows = WINDOWS.lock().unwrap_or_else(|e| e.into_inner());
    windows.entry(key).or_default().clone()
}

/// The Flex Web Service client.
#[derive(Clone, Debug)]
pub struct FlexWebClient {
    http: reqwest::Client,
    options: FlexWebOptions,
}

/// What one request got back.
enum Answer {
    Envelope(HashMap<String, String>),
    Statement(Vec<u8>),
}

impl FlexWebClient {
    pub fn new(options: FlexWebOptions) -> Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(options.request_timeout)
            .connect_timeout(options.request_timeout.min(Duration::from_secs(30)))
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { http, options })
    }

    pub fn options(&self) -> &FlexWebOptions {
        &self.options
    }

    /// Waits until a request with this token keeps the spacing and per-minute limits, and
    /// records it.
    async fn pace(&self, token: &str) {
        let window = window_of(token);
        let mut sent = window.lock().await;
        loop {
            let now = Instant::now();
            while sent
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
            {
                sent.pop_front();
            }
            let mut ready = now;
            if let Some(last) = sent.back() {
                ready = ready.max(*last + self.options.min_spacing);
            }
            if sent.len() >= self.options.max_per_minute.max(1) {
                if let Some(first) = sent.front() {
                    ready = ready.max(*first + Duration::from_secs(60));
                }
            }
            if ready <= now {
                sent.push_back(now);
                return;
            }
            tokio::time::sleep_until(ready).await;
        }
    }

    async fn get(&self, step: &str, url: &str, token: &str, q: &str) -> Result<Answer> {
        self.pace(token).await;
        let shown = redact(&format!("{url}?t={token}&q={q}&v=3"));
        tracing::debug!(url = %shown, "Flex Web Service request");
        let response = self
            .http
            .get(url)
            .query(&[("t", token), ("q", q), ("v", "3")])
            .send()
            .await
            .map_err(|e| transport_error(step, &shown, e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_error(step, &shown, e))?;
        if !status.is_success() {
            return Err(Error::FlexService {
                code: None,
                message: format!("Flex Web Service {step} answered HTTP {status} ({shown})"),
                retryable: status.is_server_error() || status.as_u16() == 429,
            });
        }
        Ok(match envelope(&body)? {
            Some(fields) => Answer::Envelope(fields),
            None => Answer::Statement(body.to_vec()),
        })
    }

    /// Asks `step` until it answers something other than "try again", within the total
    /// time budget that started at `started`.
    async fn ask(
        &self,
        step: &str,
        url: &str,
        token: &str,
        q: &str,
        started: Instant,
    ) -> Result<Answer> {
        let mut tries: u32 = 0;
        loop {
            let answer = self.get(step, url, token, q).await?;
            let fields = match &answer {
                Answer::Envelope(f) if f.get("Status").map(|s| s.trim()) != Some("Success") => f,
                _ => return Ok(answer),
            };
            let code: u32 = fields
                .get("ErrorCode")
                .and_then(|c| c.trim().parse().ok())
                .unwrap_or(0);
            let ib_message = fields.get("ErrorMessage").map_or("", String::as_str);
            let first = match remedy(code) {
                Remedy::TryAgain => self.options.initial_delay,
                Remedy::SlowDown => self.options.throttled_delay,
                _ => return Err(service_error(code, ib_message, step)),
            };
            let delay = first
                .saturating_mul(2u32.saturating_pow(tries))
                .min(self.options.max_delay);
            if started.elapsed() + delay > self.options.total_timeout {
                return Err(Error::FlexService {
                    code: Some(code),
                    message: format!(
                        "Flex Web Service {step} still answered error {code} ({}) after {} \
                         tries in {:.0} s; try again later",
                        ib_message.trim(),
                        tries + 1,
                        started.elapsed().as_secs_f64()
                    ),
                    retryable: true,
                });
            }
            tracing::info!(
                step,
                code,
                delay_ms = delay.as_millis() as u64,
                "Flex Web Service asks to try again"
            );
            tokio::time::sleep(delay).await;
            tries += 1;
        }
    }

    /// Runs the two steps and returns the statement document.
    pub async fn fetch_statement(&self, credentials: &FlexCredentials) -> Result<FetchedStatement> {
        let started = Instant::now();
        let token = credentials.token.as_str();
        let send_url = format!("{}/SendRequest", self.options.base_url);
        let fields = match self
            .ask(
                "SendRequest",
                &send_url,
                token,
                &credentials.query_id,
                started,
            )
            .await?
        {
            Answer::Envelope(f) => f,
            Answer::Statement(_) => {
                return Err(Error::FlexService {
                    code: None,
                    message: "Flex Web Service SendRequest answered with a statement instead of \
                              a reference code"
                        .into(),
                    retryable: true,
                })
            }
        };
        let missing = |what: &str| Error::FlexService {
            code: None,
            message: format!("Flex Web Service SendRequest succeeded without a {what}"),
            retryable: true,
        };
        let reference_code = fields
            .get("ReferenceCode")
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .ok_or_else(|| missing("ReferenceCode"))?;
        // The token goes to this URL: over https whenever the service itself is.
        let scheme = match self.options.base_url.starts_with("https://") {
            true => "https://",
            false => "http",
        };
        let get_url = fields
            .get("Url")
            .map(|u| u.trim().to_string())
            .filter(|u| u.starts_with(scheme))
            .ok_or_else(|| missing("GetStatement Url (https)"))?;
        match self
            .ask("GetStatement", &get_url, token, &reference_code, started)
            .await?
        {
            Answer::Statement(body) => Ok(FetchedStatement {
                reference_code,
                body,
            }),
            Answer::Envelope(_) => Err(Error::FlexService {
                code: None,
                message: "Flex Web Service GetStatement answered Success without a statement"
                    .into(),
                retryable: true,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_the_token() {
        assert_eq!(
            redact("https://h/x/SendRequest?t=SECRET&q=1&v=3"),
            "https://h/x/SendRequest?t=***&q=1&v=3"
        );
        assert_eq!(redact("https://h/x"), "https://h/x");
    }

    #[test]
    fn reads_envelopes_and_tells_statements_apart() {
        let ok = br#"<?xml version="1.0"?><FlexStatementResponse timestamp="x">
            <Status>Success</Status><ReferenceCode>42</ReferenceCode>
            <Url>https://h/GetStatement</Url></FlexStatementResponse>"#;
        let f = envelope(ok).unwrap().unwrap();
        assert_eq!(f["ReferenceCode"], "42");
        assert_eq!(f["Url"], "https://h/GetStatement");
        assert!(envelope(b"<FlexQueryResponse/>").unwrap().is_none());
        assert!(envelope(b"").is_err());
    }

    #[test]
    fn classifies_codes() {
        assert_eq!(remedy(1019), Remedy::TryAgain);
        assert_eq!(remedy(1018), Remedy::SlowDown);
        assert!(matches!(remedy(1012), Remedy::Operator(_)));
        assert!(matches!(remedy(1020), Remedy::Operator(_)));
        assert_eq!(remedy(1003), Remedy::Later);
        let e = service_error(1012, "Token has expired.", "SendRequest");
        assert!(
            matches!(
                &e,
                Error::FlexService {
                    retryable: false,
                    code: Some(1012),
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("1012"));
    }

    #[test]
    fn debug_hides_the_token() {
        let c = FlexCredentials {
            token: "SECRET".into(),
            query_id: "1".into(),
        };
        assert!(!format!("{c:?}").contains("SECRET"));
    }
}

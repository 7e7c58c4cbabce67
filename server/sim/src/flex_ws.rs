//! A simulated IB Flex Web Service: real HTTP on loopback with IB's two steps
//! (`…/FlexWebService/SendRequest`, then `…/GetStatement`) and IB's answers — the token
//! and query id it was started with are checked (wrong token 1015, expired-token mode 1012,
//! unknown query 1020, unknown reference code 1017), a fault can answer an error code for
//! the first N calls, and every answer can be delayed. The statement files are served in
//! order, one per `SendRequest`, the last one repeated.

use crate::error::{Result, SimError as Error};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The path under which the service answers, as IB's.
pub const BASE_PATH: &str = "/AccountManagement/FlexWebService";

/// An error code answered for the first `times` calls of its step (every call when `None`).
/// Codes of statement generation (1001, 1004–1009, 1019, 1021) fault `GetStatement`; all
/// others fault `SendRequest`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlexFault {
    pub code: u32,
    pub times: Option<u32>,
}

impl FlexFault {
    /// Reads `CODE` or `CODExN`.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(
                "fail_with",
                format!("`{text}` is not CODE or CODExN (e.g. 1019x2)"),
            )
        };
        let (code, times) = match text.split_once(['x', 'X']) {
            Some((c, n)) => (c, Some(n.parse().map_err(|_| bad())?)),
            None => (text, None),
        };
        Ok(Self {
            code: code.parse().map_err(|_| bad())?,
            times,
        })
    }

    fn on_get_statement(&self) -> bool {
        matches!(self.code, 1001 | 1004..=1009 | 1019 | 1021)
    }
}

/// What the simulator serves and checks.
#[derive(Clone, Debug, Default)]
pub struct FlexSimConfig {
    pub token: String,
    pub query_id: String,
    /// Statement documents, one per `SendRequest` in order, the last one repeated.
    pub statements: Vec<Vec<u8>>,
    /// Answer 1012 (token expired) to every `SendRequest`.
    pub token_expired: bool,
    pub fault: Option<FlexFault>,
    /// Wait this long before each answer.
    pub delay: Duration,
}

/// Calls the simulator has answered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlexSimCounts {
    pub send_request: u32,
    pub get_statement: u32,
}

#[derive(Default)]
struct SimState {
    counts: FlexSimCounts,
    faults_answered: u32,
    /// Reference code → index of the statement it names.
    issued: HashMap<String, usize>,
    next_reference: u64,
    /// The User-Agent of every call, in order.
    user_agents: Vec<Option<String>>,
}

struct Shared {
    config: FlexSimConfig,
    addr: SocketAddr,
    state: Mutex<SimState>,
}

/// A running simulator; dropping it stops the server.
pub struct FlexSimHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _stop: watch::Sender<bool>,
}

impl FlexSimHandle {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL clients use (`http://127.0.0.1:PORT/AccountManagement/FlexWebService`).
    pub fn base_url(&self) -> String {
        format!("http://{}{BASE_PATH}", self.addr)
    }

    /// Calls answered so far.
    pub fn counts(&self) -> FlexSimCounts {
        self.lock().counts.clone()
    }

    /// The User-Agent header of each call, in order (`None`: none was sent).
    pub fn user_agents(&self) -> Vec<Option<String>> {
        self.lock().user_agents.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SimState> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Starts the simulator on a free loopback port.
pub async fn start(config: FlexSimConfig) -> Result<FlexSimHandle> {
    start_on(config, 0).await
}

/// Starts the simulator on `port` of 127.0.0.1 (0 picks a free one).
pub async fn start_on(config: FlexSimConfig, port: u16) -> Result<FlexSimHandle> {
    if config.statements.is_empty() {
        return Err(Error::invalid(
            "statement",
            "the Flex simulator needs at least one statement file",
        ));
    }
    let (listener, addr) = super::bind_loopback(port).await?;
    let shared = Arc::new(Shared {
        config,
        addr,
        state: Mutex::new(SimState::default()),
    });
    let app = Router::new()
        .route(&format!("{BASE_PATH}/SendRequest"), get(send_request))
        .route(&format!("{BASE_PATH}/GetStatement"), get(get_statement))
        .with_state(shared.clone());
    let (stop, mut stopped) = watch::channel(false);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.changed().await;
            })
            .await;
    });
    Ok(FlexSimHandle {
        addr,
        shared,
        _stop: stop,
    })
}

#[derive(Deserialize)]
struct Params {
    t: Option<String>,
    q: Option<String>,
    v: Option<String>,
}

fn xml(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml;charset=utf-8")],
        body,
    )
        .into_response()
}

fn timestamp() -> String {
    chrono::Utc::now()
        .format("%d %B, %Y %I:%M %p UTC")
        .to_string()
}

/// IB's failure envelope.
fn fail(code: u32) -> Response {
    let message = match code {
        1001 => "Statement could not be generated at this time. Please try again shortly.",
        1009 => "The server is under heavy load. Statement could not be generated at this time. Please try again shortly.",
        1012 => "Token has expired.",
        1014 => "Query is invalid.",
        1015 => "Token is invalid.",
        1017 => "Reference code is invalid.",
        1018 => "Too many requests have been made from this token. Please try again shortly.",
        1019 => "Statement generation in progress. Please try again shortly.",
        1020 => "Invalid request or unable to validate request.",
        _ => "Statement could not be retrieved at this time. Please try again shortly.",
    };
    xml(format!(
        "<FlexStatementResponse timestamp='{}'>\n<Status>Fail</Status>\n<ErrorCode>{code}</ErrorCode>\n<ErrorMessage>{message}</ErrorMessage>\n</FlexStatementResponse>\n",
        timestamp()
    ))
}

/// Checks what every call needs; returns the error answer if any.
fn check_call(
    shared: &Shared,
    headers: &HeaderMap,
    p: &Params,
    get_statement: bool,
) -> Option<Response> {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    state.user_agents.push(agent.clone());
    if get_statement {
        state.counts.get_statement += 1;
    } else {
        state.counts.send_request += 1;
    }
    if agent.is_none() {
        return Some((StatusCode::FORBIDDEN, "a User-Agent header is required").into_response());
    }
    if p.v.as_deref() != Some("3") {
        return Some(fail(1020));
    }
    if p.t.as_deref() != Some(shared.config.token.as_str()) {
        return Some(fail(1015));
    }
    if shared.config.token_expired {
        return Some(fail(1012));
    }
    if let Some(fault) = &shared.config.fault {
        let applies = fault.on_get_statement() == get_statement;
        if applies && fault.times.is_none_or(|n| state.faults_answered < n) {
            state.faults_answered += 1;
            return Some(fail(fault.code));
        }
    }
    None
}

async fn send_request(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Response {
    tokio::time::sleep(shared.config.delay).await;
    if let Some(answer) = check_call(&shared, &headers, &p, false) {
        return answer;
    }
    if p.q.as_deref() != Some(shared.config.query_id.as_str()) {
        return fail(1020);
    }
    let reference = {
        let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        let index =
            (state.counts.send_request as usize - 1).min(shared.config.statements.len() - 1);
        state.next_reference += 1;
        let reference = format!("{}", 7_300_000_000u64 + state.next_reference);
        state.issued.insert(reference.clone(), index);
        reference
    };
    xml(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<FlexStatementResponse timestamp='{}'>\n<Status>Success</Status>\n<ReferenceCode>{reference}</ReferenceCode>\n<Url>http://{}{BASE_PATH}/GetStatement</Url>\n</FlexStatementResponse>\n",
        timestamp(),
        shared.addr
    ))
}

async fn get_statement(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Response {
    tokio::time::sleep(shared.config.delay).await;
    if let Some(answer) = check_call(&shared, &headers, &p, true) {
        return answer;
    }
    let index = {
        let state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        p.q.as_ref().and_then(|q| state.issued.get(q).copied())
    };
    match index {
        Some(i) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/xml;charset=utf-8")],
            shared.config.statements[i].clone(),
        )
            .into_response(),
        None => fail(1017),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_faults() {
        assert_eq!(
            FlexFault::parse("1019x2").unwrap(),
            FlexFault {
                code: 1019,
                times: Some(2)
            }
        );
        assert_eq!(FlexFault::parse("1012").unwrap().times, None);
        assert!(FlexFault::parse("x2").is_err());
        assert!(FlexFault::parse("1019xa").is_err());
        assert!(FlexFault::parse("1019").unwrap().on_get_statement());
        assert!(!FlexFault::parse("1018").unwrap().on_get_statement());
    }
}

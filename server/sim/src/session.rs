//! One client connection to the simulator: the TWS handshake, StartApi, then requests
//! answered from the shared [`Book`] through a writer task that applies the faults.

use super::book::{Book, PARTIAL_REST_DELAY};
use super::encode::error_frame;
use super::faults::Faults;
use super::proto::{self, reply, request, PROTOBUF_OFFSET};
use prost::Message;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

/// Lowest and highest server versions the simulator announces (the protobuf era).
pub const MIN_SERVER_VERSION: i32 = 213;
pub const MAX_SERVER_VERSION: i32 = 226;

/// Longest frame the simulator accepts from a client.
const MAX_REQUEST_FRAME: usize = 1 << 20;

/// Connected clients by session: each one's client id and the channel its replies go to.
pub type Connected = HashMap<u64, (i32, mpsc::UnboundedSender<Vec<u8>>)>;

/// State shared by the listener and every connection.
pub struct Shared {
    pub book: Mutex<Book>,
    pub faults: RwLock<Faults>,
    pub sessions: AtomicU64,
    /// Connected clients by session: their client id and where their replies go.
    pub connected: Mutex<Connected>,
    /// Set once the first client has completed its handshake.
    pub first_client: watch::Sender<bool>,
}

impl Shared {
    /// Shared state around `book` and `faults`.
    pub fn new(book: Book, faults: Faults) -> Self {
        Shared {
            book: Mutex::new(book),
            faults: RwLock::new(faults),
            sessions: AtomicU64::new(0),
            connected: Mutex::new(HashMap::new()),
            first_client: watch::channel(false).0,
        }
    }

    pub(crate) fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn connected(&self) -> std::sync::MutexGuard<'_, Connected> {
        self.connected.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Pushes `frames` about an order of `client_id` to the master client's sessions other
    /// than `from` (the session that placed the order already has them).
    pub(crate) fn to_master(&self, from: Option<u64>, client_id: Option<i32>, frames: &[u8]) {
        if frames.is_empty() {
            return;
        }
        let master = self.book().master_client_id();
        for (session, (id, tx)) in self.connected().iter() {
            let wanted = Some(*id) == master || Some(*id) == client_id;
            if wanted && Some(*session) != from {
                let _ = tx.send(frames.to_vec());
            }
        }
    }
}

/// Releases a connection's client id when the connection ends.
struct ClientGuard {
    shared: Arc<Shared>,
    client_id: i32,
    session: u64,
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.shared.connected().remove(&self.session);
        self.shared.book().release_client(self.client_id);
    }
}

/// Serves one connection until the client leaves, a fault ends it, shutdown, or a restart
/// of the listener (`restarts` changes).
pub async fn serve(
    stream: TcpStream,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
    mut restarts: watch::Receiver<u64>,
) {
    let session = shared.sessions.fetch_add(1, Ordering::Relaxed) + 1;
    let faults = shared
        .faults
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let run = async {
        let Some(client_id) = handshake(&mut rd, &mut wr, &shared, &faults, session).await else {
            return;
        };
        let _guard = ClientGuard {
            shared: shared.clone(),
            client_id,
            session,
        };
        let (tx, rx) = mpsc::unbounded_channel::<Vec<u8>>();
        shared.connected().insert(session, (client_id, tx.clone()));
        shared
            .first_client
            .send_if_modified(|first| !std::mem::replace(first, true));
        let drop_on_place = faults.drop_on_place;
        let mut writer = tokio::spawn(write_loop(wr, rx, faults));
        loop {
            tokio::select! {
                frame = read_frame(&mut rd) => match frame {
                    Ok((id, body)) if drop_on_place && id == request::PLACE_ORDER => {
                        if let Ok(req) = proto::PlaceOrderRequest::decode(body.as_slice()) {
                            let (frames, _) = shared.book().place(client_id, req);
                            shared.to_master(Some(session), None, &frames);
                        }
                        tracing::info!("ib-sim: accepted an order and dropped the connection (fault)");
                        break;
                    }
                    Ok((id, body)) => answer(id, &body, client_id, session, &shared, &tx),
                    Err(_) => break,
                },
                _ = &mut writer => break,
            }
        }
    };
    tokio::select! {
        _ = run => {}
        _ = shutdown.changed() => {}
        _ = restarts.changed() => tracing::info!("ib-sim: session {session} ended by a restart"),
    }
}

/// Runs the handshake and StartApi; the client id on success.
async fn handshake(
    rd: &mut (impl AsyncRead + Unpin),
    wr: &mut OwnedWriteHalf,
    shared: &Arc<Shared>,
    faults: &Faults,
    session: u64,
) -> Option<i32> {
    let mut prefix = [0u8; 4];
    rd.read_exact(&mut prefix).await.ok()?;
    if &prefix != b"API\0" {
        tracing::debug!("ib-sim: not an API handshake: {prefix:?}");
        return None;
    }
    let len = rd.read_u32().await.ok()? as usize;
    if len > MAX_REQUEST_FRAME {
        return None;
    }
    let mut range = vec![0u8; len];
    rd.read_exact(&mut range).await.ok()?;
    if faults.refuse_handshake {
        tracing::info!("ib-sim: refusing a handshake (fault)");
        return None;
    }
    let client_max = String::from_utf8_lossy(&range)
        .rsplit("..")
        .next()
        .and_then(|v| v.trim_start_matches('v').parse::<i32>().ok())
        .unwrap_or(MAX_SERVER_VERSION);
    let version = faults
        .server_version
        .unwrap_or_else(|| client_max.clamp(MIN_SERVER_VERSION, MAX_SERVER_VERSION));
    let now = chrono::Utc::now().format("%Y%m%d %H:%M:%S");
    let ack = format!("{version}\0{now} UTC\0");
    let mut frame = (ack.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(ack.as_bytes());
    wr.write_all(&frame).await.ok()?;

    let (id, body) = read_frame(rd).await.ok()?;
    if id != request::START_API {
        tracing::debug!("ib-sim: expected StartApi, got message {id}");
        return None;
    }
    let client_id = proto::StartApiRequest::decode(body.as_slice())
        .ok()?
        .client_id
        .unwrap_or(0);
    let (claimed, next_id, accounts) = {
        let mut book = shared.book();
        (
            book.claim_client(client_id),
            book.next_order_id(),
            book.accounts_list(),
        )
    };
    if !claimed {
        tracing::info!("ib-sim: client id {client_id} is already connected; answering 326");
        let msg =
            "Unable to connect as the client id is already in use. Retry with a unique client id.";
        let _ = wr.write_all(&error_frame(-1, 326, msg)).await;
        return None;
    }
    let mut out = proto::frame(
        reply::NEXT_VALID_ID,
        &proto::NextValidId {
            order_id: Some(next_id),
        },
    );
    out.extend(proto::frame(
        reply::MANAGED_ACCOUNTS,
        &proto::ManagedAccounts {
            accounts_list: Some(accounts),
        },
    ));
    out.extend(error_frame(
        -1,
        2104,
        "Market data farm connection is OK:usfarm",
    ));
    out.extend(error_frame(
        -1,
        2106,
        "HMDS data farm connection is OK:ushmds",
    ));
    wr.write_all(&out).await.ok()?;
    tracing::debug!("ib-sim: client {client_id} connected (session {session})");
    Some(client_id)
}

/// Reads one `[len][msg id][body]` frame; the message id without the protobuf offset.
async fn read_frame(rd: &mut (impl AsyncRead + Unpin)) -> std::io::Result<(u32, Vec<u8>)> {
    let len = rd.read_u32().await? as usize;
    if !(4..=MAX_REQUEST_FRAME).contains(&len) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("request frame of {len} bytes"),
        ));
    }
    let mut body = vec![0u8; len];
    rd.read_exact(&mut body).await?;
    let id = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
    body.drain(..4);
    Ok((id.checked_sub(PROTOBUF_OFFSET).unwrap_or(id), body))
}

/// Answers one request.
fn answer(
    id: u32,
    body: &[u8],
    client_id: i32,
    session: u64,
    shared: &Arc<Shared>,
    tx: &mpsc::UnboundedSender<Vec<u8>>,
) {
    let reply = match id {
        request::IDS => proto::frame(
            reply::NEXT_VALID_ID,
            &proto::NextValidId {
                order_id: Some(shared.book().next_order_id()),
            },
        ),
        request::MANAGED_ACCOUNTS => proto::frame(
            reply::MANAGED_ACCOUNTS,
            &proto::ManagedAccounts {
                accounts_list: Some(shared.book().accounts_list()),
            },
        ),
        request::EXECUTIONS => match proto::ExecutionRequest::decode(body) {
            Ok(req) => shared.book().executions_reply(
                req.req_id.unwrap_or(0),
                &req.execution_filter.unwrap_or_default(),
                session,
            ),
            Err(e) => return tracing::warn!("ib-sim: undecodable executions request: {e}"),
        },
        request::POSITIONS => shared.book().positions_reply(),
        request::OPEN_ORDERS => shared.book().open_orders_reply(Some(client_id)),
        request::ALL_OPEN_ORDERS | request::AUTO_OPEN_ORDERS => {
            shared.book().open_orders_reply(None)
        }
        request::COMPLETED_ORDERS => shared.book().completed_orders_reply(),
        request::PLACE_ORDER => match proto::PlaceOrderRequest::decode(body) {
            Ok(req) => {
                let (now, rest) = shared.book().place(client_id, req);
                shared.to_master(Some(session), None, &now);
                if let Some(rest) = rest {
                    let (shared, tx) = (shared.clone(), tx.clone());
                    tokio::spawn(async move {
                        tokio::time::sleep(PARTIAL_REST_DELAY).await;
                        let frames = shared.book().fill_deferred(&rest);
                        shared.to_master(Some(session), None, &frames);
                        let _ = tx.send(frames);
                    });
                }
                now
            }
            Err(e) => return tracing::warn!("ib-sim: undecodable order: {e}"),
        },
        request::CANCEL_ORDER => match proto::CancelOrderRequest::decode(body) {
            Ok(req) => shared.book().cancel(client_id, req.order_id.unwrap_or(0)),
            Err(e) => return tracing::warn!("ib-sim: undecodable cancel: {e}"),
        },
        request::CANCEL_POSITIONS | request::START_API => return,
        other => return tracing::debug!("ib-sim: ignoring request message {other}"),
    };
    let _ = tx.send(reply);
}

/// Writes reply batches, applying delay, drop and malformed-frame faults per frame.
async fn write_loop(
    mut wr: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    faults: Faults,
) {
    let mut sent = 0u64;
    let mut corrupted = false;
    while let Some(batch) = rx.recv().await {
        if !faults.per_frame() {
            if wr.write_all(&batch).await.is_err() {
                return;
            }
            continue;
        }
        for frame in frames(&batch) {
            if faults.drop_after.is_some_and(|n| sent >= n) {
                tracing::info!("ib-sim: dropping the connection after {sent} frames (fault)");
                let _ = wr.shutdown().await;
                return;
            }
            if faults.delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(faults.delay_ms)).await;
            }
            let corrupt = !corrupted
                && faults.malformed_after.is_some_and(|n| sent >= n)
                && corruptible(frame);
            let written = if corrupt {
                corrupted = true;
                tracing::info!("ib-sim: sending a malformed frame after {sent} frames (fault)");
                wr.write_all(&corrupt_frame(frame)).await
            } else {
                wr.write_all(frame).await
            };
            if written.is_err() {
                return;
            }
            sent += 1;
        }
    }
}

/// Splits a batch of concatenated frames.
fn frames(batch: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = batch;
    std::iter::from_fn(move || {
        if rest.len() < 4 {
            return None;
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let (frame, tail) = rest.split_at((4 + len).min(rest.len()));
        rest = tail;
        Some(frame)
    })
}

fn message_id(frame: &[u8]) -> u32 {
    u32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]).saturating_sub(PROTOBUF_OFFSET)
}

/// Frames whose corruption the client can route to the request it answers: their
/// routing ids sit in field 1 and field 2 is a sub-message or a string.
fn corruptible(frame: &[u8]) -> bool {
    frame.len() >= 8
        && matches!(
            message_id(frame),
            reply::EXECUTION_DETAILS
                | reply::OPEN_ORDER
                | reply::ORDER_STATUS
                | reply::POSITION
                | reply::COMPLETED_ORDER
        )
}

/// The frame with a field 2 appended whose contents are not valid protobuf for the
/// message (invalid UTF-8 in a string), so decoding the body fails.
fn corrupt_frame(frame: &[u8]) -> Vec<u8> {
    const GARBAGE: [u8; 6] = [0x12, 0x04, 0x12, 0x02, 0xFF, 0xFE];
    let len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize + GARBAGE.len();
    let mut out = (len as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&frame[4..]);
    out.extend_from_slice(&GARBAGE);
    out
}

//! Errors talking to IB Gateway, each with a message an operator can act on, and their
//! mapping from the `ibapi` client's errors.

/// What went wrong talking to IB Gateway.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IbError {
    /// Nothing listens on the gateway's API port.
    #[error("could not connect to IB Gateway at {addr} within {secs} s: connection refused (is the gateway running with API access enabled?)")]
    ConnectionRefused { addr: String, secs: u64 },
    /// The socket could not be opened for another reason (unknown host, unreachable …).
    #[error("could not connect to IB Gateway at {addr}: {reason} (check --ib-host and --ib-port)")]
    ConnectFailed { addr: String, reason: String },
    /// The port answered but the handshake did not complete in time.
    #[error("could not connect to IB Gateway at {addr} within {secs} s: no answer to the API handshake (is this the gateway's API port, and is the gateway logged in?)")]
    ConnectTimeout { addr: String, secs: u64 },
    /// The gateway closed the socket during the handshake.
    #[error("IB Gateway at {addr} rejected the connection during the handshake: {reason} (allow connections from this host under API > Settings > Trusted IPs)")]
    HandshakeRejected { addr: String, reason: String },
    /// The gateway is older than the protobuf protocol the client speaks.
    #[error("IB Gateway at {addr} announced server version {found}, but Fillbook needs {required} or later (upgrade IB Gateway / TWS)")]
    UnsupportedServerVersion {
        addr: String,
        required: i32,
        found: i32,
    },
    /// IB error 326: another session holds this client id.
    #[error("IB Gateway at {addr} refused client id {client_id}: it is already in use by another connection (IB error 326); set another --ib-client-id or close the other session")]
    ClientIdInUse { addr: String, client_id: i32 },
    /// The connection dropped while a request was in flight.
    #[error("IB Gateway closed the connection while {operation}; the request was incomplete and nothing from it was used — retry once the gateway is reachable")]
    Disconnected { operation: String },
    /// A message from the gateway could not be decoded.
    #[error("IB Gateway sent a message that could not be decoded while {operation}: {detail}")]
    Malformed { operation: String, detail: String },
    /// The client fell behind the gateway and dropped messages of an answer.
    #[error("Fillbook could not keep up with IB Gateway while {operation} ({detail}); the incomplete answer was discarded — retry")]
    Overrun { operation: String, detail: String },
    /// The gateway did not answer in time.
    #[error("IB Gateway did not answer while {operation} within {secs} s")]
    Timeout { operation: String, secs: u64 },
    /// An error the gateway reported for a request.
    #[error("IB Gateway error {code} while {operation}: {message}")]
    Gateway {
        operation: String,
        code: i32,
        message: String,
    },
    /// Anything else the client library reported.
    #[error("IB Gateway client error while {operation}: {detail}")]
    Client { operation: String, detail: String },
}

impl IbError {
    /// Maps an `ibapi` error raised while `operation` (e.g. "reading executions").
    pub fn from_ibapi(operation: &str, err: ibapi::Error) -> Self {
        use ibapi::Error as E;
        let operation = operation.to_string();
        match err {
            E::ConnectionReset
            | E::ConnectionFailed
            | E::Shutdown
            | E::UnexpectedEndOfStream
            | E::InvalidFrame(_) => IbError::Disconnected { operation },
            E::Io(ref io) if is_connection_lost(io.kind()) => IbError::Disconnected { operation },
            E::ProtobufDecode(_)
            | E::Parse(..)
            | E::UnexpectedWireFormat(_)
            | E::UnexpectedResponse(_)
            | E::ParseInt(_)
            | E::FromUtf8(_) => IbError::Malformed {
                operation,
                detail: err.to_string(),
            },
            E::Notice(notice) if notice.code == ibapi::SUBSCRIPTION_LAG_CODE => IbError::Overrun {
                operation,
                detail: notice.message,
            },
            E::Notice(notice) => IbError::Gateway {
                operation,
                code: notice.code,
                message: notice.message,
            },
            E::Timeout => IbError::Timeout {
                operation,
                secs: 30,
            },
            other => IbError::Client {
                operation,
                detail: other.to_string(),
            },
        }
    }

    /// True when the gateway (or the way to it) failed rather than the request:
    /// retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            IbError::ConnectionRefused { .. }
                | IbError::ConnectTimeout { .. }
                | IbError::Disconnected { .. }
                | IbError::Overrun { .. }
                | IbError::Timeout { .. }
                | IbError::ClientIdInUse { .. }
        )
    }
}

fn is_connection_lost(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        kind,
        K::ConnectionReset | K::ConnectionAborted | K::UnexpectedEof | K::BrokenPipe
    )
}

#[cfg(test)]
mod tests {
    use super::IbError;

    fn notice(code: i32, message: &str) -> ibapi::Error {
        ibapi::Error::Notice(ibapi::Notice {
            request_id: None,
            code,
            message: message.into(),
            error_time: None,
            advanced_order_reject_json: String::new(),
        })
    }

    #[test]
    fn maps_client_errors_to_what_the_operator_can_do() {
        let lag = IbError::from_ibapi(
            "reading executions",
            notice(ibapi::SUBSCRIPTION_LAG_CODE, "fell behind"),
        );
        assert!(
            matches!(lag, IbError::Overrun { .. }) && lag.is_transient(),
            "{lag:?}"
        );
        let gw = IbError::from_ibapi("placing an order", notice(201, "Order rejected"));
        assert_eq!(
            gw.to_string(),
            "IB Gateway error 201 while placing an order: Order rejected"
        );
        assert!(!gw.is_transient());
        let reset = IbError::from_ibapi("reading positions", ibapi::Error::ConnectionReset);
        assert!(matches!(reset, IbError::Disconnected { .. }));
        let eof = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        assert!(matches!(
            IbError::from_ibapi("x", ibapi::Error::Io(eof)),
            IbError::Disconnected { .. }
        ));
    }
}

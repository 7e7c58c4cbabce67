//! Faults the simulator can inject into a connection. A connection takes a copy of the
//! faults in force when it is accepted, so a test can change them between sessions with
//! [`super::SimHandle::set_faults`].

use serde::{Deserialize, Serialize};

/// Faults applied to each new connection. The default injects none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Close the socket after sending this many reply frames (handshake frames not
    /// counted): the client sees the connection reset mid-stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_after: Option<u64>,
    /// Sleep this long before each reply frame (handshake frames not delayed).
    #[serde(default)]
    pub delay_ms: u64,
    /// Close the socket as soon as the client's handshake arrives.
    #[serde(default)]
    pub refuse_handshake: bool,
    /// After this many reply frames, corrupt the next data frame (execution, position,
    /// open/completed order or order status) so its protobuf body cannot be decoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malformed_after: Option<u64>,
    /// Announce this server version instead of the client's highest one
    /// (below 213 the `ibapi` client refuses the gateway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<i32>,
    /// Accept each placed order into the book, then close the connection before answering:
    /// the client cannot know whether its order exists.
    #[serde(default)]
    pub drop_on_place: bool,
}

impl Faults {
    /// True when replies must be written frame by frame (a fault counts or delays them).
    pub(crate) fn per_frame(&self) -> bool {
        self.drop_after.is_some() || self.malformed_after.is_some() || self.delay_ms > 0
    }
}

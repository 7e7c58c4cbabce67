//! Orders behind the confirmation guard: creating an order validates it and returns a
//! summary plus a single-use confirmation token with an expiry; only confirming with that
//! token queues it for submission. Every status change is an `order_events` row.
//!
//! Statuses: `pending_confirmation` → `queued` → `submitting` → `submitted` → `filled` /
//! `partially_filled` / `cancelled` / `rejected`; failures are `error` events.

pub mod guard;
pub mod limits;
pub mod service;
pub mod worker;

pub use guard::{NewOrder, TOKEN_TTL};
pub use service::{confirm_order, create_order, events, record_event, CreatedOrder};

/// Order statuses (and the status of the event that records the change).
pub mod status {
    pub const PENDING_CONFIRMATION: &str = "pending_confirmation";
    pub const QUEUED: &str = "queued";
    /// Claimed by the orders worker and being placed with the gateway.
    pub const SUBMITTING: &str = "submitting";
    pub const SUBMITTED: &str = "submitted";
    pub const PARTIALLY_FILLED: &str = "partially_filled";
    pub const FILLED: &str = "filled";
    pub const CANCELLED: &str = "cancelled";
    pub const REJECTED: &str = "rejected";
    /// Event status of a failure that leaves the order's status unchanged.
    pub const ERROR: &str = "error";
}

//! What Fillbook's worker does, wired onto the generic job queue in [`crate::jobs`]:
//!
//! * [`handlers`] — which function runs each job kind (the one registration place);
//! * [`schedule`] — the periodic jobs (sync, positions, Flex fetch), once per period.
//!
//! The queue knows nothing of these: a new job kind is a name and payload in
//! `jobs::kinds`, one handler here and one `register` line in [`handlers::registry`].

pub mod handlers;
pub mod schedule;

//! The integration suites that install a process-wide TRACE log capture (to prove that
//! passwords, session cookies and tokens never reach the logs): a binary of their own, so
//! the other suites run without TRACE logging.

#[path = "../it/support/mod.rs"]
mod support;

mod auth;
mod flex_web;

//! Fillbook's server: the `fillbook` binary and everything that touches I/O.
//!
//! `config` (the one clap struct), `cli` (subcommand dispatch), `db` (connection,
//! entities, queries), `web` (axum router, health, Leptos SSR), `backend` (the UI port), `ib` (the IB Gateway
//! client adapter). The IB Gateway and Flex Web Service simulator is its own crate
//! (`fillbook-sim`, in `server/sim/`), used by the `demo` feature and by the tests; the
//! benchmark and drill commands are the `bench` feature. Both are on by default.

pub mod api;
pub mod audited;
pub mod auth;
pub mod backend;
#[cfg(feature = "bench")]
pub mod bench;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
#[cfg(feature = "bench")]
pub mod drills;
pub mod error;
pub mod events;
pub mod exports;
pub mod flex;
pub mod gateways;
pub mod history;
pub mod ib;
pub mod imports;
pub mod jobs;
pub mod live;
pub mod normalize;
pub mod orders;
pub mod reconcile;
pub mod state;
pub mod sync;
pub mod tools;
pub mod web;
pub mod work;

pub use error::{Error, Result};

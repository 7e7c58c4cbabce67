//! Fillbook's integration tests, one binary (linking the whole crate once instead of once
//! per suite): each module is a suite against the real router, the real `ibapi` client and
//! the simulator, on SQLite and PostgreSQL. The suites that capture every log line of their
//! process live in the `logged` binary beside this one.

mod support;

mod api;
mod audited;
mod auth_cli;
mod entities;
mod events;
mod exports;
mod flex_import;
mod foundation;
mod history_rebuild;
mod ib_sim;
mod ib_sim_cli;
mod ib_sim_prop;
mod imports_api;
mod jobs_queue;
mod live_fills;
mod lookup_plan;
mod order_limits;
mod orders_at_most_once;
mod pages_under_load;
mod post_order_flow;
mod reconciliation;
mod schedules;
mod sync_model;
mod trades_pagination;
mod trades_sync;

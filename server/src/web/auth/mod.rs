//! The HTTP side of [`crate::auth`]: [`middleware::authenticate`] admits every request except
//! the health probes, static assets and the sign-in pages only with a session cookie or a
//! bearer token, checks the endpoint's scope and, for cookie-authenticated browser requests
//! that change state, the [`csrf`] proof; [`pages`] are the sign-in, first-setup, password
//! and token pages.

pub mod csrf;
pub mod middleware;
pub mod pages;

//! Pieces shared by the pages.

pub mod enhance;
pub mod format;
pub mod layout;
pub mod listing;
pub mod session;
pub mod sync_now;

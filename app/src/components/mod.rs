//! Pieces shared by the pages.

pub mod format;
pub mod layout;
pub mod listing;
pub mod live;
pub mod session;
pub mod sync_now;

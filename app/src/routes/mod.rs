//! One module per page.

pub mod accounts;
pub mod audit;
pub mod imports;
pub mod jobs;
pub mod not_found;
pub mod order_detail;
pub mod orders;
pub mod positions;
pub mod reconciliation;
pub mod tokens;
pub mod trade_detail;
pub mod trades;

//! How one read of the gateway's executions is split into requests asked one after another:
//! one per managed account and side. Together they ask for exactly what one unfiltered
//! request would — every execution belongs to one managed account and is a buy or a sell —
//! but the client library keeps a routing entry for every execution of a running request
//! (so the commission report that follows finds it) and drops them only when the request
//! ends. Asking in parts bounds that map by the largest part instead of the whole answer.

use ibapi::orders::{ExecutionFilter, ExecutionFilterSide};

/// The requests that read every execution of `accounts` (all of the gateway's when the list
/// is empty) from the last `last_n_days` days (0: whatever the gateway keeps), in the order
/// they are asked: account by account, buys then sells.
pub fn execution_requests(accounts: &[String], last_n_days: i32) -> Vec<ExecutionFilter> {
    let all = [String::new()];
    let accounts = if accounts.is_empty() {
        &all[..]
    } else {
        accounts
    };
    accounts
        .iter()
        .flat_map(|account| {
            [ExecutionFilterSide::Buy, ExecutionFilterSide::Sell].map(|side| ExecutionFilter {
                account_code: account.clone(),
                side: Some(side),
                last_n_days,
                ..ExecutionFilter::default()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_request_per_account_and_side_in_order() {
        let plan = execution_requests(&["DU1".into(), "DU2".into()], 7);
        let asked: Vec<(String, &str, i32)> = plan
            .iter()
            .map(|f| {
                (
                    f.account_code.clone(),
                    f.side.as_ref().map_or("", |s| s.as_str()),
                    f.last_n_days,
                )
            })
            .collect();
        assert_eq!(
            asked,
            [
                ("DU1".to_string(), "BUY", 7),
                ("DU1".to_string(), "SELL", 7),
                ("DU2".to_string(), "BUY", 7),
                ("DU2".to_string(), "SELL", 7),
            ]
        );
    }

    #[test]
    fn no_managed_accounts_means_no_account_filter() {
        let plan = execution_requests(&[], 0);
        assert_eq!(plan.len(), 2);
        assert!(plan.iter().all(|f| f.account_code.is_empty()));
    }
}

//! The closed sets of values the ledger and the job queue use — a trade's status, a job's
//! state and kind — as enums, so the API document, the tools' JSON Schemas and the pages
//! list and check one set of values. Stored as their snake-case (or dotted) text.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Declares a text-valued enum: serde names, `as_str`, `ALL`, `FromStr` and `Display`, and
/// under `ssr` the database mapping (a text column) and the schema derives.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:tt,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(
            feature = "ssr",
            derive(
                utoipa::ToSchema,
                schemars::JsonSchema,
                sea_orm::DeriveActiveEnum,
                sea_orm::EnumIter
            )
        )]
        #[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "Text"))]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[serde(rename = $text)]
                #[cfg_attr(feature = "ssr", sea_orm(string_value = $text))]
                $variant,
            )+
        }

        impl $name {
            /// Every value, in a stable order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and serialised text.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The allowed values, comma-separated (for error messages).
            pub fn allowed() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| format!("`{s}` is not one of {}", Self::allowed()))
            }
        }

        /// Compares with the stored text (`state == "completed"`).
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// Where a trade stands: compared with its order when Fillbook knows it.
    TradeStatus {
        /// Some of the order's quantity is filled.
        Partial = "partial",
        /// The order's whole quantity is filled.
        Filled = "filled",
        /// The order was cancelled after (or without) fills.
        Cancelled = "cancelled",
        /// No order is known for these fills (placed elsewhere, or before Fillbook).
        Unknown = "unknown",
    }
}

text_enum! {
    /// A job's place in the queue.
    JobState {
        /// Waiting for a worker.
        Available = "available",
        /// Waiting for its time (a schedule, a retry's backoff).
        Scheduled = "scheduled",
        /// Claimed by a worker.
        Running = "running",
        /// Failed; will run again after a backoff.
        Retryable = "retryable",
        /// Done.
        Completed = "completed",
        /// Failed on its last attempt.
        Discarded = "discarded",
        /// Cancelled by an operator.
        Cancelled = "cancelled",
    }
}

impl JobState {
    /// The job will not change again by itself.
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Discarded | JobState::Cancelled
        )
    }

    /// An operator may run it again (retry).
    pub const fn can_retry(self) -> bool {
        matches!(
            self,
            JobState::Retryable | JobState::Discarded | JobState::Cancelled
        )
    }

    /// It failed (on some attempt).
    pub const fn is_failure(self) -> bool {
        matches!(self, JobState::Retryable | JobState::Discarded)
    }
}

text_enum! {
    /// What a job does (the API calls it the job's `type`).
    JobKind {
        /// Pull executions from the gateway into the ledger.
        TradesSync = "trades.sync",
        /// Pull positions from the gateway.
        PositionsSync = "positions.sync",
        /// Submit every confirmed order through the gateway.
        OrdersSubmit = "orders.submit",
        /// Download a Flex statement through the Flex Web Service and import it.
        FlexFetch = "flex.fetch",
        /// Import one uploaded Flex statement (queued by the upload, not by `POST /jobs`).
        FlexImport = "flex.import",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_through_serde_and_from_str() {
        for s in TradeStatus::ALL {
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<TradeStatus>(&json).unwrap(), *s);
            assert_eq!(s.as_str().parse::<TradeStatus>().unwrap(), *s);
        }
        assert_eq!("trades.sync".parse::<JobKind>(), Ok(JobKind::TradesSync));
        assert!("bogus"
            .parse::<JobState>()
            .unwrap_err()
            .contains("available"));
        assert_eq!(JobState::ALL.iter().filter(|s| s.is_final()).count(), 3);
    }
}

//! The coverage map of an account: which UTC days its gateway syncs and its statements
//! covered (a day counts as covered when any part of it lies in a recorded period), and the
//! gaps — days from the account's first fill to today covered by neither — as merged,
//! inclusive day ranges.

use crate::db::entities::{accounts, coverage, trade_executions as te};
use crate::error::{Error, Result};
use app::models::{AccountDto, CoverageDto, DayRange};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

/// The UTC days a half-open period `[start, end)` touches; `None` when it is empty.
pub fn days_of(start: DateTime<Utc>, end: DateTime<Utc>) -> Option<DayRange> {
    (end > start).then(|| DayRange {
        start: start.date_naive(),
        end: (end - Duration::microseconds(1)).date_naive(),
    })
}

/// `ranges` sorted, with overlapping and adjacent ranges joined.
pub fn merge(mut ranges: Vec<DayRange>) -> Vec<DayRange> {
    ranges.retain(|r| r.start <= r.end);
    ranges.sort();
    let mut out: Vec<DayRange> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end.succ_opt().unwrap_or(last.end) => {
                last.end = last.end.max(r.end);
            }
            _ => out.push(r),
        }
    }
    out
}

/// The days of `[from, to]` that no range of `covered` (merged) contains.
pub fn gaps(from: NaiveDate, to: NaiveDate, covered: &[DayRange]) -> Vec<DayRange> {
    let mut out = Vec::new();
    let mut next = from;
    for r in covered {
        if next > to {
            break;
        }
        if r.end < next {
            continue;
        }
        if r.start > next {
            let end = r.start.pred_opt().unwrap_or(r.start).min(to);
            out.push(DayRange { start: next, end });
        }
        match r.end.succ_opt() {
            Some(after) => next = next.max(after),
            None => return out,
        }
    }
    if next <= to {
        out.push(DayRange {
            start: next,
            end: to,
        });
    }
    out
}

/// The coverage map of account `account_id` as of `now`.
pub async fn coverage(
    db: &impl ConnectionTrait,
    account_id: i32,
    now: DateTime<Utc>,
) -> Result<CoverageDto> {
    let account = accounts::Entity::find_by_id(account_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound(format!("account {account_id}")))?;
    let periods = coverage::Entity::find()
        .filter(coverage::Column::AccountId.eq(account_id))
        .all(db)
        .await?;
    let first_fill = te::Entity::find()
        .filter(te::Column::AccountId.eq(account_id))
        .order_by_asc(te::Column::ExecutedAt)
        .one(db)
        .await?
        .map(|e| e.executed_at);
    let of = |source: &str| {
        merge(
            periods
                .iter()
                .filter(|p| p.source == source)
                .filter_map(|p| days_of(p.period_start, p.period_end))
                .collect(),
        )
    };
    let (sync, flex) = (of("sync"), of("flex"));
    let today = now.date_naive();
    let gaps = match first_fill {
        Some(first) => gaps(
            first.date_naive(),
            today,
            &merge(sync.iter().chain(&flex).copied().collect()),
        ),
        None => Vec::new(),
    };
    Ok(CoverageDto {
        account: AccountDto {
            id: account.id,
            code: account.code,
            alias: account.alias,
            flex_time_zone: account.flex_time_zone,
            created_at: account.created_at,
            updated_at: account.updated_at,
        },
        first_fill,
        today,
        sync,
        flex,
        gaps,
    })
}

/// Sets the zone an account's statements are read in (`None`: the default, New York);
/// the name must be an IANA zone.
pub async fn set_flex_time_zone(
    db: &impl ConnectionTrait,
    account_id: i32,
    zone: Option<&str>,
) -> Result<Option<String>> {
    let zone = zone.map(str::trim).filter(|z| !z.is_empty());
    if let Some(z) = zone {
        z.parse::<chrono_tz::Tz>().map_err(|_| {
            Error::invalid(
                "flex_time_zone",
                format!("`{z}` is not an IANA time zone (e.g. America/New_York, Europe/Zurich)"),
            )
        })?;
    }
    let changed = accounts::Entity::update_many()
        .col_expr(
            accounts::Column::FlexTimeZone,
            Expr::value(zone.map(str::to_string)),
        )
        .col_expr(accounts::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(accounts::Column::Id.eq(account_id))
        .exec(db)
        .await?;
    if changed.rows_affected == 0 {
        return Err(Error::NotFound(format!("account {account_id}")));
    }
    Ok(zone.map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn r(start: &str, end: &str) -> DayRange {
        DayRange {
            start: d(start),
            end: d(end),
        }
    }

    #[test]
    fn a_period_covers_every_day_it_touches() {
        let at = |d, h| Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap();
        // A New York statement day: 05:00 UTC to 05:00 UTC the next day.
        assert_eq!(
            days_of(at(17, 5), at(18, 5)),
            Some(r("2026-11-17", "2026-11-18"))
        );
        // Midnight to midnight is one day (the end is excluded).
        assert_eq!(
            days_of(at(17, 0), at(18, 0)),
            Some(r("2026-11-17", "2026-11-17"))
        );
        assert_eq!(days_of(at(17, 0), at(17, 0)), None);
        assert_eq!(days_of(at(18, 0), at(17, 0)), None);
    }

    #[test]
    fn merge_joins_overlapping_and_adjacent_ranges() {
        assert_eq!(
            merge(vec![
                r("2026-11-10", "2026-11-12"),
                r("2026-11-01", "2026-11-03"),
                r("2026-11-04", "2026-11-05"),
                r("2026-11-11", "2026-11-20"),
                r("2026-11-22", "2026-11-22"),
                r("2026-11-02", "2026-11-02"),
            ]),
            vec![
                r("2026-11-01", "2026-11-05"),
                r("2026-11-10", "2026-11-20"),
                r("2026-11-22", "2026-11-22"),
            ]
        );
        assert_eq!(merge(vec![]), vec![]);
    }

    #[test]
    fn gaps_are_the_uncovered_days_between_the_ends() {
        let covered = merge(vec![
            r("2026-11-03", "2026-11-05"),
            r("2026-11-08", "2026-11-08"),
        ]);
        assert_eq!(
            gaps(d("2026-11-01"), d("2026-11-10"), &covered),
            vec![
                r("2026-11-01", "2026-11-02"),
                r("2026-11-06", "2026-11-07"),
                r("2026-11-09", "2026-11-10"),
            ]
        );
        // Coverage reaching past both ends leaves nothing.
        let all = vec![r("2026-10-01", "2026-12-01")];
        assert!(gaps(d("2026-11-01"), d("2026-11-10"), &all).is_empty());
        // Nothing covered: one gap.
        assert_eq!(
            gaps(d("2026-11-01"), d("2026-11-01"), &[]),
            vec![r("2026-11-01", "2026-11-01")]
        );
        // Coverage before the first fill and after today is ignored.
        let outside = vec![r("2026-10-01", "2026-10-05"), r("2026-11-20", "2026-11-30")];
        assert_eq!(
            gaps(d("2026-11-01"), d("2026-11-10"), &outside),
            vec![r("2026-11-01", "2026-11-10")]
        );
        // Starting inside a covered range.
        assert_eq!(
            gaps(d("2026-11-04"), d("2026-11-09"), &covered),
            vec![r("2026-11-06", "2026-11-07"), r("2026-11-09", "2026-11-09")]
        );
    }
}

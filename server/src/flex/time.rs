//! Flex statement times: every shape IB writes, to UTC.
//!
//! * `yyyyMMdd;HHmmss` (the default), `yyyyMMdd HHmmss`, `yyyy-MM-dd;HH:mm:ss`,
//!   `yyyy-MM-dd HH:mm:ss`, each optionally followed by a zone label (`EST`, `AEST`, an IANA
//!   name) after a space or `;`;
//! * a date alone (`yyyyMMdd`, `yyyy-MM-dd`) in `dateTime` or `tradeDate`, with the time in a
//!   separate `tradeTime` (`HHmmss` or `HH:mm:ss`) on older exports.
//!
//! A statement's times carry no zone unless its query was set to add one, so a zoneless time
//! is read in the account's Flex time zone; a zone in the value wins. A row that has a date
//! and no time at all is [`FlexTime::DateOnly`]: the caller stores the start of that day in
//! the account's zone and flags the row "time unknown" — no time is invented silently.

use crate::normalize::{resolve_zone, time::local_to_utc};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

/// When a statement row happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlexTime {
    /// A full time, in UTC.
    At(DateTime<Utc>),
    /// Only the trade date is known; the instant is the start of that day in the zone used.
    DateOnly(NaiveDate, DateTime<Utc>),
}

impl FlexTime {
    /// The instant the ledger stores.
    pub fn instant(&self) -> DateTime<Utc> {
        match self {
            FlexTime::At(t) | FlexTime::DateOnly(_, t) => *t,
        }
    }

    /// Whether only the date is known.
    pub fn time_unknown(&self) -> bool {
        matches!(self, FlexTime::DateOnly(..))
    }
}

/// Reads a row's time from its `dateTime`, or else `tradeDate` + `tradeTime`; zoneless values
/// are read in `zone`.
pub fn parse_flex_time(
    date_time: Option<&str>,
    trade_date: Option<&str>,
    trade_time: Option<&str>,
    zone: Tz,
) -> Result<FlexTime, String> {
    if let Some(value) = date_time.filter(|v| !v.trim().is_empty()) {
        let (date, time, label) = split_date_time(value)?;
        let time = match (time, trade_time.filter(|t| !t.trim().is_empty())) {
            (Some(t), _) => Some(t),
            (None, Some(t)) => Some(parse_time(t.trim()).ok_or_else(|| bad(t, "time"))?),
            (None, None) => None,
        };
        return resolve(date, time, label, zone, value);
    }
    let Some(date_value) = trade_date.filter(|v| !v.trim().is_empty()) else {
        return Err("no dateTime and no tradeDate".into());
    };
    let (date, time, label) = split_date_time(date_value)?;
    let time = match (time, trade_time.filter(|t| !t.trim().is_empty())) {
        (Some(t), _) => Some(t),
        (None, Some(t)) => {
            // `tradeTime` may carry the zone label itself (`093015 EST`).
            let (t, l) = split_label(t.trim());
            let parsed = parse_time(t).ok_or_else(|| bad(t, "time"))?;
            if l.is_some() {
                return resolve(date, Some(parsed), l, zone, date_value);
            }
            Some(parsed)
        }
        (None, None) => None,
    };
    resolve(date, time, label, zone, date_value)
}

fn bad(value: &str, what: &str) -> String {
    format!("unparseable {what} `{value}`")
}

fn resolve(
    date: NaiveDate,
    time: Option<NaiveTime>,
    label: Option<&str>,
    default_zone: Tz,
    original: &str,
) -> Result<FlexTime, String> {
    let zone = match label {
        Some(l) => resolve_zone(l).map_err(|e| format!("`{original}`: {e}"))?,
        None => default_zone,
    };
    Ok(match time {
        Some(t) => FlexTime::At(local_to_utc(zone, date.and_time(t))),
        None => FlexTime::DateOnly(date, local_to_utc(zone, date.and_time(NaiveTime::MIN))),
    })
}

/// Splits a trailing zone label (after a space or `;`) off a value, when there is one.
fn split_label(value: &str) -> (&str, Option<&str>) {
    match value.rsplit_once([' ', ';']) {
        Some((head, tail)) if tail.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) => {
            (head.trim_end_matches([' ', ';']), Some(tail))
        }
        _ => (value, None),
    }
}

/// `date[sep time][sep zone]` → its parts.
fn split_date_time(value: &str) -> Result<(NaiveDate, Option<NaiveTime>, Option<&str>), String> {
    let s = value.trim();
    let (rest, label) = split_label(s);
    let (date_part, time_part) = match rest.split_once([';', ' ']) {
        Some((d, t)) => (d, Some(t.trim())),
        None => (rest, None),
    };
    let date = parse_date(date_part).ok_or_else(|| bad(value, "date"))?;
    let time = match time_part.filter(|t| !t.is_empty()) {
        Some(t) => Some(parse_time(t).ok_or_else(|| bad(value, "time"))?),
        None => None,
    };
    Ok((date, time, label))
}

fn digits(s: &str) -> Option<u32> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `yyyyMMdd` or `yyyy-MM-dd`.
fn parse_date(s: &str) -> Option<NaiveDate> {
    let (y, m, d) = match s.len() {
        8 => (&s[..4], &s[4..6], &s[6..]),
        10 if &s[4..5] == "-" && &s[7..8] == "-" => (&s[..4], &s[5..7], &s[8..]),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(digits(y)? as i32, digits(m)?, digits(d)?)
}

/// `HHmmss` or `HH:mm:ss`.
fn parse_time(s: &str) -> Option<NaiveTime> {
    let (h, m, sec) = match s.len() {
        6 => (&s[..2], &s[2..4], &s[4..]),
        8 if &s[2..3] == ":" && &s[5..6] == ":" => (&s[..2], &s[3..5], &s[6..]),
        _ => return None,
    };
    NaiveTime::from_hms_opt(digits(h)?, digits(m)?, digits(sec)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NY: Tz = Tz::America__New_York;

    fn at(s: &str) -> FlexTime {
        FlexTime::At(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
    }

    fn dt(v: &str) -> FlexTime {
        parse_flex_time(Some(v), None, None, NY).unwrap()
    }

    #[test]
    fn every_date_time_shape_reads_in_the_account_zone() {
        let winter = at("2026-11-17T14:30:15Z");
        assert_eq!(dt("20261117;093015"), winter);
        assert_eq!(dt("20261117 093015"), winter);
        assert_eq!(dt("2026-11-17;09:30:15"), winter);
        assert_eq!(dt("2026-11-17 09:30:15"), winter);
        // Summer: New York is UTC-4.
        assert_eq!(dt("20260615;093015"), at("2026-06-15T13:30:15Z"));
    }

    #[test]
    fn a_zone_in_the_value_wins() {
        assert_eq!(dt("20261117;093015 EST"), at("2026-11-17T14:30:15Z"));
        assert_eq!(dt("20260615;093015 EDT"), at("2026-06-15T13:30:15Z"));
        assert_eq!(dt("2026-11-17 09:30:15 AEST"), at("2026-11-16T22:30:15Z"));
        assert_eq!(dt("20261117;093015;CET"), at("2026-11-17T08:30:15Z"));
        assert_eq!(
            parse_flex_time(Some("20261117;093015 UTC"), None, None, NY).unwrap(),
            at("2026-11-17T09:30:15Z")
        );
        let err = parse_flex_time(Some("20261117;093015 XYZT"), None, None, NY).unwrap_err();
        assert!(err.contains("XYZT"), "{err}");
    }

    #[test]
    fn zoneless_times_follow_the_configured_zone() {
        let zurich = parse_flex_time(Some("20261117;093015"), None, None, Tz::Europe__Zurich);
        assert_eq!(zurich.unwrap(), at("2026-11-17T08:30:15Z"));
    }

    #[test]
    fn separate_trade_date_and_trade_time() {
        let t = parse_flex_time(None, Some("20261117"), Some("093015"), NY).unwrap();
        assert_eq!(t, at("2026-11-17T14:30:15Z"));
        let t = parse_flex_time(None, Some("2026-11-17"), Some("09:30:15"), NY).unwrap();
        assert_eq!(t, at("2026-11-17T14:30:15Z"));
        let t = parse_flex_time(None, Some("20261117"), Some("093015 EST"), Tz::UTC).unwrap();
        assert_eq!(t, at("2026-11-17T14:30:15Z"));
        // A dateTime holding only the date takes the separate time.
        let t = parse_flex_time(Some("20261117"), None, Some("093015"), NY).unwrap();
        assert_eq!(t, at("2026-11-17T14:30:15Z"));
    }

    #[test]
    fn a_date_without_time_is_flagged_not_invented() {
        let t = parse_flex_time(None, Some("20261117"), None, NY).unwrap();
        assert!(t.time_unknown());
        let FlexTime::DateOnly(date, start) = t else {
            panic!("{t:?}")
        };
        assert_eq!(date, NaiveDate::from_ymd_opt(2026, 11, 17).unwrap());
        assert_eq!(start, at("2026-11-17T05:00:00Z").instant());
        assert!(dt("20261117").time_unknown());
    }

    #[test]
    fn malformed_values_are_errors_naming_them() {
        for v in ["2026111", "20261317;093015", "20261117;093075", "20261117;09:30", "x"] {
            let err = parse_flex_time(Some(v), None, None, NY).unwrap_err();
            assert!(err.contains(v), "{v}: {err}");
        }
        assert!(parse_flex_time(None, None, None, NY).is_err());
        assert!(parse_flex_time(None, Some("20261117"), Some("9:30"), NY).is_err());
    }
}

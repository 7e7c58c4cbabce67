//! Execution-time parser: every shape the gateway sends, to UTC.
//!
//! * `20231215 10:30:00 US/Eastern` — local time in a named zone. The zone is an IANA name
//!   (`US/Eastern`, `Europe/Zurich`, `Asia/Calcutta`) or an abbreviation from [`ZONE_ALIASES`],
//!   the explicit table that maps the labels IB uses onto IANA regions. IB's labels name the
//!   exchange's *zone setting*, not a fixed offset (contract details report `EST` for NYSE all
//!   year), so `EST` and `EDT` both mean `America/New_York` and the date picks the offset.
//! * `20231214-20:57:37` — UTC.
//! * `20230224  12:04:56` (two spaces) or `20230224 12:04:56` (no zone) — the legacy form, the
//!   local time of the gateway host, which the wire does not name. It is read in the zone the
//!   caller passes (`gateway_zone`: the gateway's `time_zone`, else `--ib-time-zone`, `UTC` by
//!   default).
//!
//! Daylight-saving edges are resolved deterministically: a local time that occurs twice (the
//! autumn overlap) is the *earlier* instant, the first pass through the hour; a local time
//! that never occurs (the spring gap) is read with the offset in force just before the jump,
//! so `02:30` on a New York spring-forward day is `07:30Z` (= `03:30` EDT).
//! An unknown zone is an error naming it — never a guess.

use chrono::{
    DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
};
use chrono_tz::Tz;

/// Abbreviations and legacy labels IB sends, mapped onto IANA zones. Matched
/// case-insensitively; anything else must be an exact IANA name. Kept by hand on purpose:
/// abbreviations are ambiguous in general (`IST`, `CST`), no zone crate resolves them the
/// way IB means them, and a wrong guess would silently move fills in time.
pub const ZONE_ALIASES: &[(&str, Tz)] = &[
    ("UTC", Tz::UTC),
    ("GMT", Tz::UTC),
    ("Z", Tz::UTC),
    ("EST", Tz::America__New_York),
    ("EDT", Tz::America__New_York),
    ("EST5EDT", Tz::America__New_York),
    ("CST", Tz::America__Chicago),
    ("CDT", Tz::America__Chicago),
    ("CST6CDT", Tz::America__Chicago),
    ("MST", Tz::America__Denver),
    ("MDT", Tz::America__Denver),
    ("PST", Tz::America__Los_Angeles),
    ("PDT", Tz::America__Los_Angeles),
    ("MET", Tz::Europe__Berlin),
    ("MEST", Tz::Europe__Berlin),
    ("CET", Tz::Europe__Berlin),
    ("CEST", Tz::Europe__Berlin),
    ("WET", Tz::Europe__Lisbon),
    ("WEST", Tz::Europe__Lisbon),
    ("BST", Tz::Europe__London),
    ("EET", Tz::Europe__Athens),
    ("EEST", Tz::Europe__Athens),
    ("MSK", Tz::Europe__Moscow),
    ("JST", Tz::Asia__Tokyo),
    ("KST", Tz::Asia__Seoul),
    ("HKT", Tz::Asia__Hong_Kong),
    ("SGT", Tz::Asia__Singapore),
    ("AEST", Tz::Australia__Sydney),
    ("AEDT", Tz::Australia__Sydney),
    ("NZST", Tz::Pacific__Auckland),
    ("NZDT", Tz::Pacific__Auckland),
];

/// Resolves a zone label: first the alias table, then an exact IANA name.
pub fn resolve_zone(label: &str) -> Result<Tz, String> {
    if let Some((_, tz)) = ZONE_ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(label))
    {
        return Ok(*tz);
    }
    label
        .parse::<Tz>()
        .map_err(|_| format!("unknown time zone `{label}`"))
}

/// Parses an execution time string to UTC; `gateway_zone` is used for the legacy zoneless form.
pub fn parse_execution_time(input: &str, gateway_zone: Tz) -> Result<DateTime<Utc>, String> {
    let s = input.trim();
    let fail = |why: &str| Err(format!("unparseable execution time `{input}`: {why}"));
    let (Some(date_part), Some(rest)) = (s.get(..8), s.get(8..)) else {
        return fail("expected `yyyymmdd hh:mm:ss [zone]` or `yyyymmdd-hh:mm:ss`");
    };
    let date = match parse_date(date_part) {
        Some(d) => d,
        None => return fail("bad date"),
    };
    if let Some(time) = rest.strip_prefix('-') {
        return match parse_time(time) {
            Some(t) => Ok(Utc.from_utc_datetime(&date.and_time(t))),
            None => fail("bad time after `-`"),
        };
    }
    if !rest.starts_with(' ') {
        return fail("expected a space or `-` after the date");
    }
    let rest = rest.trim_start_matches(' ');
    let (time_part, zone_part) = match rest.split_once(' ') {
        Some((t, z)) => (t, z.trim()),
        None => (rest, ""),
    };
    let Some(time) = parse_time(time_part) else {
        return fail("bad time");
    };
    let zone = if zone_part.is_empty() {
        gateway_zone
    } else {
        match resolve_zone(zone_part) {
            Ok(z) => z,
            Err(e) => return fail(&e),
        }
    };
    Ok(local_to_utc(zone, date.and_time(time)))
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i32 = s[..4].parse().ok()?;
    let m: u32 = s[4..6].parse().ok()?;
    let d: u32 = s[6..].parse().ok()?;
    NaiveDate::from_ymd_opt(y, m, d)
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    let b = s.as_bytes();
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    NaiveTime::from_hms_opt(num(0..2)?, num(3..5)?, num(6..8)?)
}

/// Local wall-clock time in `zone` to UTC with the DST rules of the module docs.
pub fn local_to_utc(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(earliest, _) => earliest.with_timezone(&Utc),
        LocalResult::None => {
            // The gap: use the offset in force a day before (no zone jumps twice in a day).
            let before = zone
                .offset_from_utc_datetime(&(local - Duration::days(1)))
                .fix();
            Utc.from_utc_datetime(&(local - Duration::seconds(i64::from(before.local_minus_utc()))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn p(s: &str) -> Result<DateTime<Utc>, String> {
        parse_execution_time(s, Tz::UTC)
    }

    #[test]
    fn named_iana_zone_in_winter_and_summer() {
        assert_eq!(
            p("20231215 10:30:00 US/Eastern").unwrap(),
            utc("2023-12-15T15:30:00Z")
        );
        assert_eq!(
            p("20230615 10:30:00 US/Eastern").unwrap(),
            utc("2023-06-15T14:30:00Z")
        );
        assert_eq!(
            p("20240102 09:00:01 Europe/Zurich").unwrap(),
            utc("2024-01-02T08:00:01Z")
        );
        assert_eq!(
            p("20240102 09:00:01 Asia/Calcutta").unwrap(),
            utc("2024-01-02T03:30:01Z")
        );
    }

    #[test]
    fn abbreviations_map_to_regions() {
        // EST in July is the exchange's zone label: New York daylight time applies.
        assert_eq!(
            p("20230703 09:31:12 EST").unwrap(),
            utc("2023-07-03T13:31:12Z")
        );
        assert_eq!(
            p("20231215 10:30:00 EST").unwrap(),
            utc("2023-12-15T15:30:00Z")
        );
        assert_eq!(
            p("20230703 09:31:12 EDT").unwrap(),
            utc("2023-07-03T13:31:12Z")
        );
        assert_eq!(
            p("20231215 10:30:00 MET").unwrap(),
            utc("2023-12-15T09:30:00Z")
        );
        assert_eq!(
            p("20230615 10:30:00 MET").unwrap(),
            utc("2023-06-15T08:30:00Z")
        );
        assert_eq!(
            p("20231215 10:30:00 cet").unwrap(),
            utc("2023-12-15T09:30:00Z")
        );
        assert_eq!(
            p("20231215 10:30:00 GMT").unwrap(),
            utc("2023-12-15T10:30:00Z")
        );
        assert_eq!(
            p("20231215 10:30:00 JST").unwrap(),
            utc("2023-12-15T01:30:00Z")
        );
        assert_eq!(
            p("20231215 10:30:00 CST").unwrap(),
            utc("2023-12-15T16:30:00Z")
        );
    }

    #[test]
    fn utc_dash_form() {
        assert_eq!(p("20231214-20:57:37").unwrap(), utc("2023-12-14T20:57:37Z"));
    }

    #[test]
    fn legacy_double_space_is_gateway_local() {
        assert_eq!(
            p("20230224  12:04:56").unwrap(),
            utc("2023-02-24T12:04:56Z")
        );
        let zurich = resolve_zone("Europe/Zurich").unwrap();
        assert_eq!(
            parse_execution_time("20230224  12:04:56", zurich).unwrap(),
            utc("2023-02-24T11:04:56Z")
        );
        assert_eq!(
            parse_execution_time("20230224 12:04:56", zurich).unwrap(),
            utc("2023-02-24T11:04:56Z")
        );
    }

    #[test]
    fn dst_overlap_takes_the_earlier_instant() {
        // 2023-11-05 01:30 happens twice in New York: EDT (05:30Z) then EST (06:30Z).
        assert_eq!(
            p("20231105 01:30:00 US/Eastern").unwrap(),
            utc("2023-11-05T05:30:00Z")
        );
        // 2023-10-29 02:30 twice in Berlin: CEST (00:30Z) then CET (01:30Z).
        assert_eq!(
            p("20231029 02:30:00 MET").unwrap(),
            utc("2023-10-29T00:30:00Z")
        );
    }

    #[test]
    fn dst_gap_uses_the_offset_before_the_jump() {
        // 2023-03-12 02:30 does not exist in New York; read with EST (-5).
        assert_eq!(
            p("20230312 02:30:00 US/Eastern").unwrap(),
            utc("2023-03-12T07:30:00Z")
        );
        assert_eq!(
            p("20230326 02:15:00 CET").unwrap(),
            utc("2023-03-26T01:15:00Z")
        );
    }

    #[test]
    fn unknown_zone_is_an_error_naming_it() {
        let err = p("20231215 10:30:00 Mars/Olympus").unwrap_err();
        assert!(err.contains("unknown time zone `Mars/Olympus`"), "{err}");
        assert!(
            p("20231215 10:30:00 IST").is_err(),
            "IST is ambiguous: never guessed"
        );
    }

    #[test]
    fn malformed_inputs_are_errors() {
        for bad in [
            "",
            "2023121",
            "20231315 10:30:00",
            "20231215 25:30:00",
            "20231215T10:30:00",
            "20231215 10:30",
            "20231215-10:30",
            "2023-12-15 10:30:00",
            "20231215 1a:30:00 EST",
            "1702636200",
            "２０２３１２１５ 10:30:00",
        ] {
            assert!(p(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}

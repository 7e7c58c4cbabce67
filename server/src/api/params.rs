//! Query-string parsing with errors that name the offending parameter (422), and that
//! refuse unknown or repeated parameters instead of silently ignoring them.

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use std::str::FromStr;

/// The decoded `key=value` pairs of a query string.
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes `raw`, accepting only the parameters in `allowed`.
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|e| Error::invalid("query", format!("the query string is malformed: {e}")))?;
        for (i, (key, _)) in pairs.iter().enumerate() {
            if !allowed.contains(&key.as_str()) {
                return Err(Error::invalid(
                    key.as_str(),
                    format!(
                        "unknown query parameter `{key}`; allowed: {}",
                        allowed.join(", ")
                    ),
                ));
            }
            if pairs[..i].iter().any(|(k, _)| k == key) {
                return Err(Error::invalid(
                    key.as_str(),
                    format!("query parameter `{key}` is given more than once"),
                ));
            }
        }
        Ok(Self(pairs))
    }

    fn raw(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A non-empty text parameter.
    pub fn text(&self, key: &str) -> Result<Option<String>> {
        match self.raw(key) {
            None => Ok(None),
            Some(v) if v.trim().is_empty() => {
                Err(Error::invalid(key, format!("`{key}` must not be empty")))
            }
            Some(v) => Ok(Some(v.trim().to_string())),
        }
    }

    /// A parameter parsed with `FromStr`; `what` describes the expected form.
    pub fn parsed<T: FromStr>(&self, key: &str, what: &str) -> Result<Option<T>> {
        self.raw(key)
            .map(|v| {
                v.trim()
                    .parse()
                    .map_err(|_| Error::invalid(key, format!("`{key}` must be {what}, got `{v}`")))
            })
            .transpose()
    }

    /// An RFC 3339 time.
    pub fn time(&self, key: &str) -> Result<Option<DateTime<Utc>>> {
        self.raw(key)
            .map(|v| {
                DateTime::parse_from_rfc3339(v.trim())
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| {
                        Error::invalid(
                            key,
                            format!("`{key}` must be an RFC 3339 time such as 2026-01-31T14:30:00Z, got `{v}`"),
                        )
                    })
            })
            .transpose()
    }

    /// A value from a fixed set.
    pub fn one_of(&self, key: &str, choices: &[&str]) -> Result<Option<String>> {
        match self.text(key)? {
            Some(v) if !choices.contains(&v.as_str()) => Err(Error::invalid(
                key,
                format!("`{key}` must be one of {}, got `{v}`", choices.join(", ")),
            )),
            other => Ok(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(err: Error) -> String {
        match err {
            Error::Invalid { field, .. } => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_and_repeated_parameters_are_refused_by_name() {
        let err = Params::parse(Some("limt=5"), &["limit"]).err().unwrap();
        assert_eq!(field_of(err), "limt");
        let err = Params::parse(Some("limit=5&limit=6"), &["limit"])
            .err()
            .unwrap();
        assert_eq!(field_of(err), "limit");
    }

    #[test]
    fn typed_values_name_their_field() {
        let p = Params::parse(Some("limit=abc&since=yesterday"), &["limit", "since"]).unwrap();
        assert_eq!(
            field_of(p.parsed::<u32>("limit", "a number").unwrap_err()),
            "limit"
        );
        assert_eq!(field_of(p.time("since").unwrap_err()), "since");
    }

    #[test]
    fn good_values_parse() {
        let p = Params::parse(
            Some("limit=5&since=2026-01-02T03:04:05Z&status=filled"),
            &["limit", "since", "status"],
        )
        .unwrap();
        assert_eq!(p.parsed::<u32>("limit", "a number").unwrap(), Some(5));
        assert_eq!(
            p.time("since").unwrap().unwrap().to_rfc3339(),
            "2026-01-02T03:04:05+00:00"
        );
        assert_eq!(
            p.one_of("status", &["filled"]).unwrap().as_deref(),
            Some("filled")
        );
    }
}

//! Keyset pagination, one way for every list: a page size checked against the limits, a
//! cursor that is the last id (or key) of the previous page, and rows fetched with
//! `LIMIT size + 1` so the extra row says whether a next page exists.

use crate::error::{Error, Result};
use app::models::Page;

/// Default and maximum page sizes of every list.
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

/// Validates a requested page size (`None`: `default`).
pub fn page_size(limit: Option<u32>, default: u32) -> Result<u64> {
    match limit.unwrap_or(default) {
        n if (1..=MAX_LIMIT).contains(&n) => Ok(u64::from(n)),
        _ => Err(Error::invalid(
            "limit",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        )),
    }
}

/// Validates a requested page size, 50 by default.
pub fn page_limit(limit: Option<u32>) -> Result<u64> {
    page_size(limit, DEFAULT_LIMIT)
}

/// The id an id cursor names: rows before it come next.
pub fn id_cursor(cursor: Option<&str>) -> Result<Option<i32>> {
    cursor
        .map(|c| {
            c.parse()
                .map_err(|_| Error::invalid("cursor", "cursor is not one this server issued"))
        })
        .transpose()
}

/// The page of `rows` fetched with `LIMIT limit + 1`: at most `limit` items, and the
/// cursor of the last one when a further row exists.
pub fn page_of<R, T>(
    mut rows: Vec<R>,
    limit: u64,
    cursor_of: impl Fn(&R) -> String,
    item: impl FnMut(R) -> T,
) -> Page<T> {
    let next_cursor = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(cursor_of)
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(item).collect(),
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extra_row_makes_the_cursor() {
        let page = page_of(vec![9, 8, 7], 2, |r| r.to_string(), |r| r * 10);
        assert_eq!(page.items, [90, 80]);
        assert_eq!(page.next_cursor.as_deref(), Some("8"));
        let last = page_of(vec![9, 8], 2, |r| r.to_string(), |r| r);
        assert_eq!((last.items.len(), last.next_cursor), (2, None));
    }

    #[test]
    fn sizes_and_cursors_are_checked() {
        assert_eq!(page_limit(None).unwrap(), 50);
        assert!(page_limit(Some(0)).is_err());
        assert!(page_limit(Some(501)).is_err());
        assert_eq!(id_cursor(Some("12")).unwrap(), Some(12));
        assert!(
            matches!(id_cursor(Some("x")), Err(Error::Invalid { field, .. }) if field == "cursor")
        );
    }
}

//! Execution-id parser: corrections reissue an id with a higher last dot-segment
//! (`0000e0d5.6576ba1b.01.01` → `.01.02`). The base is the text before the last `.`, the
//! revision the last segment read as a decimal integer; any id that does not have that shape
//! (no dot, empty base, non-digit or oversized last segment) is its own base at revision 0.

/// `(exec_id_base, exec_revision)` of an execution id.
pub fn parse_exec_id(id: &str) -> (String, i32) {
    match id.rsplit_once('.') {
        Some((base, rev))
            if !base.is_empty() && !rev.is_empty() && rev.bytes().all(|b| b.is_ascii_digit()) =>
        {
            match rev.parse::<i32>() {
                Ok(n) => (base.to_string(), n),
                Err(_) => (id.to_string(), 0),
            }
        }
        _ => (id.to_string(), 0),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_exec_id;

    #[test]
    fn corrections_share_a_base() {
        assert_eq!(
            parse_exec_id("0000e0d5.6576ba1b.01.01"),
            ("0000e0d5.6576ba1b.01".to_string(), 1)
        );
        assert_eq!(
            parse_exec_id("0000e0d5.6576ba1b.01.02"),
            ("0000e0d5.6576ba1b.01".to_string(), 2)
        );
        assert_eq!(
            parse_exec_id("00018037.655f8a5f.03.10"),
            ("00018037.655f8a5f.03".to_string(), 10)
        );
    }

    #[test]
    fn other_shapes_default_to_revision_zero() {
        for id in [
            "",
            "abc",
            ".01",
            "0000e0d5.6576ba1b",
            "0000e0d5.01.",
            "x.99999999999",
            "x.-1",
            "x.+1",
            "x.٣",
        ] {
            assert_eq!(parse_exec_id(id), (id.to_string(), 0), "{id:?}");
        }
    }
}

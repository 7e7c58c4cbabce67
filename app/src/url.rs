//! Building page URLs with query strings.

/// Percent-encodes `text` for a query value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `path?k=v&…` with the pairs whose value is non-empty.
pub fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reserved_characters_and_skips_empty_values() {
        assert_eq!(encode("a b&c"), "a%20b%26c");
        assert_eq!(
            with_query("/x", &[("a", "1"), ("b", ""), ("c", "é")]),
            "/x?a=1&c=%C3%A9"
        );
        assert_eq!(with_query("/x", &[]), "/x");
    }
}

//! Small field normalisers: execution side and commission sentinels.

/// `BOT`/`SLD` (and `BUY`/`SELL`) to `BUY`/`SELL`; anything else is `None`.
pub fn normalize_side(wire: &str) -> Option<&'static str> {
    match wire.trim().to_ascii_uppercase().as_str() {
        "BOT" | "BUY" => Some("BUY"),
        "SLD" | "SELL" => Some("SELL"),
        _ => None,
    }
}

/// A commission, or `None` for the placeholders IB sends before the real figure is known:
/// `f64::MAX` (and anything ≥ 1e300), negative values such as `-1`, NaN and infinities.
pub fn normalize_commission(value: f64) -> Option<f64> {
    (value.is_finite() && (0.0..1e300).contains(&value)).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides() {
        assert_eq!(normalize_side("BOT"), Some("BUY"));
        assert_eq!(normalize_side("SLD"), Some("SELL"));
        assert_eq!(normalize_side("sell"), Some("SELL"));
        assert_eq!(normalize_side("SSHORT"), None);
        assert_eq!(normalize_side(""), None);
    }

    #[test]
    fn commission_sentinels_are_null() {
        assert_eq!(normalize_commission(1.0), Some(1.0));
        assert_eq!(normalize_commission(0.0), Some(0.0));
        assert_eq!(normalize_commission(0.35), Some(0.35));
        assert_eq!(normalize_commission(f64::MAX), None);
        assert_eq!(normalize_commission(1.797e308), None);
        assert_eq!(normalize_commission(1e300), None);
        assert_eq!(normalize_commission(-1.0), None);
        assert_eq!(normalize_commission(f64::NAN), None);
        assert_eq!(normalize_commission(f64::INFINITY), None);
    }
}

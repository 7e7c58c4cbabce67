//! Formatting of times and numbers for tables.

use chrono::{DateTime, SecondsFormat, Utc};
use leptos::prelude::*;

/// A UTC instant as a `<time>` element: written in UTC, shown in the browser's zone by
/// the page enhancements; the exact UTC value is always on hover.
#[component]
pub fn Time(at: Option<DateTime<Utc>>) -> impl IntoView {
    match at {
        Some(at) => {
            let exact = at.to_rfc3339_opts(SecondsFormat::Millis, true);
            view! {
                <time datetime=exact.clone() title=format!("UTC {exact}")>
                    {format!("{} UTC", at.format("%Y-%m-%d %H:%M:%S"))}
                </time>
            }
            .into_any()
        }
        None => view! { <span class="muted">"—"</span> }.into_any(),
    }
}

/// A quantity: integers without decimals, fractions with up to four.
pub fn quantity(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.4}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A price or money amount with at least two and at most six decimals.
pub fn money(value: Option<f64>) -> String {
    match value {
        None => "—".to_string(),
        Some(v) => {
            let text = format!("{v:.6}");
            let trimmed = text.trim_end_matches('0');
            let decimals = trimmed.split('.').nth(1).map_or(0, str::len);
            if decimals < 2 {
                format!("{v:.2}")
            } else {
                trimmed.to_string()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_drop_needless_decimals() {
        assert_eq!(quantity(100.0), "100");
        assert_eq!(quantity(0.5), "0.5");
        assert_eq!(quantity(1.23456), "1.2346");
    }

    #[test]
    fn money_keeps_two_to_six_decimals() {
        assert_eq!(money(Some(101.5)), "101.50");
        assert_eq!(money(Some(0.123456789)), "0.123457");
        assert_eq!(money(None), "—");
    }
}

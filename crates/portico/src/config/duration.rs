//! Durations as Backstage writes them in config: a `HumanDuration` mapping whose units add up
//! (`{minutes: 1, seconds: 30}`), an ISO 8601 duration (`PT1M30S`), or a short form such as
//! `90s`, `30m`, `2 hours` (the `ms` library's units). Years are 365 days and months 30 days,
//! as in Backstage (luxon's casual conversion).

use std::time::Duration;

const SECOND: f64 = 1_000.0;
const MINUTE: f64 = 60.0 * SECOND;
const HOUR: f64 = 60.0 * MINUTE;
const DAY: f64 = 24.0 * HOUR;
const WEEK: f64 = 7.0 * DAY;
const MONTH: f64 = 30.0 * DAY;
const YEAR: f64 = 365.0 * DAY;

/// The units of a `HumanDuration` mapping and their length in milliseconds.
pub(super) const HUMAN_UNITS: [(&str, f64); 8] = [
    ("years", YEAR),
    ("months", MONTH),
    ("weeks", WEEK),
    ("days", DAY),
    ("hours", HOUR),
    ("minutes", MINUTE),
    ("seconds", SECOND),
    ("milliseconds", 1.0),
];

/// A number of milliseconds as a [`Duration`] (to the nanosecond); `None` when negative, not
/// finite, or longer than `u64::MAX` nanoseconds (about 584 years).
pub(super) fn from_millis(millis: f64) -> Option<Duration> {
    let nanos = (millis * 1_000_000.0).round();
    // u64::MAX as f64 rounds up to 2^64, so `<` keeps the cast in range.
    if nanos.is_finite() && nanos >= 0.0 && nanos < u64::MAX as f64 {
        Some(Duration::from_nanos(nanos as u64))
    } else {
        None
    }
}

/// Parses a duration string: ISO 8601 (`P1DT2H`, `PT0.5S`) or a short form (`90s`, `2 hours`).
/// Returns milliseconds.
pub(super) fn parse_text(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.starts_with(['P', 'p']) {
        parse_iso(text)
    } else {
        parse_short(text)
    }
}

/// `P[nY][nM][nW][nD][T[nH][nM][nS]]`, numbers may have a fraction (`.` or `,`).
fn parse_iso(text: &str) -> Option<f64> {
    let body = text.get(1..)?.to_ascii_uppercase();
    let (date, time) = match body.split_once('T') {
        Some((date, time)) => {
            if time.is_empty() {
                return None;
            }
            (date.to_owned(), Some(time.to_owned()))
        }
        None => (body, None),
    };
    let mut total = 0.0;
    let mut parts = 0;
    let mut add = |part: &str, units: &[(char, f64)]| -> Option<()> {
        let mut number = String::new();
        let mut order = 0;
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' || c == ',' {
                number.push(if c == ',' { '.' } else { c });
                continue;
            }
            // Each unit at most once, in order.
            let position = units.iter().position(|(u, _)| *u == c)?;
            if position < order || number.is_empty() {
                return None;
            }
            let value: f64 = number.parse().ok()?;
            total += value * units.get(position)?.1;
            parts += 1;
            order = position + 1;
            number.clear();
        }
        number.is_empty().then_some(())
    };
    add(&date, &[('Y', YEAR), ('M', MONTH), ('W', WEEK), ('D', DAY)])?;
    if let Some(time) = time {
        add(&time, &[('H', HOUR), ('M', MINUTE), ('S', SECOND)])?;
    }
    (parts > 0).then_some(total)
}

/// `<number> <unit>` with the `ms` library's unit names; a bare number is refused (the `ms`
/// library would read it as milliseconds, which is rarely what was meant).
fn parse_short(text: &str) -> Option<f64> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let unit = match unit.trim().to_ascii_lowercase().as_str() {
        "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => 1.0,
        "s" | "sec" | "secs" | "second" | "seconds" => SECOND,
        "m" | "min" | "mins" | "minute" | "minutes" => MINUTE,
        "h" | "hr" | "hrs" | "hour" | "hours" => HOUR,
        "d" | "day" | "days" => DAY,
        "w" | "week" | "weeks" => WEEK,
        "y" | "yr" | "yrs" | "year" | "years" => YEAR,
        _ => return None,
    };
    Some(value * unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> Option<f64> {
        parse_text(text).map(|ms| ms / 1000.0)
    }

    #[test]
    fn reads_iso_8601_durations() {
        assert_eq!(secs("PT30M"), Some(1800.0));
        assert_eq!(secs("PT1M30S"), Some(90.0));
        assert_eq!(secs("P1D"), Some(86_400.0));
        assert_eq!(secs("P1DT1H"), Some(90_000.0));
        assert_eq!(secs("P1W"), Some(604_800.0));
        assert_eq!(secs("P1M"), Some(2_592_000.0));
        assert_eq!(secs("P1Y"), Some(31_536_000.0));
        assert_eq!(secs("PT0.5S"), Some(0.5));
        assert_eq!(secs("PT1,5S"), Some(1.5));
        assert_eq!(secs("pt2m"), Some(120.0));
        for bad in [
            "P", "PT", "P1DT", "PT1H1H", "PT1S1M", "P1H", "PTM", "PT1X", "P1D2",
        ] {
            assert_eq!(secs(bad), None, "{bad}");
        }
    }

    #[test]
    fn reads_short_forms() {
        assert_eq!(secs("90s"), Some(90.0));
        assert_eq!(secs("30m"), Some(1800.0));
        assert_eq!(secs("2 hours"), Some(7200.0));
        assert_eq!(secs("1.5h"), Some(5400.0));
        assert_eq!(secs("250ms"), Some(0.25));
        assert_eq!(secs("1d"), Some(86_400.0));
        for bad in ["", "120", "m", "10 parsecs", "-5m"] {
            assert_eq!(secs(bad), None, "{bad}");
        }
    }

    #[test]
    fn converts_milliseconds_exactly() {
        assert_eq!(from_millis(100.0), Some(Duration::from_millis(100)));
        assert_eq!(from_millis(0.5), Some(Duration::from_micros(500)));
        assert_eq!(from_millis(-1.0), None);
        assert_eq!(from_millis(f64::INFINITY), None);
        assert_eq!(from_millis(1e30), None);
    }
}

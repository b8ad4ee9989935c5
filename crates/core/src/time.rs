//! Timestamp parsing for vendor fields: every common form, and a clear error for the rest.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_json::Value;

/// Why a timestamp could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unrecognised timestamp `{shown}`: expected RFC 3339, `YYYY-MM-DD hh:mm:ss`, RFC 2822, or Unix epoch seconds/milliseconds"
)]
pub struct TimeError {
    shown: String,
}

impl TimeError {
    fn new(input: &str) -> Self {
        let mut shown: String = input.chars().take(64).collect();
        if input.chars().count() > 64 {
            shown.push('…');
        }
        Self { shown }
    }
}

/// Earliest and latest instants accepted as alert times (1990 to 2200): anything else is a unit mix-up.
const MIN_SECS: i64 = 631_152_000;
const MAX_SECS: i64 = 7_258_118_400;

/// Reads a timestamp from a JSON value: a string in any form [`parse_str`] accepts, or a number of
/// Unix epoch seconds, milliseconds, microseconds or nanoseconds (told apart by magnitude).
pub fn parse_value(v: &Value) -> Result<Timestamp, TimeError> {
    match v {
        Value::String(s) => parse_str(s),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                from_epoch_int(i).ok_or_else(|| TimeError::new(&n.to_string()))
            } else if let Some(f) = n.as_f64() {
                from_epoch_float(f).ok_or_else(|| TimeError::new(&n.to_string()))
            } else {
                Err(TimeError::new(&n.to_string()))
            }
        }
        other => Err(TimeError::new(&other.to_string())),
    }
}

/// Reads a timestamp written as text. Accepts RFC 3339 / ISO 8601 with `Z` or an offset (`+01:00`,
/// `+0100`, `+01`), the same without an offset (read as UTC), a space instead of `T`, fractional
/// seconds of any length, RFC 2822, `/Date(ms)/`, and Unix epoch numbers written as text.
pub fn parse_str(input: &str) -> Result<Timestamp, TimeError> {
    let s = input.trim();
    if s.is_empty() || s.len() > 64 {
        return Err(TimeError::new(input));
    }
    if let Some(inner) = s.strip_prefix("/Date(").and_then(|r| r.strip_suffix(")/")) {
        let digits = inner.split(['+', '-']).next().unwrap_or("");
        return digits
            .parse::<i64>()
            .ok()
            .and_then(from_epoch_int)
            .ok_or_else(|| TimeError::new(input));
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .ok()
            .and_then(from_epoch_int)
            .ok_or_else(|| TimeError::new(input));
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && s.bytes().filter(|&b| b == b'.').count() == 1
    {
        return s
            .parse::<f64>()
            .ok()
            .and_then(from_epoch_float)
            .ok_or_else(|| TimeError::new(input));
    }
    if let Ok(ts) = s.parse::<Timestamp>() {
        return in_range(ts).ok_or_else(|| TimeError::new(input));
    }
    if let Some(ts) = parse_iso_loose(s) {
        return in_range(ts).ok_or_else(|| TimeError::new(input));
    }
    if let Ok(zdt) = jiff::fmt::rfc2822::parse(s) {
        return in_range(zdt.timestamp()).ok_or_else(|| TimeError::new(input));
    }
    Err(TimeError::new(input))
}

fn in_range(ts: Timestamp) -> Option<Timestamp> {
    (MIN_SECS..=MAX_SECS)
        .contains(&ts.as_second())
        .then_some(ts)
}

fn from_epoch_int(i: i64) -> Option<Timestamp> {
    let ts = if (MIN_SECS..=MAX_SECS).contains(&i) {
        Timestamp::from_second(i).ok()?
    } else if (MIN_SECS * 1_000..=MAX_SECS * 1_000).contains(&i) {
        Timestamp::from_millisecond(i).ok()?
    } else if (MIN_SECS * 1_000_000..=MAX_SECS * 1_000_000).contains(&i) {
        Timestamp::from_microsecond(i).ok()?
    } else if (MIN_SECS as i128 * 1_000_000_000..=MAX_SECS as i128 * 1_000_000_000)
        .contains(&(i as i128))
    {
        Timestamp::from_nanosecond(i as i128).ok()?
    } else {
        return None;
    };
    Some(ts)
}

fn from_epoch_float(f: f64) -> Option<Timestamp> {
    if !f.is_finite() || f < MIN_SECS as f64 || f > MAX_SECS as f64 {
        // Only seconds carry fractions in practice; larger magnitudes go through the integer path.
        return if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e18 {
            from_epoch_int(f as i64)
        } else {
            None
        };
    }
    // f64 holds about 16 significant digits: microseconds are the finest honest resolution here.
    let secs = f.trunc();
    let micros = ((f - secs) * 1e6).round() as i64;
    Timestamp::from_microsecond(secs as i64 * 1_000_000 + micros)
        .ok()
        .and_then(in_range)
}

/// `YYYY-MM-DD[T ]hh:mm:ss[.frac][Z|±hh[:mm]|±hhmm]` where jiff's strict parser said no.
fn parse_iso_loose(s: &str) -> Option<Timestamp> {
    let bytes = s.as_bytes();
    if bytes.len() < 19
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !(bytes[10] == b'T' || bytes[10] == b' ')
    {
        return None;
    }
    // Split the offset off the end, if any.
    let body_end = s[19..]
        .find(['Z', 'z', '+', '-', ' '])
        .map(|i| 19 + i)
        .unwrap_or(s.len());
    let (body, offset) = s.split_at(body_end);
    let body = body.replacen(' ', "T", 1);
    let dt: DateTime = body.parse().ok()?;
    let offset = offset.trim();
    let secs = match offset {
        "" | "Z" | "z" | "UTC" | "GMT" => 0,
        o => {
            let sign = match o.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = o[1..].chars().filter(|c| *c != ':').collect();
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let (h, m) = match digits.len() {
                2 => (digits.parse::<i32>().ok()?, 0),
                4 => (
                    digits[..2].parse::<i32>().ok()?,
                    digits[2..].parse::<i32>().ok()?,
                ),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 3600 + m * 60)
        }
    };
    let tz = TimeZone::fixed(jiff::tz::Offset::from_seconds(secs).ok()?);
    tz.to_timestamp(dt).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> String {
        parse_str(s).unwrap().to_string()
    }

    #[test]
    fn reads_every_common_form() {
        assert_eq!(t("2023-05-22T10:40:43.395Z"), "2023-05-22T10:40:43.395Z");
        assert_eq!(
            t("2023-05-22T10:40:43.395+0000"),
            "2023-05-22T10:40:43.395Z"
        );
        assert_eq!(
            t("2017-04-07T22:24:37.251547+0100"),
            "2017-04-07T21:24:37.251547Z"
        );
        assert_eq!(t("2020-08-24T12:10:17.000-07:00"), "2020-08-24T19:10:17Z");
        assert_eq!(
            t("2022-11-08T08:42:17.2954051Z"),
            "2022-11-08T08:42:17.2954051Z"
        );
        assert_eq!(t("2023-05-22 10:40:43"), "2023-05-22T10:40:43Z");
        assert_eq!(
            t("2023-05-22 10:40:43.123456789"),
            "2023-05-22T10:40:43.123456789Z"
        );
        assert_eq!(t("2023-05-22T10:40:43"), "2023-05-22T10:40:43Z");
        assert_eq!(t("2023-05-22T10:40:43+02"), "2023-05-22T08:40:43Z");
        assert_eq!(t("Mon, 22 May 2023 10:40:43 +0000"), "2023-05-22T10:40:43Z");
        assert_eq!(t("1642723347"), "2022-01-21T00:02:27Z");
        assert_eq!(t("1642723347123"), "2022-01-21T00:02:27.123Z");
        assert_eq!(t("1596545116.500"), "2020-08-04T12:45:16.5Z");
        assert_eq!(t("/Date(1642723347123)/"), "2022-01-21T00:02:27.123Z");
        assert_eq!(
            parse_value(&json!(1642723347)).unwrap().to_string(),
            "2022-01-21T00:02:27Z"
        );
        assert_eq!(
            parse_value(&json!(1642723347123_i64)).unwrap().to_string(),
            "2022-01-21T00:02:27.123Z"
        );
        assert_eq!(
            parse_value(&json!(1642723347.25)).unwrap().to_string(),
            "2022-01-21T00:02:27.25Z"
        );
    }

    #[test]
    fn rejects_nonsense_with_the_value_in_the_message() {
        for bad in [
            "",
            "yesterday",
            "May 22 10:40:41",
            "2023-13-45T99:99:99Z",
            "0",
            "-5",
            "12",
            "NaN",
            "2023-05-22T10:40:43+9999",
            "9999999999999999999999",
            "1.2.3",
            "2023-05-22Tfoo",
        ] {
            let err = parse_str(bad).unwrap_err();
            assert!(err.to_string().contains("unrecognised timestamp"), "{bad}");
        }
        assert!(parse_value(&json!(true)).is_err());
        assert!(parse_value(&json!(null)).is_err());
        assert!(parse_value(&json!(-1)).is_err());
        assert!(parse_value(&json!(1e300)).is_err());
        let long = "9".repeat(10_000);
        assert!(parse_str(&long).unwrap_err().to_string().len() < 300);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = parse_str(&s);
        }

        #[test]
        fn epoch_seconds_round_trip(secs in MIN_SECS..MAX_SECS) {
            proptest::prop_assert_eq!(parse_str(&secs.to_string()).unwrap().as_second(), secs);
        }
    }
}

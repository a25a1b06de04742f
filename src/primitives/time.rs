//! `time::` — RFC 3339 timestamps as Kubernetes writes them, compared without a date library.

use std::cmp::Ordering;

use rhai::{Dynamic, Module};

use super::api::api_module;

/// Seconds since the Unix epoch of an RFC 3339 UTC timestamp (`2026-11-25T18:21:27Z`, with
/// optional fraction or offset); `None` when it is not one.
pub fn parse(ts: &str) -> Option<f64> {
    let ts = ts.trim();
    if ts.len() < 20 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        let part = ts.get(r)?;
        // `parse` alone would take `+1` or `-1` as a field.
        part.bytes().all(|b| b.is_ascii_digit()).then(|| part.parse::<i64>().ok())?
    };
    let (y, mo, d, h, mi, s) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &ts[19..];
    let mut frac = 0.0;
    if let Some(r) = rest.strip_prefix('.') {
        let digits: String = r.chars().take_while(char::is_ascii_digit).collect();
        frac = format!("0.{digits}").parse().unwrap_or(0.0);
        rest = &r[digits.len()..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        // `±hh:mm`, checked byte by byte: the text comes from servers and users, and may not
        // even be ASCII.
        o if o.len() == 6 && o.is_ascii() && o.as_bytes()[3] == b':' => {
            let sign = match o.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (hh, mm) = (o.get(1..3)?, o.get(4..6)?);
            if !(hh.bytes().all(|b| b.is_ascii_digit()) && mm.bytes().all(|b| b.is_ascii_digit())) {
                return None;
            }
            sign * (hh.parse::<i64>().ok()? * 3600 + mm.parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + mi * 60 + s - offset) as f64 + frac)
}

/// Order two timestamps; unparsable ones sort first.
pub fn cmp(a: &str, b: &str) -> Ordering {
    parse(a).unwrap_or(f64::MIN).partial_cmp(&parse(b).unwrap_or(f64::MIN)).unwrap_or(Ordering::Equal)
}

/// Whether `a` is at or after `b` (an unparsable `b` lets everything through).
pub fn after(a: &str, b: &str) -> bool {
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x >= y,
        (None, Some(_)) => false,
        _ => true,
    }
}

/// The current time as RFC 3339 UTC with nanoseconds, as Flux's CLI stamps a reconcile request:
/// two requests within one second must still differ, or the second is taken as handled.
pub fn now_nanos() -> String {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = format_unix(d.as_secs() as i64);
    format!("{}.{:09}Z", secs.trim_end_matches('Z'), d.subsec_nanos())
}

/// The current time as RFC 3339 UTC.
pub fn now() -> String {
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    format_unix(secs)
}

pub fn format_unix(secs: i64) -> String {
    let (y, m, d) = crate::civil::from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

pub fn module() -> Module {
    api_module! {
        //! Timestamps in the RFC 3339 form Kubernetes uses.

        /// The current time, RFC 3339 UTC.
        ///
        /// Example: `let t = time::now();`
        fn now() -> String {
            Ok(now())
        }

        /// The current time, RFC 3339 UTC with nanoseconds: a token that differs on every call, as `flux reconcile`
        /// stamps `reconcile.fluxcd.io/requestedAt`.
        ///
        /// Example: `let at = time::now_nanos();`
        fn now_nanos() -> String {
            Ok(now_nanos())
        }

        /// Pause for `seconds` (an int or a float; at most what is left of the command's `--timeout`), e.g. between
        /// two polls of a condition.
        ///
        /// Example: `time::sleep(2);`
        fn sleep(seconds: Dynamic) -> () {
            // One function for ints and floats: two overloads of one name list in no fixed order.
            super::clock::pause(super::seconds(&seconds).unwrap_or(0.0));
            Ok(())
        }

        /// Seconds left before the command's `--timeout` ends it (a float), or `()` with `--timeout 0`. A script that
        /// waits gives up, and says what it was waiting for, before then.
        ///
        /// Example: `while !ready() && (time::left() ?? 60.0) > 2.0 { time::sleep(1); }`
        fn left() -> Dynamic {
            Ok(crate::deadline::remaining().map(|d| Dynamic::from_float(d.as_secs_f64())).unwrap_or(Dynamic::UNIT))
        }

        /// Whether timestamp `a` is at or after `b`.
        ///
        /// Example: `time::after(ev.time, last_sync)`
        fn after(a: &str, b: &str) -> bool {
            Ok(after(a, b))
        }

        /// `ts` moved by `seconds` (negative for earlier), RFC 3339 UTC; `()`-safe: an invalid `ts` returns it
        /// unchanged.
        ///
        /// Example: `time::add_seconds(time::now(), -3600)`
        fn add_seconds(ts: &str, seconds: i64) -> String {
            Ok(parse(ts).map(|t| format_unix(t as i64 + seconds)).unwrap_or_else(|| ts.to_string()))
        }

        /// How long ago `ts` was, kubectl style (`45s`, `12m`, `3h`, `5d`); empty for an invalid timestamp.
        ///
        /// Example: `time::since(cond.lastTransitionTime)`
        fn since(ts: &str) -> String {
            Ok(parse(ts).map(age).unwrap_or_default())
        }
    }
}

/// How long ago `t` (Unix seconds) was, kubectl style.
fn age(t: f64) -> String {
    let now = parse(&now()).unwrap_or(t);
    let s = (now - t).max(0.0) as i64;
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(parse("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(format_unix(parse("2026-11-25T18:21:27Z").unwrap() as i64), "2026-11-25T18:21:27Z");
        assert_eq!(parse("2026-11-25T19:21:27+01:00"), parse("2026-11-25T18:21:27Z"));
        assert!(after("2026-11-25T18:21:27.5Z", "2026-11-25T18:21:27Z"));
        assert!(!after("2026-11-24T18:21:27Z", "2026-11-25T18:21:27Z"));
        assert_eq!(parse("nope"), None);
        let (a, b) = (now_nanos(), now_nanos());
        assert!(a != b && parse(&a).is_some() && a.len() == "2026-11-25T18:21:27.123456789Z".len(), "{a} {b}");
    }

    #[test]
    fn hostile_text_is_not_a_time_and_never_panics() {
        for ts in [
            "2026-11-25T18:21:27+é:00",
            "2026-11-25T18:21:27+0é:0",
            "2026-11-25T18:21:27+00é0",
            "2026-11-25T18:21:27ééé",
            "2026-11-25T18:21:2é+00:00",
            "2026-11-25T18:21:27.5é",
            "ééééééééééééééééééééé",
            "2026-11-25T18:21:27*01:00",
            "2026-11-25T18:21:27+1:000",
            "2026-+1-25T18:21:27Z",
        ] {
            assert_eq!(parse(ts), None, "{ts}");
            assert!(after(ts, "2026-11-25T18:21:27Z") || !after(ts, "2026-11-25T18:21:27Z"));
        }
        assert_eq!(parse("2026-11-25T17:21:27-01:00"), parse("2026-11-25T18:21:27Z"));
    }
}

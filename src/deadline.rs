//! The overall deadline of a command (`--timeout`, as in flux): every network call has its own
//! connect and read timeouts, but a slow server answering just often enough, or many calls in a
//! row, could still keep a command going indefinitely. When the deadline passes, wego says so
//! and exits; what it had already done stays done (each write is whole), and a rerun converges.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// When the armed deadline passes.
static DEADLINE: OnceLock<Instant> = OnceLock::new();

/// Time left before the deadline, `None` when none is armed.
pub fn remaining() -> Option<Duration> {
    DEADLINE.get().map(|d| d.saturating_duration_since(Instant::now()))
}

/// The default, as flux's `--timeout`.
pub const DEFAULT: &str = "5m";

/// `90s`, `5m`, `1h`, `1h30m`, `250ms`, or plain seconds; `0` means no deadline.
pub fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let bad = || format!("`{text}` is not a duration (use e.g. 90s, 5m or 1h)");
    let (mut total, mut num) = (Duration::ZERO, String::new());
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().map_err(|_| bad())?;
        num.clear();
        let unit = match (c, chars.peek()) {
            ('m', Some('s')) => {
                chars.next();
                Duration::from_millis(1)
            }
            ('h', _) => Duration::from_secs(3600),
            ('m', _) => Duration::from_secs(60),
            ('s', _) => Duration::from_secs(1),
            _ => return Err(bad()),
        };
        total = unit
            .checked_mul(u32::try_from(n).map_err(|_| bad())?)
            .and_then(|d| total.checked_add(d))
            .ok_or_else(bad)?;
    }
    if !num.is_empty() || t.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

/// `5m0s`-style text for messages.
pub fn show(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) if d.subsec_millis() > 0 && s == 0 => format!("{}ms", d.subsec_millis()),
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

/// Start the clock for `command`: when `limit` passes before the process ends, print why on
/// stderr and exit with status 1. A zero limit means no deadline.
pub fn arm(command: &str, limit: Duration) {
    if limit.is_zero() {
        return;
    }
    let _ = DEADLINE.set(Instant::now() + limit);
    let command = command.to_string();
    let spawned = std::thread::Builder::new().name("deadline".into()).spawn(move || {
        std::thread::sleep(limit);
        eprintln!(
            "error: `wego {command}` did not finish within {} (--timeout); a server may be slow or not answering\n  = help: check the cluster and git host are reachable, then run it again (what was done is kept), or allow more time with --timeout",
            show(limit)
        );
        std::process::exit(1);
    });
    // Without a thread there is no deadline, but the command's own network timeouts still hold.
    let _ = spawned;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_flux_writes_them() {
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        for bad in ["", "m", "5x", "1.5m", "-1s", "5m3", "é", "99999999999999999999h"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(show(Duration::from_secs(300)), "5m0s");
        assert_eq!(show(Duration::from_secs(3)), "3s");
        assert_eq!(show(Duration::from_millis(250)), "250ms");
    }
}

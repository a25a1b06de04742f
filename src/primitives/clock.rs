//! `time::sleep` and `time::left`: waiting in scripts, within the command's `--timeout`.

use super::api::ApiModule;

/// Register the waiting functions into the `time` module.
pub fn register(m: &mut ApiModule) {
    // One registration for ints and floats: two overloads of one name list in no fixed order.
    m.func(
        "sleep",
        &["seconds: Dynamic", "()"],
        "Pause for `seconds` (an int or a float; at most what is left of the command's `--timeout`), e.g. between two polls of a condition.\n\nExample: `time::sleep(2);`",
        |s: rhai::Dynamic| pause(s.as_float().ok().or_else(|| s.as_int().ok().map(|i| i as f64)).unwrap_or(0.0)),
    );
    m.func(
        "left",
        &["Dynamic"],
        "Seconds left before the command's `--timeout` ends it (a float), or `()` with `--timeout 0`. A script that waits gives up, and says what it was waiting for, before then.\n\nExample: `while !ready() && (time::left() ?? 60.0) > 2.0 { time::sleep(1); }`",
        || crate::deadline::remaining().map(|d| rhai::Dynamic::from_float(d.as_secs_f64())).unwrap_or(rhai::Dynamic::UNIT),
    );
}

fn pause(seconds: f64) {
    if !seconds.is_finite() || seconds <= 0.0 {
        return;
    }
    let mut d = std::time::Duration::from_secs_f64(seconds.min(86_400.0));
    if let Some(left) = crate::deadline::remaining() {
        d = d.min(left);
    }
    std::thread::sleep(d);
}

//! Waiting in scripts within the command's `--timeout` (`time::sleep`; time.rs registers it).

/// Sleep `seconds`, never past the command's deadline.
pub fn pause(seconds: f64) {
    if !seconds.is_finite() || seconds <= 0.0 {
        return;
    }
    let mut d = std::time::Duration::from_secs_f64(seconds.min(86_400.0));
    if let Some(left) = crate::deadline::remaining() {
        d = d.min(left);
    }
    std::thread::sleep(d);
}

//! A reader that stops early (`wego install | head -1`, `| kubectl apply -f -` failing) is how
//! pipelines work, not an error in wego.
//!
//! Rust ignores SIGPIPE, so a write to a closed stdout or stderr fails with EPIPE and
//! `println!` panics. Restoring SIGPIPE's default action is what many CLIs do, but libgit2 and
//! libssh2 write to their sockets without `MSG_NOSIGNAL`: a server hanging up mid-push would
//! kill wego silently. So SIGPIPE stays ignored and the one panic std raises for a closed
//! standard stream ends the process quietly instead, wherever the print was (the CLI, a
//! primitive, a script's `print`).

pub use crate::engine::CLOSED_PIPE_EXIT;

/// EPIPE as `std::io::Error` renders it (the OS text varies by platform; the number does not).
const EPIPE: &str = "(os error 32)";

/// Install the panic hook: a failed print to a closed stdout/stderr exits with
/// [`CLOSED_PIPE_EXIT`] and prints nothing; every other panic is reported as before.
pub fn exit_quietly_when_closed() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message =
            payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied());
        if message.is_some_and(is_closed_stream) {
            std::process::exit(CLOSED_PIPE_EXIT);
        }
        default(info);
    }));
}

/// The message of std's print macros when the stream's reader has gone.
fn is_closed_stream(message: &str) -> bool {
    message.starts_with("failed printing to std") && message.contains(EPIPE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_closed_standard_stream_is_quiet() {
        assert!(is_closed_stream("failed printing to stdout: Broken pipe (os error 32)"));
        assert!(is_closed_stream("failed printing to stderr: Broken pipe (os error 32)"));
        assert!(!is_closed_stream("failed printing to stdout: No space left on device (os error 28)"));
        assert!(!is_closed_stream("index out of bounds (os error 32)"));
    }
}

//! `term::confirm`: ask the person at the keyboard before something that cannot be undone.
//! `term.rs` registers it.

use std::io::{BufRead, IsTerminal, Write};

/// `y`/`yes` (any case) is a yes; anything else, an empty line or end of input is a no.
pub fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Ask `question [y/N]` on stderr and read the answer from stdin.
pub fn ask(question: &str) -> std::io::Result<bool> {
    let mut err = std::io::stderr();
    let _ = write!(err, "{question} [y/N] ");
    let _ = err.flush();
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if !std::io::stdin().is_terminal() {
        // The answer did not echo: show it, so the transcript reads as a dialogue.
        let _ = writeln!(err, "{}", line.trim_end());
    }
    read.map(|_| is_yes(&line))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_yes_is_yes() {
        for a in ["y", "Y\n", " yes ", "YES"] {
            assert!(super::is_yes(a), "{a}");
        }
        for a in ["", "\n", "n", "no", "yep", "y y"] {
            assert!(!super::is_yes(a), "{a}");
        }
    }
}

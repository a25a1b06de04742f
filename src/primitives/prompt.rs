//! `term::confirm`: ask the person at the keyboard before something that cannot be undone.
//! Registered into the `term::` module.

use std::io::{BufRead, IsTerminal, Write};

use super::api::ApiModule;
use super::host::fail;

/// `y`/`yes` (any case) is a yes; anything else, an empty line or end of input is a no.
pub fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

pub fn register(m: &mut ApiModule) {
    m.func(
        "confirm",
        &["question: &str", "bool"],
        "Ask `question [y/N]` on stderr and read one line of stdin: true for `y` or `yes`; false for anything else, an empty line or no input at all (so a command run by another program never goes ahead unasked). Scripts offer `--yes` to skip it.\n\nErrors: stdin cannot be read.\n\nExample: `if !args.yes && !term::confirm(\"Delete everything?\") { throw \"aborted\"; }`",
        |question: &str| -> Result<bool, Box<rhai::EvalAltResult>> {
            let mut err = std::io::stderr();
            let _ = write!(err, "{question} [y/N] ");
            let _ = err.flush();
            let mut line = String::new();
            let read = std::io::stdin().lock().read_line(&mut line);
            if !std::io::stdin().is_terminal() {
                // The answer did not echo: show it, so the transcript reads as a dialogue.
                let _ = writeln!(err, "{}", line.trim_end());
            }
            read.map(|_| is_yes(&line)).map_err(|e| fail("term::confirm", format!("cannot read the answer: {e}"), None))
        },
    );
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

//! Renders script and template errors the way a compiler would: what went wrong, where
//! (file:line:col with the source line and a caret), how we got there, and what to do.

use std::fmt::Write as _;

use rhai::{EvalAltResult, ParseError, Position};

/// A rendered-ready error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    /// Primary location: (display name, line, column).
    pub location: Option<Location>,
    /// Extra lines printed verbatim after the location (e.g. a template frame).
    pub detail: Vec<String>,
    /// The call chain, innermost first: "in call to `f` at file:line:col".
    pub notes: Vec<String>,
    pub help: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

/// Looks up source text by display name, to print the offending line.
pub trait SourceLookup {
    fn source(&self, file: &str) -> Option<String>;
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Self {
        Diagnostic { message: message.into(), location: None, detail: vec![], notes: vec![], help: None }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// From a compile error in `file`.
    pub fn from_parse(err: &ParseError, file: &str) -> Self {
        let mut d = Diagnostic::new(format!("syntax error: {}", err.err_type()));
        d.location = loc(file, err.position());
        d
    }

    /// From a runtime error raised while running `file`.
    pub fn from_eval(err: &EvalAltResult, file: &str, module_display: &dyn Fn(&str) -> Option<String>) -> Self {
        let mut notes = Vec::new();
        let mut current = file.to_string();
        let mut e = err;
        loop {
            match e {
                EvalAltResult::ErrorInFunctionCall(name, src, inner, pos) => {
                    if let Some(l) = loc(&current, *pos) {
                        let what = if name.starts_with("anon$") { "closure".to_string() } else { format!("`{name}`") };
                        notes.push(format!("in call to {what} at {}:{}:{}", l.file, l.line, l.column));
                    }
                    if !src.is_empty() {
                        current = src.clone();
                    }
                    e = inner;
                }
                EvalAltResult::ErrorInModule(path, inner, pos) => {
                    if let Some(l) = loc(&current, *pos) {
                        notes.push(format!("in module `{path}` imported at {}:{}:{}", l.file, l.line, l.column));
                    }
                    current = module_display(path).unwrap_or_else(|| path.clone());
                    e = inner;
                }
                _ => break,
            }
        }
        notes.reverse();
        let (message, detail, help) = describe(e);
        let mut location = loc(&current, e.position());
        // An error that brings its own frame (a template's) is shown there first; the script
        // line that rendered it becomes the first step of the call chain.
        if detail.first().is_some_and(|l| l.trim_start().starts_with("-->")) {
            if let Some(l) = location.take() {
                notes.insert(0, format!("rendered from {}:{}:{}", l.file, l.line, l.column));
            }
        }
        Diagnostic { message, location, detail, notes, help }
    }

    /// Render for a terminal (or a test snapshot when `color` is false).
    pub fn render(&self, sources: &dyn SourceLookup, color: bool) -> String {
        let (red, blue, bold, reset) =
            if color { ("\x1b[1;31m", "\x1b[1;34m", "\x1b[1m", "\x1b[0m") } else { ("", "", "", "") };
        let mut out = String::new();
        let _ = writeln!(out, "{red}error{reset}{bold}: {}{reset}", self.message);
        if let Some(l) = &self.location {
            let line_text =
                sources.source(&l.file).and_then(|s| s.lines().nth(l.line.saturating_sub(1)).map(str::to_string));
            let width = l.line.to_string().len();
            let pad = " ".repeat(width);
            let _ = writeln!(out, "{pad}{blue}-->{reset} {}:{}:{}", l.file, l.line, l.column);
            if let Some(text) = line_text {
                let _ = writeln!(out, "{pad} {blue}|{reset}");
                let _ = writeln!(out, "{blue}{}{reset} {blue}|{reset} {}", l.line, text);
                let caret_pad: String =
                    text.chars().take(l.column.saturating_sub(1)).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
                let _ = writeln!(out, "{pad} {blue}|{reset} {caret_pad}{red}^{reset}");
            }
        }
        for d in &self.detail {
            let _ = writeln!(out, "{d}");
        }
        for n in &self.notes {
            let _ = writeln!(out, "  {blue}={reset} note: {n}");
        }
        if let Some(h) = &self.help {
            let _ = writeln!(out, "  {blue}={reset} help: {h}");
        }
        out
    }
}

fn loc(file: &str, pos: Position) -> Option<Location> {
    Some(Location { file: file.to_string(), line: pos.line()?, column: pos.position().unwrap_or(1) })
}

/// Split a primitive's error text into message, verbatim detail lines and `help:`.
///
/// Primitives and scripts raise plain strings; by convention a line starting with `help: `
/// carries the fix, and any other extra line is detail (such as a template's own frame).
pub fn split_message(text: &str) -> (String, Vec<String>, Option<String>) {
    let mut lines = text.lines();
    let message = lines.next().unwrap_or_default().to_string();
    let mut detail = Vec::new();
    let mut help = None;
    for l in lines {
        if let Some(h) = l.strip_prefix("help: ") {
            // A re-thrown error keeps the inner fix first, then adds its own.
            help = Some(match help {
                Some(prev) => format!("{prev}; {h}"),
                None => h.to_string(),
            });
        } else {
            detail.push(l.to_string());
        }
    }
    (message, detail, help)
}

fn describe(e: &EvalAltResult) -> (String, Vec<String>, Option<String>) {
    use EvalAltResult::*;
    let plain = |m: String| (m, vec![], None);
    match e {
        ErrorRuntime(v, _) => {
            if let Some(m) = v.read_lock::<rhai::Map>() {
                let msg = m.get("message").map(|v| v.to_string()).unwrap_or_else(|| format!("{v}"));
                let help = m.get("help").map(|v| v.to_string());
                return (msg, vec![], help);
            }
            split_message(&v.to_string())
        }
        ErrorParsing(p, _) => plain(format!("syntax error: {p}")),
        ErrorTooManyOperations(_) => (
            "script stopped: it ran too many operations (a runaway loop?)".into(),
            vec![],
            Some("if the work is legitimate, raise `limits.maxOperations` in the wego config".into()),
        ),
        ErrorStackOverflow(_) => (
            "script stopped: calls nested too deeply (runaway recursion?)".into(),
            vec![],
            Some("if the work is legitimate, raise `limits.maxCallDepth` in the wego config".into()),
        ),
        ErrorDataTooLarge(what, _) => (
            format!("script stopped: {what} exceeds the configured limit"),
            vec![],
            Some("raise the matching `limits.*` value in the wego config if this is legitimate".into()),
        ),
        ErrorFunctionNotFound(sig, _) => (
            format!("no function `{sig}`"),
            vec![],
            Some("check the name and argument types; `wego docs api` lists every function".into()),
        ),
        ErrorModuleNotFound(m, _) => (
            format!("module `{m}` not found"),
            vec![],
            Some("stdlib modules are imported as \"wego/<name>\"; `wego scripts list` shows the stdlib".into()),
        ),
        ErrorVariableNotFound(v, _) => plain(format!("variable `{v}` is not defined")),
        other => {
            // Rhai's own text, without its position suffix (we print the location ourselves).
            let s = other.to_string();
            let s = s.split(" (line ").next().unwrap_or(&s).to_string();
            plain(s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct One(&'static str);
    impl SourceLookup for One {
        fn source(&self, _: &str) -> Option<String> {
            Some(self.0.to_string())
        }
    }

    #[test]
    fn renders_caret_under_column() {
        let d = Diagnostic {
            message: "boom".into(),
            location: Some(Location { file: "x.rhai".into(), line: 2, column: 5 }),
            detail: vec![],
            notes: vec!["in call to `f` at x.rhai:9:1".into()],
            help: Some("do it".into()),
        };
        let out = d.render(&One("let a = 1;\nlet b = c;\n"), false);
        assert_eq!(
            out,
            "error: boom\n --> x.rhai:2:5\n  |\n2 | let b = c;\n  |     ^\n  = note: in call to `f` at x.rhai:9:1\n  = help: do it\n"
        );
    }

    #[test]
    fn help_lines_are_split_out() {
        let (m, d, h) = split_message("kube::get: not found\n  detail\nhelp: run x");
        assert_eq!(
            (m.as_str(), d, h.as_deref()),
            ("kube::get: not found", vec!["  detail".to_string()], Some("run x"))
        );
    }
}

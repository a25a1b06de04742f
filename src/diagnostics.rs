//! Renders script and template errors the way a compiler would: what went wrong, where
//! (file:line:col with the source line and a caret), how we got there, and what to do.

use std::fmt::Write as _;

use rhai::{Dynamic, EvalAltResult, ParseError, Position};

/// wego's one error: what went wrong, where, how we got there, and what to do. Host functions
/// raise it (a script sees it as an `Error` value, `Diagnostic::raise`), the engine builds one
/// from any script failure (`Diagnostic::from_eval`), and `Diagnostic::render` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    /// Primary location: a script's line, or the frame an error brings along (a template's).
    pub location: Option<Location>,
    /// Extra lines printed verbatim after the location.
    pub detail: Vec<String>,
    /// The call chain, innermost first: "in call to `f` at file:line:col".
    pub notes: Vec<String>,
    pub help: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    /// 1-based; `None` when only the file is known.
    pub line: Option<usize>,
    pub column: usize,
    /// The text of the line, when `file` is not a source the [`SourceLookup`] knows.
    pub text: Option<String>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}:{}", self.file, self.column),
            None => f.write_str(&self.file),
        }
    }
}

/// Looks up source text by display name, to print the offending line.
pub trait SourceLookup {
    fn source(&self, file: &str) -> Option<String>;
}

/// No sources: a diagnostic's own line text only.
struct NoSources;

impl SourceLookup for NoSources {
    fn source(&self, _: &str) -> Option<String> {
        None
    }
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Self {
        Diagnostic { message: message.into(), location: None, detail: vec![], notes: vec![], help: None }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Raise this from a host function: it travels through Rhai as the script value it is (a
    /// script can `catch` it, print it or `throw` it again) and comes back whole in
    /// [`Diagnostic::from_eval`]. The call site's position is added on the way.
    pub fn raise(self) -> Box<EvalAltResult> {
        Box::new(EvalAltResult::ErrorRuntime(Dynamic::from(self), Position::NONE))
    }

    /// The text a script sees for a raised error (`${e}`): the message, the error's own frame,
    /// detail lines and `help: <fix>`, which `throw` turns back into the same parts.
    pub fn text(&self) -> String {
        let mut out = self.message.clone();
        if let Some(l) = &self.location {
            write_location(&mut out, l, &NoSources, ("", "", ""));
        }
        for d in &self.detail {
            let _ = write!(out, "\n{d}");
        }
        if let Some(h) = &self.help {
            let _ = write!(out, "\nhelp: {h}");
        }
        out
    }

    /// What failed and the fix, in the words of the command's user: the message without the
    /// name of the function that raised it (`git::clone: `), its details, `help: <fix>`.
    pub fn brief(&self) -> String {
        let mut out = without_primitive(&self.message).to_string();
        for d in &self.detail {
            let _ = write!(out, "\n{d}");
        }
        if let Some(h) = &self.help {
            let _ = write!(out, "\nhelp: {h}");
        }
        out
    }

    /// [`Diagnostic::brief`] of an error a script threw as text (`"cause\nhelp: fix"`).
    pub fn brief_of_text(text: &str) -> String {
        split_message(text).brief()
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
                        notes.push(format!("in call to {what} at {l}"));
                    }
                    if !src.is_empty() {
                        current = src.clone();
                    }
                    e = inner;
                }
                EvalAltResult::ErrorInModule(path, inner, pos) => {
                    if let Some(l) = loc(&current, *pos) {
                        notes.push(format!("in module `{path}` imported at {l}"));
                    }
                    current = module_display(path).unwrap_or_else(|| path.clone());
                    e = inner;
                }
                _ => break,
            }
        }
        notes.reverse();
        let script_location = loc(&current, e.position());
        let mut d = describe(e);
        match (&d.location, script_location) {
            // An error that brings its own frame (a template's) is shown there first; the
            // script line that rendered it becomes the first step of the call chain.
            (Some(_), Some(l)) => notes.insert(0, format!("rendered from {l}")),
            (None, l) => d.location = l,
            (Some(_), None) => {}
        }
        d.notes.splice(0..0, notes);
        d
    }

    /// Render for a terminal (or a test snapshot when `color` is false).
    pub fn render(&self, sources: &dyn SourceLookup, color: bool) -> String {
        let colors @ (red, blue, _) = if color { ("\x1b[1;31m", "\x1b[1;34m", "\x1b[0m") } else { ("", "", "") };
        let (bold, reset) = if color { ("\x1b[1m", "\x1b[0m") } else { ("", "") };
        let mut out = String::new();
        let _ = write!(out, "{red}error{reset}{bold}: {}{reset}", self.message);
        if let Some(l) = &self.location {
            write_location(&mut out, l, sources, colors);
        }
        out.push('\n');
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

impl Diagnostic {
    /// For the user of a built-in command: one line `✗ what failed`, its detail lines and
    /// `help:`, without the script positions and frames only a script author can use. A
    /// primitive's name in front of the message (`kube::get: `) is script speech too.
    pub fn render_brief(&self, color: bool) -> String {
        let (red, bold, reset) = if color { ("\x1b[1;31m", "\x1b[1m", "\x1b[0m") } else { ("", "", "") };
        let mut out = format!("{red}✗{reset} {bold}{}{reset}\n", without_primitive(&self.message));
        for d in &self.detail {
            let _ = writeln!(out, "{d}");
        }
        if let Some(h) = &self.help {
            let _ = writeln!(out, "help: {h}");
        }
        out
    }
}

/// `message` without a leading `module::function: `.
fn without_primitive(message: &str) -> &str {
    let Some((head, rest)) = message.split_once(": ") else { return message };
    let is_name =
        |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    match head.split_once("::") {
        Some((m, f)) if is_name(m) && is_name(f) => rest,
        _ => message,
    }
}

/// A location as `--> file:line:col` and, when its text is known, the line with a caret
/// under the column; each line starts with a newline. `colors` is (caret, frame, reset).
fn write_location(out: &mut String, l: &Location, sources: &dyn SourceLookup, colors: (&str, &str, &str)) {
    let (red, blue, reset) = colors;
    let Some(line) = l.line else {
        let _ = write!(out, "\n  {blue}-->{reset} {l}");
        return;
    };
    let known = || sources.source(&l.file).and_then(|s| s.lines().nth(line - 1).map(str::to_string));
    let text = l.text.clone().or_else(known);
    let pad = " ".repeat(line.to_string().len());
    let _ = write!(out, "\n{pad}{blue}-->{reset} {l}");
    if let Some(text) = text {
        let caret_pad: String =
            text.chars().take(l.column.saturating_sub(1)).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
        let _ = write!(out, "\n{pad} {blue}|{reset}");
        let _ = write!(out, "\n{blue}{line}{reset} {blue}|{reset} {text}");
        let _ = write!(out, "\n{pad} {blue}|{reset} {caret_pad}{red}^{reset}");
    }
}

fn loc(file: &str, pos: Position) -> Option<Location> {
    let line = pos.line()?;
    Some(Location { file: file.to_string(), line: Some(line), column: pos.position().unwrap_or(1), text: None })
}

/// Split a script's own error text into message, verbatim detail lines and `help:`.
///
/// A script raises a plain string (`throw "..."`); by convention a line starting with
/// `help: ` carries the fix, and any other extra line is detail. A script that catches an
/// error and throws `${e}` with a fix of its own keeps the inner fix first.
fn split_message(text: &str) -> Diagnostic {
    let mut lines = text.lines();
    let mut d = Diagnostic::new(lines.next().unwrap_or_default());
    for l in lines {
        if let Some(h) = l.strip_prefix("help: ") {
            d.help = Some(match d.help.take() {
                Some(prev) => format!("{prev}; {h}"),
                None => h.to_string(),
            });
        } else {
            d.detail.push(l.to_string());
        }
    }
    d
}

/// The error `e` raised (without its position, which `from_eval` finds).
fn describe(e: &EvalAltResult) -> Diagnostic {
    use EvalAltResult::*;
    let with_help = |m: String, h: &str| Diagnostic::new(m).with_help(h);
    match e {
        ErrorRuntime(v, _) => {
            if let Some(d) = v.read_lock::<Diagnostic>() {
                return d.clone();
            }
            if let Some(m) = v.read_lock::<rhai::Map>() {
                let msg = m.get("message").map(|v| v.to_string()).unwrap_or_else(|| format!("{v}"));
                let mut d = Diagnostic::new(msg);
                d.help = m.get("help").map(|v| v.to_string());
                return d;
            }
            split_message(&v.to_string())
        }
        ErrorParsing(p, _) => Diagnostic::new(format!("syntax error: {p}")),
        ErrorTooManyOperations(_) => with_help(
            "script stopped: it ran too many operations (a runaway loop?)".into(),
            "if the work is legitimate, raise `limits.maxOperations` in the wego config",
        ),
        ErrorStackOverflow(_) => with_help(
            "script stopped: calls nested too deeply (runaway recursion?)".into(),
            "if the work is legitimate, raise `limits.maxCallDepth` in the wego config",
        ),
        ErrorDataTooLarge(what, _) => with_help(
            format!("script stopped: {what} exceeds the configured limit"),
            "raise the matching `limits.*` value in the wego config if this is legitimate",
        ),
        ErrorFunctionNotFound(sig, _) => with_help(
            format!("no function `{sig}`"),
            "check the name and argument types; `wego docs api` lists every function",
        ),
        ErrorModuleNotFound(m, _) => with_help(
            format!("module `{m}` not found"),
            "stdlib modules are imported as \"wego/<name>\"; `wego scripts list` shows the stdlib",
        ),
        ErrorVariableNotFound(v, _) => Diagnostic::new(format!("variable `{v}` is not defined")),
        other => {
            // Rhai's own text, without its position suffix (we print the location ourselves).
            let s = other.to_string();
            Diagnostic::new(s.split(" (line ").next().unwrap_or(&s))
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
            location: Some(Location { file: "x.rhai".into(), line: Some(2), column: 5, text: None }),
            detail: vec![],
            notes: vec!["in call to `f` at x.rhai:9:1".into()],
            help: Some("do it".into()),
        };
        let out = d.render(&One("let a = 1;\nlet b = c;\n"), false);
        let want = "error: boom\n --> x.rhai:2:5\n  |\n2 | let b = c;\n  |     ^\n\
                    \x20 = note: in call to `f` at x.rhai:9:1\n  = help: do it\n";
        assert_eq!(out, want);
    }

    #[test]
    fn brief_drops_the_primitive_and_keeps_the_fix() {
        let d = Diagnostic::new("git::clone: cannot reach x").with_help("check the URL");
        assert_eq!(d.brief(), "cannot reach x\nhelp: check the URL");
        assert_eq!(Diagnostic::brief_of_text("kube::get: gone\nhelp: retry"), "gone\nhelp: retry");
        // A message that merely contains `::` further on keeps its words.
        assert_eq!(Diagnostic::new("bad key a::b: x").brief(), "bad key a::b: x");
    }

    #[test]
    fn help_lines_are_split_out() {
        let d = split_message("kube::get: not found\n  detail\nhelp: run x\nhelp: then y");
        assert_eq!(
            (d.message.as_str(), d.detail, d.help.as_deref()),
            ("kube::get: not found", vec!["  detail".to_string()], Some("run x; then y"))
        );
    }

    /// A raised error comes back whole, its own frame first and the script line as a note;
    /// its text (what `${e}` shows a script) splits back into the same parts.
    #[test]
    fn a_raised_error_keeps_its_parts() {
        let mut d = Diagnostic::new("template: undefined value").with_help("pass it");
        let frame = Location { file: "t.j2".into(), line: Some(2), column: 4, text: Some("a: {{ x }}".into()) };
        d.location = Some(frame);
        let mut e = *d.clone().raise();
        e.set_position(Position::new(7, 3));
        let back = Diagnostic::from_eval(&e, "main.rhai", &|_| None);
        assert_eq!(back.location, d.location);
        assert_eq!(back.notes, vec!["rendered from main.rhai:7:3".to_string()]);
        let frame = " --> t.j2:2:4\n  |\n2 | a: {{ x }}\n  |    ^\n";
        let notes = "  = note: rendered from main.rhai:7:3\n  = help: pass it\n";
        let shown = format!("error: template: undefined value\n{frame}{notes}");
        assert_eq!(back.render(&NoSources, false), shown);
        assert_eq!(d.text(), format!("template: undefined value\n{frame}help: pass it"));
        let reparsed = split_message(&d.text());
        assert_eq!((reparsed.message, reparsed.help), (d.message.clone(), d.help.clone()));
    }
}

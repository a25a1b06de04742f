//! The header a command script declares its interface in, read without running the script.
//!
//! ```text
//! //! Sync an app now: Flux fetches its source and applies it.
//! //!
//! //! Longer help, shown by `wego sync --help`.
//! // wego:arg  APP                  "The app to sync"
//! // wego:flag --wait               "Wait until the app has applied the new revision"
//! // wego:flag --cluster string     "The target cluster"
//! // wego:flag -y,--yes,--silent    "Do not ask for confirmation"
//! ```
//!
//! The header is the comment block the script starts with. `//!` lines are its help: the first
//! one the summary `wego --help` lists, all of them `wego NAME --help`. `// wego:` lines declare
//! what clap parses:
//!
//! - `// wego:arg NAME [TYPE] [optional] "help"`: a positional argument, required unless
//!   `optional`; `list` takes the rest of the words.
//! - `// wego:flag NAMES [TYPE] [required] [default=VALUE] "help"`: an option. NAMES is
//!   `--long`, with aliases and a short form after commas (`-y,--yes,--silent`); the first long
//!   name is the option. Without a TYPE it is a switch (`bool`).
//! - `// wego:command`: the script takes exactly what is declared, even if that is nothing.
//!
//! TYPE is `bool`, `string`, `int`, `list` (repeatable), or choices `a|b|c`. The script sees
//! each value in `args` under its name in snake case (`--dry-run` is `args.dry_run`); an absent
//! optional value is `()`. A script that declares nothing gets its words as an array instead.

use std::fmt;

/// What a value is, for clap and for the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueType {
    Bool,
    String,
    Int,
    List,
    Choice(Vec<String>),
}

/// A `wego:arg` or `wego:flag` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The key in `args` (snake case).
    pub key: String,
    /// Positional: its value name (`APP`); flag: its long name (`dry-run`).
    pub name: String,
    pub aliases: Vec<String>,
    pub short: Option<char>,
    pub value: ValueType,
    pub required: bool,
    pub default: Option<String>,
    pub help: String,
}

/// A script's declared interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// The `//!` lines, without the marker.
    pub doc: Vec<String>,
    /// Whether the script declares its interface (otherwise it gets its raw words).
    pub declared: bool,
    pub args: Vec<Param>,
    pub flags: Vec<Param>,
}

impl Header {
    /// The first line of the doc comment.
    pub fn summary(&self) -> Option<&str> {
        self.doc.first().map(String::as_str).filter(|s| !s.is_empty())
    }

    /// The whole doc comment, for `--help`.
    pub fn long_help(&self) -> Option<String> {
        (self.doc.len() > 1).then(|| self.doc.join("\n").trim_end().to_string())
    }
}

/// A mistake in a header, at a line and column (1-based) of the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Options of the top-level command: a script cannot declare them again.
pub const GLOBAL_FLAGS: &[&str] = &[
    "kubeconfig",
    "context",
    "namespace",
    "output",
    "verbose",
    "log-level",
    "no-color",
    "scripts-dir",
    "offline",
    "allow-exec",
    "timeout",
    "help",
    "version",
];
const GLOBAL_SHORTS: &[char] = &['n', 'o', 'v', 'h', 'V'];

/// Read the header of `text`.
pub fn parse(text: &str) -> Result<Header, HeaderError> {
    let mut h = Header::default();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim_start();
        if i == 0 && trimmed.starts_with("#!") {
            continue;
        }
        if trimmed.is_empty() {
            continue;
        }
        if !trimmed.starts_with("//") {
            break;
        }
        let indent = raw.len() - trimmed.len();
        if let Some(doc) = trimmed.strip_prefix("//!") {
            h.doc.push(doc.strip_prefix(' ').unwrap_or(doc).trim_end().to_string());
            continue;
        }
        let Some(rest) = trimmed.strip_prefix("//").map(str::trim_start) else { continue };
        let Some(directive) = rest.strip_prefix("wego:") else { continue };
        let at = indent + (trimmed.len() - rest.len()) + 1;
        let words = tokens(directive, line, at + "wego:".len())?;
        let (kind, kind_col) = match words.first() {
            Some(w) => (w.text.as_str(), w.column),
            None => return Err(err(line, at, "empty `wego:` line: expected `arg`, `flag` or `command`")),
        };
        h.declared = true;
        match kind {
            "command" if words.len() == 1 => {}
            "command" => return Err(err(line, words[1].column, "`wego:command` takes nothing after it")),
            "arg" => {
                let p = param(&words[1..], line, kind_col, false)?;
                if h.args.last().is_some_and(|a| a.value == ValueType::List) {
                    return Err(err(line, kind_col, "no argument can follow a `list` argument: it takes the rest"));
                }
                if p.required && h.args.iter().any(|a| !a.required) {
                    return Err(err(line, kind_col, "a required argument cannot follow an optional one"));
                }
                check_unique(&h, &p, line, kind_col)?;
                h.args.push(p);
            }
            "flag" => {
                let p = param(&words[1..], line, kind_col, true)?;
                check_unique(&h, &p, line, kind_col)?;
                h.flags.push(p);
            }
            other => {
                return Err(err(line, kind_col, format!("unknown `wego:{other}`: expected `arg`, `flag` or `command`")))
            }
        }
    }
    while h.doc.last().is_some_and(String::is_empty) {
        h.doc.pop();
    }
    Ok(h)
}

/// Every name clap knows an argument by must be unique within the command, and must not be a
/// global option's (clap refuses such a command outright).
fn check_unique(h: &Header, p: &Param, line: usize, col: usize) -> Result<(), HeaderError> {
    if GLOBAL_FLAGS.iter().any(|g| g.replace('-', "_") == p.key) {
        return Err(err(line, col, format!("`{}` is the name of a global option of wego; choose another", p.name)));
    }
    let longs =
        |q: &Param| -> Vec<String> { std::iter::once(q.name.to_lowercase()).chain(q.aliases.clone()).collect() };
    let mine = longs(p);
    let taken = h.args.iter().chain(&h.flags).any(|q| {
        q.key == p.key || longs(q).iter().any(|l| mine.contains(l)) || (q.short.is_some() && q.short == p.short)
    });
    if taken {
        return Err(err(line, col, format!("`{}` is declared twice", p.name)));
    }
    Ok(())
}

fn err(line: usize, column: usize, message: impl Into<String>) -> HeaderError {
    HeaderError { line, column, message: message.into() }
}

struct Token {
    text: String,
    quoted: bool,
    column: usize,
}

/// Words and `"quoted text"` (with `\"` and `\\`), each with its column.
fn tokens(s: &str, line: usize, start_col: usize) -> Result<Vec<Token>, HeaderError> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        let column = start_col + s[..i].chars().count();
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut text = String::new();
        if c == '"' {
            chars.next();
            let mut closed = false;
            while let Some((_, c)) = chars.next() {
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => text.extend(chars.next().map(|(_, c)| c)),
                    c => text.push(c),
                }
            }
            if !closed {
                return Err(err(line, column, "unterminated \"help text\""));
            }
            out.push(Token { text, quoted: true, column });
        } else {
            while let Some(&(_, c)) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                text.push(c);
                chars.next();
            }
            out.push(Token { text, quoted: false, column });
        }
    }
    Ok(out)
}

fn param(words: &[Token], line: usize, col: usize, flag: bool) -> Result<Param, HeaderError> {
    let what = if flag { "flag" } else { "arg" };
    let Some(first) = words.first().filter(|w| !w.quoted) else {
        let example = if flag { "--wait \"Wait until ...\"" } else { "APP \"The app\"" };
        return Err(err(line, col, format!("`wego:{what}` needs a name, e.g. `wego:{what} {example}`")));
    };
    let (name, aliases, short) = if flag { flag_names(first, line)? } else { (arg_name(first, line)?, vec![], None) };
    let mut p = Param {
        key: name.to_lowercase().replace('-', "_"),
        name,
        aliases,
        short,
        value: if flag { ValueType::Bool } else { ValueType::String },
        required: !flag,
        default: None,
        help: String::new(),
    };
    let mut help = None;
    for w in &words[1..] {
        if w.quoted {
            if help.is_some() {
                return Err(err(line, w.column, "only one \"help text\" per line"));
            }
            help = Some(w.text.clone());
            continue;
        }
        if help.is_some() {
            return Err(err(line, w.column, "the \"help text\" comes last"));
        }
        match w.text.as_str() {
            "bool" if flag => p.value = ValueType::Bool,
            "string" => p.value = ValueType::String,
            "int" => p.value = ValueType::Int,
            "list" => p.value = ValueType::List,
            "optional" if !flag => p.required = false,
            "required" if flag => p.required = true,
            t if t.starts_with("default=") && flag => p.default = Some(t["default=".len()..].to_string()),
            t if t.contains('|') => {
                let choices: Vec<String> = t.split('|').map(str::to_string).collect();
                if choices.iter().any(String::is_empty) {
                    return Err(err(line, w.column, format!("empty choice in `{t}`")));
                }
                p.value = ValueType::Choice(choices);
            }
            t => {
                let allowed = if flag {
                    "bool, string, int, list, a|b|c, required, default=VALUE"
                } else {
                    "string, int, list, a|b|c, optional"
                };
                return Err(err(
                    line,
                    w.column,
                    format!("unknown word `{t}` in `wego:{what}`; expected one of: {allowed}"),
                ));
            }
        }
    }
    p.help = help.filter(|h| !h.trim().is_empty()).ok_or_else(|| {
        err(
            line,
            first.column,
            format!("`{}` has no \"help text\": say what it does, in quotes, at the end", first.text),
        )
    })?;
    if p.value == ValueType::Bool && (p.default.is_some() || p.required) {
        return Err(err(line, first.column, "a switch (bool) can have neither a default nor be required"));
    }
    if let (Some(d), ValueType::Int) = (&p.default, &p.value) {
        if d.parse::<i64>().is_err() {
            return Err(err(line, first.column, format!("default `{d}` is not a number")));
        }
    }
    if let (Some(d), ValueType::Choice(c)) = (&p.default, &p.value) {
        if !c.contains(d) {
            return Err(err(line, first.column, format!("default `{d}` is not one of the choices")));
        }
    }
    Ok(p)
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !s.ends_with('-')
}

fn arg_name(t: &Token, line: usize) -> Result<String, HeaderError> {
    if t.text.starts_with('-') || !is_name(&t.text) {
        return Err(err(line, t.column, format!("`{}` is not an argument name (letters, digits, '-', '_')", t.text)));
    }
    Ok(t.text.to_uppercase().replace('-', "_"))
}

fn flag_names(t: &Token, line: usize) -> Result<(String, Vec<String>, Option<char>), HeaderError> {
    let mut longs = Vec::new();
    let mut short = None;
    for part in t.text.split(',') {
        if let Some(long) = part.strip_prefix("--") {
            if !is_name(long) || long.contains('_') || long.chars().any(|c| c.is_ascii_uppercase()) {
                return Err(err(
                    line,
                    t.column,
                    format!("`{part}` is not a flag name: use lowercase letters, digits and '-'"),
                ));
            }
            if GLOBAL_FLAGS.contains(&long) {
                return Err(err(
                    line,
                    t.column,
                    format!(
                        "`--{long}` is a global option of wego; the script reads it from `args` or `config` already"
                    ),
                ));
            }
            longs.push(long.to_string());
        } else if let Some(s) = part.strip_prefix('-').filter(|s| s.chars().count() == 1) {
            let c = s.chars().next().unwrap_or_default();
            if !c.is_ascii_alphanumeric() || short.is_some() {
                return Err(err(line, t.column, format!("`{part}` is not a short flag (one letter or digit, once)")));
            }
            if GLOBAL_SHORTS.contains(&c) {
                return Err(err(line, t.column, format!("`-{c}` is a global option of wego")));
            }
            short = Some(c);
        } else {
            return Err(err(line, t.column, format!("`{part}` is not a flag: write `--name`, or `-x,--name`")));
        }
    }
    if longs.is_empty() {
        return Err(err(line, t.column, "a flag needs a long name (`--name`)"));
    }
    let name = longs.remove(0);
    Ok((name, longs, short))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_header() {
        let h = parse(
            "#!/usr/bin/env -S wego run\n//! Sync an app.\n//!\n//! More.\n// wego:arg app \"The app\"\n// wego:flag -w,--wait \"Wait\"\n// wego:flag --format json|yaml default=yaml \"Format\"\n// wego:flag --dry-run,--preview \"Preview\"\nlet x = 1;\n// wego:flag --ignored \"after code\"\n",
        )
        .unwrap();
        assert_eq!(h.summary(), Some("Sync an app."));
        assert_eq!(h.long_help().as_deref(), Some("Sync an app.\n\nMore."));
        assert!(h.declared);
        assert_eq!((h.args[0].name.as_str(), h.args[0].key.as_str(), h.args[0].required), ("APP", "app", true));
        assert_eq!(h.flags.len(), 3);
        assert_eq!((h.flags[0].short, h.flags[0].value.clone()), (Some('w'), ValueType::Bool));
        assert_eq!(h.flags[1].value, ValueType::Choice(vec!["json".into(), "yaml".into()]));
        assert_eq!(h.flags[1].default.as_deref(), Some("yaml"));
        assert_eq!((h.flags[2].key.as_str(), h.flags[2].aliases.clone()), ("dry_run", vec!["preview".to_string()]));
    }

    #[test]
    fn no_header_means_raw_words() {
        let h = parse("// just a comment\nprint(args);\n").unwrap();
        assert!(!h.declared);
        assert_eq!(h.summary(), None);
        assert!(parse("//! Doc only\n// wego:command\n").unwrap().declared);
    }

    #[test]
    fn mistakes_point_at_the_word() {
        for (text, line, col, says) in [
            ("// wego:flag --timeout \"t\"\n", 1, 14, "global option"),
            ("//! x\n// wego:flag --wait\n", 2, 14, "no \"help text\""),
            ("// wego:flag --wait wat \"w\"\n", 1, 21, "unknown word `wat`"),
            ("// wego:frob\n", 1, 9, "unknown `wego:frob`"),
            ("// wego:arg app \"a\"\n// wego:arg app \"b\"\n", 2, 9, "declared twice"),
            ("// wego:arg a optional \"a\"\n// wego:arg b \"b\"\n", 2, 9, "cannot follow an optional"),
            ("// wego:flag --x \"unterminated\n", 1, 18, "unterminated"),
            ("// wego:flag --x \"h\" int\n", 1, 22, "comes last"),
            ("// wego:flag --n int default=x \"h\"\n", 1, 14, "not a number"),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!((e.line, e.column), (line, col), "{text}: {e}");
            assert!(e.message.contains(says), "{text}: {e}");
        }
    }
}

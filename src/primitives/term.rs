//! `term::` — terminal-aware formatting: colour (off with `--no-color`/`NO_COLOR` or when not a
//! terminal) and aligned tables.

use std::sync::Arc;

use rhai::{Array, Map, Module};

use super::api::api_module;
use super::host::{fail, Host};

const COLORS: &[(&str, &str)] =
    &[("red", "31"), ("green", "32"), ("yellow", "33"), ("blue", "34"), ("cyan", "36"), ("gray", "90"), ("bold", "1")];

/// Display width, ignoring ANSI colour sequences.
fn width(s: &str) -> usize {
    let mut n = 0;
    let mut in_esc = false;
    for c in s.chars() {
        match (in_esc, c) {
            (false, '\x1b') => in_esc = true,
            (true, 'm') => in_esc = false,
            (true, _) => {}
            _ => n += 1,
        }
    }
    n
}

/// Rows of cells as aligned columns separated by three spaces (kubectl style).
pub fn table(header: &[String], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(width(c));
            }
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            s.push_str(c);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(widths[i] - width(c) + 3));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = line(header);
    out.push('\n');
    for r in rows {
        out.push_str(&line(r));
        out.push('\n');
    }
    out
}

pub fn module(host: &Arc<Host>) -> Module {
    api_module! {
        let h = host;
        //! Terminal formatting: colours and aligned tables.

        /// Colour `text` (red, green, yellow, blue, cyan, gray, bold) when colour output is on.
        ///
        /// Example: `term::color("ready", "green")`
        fn color(text: &str, color: &str) -> String {
            Ok(match COLORS.iter().find(|(n, _)| *n == color) {
                Some((_, code)) if h.session.globals.color => format!("\x1b[{code}m{text}\x1b[0m"),
                _ => text.to_string(),
            })
        }

        /// Whether colour output is on.
        ///
        /// Example: `if term::color_enabled() { ... }`
        fn color_enabled() -> bool {
            Ok(h.session.globals.color)
        }

        /// Format `rows` (maps) as aligned columns. `columns` lists the keys; the header is each key upper-cased (or
        /// give `[key, header]` pairs).
        ///
        /// Example: `print(term::table([#{name: "a", ready: true}], ["name", "ready"]));`
        fn table(rows: Array, columns: Array) -> String {
            Ok(map_table(&rows, &columns))
        }

        /// Ask `question [y/N]` on stderr and read one line of stdin: true for `y` or `yes`; false for anything else,
        /// an empty line or no input at all (so a command run by another program never goes ahead unasked). Scripts
        /// offer `--yes` to skip it.
        ///
        /// Errors: stdin cannot be read.
        ///
        /// Example: `if !args.yes && !term::confirm("Delete everything?") { throw "aborted"; }`
        fn confirm(question: &str) -> bool {
            super::prompt::ask(question).map_err(|e| fail("term::confirm", format!("cannot read the answer: {e}"), None))
        }
    }
}

/// `rows` (maps) as a table of the keys `columns` names (a key, or a `[key, header]` pair).
fn map_table(rows: &Array, columns: &Array) -> String {
    let cols: Vec<(String, String)> = columns
        .iter()
        .map(|c| match c.clone().try_cast::<Array>() {
            Some(pair) if pair.len() == 2 => (pair[0].to_string(), pair[1].to_string()),
            _ => (c.to_string(), c.to_string().to_uppercase()),
        })
        .collect();
    let header: Vec<String> = cols.iter().map(|(_, h)| h.clone()).collect();
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let m = r.read_lock::<Map>();
            cols.iter()
                .map(|(k, _)| {
                    m.as_ref()
                        .and_then(|m| m.get(k.as_str()))
                        .filter(|v| !v.is_unit())
                        .map(|v| v.to_string())
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    table(&header, &body)
}

#[cfg(test)]
mod tests {
    #[test]
    fn aligns_ignoring_colour() {
        let t = super::table(&["A".into(), "B".into()], &[vec!["\x1b[32mlong\x1b[0m".into(), "x".into()]]);
        assert_eq!(t, "A      B\n\x1b[32mlong\x1b[0m   x\n");
    }
}

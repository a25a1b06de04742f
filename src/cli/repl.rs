//! `wego repl`: the whole scripting API, interactively. One scope lives across lines;
//! functions and imports defined earlier stay available.

use std::io::{IsTerminal, Read};
use std::sync::{Arc, Mutex};

use rhai::{Dynamic, Engine, ParseErrorType, Scope, AST};
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Helper, Highlighter, Hinter};

use super::docs::{api_functions, doc_text, FnMeta};
use super::{Context, Failure, GlobalArgs};
use crate::engine::diagnostics::Diagnostic;
use crate::engine::Host;

const COMMANDS: &[(&str, &str)] = &[
    (":help", "this help"),
    (":functions [module]", "list functions, all or of one module (e.g. `:functions kube`)"),
    (":doc NAME", "signature, summary and example of a function (e.g. `:doc kube::apply`)"),
    (":load FILE", "run a script file in this session"),
    (":quit", "leave (or Ctrl-D)"),
];

/// Is `input` an unfinished statement that should continue on the next line? Yes when it
/// does not compile and a block, call, array or backtick string is still open.
fn incomplete(engine: &Engine, input: &str) -> bool {
    match engine.compile(input) {
        Ok(_) => false,
        Err(e) => {
            matches!(
                e.err_type(),
                ParseErrorType::UnexpectedEOF | ParseErrorType::BadInput(rhai::LexError::UnterminatedString)
            ) || unbalanced(input)
        }
    }
}

/// More `{`, `(` or `[` opened than closed, or an open backtick string (quotes and comments
/// skipped).
fn unbalanced(input: &str) -> bool {
    let (mut depth, mut quote, mut escaped) = (0i32, None::<char>, false);
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            match c {
                '\\' if !escaped && q == '"' => escaped = true,
                c if c == q && !escaped => quote = None,
                _ => escaped = false,
            }
            continue;
        }
        match c {
            '"' | '`' | '\'' => quote = Some(c),
            '/' if chars.peek() == Some(&'/') => {
                while chars.peek().is_some_and(|c| *c != '\n') {
                    chars.next();
                }
            }
            '{' | '(' | '[' => depth += 1,
            '}' | ')' | ']' => depth -= 1,
            _ => {}
        }
    }
    depth > 0 || quote == Some('`')
}

#[derive(Helper, Hinter, Highlighter)]
struct ReplHelper {
    engine: Arc<Engine>,
    /// Module-qualified functions, global functions, commands, then variables in scope.
    words: Vec<String>,
    variables: Arc<Mutex<Vec<String>>>,
}

impl Completer for ReplHelper {
    type Candidate = String;

    fn complete(&self, line: &str, pos: usize, _: &rustyline::Context<'_>) -> rustyline::Result<(usize, Vec<String>)> {
        let start = line[..pos]
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == ':'))
            .map(|(i, c)| i + c.len_utf8())
            .unwrap_or(0);
        let word = &line[start..pos];
        if word.is_empty() {
            return Ok((pos, vec![]));
        }
        let vars = self.variables.lock().expect("variables").clone();
        let mut found: Vec<String> =
            self.words.iter().chain(vars.iter()).filter(|w| w.starts_with(word)).cloned().collect();
        found.sort();
        found.dedup();
        Ok((start, found))
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        if input.trim_start().starts_with(':') || !incomplete(&self.engine, input) {
            Ok(ValidationResult::Valid(None))
        } else {
            Ok(ValidationResult::Incomplete)
        }
    }
}

/// The session: an engine, one scope, the functions and imports defined so far.
struct Session {
    host: Arc<Host>,
    engine: Arc<Engine>,
    scope: Scope<'static>,
    /// Functions and `import` statements from earlier inputs.
    kept: AST,
    counter: usize,
    functions: Vec<(String, String, FnMeta)>,
    /// At a terminal, where `:doc` and `:functions` can be typed.
    interactive: bool,
}

impl Session {
    fn new(host: Arc<Host>) -> Self {
        let engine = Arc::new(crate::engine::build(&host));
        let functions = api_functions(&engine);
        let scope = crate::engine::scope(&host, Dynamic::from(rhai::Array::new()));
        Session { host, engine, scope, kept: AST::empty(), counter: 0, functions, interactive: false }
    }

    /// Evaluate one input; prints its value (maps and arrays as YAML). Returns an exit code if
    /// the input called `exit(code)`.
    fn eval(&mut self, name: &str, input: &str) -> Result<Option<i32>, String> {
        self.host.sources.remember_source(name, input);
        let mut ast = self.engine.compile(input).map_err(|e| self.host.render(&Diagnostic::from_parse(&e, name)))?;
        ast.set_source(name);
        let imports = imports_only(&ast);
        let run = self.kept.merge(&ast);
        let value = match self.engine.eval_ast_with_scope::<Dynamic>(&mut self.scope, &run) {
            Ok(v) => v,
            Err(e) => {
                return match crate::engine::exit_or_diagnostic(&self.host, &e, name) {
                    Ok(code) => Ok(Some(code)),
                    Err(d) => Err(self.host.render(&self.point_at_doc(d, &e))),
                }
            }
        };
        self.kept = self.kept.merge(&ast.clone_functions_only()).merge(&imports);
        if !value.is_unit() {
            print_value(&value);
        }
        Ok(None)
    }

    /// A call that matched no function: in the REPL the help is `:doc` (its forms are one
    /// command away), not the reference of `wego docs api`.
    fn point_at_doc(&self, mut d: Diagnostic, e: &rhai::EvalAltResult) -> Diagnostic {
        let Some(signature) = not_found_call(e).filter(|_| self.interactive) else { return d };
        let name = signature.split(|c: char| c == '(' || c.is_whitespace()).next().unwrap_or_default();
        let (module, bare) = name.rsplit_once("::").unwrap_or(("", name));
        let known = self.functions.iter().any(|(m, _, f)| m == module && fn_name(&f.signature) == bare);
        d.help = Some(if known {
            format!("`:doc {name}` shows the forms it takes")
        } else if !module.is_empty() {
            format!("`:functions {module}` lists the functions of `{module}::`")
        } else {
            "`:functions` lists every function; `:doc NAME` shows one".to_string()
        });
        d
    }

    fn variables(&self) -> Vec<String> {
        self.scope.iter().map(|(n, _, _)| n.to_string()).collect()
    }

    fn command(&mut self, line: &str) -> Option<i32> {
        let mut parts = line.splitn(2, char::is_whitespace);
        let cmd = parts.next().unwrap_or_default();
        let arg = parts.next().unwrap_or_default().trim();
        match cmd {
            ":quit" | ":q" | ":exit" => return Some(0),
            ":help" | ":h" => {
                println!("Rhai with the wego API. Statements run as you enter them; an unfinished block continues on the next line.");
                println!(
                    "`args` is [] and `config` the effective config. Tab completes modules, functions and variables."
                );
                for (c, d) in COMMANDS {
                    println!("  {c:<22} {d}");
                }
            }
            ":functions" | ":fns" => {
                let module = arg.trim_end_matches("::");
                for (m, _, f) in &self.functions {
                    if module.is_empty() || m == module {
                        println!("{}", qualified(m, &f.signature));
                    }
                }
            }
            ":doc" => {
                let (module, name) = arg.rsplit_once("::").unwrap_or(("", arg));
                // An overloaded function is one entry: its forms, then each distinct text once.
                let mut entries: Vec<(Vec<String>, String)> = Vec::new();
                for (m, _, f) in self.functions.iter().filter(|(m, _, f)| m == module && fn_name(&f.signature) == name)
                {
                    let text = doc_text(f);
                    match entries.iter_mut().find(|(_, t)| *t == text) {
                        Some((forms, _)) => forms.push(qualified(m, &f.signature)),
                        None => entries.push((vec![qualified(m, &f.signature)], text)),
                    }
                }
                if entries.is_empty() {
                    eprintln!("no function `{arg}`; `:functions` lists them");
                }
                for (forms, text) in entries {
                    println!("{}\n\n{text}\n", forms.join("\n"));
                }
            }
            ":load" => match std::fs::read_to_string(arg) {
                Ok(text) => {
                    if let Err(e) = self.eval(arg, &text) {
                        eprint!("{e}");
                    }
                }
                Err(e) => eprintln!("cannot read {arg}: {e}"),
            },
            other => eprintln!("unknown command {other}; :help lists the commands"),
        }
        None
    }
}

/// The name a signature declares: `get_opt` of `get_opt(kind: &str) -> Map`.
fn fn_name(signature: &str) -> &str {
    signature.split('(').next().unwrap_or_default()
}

/// The signature of the call that matched no function, if that is what failed.
fn not_found_call(e: &rhai::EvalAltResult) -> Option<&str> {
    match e {
        rhai::EvalAltResult::ErrorFunctionNotFound(signature, _) => Some(signature),
        rhai::EvalAltResult::ErrorInFunctionCall(_, _, inner, _) | rhai::EvalAltResult::ErrorInModule(_, inner, _) => {
            not_found_call(inner)
        }
        _ => None,
    }
}

fn qualified(module: &str, signature: &str) -> String {
    let sig = signature.replace("&str", "String").replace("&mut ", "");
    if module.is_empty() {
        sig
    } else {
        format!("{module}::{sig}")
    }
}

/// The `import` statements of `ast`, so later inputs can use the same module aliases.
fn imports_only(ast: &AST) -> AST {
    let stmts: Vec<rhai::Stmt> =
        ast.statements().iter().filter(|s| matches!(s, rhai::Stmt::Import(..))).cloned().collect();
    AST::new(stmts, rhai::Module::new())
}

fn print_value(v: &Dynamic) {
    if v.is_map() || v.is_array() {
        match crate::primitives::yaml::to_string(&crate::primitives::from_dynamic(v)) {
            Ok(y) => print!("{y}"),
            Err(_) => println!("{v}"),
        }
    } else {
        println!("{v}");
    }
}

fn history_file() -> Option<std::path::PathBuf> {
    dirs::state_dir().or_else(|| dirs::home_dir().map(|h| h.join(".local/state"))).map(|d| d.join("wego/history"))
}

pub fn run(g: &GlobalArgs) -> Result<i32, Failure> {
    let ctx = Context::load(g, vec![])?;
    let color = ctx.globals.color;
    let (_rt, host) = ctx.host()?;
    let mut session = Session::new(host.clone());

    if !std::io::stdin().is_terminal() {
        // Driven by another program: the whole of stdin is one script.
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| Failure {
            diagnostic: Diagnostic::new(format!("cannot read stdin: {e}")),
            color,
            host: None,
        })?;
        return match session.eval("<stdin>", &text) {
            Ok(code) => Ok(code.unwrap_or(0)),
            Err(rendered) => {
                eprint!("{rendered}");
                Ok(1)
            }
        };
    }

    session.interactive = true;
    let variables = Arc::new(Mutex::new(session.variables()));
    let mut words: Vec<String> = session
        .functions
        .iter()
        .map(|(m, _, f)| {
            let name = fn_name(&f.signature);
            if m.is_empty() {
                name.to_string()
            } else {
                format!("{m}::{name}")
            }
        })
        .collect();
    words.extend(session.functions.iter().filter(|(m, _, _)| !m.is_empty()).map(|(m, _, _)| format!("{m}::")));
    words.extend(COMMANDS.iter().map(|(c, _)| c.split(' ').next().unwrap_or_default().to_string()));
    let helper = ReplHelper { engine: session.engine.clone(), words, variables: variables.clone() };
    // Tab lists every candidate under the line, as bash does, instead of cycling in place.
    let config =
        rustyline::Config::builder().auto_add_history(true).completion_type(rustyline::CompletionType::List).build();
    let mut rl: rustyline::Editor<ReplHelper, rustyline::history::DefaultHistory> =
        rustyline::Editor::with_config(config).map_err(|e| Failure {
            diagnostic: Diagnostic::new(format!("cannot start the line editor: {e}")),
            color,
            host: None,
        })?;
    rl.set_helper(Some(helper));
    let history = history_file();
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    // A notice, not data: on stderr, as python and node print theirs.
    eprintln!("wego {} scripting REPL: :help for help, Tab to complete, Ctrl-D to quit", crate::build_info::VERSION);
    let mut code = 0;
    loop {
        match rl.readline("wego> ") {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) if line.trim_start().starts_with(':') => {
                if let Some(c) = session.command(line.trim()) {
                    code = c;
                    break;
                }
            }
            Ok(line) => {
                session.counter += 1;
                let name = format!("<repl:{}>", session.counter);
                match session.eval(&name, &line) {
                    Ok(Some(c)) => {
                        code = c;
                        break;
                    }
                    Ok(None) => {}
                    Err(rendered) => eprint!("{rendered}"),
                }
                *variables.lock().expect("variables") = session.variables();
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error: {e}");
                code = 1;
                break;
            }
        }
        if let Some(h) = &history {
            if let Some(dir) = h.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = rl.save_history(h);
        }
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_blocks_continue() {
        let e = Engine::new();
        assert!(incomplete(&e, "fn sq(x) {"));
        assert!(incomplete(&e, "fn sq(x) {\n  x * x"));
        assert!(incomplete(&e, "let s = `a\nb"));
        assert!(!incomplete(&e, "fn sq(x) {\n  x * x\n}"));
        assert!(!incomplete(&e, "let x = ;"), "a plain error is reported, not continued");
        assert!(!incomplete(&e, "let s = \"{\";"));
    }
}

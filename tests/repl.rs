//! `wego repl` driven through a real terminal (tmux) and through stdin.

mod common;

use std::time::{Duration, Instant};

use common::term::Term;
use common::{write_files, Env};

/// A REPL's terminal once it prompts.
fn ready(t: Term) -> Term {
    t.wait_for("wego> ");
    t
}

/// `:quit`, and the REPL has ended.
fn quit(t: &Term) {
    type_line(t, ":quit");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !t.exited() {
        assert!(Instant::now() < deadline, "the REPL did not quit; screen:\n{}", t.screen());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last line of the screen with something on it.
fn last_line(s: &str) -> &str {
    s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim_end()
}

/// Type `line` at the prompt, see it echoed, then press Enter. Under a loaded machine keys sent
/// to tmux are sometimes not echoed (seen only with several terminals at once, never with one:
/// 0 lost in 30 sessions); a person retypes what did not appear, and so does this.
fn type_line(t: &Term, line: &str) {
    let echoed = format!("wego> {line}");
    for _ in 0..3 {
        t.type_text(line);
        // At the prompt, or on a continuation line of a definition spanning lines.
        if t.shows_within(3, |s| last_line(s) == echoed || last_line(s) == line.trim_end()) {
            break;
        }
        t.key("C-u");
    }
    t.key("Enter");
}

/// Type a line and wait for the prompt after it, as a person does.
fn enter(t: &Term, line: &str) {
    type_line(t, line);
    t.wait_until("the next prompt", |s| last_line(s) == "wego>");
}

#[test]
fn completes_defines_across_lines_documents_and_reports_errors() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let Some(t) = Term::start(&env, dir.path(), "repl", false).map(ready) else { return };

    // Completion: `kube::ap` + Tab -> `kube::apply`.
    t.type_text("kube::ap");
    t.key("Tab");
    t.wait_for("kube::apply");
    t.key("C-u");

    // A function defined over several lines, then called.
    t.line("fn square(x) {");
    t.line("  x * x");
    enter(&t, "}");
    enter(&t, "square(12)");
    t.wait_for("144");

    // Variables persist; maps print as YAML.
    enter(&t, "let cfg = #{ name: \"web\", replicas: 2 };");
    enter(&t, "cfg");
    t.wait_for("replicas: 2");

    enter(&t, ":doc git::clone");
    t.wait_for("Clone a repository and return a `Repo`");

    // An error with a caret under the offending call.
    enter(&t, "yaml::parse(\"a: [\")");
    let s = t.wait_for("unclosed bracket");
    assert!(s.contains("--> <repl:") && s.contains("^"), "{s}");

    // Completion of a variable in scope.
    t.type_text("cf");
    t.key("Tab");
    t.wait_for("wego> cfg");
    t.key("C-u");

    quit(&t);
}

#[test]
fn history_persists_across_sessions() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    {
        let Some(t) = Term::start(&env, dir.path(), "repl", false).map(ready) else { return };
        enter(&t, "let remembered = 4242;");
        quit(&t);
    }
    let history = std::fs::read_to_string(env.home.path().join(".local/state/wego/history")).unwrap();
    assert!(history.contains("let remembered = 4242;"), "{history}");
    let Some(t) = Term::start(&env, dir.path(), "repl", false).map(ready) else { return };
    t.key("Up");
    t.wait_for("wego> let remembered = 4242;");
}

#[test]
fn load_and_functions_commands() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("lib.rhai", "fn greet(who) { `hello ${who}` }\n")]);
    let Some(t) = Term::start(&env, dir.path(), "repl", false).map(ready) else { return };
    enter(&t, ":load lib.rhai");
    enter(&t, "greet(\"repl\")");
    t.wait_for("hello repl");
    t.line(":functions yaml");
    t.wait_for("yaml::parse_all(text: String) -> Array");
}

#[test]
fn reads_a_script_from_stdin_when_not_a_terminal() {
    let env = Env::new();
    let out = env.wego().arg("repl").stdin("let a = [1, 2];\na.push(3);\na\n").run().ok();
    assert_eq!(out.stdout, "- 1\n- 2\n- 3\n");
    let out = env.wego().arg("repl").stdin("exit(4);").run().expect_code(4);
    assert!(out.stderr.is_empty());
    let out = env.wego().arg("repl").stdin("let x = ;").run().expect_code(1);
    assert!(out.stderr.contains("--> <stdin>:1:9"), "{}", out.stderr);
}

#[test]
fn tab_lists_candidates_and_call_errors_point_at_doc() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let Some(t) = Term::start(&env, dir.path(), "repl", false).map(ready) else { return };

    // Tab twice on an ambiguous word lists every candidate below the line, as bash does, and
    // leaves the line as typed.
    t.type_text("kube::get");
    t.key("Tab");
    t.key("Tab");
    let s = t.wait_for("kube::get_opt");
    let lines: Vec<&str> = s.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect();
    let at = lines.iter().position(|l| l.contains("kube::get_opt")).unwrap();
    assert_eq!(lines[at].split_whitespace().collect::<Vec<_>>(), ["kube::get", "kube::get_opt"], "{s}");
    assert_eq!((lines[at - 1], lines.get(at + 1).copied()), ("wego> kube::get", Some("wego> kube::get")), "{s}");
    t.key("C-u");
    t.key("C-l");

    // A call that matches no form of the function: the help is `:doc`, not the docs command.
    enter(&t, "kube::apply(1, 2, 3)");
    let s = t.wait_for("help:");
    assert!(s.contains("`:doc kube::apply` shows the forms it takes"), "{s}");
    assert!(!s.contains("wego docs api"), "{s}");
    enter(&t, "kube::nosuch(1)");
    t.wait_for("`:functions kube` lists the functions of `kube::`");
    t.key("C-l");

    // An overloaded function is documented once, with each of its forms.
    enter(&t, ":doc kube::apply");
    let s = t.wait_for("kube::apply(objects: Dynamic, options: Map) -> Array");
    assert!(s.contains("kube::apply(objects: Dynamic) -> Array"), "{s}");
    assert_eq!(s.matches("Server-side apply `objects`").count(), 1, "the text once:\n{s}");
    t.line(":quit");
}

//! Progress on stderr: plain lines when stderr is not a terminal (no escape codes), a spinner
//! that ends in a ✔ line on a terminal (driven through tmux), nothing with `--quiet`; for steps
//! of a script, a clone and a push over the git server, and the Flux download of `install`.

mod common;

use common::servers::{git_servers, push_files};
use common::term::Term;
use common::{flux_mirror, script, Env};

const STEPS: &str = r#"
let s = log::step("working");
s.update("still working");
s.done("worked");
s.done("said twice");
let w = log::waiting("waiting for it");
w.done("waited");
let f = log::step("trying");
f.fail("it broke");
log::warn("careful");
print("data");
"#;

#[test]
fn a_log_gets_plain_lines_and_quiet_gets_only_failures_and_warnings() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let out = script(&env, dir.path(), STEPS).run().ok();
    assert_eq!(out.stdout, "data\n");
    assert_eq!(out.stderr, "► working\n✔ worked\n◎ waiting for it\n✔ waited\n► trying\n✗ it broke\n⚠ careful\n");

    for quiet in ["-q", "--quiet"] {
        let out = env.wego().args(["run", quiet, "script-0.rhai"]).cwd(dir.path()).run().ok();
        assert_eq!(out.stdout, "data\n", "{quiet} keeps the data");
        assert_eq!(out.stderr, "✗ it broke\n⚠ careful\n", "{quiet}");
    }
    // A global flag: before the command too.
    let out = env.wego().args(["-q", "run", "script-0.rhai"]).cwd(dir.path()).run().ok();
    assert_eq!(out.stderr, "✗ it broke\n⚠ careful\n");

    let both = env.wego().args(["-q", "-v", "run", "script-0.rhai"]).cwd(dir.path()).run();
    assert_eq!(both.code, 2, "--quiet and --verbose contradict each other: {both:?}");
}

const CLONE_AND_PUSH: &str = r#"
let s = log::step("cloning");
let repo = git::clone(args[0], #{ progress: s, dir: "work" });
s.done("cloned");
repo.write("new.txt", "new\n");
repo.commit("add new.txt", #{ author_name: "Robo", author_email: "robo@example.com" });
let p = log::step("pushing");
repo.push(#{ progress: p });
p.done("pushed");
"#;

#[test]
fn clone_and_push_report_progress_unless_quiet() {
    let Some(gs) = git_servers() else { return };
    let remote = gs.seeded("progress", &[("README.md", "hello\n")]);
    push_files(&remote, "main", &[("more.txt", "more\n")], "more");
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let out = script(&env, dir.path(), CLONE_AND_PUSH).arg(gs.http_url(&remote)).run().ok();
    assert_eq!(out.stderr, "► cloning\n✔ cloned\n► pushing\n✔ pushed\n");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("clone.rhai"), CLONE_AND_PUSH).unwrap();
    let out = env.wego().args(["--quiet", "run", "clone.rhai"]).arg(gs.http_url(&remote)).cwd(dir.path()).run().ok();
    assert_eq!(out.stderr, "");
}

#[test]
fn the_flux_download_is_a_step() {
    let env = Env::new();
    let mirror = flux_mirror(false);
    let out = env.wego().arg("install").env("WEGO_FLUX_MANIFESTS_BASE_URL", &mirror.url).run().ok();
    let lines: Vec<&str> = out.stderr.lines().collect();
    let url = format!("{}/v2.9.4/install.yaml", mirror.url);
    assert_eq!(lines.first().copied(), Some(format!("► downloading Flux v2.9.4 manifests from {url}").as_str()));
    assert!(lines.get(1).is_some_and(|l| l.starts_with("✔ downloaded Flux v2.9.4 manifests (")), "{lines:?}");
    assert!(!out.stderr.contains('\x1b'), "no escape codes in a log: {:?}", out.stderr);

    let env = Env::new();
    let out = env.wego().args(["install", "-q"]).env("WEGO_FLUX_MANIFESTS_BASE_URL", &mirror.url).run().ok();
    assert_eq!(out.stderr, "");
    assert!(out.stdout.contains("kind: Deployment"));
}

const SPINNERS: &str = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏";

#[test]
fn a_terminal_gets_a_spinner_that_ends_in_its_result() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("slow.rhai"),
        "let s = log::step(\"working slowly\");\ntime::sleep(2);\ns.done(\"worked slowly\");\n",
    )
    .unwrap();
    let Some(t) = Term::start(&env, dir.path(), "run slow.rhai", true) else { return };
    let spinning = t.wait_until("a spinner frame", |s| {
        s.lines().any(|l| l.trim_end().ends_with(" working slowly") && l.starts_with(|c| SPINNERS.contains(c)))
    });
    assert!(!spinning.contains("► working slowly"), "a terminal gets no plain start line:\n{spinning}");
    let done = t.wait_until("the result", |s| s.contains("EXIT="));
    let lines: Vec<&str> = done.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect();
    assert_eq!(lines, ["✔ worked slowly", "EXIT=0"], "the spinner is replaced by the result:\n{done}");

    let Some(t) = Term::start(&env, dir.path(), "-q run slow.rhai", true) else { return };
    let done = t.wait_until("the end", |s| s.contains("EXIT="));
    let lines: Vec<&str> = done.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect();
    assert_eq!(lines, ["EXIT=0"], "--quiet shows nothing on a terminal either:\n{done}");
}

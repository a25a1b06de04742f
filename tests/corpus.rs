//! A corpus of bad input, each case run through the real binary: flags, config files, URLs,
//! names, paths, YAML, templates and scripts. Every case must fail cleanly: a non-zero exit
//! that is not a panic (101), no "panicked" text, exactly one `error:` line, a `help:` where
//! the case says a fix exists, and nothing written to the work dir or the config dir.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::Env;

const CFG: &str = "apiVersion: wego.weave.works/v1alpha1\nkind: Config\n";

#[derive(Clone)]
struct Case {
    name: String,
    args: Vec<String>,
    /// Files in the work dir (a git work tree) before the run.
    files: Vec<(String, String)>,
    /// The user's config file, if any.
    user_config: Option<String>,
    /// A `help:` line is expected.
    help: bool,
}

fn case(name: impl Into<String>, args: &[&str]) -> Case {
    Case {
        name: name.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        files: vec![],
        user_config: None,
        help: false,
    }
}

impl Case {
    fn file(mut self, p: &str, body: &str) -> Self {
        self.files.push((p.into(), body.into()));
        self
    }
    fn config(mut self, body: &str) -> Self {
        self.user_config = Some(body.into());
        self
    }
    fn help(mut self) -> Self {
        self.help = true;
        self
    }
}

/// A script case: `body` in `s.rhai`, run with `args`.
fn script(name: &str, body: &str, args: &[&str]) -> Case {
    let mut a = vec!["run", "s.rhai"];
    a.extend(args);
    case(name, &a).file("s.rhai", body)
}

fn flags() -> Vec<Case> {
    let bad: &[&[&str]] = &[
        &["--nope"],
        &["version", "--nope"],
        &["-o", "xml", "version"],
        &["version", "-o"],
        &["--wego-log-level", "loud", "version"],
        &["--log-level", "debug", "version"],
        &["install", "--network-policy", "maybe"],
        &["install", "--watch-all-namespaces", "perhaps"],
        &["add", "--deployment-type", "ansible"],
        &["add", "--chart", "podinfo"],
        &["add", "--helm-repo-url", "https://charts.example"],
        &["add", "--chart-version", "1.0"],
        &["add", "dir", "--url", "https://github.com/o/r"],
        &["run"],
        &["completion", "tcsh"],
        &["completion"],
        &["scripts", "frobnicate"],
        &["templates", "show"],
        &["config", "edit"],
        &["trust", "--list", "--revoke"],
        &["trust", "--list", "somewhere"],
        &["docs", "definitions"],
        &["status", "a", "b"],
        &["version", "--set"],
        &["version", "--set", "novalue"],
        &["-vvvv", "--context"],
        &["--kubeconfig"],
        &["frobnicate"],
        &["add", "--nonsense=1"],
    ];
    bad.iter().enumerate().map(|(i, a)| case(format!("flag {i}: {a:?}"), a)).collect()
}

fn config_files() -> Vec<Case> {
    let bodies: Vec<String> = vec![
        "apiVersion: v2\nkind: Config\n".into(),
        "apiVersion: wego.weave.works/v1alpha1\nkind: Other\n".into(),
        "just a string\n".into(),
        "- a\n- list\n".into(),
        "{unclosed: [\n".into(),
        "\tapiVersion: x\n".into(),
        format!("{CFG}nope: 1\n"),
        format!("{CFG}flux:\n  namspace: x\n"),
        format!("{CFG}telemetry: yes\n"),
        format!("{CFG}telemetry: 1\n"),
        format!("{CFG}logLevel: [a]\n"),
        format!("{CFG}features: a\n"),
        format!("{CFG}flux: 3\n"),
        format!("{CFG}flux:\n  components: x\n"),
        format!("{CFG}flux:\n  downloadTimeoutSeconds: -1\n"),
        format!("{CFG}flux:\n  downloadTimeoutSeconds: 1e400\n"),
        format!("{CFG}limits:\n  maxOperations: -5\n"),
        format!("{CFG}limits:\n  maxCallDepth: many\n"),
        format!("{CFG}limits:\n  maxStringSize: 99999999999999999999999\n"),
        format!("{CFG}git:\n  commitToMain: \"true\"\n"),
        format!("{CFG}providers: {{host: x}}\n"),
        format!("{CFG}providers:\n  - host: x\n    token: secret\n"),
        format!("{CFG}checkpoint:\n  timeoutMs: soon\n"),
        format!("{CFG}layout: []\n"),
        format!("{CFG}pullRequest:\n  title: x\n"),
        format!("{CFG}a: &a [1]\nb: *a\n"),
        format!("{CFG}logLevel: info\nlogLevel: debug\n"),
        format!("{CFG}wegoRepo: {{url: x}}\n"),
        format!("{CFG}{}\n", "[".repeat(200)),
        format!("{CFG}flux:\n  {}\n", "x: ".repeat(100)),
        "apiVersion: wego.weave.works/v1alpha1\nkind: Config\n...\n---\nkind: Config\n".into(),
        "\u{feff}\u{0}apiVersion: x\n".into(),
        format!("{CFG}limits: !!binary aGVsbG8=\n"),
    ];
    let mut out = Vec::new();
    for (i, b) in bodies.iter().enumerate() {
        out.push(case(format!("user config {i}"), &["config", "view"]).config(b).help());
        out.push(case(format!("repo config {i}"), &["version", "--offline"]).file(".wego/config.yaml", b).help());
    }
    let envs: &[(&str, &str)] = &[("WEGO_TELEMETRY", "maybe"), ("WEGO_TELEMETRY", "2")];
    for (k, v) in envs {
        // Bad environment values are config errors too; passed through a wrapper script-less run.
        let mut c = case(format!("env {k}={v}"), &["config", "view"]).help();
        c.args.insert(0, format!("--env={k}={v}"));
        out.push(c);
    }
    out
}

fn urls() -> Vec<Case> {
    let bad = [
        "",
        "   ",
        "ftp://host/o/r",
        "https://",
        "https:///o/r",
        "http://[::1/o/r",
        "https://host:99999/o/r",
        "https://host:port/o/r",
        "https://user:pass@github.com/o/r",
        "https://ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@github.com/o/r",
        "https://github.com/",
        "https://github.com/onlyowner",
        "git@github.com:",
        "@:",
        "javascript://alert(1)",
        "https://gitlab.com/",
        "ssh://:22/o/r",
        "ssh://git@/o/r",
        "git://",
        "https://@/",
        "https://x:/",
        "https://[]/o/r",
        "mailto://a@b",
        "HTTPS://",
        "ssh+git://",
    ];
    let mut out = Vec::new();
    for (i, u) in bad.iter().enumerate() {
        out.push(script(&format!("parse_url {i}: {u:?}"), "print(git::parse_url(args[0]));", &[u]));
    }
    for (i, u) in ["ftp://host/o/r", "https://", "https://user:pass@github.com/o/r", "https://github.com/", "@:"]
        .iter()
        .enumerate()
    {
        out.push(case(format!("trust url {i}: {u:?}"), &["trust", u]).help());
    }
    out.push(script("clone a local path", "git::clone(\"/etc\");", &[]).help());
    out.push(script("clone file://", "git::clone(\"file:///etc\");", &[]).help());
    out.push(script("clone with a token", "git::clone(\"https://u:tok@127.0.0.1:9/o/r.git\");", &[]).help());
    out
}

fn names() -> Vec<Case> {
    let bad = ["../x", "/etc/passwd", "a//b", "./x", "..", "nope", "wego/../../x", "wego/", "\u{1F600}", "a\\b"];
    let mut out = Vec::new();
    for (i, n) in bad.iter().enumerate() {
        out.push(case(format!("scripts show {i}"), &["scripts", "show", n]).help());
        out.push(case(format!("templates show {i}"), &["templates", "show", n]).help());
        out.push(case(format!("scripts eject {i}"), &["scripts", "eject", n]).help());
        out.push(script(&format!("template render {i}"), "template::render(args[0], #{});", &[n]).help());
    }
    out
}

fn paths() -> Vec<Case> {
    let outside = ["../x", "/etc/passwd", "a/../../x", "/", "..", "link-out/passwd", "link-out"];
    let git = [".git/hooks/post-checkout", ".GIT/config", "sub/.git/x", "./.git/config", "a/../.git/x", ".git"];
    let mut out = Vec::new();
    for (i, p) in outside.iter().enumerate() {
        for prim in ["read", "list"] {
            out.push(script(&format!("fs::{prim} {i}: {p}"), &format!("fs::{prim}(args[0]);"), &[p]).help());
        }
        out.push(script(&format!("fs::write {i}: {p}"), "fs::write(args[0], \"x\");", &[p]).help());
        out.push(script(&format!("fs::exists {i}: {p}"), "fs::exists(args[0]);", &[p]).help());
    }
    for (i, p) in git.iter().enumerate() {
        out.push(script(&format!("fs::write git {i}: {p}"), "fs::write(args[0], \"x\");", &[p]).help());
    }
    out.push(script("fs::write empty", "fs::write(\"\", \"x\");", &[]).help());
    out.push(script("fs::write dangling", "fs::write(\"dangling\", \"x\");", &[]).help());
    out.push(script("fs::write through dangling dir", "fs::write(\"dangling/x\", \"x\");", &[]).help());
    out.push(script("fs::read missing", "fs::read(\"missing.txt\");", &[]));
    out.push(script("fs::read a dir", "fs::read(\".wego\");", &[]).file(".wego/x", "y"));
    out.push(script("wego::use_repo outside", "wego::use_repo(\"/tmp\");", &[]).help());
    out.push(script("git::open outside", "git::open(\"/\");", &[]).help());
    out.push(
        script("git::clone into .git", "git::clone(\"https://127.0.0.1:9/o/r.git\", #{dir: \".git/x\"});", &[]).help(),
    );
    out.push(script("run a missing file", "", &[]).file("ignored", ""));
    out.last_mut().unwrap().args = vec!["run".into(), "missing.rhai".into()];
    out.last_mut().unwrap().help = true;
    out
}

fn yaml() -> Vec<Case> {
    let bad = [
        "a: [",
        "a: {",
        "a: b: c",
        "a: 1\na: 2",
        "- a\nb: c",
        "key: 'unterminated",
        "key: \"unterminated",
        "*undefined",
        "a: &x 1\nb: *y",
        "%YAML 9.9\n---\na: 1",
        "a:\n  - b\n c: d",
        "[1, 2",
        "{a: 1, a: 2}",
        "? [a]\n: b",
        "---\n- a\n--- [",
    ];
    let mut out = Vec::new();
    for (i, y) in bad.iter().enumerate() {
        out.push(script(&format!("yaml {i}"), "yaml::parse(args[0]);", &[y]));
    }
    // Size and depth bombs.
    let laughs = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
    out.push(script("yaml billion laughs", "yaml::parse(args[0]);", &[laughs]));
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    out.push(script("yaml deep", "yaml::parse(args[0]);", &[&deep]));
    for (i, j) in ["{", "[1,", "{\"a\":}", "nul", "\"\\u12\"", "1e99999"].iter().enumerate() {
        out.push(script(&format!("json {i}"), "json::parse(args[0]);", &[j]));
    }
    out
}

fn templates() -> Vec<Case> {
    let bad = [
        "{{",
        "{% if %}",
        "{% for %}",
        "{{ nope }}",
        "{{ nope.x }}",
        "{% endfor %}",
        "{{ 1 / 0 }}",
        "{{ x | nofilter }}",
        "{% include 'missing.j2' %}",
        "{% include '../../etc/passwd' %}",
        "{% include '/etc/passwd' %}",
        "{% extends 'nope.j2' %}",
        "{% import 'x.j2' as y %}",
        "{{ range(10000000) | list | length }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
        "{{ undefined_fn() }}",
        "{{ 'a' * 99999999999 }}",
        "{% set x = %}",
        "{{ x | toyaml }}",
        "{{ x | quote }}",
        "{% raw %}",
        "{# unterminated",
        "{{ [1,2][5] }}",
    ];
    let mut out = Vec::new();
    for (i, t) in bad.iter().enumerate() {
        out.push(script(&format!("template {i}: {t}"), "template::render_str(args[0], #{});", &[t]));
    }
    out.push(
        case("template symlinked out", &["run", "s.rhai"])
            .file("s.rhai", "template::render(\"x.j2\", #{});")
            .file(".wego/templates/README", ""),
    );
    out
}

fn scripts() -> Vec<Case> {
    let bad = [
        "let x = ;",
        "fn (",
        "import \"../x\" as y;",
        "import \"/etc/passwd\" as y;",
        "import \"wego/nope\" as y;",
        "import \"wego/../../x\" as y;",
        "undefined_fn();",
        "let x = 1 / 0;",
        "let a = []; a[10];",
        "throw \"boom\";",
        "loop {}",
        "fn f(n) { f(n + 1) } f(0);",
        "let s = \"x\"; loop { s += s; }",
        "exec::run(\"true\", []);",
        "kube::get(\"v1\", \"Pod\", \"x\");",
        "provider::nope();",
        "let m = #{}; m.x.y = 1;",
        "\"abc\".sub_string(5, -3); throw 1;",
        "print(1",
        "let x = 9223372036854775807 + 1;",
        "yaml::to_string(1, 2, 3);",
        "template::render();",
        "fs::write(1, 2);",
        "keys::generate(\"rsa-1\");",
        "time::parse(\"yesterday\");",
        "wego::command([\"frobnicate\"]);",
    ];
    bad.iter().enumerate().map(|(i, s)| script(&format!("script {i}: {s}"), s, &[])).collect()
}

/// Every file under `dir` with its bytes (symlinks as their target).
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.file_type().is_symlink() {
                out.insert(rel, std::fs::read_link(&p).unwrap().display().to_string().into_bytes());
            } else if meta.is_dir() {
                out.insert(rel + "/", vec![]);
                stack.push(p);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}

fn run_case(c: &Case) -> Result<(), String> {
    let env = Env::new();
    let work = common::git_work_tree();
    for (p, body) in &c.files {
        common::write_files(work.path(), &[(p, body)]);
    }
    std::os::unix::fs::symlink("/etc", work.path().join("link-out")).ok();
    std::os::unix::fs::symlink(work.path().join("nothing-here"), work.path().join("dangling")).ok();
    if let Some(cfg) = &c.user_config {
        common::write_files(&env.config_dir(), &[("wego/config.yaml", cfg)]);
    }
    let before = (snapshot(work.path()), snapshot(&env.config_dir()));
    let mut w = env.wego().cwd(work.path());
    let mut args = c.args.clone();
    if let Some(kv) = args.first().and_then(|a| a.strip_prefix("--env=")).map(str::to_string) {
        args.remove(0);
        let (k, v) = kv.split_once('=').unwrap();
        w = w.env(k, v);
    }
    let out = w.args(&args).run();
    let after = (snapshot(work.path()), snapshot(&env.config_dir()));
    let all = format!("exit {}\n--- stdout\n{}\n--- stderr\n{}", out.code, out.stdout, out.stderr);
    if out.code == 0 || out.code == 101 || out.code < 0 {
        return Err(format!("bad exit code: {all}"));
    }
    if all.contains("panicked") || all.contains("RUST_BACKTRACE") {
        return Err(format!("panic: {all}"));
    }
    // One error: a compiler-style `error:` for usage and script authors, or a built-in
    // command's one `✗` line for its user.
    let errors = out.stderr.lines().filter(|l| l.trim_start().starts_with("error") || l.starts_with("✗ ")).count();
    if errors != 1 {
        return Err(format!("{errors} error lines: {all}"));
    }
    if c.help && !out.stderr.contains("help:") && !out.stderr.contains("try '--help'") {
        return Err(format!("no help: {all}"));
    }
    if before != after {
        return Err(format!("something was written: {all}"));
    }
    Ok(())
}

#[test]
fn bad_input_fails_cleanly_and_writes_nothing() {
    let mut cases = Vec::new();
    for group in [flags(), config_files(), urls(), names(), paths(), yaml(), templates(), scripts()] {
        cases.extend(group);
    }
    assert!(cases.len() >= 200, "{} cases", cases.len());
    let queue = Arc::new(Mutex::new(cases.clone()));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (q, f) = (queue.clone(), failures.clone());
            std::thread::spawn(move || loop {
                let Some(c) = q.lock().unwrap().pop() else { break };
                if let Err(e) = run_case(&c) {
                    f.lock().unwrap().push(format!("== {}\n{e}", c.name));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// Properties of the parsers bad input goes through: they never panic, and normalisation
/// round-trips where it should.
mod props {
    use proptest::prelude::*;
    use wego::engine::paths::{self, Access};
    use wego::git::url;
    use wego::primitives::text;

    fn cfg() -> ProptestConfig {
        ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() }
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            ".{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                prop::collection::btree_map("[a-zA-Z0-9 _:#-]{1,8}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(cfg())]

        #[test]
        fn url_parsing_never_panics(s in ".{0,60}") {
            let _ = url::parse(&s);
            let _ = url::describe(&s, &[]);
        }

        #[test]
        fn url_forms_normalise_alike(
            host in "[a-z]{1,10}\\.(com|io|example)",
            owner in "[a-z0-9][a-z0-9-]{0,9}",
            repo in "[a-z0-9][a-z0-9._-]{0,9}",
            git_suffix in any::<bool>(),
        ) {
            let sfx = if git_suffix { ".git" } else { "" };
            let https = format!("https://{host}/{owner}/{repo}{sfx}");
            let scp = format!("git@{host}:{owner}/{repo}{sfx}");
            let ssh = format!("ssh://git@{host}/{owner}/{repo}{sfx}");
            let d = url::describe(&https, &[]).unwrap();
            prop_assert_eq!(&url::describe(&scp, &[]).unwrap().https, &d.https);
            prop_assert_eq!(&url::describe(&ssh, &[]).unwrap().https, &d.https);
            // The normalized forms are fixed points.
            prop_assert_eq!(&url::describe(&d.https, &[]).unwrap().https, &d.https);
            prop_assert_eq!(&url::describe(&d.ssh, &[]).unwrap().ssh, &d.ssh);
            // What git is given parses back to the same URL.
            let u = url::parse(&scp).unwrap();
            prop_assert_eq!(url::parse(&u.to_git()).unwrap(), u);
        }

        #[test]
        fn dns_labels_are_valid_bounded_and_stable(s in ".{0,100}", max in 1usize..64) {
            let l = text::dns_label(&s, max);
            prop_assert!(l.len() <= max);
            prop_assert!(l.is_empty() || text::is_dns_label(&l), "{l:?}");
            prop_assert_eq!(text::dns_label(&l, max), l.clone());
        }

        #[test]
        fn the_path_policy_never_lets_a_path_out(
            parts in prop::collection::vec(prop_oneof![
                Just("..".to_string()), Just(".".to_string()), Just(".git".to_string()),
                Just(".GIT".to_string()), Just("link".to_string()), Just("sub".to_string()),
                "[a-z]{1,4}",
            ], 0..6),
            absolute in any::<bool>(),
        ) {
            let d = tempfile::tempdir().unwrap();
            let root = d.path().join("root");
            std::fs::create_dir_all(root.join("sub")).unwrap();
            std::os::unix::fs::symlink(d.path(), root.join("link")).unwrap();
            let rel = format!("{}{}", if absolute { "/" } else { "" }, parts.join("/"));
            let real_root = root.canonicalize().unwrap();
            for access in [Access::Read, Access::Write] {
                if let Ok(c) = paths::beneath(&root, &rel, access) {
                    prop_assert!(c.real.starts_with(&real_root), "{rel} -> {}", c.real.display());
                    if access == Access::Write {
                        prop_assert!(!paths::has_git_component(c.real.strip_prefix(&real_root).unwrap()), "{rel}");
                    }
                }
            }
        }

        #[test]
        fn yaml_parsing_never_panics(s in ".{0,80}") {
            let _ = wego::primitives::yaml::parse_all(&s);
        }

        #[test]
        fn yaml_values_round_trip(v in json_value()) {
            // A document is a map (as every wego file is); a bare `null` document is no document.
            let v = serde_json::json!({ "v": v });
            let text = wego::primitives::yaml::to_string(&v).unwrap();
            let back = wego::primitives::yaml::parse_all(&text).unwrap();
            prop_assert_eq!(back.len(), 1, "{}", text);
            prop_assert_eq!(&back[0], &v, "{}", text);
        }
    }
}

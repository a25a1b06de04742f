//! The scriptable core through the real binary: layers, eject, diagnostics, limits, config,
//! version and the checkpoint protocol.

mod common;

use std::time::{Duration, Instant};

use common::http_server::HttpServer;
use common::{git_work_tree, redact, write_files, Env};

const CFG: &str = "apiVersion: wego.weave.works/v1alpha1\nkind: Config\n";

#[test]
fn bare_wego_helps_and_unknown_command_is_a_usage_error() {
    let env = Env::new();
    let out = env.wego().run().ok();
    assert!(out.stdout.contains("Usage: wego"), "{}", out.stdout);
    let out = env.wego().arg("foo").run().expect_code(2);
    assert!(out.stderr.contains("unrecognized subcommand 'foo'"), "{}", out.stderr);
    let out = env.wego().arg("--help").run().ok();
    for cmd in ["install", "status", "version", "run", "scripts", "templates", "config", "docs", "completion"] {
        assert!(out.stdout.contains(cmd), "help lists {cmd}");
    }
}

#[test]
fn completion_scripts_are_printed() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish"] {
        // The registration asks wego for the candidates (tests/cli.rs completes through it).
        let out = env.wego().args(["completion", shell]).run().ok();
        assert!(out.stdout.contains("COMPLETE") && out.stdout.contains("wego"), "{shell}: {}", out.stdout);
    }
}

#[test]
fn version_prints_versions_as_table_json_and_yaml() {
    let env = Env::new();
    let out = env.wego().args(["version", "--offline"]).run().ok();
    assert!(out.stdout.contains(&format!("wego version: v{}", env!("CARGO_PKG_VERSION"))), "{}", out.stdout);
    assert!(out.stdout.contains("flux version: v2.9.4"), "{}", out.stdout);
    let out = env.wego().args(["version", "--offline", "-o", "json"]).run().ok();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["wego"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["flux"], "2.9.4");
    assert!(v["commit"].as_str().is_some_and(|c| !c.is_empty()));
    let out = env.wego().args(["version", "--offline", "-o", "yaml"]).run().ok();
    assert!(out.stdout.contains("flux: \"2.9.4\"") || out.stdout.contains("flux: 2.9.4"), "{}", out.stdout);
}

/// Each layer wins over the ones below it: scripts-dir > repo .wego > user > built-in.
#[test]
fn script_layers_take_precedence_in_order() {
    let env = Env::new();
    let repo = git_work_tree();
    let explicit = tempfile::tempdir().unwrap();
    let say = |who: &str| format!("print(\"version from {who}\");");
    let user_body = say("user");
    write_files(&env.config_dir(), &[("wego/scripts/version.rhai", &user_body)]);
    let run = |extra: &[&str]| env.wego().args(["version", "--offline"]).args(extra).cwd(repo.path()).run().ok();

    assert!(run(&[]).stdout.contains("version from user"));
    let repo_body = say("repo");
    write_files(repo.path(), &[(".wego/scripts/version.rhai", &repo_body)]);
    env.wego().arg("trust").cwd(repo.path()).run().ok();
    let out = run(&[]);
    assert!(out.stdout.contains("version from repo"), "{}", out.stdout);
    assert!(out.stderr.contains("wego: using script version from"), "override announced: {}", out.stderr);
    let ex_body = say("scripts-dir");
    write_files(explicit.path(), &[("scripts/version.rhai", &ex_body)]);
    let dir = explicit.path().display().to_string();
    assert!(run(&["--scripts-dir", &dir]).stdout.contains("version from scripts-dir"));
    let out = env.wego().args(["version", "--offline"]).env("WEGO_SCRIPTS_DIR", &dir).cwd(repo.path()).run().ok();
    assert!(out.stdout.contains("version from scripts-dir"));

    let out = env.wego().args(["scripts", "list", "-o", "json"]).cwd(repo.path()).run().ok();
    let list: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    let version = list.iter().find(|e| e["name"] == "version").unwrap();
    assert_eq!(version["layer"], "repo");
    assert!(list.iter().any(|e| e["name"] == "wego/update" && e["layer"] == "built-in"));
}

#[test]
fn stdlib_imports_resolve_through_the_same_layers() {
    let env = Env::new();
    let repo = git_work_tree();
    let module = |who: &str| format!("fn notify() {{ print(\"notice from {who}\"); }}");
    write_files(repo.path(), &[("main.rhai", "import \"wego/update\" as u; u::notify();")]);
    let run = || env.wego().args(["run", "main.rhai"]).cwd(repo.path()).run().ok().stdout;
    assert_eq!(run(), "", "built-in notify is silent when telemetry is unreachable");
    write_files(&env.config_dir(), &[("wego/stdlib/update.rhai", &module("user"))]);
    assert_eq!(run(), "notice from user\n");
    write_files(repo.path(), &[(".wego/stdlib/update.rhai", &module("repo"))]);
    env.wego().arg("trust").cwd(repo.path()).run().ok();
    assert_eq!(run(), "notice from repo\n");
    let explicit = tempfile::tempdir().unwrap();
    write_files(explicit.path(), &[("stdlib/update.rhai", &module("explicit"))]);
    let out = env
        .wego()
        .args(["run", "main.rhai", "--scripts-dir"])
        .arg(explicit.path().display().to_string())
        .cwd(repo.path())
        .run();
    // `--scripts-dir` after FILE belongs to the script; before it, to wego.
    assert_eq!(out.stdout, "notice from repo\n", "{out:?}");
    let out = env
        .wego()
        .args(["run", "--scripts-dir", &explicit.path().display().to_string(), "main.rhai"])
        .cwd(repo.path())
        .run()
        .ok();
    assert_eq!(out.stdout, "notice from explicit\n");
}

#[test]
fn template_layers_take_precedence_in_order() {
    let env = Env::new();
    let repo = git_work_tree();
    let script = r#"print(template::render("wego/config-map.yaml.j2", #{namespace: "ns", wego_version: "1", config_yaml: "a: 1"}));"#;
    write_files(repo.path(), &[("t.rhai", script)]);
    let run = || env.wego().args(["run", "t.rhai"]).cwd(repo.path()).run().ok().stdout;
    assert!(run().contains("name: wego-config"), "built-in");
    // `.yaml` templates JSON-quote every value they print unless it is marked safe.
    write_files(&env.config_dir(), &[("wego/templates/wego/config-map.yaml.j2", "user: {{ namespace }}")]);
    assert_eq!(run(), "user: \"ns\"\n");
    write_files(repo.path(), &[(".wego/templates/wego/config-map.yaml.j2", "repo: {{ namespace }}")]);
    assert_eq!(run(), "repo: \"ns\"\n");
    let out = env.wego().args(["templates", "list"]).cwd(repo.path()).run().ok();
    let line = out.stdout.lines().find(|l| l.starts_with("wego/config-map.yaml.j2")).unwrap();
    assert!(line.contains("repo"), "{line}");
}

#[test]
fn eject_then_edit_changes_behaviour() {
    let env = Env::new();
    let repo = git_work_tree();
    let out = env.wego().args(["scripts", "eject", "version"]).cwd(repo.path()).run().ok();
    assert!(out.stdout.trim_end().ends_with(".wego/scripts/version.rhai"), "{}", out.stdout);
    let path = repo.path().join(".wego/scripts/version.rhai");
    let builtin = env.wego().args(["scripts", "show", "version"]).run().ok().stdout;
    assert_eq!(std::fs::read_to_string(&path).unwrap(), builtin);
    std::fs::write(&path, builtin.replace("wego version: v", "WEGO IS AT v")).unwrap();
    env.wego().arg("trust").cwd(repo.path()).run().ok();
    let out = env.wego().args(["version", "--offline"]).cwd(repo.path()).run().ok();
    assert!(out.stdout.contains("WEGO IS AT v"), "{}", out.stdout);
    let out = env.wego().args(["scripts", "eject", "version"]).cwd(repo.path()).run().expect_code(1);
    assert!(out.stderr.contains("--force"), "{}", out.stderr);
    env.wego().args(["scripts", "eject", "version", "--force"]).cwd(repo.path()).run().ok();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), builtin);
    env.wego().args(["scripts", "eject", "wego/update"]).cwd(repo.path()).run().ok();
    assert!(repo.path().join(".wego/stdlib/update.rhai").is_file());
    env.wego().args(["templates", "eject", "wego/app-crd.yaml.j2"]).cwd(repo.path()).run().ok();
    assert!(repo.path().join(".wego/templates/wego/app-crd.yaml.j2").is_file());
    let out = env.wego().args(["scripts", "eject", "nope"]).cwd(repo.path()).run().expect_code(1);
    assert!(out.stderr.contains("wego scripts list"), "{}", out.stderr);
}

fn run_script(env: &Env, dir: &std::path::Path, file: &str) -> common::Out {
    env.wego().args(["run", file]).cwd(dir).run()
}

#[test]
fn syntax_error_points_at_file_line_col() {
    let env = Env::new();
    let d = git_work_tree();
    write_files(d.path(), &[("bad.rhai", "let a = 1;\nlet b = ;\n")]);
    let out = run_script(&env, d.path(), "bad.rhai").expect_code(1);
    insta::assert_snapshot!("syntax_error", out.stderr);
}

#[test]
fn runtime_error_in_imported_module_shows_the_call_chain() {
    let env = Env::new();
    let d = git_work_tree();
    write_files(
        d.path(),
        &[
            (".wego/stdlib/helper.rhai", "fn parse(text) {\n    let docs = yaml::parse(text);\n    docs\n}\n"),
            ("main.rhai", "import \"wego/helper\" as h;\n\nlet v = h::parse(\"a: [\");\n"),
        ],
    );
    env.wego().arg("trust").cwd(d.path()).run().ok();
    let out = run_script(&env, d.path(), "main.rhai").expect_code(1);
    insta::assert_snapshot!("module_runtime_error", redact(&out.stderr, d.path(), "[REPO]"));
}

#[test]
fn template_error_points_into_the_template() {
    let env = Env::new();
    let d = git_work_tree();
    write_files(
        d.path(),
        &[
            (".wego/templates/app.yaml.j2", "name: {{ app.name | toyaml }}\npath: {{ app.pth | toyaml }}\n"),
            ("main.rhai", "let app = #{ name: \"web\", path: \"./\" };\nprint(template::render(\"app.yaml.j2\", #{ app: app }));\n"),
        ],
    );
    let out = run_script(&env, d.path(), "main.rhai").expect_code(1);
    insta::assert_snapshot!("template_error", redact(&out.stderr, d.path(), "[REPO]"));
}

#[test]
fn thrown_errors_carry_help() {
    let env = Env::new();
    let d = git_work_tree();
    write_files(d.path(), &[("t.rhai", "throw \"the app name is empty\\nhelp: pass --name\";\n")]);
    let out = run_script(&env, d.path(), "t.rhai").expect_code(1);
    assert!(out.stderr.contains("error: the app name is empty"), "{}", out.stderr);
    assert!(out.stderr.contains("= help: pass --name"), "{}", out.stderr);
}

#[test]
fn runaway_scripts_are_stopped_by_limits() {
    let env = Env::new();
    let d = git_work_tree();
    write_files(
        d.path(),
        &[("loop.rhai", "let x = 0;\nloop { x += 1; }\n"), ("rec.rhai", "fn f(n) { f(n + 1) }\nf(0);\n")],
    );
    let out = run_script(&env, d.path(), "loop.rhai").expect_code(1);
    assert!(out.stderr.contains("too many operations"), "{}", out.stderr);
    assert!(out.stderr.contains("loop.rhai:2:"), "{}", out.stderr);
    let out = run_script(&env, d.path(), "rec.rhai").expect_code(1);
    assert!(out.stderr.contains("nested too deeply"), "{}", out.stderr);
    // The limit is the user's to configure; `0` is its minimum (100000), never "unlimited".
    write_files(&env.config_dir(), &[("wego/config.yaml", &format!("{CFG}limits:\n  maxOperations: 0\n"))]);
    write_files(d.path(), &[("short.rhai", "let y = 0;\nfor i in 0..1000000 { y += i; }\n")]);
    let out = run_script(&env, d.path(), "short.rhai").expect_code(1);
    assert!(out.stderr.contains("maxOperations"), "{}", out.stderr);
}

#[test]
fn scripts_reach_files_only_inside_the_workspace_and_programs_only_when_allowed() {
    let env = Env::new();
    let d = git_work_tree();
    write_files(
        d.path(),
        &[
            ("in.rhai", "fs::write(\"out/x.txt\", \"hi\"); print(fs::read(\"out/x.txt\"));"),
            ("out.rhai", "print(fs::read(\"../../etc/passwd\"));"),
            ("exec.rhai", "let r = exec::run(\"echo\", [\"hello\"], #{}); let s = r.stdout; s.trim(); print(s);"),
        ],
    );
    assert_eq!(run_script(&env, d.path(), "in.rhai").ok().stdout, "hi\n");
    let out = run_script(&env, d.path(), "out.rhai").expect_code(1);
    assert!(out.stderr.contains("outside the workspace"), "{}", out.stderr);
    let out = run_script(&env, d.path(), "exec.rhai").expect_code(1);
    assert!(out.stderr.contains("--allow-exec"), "{}", out.stderr);
    let out = env.wego().args(["run", "--allow-exec", "exec.rhai"]).cwd(d.path()).run().ok();
    assert_eq!(out.stdout, "hello\n");
}

#[test]
fn run_passes_args_and_exit_codes() {
    let env = Env::new();
    let d = git_work_tree();
    write_files(d.path(), &[("a.rhai", "#!/usr/bin/env -S wego run\nprint(args);\nexit(args.len());\n")]);
    let out = env.wego().args(["run", "a.rhai", "x", "--flag", "-y"]).cwd(d.path()).run().expect_code(3);
    assert_eq!(out.stdout, "[\"x\", \"--flag\", \"-y\"]\n");
}

#[test]
fn set_values_reach_the_script_as_args_set() {
    let env = Env::new();
    let repo = git_work_tree();
    write_files(repo.path(), &[(".wego/scripts/version.rhai", "print(args.set.greeting + \" \" + args.set.who);")]);
    env.wego().arg("trust").cwd(repo.path()).run().ok();
    let out = env.wego().args(["version", "--set", "greeting=hello", "--set", "who=a=b"]).cwd(repo.path()).run().ok();
    assert_eq!(out.stdout, "hello a=b\n");
    let out = env.wego().args(["version", "--set", "oops"]).cwd(repo.path()).run().expect_code(1);
    assert!(out.stderr.contains("KEY=VALUE"), "{}", out.stderr);
}

#[test]
fn config_precedence_flags_env_repo_user_defaults() {
    let env = Env::new();
    let repo = git_work_tree();
    write_files(
        &env.config_dir(),
        &[(
            "wego/config.yaml",
            &format!("{CFG}logLevel: debug\nflux:\n  namespace: from-user\n  registry: user.example/fluxcd\n"),
        )],
    );
    write_files(repo.path(), &[(".wego/config.yaml", &format!("{CFG}flux:\n  namespace: from-repo\n"))]);
    let view = |w: common::Wego| {
        let out = w.args(["config", "view", "-o", "json"]).cwd(repo.path()).run().ok();
        serde_json::from_str::<serde_json::Value>(&out.stdout).unwrap()
    };
    let v = view(env.wego());
    assert_eq!(v["flux"]["namespace"], "from-repo");
    assert_eq!(v["flux"]["registry"], "user.example/fluxcd");
    assert_eq!(v["logLevel"], "debug");
    assert_eq!(v["git"]["branchPattern"], "wego/{cluster}/add-{app}", "default");
    let v = view(env.wego().env("WEGO_LOG_LEVEL", "warn"));
    assert_eq!(v["logLevel"], "warn");
    let v = view(env.wego().env("WEGO_LOG_LEVEL", "warn").args(["--wego-log-level", "error"]));
    assert_eq!(v["logLevel"], "error");
    let v = view(env.wego().args(["-n", "from-flag"]));
    assert_eq!(v["flux"]["namespace"], "from-flag");

    let out = env.wego().args(["config", "view"]).cwd(repo.path()).run().ok();
    let ns = out.stdout.lines().find(|l| l.starts_with("flux.namespace ")).unwrap();
    assert!(ns.contains("\"from-repo\"") && ns.contains("repo file"), "{ns}");
    let reg = out.stdout.lines().find(|l| l.starts_with("flux.registry ")).unwrap();
    assert!(reg.contains("user file"), "{reg}");
    // The lowest layer is the built-in config.yaml, the Flux version included.
    for key in ["flux.version ", "git.defaultBranch ", "kube.fieldManager ", "git.branchPattern "] {
        let row = out.stdout.lines().find(|l| l.starts_with(key)).unwrap();
        assert!(row.trim_end().ends_with("built-in"), "{row}");
    }

    let out = env.wego().args(["config", "view"]).env("WEGO_FEATURES", "a, b").cwd(repo.path()).run().ok();
    let f = out.stdout.lines().find(|l| l.starts_with("features ")).unwrap();
    assert!(f.contains("[\"a\",\"b\"]") && f.contains("env WEGO_FEATURES"), "{f}");
}

#[test]
fn bad_config_names_the_file_and_key() {
    let env = Env::new();
    let repo = git_work_tree();
    write_files(repo.path(), &[(".wego/config.yaml", &format!("{CFG}flux:\n  namspace: typo\n"))]);
    let out = env.wego().args(["config", "view"]).cwd(repo.path()).run().expect_code(1);
    assert!(out.stderr.contains(".wego/config.yaml") && out.stderr.contains("namspace"), "{}", out.stderr);
    write_files(repo.path(), &[(".wego/config.yaml", &format!("{CFG}telemetry: sometimes\n"))]);
    let out = env.wego().args(["version", "--offline"]).cwd(repo.path()).run().expect_code(1);
    assert!(out.stderr.contains(".wego/config.yaml") && out.stderr.contains("bool"), "{}", out.stderr);
    write_files(repo.path(), &[(".wego/config.yaml", "apiVersion: v9\nkind: Config\n")]);
    let out = env.wego().args(["version", "--offline"]).cwd(repo.path()).run().expect_code(1);
    assert!(out.stderr.contains("wego.weave.works/v1alpha1"), "{}", out.stderr);
    let out = env.wego().args(["config", "view"]).env("WEGO_TELEMETRY", "maybe").run().expect_code(1);
    assert!(out.stderr.contains("WEGO_TELEMETRY") && out.stderr.contains("boolean"), "{}", out.stderr);
}

#[test]
fn feature_flags_come_from_config_and_env() {
    let env = Env::new();
    let repo = git_work_tree();
    write_files(repo.path(), &[("f.rhai", "print(feature::enabled(\"alpha\")); print(feature::enabled(\"beta\"));")]);
    let run = |w: common::Wego| w.args(["run", "f.rhai"]).cwd(repo.path()).run().ok().stdout;
    assert_eq!(run(env.wego()), "false\nfalse\n");
    write_files(repo.path(), &[(".wego/config.yaml", &format!("{CFG}features: [alpha]\n"))]);
    assert_eq!(run(env.wego()), "true\nfalse\n");
    assert_eq!(run(env.wego().env("WEGO_FEATURES", "beta")), "false\ntrue\n");
}

fn checkpoint(delay: Duration) -> HttpServer {
    HttpServer::start(vec![("/v1/check/weave-gitops".into(), OUTDATED.into())], delay)
}

const OUTDATED: &str =
    r#"{"current_version":"9.9.9","current_download_url":"https://example.invalid/wego/v9.9.9","outdated":true}"#;

#[test]
fn version_reports_an_update_from_the_checkpoint_service() {
    let env = Env::new();
    let server = checkpoint(Duration::ZERO);
    let out = env.wego().arg("version").env("WEGO_CHECKPOINT_URL", &server.url).run().ok();
    assert!(
        out.stderr.contains("wego v9.9.9 is available; please update: https://example.invalid/wego/v9.9.9"),
        "{}",
        out.stderr
    );
    assert_eq!(server.hits(), 1);
    let path = &server.paths()[0];
    assert!(path.starts_with("/v1/check/weave-gitops?version="), "{path}");
    for p in ["&arch=", "&os=", "&signature="] {
        assert!(path.contains(p), "{path} has {p}");
    }
    // Answer cached for 24 h: the next run asks nobody and still tells the user.
    let out = env.wego().arg("version").env("WEGO_CHECKPOINT_URL", &server.url).run().ok();
    assert!(out.stderr.contains("wego v9.9.9 is available"), "{}", out.stderr);
    assert_eq!(server.hits(), 1);
}

#[test]
fn opting_out_sends_nothing() {
    let server = checkpoint(Duration::ZERO);
    let env = Env::new();
    let out =
        env.wego().arg("version").env("WEGO_CHECKPOINT_URL", &server.url).env("CHECKPOINT_DISABLE", "1").run().ok();
    assert!(!out.stderr.contains("available"));
    env.wego().args(["version", "--offline"]).env("WEGO_CHECKPOINT_URL", &server.url).run().ok();
    let repo = git_work_tree();
    write_files(repo.path(), &[(".wego/config.yaml", &format!("{CFG}telemetry: false\n"))]);
    env.wego().arg("version").env("WEGO_CHECKPOINT_URL", &server.url).cwd(repo.path()).run().ok();
    assert_eq!(server.hits(), 0, "no request at all when disabled");
}

#[test]
fn a_slow_or_missing_checkpoint_service_never_delays_or_fails() {
    let env = Env::new();
    let slow = checkpoint(Duration::from_secs(20));
    let start = Instant::now();
    let out = env.wego().arg("version").env("WEGO_CHECKPOINT_URL", &slow.url).run().ok();
    // The deadline is 1 s; allow generous slack for a loaded machine, far below the 20 s stall.
    assert!(start.elapsed() < Duration::from_secs(8), "took {:?}", start.elapsed());
    assert!(!out.stderr.contains("available"));
    let out = env.wego().arg("version").env("WEGO_CHECKPOINT_URL", "http://127.0.0.1:9").run().ok();
    assert!(out.stdout.contains("wego version"));
}

#[test]
fn docs_api_documents_every_registered_function() {
    let env = Env::new();
    let out = env.wego().args(["docs", "api"]).run().ok();
    for f in ["`template::render(", "`yaml::parse_all(", "`fs::read(", "`log::ok(", "`checkpoint::check(", "`exit("] {
        assert!(out.stdout.contains(f), "reference has {f}");
    }
    // Every heading is followed by a description.
    let blocks: Vec<&str> = out.stdout.split("\n### ").skip(1).collect();
    assert!(blocks.len() > 20);
    for b in blocks {
        let body = b.split_once("\n\n").map(|x| x.1).unwrap_or("");
        assert!(body.trim().len() > 10, "undocumented: {b}");
    }
}

/// docs/api.md is what `wego docs api` prints: regenerate it with
/// `cargo run -- docs api > docs/api.md` when the API changes.
#[test]
fn committed_api_reference_is_current() {
    let env = Env::new();
    let out = env.wego().args(["docs", "api"]).run().ok();
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md")).unwrap();
    assert!(committed == out.stdout, "docs/api.md is stale: run `cargo run -- docs api > docs/api.md`");
}

#[test]
fn definitions_for_editors_are_an_experimental_feature() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    // Hidden and refused unless the feature is on.
    let help = env.wego().args(["docs", "--help"]).run().ok().stdout;
    assert!(!help.contains("  definitions "), "{help}");
    let out = env.wego().args(["docs", "definitions"]).arg(dir.path().display().to_string()).run().expect_code(2);
    assert!(out.stderr.contains("WEGO_FEATURES=rhai-definitions"), "{}", out.stderr);
    let on = |w: common::Wego| w.env("WEGO_FEATURES", "rhai-definitions");
    assert!(on(env.wego()).args(["docs", "--help"]).run().ok().stdout.contains("  definitions "));
    on(env.wego()).args(["docs", "definitions"]).arg(dir.path().display().to_string()).run().ok();
    let kube = std::fs::read_to_string(dir.path().join("kube.d.rhai")).unwrap();
    assert!(kube.contains("fn apply("), "{kube}");
}

#[test]
fn use_repo_switches_overrides_and_config_to_a_checked_out_repo() {
    let env = Env::new();
    let here = git_work_tree();
    write_files(
        here.path(),
        &[
            ("wego-repo/.git/HEAD", "ref: refs/heads/main\n"),
            ("wego-repo/.wego/config.yaml", &format!("{CFG}git:\n  branchPattern: team/{{app}}\n")),
            ("wego-repo/.wego/templates/greeting.j2", "hello from the wego repo"),
            (
                "use.rhai",
                "print(config.git.branchPattern);\nlet c = wego::use_repo(\"wego-repo\");\nprint(c.git.branchPattern);\nprint(wego::config().git.branchPattern);\nprint(template::render(\"greeting.j2\", #{}));\n",
            ),
        ],
    );
    let out = env.wego().args(["run", "use.rhai"]).cwd(here.path()).run().ok();
    assert_eq!(out.stdout, "wego/{cluster}/add-{app}\nteam/{app}\nteam/{app}\nhello from the wego repo\n");
    write_files(here.path(), &[("wego-repo/.wego/config.yaml", &format!("{CFG}gti: {{}}\n"))]);
    let out = env.wego().args(["run", "use.rhai"]).cwd(here.path()).run().expect_code(1);
    assert!(out.stderr.contains("gti"), "{}", out.stderr);
}

/// libgit2 cannot fetch shallow from a local path: a default (shallow) clone of one still works.
#[test]
fn cloning_a_local_path_works_with_the_default_depth() {
    let env = Env::new();
    let d = git_work_tree();
    let run = |args: &[&str]| {
        let o = std::process::Command::new("git")
            .args(args)
            .current_dir(d.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@e")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@e")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(&["init", "-q", "--bare", "-b", "main", "remote.git"]);
    run(&["clone", "-q", "remote.git", "seed"]);
    std::fs::write(d.path().join("seed/a.txt"), "hello\n").unwrap();
    run(&["-C", "seed", "add", "-A"]);
    run(&["-C", "seed", "commit", "-qm", "a"]);
    run(&["-C", "seed", "push", "-q", "origin", "main"]);
    write_files(
        d.path(),
        &[("c.rhai", "let r = git::clone(\"remote.git\", #{local: true}); print(r.read(\"a.txt\"));")],
    );
    let out = env.wego().args(["run", "c.rhai"]).cwd(d.path()).run().ok();
    assert_eq!(out.stdout, "hello\n\n");
}

/// `kube::apply` without a `field_manager` applies as config `kube.fieldManager`: the built-in
/// `wego`, or the user's own choice.
#[test]
fn kube_apply_owns_fields_as_the_configured_field_manager() {
    let Some(c) = common::cluster::cluster() else { return };
    let env = Env::new();
    let repo = git_work_tree();
    let ns = format!("wego-fm-{}", std::process::id());
    let script = |key: &str| {
        format!(
            "kube::apply([#{{apiVersion: \"v1\", kind: \"Namespace\", metadata: #{{name: \"{ns}\"}}}}, \
             #{{apiVersion: \"v1\", kind: \"ConfigMap\", metadata: #{{name: \"fm\", namespace: \"{ns}\"}}, data: #{{{key}: \"1\"}}}}], #{{}});\n"
        )
    };
    let managers = || {
        c.kubectl(["get", "configmap", "fm", "-n", &ns, "-o", "jsonpath={.metadata.managedFields[*].manager}"])
            .ok()
            .stdout
    };
    let kubeconfig = c.kubeconfig.display().to_string();
    write_files(repo.path(), &[("apply.rhai", &script("a"))]);
    env.wego().args(["run", "apply.rhai"]).env("KUBECONFIG", &kubeconfig).cwd(repo.path()).run().ok();
    assert_eq!(managers().split_whitespace().collect::<Vec<_>>(), ["wego"]);

    write_files(&env.config_dir(), &[("wego/config.yaml", &format!("{CFG}kube:\n  fieldManager: team-tool\n"))]);
    write_files(repo.path(), &[("apply.rhai", &script("b"))]);
    env.wego().args(["run", "apply.rhai"]).env("KUBECONFIG", &kubeconfig).cwd(repo.path()).run().ok();
    let m = managers();
    c.kubectl(["delete", "namespace", &ns, "--wait=false"]);
    assert!(m.split_whitespace().any(|x| x == "team-tool"), "{m}");
}

/// A clone of an empty remote starts on config `git.defaultBranch`: the built-in `main`, or the
/// user's own choice.
#[test]
fn an_empty_remote_starts_on_the_configured_default_branch() {
    let env = Env::new();
    let repo = git_work_tree();
    let bare = tempfile::tempdir().unwrap();
    git2::Repository::init_bare(bare.path()).unwrap();
    let script = |dir: &str| {
        format!(
            "let r = git::clone(\"{}\", #{{local: true, dir: \"{dir}\"}});\nprint(r.default_branch());\n",
            bare.path().display()
        )
    };
    write_files(repo.path(), &[("a.rhai", &script("a")), ("b.rhai", &script("b"))]);
    let out = env.wego().args(["run", "a.rhai"]).cwd(repo.path()).run().ok();
    assert_eq!(out.stdout.trim(), "main");
    write_files(&env.config_dir(), &[("wego/config.yaml", &format!("{CFG}git:\n  defaultBranch: trunk\n"))]);
    let out = env.wego().args(["run", "b.rhai"]).cwd(repo.path()).run().ok();
    assert_eq!(out.stdout.trim(), "trunk");
}

/// The `E|X <tab> source <tab> line` records of a WEGO_RHAI_COVERAGE directory: lines by
/// (kind, source).
fn coverage_records(
    dir: &std::path::Path,
) -> std::collections::BTreeMap<(String, String), std::collections::BTreeSet<usize>> {
    let mut records = std::collections::BTreeMap::<_, std::collections::BTreeSet<usize>>::new();
    for file in std::fs::read_dir(dir).unwrap() {
        for line in std::fs::read_to_string(file.unwrap().path()).unwrap().lines() {
            let mut f = line.split('\t');
            let (kind, source, n) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
            records.entry((kind.to_string(), source.to_string())).or_default().insert(n.parse().unwrap());
        }
    }
    records
}

#[test]
fn rhai_coverage_records_the_statements_a_script_runs() {
    let env = Env::new();
    let d = git_work_tree();
    let cov = tempfile::tempdir().unwrap();
    write_files(
        d.path(),
        &[
            ("lib/helper.rhai", "fn twice(x) {\n    x * 2\n}\n\nfn unused() {\n    print(\"never\");\n}\n"),
            (
                "tiny.rhai",
                "import \"./lib/helper\" as h;\nlet x = 1;\nif x > 1 {\n    print(\"big\");\n} else {\n    print(h::twice(x));\n}\n",
            ),
        ],
    );
    let run = |with: bool| {
        let w = env.wego().args(["run", "tiny.rhai"]).cwd(d.path());
        let w = if with { w.env("WEGO_RHAI_COVERAGE", cov.path().display().to_string()) } else { w };
        w.run().ok()
    };
    assert_eq!(run(false).stdout, "2\n");
    assert_eq!(std::fs::read_dir(cov.path()).unwrap().count(), 0, "nothing is recorded unless asked");
    assert_eq!(run(true).stdout, "2\n", "recording changes nothing the script does");
    let records = coverage_records(cov.path());
    let lines = |kind: &str, suffix: &str| {
        let found = records.iter().find(|((k, s), _)| k == kind && s.ends_with(suffix));
        found.map(|(_, l)| l.clone()).unwrap_or_default()
    };
    let ran = |suffix: &str| -> Vec<usize> { lines("E", suffix).intersection(&lines("X", suffix)).copied().collect() };
    // Statements, not lines of braces, `else` or function headers; the branch not taken is
    // executable but not executed, and so is the function nobody calls.
    assert_eq!(lines("E", "tiny.rhai").into_iter().collect::<Vec<_>>(), [1, 2, 3, 4, 6], "{records:?}");
    assert_eq!(ran("tiny.rhai"), [1, 2, 3, 6], "{records:?}");
    assert_eq!(lines("E", "helper.rhai").into_iter().collect::<Vec<_>>(), [2, 6], "{records:?}");
    assert_eq!(ran("helper.rhai"), [2], "{records:?}");
    // Every built-in script and stdlib module is listed, loaded or not: a module no test
    // loads counts as uncovered.
    for file in ["scripts/add.rhai", "scripts/version.rhai", "stdlib/naming.rhai", "stdlib/health.rhai"] {
        assert!(!lines("E", file).is_empty(), "{file} is listed: {:?}", records.keys());
    }
}

/// `kube::list` with `columns` reads each object as one flat row, across pages (here one object
/// per page) of the real API server; a path that is not one is the script author's error, with
/// the function's name and how paths are written.
#[test]
fn kube_list_reads_objects_as_rows_of_columns_across_pages() {
    let Some(c) = common::cluster::cluster() else { return };
    let env = Env::new();
    let repo = git_work_tree();
    let ns = format!("wego-rows-{}", std::process::id());
    c.kubectl(["create", "namespace", &ns]).ok();
    for (name, label) in [("a", Some("x")), ("b", None), ("c", Some("z"))] {
        c.kubectl(["create", "configmap", name, "-n", &ns, &format!("--from-literal=k=v-{name}")]).ok();
        if let Some(l) = label {
            c.kubectl(["label", "configmap", name, "-n", &ns, &format!("app.kubernetes.io/name={l}")]).ok();
        }
    }
    let script = format!(
        "let rows = kube::list(\"v1\", \"ConfigMap\", #{{ namespace: \"{ns}\", chunk_size: 1, columns: #{{ \
         name: \"metadata.name\", app: [\"metadata.labels['app.kubernetes.io/name']\", \"data.k\"], \
         owner: \"metadata.ownerReferences[0].name\" }} }});\n\
         for r in rows.filter(|r| r.name != \"kube-root-ca.crt\") {{ print(`${{r.name}} ${{r.app}} ${{r.owner}} ${{r.keys().len()}}`); }}\n\
         kube::list(\"v1\", \"ConfigMap\", #{{ namespace: \"{ns}\", columns: #{{ bad: \"metadata..name\" }} }});\n"
    );
    write_files(repo.path(), &[("rows.rhai", &script)]);
    let kubeconfig = c.kubeconfig.display().to_string();
    let out = env.wego().args(["run", "rows.rhai"]).env("KUBECONFIG", &kubeconfig).cwd(repo.path()).run();
    c.kubectl(["delete", "namespace", &ns, "--wait=false"]);
    assert_eq!(out.stdout, "a x  3\nb v-b  3\nc z  3\n", "the label, else the data; a missing path is ()");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("kube::list") && out.stderr.contains("`metadata..name` is not a path"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("help: a column is a path such as"), "{}", out.stderr);
    assert!(out.stderr.contains("rows.rhai:"), "the script author gets the position: {}", out.stderr);
}

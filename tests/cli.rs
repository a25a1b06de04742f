//! The command line as a user of kubectl or flux meets it: pipes closed early, data on stdout
//! only, `eject` writing where the override takes effect, help and flags, and `config`.

mod common;

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::cluster::cluster;
use common::{git_work_tree, redact, write_config, write_files, Env, Wego};
use serde_json::Value;

const CFG: &str = "apiVersion: wego.weave.works/v1alpha1\nkind: Config\n";

/// A work dir holding Flux's release manifest and a script that prints a lot.
struct Fixture {
    env: Env,
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        write_files(
            dir.path(),
            &[
                ("install.yaml", &common::flux_manifest(false)),
                ("lots.rhai", "for i in 0..5000 { print(`line ${i}`); }\n"),
                // Not Flux's release as published: `install` warns about it on stderr.
                ("edited.yaml", &format!("{}\n# edited\n", common::flux_manifest(false))),
            ],
        );
        Fixture { env: Env::new(), dir }
    }

    fn wego(&self) -> Wego {
        self.env.wego().cwd(self.dir.path())
    }

    fn manifest(&self) -> String {
        self.dir.path().join("install.yaml").display().to_string()
    }

    /// Every command that prints data, as (name, words, stdin).
    fn printing(&self) -> Vec<(String, Vec<String>, Option<&'static str>)> {
        let m = self.manifest();
        let cases: Vec<(Vec<&str>, Option<&'static str>)> = vec![
            (vec!["install", "--offline", "--flux-manifests", &m], None),
            (vec!["docs", "api"], None),
            (vec!["docs", "man"], None),
            (vec!["completion", "bash"], None),
            (vec!["completion", "zsh"], None),
            (vec!["completion", "fish"], None),
            (vec!["version", "--offline"], None),
            (vec!["version", "--offline", "-o", "json"], None),
            (vec!["scripts", "list"], None),
            (vec!["scripts", "show", "status"], None),
            (vec!["templates", "list", "-o", "yaml"], None),
            (vec!["templates", "show", "wego/app-crd.yaml.j2"], None),
            (vec!["config", "view"], None),
            (vec!["config", "view", "-o", "json"], None),
            (vec!["config", "path"], None),
            (vec!["trust", "--list"], None),
            (vec!["--help"], None),
            (vec!["add", "--help"], None),
            (vec!["run", "lots.rhai"], None),
            (vec!["repl"], Some("for i in 0..5000 { print(i); }")),
        ];
        cases
            .into_iter()
            .map(|(words, stdin)| (words.join(" "), words.into_iter().map(String::from).collect(), stdin))
            .collect()
    }
}

#[derive(Clone, Copy, Debug)]
enum Closed {
    Stdout,
    Stderr,
}

/// Run with one standard stream's reader gone before wego writes a byte; returns the exit
/// code (141 for a process that reports SIGPIPE the shell's way, 128+n if killed by signal n)
/// and what the other stream got.
fn with_closed(w: Wego, stdin: Option<&str>, closed: Closed) -> (i32, String) {
    let mut cmd = w.command();
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn wego");
    let (gone, mut kept): (Box<dyn Read>, Box<dyn Read>) = match closed {
        Closed::Stdout => (Box::new(child.stdout.take().unwrap()), Box::new(child.stderr.take().unwrap())),
        Closed::Stderr => (Box::new(child.stderr.take().unwrap()), Box::new(child.stdout.take().unwrap())),
    };
    drop(gone);
    if let Some(s) = stdin {
        use std::io::Write;
        let _ = child.stdin.take().unwrap().write_all(s.as_bytes());
    }
    let mut other = String::new();
    kept.read_to_string(&mut other).unwrap();
    let status = child.wait().unwrap();
    let code = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    (code, other)
}

fn assert_quiet_exit(name: &str, normal: i32, closed: Closed, (code, other): (i32, String)) {
    assert!(!other.contains("panicked"), "`wego {name}` with {closed:?} closed panicked:\n{other}");
    assert!(
        code == normal || code == 141,
        "`wego {name}` with {closed:?} closed exited {code} (normally {normal}):\n{other}"
    );
}

#[test]
fn a_reader_closing_early_never_makes_wego_panic() {
    let f = Fixture::new();
    for (name, words, stdin) in f.printing() {
        let mut normal = f.wego().args(&words);
        if let Some(s) = stdin {
            normal = normal.stdin(s);
        }
        let normal = normal.run();
        assert!(!normal.stdout.is_empty(), "`wego {name}` prints data: {normal:?}");
        assert_quiet_exit(
            &name,
            normal.code,
            Closed::Stdout,
            with_closed(f.wego().args(&words), stdin, Closed::Stdout),
        );
    }
    // Commands whose notices, warnings or errors go to stderr.
    let m = f.dir.path().join("edited.yaml").display().to_string();
    let noisy: &[&[&str]] = &[
        &["install", "--offline", "--flux-manifests", &m],
        &["scripts", "eject", "version"],
        &["scripts", "show", "nosuch"],
        &["status", "--kubeconfig", "/nonexistent"],
        &["nosuch"],
    ];
    for words in noisy {
        let name = words.join(" ");
        let normal = f.wego().args(*words).run();
        assert!(!normal.stderr.is_empty(), "`wego {name}` writes to stderr: {normal:?}");
        let _ = std::fs::remove_dir_all(f.env.config_dir().join("wego/scripts"));
        assert_quiet_exit(&name, normal.code, Closed::Stderr, with_closed(f.wego().args(*words), None, Closed::Stderr));
        let _ = std::fs::remove_dir_all(f.env.config_dir().join("wego/scripts"));
    }
}

#[test]
fn status_with_its_reader_gone_exits_quietly() {
    let Some(c) = cluster() else { return };
    let ns = c.namespace("cli-pipe");
    let f = Fixture::new();
    let wego = || f.wego().env("KUBECONFIG", c.kubeconfig.display().to_string()).args(["-n", &ns.name]);
    f.wego()
        .env("KUBECONFIG", c.kubeconfig.display().to_string())
        .args(["install", "--apply", "--wait=false", "--offline", "--flux-manifests", &f.manifest(), "-n", &ns.name])
        .run()
        .ok();
    for extra in [&["-o", "yaml"][..], &[][..]] {
        let name = format!("status {}", extra.join(" "));
        let normal = wego().arg("status").args(extra).run();
        let closed = with_closed(wego().arg("status").args(extra), None, Closed::Stdout);
        assert_quiet_exit(&name, normal.code, Closed::Stdout, closed);
        let closed = with_closed(wego().arg("status").args(extra), None, Closed::Stderr);
        assert_quiet_exit(&name, normal.code, Closed::Stderr, closed);
    }
}

/// Split a YAML stream into documents and parse each (comments dropped).
fn yaml_docs(text: &str) -> Vec<Value> {
    let text = text.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n");
    text.split("\n---")
        .map(|d| d.trim_start_matches("---"))
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_saphyr::from_str::<Value>(d).unwrap_or_else(|e| panic!("stdout is not YAML: {e}\n{d}")))
        .collect()
}

#[test]
fn stdout_carries_only_data() {
    let f = Fixture::new();
    let out = f.wego().args(["install", "--offline", "--flux-manifests", &f.manifest()]).run().ok();
    let docs = yaml_docs(&out.stdout);
    assert!(docs.iter().all(|d| d["kind"].is_string()), "every document of `install` is an object");
    assert!(!out.stdout.contains('⚠') && !out.stdout.contains('✔'), "no notice on stdout");
    for words in [
        &["version", "--offline", "-o", "json"][..],
        &["scripts", "list", "-o", "json"],
        &["templates", "list", "-o", "json"],
        &["config", "view", "-o", "json"],
        &["config", "path", "-o", "json"],
        &["trust", "--list", "-o", "json"],
    ] {
        let out = f.wego().args(words).run().ok();
        serde_json::from_str::<Value>(&out.stdout)
            .unwrap_or_else(|e| panic!("`wego {}` stdout is not JSON: {e}\n{}", words.join(" "), out.stdout));
    }
    let out = f.wego().args(["config", "view", "-o", "yaml"]).run().ok();
    assert_eq!(yaml_docs(&out.stdout).len(), 1);
    // `eject` prints the file it wrote and nothing else; the notice is on stderr.
    let out = f.wego().args(["templates", "eject", "wego/app.yaml.j2"]).run().ok();
    let written = f.env.config_dir().join("wego/templates/wego/app.yaml.j2");
    assert_eq!(out.stdout, format!("{}\n", written.display()));
    assert!(out.stderr.contains("overrides the built-in template"), "{}", out.stderr);
}

#[test]
fn status_json_is_only_json() {
    let Some(c) = cluster() else { return };
    let ns = c.namespace("cli-streams");
    let f = Fixture::new();
    let out = f
        .wego()
        .env("KUBECONFIG", c.kubeconfig.display().to_string())
        .args(["status", "-o", "json", "-n", &ns.name])
        .run();
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    common::validate_status_json(&v);
}

/// Every key of `v`, at any depth, with its JSON path.
fn keys(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                out.push((path.to_string(), k.clone()));
                keys(child, &format!("{path}.{k}"), out);
            }
        }
        Value::Array(a) => a.iter().enumerate().for_each(|(i, child)| keys(child, &format!("{path}[{i}]"), out)),
        _ => {}
    }
}

/// Kubernetes' style: lowerCamelCase, letters and digits only.
fn assert_camel_case(command: &str, v: &Value) {
    let mut all = Vec::new();
    keys(v, "", &mut all);
    assert!(!all.is_empty(), "`wego {command}` printed no keys to check: {v}");
    let camel =
        |k: &str| k.starts_with(|c: char| c.is_ascii_lowercase()) && k.chars().all(|c| c.is_ascii_alphanumeric());
    let bad: Vec<String> = all.iter().filter(|(_, k)| !camel(k)).map(|(p, k)| format!("{p}.{k}")).collect();
    assert!(bad.is_empty(), "`wego {command} -o json` has keys not in camelCase: {bad:?}");
}

/// The command's `-o json` output, checked for camelCase keys and, where a schema exists, against it.
fn json_output(w: Wego, words: &[&str], code: i32, schema: Option<&str>) -> Value {
    let out = w.args(words).args(["-o", "json"]).run().expect_code(code);
    let v: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("`wego {}` stdout is not JSON: {e}\n{}", words.join(" "), out.stdout));
    assert_camel_case(&words.join(" "), &v);
    if let Some(schema) = schema {
        common::validate_json(schema, &v);
    }
    v
}

#[test]
fn every_json_output_has_camel_case_keys_and_follows_its_schema() {
    let f = Fixture::new();
    let repo = git_work_tree();
    write_files(
        repo.path(),
        &[
            (".wego/config.yaml", &format!("{CFG}flux:\n  namespace: from-repo\n")),
            (".wego/scripts/hello.rhai", "print(1);\n"),
        ],
    );
    f.wego().args(["trust"]).arg(repo.path().display().to_string()).run().ok();
    let w = || f.wego().cwd(repo.path());
    json_output(w(), &["version", "--offline"], 0, Some("version.schema.json"));
    let v = json_output(
        w().env("WEGO_LOG_LEVEL", "debug"),
        &["config", "view", "--kubeconfig", "/nonexistent"],
        0,
        Some("config-view.schema.json"),
    );
    assert_eq!(v["flux"]["namespace"], "from-repo", "the effective config is the object itself");
    json_output(w(), &["config", "path"], 0, None);
    json_output(w(), &["scripts", "list"], 0, None);
    json_output(w(), &["templates", "list"], 0, None);
    let v = json_output(w(), &["trust", "--list"], 0, None);
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");

    let Some(c) = cluster() else { return };
    let ns = c.namespace("cli-keys");
    let kc = c.kubeconfig.display().to_string();
    let m = f.manifest();
    let k = || f.wego().env("KUBECONFIG", &kc);
    // No runtime in this namespace: status fails, and says so in JSON.
    json_output(k(), &["status", "-n", &ns.name], 1, Some("status.schema.json"));
    json_output(k(), &["list", "-n", &ns.name], 0, Some("list.schema.json"));
    json_output(k(), &["install", "--dry-run", "--offline", "--flux-manifests", &m, "-n", &ns.name], 0, None);
    let v = json_output(k(), &["config", "view", "-n", &ns.name], 0, Some("config-view.schema.json"));
    let cluster_layer = v["status"]["layers"].as_array().unwrap().iter().find(|l| l["layer"] == "cluster").unwrap();
    assert_eq!(cluster_layer["state"], "notFound", "{cluster_layer}");
}

fn list_entry(w: Wego, kind: &str, name: &str) -> Value {
    list_entry_with(w, kind, name, &[])
}

fn list_entry_with(w: Wego, kind: &str, name: &str, extra: &[&str]) -> Value {
    let out = w.args([kind, "list", "-o", "json"]).args(extra).run().ok();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    v.as_array().unwrap().iter().find(|e| e["name"] == name).cloned().unwrap()
}

#[test]
fn eject_outside_a_work_tree_writes_the_user_layer_and_takes_effect() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let out = env.wego().args(["scripts", "eject", "version"]).cwd(dir.path()).run().ok();
    let file = env.config_dir().join("wego/scripts/version.rhai");
    assert_eq!(out.stdout.trim_end(), file.display().to_string());
    assert!(!dir.path().join(".wego").exists(), "nothing where it would never be read");
    let entry = list_entry(env.wego().cwd(dir.path()), "scripts", "version");
    assert_eq!((entry["layer"].as_str(), entry["path"].as_str()), (Some("user"), Some(&*file.display().to_string())));
    std::fs::write(&file, "print(\"from the ejected copy\");\n").unwrap();
    let out = env.wego().arg("version").cwd(dir.path()).run().ok();
    assert_eq!(out.stdout, "from the ejected copy\n");
    insta::assert_snapshot!(
        "eject_user_layer",
        redact(
            &format!("{}{}", out.stderr, eject_message(&env, dir.path(), &["scripts", "eject", "wego/apps"])),
            env.home.path(),
            "$HOME"
        )
    );

    // Again: refused, with the way to overwrite it.
    let out = env.wego().args(["scripts", "eject", "version"]).cwd(dir.path()).run().expect_code(1);
    assert!(out.stderr.contains("already exists") && out.stderr.contains("--force"), "{}", out.stderr);
    env.wego().args(["scripts", "eject", "version", "--force"]).cwd(dir.path()).run().ok();
    assert!(std::fs::read_to_string(&file).unwrap().contains("wego::info"), "the built-in text is back");
}

fn eject_message(env: &Env, cwd: &Path, words: &[&str]) -> String {
    env.wego().args(words).cwd(cwd).run().ok().stderr
}

#[test]
fn eject_inside_a_work_tree_writes_its_wego_dir() {
    let env = Env::new();
    let repo = git_work_tree();
    let out = env.wego().args(["scripts", "eject", "status"]).cwd(repo.path()).run().ok();
    let file = repo.path().join(".wego/scripts/status.rhai");
    assert!(file.is_file());
    assert_eq!(PathBuf::from(out.stdout.trim_end()), file);
    assert!(out.stderr.contains("wego trust"), "a repo's script runs once trusted: {}", out.stderr);
    let entry = list_entry(env.wego().cwd(repo.path()), "scripts", "status");
    assert_eq!(entry["layer"], "repo (untrusted)");
    env.wego().arg("trust").cwd(repo.path()).run().ok();
    assert_eq!(list_entry(env.wego().cwd(repo.path()), "scripts", "status")["layer"], "repo");

    // Templates are data: no trust needed.
    let out = env.wego().args(["templates", "eject", "git/pr-title.j2"]).cwd(repo.path()).run().ok();
    assert!(repo.path().join(".wego/templates/git/pr-title.j2").is_file());
    assert!(!out.stderr.contains("trust"), "{}", out.stderr);
    assert_eq!(list_entry(env.wego().cwd(repo.path()), "templates", "git/pr-title.j2")["layer"], "repo");

    // --scripts-dir wins over both.
    let sd = tempfile::tempdir().unwrap();
    let sd_arg = sd.path().display().to_string();
    env.wego().args(["scripts", "eject", "add", "--scripts-dir", &sd_arg]).cwd(repo.path()).run().ok();
    assert!(sd.path().join("scripts/add.rhai").is_file());
    let entry = list_entry_with(env.wego().cwd(repo.path()), "scripts", "add", &["--scripts-dir", &sd_arg]);
    assert_eq!(entry["layer"], "scripts-dir");
}

#[test]
fn help_shows_examples_tokens_and_only_the_flags_that_apply() {
    let env = Env::new();
    let add = env.wego().args(["add", "--help"]).run().ok().stdout;
    for v in ["GITHUB_TOKEN", "GITLAB_TOKEN", "WEGO_GIT_TOKEN", "Examples:"] {
        assert!(add.contains(v), "add --help names {v}:\n{add}");
    }
    let view = env.wego().args(["config", "view", "--help"]).run().ok().stdout;
    for flag in ["--set", "--scripts-dir", "--allow-exec"] {
        assert!(!view.contains(flag), "config view offers {flag}:\n{view}");
    }
    let out = env.wego().args(["config", "view", "--allow-exec"]).run().expect_code(2);
    assert!(out.stderr.contains("unexpected argument '--allow-exec'"), "{}", out.stderr);
    let version = env.wego().args(["version", "--help"]).run().ok().stdout;
    assert!(version.contains("--allow-exec") && version.contains("--scripts-dir"), "{version}");
    let top = env.wego().arg("--help").run().ok().stdout;
    assert!(top.contains("--timeout <DURATION>") && top.contains("--wego-log-level"), "{top}");
    assert!(top.contains("Not the controllers' log level"), "{top}");
    let install = env.wego().args(["install", "--help"]).run().ok().stdout;
    assert!(install.contains("--log-level <LEVEL>") && install.contains("flux.logLevel"), "{install}");
}

#[test]
fn the_controllers_log_level_and_wegos_are_different_flags() {
    let f = Fixture::new();
    let install = |extra: &[&str]| {
        let out = f.wego().args(["install", "--offline", "--flux-manifests", &f.manifest()]).args(extra).run().ok();
        yaml_docs(&out.stdout)
            .into_iter()
            .filter(|d| d["kind"] == "Deployment")
            .map(|d| d["spec"]["template"]["spec"]["containers"][0]["args"].clone())
            .collect::<Vec<_>>()
    };
    for args in install(&["--log-level", "debug"]) {
        assert!(args.as_array().unwrap().contains(&Value::from("--log-level=debug")), "{args}");
    }
    // wego's own level never reaches the controllers.
    for args in install(&["--wego-log-level", "debug"]) {
        assert!(args.as_array().unwrap().contains(&Value::from("--log-level=info")), "{args}");
    }
    let out = f.wego().args(["config", "view", "-o", "json", "--wego-log-level", "error"]).run().ok();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!((v["logLevel"].as_str(), v["flux"]["logLevel"].as_str()), (Some("error"), Some("info")));
    // A level the controllers do not take, from the config: one clear error.
    let cfg = f.env.config_dir();
    write_files(
        &cfg,
        &[("wego/config.yaml", "apiVersion: wego.weave.works/v1alpha1\nkind: Config\nflux:\n  logLevel: warn\n")],
    );
    let out = f.wego().args(["install", "--offline", "--flux-manifests", &f.manifest()]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("unknown controller log level 'warn'"), "{}", out.stderr);
}

#[test]
fn no_color_reaches_clap_errors() {
    let env = Env::new();
    // CLICOLOR_FORCE makes clap colour its output although it is not a terminal here.
    let coloured = env.wego().env("CLICOLOR_FORCE", "1").env_remove("NO_COLOR").arg("nosuch").run().expect_code(2);
    assert!(coloured.stderr.contains('\x1b'), "clap colours when forced: {:?}", coloured.stderr);
    let plain = env
        .wego()
        .env("CLICOLOR_FORCE", "1")
        .env_remove("NO_COLOR")
        .args(["--no-color", "nosuch"])
        .run()
        .expect_code(2);
    assert!(!plain.stderr.contains('\x1b'), "{:?}", plain.stderr);
    let plain = env.wego().env("CLICOLOR_FORCE", "1").args(["nosuch"]).run().expect_code(2);
    assert!(!plain.stderr.contains('\x1b'), "NO_COLOR: {:?}", plain.stderr);
}

#[test]
fn config_view_shows_every_layer_and_survives_an_invalid_one() {
    let env = Env::new();
    let repo = git_work_tree();
    write_config(&env, "flux:\n  namspace: typo\n  version: 2.0.0\n");
    write_files(repo.path(), &[(".wego/config.yaml", &format!("{CFG}flux:\n  namespace: from-repo\n"))]);
    let out = env
        .wego()
        .args(["config", "view", "--kubeconfig", "/nonexistent"])
        .env("WEGO_FEATURES", "x")
        .cwd(repo.path())
        .run()
        .expect_code(1);
    let user = env.config_dir().join("wego/config.yaml").display().to_string();
    let line = |start: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("{start}: {}", out.stdout))
            .to_string()
    };
    assert!(line("built-in ").contains("defaults/config.yaml"));
    assert!(line("user ").contains(&user) && line("user ").contains("invalid"), "{}", out.stdout);
    assert!(line("repo ").contains("loaded"), "{}", out.stdout);
    assert!(line("env ").contains("WEGO_FEATURES"), "{}", out.stdout);
    assert!(line("flags ").contains("none set"), "{}", out.stdout);
    assert!(line("cluster ").contains("not searched"), "{}", out.stdout);
    assert!(line("flux.namespace ").contains("repo file"), "the valid layers still apply");
    assert!(line("flux.version ").ends_with("built-in"), "the invalid layer is left out");
    // The parser's excerpt keeps its lines.
    insta::assert_snapshot!("config_view_invalid_layer", redact(&out.stderr, env.home.path(), "$HOME"));

    let out = env.wego().args(["config", "path", "-o", "json"]).cwd(repo.path()).run().ok();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v[0]["layer"], "user");
    assert_eq!(v[0]["path"], user);
    assert_eq!(v[0]["state"], "invalid");
    assert_eq!(v[1]["path"], repo.path().join(".wego/config.yaml").display().to_string());
    assert_eq!(v[1]["state"], "loaded");
}

#[test]
fn config_view_shows_the_clusters_settings() {
    let Some(c) = cluster() else { return };
    let ns = c.namespace("cli-config");
    let cm = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: wego-config\n  namespace: {}\ndata:\n  config.yaml: |\n    apiVersion: wego.weave.works/v1alpha1\n    kind: Config\n    flux:\n      namespace: {}\n      version: 2.0.0\n",
        ns.name, ns.name
    );
    c.kubectl_stdin(["apply", "-f", "-"], Some(&cm)).ok();
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let out = env
        .wego()
        .env("KUBECONFIG", c.kubeconfig.display().to_string())
        .args(["config", "view", "-n", &ns.name])
        .cwd(dir.path())
        .run()
        .ok();
    let cluster_row = out.stdout.lines().find(|l| l.starts_with("cluster ")).unwrap();
    assert!(
        cluster_row.contains(&format!("ConfigMap {}/wego-config", ns.name)) && cluster_row.contains("loaded"),
        "{}",
        out.stdout
    );
    let after = out.stdout.split("In the cluster").nth(1).unwrap_or_else(|| panic!("{}", out.stdout));
    let version = after.lines().find(|l| l.starts_with("flux.version ")).unwrap();
    assert!(version.contains("\"2.0.0\"") && version.contains("differs"), "{version}");
    let namespace = after.lines().find(|l| l.starts_with("flux.namespace ")).unwrap();
    assert!(!namespace.contains("differs"), "{namespace}");

    // A namespace without it says so.
    let empty = c.namespace("cli-config-none");
    let out = env
        .wego()
        .env("KUBECONFIG", c.kubeconfig.display().to_string())
        .args(["config", "view", "-n", &empty.name])
        .cwd(dir.path())
        .run()
        .ok();
    assert!(out.stdout.lines().any(|l| l.starts_with("cluster ") && l.contains("not found")), "{}", out.stdout);
}

#[test]
fn completion_offers_contexts_namespaces_and_file_names() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    // An unreachable server: completion must not need it.
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:9'}\nusers:\n- name: u\n  user: {}\ncontexts:\n- name: prod-eu\n  context: {cluster: c, user: u, namespace: team-a}\n- name: staging\n  context: {cluster: c, user: u}\ncurrent-context: staging\n",
    )
    .unwrap();
    let started = std::time::Instant::now();
    assert_eq!(
        common::bash_complete(&env, dir.path(), &kubeconfig, &["wego", "status", "--context", ""]),
        ["prod-eu", "staging"]
    );
    assert_eq!(
        common::bash_complete(&env, dir.path(), &kubeconfig, &["wego", "status", "--context", "pr"]),
        ["prod-eu"]
    );
    assert_eq!(common::bash_complete(&env, dir.path(), &kubeconfig, &["wego", "-n", ""]), ["flux-system", "team-a"]);
    assert_eq!(common::bash_complete(&env, dir.path(), &kubeconfig, &["wego", "scripts", "show", "sta"]), ["status"]);
    let stdlib = common::bash_complete(&env, dir.path(), &kubeconfig, &["wego", "scripts", "eject", "wego/na"]);
    assert_eq!(stdlib, ["wego/naming"]);
    let templates = common::bash_complete(&env, dir.path(), &kubeconfig, &["wego", "templates", "show", "wego/app"]);
    assert_eq!(templates, ["wego/app-crd.yaml.j2", "wego/app.yaml.j2"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "completion stays fast");

    // In a wego repo's work tree, `status` offers its apps.
    let repo = git_work_tree();
    write_files(
        repo.path(),
        &[(".wego/apps/podinfo/app.yaml", "kind: App\n"), (".wego/apps/redis/app.yaml", "kind: App\n")],
    );
    std::fs::create_dir_all(repo.path().join(".wego/apps/not-an-app")).unwrap();
    let values = |cwd: &Path| -> Vec<String> {
        let all = common::bash_complete(&env, cwd, &kubeconfig, &["wego", "status", ""]);
        all.into_iter().filter(|c| !c.starts_with('-')).collect()
    };
    assert_eq!(values(repo.path()), ["podinfo", "redis"]);
    assert!(values(dir.path()).is_empty(), "no repo, no names");

    // A user's own script is offered too.
    write_files(&env.config_dir(), &[("wego/scripts/stamp.rhai", "print(1);\n")]);
    assert_eq!(
        common::bash_complete(&env, dir.path(), &kubeconfig, &["wego", "scripts", "show", "st"]),
        ["stamp", "status"]
    );
}

#[test]
fn config_view_json_says_where_each_value_comes_from() {
    let env = Env::new();
    let repo = git_work_tree();
    write_config(&env, "flux:\n  namspace: typo\n");
    write_files(repo.path(), &[(".wego/config.yaml", &format!("{CFG}flux:\n  namespace: from-repo\n"))]);
    for format in ["json", "yaml"] {
        let out = env
            .wego()
            .args(["config", "view", "-o", format, "--kubeconfig", "/nonexistent", "--wego-log-level", "warn"])
            .env("WEGO_TELEMETRY", "maybe")
            .env("WEGO_FEATURES", "x")
            .cwd(repo.path())
            .run()
            .expect_code(1);
        let v: Value = if format == "json" {
            serde_json::from_str(&out.stdout).unwrap()
        } else {
            yaml_docs(&out.stdout).pop().unwrap()
        };
        common::validate_json("config-view.schema.json", &v);
        let origin = |key: &str| {
            let values = v["status"]["values"].as_array().unwrap();
            values.iter().find(|e| e["key"] == key).unwrap_or_else(|| panic!("{key}: {v:#}"))["origin"].clone()
        };
        let repo_file = repo.path().join(".wego/config.yaml").display().to_string();
        assert_eq!(origin("flux.namespace"), serde_json::json!({"layer": "repo", "source": repo_file}));
        assert_eq!(origin("features"), serde_json::json!({"layer": "env", "source": "WEGO_FEATURES"}));
        assert_eq!(origin("logLevel"), serde_json::json!({"layer": "flag", "source": "--wego-log-level"}));
        assert_eq!(origin("flux.version"), serde_json::json!({"layer": "default", "source": "defaults/config.yaml"}));
        let layers = v["status"]["layers"].as_array().unwrap();
        let names: Vec<&str> = layers.iter().map(|l| l["layer"].as_str().unwrap()).collect();
        assert_eq!(names, ["default", "user", "repo", "env", "flag", "cluster"]);
        let user = &layers[1];
        assert_eq!(user["source"], env.config_dir().join("wego/config.yaml").display().to_string());
        assert_eq!(user["state"], "invalid");
        assert!(user["error"].as_str().unwrap().contains("unknown field `namspace`"), "{user}");
        assert_eq!(layers[2]["state"], "loaded");
        assert_eq!(layers[3]["state"], "invalid", "WEGO_TELEMETRY=maybe: {}", layers[3]);
        assert!(layers[3]["error"].as_str().unwrap().contains("WEGO_TELEMETRY"), "{}", layers[3]);
        assert!(layers[3]["sources"].as_array().unwrap().contains(&Value::from("WEGO_FEATURES")), "{}", layers[3]);
        assert_eq!(layers[4]["sources"], serde_json::json!(["--wego-log-level"]));
        assert_eq!(layers[5]["state"], "notSearched");
        assert!(layers[5]["error"].as_str().unwrap().contains("/nonexistent"), "{}", layers[5]);
    }
    // Outside a git work tree the repo layer is not searched, and says why.
    let dir = tempfile::tempdir().unwrap();
    let out = env.wego().args(["config", "view", "-o", "json"]).cwd(dir.path()).run().expect_code(1);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let repo_layer = &v["status"]["layers"][2];
    assert_eq!(
        (repo_layer["state"].as_str(), repo_layer["source"].is_null()),
        (Some("notSearched"), true),
        "{repo_layer}"
    );
}

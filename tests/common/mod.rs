//! The integration-test harness: run the real `wego` binary in an isolated home.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub mod cluster;
pub mod crds;
pub mod http_server;
pub mod servers;
pub mod term;
pub mod world;

/// An isolated user: its own HOME, config and cache dirs, no inherited wego/kube settings.
pub struct Env {
    pub home: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Self {
        Env { home: tempfile::tempdir().expect("temp home") }
    }
    pub fn config_dir(&self) -> PathBuf {
        self.home.path().join(".config")
    }
    pub fn cache_dir(&self) -> PathBuf {
        self.home.path().join(".cache")
    }
    pub fn wego(&self) -> Wego {
        Wego::new(self)
    }
}

/// A `wego` invocation under construction.
pub struct Wego {
    args: Vec<String>,
    env: HashMap<String, String>,
    cwd: Option<PathBuf>,
    stdin: Option<String>,
}

#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Panic with everything wego printed unless it exited with `code`.
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(self.code, code, "exit code\n--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr);
        self
    }
    pub fn ok(self) -> Self {
        self.expect_code(0)
    }
}

impl Wego {
    fn new(env: &Env) -> Self {
        let mut e = HashMap::new();
        let home = env.home.path();
        e.insert("HOME".into(), home.display().to_string());
        e.insert("XDG_CONFIG_HOME".into(), env.config_dir().display().to_string());
        e.insert("XDG_CACHE_HOME".into(), env.cache_dir().display().to_string());
        e.insert("XDG_STATE_HOME".into(), home.join(".local/state").display().to_string());
        e.insert("NO_COLOR".into(), "1".into());
        // No test talks to the real checkpoint service.
        e.insert("WEGO_CHECKPOINT_URL".into(), "http://127.0.0.1:9".into());
        Wego { args: vec![], env: e, cwd: None, stdin: None }
    }

    pub fn arg(mut self, a: impl AsRef<str>) -> Self {
        self.args.push(a.as_ref().to_string());
        self
    }
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, a: I) -> Self {
        self.args.extend(a.into_iter().map(|s| s.as_ref().to_string()));
        self
    }
    pub fn env(mut self, k: &str, v: impl AsRef<str>) -> Self {
        self.env.insert(k.into(), v.as_ref().to_string());
        self
    }
    pub fn env_remove(mut self, k: &str) -> Self {
        self.env.remove(k);
        self
    }
    pub fn cwd(mut self, p: &Path) -> Self {
        self.cwd = Some(p.to_path_buf());
        self
    }
    pub fn stdin(mut self, s: impl Into<String>) -> Self {
        self.stdin = Some(s.into());
        self
    }

    /// The process to spawn, without its standard streams set (for tests that wire them up
    /// themselves; `run` is the usual way).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wego"));
        cmd.args(&self.args);
        for (k, _) in std::env::vars() {
            // Nor the developer's tokens or ssh-agent: tests give wego exactly the credentials they mean.
            let secret = matches!(k.as_str(), "GITHUB_TOKEN" | "GITLAB_TOKEN" | "SSH_AUTH_SOCK" | "GIT_SSH_COMMAND");
            // Except the Rhai coverage directory (tests/coverage.sh): every wego run adds to it.
            let wego = k.starts_with("WEGO_") && k != "WEGO_RHAI_COVERAGE";
            if wego || k == "CHECKPOINT_DISABLE" || k == "NO_COLOR" || k.starts_with("XDG_") || secret {
                cmd.env_remove(k);
            }
        }
        cmd.envs(&self.env);
        if let Some(c) = &self.cwd {
            cmd.current_dir(c);
        }
        cmd
    }

    pub fn run(self) -> Out {
        let mut cmd = self.command();
        cmd.stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn wego");
        if let Some(s) = self.stdin {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
        }
        let o = child.wait_with_output().expect("wait wego");
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into(),
            stderr: String::from_utf8_lossy(&o.stderr).into(),
        }
    }
}

/// Write the user's wego config (`$XDG_CONFIG_HOME/wego/config.yaml`) with `body` after the header.
pub fn write_config(env: &Env, body: &str) {
    let text = format!("apiVersion: wego.weave.works/v1alpha1\nkind: Config\n{body}");
    write_files(&env.config_dir(), &[("wego/config.yaml", &text)]);
}

/// Write `script` into `dir` under a fresh name and return a `wego run` of it (cwd `dir`).
pub fn script(env: &Env, dir: &Path, script: &str) -> Wego {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!("script-{}.rhai", N.fetch_add(1, Ordering::SeqCst));
    std::fs::write(dir.join(&name), script).unwrap();
    env.wego().arg("run").arg(name).cwd(dir)
}

/// Write `files` (relative path, contents) under `dir`.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (p, body) in files {
        let path = dir.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
}

/// A directory that is a git work tree (so its `.wego/` is the repo layer).
pub fn git_work_tree() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join(".git")).unwrap();
    d
}

/// Replace a temp path in output with a stable marker, for snapshots.
pub fn redact(s: &str, dir: &Path, marker: &str) -> String {
    let real = dir.canonicalize().unwrap_or(dir.to_path_buf());
    s.replace(&real.display().to_string(), marker).replace(&dir.display().to_string(), marker)
}

/// Flux's release manifest for tests: the shared reference data beside the checkout, or a
/// small fixture of the same shape when it is not there.
pub fn flux_manifest(all_controllers: bool) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/flux/v2.9.4");
    let file = if all_controllers { "install-all.yaml" } else { "install.yaml" };
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|_| {
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/flux-install.yaml")).unwrap()
    })
}

/// A local mirror of Flux's release downloads: `<url>/v2.9.4/install.yaml`.
pub fn flux_mirror(all_controllers: bool) -> http_server::HttpServer {
    http_server::HttpServer::start(
        vec![("/v2.9.4/install.yaml".into(), flux_manifest(all_controllers))],
        std::time::Duration::ZERO,
    )
}

/// Lowercase and '-' only, as a cluster name would be made DNS-safe by a user.
pub fn dns(s: &str) -> String {
    s.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}

/// Check `wego status -o json` output against docs/status.schema.json.
pub fn validate_status_json(v: &serde_json::Value) {
    validate_json("status.schema.json", v);
}

/// Check `v` against docs/`schema`.
pub fn validate_json(schema: &str, v: &serde_json::Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join(schema);
    let schema_json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema_json).unwrap();
    let errors: Vec<String> = validator.iter_errors(v).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "JSON violates docs/{schema}: {errors:?}\n{v:#}");
}

/// What bash would offer after `words` (the last one being completed), through the script
/// `wego completion bash` prints.
pub fn bash_complete(env: &Env, cwd: &Path, kubeconfig: &Path, words: &[&str]) -> Vec<String> {
    let bin = Path::new(env!("CARGO_BIN_EXE_wego")).parent().unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        "source <(wego completion bash)\nCOMP_WORDS=({})\nCOMP_CWORD={}\n_clap_complete_wego wego '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
        quoted.join(" "),
        words.len() - 1,
        words.last().unwrap(),
        words.get(words.len().saturating_sub(2)).unwrap_or(&"wego"),
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(cwd)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", env.home.path())
        .env("XDG_CONFIG_HOME", env.config_dir())
        .env("KUBECONFIG", kubeconfig)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.is_empty()).map(String::from).collect()
}

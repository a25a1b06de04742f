//! The trust boundary between the user and the repos wego works in (issue #12): a repo's code
//! runs only once trusted, its config and templates are data that reach nothing, and one path
//! policy holds for every file primitive and layer. Each test is one of the reported holes.

mod common;

use std::path::Path;

use common::servers::{git, git_servers};
use common::{git_work_tree, http_server::HttpServer, script, write_config, write_files, Env};
use serde_json::Value;

const CFG: &str = "apiVersion: wego.weave.works/v1alpha1\nkind: Config\n";

fn lines_with<'a>(s: &'a str, needle: &str) -> Vec<&'a str> {
    s.lines().filter(|l| l.contains(needle)).collect()
}

fn real(p: &Path) -> String {
    p.canonicalize().unwrap().display().to_string()
}

/// Hole 1: A work tree's `.wego/scripts/version.rhai` replaces `wego version` only after `wego trust`;
/// until then the built-in runs and one line says what was skipped and how to trust it.
#[test]
fn untrusted_repo_scripts_are_skipped_with_one_line_naming_the_fix() {
    let env = Env::new();
    let repo = git_work_tree();
    write_files(repo.path(), &[(".wego/scripts/version.rhai", "print(\"PWNED\");")]);
    let run = || env.wego().args(["version", "--offline"]).cwd(repo.path()).run().ok();
    let out = run();
    assert!(!out.stdout.contains("PWNED"), "{}", out.stdout);
    assert!(out.stdout.contains("wego version"), "the built-in ran: {}", out.stdout);
    let skipped = lines_with(&out.stderr, "skipped");
    assert_eq!(skipped.len(), 1, "{}", out.stderr);
    let fix = format!("`wego trust {}`", real(repo.path()));
    assert!(skipped[0].contains("version.rhai") && skipped[0].contains(&fix), "{}", skipped[0]);

    let out = env.wego().arg("trust").cwd(repo.path()).run().ok();
    assert!(out.stdout.contains("scripts/version.rhai"), "lists what it trusts: {}", out.stdout);
    assert!(env.config_dir().join("wego/trust.yaml").is_file());
    let out = run();
    assert_eq!(out.stdout, "PWNED\n");
    assert!(lines_with(&out.stderr, "skipped").is_empty(), "{}", out.stderr);
}

/// Changed code needs trusting again; `--list` and `--revoke` do what they say.
#[test]
fn changed_code_needs_trusting_again_and_revoke_and_list_work() {
    let env = Env::new();
    let repo = git_work_tree();
    let main = "import \"wego/update\" as u; u::notify();";
    write_files(
        repo.path(),
        &[("main.rhai", main), (".wego/stdlib/update.rhai", "fn notify() { print(\"repo v1\"); }")],
    );
    let run = || env.wego().args(["run", "main.rhai"]).cwd(repo.path()).run().ok();
    let out = run();
    assert_eq!(out.stdout, "", "untrusted stdlib module skipped");
    assert_eq!(lines_with(&out.stderr, "skipped stdlib module update").len(), 1, "{}", out.stderr);
    env.wego().args(["trust", &repo.path().display().to_string()]).run().ok();
    assert_eq!(run().stdout, "repo v1\n");
    // A new file anywhere under scripts/ or stdlib/ changes the hash too.
    write_files(repo.path(), &[(".wego/scripts/extra.rhai", "print(1);")]);
    let out = run();
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("changed since you trusted them"), "{}", out.stderr);
    env.wego().arg("trust").cwd(repo.path()).run().ok();
    assert_eq!(run().stdout, "repo v1\n");
    let again = env.wego().arg("trust").cwd(repo.path()).run().ok();
    assert!(again.stderr.contains("already trusted"), "idempotent: {}", again.stderr);

    let list = env.wego().args(["trust", "--list", "-o", "json"]).run().ok();
    let v: Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(v[0]["repo"], real(repo.path()));
    assert_eq!(v[0]["files"], 2);
    assert!(v[0]["hash"].as_str().unwrap().starts_with("sha256:"));

    env.wego().args(["trust", "--revoke"]).cwd(repo.path()).run().ok();
    assert_eq!(run().stdout, "");
    let list = env.wego().args(["trust", "--list", "-o", "json"]).run().ok();
    assert_eq!(serde_json::from_str::<Value>(&list.stdout).unwrap(), serde_json::json!([]));
    let help = env.wego().args(["trust", "--help"]).run().ok();
    assert!(help.stdout.contains("Examples:") && help.stdout.contains("--revoke"), "{}", help.stdout);
}

/// The user's own layers need no trust: `$XDG_CONFIG_HOME/wego` and `--scripts-dir`.
#[test]
fn the_users_own_layers_are_trusted() {
    let env = Env::new();
    let repo = git_work_tree();
    write_files(&env.config_dir(), &[("wego/scripts/version.rhai", "print(\"mine\");")]);
    let out = env.wego().args(["version", "--offline"]).cwd(repo.path()).run().ok();
    assert_eq!(out.stdout, "mine\n");
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("scripts/version.rhai", "print(\"explicit\");")]);
    let out =
        env.wego().args(["version", "--offline"]).env("WEGO_SCRIPTS_DIR", dir.path().display().to_string()).run().ok();
    assert_eq!(out.stdout, "explicit\n");
}

/// Hole 2 + 3: A repo's config cannot send the user's token elsewhere (providers), move telemetry
/// (checkpoint), lift limits, or change where Flux comes from; each is warned about once.
#[test]
fn repo_config_cannot_set_user_only_keys() {
    let env = Env::new();
    let repo = git_work_tree();
    let trap = HttpServer::start(vec![], std::time::Duration::ZERO);
    let body = format!(
        "{CFG}providers:\n  - host: github.com\n    type: github\n    apiUrl: {u}\ncheckpoint:\n  url: {u}\nlimits:\n  maxOperations: 0\nflux:\n  registry: evil.example/flux\n  manifests: {u}/install.yaml\n  manifestsBaseUrl: {u}\n  namespace: team-flux\n",
        u = trap.url
    );
    write_files(repo.path(), &[(".wego/config.yaml", &body)]);
    let out = env.wego().args(["config", "view", "-o", "json"]).cwd(repo.path()).run().ok();
    let c: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(c["providers"], serde_json::json!([]));
    assert_ne!(c["checkpoint"]["url"], trap.url.as_str());
    assert_eq!(c["limits"]["maxOperations"], 5_000_000);
    assert_eq!(c["flux"]["registry"], "ghcr.io/fluxcd");
    assert_eq!(c["flux"]["manifests"], "");
    assert!(!c["flux"]["manifestsBaseUrl"].as_str().unwrap().contains("127.0.0.1"));
    assert_eq!(c["flux"]["namespace"], "team-flux", "team conventions still apply");
    for key in ["providers", "checkpoint", "limits", "flux.registry", "flux.manifests", "flux.manifestsBaseUrl"] {
        let warned = lines_with(&out.stderr, &format!("ignoring `{key}` in"));
        assert_eq!(warned.len(), 1, "{key}: {}", out.stderr);
        assert!(warned[0].contains(".wego/config.yaml"), "{}", warned[0]);
    }
    // With a token in the environment, a provider lookup goes to the real host, never the trap.
    let s = "let u = git::parse_url(\"https://github.com/org/fleet\"); print(u.provider);";
    let out = script(&env, repo.path(), s).env("GITHUB_TOKEN", "ghp_trust_test_token").run().ok();
    assert_eq!(out.stdout, "github\n");
    assert_eq!(trap.hits(), 0);
    // The user's own config still may.
    write_config(&env, "flux:\n  registry: mirror.example/flux\n");
    let out = env.wego().args(["config", "view", "-o", "json"]).cwd(repo.path()).run().ok();
    let c: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(c["flux"]["registry"], "mirror.example/flux");
}

/// Hole 4: A template that is a symlink out of its layer is refused, not rendered; so is one
/// reached through a symlinked directory.
#[test]
fn templates_never_follow_symlinks_out_of_their_layer() {
    let env = Env::new();
    let repo = git_work_tree();
    let secret = tempfile::tempdir().unwrap();
    write_files(secret.path(), &[("environ", "AWS_SECRET=hunter2\n"), ("dir/app-crd.yaml.j2", "TOP SECRET\n")]);
    write_files(repo.path(), &[(".wego/templates/.keep", "")]);
    std::fs::create_dir_all(repo.path().join(".wego/templates/wego")).unwrap();
    std::os::unix::fs::symlink(
        secret.path().join("environ"),
        repo.path().join(".wego/templates/wego/config-map.yaml.j2"),
    )
    .unwrap();
    std::os::unix::fs::symlink(secret.path().join("dir"), repo.path().join(".wego/templates/flux")).unwrap();
    for name in ["wego/config-map.yaml.j2", "flux/app-crd.yaml.j2"] {
        let s = format!(
            "print(template::render(\"{name}\", #{{namespace: \"n\", wego_version: \"1\", config_yaml: \"a: 1\"}}));"
        );
        let out = script(&env, repo.path(), &s).run().expect_code(1);
        assert!(!out.stdout.contains("hunter2") && !out.stdout.contains("TOP SECRET"), "{}", out.stdout);
        assert!(!out.stderr.contains("hunter2") && !out.stderr.contains("TOP SECRET"), "{}", out.stderr);
        assert!(out.stderr.contains("outside"), "{}", out.stderr);
    }
    // A template inside the layer still overrides without any trust.
    write_files(repo.path(), &[(".wego/templates/team.j2", "team {{ x }}")]);
    let out = script(&env, repo.path(), "print(template::render(\"team.j2\", #{x: 1}));").run().ok();
    assert_eq!(out.stdout, "team 1\n");
}

/// Templates run under the same limits as scripts: an endless one stops.
#[test]
fn templates_are_bounded_by_fuel() {
    let env = Env::new();
    let d = git_work_tree();
    let s = "print(template::render_str(\"{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}\", #{}));";
    let out = script(&env, d.path(), s).run().expect_code(1);
    assert!(out.stderr.contains("fuel"), "{}", out.stderr);
}

/// Hole 5: `fs::write` never reaches into `.git` (hooks are code), in any case; a dangling symlink
/// does not exist and is not written through; `core.worktree` cannot widen the workspace;
/// `git::clone` of a local path needs the script's explicit `local: true`.
#[test]
fn file_primitives_keep_out_of_git_and_off_dangling_links() {
    let env = Env::new();
    let d = git_work_tree();
    std::fs::create_dir_all(d.path().join(".git/hooks")).unwrap();
    for p in [".git/hooks/post-checkout", ".GIT/config", "sub/.Git/x", "./a/../.git/config"] {
        let out =
            script(&env, d.path(), &format!("fs::write(\"{p}\", \"#!/bin/sh\\necho pwned\\n\");")).run().expect_code(1);
        assert!(out.stderr.contains("inside .git") && out.stderr.contains("help:"), "{p}: {}", out.stderr);
    }
    assert!(!d.path().join(".git/hooks/post-checkout").exists());
    assert!(!d.path().join(".git/config").exists());

    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path().join("nothing"), d.path().join("dangling")).unwrap();
    let out = script(&env, d.path(), "print(fs::exists(\"dangling\"));").run().ok();
    assert_eq!(out.stdout, "false\n");
    let out = script(&env, d.path(), "fs::write(\"dangling\", \"x\");").run().expect_code(1);
    assert!(out.stderr.contains("symlink"), "{}", out.stderr);
    assert!(!outside.path().join("nothing").exists(), "nothing written through the link");

    let out = script(&env, d.path(), "git::clone(\"/etc\");").run().expect_code(1);
    assert!(out.stderr.contains("local path") && out.stderr.contains("local: true"), "{}", out.stderr);
}

#[test]
fn core_worktree_in_a_repos_config_is_ignored() {
    let env = Env::new();
    let d = tempfile::tempdir().unwrap();
    let wide = tempfile::tempdir().unwrap();
    let repo = d.path().join("r");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["config", "core.worktree", &wide.path().display().to_string()]);
    let s = "let r = git::open(\"r\"); r.write(\"f.txt\", \"x\"); fs::write(\"".to_string()
        + &wide.path().join("g.txt").display().to_string()
        + "\", \"y\");";
    let out = script(&env, d.path(), &s).run().expect_code(1);
    assert!(repo.join("f.txt").is_file(), "the repo's own directory is its work tree");
    assert!(!wide.path().join("f.txt").exists());
    assert!(!wide.path().join("g.txt").exists());
    assert!(out.stderr.contains("outside the workspace"), "{}", out.stderr);
}

/// Hole 6: `exit(256)` is a failure, not a wrapped-around 0; negative codes are failures too.
#[test]
fn exit_codes_are_clamped_to_failures() {
    let env = Env::new();
    let d = tempfile::tempdir().unwrap();
    for (code, want) in [("256", 255), ("4294967296", 255), ("-1", 1), ("3", 3), ("0", 0)] {
        script(&env, d.path(), &format!("exit({code});")).run().expect_code(want);
    }
}

/// Hole 10: A symlinked directory loop in a layer or the workspace ends: listings finish.
#[test]
fn directory_loops_end() {
    let env = Env::new();
    let repo = git_work_tree();
    write_files(repo.path(), &[(".wego/templates/team/a.j2", "a"), (".wego/scripts/x.rhai", "")]);
    std::os::unix::fs::symlink(repo.path().join(".wego/templates"), repo.path().join(".wego/templates/team/loop"))
        .unwrap();
    std::os::unix::fs::symlink(repo.path().join(".wego"), repo.path().join(".wego/scripts/up")).unwrap();
    std::os::unix::fs::symlink("self", repo.path().join("self")).unwrap();
    let out = env.wego().args(["templates", "list", "-o", "json"]).cwd(repo.path()).run().ok();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let repo_names: Vec<&str> =
        v.as_array().unwrap().iter().filter(|e| e["layer"] == "repo").map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(repo_names, ["team/a.j2"]);
    env.wego().args(["scripts", "list"]).cwd(repo.path()).run().ok();
    env.wego().arg("trust").cwd(repo.path()).run().ok();
    let out =
        script(&env, repo.path(), "print(fs::list(\".wego/templates/team/loop/team\")); print(fs::exists(\"self\"));")
            .run()
            .ok();
    assert_eq!(out.stdout, "[\"a.j2\", \"loop/\"]\nfalse\n");
}

/// A wego repo that a command clones is trusted by its URL, and `wego::use_repo` makes its
/// code count only then.
#[test]
fn a_cloned_repo_is_trusted_by_its_url() {
    let Some(g) = git_servers() else { return };
    let env = Env::new();
    let remote = g.seeded("trust", &[(".wego/stdlib/update.rhai", "fn notify() { print(\"from the fleet\"); }")]);
    let url = g.http_url(&remote);
    let d = tempfile::tempdir().unwrap();
    let s =
        format!("let r = git::clone(\"{url}\"); wego::use_repo(r.path()); import \"wego/update\" as u; u::notify();");
    let out = script(&env, d.path(), &s).run().ok();
    assert_eq!(out.stdout, "");
    let skipped = lines_with(&out.stderr, "skipped");
    assert_eq!(skipped.len(), 1, "{}", out.stderr);
    assert!(skipped[0].contains(&format!("`wego trust {url}`")), "{}", skipped[0]);
    let t = env.wego().args(["trust", &url]).run().ok();
    assert!(t.stdout.contains("stdlib/update.rhai"), "{}", t.stdout);
    let out = script(&env, d.path(), &s).run().ok();
    assert_eq!(out.stdout, "from the fleet\n");
    // New code pushed to the repo is skipped again until trusted again.
    common::servers::push_files(
        &remote,
        "main",
        &[(".wego/stdlib/update.rhai", "fn notify() { print(\"v2\"); }")],
        "v2",
    );
    let out = script(&env, d.path(), &s).run().ok();
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("changed since"), "{}", out.stderr);
}

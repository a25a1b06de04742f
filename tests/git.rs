//! `git::` through the real binary against real git servers (tests/env/git-up.sh): clone and
//! push over http (with and without a token), git:// and ssh (key auth, host key checks),
//! concurrent pushes, and the repository handle's file operations.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::servers::{git, git_servers, push_files, ssh_server, AuthGitServer};
use common::{script, write_config, Env};
use serde_json::Value;

fn json(stdout: &str) -> Value {
    let line = stdout.lines().rev().find(|l| l.starts_with('{') || l.starts_with('[')).unwrap_or("null");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn rev(remote: &Path, what: &str) -> String {
    git(remote, &["rev-parse", what])
}

#[test]
fn parse_url_normalizes_the_usual_forms() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    write_config(
        &env,
        "providers:\n  - host: git.corp/gitlab\n    type: gitlab\n    apiUrl: https://git.corp/gitlab\n",
    );
    let s = "let out = #{}; for u in args { out[u] = git::parse_url(u); } print(json::to_compact(out));";
    let urls = [
        "git@github.com:org/repo.git",
        "ssh://git@github.com/org/repo",
        "https://github.com/org/repo",
        "https://gitlab.com/group/sub/project.git",
        "ssh://git@gitlab.com:2222/group/sub/project.git",
        "https://git.corp/gitlab/team/app.git",
    ];
    let out = script(&env, dir.path(), s).args(urls).run().ok();
    let v = json(&out.stdout);
    for u in &urls[..3] {
        assert_eq!(v[u]["provider"], "github", "{u}");
        assert_eq!((v[u]["owner"].as_str(), v[u]["repo"].as_str()), (Some("org"), Some("repo")), "{u}");
        assert_eq!(v[u]["https"], "https://github.com/org/repo.git");
        assert_eq!(v[u]["ssh"], "ssh://git@github.com/org/repo.git");
    }
    let gl = &v["ssh://git@gitlab.com:2222/group/sub/project.git"];
    assert_eq!(
        (gl["owner"].as_str(), gl["repo"].as_str(), gl["port"].as_i64()),
        (Some("group/sub"), Some("project"), Some(2222))
    );
    assert_eq!(gl["https"], "https://gitlab.com/group/sub/project.git");
    let corp = &v["https://git.corp/gitlab/team/app.git"];
    assert_eq!(
        (corp["provider"].as_str(), corp["owner"].as_str(), corp["prefix"].as_str()),
        (Some("gitlab"), Some("team"), Some("gitlab"))
    );

    let out = script(&env, dir.path(), "git::parse_url(args[0]);")
        .arg("https://me:hunter2secret@github.com/o/r")
        .run()
        .expect_code(1);
    assert!(
        out.stderr.contains("carries a password or token") && !out.stderr.contains("hunter2secret"),
        "{}",
        out.stderr
    );
}

const FLOW: &str = r#"
let repo = git::clone(args[0], #{ dir: "work" });
let out = #{};
out.default_branch = repo.default_branch();
out.head = repo.head();
out.readme = repo.read("README.md");
out.missing = repo.read("nope.txt");
out.wrote = repo.write("apps/new.yaml", "new: 1\n");
out.rewrote = repo.write("apps/new.yaml", "new: 1\n");
out.removed = repo.remove("apps/old.yaml");
out.removed_again = repo.remove("apps/old.yaml");
out.list = repo.list("apps");
out.root = repo.list();
out.none = repo.list("no/such/dir");
out.status = repo.status();
out.diff = repo.diff();
out.sha = repo.commit("Add new, drop old", #{ author_name: "Robo", author_email: "robo@example.com" });
out.nothing = repo.commit("nothing changed");
out.clean_diff = repo.diff();
out.push = repo.push();
out.feature = repo.checkout("feature");
out.feature_file = repo.read("feature.txt");
out.created = repo.checkout("wego/topic", #{ create: true });
repo.write("topic.txt", "t\n");
out.topic_sha = repo.commit("topic", #{ author: "Robo <robo@example.com>" });
out.push_topic = repo.push();
out.path = repo.path();
print(json::to_compact(out));
"#;

#[test]
fn clone_change_commit_and_push_over_http() {
    let Some(gs) = git_servers() else { return };
    let remote = gs.seeded("http-flow", &[("README.md", "hello\n"), ("apps/old.yaml", "old: 1\n")]);
    push_files(&remote, "feature", &[("feature.txt", "f\n")], "feature work");
    let main_before = rev(&remote.path, "main");
    let env = Env::new();
    let ws = tempfile::tempdir().unwrap();
    let out = script(&env, ws.path(), FLOW).arg(gs.http_url(&remote)).run().ok();
    let v = json(&out.stdout);
    assert_eq!(v["default_branch"], "main");
    assert_eq!(v["head"]["branch"], "main");
    assert_eq!(v["head"]["sha"], main_before.as_str());
    assert_eq!(v["readme"], "hello\n");
    assert!(v["missing"].is_null());
    assert_eq!((v["wrote"].as_bool(), v["rewrote"].as_bool()), (Some(true), Some(false)));
    assert_eq!((v["removed"].as_bool(), v["removed_again"].as_bool()), (Some(true), Some(false)));
    assert_eq!(v["list"], serde_json::json!(["new.yaml"]));
    assert_eq!(v["root"], serde_json::json!(["README.md", "apps/"]));
    assert_eq!(v["none"], serde_json::json!([]));
    assert_eq!(
        v["status"],
        serde_json::json!([{"path": "apps/new.yaml", "status": "added"}, {"path": "apps/old.yaml", "status": "deleted"}])
    );
    let diff = v["diff"].as_str().unwrap();
    assert!(
        diff.contains("diff --git a/apps/new.yaml b/apps/new.yaml")
            && diff.contains("+new: 1")
            && diff.contains("-old: 1"),
        "{diff}"
    );
    assert!(v["nothing"].is_null(), "an unchanged tree commits nothing");
    assert_eq!(v["clean_diff"], "");
    let sha = v["sha"].as_str().unwrap();
    assert_eq!(v["push"]["sha"], sha);
    assert_eq!(v["push"]["rewrites"], 0);

    // The remote has exactly that commit, by the given author, with the intended tree.
    assert_eq!(rev(&remote.path, "main"), sha);
    assert_eq!(rev(&remote.path, "main^"), main_before);
    assert_eq!(
        git(&remote.path, &["log", "-1", "--format=%an <%ae>|%s", "main"]),
        "Robo <robo@example.com>|Add new, drop old"
    );
    assert_eq!(git(&remote.path, &["ls-tree", "-r", "--name-only", "main"]), "README.md\napps/new.yaml");

    // Branches: an existing remote branch is fetched, a new one created and pushed.
    assert_eq!(v["feature"]["source"], "remote");
    assert_eq!(v["feature_file"], "f\n");
    assert_eq!(v["created"]["source"], "created");
    assert_eq!(rev(&remote.path, "wego/topic"), v["topic_sha"].as_str().unwrap());
    assert_eq!(rev(&remote.path, "wego/topic^"), rev(&remote.path, "feature"));

    // Shallow by default, the URL stored as given, and the work tree clean.
    let work = ws.path().join("work");
    assert!(work.join(".git/shallow").is_file(), "depth 1 by default");
    assert_eq!(git(&work, &["config", "remote.origin.url"]), gs.http_url(&remote));
    assert_eq!(git(&work, &["status", "--porcelain"]), "");
    assert_eq!(Path::new(v["path"].as_str().unwrap()), work.canonicalize().unwrap());

    // A later command opens the same checkout.
    let s = "let r = git::open(\"work\"); print(json::to_compact(#{ head: r.head(), base: r.default_branch(), url: r.url() }));";
    let v = json(&script(&env, ws.path(), s).run().ok().stdout);
    assert_eq!(v["head"]["branch"], "wego/topic");
    assert_eq!(v["base"], "main");
    assert_eq!(v["url"], gs.http_url(&remote));
}

#[test]
fn depth_zero_clones_the_full_history_and_temp_clones_go_away() {
    let Some(gs) = git_servers() else { return };
    let remote = gs.seeded("depth", &[("a.txt", "1\n")]);
    push_files(&remote, "main", &[("a.txt", "2\n")], "second");
    let env = Env::new();
    let ws = tempfile::tempdir().unwrap();
    let s = r#"
        let full = git::clone(args[0], #{ dir: "full", depth: 0 });
        let tmp = git::clone(args[0]);
        print(tmp.path());
    "#;
    let out = script(&env, ws.path(), s).arg(gs.http_url(&remote)).run().ok();
    let full = ws.path().join("full");
    assert_eq!(git(&full, &["rev-list", "--count", "HEAD"]), "2");
    assert!(!full.join(".git/shallow").exists());
    let tmp = out.stdout.trim();
    assert!(tmp.contains("wego-repo-"), "{tmp}");
    assert!(!Path::new(tmp).exists(), "a clone without `dir` is removed when the command ends");
}

#[test]
fn clone_and_push_over_git_daemon() {
    let Some(gs) = git_servers() else { return };
    let remote = gs.seeded("daemon", &[("README.md", "x\n")]);
    let env = Env::new();
    let ws = tempfile::tempdir().unwrap();
    let s = r#"
        let r = git::clone(args[0], #{ dir: "w" });
        r.write("via-daemon.txt", "d\n");
        r.commit("over git://");
        print(r.push().sha);
    "#;
    let out = script(&env, ws.path(), s).arg(gs.daemon_url(&remote)).run().ok();
    assert_eq!(rev(&remote.path, "main"), out.stdout.trim());
    assert_eq!(git(&remote.path, &["show", "main:via-daemon.txt"]), "d");
}

#[test]
fn ls_remote_lists_refs_and_where_head_points() {
    let Some(gs) = git_servers() else { return };
    let remote = gs.seeded("ls", &[("a", "a")]);
    push_files(&remote, "dev", &[("b", "b")], "dev");
    let env = Env::new();
    let ws = tempfile::tempdir().unwrap();
    let out = script(&env, ws.path(), "print(json::to_compact(git::ls_remote(args[0])));")
        .arg(gs.http_url(&remote))
        .run()
        .ok();
    let v = json(&out.stdout);
    assert_eq!(v["HEAD"], "refs/heads/main");
    assert_eq!(v["refs/heads/main"], rev(&remote.path, "main").as_str());
    assert_eq!(v["refs/heads/dev"], rev(&remote.path, "dev").as_str());
    let empty = gs.bare("ls-empty");
    let out = script(&env, ws.path(), "print(json::to_compact(git::ls_remote(args[0])));")
        .arg(gs.http_url(&empty))
        .run()
        .ok();
    assert_eq!(json(&out.stdout), serde_json::json!({}));
}

#[test]
fn an_empty_remote_gets_its_first_commit() {
    let Some(gs) = git_servers() else { return };
    let remote = gs.bare("empty");
    let env = Env::new();
    let ws = tempfile::tempdir().unwrap();
    let s = r#"
        let r = git::clone(args[0], #{ dir: "w" });
        let out = #{ head: r.head(), base: r.default_branch(), status: r.status() };
        r.write("first.txt", "1\n");
        out.sha = r.commit("first");
        out.push = r.push();
        print(json::to_compact(out));
    "#;
    let v = json(&script(&env, ws.path(), s).arg(gs.http_url(&remote)).run().ok().stdout);
    assert_eq!(v["head"]["branch"], "main");
    assert!(v["head"]["sha"].is_null());
    assert_eq!(v["base"], "main");
    assert_eq!(v["status"], serde_json::json!([]));
    assert_eq!(rev(&remote.path, "main"), v["sha"].as_str().unwrap());
}

#[test]
fn clone_errors_say_what_is_wrong() {
    let Some(gs) = git_servers() else { return };
    let remote = gs.seeded("errors", &[("a", "a")]);
    let env = Env::new();
    let ws = tempfile::tempdir().unwrap();
    let s = "git::clone(args[0], json::parse(args[1]));";
    let out = script(&env, ws.path(), s)
        .args([&gs.http_url(&remote), r#"{"branch": "nope", "dir": "w"}"#])
        .run()
        .expect_code(1);
    assert!(out.stderr.contains("branch `nope` does not exist"), "{}", out.stderr);
    assert!(!ws.path().join("w").exists(), "a failed clone leaves nothing behind");
    let out = script(&env, ws.path(), s).args(["http://127.0.0.1:1/x.git", "{}"]).run().expect_code(1);
    assert!(out.stderr.contains("cannot reach http://127.0.0.1:1/x.git"), "{}", out.stderr);
    let out = script(&env, ws.path(), s).args([&format!("{}/no-such-repo.git", gs.http), "{}"]).run().expect_code(1);
    assert!(out.stderr.contains("not found"), "{}", out.stderr);
    let out =
        script(&env, ws.path(), s).args([&gs.http_url(&remote), r#"{"dir": "/tmp/elsewhere"}"#]).run().expect_code(1);
    assert!(out.stderr.contains("outside the workspace"), "{}", out.stderr);
}

#[test]
fn file_paths_stay_inside_the_repository() {
    let Some(gs) = git_servers() else { return };
    let remote = gs.seeded("paths", &[("a", "a")]);
    let env = Env::new();
    let ws = tempfile::tempdir().unwrap();
    let s = r#"
        let r = git::clone(args[0], #{ dir: "w" });
        let out = [];
        for p in ["../escape.txt", "/etc/passwd", ".git/config", "a/../../x", "./.git/hooks/pre-commit"] {
            try { r.write(p, "x"); out.push("accepted " + p); } catch (e) { out.push(`${e}`); }
        }
        try { r.read("../../etc/passwd"); out.push("read outside"); } catch (e) { out.push(`${e}`); }
        try { r.remove(".git"); out.push("removed .git"); } catch (e) { out.push(`${e}`); }
        print(json::to_compact(out));
    "#;
    let v = json(&script(&env, ws.path(), s).arg(gs.http_url(&remote)).run().ok().stdout);
    for e in v.as_array().unwrap() {
        let e = e.as_str().unwrap();
        assert!(e.contains("outside the repository") || e.contains("inside .git"), "{e}");
    }
    assert!(!ws.path().join("escape.txt").exists());
}

#[test]
fn a_push_after_the_remote_moved_reapplies_wegos_commit() {
    let Some(gs) = git_servers() else { return };
    let remote = gs.seeded("moved", &[("README.md", "r\n")]);
    let env = Env::new();
    let ws = tempfile::tempdir().unwrap();
    // Two clones of the same branch: the second push finds the remote moved.
    let s = r#"
        let a = git::clone(args[0], #{ dir: "a" });
        let b = git::clone(args[0], #{ dir: "b" });
        a.write("a.txt", "A\n");
        let sa = a.commit("from a");
        let pa = a.push();
        b.write("b.txt", "B\n");
        let sb = b.commit("from b");
        let pb = b.push();
        print(json::to_compact(#{ sa: sa, pa: pa, sb: sb, pb: pb, b_files: b.list(), b_status: b.status() }));
    "#;
    let out = script(&env, ws.path(), s).arg(gs.http_url(&remote)).run().ok();
    let v = json(&out.stdout);
    assert_eq!(v["pa"]["rewrites"], 0);
    assert_eq!(v["pb"]["rewrites"], 1, "{}", out.stderr);
    let pushed = v["pb"]["sha"].as_str().unwrap();
    assert_ne!(pushed, v["sb"].as_str().unwrap(), "the commit was re-created on the new tip");
    assert_eq!(rev(&remote.path, "main"), pushed);
    assert_eq!(rev(&remote.path, "main^"), v["pa"]["sha"].as_str().unwrap(), "no merge, no rewrite of a's commit");
    assert_eq!(git(&remote.path, &["log", "-1", "--format=%s", "main"]), "from b");
    assert_eq!(git(&remote.path, &["ls-tree", "--name-only", "main"]), "README.md\na.txt\nb.txt");
    assert_eq!(v["b_files"], serde_json::json!(["README.md", "a.txt", "b.txt"]), "b's work tree follows");
    assert_eq!(v["b_status"], serde_json::json!([]));
    assert!(out.stderr.contains("re-applied"), "{}", out.stderr);

    // Both changed the same file: nothing is pushed, and the error says why.
    let s = r#"
        let a = git::clone(args[0], #{ dir: "c" });
        let b = git::clone(args[0], #{ dir: "d" });
        a.write("same.txt", "A\n");
        a.commit("a");
        print(a.push().sha);
        b.write("same.txt", "B\n");
        b.commit("b");
        b.push();
    "#;
    let out = script(&env, ws.path(), s).arg(gs.http_url(&remote)).run().expect_code(1);
    assert!(
        out.stderr.contains("changed files wego also changed (same.txt)") && out.stderr.contains("nothing was pushed"),
        "{}",
        out.stderr
    );
    assert_eq!(rev(&remote.path, "main"), out.stdout.trim());

    // `force` replaces the remote branch instead.
    let s = r#"
        let a = git::clone(args[0], #{ dir: "e" });
        let b = git::clone(args[0], #{ dir: "f" });
        a.write("same.txt", "A2\n");
        a.commit("a2");
        a.push();
        b.write("same.txt", "B2\n");
        let sb = b.commit("b2");
        let p = b.push(#{ force: true });
        print(json::to_compact(#{ sb: sb, p: p }));
    "#;
    let v = json(&script(&env, ws.path(), s).arg(gs.http_url(&remote)).run().ok().stdout);
    assert_eq!(v["p"]["sha"], v["sb"]);
    assert_eq!(v["p"]["rewrites"], 0);
    assert_eq!(rev(&remote.path, "main"), v["sb"].as_str().unwrap());
}

#[test]
fn concurrent_pushes_from_several_processes_all_land() {
    let Some(gs) = git_servers() else { return };
    let remote = gs.seeded("concurrent", &[("README.md", "r\n")]);
    let url = gs.http_url(&remote);
    let s = r#"
        let r = git::clone(args[0]);
        r.write(`file-${args[1]}.txt`, args[1]);
        r.commit(`add ${args[1]}`);
        print(r.push(#{ retries: 10 }));
    "#;
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let (url, s) = (url.clone(), s.to_string());
            std::thread::spawn(move || {
                let env = Env::new();
                let ws = tempfile::tempdir().unwrap();
                script(&env, ws.path(), &s).args([url, i.to_string()]).run()
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().ok();
    }
    let files = git(&remote.path, &["ls-tree", "--name-only", "main"]);
    assert_eq!(files, "README.md\nfile-0.txt\nfile-1.txt\nfile-2.txt\nfile-3.txt");
    assert_eq!(git(&remote.path, &["rev-list", "--count", "main"]), "5");
    assert_eq!(git(&remote.path, &["rev-list", "--merges", "main"]), "", "linear history");
}

#[test]
fn http_tokens_go_through_the_credential_callback() {
    let Some(gs) = git_servers() else { return };
    const TOKEN: &str = "tok-http-2b9d41c7e5";
    let Some(auth) = AuthGitServer::start(&gs.root, "x-access-token", TOKEN) else { return };
    let remote = gs.seeded("auth", &[("README.md", "r\n")]);
    let url = format!("{}/{}.git", auth.url, remote.name);
    let env = Env::new();
    let ws = tempfile::tempdir().unwrap();
    let s = r#"
        let r = git::clone(args[0], #{ dir: args[1] });
        r.write("auth.txt", args[1]);
        r.commit("with a token");
        print(r.push().sha);
    "#;
    let no_secret = |o: &common::Out| {
        assert!(!o.stdout.contains(TOKEN) && !o.stderr.contains(TOKEN), "token printed: {o:?}");
    };

    // Plain http: only with the user's opt-in for this host (see the tests below for refusals).
    let port = auth.url.rsplit(':').next().unwrap();
    write_config(&env, &format!("providers:\n  - host: 127.0.0.1:{port}\n    allowHttp: true\n"));
    let out = script(&env, ws.path(), s).args([&url, "w1"]).run().expect_code(1);
    assert!(out.stderr.contains("requires authentication and WEGO_GIT_TOKEN is not set"), "{}", out.stderr);
    assert!(out.stderr.contains("help: set WEGO_GIT_TOKEN"), "{}", out.stderr);

    let out = script(&env, ws.path(), s)
        .args([&url, "w2"])
        .env("WEGO_GIT_TOKEN", format!("{TOKEN}-wrong"))
        .run()
        .expect_code(1);
    assert!(out.stderr.contains("rejected the token from WEGO_GIT_TOKEN"), "{}", out.stderr);
    no_secret(&out);

    let out = script(&env, ws.path(), s).args([&url, "w3"]).env("WEGO_GIT_TOKEN", TOKEN).run().ok();
    no_secret(&out);
    assert_eq!(rev(&remote.path, "main"), out.stdout.trim());
    let config = std::fs::read_to_string(ws.path().join("w3/.git/config")).unwrap();
    assert!(!config.contains(TOKEN) && config.contains(&url), "{config}");

    // A host configured as GitHub takes GITHUB_TOKEN (user x-access-token), and says so when missing.
    write_config(
        &env,
        &format!("providers:\n  - host: 127.0.0.1:{port}\n    type: github\n    apiUrl: http://127.0.0.1:9\n    allowHttp: true\n"),
    );
    let out = script(&env, ws.path(), s).args([&url, "w4"]).run().expect_code(1);
    assert!(out.stderr.contains("GITHUB_TOKEN (or WEGO_GIT_TOKEN) is not set"), "{}", out.stderr);
    let out = script(&env, ws.path(), s).args([&url, "w5"]).env("GITHUB_TOKEN", TOKEN).run().ok();
    no_secret(&out);

    // A token in the URL is refused, without echoing it.
    let with_secret = url.replace("http://", &format!("http://x-access-token:{TOKEN}@"));
    let out = script(&env, ws.path(), s).args([&with_secret, "w6"]).run().expect_code(1);
    assert!(out.stderr.contains("carries a password or token"), "{}", out.stderr);
    no_secret(&out);
}

#[test]
fn ssh_with_a_key_file_and_known_hosts() {
    let Some(gs) = git_servers() else { return };
    let Some(ssh) = ssh_server() else { return };
    let remote = gs.seeded("ssh", &[("README.md", "r\n")]);
    let url = format!("{}/{}.git", ssh.base, remote.name);
    let env = Env::new();
    let ws = tempfile::tempdir().unwrap();
    let s = r#"
        let r = git::clone(args[0], json::parse(args[1]));
        r.write(`${args[2]}.txt`, "over ssh\n");
        r.commit("over ssh");
        print(r.push().sha);
    "#;
    let opts = |dir: &str, key: &Path, kh: Option<&Path>| {
        let mut o = serde_json::json!({ "dir": dir, "private_key": key });
        if let Some(kh) = kh {
            o["known_hosts"] = serde_json::json!(kh);
        }
        o.to_string()
    };
    let out = script(&env, ws.path(), s).args([&url, &opts("s1", &ssh.key, Some(&ssh.known_hosts)), "s1"]).run().ok();
    assert_eq!(rev(&remote.path, "main"), out.stdout.trim());
    // known_hosts from WEGO_KNOWN_HOSTS.
    let out = script(&env, ws.path(), s)
        .args([&url, &opts("s2", &ssh.key, None), "s2"])
        .env("WEGO_KNOWN_HOSTS", ssh.known_hosts.display().to_string())
        .run()
        .ok();
    assert_eq!(rev(&remote.path, "main"), out.stdout.trim());

    // The key from an ssh-agent (no `private_key`).
    if let Some(agent) = Agent::start(&ssh.key) {
        let o = serde_json::json!({ "dir": "s7", "known_hosts": ssh.known_hosts }).to_string();
        let out =
            script(&env, ws.path(), s).args([url.as_str(), &o, "s7"]).env("SSH_AUTH_SOCK", &agent.sock).run().ok();
        assert_eq!(rev(&remote.path, "main"), out.stdout.trim());
    }

    // An unknown host key is refused, with its fingerprint and how to add it.
    let empty = ws.path().join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let out = script(&env, ws.path(), s).args([&url, &opts("s3", &ssh.key, Some(&empty)), "s3"]).run().expect_code(1);
    assert!(out.stderr.contains("host key of [127.0.0.1]:") && out.stderr.contains("is unknown"), "{}", out.stderr);
    assert!(out.stderr.contains("SHA256:") && out.stderr.contains("ssh-keyscan -p"), "{}", out.stderr);
    assert!(!ws.path().join("s3").exists());
    // The default ~/.ssh/known_hosts of this (empty) home does not know it either.
    let out = script(&env, ws.path(), s).args([&url, &opts("s4", &ssh.key, None), "s4"]).run().expect_code(1);
    assert!(out.stderr.contains("is unknown") && out.stderr.contains(".ssh/known_hosts"), "{}", out.stderr);

    // A different key for the host: refused as a possible interception.
    let known = std::fs::read_to_string(&ssh.known_hosts).unwrap();
    let host = known.split_whitespace().next().unwrap();
    let other = common::servers::random_public_key("other");
    let wrong = ws.path().join("wrong_known_hosts");
    std::fs::write(&wrong, format!("{host} {}\n", other.rsplit_once(' ').unwrap().0)).unwrap();
    let out = script(&env, ws.path(), s).args([&url, &opts("s5", &ssh.key, Some(&wrong)), "s5"]).run().expect_code(1);
    assert!(out.stderr.contains("does not match"), "{}", out.stderr);

    // A key the server does not accept.
    let keyfile = ws.path().join("stranger");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&keyfile)
        .status()
        .is_ok_and(|s| s.success());
    if made {
        let out = script(&env, ws.path(), s)
            .args([&url, &opts("s6", &keyfile, Some(&ssh.known_hosts)), "s6"])
            .run()
            .expect_code(1);
        assert!(out.stderr.contains("ssh authentication as `") && out.stderr.contains("was refused"), "{}", out.stderr);
        assert!(out.stderr.contains("private_key"), "{}", out.stderr);
    }
}

/// A private ssh-agent holding one key; killed when dropped.
struct Agent {
    sock: String,
    pid: String,
    _dir: tempfile::TempDir,
}

impl Agent {
    fn start(key: &Path) -> Option<Agent> {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("agent.sock").display().to_string();
        let out = std::process::Command::new("ssh-agent").args(["-s", "-a", &sock]).output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let pid = text.split("SSH_AGENT_PID=").nth(1)?.split(';').next()?.to_string();
        let agent = Agent { sock, pid, _dir: dir };
        let added = std::process::Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &agent.sock)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        added.then_some(agent)
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").arg(&self.pid).status();
    }
}

/// An HTTP server that records every request head and gives each the same answer: what a git
/// host (or an attacker's host) sees of wego's requests.
struct Recorder {
    url: String,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    fn start(answer: String) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                seen.lock().unwrap().push(head);
                let _ = conn.write_all(answer.as_bytes());
            }
        });
        Recorder { url, heads }
    }

    /// Answers every request with 401 and a Basic challenge, as a git host needing a token does.
    fn challenging() -> Recorder {
        Recorder::start(
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
        )
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }

    fn saw_credentials(&self) -> bool {
        self.heads().iter().any(|h| h.to_ascii_lowercase().contains("\nauthorization:"))
    }

    fn port(&self) -> &str {
        self.url.rsplit(':').next().unwrap()
    }
}

const CLONE: &str = "git::clone(args[0], #{ dir: args[1] });";
const SECRET: &str = "tok-never-sent-5e1f0a9c";

#[test]
fn no_credential_over_plain_http_without_the_users_opt_in() {
    let server = Recorder::challenging();
    let url = format!("{}/org/app.git", server.url);
    let env = Env::new();
    let ws = tempfile::tempdir().unwrap();
    for (var, dir) in [("WEGO_GIT_TOKEN", "a"), ("GITHUB_TOKEN", "b"), ("GITLAB_TOKEN", "c")] {
        let out = script(&env, ws.path(), CLONE).args([&url, dir]).env(var, SECRET).run().expect_code(1);
        assert!(out.stderr.contains("over plain http") && out.stderr.contains("allowHttp: true"), "{}", out.stderr);
        assert!(!out.stderr.contains(SECRET));
    }
    // A GitHub host configured without the opt-in: still nothing.
    write_config(&env, &format!("providers:\n  - host: 127.0.0.1:{}\n    type: github\n", server.port()));
    let out = script(&env, ws.path(), CLONE).args([&url, "d"]).env("GITHUB_TOKEN", SECRET).run().expect_code(1);
    assert!(out.stderr.contains("over plain http"), "{}", out.stderr);
    assert!(!server.heads().is_empty(), "the server was asked");
    assert!(!server.saw_credentials(), "a credential crossed plain http: {:?}", server.heads());

    // With the opt-in the token is sent (the recorder refuses it, so the run fails as rejected).
    write_config(
        &env,
        &format!("providers:\n  - host: 127.0.0.1:{}\n    type: github\n    allowHttp: true\n", server.port()),
    );
    let out = script(&env, ws.path(), CLONE).args([&url, "e"]).env("GITHUB_TOKEN", SECRET).run().expect_code(1);
    assert!(out.stderr.contains("rejected the token from GITHUB_TOKEN"), "{}", out.stderr);
    assert!(server.saw_credentials(), "the opted-in host gets the token");
}

#[test]
fn no_credential_to_a_redirect_target_on_another_port() {
    let target = Recorder::challenging();
    let redirector = Recorder::start(format!(
        "HTTP/1.1 302 Found\r\nLocation: {}/org/app.git/info/refs?service=git-upload-pack\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        target.url
    ));
    let url = format!("{}/org/app.git", redirector.url);
    let env = Env::new();
    let ws = tempfile::tempdir().unwrap();
    // Both hosts opted in to http, so only the redirect can be the reason nothing is sent.
    write_config(
        &env,
        &format!(
            "providers:\n  - host: 127.0.0.1:{}\n    allowHttp: true\n  - host: 127.0.0.1:{}\n    allowHttp: true\n",
            redirector.port(),
            target.port()
        ),
    );
    let out = script(&env, ws.path(), CLONE).args([&url, "a"]).env("WEGO_GIT_TOKEN", SECRET).run().expect_code(1);
    assert!(out.stderr.contains("redirected to") && out.stderr.contains(target.port()), "{}", out.stderr);
    assert!(!out.stderr.contains(SECRET));
    assert!(!target.heads().is_empty(), "libgit2 followed the redirect");
    assert!(!target.saw_credentials(), "the token went to the redirect target: {:?}", target.heads());
    assert!(!redirector.saw_credentials());
}

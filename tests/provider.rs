//! `provider::` through the real binary against the stateful GitHub and GitLab fakes and Prism
//! (tests/env/providers-up.sh), plus a secret scan over everything wego prints and writes.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::servers::{
    self, control, fakes, git, git_servers, http, name, prism, push_files, AuthGitServer, Fakes, Remote,
};
use common::{script, write_config, Env, Out, Wego};
use serde_json::{json, Value};

fn out_json(stdout: &str) -> Value {
    let line = stdout.lines().rev().find(|l| l.starts_with('{') || l.starts_with('[')).unwrap_or("null");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// A user with the fakes configured as `github.test` and `gitlab.test`.
fn setup(f: &Fakes, extra: &str) -> Env {
    let env = Env::new();
    write_config(
        &env,
        &format!(
            "providers:\n  - host: github.test\n    type: github\n    apiUrl: {}\n    allowHttp: true\n  - host: gitlab.test\n    type: gitlab\n    apiUrl: {}/api/v4\n    allowHttp: true\n{extra}",
            f.github, f.gitlab
        ),
    );
    env
}

fn requests(base: &str, regex: &str) -> Vec<Value> {
    let r = http("GET", &format!("{base}/_fake/requests?path_regex={regex}"), &[], None);
    r.json().as_array().cloned().unwrap_or_default()
}

fn count(reqs: &[Value], method: &str, suffix: &str) -> usize {
    reqs.iter().filter(|r| r["method"] == method && r["path"].as_str().unwrap().ends_with(suffix)).count()
}

fn repo_state(base: &str, owner: &str, name: &str) -> Value {
    let st = http("GET", &format!("{base}/_fake/state"), &[], None).json();
    st["repos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["owner"] == owner && r["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no repo {owner}/{name} in the fake"))
}

/// The fake's bare repository for `owner/name`, to push branches into like a user would.
fn fake_remote(f: &Fakes, flavor: &str, owner: &str, name: &str) -> Remote {
    Remote { name: name.into(), path: f.srv.join(flavor).join(owner).join(format!("{name}.git")) }
}

const FLOW: &str = r#"
let p = provider::for_url(args[0], #{ backoff_ms: 100 });
let out = #{};
out.user = p.user();
out.before = p.repo();
out.created = p.create_repo(args[1], args[2], #{});
out.again = p.create_repo(args[1], args[2], #{});
out.group = p.create_repo(args[3], args[2], #{ visibility: "public" });
out.group_again = p.create_repo(args[3], args[2], #{ visibility: "public" }).created;
out.after = p.repo(args[1], args[2]);
let repo = git::clone(out.created.clone_url);
repo.write("README.md", "hello\n");
repo.commit("init");
repo.push();
repo.checkout("wego/add-x", #{ create: true });
repo.write("apps/x.yaml", "x: 1\n");
repo.commit("Add x");
repo.push();
out.none = p.find_pr(#{ head: "wego/add-x" });
out.pr1 = p.create_pr(#{ title: "Add x", body: "Adds x.", head: "wego/add-x" });
out.pr2 = p.create_pr(#{ title: "Add x (again)", body: "Adds x.", head: "wego/add-x" });
out.found = p.find_pr(#{ head: "wego/add-x", base: "main" });
out.listed = p.list_prs(#{});
out.key1 = p.add_deploy_key(#{ title: "wego", key: args[4], read_only: true });
out.key2 = p.add_deploy_key(#{ title: "wego", key: args[4] });
out.keys = p.deploy_keys();
out.deleted = p.delete_deploy_key(out.key1.id);
out.deleted_again = p.delete_deploy_key(out.key1.id);
out.keys_after = p.deploy_keys();
print(json::to_compact(out));
"#;

/// Run FLOW for `flavor` against its fake; returns (output, owner, repo name, group).
fn run_flow(f: &Fakes, flavor: &str, group: &str, env: &Env) -> (Value, String, String) {
    let repo = name("flow");
    let ws = tempfile::tempdir().unwrap();
    let key = servers::random_public_key("wego@cluster");
    let (base, var) = if flavor == "github" { (&f.github, "GITHUB_TOKEN") } else { (&f.gitlab, "GITLAB_TOKEN") };
    // Public: GitLab refuses a public project in a private group, and FLOW creates one.
    control(
        base,
        "/_fake/users",
        json!({ "login": group.split('/').next_back().unwrap(), "type": "Organization", "parent": group.rsplit_once('/').map(|(p, _)| p), "visibility": "public" }),
    );
    let url = format!("https://{flavor}.test/{}/{repo}", f.user);
    let out =
        script(env, ws.path(), FLOW).args([url.as_str(), &f.user, &repo, group, &key]).env(var, &f.token).run().ok();
    (out_json(&out.stdout), f.user.clone(), repo)
}

fn check_flow(v: &Value, f: &Fakes, base: &str, owner: &str, repo: &str, group: &str) {
    assert_eq!(v["user"]["login"], f.user.as_str());
    assert!(v["before"].is_null(), "missing repo is ()");
    assert_eq!(v["created"]["created"], true);
    assert_eq!(v["created"]["path"], format!("{owner}/{repo}"));
    assert_eq!(v["created"]["private"], true);
    assert_eq!(v["created"]["visibility"], "private");
    assert_eq!(v["again"]["created"], false, "create_repo is idempotent");
    assert_eq!(v["group"]["created"], true);
    assert_eq!(v["group"]["path"], format!("{group}/{repo}"));
    assert_eq!(v["group"]["visibility"], "public");
    assert_eq!(v["group_again"], false);
    assert_eq!(v["after"]["default_branch"], "main");
    assert!(v["none"].is_null());
    assert_eq!(v["pr1"]["created"], true);
    assert_eq!(v["pr1"]["state"], "open");
    assert_eq!((v["pr1"]["head"].as_str(), v["pr1"]["base"].as_str()), (Some("wego/add-x"), Some("main")));
    assert_eq!(v["pr2"]["created"], false, "an open PR for the same head is returned");
    assert_eq!(v["pr2"]["number"], v["pr1"]["number"]);
    assert_eq!(v["pr2"]["url"], v["pr1"]["url"]);
    assert_eq!(v["found"]["number"], v["pr1"]["number"]);
    let listed = v["listed"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "one open PR listed: {listed:?}");
    assert_eq!(listed[0]["head"], "wego/add-x");
    assert_eq!(v["key1"]["created"], true);
    assert_eq!(v["key1"]["read_only"], true);
    assert_eq!(v["key2"]["created"], false, "add_deploy_key is idempotent");
    assert_eq!(v["key2"]["id"], v["key1"]["id"]);
    assert_eq!(v["keys"].as_array().unwrap().len(), 1);
    assert_eq!((v["deleted"].as_bool(), v["deleted_again"].as_bool()), (Some(true), Some(false)));
    assert_eq!(v["keys_after"], json!([]));
    let st = repo_state(base, owner, repo);
    assert_eq!(st["pulls"].as_array().unwrap().len(), 1, "one PR/MR in the fake");
    let reqs = requests(base, repo);
    let (pulls, keys) =
        if base.contains(&f.gitlab) { ("/merge_requests", "/deploy_keys") } else { ("/pulls", "/keys") };
    // Right after the push the fakes answer "not there yet" for a moment (as the providers do):
    // wego retries, and exactly one request creates the PR.
    let created: Vec<&Value> = reqs.iter().filter(|r| r["method"] == "POST" && r["status"] == 201).collect();
    assert_eq!(
        created.iter().filter(|r| r["path"].as_str().unwrap().ends_with(pulls)).count(),
        1,
        "one create request"
    );
    assert!(count(&reqs, "POST", keys) <= 2);
}

#[test]
fn github_repositories_pull_requests_and_deploy_keys() {
    let Some(f) = fakes() else { return };
    if git_servers().is_none() {
        return;
    }
    let env = setup(&f, "");
    let org = name("org");
    let (v, owner, repo) = run_flow(&f, "github", &org, &env);
    check_flow(&v, &f, &f.github, &owner, &repo, &org);
    assert_eq!(count(&requests(&f.github, &repo), "POST", "/keys"), 1, "the second add found the key");
}

#[test]
fn gitlab_projects_merge_requests_and_deploy_keys() {
    let Some(f) = fakes() else { return };
    if git_servers().is_none() {
        return;
    }
    let env = setup(&f, "");
    // A subgroup: projects live in nested namespaces.
    let top = name("grp");
    control(&f.gitlab, "/_fake/users", json!({ "login": top, "type": "group", "visibility": "public" }));
    let group = format!("{top}/sub");
    let (v, owner, repo) = run_flow(&f, "gitlab", &group, &env);
    check_flow(&v, &f, &f.gitlab, &owner, &repo, &group);
    assert!(v["pr1"]["url"].as_str().unwrap().contains("/-/merge_requests/"), "{}", v["pr1"]);
    // The group project is really in the subgroup's namespace.
    let st = repo_state(&f.gitlab, &group, &repo);
    assert_eq!(st["visibility"], "public");
}

fn prepared_repo(f: &Fakes, flavor: &str) -> (String, Remote) {
    let repo = name("r");
    let base = if flavor == "github" { &f.github } else { &f.gitlab };
    control(base, "/_fake/repos", json!({ "owner": f.user, "name": repo, "auto_init": true }));
    let remote = fake_remote(f, flavor, &f.user, &repo);
    push_files(&remote, "wego/change", &[("change.txt", "c\n")], "a change");
    (repo, remote)
}

fn faults(base: &str, faults: Value) {
    control(base, "/_fake/faults", faults);
}

fn pr_script(env: &Env, dir: &Path, url: &str, opts: &str) -> Wego {
    let s = format!(
        "let p = provider::for_url(args[0], {opts}); print(json::to_compact(p.create_pr(#{{ title: \"t\", body: \"b\", head: \"wego/change\" }})));"
    );
    script(env, dir, &s).arg(url)
}

#[test]
fn server_errors_are_retried_with_backoff_and_retries_are_bounded() {
    let Some(f) = fakes() else { return };
    let env = setup(&f, "");
    let ws = tempfile::tempdir().unwrap();
    for (flavor, base, var, create) in
        [("github", &f.github, "GITHUB_TOKEN", "/pulls$"), ("gitlab", &f.gitlab, "GITLAB_TOKEN", "/merge_requests$")]
    {
        let (repo, _) = prepared_repo(&f, flavor);
        let url = format!("https://{flavor}.test/{}/{repo}", f.user);
        // 500 then the real answer: success after one retry.
        faults(
            base,
            json!({ "method": "POST", "path_regex": format!("{repo}.*{create}"), "status": 500, "times": 1, "body": {"message": "boom"} }),
        );
        let out = pr_script(&env, ws.path(), &url, "#{ backoff_ms: 50 }").env(var, &f.token).arg("-v").run().ok();
        assert_eq!(out_json(&out.stdout)["created"], true, "{flavor}");
        let posts: Vec<Value> = requests(base, &repo).into_iter().filter(|r| r["method"] == "POST").collect();
        // 500, then possibly "head not there yet" (the fakes' settle window after the push), then 201.
        let statuses: Vec<i64> = posts.iter().map(|p| p["status"].as_i64().unwrap()).collect();
        assert_eq!((statuses.first(), statuses.last()), (Some(&500), Some(&201)), "{flavor}: {statuses:?}");
        assert!(statuses[1..statuses.len() - 1].iter().all(|s| *s == 422 || *s == 409), "{flavor}: {statuses:?}");
        assert_eq!(repo_state(base, &f.user, &repo)["pulls"].as_array().unwrap().len(), 1);

        // Bounded: `retries: 2` means three attempts, then a clear failure.
        faults(
            base,
            json!({ "method": "GET", "path_regex": format!("{repo}.*/(keys|deploy_keys)$"), "status": 503, "times": 3 }),
        );
        let s = "let p = provider::for_url(args[0], #{ retries: 2, backoff_ms: 20 }); p.deploy_keys();";
        let out = script(&env, ws.path(), s).arg(&url).env(var, &f.token).run().expect_code(1);
        assert!(out.stderr.contains("failed after 3 attempt(s)") && out.stderr.contains("503"), "{}", out.stderr);
        let gets = requests(base, &format!("{repo}.*/(keys|deploy_keys)$"));
        assert_eq!(gets.len(), 3, "{flavor}: exactly three attempts");
    }
}

#[test]
fn rate_limits_wait_as_long_as_retry_after_says() {
    let Some(f) = fakes() else { return };
    let env = setup(&f, "");
    let ws = tempfile::tempdir().unwrap();
    for (flavor, base, var, path) in
        [("github", &f.github, "GITHUB_TOKEN", "/keys$"), ("gitlab", &f.gitlab, "GITLAB_TOKEN", "/deploy_keys$")]
    {
        let (repo, _) = prepared_repo(&f, flavor);
        let url = format!("https://{flavor}.test/{}/{repo}", f.user);
        let rx = format!("{repo}.*{path}");
        faults(
            base,
            json!({ "method": "GET", "path_regex": rx, "status": 429, "times": 1, "headers": {"Retry-After": "2"}, "body": {"message": "API rate limit exceeded"} }),
        );
        let s = "let p = provider::for_url(args[0], #{ backoff_ms: 10 }); print(json::to_compact(p.deploy_keys()));";
        let t0 = Instant::now();
        let out = script(&env, ws.path(), s).arg(&url).env(var, &f.token).run().ok();
        let took = t0.elapsed();
        assert!(took >= Duration::from_secs(2), "{flavor}: waited {took:?}, Retry-After said 2s");
        assert!(took < Duration::from_secs(15), "{flavor}: {took:?}");
        assert_eq!(out_json(&out.stdout), json!([]));
        assert!(out.stderr.contains("rate limited (429)"), "{}", out.stderr);
        let gets = requests(base, &rx);
        assert_eq!((gets.len(), gets[0]["status"].as_i64(), gets[1]["status"].as_i64()), (2, Some(429), Some(200)));

        // GitHub's 403 rate limit with a reset too far away fails at once, saying so.
        let reset = (std::time::SystemTime::now() + Duration::from_secs(3600))
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        faults(
            base,
            json!({ "method": "GET", "path_regex": rx, "status": 403, "times": 1, "headers": {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset.to_string()}, "body": {"message": "API rate limit exceeded"} }),
        );
        let t0 = Instant::now();
        let out = script(&env, ws.path(), s).arg(&url).env(var, &f.token).run().expect_code(1);
        assert!(t0.elapsed() < Duration::from_secs(10));
        assert!(
            out.stderr.contains("rate limiting wego") && out.stderr.contains("run the command again after"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn auth_failures_and_missing_repositories_are_explained() {
    let Some(f) = fakes() else { return };
    let env = setup(&f, "");
    let ws = tempfile::tempdir().unwrap();
    for (flavor, name_, var) in [("github", "GitHub", "GITHUB_TOKEN"), ("gitlab", "GitLab", "GITLAB_TOKEN")] {
        let url = format!("https://{flavor}.test/{}/{}", f.user, name("missing"));
        let user = "provider::for_url(args[0]).user();";
        let out = script(&env, ws.path(), user).arg(&url).run().expect_code(1);
        assert!(out.stderr.contains(&format!("{name_} needs a token and {var} is not set")), "{}", out.stderr);
        assert!(out.stderr.contains(&format!("help: set {var}")), "{}", out.stderr);
        let out = script(&env, ws.path(), user).arg(&url).env(var, "not-the-token").run().expect_code(1);
        assert!(out.stderr.contains(&format!("rejected the token in {var}")), "{}", out.stderr);
        assert!(!out.stderr.contains("not-the-token"));
        let pr = "provider::for_url(args[0]).create_pr(#{ title: \"t\", head: \"x\", base: \"main\" });";
        let out = script(&env, ws.path(), pr).arg(&url).env(var, &f.token).run().expect_code(1);
        assert!(out.stderr.contains("not found") && out.stderr.contains(var), "{}", out.stderr);
        let keys = "provider::for_url(args[0]).deploy_keys();";
        let out = script(&env, ws.path(), keys).arg(&url).env(var, &f.token).run().expect_code(1);
        assert!(out.stderr.contains("no such repository, or the token's user is no admin of it"), "{}", out.stderr);
        // A 403 that is no rate limit: a missing permission.
        let (repo, _) = prepared_repo(&f, flavor);
        let base = if flavor == "github" { &f.github } else { &f.gitlab };
        faults(
            base,
            json!({ "method": "POST", "path_regex": format!("{repo}.*keys$"), "status": 403, "times": 1, "body": {"message": "Resource not accessible by integration"} }),
        );
        let add = "provider::for_url(args[0]).add_deploy_key(#{ title: \"t\", key: args[1] });";
        let url403 = format!("https://{flavor}.test/{}/{repo}", f.user);
        let out = script(&env, ws.path(), add)
            .args([url403, servers::random_public_key("k")])
            .env(var, &f.token)
            .run()
            .expect_code(1);
        assert!(out.stderr.contains("refused it (Resource not accessible by integration)"), "{}", out.stderr);
        assert!(out.stderr.contains(&format!("the token in {var} lacks a permission")), "{}", out.stderr);
        let personal = "provider::for_url(args[0]).create_repo(\"someone-else\", \"x\", #{ personal: true });";
        let out = script(&env, ws.path(), personal).arg(&url).env(var, &f.token).run().expect_code(1);
        assert!(out.stderr.contains(&format!("the token belongs to `{}`", f.user)), "{}", out.stderr);
    }
    let out =
        script(&env, ws.path(), "provider::for_url(args[0]);").arg("https://unknown.example/o/r").run().expect_code(1);
    assert!(
        out.stderr.contains("no known provider serves unknown.example") && out.stderr.contains("providers:"),
        "{}",
        out.stderr
    );
}

/// Every request shape wego sends to GitHub is valid for GitHub's OpenAPI description: the calls
/// are made directly against Prism, and the full stateful flow's requests are replayed to it.
#[test]
fn every_github_call_passes_prism_validation() {
    let Some(prism) = prism() else { return };
    let Some(f) = fakes() else { return };
    if git_servers().is_none() {
        return;
    }
    let env = setup(&f, &format!("  - host: prism.test\n    type: github\n    apiUrl: {prism}\n    allowHttp: true\n"));
    let ws = tempfile::tempdir().unwrap();
    let key = servers::random_public_key("wego");
    let s = r#"
        let p = provider::for_url("https://prism.test/octocat/hello-world", #{ retries: 0 });
        let out = #{};
        out.user = p.user();
        out.repo = p.repo();
        out.existing = p.create_repo("octocat", "hello-world", #{});
        out.find = p.find_pr(#{ head: "wego/add-x", base: "main", state: "all" });
        out.list = p.list_prs(#{ state: "open" });
        out.pr = p.create_pr(#{ title: "Add x", body: "Adds x.", head: "wego/add-x", base: "main" });
        out.keys = p.deploy_keys();
        out.key = p.add_deploy_key(#{ title: "wego", key: args[0], read_only: true });
        out.deleted = p.delete_deploy_key(1);
        print(json::to_compact(out));
    "#;
    let out = script(&env, ws.path(), s).arg(&key).env("GITHUB_TOKEN", "prism-token").run().ok();
    let v = out_json(&out.stdout);
    assert_eq!(v["user"]["login"], "octocat", "Prism answers with the description's examples");
    assert_eq!(v["pr"]["created"], true, "POST /pulls was accepted");
    assert!(v["list"].is_array(), "GET /pulls (list) was accepted");
    assert_eq!(v["deleted"], true);

    // The stateful flow (repository creation for a user and an organization, PRs, keys), replayed.
    let org = name("porg");
    let (_, _, repo) = run_flow(&f, "github", &org, &env);
    let recorded: Vec<Value> = requests(&f.github, "")
        .into_iter()
        .filter(|r| {
            let p = r["path"].as_str().unwrap_or_default();
            r["fault"].is_null()
                && (p.contains(&repo)
                    || p.contains(&org)
                    || p == "/user"
                    || (p == "/user/repos" && r["body"]["name"] == repo.as_str()))
        })
        .collect();
    let kinds: std::collections::BTreeSet<String> = recorded
        .iter()
        .map(|r| format!("{} {}", r["method"].as_str().unwrap(), shape(r["path"].as_str().unwrap())))
        .collect();
    for expected in [
        "POST /user/repos",
        "POST /orgs/{o}/repos",
        "POST /repos/{o}/{r}/pulls",
        "GET /repos/{o}/{r}/pulls",
        "POST /repos/{o}/{r}/keys",
        "DELETE /repos/{o}/{r}/keys/{id}",
        "GET /user",
    ] {
        assert!(kinds.contains(expected), "the flow sent no `{expected}`: {kinds:?}");
    }
    for r in &recorded {
        let method = r["method"].as_str().unwrap();
        let mut path = r["path"].as_str().unwrap().trim_start_matches("/api/v3").to_string();
        if let Some(q) = r["query"].as_object().filter(|q| !q.is_empty()) {
            let mut ser = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in q {
                ser.append_pair(k, v.as_str().unwrap_or_default());
            }
            path = format!("{path}?{}", ser.finish());
        }
        let body = (!r["body"].is_null()).then(|| r["body"].to_string());
        let resp = http(method, &format!("{prism}{path}"), &[("Authorization", "Bearer x")], body.as_deref());
        // Prism also reports *response* violations (GitHub's own examples have some): only the
        // request's count.
        let violations: Vec<Value> = resp
            .header("sl-violations")
            .and_then(|v| serde_json::from_str::<Vec<Value>>(v).ok())
            .unwrap_or_default()
            .into_iter()
            .filter(|v| v["location"][0] == "request")
            .collect();
        assert!(
            resp.status < 400 && violations.is_empty(),
            "Prism rejected {method} {path} {body:?}: {} {violations:?} {}",
            resp.status,
            resp.body.chars().take(300).collect::<String>()
        );
    }
}

/// `/repos/o/r/keys/7` -> `/repos/{o}/{r}/keys/{id}`.
fn shape(path: &str) -> String {
    let p: Vec<&str> = path.trim_start_matches("/api/v3").split('/').collect();
    let mut out = Vec::new();
    for (i, seg) in p.iter().enumerate() {
        out.push(match (p.get(1), i) {
            (Some(&"repos"), 2) | (Some(&"orgs"), 2) => "{o}",
            (Some(&"repos"), 3) => "{r}",
            _ if seg.chars().all(|c| c.is_ascii_digit()) && !seg.is_empty() => "{id}",
            _ => seg,
        });
    }
    out.join("/")
}

/// A recognisable token used for everything (APIs of both providers, git over https, failing
/// calls), then searched for in every byte wego printed or wrote, in commits and in the remotes.
#[test]
fn tokens_appear_in_no_output_file_or_commit() {
    let Some(f) = fakes() else { return };
    if git_servers().is_none() {
        return;
    }
    // Unique per run: the fakes outlive test runs, and a token names one user.
    let token = format!("{}-7f3a9c51d2e84b60", name("wego-canary-token"));
    let token = token.as_str();
    let canary = name("canary");
    for base in [&f.github, &f.gitlab] {
        control(base, "/_fake/users", json!({ "login": canary, "token": token, "name": "Canary" }));
    }
    let Some(gh_git) = AuthGitServer::start(&f.srv, "x-access-token", token) else { return };
    let Some(gl_git) = AuthGitServer::start(&f.srv, "oauth2", token) else { return };
    let port = |u: &str| u.rsplit(':').next().unwrap().to_string();
    let env = setup(
        &f,
        &format!(
            // Plain http git servers on loopback: the user's explicit opt-in for each.
            "  - host: 127.0.0.1:{}/github\n    type: github\n    allowHttp: true\n  - host: 127.0.0.1:{}/gitlab\n    type: gitlab\n    allowHttp: true\n",
            port(&gh_git.url),
            port(&gl_git.url)
        ),
    );
    let ws = tempfile::tempdir().unwrap();
    let s = r#"
        let flavor = args[0];
        let p = provider::for_url(`https://${flavor}.test/${args[1]}/${args[2]}`, #{ backoff_ms: 10 });
        log::info(`as ${p.user().login}`);
        let r = p.create_repo(args[1], args[2], #{});
        let url = `${args[3]}/${flavor}/${args[1]}/${args[2]}.git`;
        let repo = git::clone(url, #{ dir: `${flavor}-work` });
        repo.write("README.md", `# ${args[2]}\n`);
        repo.commit("init");
        repo.push();
        repo.checkout("wego/add", #{ create: true });
        repo.write("apps/a.yaml", "a: 1\n");
        print(repo.diff());
        repo.commit("Add a");
        repo.push();
        print(git::ls_remote(url));
        print(p.create_pr(#{ title: "Add a", body: "body", head: "wego/add" }));
        print(p.create_pr(#{ title: "Add a", body: "body", head: "wego/add" }));
        print(p.add_deploy_key(#{ title: "k", key: args[4] }));
        print(p.deploy_keys());
        print(repo);
        print(p);
    "#;
    let mut outs: Vec<Out> = Vec::new();
    let mut remotes = Vec::new();
    for (flavor, var, server) in [("github", "GITHUB_TOKEN", &gh_git), ("gitlab", "GITLAB_TOKEN", &gl_git)] {
        let repo = name("secret");
        remotes.push(f.srv.join(flavor).join(&canary).join(format!("{repo}.git")));
        let key = servers::random_public_key("k");
        let run = |extra: &[&str], token: &str| {
            script(&env, ws.path(), s)
                .args([flavor, &canary, &repo, &server.url, &key])
                .args(extra)
                .env(var, token)
                .arg("-v")
                .run()
        };
        outs.push(run(&[], token).ok());
        // Failures must not leak it either: a wrong token (which contains the real one), a token
        // in a URL, a server error that exhausts the retries.
        outs.push(run(&[], &format!("{token}-wrong")).expect_code(1));
        let in_url = format!("https://x:{token}@{flavor}.test/a/b");
        outs.push(
            script(&env, ws.path(), "provider::for_url(args[0]);").arg(in_url).env(var, token).run().expect_code(1),
        );
        let in_git_url = server.url.replace("http://", &format!("http://u:{token}@"));
        outs.push(script(&env, ws.path(), "git::clone(args[0]);").arg(in_git_url).run().expect_code(1));
        // A server that echoes the token in its error body, until the retries run out.
        let base = if flavor == "github" { &f.github } else { &f.gitlab };
        let missing = name("echo");
        faults(
            base,
            json!({ "method": "GET", "path_regex": missing, "status": 500, "times": 4, "body": {"message": format!("echo {token}")} }),
        );
        let get = "provider::for_url(args[0], #{ retries: 3, backoff_ms: 10 }).repo();";
        let url = format!("https://{flavor}.test/{canary}/{missing}");
        outs.push(script(&env, ws.path(), get).arg(url).env(var, token).arg("-v").run().expect_code(1));
    }
    // The scripts themselves hold no token; remove them before scanning what wego wrote.
    for e in std::fs::read_dir(ws.path()).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "rhai") {
            std::fs::remove_file(e.path()).unwrap();
        }
    }

    for o in &outs {
        assert!(!o.stdout.contains(token) && !o.stderr.contains(token), "token printed:\n{}\n{}", o.stdout, o.stderr);
    }
    // The server's echo of the token was redacted, not dropped.
    assert!(outs.iter().any(|o| o.stderr.contains("echo ***")), "the redaction is visible");
    let mut scanned = 0;
    for root in [ws.path(), env.home.path()] {
        scanned += scan_dir(root, token);
    }
    assert!(scanned > 10, "scanned {scanned} files");
    // Commits and objects (compressed on disk), locally and on the remotes.
    for (flavor, remote) in ["github", "gitlab"].into_iter().zip(remotes) {
        let work = ws.path().join(format!("{flavor}-work"));
        assert!(work.is_dir(), "{flavor} clone exists");
        for dir in [work, remote] {
            let dumps = [
                git(&dir, &["log", "-p", "--all", "--format=fuller"]),
                objects(&dir),
                git(&dir, &["config", "--list"]),
            ];
            for d in dumps {
                assert!(!d.contains(token), "token in git data of {}", dir.display());
            }
        }
    }
}

fn objects(dir: &Path) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["cat-file", "--batch-all-objects", "--batch"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn scan_dir(root: &Path, token: &str) -> usize {
    let mut n = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                n += 1;
                assert!(!String::from_utf8_lossy(&bytes).contains(token), "token written to {}", p.display());
            }
        }
    }
    n
}

/// GitHub Enterprise (`/api/v3`) and self-hosted GitLab under a path: lists follow every page.
#[test]
fn lists_follow_pages_under_enterprise_and_self_hosted_prefixes() {
    let Some(f) = fakes() else { return };
    let env = setup(
        &f,
        &format!(
            "  - host: ghe.test\n    type: github\n    apiUrl: {}/api/v3\n    allowHttp: true\n  - host: code.test/gitlab\n    type: gitlab\n    apiUrl: {}/gitlab\n    allowHttp: true\n",
            f.github, f.gitlab
        ),
    );
    let ws = tempfile::tempdir().unwrap();
    let (gh_repo, _) = prepared_repo(&f, "github");
    let (gl_repo, _) = prepared_repo(&f, "gitlab");
    let bearer = format!("Bearer {}", f.token);
    for i in 0..105 {
        let key = servers::random_public_key("k");
        let body = json!({ "title": format!("k{i}"), "key": key }).to_string();
        let r = http(
            "POST",
            &format!("{}/repos/{}/{gh_repo}/keys", f.github, f.user),
            &[("Authorization", &bearer)],
            Some(&body),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let project = format!("{}%2F{gl_repo}", f.user);
        let r = http(
            "POST",
            &format!("{}/api/v4/projects/{project}/deploy_keys", f.gitlab),
            &[("PRIVATE-TOKEN", &f.token)],
            Some(&body),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let s = "print(provider::for_url(args[0]).deploy_keys().len());";
    let out = script(&env, ws.path(), s)
        .arg(format!("https://ghe.test/{}/{gh_repo}", f.user))
        .env("GITHUB_TOKEN", &f.token)
        .run()
        .ok();
    assert_eq!(out.stdout.trim(), "105");
    let gets: Vec<Value> = requests(&f.github, &format!("^/api/v3/repos/.*/{gh_repo}/keys$"));
    assert_eq!(gets.len(), 2, "two pages through the Enterprise prefix");
    let out = script(&env, ws.path(), s)
        .arg(format!("https://code.test/gitlab/{}/{gl_repo}", f.user))
        .env("GITLAB_TOKEN", &f.token)
        .run()
        .ok();
    assert_eq!(out.stdout.trim(), "105");
    let gets = requests(&f.gitlab, &format!("^/gitlab/api/v4/projects/.*{gl_repo}/deploy_keys$"));
    assert_eq!(gets.len(), 2, "two pages under the /gitlab prefix");
}

/// A plain-http API URL is refused unless the user's config opts the host in.
#[test]
fn plain_http_api_urls_need_the_config_opt_in() {
    let Some(f) = fakes() else { return };
    let ws = tempfile::tempdir().unwrap();
    let env = Env::new();
    write_config(&env, &format!("providers:\n  - host: github.test\n    type: github\n    apiUrl: {}\n", f.github));
    let marker = name("nohttp");
    let url = format!("https://github.test/{}/{marker}", f.user);
    let out = script(&env, ws.path(), "provider::for_url(args[0]).repo();")
        .arg(&url)
        .env("GITHUB_TOKEN", &f.token)
        .run()
        .expect_code(1);
    assert!(out.stderr.contains("refusing the plain-http API URL"), "{}", out.stderr);
    assert!(out.stderr.contains("allowHttp: true") && out.stderr.contains("github.test"), "{}", out.stderr);
    assert!(requests(&f.github, &marker).is_empty(), "nothing was sent");
}

/// A one-shot HTTP server on 127.0.0.1 that answers `{}` and records each request's head.
fn recorder() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            let mut r = BufReader::new(conn.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line.to_ascii_lowercase());
            }
            s.lock().unwrap().push(head);
            let mut w = conn;
            let _ = w.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
        }
    });
    (url, seen)
}

/// A redirect to another host never carries the token there (GitHub: octocrab's redirect
/// policy; GitLab: the token goes as `Authorization`, which the HTTP client drops cross-host).
#[test]
fn redirects_to_another_host_drop_the_credential() {
    let Some(f) = fakes() else { return };
    let env = setup(&f, "");
    let ws = tempfile::tempdir().unwrap();
    for (flavor, base, var) in [("github", &f.github, "GITHUB_TOKEN"), ("gitlab", &f.gitlab, "GITLAB_TOKEN")] {
        let (other, seen) = recorder();
        let repo = name("redir");
        faults(
            base,
            json!({ "method": "GET", "path_regex": repo, "status": 302, "times": 1, "headers": {"Location": format!("{other}/elsewhere")} }),
        );
        let url = format!("https://{flavor}.test/{}/{repo}", f.user);
        script(&env, ws.path(), "provider::for_url(args[0], #{ retries: 0 }).repo();")
            .arg(&url)
            .env(var, &f.token)
            .run();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1, "{flavor}: the redirect was followed: {seen:?}");
        assert!(seen[0].starts_with("get /elsewhere"), "{flavor}: {seen:?}");
        assert!(!seen[0].contains(&f.token.to_ascii_lowercase()), "{flavor}: token sent to the other host: {seen:?}");
        assert!(!seen[0].contains("authorization:") && !seen[0].contains("private-token:"), "{flavor}: {seen:?}");
        // The first hop did carry it (to the configured API host).
        let first = requests(base, &repo);
        assert_eq!(first[0]["headers"]["authorization"], "REDACTED", "{flavor}: {first:?}");
    }
}

/// Secondary rate limits: GitHub's 403 without Retry-After is backed off and retried; a
/// Retry-After beyond max_wait (GitLab's 600) fails at once, saying when to retry.
#[test]
fn secondary_rate_limits_back_off_and_long_waits_fail_fast() {
    let Some(f) = fakes() else { return };
    let env = setup(&f, "");
    let ws = tempfile::tempdir().unwrap();
    let (repo, _) = prepared_repo(&f, "github");
    let url = format!("https://github.test/{}/{repo}", f.user);
    let rx = format!("{repo}.*/keys$");
    faults(
        &f.github,
        json!({ "method": "GET", "path_regex": rx, "status": 403, "times": 1, "body": {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"} }),
    );
    let s = "let p = provider::for_url(args[0], #{ backoff_ms: 10 }); print(json::to_compact(p.deploy_keys()));";
    let t0 = Instant::now();
    let out = script(&env, ws.path(), s).arg(&url).env("GITHUB_TOKEN", &f.token).run().ok();
    assert!(t0.elapsed() >= Duration::from_secs(1), "backed off at least a second");
    assert_eq!(out_json(&out.stdout), json!([]));
    let gets = requests(&f.github, &rx);
    assert_eq!((gets[0]["status"].as_i64(), gets[1]["status"].as_i64()), (Some(403), Some(200)));

    let (glrepo, _) = prepared_repo(&f, "gitlab");
    let url = format!("https://gitlab.test/{}/{glrepo}", f.user);
    faults(
        &f.gitlab,
        json!({ "method": "GET", "path_regex": format!("{glrepo}.*/deploy_keys$"), "status": 429, "times": 1, "headers": {"Retry-After": "600"}, "body": {"message": "This endpoint has been requested too many times. Try again later."} }),
    );
    let t0 = Instant::now();
    let out = script(&env, ws.path(), s).arg(&url).env("GITLAB_TOKEN", &f.token).run().expect_code(1);
    assert!(t0.elapsed() < Duration::from_secs(10), "did not sleep 600 s");
    assert!(out.stderr.contains("asks to wait 600s, until") && out.stderr.contains("UTC"), "{}", out.stderr);
    assert!(out.stderr.contains("help: run the command again after"), "{}", out.stderr);
}

/// list_prs reads every page on both providers (more than 100 PRs/MRs).
#[test]
fn list_prs_reads_every_page() {
    let Some(f) = fakes() else { return };
    let env = setup(&f, "");
    let ws = tempfile::tempdir().unwrap();
    let bearer = format!("Bearer {}", f.token);
    for (flavor, base, var) in [("github", &f.github, "GITHUB_TOKEN"), ("gitlab", &f.gitlab, "GITLAB_TOKEN")] {
        let (repo, remote) = prepared_repo(&f, flavor);
        let sha = git(&remote.path, &["rev-parse", "refs/heads/wego/change"]);
        // Branches made in the bare repo directly (no push: no settle window).
        for i in 0..105 {
            git(&remote.path, &["update-ref", &format!("refs/heads/b{i}"), sha.trim()]);
            let (path, body) = if flavor == "github" {
                (
                    format!("{base}/repos/{}/{repo}/pulls", f.user),
                    json!({ "title": format!("t{i}"), "head": format!("b{i}"), "base": "main" }),
                )
            } else {
                (
                    format!("{base}/api/v4/projects/{}%2F{repo}/merge_requests", f.user),
                    json!({ "title": format!("t{i}"), "source_branch": format!("b{i}"), "target_branch": "main" }),
                )
            };
            let r = http("POST", &path, &[("Authorization", &bearer)], Some(&body.to_string()));
            assert_eq!(r.status, 201, "{flavor}: {}", r.body);
        }
        let s = "print(provider::for_url(args[0]).list_prs(#{}).len());";
        let out = script(&env, ws.path(), s)
            .arg(format!("https://{flavor}.test/{}/{repo}", f.user))
            .env(var, &f.token)
            .run()
            .ok();
        assert_eq!(out.stdout.trim(), "105", "{flavor}");
        let pages = requests(base, &format!("{repo}.*/(pulls|merge_requests)$"))
            .into_iter()
            .filter(|r| r["method"] == "GET")
            .count();
        assert_eq!(pages, 2, "{flavor}: two pages of 100");
    }
}

/// ssh_host_keys: GitHub's GET /meta keys are the test sshd's real host keys; GitLab publishes none.
#[test]
fn ssh_host_keys_come_from_the_provider() {
    let Some(f) = fakes() else { return };
    let Some(keyfile) = servers::setting("WEGO_TEST_SSH_HOST_KEY") else { return };
    let env = setup(&f, "");
    let ws = tempfile::tempdir().unwrap();
    let real = std::fs::read_to_string(keyfile).unwrap();
    let real: Vec<&str> = real.split_whitespace().take(2).collect();
    let s = "print(json::to_compact(provider::for_url(args[0]).ssh_host_keys()));";
    let out = script(&env, ws.path(), s).arg("https://github.test/o/r").env("GITHUB_TOKEN", &f.token).run().ok();
    assert_eq!(out_json(&out.stdout), json!([real.join(" ")]));
    let out = script(&env, ws.path(), "print(provider::for_url(args[0]).ssh_host_keys() == ());")
        .arg("https://gitlab.test/o/r")
        .env("GITLAB_TOKEN", &f.token)
        .run()
        .ok();
    assert_eq!(out.stdout.trim(), "true");
    // A published key that matches none of the published fingerprints is refused.
    faults(
        &f.github,
        json!({ "method": "GET", "path_regex": "^/meta$", "status": 200, "times": 1, "body": {"ssh_keys": [real.join(" ")], "ssh_key_fingerprints": {"SHA256_ED25519": "AAAA"}} }),
    );
    let out =
        script(&env, ws.path(), s).arg("https://github.test/o/r").env("GITHUB_TOKEN", &f.token).run().expect_code(1);
    assert!(out.stderr.contains("matches none of its published fingerprints"), "{}", out.stderr);
}

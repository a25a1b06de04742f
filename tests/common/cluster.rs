//! The real test API server (started by tests/env/k8s-up.sh) and kubectl against it.
//!
//! Tests find it through WEGO_TEST_KUBECONFIG, never through the user's own KUBECONFIG. When
//! it is missing, a test skips locally but fails in CI (CI=true), so CI never passes silently.

use std::path::PathBuf;
use std::process::Command;

use super::Out;

pub struct Cluster {
    pub kubeconfig: PathBuf,
}

/// The test cluster, or `None` (with a note) when not running in CI.
pub fn cluster() -> Option<Cluster> {
    match std::env::var("WEGO_TEST_KUBECONFIG") {
        Ok(p) if !p.is_empty() && std::path::Path::new(&p).is_file() => Some(Cluster { kubeconfig: p.into() }),
        _ if std::env::var("CI").is_ok_and(|v| !v.is_empty()) => {
            panic!("WEGO_TEST_KUBECONFIG is not set: in CI the test cluster must run (see tests/run.sh)")
        }
        _ => {
            eprintln!("skipped: no test cluster (run tests/run.sh, or set WEGO_TEST_KUBECONFIG)");
            None
        }
    }
}

/// Serialises tests that change cluster-scoped objects (CRDs, cluster roles) across test
/// processes; released when dropped.
pub struct ClusterLock(std::fs::File);

impl Cluster {
    /// Exclusive: for tests that change or remove cluster-scoped objects.
    pub fn lock(&self) -> ClusterLock {
        let f = lock_file();
        f.lock().expect("lock");
        ClusterLock(f)
    }

    /// Shared: for tests that only need the cluster-scoped objects (CRDs) to stay as they are.
    pub fn shared_lock(&self) -> ClusterLock {
        let f = lock_file();
        f.lock_shared().expect("shared lock");
        ClusterLock(f)
    }

    pub fn kubectl<I: IntoIterator<Item = S>, S: AsRef<str>>(&self, args: I) -> Out {
        self.kubectl_stdin(args, None)
    }

    pub fn kubectl_stdin<I: IntoIterator<Item = S>, S: AsRef<str>>(&self, args: I, stdin: Option<&str>) -> Out {
        use std::io::Write;
        use std::process::Stdio;
        let mut cmd = Command::new("kubectl");
        cmd.arg("--kubeconfig").arg(&self.kubeconfig);
        cmd.args(args.into_iter().map(|a| a.as_ref().to_string()));
        cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("kubectl");
        if let Some(s) = stdin {
            child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
        }
        let o = child.wait_with_output().unwrap();
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into(),
            stderr: String::from_utf8_lossy(&o.stderr).into(),
        }
    }

    /// A fresh namespace named after the test, deleted when dropped.
    pub fn namespace(&self, prefix: &str) -> Namespace<'_> {
        let name = format!("{prefix}-{}-{}", std::process::id(), rand_suffix());
        self.kubectl(["create", "namespace", &name]).ok();
        Namespace { cluster: self, name }
    }
}

fn lock_file() -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(std::env::temp_dir().join("wego-test-cluster.lock"))
        .expect("lock file")
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{:x}{}", t % 0xfffff, N.fetch_add(1, Ordering::SeqCst))
}

pub struct Namespace<'a> {
    cluster: &'a Cluster,
    pub name: String,
}

impl Drop for Namespace<'_> {
    fn drop(&mut self) {
        let _ = self.cluster.kubectl(["delete", "namespace", &self.name, "--wait=false"]);
    }
}

/// The API server's audit log, when it keeps one (CI's always does).
pub fn audit_log() -> Option<String> {
    match std::env::var("WEGO_TEST_AUDIT_LOG") {
        Ok(a) => Some(a),
        Err(_) => {
            assert!(std::env::var("CI").is_err(), "CI runs the API server with an audit log");
            None
        }
    }
}

/// Requests wego completed, from the API server's audit log (wego names itself `wego/<version>`).
pub fn audited(audit: &str) -> usize {
    std::fs::read_to_string(audit)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("\"ResponseComplete\"") && l.contains("\"userAgent\":\"wego/"))
        .count()
}

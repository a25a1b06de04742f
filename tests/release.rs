//! A local release dry run: package the built wego like the release workflow does, serve the
//! release over HTTP, and install it with install.sh; plus the failure cases and the formula.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::http_server::HttpServer;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Package the test binary as the release would, for `os`; returns the output dir.
fn package(out: &Path, os: &str) -> PathBuf {
    let o = Command::new("sh")
        .arg(root().join("release/package.sh"))
        .args([env!("CARGO_BIN_EXE_wego"), VERSION, os, "amd64"])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out.join(format!("wego_{VERSION}_{os}_amd64.tar.gz"))
}

/// Serve `dir` as GitHub serves a release: /download/v<V>/<file>, and /latest redirecting to the tag.
fn serve(dir: &Path, checksums: Option<&str>) -> HttpServer {
    let mut routes = vec![];
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let mut body = std::fs::read(e.path()).unwrap();
        if name == "checksums.txt" {
            if let Some(c) = checksums {
                body = c.as_bytes().to_vec();
            }
        }
        routes.push((format!("/download/v{VERSION}/{name}"), body));
    }
    routes.push(("/latest".into(), format!("REDIRECT /tag/v{VERSION}").into_bytes()));
    routes.push(("/tag/".into(), b"release page".to_vec()));
    HttpServer::start_bytes(routes, Duration::ZERO)
}

fn install(server: &HttpServer, dir: &Path, env: &[(&str, &str)]) -> common::Out {
    let mut cmd = Command::new("sh");
    cmd.arg(root().join("install.sh"))
        .env("WEGO_DOWNLOAD_URL", &server.url)
        .env("WEGO_INSTALL_DIR", dir)
        .env("CHECKPOINT_DISABLE", "1")
        .env_remove("WEGO_VERSION");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    common::Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into(),
        stderr: String::from_utf8_lossy(&o.stderr).into(),
    }
}

#[test]
fn packaged_release_installs_with_install_sh() {
    let out = tempfile::tempdir().unwrap();
    let archive = package(out.path(), "linux");
    let listing = Command::new("tar").arg("-tzf").arg(&archive).output().unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    for f in [
        "wego",
        "LICENSE",
        "README.md",
        "completions/wego.bash",
        "completions/_wego",
        "completions/wego.fish",
        "man/wego.1",
    ] {
        assert!(listing.contains(&format!("wego_{VERSION}_linux_amd64/{f}")), "{f} in {listing}");
    }
    let sums = std::fs::read_to_string(out.path().join("checksums.txt")).unwrap();
    assert!(sums.contains(&format!("  wego_{VERSION}_linux_amd64.tar.gz")), "{sums}");

    let server = serve(out.path(), None);
    let dest = tempfile::tempdir().unwrap();
    // The latest release (found through the redirect), on a platform named as uname does.
    let r = install(&server, dest.path(), &[("WEGO_INSTALL_OS", "Linux"), ("WEGO_INSTALL_ARCH", "x86_64")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = Command::new(dest.path().join("wego")).args(["version", "--offline", "-o", "json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(v["wego"], VERSION);
    // And an explicit version.
    let dest2 = tempfile::tempdir().unwrap();
    let r = install(&server, dest2.path(), &[("WEGO_VERSION", &format!("v{VERSION}")), ("WEGO_INSTALL_OS", "linux")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(dest2.path().join("wego").is_file());
}

#[test]
fn a_checksum_mismatch_installs_nothing() {
    let out = tempfile::tempdir().unwrap();
    package(out.path(), "linux");
    let bad = format!("{}  wego_{VERSION}_linux_amd64.tar.gz\n", "0".repeat(64));
    let server = serve(out.path(), Some(&bad));
    let dest = tempfile::tempdir().unwrap();
    let r = install(&server, dest.path(), &[("WEGO_INSTALL_OS", "linux"), ("WEGO_INSTALL_ARCH", "amd64")]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("checksum mismatch"), "{}", r.stderr);
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0, "nothing installed");
}

#[test]
fn an_unsupported_platform_fails_clearly() {
    let out = tempfile::tempdir().unwrap();
    package(out.path(), "linux");
    let server = serve(out.path(), None);
    let dest = tempfile::tempdir().unwrap();
    let r = install(&server, dest.path(), &[("WEGO_INSTALL_OS", "FreeBSD")]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("unsupported operating system 'FreeBSD'"), "{}", r.stderr);
    let r = install(&server, dest.path(), &[("WEGO_INSTALL_OS", "Linux"), ("WEGO_INSTALL_ARCH", "aarch64")]);
    assert!(r.stderr.contains("unsupported architecture 'aarch64'"), "{}", r.stderr);
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
}

#[test]
fn the_homebrew_formula_matches_the_release() {
    let out = tempfile::tempdir().unwrap();
    package(out.path(), "linux");
    package(out.path(), "darwin");
    let o = Command::new("sh")
        .arg(root().join("release/formula.sh"))
        .args([
            VERSION,
            &out.path().join("checksums.txt").display().to_string(),
            "https://github.com/weaveworks/wego/releases/download",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let formula = String::from_utf8_lossy(&o.stdout).to_string();
    let sums = std::fs::read_to_string(out.path().join("checksums.txt")).unwrap();
    for os in ["darwin", "linux"] {
        let file = format!("wego_{VERSION}_{os}_amd64.tar.gz");
        assert!(
            formula
                .contains(&format!("url \"https://github.com/weaveworks/wego/releases/download/v{VERSION}/{file}\"")),
            "{formula}"
        );
        let sha = sums.lines().find(|l| l.ends_with(&file)).unwrap().split_whitespace().next().unwrap();
        assert!(formula.contains(&format!("sha256 \"{sha}\"")), "{formula}");
    }
    assert!(!formula.contains('@'), "every placeholder filled: {formula}");
    // The formula is valid Ruby, when Ruby is here (CI installs it).
    let path = out.path().join("wego.rb");
    std::fs::write(&path, &formula).unwrap();
    match Command::new("ruby").arg("-c").arg(&path).output() {
        Ok(r) => assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr)),
        Err(_) => assert!(std::env::var("CI").is_err(), "CI installs ruby to check the formula"),
    }
}

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

/// Package the test binary as the release would, for `os` on amd64; returns the archive.
fn package(out: &Path, os: &str) -> PathBuf {
    package_bin(out, Path::new(env!("CARGO_BIN_EXE_wego")), os, "amd64")
}

/// Package `bin` with release/package.sh (which runs it for completions and the man page).
fn package_bin(out: &Path, bin: &Path, os: &str, arch: &str) -> PathBuf {
    let o = Command::new("sh")
        .arg(root().join("release/package.sh"))
        .arg(bin)
        .args([VERSION, os, arch])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out.join(format!("wego_{VERSION}_{os}_{arch}.tar.gz"))
}

/// A stand-in for a wego built for another platform (this machine cannot run an arm64 or macOS
/// binary): it answers what package.sh and install.sh ask, and says which archive it came from.
fn fake_wego(dir: &Path, os: &str, arch: &str) -> PathBuf {
    let path = dir.join(format!("wego-{os}-{arch}"));
    let script = r##"#!/bin/sh
case "$1 $2" in
  'version --offline') echo 'wego version: v@VERSION@'; echo 'built for: @OS@/@ARCH@' ;;
  'completion '*) echo "# wego $2 completion" ;;
  'docs man') echo '.TH WEGO 1' ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
"##
    .replace("@VERSION@", VERSION)
    .replace("@OS@", os)
    .replace("@ARCH@", arch);
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path
}

/// A release with all four archives: the real binary for linux/amd64, stand-ins for the rest.
fn full_release(out: &Path) {
    let fakes = tempfile::tempdir().unwrap();
    package(out, "linux");
    for (os, arch) in [("linux", "arm64"), ("darwin", "amd64"), ("darwin", "arm64")] {
        package_bin(out, &fake_wego(fakes.path(), os, arch), os, arch);
    }
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
    install_from(&server.url, dir, env)
}

fn install_from(url: &str, dir: &Path, env: &[(&str, &str)]) -> common::Out {
    let mut cmd = Command::new("sh");
    cmd.arg(root().join("install.sh"))
        .env("WEGO_DOWNLOAD_URL", url)
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
    let r = install(&server, dest.path(), &[("WEGO_INSTALL_OS", "Linux"), ("WEGO_INSTALL_ARCH", "riscv64")]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("unsupported architecture 'riscv64': wego is built for x86_64 (amd64) and arm64 (aarch64)"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
}

#[test]
fn install_sh_picks_the_archive_for_each_architecture() {
    let out = tempfile::tempdir().unwrap();
    full_release(out.path());
    let server = serve(out.path(), None);
    // Each name uname (or a user) gives an architecture, on both systems.
    for (os, uname_arch, arch) in [
        ("Linux", "aarch64", "arm64"),
        ("Linux", "arm64", "arm64"),
        ("Darwin", "arm64", "arm64"),
        ("Darwin", "x86_64", "amd64"),
    ] {
        let dest = tempfile::tempdir().unwrap();
        let r = install(&server, dest.path(), &[("WEGO_INSTALL_OS", os), ("WEGO_INSTALL_ARCH", uname_arch)]);
        assert_eq!(r.code, 0, "{os}/{uname_arch}: {}", r.stderr);
        let v = Command::new(dest.path().join("wego")).args(["version", "--offline"]).output().unwrap();
        let v = String::from_utf8_lossy(&v.stdout);
        let os = os.to_lowercase();
        assert!(v.contains(&format!("built for: {os}/{arch}")), "{os}/{uname_arch} installed {v}");
        let archive = format!("/download/v{VERSION}/wego_{VERSION}_{os}_{arch}.tar.gz");
        assert!(server.paths().contains(&archive), "{archive} in {:?}", server.paths());
    }
    // The amd64 Linux archive is the real binary.
    let dest = tempfile::tempdir().unwrap();
    let r = install(&server, dest.path(), &[("WEGO_INSTALL_OS", "Linux"), ("WEGO_INSTALL_ARCH", "amd64")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = Command::new(dest.path().join("wego")).args(["version", "--offline"]).output().unwrap();
    assert!(String::from_utf8_lossy(&v.stdout).contains(&format!("wego version: v{VERSION}")));
}

#[test]
fn a_release_without_the_arm64_archive_installs_nothing_on_arm64() {
    let out = tempfile::tempdir().unwrap();
    package(out.path(), "linux");
    let server = serve(out.path(), None);
    let dest = tempfile::tempdir().unwrap();
    let r = install(&server, dest.path(), &[("WEGO_INSTALL_OS", "Linux"), ("WEGO_INSTALL_ARCH", "aarch64")]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains(&format!("cannot download {}/download/v{VERSION}/wego_{VERSION}_linux_arm64.tar.gz", server.url)),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
}

#[test]
fn downloads_are_https_unless_an_http_mirror_is_named() {
    let out = tempfile::tempdir().unwrap();
    package(out.path(), "linux");
    let server = serve(out.path(), None);
    // The local mirror here is plain http: allowed because it is named, and warned about.
    let dest = tempfile::tempdir().unwrap();
    let r = install(&server, dest.path(), &[("WEGO_INSTALL_OS", "Linux"), ("WEGO_INSTALL_ARCH", "x86_64")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("warning: downloading over plain http from WEGO_DOWNLOAD_URL={}", server.url)),
        "{}",
        r.stderr
    );
    // Anything but http(s) is refused before any download.
    for url in ["ftp://mirror.example/wego", "file:///srv/wego", "mirror.example/wego"] {
        let mut cmd = Command::new("sh");
        let o = cmd
            .arg(root().join("install.sh"))
            .env("WEGO_DOWNLOAD_URL", url)
            .env("WEGO_INSTALL_DIR", dest.path())
            .env("WEGO_INSTALL_OS", "Linux")
            .env("WEGO_INSTALL_ARCH", "x86_64")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_ne!(o.status.code(), Some(0), "{url}");
        assert!(
            err.contains(&format!(
                "WEGO_DOWNLOAD_URL must be an https:// URL (or http:// for a local mirror), not '{url}'"
            )),
            "{err}"
        );
    }
    // An https mirror gets no warning, and curl is held to https (here the TLS handshake with a
    // plain-http server fails, so nothing is installed).
    let dest = tempfile::tempdir().unwrap();
    let https = server.url.replacen("http://", "https://", 1);
    let r = install_from(
        &https,
        dest.path(),
        &[("WEGO_INSTALL_OS", "Linux"), ("WEGO_INSTALL_ARCH", "x86_64"), ("WEGO_VERSION", VERSION)],
    );
    assert_ne!(r.code, 0);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    assert!(r.stderr.contains(&format!("cannot download {https}/download/v{VERSION}/")), "{}", r.stderr);
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
}

/// The text between `start` and the `end` that closes it (blocks here nest one level).
fn block<'a>(text: &'a str, start: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("{start} in {text}"));
    let rest = &text[from + start.len()..];
    let mut depth = 1;
    let mut at = 0;
    for line in rest.split_inclusive('\n') {
        let l = line.trim();
        if l.ends_with(" do") {
            depth += 1;
        } else if l == "end" {
            depth -= 1;
            if depth == 0 {
                return &rest[..at];
            }
        }
        at += line.len();
    }
    panic!("no end for {start}");
}

fn render_formula(checksums: &Path) -> std::process::Output {
    Command::new("sh")
        .arg(root().join("release/formula.sh"))
        .args([VERSION, &checksums.display().to_string(), "https://github.com/weaveworks/wego/releases/download"])
        .output()
        .unwrap()
}

#[test]
fn the_homebrew_formula_matches_the_release() {
    let out = tempfile::tempdir().unwrap();
    full_release(out.path());
    let o = render_formula(&out.path().join("checksums.txt"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let formula = String::from_utf8_lossy(&o.stdout).to_string();
    let sums = std::fs::read_to_string(out.path().join("checksums.txt")).unwrap();
    assert_eq!(sums.lines().count(), 4, "{sums}");
    for (os_block, os) in [("on_macos do", "darwin"), ("on_linux do", "linux")] {
        let os_text = block(&formula, os_block);
        for (arch_block, arch) in [("on_arm do", "arm64"), ("on_intel do", "amd64")] {
            let text = block(os_text, arch_block);
            let file = format!("wego_{VERSION}_{os}_{arch}.tar.gz");
            assert!(
                text.contains(&format!(
                    "url \"https://github.com/weaveworks/wego/releases/download/v{VERSION}/{file}\""
                )),
                "{os} {arch}: {text}"
            );
            let sha = sums.lines().find(|l| l.ends_with(&file)).unwrap().split_whitespace().next().unwrap();
            assert!(text.contains(&format!("sha256 \"{sha}\"")), "{os} {arch}: {text}");
        }
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

#[test]
fn the_formula_needs_all_four_archives() {
    let out = tempfile::tempdir().unwrap();
    full_release(out.path());
    let sums = out.path().join("checksums.txt");
    let all = std::fs::read_to_string(&sums).unwrap();
    let file = format!("wego_{VERSION}_darwin_arm64.tar.gz");
    std::fs::write(&sums, all.lines().filter(|l| !l.ends_with(&file)).map(|l| format!("{l}\n")).collect::<String>())
        .unwrap();
    let o = render_formula(&sums);
    assert_ne!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("has no checksum for {file}")), "{err}");
}

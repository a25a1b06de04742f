//! Stamps the build with its git commit and date so `wego version` never needs a hand-edited
//! version string. SOURCE_DATE_EPOCH (reproducible builds) wins over the clock.
use std::process::Command;

#[path = "src/civil.rs"]
mod civil;

fn main() {
    let commit = std::env::var("WEGO_GIT_COMMIT").ok().unwrap_or_else(|| {
        Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "unknown".into())
    });
    let epoch: i64 = std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
    });
    // Releases stamp the version from their tag (WEGO_VERSION=0.2.0); otherwise Cargo.toml's.
    let version = std::env::var("WEGO_VERSION")
        .ok()
        .filter(|v| !v.is_empty())
        .map(|v| v.trim_start_matches('v').to_string())
        .unwrap_or_else(|| std::env::var("CARGO_PKG_VERSION").unwrap_or_default());
    println!("cargo:rustc-env=WEGO_VERSION={version}");
    println!("cargo:rerun-if-env-changed=WEGO_VERSION");
    println!("cargo:rustc-env=WEGO_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=WEGO_BUILD_DATE={}", civil_date(epoch));
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rerun-if-env-changed=WEGO_GIT_COMMIT");
    // The built-in scripts, templates, stdlib and its tests are embedded; new files must trigger a rebuild.
    for dir in ["scripts", "templates", "stdlib", "tests/rhai"] {
        println!("cargo:rerun-if-changed={dir}");
    }
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
}

/// UTC date (YYYY-MM-DD) of a Unix time.
fn civil_date(secs: i64) -> String {
    let (y, m, d) = civil::from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

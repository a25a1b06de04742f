//! `flux::` — the Flux runtime manifest for a version: from a given file or URL, the user
//! cache, or a download (the official release asset or a mirror).
//!
//! A download and every cache read are checked against the SHA-256 built into wego for that
//! version (`data/flux-checksums.txt`), so neither a mirror nor a tampered cache can change the
//! runtime. A file or URL the user names explicitly is taken as given (with a warning when its
//! checksum is not the known one): the user vouches for it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rhai::{EvalAltResult, Map, Module};

use super::api::api_module;
use super::host::{fail, Host};

const PRIM: &str = "flux::manifests";
const HELP: &str = "pass --flux-manifests PATH|URL (or WEGO_FLUX_MANIFESTS), or set flux.manifestsBaseUrl to a mirror";

/// `version sha256` lines; `#` comments.
const CHECKSUMS: &str = include_str!("../../data/flux-checksums.txt");

/// The built-in SHA-256 (lower-case hex) of Flux `version`'s `install.yaml`, if wego knows it.
pub fn known_checksum(version: &str) -> Option<&'static str> {
    let version = version.trim_start_matches('v');
    CHECKSUMS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(char::is_whitespace))
        .find(|(v, _)| *v == version)
        .map(|(_, sum)| sum.trim())
}

pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// `Err(actual)` when `text` is not the known manifest of `version`.
fn verify(version: &str, text: &str) -> Result<(), String> {
    let actual = sha256_hex(text);
    match known_checksum(version) {
        Some(expected) if expected == actual => Ok(()),
        _ => Err(actual),
    }
}

fn cache_file(version: &str) -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("wego/flux").join(format!("v{version}")).join("install.yaml"))
}

fn looks_like_manifests(text: &str) -> bool {
    text.contains("kind:") && text.contains("apiVersion:")
}

async fn download(url: &str, timeout: Duration) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(30)))
        .user_agent(format!("wego/{}", crate::build_info::VERSION))
        .build()
        .map_err(|e| e.to_string())?;
    let resp = client.get(url).send().await.map_err(|e| root(&e))?;
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status()));
    }
    resp.text().await.map_err(|e| root(&e))
}

fn root(e: &dyn std::error::Error) -> String {
    let mut cur = e;
    while let Some(n) = cur.source() {
        cur = n;
    }
    cur.to_string()
}

/// Fetch the runtime manifest as the options say; see the module docs for the order.
pub fn manifests(host: &Host, opts: &Map) -> Result<String, Box<EvalAltResult>> {
    let config = host.config();
    let cfg = &config.flux;
    let version = super::opt_str(opts, "version").unwrap_or_else(|| cfg.version.clone());
    let version = version.trim_start_matches('v').to_string();
    let source = super::opt_str(opts, "source").unwrap_or_else(|| cfg.manifests.clone());
    let base = super::opt_str(opts, "base_url").unwrap_or_else(|| cfg.manifests_base_url.clone());
    let timeout = Duration::from_secs(cfg.download_timeout_seconds.max(1));
    // A spinner on a terminal, a line in a log: a download can take a while.
    let download = |url: &str, what: &str| {
        let step = host.session.log.step(&format!("downloading {what} from {url}"));
        let got = host.block_on(download(url, timeout));
        // A failure is the command's error, said once.
        if let Ok(text) = &got {
            step.done(&format!("downloaded {what} ({} KiB)", text.len() / 1024));
        }
        got
    };
    let check = |text: String, from: &str| {
        if looks_like_manifests(&text) {
            Ok(text)
        } else {
            Err(fail(PRIM, format!("{from} does not look like Kubernetes manifests"), Some(HELP)))
        }
    };

    // The user named this manifest: theirs to vouch for, but say when it is not the known one.
    let given = |text: String, from: &str| {
        let text = check(text, from)?;
        if let Err(actual) = verify(&version, &text) {
            let known = match known_checksum(&version) {
                Some(k) => format!("the known Flux v{version} manifest has {k}"),
                None => format!("wego knows no checksum for Flux v{version}"),
            };
            host.session.log.emit(
                super::log::Level::Warn,
                "⚠",
                "33",
                &format!("using {from} as given: its SHA-256 is {actual} and {known}"),
            );
        }
        Ok(text)
    };
    if !source.is_empty() {
        if source.starts_with("http://") || source.starts_with("https://") {
            if host.session.globals.offline {
                return Err(fail(PRIM, format!("--offline forbids downloading {source}"), Some("pass a local file")));
            }
            let text = download(&source, "Flux manifests")
                .map_err(|e| fail(PRIM, format!("cannot download {source}: {e}"), Some(HELP)))?;
            return given(text, &source);
        }
        let text = std::fs::read_to_string(&source).map_err(|e| {
            fail(PRIM, format!("cannot read {source}: {e}"), Some("check the path given to --flux-manifests"))
        })?;
        return given(text, &source);
    }

    let Some(expected) = known_checksum(&version) else {
        return Err(fail(
            PRIM,
            format!("wego has no checksum for Flux v{version}, so it cannot verify a download of it"),
            Some(
                "use the Flux version this wego pins (`wego version`), \
                 or verify the manifest yourself and pass it with --flux-manifests FILE",
            ),
        ));
    };
    let cache = cache_file(&version);
    if let Some(p) = &cache {
        if let Ok(text) = std::fs::read_to_string(p) {
            if let Err(actual) = verify(&version, &text) {
                return Err(fail(
                    PRIM,
                    format!(
                        "the cached Flux v{version} manifest {} has SHA-256 {actual}, expected {expected}: \
                         it was changed after download",
                        p.display()
                    ),
                    Some(&format!("delete {} and run the command again to download it afresh", p.display())),
                ));
            }
            return Ok(text);
        }
    }
    let url = format!("{}/v{version}/install.yaml", base.trim_end_matches('/'));
    if host.session.globals.offline {
        return Err(fail(
            PRIM,
            format!("Flux v{version}'s manifests are not cached and --offline forbids downloading them"),
            Some(HELP),
        ));
    }
    let text = download(&url, &format!("Flux v{version} manifests"))
        .map_err(|e| fail(PRIM, format!("cannot download Flux v{version} manifests from {url}: {e}"), Some(HELP)))?;
    if let Err(actual) = verify(&version, &text) {
        return Err(fail(
            PRIM,
            format!("the Flux v{version} manifest from {url} has SHA-256 {actual}, expected {expected}: refusing it"),
            Some(
                "the mirror serves a different file than Flux released; fix the mirror (flux.manifestsBaseUrl), \
                 or verify the file yourself and pass it with --flux-manifests FILE",
            ),
        ));
    }
    if let Some(p) = cache {
        // Write beside and rename, so a crash never leaves a truncated cache entry.
        let tmp = p.with_extension(format!("tmp{}", std::process::id()));
        let _ = p
            .parent()
            .map(std::fs::create_dir_all)
            .transpose()
            .and_then(|_| std::fs::write(&tmp, &text))
            .and_then(|_| std::fs::rename(&tmp, &p));
    }
    Ok(text)
}

pub fn module(host: &Arc<Host>) -> Module {
    api_module! {
        let h = host;
        //! The Flux runtime: its release manifests.

        /// The Flux runtime manifest (all controllers and CRDs) as YAML text.\
        /// Options: `version` (default config `flux.version`), `source` (a file or URL; default config
        /// `flux.manifests`), `base_url` (release downloads or a mirror; default config `flux.manifestsBaseUrl`).\
        /// Order: `source` if given (taken as given, with a warning when its SHA-256 is not the one wego knows for
        /// `version`); else the user cache (`~/.cache/wego/flux/v<version>/install.yaml`); else
        /// `<base_url>/v<version>/install.yaml`, then cached. A download and the cache must match the SHA-256 built
        /// into wego for `version`.
        ///
        /// Errors: offline with nothing cached; download or read failure; not a manifest; a download or cache entry
        /// whose checksum differs (the error names both); a version wego has no checksum for (without `source`).
        ///
        /// Example: `let objs = yaml::parse_all(flux::manifests(#{ version: "2.9.4" }));`
        fn manifests(options: Map) -> String {
            manifests(h, &options)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_version_has_a_checksum() {
        let sum = known_checksum(crate::build_info::FLUX_VERSION).expect("the pinned Flux version needs a checksum");
        assert_eq!(sum.len(), 64);
        assert!(sum.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{sum}");
        assert_eq!(known_checksum(&format!("v{}", crate::build_info::FLUX_VERSION)), Some(sum));
        assert_eq!(known_checksum("0.0.1"), None);
        assert!(verify(crate::build_info::FLUX_VERSION, "kind: x\napiVersion: v1\n").is_err());
    }
}

//! `flux::` — the Flux runtime manifest for a version: from a given file or URL, the user
//! cache, or a download (the official release asset or a mirror).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rhai::{EvalAltResult, Map, Module};

use crate::engine::api::ApiModule;
use crate::engine::{fail, Host};

const PRIM: &str = "flux::manifests";
const HELP: &str = "pass --flux-manifests PATH|URL (or WEGO_FLUX_MANIFESTS), or set flux.manifestsBaseUrl to a mirror";

fn cache_file(version: &str) -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("wego/flux").join(format!("v{version}")).join("install.yaml"))
}

fn looks_like_manifests(text: &str) -> bool {
    text.contains("kind:") && text.contains("apiVersion:")
}

async fn download(url: &str, timeout: Duration) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
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
    let progress = |msg: &str| {
        if std::io::stderr().is_terminal() {
            host.log.emit(super::log::Level::Info, "►", "36", msg);
        }
    };
    let check = |text: String, from: &str| {
        if looks_like_manifests(&text) {
            Ok(text)
        } else {
            Err(fail(PRIM, format!("{from} does not look like Kubernetes manifests"), Some(HELP)))
        }
    };

    if !source.is_empty() {
        if source.starts_with("http://") || source.starts_with("https://") {
            if host.globals.offline {
                return Err(fail(PRIM, format!("--offline forbids downloading {source}"), Some("pass a local file")));
            }
            progress(&format!("downloading Flux manifests from {source}"));
            let text = host
                .block_on(download(&source, timeout))
                .map_err(|e| fail(PRIM, format!("cannot download {source}: {e}"), Some(HELP)))?;
            return check(text, &source);
        }
        let text = std::fs::read_to_string(&source).map_err(|e| {
            fail(PRIM, format!("cannot read {source}: {e}"), Some("check the path given to --flux-manifests"))
        })?;
        return check(text, &source);
    }

    let cache = cache_file(&version);
    if let Some(text) = cache.as_ref().and_then(|p| std::fs::read_to_string(p).ok()) {
        if looks_like_manifests(&text) {
            return Ok(text);
        }
    }
    let url = format!("{}/v{version}/install.yaml", base.trim_end_matches('/'));
    if host.globals.offline {
        return Err(fail(
            PRIM,
            format!("Flux v{version}'s manifests are not cached and --offline forbids downloading them"),
            Some(HELP),
        ));
    }
    progress(&format!("downloading Flux v{version} manifests from {url}"));
    let text = host
        .block_on(download(&url, timeout))
        .map_err(|e| fail(PRIM, format!("cannot download Flux v{version} manifests from {url}: {e}"), Some(HELP)))?;
    let text = check(text, &url)?;
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
    let mut m = ApiModule::new("The Flux runtime: its release manifests.");
    let h = host.clone();
    m.func(
        "manifests",
        &["options: Map", "String"],
        "The Flux runtime manifest (all controllers and CRDs) as YAML text.\nOptions: `version` (default config `flux.version`), `source` (a file or URL; default config `flux.manifests`), `base_url` (release downloads or a mirror; default config `flux.manifestsBaseUrl`).\nOrder: `source` if given; else the user cache (`~/.cache/wego/flux/v<version>/install.yaml`); else `<base_url>/v<version>/install.yaml`, then cached.\n\nErrors: offline with nothing cached; download or read failure; not a manifest.\n\nExample: `let objs = yaml::parse_all(flux::manifests(#{ version: \"2.9.4\" }));`",
        move |opts: Map| manifests(&h, &opts),
    );
    m.build()
}

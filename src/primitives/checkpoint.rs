//! `checkpoint::` — the update check (and telemetry ping) of the current command.

use std::sync::Arc;

use rhai::{Dynamic, Map, Module};

use super::api::api_module;
use super::host::Host;

pub fn module(host: &Arc<Host>) -> Module {
    api_module! {
        let h = host;
        //! The update check against the Weaveworks checkpoint service.

        /// The update check's answer: `#{current_version, download_url, outdated}`, or `()` when telemetry is off,
        /// `--offline` is set, or the service did not answer within its timeout (1 s). Never fails.
        ///
        /// Example: `let c = checkpoint::check(); if c != () && c.outdated { log::warn("update available"); }`
        fn check() -> Dynamic {
            let Some(i) = h.checkpoint.result(&h.session.rt, "run") else { return Ok(Dynamic::UNIT) };
            let mut m = Map::new();
            m.insert("current_version".into(), i.current_version.into());
            m.insert("download_url".into(), i.current_download_url.into());
            m.insert("outdated".into(), i.outdated.into());
            Ok(m.into())
        }

        /// Whether the update check and telemetry are on (off with `CHECKPOINT_DISABLE=1`, config `telemetry: false`,
        /// or `--offline`).
        ///
        /// Example: `checkpoint::enabled()`
        fn enabled() -> bool {
            Ok(h.checkpoint.enabled())
        }
    }
}

//! `checkpoint::` — the update check (and telemetry ping) of the current command.

use std::sync::Arc;

use rhai::{Dynamic, Map, Module};

use super::api::ApiModule;
use super::host::Host;

pub fn module(host: &Arc<Host>) -> Module {
    let mut m = ApiModule::new("The update check against the Weaveworks checkpoint service.");
    let h = host.clone();
    m.func(
        "check",
        &["Dynamic"],
        "The update check's answer: `#{current_version, download_url, outdated}`, or `()` when telemetry is off, `--offline` is set, or the service did not answer within its timeout (1 s). Never fails.\n\nExample: `let c = checkpoint::check(); if c != () && c.outdated { log::warn(\"update available\"); }`",
        move || -> Dynamic {
            match h.checkpoint.result(&h.rt, "run") {
                Some(i) => {
                    let mut m = Map::new();
                    m.insert("current_version".into(), i.current_version.into());
                    m.insert("download_url".into(), i.current_download_url.into());
                    m.insert("outdated".into(), i.outdated.into());
                    m.into()
                }
                None => Dynamic::UNIT,
            }
        },
    );
    let h = host.clone();
    m.func(
        "enabled",
        &["bool"],
        "Whether the update check and telemetry are on (off with `CHECKPOINT_DISABLE=1`, config `telemetry: false`, or `--offline`).\n\nExample: `checkpoint::enabled()`",
        move || h.checkpoint.enabled(),
    );
    m.build()
}

//! Facts stamped into the binary at build time.

/// wego's own version: the release tag's (WEGO_VERSION at build time), else Cargo.toml's.
pub const VERSION: &str = env!("WEGO_VERSION");
/// The git commit the binary was built from.
pub const GIT_COMMIT: &str = env!("WEGO_GIT_COMMIT");
/// The UTC build date.
pub const BUILD_DATE: &str = env!("WEGO_BUILD_DATE");
/// The Flux version `wego install` uses unless configured otherwise.
pub const FLUX_VERSION: &str = "2.9.4";
/// The App CRD version this wego reads and writes.
pub const APP_API_VERSION: &str = "wego.weave.works/v1alpha1";

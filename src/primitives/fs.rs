//! `fs::` — files inside the workspace only (the current directory and repos a command
//! checked out). Paths are relative to the first workspace; nothing escapes via `..` or links.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rhai::{Array, Dynamic, Module};

use super::api::api_module;
use super::host::{fail, Host};
pub use crate::paths::list_names;
use crate::paths::{self, Access, Checked, PathError};

/// Resolve `path` against the workspaces for reading or looking; errors when it would leave
/// all of them. See [`crate::paths`] for the policy.
pub fn resolve(host: &Host, prim: &str, path: &str) -> Result<PathBuf, Box<rhai::EvalAltResult>> {
    checked(host, prim, path, Access::Read).map(|c| c.real)
}

/// Resolve `path` against the workspaces for `access`.
pub fn checked(host: &Host, prim: &str, path: &str, access: Access) -> Result<Checked, Box<rhai::EvalAltResult>> {
    check_raw(host, path, access).map_err(|e| refusal(prim, path, e))
}

fn refusal(prim: &str, path: &str, e: PathError) -> Box<rhai::EvalAltResult> {
    let help = match e {
        PathError::Outside => "scripts may only touch files under the current directory or a repo they checked out",
        _ => e.help(),
    };
    fail(prim, e.message(path), Some(help))
}

fn check_raw(host: &Host, path: &str, access: Access) -> Result<Checked, PathError> {
    let roots = host.workspace.roots();
    let base = roots.first().cloned().unwrap_or_default();
    let real_roots: Vec<PathBuf> = roots.iter().map(|r| r.canonicalize().unwrap_or_else(|_| r.clone())).collect();
    if path.contains('\0') {
        return Err(PathError::Outside);
    }
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    let p = Path::new(path);
    let base = base.canonicalize().unwrap_or(base);
    let joined = if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
    paths::check(&real_roots, &paths::normalize(&joined), access)
}

pub fn module(host: &Arc<Host>) -> Module {
    api_module! {
        let h = host;
        //! Files inside the workspace (current directory and checked-out repos).

        /// Read a UTF-8 file.
        ///
        /// Errors: missing file, outside the workspace.
        ///
        /// Example: `let text = fs::read("apps.yaml");`
        fn read(path: &str) -> String {
            let p = resolve(h, "fs::read", path)?;
            std::fs::read_to_string(&p).map_err(|e| fail("fs::read", format!("{path}: {e}"), None))
        }

        /// Write a file, creating parent directories.
        ///
        /// Errors: outside the workspace (`..`, a symlink out), inside `.git`, through a dangling symlink.
        ///
        /// Example: `fs::write("out/app.yaml", text);`
        fn write(path: &str, text: &str) -> () {
            let p = checked(h, "fs::write", path, Access::Write)?.real;
            if let Some(dir) = p.parent() {
                std::fs::create_dir_all(dir).map_err(|e| fail("fs::write", format!("{path}: {e}"), None))?;
            }
            std::fs::write(&p, text).map_err(|e| fail("fs::write", format!("{path}: {e}"), None))
        }

        /// Whether a file or directory exists (a symlink pointing at nothing does not).
        ///
        /// Example: `if fs::exists("Chart.yaml") { ... }`
        fn exists(path: &str) -> bool {
            match check_raw(h, path, Access::Read) {
                Ok(c) => Ok(c.exists),
                Err(PathError::BrokenLink) => Ok(false),
                Err(e) => Err(refusal("fs::exists", path, e)),
            }
        }

        /// Names of the entries of a directory, sorted (directories end with `/`).
        ///
        /// Example: `for f in fs::list(".") { print(f); }`
        fn list(dir: &str) -> Array {
            let p = resolve(h, "fs::list", dir)?;
            let names = list_names(&p, &[]).map_err(|e| fail("fs::list", format!("{dir}: {e}"), None))?;
            Ok(names.into_iter().map(Dynamic::from).collect())
        }
    }
}

//! `fs::` — files inside the workspace only (the current directory and repos a command
//! checked out). Paths are relative to the first workspace; nothing escapes via `..` or links.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use rhai::{Array, Dynamic, Module};

use crate::engine::api::ApiModule;
use crate::engine::{fail, Host};

/// Resolve `path` against the workspaces; errors when it would leave all of them.
pub fn resolve(host: &Host, prim: &str, path: &str) -> Result<PathBuf, Box<rhai::EvalAltResult>> {
    let roots = host.workspaces.lock().expect("workspaces").clone();
    let base = roots.first().cloned().unwrap_or_default();
    let p = Path::new(path);
    let joined = if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
    let normal = normalize(&joined);
    // Follow links of the part that exists, so a symlink cannot point outside.
    let real = existing_prefix_canonical(&normal);
    let inside = roots.iter().any(|r| {
        let r = r.canonicalize().unwrap_or_else(|_| r.clone());
        real.starts_with(&r)
    });
    if !inside {
        return Err(fail(
            prim,
            format!("`{path}` is outside the workspace"),
            Some("scripts may only touch files under the current directory or a repo they checked out"),
        ));
    }
    Ok(normal)
}

/// Entry names of `dir`, sorted, directories ending with `/`, leaving out `skip`.
pub fn list_names(dir: &Path, skip: &[&str]) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .flatten()
        .filter(|e| !skip.iter().any(|s| e.file_name() == *s))
        .map(|e| {
            let n = e.file_name().to_string_lossy().to_string();
            if e.path().is_dir() {
                format!("{n}/")
            } else {
                n
            }
        })
        .collect();
    names.sort();
    Ok(names)
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

fn existing_prefix_canonical(p: &Path) -> PathBuf {
    let mut existing = p.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name().map(|s| s.to_os_string()), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut real = existing.canonicalize().unwrap_or(existing);
    for n in rest.into_iter().rev() {
        real.push(n);
    }
    real
}

pub fn module(host: &Arc<Host>) -> Module {
    let mut m = ApiModule::new("Files inside the workspace (current directory and checked-out repos).");
    let h = host.clone();
    m.func(
        "read",
        &["path: &str", "String"],
        "Read a UTF-8 file.\n\nErrors: missing file, outside the workspace.\n\nExample: `let text = fs::read(\"apps.yaml\");`",
        move |path: &str| {
            let p = resolve(&h, "fs::read", path)?;
            std::fs::read_to_string(&p).map_err(|e| fail("fs::read", format!("{path}: {e}"), None))
        },
    );
    let h = host.clone();
    m.func(
        "write",
        &["path: &str", "text: &str", "()"],
        "Write a file, creating parent directories.\n\nExample: `fs::write(\"out/app.yaml\", text);`",
        move |path: &str, text: &str| {
            let p = resolve(&h, "fs::write", path)?;
            if let Some(dir) = p.parent() {
                std::fs::create_dir_all(dir).map_err(|e| fail("fs::write", format!("{path}: {e}"), None))?;
            }
            std::fs::write(&p, text).map_err(|e| fail("fs::write", format!("{path}: {e}"), None))
        },
    );
    let h = host.clone();
    m.func(
        "exists",
        &["path: &str", "bool"],
        "Whether a file or directory exists.\n\nExample: `if fs::exists(\"Chart.yaml\") { ... }`",
        move |path: &str| Ok::<_, Box<rhai::EvalAltResult>>(resolve(&h, "fs::exists", path)?.exists()),
    );
    let h = host.clone();
    m.func(
        "list",
        &["dir: &str", "Array"],
        "Names of the entries of a directory, sorted (directories end with `/`).\n\nExample: `for f in fs::list(\".\") { print(f); }`",
        move |dir: &str| -> Result<Array, Box<rhai::EvalAltResult>> {
            let p = resolve(&h, "fs::list", dir)?;
            let names = list_names(&p, &[]).map_err(|e| fail("fs::list", format!("{dir}: {e}"), None))?;
            Ok(names.into_iter().map(Dynamic::from).collect())
        },
    );
    m.build()
}

//! `wego trust`: allow (or stop allowing) a repo's `.wego/scripts` and `.wego/stdlib` to run.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{Context, Failure, GlobalArgs};
use crate::engine::diagnostics::Diagnostic;
use crate::engine::Output;
use crate::trust::{Code, Key, Store};

#[derive(Debug, Args)]
#[command(after_help = "\
A repo's .wego/scripts/ and .wego/stdlib/ are code that runs with your tokens and cluster
access, so wego runs them only after you trust that repo. Trust is pinned to a hash of all of
that code: when it changes, wego skips it again (saying so) until you review it and trust it
again. Templates and .wego/config.yaml need no trust: they are data (and a repo's config can
never set providers, checkpoint, limits or where Flux comes from).

The list is kept in $XDG_CONFIG_HOME/wego/trust.yaml.

Examples:
  wego trust                                  # the repo of the current directory
  wego trust ../fleet                         # a work tree by its path
  wego trust https://github.com/org/fleet     # a wego repo that commands clone, by its URL
  wego trust --list
  wego trust --revoke https://github.com/org/fleet")]
pub struct TrustArgs {
    /// The work tree (default: the repo of the current directory) or the URL of a wego repo
    #[arg(value_name = "DIR|URL")]
    pub target: Option<String>,
    /// Stop trusting it
    #[arg(long, conflicts_with = "list")]
    pub revoke: bool,
    /// Show the trusted repos
    #[arg(long, conflicts_with = "target")]
    pub list: bool,
}

pub fn run(g: &GlobalArgs, a: TrustArgs) -> Result<i32, Failure> {
    let ctx = Context::load(g, vec![])?;
    let color = ctx.globals.color;
    let fail = |d: Diagnostic| Failure { diagnostic: d, color, host: None };
    let file = ctx.layers.trust_file().ok_or_else(|| {
        fail(
            Diagnostic::new("there is no user config directory to keep the trust list in")
                .with_help("set XDG_CONFIG_HOME or HOME"),
        )
    })?;
    let mut store = Store::load(&file).map_err(|e| {
        fail(
            Diagnostic::new(format!("invalid trust list: {e}"))
                .with_help("fix or remove the file, then trust your repos again"),
        )
    })?;
    if a.list {
        return Ok(list(&store, ctx.globals.output));
    }
    let (key, code) = match a.target.as_deref() {
        None => {
            let root = ctx.repo_root.clone().ok_or_else(|| {
                fail(
                    Diagnostic::new("the current directory is not in a git work tree")
                        .with_help("run it inside the repo to trust, or name it: `wego trust DIR` or `wego trust URL`"),
                )
            })?;
            local(&root)
        }
        Some(t) if Path::new(t).is_dir() => {
            let dir = PathBuf::from(t);
            let root = crate::layers::find_repo_root(&dir).unwrap_or(dir);
            local(&root)
        }
        Some(t) => {
            let key = Key::url(t).map_err(|e| {
                fail(
                    Diagnostic::new(format!("`{t}` is neither a directory nor a repo URL: {e}"))
                        .with_help("give the path of a work tree or a URL like https://github.com/org/fleet"),
                )
            })?;
            if a.revoke {
                (key, None)
            } else {
                let code = remote(&ctx, t).map_err(fail)?;
                (key, Some(code))
            }
        }
    };
    if a.revoke {
        if store.revoke(&key) {
            store.save().map_err(|e| fail(Diagnostic::new(e)))?;
            eprintln!("✔ {} is no longer trusted; its scripts and stdlib modules will be skipped", key.0);
        } else {
            eprintln!("✔ {} was not trusted", key.0);
        }
        return Ok(0);
    }
    let code = code.unwrap_or_default();
    for f in code.files.keys() {
        println!("{f}");
    }
    if store.trust(&key, &code) {
        store.save().map_err(|e| fail(Diagnostic::new(e)))?;
        eprintln!("✔ trusted {} ({} code files, {})", key.0, code.files.len(), short(&code.hash));
    } else {
        eprintln!("✔ {} is already trusted with this code ({})", key.0, short(&code.hash));
    }
    Ok(0)
}

fn local(root: &Path) -> (Key, Option<Code>) {
    let jail = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    (Key::dir(root), Some(Code::read(&root.join(".wego"), &jail)))
}

/// Clone the default branch (as commands do) and read its code.
fn remote(ctx: &Context, raw: &str) -> Result<Code, Diagnostic> {
    let u = crate::git::url::parse(raw).map_err(Diagnostic::new)?;
    if u.had_secret {
        return Err(Diagnostic::new("the URL carries a password or token")
            .with_help("remove it from the URL and set GITHUB_TOKEN, GITLAB_TOKEN or WEGO_GIT_TOKEN instead"));
    }
    let (provider, entry, _) = crate::git::url::provider_of(&u, &ctx.config.config.providers);
    let allow_http = entry.is_some_and(|p| p.allow_http);
    let target = crate::git::auth::Target { url: u, provider, allow_http };
    let tmp = tempfile::Builder::new()
        .prefix("wego-trust-")
        .tempdir()
        .map_err(|e| Diagnostic::new(format!("cannot create a temporary directory: {e}")))?;
    let dir = tmp.path().join("repo");
    crate::git::remote::clone(&target, &Default::default(), &dir, None, &ctx.config.config.git.default_branch, 1, None)
        .map_err(|e| {
            let d = Diagnostic::new(format!("cannot clone {raw}: {}", e.message));
            match e.help {
                Some(h) => d.with_help(h),
                None => d,
            }
        })?;
    let jail = dir.canonicalize().unwrap_or(dir.clone());
    Ok(Code::read(&dir.join(".wego"), &jail))
}

fn short(hash: &str) -> String {
    hash.chars().take("sha256:".len() + 12).collect()
}

fn list(store: &Store, out: Output) -> i32 {
    match out {
        Output::Table => {
            let rows: Vec<Vec<String>> =
                store.entries().iter().map(|e| vec![e.repo.clone(), e.files.to_string(), short(&e.hash)]).collect();
            let header = ["REPO", "FILES", "HASH"].map(String::from);
            print!("{}", crate::primitives::term::table(&header, &rows));
        }
        out => {
            let v = serde_json::to_value(store.entries()).unwrap_or_default();
            super::files_cmd::print_data(out, &v);
        }
    }
    0
}

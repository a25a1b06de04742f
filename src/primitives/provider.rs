//! `provider::` — the hosting provider's API for scripts: `crate::provider` (the mechanism)
//! mapped to Rhai values, options and errors.

use std::sync::Arc;
use std::time::Duration;

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map, Module};

use super::api::api_module;
use super::host::{fail, Host};
use crate::primitives::log::Level;
use crate::provider::{self as core, CreatePr, CreateRepo, NewKey, Notice, PResult, Policy, PrQuery, Repo, Session};

type R<T> = Result<T, Box<EvalAltResult>>;

/// A provider handle: a host's API, optionally bound to the repository of the URL it was made from.
#[derive(Clone)]
pub struct Provider(Arc<core::Provider>);

/// Register the `Provider` type.
pub fn register_types(engine: &mut Engine) {
    engine.register_type_with_name::<Provider>("Provider");
}

fn for_url(h: &Arc<Host>, raw: &str, opts: &Map) -> R<Provider> {
    const P: &str = "provider::for_url";
    let target = core::resolve(raw, &h.config().providers).map_err(|e| fail(P, e.message, e.help.as_deref()))?;
    let num = |k: &str, d: i64| opts.get(k).and_then(|v| v.as_int().ok()).unwrap_or(d).max(0) as u64;
    let policy = Policy {
        retries: num("retries", 3).min(20) as u32,
        timeout: Duration::from_secs(num("timeout_seconds", 30).max(1)),
        max_wait: Duration::from_secs(num("max_wait_seconds", 60)),
        backoff: Duration::from_millis(num("backoff_ms", 500)),
        settle: Duration::from_secs(num("settle_seconds", 10)),
        deadline: Duration::from_secs(num("deadline_seconds", 300).max(1)),
    };
    let (kind, api) = (target.kind, target.api.clone());
    let token = crate::secrets::api_token(kind);
    let p = h.block_on(core::Provider::connect(target, token, policy)).map_err(|e| fail(P, e, None))?;
    h.session.log.emit(Level::Debug, "…", "90", &format!("{kind} API {api}"));
    Ok(Provider(Arc::new(p)))
}

/// Run one operation of `p`, its retries and waits logged, its error in the script's words.
fn run<T>(h: &Host, p: &Provider, prim: &str, op: impl AsyncFnOnce(&Session<'_>) -> PResult<T>) -> R<T> {
    let log = |n: Notice, msg: &str| match n {
        Notice::Progress => h.session.log.emit(Level::Info, "◎", "36", msg),
        Notice::Detail => h.session.log.emit(Level::Debug, "…", "90", msg),
    };
    let s = p.0.session(&log);
    h.block_on(op(&s)).map_err(|e| fail(prim, e.message, e.help.as_deref()))
}

fn bound<'a>(p: &'a Provider, prim: &str) -> R<Repo<'a>> {
    let help = "make it from a repository URL: provider::for_url(\"https://github.com/org/repo\")";
    p.0.bound().ok_or_else(|| fail(prim, "this provider handle names no repository", Some(help)))
}

fn to_map<T: serde::Serialize>(v: &T, extra: &[(&str, Dynamic)]) -> Map {
    let d = super::to_dynamic(&serde_json::to_value(v).expect("result serializes"));
    let mut m = d.try_cast::<Map>().unwrap_or_default();
    for (k, v) in extra {
        m.insert((*k).into(), v.clone());
    }
    m
}

/// The `state` option of the pull request listings.
fn pr_state(prim: &str, opts: &Map) -> R<String> {
    let state = super::opt_str(opts, "state").unwrap_or_else(|| "open".into());
    if !["open", "closed", "merged", "all"].contains(&state.as_str()) {
        return Err(fail(prim, format!("unknown state `{state}`"), Some("use open, closed, merged or all")));
    }
    Ok(state)
}

/// A required, non-blank string option.
fn need(prim: &str, opts: &Map, k: &str) -> R<String> {
    super::opt_str(opts, k)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| fail(prim, format!("the `{k}` option is required"), None))
}

fn get_repo(h: &Host, p: &Provider, r: Repo<'_>) -> R<Dynamic> {
    let found = run(h, p, "provider.repo", async |s| s.repo(r).await)?;
    Ok(found.map(|r| to_map(&r, &[]).into()).unwrap_or(Dynamic::UNIT))
}

pub fn module(host: &Arc<Host>) -> Module {
    api_module! {
        let h = host;
        //! The Git hosting provider's API (GitHub, GitLab): repositories, pull/merge requests, deploy keys. Tokens:
        //! GITHUB_TOKEN / GITLAB_TOKEN.

        /// A `Provider` handle for the host of `url` — GitHub (github.com) or GitLab (gitlab.com), or any host listed
        /// in the config's `providers:` (`host`, `type`, `apiUrl`; for GitHub Enterprise and self-hosted GitLab). When
        /// `url` names a repository, the handle is bound to it (for `find_pr`, `create_pr` and deploy keys). Options:
        /// `retries` (default 3; retried: 5xx, timeouts, connection errors, rate limits honouring Retry-After),
        /// `timeout_seconds` (per request, default 30), `max_wait_seconds` (longest rate-limit wait accepted, default
        /// 60), `backoff_ms` (first backoff, default 500, doubling), `settle_seconds` (how long to wait for the
        /// provider to catch up with a push or a new repository, default 10), `deadline_seconds` (longest time one call
        /// may take with its retries, default 300). Secondary rate limits without Retry-After are backed off
        /// exponentially; a wait longer than `max_wait_seconds` fails at once, saying when to retry. API URLs must be
        /// https unless the config's entry has `allowHttp: true`. No request is sent until a method is called.
        ///
        /// Errors: no provider known for the host, a URL carrying a secret.
        ///
        /// Example: `let gh = provider::for_url("https://github.com/org/fleet", #{ retries: 5 });`
        fn for_url(url: &str, #[optional] options: Map) -> Provider {
            for_url(h, url, &options)
        }

        /// `github` or `gitlab`.
        ///
        /// Example: `if p.kind() == "gitlab" { ... }`
        method kind(provider: &mut Provider) -> String {
            Ok(provider.0.kind().to_string())
        }

        /// The API base URL in use.
        ///
        /// Example: `log::debug(p.api_url());`
        method api_url(provider: &mut Provider) -> String {
            Ok(provider.0.api().to_string())
        }

        /// `Provider(<kind> <api url> <owner/name>)`.
        ///
        /// Example: `print(p);`
        method to_string | to_debug(provider: &mut Provider) -> String {
            let repo = provider.0.bound().map(|r| format!(" {}/{}", r.owner, r.name)).unwrap_or_default();
            Ok(format!("Provider({} {}{repo})", provider.0.kind(), provider.0.api()))
        }

        /// The user the token belongs to: `#{login, name, email, id}`.
        ///
        /// Errors: no token or a rejected one (names the variable), unreachable API.
        ///
        /// Example: `let me = p.user().login;`
        method user(provider: &mut Provider) -> Map {
            Ok(to_map(&run(h, provider, "provider.user", async |s| s.user().await)?, &[]))
        }

        #[doc = REPO]
        method repo(provider: &mut Provider, owner: &str, name: &str) -> Dynamic {
            get_repo(h, provider, Repo { owner, name })
        }

        #[doc = REPO]
        method repo(provider: &mut Provider) -> Dynamic {
            get_repo(h, provider, bound(provider, "provider.repo")?)
        }

        /// Create a repository and return it like `repo()`, plus `created: true`; an existing one is returned with
        /// `created: false`. Options: `visibility` (`private` (default), `public`, `internal`; or `"private": bool` —
        /// `private` is a reserved word in Rhai, so quote it), `personal` (create under the token's user; default: when
        /// `owner` is that user, else in the organization / group `owner`, GitLab subgroups as `group/sub`),
        /// `description`, `auto_init` (an initial commit; default false).
        ///
        /// Errors: no token or missing scope (names the variable), no such organization/group, `personal` with another
        /// owner.
        ///
        /// Example: `let r = p.create_repo("org", "fleet", #{ visibility: "private" });`
        method create_repo(provider: &mut Provider, owner: &str, name: &str, options: Map) -> Map {
            create_repo(h, provider, owner, name, &options)
        }

        /// The newest pull/merge request of the handle's repository from branch `head` (`"branch"` or, on GitHub,
        /// `"owner:branch"`): `#{number, url, state, head, base, title}`, or `()`. Options: `head` (required), `base`,
        /// `state` (`open` (default), `closed`, `merged`, `all`).
        ///
        /// Errors: no repository on the handle, a rejected token, no such repository.
        ///
        /// Example: `let pr = p.find_pr(#{ head: "wego/add-podinfo" });`
        method find_pr(provider: &mut Provider, options: Map) -> Dynamic {
            const P: &str = "provider.find_pr";
            let r = bound(provider, P)?;
            let head = super::opt_str(&options, "head").ok_or_else(|| fail(P, "the `head` option is required", None))?;
            let base = super::opt_str(&options, "base");
            let state = pr_state(P, &options)?;
            let q = PrQuery { head: Some(&head), base: base.as_deref(), state: &state };
            let prs = run(h, provider, P, async |s| s.prs(r, &q).await)?;
            Ok(prs.first().map(|p| to_map(p, &[]).into()).unwrap_or(Dynamic::UNIT))
        }

        /// The pull/merge requests of the handle's repository, newest first, every page of them: `[#{number, url,
        /// state, head, base, title}]`. Options: `state` (`open` (default), `closed`, `merged`, `all`).
        ///
        /// Errors: no repository on the handle, a rejected token, no such repository.
        ///
        /// Example: `let waiting = p.list_prs(#{}).filter(|pr| pr.head.starts_with("wego/"));`
        method list_prs(provider: &mut Provider, options: Map) -> Array {
            const P: &str = "provider.list_prs";
            let r = bound(provider, P)?;
            let state = pr_state(P, &options)?;
            let q = PrQuery { head: None, base: None, state: &state };
            Ok(run(h, provider, P, async |s| s.prs(r, &q).await)?.iter().map(|p| to_map(p, &[]).into()).collect())
        }

        /// Open a pull/merge request in the handle's repository from branch `head` into `base` (default: the
        /// repository's default branch). If an open one from `head` exists it is returned instead: `#{number, url,
        /// state, head, base, title, created}` with `created` false then. Options: `title` (required), `body`, `head`
        /// (required), `base`.
        ///
        /// Errors: no token or missing scope (names the variable), `head` has no commits that `base` lacks, missing
        /// branch.
        ///
        /// Example: `let pr = p.create_pr(#{ title: "Add podinfo", body: text, head: branch });`
        method create_pr(provider: &mut Provider, options: Map) -> Map {
            const P: &str = "provider.create_pr";
            let r = bound(provider, P)?;
            let (title, head) = (need(P, &options, "title")?, need(P, &options, "head")?);
            let body = super::opt_str(&options, "body").unwrap_or_default();
            let base = super::opt_str(&options, "base");
            let (owner, name) = (r.owner, r.name);
            let req = CreatePr { owner, name, title: &title, body: &body, head: &head, base: base.as_deref() };
            let (pr, created) = run(h, provider, P, async |s| s.create_pr(&req).await)?;
            Ok(to_map(&pr, &[("created", created.into())]))
        }

        /// The SSH host keys the provider publishes for its git host, as `["KEYTYPE BASE64"]` (compose known_hosts
        /// lines as `HOST KEYTYPE BASE64`), or `()` when the provider publishes none. GitHub: `GET /meta` (`ssh_keys`,
        /// each checked against `ssh_key_fingerprints`); GitLab's API has no such endpoint, so `()`. Fetched over the
        /// API's https with the token's trust, so the keys are verified without trusting on first use.
        ///
        /// Errors: unreachable API, a malformed key or one matching no published fingerprint.
        ///
        /// Example: `let keys = p.ssh_host_keys(); if keys != () { let kh = keys.map(|k| `github.com ${k}`); }`
        method ssh_host_keys(provider: &mut Provider) -> Dynamic {
            let keys = run(h, provider, "provider.ssh_host_keys", async |s| s.ssh_host_keys().await)?;
            Ok(keys.map(|ks| Dynamic::from_array(ks.into_iter().map(Dynamic::from).collect())).unwrap_or(Dynamic::UNIT))
        }

        /// The deploy keys of the handle's repository: `[#{id, title, key, read_only}]`.
        ///
        /// Errors: no token or no admin rights (names the variable), no such repository.
        ///
        /// Example: `for k in p.deploy_keys() { print(k.title); }`
        method deploy_keys(provider: &mut Provider) -> Array {
            let r = bound(provider, "provider.deploy_keys")?;
            let keys = run(h, provider, "provider.deploy_keys", async |s| s.deploy_keys(r).await)?;
            Ok(keys.iter().map(|k| to_map(k, &[]).into()).collect())
        }

        /// Add a deploy key (an ssh public key) to the handle's repository; idempotent: a key with the same title and
        /// key is returned as is. Returns `#{id, title, key, read_only, created}`. Options: `title`, `key` (both
        /// required), `read_only` (default true).
        ///
        /// Errors: no token or no admin rights (names the variable), an invalid key, a key already used elsewhere
        /// (GitHub keys are unique per site).
        ///
        /// Example: `p.add_deploy_key(#{ title: "wego-cluster", key: public_key, read_only: true });`
        method add_deploy_key(provider: &mut Provider, options: Map) -> Map {
            const P: &str = "provider.add_deploy_key";
            let r = bound(provider, P)?;
            let (title, key) = (need(P, &options, "title")?, need(P, &options, "key")?);
            let read_only = options.get("read_only").and_then(|v| v.as_bool().ok()).unwrap_or(true);
            let nk = NewKey { title: &title, key: &key, read_only };
            let (k, created) = run(h, provider, P, async |s| s.add_deploy_key(r, &nk).await)?;
            Ok(to_map(&k, &[("created", created.into())]))
        }

        /// Delete a deploy key of the handle's repository by id; `false` when there was no such key.
        ///
        /// Errors: no token or no admin rights (names the variable).
        ///
        /// Example: `for k in p.deploy_keys() { if k.title == "old" { p.delete_deploy_key(k.id); } }`
        method delete_deploy_key(provider: &mut Provider, id: i64) -> bool {
            let r = bound(provider, "provider.delete_deploy_key")?;
            run(h, provider, "provider.delete_deploy_key", async |s| s.delete_deploy_key(r, id).await)
        }
    }
}

/// Shared by both forms of `repo`.
const REPO: &str = "A repository: `#{owner, name, path, visibility, private, default_branch, clone_url, ssh_url, \
                    html_url, id}`, or `()` when it does not exist (or the token cannot see it). Without arguments: \
                    the repository of the handle's URL.\n\n\
                    Errors: a rejected token, unreachable API.\n\n\
                    Example: `let r = p.repo(\"org\", \"fleet\"); if r == () { ... }`";

fn create_repo(h: &Host, p: &Provider, owner: &str, name: &str, opts: &Map) -> R<Map> {
    let personal = opts.get("personal").and_then(|v| v.as_bool().ok());
    // `private` is a reserved word in Rhai (`#{"private": true}` works); `visibility` reads better.
    let visibility = match (super::opt_str(opts, "visibility"), opts.get("private").and_then(|v| v.as_bool().ok())) {
        (Some(v), _) => v,
        (None, Some(false)) => "public".to_string(),
        (None, _) => "private".to_string(),
    };
    if !["private", "public", "internal"].contains(&visibility.as_str()) {
        let cause = format!("unknown visibility `{visibility}`");
        return Err(fail("provider.create_repo", cause, Some("use private, public or internal")));
    }
    let description = super::opt_str(opts, "description");
    let auto_init = super::opt_bool(opts, "auto_init");
    let visibility = &visibility;
    let req = CreateRepo { owner, name, personal, visibility, description: description.as_deref(), auto_init };
    let (r, created) = run(h, p, "provider.create_repo", async |s| s.create_repo(&req).await)?;
    Ok(to_map(&r, &[("created", created.into())]))
}

//! The Git hosting provider's API (GitHub with octocrab, GitLab with the `gitlab` crate):
//! repositories, pull/merge requests, deploy keys, the token's user. This is the mechanism;
//! `primitives::provider` only maps it to scripts.
//!
//! Every request goes through [`Http::send`] (see `http.rs`): the clients' own retries are off,
//! so the counts are ours. Tokens come from GITHUB_TOKEN / GITLAB_TOKEN, go only into request
//! headers, and every message built from a server's answer is redacted.

mod explain;
mod github;
mod gitlab;
mod keys;
mod session;
mod target;
mod transport;
mod types;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::pin::Pin;

pub use explain::Explain;
pub use keys::{checked_host_keys, norm_key};
pub use session::{Provider, Session};
pub use target::{resolve, Target};
pub use transport::{chain, settle, Http, Policy, Resp};
pub use types::*;

/// How loud a note from the HTTP layer is: `Progress` (a wait the user notices) or `Detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Progress,
    Detail,
}

/// Everything one request needs besides its own arguments: how to send (retries, where to
/// log) and how to explain a refusal.
pub struct Call<'a> {
    pub http: Http<'a>,
    pub ex: Explain<'a>,
}

/// A repository by owner (user, organization or GitLab group path) and name.
#[derive(Debug, Clone, Copy)]
pub struct Repo<'a> {
    pub owner: &'a str,
    pub name: &'a str,
}

/// A provider call in flight.
pub type Fut<'a, T> = Pin<Box<dyn Future<Output = PResult<T>> + 'a>>;

/// One hosting provider's API, the same operations for GitHub and GitLab. A lookup answers
/// `None` for "not there"; creations answer whether they created (`false`: it existed).
pub trait Forge {
    fn user<'a>(&'a self, cx: &'a Call<'a>) -> Fut<'a, User>;
    fn repo<'a>(&'a self, cx: &'a Call<'a>, r: Repo<'a>) -> Fut<'a, Option<RepoInfo>>;
    /// Create a repository that does not exist yet, under the token's user when `personal`,
    /// else in the organization / group `req.owner`.
    fn create_repo<'a>(
        &'a self,
        cx: &'a Call<'a>,
        req: &'a CreateRepo<'a>,
        personal: bool,
    ) -> Fut<'a, (RepoInfo, bool)>;
    /// Pull/merge requests matching `q`, newest first, every page.
    fn prs<'a>(&'a self, cx: &'a Call<'a>, r: Repo<'a>, q: &'a PrQuery<'a>) -> Fut<'a, Vec<Pr>>;
    /// Open a pull/merge request into `base`; `None` when the provider says one from the same
    /// head is already open.
    fn create_pr<'a>(&'a self, cx: &'a Call<'a>, req: &'a CreatePr<'a>, base: &'a str) -> Fut<'a, Option<Pr>>;
    fn keys<'a>(&'a self, cx: &'a Call<'a>, r: Repo<'a>) -> Fut<'a, Vec<Key>>;
    fn add_key<'a>(&'a self, cx: &'a Call<'a>, r: Repo<'a>, k: &'a NewKey<'a>) -> Fut<'a, (Key, bool)>;
    /// `false` when there was no such key.
    fn delete_key<'a>(&'a self, cx: &'a Call<'a>, r: Repo<'a>, id: i64) -> Fut<'a, bool>;
    /// The SSH host keys the provider publishes, checked; `None` when it publishes none.
    fn ssh_host_keys<'a>(&'a self, cx: &'a Call<'a>) -> Fut<'a, Option<Vec<String>>>;
}

/// Whether a new repository goes under the token's user (`me`): when asked (`Some(true)`, which
/// must be that user) or when the owner is that user. `group` names the provider's word for an
/// organization in the advice.
pub fn personal_namespace(
    requested: Option<bool>,
    me: &str,
    owner: &str,
    name: &str,
    group: &str,
) -> Result<bool, ProviderError> {
    let mine = me.eq_ignore_ascii_case(owner);
    if requested == Some(true) && !mine {
        return Err(ProviderError::new(
            format!("cannot create {owner}/{name} under your own account: the token belongs to `{me}`"),
            Some(format!("use owner `{me}`, or leave out `personal` to create it in the {group} `{owner}`")),
        ));
    }
    Ok(mine)
}

/// Percent-encode one URL path segment.
pub fn enc(seg: &str) -> String {
    let mut out = String::new();
    for b in seg.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn s(v: &serde_json::Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

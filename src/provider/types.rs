//! What provider calls give back and take, the same shape for both providers.

use crate::secrets;

/// A failed provider call: message and fix, never a token.
#[derive(Debug, Clone)]
pub struct ProviderError {
    pub message: String,
    pub help: Option<String>,
}

impl ProviderError {
    pub fn new(message: impl Into<String>, help: Option<String>) -> Self {
        ProviderError { message: secrets::redact(&message.into()), help: help.map(|h| secrets::redact(&h)) }
    }
}

pub type PResult<T> = Result<T, ProviderError>;

/// `#{owner, name, path, visibility, private, default_branch, clone_url, ssh_url, html_url}`
#[derive(Debug, Clone, serde::Serialize)]
pub struct RepoInfo {
    pub owner: String,
    pub name: String,
    pub path: String,
    pub visibility: String,
    pub private: bool,
    pub default_branch: String,
    pub clone_url: String,
    pub ssh_url: String,
    pub html_url: String,
    pub id: i64,
}

/// `#{number, url, state, head, base, title}`; `state` is `open`, `closed` or `merged`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Pr {
    pub number: i64,
    pub url: String,
    pub state: String,
    pub head: String,
    pub base: String,
    pub title: String,
}

/// `#{id, title, key, read_only}`
#[derive(Debug, Clone, serde::Serialize)]
pub struct Key {
    pub id: i64,
    pub title: String,
    pub key: String,
    pub read_only: bool,
}

/// `#{login, name, email, id}`
#[derive(Debug, Clone, serde::Serialize)]
pub struct User {
    pub login: String,
    pub name: String,
    pub email: String,
    pub id: i64,
}

/// Arguments of `create_repo`.
pub struct CreateRepo<'a> {
    pub owner: &'a str,
    pub name: &'a str,
    pub personal: Option<bool>,
    /// `private`, `public` or `internal`.
    pub visibility: &'a str,
    pub description: Option<&'a str>,
    pub auto_init: bool,
}

/// Arguments of `create_pr`.
pub struct CreatePr<'a> {
    pub owner: &'a str,
    pub name: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub head: &'a str,
    pub base: Option<&'a str>,
}

/// Which pull/merge requests: from branch `head` (`"branch"` or, on GitHub, `"owner:branch"`),
/// into `base`, in `state` (`open`, `closed`, `merged` or `all`).
pub struct PrQuery<'a> {
    pub head: Option<&'a str>,
    pub base: Option<&'a str>,
    pub state: &'a str,
}

/// A deploy key to add.
pub struct NewKey<'a> {
    pub title: &'a str,
    pub key: &'a str,
    pub read_only: bool,
}

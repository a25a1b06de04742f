//! A provider handle and its operations: each builds the request context (what wego tries,
//! for the explanations) and runs the `Forge`; creations are idempotent.

use super::github::GitHub;
use super::gitlab::GitLab;
use super::{
    norm_key, personal_namespace, settle, Call, CreatePr, CreateRepo, Explain, Forge, Http, Key, NewKey, Notice,
    PResult, Policy, Pr, PrQuery, ProviderError, Repo, RepoInfo, Target, User,
};
use crate::secrets::Token;

/// A host's API, optionally bound to the repository of the URL it was made from.
pub struct Provider {
    target: Target,
    token_var: &'static str,
    has_token: bool,
    policy: Policy,
    forge: Box<dyn Forge + Send + Sync>,
}

impl Provider {
    /// Set up the client for `target`; sends nothing. Must run inside a tokio runtime.
    pub async fn connect(target: Target, token: Option<Token>, policy: Policy) -> Result<Provider, String> {
        let forge: Box<dyn Forge + Send + Sync> = match target.kind {
            "github" => Box::new(GitHub::new(&target.api, token.as_ref(), &policy)?),
            _ => Box::new(GitLab::new(&target.api, token.clone()).await?),
        };
        let token_var = crate::secrets::var_for(target.kind);
        Ok(Provider { target, token_var, has_token: token.is_some(), policy, forge })
    }

    /// `github` or `gitlab`.
    pub fn kind(&self) -> &'static str {
        self.target.kind
    }

    pub fn api(&self) -> &str {
        &self.target.api
    }

    /// The repository of the handle's URL, if it named one.
    pub fn bound(&self) -> Option<Repo<'_>> {
        self.target.repo.as_ref().map(|(owner, name)| Repo { owner, name })
    }

    fn name(&self) -> &'static str {
        if self.target.kind == "github" {
            "GitHub"
        } else {
            "GitLab"
        }
    }

    /// The operations, logging retries and waits to `log`.
    pub fn session<'a>(&'a self, log: &'a (dyn Fn(Notice, &str) + Sync)) -> Session<'a> {
        Session { p: self, log }
    }
}

/// A provider handle with somewhere to log.
pub struct Session<'a> {
    p: &'a Provider,
    log: &'a (dyn Fn(Notice, &str) + Sync),
}

impl<'a> Session<'a> {
    fn call<'b>(&'b self, action: &'b str) -> Call<'b> {
        let p = self.p;
        let github = p.target.kind == "github";
        Call {
            http: Http { log: self.log, name: p.name(), api: &p.target.api, policy: &p.policy },
            ex: Explain {
                name: p.name(),
                token_var: p.token_var,
                has_token: p.has_token,
                scope: if github { "repo" } else { "api" },
                action,
                admin_only: action.contains("deploy key"),
            },
        }
    }

    fn forge(&self) -> &'a (dyn Forge + Send + Sync) {
        self.p.forge.as_ref()
    }

    pub async fn user(&self) -> PResult<User> {
        self.forge().user(&self.call("read the token's user")).await
    }

    pub async fn repo(&self, r: Repo<'_>) -> PResult<Option<RepoInfo>> {
        let action = format!("read repository {}/{}", r.owner, r.name);
        self.forge().repo(&self.call(&action), r).await
    }

    /// An existing repository is returned as it is (`false`); a new one once the provider
    /// shows it, so the caller can clone and push right away.
    pub async fn create_repo(&self, req: &CreateRepo<'_>) -> PResult<(RepoInfo, bool)> {
        let r = Repo { owner: req.owner, name: req.name };
        let action = format!("create repository {}/{}", r.owner, r.name);
        let cx = self.call(&action);
        let f = self.forge();
        if let Some(existing) = f.repo(&cx, r).await? {
            return Ok((existing, false));
        }
        let personal = match req.personal {
            Some(false) => false,
            _ => {
                let me = f.user(&cx).await?;
                let group = if self.p.target.kind == "github" { "organization" } else { "group" };
                personal_namespace(req.personal, &me.login, r.owner, r.name, group)?
            }
        };
        let (made, created) = f.create_repo(&cx, req, personal).await?;
        // A new repository is briefly invisible (API 404, clone fails).
        let seen = settle(&cx.http, "wait for the new repository", || async {
            let v = f.repo(&cx, r).await?;
            let missing = v.is_none();
            Ok((v, missing))
        })
        .await?;
        match seen {
            Some(r) => Ok((r, created)),
            None => Err(ProviderError::new(
                format!("created {}, but {} does not show it yet", made.path, self.p.name()),
                Some("run the command again in a minute (a longer wait: the `settle_seconds` option of provider::for_url)".into()),
            )),
        }
    }

    pub async fn prs(&self, r: Repo<'_>, q: &PrQuery<'_>) -> PResult<Vec<Pr>> {
        let action = format!("list pull requests of {}/{}", r.owner, r.name);
        self.forge().prs(&self.call(&action), r, q).await
    }

    /// An open one from the same head is returned instead (`false`). Without a `base`, it
    /// goes into the repository's default branch.
    pub async fn create_pr(&self, req: &CreatePr<'_>) -> PResult<(Pr, bool)> {
        let action = format!("open a pull request in {}/{}", req.owner, req.name);
        let (cx, f) = (self.call(&action), self.forge());
        let repo = Repo { owner: req.owner, name: req.name };
        let open = PrQuery { head: Some(req.head), base: None, state: "open" };
        if let Some(p) = f.prs(&cx, repo, &open).await?.into_iter().next() {
            return Ok((p, false));
        }
        let base = match req.base {
            Some(b) => b.to_string(),
            None => match f.repo(&cx, repo).await? {
                Some(r) if !r.default_branch.is_empty() => r.default_branch,
                Some(_) => {
                    return Err(ProviderError::new(
                        format!("cannot {action}: the repository has no default branch yet"),
                        Some("push a first commit, or pass `base`".into()),
                    ))
                }
                None => {
                    let missing = format!("cannot {action}: no repository {}/{}", req.owner, req.name);
                    return Err(ProviderError::new(missing, None));
                }
            },
        };
        if let Some(p) = f.create_pr(&cx, req, &base).await? {
            return Ok((p, true));
        }
        // Opened meanwhile by another run: the provider refused a second one.
        match f.prs(&cx, repo, &open).await?.into_iter().next() {
            Some(p) => Ok((p, false)),
            None => Err(ProviderError::new(
                format!("cannot {action}: {} says one from `{}` exists but lists none open", self.p.name(), req.head),
                Some("run the command again in a minute".into()),
            )),
        }
    }

    pub async fn ssh_host_keys(&self) -> PResult<Option<Vec<String>>> {
        self.forge().ssh_host_keys(&self.call("read the provider's SSH host keys")).await
    }

    pub async fn deploy_keys(&self, r: Repo<'_>) -> PResult<Vec<Key>> {
        let action = format!("list the deploy keys of {}/{}", r.owner, r.name);
        self.forge().keys(&self.call(&action), r).await
    }

    /// Idempotent: a key with the same title and key is returned as is (`false`).
    pub async fn add_deploy_key(&self, r: Repo<'_>, k: &NewKey<'_>) -> PResult<(Key, bool)> {
        let action = format!("add a deploy key to {}/{}", r.owner, r.name);
        let cx = self.call(&action);
        let existing = self.forge().keys(&cx, r).await?;
        if let Some(e) = existing.iter().find(|e| e.title == k.title && norm_key(&e.key) == norm_key(k.key)) {
            return Ok((e.clone(), false));
        }
        let (added, created) = self.forge().add_key(&cx, r, k).await?;
        // GitLab answers an already-present key with that key: not created then.
        let created = created && !existing.iter().any(|e| e.id == added.id);
        Ok((added, created))
    }

    /// `false` when there was no such key.
    pub async fn delete_deploy_key(&self, r: Repo<'_>, id: i64) -> PResult<bool> {
        let action = format!("delete deploy key {id} of {}/{}", r.owner, r.name);
        self.forge().delete_key(&self.call(&action), r, id).await
    }
}

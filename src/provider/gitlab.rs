//! GitLab (gitlab.com or self-hosted, also under a path prefix) through the `gitlab` crate's
//! async client and its documented endpoint builders. The client is built unauthenticated, so
//! building it sends nothing (the authenticated builder probes `GET /user` first); wego adds
//! the `PRIVATE-TOKEN` header (marked sensitive) to each request and reads status and headers
//! itself, for its own retries and explanations.

use gitlab::api::common::VisibilityLevel;
use gitlab::api::projects::deploy_keys::{CreateDeployKey, DeleteDeployKey, DeployKeys};
use gitlab::api::projects::merge_requests::{CreateMergeRequest, MergeRequestState, MergeRequests};
use gitlab::api::projects::{CreateProject, Project};
use gitlab::api::{AsyncClient, Endpoint, RestClient};
use serde_json::Value;

use super::{
    chain, s, Call, CreatePr, CreateRepo, Forge, Fut, Key, NewKey, PResult, Pr, PrQuery, ProviderError, Repo, RepoInfo,
    Resp, User,
};
use crate::secrets::Token;

pub struct GitLab {
    client: gitlab::AsyncGitlab,
    token: Option<Token>,
}

fn repo_info(v: &Value) -> RepoInfo {
    let visibility = s(&v["visibility"]);
    RepoInfo {
        owner: s(&v["namespace"]["full_path"]),
        name: s(&v["path"]),
        path: s(&v["path_with_namespace"]),
        private: visibility != "public",
        visibility,
        default_branch: s(&v["default_branch"]),
        clone_url: s(&v["http_url_to_repo"]),
        ssh_url: s(&v["ssh_url_to_repo"]),
        html_url: s(&v["web_url"]),
        id: v["id"].as_i64().unwrap_or_default(),
    }
}

fn mr(v: &Value) -> Pr {
    let state = match v["state"].as_str().unwrap_or_default() {
        "opened" => "open".to_string(),
        other => other.to_string(),
    };
    Pr {
        number: v["iid"].as_i64().unwrap_or_default(),
        url: s(&v["web_url"]),
        state,
        head: s(&v["source_branch"]),
        base: s(&v["target_branch"]),
        title: s(&v["title"]),
    }
}

fn key(v: &Value) -> Key {
    Key {
        id: v["id"].as_i64().unwrap_or_default(),
        title: s(&v["title"]),
        key: s(&v["key"]),
        read_only: !v["can_push"].as_bool().unwrap_or(false),
    }
}

fn build_err(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::new(format!("cannot build the GitLab request: {e}"), None)
}

impl GitLab {
    /// `api`: `https://gitlab.example.com`, optionally with a path prefix and/or `/api/v4`;
    /// `http://` for plain-HTTP servers.
    pub async fn new(api: &str, token: Option<Token>) -> Result<Self, String> {
        let (insecure, rest) = match api.strip_prefix("http://") {
            Some(r) => (true, r),
            None => (false, api.strip_prefix("https://").unwrap_or(api)),
        };
        let host = rest.trim_end_matches('/');
        let host = host.strip_suffix("/api/v4").unwrap_or(host).trim_end_matches('/');
        let mut b = gitlab::GitlabBuilder::new_unauthenticated(host);
        if insecure {
            b.insecure();
        }
        let client =
            b.build_async().await.map_err(|e| format!("cannot set up the GitLab client for {api}: {}", chain(&e)))?;
        Ok(GitLab { client, token })
    }

    async fn once<E: Endpoint + Sync>(&self, ep: &E, page: Option<u32>) -> Result<Resp, String> {
        let mut url = self.client.rest_endpoint(&ep.endpoint()).map_err(|e| chain(&e))?;
        ep.parameters().add_to_url(&mut url);
        if let Some(p) = page {
            url.query_pairs_mut().append_pair("per_page", "100").append_pair("page", &p.to_string());
        }
        let mut req = http::Request::builder().method(ep.method()).uri(url.as_str());
        // `Authorization: Bearer` (GitLab accepts personal access tokens so), not PRIVATE-TOKEN:
        // the HTTP client drops Authorization when a redirect leaves the host, but it would
        // forward a custom header to wherever the redirect points.
        if let Some(t) = &self.token {
            let mut v = http::HeaderValue::from_str(&format!("Bearer {}", t.expose()))
                .map_err(|_| "the token is not a valid header value".to_string())?;
            v.set_sensitive(true);
            req = req.header(http::header::AUTHORIZATION, v);
        }
        let (req, data) = match ep.body().map_err(|e| chain(&e))? {
            Some((mime, data)) => (req.header(http::header::CONTENT_TYPE, mime), data),
            None => (req, Vec::new()),
        };
        let rsp = self.client.rest_async(req, data).await.map_err(|e| chain(&e))?;
        Ok(Resp {
            status: rsp.status().as_u16(),
            headers: rsp.headers().clone(),
            body: String::from_utf8_lossy(rsp.body()).into_owned(),
        })
    }

    async fn call<E: Endpoint + Sync>(&self, cx: &Call<'_>, ep: &E, page: Option<u32>) -> PResult<Resp> {
        let what = format!("{} /api/v4/{}", ep.method(), ep.endpoint());
        cx.http.send(&what, move || self.once(ep, page)).await
    }

    /// Every page of a list endpoint.
    async fn all<E: Endpoint + Sync>(&self, cx: &Call<'_>, ep: &E) -> PResult<Vec<Value>> {
        let mut out = Vec::new();
        let mut page = 1;
        for _ in 0..50 {
            let r = self.call(cx, ep, Some(page)).await?;
            if !r.ok() {
                return Err(cx.ex.error(&r));
            }
            out.extend(r.json().as_array().cloned().unwrap_or_default());
            match r.header("x-next-page").and_then(|p| p.trim().parse::<u32>().ok()) {
                Some(next) if next > page => page = next,
                _ => break,
            }
        }
        Ok(out)
    }

    async fn user(&self, cx: &Call<'_>) -> PResult<User> {
        let ep = gitlab::api::users::CurrentUser::builder().build().map_err(build_err)?;
        let r = self.call(cx, &ep, None).await?;
        if !r.ok() {
            return Err(cx.ex.error(&r));
        }
        let v = r.json();
        Ok(User {
            login: s(&v["username"]),
            name: s(&v["name"]),
            email: v["email"].as_str().or(v["public_email"].as_str()).unwrap_or_default().to_string(),
            id: v["id"].as_i64().unwrap_or_default(),
        })
    }

    async fn repo(&self, cx: &Call<'_>, r: Repo<'_>) -> PResult<Option<RepoInfo>> {
        let ep = Project::builder().project(format!("{}/{}", r.owner, r.name)).build().map_err(build_err)?;
        self.call(cx, &ep, None).await?.found(&cx.ex, repo_info)
    }

    async fn create_repo(&self, cx: &Call<'_>, req: &CreateRepo<'_>, personal: bool) -> PResult<(RepoInfo, bool)> {
        let (o, n, ex) = (req.owner, req.name, &cx.ex);
        let mut b = CreateProject::builder();
        b.name(n).path(n).initialize_with_readme(req.auto_init);
        b.visibility(match req.visibility {
            "public" => VisibilityLevel::Public,
            "internal" => VisibilityLevel::Internal,
            _ => VisibilityLevel::Private,
        });
        if let Some(d) = req.description {
            b.description(d);
        }
        if !personal {
            let ep = gitlab::api::namespaces::Namespace::builder().namespace(o).build().map_err(build_err)?;
            let r = self.call(cx, &ep, None).await?;
            if r.status == 404 {
                return Err(ProviderError::new(
                    format!("cannot create {o}/{n}: there is no group `{o}` the token can see ({})", r.message()),
                    Some("check the group's full path (subgroups as `group/sub`); for your own namespace use your username as owner (GITLAB_TOKEN's user)".into()),
                ));
            }
            if !r.ok() {
                return Err(ex.error(&r));
            }
            let id = r.json()["id"]
                .as_u64()
                .ok_or_else(|| ProviderError::new(format!("GitLab sent no id for group `{o}`"), None))?;
            b.namespace_id(id);
        }
        let ep = b.build().map_err(build_err)?;
        let r = self.call(cx, &ep, None).await?;
        if r.ok() {
            return Ok((repo_info(&r.json()), true));
        }
        if r.status == 400 && r.message().contains("has already been taken") {
            if let Some(existing) = self.repo(cx, Repo { owner: o, name: n }).await? {
                return Ok((existing, false));
            }
        }
        Err(ex.error(&r))
    }

    /// The project's merge requests (newest first, every page: GitLab sends 20 per page unless
    /// asked), optionally from one source branch into one target.
    async fn prs(&self, cx: &Call<'_>, r: Repo<'_>, q: &PrQuery<'_>) -> PResult<Vec<Pr>> {
        let (o, n, state, base) = (r.owner, r.name, q.state, q.base);
        let branch = q.head.map(|h| h.split_once(':').map(|(_, b)| b).unwrap_or(h));
        let mut b = MergeRequests::builder();
        b.project(format!("{o}/{n}"));
        if let Some(branch) = branch {
            b.source_branch(branch);
        }
        if let Some(base) = base {
            b.target_branch(base);
        }
        match state {
            "open" => b.state(MergeRequestState::Opened),
            "closed" => b.state(MergeRequestState::Closed),
            "merged" => b.state(MergeRequestState::Merged),
            _ => &mut b,
        };
        let ep = b.build().map_err(build_err)?;
        let mut mrs: Vec<Pr> = self
            .all(cx, &ep)
            .await?
            .iter()
            .map(mr)
            .filter(|m| {
                branch.is_none_or(|b| m.head == b)
                    && base.is_none_or(|b| m.base == b)
                    && (state == "all" || m.state == state)
            })
            .collect();
        mrs.sort_by_key(|m| -m.number);
        Ok(mrs)
    }

    /// Open a merge request into `base`; `None` when GitLab says one from `head` exists.
    async fn create_pr(&self, cx: &Call<'_>, req: &CreatePr<'_>, base: &str) -> PResult<Option<Pr>> {
        let (o, n) = (req.owner, req.name);
        let head = req.head.split_once(':').map(|(_, b)| b).unwrap_or(req.head);
        let ep = CreateMergeRequest::builder()
            .project(format!("{o}/{n}"))
            .source_branch(head)
            .target_branch(base)
            .title(req.title)
            .description(req.body)
            .build()
            .map_err(build_err)?;
        // Right after a push GitLab may not know the source branch yet: retried for a while.
        let r = super::settle(&cx.http, "open the merge request", || async {
            let r = self.call(cx, &ep, None).await?;
            let settling =
                r.status == 409 && r.message().contains("Source branch") && r.message().contains("does not exist");
            Ok((r, settling))
        })
        .await?;
        if r.ok() {
            return Ok(Some(mr(&r.json())));
        }
        if r.status == 409 && r.message().contains("already exists") {
            return Ok(None);
        }
        Err(cx.ex.error(&r))
    }

    async fn keys(&self, cx: &Call<'_>, r: Repo<'_>) -> PResult<Vec<Key>> {
        let ep = DeployKeys::builder().project(format!("{}/{}", r.owner, r.name)).build().map_err(build_err)?;
        Ok(self.all(cx, &ep).await?.iter().map(key).collect())
    }

    async fn add_key(&self, cx: &Call<'_>, r: Repo<'_>, k: &NewKey<'_>) -> PResult<(Key, bool)> {
        let ep = CreateDeployKey::builder()
            .project(format!("{}/{}", r.owner, r.name))
            .title(k.title)
            .key(k.key.trim())
            .can_push(!k.read_only)
            .build()
            .map_err(build_err)?;
        let r = self.call(cx, &ep, None).await?;
        if r.ok() {
            return Ok((key(&r.json()), true));
        }
        Err(cx.ex.error(&r))
    }

    async fn delete_key(&self, cx: &Call<'_>, r: Repo<'_>, id: i64) -> PResult<bool> {
        let ep = DeleteDeployKey::builder()
            .project(format!("{}/{}", r.owner, r.name))
            .deploy_key(id.max(0) as u64)
            .build()
            .map_err(build_err)?;
        let r = self.call(cx, &ep, None).await?;
        match r.status {
            404 => Ok(false),
            _ if r.ok() => Ok(true),
            _ => Err(cx.ex.error(&r)),
        }
    }
}

impl Forge for GitLab {
    fn user<'a>(&'a self, cx: &'a Call<'a>) -> Fut<'a, User> {
        Box::pin(GitLab::user(self, cx))
    }
    fn repo<'a>(&'a self, cx: &'a Call<'a>, r: Repo<'a>) -> Fut<'a, Option<RepoInfo>> {
        Box::pin(GitLab::repo(self, cx, r))
    }
    fn create_repo<'a>(
        &'a self,
        cx: &'a Call<'a>,
        req: &'a CreateRepo<'a>,
        personal: bool,
    ) -> Fut<'a, (RepoInfo, bool)> {
        Box::pin(GitLab::create_repo(self, cx, req, personal))
    }
    fn prs<'a>(&'a self, cx: &'a Call<'a>, r: Repo<'a>, q: &'a PrQuery<'a>) -> Fut<'a, Vec<Pr>> {
        Box::pin(GitLab::prs(self, cx, r, q))
    }
    fn create_pr<'a>(&'a self, cx: &'a Call<'a>, req: &'a CreatePr<'a>, base: &'a str) -> Fut<'a, Option<Pr>> {
        Box::pin(GitLab::create_pr(self, cx, req, base))
    }
    fn keys<'a>(&'a self, cx: &'a Call<'a>, r: Repo<'a>) -> Fut<'a, Vec<Key>> {
        Box::pin(GitLab::keys(self, cx, r))
    }
    fn add_key<'a>(&'a self, cx: &'a Call<'a>, r: Repo<'a>, k: &'a NewKey<'a>) -> Fut<'a, (Key, bool)> {
        Box::pin(GitLab::add_key(self, cx, r, k))
    }
    fn delete_key<'a>(&'a self, cx: &'a Call<'a>, r: Repo<'a>, id: i64) -> Fut<'a, bool> {
        Box::pin(GitLab::delete_key(self, cx, r, id))
    }
    /// GitLab's API publishes no SSH host keys.
    fn ssh_host_keys<'a>(&'a self, _cx: &'a Call<'a>) -> Fut<'a, Option<Vec<String>>> {
        Box::pin(async { Ok(None) })
    }
}

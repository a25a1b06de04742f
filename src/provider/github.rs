//! GitHub (and GitHub Enterprise) through octocrab. Requests are sent with octocrab's raw
//! methods so wego sees status and headers (Retry-After, rate limits, Link) itself; octocrab's
//! retry layer is off. Paths are relative, so octocrab's base URI (and its `/api/v3` prefix)
//! applies.

use http::Method;
use octocrab::service::middleware::retry::RetryConfig;
use octocrab::Octocrab;
use serde_json::{json, Value};

use super::{
    chain, enc, s, Call, CreatePr, CreateRepo, Forge, Fut, Key, NewKey, PResult, Pr, PrQuery, ProviderError, Repo,
    RepoInfo, Resp, User,
};
use crate::secrets::Token;

pub struct GitHub {
    octo: Octocrab,
    /// The API URL (its path is `/api/v3` on Enterprise), to make `Link` URLs relative.
    base: Option<url::Url>,
}

fn repo_info(v: &Value) -> RepoInfo {
    let private = v["private"].as_bool().unwrap_or(false);
    RepoInfo {
        owner: s(&v["owner"]["login"]),
        name: s(&v["name"]),
        path: s(&v["full_name"]),
        visibility: v["visibility"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| if private { "private" } else { "public" }.into()),
        private,
        default_branch: s(&v["default_branch"]),
        clone_url: s(&v["clone_url"]),
        ssh_url: s(&v["ssh_url"]),
        html_url: s(&v["html_url"]),
        id: v["id"].as_i64().unwrap_or_default(),
    }
}

fn pr(v: &Value) -> Pr {
    let state = if v["merged_at"].is_string() { "merged".to_string() } else { s(&v["state"]) };
    Pr {
        number: v["number"].as_i64().unwrap_or_default(),
        url: s(&v["html_url"]),
        state,
        head: s(&v["head"]["ref"]),
        base: s(&v["base"]["ref"]),
        title: s(&v["title"]),
    }
}

fn key(v: &Value) -> Key {
    Key {
        id: v["id"].as_i64().unwrap_or_default(),
        title: s(&v["title"]),
        key: s(&v["key"]),
        read_only: v["read_only"].as_bool().unwrap_or(true),
    }
}

/// The `rel="next"` URL of a `Link` header; `None` when there is none or it is malformed
/// (a malformed header ends the listing, it never panics).
fn next_link(r: &Resp) -> Option<String> {
    parse_next(r.header("link")?)
}

fn parse_next(link: &str) -> Option<String> {
    link.split(',').find(|p| p.split(';').skip(1).any(|a| a.trim() == "rel=\"next\"")).and_then(|p| {
        let url = p.split(';').next()?.trim();
        let url = url.strip_prefix('<')?.strip_suffix('>')?;
        (!url.is_empty()).then(|| url.to_string())
    })
}

impl GitHub {
    /// Must run inside a tokio runtime: octocrab builds its client in one.
    pub fn new(api: &str, token: Option<&Token>, policy: &super::Policy) -> Result<Self, String> {
        let mut b = Octocrab::builder()
            .base_uri(api)
            .map_err(|e| format!("invalid GitHub API URL {api}: {}", chain(&e)))?
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(policy.timeout))
            .set_read_timeout(Some(policy.timeout))
            .set_write_timeout(Some(policy.timeout));
        if let Some(t) = token {
            b = b.personal_token(t.expose().to_string());
        }
        let octo = b.build().map_err(|e| format!("cannot set up the GitHub client: {}", chain(&e)))?;
        Ok(GitHub { octo, base: url::Url::parse(api).ok() })
    }

    async fn once(&self, method: &Method, path: &str, body: Option<&Value>) -> Result<Resp, String> {
        let r = match *method {
            Method::POST => self.octo._post(path, body).await,
            Method::PATCH => self.octo._patch(path, body).await,
            Method::DELETE => self.octo._delete(path, body).await,
            _ => self.octo._get(path).await,
        }
        .map_err(|e| chain(&e))?;
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = self.octo.body_to_string(r).await.map_err(|e| chain(&e))?;
        Ok(Resp { status, headers, body })
    }

    async fn call(&self, cx: &Call<'_>, method: Method, path: &str, body: Option<Value>) -> PResult<Resp> {
        let what = format!("{method} {}", path.split('?').next().unwrap_or(path));
        let (m, b) = (&method, body.as_ref());
        cx.http.send(&what, move || self.once(m, path, b)).await
    }

    /// A `Link` URL back to a path relative to the API base; `None` for a link elsewhere
    /// (wego follows links to its own API only: they carry its token).
    fn relative(&self, link: &str) -> Option<String> {
        let u = url::Url::parse(link).ok()?;
        let base = self.base.as_ref()?;
        if (u.scheme(), u.host_str(), u.port_or_known_default())
            != (base.scheme(), base.host_str(), base.port_or_known_default())
        {
            return None;
        }
        let path = u.path().strip_prefix(base.path().trim_end_matches('/')).unwrap_or(u.path());
        Some(match u.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        })
    }

    async fn user(&self, cx: &Call<'_>) -> PResult<User> {
        let r = self.call(cx, Method::GET, "/user", None).await?;
        if !r.ok() {
            return Err(cx.ex.error(&r));
        }
        let v = r.json();
        Ok(User {
            login: s(&v["login"]),
            name: s(&v["name"]),
            email: s(&v["email"]),
            id: v["id"].as_i64().unwrap_or_default(),
        })
    }

    async fn repo(&self, cx: &Call<'_>, r: Repo<'_>) -> PResult<Option<RepoInfo>> {
        let path = format!("/repos/{}/{}", enc(r.owner), enc(r.name));
        self.call(cx, Method::GET, &path, None).await?.found(&cx.ex, repo_info)
    }

    async fn create_repo(&self, cx: &Call<'_>, req: &CreateRepo<'_>, personal: bool) -> PResult<(RepoInfo, bool)> {
        let (o, n) = (req.owner, req.name);
        let mut body = json!({ "name": n, "private": req.visibility != "public", "auto_init": req.auto_init });
        if req.visibility == "internal" {
            body["visibility"] = Value::String("internal".into());
        }
        if let Some(d) = req.description {
            body["description"] = Value::String(d.to_string());
        }
        let path = if personal { "/user/repos".to_string() } else { format!("/orgs/{}/repos", enc(o)) };
        let r = self.call(cx, Method::POST, &path, Some(body)).await?;
        if r.ok() {
            return Ok((repo_info(&r.json()), true));
        }
        if r.status == 422 && r.message().contains("already exists") {
            if let Some(existing) = self.repo(cx, Repo { owner: o, name: n }).await? {
                return Ok((existing, false));
            }
        }
        if r.status == 404 && !personal {
            return Err(ProviderError::new(
                format!("cannot create {o}/{n}: there is no organization `{o}` the token can see ({})", r.message()),
                Some("check the owner; for a repository under your own account use your login as owner (GITHUB_TOKEN's user)".into()),
            ));
        }
        Err(cx.ex.error(&r))
    }

    /// `GET /repos/{o}/{n}/pulls`, optionally from one head (`branch` of the repository's
    /// owner, or `owner:branch`) into one base.
    async fn prs(&self, cx: &Call<'_>, r: Repo<'_>, q: &PrQuery<'_>) -> PResult<Vec<Pr>> {
        let (state, base) = (q.state, q.base);
        let head = q.head.map(|h| h.split_once(':').unwrap_or((r.owner, h)));
        let (o, n) = (r.owner, r.name);
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("state", if state == "merged" { "closed" } else { state });
        if let Some((owner, branch)) = head {
            q.append_pair("head", &format!("{owner}:{branch}"));
        }
        if let Some(b) = base {
            q.append_pair("base", b);
        }
        q.append_pair("per_page", "100");
        let path = format!("/repos/{}/{}/pulls?{}", enc(o), enc(n), q.finish());
        let all = self.pages(cx, path).await?;
        let mut prs: Vec<Pr> = all
            .iter()
            .filter(|v| head.is_none_or(|(_, branch)| s(&v["head"]["ref"]) == branch))
            .map(pr)
            .filter(|p| base.is_none_or(|b| p.base == b) && (state != "merged" || p.state == "merged"))
            .collect();
        prs.sort_by_key(|p| -p.number);
        Ok(prs)
    }

    /// Open a pull request into `base`; `None` when GitHub says one from `head` exists.
    async fn create_pr(&self, cx: &Call<'_>, req: &CreatePr<'_>, base: &str) -> PResult<Option<Pr>> {
        let (o, n, ex) = (req.owner, req.name, &cx.ex);
        let body = json!({ "title": req.title, "body": req.body, "head": req.head, "base": base });
        let path = format!("/repos/{}/{}/pulls", enc(o), enc(n));
        // Right after a push GitHub may not know the head's commits yet: "No commits between"
        // or head `invalid` then settle within moments, so they are retried for a while.
        let r = super::settle(&cx.http, "open the pull request", || async {
            let r = self.call(cx, Method::POST, &path, Some(body.clone())).await?;
            let msg = r.message();
            let settling = r.status == 422 && (msg.contains("No commits between") || msg.contains("head invalid"));
            Ok((r, settling))
        })
        .await?;
        if r.ok() {
            return Ok(Some(pr(&r.json())));
        }
        let msg = r.message();
        if r.status == 422 && msg.contains("already exists") {
            return Ok(None);
        }
        if r.status == 422 && msg.contains("No commits between") {
            return Err(ProviderError::new(
                format!("cannot {}: `{}` has no commits that `{base}` lacks", ex.action, req.head),
                Some("push the changes to the branch first".into()),
            ));
        }
        if r.status == 422 && msg.contains("head invalid") {
            return Err(ProviderError::new(
                format!("cannot {}: GitHub does not know the branch `{}` ({msg})", ex.action, req.head),
                Some("push the branch first (as `owner:branch` for a fork)".into()),
            ));
        }
        Err(ex.error(&r))
    }

    async fn keys(&self, cx: &Call<'_>, r: Repo<'_>) -> PResult<Vec<Key>> {
        let path = format!("/repos/{}/{}/keys?per_page=100", enc(r.owner), enc(r.name));
        Ok(self.pages(cx, path).await?.iter().map(key).collect())
    }

    /// Every item of a list endpoint, following `Link: rel="next"` (to this API only; at most
    /// 50 pages).
    async fn pages(&self, cx: &Call<'_>, mut path: String) -> PResult<Vec<Value>> {
        let mut out = Vec::new();
        for _ in 0..50 {
            let r = self.call(cx, Method::GET, &path, None).await?;
            if !r.ok() {
                return Err(cx.ex.error(&r));
            }
            out.extend(r.json().as_array().cloned().unwrap_or_default());
            match next_link(&r).and_then(|l| self.relative(&l)) {
                Some(next) => path = next,
                None => break,
            }
        }
        Ok(out)
    }

    /// `GET /meta`'s `ssh_keys`, checked against its `ssh_key_fingerprints`.
    async fn ssh_host_keys(&self, cx: &Call<'_>) -> PResult<Option<Vec<String>>> {
        let r = self.call(cx, Method::GET, "/meta", None).await?;
        if !r.ok() {
            return Err(cx.ex.error(&r));
        }
        let v = r.json();
        let Some(keys) = v["ssh_keys"].as_array() else { return Ok(None) };
        let keys: Vec<String> = keys.iter().filter_map(|k| k.as_str().map(str::to_string)).collect();
        let fps: Vec<String> = v["ssh_key_fingerprints"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(_, f)| f.as_str().map(str::to_string))
            .collect();
        if keys.is_empty() {
            return Ok(None);
        }
        super::checked_host_keys(&keys, &fps).map(Some)
    }

    async fn add_key(&self, cx: &Call<'_>, repo: Repo<'_>, nk: &NewKey<'_>) -> PResult<(Key, bool)> {
        let (o, n, ex, k) = (repo.owner, repo.name, &cx.ex, nk.key);
        let body = json!({ "title": nk.title, "key": k.trim(), "read_only": nk.read_only });
        let r = self.call(cx, Method::POST, &format!("/repos/{}/{}/keys", enc(o), enc(n)), Some(body)).await?;
        if r.ok() {
            return Ok((key(&r.json()), true));
        }
        if r.status == 422 && r.message().contains("already in use") {
            if let Some(existing) =
                self.keys(cx, repo).await?.into_iter().find(|e| super::norm_key(&e.key) == super::norm_key(k))
            {
                return Ok((existing, false));
            }
            return Err(ProviderError::new(
                format!("cannot {}: the key is already in use by another repository or account", ex.action),
                Some("GitHub deploy keys are unique across the site: generate a key per repository".into()),
            ));
        }
        Err(ex.error(&r))
    }

    async fn delete_key(&self, cx: &Call<'_>, r: Repo<'_>, id: i64) -> PResult<bool> {
        let path = format!("/repos/{}/{}/keys/{id}", enc(r.owner), enc(r.name));
        let r = self.call(cx, Method::DELETE, &path, None).await?;
        match r.status {
            404 => Ok(false),
            _ if r.ok() => Ok(true),
            _ => Err(cx.ex.error(&r)),
        }
    }
}

impl Forge for GitHub {
    fn user<'a>(&'a self, cx: &'a Call<'a>) -> Fut<'a, User> {
        Box::pin(GitHub::user(self, cx))
    }
    fn repo<'a>(&'a self, cx: &'a Call<'a>, r: Repo<'a>) -> Fut<'a, Option<RepoInfo>> {
        Box::pin(GitHub::repo(self, cx, r))
    }
    fn create_repo<'a>(
        &'a self,
        cx: &'a Call<'a>,
        req: &'a CreateRepo<'a>,
        personal: bool,
    ) -> Fut<'a, (RepoInfo, bool)> {
        Box::pin(GitHub::create_repo(self, cx, req, personal))
    }
    fn prs<'a>(&'a self, cx: &'a Call<'a>, r: Repo<'a>, q: &'a PrQuery<'a>) -> Fut<'a, Vec<Pr>> {
        Box::pin(GitHub::prs(self, cx, r, q))
    }
    fn create_pr<'a>(&'a self, cx: &'a Call<'a>, req: &'a CreatePr<'a>, base: &'a str) -> Fut<'a, Option<Pr>> {
        Box::pin(GitHub::create_pr(self, cx, req, base))
    }
    fn keys<'a>(&'a self, cx: &'a Call<'a>, r: Repo<'a>) -> Fut<'a, Vec<Key>> {
        Box::pin(GitHub::keys(self, cx, r))
    }
    fn add_key<'a>(&'a self, cx: &'a Call<'a>, r: Repo<'a>, k: &'a NewKey<'a>) -> Fut<'a, (Key, bool)> {
        Box::pin(GitHub::add_key(self, cx, r, k))
    }
    fn delete_key<'a>(&'a self, cx: &'a Call<'a>, r: Repo<'a>, id: i64) -> Fut<'a, bool> {
        Box::pin(GitHub::delete_key(self, cx, r, id))
    }
    fn ssh_host_keys<'a>(&'a self, cx: &'a Call<'a>) -> Fut<'a, Option<Vec<String>>> {
        Box::pin(GitHub::ssh_host_keys(self, cx))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_next;

    #[test]
    fn link_headers_never_panic() {
        let ok = r#"<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last""#;
        assert_eq!(parse_next(ok).as_deref(), Some("https://api.github.com/x?page=2"));
        for bad in [
            r#">https://x<; rel="next""#,
            r#"<; rel="next""#,
            r#"<>; rel="next""#,
            r#"https://x; rel="next""#,
            r#"<https://x>; rel="prev""#,
            "",
            ",,,;;;<>",
            r#"<https://x>; rel="nextish""#,
            "\u{00e9}<\u{00e9}; rel=\"next\"",
        ] {
            assert_eq!(parse_next(bad), None, "{bad}");
        }
    }
}

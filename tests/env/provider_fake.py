#!/usr/bin/env python3
"""Stateful fake of the GitHub REST API or the GitLab REST v4 API, for wego's tests (stdlib only).

  python3 provider_fake.py --flavor github|gitlab --port N --git-root DIR \
      --git-http-base http://127.0.0.1:18081/github --ssh-base ssh://root@127.0.0.1:12222/var/tmp/wego-git/srv/github \
      --token TOKEN [--user LOGIN] [--git-daemon-base git://127.0.0.1:19418/github] [--web-base URL] [-v]

State lives in memory. Creating a repository/project also creates a bare git repository
DIR/OWNER/NAME.git (served by tests/env/git-up.sh when DIR is under $GIT_DIR_ROOT/srv), and the
clone/ssh URLs in responses are built from --git-http-base/--ssh-base. Pull/merge requests read
branch SHAs from those bare repositories; merging really merges in them.

Response shapes follow docs.github.com (schemas full-repository, pull-request, deploy-key,
simple-user, private-user, organization-full, branch-with-protection) and docs.gitlab.com REST v4
(project, merge_request, deploy_key, user, namespace, group, branch).

Auth: GitHub `Authorization: Bearer T` / `token T`; GitLab `PRIVATE-TOKEN: T` / `Authorization: Bearer T`.
Missing or wrong token -> 401 with the provider's error body. Extra tokens map to other users
(POST /_fake/users {"login": ..., "token": ...}).

Test control endpoints (no auth), see tests/env/README.md:
  GET /_fake/health            GET /_fake/state
  GET|DELETE /_fake/requests   every API request seen: {method, path, query, headers, body, status}, secrets REDACTED
  GET|POST|DELETE /_fake/faults  queue injected responses:
       {"method":"POST","path_regex":"/pulls$","status":500,"times":1,"headers":{"Retry-After":"1"},"body":{...},"delay":0}
  POST /_fake/users  {"login","type":"User|Organization|user|group","name","email","token","parent"}
  POST /_fake/repos  {"owner","name","private"|"visibility","default_branch","auto_init","description"}
  POST /_fake/merge  {"owner","name","number"[, "merge_method":"merge|squash|rebase"]}  (GitLab: number = iid)
"""
import argparse
import base64
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

ARGS = None
LOCK = threading.RLock()
GIT_ENV = dict(os.environ, GIT_AUTHOR_NAME='Fake Provider', GIT_AUTHOR_EMAIL='noreply@provider.invalid',
               GIT_COMMITTER_NAME='Fake Provider', GIT_COMMITTER_EMAIL='noreply@provider.invalid',
               GIT_TERMINAL_PROMPT='0', GIT_CONFIG_NOSYSTEM='1')
SSH_KEY_TYPES = ('ssh-rsa', 'ssh-dss', 'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384',
                 'ecdsa-sha2-nistp521', 'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com')


def now_iso(ms=False):
    t = datetime.datetime.now(datetime.timezone.utc)
    return t.strftime('%Y-%m-%dT%H:%M:%S') + ('.%03dZ' % (t.microsecond // 1000) if ms else 'Z')


def node_id(kind, ident):
    return base64.b64encode(f'0{len(kind)}:{kind}{ident}'.encode()).decode()


def truthy(v):
    if isinstance(v, bool):
        return v
    if v is None:
        return False
    return str(v).strip().lower() in ('1', 'true', 'yes', 'on')


class ApiError(Exception):
    def __init__(self, status, body, headers=None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


# ----------------------------------------------------------------------------------------- git
def git(gitdir, *args, check=True, input=None):
    r = subprocess.run(['git', '--git-dir', gitdir, *args], capture_output=True, text=True, env=GIT_ENV, input=input)
    if check and r.returncode != 0:
        raise RuntimeError(f'git {" ".join(args)} failed ({r.returncode}): {r.stderr.strip()}')
    return r


def rev(gitdir, branch):
    if not gitdir or not os.path.isdir(gitdir):
        return None
    r = git(gitdir, 'rev-parse', '--verify', '-q', f'refs/heads/{branch}^{{commit}}', check=False)
    return r.stdout.strip() if r.returncode == 0 else None


def is_ancestor(gitdir, a, b):
    return git(gitdir, 'merge-base', '--is-ancestor', a, b, check=False).returncode == 0


def has_refs(gitdir):
    if not os.path.isdir(gitdir):
        return False
    return bool(git(gitdir, 'for-each-ref', '--count=1', 'refs/heads/', check=False).stdout.strip())


def commit_info(gitdir, sha):
    out = git(gitdir, 'log', '-1', '--format=%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B', sha).stdout
    f = out.split('\x00')
    return dict(sha=f[0], tree=f[1], parents=f[2].split(), author_name=f[3], author_email=f[4], author_date=f[5],
                committer_name=f[6], committer_email=f[7], committer_date=f[8], message=f[9].rstrip('\n'))


def diff_stats(gitdir, base, head):
    """(commits, additions, deletions, changed_files) of head relative to base."""
    try:
        commits = int(git(gitdir, 'rev-list', '--count', f'{base}..{head}').stdout.strip() or 0)
        mb = git(gitdir, 'merge-base', base, head, check=False).stdout.strip() or base
        adds = dels = files = 0
        for line in git(gitdir, 'diff', '--numstat', mb, head).stdout.splitlines():
            a, d, _ = line.split('\t', 2)
            files += 1
            adds += int(a) if a.isdigit() else 0
            dels += int(d) if d.isdigit() else 0
        return commits, adds, dels, files
    except Exception:
        return 0, 0, 0, 0


# Pushes reach the bare repos through git-up.sh's servers, not through the fake, so the
# providers' push-time behaviour lives in hooks: post-receive logs each ref update (for the
# settle window) and, like GitHub and GitLab, makes the first branch pushed to an empty
# repository its default branch (HEAD) when HEAD names no existing branch.
POST_RECEIVE = r"""#!/bin/sh
# installed by provider_fake.py
now=$(date +%s.%N)
head=$(git symbolic-ref -q HEAD)
first=
while read old new ref; do
  echo "$now $old $new $ref" >> fake-pushes
  case $ref in refs/heads/*) [ "$new" = 0000000000000000000000000000000000000000 ] || first=${first:-$ref} ;; esac
done
if [ -n "$first" ] && ! git rev-parse -q --verify "$head" >/dev/null; then git symbolic-ref HEAD "$first"; fi
exit 0
"""
# GitLab protects the default branch: no force-push, no deletion (docs: "Default branch" /
# "Protected branches"); the messages are GitLab's.
GITLAB_PRE_RECEIVE = r"""#!/bin/sh
# installed by provider_fake.py (gitlab flavor)
zero=0000000000000000000000000000000000000000
head=$(git symbolic-ref -q HEAD)
while read old new ref; do
  [ "$ref" = "$head" ] || continue
  git rev-parse -q --verify "$ref" >/dev/null || continue
  if [ "$new" = $zero ]; then
    echo "GitLab: You can only delete protected branches using the web interface." >&2; exit 1
  fi
  if [ "$old" != $zero ] && ! git merge-base --is-ancestor "$old" "$new"; then
    echo "GitLab: You are not allowed to force push code to a protected branch on this project." >&2; exit 1
  fi
done
exit 0
"""


def install_hooks(gitdir):
    hooks = [('post-receive', POST_RECEIVE)] + ([('pre-receive', GITLAB_PRE_RECEIVE)] if ARGS.flavor == 'gitlab' else [])
    os.makedirs(os.path.join(gitdir, 'hooks'), exist_ok=True)
    for name, text in hooks:
        f = os.path.join(gitdir, 'hooks', name)
        with open(f, 'w') as fh:
            fh.write(text)
        os.chmod(f, 0o755)


def head_branch(gitdir):
    """The branch HEAD names (the default branch), or None."""
    if not os.path.isdir(gitdir):
        return None
    r = git(gitdir, 'symbolic-ref', '-q', '--short', 'HEAD', check=False)
    return r.stdout.strip() or None


def settle_seconds():
    return max(0.0, float(CONFIG['settle_ms'])) / 1000.0


def just_created(gitdir, branch):
    """Whether `branch` was created by a push less than the settle window ago (the API does not
    see it yet: GitHub and GitLab update their caches asynchronously after a push)."""
    win = settle_seconds()
    f = os.path.join(gitdir, 'fake-pushes')
    if win <= 0 or not os.path.exists(f):
        return False
    ref, now = f'refs/heads/{branch}', time.time()
    try:
        lines = open(f).read().splitlines()
    except OSError:
        return False
    for line in reversed(lines):
        parts = line.split(' ')
        if len(parts) == 4 and parts[3] == ref:
            try:
                t = float(parts[0])
            except ValueError:
                return False
            return now - t < win and set(parts[1]) == {'0'}
    return False


def api_rev(gitdir, branch):
    """rev() as the API sees it: a branch pushed moments ago is not there yet."""
    return None if just_created(gitdir, branch) else rev(gitdir, branch)


def init_bare(gitdir, branch, auto_init, name):
    if os.path.exists(gitdir):
        shutil.rmtree(gitdir)   # the fake just "created" this repository: start empty
    os.makedirs(os.path.dirname(gitdir), exist_ok=True)
    subprocess.run(['git', 'init', '-q', '--bare', '-b', branch, gitdir], check=True, env=GIT_ENV, capture_output=True)
    git(gitdir, 'config', 'receive.denyNonFastForwards', 'false')
    git(gitdir, 'config', 'http.receivepack', 'true')
    install_hooks(gitdir)
    if auto_init:
        blob = git(gitdir, 'hash-object', '-w', '--stdin', input=f'# {name}\n').stdout.strip()
        tree = git(gitdir, 'mktree', input=f'100644 blob {blob}\tREADME.md\n').stdout.strip()
        c = git(gitdir, 'commit-tree', tree, '-m', 'Initial commit').stdout.strip()
        git(gitdir, 'update-ref', f'refs/heads/{branch}', c)


def git_merge(gitdir, base, head, message, method='merge'):
    """Merge branch head into branch base inside a bare repo; returns the new base sha.
    Raises ApiError(409, ...) on conflicts. Uses `git merge-tree --write-tree` (git >= 2.38),
    falling back to a temporary clone + `git merge --no-ff` + push."""
    bsha, hsha = rev(gitdir, base), rev(gitdir, head)
    if not bsha or not hsha:
        raise ApiError(422, {'message': f'branch missing (base {base}={bsha}, head {head}={hsha})'})
    if is_ancestor(gitdir, hsha, bsha):
        return bsha  # nothing to merge
    if method == 'rebase' or method == 'ff':
        if not is_ancestor(gitdir, bsha, hsha):
            raise ApiError(409, {'message': 'cannot fast-forward: base has diverged'})
        git(gitdir, 'update-ref', f'refs/heads/{base}', hsha, bsha)
        return hsha
    r = git(gitdir, 'merge-tree', '--write-tree', bsha, hsha, check=False)
    if r.returncode == 0:
        tree = r.stdout.split('\n')[0].strip()
        parents = ['-p', bsha] + ([] if method == 'squash' else ['-p', hsha])
        c = git(gitdir, 'commit-tree', tree, *parents, '-m', message).stdout.strip()
        git(gitdir, 'update-ref', f'refs/heads/{base}', c, bsha)
        return c
    if r.returncode == 1:
        raise ApiError(409, {'message': 'merge conflict', 'detail': r.stdout[-2000:]})
    # old git without --write-tree: temporary clone, merge, push
    tmp = tempfile.mkdtemp(prefix='fake-merge-')
    try:
        def run(*a):
            return subprocess.run(['git', '-C', tmp, *a], capture_output=True, text=True, env=GIT_ENV)
        subprocess.run(['git', 'clone', '-q', '-b', base, gitdir, tmp], check=True, capture_output=True, env=GIT_ENV)
        if method == 'squash':
            m = run('merge', '--squash', f'origin/{head}')
            m = m if m.returncode else run('commit', '-q', '-m', message)
        else:
            m = run('merge', '--no-ff', '-m', message, f'origin/{head}')
        if m.returncode:
            raise ApiError(409, {'message': 'merge conflict', 'detail': (m.stdout + m.stderr)[-2000:]})
        p = run('push', '-q', 'origin', f'HEAD:refs/heads/{base}')
        if p.returncode:
            raise RuntimeError(p.stderr)
        return rev(gitdir, base)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def key_fingerprints(key):
    """(md5 'aa:bb:..', 'SHA256:...') of an OpenSSH public key, or None when invalid."""
    parts = (key or '').strip().split()
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        return None
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except Exception:
        return None
    if len(blob) < 4 or blob[4:4 + int.from_bytes(blob[:4], 'big')] != parts[0].encode():
        return None
    md5 = hashlib.md5(blob).hexdigest()
    return (':'.join(md5[i:i + 2] for i in range(0, 32, 2)),
            'SHA256:' + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip('='))


def norm_key(key):
    return ' '.join((key or '').strip().split()[:2])


# --------------------------------------------------------------------------------------- state
class State:
    def __init__(self):
        self.accounts = {}   # lower(login or group full_path) -> account
        self.repos = {}      # (lower owner, lower name) -> repo
        self.requests = []
        self.faults = []
        self.ids = {'user': 100, 'repo': 1000, 'pull': 5000, 'key': 7000}
        self.current = None   # the API request's user while it is handled (under LOCK)

    def next_id(self, kind):
        self.ids[kind] += 1
        return self.ids[kind]


S = State()
# Runtime settings (GET/POST /_fake/config). settle_ms: how long a new repository stays
# unreachable and a newly pushed branch stays invisible to the API (0 disables).
CONFIG = {'settle_ms': 300}
# GitHub roles and GitLab access levels on one scale (GitLab's numbers).
ROLES = {'read': 20, 'pull': 20, 'triage': 20, 'write': 30, 'push': 30, 'maintain': 40, 'admin': 50,
         'guest': 10, 'reporter': 20, 'developer': 30, 'maintainer': 40, 'owner': 50}


def add_account(login, typ='User', name=None, email=None, token=None, parent=None, visibility=None):
    typ = {'user': 'User', 'org': 'Organization', 'organization': 'Organization', 'group': 'Organization'}.get(
        str(typ).lower(), 'User')
    full = f'{parent}/{login}' if parent else login
    k = full.lower()
    if k in S.accounts:
        a = S.accounts[k]
        if token:
            a['token'] = token
        return a
    uid = S.next_id('user')
    # GitLab: a group's id is its namespace id; a user's namespace gets its own id (one counter: no clashes)
    a = dict(login=login, full_path=full, id=uid, ns_id=uid if typ == 'Organization' else S.next_id('user'),
             type=typ, name=name or login, email=email or f'{login}@users.noreply.invalid', token=token,
             parent=parent, created_at=now_iso(), visibility=visibility or 'private',
             # orgs/groups: members by lower login -> access level; the fake's own user owns them all
             members={ARGS.user.lower(): 50} if typ == 'Organization' else {})
    S.accounts[k] = a
    return a


def access_level(user, r):
    """The user's access level to repository r (GitLab's scale), 0 for none. Owners of the
    namespace (and members of the owning org/group, also of a parent group) have theirs;
    collaborators theirs; anyone authenticated reads public (and GitLab internal) ones."""
    if user is None:
        return 50   # test control endpoints
    lvl = 0
    a = find_account(r['owner'])
    while a is not None:
        if a['full_path'].lower() == user['full_path'].lower():
            lvl = max(lvl, 50)
        lvl = max(lvl, a.get('members', {}).get(user['login'].lower(), 0))
        a = find_account(a['parent']) if a.get('parent') else None
    lvl = max(lvl, r.get('collaborators', {}).get(user['login'].lower(), 0))
    if r['visibility'] in ('public', 'internal'):
        lvl = max(lvl, 20)
    return lvl


def ns_level(user, a):
    """The user's access level to a namespace (org/group or the user's own)."""
    if user is None:
        return 50
    lvl = 0
    while a is not None:
        if a['full_path'].lower() == user['full_path'].lower():
            lvl = 50
        lvl = max(lvl, a.get('members', {}).get(user['login'].lower(), 0))
        a = find_account(a['parent']) if a.get('parent') else None
    return lvl


def find_account(login):
    return S.accounts.get((login or '').lower())


def repo_gitdir(r):
    return os.path.join(ARGS.git_root, r['owner'], r['path'] + '.git')


def repo_ready(r):
    """A repository created through the API is unreachable (no bare repo, API 404) for the
    settle window, as a new GitHub/GitLab repository briefly is."""
    return time.time() >= r.get('ready_at', 0) and os.path.isdir(repo_gitdir(r))


def default_branch(r):
    return head_branch(repo_gitdir(r)) or r['default_branch']


def create_repo(owner, name, private=True, visibility=None, default_branch='main', auto_init=False,
                description=None, path=None, settle=False, collaborators=None):
    a = find_account(owner)
    if a is None:
        a = add_account(owner)
    path = path or name
    vis = visibility or ('private' if private else 'public')
    r = dict(id=S.next_id('repo'), owner=a['full_path'], name=name, path=path, description=description,
             visibility=vis, private=vis != 'public', default_branch=default_branch or 'main',
             created_at=now_iso(), updated_at=now_iso(), pulls=[], keys=[],
             collaborators={k.lower(): ROLES.get(str(v).lower(), 0) for k, v in (collaborators or {}).items()})
    gd = repo_gitdir(r)
    win = settle_seconds() if settle else 0
    if win > 0:
        # built aside and moved into place when the window ends: until then clone/push fail
        tmp = gd + '.creating'
        if os.path.exists(gd):
            shutil.rmtree(gd)
        init_bare(tmp, r['default_branch'], auto_init, name)
        r['ready_at'] = time.time() + win
        t = threading.Timer(win, lambda: os.path.isdir(tmp) and os.rename(tmp, gd))
        t.daemon = True
        t.start()
    else:
        init_bare(gd, r['default_branch'], auto_init, name)
    S.repos[(a['full_path'].lower(), path.lower())] = r
    return r


def find_repo(owner, name):
    return S.repos.get(((owner or '').lower(), (name or '').lower()))


def visible_repo(owner, name):
    """The repository as the current API user sees it: None when it does not exist, is not
    ready yet, or is private and the user has no access (both providers answer 404 then)."""
    r = find_repo(owner, name)
    if r is None or (S.current is not None and (not repo_ready(r) or access_level(S.current, r) < 10)):
        return None
    return r


# ------------------------------------------------------------------------------------ handler
class Req:
    def __init__(self, method, path, query, body, headers, base):
        self.method, self.path, self.query, self.body, self.headers, self.base = method, path, query, body, headers, base
        self.user = None

    def param(self, name, default=None):
        if isinstance(self.body, dict) and name in self.body:
            return self.body[name]
        return self.query.get(name, default)


def paginate(req, items, default_per_page):
    try:
        per = max(1, min(100, int(req.query.get('per_page', default_per_page))))
        page = max(1, int(req.query.get('page', 1)))
    except ValueError:
        per, page = default_per_page, 1
    total = len(items)
    last = max(1, -(-total // per))
    chunk = items[(page - 1) * per: page * per]
    hdrs = {}
    if page < last:
        def link(p):
            q = dict(req.query)
            q.update(page=str(p), per_page=str(per))
            return f'<{req.base}{req.raw_path}?{urlencode(q)}>'
        rels = [f'{link(page + 1)}; rel="next"', f'{link(last)}; rel="last"']
        if page > 1:
            rels = [f'{link(page - 1)}; rel="prev"'] + rels + [f'{link(1)}; rel="first"']
        hdrs['Link'] = ', '.join(rels)
    if ARGS.flavor == 'gitlab':
        hdrs.update({'X-Page': str(page), 'X-Per-Page': str(per), 'X-Total': str(total), 'X-Total-Pages': str(last),
                     'X-Next-Page': str(page + 1) if page < last else '', 'X-Prev-Page': str(page - 1) if page > 1 else ''})
    return chunk, hdrs


# =========================================================================================== GitHub
GH_DOCS = 'https://docs.github.com/rest'


def gh_err(status, message, errors=None, doc=GH_DOCS):
    b = {'message': message, 'documentation_url': doc, 'status': str(status)}
    if errors is not None:
        b['errors'] = errors
    return ApiError(status, b)


def gh_not_found():
    return gh_err(404, 'Not Found', doc='https://docs.github.com/rest')


def ssh_url(path):
    """scp-like `git@HOST:path.git` as GitHub (ssh_url) and GitLab (ssh_url_to_repo) write it when
    git-up.sh serves that form (--ssh-scp-host), else the ssh:// URL of its port-12222 server."""
    if ARGS.ssh_scp_host:
        return f'git@{ARGS.ssh_scp_host}:{path}.git'
    return f'{ARGS.ssh_base}/{path}.git'


def host_keys():
    """The test sshd's public host keys (`type base64`), from --ssh-host-key files."""
    out = []
    for f in ARGS.ssh_host_key or []:
        try:
            parts = open(f).read().split()
        except OSError:
            continue
        if len(parts) >= 2:
            out.append(f'{parts[0]} {parts[1]}')
    return out


class GitHub:
    def __init__(self):
        self.api = ARGS.api_base
        self.web = ARGS.web_base

    # ---- shapes
    def user(self, a, full=False, private=False):
        api, web, l = self.api, self.web, a['login']
        u = {'login': l, 'id': a['id'], 'node_id': node_id('User' if a['type'] == 'User' else 'Organization', a['id']),
             'avatar_url': f'{web}/avatars/u/{a["id"]}?v=4', 'gravatar_id': '', 'url': f'{api}/users/{l}',
             'html_url': f'{web}/{l}', 'followers_url': f'{api}/users/{l}/followers',
             'following_url': f'{api}/users/{l}/following{{/other_user}}', 'gists_url': f'{api}/users/{l}/gists{{/gist_id}}',
             'starred_url': f'{api}/users/{l}/starred{{/owner}}{{/repo}}', 'subscriptions_url': f'{api}/users/{l}/subscriptions',
             'organizations_url': f'{api}/users/{l}/orgs', 'repos_url': f'{api}/users/{l}/repos',
             'events_url': f'{api}/users/{l}/events{{/privacy}}', 'received_events_url': f'{api}/users/{l}/received_events',
             'type': a['type'], 'user_view_type': 'public', 'site_admin': False}
        if full:
            owned = [r for r in S.repos.values() if r['owner'] == a['full_path']]
            u.update({'name': a['name'], 'company': None, 'blog': '', 'location': None, 'email': a['email'],
                      'hireable': None, 'bio': None, 'twitter_username': None, 'notification_email': a['email'],
                      'public_repos': sum(1 for r in owned if not r['private']), 'public_gists': 0, 'followers': 0,
                      'following': 0, 'created_at': a['created_at'], 'updated_at': a['created_at']})
        if private:
            owned = [r for r in S.repos.values() if r['owner'] == a['full_path']]
            n_priv = sum(1 for r in owned if r['private'])
            u.update({'private_gists': 0, 'total_private_repos': n_priv, 'owned_private_repos': n_priv, 'disk_usage': 0,
                      'collaborators': 0, 'two_factor_authentication': False,
                      'plan': {'name': 'pro', 'space': 976562499, 'collaborators': 0, 'private_repos': 9999}})
        return u

    def org(self, a):
        api, l = self.api, a['login']
        owned = [r for r in S.repos.values() if r['owner'] == a['full_path']]
        return {'login': l, 'id': a['id'], 'node_id': node_id('Organization', a['id']), 'url': f'{api}/orgs/{l}',
                'repos_url': f'{api}/orgs/{l}/repos', 'events_url': f'{api}/orgs/{l}/events', 'hooks_url': f'{api}/orgs/{l}/hooks',
                'issues_url': f'{api}/orgs/{l}/issues', 'members_url': f'{api}/orgs/{l}/members{{/member}}',
                'public_members_url': f'{api}/orgs/{l}/public_members{{/member}}',
                'avatar_url': f'{self.web}/avatars/u/{a["id"]}?v=4', 'description': None, 'name': a['name'], 'company': '',
                'blog': '', 'location': '', 'email': '', 'twitter_username': None, 'is_verified': False,
                'has_organization_projects': True, 'has_repository_projects': True,
                'public_repos': sum(1 for r in owned if not r['private']), 'public_gists': 0, 'followers': 0, 'following': 0,
                'html_url': f'{self.web}/{l}', 'type': 'Organization', 'created_at': a['created_at'],
                'updated_at': a['created_at'], 'archived_at': None,
                'total_private_repos': sum(1 for r in owned if r['private']),
                'owned_private_repos': sum(1 for r in owned if r['private']), 'private_gists': 0, 'disk_usage': 0,
                'collaborators': 0, 'billing_email': None, 'default_repository_permission': 'read',
                'members_can_create_repositories': True, 'two_factor_requirement_enabled': False,
                'members_allowed_repository_creation_type': 'all', 'members_can_create_public_repositories': True,
                'members_can_create_private_repositories': True, 'members_can_create_internal_repositories': False,
                'members_can_create_pages': True, 'members_can_fork_private_repositories': False,
                'web_commit_signoff_required': False,
                'plan': {'name': 'team', 'space': 976562499, 'private_repos': 999999, 'filled_seats': 1, 'seats': 5}}

    def repo(self, r):
        a = find_account(r['owner'])
        full = f'{r["owner"]}/{r["name"]}'
        api = f'{self.api}/repos/{full}'
        opens = sum(1 for p in r['pulls'] if p['state'] == 'open')
        d = {'id': r['id'], 'node_id': node_id('Repository', r['id']), 'name': r['name'], 'full_name': full,
             'private': r['private'], 'owner': self.user(a), 'html_url': f'{self.web}/{full}',
             'description': r['description'], 'fork': False, 'url': api,
             'forks_url': f'{api}/forks', 'keys_url': f'{api}/keys{{/key_id}}',
             'collaborators_url': f'{api}/collaborators{{/collaborator}}', 'teams_url': f'{api}/teams',
             'hooks_url': f'{api}/hooks', 'issue_events_url': f'{api}/issues/events{{/number}}', 'events_url': f'{api}/events',
             'assignees_url': f'{api}/assignees{{/user}}', 'branches_url': f'{api}/branches{{/branch}}',
             'tags_url': f'{api}/tags', 'blobs_url': f'{api}/git/blobs{{/sha}}', 'git_tags_url': f'{api}/git/tags{{/sha}}',
             'git_refs_url': f'{api}/git/refs{{/sha}}', 'trees_url': f'{api}/git/trees{{/sha}}',
             'statuses_url': f'{api}/statuses/{{sha}}', 'languages_url': f'{api}/languages',
             'stargazers_url': f'{api}/stargazers', 'contributors_url': f'{api}/contributors',
             'subscribers_url': f'{api}/subscribers', 'subscription_url': f'{api}/subscription',
             'commits_url': f'{api}/commits{{/sha}}', 'git_commits_url': f'{api}/git/commits{{/sha}}',
             'comments_url': f'{api}/comments{{/number}}', 'issue_comment_url': f'{api}/issues/comments{{/number}}',
             'contents_url': f'{api}/contents/{{+path}}', 'compare_url': f'{api}/compare/{{base}}...{{head}}',
             'merges_url': f'{api}/merges', 'archive_url': f'{api}/{{archive_format}}{{/ref}}',
             'downloads_url': f'{api}/downloads', 'issues_url': f'{api}/issues{{/number}}',
             'pulls_url': f'{api}/pulls{{/number}}', 'milestones_url': f'{api}/milestones{{/number}}',
             'notifications_url': f'{api}/notifications{{?since,all,participating}}', 'labels_url': f'{api}/labels{{/name}}',
             'releases_url': f'{api}/releases{{/id}}', 'deployments_url': f'{api}/deployments',
             'created_at': r['created_at'], 'updated_at': r['updated_at'], 'pushed_at': r['updated_at'],
             'git_url': f'{ARGS.git_daemon_base}/{full}.git', 'ssh_url': ssh_url(full),
             'clone_url': f'{ARGS.git_http_base}/{full}.git', 'svn_url': f'{self.web}/{full}', 'homepage': None,
             'size': 0, 'stargazers_count': 0, 'watchers_count': 0, 'language': None, 'has_issues': True,
             'has_projects': True, 'has_downloads': True, 'has_wiki': True, 'has_pages': False, 'has_discussions': False,
             'forks_count': 0, 'mirror_url': None, 'archived': False, 'disabled': False, 'open_issues_count': opens,
             'license': None, 'allow_forking': True, 'is_template': False, 'web_commit_signoff_required': False,
             'topics': [], 'visibility': r['visibility'], 'forks': 0, 'open_issues': opens, 'watchers': 0,
             'default_branch': default_branch(r),
             'permissions': self.permissions(r),
             'temp_clone_token': '', 'allow_squash_merge': True, 'allow_merge_commit': True, 'allow_rebase_merge': True,
             'allow_auto_merge': False, 'delete_branch_on_merge': False, 'allow_update_branch': False,
             'use_squash_pr_title_as_default': False, 'squash_merge_commit_title': 'COMMIT_OR_PR_TITLE',
             'squash_merge_commit_message': 'COMMIT_MESSAGES', 'merge_commit_title': 'MERGE_MESSAGE',
             'merge_commit_message': 'PR_TITLE', 'network_count': 0, 'subscribers_count': 0}
        if a['type'] == 'Organization':
            d['organization'] = self.user(a)
        return d

    def permissions(self, r):
        lvl = access_level(S.current, r)
        return {'admin': lvl >= 50, 'maintain': lvl >= 40, 'push': lvl >= 30, 'triage': lvl >= 20, 'pull': lvl >= 20}

    def pull(self, r, p):
        gd = repo_gitdir(r)
        full = f'{r["owner"]}/{r["name"]}'
        api = f'{self.api}/repos/{full}'
        head_sha = (rev(gd, p['head']) if p['state'] == 'open' else None) or p['head_sha']
        base_sha = (rev(gd, p['base']) if p['state'] == 'open' else None) or p['base_sha']
        commits, adds, dels, files = p.get('stats') or diff_stats(gd, base_sha, head_sha)
        owner = find_account(r['owner'])
        author = find_account(p['user'])
        url = f'{api}/pulls/{p["number"]}'
        html = f'{self.web}/{full}/pull/{p["number"]}'
        return {'url': url, 'id': p['id'], 'node_id': node_id('PullRequest', p['id']), 'html_url': html,
                'diff_url': f'{html}.diff', 'patch_url': f'{html}.patch', 'issue_url': f'{api}/issues/{p["number"]}',
                'commits_url': f'{url}/commits', 'review_comments_url': f'{url}/comments',
                'review_comment_url': f'{api}/pulls/comments{{/number}}', 'comments_url': f'{api}/issues/{p["number"]}/comments',
                'statuses_url': f'{api}/statuses/{head_sha}', 'number': p['number'], 'state': p['state'], 'locked': False,
                'title': p['title'], 'user': self.user(author), 'body': p['body'], 'labels': [], 'milestone': None,
                'active_lock_reason': None, 'created_at': p['created_at'], 'updated_at': p['updated_at'],
                'closed_at': p['closed_at'], 'merged_at': p['merged_at'], 'merge_commit_sha': p['merge_commit_sha'],
                'assignee': None, 'assignees': [], 'requested_reviewers': [], 'requested_teams': [],
                'head': {'label': f'{p["head_owner"]}:{p["head"]}', 'ref': p['head'], 'sha': head_sha,
                         'user': self.user(find_account(p['head_owner']) or owner), 'repo': self.repo(r)},
                'base': {'label': f'{r["owner"]}:{p["base"]}', 'ref': p['base'], 'sha': base_sha,
                         'user': self.user(owner), 'repo': self.repo(r)},
                '_links': {'self': {'href': url}, 'html': {'href': html}, 'issue': {'href': f'{api}/issues/{p["number"]}'},
                           'comments': {'href': f'{api}/issues/{p["number"]}/comments'},
                           'review_comments': {'href': f'{url}/comments'},
                           'review_comment': {'href': f'{api}/pulls/comments{{/number}}'},
                           'commits': {'href': f'{url}/commits'}, 'statuses': {'href': f'{api}/statuses/{head_sha}'}},
                'author_association': 'OWNER', 'auto_merge': None, 'draft': p['draft'], 'merged': p['merged'],
                'mergeable': True if p['state'] == 'open' else None, 'rebaseable': True if p['state'] == 'open' else None,
                'mergeable_state': 'clean' if p['state'] == 'open' else 'unknown',
                'merged_by': self.user(find_account(p['merged_by'])) if p['merged_by'] else None,
                'comments': 0, 'review_comments': 0, 'maintainer_can_modify': p['maintainer_can_modify'],
                'commits': commits, 'additions': adds, 'deletions': dels, 'changed_files': files}

    def key(self, r, k):
        return {'id': k['id'], 'key': k['key'], 'url': f'{self.api}/repos/{r["owner"]}/{r["name"]}/keys/{k["id"]}',
                'title': k['title'], 'verified': True, 'created_at': k['created_at'], 'read_only': k['read_only'],
                'added_by': k['added_by'], 'last_used': None, 'enabled': True}

    def commit(self, r, sha):
        c = commit_info(repo_gitdir(r), sha)
        api = f'{self.api}/repos/{r["owner"]}/{r["name"]}'
        web = f'{self.web}/{r["owner"]}/{r["name"]}'
        return {'sha': c['sha'], 'node_id': node_id('Commit', c['sha'][:12]), 'url': f'{api}/commits/{c["sha"]}',
                'html_url': f'{web}/commit/{c["sha"]}', 'comments_url': f'{api}/commits/{c["sha"]}/comments',
                'commit': {'url': f'{api}/git/commits/{c["sha"]}',
                           'author': {'name': c['author_name'], 'email': c['author_email'], 'date': c['author_date']},
                           'committer': {'name': c['committer_name'], 'email': c['committer_email'], 'date': c['committer_date']},
                           'message': c['message'], 'comment_count': 0,
                           'tree': {'sha': c['tree'], 'url': f'{api}/git/trees/{c["tree"]}'},
                           'verification': {'verified': False, 'reason': 'unsigned', 'signature': None, 'payload': None,
                                            'verified_at': None}},
                'author': None, 'committer': None,
                'parents': [{'sha': s, 'url': f'{api}/commits/{s}', 'html_url': f'{web}/commit/{s}'} for s in c['parents']]}

    # ---- helpers
    def get_repo(self, o, n, need=10):
        """The repository if the user may do what needs level `need`. GitHub answers 404, not
        403, for a private repository the token cannot see and for admin-only resources
        (deploy keys) a non-admin asks for (docs: "Troubleshooting the REST API", 404 for an
        existing resource)."""
        r = visible_repo(o, n)
        if r is None or access_level(S.current, r) < need:
            raise gh_not_found()
        return r

    def get_pull(self, r, n):
        for p in r['pulls']:
            if str(p['number']) == str(n):
                return p
        raise gh_not_found()

    def do_merge(self, r, p, user, method='merge', title=None, message=None):
        if p['state'] != 'open':
            raise gh_err(405, 'Pull Request is not mergeable')
        gd = repo_gitdir(r)
        head_sha = rev(gd, p['head'])
        msg = title or (f'Merge pull request #{p["number"]} from {p["head_owner"]}/{p["head"]}\n\n{p["title"]}'
                        if method == 'merge' else f'{p["title"]} (#{p["number"]})')
        if message:
            msg += '\n\n' + message
        base_before = rev(gd, p['base'])
        try:
            sha = git_merge(gd, p['base'], p['head'], msg, method)
        except ApiError as e:
            raise gh_err(405, 'Pull Request is not mergeable') from e
        p['stats'] = diff_stats(gd, base_before, head_sha)
        t = now_iso()
        p.update(state='closed', merged=True, merged_at=t, closed_at=t, updated_at=t, merge_commit_sha=sha,
                 merged_by=user['login'], head_sha=head_sha, base_sha=base_before)
        r['updated_at'] = t
        return sha

    # ---- routes
    def routes(self):
        R = r'([^/]+)'
        return [
            ('GET', r'/user', self.get_user),
            ('GET', rf'/users/{R}', self.get_users),
            ('GET', rf'/orgs/{R}', self.get_org),
            ('POST', r'/user/repos', self.create_user_repo),
            ('POST', rf'/orgs/{R}/repos', self.create_org_repo),
            ('GET', rf'/repos/{R}/{R}', self.get_repo_h),
            ('GET', rf'/repos/{R}/{R}/pulls', self.list_pulls),
            ('POST', rf'/repos/{R}/{R}/pulls', self.create_pull),
            ('GET', rf'/repos/{R}/{R}/pulls/(\d+)', self.get_pull_h),
            ('PATCH', rf'/repos/{R}/{R}/pulls/(\d+)', self.update_pull),
            ('GET', rf'/repos/{R}/{R}/pulls/(\d+)/merge', self.pull_merged),
            ('PUT', rf'/repos/{R}/{R}/pulls/(\d+)/merge', self.merge_pull),
            ('GET', rf'/repos/{R}/{R}/keys', self.list_keys),
            ('POST', rf'/repos/{R}/{R}/keys', self.create_key),
            ('GET', rf'/repos/{R}/{R}/keys/(\d+)', self.get_key),
            ('DELETE', rf'/repos/{R}/{R}/keys/(\d+)', self.delete_key),
            ('GET', rf'/repos/{R}/{R}/branches/(.+)', self.get_branch),
            ('GET', r'/meta', self.meta),
        ]

    def meta(self, req):
        """GET /meta: the host keys of the git-up.sh sshd serving these repositories."""
        keys = host_keys()
        fps = {}
        for k in keys:
            t = k.split()[0]
            name = {'ssh-ed25519': 'SHA256_ED25519', 'ssh-rsa': 'SHA256_RSA'}.get(t, 'SHA256_ECDSA')
            fps[name] = key_fingerprints(k)[1].split(':', 1)[1]
        return 200, {'verifiable_password_authentication': False, 'ssh_key_fingerprints': fps, 'ssh_keys': keys,
                     'hooks': [], 'web': [], 'api': [], 'git': [], 'packages': [], 'pages': [], 'importer': [],
                     'actions': [], 'dependabot': [], 'domains': {}}

    def get_user(self, req):
        return 200, dict(self.user(req.user, full=True, private=True))

    def get_users(self, req, login):
        a = find_account(login)
        if a is None:
            raise gh_not_found()
        return 200, self.user(a, full=True)

    def get_org(self, req, login):
        a = find_account(login)
        if a is None or a['type'] != 'Organization':
            raise gh_not_found()
        return 200, self.org(a)

    def _create(self, req, owner_acct, doc):
        b = req.body if isinstance(req.body, dict) else {}
        name = b.get('name')
        if not name or not isinstance(name, str):
            raise gh_err(422, 'Repository creation failed.',
                         [{'resource': 'Repository', 'code': 'missing_field', 'field': 'name'}], doc)
        name = re.sub(r'[^A-Za-z0-9._-]', '-', name)
        if find_repo(owner_acct['full_path'], name):
            raise gh_err(422, 'Repository creation failed.',
                         [{'resource': 'Repository', 'code': 'custom', 'field': 'name',
                           'message': 'name already exists on this account'}], doc)
        vis = b.get('visibility') or ('private' if truthy(b.get('private')) else 'public')
        r = create_repo(owner_acct['full_path'], name, visibility=vis, auto_init=truthy(b.get('auto_init')),
                        description=b.get('description'), settle=True)
        d = self.repo(r)
        return 201, d, {'Location': d['url']}

    def create_user_repo(self, req):
        return self._create(req, req.user, 'https://docs.github.com/rest/repos/repos#create-a-repository-for-the-authenticated-user')

    def create_org_repo(self, req, org):
        a = find_account(org)
        if a is None or a['type'] != 'Organization':
            raise gh_not_found()
        if ns_level(req.user, a) < 30:
            raise gh_err(403, 'You need admin access to the organization before adding a repository to it.',
                         doc='https://docs.github.com/rest/repos/repos#create-an-organization-repository')
        return self._create(req, a, 'https://docs.github.com/rest/repos/repos#create-an-organization-repository')

    def get_repo_h(self, req, o, n):
        return 200, self.repo(self.get_repo(o, n))

    def list_pulls(self, req, o, n):
        r = self.get_repo(o, n)
        state = req.query.get('state', 'open')
        if state not in ('open', 'closed', 'all'):
            raise gh_err(422, 'Validation Failed', [{'resource': 'Issue', 'field': 'state', 'code': 'invalid'}])
        head = req.query.get('head')
        base = req.query.get('base')
        out = []
        for p in r['pulls']:
            if state != 'all' and p['state'] != state:
                continue
            if head:
                ho, _, hb = head.rpartition(':')
                if hb != p['head'] or (ho and ho.lower() != p['head_owner'].lower()):
                    continue
            if base and base != p['base']:
                continue
            out.append(p)
        rev_order = req.query.get('direction', 'desc') != 'asc'
        out.sort(key=lambda p: p['number'], reverse=rev_order)
        chunk, hdrs = paginate(req, out, 30)
        return 200, [self.pull(r, p) for p in chunk], hdrs

    def create_pull(self, req, o, n):
        r = self.get_repo(o, n)
        doc = 'https://docs.github.com/rest/pulls/pulls#create-a-pull-request'
        b = req.body if isinstance(req.body, dict) else {}
        for f in ('head', 'base'):
            if not b.get(f):
                raise gh_err(422, 'Validation Failed', [{'resource': 'PullRequest', 'code': 'missing_field', 'field': f}], doc)
        if not b.get('title') and not b.get('issue'):
            raise gh_err(422, 'Validation Failed', [{'resource': 'PullRequest', 'code': 'missing_field', 'field': 'title'}], doc)
        ho, _, hb = b['head'].rpartition(':')
        ho = ho or r['owner']
        base = b['base']
        gd = repo_gitdir(r)
        hsha, bsha = rev(gd, hb), rev(gd, base)
        if bsha is None:
            raise gh_err(422, 'Validation Failed', [{'resource': 'PullRequest', 'field': 'base', 'code': 'invalid'}], doc)
        if hsha is None:
            raise gh_err(422, 'Validation Failed', [{'resource': 'PullRequest', 'field': 'head', 'code': 'invalid'}], doc)
        if just_created(gd, hb):
            # right after a push GitHub often has not seen the branch's commits yet
            raise gh_err(422, 'Validation Failed', [{'resource': 'PullRequest', 'code': 'custom',
                                                     'message': f'No commits between {base} and {hb}'}], doc)
        for p in r['pulls']:
            if p['state'] == 'open' and p['head'] == hb and p['base'] == base and p['head_owner'].lower() == ho.lower():
                raise gh_err(422, 'Validation Failed', [{'resource': 'PullRequest', 'code': 'custom',
                                                         'message': f'A pull request already exists for {ho}:{hb}.'}], doc)
        if is_ancestor(gd, hsha, bsha):
            raise gh_err(422, 'Validation Failed', [{'resource': 'PullRequest', 'code': 'custom',
                                                     'message': f'No commits between {base} and {hb}'}], doc)
        t = now_iso()
        number = len(r['pulls']) + 1
        p = dict(id=S.next_id('pull'), number=number, title=b.get('title') or '', body=b.get('body'), head=hb,
                 head_owner=find_account(ho)['login'] if find_account(ho) else ho, base=base, head_sha=hsha,
                 base_sha=bsha, state='open', draft=truthy(b.get('draft')), merged=False, merged_at=None,
                 closed_at=None, merge_commit_sha=None, merged_by=None, user=req.user['login'], created_at=t,
                 updated_at=t, maintainer_can_modify=truthy(b.get('maintainer_can_modify', False)))
        r['pulls'].append(p)
        d = self.pull(r, p)
        return 201, d, {'Location': d['url']}

    def get_pull_h(self, req, o, n, num):
        r = self.get_repo(o, n)
        return 200, self.pull(r, self.get_pull(r, num))

    def update_pull(self, req, o, n, num):
        r = self.get_repo(o, n)
        p = self.get_pull(r, num)
        b = req.body if isinstance(req.body, dict) else {}
        if 'state' in b:
            if b['state'] not in ('open', 'closed'):
                raise gh_err(422, 'Validation Failed', [{'resource': 'PullRequest', 'field': 'state', 'code': 'invalid'}])
            if b['state'] == 'open' and p['state'] == 'closed':
                if p['merged']:
                    raise gh_err(422, 'Validation Failed', [{'resource': 'PullRequest', 'code': 'custom',
                                                             'message': 'state cannot be changed. The pull request has been merged.'}])
                for q in r['pulls']:
                    if q is not p and q['state'] == 'open' and q['head'] == p['head'] and q['base'] == p['base']:
                        raise gh_err(422, 'Validation Failed', [{'resource': 'PullRequest', 'code': 'custom',
                                                                 'message': f'A pull request already exists for {p["head_owner"]}:{p["head"]}.'}])
                p['closed_at'] = None
            elif b['state'] == 'closed' and p['state'] == 'open':
                gd = repo_gitdir(r)
                p['head_sha'] = rev(gd, p['head']) or p['head_sha']
                p['base_sha'] = rev(gd, p['base']) or p['base_sha']
                p['closed_at'] = now_iso()
            p['state'] = b['state']
        for f in ('title', 'body', 'base'):
            if f in b:
                p[f] = b[f]
        p['updated_at'] = now_iso()
        return 200, self.pull(r, p)

    def pull_merged(self, req, o, n, num):
        p = self.get_pull(self.get_repo(o, n), num)
        if p['merged']:
            return 204, None
        raise gh_not_found()

    def merge_pull(self, req, o, n, num):
        r = self.get_repo(o, n)
        if access_level(req.user, r) < 30:
            raise gh_err(403, 'Must have admin rights to Repository.',
                         doc='https://docs.github.com/rest/pulls/pulls#merge-a-pull-request')
        p = self.get_pull(r, num)
        b = req.body if isinstance(req.body, dict) else {}
        if b.get('sha') and b['sha'] != rev(repo_gitdir(r), p['head']):
            raise gh_err(409, 'Head branch was modified. Review and try the merge again.')
        sha = self.do_merge(r, p, req.user, b.get('merge_method') or 'merge', b.get('commit_title'), b.get('commit_message'))
        return 200, {'sha': sha, 'merged': True, 'message': 'Pull Request successfully merged'}

    def list_keys(self, req, o, n):
        r = self.get_repo(o, n, need=50)
        chunk, hdrs = paginate(req, r['keys'], 30)
        return 200, [self.key(r, k) for k in chunk], hdrs

    def create_key(self, req, o, n):
        r = self.get_repo(o, n, need=50)
        doc = 'https://docs.github.com/rest/deploy-keys/deploy-keys#create-a-deploy-key'
        b = req.body if isinstance(req.body, dict) else {}
        key = b.get('key')
        if not key:
            raise gh_err(422, 'Validation Failed', [{'resource': 'PublicKey', 'code': 'missing_field', 'field': 'key'}], doc)
        if key_fingerprints(key) is None:
            raise gh_err(422, 'Validation Failed', [{'resource': 'PublicKey', 'code': 'custom', 'field': 'key',
                                                     'message': 'key is invalid. You must supply a key in OpenSSH public key format'}], doc)
        nk = norm_key(key)
        for other in S.repos.values():   # deploy keys are unique across the whole site
            for k in other['keys']:
                if k['key'] == nk:
                    raise gh_err(422, 'Validation Failed', [{'resource': 'PublicKey', 'code': 'custom', 'field': 'key',
                                                             'message': 'key is already in use'}], doc)
        k = dict(id=S.next_id('key'), key=nk, title=b.get('title') or '', read_only=truthy(b.get('read_only', False)),
                 created_at=now_iso(), added_by=req.user['login'])
        r['keys'].append(k)
        d = self.key(r, k)
        return 201, d, {'Location': d['url']}

    def _find_key(self, r, kid):
        for k in r['keys']:
            if str(k['id']) == str(kid):
                return k
        raise gh_not_found()

    def get_key(self, req, o, n, kid):
        r = self.get_repo(o, n, need=50)
        return 200, self.key(r, self._find_key(r, kid))

    def delete_key(self, req, o, n, kid):
        r = self.get_repo(o, n, need=50)
        r['keys'].remove(self._find_key(r, kid))
        return 204, None

    def get_branch(self, req, o, n, branch):
        r = self.get_repo(o, n)
        branch = unquote(branch)
        sha = api_rev(repo_gitdir(r), branch)
        if sha is None:
            raise gh_err(404, 'Branch not found', doc='https://docs.github.com/rest/branches/branches#get-a-branch')
        api = f'{self.api}/repos/{r["owner"]}/{r["name"]}/branches/{quote(branch, safe="")}'
        return 200, {'name': branch, 'commit': self.commit(r, sha),
                     '_links': {'self': api, 'html': f'{self.web}/{r["owner"]}/{r["name"]}/tree/{branch}'},
                     'protected': False,
                     'protection': {'enabled': False, 'required_status_checks': {
                         'enforcement_level': 'off', 'contexts': [], 'checks': []}},
                     'protection_url': f'{api}/protection'}

    # ---- fake control
    def fake_merge(self, b):
        r = self.get_repo(b.get('owner'), b.get('name'))
        p = self.get_pull(r, b.get('number'))
        user = find_account(b.get('user') or ARGS.user)
        self.do_merge(r, p, user, b.get('merge_method') or 'merge')
        return self.pull(r, p)

    def auth_error(self, present):
        if not present:
            return gh_err(401, 'Requires authentication', doc='https://docs.github.com/rest')
        return gh_err(401, 'Bad credentials', doc='https://docs.github.com/rest')

    def not_found_route(self):
        return gh_not_found()


# =========================================================================================== GitLab
def gl_err(status, message):
    return ApiError(status, {'message': message})


class GitLab:
    def __init__(self):
        self.web = ARGS.web_base

    # ---- shapes
    def user_basic(self, a):
        return {'id': a['id'], 'username': a['login'], 'public_email': None, 'name': a['name'], 'state': 'active',
                'locked': False, 'avatar_url': f'{self.web}/uploads/-/system/user/avatar/{a["id"]}/avatar.png',
                'web_url': f'{self.web}/{a["login"]}'}

    def user_full(self, a):
        u = self.user_basic(a)
        u.update({'created_at': a['created_at'], 'bio': '', 'location': '', 'skype': '', 'linkedin': '', 'twitter': '',
                  'discord': '', 'website_url': '', 'organization': '', 'job_title': '', 'pronouns': None, 'bot': False,
                  'work_information': None, 'local_time': None, 'last_sign_in_at': a['created_at'],
                  'confirmed_at': a['created_at'], 'last_activity_on': a['created_at'][:10], 'email': a['email'],
                  'theme_id': 1, 'color_scheme_id': 1, 'projects_limit': 100000, 'current_sign_in_at': a['created_at'],
                  'identities': [], 'can_create_group': True, 'can_create_project': True, 'two_factor_enabled': False,
                  'external': False, 'private_profile': False, 'commit_email': a['email'], 'is_admin': False,
                  'namespace_id': a['ns_id']})
        return u

    def namespace(self, a):
        group = a['type'] == 'Organization'
        parent = find_account(a['parent']) if a.get('parent') else None
        d = {'id': a['ns_id'], 'name': a['name'] if group else a['name'], 'path': a['login'],
             'kind': 'group' if group else 'user', 'full_path': a['full_path'],
             'parent_id': parent['ns_id'] if parent else None,
             'avatar_url': None, 'web_url': f'{self.web}/groups/{a["full_path"]}' if group else f'{self.web}/{a["login"]}'}
        if group:
            d['members_count_with_descendants'] = 1
            d['root_repository_size'] = 0
            d['projects_count'] = sum(1 for r in S.repos.values() if r['owner'] == a['full_path'])
        return d

    def group(self, a):
        parent = find_account(a['parent']) if a.get('parent') else None
        full_name = ' / '.join(x for x in [self._full_name(parent) if parent else None, a['name']] if x)
        return {'id': a['ns_id'], 'web_url': f'{self.web}/groups/{a["full_path"]}', 'name': a['name'],
                'path': a['login'], 'description': '', 'visibility': a.get('visibility', 'private'),
                'share_with_group_lock': False,
                'require_two_factor_authentication': False, 'two_factor_grace_period': 48,
                'project_creation_level': 'developer', 'auto_devops_enabled': None, 'subgroup_creation_level': 'maintainer',
                'emails_disabled': False, 'emails_enabled': True, 'mentions_disabled': None, 'lfs_enabled': True,
                'default_branch': None, 'default_branch_protection': 2, 'avatar_url': None,
                'request_access_enabled': True, 'full_name': full_name, 'full_path': a['full_path'],
                'created_at': a['created_at'], 'parent_id': parent['ns_id'] if parent else None,
                'organization_id': 1, 'shared_runners_setting': 'enabled', 'ldap_cn': None, 'ldap_access': None,
                'marked_for_deletion_on': None, 'wiki_access_level': 'enabled'}

    def _full_name(self, a):
        parent = find_account(a['parent']) if a.get('parent') else None
        return (self._full_name(parent) + ' / ' if parent else '') + a['name']

    def project(self, r):
        a = find_account(r['owner'])
        pwn = f'{r["owner"]}/{r["path"]}'
        api = f'{ARGS.api_base}/api/v4/projects/{r["id"]}'
        d = {'id': r['id'], 'description': r['description'], 'description_html': '', 'name': r['name'],
             'name_with_namespace': f'{self._full_name(a)} / {r["name"]}', 'path': r['path'],
             'path_with_namespace': pwn, 'created_at': r['created_at'], 'updated_at': r['updated_at'],
             'default_branch': default_branch(r), 'tag_list': [], 'topics': [],
             'ssh_url_to_repo': ssh_url(pwn), 'http_url_to_repo': f'{ARGS.git_http_base}/{pwn}.git',
             'web_url': f'{self.web}/{pwn}', 'readme_url': None, 'forks_count': 0, 'avatar_url': None, 'star_count': 0,
             'last_activity_at': r['updated_at'], 'visibility': r['visibility'], 'namespace': self.namespace(a),
             'container_registry_image_prefix': f'registry.invalid/{pwn}',
             '_links': {'self': api, 'issues': f'{api}/issues', 'merge_requests': f'{api}/merge_requests',
                        'repo_branches': f'{api}/repository/branches', 'labels': f'{api}/labels',
                        'events': f'{api}/events', 'members': f'{api}/members', 'cluster_agents': f'{api}/cluster_agents'},
             'packages_enabled': True, 'empty_repo': not has_refs(repo_gitdir(r)), 'archived': False,
             'resolve_outdated_diff_discussions': False, 'container_expiration_policy': None,
             'repository_object_format': 'sha1', 'issues_enabled': True, 'merge_requests_enabled': True,
             'wiki_enabled': True, 'jobs_enabled': True, 'snippets_enabled': True, 'container_registry_enabled': True,
             'service_desk_enabled': False, 'can_create_merge_request_in': True, 'issues_access_level': 'enabled',
             'repository_access_level': 'enabled', 'merge_requests_access_level': 'enabled',
             'forking_access_level': 'enabled', 'wiki_access_level': 'enabled', 'builds_access_level': 'enabled',
             'snippets_access_level': 'enabled', 'pages_access_level': 'private', 'analytics_access_level': 'enabled',
             'container_registry_access_level': 'enabled', 'emails_disabled': False, 'emails_enabled': True,
             'shared_runners_enabled': True, 'lfs_enabled': True, 'creator_id': r.get('creator_id', a['id']),
             'import_url': None, 'import_type': None, 'import_status': 'none', 'open_issues_count': 0,
             'ci_default_git_depth': 20, 'public_jobs': True, 'build_timeout': 3600,
             'auto_cancel_pending_pipelines': 'enabled', 'ci_config_path': None, 'shared_with_groups': [],
             'only_allow_merge_if_pipeline_succeeds': False, 'allow_merge_on_skipped_pipeline': None,
             'request_access_enabled': True, 'only_allow_merge_if_all_discussions_are_resolved': False,
             'remove_source_branch_after_merge': True, 'printing_merge_request_link_enabled': True,
             'merge_method': 'merge', 'squash_option': 'default_off', 'auto_devops_enabled': False,
             'auto_devops_deploy_strategy': 'continuous', 'autoclose_referenced_issues': True,
             'keep_latest_artifact': True,
             'permissions': {'project_access': {'access_level': access_level(S.current, r), 'notification_level': 3},
                             'group_access': None}}
        if a['type'] != 'Organization':
            d['owner'] = self.user_basic(a)
        return d

    def mr(self, r, m):
        gd = repo_gitdir(r)
        is_open = m['state'] == 'opened'
        sha = (rev(gd, m['source_branch']) if is_open else None) or m['sha']
        base_sha = (rev(gd, m['target_branch']) if is_open else None) or m['base_sha']
        author = self.user_basic(find_account(m['author']))
        ref = f'!{m["iid"]}'
        pwn = f'{r["owner"]}/{r["path"]}'
        merged_by = self.user_basic(find_account(m['merged_by'])) if m['merged_by'] else None
        return {'id': m['id'], 'iid': m['iid'], 'project_id': r['id'], 'title': m['title'],
                'description': m['description'], 'state': m['state'], 'created_at': m['created_at'],
                'updated_at': m['updated_at'], 'merged_by': merged_by, 'merge_user': merged_by,
                'merged_at': m['merged_at'], 'closed_by': self.user_basic(find_account(m['closed_by'])) if m['closed_by'] else None,
                'closed_at': m['closed_at'], 'target_branch': m['target_branch'], 'source_branch': m['source_branch'],
                'user_notes_count': 0, 'upvotes': 0, 'downvotes': 0, 'author': author, 'assignees': [], 'assignee': None,
                'reviewers': [], 'source_project_id': r['id'], 'target_project_id': r['id'], 'labels': [],
                'draft': m['draft'], 'imported': False, 'imported_from': 'none', 'work_in_progress': m['draft'],
                'milestone': None, 'merge_when_pipeline_succeeds': False,
                'merge_status': 'can_be_merged' if is_open else 'unchecked',
                'detailed_merge_status': 'mergeable' if is_open else 'not_open', 'merge_after': None,
                'sha': sha, 'merge_commit_sha': m['merge_commit_sha'], 'squash_commit_sha': m['squash_commit_sha'],
                'discussion_locked': None, 'should_remove_source_branch': m['remove_source_branch'],
                'force_remove_source_branch': m['remove_source_branch'], 'prepared_at': m['created_at'],
                'reference': ref, 'references': {'short': ref, 'relative': ref, 'full': f'{pwn}{ref}'},
                'web_url': f'{self.web}/{pwn}/-/merge_requests/{m["iid"]}',
                'time_stats': {'time_estimate': 0, 'total_time_spent': 0, 'human_time_estimate': None,
                               'human_total_time_spent': None},
                'squash': m['squash'], 'squash_on_merge': m['squash'],
                'task_completion_status': {'count': 0, 'completed_count': 0}, 'has_conflicts': False,
                'blocking_discussions_resolved': True, 'approvals_before_merge': None,
                'subscribed': True, 'changes_count': str(m.get('changes') or diff_stats(gd, base_sha, sha)[3]),
                'latest_build_started_at': None, 'latest_build_finished_at': None, 'first_deployed_to_production_at': None,
                'pipeline': None, 'head_pipeline': None,
                'diff_refs': {'base_sha': base_sha, 'head_sha': sha, 'start_sha': base_sha},
                'merge_error': None, 'first_contribution': False, 'user': {'can_merge': True}}

    def key(self, k, can_push):
        return {'id': k['id'], 'title': k['title'], 'key': k['key'], 'fingerprint': k['fingerprint'],
                'fingerprint_sha256': k['fingerprint_sha256'], 'usage_type': 'auth_and_signing',
                'created_at': k['created_at'], 'expires_at': k.get('expires_at'), 'can_push': can_push}

    def branch(self, r, name, sha):
        c = commit_info(repo_gitdir(r), sha)
        pwn = f'{r["owner"]}/{r["path"]}'
        title = c['message'].split('\n', 1)[0]
        return {'name': name, 'merged': False, 'protected': name == default_branch(r),
                'default': name == default_branch(r), 'developers_can_push': False, 'developers_can_merge': False,
                'can_push': True, 'web_url': f'{self.web}/{pwn}/-/tree/{name}',
                'commit': {'id': sha, 'short_id': sha[:8], 'created_at': c['committer_date'], 'parent_ids': c['parents'],
                           'title': title, 'message': c['message'] + '\n', 'author_name': c['author_name'],
                           'author_email': c['author_email'], 'authored_date': c['author_date'],
                           'committer_name': c['committer_name'], 'committer_email': c['committer_email'],
                           'committed_date': c['committer_date'], 'trailers': {}, 'extended_trailers': {},
                           'web_url': f'{self.web}/{pwn}/-/commit/{sha}'}}

    # ---- helpers
    def get_project(self, pid, need=10):
        """The project if the user may do what needs access level `need`: 404 when it cannot
        see it (private, or not ready yet), 403 when it sees it without enough rights (GitLab:
        deploy keys need Maintainer; merge requests Developer)."""
        pid = unquote(pid)
        r = None
        if pid.isdigit():
            r = next((x for x in S.repos.values() if x['id'] == int(pid)), None)
            r = r and visible_repo(r['owner'], r['path'])
        else:
            o, _, n = pid.rpartition('/')
            r = visible_repo(o, n)
        if r is None:
            raise gl_err(404, '404 Project Not Found')
        if access_level(S.current, r) < need:
            raise gl_err(403, '403 Forbidden')
        return r

    def find_ns(self, nid):
        """A namespace the user can see (private groups only to members)."""
        nid = unquote(str(nid))
        for a in S.accounts.values():
            if (nid.isdigit() and a['ns_id'] == int(nid)) or a['full_path'].lower() == nid.lower():
                if a['type'] == 'Organization' and a.get('visibility', 'private') == 'private' \
                        and ns_level(S.current, a) < 10:
                    return None
                return a
        return None

    def get_mr(self, r, iid):
        for m in r['pulls']:
            if str(m['iid']) == str(iid):
                return m
        raise gl_err(404, '404 Not found')

    def do_merge(self, r, m, user, squash=None, message=None, remove_source=None):
        if m['state'] != 'opened':
            raise gl_err(405, '405 Method Not Allowed')
        gd = repo_gitdir(r)
        src_sha = rev(gd, m['source_branch'])
        base_before = rev(gd, m['target_branch'])
        squash = m['squash'] if squash is None else squash
        msg = message or (f"Merge branch '{m['source_branch']}' into '{m['target_branch']}'\n\n{m['title']}\n\n"
                          f"See merge request {r['owner']}/{r['path']}!{m['iid']}")
        try:
            sha = git_merge(gd, m['target_branch'], m['source_branch'], msg, 'squash' if squash else 'merge')
        except ApiError as e:
            raise gl_err(405, 'Branch cannot be merged') if e.status == 409 else e
        m['changes'] = diff_stats(gd, base_before, src_sha)[3]
        if remove_source if remove_source is not None else m['remove_source_branch']:
            git(gd, 'update-ref', '-d', f'refs/heads/{m["source_branch"]}', check=False)
        t = now_iso(ms=True)
        m.update(state='merged', merged_at=t, updated_at=t, merge_commit_sha=sha, merged_by=user['login'], sha=src_sha,
                 base_sha=base_before, squash_commit_sha=sha if squash else None)
        r['updated_at'] = t
        return sha

    # ---- routes
    def routes(self):
        R = r'([^/]+)'
        return [
            ('GET', r'/user', self.get_user),
            ('GET', r'/users', self.list_users),
            ('GET', r'/users/(\d+)', self.get_user_id),
            ('GET', r'/namespaces', self.list_namespaces),
            ('GET', rf'/namespaces/{R}', self.get_namespace),
            ('GET', rf'/groups/{R}', self.get_group),
            ('POST', r'/projects', self.create_project),
            ('GET', rf'/projects/{R}', self.get_project_h),
            ('GET', rf'/projects/{R}/merge_requests', self.list_mrs),
            ('POST', rf'/projects/{R}/merge_requests', self.create_mr),
            ('GET', rf'/projects/{R}/merge_requests/(\d+)', self.get_mr_h),
            ('PUT', rf'/projects/{R}/merge_requests/(\d+)', self.update_mr),
            ('PUT', rf'/projects/{R}/merge_requests/(\d+)/merge', self.merge_mr),
            ('GET', rf'/projects/{R}/deploy_keys', self.list_keys),
            ('POST', rf'/projects/{R}/deploy_keys', self.create_key),
            ('GET', rf'/projects/{R}/deploy_keys/(\d+)', self.get_key),
            ('DELETE', rf'/projects/{R}/deploy_keys/(\d+)', self.delete_key),
            ('GET', rf'/projects/{R}/repository/branches/(.+)', self.get_branch),
        ]

    def get_user(self, req):
        return 200, self.user_full(req.user)

    def list_users(self, req):
        name = req.query.get('username')
        us = [a for a in S.accounts.values() if a['type'] == 'User' and (not name or a['login'].lower() == name.lower())]
        chunk, hdrs = paginate(req, us, 20)
        return 200, [self.user_basic(a) for a in chunk], hdrs

    def get_user_id(self, req, uid):
        for a in S.accounts.values():
            if a['type'] == 'User' and a['id'] == int(uid):
                return 200, self.user_basic(a)
        raise gl_err(404, '404 User Not Found')

    def list_namespaces(self, req):
        search = (req.query.get('search') or '').lower()
        ns = [a for a in S.accounts.values()
              if ((a['type'] == 'Organization' and self.find_ns(a['full_path']) is not None) or a is req.user)
              and search in a['full_path'].lower()]
        ns.sort(key=lambda a: a['ns_id'])
        chunk, hdrs = paginate(req, ns, 20)
        return 200, [self.namespace(a) for a in chunk], hdrs

    def get_namespace(self, req, nid):
        a = self.find_ns(nid)
        if a is None:
            raise gl_err(404, '404 Namespace Not Found')
        return 200, self.namespace(a)

    def get_group(self, req, gid):
        a = self.find_ns(gid)
        if a is None or a['type'] != 'Organization':
            raise gl_err(404, '404 Group Not Found')
        return 200, self.group(a)

    def create_project(self, req):
        name, path = req.param('name'), req.param('path')
        if not name and not path:
            raise gl_err(400, 'name is missing, path is missing')  # Grape: "name, path are missing, at least one parameter must be provided"
        path = path or re.sub(r'[^a-z0-9_.-]+', '-', name.lower()).strip('-')
        name = name or path
        nsid = req.param('namespace_id') or req.param('namespace')
        ns = self.find_ns(nsid) if nsid else req.user
        if ns is None:
            raise ApiError(400, {'message': {'namespace': ['is not valid']}})
        if find_repo(ns['full_path'], path) or any(r['owner'] == ns['full_path'] and r['name'].lower() == name.lower()
                                                   for r in S.repos.values()):
            raise ApiError(400, {'message': {'project_namespace.name': ['has already been taken'],
                                             'name': ['has already been taken'], 'path': ['has already been taken']}})
        vis = req.param('visibility') or 'private'
        if vis not in ('private', 'internal', 'public'):
            raise gl_err(400, 'visibility does not have a valid value')
        if ns is not req.user and ns_level(req.user, ns) < 30:   # project_creation_level: developer
            raise gl_err(403, '403 Forbidden')
        # A project cannot be more visible than its group (or any ancestor group).
        order = ['private', 'internal', 'public']
        g = ns if ns['type'] == 'Organization' else None
        while g is not None:
            gv = g.get('visibility', 'private')
            if order.index(vis) > order.index(gv):
                raise ApiError(400, {'message': {'visibility_level': [f'{vis} is not allowed in a {gv} group.']}})
            g = find_account(g['parent']) if g.get('parent') else None
        r = create_repo(ns['full_path'], name, visibility=vis, path=path,
                        default_branch=req.param('default_branch') or 'main',
                        auto_init=truthy(req.param('initialize_with_readme')), description=req.param('description'),
                        settle=True)
        r['creator_id'] = req.user['id']
        return 201, self.project(r)

    def get_project_h(self, req, pid):
        return 200, self.project(self.get_project(pid))

    def list_mrs(self, req, pid):
        r = self.get_project(pid)
        state = req.query.get('state', 'all')
        src, tgt = req.query.get('source_branch'), req.query.get('target_branch')
        out = [m for m in r['pulls'] if (state == 'all' or m['state'] == state)
               and (not src or m['source_branch'] == src) and (not tgt or m['target_branch'] == tgt)]
        out.sort(key=lambda m: m['iid'], reverse=req.query.get('sort', 'desc') != 'asc')
        chunk, hdrs = paginate(req, out, 20)
        return 200, [self.mr(r, m) for m in chunk], hdrs

    def create_mr(self, req, pid):
        r = self.get_project(pid, need=30)
        src, tgt, title = req.param('source_branch'), req.param('target_branch'), req.param('title')
        missing = [n for n, v in (('source_branch', src), ('target_branch', tgt), ('title', title)) if not v]
        if missing:
            raise ApiError(400, {'error': ', '.join(missing) + (' is missing' if len(missing) == 1 else ' are missing')})
        if src == tgt:
            raise gl_err(422, ["You can't use same project/branch for source and target"])
        gd = repo_gitdir(r)
        sha, base_sha = api_rev(gd, src), rev(gd, tgt)
        for m in r['pulls']:   # GitLab: one open MR per (project, source branch, target branch)
            if m['state'] == 'opened' and m['source_branch'] == src and m['target_branch'] == tgt:
                raise gl_err(409, [f'Another open merge request already exists for this source branch: !{m["iid"]}'])
        if sha is None:
            raise gl_err(409, [f'Source branch "{src}" does not exist'])
        if base_sha is None:
            raise gl_err(409, [f'Target branch "{tgt}" does not exist'])
        t = now_iso(ms=True)
        draft = bool(re.match(r'^\s*(\[draft\]|\(draft\)|draft:|draft\s-\s)', title, re.I))
        m = dict(id=S.next_id('pull'), iid=len(r['pulls']) + 1, title=title, description=req.param('description') or '',
                 source_branch=src, target_branch=tgt, state='opened', created_at=t, updated_at=t, merged_at=None,
                 closed_at=None, merged_by=None, closed_by=None, author=req.user['login'], sha=sha, base_sha=base_sha,
                 merge_commit_sha=None, squash_commit_sha=None, draft=draft,
                 remove_source_branch=truthy(req.param('remove_source_branch')), squash=truthy(req.param('squash')))
        r['pulls'].append(m)
        return 201, self.mr(r, m)

    def get_mr_h(self, req, pid, iid):
        r = self.get_project(pid)
        return 200, self.mr(r, self.get_mr(r, iid))

    def update_mr(self, req, pid, iid):
        r = self.get_project(pid)
        m = self.get_mr(r, iid)
        ev = req.param('state_event')
        if ev == 'close' and m['state'] == 'opened':
            gd = repo_gitdir(r)
            m.update(state='closed', closed_at=now_iso(ms=True), closed_by=req.user['login'],
                     sha=rev(gd, m['source_branch']) or m['sha'], base_sha=rev(gd, m['target_branch']) or m['base_sha'])
        elif ev == 'reopen' and m['state'] == 'closed':
            for o in r['pulls']:
                if o is not m and o['state'] == 'opened' and o['source_branch'] == m['source_branch'] \
                        and o['target_branch'] == m['target_branch']:
                    raise gl_err(409, [f'Another open merge request already exists for this source branch: !{o["iid"]}'])
            m.update(state='opened', closed_at=None, closed_by=None)
        for f in ('title', 'description', 'target_branch'):
            v = req.param(f)
            if v is not None:
                m[f] = v
        for f in ('remove_source_branch', 'squash'):
            v = req.param(f)
            if v is not None:
                m[f] = truthy(v)
        m['updated_at'] = now_iso(ms=True)
        return 200, self.mr(r, m)

    def merge_mr(self, req, pid, iid):
        r = self.get_project(pid, need=30)
        m = self.get_mr(r, iid)
        if m['target_branch'] == default_branch(r) and access_level(req.user, r) < 40:
            raise gl_err(403, '403 Forbidden')   # the default branch is protected: Maintainers merge
        if req.param('sha') and req.param('sha') != rev(repo_gitdir(r), m['source_branch']):
            raise gl_err(409, 'SHA does not match HEAD of source branch')
        sq = req.param('squash')
        rs = req.param('should_remove_source_branch')
        self.do_merge(r, m, req.user, None if sq is None else truthy(sq), req.param('merge_commit_message'),
                      None if rs is None else truthy(rs))
        return 200, self.mr(r, m)

    def list_keys(self, req, pid):
        r = self.get_project(pid, need=40)
        chunk, hdrs = paginate(req, r['keys'], 20)
        return 200, [self.key(k, k['can_push']) for k in chunk], hdrs

    def create_key(self, req, pid):
        r = self.get_project(pid, need=40)
        key, title = req.param('key'), req.param('title')
        missing = [n for n, v in (('key', key), ('title', title)) if not v]
        if missing:
            raise ApiError(400, {'error': ', '.join(missing) + (' is missing' if len(missing) == 1 else ' are missing')})
        fps = key_fingerprints(key)
        if fps is None:
            raise ApiError(400, {'message': {'key': ['is invalid'], 'fingerprint_sha256': ['cannot be generated']}})
        nk = norm_key(key)
        for k in r['keys']:   # already enabled on this project: GitLab answers 201 with the existing key
            if k['key'] == nk:
                return 201, self.key(k, k['can_push'])
        # GitLab: a key already on another project is joined to this one only when that project
        # is accessible to the same user; else the fingerprint is taken.
        existing = None
        for other in S.repos.values():
            for k in other['keys']:
                if k['key'] == nk:
                    if access_level(req.user, other) < 40:
                        raise ApiError(400, {'message': {'fingerprint_sha256': ['has already been taken']}})
                    existing = k
        k = dict(id=existing['id'] if existing else S.next_id('key'), key=nk, title=existing['title'] if existing else title,
                 fingerprint=fps[0], fingerprint_sha256=fps[1], created_at=existing['created_at'] if existing else now_iso(ms=True),
                 expires_at=req.param('expires_at'), can_push=truthy(req.param('can_push')))
        r['keys'].append(k)
        return 201, self.key(k, k['can_push'])

    def _find_key(self, r, kid):
        for k in r['keys']:
            if str(k['id']) == str(kid):
                return k
        raise gl_err(404, '404 Deploy Key Not Found')

    def get_key(self, req, pid, kid):
        r = self.get_project(pid, need=40)
        k = self._find_key(r, kid)
        return 200, self.key(k, k['can_push'])

    def delete_key(self, req, pid, kid):
        r = self.get_project(pid, need=40)
        r['keys'].remove(self._find_key(r, kid))
        return 204, None

    def get_branch(self, req, pid, branch):
        r = self.get_project(pid)
        branch = unquote(branch)
        sha = api_rev(repo_gitdir(r), branch)
        if sha is None:
            raise gl_err(404, '404 Branch Not Found')
        return 200, self.branch(r, branch, sha)

    # ---- fake control
    def fake_merge(self, b):
        pid = b.get('project') or f'{b.get("owner")}/{b.get("name")}'
        r = self.get_project(quote(pid, safe=''))
        m = self.get_mr(r, b.get('number') or b.get('iid'))
        self.do_merge(r, m, find_account(b.get('user') or ARGS.user), truthy(b.get('squash')) if 'squash' in b else None)
        return self.mr(r, m)

    def auth_error(self, present):
        return gl_err(401, '401 Unauthorized')

    def not_found_route(self):
        return ApiError(404, {'error': '404 Not Found'})


# ========================================================================================= server
class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'provider-fake/1'

    def log_message(self, fmt, *a):
        if ARGS.verbose:
            sys.stderr.write('%s %s\n' % (self.log_date_time_string(), fmt % a))

    def _read_body(self):
        if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            out = b''
            while True:
                n = int(self.rfile.readline().strip().split(b';')[0], 16)
                if n == 0:
                    while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    return out
                out += self.rfile.read(n)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get('Content-Length') or 0))

    def _parse_body(self, raw):
        """JSON when it parses as JSON (GitHub ignores the Content-Type), else form-urlencoded, else text."""
        if not raw:
            return None
        ct = self.headers.get('Content-Type', '')
        text = raw.decode('utf-8', 'replace')
        if 'json' in ct or text.lstrip()[:1] in ('{', '['):
            try:
                return json.loads(text)
            except ValueError:
                if 'json' in ct or ARGS.flavor == 'github':
                    return {'__invalid_json__': text}
        if 'x-www-form-urlencoded' in ct or '=' in text:
            return dict(parse_qsl(text, keep_blank_values=True))
        return text

    def _send(self, status, body, headers=None):
        headers = dict(headers or {})
        if body is None:
            payload = b''
        elif isinstance(body, (bytes, bytearray)):
            payload = bytes(body)
        elif isinstance(body, str):
            payload = body.encode()
            headers.setdefault('Content-Type', 'text/plain; charset=utf-8')
        else:
            payload = json.dumps(body).encode()
            headers.setdefault('Content-Type', 'application/json; charset=utf-8')
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if ARGS.flavor == 'github':
            self.send_header('X-GitHub-Media-Type', 'github.v3; format=json')
            self.send_header('X-GitHub-Api-Version-Selected', '2022-11-28')
            self.send_header('X-RateLimit-Limit', '5000')
            self.send_header('X-RateLimit-Remaining', '4999')
            self.send_header('X-RateLimit-Reset', str(int(time.time()) + 3600))
            self.send_header('X-RateLimit-Used', '1')
            self.send_header('X-RateLimit-Resource', 'core')
        if status != 204 and status != 304:
            self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        if status not in (204, 304):
            self.wfile.write(payload)
        return status

    def _base(self):
        return f'http://{self.headers.get("Host") or f"127.0.0.1:{ARGS.port}"}'

    def _handle(self):
        raw = self._read_body()
        u = urlsplit(self.path)
        query = dict(parse_qsl(u.query, keep_blank_values=True))
        body = self._parse_body(raw)
        if u.path.startswith('/_fake/') or u.path == '/_fake':
            try:
                with LOCK:
                    res = self._fake(u.path, query, body)
            except ApiError as e:
                return self._send(e.status, e.body, e.headers)
            except Exception as e:  # noqa
                return self._send(500, {'message': f'fake error: {e!r}'})
            return self._send(*res)
        rec = {'method': self.command, 'path': u.path, 'query': query, 'headers': redact(dict(self.headers.items())),
               'body': body, 'time': time.time(), 'status': None}
        with LOCK:
            S.requests.append(rec)
            del S.requests[:-5000]
            fault = take_fault(self.command, u.path)
        if fault:
            if fault.get('delay'):
                time.sleep(float(fault['delay']))
            rec['status'] = fault.get('status', 500)
            rec['fault'] = True
            return self._send(rec['status'], fault.get('body'), fault.get('headers'))
        try:
            status, resp, hdrs = self._api(u.path, query, body)
        except ApiError as e:
            status, resp, hdrs = e.status, e.body, e.headers
        except Exception as e:  # noqa
            import traceback
            traceback.print_exc()
            status, resp, hdrs = 500, {'message': f'fake internal error: {e!r}'}, {}
        rec['status'] = status
        return self._send(status, resp, hdrs)

    def _api(self, path, query, body):
        prov = PROVIDER
        if ARGS.flavor == 'github':
            if path.startswith('/api/v3/'):   # GitHub Enterprise style base URL
                path = path[len('/api/v3'):]
        else:
            i = path.find('/api/v4/')
            if i < 0 and not path.endswith('/api/v4'):
                raise prov.not_found_route()
            path = path[i + len('/api/v4'):] if i >= 0 else '/'
        if len(path) > 1:
            path = path.rstrip('/')
        # auth
        tok, present = None, False
        auth = self.headers.get('Authorization')
        if auth:
            present = True
            scheme, _, val = auth.partition(' ')
            if scheme.lower() in ('bearer', 'token') or (ARGS.flavor == 'gitlab' and scheme.lower() == 'bearer'):
                tok = val.strip()
        if ARGS.flavor == 'gitlab' and self.headers.get('PRIVATE-TOKEN'):
            present, tok = True, self.headers.get('PRIVATE-TOKEN').strip()
        with LOCK:
            user = token_user(tok)
            public = ARGS.flavor == 'github' and path == '/meta'   # GET /meta needs no token
            if user is None and not (public and not present):
                raise prov.auth_error(present)
            S.current = user
            try:
                return self._route(prov, path, query, body, user)
            finally:
                S.current = None

    def _route(self, prov, path, query, body, user):
        if isinstance(body, dict) and '__invalid_json__' in body:
            raise (gh_err(400, 'Problems parsing JSON') if ARGS.flavor == 'github'
                   else ApiError(400, {'error': 'The provided content-type is not supported / invalid JSON'}))
        req = Req(self.command, path, query, body, self.headers, self._base())
        req.raw_path = urlsplit(self.path).path
        req.user = user
        path_matched = False
        for method, rx, fn in ROUTES:
            m = re.fullmatch(rx, path)
            if m:
                path_matched = True
                if method == self.command:
                    res = fn(req, *[unquote(g) if fn.__name__ not in ('get_branch',) else g for g in m.groups()])
                    status, resp = res[0], res[1]
                    return status, resp, (res[2] if len(res) > 2 else {})
        if path_matched and ARGS.flavor == 'github':
            raise gh_err(404, 'Not Found')
        raise prov.not_found_route()

    def _fake(self, path, query, body):
        b = body if isinstance(body, dict) else {}
        m = self.command
        if path == '/_fake/health':
            return 200, {'ok': True, 'flavor': ARGS.flavor}
        if path == '/_fake/requests':
            if m == 'DELETE':
                S.requests.clear()
                return 204, None
            rx = query.get('path_regex')
            return 200, [r for r in S.requests if not rx or re.search(rx, r['path'])]
        if path == '/_fake/faults':
            if m == 'DELETE':
                S.faults.clear()
                return 204, None
            if m == 'POST':
                fs = body if isinstance(body, list) else [b]
                for f in fs:
                    re.compile(f.get('path_regex', ''))
                    f.setdefault('times', 1)
                    S.faults.append(f)
                return 201, S.faults
            return 200, S.faults
        if path == '/_fake/config':
            if m == 'POST':
                if 'settle_ms' in b:
                    CONFIG['settle_ms'] = max(0, int(b['settle_ms']))
            return 200, CONFIG
        if path == '/_fake/state':
            return 200, {'flavor': ARGS.flavor, 'accounts': list(S.accounts.values()), 'repos': list(S.repos.values())}
        if path == '/_fake/users' and m == 'POST':
            if not b.get('login'):
                raise ApiError(400, {'message': 'login required'})
            a = add_account(b['login'], b.get('type', 'User'), b.get('name'), b.get('email'), b.get('token'), b.get('parent'),
                            b.get('visibility'))
            if b.get('visibility'):
                a['visibility'] = b['visibility']
            # "access": {"owner/name" (a repository) or "org" (an org/group): "write"|"developer"|...}
            for target, role in (b.get('access') or {}).items():
                lvl = ROLES.get(str(role).lower())
                if lvl is None:
                    raise ApiError(400, {'message': f'unknown role {role}; use one of {sorted(ROLES)}'})
                o, _, n = target.rpartition('/')
                r = find_repo(o, n) if o else None
                g = find_account(target)
                if r is not None:
                    r['collaborators'][a['login'].lower()] = lvl
                elif g is not None and g['type'] == 'Organization':
                    g['members'][a['login'].lower()] = lvl
                else:
                    raise ApiError(404, {'message': f'no repository or org/group {target}'})
            return 201, a
        if path == '/_fake/repos' and m == 'POST':
            if not b.get('owner') or not b.get('name'):
                raise ApiError(400, {'message': 'owner and name required'})
            existing = find_repo(b['owner'], b.get('path') or b['name'])
            if existing and not truthy(b.get('replace')):
                raise ApiError(409, {'message': 'exists'})
            if find_account(b['owner']) is None:
                add_account(b['owner'], b.get('owner_type', 'User'))
            vis = b.get('visibility') or ('public' if b.get('private') is False else 'private')
            r = create_repo(b['owner'], b['name'], visibility=vis, default_branch=b.get('default_branch') or 'main',
                            auto_init=truthy(b.get('auto_init')), description=b.get('description'), path=b.get('path'),
                            collaborators=b.get('collaborators'))
            return 201, PROVIDER.repo(r) if ARGS.flavor == 'github' else PROVIDER.project(r)
        if path == '/_fake/merge' and m == 'POST':
            return 200, PROVIDER.fake_merge(b)
        raise ApiError(404, {'message': 'unknown fake endpoint'})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


def redact(headers):
    out = {}
    for k, v in headers.items():
        out[k] = 'REDACTED' if k.lower() in ('authorization', 'private-token', 'job-token', 'cookie') else v
    return out


def take_fault(method, path):
    for f in S.faults:
        fm = (f.get('method') or '*').upper()
        if fm not in ('*', method) or not re.search(f.get('path_regex', ''), path):
            continue
        f['times'] = int(f.get('times', 1)) - 1
        if f['times'] <= 0:
            S.faults.remove(f)
        return f
    return None


def token_user(tok):
    if not tok:
        return None
    if tok == ARGS.token:
        return find_account(ARGS.user)
    for a in S.accounts.values():
        if a.get('token') and a['token'] == tok:
            return a
    return None


PROVIDER = None
ROUTES = []


def main():
    global ARGS, PROVIDER, ROUTES
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--flavor', choices=['github', 'gitlab'], required=True)
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--git-root', required=True, help='bare repos are created as DIR/OWNER/NAME.git')
    p.add_argument('--git-http-base', required=True, help='clone URLs: BASE/OWNER/NAME.git')
    p.add_argument('--ssh-base', required=True, help='ssh URLs: BASE/OWNER/NAME.git')
    p.add_argument('--git-daemon-base', default=None, help='GitHub git_url: BASE/OWNER/NAME.git')
    p.add_argument('--token', required=True)
    p.add_argument('--user', default='wego-tester', help='login of the user the token belongs to')
    p.add_argument('--web-base', default=None, help='base of html_url/web_url (default: this server)')
    p.add_argument('--ssh-scp-host', default=None,
                   help='ssh URLs as git@HOST:OWNER/NAME.git (git-up.sh\'s port-22 sshd for this flavor)')
    p.add_argument('--ssh-host-key', action='append', default=[],
                   help='public host key file of the test sshd, published by GitHub GET /meta (repeatable)')
    p.add_argument('--settle-ms', type=int, default=int(os.environ.get('FAKE_SETTLE_MS', '300')),
                   help='new repos unreachable / new branches invisible to the API for this long (0: off)')
    p.add_argument('-v', '--verbose', action='store_true')
    ARGS = p.parse_args()
    ARGS.git_root = os.path.abspath(ARGS.git_root)
    CONFIG['settle_ms'] = max(0, ARGS.settle_ms)
    for f in ('git_http_base', 'ssh_base'):
        setattr(ARGS, f, getattr(ARGS, f).rstrip('/'))
    ARGS.api_base = f'http://{ARGS.host}:{ARGS.port}'
    ARGS.web_base = (ARGS.web_base or ARGS.api_base).rstrip('/')
    if not ARGS.git_daemon_base:   # git-up.sh's git daemon (port 19418) serves the same tree as its HTTP server
        hb = urlsplit(ARGS.git_http_base)
        ARGS.git_daemon_base = f'git://{hb.hostname}:19418{hb.path}'
    ARGS.git_daemon_base = ARGS.git_daemon_base.rstrip('/')
    os.makedirs(ARGS.git_root, exist_ok=True)
    add_account(ARGS.user, 'User', name='Wego Tester', token=None)
    PROVIDER = GitHub() if ARGS.flavor == 'github' else GitLab()
    ROUTES = PROVIDER.routes()
    srv = ThreadingHTTPServer((ARGS.host, ARGS.port), Handler)
    srv.daemon_threads = True
    print(f'{ARGS.flavor} fake listening on http://{ARGS.host}:{ARGS.port}', flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main()

"""Tests of the test environment itself: provider fakes, git remotes, Prism, helm.

Run: python3 -m pytest tests/env/test_fakes.py        (needs pytest; ~20 s, plus ~15 s when Prism is started)
Every server is started here on free ports under a temporary GIT_DIR_ROOT, so this does not clash with
servers started by providers-up.sh/git-up.sh. Parts that need something missing (sshd, tests/node_modules for
Prism, helm download) are skipped locally but FAIL when CI=true, so CI cannot pass silently without them.
"""
import json
import os
import pwd
import shlex
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
TOKEN = 'test-token-123'
USER = 'wego-tester'
IN_CI = os.environ.get('CI', '').lower() in ('1', 'true', 'yes')
GIT_ENV = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@e.invalid', GIT_COMMITTER_NAME='t',
               GIT_COMMITTER_EMAIL='t@e.invalid', GIT_TERMINAL_PROMPT='0')


def need(cond, why):
    """Skip when a prerequisite is missing, except in CI where that is a failure."""
    if not cond:
        if IN_CI:
            pytest.fail(f'required in CI: {why}')
        pytest.skip(why)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def call(method, url, body=None, headers=None, form=False, raw=None):
    h = dict(headers or {})
    data = raw
    if body is not None:
        if form:
            data = urlencode(body).encode()
            h['Content-Type'] = 'application/x-www-form-urlencoded'
        else:
            data = json.dumps(body).encode()
            h['Content-Type'] = 'application/json'
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            status, hdrs, payload = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, payload = e.code, e.headers, e.read()
    try:
        return status, hdrs, json.loads(payload) if payload else None
    except ValueError:
        return status, hdrs, payload.decode()


def wait_http(url, timeout, proc=None):
    end = time.time() + timeout
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=5)
            return True
        except urllib.error.HTTPError:
            return True
        except Exception:
            if proc is not None and proc.poll() is not None:
                return False
            time.sleep(0.2)
    return False


def git(*args, cwd=None, env=None):
    r = subprocess.run(['git', *args], cwd=cwd, env=env or GIT_ENV, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f'git {args}: {r.stderr}'
    return r.stdout.strip()


# ------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope='session')
def env_root(tmp_path_factory):
    """git-up.sh on free ports under a temporary GIT_DIR_ROOT (http, git://, and ssh when sshd is available)."""
    root = str(tmp_path_factory.mktemp('gitroot'))
    ports = dict(HTTP_PORT=free_port(), DAEMON_PORT=free_port(), SSH_PORT=free_port())
    e = dict(os.environ, GIT_DIR_ROOT=root, **{k: str(v) for k, v in ports.items()})
    r = subprocess.run([os.path.join(HERE, 'git-up.sh')], env=e, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    genv = {}
    for line in open(os.path.join(root, 'git.env')):
        if line.startswith('export '):
            for part in shlex.split(line[len('export '):]):
                k, _, v = part.partition('=')
                genv[k] = v
    yield dict(root=root, env=genv, **ports)
    subprocess.run([os.path.join(HERE, 'git-down.sh')], env=e, timeout=60)


def start_fake(flavor, ctx):
    port = free_port()
    root = ctx['root']
    srv = os.path.join(root, 'srv', flavor)
    proc = subprocess.Popen(
        ['python3', os.path.join(HERE, 'provider_fake.py'), '--flavor', flavor, '--port', str(port), '--token', TOKEN,
         '--user', USER, '--git-root', srv, '--git-http-base', f'http://127.0.0.1:{ctx["HTTP_PORT"]}/{flavor}',
         '--git-daemon-base', f'git://127.0.0.1:{ctx["DAEMON_PORT"]}/{flavor}',
         '--ssh-base', f'ssh://{pwd.getpwuid(os.getuid()).pw_name}@127.0.0.1:{ctx["SSH_PORT"]}{srv}',
         *(['--ssh-scp-host', ctx['env'][f'WEGO_TEST_SCP_{flavor.upper()}'].split('@', 1)[1]]
           if ctx['env'].get(f'WEGO_TEST_SCP_{flavor.upper()}') else []),
         *(['--ssh-host-key', ctx['env']['WEGO_TEST_SSH_HOST_KEY']] if ctx['env'].get('WEGO_TEST_SSH_HOST_KEY') else [])],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(root, f'{flavor}.log'), 'w'))
    assert wait_http(f'http://127.0.0.1:{port}/_fake/health', 20, proc), f'{flavor} fake did not start'
    return proc, f'http://127.0.0.1:{port}', srv


@pytest.fixture(scope='session')
def gh(env_root):
    proc, base, srv = start_fake('github', env_root)
    # The settle window is on by default; the tests that check it turn it on (settle()), the
    # others see a provider that has caught up.
    call('POST', base + '/_fake/config', {'settle_ms': 0})
    yield dict(base=base, srv=srv, ctx=env_root)
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope='session')
def gl(env_root):
    proc, base, srv = start_fake('gitlab', env_root)
    call('POST', base + '/_fake/config', {'settle_ms': 0})
    yield dict(base=base, api=base + '/api/v4', srv=srv, ctx=env_root)
    proc.terminate()
    proc.wait(10)


GH_AUTH = {'Authorization': f'Bearer {TOKEN}', 'Accept': 'application/vnd.github+json'}
GL_AUTH = {'PRIVATE-TOKEN': TOKEN}


def push_branch(bare, branch, filename, base='main', tmp=None):
    """Commit a file on `branch` (from `base`) and push it straight into the bare repo."""
    wc = os.path.join(tmp, f'wc-{branch}-{filename}')
    git('clone', '-q', bare, wc)
    git('checkout', '-q', '-B', branch, f'origin/{base}', cwd=wc)
    with open(os.path.join(wc, filename), 'w') as f:
        f.write(filename + '\n')
    git('add', filename, cwd=wc)
    git('commit', '-q', '-m', f'add {filename}', cwd=wc)
    git('push', '-q', 'origin', f'HEAD:refs/heads/{branch}', cwd=wc)
    return git('rev-parse', 'HEAD', cwd=wc)


def ssh_pubkey(tmp, name):
    p = os.path.join(tmp, name)
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', p], check=True)
    return open(p + '.pub').read().strip()


# ------------------------------------------------------------------------------------- GitHub fake
def test_github_auth(gh):
    s, _, b = call('GET', gh['base'] + '/user')
    assert s == 401 and b['message'] == 'Requires authentication'
    s, _, b = call('GET', gh['base'] + '/user', headers={'Authorization': 'Bearer nope'})
    assert s == 401 and b['message'] == 'Bad credentials'
    for h in (f'Bearer {TOKEN}', f'token {TOKEN}'):
        s, _, b = call('GET', gh['base'] + '/user', headers={'Authorization': h})
        assert s == 200 and b['login'] == USER and b['type'] == 'User'
    s, _, b = call('GET', gh['base'] + '/api/v3/user', headers=GH_AUTH)   # GitHub Enterprise style prefix
    assert s == 200 and b['login'] == USER


def test_github_repos(gh):
    base = gh['base']
    s, h, r = call('POST', base + '/user/repos', {'name': 'repo-a', 'private': True}, GH_AUTH)
    assert s == 201, r
    assert r['full_name'] == f'{USER}/repo-a' and r['private'] is True and r['visibility'] == 'private'
    assert r['owner']['login'] == USER and r['default_branch'] == 'main'
    assert r['clone_url'].endswith(f'/github/{USER}/repo-a.git')
    scp = gh['ctx']['env'].get('WEGO_TEST_SCP_GITHUB')
    assert r['ssh_url'] == (f'{scp}:{USER}/repo-a.git' if scp else r['ssh_url']) and not r['ssh_url'].startswith('ssh://') or not scp
    assert h['Location'] == r['url']
    assert os.path.isfile(os.path.join(gh['srv'], USER, 'repo-a.git', 'HEAD'))
    s, _, e = call('POST', base + '/user/repos', {'name': 'repo-a'}, GH_AUTH)
    assert s == 422 and e['message'] == 'Repository creation failed.'
    assert e['errors'][0]['message'] == 'name already exists on this account'
    s, _, e = call('GET', base + f'/repos/{USER}/missing', headers=GH_AUTH)
    assert s == 404 and e['message'] == 'Not Found'
    s, _, r2 = call('GET', base + f'/repos/{USER.upper()}/REPO-A', headers=GH_AUTH)   # case-insensitive like GitHub
    assert s == 200 and r2['id'] == r['id']
    # organisations
    assert call('GET', base + '/orgs/acme', headers=GH_AUTH)[0] == 404
    call('POST', base + '/_fake/users', {'login': 'acme', 'type': 'Organization'})
    s, _, o = call('GET', base + '/orgs/acme', headers=GH_AUTH)
    assert s == 200 and o['login'] == 'acme'
    s, _, r = call('POST', base + '/orgs/acme/repos', {'name': 'fleet', 'visibility': 'public', 'auto_init': True}, GH_AUTH)
    assert s == 201 and r['owner']['type'] == 'Organization' and r['private'] is False
    assert git('--git-dir', os.path.join(gh['srv'], 'acme', 'fleet.git'), 'log', '--format=%s', 'main') == 'Initial commit'
    assert call('POST', base + '/orgs/nosuchorg/repos', {'name': 'x'}, GH_AUTH)[0] == 404
    s, _, u = call('GET', base + '/users/acme', headers=GH_AUTH)
    assert s == 200 and u['type'] == 'Organization'
    # invalid JSON
    s, _, e = call('POST', base + '/user/repos', headers=dict(GH_AUTH, **{'Content-Type': 'application/json'}), raw=b'{"name":')
    assert s == 400 and e['message'] == 'Problems parsing JSON'


def test_github_pull_requests_and_merge(gh, tmp_path):
    base, owner = gh['base'], USER
    call('POST', base + '/_fake/repos', {'owner': owner, 'name': 'pr-repo', 'private': True, 'auto_init': True})
    bare = os.path.join(gh['srv'], owner, 'pr-repo.git')
    head_sha = push_branch(bare, 'wego-update', 'a.yaml', tmp=str(tmp_path))
    api = f'{base}/repos/{owner}/pr-repo'
    s, _, e = call('POST', api + '/pulls', {'title': 't', 'head': f'{owner}:nope', 'base': 'main'}, GH_AUTH)
    assert s == 422 and e['errors'][0]['field'] == 'head'
    s, _, p = call('POST', api + '/pulls', {'title': 'Update', 'head': f'{owner}:wego-update', 'base': 'main', 'body': 'b'}, GH_AUTH)
    assert s == 201, p
    assert p['number'] == 1 and p['state'] == 'open' and p['merged'] is False
    assert p['head'] == {**p['head'], 'ref': 'wego-update', 'sha': head_sha, 'label': f'{owner}:wego-update'}
    assert p['base']['ref'] == 'main' and p['html_url'].endswith('/pr-repo/pull/1') and p['commits'] == 1
    s, _, e = call('POST', api + '/pulls', {'title': 'Again', 'head': f'{owner}:wego-update', 'base': 'main'}, GH_AUTH)
    assert s == 422 and e['errors'][0]['message'] == f'A pull request already exists for {owner}:wego-update.'
    s, _, lst = call('GET', api + f'/pulls?head={owner}:wego-update&base=main&state=open', headers=GH_AUTH)
    assert s == 200 and [x['number'] for x in lst] == [1]
    assert call('GET', api + '/pulls?head=someoneelse:wego-update', headers=GH_AUTH)[2] == []
    s, _, p = call('PATCH', api + '/pulls/1', {'title': 'Update 2', 'body': 'b2'}, GH_AUTH)
    assert s == 200 and p['title'] == 'Update 2'
    # the head branch moves: the PR follows it
    head2 = push_branch(bare, 'wego-update', 'b.yaml', base='wego-update', tmp=str(tmp_path))
    assert call('GET', api + '/pulls/1', headers=GH_AUTH)[2]['head']['sha'] == head2
    # close / reopen
    assert call('PATCH', api + '/pulls/1', {'state': 'closed'}, GH_AUTH)[2]['state'] == 'closed'
    assert call('GET', api + '/pulls?state=open', headers=GH_AUTH)[2] == []
    assert call('PATCH', api + '/pulls/1', {'state': 'open'}, GH_AUTH)[2]['state'] == 'open'
    # a commit on main meanwhile, so the merge is a real (non fast-forward) merge
    main_before = push_branch(bare, 'main', 'c.yaml', tmp=str(tmp_path))
    s, _, m = call('POST', base + '/_fake/merge', {'owner': owner, 'name': 'pr-repo', 'number': 1})
    assert s == 200 and m['merged'] is True and m['state'] == 'closed' and m['merged_by']['login'] == USER
    gd = ['--git-dir', bare]
    assert git(*gd, 'rev-parse', 'main') == m['merge_commit_sha']
    assert git(*gd, 'log', '-1', '--format=%P', 'main').split() == [main_before, head2]
    assert git(*gd, 'ls-tree', '--name-only', 'main').split() == ['README.md', 'a.yaml', 'b.yaml', 'c.yaml']
    s, _, lst = call('GET', api + '/pulls?state=closed', headers=GH_AUTH)
    assert [(x['number'], x['merged']) for x in lst] == [(1, True)]
    assert call('GET', api + '/pulls/1/merge', headers=GH_AUTH)[0] == 204
    assert call('PATCH', api + '/pulls/1', {'state': 'open'}, GH_AUTH)[0] == 422
    # merge through the REST endpoint (PUT /pulls/N/merge), squash
    push_branch(bare, 'feature-2', 'd.yaml', tmp=str(tmp_path))
    s, _, p2 = call('POST', api + '/pulls', {'title': 'F2', 'head': 'feature-2', 'base': 'main'}, GH_AUTH)
    assert s == 201 and p2['number'] == 2
    s, _, res = call('PUT', api + '/pulls/2/merge', {'merge_method': 'squash'}, GH_AUTH)
    assert s == 200 and res['merged'] is True
    assert len(git(*gd, 'log', '-1', '--format=%P', 'main').split()) == 1
    assert call('PUT', api + '/pulls/2/merge', {}, GH_AUTH)[0] == 405
    # no commits between (wego-update was merged into main)
    s, _, e = call('POST', api + '/pulls', {'title': 'again', 'head': 'wego-update', 'base': 'main'}, GH_AUTH)
    assert s == 422 and 'No commits between' in e['errors'][0]['message']


def test_github_deploy_keys(gh, tmp_path):
    base = gh['base']
    call('POST', base + '/_fake/repos', {'owner': USER, 'name': 'keys-repo'})
    call('POST', base + '/_fake/repos', {'owner': USER, 'name': 'keys-repo-2'})
    api = f'{base}/repos/{USER}/keys-repo'
    key = ssh_pubkey(str(tmp_path), 'k1')
    s, h, k = call('POST', api + '/keys', {'title': 'flux', 'key': key, 'read_only': False}, GH_AUTH)
    assert s == 201 and k['title'] == 'flux' and k['read_only'] is False and k['verified'] is True
    assert key.startswith(k['key']) and h['Location'] == k['url']
    for target in ('keys-repo', 'keys-repo-2'):   # GitHub: a deploy key is unique across the site
        s, _, e = call('POST', f'{base}/repos/{USER}/{target}/keys', {'title': 'x', 'key': key}, GH_AUTH)
        assert s == 422 and e['errors'][0]['message'] == 'key is already in use'
    s, _, e = call('POST', api + '/keys', {'title': 'x', 'key': 'ssh-ed25519 AAAAbogus'}, GH_AUTH)
    assert s == 422 and 'key is invalid' in e['errors'][0]['message']
    assert [x['id'] for x in call('GET', api + '/keys', headers=GH_AUTH)[2]] == [k['id']]
    assert call('GET', api + f'/keys/{k["id"]}', headers=GH_AUTH)[2]['id'] == k['id']
    assert call('DELETE', api + f'/keys/{k["id"]}', headers=GH_AUTH)[0] == 204
    assert call('GET', api + f'/keys/{k["id"]}', headers=GH_AUTH)[0] == 404
    assert call('GET', api + '/keys', headers=GH_AUTH)[2] == []


def test_github_pagination(gh, tmp_path):
    base = gh['base']
    call('POST', base + '/_fake/repos', {'owner': USER, 'name': 'page-repo'})
    api = f'{base}/repos/{USER}/page-repo'
    for i in range(5):
        assert call('POST', api + '/keys', {'title': f'k{i}', 'key': ssh_pubkey(str(tmp_path), f'p{i}')}, GH_AUTH)[0] == 201
    s, h, items = call('GET', api + '/keys?per_page=2', headers=GH_AUTH)
    assert len(items) == 2 and 'rel="next"' in h['Link'] and 'page=2' in h['Link'] and 'rel="last"' in h['Link']
    s, h, items = call('GET', api + '/keys?per_page=2&page=3', headers=GH_AUTH)
    assert len(items) == 1 and h.get('Link') is None
    s, h, items = call('GET', api + '/keys', headers=GH_AUTH)
    assert len(items) == 5 and h.get('Link') is None


def test_github_branch(gh):
    base = gh['base']
    call('POST', base + '/_fake/repos', {'owner': USER, 'name': 'br-repo', 'auto_init': True})
    s, _, b = call('GET', f'{base}/repos/{USER}/br-repo/branches/main', headers=GH_AUTH)
    assert s == 200 and b['name'] == 'main' and len(b['commit']['sha']) == 40
    assert call('GET', f'{base}/repos/{USER}/br-repo/branches/nope', headers=GH_AUTH)[0] == 404


def test_faults_and_request_log(gh):
    base = gh['base']
    assert call('DELETE', base + '/_fake/requests')[0] == 204
    call('POST', base + '/_fake/faults', {'method': 'GET', 'path_regex': '^/user$', 'status': 500, 'times': 2,
                                          'body': {'message': 'Server Error'}})
    call('POST', base + '/_fake/faults', {'method': 'POST', 'path_regex': '/user/repos$', 'status': 429,
                                          'headers': {'Retry-After': '1'}, 'body': {'message': 'rate limited'}})
    assert call('GET', base + '/user', headers=GH_AUTH)[0] == 500
    assert call('GET', base + '/user', headers=GH_AUTH)[0] == 500
    assert call('GET', base + '/user', headers=GH_AUTH)[0] == 200
    s, h, b = call('POST', base + '/user/repos', {'name': 'limited'}, GH_AUTH)
    assert s == 429 and h['Retry-After'] == '1' and b['message'] == 'rate limited'
    assert call('POST', base + '/user/repos', {'name': 'limited'}, GH_AUTH)[0] == 201
    assert call('GET', base + '/_fake/faults')[2] == []
    s, _, reqs = call('GET', base + '/_fake/requests')
    assert [(r['method'], r['path'], r['status']) for r in reqs] == [
        ('GET', '/user', 500), ('GET', '/user', 500), ('GET', '/user', 200),
        ('POST', '/user/repos', 429), ('POST', '/user/repos', 201)]
    assert reqs[-1]['body'] == {'name': 'limited'}
    assert reqs[0]['headers']['Authorization'] == 'REDACTED'
    assert TOKEN not in json.dumps(reqs)
    call('GET', base + f'/repos/{USER}/limited/pulls?state=all&per_page=5', headers=GH_AUTH)
    s, _, reqs = call('GET', base + '/_fake/requests?path_regex=/pulls$')
    assert len(reqs) == 1 and reqs[0]['query'] == {'state': 'all', 'per_page': '5'}
    # a list of faults at once; `delay` slows the answer down (for client timeouts)
    call('POST', base + '/_fake/faults', [{'path_regex': '^/user$', 'status': 503, 'delay': 0.3},
                                          {'method': 'DELETE', 'path_regex': '.', 'status': 500}])
    t0 = time.time()
    assert call('GET', base + '/user', headers=GH_AUTH)[0] == 503 and time.time() - t0 >= 0.3
    assert len(call('GET', base + '/_fake/faults')[2]) == 1
    assert call('DELETE', base + '/_fake/faults')[0] == 204


# ------------------------------------------------- GitHub responses vs GitHub's own OpenAPI schemas
SPEC_PATH = os.path.join(TESTS, 'node_modules', '@octokit', 'openapi', 'generated', 'api.github.com.json')


@pytest.fixture(scope='session')
def gh_spec():
    need(os.path.isfile(SPEC_PATH), 'tests/node_modules missing (cd tests && npm ci)')
    with open(SPEC_PATH) as f:
        return json.load(f)


def schema_errors(spec, value, schema, path='$'):
    """Minimal JSON-schema check (required, type, nullable, enum, properties, items, allOf/anyOf/oneOf)."""
    errs = []
    while '$ref' in schema:
        node = spec
        for part in schema['$ref'].lstrip('#/').split('/'):
            node = node[part]
        schema = node
    types = {'object': dict, 'array': list, 'string': str, 'boolean': bool, 'integer': int, 'number': (int, float)}
    if value is None:
        t = schema.get('type')
        if schema.get('nullable') or t == 'null' or (isinstance(t, list) and 'null' in t) or not schema:
            return errs
        alts = schema.get('anyOf', []) + schema.get('oneOf', [])
        if alts and any(not schema_errors(spec, None, a) for a in alts):
            return errs
        return [f'{path}: null not allowed']
    for sub in schema.get('allOf', []):
        errs += schema_errors(spec, value, sub, path)
    alts = schema.get('anyOf') or schema.get('oneOf')
    if alts:
        results = [schema_errors(spec, value, a, path) for a in alts]
        if all(results):
            errs.append(f'{path}: matches no alternative ({results[0][:2]})')
    t = schema.get('type')
    ts = [x for x in (t if isinstance(t, list) else [t] if t else []) if x != 'null']
    if ts and not any(isinstance(value, types[x]) and not (x in ('integer', 'number') and isinstance(value, bool))
                      for x in ts):
        return errs + [f'{path}: expected {ts}, got {value!r:.60}']
    if 'enum' in schema and value not in schema['enum']:
        errs.append(f'{path}: {value!r} not in {schema["enum"]}')
    if isinstance(value, dict):
        errs += [f'{path}: missing required {r}' for r in schema.get('required', []) if r not in value]
        for k, sub in schema.get('properties', {}).items():
            if k in value:
                errs += schema_errors(spec, value[k], sub, f'{path}.{k}')
    if isinstance(value, list) and 'items' in schema:
        for i, x in enumerate(value[:3]):
            errs += schema_errors(spec, x, schema['items'], f'{path}[{i}]')
    return errs


def test_github_shapes_match_openapi(gh, gh_spec, tmp_path):
    base = gh['base']
    call('POST', base + '/_fake/users', {'login': 'shape-org', 'type': 'Organization'})
    s, _, repo = call('POST', base + '/orgs/shape-org/repos', {'name': 'shapes', 'auto_init': True}, GH_AUTH)
    assert s == 201
    bare = os.path.join(gh['srv'], 'shape-org', 'shapes.git')
    push_branch(bare, 'topic', 'x.txt', tmp=str(tmp_path))
    api = f'{base}/repos/shape-org/shapes'
    s, _, pr = call('POST', api + '/pulls', {'title': 'x', 'head': 'shape-org:topic', 'base': 'main'}, GH_AUTH)
    assert s == 201
    s, _, key = call('POST', api + '/keys', {'title': 'k', 'key': ssh_pubkey(str(tmp_path), 'shape')}, GH_AUTH)
    assert s == 201
    merged = call('POST', base + '/_fake/merge', {'owner': 'shape-org', 'name': 'shapes', 'number': 1})[2]
    cases = [
        ('private-user', call('GET', base + '/user', headers=GH_AUTH)[2]),
        ('public-user', call('GET', base + f'/users/{USER}', headers=GH_AUTH)[2]),
        ('organization-full', call('GET', base + '/orgs/shape-org', headers=GH_AUTH)[2]),
        ('full-repository', repo),
        ('full-repository', call('GET', api, headers=GH_AUTH)[2]),
        ('pull-request', pr),
        ('pull-request', merged),
        ('pull-request-simple', call('GET', api + '/pulls?state=all', headers=GH_AUTH)[2][0]),
        ('deploy-key', key),
        ('deploy-key', call('GET', api + '/keys', headers=GH_AUTH)[2][0]),
        ('branch-with-protection', call('GET', api + '/branches/main', headers=GH_AUTH)[2]),
        ('basic-error', call('GET', base + '/repos/shape-org/nope', headers=GH_AUTH)[2]),
        ('validation-error', call('POST', api + '/pulls', {'title': 'x', 'head': 'topic', 'base': 'main'}, GH_AUTH)[2]),
    ]
    problems = {}
    for name, value in cases:
        errs = schema_errors(gh_spec, value, {'$ref': f'#/components/schemas/{name}'})
        if errs:
            problems[name] = errs[:10]
    assert not problems, json.dumps(problems, indent=1)


# ------------------------------------------------------------------------------------- GitLab fake
def test_gitlab_auth_and_user(gl):
    api = gl['api']
    s, _, b = call('GET', api + '/user?')
    assert s == 401 and b == {'message': '401 Unauthorized'}
    assert call('GET', api + '/user?', headers={'PRIVATE-TOKEN': 'nope'})[0] == 401
    for h in (GL_AUTH, {'Authorization': f'Bearer {TOKEN}'}):
        s, _, u = call('GET', api + '/user?', headers=h)   # the gitlab crate's URLs end in '?'
        assert s == 200 and u['username'] == USER and u['namespace_id']
    s, _, us = call('GET', api + f'/users?username={USER}', headers=GL_AUTH)
    assert s == 200 and [u['username'] for u in us] == [USER]
    assert call('GET', api + '/nothing/here', headers=GL_AUTH)[2] == {'error': '404 Not Found'}
    # host with a path prefix (self-managed GitLab under /gitlab)
    assert call('GET', gl['base'] + '/gitlab/api/v4/user', headers=GL_AUTH)[0] == 200


def test_gitlab_projects_and_namespaces(gl):
    api = gl['api']
    call('POST', gl['base'] + '/_fake/users', {'login': 'platform', 'type': 'group'})
    call('POST', gl['base'] + '/_fake/users', {'login': 'apps', 'type': 'group', 'parent': 'platform'})
    s, _, ns = call('GET', api + '/namespaces/platform%2Fapps?', headers=GL_AUTH)
    assert s == 200 and ns['kind'] == 'group' and ns['full_path'] == 'platform/apps' and ns['parent_id']
    s, _, g = call('GET', api + f'/groups/{ns["id"]}?', headers=GL_AUTH)
    assert s == 200 and g['full_path'] == 'platform/apps' and g['id'] == ns['id']
    assert call('GET', api + '/groups/nope', headers=GL_AUTH)[2] == {'message': '404 Group Not Found'}
    s, _, all_ns = call('GET', api + '/namespaces', headers=GL_AUTH)
    assert {n['full_path'] for n in all_ns} >= {USER, 'platform', 'platform/apps'}
    # form-encoded create, like the gitlab crate
    s, _, p = call('POST', api + '/projects?', {'name': 'Fleet Infra', 'path': 'fleet-infra', 'namespace_id': ns['id'],
                                               'visibility': 'private', 'initialize_with_readme': 'true'}, GL_AUTH, form=True)
    assert s == 201, p
    assert p['path_with_namespace'] == 'platform/apps/fleet-infra' and p['name'] == 'Fleet Infra'
    assert p['namespace']['id'] == ns['id'] and p['visibility'] == 'private' and p['empty_repo'] is False
    assert p['http_url_to_repo'].endswith('/gitlab/platform/apps/fleet-infra.git')
    assert os.path.isdir(os.path.join(gl['srv'], 'platform', 'apps', 'fleet-infra.git'))
    s, _, e = call('POST', api + '/projects', {'name': 'Fleet Infra', 'path': 'fleet-infra', 'namespace_id': ns['id']},
                   GL_AUTH, form=True)
    assert s == 400 and e['message']['path'] == ['has already been taken']
    for pid in (str(p['id']), 'platform%2Fapps%2Ffleet-infra'):
        s, _, q = call('GET', api + f'/projects/{pid}?', headers=GL_AUTH)
        assert s == 200 and q['id'] == p['id']
    assert call('GET', api + '/projects/platform%2Fnope', headers=GL_AUTH)[2] == {'message': '404 Project Not Found'}
    # JSON create in the user's namespace
    s, _, mine = call('POST', api + '/projects', {'name': 'mine'}, GL_AUTH)
    assert s == 201 and mine['path_with_namespace'] == f'{USER}/mine' and mine['owner']['username'] == USER
    assert mine['empty_repo'] is True


def test_gitlab_merge_requests(gl, tmp_path):
    api = gl['api']
    call('POST', gl['base'] + '/_fake/repos', {'owner': USER, 'name': 'mr-repo', 'auto_init': True})
    bare = os.path.join(gl['srv'], USER, 'mr-repo.git')
    sha = push_branch(bare, 'wego', 'a.yaml', tmp=str(tmp_path))
    pid = f'{USER}%2Fmr-repo'
    s, _, e = call('POST', api + f'/projects/{pid}/merge_requests', {'source_branch': 'wego', 'target_branch': 'main'},
                   GL_AUTH, form=True)
    assert s == 400 and e == {'error': 'title is missing'}
    s, _, m = call('POST', api + f'/projects/{pid}/merge_requests?',
                   {'source_branch': 'wego', 'target_branch': 'main', 'title': 'Add', 'description': 'd',
                    'remove_source_branch': 'true'}, GL_AUTH, form=True)
    assert s == 201, m
    assert m['iid'] == 1 and m['state'] == 'opened' and m['sha'] == sha and m['source_branch'] == 'wego'
    assert m['web_url'].endswith(f'/{USER}/mr-repo/-/merge_requests/1') and m['author']['username'] == USER
    s, _, e = call('POST', api + f'/projects/{pid}/merge_requests',
                   {'source_branch': 'wego', 'target_branch': 'main', 'title': 'Again'}, GL_AUTH, form=True)
    assert s == 409 and e['message'] == ['Another open merge request already exists for this source branch: !1']
    s, _, lst = call('GET', api + f'/projects/{pid}/merge_requests?source_branch=wego&target_branch=main&state=opened',
                     headers=GL_AUTH)
    assert [x['iid'] for x in lst] == [1]
    assert call('GET', api + f'/projects/{pid}/merge_requests?state=merged', headers=GL_AUTH)[2] == []
    s, _, m = call('PUT', api + f'/projects/{pid}/merge_requests/1', {'title': 'Add v2'}, GL_AUTH, form=True)
    assert s == 200 and m['title'] == 'Add v2'
    assert call('PUT', api + f'/projects/{pid}/merge_requests/1', {'state_event': 'close'}, GL_AUTH)[2]['state'] == 'closed'
    assert call('PUT', api + f'/projects/{pid}/merge_requests/1', {'state_event': 'reopen'}, GL_AUTH)[2]['state'] == 'opened'
    s, _, m = call('POST', gl['base'] + '/_fake/merge', {'owner': USER, 'name': 'mr-repo', 'number': 1})
    assert s == 200 and m['state'] == 'merged' and m['merged_by']['username'] == USER
    gd = ['--git-dir', bare]
    assert git(*gd, 'rev-parse', 'main') == m['merge_commit_sha']
    assert sha in git(*gd, 'log', '-1', '--format=%P', 'main').split()
    assert git(*gd, 'branch', '--list', 'wego') == ''   # remove_source_branch
    s, _, lst = call('GET', api + f'/projects/{pid}/merge_requests?state=merged', headers=GL_AUTH)
    assert [x['iid'] for x in lst] == [1]
    assert call('GET', api + f'/projects/{pid}/merge_requests/1', headers=GL_AUTH)[2]['state'] == 'merged'
    assert call('GET', api + f'/projects/{pid}/merge_requests/9', headers=GL_AUTH)[0] == 404
    # merge through the REST endpoint
    push_branch(bare, 'second', 'b.yaml', tmp=str(tmp_path))
    m2 = call('POST', api + f'/projects/{pid}/merge_requests',
              {'source_branch': 'second', 'target_branch': 'main', 'title': 'Second'}, GL_AUTH)[2]
    s, _, m2 = call('PUT', api + f'/projects/{pid}/merge_requests/{m2["iid"]}/merge', {}, GL_AUTH)
    assert s == 200 and m2['state'] == 'merged'


def test_gitlab_deploy_keys_and_pagination(gl, tmp_path):
    api = gl['api']
    call('POST', gl['base'] + '/_fake/repos', {'owner': USER, 'name': 'dk-repo'})
    pid = f'{USER}%2Fdk-repo'
    key = ssh_pubkey(str(tmp_path), 'gk')
    s, _, k = call('POST', api + f'/projects/{pid}/deploy_keys?', {'title': 'flux', 'key': key, 'can_push': 'true'},
                   GL_AUTH, form=True)
    assert s == 201 and k['can_push'] is True and k['fingerprint_sha256'].startswith('SHA256:')
    fp = subprocess.run(['ssh-keygen', '-lf', os.path.join(str(tmp_path), 'gk.pub')], capture_output=True,
                        text=True).stdout.split()[1]
    assert k['fingerprint_sha256'] == fp
    s, _, k2 = call('POST', api + f'/projects/{pid}/deploy_keys', {'title': 'flux', 'key': key}, GL_AUTH, form=True)
    assert s == 201 and k2['id'] == k['id']     # GitLab answers with the key already enabled on the project
    s, _, e = call('POST', api + f'/projects/{pid}/deploy_keys', {'title': 'x', 'key': 'ssh-rsa nope'}, GL_AUTH, form=True)
    assert s == 400 and e['message']['key'] == ['is invalid']
    for i in range(4):
        call('POST', api + f'/projects/{pid}/deploy_keys', {'title': f'k{i}', 'key': ssh_pubkey(str(tmp_path), f'g{i}')},
             GL_AUTH)
    s, h, items = call('GET', api + f'/projects/{pid}/deploy_keys?per_page=2', headers=GL_AUTH)
    assert len(items) == 2 and 'rel="next"' in h['Link'] and h['X-Total'] == '5' and h['X-Next-Page'] == '2'
    assert h['Link'].startswith('<http://')   # the gitlab crate rejects relative links
    s, h, items = call('GET', api + f'/projects/{pid}/deploy_keys?per_page=2&page=3', headers=GL_AUTH)
    assert len(items) == 1 and h.get('Link') is None
    assert call('GET', api + f'/projects/{pid}/deploy_keys/{k["id"]}', headers=GL_AUTH)[2]['title'] == 'flux'
    assert call('DELETE', api + f'/projects/{pid}/deploy_keys/{k["id"]}', headers=GL_AUTH)[0] == 204
    assert call('GET', api + f'/projects/{pid}/deploy_keys/{k["id"]}', headers=GL_AUTH)[0] == 404


# ------------------------------------------------------------------------------- git transports
def test_push_over_http_git_and_ssh(gh, tmp_path):
    ctx = gh['ctx']
    s, _, r = call('POST', gh['base'] + '/user/repos', {'name': 'transport', 'auto_init': True}, GH_AUTH)
    assert s == 201
    wc = str(tmp_path / 'http')
    git('clone', '-q', r['clone_url'], wc)
    git('commit', '-q', '--allow-empty', '-m', 'over http', cwd=wc)
    git('push', '-q', 'origin', 'main', cwd=wc)
    wc = str(tmp_path / 'gitd')
    git('clone', '-q', r['git_url'], wc)
    git('commit', '-q', '--allow-empty', '-m', 'over git', cwd=wc)
    git('push', '-q', 'origin', 'main', cwd=wc)
    bare = ['--git-dir', os.path.join(gh['srv'], USER, 'transport.git')]
    assert git(*bare, 'log', '--format=%s', 'main').split('\n')[:2] == ['over git', 'over http']
    need('GIT_SSH_COMMAND' in ctx['env'], 'sshd not available (apt-get install openssh-server)')
    env = dict(GIT_ENV, GIT_SSH_COMMAND=ctx['env']['GIT_SSH_COMMAND'])
    wc = str(tmp_path / 'ssh')
    git('clone', '-q', r['ssh_url'], wc, env=env)
    git('commit', '-q', '--allow-empty', '-m', 'over ssh', cwd=wc, env=env)
    git('push', '-q', 'origin', 'main', cwd=wc, env=env)
    assert git(*bare, 'log', '-1', '--format=%s', 'main') == 'over ssh'


# ------------------------------------------------------------------------------------------ Prism
@pytest.fixture(scope='session')
def prism(tmp_path_factory):
    url = os.environ.get('WEGO_TEST_PRISM_API')
    if url and wait_http(url + '/', 2):
        yield url
        return
    binary = os.path.join(TESTS, 'node_modules', '.bin', 'prism')
    need(os.path.exists(binary) and os.path.isfile(SPEC_PATH), 'tests/node_modules missing (cd tests && npm ci)')
    port = free_port()
    log = open(str(tmp_path_factory.mktemp('prism') / 'prism.log'), 'w')
    proc = subprocess.Popen([binary, 'mock', '-h', '127.0.0.1', '-p', str(port), SPEC_PATH], cwd=TESTS,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert wait_http(f'http://127.0.0.1:{port}/', 300, proc), 'prism did not start'
        yield f'http://127.0.0.1:{port}'
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


def test_prism_validates_requests(prism):
    h = {'Authorization': 'Bearer x'}
    s, hdrs, _ = call('POST', prism + '/repos/o/r/pulls', {'title': 't', 'base': 'main'}, h)
    assert s == 422 and "required property 'head'" in hdrs['sl-violations']
    s, _, pr = call('POST', prism + '/repos/o/r/pulls', {'title': 't', 'head': 'o:b', 'base': 'main'}, h)
    assert s == 201 and 'number' in pr
    assert call('POST', prism + '/repos/o/r/keys', {'key': 5}, h)[0] == 422
    assert call('POST', prism + '/repos/o/r/keys', {'title': 't', 'key': 'ssh-ed25519 AAAA', 'read_only': True}, h)[0] == 201
    assert call('POST', prism + '/orgs/acme/repos', {'name': 'x', 'visibility': 'secret'}, h)[0] == 422
    assert call('GET', prism + '/repos/o/r/pulls?state=bogus', headers=h)[0] == 422
    # Prism's content negotiation: GitHub's vendor media types are not in the description -> 406.
    # (octocrab sends no Accept header by default, which is fine.)
    assert call('GET', prism + '/repos/o/r', headers={'Accept': 'application/vnd.github+json'})[0] == 406
    assert call('GET', prism + '/repos/o/r', headers={'Accept': 'application/json'})[0] == 200


# ------------------------------------------------------------------------------------------- helm
def test_helm_install_and_template(tmp_path):
    helm_dir = os.environ.get('WEGO_TOOLS_BIN', '/var/tmp/wego-tools/bin')
    r = subprocess.run([os.path.join(HERE, 'helm-install.sh'), helm_dir], capture_output=True, text=True, timeout=600)
    need(r.returncode == 0, f'helm-install.sh failed: {r.stderr[-500:]}')
    helm = r.stdout.strip().splitlines()[-1]
    assert subprocess.run([helm, 'version', '--short'], capture_output=True, text=True).stdout.startswith('v3.')
    chart = tmp_path / 'demo'
    (chart / 'templates').mkdir(parents=True)
    (chart / 'Chart.yaml').write_text('apiVersion: v2\nname: demo\nversion: 0.1.0\n')
    (chart / 'values.yaml').write_text('replicas: 1\n')
    (chart / 'templates' / 'cm.yaml').write_text(
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-demo\n'
        'data:\n  replicas: "{{ .Values.replicas }}"\n')
    env = dict(os.environ, HELM_CACHE_HOME=str(tmp_path / 'c'), HELM_CONFIG_HOME=str(tmp_path / 'cf'),
               HELM_DATA_HOME=str(tmp_path / 'd'))
    out = subprocess.run([helm, 'template', 'rel', str(chart), '--set', 'replicas=3'], capture_output=True, text=True,
                         env=env)
    assert out.returncode == 0, out.stderr
    assert 'name: rel-demo' in out.stdout and 'replicas: "3"' in out.stdout


# ------------------------------------------------------------- strictness (issue #11): as documented
import contextlib  # noqa: E402


@contextlib.contextmanager
def settle(base, ms):
    call('POST', base + '/_fake/config', {'settle_ms': ms})
    try:
        yield
    finally:
        call('POST', base + '/_fake/config', {'settle_ms': 0})


def commit_push(bare, branch, tmp, force=False, empty_repo=False):
    """A new commit (parentless when empty_repo) pushed to `branch` through a local clone."""
    wc = os.path.join(tmp, f'wc-{branch.replace("/", "-")}-{time.time_ns()}')
    git('clone', '-q', bare, wc)
    if not empty_repo:
        git('checkout', '-q', '-B', branch, cwd=wc)
    git('commit', '-q', '--allow-empty', '-m', f'on {branch}', cwd=wc)
    r = subprocess.run(['git', 'push', '-q', *(['-f'] if force else []), 'origin', f'HEAD:refs/heads/{branch}'],
                       cwd=wc, env=GIT_ENV, capture_output=True, text=True)
    return r


def test_first_push_sets_the_default_branch(gh, gl, tmp_path):
    # GitHub shows the account's default name for an empty repo; the first push decides after that.
    s, _, r = call('POST', gh['base'] + '/user/repos', {'name': 'first-push'}, GH_AUTH)
    assert r['default_branch'] == 'main'
    bare = os.path.join(gh['srv'], USER, 'first-push.git')
    assert commit_push(bare, 'feature', str(tmp_path), empty_repo=True).returncode == 0
    s, _, r = call('GET', gh['base'] + f'/repos/{USER}/first-push', headers=GH_AUTH)
    assert r['default_branch'] == 'feature'
    assert git('--git-dir', bare, 'symbolic-ref', 'HEAD') == 'refs/heads/feature'
    s, _, p = call('POST', gl['api'] + '/projects', {'name': 'first-push'}, GL_AUTH)
    bare = os.path.join(gl['srv'], USER, 'first-push.git')
    assert commit_push(bare, 'develop', str(tmp_path), empty_repo=True).returncode == 0
    s, _, p = call('GET', gl['api'] + f'/projects/{USER}%2Ffirst-push', headers=GL_AUTH)
    assert p['default_branch'] == 'develop' and p['empty_repo'] is False


def test_gitlab_protects_the_default_branch(gl, tmp_path):
    call('POST', gl['base'] + '/_fake/repos', {'owner': USER, 'name': 'protected', 'auto_init': True})
    bare = os.path.join(gl['srv'], USER, 'protected.git')
    wc = str(tmp_path / 'wc')
    git('clone', '-q', bare, wc)
    git('commit', '-q', '--amend', '-m', 'rewritten', cwd=wc)
    r = subprocess.run(['git', 'push', '-f', 'origin', 'HEAD:main'], cwd=wc, env=GIT_ENV, capture_output=True, text=True)
    assert r.returncode != 0 and 'not allowed to force push code to a protected branch' in r.stderr
    r = subprocess.run(['git', 'push', 'origin', ':main'], cwd=wc, env=GIT_ENV, capture_output=True, text=True)
    assert r.returncode != 0 and 'delete protected branches' in r.stderr
    # other branches: force-push and deletion are fine
    assert commit_push(bare, 'topic', str(tmp_path)).returncode == 0
    assert subprocess.run(['git', 'push', '-q', 'origin', ':topic'], cwd=wc, env=GIT_ENV).returncode == 0


def test_private_repos_are_404_and_deploy_keys_need_admin(gh, gl, tmp_path):
    key = ssh_pubkey(str(tmp_path), 'k')
    call('POST', gh['base'] + '/_fake/repos', {'owner': USER, 'name': 'secret', 'auto_init': True})
    call('POST', gh['base'] + '/_fake/repos', {'owner': USER, 'name': 'shared', 'auto_init': True})
    call('POST', gh['base'] + '/_fake/users', {'login': 'writer', 'token': 'writer-token', 'access': {f'{USER}/shared': 'write'}})
    w = {'Authorization': 'Bearer writer-token'}
    assert call('GET', gh['base'] + f'/repos/{USER}/secret', headers=w)[0] == 404
    s, _, r = call('GET', gh['base'] + f'/repos/{USER}/shared', headers=w)
    assert s == 200 and r['permissions']['push'] is True and r['permissions']['admin'] is False
    assert call('GET', gh['base'] + f'/repos/{USER}/shared/keys', headers=w)[0] == 404
    assert call('POST', gh['base'] + f'/repos/{USER}/shared/keys', {'title': 't', 'key': key}, w)[0] == 404
    assert call('POST', gh['base'] + f'/repos/{USER}/shared/keys', {'title': 't', 'key': key}, GH_AUTH)[0] == 201

    call('POST', gl['base'] + '/_fake/repos', {'owner': USER, 'name': 'secret', 'auto_init': True})
    call('POST', gl['base'] + '/_fake/repos', {'owner': USER, 'name': 'shared', 'auto_init': True})
    call('POST', gl['base'] + '/_fake/users', {'login': 'dev', 'token': 'dev-token', 'access': {f'{USER}/shared': 'developer'}})
    d = {'PRIVATE-TOKEN': 'dev-token'}
    s, _, b = call('GET', gl['api'] + f'/projects/{USER}%2Fsecret', headers=d)
    assert s == 404 and b == {'message': '404 Project Not Found'}
    assert call('GET', gl['api'] + f'/projects/{USER}%2Fshared', headers=d)[0] == 200
    s, _, b = call('POST', gl['api'] + f'/projects/{USER}%2Fshared/deploy_keys', {'title': 't', 'key': key}, d)
    assert s == 403 and b == {'message': '403 Forbidden'}
    assert call('POST', gl['api'] + f'/projects/{USER}%2Fshared/deploy_keys', {'title': 't', 'key': key}, GL_AUTH)[0] == 201
    # GitLab joins a key already on another project only for a user who can reach that project
    call('POST', gl['base'] + '/_fake/users', {'login': 'other', 'token': 'other-token'})
    s, _, p = call('POST', gl['api'] + '/projects', {'name': 'mine'}, {'PRIVATE-TOKEN': 'other-token'})
    time.sleep(0.05)
    s, _, b = call('POST', gl['api'] + '/projects/other%2Fmine/deploy_keys', {'title': 't', 'key': key},
                   {'PRIVATE-TOKEN': 'other-token'})
    assert s == 400 and 'has already been taken' in json.dumps(b)


def test_settle_window_after_create_and_push(gh, gl, tmp_path):
    with settle(gh['base'], 400):
        s, _, r = call('POST', gh['base'] + '/user/repos', {'name': 'fresh', 'auto_init': True}, GH_AUTH)
        assert s == 201
        assert call('GET', gh['base'] + f'/repos/{USER}/fresh', headers=GH_AUTH)[0] == 404   # not ready yet
        bad = subprocess.run(['git', 'ls-remote', r['clone_url']], env=GIT_ENV, capture_output=True)
        assert bad.returncode != 0, 'clone of a brand-new repository fails for a moment'
        time.sleep(0.5)
        assert call('GET', gh['base'] + f'/repos/{USER}/fresh', headers=GH_AUTH)[0] == 200
        bare = os.path.join(gh['srv'], USER, 'fresh.git')
        push_branch(bare, 'topic', 'a.txt', tmp=str(tmp_path))
        s, _, b = call('POST', gh['base'] + f'/repos/{USER}/fresh/pulls', {'title': 't', 'head': 'topic', 'base': 'main'}, GH_AUTH)
        assert s == 422 and b['errors'][0]['message'] == 'No commits between main and topic'
        time.sleep(0.5)
        assert call('POST', gh['base'] + f'/repos/{USER}/fresh/pulls', {'title': 't', 'head': 'topic', 'base': 'main'}, GH_AUTH)[0] == 201
    with settle(gl['base'], 400):
        call('POST', gl['base'] + '/_fake/repos', {'owner': USER, 'name': 'fresh', 'auto_init': True})
        push_branch(os.path.join(gl['srv'], USER, 'fresh.git'), 'topic', 'b.txt', tmp=str(tmp_path))
        mr = {'title': 't', 'source_branch': 'topic', 'target_branch': 'main'}
        s, _, b = call('POST', gl['api'] + f'/projects/{USER}%2Ffresh/merge_requests', mr, GL_AUTH)
        assert s == 409 and b == {'message': ['Source branch "topic" does not exist']}
        time.sleep(0.5)
        assert call('POST', gl['api'] + f'/projects/{USER}%2Ffresh/merge_requests', mr, GL_AUTH)[0] == 201


def test_github_pull_request_refusals_and_merge(gh, tmp_path):
    call('POST', gh['base'] + '/_fake/repos', {'owner': USER, 'name': 'prs', 'auto_init': True})
    bare = os.path.join(gh['srv'], USER, 'prs.git')
    push_branch(bare, 'topic', 'a.txt', tmp=str(tmp_path))
    url = gh['base'] + f'/repos/{USER}/prs/pulls'
    s, _, b = call('POST', url, {'title': 't', 'head': 'topic', 'base': 'nope'}, GH_AUTH)
    assert s == 422 and b['errors'] == [{'resource': 'PullRequest', 'field': 'base', 'code': 'invalid'}]
    git('--git-dir', bare, 'branch', 'same', 'main')
    s, _, b = call('POST', url, {'title': 't', 'head': 'same', 'base': 'main'}, GH_AUTH)
    assert s == 422 and b['errors'][0]['message'] == 'No commits between main and same'
    s, _, p = call('POST', url, {'title': 't', 'head': 'topic', 'base': 'main'}, GH_AUTH)
    s, _, m = call('PUT', url + f'/{p["number"]}/merge', {}, GH_AUTH)
    assert s == 200 and m['merged'] is True
    s, _, p = call('GET', url + f'/{p["number"]}', headers=GH_AUTH)
    assert p['state'] == 'closed' and p['merged'] is True and p['merged_at']
    assert git('--git-dir', bare, 'rev-parse', '--verify', 'refs/heads/topic'), 'the head branch stays'


def test_github_deploy_keys_are_unique_site_wide(gh, tmp_path):
    key = ssh_pubkey(str(tmp_path), 'site')
    for n in ('dk1', 'dk2'):
        call('POST', gh['base'] + '/_fake/repos', {'owner': USER, 'name': n})
    assert call('POST', gh['base'] + f'/repos/{USER}/dk1/keys', {'title': 'a', 'key': key}, GH_AUTH)[0] == 201
    s, _, b = call('POST', gh['base'] + f'/repos/{USER}/dk2/keys', {'title': 'a', 'key': key}, GH_AUTH)
    assert s == 422 and b['errors'][0]['message'] == 'key is already in use'


def test_gitlab_visibility_and_duplicate_merge_request_rules(gl, tmp_path):
    call('POST', gl['base'] + '/_fake/users', {'login': 'privgrp', 'type': 'group'})
    s, _, b = call('POST', gl['api'] + '/projects', {'name': 'pub', 'namespace_id': 'privgrp', 'visibility': 'public'}, GL_AUTH)
    assert s == 400 and b == {'message': {'visibility_level': ['public is not allowed in a private group.']}}
    assert call('POST', gl['api'] + '/projects', {'name': 'priv', 'namespace_id': 'privgrp'}, GL_AUTH)[0] == 201
    call('POST', gl['base'] + '/_fake/repos', {'owner': USER, 'name': 'dups', 'auto_init': True})
    bare = os.path.join(gl['srv'], USER, 'dups.git')
    push_branch(bare, 'topic', 'a.txt', tmp=str(tmp_path))
    git('--git-dir', bare, 'branch', 'release', 'main')
    url = gl['api'] + f'/projects/{USER}%2Fdups/merge_requests'
    assert call('POST', url, {'title': 'a', 'source_branch': 'topic', 'target_branch': 'main'}, GL_AUTH)[0] == 201
    # same source into another target: allowed; same source and target: 409
    assert call('POST', url, {'title': 'b', 'source_branch': 'topic', 'target_branch': 'release'}, GL_AUTH)[0] == 201
    s, _, b = call('POST', url, {'title': 'c', 'source_branch': 'topic', 'target_branch': 'main'}, GL_AUTH)
    assert s == 409 and 'Another open merge request already exists' in b['message'][0]


def test_page_sizes_default_and_cap(gh, gl, tmp_path):
    call('POST', gh['base'] + '/_fake/repos', {'owner': USER, 'name': 'manykeys'})
    call('POST', gl['base'] + '/_fake/repos', {'owner': USER, 'name': 'manykeys'})
    for i in range(105):
        k = f'ssh-ed25519 {base64_ed25519(i)}'
        call('POST', gh['base'] + f'/repos/{USER}/manykeys/keys', {'title': f'k{i}', 'key': k}, GH_AUTH)
        call('POST', gl['api'] + f'/projects/{USER}%2Fmanykeys/deploy_keys', {'title': f'k{i}', 'key': k}, GL_AUTH)
    assert len(call('GET', gh['base'] + f'/repos/{USER}/manykeys/keys', headers=GH_AUTH)[2]) == 30
    assert len(call('GET', gh['base'] + f'/repos/{USER}/manykeys/keys?per_page=500', headers=GH_AUTH)[2]) == 100
    assert len(call('GET', gl['api'] + f'/projects/{USER}%2Fmanykeys/deploy_keys', headers=GL_AUTH)[2]) == 20
    assert len(call('GET', gl['api'] + f'/projects/{USER}%2Fmanykeys/deploy_keys?per_page=500', headers=GL_AUTH)[2]) == 100


def base64_ed25519(i):
    import base64 as b64
    import struct
    t = b'ssh-ed25519'
    return b64.b64encode(struct.pack('>I', len(t)) + t + struct.pack('>I', 32) + i.to_bytes(32, 'big')).decode()


def test_secondary_rate_limits_can_be_injected(gh, gl):
    msg = 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.'
    call('POST', gh['base'] + '/_fake/faults', {'method': 'GET', 'path_regex': '^/user$', 'status': 403, 'body': {'message': msg}})
    s, h, b = call('GET', gh['base'] + '/user', headers=GH_AUTH)
    assert s == 403 and b['message'] == msg and h.get('Retry-After') is None
    call('POST', gl['base'] + '/_fake/faults', {'method': 'GET', 'path_regex': '/user$', 'status': 429,
                                                 'headers': {'Retry-After': '600'}, 'body': {'message': 'Retry later'}})
    s, h, b = call('GET', gl['api'] + '/user', headers=GL_AUTH)
    assert s == 429 and h.get('Retry-After') == '600'
    assert call('GET', gl['api'] + '/user', headers=GL_AUTH)[0] == 200


def test_meta_publishes_the_sshd_host_keys_and_scp_urls_clone(gh, gl, tmp_path):
    keyfile = gh['ctx']['env'].get('WEGO_TEST_SSH_HOST_KEY')
    need(keyfile, 'sshd (git-up.sh) not available')
    real = ' '.join(open(keyfile).read().split()[:2])
    s, _, m = call('GET', gh['base'] + '/meta')
    assert s == 200 and m['ssh_keys'] == [real] and len(m['ssh_key_fingerprints']) == 1
    scp = gh['ctx']['env'].get('WEGO_TEST_SCP_GITHUB')
    need(scp, 'the scp-like sshd (port 22, root) is not available')
    env = dict(GIT_ENV, GIT_SSH_COMMAND=gh['ctx']['env']['GIT_SSH_COMMAND'])
    for fake, api, auth in ((gh, gh['base'] + '/user/repos', GH_AUTH), (gl, gl['api'] + '/projects', GL_AUTH)):
        s, _, r = call('POST', api, {'name': 'via-scp', 'auto_init': True} if fake is gh
                       else {'name': 'via-scp', 'initialize_with_readme': True}, auth)
        url = r.get('ssh_url') or r.get('ssh_url_to_repo')
        assert re.fullmatch(r'git@127\.0\.0\.\d+:wego-tester/via-scp\.git', url), url
        wc = str(tmp_path / url.split('@')[1].replace(':', '_'))
        c = subprocess.run(['git', 'clone', '-q', url, wc], env=env, capture_output=True, text=True)
        assert c.returncode == 0, c.stderr
        assert os.path.isfile(os.path.join(wc, 'README.md'))


import re  # noqa: E402

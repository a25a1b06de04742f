#!/usr/bin/env bash
# Start, on 127.0.0.1, the provider API stand-ins used by wego's integration tests:
#   - GitHub fake (stateful, tests/env/provider_fake.py --flavor github)   port $GITHUB_FAKE_PORT (18091)
#   - GitLab fake (stateful, --flavor gitlab, API under /api/v4)            port $GITLAB_FAKE_PORT (18092)
#   - Prism mock of GitHub's OpenAPI description (@octokit/openapi):        port $PRISM_PORT       (18093)
#     validates every request against the schema (invalid -> 422 + `sl-violations` header), stateless.
# Bare repos the fakes create live in $GIT_DIR_ROOT/srv/{github,gitlab}/OWNER/NAME.git, i.e. they are
# served by tests/env/git-up.sh (start it too for clone/push over http/git/ssh).
# Env: GIT_DIR_ROOT (/var/tmp/wego-git), GITHUB_FAKE_PORT, GITLAB_FAKE_PORT, PRISM_PORT, FAKE_TOKEN (wego-fake-token),
#      FAKE_USER (wego-tester), HTTP_PORT/DAEMON_PORT/SSH_PORT (as git-up.sh), WITH_PRISM (1; 0 skips Prism),
#      PRISM_TIMEOUT (seconds to wait for Prism, 300), FAKE_SETTLE_MS (300: how long a new repo is unreachable and a
#      newly pushed branch invisible to the fakes' API; 0 disables; also POST /_fake/config {"settle_ms": N}).
# Writes $GIT_DIR_ROOT/providers.env (sourceable exports) and pid files $GIT_DIR_ROOT/{github-fake,gitlab-fake,prism}.pid.
# Stop with tests/env/providers-down.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); TESTS=$(dirname "$HERE")
ROOT=${GIT_DIR_ROOT:-/var/tmp/wego-git}
GITHUB_FAKE_PORT=${GITHUB_FAKE_PORT:-18091}; GITLAB_FAKE_PORT=${GITLAB_FAKE_PORT:-18092}; PRISM_PORT=${PRISM_PORT:-18093}
HTTP_PORT=${HTTP_PORT:-18081}; DAEMON_PORT=${DAEMON_PORT:-19418}; SSH_PORT=${SSH_PORT:-12222}
FAKE_TOKEN=${FAKE_TOKEN:-wego-fake-token}; FAKE_USER=${FAKE_USER:-wego-tester}
WITH_PRISM=${WITH_PRISM:-1}; PRISM_TIMEOUT=${PRISM_TIMEOUT:-300}; FAKE_SETTLE_MS=${FAKE_SETTLE_MS:-300}
"$HERE/providers-down.sh" >/dev/null 2>&1 || true
mkdir -p "$ROOT"
wait_http() {  # url timeout_s name pidfile -> waits for any HTTP answer
  local url=$1 t=$2 name=$3 pid; pid=$(cat "$4"); local end=$((SECONDS + t))
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url" || true)
    [ "$code" != "000" ] && [ -n "$code" ] && return 0
    kill -0 "$pid" 2>/dev/null || { echo "$name died; log:" >&2; tail -20 "$ROOT/$name.log" >&2; return 1; }
    [ $SECONDS -ge $end ] && { echo "$name did not answer within ${t}s; log:" >&2; tail -20 "$ROOT/$name.log" >&2; return 1; }
    sleep 0.2
  done
}
# git-up.sh's scp-like sshd addresses and host key (git.env), for ssh_url and GitHub's GET /meta
WEGO_TEST_SCP_GITHUB=; WEGO_TEST_SCP_GITLAB=; WEGO_TEST_SSH_HOST_KEY=
[ -f "$ROOT/git.env" ] && . "$ROOT/git.env"
for flavor in github gitlab; do
  port=$GITHUB_FAKE_PORT; scp=${WEGO_TEST_SCP_GITHUB#git@}
  [ $flavor = gitlab ] && { port=$GITLAB_FAKE_PORT; scp=${WEGO_TEST_SCP_GITLAB#git@}; }
  extra=()
  [ -n "$scp" ] && extra+=(--ssh-scp-host "$scp")
  [ -n "$WEGO_TEST_SSH_HOST_KEY" ] && extra+=(--ssh-host-key "$WEGO_TEST_SSH_HOST_KEY")
  rm -rf "$ROOT/srv/$flavor" && mkdir -p "$ROOT/srv/$flavor"   # state is in memory: start with no repos on disk either
  python3 "$HERE/provider_fake.py" --flavor $flavor --port $port --token "$FAKE_TOKEN" --user "$FAKE_USER" \
    --git-root "$ROOT/srv/$flavor" --git-http-base "http://127.0.0.1:$HTTP_PORT/$flavor" \
    --git-daemon-base "git://127.0.0.1:$DAEMON_PORT/$flavor" --ssh-base "ssh://$(id -un)@127.0.0.1:$SSH_PORT$ROOT/srv/$flavor" \
    --settle-ms "$FAKE_SETTLE_MS" "${extra[@]}" >"$ROOT/$flavor-fake.log" 2>&1 & echo $! > "$ROOT/$flavor-fake.pid"
done
wait_http "http://127.0.0.1:$GITHUB_FAKE_PORT/_fake/health" 30 github-fake "$ROOT/github-fake.pid"
wait_http "http://127.0.0.1:$GITLAB_FAKE_PORT/_fake/health" 30 gitlab-fake "$ROOT/gitlab-fake.pid"
echo "github fake: http://127.0.0.1:$GITHUB_FAKE_PORT   gitlab fake: http://127.0.0.1:$GITLAB_FAKE_PORT/api/v4   token: $FAKE_TOKEN (user $FAKE_USER)"
cat > "$ROOT/providers.env" <<ENV
export WEGO_TEST_GITHUB_API=http://127.0.0.1:$GITHUB_FAKE_PORT
export WEGO_TEST_GITLAB_HOST=127.0.0.1:$GITLAB_FAKE_PORT
export WEGO_TEST_PROVIDER_TOKEN=$FAKE_TOKEN
export WEGO_TEST_PROVIDER_USER=$FAKE_USER
export WEGO_TEST_GIT_SRV=$ROOT/srv
export WEGO_TEST_SETTLE_MS=$FAKE_SETTLE_MS
ENV
if [ "$WITH_PRISM" = 1 ]; then
  SPEC=node_modules/@octokit/openapi/generated/api.github.com.json
  if [ ! -x "$TESTS/node_modules/.bin/prism" ] || [ ! -f "$TESTS/$SPEC" ]; then
    (cd "$TESTS" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  t0=$(date +%s%N)
  # the prism binary itself (not `npx prism`, whose npm/sh wrappers would outlive a kill of the recorded pid)
  (cd "$TESTS" && exec node_modules/.bin/prism mock -h 127.0.0.1 -p "$PRISM_PORT" "$SPEC") >"$ROOT/prism.log" 2>&1 &
  echo $! > "$ROOT/prism.pid"
  wait_http "http://127.0.0.1:$PRISM_PORT/" "$PRISM_TIMEOUT" prism "$ROOT/prism.pid"
  echo "prism (GitHub OpenAPI contract mock): http://127.0.0.1:$PRISM_PORT  (ready in $(( ($(date +%s%N) - t0) / 1000000 )) ms)"
  echo "export WEGO_TEST_PRISM_API=http://127.0.0.1:$PRISM_PORT" >> "$ROOT/providers.env"
fi
echo "env: source $ROOT/providers.env"

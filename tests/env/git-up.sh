#!/usr/bin/env bash
# Local git remotes on 127.0.0.1: smart HTTP (python + git http-backend), git:// (git daemon), ssh:// (sshd, throwaway keys).
# Usage: GIT_DIR_ROOT=/var/tmp/wego-git tests/env/git-up.sh ; repos are bare repos under $ROOT/srv (create with `git init --bare`).
# Env: GIT_DIR_ROOT, HTTP_PORT (18081), DAEMON_PORT (19418), SSH_PORT (12222), GIT_HTTP_USER/GIT_HTTP_PASS (basic auth),
#      WITH_SSH (1: install openssh-server with apt-get when missing and run sshd; 0: skip ssh).
# Restartable: stops a previous instance (pid files) first. Writes $ROOT/git.env (GIT_SSH_COMMAND etc.).
set -euo pipefail
ROOT=${GIT_DIR_ROOT:-/var/tmp/wego-git}; HTTP_PORT=${HTTP_PORT:-18081}; DAEMON_PORT=${DAEMON_PORT:-19418}; SSH_PORT=${SSH_PORT:-12222}
WITH_SSH=${WITH_SSH:-1}
"$(dirname "$0")/git-down.sh" >/dev/null 2>&1 || true
mkdir -p $ROOT/srv $ROOT/ssh
: > $ROOT/git.env
# 1) smart HTTP (optionally basic auth via GIT_HTTP_USER/GIT_HTTP_PASS)
python3 "$(dirname "$0")/git_http_server.py" $ROOT/srv $HTTP_PORT >$ROOT/http.log 2>&1 & echo $! > $ROOT/http.pid
# 2) git://
git daemon --listen=127.0.0.1 --port=$DAEMON_PORT --base-path=$ROOT/srv --export-all --enable=receive-pack \
  --reuseaddr --detach --pid-file=$ROOT/daemon.pid $ROOT/srv
# 3) ssh:// (needs openssh-server: installed here when missing and running as root)
if [ "$WITH_SSH" = 1 ] && [ ! -x /usr/sbin/sshd ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server) >$ROOT/apt-sshd.log 2>&1 \
    || echo "warning: could not install openssh-server (see $ROOT/apt-sshd.log); ssh:// not available" >&2
fi
if [ "$WITH_SSH" = 1 ] && [ -x /usr/sbin/sshd ]; then
  S=$ROOT/ssh; [ -f $S/hostkey ] || ssh-keygen -q -t ed25519 -N '' -f $S/hostkey; [ -f $S/userkey ] || ssh-keygen -q -t ed25519 -N '' -f $S/userkey
  cp $S/userkey.pub $S/authorized_keys; chmod 600 $S/authorized_keys; mkdir -p /run/sshd
  printf '%s\n' "ListenAddress 127.0.0.1" "Port $SSH_PORT" "HostKey $S/hostkey" "AuthorizedKeysFile $S/authorized_keys" \
    "PasswordAuthentication no" "KbdInteractiveAuthentication no" "PubkeyAuthentication yes" "PermitRootLogin prohibit-password" \
    "UsePAM no" "StrictModes no" "PidFile $S/sshd.pid" > $S/sshd_config
  /usr/sbin/sshd -f $S/sshd_config -E $S/sshd.log
  echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1-2 $S/hostkey.pub)" > $S/known_hosts
  for i in $(seq 1 50); do [ -s $S/sshd.pid ] && break; sleep 0.1; done
  echo "export GIT_SSH_COMMAND='ssh -i $S/userkey -o UserKnownHostsFile=$S/known_hosts -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes'" | tee -a $ROOT/git.env
  echo "export WEGO_TEST_SSH_KEY=$S/userkey WEGO_TEST_SSH_KNOWN_HOSTS=$S/known_hosts WEGO_TEST_GIT_SSH=ssh://$(id -un)@127.0.0.1:$SSH_PORT$ROOT/srv" >> $ROOT/git.env
fi
for i in $(seq 1 50); do curl -s -o /dev/null http://127.0.0.1:$HTTP_PORT/ && break; sleep 0.1; done
curl -s -o /dev/null http://127.0.0.1:$HTTP_PORT/ || { echo "git http server did not start:" >&2; cat $ROOT/http.log >&2; exit 1; }
echo "export WEGO_TEST_GIT_HTTP=http://127.0.0.1:$HTTP_PORT WEGO_TEST_GIT_DAEMON=git://127.0.0.1:$DAEMON_PORT WEGO_TEST_GIT_ROOT=$ROOT/srv" >> $ROOT/git.env
echo "http://127.0.0.1:$HTTP_PORT/<repo>.git  git://127.0.0.1:$DAEMON_PORT/<repo>.git  ssh://$(id -un)@127.0.0.1:$SSH_PORT$ROOT/srv/<repo>.git"

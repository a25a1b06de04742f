#!/usr/bin/env bash
# Stop what tests/env/git-up.sh started (by pid file) and wait until the processes are gone.
ROOT=${GIT_DIR_ROOT:-/var/tmp/wego-git}
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1; [[ $s != Z* ]]; }  # zombies count as gone
for f in $ROOT/http.pid $ROOT/daemon.pid $ROOT/ssh/sshd.pid $ROOT/ssh/sshd-scp.pid; do
  if [ -f "$f" ]; then
    p=$(cat "$f"); kill "$p" 2>/dev/null
    for i in $(seq 1 50); do alive "$p" || break; sleep 0.1; done
    rm -f "$f"
  fi
done; true

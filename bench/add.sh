#!/usr/bin/env bash
# `wego add` into a wego repo that already holds 1,000 apps, against the same change made with
# the git CLI (shallow clone, write the three files, commit, push), on the same local remotes.
# Needs the test cluster (WEGO_TEST_KUBECONFIG) for add's runtime check and runtime apply, and
# the git HTTP server (WEGO_TEST_GIT_HTTP, WEGO_TEST_GIT_ROOT from tests/env/git-up.sh's git.env):
# Flux fetches over http(s)/ssh, so the remotes are served the way a real one is.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${WEGO_TEST_KUBECONFIG:?start the test cluster (tests/env/k8s-up.sh)}"
: "${WEGO_TEST_GIT_HTTP:?start tests/env/git-up.sh and source its git.env}"
WEGO=${WEGO:-$PWD/target/release/wego}
RUNS=${RUNS:-5}
export KUBECONFIG=$WEGO_TEST_KUBECONFIG CHECKPOINT_DISABLE=1 NO_COLOR=1
T=$(mktemp -d)
export HOME=$T/home XDG_CONFIG_HOME=$T/config XDG_CACHE_HOME=$T/cache
NS=wego-bench-add
kubectl create namespace "$NS" >/dev/null 2>&1 || true
g() { git -c user.name=bench -c user.email=bench@example.com "$@"; }

# The app repo and a wego repo with 1,000 apps already in it, served over http.
B=bench-$$; SRV=$WEGO_TEST_GIT_ROOT/$B; mkdir -p "$SRV"; trap 'rm -rf "$T" "$SRV"' EXIT
for r in app wego; do g init -q --bare -b main "$SRV/$r.git"; g --git-dir "$SRV/$r.git" config http.receivepack true; done
APP=$WEGO_TEST_GIT_HTTP/$B/app.git WEGO_REPO=$WEGO_TEST_GIT_HTTP/$B/wego.git
g clone -q "$APP" "$T/app" 2>/dev/null; mkdir -p "$T/app/deploy"
cp tests/fixtures/apps/plain/*.yaml "$T/app/deploy/"; g -C "$T/app" add -A; g -C "$T/app" commit -qm app; g -C "$T/app" push -q origin main
g clone -q "$WEGO_REPO" "$T/seed" 2>/dev/null
for i in $(seq 1 1000); do
  mkdir -p "$T/seed/.wego/apps/app-$i" "$T/seed/.wego/targets/test/app-$i"
  printf 'apiVersion: wego.weave.works/v1alpha1\nkind: App\nmetadata: {name: app-%s}\n' "$i" > "$T/seed/.wego/apps/app-$i/app.yaml"
  printf 'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: app-%s}\n' "$i" > "$T/seed/.wego/targets/test/app-$i/app-$i-gitops-runtime.yaml"
done
g -C "$T/seed" add -A; g -C "$T/seed" commit -qm "1000 apps"; g -C "$T/seed" push -q origin main

mean_ms() { echo $(( ($2 - $1) / RUNS / 1000000 )); }

start=$(date +%s%N)
for r in $(seq 1 "$RUNS"); do
  "$WEGO" add --url "$APP" --path deploy --name "bench-$r" --app-config-url "$WEGO_REPO" --auto-merge -n "$NS" >/dev/null 2>"$T/err" || { cat "$T/err"; exit 1; }
done
end=$(date +%s%N); w=$(mean_ms "$start" "$end")

start=$(date +%s%N)
for r in $(seq 1 "$RUNS"); do
  rm -rf "$T/c"; g clone -q --depth 1 "$WEGO_REPO" "$T/c" 2>/dev/null
  mkdir -p "$T/c/.wego/apps/cli-$r" "$T/c/.wego/targets/test/cli-$r"
  cp "$T/seed/.wego/apps/app-1/app.yaml" "$T/c/.wego/apps/cli-$r/app.yaml"
  cp "$T/seed/.wego/targets/test/app-1/app-1-gitops-runtime.yaml" "$T/c/.wego/targets/test/cli-$r/cli-$r-gitops-runtime.yaml"
  g -C "$T/c" add -A; g -C "$T/c" commit -qm "cli-$r"; g -C "$T/c" push -q origin main
done
end=$(date +%s%N); k=$(mean_ms "$start" "$end")

apps=$(g --git-dir "$SRV/wego.git" ls-tree -d --name-only main .wego/apps/ | wc -l)
printf '%-52s %8s ms\n' "wego add --auto-merge (wego repo with $apps apps)" "$w"
printf '%-52s %8s ms\n' "git clone --depth 1 + commit + push (same change)" "$k"
echo "ratio wego/git: $(awk -v a="$w" -v b="$k" 'BEGIN { printf "%.2f", a / b }')"
kubectl delete namespace "$NS" --wait=false >/dev/null

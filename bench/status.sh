#!/usr/bin/env bash
# `wego status` over 10 and 1,000 apps on the test API server: API requests (from the audit
# log) and wall time, against `kubectl get` listing the same kinds as JSON in the same run.
# Needs WEGO_TEST_KUBECONFIG and WEGO_TEST_AUDIT_LOG (tests/run.sh's servers); WEGO: binary.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${WEGO_TEST_KUBECONFIG:?start the test cluster (tests/env/k8s-up.sh with K8S_AUDIT=1)}"
: "${WEGO_TEST_AUDIT_LOG:?the API server must run with K8S_AUDIT=1}"
WEGO=${WEGO:-$PWD/target/release/wego}
RUNS=${RUNS:-5}
export KUBECONFIG=$WEGO_TEST_KUBECONFIG CHECKPOINT_DISABLE=1 NO_COLOR=1
NS=wego-bench-status
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
MANIFEST=${FLUX_MANIFEST:-../shared/flux/v2.9.4/install.yaml}
[ -f "$MANIFEST" ] || MANIFEST=tests/fixtures/flux-install.yaml
kubectl delete namespace "$NS" --wait=true >/dev/null 2>&1 || true
"$WEGO" install --apply -n "$NS" --flux-manifests "$MANIFEST" >/dev/null 2>&1
cp tests/fixtures/apply-with-status.rhai "$TMP/fixture.rhai"

objects() { # from to
  local i n
  for i in $(seq "$1" "$2"); do
    n=app-$i
    cat <<Y
---
apiVersion: wego.weave.works/v1alpha1
kind: App
metadata: {name: $n, namespace: $NS}
spec: {url: "https://github.com/example/$n.git", branch: main, path: ./deploy, deploymentType: kustomize, sourceType: git}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: $n, namespace: $NS, labels: {wego.weave.works/app: $n}}
spec: {url: "https://github.com/example/$n.git", interval: 1m, ref: {branch: main}}
status:
  artifact: {revision: "main@sha1:$i", digest: "sha256:$i", path: "x/$n.tar.gz", url: "http://source-controller/$n.tar.gz", lastUpdateTime: "2026-11-25T09:59:00Z"}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: $n, namespace: $NS, labels: {wego.weave.works/app: $n}}
spec: {interval: 5m, prune: true, path: ./deploy, sourceRef: {kind: GitRepository, name: $n}}
status:
  lastAppliedRevision: "main@sha1:$i"
  conditions:
  - {type: Ready, status: "False", reason: BuildFailed, message: "build failed", lastTransitionTime: "2026-11-25T10:00:00Z", observedGeneration: 1}
---
apiVersion: v1
kind: Event
metadata: {name: "$n.w1", namespace: $NS}
involvedObject: {apiVersion: kustomize.toolkit.fluxcd.io/v1, kind: Kustomization, name: $n, namespace: $NS}
type: Warning
reason: BuildFailed
message: "kustomize build failed for $n"
firstTimestamp: "2026-11-25T10:01:00Z"
lastTimestamp: "2026-11-25T10:01:00Z"
count: 1
Y
  done
}

wego_requests() { grep '"ResponseComplete"' "$WEGO_TEST_AUDIT_LOG" | grep -c '"userAgent":"wego/' || true; }
mean_ms() { local s e; s=$(date +%s%N); for _ in $(seq "$RUNS"); do "$@" >/dev/null 2>&1 || true; done; e=$(date +%s%N); echo $(( (e - s) / RUNS / 1000000 )); }
KINDS=apps.wego.weave.works,gitrepositories.source.toolkit.fluxcd.io,helmrepositories.source.toolkit.fluxcd.io,kustomizations.kustomize.toolkit.fluxcd.io,helmreleases.helm.toolkit.fluxcd.io,events

have=0
printf '%-6s %-14s %-14s %-16s %s\n' APPS WEGO_REQUESTS WEGO_MS KUBECTL_GET_MS RATIO
for n in 10 1000; do
  objects $((have + 1)) "$n" > "$TMP/objs.yaml"
  (cd "$TMP" && "$WEGO" run fixture.rhai objs.yaml >/dev/null)
  have=$n
  before=$(wego_requests)
  "$WEGO" status -n "$NS" -o json >/dev/null || true
  requests=$(( $(wego_requests) - before ))
  w=$(mean_ms "$WEGO" status -n "$NS" -o json)
  k=$(mean_ms kubectl get "$KINDS" -n "$NS" -o json)
  printf '%-6s %-14s %-14s %-16s %s\n' "$n" "$requests" "$w" "$k" "$(awk -v a="$w" -v b="$k" 'BEGIN { printf "%.2f", a / b }')"
done
kubectl delete namespace "$NS" --wait=false >/dev/null

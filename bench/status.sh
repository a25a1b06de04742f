#!/usr/bin/env bash
# `wego status` at fleet scale on the test API server. For each size in SIZES (default
# "10 1000"; add 10000 for the large run) the namespace holds that many apps, each an App, a
# GitRepository and a Kustomization with statuses, and one Warning event. Printed in one run,
# per size: the API requests of `wego status` and `wego status APP` (from the audit log), and
# wall time and peak RSS (median of RUNS, default 5, after a warm-up, A and B in turn) of
#   - wego status -n NS -o json
#   - kubectl get apps,gitrepositories,kustomizations,helmreleases,events -n NS -o json
#   - the same five lists fetched by curl in parallel: the API server's own cost
# with the ratios wego/kubectl and wego/curl; at the end the time of each size against the
# previous one. Never a pass/fail: the figures are for reading.
# Needs WEGO_TEST_KUBECONFIG and WEGO_TEST_AUDIT_LOG (the API server run with K8S_AUDIT=1),
# GNU time (/usr/bin/time), curl, python3. WEGO: the binary (default target/release/wego);
# KEEP=1 leaves the namespace and its apps in place (for profiling); WEGO_INSTALL: the binary
# that installs the runtime (default WEGO; to measure a wego older than `install --wait`).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${WEGO_TEST_KUBECONFIG:?start the test cluster (tests/env/k8s-up.sh with K8S_AUDIT=1)}"
: "${WEGO_TEST_AUDIT_LOG:?the API server must run with K8S_AUDIT=1}"
WEGO=${WEGO:-$PWD/target/release/wego}
RUNS=${RUNS:-5}
SIZES=${SIZES:-10 1000}
NS=${NS:-wego-bench-status}
export KUBECONFIG=$WEGO_TEST_KUBECONFIG CHECKPOINT_DISABLE=1 NO_COLOR=1
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
export XDG_CONFIG_HOME=$TMP/config XDG_CACHE_HOME=$TMP/cache
MANIFEST=${FLUX_MANIFEST:-../shared/flux/v2.9.4/install.yaml}
[ -f "$MANIFEST" ] || MANIFEST=tests/fixtures/flux-install.yaml

kubectl delete namespace "$NS" --wait=true >/dev/null 2>&1 || true
"${WEGO_INSTALL:-$WEGO}" install --apply --wait=false -n "$NS" --flux-manifests "$MANIFEST" >/dev/null 2>&1

# Every measured command runs as a service account of its own, so the audit log tells its
# requests apart from those of anything else using the server at the same time.
kubectl create serviceaccount bench -n "$NS" >/dev/null
kubectl create clusterrolebinding "$NS-bench" --clusterrole=cluster-admin --serviceaccount="$NS:bench" >/dev/null 2>&1 || true
kubectl config view --raw > "$TMP/kubeconfig"
kubectl --kubeconfig "$TMP/kubeconfig" config set-credentials bench --token="$(kubectl create token bench -n "$NS" --duration=3h)" >/dev/null
kubectl --kubeconfig "$TMP/kubeconfig" config set-context --current --user=bench >/dev/null
export KUBECONFIG=$TMP/kubeconfig
WHO="\"username\":\"system:serviceaccount:$NS:bench\""

# curl speaks to the server as kubectl does: the kubeconfig's server, CA and credentials.
kc() { kubectl config view --raw --minify -o jsonpath="$1"; }
SERVER=$(kc '{.clusters[0].cluster.server}')
AUTH=()
file_or_data() { # jsonpath-of-file jsonpath-of-data out flag
  local f d; f=$(kc "$1"); d=$(kc "$2")
  if [ -n "$d" ]; then echo "$d" | base64 -d > "$3"; AUTH+=("$4" "$3"); elif [ -n "$f" ]; then AUTH+=("$4" "$f"); fi
}
file_or_data '{.clusters[0].cluster.certificate-authority}' '{.clusters[0].cluster.certificate-authority-data}' "$TMP/ca.crt" --cacert
file_or_data '{.users[0].user.client-certificate}' '{.users[0].user.client-certificate-data}' "$TMP/client.crt" --cert
file_or_data '{.users[0].user.client-key}' '{.users[0].user.client-key-data}' "$TMP/client.key" --key
TOKEN=$(kc '{.users[0].user.token}')
[ -z "$TOKEN" ] || AUTH+=(-H "Authorization: Bearer $TOKEN")
# The same as curl config lines: `next` in a config file resets options, so each transfer repeats them.
AUTH_CFG=$(for ((i = 0; i < ${#AUTH[@]}; i += 2)); do
  case ${AUTH[i]} in --cacert) k=cacert ;; --cert) k=cert ;; --key) k=key ;; -H) k=header ;; esac
  printf '%s = "%s"\n' "$k" "${AUTH[i + 1]}"
done)
export AUTH_CFG


# Objects $1..$2 as one curl config: create each, then write its status as a controller would.
objects() {
  python3 - "$1" "$2" "$NS" "$SERVER" <<'PY'
import json, sys
first, last, ns, server = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
import os
auth = os.environ["AUTH_CFG"]
started = False
def req(method, path, body, ctype="application/json"):
    global started
    if started:
        print("next")
    started = True
    print(f'{auth}\nsilent\nshow-error\nurl = "{server}{path}"\nrequest = "{method}"\nheader = "Content-Type: {ctype}"')
    print("data = " + json.dumps(json.dumps(body)) + '\noutput = "/dev/null"')
for i in range(first, last + 1):
    n = f"app-{i}"
    labels = {"wego.weave.works/app": n}
    url = f"https://github.com/example/{n}.git"
    req("POST", f"/apis/wego.weave.works/v1alpha1/namespaces/{ns}/apps", {
        "apiVersion": "wego.weave.works/v1alpha1", "kind": "App", "metadata": {"name": n, "namespace": ns},
        "spec": {"url": url, "branch": "main", "path": "./deploy", "deploymentType": "kustomize", "sourceType": "git"}})
    req("POST", f"/apis/source.toolkit.fluxcd.io/v1/namespaces/{ns}/gitrepositories", {
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": n, "namespace": ns, "labels": labels},
        "spec": {"url": url, "interval": "1m", "ref": {"branch": "main"}}})
    req("POST", f"/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/{ns}/kustomizations", {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": n, "namespace": ns, "labels": labels},
        "spec": {"interval": "5m", "prune": True, "path": "./deploy", "sourceRef": {"kind": "GitRepository", "name": n}}})
    req("POST", f"/api/v1/namespaces/{ns}/events", {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": f"{n}.w1", "namespace": ns},
        "involvedObject": {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "name": n, "namespace": ns},
        "type": "Warning", "reason": "BuildFailed", "message": f"kustomize build failed for {n}",
        "firstTimestamp": "2026-11-25T10:01:00Z", "lastTimestamp": "2026-11-25T10:01:00Z", "count": 1,
        "source": {"component": "kustomize-controller"}})
for i in range(first, last + 1):
    n = f"app-{i}"
    merge = "application/merge-patch+json"
    req("PATCH", f"/apis/source.toolkit.fluxcd.io/v1/namespaces/{ns}/gitrepositories/{n}/status", {"status": {
        "artifact": {"revision": f"main@sha1:{i}", "digest": f"sha256:{i}", "path": f"x/{n}.tar.gz",
                     "url": f"http://source-controller/{n}.tar.gz", "lastUpdateTime": "2026-11-25T09:59:00Z"}}}, merge)
    req("PATCH", f"/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/{ns}/kustomizations/{n}/status", {"status": {
        "observedGeneration": 1, "lastAppliedRevision": f"main@sha1:{i}",
        "conditions": [{"type": "Ready", "status": "False", "reason": "BuildFailed", "message": "build failed",
                        "lastTransitionTime": "2026-11-25T10:00:00Z", "observedGeneration": 1}]}}, merge)
PY
}

counts() { for k in apps gitrepositories kustomizations; do echo "$k $(kubectl get "$k" -n "$NS" --no-headers 2>/dev/null | wc -l)"; done; }
wego_requests() { grep '"ResponseComplete"' "$WEGO_TEST_AUDIT_LOG" | grep -F "$WHO" | grep -c '"userAgent":"wego/' || true; }
# One command's wall seconds and peak RSS (KiB), appended to file $1.
timed() { local out=$1; shift; /usr/bin/time -f '%e %M' -a -o "$out" "$@" >/dev/null 2>&1 || true; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# GNU time adds a "Command exited with non-zero status" line (wego status exits 1 when the runtime is unhealthy): figures only.
col() { awk -v c="$1" '/^[0-9.]+ [0-9]+$/ { print $c }' "$2"; }

{
  for p in apis/wego.weave.works/v1alpha1/namespaces/$NS/apps apis/source.toolkit.fluxcd.io/v1/namespaces/$NS/gitrepositories \
           apis/kustomize.toolkit.fluxcd.io/v1/namespaces/$NS/kustomizations apis/helm.toolkit.fluxcd.io/v2/namespaces/$NS/helmreleases \
           api/v1/namespaces/$NS/events; do
    printf 'url = "%s/%s"\noutput = "/dev/null"\n' "$SERVER" "$p"
  done
} > "$TMP/lists.cfg"
CURL_LISTS=(curl -sS --fail --parallel --parallel-immediate "${AUTH[@]}" --config "$TMP/lists.cfg")
WEGO_STATUS=("$WEGO" status -n "$NS" -o json)
KUBECTL_GET=(kubectl get apps,gitrepositories,kustomizations,helmreleases,events -n "$NS" -o json)

printf '%-6s %-9s %-9s | %-10s %-8s | %-10s %-8s %-7s | %-9s %-7s\n' \
  APPS REQUESTS REQ_APP WEGO_S WEGO_MiB KUBECTL_S KCTL_MiB W/K CURL_S W/C
have=0; prev_size=""; prev_w=""
for n in $SIZES; do
  if [ "$n" -gt "$have" ]; then
    objects $((have + 1)) "$n" > "$TMP/create.cfg"
    curl -sS --no-progress-meter --parallel --parallel-max 8 --config "$TMP/create.cfg" 2>/dev/null || true
    have=$n
  fi
  # Another test run may delete the CRDs (and with them every App of the namespace): count
  # before timing, create what is missing (the others answer 409), and say if it stays short.
  for attempt in 1 2 3; do
    short=$(counts | awk -v n="$n" '$2 != n' | wc -l)
    [ "$short" = 0 ] && break
    objects 1 "$n" > "$TMP/create.cfg"
    curl -sS --no-progress-meter --parallel --parallel-max 8 --config "$TMP/create.cfg" >/dev/null 2>&1 || true
  done
  [ "$short" = 0 ] || { echo "WARNING: the namespace does not hold $n apps:"; counts; }
  before=$(wego_requests); "${WEGO_STATUS[@]}" >/dev/null 2>&1 || true; requests=$(( $(wego_requests) - before ))
  before=$(wego_requests); "$WEGO" status -n "$NS" app-1 -o json >/dev/null 2>&1 || true; req_app=$(( $(wego_requests) - before ))
  rm -f "$TMP"/t.*
  for r in $(seq 0 "$RUNS"); do  # run 0 warms up and is not counted
    sfx=$([ "$r" = 0 ] && echo warm || echo runs)
    timed "$TMP/t.wego.$sfx" "${WEGO_STATUS[@]}"
    timed "$TMP/t.kubectl.$sfx" "${KUBECTL_GET[@]}"
    timed "$TMP/t.curl.$sfx" "${CURL_LISTS[@]}"
  done
  w=$(col 1 "$TMP/t.wego.runs" | median); wm=$(col 2 "$TMP/t.wego.runs" | median)
  k=$(col 1 "$TMP/t.kubectl.runs" | median); km=$(col 2 "$TMP/t.kubectl.runs" | median)
  c=$(col 1 "$TMP/t.curl.runs" | median)
  printf '%-6s %-9s %-9s | %-10s %-8s | %-10s %-8s %-7s | %-9s %-7s\n' "$n" "$requests" "$req_app" \
    "$w" "$(awk -v m="$wm" 'BEGIN { printf "%.1f", m / 1024 }')" \
    "$k" "$(awk -v m="$km" 'BEGIN { printf "%.1f", m / 1024 }')" "$(awk -v a="$w" -v b="$k" 'BEGIN { printf "%.2f", a / b }')" \
    "$c" "$(awk -v a="$w" -v b="$c" 'BEGIN { printf "%.2f", a / b }')"
  [ "$(counts | awk -v n="$n" '$2 != n' | wc -l)" = 0 ] || { echo "WARNING: objects were deleted while timing; discard this row:"; counts; }
  [ -z "$prev_size" ] || echo "  wego time at $n apps / at $prev_size apps: $(awk -v a="$w" -v b="$prev_w" 'BEGIN { printf "%.2f", a / b }')"
  prev_size=$n; prev_w=$w
done
[ -n "${KEEP:-}" ] && { echo "kept namespace $NS (KUBECONFIG=$TMP/kubeconfig is removed; use WEGO_TEST_KUBECONFIG)"; exit 0; }
kubectl --kubeconfig "$WEGO_TEST_KUBECONFIG" delete clusterrolebinding "$NS-bench" >/dev/null
kubectl --kubeconfig "$WEGO_TEST_KUBECONFIG" delete namespace "$NS" --wait=false >/dev/null

#!/usr/bin/env bash
# tests/e2e/acceptance.sh — WEP-001's acceptance scenario, end to end, driving the real wego:
#
#   1 install (--apply)             5 status shows the app synced, with its revision
#   2 add (a pull request)          6 suspend, resume and sync
#   3 merge it through the API      7 remove (a pull request, merged) and the app is pruned
#   4 wait for Ready                8 uninstall
#
# The same script runs nightly on kind clusters with Flux's controllers and a real GitHub
# organisation or GitLab group (.github/workflows/e2e.yml), and in the test suite against the
# test API server and the provider stand-ins (tests/e2e.rs). Where no controller runs
# (E2E_CONTROLLERS=none), it writes what Flux's controllers would, and says so each time.
#
# Environment (the token is only ever read by curl and git from here, never printed):
#   E2E_PROVIDER      github | gitlab                                              (required)
#   E2E_OWNER         the GitHub organisation or GitLab group for the test repos   (required)
#   E2E_TOKEN         a token that may create, merge in and delete repos there     (required)
#   E2E_API_URL       the provider's API (default https://api.github.com, https://gitlab.com/api/v4)
#   E2E_CONTROLLERS   flux (default: Flux's controllers run in the cluster) | none
#   E2E_WEGO          the wego binary (default: `wego` on PATH)
#   E2E_WEGO_CONFIG   a wego config file for the run (e.g. `providers:` for a self-hosted API)
#   E2E_SSH_KNOWN_HOSTS  the git host's ssh keys, for a provider that does not publish them
#                     (GitLab): `add --ssh-known-hosts`; GitHub's come from its API
#   E2E_NAMESPACE     the runtime's namespace (default flux-system)
#   E2E_CLUSTER       the cluster's name in the wego repo (default e2e)
#   E2E_RUN_ID        makes names unique (default: time and pid); repos: wego-e2e-<id>-app, -fleet
#   E2E_TIMEOUT       seconds to wait for Flux at each step (default 300)
#   E2E_KEEP_REPOS    1: leave the repos behind (default: deleted on exit, after a failure too)
#   E2E_STATE_FILE    the repos created are appended here (`owner/name`), for a cleanup step
#   KUBECONFIG, E2E_KUBE_CONTEXT   the cluster, for kubectl and wego alike
set -euo pipefail

: "${E2E_PROVIDER:?github or gitlab}" "${E2E_OWNER:?the organisation or group}" "${E2E_TOKEN:?a token}"
export E2E_TOKEN
CONTROLLERS=${E2E_CONTROLLERS:-flux}
WEGO=${E2E_WEGO:-wego}
NS=${E2E_NAMESPACE:-flux-system}
CLUSTER=${E2E_CLUSTER:-e2e}
RUN_ID=${E2E_RUN_ID:-$(date +%s)-$$}
TIMEOUT=${E2E_TIMEOUT:-300}
APP=e2e-${RUN_ID}
APP_REPO=wego-e2e-${RUN_ID}-app
FLEET_REPO=wego-e2e-${RUN_ID}-fleet
case "$E2E_PROVIDER" in
github) API=${E2E_API_URL:-https://api.github.com} GIT_USER=x-access-token ;;
gitlab) API=${E2E_API_URL:-https://gitlab.com/api/v4} GIT_USER=oauth2 ;;
*) echo "E2E_PROVIDER must be github or gitlab, not '$E2E_PROVIDER'" >&2; exit 2 ;;
esac
case "$CONTROLLERS" in flux | none) ;; *) echo "E2E_CONTROLLERS must be flux or none" >&2; exit 2 ;; esac
for tool in curl git jq kubectl "$WEGO"; do
    command -v "$tool" >/dev/null || { echo "e2e needs $tool on PATH" >&2; exit 2; }
done

WORK=$(mktemp -d)
STEP=0
step() { STEP=$((STEP + 1)); echo; echo "== step $STEP: $*"; }
ok() { echo "   ok: $*"; }
# What Flux's controllers would have done, done by this script (E2E_CONTROLLERS=none).
as_flux() { echo "   [no Flux controllers here: the e2e script $* itself, as Flux would]"; }
die() { echo "E2E FAILED at step $STEP: $*" >&2; exit 1; }

k() { kubectl ${E2E_KUBE_CONTEXT:+--context "$E2E_KUBE_CONTEXT"} "$@"; }

# wego as a new user: its own config and cache, the token where wego reads it, no update check.
mkdir -p "$WORK/config/wego" "$WORK/cache"
[ -n "${E2E_WEGO_CONFIG:-}" ] && cp "$E2E_WEGO_CONFIG" "$WORK/config/wego/config.yaml"
wego() {
    local token_var=GITHUB_TOKEN
    [ "$E2E_PROVIDER" = gitlab ] && token_var=GITLAB_TOKEN
    env "$token_var=$E2E_TOKEN" XDG_CONFIG_HOME="$WORK/config" XDG_CACHE_HOME="$WORK/cache" \
        CHECKPOINT_DISABLE=1 NO_COLOR=1 \
        "$WEGO" ${E2E_KUBE_CONTEXT:+--context "$E2E_KUBE_CONTEXT"} -n "$NS" "$@"
}

# The provider's API: `api METHOD PATH [JSON]` prints the body; fails on an HTTP error. The
# token goes to curl on stdin, never on its command line.
api() {
    local method=$1 path=$2 body=${3:-}
    local header="Authorization: Bearer $E2E_TOKEN"
    [ "$E2E_PROVIDER" = gitlab ] && header="PRIVATE-TOKEN: $E2E_TOKEN"
    printf 'header = "%s"\n' "$header" |
        curl -sS --fail-with-body --config - -X "$method" -H 'Content-Type: application/json' \
            -H 'Accept: application/json' ${body:+--data "$body"} "$API$path"
}
project() { printf '%s' "$E2E_OWNER/$1" | jq -sRr @uri; }   # GitLab's id for owner/name

# git with the token from a credential helper (the stand-ins' git server asks for none).
g() {
    git -c credential.helper= -c "credential.helper=!f() { echo username=$GIT_USER; echo \"password=\$E2E_TOKEN\"; }; f" \
        -c user.name=wego-e2e -c user.email=e2e@wego.invalid "$@"
}

# A new repo in the owner, private or public ($2); prints its https clone URL.
create_repo() {
    local name=$1 visibility=$2 created
    if [ "$E2E_PROVIDER" = github ]; then
        created=$(api POST "/orgs/$E2E_OWNER/repos" "{\"name\":\"$name\",\"visibility\":\"$visibility\"}") || die "cannot create $name"
        echo "$E2E_OWNER/$name" >>"${E2E_STATE_FILE:-/dev/null}"
        jq -r .clone_url <<<"$created"
    else
        local group
        group=$(api GET "/groups/$(printf '%s' "$E2E_OWNER" | jq -sRr @uri)" | jq -r .id) || die "no group $E2E_OWNER"
        created=$(api POST /projects "{\"name\":\"$name\",\"path\":\"$name\",\"namespace_id\":$group,\"visibility\":\"$visibility\"}") ||
            die "cannot create $name"
        echo "$E2E_OWNER/$name" >>"${E2E_STATE_FILE:-/dev/null}"
        jq -r .http_url_to_repo <<<"$created"
    fi
}

delete_repo() {
    if [ "$E2E_PROVIDER" = github ]; then api DELETE "/repos/$E2E_OWNER/$1" >/dev/null
    else api DELETE "/projects/$(project "$1")" >/dev/null; fi
}

cleanup() {
    local code=$?
    [ -n "${SYNC_PID:-}" ] && kill "$SYNC_PID" 2>/dev/null
    if [ "${E2E_KEEP_REPOS:-}" != 1 ] && [ -n "${APP_URL:-}" ]; then
        for r in "$APP_REPO" "$FLEET_REPO"; do
            delete_repo "$r" 2>/dev/null && echo "deleted the test repo $E2E_OWNER/$r" ||
                echo "could not delete the test repo $E2E_OWNER/$r: the workflow's cleanup step retries" >&2
        done
    fi
    rm -rf "$WORK"
    [ "$code" = 0 ] && echo && echo "E2E PASSED: the acceptance scenario on $E2E_PROVIDER (controllers: $CONTROLLERS)"
    exit "$code"
}
trap cleanup EXIT

# Until `cond` (a command) succeeds, at most E2E_TIMEOUT seconds.
wait_until() {
    local what=$1; shift
    local deadline=$((SECONDS + TIMEOUT))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || die "timed out after ${TIMEOUT}s waiting for $what"
        sleep 2
    done
}

# The JSON of the app's row in `wego status APP -o json`. Without controllers the runtime
# check fails (exit 1): only the app's row is judged then.
app_status() {
    local out code=0
    out=$(wego status "$APP" -o json) || code=$?
    if [ "$code" != 0 ] && [ "$CONTROLLERS" = flux ]; then die "wego status $APP exited $code: $out"; fi
    jq -c --arg app "$APP" '.apps[] | select(.name == $app)' <<<"$out"
}

# Write a status as the controller would, through the status subresource.
set_status() {
    k -n "$NS" patch "$1" "$APP" --subresource=status --type=merge -p "{\"status\":$2}" >/dev/null
}
ready_status() {   # the Ready condition and what else a reconciliation leaves, for $1's generation
    local gen now
    gen=$(k -n "$NS" get "$1" "$APP" -o jsonpath='{.metadata.generation}')
    now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    echo "{\"observedGeneration\":$gen,$2\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Succeeded\",\"message\":\"$3\",\"lastTransitionTime\":\"$now\",\"observedGeneration\":$gen}]}"
}
GITREPO=gitrepositories.source.toolkit.fluxcd.io
KS=kustomizations.kustomize.toolkit.fluxcd.io

echo "wego e2e: $E2E_PROVIDER $E2E_OWNER, namespace $NS, cluster $CLUSTER, app $APP, controllers: $CONTROLLERS"
[ "$CONTROLLERS" = none ] &&
    echo "NOTE: no Flux controllers run here: where they would act, this script applies and marks the Flux objects itself (status subresource), and says so"

# ── The repos: a private app with one manifest, and an empty wego repo ──────────────────────────
# The app is private, so Flux reads it with the deploy key `add` registers. The wego repo is
# public: `wego status` reads it as the user, who on a CI runner has no ssh key for it.
APP_URL=$(create_repo "$APP_REPO" private)
FLEET_URL=$(create_repo "$FLEET_REPO" public)
mkdir -p "$WORK/app/deploy"
cat >"$WORK/app/deploy/configmap.yaml" <<EOF
apiVersion: v1
kind: ConfigMap
metadata: {name: $APP, namespace: $NS}
data: {greeting: hello from the e2e app}
EOF
g -C "$WORK/app" init -q -b main
g -C "$WORK/app" add -A
g -C "$WORK/app" commit -qm "The e2e app"
# A repository just created can refuse pushes for a moment (GitHub and GitLab both, and the
# stand-ins as they do): retry for up to 30 s, as `wego add` does for the wego repo it creates.
push_deadline=$((SECONDS + 30))
until g -C "$WORK/app" push -q "$APP_URL" main 2>/dev/null; do
    [ $SECONDS -lt $push_deadline ] || die "cannot push the app to the new repo $APP_URL"
    sleep 1
done
APP_SHA=$(g -C "$WORK/app" rev-parse HEAD)
REVISION="main@sha1:$APP_SHA"
echo "test repos: $APP_URL (revision $REVISION), $FLEET_URL"

# ── 1 install ──────────────────────────────────────────────────────────────────────────────
step "wego install --apply"
if [ "$CONTROLLERS" = flux ]; then wego install --apply; else
    echo "   [no Flux controllers here: install does not wait for them (--wait=false)]"
    wego install --apply --wait=false
fi
k get crd apps.wego.weave.works >/dev/null || die "no App CRD after install"
k -n "$NS" get deployment source-controller kustomize-controller >/dev/null || die "no Flux controllers in $NS"
ok "Flux and wego's App CRD are installed in $NS"

# ── 2 add ──────────────────────────────────────────────────────────────────────────────────
step "wego add: a pull request to the wego repo"
PR=$(wego add --url "$APP_URL" --path deploy --app-config-url "$FLEET_URL" --cluster "$CLUSTER" --name "$APP" \
    ${E2E_SSH_KNOWN_HOSTS:+--ssh-known-hosts "$E2E_SSH_KNOWN_HOSTS"})
case "$PR" in */pull/[0-9]* | */merge_requests/[0-9]*) ;; *) die "wego add printed '$PR', not a pull request URL" ;; esac
[ "$(app_status | jq -r .state)" = awaiting-pr ] || die "status does not show $APP awaiting $PR: $(app_status)"
ok "$PR"

# Merge the pull request at URL $1 through the provider's API. A request opened a moment ago
# may not be mergeable yet (GitLab answers 405 while it checks): ask again for a while.
merge() {
    local number=${1##*/} path
    if [ "$E2E_PROVIDER" = github ]; then path="/repos/$E2E_OWNER/$FLEET_REPO/pulls/$number/merge"
    else path="/projects/$(project "$FLEET_REPO")/merge_requests/$number/merge"; fi
    for _ in $(seq 30); do
        api PUT "$path" '{}' >/dev/null 2>&1 && return
        sleep 2
    done
    api PUT "$path" '{}' || die "cannot merge $1"
}

# Flux fetches the wego repo every minute; ask for it now, as `flux reconcile source git` does.
fetch_wego_repo() {
    k -n "$NS" annotate --overwrite "$GITREPO" --all "reconcile.fluxcd.io/requestedAt=$(date +%s%N)" >/dev/null
}

# ── 3 merge ────────────────────────────────────────────────────────────────────────────────
step "merge the pull request through the $E2E_PROVIDER API"
merge "$PR"
ok "merged $PR"

# ── 4 Ready ────────────────────────────────────────────────────────────────────────────────
step "wait for the app to be Ready"
if [ "$CONTROLLERS" = flux ]; then
    fetch_wego_repo
else
    as_flux "applies the cluster's directory of the merged wego repo and the app's manifests, and marks them Ready"
    g clone -q "$FLEET_URL" "$WORK/fleet"
    k apply -k "$WORK/fleet/.wego/targets/$CLUSTER/$APP" >/dev/null
    k apply -f "$WORK/app/deploy/configmap.yaml" >/dev/null
    k -n "$NS" label configmap "$APP" "kustomize.toolkit.fluxcd.io/name=$APP" "kustomize.toolkit.fluxcd.io/namespace=$NS" >/dev/null
    set_status "$GITREPO" "$(ready_status "$GITREPO" "\"artifact\":{\"revision\":\"$REVISION\",\"path\":\"e2e\",\"url\":\"http://source-controller/e2e.tar.gz\",\"digest\":\"sha256:0\",\"lastUpdateTime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}," "stored artifact for revision '$REVISION'")"
    set_status "$KS" "$(ready_status "$KS" "\"lastAppliedRevision\":\"$REVISION\",\"lastAttemptedRevision\":\"$REVISION\"," "Applied revision: $REVISION")"
fi
wait_until "Kustomization $NS/$APP to be Ready" k -n "$NS" wait --for=condition=Ready "$KS/$APP" --timeout=5s
wait_until "the app's ConfigMap" k -n "$NS" get configmap "$APP"
ok "Kustomization $NS/$APP is Ready and the app's ConfigMap is in the cluster"

# ── 5 status ───────────────────────────────────────────────────────────────────────────────
step "wego status shows the app synced, with its revision"
row=$(app_status)
[ "$(jq -r .state <<<"$row")" = ready ] || die "status: $row"
[ "$(jq -r .lastSync.revision <<<"$row")" = "$REVISION" ] || die "status shows another revision than $REVISION: $row"
ok "$APP is ready at $REVISION"

# ── 6 suspend, resume, sync ────────────────────────────────────────────────────────────────
step "wego suspend, resume and sync"
suspended() { k -n "$NS" get "$1" "$APP" -o jsonpath='{.spec.suspend}'; }
wego suspend "$APP"
[ "$(suspended "$KS")/$(suspended "$GITREPO")" = true/true ] || die "suspend did not set spec.suspend"
[ "$(app_status | jq -r .suspended)" = true ] || die "status does not show $APP suspended"
ok "suspended"
wego resume "$APP"
[ "$(suspended "$KS")/$(suspended "$GITREPO")" = false/false ] || die "resume did not clear spec.suspend"
[ "$(app_status | jq -r .suspended)" = false ] || die "status still shows $APP suspended"
ok "resumed"
if [ "$CONTROLLERS" = none ]; then
    as_flux "handles the reconcile requests of sync (lastHandledReconcileAt, Ready)"
    (
        set +e
        while sleep 0.5; do
            for kind in "$GITREPO" "$KS"; do
                at=$(k -n "$NS" get "$kind" "$APP" -o go-template='{{index .metadata.annotations "reconcile.fluxcd.io/requestedAt"}}' 2>/dev/null) || continue
                handled=$(k -n "$NS" get "$kind" "$APP" -o jsonpath='{.status.lastHandledReconcileAt}')
                [ "$at" = "<no value>" ] || [ "$at" = "$handled" ] && continue
                extra="\"lastHandledReconcileAt\":\"$at\","
                [ "$kind" = "$KS" ] && extra="$extra\"lastAppliedRevision\":\"$REVISION\","
                set_status "$kind" "$(ready_status "$kind" "$extra" "Applied revision: $REVISION")"
            done
        done
    ) &
    SYNC_PID=$!
fi
synced=$(wego sync "$APP" --wait -o json --timeout "${TIMEOUT}s") || die "wego sync --wait failed"
[ -n "${SYNC_PID:-}" ] && kill "$SYNC_PID" && SYNC_PID=
[ "$(jq -r .revision <<<"$synced")" = "$REVISION" ] || die "sync applied another revision: $synced"
ok "synced: $(jq -c . <<<"$synced")"

# ── 7 remove ───────────────────────────────────────────────────────────────────────────────
step "wego remove: a pull request, merged, and the app is pruned"
PR=$(wego remove "$APP")
case "$PR" in */pull/[0-9]* | */merge_requests/[0-9]*) ;; *) die "wego remove printed '$PR', not a pull request URL" ;; esac
merge "$PR"
ok "merged $PR"
if [ "$CONTROLLERS" = flux ]; then
    fetch_wego_repo
else
    as_flux "prunes what the merged wego repo no longer has: the app's Flux objects, and what its Kustomization applied"
    k -n "$NS" delete configmap -l "kustomize.toolkit.fluxcd.io/name=$APP" >/dev/null
    k -n "$NS" delete "$KS/$APP" "$GITREPO/$APP" "apps.wego.weave.works/$APP" >/dev/null
fi
gone() { ! k -n "$NS" get "$@" >/dev/null 2>&1; }
wait_until "Flux to prune the app's Kustomization" gone "$KS" "$APP"
wait_until "Flux to prune the app's ConfigMap" gone configmap "$APP"
wego list -o json | jq -e --arg app "$APP" 'all(.apps[]; .name != $app)' >/dev/null || die "wego list still shows $APP"
ok "$APP is pruned from the cluster and gone from wego list"

# ── 8 uninstall ────────────────────────────────────────────────────────────────────────────
step "wego uninstall"
wego uninstall --yes
wait_until "the App CRD to be deleted" gone crd apps.wego.weave.works
wait_until "the Flux controllers to be deleted" gone -n "$NS" deployment source-controller
ok "the runtime is gone"

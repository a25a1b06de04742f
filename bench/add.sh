#!/usr/bin/env bash
# `wego add` into a wego repo that already holds APPS apps (default 10000), against the same
# change made with the git CLI: `git clone --depth 1 --single-branch`, the app's files written,
# `git add -A`, commit, push. Both talk to the same smart-HTTP git server (the one Flux fetches
# from in the tests). Printed in one run: wall time and peak RSS (median of RUNS, default 5, A
# and B in turn after a warm-up of each) and the ratios wego/git. Never a pass/fail.
# Needs the test cluster (WEGO_TEST_KUBECONFIG: add checks the runtime, validates and applies)
# and the git HTTP server (WEGO_TEST_GIT_HTTP, WEGO_TEST_GIT_ROOT from tests/env/git-up.sh's
# git.env), GNU time (/usr/bin/time), python3. WEGO: the binary (default target/release/wego).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${WEGO_TEST_KUBECONFIG:?start the test cluster (tests/env/k8s-up.sh)}"
: "${WEGO_TEST_GIT_HTTP:?start tests/env/git-up.sh and source its git.env}"
WEGO=${WEGO:-$PWD/target/release/wego}
RUNS=${RUNS:-5}
APPS=${APPS:-10000}
NS=${NS:-wego-bench-add}
MANIFEST=${FLUX_MANIFEST:-../shared/flux/v2.9.4/install.yaml}
[ -f "$MANIFEST" ] || MANIFEST=tests/fixtures/flux-install.yaml
export KUBECONFIG=$WEGO_TEST_KUBECONFIG CHECKPOINT_DISABLE=1 NO_COLOR=1
T=$(mktemp -d)
export HOME=$T/home XDG_CONFIG_HOME=$T/config XDG_CACHE_HOME=$T/cache
g() { git -c user.name=bench -c user.email=bench@example.com "$@"; }

B=bench-add-$$; SRV=$WEGO_TEST_GIT_ROOT/$B; mkdir -p "$SRV"
trap 'rm -rf "$T" "$SRV"' EXIT
kubectl delete namespace "$NS" --wait=true >/dev/null 2>&1 || true
"$WEGO" install --apply --wait=false -n "$NS" --flux-manifests "$MANIFEST" >/dev/null 2>&1

# The app repo, and the wego repo served over http.
for r in app wego; do g init -q --bare -b main "$SRV/$r.git"; g --git-dir "$SRV/$r.git" config http.receivepack true; done
APP=$WEGO_TEST_GIT_HTTP/$B/app.git WEGO_REPO=$WEGO_TEST_GIT_HTTP/$B/wego.git
g clone -q "$APP" "$T/app" 2>/dev/null; mkdir -p "$T/app/deploy"
cp tests/fixtures/apps/plain/*.yaml "$T/app/deploy/"; g -C "$T/app" add -A; g -C "$T/app" commit -qm app; g -C "$T/app" push -q origin main
add() { "$WEGO" add --url "$APP" --path deploy --name "$1" --app-config-url "$WEGO_REPO" --auto-merge -n "$NS"; }

# One real add writes the files of app `seed`; the wego repo then gets APPS apps like it.
add seed >/dev/null 2>"$T/err" || { cat "$T/err"; exit 1; }
g clone -q "$WEGO_REPO" "$T/seed" 2>/dev/null
# name -> its files, as `wego add` wrote those of `seed`
app_files() { # root name dest
  python3 - "$1" "$2" "$3" <<'PY'
import os, sys
root, name, dest = sys.argv[1:]
for d, _, files in os.walk(root):
    if "/.git" in d + "/" or os.path.basename(d) != "seed":
        continue
    for f in files:
        rel = os.path.relpath(os.path.join(d, f), root).replace("seed", name)
        text = open(os.path.join(d, f)).read().replace("seed", name)
        os.makedirs(os.path.join(dest, os.path.dirname(rel)), exist_ok=True)
        open(os.path.join(dest, rel), "w").write(text)
PY
}
python3 - "$T/seed" "$APPS" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
seed = []
for d, _, files in os.walk(root):
    if "/.git" not in d + "/" and os.path.basename(d) == "seed":
        seed += [(os.path.relpath(os.path.join(d, f), root), open(os.path.join(d, f)).read()) for f in files]
for i in range(1, n + 1):
    for rel, text in seed:
        p = os.path.join(root, rel.replace("seed", f"app-{i}"))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        open(p, "w").write(text.replace("seed", f"app-{i}"))
PY
g -C "$T/seed" add -A; g -C "$T/seed" commit -qm "$APPS apps"; g -C "$T/seed" push -q origin main
files=$(g --git-dir "$SRV/wego.git" ls-tree -r --name-only main | wc -l)

# The same change by hand: the files of app NAME, from a clone of one branch, one commit deep.
by_hand() { # name
  rm -rf "$T/c"
  g clone -q --depth 1 --single-branch "$WEGO_REPO" "$T/c" 2>/dev/null
  cp -r "$T/files-$1/." "$T/c/"
  g -C "$T/c" add -A && g -C "$T/c" commit -qm "Add $1" && g -C "$T/c" push -q origin main
}
timed() { local out=$1; shift; /usr/bin/time -f '%e %M' -a -o "$out" "$@" >/dev/null 2>"$T/err" || { cat "$T/err"; exit 1; }; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -v c="$1" '/^[0-9.]+ [0-9]+$/ { print $c }' "$2"; }
export -f by_hand g; export T WEGO_REPO

for r in $(seq 0 "$RUNS"); do  # run 0 warms up and is not counted
  sfx=$([ "$r" = 0 ] && echo warm || echo runs)
  app_files "$T/seed" "cli-$r" "$T/files-cli-$r"
  timed "$T/t.wego.$sfx" "$WEGO" add --url "$APP" --path deploy --name "bench-$r" --app-config-url "$WEGO_REPO" --auto-merge -n "$NS"
  timed "$T/t.git.$sfx" bash -c "by_hand cli-$r"
done
added=$(g --git-dir "$SRV/wego.git" ls-tree -d --name-only main .wego/apps/ | grep -c '^.wego/apps/\(bench\|cli\)-' || true)
[ "$added" = $((2 * (RUNS + 1))) ] || { echo "expected $((2 * (RUNS + 1))) apps added, found $added" >&2; exit 1; }

w=$(col 1 "$T/t.wego.runs" | median); wm=$(col 2 "$T/t.wego.runs" | median)
k=$(col 1 "$T/t.git.runs" | median); km=$(col 2 "$T/t.git.runs" | median)
mib() { awk -v m="$1" 'BEGIN { printf "%.1f", m / 1024 }'; }
echo "wego repo: $APPS apps, $files files; median of $RUNS runs"
printf '%-60s %7s s %7s MiB\n' "wego add --auto-merge" "$w" "$(mib "$wm")"
printf '%-60s %7s s %7s MiB\n' "git clone --depth 1 --single-branch + add + commit + push" "$k" "$(mib "$km")"
echo "ratio wego/git: time $(awk -v a="$w" -v b="$k" 'BEGIN { printf "%.2f", a / b }'), peak RSS $(awk -v a="$wm" -v b="$km" 'BEGIN { printf "%.2f", a / b }')"
kubectl delete namespace "$NS" --wait=false >/dev/null

#!/usr/bin/env bash
# Portable-binary check (issue #18): build wego as the release does (OpenSSL compiled in, linked
# against glibc 2.17 with cargo-zigbuild; the dev profile, which links the same way, to keep it
# fast), check what it links, then run it inside an older distribution's root file system (Debian
# 11 "bullseye": glibc 2.31, OpenSSL 1.1) with chroot: `version`, `install`, and a `wego run`
# script that clones, commits and pushes over https (TLS by the compiled-in OpenSSL, checked
# against the chroot's CA store) and over ssh.
#   tests/portable/check.sh           # tests/run.sh runs it; CI=true makes every gap a failure
# Cached under $WEGO_PORTABLE_CACHE (default /var/tmp/wego-portable): zig, cargo-zigbuild and the
# root file system, so reruns only rebuild wego. Needs root (debootstrap, chroot).
#   WEGO_PORTABLE_SUITE=bullseye WEGO_PORTABLE_MIRROR=http://deb.debian.org/debian
# The ssh clone uses the test git server's env (WEGO_TEST_GIT_SSH, ..., from tests/run.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CACHE=${WEGO_PORTABLE_CACHE:-/var/tmp/wego-portable}
SUITE=${WEGO_PORTABLE_SUITE:-bullseye}
MIRROR=${WEGO_PORTABLE_MIRROR:-http://deb.debian.org/debian}
TARGET=x86_64-unknown-linux-gnu
# One place for the versions the release uses: its workflow.
wf_env() { sed -n "s/^  $1: \"\(.*\)\"$/\1/p" .github/workflows/release.yml; }
MIN_GLIBC=$(wf_env MIN_GLIBC) ZIG_VERSION=$(wf_env ZIGLANG_VERSION) ZIGBUILD_VERSION=$(wf_env CARGO_ZIGBUILD_VERSION)

passed=0 failed=0
ok() { echo "portable: ok: $*"; passed=$((passed + 1)); }
ko() { echo "portable: FAILED: $*" >&2; failed=$((failed + 1)); }
finish() {
  echo "portable: $passed passed, $failed failed"
  if [ "$failed" = 0 ]; then exit 0; fi
  exit 1
}
# Something this check needs is missing: a failure in CI, a skip (said so) on a developer's machine.
missing() {
  if [ -n "${CI:-}" ]; then
    ko "$1"
    finish
  fi
  echo "portable: skipped: $1 (CI fails on this; run as root with network access to check)"
  exit 0
}
started=$(date +%s)
step() { echo "portable: [$(($(date +%s) - started))s] $*"; }

[ -n "$MIN_GLIBC" ] && [ -n "$ZIG_VERSION" ] && [ -n "$ZIGBUILD_VERSION" ] ||
  { ko "cannot read MIN_GLIBC, ZIGLANG_VERSION, CARGO_ZIGBUILD_VERSION from .github/workflows/release.yml"; finish; }
[ "$(id -u)" = 0 ] || missing "needs root for debootstrap and chroot"
[ "$(uname -m)" = x86_64 ] || missing "builds and runs the x86_64 Linux binary; this machine is $(uname -m)"
mkdir -p "$CACHE"

# --- tools, each installed once into the cache -------------------------------------------------
ZIG_DIR=$CACHE/zig-$ZIG_VERSION
if [ ! -x "$ZIG_DIR/ziglang/zig" ]; then
  step "installing zig $ZIG_VERSION (PyPI ziglang)"
  rm -rf "$ZIG_DIR.tmp"
  python3 -m pip install -q --disable-pip-version-check --target "$ZIG_DIR.tmp" "ziglang==$ZIG_VERSION" >&2 ||
    { rm -rf "$ZIG_DIR.tmp"; missing "cannot install zig (pip install ziglang==$ZIG_VERSION)"; }
  mv "$ZIG_DIR.tmp" "$ZIG_DIR"
fi
ZIGBUILD_DIR=$CACHE/cargo-zigbuild-$ZIGBUILD_VERSION
if [ ! -x "$ZIGBUILD_DIR/bin/cargo-zigbuild" ]; then
  step "installing cargo-zigbuild $ZIGBUILD_VERSION"
  cargo install -q --locked --root "$ZIGBUILD_DIR" cargo-zigbuild --version "$ZIGBUILD_VERSION" >&2 ||
    missing "cannot install cargo-zigbuild $ZIGBUILD_VERSION"
fi
export PATH=$ZIG_DIR/ziglang:$ZIGBUILD_DIR/bin:$PATH
for t in debootstrap objdump; do
  command -v $t >/dev/null || apt-get install -y -qq --no-install-recommends debootstrap binutils >/dev/null 2>&1 || true
  command -v $t >/dev/null || missing "$t is needed (apt-get install debootstrap binutils)"
done

# --- the old distribution's root file system -----------------------------------------------------
RFS=$CACHE/rootfs-$SUITE
if [ ! -x "$RFS/bin/sh" ]; then
  step "debootstrap $SUITE (minbase) from $MIRROR"
  rm -rf "$RFS.tmp"
  debootstrap --variant=minbase "$SUITE" "$RFS.tmp" "$MIRROR" >"$CACHE/debootstrap-$SUITE.log" 2>&1 ||
    { rm -rf "$RFS.tmp"; missing "cannot debootstrap $SUITE from $MIRROR (see $CACHE/debootstrap-$SUITE.log); WEGO_PORTABLE_SUITE picks another"; }
  mv "$RFS.tmp" "$RFS"
fi
RFS_GLIBC=$(chroot "$RFS" ldd --version | sed -n '1s/.* //p')
HOST_GLIBC=$(ldd --version | sed -n '1s/.* //p')
step "root file system: Debian $SUITE, glibc $RFS_GLIBC (this machine: $HOST_GLIBC)"

# --- build as the release does, then what it links ----------------------------------------------
step "cargo zigbuild --features vendored-openssl --target $TARGET.$MIN_GLIBC (dev profile)"
if ! cargo zigbuild --locked -q --features vendored-openssl --target "$TARGET.$MIN_GLIBC" --bin wego; then
  ko "cargo zigbuild for glibc $MIN_GLIBC with vendored OpenSSL"
  finish
fi
BIN=target/$TARGET/debug/wego
step "built $BIN"
if out=$(sh release/check-binary.sh "$BIN" "$MIN_GLIBC" 2>&1); then ok "$out"; else ko "$out"; fi

# --- run it inside the root file system -----------------------------------------------------------
work=$(mktemp -d)
W=/tmp/wego-portable-$$ # the same directory seen from inside the chroot
server_pid=
cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  rm -rf "$work" "$RFS$W" "${ssh_repo:-}"
}
trap cleanup EXIT
mkdir -p "$RFS$W"
cp "$BIN" "$RFS$W/wego"
cp tests/portable/portable.rhai "$RFS$W/"
# A private mount namespace: /proc for the chroot, gone when the command ends, whoever runs beside us.
in_rfs() {
  unshare --mount --fork sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$RFS" \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
}

# The chroot must be a place where a binary linked like today's does not start: a program built
# here against libssl.so.3 (as the 22.04 release binary was) must fail there.
if command -v cc >/dev/null && printf '#include <openssl/ssl.h>\nint main(void){return !OPENSSL_init_ssl(0, 0);}\n' |
  cc -x c -o "$RFS$W/needs-libssl3" - -lssl 2>/dev/null && "$RFS$W/needs-libssl3"; then
  # ... and release/check-binary.sh must refuse it (OpenSSL 3 and this machine's newer glibc).
  if out=$(sh release/check-binary.sh "$RFS$W/needs-libssl3" "$MIN_GLIBC" 2>&1); then
    ko "check-binary.sh passed a program linked against libssl.so.3: $out"
  elif grep -q 'links OpenSSL dynamically' <<<"$out" && grep -q "newer than $MIN_GLIBC" <<<"$out"; then
    ok "control: check-binary.sh refuses a binary linked against libssl.so.3 and glibc $HOST_GLIBC"
  else
    ko "check-binary.sh refused the control program, but not for OpenSSL and glibc: $out"
  fi
  if err=$(in_rfs "$W/needs-libssl3" 2>&1); then
    ko "a program linked against this machine's OpenSSL runs in $SUITE too: the chroot proves nothing"
  elif grep -q 'libssl.so.3' <<<"$err"; then
    ok "control: a binary needing libssl.so.3 does not start in $SUITE ($(echo "$err" | head -n 1))"
  else
    ko "control program failed in $SUITE for another reason: $err"
  fi
else
  ko "cannot build the libssl.so.3 control program (needs cc and libssl-dev)"
fi

VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
if out=$(in_rfs "$W/wego" version --offline 2>&1) && grep -qx "wego version: v$VERSION" <<<"$out"; then
  ok "wego version --offline in $SUITE"
else
  ko "wego version --offline in $SUITE: $out"
fi

FLUX=${WEGO_PORTABLE_FLUX_MANIFESTS:-}
for f in /work/shared/flux/v2.9.4/install.yaml ../shared/flux/v2.9.4/install.yaml; do
  [ -n "$FLUX" ] || { [ -f "$f" ] && FLUX=$f; }
done
if [ -z "$FLUX" ]; then
  ko "no Flux install.yaml (shared/flux/v2.9.4/install.yaml beside the checkout)"
else
  cp "$FLUX" "$RFS$W/install.yaml"
  if out=$(in_rfs "$W/wego" --offline install --flux-manifests "$W/install.yaml" 2>&1) &&
    grep -q '^kind: Deployment' <<<"$out" && grep -q 'name: source-controller' <<<"$out"; then
    ok "wego install --flux-manifests in $SUITE ($(grep -c '^kind:' <<<"$out") objects)"
  else
    ko "wego install --flux-manifests in $SUITE: $(echo "$out" | tail -n 5)"
  fi
fi

# A repository to clone and push to, with a commit of its own.
new_repo() {
  git init -q --bare -b main "$1"
  local seed=$work/seed-$RANDOM
  git init -q -b main "$seed"
  echo "hello from the host" >"$seed/hello.txt"
  git -C "$seed" add hello.txt
  git -C "$seed" -c user.name=portable -c user.email=portable@example.com commit -qm seed
  git -C "$seed" push -q "$1" main
}
pushed() { git --git-dir="$1" show main:from-chroot.txt 2>/dev/null; }

# https: the smart-HTTP test server over TLS, with a certificate from a CA of our own.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=wego portable test CA" \
  -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$work/srv.key" -out "$work/srv.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$work/san"
openssl x509 -req -in "$work/srv.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
  -extfile "$work/san" -out "$work/srv.crt" 2>/dev/null
mkdir -p "$work/srv"
new_repo "$work/srv/repo.git"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 tests/portable/https_git.py "$work/srv" "$port" "$work/srv.crt" "$work/srv.key" 2>"$work/https.log" &
server_pid=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
URL=https://127.0.0.1:$port/repo.git
# Where Debian's ca-certificates puts the bundle, which OpenSSL compiled into wego must find.
BUNDLE=$RFS/etc/ssl/certs/ca-certificates.crt
[ ! -e "$BUNDLE" ] || { ko "$SUITE's minbase has $BUNDLE already; the CA store test needs it absent"; }
# No CA store: the certificate must be refused (TLS verification is on).
if out=$(in_rfs "$W/wego" --offline run "$W/portable.rhai" "$URL" 2>&1); then
  ko "https clone in $SUITE succeeded with no CA that trusts the server: $out"
elif grep -qi 'certificate' <<<"$out"; then
  ok "https in $SUITE: an untrusted certificate is refused ($(echo "$out" | grep -i -m1 certificate | cut -c1-120))"
else
  ko "https clone in $SUITE failed, but not on the certificate: $out"
fi
# The CA in the distribution's store: clone, read, commit and push over https.
mkdir -p "$(dirname "$BUNDLE")"
cp "$work/ca.crt" "$BUNDLE"
if out=$(in_rfs "$W/wego" --offline run "$W/portable.rhai" "$URL" 2>&1) &&
  grep -q 'read: hello from the host' <<<"$out" && pushed "$work/srv/repo.git" | grep -q "pushed from $URL"; then
  ok "wego run in $SUITE: https clone, commit and push, trusting $SUITE's CA store"
else
  ko "wego run over https in $SUITE: $out"
fi
rm -f "$BUNDLE"
# SSL_CERT_FILE names the CA instead.
cp "$work/ca.crt" "$RFS$W/ca.crt"
if out=$(in_rfs SSL_CERT_FILE="$W/ca.crt" "$W/wego" --offline run "$W/portable.rhai" "$URL" 2>&1) &&
  grep -q 'read: hello from the host' <<<"$out"; then
  ok "https in $SUITE with SSL_CERT_FILE"
else
  ko "https in $SUITE with SSL_CERT_FILE: $out"
fi

# ssh (libssh2 on the same OpenSSL) against the test git server.
if [ -z "${WEGO_TEST_GIT_SSH:-}" ] || [ -z "${WEGO_TEST_GIT_ROOT:-}" ]; then
  if [ -n "${CI:-}" ]; then ko "no test git server for the ssh clone (WEGO_TEST_GIT_SSH; tests/run.sh starts it)"; else
    echo "portable: skipped: the ssh clone (no WEGO_TEST_GIT_SSH; tests/run.sh starts the git servers)"
  fi
else
  ssh_repo=$WEGO_TEST_GIT_ROOT/portable-$$.git
  new_repo "$ssh_repo"
  cp "$WEGO_TEST_SSH_KEY" "$RFS$W/key"
  cp "$WEGO_TEST_SSH_KNOWN_HOSTS" "$RFS$W/known_hosts"
  URL=$WEGO_TEST_GIT_SSH/portable-$$.git
  if out=$(in_rfs "$W/wego" --offline run "$W/portable.rhai" "$URL" "$W/key" "$W/known_hosts" 2>&1) &&
    grep -q 'read: hello from the host' <<<"$out" && pushed "$ssh_repo" | grep -q "pushed from $URL"; then
    ok "wego run in $SUITE: ssh clone, commit and push"
  else
    ko "wego run over ssh in $SUITE: $out"
  fi
fi
step "done"
finish

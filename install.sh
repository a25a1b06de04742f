#!/bin/sh
# Install wego from its GitHub releases:
#   curl -fsSL https://raw.githubusercontent.com/weaveworks/wego/main/install.sh | sh
# Environment:
#   WEGO_VERSION       a version such as 0.2.0 (default: the latest release)
#   WEGO_INSTALL_DIR   where to put the binary (default: /usr/local/bin when writable, else ~/.local/bin)
#   WEGO_DOWNLOAD_URL  release downloads (default: https://github.com/weaveworks/wego/releases), for mirrors;
#                      https only, unless it names http:// explicitly (a local mirror), which is warned about
# Builds: Linux (glibc 2.17 or newer) and macOS, each for x86_64 (amd64) and arm64 (aarch64).
# The archive's SHA-256 is checked against the release's checksums.txt before anything is installed.
set -eu

say() { printf 'wego-install: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

base=${WEGO_DOWNLOAD_URL:-https://github.com/weaveworks/wego/releases}
base=${base%/}
# curl may only speak https (redirects included), so nothing on the path can swap the download
# for another; checksums.txt comes over the same channel, so it cannot make up for plain http.
case "$base" in
  https://*) proto='=https' ;;
  http://*)
    proto='=http,https'
    say "warning: downloading over plain http from WEGO_DOWNLOAD_URL=$base; use this only for a mirror on a network you trust"
    ;;
  *) die "WEGO_DOWNLOAD_URL must be an https:// URL (or http:// for a local mirror), not '$base'" ;;
esac
fetch() { curl --proto "$proto" --proto-redir "$proto" -fsSL "$@"; }

os=${WEGO_INSTALL_OS:-$(uname -s)}
arch=${WEGO_INSTALL_ARCH:-$(uname -m)}
case "$os" in
  Linux|linux) os=linux ;;
  Darwin|darwin) os=darwin ;;
  *) die "unsupported operating system '$os': wego is built for Linux and macOS" ;;
esac
# A shell under Rosetta 2 reports x86_64 on an Apple silicon Mac: take the native build there.
if [ -z "${WEGO_INSTALL_ARCH:-}" ] && [ "$os" = darwin ] && [ "$arch" = x86_64 ] &&
  [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
  arch=arm64
fi
case "$arch" in
  x86_64|amd64) arch=amd64 ;;
  arm64|aarch64) arch=arm64 ;;
  *) die "unsupported architecture '$arch': wego is built for x86_64 (amd64) and arm64 (aarch64)" ;;
esac

command -v curl >/dev/null 2>&1 || die "curl is needed"
if command -v sha256sum >/dev/null 2>&1; then sha256() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
else die "sha256sum or shasum is needed to verify the download"; fi

version=${WEGO_VERSION:-}
if [ -z "$version" ]; then
  # GitHub redirects .../releases/latest to .../releases/tag/vX.Y.Z
  latest=$(fetch -o /dev/null -w '%{url_effective}' "$base/latest") || die "cannot find the latest release at $base/latest"
  version=${latest##*/}
fi
version=${version#v}
case "$version" in
  [0-9]*.[0-9]*.[0-9]*) ;;
  *) die "cannot tell the version from '$version'; set WEGO_VERSION" ;;
esac

file="wego_${version}_${os}_${arch}.tar.gz"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
say "downloading wego v$version for $os/$arch"
fetch -o "$tmp/$file" "$base/download/v$version/$file" || die "cannot download $base/download/v$version/$file"
fetch -o "$tmp/checksums.txt" "$base/download/v$version/checksums.txt" || die "cannot download the release's checksums.txt"
want=$(awk -v f="$file" '$2 == f || $2 == "*"f { print $1 }' "$tmp/checksums.txt")
[ -n "$want" ] || die "checksums.txt has no entry for $file"
got=$(sha256 "$tmp/$file")
[ "$want" = "$got" ] || die "checksum mismatch for $file (expected $want, got $got): nothing was installed"
tar -xzf "$tmp/$file" -C "$tmp"
[ -x "$tmp/wego_${version}_${os}_${arch}/wego" ] || die "the archive holds no wego binary"

dir=${WEGO_INSTALL_DIR:-}
if [ -z "$dir" ]; then
  if [ -w /usr/local/bin ]; then dir=/usr/local/bin; else
    dir=$HOME/.local/bin
    say "/usr/local/bin is not writable; installing to $dir (set WEGO_INSTALL_DIR, or rerun with sudo yourself)"
  fi
fi
mkdir -p "$dir"
install -m 755 "$tmp/wego_${version}_${os}_${arch}/wego" "$dir/wego.tmp.$$"
mv -f "$dir/wego.tmp.$$" "$dir/wego"
say "installed $dir/wego ($("$dir/wego" version --offline | head -n 1))"
case ":$PATH:" in *":$dir:"*) ;; *) say "add $dir to your PATH" ;; esac

#!/usr/bin/env sh
# Package a built wego for a release: wego_<version>_<os>_<arch>.tar.gz with the binary, LICENSE,
# README, shell completions and the man page, then (re)write checksums.txt for every archive in
# OUT. Used by .github/workflows/release.yml and by the local release dry run in the tests.
#   release/package.sh BINARY VERSION OS ARCH OUT
set -eu
bin=$1 version=$2 os=$3 arch=$4 out=$5
root=$(cd "$(dirname "$0")/.." && pwd)
name="wego_${version}_${os}_${arch}"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
dir="$stage/$name"
mkdir -p "$dir/completions" "$dir/man" "$out"
cp "$bin" "$dir/wego"
chmod 755 "$dir/wego"
cp "$root/LICENSE" "$root/README.md" "$dir/"
"$bin" completion bash > "$dir/completions/wego.bash"
"$bin" completion zsh > "$dir/completions/_wego"
"$bin" completion fish > "$dir/completions/wego.fish"
"$bin" docs man > "$dir/man/wego.1"
tar -C "$stage" -czf "$out/$name.tar.gz" "$name"
cd "$out"
if command -v sha256sum >/dev/null 2>&1; then sha256sum wego_*.tar.gz > checksums.txt; else shasum -a 256 wego_*.tar.gz > checksums.txt; fi
echo "$out/$name.tar.gz"

#!/usr/bin/env sh
# Render the Homebrew formula for a release from its checksums.txt (all four archives: macOS and
# Linux, each amd64 and arm64).
#   release/formula.sh VERSION CHECKSUMS_FILE [DOWNLOAD_URL] > Formula/wego.rb
set -eu
version=$1 sums=$2 url=${3:-https://github.com/weaveworks/wego/releases/download}
sum() {
  s=$(awk -v f="wego_${version}_$1_$2.tar.gz" '$2 == f || $2 == "*"f { print $1 }' "$sums")
  [ -n "$s" ] || { echo "formula: $sums has no checksum for wego_${version}_$1_$2.tar.gz" >&2; exit 1; }
  echo "$s"
}
# One assignment a line: with several, a failed lookup before the last would not stop the script.
darwin_amd64=$(sum darwin amd64)
darwin_arm64=$(sum darwin arm64)
linux_amd64=$(sum linux amd64)
linux_arm64=$(sum linux arm64)
sed -e "s|@VERSION@|$version|g" -e "s|@URL@|$url|g" \
  -e "s|@SHA_DARWIN_AMD64@|$darwin_amd64|" -e "s|@SHA_DARWIN_ARM64@|$darwin_arm64|" \
  -e "s|@SHA_LINUX_AMD64@|$linux_amd64|" -e "s|@SHA_LINUX_ARM64@|$linux_arm64|" \
  "$(dirname "$0")/wego.rb.in"

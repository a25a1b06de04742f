#!/usr/bin/env sh
# Render the Homebrew formula for a release from its checksums.txt.
#   release/formula.sh VERSION CHECKSUMS_FILE [DOWNLOAD_URL] > Formula/wego.rb
set -eu
version=$1 sums=$2 url=${3:-https://github.com/weaveworks/wego/releases/download}
sum() { awk -v f="wego_${version}_$1_amd64.tar.gz" '$2 == f { print $1 }' "$sums"; }
darwin=$(sum darwin) linux=$(sum linux)
[ -n "$darwin" ] && [ -n "$linux" ] || { echo "checksums for darwin and linux amd64 archives are needed" >&2; exit 1; }
sed -e "s|@VERSION@|$version|g" -e "s|@URL@|$url|g" -e "s|@SHA_DARWIN@|$darwin|" -e "s|@SHA_LINUX@|$linux|" \
  "$(dirname "$0")/wego.rb.in"

#!/usr/bin/env bash
# Rhai line coverage of scripts/ and stdlib/: per file and in total, the lines holding a
# statement (executable) that the tests ran (executed), from the records wego appends to DIR
# when WEGO_RHAI_COVERAGE=DIR is set (src/engine/coverage.rs).
#   WEGO_RHAI_COVERAGE=/tmp/rc cargo test --test rhai_tests && tests/rhai-coverage.sh /tmp/rc
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: tests/rhai-coverage.sh DIR (the WEGO_RHAI_COVERAGE directory of a test run)}
shopt -s nullglob
records=("$dir"/rhai-*.lines)
if [ ${#records[@]} = 0 ]; then
  echo "tests/rhai-coverage.sh: no records in $dir (was WEGO_RHAI_COVERAGE=$dir set for the tests?)" >&2
  exit 1
fi

# Only this tree's files count: an override or a test's own script may share a display name's
# shape (`scripts/x.rhai` relative to its work tree) without being one of ours.
find scripts stdlib -name '*.rhai' | sort | cat - "${records[@]}" | awk -F '\t' '
  NF == 1 { ours[$1] = 1; next }
  !($2 in ours) { next }
  $1 == "E" { exe[$2, $3] = 1 }
  $1 == "X" { ran[$2, $3] = 1 }
  END {
    for (k in exe) {
      split(k, p, SUBSEP)
      total[p[1]]++
      if (k in ran) hit[p[1]]++
    }
    for (f in ours) {
      if (!(f in total)) { printf "tests/rhai-coverage.sh: %s was never compiled: no executable lines recorded\n", f > "/dev/stderr"; bad = 1 }
      all += total[f]; done += hit[f]
      printf "  %-32s %5d / %-5d %5.1f %%\n", f, hit[f], total[f], total[f] ? 100 * hit[f] / total[f] : 0 | "sort"
    }
    close("sort")
    printf "Rhai line coverage of scripts/ and stdlib/: %.1f %% (%d of %d lines)\n", all ? 100 * done / all : 0, done, all
    exit bad
  }'

#!/usr/bin/env bash
# Instructions a span that preparing a trace request takes (bench/prepare.ts's work), counted by
# valgrind: the same on a busy machine as on a quiet one, where CPU time on this shared machine moves
# by a third from one run to the next. Two runs, of 40 and 240 requests of 512 spans, so what is
# counted once (start-up, the JIT's warm-up) cancels: the difference over 200 requests.
#   npm run bench:prepare:instructions
#   bench/prepare-instructions.sh <checkout>    another checkout with this script (a worktree of a
#                                              commit before, its bench/prepare.ts from this one)
# Needs valgrind (Debian: apt-get install -y valgrind); about two minutes.
set -euo pipefail
command -v valgrind >/dev/null || { echo "needs valgrind: apt-get install -y valgrind" >&2; exit 1; }
cd "${1:-$(dirname "$0")/..}"
count() {
  local out
  out=$(BENCH_JUST_REQUESTS=$1 valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
    node --import tsx bench/prepare.ts 2>&1) || { echo "$out" >&2; exit 1; }
  awk '/I[ ]+refs:/ {gsub(",", "", $NF); print $NF}' <<<"$out"
}
few=$(count 40)
many=$(count 240)
[[ $few =~ ^[0-9]+$ && $many =~ ^[0-9]+$ ]] || { echo "valgrind printed no instruction count" >&2; exit 1; }
echo "$(( (many - few) / (200 * 512) )) instructions a span ($(pwd), $few and $many for 40 and 240 requests)"

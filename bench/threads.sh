#!/usr/bin/env bash
# Cores used by each thread of a running process over an interval, by thread name (Linux /proc):
# which of the JS thread, the decoding threads, the engine's inserts and its merges spend the CPU.
#   bench/threads.sh <pid> [seconds]      e.g. during `BENCH_POINTS=64x512 BENCH_SPANS=600000 npm run bench:ingest`
set -euo pipefail
pid=$1
seconds=${2:-6}
snap() {
  for t in /proc/"$pid"/task/*; do
    printf '%s %s\n' "$(tr ' ' '_' <"$t/comm" 2>/dev/null)" "$(awk '{print $14 + $15}' "$t/stat" 2>/dev/null)"
  done | awk '{ticks[$1] += $2} END {for (name in ticks) print name, ticks[name]}' | sort
}
before=$(snap)
sleep "$seconds"
after=$(snap)
join <(echo "$before") <(echo "$after") |
  awk -v s="$seconds" -v hz="$(getconf CLK_TCK)" '{cores = ($3 - $2) / hz / s; if (cores > 0.01) printf "%-20s %.2f cores\n", $1, cores}' |
  sort -k2 -nr

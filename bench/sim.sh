#!/usr/bin/env bash
# bench/sim.sh [MAILHOUND] -- generation speed of `mailhound simulate`
#
# Runs the two reference sizes (2,000 users x 14 days, the default; 20,000
# users x 30 days) into a scratch directory and prints, per size: bytes
# written, wall time, MB/s over wall time, MB/s over CPU time (user+sys: what
# the generator costs when the machine is not shared) and peak RSS. The
# output is deleted afterwards. Not a timed test: numbers depend on the disk
# and on the machine's load.
#
#   MAILHOUND        binary (default build/release/mailhound)
#   MH_BENCH_DIR     scratch directory (default $TMPDIR or /tmp)
#   MH_BENCH_SIZES   "USERSxDAYS ..." (default "2000x14 20000x30")
set -euo pipefail
mh=${1:-build/release/mailhound}
[ -x "$mh" ] || { echo "bench/sim.sh: no binary $mh" >&2; exit 1; }
scratch=${MH_BENCH_DIR:-${TMPDIR:-/tmp}}
sizes=${MH_BENCH_SIZES:-"2000x14 20000x30"}
timer=/usr/bin/time
[ -x "$timer" ] || timer=""

for size in $sizes; do
  users=${size%x*}
  days=${size#*x}
  # ~14 KB per user-day on disk; skip when the scratch disk cannot hold it
  need_kb=$(( (users + users / 10) * days * 15 ))
  free_kb=$(df -Pk "$scratch" | awk 'NR==2 {print $4}')
  if [ "$free_kb" -lt "$need_kb" ]; then
    echo "simulate ${users} users x ${days} days: skipped (needs ~$((need_kb / 1024)) MB in $scratch)"
    continue
  fi
  out=$(mktemp -d "$scratch/mh-bench-sim.XXXXXX")
  log=$(mktemp "$scratch/mh-bench-sim-log.XXXXXX")
  if [ -n "$timer" ]; then
    "$timer" -f 'TIME %e %U %S %M' "$mh" simulate --out "$out/o" --users "$users" --days "$days" \
      >"$log" 2>&1 || { cat "$log" >&2; rm -rf "$out" "$log"; exit 1; }
    read -r _ wall user sys rss < <(grep '^TIME ' "$log")
  else
    start=$(date +%s.%N)
    "$mh" simulate --out "$out/o" --users "$users" --days "$days" >"$log" 2>&1
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    user=0 sys=0 rss=0
  fi
  bytes=$(du -sb "$out/o" | cut -f1)
  awk -v u="$users" -v d="$days" -v b="$bytes" -v w="$wall" -v us="$user" -v sy="$sys" -v r="$rss" 'BEGIN {
    cpu = us + sy
    printf "simulate %d users x %d days: %.0f MB in %.1f s = %.0f MB/s wall", u, d, b / 1e6, w, b / 1e6 / (w > 0 ? w : 1)
    if (cpu > 0) printf ", %.0f MB/s per CPU second (user %.1f s, sys %.1f s)", b / 1e6 / cpu, us, sy
    if (r > 0) printf ", peak RSS %.0f MB", r / 1024
    printf "\n" }'
  rm -rf "$out" "$log"
done

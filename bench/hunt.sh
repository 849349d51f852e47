#!/usr/bin/env bash
# bench/hunt.sh [BUILD_DIR] [DATA_DIR] -- Sigma hunting throughput (issue 3, item 8).
#
# Input: the deterministic UAL + sign-in JSONL of bench/run (bench_parse --gen;
# >= 1 GB there; standalone this script makes a smaller one, MH_BENCH_BYTES).
# Runs, each measured by bench_runstat (wall time, peak RSS of the process):
#   1. all cloud rules (SigmaHQ rules/cloud + rules/identity + third-party) -j 1
#      and -j <cores>;
#   2. the named subset of 21 rules (third-party/suzaku-rules-m365) -j 1, and the
#      same 21 rules as one jq program (bench/jq-rules.jq) over the same file:
#      the ratio compares like with like; the alert counts are checked equal.
#   3. the floor: reading the file and the prefilter scan alone
#      (bench_prefilter), the part of every run's CPU time no rule tuning
#      removes;
#   4. opt-in (MH_BENCH_SIM_STATE=1): the detector state on a simulated
#      20,000-user x 30-day tenant (~9 GB written to DATA_DIR and deleted
#      after): the full pack -j1, peak RSS and CPU seconds (issue 5).
# Prints MB/s, events/s, peak RSS per run (the least-CPU of MH_BENCH_REPS,
# default 3), then the ratios. Not a test.
# Wall clock is what bench_runstat reports; on a shared machine compare CPU
# seconds (user+sys) instead, e.g. /usr/bin/time -f '%U %S %M'.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build/release}
data=${2:-$root/build/bench-data}
case "$build" in /*) ;; *) build=$root/$build ;; esac
mh=$build/mailhound
runstat=$build/bench_runstat
parse=$build/bench_parse
sig=$root/../shared/corpora/sigma
if [ ! -d "$sig" ]; then echo "bench/hunt.sh: $sig absent"; exit 77; fi
for t in "$mh" "$runstat" "$parse"; do
  [ -x "$t" ] || { echo "bench/hunt.sh: $t missing (build a Release tree: cmake -DCMAKE_BUILD_TYPE=Release)"; exit 1; }
done
mkdir -p "$data"
input=$data/ual-signin.jsonl
target=${MH_BENCH_BYTES:-1100000000}
if [ ! -s "$input" ] || [ "$(stat -c %s "$input")" -lt "$target" ]; then
  "$parse" --gen 2000 "$data/probe.jsonl" >/dev/null
  per=$(( $(stat -c %s "$data/probe.jsonl") / 2000 + 1 ))
  rm -f "$data/probe.jsonl"
  "$parse" --gen $(( target / per + 1 )) "$input" >/dev/null
fi
bytes=$(stat -c %s "$input")
records=$(wc -l <"$input")
cores=$(nproc)
cat "$input" >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== hunt: $(awk -v b="$bytes" 'BEGIN{printf "%.2f GB", b/1e9}'), $records records; $(nproc) cores"
cloud="-r $sig/rules/cloud -r $sig/rules/identity -r $sig/third-party"
sub="-r $sig/third-party/suzaku-rules-m365"
nrules=$("$mh" rules check -q $cloud | sed -nE 's/^totals: .* ([0-9]+) loaded.*/\1/p')

# Each mailhound run is repeated MH_BENCH_REPS times (default 3) and the run
# with the least CPU time is reported: on a shared machine a neighbour's load
# only ever adds time, so the minimum is the figure closest to the code's own
# cost. jq runs once (minutes), so its ratio compares one jq run with the
# best of mailhound's: on an idle machine the spread is a few percent.
reps=${MH_BENCH_REPS:-3}
case "$reps" in ''|*[!0-9]*|0) echo "bench/hunt.sh: MH_BENCH_REPS must be >= 1" >&2; exit 1 ;; esac
measure() { # name stdout cmd...
  local name=$1 so=$2; shift 2
  local line best="" n=$reps
  [ "$1" = jq ] && n=1
  for _ in $(seq "$n"); do
    line=$("$runstat" --stdout "$so" -- "$@" 2>&1 >/dev/null | tail -1)
    # only a completed run counts: a crash would otherwise be the "fastest"
    if ! grep -qE 'exit=0( |$)' <<<"$line" || ! grep -qE 'cpu_s=[0-9.]+' <<<"$line"; then
      echo "bench/hunt.sh: $name failed: $line" >&2
      exit 1
    fi
    if [ -z "$best" ] || awk -v a="$(sed -E 's/.*cpu_s=([0-9.]+).*/\1/' <<<"$line")" \
        -v b="$(sed -E 's/.*cpu_s=([0-9.]+).*/\1/' <<<"$best")" 'BEGIN { exit !(a + 0 < b + 0) }'; then
      best=$line
    fi
  done
  line=$best
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" \
    "$(sed -E 's/.*wall_s=([0-9.]+).*/\1/' <<<"$line")" \
    "$(sed -E 's/.*maxrss_kb=([0-9]+).*/\1/' <<<"$line")" \
    "$(sed -E 's/.*exit=([0-9]+).*/\1/' <<<"$line")" \
    "$(sed -E 's/.*cpu_s=([0-9.]+).*/\1/' <<<"$line")"
}
{
  # Sigma alone: no built-in pack, no stateful detectors (issue 3's figures).
  sigma_only="--no-builtin --no-detectors"
  measure "hunt cloud ($nrules) -j1" "$out/c1" "$mh" hunt -q -j 1 --format jsonl $sigma_only $cloud "$input"
  measure "hunt cloud ($nrules) -j$cores" "$out/cN" "$mh" hunt -q -j "$cores" --format jsonl $sigma_only $cloud "$input"
  measure "hunt 21 rules -j1" "$out/s1" "$mh" hunt -q -j 1 --format jsonl $sigma_only $sub "$input"
  # Issue 5: the built-in pack (rules/builtin, Sigma) on top of the cloud
  # rules -- the issue's 2x target -- and then the stateful detectors too
  # (the default run).
  measure "hunt cloud+builtin -j1" "$out/b1" "$mh" hunt -q -j 1 --format jsonl --no-detectors $cloud "$input"
  measure "hunt cloud+builtin+detectors -j1" "$out/f1" "$mh" hunt -q -j 1 --format jsonl $cloud "$input"
  if command -v jq >/dev/null; then
    measure "jq 21 rules" "$out/jq" jq -r -f "$here/jq-rules.jq" "$input"
  fi
} >"$out/results"
cmp -s "$out/c1" "$out/cN" && echo "-j1 and -j$cores outputs are byte-identical" || echo "WARNING: -j outputs differ"
a=$(wc -l <"$out/s1")
if [ -f "$out/jq" ]; then
  j=$(wc -l <"$out/jq")
  [ "$a" = "$j" ] && echo "21-rule alerts: mailhound $a = jq $j" || echo "WARNING: 21-rule alerts: mailhound $a, jq $j"
fi
echo "cloud alerts: $(wc -l <"$out/c1")"
awk -F'\t' -v bytes="$bytes" -v recs="$records" '
  { name[NR]=$1; wall[NR]=$2; rss[NR]=$3; code[NR]=$4; cpu[NR]=$5 }
  END {
    printf "%-34s %8s %9s %12s %8s %10s %10s %5s\n", "run", "wall s", "MB/s", "events/s", "CPU s", "MB/CPU-s", "peak MB", "exit"
    for (i = 1; i <= NR; i++)
      printf "%-34s %8.2f %9.0f %12.0f %8.2f %10.0f %10.1f %5d\n", name[i], wall[i], bytes/1e6/wall[i], recs/wall[i], cpu[i], bytes/1e6/cpu[i], rss[i]/1024, code[i]
    for (i = 1; i <= NR; i++) { if (name[i] ~ /^hunt 21/) s = i; if (name[i] ~ /^jq/) q = i; if (name[i] ~ /^hunt cloud \(/ && name[i] ~ /-j1$/) c = i }
    if (s && q) printf "mailhound is %.1fx jq on the same 21 rules (target >= 50x)\n", wall[q]/wall[s]
    if (c) printf "all cloud rules, one thread: %.2f GB per CPU second (target >= 1 GB/s per core)\n", bytes/1e9/cpu[c]
    for (i = 1; i <= NR; i++) { if (name[i] ~ /builtin -j1$/) b = i; if (name[i] ~ /detectors/) f = i }
    if (c && b) printf "built-in pack costs %.2fx the cloud rules alone in CPU seconds (target <= 2x)\n", cpu[b]/cpu[c]
    if (c && f) printf "built-in pack + stateful detectors (the default run) cost %.2fx\n", cpu[f]/cpu[c]
  }' "$out/results"

# The floor under the figures above: reading the file and the Hyperscan
# prefilter alone, before any record is parsed (bench/prefilter.c). Issue 3's
# 1 GB/s per core would leave only the difference to everything else.
if [ -x "$build/bench_prefilter" ]; then
  echo "== floor: input and prefilter passes alone, cloud rules"
  "$build/bench_prefilter" "$input" $(sed 's/-r //g' <<<"$cloud")
fi

if [ "${MH_BENCH_SIM_STATE:-0}" = 1 ]; then
  sim=$data/sim-20000x30
  rm -rf "$sim"
  echo "== detector state: simulate --users 20000 --days 30 (written to $sim, deleted after)"
  "$mh" simulate --users 20000 --days 30 --out "$sim" >/dev/null
  sbytes=$(du -sb "$sim/logs" | cut -f1)
  line=$("$runstat" --stdout "$out/sim" -- "$mh" hunt -q -j 1 --format jsonl --incidents "$out/sim-inc.json" "$sim/logs" 2>&1 >/dev/null | tail -1)
  awk -v b="$sbytes" -v l="$line" -v a="$(wc -l <"$out/sim")" 'BEGIN {
    match(l, /wall_s=[0-9.]+/); w = substr(l, RSTART + 7, RLENGTH - 7)
    match(l, /cpu_s=[0-9.]+/); c = substr(l, RSTART + 6, RLENGTH - 6)
    match(l, /maxrss_kb=[0-9]+/); r = substr(l, RSTART + 10, RLENGTH - 10)
    printf "full pack -j1 on %.2f GB: %.1f s wall, %.1f CPU s (%.0f MB per CPU second), peak RSS %.1f MB, %d alerts\n", b/1e9, w, c, b/1e6/c, r/1024, a }'
  rm -rf "$sim"
fi

#!/usr/bin/env bash
# fuzz/smoke.sh FUZZER NAME -- short libFuzzer run inside `make test`:
# replays every regression input (fuzz/regress/NAME/), then fuzzes for a few
# seconds from the seed corpus (fuzz/corpus/NAME/) into a scratch copy.
set -euo pipefail
fuzzer=$1 name=$2
secs=${MH_FUZZ_SECONDS:-10}
regress=fuzz/regress/$name
corpus=fuzz/corpus/$name
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -d "$regress" ] && [ -n "$(ls -A "$regress" 2>/dev/null)" ]; then
  "$fuzzer" -runs=0 "$regress"/* >"$work/regress.log" 2>&1 || { cat "$work/regress.log"; exit 1; }
  echo "fuzz/$name: replayed $(ls "$regress" | wc -l) regression inputs"
fi
[ -d "$corpus" ] && cp -r "$corpus"/. "$work/" 2>/dev/null || true
mkdir -p "$work/new"
"$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/" \
  "$work/new" ${corpus:+$( [ -d "$corpus" ] && echo "$corpus")} >"$work/fuzz.log" 2>&1 || {
  tail -50 "$work/fuzz.log"; ls "$work"; exit 1; }
echo "fuzz/$name: $(grep -o 'Done [0-9]* runs' "$work/fuzz.log" | tail -1) in ${secs}s, no crash"

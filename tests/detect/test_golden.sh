#!/usr/bin/env bash
# tests/detect/test_golden.sh -- golden cases of the built-in detection pack through `mailhound hunt`
#
# Every case under tests/data/detect/ (written by tests/detect/make_cases.py)
# has an input.jsonl and an expect file: the rules under test, which of them
# are correlations, and the alerts they must raise (rule id + input record;
# "*" for correlations, compared by count). `mailhound hunt` runs with the
# built-in pack from the source tree (MAILHOUND_DATA); only the alerts of the
# listed rules are compared, so other rules firing on the same input do not
# matter. Cases of built-in detectors (rule ids "mh.*") also run in
# tests/unit/test_detect_golden.c; here they need hunt to run the detectors
# (it advertises --state when it does).
# Exit 77 (skipped) while this build has no `mailhound hunt`.
set -uo pipefail
: "${MH:?MH must name the mailhound binary}" "${MH_SRC:?MH_SRC must name the source tree}"
if ! "$MH" hunt --help >/dev/null 2>&1; then
  echo "skipped: 'mailhound hunt' is not available in this build"
  exit 77
fi
help=$("$MH" hunt --help 2>&1)
detectors=0
grep -q -- '--state' <<<"$help" && detectors=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 ran=0 skipped=0
for dir in "$MH_SRC"/tests/data/detect/*/; do
  name=$(basename "$dir")
  exp="$dir/expect"
  [ -f "$exp" ] || continue
  rules=$(sed -n 's/^rules //p' "$exp")
  if grep -q '^rules mh\.' "$exp" && [ $detectors = 0 ]; then
    skipped=$((skipped + 1))
    continue
  fi
  if ! MAILHOUND_DATA="$MH_SRC" "$MH" hunt --format jsonl "$dir/input.jsonl" >"$tmp/out" 2>"$tmp/err"; then
    echo "FAIL $name: hunt failed: $(head -3 "$tmp/err")"
    fail=1
    continue
  fi
  ran=$((ran + 1))
  # rule_id and the record of the top-level "source" object (the first one)
  awk -v rules=" $rules " -v corr=" $(sed -n 's/^corr //p' "$exp" | tr '\n' ' ') " '
    {
      if (!match($0, /"rule_id":"[^"]*"/)) next
      id = substr($0, RSTART + 11, RLENGTH - 12)
      if (index(rules, " " id " ") == 0) next
      rec = "?"
      if (match($0, /"source":\{[^}]*\}/)) {
        src = substr($0, RSTART, RLENGTH)
        if (match(src, /"record":[0-9]+/)) rec = substr(src, RSTART + 9, RLENGTH - 9)
      }
      if (index(corr, " " id " ") > 0) rec = "*"
      print "alert " id " " rec
    }' "$tmp/out" | LC_ALL=C sort >"$tmp/got"
  grep '^alert ' "$exp" | LC_ALL=C sort >"$tmp/want"
  if ! diff -u "$tmp/want" "$tmp/got" >"$tmp/diff"; then
    echo "FAIL $name ($(sed -n '1s/^# //p' "$exp"))"
    sed 's/^/    /' "$tmp/diff"
    fail=1
  fi
done
# D5 grant booster across runs: the consent is read in one run, the credential in
# the next; the grant must come back from the state file (persisted history)
if [ $detectors = 1 ]; then
  f="$MH_SRC/tests/data/detect/d05c_pos/input.jsonl"
  n=$(grep -n 'KeyDescription' "$f" | head -1 | cut -d: -f1) # the first credential change
  head -n $((n - 1)) "$f" >"$tmp/run1.jsonl"
  tail -n +"$n" "$f" >"$tmp/run2.jsonl"
  MAILHOUND_DATA="$MH_SRC" "$MH" hunt -q --format jsonl --state "$tmp/state.db" "$tmp/run1.jsonl" >/dev/null 2>&1
  got=$(MAILHOUND_DATA="$MH_SRC" "$MH" hunt -q --format jsonl --state "$tmp/state.db" "$tmp/run2.jsonl" 2>/dev/null |
    grep -c '"boosters":"grant_before"')
  if [ "$got" != 1 ]; then
    echo "FAIL d5 grant booster across runs: $got detections with grant_before, want 1"
    fail=1
  fi
fi
echo "golden: $ran cases run, $skipped skipped (hunt without built-in detectors), $([ $fail = 0 ] && echo ok || echo FAILED)"
[ $ran -gt 0 ] || exit 77
exit $fail

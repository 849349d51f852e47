#!/usr/bin/env bash
# tests/investigate/test_cli.sh -- investigate's command line and summary.md
# on the small crafted case (tests/data/scope): quick, no simulated tenant.
#
# 1. LOGS from standard input: refused when hunt and scope would both read
#    it (the second read would be empty: nothing scoped, exit 0); accepted
#    with --incidents (scope alone reads it) and then equal to the file run.
set -uo pipefail
: "${MH:?MH must be the mailhound binary}"
SRC=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
export MAILHOUND_DATA="$SRC"
work=$(mktemp -d "${TMPDIR:-/tmp}/mh-invcli.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=$((fail + 1)); }
D="$SRC/tests/data/scope"

# 1. standard input
"$MH" investigate - --mail "$D/mail" --out "$work/stdin" <"$D/logs/ual.jsonl" >"$work/o" 2>"$work/e"
rc=$?
[ $rc = 1 ] || bad "stdin while hunting: exit $rc, want 1"
grep -q "standard input cannot be one" "$work/e" || bad "stdin while hunting: no reason: $(cat "$work/e")"
[ -e "$work/stdin/summary.md" ] && bad "stdin while hunting: summary.md written"
"$MH" investigate --mail "$D/mail" --trace - --out "$work/stdin2" <"$D/trace.csv" "$D/logs" >"$work/o" 2>"$work/e"
rc=$?
[ $rc = 1 ] || bad "--trace - while hunting: exit $rc, want 1"
cp "$D/logs/ual.jsonl" "$work/ual.jsonl"
"$MH" investigate -q "$work/ual.jsonl" --mail "$D/mail" --incidents "$D/incidents.json" \
  --min-level low --out "$work/file" >/dev/null 2>&1
"$MH" investigate -q - --mail "$D/mail" --incidents "$D/incidents.json" --min-level low \
  --out "$work/pipe" <"$work/ual.jsonl" >/dev/null 2>&1
rc=$?
[ $rc = 0 ] || bad "stdin with --incidents: exit $rc, want 0"
# the same bytes but for the file name the evidence gives ("-" for stdin)
sed "s#\"$work/ual.jsonl\"#\"-\"#g" "$work/file/scope.json" >"$work/file.json"
cmp -s "$work/file.json" "$work/pipe/scope.json" ||
  bad "stdin with --incidents: scope.json differs from the file run"
grep -q '"messages":14,' "$work/pipe/scope.json" || bad "stdin with --incidents: not 14 messages"

if [ $fail -gt 0 ]; then
  echo "investigate cli: $fail failures"
  exit 1
fi
echo "investigate cli: all checks passed"

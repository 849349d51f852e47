#!/usr/bin/env bash
# tests/scope/test_crafted.sh -- `mailhound scope` on the crafted case: golden output + CLI contract
#
# tests/data/scope (made by make_data.py; every record's expected fate is in
# its comments) is scoped from inside that folder, so evidence paths are
# relative and stable. The output must equal expected.json byte for byte
# (regenerate only after reviewing a change: see docs/scope.md §8), be the
# same on standard output and with --out, and the command must reject bad
# usage with exit status 1.
set -uo pipefail
MH=${MH:?MH must name the mailhound binary}
SRC=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
case "$MH" in /*) ;; *) MH="$(cd "$(dirname "$MH")" && pwd)/$(basename "$MH")" ;; esac
cd "$SRC/tests/data/scope" || exit 1
work=$(mktemp -d "${TMPDIR:-/tmp}/mh-scope.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
no() { echo "FAIL: $*"; fail=1; }

"$MH" scope --incidents incidents.json --mail mail --trace trace.csv --out "$work/a.json" logs \
  2>"$work/err" || no "scope exited $?"
grep -q '^mailhound: scope: 2 incidents, 4 mailboxes, 14 messages (7 observed, 3 inferred-sync, 4 inferred-throttle), 1 not in the mail store (1 found in the trace)' "$work/err" \
  || { cat "$work/err"; no "summary line"; }
cmp -s "$work/a.json" expected.json || {
  no "output differs from expected.json"
  command -v python3 >/dev/null && python3 - "$work/a.json" expected.json <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for k in sorted(set(a) | set(b)):
    if a.get(k) != b.get(k):
        print("  differs:", k)
PY
}
# the same bytes on standard output; -q prints nothing on standard error
"$MH" scope -q --incidents incidents.json --mail mail --trace trace.csv logs >"$work/b.json" \
  2>"$work/err2" || no "scope to stdout exited $?"
cmp -s "$work/a.json" "$work/b.json" || no "stdout differs from --out"
[ -s "$work/err2" ] && { cat "$work/err2"; no "-q still printed"; }
# one incident, given as --incident=ID
"$MH" scope -q --incidents incidents.json --incident=INC-B --mail mail logs trace.csv \
  >"$work/c.json" || no "--incident INC-B exited $?"
grep -q '"messages":0,' "$work/c.json" || no "INC-B scoped messages"
# usage errors
"$MH" scope --help >/dev/null || no "--help"
for args in "--mail mail logs" "--incidents incidents.json" \
            "--incidents incidents.json --incident NOPE logs" \
            "--incidents incidents.json --before 5x logs" \
            "--incidents incidents.json --bogus logs" \
            "--incidents missing.json logs" \
            "--incidents incidents.json --mail"; do
  # shellcheck disable=SC2086
  "$MH" scope -q $args >/dev/null 2>&1
  rc=$?
  [ $rc -eq 1 ] || no "scope $args: exit $rc, want 1"
done
# a malformed incidents file is reported with its reason
printf '{"incidents":[{"score":1}]}' >"$work/bad.json"
"$MH" scope --incidents "$work/bad.json" logs >/dev/null 2>"$work/err3"
grep -q 'incident without id' "$work/err3" || { cat "$work/err3"; no "bad incidents reason"; }
[ $fail -eq 0 ] && echo "ok: crafted scope case"
exit $fail

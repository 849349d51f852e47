#!/usr/bin/env bash
# tests/golden/test_stats.sh -- `mailhound stats` golden cases (text and --json)
#
# Compares every case (cases.sh) with tests/golden/expected/stats/ byte for
# byte, then checks the JSON's own arithmetic (read = used + skipped, sums of
# sources and operations = used) and the documented options and errors.
set -uo pipefail
: "${MH:?MH must be the mailhound binary}"
GOLDEN=$(cd "$(dirname "$0")" && pwd)
. "$GOLDEN/cases.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=$((fail + 1)); }
pass=0

golden_stats "$work/actual"
for exp in "$GOLDEN"/expected/stats/*; do
  name=$(basename "$exp")
  if cmp -s "$exp" "$work/actual/stats/$name"; then pass=$((pass + 1))
  else bad "stats $name differs:"; diff "$exp" "$work/actual/stats/$name" | head -20 >&2; fi
done
[ "$(ls "$GOLDEN/expected/stats" | wc -l)" = "$(ls "$work/actual/stats" | wc -l)" ] &&
  pass=$((pass + 1)) || bad "expected/stats and the cases disagree (run update.sh)"

if command -v python3 >/dev/null; then
  if python3 - "$work"/actual/stats/*.json <<'PY'; then pass=$((pass + 1)); else bad "stats --json arithmetic"; fi
import json, sys
for path in sys.argv[1:]:
    o = json.load(open(path))
    r = o["records"]
    assert r["read"] == r["used"] + r["skipped"], path
    assert sum(o["sources"].values()) == r["used"], path
    assert sum(o["operations"].values()) == r["used"], path
    assert o["time"]["without"] >= o["time"]["unparseable"], path
    counts = list(o["operations"].items())
    assert counts == sorted(counts, key=lambda kv: (-kv[1], kv[0].encode())), path
print(len(sys.argv) - 1, "JSON summaries checked")
PY
fi

cd "$GOLDEN"
"$MH" stats -q inputs >/dev/null 2>"$work/e"
grep -q "warning" "$work/e" && bad "stats -q printed warnings" || pass=$((pass + 1))
for args in "" "--bogus inputs" ; do
  # shellcheck disable=SC2086
  "$MH" stats $args >/dev/null 2>"$work/e"; rc=$?
  [ $rc = 1 ] && grep -q "mailhound: error" "$work/e" && pass=$((pass + 1)) || bad "stats $args: exit $rc"
done
"$MH" stats --json inputs/nonexistent.json inputs/trace_v2.csv >"$work/o" 2>"$work/e"; rc=$?
[ $rc = 1 ] && grep -q '"failed":1' "$work/o" && pass=$((pass + 1)) || bad "missing file: exit $rc"
"$MH" stats --help >"$work/h" && grep -q "Exit status" "$work/h" && pass=$((pass + 1)) || bad "stats --help"

echo "golden stats: $pass passed, $fail failed"
[ $fail = 0 ]

#!/usr/bin/env bash
# tests/golden/test_cat.sh -- `mailhound cat` golden cases and output invariants
#
# Compares the output of every case (cases.sh) with tests/golden/expected/cat/
# byte for byte, then checks what a golden file cannot: a folder, the same
# folder gzipped and stdin give the same events, every line is one JSON
# object, options and errors behave as documented. Regenerate with update.sh.
set -uo pipefail
: "${MH:?MH must be the mailhound binary}"
GOLDEN=$(cd "$(dirname "$0")" && pwd)
. "$GOLDEN/cases.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=$((fail + 1)); }
pass=0

golden_cat "$work/actual"
for f in $(golden_inputs); do
  for ext in out err; do
    exp="$GOLDEN/expected/cat/$f.$ext"
    if [ ! -f "$exp" ]; then bad "missing expectation $exp (run update.sh)"; continue; fi
    if cmp -s "$exp" "$work/actual/cat/$f.$ext"; then pass=$((pass + 1))
    else bad "cat $f ($ext) differs:"; diff "$exp" "$work/actual/cat/$f.$ext" | head -20 >&2; fi
  done
done

cd "$GOLDEN"
# determinism and folder reading: the folder gives the files' events in name order, byte-identical
for f in $(golden_inputs); do cat "$work/actual/cat/$f.out"; done >"$work/concat"
"$MH" cat inputs >"$work/folder" 2>/dev/null
cmp -s "$work/folder" "$work/concat" && pass=$((pass + 1)) || bad "cat of the folder differs from the files' outputs"
# compression is transparent: the same folder gzipped gives the same events
mkdir -p "$work/gz/inputs"
for f in $(golden_inputs); do gzip -c "inputs/$f" >"$work/gz/inputs/$f"; done
(cd "$work/gz" && "$MH" cat inputs) >"$work/gzout" 2>/dev/null
cmp -s "$work/gzout" "$work/concat" && pass=$((pass + 1)) || bad "cat of the gzipped folder differs"
# standard input: same events, only the file name differs
strip_file() { sed -E 's/^\{"source":"([^"]*)","format":"([^"]*)","file":"[^"]*"/{"source":"\1","format":"\2","file":"-"/'; }
gzip -c inputs/ual.jsonl | "$MH" cat - 2>/dev/null | strip_file >"$work/stdin"
strip_file <"$work/actual/cat/ual.jsonl.out" | cmp -s - "$work/stdin" && pass=$((pass + 1)) || bad "cat - differs"

# every line is one JSON object with the contract's keys in order
if command -v python3 >/dev/null; then
  if cat "$work"/actual/cat/*.out | python3 -c '
import json, sys
keys = ["source", "format", "file", "record", "line", "offset", "time", "entities", "fields"]
n = 0
for line in sys.stdin:
    o = json.loads(line)
    assert list(o)[:9] == keys, list(o)
    assert set(list(o)[9:]) <= {"wrapper", "time_error"}, list(o)
    assert isinstance(o["fields"], dict) and isinstance(o["entities"], dict)
    n += 1
assert n > 0
print(n, "lines checked")'; then pass=$((pass + 1)); else bad "cat output is not the documented JSON"; fi
fi

# options and errors
n=$("$MH" cat --limit 2 inputs/ual.jsonl 2>/dev/null | wc -l)
[ "$n" = 2 ] && pass=$((pass + 1)) || bad "--limit 2 printed $n lines"
"$MH" cat --format jsonl inputs/trace_v2.csv >/dev/null 2>&1 && pass=$((pass + 1)) || bad "--format jsonl"
"$MH" cat -q inputs/ual.jsonl 2>"$work/q" >/dev/null
grep -q "records read" "$work/q" && bad "-q still prints the summary" || pass=$((pass + 1))
grep -q "trailing comma" "$work/q" && pass=$((pass + 1)) || bad "-q hides warnings"
for args in "" "--format csv inputs/ual.jsonl" "--bogus inputs/ual.jsonl" "--limit x inputs/ual.jsonl"; do
  # shellcheck disable=SC2086
  "$MH" cat $args >/dev/null 2>"$work/e"; rc=$?
  [ $rc = 1 ] && grep -q "mailhound: error" "$work/e" && pass=$((pass + 1)) || bad "cat $args: exit $rc"
done
"$MH" cat inputs/nonexistent.json inputs/trace_v2.csv >"$work/o" 2>"$work/e"; rc=$?
[ $rc = 1 ] && pass=$((pass + 1)) || bad "missing file: exit $rc (want 1)"
[ "$(wc -l <"$work/o")" = 2 ] && pass=$((pass + 1)) || bad "missing file: the other file was not read"
grep -q "nonexistent.json" "$work/e" && pass=$((pass + 1)) || bad "missing file not named"
"$MH" cat --help >"$work/h" && grep -q "Exit status" "$work/h" && pass=$((pass + 1)) || bad "cat --help"

echo "golden cat: $pass passed, $fail failed"
[ $fail = 0 ]

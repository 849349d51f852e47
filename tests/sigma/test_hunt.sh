#!/usr/bin/env bash
# tests/sigma/test_hunt.sh -- `mailhound hunt` end to end on the project's own data:
# golden output (jsonl, csv), byte-identical for -j 1 / -j 4 / the reference
# matcher, exit codes, --min-level, --from/--to, bad records reported once.
set -uo pipefail
: "${MH:?set MH to the mailhound binary}" "${MH_SRC:?}"
cd "$MH_SRC"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
R=tests/data/sigma/rules_spray.yml
# the Sigma engine alone: not the built-in pack, not the stateful detectors
H="--no-builtin --no-detectors"
IN=tests/data/sigma/ual_spray.jsonl

"$MH" hunt -j 1 $H -r $R --format jsonl $IN >"$t/j1" 2>"$t/e1"; rc=$?
[ $rc -eq 0 ] || bad "exit $rc without --fail-on-alert"
cmp -s "$t/j1" tests/sigma/golden/spray.jsonl || { bad "jsonl differs from golden"; diff "$t/j1" tests/sigma/golden/spray.jsonl | head; }
"$MH" hunt -j 4 $H -r $R --format jsonl $IN >"$t/j4" 2>"$t/e4"
cmp -s "$t/j1" "$t/j4" || bad "-j 4 output differs from -j 1"
cmp -s "$t/e1" "$t/e4" || bad "-j 4 diagnostics differ from -j 1"
"$MH" hunt -j 3 --reference $H -r $R --format jsonl $IN >"$t/ref" 2>/dev/null
cmp -s "$t/j1" "$t/ref" || bad "reference matcher output differs"
"$MH" hunt -j 2 $H -r $R --format csv $IN >"$t/csv" 2>/dev/null
cmp -s "$t/csv" tests/sigma/golden/spray.csv || bad "csv differs from golden"
# every problem reported once, with file, line, record and byte
[ "$(grep -c 'skipped: tests/data/sigma/ual_spray.jsonl:4: record 4, byte 759' "$t/e1")" = 1 ] || bad "malformed record not reported once"
[ "$(grep -c "unparseable time in 'CreationTime'" "$t/e1")" = 1 ] || bad "bad time not reported once"
# one spelling for every option: attached short values and --name=value
"$MH" hunt -j1 $H -r$R --format=jsonl $IN >"$t/attached" 2>/dev/null
cmp -s "$t/j1" "$t/attached" || bad "-j1 -rRULES --format=jsonl differ from -j 1 -r RULES --format jsonl"
"$MH" hunt -j 1 $H -r $R --format jsonl -o"$t/o1" $IN 2>/dev/null
cmp -s "$t/j1" "$t/o1" || bad "-oFILE did not write the alerts"
"$MH" hunt -q $H -r $R -j0 $IN >/dev/null 2>&1; [ $? -eq 1 ] || bad "-j0 not exit 1"
# a -- ends the options: a path that looks like --name=value stays one word
mkdir -p "$t/d" && cp $IN "$t/d/--x=y.jsonl"
(cd "$t/d" && "$MH" hunt -j 1 $H -r "$MH_SRC/$R" --format jsonl -- --x=y.jsonl) >"$t/dd" 2>/dev/null
[ "$(wc -l <"$t/dd")" = "$(wc -l <"$t/j1")" ] || bad "path after -- was split"
# the Graph activity route (product azure, service graphactivitylogs): both the
# Log Analytics row and the Azure Monitor record, never the sign-ins around them
G=tests/data/detect
"$MH" hunt -q -j 1 $H -r tests/data/sigma/rules_graph.yml --format jsonl $G/d14g_pos/input.jsonl \
  $G/d14g_neg/input.jsonl >"$t/graph" 2>/dev/null
got=$(sed -E 's/.*"file":"[^"]*\/(d14g_[a-z]+)\/input.jsonl","record":([0-9]+).*/\1:\2/' "$t/graph" | tr '\n' ' ')
[ "$got" = "d14g_pos:76 d14g_neg:77 " ] || bad "graph activity route: alerts at '$got', want d14g_pos:76 d14g_neg:77"
# diagnostics in input order whatever the thread count: a file of several
# batches with reader-level bad records (not objects) and normalizer-level ones
# (AuditData that is not JSON); the default run parses every record
awk 'BEGIN { for (i = 1; i <= 30000; i++) {
  if (i % 1000 == 500) print "42";
  else if (i % 1000 == 700) print "{\"AuditData\":\"{bad\",\"CreationDate\":\"2024-01-12T09:21:00\"}";
  else printf "{\"CreationTime\":\"2024-01-12T09:%02d:00\",\"Operation\":\"Send\",\"RecordType\":2,\"UserId\":\"u%d@x.example\",\"Pad\":\"%s\"}\n", i % 60, i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" } }' >"$t/mixed.jsonl"
"$MH" hunt -j 1 --format jsonl "$t/mixed.jsonl" 2>"$t/m1" >/dev/null
[ "$(grep -c 'skipped: ' "$t/m1")" = 60 ] || bad "mixed bad records: $(grep -c 'skipped: ' "$t/m1") reported, want 60"
sed -nE 's/.*: record ([0-9]+),.*/\1/p' "$t/m1" | sort -n -c 2>/dev/null || bad "diagnostics not in input order"
for j in 2 4; do
  for k in 1 2 3; do
    "$MH" hunt -j $j --format jsonl "$t/mixed.jsonl" 2>"$t/mj" >/dev/null
    cmp -s "$t/m1" "$t/mj" || { bad "-j $j diagnostics differ from -j 1 (run $k)"; break 2; }
  done
done
# --fail-on-alert
"$MH" hunt -q $H -r $R --fail-on-alert $IN >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || bad "--fail-on-alert with alerts: exit $rc, want 2"
"$MH" hunt -q $H -r $R --fail-on-alert --from 2025-01-01T00:00:00Z $IN >"$t/none" 2>&1; rc=$?
[ $rc -eq 0 ] || bad "--fail-on-alert without alerts: exit $rc, want 0"
[ ! -s "$t/none" ] || bad "--from after every event still printed alerts"
# --min-level keeps only the critical correlation
n=$("$MH" hunt -q $H -r $R --min-level high --format jsonl $IN 2>/dev/null | wc -l)
[ "$n" = 1 ] || bad "--min-level high: $n alerts, want 1"
# --to before the inbox rule drops it but keeps the correlation
n=$("$MH" hunt -q $H -r $R --to 2024-03-05T10:11:00Z --format jsonl $IN 2>/dev/null | grep -c 'Inbox rule')
[ "$n" = 0 ] || bad "--to did not drop the later event"
# usage errors
"$MH" hunt $H -r $R --format xml $IN >/dev/null 2>&1; [ $? -eq 1 ] || bad "bad --format not exit 1"
"$MH" hunt -r /nonexistent/rules $IN >/dev/null 2>&1; [ $? -eq 1 ] || bad "missing rules not exit 1"
"$MH" hunt $H -r $R >/dev/null 2>&1; [ $? -eq 1 ] || bad "no PATH not exit 1"
# stdin
"$MH" hunt -q -j 1 $H -r $R --format jsonl - <$IN >"$t/stdin" 2>/dev/null
[ "$(wc -l <"$t/stdin")" = 2 ] || bad "stdin input"
# --stats
# (stderr captured first: `| grep -q` would close the pipe early and, under
# pipefail, turn hunt's SIGPIPE on its next stats line into a false failure)
stats_err=$("$MH" hunt -q $H -r $R --stats $IN 2>&1 >/dev/null)
grep -q 'never parsed: no candidate rule' <<<"$stats_err" || bad "--stats line"
# `rules explain`: the fields, the chosen prefilter literal, the cost line. Under
# AND one literal suffices and the rarer-looking one is chosen: the 36-byte
# application GUID, not the operation name every sign-in record carries (a
# 12-byte value; lengths counted up to 16 bytes, docs/sigma.md §9).
cat >"$t/explain.yml" <<'YML'
title: Explain probe
id: 6f1d7a40-0a5e-4c61-9a55-4d2f3a1e0b01
logsource: {product: m365, service: audit}
detection:
  selection:
    Operation: UserLoggedIn
    ApplicationId: 9ba1a5c7-f17a-4de9-a1f1-6178c8d51223
  either:
    - Workload|contains: exchange
    - ClientIP|startswith: '10.'
  condition: selection or either
level: low
YML
ex=$("$MH" rules explain "$t/explain.yml" 2>&1); rc=$?
[ $rc -eq 0 ] || bad "rules explain exit $rc"
grep -q '^  fields used' <<<"$ex" || bad "explain: no fields used"
grep -q 'Operation -> Operation' <<<"$ex" || bad "explain: Operation path"
grep -qF 'prefilter literals (one must occur in the raw record): "9ba1a5c7-f17a-4de9-a1f1-6178c8d51223"/i "exchange"/i "10."/i' <<<"$ex" \
  || bad "explain: prefilter literals: $(grep prefilter <<<"$ex")"
grep -q '^  cost: ' <<<"$ex" || bad "explain: no cost line"
[ $fail -eq 0 ] && echo "hunt: all checks passed"
exit $fail

#!/usr/bin/env bash
# tests/golden/test_not_logs.sh -- a folder with stray files: cat, stats, hunt and scope agree
#
# The reader decides (ingest/reader.h, "Not a log"): a file met inside a
# folder that is neither JSON nor a CSV with a header row (a README, a
# binary, a note in a subfolder) is skipped with one warning naming it and
# counted as "not a log"; the same file named on the command line is an
# error (exit 1). For each of the four commands that read logs, the output
# on the folder with the stray files must be byte-identical to the output on
# the clean folder, the exit status 0, and standard error must name each
# stray file exactly once.
set -uo pipefail
: "${MH:?MH must be the mailhound binary}"
SRC=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
case "$MH" in /*) ;; *) MH="$(cd "$(dirname "$MH")" && pwd)/$(basename "$MH")" ;; esac
work=$(mktemp -d "${TMPDIR:-/tmp}/mh-notlogs.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
pass=0
bad() { echo "FAIL: $*" >&2; fail=$((fail + 1)); }
ok() { pass=$((pass + 1)); }

cp -R "$SRC/tests/data/scope/logs" "$work/logs"
cp "$SRC/tests/data/scope/incidents.json" "$work/incidents.json"
cd "$work" || exit 1

# command NAME -> its arguments before the folder
args() {
  case $1 in
    cat) echo "cat" ;;
    stats) echo "stats --json" ;;
    hunt) echo "hunt --format jsonl" ;;
    scope) echo "scope --incidents incidents.json" ;;
  esac
}
cmds="cat stats hunt scope"

# 1. the clean folder
for c in $cmds; do
  # shellcheck disable=SC2046
  "$MH" $(args $c) logs >"clean.$c.out" 2>"clean.$c.err"
  rc=$?
  [ $rc = 0 ] && ok || bad "$c on the clean folder: exit $rc: $(head -3 "clean.$c.err")"
done

# 2. the same folder with stray files: a README, a binary, a note one level down
printf '# Exports\nUAL and Purview exports of 2024-03, see the ticket.\n' >logs/README.md
head -c 4096 "$MH" >logs/blob.bin
mkdir logs/notes
printf 'called the user at 10:40; she did not create the rule\n' >logs/notes/call.txt
strays="logs/README.md logs/blob.bin logs/notes/call.txt"
for c in $cmds; do
  # shellcheck disable=SC2046
  "$MH" $(args $c) logs >"stray.$c.out" 2>"stray.$c.err"
  rc=$?
  [ $rc = 0 ] && ok || bad "$c with stray files: exit $rc, want 0: $(head -3 "stray.$c.err")"
  if [ $c = stats ]; then
    # the counts differ by the stray files only (and the bytes they held)
    grep -qF '"files":{"read":5,"failed":0,"not_logs":3}' stray.stats.out && ok ||
      bad "stats: files $(head -c 80 stray.stats.out)"
    sed 's/"files":{[^}]*},"bytes":{[^}]*}//' clean.stats.out >a
    sed 's/"files":{[^}]*},"bytes":{[^}]*}//' stray.stats.out >b
    cmp -s a b && ok || bad "stats: the rest of the counts differ"
  else
    cmp -s "clean.$c.out" "stray.$c.out" && ok || bad "$c: output differs with stray files"
  fi
  n=$(grep -c '^mailhound: warning: not a log file, skipped: ' "stray.$c.err")
  [ "$n" = 3 ] && ok || bad "$c: $n not-a-log warnings, want 3: $(cat "stray.$c.err")"
  for f in $strays; do
    [ "$(grep -cF "skipped: $f" "stray.$c.err")" = 1 ] && ok || bad "$c: $f not named once"
  done
  grep -q 'mailhound: error' "stray.$c.err" && bad "$c: an error for a stray file" || ok
done
# stats says it in the table too; cat in its summary line
"$MH" stats logs 2>/dev/null | grep -q '^files      5 read, 0 failed, 3 not logs (skipped)$' && ok ||
  bad "stats table: no not-logs count"
grep -q '5 files read, 0 failed, 3 not logs;' stray.cat.err && ok || bad "cat summary: $(tail -1 stray.cat.err)"
# -q: the warnings go (still counted), the output stays
"$MH" stats -q --json logs >q.out 2>q.err
[ $? = 0 ] && [ ! -s q.err ] && cmp -s q.out stray.stats.out && ok || bad "stats -q: $(cat q.err)"

# 3. a stray file named on the command line is an error, for every command
for c in $cmds; do
  # shellcheck disable=SC2046
  "$MH" $(args $c) logs/README.md >/dev/null 2>named.err
  rc=$?
  [ $rc = 1 ] && ok || bad "$c README.md named: exit $rc, want 1"
  grep -q '^mailhound: error: logs/README.md: .*unrecognised format' named.err && ok ||
    bad "$c README.md named: $(cat named.err)"
done

echo "not-logs: $pass passed, $fail failed"
[ $fail = 0 ]

#!/usr/bin/env bash
# tests/investigate/test_cli.sh -- investigate's command line and summary.md
# on the small crafted case (tests/data/scope): quick, no simulated tenant.
#
# 1. LOGS from standard input: refused when hunt and scope would both read
#    it (the second read would be empty: nothing scoped, exit 0); accepted
#    with --incidents (scope alone reads it) and then equal to the file run.
# 2. -q: warnings silenced, what they were about still counted in summary.md.
# 3. without -q, a problem of LOGS is reported once, not by hunt and scope.
# 4. --incidents may name DIR/incidents.json (edited in place).
# 5. a rerun that stops early leaves none of the earlier run's outputs.
# 6. the incidents table gives times in whole seconds.
# 7. packages cite evidence by the file's name below the input, never by
#    where our logs lie (they go to other organisations).
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
# the same bytes but for the file name and key the evidence gives ("-" for stdin)
sed "s#\"$work/ual.jsonl\"#\"-\"#g; s#\"file_key\":\"ual.jsonl\"#\"file_key\":\"-\"#g" "$work/file/scope.json" >"$work/file.json"
cmp -s "$work/file.json" "$work/pipe/scope.json" ||
  bad "stdin with --incidents: scope.json differs from the file run"
# 7. the file run named its logs by absolute path: no package may repeat it
csvs=$(find "$work/file/packages" -name messages.csv | wc -l)
[ "$csvs" -gt 0 ] || bad "the file run wrote no package"
grep -rl -- "$work" "$work/file/packages" >/dev/null 2>&1 && bad "a package names the logs' location ($work)"
grep -rhq 'ual\.jsonl:[0-9]' "$work/file/packages" --include=messages.csv ||
  bad "messages.csv evidence does not cite ual.jsonl:RECORD"
grep -q '"messages":14,' "$work/pipe/scope.json" || bad "stdin with --incidents: not 14 messages"

# 2. -q silences the warnings, summary.md still counts what they were about:
#    a file in the log folder that is not a log, and an in-context Bind whose
#    Folders is broken JSON text (record 1 of the crafted UAL, its own Id)
cp -R "$D/logs" "$work/logs"
printf '# exports of 2024-01\n' >"$work/logs/README.md"
first=$(head -n 1 "$work/logs/ual.jsonl")
prefix=${first%%\"Folders\":*}
printf '%s"Folders":"[{\\"Path\\":"}\n' "${prefix/00000001-aaaa/000000f1-aaaa}" >>"$work/logs/ual.jsonl"
"$MH" investigate -q "$work/logs" --mail "$D/mail" --incidents "$D/incidents.json" \
  --min-level low --out "$work/quiet" >/dev/null 2>"$work/e"
rc=$?
[ $rc = 0 ] || bad "-q with stray file and bad Folders: exit $rc, want 0"
grep -q "warning" "$work/e" && bad "-q: a warning was printed: $(head -2 "$work/e")"
grep -qx -- "- 1 files in a log folder are not logs (skipped)" "$work/quiet/summary.md" ||
  bad "summary.md does not count the file that is not a log"
grep -q -- "^- 1 candidate mailbox records whose Folders text does not parse" \
  "$work/quiet/summary.md" || bad "summary.md does not count the unparseable Folders"
grep -q '"bad_folders":1' "$work/quiet/scope.json" || bad "scope.json: bad_folders is not 1"

# 3. hunt and scope both read LOGS: each problem is still reported once
"$MH" investigate "$work/logs" --mail "$D/mail" --out "$work/loud" >/dev/null 2>"$work/e"
n=$(grep -c "not a log file, skipped: $work/logs/README.md" "$work/e")
[ "$n" = 1 ] || bad "hunted run: the file that is not a log reported $n times, want 1"
grep -qx -- "- 1 files in a log folder are not logs (skipped)" "$work/loud/summary.md" ||
  bad "hunted run: summary.md does not count the file that is not a log"

# 4. --incidents DIR/incidents.json --out DIR: the analyst edited the file in
#    place; it is the input, not an old output to clear away
mkdir -p "$work/inplace"
cp "$D/incidents.json" "$work/inplace/incidents.json"
"$MH" investigate -q "$D/logs" --mail "$D/mail" --incidents "$work/inplace/incidents.json" \
  --min-level low --out "$work/inplace" >/dev/null 2>"$work/e"
rc=$?
[ $rc = 0 ] || bad "--incidents DIR/incidents.json: exit $rc, want 0: $(head -2 "$work/e")"
cmp -s "$D/incidents.json" "$work/inplace/incidents.json" ||
  bad "--incidents DIR/incidents.json: the file was not kept as it was"
[ -s "$work/inplace/summary.md" ] || bad "--incidents DIR/incidents.json: no summary.md"

# 5. a rerun into the same DIR that stops early leaves no output of the
#    earlier run to pass for its own (scope stops: no such incident)
"$MH" investigate -q "$D/logs" --mail "$D/mail" --incidents "$work/inplace/incidents.json" \
  --incident INC-NONE --out "$work/inplace" >/dev/null 2>"$work/e"
rc=$?
[ $rc = 1 ] || bad "--incident INC-NONE: exit $rc, want 1"
for f in scope.json secrets.jsonl summary.md; do
  [ -e "$work/inplace/$f" ] && bad "--incident INC-NONE: the earlier run's $f is still there"
done

# 6. the incidents table shows whole seconds, as hunt's does, also for a time
#    with a fraction (it was cut after 20 characters: "...09:00:00.")
sed 's/"first_seen": "2024-01-10T09:00:00Z"/"first_seen": "2024-01-10T09:00:00.123456Z"/' \
  "$D/incidents.json" >"$work/frac.json"
"$MH" investigate -q "$D/logs" --mail "$D/mail" --incidents "$work/frac.json" --min-level low \
  --out "$work/frac" >/dev/null 2>&1
grep -q "^INC-A .* 2024-01-10T09:00:00Z  " "$work/frac/summary.md" ||
  bad "fractional first_seen not shown in whole seconds: $(grep '^INC-A' "$work/frac/summary.md")"

if [ $fail -gt 0 ]; then
  echo "investigate cli: $fail failures"
  exit 1
fi
echo "investigate cli: all checks passed"

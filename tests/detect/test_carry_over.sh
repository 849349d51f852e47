#!/usr/bin/env bash
# tests/detect/test_carry_over.sh -- Sigma correlation windows continue across runs (--state)
#
# A daily export cut in the middle of a password spray: with --state, the run
# over the second half must report the spray correlations exactly as one run
# over both halves does (same rule, time, count and contributing events, the
# first half's events named by their own file), the first half alone
# nothing; rerunning the second half over the state it wrote gives the same
# alerts again (its own hits supersede their carried copies: nothing counted
# twice). Without --state the second half alone misses the spray.
# The built-in D1 detector (mh.d1.spray_success, spray.c) over the same cut:
# the second run reports the spray + success as one run over both halves does
# (same level, time, user and fields; the evidence is the success's record in
# the second half), the first half alone nothing; rerunning either half over
# the state gives its first answer again; a next export with a later success
# from the same address does not report the spray a second time.
# A simulated tenant cut in two (days 1-7 / 8-14 of its per-day files) gives
# with --state the same correlation alerts as one run over all of it.
# Input: the golden case d01_ual_pos (6 accounts fail from one address, then
# a success) and `mailhound simulate` (2 tenants of 80 users, 14 days).
set -uo pipefail
: "${MH:?MH must name the mailhound binary}" "${MH_SRC:?MH_SRC must name the source tree}"
case $MH in /*) ;; *) MH=$PWD/$MH ;; esac
export MAILHOUND_DATA="$MH_SRC"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# correlation alerts as "rule time count events" lines (events by file base
# name and record); with CUT=N, both.jsonl's records are renamed as the halves
# they were cut into (1..N -> day1.jsonl, the rest -> day2.jsonl from 1)
corr() {
  CUT=${CUT:-0} python3 - "$@" <<'EOF'
import json, os, sys
cut = int(os.environ["CUT"])
def name(e):
    f, r = e["file"].rsplit("/", 1)[-1], e["record"]
    if cut and f == "both.jsonl":
        f, r = ("day1.jsonl", r) if r <= cut else ("day2.jsonl", r - cut)
    return "%s#%s" % (f, r)
out = []
for f in sys.argv[1:]:
    for line in open(f):
        a = json.loads(line)
        c = a.get("correlation")
        if c:
            out.append("%s %s %s %s" % (a["rule_id"], a["time"], c["count"], ",".join(map(name, c["events"]))))
print("\n".join(sorted(out)))
EOF
}

# built-in D1 detections as "rule level time user fields evidence" lines
# (evidence renamed as in corr)
d1() {
  CUT=${CUT:-0} python3 - "$@" <<'EOF'
import json, os, sys
cut = int(os.environ["CUT"])
out = []
for f in sys.argv[1:]:
    for line in open(f):
        a = json.loads(line)
        if not a["rule_id"].startswith("mh.d1."):
            continue
        s = a["source"]
        fn, r = s["file"].rsplit("/", 1)[-1], s["record"]
        if cut and fn == "both.jsonl":
            fn, r = ("day1.jsonl", r) if r <= cut else ("day2.jsonl", r - cut)
        out.append("%s %s %s %s %s %s#%s" % (a["rule_id"], a["level"], a["time"], a["entities"]["user"],
                                              json.dumps(a["fields"], sort_keys=True), fn, r))
print("\n".join(sorted(out)))
EOF
}

cd "$tmp" || exit 1
in=$MH_SRC/tests/data/detect/d01_ual_pos/input.jsonl
[ -s "$in" ] || { echo "FAIL: $in missing"; exit 1; }
head -n 4 "$in" >day1.jsonl
tail -n +5 "$in" >day2.jsonl
cat day1.jsonl day2.jsonl >both.jsonl
"$MH" hunt -q --format jsonl -o one.jsonl both.jsonl || bad "hunt both"
"$MH" hunt -q --format jsonl --state case.db -o r1.jsonl day1.jsonl || bad "hunt day1"
"$MH" hunt -q --format jsonl --state case.db -o r2.jsonl day2.jsonl 2>/dev/null || bad "hunt day2"
"$MH" hunt -q --format jsonl --state case.db -o r2again.jsonl day2.jsonl || bad "hunt day2 again"
"$MH" hunt -q --format jsonl -o alone.jsonl day2.jsonl || bad "hunt day2 alone"
w=$(CUT=4 corr one.jsonl)
n=$(echo "$w" | grep -c .)
[ "$n" -ge 2 ] || bad "one run over both halves: $n correlation alerts, want >= 2"
[ -z "$(corr r1.jsonl)" ] || bad "the first half alone reports a correlation"
g=$(corr r2.jsonl)
[ "$w" = "$g" ] || { bad "split runs differ from one run"; printf 'one run:\n%s\nsplit:\n%s\n' "$w" "$g"; }
echo "$g" | grep -q 'day1\.jsonl#1' || bad "the second run's spray does not cite the first half's events"
cmp -s r2.jsonl r2again.jsonl || bad "rerunning the second half over its own state changed its alerts"
[ "$(corr alone.jsonl | grep -c .)" -lt "$n" ] ||
  bad "the second half alone reports every correlation: the case does not test the carry-over"

# the built-in D1 over the same cut
d1w=$(CUT=4 d1 one.jsonl)
[ "$(echo "$d1w" | grep -c 'mh\.d1\.spray_success high')" -eq 1 ] ||
  bad "one run over both halves: want one mh.d1.spray_success (high), got: $d1w"
[ -z "$(d1 r1.jsonl)" ] || bad "D1: the first half alone reports the spray + success"
d1g=$(d1 r2.jsonl)
[ "$d1w" = "$d1g" ] || { bad "D1: split runs differ from one run"; printf 'one run:\n%s\nsplit:\n%s\n' "$d1w" "$d1g"; }
[ -z "$(d1 alone.jsonl)" ] || bad "D1: the second half alone reports the spray: the case does not test the state"
"$MH" hunt -q --format jsonl --state case.db -o r1again.jsonl day1.jsonl 2>/dev/null || bad "hunt day1 again"
[ -z "$(d1 r1again.jsonl)" ] || bad "D1: rerunning the first half over the state reports the spray"
"$MH" hunt -q --format jsonl --state case.db -o r2third.jsonl day2.jsonl 2>/dev/null || bad "hunt day2 a third time"
[ "$(d1 r2third.jsonl)" = "$d1g" ] || bad "D1: rerunning the second half after the first changed its detection"
# the next day's export: the same account signs in again from the spraying address
python3 - "$in" >day3.jsonl <<'EOF'
import json, sys
a = json.loads(open(sys.argv[1]).read().splitlines()[-1])
a["CreationTime"] = a["CreationTime"].replace("2026-01-05", "2026-01-06")
a["Id"] = a["Id"][:-1] + "f"
print(json.dumps(a))
EOF
grep -q '2026-01-06' day3.jsonl || bad "day3.jsonl: the success was not moved to the next day"
"$MH" hunt -q --format jsonl --state case.db -o r3.jsonl day3.jsonl 2>/dev/null || bad "hunt day3"
[ -z "$(d1 r3.jsonl)" ] || bad "D1: the next export reports the spray a second time: $(d1 r3.jsonl)"
cat day1.jsonl day2.jsonl day3.jsonl >all3.jsonl
"$MH" hunt -q --format jsonl -o one3.jsonl all3.jsonl || bad "hunt all3"
[ "$(d1 one3.jsonl | grep -c .)" -eq 1 ] || bad "D1: one run over the three exports: want one detection"

# a simulated tenant cut in two
"$MH" simulate --out sim --seed 3 --users 80 --days 14 --scenario all 2>/dev/null || { echo "FAIL: simulate"; exit 1; }
mkdir -p all p1 p2
cutday=$(ls sim/logs/ual | grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}' | sort -u | sed -n 8p)
[ -n "$cutday" ] || { echo "FAIL: fewer than 8 days simulated"; exit 1; }
for f in sim/logs/signin/* sim/logs/ual/*; do
  sub=$(basename "$(dirname "$f")")
  day=$(basename "$f" | grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}' | head -1)
  [ -n "$day" ] || continue
  mkdir -p "all/$sub" "p1/$sub" "p2/$sub"
  ln -s "$PWD/$f" "all/$sub/"
  if [[ "$day" < "$cutday" ]]; then
    ln -s "$PWD/$f" "p1/$sub/"
  else
    ln -s "$PWD/$f" "p2/$sub/"
  fi
done
"$MH" hunt -q -j 2 --format jsonl -o all.jsonl all || bad "hunt all"
"$MH" hunt -q -j 2 --format jsonl --state sim.db -o p1.jsonl p1 || bad "hunt p1"
"$MH" hunt -q -j 2 --format jsonl --state sim.db -o p2.jsonl p2 || bad "hunt p2"
ca=$(corr all.jsonl)
cs=$(corr p1.jsonl p2.jsonl)
[ -n "$ca" ] || bad "the simulated tenant gives no correlation alert"
[ "$ca" = "$cs" ] || { bad "simulated tenant: split runs differ from one run"; diff <(echo "$ca") <(echo "$cs") | head -10; }
echo "carry-over: $n correlation alerts and $(echo "$d1w" | grep -c .) D1 detection over the cut spray, $(echo "$ca" | grep -c .) correlation alerts on the simulated tenant, same in split runs"
exit $fail

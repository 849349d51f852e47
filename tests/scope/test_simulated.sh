#!/usr/bin/env bash
# tests/scope/test_simulated.sh -- scope on a simulated tenant vs. its truth.json
#
# Simulates a small tenant with both attacks, builds incidents.json from the
# truth's compromised entities (users, apps, IPs; window = first..last of the
# attack steps, one incident per scenario run), runs `mailhound scope`, and
# compares the exfiltrated message ids with truth.json "exfiltrated":
# exactly, for every seed in MH_SCOPE_SEEDS (default "1 2"). Prints precision
# and recall when they differ, with the first differences.
# Exit 77 (skipped) while `mailhound simulate` is unavailable.
set -uo pipefail
MH=${MH:?MH must name the mailhound binary}
src=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v python3 >/dev/null || { echo "python3 missing: skipped"; exit 77; }
if ! "$MH" simulate --help >/dev/null 2>&1; then
  echo "mailhound simulate unavailable: skipped"; exit 77
fi
. "$src/tests/notify/simscope.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/mh-scope-sim.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
for seed in ${MH_SCOPE_SEEDS:-1 2}; do
  dir="$work/s$seed"
  sim_scope "$dir" "$seed" || { echo "FAIL: simulate/scope seed $seed"; fail=1; continue; }
  python3 - "$dir/truth.json" "$dir/scope.json" "$seed" <<'PY' || fail=1
import json, sys
truth = set(json.load(open(sys.argv[1]))["exfiltrated"])
scope = json.load(open(sys.argv[2]))
got, synthetic = set(), 0
for mb in scope["mailboxes"]:
    for m in mb["messages"]:
        # truth can only list messages that have a Message-ID
        if m.get("synthetic_id"):
            synthetic += 1
            continue
        got.add(m["message_id"])
tp = len(truth & got)
prec = tp / len(got) if got else 1.0
rec = tp / len(truth) if truth else 1.0
seed = sys.argv[3]
print("seed %s: truth %d, scoped %d, precision %.4f, recall %.4f (%d without Message-ID left out)"
      % (seed, len(truth), len(got), prec, rec, synthetic))
if not truth:
    print("FAIL: truth lists no exfiltrated message (nothing tested)")
    sys.exit(1)
if got != truth:
    for x in sorted(got - truth)[:10]:
        print("  extra:  ", x)
    for x in sorted(truth - got)[:10]:
        print("  missing:", x)
    sys.exit(1)
PY
done
[ $fail -eq 0 ] && echo "ok: scope equals truth"
exit $fail

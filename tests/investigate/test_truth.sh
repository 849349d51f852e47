#!/usr/bin/env bash
# tests/investigate/test_truth.sh -- investigate's scope -> secrets -> notify
# against truth.json, with the truth's incidents
#
# For each seed: simulate both attacks; build incidents.json from truth.json
# "compromised" (users, apps, IPs; window = first..last attack step) -- the
# analyst's path, `investigate --incidents FILE`, which skips hunt; then:
#  - the organisations notified and their message ids == truth "notify",
#  - the secrets found in exfiltrated messages == truth "secrets",
#  - every package: its organisation is a party of each message, no Bcc header,
#  - a rerun into a fresh DIR, and a rerun into the same DIR, give identical bytes.
# This isolates the pipeline from hunt's incident scoring (test_acceptance.sh
# runs hunt too). Prints per-seed figures.
set -uo pipefail
suite=investigate.truth
. "$(dirname "$0")/common.sh"
fail=0
for seed in $seeds; do
  simulate "$seed" || { fail=1; continue; }
  d="$tmp/s$seed"
  python3 - "$d/truth.json" "$d/truth-incidents.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
c = t["compromised"]
inc = {"incidents": [{"id": "INC-TRUTH", "score": 100, "level": "critical",
                      "first_seen": min(s["first"] for s in t["steps"]),
                      "last_seen": max(s["last"] for s in t["steps"]),
                      "entities": {"users": c["users"], "ips": c["ips"], "apps": c["apps"],
                                   "sessions": [], "tokens": [], "mailboxes": []},
                      "steps": []}]}
json.dump(inc, open(sys.argv[2], "w"))
PY
  run() {
    "$bin" investigate -q "$d/logs" --mail "$d/mail" --tenant "$d/tenant.json" \
      --incidents "$d/truth-incidents.json" "${secopt[@]}" --out "$1" >"$tmp/out.txt" 2>"$tmp/err.txt"
  }
  if ! run "$d/a"; then cat "$tmp/err.txt"; echo "FAIL: investigate seed $seed"; fail=1; continue; fi
  python3 "$check" "$d" "$d/a" "seed $seed" "$rulemode" || fail=1
  rerun "$seed" || { rm -rf "$d"; continue; }
  run "$d/b" || { echo "FAIL: rerun seed $seed"; fail=1; continue; }
  same_bytes "$d/a" "$d/b" "fresh DIR" || fail=1
  cp -a "$d/a" "$d/c"
  run "$d/c" || { echo "FAIL: rerun seed $seed"; fail=1; continue; }
  same_bytes "$d/a" "$d/c" "same DIR, ledger reused" || fail=1
  rm -rf "$d"
done
[ $fail -eq 0 ] && echo "ok: investigate with the truth's incidents equals truth.json"
exit $fail

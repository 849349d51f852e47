#!/usr/bin/env bash
# tests/notify/simscope.sh -- helper (sourced): sim_scope DIR SEED
# Simulates a tenant (60 users, 5 days) into DIR, builds a truth-derived
# incidents.json (the truth's compromised users, IPs and apps; window = first
# .. last attack step) and runs `mailhound scope` into DIR/scope.json; on a
# failure prints the step's log and returns 1. Needs $MH and python3. Used by
# tests/notify (property, resume) and tests/scope/test_simulated.sh.
sim_scope() {
  local dir=$1 seed=$2
  "$MH" simulate --out "$dir" --users 60 --days 5 --seed "$seed" --scenario all \
    >"$dir.sim.log" 2>&1 || { cat "$dir.sim.log"; return 1; }
  python3 - "$dir/truth.json" "$dir/incidents.json" <<'PY' || return 1
import json, sys
t = json.load(open(sys.argv[1]))
first = min(s["first"] for s in t["steps"])
last = max(s["last"] for s in t["steps"])
c = t["compromised"]
inc = {"incidents": [{"id": "INC-TRUTH", "score": 100, "level": "critical",
                      "first_seen": first, "last_seen": last,
                      "entities": {"users": c["users"], "ips": c["ips"], "apps": c["apps"],
                                   "sessions": [], "tokens": [], "mailboxes": []},
                      "steps": []}]}
json.dump(inc, open(sys.argv[2], "w"))
PY
  "$MH" scope -q --incidents "$dir/incidents.json" --mail "$dir/mail" \
    --out "$dir/scope.json" "$dir/logs" 2>"$dir.scope.err" || { cat "$dir.scope.err"; return 1; }
}

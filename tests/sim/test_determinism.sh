#!/usr/bin/env bash
# tests/sim/test_determinism.sh -- same options, same bytes; another seed, other attackers
set -euo pipefail
: "${MH:?set MH to the mailhound binary}"
command -v python3 >/dev/null || { echo "skip: python3 is not available"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=(--users 60 --days 3 --tenants 3 --partners 15)
"$MH" simulate --out "$tmp/a" --seed 7 "${args[@]}" 2>/dev/null
"$MH" simulate --out "$tmp/b" --seed 7 "${args[@]}" 2>/dev/null
"$MH" simulate --out "$tmp/c" --seed 8 "${args[@]}" 2>/dev/null
n=$(find "$tmp/a" -type f | wc -l)
[ "$n" -gt 50 ] || { echo "FAIL: only $n files"; exit 1; }
if ! diff -r -q "$tmp/a" "$tmp/b"; then echo "FAIL: same seed, different output"; exit 1; fi
if diff -r -q "$tmp/a/logs" "$tmp/c/logs" >/dev/null; then echo "FAIL: seeds 7 and 8 wrote the same logs"; exit 1; fi
# nothing an attack detection could key on stays constant across seeds
python3 - "$tmp/a/truth.json" "$tmp/c/truth.json" <<'PY'
import json, sys
a, c = (json.load(open(p)) for p in sys.argv[1:3])
fails = []
ia, ic = set(a["compromised"]["ips"]), set(c["compromised"]["ips"])
if len(ia & ic) > 0:
    fails.append(f"attacker addresses shared across seeds: {sorted(ia & ic)[:5]}")
if set(a["compromised"]["apps"]) & set(c["compromised"]["apps"]):
    fails.append("attacker app ids shared across seeds")
if set(a["compromised"]["users"]) == set(c["compromised"]["users"]):
    fails.append("same compromised users for both seeds")
def counts(t):
    k = {}
    for m in t["malicious"]:
        k[m["step"]] = k.get(m["step"], 0) + 1
    return k
if counts(a) == counts(c):
    fails.append("identical record counts per step")
ta = {s["step"]: s["first"] for s in a["steps"]}
tc = {s["step"]: s["first"] for s in c["steps"]}
if any(ta[k] == tc[k] for k in ta if k in tc):
    fails.append("a step starts at the same time for both seeds")
for f in fails:
    print("FAIL:", f)
print(f"determinism: {len(ia)} vs {len(ic)} attacker addresses, steps {sorted(ta)}")
sys.exit(1 if fails else 0)
PY
echo "determinism: $n files byte-identical for one seed; seeds differ"

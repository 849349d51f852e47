#!/usr/bin/env bash
# tests/sim/test_readback.sh -- mailhound reads every simulated record, numbered as the truth says
#
# `mailhound stats --json DIR/logs` must report zero skipped records and zero
# failed files, and as many records as the files hold; `mailhound cat` must
# number records exactly as truth.json references them (same file, same
# record number, same record body).
set -euo pipefail
: "${MH:?set MH to the mailhound binary}" "${MH_SRC:?set MH_SRC to the source tree}"
command -v python3 >/dev/null || { echo "skip: python3 is not available"; exit 77; }
if ! "$MH" stats --help >/dev/null 2>&1; then
  echo "skip: 'mailhound stats' is not available in this build"; exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$MH" simulate --out "$tmp/s" --users 40 --days 3 --seed 3 --tenants 2 --partners 10 2>/dev/null
"$MH" stats --json -q "$tmp/s/logs" > "$tmp/stats.json"
have_cat=0
if "$MH" cat --help >/dev/null 2>&1; then
  "$MH" cat -q "$tmp/s/logs" > "$tmp/cat.jsonl"
  have_cat=1
fi
python3 - "$tmp/s" "$tmp/stats.json" "$have_cat" "$tmp/cat.jsonl" "$MH_SRC" <<'PY'
import json, os, sys
d, stats_path, have_cat, cat_path, src = sys.argv[1:6]
sys.path.insert(0, os.path.join(src, "tests", "sim"))
import check_sim
out = check_sim.Out(d)
st = json.load(open(stats_path))
fails = []
nrec = sum(len(v) for v in out.files.values())
if st["records"]["skipped"] != 0:
    fails.append(f"{st['records']['skipped']} records skipped")
if st["files"]["failed"] != 0:
    fails.append(f"{st['files']['failed']} files failed")
if st["records"]["read"] != nrec:
    fails.append(f"reader saw {st['records']['read']} records, the files hold {nrec}")
if have_cat == "1":
    seen = {}
    for line in open(cat_path, encoding="utf-8"):
        e = json.loads(line)
        seen[(os.path.relpath(e["file"], d), e["record"])] = e
    bad = 0
    for m in out.truth["malicious"]:
        e = seen.get((m["file"], m["record"]))
        _, obj = out.record(m["file"], m["record"])
        if e is None or e.get("fields") != obj:
            bad += 1
            if bad <= 5:
                fails.append(f"malicious {m['file']}:{m['record']}: reader's record differs")
    print(f"readback: {len(out.truth['malicious'])} malicious references resolved by mailhound cat")
for f in fails:
    print("FAIL:", f)
print(f"readback: mailhound read {st['records']['read']} records, skipped {st['records']['skipped']}")
sys.exit(1 if fails else 0)
PY

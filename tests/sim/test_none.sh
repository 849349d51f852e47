#!/usr/bin/env bash
# tests/sim/test_none.sh -- `--scenario none` contains no attacker entity at all
#
# The attack run of the same seed names its attacker entities (addresses,
# created apps and users, forged token and session ids); none of them may
# appear anywhere in the logs of the run without attacks, whose truth must be
# empty and whose logs must still pass every format and linkage check.
set -euo pipefail
: "${MH:?set MH to the mailhound binary}" "${MH_SRC:?set MH_SRC to the source tree}"
command -v python3 >/dev/null || { echo "skip: python3 is not available"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=(--users 50 --days 3 --seed 5 --tenants 2 --partners 12)
"$MH" simulate --out "$tmp/all" "${args[@]}" --scenario all 2>/dev/null
"$MH" simulate --out "$tmp/none" "${args[@]}" --scenario none 2>/dev/null
diff -r -q "$tmp/all/mail" "$tmp/none/mail" || { echo "FAIL: the mailboxes differ with and without attacks"; exit 1; }
python3 "$MH_SRC/tests/sim/check_sim.py" none "$tmp/all" "$tmp/none"
python3 "$MH_SRC/tests/sim/check_sim.py" check "$tmp/none"

#!/usr/bin/env bash
# tests/sim/test_truth.sh -- truth.json agrees with the logs and mailboxes it describes
#
# Small simulations (both scenarios, 2 tenants) for three seeds, each checked
# by tests/sim/check_sim.py: formats, malicious references (existence,
# attacker entities, completeness), exfiltrated (Bind / Sync'd folders, in an
# mbox), notify (recomputed from headers), secrets (gitleaks regex, SHA-256,
# entropy), token linkage (D14 honesty). Then six tiny Midnight Blizzard runs
# must not all pick the same grant variant (randomised per seed).
set -euo pipefail
: "${MH:?set MH to the mailhound binary}" "${MH_SRC:?set MH_SRC to the source tree}"
command -v python3 >/dev/null || { echo "skip: python3 is not available"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for seed in 1 2 3; do
  "$MH" simulate --out "$tmp/s$seed" --users 50 --days 3 --seed "$seed" --tenants 2 --partners 12 2>/dev/null
  python3 "$MH_SRC/tests/sim/check_sim.py" check "$tmp/s$seed"
done
for seed in 11 12 13 14 15 16; do
  "$MH" simulate --out "$tmp/v$seed" --users 20 --days 2 --seed "$seed" --tenants 1 --partners 4 \
    --scenario midnight-blizzard 2>/dev/null
done
python3 "$MH_SRC/tests/sim/check_sim.py" variants "$tmp"/v*

#!/usr/bin/env bash
# tests/investigate/test_acceptance.sh -- `mailhound investigate` end to end vs truth.json
#
# For each seed: simulate both attacks; investigate LOGS --mail --tenant --out
# (hunt -> incidents at level high or above -> scope -> secrets -> notify); then
#  - the organisations notified and their message ids == truth "notify" exactly,
#  - the secrets found in exfiltrated messages == truth "secrets",
#  - every package: its organisation is a party of each message, no Bcc header,
#  - a rerun with -j 1 into a fresh DIR gives identical bytes (every output).
# Exactness depends on hunt scoring only the attacks at high or above: a
# benign incident at high (a backup app, an admin chain, office NAT) adds
# organisations and messages, and check.py lists them. Prints per-seed figures.
set -uo pipefail
suite=investigate.acceptance
. "$(dirname "$0")/common.sh"
# End to end at a few dozen users is not a fair test of hunt: its baselines and
# the sign-in coverage model need a tenant's worth of activity (at 300 users
# 1-3% of the forged-token reads fall into night-time sign-in gaps, where D14
# says "unverifiable", never "forged" -- docs/investigate.md). Without the
# release binary (the ASan one is too slow for 2,000 users) this suite skips;
# investigate.truth still checks scope -> secrets -> notify under ASan.
if [ "$kind" != "release binary" ]; then
  echo "skipped: needs the release binary (build/release) for the 2,000-user tenant"; exit 77
fi
fail=0
for seed in $seeds; do
  simulate "$seed" || { fail=1; continue; }
  d="$tmp/s$seed"
  run() {
    "$bin" investigate -q "$d/logs" --mail "$d/mail" --tenant "$d/tenant.json" "${secopt[@]}" \
      --out "$1" "${@:2}" >"$tmp/out.txt" 2>"$tmp/err.txt"
  }
  if ! run "$d/a"; then cat "$tmp/err.txt"; echo "FAIL: investigate seed $seed"; fail=1; continue; fi
  sed -n 's/^/  /; 1p' "$tmp/out.txt"
  if ! python3 "$check" "$d" "$d/a" "seed $seed" "$rulemode"; then
    fail=1
    echo "  incidents scoped (summary.md):"
    sed -n '/^```$/,/^```$/p' "$d/a/summary.md" | grep -E '  yes  ' | cut -c1-110 | sed 's/^/    /'
  fi
  rerun "$seed" || { rm -rf "$d"; continue; }
  run "$d/b" -j 1 || { echo "FAIL: rerun seed $seed"; fail=1; continue; }
  same_bytes "$d/a" "$d/b" "-j 1, fresh DIR" || fail=1
  rm -rf "$d"
done
[ $fail -eq 0 ] && echo "ok: investigate end to end equals truth.json"
exit $fail

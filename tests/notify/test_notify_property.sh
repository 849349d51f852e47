#!/usr/bin/env bash
# tests/notify/test_notify_property.sh -- notify on simulated tenants vs. truth
#
# For every seed in MH_NOTIFY_SEEDS (default "1 2 3 4 5"): simulate a tenant
# (60 users, 5 days), `mailhound scope` with truth-derived incidents, then
# `mailhound notify --tenant DIR/tenant.json`; tests/notify/property.py checks
# the packages against the mail store with its own header parsing and
# organisation rules (only parties' messages, no Bcc field anywhere, header
# fields otherwise untouched) and against truth.json "notify" (exactly the
# same organisations and message ids). Prints per-seed counts.
# Exit 77 (skipped) without python3 or `mailhound simulate`.
set -uo pipefail
MH=${MH:?MH must name the mailhound binary}
src=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v python3 >/dev/null || { echo "python3 missing: skipped"; exit 77; }
"$MH" simulate --help >/dev/null 2>&1 || { echo "mailhound simulate unavailable: skipped"; exit 77; }
. "$src/tests/notify/simscope.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/mh-notify-prop.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
fail=0
for seed in ${MH_NOTIFY_SEEDS:-1 2 3 4 5}; do
  dir="$work/s$seed"
  sim_scope "$dir" "$seed" || { echo "FAIL: simulate/scope seed $seed"; fail=1; continue; }
  if ! "$MH" notify -q --scope "$dir/scope.json" --mail "$dir/mail" --out "$dir/out" \
       --tenant "$dir/tenant.json" >"$dir.notify.log" 2>&1; then
    cat "$dir.notify.log"; echo "FAIL: notify seed $seed"; fail=1; continue
  fi
  python3 "$src/tests/notify/property.py" "$dir" "$dir/out" "$src/rules/notify/freemail.txt" \
    "$seed" || fail=1
done
[ $fail -eq 0 ] && echo "ok: every package holds only its organisation's messages; equals truth"
exit $fail

#!/usr/bin/env bash
# tests/scope/test_crafted.sh -- `mailhound scope` on the crafted case: golden output + CLI contract
#
# tests/data/scope (made by make_data.py; every record's expected fate is in
# its comments) is scoped from inside that folder, so evidence paths are
# relative and stable. The output must equal expected.json byte for byte
# (regenerate only after reviewing a change: see docs/scope.md §8), be the
# same on standard output and with --out, and the command must reject bad
# usage with exit status 1.
set -uo pipefail
MH=${MH:?MH must name the mailhound binary}
SRC=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
case "$MH" in /*) ;; *) MH="$(cd "$(dirname "$MH")" && pwd)/$(basename "$MH")" ;; esac
cd "$SRC/tests/data/scope" || exit 1
work=$(mktemp -d "${TMPDIR:-/tmp}/mh-scope.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
no() { echo "FAIL: $*"; fail=1; }

"$MH" scope --incidents incidents.json --mail mail --trace trace.csv --out "$work/a.json" logs \
  2>"$work/err" || no "scope exited $?"
grep -q '^mailhound: scope: 2 incidents, 4 mailboxes, 14 messages (7 observed, 3 inferred-sync, 4 inferred-throttle), 1 not in the mail store (1 found in the trace)' "$work/err" \
  || { cat "$work/err"; no "summary line"; }
# the app-wide basis (docs/scope.md §3): its own line, after the summary line
grep -qx 'mailhound: scope: app-wide: app 9f1a2b3c-1111-4222-8333-444455556666 held full_access_as_app from 2024-01-10T08:30:00Z (incident INC-A): 1 mailboxes touched, 1 audited without a hit, 3 potentially accessed (unaudited)' "$work/err" \
  || { cat "$work/err"; no "app-wide line"; }
# and its exact member: touched hr, audited exec, unaudited ceo (no record), cfo and legal (throttled)
command -v python3 >/dev/null && python3 - "$work/a.json" <<'PY' || no "app_wide member"
import json, sys
d = json.load(open(sys.argv[1]))
want = [{"incident": "INC-A", "app": "9f1a2b3c-1111-4222-8333-444455556666",
         "permission": "full_access_as_app", "granted": "2024-01-10T08:30:00Z",
         "grant": {"file": "logs/ual.jsonl", "file_key": "ual.jsonl", "record": 18, "line": 18,
                   "offset": 13632, "record_id": "00000019-aaaa-4bbb-8ccc-dddddddddddd",
                   "time": "2024-01-10T08:30:00Z",
                   "operation": "Add app role assignment to service principal."},
         "window": {"start": "2024-01-10T08:30:00Z", "end": "2024-01-11T12:00:00Z"},
         "touched": ["hr@contoso.example"], "audited": ["exec@contoso.example"],
         "unaudited": ["ceo@contoso.example", "cfo@contoso.example", "legal@contoso.example"]}]
got = [{k: v for k, v in e.items() if k != "notes"} for e in d["app_wide"]]
notes = [[n["code"] for n in e["notes"]] for e in d["app_wide"]]
s = d["summary"]
ok = got == want and notes == [["app-wide-unaudited"]] and list(d)[-2:] == ["app_wide", "summary"] \
    and (s["app_wide_grants"], s["app_wide"], s["unaudited_mailboxes"]) == (1, 1, 3)
if not ok:
    print(json.dumps(d["app_wide"]), s)
sys.exit(0 if ok else 1)
PY
cmp -s "$work/a.json" expected.json || {
  no "output differs from expected.json"
  command -v python3 >/dev/null && python3 - "$work/a.json" expected.json <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for k in sorted(set(a) | set(b)):
    if a.get(k) != b.get(k):
        print("  differs:", k)
PY
}
# the same bytes on standard output; -q prints nothing on standard error
"$MH" scope -q --incidents incidents.json --mail mail --trace trace.csv logs >"$work/b.json" \
  2>"$work/err2" || no "scope to stdout exited $?"
cmp -s "$work/a.json" "$work/b.json" || no "stdout differs from --out"
[ -s "$work/err2" ] && { cat "$work/err2"; no "-q still printed"; }
# one incident, given as --incident=ID
"$MH" scope -q --incidents incidents.json --incident=INC-B --mail mail logs trace.csv \
  >"$work/c.json" || no "--incident INC-B exited $?"
grep -q '"messages":0,' "$work/c.json" || no "INC-B scoped messages"
# usage errors
"$MH" scope --help >/dev/null || no "--help"
for args in "--mail mail logs" "--incidents incidents.json" \
            "--incidents incidents.json --incident NOPE logs" \
            "--incidents incidents.json --before 5x logs" \
            "--incidents incidents.json --bogus logs" \
            "--incidents missing.json logs" \
            "--incidents incidents.json --mail"; do
  # shellcheck disable=SC2086
  "$MH" scope -q $args >/dev/null 2>&1
  rc=$?
  [ $rc -eq 1 ] || no "scope $args: exit $rc, want 1"
done
# a malformed incidents file is reported with its reason
printf '{"incidents":[{"score":1}]}' >"$work/bad.json"
"$MH" scope --incidents "$work/bad.json" logs >/dev/null 2>"$work/err3"
grep -q 'incident without id' "$work/err3" || { cat "$work/err3"; no "bad incidents reason"; }
[ $fail -eq 0 ] && echo "ok: crafted scope case"
exit $fail

#!/usr/bin/env bash
# tests/scope/test_sentinel.sh -- scope on a real Log Analytics (Sentinel OfficeActivity) export
#
# ../shared/corpora/m365/azure-sentinel-training-lab/office_activity.csv holds
# MailItemsAccessed rows whose Folders and OperationProperties columns are
# JSON held in CSV cells (pretty-printed, CR LF inside quotes), and Send rows
# whose Item column is JSON. An incident lists the addresses and the client
# app id of those rows; python3 (csv + json, independently of mailhound's
# readers) computes the InternetMessageIds the rows list, and scope must
# report exactly those, with confidence observed and the right bases.
# Skipped (77) when ../shared is absent.
set -uo pipefail
MH=${MH:?MH must name the mailhound binary}
SRC=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
csv="$SRC/../shared/corpora/m365/azure-sentinel-training-lab/office_activity.csv"
[ -f "$csv" ] || { echo "shared corpus absent: skipped"; exit 77; }
command -v python3 >/dev/null || { echo "python3 missing: skipped"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/mh-scope-la.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat >"$work/inc.json" <<'JSON'
{"incidents":[{"id":"INC-LA","score":50,"level":"high",
  "first_seen":"2021-04-28T14:00:00Z","last_seen":"2021-04-28T15:00:00Z",
  "entities":{"users":[],"ips":["175.45.176.99"],
              "apps":["3c8e478f-21ca-493a-b87c-c7366d664d54"],
              "sessions":[],"tokens":[],"mailboxes":[]}}]}
JSON
"$MH" scope -q --incidents "$work/inc.json" --out "$work/scope.json" "$csv" || {
  echo "FAIL: scope exited $?"; exit 1; }
python3 - "$csv" "$work/scope.json" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8-sig", newline="")))
want = {}  # message id -> set of bases
for r in rows:
    op = r.get("Operation")
    ip = r.get("Client_IPAddress") or r.get("ClientIP")
    ctx = ip == "175.45.176.99" or r.get("ClientAppId") == "3c8e478f-21ca-493a-b87c-c7366d664d54"
    if not ctx:
        continue
    if op == "MailItemsAccessed":
        for f in json.loads(r["Folders"]):
            for it in f.get("FolderItems", []):
                want.setdefault(it["InternetMessageId"], set()).add("bind")
    elif op in ("Send", "SendAs", "SendOnBehalf") and r.get("Item"):
        want.setdefault(json.loads(r["Item"])["InternetMessageId"], set()).add("sent")
scope = json.load(open(sys.argv[2]))
got = {}
for mb in scope["mailboxes"]:
    assert mb["mailbox"] == "adelev@m365x816222.onmicrosoft.com", mb["mailbox"]
    for m in mb["messages"]:
        assert m["confidence"] == "observed", m
        got[m["message_id"]] = set(m["bases"])
if not want:
    print("FAIL: nothing to compare (the corpus changed?)"); sys.exit(1)
if got != want:
    print("FAIL: scope differs from the rows")
    for k in sorted(set(got) | set(want)):
        if got.get(k) != want.get(k):
            print("  ", k, "scope:", sorted(got.get(k, [])), "rows:", sorted(want.get(k, [])))
    sys.exit(1)
print("ok: %d messages as listed by the rows" % len(got))
PY

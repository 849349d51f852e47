#!/usr/bin/env bash
# tests/investigate/test_secret_mailbox.sh -- investigate's secrets name a
# mailbox the attacker read (docs/investigate.md §1, secrets)
#
# The crafted case (tests/data/scope) plus copies of messages carrying
# planted tokens, in mailboxes that come before the scoped one in index
# order. scope.json lists (mailbox, message) pairs; the secret scan must take
# the copies of those pairs, not the first copy of a scoped Message-ID:
#
#   A  <h1@contoso.example>  hr (bind: scoped) and, byte-identical,
#      archive@ (no logs: never scoped), which is indexed first
#      -> one finding, mailbox hr
#   B  <x1@contoso.example>  legal (throttle window: scoped) and, identical,
#      hr (a scoped mailbox, but x1 is not one of its pairs), indexed first
#      -> one finding, mailbox legal
#   C  <h2@contoso.example>  hr and legal, identical, both pairs scoped
#      -> one finding (one per distinct copy, as in `mailhound secrets`),
#      mailbox hr (the first scoped copy in index order)
#   D  <c4@partner.example>  scoped in cfo (bind) but stored only in
#      archive@ -> still one finding, naming archive@, where the copy lives
#   E  <e1@contoso.example>  archive@ only, scoped nowhere -> no finding
#
# Then `mailhound secrets` over the same store is unchanged: no filter, each
# distinct copy once, named by its first copy in index order.
set -uo pipefail
: "${MH:?MH must be the mailhound binary}"
SRC=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
export MAILHOUND_DATA="$SRC"
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/mh-invsec.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=$((fail + 1)); }
D="$SRC/tests/data/scope"

tokA=ghp_Aq7Rk2Lm9Xc4Vb1Nz8Wd3Fs6Gh5Jt0Yp2Eqa
tokB=ghp_Bq7Rk2Lm9Xc4Vb1Nz8Wd3Fs6Gh5Jt0Yp2Eqb
tokC=ghp_Cq7Rk2Lm9Xc4Vb1Nz8Wd3Fs6Gh5Jt0Yp2Eqc
tokD=ghp_Dq7Rk2Lm9Xc4Vb1Nz8Wd3Fs6Gh5Jt0Yp2Eqd
tokE=ghp_Eq7Rk2Lm9Xc4Vb1Nz8Wd3Fs6Gh5Jt0Yp2Eqe

cp -R "$D/mail" "$work/mail"
M=$work/mail
arch=$M/archive@contoso.example/cur
mkdir -p "$arch"
# msg ID DATE TOKEN: a plain text message
msg() {
  printf 'From: Exec <exec@contoso.example>\nTo: HR <hr@contoso.example>\nSubject: Access %s\n' "$1"
  printf 'Date: %s\nMessage-ID: <%s>\nMIME-Version: 1.0\n' "$2" "$1"
  printf 'Content-Type: text/plain; charset=us-ascii\n\nthe deploy token is %s\n' "$3"
}
msg h1@contoso.example "Mon, 08 Jan 2024 09:00:00 +0000" $tokA >"$M/hr@contoso.example/cur/1700000400.M0.host:2,S"
cp "$M/hr@contoso.example/cur/1700000400.M0.host:2,S" "$arch/1700000500.M0.host:2,S"
msg x1@contoso.example "Tue, 09 Jan 2024 09:00:00 +0000" $tokB >"$M/legal@contoso.example/cur/1700000303.M3.host:2,S"
cp "$M/legal@contoso.example/cur/1700000303.M3.host:2,S" "$M/hr@contoso.example/cur/1700000403.M3.host:2,S"
msg h2@contoso.example "Mon, 08 Jan 2024 09:00:00 +0000" $tokC >"$M/hr@contoso.example/cur/1700000401.M1.host:2,S"
cp "$M/hr@contoso.example/cur/1700000401.M1.host:2,S" "$M/legal@contoso.example/cur/1700000304.M4.host:2,S"
msg c4@partner.example "Wed, 10 Jan 2024 08:00:00 +0000" $tokD >"$arch/1700000501.M1.host:2,S"
msg e1@contoso.example "Mon, 08 Jan 2024 09:00:00 +0000" $tokE >"$arch/1700000502.M2.host:2,S"

"$MH" investigate -q "$D/logs" --mail "$M" --incidents "$D/incidents.json" --min-level low \
  --out "$work/case" >"$work/o" 2>"$work/e"
rc=$?
[ $rc = 0 ] || bad "investigate: exit $rc, want 0: $(head -3 "$work/e")"
"$MH" secrets -q -o "$work/all.jsonl" "$M" >/dev/null 2>"$work/e2"
rc=$?
[ $rc = 0 ] || bad "secrets: exit $rc, want 0: $(head -3 "$work/e2")"

python3 - "$work" $tokA $tokB $tokC $tokD $tokE <<'EOF'
import hashlib, json, sys
work, toks = sys.argv[1], dict(zip("ABCDE", sys.argv[2:]))
fps = {hashlib.sha256(t.encode()).hexdigest(): k for k, t in toks.items()}
bad = 0
def fail(msg):
    global bad
    bad += 1
    print("FAIL: " + msg, file=sys.stderr)

# preconditions: the pairs scope lists (else the cases below test nothing)
scope = json.load(open(work + "/case/scope.json"))
pairs = {(b["mailbox"], m["message_id"]): m["in_store"]
         for b in scope["mailboxes"] for m in b["messages"]}
for box, mid, want in [("hr", "h1", True), ("archive", "h1", False), ("legal", "x1", True),
                       ("hr", "x1", False), ("hr", "h2", True), ("legal", "h2", True)]:
    key = (box + "@contoso.example", "<%s@contoso.example>" % mid)
    if (key in pairs) != want:
        fail("precondition: scope.json %s %s" % ("lacks" if want else "lists", key))
if pairs.get(("cfo@contoso.example", "<c4@partner.example>")) is not True:
    fail("precondition: scope.json does not list <c4@partner.example> in cfo, in store")
if any(mid == "<e1@contoso.example>" for _, mid in pairs):
    fail("precondition: scope.json lists <e1@contoso.example>")

def findings(path):
    got = {}
    for line in open(path):
        f = json.loads(line)
        k = fps.get(f["fingerprint"])
        if k:
            got.setdefault(k, []).append((f["mailbox"], f["message_id"]))
    return got

def expect(what, got, want):
    for k in "ABCDE":
        if got.get(k, []) != want.get(k, []):
            fail("%s: token %s: got %s, want %s" % (what, k, got.get(k, []), want.get(k, [])))

A = ("hr@contoso.example", "<h1@contoso.example>")
expect("investigate secrets.jsonl", findings(work + "/case/secrets.jsonl"), {
    "A": [A],
    "B": [("legal@contoso.example", "<x1@contoso.example>")],
    "C": [("hr@contoso.example", "<h2@contoso.example>")],
    "D": [("archive@contoso.example", "<c4@partner.example>")],
})
# the summary's table names the same mailbox
summary = open(work + "/case/summary.md").read()
for line in summary.splitlines():
    if "<h1@contoso.example>" in line and "archive@" in line:
        fail("summary.md names archive@ for <h1@contoso.example>: " + line)
# `mailhound secrets`: every copy considered, identical copies once, the first in index order
expect("secrets (whole store)", findings(work + "/all.jsonl"), {
    "A": [("archive@contoso.example", "<h1@contoso.example>")],
    "B": [("hr@contoso.example", "<x1@contoso.example>")],
    "C": [("hr@contoso.example", "<h2@contoso.example>")],
    "D": [("archive@contoso.example", "<c4@partner.example>")],
    "E": [("archive@contoso.example", "<e1@contoso.example>")],
})
sys.exit(min(bad, 100))
EOF
fail=$((fail + $?))

if [ $fail -gt 0 ]; then
  echo "investigate secret mailbox: $fail failures"
  exit 1
fi
echo "investigate secret mailbox: all checks passed"

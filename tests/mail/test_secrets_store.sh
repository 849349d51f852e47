#!/usr/bin/env bash
# tests/mail/test_secrets_store.sh -- `mailhound secrets` on the project's own
# mail store (tests/data/mail/store, written by make_store.py):
#  - exactly the planted secrets of EXPECTED.tsv are found: rule, message id,
#    mailbox, folder, part, line, and the fingerprint equals SHA-256 of the
#    planted secret (so the right bytes were extracted);
#  - nothing else: in particular not the AWS-key-shaped run that exists only
#    in base64 form, nor anything in Maildir tmp/;
#  - secrets are redacted unless --show-secrets, which prints them exactly;
#  - owners: from the mailbox name, the mbox name, and --owner;
#  - the malformed message is reported once, with file and byte offset;
#  - output is byte-identical across runs; -o and --format table work.
set -euo pipefail
trap 'echo "FAIL: command failed at line $LINENO"' ERR
src=${MH_SRC:-.}
src=$(cd "$src" && pwd)
mh=${MH:-mailhound}
case $mh in /*) ;; */*) mh=$PWD/$mh ;; esac
data="$src/tests/data/mail"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$data"

"$mh" secrets --owner owners.txt store >"$work/out.jsonl" 2>"$work/err.txt"
"$mh" secrets --owner owners.txt store >"$work/out2.jsonl" 2>/dev/null
cmp "$work/out.jsonl" "$work/out2.jsonl" || { echo "FAIL: output differs between runs"; exit 1; }
"$mh" secrets --owner owners.txt --show-secrets store >"$work/show.jsonl" 2>/dev/null
"$mh" secrets --owner owners.txt --format table -o "$work/table.txt" store 2>/dev/null
"$mh" secrets --quiet --fail-on-finding store >/dev/null 2>&1 && { echo "FAIL: --fail-on-finding exit 0"; exit 1; } || rc=$?
[ "${rc:-0}" = 2 ] || { echo "FAIL: --fail-on-finding exit ${rc:-0}, want 2"; exit 1; }

python3 - "$work" <<'EOF'
import hashlib, json, re, sys
work = sys.argv[1]
fail = []
exp = []
for line in open("EXPECTED.tsv", encoding="utf-8"):
    if line.startswith("#"): continue
    exp.append(line.rstrip("\n").split("\t"))
# multi-line secrets (the PEM key) continue on the following lines of EXPECTED.tsv
rows, cur = [], None
for f in exp:
    if len(f) == 7: cur = f; rows.append(cur)
    else: cur[6] += "\n" + "\t".join(f)
got = [json.loads(l) for l in open(work + "/out.jsonl", encoding="utf-8")]
show = [json.loads(l) for l in open(work + "/show.jsonl", encoding="utf-8")]
if len(got) != len(rows):
    fail.append("found %d findings, expected %d" % (len(got), len(rows)))
def key(g):
    mid = g["message_id"]
    if mid and mid.endswith("@sha256.mailhound.invalid>"): mid = "synthetic"
    return (g["rule"], mid or "-", g["mailbox"] or "-", g["folder"] or "-", g["part"], str(g["line"]))
gotk = {key(g): g for g in got}
for r in rows:
    k = tuple(r[:6])
    g = gotk.get(k)
    if not g:
        fail.append("missing %s" % (k,)); continue
    want_fp = hashlib.sha256(r[6].encode()).hexdigest()
    if g["fingerprint"] != want_fp: fail.append("fingerprint of %s" % (k,))
    if r[6] in json.dumps(g) or g["secret"] == r[6]: fail.append("secret printed in full: %s" % (k,))
    if "****" not in g["secret"]: fail.append("not redacted: %s" % (k,))
for k in gotk:
    if k not in {tuple(r[:6]) for r in rows}: fail.append("unexpected finding %s" % (k,))
secrets = {r[6] for r in rows}
shown = {s["secret"] for s in show}
if shown != secrets: fail.append("--show-secrets does not print the planted secrets exactly")
out = open(work + "/out.jsonl", encoding="utf-8").read()
for s in secrets:
    if s in out: fail.append("a secret appears in full in the default output")
if "AKIAQ2W3E4R5T6Y7UIOP" in open(work + "/show.jsonl").read():
    fail.append("found a secret that exists only in base64 form")
owners = {(g["mailbox"], g["owner"]) for g in got}
for mb, ow in [("alice@example.com", "alice@example.com"), ("bob@example.org", "bob@example.org"),
               ("carol", "carol@example.net"), ("store", None)]:
    if (mb, ow) not in owners: fail.append("owner of %s is not %s" % (mb, ow))
order = ["rule", "tier", "message_id", "mailbox", "owner", "folder", "file", "part", "filename",
         "line", "column", "secret", "fingerprint", "entropy"]
if list(got[0].keys()) != order: fail.append("key order %s" % list(got[0].keys()))
tiers = {g["rule"]: g["tier"] for g in got}
if tiers.get("generic-password") != "generic" or tiers.get("jwt") != "specific":
    fail.append("tiers wrong")
# the malformed message: one warning with the byte offset of the bad header line
mbox = open("store/bob@example.org.mbox", "rb").read()
off = mbox.index(b"this line is not a header")
err = open(work + "/err.txt").read()
warn = [l for l in err.splitlines() if "warning" in l and "malformed" in l]
if len(warn) != 1 or ("byte %d" % off) not in warn[0] or "bob@example.org.mbox" not in warn[0]:
    fail.append("malformed warning: %r (want byte %d)" % (warn, off))
m = re.search(r"(\d+) messages read \((\d+) distinct\), (\d+) scanned, (\d+) malformed", err)
if not m or m.groups() != ("11", "10", "11", "1"):
    fail.append("summary: %r" % err.splitlines()[-1:])
tab = open(work + "/table.txt").read().splitlines()
if len(tab) != len(rows) + 1 or not tab[0].startswith("RULE"): fail.append("table output")
if fail:
    print("\n".join("FAIL: " + f for f in fail)); sys.exit(1)
print("secrets store: %d planted secrets found exactly, nothing else" % len(rows))
EOF

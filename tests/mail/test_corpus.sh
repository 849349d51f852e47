#!/usr/bin/env bash
# tests/mail/test_corpus.sh -- robustness on every message in ../shared/corpora/mail
# (Enron, SpamAssassin, MimeKit, Stalwart, GMime test data): `mailhound secrets`
# reads all of it without a crash and exits 0; the number of messages it
# reads equals an independent count (Python: mbox "From " lines, files whose
# first line is a header field); every malformed message is reported exactly
# once and the summary's malformed count equals the warnings printed.
# Skips (77) when ../shared is absent.
set -euo pipefail
src=${MH_SRC:-.}
src=$(cd "$src" && pwd)
mh=${MH:-mailhound}
case $mh in /*) ;; */*) mh=$PWD/$mh ;; esac
corp="$src/../shared/corpora/mail"
if [ ! -d "$corp" ]; then echo "skipped: $corp absent"; exit 77; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rc=0
"$mh" secrets "$corp" -o "$work/out.jsonl" 2>"$work/err.txt" || rc=$?
if [ "$rc" != 0 ]; then echo "FAIL: exit $rc"; tail -5 "$work/err.txt"; exit 1; fi

python3 - "$corp" "$work" <<'EOF'
import json, os, re, sys
corp, work = sys.argv[1], sys.argv[2]
HDR = re.compile(rb"^[A-Za-z0-9_-]+:")
msgs = 0
for root, dirs, files in os.walk(corp):
    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    for f in sorted(files):
        p = os.path.join(root, f)
        if "/tmp/" in p and os.path.isdir(os.path.join(os.path.dirname(os.path.dirname(p)), "cur")):
            continue
        data = open(p, "rb").read()
        if f.startswith("."):
            continue
        if data.startswith(b"From "):
            msgs += sum(1 for l in data.split(b"\n") if l.startswith(b"From "))
        elif b"\0" not in data[:4096] and HDR.match(data):
            msgs += 1
err = open(work + "/err.txt", errors="replace").read().splitlines()
summary = [l for l in err if l.startswith("mailhound: secrets:")]
m = re.search(r"(\d+) messages read \((\d+) distinct\), (\d+) scanned, (\d+) malformed", summary[-1] if summary else "")
fail = []
if not m:
    fail.append("no summary line")
else:
    read, distinct, scanned, malformed = map(int, m.groups())
    if read != msgs: fail.append("read %d messages, independent count %d" % (read, msgs))
    warns = [l for l in err if "malformed message" in l and "warning" in l]
    if len(warns) != malformed: fail.append("%d malformed, %d warnings" % (malformed, len(warns)))
    keys = [re.sub(r"\(.*", "", w) for w in warns]
    if len(set(keys)) != len(keys): fail.append("a malformed message was reported twice")
    if not (0 < scanned <= read): fail.append("scanned %d of %d" % (scanned, read))
for line in open(work + "/out.jsonl", encoding="utf-8"):
    json.loads(line)  # every line is one valid JSON object
if fail:
    print("\n".join("FAIL: " + f for f in fail)); sys.exit(1)
print("corpus: %d messages read (%d distinct, %d scanned), %d malformed reported once each"
      % (read, distinct, scanned, malformed))
EOF

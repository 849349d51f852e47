#!/usr/bin/env bash
# bench/mail.sh [BUILD_DIR] -- the mail figures of issue 6, one thread, Release build:
#   1. header-only indexing, messages per CPU second (target >= 20k msg/s per core):
#      the Enron MH tree (4,020 files), SpamAssassin as one mbox (5,503
#      messages), and that mbox x4 (22,012 messages);
#   2. secret scanning, MB of decoded text per CPU second, with gitleaks'
#      full rule set (target >= 300 MB/s per core) and with mailhound's
#      default rules, over the decoded text of Enron + SpamAssassin + MimeKit.
# Needs ../shared/corpora (mail, gitleaks); builds BUILD_DIR (default
# build/mail-bench, gcc Release) when bench_mail is missing there.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/mail-bench}
if [ ! -x "$build/bench_mail" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc >/dev/null
  cmake --build "$build" -j2 --target bench_mail >/dev/null
fi
corp=../shared/corpora/mail
gl=../shared/corpora/gitleaks/gitleaks/gitleaks.toml
if [ ! -d "$corp" ] || [ ! -f "$gl" ]; then echo "bench/mail.sh: ../shared corpora absent"; exit 77; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$corp/spamassassin" "$work" <<'PY'
import os, sys
src, work = sys.argv[1], sys.argv[2]
parts = []
for root, dirs, files in os.walk(src):
    dirs.sort()
    for f in sorted(files):
        d = open(os.path.join(root, f), "rb").read()
        if d.startswith(b"From "):
            parts.append(d if d.endswith(b"\n") else d + b"\n")
one = b"\n".join(parts)
open(work + "/sa.mbox", "wb").write(one)
open(work + "/sa4.mbox", "wb").write(b"\n".join([one] * 4))
PY
echo "== header-only indexing (bench_mail index)"
"$build/bench_mail" index "$corp/enron/edgar427-inbox-lf"
"$build/bench_mail" index "$work/sa.mbox"
"$build/bench_mail" index "$work/sa4.mbox"
echo "== secret scanning of decoded text (bench_mail secrets)"
inputs=("$corp/enron/edgar427-inbox-lf" "$work/sa.mbox" "$corp/mimekit-testdata")
"$build/bench_mail" secrets "$gl" 3 "${inputs[@]}"
"$build/bench_mail" secrets rules/secrets/default.toml 3 "${inputs[@]}"

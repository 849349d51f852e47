#!/usr/bin/env bash
# tests/notify/test_notify_resume.sh -- `mailhound notify` killed and restarted
#
# On a simulated tenant (seed MH_RESUME_SEED, default 3; truth-derived
# scope, tests/notify/simscope.sh), tests/notify/resume.py kills notify with
# SIGKILL at every step of its write protocol (MAILHOUND_TEST_CRASH_AT=N,
# N = 1, 2, ... until a run finishes), restarts it, and requires DIR (package
# bytes, index.csv, STIX) and the ledger rows to equal an uninterrupted
# run's: for a first run, for a run with new evidence (supplements), for a
# second kill during recovery, for a repair of a damaged package, after a
# kill followed by changed inputs (invariants), and for SIGKILLs at
# wall-clock offsets. Also: a rerun on the same inputs is byte-identical and
# hands out nothing; supplements hold exactly the new messages; nothing is
# listed twice (packages and ledger). Runs use durability batches of 3
# packages (MAILHOUND_TEST_BATCH) so kills land between batches too.
# MH_RESUME_MSGS (default 40; 0 = the whole scope) bounds the scope so the
# sweep stays short.
# Exit 77 (skipped) without python3 or `mailhound simulate`.
set -uo pipefail
MH=${MH:?MH must name the mailhound binary}
src=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v python3 >/dev/null || { echo "python3 missing: skipped"; exit 77; }
"$MH" simulate --help >/dev/null 2>&1 || { echo "mailhound simulate unavailable: skipped"; exit 77; }
. "$src/tests/notify/simscope.sh"
# Process kills do not depend on the file system: use tmpfs when there is one
# (hundreds of runs, each syncing).
tmp=${TMPDIR:-/tmp}
[ -d /dev/shm ] && [ -w /dev/shm ] && tmp=/dev/shm
work=$(mktemp -d "$tmp/mh-notify-resume.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work" "$work"/*.log' EXIT
seed=${MH_RESUME_SEED:-3}
sim_scope "$work/sim" "$seed" || { echo "FAIL: simulate/scope seed $seed"; exit 1; }
python3 "$src/tests/notify/resume.py" "$MH" "$work" "$work/sim" \
  --msgs "${MH_RESUME_MSGS:-40}" --timed "${MH_RESUME_TIMED:-6}" --double 2 --batch 3

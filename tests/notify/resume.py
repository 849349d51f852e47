#!/usr/bin/env python3
"""tests/notify/resume.py -- kill-and-resume driver for test_notify_resume.sh

usage: resume.py MH WORKDIR SIMDIR [--msgs N] [--timed K] [--double D] [--batch B]

--batch B: MAILHOUND_TEST_BATCH=B for every run (B packages per durability
batch; compared once with the default batch: same bytes).

SIMDIR holds a simulated tenant with scope.json (tests/notify/simscope.sh).
Two scopes are derived from it, both deterministic: "full" (the first N
scoped messages by Message-ID; N=0: all) and "early" (full minus every third
message), so that "full" after "early" is new evidence for some
organisations. Checks, each against an uninterrupted reference run:

 1. rerun: early twice -> DIR byte-identical, "0 pairs handed out", ledger equal;
 2. new evidence: early then full -> every supplement holds exactly the
    organisation's new messages; nothing listed twice (packages and ledger);
 3. crash sweep, first run: for every step k of the write protocol
    (MAILHOUND_TEST_CRASH_AT=k, until a run finishes), kill at k, restart;
    DIR (every file, index.csv, STIX, package bytes) and the ledger rows equal
    the uninterrupted run's;
 4. crash sweep, run with new evidence (starting from the early state);
 5. kill during the early run, restart with the full scope (inputs changed
    after the kill): invariants only -- each organisation's packages together
    hold exactly its messages, each once; manifests verify; no leftovers;
 6. --timed K: K SIGKILLs at wall-clock offsets spread over a run (kills
    inside system calls and SQLite writes), restart, compare as in 3.
Prints the number of steps swept and the steps' names; exits 1 on failure.
"""
import csv
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

MH, WORK, SIM = sys.argv[1], sys.argv[2], sys.argv[3]
NMSGS = int(sys.argv[sys.argv.index("--msgs") + 1]) if "--msgs" in sys.argv else 0
TIMED = int(sys.argv[sys.argv.index("--timed") + 1]) if "--timed" in sys.argv else 0
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg, flush=True)


# ---- scopes ----
scope = json.load(open(os.path.join(SIM, "scope.json")))
pairs = sorted((m["message_id"], b["mailbox"]) for b in scope["mailboxes"] for m in b["messages"])
ids = sorted({p[0] for p in pairs})
if NMSGS:
    ids = ids[:NMSGS]
keep_full = set(ids)
keep_early = {x for i, x in enumerate(ids) if i % 3 != 2}


def write_scope(path, keep):
    s = json.loads(json.dumps(scope))
    for b in s["mailboxes"]:
        b["messages"] = [m for m in b["messages"] if m["message_id"] in keep]
    json.dump(s, open(path, "w"), sort_keys=True)


SCOPE_FULL = os.path.join(WORK, "scope-full.json")
SCOPE_EARLY = os.path.join(WORK, "scope-early.json")
write_scope(SCOPE_FULL, keep_full)
write_scope(SCOPE_EARLY, keep_early)
DATES = {SCOPE_EARLY: "2024-03-20", SCOPE_FULL: "2024-03-21"}


def cmd(scope_path, out):
    return [MH, "notify", "-q", "--scope", scope_path, "--mail", os.path.join(SIM, "mail"),
            "--out", out, "--tenant", os.path.join(SIM, "tenant.json"),
            "--contact", "ir@example.org", "--date", DATES[scope_path]]


BATCH = sys.argv[sys.argv.index("--batch") + 1] if "--batch" in sys.argv else ""


def run(scope_path, out, crash=0, batch=None):
    env = dict(os.environ)
    env.pop("MAILHOUND_TEST_CRASH_AT", None)
    env["MAILHOUND_TEST_BATCH"] = BATCH if batch is None else batch
    if crash:
        env["MAILHOUND_TEST_CRASH_AT"] = str(crash)
    p = subprocess.run(cmd(scope_path, out), env=env, capture_output=True, text=True)
    return p


def run_ok(scope_path, out, what, batch=None):
    p = run(scope_path, out, batch=batch)
    if p.returncode != 0:
        fail("%s: exit %d: %s" % (what, p.returncode, p.stderr.strip()[-500:]))
    return p


LEDGER_FILES = ("notify-ledger.db", "notify-ledger.db-wal", "notify-ledger.db-shm",
                "notify-ledger.db-journal")


def snapshot(out):
    """Every file under DIR (path -> sha256; directories too, so leftovers
    show) except the SQLite files, plus the ledger rows."""
    files = {}
    for root, dirs, fs in os.walk(out):
        rel = os.path.relpath(root, out)
        for d in dirs:
            files[os.path.normpath(os.path.join(rel, d)) + "/"] = "dir"
        for f in fs:
            if rel == "." and f in LEDGER_FILES:
                continue
            with open(os.path.join(root, f), "rb") as fh:
                files[os.path.normpath(os.path.join(rel, f))] = hashlib.sha256(fh.read()).hexdigest()
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(out, "notify-ledger.db"), uri=True)
    rows = {t: db.execute("SELECT * FROM %s ORDER BY 1, 2" % t).fetchall()
            for t in ("meta", "packages", "items")}
    db.close()
    return files, rows


def diff(a, b):
    fa, ra = a
    fb, rb = b
    out = []
    for k in sorted(set(fa) | set(fb)):
        if fa.get(k) != fb.get(k):
            out.append("file %s: %s vs %s" % (k, fa.get(k, "absent"), fb.get(k, "absent")))
    for t in ra:
        if ra[t] != rb[t]:
            out.append("ledger table %s differs (%d vs %d rows)" % (t, len(ra[t]), len(rb[t])))
    return out


def packages(out):
    """org dir -> list of (package dir, [message ids]) from messages.csv."""
    res = {}
    base = os.path.join(out, "packages")
    for org in sorted(os.listdir(base)):
        p = os.path.join(base, org)
        if not os.path.isdir(p):
            continue
        bags = [p] + [os.path.join(p, d) for d in sorted(os.listdir(p)) if d.startswith("supplement-")]
        res[org] = [(b, [r["message_id"] for r in csv.DictReader(
            open(os.path.join(b, "data", "messages.csv"), newline="", encoding="utf-8"))])
            for b in bags]
    return res


def verify_manifests(out):
    bad = []
    for org, bags in packages(out).items():
        for b, _ in bags:
            for man in ("tagmanifest-sha256.txt", "manifest-sha256.txt"):
                for line in open(os.path.join(b, man), encoding="utf-8"):
                    h, path = line.rstrip("\n").split("  ", 1)
                    with open(os.path.join(b, path), "rb") as fh:
                        if hashlib.sha256(fh.read()).hexdigest() != h:
                            bad.append(os.path.join(b, path))
    return bad


def check_invariants(out, expect, what):
    """expect: org dir -> set of message ids. Each org's packages together
    hold exactly those, each once; the ledger lists each pair once and
    agrees with the packages; manifests verify; no temp/old leftovers."""
    got = packages(out)
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(out, "notify-ledger.db"), uri=True)
    items = db.execute("SELECT org, message_id, seq FROM items").fetchall()
    db.close()
    ledger = {}
    for org, mid, seq in items:
        ledger.setdefault(org, []).append(mid)
    if set(got) != set(expect):
        fail("%s: organisations differ: extra %s missing %s" % (
            what, sorted(set(got) - set(expect))[:5], sorted(set(expect) - set(got))[:5]))
    for org, bags in got.items():
        allids = [m for _, ms in bags for m in ms]
        if len(allids) != len(set(allids)):
            fail("%s: %s lists a message twice" % (what, org))
        if set(allids) != expect.get(org, set()):
            fail("%s: %s holds %d messages, expected %d" % (what, org, len(set(allids)),
                                                            len(expect.get(org, set()))))
        if sorted(ledger.get(org, [])) != sorted(allids):
            fail("%s: %s: ledger (%d) and packages (%d) disagree" % (
                what, org, len(ledger.get(org, [])), len(allids)))
    bad = verify_manifests(out)
    if bad:
        fail("%s: manifest mismatch: %s" % (what, bad[:3]))
    for root, dirs, _ in os.walk(out):
        for d in dirs:
            if d.startswith(".mh-"):
                fail("%s: leftover %s" % (what, os.path.join(root, d)))


def fresh(name):
    p = os.path.join(WORK, name)
    shutil.rmtree(p, ignore_errors=True)
    return p


# ---- references ----
REF_E = fresh("ref-early")
p = run_ok(SCOPE_EARLY, REF_E, "reference early")
snap_e = snapshot(REF_E)
REF_EF = fresh("ref-early-full")
shutil.copytree(REF_E, REF_EF)
p = run_ok(SCOPE_FULL, REF_EF, "reference full after early")
snap_ef = snapshot(REF_EF)
REF_F = fresh("ref-full")
run_ok(SCOPE_FULL, REF_F, "reference full")
expect_full = {org: {m for _, ms in bags for m in ms} for org, bags in packages(REF_F).items()}
expect_early = {org: {m for _, ms in bags for m in ms} for org, bags in packages(REF_E).items()}
nsupp = sum(len(b) - 1 for b in packages(REF_EF).values())
print("scope: %d messages (early %d); organisations: early %d, full %d; supplements after new "
      "evidence: %d" % (len(keep_full), len(keep_early), len(expect_early), len(expect_full), nsupp))
if not nsupp:
    fail("the new evidence gave no supplement (nothing tested)")

# 0. the batch size (durability only) does not change a byte
p = run_ok(SCOPE_EARLY, fresh("batch-default"), "default batch", batch="")
d = diff(snap_e, snapshot(os.path.join(WORK, "batch-default")))
if d:
    fail("batch %s and the default batch give different output: %s" % (BATCH, d[:4]))

# 1. rerun on the same inputs
p = run_ok(SCOPE_EARLY, REF_E, "rerun early")
if "notify: 0 (organisation, message) pairs handed out now" not in p.stdout:
    fail("rerun handed something out: %s" % p.stdout)
d = diff(snap_e, snapshot(REF_E))
if d:
    fail("rerun changed DIR or the ledger: %s" % d[:5])

# 2. new evidence: supplements hold exactly the new messages
check_invariants(REF_EF, expect_full, "early+full")
for org, bags in packages(REF_EF).items():
    new = expect_full[org] - expect_early.get(org, set())
    supp = [m for b, ms in bags[1:] for m in ms] if org in expect_early else []
    if org in expect_early and set(supp) != new:
        fail("%s: supplements hold %d messages, %d are new" % (org, len(supp), len(new)))
    if len(bags) > 2:
        fail("%s: %d supplements from one rerun" % (org, len(bags) - 1))
# the supplement is what a fresh run would put there: the union is the full set
if set(expect_full) != {o for o in packages(REF_EF)}:
    fail("organisations after new evidence differ from a fresh full run")
p = run_ok(SCOPE_FULL, REF_EF, "rerun full")
if diff(snap_ef, snapshot(REF_EF)) or " 0 (organisation, message) pairs" not in p.stdout:
    fail("rerun after new evidence not idempotent")


# 3./4. crash sweeps
def sweep(what, scope_path, start, ref, until=None):
    """Kill a run (copy of START, or empty) at step k = 1, 2, ... and
    restart it; each restart, and the run that finishes unkilled, must equal
    REF. Stops at that unkilled run, or after the kill at step UNTIL (a
    crash point name). Returns (kills per crash point, the finished run or
    None)."""
    k, points, done = 0, {}, None
    while True:
        k += 1
        out = fresh("sweep")
        if start:
            shutil.copytree(start, out)
        p = run(scope_path, out, crash=k)
        if p.returncode == 0:
            if "test crash points: %d" % (k - 1) not in p.stderr:
                fail("%s: finished at k=%d: %s" % (what, k, p.stderr.strip()[-200:]))
            d = diff(ref, snapshot(out))
            if d:
                fail("%s: without a kill: %s" % (what, d[:4]))
            done = p
            break
        if p.returncode != -signal.SIGKILL:
            fail("%s: k=%d: exit %d: %s" % (what, k, p.returncode, p.stderr.strip()[-300:]))
            break
        name = p.stderr.rsplit("(", 1)[-1].split(")")[0]
        points[name] = points.get(name, 0) + 1
        r = run(scope_path, out)
        if r.returncode != 0:
            fail("%s: restart after step %d (%s): exit %d: %s" % (what, k, name, r.returncode,
                                                                  r.stderr.strip()[-300:]))
            continue
        d = diff(ref, snapshot(out))
        if d:
            fail("%s: after a kill at step %d (%s): %s" % (what, k, name, d[:4]))
        if name == until:
            break
    print("%s: %d steps swept, each killed and restarted: %s" % (
        what, sum(points.values()), ", ".join("%s %d" % kv for kv in sorted(points.items()))),
        flush=True)
    return points, done


sweep("crash sweep, first run", SCOPE_EARLY, None, snap_e)
sweep("crash sweep, new evidence", SCOPE_FULL, REF_E, snap_ef)

# 3b. kill again while recovering: the first kill leaves a batch of
# packages installed but unrecorded (ledger-before-commit), so the restart
# removes them as unrecorded leftovers and writes them again; kill the
# restart at each of its steps up to the end of that batch's transaction,
# then restart once more. The restart's first steps are that batch's: the
# earlier ones are recorded and intact and write nothing. Done for the
# first DOUBLE such kills (with batches there is one per batch).
DOUBLE = int(sys.argv[sys.argv.index("--double") + 1]) if "--double" in sys.argv else 3
k, done = 0, 0
while done < DOUBLE:
    k += 1
    out = fresh("double")
    p = run(SCOPE_EARLY, out, crash=k)
    if p.returncode == 0:
        break
    if "(ledger-before-commit)" not in p.stderr:
        continue
    first = fresh("double-first")
    shutil.copytree(out, first)
    done += 1
    sweep("double kill, first at step %d" % k, SCOPE_EARLY, first, snap_e, until="ledger-committed")

# 3c. repair under kills: an organisation's first package (which has a
# supplement) lost its tag manifest, so the rerun rebuilds it from the ledger
# over the damaged one (replace: the old directory is moved aside, its
# supplement moved into the new one). Kill at every step of that, restart.
victim = next((o for o, bags in sorted(packages(REF_EF).items()) if len(bags) > 1), None)
if victim is None:
    fail("no organisation with a supplement to repair")
else:
    damaged = fresh("damaged")
    shutil.copytree(REF_EF, damaged)
    os.unlink(os.path.join(damaged, "packages", victim, "tagmanifest-sha256.txt"))
    seen, r = sweep("repair of %s under kills" % victim, SCOPE_FULL, damaged, snap_ef)
    if r is not None and "1 rebuilt" not in r.stdout:
        fail("repair: the damaged package was not rebuilt: %s" % r.stdout)
    if "pkg-old-moved" not in seen:
        fail("repair never reached the replace step (pkg-old-moved)")

# 5. kill during the early run, restart with the full scope
k, n5 = 0, 0
while True:
    k += 3
    out = fresh("changed")
    p = run(SCOPE_EARLY, out, crash=k)
    if p.returncode == 0:
        break
    run_ok(SCOPE_FULL, out, "restart with changed inputs after step %d" % k)
    check_invariants(out, expect_full, "kill at %d, restart with new inputs" % k)
    n5 += 1
print("changed inputs after a kill: %d kill points (every 3rd step) checked" % n5)

# 6. wall-clock kills
if TIMED:
    out = fresh("timed")
    t0 = time.monotonic()
    run_ok(SCOPE_EARLY, out, "timing run")
    wall = time.monotonic() - t0
    landed = 0
    for i in range(TIMED):
        out = fresh("timed")
        delay = wall * (i + 0.5) / TIMED
        pr = subprocess.Popen(cmd(SCOPE_EARLY, out), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        time.sleep(delay)
        pr.send_signal(signal.SIGKILL)
        landed += pr.wait() == -signal.SIGKILL
        run_ok(SCOPE_EARLY, out, "restart after a timed kill")
        d = diff(snap_e, snapshot(out))
        if d:
            fail("after a SIGKILL at %.0f ms: %s" % (delay * 1000, d[:4]))
    print("timed kills: %d of %d landed inside the run (run %.0f ms)" % (landed, TIMED, wall * 1000))

if failures:
    print("%d failures" % len(failures))
    sys.exit(1)
print("ok: kill-and-resume, rerun and new-evidence runs equal the uninterrupted ones")

#!/usr/bin/env python3
"""tests/notify/property.py -- packages vs. the mail store and truth.json

usage: property.py SIMDIR OUTDIR FREEMAIL_TXT SEED

An oracle written apart from src/notify: it reads the mail store (mbox files
under SIMDIR/mail) with Python's email parser, works out each message's
organisations from its headers (tenant.json internal domains, partners and
mailing lists; rules/notify/freemail.txt; the public suffix list for the rest)
and checks OUTDIR/packages:

  * every package of an organisation holds only messages where that
    organisation is a party: From, Sender, Reply-To, To, Cc, or Bcc (a Bcc'd
    address makes its own organisation a party, no other), or the host of the
    message's List-Id;
  * no shipped .eml has a header field whose name contains "bcc", in any
    MIME part; apart from those, its header fields are the original's;
  * the organisations and their message ids equal truth.json "notify";
  * the message ids in messages.csv are those of the .eml files, and its
    "addresses" column names only the organisation's own addresses.
Prints per-seed counts; exits 1 on any difference (listing the first ones).
"""
import csv
import email
import email.policy
import email.utils
import json
import mailbox
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from orgrules import Rules  # noqa: E402

SIM, OUT, FREEMAIL, SEED = sys.argv[1:5]
tenant = json.load(open(os.path.join(SIM, "tenant.json")))
truth = json.load(open(os.path.join(SIM, "truth.json")))
problems = []


def problem(msg):
    problems.append(msg)


# ---- organisation oracle ----
def under(dom, parent):
    return dom == parent or dom.endswith("." + parent)


internal = [d.lower() for d in tenant.get("internal_domains", [])]
partners = []  # (domain, key, freemail)
for p in tenant.get("partners", []):
    for d in p.get("domains", []):
        partners.append((d.lower(), p["key"], bool(p.get("freemail"))))
lists = {m["list_id"].lower(): m["key"] for m in tenant.get("mailing_lists", [])}
rules = Rules(FREEMAIL)


def org_of(addr):
    addr = addr.strip().strip("<>")
    if "@" not in addr:
        return None
    local, dom = addr.rsplit("@", 1)
    dom = dom.lower().rstrip(".")
    if any(under(dom, d) for d in internal):
        return None
    best = None
    for d, key, free in partners:
        if under(dom, d) and (best is None or len(d) > len(best[0])):
            best = (d, key, free)
    if best:
        return (local + "@" + dom).lower() if best[2] else best[1]
    reg = rules.registrable(dom, fallback=True)
    if reg is None:
        return None
    return (local + "@" + dom).lower() if rules.freemail(dom, reg) else reg


PARTY = ("from", "sender", "reply-to", "to", "cc", "bcc")


def parties(msg):
    orgs = set()
    for h in PARTY:
        vals = msg.get_all(h) or []
        for _, a in email.utils.getaddresses([str(v) for v in vals]):
            o = org_of(a)
            if o:
                orgs.add(o)
    lid = msg.get("List-Id")
    if lid:
        m = re.search(r"<([^>]+)>", str(lid))
        key = lists.get((m.group(1) if m else str(lid)).strip().lower())
        if key:
            orgs.add(key)
    return orgs


# ---- the mail store ----
store = {}  # message id -> list of messages (every copy)
for f in sorted(os.listdir(os.path.join(SIM, "mail"))):
    for m in mailbox.mbox(os.path.join(SIM, "mail", f), create=False):
        mid = (m.get("Message-ID") or "").strip()
        if mid:
            store.setdefault(mid, []).append(m)

# ---- the packages ----
got = {}
nmsg = nbcc_orig = 0
pkgroot = os.path.join(OUT, "packages")
for org in sorted(os.listdir(pkgroot)):
    base = os.path.join(pkgroot, org)
    if not os.path.isdir(base):
        continue
    bags = [base] + [os.path.join(base, d) for d in sorted(os.listdir(base))
                     if d.startswith("supplement-")]
    key = None
    for bag in bags:
        info = open(os.path.join(bag, "bag-info.txt"), encoding="utf-8").read()
        key = re.search(r"^Bag-Group-Identifier: (.*)$", info, re.M).group(1)
        rows = list(csv.DictReader(open(os.path.join(bag, "data", "messages.csv"),
                                        newline="", encoding="utf-8")))
        emls = sorted(os.listdir(os.path.join(bag, "data", "messages")))
        if len(emls) != len(rows):
            problem("%s: %d .eml files, %d csv rows" % (bag, len(emls), len(rows)))
        for e, row in zip(emls, rows):
            raw = open(os.path.join(bag, "data", "messages", e), "rb").read()
            shipped = email.message_from_bytes(raw, policy=email.policy.compat32)
            mid = (shipped.get("Message-ID") or "").strip()
            if mid.strip("<>") != row["message_id"].strip("<>"):
                problem("%s/%s: Message-ID %s, csv says %s" % (bag, e, mid, row["message_id"]))
            for part in shipped.walk():
                for name in part.keys():
                    if "bcc" in name.lower():
                        problem("%s/%s: a %s field survived" % (bag, e, name))
            copies = store.get(mid) or store.get("<%s>" % mid.strip("<>")) or []
            if not copies:
                problem("%s/%s: %s not in the mail store" % (bag, e, mid))
                continue
            # the shipped bytes are one stored copy minus its Bcc fields
            want = [(k.lower(), str(v)) for k, v in shipped.items()]
            if not any([(k.lower(), str(v)) for k, v in c.items() if "bcc" not in k.lower()] == want
                       for c in copies):
                problem("%s/%s: header fields differ from every stored copy (beyond Bcc)" % (bag, e))
            # parties: every copy of the message in the store (a Bcc field is
            # only in the sender's copy, yet its organisation received it)
            ps = set().union(*(parties(c) for c in copies))
            nbcc_orig += any("bcc" in k.lower() for c in copies for k in c.keys())
            if key not in ps:
                problem("%s/%s: %s is not a party (parties: %s)" % (bag, e, key, sorted(ps)))
            # messages.csv names only this organisation's addresses (a Bcc'd
            # address is shown to its own organisation, never to another)
            for ra in filter(None, row["addresses"].split(";")):
                role, a = ra.split(":", 1)
                if role != "list" and org_of(a) != key:
                    problem("%s/%s: addresses lists %s, not of %s" % (bag, e, ra, key))
            got.setdefault(key, []).append(mid)
            nmsg += 1

# ---- against truth.json ----
tn = {k: sorted(v) for k, v in truth["notify"].items()}
dups = {k: len(v) - len(set(v)) for k, v in got.items() if len(v) != len(set(v))}
for k, n in dups.items():
    problem("%s: %d messages listed twice" % (k, n))
gs = {k: sorted(set(v)) for k, v in got.items()}
extra_o, missing_o = sorted(set(gs) - set(tn)), sorted(set(tn) - set(gs))
pairs_t = sum(len(v) for v in tn.values())
pairs_g = sum(len(v) for v in gs.values())
both = [k for k in tn if k in gs]
diff_o = [k for k in both if gs[k] != tn[k]]
print("seed %s: organisations truth %d, packaged %d; (org, message) pairs truth %d, packaged %d; "
      "%d shipped .eml (%d from originals with Bcc), %d organisations differ"
      % (SEED, len(tn), len(gs), pairs_t, pairs_g, nmsg, nbcc_orig,
         len(extra_o) + len(missing_o) + len(diff_o)))
for k in extra_o[:5]:
    problem("organisation not in truth: %s (%d messages)" % (k, len(gs[k])))
for k in missing_o[:5]:
    problem("organisation in truth without a package: %s (%d messages)" % (k, len(tn[k])))
for k in diff_o[:5]:
    problem("%s: extra %s missing %s" % (k, sorted(set(gs[k]) - set(tn[k]))[:3],
                                         sorted(set(tn[k]) - set(gs[k]))[:3]))
if not tn:
    problem("truth lists no organisation to notify (nothing tested)")
for p in problems[:20]:
    print("  FAIL:", p)
sys.exit(1 if problems else 0)

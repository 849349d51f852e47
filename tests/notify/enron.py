#!/usr/bin/env python3
"""tests/notify/enron.py -- helper of test_notify_enron.sh

usage: enron.py scope CORPUS OWNERS... > scope.json
       enron.py check CORPUS OUTDIR FREEMAIL_TXT OWNERS...

scope: every message file of the owners' mailboxes (maildir/<owner>/...) as
  observed, one scope.json mailbox per owner; files without a Message-ID are
  left out (a scope needs an id) and counted on stderr.
check: the MANIFEST.tsv rows of those files (those with a Message-ID) name
  the external domains seen in their headers; each must have its package:
  a free-mail domain (rules/notify/freemail.txt) -> at least one individual
  package <address>@<that domain>, and none keyed by the domain; any other
  domain -> the package of its registrable domain (public suffix list), whose
  messages.csv lists one of the domain's messages; individual packages only
  at free-mail domains. Prints counts; exit 1 on a missing or wrong package.
"""
import csv
import email
import email.policy
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from orgrules import Rules  # noqa: E402

mode, corpus = sys.argv[1], sys.argv[2]


def owner_files(owners):
    rows = list(csv.DictReader(open(os.path.join(corpus, "MANIFEST.tsv"), newline=""),
                               delimiter="\t"))
    out = []
    for r in rows:
        parts = r["path"].split("/")
        if len(parts) >= 3 and parts[1] in owners:
            out.append((parts[1], r))
    return out


def message_id(path):
    with open(path, "rb") as fh:
        m = email.message_from_binary_file(fh, policy=email.policy.compat32)
    v = m.get("Message-ID")
    if not v:
        return None
    mm = re.search(r"<[^>]*>", re.sub(r"\s+", "", str(v)))
    return mm.group(0) if mm else None


if mode == "scope":
    owners = set(sys.argv[3:])
    boxes, noid = {}, 0
    for owner, r in owner_files(owners):
        mid = message_id(os.path.join(corpus, r["path"]))
        if not mid:
            noid += 1
            continue
        boxes.setdefault(owner, []).append(
            {"message_id": mid, "mailbox": owner, "confidence": "observed",
             "evidence": [{"basis": "bind", "file": "owners.txt", "record": 1}]})
    json.dump({"scope_version": 1,
               "incidents": [{"id": "ENRON-TEST", "first_seen": "2001-01-01T00:00:00Z",
                              "last_seen": "2002-01-01T00:00:00Z", "context": {}}],
               "mailboxes": [{"mailbox": b, "messages": boxes[b]} for b in sorted(boxes)]},
              sys.stdout, sort_keys=True)
    sys.stderr.write("scope: %d messages of %d mailboxes (%d files without Message-ID left out)\n"
                     % (sum(len(v) for v in boxes.values()), len(boxes), noid))
    sys.exit(0)

outdir, freemail_txt, owners = sys.argv[3], sys.argv[4], set(sys.argv[5:])
rules = Rules(freemail_txt)
registrable, freemail = rules.registrable, rules.freemail

# packages: key -> set of message ids (every bag of the org)
pkgs = {}
for org in os.listdir(os.path.join(outdir, "packages")):
    base = os.path.join(outdir, "packages", org)
    if not os.path.isdir(base):
        continue
    info = open(os.path.join(base, "bag-info.txt"), encoding="utf-8").read()
    key = re.search(r"^Bag-Group-Identifier: (.*)$", info, re.M).group(1)
    pkgs[key] = {r["message_id"] for r in csv.DictReader(
        open(os.path.join(base, "data", "messages.csv"), newline="", encoding="utf-8"))}
individuals = {k for k in pkgs if "@" in k}

domains = {}  # external domain -> message ids whose headers name it
for owner, r in owner_files(owners):
    mid = message_id(os.path.join(corpus, r["path"]))
    if not mid:
        continue
    for d in filter(None, r["external_domains"].split(",")):
        domains.setdefault(d.lower(), set()).add(mid)

missing, unregistrable, nfree, norg = [], [], 0, 0
for d in sorted(domains):
    reg = registrable(d)
    if reg is None:
        unregistrable.append(d)  # a public suffix or a single label: invalid by design
        continue
    if freemail(d, reg):
        nfree += 1
        if not any(k.endswith("@" + d) for k in individuals) or d in pkgs or reg in pkgs:
            missing.append("%s (free-mail: no individual package, or one keyed by the domain)" % d)
        continue
    norg += 1
    if reg not in pkgs:
        missing.append("%s (no package %s)" % (d, reg))
    elif not (pkgs[reg] & domains[d]):
        missing.append("%s (package %s holds none of its %d messages)" % (d, reg, len(domains[d])))
for k in sorted(pkgs):
    d = k.rsplit("@", 1)[1] if "@" in k else k
    reg = registrable(d)
    if ("@" in k) != bool(reg and freemail(d, reg)):
        missing.append("package %s: %s" % (k, "an individual at a non-free-mail domain" if "@" in k
                                          else "keyed by a free-mail domain"))
print("enron: %d mailboxes; MANIFEST names %d external domains: %d organisation domains, %d "
      "free-mail domains, %d not registrable; packages: %d (%d organisations, %d individuals); "
      "%d domains without their package"
      % (len(owners), len(domains), norg, nfree, len(unregistrable), len(pkgs),
         len(pkgs) - len(individuals), len(individuals), len(missing)))
if unregistrable:
    print("  not registrable (invalid by design):", ", ".join(unregistrable[:10]))
for m in missing[:20]:
    print("  FAIL:", m)
sys.exit(1 if missing else 0)

#!/usr/bin/env python3
"""tests/investigate/check.py SIMDIR OUTDIR LABEL RULEMODE -- investigate output vs truth.json

Prints one line of figures; exit 1 on any difference or property violation.
  exactness: packages/<org>/data/messages.csv (org -> message ids) == truth "notify";
             secrets.jsonl findings in exfiltrated messages == truth "secrets"
             (message_id, rule, fingerprint) -- RULEMODE "gitleaks": exact triples;
             "default": mailhound's own rule ids differ from gitleaks' names, so
             (message_id, fingerprint) pairs are compared and the rule pairs shown.
  properties (every package): each .eml's organisation is a party (an address of
             From/Sender/Reply-To/To/Cc or the List-Id host maps to it, or
             messages.csv names it as a Bcc recipient of that message); no Bcc
             header in any .eml, embedded messages included.
"""
import csv, email, email.policy, email.utils, json, os, sys

sim, out, label, rulemode = sys.argv[1:5]
truth = json.load(open(os.path.join(sim, "truth.json")))
tenant = json.load(open(os.path.join(sim, "tenant.json")))
partner = {}
for p in tenant.get("partners", []):
    for d in p.get("domains", []):
        partner[d.lower()] = p["key"]
bad = []

def maps_to(value, key):
    v = value.lower().strip()
    if "@" in key:
        return v == key.lower()
    host = v.rsplit("@", 1)[-1]
    if host == key or host.endswith("." + key):
        return True
    for d, k in partner.items():
        if k == key and (host == d or host.endswith("." + d)):
            return True
    return False

got = {}
pk = os.path.join(out, "packages")
nemls = 0
for org in sorted(os.listdir(pk)) if os.path.isdir(pk) else []:
    mcsv = os.path.join(pk, org, "data", "messages.csv")
    if not os.path.isfile(mcsv):
        continue
    rows = {r["message_id"]: r for r in csv.DictReader(open(mcsv, newline="", encoding="utf-8"))}
    got[org] = set(rows)
    mdir = os.path.join(pk, org, "data", "messages")
    for name in sorted(os.listdir(mdir)):
        nemls += 1
        raw = open(os.path.join(mdir, name), "rb").read()
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        for part in msg.walk():
            if part.get_all("Bcc") is not None:
                bad.append("%s/%s: Bcc header" % (org, name))
        mid = (msg.get("Message-ID") or "").strip()
        row = rows.get(mid)
        if row is None:
            bad.append("%s/%s: Message-ID %s not in messages.csv" % (org, name, mid))
            continue
        vals = []
        for h in ("From", "Sender", "Reply-To", "To", "Cc"):
            vals += [a for _, a in email.utils.getaddresses(msg.get_all(h, [])) if a]
        lid = msg.get("List-Id")
        if lid and "<" in lid:
            vals.append(lid.split("<", 1)[1].split(">", 1)[0])
        bcc = [a.split(":", 1)[1] for a in row["addresses"].split(";") if a.startswith("bcc:")]
        if not any(maps_to(v, org) for v in vals + bcc):
            bad.append("%s/%s: organisation is not a party of %s" % (org, name, mid))

tn = {k: set(v) for k, v in truth["notify"].items()}
pairs_t = {(o, m) for o, v in tn.items() for m in v}
pairs_g = {(o, m) for o, v in got.items() for m in v}
ex = set(truth["exfiltrated"])
found = [json.loads(l) for l in open(os.path.join(out, "secrets.jsonl"))]
if rulemode == "gitleaks":
    st = {(s["message_id"], s["rule"], s["fingerprint"]) for s in truth["secrets"]}
    sg = {(s["message_id"], s["rule"], s["fingerprint"]) for s in found if s["message_id"] in ex}
else:
    st = {(s["message_id"], s["fingerprint"]) for s in truth["secrets"]}
    sg = {(s["message_id"], s["fingerprint"]) for s in found if s["message_id"] in ex}
    names = sorted({(t["rule"], s["rule"]) for t in truth["secrets"] for s in found
                    if (t["message_id"], t["fingerprint"]) == (s["message_id"], s["fingerprint"])})
print("%s: orgs truth %d got %d; (org, message) truth %d got %d (missing %d, extra %d); "
      "secrets truth %d got %d (missing %d, extra %d; %d findings in all scoped messages); "
      "%d packages, %d .eml checked, %d property violations"
      % (label, len(tn), len(got), len(pairs_t), len(pairs_g), len(pairs_t - pairs_g),
         len(pairs_g - pairs_t), len(st), len(sg), len(st - sg), len(sg - st), len(found),
         len(got), nemls, len(bad)))
if rulemode != "gitleaks":
    print("  (default rules: compared message+fingerprint; truth rule -> mailhound rule: %s)"
          % ", ".join("%s->%s" % n for n in names))
ok = not bad and pairs_t == pairs_g and st == sg and set(tn) == set(got)
for x in sorted(set(tn) - set(got))[:10]: print("  missing org:", x)
for x in sorted(set(got) - set(tn))[:10]: print("  extra org:  ", x)
for x in sorted(pairs_t - pairs_g)[:5]: print("  missing:", x)
for x in sorted(pairs_g - pairs_t)[:5]: print("  extra:  ", x)
for x in sorted(st - sg)[:5]: print("  missing secret:", x)
for x in sorted(sg - st)[:5]: print("  extra secret:  ", x)
for x in bad[:10]: print("  VIOLATION:", x)
sys.exit(0 if ok else 1)

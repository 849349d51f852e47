#!/usr/bin/env python3
"""tests/sim/check_sim.py -- independent checker of `mailhound simulate` output

Reads a simulate output directory with the Python standard library only and
checks, without trusting the generator's own bookkeeping:

  formats   every log file parses in its container (JSON Lines, Azure Monitor
            {"records":[..]}, Graph {"value":[..]}, Purview 8-column CSV with
            "" quoting and the trailing-space CreationDate, message trace
            UTF-16LE without BOM); UAL CreationTime has no zone; directory
            operations in the UAL end with '.'; uniqueTokenIdentifier is the
            base64url (no padding) of the sign-in id's little-endian bytes.
  truth     every malicious reference points at an existing record that
            carries an attacker address or attacker app id; every record
            with an attacker address is referenced (completeness); steps have
            first <= last; every exfiltrated id is in some mbox and in an
            attacker Bind record or in a folder Sync'd in attacker context,
            and every message of those is in `exfiltrated`; `notify` equals
            the organisations recomputed from the message headers (From,
            Sender, Reply-To, To, Cc, Bcc) with keys from tenant.json;
            every secret is found in its decoded message by the gitleaks
            regex of its rule with the given SHA-256 and enough entropy.
  tokens    every non-attacker MailItemsAccessed/Send token (UniqueTokenId,
            AADSessionId) was issued by a sign-in within the D14 window;
            every Storm-0558 token was not.
  mail      every InternetMessageId of a Bind/Send record and every trace
            message_id is a Message-ID of some mbox message.

Usage: check_sim.py check DIR
       check_sim.py none DIR_ALL DIR_NONE   (no attacker entity of DIR_ALL in DIR_NONE, and
                                             every record of DIR_NONE is in DIR_ALL)
       check_sim.py variants DIR...         (the MB grant variant differs across DIRs)
Exit 0 when everything holds, 1 with a list of failures otherwise.
"""
import base64
import csv
import email
import email.policy
import glob
import hashlib
import io
import json
import math
import mailbox
import os
import re
import sys
import uuid
from datetime import datetime, timezone, timedelta

csv.field_size_limit(1 << 30)
FAIL = []


def fail(msg):
    if len(FAIL) < 200:
        FAIL.append(msg)


# gitleaks rules planted by the simulator (gitleaks.toml @ b58d3f10); compared
# with ../shared/corpora/gitleaks/gitleaks/gitleaks.toml when present.
RULES = {
    "aws-access-token": (r"""\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b""", 3.0),
    "github-pat": (r"""ghp_[0-9a-zA-Z]{36}""", 3.0),
    "slack-bot-token": (r"""xoxb-[0-9]{10,13}-[0-9]{10,13}[a-zA-Z0-9-]*""", 3.0),
    "azure-ad-client-secret": (
        r"""(?:^|[\\'"\x60\s>=:(,)])([a-zA-Z0-9_~.]{3}\dQ~[a-zA-Z0-9_~.-]{31,34})(?:$|[\\'"\x60\s<),])""",
        3.0),
    "generic-api-key": (
        r"""(?i)[\w.-]{0,50}?(?:access|auth|(?-i:[Aa]pi|API)|credential|creds|key|passw(?:or)?d|secret|token)(?:[ \t\w.-]{0,20})[\s'"]{0,3}(?:=|>|:{1,3}=|\|\||:|=>|\?=|,)[\x60'"\s=]{0,5}([\w.=-]{10,150}|[a-z0-9][a-z0-9+/]{11,}={0,3})(?:[\x60'"\s;]|\\[nr]|$)""",
        3.5),
}
GITLEAKS = os.path.join(os.environ.get("MH_SRC", "."), "..", "shared", "corpora", "gitleaks",
                        "gitleaks", "gitleaks.toml")


def check_rules_against_toml():
    if not os.path.exists(GITLEAKS):
        return
    import tomllib
    with open(GITLEAKS, "rb") as f:
        cfg = tomllib.load(f)
    by_id = {r["id"]: r for r in cfg["rules"]}
    for rid, (rx, ent) in RULES.items():
        r = by_id.get(rid)
        if not r:
            fail(f"gitleaks.toml has no rule {rid}")
        elif r["regex"] != rx:
            fail(f"rule {rid}: regex differs from gitleaks.toml")
        elif float(r.get("entropy", 0)) != ent:
            fail(f"rule {rid}: entropy differs from gitleaks.toml")
        if rid == "generic-api-key":
            global STOPWORDS
            STOPWORDS = [w.lower() for a in r.get("allowlists", []) for w in a.get("stopwords", [])]


STOPWORDS = []


def entropy(s):
    if not s:
        return 0.0
    n = len(s)
    cnt = {}
    for ch in s:
        cnt[ch] = cnt.get(ch, 0) + 1
    return -sum(c / n * math.log2(c / n) for c in cnt.values())


def uti_of(guid_text):
    return base64.urlsafe_b64encode(uuid.UUID(guid_text).bytes_le).decode().rstrip("=")


def parse_time(s):
    s = s.strip()
    if s.endswith("Z"):
        s = s[:-1]
    if "+" in s[10:]:
        s = s[:s.index("+", 10)]
    if "." in s:
        head, frac = s.split(".")
        s = head + "." + frac[:6]
        return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc)
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)


# ------------------------------------------------------------------ loading

class Out:
    def __init__(self, d):
        self.dir = d
        self.files = {}      # rel -> list of record texts (as the reader counts them)
        self.objs = {}       # rel -> list of parsed objects
        with open(os.path.join(d, "tenant.json"), encoding="utf-8") as f:
            self.tenant = json.load(f)
        with open(os.path.join(d, "truth.json"), encoding="utf-8") as f:
            self.truth = json.load(f)
        self.load_logs()
        self.load_mail()

    def add(self, rel, texts, objs):
        self.files[rel] = texts
        self.objs[rel] = objs

    def load_logs(self):
        d = self.dir
        for p in sorted(glob.glob(os.path.join(d, "logs/ual/*.jsonl"))):
            rel = os.path.relpath(p, d)
            texts, objs = [], []
            with open(p, "rb") as f:
                data = f.read()
            if not data.endswith(b"\n") and data:
                fail(f"{rel}: no final newline")
            for i, line in enumerate(data.decode("utf-8").split("\n")[:-1]):
                try:
                    o = json.loads(line)
                except ValueError as e:
                    fail(f"{rel}:{i + 1}: bad JSON: {e}")
                    o = {}
                texts.append(line)
                objs.append(o)
                ct = o.get("CreationTime", "")
                if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", ct):
                    fail(f"{rel}:{i + 1}: CreationTime {ct!r}")
                if o.get("RecordType") == 8 and not o.get("Operation", "").endswith("."):
                    fail(f"{rel}:{i + 1}: directory operation without trailing dot")
            self.add(rel, texts, objs)
        for pat, key in (("logs/signin/*.json", "records"), ("logs/audit/*.json", "value")):
            for p in sorted(glob.glob(os.path.join(d, pat))):
                rel = os.path.relpath(p, d)
                with open(p, encoding="utf-8") as f:
                    try:
                        o = json.load(f)
                    except ValueError as e:
                        fail(f"{rel}: bad JSON: {e}")
                        continue
                arr = o.get(key)
                if not isinstance(arr, list):
                    fail(f"{rel}: no {key} array")
                    continue
                if key == "value" and "@odata.context" not in o:
                    fail(f"{rel}: Graph page without @odata.context")
                self.add(rel, [json.dumps(x) for x in arr], arr)
        p = os.path.join(d, "logs/ual-purview.csv")
        with open(p, "rb") as f:
            raw = f.read()
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
        hdr = ["RecordId", "CreationDate", "RecordType", "Operation", "UserId", "AuditData",
               "AssociatedAdminUnits", "AssociatedAdminUnitsNames"]
        if rows[0] != hdr:
            fail(f"purview header {rows[0]}")
        texts, objs = [], []
        for i, r in enumerate(rows[1:]):
            if len(r) != 8:
                fail(f"purview row {i + 1}: {len(r)} columns")
                continue
            a = json.loads(r[5])
            if r[0] != a.get("Id") or r[3] != a.get("Operation") or int(r[2]) != a.get("RecordType"):
                fail(f"purview row {i + 1}: columns disagree with AuditData")
            if not r[1].endswith("Z ") or not r[1].startswith(a["CreationTime"]):
                fail(f"purview row {i + 1}: CreationDate {r[1]!r}")
            texts.append(r[5])
            objs.append(a)
        self.add("logs/ual-purview.csv", texts, objs)
        p = os.path.join(d, "logs/trace.csv")
        with open(p, "rb") as f:
            raw = f.read()
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            fail("trace.csv has a BOM (downloaded reports have none)")
        if raw[1:2] != b"\x00":
            fail("trace.csv is not UTF-16LE")
        text = raw.decode("utf-16-le")
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        self.trace = rows
        self.add("logs/trace.csv", [json.dumps(r) for r in rows], rows)

    def load_mail(self):
        self.msgs = {}     # msgid -> list of (mailbox, email.message, from-line time)
        self.noid = 0
        for p in sorted(glob.glob(os.path.join(self.dir, "mail/*.mbox"))):
            owner = os.path.basename(p)[:-5]
            mb = mailbox.mbox(p, create=False)
            for key in mb.iterkeys():
                raw = mb.get_bytes(key)
                fl = mb.get_message(key).get_from()
                m = email.message_from_bytes(raw, policy=email.policy.default)
                when = datetime.strptime(" ".join(fl.split()[-5:]), "%a %b %d %H:%M:%S %Y") \
                    .replace(tzinfo=timezone.utc)
                mid = m.get("Message-ID")
                if not mid:
                    self.noid += 1
                    continue
                self.msgs.setdefault(str(mid).strip(), []).append((owner, m, when))
            mb.close()

    def record(self, rel, n):
        t = self.files.get(rel)
        if t is None or n < 1 or n > len(t):
            return None, None
        return t[n - 1], self.objs[rel][n - 1]


# ------------------------------------------------------------------ checks

def all_records(o):
    for rel, objs in o.objs.items():
        for i, x in enumerate(objs):
            yield rel, i + 1, o.files[rel][i], x


def props(r):
    return r.get("properties", r)


def check_tokens(o, malicious):
    signins = {}
    sessions = {}
    for rel, objs in o.objs.items():
        if not rel.startswith("logs/signin/"):
            continue
        for x in objs:
            p = x["properties"]
            if p["uniqueTokenIdentifier"] != uti_of(p["id"]):
                fail(f"{rel}: uniqueTokenIdentifier {p['uniqueTokenIdentifier']} != encoding of {p['id']}")
            if x["resultType"] != str(p["status"]["errorCode"]):
                fail(f"{rel}: resultType/status disagree")
            if p["status"]["errorCode"] == 0:
                signins[p["uniqueTokenIdentifier"]] = parse_time(p["createdDateTime"])
            if p.get("sessionId"):
                sessions.setdefault(p["sessionId"], parse_time(p["createdDateTime"]))
    checked = 0
    for rel, n, text, x in all_records(o):
        ctx = x.get("AppAccessContext") if isinstance(x, dict) else None
        if not ctx or rel.endswith(".csv"):
            continue
        storm = malicious.get((rel, n)) == "storm-0558"
        uti = ctx["UniqueTokenId"]
        issued = parse_time(ctx["IssuedAtTime"])
        sid = ctx.get("AADSessionId")
        if storm:
            if uti in signins:
                fail(f"{rel}:{n}: Storm-0558 token {uti} was issued by a sign-in")
            if sid and sid in sessions:
                fail(f"{rel}:{n}: Storm-0558 session {sid} known to sign-ins")
            continue
        t = signins.get(uti)
        if t is None:
            fail(f"{rel}:{n}: token {uti} issued by no sign-in")
        elif not (issued - timedelta(minutes=1) <= t <= issued + timedelta(minutes=10)):
            fail(f"{rel}:{n}: sign-in {t} outside the D14 window of IssuedAtTime {issued}")
        if sid and sid not in sessions:
            fail(f"{rel}:{n}: session {sid} unknown to sign-ins")
        checked += 1
    return checked


def org_index(o):
    dom = {}
    free = set()
    for p in o.tenant["partners"]:
        for d in p["domains"]:
            dom[d.lower()] = p["key"]
            if p["freemail"]:
                free.add(d.lower())
    for l in o.tenant.get("mailing_lists", []):
        dom[l["key"].lower()] = l["key"]
    internal = {d.lower() for d in o.tenant["internal_domains"]}
    return dom, free, internal


def org_of(addr, idx):
    dom, free, internal = idx
    addr = addr.lower()
    d = addr.rsplit("@", 1)[-1]
    labels = d.split(".")
    for i in range(len(labels) - 1):
        cand = ".".join(labels[i:])
        if cand in internal:
            return None
        if cand in free:
            return addr
        if cand in dom:
            return dom[cand]
    fail(f"address {addr}: no organisation in tenant.json")
    return None


def parties(copies, idx):
    orgs = set()
    for _, m, _ in copies:
        for h in ("From", "Sender", "Reply-To", "To", "Cc", "Bcc"):
            for v in m.get_all(h, []):
                for a in v.addresses:
                    k = org_of(a.addr_spec, idx)
                    if k:
                        orgs.add(k)
    return orgs


def decoded_texts(m):
    for part in m.walk():
        if part.is_multipart():
            continue
        ct = part.get_content_type()
        if ct.startswith("text/"):
            try:
                yield part.get_content()
            except (LookupError, ValueError):
                yield part.get_payload(decode=True).decode("utf-8", "replace")
        else:
            data = part.get_payload(decode=True) or b""
            yield data.decode("utf-8", "replace")


def check_secrets(o, exfil):
    for s in o.truth["secrets"]:
        mid = s["message_id"]
        if mid not in exfil:
            fail(f"secret of {mid}: message not exfiltrated")
        rule = RULES.get(s["rule"])
        if not rule or mid not in o.msgs:
            fail(f"secret of {mid}: unknown rule {s['rule']} or message not in any mbox")
            continue
        rx = re.compile(rule[0])
        found = False
        for text in decoded_texts(o.msgs[mid][0][1]):
            for mt in rx.finditer(text):
                sec = next((g for g in mt.groups() if g), None) if mt.groups() else mt.group(0)
                sec = sec.strip("\n")
                if hashlib.sha256(sec.encode()).hexdigest() != s["fingerprint"]:
                    continue
                if entropy(sec) <= rule[1]:
                    fail(f"secret of {mid}: entropy {entropy(sec):.2f} <= {rule[1]}")
                if s["rule"] == "generic-api-key":
                    if any(w in sec.lower() for w in STOPWORDS):
                        fail(f"secret of {mid}: contains a generic-api-key stopword")
                    if re.fullmatch(r"[a-zA-Z_.-]+", sec):
                        fail(f"secret of {mid}: letters only (allowlisted)")
                found = True
        if not found:
            fail(f"secret {s['rule']} of {mid}: no regex match with fingerprint {s['fingerprint'][:12]}")


def check(d):
    check_rules_against_toml()
    o = Out(d)
    t = o.truth
    for k in ("scenarios", "malicious", "steps", "compromised", "exfiltrated", "notify", "secrets"):
        if k not in t:
            fail(f"truth.json: missing {k}")
    ips = set(t["compromised"]["ips"])
    apps = {a.lower() for a in t["compromised"]["apps"]}
    ent = list(ips) + list(apps)
    malicious = {}
    steps_seen = {}
    for m in t["malicious"]:
        text, obj = o.record(m["file"], m["record"])
        malicious[(m["file"], m["record"])] = m["scenario"]
        steps_seen.setdefault((m["scenario"], m["step"]), 0)
        steps_seen[(m["scenario"], m["step"])] += 1
        if text is None:
            fail(f"malicious {m['file']}:{m['record']}: no such record")
            continue
        low = text.lower()
        if not any(e.lower() in low for e in ent):
            fail(f"malicious {m['file']}:{m['record']} ({m['step']}): no attacker entity")
    steps = {(s["scenario"], s["step"]) for s in t["steps"]}
    for s in t["steps"]:
        if parse_time(s["first"]) > parse_time(s["last"]):
            fail(f"step {s['step']}: first after last")
    for k in steps_seen:
        if k not in steps:
            fail(f"step {k} referenced but not listed in steps")
    for k in steps:
        if k not in steps_seen:
            fail(f"step {k} listed without records")
    # completeness: every record with an attacker address is malicious
    ip_rx = re.compile("|".join(re.escape(i) for i in sorted(ips, key=len, reverse=True))) if ips else None
    nmal_scan = 0
    for rel, n, text, x in all_records(o):
        if rel == "logs/trace.csv" or not ip_rx:
            continue
        for mt in ip_rx.finditer(text):
            a, b = mt.start(), mt.end()
            if (a == 0 or not text[a - 1].isalnum() and text[a - 1] not in ".:") and \
               (b == len(text) or not text[b].isalnum() and text[b] not in ".:" or text[b] == ":" and ":" not in mt.group(0)):
                if (rel, n) not in malicious:
                    fail(f"{rel}:{n}: attacker address {mt.group(0)} in a record not in truth")
                nmal_scan += 1
                break
    # exfiltrated
    exfil = set(t["exfiltrated"])
    if len(exfil) != len(t["exfiltrated"]):
        fail("exfiltrated has duplicates")
    bound, synced = set(), set()
    for (rel, n), scen in malicious.items():
        _, x = o.record(rel, n)
        if not x or x.get("Operation") != "MailItemsAccessed":
            continue
        mat = {p["Name"]: p["Value"] for p in x.get("OperationProperties", [])}.get("MailAccessType")
        if mat == "Bind":
            for f in x["Folders"]:
                for it in f.get("FolderItems", []):
                    bound.add(it["InternetMessageId"])
        elif mat == "Sync":
            owner = x["MailboxOwnerUPN"].lower()
            when = parse_time(x["CreationTime"])
            path = x["Folders"][0]["Path"]
            for mid, copies in o.msgs.items():
                for mbx, m, delivered in copies:
                    if mbx.lower() != owner:
                        continue
                    sent = any(a.addr_spec.lower() == owner for v in m.get_all("From", []) for a in v.addresses)
                    folder = "\\Sent Items" if sent else "\\Inbox"
                    if folder == path and delivered <= when:
                        synced.add((mid, delivered < when))
    strict_sync = {m for m, strict in synced if strict}
    loose_sync = {m for m, _ in synced}
    for mid in exfil:
        if mid not in o.msgs:
            fail(f"exfiltrated {mid}: in no mbox")
        if mid not in bound and mid not in loose_sync:
            fail(f"exfiltrated {mid}: in no attacker Bind record and no Sync'd folder")
    for mid in bound | strict_sync:
        if mid not in exfil:
            fail(f"{mid}: read by the attacker but not in exfiltrated")
    # notify
    idx = org_index(o)
    want = {}
    for mid in exfil:
        for org in parties(o.msgs.get(mid, []), idx):
            want.setdefault(org, set()).add(mid)
    got = {k: set(v) for k, v in t["notify"].items()}
    for k in set(want) | set(got):
        if want.get(k, set()) != got.get(k, set()):
            extra = got.get(k, set()) - want.get(k, set())
            miss = want.get(k, set()) - got.get(k, set())
            fail(f"notify {k}: {len(extra)} messages without that party, {len(miss)} missing")
    for k in got:
        if "@" not in k and k.lower() != k:
            fail(f"notify key {k} not lower case")
    check_secrets(o, exfil)
    # message ids agree across logs and mailboxes
    for rel, n, text, x in all_records(o):
        if rel == "logs/trace.csv":
            if x["message_id"] not in o.msgs:
                fail(f"trace row {n}: {x['message_id']} in no mbox")
            continue
        if not isinstance(x, dict) or rel.endswith(".csv"):
            continue
        if x.get("Operation") == "Send" and x["Item"]["InternetMessageId"] not in o.msgs:
            fail(f"{rel}:{n}: Send of {x['Item']['InternetMessageId']} in no mbox")
        if x.get("Operation") == "MailItemsAccessed":
            for f in x["Folders"]:
                if not f["Path"].startswith("\\"):
                    fail(f"{rel}:{n}: folder path {f['Path']!r} without leading backslash")
                for it in f.get("FolderItems", []):
                    mid = it["InternetMessageId"]
                    if not (mid.startswith("<") and mid.endswith(">")):
                        fail(f"{rel}:{n}: message id without brackets {mid}")
                    elif mid not in o.msgs:
                        fail(f"{rel}:{n}: {mid} in no mbox")
    # threads: a reply keeps the subject of the message it answers
    subj = {mid: str(c[0][1]["Subject"]) for mid, c in o.msgs.items()}
    nthread = 0
    for mid, copies in o.msgs.items():
        irt = copies[0][1].get("In-Reply-To")
        if not irt or str(irt).strip() not in subj:
            continue
        strip = lambda s: s[4:] if s[:4] in ("RE: ", "Re: ") else s
        if strip(subj[mid]) != strip(subj[str(irt).strip()]):
            fail(f"reply {mid}: subject {subj[mid]!r} does not continue {subj[str(irt).strip()]!r}")
        nthread += 1
    ntok = check_tokens(o, malicious)
    nrec = sum(len(v) for v in o.files.values())
    print(f"checked {nrec} records in {len(o.files)} files, {sum(len(v) for v in o.msgs.values())} "
          f"mbox messages ({o.noid} without Message-ID), {len(t['malicious'])} malicious refs, "
          f"{len(exfil)} exfiltrated ({len(bound)} bound, {len(loose_sync)} synced), "
          f"{len(got)} organisations, {len(t['secrets'])} secrets, {ntok} linked tokens, "
          f"{nthread} replies")
    if t["scenarios"] and (not t["malicious"] or not exfil):
        fail("attack scenarios without malicious records or exfiltrated mail")


def none(dall, dnone):
    a = Out(dall)
    n = Out(dnone)
    t = n.truth
    for k in ("malicious", "steps", "exfiltrated", "secrets"):
        if t[k]:
            fail(f"scenario none: truth.{k} not empty")
    if t["notify"] or any(t["compromised"][k] for k in ("users", "apps", "ips")):
        fail("scenario none: compromised/notify not empty")
    if t["scenarios"]:
        fail("scenario none: scenarios listed")
    # attacker entities of the attack run, learnt from its malicious records
    known_users = {u["upn"].lower() for u in a.tenant["users"]}
    known_apps = {x["app_id"].lower() for x in a.tenant["apps"]}
    ents = set(a.truth["compromised"]["ips"])
    ents |= {x for x in a.truth["compromised"]["apps"] if x.lower() not in known_apps}
    ents |= {u for u in a.truth["compromised"]["users"] if u.lower() not in known_users}
    for m in a.truth["malicious"]:
        _, x = a.record(m["file"], m["record"])
        ctx = x.get("AppAccessContext") if isinstance(x, dict) else None
        if m["scenario"] == "storm-0558" and ctx:
            ents.add(ctx["UniqueTokenId"])
            if ctx.get("AADSessionId"):
                ents.add(ctx["AADSessionId"])
    if not ents:
        fail("attack run has no attacker entities")
    blob = "\n".join("\n".join(v) for v in n.files.values()).lower()
    for e in ents:
        if e.lower() in blob:
            fail(f"scenario none contains attacker entity {e}")
    # attacks only add records: normal life is the same with and without them
    for rel, texts in n.files.items():
        kind = rel.split("/")[1] if rel.count("/") > 1 else rel
        pool = set()
        for rel2, texts2 in a.files.items():
            if (rel2.split("/")[1] if rel2.count("/") > 1 else rel2) == kind:
                pool.update(texts2)
        missing = [t for t in texts if t not in pool]
        if missing:
            fail(f"{rel}: {len(missing)} records of normal life differ when the attacks run")
    if set(n.msgs) != set(a.msgs):
        fail("the mailboxes differ between the runs with and without attacks")
    print(f"scenario none: {len(ents)} attacker entities absent from {sum(len(v) for v in n.files.values())} records")


def variants(dirs):
    seen = set()
    for d in dirs:
        with open(os.path.join(d, "truth.json")) as f:
            t = json.load(f)
        steps = {s["step"] for s in t["steps"] if s["scenario"] == "midnight-blizzard"}
        seen.add("consent" if "privileged-user" in steps else "app-role-assignment")
    if len(seen) < 2:
        fail(f"the Midnight Blizzard grant variant does not vary across seeds: {seen}")
    print(f"grant variants across {len(dirs)} seeds: {sorted(seen)}")


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "check":
        check(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "none":
        none(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 3 and sys.argv[1] == "variants":
        variants(sys.argv[2:])
    else:
        print(__doc__)
        return 2
    for f in FAIL:
        print("FAIL:", f)
    return 1 if FAIL else 0


if __name__ == "__main__":
    sys.exit(main())

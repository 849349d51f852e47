#!/usr/bin/env python3
"""bench/notify_gen.py -- synthetic mail store + scope.json for bench/notify.sh

usage: notify_gen.py OUTDIR MESSAGES [MAILBOXES] [SEED]

Writes OUTDIR/mail/<user>@contoso.example.mbox (MAILBOXES mailboxes, the
MESSAGES messages spread over them) and OUTDIR/scope.json listing every
message as observed (one incident, fixed window). Deterministic for a seed.

Each message: 1.5-3 KB of text; From/To/Cc mix our users with external
parties drawn from 4,000 organisations (Zipf-like: a few big correspondents,
a long tail), 300 free-mail users, one mailing list; ~3% carry a Bcc, ~2% a
List-Id. So a package run has thousands of organisations, most with a few
messages and a few with thousands -- the shape of a real mailbox compromise.
"""
import json
import os
import random
import sys

out, n = sys.argv[1], int(sys.argv[2])
nbox = int(sys.argv[3]) if len(sys.argv) > 3 else 200
rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
os.makedirs(os.path.join(out, "mail"), exist_ok=True)
users = ["user%04d@contoso.example" % i for i in range(nbox)]
tlds = ["com", "de", "co.uk", "fr", "nl", "com.br", "co.jp", "org", "ch", "io"]
orgs = ["partner%04d.%s" % (i, tlds[i % len(tlds)]) for i in range(4000)]
cum = list(__import__("itertools").accumulate(1.0 / (i + 1) ** 0.9 for i in range(len(orgs))))
free = ["person%03d@%s" % (i, ["gmail.com", "outlook.com", "yahoo.co.uk", "gmx.de"][i % 4])
        for i in range(300)]
words = ("invoice contract meeting quarterly numbers shipment review draft agreement "
         "forecast pricing renewal approval schedule budget report update project "
         "delivery payment account order status").split()


def ext():
    if rng.random() < 0.08:
        return rng.choice(free)
    o = rng.choices(orgs, cum_weights=cum)[0]
    return "%s.%s@%s" % (rng.choice(["anna", "ben", "chen", "dara", "eli", "fay", "gus"]),
                         rng.choice(["lee", "ng", "roy", "kim", "diaz", "ito"]), o)


scope_boxes = {u: [] for u in users}
files = {u: open(os.path.join(out, "mail", u + ".mbox"), "w", encoding="utf-8") for u in users}
t0 = 1704067200  # 2024-01-01
for i in range(n):
    box = users[i % nbox]
    t = t0 + i * 37
    inbound = rng.random() < 0.5
    parties = [ext() for _ in range(rng.choice([1, 1, 1, 2, 2, 3]))]
    if inbound:
        frm, to, cc = parties[0], [box], parties[1:]
    else:
        frm, to, cc = box, parties[:1], parties[1:]
    if rng.random() < 0.3:
        cc.append(rng.choice(users))
    mid = "<%08d.%d@mail.contoso.example>" % (i, rng.randrange(1 << 30))
    hdr = ["From: %s" % frm, "To: %s" % ", ".join(to)]
    if cc:
        hdr.append("Cc: %s" % ", ".join(cc))
    if not inbound and rng.random() < 0.03:
        hdr.append("Bcc: %s" % ext())
    if rng.random() < 0.02:
        hdr.append("List-Id: Partner news <news.lists.partner0001.com>")
    d = __import__("time").strftime("%a, %d %b %Y %H:%M:%S +0000", __import__("time").gmtime(t))
    hdr += ["Subject: %s %s %d" % (rng.choice(words).title(), rng.choice(words), i),
            "Date: %s" % d, "Message-ID: %s" % mid, "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8"]
    body = []
    for _ in range(rng.randrange(20, 40)):
        body.append(" ".join(rng.choice(words) for _ in range(10)))
    f = files[box]
    f.write("From %s %s\n" % (frm if "@" in frm else "x@y", __import__("time").strftime(
        "%a %b %d %H:%M:%S %Y", __import__("time").gmtime(t))))
    f.write("\n".join(hdr) + "\n\n" + "\n".join(body) + "\n\n")
    scope_boxes[box].append({"message_id": mid, "mailbox": box, "confidence": "observed",
                             "evidence": [{"basis": "bind", "file": "ual.jsonl", "record": i + 1}]})
for f in files.values():
    f.close()
json.dump({"scope_version": 1,
           "incidents": [{"id": "BENCH-1", "first_seen": "2024-01-01T00:00:00Z",
                          "last_seen": "2024-03-01T00:00:00Z",
                          "context": {"ips": ["198.51.100.7"], "apps": []}}],
           "mailboxes": [{"mailbox": u, "messages": scope_boxes[u]} for u in users]},
          open(os.path.join(out, "scope.json"), "w"))
print("generated %d messages in %d mailboxes" % (n, nbox))

#!/usr/bin/env python3
"""tests/data/mail/make_store.py -- writes the mail-store fixture under store/

Run from this directory: `python3 make_store.py` (the output is committed;
this script documents how every byte was made and regenerates it).

The secrets are FAKE: random strings in the shapes of real credentials,
generated from a fixed seed. EXPECTED.tsv lists what `mailhound secrets`
must find (rule, mailbox, folder, part, line, secret) and why; it is
written by hand below, next to the message it describes, not computed by
mailhound.

Layout (a folder of mailboxes):
  store/alice@example.com/           Maildir++ (owner from the name)
      cur/ new/ tmp/                 tmp/ is skipped and counted
      .Sent/cur/                     folder "Sent": the sender's copy, with Bcc
      .Archive.2023/cur/             folder "Archive/2023"
  store/bob@example.org.mbox         mbox: From_ quoting, a duplicate of
                                     Alice's sent message, no Message-ID,
                                     a malformed header block
  store/carol/inbox/1, 2             MH layout; owner from owners.txt
  store/loose.eml                    loose message -> mailbox "store"
  store/notes.txt                    not mail: scanned as plain text
"""
import base64
import os
import quopri
import random
import shutil

R = random.Random(20240119)
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def rnd(alphabet, n):
    return "".join(R.choice(alphabet) for _ in range(n))


GH = "ghp_" + rnd(ALNUM, 36)
AKIA = "AKIA" + rnd("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
AWS_SECRET = rnd(ALNUM + "/+", 40)
PEM_BODY = "\n".join(rnd(ALNUM + "/+", 64) for _ in range(6))
PEM = "-----BEGIN RSA PRIVATE KEY-----\n" + PEM_BODY + "\n-----END RSA PRIVATE KEY-----\n"
DBPASS = "Tr0ub4dor&3x" + rnd(ALNUM, 4)
SLACK = "xoxb-" + rnd("0123456789", 11) + "-" + rnd("0123456789", 12) + "-" + rnd(ALNUM, 24)
STRIPE = "sk_live_" + rnd(ALNUM, 24)
WEBHOOK = "https://hooks.slack.com/services/T" + rnd("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 8) + "/B" + rnd("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 8) + "/" + rnd(ALNUM, 24)
KENNWORT = "Wz!" + rnd(ALNUM, 9)
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJ" + rnd(ALNUM + "_-", 30) + "." + rnd(ALNUM + "_-", 43)
GLPAT = "glpat-" + rnd(ALNUM, 20)
URLPASS = "p4ss" + rnd(ALNUM, 10)

EXPECTED = []  # (rule, message_id, mailbox, folder, part, line, secret)


def expect(rule, mid, mailbox, folder, part, line, secret):
    EXPECTED.append((rule, mid, mailbox, folder, part, str(line), secret))


def write(path, data, crlf=False):
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    with open(path, "wb") as f:
        f.write(data)


def qp(text):
    return quopri.encodestring(text.encode("utf-8")).decode("ascii")


def b64(data, width=76):
    if isinstance(data, str):
        data = data.encode("utf-8")
    s = base64.b64encode(data).decode("ascii")
    return "\n".join(s[i:i + width] for i in range(0, len(s), width)) + "\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    os.chdir(here)
    if os.path.isdir("store"):
        shutil.rmtree("store")
    A = "store/alice@example.com"

    # --- alice cur/: multipart/alternative, QP text + base64 HTML. The token
    # is split by a QP soft line break in the raw bytes (line 4 of the text).
    text = ("Hi Bob,\n\nhere is the deploy token for the build box:\n"
            "token " + GH + " (rotate after use)\nCheers, Alice\n")
    raw_qp = qp(text)
    # force a soft break inside the token so it never appears whole in the raw bytes
    cut = raw_qp.index(GH) + 10
    raw_qp = raw_qp[:cut] + "=\n" + raw_qp[cut:]
    html = "<html><body><p>here is the deploy token:</p>\n<p>" + GH + "</p></body></html>\n"
    mid1 = "<deploy-1@alice.example.com>"
    write(A + "/cur/1700000000.M1P1.host:2,S",
          "Message-ID: " + mid1 + "\n"
          "Date: Tue, 14 Nov 2023 22:13:20 +0000\n"
          "From: Alice <alice@example.com>\n"
          "To: Bob <bob@example.org>\n"
          "Subject: deploy token\n"
          "MIME-Version: 1.0\n"
          "Content-Type: multipart/alternative; boundary=\"b1\"\n\n"
          "--b1\nContent-Type: text/plain; charset=utf-8\n"
          "Content-Transfer-Encoding: quoted-printable\n\n" + raw_qp +
          "\n--b1\nContent-Type: text/html; charset=utf-8\n"
          "Content-Transfer-Encoding: base64\n\n" + b64(html) + "--b1--\n")
    expect("github-token", mid1, "alice@example.com", "INBOX", "1", 4, GH)
    expect("github-token", mid1, "alice@example.com", "INBOX", "2", 2, GH)

    # --- alice new/: base64 text with AWS keys; base64 attachment "id_rsa"
    # (application/octet-stream) holding a PEM key -> attachment fragment.
    aws = ("Access for the audit:\n\nAWS_ACCESS_KEY_ID=" + AKIA + "\n"
           "aws_secret_access_key = " + AWS_SECRET + "\n")
    mid2 = "<aws-2@alice.example.com>"
    write(A + "/new/1700000100.M2P1.host",
          "Message-ID: " + mid2 + "\n"
          "Date: Tue, 14 Nov 2023 22:15:00 +0000\n"
          "From: Dave <dave@partner.example.net>\n"
          "To: alice@example.com\n"
          "Subject: keys\n"
          "MIME-Version: 1.0\n"
          "Content-Type: multipart/mixed; boundary=\"b2\"\n\n"
          "--b2\nContent-Type: text/plain; charset=us-ascii\n"
          "Content-Transfer-Encoding: base64\n\n" + b64(aws) +
          "--b2\nContent-Type: application/octet-stream; name=\"id_rsa\"\n"
          "Content-Disposition: attachment; filename=\"id_rsa\"\n"
          "Content-Transfer-Encoding: base64\n\n" + b64(PEM) + "--b2--\n", crlf=True)
    expect("aws-access-key-id", mid2, "alice@example.com", "INBOX", "1", 3, AKIA)
    expect("aws-secret-access-key", mid2, "alice@example.com", "INBOX", "1", 4, AWS_SECRET)
    expect("private-key", mid2, "alice@example.com", "INBOX", "2", 1, PEM.rstrip("\n"))

    # --- alice tmp/: in delivery, skipped (counted) even though it holds a token
    write(A + "/tmp/1700000200.M9P9.host",
          "Message-ID: <tmp@x>\nSubject: partial\n\n" + GLPAT + "\n")

    # --- alice .Sent: the sender's copy, with Bcc; connection string password
    sent_body = ("Carol, the staging DB:\n\n"
                 "Server=db01;Database=hr;User Id=sa;Password=" + DBPASS + ";\n\n"
                 "-- Alice\n")
    mid3 = "<db-3@alice.example.com>"
    sent_headers = ("Message-ID: " + mid3 + "\n"
                    "Date: Wed, 15 Nov 2023 09:00:00 +0000\n"
                    "From: Alice <alice@example.com>\n"
                    "To: Bob <bob@example.org>\n"
                    "Subject: staging db\n")
    write(A + "/.Sent/cur/1700030000.M3P1.host:2,S",
          sent_headers + "Bcc: Carol <carol@example.net>\n"
          "Content-Type: text/plain; charset=us-ascii\n\n" + sent_body)
    expect("connection-string-password", mid3, "alice@example.com", "Sent", "1", 3, DBPASS)

    # --- alice .Archive.2023: iso-8859-1 text with 8-bit bytes (decoded to
    # UTF-8), and a forwarded message/rfc822 holding a Stripe key (part 2.1).
    latin = ("Grüße aus München,\nder Slack-Bot läuft mit " + SLACK + "\n").encode("latin-1")
    inner = ("Message-ID: <inner-4@shop.example.com>\n"
             "From: shop@shop.example.com\nTo: alice@example.com\nSubject: api\n\n"
             "live key follows\n" + STRIPE + "\n")
    mid4 = "<fwd-4@alice.example.com>"
    write(A + "/.Archive.2023/cur/1700060000.M4P1.host:2,S",
          b"Message-ID: " + mid4.encode() + b"\n"
          b"Date: Thu, 16 Nov 2023 10:00:00 +0100\n"
          b"From: =?iso-8859-1?q?J=FCrgen?= <juergen@example.de>\n"
          b"To: alice@example.com\n"
          b"Subject: =?iso-8859-1?q?Gr=FC=DFe?=\n"
          b"MIME-Version: 1.0\n"
          b"Content-Type: multipart/mixed; boundary=\"b4\"\n\n"
          b"--b4\nContent-Type: text/plain; charset=iso-8859-1\n"
          b"Content-Transfer-Encoding: 8bit\n\n" + latin +
          b"\n--b4\nContent-Type: message/rfc822\n\n" + inner.encode() + b"\n--b4--\n")
    expect("slack-token", mid4, "alice@example.com", "Archive/2023", "1", 2, SLACK)
    expect("stripe-key", mid4, "alice@example.com", "Archive/2023", "2.1", 2, STRIPE)

    # --- bob's mbox: 4 messages
    dup = (sent_headers + "Received: from mx.example.org by bob.example.org; Wed, 15 Nov 2023\n"
           "Content-Type: text/plain; charset=us-ascii\n\n" + sent_body)
    quoted = ("Message-ID: <quoted-5@example.org>\n"
              "Date: Wed, 15 Nov 2023 12:00:00 +0000\n"
              "From: bob@example.org\nTo: team@example.org\nSubject: notes\n\n"
              "minutes:\n>From the meeting: nothing secret.\n>>From here on quoted twice.\n"
              "webhook " + WEBHOOK + "\n")
    noid = ("Date: Wed, 15 Nov 2023 13:00:00 +0000\n"
            "From: bob@example.org\nTo: bob@example.org\nSubject: no id\n\n"
            "dbs: postgres://app:" + URLPASS + "@db.internal.example.org:5432/app\n")
    bad = ("Message-ID: <bad-7@example.org>\n"
           "From: bob@example.org\n"
           "this line is not a header\n"
           "To: bob@example.org\n\n"
           "body\n")
    mbox = ("From alice@example.com Wed Nov 15 09:00:05 2023\n" + dup + "\n"
            "From bob@example.org Wed Nov 15 12:00:00 2023\n" + quoted + "\n"
            "From bob@example.org Wed Nov 15 13:00:00 2023\n" + noid + "\n"
            "From bob@example.org Wed Nov 15 14:00:00 2023\n" + bad)
    write("store/bob@example.org.mbox", mbox)
    # Bob's copy of Alice's message differs (Received, no Bcc): scanned too
    expect("connection-string-password", mid3, "bob@example.org", "INBOX", "1", 3, DBPASS)
    expect("slack-webhook", "<quoted-5@example.org>", "bob@example.org", "INBOX", "1", 4,
           WEBHOOK.split("/services/")[1])
    expect("url-credentials", "synthetic", "bob@example.org", "INBOX", "1", 1, URLPASS)

    # --- carol (MH): iso-8859-1 "Kennwort" line; a base64 binary attachment
    # whose ENCODED text contains an AWS-key-shaped run (transfer-encoded only)
    write("store/carol/inbox/1",
          ("Message-ID: <carol-8@example.net>\n"
           "Date: Fri, 17 Nov 2023 08:00:00 +0000\n"
           "From: it@example.net\nTo: carol@example.net\nSubject: Zugang\n"
           "Content-Type: text/plain; charset=iso-8859-1\n"
           "Content-Transfer-Encoding: quoted-printable\n\n"
           "Hallo Carol,=0Adein neues Kennwort: " + KENNWORT + "=0AGr=FC=DFe\n").encode("ascii"))
    expect("generic-password", "<carol-8@example.net>", "carol", "inbox", "1", 2, KENNWORT)
    fake_b64 = "AKIAQ2W3E4R5T6Y7UIOP" + "A" * 44 + "\n"   # valid base64, decodes to binary
    qp_artifact = "key=3D96589521021112141index=3D=\n"   # QP artefact (doc 6.5)
    write("store/carol/inbox/2",
          "Message-ID: <carol-9@example.net>\n"
          "Date: Fri, 17 Nov 2023 09:00:00 +0000\n"
          "From: scanner@example.net\nTo: carol@example.net\nSubject: scan\n"
          "MIME-Version: 1.0\n"
          "Content-Type: multipart/mixed; boundary=\"b9\"\n\n"
          "--b9\nContent-Type: text/plain; charset=us-ascii\n"
          "Content-Transfer-Encoding: quoted-printable\n\n" + qp_artifact +
          "--b9\nContent-Type: application/octet-stream; name=\"scan.bin\"\n"
          "Content-Transfer-Encoding: base64\n\n" + fake_b64 + "--b9--\n")

    # --- a loose message (mailbox "store"): a JWT in a header
    write("store/loose.eml",
          "Message-ID: <loose-10@example.com>\n"
          "Date: Sat, 18 Nov 2023 08:00:00 +0000\n"
          "From: app@example.com\nTo: alice@example.com\n"
          "X-Session: " + JWT + "\n"
          "Subject: session\n\nsee header\n")
    expect("jwt", "<loose-10@example.com>", "store", "INBOX", "headers", 5, JWT)

    # --- not mail: a plain text file
    write("store/notes.txt", "ops notes\n\nci: " + GLPAT + "\n")
    expect("gitlab-token", "-", "-", "-", "file", 3, GLPAT)

    write("owners.txt", "# mailbox  owner\ncarol carol@example.net\n")
    with open("EXPECTED.tsv", "w") as f:
        f.write("# rule\tmessage_id\tmailbox\tfolder\tpart\tline\tsecret  (written by make_store.py)\n")
        for e in EXPECTED:
            f.write("\t".join(e) + "\n")


if __name__ == "__main__":
    main()

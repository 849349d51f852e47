#!/usr/bin/env bash
# tests/notify/test_notify_cli.sh -- `mailhound notify` end to end on a small mbox:
# organisations (domain, free-mail individual, Bcc'd organisation, list host,
# internal excluded), Bcc removed everywhere, manifests verify with sha256sum,
# a rerun is byte-identical and hands out nothing, new evidence gives a
# supplement with only the new message, indicators in STIX.
set -euo pipefail
[ -n "${MH:-}" ] && [ -x "$MH" ] || { echo "skip: MH (mailhound binary) not set"; exit 77; }
command -v sha256sum >/dev/null || { echo "skip: no sha256sum"; exit 77; }
T=$(mktemp -d /tmp/mh-notify-cli-XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; echo "0 passed, 1 failed"; exit 1; }
pass=0
ok() { pass=$((pass + 1)); }

mkdir -p "$T/mail"
cat > "$T/mail/alice@contoso.com.mbox" <<'MBOX'
From alice@contoso.com Mon Jan  8 10:00:00 2024
From: Alice <alice@contoso.com>
To: Bob <bob@fabrikam.com>, pat@gmail.com
Bcc: boss@fabrikam.com,
 carol@other.example
Subject: Q3 numbers, final
Date: Mon, 08 Jan 2024 10:00:00 +0000
Message-ID: <m1@contoso.com>

The numbers.

From bob@fabrikam.com Tue Jan  9 11:00:00 2024
From: bob@fabrikam.com
To: alice@contoso.com
Cc: x@mail.fabrikam.com
Subject: re: Q3
Date: Tue, 09 Jan 2024 11:00:00 +0000
Message-ID: <m2@fabrikam.com>

Thanks.

From alice@contoso.com Wed Jan 10 09:00:00 2024
From: alice@contoso.com
To: ceo@contoso.com
Subject: internal only
Date: Wed, 10 Jan 2024 09:00:00 +0000
Message-ID: <m3@contoso.com>

Internal.

From news@lists.example.org Thu Jan 11 08:00:00 2024
From: news@lists.example.org
To: alice@contoso.com
List-Id: Announcements <announce.lists.example.org>
Subject: newsletter
Date: Thu, 11 Jan 2024 08:00:00 +0000
Message-ID: <m4@lists.example.org>

News.

From alice@contoso.com Fri Jan 12 07:00:00 2024
From: alice@contoso.com
To: bob@fabrikam.com
Bcc: pat@gmail.com
Subject: later
Date: Fri, 12 Jan 2024 07:00:00 +0000
Message-ID: <m5@contoso.com>

Later.
MBOX

msg() { # id confidence record
  printf '{"message_id":"%s","mailbox":"alice@contoso.com","confidence":"%s","evidence":[{"basis":"bind","file":"ual.jsonl","record":%s}]}' "$1" "$2" "$3"
}
scope() { # messages...
  printf '{"scope_version":1,"incidents":[{"id":"INC-1","first_seen":"2024-01-08T00:00:00Z","last_seen":"2024-01-12T12:00:00Z","context":{"ips":["198.51.100.7","not-an-ip"],"apps":["B1C2D3E4-0000-4000-8000-00000000ABCD"]}}],"mailboxes":[{"mailbox":"alice@contoso.com","messages":[%s]}]}\n' "$1"
}
scope "$(msg '<m1@contoso.com>' observed 3),$(msg '<m2@fabrikam.com>' inferred-sync 4),$(msg '<m3@contoso.com>' observed 5),$(msg '<m4@lists.example.org>' observed 6),$(msg '<gone@nowhere.example>' observed 7)" > "$T/scope1.json"
scope "$(msg '<m1@contoso.com>' observed 3),$(msg '<m2@fabrikam.com>' inferred-sync 4),$(msg '<m3@contoso.com>' observed 5),$(msg '<m4@lists.example.org>' observed 6),$(msg '<m5@contoso.com>' observed 8),$(msg '<gone@nowhere.example>' observed 7)" > "$T/scope2.json"

run() { "$MH" notify --scope "$1" --mail "$T/mail" --out "$T/out" --contact ir@contoso.com -q; }
snap() { (cd "$T/out" && find packages indicators.stix.json -type f | LC_ALL=C sort | xargs sha256sum); }

run "$T/scope1.json" > "$T/run1.txt" || fail "first run"
P="$T/out/packages"
[ "$(cat "$P/index.csv" | tr -d '\r')" = "org,kind,messages,secrets
example.org,organisation,1,0
fabrikam.com,organisation,2,0
other.example,organisation,1,0
pat@gmail.com,individual,1,0" ] || { cat "$P/index.csv"; fail "index.csv"; }; ok
grep -q "m1@contoso.com" "$P/fabrikam.com/data/messages.csv" && grep -q "m2@fabrikam.com" "$P/fabrikam.com/data/messages.csv" || fail "fabrikam messages"; ok
! grep -q "m4@" "$P/fabrikam.com/data/messages.csv" || fail "fabrikam got another org's mail"; ok
[ "$(grep -c '@' "$P/pat@gmail.com/data/messages.csv")" = 1 ] || fail "pat gets only m1"; ok
grep -q "bcc:boss@fabrikam.com" "$P/fabrikam.com/data/messages.csv" || fail "Bcc'd organisation is a party"; ok
grep -q "m1@contoso.com" "$P/other.example/data/messages.csv" || fail "carol's org (Bcc only)"; ok
grep -q "list:announce.lists.example.org" "$P/example.org/data/messages.csv" || fail "list host"; ok
! ls "$P" | grep -q contoso || fail "internal domain notified"; ok
if grep -rli '^bcc:' "$P" --include='*.eml'; then fail "a Bcc header survived"; fi; ok
for d in "$P"/*/; do (cd "$d" && sha256sum -c --quiet tagmanifest-sha256.txt manifest-sha256.txt) || fail "manifest $d"; done; ok
grep -q "inferred-sync" "$P/fabrikam.com/data/messages.csv" || fail "confidence"; ok
grep -q "ual.jsonl:3" "$P/fabrikam.com/data/messages.csv" || fail "evidence"; ok
grep -q "Bagging-Date: 2024-01-12" "$P/fabrikam.com/bag-info.txt" || fail "Bagging-Date from scope"; ok
grep -q "198.51.100.7" "$T/out/indicators.stix.json" && grep -q "b1c2d3e4-0000-4000-8000-00000000abcd" "$T/out/indicators.stix.json" || fail "stix"; ok
grep -q "1 not in the mail store" "$T/run1.txt" || { cat "$T/run1.txt"; fail "not-in-store count"; }; ok

snap > "$T/snap1"
run "$T/scope1.json" > "$T/run2.txt" || fail "rerun"
snap > "$T/snap2"
cmp -s "$T/snap1" "$T/snap2" || { diff "$T/snap1" "$T/snap2"; fail "rerun not byte-identical"; }; ok
grep -q "^notify: 0 (organisation, message) pairs" "$T/run2.txt" || { cat "$T/run2.txt"; fail "rerun handed out something"; }; ok

run "$T/scope2.json" > "$T/run3.txt" || fail "new evidence run"
S="$P/fabrikam.com/supplement-1"
[ -f "$S/bagit.txt" ] || fail "no supplement"; ok
[ "$(tail -n +2 "$S/data/messages.csv" | cut -d, -f1)" = "<m5@contoso.com>" ] || fail "supplement holds only the new message"; ok
[ -f "$P/pat@gmail.com/supplement-1/bagit.txt" ] || fail "Bcc'd individual gets its supplement"; ok
(cd "$S" && sha256sum -c --quiet tagmanifest-sha256.txt manifest-sha256.txt) || fail "supplement manifests"; ok
grep -q "^fabrikam.com,organisation,3,0" <(tr -d '\r' < "$P/index.csv") || fail "index totals"; ok
# the first packages are unchanged by the supplement
(cd "$T/out" && sha256sum packages/fabrikam.com/tagmanifest-sha256.txt) | cut -d' ' -f1 > "$T/h3"
grep "packages/fabrikam.com/tagmanifest-sha256.txt" "$T/snap1" | cut -d' ' -f1 | cmp -s - "$T/h3" || fail "first package changed"; ok

# --secrets: a finding counts for its message; a finding outside mail
# (message_id null) is not one; every other line that is not a finding is
# reported once with file, line, byte offset and reason, and skipped
printf '%s\n' '{"message_id":"<m1@contoso.com>","rule_id":"x"}' '{"message_id":' \
  '{"message_id":null,"file":"a.txt"}' '[1]' '{"rule_id":"y"}' > "$T/secrets.jsonl"
"$MH" notify --scope "$T/scope1.json" --mail "$T/mail" --out "$T/sec" --secrets "$T/secrets.jsonl" \
  > /dev/null 2> "$T/sec.err" || fail "run with --secrets"
grep -q "^fabrikam.com,organisation,2,1" <(tr -d '\r' < "$T/sec/packages/index.csv") || fail "secret counted"; ok
[ "$(grep -c 'malformed secrets.jsonl line, skipped' "$T/sec.err")" = 3 ] || { cat "$T/sec.err"; fail "bad secrets lines reported once each"; }; ok
grep -q "secrets.jsonl:2: byte 62: unexpected end of input" "$T/sec.err" || { cat "$T/sec.err"; fail "truncated line: place and reason"; }; ok
grep -q "secrets.jsonl:4: byte 98: not a JSON object" "$T/sec.err" || fail "array line: place and reason"; ok
grep -q "secrets.jsonl:5: byte 102: no \"message_id\" string" "$T/sec.err" || fail "line without message_id"; ok

# scope.json: a message that names none (not an object, no message_id) is
# reported once with its byte offset and skipped; the others are shipped
scope '"x",{"mailbox":"alice@contoso.com"},'"$(msg '<m1@contoso.com>' observed 3)" > "$T/scope3.json"
"$MH" notify --scope "$T/scope3.json" --mail "$T/mail" --out "$T/s3" > "$T/s3.out" 2> "$T/s3.err" || fail "run with bad scope messages"
grep -q "^notify: 1 messages in scope" "$T/s3.out" || { cat "$T/s3.out"; fail "good message kept"; }; ok
[ "$(grep -c 'scope.json message skipped' "$T/s3.err")" = 2 ] || { cat "$T/s3.err"; fail "bad scope messages reported once each"; }; ok
grep -q "scope.json: byte 270: message is not an object" "$T/s3.err" || fail "non-object message: place and reason"; ok
grep -q "scope.json: byte 274: message without message_id" "$T/s3.err" || fail "message without id: place and reason"; ok
grep -q "^notify: input skipped as malformed: 2 scope.json messages, 0 secrets.jsonl lines" "$T/s3.out" || fail "skipped counted in the summary"; ok
# -q silences the warnings, never the counts
"$MH" notify -q --scope "$T/scope3.json" --mail "$T/mail" --out "$T/s3q" --secrets "$T/secrets.jsonl" > "$T/s3q.out" 2> "$T/s3q.err" || fail "quiet run"
[ ! -s "$T/s3q.err" ] || { cat "$T/s3q.err"; fail "-q printed warnings"; }; ok
grep -q "^notify: input skipped as malformed: 2 scope.json messages, 3 secrets.jsonl lines" "$T/s3q.out" || { cat "$T/s3q.out"; fail "-q run: skipped still counted"; }; ok

"$MH" notify --scope "$T/scope1.json" --out "$T/x" 2>/dev/null && fail "missing --mail accepted"; ok
echo "$pass passed, 0 failed"

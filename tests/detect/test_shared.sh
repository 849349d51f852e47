#!/usr/bin/env bash
# tests/detect/test_shared.sh -- issue 5 acceptance on the real samples in ../shared/corpora/m365
#
#  - OTRF m365-atomic: the o365spray spray is detected with its follow-up
#    success; the FullAccess delegation, the MFA disable, the audit-log and the
#    mailbox-audit tampering fire;
#  - Sentinel training lab: the account takeover fires (inbox rules hiding
#    mail, app credential additions, and -- through the built-in detectors'
#    attacker context seeded by the high inbox-rule alert -- sign-ins and mail
#    access from the takeover address) and nothing high or critical fires on
#    the benign SharePoint / OneDrive rows.
# Skipped (exit 77, saying why) without ../shared or without `mailhound hunt`.
set -uo pipefail
: "${MH:?}" "${MH_SRC:?}"
corp="$MH_SRC/../shared/corpora/m365"
if [ ! -d "$corp" ]; then
  echo "skipped: $corp is absent (the shared corpora are not on this machine)"
  exit 77
fi
if ! "$MH" hunt --help >/dev/null 2>&1; then
  echo "skipped: 'mailhound hunt' is not available in this build"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
id_of() { # title -> rule id, from the pack
  awk -v t="$1" '$0 == "title: " t { f = 1; next } f && /^id: / { print $2; exit }' "$MH_SRC"/rules/builtin/*.yml
}
hunt() {
  MAILHOUND_DATA="$MH_SRC" "$MH" hunt --format jsonl "$@" >"$tmp/out" 2>"$tmp/err" || {
    echo "FAIL: hunt $*: $(head -3 "$tmp/err")"; fail=1; return 1; }
}
expect_rule() { # file title
  local id; id=$(id_of "$2")
  [ -n "$id" ] || { echo "FAIL: no rule titled '$2'"; fail=1; return; }
  if grep -q "\"rule_id\":\"$id\"" "$tmp/out"; then echo "ok   $(basename "$1"): $2"
  else echo "FAIL $(basename "$1"): '$2' did not fire"; fail=1; fi
}
atomic="$corp/otrf-security-datasets/m365-atomic"
if grep -q -- '--state' <<<"$("$MH" hunt --help 2>&1)"; then
  f="$atomic/o365spray_reporting.json"
  if hunt "$f"; then
    if grep -q '"rule_id":"mh.d1.spray_success"' "$tmp/out"; then echo "ok   $(basename "$f"): built-in mh.d1.spray_success"
    else echo "FAIL $(basename "$f"): built-in mh.d1.spray_success did not fire"; fail=1; fi
  fi
else
  echo "note: hunt does not run the built-in detectors yet (no --state): built-in checks skipped"
fi
for pair in \
  "o365spray_default.json|Password spray from one source address (UAL)" \
  "o365spray_reporting.json|Password spray from one source address (UAL)" \
  "o365spray_reporting.json|Password spray followed by a successful sign-in from the same source (UAL)" \
  "mail_account_delegation_full_access_permissions.json|Full access to another mailbox granted" \
  "disable_strong_authentication.json|Multi-factor authentication disabled for a user" \
  "unified_auditlog_ingestion_stopped.json|Unified audit log ingestion disabled" \
  "set-mailbox-audit_log_age_limit_to_zero.json|Mailbox audit log retention shortened" \
  "set_mailboxauditbypassassociation.json|Mailbox audit bypass enabled" \
  "add_a_user_to_company_administrator_role.json|Member added to a privileged directory role" \
  "enable_pop_imap_owa.json|Legacy mail protocols enabled on a mailbox"; do
  f="$atomic/${pair%%|*}"
  hunt "$f" && expect_rule "$f" "${pair#*|}"
done
lab="$corp/azure-sentinel-training-lab"
hunt "$lab/office_activity_inbox_rule.csv" && expect_rule "$lab/office_activity_inbox_rule.csv" "Inbox rule hiding or deleting mail"
hunt "$lab/AuditLogs_Hunting.csv" && expect_rule "$lab/AuditLogs_Hunting.csv" "Credential added to an application or service principal"
# logins and mail access from the takeover address: the attacker-context
# follow-ups of the built-in detectors, seeded by the high inbox-rule alert
if grep -q -- '--state' <<<"$("$MH" hunt --help 2>&1)"; then
  if hunt "$lab"; then
    for id in mh.ctx.signin_in_context mh.ctx.mail_access_in_context; do
      if grep '"rule_id":"'$id'"' "$tmp/out" | grep -q '175\.45\.176\.99'; then echo "ok   training lab: $id from 175.45.176.99"
      else echo "FAIL training lab: no $id from 175.45.176.99"; fail=1; fi
    done
  fi
else
  echo "note: hunt does not run the built-in detectors yet: the takeover-address follow-ups are not checked"
fi
if hunt "$lab/office_activity.csv"; then
  expect_rule "$lab/office_activity.csv" "Inbox rule on security, payment or legal words that stops rule processing"
  # nothing high or critical on the benign SharePoint / OneDrive / Teams rows: every
  # high/critical alert must point at an Exchange row of the file
  awk '/"level":"(high|critical)"/ && match($0, /"source":\{[^}]*\}/) {
         s = substr($0, RSTART, RLENGTH); if (match(s, /"record":[0-9]+/)) print substr(s, RSTART + 9, RLENGTH - 9) }' \
    "$tmp/out" | sort -u >"$tmp/high"
  "$MH" cat "$lab/office_activity.csv" 2>/dev/null | awk 'match($0, /"record":[0-9]+/) {
         r = substr($0, RSTART + 9, RLENGTH - 9); if ($0 !~ /"(OfficeWorkload|Workload)":"Exchange"/) print r }' \
    | sort -u >"$tmp/benign"
  bad=$(comm -12 "$tmp/high" "$tmp/benign" | wc -l)
  if [ "$bad" != 0 ]; then echo "FAIL office_activity.csv: $bad high/critical alerts on non-Exchange rows"; fail=1
  else echo "ok   office_activity.csv: no high/critical alert on the benign SharePoint/OneDrive/Teams rows"; fi
fi
exit $fail

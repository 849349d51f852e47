#!/usr/bin/env bash
# tests/shared/test_m365.sh -- every real M365 / Entra sample in ../shared/corpora/m365
#
# Each file is read by `mailhound stats --json`; the test checks: no file
# failed, zero skipped records, the record count its README gives, no
# unparseable time, and the source kinds (and, where the README names them,
# operation counts) a responder would expect. Also that `cat` prints exactly
# one event per record. Skips (exit 77) when ../shared is absent.
set -uo pipefail
: "${MH:?MH must be the mailhound binary}"
src=${MH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
corp=$src/../shared/corpora/m365
if [ ! -d "$corp" ]; then
  echo "skipped: $corp is absent (the shared sample corpora are not part of the repository)"
  exit 77
fi
pass=0 fail=0
bad() { echo "FAIL: $*" >&2; fail=$((fail + 1)); }

# file | records | JSON fragments that must appear in `stats --json`
cases=(
  "otrf-security-datasets/m365-atomic/o365spray_default.json|9|\"sources\":{\"ual.entra_logon\":9}|\"UserLoginFailed\":9"
  "otrf-security-datasets/m365-atomic/o365spray_reporting.json|14|\"sources\":{\"ual.entra_logon\":14}|\"UserLoginFailed\":12,\"UserLoggedIn\":2"
  "otrf-security-datasets/m365-atomic/add_a_user_to_company_administrator_role.json|1|\"sources\":{\"ual.entra_directory\":1}|\"Add member to role.\":1"
  "otrf-security-datasets/m365-atomic/disable_strong_authentication.json|3|\"sources\":{\"ual.entra_directory\":3}|\"Disable Strong Authentication.\":1"
  "otrf-security-datasets/m365-atomic/enable_pop_imap_owa.json|1|\"sources\":{\"ual.exchange_admin\":1}|\"Set-CASMailbox\":1"
  "otrf-security-datasets/m365-atomic/mail_account_delegation_full_access_permissions.json|1|\"sources\":{\"ual.exchange_admin\":1}|\"Add-MailboxPermission\":1"
  "otrf-security-datasets/m365-atomic/set-mailbox-audit_log_age_limit_to_zero.json|1|\"sources\":{\"ual.exchange_admin\":1}|\"Set-Mailbox\":1"
  "otrf-security-datasets/m365-atomic/set_mailboxauditbypassassociation.json|1|\"sources\":{\"ual.exchange_admin\":1}|\"Set-MailboxAuditBypassAssociation\":1"
  "otrf-security-datasets/m365-atomic/unified_auditlog_ingestion_stopped.json|1|\"sources\":{\"ual.exchange_admin\":1}|\"Set-AdminAuditLogConfig\":1"
  "azure-sentinel-training-lab/office_activity.csv|266|\"sources\":{\"ual.other\":253,\"ual.mailbox\":10,\"ual.exchange_admin\":3}|\"MailItemsAccessed\":3|\"New-InboxRule\":1|\"without\":0"
  "azure-sentinel-training-lab/office_activity_inbox_rule.csv|2|\"sources\":{\"ual.exchange_admin\":2}|\"New-InboxRule\":2"
  "azure-sentinel-training-lab/sign-in_adelete.csv|56|\"sources\":{\"signin.interactive\":56}|\"without\":0"
  "azure-sentinel-training-lab/disable_accounts.csv|4|\"sources\":{\"signin.interactive\":4}|\"without\":4"
  "azure-sentinel-training-lab/AuditLogs_Hunting.csv|5|\"sources\":{\"audit.directory\":5}|\"Update application – Certificates and secrets management\":5"
  "azure-sentinel-training-lab/signinLogs.csv|1|\"sources\":{\"signin.interactive\":1}"
  "elastic-integrations-fixtures/test-signinlogs-sample.log|2|\"sources\":{\"signin.interactive\":2}"
  "elastic-integrations-fixtures/test-signinlogs-raw.log|5|\"sources\":{\"signin.service_principal\":2,\"signin.interactive\":1,\"signin.managed_identity\":1,\"signin.noninteractive\":1}"
  "elastic-integrations-fixtures/test-audit-logs-sample.log|3|\"sources\":{\"audit.directory\":3}|\"Add service principal credentials\":1"
)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
seen=0
for c in "${cases[@]}"; do
  IFS='|' read -r -a f <<<"$c"
  file=$corp/${f[0]} n=${f[1]}
  if [ ! -f "$file" ]; then bad "${f[0]}: missing from the corpus"; continue; fi
  seen=$((seen + 1))
  "$MH" stats --json "$file" >"$work/out" 2>"$work/err"; rc=$?
  [ $rc = 0 ] || bad "${f[0]}: exit $rc: $(cat "$work/err")"
  [ -s "$work/err" ] && bad "${f[0]}: warnings: $(head -3 "$work/err")"
  for want in "\"records\":{\"read\":$n,\"used\":$n,\"skipped\":0}" '"files":{"read":1,"failed":0,"not_logs":0}' \
      '"unparseable":0' "${f[@]:2}"; do
    if grep -qF -- "$want" "$work/out"; then pass=$((pass + 1))
    else bad "${f[0]}: no $want in $(cat "$work/out")"; fi
  done
  lines=$("$MH" cat -q "$file" 2>/dev/null | wc -l)
  [ "$lines" = "$n" ] && pass=$((pass + 1)) || bad "${f[0]}: cat printed $lines events, want $n"
done
# every data file of the corpus is covered by a case above
total=$(find "$corp" -type f ! -name 'README*' | wc -l)
[ "$total" = "$seen" ] && pass=$((pass + 1)) || bad "corpus has $total files, the test covers $seen"
# all the files in one run: 376 records, none skipped, no file failed
files=()
for c in "${cases[@]}"; do files+=("$corp/${c%%|*}"); done
"$MH" stats --json "${files[@]}" >"$work/all" 2>"$work/err"
grep -qF '"files":{"read":18,"failed":0,"not_logs":0},' "$work/all" &&
  grep -qF '"records":{"read":376,"used":376,"skipped":0}' "$work/all" && pass=$((pass + 1)) ||
  bad "whole corpus: $(cat "$work/all")"
echo "shared m365: $pass passed, $fail failed"
[ $fail = 0 ]

# bench/jq-rules.jq -- the 21 third-party M365 rules (Suzaku, azure/m365 on the UAL)
# as one jq program, for the side-by-side run in bench/hunt.sh. Each rule is
# evaluated on every record with Sigma's semantics for these rules:
# case-insensitive whole-value equality on Operation, folded Parameters /
# ExtendedProperties (Name/Value lists), `contains`, `exists`. Prints the
# rule id (last 4 hex digits) of every match.
def lc: ascii_downcase;
def op: ((.Operation // "") | tostring | lc);
def nv($list; $name): [(.[$list] // [])[]? | select((.Name // "" | lc) == ($name | lc)) | .Value];
def has_nv($list; $name): (nv($list; $name) | length) > 0;
def nv_contains($list; $name; $s): any(nv($list; $name)[]; (tostring | lc | contains($s | lc)));
[
  (if op == "set-adminauditlogconfig" and any(nv("Parameters"; "UnifiedAuditLogIngestionEnabled")[]; tostring | lc == "false") then "000d" else empty end),
  (if op == "add application." then "0011" else empty end),
  (if op == "update authorization policy." then "0010" else empty end),
  (if nv_contains("ExtendedProperties"; "UserAgent"; "azurehound") then "0007" else empty end),
  (if op == "set-casmailbox" then "0009" else empty end),
  (if op == "disable strong authentication." then "0012" else empty end),
  (if op == "new-rolegroup" then "0003" else empty end),
  (if op == "userloginfailed" then "0006" else empty end),
  (if op == "set-mailbox" and has_nv("Parameters"; "AuditLogAgeLimit") then "000c" else empty end),
  (if op == "set-mailboxauditbypassassociation" then "000b" else empty end),
  (if op == "set-mailbox" and (has_nv("Parameters"; "ForwardingSmtpAddress") or has_nv("Parameters"; "DeliverToMailboxAndForward")) then "000a" else empty end),
  (if op == "add-mailboxpermission" then "0004" else empty end),
  (if op == "delete user." then "000f" else empty end),
  (if op == "new-inboxrule" then "0013" else empty end),
  (if nv_contains("ExtendedProperties"; "UserAgent"; "WindowsPowerShell") then "0008" else empty end),
  (if op == "add-recipientpermission" then "0005" else empty end),
  (if op == "remove-dlpcompliancepolicy" then "000e" else empty end),
  (if op == "add member to role." then "0001" else empty end),
  (if op == "remove member from role." then "0002" else empty end),
  (if op == "set-inboxrule" then "0014" else empty end),
  (if op == "update user." then "0015" else empty end)
] | .[]

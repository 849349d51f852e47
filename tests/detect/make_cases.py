#!/usr/bin/env python3
"""tests/detect/make_cases.py -- writes the golden cases of the built-in pack

Each case is tests/data/detect/<case>/input.jsonl (records in the real export
shapes: UAL AuditData, Azure Monitor sign-in records, Graph directoryAudit)
and tests/data/detect/<case>/expect:

    # what the case shows
    rules <rule id> ...        the rules under test: only their alerts are compared
    corr <rule id>             a correlation: compared by count, not by record
    alert <rule id> <record>   an expected alert (record = line of input.jsonl;
                               "*" for correlations)

The expectations are written from each rule's intent (detections.md), not
copied from a run: tests/detect/test_golden.sh compares them with what
`mailhound hunt` reports. Rule ids are looked up by title in rules/builtin.
Re-run after changing a rule's title or adding cases:
    python3 tests/detect/make_cases.py
Output is deterministic (fixed ids and times).
"""
import glob
import json
import os
import re
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "data", "detect")
TEN = "8d4121ed-0008-406d-bff9-0d5bb312183c"
EXO = "00000002-0000-0ff1-ce00-000000000000"
GRAPH = "00000003-0000-0000-c000-000000000000"
EVIL = "6f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b"


def rule_ids():
    """title -> (id, is_correlation) from rules/builtin/*.yml without a YAML library."""
    out = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "rules", "builtin", "*.yml"))):
        text = open(path, encoding="utf-8").read()
        for doc in text.split("\n---\n"):
            t = re.search(r"^title: (.*)$", doc, re.M)
            i = re.search(r"^id: (.*)$", doc, re.M)
            if t and i:
                out[t.group(1).strip()] = (i.group(1).strip(), "\ncorrelation:" in doc)
    return out


IDS = rule_ids()


def T(day, h=9, m=0, s=0):
    return "2026-01-%02dT%02d:%02d:%02d" % (5 + day, h, m, s)


_n = [0]


def gid(prefix="00000000"):
    _n[0] += 1
    return "%s-0000-4000-8000-%012d" % (prefix, _n[0])


# ---- record builders ----

def ual_logon(t, user, ip, code, op=None, ua="Mozilla/5.0"):
    return {"CreationTime": t, "Id": gid(), "Operation": op or ("UserLoggedIn" if code == 0 else "UserLoginFailed"),
            "OrganizationId": TEN, "RecordType": 15, "ResultStatus": "Success" if code == 0 else "Failed",
            "UserType": 0, "Version": 1, "Workload": "AzureActiveDirectory", "ClientIP": ip, "ObjectId": EXO,
            "UserId": user, "AzureActiveDirectoryEventType": 1,
            "ExtendedProperties": [{"Name": "UserAgent", "Value": ua}, {"Name": "RequestType", "Value": "OAuth2:Token"}],
            "ActorIpAddress": ip, "ApplicationId": EXO, "ErrorNumber": str(code)}


def signin(t, user, ip, code, category="SignInLogs", client="Browser", req="multiFactorAuthentication",
           ua="Mozilla/5.0 (Windows NT 10.0; Win64; x64)", protocol=None, country=None, rid=None, asn=None):
    props = {"id": rid or gid("a1000000"), "createdDateTime": t + "Z", "userPrincipalName": user,
             "appId": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "appDisplayName": "Azure Portal", "ipAddress": ip,
             "status": {"errorCode": code}, "clientAppUsed": client, "isInteractive": category == "SignInLogs",
             "authenticationRequirement": req, "userAgent": ua}
    if protocol:
        props["authenticationProtocol"] = protocol
    if asn:
        props["autonomousSystemNumber"] = asn
    extra = {}
    if country:
        props["location"] = {"city": "x", "countryOrRegion": country}
        extra["location"] = country
    return {**extra, "time": t + "Z", "resourceId": "/tenants/%s/providers/Microsoft.aadiam" % TEN,
            "operationName": "Sign-in activity", "category": category, "tenantId": TEN,
            "resultType": str(code), "callerIpAddress": ip, "properties": props}


def audit(t, activity, actor="admin@contoso.com", target_type="ServicePrincipal", mods=(), app_actor=None,
          target_id=None):
    initiated = {"app": {"appId": None, "displayName": app_actor, "servicePrincipalId": gid("5e000000")}} \
        if app_actor else {"user": {"id": gid("0a000000"), "userPrincipalName": actor, "ipAddress": "198.51.100.7"}}
    return {"id": "Directory_%s" % gid("d0000000"), "category": "ApplicationManagement",
            "correlationId": gid("c0000000"), "result": "success", "activityDisplayName": activity,
            "activityDateTime": t + "Z", "loggedByService": "Core Directory", "operationType": "Add",
            "initiatedBy": initiated,
            "targetResources": [{"id": target_id or gid("7a000000"), "displayName": "target", "type": target_type,
                                 "modifiedProperties": [{"displayName": k, "oldValue": None, "newValue": v}
                                                        for k, v in mods]}],
            "additionalDetails": [{"key": "User-Agent", "value": "Mozilla/5.0"}]}


def ual_dir(t, operation, mods=(), user="stinger@contoso.onmicrosoft.com"):
    return {"CreationTime": t, "Id": gid(), "Operation": operation, "OrganizationId": TEN, "RecordType": 8,
            "ResultStatus": "Success", "UserType": 0, "Version": 1, "Workload": "AzureActiveDirectory",
            "ObjectId": "Alex@contoso.onmicrosoft.com", "UserId": user,
            "ExtendedProperties": [{"Name": "additionalDetails", "Value": "{}"}],
            "ModifiedProperties": [{"Name": k, "NewValue": v, "OldValue": ""} for k, v in mods]}


def exo_admin(t, operation, params, user="stinger@contoso.onmicrosoft.com", ip="[2a09:bac5:114:105::1a:9b]:54809"):
    return {"CreationTime": t, "Id": gid(), "Operation": operation, "OrganizationId": TEN, "RecordType": 1,
            "ResultStatus": "True", "UserKey": "10032002643F6746", "UserType": 2, "Version": 1, "Workload": "Exchange",
            "ClientIP": ip, "ObjectId": "x", "UserId": user, "AppId": "fb78d390-0c51-40cd-8e17-fdbfab77341b",
            "ClientAppId": "", "Parameters": [{"Name": k, "Value": v} for k, v in params],
            "SessionId": "9c3eaae9-a913-4161-b3f5-e25c7da47797"}


def mia(t, mailbox, user=None, app=EXO, client="", ip="203.0.113.10", info="Client=OWA;Mozilla/5.0", count=1,
        access="Bind", throttled="False", logon=0):
    return {"CreationTime": t, "Id": gid(), "Operation": "MailItemsAccessed", "OrganizationId": TEN,
            "RecordType": 50, "ResultStatus": "Succeeded", "UserType": 0 if logon == 0 else 5, "Version": 1,
            "Workload": "Exchange", "UserId": user or mailbox, "MailboxOwnerUPN": mailbox, "LogonType": logon,
            "AppId": app, "ClientAppId": client, "ClientIPAddress": ip, "ClientInfoString": info,
            "OperationCount": count,
            "OperationProperties": [{"Name": "MailAccessType", "Value": access},
                                    {"Name": "IsThrottled", "Value": throttled}],
            "Folders": [{"Id": "LgAAAA", "Path": "\\Inbox",
                         "FolderItems": [{"InternetMessageId": "<m%d@contoso.com>" % _n[0]}]}]}


def inbox_rule(t, name, params, op="New-InboxRule", user="adelev@contoso.com"):
    return exo_admin(t, op, [("Name", name)] + list(params), user=user, ip="175.45.176.99:51000")


# ---- cases ----

CASES = []


def case(name, about, rules, records, alerts):
    """alerts: list of (title, record index 1-based or '*')."""
    CASES.append((name, about, rules, records, alerts))


def spray_ual(ip, users, start_min=0, spread=1, code=50126):
    return [ual_logon(T(0, 9, start_min + i * spread), u, ip, code) for i, u in enumerate(users)]


USERS = ["matt", "lynne", "adele", "miriam", "megan", "alex", "lidia"]
UPN = ["%s@contoso.com" % u for u in USERS]

# D1 -- UAL
R = ["Password spray from one source address (UAL)",
     "Password spray followed by a successful sign-in from the same source (UAL)"]
recs = spray_ual("2a09:bac1:820:8::1a:9c", UPN[:6]) + [ual_logon(T(0, 10), "henrietta@contoso.com",
                                                                  "2a09:bac1:820:8::1a:9c", 0)]
case("d01_ual_pos", "6 accounts fail 50126 from one IPv6 in 6 minutes, then a success from it", R, recs,
     [(R[0], "*"), (R[1], "*")])
recs = spray_ual("198.51.100.20", UPN[:4]) + spray_ual("198.51.100.20", UPN[4:6], start_min=40) + \
    [ual_logon(T(0, 10), "henrietta@contoso.com", "198.51.100.20", 0),
     ual_logon(T(0, 9, 1), "x@contoso.com", "198.51.100.21", 50126)] + \
    [ual_logon(T(0, 9, 2 + i), u, "198.51.100.22", 50074) for i, u in enumerate(UPN[:6])]
case("d01_ual_neg", "4 then 2 failures 40 minutes apart (never 5 in 20m); 50074 is not a spray failure", R, recs, [])

# D1 -- sign-in logs
R = ["Password spray from one source address (sign-in logs)",
     "Password spray followed by a successful sign-in from the same source (sign-in logs)"]
recs = [signin(T(0, 9, i), u, "192.0.2.50", 50126) for i, u in enumerate(UPN[:5])] + \
    [signin(T(1, 8), "adele@contoso.com", "192.0.2.50", 50076)]
case("d01_si_pos", "5 accounts fail from one address; a day later a correct password stopped by MFA", R, recs,
     [(R[0], "*"), (R[1], "*")])
recs = [signin(T(0, 9, i * 6), u, "192.0.2.51", 50126) for i, u in enumerate(UPN[:5])] + \
    [signin(T(0, 9, i), "matt@contoso.com", "192.0.2.52", 50126) for i in range(6)] + \
    [signin(T(0, 12), "matt@contoso.com", "192.0.2.52", 0)]
case("d01_si_neg", "5 accounts over 24 minutes; one account failing 6 times", R, recs, [])

# D2
R = ["Distributed password spray burst (UAL)", "One account failing from many addresses (UAL)"]
recs = [ual_logon(T(0, 3, i // 6, i % 60), "user%02d@contoso.com" % i, "198.18.%d.%d" % (i, i), 50126)
        for i in range(22)] + \
    [ual_logon(T(d, 2 + d), "test@contoso.com", "100.64.%d.9" % d, 50126) for d in range(5)]
case("d02_ual_pos", "22 accounts from 22 addresses in 4 minutes; one account from 5 addresses over 5 days", R,
     recs, [(R[0], "*"), (R[1], "*")])
recs = [ual_logon(T(0, 3, i // 6, i % 60), "user%02d@contoso.com" % i, "198.18.0.%d" % (i % 5), 50126)
        for i in range(22)] + \
    [ual_logon(T(d * 2, 2), "test@contoso.com", "100.64.%d.9" % d, 50126) for d in range(5)]
case("d02_ual_neg", "22 accounts but 5 addresses; 5 addresses over 9 days (beyond 7d)", R, recs, [])
R = ["Distributed password spray burst (sign-in logs)", "One account failing from many addresses (sign-in logs)"]
recs = [signin(T(0, 3, i // 6, i % 60), "user%02d@contoso.com" % i, "198.18.%d.%d" % (i, i), 50053)
        for i in range(21)] + \
    [signin(T(d, 2), "test@contoso.com", "100.64.%d.9" % d, 50126, category="NonInteractiveUserSignInLogs")
     for d in range(6)]
case("d02_si_pos", "21 accounts from 21 addresses; one account from 6 addresses over 6 days", R, recs,
     [(R[0], "*"), (R[1], "*")])
recs = [signin(T(0, 3, i // 6, i % 60), "user%02d@contoso.com" % (i % 20), "198.18.%d.%d" % (i, i), 50126)
        for i in range(25)] + \
    [signin(T(d, 2), "test@contoso.com", "100.64.%d.9" % (d % 4), 50126) for d in range(6)]
case("d02_si_neg", "25 addresses but only 20 accounts; one account from 4 addresses", R, recs, [])

# D3
R = ["Successful sign-in over a legacy authentication protocol",
     "Successful sign-in with the resource-owner password flow (ROPC / BAV2ROPC)",
     "UAL sign-in with the BAV2ROPC user agent", "Sprayed account signed in with a single factor"]
recs = [signin(T(0, 9), "printer@contoso.com", "10.0.0.5", 0, client="Authenticated SMTP",
               req="singleFactorAuthentication"),
        signin(T(0, 10), "script@contoso.com", "192.0.2.9", 0, ua="BAV2ROPC"),
        ual_logon(T(0, 11), "test@contoso.com", "192.0.2.9", 0, ua="BAV2ROPC")] + \
    [signin(T(d, 2), "test@contoso.com", "100.64.%d.9" % d, 50126) for d in range(5)] + \
    [signin(T(5, 1), "test@contoso.com", "100.64.4.9", 0, req="singleFactorAuthentication")]
case("d03_pos", "SMTP AUTH success, ROPC success, UAL BAV2ROPC logon, 5-address spray then single-factor", R,
     recs, [(R[0], 1), (R[1], 2), (R[2], 3), (R[3], "*")])
recs = [signin(T(0, 9), "printer@contoso.com", "10.0.0.5", 50126, client="Authenticated SMTP"),
        signin(T(0, 10), "ann@contoso.com", "192.0.2.9", 0, client="Mobile Apps and Desktop clients"),
        ual_logon(T(0, 11), "test@contoso.com", "192.0.2.9", 50126, ua="BAV2ROPC")] + \
    [signin(T(d, 2), "test@contoso.com", "100.64.%d.9" % d, 50126) for d in range(5)] + \
    [signin(T(5, 1), "test@contoso.com", "100.64.4.9", 0, req="multiFactorAuthentication")]
case("d03_neg", "legacy client that failed, modern client success, failed ROPC, spray then MFA success", R,
     recs, [])

# D4
R = ["Account enumeration from one source (UAL)", "Sign-in attempt on a disabled account (UAL)",
     "Account enumeration from one source (sign-in logs)", "Sign-in attempt on a disabled account (sign-in logs)"]
recs = [ual_logon(T(0, 9, i), "gone%d@contoso.com" % i, "175.45.176.99", 50034 if i else 50057) for i in range(3)] + \
    [signin(T(0, 9, i), "old%d@contoso.com" % i, "175.45.176.98", 50057) for i in range(3)]
case("d04_pos", "3 unknown/disabled accounts from one address in each source", R, recs,
     [(R[0], "*"), (R[1], 1), (R[2], "*"), (R[3], 4), (R[3], 5), (R[3], 6)])
recs = [ual_logon(T(0, 9, i * 40), "gone%d@contoso.com" % i, "175.45.176.99", 50034) for i in range(3)] + \
    [signin(T(0, 9, i), "johns@contoso.com", "175.45.176.98", 50034) for i in range(3)] + \
    [signin(T(0, 10), "old@contoso.com", "175.45.176.97", 50126)]
case("d04_neg", "not found 40 minutes apart; one account three times; a wrong password", R, recs, [])

# D5
R = ["Credential added to an application or service principal",
     "Certificate credential rotated by a managed identity"]
kd_pw = '["[KeyIdentifier=11ca002d-d846-4692-8e1f-501db99f485a,KeyType=Password,KeyUsage=Verify,DisplayName=key 2]"]'
kd_cert = '["[KeyIdentifier=7dffcdc5-0000-4000-8000-000000000001,KeyType=AsymmetricX509Cert,KeyUsage=Verify,DisplayName=CN=a70a7931]"]'
recs = [audit(T(0, 9), "Update application – Certificates and secrets management ", actor="victim@contoso.com",
              target_type="Application", mods=[("KeyDescription", kd_pw)]),
        audit(T(0, 10), "Add service principal credentials", app_actor="Managed Service Identity",
              mods=[("KeyDescription", kd_cert)]),
        ual_dir(T(0, 11), "Add service principal credentials.", mods=[("KeyDescription", kd_pw)])]
case("d05_pos", "secret added to an app (trailing space, en dash), MSI certificate rotation, UAL credential add",
     R, recs, [(R[0], 1), (R[1], 2), (R[0], 3)])
recs = [audit(T(0, 9), "Update application", actor="dev@contoso.com", target_type="Application",
              mods=[("AppAddress", '["https://app.example"]')]),
        audit(T(0, 10), "Remove service principal credentials", mods=[("KeyDescription", "[]")])]
case("d05_neg", "other application updates", R, recs, [])

# D6
R = ["Exchange full_access_as_app granted to an application", "Self-escalating application permission granted",
     "Mail or directory application permission granted to an application",
     "Delegated mail permission granted to an application"]
recs = [audit(T(0, 9), "Add app role assignment to service principal", app_actor="Legacy Test App",
              mods=[("AppRole.Id", '"dc890d15-9560-4a4c-9b7f-a736ec74ec40"'), ("AppRole.Value", '"full_access_as_app"'),
                    ("ServicePrincipal.AppId", '"%s"' % EVIL)]),
        ual_dir(T(0, 10), "Consent to application.",
                mods=[("ConsentContext.IsAdminConsent", "True"), ("ConsentContext.IsAppOnly", "True"),
                      ("ConsentAction.Permissions", "[] => [[Id: x, ClientId: y, ConsentType: AllPrincipals, "
                                                    "Scope: full_access_as_app, ]]")]),
        audit(T(0, 11), "Add app role assignment to service principal",
              mods=[("AppRole.Value", '"RoleManagement.ReadWrite.Directory"')]),
        audit(T(0, 12), "Add app role assignment to service principal", mods=[("AppRole.Value", '"Mail.ReadWrite"')]),
        audit(T(0, 13), "Add delegated permission grant",
              mods=[("DelegatedPermissionGrant.Scope", '"User.Read Mail.Read offline_access"'),
                    ("DelegatedPermissionGrant.ConsentType", '"Principal"')]),
        ual_dir(T(0, 14), "Add OAuth2PermissionGrant.", mods=[("DelegatedPermissionGrant.Scope", "EWS.AccessAsUser.All")])]
case("d06_pos", "full_access_as_app by role assignment and by consent; self-escalation; Mail.ReadWrite; delegated mail",
     R, recs, [(R[0], 1), (R[0], 2), (R[1], 3), (R[2], 4), (R[3], 5), (R[3], 6)])
recs = [audit(T(0, 9), "Add app role assignment to service principal", mods=[("AppRole.Value", '"User.Read.All"')]),
        audit(T(0, 10), "Add delegated permission grant",
              mods=[("DelegatedPermissionGrant.Scope", '"User.Read openid profile"')]),
        ual_dir(T(0, 11), "Consent to application.",
                mods=[("ConsentAction.Permissions", "[] => [[Scope: User.Read, ]]")]),
        audit(T(0, 12), "Update application", mods=[("RequiredResourceAccess", '"full_access_as_app"')])]
case("d06_neg", "harmless permissions; a permission name in an unrelated update", R, recs, [])

# D7 step 2
R = ["Application registered", "Service principal created", "User account created",
     "Owner added to an application or service principal", "Member added to a privileged directory role"]
recs = [audit(T(0, 9), "Add application", target_type="Application"),
        audit(T(0, 9, 1), "Add service principal"),
        audit(T(0, 9, 2), "Add user", target_type="User"),
        audit(T(0, 9, 3), "Add owner to application", target_type="Application"),
        ual_dir(T(0, 9, 4), "Add member to role.", mods=[("Role.ObjectID", "62e90394-69f5-4237-9190-012177145e10"),
                                                         ("Role.DisplayName", "Company Administrator"),
                                                         ("Role.TemplateId", "62e90394-69f5-4237-9190-012177145e10"),
                                                         ("Role.WellKnownObjectName", "TenantAdmins")]),
        audit(T(0, 9, 5), "Add member to role", target_type="User",
              mods=[("Role.DisplayName", '"Application Administrator"'),
                    ("Role.TemplateId", '"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"')])]
case("d07_pos", "the creation steps of the chain; Global and Application Administrator grants", R, recs,
     [(R[0], 1), (R[1], 2), (R[2], 3), (R[3], 4), (R[4], 5), (R[4], 6)])
recs = [audit(T(0, 9), "Update application", target_type="Application"),
        audit(T(0, 9, 1), "Delete user", target_type="User"),
        ual_dir(T(0, 9, 2), "Add member to role.", mods=[("Role.DisplayName", "Reports Reader"),
                                                         ("Role.TemplateId", "4a5d8f65-41da-4de4-8968-e035b65339cf")]),
        audit(T(0, 9, 3), "Add member to group", target_type="User")]
case("d07_neg", "updates, deletions, a non-privileged role, a group", R, recs, [])

# D10
R = ["Mail read through EWS by an application", "One application reading many mailboxes",
     "One account reading many other mailboxes"]
EWS = "Client=WebServices;ExchangeWebServices/15.0;"
recs = [mia(T(0, 3, i), "exec%d@contoso.com" % i, user="svc-app", client=EVIL, info=EWS, ip="192.0.2.66", logon=5)
        for i in range(6)] + \
    [mia(T(1, 3, i), "boss%d@contoso.com" % i, user="assistant@contoso.com", ip="203.0.113.9", logon=2)
     for i in range(6)]
case("d10_pos", "EWS app reads 6 executive mailboxes in 6 minutes; an assistant opens 6 mailboxes", R, recs,
     [(R[0], i) for i in range(1, 7)] + [(R[1], "*"), (R[2], "*"), (R[2], "*")])
recs = [mia(T(0, 3, i * 3), "exec%d@contoso.com" % i, user="svc-app", client=EVIL, info=EWS, ip="192.0.2.66",
            logon=5) for i in range(1)] + \
    [mia(T(0, 4, i * 3), "exec%d@contoso.com" % i, user="svc-app", client=EVIL, info="Client=REST;;",
         ip="192.0.2.66", logon=5) for i in range(6)] + \
    [mia(T(1, 3, i * 3), "boss%d@contoso.com" % i, user="assistant@contoso.com", ip="203.0.113.9", logon=2)
     for i in range(6)] + \
    [mia(T(2, 3, i), "user%d@contoso.com" % i, ip="203.0.113.%d" % i) for i in range(8)]
# record 1 is the one EWS read: positive for the EWS rule; the rest are the near misses
case("d10_neg", "6 mailboxes over 15 minutes (beyond 10m); owners reading their own mail", R, recs, [(R[0], 1)])

# D16
R = ["Inbox rule forwarding or redirecting mail", "Inbox rule hiding or deleting mail",
     "Inbox rule hiding mail about security, payments or legal matters",
     "Inbox rule with a throw-away name hiding mail", "Outlook client rule changed to forward, redirect or delete",
     "Burst of inbox rule changes by one account",
     "Inbox rule on security, payment or legal words that stops rule processing",
     "Inbox rule on security, payment or legal words"]
recs = [inbox_rule(T(0, 9), "fw", [("ForwardTo", "evil@example.net")], user="a@contoso.com"),
        inbox_rule(T(0, 10), "junk", [("SubjectContainsWords", "legal"), ("MoveToFolder", "Junk Email"),
                                      ("StopProcessingRules", "True")], user="b@contoso.com"),
        inbox_rule(T(0, 11), ".", [("DeleteMessage", "True"), ("BodyContainsWords", "covid-19")], user="c@contoso.com"),
        exo_admin(T(0, 12), "UpdateInboxRules", [], user="d@contoso.com"),
        inbox_rule(T(1, 9), "rule one", [("MarkAsRead", "True")], user="e@contoso.com"),
        inbox_rule(T(1, 9, 5), "rule two", [("MarkAsRead", "True")], user="e@contoso.com", op="Set-InboxRule"),
        inbox_rule(T(1, 9, 9), "rule three", [("MarkAsRead", "True")], user="e@contoso.com", op="Set-InboxRule")]
recs[3]["OperationProperties"] = [{"Name": "RuleActions", "Value": "[{\"ActionType\":\"Forward\",\"Recipients\":[\"x@example.net\"]}]"}]
case("d16_pos", "forward rule; hide on 'legal'; '.' deleting; Outlook forward rule; 3 rule changes in 10 minutes",
     R, recs, [(R[0], 1), (R[3], 1), (R[1], 2), (R[2], 2), (R[6], 2), (R[7], 2), (R[1], 3), (R[3], 3), (R[4], 4),
               (R[5], "*")])
recs = [inbox_rule(T(0, 9), "Newsletters", [("From", "news@shop.example"), ("MoveToFolder", "Newsletters")]),
        inbox_rule(T(0, 10), "Archive invoices", [("SubjectContainsWords", "invoice"), ("MoveToFolder", "Invoices")]),
        inbox_rule(T(0, 11), "ab", [("MoveToFolder", "Projects")]),
        inbox_rule(T(0, 12), "fw", [("ForwardTo", "")], op="Remove-InboxRule"),
        inbox_rule(T(1, 9), "r1", [("MarkAsRead", "True")], user="f@contoso.com"),
        inbox_rule(T(1, 11), "r2", [("MarkAsRead", "True")], user="f@contoso.com"),
        inbox_rule(T(2, 9), "Invoices to accounting", [("SubjectContainsWords", "invoice"),
                                                       ("ForwardTo", "accounting@contoso.com"),
                                                       ("StopProcessingRules", "True")], user="g@contoso.com")]
case("d16_neg", "filing rules, a keyword rule into a normal folder, removal, 2 changes 2 hours apart, "
     "forwarding invoices to a colleague (the keyword and forward rules fire, the hiding ones do not)", R, recs,
     [(R[7], 2), (R[0], 7), (R[7], 7)])

# D17
R = ["Mailbox forwarding configured", "Several mailboxes forwarded to the same address", "Mailbox auditing disabled",
     "Mailbox audit log retention shortened", "Full access to another mailbox granted", "Send-as permission granted",
     "Mailbox audit bypass enabled", "Unified audit log ingestion disabled", "Legacy mail protocols enabled on a mailbox",
     "Transport rule redirecting or copying mail", "ApplicationImpersonation role assigned",
     "Multi-factor authentication disabled for a user"]
recs = [exo_admin(T(0, 9, i), "Set-Mailbox", [("Identity", "u%d@contoso.com" % i),
                                               ("ForwardingSmtpAddress", "smtp:drop@evil.example")]) for i in range(3)] + \
    [exo_admin(T(0, 10), "Set-Mailbox", [("Identity", "alex@contoso.com"), ("AuditEnabled", "False")]),
     exo_admin(T(0, 11), "Set-Mailbox", [("Identity", "alex@contoso.com"), ("AuditLogAgeLimit", "1.00:00:00")]),
     exo_admin(T(0, 12), "Add-MailboxPermission", [("Identity", "Henrietta@contoso.com"), ("AccessRights", "FullAccess"),
                                                   ("User", "Lidia@contoso.com"), ("InheritanceType", "All")]),
     exo_admin(T(0, 13), "Add-RecipientPermission", [("Identity", "ceo@contoso.com"), ("Trustee", "x@contoso.com"),
                                                     ("AccessRights", "SendAs")]),
     exo_admin(T(0, 14), "Set-MailboxAuditBypassAssociation", [("AuditBypassEnabled", "True"),
                                                               ("Identity", "Alex@contoso.com")]),
     exo_admin(T(0, 15), "Set-AdminAuditLogConfig", [("UnifiedAuditLogIngestionEnabled", "False")]),
     exo_admin(T(0, 16), "Set-CASMailbox", [("Identity", "Lidia@contoso.com"), ("ImapEnabled", "True"),
                                            ("PopEnabled", "True")]),
     exo_admin(T(0, 17), "New-TransportRule", [("Name", "copy"), ("BlindCopyTo", "drop@evil.example")]),
     exo_admin(T(0, 18), "New-ManagementRoleAssignment", [("Role", "ApplicationImpersonation"), ("User", "svc@contoso.com")]),
     ual_dir(T(0, 19), "Disable Strong Authentication.", mods=[("StrongAuthenticationRequirement", "[]")])]
case("d17_pos", "every D17 change once (the OTRF samples' shapes); three mailboxes forwarded to one address", R,
     recs, [(R[0], 1), (R[0], 2), (R[0], 3), (R[1], "*"), (R[2], 4), (R[3], 5), (R[4], 6), (R[5], 7), (R[6], 8),
            (R[7], 9), (R[8], 10), (R[9], 11), (R[10], 12), (R[11], 13)])
recs = [exo_admin(T(0, 9, i), "Set-Mailbox", [("Identity", "u%d@contoso.com" % i),
                                               ("ForwardingSmtpAddress", "")]) for i in range(3)] + \
    [exo_admin(T(0, 10), "Set-Mailbox", [("Identity", "alex@contoso.com"), ("AuditEnabled", "True")]),
     exo_admin(T(0, 11), "Set-Mailbox", [("Identity", "alex@contoso.com"), ("AuditLogAgeLimit", "90.00:00:00")]),
     exo_admin(T(0, 12), "Add-MailboxPermission", [("Identity", "Henrietta@contoso.com"), ("AccessRights", "ReadPermission")]),
     exo_admin(T(0, 13), "Add-RecipientPermission", [("Identity", "ceo@contoso.com"), ("AccessRights", "ReadPermission")]),
     exo_admin(T(0, 14), "Set-MailboxAuditBypassAssociation", [("AuditBypassEnabled", "False")]),
     exo_admin(T(0, 15), "Set-AdminAuditLogConfig", [("UnifiedAuditLogIngestionEnabled", "True")]),
     exo_admin(T(0, 16), "Set-CASMailbox", [("Identity", "Lidia@contoso.com"), ("ImapEnabled", "False")]),
     exo_admin(T(0, 17), "New-TransportRule", [("Name", "disclaimer"), ("ApplyHtmlDisclaimerText", "Confidential")]),
     exo_admin(T(0, 18), "New-ManagementRoleAssignment", [("Role", "Mail Recipients"), ("User", "svc@contoso.com")]),
     ual_dir(T(0, 19), "Update user.", mods=[("Included Updated Properties", "DisplayName")])] + \
    [exo_admin(T(d * 4, 9), "Set-Mailbox", [("Identity", "v%d@contoso.com" % d),
                                             ("ForwardingSmtpAddress", "smtp:home@example.org")]) for d in range(3)]
case("d17_neg", "the same operations with harmless values; forwarding to one address spread over 8 days "
     "(the forwards themselves are reported)", R, recs, [(R[0], 14), (R[0], 15), (R[0], 16)])


# extra: embargoed country
R = ["Successful sign-in from an embargoed country"]
recs = [signin(T(0, 14, 33), "adelev@contoso.com", "175.45.176.99", 0, country="KP"),
        signin(T(0, 14, 40), "adelev@contoso.com", "175.45.176.99", 16000, country="KP"),
        signin(T(0, 15), "adelev@contoso.com", "203.0.113.4", 0, country="DE")]
case("x01_pos", "a success from KP (and a failure from KP, a success from DE)", R, recs, [(R[0], 1)])
case("x01_neg", "a failure from KP, a success from DE", R, recs[1:], [])

# ---- built-in detectors (src/correlate/): rule ids are the detector ids ----
BUILTIN = {"mh.d1.spray_success", "mh.d9.first_seen_app", "mh.d9.first_seen_app_mailbox", "mh.d12.throttled_mailbox",
           "mh.d14.token_without_signin", "mh.d14.token_unverifiable", "mh.d2.spray_success",
           "mh.d3.spray_success_no_mfa"}
for b in BUILTIN:
    IDS[b] = (b, False)


def uti(sign_in_id):
    import base64
    import uuid
    return base64.urlsafe_b64encode(uuid.UUID(sign_in_id).bytes_le).decode().rstrip("=")


def mia_token(t, mailbox, token, iat, ip="203.0.113.10"):
    r = mia(t, mailbox, ip=ip)
    r["AppAccessContext"] = {"UniqueTokenId": token, "IssuedAtTime": iat}
    return r


R = ["mh.d9.first_seen_app", "mh.d9.first_seen_app_mailbox"]
recs = [mia(T(d, 9), "alice@contoso.com") for d in range(9)] + [mia(T(d, 10), "bob@contoso.com") for d in range(9)] + \
    [mia(T(9, 3), "alice@contoso.com", user="svc", app=GRAPH, client=EVIL, ip="192.0.2.66")]
case("d09_pos", "9 days of owner access, then an unknown client reads alice's mail through Graph", R, recs,
     [(R[0], 19), (R[1], 19)])
recs = [mia(T(d, 9), "alice@contoso.com") for d in range(9)] + \
    [mia(T(2, 3), "alice@contoso.com", user="svc", app=GRAPH, client=EVIL, ip="192.0.2.66"),
     mia(T(9, 3), "alice@contoso.com", user="svc", app=GRAPH, client=EVIL, ip="192.0.2.66")]
case("d09_neg", "the same client already read mail on day 2: part of the baseline", R, recs, [])

R = ["mh.d12.throttled_mailbox"]
case("d12_pos", "a throttled MailItemsAccessed record", R,
     [mia(T(0, 9), "carol@contoso.com"), mia(T(0, 10), "carol@contoso.com", throttled="True")], [(R[0], 2)])
case("d12_neg", "records that are not throttled", R,
     [mia(T(0, 9), "carol@contoso.com"), mia(T(0, 10), "carol@contoso.com", throttled="False")], [])


def signin_streams(day=0):
    out = []
    for m in range(6 * 60, 18 * 60 + 1, 20):
        for cat in ("SignInLogs", "NonInteractiveUserSignInLogs"):
            out.append(signin(T(day, m // 60, m % 60), "dave@contoso.com", "203.0.113.20", 0, category=cat))
    return out


R = ["mh.d14.token_without_signin", "mh.d14.token_unverifiable"]
recs = signin_streams()
good = recs[20]["properties"]["id"]  # a real sign-in at 09:20
recs += [mia_token(T(0, 9, 25), "dave@contoso.com", uti(good), T(0, 9, 20)),
         mia_token(T(0, 11, 2), "dave@contoso.com", uti("deadbeef-0000-4000-8000-000000000001"), T(0, 11),
                   ip="192.0.2.99")]
case("d14_pos", "sign-ins every 20 minutes 06:00-18:00; one token issued by a sign-in, one by none", R, recs,
     [(R[0], len(recs))])
recs = signin_streams()
good = recs[30]["properties"]["id"]
recs += [mia_token(T(0, 11, 5), "dave@contoso.com", uti(good), T(0, 11)),
         mia_token(T(0, 21, 0), "dave@contoso.com", uti("deadbeef-0000-4000-8000-000000000002"), T(0, 21),
                   ip="192.0.2.99")]
case("d14_neg", "a matched token; an unknown token after the sign-in logs end (unverifiable, low)", R, recs,
     [(R[1], len(recs))])

R = ["mh.d1.spray_success"]
recs = spray_ual("2a09:bac1:820:8::1a:9c", UPN[:6]) + [ual_logon(T(0, 10), "henrietta@contoso.com",
                                                                  "2a09:bac1:820:8::1a:9c", 0)]
case("d01c_pos", "6 accounts fail from one address, then a password is accepted from it", R, recs, [(R[0], 7)])
recs = spray_ual("198.51.100.1", UPN[:6]) + \
    [ual_logon(T(0, 10, i), "staff%d@contoso.com" % i, "198.51.100.1", 0) for i in range(7)] + \
    spray_ual("198.51.100.2", UPN[:6]) + [ual_logon(T(4, 10), "henrietta@contoso.com", "198.51.100.2", 0)]
case("d01c_neg", "an office NAT (more accounts succeed than fail); a success 4 days after the spray", R, recs, [])

R = ["mh.d2.spray_success", "mh.d3.spray_success_no_mfa"]
recs = [signin(T(d, 8), "test@contoso.com", "203.0.113.1", 0) for d in range(3)] + \
    [signin(T(3 + k // 2, 2 + k), "test@contoso.com", "198.18.%d.%d" % (k, 10 + k), 50126) for k in range(6)] + \
    [signin(T(6, 23), "test@contoso.com", "198.18.5.15", 0, req="singleFactorAuthentication")]
case("d02c_pos", "6 residential addresses fail over 3 days, one of them gets in with a single factor", R, recs,
     [(R[0], 10), (R[1], 10)])
recs = [signin(T(d, 8), "test@contoso.com", "198.18.%d.%d" % (d, 10 + d), 0) for d in range(6)] + \
    [signin(T(6 + k // 2, 2 + k), "test@contoso.com", "198.18.%d.%d" % (k, 10 + k), 50126) for k in range(6)] + \
    [signin(T(9, 23), "test@contoso.com", "198.18.9.99", 0)]
case("d02c_neg", "the failing addresses are the user's own (they succeed too)", R, recs, [])


# ---- issue 5: D5 credential diff / actor history / dormancy, D9 Graph and direct, D14 token object ----
for b in ("mh.d5.credential_added", "mh.d9.graph_and_direct", "mh.d14.token_object_mismatch"):
    IDS[b] = (b, False)


def keydesc(ids, ktype="Password"):
    return json.dumps(["[KeyIdentifier=%s,KeyType=%s,KeyUsage=Verify,DisplayName=k]" % (k, ktype) for k in ids])


def cred_change(t, actor, obj, name, old, new, ktype="Password"):
    r = audit(t, "Update application \u2013 Certificates and secrets management ", actor=actor,
              target_type="Application", target_id=obj)
    r["targetResources"][0]["displayName"] = name
    r["targetResources"][0]["modifiedProperties"] = [
        {"displayName": "KeyDescription", "oldValue": keydesc(old, ktype) if old else "[]",
         "newValue": keydesc(new, ktype)}]
    return r


def sp_signin(t, app_id, name, code=0):
    return {"time": t + "Z", "category": "ServicePrincipalSignInLogs", "operationName": "Sign-in activity",
            "tenantId": TEN, "resultType": str(code),
            "properties": {"id": gid("5150a000"), "createdDateTime": t + "Z", "appId": app_id,
                           "appDisplayName": name, "servicePrincipalId": gid("5e000000"),
                           "servicePrincipalName": name, "ipAddress": "18.184.202.225",
                           "status": {"errorCode": code}}}


GOOD = "c0ffee00-0000-4000-8000-000000000001"
KEYS = [gid("4e500000") for _ in range(6)]
R = ["mh.d5.credential_added"]
OFFICE = "198.51.100.7"  # every audit() actor's address


def office_signin(t, n):
    """The admins' office address signing in (fixed id: the gid() numbering of later cases stays)."""
    return signin(t, "admin@contoso.com", OFFICE, 0, rid="a1000000-0000-4000-8000-0000000ff%03d" % n,
                  asn=64500)


base = [audit(T(0, 8), "Add member to role", target_type="User")] + \
    [sp_signin(T(d, 2), GOOD, "Good App") for d in range(8)] + [office_signin(T(0, 7), 1)]
recs = base + [cred_change(T(6, 10), "test@contoso.com", gid("0b100000"), "Legacy App", KEYS[:1], KEYS[:2]),
               cred_change(T(6, 11), "admin@contoso.com", gid("0b100000"), "Good App", KEYS[2:3], KEYS[2:4])]
case("d05b_pos", "a password added to an app without sign-ins for 6 days by an account new to it (high); "
     "an admin new to a daily-used app (low)", R, recs, [(R[0], len(base) + 1), (R[0], len(base) + 2)])
recs = base + [audit(T(1, 9), "Update application", actor="admin@contoso.com", target_type="Application",
                     target_id=gid("0b100000")),
               cred_change(T(6, 11), "admin@contoso.com", gid("0b100000"), "Good App", KEYS[2:3], KEYS[2:4]),
               cred_change(T(6, 12), "test@contoso.com", gid("0b100000"), "Legacy App", None, KEYS[4:5]),
               cred_change(T(1, 10), "test@contoso.com", gid("0b100000"), "Legacy App", KEYS[:1], KEYS[:2])]
recs[len(base)]["targetResources"][0]["displayName"] = "Good App"
case("d05b_neg", "the admin managed Good App before; a new app's first credential; a change one day into the "
     "logs (no history to judge)", R, recs, [])

R = ["mh.d9.graph_and_direct"]
recs = [mia(T(d, 1), "a@contoso.com", user=EVIL, app=GRAPH, client=EVIL, logon=0) for d in range(3)] + \
    [mia(T(3, 14), "ceo@contoso.com", user=EVIL, app=EXO, client=EVIL,
         info="Client=WebServices;ExchangeWebServices")]
case("d09b_pos", "an app reads mail through Graph for 3 days, then through EWS", R, recs, [(R[0], 4)])
recs = [mia(T(d, 1), "a@contoso.com", user=EVIL, app=GRAPH, client=EVIL) for d in range(3)] + \
    [mia(T(1, 9), "b@contoso.com", app=GRAPH, client="27922004-5251-4030-b22d-91ecd9a37ea4"),
     mia(T(1, 9, 5), "b@contoso.com", app=EXO, client="27922004-5251-4030-b22d-91ecd9a37ea4")]
case("d09b_neg", "an app on Graph only; Outlook mobile (first-party) on both paths", R, recs, [])

OID_A, OID_X = gid("3f2a0000"), gid("7d0c0000")


def owner_mia(t, mailbox, oid, user=None, logon=0):
    r = mia(t, mailbox, user=user, logon=logon)
    r["TokenObjectId"] = oid
    return r


def user_si(t, upn, oid):
    r = signin(t, upn, "203.0.113.5", 0)
    r["properties"]["userId"] = oid
    return r


R = ["mh.d14.token_object_mismatch"]
recs = [user_si(T(0, 8), "alice@contoso.com", OID_A), owner_mia(T(0, 9), "alice@contoso.com", OID_A),
        owner_mia(T(1, 9), "alice@contoso.com", OID_X), owner_mia(T(1, 10), "alice@contoso.com", OID_X)]
case("d14b_pos", "alice's owner logons with a token issued to another object id", R, recs, [(R[0], 3)])
recs = [user_si(T(0, 8), "alice@contoso.com", OID_A), owner_mia(T(0, 9), "alice@contoso.com", OID_A),
        owner_mia(T(1, 9), "alice@contoso.com", OID_X, user="pa@contoso.com", logon=2),
        owner_mia(T(1, 10), "bob@contoso.com", OID_X)]
case("d14b_neg", "the owner's own token; a delegate's logon; an owner without sign-ins (no verdict)", R, recs, [])


# ---- D14 over Microsoft Graph activity logs (added last: gid() numbering of the cases above stays) ----

def graph_req(t, token, iat, ip="203.0.113.20", shape="monitor", user="0d000000-0000-4000-8000-0000000000da"):
    """A Microsoft Graph activity log request: Log Analytics row ("la") or Azure Monitor record."""
    cols = {"TimeGenerated": t + "Z", "RequestId": gid("e0000000"), "OperationId": gid("e1000000"),
            "ApiVersion": "v1.0", "RequestMethod": "GET",
            "RequestUri": "https://graph.microsoft.com/v1.0/users/%s/messages?$top=50" % user,
            "ResponseStatusCode": 200, "AppId": EVIL, "UserId": user, "ServicePrincipalId": "",
            "IPAddress": ip, "UserAgent": "python-requests/2.31", "SignInActivityId": token,
            "TokenIssuedAt": iat + "Z", "SessionId": "", "Scopes": "Mail.Read User.Read", "AadTenantId": TEN}
    if shape == "la":
        return {**cols, "TenantId": "1a2b3c4d-0000-4000-8000-00000000cafe", "Type": "MicrosoftGraphActivityLogs"}
    props = {k[0].lower() + k[1:]: v for k, v in cols.items() if k not in ("AadTenantId", "IPAddress")}
    props.update({"tenantId": TEN, "ipAddress": ip})
    return {"time": t + "Z", "resourceId": "/TENANTS/%s/PROVIDERS/MICROSOFT.AADIAM" % TEN,
            "operationName": "Microsoft Graph Activity", "operationVersion": "v1.0",
            "category": "MicrosoftGraphActivityLogs", "resultSignature": "200", "durationMs": 87,
            "callerIpAddress": ip, "correlationId": cols["OperationId"], "level": "Informational",
            "location": "West Europe", "properties": props}


R = ["mh.d14.token_without_signin", "mh.d14.token_unverifiable"]
recs = signin_streams()
good = recs[20]["properties"]["id"]
recs += [graph_req(T(0, 9, 25), uti(good), T(0, 9, 20)),
         graph_req(T(0, 11, 2), uti("deadbeef-0000-4000-8000-000000000003"), T(0, 11), ip="192.0.2.99", shape="la")]
case("d14g_pos", "Graph activity: one request with a token a sign-in issued, one (Log Analytics row) with a token "
     "no sign-in issued", R, recs, [(R[0], len(recs))])
recs = signin_streams()
good, good2 = recs[30]["properties"]["id"], recs[31]["properties"]["id"]
recs += [graph_req(T(0, 11, 5), uti(good), T(0, 11), shape="la"),
         graph_req(T(0, 11, 6), uti(good2), T(0, 11)),
         graph_req(T(0, 21, 0), uti("deadbeef-0000-4000-8000-000000000004"), T(0, 21), ip="192.0.2.99")]
case("d14g_neg", "Graph activity: matched tokens in both shapes; an unknown token after the sign-in logs end "
     "(unverifiable, low)", R, recs, [(R[1], len(recs))])


# ---- D5 boosters (added last: gid() numbering of the cases above stays) ----

def named(rec, name):
    rec["targetResources"][0]["displayName"] = name
    return rec


R = ["mh.d5.credential_added"]
OBJ, OBJ2 = gid("0b200000"), gid("0b300000")
K2 = [gid("4e600000") for _ in range(6)]
base = [named(audit(T(0, 9), "Update application", target_type="Application", target_id=OBJ), "Daily App"),
        named(audit(T(0, 9, 5), "Update application", target_type="Application", target_id=OBJ2), "Other App")] + \
    [sp_signin(T(d, 2), "c0ffee00-0000-4000-8000-000000000002", "Daily App") for d in range(8)] + \
    [sp_signin(T(d, 3), "c0ffee00-0000-4000-8000-000000000003", "Other App") for d in range(8)] + \
    [office_signin(T(0, 7), 2)]
recs = base + [named(audit(T(5, 16), "Consent to application", target_id=OBJ), "Daily App"),
               cred_change(T(6, 10), "admin@contoso.com", OBJ, "Daily App", K2[:1], K2[:2]),
               named(audit(T(6, 11), "Update application", target_type="Application", target_id=OBJ2,
                           app_actor="Automation Runner"), "Other App"),
               cred_change(T(6, 11, 30), None, OBJ2, "Other App", K2[2:3], K2[2:4])]
recs[-1]["initiatedBy"] = {"app": {"appId": None, "displayName": "Automation Runner",
                                   "servicePrincipalId": "5e000000-0000-4000-8000-00000000a11a"}}
OBJ3 = gid("0b400000")
recs += [named(audit(T(0, 9, 10), "Update application", target_type="Application", target_id=OBJ3), "Third App"),
         audit(T(1, 9), "Add app role assignment to service principal",
               mods=[("AppRole.Value", "full_access_as_app"), ("ServicePrincipal.ObjectID", OBJ3),
                     ("ServicePrincipal.DisplayName", "Third App")]),
         cred_change(T(6, 12), "admin@contoso.com", OBJ3, "Third App", K2[4:5], K2[4:6])]
recs += [sp_signin(T(d, 4), "c0ffee00-0000-4000-8000-000000000004", "Third App") for d in range(8)]
case("d05c_pos", "a known admin adds a password to an active app the day after a consent to it (grant booster, "
     "low); an automation app adds one to another active app (app-actor booster, low); an admin adds one to an "
     "app granted full_access_as_app five days before (dangerous-permission booster, low)", R, recs,
     [(R[0], len(base) + 2), (R[0], len(base) + 4), (R[0], len(base) + 7)])
recs = base + [named(audit(T(1, 16), "Consent to application", target_id=OBJ), "Daily App"),
               cred_change(T(6, 10), "admin@contoso.com", OBJ, "Daily App", K2[:1], K2[:2]),
               named(audit(T(6, 12), "Consent to application", target_id=OBJ), "Daily App")]
case("d05c_neg", "the consent was 5 days before the credential (outside d5.grant_window); a consent after it", R,
     recs, [])


# ---- D5 new-address booster ----

def acting_from(rec, ip):
    rec["initiatedBy"]["user"]["ipAddress"] = ip
    return rec


OBJ4 = gid("0b500000")
K3 = [gid("4e700000") for _ in range(8)]
base = [named(audit(T(0, 9), "Update application", target_type="Application", target_id=OBJ4), "Mail Sync"),
        office_signin(T(0, 7), 3)] + \
    [sp_signin(T(d, 2), "c0ffee00-0000-4000-8000-000000000005", "Mail Sync") for d in range(8)]
recs = base + [acting_from(cred_change(T(6, 10), "admin@contoso.com", OBJ4, "Mail Sync", K3[:1], K3[:2]),
                           "192.0.2.66"),
               signin(T(6, 9), "admin@contoso.com", "192.0.2.77", 0, asn=9299),
               acting_from(cred_change(T(6, 11), "admin@contoso.com", OBJ4, "Mail Sync", K3[2:3], K3[2:4]),
                           "192.0.2.77")]
case("d05d_pos", "a known admin adds a password to an active app from an address no sign-in used before (low); "
     "again from an address of another network whose first sign-in was an hour before (low)", R, recs,
     [(R[0], len(base) + 1), (R[0], len(base) + 3)])
recs = base + [cred_change(T(6, 10), "admin@contoso.com", OBJ4, "Mail Sync", K3[:1], K3[:2]),
               signin(T(6, 9), "admin@contoso.com", "198.51.100.99", 0, asn=64500),
               acting_from(cred_change(T(6, 11), "admin@contoso.com", OBJ4, "Mail Sync", K3[2:3], K3[2:4]),
                           "198.51.100.99"),
               acting_from(cred_change(T(2, 11), "admin@contoso.com", OBJ4, "Mail Sync", K3[4:5], K3[4:6]),
                           "192.0.2.66")]
case("d05d_neg", "the admin's office address; a new address of the office's network; a new address two days "
     "into the sign-in logs (unknown: too little coverage)", R, recs, [])

# ---- D10 baseline variant (30 days of history: dates past T()'s month) ----

def TD(day, h=9, m=0):
    import datetime
    return (datetime.datetime(2026, 1, 5, h, m) + datetime.timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%S")


def read_as(t, user, mailbox, folders=("Inbox",)):
    r = mia(t, mailbox, user=user)
    r["Folders"] = [{"Id": "LgAAAA", "Path": "\\" + f, "FolderItems": []} for f in folders]
    return r


IDS["mh.d10.new_other_mailboxes"] = ("mh.d10.new_other_mailboxes", False)
R = ["mh.d10.new_other_mailboxes"]
base = [read_as(TD(d), "alice@contoso.com", "alice@contoso.com") for d in range(4)] + \
    [read_as(TD(d, 10), "assistant@contoso.com", "ceo@contoso.com") for d in range(4)]
recs = base + [read_as(TD(33), "assistant@contoso.com", "ceo@contoso.com"),
               read_as(TD(33, 11), "assistant@contoso.com", "cfo@contoso.com"),
               read_as(TD(40), "assistant@contoso.com", "legal@contoso.com")]
case("d10b_pos", "after 30 days in which the assistant read only the CEO's mailbox, it reads two mailboxes it never "
     "read, a week apart", R, recs, [(R[0], len(recs))])
recs = base + [read_as(TD(33), "assistant@contoso.com", "ceo@contoso.com", ("Inbox", "Sent Items")),
               read_as(TD(33, 11), "helper@contoso.com", "hr@contoso.com"),
               read_as(TD(31), "temp@contoso.com", "a@contoso.com"),
               read_as(TD(50), "temp@contoso.com", "b@contoso.com"),
               read_as(TD(10), "early@contoso.com", "c@contoso.com"),
               read_as(TD(10, 11), "early@contoso.com", "d@contoso.com")]
case("d10b_neg", "the assistant's usual mailbox (one new folder); one new mailbox; two new mailboxes 19 days apart; "
     "two new mailboxes within the 30-day baseline", R, recs, [])


# ---- D11 per mailbox and hour (hourly.c) ----
IDS["mh.d11.mail_volume_hour"] = ("mh.d11.mail_volume_hour", False)
R = ["mh.d11.mail_volume_hour"]


def d11h_days(last_0900=None, night=()):
    """8 days of alice reading 35-45 items at 09:00 (bob's reads at 01:00 and 22:00 make the
    hours between covered: an empty hour of alice's counts 0); day 8 the same, with
    alice's 09:00 read `last_0900` items and the `night` reads (items, minute) at 03:00
    by an unknown Graph client."""
    recs = []
    for d in range(9):
        items = 35 + 5 * (d % 3) if d < 8 or last_0900 is None else last_0900
        recs += [mia(T(d, 1), "bob@contoso.com"), mia(T(d, 9), "alice@contoso.com", count=items)]
        if d == 8:
            recs += [mia(T(d, 3, m), "alice@contoso.com", user="svc", app=GRAPH, client=EVIL, ip="192.0.2.66",
                         count=c) for c, m in night]
        recs.append(mia(T(d, 22), "bob@contoso.com"))
    return recs


recs = d11h_days(night=((25, 10), (35, 40)))
case("d11h_pos", "8 days of reading at 09:00 only, then an unknown client reads 60 items at 03:00 (z 40)", R, recs,
     [(R[0], len(recs) - 1)])
recs = d11h_days(last_0900=60, night=((15, 10),))
case("d11h_neg", "60 items in the usual 09:00 hour (median 40, MAD 5: z 2.7); 15 items at 03:00, under d11.hourly_min",
     R, recs, [])

def main():
    if os.path.isdir(OUT):
        for d in glob.glob(os.path.join(OUT, "*", "expect")):
            shutil.rmtree(os.path.dirname(d))
    os.makedirs(OUT, exist_ok=True)
    for name, about, rules, records, alerts in CASES:
        d = os.path.join(OUT, name)
        os.makedirs(d)
        with open(os.path.join(d, "input.jsonl"), "w", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
        lines = ["# " + about, "rules " + " ".join(IDS[t][0] for t in rules)]
        lines += ["corr " + IDS[t][0] for t in rules if IDS[t][1]]
        exp = []
        for title, rec in alerts:
            assert title in rules, (name, title)
            exp.append("alert %s %s" % (IDS[title][0], rec))
        lines += sorted(exp)
        for t in rules:
            lines.append("# %s = %s" % (IDS[t][0], t))
        with open(os.path.join(d, "expect"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    print("%d cases in %s" % (len(CASES), OUT))


if __name__ == "__main__":
    main()

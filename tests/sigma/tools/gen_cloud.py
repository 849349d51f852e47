#!/usr/bin/env python3
"""tests/sigma/tools/gen_cloud.py -- draft one positive and one near-miss event per
SigmaHQ azure/m365 rule, in the real record shape of the rule's log source, and
check them with mailhound.

Usage: gen_cloud.py MAILHOUND [--write]   (run from the repository root)

The drafts are written to tests/sigma/cloud/<rule-id>.yml only with --write and
only for rules that have no table yet: a table, once written, is data that is
reviewed and edited by hand (the generator is an assistant, not the test). Each
event is built from the rule's intent:
  * the record shape of the log source (Azure Monitor SignInLogs / AuditLogs
    records, Azure Activity records, Graph riskDetection objects, UAL AuditData,
    UAL Security & Compliance alert records) with realistic surrounding fields;
  * every selection the condition requires is satisfied with a value that
    satisfies its modifiers (contains -> embedded in text, endswith -> suffix,
    expand -> a value from tests/data/sigma/expand), placed where the real
    export carries that field (resultType, properties.status.failureReason,
    properties.activityDisplayName, Parameters[{Name,Value}], ...);
  * the near miss is the same record that trips the rule's filter, or, without
    a filter, with the first selection value changed to a plausible benign one.
"""
import copy, glob, json, os, re, subprocess, sys, tempfile
import yaml

SHARED = '../shared/corpora/sigma'
EXPAND = 'tests/data/sigma/expand'
T = '2024-03-05T10:15:30'
TID = '8d4121ed-0000-4000-8000-00000000c0de'

def lower_camel(seg):
    return seg[:1].lower() + seg[1:] if seg else seg

def sigma_plain(v):
    """A concrete string matching a Sigma string (wildcards filled)."""
    out, esc = [], False
    for c in v:
        if esc:
            out.append(c if c in '*?\\' else '\\' + c); esc = False
        elif c == '\\': esc = True
        elif c == '*': out.append('')
        elif c == '?': out.append('x')
        else: out.append(c)
    if esc: out.append('\\')
    return ''.join(out)

def expand_value(v, negate=False):
    def rep(m):
        path = os.path.join(EXPAND, m.group(1) + '.txt')
        vals = [l.strip() for l in open(path) if l.strip() and not l.startswith('#')]
        if negate: return 'zz-not-listed'
        return sigma_plain(vals[0])
    return re.sub(r'%([A-Za-z0-9_-]+)%', rep, v)

def value_for(key, vals, negate_expand=False):
    parts = key.split('|'); mods = parts[1:]
    if not isinstance(vals, list): vals = [vals]
    if 'all' in mods:
        items = vals
    else:
        items = [vals[0]]
    out = []
    for v in items:
        if v is None: return None
        if isinstance(v, bool): return v
        if isinstance(v, (int, float)) and not mods: return v
        s = str(v)
        if 're' in mods:
            s = regex_sample(s)
        elif 'expand' in mods:
            s = expand_value(s, negate_expand)
        else:
            s = sigma_plain(s)
        out.append(s)
    s = ' '.join(out) if len(out) > 1 else out[0]
    if 'contains' in mods: s = 'x ' + s + ' y' if 'all' not in mods else s
    if 'startswith' in mods: s = s + '-tail'
    if 'endswith' in mods: s = 'head-' + s
    return s

def regex_sample(r):
    known = {}
    return known.get(r, re.sub(r'[\^\$\\]', '', r))

# ---- record shapes ----

def signin(fields):
    ev = {"time": T + ".1234567Z", "resourceId": "/tenants/%s/providers/Microsoft.aadiam" % TID,
          "operationName": "Sign-in activity", "operationVersion": "1.0", "category": "SignInLogs",
          "tenantId": TID, "resultType": "0", "resultSignature": "None", "durationMs": 0,
          "callerIpAddress": "198.51.100.7", "correlationId": "7532b99a-1c1e-4c1b-9d2b-0c9a1f0c2e01",
          "identity": "Alice Example", "Level": 4, "location": "FR",
          "properties": {"id": "933f20c0-efdf-477f-9586-e5cc566d2e00",
                         "createdDateTime": T + ".1234567+00:00",
                         "userDisplayName": "Alice Example", "userPrincipalName": "alice@contoso.example",
                         "userId": "0b2c1e8e-3f0d-4c6e-8a8e-2d7d5f1c9a10",
                         "appId": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "appDisplayName": "Azure Portal",
                         "ipAddress": "198.51.100.7", "status": {"errorCode": 0},
                         "clientAppUsed": "Browser", "isInteractive": True,
                         "authenticationRequirement": "multiFactorAuthentication",
                         "authenticationProtocol": "none", "conditionalAccessStatus": "notApplied",
                         "resourceDisplayName": "Windows Azure Service Management API",
                         "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
                         "deviceDetail": {"deviceId": "", "operatingSystem": "Windows10", "browser": "Edge 120"},
                         "location": {"city": "Paris", "countryOrRegion": "FR"},
                         "riskState": "none", "homeTenantId": TID, "resourceTenantId": TID}}
    p = ev["properties"]
    for k, v in fields:
        f = k.split('|')[0]
        mods = k.split('|')[1:]
        if f in ('ResultType', 'resultType'):
            ev["resultType"] = str(v); p["status"]["errorCode"] = int(v) if str(v).isdigit() else v
            if str(v) != '0': p["status"]["failureReason"] = "Sign-in failed."
        elif f in ('ResultDescription', 'Resultdescription'):
            ev["resultDescription"] = v; p["status"]["failureReason"] = v
        elif f == 'Status':
            if str(v).lower() == 'success': p["status"] = {"errorCode": 0}; ev["resultType"] = "0"
            elif str(v).lower() == 'failure': p["status"] = {"errorCode": 50126, "failureReason": "Invalid username or password."}; ev["resultType"] = "50126"
            else: p["status"]["additionalDetails"] = v
        elif f == 'properties.message':
            p["authenticationProtocol"] = {'Device Code': 'deviceCode', 'ROPC': 'ropc'}.get(v, v)
        elif f in ('callerIpAddress', 'location'):
            ev[f] = v
        elif f == 'Username':
            p["userPrincipalName"] = v
        elif f == 'ClientApp':
            p["clientAppUsed"] = v
        elif f.startswith('DeviceDetail.'):
            sub = {'trusttype': 'trustType'}.get(f.split('.', 1)[1], lower_camel(f.split('.', 1)[1]))
            if v is None: p["deviceDetail"].pop(sub, None)
            else: p["deviceDetail"][sub] = v
        elif f.startswith('properties.'):
            set_path(ev, f, v)
        else:
            set_path(p, '.'.join(lower_camel(s) for s in f.split('.')), v)
    return ev

def audit(fields):
    act = "Update user"
    ev = {"time": T + ".5168093Z", "resourceId": "/tenants/%s/providers/Microsoft.aadiam" % TID,
          "operationName": act, "operationVersion": "1.0", "category": "AuditLogs", "tenantId": TID,
          "resultSignature": "None", "durationMs": 0, "callerIpAddress": "198.51.100.7",
          "correlationId": "53161141-e3f4-4944-85b6-7b953f17265e", "Level": 4,
          "properties": {"id": "Directory_53161141-e3f4-4944-85b6-7b953f17265e_6X649_134684731",
                         "category": "UserManagement", "correlationId": "53161141-e3f4-4944-85b6-7b953f17265e",
                         "result": "success", "resultReason": "", "activityDisplayName": act,
                         "activityDateTime": T + ".5168093+00:00", "loggedByService": "Core Directory",
                         "operationType": "Update",
                         "initiatedBy": {"user": {"id": "34070915-0000-4000-8000-000000000001",
                                                  "userPrincipalName": "admin@contoso.example",
                                                  "ipAddress": "198.51.100.7"}},
                         "targetResources": [{"id": "a7d5dcbe-0000-4000-8000-000000000002",
                                              "displayName": "bob", "type": "User",
                                              "userPrincipalName": "bob@contoso.example",
                                              "modifiedProperties": []}],
                         "additionalDetails": [{"key": "User-Agent", "value": "Mozilla/5.0"}]}}
    p = ev["properties"]; tr = p["targetResources"][0]
    for k, v in fields:
        f = k.split('|')[0]
        if f == 'properties.message' and str(v).startswith('"'):
            # SigmaHQ's azure_guest_to_member.yml compares the whole field with a
            # fragment of modifiedProperties JSON: only a literal properties.message
            # equal to it can match (exact Sigma semantics)
            p["message"] = v
        elif f in ('properties.message', 'OperationName', 'operationName', 'ActivityDisplayName', 'activityDisplayName'):
            ev["operationName"] = v; p["activityDisplayName"] = v
        elif f in ('Category', 'category'): p["category"] = v
        elif f in ('Status', 'properties.result'): p["result"] = v
        elif f == 'LoggedByService': p["loggedByService"] = v
        elif f in ('ActivityType', 'activityType'): p["operationType"] = v; p["activityDisplayName"] = v; ev["operationName"] = v
        elif f in ('Initiatedby', 'Initiatied.By'): p["initiatedBy"]["user"]["userPrincipalName"] = v
        elif f in ('Target',): tr["userPrincipalName"] = v
        elif f in ('properties.initiatedBy',): p["initiatedBy"]["user"]["displayName"] = v
        elif f in ('properties.targetResources', 'TargetResources'): tr["displayName"] = v
        elif f == 'targetResources.type': tr["type"] = v
        elif f in ('TargetResources.ModifiedProperties.DisplayName',):
            tr["modifiedProperties"].append({"displayName": v, "oldValue": None, "newValue": "\"x\""})
        elif f in ('TargetResources.ModifiedProperties.NewValue', 'TargetResources.modifiedProperties.newValue', 'TargetResources.modifiedProperties'):
            tr["modifiedProperties"].append({"displayName": "Property", "oldValue": None, "newValue": v})
        elif f == 'ConsentContext.IsAdminConsent':
            tr["modifiedProperties"].append({"displayName": "ConsentContext.IsAdminConsent", "oldValue": None, "newValue": json.dumps(str(v))})
        elif f == 'additionalDetails.additionalInfo':
            p["additionalDetails"].append({"key": "additionalInfo", "value": v})
        elif f == 'failure_status_reason': p["resultReason"] = v
        else:
            set_path(p, '.'.join(lower_camel(s) for s in f.split('.')), v)
    return ev

def activity(fields):
    ev = {"time": T + ".4401529Z", "resourceId": "/SUBSCRIPTIONS/0F1E2D3C-0000-4000-8000-000000000003/RESOURCEGROUPS/RG1/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM1",
          "operationName": "MICROSOFT.COMPUTE/VIRTUALMACHINES/READ", "category": "Administrative",
          "resultType": "Success", "resultSignature": "Succeeded.OK", "durationMs": "120",
          "callerIpAddress": "198.51.100.7", "correlationId": "0a1b2c3d-0000-4000-8000-000000000004",
          "identity": {"claims": {"name": "alice@contoso.example"}}, "level": "Information",
          "properties": {"statusCode": "OK", "serviceRequestId": "x"}}
    for k, v in fields:
        f = k.split('|')[0]
        if f in ('operationName', 'OperationNameValue'): ev["operationName"] = v
        elif f == 'CategoryValue': ev["category"] = v
        elif f == 'ResourceProviderValue': ev["resourceProviderName"] = {"value": v}
        elif f == 'ResourceId': ev["resourceId"] = v
        elif f == '__keyword__': ev["operationName"] = v
        else: set_path(ev, f, v)
    return ev

def risk(fields):
    ev = {"id": "6a6f4c6a-0000-4000-8000-000000000005", "requestId": "1c2b3a4d-0000-4000-8000-000000000006",
          "correlationId": "9e8d7c6b-0000-4000-8000-000000000007", "riskEventType": "unfamiliarFeatures",
          "riskState": "atRisk", "riskLevel": "medium", "riskDetail": "none", "source": "IdentityProtection",
          "detectionTimingType": "realtime", "activity": "signin", "ipAddress": "198.51.100.7",
          "activityDateTime": T + "Z", "detectedDateTime": T + "Z", "lastUpdatedDateTime": T + "Z",
          "userId": "0b2c1e8e-3f0d-4c6e-8a8e-2d7d5f1c9a10", "userDisplayName": "Alice Example",
          "userPrincipalName": "alice@contoso.example",
          "location": {"city": "Paris", "state": "Paris", "countryOrRegion": "FR"}}
    for k, v in fields:
        set_path(ev, k.split('|')[0], v)
    return ev

def ual(fields):
    ev = {"CreationTime": T, "Id": "97fc1f52-4cd1-498b-f05e-08db8b78efd7", "Operation": "Set-Mailbox",
          "OrganizationId": TID, "RecordType": 1, "ResultStatus": "True", "UserKey": "10032002643F6746",
          "UserType": 2, "Version": 1, "Workload": "Exchange", "ClientIP": "[2001:db8::1a:9b]:54809",
          "ObjectId": "bob@contoso.example", "UserId": "admin@contoso.example",
          "AppId": "fb78d390-0c51-40cd-8e17-fdbfab77341b", "ClientAppId": "",
          "ExternalAccess": False, "OrganizationName": "contoso.example",
          "OriginatingServer": "TYUPR03MB7029 (15.20.6609.024)",
          "Parameters": [{"Name": "Identity", "Value": "bob@contoso.example"}],
          "SessionId": "9c3eaae9-a913-4161-b3f5-e25c7da47797"}
    for k, v in fields:
        f = k.split('|')[0]
        if f == 'Operation':
            ev["Operation"] = v
            op = str(v)
            if op in ('UserLoggedIn', 'UserLoginFailed'):
                ev.update({"RecordType": 15, "Workload": "AzureActiveDirectory", "ResultStatus": "Success" if op == 'UserLoggedIn' else "Failed",
                           "UserType": 0, "ObjectId": "00000002-0000-0ff1-ce00-000000000000"})
                ev.pop("Parameters", None)
                ev["ExtendedProperties"] = [{"Name": "ResultStatusDetail", "Value": "Success"},
                                            {"Name": "UserAgent", "Value": "Mozilla/5.0"},
                                            {"Name": "RequestType", "Value": "OAuth2:Authorize"}]
            elif op.endswith('.'):
                ev.update({"RecordType": 8, "Workload": "AzureActiveDirectory", "ResultStatus": "Success", "UserType": 0})
                ev.pop("Parameters", None)
                ev["ModifiedProperties"] = []
        elif f.startswith('Parameters.'):
            name = f.split('.', 1)[1]
            if v is not None:
                ev.setdefault("Parameters", []).append({"Name": name, "Value": "smtp:x@evil.example" if v is True else v})
        elif f.startswith('ExtendedProperties.') or f == 'RequestType':
            name = f.split('.', 1)[1] if '.' in f else f
            eps = ev.setdefault("ExtendedProperties", [])
            eps[:] = [e for e in eps if e["Name"] != name]
            eps.append({"Name": name, "Value": v})
        elif f == 'OperationProperties':
            ev["OperationProperties"] = [{"Name": "MailAccessType", "Value": v}]
        elif f == 'Parameters':
            ev.setdefault("Parameters", []).append({"Name": "ForwardTo", "Value": v})
        else:
            set_path(ev, f, v)
    return ev

def alert(fields):
    ev = {"CreationTime": T, "Id": "5d1b7c0e-0000-4000-8000-000000000008", "Operation": "AlertTriggered",
          "OrganizationId": TID, "RecordType": 40, "ResultStatus": "Succeeded", "UserKey": "SecurityComplianceAlerts",
          "UserType": 4, "Version": 1, "Workload": "SecurityComplianceCenter", "ObjectId": "2f3e4d5c-0000-4000-8000-000000000009",
          "UserId": "SecurityComplianceAlerts", "AlertId": "2f3e4d5c-0000-4000-8000-000000000009",
          "AlertLinkUrl": "https://security.microsoft.com/viewalerts?id=2f3e4d5c", "AlertType": "System",
          "Category": "ThreatManagement", "Comments": "New alert", "Data": "{\"f3u\":\"alice@contoso.example\"}",
          "Name": "Unknown alert", "PolicyId": "a1b2c3d4-0000-4000-8000-00000000000a", "Severity": "Medium",
          "Source": "Office 365 Security & Compliance", "Status": "Active"}
    for k, v in fields:
        f = k.split('|')[0]
        if f == 'eventSource':
            if v != 'SecurityComplianceCenter':
                ev.update({"Workload": v, "RecordType": 1, "Operation": "Set-Mailbox", "ResultStatus": "True", "UserType": 2,
                           "UserId": "admin@contoso.example"})
                for x in ("AlertId", "AlertLinkUrl", "AlertType", "Category", "Comments", "Data", "Name", "PolicyId", "Severity", "Source", "Status"):
                    ev.pop(x, None)
            ev["Workload"] = v
        elif f == 'eventName':
            if ev["Workload"] == 'SecurityComplianceCenter': ev["Name"] = v
            else: ev["Operation"] = v
        elif f == 'status':
            if str(v).lower() == 'success': ev["ResultStatus"] = "Succeeded" if ev["Workload"] == 'SecurityComplianceCenter' else "True"
            else: ev["ResultStatus"] = v
        elif f == 'Payload': ev["Data"] = json.dumps({"payload": v})
        else: set_path(ev, f, v)
    return ev

def set_path(d, path, v):
    segs = path.split('.')
    for s in segs[:-1]:
        if not isinstance(d.get(s), dict): d[s] = {}
        d = d[s]
    if v is None: d.pop(segs[-1], None)
    else: d[segs[-1]] = v

SHAPES = {('azure', 'signinlogs'): signin, ('azure', 'auditlogs'): audit,
          ('azure', 'activitylogs'): activity, ('azure', 'riskdetection'): risk,
          ('azure', 'pim'): risk, ('m365', 'audit'): ual, ('azure', 'm365'): ual,
          ('m365', 'exchange'): alert, ('m365', 'threat_management'): alert,
          ('m365', 'threat_detection'): alert}

def idents(det, pat):
    rx = re.compile('^' + re.escape(pat).replace('\\*', '.*') + '$')
    return [k for k in det if k not in ('condition', 'timeframe') and rx.match(k) and not k.startswith('_')]

def plan(det):
    """(positive identifiers, negated identifiers, one-of choice) from the condition."""
    c = det['condition'].strip()
    pos, neg = [], []
    for part in re.split(r'\s+and\s+', c):
        part = part.strip()
        m = re.match(r'^(not\s+)?(1|all) of (\S+)$', part)
        n = re.match(r'^(not\s+)?(\S+)$', part)
        if m:
            ids = idents(det, m.group(3))
            if m.group(1): neg += ids
            elif m.group(2) == '1': pos += ids[:1]
            else: pos += ids
        elif n:
            (neg if n.group(1) else pos).append(n.group(2))
        else:
            raise ValueError('condition shape not handled: ' + c)
    return pos, neg

def items_of(sel, first_only=True):
    if isinstance(sel, dict): return list(sel.items())
    if isinstance(sel, list):
        if all(not isinstance(x, (dict, list)) for x in sel): return [('__keyword__', sel)]
        return items_of(sel[0]) if first_only else [kv for x in sel for kv in items_of(x)]
    return [('__keyword__', [sel])]

def near(v):
    """A plausible benign sibling of a detected value."""
    if v.startswith('x ') and v.endswith(' y'):
        core = v[2:-2]
        return 'x ' + core[:max(1, len(core) // 2)] + '-other y'
    if v.endswith('-tail'):
        return 'other-' + v
    m = re.match(r'^(x |head-)?(Set|New|Add|Remove|Enable|Disable|Update|Start|Stop)-(.*)$', v)
    if m: return (m.group(1) or '') + 'Get-' + m.group(3)
    if v == 'UserLoginFailed': return 'UserLoggedIn'
    for a, b in (('Failed', 'Succeeded'), ('failed', 'succeeded'), ('Add ', 'List '), ('Delete', 'Read'),
                 ('Disable', 'Review'), ('Remove', 'List'), ('/WRITE', '/READ'), ('/DELETE', '/READ'),
                 ('write', 'read'), ('delete', 'read')):
        if a in v: return v.replace(a, b, 1)
    words = v.split(' ')
    return ' '.join(['Viewed'] + words[1:]) if len(words) > 1 else 'view' + v.lower()[:3] + 'ed'

def merge(fields):
    """Several items on one field (startswith + endswith, two contains): one value
    that satisfies all of them: prefix, then inner parts, then suffix."""
    order, by = [], {}
    for k, v in fields:
        f = k.split('|')[0]
        if f not in by: order.append(f); by[f] = []
        by[f].append((k, v))
    out = []
    for f in order:
        items = by[f]
        if len(items) == 1 or not all(isinstance(v, str) for _, v in items):
            out.extend(items); continue
        pre, mid, suf = [], [], []
        for k, v in items:
            mods = k.split('|')[1:]
            if 'startswith' in mods: pre.append(v[:-len('-tail')])
            elif 'endswith' in mods: suf.append(v[len('head-'):])
            else: mid.append(v)
        out.append((f + '|merged', ''.join(pre) + ('/' if pre and (mid or suf) else '') + ' '.join(mid) + ''.join(suf)))
    return out

def build(rule, pos, neg, mutate=False, trip_filter=False, which=0):
    ls = rule['logsource']; det = rule['detection']
    shape = SHAPES[(ls.get('product'), ls.get('service'))]
    fields = []
    for ident in pos:
        for k, v in items_of(det[ident]):
            if k == '__keyword__':
                fields.append(('__keyword__', value_for('x', v)))
            else:
                fields.append((k, value_for(k, v)))
    for ident in neg:
        for k, v in items_of(det[ident]):
            if k == '__keyword__': continue
            mods = k.split('|')[1:]
            if trip_filter:
                fields.append((k, value_for(k, v)))
            elif 'expand' in mods:
                fields.append((k, value_for(k, v, negate_expand=True)))
            elif v is None:
                fields.append((k, 'present-value'))
            else:
                # make sure the base record does not trip the filter by accident
                w = value_for(k, v)
                if isinstance(w, bool): w = not w
                elif isinstance(w, (int, float)): w = w + 7
                else: w = 'other-' + str(w).replace(' ', '-').lower()[:24]
                fields.append((k, w))
    fields = merge(fields)
    if mutate and fields:
        # change the most specific value: not a generic status when there is another
        cands = [i for i, (k, _) in enumerate(fields) if k.split('|')[0] not in ('Status', 'status', 'eventSource')]
        cands = cands[::-1] + [i for i in range(len(fields)) if i not in cands]
        if which >= len(cands): return None
        pick = cands[which]
        k, v = fields[pick]
        if v is None: v = 'unexpected-value'
        elif isinstance(v, bool): v = None if v else True   # exists: true -> the field is absent
        elif isinstance(v, (int, float)): v = 0 if v != 0 else 50126
        else: v = near(v)
        fields[pick] = (k, v)
    kw = [v for k, v in fields if k == '__keyword__']
    fields = [(k, v) for k, v in fields if k != '__keyword__']
    ev = shape(fields)
    if kw:
        if shape is activity: ev["operationName"] = kw[0].upper() if not mutate else "MICROSOFT.COMPUTE/VIRTUALMACHINES/READ"
        else: ev["Message"] = kw[0]
    return ev

def hunt(mh, rule_path, events):
    with tempfile.NamedTemporaryFile('w', suffix='.jsonl', delete=False) as f:
        for e in events: f.write(json.dumps(e, ensure_ascii=False) + '\n')
        name = f.name
    out = subprocess.run([mh, 'hunt', '-j', '1', '-q', '--format', 'jsonl', '--expand', EXPAND,
                          '--fieldmaps', 'rules/fieldmaps', '-r', rule_path, name],
                         capture_output=True, text=True).stdout
    os.unlink(name)
    return sorted({json.loads(l)['source']['record'] for l in out.splitlines() if l.strip()})

def yaml_event(e):
    """JSON text as a YAML single-quoted scalar (JSON escapes stay verbatim)."""
    return "'" + json.dumps(e, ensure_ascii=False).replace("'", "''") + "'"

def main():
    mh = sys.argv[1]; write = '--write' in sys.argv
    ok = bad = skipped = 0
    for path in sorted(glob.glob(SHARED + '/rules*/**/*.yml', recursive=True) +
                       glob.glob(SHARED + '/third-party/**/*.yml', recursive=True)):
        rule = yaml.safe_load(open(path))
        ls = rule.get('logsource', {})
        if ls.get('product') not in ('azure', 'm365'): continue
        rid = rule['id']; rel = os.path.relpath(path, SHARED)
        out = 'tests/sigma/cloud/%s.yml' % rid
        if os.path.exists(out) and write: skipped += 1; continue
        try:
            pos, neg = plan(rule['detection'])
            p = build(rule, pos, neg)
        except Exception as ex:
            print('SKIP %s: %s' % (rel, ex)); bad += 1; continue
        # near miss: the filter tripped, else the first single-value change (most
        # specific field first) that the rule no longer matches
        cands = [build(rule, pos, neg, trip_filter=True)] if neg else []
        which = 0
        while not neg:
            n = build(rule, pos, neg, mutate=True, which=which)
            if n is None: break
            cands.append(n); which += 1
        n = None
        for cand in cands:
            if hunt(mh, path, [p, cand]) == [1]:
                n = cand; break
        if n is None:
            print('CHECK %s: no verified positive / near-miss pair' % rel); bad += 1
            n = cands[0] if cands else p
        else:
            ok += 1
        if write:
            with open(out, 'w') as f:
                f.write('# %s -- %s\n' % (rule['title'], rel))
                f.write('# positive: the activity the rule describes, in the real record shape of %s/%s;\n'
                        % (ls.get('product'), ls.get('service')))
                f.write('# near miss: %s\n' % ('the same record tripping the rule\'s filter' if neg else
                        'the same record with the detected value replaced by a benign one'))
                f.write('file: %s\nname: %s\n' % (rel, rule['title'].replace(':', ' -')))
                f.write('match:\n  - %s\n' % yaml_event(p))
                f.write('nomatch:\n  - %s\n' % yaml_event(n))
    print('ok %d, needs attention %d, existing %d' % (ok, bad, skipped))

main()

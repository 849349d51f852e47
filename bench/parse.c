/*
 * bench/parse.c -- parse-only throughput of the JSON reader (ingest/json.c)
 *
 *   bench_parse FILE [--repeat N] [--scalar]
 *       Reads a JSON Lines file into memory, then parses every line N times
 *       (default 5) into one reused mh_jdoc. Prints MB/s, records/s and
 *       nodes for the best pass and the mean. --scalar forces the portable
 *       string scanner (MH_JDOC_SCALAR) to show what SSE2 buys.
 *   bench_parse --gen N OUT
 *       Writes N deterministic UAL-like records (JSON Lines) to OUT: a mix of
 *       MailItemsAccessed with Folders/FolderItems (RecordType 50),
 *       UserLoggedIn/UserLoginFailed with ExtendedProperties and
 *       DeviceProperties (RecordType 15), Add-MailboxPermission with
 *       Parameters (RecordType 1) and Azure Monitor sign-in records with
 *       properties{...}, shaped after ../shared/docs/log-formats.md §3 and §8.
 *       Records are ~0.8-3 KB, ~30 fields, mostly long strings, with the odd
 *       escape ("\\Inbox", \" in subjects) and non-ASCII subject.
 *
 * Line splitting happens before the clock starts: the figure is the parser's
 * own. Both wall-clock and thread-CPU-time figures are printed; on a shared
 * machine the CPU-time one is the per-core throughput. Output is deterministic for --gen
 * (splitmix64, fixed seed).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "ingest/json.h"

/* ---- generator ---- */

static uint64_t rng_state = 0x5eed0f0a11ce5ULL;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static unsigned rn(unsigned n)
{
    return (unsigned)(rnd() % n);
}

struct out {
    FILE *f;
};

static void put(struct out *o, const char *fmt, ...) MH_PRINTF(2, 3);
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(o->f, fmt, ap);
    va_end(ap);
}

static void guid(char b[37])
{
    uint64_t a = rnd(), c = rnd();
    snprintf(b, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xffff, (unsigned)(c >> 48),
             (unsigned long long)(c & 0xffffffffffffULL));
}

static void b64id(char *b, size_t n)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i + 1 < n; i++) b[i] = al[rn(64)];
    b[n - 1] = '\0';
}

static const char *const users[] = {"AdeleV", "Henrietta", "Lidia",    "stinger", "Alex",
                                    "MeganB", "DiegoS",    "JohannaL", "LynneR",  "PattiF"};
static const char *const subjects[] = {
    "Q3 board pack - final",
    "RE: Wire transfer approval needed today",
    "Caf\xc3\xa9 order for the offsite \xe2\x98\x95",
    "FW: \\\"Urgent\\\" invoice 4471",
    "Your password expires in 3 days",
    "Projekt \303\234bersicht f\303\274r M\303\244rz",
    "Incident 2023-0558: token forgery review",
    "Lunch?",
};
static const char *const agents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/114.0.0.0 Safari/537.36 Edg/114.0.1823.82",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.5 Safari/605.1.15",
    "python-requests/2.31.0",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.16529; Pro)",
};

static void ip(char b[48])
{
    if (rn(3) == 0) {
        unsigned x = rn(0xffff);
        unsigned y = rn(0xffff);
        unsigned z = rn(0xff);
        snprintf(b, 48, "2a09:bac5:%x:%x::1a:%x", x, y, z);
    } else {
        unsigned q[4];
        q[0] = 1 + rn(222);
        q[1] = rn(256);
        q[2] = rn(256);
        q[3] = 1 + rn(254);
        snprintf(b, 48, "%u.%u.%u.%u", q[0], q[1], q[2], q[3]);
    }
}

static void ts(char b[32], int frac)
{
    unsigned s = rn(86400 * 28);
    unsigned f = rn(10000000);
    if (frac)
        snprintf(b, 32, "2023-07-%02uT%02u:%02u:%02u.%07uZ", 1 + s / 86400, s / 3600 % 24,
                 s / 60 % 60, s % 60, f);
    else
        snprintf(b, 32, "2023-07-%02uT%02u:%02u:%02u", 1 + s / 86400, s / 3600 % 24, s / 60 % 60,
                 s % 60);
}

/*
 * Field writers. Every random draw is its own statement: C leaves the order
 * of evaluation of function arguments unspecified, and gcc and clang differ,
 * so rn() calls inside one argument list would make --gen compiler-dependent.
 */
static void fs(struct out *o, const char *k, const char *v)
{
    put(o, "\"%s\":\"%s\",", k, v);
}
static void fn(struct out *o, const char *k, unsigned long long v)
{
    put(o, "\"%s\":%llu,", k, v);
}
static void fraw(struct out *o, const char *k, const char *v)
{
    put(o, "\"%s\":%s,", k, v);
}
static void fsid(struct out *o, const char *k)
{
    unsigned a = rn(1u << 31);
    unsigned b = rn(1u << 31);
    unsigned c = rn(1u << 31);
    unsigned d = 1000 + rn(9000);
    put(o, "\"%s\":\"S-1-5-21-%u-%u-%u-%u\",", k, a, b, c, d);
}
static void fupn(struct out *o, const char *k, const char *u)
{
    put(o, "\"%s\":\"%s@contoso.onmicrosoft.com\",", k, u);
}
static void nv(struct out *o, bool first, const char *name, const char *value)
{
    put(o, "%s{\"Name\":\"%s\",\"Value\":\"%s\"}", first ? "" : ",", name, value);
}

static void gen_mailitems(struct out *o)
{
    char id[37], org[37], mbx[37], sess[37], ipb[48], t[32], corr[37], tok[23], key[24];
    guid(id), guid(org), guid(mbx), guid(sess), guid(corr), ip(ipb), ts(t, 0), b64id(tok, 23);
    const char *u = users[rn(10)];
    put(o, "{");
    fs(o, "CreationTime", t);
    fs(o, "Id", id);
    fs(o, "Operation", "MailItemsAccessed");
    fs(o, "OrganizationId", org);
    fn(o, "RecordType", 50);
    fs(o, "ResultStatus", "Succeeded");
    snprintf(key, sizeof key, "10032002643F%04X", rn(0xffff));
    fs(o, "UserKey", key);
    fn(o, "UserType", 0);
    fn(o, "Version", 1);
    fs(o, "Workload", "Exchange");
    fs(o, "ClientIP", ipb);
    fupn(o, "UserId", u);
    fs(o, "AppId", "00000002-0000-0ff1-ce00-000000000000");
    fs(o, "ClientAppId", "");
    fs(o, "ClientIPAddress", ipb);
    put(o, "\"ClientInfoString\":\"Client=OWA;Action=ViewAdmin;%s;\",", agents[rn(4)]);
    fraw(o, "ExternalAccess", "false");
    fn(o, "InternalLogonType", 0);
    fn(o, "LogonType", 0);
    fsid(o, "LogonUserSid");
    fs(o, "MailboxGuid", mbx);
    fsid(o, "MailboxOwnerSid");
    fupn(o, "MailboxOwnerUPN", u);
    put(o, "\"OperationProperties\":[");
    nv(o, true, "MailAccessType", rn(4) ? "Bind" : "Sync");
    nv(o, false, "IsThrottled", "False");
    put(o, "],");
    fs(o, "OrganizationName", "contoso.onmicrosoft.com");
    put(o, "\"OriginatingServer\":\"TYUPR03MB%04u (15.20.6609.024)\",", 1000 + rn(9000));
    fs(o, "SessionId", sess);
    put(o, "\"AppAccessContext\":{");
    fs(o, "AADSessionId", sess);
    fs(o, "CorrelationId", corr);
    fs(o, "UniqueTokenId", tok);
    put(o, "\"IssuedAtTime\":\"%s\"},", t);
    fn(o, "OperationCount", 1 + rn(12));
    put(o, "\"Folders\":[");
    unsigned nf = 1 + rn(2);
    static const char *const paths[] = {"\\\\Inbox", "\\\\Sent Items", "\\\\Archive\\\\2023",
                                        "\\\\Deleted Items"};
    for (unsigned f = 0; f < nf; f++) {
        char fid[61];
        b64id(fid, sizeof fid);
        put(o, "%s{\"Id\":\"LgAAAAC4lQ2Ye4hSS4if%s\",", f ? "," : "", fid);
        put(o, "\"Path\":\"%s\",\"FolderItems\":[", paths[rn(4)]);
        unsigned ni = 1 + rn(4);
        for (unsigned i = 0; i < ni; i++) {
            char iid[41], mid[37], ct[32];
            b64id(iid, sizeof iid), guid(mid), ts(ct, 0);
            put(o,
                "%s{\"InternetMessageId\":\"<%s@DM6NAM12FT058.eop-nam12.prod.protection."
                "outlook.com>\",",
                i ? "," : "", mid);
            put(o, "\"Id\":\"RgAAAAC4lQ2Ye4hSS4ifGHA%s\",", iid);
            fn(o, "SizeInBytes", 2000 + rn(200000));
            fs(o, "CreationTime", ct);
            put(o, "\"Subject\":\"%s\"}", subjects[rn(8)]);
        }
        put(o, "]}");
    }
    put(o, "]}\n");
}

static void gen_logon(struct out *o)
{
    char id[37], org[37], corr[37], sess[37], ipb[48], t[32];
    guid(id), guid(org), guid(corr), guid(sess), ip(ipb), ts(t, 0);
    bool ok = rn(3) != 0;
    const char *u = users[rn(10)];
    put(o, "{");
    fs(o, "CreationTime", t);
    fs(o, "Id", id);
    fs(o, "Operation", ok ? "UserLoggedIn" : "UserLoginFailed");
    fs(o, "OrganizationId", org);
    fn(o, "RecordType", 15);
    fs(o, "ResultStatus", ok ? "Success" : "Failed");
    fs(o, "UserKey", id);
    fn(o, "UserType", 0);
    fn(o, "Version", 1);
    fs(o, "Workload", "AzureActiveDirectory");
    fs(o, "ClientIP", ipb);
    fs(o, "ObjectId", "00000002-0000-0ff1-ce00-000000000000");
    fupn(o, "UserId", u);
    fn(o, "AzureActiveDirectoryEventType", 1);
    put(o, "\"ExtendedProperties\":[");
    nv(o, true, "ResultStatusDetail", ok ? "Success" : "UserError");
    nv(o, false, "UserAgent", agents[rn(4)]);
    nv(o, false, "UserAuthenticationMethod", "1");
    nv(o, false, "RequestType", "OAuth2:Token");
    nv(o, false, "KeepMeSignedIn", "false");
    put(o, "],\"ModifiedProperties\":[],\"Actor\":[{\"ID\":\"%s\",\"Type\":0},", id);
    put(o, "{\"ID\":\"%s@contoso.onmicrosoft.com\",\"Type\":5}],", u);
    fs(o, "ActorContextId", org);
    fs(o, "ActorIpAddress", ipb);
    fs(o, "InterSystemsId", corr);
    fs(o, "IntraSystemId", id);
    fs(o, "SupportTicketId", "");
    put(o, "\"Target\":[{\"ID\":\"00000002-0000-0ff1-ce00-000000000000\",\"Type\":0}],");
    fs(o, "TargetContextId", org);
    fs(o, "ApplicationId", "d3590ed6-52b3-4102-aeff-aad2292ab01c");
    put(o, "\"DeviceProperties\":[");
    nv(o, true, "OS", "Windows 10");
    nv(o, false, "BrowserType", "Edge");
    nv(o, false, "IsCompliantAndManaged", "False");
    nv(o, false, "SessionId", sess);
    put(o, "],");
    if (!ok) fs(o, "LogonError", "InvalidUserNameOrPassword");
    put(o, "\"ErrorNumber\":\"%s\"}\n", ok ? "0" : "50126");
}

static void gen_admin(struct out *o)
{
    char id[37], org[37], obj[37], sess[37], ipb[48], t[32], cip[64];
    guid(id), guid(org), guid(obj), guid(sess), ip(ipb), ts(t, 0);
    snprintf(cip, sizeof cip, "[%s]:%u", ipb, 40000 + rn(20000));
    const char *target = users[rn(10)];
    const char *grantee = users[rn(10)];
    put(o, "{");
    fs(o, "CreationTime", t);
    fs(o, "Id", id);
    fs(o, "Operation", "Add-MailboxPermission");
    fs(o, "OrganizationId", org);
    fn(o, "RecordType", 1);
    fs(o, "ResultStatus", "True");
    fs(o, "UserKey", "10032002643F6746");
    fn(o, "UserType", 2);
    fn(o, "Version", 1);
    fs(o, "Workload", "Exchange");
    fs(o, "ClientIP", cip);
    fs(o, "ObjectId", obj);
    fs(o, "UserId", "stinger@contoso.onmicrosoft.com");
    fs(o, "AppId", "fb78d390-0c51-40cd-8e17-fdbfab77341b");
    fs(o, "ClientAppId", "");
    fraw(o, "ExternalAccess", "false");
    fs(o, "OrganizationName", "contoso.onmicrosoft.com");
    fs(o, "OriginatingServer", "TYUPR03MB7029 (15.20.6609.024)");
    put(o, "\"Parameters\":[{\"Name\":\"Identity\",\"Value\":\"%s@contoso.onmicrosoft.com\"},",
        target);
    nv(o, true, "AccessRights", "FullAccess");
    put(o, ",{\"Name\":\"User\",\"Value\":\"%s@contoso.onmicrosoft.com\"}", grantee);
    nv(o, false, "InheritanceType", "All");
    put(o, "],");
    fs(o, "SessionId", sess);
    put(o, "\"AppAccessContext\":{");
    fs(o, "AADSessionId", sess);
    fs(o, "ClientAppId", "");
    fs(o, "ClientAppName", "");
    fs(o, "CorrelationId", id);
    put(o, "\"IssuedAtTime\":\"%s\"}}\n", t);
}

static void gen_signin(struct out *o)
{
    char id[37], ten[37], corr[37], sess[37], ipb[48], t[32], tok[49], rid[96];
    guid(id), guid(ten), guid(corr), guid(sess), ip(ipb), ts(t, 1), b64id(tok, sizeof tok);
    static const char *const cats[] = {"SignInLogs", "NonInteractiveUserSignInLogs",
                                       "ServicePrincipalSignInLogs"};
    const char *u = users[rn(10)];
    snprintf(rid, sizeof rid, "/tenants/%s/providers/Microsoft.aadiam", ten);
    put(o, "{");
    fs(o, "time", t);
    fs(o, "resourceId", rid);
    fs(o, "operationName", "Sign-in activity");
    fs(o, "operationVersion", "1.0");
    fs(o, "category", cats[rn(3)]);
    fs(o, "tenantId", ten);
    fs(o, "resultType", "0");
    fs(o, "resultSignature", "None");
    fn(o, "durationMs", 0);
    fs(o, "callerIpAddress", ipb);
    fs(o, "correlationId", corr);
    fs(o, "identity", u);
    fn(o, "Level", 4);
    fs(o, "location", "IN");
    put(o, "\"properties\":{");
    fs(o, "id", id);
    fs(o, "createdDateTime", t);
    fs(o, "userDisplayName", u);
    fupn(o, "userPrincipalName", u);
    fs(o, "userId", sess);
    fs(o, "appId", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c");
    fs(o, "appDisplayName", "Azure Portal");
    fs(o, "ipAddress", ipb);
    put(o, "\"status\":{\"errorCode\":0},");
    fs(o, "clientAppUsed", "Browser");
    fs(o, "userAgent", agents[rn(4)]);
    fraw(o, "isInteractive", "true");
    fs(o, "authenticationRequirement", "singleFactorAuthentication");
    fn(o, "autonomousSystemNumber", 1000 + rn(60000));
    fs(o, "resourceDisplayName", "Windows Azure Service Management API");
    fs(o, "resourceId", "797f4846-ba00-4fd7-ba43-dac1f8f63013");
    fs(o, "sessionId", sess);
    fs(o, "uniqueTokenIdentifier", tok);
    fs(o, "incomingTokenType", "none");
    fs(o, "authenticationProtocol", "none");
    fs(o, "riskLevelAggregated", "none");
    fs(o, "conditionalAccessStatus", "notApplied");
    put(o, "\"deviceDetail\":{\"deviceId\":\"\",\"operatingSystem\":\"Windows 10\","
           "\"browser\":\"Edge 114.0.1823\"},");
    unsigned la = rn(100);
    unsigned lo = rn(100);
    put(o,
        "\"location\":{\"city\":\"Bengaluru\",\"state\":\"Karnataka\",\"countryOrRegion\":\"IN\","
        "\"geoCoordinates\":{\"latitude\":12.97%u,\"longitude\":77.59%u}}}}\n",
        la, lo);
}

static int generate(unsigned long n, const char *path)
{
    struct out o = {fopen(path, "wb")};
    if (!o.f) {
        fprintf(stderr, "bench_parse: %s: %s\n", path, strerror(errno));
        return 1;
    }
    for (unsigned long i = 0; i < n; i++) {
        switch (rn(8)) {
        case 0:
        case 1:
        case 2:
            gen_mailitems(&o);
            break;
        case 3:
        case 4:
            gen_logon(&o);
            break;
        case 5:
            gen_admin(&o);
            break;
        default:
            gen_signin(&o);
            break;
        }
    }
    if (fclose(o.f) != 0) {
        fprintf(stderr, "bench_parse: %s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

/* ---- benchmark ---- */

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

struct line {
    size_t off, len;
};

static int bench(const char *path, int repeat, bool scalar)
{
    int rc = 1;
    char *buf = NULL;
    struct line *lines = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench_parse: %s: %s\n", path, strerror(errno));
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = mh_malloc(sz > 0 ? (size_t)sz : 1);
    if (!buf || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        fprintf(stderr, "bench_parse: cannot read %s\n", path);
        goto out;
    }
    size_t nl = 0, cap = 1024;
    lines = mh_malloc(cap * sizeof *lines);
    if (!lines) goto out;
    for (size_t p = 0; p < (size_t)sz;) {
        const char *e = memchr(buf + p, '\n', (size_t)sz - p);
        size_t end = e ? (size_t)(e - buf) : (size_t)sz;
        if (end > p) {
            if (nl == cap) {
                struct line *nlines = mh_realloc(lines, cap * 2 * sizeof *lines);
                if (!nlines) goto out;
                lines = nlines;
                cap *= 2;
            }
            lines[nl++] = (struct line){p, end - p};
        }
        p = end + 1;
    }
    struct mh_jdoc d;
    mh_jdoc_init(&d, NULL);
    d.opts = scalar ? MH_JDOC_SCALAR : 0;
    double best = 1e30, total = 0, best_cpu = 1e30;
    uint64_t nodes = 0, bad = 0;
    for (int r = 0; r < repeat; r++) {
        nodes = 0;
        bad = 0;
        double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
        for (size_t i = 0; i < nl; i++) {
            if (mh_json_parse(&d, buf + lines[i].off, lines[i].len, NULL) == MH_OK)
                nodes += d.n;
            else
                bad++;
        }
        double dc = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
        double dt = clock_s(CLOCK_MONOTONIC) - t0;
        total += dt;
        if (dt < best) best = dt;
        if (dc < best_cpu) best_cpu = dc;
    }
    mh_jdoc_fini(&d);
    double mb = (double)sz / 1e6;
    printf("bench_parse: %s: %.1f MB, %zu records, %.0f bytes/record, %llu nodes/pass, %llu "
           "rejected, scanner %s\n",
           path, mb, nl, nl ? (double)sz / (double)nl : 0.0, (unsigned long long)nodes,
           (unsigned long long)bad, scalar ? "scalar" : "default (SSE2 if built)");
    printf("parse-only: best %.0f MB/s, %.0f records/s; mean %.0f MB/s over %d passes\n", mb / best,
           (double)nl / best, mb * repeat / total, repeat);
    /* CPU time of this thread: the per-core figure, even on a busy machine */
    printf("parse-only per core (thread CPU time): best %.0f MB/s, %.0f records/s\n", mb / best_cpu,
           (double)nl / best_cpu);
    rc = 0;
out:
    if (f) fclose(f);
    mh_free(lines);
    mh_free(buf);
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_parse FILE [--repeat N] [--scalar]\n"
                    "       bench_parse --gen N OUT\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--gen") == 0) {
        char *end = NULL;
        unsigned long n = strtoul(argv[2], &end, 10);
        if (!end || *end) return usage();
        return generate(n, argv[3]);
    }
    if (argc < 2 || argv[1][0] == '-') return usage();
    int repeat = 5;
    bool scalar = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            char *end = NULL;
            long r = strtol(argv[++i], &end, 10);
            if (!end || *end || r < 1 || r > 1000) return usage();
            repeat = (int)r;
        } else if (strcmp(argv[i], "--scalar") == 0) {
            scalar = true;
        } else {
            return usage();
        }
    }
    return bench(argv[1], repeat, scalar);
}

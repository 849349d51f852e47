/*
 * tests/unit/test_package.c -- notify/package.c: BagIt packages
 *
 * Determinism (the same message set in any input order, written twice, gives
 * byte-identical trees), manifest verification (every hash recomputed with
 * the independent base/sha256.c; every payload file listed exactly once;
 * Payload-Oxum; `sha256sum -c` when coreutils are installed), the exact
 * messages.csv contract (header, RFC 4180 quoting parsed back), Bcc removed
 * from every shipped copy, file names, the letter, directory names of odd
 * keys, supplements, replacing (supplements kept), the expected-hash guard,
 * recovery of half-done writes, index.csv, the deterministic tar, and the
 * CMS envelope of a package.
 */
#include <dirent.h>
#include <openssl/pem.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/sha256.h"
#include "mh_test.h"
#include "mh_testfs.h"
#include "notify/fs.h"
#include "notify/package.h"

static char tmpdir[256];

/* ---- helpers ---- */

static int same_tree(const char *a, const char *b)
{
    struct mh_buf x, y;
    mh_buf_init(&x, 0);
    mh_buf_init(&y, 0);
    snapshot(a, "", &x);
    snapshot(b, "", &y);
    int same = x.len > 0 && x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
    if (!same) fprintf(stderr, "trees differ:\n%s\n---\n%s\n", x.data ? x.data : "", y.data ? y.data : "");
    mh_buf_fini(&x);
    mh_buf_fini(&y);
    return same;
}

/* ---- fixtures ---- */

#define NMSG 5
static const char *raw[NMSG] = {
    "From: alice@contoso.com\r\nTo: bob@fabrikam.com\r\nBcc: boss@fabrikam.com,\r\n cfo@fabrikam.com\r\n"
    "Subject: Q3\r\nMessage-ID: <m1@contoso.com>\r\n\r\nNumbers attached.\r\n",
    "From: bob@fabrikam.com\nTo: alice@contoso.com\nSubject: re: Q3\nMessage-ID: <m2@fabrikam.com>\n\n"
    "Thanks.\n",
    "From: carol@contoso.com\nTo: dave@fabrikam.com\nX-bcc: eve@other.example\nSubject: keys\n\n"
    "password=hunter2\n",
    "From: dave@fabrikam.com\nTo: carol@contoso.com\nSubject: no date\n\nhi\n",
    "", /* an empty message is still a message */
};

static struct mh_pkg_message msgs[NMSG];

static mh_time T(const char *s)
{
    mh_time t = MH_TIME_NONE;
    if (mh_time_parse(s, strlen(s), &t) != MH_OK) return MH_TIME_NONE;
    return t;
}

static void fixtures(void)
{
    static const char *ids[NMSG] = {"m1@contoso.com", "m2@fabrikam.com", "m3@contoso.com",
                                    "m4@fabrikam.com", "m5@contoso.com"};
    static const char *subjects[NMSG] = {"Q3", "re: Q3, \"final\"", "keys\r\nline two", NULL, ""};
    const char *dates[NMSG] = {"2024-01-10T09:00:00Z", "2024-01-10T10:30:00Z",
                               "2024-01-11T08:00:00Z", NULL, "2024-01-09T00:00:00Z"};
    for (int i = 0; i < NMSG; i++) {
        msgs[i] = (struct mh_pkg_message){
            .message_id = ids[i],
            .date = dates[i] ? T(dates[i]) : MH_TIME_NONE,
            .subject = subjects[i],
            .mailbox = i % 2 ? "alice@contoso.com" : "alice@contoso.com;carol@contoso.com",
            .addresses = i == 0 ? "to:bob@fabrikam.com;bcc:boss@fabrikam.com" : "from:bob@fabrikam.com",
            .evidence = i == 2 ? "ual/2024-01-11.jsonl:17;ual/2024-01-11.jsonl:18" : "ual/x.jsonl:1",
            .confidence = i == 3 ? "inferred-sync" : "observed",
            .secrets = i == 2 ? 2 : 0,
            .raw = raw[i],
            .raw_len = strlen(raw[i]),
        };
    }
}

static struct mh_pkg_info info(unsigned seq)
{
    return (struct mh_pkg_info){
        .org_key = "fabrikam.com",
        .org_name = "Fabrikam, Inc.",
        .kind = "organisation",
        .source_org = "Contoso Ltd",
        .contact = "ir@contoso.com",
        .incident_id = "INC-2024-001",
        .bagging_date = T("2024-02-01T12:00:00Z"),
        .access_first = T("2024-01-08T22:15:00Z"),
        .access_last = T("2024-01-12T03:40:00Z"),
        .seq = seq,
    };
}

static void path_of(char *out, size_t n, const char *sub)
{
    fmtp(out, n, "%s/%s", tmpdir, sub);
}

/* ---- tests ---- */

static void t_determinism(void)
{
    char a[512], b[512], pa[600], pb[600];
    mh_error err;
    struct mh_pkg_result ra, rb;
    struct mh_pkg_shipped sh[NMSG];
    struct mh_pkg_info in = info(0);
    path_of(a, sizeof a, "det-a");
    path_of(b, sizeof b, "det-b");
    CHECK_INT(mh_pkg_write(a, &in, msgs, NMSG, NULL, sh, &ra, &err), MH_OK);
    /* reversed input order, second directory */
    struct mh_pkg_message rev[NMSG];
    for (int i = 0; i < NMSG; i++) rev[i] = msgs[NMSG - 1 - i];
    CHECK_INT(mh_pkg_write(b, &in, rev, NMSG, NULL, NULL, &rb, &err), MH_OK);
    fmtp(pa, sizeof pa, "%s/packages", a);
    fmtp(pb, sizeof pb, "%s/packages", b);
    CHECK(same_tree(pa, pb));
    CHECK_STREQ(ra.hash, rb.hash);
    CHECK_INT(ra.messages, NMSG);
    CHECK_INT(ra.secrets, 2);
    CHECK_INT(ra.redacted, 2);
    CHECK(!ra.replaced);
    /* again into the same place: replaced, identical */
    CHECK_INT(mh_pkg_write(a, &in, msgs, NMSG, NULL, NULL, &rb, &err), MH_OK);
    CHECK(rb.replaced);
    CHECK(same_tree(pa, pb));
    /* shipped info, in input order */
    CHECK_INT(sh[0].removed, 1);
    CHECK_STREQ(sh[0].removed_names, "Bcc");
    CHECK_STREQ(sh[2].removed_names, "X-bcc");
    CHECK_INT(sh[1].removed, 0);
    CHECK(strcmp(sh[0].sha256, sh[0].orig_sha256) != 0);
    CHECK_STREQ(sh[1].sha256, sh[1].orig_sha256);
    /* order: unknown date first, then by date: m4, m5, m1, m2, m3 */
    CHECK(!strncmp(sh[3].file, "000001-", 7));
    CHECK(!strncmp(sh[4].file, "000002-", 7));
    CHECK(!strncmp(sh[0].file, "000003-", 7));
    CHECK(!strncmp(sh[2].file, "000005-", 7));
    CHECK(!strncmp(sh[0].file + 7, sh[0].sha256, 12));
    /* no temporaries left behind */
    char tmp[700];
    fmtp(tmp, sizeof tmp, "%s/packages/.mh-tmp-fabrikam.com", a);
    CHECK(!mh_fs_exists(tmp));
}

/* Parse one RFC 4180 record starting at *p; fields into f (max 16). */
static int csv_record(const char **p, const char *end, char f[16][512], int *nf)
{
    const char *s = *p;
    *nf = 0;
    if (s >= end) return 0;
    for (;;) {
        size_t k = 0;
        if (*s == '"') {
            s++;
            for (;;) {
                if (s >= end) return 0;
                if (*s == '"') {
                    if (s + 1 < end && s[1] == '"') {
                        if (k < 511) f[*nf][k++] = '"';
                        s += 2;
                        continue;
                    }
                    s++;
                    break;
                }
                if (k < 511) f[*nf][k++] = *s;
                s++;
            }
        } else {
            while (s < end && *s != ',' && *s != '\r' && *s != '\n') {
                if (k < 511) f[*nf][k++] = *s;
                s++;
            }
        }
        f[*nf][k] = '\0';
        (*nf)++;
        if (s < end && *s == ',') {
            s++;
            if (*nf == 16) return 0;
            continue;
        }
        if (s + 1 < end && s[0] == '\r' && s[1] == '\n') s += 2;
        else return 0; /* every record ends in CRLF */
        break;
    }
    *p = s;
    return 1;
}

static void t_contents(void)
{
    char dir[512], p[700];
    struct mh_buf b, c;
    mh_buf_init(&b, 0);
    mh_buf_init(&c, 0);
    path_of(dir, sizeof dir, "det-a/packages/fabrikam.com");

    fmtp(p, sizeof p, "%s/bagit.txt", dir);
    CHECK(read_file(p, &b));
    CHECK_STREQ(b.data, "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");

    /* manifests: recompute every hash; every payload file exactly once */
    static const char *manifests[] = {"manifest-sha256.txt", "tagmanifest-sha256.txt"};
    size_t listed[2] = {0, 0};
    uint64_t payload_bytes = 0;
    for (int m = 0; m < 2; m++) {
        fmtp(p, sizeof p, "%s/%s", dir, manifests[m]);
        CHECK(read_file(p, &b));
        const char *s = b.data ? b.data : "";
        const char *prev = "";
        char prevbuf[512] = "";
        while (*s) {
            const char *nl = strchr(s, '\n');
            if (!nl) break;
            char hex[65], rel[512];
            CHECK(nl - s > 66 && s[64] == ' ' && s[65] == ' ');
            fmtp(hex, sizeof hex, "%.64s", s);
            fmtp(rel, sizeof rel, "%.*s", (int)(nl - s - 66), s + 66);
            CHECK(strcmp(prev, rel) < 0); /* sorted, no duplicates */
            fmtp(prevbuf, sizeof prevbuf, "%s", rel);
            prev = prevbuf;
            fmtp(p, sizeof p, "%s/%s", dir, rel);
            CHECK(read_file(p, &c));
            char got[65];
            CHECK_INT(mh_sha256_hex(c.data ? c.data : "", c.len, got, NULL), MH_OK);
            CHECK_STREQ(got, hex);
            if (m == 0) payload_bytes += c.len;
            listed[m]++;
            s = nl + 1;
        }
    }
    CHECK_INT(listed[0], NMSG + 1); /* messages + messages.csv */
    CHECK_INT(listed[1], 4);        /* bag-info, bagit, manifest, notice */
    fmtp(p, sizeof p, "%s/data/messages", dir);
    DIR *d = opendir(p);
    size_t files = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        files++;
        /* 000001-0123456789ab.eml, and no Bcc left inside */
        CHECK(strlen(e->d_name) == 6 + 1 + 12 + 4 && e->d_name[6] == '-' &&
              !strcmp(e->d_name + 19, ".eml"));
        char f[800];
        fmtp(f, sizeof f, "%s/%s", p, e->d_name);
        CHECK(read_file(f, &c));
        CHECK(!c.data || (!strstr(c.data, "Bcc:") && !strstr(c.data, "bcc:")));
        char got[65];
        CHECK_INT(mh_sha256_hex(c.data ? c.data : "", c.len, got, NULL), MH_OK);
        CHECK(!strncmp(got, e->d_name + 7, 12));
    }
    if (d) closedir(d);
    CHECK_INT(files, NMSG);

    fmtp(p, sizeof p, "%s/bag-info.txt", dir);
    CHECK(read_file(p, &b));
    char oxum[64];
    fmtp(oxum, sizeof oxum, "Payload-Oxum: %llu.%d\n", (unsigned long long)payload_bytes, NMSG + 1);
    CHECK(b.data && strstr(b.data, oxum) != NULL);
    CHECK(b.data && strstr(b.data, "Source-Organization: Contoso Ltd\n") != NULL);
    CHECK(b.data && strstr(b.data, "Bagging-Date: 2024-02-01\n") != NULL);
    CHECK(b.data && strstr(b.data, "External-Identifier: INC-2024-001\n") != NULL);
    CHECK(b.data && strstr(b.data, "Bag-Group-Identifier: fabrikam.com\n") != NULL);
    CHECK(b.data && strstr(b.data, "Contact-Email: ir@contoso.com\n") != NULL);

    /* messages.csv: exact header, fields parse back to the inputs */
    fmtp(p, sizeof p, "%s/data/messages.csv", dir);
    CHECK(read_file(p, &b));
    const char *s = b.data ? b.data : "", *end = s + b.len;
    static char f[16][512];
    int nf;
    CHECK(csv_record(&s, end, f, &nf));
    CHECK_INT(nf, 8);
    static const char *cols[8] = {"message_id", "date", "subject", "mailbox", "addresses",
                                  "evidence", "confidence", "has_secret"};
    for (int i = 0; i < 8 && i < nf; i++) CHECK_STREQ(f[i], cols[i]);
    static const int order[NMSG] = {3, 4, 0, 1, 2};
    for (int r = 0; r < NMSG; r++) {
        CHECK(csv_record(&s, end, f, &nf));
        CHECK_INT(nf, 8);
        const struct mh_pkg_message *m = &msgs[order[r]];
        CHECK_STREQ(f[0], m->message_id);
        char date[32] = "";
        if (m->date != MH_TIME_NONE) mh_time_format_sec(m->date, date);
        CHECK_STREQ(f[1], date);
        CHECK_STREQ(f[2], m->subject ? m->subject : "");
        CHECK_STREQ(f[3], m->mailbox);
        CHECK_STREQ(f[4], m->addresses);
        CHECK_STREQ(f[5], m->evidence);
        CHECK_STREQ(f[6], m->confidence);
        CHECK_STREQ(f[7], m->secrets ? "true" : "false");
    }
    CHECK(s == end);
    CHECK(strstr(b.data, "\"re: Q3, \"\"final\"\"\"") != NULL);

    /* the letter */
    fmtp(p, sizeof p, "%s/notice.md", dir);
    CHECK(read_file(p, &b));
    static const char *phrases[] = {
        "Fabrikam, Inc. (fabrikam.com)", "Contoso Ltd <ir@contoso.com>", "INC-2024-001 / fabrikam.com",
        "between 2024-01-08 22:15 and 2024-01-12 03:40 UTC", "5 of the messages taken were",
        "| alice@contoso.com | 5 |", "| carol@contoso.com | 3 |", "2 secrets", "sha256sum -c tagmanifest-sha256.txt",
        "sha256sum -c manifest-sha256.txt", "Bcc header fields were removed", "Rotate every password"};
    for (size_t i = 0; i < sizeof phrases / sizeof phrases[0]; i++) {
        if (!b.data || !strstr(b.data, phrases[i])) fprintf(stderr, "notice lacks: %s\n", phrases[i]);
        CHECK(b.data && strstr(b.data, phrases[i]) != NULL);
    }

    /* what a recipient runs */
    if (system("sha256sum --version >/dev/null 2>&1") == 0) {
        char cmd[900];
        fmtp(cmd, sizeof cmd,
                 "cd '%s' && sha256sum -c --quiet tagmanifest-sha256.txt manifest-sha256.txt", dir);
        CHECK_INT(system(cmd), 0);
        /* and it notices tampering */
        fmtp(cmd, sizeof cmd,
                 "cd '%s' && cp data/messages.csv /tmp/mh-pkg-csv.bak && echo x >> data/messages.csv && "
                 "! sha256sum -c --quiet manifest-sha256.txt >/dev/null 2>&1; r=$?; "
                 "cp /tmp/mh-pkg-csv.bak data/messages.csv; rm -f /tmp/mh-pkg-csv.bak; exit $r",
                 dir);
        CHECK_INT(system(cmd), 0);
    } else {
        fprintf(stderr, "note: no sha256sum; manifests checked in C only\n");
    }
    mh_buf_fini(&c);
    mh_buf_fini(&b);
}

static void t_names(void)
{
    char a[256], b[256], p[4096];
    mh_error err;
    CHECK_INT(mh_pkg_dirname("fabrikam.com", a, sizeof a, &err), MH_OK);
    CHECK_STREQ(a, "fabrikam.com");
    CHECK_INT(mh_pkg_dirname("pat.smith+x@gmail.com", a, sizeof a, &err), MH_OK);
    CHECK_STREQ(a, "pat.smith+x@gmail.com");
    CHECK_INT(mh_pkg_dirname("../etc/passwd", a, sizeof a, &err), MH_OK);
    CHECK(strchr(a, '/') == NULL && a[0] != '.');
    CHECK_INT(mh_pkg_dirname("../etc/passwe", b, sizeof b, &err), MH_OK);
    CHECK(strcmp(a, b) != 0); /* the hash keeps sanitised keys apart */
    CHECK_INT(mh_pkg_dirname("\"odd\"@x.com", a, sizeof a, &err), MH_OK);
    CHECK(!strncmp(a, "_odd_@x.com-", 12) && strlen(a) == 12 + 8);
    char longkey[400];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    CHECK_INT(mh_pkg_dirname(longkey, a, sizeof a, &err), MH_OK);
    CHECK_INT(strlen(a), 209);
    CHECK_INT(mh_pkg_dirname("", a, sizeof a, &err), MH_EINVAL);
    CHECK_INT(mh_pkg_path("/out", "x.com", 0, p, sizeof p, &err), MH_OK);
    CHECK_STREQ(p, "/out/packages/x.com");
    CHECK_INT(mh_pkg_path("/out", "x.com", 3, p, sizeof p, &err), MH_OK);
    CHECK_STREQ(p, "/out/packages/x.com/supplement-3");
}

static void t_supplement_and_guard(void)
{
    char out[512], p[700], q[700];
    mh_error err;
    struct mh_pkg_result r0, r1, r2;
    path_of(out, sizeof out, "supp");
    struct mh_pkg_info in0 = info(0), in1 = info(1);
    CHECK_INT(mh_pkg_write(out, &in0, msgs, 3, NULL, NULL, &r0, &err), MH_OK);
    CHECK_INT(mh_pkg_write(out, &in1, msgs + 3, 2, NULL, NULL, &r1, &err), MH_OK);
    fmtp(p, sizeof p, "%s/packages/fabrikam.com/supplement-1/notice.md", out);
    struct mh_buf b;
    mh_buf_init(&b, 0);
    CHECK(read_file(p, &b));
    CHECK(b.data && strstr(b.data, "supplement 1") != NULL);
    fmtp(p, sizeof p, "%s/packages/fabrikam.com/supplement-1/bag-info.txt", out);
    CHECK(read_file(p, &b));
    CHECK(b.data && strstr(b.data, "Internal-Sender-Description: supplement 1") != NULL);
    /* the first bag is not changed by its supplement */
    char h[MH_SHA256_HEX];
    fmtp(p, sizeof p, "%s/packages/fabrikam.com", out);
    CHECK_INT(mh_pkg_hash(p, h, &err), MH_OK);
    CHECK_STREQ(h, r0.hash);
    /* replacing the first bag keeps its supplements */
    CHECK_INT(mh_pkg_write(out, &in0, msgs, 3, r0.hash, NULL, &r2, &err), MH_OK);
    CHECK(r2.replaced);
    fmtp(q, sizeof q, "%s/packages/fabrikam.com/supplement-1/tagmanifest-sha256.txt", out);
    CHECK(mh_fs_exists(q));
    /* guard: a different set must not replace a recorded package */
    mh_error_clear(&err);
    CHECK_INT(mh_pkg_write(out, &in0, msgs, 2, r0.hash, NULL, &r2, &err), MH_ESTATE);
    CHECK_INT(mh_pkg_hash(p, h, &err), MH_OK);
    CHECK_STREQ(h, r0.hash);
    fmtp(q, sizeof q, "%s/packages/.mh-tmp-fabrikam.com", out);
    CHECK(!mh_fs_exists(q));
    CHECK_INT(mh_pkg_hash("/nonexistent", h, &err), MH_ENOTFOUND);
    mh_buf_fini(&b);

    /* bad input */
    struct mh_pkg_info bad = info(0);
    bad.bagging_date = MH_TIME_NONE;
    CHECK_INT(mh_pkg_write(out, &bad, msgs, 1, NULL, NULL, NULL, &err), MH_EINVAL);
    bad = info(0);
    bad.incident_id = NULL;
    CHECK_INT(mh_pkg_write(out, &bad, msgs, 1, NULL, NULL, NULL, &err), MH_EINVAL);
    CHECK_INT(mh_pkg_write(out, &in0, msgs, 0, NULL, NULL, NULL, &err), MH_EINVAL);
    struct mh_pkg_message dup[2] = {msgs[0], msgs[0]};
    CHECK_INT(mh_pkg_write(out, &in0, dup, 2, NULL, NULL, NULL, &err), MH_EINVAL);
    CHECK(strstr(err.msg, "twice") != NULL);
    CHECK_INT(mh_pkg_hash(p, h, &err), MH_OK);
    CHECK_STREQ(h, r0.hash);
}

static void t_recover(void)
{
    char out[512], p[700], q[700];
    mh_error err;
    path_of(out, sizeof out, "recover");
    struct mh_pkg_info in = info(0);
    CHECK_INT(mh_pkg_write(out, &in, msgs, 2, NULL, NULL, NULL, &err), MH_OK);
    in.org_key = "other.example";
    CHECK_INT(mh_pkg_write(out, &in, msgs, 2, NULL, NULL, NULL, &err), MH_OK);
    in.seq = 1;
    CHECK_INT(mh_pkg_write(out, &in, msgs + 2, 1, NULL, NULL, NULL, &err), MH_OK);
    /* 1. a temp dir: removed */
    fmtp(p, sizeof p, "%s/packages/.mh-tmp-x.example/data", out);
    CHECK_INT(mh_fs_mkdirs(p, &err), MH_OK);
    fmtp(p, sizeof p, "%s/packages/fabrikam.com/.mh-tmp-supplement-2", out);
    CHECK_INT(mh_fs_mkdirs(p, &err), MH_OK);
    /* 2. an old dir whose replacement never arrived: put back */
    fmtp(p, sizeof p, "%s/packages/fabrikam.com", out);
    fmtp(q, sizeof q, "%s/packages/.mh-old-fabrikam.com", out);
    CHECK_INT(rename(p, q), 0);
    /* 3. an old dir next to its replacement: supplements merged, old removed */
    fmtp(p, sizeof p, "%s/packages/other.example", out);
    fmtp(q, sizeof q, "%s/packages/.mh-old-other.example", out);
    char cmd[2000];
    fmtp(cmd, sizeof cmd, "cp -a '%s' '%s' && rm -rf '%s/supplement-1'", p, q, p);
    CHECK_INT(system(cmd), 0);
    fmtp(cmd, sizeof cmd, "%s/packages/index.csv.mh-tmp", out);
    CHECK_INT(mh_fs_write(cmd, "x", 1, false, &err), MH_OK);

    CHECK_INT(mh_pkg_recover(out, &err), MH_OK);
    fmtp(p, sizeof p, "%s/packages/.mh-tmp-x.example", out);
    CHECK(!mh_fs_exists(p));
    fmtp(p, sizeof p, "%s/packages/fabrikam.com/.mh-tmp-supplement-2", out);
    CHECK(!mh_fs_exists(p));
    fmtp(p, sizeof p, "%s/packages/fabrikam.com/bagit.txt", out);
    CHECK(mh_fs_exists(p));
    fmtp(p, sizeof p, "%s/packages/.mh-old-fabrikam.com", out);
    CHECK(!mh_fs_exists(p));
    fmtp(p, sizeof p, "%s/packages/other.example/supplement-1/bagit.txt", out);
    CHECK(mh_fs_exists(p));
    fmtp(p, sizeof p, "%s/packages/.mh-old-other.example", out);
    CHECK(!mh_fs_exists(p));
    CHECK(!mh_fs_exists(cmd));
    CHECK_INT(mh_pkg_recover("/nonexistent-out", &err), MH_OK);
}

static void t_index(void)
{
    char out[512], p[700];
    mh_error err;
    path_of(out, sizeof out, "index");
    struct mh_pkg_index_row rows[] = {
        {"zeta.example", "organisation", 3, 1},
        {"a@gmail.com", "individual", 1, 0},
        {"comma,org", "organisation", 2, 0},
        {"list.example.org", "list", 7, 2},
    };
    CHECK_INT(mh_pkg_write_index(out, rows, 4, &err), MH_OK);
    fmtp(p, sizeof p, "%s/packages/index.csv", out);
    struct mh_buf b;
    mh_buf_init(&b, 0);
    CHECK(read_file(p, &b));
    CHECK_STREQ(b.data, "org,kind,messages,secrets\r\n"
                        "a@gmail.com,individual,1,0\r\n"
                        "\"comma,org\",organisation,2,0\r\n"
                        "list.example.org,list,7,2\r\n"
                        "zeta.example,organisation,3,1\r\n");
    CHECK_INT(mh_pkg_write_index(out, NULL, 0, &err), MH_OK);
    CHECK(read_file(p, &b));
    CHECK_STREQ(b.data, "org,kind,messages,secrets\r\n");
    mh_buf_fini(&b);
}

static void t_tar(void)
{
    char dir[512], t1[600], t2[600], x[600], cmd[2000];
    mh_error err;
    path_of(dir, sizeof dir, "supp/packages/fabrikam.com");
    path_of(t1, sizeof t1, "a.tar");
    path_of(t2, sizeof t2, "b.tar");
    mh_time when = T("2024-02-01T12:00:00Z");
    CHECK_INT(mh_pkg_tar(dir, when, t1, &err), MH_OK);
    CHECK_INT(mh_pkg_tar(dir, when, t2, &err), MH_OK);
    struct mh_buf a, b;
    mh_buf_init(&a, 0);
    mh_buf_init(&b, 0);
    CHECK(read_file(t1, &a) && read_file(t2, &b));
    CHECK(a.len > 0 && a.len % 10240 == 0 && a.len == b.len && !memcmp(a.data, b.data, a.len));
    if (system("tar --version >/dev/null 2>&1") == 0) {
        path_of(x, sizeof x, "untar");
        fmtp(cmd, sizeof cmd,
                 "mkdir -p '%s' && tar -xf '%s' -C '%s' && test ! -e '%s/fabrikam.com/supplement-1' && "
                 "diff -r '%s/fabrikam.com/data' '%s/data' && cmp '%s/fabrikam.com/notice.md' '%s/notice.md' "
                 "&& tar -tvf '%s' | grep -q '2024-02-01'",
                 x, t1, x, x, x, dir, x, dir, t1);
        CHECK_INT(system(cmd), 0);
    }
    CHECK_INT(mh_pkg_tar("/nonexistent", when, t1, &err), MH_EIO);
    mh_buf_fini(&a);
    mh_buf_fini(&b);
}

static void t_encrypt(void)
{
    /* one throwaway EC recipient, made with the OpenSSL API */
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    CHECK(k && x);
    if (!k || !x) return;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"fabrikam.com", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_sign(x, k, EVP_sha256());
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, x);
    char *pem;
    long pn = BIO_get_mem_data(bio, &pem);
    mh_certs *c = NULL;
    mh_error err;
    CHECK_INT(mh_certs_new(&c, &err), MH_OK);
    CHECK_INT(mh_certs_add_pem(c, pem, (size_t)pn, &err), MH_OK);
    BIO_free(bio);

    char dir[512], env[600], tarp[600];
    path_of(dir, sizeof dir, "supp/packages/fabrikam.com");
    path_of(env, sizeof env, "fabrikam.com.tar.cms.pem");
    path_of(tarp, sizeof tarp, "ref.tar");
    mh_time when = T("2024-02-01T12:00:00Z");
    CHECK_INT(mh_pkg_encrypt(dir, when, c, env, &err), MH_OK);
    CHECK_INT(mh_pkg_tar(dir, when, tarp, &err), MH_OK);
    char leftover[700];
    fmtp(leftover, sizeof leftover, "%s.tar.mh-tmp", env);
    CHECK(!mh_fs_exists(leftover));
    /* decrypt: the plaintext is exactly the deterministic tar */
    struct mh_buf e, ref;
    mh_buf_init(&e, 0);
    mh_buf_init(&ref, 0);
    CHECK(read_file(env, &e) && read_file(tarp, &ref));
    BIO *in = BIO_new_mem_buf(e.data, (int)e.len), *o = BIO_new(BIO_s_mem());
    CMS_ContentInfo *cms = PEM_read_bio_CMS(in, NULL, NULL, NULL);
    CHECK(cms != NULL);
    CHECK(cms && CMS_decrypt(cms, k, x, NULL, o, CMS_BINARY) == 1);
    char *plain;
    long len = BIO_get_mem_data(o, &plain);
    CHECK(len > 0 && (size_t)len == ref.len && !memcmp(plain, ref.data, ref.len));
    ERR_clear_error();
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    BIO_free(o);
    mh_buf_fini(&e);
    mh_buf_fini(&ref);
    mh_certs_free(c);
    X509_free(x);
    EVP_PKEY_free(k);
}

static void t_alloc_failures(void)
{
    char out[512];
    path_of(out, sizeof out, "alloc");
    struct mh_pkg_info in = info(0);
    struct mh_pkg_result ref, r;
    CHECK_INT(mh_pkg_write(out, &in, msgs, NMSG, NULL, NULL, &ref, NULL), MH_OK);
    int enomem = 0, k;
    for (k = 0; k < 2000; k++) {
        mh_alloc_fail_after(k);
        mh_status st = mh_pkg_write(out, &in, msgs, NMSG, NULL, NULL, &r, NULL);
        mh_alloc_fail_after(-1);
        if (st == MH_OK) break;
        CHECK_INT(st, MH_ENOMEM);
        enomem++;
        /* a failed write leaves the previous package intact */
        char p[700], h[MH_SHA256_HEX];
        fmtp(p, sizeof p, "%s/packages/fabrikam.com", out);
        CHECK(mh_pkg_hash(p, h, NULL) == MH_OK && !strcmp(h, ref.hash));
    }
    CHECK(k < 2000 && enomem > 10);
    CHECK_STREQ(r.hash, ref.hash);
}

int main(void)
{
    fmtp(tmpdir, sizeof tmpdir, "/tmp/mh-test-pkg-XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    fixtures();
    static const struct mh_test T[] = {
        {"determinism", t_determinism},
        {"contents", t_contents},
        {"names", t_names},
        {"supplement_and_guard", t_supplement_and_guard},
        {"recover", t_recover},
        {"index", t_index},
        {"tar", t_tar},
        {"encrypt", t_encrypt},
        {"alloc_failures", t_alloc_failures},
    };
    int rc = MH_TEST_RUN(T);
    char cmd[300];
    fmtp(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) rc = 1;
    return rc;
}

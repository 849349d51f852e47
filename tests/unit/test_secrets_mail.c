/*
 * tests/unit/test_secrets_mail.c -- the store scan of src/secrets/mail.c:
 * which copies are scanned and which one a finding names
 *
 * One in-memory store, every file its own mailbox (a.eml -> mailbox "a"),
 * in this index order:
 *
 *   a, b, c   <m1@x>  byte-identical copies (tok=aaa111)
 *   d         <m1@x>  another copy: one more Received line
 *   e         <m2@x>  another message (tok=eee222)
 *
 * Table: a per-copy filter (the (mailbox, Message-ID) pairs wanted, as
 * `investigate` builds from scope.json; none = no filter, as `mailhound
 * secrets`) and the findings expected, "mailbox message-id secret" in scan
 * order. The rule: a wanted copy is scanned unless an identical copy that
 * was ITSELF wanted came earlier, so a finding names the first wanted copy;
 * an unwanted copy never hides a wanted one. Then allocation failures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "ingest/mailstore.h"
#include "mh_test.h"
#include "secrets/gitleaks.h"
#include "secrets/mail.h"
#include "secrets/scan.h"

#define RULES "[[rules]]\nid = \"tok\"\nregex = '''tok=([a-z0-9]{6})'''\nkeywords = [\"tok\"]\n"

#define HDR(id) "From: x@example.com\nTo: y@example.com\nSubject: s\nMessage-ID: " id "\n"
static const char M1[] = HDR("<m1@x>") "\nthe key: tok=aaa111\n";
static const char M1B[] = "Received: from relay\n" HDR("<m1@x>") "\nthe key: tok=aaa111\n";
static const char M2[] = HDR("<m2@x>") "\nanother: tok=eee222\n";

struct run {
    const char *const *want; /* "mailbox <id>" pairs, NULL-terminated; NULL: no filter */
    struct mh_buf out;       /* "mailbox id secret\n" per finding */
};

static bool want(void *ctx, const struct mh_mail_msg *m, const struct mh_mailbox *mb)
{
    struct run *r = ctx;
    char pair[256];
    snprintf(pair, sizeof pair, "%s %s", mb->name, m->message_id);
    for (size_t i = 0; r->want[i]; i++)
        if (!strcmp(r->want[i], pair)) return true;
    return false;
}

static mh_status on_finding(void *ctx, const struct mh_secrets_place *p)
{
    struct run *r = ctx;
    return mh_buf_printf(&r->out, "%s %s %.*s\n", p->mailbox, p->message_id, (int)p->secret_len,
                         p->secret);
}

static mh_mailstore *make_store(void)
{
    static const struct {
        const char *name, *data;
    } F[] = {{"a.eml", M1}, {"b.eml", M1}, {"c.eml", M1}, {"d.eml", M1B}, {"e.eml", M2}};
    mh_mailstore *s = NULL;
    mh_error err;
    mh_error_clear(&err);
    if (mh_mailstore_new(NULL, &s, &err)) return NULL;
    for (size_t i = 0; i < sizeof F / sizeof F[0]; i++)
        if (mh_mailstore_add_memory(s, F[i].name, F[i].data, strlen(F[i].data), &err)) {
            mh_mailstore_free(s);
            return NULL;
        }
    return s;
}

/* The rules: the engine borrows the config, which lives as long. */
struct fixture {
    mh_mailstore *store;
    struct mh_gl_config *cfg;
    struct mh_secrets_engine *eng;
};

static bool fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    mh_error err;
    mh_error_clear(&err);
    f->store = make_store();
    if (!f->store || mh_gl_load_mem(RULES, strlen(RULES), "t.toml", NULL, &f->cfg, &err) ||
        mh_secrets_compile(f->cfg, 0, &f->eng, NULL, &err)) {
        CHECK(0);
        return false;
    }
    return true;
}

static void fixture_fini(struct fixture *f)
{
    mh_secrets_engine_free(f->eng);
    mh_gl_free(f->cfg);
    mh_mailstore_free(f->store);
}

/* Scan store with filter `w`; the findings (NULL on failure, *st says why). */
static char *scan(const struct mh_secrets_engine *e, const mh_mailstore *store,
                  const char *const *w, uint64_t *scanned, mh_status *st)
{
    struct run r = {.want = w};
    mh_buf_init(&r.out, 1u << 20);
    struct mh_secrets_mail_opts o = {e, true, w ? want : NULL, on_finding, NULL, &r};
    mh_secrets_scanner *sc = NULL;
    mh_error err;
    mh_error_clear(&err);
    char *res = NULL;
    *st = mh_secrets_scanner_new(&o, &sc, &err);
    if (!*st) *st = mh_secrets_scan_store(sc, store);
    if (!*st) {
        if (scanned) *scanned = mh_secrets_scanner_stats(sc)->scanned;
        res = mh_strndup(r.out.data ? r.out.data : "", r.out.len);
        if (!res) *st = MH_ENOMEM;
    }
    mh_secrets_scanner_free(sc);
    mh_buf_fini(&r.out);
    return res;
}

#define A1 "a <m1@x> aaa111\n"
#define B1 "b <m1@x> aaa111\n"
#define C1 "c <m1@x> aaa111\n"
#define D1 "d <m1@x> aaa111\n"
#define E2 "e <m2@x> eee222\n"

static const char *const W_NONE[] = {NULL};
static const char *const W_BC[] = {"b <m1@x>", "c <m1@x>", NULL};
static const char *const W_C[] = {"c <m1@x>", NULL};
static const char *const W_CD[] = {"c <m1@x>", "d <m1@x>", NULL};
static const char *const W_ABC[] = {"a <m1@x>", "b <m1@x>", "c <m1@x>", NULL};
static const char *const W_WRONG[] = {"a <m2@x>", "e <m1@x>", NULL};
static const char *const W_BE[] = {"e <m2@x>", "b <m1@x>", NULL};

static const struct {
    const char *name;
    const char *const *want;
    const char *findings;
    uint64_t scanned;
} CASES[] = {
    /* `mailhound secrets`: identical copies once, named by the first */
    {"no filter", NULL, A1 D1 E2, 3},
    {"nothing wanted", W_NONE, "", 0},
    /* the unwanted first copy (a) must not hide b; c is b's duplicate */
    {"first wanted copy", W_BC, B1, 1},
    {"only the last identical copy", W_C, C1, 1},
    /* a different copy is scanned on its own */
    {"identical and different", W_CD, C1 D1, 2},
    {"every identical copy wanted", W_ABC, A1, 1},
    /* pairs, not ids or mailboxes: m2 is not in a, m1 is not in e */
    {"pair, not id or mailbox", W_WRONG, "", 0},
    {"two messages", W_BE, B1 E2, 2},
};

static void t_filter(void)
{
    struct fixture f;
    if (!fixture_init(&f)) goto out;
    const mh_mailstore *store = f.store;
    CHECK_INT(mh_mailstore_nlocs(store), 5);
    CHECK_INT(mh_mailstore_nmsgs(store), 2);
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        uint64_t scanned = 0;
        mh_status st;
        char *got = scan(f.eng, store, CASES[i].want, &scanned, &st);
        CHECK_INT(st, MH_OK);
        if (!got || strcmp(got, CASES[i].findings))
            fprintf(stderr, "  case \"%s\": got\n%s  want\n%s", CASES[i].name,
                    got ? got : "(null)\n", CASES[i].findings);
        CHECK_STREQ(got, CASES[i].findings);
        CHECK_INT(scanned, CASES[i].scanned);
        mh_free(got);
    }
out:
    fixture_fini(&f);
}

static void t_alloc_fail(void)
{
    struct fixture f;
    if (!fixture_init(&f)) goto out;
    int ok = 0;
    for (int64_t n = 0; n < 64; n++) {
        mh_status st;
        mh_alloc_fail_after(n);
        char *got = scan(f.eng, f.store, W_CD, NULL, &st);
        mh_alloc_fail_after(-1);
        if (got) {
            ok++;
            CHECK_STREQ(got, C1 D1);
        } else {
            CHECK_INT(st, MH_ENOMEM);
        }
        mh_free(got);
    }
    CHECK(ok > 0);
out:
    fixture_fini(&f);
}

int main(void)
{
    static const struct mh_test T[] = {
        {"filter", t_filter},
        {"alloc_fail", t_alloc_fail},
    };
    return MH_TEST_RUN(T);
}

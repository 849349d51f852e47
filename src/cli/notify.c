/*
 * cli/notify.c -- `mailhound notify`: one package per affected organisation
 *
 * Reads scope.json (the output of `mailhound scope`) and the mail store,
 * builds the organisation rules (shipped free-mail list, tenant.json,
 * overrides, DN map), and hands everything to mh_notify_run (notify/run.h);
 * this file only parses options, prints warnings and the summary, and picks
 * the exit code. Output contract: docs/notify.md.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "cli/cli.h"
#include "ingest/mailstore.h"
#include "notify/fs.h"
#include "notify/org.h"
#include "notify/package.h"
#include "notify/run.h"

#define MAX_PATHS 4096

static void usage(FILE *out)
{
    fputs("usage: mailhound notify --scope scope.json --mail PATH... --out DIR [options]\n"
          "\n"
          "One verifiable package per organisation that corresponded with a\n"
          "compromised mailbox (per address for free-mail users), holding only the\n"
          "messages where that organisation is a party, Bcc headers removed; a ledger\n"
          "of everything handed out; the attacker indicators as STIX 2.1.\n"
          "\n"
          "Options:\n"
          "  --scope FILE         scope.json from `mailhound scope` (required)\n"
          "  --mail PATH          mail store: mbox, Maildir, MH, .eml, or a folder of\n"
          "                       mailboxes (repeatable; required)\n"
          "  --out DIR            output directory (required)\n"
          "  --ledger FILE        notification ledger (default DIR/notify-ledger.db); reruns\n"
          "                       hand out only new messages, in supplement-<k>/ packages\n"
          "  --encrypt-to CERTDIR also write DIR/encrypted/<org>.tar.cms.pem for every\n"
          "                       organisation with CERTDIR/<org>.pem (CMS, AES-256-GCM)\n"
          "  --tenant FILE        tenant.json: internal domains, partners, legacy DNs\n"
          "  --internal DOMAIN    one of our own domains (repeatable; the scoped\n"
          "                       mailboxes' domains always are)\n"
          "  --org-overrides FILE \"<domain> <key|+N|freemail> [name]\" lines\n"
          "  --freemail FILE      more free-mail domains (the shipped list is always used)\n"
          "  --dn-map FILE        \"<legacy Exchange DN> <address>\" lines\n"
          "  --owner FILE         mailbox owners: \"<mailbox> <address>\" lines\n"
          "  --secrets FILE       secrets.jsonl from `mailhound secrets` (has_secret)\n"
          "  --source-org NAME    who notifies (default: the scoped mailboxes' domain)\n"
          "  --contact EMAIL      contact address for the letters\n"
          "  --incident ID        incident reference (default: the ids in scope.json)\n"
          "  --date DATE          Bagging-Date and STIX time, e.g. 2024-02-01 (default:\n"
          "                       the latest incident last_seen in scope.json)\n"
          "  --tlp LEVEL          white, green, amber (default) or red\n"
          "  -q, --quiet          no per-address warnings (still counted)\n"
          "  -h, --help           this text\n"
          "\n"
          "Writes DIR/packages/<org>/ (BagIt 1.0: bagit.txt, bag-info.txt, manifests,\n"
          "notice.md, data/messages.csv, data/messages/*.eml), DIR/packages/index.csv\n"
          "and DIR/indicators.stix.json. Verify a package with, inside it:\n"
          "  sha256sum -c tagmanifest-sha256.txt && sha256sum -c manifest-sha256.txt\n"
          "\n"
          "Exit status: 0 run completed, 1 usage or input error.\n",
          out);
}

void mh_cli_notify_note(void *ctx, const char *kind, const char *detail)
{
    struct mh_cli_notes *n = ctx;
    static const struct {
        const char *kind, *text;
    } texts[] = {
        {"not-in-store", "message not in the mail store, not shipped"},
        {"unresolved", "legacy Exchange address not in the DN map (--dn-map, tenant.json)"},
        {"invalid", "not a usable address"},
        {"drift", "a recorded package cannot be reproduced from these inputs"},
        {"no-certificate", "no certificate in --encrypt-to: package not encrypted"},
        {"unreadable", "message could not be read"},
    };
    if (n->quiet) return;
    const char *text = kind;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (!strcmp(texts[i].kind, kind)) text = texts[i].text;
    fprintf(stderr, "mailhound: warning: %s: %s\n", detail, text);
    n->printed++;
}

/* Test seam for tests/notify/test_notify_resume.sh: with
 * MAILHOUND_TEST_CRASH_AT=N the process SIGKILLs itself at the N-th step of
 * the write protocol (every mh_notify_crash_hook point: each package file,
 * sync, rename, ledger transaction, index), after naming the step on stderr.
 * A run that finishes prints "crash points: <count>" instead, so a test can
 * sweep N over every step. Unset or 0: no effect. MAILHOUND_TEST_BATCH=K
 * makes durability batches of K packages (default 256), so a small test
 * run crosses batch boundaries. */
static unsigned long crash_at, crash_count;

static void crash_hook(const char *point)
{
    if (++crash_count != crash_at) return;
    fprintf(stderr, "mailhound: test crash at step %lu (%s)\n", crash_count, point);
    fflush(stderr);
    raise(SIGKILL);
}

static void crash_setup(struct mh_notify_opts *o)
{
    const char *v = getenv("MAILHOUND_TEST_BATCH");
    char *end = NULL;
    if (v && *v) { /* the same seam: small batches, so a test crosses several */
        unsigned long b = strtoul(v, &end, 10);
        if (end && *end == '\0' && b > 0) o->batch = b;
    }
    v = getenv("MAILHOUND_TEST_CRASH_AT");
    end = NULL;
    if (!v || !*v) return;
    crash_at = strtoul(v, &end, 10);
    if (end && *end == '\0') mh_notify_crash_hook = crash_hook;
    else crash_at = 0;
}

int mh_cli_parse_date(const char *s, mh_time *out)
{
    char buf[64];
    if (strlen(s) == 10) { /* YYYY-MM-DD */
        snprintf(buf, sizeof buf, "%sT00:00:00Z", s);
        s = buf;
    }
    return mh_time_parse(s, strlen(s), out) == MH_OK;
}

mh_status mh_cli_orgs_load(const struct mh_cli_orgs_opts *oo, mh_orgs **out)
{
    mh_orgs *orgs = NULL;
    mh_error err;
    mh_error_clear(&err);
    mh_status st = mh_orgs_new(&orgs, &err);
    if (!st) st = mh_orgs_load_default_freemail(orgs, &err);
    if (st) {
        mh_cli_error("organisation rules", &err);
        goto out;
    }
    for (size_t i = 0; i < oo->nfree && !st; i++)
        if ((st = mh_orgs_load_freemail(orgs, oo->freemail[i], &err))) mh_cli_error("--freemail", &err);
    if (!st && oo->tenant && (st = mh_orgs_load_tenant_file(orgs, oo->tenant, &err)))
        mh_cli_error("--tenant", &err);
    for (size_t i = 0; i < oo->nover && !st; i++)
        if ((st = mh_orgs_load_overrides(orgs, oo->over[i], &err)))
            mh_cli_error("--org-overrides", &err);
    for (size_t i = 0; i < oo->ndn && !st; i++)
        if ((st = mh_orgs_load_dn_map(orgs, oo->dnmap[i], &err))) mh_cli_error("--dn-map", &err);
    for (size_t i = 0; i < oo->nint && !st; i++)
        if ((st = mh_orgs_add_internal(orgs, oo->internal[i], strlen(oo->internal[i]), &err)))
            mh_cli_error("--internal", &err);
out:
    if (st) {
        mh_orgs_free(orgs);
        return st;
    }
    *out = orgs;
    return MH_OK;
}

#define TOO_MANY()                                                                                 \
    do {                                                                                           \
        mh_cli_fail("notify: too many values for %s", a);                                         \
        goto out;                                                                                  \
    } while (0)

int mh_cli_notify(int argc, char **argv)
{
    int rc = MH_EXIT_ERROR;
    const char *scope = NULL, *mail[MAX_PATHS], *owner = NULL, *tenant = NULL;
    const char *over[64], *freemail[64], *dnmap[64], *internal[256];
    size_t nmail = 0, nover = 0, nfree = 0, ndn = 0, nint = 0;
    struct mh_notify_opts o;
    struct mh_cli_notes notes = {false, 0};
    mh_orgs *orgs = NULL;
    mh_mailstore *store = NULL;
    struct mh_buf sj;
    mh_error err;
    memset(&o, 0, sizeof o);
    o.date = MH_TIME_NONE;
    mh_buf_init(&sj, (size_t)4 << 30);
    mh_error_clear(&err);

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (mh_cli_is_help(a)) {
            usage(stdout);
            rc = MH_EXIT_OK;
            goto out;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            notes.quiet = true;
        } else if (!strcmp(a, "--scope") && has) {
            scope = argv[++i];
        } else if (!strcmp(a, "--mail") && has) {
            if (nmail == MAX_PATHS) TOO_MANY();
            mail[nmail++] = argv[++i];
        } else if (!strcmp(a, "--out") && has) {
            o.outdir = argv[++i];
        } else if (!strcmp(a, "--ledger") && has) {
            o.ledger = argv[++i];
        } else if (!strcmp(a, "--encrypt-to") && has) {
            o.certdir = argv[++i];
        } else if (!strcmp(a, "--tenant") && has) {
            tenant = argv[++i];
        } else if (!strcmp(a, "--internal") && has) {
            if (nint == 256) TOO_MANY();
            internal[nint++] = argv[++i];
        } else if (!strcmp(a, "--org-overrides") && has) {
            if (nover == 64) TOO_MANY();
            over[nover++] = argv[++i];
        } else if (!strcmp(a, "--freemail") && has) {
            if (nfree == 64) TOO_MANY();
            freemail[nfree++] = argv[++i];
        } else if (!strcmp(a, "--dn-map") && has) {
            if (ndn == 64) TOO_MANY();
            dnmap[ndn++] = argv[++i];
        } else if (!strcmp(a, "--owner") && has) {
            owner = argv[++i];
        } else if (!strcmp(a, "--secrets") && has) {
            o.secrets_path = argv[++i];
        } else if (!strcmp(a, "--source-org") && has) {
            o.source_org = argv[++i];
        } else if (!strcmp(a, "--contact") && has) {
            o.contact = argv[++i];
        } else if (!strcmp(a, "--incident") && has) {
            o.incident_id = argv[++i];
        } else if (!strcmp(a, "--tlp") && has) {
            o.tlp = argv[++i];
        } else if (!strcmp(a, "--date") && has) {
            if (!mh_cli_parse_date(argv[++i], &o.date)) {
                mh_cli_fail("--date: not a date: %s", argv[i]);
                goto out;
            }
        } else {
            mh_cli_fail("notify: unknown or incomplete option %s (see mailhound notify --help)", a);
            goto out;
        }
    }
    if (!scope || !nmail || !o.outdir) {
        mh_cli_fail("notify needs --scope, --mail and --out (see mailhound notify --help)");
        goto out;
    }

    /* organisation rules */
    struct mh_cli_orgs_opts oo = {tenant, over, nover, freemail, nfree, dnmap, ndn, internal, nint};
    if (mh_cli_orgs_load(&oo, &orgs)) goto out;

    /* the mail */
    struct mh_cli_bad bad = {.quiet = true};
    struct mh_mailstore_opts so = {mh_cli_on_bad, NULL, &bad, owner};
    if (mh_mailstore_new(&so, &store, &err)) {
        mh_cli_error("mail store", &err);
        goto out;
    }
    for (size_t i = 0; i < nmail; i++)
        if (mh_mailstore_add(store, mail[i], &err)) {
            mh_cli_error("--mail", &err);
            goto out;
        }
    if (mh_fs_read(scope, &sj, (size_t)4 << 30, &err)) {
        mh_cli_error("--scope", &err);
        goto out;
    }

    o.orgs = orgs;
    crash_setup(&o);
    struct mh_notify_stats s;
    mh_status st = mh_notify_run(&o, store, sj.data ? sj.data : "", sj.len, &s, mh_cli_notify_note,
                                 &notes, &err);
    if (st) {
        mh_cli_error("notify", &err);
        goto out;
    }
    printf("notify: %llu messages in scope (%llu not in the mail store, %llu unreadable)\n",
           (unsigned long long)s.messages, (unsigned long long)s.not_in_store,
           (unsigned long long)s.unreadable);
    printf("notify: %llu organisations; packages: %llu new, %llu unchanged, %llu rebuilt, "
           "%llu drifted\n",
           (unsigned long long)s.orgs, (unsigned long long)s.created, (unsigned long long)s.present,
           (unsigned long long)s.rewritten, (unsigned long long)s.drifted);
    printf("notify: %llu (organisation, message) pairs handed out now\n",
           (unsigned long long)s.new_messages);
    printf("notify: addresses skipped: %llu internal, %llu unresolved, %llu invalid\n",
           (unsigned long long)s.addr_internal, (unsigned long long)s.addr_unresolved,
           (unsigned long long)s.addr_invalid);
    if (s.scope_skipped || s.secrets_skipped) /* each also warned about, unless -q */
        printf("notify: input skipped as malformed: %llu scope.json messages, %llu secrets.jsonl "
               "lines\n",
               (unsigned long long)s.scope_skipped, (unsigned long long)s.secrets_skipped);
    if (s.opaque)
        printf("notify: %llu messages hold encoded embedded messages not checked for Bcc\n",
               (unsigned long long)s.opaque);
    if (o.certdir)
        printf("notify: %llu envelopes written, %llu organisations without a certificate\n",
               (unsigned long long)s.envelopes, (unsigned long long)s.no_certificate);
    printf("notify: %llu indicators in %s/indicators.stix.json (%llu invalid values left out)\n",
           (unsigned long long)s.indicators, o.outdir, (unsigned long long)s.indicators_skipped);
    if (crash_at) fprintf(stderr, "mailhound: test crash points: %lu\n", crash_count);
    rc = MH_EXIT_OK;
out:
    mh_buf_fini(&sj);
    mh_mailstore_free(store);
    mh_orgs_free(orgs);
    return rc;
}

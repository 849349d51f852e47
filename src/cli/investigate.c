/*
 * cli/investigate.c -- `mailhound investigate LOGS... --mail PATH... --out DIR`
 *
 * The whole answer to a mailbox compromise in one run (docs/investigate.md):
 *
 *   hunt     LOGS -> DIR/alerts.jsonl, DIR/incidents.json
 *            (the `hunt` command itself, called in-process with its options;
 *            skipped with --incidents FILE, which is copied instead: an
 *            analyst's edited incidents.json)
 *   select   incidents at --min-level (default high) or above, or the
 *            --incident ids (scope/scope.h opts.keep)
 *   scope    incidents + LOGS (+ --trace) + mail store -> DIR/scope.json
 *   secrets  the copies scope lists, in the mail store -> DIR/secrets.jsonl
 *            (secrets/mail.h with a per-copy filter: a message in the
 *            mailboxes scope took it from, so a finding names a mailbox
 *            the attacker read; redacted)
 *   notify   scope.json + mail store + secrets -> DIR/packages/,
 *            DIR/indicators.stix.json, the ledger (notify/run.h)
 *   summary  DIR/summary.md (summary.c), from the outputs above only
 *
 * The mail store is indexed once and shared by scope, secrets and notify.
 * Every stage is the library code its own command runs; the options are the
 * stages' own (hunt's -r, --no-builtin, --state, -j; scope's --owner,
 * --trace; secrets' --secrets-rules; notify's --tenant, --org-overrides,
 * --freemail, --ledger, --encrypt-to, --contact, --date ...). Nothing is
 * guessed from the layout of the input: a tenant.json is used only when
 * --tenant names it.
 *
 * Determinism: every output is a function of the inputs and options (no
 * clock, no absolute time); reruns give identical bytes. A rerun into the
 * same DIR reuses its ledger: packages already handed out stay as they are.
 *
 * Exit: 0 the run completed; 1 usage error, unreadable input (logs, mail,
 * rules; the run still completes what it can and says so), or an internal
 * error; 2 with --fail-on-incident when at least one incident was scoped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "cli/cli.h"
#include "cli/investigate.h"
#include "ingest/json.h"
#include "ingest/mailstore.h"
#include "notify/fs.h"
#include "notify/org.h"
#include "notify/run.h"
#include "rules/sigma.h"
#include "scope/scope.h"
#include "secrets/gitleaks.h"
#include "secrets/mail.h"
#include "secrets/scan.h"

#define MAX_VALUES 4096

static void usage(FILE *out)
{
    fputs("usage: mailhound investigate LOGS... --mail PATH... --out DIR [options]\n"
          "       mailhound investigate --help\n"
          "\n"
          "hunt -> scope -> secrets -> notify in one run. Writes to DIR:\n"
          "  alerts.jsonl, incidents.json   what hunt found (docs/hunt.md)\n"
          "  scope.json                     the messages taken (docs/scope.md)\n"
          "  secrets.jsonl                  secrets in those messages, redacted\n"
          "  packages/, indicators.stix.json, notify-ledger.db\n"
          "                                 one package per organisation (docs/notify.md)\n"
          "  summary.md                     incidents, mailboxes and messages taken,\n"
          "                                 secrets to rotate, organisations to notify,\n"
          "                                 what was skipped\n"
          "\n"
          "Which incidents are scoped: level high or above, or the --incident ids.\n"
          "\n"
          "Options:\n"
          "  --mail PATH          mail store: mbox, Maildir, MH, .eml, or a folder of\n"
          "                       mailboxes (repeatable; required)\n"
          "  --out DIR            output directory (required; created)\n"
          "  --min-level L        scope incidents at level L or above (informational,\n"
          "                       low, medium, high (default), critical)\n"
          "  --incident ID        scope this incident (repeatable; instead of --min-level)\n"
          "  --incidents FILE     take the incidents from FILE (an incidents.json, e.g.\n"
          "                       edited by an analyst) instead of hunting; no alerts.jsonl\n"
          " hunt:\n"
          "  -r RULES             more Sigma rules, file or folder (repeatable)\n"
          "  --no-builtin         do not load the built-in pack\n"
          "  --state FILE         the detectors' baselines (SQLite)\n"
          "  --detectors-config FILE  detector thresholds\n"
          "  -j N                 hunt worker threads\n"
          " scope:\n"
          "  --owner FILE         mailbox owners: \"<mailbox> <address>\" lines\n"
          "  --trace FILE         a message-trace export (same as giving it among LOGS)\n"
          " secrets:\n"
          "  --secrets-rules FILE gitleaks TOML rules (default: rules/secrets/default.toml;\n"
          "                       --secrets-config is the same)\n"
          " notify:\n"
          "  --tenant FILE        tenant.json: internal domains, partners, legacy DNs\n"
          "  --internal DOMAIN    one of our own domains (repeatable)\n"
          "  --org-overrides FILE \"<domain> <key|+N|freemail> [name]\" lines\n"
          "  --freemail FILE      more free-mail domains\n"
          "  --dn-map FILE        \"<legacy Exchange DN> <address>\" lines\n"
          "  --ledger FILE        notification ledger (default DIR/notify-ledger.db)\n"
          "  --encrypt-to CERTDIR CMS envelopes for organisations with CERTDIR/<org>.pem\n"
          "  --source-org NAME    who notifies (default: the scoped mailboxes' domain)\n"
          "  --contact EMAIL      contact address for the letters\n"
          "  --date DATE          Bagging-Date and STIX time (default: the latest\n"
          "                       last_seen of the scoped incidents)\n"
          "  --tlp LEVEL          white, green, amber (default) or red\n"
          "\n"
          "  --fail-on-incident   exit 2 when at least one incident was scoped\n"
          "  -q, --quiet          no per-record warnings (still counted in summary.md)\n"
          "  -h, --help           this text\n"
          "\n"
          "Exit status: 0 run completed, 1 usage or input error (what could be done\n"
          "is still written), 2 incidents scoped with --fail-on-incident.\n"
          "\n"
          "Example:\n"
          "  mailhound investigate logs/ --mail mail/ --tenant tenant.json --out case/\n",
          out);
}

/* A copy scope says was taken: Message-ID in a store mailbox (its name). */
struct inv_copy {
    const char *id, *box;
};

struct inv {
    /* options */
    const char *out, *incidents_in, *owner, *secrets_rules, *min_level_name;
    enum mh_level min_level;
    const char *logs[MAX_VALUES], *mail[MAX_VALUES], *ids[MAX_VALUES];
    size_t nlogs, nmail, nids;
    const char *hunt_args[MAX_VALUES]; /* hunt options passed through */
    size_t nhunt;
    const char *over[64], *freemail[64], *dnmap[64], *internal[256];
    size_t nover, nfree, ndn, nint;
    const char *tenant;
    struct mh_notify_opts no;
    bool quiet, fail_on_incident;
    /* state */
    bool *id_found;
    struct mh_cli_bad bad;   /* bad log records, failed files */
    uint64_t mail_bad;
    struct mh_arena arena;   /* secrets kept for the summary, scoped ids */
    struct mh_inv_secret *secs;
    size_t nsecs, capsecs;
    struct mh_buf secbuf;    /* secrets.jsonl */
    struct mh_inv_rule *rules; /* rule titles from alerts.jsonl */
    size_t nrules, caprules;
    struct inv_copy *taken;  /* the copies scope.json lists, sorted */
    size_t ntaken;
    const char **elsewhere;  /* listed ids stored only outside those, sorted */
    size_t nelsewhere;
    mh_status cb_st;
};

/* ---- small helpers ---- */

static bool path_in(char *out, size_t n, const char *dir, const char *name)
{
    int k = snprintf(out, n, "%s/%s", dir, name);
    if (k < 0 || (size_t)k >= n) {
        mh_cli_fail("investigate: path too long: %s/%s", dir, name);
        return false;
    }
    return true;
}

static bool write_file(const char *path, const struct mh_buf *b)
{
    mh_error err;
    mh_error_clear(&err);
    if (mh_fs_write(path, b->data ? b->data : "", b->len, false, &err)) {
        mh_cli_error("investigate", &err);
        return false;
    }
    return true;
}

static bool read_file(const char *path, struct mh_buf *b, size_t max)
{
    mh_error err;
    mh_error_clear(&err);
    if (mh_fs_read(path, b, max, &err)) {
        mh_cli_error("investigate", &err);
        return false;
    }
    return true;
}

static bool parse_json(struct mh_jdoc *d, const struct mh_buf *b, const char *what)
{
    mh_error err;
    mh_error_clear(&err);
    if (mh_json_parse(d, b->data ? b->data : "", b->len, &err)) {
        mh_error_at(&err, what, 0, 0, err.offset, 0);
        mh_cli_error("investigate", &err);
        return false;
    }
    return true;
}

/* ---- hunt ---- */

/* The hunt command itself, in-process, with the options that concern it. */
static int run_hunt(struct inv *v, const char *alerts, const char *incidents)
{
    size_t n = 0;
    const char **argv = mh_calloc(v->nhunt + v->nlogs + 16, sizeof *argv);
    if (!argv) return MH_EXIT_ERROR;
    argv[n++] = "hunt";
    argv[n++] = "--format";
    argv[n++] = "jsonl";
    argv[n++] = "-o";
    argv[n++] = alerts;
    argv[n++] = "--incidents";
    argv[n++] = incidents;
    if (v->quiet) argv[n++] = "-q";
    for (size_t i = 0; i < v->nhunt; i++) argv[n++] = v->hunt_args[i];
    argv[n++] = "--"; /* a log path may start with '-' */
    for (size_t i = 0; i < v->nlogs; i++) argv[n++] = v->logs[i];
    int rc = mh_cli_hunt((int)n, (char **)(uintptr_t)argv);
    mh_free(argv);
    return rc;
}

/* Rule titles for the summary: rule_id -> rule_title of alerts.jsonl
 * (sorted by id, unique). A line that is not an alert is ignored; a file
 * too large to read whole leaves the ids as they are. */
static int cmp_rule(const void *a, const void *b)
{
    const struct mh_inv_rule *x = a, *y = b;
    return strcmp(x->id, y->id);
}

static bool load_titles(struct inv *v, const char *path)
{
    struct mh_buf b;
    mh_buf_init(&b, (size_t)1 << 30);
    mh_error err;
    mh_error_clear(&err);
    if (mh_fs_read(path, &b, (size_t)1 << 30, &err)) {
        mh_buf_fini(&b);
        return true;
    }
    struct mh_jdoc d;
    mh_jdoc_init(&d, NULL);
    bool ok = true;
    const char *p = b.data, *end = b.data + b.len;
    while (ok && p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *line = p;
        p = nl ? nl + 1 : end;
        mh_error_clear(&err);
        if (mh_json_parse(&d, line, (size_t)(le - line), &err) || mh_json_type(&d, 0) != MH_JOBJ)
            continue;
        uint32_t id = mh_json_get(&d, 0, "rule_id", 7), ti = mh_json_get(&d, 0, "rule_title", 10);
        struct mh_slice si, st;
        if (id == MH_JNONE || ti == MH_JNONE || mh_json_type(&d, id) != MH_JSTR ||
            mh_json_type(&d, ti) != MH_JSTR || mh_json_str(&d, id, &v->arena, &si) ||
            mh_json_str(&d, ti, &v->arena, &st))
            continue;
        bool seen = false;
        for (size_t i = v->nrules; i-- > 0 && !seen;)
            seen = strlen(v->rules[i].id) == si.len && !memcmp(v->rules[i].id, si.ptr, si.len);
        if (seen) continue;
        if (MH_GROW(v->rules, v->caprules, v->nrules + 1, 64, SIZE_MAX) != MH_OK) {
            ok = false;
            break;
        }
        struct mh_inv_rule *r = &v->rules[v->nrules];
        r->id = mh_arena_strndup(&v->arena, si.ptr, si.len);
        r->title = mh_arena_strndup(&v->arena, st.ptr, st.len);
        if (!r->id || !r->title) ok = false;
        else v->nrules++;
    }
    mh_jdoc_fini(&d);
    mh_buf_fini(&b);
    if (ok && v->nrules) qsort(v->rules, v->nrules, sizeof *v->rules, cmp_rule);
    return ok;
}

/* ---- scope ---- */

static bool keep_incident(void *ctx, const struct mh_scope_incident *in)
{
    struct inv *v = ctx;
    if (v->nids) {
        for (size_t i = 0; i < v->nids; i++)
            if (in->id.len == strlen(v->ids[i]) && !memcmp(in->id.ptr, v->ids[i], in->id.len)) {
                v->id_found[i] = true;
                return true;
            }
        return false;
    }
    enum mh_level l = in->level.len ? mh_level_parse(in->level.ptr, in->level.len) : MH_LEVEL_NONE;
    return l != MH_LEVEL_NONE && l >= v->min_level;
}

static mh_status scope_sink(void *ctx, const char *p, size_t n)
{
    return mh_buf_append((struct mh_buf *)ctx, p, n);
}

/* Scope the selected incidents; scope.json text into sj. Returns false on
 * a fatal problem (reported). */
static bool run_scope(struct inv *v, const struct mh_buf *incidents, const mh_mailstore *store,
                      struct mh_buf *sj, struct mh_scope_stats *sst, struct mh_evstream_stats *est)
{
    struct mh_scope_opts so;
    mh_scope_opts_defaults(&so);
    so.keep = keep_incident;
    so.keep_ctx = v;
    so.store = store;
    struct mh_appset fp;
    bool have_fp = mh_cli_first_party(&fp);
    so.first_party = have_fp ? &fp : NULL;
    so.on_warn = mh_cli_on_warn; /* a record whose Folders does not parse */
    so.warn_ctx = &v->bad;
    v->bad.reported = !v->incidents_in; /* hunt read the same logs and said what was bad */
    mh_scope *sc = NULL;
    mh_evstream *es = NULL;
    bool ok = false;
    mh_error err;
    mh_error_clear(&err);
    if (mh_scope_new(&so, &sc)) {
        mh_cli_fail("investigate: scope: out of memory");
        goto out;
    }
    if (mh_scope_load_incidents(sc, incidents->data ? incidents->data : "", incidents->len, &err)) {
        mh_error_at(&err, "incidents.json", 0, 0, err.offset, 0);
        mh_cli_error("investigate: incidents", &err);
        goto out;
    }
    for (size_t i = 0; i < v->nids; i++)
        if (!v->id_found[i]) {
            mh_cli_fail("investigate: incident %s is not in incidents.json", v->ids[i]);
            goto out;
        }
    mh_status st = mh_cli_open_logs(&v->bad, v->logs, v->nlogs, &es);
    if (!st) st = mh_cli_scope_logs(sc, es);
    if (st) {
        mh_cli_fail("investigate: scope: reading the logs: %s", mh_status_str(st));
        goto out;
    }
    if (mh_scope_finish(sc)) {
        mh_cli_fail("investigate: scope: out of memory");
        goto out;
    }
    if ((st = mh_scope_write_json(sc, scope_sink, sj))) {
        mh_cli_fail("investigate: scope: %s", mh_status_str(st));
        goto out;
    }
    mh_scope_get_stats(sc, sst);
    mh_evstream_stats(es, est);
    ok = true;
out:
    mh_evstream_free(es);
    mh_scope_free(sc);
    if (have_fp) mh_appset_fini(&fp);
    return ok;
}

/* ---- secrets ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* d's string node n copied into the arena; *out NULL when n is not a
 * string. false: no memory. */
static bool json_dup(struct inv *v, const struct mh_jdoc *d, uint32_t n, const char **out)
{
    struct mh_slice s;
    *out = NULL;
    if (n == MH_JNONE || mh_json_type(d, n) != MH_JSTR) return true;
    if (mh_json_str(d, n, &v->arena, &s)) return false;
    *out = mh_arena_strndup(&v->arena, s.ptr, s.len);
    return *out != NULL;
}

/* The array member key of object o, MH_JNONE when absent or not an array. */
static uint32_t json_arr(const struct mh_jdoc *d, uint32_t o, const char *key)
{
    uint32_t a = mh_json_get(d, o, key, strlen(key));
    return a != MH_JNONE && mh_json_type(d, a) == MH_JARR ? a : MH_JNONE;
}

static size_t json_len(const struct mh_jdoc *d, uint32_t a)
{
    return a == MH_JNONE ? 0 : mh_json_node(d, a)->len;
}

static int cmp_copy(const void *a, const void *b)
{
    const struct inv_copy *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : strcmp(x->box, y->box);
}

static bool taken_copy(const struct inv *v, const char *id, const char *box)
{
    struct inv_copy k = {id, box};
    return v->ntaken && bsearch(&k, v->taken, v->ntaken, sizeof k, cmp_copy) != NULL;
}

/* The store holds id, but in none of the mailboxes scope took it from. */
static bool only_elsewhere(const struct inv *v, const mh_mailstore *store, const char *id)
{
    const struct mh_mail_msg *m = mh_mailstore_find(store, id, strlen(id));
    if (!m) return false; /* not in the store: nothing to scan */
    for (uint32_t k = m->first_loc; k != MH_MAIL_NONE;) {
        const struct mh_mail_loc *L = mh_mailstore_loc(store, k);
        if (taken_copy(v, id, mh_mailstore_mailbox(store, L->mailbox)->name)) return false;
        k = L->next;
    }
    return true;
}

/*
 * What secrets scans: the copies scope.json says were taken -- each
 * mailboxes[].messages[].message_id in each of that mailbox's
 * store_mailboxes (the store's names scope matched the address to) --
 * sorted and unique in v->taken. A listed id the store holds only in other
 * mailboxes (deleted from the victim's, or the victim's not exported) is
 * still scanned, in every copy (v->elsewhere, sorted): its content was
 * taken, and a secret in it must not go unreported.
 */
static bool collect_scoped(struct inv *v, const struct mh_jdoc *d, const mh_mailstore *store)
{
    uint32_t mbs = json_arr(d, 0, "mailboxes");
    if (mbs == MH_JNONE) return true;
    size_t nids = 0, ncopies = 0;
    for (uint32_t mb = mh_json_first(d, mbs); mb != MH_JNONE; mb = mh_json_next(d, mbs, mb)) {
        size_t nm = json_len(d, json_arr(d, mb, "messages"));
        nids += nm;
        ncopies += nm * json_len(d, json_arr(d, mb, "store_mailboxes"));
    }
    if (!nids) return true;
    const char **ids = mh_calloc(nids, sizeof *ids);
    v->taken = mh_calloc(ncopies ? ncopies : 1, sizeof *v->taken);
    v->elsewhere = ids;
    if (!ids || !v->taken) return false;
    size_t n = 0;
    for (uint32_t mb = mh_json_first(d, mbs); mb != MH_JNONE; mb = mh_json_next(d, mbs, mb)) {
        uint32_t ms = json_arr(d, mb, "messages"), sb = json_arr(d, mb, "store_mailboxes");
        if (ms == MH_JNONE) continue;
        size_t first = n;
        for (uint32_t m = mh_json_first(d, ms); m != MH_JNONE; m = mh_json_next(d, ms, m)) {
            if (!json_dup(v, d, mh_json_get(d, m, "message_id", 10), &ids[n])) return false;
            if (ids[n]) n++;
        }
        if (sb == MH_JNONE) continue;
        for (uint32_t b = mh_json_first(d, sb); b != MH_JNONE; b = mh_json_next(d, sb, b)) {
            const char *box;
            if (!json_dup(v, d, b, &box)) return false;
            if (!box) continue;
            for (size_t i = first; i < n; i++)
                v->taken[v->ntaken++] = (struct inv_copy){ids[i], box};
        }
    }
    qsort(v->taken, v->ntaken, sizeof *v->taken, cmp_copy);
    size_t k = 0;
    for (size_t i = 0; i < v->ntaken; i++)
        if (!k || cmp_copy(&v->taken[k - 1], &v->taken[i])) v->taken[k++] = v->taken[i];
    v->ntaken = k;
    qsort(ids, n, sizeof *ids, cmp_str);
    k = 0;
    for (size_t i = 0; i < n; i++)
        if ((!i || strcmp(ids[i - 1], ids[i])) && only_elsewhere(v, store, ids[i])) ids[k++] = ids[i];
    v->nelsewhere = k;
    return true;
}

static bool want_copy(void *ctx, const struct mh_mail_msg *m, const struct mh_mailbox *mb)
{
    struct inv *v = ctx;
    const char *id = m->message_id;
    return taken_copy(v, id, mb->name) ||
           (v->nelsewhere &&
            bsearch(&id, v->elsewhere, v->nelsewhere, sizeof id, cmp_str) != NULL);
}

static char *keep_str(struct inv *v, const char *s, size_t n)
{
    return s ? mh_arena_strndup(&v->arena, s, n) : NULL;
}

static mh_status on_secret(void *ctx, const struct mh_secrets_place *p)
{
    struct inv *v = ctx;
    MH_TRY(mh_secrets_place_json(p, &v->secbuf));
    if (MH_GROW(v->secs, v->capsecs, v->nsecs + 1, 64, SIZE_MAX) != MH_OK) return MH_ENOMEM;
    struct mh_inv_secret *s = &v->secs[v->nsecs];
    s->rule = keep_str(v, p->rule, strlen(p->rule));
    s->secret = keep_str(v, p->secret, p->secret_len);
    s->fingerprint = keep_str(v, p->fingerprint, strlen(p->fingerprint));
    s->message_id = p->message_id ? keep_str(v, p->message_id, strlen(p->message_id)) : "";
    s->mailbox = p->mailbox ? keep_str(v, p->mailbox, strlen(p->mailbox)) : "";
    s->generic = p->generic;
    if (!s->rule || !s->secret || !s->fingerprint || !s->message_id || !s->mailbox) return MH_ENOMEM;
    v->nsecs++;
    return MH_OK;
}

/* An unreadable copy counts in bad.files (exit 1), as an unreadable log. */
static void on_secret_malformed(void *ctx, const mh_error *err)
{
    struct inv *v = ctx;
    mh_cli_on_message(&v->bad, err);
}

static const char *data_dir(void)
{
    const char *d = getenv("MAILHOUND_DATA");
    return d && *d ? d : MH_DATA_DIR;
}

/* Scan the scoped messages; fills v->secbuf / v->secs. */
static bool run_secrets(struct inv *v, const mh_mailstore *store, struct mh_secrets_mail_stats *out)
{
    struct mh_gl_config *cfg = NULL;
    struct mh_secrets_engine *eng = NULL;
    mh_secrets_scanner *sc = NULL;
    bool ok = false;
    mh_error err;
    mh_error_clear(&err);
    char def[4096];
    snprintf(def, sizeof def, "%s/rules/secrets/default.toml", data_dir());
    struct mh_gl_load_opts lo = {def, NULL};
    if (mh_gl_load_file(v->secrets_rules ? v->secrets_rules : def, &lo, &cfg, &err)) {
        mh_cli_error("cannot load the secret rules", &err);
        goto out;
    }
    const char *const *warns;
    size_t nw = mh_gl_config_warnings(cfg, &warns);
    for (size_t i = 0; i < nw && !v->quiet; i++) fprintf(stderr, "mailhound: warning: %s\n", warns[i]);
    if (mh_secrets_compile(cfg, 0, &eng, NULL, &err)) {
        mh_cli_error("cannot compile the secret rules", &err);
        goto out;
    }
    struct mh_secrets_mail_opts mo = {eng, false, want_copy, on_secret, on_secret_malformed, v};
    if (mh_secrets_scanner_new(&mo, &sc, &err)) {
        mh_cli_error("investigate: secrets", &err);
        goto out;
    }
    mh_status st = mh_secrets_scan_store(sc, store);
    if (st) {
        mh_cli_fail("investigate: secrets: %s", mh_status_str(st));
        goto out;
    }
    *out = *mh_secrets_scanner_stats(sc);
    ok = true;
out:
    mh_secrets_scanner_free(sc);
    mh_secrets_engine_free(eng);
    mh_gl_free(cfg);
    return ok;
}

/* ---- options ---- */

#define ADD(arr, n, cap, val)                                                                      \
    do {                                                                                           \
        if ((n) >= (cap)) {                                                                        \
            mh_cli_fail("investigate: too many values for %s", a);                                \
            return false;                                                                          \
        }                                                                                          \
        (arr)[(n)++] = (val);                                                                      \
    } while (0)

static bool parse_args(struct inv *v, int argc, char **argv, bool *help)
{
    bool rest = false; /* after "--": every word is a LOGS path */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!rest && !strcmp(a, "--")) {
            rest = true;
        } else if (!rest && mh_cli_is_help(a)) {
            *help = true;
            return true;
        } else if (rest || a[0] != '-' || !a[1]) {
            ADD(v->logs, v->nlogs, MAX_VALUES, a);
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            v->quiet = true;
        } else if (!strcmp(a, "--fail-on-incident")) {
            v->fail_on_incident = true;
        } else if (!strcmp(a, "--no-builtin")) {
            ADD(v->hunt_args, v->nhunt, MAX_VALUES, a);
        } else if (!has) {
            mh_cli_fail("investigate: unknown or incomplete option %s (see mailhound investigate "
                        "--help)",
                        a);
            return false;
        } else if (!strcmp(a, "--mail")) {
            ADD(v->mail, v->nmail, MAX_VALUES, argv[++i]);
        } else if (!strcmp(a, "--out")) {
            v->out = argv[++i];
        } else if (!strcmp(a, "--min-level")) {
            v->min_level_name = argv[++i];
            v->min_level = mh_level_parse(argv[i], strlen(argv[i]));
            if (v->min_level == MH_LEVEL_NONE) {
                mh_cli_fail("investigate: unknown level '%s'", argv[i]);
                return false;
            }
        } else if (!strcmp(a, "--incident")) {
            ADD(v->ids, v->nids, MAX_VALUES, argv[++i]);
        } else if (!strcmp(a, "--incidents")) {
            v->incidents_in = argv[++i];
        } else if (!strcmp(a, "-r") || !strcmp(a, "--state") || !strcmp(a, "--detectors-config") ||
                   !strcmp(a, "-j")) {
            ADD(v->hunt_args, v->nhunt, MAX_VALUES - 1, a);
            ADD(v->hunt_args, v->nhunt, MAX_VALUES, argv[++i]);
        } else if (!strcmp(a, "--owner")) {
            v->owner = argv[++i];
        } else if (!strcmp(a, "--trace")) {
            ADD(v->logs, v->nlogs, MAX_VALUES, argv[++i]);
        } else if (!strcmp(a, "--secrets-rules") || !strcmp(a, "--secrets-config")) {
            v->secrets_rules = argv[++i];
        } else if (!strcmp(a, "--tenant")) {
            v->tenant = argv[++i];
        } else if (!strcmp(a, "--internal")) {
            ADD(v->internal, v->nint, 256, argv[++i]);
        } else if (!strcmp(a, "--org-overrides")) {
            ADD(v->over, v->nover, 64, argv[++i]);
        } else if (!strcmp(a, "--freemail")) {
            ADD(v->freemail, v->nfree, 64, argv[++i]);
        } else if (!strcmp(a, "--dn-map")) {
            ADD(v->dnmap, v->ndn, 64, argv[++i]);
        } else if (!strcmp(a, "--ledger")) {
            v->no.ledger = argv[++i];
        } else if (!strcmp(a, "--encrypt-to")) {
            v->no.certdir = argv[++i];
        } else if (!strcmp(a, "--source-org")) {
            v->no.source_org = argv[++i];
        } else if (!strcmp(a, "--contact")) {
            v->no.contact = argv[++i];
        } else if (!strcmp(a, "--tlp")) {
            v->no.tlp = argv[++i];
        } else if (!strcmp(a, "--date")) {
            if (!mh_cli_parse_date(argv[++i], &v->no.date)) {
                mh_cli_fail("investigate: --date: not a date: %s", argv[i]);
                return false;
            }
        } else {
            mh_cli_fail("investigate: unknown option %s (see mailhound investigate --help)", a);
            return false;
        }
    }
    if (!v->nlogs || !v->nmail || !v->out) {
        mh_cli_fail("investigate needs LOGS, --mail and --out (see mailhound investigate --help)");
        return false;
    }
    if (v->nids && v->min_level_name) {
        mh_cli_fail("investigate: --incident and --min-level exclude each other");
        return false;
    }
    /* hunt and scope each read LOGS: standard input would reach hunt only,
       and scope would silently see no record */
    for (size_t i = 0; i < v->nlogs && !v->incidents_in; i++)
        if (!strcmp(v->logs[i], "-")) {
            mh_cli_fail("investigate: LOGS are read twice (hunt, then scope): standard input "
                        "cannot be one (save it to a file, or give --incidents FILE)");
            return false;
        }
    if (v->incidents_in && v->nhunt) {
        mh_cli_fail("investigate: hunt options (-r, --no-builtin, --state, --detectors-config, -j) "
                    "do nothing with --incidents FILE");
        return false;
    }
    return true;
}

#undef ADD

/* ---- the run ---- */

int mh_cli_investigate(int argc, char **argv)
{
    int rc = MH_EXIT_ERROR;
    struct inv *v = mh_calloc(1, sizeof *v);
    if (!v) {
        mh_cli_fail("investigate: out of memory");
        return MH_EXIT_ERROR;
    }
    v->min_level = MH_LEVEL_HIGH;
    v->no.date = MH_TIME_NONE;
    mh_arena_init(&v->arena, 1u << 16, (size_t)1 << 32);
    mh_buf_init(&v->secbuf, (size_t)1 << 32);
    struct mh_buf incj, scj, csv, sum;
    mh_buf_init(&incj, (size_t)MH_SCOPE_MAX_INCIDENTS_BYTES);
    mh_buf_init(&scj, (size_t)4 << 30);
    mh_buf_init(&csv, (size_t)1 << 30);
    mh_buf_init(&sum, (size_t)1 << 30);
    struct mh_jdoc incd, scd;
    mh_jdoc_init(&incd, NULL);
    mh_jdoc_init(&scd, NULL);
    mh_mailstore *store = NULL;
    mh_orgs *orgs = NULL;
    struct mh_inv_summary s;
    memset(&s, 0, sizeof s);
    struct mh_secrets_mail_stats sec;
    memset(&sec, 0, sizeof sec);
    mh_error err;
    mh_error_clear(&err);
    char p_alerts[4096], p_inc[4096], p_scope[4096], p_sec[4096], p_csv[4096], p_sum[4096];
    bool help = false;

    if (!parse_args(v, argc, argv, &help)) goto out;
    if (help) {
        usage(stdout);
        rc = MH_EXIT_OK;
        goto out;
    }
    v->bad.quiet = v->quiet;
    if (v->nids && !(v->id_found = mh_calloc(v->nids, sizeof *v->id_found))) goto oom;
    if (!path_in(p_alerts, sizeof p_alerts, v->out, "alerts.jsonl") ||
        !path_in(p_inc, sizeof p_inc, v->out, "incidents.json") ||
        !path_in(p_scope, sizeof p_scope, v->out, "scope.json") ||
        !path_in(p_sec, sizeof p_sec, v->out, "secrets.jsonl") ||
        !path_in(p_csv, sizeof p_csv, v->out, "packages/index.csv") ||
        !path_in(p_sum, sizeof p_sum, v->out, "summary.md"))
        goto out;
    if (mh_fs_mkdirs(v->out, &err)) {
        mh_cli_error("investigate: --out", &err);
        goto out;
    }
    /* the analyst's incidents before anything is removed: FILE may be
       DIR/incidents.json itself, edited in place */
    if (v->incidents_in && !read_file(v->incidents_in, &incj, MH_SCOPE_MAX_INCIDENTS_BYTES))
        goto out;
    /* outputs of an earlier run must not pass for this run's, whichever
       step this one stops at (the ledger and packages/ stay: reused) */
    const char *const stale[] = {p_alerts, p_inc, p_scope, p_sec, p_sum};
    for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++) remove(stale[i]);

    /* 1. hunt (or the analyst's incidents) */
    int hunt_rc = 0;
    if (v->incidents_in) {
        if (!write_file(p_inc, &incj)) goto out;
    } else {
        hunt_rc = run_hunt(v, p_alerts, p_inc);
        if (hunt_rc != MH_EXIT_OK && hunt_rc != MH_EXIT_ALERT) {
            if (!mh_fs_exists(p_inc)) {
                mh_cli_fail("investigate: hunt failed; nothing investigated");
                goto out;
            }
            hunt_rc = MH_EXIT_ERROR; /* some input was unreadable: go on with the rest */
        } else {
            hunt_rc = MH_EXIT_OK;
        }
        if (!read_file(p_inc, &incj, MH_SCOPE_MAX_INCIDENTS_BYTES)) goto out;
    }
    if (!parse_json(&incd, &incj, v->incidents_in ? v->incidents_in : p_inc)) goto out;

    /* 2. the mail store, once for scope, secrets and notify */
    struct mh_cli_bad mailbad = {.quiet = v->quiet};
    struct mh_mailstore_opts mo = {mh_cli_on_bad, NULL, &mailbad, v->owner};
    if (mh_mailstore_new(&mo, &store, &err)) {
        mh_cli_error("investigate: mail store", &err);
        goto out;
    }
    for (size_t i = 0; i < v->nmail; i++)
        if (mh_mailstore_add(store, v->mail[i], &err)) {
            mh_cli_error("investigate: --mail", &err);
            goto out;
        }

    /* 3. scope */
    if (!run_scope(v, &incj, store, &scj, &s.scoped, &s.logs)) goto out;
    if (!write_file(p_scope, &scj) || !parse_json(&scd, &scj, p_scope)) goto out;

    /* 4. secrets in the messages taken */
    if (!collect_scoped(v, &scd, store)) goto oom;
    if (!run_secrets(v, store, &sec)) goto out;
    if (!write_file(p_sec, &v->secbuf)) goto out;

    /* 5. notify */
    if (s.scoped.incidents == 0) {
        s.notify_skipped = "no incident was scoped";
    } else {
        struct mh_cli_orgs_opts oo = {v->tenant,   v->over, v->nover,    v->freemail, v->nfree,
                                      v->dnmap,    v->ndn,  v->internal, v->nint};
        if (mh_cli_orgs_load(&oo, &orgs)) goto out;
        v->no.outdir = v->out;
        v->no.secrets_path = p_sec;
        v->no.orgs = orgs;
        struct mh_cli_notes notes = {v->quiet, 0};
        if (mh_notify_run(&v->no, store, scj.data ? scj.data : "", scj.len, &s.notify,
                          mh_cli_notify_note, &notes, &err)) {
            mh_cli_error("investigate: notify", &err);
            goto out;
        }
        s.notified = true;
        if (!read_file(p_csv, &csv, (size_t)1 << 30)) goto out;
        s.index_csv = csv.data ? csv.data : "";
        s.index_len = csv.len;
    }

    /* 6. summary.md */
    s.min_level = v->nids ? NULL : mh_level_name(v->min_level);
    s.ids = v->ids;
    s.nids = v->nids;
    s.hunted = !v->incidents_in;
    s.hunt_rc = hunt_rc;
    s.incidents = &incd;
    s.scope = &scd;
    s.secrets = v->secs;
    s.nsecrets = v->nsecs;
    if (!v->incidents_in && !load_titles(v, p_alerts)) goto oom;
    s.rules = v->rules;
    s.nrules = v->nrules;
    s.mail = mh_mailstore_stats(store);
    s.mail_bad = mailbad.records + mailbad.files;
    s.sec = &sec;
    mh_status st = mh_inv_summary_render(&s, &sum);
    if (st) {
        mh_cli_fail("investigate: summary: %s", mh_status_str(st));
        goto out;
    }
    if (!write_file(p_sum, &sum)) goto out;

    /* what a person sees */
    uint64_t orgs_n = 0;
    for (size_t i = 0; i < csv.len; i++) orgs_n += csv.data[i] == '\n';
    printf("investigate: %zu incidents, %llu scoped; %llu messages taken (%llu distinct) in %llu "
           "mailboxes; %zu secret findings; %llu organisations to notify\n",
           (size_t)(mh_json_get(&incd, 0, "incidents", 9) != MH_JNONE
                        ? mh_json_node(&incd, mh_json_get(&incd, 0, "incidents", 9))->len
                        : 0),
           (unsigned long long)s.scoped.incidents, (unsigned long long)s.scoped.messages,
           (unsigned long long)s.scoped.distinct_messages, (unsigned long long)s.scoped.mailboxes,
           v->nsecs, (unsigned long long)(orgs_n ? orgs_n - 1 : 0));
    if (s.notified)
        printf("investigate: packages: %llu new, %llu unchanged, %llu rebuilt, %llu drifted; %llu "
               "(organisation, message) pairs handed out now\n",
               (unsigned long long)s.notify.created, (unsigned long long)s.notify.present,
               (unsigned long long)s.notify.rewritten, (unsigned long long)s.notify.drifted,
               (unsigned long long)s.notify.new_messages);
    printf("investigate: %s\n", p_sum);
    bool input_errors = hunt_rc || v->bad.files || mailbad.files || sec.unreadable;
    rc = input_errors                                      ? MH_EXIT_ERROR
         : v->fail_on_incident && s.scoped.incidents > 0 ? MH_EXIT_ALERT
                                                         : MH_EXIT_OK;
    goto out;
oom:
    mh_cli_fail("investigate: out of memory");
    rc = MH_EXIT_ERROR;
out:
    mh_orgs_free(orgs);
    mh_mailstore_free(store);
    mh_jdoc_fini(&scd);
    mh_jdoc_fini(&incd);
    mh_buf_fini(&sum);
    mh_buf_fini(&csv);
    mh_buf_fini(&scj);
    mh_buf_fini(&incj);
    mh_buf_fini(&v->secbuf);
    mh_arena_fini(&v->arena);
    mh_free(v->secs);
    mh_free(v->rules);
    mh_free(v->elsewhere);
    mh_free(v->taken);
    mh_free(v->id_found);
    mh_free(v);
    return rc;
}

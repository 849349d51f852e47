/*
 * cli/summary.c -- summary.md of `mailhound investigate` (investigate.h)
 *
 * One Markdown page a person reads first (docs/investigate.md §3):
 *
 *   # mailhound investigation
 *   what was read, which incidents were scoped and why
 *   ## Incidents          the hunt table (ID LEVEL SCORE FIRST SEEN LAST SEEN
 *                         STEPS SCOPED KEY ENTITIES), then one paragraph per
 *                         scoped incident: window, entities, the steps in
 *                         order, what scope found in its context
 *   ## Mailboxes and messages taken   totals by confidence, the app-wide
 *                         results (one line per incident and app), then the
 *                         mailboxes (most messages first; the first
 *                         MAX_MAILBOX_ROWS, the rest counted)
 *   ## Secrets to rotate  one row per distinct secret (rule, fingerprint):
 *                         redacted secret, message(s), mailbox(es)
 *   ## Organisations to notify   packages/index.csv: key, kind, messages,
 *                         secrets
 *   ## Skipped or unverifiable   incidents not scoped, bad records, files
 *                         that are not logs, messages the store lacks,
 *                         throttled (unaudited) windows, unparseable Folders,
 *                         addresses not resolved, limits reached
 *
 * Everything comes from the output documents and the stage counters, in
 * their own order or sorted here by byte order: no clock, no absolute
 * times, no paths beyond those the outputs hold. Values are put in code
 * spans (Message-IDs hold '<' and '>'); a '|' inside a table cell is
 * escaped. Full secrets never reach this file: the scanner redacts them.
 */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/time.h"
#include "cli/investigate.h"

#define MAX_MAILBOX_ROWS 30
#define MAX_LIST 3 /* entities named per list in the table */
#define MAX_STORY_LIST 5

struct ctx {
    const struct mh_inv_summary *s;
    struct mh_buf *o;
    struct mh_arena a;
};

/* ---- JSON helpers ---- */

static uint32_t get(const struct mh_jdoc *d, uint32_t o, const char *k)
{
    if (o == MH_JNONE || mh_json_type(d, o) != MH_JOBJ) return MH_JNONE;
    return mh_json_get(d, o, k, strlen(k));
}

static uint32_t get_arr(const struct mh_jdoc *d, uint32_t o, const char *k)
{
    uint32_t v = get(d, o, k);
    return v != MH_JNONE && mh_json_type(d, v) == MH_JARR ? v : MH_JNONE;
}

static size_t arr_len(const struct mh_jdoc *d, uint32_t a)
{
    return a == MH_JNONE ? 0 : mh_json_node(d, a)->len;
}

/* String value of node i ("" when absent or not a string). */
static const char *str_at(struct ctx *c, const struct mh_jdoc *d, uint32_t i)
{
    struct mh_slice s;
    if (i == MH_JNONE || mh_json_type(d, i) != MH_JSTR || mh_json_str(d, i, &c->a, &s)) return "";
    char *p = mh_arena_strndup(&c->a, s.ptr, s.len);
    return p ? p : "";
}

static const char *str_of(struct ctx *c, const struct mh_jdoc *d, uint32_t o, const char *k)
{
    return str_at(c, d, get(d, o, k));
}

static int64_t int_of(const struct mh_jdoc *d, uint32_t o, const char *k)
{
    int64_t v = 0;
    uint32_t i = get(d, o, k);
    if (i == MH_JNONE || mh_json_type(d, i) != MH_JNUM || mh_json_int(d, i, &v)) return 0;
    return v;
}

/* ---- Markdown helpers ---- */

/* A table cell / inline text: '|' escaped, line breaks as spaces. */
static mh_status cell(struct mh_buf *o, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') MH_TRY(mh_buf_puts(o, "\\|"));
        else if (*s == '\n' || *s == '\r') MH_TRY(mh_buf_putc(o, ' '));
        else MH_TRY(mh_buf_putc(o, *s));
    }
    return MH_OK;
}

/* `value` (a code span; a backtick inside becomes ') */
static mh_status code(struct mh_buf *o, const char *s)
{
    MH_TRY(mh_buf_putc(o, '`'));
    for (; *s; s++) {
        char ch = *s == '`' ? '\'' : (*s == '\n' || *s == '\r') ? ' ' : *s;
        if (ch == '|') MH_TRY(mh_buf_puts(o, "\\|"));
        else MH_TRY(mh_buf_putc(o, ch));
    }
    return mh_buf_putc(o, '`');
}

/* The first n strings of array a, joined by sep, "(+k)" for the rest. */
static mh_status list(struct ctx *c, const struct mh_jdoc *d, uint32_t a, size_t n, const char *sep)
{
    size_t i = 0, total = arr_len(d, a);
    for (uint32_t e = a == MH_JNONE ? MH_JNONE : mh_json_first(d, a); e != MH_JNONE && i < n;
         e = mh_json_next(d, a, e), i++) {
        if (i) MH_TRY(mh_buf_puts(c->o, sep));
        MH_TRY(cell(c->o, str_at(c, d, e)));
    }
    if (total > n) MH_TRY(mh_buf_printf(c->o, " (+%zu)", total - n));
    return MH_OK;
}

/* ---- incidents ---- */

/* Incident id's node in scope.json, MH_JNONE when scope did not keep it.
 * Compared in place: called for every incident in several sections. */
static uint32_t scope_incident(struct ctx *c, const char *id)
{
    const struct mh_jdoc *d = c->s->scope;
    uint32_t incs = d->n ? get_arr(d, 0, "incidents") : MH_JNONE;
    if (incs == MH_JNONE) return MH_JNONE;
    size_t n = strlen(id);
    for (uint32_t i = mh_json_first(d, incs); i != MH_JNONE; i = mh_json_next(d, incs, i))
        if (mh_json_str_eq(d, get(d, i, "id"), id, n)) return i;
    return MH_JNONE;
}

static bool scoped(struct ctx *c, const char *id)
{
    return scope_incident(c, id) != MH_JNONE;
}

/* A time of the incidents document in whole seconds, as hunt's table shows
 * it ("" when absent or unparseable). */
static const char *time_sec(struct ctx *c, const struct mh_jdoc *d, uint32_t o, const char *k,
                            char out[32])
{
    const char *s = str_of(c, d, o, k);
    mh_time t;
    if (mh_time_parse(s, strlen(s), &t) != MH_OK) t = MH_TIME_NONE;
    mh_time_format_sec(t, out);
    return out;
}

static mh_status incident_row(struct ctx *c, uint32_t in)
{
    const struct mh_jdoc *d = c->s->incidents;
    const char *id = str_of(c, d, in, "id");
    uint32_t ent = get(d, in, "entities");
    char t0[32], t1[32];
    MH_TRY(mh_buf_printf(c->o, "%-20s  %-8s  %5lld  %-20s  %-20s  %5zu  %-6s  ", id,
                         str_of(c, d, in, "level"), (long long)int_of(d, in, "score"),
                         time_sec(c, d, in, "first_seen", t0), time_sec(c, d, in, "last_seen", t1),
                         arr_len(d, get_arr(d, in, "steps")), scoped(c, id) ? "yes" : "no"));
    static const char *const lists[][2] = {{"users", "users"}, {"ips", "ips"}, {"apps", "apps"}};
    bool first = true;
    for (size_t l = 0; l < 3; l++) {
        uint32_t a = get_arr(d, ent, lists[l][0]);
        if (!arr_len(d, a)) continue;
        MH_TRY(mh_buf_printf(c->o, "%s%s ", first ? "" : "; ", lists[l][1]));
        MH_TRY(list(c, d, a, l == 2 ? 2 : MAX_LIST, ","));
        first = false;
    }
    return mh_buf_putc(c->o, '\n');
}

/* (mailbox, message) pairs of scope.json with evidence of incident id, and
 * the mailboxes they are in. */
static void taken_by(struct ctx *c, const char *id, size_t *pairs, size_t *mailboxes)
{
    const struct mh_jdoc *d = c->s->scope;
    *pairs = *mailboxes = 0;
    uint32_t mbs = d->n ? get_arr(d, 0, "mailboxes") : MH_JNONE;
    if (mbs == MH_JNONE) return;
    size_t idlen = strlen(id);
    for (uint32_t mb = mh_json_first(d, mbs); mb != MH_JNONE; mb = mh_json_next(d, mbs, mb)) {
        uint32_t ms = get_arr(d, mb, "messages");
        size_t here = 0;
        for (uint32_t m = ms == MH_JNONE ? MH_JNONE : mh_json_first(d, ms); m != MH_JNONE;
             m = mh_json_next(d, ms, m)) {
            uint32_t ev = get_arr(d, m, "evidence");
            for (uint32_t e = ev == MH_JNONE ? MH_JNONE : mh_json_first(d, ev); e != MH_JNONE;
                 e = mh_json_next(d, ev, e)) {
                uint32_t v = get(d, e, "incident");
                if (v != MH_JNONE && mh_json_str_eq(d, v, id, idlen)) {
                    here++;
                    break;
                }
            }
        }
        *pairs += here;
        *mailboxes += here > 0;
    }
}

static int cmp_id(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const struct mh_inv_rule *)elem)->id);
}

/* A rule's title from alerts.jsonl, else its id. */
static const char *title(struct ctx *c, const char *rule_id)
{
    const struct mh_inv_rule *r =
        c->s->nrules ? bsearch(rule_id, c->s->rules, c->s->nrules, sizeof *c->s->rules, cmp_id)
                     : NULL;
    return r ? r->title : rule_id;
}

static mh_status story(struct ctx *c, uint32_t in)
{
    static const char *const nouns[][3] = {
        {"users", "user", "users"},          {"ips", "IP address", "IP addresses"},
        {"apps", "application", "applications"}, {"sessions", "session", "sessions"},
        {"tokens", "token", "tokens"},       {"mailboxes", "mailbox", "mailboxes"}};
    const struct mh_jdoc *d = c->s->incidents;
    const char *id = str_of(c, d, in, "id");
    uint32_t ent = get(d, in, "entities"), steps = get_arr(d, in, "steps");
    size_t nsteps = arr_len(d, steps);
    MH_TRY(mh_buf_printf(c->o, "### %s (%s, score %lld)\n\nBetween %s and %s, %zu kind%s of alert",
                         id, str_of(c, d, in, "level"), (long long)int_of(d, in, "score"),
                         str_of(c, d, in, "first_seen"), str_of(c, d, in, "last_seen"), nsteps,
                         nsteps == 1 ? "" : "s"));
    int total = 0, parts = 0;
    for (size_t l = 0; l < 6; l++) total += arr_len(d, get_arr(d, ent, nouns[l][0])) > 0;
    for (size_t l = 0; l < 6; l++) {
        uint32_t a = get_arr(d, ent, nouns[l][0]);
        size_t n = arr_len(d, a);
        if (!n) continue;
        const char *sep = parts == 0 ? " involving " : (parts + 1 == total) ? " and " : ", ";
        MH_TRY(mh_buf_printf(c->o, "%s%zu %s", sep, n, nouns[l][n == 1 ? 1 : 2]));
        if (l != 4) { /* token ids say nothing to a reader */
            MH_TRY(mh_buf_puts(c->o, " ("));
            MH_TRY(list(c, d, a, MAX_STORY_LIST, ", "));
            MH_TRY(mh_buf_putc(c->o, ')'));
        }
        parts++;
    }
    MH_TRY(mh_buf_puts(c->o, ". What happened, in order:"));
    size_t k = 0;
    for (uint32_t s = steps == MH_JNONE ? MH_JNONE : mh_json_first(d, steps); s != MH_JNONE;
         s = mh_json_next(d, steps, s), k++) {
        MH_TRY(mh_buf_printf(c->o, "%s %s ", k ? ";" : "", str_of(c, d, s, "time")));
        MH_TRY(cell(c->o, title(c, str_of(c, d, s, "alert"))));
        MH_TRY(mh_buf_printf(c->o, " (%s)", str_of(c, d, s, "detection")));
    }
    MH_TRY(mh_buf_puts(c->o, "."));
    const struct mh_jdoc *sd = c->s->scope;
    uint32_t si = scope_incident(c, id);
    if (si != MH_JNONE) {
        size_t pairs, mbs;
        taken_by(c, id, &pairs, &mbs);
        MH_TRY(mh_buf_printf(c->o, " Scope: %lld log records in its attacker context",
                             (long long)int_of(sd, si, "records")));
        uint32_t bm = get(sd, si, "by_match");
        if (bm != MH_JNONE && mh_json_type(sd, bm) == MH_JOBJ && mh_json_node(sd, bm)->len) {
            MH_TRY(mh_buf_puts(c->o, " (by "));
            size_t j = 0;
            for (uint32_t kk = mh_json_first(sd, bm); kk != MH_JNONE;
                 kk = mh_json_next(sd, bm, kk + 1), j++) {
                MH_TRY(mh_buf_printf(c->o, "%s%s ", j ? ", " : "", str_at(c, sd, kk)));
                int64_t n = 0;
                if (mh_json_type(sd, kk + 1) == MH_JNUM && mh_json_int(sd, kk + 1, &n)) n = 0;
                MH_TRY(mh_buf_printf(c->o, "%lld", (long long)n));
            }
            MH_TRY(mh_buf_putc(c->o, ')'));
        }
        MH_TRY(mh_buf_printf(c->o, "; %zu message%s taken from %zu mailbox%s.", pairs,
                             pairs == 1 ? "" : "s", mbs, mbs == 1 ? "" : "es"));
    }
    return mh_buf_puts(c->o, "\n\n");
}

static mh_status incidents(struct ctx *c, size_t *nall, size_t *nscoped)
{
    const struct mh_jdoc *d = c->s->incidents;
    uint32_t incs = d->n ? get_arr(d, 0, "incidents") : MH_JNONE;
    size_t n = arr_len(d, incs), k = 0;
    for (uint32_t i = n ? mh_json_first(d, incs) : MH_JNONE; i != MH_JNONE; i = mh_json_next(d, incs, i))
        k += scoped(c, str_of(c, d, i, "id"));
    *nall = n;
    *nscoped = k;
    MH_TRY(mh_buf_printf(c->o, "## Incidents (%zu, %zu scoped)\n\n", n, k));
    if (!n) return mh_buf_puts(c->o, "None.\n\n");
    MH_TRY(mh_buf_printf(c->o, "```\n%-20s  %-8s  %5s  %-20s  %-20s  %5s  %-6s  %s\n", "ID", "LEVEL",
                         "SCORE", "FIRST SEEN", "LAST SEEN", "STEPS", "SCOPED", "KEY ENTITIES"));
    for (uint32_t i = mh_json_first(d, incs); i != MH_JNONE; i = mh_json_next(d, incs, i))
        MH_TRY(incident_row(c, i));
    MH_TRY(mh_buf_puts(c->o, "```\n\n"));
    for (uint32_t i = mh_json_first(d, incs); i != MH_JNONE; i = mh_json_next(d, incs, i))
        if (scoped(c, str_of(c, d, i, "id"))) MH_TRY(story(c, i));
    return MH_OK;
}

/* ---- mailboxes ---- */

struct mbrow {
    const char *name;
    size_t n, by[3], missing;
};

static int cmp_mb(const void *a, const void *b)
{
    const struct mbrow *x = a, *y = b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* scope.json app_wide: apps that could read every mailbox (docs/scope.md §3). */
static mh_status app_wide(struct ctx *c)
{
    const struct mh_jdoc *d = c->s->scope;
    uint32_t aw = d->n ? get_arr(d, 0, "app_wide") : MH_JNONE;
    if (!arr_len(d, aw)) return MH_OK;
    MH_TRY(mh_buf_puts(c->o, "App-wide access: an app held a permission that reads every "
                             "mailbox; the mailboxes it could have read without an audit "
                             "record are listed, not their messages (scope.json app_wide).\n\n"));
    for (uint32_t e = mh_json_first(d, aw); e != MH_JNONE; e = mh_json_next(d, aw, e)) {
        uint32_t un = get_arr(d, e, "unaudited");
        MH_TRY(mh_buf_puts(c->o, "- app-wide: app "));
        MH_TRY(code(c->o, str_of(c, d, e, "app")));
        MH_TRY(mh_buf_printf(c->o, " held %s from %s (incident ", str_of(c, d, e, "permission"),
                             str_of(c, d, e, "granted")));
        MH_TRY(code(c->o, str_of(c, d, e, "incident")));
        MH_TRY(mh_buf_printf(c->o,
                             "): %zu mailboxes touched, %zu audited without a hit, %zu "
                             "potentially accessed (unaudited)",
                             arr_len(d, get_arr(d, e, "touched")),
                             arr_len(d, get_arr(d, e, "audited")), arr_len(d, un)));
        if (arr_len(d, un)) {
            MH_TRY(mh_buf_puts(c->o, ": "));
            MH_TRY(list(c, d, un, MAX_STORY_LIST, ", "));
        }
        MH_TRY(mh_buf_putc(c->o, '\n'));
    }
    return mh_buf_putc(c->o, '\n');
}

static mh_status mailboxes(struct ctx *c)
{
    const struct mh_scope_stats *t = &c->s->scoped;
    const struct mh_jdoc *d = c->s->scope;
    MH_TRY(mh_buf_printf(c->o,
                         "## Mailboxes and messages taken\n\n"
                         "%llu messages (%llu distinct) in %llu mailboxes: %llu observed, "
                         "%llu inferred-sync, %llu inferred-throttle; %llu not in the mail store "
                         "(%llu of them found in the message trace).\n\n",
                         (unsigned long long)t->messages, (unsigned long long)t->distinct_messages,
                         (unsigned long long)t->mailboxes, (unsigned long long)t->by_confidence[0],
                         (unsigned long long)t->by_confidence[1],
                         (unsigned long long)t->by_confidence[2], (unsigned long long)t->not_in_store,
                         (unsigned long long)t->trace_joined));
    MH_TRY(app_wide(c));
    uint32_t mbs = d->n ? get_arr(d, 0, "mailboxes") : MH_JNONE;
    size_t n = arr_len(d, mbs);
    if (!n) return MH_OK;
    struct mbrow *rows = mh_arena_alloc(&c->a, n * sizeof *rows);
    if (!rows) return MH_ENOMEM;
    size_t k = 0;
    static const char *const conf[3] = {"observed", "inferred-sync", "inferred-throttle"};
    for (uint32_t mb = mh_json_first(d, mbs); mb != MH_JNONE; mb = mh_json_next(d, mbs, mb)) {
        struct mbrow *r = &rows[k++];
        memset(r, 0, sizeof *r);
        r->name = str_of(c, d, mb, "mailbox");
        uint32_t ms = get_arr(d, mb, "messages");
        for (uint32_t m = ms == MH_JNONE ? MH_JNONE : mh_json_first(d, ms); m != MH_JNONE;
             m = mh_json_next(d, ms, m)) {
            r->n++;
            uint32_t cv = get(d, m, "confidence");
            for (int j = 0; j < 3; j++)
                if (cv != MH_JNONE && mh_json_str_eq(d, cv, conf[j], strlen(conf[j]))) r->by[j]++;
            uint32_t is = get(d, m, "in_store");
            if (is != MH_JNONE && mh_json_type(d, is) == MH_JFALSE) r->missing++;
        }
    }
    qsort(rows, k, sizeof *rows, cmp_mb);
    MH_TRY(mh_buf_puts(c->o, "| mailbox | messages | observed | inferred-sync | inferred-throttle "
                             "| not in store |\n|---|---:|---:|---:|---:|---:|\n"));
    size_t shown = 0, rest = 0, rest_msgs = 0;
    for (size_t i = 0; i < k; i++) {
        if (!rows[i].n) continue;
        if (shown == MAX_MAILBOX_ROWS) {
            rest++;
            rest_msgs += rows[i].n;
            continue;
        }
        shown++;
        MH_TRY(mh_buf_puts(c->o, "| "));
        MH_TRY(cell(c->o, rows[i].name));
        MH_TRY(mh_buf_printf(c->o, " | %zu | %zu | %zu | %zu | %zu |\n", rows[i].n, rows[i].by[0],
                             rows[i].by[1], rows[i].by[2], rows[i].missing));
    }
    if (rest)
        MH_TRY(mh_buf_printf(c->o, "\n...and %zu more mailboxes with %zu messages (scope.json "
                                   "lists them all).\n",
                             rest, rest_msgs));
    return mh_buf_putc(c->o, '\n');
}

/* ---- secrets ---- */

static int cmp_sec(const void *a, const void *b)
{
    const struct mh_inv_secret *x = *(const struct mh_inv_secret *const *)a,
                               *y = *(const struct mh_inv_secret *const *)b;
    int r = strcmp(x->rule, y->rule);
    if (!r) r = strcmp(x->fingerprint, y->fingerprint);
    if (!r) r = strcmp(x->message_id, y->message_id);
    if (!r) r = strcmp(x->mailbox, y->mailbox);
    return r;
}

static mh_status secrets(struct ctx *c)
{
    size_t n = c->s->nsecrets;
    const struct mh_inv_secret **v = n ? mh_arena_alloc(&c->a, n * sizeof *v) : NULL;
    if (n && !v) return MH_ENOMEM;
    for (size_t i = 0; i < n; i++) v[i] = &c->s->secrets[i];
    if (n) qsort(v, n, sizeof *v, cmp_sec);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        distinct += !i || strcmp(v[i]->rule, v[i - 1]->rule) ||
                    strcmp(v[i]->fingerprint, v[i - 1]->fingerprint);
    MH_TRY(mh_buf_printf(c->o, "## Secrets to rotate (%zu)\n\n", distinct));
    if (!distinct)
        return mh_buf_puts(c->o, "None found in the messages taken (secrets.jsonl is empty).\n\n");
    MH_TRY(mh_buf_printf(c->o,
                         "%zu findings in the messages taken (secrets.jsonl); one row per secret, "
                         "shown redacted (the fingerprint is its SHA-256).\n\n"
                         "| rule | secret | fingerprint | message | mailbox |\n|---|---|---|---|---|\n",
                         n));
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && !strcmp(v[j]->rule, v[i]->rule) &&
               !strcmp(v[j]->fingerprint, v[i]->fingerprint))
            j++;
        /* distinct messages and mailboxes of this secret */
        size_t nmsg = 0, nmb = 0;
        for (size_t k = i; k < j; k++) {
            bool seen_m = false, seen_b = false;
            for (size_t q = i; q < k; q++) {
                seen_m |= !strcmp(v[q]->message_id, v[k]->message_id);
                seen_b |= !strcmp(v[q]->mailbox, v[k]->mailbox);
            }
            nmsg += !seen_m;
            nmb += !seen_b;
        }
        MH_TRY(mh_buf_printf(c->o, "| %s%s | ", v[i]->rule, v[i]->generic ? " (generic)" : ""));
        MH_TRY(code(c->o, v[i]->secret));
        MH_TRY(mh_buf_printf(c->o, " | %.12s | ", v[i]->fingerprint));
        MH_TRY(code(c->o, v[i]->message_id));
        if (nmsg > 1) MH_TRY(mh_buf_printf(c->o, " (+%zu)", nmsg - 1));
        MH_TRY(mh_buf_puts(c->o, " | "));
        MH_TRY(cell(c->o, v[i]->mailbox));
        if (nmb > 1) MH_TRY(mh_buf_printf(c->o, " (+%zu)", nmb - 1));
        MH_TRY(mh_buf_puts(c->o, " |\n"));
        i = j;
    }
    return mh_buf_putc(c->o, '\n');
}

/* ---- organisations ---- */

/* Next CSV field of line [*p, end): quotes undone into the arena. */
static const char *csv_field(struct ctx *c, const char **p, const char *end)
{
    const char *s = *p;
    if (s < end && *s == '"') {
        struct mh_buf f;
        mh_buf_init(&f, 1u << 20);
        for (s++; s < end; s++) {
            if (*s == '"' && s + 1 < end && s[1] == '"') s++;
            else if (*s == '"') {
                s++;
                break;
            }
            if (mh_buf_putc(&f, *s)) break;
        }
        const char *r = mh_arena_strndup(&c->a, f.data ? f.data : "", f.len);
        mh_buf_fini(&f);
        while (s < end && *s != ',') s++;
        *p = s < end ? s + 1 : end;
        return r ? r : "";
    }
    const char *e = s;
    while (e < end && *e != ',') e++;
    *p = e < end ? e + 1 : end;
    const char *r = mh_arena_strndup(&c->a, s, (size_t)(e - s));
    return r ? r : "";
}

static mh_status organisations(struct ctx *c)
{
    const struct mh_inv_summary *s = c->s;
    if (!s->notified) {
        return mh_buf_printf(c->o, "## Organisations to notify\n\nNotify did not run: %s.\n\n",
                             s->notify_skipped ? s->notify_skipped : "not requested");
    }
    const char *p = s->index_csv, *end = s->index_csv + s->index_len;
    size_t n = 0;
    for (const char *q = p; q < end; q++) n += *q == '\n';
    n = n ? n - 1 : 0; /* header */
    MH_TRY(mh_buf_printf(c->o,
                         "## Organisations to notify (%zu)\n\n"
                         "One package each in packages/<organisation>/ (packages/index.csv; "
                         "totals from the ledger), the indicators in indicators.stix.json.\n\n",
                         n));
    if (!n) return mh_buf_puts(c->o, "None.\n\n");
    MH_TRY(mh_buf_puts(c->o, "| organisation | kind | messages | secrets |\n|---|---|---:|---:|\n"));
    bool header = true;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (le > p && le[-1] == '\r') le--;
        if (header) {
            header = false;
        } else if (le > p) {
            const char *q = p;
            const char *org = csv_field(c, &q, le), *kind = csv_field(c, &q, le);
            const char *msgs = csv_field(c, &q, le), *secs = csv_field(c, &q, le);
            MH_TRY(mh_buf_puts(c->o, "| "));
            MH_TRY(cell(c->o, org));
            MH_TRY(mh_buf_puts(c->o, " | "));
            MH_TRY(cell(c->o, kind));
            MH_TRY(mh_buf_puts(c->o, " | "));
            MH_TRY(cell(c->o, msgs));
            MH_TRY(mh_buf_puts(c->o, " | "));
            MH_TRY(cell(c->o, secs));
            MH_TRY(mh_buf_puts(c->o, " |\n"));
        }
        p = nl ? nl + 1 : end;
    }
    MH_TRY(mh_buf_putc(c->o, '\n'));
    return MH_OK;
}

/* ---- skipped ---- */

/* "- N text" when n > 0. */
static mh_status item(struct ctx *c, const char *text, unsigned long long n, bool *any)
{
    if (!n) return MH_OK;
    *any = true;
    MH_TRY(mh_buf_printf(c->o, "- %llu ", n));
    return mh_buf_puts(c->o, text);
}

static mh_status skipped(struct ctx *c, size_t nall, size_t nscoped)
{
    const struct mh_inv_summary *s = c->s;
    bool any = false;
    MH_TRY(mh_buf_puts(c->o, "## Skipped or unverifiable\n\n"));
    if (nall > nscoped) {
        any = true;
        MH_TRY(mh_buf_printf(c->o, "- %zu incidents not scoped (%s): ", nall - nscoped,
                             s->nids ? "not named by --incident" : "below the level"));
        const struct mh_jdoc *d = s->incidents;
        uint32_t incs = get_arr(d, 0, "incidents");
        size_t k = 0;
        for (uint32_t i = mh_json_first(d, incs); i != MH_JNONE; i = mh_json_next(d, incs, i)) {
            const char *id = str_of(c, d, i, "id");
            if (scoped(c, id)) continue;
            if (k == 10) {
                MH_TRY(mh_buf_printf(c->o, " (+%zu)", nall - nscoped - k));
                break;
            }
            MH_TRY(mh_buf_printf(c->o, "%s%s %s", k ? ", " : "", id, str_of(c, d, i, "level")));
            k++;
        }
        MH_TRY(mh_buf_puts(c->o, "\n"));
    }
    if (!s->hunted) {
        any = true;
        MH_TRY(mh_buf_puts(c->o, "- hunt did not run: the incidents came from --incidents "
                                 "(no alerts.jsonl)\n"));
    }
    if (s->hunt_rc) {
        any = true;
        MH_TRY(mh_buf_puts(c->o, "- hunt reported unreadable input (see its messages)\n"));
    }
    MH_TRY(item(c, "log records skipped as bad input (reported with file, record and byte "
                   "offset)\n",
                (unsigned long long)s->logs.skipped, &any));
    MH_TRY(item(c, "log files could not be read\n",
                (unsigned long long)s->logs.ingest.files_failed, &any));
    MH_TRY(item(c, "files in a log folder are not logs (skipped)\n",
                (unsigned long long)s->logs.ingest.files_not_logs, &any));
    MH_TRY(item(c, "events without a usable time (never matched to a window)\n",
                (unsigned long long)s->logs.no_time, &any));
    MH_TRY(item(c, "messages taken that the mail store lacks: not scanned for secrets, "
                   "not shipped\n",
                (unsigned long long)s->scoped.not_in_store, &any));
    MH_TRY(item(c, "messages inferred from throttled (unaudited) windows: cannot be "
                   "verified from the logs\n",
                (unsigned long long)s->scoped.by_confidence[2], &any));
    MH_TRY(item(c, "in-context Bind records list fewer items than they count (partial)\n",
                (unsigned long long)s->scoped.partial, &any));
    MH_TRY(item(c, "candidate mailbox records whose Folders text does not parse: their "
                   "items unknown\n",
                (unsigned long long)s->scoped.bad_folders, &any));
    MH_TRY(item(c, "mailboxes potentially accessed by an app holding an app-wide permission, "
                   "without an audit record (scope.json app_wide)\n",
                (unsigned long long)s->scoped.unaudited_mailboxes, &any));
    MH_TRY(item(c, "scope entries dropped at a limit (docs/scope.md)\n",
                (unsigned long long)s->scoped.dropped, &any));
    MH_TRY(item(c, "mail store problems (malformed or unreadable messages, files)\n",
                (unsigned long long)s->mail_bad, &any));
    if (s->sec) {
        MH_TRY(item(c, "messages scanned for secrets were malformed (scanned as far as "
                       "readable)\n",
                    (unsigned long long)s->sec->malformed, &any));
        MH_TRY(item(c, "copies could not be read for the secret scan\n",
                    (unsigned long long)s->sec->unreadable, &any));
    }
    if (s->notified) {
        const struct mh_notify_stats *t = &s->notify;
        MH_TRY(item(c, "messages not shipped: not in the mail store\n",
                    (unsigned long long)t->not_in_store, &any));
        MH_TRY(item(c, "messages not shipped: unreadable\n", (unsigned long long)t->unreadable,
                    &any));
        MH_TRY(item(c, "legacy Exchange addresses not resolved (--dn-map, --tenant)\n",
                    (unsigned long long)t->addr_unresolved, &any));
        MH_TRY(item(c, "invalid addresses\n", (unsigned long long)t->addr_invalid, &any));
        MH_TRY(item(c, "messages hold embedded messages not checkable for Bcc\n",
                    (unsigned long long)t->opaque, &any));
        MH_TRY(item(c, "packages drifted from the ledger (not reproducible from these "
                       "inputs)\n",
                    (unsigned long long)t->drifted, &any));
        MH_TRY(item(c, "organisations without a certificate (not encrypted)\n",
                    (unsigned long long)t->no_certificate, &any));
        MH_TRY(item(c, "indicator values left out as invalid\n",
                    (unsigned long long)t->indicators_skipped, &any));
        MH_TRY(item(c, "scope.json messages skipped by notify (malformed)\n",
                    (unsigned long long)t->scope_skipped, &any));
        MH_TRY(item(c, "secrets.jsonl lines skipped by notify (malformed)\n",
                    (unsigned long long)t->secrets_skipped, &any));
    }
    if (!any) MH_TRY(mh_buf_puts(c->o, "Nothing.\n"));
    return MH_OK;
}

mh_status mh_inv_summary_render(const struct mh_inv_summary *s, struct mh_buf *out)
{
    struct ctx c;
    c.s = s;
    c.o = out;
    mh_arena_init(&c.a, 1u << 16, (size_t)1 << 32);
    mh_status st = mh_buf_puts(out, "# mailhound investigation\n\n");
    if (!st)
        st = mh_buf_printf(out,
                           "Read %llu log records (%llu skipped as bad input) from %llu files; "
                           "%llu messages (%llu distinct) in %zu mail files.\n",
                           (unsigned long long)s->logs.records, (unsigned long long)s->logs.skipped,
                           (unsigned long long)s->logs.ingest.files,
                           (unsigned long long)(s->mail ? s->mail->locations : 0),
                           (unsigned long long)(s->mail ? s->mail->distinct : 0),
                           (size_t)(s->mail ? s->mail->mail_files : 0));
    if (!st && s->nids) {
        st = mh_buf_puts(out, "Scoped: the incidents named with --incident (");
        for (size_t i = 0; i < s->nids && !st; i++) {
            if (i) st = mh_buf_puts(out, ", ");
            if (!st) st = cell(out, s->ids[i]);
        }
        if (!st) st = mh_buf_puts(out, ").\n\n");
    } else if (!st) {
        st = mh_buf_printf(out, "Scoped: incidents at level %s or above.\n\n",
                           s->min_level ? s->min_level : "high");
    }
    size_t nall = 0, nscoped = 0;
    if (!st) st = incidents(&c, &nall, &nscoped);
    if (!st) st = mailboxes(&c);
    if (!st) st = secrets(&c);
    if (!st) st = organisations(&c);
    if (!st) st = skipped(&c, nall, nscoped);
    mh_arena_fini(&c.a);
    return st;
}

/*
 * rules/multimatch.c -- Hyperscan adapter (see multimatch.h)
 *
 * Pipeline: rules (compile) -> match (prefilter scan over raw records).
 *
 * Data model: a database holds up to two Hyperscan block-mode databases, one
 * for regex patterns (hs_compile_multi) and one for literals
 * (hs_compile_lit_multi). The Hyperscan id of a pattern is its index in the
 * caller's array; the callback maps it back to the caller's id, and for
 * literals computes the exact start offset (end - length).
 *
 * Invariants: a database is immutable after mh_mm_compile; the scratch was
 * grown with hs_alloc_scratch for every internal database the caller scans.
 *
 * Ownership: the database owns its id/length tables and both Hyperscan
 * databases. Hyperscan's allocator is the allocation seam (set once).
 *
 * Threading: databases are shared read-only; one scratch per thread.
 */
#include "rules/multimatch.h"

#include <hs.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "base/alloc.h"
#include "mailhound/limits.h"

struct mh_mm_db {
    hs_database_t *re_db;  /* NULL when there is no regex pattern */
    hs_database_t *lit_db; /* NULL when there is no literal pattern */
    unsigned *ids;         /* caller id by pattern index */
    uint32_t *litlen;      /* literal length by pattern index (0 for a regex) */
    size_t n;
};

struct mh_mm_scratch {
    hs_scratch_t *hs; /* NULL until a database with patterns is seen */
};

struct scan_ctx {
    const struct mh_mm_db *db;
    mh_mm_match_fn fn;
    void *ctx;
};

static pthread_once_t alloc_once = PTHREAD_ONCE_INIT;

static void *seam_alloc(size_t n)
{
    return mh_malloc(n);
}

static void seam_free(void *p)
{
    mh_free(p);
}

static void set_allocator(void)
{
    (void)hs_set_allocator(seam_alloc, seam_free);
}

static unsigned hs_flags(unsigned f, bool literal)
{
    unsigned h = 0;
    if (f & MH_MM_CASELESS) h |= HS_FLAG_CASELESS;
    if (f & MH_MM_SINGLEMATCH) h |= HS_FLAG_SINGLEMATCH;
    if (f & MH_MM_SOM) h |= HS_FLAG_SOM_LEFTMOST;
    if (literal) return h;
    if (f & MH_MM_DOTALL) h |= HS_FLAG_DOTALL;
    if (f & MH_MM_MULTILINE) h |= HS_FLAG_MULTILINE;
    if (f & MH_MM_PREFILTER) h |= HS_FLAG_PREFILTER;
    if (f & MH_MM_UTF8) h |= HS_FLAG_UTF8;
    return h;
}

/* Copy a regex into a NUL-terminated string, writing NUL bytes as \x00. */
static char *copy_regex(const char *p, size_t n)
{
    size_t nul = 0;
    for (size_t i = 0; i < n; i++) nul += p[i] == '\0';
    if (nul > (SIZE_MAX - n - 1) / 4) return NULL;
    char *d = mh_malloc(n + nul * 3 + 1), *w = d;
    if (!d) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\0') {
            memcpy(w, "\\x00", 4);
            w += 4;
        } else {
            *w++ = p[i];
        }
    }
    *w = '\0';
    return d;
}

static mh_status map_compile_error(hs_error_t rc, hs_compile_error_t *ce, const size_t *sub,
                                   size_t nsub, size_t *bad_index, mh_error *err)
{
    mh_status st;
    const char *msg = ce && ce->message ? ce->message : "unknown error";
    if (rc == HS_NOMEM || (ce && ce->expression < 0 && strstr(msg, "memory")))
        st = mh_error_set(err, MH_ENOMEM, "out of memory", "hyperscan: %s", msg);
    else if (ce && ce->expression >= 0 && (size_t)ce->expression < nsub) {
        if (bad_index) *bad_index = sub[ce->expression];
        st = mh_error_set(err, MH_EUNSUPPORTED, "pattern rejected by Hyperscan", "%s", msg);
    } else
        st = mh_error_set(err, MH_EINVAL, "Hyperscan compile failed", "%s", msg);
    hs_free_compile_error(ce);
    return st;
}

mh_status mh_mm_compile(const struct mh_mm_pattern *pats, size_t n, struct mh_mm_db **out,
                        size_t *bad_index, mh_error *err)
{
    mh_status st = MH_OK;
    struct mh_mm_db *db = NULL;
    const char **exprs = NULL;
    char **owned = NULL;
    unsigned *flags = NULL, *hids = NULL;
    size_t *lens = NULL, *sub = NULL;
    size_t nre = 0, nlit = 0;

    if (!out || (n && !pats)) return mh_error_set(err, MH_EINVAL, "bad argument", "%s", "mm");
    if (n > MH_MM_MAX_PATTERNS || n > UINT_MAX)
        return mh_error_set(err, MH_ELIMIT, "too many patterns", "%zu (limit %u)", n,
                            (unsigned)MH_MM_MAX_PATTERNS);
    (void)pthread_once(&alloc_once, set_allocator);

    db = mh_calloc(1, sizeof *db);
    if (!db) MH_CHECK(mh_error_set(err, MH_ENOMEM, "out of memory", "%s", "mm db"));
    db->n = n;
    if (n == 0) goto done;
    db->ids = mh_calloc(n, sizeof *db->ids);
    db->litlen = mh_calloc(n, sizeof *db->litlen);
    exprs = mh_calloc(n, sizeof *exprs);
    owned = mh_calloc(n, sizeof *owned);
    flags = mh_calloc(n, sizeof *flags);
    hids = mh_calloc(n, sizeof *hids);
    lens = mh_calloc(n, sizeof *lens);
    sub = mh_calloc(n, sizeof *sub);
    if (!db->ids || !db->litlen || !exprs || !owned || !flags || !hids || !lens || !sub)
        MH_CHECK(mh_error_set(err, MH_ENOMEM, "out of memory", "%s", "mm tables"));
    for (size_t i = 0; i < n; i++) {
        if (!pats[i].expr && pats[i].len) {
            if (bad_index) *bad_index = i;
            MH_CHECK(mh_error_set(err, MH_EINVAL, "bad argument", "pattern %zu has no text", i));
        }
        /* Hyperscan 5.4 crashes on an empty literal: reject it here. */
        if ((pats[i].flags & MH_MM_LITERAL) && pats[i].len == 0) {
            if (bad_index) *bad_index = i;
            MH_CHECK(mh_error_set(err, MH_EUNSUPPORTED, "pattern rejected by Hyperscan",
                                  "pattern %zu is an empty literal", i));
        }
        if ((pats[i].flags & MH_MM_LITERAL) && pats[i].len > UINT32_MAX) {
            if (bad_index) *bad_index = i;
            MH_CHECK(mh_error_set(err, MH_ELIMIT, "literal too long", "pattern %zu", i));
        }
        db->ids[i] = pats[i].id;
        db->litlen[i] = (pats[i].flags & MH_MM_LITERAL) ? (uint32_t)pats[i].len : 0;
    }

    /* Regex database. */
    for (size_t i = 0; i < n; i++) {
        if (pats[i].flags & MH_MM_LITERAL) continue;
        owned[nre] = copy_regex(pats[i].expr ? pats[i].expr : "", pats[i].len);
        if (!owned[nre]) MH_CHECK(mh_error_set(err, MH_ENOMEM, "out of memory", "%s", "regex"));
        exprs[nre] = owned[nre];
        flags[nre] = hs_flags(pats[i].flags, false);
        hids[nre] = (unsigned)i;
        sub[nre] = i;
        nre++;
    }
    if (nre) {
        hs_compile_error_t *ce = NULL;
        hs_error_t rc = hs_compile_multi(exprs, flags, hids, (unsigned)nre, HS_MODE_BLOCK, NULL,
                                         &db->re_db, &ce);
        if (rc != HS_SUCCESS) MH_CHECK(map_compile_error(rc, ce, sub, nre, bad_index, err));
    }

    /* Literal database. */
    for (size_t i = 0; i < n; i++) {
        if (!(pats[i].flags & MH_MM_LITERAL)) continue;
        exprs[nlit] = pats[i].expr ? pats[i].expr : "";
        lens[nlit] = pats[i].len;
        flags[nlit] = hs_flags(pats[i].flags, true);
        hids[nlit] = (unsigned)i;
        sub[nlit] = i;
        nlit++;
    }
    if (nlit) {
        hs_compile_error_t *ce = NULL;
        hs_error_t rc = hs_compile_lit_multi(exprs, flags, hids, lens, (unsigned)nlit,
                                             HS_MODE_BLOCK, NULL, &db->lit_db, &ce);
        if (rc != HS_SUCCESS) MH_CHECK(map_compile_error(rc, ce, sub, nlit, bad_index, err));
    }
done:
    *out = db;
    db = NULL;
out:
    if (owned)
        for (size_t i = 0; i < nre; i++) mh_free(owned[i]);
    mh_free(sub);
    mh_free(lens);
    mh_free(hids);
    mh_free(flags);
    mh_free(owned);
    mh_free(exprs);
    mh_mm_free(db);
    return st;
}

void mh_mm_free(struct mh_mm_db *db)
{
    if (!db) return;
    hs_free_database(db->re_db);
    hs_free_database(db->lit_db);
    mh_free(db->litlen);
    mh_free(db->ids);
    mh_free(db);
}

size_t mh_mm_count(const struct mh_mm_db *db)
{
    return db ? db->n : 0;
}

size_t mh_mm_bytes(const struct mh_mm_db *db)
{
    size_t total = 0, sz = 0;
    if (!db) return 0;
    if (db->re_db && hs_database_size(db->re_db, &sz) == HS_SUCCESS) total += sz;
    if (db->lit_db && hs_database_size(db->lit_db, &sz) == HS_SUCCESS) total += sz;
    return total;
}

mh_status mh_mm_scratch_alloc(const struct mh_mm_db *db, struct mh_mm_scratch **s)
{
    if (!db || !s) return MH_EINVAL;
    (void)pthread_once(&alloc_once, set_allocator);
    struct mh_mm_scratch *sc = *s;
    bool fresh = false;
    if (!sc) {
        sc = mh_calloc(1, sizeof *sc);
        if (!sc) return MH_ENOMEM;
        fresh = true;
    }
    const hs_database_t *dbs[2] = {db->re_db, db->lit_db};
    for (int i = 0; i < 2; i++) {
        if (!dbs[i]) continue;
        hs_scratch_t *hs = sc->hs;
        hs_error_t rc = hs_alloc_scratch(dbs[i], &hs);
        if (rc != HS_SUCCESS) {
            if (fresh) mh_mm_scratch_free(sc);
            return rc == HS_NOMEM ? MH_ENOMEM : MH_EINVAL;
        }
        sc->hs = hs;
    }
    *s = sc;
    return MH_OK;
}

void mh_mm_scratch_free(struct mh_mm_scratch *s)
{
    if (!s) return;
    if (s->hs) hs_free_scratch(s->hs);
    mh_free(s);
}

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
                    unsigned int flags, void *p)
{
    (void)flags;
    const struct scan_ctx *c = p;
    uint32_t ll = c->db->litlen[id];
    if (ll) from = to - ll;
    return c->fn(c->ctx, c->db->ids[id], from, to);
}

mh_status mh_mm_scan(const struct mh_mm_db *db, struct mh_mm_scratch *s, const char *data,
                     size_t n, mh_mm_match_fn fn, void *ctx)
{
    if (!db || !fn || (!data && n)) return MH_EINVAL;
    if (!db->re_db && !db->lit_db) return MH_OK;
    if (!s || !s->hs) return MH_EINVAL;
    if (n > UINT_MAX) return MH_ELIMIT;
    struct scan_ctx c = {db, fn, ctx};
    const hs_database_t *dbs[2] = {db->re_db, db->lit_db};
    for (int i = 0; i < 2; i++) {
        if (!dbs[i]) continue;
        hs_error_t rc = hs_scan(dbs[i], data ? data : "", (unsigned)n, 0, s->hs, on_match, &c);
        if (rc == HS_SCAN_TERMINATED) return MH_OK;
        if (rc == HS_SCRATCH_IN_USE || rc == HS_INVALID || rc == HS_BAD_ALIGN) return MH_EINVAL;
        if (rc == HS_NOMEM) return MH_ENOMEM;
        if (rc != HS_SUCCESS) return MH_EINVAL;
    }
    return MH_OK;
}

/*
 * rules/multimatch.h -- the Hyperscan adapter: block-mode multi-pattern scanning
 *
 * Pipeline: rules (compile a database) -> match (prefilter scan). Only
 * multimatch.c includes hs.h. A database (mh_mm_db) is immutable after
 * compile and shared by threads; each thread owns an mh_mm_scratch (grown to
 * fit every database it scans) and passes it to mh_mm_scan.
 *
 * Patterns carry a caller id (reported on each match, need not be unique or
 * dense) and MH_MM_* flags. Literal patterns (MH_MM_LITERAL) are raw bytes
 * (NUL allowed) compiled with hs_compile_lit_multi into a second internal
 * database; a scan runs both. Literals honour only CASELESS, SINGLEMATCH and
 * SOM (the other flags have no meaning for a literal and are ignored).
 * Regex patterns are PCRE-syntax byte strings (a NUL byte is passed as \x00).
 *
 * Limits: at most MH_MM_MAX_PATTERNS patterns; a scanned buffer must be
 * shorter than 4 GiB (Hyperscan's block length is 32-bit): MH_ELIMIT.
 *
 * Memory: Hyperscan's allocator is set (once, process-wide) to the
 * allocation seam, so failure injection reaches it and gives MH_ENOMEM.
 *
 * Example:
 *   struct mh_mm_pattern p[] = {{"Inbox", 5, 7, MH_MM_LITERAL | MH_MM_CASELESS},
 *                               {"a[0-9]+z", 8, 9, 0}};
 *   mh_mm_compile(p, 2, &db, &bad, &err); mh_mm_scratch_alloc(db, &s);
 *   mh_mm_scan(db, s, "x INBOX a12z", 12, cb, ctx);  // cb(ctx, 7, 0, 7), cb(ctx, 9, 0, 12)
 */
#ifndef MH_RULES_MULTIMATCH_H
#define MH_RULES_MULTIMATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailhound/status.h"

#define MH_MM_LITERAL 1u      /* expr is a literal byte string (hs_compile_lit_multi) */
#define MH_MM_CASELESS 2u
#define MH_MM_DOTALL 4u
#define MH_MM_MULTILINE 8u
#define MH_MM_SINGLEMATCH 16u
#define MH_MM_SOM 32u       /* report start of match (leftmost) */
#define MH_MM_PREFILTER 64u /* HS_FLAG_PREFILTER: superset matching for regexes Hyperscan cannot do exactly */
#define MH_MM_UTF8 128u

struct mh_mm_pattern {
    const char *expr;
    size_t len;
    unsigned id;
    unsigned flags;
};

struct mh_mm_db;
struct mh_mm_scratch;

/*
 * Compile n patterns (n may be 0: a database that never matches). Literal and
 * regex patterns may be mixed. On a pattern Hyperscan rejects: MH_EUNSUPPORTED
 * with *bad_index = its index in pats (so the caller can retry it with
 * MH_MM_PREFILTER or route it to PCRE2) and Hyperscan's message in
 * err->detail. Also MH_ENOMEM, MH_ELIMIT (too many patterns), MH_EINVAL.
 * bad_index may be NULL. *out untouched on failure.
 */
MH_MUST_CHECK mh_status mh_mm_compile(const struct mh_mm_pattern *pats, size_t n,
                                      struct mh_mm_db **out, size_t *bad_index, mh_error *err);
/* Release a database; NULL is a no-op. */
void mh_mm_free(struct mh_mm_db *db);
/* Number of patterns compiled into db. */
size_t mh_mm_count(const struct mh_mm_db *db);
/* Bytes used by the compiled database(s) (for `rules explain`). */
size_t mh_mm_bytes(const struct mh_mm_db *db);

/* Allocate or grow (*s may be non-NULL) a scratch good for db; one per thread. */
MH_MUST_CHECK mh_status mh_mm_scratch_alloc(const struct mh_mm_db *db, struct mh_mm_scratch **s);
/* Release a scratch; NULL is a no-op. */
void mh_mm_scratch_free(struct mh_mm_scratch *s);

/* Called for each match; return non-zero to stop scanning. from = start of
 * match when MH_MM_SOM (or for literals: always exact), else 0. to = end offset. */
typedef int (*mh_mm_match_fn)(void *ctx, unsigned id, uint64_t from, uint64_t to);

/*
 * Scan data[0..n) (data may be NULL when n == 0) and call fn for each match,
 * in Hyperscan's order (by end offset within each internal database). A stop
 * requested by fn is not an error (MH_OK). MH_EINVAL when s was not allocated
 * for db; MH_ELIMIT when n >= 4 GiB. Does not allocate.
 */
MH_MUST_CHECK mh_status mh_mm_scan(const struct mh_mm_db *db, struct mh_mm_scratch *s,
                                   const char *data, size_t n, mh_mm_match_fn fn, void *ctx);

#endif

/*
 * rules/regex.h -- the PCRE2 adapter (the only file that touches pcre2.h is regex.c)
 *
 * Pipeline: rules (compile) -> match (confirm). A compiled mh_regex is
 * immutable and shared by every thread; each thread owns one
 * mh_regex_scratch (match data + JIT stack + match limits) and reuses it for
 * every regex it runs.
 *
 * Patterns are compiled 8-bit, UTF mode with PCRE2_MATCH_INVALID_UTF (so a
 * subject that is not valid UTF-8 still matches byte-wise where it can and
 * never errors), and JIT-compiled when the platform supports it (falling back
 * to the interpreter silently). Catastrophic backtracking is cut by PCRE2's
 * match and depth limits (MH_REGEX_MATCH_LIMIT / MH_REGEX_DEPTH_LIMIT in
 * limits.h): mh_regex_exec then returns MH_ELIMIT, and the caller reports it
 * and treats the subject as not matching.
 *
 * All PCRE2 memory goes through the allocation seam (base/alloc.h).
 *
 * Example:
 *   struct mh_regex *re; struct mh_regex_scratch *s; struct mh_span g[2]; bool m;
 *   mh_regex_compile("a(b+)", 5, MH_RE_CASELESS, &re, &err);
 *   mh_regex_scratch_new(&s);
 *   mh_regex_exec(re, s, "xABBy", 5, 0, g, 2, &m);   // m = true, g[0] = {1,4}, g[1] = {2,4}
 */
#ifndef MH_RULES_REGEX_H
#define MH_RULES_REGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailhound/status.h"

#define MH_RE_CASELESS 1u
#define MH_RE_MULTILINE 2u
#define MH_RE_DOTALL 4u
#define MH_RE_NOJIT 8u /* skip JIT compilation (rarely run regexes: saves executable memory) */

struct mh_regex;         /* immutable after compile, shareable by threads */
struct mh_regex_scratch; /* per-thread match data (+ JIT stack) */

/* Byte offsets, end exclusive; (SIZE_MAX, SIZE_MAX) = unset group. */
struct mh_span {
    size_t start, end;
};

/*
 * Compile pat[0..len) (need not be NUL-terminated; may contain NUL bytes).
 * flags: MH_RE_*. On MH_EPARSE err->column is the 1-based byte offset in the
 * pattern where PCRE2 stopped and err->detail its message. MH_ELIMIT when
 * len > MH_MAX_REGEX_BYTES. *out untouched on failure.
 */
MH_MUST_CHECK mh_status mh_regex_compile(const char *pat, size_t len, unsigned flags,
                                         struct mh_regex **out, mh_error *err);
/* Release a regex; NULL is a no-op. */
void mh_regex_free(struct mh_regex *re);
/* Capture groups, not counting group 0. */
unsigned mh_regex_groups(const struct mh_regex *re);
/* True when the pattern was JIT-compiled. */
bool mh_regex_jitted(const struct mh_regex *re);

/* A scratch for one thread; good for every regex. MH_ENOMEM. */
MH_MUST_CHECK mh_status mh_regex_scratch_new(struct mh_regex_scratch **out);
/* Release a scratch; NULL is a no-op. */
void mh_regex_scratch_free(struct mh_regex_scratch *s);

/*
 * Search subj[start..n). *matched gets true/false; groups (may be NULL) gets
 * up to ngroups spans (group 0 first, unset groups SIZE_MAX). subj may be NULL
 * when n == 0. Statuses: MH_OK; MH_ELIMIT when PCRE2's match/depth/heap limit
 * or the JIT stack limit is hit (report it, treat as no match); MH_ENOMEM;
 * MH_EINVAL (start > n). The scratch grows only when more than 32 spans are
 * asked for (never with groups = NULL: a regex with many groups still
 * matches without allocating). Thread-safe with distinct scratches.
 */
MH_MUST_CHECK mh_status mh_regex_exec(const struct mh_regex *re, struct mh_regex_scratch *s,
                                      const char *subj, size_t n, size_t start,
                                      struct mh_span *groups, unsigned ngroups, bool *matched);

#endif

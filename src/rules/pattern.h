/*
 * rules/pattern.h -- Sigma strings: parsing, value transforms, compiled patterns
 *
 * Pipeline: sigma loader (values + modifiers) -> [pattern] -> match (confirm).
 *
 * A Sigma string (mh_sstr) is a sequence of positions, each a literal byte or
 * a wildcard (`*` any run, `?` one character). mh_sstr_parse applies
 * pySigma's escaping exactly (../shared/docs/sigma.md §5.2):
 *   `\*` `\?` `\\` -> the literal character; `\` + anything else -> both
 *   characters kept; a trailing lone `\` -> literal `\`.
 * Transform modifiers rewrite it (contains/startswith/endswith add `*`,
 * base64, base64offset, wide/utf16le/utf16be/utf16, windash), then
 * mh_pattern_compile turns it into an mh_pattern with a fast shape
 * (exact / prefix / suffix / contains / any / glob) and the reference regex.
 *
 * Matching semantics (docs/sigma.md §5): the whole value must match; `?` is
 * one UTF-8 code point; case-insensitive unless cased, ASCII folding for
 * ASCII-only patterns, PCRE2 Unicode folding (MH_PS_REGEX) for patterns
 * with non-ASCII letters.
 *
 * Ownership: an mh_sstr owns heap buffers (mh_sstr_fini). A compiled
 * mh_pattern lives in the caller's arena, its regexes are owned by the
 * pattern (mh_pattern_fini). Matching never allocates; PCRE2-backed matching
 * needs the caller's per-thread regex scratch.
 */
#ifndef MH_RULES_PATTERN_H
#define MH_RULES_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "mailhound/status.h"
#include "rules/regex.h"
#include "rules/sigma.h"

enum mh_spos { MH_SP_LIT = 0, MH_SP_STAR, MH_SP_ONE };

struct mh_sstr {
    char *b;    /* byte at each position (0 for wildcards) */
    uint8_t *t; /* enum mh_spos at each position */
    size_t n, cap;
};

void mh_sstr_init(struct mh_sstr *s);
void mh_sstr_fini(struct mh_sstr *s);
MH_MUST_CHECK mh_status mh_sstr_copy(struct mh_sstr *dst, const struct mh_sstr *src);
MH_MUST_CHECK mh_status mh_sstr_push(struct mh_sstr *s, uint8_t type, char c);
MH_MUST_CHECK mh_status mh_sstr_push_bytes(struct mh_sstr *s, const char *p, size_t n);
/* Parse Sigma escaping and wildcards (appends to s). */
MH_MUST_CHECK mh_status mh_sstr_parse(struct mh_sstr *s, const char *p, size_t n);
bool mh_sstr_has_wild(const struct mh_sstr *s);

/* Transforms (in place or into out). */
MH_MUST_CHECK mh_status mh_sstr_contains(struct mh_sstr *s);
MH_MUST_CHECK mh_status mh_sstr_startswith(struct mh_sstr *s);
MH_MUST_CHECK mh_status mh_sstr_endswith(struct mh_sstr *s);
/* base64 of the bytes; utf16_bom: a leading UTF-8 BOM becomes FF FE (pySigma). */
MH_MUST_CHECK mh_status mh_sstr_base64(struct mh_sstr *s, bool utf16_bom);
/* The three base64offset variants into out[0..2] (initialised by the caller). */
MH_MUST_CHECK mh_status mh_sstr_base64offset(const struct mh_sstr *s, bool utf16_bom,
                                             struct mh_sstr out[3]);
/* UTF-16 of every literal character (ASCII only, as pySigma): MH_EINVAL otherwise.
 * mode 0 = LE (wide, utf16le), 1 = BE, 2 = LE with a BOM (utf16, BOM as UTF-8 U+FEFF). */
MH_MUST_CHECK mh_status mh_sstr_utf16(struct mh_sstr *s, int mode);
/*
 * windash: every `-` or `/` at the start of a flag (pySigma `\B[-/]\b`,
 * wildcards acting as string boundaries) becomes each of - / U+2013 U+2014
 * U+2015. Calls fn for each combination (5^k); MH_ELIMIT past max values.
 */
typedef mh_status (*mh_sstr_fn)(void *ctx, const struct mh_sstr *s);
MH_MUST_CHECK mh_status mh_sstr_windash(const struct mh_sstr *s, size_t max, mh_sstr_fn fn,
                                        void *ctx);

/* Compile s into pat (strings in arena). Reference regex always compiled. */
MH_MUST_CHECK mh_status mh_pattern_compile(struct mh_arena *a, const struct mh_sstr *s, bool cased,
                                           struct mh_pattern *pat, mh_error *err);
void mh_pattern_fini(struct mh_pattern *pat);

/* Fast path. scratch is needed only for MH_PS_REGEX (may be NULL otherwise). */
MH_MUST_CHECK mh_status mh_pattern_match(const struct mh_pattern *pat,
                                         struct mh_regex_scratch *scratch, const char *text,
                                         size_t n, bool *matched);
/* Reference path: PCRE2 only. */
MH_MUST_CHECK mh_status mh_pattern_match_ref(const struct mh_pattern *pat,
                                             struct mh_regex_scratch *scratch, const char *text,
                                             size_t n, bool *matched);

/* ASCII case-insensitive helpers (lit already lower-case). */
bool mh_ascii_eq_fold(const char *a, const char *lower, size_t n);
size_t mh_ascii_find_fold(const char *hay, size_t n, const char *lower, size_t m);

/* Longest run of lit that surely appears verbatim in the raw JSON text of any
 * record whose decoded value contains it (see docs/sigma.md, prefilter). */
void mh_pattern_safe_run(const struct mh_pattern *pat, const char **run, size_t *len);
/* Same for plain bytes (a regex literal run etc.). unicode_fold: exclude k/s. */
void mh_safe_run(const char *p, size_t n, bool unicode_fold, const char **run, size_t *len);
/* True for bytes that JSON writers never escape (prefilter safe set). */
bool mh_byte_is_safe(unsigned char c);

/* IP parsing for the cidr modifier (load.c): exact dotted quad / RFC 4291 text. */
bool mh_parse_ipv4(const char *s, size_t n, uint8_t out[4]);
bool mh_parse_ipv6(const char *s, size_t n, uint8_t out[16]);

#endif

/*
 * secrets/scan.h -- find secrets in decoded text with a gitleaks rule set
 *
 * Pipeline: gitleaks config (secrets/gitleaks.h) -> [compiled engine] ->
 * per fragment (a decoded MIME part, a header block, a plain text file):
 *
 *   1. global allowlists on the fragment path (gitleaks: skip the fragment)
 *   2. keyword gate: one Hyperscan literal database of every distinct
 *      lower-cased keyword, matched case-insensitively; a rule runs only if
 *      one of its keywords occurs in the fragment or it has none. This is
 *      semantics, not only speed (sourcegraph-access-token matches any 40
 *      hex digits; only its keywords keep SHA-1 hashes out).
 *   3. candidate rules: one Hyperscan database of every rule regex
 *      (SINGLEMATCH, UTF-8 mode); a regex Hyperscan cannot compile is
 *      compiled in prefilter mode (a superset), and one it rejects even so
 *      runs in PCRE2 whenever its keywords gate it. Skipped entirely when
 *      the keyword gate let no rule through.
 *   4. confirm with PCRE2 (JIT) like Go's FindAllStringIndex: leftmost-
 *      first, non-overlapping, empty matches skipped; the match is trimmed
 *      of '\n'; the secret is the rule's secretGroup, else the first
 *      non-empty capture group, else the whole match (groups taken, as
 *      gitleaks does, by re-matching the trimmed match on its own).
 *   5. entropy: Shannon entropy of the secret, runes counted, divided by
 *      the byte length (gitleaks' formula); dropped when <= the threshold.
 *   6. "gitleaks:allow" on the line, then global and rule allowlists
 *      (regexTarget secret | match | line; paths on the fragment path;
 *      stopwords case-insensitive substrings of the secret; OR / AND).
 *   7. gitleaks' generic filter: a finding of a rule whose id contains
 *      "generic" is dropped when another rule's finding on the same line
 *      contains its secret. Generic findings are reported as the lower tier.
 *   8. [[rules.required]] composite rules and skipReport rules as gitleaks.
 * Path-only rules (no regex, e.g. pkcs12-file) fire on the fragment path,
 * so scanning a binary attachment with text = NULL still reports them.
 *
 * Not done (yet): gitleaks' decoding passes (base64/hex/percent segments
 * re-scanned) -- MIME transfer decoding is done before, by ingest/mime.
 *
 * Semantics: text must be valid UTF-8 (fragments from ingest/mime always
 * are; MH_EINVAL otherwise). PCRE2 differs from Go RE2 in '$' (also before a
 * final newline) and '\s' (also VT); both only matter at the very end of a
 * fragment or with vertical tabs.
 *
 * Threading: an engine is immutable and shared; each thread owns a scratch.
 * Findings are delivered in fragment order (by secret offset, then rule
 * order), so output is deterministic.
 */
#ifndef MH_SECRETS_SCAN_H
#define MH_SECRETS_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailhound/status.h"
#include "secrets/gitleaks.h"

struct mh_secrets_engine;
struct mh_secrets_scratch;

struct mh_secrets_compile_stats {
    size_t rules;        /* rules in the config */
    size_t regex_rules;  /* rules with a content regex */
    size_t path_only;    /* rules with only a path */
    size_t hs_exact;     /* regexes Hyperscan compiled as written */
    size_t hs_prefilter; /* regexes compiled in Hyperscan prefilter mode */
    size_t pcre_only;    /* regexes Hyperscan rejected: PCRE2 on every gated fragment */
    size_t keywords;     /* distinct keywords */
};

/* Reference mode (tests): no Hyperscan candidate stage; every rule that
 * passes the keyword gate runs in PCRE2. Same findings, slower. */
#define MH_SECRETS_REFERENCE 1u

/* Compile cfg (which must outlive the engine); flags: MH_SECRETS_*. stats
 * may be NULL. MH_ENOMEM, MH_EINVAL, or Hyperscan's failure. */
MH_MUST_CHECK mh_status mh_secrets_compile(const struct mh_gl_config *cfg, unsigned flags,
                                           struct mh_secrets_engine **out,
                                           struct mh_secrets_compile_stats *stats, mh_error *err);
void mh_secrets_engine_free(struct mh_secrets_engine *e);

MH_MUST_CHECK mh_status mh_secrets_scratch_new(const struct mh_secrets_engine *e,
                                               struct mh_secrets_scratch **out);
void mh_secrets_scratch_free(struct mh_secrets_scratch *s);

struct mh_secret_finding {
    const struct mh_gl_rule *rule;
    bool generic;                    /* lower tier (rule id contains "generic") */
    bool path_only;                  /* a path rule fired: no secret span */
    size_t match_start, match_end;   /* byte span of the match, '\n'-trimmed */
    size_t secret_start, secret_end; /* byte span of the secret */
    uint32_t line;                   /* 1-based line of the secret in the fragment */
    uint32_t column;                 /* 1-based column (in characters) of the secret */
    double entropy;
    unsigned char sha256[32]; /* of the secret bytes (of the path for path-only) */
};

struct mh_secrets_scan_stats {
    uint64_t fragments, bytes;
    uint64_t gated_rules;     /* rule x fragment pairs past the keyword gate */
    uint64_t confirmed_rules; /* of which confirmed with PCRE2 */
    uint64_t matches;         /* PCRE2 matches */
    uint64_t low_entropy, allowlisted, generic_filtered;
    uint64_t findings;
    uint64_t limit_hits; /* PCRE2 match/depth limits or MH_SECRETS_MAX_MATCHES */
};

/* Called per finding; text is the fragment. A non-MH_OK status stops the scan. */
typedef mh_status (*mh_secret_fn)(void *ctx, const struct mh_secret_finding *f, const char *text);

/*
 * Scan text[0..n) (valid UTF-8; may be NULL when n == 0) whose synthetic
 * path (for path rules and path allowlists) is path (may be NULL). stats
 * (may be NULL) is added to. Statuses: MH_OK, MH_EINVAL (invalid UTF-8),
 * MH_ENOMEM, MH_ECRYPTO (a fingerprint could not be computed), or fn's status.
 */
MH_MUST_CHECK mh_status mh_secrets_scan(const struct mh_secrets_engine *e,
                                        struct mh_secrets_scratch *s, const char *path,
                                        const char *text, size_t n, mh_secret_fn fn, void *ctx,
                                        struct mh_secrets_scan_stats *stats);

/* gitleaks' Shannon entropy of s[0..n) (runes counted, divided by bytes). */
double mh_secrets_entropy(const char *s, size_t n);

#endif

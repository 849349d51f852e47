/*
 * rules/regex.c -- PCRE2 adapter: compile once, match from any thread
 *
 * Pipeline: rules (compile) -> match (confirm). See regex.h for the API.
 *
 * Data model: struct mh_regex owns one pcre2_code (JIT-compiled when
 * possible) and is never written after mh_regex_compile returns, so threads
 * share it freely. struct mh_regex_scratch owns what a match writes: the
 * match data (ovector), a match context carrying the limits, and a JIT stack.
 *
 * Ownership: every allocation PCRE2 makes for us goes through mh_malloc /
 * mh_free via a general context, so allocation-failure tests cover this
 * adapter too. JIT code lives in PCRE2's executable-memory allocator.
 *
 * Limits: pattern bytes <= MH_MAX_REGEX_BYTES; per exec MH_REGEX_MATCH_LIMIT,
 * MH_REGEX_DEPTH_LIMIT, MH_REGEX_HEAP_LIMIT_KB (interpreter) and a JIT stack
 * of at most MH_REGEX_JIT_STACK_BYTES. Hitting one gives MH_ELIMIT.
 *
 * Threading: compile and free are not concurrent with use of the same regex;
 * exec is thread-safe as long as each thread uses its own scratch.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "rules/regex.h"

#include <pcre2.h>
#include <string.h>

#include "base/alloc.h"
#include "mailhound/limits.h"

struct mh_regex {
    pcre2_code *code;
    unsigned groups;
    bool jit;
};

struct mh_regex_scratch {
    pcre2_general_context *gctx;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    pcre2_match_data *md;
    unsigned md_pairs; /* ovector capacity (pairs) */
};

/* Initial ovector capacity of a scratch; grown once for regexes with more groups. */
#define REGEX_SCRATCH_PAIRS 32u

static void *seam_malloc(PCRE2_SIZE n, void *data)
{
    (void)data;
    return mh_malloc(n);
}

static void seam_free(void *p, void *data)
{
    (void)data;
    mh_free(p);
}

mh_status mh_regex_compile(const char *pat, size_t len, unsigned flags, struct mh_regex **out,
                           mh_error *err)
{
    mh_status st = MH_OK;
    pcre2_general_context *gctx = NULL;
    pcre2_compile_context *cctx = NULL;
    pcre2_code *code = NULL;
    struct mh_regex *re = NULL;

    if (!out || (!pat && len)) return mh_error_set(err, MH_EINVAL, "bad argument", "%s", "regex");
    if (len > MH_MAX_REGEX_BYTES)
        return mh_error_set(err, MH_ELIMIT, "regex too long", "%zu bytes (limit %u)", len,
                            (unsigned)MH_MAX_REGEX_BYTES);
    gctx = pcre2_general_context_create(seam_malloc, seam_free, NULL);
    if (!gctx) MH_CHECK(mh_error_set(err, MH_ENOMEM, "out of memory", "%s", "pcre2 context"));
    cctx = pcre2_compile_context_create(gctx);
    if (!cctx) MH_CHECK(mh_error_set(err, MH_ENOMEM, "out of memory", "%s", "pcre2 context"));

    uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
    if (flags & MH_RE_CASELESS) opts |= PCRE2_CASELESS;
    if (flags & MH_RE_MULTILINE) opts |= PCRE2_MULTILINE;
    if (flags & MH_RE_DOTALL) opts |= PCRE2_DOTALL;

    int ecode = 0;
    PCRE2_SIZE eoff = 0;
    code = pcre2_compile((PCRE2_SPTR)(pat ? pat : ""), len, opts, &ecode, &eoff, cctx);
    if (!code) {
        PCRE2_UCHAR msg[160];
        if (pcre2_get_error_message(ecode, msg, sizeof msg) < 0) memcpy(msg, "?", 2);
        if (ecode == PCRE2_ERROR_NOMEMORY || ecode == PCRE2_ERROR_HEAP_FAILED) {
            st = mh_error_set(err, MH_ENOMEM, "out of memory", "%s", "pcre2 compile");
            goto out;
        }
        st = mh_error_set(err, MH_EPARSE, "invalid regular expression", "%s at offset %zu",
                          (const char *)msg, (size_t)eoff);
        if (err) err->column = (uint64_t)eoff + 1;
        goto out;
    }
    uint32_t cap = 0;
    (void)pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &cap);

    re = mh_calloc(1, sizeof *re);
    if (!re) MH_CHECK(mh_error_set(err, MH_ENOMEM, "out of memory", "%s", "regex"));
    /* JIT failure (unsupported platform, no executable memory) is not an
     * error: the interpreter gives the same answers, only slower. */
    re->jit = !(flags & MH_RE_NOJIT) && pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    re->code = code;
    re->groups = cap;
    code = NULL;
    *out = re;
    re = NULL;
out:
    pcre2_code_free(code);
    mh_free(re);
    pcre2_compile_context_free(cctx);
    pcre2_general_context_free(gctx);
    return st;
}

void mh_regex_free(struct mh_regex *re)
{
    if (!re) return;
    pcre2_code_free(re->code);
    mh_free(re);
}

unsigned mh_regex_groups(const struct mh_regex *re)
{
    return re ? re->groups : 0;
}

bool mh_regex_jitted(const struct mh_regex *re)
{
    return re && re->jit;
}

mh_status mh_regex_scratch_new(struct mh_regex_scratch **out)
{
    mh_status st = MH_OK;
    struct mh_regex_scratch *s = mh_calloc(1, sizeof *s);
    if (!s) return MH_ENOMEM;
    s->gctx = pcre2_general_context_create(seam_malloc, seam_free, NULL);
    if (!s->gctx) MH_CHECK(MH_ENOMEM);
    s->mctx = pcre2_match_context_create(s->gctx);
    if (!s->mctx) MH_CHECK(MH_ENOMEM);
    (void)pcre2_set_match_limit(s->mctx, MH_REGEX_MATCH_LIMIT);
    (void)pcre2_set_depth_limit(s->mctx, MH_REGEX_DEPTH_LIMIT);
    (void)pcre2_set_heap_limit(s->mctx, MH_REGEX_HEAP_LIMIT_KB);
    /* A JIT stack is optional: without it PCRE2 uses 32 KiB on the machine stack. */
    s->jit_stack = pcre2_jit_stack_create(32u << 10, MH_REGEX_JIT_STACK_BYTES, s->gctx);
    if (s->jit_stack) pcre2_jit_stack_assign(s->mctx, NULL, s->jit_stack);
    s->md = pcre2_match_data_create(REGEX_SCRATCH_PAIRS, s->gctx);
    if (!s->md) MH_CHECK(MH_ENOMEM);
    s->md_pairs = REGEX_SCRATCH_PAIRS;
    *out = s;
    s = NULL;
out:
    mh_regex_scratch_free(s);
    return st;
}

void mh_regex_scratch_free(struct mh_regex_scratch *s)
{
    if (!s) return;
    pcre2_match_data_free(s->md);
    pcre2_jit_stack_free(s->jit_stack);
    pcre2_match_context_free(s->mctx);
    pcre2_general_context_free(s->gctx);
    mh_free(s);
}

mh_status mh_regex_exec(const struct mh_regex *re, struct mh_regex_scratch *s, const char *subj,
                        size_t n, size_t start, struct mh_span *groups, unsigned ngroups,
                        bool *matched)
{
    if (!re || !s || !matched || (!subj && n) || start > n) return MH_EINVAL;
    /* Only the spans asked for need room: a match without groups (the
     * Sigma match stage) never grows the scratch, whatever the regex. */
    unsigned need = ngroups < re->groups + 1 ? ngroups : re->groups + 1;
    if (groups && need > s->md_pairs) {
        pcre2_match_data *md = pcre2_match_data_create(need, s->gctx);
        if (!md) return MH_ENOMEM;
        pcre2_match_data_free(s->md);
        s->md = md;
        s->md_pairs = need;
    }
    int rc = pcre2_match(re->code, (PCRE2_SPTR)(subj ? subj : ""), n, start, 0, s->md, s->mctx);
    if (rc == PCRE2_ERROR_NOMATCH) {
        *matched = false;
        return MH_OK;
    }
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
        rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT)
        return MH_ELIMIT;
    if (rc == PCRE2_ERROR_NOMEMORY) return MH_ENOMEM;
    if (rc < 0) return MH_EINVAL;
    *matched = true;
    if (groups && ngroups) {
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
        unsigned have = re->groups + 1;
        for (unsigned i = 0; i < ngroups; i++) {
            if (i < have && ov[2 * i] != PCRE2_UNSET) {
                groups[i].start = ov[2 * i];
                groups[i].end = ov[2 * i + 1];
            } else {
                groups[i].start = SIZE_MAX;
                groups[i].end = SIZE_MAX;
            }
        }
    }
    return MH_OK;
}

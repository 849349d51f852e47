/*
 * rules/sigma.h -- the Sigma rule model: rules, detections, values, conditions
 *
 * Pipeline: rule files -> yaml -> [sigma model] -> ruleset (compile) -> match.
 *
 * One struct mh_rule per YAML document: a detection rule, a correlation or a
 * filter (../shared/docs/sigma.md §2, §7, §8). A detection rule holds its
 * search identifiers (mh_det), each a tree of AND/OR nodes over detection
 * items (mh_item: field + modifiers + values), and its condition as a tree
 * (mh_cnode) over identifier indexes. Values are compiled matchers
 * (mh_vmatch): a string pattern (exact / prefix / suffix / contains / glob
 * with `*` `?`), a number, a regex (PCRE2), a CIDR network, a comparison,
 * exists, null, a time part, or a field reference.
 *
 * Everything a rule points to lives in the ruleset's arena, except compiled
 * regexes (mh_regex, freed by the ruleset). After mh_ruleset_compile the
 * whole model is immutable and shared by every matching thread.
 *
 * Semantics decisions are documented in docs/sigma.md (the project's) and
 * referenced here by section.
 */
#ifndef MH_RULES_SIGMA_H
#define MH_RULES_SIGMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "mailhound/status.h"
#include "rules/regex.h"

enum mh_level {
    MH_LEVEL_NONE = 0,
    MH_LEVEL_INFORMATIONAL,
    MH_LEVEL_LOW,
    MH_LEVEL_MEDIUM,
    MH_LEVEL_HIGH,
    MH_LEVEL_CRITICAL,
};
const char *mh_level_name(enum mh_level l); /* "informational", ... "" for NONE */
/* Parse a level name (case-insensitive); MH_LEVEL_NONE if unknown. */
enum mh_level mh_level_parse(const char *s, size_t n);

/* ---- string patterns ---- */

enum mh_pshape {
    MH_PS_EXACT = 0, /* whole value equals lit */
    MH_PS_PREFIX,    /* lit* */
    MH_PS_SUFFIX,    /* *lit */
    MH_PS_CONTAINS,  /* *lit* */
    MH_PS_ANY,       /* "*": any value, even empty */
    MH_PS_GLOB,      /* anything else: token program */
    MH_PS_REGEX,     /* non-ASCII case-insensitive: PCRE2 with Unicode folding */
};

enum mh_ptok { MH_PT_LIT = 0, MH_PT_STAR, MH_PT_ONE };

struct mh_ptoken {
    uint8_t type; /* enum mh_ptok */
    uint32_t off, len; /* MH_PT_LIT: bytes in mh_pattern.text */
};

/* A Sigma string with wildcards, compiled. text holds the literal bytes
 * (wildcards removed, escapes resolved; ASCII-lowercased unless cased). */
struct mh_pattern {
    uint8_t shape; /* enum mh_pshape */
    bool cased;
    const char *text; /* all literal bytes, in order */
    uint32_t text_len;
    const char *lit; /* EXACT/PREFIX/SUFFIX/CONTAINS: the one literal */
    uint32_t lit_len;
    const struct mh_ptoken *tok; /* GLOB/REGEX: the token list */
    uint32_t ntok;
    struct mh_regex *re;  /* MH_PS_REGEX only */
    struct mh_regex *ref; /* reference path: the same pattern as an anchored PCRE2 regex */
};

/* ---- values ---- */

enum mh_vkind {
    MH_VK_STR = 0, /* pattern */
    MH_VK_NUM,     /* number: numeric equality on numeric text, else pattern on text */
    MH_VK_BOOL,    /* true/false: JSON bool or the strings true/false (any case) */
    MH_VK_NULL,    /* field absent or null */
    MH_VK_RE,      /* regex search */
    MH_VK_CIDR,    /* IP in network */
    MH_VK_CMP,     /* gt/gte/lt/lte against a number */
    MH_VK_EXISTS,  /* field present (any value, null included) == bval */
    MH_VK_TIME,    /* time part (minute..year) of a date value == num */
    MH_VK_FIELDREF,/* equals (or contains/starts/ends with) another field's value */
};

enum mh_cmp { MH_CMP_GT = 0, MH_CMP_GTE, MH_CMP_LT, MH_CMP_LTE, MH_CMP_EQ, MH_CMP_NEQ };
enum mh_tpart { MH_TP_MINUTE = 0, MH_TP_HOUR, MH_TP_DAY, MH_TP_WEEK, MH_TP_MONTH, MH_TP_YEAR };

struct mh_vmatch {
    uint8_t kind; /* enum mh_vkind */
    uint8_t op;   /* MH_VK_CMP: enum mh_cmp; MH_VK_TIME: enum mh_tpart;
                     MH_VK_FIELDREF: MH_PS_EXACT/PREFIX/SUFFIX/CONTAINS */
    bool bval;    /* MH_VK_BOOL, MH_VK_EXISTS */
    bool cased;   /* MH_VK_FIELDREF */
    uint8_t cidr_bits;   /* MH_VK_CIDR: prefix length */
    bool cidr_v6;        /* MH_VK_CIDR: family */
    uint8_t cidr_addr[16];
    double num;          /* MH_VK_NUM / CMP / TIME */
    struct mh_pattern pat; /* MH_VK_STR; MH_VK_NUM: the number's text (exact) */
    struct mh_regex *re;   /* MH_VK_RE */
    uint8_t re_flags;      /* MH_VK_RE: MH_RE_* flags it was compiled with */
    uint32_t field;        /* MH_VK_FIELDREF: field index of the referenced field */
    const char *ref_name;  /* MH_VK_FIELDREF: the referenced field's name */
    const char *src;       /* the value as written (for explain and alert `fields`) */
    uint32_t src_len;
};

/* ---- detection items and identifiers ---- */

struct mh_item {
    uint32_t field;   /* field index (ruleset field table); MH_FIELD_KEYWORD for keywords */
    const char *fname; /* field name as written (NULL for keywords) */
    bool all;         /* values AND-linked (|all) */
    bool negated;     /* |neq */
    bool keyword;     /* no field: search the whole event */
    uint32_t nvals;
    struct mh_vmatch *vals;
    const char *key;  /* the YAML key as written ("Operation|contains") */
    uint32_t line, col;
};

#define MH_FIELD_KEYWORD UINT32_MAX

enum mh_dkind { MH_DN_AND = 0, MH_DN_OR, MH_DN_ITEM };

struct mh_dnode {
    uint8_t kind; /* enum mh_dkind */
    uint32_t n;
    struct mh_dnode **kids;
    struct mh_item *item; /* MH_DN_ITEM */
};

struct mh_det {
    const char *name;
    struct mh_dnode *root;
    uint32_t line, col;
};

/* ---- conditions ---- */

enum mh_ckind { MH_CN_ID = 0, MH_CN_AND, MH_CN_OR, MH_CN_NOT, MH_CN_TRUE, MH_CN_FALSE };

struct mh_cnode {
    uint8_t kind; /* enum mh_ckind */
    uint32_t n;
    struct mh_cnode **kids;
    uint32_t det; /* MH_CN_ID: index into rule->dets */
};

/* ---- correlations ---- */

enum mh_corr_type {
    MH_CORR_EVENT_COUNT = 0,
    MH_CORR_VALUE_COUNT,
    MH_CORR_TEMPORAL,
    MH_CORR_TEMPORAL_ORDERED,
    MH_CORR_VALUE_SUM,
    MH_CORR_VALUE_AVG,
    MH_CORR_VALUE_PERCENTILE,
};
const char *mh_corr_type_name(enum mh_corr_type t);

struct mh_corr_bound {
    uint8_t op; /* enum mh_cmp */
    double value;
};

struct mh_corr_alias {
    const char *name;      /* the group-by name it defines */
    uint32_t n;
    const char **rules;    /* referenced rule name/id */
    const char **fields;   /* source field in that rule's events */
};

struct mh_corr {
    uint8_t type;        /* enum mh_corr_type */
    uint32_t nrules;
    const char **rule_refs;  /* as written (id or name) */
    uint32_t *rule_idx;      /* resolved rule indexes (ruleset), after compile */
    uint32_t ngroup;
    const char **group_by;
    uint32_t naliases;
    struct mh_corr_alias *aliases;
    int64_t timespan_us;
    uint32_t nbounds;            /* 0..2 (a range = 2) */
    struct mh_corr_bound bounds[2];
    const char *field;           /* value_count / value_sum / value_avg / value_percentile */
    double percentile;           /* value_percentile: the percentile (default 50?) -- see docs */
    bool generate;
    bool implicit;               /* made from a legacy `| count() ...` condition */
    /* compile results: fields read from the events of referenced rule j */
    uint32_t *gfield;            /* [j * ngroup + g]: field index, MH_FIELD_KEYWORD when rule j
                                    is a correlation (its group values are used by name) */
    const char **gname;          /* [j * ngroup + g]: the name looked up in that case */
    uint32_t *vfield;            /* [j]: value field (value_* types), or MH_FIELD_KEYWORD */
};

/* ---- filters (meta filters) ---- */

struct mh_filter {
    uint32_t nrules;       /* 0 with any_rule = every rule of the logsource */
    const char **rule_refs;
    bool any_rule;
};

/* ---- rules ---- */

enum mh_rule_kind { MH_RK_DETECTION = 0, MH_RK_CORRELATION, MH_RK_FILTER };

#define MH_RULE_MAX_TAGS 64

struct mh_rule {
    uint8_t kind; /* enum mh_rule_kind */
    uint8_t level;
    bool disabled;      /* loaded but never evaluated (reason in disabled_why) */
    bool emit;          /* alerts are emitted for it (false: only feeds correlations) */
    const char *disabled_why;
    const char *file;
    uint32_t line, col; /* where the document starts */
    uint32_t doc;       /* document index in the file (0-based) */
    const char *title, *id, *name, *status, *description, *author;
    uint32_t ntags;
    const char **tags;
    const char *product, *service, *category; /* logsource, lower-case; NULL if absent */
    uint32_t ndets;
    struct mh_det *dets;
    struct mh_cnode *cond;
    struct mh_corr *corr;     /* MH_RK_CORRELATION */
    struct mh_filter *filter; /* MH_RK_FILTER */
    /* compile results */
    uint32_t route;       /* index of the routing entry (field map) the rule uses */
    uint32_t index;       /* position in the ruleset */
    bool always;          /* prefilter: no necessary literal, always a candidate */
    bool uses_keywords;
};

#endif

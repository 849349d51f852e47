/*
 * rules/ruleset.h -- load Sigma rule files, compile them into an immutable ruleset
 *
 * Pipeline: rule files -> [ruleset: load + compile] -> match -> correlate.
 *
 * Lifecycle: mh_ruleset_new (loads the field maps), mh_ruleset_add_path /
 * _add_memory for every -r argument (each YAML document becomes one rule,
 * loaded or rejected with a position and reason), then mh_ruleset_compile
 * (resolves correlation and filter references, applies filters, routes each
 * rule to its log source, resolves fields through the alias tables and builds
 * the literal prefilter). After compile the ruleset is immutable and shared
 * read-only by every matching thread; mh_ruleset_free releases everything.
 *
 * Reporting: every document produces exactly one note LOADED or REJECTED,
 * plus any number of WARNING notes (disabled rules, filters without `not`,
 * legacy syntax translated, unresolved references ...), through on_note.
 * Nothing is printed here.
 *
 * Routing (docs/sigma.md §10): a route is one field-map file
 * (rules/fieldmaps/<name>.yml): the logsource it serves, the event source
 * kinds it applies to, an optional shape test (`when_any`), and the alias
 * table. A rule without a route loads but never meets an event.
 *
 * Limits: MH_MAX_RULES rules, MH_MAX_RULE_FILES files, MH_MAX_RULE_FILE_BYTES
 * per file. Threading: building is single-threaded; a compiled ruleset is
 * read-only.
 */
#ifndef MH_RULES_RULESET_H
#define MH_RULES_RULESET_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/hash.h"
#include "mailhound/status.h"
#include "rules/multimatch.h"
#include "rules/sigma.h"

enum mh_note_kind { MH_NOTE_LOADED = 0, MH_NOTE_REJECTED, MH_NOTE_WARNING };

/* rule may be NULL (file-level problems); err carries origin/line/column. */
typedef void (*mh_rule_note_fn)(void *ctx, enum mh_note_kind kind, const struct mh_rule *rule,
                                const mh_error *err);

struct mh_ruleset_opts {
    const char *data_dir;   /* rules/fieldmaps and config/expand live here; NULL = $MAILHOUND_DATA or MH_DATA_DIR */
    const char *fieldmap_dir; /* overrides <data_dir>/rules/fieldmaps */
    const char *expand_dir;   /* overrides <data_dir>/config/expand */
    mh_rule_note_fn on_note;
    void *ctx;
};

/* Alias path transforms. */
#define MH_FX_TRIM 1u      /* trim ASCII whitespace */
#define MH_FX_STRIP_DOT 2u /* drop one trailing '.' (UAL directory activities) */
#define MH_FX_UNQUOTE 4u   /* a JSON-encoded string value ("\"True\"") loses its quotes */

struct mh_vmap_entry {
    const char *from, *to;
};

struct mh_fpath {
    const char *path;
    uint32_t len;
    uint8_t xform; /* MH_FX_* */
    uint32_t nvmap; /* value map: event value (case-insensitive) -> value rules see */
    const struct mh_vmap_entry *vmap;
};

/* A rule field resolved for one route. */
struct mh_field {
    const char *name;
    uint32_t route;
    uint32_t npaths;
    const struct mh_fpath *paths;
    bool synthetic; /* some path rewrites values: never a prefilter literal source */
};

struct mh_route {
    const char *name;                          /* field-map file stem */
    const char *product, *service, *category;  /* logsource it serves (NULL = any) */
    uint32_t kinds;                            /* bit per enum mh_source_kind */
    uint32_t nwhen;                            /* shape test: any of these paths present */
    const char **when;
    uint32_t nprefix;                          /* also try these prefixes before each field */
    const char **prefix;
    bool try_case;                             /* also try each segment's first letter case-flipped */
    struct mh_map aliases;                     /* field name -> alias index + 1 */
    uint32_t nalias;
    struct mh_alias {
        const char *field;
        uint32_t npaths;
        struct mh_fpath *paths;
    } *alias;
};

struct mh_ruleset_stats {
    uint64_t files, files_failed, documents;
    uint64_t loaded, rejected, warnings;
    uint64_t detection, correlation, filter; /* loaded, by kind */
    uint64_t disabled;                       /* loaded but never evaluated */
    uint64_t routed;                         /* detection rules with a route */
};

/* A prefilter literal: a necessary substring shared by some rules. */
struct mh_pf_lit {
    const char *text;
    uint32_t len;
    bool cased;
    uint32_t nrules;
    uint32_t *rules; /* rule indexes */
};

typedef struct mh_ruleset mh_ruleset;

struct mh_ruleset {
    struct mh_ruleset_opts opts;
    char data_dir[4096];
    struct mh_arena arena;
    struct mh_rule **rules;
    size_t nrules, caprules;
    struct mh_route *routes;
    size_t nroutes;
    struct mh_field *fields;
    size_t nfields, capfields;
    struct mh_map field_index; /* "route\x1fname" -> field index + 1 */
    struct mh_map expand;      /* placeholder -> values (arena pointer cast) */
    struct mh_regex **regexes; /* everything compiled, freed with the ruleset */
    size_t nregexes, capregexes;
    struct mh_ruleset_stats stats;
    bool compiled;
    /* prefilter (built by compile) */
    struct mh_pf_lit *lits;
    size_t nlits;
    struct mh_mm_db *pf_db;  /* literal ids 0..nlits-1, unsafe-escape ids >= nlits */
    uint32_t pf_unsafe_id;   /* id of the one \\u00 escape literal */
    uint32_t *always;        /* rules that are candidates for every record */
    size_t nalways;
    uint32_t *active;        /* evaluated rules (routed, enabled, detection), by index */
    size_t nactive;
    uint32_t *by_kind[32];   /* per source kind: active rule indexes routed to it */
    size_t nby_kind[32];
    uint32_t *corrs;         /* enabled correlation rule indexes, in dependency order */
    size_t ncorrs;
};

MH_MUST_CHECK mh_status mh_ruleset_new(const struct mh_ruleset_opts *opts, mh_ruleset **out,
                                       mh_error *err);
void mh_ruleset_free(mh_ruleset *rs);

/* Load a rule file or a folder (recursive, sorted, *.yml / *.yaml). Bad
 * rules are reported (notes) and skipped: the return is MH_OK unless the
 * path itself cannot be read (MH_EIO) or memory runs out. */
MH_MUST_CHECK mh_status mh_ruleset_add_path(mh_ruleset *rs, const char *path, mh_error *err);
MH_MUST_CHECK mh_status mh_ruleset_add_memory(mh_ruleset *rs, const char *name, const char *data,
                                              size_t len, mh_error *err);
MH_MUST_CHECK mh_status mh_ruleset_compile(mh_ruleset *rs, mh_error *err);

/* Rule by id or name (NULL if none). */
const struct mh_rule *mh_ruleset_find(const mh_ruleset *rs, const char *ref);
const struct mh_field *mh_ruleset_field(const mh_ruleset *rs, uint32_t i);

/* internal to src/rules/ */
MH_MUST_CHECK mh_status mh_ruleset_keep_regex(mh_ruleset *rs, struct mh_regex *re);
MH_MUST_CHECK mh_status mh_ruleset_load_doc(mh_ruleset *rs, const char *file, uint32_t doc,
                                            const void *ynode, uint32_t line);
MH_MUST_CHECK mh_status mh_fieldmaps_load(mh_ruleset *rs, const char *dir, mh_error *err);
void mh_ruleset_note(mh_ruleset *rs, enum mh_note_kind k, const struct mh_rule *r,
                     const mh_error *err);
/* A warning about rule r at file:line:col (byte offset), formatted detail. */
void mh_ruleset_warnv(mh_ruleset *rs, const struct mh_rule *r, const char *file, uint64_t line,
                      uint64_t col, uint64_t offset, const char *msg, const char *fmt, va_list ap)
    MH_PRINTF(8, 0);

#endif

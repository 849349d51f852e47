/*
 * secrets/gitleaks.h -- gitleaks' rule-file format, loaded and validated like gitleaks
 *
 * Pipeline: rule file (TOML, secrets/toml.h) -> [gitleaks config] ->
 * secrets/scan.h (compiled engine) -> findings.
 *
 * Data model (gitleaks config/config.go, rule.go, allowlist.go):
 *   config   title, description, minVersion, rules (in order), global allowlists
 *   rule     id, description, regex, path, secretGroup, entropy, keywords
 *            (lower-cased), tags, skipReport, allowlists, required
 *   allowlist description, condition (OR | AND), regexTarget (secret | match |
 *            line), commits, paths, regexes, stopwords (lower-cased, unique)
 * Both the deprecated single tables ([allowlist], [rules.allowlist]) and the
 * arrays ([[allowlists]], [[rules.allowlists]]) are read; using both forms in
 * one place is an error, as in gitleaks. A top-level allowlist with
 * targetRules is attached to those rules instead of being global.
 *
 * [extend]: `path` (resolved against opts->base_dir, else the including
 * file's directory, else the working directory as gitleaks does) or
 * `useDefault` (the file opts->default_path: mailhound's rules/secrets/
 * default.toml from the CLI, gitleaks' own gitleaks.toml in its tests), with
 * `disabledRules`. The chain stops at depth MH_GL_MAX_EXTEND_DEPTH (gitleaks'
 * maxExtendDepth = 2: a base's base is read, its base is not). Merging is
 * gitleaks': a rule of the extending file overrides the base's description,
 * entropy, secretGroup, regex and path when set, and appends tags, keywords
 * and allowlists; base rules not overridden are added; rule order is then
 * sorted by id.
 *
 * Validation (after extension, on the final rules, in rule order): id
 * present; regex or path present; secretGroup <= capture groups; every
 * allowlist has at least one check; condition and regexTarget known; target
 * and required rule ids exist; every regex compiles (PCRE2). Errors carry
 * gitleaks' wording plus the file and line of the offending table.
 *
 * Regexes are compiled once here (rule regex and path; each allowlist's
 * regexes and paths joined into one alternation) and are immutable: a loaded
 * config may be shared by threads. Unknown keys are ignored (as viper does);
 * a known key of the wrong type is an error.
 */
#ifndef MH_SECRETS_GITLEAKS_H
#define MH_SECRETS_GITLEAKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailhound/status.h"
#include "rules/regex.h"

enum mh_gl_condition { MH_GL_OR = 0, MH_GL_AND };
enum mh_gl_target { MH_GL_TARGET_SECRET = 0, MH_GL_TARGET_MATCH, MH_GL_TARGET_LINE };

struct mh_gl_strs {
    const char **v; /* NUL-terminated strings owned by the config */
    size_t n;
};

struct mh_gl_allowlist {
    const char *description;
    enum mh_gl_condition condition;
    enum mh_gl_target target;
    struct mh_gl_strs commits, paths, regexes, stopwords; /* stopwords lower-cased, unique */
    struct mh_regex *path_re;  /* paths joined "(?:p1)|(?:p2)"; NULL when none */
    struct mh_regex *regex_re; /* regexes joined; NULL when none */
    const char *origin;        /* file and line of the table, for messages */
    uint32_t line;
};

struct mh_gl_required {
    const char *id;
    int within_lines, within_columns; /* -1 = not set */
};

struct mh_gl_rule {
    const char *id, *description;
    const char *regex, *path;            /* sources; NULL when absent */
    struct mh_regex *regex_re, *path_re; /* compiled; NULL when absent */
    int secret_group;
    double entropy;                   /* 0 = no threshold */
    struct mh_gl_strs keywords, tags; /* keywords lower-cased */
    bool skip_report;
    struct mh_gl_allowlist **allowlists;
    size_t nallowlists;
    struct mh_gl_required *required;
    size_t nrequired;
    const char *origin; /* file that defined (last overrode) the rule */
    uint32_t line;
};

struct mh_gl_config {
    const char *title, *description, *min_version;
    struct mh_gl_rule **rules; /* final order */
    size_t nrules;
    struct mh_gl_allowlist **allowlists; /* global (no targetRules) */
    size_t nallowlists;
    unsigned extend_depth; /* configs read through [extend] */
    void *priv;            /* arena and compiled regexes */
};

struct mh_gl_load_opts {
    const char *default_path; /* file for [extend] useDefault; NULL: useDefault is an error */
    const char *base_dir;     /* first directory for relative [extend] paths; NULL: the file's */
};

/*
 * Load and validate a rule file. opts may be NULL. Statuses: MH_OK; MH_EIO
 * (file or extended file unreadable, errno in err); MH_EPARSE (TOML error or
 * a gitleaks validation error: err->msg fixed, err->detail gitleaks' text,
 * err->origin/line the file and table); MH_ELIMIT; MH_ENOMEM. *out untouched
 * on failure.
 */
MH_MUST_CHECK mh_status mh_gl_load_file(const char *path, const struct mh_gl_load_opts *opts,
                                        struct mh_gl_config **out, mh_error *err);
/* Same from memory; origin names it in errors and is the base for relative
 * [extend] paths when opts->base_dir is NULL. */
MH_MUST_CHECK mh_status mh_gl_load_mem(const char *text, size_t n, const char *origin,
                                       const struct mh_gl_load_opts *opts,
                                       struct mh_gl_config **out, mh_error *err);
/* Release a config (its regexes included); NULL is a no-op. */
void mh_gl_free(struct mh_gl_config *c);
/* Non-fatal remarks made while loading (a disabled rule that does not exist,
 * a rule left with neither regex nor path after [extend], [extend] url):
 * *out gets an array of messages owned by c. Returns their number. */
size_t mh_gl_config_warnings(const struct mh_gl_config *c, const char *const **out);
/* Rule by id, NULL when absent. */
const struct mh_gl_rule *mh_gl_find(const struct mh_gl_config *c, const char *id);

#endif

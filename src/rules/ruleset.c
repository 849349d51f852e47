/*
 * rules/ruleset.c -- the ruleset container: files, documents, notes, lookups
 *
 * Pipeline: -r paths -> [ruleset: load] -> compile.c -> match.
 * See ruleset.h. This file reads rule files (bounded by
 * MH_MAX_RULE_FILE_BYTES), walks folders in sorted order (deterministic rule
 * order, hence deterministic output), parses YAML and hands every document
 * to load.c. Compilation lives in compile.c.
 */
#include "rules/ruleset.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "mailhound/limits.h"
#include "rules/pattern.h"
#include "rules/yaml.h"

const char *mh_level_name(enum mh_level l)
{
    static const char *const n[] = {"", "informational", "low", "medium", "high", "critical"};
    return (unsigned)l < 6 ? n[l] : "";
}

enum mh_level mh_level_parse(const char *s, size_t n)
{
    static const char *const names[] = {"informational", "low", "medium", "high", "critical"};
    for (int i = 0; i < 5; i++) {
        size_t l = strlen(names[i]);
        if (l != n) continue;
        size_t k = 0;
        while (k < n && mh_ascii_lower((unsigned char)s[k]) == (unsigned char)names[i][k]) k++;
        if (k == n) return (enum mh_level)(i + 1);
    }
    return MH_LEVEL_NONE;
}

const char *mh_corr_type_name(enum mh_corr_type t)
{
    static const char *const n[] = {"event_count", "value_count", "temporal", "temporal_ordered",
                                    "value_sum", "value_avg", "value_percentile"};
    return (unsigned)t < 7 ? n[t] : "?";
}

void mh_ruleset_note(mh_ruleset *rs, enum mh_note_kind k, const struct mh_rule *r,
                     const mh_error *err)
{
    if (k == MH_NOTE_WARNING) rs->stats.warnings++;
    if (rs->opts.on_note) rs->opts.on_note(rs->opts.ctx, k, r, err);
}

void mh_ruleset_warnv(mh_ruleset *rs, const struct mh_rule *r, const char *file, uint64_t line,
                      uint64_t col, uint64_t offset, const char *msg, const char *fmt, va_list ap)
{
    mh_error w;
    char d[256];
    vsnprintf(d, sizeof d, fmt, ap);
    mh_error_clear(&w);
    mh_error_set(&w, MH_OK, msg, "%s", d);
    mh_error_at(&w, file, line, col, offset, 0);
    mh_ruleset_note(rs, MH_NOTE_WARNING, r, &w);
}

mh_status mh_ruleset_keep_regex(mh_ruleset *rs, struct mh_regex *re)
{
    if (!re) return MH_OK;
    if (MH_GROW(rs->regexes, rs->capregexes, rs->nregexes + 1, 64, SIZE_MAX) != MH_OK) {
        mh_regex_free(re);
        return MH_ENOMEM;
    }
    rs->regexes[rs->nregexes++] = re;
    return MH_OK;
}

mh_status mh_ruleset_new(const struct mh_ruleset_opts *opts, mh_ruleset **out, mh_error *err)
{
    mh_status st = MH_OK;
    mh_ruleset *rs = mh_calloc(1, sizeof *rs);
    if (!rs) return mh_error_set(err, MH_ENOMEM, "out of memory", "%s", "ruleset");
    if (opts) rs->opts = *opts;
    mh_arena_init(&rs->arena, 1u << 20, (size_t)4 << 30);
    mh_map_init(&rs->field_index, (size_t)MH_MAX_RULES * 16, false);
    mh_map_init(&rs->expand, 100000, false);
    const char *dd = rs->opts.data_dir;
    if (!dd) dd = getenv("MAILHOUND_DATA");
    if (!dd || !*dd) dd = MH_DATA_DIR;
    snprintf(rs->data_dir, sizeof rs->data_dir, "%s", dd);
    char fm[4400];
    if (rs->opts.fieldmap_dir) snprintf(fm, sizeof fm, "%s", rs->opts.fieldmap_dir);
    else snprintf(fm, sizeof fm, "%s/rules/fieldmaps", rs->data_dir);
    MH_CHECK(mh_fieldmaps_load(rs, fm, err));
    *out = rs;
    rs = NULL;
out:
    mh_ruleset_free(rs);
    return st;
}

void mh_ruleset_free(mh_ruleset *rs)
{
    if (!rs) return;
    for (size_t i = 0; i < rs->nregexes; i++) mh_regex_free(rs->regexes[i]);
    mh_free(rs->regexes);
    for (size_t i = 0; i < rs->nroutes; i++) mh_map_fini(&rs->routes[i].aliases);
    mh_free(rs->routes);
    mh_free(rs->fields);
    mh_free(rs->rules);
    mh_mm_free(rs->pf_db);
    mh_map_fini(&rs->field_index);
    mh_map_fini(&rs->expand);
    mh_arena_fini(&rs->arena);
    mh_free(rs);
}

static mh_status load_buffer(mh_ruleset *rs, const char *name, const char *data, size_t len)
{
    mh_status st = MH_OK;
    struct mh_yfile yf;
    mh_error err;
    mh_error_clear(&err);
    const char *file = mh_arena_strndup(&rs->arena, name, strlen(name));
    if (!file) return MH_ENOMEM;
    mh_yaml_init(&yf);
    mh_status pst = mh_yaml_parse(&yf, data, len, &err);
    if (pst == MH_ENOMEM) {
        st = pst;
        goto out;
    }
    rs->stats.documents += yf.ndocs;
    for (size_t i = 0; i < yf.ndocs; i++) {
        st = mh_ruleset_load_doc(rs, file, (uint32_t)i, yf.docs[i].root, yf.docs[i].line);
        if (st) goto out;
    }
    if (pst) {
        /* the document with the syntax error (and the rest of the file) */
        rs->stats.documents++;
        rs->stats.rejected++;
        snprintf(err.origin, sizeof err.origin, "%.255s", file);
        mh_ruleset_note(rs, MH_NOTE_REJECTED, NULL, &err);
    }
out:
    mh_yaml_fini(&yf);
    return st;
}

mh_status mh_ruleset_add_memory(mh_ruleset *rs, const char *name, const char *data, size_t len,
                                mh_error *err)
{
    if (rs->compiled) return mh_error_set(err, MH_EINVAL, "ruleset already compiled", "%s", name);
    if (rs->stats.files >= MH_MAX_RULE_FILES)
        return mh_error_set(err, MH_ELIMIT, "too many rule files", "limit %d", MH_MAX_RULE_FILES);
    rs->stats.files++;
    mh_status st = load_buffer(rs, name, data, len);
    if (st) return mh_error_set(err, st, "out of memory", "%s", name);
    return MH_OK;
}

static void file_fail(mh_ruleset *rs, const char *path, mh_status st, const char *msg, int e)
{
    mh_error ferr;
    mh_error_clear(&ferr);
    mh_error_set(&ferr, st, msg, "%s", e ? strerror(e) : "");
    ferr.sys_errno = e;
    snprintf(ferr.origin, sizeof ferr.origin, "%.255s", path);
    rs->stats.files_failed++;
    rs->stats.rejected++;
    mh_ruleset_note(rs, MH_NOTE_REJECTED, NULL, &ferr);
}

static mh_status add_file(mh_ruleset *rs, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        file_fail(rs, path, MH_EIO, "cannot open rule file", errno);
        return MH_OK;
    }
    struct stat sb;
    size_t want = MH_MAX_RULE_FILE_BYTES + 1;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size < want)
        want = (size_t)sb.st_size + 1; /* +1 detects growth past the limit */
    char *buf = mh_malloc(want);
    if (!buf) {
        fclose(f);
        return MH_ENOMEM;
    }
    size_t n = fread(buf, 1, want, f);
    int rerr = ferror(f) ? errno : 0;
    fclose(f);
    mh_status st = MH_OK;
    if (rerr) file_fail(rs, path, MH_EIO, "cannot read rule file", rerr);
    else if (n > MH_MAX_RULE_FILE_BYTES) file_fail(rs, path, MH_ELIMIT, "rule file too large", 0);
    else {
        rs->stats.files++;
        st = load_buffer(rs, path, buf, n);
    }
    mh_free(buf);
    return st;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_rule_file(const char *name)
{
    size_t l = strlen(name);
    return (l > 4 && strcmp(name + l - 4, ".yml") == 0) ||
           (l > 5 && strcmp(name + l - 5, ".yaml") == 0);
}

static mh_status add_dir(mh_ruleset *rs, const char *path, int depth)
{
    if (depth > MH_MAX_PATH_DEPTH) {
        file_fail(rs, path, MH_ELIMIT, "folder nesting too deep", 0);
        return MH_OK;
    }
    DIR *d = opendir(path);
    if (!d) {
        file_fail(rs, path, MH_EIO, "cannot open folder", errno);
        return MH_OK;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    mh_status st = MH_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (MH_GROW(names, cap, n + 1, 64, SIZE_MAX) != MH_OK) {
            st = MH_ENOMEM;
            break;
        }
        names[n] = mh_strdup(e->d_name);
        if (!names[n]) {
            st = MH_ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (st == MH_OK && n) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n && st == MH_OK; i++) {
        char sub[4096];
        int w = snprintf(sub, sizeof sub, "%s/%s", path, names[i]);
        if (w < 0 || (size_t)w >= sizeof sub) {
            file_fail(rs, names[i], MH_ELIMIT, "path too long", 0);
            continue;
        }
        struct stat sb;
        if (stat(sub, &sb) != 0) {
            file_fail(rs, sub, MH_EIO, "cannot stat", errno);
            continue;
        }
        /* a rules tree may carry its field maps (rules/fieldmaps): not rules */
        if (S_ISDIR(sb.st_mode) && strcmp(names[i], "fieldmaps") == 0) continue;
        if (S_ISDIR(sb.st_mode)) st = add_dir(rs, sub, depth + 1);
        else if (S_ISREG(sb.st_mode) && is_rule_file(names[i])) st = add_file(rs, sub);
    }
    for (size_t i = 0; i < n; i++) mh_free(names[i]);
    mh_free(names);
    return st;
}

mh_status mh_ruleset_add_path(mh_ruleset *rs, const char *path, mh_error *err)
{
    if (rs->compiled) return mh_error_set(err, MH_EINVAL, "ruleset already compiled", "%s", path);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        mh_error_set(err, MH_EIO, "cannot read rules", "%s: %s", path, strerror(errno));
        if (err) err->sys_errno = errno;
        return MH_EIO;
    }
    mh_status st = S_ISDIR(sb.st_mode) ? add_dir(rs, path, 0) : add_file(rs, path);
    if (st) return mh_error_set(err, st, "out of memory", "%s", "loading rules");
    return MH_OK;
}

const struct mh_rule *mh_ruleset_find(const mh_ruleset *rs, const char *ref)
{
    for (size_t i = 0; i < rs->nrules; i++)
        if (rs->rules[i]->id && strcmp(rs->rules[i]->id, ref) == 0) return rs->rules[i];
    for (size_t i = 0; i < rs->nrules; i++)
        if (rs->rules[i]->name && strcmp(rs->rules[i]->name, ref) == 0) return rs->rules[i];
    return NULL;
}

const struct mh_field *mh_ruleset_field(const mh_ruleset *rs, uint32_t i)
{
    return i < rs->nfields ? &rs->fields[i] : NULL;
}

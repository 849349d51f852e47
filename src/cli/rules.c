/*
 * cli/rules.c -- `mailhound rules check|explain`
 *
 *   mailhound rules check [-q] [--fieldmaps DIR] [--expand DIR] PATH...
 *       Load every Sigma rule under PATH; print each rule as loaded or
 *       rejected (file:line:col and the reason), every warning, and totals.
 *       Exit 0 when nothing was rejected, 1 otherwise.
 *   mailhound rules explain [-r RULES]... [--fieldmaps DIR] [--expand DIR] RULE...
 *       RULE is a rule file, or an id/name/title found in -r RULES: print
 *       the fields used (with their alias paths), the prefilter literals,
 *       the regexes and a cost estimate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "cli/cli.h"
#include "rules/explain.h"
#include "rules/ruleset.h"

struct check_ctx {
    bool quiet;
    FILE *out;
};

static const char *kind_name(const struct mh_rule *r)
{
    return r->kind == MH_RK_DETECTION ? "detection" : r->kind == MH_RK_CORRELATION ? "correlation" : "filter";
}

static void where(FILE *o, const mh_error *e)
{
    if (e->origin[0]) fprintf(o, "%s", e->origin);
    if (e->line) fprintf(o, ":%llu", (unsigned long long)e->line);
    if (e->line && e->column) fprintf(o, ":%llu", (unsigned long long)e->column);
    fputs(": ", o);
}

static void on_note(void *ctx, enum mh_note_kind k, const struct mh_rule *r, const mh_error *e)
{
    struct check_ctx *c = ctx;
    if (k == MH_NOTE_LOADED) {
        if (c->quiet) return;
        where(c->out, e);
        fprintf(c->out, "loaded %s '%s'%s%s%s%s\n", kind_name(r), r->title ? r->title : "",
                r->id ? " (" : "", r->id ? r->id : "", r->id ? ")" : "",
                r->disabled ? " [disabled]" : "");
        return;
    }
    where(c->out, e);
    fprintf(c->out, "%s: %s", k == MH_NOTE_REJECTED ? "rejected" : "warning",
            e->msg ? e->msg : mh_status_str(e->code));
    if (e->detail[0]) fprintf(c->out, ": %s", e->detail);
    if (e->sys_errno) fprintf(c->out, ": %s", strerror(e->sys_errno));
    if (r && r->title && k == MH_NOTE_WARNING) fprintf(c->out, " [%s]", r->title);
    fputc('\n', c->out);
}

static void usage(FILE *o)
{
    fputs("usage: mailhound rules check [-q] [--fieldmaps DIR] [--expand DIR] PATH...\n"
          "       mailhound rules explain [-r RULES]... [--fieldmaps DIR] [--expand DIR] RULE...\n",
          o);
}

/* A ruleset for o; NULL after printing why (the field maps did not load). */
static mh_ruleset *new_ruleset(const struct mh_ruleset_opts *o, mh_error *err)
{
    mh_ruleset *rs = NULL;
    mh_error_clear(err);
    if (mh_ruleset_new(o, &rs, err) == MH_OK) return rs;
    mh_cli_error("field maps", err);
    return NULL;
}

/* Add the rules at path to rs; false after printing why. */
static bool add_rules(mh_ruleset *rs, const char *path, mh_error *err)
{
    if (mh_ruleset_add_path(rs, path, err) == MH_OK) return true;
    mh_cli_error(NULL, err);
    return false;
}

static int check(int argc, char **argv)
{
    struct check_ctx c = {false, stdout};
    struct mh_ruleset_opts o = {0};
    int npaths = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) c.quiet = true;
        else if (strcmp(argv[i], "-r") == 0) continue; /* `-r PATH` as in hunt */
        else if (strcmp(argv[i], "--fieldmaps") == 0 && i + 1 < argc) o.fieldmap_dir = argv[++i];
        else if (strcmp(argv[i], "--expand") == 0 && i + 1 < argc) o.expand_dir = argv[++i];
        else if (mh_cli_is_help(argv[i])) {
            usage(stdout);
            return MH_EXIT_OK;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            mh_cli_fail("rules check: unknown option %s", argv[i]);
            return MH_EXIT_ERROR;
        } else npaths++;
    }
    if (!npaths) {
        usage(stderr);
        return MH_EXIT_ERROR;
    }
    o.on_note = on_note;
    o.ctx = &c;
    mh_error err;
    mh_ruleset *rs = new_ruleset(&o, &err);
    if (!rs) return MH_EXIT_ERROR;
    int rc = MH_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--fieldmaps") == 0 || strcmp(argv[i], "--expand") == 0) {
            i++;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1]) continue;
        if (!add_rules(rs, argv[i], &err)) rc = MH_EXIT_ERROR;
    }
    if (mh_ruleset_compile(rs, &err) != MH_OK) {
        mh_cli_error("compile", &err);
        rc = MH_EXIT_ERROR;
    }
    const struct mh_ruleset_stats *s = &rs->stats;
    printf("totals: %llu documents in %llu files: %llu loaded (%llu detection, %llu correlation, "
           "%llu filter), %llu rejected, %llu warnings, %llu disabled, %llu routed to a log source\n",
           (unsigned long long)s->documents, (unsigned long long)s->files,
           (unsigned long long)s->loaded, (unsigned long long)s->detection,
           (unsigned long long)s->correlation, (unsigned long long)s->filter,
           (unsigned long long)s->rejected, (unsigned long long)s->warnings,
           (unsigned long long)s->disabled, (unsigned long long)s->routed);
    if (s->rejected) rc = MH_EXIT_ERROR;
    mh_ruleset_free(rs);
    return rc;
}

static void quiet_note(void *ctx, enum mh_note_kind k, const struct mh_rule *r, const mh_error *e)
{
    (void)r;
    if (k == MH_NOTE_LOADED) return;
    struct check_ctx c = {false, stderr};
    on_note(ctx ? ctx : &c, k, r, e);
}

/* RULE is a file (explain every rule in it) or an id / name / title in -r RULES. */
static int explain(int argc, char **argv)
{
    struct mh_ruleset_opts o = {0};
    struct check_ctx c = {false, stderr};
    o.on_note = quiet_note;
    o.ctx = &c;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--fieldmaps") == 0 && i + 1 < argc) o.fieldmap_dir = argv[++i];
        else if (strcmp(argv[i], "--expand") == 0 && i + 1 < argc) o.expand_dir = argv[++i];
        else if (mh_cli_is_help(argv[i])) {
            usage(stdout);
            return MH_EXIT_OK;
        }
    }
    mh_error err;
    mh_ruleset *rs = new_ruleset(&o, &err);
    if (!rs) return MH_EXIT_ERROR;
    int rc = MH_EXIT_OK, nwant = 0;
    const char *want[256];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "--fieldmaps") == 0 || strcmp(a, "--expand") == 0) && i + 1 < argc) {
            i++;
            continue;
        }
        if (strcmp(a, "-r") == 0 && i + 1 < argc) {
            if (!add_rules(rs, argv[++i], &err)) rc = MH_EXIT_ERROR;
            continue;
        }
        struct stat sb;
        if (stat(a, &sb) == 0) {
            size_t before = rs->nrules;
            if (!add_rules(rs, a, &err)) rc = MH_EXIT_ERROR;
            for (size_t k = before; k < rs->nrules && nwant < 256; k++)
                want[nwant++] = rs->rules[k]->id ? rs->rules[k]->id : rs->rules[k]->name ? rs->rules[k]->name : rs->rules[k]->title;
        } else if (nwant < 256) {
            want[nwant++] = a;
        }
    }
    if (!nwant) {
        usage(stderr);
        mh_ruleset_free(rs);
        return MH_EXIT_ERROR;
    }
    if (mh_ruleset_compile(rs, &err) != MH_OK) {
        mh_cli_error("compile", &err);
        mh_ruleset_free(rs);
        return MH_EXIT_ERROR;
    }
    struct mh_buf b;
    mh_buf_init(&b, 1u << 26);
    for (int w = 0; w < nwant; w++) {
        bool found = false;
        for (size_t k = 0; k < rs->nrules; k++) {
            const struct mh_rule *r = rs->rules[k];
            if (!((r->id && strcmp(r->id, want[w]) == 0) || (r->name && strcmp(r->name, want[w]) == 0) ||
                  (r->title && strcmp(r->title, want[w]) == 0)))
                continue;
            found = true;
            mh_buf_clear(&b);
            if (mh_rule_explain(rs, r, &b) != MH_OK) {
                mh_cli_fail("%s", "explain: out of memory");
                rc = MH_EXIT_ERROR;
                break;
            }
            fwrite(b.data, 1, b.len, stdout);
        }
        if (!found) {
            mh_cli_fail("rules explain: no rule with id, name or title '%s'", want[w]);
            rc = MH_EXIT_ERROR;
        }
    }
    mh_buf_fini(&b);
    mh_ruleset_free(rs);
    return rc;
}

int mh_cli_rules(int argc, char **argv)
{
    if (argc < 2 || mh_cli_is_help(argv[1])) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? MH_EXIT_ERROR : MH_EXIT_OK;
    }
    if (strcmp(argv[1], "check") == 0) return check(argc - 1, argv + 1);
    if (strcmp(argv[1], "explain") == 0) return explain(argc - 1, argv + 1);
    mh_cli_fail("rules: unknown subcommand '%s'", argv[1]);
    usage(stderr);
    return MH_EXIT_ERROR;
}

/*
 * cli/common.c -- helpers shared by the commands (see cli.h)
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "cli/cli.h"
#include "ingest/reader.h"

bool mh_cli_bad_count(struct mh_cli_bad *b, const mh_error *err, bool fatal)
{
    bool quiet = b && (b->quiet || b->reported);
    if (mh_reader_not_a_log(err)) {
        if (b) b->not_logs++;
        return !quiet;
    }
    if (b) {
        if (fatal) b->files++;
        else b->records++;
    }
    return fatal ? !(b && b->reported) : !quiet; /* a failed file is shown once */
}

void mh_cli_bad_line(const mh_error *err, bool fatal, char *line, size_t n)
{
    if (mh_reader_not_a_log(err)) {
        snprintf(line, n, "mailhound: warning: not a log file, skipped: %s\n", err->origin);
        return;
    }
    char what[1024];
    mh_error_format(err, what, sizeof what);
    snprintf(line, n, "mailhound: %s: %s\n", fatal ? "error" : "warning: skipped", what);
}

void mh_cli_on_bad(void *ctx, const mh_error *err, bool fatal)
{
    if (!mh_cli_bad_count(ctx, err, fatal)) return;
    char line[MH_CLI_BAD_LINE];
    mh_cli_bad_line(err, fatal, line, sizeof line);
    fputs(line, stderr);
}

void mh_cli_on_warn(void *ctx, const mh_error *err, bool fatal)
{
    (void)fatal;
    struct mh_cli_bad *b = ctx;
    if (b) {
        b->warnings++;
        if (b->quiet) return;
    }
    char line[1024];
    mh_error_format(err, line, sizeof line);
    fprintf(stderr, "mailhound: warning: %s\n", line);
}

void mh_cli_on_message(void *ctx, const mh_error *err)
{
    struct mh_cli_bad *b = ctx;
    bool fatal = err->code != MH_EPARSE;
    if (b) {
        if (fatal) b->files++;
        else b->records++;
    }
    if (b && b->quiet && !fatal) return;
    char line[1024];
    mh_error_format(err, line, sizeof line);
    fprintf(stderr, "mailhound: %s: %s\n", fatal ? "error: reading a message" : "warning", line);
}

mh_status mh_cli_open_logs(struct mh_cli_bad *bad, const char *const *paths, size_t n,
                           mh_evstream **out)
{
    struct mh_evstream_opts o;
    memset(&o, 0, sizeof o);
    o.on_bad = mh_cli_on_bad; /* a failed file is shown even with -q */
    o.on_warn = mh_cli_on_warn;
    o.ctx = bad;
    mh_evstream *s = NULL;
    mh_status st = mh_evstream_new(&o, &s);
    if (st) return st;
    *out = s;
    for (size_t i = 0; !st && i < n; i++) st = mh_evstream_add_path(s, paths[i]);
    return st;
}

void mh_cli_error(const char *what, const mh_error *err)
{
    char line[1024];
    mh_error_format(err, line, sizeof line);
    if (what) fprintf(stderr, "mailhound: error: %s: %s\n", what, line);
    else fprintf(stderr, "mailhound: error: %s\n", line);
}

void mh_cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mailhound: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

char **mh_cli_split_args(int argc, char **argv, int *argc_out)
{
    /* the short options that take a value; every other short option is a flag */
    static char short_valued[][3] = {"-j", "-o", "-r"};
    char **out = mh_calloc(2 * (size_t)argc + 1, sizeof *out);
    if (!out) return NULL;
    int n = 0;
    bool rest = false;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        char *eq;
        if (rest || i == 0 || a[0] != '-' || a[1] == '\0') {
            out[n++] = a;
        } else if (strcmp(a, "--") == 0) {
            rest = true;
            out[n++] = a;
        } else if (a[1] == '-' && (eq = strchr(a, '=')) != NULL) {
            *eq = '\0';
            out[n++] = a;
            out[n++] = eq + 1;
        } else if (a[1] != '-' && a[2] != '\0') {
            char *name = NULL;
            for (size_t k = 0; k < sizeof short_valued / sizeof short_valued[0]; k++)
                if (a[1] == short_valued[k][1]) name = short_valued[k];
            out[n++] = name ? name : a;
            if (name) out[n++] = a + 2;
        } else {
            out[n++] = a;
        }
    }
    out[n] = NULL;
    *argc_out = n;
    return out;
}

bool mh_cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

FILE *mh_cli_open_out(const char *path)
{
    if (!path || strcmp(path, "-") == 0) return stdout;
    FILE *f = fopen(path, "wb");
    if (!f) mh_cli_fail("cannot write %s", path);
    return f;
}

const char *mh_cli_value(const char *name, int argc, char **argv, int *i, bool *is)
{
    *is = strcmp(argv[*i], name) == 0;
    if (!*is) return NULL;
    return *i + 1 < argc ? argv[++*i] : NULL;
}

void mh_cli_args_fini(struct mh_cli_args *a)
{
    mh_free(a->paths);
    a->paths = NULL;
    a->npaths = 0;
}

int mh_cli_parse_paths(const char *cmd, int argc, char **argv, void (*usage)(FILE *),
                       mh_cli_opt_fn opt, void *ctx, struct mh_cli_args *a)
{
    bool dashdash = false;
    memset(a, 0, sizeof *a);
    a->paths = mh_calloc((size_t)argc + 1, sizeof *a->paths);
    if (!a->paths) {
        mh_cli_fail("%s: out of memory", cmd);
        return MH_EXIT_ERROR;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int took = MH_CLI_OPT_UNKNOWN;
        if (dashdash || arg[0] != '-' || arg[1] == '\0') {
            a->paths[a->npaths++] = argv[i];
        } else if (mh_cli_is_help(arg)) {
            usage(stdout);
            return MH_EXIT_OK;
        } else if (opt && (took = opt(ctx, argc, argv, &i)) != MH_CLI_OPT_UNKNOWN) {
            if (took == MH_CLI_OPT_BAD) return MH_EXIT_ERROR;
        } else if (strcmp(arg, "-q") == 0 || strcmp(arg, "--quiet") == 0) {
            a->quiet = true;
        } else if (strcmp(arg, "--") == 0) {
            dashdash = true;
        } else {
            mh_cli_fail("%s: unknown option '%s' (see mailhound %s --help)", cmd, arg, cmd);
            return MH_EXIT_ERROR;
        }
    }
    if (a->npaths == 0) {
        mh_cli_fail("%s: no PATH given (use - for standard input; see mailhound %s --help)", cmd,
                    cmd);
        return MH_EXIT_ERROR;
    }
    return MH_CLI_GO_ON;
}

/*
 * cli/common.c -- helpers shared by the commands (see cli.h)
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "ingest/reader.h"

void mh_cli_on_bad(void *ctx, const mh_error *err, bool fatal)
{
    struct mh_cli_bad *b = ctx;
    bool quiet = b && b->quiet;
    if (mh_reader_not_a_log(err)) {
        if (b) b->not_logs++;
        if (!quiet) fprintf(stderr, "mailhound: warning: not a log file, skipped: %s\n", err->origin);
        return;
    }
    if (b) {
        if (fatal) b->files++;
        else b->records++;
    }
    if (quiet && !fatal) return; /* a failed file is always shown */
    char line[1024];
    mh_error_format(err, line, sizeof line);
    fprintf(stderr, "mailhound: %s: %s\n", fatal ? "error" : "warning: skipped", line);
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

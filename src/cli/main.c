/*
 * cli/main.c -- `mailhound COMMAND [options]`: dispatch, --help, --version
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "cli/cli.h"

#pragma weak mh_cli_cat
#pragma weak mh_cli_stats
#pragma weak mh_cli_hunt
#pragma weak mh_cli_rules
#pragma weak mh_cli_simulate
#pragma weak mh_cli_scope
#pragma weak mh_cli_secrets
#pragma weak mh_cli_notify
#pragma weak mh_cli_investigate

struct command {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
};

static const struct command commands[] = {
    {"cat", mh_cli_cat, "print normalized events, one JSON object per line"},
    {"stats", mh_cli_stats, "count events by source and operation; read/used/skipped"},
    {"hunt", mh_cli_hunt, "run Sigma rules and built-in detectors; alerts and incidents"},
    {"rules", mh_cli_rules, "check or explain Sigma rules"},
    {"simulate", mh_cli_simulate, "generate a tenant under attack, with ground truth"},
    {"scope", mh_cli_scope, "which mailboxes and messages were taken"},
    {"secrets", mh_cli_secrets, "find secrets in mail (gitleaks rule format)"},
    {"notify", mh_cli_notify, "one package per affected organisation"},
    {"investigate", mh_cli_investigate, "hunt -> scope -> secrets -> notify in one run"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: mailhound COMMAND [options] [PATH...]\n"
                 "       mailhound COMMAND --help\n"
                 "       mailhound --version\n\n"
                 "Detect, scope and answer mailbox compromise in Microsoft 365 / Entra ID logs.\n\n"
                 "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].fn) fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nPATH is a log file, a folder (read recursively) or - for stdin; gzip and\n"
                 "zstd are decompressed and every export format is recognised by content.\n"
                 "Exit status: 0 run completed, 1 usage or input error, 2 alerts with\n"
                 "--fail-on-alert.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return MH_EXIT_ERROR;
    }
    if (mh_cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return MH_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("mailhound %s\n", MH_VERSION);
        return MH_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0) continue;
        if (!commands[i].fn) {
            mh_cli_fail("command '%s' is not available in this build", argv[1]);
            return MH_EXIT_ERROR;
        }
        int n;
        char **args = mh_cli_split_args(argc - 1, argv + 1, &n);
        if (!args) {
            mh_cli_fail("%s", "out of memory");
            return MH_EXIT_ERROR;
        }
        int rc = commands[i].fn(n, args);
        mh_free(args);
        return rc;
    }
    mh_cli_fail("unknown command '%s' (see mailhound --help)", argv[1]);
    return MH_EXIT_ERROR;
}

/*
 * cli/cli.h -- the command line: one file per command, shared helpers
 *
 * Only src/cli/ talks to people: it prints, picks exit codes (0 = the run
 * completed, 1 = usage or input errors, 2 = --fail-on-alert and alerts fired)
 * and renders mh_error positions. Each command is `int mh_cli_<name>(argc, argv)`
 * with argv[0] = the command name; main.c dispatches. A command whose file is
 * not linked into this build is reported as unavailable (weak symbols).
 */
#ifndef MH_CLI_CLI_H
#define MH_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/time.h"
#include "correlate/detector.h"
#include "mailhound/status.h"
#include "notify/org.h"

#define MH_EXIT_OK 0
#define MH_EXIT_ERROR 1
#define MH_EXIT_ALERT 2

int mh_cli_cat(int argc, char **argv);
int mh_cli_stats(int argc, char **argv);
int mh_cli_hunt(int argc, char **argv);
int mh_cli_rules(int argc, char **argv);
int mh_cli_simulate(int argc, char **argv);
int mh_cli_scope(int argc, char **argv);
int mh_cli_secrets(int argc, char **argv);
int mh_cli_notify(int argc, char **argv);
int mh_cli_investigate(int argc, char **argv);

/* Bad-input reporter for mh_reader_opts.on_bad: prints one line to stderr
 * ("mailhound: warning: FILE:LINE: record N, byte B: reason") and counts. */
struct mh_cli_bad {
    uint64_t records; /* bad records reported */
    uint64_t files;   /* failed files reported */
    bool quiet;       /* count only */
};
void mh_cli_on_bad(void *ctx, const mh_error *err, bool fatal);

/* Print "mailhound: error: <formatted err>" to stderr. */
void mh_cli_error(const char *what, const mh_error *err);
/* Print "mailhound: error: ..." (printf-style) to stderr. */
void mh_cli_fail(const char *fmt, ...) MH_PRINTF(1, 2);

/* True when argv[i] is -h/--help. */
bool mh_cli_is_help(const char *arg);

/* Open -o FILE (or stdout when path is NULL or "-"). */
FILE *mh_cli_open_out(const char *path);

/* ---- shared by the commands of the pipeline (investigate reuses them) ---- */

/* First-party app ids (rules/data/first-party-apps.tsv) into fp; false (and
 * a message) when they cannot be loaded: then no app id is excluded. */
bool mh_cli_first_party(struct mh_appset *fp);

/* Organisation rules as `notify` builds them: the shipped free-mail list,
 * then --freemail, --tenant, --org-overrides, --dn-map, --internal. Errors
 * are printed; the status is returned. */
struct mh_cli_orgs_opts {
    const char *tenant;
    const char *const *over;
    size_t nover;
    const char *const *freemail;
    size_t nfree;
    const char *const *dnmap;
    size_t ndn;
    const char *const *internal;
    size_t nint;
};
MH_MUST_CHECK mh_status mh_cli_orgs_load(const struct mh_cli_orgs_opts *o, mh_orgs **out);

/* mh_notify_note_fn that prints one warning per note (unless quiet). */
struct mh_cli_notes {
    bool quiet;
    uint64_t printed;
};
void mh_cli_notify_note(void *ctx, const char *kind, const char *detail);

/* YYYY-MM-DD or a full time -> out; 0 when it is neither. */
int mh_cli_parse_date(const char *s, mh_time *out);

#endif

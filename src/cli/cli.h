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
#include "normalize/stream.h"
#include "notify/org.h"
#include "scope/scope.h"

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

/* Bad-input reporter for mh_reader_opts.on_bad (and the mail store's): prints
 * one line to stderr ("mailhound: warning: skipped: FILE:LINE: record N, byte
 * B: reason", "mailhound: error: FILE: reason" for a failed file,
 * "mailhound: warning: not a log file, skipped: FILE" for a file in a folder
 * that is not a log) and counts. quiet silences the warnings, never a
 * failed file. The same policy for every command. */
struct mh_cli_bad {
    uint64_t records;  /* bad records reported */
    uint64_t files;    /* failed files reported */
    uint64_t not_logs; /* files in a folder that are not logs (skipped) */
    uint64_t warnings; /* events kept with a problem (mh_cli_on_warn) */
    bool quiet;        /* count the warnings only */
    bool reported;     /* count only, failed files too: an earlier read of the
                          same input printed them (investigate: hunt, then scope) */
};
void mh_cli_on_bad(void *ctx, const mh_error *err, bool fatal);
/* mh_cli_on_bad in two steps, for reports printed later (hunt holds the
 * reader's until their record's turn): count now and say whether the report
 * is shown; then its line ("mailhound: ...\n", at most MH_CLI_BAD_LINE). */
#define MH_CLI_BAD_LINE 1400
bool mh_cli_bad_count(struct mh_cli_bad *b, const mh_error *err, bool fatal);
void mh_cli_bad_line(const mh_error *err, bool fatal, char *line, size_t n);
/* Reporter for mh_evstream_opts.on_warn (ctx: a struct mh_cli_bad): counts and,
 * unless quiet, prints "mailhound: warning: FILE:LINE: record N, byte B: reason". */
void mh_cli_on_warn(void *ctx, const mh_error *err, bool fatal);

/* Reporter for a message of the mail store that the secret scan met
 * (mh_secrets_mail_opts.on_malformed; ctx: a struct mh_cli_bad): a malformed
 * message (MH_EPARSE, still scanned as far as readable) is counted in records
 * and, unless quiet, printed "mailhound: warning: FILE: ..."; a copy that
 * could not be read is counted in files and always printed "mailhound:
 * error: reading a message: FILE: ...". */
void mh_cli_on_message(void *ctx, const mh_error *err);

/* An event stream over the logs paths[0..n) that reports through bad
 * (mh_cli_on_bad, mh_cli_on_warn). *out is set as soon as the stream exists,
 * also when queuing a path then fails, so the caller frees it (and may read
 * its stats) whatever the status. */
MH_MUST_CHECK mh_status mh_cli_open_logs(struct mh_cli_bad *bad, const char *const *paths, size_t n,
                                         mh_evstream **out);

/* Print "mailhound: error: <formatted err>" to stderr. */
void mh_cli_error(const char *what, const mh_error *err);
/* Print "mailhound: error: ..." (printf-style) to stderr. */
void mh_cli_fail(const char *fmt, ...) MH_PRINTF(1, 2);

/* The one spelling every command parses: `--name=value` becomes `--name`
 * `value`, and a value attached to a short option that takes one (`-j4`,
 * `-rRULES`, `-oFILE`) becomes two words, so `-j 4`, `-j4` and `--format=csv`
 * work for every command. Words after `--` are left alone. Returns a new
 * argv (free with mh_free; its strings are argv's, `=` overwritten by NUL,
 * or static short-option names) and sets *argc_out; NULL when out of memory. */
char **mh_cli_split_args(int argc, char **argv, int *argc_out);

/* True when argv[i] is -h/--help. */
bool mh_cli_is_help(const char *arg);

/* Open -o FILE (or stdout when path is NULL or "-"). */
FILE *mh_cli_open_out(const char *path);

/*
 * Command lines `CMD [options] PATH...` (cat, stats). Collects the PATH
 * operands ("-" is stdin; everything after "--" is a PATH), answers -h/--help
 * (usage to stdout), sets quiet for -q/--quiet, and reports an unknown option
 * or a missing PATH ("CMD: ..."). Every other option is offered to opt first
 * (may be NULL): it returns MH_CLI_OPT_TAKEN (it may consume a value, see
 * mh_cli_value), MH_CLI_OPT_UNKNOWN, or MH_CLI_OPT_BAD after printing why.
 * Returns MH_CLI_GO_ON with a->paths[0..a->npaths) set, else the exit status
 * to return (MH_EXIT_OK after --help). Free with mh_cli_args_fini (always).
 */
#define MH_CLI_GO_ON (-1)
enum { MH_CLI_OPT_UNKNOWN, MH_CLI_OPT_TAKEN, MH_CLI_OPT_BAD };
typedef int (*mh_cli_opt_fn)(void *ctx, int argc, char **argv, int *i);
struct mh_cli_args {
    char **paths; /* argv's strings (not copies) */
    int npaths;
    bool quiet;
};
int mh_cli_parse_paths(const char *cmd, int argc, char **argv, void (*usage)(FILE *),
                       mh_cli_opt_fn opt, void *ctx, struct mh_cli_args *a);
void mh_cli_args_fini(struct mh_cli_args *a);

/* The value of option `name` at argv[*i]: the next word (*i moves past it;
 * main has already split "name=V", mh_cli_split_args). *is tells whether
 * argv[*i] is that option at all; NULL when it is not, or when it is but
 * lacks a value. */
const char *mh_cli_value(const char *name, int argc, char **argv, int *i, bool *is);

/* ---- shared by the commands of the pipeline (investigate reuses them) ---- */

/* First-party app ids (rules/data/first-party-apps.tsv) into fp; false (and
 * a message) when they cannot be loaded: then no app id is excluded. */
bool mh_cli_first_party(struct mh_appset *fp);

/* Feed every event of es to sc (with the name of its file): MH_OK at the end
 * of the logs, else the failure. */
MH_MUST_CHECK mh_status mh_cli_scope_logs(mh_scope *sc, mh_evstream *es);

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

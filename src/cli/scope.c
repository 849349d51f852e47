/*
 * cli/scope.c -- `mailhound scope`: which messages did the attacker take?
 *
 * Pipeline: incidents.json + logs (reader -> normalizer, normalize/stream.h)
 * + mail store (ingest/mailstore.h) -> scope (scope/scope.h) -> scope.json.
 * The mail store is indexed first (header-only), so that message-trace rows
 * can be kept only for messages it lacks; the logs are then read once.
 * Output contract: docs/scope.md. Problems with the input go to standard
 * error (one line each); the summary line too (unless -q).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "cli/cli.h"
#include "correlate/detector.h"
#include "ingest/mailstore.h"
#include "normalize/stream.h"
#include "scope/scope.h"

static void usage(FILE *out)
{
    fputs("usage: mailhound scope --incidents FILE [--incident ID] [--mail PATH]...\n"
          "                       [--owner FILE] [--trace FILE]... [--out FILE]\n"
          "                       [--before DUR] [--after DUR] [--near DUR] [-q] LOGS...\n"
          "       mailhound scope --help\n"
          "\n"
          "From the incidents of `mailhound hunt` and the logs, find the messages the\n"
          "attacker took, mailbox by mailbox, each with its evidence and confidence:\n"
          "  observed           listed by a MailItemsAccessed Bind record in attacker\n"
          "                     context (or sent by the attacker: Send, SendAs)\n"
          "  inferred-sync      in a folder synchronised in attacker context, before\n"
          "                     the Sync (enumerated from the mail store)\n"
          "  inferred-throttle  in a mailbox whose bind auditing was throttled in or\n"
          "                     near attacker context (the next 24 h are unaudited)\n"
          "\n"
          "Attacker context: the record's session, token, app id / client app id, or a\n"
          "client IP that the victim does not also use, is one of the incident's,\n"
          "within the incident's window (first_seen - before .. last_seen + after).\n"
          "A compromised user reading its own mailbox is not enough: that is the\n"
          "owner's daily use. The rule in full: docs/scope.md.\n"
          "\n"
          "LOGS are log files or folders (every export format, recognised by content;\n"
          "message-trace exports among them are recognised too). Messages that the\n"
          "mail store lacks are joined with the message trace by Message-ID.\n"
          "\n"
          "Options:\n"
          "  --incidents FILE  incidents.json from mailhound hunt (required)\n"
          "  --incident ID     scope only this incident\n"
          "  --mail PATH       mail store: mbox, Maildir, MH folders, .eml (repeatable)\n"
          "  --owner FILE      mailbox-to-owner mapping (\"<mailbox> <address>\" lines)\n"
          "  --trace FILE      a message-trace export (same as giving it among LOGS)\n"
          "  --out FILE        write scope.json here (default: standard output)\n"
          "  --before DUR      window margin before first_seen (default 1h)\n"
          "  --after DUR       window margin after last_seen (default 24h)\n"
          "  --near DUR        a throttle counts when attacker activity on the same\n"
          "                    mailbox lies within DUR before it (default 24h)\n"
          "                    DUR: a number with s, m, h or d (\"90m\", \"2d\")\n"
          "  -q, --quiet       no per-record warnings, no summary line\n"
          "  -h, --help        this text\n"
          "\n"
          "Exit status:\n"
          "  0  the run completed (even if records were skipped)\n"
          "  1  usage error, unreadable incidents or mail, or an internal error\n"
          "\n"
          "Example:\n"
          "  mailhound hunt --incidents incidents.json logs/ > alerts.jsonl\n"
          "  mailhound scope --incidents incidents.json --mail mail/ --out scope.json logs/\n",
          out);
}

static bool parse_dur(const char *s, mh_time *out)
{
    char *end;
    errno = 0;
    if (!s || s[0] < '0' || s[0] > '9') return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno) return false;
    unsigned long long mul = 1;
    if (*end == 's') mul = 1, end++;
    else if (*end == 'm') mul = 60, end++;
    else if (*end == 'h') mul = 3600, end++;
    else if (*end == 'd') mul = 86400, end++;
    if (*end || v > (unsigned long long)INT64_MAX / MH_USEC_PER_SEC / mul) return false;
    *out = (mh_time)(v * mul) * MH_USEC_PER_SEC;
    return true;
}

static mh_status sink(void *ctx, const char *p, size_t n)
{
    return fwrite(p, 1, n, (FILE *)ctx) == n ? MH_OK : MH_EIO;
}

struct run {
    struct mh_cli_bad bad;
};

/* First-party app ids: never attacker context (rules/data/first-party-apps.tsv). */
bool mh_cli_first_party(struct mh_appset *fp)
{
    struct mh_detector_config *cfg = mh_malloc(sizeof *cfg);
    char path[MH_DET_PATH_BYTES];
    mh_error err;
    mh_error_clear(&err);
    bool ok = false;
    if (cfg) {
        mh_detector_config_defaults(cfg);
        if (mh_data_path(cfg, cfg->first_party_apps, path) == MH_OK) {
            ok = mh_appset_load(fp, path, &err) == MH_OK;
            if (!ok) {
                mh_cli_error("scope: first-party app list (every app id will be matched)", &err);
                mh_appset_fini(fp);
            }
        }
    }
    mh_free(cfg);
    return ok;
}

mh_status mh_cli_scope_logs(mh_scope *sc, mh_evstream *es)
{
    mh_status st = MH_OK;
    while (!st) {
        struct mh_event *ev;
        st = mh_evstream_next(es, &ev);
        if (!st) st = mh_scope_feed(sc, ev, mh_evstream_file_name(es, ev->rec->file),
                                         mh_evstream_file_key(es, ev->rec->file));
    }
    return st == MH_EOF ? MH_OK : st;
}

int mh_cli_scope(int argc, char **argv)
{
    const char *incidents = NULL, *outpath = NULL, *owner = NULL;
    struct mh_scope_opts so;
    mh_scope_opts_defaults(&so);
    bool quiet = false, dashdash = false;
    char **logs = mh_calloc((size_t)argc + 1, sizeof *logs);
    char **mail = mh_calloc((size_t)argc + 1, sizeof *mail);
    int nlogs = 0, nmail = 0, rc = MH_EXIT_ERROR;
    mh_mailstore *store = NULL;
    mh_scope *sc = NULL;
    mh_evstream *es = NULL;
    FILE *outf = NULL;
    struct mh_appset fp;
    bool have_fp = false;
    struct run run;
    memset(&run, 0, sizeof run);
    mh_error err;
    mh_error_clear(&err);
    if (!logs || !mail) {
        mh_cli_fail("scope: out of memory");
        goto out;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        size_t an = eq && a[0] == '-' && a[1] == '-' ? (size_t)(eq - a) : strlen(a);
#define OPT(name) (strlen(name) == an && strncmp(a, name, an) == 0)
#define VALUE() (eq && a[1] == '-' ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL))
        if (dashdash || a[0] != '-' || a[1] == '\0') {
            logs[nlogs++] = argv[i];
        } else if (mh_cli_is_help(a)) {
            usage(stdout);
            rc = MH_EXIT_OK;
            goto out;
        } else if (OPT("--incidents")) {
            incidents = VALUE();
        } else if (OPT("--incident")) {
            so.only_incident = VALUE();
        } else if (OPT("--mail")) {
            const char *v = VALUE();
            if (!v) {
                mh_cli_fail("scope: --mail needs a PATH");
                goto out;
            }
            mail[nmail++] = (char *)v;
        } else if (OPT("--owner")) {
            owner = VALUE();
        } else if (OPT("--trace")) {
            const char *v = VALUE();
            if (!v) {
                mh_cli_fail("scope: --trace needs a FILE");
                goto out;
            }
            logs[nlogs++] = (char *)v;
        } else if (OPT("--out") || OPT("-o")) {
            outpath = VALUE();
        } else if (OPT("--before") || OPT("--after") || OPT("--near")) {
            bool before = OPT("--before"), after = OPT("--after");
            const char *v = VALUE();
            mh_time d;
            if (!parse_dur(v, &d)) {
                mh_cli_fail("scope: %.*s takes a duration like 90m, 24h or 2d", (int)an, a);
                goto out;
            }
            if (before) so.before = d;
            else if (after) so.after = d;
            else so.near = d;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if (strcmp(a, "--") == 0) {
            dashdash = true;
        } else {
            mh_cli_fail("scope: unknown option '%s' (see mailhound scope --help)", a);
            goto out;
        }
#undef OPT
#undef VALUE
    }
    if (!incidents) {
        mh_cli_fail("scope: --incidents FILE is required (see mailhound scope --help)");
        goto out;
    }
    if (!nlogs) {
        mh_cli_fail("scope: no LOGS given (see mailhound scope --help)");
        goto out;
    }
    run.bad.quiet = quiet;
    have_fp = mh_cli_first_party(&fp);
    so.first_party = have_fp ? &fp : NULL;
    so.on_warn = mh_cli_on_warn; /* a record whose Folders does not parse */
    so.warn_ctx = &run.bad;

    if (nmail) {
        struct mh_mailstore_opts mo;
        memset(&mo, 0, sizeof mo);
        mo.on_bad = mh_cli_on_bad;
        mo.ctx = &run.bad;
        mo.owner_map = owner;
        if (mh_mailstore_new(&mo, &store, &err)) {
            mh_cli_error("scope: mail store", &err);
            goto out;
        }
        for (int i = 0; i < nmail; i++)
            if (mh_mailstore_add(store, mail[i], &err)) {
                mh_cli_error("scope: mail store", &err);
                goto out;
            }
        so.store = store;
    } else if (!quiet) {
        fputs("mailhound: warning: scope: no --mail: Sync'd folders and throttled windows "
              "cannot be enumerated, message fields come from the trace only\n",
              stderr);
    }

    if (mh_scope_new(&so, &sc)) {
        mh_cli_fail("scope: out of memory");
        goto out;
    }
    if (mh_scope_load_incidents_file(sc, incidents, &err)) {
        mh_cli_error("scope: incidents", &err);
        goto out;
    }
    if (so.only_incident && mh_scope_incident_count(sc) == 0) {
        mh_cli_fail("scope: incident %s is not in %s", so.only_incident, incidents);
        goto out;
    }

    mh_status st = mh_cli_open_logs(&run.bad, (const char *const *)logs, (size_t)nlogs, &es);
    if (!st) st = mh_cli_scope_logs(sc, es);
    if (st) {
        mh_cli_fail("scope: reading the logs: %s", mh_status_str(st));
        goto out;
    }
    if (mh_scope_finish(sc)) {
        mh_cli_fail("scope: out of memory");
        goto out;
    }
    outf = mh_cli_open_out(outpath);
    if (!outf) goto out;
    st = mh_scope_write_json(sc, sink, outf);
    if (outf != stdout) {
        if (fclose(outf) != 0 && !st) st = MH_EIO;
    } else if (fflush(outf) != 0 && !st) {
        st = MH_EIO;
    }
    outf = NULL;
    if (st) {
        mh_cli_fail("scope: cannot write %s: %s", outpath ? outpath : "standard output",
                    mh_status_str(st));
        goto out;
    }
    if (!quiet) {
        struct mh_scope_stats t;
        struct mh_evstream_stats ss;
        mh_scope_get_stats(sc, &t);
        mh_evstream_stats(es, &ss);
        fprintf(stderr,
                "mailhound: scope: %llu incidents, %llu mailboxes, %llu messages (%llu observed, "
                "%llu inferred-sync, %llu inferred-throttle), %llu not in the mail store (%llu "
                "found in the trace); %llu records read, %llu skipped, %llu in attacker context\n",
                (unsigned long long)t.incidents, (unsigned long long)t.mailboxes,
                (unsigned long long)t.messages, (unsigned long long)t.by_confidence[0],
                (unsigned long long)t.by_confidence[1], (unsigned long long)t.by_confidence[2],
                (unsigned long long)t.not_in_store, (unsigned long long)t.trace_joined,
                (unsigned long long)ss.records, (unsigned long long)ss.skipped,
                (unsigned long long)t.in_context);
        for (size_t i = 0; i < mh_scope_app_wide_count(sc); i++) {
            struct mh_scope_app_wide a;
            char tb[32];
            mh_scope_app_wide_get(sc, i, &a);
            mh_time_format(a.granted, tb, 0);
            fprintf(stderr,
                    "mailhound: scope: app-wide: app %.*s held %s from %s (incident %s): %llu "
                    "mailboxes touched, %llu audited without a hit, %llu potentially accessed "
                    "(unaudited)\n",
                    (int)a.app.len, a.app.ptr, a.permission, tb, a.incident,
                    (unsigned long long)a.touched, (unsigned long long)a.audited,
                    (unsigned long long)a.unaudited);
        }
        if (t.dropped)
            fprintf(stderr, "mailhound: warning: scope: %llu entries dropped at a limit "
                            "(see docs/scope.md)\n",
                    (unsigned long long)t.dropped);
    }
    rc = run.bad.files ? MH_EXIT_ERROR : MH_EXIT_OK;
out:
    if (outf && outf != stdout) fclose(outf);
    mh_evstream_free(es);
    mh_scope_free(sc);
    mh_mailstore_free(store);
    if (have_fp) mh_appset_fini(&fp);
    mh_free(logs);
    mh_free(mail);
    return rc;
}

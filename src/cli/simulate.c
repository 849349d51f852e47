/*
 * cli/simulate.c -- `mailhound simulate`: generate a tenant under attack
 *
 * Parses the options into struct mh_sim_opts (sim/sim.h), runs the
 * generator and prints a one-line summary on stderr (sizes and speed; the
 * files themselves are deterministic, the summary's timing is not).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "mailhound/limits.h"
#include "sim/sim.h"

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: mailhound simulate --out DIR [--users N] [--days D] [--start YYYY-MM-DD]\n"
        "                          [--seed S] [--scenario midnight-blizzard|storm-0558|all|none]\n"
        "                          [--partners K] [--tenants T]\n\n"
        "Generate the logs and mailboxes of simulated organisations -- normal life plus\n"
        "the Midnight Blizzard and Storm-0558 attacks -- in the formats Microsoft exports,\n"
        "with the ground truth in DIR/truth.json (see docs/simulate.md).\n\n"
        "  --out DIR        output directory (created; existing files are replaced)\n"
        "  --users N        users of the primary tenant (default 2000)\n"
        "  --days D         days simulated (default 14)\n"
        "  --start DATE     first day, UTC (default 2024-03-04)\n"
        "  --seed S         random seed (default 1); same options, same bytes\n"
        "  --scenario X     attacks to include (default all)\n"
        "  --partners K     external organisations incl. free-mail providers (default 40)\n"
        "  --tenants T      tenants; Storm-0558 targets all of them (default 3)\n");
}

static bool num(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (!s || !*s || *s == '-') return false;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || !end || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static bool date(const char *s, mh_time *out)
{
    unsigned y, m, d;
    char tail;
    if (!s || sscanf(s, "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3) return false;
    if (y < 1970 || y > 2200 || m < 1 || m > 12 || d < 1 || d > 31) return false;
    struct mh_civil c = {(int)y, (int)m, (int)d, 0, 0, 0, 0};
    mh_time t = mh_time_from_civil(&c);
    struct mh_civil back;
    mh_time_to_civil(t, &back);
    if (back.day != (int)d || back.month != (int)m) return false;
    *out = t;
    return true;
}

int mh_cli_simulate(int argc, char **argv)
{
    struct mh_sim_opts o;
    mh_sim_opts_default(&o);
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n;
        if (mh_cli_is_help(a)) {
            usage(stdout);
            return MH_EXIT_OK;
        } else if (strcmp(a, "--out") == 0 && v) {
            o.out_dir = v;
        } else if (strcmp(a, "--users") == 0 && num(v, 10, MH_SIM_MAX_USERS, &n)) {
            o.users = (uint32_t)n;
        } else if (strcmp(a, "--days") == 0 && num(v, 1, MH_SIM_MAX_DAYS, &n)) {
            o.days = (uint32_t)n;
        } else if (strcmp(a, "--seed") == 0 && num(v, 0, UINT64_MAX, &n)) {
            o.seed = n;
        } else if (strcmp(a, "--partners") == 0 && num(v, 1, MH_SIM_MAX_PARTNERS, &n)) {
            o.partners = (uint32_t)n;
        } else if (strcmp(a, "--tenants") == 0 && num(v, 1, MH_SIM_MAX_TENANTS, &n)) {
            o.tenants = (uint32_t)n;
        } else if (strcmp(a, "--start") == 0 && date(v, &o.start)) {
        } else if (strcmp(a, "--scenario") == 0 && v &&
                   mh_sim_parse_scenario(v, &o.scenarios) == MH_OK) {
        } else {
            if (v && a[0] == '-' && a[1] == '-')
                mh_cli_fail("simulate: bad value for %s: '%s' (see --help)", a, v);
            else
                mh_cli_fail("simulate: unknown or incomplete option '%s' (see --help)", a);
            return MH_EXIT_ERROR;
        }
    }
    if (!o.out_dir) {
        mh_cli_fail("simulate: --out DIR is required");
        usage(stderr);
        return MH_EXIT_ERROR;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    mh_error err;
    mh_error_clear(&err);
    struct mh_sim_report rep;
    mh_status st = mh_sim_run(&o, &rep, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (st != MH_OK) {
        if (err.code == MH_OK) err.code = st;
        mh_cli_error("simulate", &err);
        return MH_EXIT_ERROR;
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr,
            "mailhound: simulate: %s: %llu bytes, %llu log records, %llu messages in %llu "
            "mailboxes, %llu malicious references; %.2f s, %.0f MB/s\n",
            o.out_dir, (unsigned long long)rep.bytes, (unsigned long long)rep.records,
            (unsigned long long)rep.messages, (unsigned long long)rep.mailboxes,
            (unsigned long long)rep.malicious, secs, secs > 0 ? (double)rep.bytes / 1e6 / secs : 0);
    return MH_EXIT_OK;
}

/*
 * sim/sim.h -- `mailhound simulate`: a tenant under attack, with ground truth
 *
 * Pipeline: sim is a side stage: it produces the inputs of every other stage
 * (logs in the exact Microsoft export formats, mailboxes as mbox) and the
 * truth they are tested against. See docs/simulate.md for the output
 * contract (files, record numbering, truth.json) and the volumes per size.
 *
 * Usage: fill mh_sim_opts (mh_sim_opts_default first), call mh_sim_run.
 * Output goes under opts.out_dir, which is created when missing. The same
 * options give byte-identical output.
 *
 * Memory is bounded (docs/simulate.md "Memory"): the world is O(users),
 * everything else is per day or capped by MH_SIM_* in limits.h.
 * Thread-safety: mh_sim_run is re-entrant (no global state).
 */
#ifndef MH_SIM_SIM_H
#define MH_SIM_SIM_H

#include <stdint.h>

#include "base/time.h"
#include "mailhound/status.h"

enum mh_sim_scenario {
    MH_SIM_MIDNIGHT_BLIZZARD = 1u << 0,
    MH_SIM_STORM_0558 = 1u << 1,
};

struct mh_sim_opts {
    const char *out_dir;
    uint32_t users; /* users of the primary tenant */
    uint32_t days;
    mh_time start; /* 00:00 UTC of the first day, 1970-01-01..2200-12-31 */
    uint64_t seed;
    unsigned scenarios; /* mh_sim_scenario bits; 0 = none */
    uint32_t partners;  /* external organisations (incl. free-mail individuals) */
    uint32_t tenants;   /* 1 primary + (tenants-1) further Storm-0558 victims */
};

struct mh_sim_report {
    uint64_t bytes;     /* bytes written (all files) */
    uint64_t records;   /* log records written */
    uint64_t messages;  /* distinct messages composed */
    uint64_t mailboxes; /* mbox files */
    uint64_t malicious; /* truth references */
    uint64_t users;     /* all tenants */
};

/* Defaults: 2000 users, 14 days from 2024-03-04, seed 1, both scenarios,
 * 40 partners, 3 tenants. */
MH_EXPORT void mh_sim_opts_default(struct mh_sim_opts *o);

/* Parse "midnight-blizzard" | "storm-0558" | "all" | "none" into bits.
 * MH_EINVAL for anything else. */
MH_EXPORT MH_MUST_CHECK mh_status mh_sim_parse_scenario(const char *s, unsigned *out);

/*
 * Generate everything into o->out_dir. rep (may be NULL) receives counts.
 * MH_EINVAL for options out of range (err says which; limits.h MH_SIM_*),
 * MH_EIO when a file cannot be written (errno captured), MH_ENOMEM,
 * MH_ELIMIT when a bounded container overflows.
 */
MH_EXPORT MH_MUST_CHECK mh_status mh_sim_run(const struct mh_sim_opts *o, struct mh_sim_report *rep,
                                             mh_error *err);

#endif

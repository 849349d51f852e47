/*
 * notify/psl.h -- the one libpsl adapter: registrable domains (eTLD+1)
 *
 * Pipeline: scope -> [notify: organisations] -> packages. Correspondents are
 * grouped by the registrable domain of their address (mail.utexas.edu ->
 * utexas.edu, news.bbc.co.uk -> bbc.co.uk), computed from the Public Suffix
 * List that Debian ships (package `publicsuffix`, loaded with
 * psl_latest(NULL): the newer of libpsl's built-in copy and
 * /usr/share/publicsuffix/public_suffix_list.dafsa). The environment variable
 * MAILHOUND_PSL=FILE loads another list (.dat or .dafsa) instead, so a run can
 * be pinned to an exact list.
 *
 * Only src/notify/psl.c includes libpsl.h. The list is loaded once per
 * process (pthread_once) and is read-only afterwards: every function here is
 * thread-safe. Hosts must be NUL-terminated and already lower-case (ASCII or
 * UTF-8 as found).
 */
#ifndef MH_NOTIFY_PSL_H
#define MH_NOTIFY_PSL_H

#include <stdbool.h>

#include "mailhound/status.h"

/* Load the list now (otherwise the first query does). MH_EUNSUPPORTED when
 * no list can be loaded, MH_EIO when MAILHOUND_PSL names an unreadable file. */
MH_MUST_CHECK mh_status mh_psl_load(mh_error *err);

/*
 * Registrable domain of host: *out points INTO host (its last labels).
 * MH_ENOTFOUND when host is itself a public suffix ("co.uk", "com") or
 * has no registrable part; MH_EUNSUPPORTED without a list; MH_EINVAL for
 * NULL or empty input.
 */
MH_MUST_CHECK mh_status mh_psl_registrable(const char *host, const char **out, mh_error *err);

/* True when host is a public suffix (ICANN or private section, '*' rule
 * included). False without a list. */
bool mh_psl_is_public_suffix(const char *host);

/* Where the list came from ("/usr/share/publicsuffix/...", "builtin", the
 * MAILHOUND_PSL path) and how many rules it has; "none" before loading. */
const char *mh_psl_source(void);
int mh_psl_rules(void);

#endif

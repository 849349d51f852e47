/*
 * notify/psl.c -- libpsl adapter (see psl.h)
 *
 * One process-wide psl_ctx_t, loaded under pthread_once and never freed
 * (libpsl's context is immutable and safe to query from many threads). The
 * load status is remembered, so a missing list is reported on every call
 * rather than retried.
 */
#include "notify/psl.h"

#include <errno.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static psl_ctx_t *ctx;
static const char *source = "none";
static mh_status load_status = MH_OK;
static int load_errno;

static void load(void)
{
    const char *env = getenv("MAILHOUND_PSL");
    if (env && *env) {
        if (access(env, R_OK) != 0) {
            load_errno = errno;
            load_status = MH_EIO;
            return;
        }
        ctx = psl_load_file(env);
        source = env;
    } else {
        ctx = psl_latest(NULL);
        const char *dist = psl_dist_filename();
        source = (dist && *dist && access(dist, R_OK) == 0) ? dist : "builtin";
    }
    if (!ctx) {
        load_status = MH_EUNSUPPORTED;
        source = "none";
    }
}

mh_status mh_psl_load(mh_error *err)
{
    pthread_once(&load_once, load);
    if (load_status == MH_EIO) {
        mh_error_set(err, MH_EIO, "cannot read public suffix list", "MAILHOUND_PSL");
        if (err) err->sys_errno = load_errno;
        return MH_EIO;
    }
    if (load_status)
        return mh_error_set(err, load_status, "no public suffix list",
                            "install Debian's publicsuffix package");
    return MH_OK;
}

mh_status mh_psl_registrable(const char *host, const char **out, mh_error *err)
{
    if (!host || !*host) return mh_error_set(err, MH_EINVAL, "empty host name", NULL);
    MH_TRY(mh_psl_load(err));
    const char *r = psl_registrable_domain(ctx, host);
    if (!r) return mh_error_set(err, MH_ENOTFOUND, "no registrable domain", "%s", host);
    *out = r;
    return MH_OK;
}

bool mh_psl_is_public_suffix(const char *host)
{
    if (!host || mh_psl_load(NULL) != MH_OK) return false;
    return psl_is_public_suffix2(ctx, host, PSL_TYPE_ANY) != 0;
}

const char *mh_psl_source(void)
{
    return source;
}

int mh_psl_rules(void)
{
    return ctx ? psl_suffix_count(ctx) : 0;
}

/*
 * base/alloc.h -- the one allocation seam
 *
 * Every heap allocation in mailhound goes through mh_malloc/mh_calloc/
 * mh_realloc/mh_free (scripts/checksrc rejects direct malloc/free elsewhere).
 * Tests can make the N-th allocation fail (mh_alloc_fail_after) to check that
 * every path returns MH_ENOMEM cleanly, without a leak or a crash.
 *
 * Thread-safety: the counters are atomic; failure injection is meant for
 * single-threaded tests.
 */
#ifndef MH_BASE_ALLOC_H
#define MH_BASE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *mh_malloc(size_t n);
void *mh_calloc(size_t count, size_t size);
void *mh_realloc(void *p, size_t n);
void mh_free(void *p);
char *mh_strndup(const char *s, size_t n);
char *mh_strdup(const char *s);

/* Make the allocation after the next `n` ones fail (n = 0: the next one). -1 disables. */
void mh_alloc_fail_after(int64_t n);
/* Number of successful allocations since process start (for tests). */
uint64_t mh_alloc_count(void);

#endif

/*
 * base/alloc.h -- the one allocation seam
 *
 * Every heap allocation in mailhound goes through mh_malloc/mh_calloc/
 * mh_realloc/mh_free (scripts/checksrc rejects direct malloc/free elsewhere).
 * Tests can make the N-th allocation fail (mh_alloc_fail_after) to check that
 * every path returns MH_ENOMEM cleanly, without a leak or a crash.
 *
 * Growable arrays: mh_grow / MH_GROW is the one capped doubling step
 * (capacity first, 2*first, 4*first, ... clamped at a maximum), used instead
 * of hand-written "cap ? cap * 2 : FIRST; realloc" copies. Example:
 *
 *     if (MH_GROW(s->hits, s->caphits, s->nhits + 1, 256, MH_MAX_HITS)) return MH_ENOMEM;
 *     s->hits[s->nhits++] = hit;
 *
 * Thread-safety: the counters are atomic; failure injection is meant for
 * single-threaded tests.
 */
#ifndef MH_BASE_ALLOC_H
#define MH_BASE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "mailhound/status.h"

void *mh_malloc(size_t n);
void *mh_calloc(size_t count, size_t size);
void *mh_realloc(void *p, size_t n);
void mh_free(void *p);
char *mh_strndup(const char *s, size_t n);
char *mh_strdup(const char *s);

/*
 * Pre-fault the whole pages inside [p, p + n) for writing (Linux
 * MADV_POPULATE_WRITE): memory the caller is about to fill is mapped in one
 * call instead of one page fault per 4 KiB page -- on a virtual machine a
 * fault costs microseconds, and a hunt over a large export faults in
 * hundreds of megabytes of state. Only for memory that WILL be written (it
 * becomes resident). Advisory: nothing happens below MH_PREFAULT_MIN bytes
 * or on kernels without it (before 5.14).
 */
#define MH_PREFAULT_MIN ((size_t)64 << 10)
void mh_prefault(void *p, size_t n);

/* Make the allocation after the next `n` ones fail (n = 0: the next one). -1 disables. */
void mh_alloc_fail_after(int64_t n);
/* Number of successful allocations since process start (for tests). */
uint64_t mh_alloc_count(void);

/*
 * Ensure the array *arr (of *cap elements of `elem` bytes) holds at least
 * `need` elements. If need <= *cap nothing happens. Otherwise the capacity
 * becomes `first` (when *cap is 0) or *cap doubled, doubled again until it
 * reaches need, and clamped at `max`; the array is reallocated through
 * mh_realloc (contents kept, new elements uninitialised).
 * arr: in/out, may point to NULL. cap: in/out. max: the array's cap in
 * elements; SIZE_MAX for "no limit but the address space" (the byte size is
 * always bounded by SIZE_MAX, so the multiplication cannot overflow).
 * Returns MH_OK; MH_ELIMIT when need > max (or the byte size would overflow);
 * MH_ENOMEM; MH_EINVAL when elem is 0. On failure *arr and *cap are untouched.
 * Thread-safety: the caller owns *arr and *cap.
 */
MH_MUST_CHECK mh_status mh_grow(void **arr, size_t *cap, size_t need, size_t elem, size_t first,
                                size_t max);

/*
 * The same for a capacity of any unsigned type of capsize bytes (4: uint32_t,
 * 8: size_t or uint64_t; the capacity is then also clamped at that type's
 * maximum) and an array pointer of any object type, both read and written
 * with memcpy (no type punning). MH_EINVAL for another capsize. Use it
 * through MH_GROW.
 */
MH_MUST_CHECK mh_status mh_grow_at(void *arrp, void *capp, size_t capsize, size_t need,
                                   size_t elem, size_t first, size_t max);

/* MH_GROW(arr, cap, need, first, max): mh_grow for the lvalues arr (a T *)
 * and cap (size_t or uint32_t), element size sizeof *arr; evaluates to an
 * mh_status and evaluates each argument once. A capacity of another size is a
 * compile error (negative array size). */
#define MH_GROW(arr, cap, need, first, max)                                                        \
    ((void)sizeof(char[sizeof(cap) == 4 || sizeof(cap) == 8 ? 1 : -1]),                           \
     mh_grow_at(&(arr), &(cap), sizeof(cap), (need), sizeof *(arr), (first), (max)))

#endif

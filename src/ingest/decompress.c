/*
 * ingest/decompress.c -- the zlib / libzstd adapter (see decompress.h)
 *
 * Pipeline: source -> [decompress] -> text -> split/csv.
 * gzip uses inflate with windowBits 15+16 (gzip wrapper only; the magic was
 * checked by detect.c). When a member ends and more input follows, the
 * stream is reset and the next member is read. `ended` remembers whether the
 * last member finished, which is what mh_decomp_finish checks.
 * zstd uses ZSTD_decompressStream; its return value is 0 exactly when a frame
 * has been completely decoded and flushed, so `ended` = (last return == 0).
 *
 * Invariants: out_total <= MH_MAX_DECOMPRESSED_RATIO * in_total + 1 MiB,
 * checked after every step. Not thread-safe (one per stream).
 */
#include "ingest/decompress.h"

#include <stdbool.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "base/alloc.h"
#include "mailhound/limits.h"

struct mh_decomp {
    enum mh_compression kind;
    bool ended;   /* the last member/frame is complete */
    bool started; /* inflate initialised */
    uint64_t in_total, out_total;
    z_stream z;
    ZSTD_DStream *zs;
};

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return mh_calloc(items, size);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    mh_free(p);
}

mh_status mh_decomp_new(enum mh_compression kind, mh_decomp **out)
{
    mh_status st = MH_OK;
    mh_decomp *d = mh_calloc(1, sizeof *d);
    if (!d) return MH_ENOMEM;
    d->kind = kind;
    if (kind == MH_COMP_GZIP) {
        d->z.zalloc = z_alloc;
        d->z.zfree = z_free;
        d->z.opaque = Z_NULL;
        int rc = inflateInit2(&d->z, 15 + 16);
        if (rc != Z_OK) {
            st = rc == Z_MEM_ERROR ? MH_ENOMEM : MH_EINVAL;
            goto out;
        }
        d->started = true;
    } else if (kind == MH_COMP_ZSTD) {
        d->zs = ZSTD_createDStream();
        if (!d->zs) {
            st = MH_ENOMEM;
            goto out;
        }
        size_t rc = ZSTD_initDStream(d->zs);
        if (ZSTD_isError(rc)) {
            st = MH_ENOMEM;
            goto out;
        }
        d->ended = true; /* nothing started yet */
    } else {
        st = MH_EINVAL;
        goto out;
    }
    *out = d;
    d = NULL;
out:
    mh_decomp_free(d);
    return st;
}

void mh_decomp_free(mh_decomp *d)
{
    if (!d) return;
    if (d->started) inflateEnd(&d->z);
    if (d->zs) ZSTD_freeDStream(d->zs);
    mh_free(d);
}

static mh_status check_ratio(mh_decomp *d, mh_error *err)
{
    uint64_t allowed = d->in_total * (uint64_t)MH_MAX_DECOMPRESSED_RATIO + (1u << 20);
    if (d->out_total > allowed)
        return mh_error_set(err, MH_ELIMIT, "decompression ratio limit exceeded",
                            "%llu bytes from %llu (MH_MAX_DECOMPRESSED_RATIO %u)",
                            (unsigned long long)d->out_total, (unsigned long long)d->in_total,
                            (unsigned)MH_MAX_DECOMPRESSED_RATIO);
    return MH_OK;
}

static mh_status step_gzip(mh_decomp *d, const unsigned char *in, size_t in_len, size_t *in_used,
                           unsigned char *out, size_t out_cap, size_t *out_n, mh_error *err)
{
    size_t used = 0, made = 0;
    mh_status st = MH_OK;
    while (made < out_cap) {
        if (d->ended) {
            if (used == in_len) break;
            /* Another member follows: start it afresh. */
            if (inflateReset(&d->z) != Z_OK) {
                st = mh_error_set(err, MH_EPARSE, "corrupt gzip stream", "reset failed");
                break;
            }
            d->ended = false;
        }
        size_t in_left = in_len - used, out_left = out_cap - made;
        d->z.next_in = (Bytef *)(uintptr_t)(in + used);
        d->z.avail_in = in_left > UINT32_MAX ? UINT32_MAX : (uInt)in_left;
        d->z.next_out = out + made;
        d->z.avail_out = out_left > UINT32_MAX ? UINT32_MAX : (uInt)out_left;
        uInt ai = d->z.avail_in, ao = d->z.avail_out;
        int rc = inflate(&d->z, Z_NO_FLUSH);
        size_t ci = ai - d->z.avail_in, co = ao - d->z.avail_out;
        used += ci;
        made += co;
        if (rc == Z_STREAM_END) {
            d->ended = true;
            continue;
        }
        if (rc == Z_MEM_ERROR) {
            st = MH_ENOMEM;
            break;
        }
        if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_STREAM_ERROR) {
            st = mh_error_set(err, MH_EPARSE, "corrupt gzip stream", "%s",
                              d->z.msg ? d->z.msg : "inflate failed");
            break;
        }
        if (ci == 0 && co == 0) break; /* Z_BUF_ERROR or no progress possible */
    }
    /* Bytes produced before an error are still handed out. */
    *in_used = used;
    *out_n = made;
    return st;
}

static mh_status step_zstd(mh_decomp *d, const unsigned char *in, size_t in_len, size_t *in_used,
                           unsigned char *out, size_t out_cap, size_t *out_n, mh_error *err)
{
    ZSTD_inBuffer ib = {in, in_len, 0};
    ZSTD_outBuffer ob = {out, out_cap, 0};
    mh_status st = MH_OK;
    while (ob.pos < ob.size) {
        size_t pi = ib.pos, po = ob.pos;
        size_t rc = ZSTD_decompressStream(d->zs, &ob, &ib);
        if (ZSTD_isError(rc)) {
            if (ZSTD_getErrorCode(rc) == ZSTD_error_memory_allocation)
                st = MH_ENOMEM;
            else
                st = mh_error_set(err, MH_EPARSE, "corrupt zstd stream", "%s",
                                  ZSTD_getErrorName(rc));
            break;
        }
        if (ib.pos == pi && ob.pos == po) break; /* needs more input */
        d->ended = (rc == 0);
    }
    *in_used = ib.pos;
    *out_n = ob.pos;
    return st;
}

mh_status mh_decomp_step(mh_decomp *d, const void *in, size_t in_len, size_t *in_used, void *out,
                         size_t out_cap, size_t *out_n, mh_error *err)
{
    *in_used = 0;
    *out_n = 0;
    mh_status st;
    if (d->kind == MH_COMP_GZIP)
        st = step_gzip(d, in, in_len, in_used, out, out_cap, out_n, err);
    else
        st = step_zstd(d, in, in_len, in_used, out, out_cap, out_n, err);
    d->in_total += *in_used;
    d->out_total += *out_n;
    if (st == MH_OK) st = check_ratio(d, err);
    /* Position of a fault: the compressed bytes consumed so far. */
    if (st != MH_OK && st != MH_ENOMEM && err) err->offset = d->in_total;
    return st;
}

mh_status mh_decomp_finish(mh_decomp *d, mh_error *err)
{
    if (d->ended) return MH_OK;
    if (err) err->offset = d->in_total;
    return mh_error_set(err, MH_EPARSE,
                        d->kind == MH_COMP_GZIP ? "truncated gzip stream" : "truncated zstd stream",
                        "input ended after %llu compressed bytes", (unsigned long long)d->in_total);
}

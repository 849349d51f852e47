/*
 * fuzz/fuzz_normalize.c -- records -> events on arbitrary bytes
 *
 * The input is one record (JSON object text, as the reader delivers it).
 * Exercises classification, AuditData unwrapping, time parsing, every
 * entity accessor, a set of field paths that go through the folding rules
 * and JSON-in-string decoding, and the leaf walk. Invariants: no crash, no
 * leak, no status other than the documented ones; a leaf path re-resolves.
 */
#include <stdint.h>
#include <string.h>

#include "normalize/event.h"

static bool count_value(void *ctx, const struct mh_value *v)
{
    (void)v;
    (*(size_t *)ctx)++;
    return false;
}

struct leaf_ctx {
    struct mh_event *ev;
    size_t n;
};

static bool check_leaf(void *ctx, struct mh_slice path, const struct mh_value *v)
{
    struct leaf_ctx *lc = ctx;
    (void)v;
    /* Every leaf path the walk reports must resolve again -- except paths
     * with an empty segment (an empty JSON key: leading/trailing "." or
     * ".."), which a dotted path cannot address; no log source has them. */
    bool empty_seg = path.len == 0 || path.ptr[0] == '.' || path.ptr[path.len - 1] == '.' ||
                     memmem(path.ptr, path.len, "..", 2) != NULL;
    if (!empty_seg && lc->n++ < 16) {
        size_t hits = 0;
        bool found = false;
        if (mh_event_get(lc->ev, path.ptr, path.len, count_value, &hits, &found) == MH_OK &&
            !found)
            __builtin_trap();
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mh_normalizer *nz;
    if (!nz && mh_normalizer_new(&nz) != MH_OK) return 0;
    if (size > (1u << 20)) return 0;
    struct mh_record rec;
    memset(&rec, 0, sizeof rec);
    rec.json = (const char *)data;
    rec.json_len = (uint32_t)size;
    rec.raw = rec.json;
    rec.raw_len = rec.json_len;
    rec.number = 1;
    rec.line = 1;
    struct mh_event ev;
    mh_error err;
    mh_error_clear(&err);
    if (mh_event_init(nz, &rec, &ev, &err) == MH_OK) {
        for (int e = 0; e < MH_ENT__COUNT; e++) {
            struct mh_slice s;
            mh_status st = mh_event_entity(&ev, (enum mh_entity)e, &s);
            if (st != MH_OK && st != MH_ENOTFOUND && st != MH_ELIMIT && st != MH_ENOMEM)
                __builtin_trap();
        }
        static const char *paths[] = {
            "Operation", "Parameters.ForwardTo", "ModifiedProperties.Role.DisplayName.NewValue",
            "properties.status.errorCode", "AuditData.Operation", "Folders.FolderItems.InternetMessageId",
            "OperationProperties.MailAccessType", "additionalDetails.User-Agent",
            "properties.targetResources.modifiedProperties.KeyDescription.newValue", "a.b.c.d.e"};
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
            size_t hits = 0;
            bool found = false;
            (void)mh_event_get(&ev, paths[i], strlen(paths[i]), count_value, &hits, &found);
        }
        struct leaf_ctx lc = {&ev, 0};
        (void)mh_event_leaves(&ev, check_leaf, &lc);
    }
    mh_normalizer_reset(nz);
    return 0;
}

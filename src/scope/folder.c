/*
 * scope/folder.c -- Exchange folder paths vs. the folder names of mail exports
 *
 * Pipeline: used by scope/exfil.c to enumerate a Sync'd folder from the mail
 * store (docs/scope.md §5).
 *
 * Exchange writes Folders[].Path with a leading backslash and backslash
 * separators ("\Inbox", "\Sent Items", "\Inbox\Projects"); exports name the
 * same folders differently: the mail store's root is "INBOX" (mbox files,
 * Maildir roots), Maildir++ gives "Sent", "Archive/2023", the CMU Enron
 * corpus "inbox", "sent_items", "_sent_mail", "deleted_items". A component
 * is canonicalised for comparison by ASCII lower-casing and dropping ' ',
 * '_', '-' and '.' (so ".Sent" = "Sent" and "Sent Items" = "sent_items");
 * the first component of both names is then looked up in the table of
 * well-known folders below, and two names are the same folder when their
 * first components are the same well-known folder (or canonically equal)
 * and the remaining components are canonically equal one by one.
 *
 * Well-known first components (canonical form -> class):
 *   inbox                                                      INBOX
 *   sentitems sent sentmail sentmessages                       SENT
 *   deleteditems deleted trash deletedmessages bin             DELETED
 *   drafts draft                                               DRAFTS
 *   junkemail junk spam junkmail bulkmail                      JUNK
 *   archive archives                                           ARCHIVE
 *   outbox                                                     OUTBOX
 *   calendar contacts tasks notes journal                      NONMAIL
 *   "" (the path "\") topofinformationstore root               ROOT
 *
 * No allocation, no state: thread-safe.
 */
#include <string.h>

#include "scope/scope.h"

#define COMP_MAX 64

struct wk {
    const char *canon;
    enum mh_folder_class cls;
};

static const struct wk wellknown[] = {
    {"inbox", MH_FOLDER_INBOX},
    {"sentitems", MH_FOLDER_SENT},
    {"sent", MH_FOLDER_SENT},
    {"sentmail", MH_FOLDER_SENT},
    {"sentmessages", MH_FOLDER_SENT},
    {"deleteditems", MH_FOLDER_DELETED},
    {"deleted", MH_FOLDER_DELETED},
    {"trash", MH_FOLDER_DELETED},
    {"deletedmessages", MH_FOLDER_DELETED},
    {"bin", MH_FOLDER_DELETED},
    {"drafts", MH_FOLDER_DRAFTS},
    {"draft", MH_FOLDER_DRAFTS},
    {"junkemail", MH_FOLDER_JUNK},
    {"junk", MH_FOLDER_JUNK},
    {"spam", MH_FOLDER_JUNK},
    {"junkmail", MH_FOLDER_JUNK},
    {"bulkmail", MH_FOLDER_JUNK},
    {"archive", MH_FOLDER_ARCHIVE},
    {"archives", MH_FOLDER_ARCHIVE},
    {"outbox", MH_FOLDER_OUTBOX},
    {"calendar", MH_FOLDER_NONMAIL},
    {"contacts", MH_FOLDER_NONMAIL},
    {"tasks", MH_FOLDER_NONMAIL},
    {"notes", MH_FOLDER_NONMAIL},
    {"journal", MH_FOLDER_NONMAIL},
    {"topofinformationstore", MH_FOLDER_ROOT},
    {"root", MH_FOLDER_ROOT},
};

/* A path split into components (separators '\' and '/'; empty components dropped). */
struct comps {
    struct mh_slice c[COMP_MAX];
    size_t n;
    bool overflow;
};

static void split(struct mh_slice p, struct comps *out)
{
    out->n = 0;
    out->overflow = false;
    size_t i = 0;
    while (i < p.len) {
        while (i < p.len && (p.ptr[i] == '\\' || p.ptr[i] == '/')) i++;
        size_t b = i;
        while (i < p.len && p.ptr[i] != '\\' && p.ptr[i] != '/') i++;
        if (i == b) continue;
        struct mh_slice c = mh_slice_trim(mh_slice_make(p.ptr + b, i - b));
        if (!c.len) continue;
        if (out->n == COMP_MAX) {
            out->overflow = true;
            return;
        }
        out->c[out->n++] = c;
    }
}

static bool skipped(unsigned char c)
{
    return c == ' ' || c == '_' || c == '-' || c == '.';
}

/* Canonical comparison of two components. */
static bool comp_eq(struct mh_slice a, struct mh_slice b)
{
    size_t i = 0, j = 0;
    for (;;) {
        while (i < a.len && skipped((unsigned char)a.ptr[i])) i++;
        while (j < b.len && skipped((unsigned char)b.ptr[j])) j++;
        if (i == a.len || j == b.len) return i == a.len && j == b.len;
        if (mh_ascii_lower((unsigned char)a.ptr[i]) != mh_ascii_lower((unsigned char)b.ptr[j]))
            return false;
        i++;
        j++;
    }
}

static enum mh_folder_class comp_class(struct mh_slice c)
{
    for (size_t i = 0; i < sizeof wellknown / sizeof wellknown[0]; i++)
        if (comp_eq(c, mh_slice_cstr(wellknown[i].canon))) return wellknown[i].cls;
    return MH_FOLDER_OTHER;
}

enum mh_folder_class mh_folder_classify(struct mh_slice path)
{
    struct comps c;
    split(path, &c);
    if (!c.n) return MH_FOLDER_ROOT;
    return comp_class(c.c[0]);
}

static bool first_eq(struct mh_slice a, struct mh_slice b)
{
    enum mh_folder_class ca = comp_class(a), cb = comp_class(b);
    if (ca != MH_FOLDER_OTHER || cb != MH_FOLDER_OTHER) return ca == cb;
    return comp_eq(a, b);
}

static bool comps_match(const struct comps *l, size_t from, const struct comps *st)
{
    if (l->n - from != st->n || !st->n) return false;
    if (!first_eq(l->c[from], st->c[0])) return false;
    for (size_t i = 1; i < st->n; i++)
        if (!comp_eq(l->c[from + i], st->c[i])) return false;
    return true;
}

bool mh_folder_match(struct mh_slice log_path, struct mh_slice store, bool strip_inbox)
{
    struct comps l, st;
    split(log_path, &l);
    split(store, &st);
    if (l.overflow || st.overflow) return false;
    if (comps_match(&l, 0, &st)) return true;
    return strip_inbox && l.n >= 2 && comp_class(l.c[0]) == MH_FOLDER_INBOX &&
           comps_match(&l, 1, &st);
}

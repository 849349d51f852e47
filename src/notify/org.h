/*
 * notify/org.h -- correspondents -> organisations (who gets which package)
 *
 * Pipeline: scope (messages taken) -> [notify: organisations] -> packages.
 * Every address that was a party to a stolen message is mapped to the key of
 * the organisation that must be told (../shared/docs/mail-and-secrets.md §5,
 * detections.md R3). The key names the package directory and the ledger
 * rows, so it must be stable and exact:
 *
 *   address                          kind        key
 *   j.doe@mail.utexas.edu            DOMAIN      utexas.edu       (registrable domain, libpsl)
 *   a@news.bbc.co.uk                 DOMAIN      bbc.co.uk
 *   x@reliantenergy.com              OVERRIDE    reliant.com      (overrides: multi-domain org)
 *   y@dot.ca.gov   (ca.gov +1)       OVERRIDE    dot.ca.gov       (deeper key for a gov tree)
 *   Pat.Smith@Yahoo.CO.UK            FREEMAIL    pat.smith@yahoo.co.uk  (each person alone)
 *   ceo@sub.contoso.com              INTERNAL    contoso.com      (our own: never notified)
 *   /O=ENRON/OU=NA/CN=RECIPIENTS/CN=PALLEN  -> mapped SMTP address, else UNRESOLVED
 *   IMCEAEX-_O=ENRON_OU=NA_CN=..@enron.com  -> decoded DN, same as above
 *   "not an address"                 INVALID     (reason given)
 *
 * Rules, in order of precedence:
 *   1. Normalise: trim, strip <...>, "mailto:"/"smtp:"; split at the last '@';
 *      lower-case the domain (ASCII only: an IDN in UTF-8 stays as found,
 *      A-labels "xn--..." are ASCII already), drop one trailing '.'; keep the
 *      local part as is (odd-but-real "k..allen" is accepted).
 *   2. Exchange legacy DN / X.500 / IMCEAEX: resolved ONLY through the
 *      provided mapping (never guessed); unmapped -> UNRESOLVED.
 *   3. Internal domains (tenant's own; every subdomain too) -> INTERNAL.
 *   4. Overrides (file, or tenant.json partners), the deepest listed parent
 *      domain wins: a fixed key (multi-domain organisation), "+N" (the
 *      domain N labels below the listed one: institutional trees), or
 *      free-mail (partner "freemail": true).
 *   5. Free-mail list (exact domains and "label.*" = label.<any public
 *      suffix>), matched on the domain and its parents down to the
 *      registrable domain -> FREEMAIL, key = the whole address lower-cased.
 *   6. Otherwise the registrable domain (eTLD+1); a domain that is itself a
 *      public suffix (or a single label such as "ect") -> INVALID.
 *
 * Mailing lists: mh_org_list_id() extracts the id from a List-Id header and
 * mh_orgs_classify_list() gives the organisation hosting the list (its
 * registrable domain, or the list id itself on a free-mail/list host);
 * members are unknown, so the list host is the party to tell.
 *
 * File formats (rules/notify/README.md): free-mail list: one domain or
 * "label.*" per line; overrides: "<domain> <key|+N|freemail> [display
 * name]"; DN mapping: "<legacy DN> <smtp address>" (the address is the last
 * whitespace-separated token, so DNs may contain spaces). '#' starts a
 * comment, blank lines are ignored. Later entries replace earlier ones for
 * the same domain/DN.
 *
 * Ownership/threading: a mh_orgs is built single-threaded, then read-only:
 * mh_orgs_classify may be called from many threads. Entries in all tables
 * together are capped at MH_ORG_MAX_ENTRIES, files at MH_ORG_MAX_FILE_BYTES,
 * addresses and keys at MH_MAX_ADDRESS_BYTES.
 */
#ifndef MH_NOTIFY_ORG_H
#define MH_NOTIFY_ORG_H

#include <stdbool.h>
#include <stddef.h>

#include "base/slice.h"
#include "mailhound/limits.h"
#include "mailhound/status.h"

typedef struct mh_orgs mh_orgs;

enum mh_org_kind {
    MH_ORG_DOMAIN = 0, /* key = registrable domain */
    MH_ORG_OVERRIDE,   /* key from an override / tenant partner */
    MH_ORG_FREEMAIL,   /* an individual: key = the address (lower-cased) */
    MH_ORG_LIST,       /* a mailing list (mh_orgs_classify_list only) */
    MH_ORG_INTERNAL,   /* one of our own domains: never notified; key = that domain */
    MH_ORG_UNRESOLVED, /* legacy DN / X.500 not in the mapping; key empty */
    MH_ORG_INVALID,    /* not a usable address; key empty, reason set */
};

struct mh_org {
    enum mh_org_kind kind;
    char key[MH_MAX_ADDRESS_BYTES + 1];     /* organisation key (NUL-terminated) */
    char address[MH_MAX_ADDRESS_BYTES + 1]; /* normalised address (resolved DN: the SMTP one) */
    const char *name;   /* display name from an override/partner, else NULL (owned by mh_orgs) */
    const char *reason; /* INVALID / UNRESOLVED: fixed reason, else NULL */
    bool via_dn;        /* the address came from the legacy-DN mapping */
};

/* "organisation" (DOMAIN, OVERRIDE), "individual", "list", "internal",
 * "unresolved", "invalid". */
const char *mh_org_kind_str(enum mh_org_kind k);
/* True for the kinds that receive a package (DOMAIN, OVERRIDE, FREEMAIL, LIST). */
bool mh_org_kind_notified(enum mh_org_kind k);

MH_MUST_CHECK mh_status mh_orgs_new(mh_orgs **out, mh_error *err);
void mh_orgs_free(mh_orgs *o);

/* Add one internal domain (all its subdomains are internal too). */
MH_MUST_CHECK mh_status mh_orgs_add_internal(mh_orgs *o, const char *domain, size_t n,
                                             mh_error *err);
/* Add one free-mail pattern: "gmail.com" or "yahoo.*". */
MH_MUST_CHECK mh_status mh_orgs_add_freemail(mh_orgs *o, const char *pattern, size_t n,
                                             mh_error *err);
/*
 * Add one override for domain (and its subdomains). key: a fixed organisation
 * key, or "+N" (N = 1..9: key on the domain N labels below `domain`), or
 * "freemail" (each address its own party). name may be NULL.
 */
MH_MUST_CHECK mh_status mh_orgs_add_override(mh_orgs *o, const char *domain, const char *key,
                                             const char *name, mh_error *err);
/* Map a legacy Exchange DN (case-insensitive) to an SMTP address. */
MH_MUST_CHECK mh_status mh_orgs_add_dn(mh_orgs *o, const char *dn, size_t dn_len,
                                       const char *address, size_t addr_len, mh_error *err);

/* Loaders for the file formats above. Errors carry the file and line. */
MH_MUST_CHECK mh_status mh_orgs_load_freemail(mh_orgs *o, const char *path, mh_error *err);
MH_MUST_CHECK mh_status mh_orgs_load_overrides(mh_orgs *o, const char *path, mh_error *err);
MH_MUST_CHECK mh_status mh_orgs_load_dn_map(mh_orgs *o, const char *path, mh_error *err);
/* Load the shipped list: $MAILHOUND_DATA (else MH_DATA_DIR) /rules/notify/freemail.txt. */
MH_MUST_CHECK mh_status mh_orgs_load_default_freemail(mh_orgs *o, mh_error *err);

/*
 * Load a `mailhound simulate` tenant.json (or any file of that shape):
 *   "internal_domains" | "domains" | "accepted_domains": ["contoso.com", ...]
 *   "tenants": [{"domains": [...]}, ...]          (each tenant's own domains)
 *   "partners": [{"key", "name", "domains": [...], "freemail": bool}, ...]
 *   "users": [{"legacy_dn" | "legacyExchangeDN", "mail" | "upn" | "address"}]
 * Partners with "freemail": true make each address in their domains its own
 * party; others map all their domains to "key". Unknown members are ignored.
 * MH_EPARSE (with the byte offset) on malformed JSON or wrongly typed members.
 */
MH_MUST_CHECK mh_status mh_orgs_load_tenant(mh_orgs *o, const char *json, size_t n,
                                            mh_error *err);
MH_MUST_CHECK mh_status mh_orgs_load_tenant_file(mh_orgs *o, const char *path, mh_error *err);

/* Entries loaded (all tables together). */
size_t mh_orgs_count(const mh_orgs *o);

/*
 * Classify one address (bytes as found in a header or a trace row). Always
 * fills *out; returns MH_OK for every classification (INVALID and UNRESOLVED
 * are results, not errors). MH_EUNSUPPORTED only when no public suffix list
 * can be loaded. Thread-safe on a built mh_orgs.
 */
MH_MUST_CHECK mh_status mh_orgs_classify(const mh_orgs *o, const char *addr, size_t n,
                                         struct mh_org *out, mh_error *err);

/* The list id of a List-Id header value ("Users <users.lists.example.org>"
 * -> "users.lists.example.org"; a bare id is accepted). MH_EPARSE if none. */
MH_MUST_CHECK mh_status mh_org_list_id(const char *value, size_t n, struct mh_slice *id);

/* Classify a mailing list by its list id: kind LIST, key = the hosting
 * organisation's key (registrable domain / override), or the list id itself
 * when the host is on the free-mail list (each list on a public list host is
 * its own party); address = the list id. INVALID for "localhost" ids. */
MH_MUST_CHECK mh_status mh_orgs_classify_list(const mh_orgs *o, const char *list_id, size_t n,
                                              struct mh_org *out, mh_error *err);

#endif

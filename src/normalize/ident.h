/*
 * normalize/ident.h -- identifiers as the logs write them, and their canonical forms
 *
 * Pipeline: ingest -> [normalize] -> match -> correlate. Pure functions used
 * by the entity accessors (normalize/entity.c) and by later stages that join
 * on the same keys (correlate indexes sign-ins by UTI, scope compares IPs).
 *
 * - IP addresses (../shared/docs/log-formats.md §11.2): "1.2.3.4",
 *   "1.2.3.4:port", "[v6]:port", bare v6, "::ffff:1.2.3.4". Parsed into a
 *   16-byte address + family + optional port; printed in the canonical text
 *   form: dotted quad for IPv4 (IPv4-mapped IPv6 becomes IPv4), RFC 5952 for
 *   IPv6 (lower-case hex, no leading zeros, the longest run of two or more
 *   zero groups -- the first on a tie -- written as "::").
 * - GUIDs (§11.4): 8-4-4-4-12 hex, any case, optional braces; canonical text
 *   is lower-case without braces. No version/variant check.
 * - UTIs (§12): AppAccessContext.UniqueTokenId / uniqueTokenIdentifier.
 *   22 characters of the base64url alphabet = the 16 GUID bytes of the
 *   sign-in id in .NET little-endian order (Data1, Data2, Data3 reversed,
 *   Data4 as written); 48 characters of standard base64 = the 36 ASCII
 *   characters of the id (older / sanitised exports). Anything else is an
 *   opaque, case-sensitive string.
 *     id  4d63c1c4-c95b-4d3c-8e0a-1271fd813e00
 *     LE  c4 c1 63 4d 5b c9 3c 4d 8e 0a 12 71 fd 81 3e 00
 *     UTI xMFjTVvJPE2OChJx_YE-AA
 * - Operation keys (§11.1): trim ASCII whitespace, strip one trailing '.',
 *   map U+2013 / U+2014 to '-', ASCII lower-case. "Add member to role." and
 *   "Update application – Certificates and secrets management " become
 *   "add member to role" and "update application - certificates and secrets
 *   management".
 *
 * No allocation, no state: thread-safe.
 */
#ifndef MH_NORMALIZE_IDENT_H
#define MH_NORMALIZE_IDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "mailhound/status.h"

/* Longest canonical text: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" (39) + NUL. */
#define MH_IP_TEXT_MAX 48

struct mh_ip {
    uint8_t family;   /* 4 or 6 */
    uint8_t addr[16]; /* IPv4: addr[0..3] */
    int32_t port;     /* -1 when absent */
};

/* Parse one address in any of the forms above (surrounding ASCII whitespace
 * ignored). MH_EPARSE when s is not an address; *out untouched then. */
MH_MUST_CHECK mh_status mh_ip_parse(const char *s, size_t n, struct mh_ip *out);
/* Canonical text of the address (port left out) into out; returns its length. */
size_t mh_ip_format(const struct mh_ip *ip, char out[MH_IP_TEXT_MAX]);
/*
 * Canonical form of a client IP as logged: the formatted address when s
 * parses (the result points into buf), otherwise s trimmed of ASCII
 * whitespace (the result points into s). Never fails.
 */
struct mh_slice mh_ip_canon(const char *s, size_t n, char buf[MH_IP_TEXT_MAX]);

struct mh_guid {
    uint8_t b[16]; /* in text order: the hex pairs as written, left to right */
};

/* Parse 8-4-4-4-12 hex (any case, optional {braces}). MH_EPARSE otherwise. */
MH_MUST_CHECK mh_status mh_guid_parse(const char *s, size_t n, struct mh_guid *out);
/* Lower-case text, NUL-terminated; out must hold 37 bytes. Returns 36. */
size_t mh_guid_format(const struct mh_guid *g, char out[37]);

enum mh_uti_form {
    MH_UTI_OPAQUE = 0, /* not decodable: compare the string exactly */
    MH_UTI_B64URL_LE,  /* 22-char base64url of the little-endian GUID bytes */
    MH_UTI_B64_ASCII,  /* 48-char base64 of the 36-char id text */
};

/* Decode a UTI to the sign-in id it stands for (*id set unless OPAQUE). */
enum mh_uti_form mh_uti_decode(const char *s, size_t n, struct mh_guid *id);
/* The modern UTI of a sign-in id: 22 characters + NUL into out. Returns 22. */
size_t mh_uti_encode(const struct mh_guid *id, char out[23]);

/* Canonical operation key of s[0..n) into out (room for n bytes; the key is
 * never longer than its input). Returns the key length. */
size_t mh_operation_key(const char *s, size_t n, char *out);

#endif

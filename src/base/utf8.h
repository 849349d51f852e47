/*
 * base/utf8.h -- UTF-8 validation and repair, written once
 *
 * The strict definition everywhere (RFC 3629): no overlong forms, no
 * UTF-16 surrogates, nothing above U+10FFFF. Used by the JSON writer, the
 * TOML reader, the mail decoder and the secret scanner. (ingest/json.c keeps
 * its own SIMD-interleaved validator on the parse hot path.)
 */
#ifndef MH_BASE_UTF8_H
#define MH_BASE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Decode the sequence at p (n bytes available, n >= 1): its length 1..4 and
 * code point in *cp (may be NULL); 0 when the sequence is invalid or cut. */
size_t mh_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);
/* True when s[0..n) is valid UTF-8. */
bool mh_utf8_valid(const char *s, size_t n);
/* Append s[0..n) to out as valid UTF-8, each invalid byte as U+FFFD. Sets
 * *repaired when something was replaced (may be NULL). */
MH_MUST_CHECK mh_status mh_utf8_repair(const char *s, size_t n, struct mh_buf *out, bool *repaired);

#endif

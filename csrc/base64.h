/* base64.h: a strict RFC 4648 §4 base64 codec (internal). */
#ifndef LX_BASE64_H
#define LX_BASE64_H

#include "buf.h"

#include <stddef.h>

/* The length of the encoding of n bytes. */
static inline size_t base64_encoded_len(size_t n) { return (n + 2) / 3 * 4; }

/* Appends the padded encoding of `len` bytes to b (no NUL). Returns 0 or
 * LX_ERR_NOMEM. */
int base64_encode(buf *b, const void *data, size_t len);

/* Decodes `len` characters into `out`, which has room for `cap` bytes;
 * *out_len receives the decoded size. Strict: only the alphabet, a length
 * that is a multiple of 4, at most two '=' and only at the end, and zero
 * trailing bits (one canonical text per byte string); no whitespace. The
 * empty text decodes to nothing. Returns 0, or -1 when the text is not
 * canonical base64 or does not fit in cap. */
int base64_decode(const char *text, size_t len, unsigned char *out, size_t cap,
                  size_t *out_len);

/* The largest size the decoding of `len` characters can have. */
static inline size_t base64_decoded_max(size_t len) { return len / 4 * 3; }

#endif

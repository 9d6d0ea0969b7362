/* fixed_random.h: a deterministic lx_random_fn for the tests and fuzzers:
 * the given bytes in turn, then each call's bytes all equal to the number
 * of that call (so every draw differs from the one before). */
#ifndef FIXED_RANDOM_H
#define FIXED_RANDOM_H

#include <stddef.h>

typedef struct fixed_random {
  const unsigned char *bytes; /* given first (NULL: none) */
  size_t len, pos;
  unsigned calls;
} fixed_random;

static inline int fixed_random_fn(void *user, unsigned char *out, size_t n) {
  fixed_random *r = user;
  r->calls++;
  for (size_t i = 0; i < n; i++)
    out[i] = r->pos < r->len ? r->bytes[r->pos++] : (unsigned char)r->calls;
  return 0;
}

#endif

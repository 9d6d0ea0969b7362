/* random.c: random bytes from a caller's lx_random_fn or OpenSSL. */
#include "random.h"

#include <limits.h>
#include <openssl/rand.h>

int random_bytes(lx_random_fn fn, void *user, unsigned char *p, size_t n) {
  if (fn)
    return fn(user, p, n) ? LX_ERR_INTERNAL : 0;
  return n <= INT_MAX && RAND_bytes(p, (int)n) == 1 ? 0 : LX_ERR_INTERNAL;
}

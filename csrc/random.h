/* random.h: random bytes from a caller's lx_random_fn or OpenSSL
 * (internal). */
#ifndef LX_RANDOM_H
#define LX_RANDOM_H

#include "lxmpp.h"

/* Fills p with n bytes from fn(user, ...), or from RAND_bytes when fn is
 * NULL. Returns 0 or LX_ERR_INTERNAL. */
int random_bytes(lx_random_fn fn, void *user, unsigned char *p, size_t n);

#endif

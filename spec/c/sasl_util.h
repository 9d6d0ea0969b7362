/* sasl_util.h: helpers shared by the SASL C tests. */
#ifndef SASL_UTIL_H
#define SASL_UTIL_H

#include "base64.h"
#include "check.h"
#include "fixed_random.h"
#include "lxmpp.h"
#include "sasl.h"
#include "scram.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof *(a))

/* Decodes base64 into out; returns the length (CHECKs that it decodes). */
static inline size_t unb64(const char *s, unsigned char *out, size_t cap) {
  size_t n = 0;
  int rc = base64_decode(s, strlen(s), out, cap, &n);
  CHECK(rc == 0);
  return rc ? 0 : n;
}

/* base64 into a static buffer. */
static inline const char *b64(const void *p, size_t n) {
  static char out[1024];
  buf b = BUF_INIT;
  CHECK(base64_encode(&b, p, n) == 0 && b.len < sizeof out);
  memcpy(out, b.data ? b.data : "", b.len);
  out[b.len] = '\0';
  buf_free(&b);
  return out;
}

/* Lower-case hex into a static buffer. */
static inline const char *hex(const unsigned char *p, size_t n) {
  static char out[2 * LX_SASL_MAX_HASH + 1];
  for (size_t i = 0; i < n && i < LX_SASL_MAX_HASH; i++)
    snprintf(out + 2 * i, 3, "%02x", p[i]);
  out[2 * (n < LX_SASL_MAX_HASH ? n : LX_SASL_MAX_HASH)] = '\0';
  return out;
}

/* A borrowed message as a NUL-terminated copy (static buffer). */
static inline const char *str(const unsigned char *p, size_t n) {
  static char out[4096];
  if (!p)
    return "(null)";
  if (n >= sizeof out)
    n = sizeof out - 1;
  memcpy(out, p, n);
  out[n] = '\0';
  return out;
}

#define U(s) ((const unsigned char *)(s))

/* Runs a whole exchange between c and s, answering a credentials request
 * with cred. Returns 0 when both sides succeeded, else the first negative
 * code (from either side). */
static inline int exchange(lx_sasl_client *c, lx_sasl_server *s,
                           const lx_sasl_credentials *cred) {
  const unsigned char *msg = NULL, *reply = NULL;
  size_t mlen = 0, rlen = 0;
  if (!c || !s)
    return LX_ERR_INVALID; /* a creation the test CHECKed failed */
  int rc = lx_sasl_client_initial(c, &msg, &mlen, NULL);
  if (rc < 0)
    return rc;
  int r = lx_sasl_server_start(s, lx_sasl_client_mechanism(c),
                               rc == 1 ? msg : NULL, mlen, &reply, &rlen, NULL);
  for (int round = 0; round < 10; round++) {
    if (r == LX_SASL_NEED_CREDENTIALS) {
      r = lx_sasl_server_credentials(s, cred, &reply, &rlen, NULL);
      continue;
    }
    if (r == LX_SASL_SUCCESS)
      return lx_sasl_client_finish(c, reply, rlen, NULL);
    if (r != LX_SASL_CHALLENGE)
      return r;
    rc = lx_sasl_client_step(c, reply, rlen, &msg, &mlen, NULL);
    if (rc < 0)
      return rc;
    r = lx_sasl_server_step(s, msg, mlen, &reply, &rlen, NULL);
  }
  return LX_ERR_INTERNAL;
}

#endif

/* sasl_common.c: what every SASL file needs: digests, preparation,
 * randomness, small string helpers. */
#include "sasl_common.h"
#include "base64.h"
#include "error.h"
#include "random.h"

#include <stdlib.h>
#include <string.h>
#include <unistr.h>

/* The hash families, indexed by lx_sasl_hash (0: none). */
static const struct {
  const char *name;
  size_t size;
  const EVP_MD *(*md)(void);
} hashes[] = {
    [LX_SASL_SHA1] = {"SHA-1", 20, EVP_sha1},
    [LX_SASL_SHA256] = {"SHA-256", 32, EVP_sha256},
    [LX_SASL_SHA512] = {"SHA-512", 64, EVP_sha512},
};

static int known_hash(lx_sasl_hash h) {
  return h >= LX_SASL_SHA1 && h <= LX_SASL_SHA512;
}

size_t lx_sasl_hash_size(lx_sasl_hash h) {
  return known_hash(h) ? hashes[h].size : 0;
}

const char *lx_sasl_hash_name(lx_sasl_hash h) {
  return known_hash(h) ? hashes[h].name : NULL;
}

const EVP_MD *sasl_md(lx_sasl_hash h) {
  return known_hash(h) ? hashes[h].md() : NULL;
}

int sasl_prep_password(const char *in, size_t len, char **out, size_t *out_len,
                       lx_error *err) {
  return lx_precis_prepare(LX_PRECIS_OPAQUE_STRING, in, len, out, out_len, err);
}

int sasl_prep_username(const char *in, size_t len, char **out, lx_error *err) {
  size_t n;
  int rc =
      lx_precis_prepare(LX_PRECIS_USERNAME_CASE_MAPPED, in, len, out, &n, err);
  /* and what RFC 7622 3.3.1 forbids in a localpart */
  if (!rc && strpbrk(*out, "\"&'/:<>@")) {
    free(*out);
    *out = NULL;
    rc = error_set(err, LX_ERR_INVALID, "not a localpart: %s",
                   "contains one of \"&'/:<>@");
  }
  return rc;
}

int sasl_random(lx_random_fn fn, void *user, unsigned char *p, size_t n,
                lx_error *err) {
  return random_bytes(fn, user, p, n)
             ? error_set(err, LX_ERR_INTERNAL, "sasl: no random bytes")
             : 0;
}

int sasl_nonce(char **out, lx_random_fn fn, void *user, lx_error *err) {
  unsigned char r[SASL_NONCE_BYTES];
  buf b = BUF_INIT;
  int rc = sasl_random(fn, user, r, sizeof r, err);
  if (!rc && (base64_encode(&b, r, sizeof r) || buf_putc(&b, '\0')))
    rc = error_set(err, LX_ERR_NOMEM, "sasl: out of memory");
  if (rc)
    buf_free(&b);
  *out = rc ? NULL : b.data;
  return rc;
}

int sasl_utf8_valid(const char *s, size_t n) {
  /* u8_check refuses overlong forms and surrogates too */
  return !memchr(s, 0, n) && !u8_check((const uint8_t *)s, n);
}

char *sasl_strndup(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

char *sasl_dup(const char *s, int *fail) {
  char *d = s ? sasl_strndup(s, strlen(s)) : NULL;
  if (s && !d)
    *fail = 1;
  return d;
}

/* sasl_common.h: what every SASL file needs (internal): limits on peer
 * input, the digests, the preparation of names and passwords, randomness
 * and small string helpers. It sits beneath sasl.c, scram.c and
 * digest_md5.c and calls none of them. */
#ifndef LX_SASL_COMMON_H
#define LX_SASL_COMMON_H

#include "buf.h"
#include "lxmpp.h"

#include <openssl/evp.h>

/* Limits on peer input that are not options. */
#define SASL_MAX_ATTRS 32     /* attributes in one SCRAM/DIGEST message */
#define SASL_MAX_NONCE 512    /* bytes of a nonce */
#define SASL_MAX_NAME 1023    /* bytes of a username or authzid */
#define SASL_NONCE_BYTES 24   /* random bytes in the nonces we make */
#define SASL_SALT_BYTES 16    /* random bytes in the salts we make */
#define SASL_MAX_CB_DATA 1024 /* bytes of caller-given binding data */

/* The OpenSSL digest for a SCRAM hash (NULL for an unknown value). */
const EVP_MD *sasl_md(lx_sasl_hash hash);

/* PRECIS OpaqueString of a password into a new malloc()ed string (wipe it
 * with OPENSSL_cleanse before free). Returns 0, LX_ERR_INVALID, or
 * LX_ERR_NOMEM. */
int sasl_prep_password(const char *in, size_t len, char **out, size_t *out_len,
                       lx_error *err);
/* PRECIS UsernameCaseMapped, same contract. */
int sasl_prep_username(const char *in, size_t len, char **out, lx_error *err);

/* Fills p with n bytes from fn (NULL: RAND_bytes). Returns 0 or
 * LX_ERR_INTERNAL. */
int sasl_random(lx_random_fn fn, void *user, unsigned char *p, size_t n,
                lx_error *err);

/* A fresh nonce: base64 of SASL_NONCE_BYTES bytes from fn (printable, no
 * ',', '"' or '\\'), malloc()ed and NUL-terminated into *out. Returns 0,
 * LX_ERR_NOMEM or LX_ERR_INTERNAL. */
int sasl_nonce(char **out, lx_random_fn fn, void *user, lx_error *err);

/* 1 when the n bytes are valid UTF-8 without NUL, else 0. */
int sasl_utf8_valid(const char *s, size_t n);

/* A malloc()ed NUL-terminated copy of n bytes (NULL on NOMEM). */
char *sasl_strndup(const char *s, size_t n);

/* A malloc()ed copy of s, or NULL for NULL; sets *fail when out of memory,
 * so that several copies are checked once. */
char *sasl_dup(const char *s, int *fail);

#endif

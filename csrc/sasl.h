/* sasl.h: the table of mechanisms that the SASL client and server objects
 * (sasl.c) choose from (internal; the fuzzers pick from it too). */
#ifndef LX_SASL_H
#define LX_SASL_H

#include "sasl_common.h"

/* What a mechanism is and where it is used. */
enum {
  MECH_PLUS = 1 << 0,           /* SCRAM with channel binding */
  MECH_CLIENT_DEFAULT = 1 << 1, /* the client uses it unless told otherwise */
  MECH_SERVER_DEFAULT = 1 << 2, /* the server offers it unless told so */
  MECH_NEEDS_TLS = 1 << 3,      /* sends the password: only over TLS */
  MECH_NEEDS_HOST = 1 << 4,     /* names the host (DIGEST-MD5's realm) */
  MECH_NEEDS_PASSWORD = 1 << 5, /* the client needs the password */
  MECH_CHANNEL_BOUND = 1 << 6,  /* authenticates the TLS channel itself
                                   (-PLUS, EXTERNAL) */
  MECH_NEEDS_CLIENT_CERT = 1 << 7, /* the server offers it only to a client
                                      whose certificate verified (EXTERNAL,
                                      XEP-0178) */
};

typedef struct mech_family mech_family; /* the operations, in sasl.c */

typedef struct mech_info {
  const char *name;
  const mech_family *family;
  lx_sasl_hash hash; /* SCRAM; 0 for the others */
  unsigned flags;    /* MECH_* */
} mech_info;

/* Every mechanism, in the client's default order of preference. */
#define MECH_COUNT 10
extern const mech_info sasl_mechs[MECH_COUNT];

/* The entry for `name` (exact), or NULL. */
const mech_info *sasl_mech_find(const char *name);

/* Where the randomness of an exchange enters: lx_sasl_client_new and
 * lx_sasl_server_start with our nonce given (printable ASCII without ',',
 * '"' or '\\'), or NULL to draw a fresh one from the options' random as
 * they do. Known-answer tests give the nonces of published exchanges. */
int sasl_client_create(lx_sasl_client **out, const lx_sasl_client_opts *o,
                       const char *nonce, lx_error *err);
int sasl_server_start(lx_sasl_server *s, const char *nonce,
                      const char *mechanism, const unsigned char *initial,
                      size_t len, const unsigned char **out, size_t *out_len,
                      lx_error *err);

#endif

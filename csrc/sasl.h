/* sasl.h: what the SASL files share (internal): the mechanism table, the
 * preparation of names and passwords, randomness, and the SCRAM and
 * DIGEST-MD5 step functions that sasl.c drives. */
#ifndef LX_SASL_H
#define LX_SASL_H

#include "buf.h"
#include "lxmpp.h"

#include <openssl/evp.h>

typedef enum mech_family {
  FAMILY_SCRAM = 1,
  FAMILY_DIGEST_MD5,
  FAMILY_PLAIN,
  FAMILY_EXTERNAL,
  FAMILY_ANONYMOUS
} mech_family;

typedef struct mech_info {
  const char *name;
  mech_family family;
  lx_sasl_hash hash; /* SCRAM */
  int plus;          /* SCRAM with channel binding */
} mech_info;

/* Every mechanism, in the client's default order of preference. */
#define MECH_COUNT 10
extern const mech_info sasl_mechs[MECH_COUNT];

/* The entry for `name` (exact), or NULL. */
const mech_info *sasl_mech_find(const char *name);

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

/* Fills p with n random bytes (RAND_bytes). Returns 0 or LX_ERR_INTERNAL. */
int sasl_random(unsigned char *p, size_t n, lx_error *err);

/* Appends a fresh random nonce (printable, no ',') to b, or `fixed` when
 * not NULL (tests). Returns 0, LX_ERR_NOMEM or LX_ERR_INTERNAL. */
int sasl_nonce(buf *b, const char *fixed, lx_error *err);

/* 1 when the n bytes are valid UTF-8 without NUL, else 0. */
int sasl_utf8_valid(const char *s, size_t n);

/* A malloc()ed NUL-terminated copy of n bytes (NULL on NOMEM). */
char *sasl_strndup(const char *s, size_t n);

/* ---- SCRAM (scram.c) ---- */

typedef struct scram_client scram_client;
typedef struct scram_server scram_server;

typedef struct scram_client_cfg {
  lx_sasl_hash hash;
  char flag;           /* the GS2 flag: 'n', 'y', or 'p' (binding) */
  const char *cb_type; /* with 'p' */
  const unsigned char *cb_data;
  size_t cb_len;
  const char *username; /* not escaped yet */
  const char *authzid;  /* NULL: none */
  const char *password; /* prepared; NULL when only keys */
  size_t password_len;
  const lx_scram_keys *keys; /* cached, or NULL */
  const buf *ssdp;           /* the XEP-0474 input of what was advertised */
  int require_ssdp;
  unsigned min_iterations, max_iterations;
  size_t max_salt, max_message;
  const char *nonce; /* fixed nonce (tests) or NULL */
} scram_client_cfg;

/* The strings of cfg are copied. Returns 0 or LX_ERR_NOMEM. */
int scram_client_new(scram_client **out, const scram_client_cfg *cfg,
                     lx_error *err);
void scram_client_free(scram_client *c);
/* client-first-message into out. */
int scram_client_first(scram_client *c, buf *out, lx_error *err);
/* server-first-message in, client-final-message out. */
int scram_client_final(scram_client *c, const char *in, size_t len, buf *out,
                       lx_error *err);
/* server-final-message: 0 when v= verifies. */
int scram_client_verify(scram_client *c, const char *in, size_t len,
                        lx_error *err);
/* The keys of a finished exchange (borrowed from c). */
void scram_client_keys(const scram_client *c, lx_scram_keys *keys);
/* The channel-binding type of the GS2 header ("p="), or NULL. */
const char *scram_client_cb_type(const scram_client *c);

typedef struct scram_server_cfg {
  lx_sasl_hash hash;
  int plus;             /* the mechanism is -PLUS */
  int offers_plus;      /* we advertised some -PLUS (a 'y' is a downgrade) */
  const lx_sasl_cb *cb; /* our binding data by type */
  size_t n_cb;
  const buf *ssdp; /* XEP-0474 input, or NULL: no h= */
  size_t max_message;
  const char *nonce; /* fixed nonce part (tests) or NULL */
} scram_server_cfg;

/* cfg and what it points to must outlive the scram_server. */
int scram_server_new(scram_server **out, const scram_server_cfg *cfg);
void scram_server_free(scram_server *s);
/* Parses client-first-message: the prepared username and the authzid (NULL
 * when none) are malloc()ed for the caller. */
/* 1 when the client-first message asked for a binding type we lack. */
int scram_server_cb_unsupported(const scram_server *s);
int scram_server_first(scram_server *s, const char *in, size_t len,
                       char **username, char **authzid, lx_error *err);
/* server-first-message into out, from the account's keys (stored_key,
 * server_key, salt, iterations; copied). */
int scram_server_challenge(scram_server *s, const lx_scram_keys *keys, buf *out,
                           lx_error *err);
/* Verifies client-final-message; server-final-message (v=) into out. */
int scram_server_final(scram_server *s, const char *in, size_t len, buf *out,
                       lx_error *err);

/* The XEP-0474 input: the sorted mechanisms joined by 0x1e, then, when
 * cb_types is not NULL, 0x1f and the sorted types joined by 0x1e. Returns
 * 0 or LX_ERR_NOMEM. */
int scram_ssdp_input(buf *out, const char *const *mechs, size_t n_mechs,
                     const char *const *cb_types, size_t n_cb_types);

/* ---- DIGEST-MD5 (digest_md5.c) ---- */

typedef struct digest_client digest_client;
typedef struct digest_server digest_server;

typedef struct digest_cfg {
  const char *username; /* client: as given; server: unused */
  const char *password; /* client only */
  size_t password_len;
  const char *authzid; /* client only; NULL: none */
  const char *host;    /* digest-uri host; the server's realm */
  const char *service; /* digest-uri service */
  const char *nonce;   /* fixed cnonce (client) / nonce (server), tests */
  size_t max_message;
} digest_cfg;

/* Strings are copied (the password wiped on free). 0 or LX_ERR_NOMEM. */
int digest_client_new(digest_client **out, const digest_cfg *cfg);
void digest_client_free(digest_client *c);
/* The server's digest-challenge in, digest-response out. */
int digest_client_response(digest_client *c, const char *in, size_t len,
                           buf *out, lx_error *err);
/* "rspauth=..." in: 0 when it verifies. */
int digest_client_verify(digest_client *c, const char *in, size_t len,
                         lx_error *err);

int digest_server_new(digest_server **out, const digest_cfg *cfg);
void digest_server_free(digest_server *s);
/* The digest-challenge into out. */
int digest_server_challenge(digest_server *s, buf *out, lx_error *err);
/* Parses the digest-response: the prepared username and the authzid (NULL
 * when none) are malloc()ed for the caller. */
int digest_server_response(digest_server *s, const char *in, size_t len,
                           char **username, char **authzid, lx_error *err);
/* Checks the response against the password; "rspauth=..." into out. */
int digest_server_verify(digest_server *s, const char *password, size_t len,
                         buf *out, lx_error *err);

#endif

/* scram.h: the SCRAM step machines of both roles and the XEP-0474 input
 * (internal; sasl.c drives them). */
#ifndef LX_SCRAM_H
#define LX_SCRAM_H

#include "sasl_common.h"

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
  const char *nonce; /* our nonce (sasl_nonce) */
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
  const char *nonce; /* our nonce part (sasl_nonce) */
} scram_server_cfg;

/* cfg and what it points to must outlive the scram_server. */
int scram_server_new(scram_server **out, const scram_server_cfg *cfg);
void scram_server_free(scram_server *s);
/* Parses client-first-message: the prepared username and the authzid (NULL
 * when none) are malloc()ed for the caller. */
int scram_server_first(scram_server *s, const char *in, size_t len,
                       char **username, char **authzid, lx_error *err);
/* 1 when the client-first message asked for a binding type we lack. */
int scram_server_cb_unsupported(const scram_server *s);
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

#endif

/* digest_md5.h: the DIGEST-MD5 step machines of both roles (internal;
 * sasl.c drives them). */
#ifndef LX_DIGEST_MD5_H
#define LX_DIGEST_MD5_H

#include "sasl_common.h"

typedef struct digest_client digest_client;
typedef struct digest_server digest_server;

typedef struct digest_cfg {
  const char *username; /* client: as given; server: unused */
  const char *password; /* client only */
  size_t password_len;
  const char *authzid; /* client only; NULL: none */
  const char *host;    /* digest-uri host; the server's realm */
  const char *service; /* digest-uri service */
  const char *nonce;   /* our cnonce (client) / nonce (server): sasl_nonce */
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

/* tls.h: TLS internals shared with white-box tests and the connection. */
#ifndef LX_TLS_H
#define LX_TLS_H

#include "lxmpp.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

/* The OpenSSL objects under a context and a session (borrowed). Tests use
 * them to set what the public API deliberately does not offer (no Extended
 * Master Secret, renegotiation) and to read raw handshake values. */
SSL_CTX *tls_ctx_ssl(lx_tls_ctx *ctx);
SSL *tls_ssl(lx_tls *t);

/* The tls-server-end-point hash of `cert` (RFC 5929 §4.1) into out
 * (EVP_MAX_MD_SIZE bytes), its length in *len. Returns 0,
 * LX_ERR_TLS_CB_UNAVAILABLE (no single signature hash) or LX_ERR_NOMEM. */
int tls_end_point_hash(X509 *cert, unsigned char *out, size_t *len,
                       lx_error *err);

#endif

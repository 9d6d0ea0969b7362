/* fuzz_tls.c: a TLS session fed arbitrary ciphertext must never crash or
 * leak; it may of course fail the handshake.
 *
 * Input: one control byte, then the bytes from the "network". The control
 * byte's low 7 bits are the chunk size (0: everything at once); its top bit
 * picks a client session (which first sends its ClientHello) instead of a
 * server. */
#include "lxmpp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static lx_tls_ctx *server, *client;

static void setup(void) {
  static const char *const alpn[] = {"xmpp-client"};
  lx_tls_cert_spec spec = {"example.com", NULL, LX_TLS_KEY_P256, 0};
  lx_tls_opts o;
  char *cert = NULL, *key = NULL;
  if (lx_tls_cert_selfsigned(&spec, &cert, &key, NULL) ||
      lx_tls_ctx_new(&server, LX_TLS_SERVER, NULL, NULL) ||
      lx_tls_ctx_add_cert(server, cert, strlen(cert), key, strlen(key), NULL) ||
      lx_tls_ctx_set_alpn(server, alpn, 1, NULL))
    abort();
  lx_tls_opts_init(&o);
  o.verify = LX_TLS_VERIFY_NONE;
  if (lx_tls_ctx_new(&client, LX_TLS_CLIENT, &o, NULL) ||
      lx_tls_ctx_set_alpn(client, alpn, 1, NULL))
    abort();
  free(cert);
  lx_tls_pem_free(key);
}

/* Reads all plaintext and throws the output away. */
static void drain(lx_tls *t) {
  char buf[4096];
  const char *p;
  while (lx_tls_read(t, buf, sizeof buf) > 0)
    ;
  lx_tls_consume_send(t, lx_tls_peek_send(t, &p));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lx_tls *t = NULL;
  size_t chunk, off = 0;
  if (!server)
    setup();
  if (size < 1)
    return 0;
  chunk = data[0] & 0x7f ? data[0] & 0x7f : size;
  if (lx_tls_new(&t, data[0] & 0x80 ? client : server, "example.com", NULL))
    return 0;
  lx_tls_handshake(t);
  drain(t);
  data++;
  size--;
  while (off < size) {
    size_t n = size - off < chunk ? size - off : chunk;
    ssize_t k = lx_tls_recv(t, (const char *)data + off, n);
    if (k <= 0)
      break;
    off += (size_t)k;
    drain(t);
  }
  lx_tls_recv_eof(t);
  drain(t);
  lx_tls_free(t);
  return 0;
}

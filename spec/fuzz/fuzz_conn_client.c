/* fuzz_conn_client.c: a client-role connection driven by arbitrary server
 * bytes. Byte 0 picks the mode: bit 0 clear, plaintext (ANONYMOUS or SCRAM,
 * ids and nonce from a fixed_random), fed whole and in pieces (bit 2: 7 bytes,
 * else 1), which must agree; set, STARTTLS when offered, so that the bytes
 * after <proceed/> reach TLS. Bit 1: a newline after every '>' of the input, as
 * some servers write after every element, also right before a restart. */
#include "conn_fuzz.h"

static lx_conn *client(int tls, fixed_random *r) {
  static const char *const allowed[] = {"SCRAM-SHA-1", "ANONYMOUS"};
  static lx_tls_ctx *ctx;
  lx_conn_opts o;
  lx_conn *c;
  if (tls && !ctx && lx_tls_ctx_new(&ctx, LX_TLS_CLIENT, NULL, NULL))
    abort();
  lx_conn_opts_init(&o);
  o.tls = tls ? LX_CONN_TLS_OPTIONAL : LX_CONN_TLS_DISABLED;
  o.tls_ctx = tls ? ctx : NULL;
  o.jid = "juliet@im.example.com/balcony";
  o.sasl_client.password = "r0m30myr0m30";
  o.sasl_client.allowed = allowed;
  o.sasl_client.n_allowed = 2;
  o.max_input_bytes = 1024;
  o.parser.max_parser_memory = 32768; /* expat renewed all the time */
  *r = (fixed_random){0}; /* ids and the nonce: draw n is n repeated */
  o.random = fixed_random_fn;
  o.random_user = r;
  if (lx_conn_new(&c, LX_CONN_CLIENT, &o, NULL) || lx_conn_start(c))
    abort();
  return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  if (len == 0)
    return 0;
  int tls = data[0] & 1;
  size_t chunk;
  uint8_t *spaced;
  const uint8_t *in = fuzz_mode(data, &len, &chunk, &spaced);
  fixed_random ra, rb;
  lx_conn *a = client(tls, &ra), *b = NULL;
  if (tls) { /* TLS is random: no comparison, but every path runs */
    buf out = BUF_INIT, log = BUF_INIT;
    fuzz_drive(a, in, len, 7, &out, &log);
    buf_free(&out);
    buf_free(&log);
  } else {
    b = client(0, &rb);
    fuzz_compare(a, b, in, len, chunk);
  }
  lx_conn_free(a);
  lx_conn_free(b);
  free(spaced);
  return 0;
}

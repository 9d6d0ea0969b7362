/* fuzz_conn_server.c: a server-role connection (plaintext, SCRAM and
 * ANONYMOUS, ids, nonces and salts from a fixed_random) driven by arbitrary
 * client bytes after a mode byte (fuzz_mode: bit 2, pieces of 7 bytes, else
 * 1; bit 1, a newline after every '>', go-sendxmpp's white space, also right
 * before the restarts), fed whole and in pieces: the runs must agree. */
#include "conn_fuzz.h"

static lx_conn *server(fixed_random *r) {
  static const char *const domains[] = {"im.example.com"};
  static const char *const mechs[] = {"SCRAM-SHA-1", "SCRAM-SHA-256",
                                      "ANONYMOUS"};
  static const char *const ext[] = {"urn:xmpp:sm:3"};
  lx_conn_opts o;
  lx_conn *c;
  lx_conn_opts_init(&o);
  o.tls = LX_CONN_TLS_DISABLED;
  o.domains = domains;
  o.n_domains = 1;
  o.sasl_server.mechanisms = mechs;
  o.sasl_server.n_mechanisms = 3;
  o.sasl_server.iterations = 1; /* no PBKDF2 cost per input */
  o.extension_ns = ext;
  o.n_extension_ns = 1;
  o.max_input_bytes = 1024;           /* the backpressure path too */
  o.parser.max_parser_memory = 32768; /* and expat renewed all the time */
  *r = (fixed_random){0}; /* ids, nonces, salts: draw n is n repeated */
  o.random = fixed_random_fn;
  o.random_user = r;
  if (lx_conn_new(&c, LX_CONN_SERVER, &o, NULL) || lx_conn_start(c))
    abort();
  return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  return fuzz_conn_target(data, len, server);
}

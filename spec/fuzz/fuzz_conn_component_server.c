/* fuzz_conn_component_server.c: the server's side of a component stream
 * (XEP-0114) driven by arbitrary component bytes, fed whole and in pieces
 * (byte 0, bit 2: 7 bytes, else 1), which must agree. Bit 1: a newline
 * after every '>' of the input. The stream id is fixed ("01" 16 times), so
 * the seeds hold the right handshake for the secret "s3cret". */
#include "conn_fuzz.h"

static lx_conn *component_server(fixed_random *r) {
  static const char *const domains[] = {"bridge.example.com",
                                        "irc.example.com"};
  lx_conn_opts o;
  lx_conn *c;
  lx_conn_opts_init(&o);
  o.tls = LX_CONN_TLS_DISABLED;
  o.domains = domains;
  o.n_domains = 2;
  o.max_input_bytes = 1024;
  o.max_preauth_stanza_bytes = 512;
  o.parser.max_parser_memory = 32768; /* expat renewed all the time */
  *r = (fixed_random){0};
  o.random = fixed_random_fn;
  o.random_user = r;
  if (lx_conn_new(&c, LX_CONN_COMPONENT_SERVER, &o, NULL) || lx_conn_start(c))
    abort();
  return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  return fuzz_conn_target(data, len, component_server);
}

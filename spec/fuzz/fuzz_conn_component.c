/* fuzz_conn_component.c: a component-role connection (XEP-0114) driven by
 * arbitrary server bytes, fed whole and in pieces (byte 0, bit 2: 7 bytes,
 * else 1), which must agree. Bit 1: a newline after every '>' of the input,
 * as some servers write after every element. */
#include "conn_fuzz.h"

static lx_conn *component(fixed_random *r) {
  lx_conn_opts o;
  lx_conn *c;
  lx_conn_opts_init(&o);
  o.tls = LX_CONN_TLS_DISABLED;
  o.jid = "bridge.example.com";
  o.component_secret = "s3cret";
  o.max_input_bytes = 1024;
  o.parser.max_parser_memory = 32768; /* expat renewed all the time */
  *r = (fixed_random){0};
  o.random = fixed_random_fn;
  o.random_user = r;
  if (lx_conn_new(&c, LX_CONN_COMPONENT, &o, NULL) || lx_conn_start(c))
    abort();
  return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  return fuzz_conn_target(data, len, component);
}

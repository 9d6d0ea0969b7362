/* fuzz_xml_stream: arbitrary bytes, in arbitrary pieces, into the stream
 * parser. The first byte seeds the chunking. Fed whole and fed in pieces,
 * the parser must give the same events; the same error when both fail (a
 * fault inside a token that never ends may stay unreported while the token
 * is still open, so only the whole feed may fail there). */
#include "lxmpp.h"

#include <stdlib.h>
#include <string.h>

typedef struct run {
  char *log;
  size_t len;
  int error;
} run;

static void append(run *r, const char *s, size_t n) {
  char *grown = realloc(r->log, r->len + n + 1);
  if (!grown)
    abort();
  memcpy(grown + r->len, s, n);
  r->log = grown;
  r->len += n;
}

static void drain(lx_parser *p, run *r) {
  lx_parse_event ev;
  while (lx_parser_next(p, &ev)) {
    char *xml = NULL;
    size_t n = 0;
    if (ev.type == LX_PARSE_OPEN)
      lx_serialize_header(lx_stanza_root(ev.stanza), NULL, &xml, &n);
    else if (ev.type == LX_PARSE_STANZA)
      lx_serialize(lx_stanza_root(ev.stanza), NULL, 0, &xml, &n);
    append(r, ev.type == LX_PARSE_CLOSE ? "close" : "event:", 6);
    if (xml)
      append(r, xml, n);
    append(r, "\n", 1);
    free(xml);
    lx_stanza_free(ev.stanza);
  }
}

static void feed(const uint8_t *data, size_t size, unsigned seed, run *r) {
  lx_parser_opts o;
  lx_parser_opts_init(&o);
  o.max_stanza_bytes = 4096; /* small limits, so the fuzzer reaches them */
  o.max_depth = 16;
  o.max_attrs = 8;
  o.max_children = 32;
  o.max_text_bytes = 1024;
  o.max_parser_memory = 32768; /* renewed after most stanzas */
  lx_parser *p;
  if (lx_parser_new(&p, &o))
    abort();
  lx_parser_stop_after(p, "urn:ietf:params:xml:ns:xmpp-tls", "proceed");
  size_t at = 0;
  while (at < size) {
    size_t n = size - at;
    if (seed) {
      seed = seed * 1103515245u + 12345u;
      size_t piece = 1 + (seed >> 16) % 16;
      if (piece < n)
        n = piece;
    }
    ssize_t rc = lx_parser_feed(p, (const char *)data + at, n);
    drain(p, r);
    if (rc < 0) {
      r->error = (int)rc;
      break;
    }
    at += (size_t)rc;
    if (lx_parser_stopped(p))
      break;
  }
  lx_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  run whole = {0}, pieces = {0};
  feed(data + 1, size - 1, 0, &whole);
  feed(data + 1, size - 1, 1u + data[0], &pieces);
  int same_events =
      whole.len == pieces.len &&
      (whole.len == 0 || !memcmp(whole.log, pieces.log, whole.len));
  int same_error = whole.error == pieces.error || pieces.error == 0;
  if (!same_events || !same_error)
    __builtin_trap();
  free(whole.log);
  free(pieces.log);
  return 0;
}

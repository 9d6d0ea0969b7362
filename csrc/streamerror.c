/* streamerror.c: stream errors (RFC 6120 §4.9) written and read. */
#include "streamerror.h"

#include "error.h"
#include "serialize.h"
#include "stanza.h"
#include "xmlout.h"

int stream_condition_valid(int code) {
  return error_family(code) == LX_FAMILY_STREAM;
}

int stream_condition_code(const char *name) {
  int code = lx_error_from_condition(LX_FAMILY_STREAM, name);
  if (code)
    return code;
  /* RFC 3920's names (§4.7.3), which RFC 6120 replaced or dropped */
  if (strcmp(name, "xml-not-well-formed") == 0)
    return LX_ERR_NOT_WELL_FORMED;
  if (strcmp(name, "invalid-id") == 0)
    return LX_ERR_UNDEFINED_CONDITION;
  return 0;
}

int stream_error_write(buf *b, const lx_stream_error *e) {
  const char *name = lx_error_condition(e->condition);
  if (buf_puts(b, "<stream:error>") ||
      xo_element(b, name, NS_STREAM_ERRORS,
                 e->condition == LX_ERR_SEE_OTHER_HOST ? e->other_host : NULL))
    return LX_ERR_NOMEM;
  if (e->text &&
      (xo_start(b, "text", NS_STREAM_ERRORS) ||
       (e->lang && xo_attr(b, "xml:lang", e->lang)) || buf_putc(b, '>') ||
       xml_escape(b, e->text, strlen(e->text), 0, NULL) || xo_end(b, "text")))
    return LX_ERR_NOMEM;
  /* inside <stream:error> the default namespace is the stream's */
  if (e->app && serialize_elem(b, e->app, LX_NS_CLIENT, 0))
    return LX_ERR_NOMEM;
  return buf_puts(b, "</stream:error>") ? LX_ERR_NOMEM : 0;
}

void stream_error_parse(lx_stanza *s, const lx_elem *e, lx_stream_error *out) {
  memset(out, 0, sizeof *out);
  for (const lx_node *n = lx_elem_first_node(e); n; n = lx_node_next(n)) {
    const lx_elem *c = lx_node_elem(n);
    if (!c)
      continue;
    if (!ns_equal(c->ns, NS_STREAM_ERRORS)) {
      if (!out->app)
        out->app = c;
    } else if (strcmp(c->name, "text") == 0) {
      if (!out->text) {
        out->text = lx_elem_text(s, c, NULL);
        out->lang = lx_elem_attr(c, LX_NS_XML, "lang");
      }
    } else if (!out->condition) {
      out->condition = stream_condition_code(c->name);
      if (out->condition == LX_ERR_SEE_OTHER_HOST)
        out->other_host = lx_elem_text(s, c, NULL);
    }
  }
  if (!out->condition)
    out->condition = LX_ERR_UNDEFINED_CONDITION;
}

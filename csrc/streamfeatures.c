/* streamfeatures.c: <stream:features/> read and written. */
#include "streamfeatures.h"

#include "stanza.h"
#include "xmlout.h"

static int named(const lx_elem *e, const char *ns, const char *name) {
  return ns_equal(e->ns, ns) && strcmp(e->name, name) == 0;
}

static void parse_mechanisms(lx_stanza *s, const lx_elem *e, features *f) {
  f->sasl = 1;
  for (const lx_elem *m = lx_elem_child(e, NS_SASL, "mechanism");
       m && f->n_mechs < FEATURES_MAX_MECHS;
       m = lx_elem_next_child(m, NS_SASL, "mechanism")) {
    const char *name = lx_elem_text(s, m, NULL);
    if (name)
      f->mechs[f->n_mechs++] = name;
  }
}

static void parse_cb(const lx_elem *e, features *f) {
  f->cb = 1;
  for (const lx_elem *t = lx_elem_child(e, NS_SASL_CB, "channel-binding");
       t && f->n_cb < FEATURES_MAX_CB;
       t = lx_elem_next_child(t, NS_SASL_CB, "channel-binding")) {
    const char *type = lx_elem_attr(t, NULL, "type");
    if (type)
      f->cb_types[f->n_cb++] = type;
  }
}

void features_parse(lx_stanza *s, const lx_elem *e, features *out) {
  memset(out, 0, sizeof *out);
  for (const lx_node *n = lx_elem_first_node(e); n; n = lx_node_next(n)) {
    const lx_elem *c = lx_node_elem(n);
    if (!c)
      continue;
    if (named(c, NS_TLS, "starttls")) {
      out->starttls = 1;
      out->starttls_required = lx_elem_child(c, NS_TLS, "required") != NULL;
    } else if (named(c, NS_SASL, "mechanisms")) {
      parse_mechanisms(s, c, out);
    } else if (named(c, NS_SASL_CB, "sasl-channel-binding")) {
      parse_cb(c, out);
    } else if (named(c, NS_BIND, "bind")) {
      out->bind = 1;
    } else if (named(c, NS_SESSION, "session")) {
      out->session = 1;
      out->session_optional = lx_elem_child(c, NS_SESSION, "optional") != NULL;
    }
  }
}

int features_write(buf *b, const features *f, const char *extra) {
  int rc = buf_puts(b, "<stream:features>");
  if (f->starttls)
    rc = rc || xo_start(b, "starttls", NS_TLS) ||
         buf_puts(b, f->starttls_required ? "><required/></starttls>" : "/>");
  if (f->sasl) {
    rc = rc || xo_start(b, "mechanisms", NS_SASL) || buf_putc(b, '>');
    for (size_t i = 0; i < f->n_mechs; i++)
      rc = rc || xo_element(b, "mechanism", NULL, f->mechs[i]);
    rc = rc || xo_end(b, "mechanisms");
  }
  if (f->cb) {
    rc = rc || xo_start(b, "sasl-channel-binding", NS_SASL_CB) ||
         buf_putc(b, '>');
    for (size_t i = 0; i < f->n_cb; i++)
      rc = rc || xo_start(b, "channel-binding", NULL) ||
           xo_attr(b, "type", f->cb_types[i]) || buf_put(b, "/>", 2);
    rc = rc || xo_end(b, "sasl-channel-binding");
  }
  if (f->bind)
    rc = rc || xo_element(b, "bind", NS_BIND, NULL);
  if (f->session)
    rc = rc || xo_start(b, "session", NS_SESSION) ||
         buf_puts(b, f->session_optional ? "><optional/></session>" : "/>");
  rc = rc || (extra && buf_puts(b, extra)) || buf_puts(b, "</stream:features>");
  return rc ? LX_ERR_NOMEM : 0;
}

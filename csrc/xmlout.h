/* xmlout.h: writing the small elements of stream negotiation into a buf
 * (internal, for the connection, features and stream errors). Names and
 * namespaces are the library's own constants; values and text are escaped
 * and must already be valid XML text (prepared JIDs, checked strings). Each
 * returns 0, or nonzero when out of memory, so that writes chain with ||. */
#ifndef LX_XMLOUT_H
#define LX_XMLOUT_H

#include "buf.h"
#include "xmlchar.h"

#define NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_BIND "urn:ietf:params:xml:ns:xmpp-bind"
#define NS_SESSION "urn:ietf:params:xml:ns:xmpp-session"
#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define NS_STREAM_ERRORS "urn:ietf:params:xml:ns:xmpp-streams"
#define NS_SASL_CB "urn:xmpp:sasl-cb:0"
#define NS_SM "urn:xmpp:sm:3"

/* " name='value'" */
static inline int xo_attr(buf *b, const char *name, const char *value) {
  return buf_putc(b, ' ') || buf_puts(b, name) || buf_put(b, "='", 2) ||
         xml_escape(b, value, strlen(value), 1, NULL) || buf_putc(b, '\'');
}

/* "<name" and, when ns is given, " xmlns='ns'"; attributes may follow. */
static inline int xo_start(buf *b, const char *name, const char *ns) {
  return buf_putc(b, '<') || buf_puts(b, name) ||
         (ns && xo_attr(b, "xmlns", ns));
}

/* "</name>" */
static inline int xo_end(buf *b, const char *name) {
  return buf_put(b, "</", 2) || buf_puts(b, name) || buf_putc(b, '>');
}

/* <name xmlns='ns'>text</name>, or <name xmlns='ns'/> when text is NULL. */
static inline int xo_element(buf *b, const char *name, const char *ns,
                             const char *text) {
  if (xo_start(b, name, ns))
    return 1;
  if (!text)
    return buf_put(b, "/>", 2);
  return buf_putc(b, '>') || xml_escape(b, text, strlen(text), 0, NULL) ||
         xo_end(b, name);
}

#endif

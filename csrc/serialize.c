/* serialize.c: stanza trees to XML, in one pass without recursion. */
#include "serialize.h"

#include "stanza.h"
#include "xmlchar.h"

#include <stdio.h>
#include <stdlib.h>

#define STREAM_PREFIX "stream:"

static int put_attr(buf *b, const char *prefix, const char *name,
                    const char *value, size_t len) {
  if (buf_putc(b, ' ') || (prefix && buf_puts(b, prefix)) ||
      buf_puts(b, name) || buf_put(b, "='", 2) ||
      xml_escape_attr(b, value, len) || buf_putc(b, '\''))
    return LX_ERR_NOMEM;
  return 0;
}

/* The attributes of e; a namespaced one gets its own prefix declaration, as
 * its namespace is not otherwise in scope. */
static int put_attrs(buf *b, const lx_elem *e) {
  unsigned nsid = 0;
  for (uint32_t i = 0; i < e->nattrs; i++) {
    const lx_attr *a = &e->attrs[i];
    int rc;
    if (!a->ns) {
      rc = put_attr(b, NULL, a->name, a->value, a->value_len);
    } else if (strcmp(a->ns, LX_NS_XML) == 0) {
      rc = put_attr(b, "xml:", a->name, a->value, a->value_len);
    } else {
      char decl[24], prefix[24];
      snprintf(decl, sizeof decl, "ns%u", ++nsid);
      snprintf(prefix, sizeof prefix, "ns%u:", nsid);
      rc = put_attr(b, "xmlns:", decl, a->ns, strlen(a->ns)) ||
           put_attr(b, prefix, a->name, a->value, a->value_len);
    }
    if (rc)
      return LX_ERR_NOMEM;
  }
  return 0;
}

/* <name [xmlns] attrs> or <name .../> when it has no children. */
static int put_start(buf *b, const lx_elem *e, const char *prefix,
                     const char *scope_ns) {
  if (buf_putc(b, '<') || (prefix && buf_puts(b, prefix)) ||
      buf_puts(b, e->name))
    return LX_ERR_NOMEM;
  if (!prefix && !ns_equal(e->ns, scope_ns) &&
      put_attr(b, NULL, "xmlns", e->ns ? e->ns : "", e->ns ? strlen(e->ns) : 0))
    return LX_ERR_NOMEM;
  if (put_attrs(b, e))
    return LX_ERR_NOMEM;
  return e->first ? buf_putc(b, '>') : buf_put(b, "/>", 2);
}

static int put_end(buf *b, const lx_elem *e, const char *prefix) {
  if (buf_put(b, "</", 2) || (prefix && buf_puts(b, prefix)) ||
      buf_puts(b, e->name) || buf_putc(b, '>'))
    return LX_ERR_NOMEM;
  return 0;
}

int serialize_elem(buf *b, const lx_elem *root, const char *parent_ns,
                   int flags) {
  /* Only the root may take the stream: prefix; it then leaves the default
   * namespace as it was for its children. */
  const char *root_prefix =
      (flags & LX_SERIALIZE_STREAM_PREFIX) && ns_equal(root->ns, LX_NS_STREAMS)
          ? STREAM_PREFIX
          : NULL;
  const char *root_scope = root_prefix ? parent_ns : root->ns;
  if (put_start(b, root, root_prefix, parent_ns))
    return LX_ERR_NOMEM;
  const lx_elem *cur = root;
  const lx_node *n = root->first;
  while (n || cur != root) {
    if (!n) { /* cur is complete: close it and go on after it */
      if (put_end(b, cur, NULL))
        return LX_ERR_NOMEM;
      n = cur->node.next;
      cur = cur->node.parent;
    } else if (n->type == NODE_TEXT) {
      const text_node *t = (const text_node *)n;
      if (xml_escape_text(b, t->data, t->len))
        return LX_ERR_NOMEM;
      n = n->next;
    } else {
      const lx_elem *c = (const lx_elem *)n;
      if (put_start(b, c, NULL, cur == root ? root_scope : cur->ns))
        return LX_ERR_NOMEM;
      if (c->first) {
        cur = c;
        n = c->first;
      } else {
        n = n->next;
      }
    }
  }
  return root->first ? put_end(b, root, root_prefix) : 0;
}

int serialize_header(buf *b, const lx_elem *header, const char *content_ns) {
  if (buf_puts(b, "<" STREAM_PREFIX "stream") ||
      (content_ns &&
       put_attr(b, NULL, "xmlns", content_ns, strlen(content_ns))) ||
      put_attr(b, "xmlns:", "stream", LX_NS_STREAMS,
               sizeof LX_NS_STREAMS - 1) ||
      put_attrs(b, header) || buf_putc(b, '>'))
    return LX_ERR_NOMEM;
  return 0;
}

/* Hands a finished buf over as a NUL-terminated string. */
static int finish(buf *b, int rc, char **out, size_t *len) {
  if (rc == 0)
    rc = buf_putc(b, '\0');
  if (rc) {
    buf_free(b);
    return LX_ERR_NOMEM;
  }
  *out = b->data;
  if (len)
    *len = b->len - 1;
  return 0;
}

int lx_serialize(const lx_elem *e, const char *parent_ns, int flags, char **out,
                 size_t *len) {
  buf b = BUF_INIT;
  return finish(&b, serialize_elem(&b, e, parent_ns, flags), out, len);
}

int lx_serialize_header(const lx_elem *header, const char *content_ns,
                        char **out, size_t *len) {
  buf b = BUF_INIT;
  return finish(&b, serialize_header(&b, header, content_ns), out, len);
}

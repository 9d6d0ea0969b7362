/* serialize.c: stanza trees to XML, in one pass without recursion. Every
 * helper returns 0, LX_ERR_NOMEM, or LX_ERR_INVALID for text that is not
 * XML (impossible for trees built by the lx_elem functions or the parser,
 * which validate). */
#include "serialize.h"

#include "stanza.h"
#include "xmlchar.h"

#include <stdio.h>
#include <stdlib.h>

#define STREAM_PREFIX "stream:"

/* Appends the strings of a NULL-terminated list; LX_ERR_NOMEM on failure. */
static int put_all(buf *b, const char *const *parts) {
  for (; *parts; parts++)
    if (buf_puts(b, *parts))
      return LX_ERR_NOMEM;
  return 0;
}

/* ` prefix name='value'` */
static int put_attr(buf *b, const char *prefix, const char *name,
                    const char *value, size_t len) {
  const char *const head[] = {" ", prefix ? prefix : "", name, "='", NULL};
  int rc = put_all(b, head);
  if (!rc)
    rc = xml_escape(b, value, len, 1, NULL);
  return rc ? rc : buf_putc(b, '\'');
}

int serialize_ns_attr_name(buf *b, const char *ns, size_t ns_len,
                           const char *name, size_t name_len, unsigned *nsid,
                           int (*taken)(void *ud, const char *prefix,
                                        size_t len),
                           void *ud) {
  if (ns_len == sizeof LX_NS_XML - 1 && memcmp(ns, LX_NS_XML, ns_len) == 0)
    return buf_put(b, " xml:", 5) || buf_put(b, name, name_len) ? LX_ERR_NOMEM
                                                                : 0;
  char prefix[24];
  size_t n;
  do
    n = (size_t)snprintf(prefix, sizeof prefix, "ns%u", ++*nsid);
  while (taken && taken(ud, prefix, n));
  const char *const decl[] = {" xmlns:", prefix, "='", NULL};
  int rc = put_all(b, decl);
  if (!rc)
    rc = xml_escape(b, ns, ns_len, 1, NULL);
  const char *const use[] = {"' ", prefix, ":", NULL};
  if (!rc)
    rc = put_all(b, use);
  return rc ? rc : buf_put(b, name, name_len) ? LX_ERR_NOMEM : 0;
}

/* The attributes of e; a namespaced one gets its own prefix declaration, as
 * its namespace is not otherwise in scope. */
static int put_attrs(buf *b, const lx_elem *e) {
  unsigned nsid = 0;
  int rc = 0;
  for (uint32_t i = 0; i < e->nattrs && !rc; i++) {
    const lx_attr *a = &e->attrs[i];
    if (!a->ns) {
      rc = put_attr(b, NULL, a->name, a->value, a->value_len);
      continue;
    }
    rc = serialize_ns_attr_name(b, a->ns, strlen(a->ns), a->name,
                                strlen(a->name), &nsid, NULL, NULL);
    if (!rc)
      rc = buf_put(b, "='", 2) ? LX_ERR_NOMEM : 0;
    if (!rc)
      rc = xml_escape(b, a->value, a->value_len, 1, NULL);
    if (!rc)
      rc = buf_putc(b, '\'') ? LX_ERR_NOMEM : 0;
  }
  return rc;
}

/* <name [xmlns] attrs> or <name .../> when it has no children. */
static int put_start(buf *b, const lx_elem *e, const char *prefix,
                     const char *scope_ns) {
  const char *const head[] = {"<", prefix ? prefix : "", e->name, NULL};
  int rc = put_all(b, head);
  if (!rc && !prefix && !ns_equal(e->ns, scope_ns))
    rc = put_attr(b, NULL, "xmlns", e->ns ? e->ns : "",
                  e->ns ? strlen(e->ns) : 0);
  if (!rc)
    rc = put_attrs(b, e);
  if (!rc)
    rc = e->first ? buf_putc(b, '>') : buf_put(b, "/>", 2);
  return rc;
}

static int put_end(buf *b, const lx_elem *e, const char *prefix) {
  const char *const parts[] = {"</", prefix ? prefix : "", e->name, ">", NULL};
  return put_all(b, parts);
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
  int rc = put_start(b, root, root_prefix, parent_ns);
  const lx_elem *cur = root;
  const lx_node *n = root->first;
  while (!rc && (n || cur != root)) {
    if (!n) { /* cur is complete: close it and go on after it */
      rc = put_end(b, cur, NULL);
      n = cur->node.next;
      cur = cur->node.parent;
    } else if (n->type == NODE_TEXT) {
      const text_node *t = (const text_node *)n;
      rc = xml_escape(b, t->data, t->len, 0, NULL);
      n = n->next;
    } else {
      const lx_elem *c = (const lx_elem *)n;
      rc = put_start(b, c, NULL, cur == root ? root_scope : cur->ns);
      if (c->first) {
        cur = c;
        n = c->first;
      } else {
        n = n->next;
      }
    }
  }
  if (!rc && root->first)
    rc = put_end(b, root, root_prefix);
  return rc;
}

int serialize_stream_start(buf *b, const char *content_ns) {
  int rc = buf_puts(b, "<" STREAM_PREFIX "stream");
  if (!rc && content_ns)
    rc = put_attr(b, NULL, "xmlns", content_ns, strlen(content_ns));
  if (!rc)
    rc = put_attr(b, "xmlns:", "stream", LX_NS_STREAMS,
                  sizeof LX_NS_STREAMS - 1);
  return rc;
}

int serialize_header(buf *b, const lx_elem *header, const char *content_ns) {
  int rc = serialize_stream_start(b, content_ns);
  if (!rc)
    rc = put_attrs(b, header);
  return rc ? rc : buf_putc(b, '>');
}

/* Hands a finished buf over as a NUL-terminated string. */
static int finish(buf *b, int rc, char **out, size_t *len) {
  if (rc == 0)
    rc = buf_putc(b, '\0');
  if (rc) {
    buf_free(b);
    return rc;
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

/* stanza.h: the layout of stanza trees (internal: the parser, the
 * serializer and the Lua binding build and walk them directly). */
#ifndef LX_STANZA_H
#define LX_STANZA_H

#include "arena.h"
#include "lxmpp.h"

#include <stdint.h>
#include <string.h>

enum { NODE_ELEM = 1, NODE_TEXT = 2 };

struct lx_node {
  lx_node *next; /* next sibling */
  lx_elem *parent;
  unsigned type; /* NODE_ELEM or NODE_TEXT */
};

typedef struct text_node {
  lx_node node;
  size_t len;
  char data[]; /* len bytes, then a NUL */
} text_node;

typedef struct lx_attr {
  const char *ns; /* NULL: no namespace */
  const char *name;
  const char *value;
  size_t value_len;
} lx_attr;

struct lx_elem {
  lx_node node;
  const char *ns; /* NULL: no namespace */
  const char *name;
  lx_attr *attrs;
  uint32_t nattrs, attrs_cap;
  lx_node *first, *last; /* children, text included */
  uint32_t nchildren;    /* child nodes */
  uint32_t nelems;       /* child elements */
  size_t text_len;       /* bytes of character data (parser limits) */
};

struct lx_stanza {
  arena arena; /* owns everything below, this struct included */
  lx_elem *root;
};

/* The XML namespace (xml:lang...), one shared copy that parsed trees point
 * to. */
extern const char ns_xml[];

/* Namespace URIs are often shared pointers; compare those cheaply. */
static inline int ns_equal(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

/* An empty stanza (no root yet), or NULL when out of memory. */
lx_stanza *stanza_alloc(void);

/* The stanza `s` emptied for reuse: its first arena chunk is kept. */
lx_stanza *stanza_reuse(lx_stanza *s);

/* A new element whose strings already live in the arena, not yet linked. */
lx_elem *elem_alloc(arena *a, const char *ns, const char *name);

/* A text node holding a copy of s[0..len). */
text_node *text_alloc(arena *a, const char *s, size_t len);

/* Links `child` as the last child of `parent`. */
static inline void elem_append(lx_elem *parent, lx_node *child) {
  child->parent = parent;
  child->next = NULL;
  if (parent->last)
    parent->last->next = child;
  else
    parent->first = child;
  parent->last = child;
  parent->nchildren++;
  if (child->type == NODE_ELEM)
    parent->nelems++;
}

#endif

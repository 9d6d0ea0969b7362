/* stanza.c: stanza trees: building with validation, and accessors. */
#include "stanza.h"

#include "error.h"
#include "xmlchar.h"

#include <stdlib.h>

const char ns_xml[] = LX_NS_XML;

lx_stanza *stanza_alloc(void) {
  arena a = ARENA_INIT;
  lx_stanza *s = arena_alloc(&a, sizeof *s);
  if (!s)
    return NULL;
  s->arena = a; /* the arena now lives inside its own first chunk */
  s->root = NULL;
  return s;
}

lx_stanza *stanza_reuse(lx_stanza *s) {
  arena_rewind(&s->arena, sizeof *s); /* s sits at the start of the chunk */
  s->root = NULL;
  return s;
}

lx_elem *elem_alloc(arena *a, const char *ns, const char *name) {
  lx_elem *e = arena_alloc(a, sizeof *e);
  if (e) {
    memset(e, 0, sizeof *e);
    e->node.type = NODE_ELEM;
    e->ns = ns;
    e->name = name;
  }
  return e;
}

text_node *text_alloc(arena *a, const char *s, size_t len) {
  if (len > SIZE_MAX - sizeof(text_node) - 1)
    return NULL;
  text_node *t = arena_alloc(a, sizeof *t + len + 1);
  if (t) {
    t->node.type = NODE_TEXT;
    t->node.next = NULL;
    t->node.parent = NULL;
    t->len = len;
    memcpy(t->data, s, len);
    t->data[len] = '\0';
  }
  return t;
}

void lx_stanza_free(lx_stanza *s) {
  if (s) {
    arena a = s->arena; /* copy out: s itself is freed with the arena */
    arena_free(&a);
  }
}

lx_elem *lx_stanza_root(lx_stanza *s) { return s->root; }

size_t lx_stanza_memory(const lx_stanza *s) { return s->arena.total; }

/* Validation shared by the builders. */

static int check_name(const char *what, const char *name, lx_error *err) {
  if (!name || !xml_is_name(name, strlen(name), XML_NAME_NCNAME))
    return error_set(err, LX_ERR_INVALID, "invalid %s name: %s%s%s", what,
                     name ? "'" : "", name ? name : "NULL", name ? "'" : "");
  return 0;
}

static int check_text(const char *what, const char *s, size_t len,
                      lx_error *err) {
  size_t at = 0;
  xml_text_fault f = xml_check_text(s, len, &at);
  if (f)
    return error_set(err, LX_ERR_INVALID, "invalid %s: %s (at byte %zu)", what,
                     xml_text_fault_str(f), at);
  return 0;
}

#define NS_XMLNS "http://www.w3.org/2000/xmlns/"

/* A namespace is a non-empty URI made of XML characters, and not one that
 * XML reserves: the xmlns namespace, nor the xml one for elements. */
static int check_ns(const char *ns, int element, lx_error *err) {
  if (!ns)
    return 0;
  if (!*ns)
    return error_set(err, LX_ERR_INVALID, "invalid namespace: empty");
  if (strcmp(ns, NS_XMLNS) == 0 || (element && strcmp(ns, LX_NS_XML) == 0))
    return error_set(err, LX_ERR_INVALID, "invalid namespace: %s is reserved",
                     ns);
  return check_text("namespace", ns, strlen(ns), err);
}

/* An arena copy of a NUL-terminated string, NULL staying NULL. */
static int dup_opt(arena *a, const char *s, const char **out) {
  *out = NULL;
  if (s && !(*out = arena_strndup(a, s, strlen(s))))
    return LX_ERR_NOMEM;
  return 0;
}

static int new_elem(arena *a, const char *ns, const char *name, lx_elem **out,
                    lx_error *err) {
  int rc;
  const char *ns_copy, *name_copy;
  if ((rc = check_name("element", name, err)) || (rc = check_ns(ns, 1, err)))
    return rc;
  if (dup_opt(a, ns, &ns_copy) || dup_opt(a, name, &name_copy) ||
      !(*out = elem_alloc(a, ns_copy, name_copy)))
    return error_set(err, LX_ERR_NOMEM, "out of memory");
  return 0;
}

int lx_stanza_new(lx_stanza **out, const char *ns, const char *name,
                  lx_error *err) {
  lx_stanza *s = stanza_alloc();
  if (!s)
    return error_set(err, LX_ERR_NOMEM, "out of memory");
  int rc = new_elem(&s->arena, ns, name, &s->root, err);
  if (rc) {
    lx_stanza_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

int lx_elem_add_child(lx_stanza *s, lx_elem *e, const char *ns,
                      const char *name, lx_elem **out, lx_error *err) {
  lx_elem *c;
  if (!ns)
    ns = e->ns;
  else if (!*ns)
    ns = NULL;
  int rc = new_elem(&s->arena, ns, name, &c, err);
  if (rc)
    return rc;
  elem_append(e, &c->node);
  if (out)
    *out = c;
  return 0;
}

int lx_elem_set_attr(lx_stanza *s, lx_elem *e, const char *ns, const char *name,
                     const char *value, lx_error *err) {
  int rc;
  if ((rc = check_name("attribute", name, err)) || (rc = check_ns(ns, 0, err)))
    return rc;
  if (!ns && strcmp(name, "xmlns") == 0)
    return error_set(err, LX_ERR_INVALID,
                     "invalid attribute name: 'xmlns' (namespaces are given "
                     "as the element's ns)");
  if (!value)
    return error_set(err, LX_ERR_INVALID, "attribute '%s' without a value",
                     name);
  size_t len = strlen(value);
  if ((rc = check_text("attribute value", value, len, err)))
    return rc;
  const char *v = arena_strndup(&s->arena, value, len);
  if (!v)
    return error_set(err, LX_ERR_NOMEM, "out of memory");
  for (uint32_t i = 0; i < e->nattrs; i++) {
    lx_attr *a = &e->attrs[i];
    if (ns_equal(a->ns, ns) && strcmp(a->name, name) == 0) {
      a->value = v;
      a->value_len = len;
      return 0;
    }
  }
  if (e->nattrs == e->attrs_cap) {
    uint32_t cap = e->attrs_cap ? e->attrs_cap * 2 : 4;
    lx_attr *grown = arena_alloc(&s->arena, cap * sizeof *grown);
    if (!grown)
      return error_set(err, LX_ERR_NOMEM, "out of memory");
    if (e->nattrs)
      memcpy(grown, e->attrs, e->nattrs * sizeof *grown);
    e->attrs = grown;
    e->attrs_cap = cap;
  }
  lx_attr *a = &e->attrs[e->nattrs];
  if (dup_opt(&s->arena, ns, &a->ns) ||
      !(a->name = arena_strndup(&s->arena, name, strlen(name))))
    return error_set(err, LX_ERR_NOMEM, "out of memory");
  a->value = v;
  a->value_len = len;
  e->nattrs++;
  return 0;
}

int lx_elem_add_text(lx_stanza *s, lx_elem *e, const char *text, size_t len,
                     lx_error *err) {
  int rc;
  if (!text && len)
    return error_set(err, LX_ERR_INVALID, "NULL text");
  if ((rc = check_text("text", text, len, err)))
    return rc;
  text_node *t = text_alloc(&s->arena, text ? text : "", len);
  if (!t)
    return error_set(err, LX_ERR_NOMEM, "out of memory");
  elem_append(e, &t->node);
  return 0;
}

const char *lx_elem_name(const lx_elem *e) { return e->name; }

const char *lx_elem_ns(const lx_elem *e) { return e->ns; }

lx_elem *lx_elem_parent(const lx_elem *e) { return e->node.parent; }

const char *lx_elem_attr(const lx_elem *e, const char *ns, const char *name) {
  for (uint32_t i = 0; i < e->nattrs; i++)
    if (ns_equal(e->attrs[i].ns, ns) && strcmp(e->attrs[i].name, name) == 0)
      return e->attrs[i].value;
  return NULL;
}

size_t lx_elem_attr_count(const lx_elem *e) { return e->nattrs; }

int lx_elem_attr_at(const lx_elem *e, size_t i, const char **ns,
                    const char **name, const char **value) {
  if (i >= e->nattrs)
    return LX_ERR_INVALID;
  if (ns)
    *ns = e->attrs[i].ns;
  if (name)
    *name = e->attrs[i].name;
  if (value)
    *value = e->attrs[i].value;
  return 0;
}

/* The first element at or after `n` matching ns (already resolved) and
 * name (NULL: any). */
static lx_elem *find_elem(const lx_node *n, const char *ns, const char *name) {
  for (; n; n = n->next) {
    if (n->type != NODE_ELEM)
      continue;
    lx_elem *c = (lx_elem *)n;
    if (ns_equal(c->ns, ns) && (!name || strcmp(c->name, name) == 0))
      return c;
  }
  return NULL;
}

lx_elem *lx_elem_child(const lx_elem *e, const char *ns, const char *name) {
  return find_elem(e->first, ns ? ns : e->ns, name);
}

lx_elem *lx_elem_next_child(const lx_elem *c, const char *ns,
                            const char *name) {
  const lx_elem *parent = c->node.parent;
  return find_elem(c->node.next, ns ? ns : parent ? parent->ns : NULL, name);
}

const char *lx_elem_text(lx_stanza *s, const lx_elem *e, size_t *len) {
  size_t total = 0, count = 0;
  const text_node *only = NULL;
  for (const lx_node *n = e->first; n; n = n->next)
    if (n->type == NODE_TEXT) {
      only = (const text_node *)n;
      total += only->len;
      count++;
    }
  if (count <= 1) {
    if (len)
      *len = only ? only->len : 0;
    return only ? only->data : NULL;
  }
  char *joined = arena_alloc(&s->arena, total + 1);
  if (!joined)
    return NULL;
  size_t at = 0;
  for (const lx_node *n = e->first; n; n = n->next)
    if (n->type == NODE_TEXT) {
      const text_node *t = (const text_node *)n;
      memcpy(joined + at, t->data, t->len);
      at += t->len;
    }
  joined[at] = '\0';
  if (len)
    *len = at;
  return joined;
}

const lx_node *lx_elem_first_node(const lx_elem *e) { return e->first; }

const lx_node *lx_node_next(const lx_node *n) { return n->next; }

const lx_elem *lx_node_elem(const lx_node *n) {
  return n->type == NODE_ELEM ? (const lx_elem *)n : NULL;
}

const char *lx_node_text(const lx_node *n, size_t *len) {
  if (n->type != NODE_TEXT)
    return NULL;
  const text_node *t = (const text_node *)n;
  if (len)
    *len = t->len;
  return t->data;
}

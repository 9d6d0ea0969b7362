/* xml.c: the restricted, bounded XMPP stream parser on expat.
 *
 * expat runs in namespace mode with triplets ("uri\1local\1prefix"). The
 * handlers build one stanza tree per top-level element straight into that
 * stanza's arena and queue events; no caller code runs inside them. Bytes
 * are handed to expat in slices no larger than what the stanza size limit
 * still allows, so the limit holds while parsing, whatever the chunking. */
#include "buf.h"
#include "error.h"
#include "stanza.h"
#include "xmlchar.h"
#include "xmlscan.h"

#include <expat.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#define NS_SEP '\1'
#define NS_CACHE 8
#define SPARES 16 /* more than one feed's stanzas, usually */

/* Reparse deferral (expat >= 2.6, and Debian's 2.5 with the CVE-2023-52425
 * backport) holds back complete input when a small read finishes a token;
 * xmlscan does that job without stalling, so deferral is turned off where
 * the library has it. */
XMLPARSEAPI(XML_Bool)
XML_SetReparseDeferralEnabled(XML_Parser parser, XML_Bool enabled);
#pragma weak XML_SetReparseDeferralEnabled

enum state {
  BEFORE_ROOT, /* waiting for the stream header (or the document element) */
  IN_STREAM,   /* header seen; top-level elements follow */
  AFTER_ROOT,  /* </stream:stream> seen, or the document element closed */
  STOPPED,     /* stopped after the lx_parser_stop_after() element */
  FAILED       /* sticky error */
};

typedef struct event_queue {
  lx_parse_event *items;
  size_t head, len, cap; /* items[head .. len) are pending */
} event_queue;

struct lx_parser {
  lx_parser_opts opts;
  int stream; /* 0: one document, its root element is the stanza */
  XML_Parser xp;
  enum state state;
  lx_error error;

  /* byte positions, counted from the start of the current stream */
  uint64_t taken; /* bytes the caller gave */
  buf held;       /* taken bytes not yet handed to expat (see xmlscan.h) */
  xml_scan scan;  /* follows the token expat holds unfinished, if any */
  int pending;    /* expat holds an unfinished token */
  unsigned char first_byte;
  uint64_t anchor; /* where the pending (unconsumed) data starts */
  uint64_t stop_pos;
  uint64_t index_base; /* stream offset of expat's byte 0, less the header
                          it was given again when renewed */

  /* expat's memory, counted through our allocator (see "memory") */
  size_t expat_mem, mem_cap;
  size_t mem_base;  /* expat_mem once the stream header was parsed */
  int mem_exceeded; /* an allocation was refused: max_parser_memory */
  int renew;        /* stopped at stop_pos to renew expat (see "renewal") */
  int replaying;    /* feeding the recorded header to a new expat */
  buf header;       /* the stream's bytes up to the end of its header */

  /* the tree under construction */
  unsigned depth; /* open elements, the stream root included */
  lx_stanza *stanza;
  lx_stanza *spare[SPARES]; /* given back by lx_parser_recycle() */
  unsigned nspare;
  lx_elem *cur;
  buf text;                       /* character data not yet attached to `cur` */
  const char *ns_cache[NS_CACHE]; /* namespace URIs in the stanza's arena */
  size_t ns_len[NS_CACHE];
  unsigned ns_next;

  char *header_ns; /* default namespace declared by the stream header */
  int header_ns_seen;
  char *lang; /* the header's xml:lang, for stamping */
  /* lx_parser_stop_after(): the elements to stop after */
  char *stop_ns[LX_PARSER_MAX_STOPS], *stop_name[LX_PARSER_MAX_STOPS];
  unsigned n_stops;

  event_queue events;
};

void lx_parser_opts_init(lx_parser_opts *o) {
  o->default_ns = LX_NS_CLIENT;
  o->max_stanza_bytes = 262144;
  o->max_depth = 64;
  o->max_attrs = 64;
  o->max_children = 16384;
  o->max_text_bytes = 262144;
  o->max_parser_memory = 0;
  o->stamp_lang = 1;
}

/* ---- failing --------------------------------------------------------- */

/* Records the sticky error and stops expat. Returns the code. */
static int fail(lx_parser *p, int code, const char *fmt, const char *arg) {
  if (p->state != FAILED) {
    error_set(&p->error, code, fmt, arg ? arg : "");
    p->state = FAILED;
    if (p->xp)
      XML_StopParser(p->xp, XML_FALSE);
  }
  return code;
}

static void fail_nomem(lx_parser *p) {
  fail(p, LX_ERR_NOMEM, "out of memory%s", NULL);
}

static void fail_limit(lx_parser *p, const char *what, uint64_t limit) {
  char msg[96];
  snprintf(msg, sizeof msg, "%s %llu", what, (unsigned long long)limit);
  fail(p, LX_ERR_POLICY_VIOLATION, "limit exceeded: %s", msg);
}

/* ---- events ---------------------------------------------------------- */

static int push_event(lx_parser *p, lx_parse_event_type type, lx_stanza *s) {
  event_queue *q = &p->events;
  if (q->head == q->len)
    q->head = q->len = 0;
  if (q->len == q->cap) {
    size_t cap = q->cap ? q->cap * 2 : 16;
    lx_parse_event *items = realloc(q->items, cap * sizeof *items);
    if (!items)
      return LX_ERR_NOMEM;
    q->items = items;
    q->cap = cap;
  }
  q->items[q->len].type = type;
  q->items[q->len].stanza = s;
  q->len++;
  return 0;
}

int lx_parser_next(lx_parser *p, lx_parse_event *ev) {
  event_queue *q = &p->events;
  if (q->head == q->len)
    return 0;
  *ev = q->items[q->head++];
  return 1;
}

static void drop_events(event_queue *q) {
  for (size_t i = q->head; i < q->len; i++)
    lx_stanza_free(q->items[i].stanza);
  q->head = q->len = 0;
}

/* ---- positions ------------------------------------------------------- */

/* The stream offset where the current expat event ends. */
static uint64_t event_start(lx_parser *p) {
  return p->index_base + (uint64_t)XML_GetCurrentByteIndex(p->xp);
}

static uint64_t event_end(lx_parser *p) {
  return event_start(p) + (uint64_t)XML_GetCurrentByteCount(p->xp);
}

/* The slices fed to expat bound unfinished elements; this bounds those that
 * complete inside one slice. */
static int too_big(lx_parser *p) {
  if (event_end(p) - p->anchor <= p->opts.max_stanza_bytes)
    return 0;
  fail_limit(p, "max_stanza_bytes", p->opts.max_stanza_bytes);
  return 1;
}

/* ---- names ----------------------------------------------------------- */

/* A name from expat: "local", "uri\1local" or "uri\1local\1prefix". */
typedef struct qname {
  const char *uri, *local, *prefix; /* uri and prefix may be NULL */
  size_t uri_len, local_len;
} qname;

static void split_name(const char *s, qname *q) {
  const char *p = s;
  while (*p && *p != NS_SEP)
    p++;
  if (!*p) {
    q->uri = q->prefix = NULL;
    q->uri_len = 0;
    q->local = s;
    q->local_len = (size_t)(p - s);
    return;
  }
  q->uri = s;
  q->uri_len = (size_t)(p - s);
  q->local = ++p;
  while (*p && *p != NS_SEP)
    p++;
  q->local_len = (size_t)(p - q->local);
  q->prefix = *p ? p + 1 : NULL;
}

static int same(const char *a, const char *b, size_t b_len) {
  return strlen(a) == b_len && memcmp(a, b, b_len) == 0;
}

/* The stanza arena's copy of a namespace URI, shared between the elements
 * and attributes that use it (NULL for no namespace). */
static const char *intern_ns(lx_parser *p, const char *uri, size_t len) {
  if (!uri)
    return NULL;
  for (unsigned i = 0; i < NS_CACHE; i++)
    if (p->ns_len[i] == len && p->ns_cache[i] &&
        memcmp(p->ns_cache[i], uri, len) == 0)
      return p->ns_cache[i];
  if (same(ns_xml, uri, len))
    return ns_xml; /* static: no copy */
  const char *copy = arena_strndup(&p->stanza->arena, uri, len);
  if (copy) {
    unsigned slot = p->ns_next++ % NS_CACHE;
    p->ns_cache[slot] = copy;
    p->ns_len[slot] = len;
  }
  return copy;
}

/* ---- building -------------------------------------------------------- */

/* Attaches pending character data to the current element. */
static int flush_text(lx_parser *p) {
  if (p->text.len == 0)
    return 0;
  if (p->cur->nchildren >= p->opts.max_children) {
    fail_limit(p, "max_children", p->opts.max_children);
    return -1;
  }
  text_node *t = text_alloc(&p->stanza->arena, p->text.data, p->text.len);
  if (!t) {
    fail_nomem(p);
    return -1;
  }
  elem_append(p->cur, &t->node);
  p->text.len = 0;
  return 0;
}

static int header_ok(lx_parser *p, const qname *q) {
  if (!q->uri || !same(LX_NS_STREAMS, q->uri, q->uri_len) ||
      !same("stream", q->local, q->local_len))
    return fail(p, LX_ERR_INVALID_NAMESPACE,
                "the root must be <stream> in " LX_NS_STREAMS "%s", NULL);
  if (!q->prefix || strcmp(q->prefix, "stream") != 0)
    return fail(p, LX_ERR_BAD_NAMESPACE_PREFIX,
                "the stream element's prefix must be 'stream', not '%s'",
                q->prefix);
  const char *want = p->opts.default_ns;
  if (!p->header_ns_seen)
    return fail(p, LX_ERR_INVALID_NAMESPACE,
                "the stream header declares no content namespace%s", NULL);
  if (want && strcmp(p->header_ns, want) != 0)
    return fail(p, LX_ERR_INVALID_NAMESPACE,
                "unexpected content namespace '%s'", p->header_ns);
  return 0;
}

static int has_xml_lang(const lx_elem *e) {
  for (uint32_t i = 0; i < e->nattrs; i++)
    if (e->attrs[i].ns == ns_xml && strcmp(e->attrs[i].name, "lang") == 0)
      return 1;
  return 0;
}

/* Builds e's attributes from expat's list; a stanza gets the stream's
 * xml:lang when it has none. */
static int build_attrs(lx_parser *p, lx_elem *e, const XML_Char **atts,
                       int stanza) {
  uint32_t n = 0;
  while (atts[2 * n])
    n++;
  if (n > p->opts.max_attrs) {
    fail_limit(p, "max_attrs", p->opts.max_attrs);
    return -1;
  }
  int stamp = stanza && p->lang && p->opts.stamp_lang;
  uint32_t cap = n + (stamp ? 1 : 0);
  if (cap == 0)
    return 0;
  arena *a = &p->stanza->arena;
  e->attrs = arena_alloc(a, cap * sizeof *e->attrs);
  if (!e->attrs)
    goto nomem;
  e->attrs_cap = cap;
  for (uint32_t i = 0; i < n; i++) {
    lx_attr *at = &e->attrs[i];
    qname q;
    split_name(atts[2 * i], &q);
    size_t vlen = strlen(atts[2 * i + 1]);
    at->ns = intern_ns(p, q.uri, q.uri_len);
    at->name = arena_strndup(a, q.local, q.local_len);
    at->value = arena_strndup(a, atts[2 * i + 1], vlen);
    at->value_len = vlen;
    if ((q.uri && !at->ns) || !at->name || !at->value)
      goto nomem;
  }
  e->nattrs = n;
  if (stamp && !has_xml_lang(e)) {
    lx_attr *at = &e->attrs[e->nattrs++];
    at->ns = ns_xml;
    at->name = "lang";
    at->value_len = strlen(p->lang);
    if (!(at->value = arena_strndup(a, p->lang, at->value_len)))
      goto nomem;
  }
  return 0;
nomem:
  fail_nomem(p);
  return -1;
}

static lx_stanza *new_stanza(lx_parser *p) {
  return p->nspare ? stanza_reuse(p->spare[--p->nspare]) : stanza_alloc();
}

void lx_parser_recycle(lx_parser *p, lx_stanza *s) {
  if (s && p->nspare < SPARES)
    p->spare[p->nspare++] = s;
  else
    lx_stanza_free(s);
}

static void open_stream(lx_parser *p, const qname *q, const XML_Char **atts) {
  if (p->replaying) { /* a renewed expat: the stream is open already */
    p->depth = 1;
    return;
  }
  if (header_ok(p, q) || too_big(p))
    return;
  p->mem_base = p->expat_mem;
  if (p->header.len > event_end(p))
    p->header.len = (size_t)event_end(p); /* the header, and no more */
  p->stanza = new_stanza(p);
  if (!p->stanza ||
      !(p->cur = elem_alloc(&p->stanza->arena, LX_NS_STREAMS, "stream")))
    goto nomem;
  p->stanza->root = p->cur;
  if (build_attrs(p, p->cur, atts, 0))
    return;
  const char *lang = lx_elem_attr(p->cur, LX_NS_XML, "lang");
  if (lang && !(p->lang = strdup(lang)))
    goto nomem;
  if (push_event(p, LX_PARSE_OPEN, p->stanza))
    goto nomem;
  p->stanza = NULL;
  p->cur = NULL;
  p->depth = 1;
  p->state = IN_STREAM;
  p->anchor = event_end(p);
  return;
nomem:
  fail_nomem(p);
}

static void XMLCALL on_start(void *ud, const XML_Char *name,
                             const XML_Char **atts) {
  lx_parser *p = ud;
  if (p->state == FAILED || p->state == STOPPED)
    return;
  qname q;
  split_name(name, &q);
  if (p->stream && p->depth == 0) {
    open_stream(p, &q, atts);
    return;
  }
  int top = p->depth == (p->stream ? 1u : 0u);
  if (top) {
    p->anchor = event_start(p);
    if (!(p->stanza = new_stanza(p))) {
      fail_nomem(p);
      return;
    }
    memset(p->ns_cache, 0, sizeof p->ns_cache);
    p->ns_next = 0;
  } else {
    if (p->depth - (p->stream ? 1u : 0u) >= p->opts.max_depth) {
      fail_limit(p, "max_depth", p->opts.max_depth);
      return;
    }
    if (flush_text(p))
      return;
    if (p->cur->nchildren >= p->opts.max_children) {
      fail_limit(p, "max_children", p->opts.max_children);
      return;
    }
  }
  arena *a = &p->stanza->arena;
  const char *ns = intern_ns(p, q.uri, q.uri_len);
  const char *local = arena_strndup(a, q.local, q.local_len);
  lx_elem *e = (q.uri && !ns) || !local ? NULL : elem_alloc(a, ns, local);
  if (!e) {
    fail_nomem(p);
    return;
  }
  /* RFC 6120 §4.7.4: stanzas (in the content namespace) inherit the
   * stream's xml:lang */
  int stanza = top && ns_equal(ns, p->opts.default_ns);
  if (build_attrs(p, e, atts, stanza))
    return;
  if (top)
    p->stanza->root = e;
  else
    elem_append(p->cur, &e->node);
  p->cur = e;
  p->depth++;
}

/* Whether `e` is one of the lx_parser_stop_after() elements. */
static int is_stop(const lx_parser *p, const lx_elem *e) {
  for (unsigned i = 0; i < p->n_stops; i++)
    if (ns_equal(e->ns, p->stop_ns[i]) && strcmp(e->name, p->stop_name[i]) == 0)
      return 1;
  return 0;
}

static void clear_stops(lx_parser *p) {
  while (p->n_stops) {
    p->n_stops--;
    free(p->stop_ns[p->n_stops]);
    free(p->stop_name[p->n_stops]);
  }
}

static void finish_stanza(lx_parser *p) {
  lx_elem *root = p->stanza->root;
  if (too_big(p))
    return;
  if (push_event(p, LX_PARSE_STANZA, p->stanza)) {
    fail_nomem(p);
    return;
  }
  p->stanza = NULL;
  p->cur = NULL;
  p->anchor = event_end(p);
  if (is_stop(p, root)) {
    p->state = STOPPED;
    p->stop_pos = p->anchor;
    XML_StopParser(p->xp, XML_FALSE);
  } else if (p->stream && p->expat_mem - p->mem_base > p->mem_cap / 16) {
    p->renew = 1; /* see "renewal" */
    p->stop_pos = p->anchor;
    XML_StopParser(p->xp, XML_FALSE);
  }
}

static void XMLCALL on_end(void *ud, const XML_Char *name) {
  lx_parser *p = ud;
  (void)name;
  if (p->state != IN_STREAM && p->state != BEFORE_ROOT)
    return;
  p->depth--;
  if (p->stream && p->depth == 0) { /* </stream:stream> */
    if (push_event(p, LX_PARSE_CLOSE, NULL)) {
      fail_nomem(p);
      return;
    }
    p->state = AFTER_ROOT;
    p->anchor = event_end(p);
    return;
  }
  if (flush_text(p))
    return;
  if (p->depth == (p->stream ? 1u : 0u)) {
    finish_stanza(p);
    if (!p->stream && p->state != FAILED)
      p->state = AFTER_ROOT;
  } else {
    p->cur = p->cur->node.parent;
  }
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len) {
  lx_parser *p = ud;
  size_t n = (size_t)len;
  if (p->state == FAILED || p->state == STOPPED)
    return;
  if (!p->cur) { /* between top-level elements */
    if (!xml_is_blank(s, n)) {
      fail(p, LX_ERR_NOT_WELL_FORMED,
           "text outside of stanzas at stream level%s", NULL);
      return;
    }
    p->anchor = event_end(p); /* keepalive white space is consumed */
    return;
  }
  if (n > p->opts.max_text_bytes - p->cur->text_len) {
    fail_limit(p, "max_text_bytes", p->opts.max_text_bytes);
    return;
  }
  p->cur->text_len += n;
  if (buf_put(&p->text, s, n))
    fail_nomem(p);
}

static void XMLCALL on_ns_decl(void *ud, const XML_Char *prefix,
                               const XML_Char *uri) {
  lx_parser *p = ud;
  if (p->stream && p->depth == 0 && !prefix && !p->replaying) {
    free(p->header_ns);
    p->header_ns = strdup(uri ? uri : "");
    p->header_ns_seen = 1;
    if (!p->header_ns)
      fail_nomem(p);
  }
}

static void XMLCALL on_xml_decl(void *ud, const XML_Char *version,
                                const XML_Char *encoding, int standalone) {
  lx_parser *p = ud;
  (void)standalone;
  if (version && strcmp(version, "1.0") != 0)
    fail(p, LX_ERR_RESTRICTED_XML, "XML version '%s': only 1.0", version);
  else if (encoding && strcasecmp(encoding, "UTF-8") != 0)
    fail(p, LX_ERR_UNSUPPORTED_ENCODING, "encoding '%s': only UTF-8", encoding);
}

/* Restricted XML (RFC 6120 §11.1): comments, processing instructions and
 * DOCTYPE (so no DTD, no entity declared, no billion laughs). */
static void XMLCALL on_comment(void *ud, const XML_Char *data) {
  (void)data;
  fail(ud, LX_ERR_RESTRICTED_XML, "comments are not allowed%s", NULL);
}

static void XMLCALL on_pi(void *ud, const XML_Char *target,
                          const XML_Char *data) {
  (void)target, (void)data;
  fail(ud, LX_ERR_RESTRICTED_XML, "processing instructions are not allowed%s",
       NULL);
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name,
                               const XML_Char *sysid, const XML_Char *pubid,
                               int has_internal_subset) {
  (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
  fail(ud, LX_ERR_RESTRICTED_XML, "DOCTYPE is not allowed%s", NULL);
}

/* ---- life cycle ------------------------------------------------------ */

/* ---- memory ---------------------------------------------------------- */

/* expat's allocations go through these, so that each parser knows how much
 * its expat holds: for max_parser_memory, and to renew an expat that grew.
 * (expat keeps every element and attribute name a stream has used, so a
 * peer inventing names would otherwise grow it without end.) expat's hooks
 * take no context: the parser calling into expat is noted in mem_owner, and
 * each block remembers its owner. */
static _Thread_local lx_parser *mem_owner;

typedef union mem_block {
  struct {
    lx_parser *owner;
    size_t size;
  } h;
  max_align_t align;
} mem_block;

/* 1 when `more` bytes would take the owner's expat over its cap. */
static int over_cap(lx_parser *p, size_t more) {
  if (!p || more <= p->mem_cap - p->expat_mem)
    return 0;
  p->mem_exceeded = 1;
  return 1;
}

static void *mem_malloc(size_t n) {
  lx_parser *p = mem_owner;
  mem_block *b =
      over_cap(p, n) || n > SIZE_MAX - sizeof *b ? NULL : malloc(sizeof *b + n);
  if (!b)
    return NULL;
  b->h.owner = p;
  b->h.size = n;
  if (p)
    p->expat_mem += n;
  return b + 1;
}

static void mem_free(void *ptr) {
  if (ptr) {
    mem_block *b = (mem_block *)ptr - 1;
    if (b->h.owner)
      b->h.owner->expat_mem -= b->h.size;
    free(b);
  }
}

static void *mem_realloc(void *ptr, size_t n) {
  if (!ptr)
    return mem_malloc(n);
  mem_block *b = (mem_block *)ptr - 1;
  lx_parser *p = b->h.owner;
  size_t old = b->h.size;
  if ((n > old && over_cap(p, n - old)) || n > SIZE_MAX - sizeof *b)
    return NULL;
  mem_block *grown = realloc(b, sizeof *b + n);
  if (!grown)
    return NULL;
  if (p)
    p->expat_mem = p->expat_mem - old + n;
  grown->h.size = n;
  return grown + 1;
}

static const XML_Memory_Handling_Suite mem_suite = {mem_malloc, mem_realloc,
                                                    mem_free};

/* XML_Parse with the allocations counted against p. */
static enum XML_Status parse_counted(lx_parser *p, const char *s, size_t n,
                                     int final) {
  lx_parser *prev = mem_owner;
  mem_owner = p;
  enum XML_Status st =
      XML_Parse(p->xp, s, (int)n, final ? XML_TRUE : XML_FALSE);
  mem_owner = prev;
  return st;
}

/* ---- life cycle ------------------------------------------------------ */

/* A fresh expat (the old one freed), with the handlers set. */
static int start_expat(lx_parser *p) {
  lx_parser *prev = mem_owner;
  if (p->xp)
    XML_ParserFree(p->xp);
  mem_owner = p;
  p->xp = XML_ParserCreate_MM("UTF-8", &mem_suite, "\1");
  mem_owner = prev;
  if (!p->xp)
    return LX_ERR_NOMEM;
  XML_SetReturnNSTriplet(p->xp, 1);
  XML_SetUserData(p->xp, p);
  XML_SetElementHandler(p->xp, on_start, on_end);
  XML_SetCharacterDataHandler(p->xp, on_text);
  XML_SetStartNamespaceDeclHandler(p->xp, on_ns_decl);
  XML_SetXmlDeclHandler(p->xp, on_xml_decl);
  XML_SetCommentHandler(p->xp, on_comment);
  XML_SetProcessingInstructionHandler(p->xp, on_pi);
  XML_SetStartDoctypeDeclHandler(p->xp, on_doctype);
  XML_SetParamEntityParsing(p->xp, XML_PARAM_ENTITY_PARSING_NEVER);
  if (XML_SetReparseDeferralEnabled)
    XML_SetReparseDeferralEnabled(p->xp, XML_FALSE);
  return 0;
}

/* ---- renewal ---------------------------------------------------------- */

/* Between two top-level elements, a stream's expat can be replaced by a
 * new one given the recorded stream header again: it is then in the same
 * state, without what the old one had piled up. The parser does this after
 * a stanza when expat grew by more than a sixteenth of max_parser_memory
 * since it read the header, and when lx_parser_trim() released expat. `at` is
 * the stream offset of the next byte the new expat will see. */
static int renew_expat(lx_parser *p, uint64_t at) {
  if (start_expat(p)) {
    fail_nomem(p);
    return -1;
  }
  p->index_base = at - p->header.len;
  p->depth = 0;
  p->replaying = 1;
  enum XML_Status st = parse_counted(p, p->header.data, p->header.len, 0);
  p->replaying = 0;
  p->mem_base = p->expat_mem;
  /* before the root, the header so far: expat waits for its rest */
  if (st != XML_STATUS_OK || p->depth != (p->state == IN_STREAM)) {
    fail(p, LX_ERR_INTERNAL, "cannot renew the XML parser%s", NULL);
    return -1;
  }
  return 0;
}

int lx_parser_trim(lx_parser *p) {
  if (!p->stream || !p->xp)
    return 0;
  /* Before the root, every byte expat saw is recorded in `header` (bytes
   * held back stay held): a new expat given them is in the same state. */
  if (p->state != BEFORE_ROOT && (p->state != IN_STREAM || p->depth != 1 ||
                                  p->stanza || p->pending || p->held.len))
    return 0;
  XML_ParserFree(p->xp);
  p->xp = NULL;
  buf_free(&p->text);
  while (p->nspare)
    lx_stanza_free(p->spare[--p->nspare]);
  if (p->events.head == p->events.len) {
    free(p->events.items);
    p->events = (event_queue){0};
  }
  return 1;
}

size_t lx_parser_memory(const lx_parser *p) {
  size_t n = sizeof *p + p->expat_mem + p->header.cap + p->held.cap +
             p->text.cap + p->events.cap * sizeof *p->events.items;
  for (unsigned i = 0; i < p->nspare; i++)
    n += lx_stanza_memory(p->spare[i]);
  return n;
}

static void clear_stream(lx_parser *p) {
  lx_stanza_free(p->stanza);
  p->stanza = NULL;
  p->cur = NULL;
  p->depth = 0;
  p->text.len = 0;
  p->held.len = 0;
  p->header.len = 0;
  xml_scan_init(&p->scan);
  p->pending = p->renew = p->mem_exceeded = 0;
  p->index_base = 0;
  p->taken = p->anchor = p->stop_pos = 0;
  free(p->header_ns);
  free(p->lang);
  p->header_ns = p->lang = NULL;
  p->header_ns_seen = 0;
  drop_events(&p->events);
  error_clear(&p->error);
  p->state = BEFORE_ROOT;
}

static int limits_valid(const lx_parser_opts *o) {
  return o->max_stanza_bytes && o->max_depth && o->max_attrs &&
         o->max_children && o->max_text_bytes;
}

/* expat's memory: by default, room for a stanza of the largest size, four
 * times over */
static size_t memory_cap(const lx_parser_opts *o) {
  size_t s = o->max_stanza_bytes;
  return o->max_parser_memory         ? o->max_parser_memory
         : s < (SIZE_MAX - 65536) / 4 ? 4 * s + 65536
                                      : SIZE_MAX;
}

static int parser_create(lx_parser **out, const lx_parser_opts *opts,
                         int stream) {
  lx_parser *p = calloc(1, sizeof *p);
  if (!p)
    return LX_ERR_NOMEM;
  if (opts)
    p->opts = *opts;
  else
    lx_parser_opts_init(&p->opts);
  if (!limits_valid(&p->opts)) {
    free(p);
    return LX_ERR_INVALID;
  }
  p->stream = stream;
  p->mem_cap = memory_cap(&p->opts);
  p->opts.default_ns = NULL; /* replaced by an owned copy below */
  if ((opts && opts->default_ns &&
       !(p->opts.default_ns = strdup(opts->default_ns))) ||
      (!opts && stream && !(p->opts.default_ns = strdup(LX_NS_CLIENT))) ||
      start_expat(p)) {
    lx_parser_free(p);
    return LX_ERR_NOMEM;
  }
  clear_stream(p);
  *out = p;
  return 0;
}

int lx_parser_new(lx_parser **out, const lx_parser_opts *opts) {
  return parser_create(out, opts, 1);
}

void lx_parser_free(lx_parser *p) {
  if (!p)
    return;
  clear_stream(p);
  while (p->nspare)
    lx_stanza_free(p->spare[--p->nspare]);
  if (p->xp)
    XML_ParserFree(p->xp);
  buf_free(&p->text);
  buf_free(&p->held);
  buf_free(&p->header);
  free(p->events.items);
  free((char *)p->opts.default_ns);
  clear_stops(p);
  free(p);
}

int lx_parser_reset(lx_parser *p) {
  clear_stream(p);
  if (start_expat(p))
    return fail(p, LX_ERR_NOMEM, "out of memory%s", NULL);
  return 0;
}

int lx_parser_set_limits(lx_parser *p, const lx_parser_opts *opts) {
  if (p->state != STOPPED)
    return LX_ERR_STATE;
  if (!limits_valid(opts))
    return LX_ERR_INVALID;
  const char *ns = p->opts.default_ns; /* owned: kept */
  p->opts = *opts;
  p->opts.default_ns = ns;
  p->mem_cap = memory_cap(&p->opts);
  return 0;
}

int lx_parser_stop_after(lx_parser *p, const char *ns, const char *name) {
  char *ns_copy = NULL, *name_copy = NULL;
  if (!name && ns)
    return LX_ERR_INVALID;
  if (!name) {
    clear_stops(p);
    return 0;
  }
  for (unsigned i = 0; i < p->n_stops; i++)
    if (strcmp(p->stop_name[i], name) == 0 &&
        (ns ? p->stop_ns[i] && strcmp(p->stop_ns[i], ns) == 0 : !p->stop_ns[i]))
      return 0;
  if (p->n_stops == LX_PARSER_MAX_STOPS)
    return LX_ERR_FULL;
  if ((ns && !(ns_copy = strdup(ns))) || !(name_copy = strdup(name))) {
    free(ns_copy);
    return LX_ERR_NOMEM;
  }
  p->stop_ns[p->n_stops] = ns_copy;
  p->stop_name[p->n_stops++] = name_copy;
  return 0;
}

int lx_parser_resume(lx_parser *p) {
  if (p->state != STOPPED)
    return LX_ERR_STATE;
  /* expat was stopped for good: the next feed renews it from the recorded
   * header (as after lx_parser_trim), at the end of the stopped element */
  XML_ParserFree(p->xp);
  p->xp = NULL;
  p->taken = p->anchor = p->stop_pos;
  p->held.len = 0;
  p->pending = 0;
  xml_scan_init(&p->scan);
  p->state = IN_STREAM;
  return 0;
}

const lx_error *lx_parser_error(const lx_parser *p) { return &p->error; }

int lx_parser_stopped(const lx_parser *p) { return p->state == STOPPED; }

/* ---- feeding --------------------------------------------------------- */

/* Maps an expat error to the stream error condition. */
static void fail_expat(lx_parser *p) {
  enum XML_Error e = XML_GetErrorCode(p->xp);
  int code;
  switch (e) {
  case XML_ERROR_NO_MEMORY:
    if (p->mem_exceeded)
      fail_limit(p, "max_parser_memory", p->mem_cap);
    else
      fail_nomem(p);
    return;
  case XML_ERROR_UNDEFINED_ENTITY:
  case XML_ERROR_MISPLACED_XML_PI:
  case XML_ERROR_EXTERNAL_ENTITY_HANDLING:
  case XML_ERROR_ENTITY_DECLARED_IN_PE:
  case XML_ERROR_NOT_STANDALONE: code = LX_ERR_RESTRICTED_XML; break;
  case XML_ERROR_UNBOUND_PREFIX:
  case XML_ERROR_UNDECLARING_PREFIX:
  case XML_ERROR_RESERVED_PREFIX_XML:
  case XML_ERROR_RESERVED_PREFIX_XMLNS:
  case XML_ERROR_RESERVED_NAMESPACE_URI:
    code = LX_ERR_BAD_NAMESPACE_PREFIX;
    break;
  case XML_ERROR_INCORRECT_ENCODING:
  case XML_ERROR_UNKNOWN_ENCODING: code = LX_ERR_UNSUPPORTED_ENCODING; break;
  default: code = LX_ERR_NOT_WELL_FORMED;
  }
  char msg[160];
  snprintf(msg, sizeof msg, "line %lu, column %lu: %s",
           (unsigned long)XML_GetCurrentLineNumber(p->xp),
           (unsigned long)XML_GetCurrentColumnNumber(p->xp),
           XML_ErrorString(e));
  fail(p, code, "%s", msg);
}

/* UTF-16 and UTF-32 streams start with bytes UTF-8 never has there: a
 * NUL, a UTF-16 byte order mark, or '<' then NUL. */
static int foreign_encoding(lx_parser *p, const char *data, size_t len) {
  for (uint64_t pos = p->taken; pos < 2 && pos - p->taken < len; pos++) {
    unsigned char c = (unsigned char)data[pos - p->taken];
    if (pos == 0)
      p->first_byte = c;
    if (pos == 0 ? c == 0x00 || c == 0xFE || c == 0xFF
                 : c == 0x00 && p->first_byte == '<')
      return 1;
  }
  return 0;
}

static int running(const lx_parser *p) {
  return p->state != FAILED && p->state != STOPPED;
}

/* Hands bytes[0..n) to expat, the last bytes taken, and notes whether it left
 * a token unfinished: the scanner follows that one from its start. expat is
 * renewed where it asks (after a stanza) and where it was trimmed. */
static void parse_bytes(lx_parser *p, const char *bytes, size_t n) {
  uint64_t at = p->taken - n; /* the stream offset of bytes[0] */
  if (!p->xp && renew_expat(p, at))
    return;
  if (p->stream && p->state == BEFORE_ROOT && buf_put(&p->header, bytes, n)) {
    fail_nomem(p);
    return;
  }
  enum XML_Status st = parse_counted(p, bytes, n, 0);
  while (p->renew) { /* stopped after a stanza at stop_pos */
    size_t used = (size_t)(p->stop_pos - at);
    p->renew = 0;
    if (renew_expat(p, p->stop_pos))
      return;
    at = p->stop_pos;
    bytes += used;
    n -= used;
    st = parse_counted(p, bytes, n, 0);
  }
  if (st != XML_STATUS_OK) {
    if (running(p))
      fail_expat(p);
    return;
  }
  uint64_t rest =
      p->taken - (p->index_base + (uint64_t)XML_GetCurrentByteIndex(p->xp));
  xml_scan_init(&p->scan);
  /* A token begun before these bytes and still unfinished was fed to expat
   * because something in it is wrong; do not hold its bytes back. */
  if (rest <= n)
    xml_scan_bytes(&p->scan, bytes + (n - rest), (size_t)rest);
  p->pending = xml_scan_open(&p->scan);
}

/* Hands the held bytes to expat. */
static void flush_held(lx_parser *p) {
  if (p->held.len) {
    parse_bytes(p, p->held.data, p->held.len);
    p->held.len = 0;
  }
}

/* Takes n bytes: holds them while they only continue the token expat holds
 * unfinished (and, so that expat settles the encoding on the first bytes
 * as a whole, until four bytes have come), else hands them to expat after
 * what was held. */
static void take(lx_parser *p, const char *s, size_t n) {
  int hold = p->pending ? !xml_scan_bytes(&p->scan, s, n)
                        : p->taken == p->held.len && p->taken + n < 4;
  p->taken += n;
  if (hold || p->held.len) {
    if (buf_put(&p->held, s, n)) {
      fail_nomem(p);
      return;
    }
    if (!hold)
      flush_held(p);
    return;
  }
  parse_bytes(p, s, n);
}

ssize_t lx_parser_feed(lx_parser *p, const char *data, size_t len) {
  if (p->state == FAILED)
    return p->error.code;
  if (p->state == STOPPED)
    return LX_ERR_STATE;
  if (foreign_encoding(p, data, len))
    return fail(p, LX_ERR_UNSUPPORTED_ENCODING,
                "not UTF-8 (UTF-16 or UTF-32 byte order)%s", NULL);
  const uint64_t start = p->taken, max = p->opts.max_stanza_bytes;
  size_t done = 0;
  while (done < len) {
    /* Never take more than one byte over the limit. */
    uint64_t pending = p->taken - p->anchor;
    uint64_t room = pending >= max ? 1 : max - pending + 1;
    size_t n = len - done < room ? len - done : (size_t)room;
    if (n > INT_MAX)
      n = INT_MAX;
    take(p, data + done, n);
    done += n;
    if (running(p) && p->taken - p->anchor > max) {
      flush_held(p); /* a malformed token is reported as such */
      if (running(p))
        fail_limit(p, "max_stanza_bytes", max);
    }
    if (p->state == STOPPED)
      return (ssize_t)(p->stop_pos - start);
    if (p->state == FAILED)
      return p->error.code;
  }
  return (ssize_t)len;
}

/* ---- whole documents ------------------------------------------------- */

int lx_parse_document(lx_stanza **out, const char *data, size_t len,
                      const lx_parser_opts *opts, lx_error *err) {
  lx_parser *p;
  int rc = parser_create(&p, opts, 0);
  if (rc)
    return error_set(err, rc, "cannot create a parser");
  if (lx_parser_feed(p, data, len) >= 0) {
    flush_held(p);
    if (parse_counted(p, "", 0, 1) != XML_STATUS_OK && running(p))
      fail_expat(p);
  }
  lx_parse_event ev;
  if (p->state == FAILED) {
    rc = error_set(err, p->error.code, "%s", p->error.detail);
  } else if (!lx_parser_next(p, &ev)) {
    rc = error_set(err, LX_ERR_NOT_WELL_FORMED, "no element");
  } else {
    *out = ev.stanza;
  }
  lx_parser_free(p);
  return rc;
}

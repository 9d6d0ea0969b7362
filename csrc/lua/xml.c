/* xml.c (binding): lxmpp.xml's stream parser class and document parser,
 * and the conversion of C stanza trees into Lua stanza tables. */
#include "lxl.h"
#include "stanza.h"

#include <stdlib.h>
#include <string.h>

#define PARSER_MT "lxmpp.xml.stream"

/* ---- C tree to Lua table ---------------------------------------------- */

/* Names, namespaces and attribute values repeat from stanza to stanza (the
 * same elements, the stream's JIDs, "chat", "en"). The Lua strings made for
 * them are kept in one cache per Lua state, shared by every conversion, so
 * that a repeat costs a table read instead of hashing and interning the
 * bytes again (or, past Lua's short strings, a new string). The strings are
 * anchored in the array part of the cache's table, entry i at i + 1, and
 * the entries point at their bytes. 1024 entries leave room for the
 * recurring strings beside the unique ids passing through. Text is not
 * cached: bodies and credentials (SASL, passwords) are text, and the cache
 * keeps what it holds alive. */
enum { STRING_BITS = 10, STRINGS = 1 << STRING_BITS, STRING_MAX = 64 };

typedef struct string_cache {
  struct {
    const char *s; /* the anchored string's bytes; NULL: empty entry */
    size_t len;
  } e[STRINGS];
} string_cache;

#define CACHE_KEY "lxmpp.string_cache" /* in the registry */

/* Pushes the cache's table; creates it the first time. The entries are in a
 * userdata at STRINGS + 1. */
static string_cache *push_cache(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, CACHE_KEY) == LUA_TNIL) {
    lua_pop(L, 1);
    lua_createtable(L, STRINGS + 1, 0);
    string_cache *c = lua_newuserdatauv(L, sizeof *c, 0);
    memset(c, 0, sizeof *c);
    lua_rawseti(L, -2, STRINGS + 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, CACHE_KEY);
  }
  lua_rawgeti(L, -1, STRINGS + 1);
  string_cache *c = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return c;
}

/* The entry for s: a multiplicative hash of its length and first and last
 * eight bytes (a collision only costs a miss). */
static unsigned cache_slot(const char *s, size_t len) {
  uint64_t a = 0, b = 0;
  if (len >= 8) {
    memcpy(&a, s, 8);
    memcpy(&b, s + len - 8, 8);
  } else {
    for (size_t i = 0; i < len; i++)
      a = a << 8 | (unsigned char)s[i];
  }
  uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15u) ^ len) * 0xbf58476d1ce4e5b9u;
  return (unsigned)(h >> (64 - STRING_BITS));
}

typedef struct converter {
  lua_State *L;
  string_cache *cache;
  int anchor; /* the cache's table */
  int keys;   /* stack index of "name"; "attr", "tags", "xmlns", "xml:lang"
                 follow */
  int mt;     /* the stanza metatable */
} converter;

enum { KEY_NAME, KEY_ATTR, KEY_TAGS, KEY_XMLNS, KEY_XML_LANG, NKEYS };

static void push_string(converter *c, const char *s, size_t len) {
  lua_State *L = c->L;
  if (len > STRING_MAX) {
    lua_pushlstring(L, s, len);
    return;
  }
  unsigned i = cache_slot(s, len);
  if (c->cache->e[i].s && c->cache->e[i].len == len &&
      memcmp(c->cache->e[i].s, s, len) == 0) {
    lua_rawgeti(L, c->anchor, (lua_Integer)i + 1);
    return;
  }
  /* the old entry stays valid (anchored) if this raises */
  lua_pushlstring(L, s, len);
  const char *copy = lua_tostring(L, -1);
  lua_pushvalue(L, -1);
  lua_rawseti(L, c->anchor, (lua_Integer)i + 1); /* the array part: no raise */
  c->cache->e[i].s = copy;
  c->cache->e[i].len = len;
}

static void push_name(converter *c, const char *s) {
  push_string(c, s, strlen(s));
}

/* Pushes the key a parsed attribute has in a Lua attr table: "name",
 * "xml:name", or "uri\1name". */
static void push_attr_key(converter *c, const lx_attr *a) {
  if (!a->ns)
    push_name(c, a->name);
  else if (!ns_equal(a->ns, ns_xml))
    lua_pushfstring(c->L, "%s\1%s", a->ns, a->name);
  else if (strcmp(a->name, "lang") == 0)
    lua_pushvalue(c->L, c->keys + KEY_XML_LANG);
  else
    lua_pushfstring(c->L, "xml:%s", a->name);
}

/* Pushes a new attr table for e, with xmlns when asked. */
static void push_attrs(converter *c, const lx_elem *e, int with_xmlns) {
  lua_State *L = c->L;
  lua_createtable(L, 0, (int)e->nattrs + with_xmlns);
  for (uint32_t i = 0; i < e->nattrs; i++) {
    const lx_attr *a = &e->attrs[i];
    push_attr_key(c, a);
    push_string(c, a->value, a->value_len);
    lua_rawset(L, -3);
  }
  if (with_xmlns) {
    lua_pushvalue(L, c->keys + KEY_XMLNS);
    if (e->ns)
      push_name(c, e->ns);
    else
      lua_pushliteral(L, "");
    lua_rawset(L, -3);
  }
}

/* Pushes the stanza table for e and then its tags table. */
static void push_elem(converter *c, const lx_elem *e, int with_xmlns) {
  lua_State *L = c->L;
  lua_createtable(L, (int)e->nchildren, 3);
  lua_pushvalue(L, c->keys + KEY_NAME);
  push_name(c, e->name);
  lua_rawset(L, -3);
  lua_pushvalue(L, c->keys + KEY_ATTR);
  push_attrs(c, e, with_xmlns);
  lua_rawset(L, -3);
  lua_pushvalue(L, c->mt);
  lua_setmetatable(L, -2);
  lua_createtable(L, (int)e->nelems, 0);
  lua_pushvalue(L, c->keys + KEY_TAGS);
  lua_pushvalue(L, -2);
  lua_rawset(L, -4);
}

/* Pushes the metatable, the fixed keys and the cache; fills c. */
static void converter_init(converter *c, lua_State *L) {
  static const char *const keys[NKEYS] = {"name", "attr", "tags", "xmlns",
                                          "xml:lang"};
  luaL_checkstack(L, NKEYS + 16, "lxmpp: stack overflow");
  c->L = L;
  lua_getfield(L, LUA_REGISTRYINDEX, LXL_STANZA_MT);
  c->mt = lua_gettop(L);
  c->keys = c->mt + 1;
  for (int i = 0; i < NKEYS; i++)
    lua_pushstring(L, keys[i]);
  c->cache = push_cache(L);
  c->anchor = lua_gettop(L);
}

/* Per open element: the next array and tags positions, and whether the
 * element carries xmlns (then its descendants all do, as in Prosody). */
typedef struct level {
  lua_Integer array, tags;
  int xmlns;
} level;

enum { LEVELS = 32 }; /* on the C stack; deeper trees get a userdata */

void lxl_push_stanza(lua_State *L, const lx_elem *root,
                     const char *default_ns) {
  converter c;
  converter_init(&c, L);
  level local[LEVELS];
  level *lv = local;
  size_t cap = LEVELS, depth = 0;
  lua_pushnil(L); /* the slot of the userdata of a deeper tree's levels */
  int lv_idx = lua_gettop(L);
  int base = lv_idx; /* level d's table at base+2d+1, its tags at +2 */
  lv[0].xmlns = !ns_equal(root->ns, default_ns);
  lv[0].array = lv[0].tags = 0;
  push_elem(&c, root, lv[0].xmlns);
  const lx_elem *cur = root;
  const lx_node *n = root->first;
  for (;;) {
    if (!n) {
      if (cur == root)
        break;
      lua_pop(L, 2);
      depth--;
      n = cur->node.next;
      cur = cur->node.parent;
      continue;
    }
    int t = base + 2 * (int)depth + 1;
    level *l = &lv[depth];
    if (n->type == NODE_TEXT) {
      const text_node *tx = (const text_node *)n;
      lua_pushlstring(L, tx->data, tx->len);
      lua_rawseti(L, t, ++l->array);
      n = n->next;
      continue;
    }
    const lx_elem *e = (const lx_elem *)n;
    int xmlns = l->xmlns || !ns_equal(e->ns, default_ns);
    luaL_checkstack(L, 8, "stanza too deep");
    push_elem(&c, e, xmlns);
    lua_pushvalue(L, -2);
    lua_rawseti(L, t, ++l->array);
    lua_pushvalue(L, -2);
    lua_rawseti(L, t + 1, ++l->tags);
    if (!e->first) {
      lua_pop(L, 2);
      n = n->next;
      continue;
    }
    if (++depth == cap) {
      level *grown = lua_newuserdatauv(L, 2 * cap * sizeof *lv, 0);
      memcpy(grown, lv, cap * sizeof *lv);
      lua_replace(L, lv_idx);
      lv = grown;
      cap *= 2;
    }
    lv[depth].array = lv[depth].tags = 0;
    lv[depth].xmlns = xmlns;
    cur = e;
    n = e->first;
  }
  lua_pop(L, 1); /* the root's tags */
  lua_replace(L, c.mt);
  lua_settop(L, c.mt);
}

/* The stream header's attributes, for the "open" event. */
static void push_header_attrs(lua_State *L, const lx_elem *e) {
  converter c;
  converter_init(&c, L);
  push_attrs(&c, e, 0);
  lua_replace(L, c.mt);
  lua_settop(L, c.mt);
}

/* ---- a stanza owned by Lua until converted ---------------------------- */

static int holder_gc(lua_State *L) {
  lx_stanza **h = lua_touserdata(L, 1);
  lx_stanza_free(*h);
  *h = NULL;
  return 0;
}

lx_stanza **lxl_push_holder(lua_State *L) {
  lx_stanza **h = lua_newuserdatauv(L, sizeof *h, 0);
  *h = NULL;
  if (luaL_newmetatable(L, "lxmpp.stanza_holder")) {
    lua_pushcfunction(L, holder_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return h;
}

/* Replaces the holder at the top with the Lua table for its tree. */
static void convert_held(lua_State *L, lx_stanza **h, const char *ns) {
  lxl_push_stanza(L, (*h)->root, ns);
  lx_stanza_free(*h);
  *h = NULL;
  lua_remove(L, -2);
}

/* ---- options ------------------------------------------------------------ */

void lxl_parser_limits(lua_State *L, int idx, lx_parser_opts *o) {
  const lua_Integer big = (lua_Integer)1 << 40;
  o->max_stanza_bytes = (size_t)lxl_opt_int(
      L, idx, "max_stanza_size", (lua_Integer)o->max_stanza_bytes, 1, big);
  o->max_depth =
      (unsigned)lxl_opt_int(L, idx, "max_depth", o->max_depth, 1, 1 << 30);
  o->max_attrs =
      (unsigned)lxl_opt_int(L, idx, "max_attrs", o->max_attrs, 1, 1 << 30);
  o->max_children = (unsigned)lxl_opt_int(L, idx, "max_children",
                                          o->max_children, 1, 1 << 30);
  /* a text fits in its stanza: raising the stanza's bound raises it too */
  o->max_text_bytes = (size_t)lxl_opt_int(
      L, idx, "max_text_size", (lua_Integer)o->max_stanza_bytes, 1, big);
  o->max_parser_memory = (size_t)lxl_opt_int(
      L, idx, "max_parser_memory", (lua_Integer)o->max_parser_memory, 0, big);
}

static void read_opts(lua_State *L, int idx, lx_parser_opts *o) {
  o->default_ns = lxl_opt_string(L, idx, "default_ns", o->default_ns);
  lxl_parser_limits(L, idx, o);
  o->stamp_lang = lxl_opt_bool(L, idx, "stamp_lang", o->stamp_lang);
}

/* ---- lxmpp.xml.parse ---------------------------------------------------- */

static int l_parse(lua_State *L) {
  size_t len;
  const char *data = luaL_checklstring(L, 1, &len);
  lx_parser_opts o;
  lx_parser_opts_init(&o);
  o.default_ns = NULL;
  read_opts(L, 2, &o);
  lx_stanza **h = lxl_push_holder(L);
  lx_error err;
  int rc = lx_parse_document(h, data, len, &o, &err);
  if (rc)
    return lxl_fail(L, rc, err.detail);
  convert_held(L, h, o.default_ns);
  return 1;
}

/* ---- the stream parser class -------------------------------------------- */

typedef struct lparser {
  lx_parser *p;           /* NULL once closed */
  const char *default_ns; /* kept alive by the user value */
  lx_stanza *converting;  /* the tree being converted (a raise leaves it) */
} lparser;

static lparser *check_parser(lua_State *L) {
  lparser *lp = luaL_checkudata(L, 1, PARSER_MT);
  if (!lp->p)
    luaL_error(L, "attempt to use a closed parser");
  return lp;
}

static int l_stream(lua_State *L) {
  lx_parser_opts o;
  lx_parser_opts_init(&o);
  read_opts(L, 1, &o);
  lparser *lp = lua_newuserdatauv(L, sizeof *lp, 1);
  lp->p = NULL;
  lp->default_ns = NULL;
  lp->converting = NULL;
  luaL_setmetatable(L, PARSER_MT);
  if (o.default_ns) {
    lua_pushstring(L, o.default_ns);
    lp->default_ns = lua_tostring(L, -1);
    lua_setiuservalue(L, -2, 1);
    o.default_ns = lp->default_ns;
  }
  int rc = lx_parser_new(&lp->p, &o);
  if (rc)
    return luaL_error(L, "cannot create a parser: %s", lx_strerror(rc));
  return 1;
}

/* p:feed(data) -> true, consumed | nil, message, condition */
static int l_feed(lua_State *L) {
  lparser *lp = check_parser(L);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  ssize_t n = lx_parser_feed(lp->p, data, len);
  if (n == LX_ERR_STATE)
    return luaL_error(L, "the parser stopped: reset() it first");
  if (n < 0)
    return lxl_fail(L, (int)n, lx_parser_error(lp->p)->detail);
  lua_pushboolean(L, 1);
  lua_pushinteger(L, (lua_Integer)n);
  return 2;
}

/* Gives the tree being converted back to the parser. */
static void release_converting(lparser *lp) {
  lx_parser_recycle(lp->p, lp->converting);
  lp->converting = NULL;
}

/* p:next() -> "open", attr | "stanza", st | "close" | nil */
static int l_next(lua_State *L) {
  lparser *lp = check_parser(L);
  lx_parse_event ev;
  if (lp->converting) /* left by a conversion that raised */
    release_converting(lp);
  if (!lx_parser_next(lp->p, &ev))
    return 0;
  lp->converting = ev.stanza;
  switch (ev.type) {
  case LX_PARSE_OPEN:
    lua_pushliteral(L, "open");
    push_header_attrs(L, ev.stanza->root);
    release_converting(lp);
    return 2;
  case LX_PARSE_STANZA:
    lua_pushliteral(L, "stanza");
    lxl_push_stanza(L, ev.stanza->root, lp->default_ns);
    release_converting(lp);
    return 2;
  case LX_PARSE_CLOSE: lua_pushliteral(L, "close"); return 1;
  }
  return 0;
}

static int l_reset(lua_State *L) {
  lparser *lp = check_parser(L);
  if (lx_parser_reset(lp->p))
    return luaL_error(L, "not enough memory");
  return 0;
}

/* p:stop_after(ns, name): feed stops after that top-level element; nil
 * clears it. */
static int l_stop_after(lua_State *L) {
  lparser *lp = check_parser(L);
  const char *ns = luaL_optstring(L, 2, NULL);
  const char *name = luaL_optstring(L, 3, NULL);
  if (ns && !name)
    return luaL_argerror(L, 3, "a name is needed with a namespace");
  if (lx_parser_stop_after(lp->p, ns, name))
    return luaL_error(L, "not enough memory");
  return 0;
}

/* p:stopped() -> whether feed stopped after the stop_after element */
static int l_stopped(lua_State *L) {
  lua_pushboolean(L, lx_parser_stopped(check_parser(L)->p));
  return 1;
}

/* p:trim() -> whether expat was released (an idle stream; see docs) */
static int l_trim(lua_State *L) {
  lua_pushboolean(L, lx_parser_trim(check_parser(L)->p));
  return 1;
}

/* p:memory() -> bytes the parser holds */
static int l_memory(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)lx_parser_memory(check_parser(L)->p));
  return 1;
}

static int l_close(lua_State *L) {
  lparser *lp = luaL_checkudata(L, 1, PARSER_MT);
  lx_stanza_free(lp->converting);
  lp->converting = NULL;
  lx_parser_free(lp->p);
  lp->p = NULL;
  return 0;
}

static int l_tostring(lua_State *L) {
  lparser *lp = luaL_checkudata(L, 1, PARSER_MT);
  const lx_error *e = lp->p ? lx_parser_error(lp->p) : NULL;
  const char *state = !e ? "closed" : e->code ? lx_strerror(e->code) : "ok";
  lua_pushfstring(L, "lxmpp.xml.stream (%s): %p", state, (void *)lp);
  return 1;
}

void lxl_open_xml(lua_State *L) {
  static const luaL_Reg methods[] = {{"feed", l_feed},
                                     {"next", l_next},
                                     {"reset", l_reset},
                                     {"stop_after", l_stop_after},
                                     {"stopped", l_stopped},
                                     {"trim", l_trim},
                                     {"memory", l_memory},
                                     {"close", l_close},
                                     {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__gc", l_close},
                                  {"__close", l_close},
                                  {"__tostring", l_tostring},
                                  {NULL, NULL}};
  lxl_class(L, PARSER_MT, methods, meta);
  static const luaL_Reg fns[] = {
      {"xml_parse", l_parse}, {"xml_stream", l_stream}, {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}

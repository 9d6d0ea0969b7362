/* stanza.c (binding): the shared stanza metatable, XML validation for the
 * Lua builders, and __tostring for stanza tables, written in one pass
 * without recursion. */
#include "buf.h"
#include "lxl.h"
#include "serialize.h"
#include "xmlchar.h"

#include <stdlib.h>
#include <string.h>

/* ---- validation ------------------------------------------------------- */

/* The reason `s` is not acceptable as a name, or NULL. Attribute names may
 * take the "uri\1local" form of namespaced attributes. */
static const char *name_fault(const char *s, size_t len, int attr) {
  const char *sep = attr ? memchr(s, '\1', len) : NULL;
  size_t head = sep ? (size_t)(sep - s) : len;
  xml_text_fault f;
  if (len == 0)
    return "empty string";
  if (!sep && xml_is_name(s, len, XML_NAME_QNAME))
    return NULL; /* the common case; else find why, in Prosody's order */
  for (size_t i = 0; i < head; i++)
    if (memchr("<>& '\"", s[i], 6))
      return "contains invalid characters";
  if ((f = xml_check_text(s, head, NULL)))
    return xml_text_fault_str(f);
  if (sep) { /* a namespace URI, then a local name */
    size_t local = len - head - 1;
    if ((f = xml_check_text(sep + 1, local, NULL)))
      return xml_text_fault_str(f);
    return head && xml_is_name(sep + 1, local, XML_NAME_NCNAME)
               ? NULL
               : "is not a valid XML name";
  }
  return xml_is_name(s, len, XML_NAME_QNAME) ? NULL : "is not a valid XML name";
}

#define NS_XMLNS "http://www.w3.org/2000/xmlns/"

static int is_reserved_ns(const char *s, size_t len) {
  return (len == sizeof LX_NS_XML - 1 && memcmp(s, LX_NS_XML, len) == 0) ||
         (len == sizeof NS_XMLNS - 1 && memcmp(s, NS_XMLNS, len) == 0);
}

static const char *text_fault(const char *s, size_t len) {
  xml_text_fault f = xml_check_text(s, len, NULL);
  return f ? xml_text_fault_str(f) : NULL;
}

/* Pushes true, or false and why the value is not acceptable. */
static int check_result(lua_State *L, int arg, const char *fault) {
  if (lua_type(L, arg) != LUA_TSTRING) {
    lua_pushboolean(L, 0);
    lua_pushfstring(L, "expected string, got %s", luaL_typename(L, arg));
    return 2;
  }
  lua_pushboolean(L, fault == NULL);
  if (!fault)
    return 1;
  lua_pushstring(L, fault);
  return 2;
}

/* core.valid_name(s [, is_attribute]) -> true | false, reason */
static int l_valid_name(lua_State *L) {
  size_t len;
  const char *s =
      lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &len) : NULL;
  return check_result(L, 1, s ? name_fault(s, len, lua_toboolean(L, 2)) : NULL);
}

/* core.valid_text(s) -> true | false, reason */
static int l_valid_text(lua_State *L) {
  size_t len;
  const char *s =
      lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &len) : NULL;
  return check_result(L, 1, s ? text_fault(s, len) : NULL);
}

/* ---- a buf owned by Lua, freed by __gc if an error unwinds ------------ */

static int box_gc(lua_State *L) {
  buf_free(lua_touserdata(L, 1));
  return 0;
}

static buf *push_box(lua_State *L) {
  buf *b = lua_newuserdatauv(L, sizeof *b, 0);
  *b = (buf)BUF_INIT;
  if (luaL_newmetatable(L, "lxmpp.buf")) {
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return b;
}

/* ---- tostring ---------------------------------------------------------- */

typedef struct writer {
  lua_State *L;
  buf *out;
  int keys; /* stack index of "name", then "attr" and "xmlns" */
} writer;

enum { KEY_NAME, KEY_ATTR, KEY_XMLNS };

/* Pushes t[key] for a table at `idx` (stanza tables: their fields are their
 * own, never from __index), returning its type. */
static int get_key(writer *w, int idx, int key) {
  lua_pushvalue(w->L, w->keys + key);
  return lua_rawget(w->L, idx < 0 ? idx - 1 : idx);
}

static void nomem_check(writer *w, int rc) {
  if (rc)
    luaL_error(w->L, "not enough memory");
}

static void put(writer *w, const char *s, size_t len) {
  nomem_check(w, buf_put(w->out, s, len));
}

/* Writes the string or number at `idx` escaped, validating it on the way. */
static void put_value(writer *w, int idx, const char *what, int attr) {
  size_t len;
  int t = lua_type(w->L, idx);
  if (t != LUA_TSTRING && t != LUA_TNUMBER)
    luaL_error(w->L, "invalid %s: expected string, got %s", what,
               luaL_typename(w->L, idx));
  if (t == LUA_TNUMBER) { /* tolstring would turn a number key in place */
    lua_pushvalue(w->L, idx);
    idx = -1;
  }
  const char *s = lua_tolstring(w->L, idx, &len);
  xml_text_fault fault;
  int rc = xml_escape(w->out, s, len, attr, &fault);
  if (rc == LX_ERR_INVALID)
    luaL_error(w->L, "invalid %s: %s", what, xml_text_fault_str(fault));
  nomem_check(w, rc);
  if (t == LUA_TNUMBER)
    lua_pop(w->L, 1);
}

/* 1 when the attr table at `idx` has the key prefix..suffix. */
static int has_key(lua_State *L, int idx, const char *prefix,
                   const char *suffix, size_t suffix_len) {
  lua_pushstring(L, prefix);
  lua_pushlstring(L, suffix, suffix_len);
  lua_concat(L, 2);
  int found = lua_rawget(L, idx) != LUA_TNIL;
  lua_pop(L, 1);
  return found;
}

/* The attr table at idx and whether it declares xmlns:<prefix> itself. */
typedef struct decls {
  lua_State *L;
  int idx;
} decls;

static int declared(void *ud, const char *prefix, size_t len) {
  decls *d = ud;
  return has_key(d->L, d->idx, "xmlns:", prefix, len);
}

/* Writes the "uri\1local" attribute k, declaring a prefix for its namespace
 * that no literal xmlns:* attribute of the element uses (the prefix routine
 * is the tree serializer's). */
static void put_ns_attr(writer *w, int idx, const char *k, size_t klen,
                        unsigned *nsid) {
  lua_State *L = w->L;
  const char *sep = memchr(k, '\1', klen);
  size_t nslen = (size_t)(sep - k), local = klen - nslen - 1;
  decls d = {L, idx};
  if (nslen == sizeof NS_XMLNS - 1 && memcmp(k, NS_XMLNS, nslen) == 0)
    luaL_error(L, "invalid attribute name: the xmlns namespace is reserved");
  if (nslen == sizeof LX_NS_XML - 1 && memcmp(k, LX_NS_XML, nslen) == 0 &&
      has_key(L, idx, "xml:", sep + 1, local))
    luaL_error(L, "invalid attribute name: xml:%s given twice", sep + 1);
  nomem_check(w, serialize_ns_attr_name(w->out, k, nslen, sep + 1, local, nsid,
                                        declared, &d)); /* ns checked */
}

/* A literal xmlns or xmlns:p attribute must not bind a reserved prefix or
 * namespace. */
static void check_ns_decl(lua_State *L, const char *k, size_t klen, int v) {
  size_t vlen;
  const char *value = lua_tolstring(L, v, &vlen);
  if ((klen == 9 && memcmp(k, "xmlns:xml", 9) == 0) ||
      (klen == 11 && memcmp(k, "xmlns:xmlns", 11) == 0))
    luaL_error(L, "invalid attribute name: %s is reserved", k);
  if (value && is_reserved_ns(value, vlen))
    luaL_error(L, "invalid attribute value: %s cannot be bound by %s", value,
               k);
}

/* The attributes of the element whose attr table is at `idx`; `parent_ns`
 * is the index of the parent's attr.xmlns (an xmlns equal to it is not
 * repeated). */
static void put_attrs(writer *w, int idx, int parent_ns) {
  lua_State *L = w->L;
  unsigned nsid = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    size_t klen;
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "invalid attribute name: expected string, got %s",
                 luaL_typename(L, -2));
    const char *k = lua_tolstring(L, -2, &klen);
    const char *fault = name_fault(k, klen, 1);
    if (fault)
      luaL_error(L, "invalid attribute name: %s", fault);
    int is_decl =
        klen >= 5 && memcmp(k, "xmlns", 5) == 0 && (klen == 5 || k[5] == ':');
    if (is_decl)
      check_ns_decl(L, k, klen, lua_gettop(L));
    if (memchr(k, '\1', klen)) {
      put_ns_attr(w, idx, k, klen, &nsid);
    } else if (klen == 5 && is_decl && lua_rawequal(L, -1, parent_ns)) {
      lua_pop(L, 1);
      continue;
    } else {
      put(w, " ", 1);
      put(w, k, klen);
    }
    put(w, "='", 2);
    put_value(w, lua_gettop(L), "attribute value", 1);
    put(w, "'", 1);
    lua_pop(L, 1);
  }
}

/* Writes "<name attrs" for the stanza table at `idx`; pushes its
 * attr.xmlns or nil (the scope for its children). */
static void put_open(writer *w, int idx, int parent_ns) {
  lua_State *L = w->L;
  size_t len;
  if (get_key(w, idx, KEY_NAME) != LUA_TSTRING)
    luaL_error(L, "invalid tag name: expected string, got %s",
               luaL_typename(L, -1));
  const char *name = lua_tolstring(L, -1, &len);
  const char *fault = name_fault(name, len, 0);
  if (fault)
    luaL_error(L, "invalid tag name: %s", fault);
  put(w, "<", 1);
  put(w, name, len);
  lua_pop(L, 1);
  int t = get_key(w, idx, KEY_ATTR); /* nil stays as the scope */
  if (t == LUA_TTABLE) {
    put_attrs(w, lua_gettop(L), parent_ns);
    get_key(w, -1, KEY_XMLNS);
    lua_remove(L, -2);
  } else if (t != LUA_TNIL) {
    luaL_error(L, "invalid attributes: expected table, got %s",
               luaL_typename(L, -1));
  }
}

static void put_close(writer *w, int idx) {
  size_t len;
  get_key(w, idx, KEY_NAME);
  const char *name = lua_tolstring(w->L, -1, &len);
  put(w, "</", 2);
  put(w, name, len);
  put(w, ">", 1);
  lua_pop(w->L, 1);
}

/* Per open element: its next child's index and its child count. The Lua
 * stack holds, per open element, the table and its attr.xmlns. */
typedef struct level {
  lua_Integer next, count;
} level;

/* Writes the stanza table at index `idx` into w->out. */
static void write_stanza(writer *w, int idx) {
  lua_State *L = w->L;
  size_t cap = 16, depth = 0;
  level *lv = lua_newuserdatauv(L, cap * sizeof *lv, 0);
  int lv_idx = lua_gettop(L);
  lua_pushnil(L); /* the scope around the root: no xmlns */
  lua_pushvalue(L, idx);
  for (;;) {
    /* top: the element to open; below it: its parent's xmlns */
    int el = lua_gettop(L);
    luaL_checkstack(L, 8, "stanza too deep");
    put_open(w, el, el - 1);
    lua_Integer count = (lua_Integer)lua_rawlen(L, el);
    if (count == 0) {
      put(w, "/>", 2);
      lua_settop(L, el - 1);
    } else {
      put(w, ">", 1);
      if (depth == cap) {
        level *grown = lua_newuserdatauv(L, 2 * cap * sizeof *lv, 0);
        memcpy(grown, lv, cap * sizeof *lv);
        lua_replace(L, lv_idx);
        lv = grown;
        cap *= 2;
      }
      lv[depth].next = 1;
      lv[depth].count = count;
      depth++;
    }
    /* write text children until an element child or the end of a parent */
    for (;;) {
      if (depth == 0)
        return;
      int parent = lua_gettop(L) - 1; /* stack: ..., table, xmlns */
      level *l = &lv[depth - 1];
      if (l->next > l->count) {
        put_close(w, parent);
        lua_settop(L, parent - 1);
        depth--;
        continue;
      }
      int t = lua_rawgeti(L, parent, l->next++);
      if (t == LUA_TTABLE)
        break; /* open this child, above its parent's xmlns */
      put_value(w, lua_gettop(L), "text value", 0);
      lua_pop(L, 1);
    }
  }
}

const char *lxl_serialize_stanza(lua_State *L, int idx, size_t *len) {
  idx = lua_absindex(L, idx);
  luaL_checktype(L, idx, LUA_TTABLE);
  writer w = {L, push_box(L), 0};
  int box = lua_gettop(L);
  lua_pushliteral(L, "name");
  w.keys = lua_gettop(L);
  lua_pushliteral(L, "attr");
  lua_pushliteral(L, "xmlns");
  write_stanza(&w, idx);
  lua_settop(L, box);
  *len = w.out->len;
  return w.out->data ? w.out->data : "";
}

static int l_tostring(lua_State *L) {
  size_t len;
  lua_settop(L, 1);
  const char *xml = lxl_serialize_stanza(L, 1, &len);
  lua_pushlstring(L, xml, len);
  return 1;
}

void lxl_open_stanza(lua_State *L) {
  /* The metatable of every stanza; lxmpp.stanza adds the methods. */
  lua_newtable(L);
  lua_pushliteral(L, "stanza");
  lua_setfield(L, -2, "__name");
  lua_pushcfunction(L, l_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushvalue(L, -1);
  lua_setfield(L, -2, "__index");
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, LXL_STANZA_MT);
  lua_setfield(L, -2, "stanza_mt");

  static const luaL_Reg fns[] = {{"valid_name", l_valid_name},
                                 {"valid_text", l_valid_text},
                                 {"stanza_tostring", l_tostring},
                                 {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}

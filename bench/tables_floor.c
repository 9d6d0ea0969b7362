/* tables_floor.c: a Lua module for bench/xml_bench.lua, the floor of the Lua
 * parse path's table building (issue 9): how long the Lua C API takes to
 * build a stanza's Prosody-shaped tables (the element, attr, tags, the
 * metatable) when nothing else is done. record(st) notes a stanza's shape
 * and strings once (not timed); build(rec, strings, mt) makes the same
 * tables again with the fewest calls: every table created at its final
 * size, the keys pushed from stack slots, every string read from an array
 * (no hashing, no interning, no new string), lua_rawset. A parser does all
 * of this and more (parse, make the strings seen for the first time). */
#include "lua/compat.h"

#include <stdlib.h>
#include <string.h>

/* The shape in preorder: an element (name, sizes), its attributes, its
 * children, then END. Strings are indices into the strings array. */
enum { OP_ELEM, OP_ATTR, OP_TEXT, OP_END };
typedef struct op {
  int kind, a, b, c, d;
} op;

typedef struct recording {
  size_t n, cap;
  op ops[];
} recording;

typedef struct recorder {
  lua_State *L;
  recording *r, **h; /* h: the userdata that frees r */
  int strings;       /* stack index of the strings array */
  int nstrings;
} recorder;

static void emit(recorder *w, int kind, int a, int b, int c, int d) {
  if (w->r->n == w->r->cap) {
    size_t cap = 2 * w->r->cap;
    recording *grown = realloc(w->r, sizeof *grown + cap * sizeof(op));
    if (!grown)
      luaL_error(w->L, "not enough memory");
    w->r = *w->h = grown;
    w->r->cap = cap;
  }
  w->r->ops[w->r->n++] = (op){kind, a, b, c, d};
}

/* Stores the value at the top in the strings array; pops it. */
static int keep(recorder *w) {
  lua_rawseti(w->L, w->strings, ++w->nstrings);
  return w->nstrings;
}

static void record_elem(recorder *w, int idx) {
  lua_State *L = w->L;
  luaL_checkstack(L, 8, "stanza too deep");
  int n = (int)lua_rawlen(L, idx), nattrs = 0;
  lua_getfield(L, idx, "tags");
  int nelems = (int)lua_rawlen(L, -1);
  lua_pop(L, 1);
  lua_getfield(L, idx, "attr");
  int attr = lua_gettop(L);
  for (lua_pushnil(L); lua_next(L, attr); lua_pop(L, 1))
    nattrs++;
  lua_getfield(L, idx, "name");
  emit(w, OP_ELEM, keep(w), n, nelems, nattrs);
  for (lua_pushnil(L); lua_next(L, attr);) {
    lua_pushvalue(L, -2);
    int key = keep(w);
    emit(w, OP_ATTR, key, keep(w), 0, 0);
  }
  lua_pop(L, 1);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    if (lua_type(L, -1) == LUA_TSTRING)
      emit(w, OP_TEXT, keep(w), 0, 0, 0);
    else {
      record_elem(w, lua_gettop(L));
      lua_pop(L, 1);
    }
  }
  emit(w, OP_END, 0, 0, 0, 0);
}

static int recording_gc(lua_State *L) {
  recording **h = lua_touserdata(L, 1);
  free(*h);
  *h = NULL;
  return 0;
}

/* record(st, strings) -> recording: appends st's strings to `strings`. */
static int l_record(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  recording **h = lua_newuserdatauv(L, sizeof *h, 0);
  *h = NULL;
  lua_newtable(L);
  lua_pushcfunction(L, recording_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  recorder w = {L, malloc(sizeof *w.r + 64 * sizeof(op)), h, 2,
                (int)lua_rawlen(L, 2)};
  if (!w.r)
    return luaL_error(L, "not enough memory");
  w.r->n = 0;
  w.r->cap = 64;
  *h = w.r;
  record_elem(&w, 1);
  return 1;
}

/* build(recording, strings, mt) -> the stanza's tables, made again */
static int l_build(lua_State *L) {
  recording **h = lua_touserdata(L, 1);
  const op *o = (*h)->ops;
  lua_settop(L, 3);
  lua_pushliteral(L, "name"); /* 4 */
  lua_pushliteral(L, "attr"); /* 5 */
  lua_pushliteral(L, "tags"); /* 6 */
  int base = lua_gettop(L);   /* each open element: its table, its tags */
  int depth = 0;
  lua_Integer pos[64][2];
  for (;; o++) {
    int t = base + 2 * depth - 1;
    switch (o->kind) {
    case OP_ELEM: {
      const op *e = o;
      luaL_checkstack(L, 8, "stanza too deep");
      if (depth == 64)
        return luaL_error(L, "stanza too deep");
      lua_createtable(L, e->b, 3);
      lua_pushvalue(L, 4);
      lua_rawgeti(L, 2, e->a);
      lua_rawset(L, -3);
      lua_pushvalue(L, 5);
      lua_createtable(L, 0, e->d);
      for (int i = 0; i < e->d; i++) {
        o++;
        lua_rawgeti(L, 2, o->a);
        lua_rawgeti(L, 2, o->b);
        lua_rawset(L, -3);
      }
      lua_rawset(L, -3);
      lua_pushvalue(L, 3);
      lua_setmetatable(L, -2);
      lua_createtable(L, e->c, 0);
      lua_pushvalue(L, 6);
      lua_pushvalue(L, -2);
      lua_rawset(L, -4);
      if (depth) {
        lua_pushvalue(L, -2);
        lua_rawseti(L, t, ++pos[depth - 1][0]);
        lua_pushvalue(L, -2);
        lua_rawseti(L, t + 1, ++pos[depth - 1][1]);
      }
      pos[depth][0] = pos[depth][1] = 0;
      depth++;
      break;
    }
    case OP_TEXT:
      lua_rawgeti(L, 2, o->a);
      lua_rawseti(L, t, ++pos[depth - 1][0]);
      break;
    case OP_END:
      if (--depth == 0) {
        lua_pop(L, 1);
        return 1;
      }
      lua_pop(L, 2);
      break;
    }
  }
}

__attribute__((visibility("default"))) int
luaopen_bench_tables_floor(lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, l_record);
  lua_setfield(L, -2, "record");
  lua_pushcfunction(L, l_build);
  lua_setfield(L, -2, "build");
  return 1;
}

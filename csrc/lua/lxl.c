/* lxl.c: the binding's helpers that every class file shares: results,
 * classes, and the readers of option tables. */
#include "lxl.h"

#include <string.h>

int lxl_fail(lua_State *L, int code, const char *detail) {
  lua_pushnil(L);
  lua_pushstring(L, detail && *detail ? detail : lx_strerror(code));
  lua_pushstring(L, lx_strerror(code));
  return 3;
}

void lxl_class(lua_State *L, const char *name, const luaL_Reg *methods,
               const luaL_Reg *meta) {
  luaL_newmetatable(L, name);
  luaL_setfuncs(L, meta, 0);
  lua_newtable(L); /* a separate methods table as __index */
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}

/* Pushes field `key` of the options table at idx; returns its type. */
static int opt_field(lua_State *L, int idx, const char *key) {
  if (lua_isnoneornil(L, idx)) {
    lua_pushnil(L);
    return LUA_TNIL;
  }
  luaL_checktype(L, idx, LUA_TTABLE);
  return lua_getfield(L, idx, key);
}

lua_Integer lxl_opt_int(lua_State *L, int idx, const char *key,
                        lua_Integer dflt, lua_Integer min, lua_Integer max) {
  lua_Integer v = dflt;
  if (opt_field(L, idx, key) != LUA_TNIL) {
    int ok;
    v = lua_tointegerx(L, -1, &ok);
    if (!ok || v < min || v > max)
      luaL_error(L,
                 "option '%s': expected an integer from " LXL_FMT_INT
                 " to " LXL_FMT_INT,
                 key, LXL_INT_ARG(min), LXL_INT_ARG(max));
  }
  lua_pop(L, 1);
  return v;
}

int lxl_opt_bool(lua_State *L, int idx, const char *key, int dflt) {
  int t = opt_field(L, idx, key), v = dflt;
  if (t != LUA_TNIL) {
    if (t != LUA_TBOOLEAN)
      luaL_error(L, "option '%s': expected a boolean", key);
    v = lua_toboolean(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

const char *lxl_opt_string(lua_State *L, int idx, const char *key,
                           const char *dflt) {
  const char *v = dflt;
  if (opt_field(L, idx, key) != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "option '%s': expected a string", key);
    v = lua_tostring(L, -1);
    /* the options table keeps the string alive */
  }
  lua_pop(L, 1);
  return v;
}

/* The array of strings in field `key` of the table at idx, as a Lua-owned
 * C array left on the stack (its strings stay referenced by the table).
 * NULL when the field is absent. Raises on wrong types. */
const char **lxl_opt_list(lua_State *L, int idx, const char *key, size_t *n) {
  *n = 0;
  if (lua_getfield(L, idx, key) == LUA_TNIL) {
    lua_pop(L, 1);
    return NULL;
  }
  if (!lua_istable(L, -1))
    luaL_error(L, "option '%s': expected a list of strings", key);
  size_t len = (size_t)luaL_len(L, -1);
  const char **v = lua_newuserdatauv(L, (len ? len : 1) * sizeof *v, 0);
  for (size_t i = 0; i < len; i++) {
    if (lua_rawgeti(L, -2, (lua_Integer)i + 1) != LUA_TSTRING)
      luaL_error(L, "option '%s': expected a list of strings", key);
    v[i] = lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  lua_remove(L, -2);
  *n = len;
  return v;
}

/* A text option: a string without NUL bytes (a NUL would cut a password
 * short in C). */
const char *lxl_opt_text(lua_State *L, int idx, const char *key,
                         const char *dflt) {
  const char *v = lxl_opt_string(L, idx, key, dflt);
  size_t len = 0;
  if (v && v != dflt) {
    lua_getfield(L, idx, key);
    lua_tolstring(L, -1, &len);
    lua_pop(L, 1);
    if (strlen(v) != len)
      luaL_error(L, "option '%s': contains a NUL byte", key);
  }
  return v;
}

static int random_from_string(void *user, unsigned char *buf, size_t len) {
  lxl_random *r = user;
  for (size_t i = 0; i < len; i++) {
    buf[i] = r->bytes[r->pos];
    r->pos = (r->pos + 1) % r->len;
  }
  return 0;
}

lx_random_fn lxl_opt_random(lua_State *L, int idx, int ud, int uv,
                            lxl_random *r) {
  ud = lua_absindex(L, ud);
  memset(r, 0, sizeof *r);
  if (opt_field(L, idx, "random") == LUA_TNIL) {
    lua_pop(L, 1);
    return NULL;
  }
  if (lua_type(L, -1) != LUA_TSTRING || !luaL_len(L, -1))
    luaL_error(L, "option 'random': expected a non-empty string of bytes");
  r->bytes = (const unsigned char *)lua_tolstring(L, -1, &r->len);
  lua_setiuservalue(L, ud, uv);
  return random_from_string;
}

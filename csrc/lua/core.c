/* core.c: the module lxmpp.core, assembled from the binding's files. */
#include "lxl.h"

#include <string.h>

#define LXL_EXPORT __attribute__((visibility("default")))

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

LXL_EXPORT int luaopen_lxmpp_core(lua_State *L) {
  lua_newtable(L);
  lua_pushliteral(L, LXMPP_VERSION);
  lua_setfield(L, -2, "version");
  lxl_open_jid(L);
  lxl_open_stanza(L);
  lxl_open_xml(L);
  lxl_open_tls(L);
  lxl_open_stream(L);
  lxl_open_sasl(L);
  return 1;
}

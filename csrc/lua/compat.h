/* compat.h: the Lua 5.4 C API the binding uses, for Lua 5.1, 5.2, 5.3 and
 * LuaJIT 2.1 (which has Lua 5.1's API and a few of 5.2's functions). Each
 * missing name is defined here under an lxl_ name and mapped with a macro,
 * so that the binding's files are written once, against 5.4, and no
 * definition clashes with one an interpreter already has. What the older
 * versions cannot do (to-be-closed variables) is documented in
 * docs/versions.md. */
#ifndef LXL_COMPAT_H
#define LXL_COMPAT_H

#include <lauxlib.h>
#include <lua.h>

#include <stdint.h>

/* lua_pushfstring knows %I (a lua_Integer) from 5.3 on. */
#if LUA_VERSION_NUM >= 503
#define LXL_FMT_INT "%I"
#define LXL_INT_ARG(i) ((LUAI_UACINT)(i))
#else
#define LXL_FMT_INT "%f"
#define LXL_INT_ARG(i) ((lua_Number)(i))
#endif

#if LUA_VERSION_NUM < 504
/* One user value per userdata at most, which is all the binding uses. */
#define lua_newuserdatauv(L, size, nuv) lua_newuserdata((L), (size))
#endif

#if LUA_VERSION_NUM < 503
/* Getters return the type of the value they push since 5.3; their integer
 * arguments were ints before. */
static inline int lxl_getfield(lua_State *L, int idx, const char *k) {
  lua_getfield(L, idx, k);
  return lua_type(L, -1);
}
static inline int lxl_rawget(lua_State *L, int idx) {
  lua_rawget(L, idx);
  return lua_type(L, -1);
}
static inline int lxl_rawgeti(lua_State *L, int idx, lua_Integer n) {
  lua_rawgeti(L, idx, (int)n);
  return lua_type(L, -1);
}
#if LUA_VERSION_NUM == 502
static inline int lxl_rawgetp(lua_State *L, int idx, const void *p) {
  lua_rawgetp(L, idx, p);
  return lua_type(L, -1);
}
#define lua_rawgetp lxl_rawgetp
#endif
#define lua_getfield lxl_getfield
#define lua_rawget lxl_rawget
#define lua_rawgeti lxl_rawgeti
#define lua_rawseti(L, idx, n) lua_rawseti((L), (idx), (int)(n))

/* No integer subtype before 5.3: an integer is a number with an integral
 * value, and one with a fraction is refused as 5.3 and 5.4 refuse it. */
static inline lua_Integer lxl_tointegerx(lua_State *L, int idx, int *isnum) {
  lua_Number n = lua_tonumber(L, idx);
  int ok = lua_isnumber(L, idx) && n >= -9007199254740992.0 &&
           n <= 9007199254740992.0 && n == (lua_Number)(lua_Integer)n;
  if (isnum)
    *isnum = ok;
  return ok ? (lua_Integer)n : 0;
}
static inline lua_Integer lxl_checkinteger(lua_State *L, int arg) {
  int ok;
  lua_Integer v = lxl_tointegerx(L, arg, &ok);
  if (!ok) {
    if (lua_isnumber(L, arg))
      luaL_argerror(L, arg, "number has no integer representation");
    else
      luaL_checknumber(L, arg); /* raises the usual type error */
  }
  return v;
}
static inline lua_Integer lxl_optinteger(lua_State *L, int arg,
                                         lua_Integer dflt) {
  return lua_isnoneornil(L, arg) ? dflt : lxl_checkinteger(L, arg);
}
#define lua_tointegerx lxl_tointegerx
#define luaL_checkinteger lxl_checkinteger
#define luaL_optinteger lxl_optinteger

/* A user value of any type: 5.3 and 5.4 allow it, older versions want a
 * table, so the value is kept at index n of one. */
static inline int lxl_setiuservalue(lua_State *L, int idx, int n) {
  idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
  lua_createtable(L, n, 0);
  lua_insert(L, -2);
  lua_rawseti(L, -2, n);
#if LUA_VERSION_NUM < 502
  return lua_setfenv(L, idx);
#else
  lua_setuservalue(L, idx);
  return 1;
#endif
}
#define lua_setiuservalue lxl_setiuservalue
static inline int lxl_getiuservalue(lua_State *L, int idx, int n) {
#if LUA_VERSION_NUM < 502
  lua_getfenv(L, idx);
#else
  lua_getuservalue(L, idx);
#endif
  lua_rawgeti(L, -1, n);
  lua_remove(L, -2);
  return lua_type(L, -1);
}
#define lua_getiuservalue lxl_getiuservalue
#elif LUA_VERSION_NUM < 504
static inline int lxl_setiuservalue(lua_State *L, int idx, int n) {
  (void)n; /* one user value, of any type */
  lua_setuservalue(L, idx);
  return 1;
}
#define lua_setiuservalue lxl_setiuservalue
#define lua_getiuservalue(L, idx, n) lua_getuservalue((L), (idx))
#endif

#if LUA_VERSION_NUM < 502
static inline int lxl_absindex(lua_State *L, int idx) {
  return idx > 0 || idx <= LUA_REGISTRYINDEX ? idx : lua_gettop(L) + idx + 1;
}
static inline size_t lxl_rawlen(lua_State *L, int idx) {
  return lua_objlen(L, idx);
}
static inline lua_Integer lxl_len(lua_State *L, int idx) {
  return (lua_Integer)lua_objlen(L, idx);
}
static inline void lxl_setfuncs(lua_State *L, const luaL_Reg *l, int nup) {
  for (; l->name; l++) {
    for (int i = 0; i < nup; i++)
      lua_pushvalue(L, -nup);
    lua_pushcclosure(L, l->func, nup);
    lua_setfield(L, -(nup + 2), l->name);
  }
  lua_pop(L, nup);
}
static inline void lxl_setmetatable(lua_State *L, const char *name) {
  luaL_getmetatable(L, name);
  lua_setmetatable(L, -2);
}
/* A buffer of a known size: a userdata on the stack (as 5.4's box), made
 * into a string by luaL_pushresultsize. */
static inline char *lxl_buffinitsize(lua_State *L, luaL_Buffer *b, size_t n) {
  luaL_buffinit(L, b);
  return lua_newuserdata(L, n ? n : 1);
}
static inline void lxl_pushresultsize(luaL_Buffer *b, size_t n) {
  lua_pushlstring(b->L, lua_touserdata(b->L, -1), n);
  lua_remove(b->L, -2);
}
/* Light userdata keys (5.2). */
static inline int lxl_rawgetp(lua_State *L, int idx, const void *p) {
  idx = lxl_absindex(L, idx);
  lua_pushlightuserdata(L, (void *)(uintptr_t)p);
  lua_rawget(L, idx);
  return lua_type(L, -1);
}
static inline void lxl_rawsetp(lua_State *L, int idx, const void *p) {
  idx = lxl_absindex(L, idx);
  lua_pushlightuserdata(L, (void *)(uintptr_t)p);
  lua_insert(L, -2);
  lua_rawset(L, idx);
}
/* The pushers return the string they pushed from 5.2 on. */
static inline const char *lxl_pushlstring(lua_State *L, const char *s,
                                          size_t len) {
  lua_pushlstring(L, s, len);
  return lua_tostring(L, -1);
}
static inline const char *lxl_pushstring(lua_State *L, const char *s) {
  lua_pushstring(L, s);
  return lua_tostring(L, -1);
}
#define lua_rawgetp lxl_rawgetp
#define lua_rawsetp lxl_rawsetp
#define lua_pushlstring lxl_pushlstring
#define lua_pushstring lxl_pushstring
#define lua_absindex lxl_absindex
#define lua_rawlen lxl_rawlen
#define luaL_len lxl_len
#define luaL_setfuncs lxl_setfuncs
#define luaL_setmetatable lxl_setmetatable
#define luaL_buffinitsize lxl_buffinitsize
#define luaL_pushresultsize lxl_pushresultsize
#elif LUA_VERSION_NUM < 503
/* luaL_len returned an int in 5.2. */
#define luaL_len(L, idx) ((lua_Integer)luaL_len((L), (idx)))
#endif

#endif

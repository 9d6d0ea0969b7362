/* jid.c (binding): the C half of lxmpp.jid: JID preparation, the PRECIS
 * profiles, IDNA2008 A-labels and XEP-0106 escaping. lua/lxmpp/jid.lua
 * adds the rest of Prosody's util.jid in Lua. */
#include "lxl.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

/* The C allocation a call holds while it pushes its results, in a box that
 * every function shares as an upvalue: if a push raises (out of memory),
 * the next call or the box's __gc frees it. */
typedef struct box {
  lx_jid *jid;
  char *str;
  size_t len;
} box;

static void box_release(box *b) {
  lx_jid_free(b->jid);
  b->jid = NULL;
  if (b->str) { /* PRECIS output may be a password */
    OPENSSL_cleanse(b->str, b->len);
    free(b->str);
  }
  b->str = NULL;
}

static int box_gc(lua_State *L) {
  box_release(lua_touserdata(L, 1));
  return 0;
}

/* nil, message, "jid-malformed" for a refused JID; out of memory raises,
 * as Lua's own allocation failures do. */
static int jid_fail(lua_State *L, int rc, const lx_error *err) {
  if (rc == LX_ERR_NOMEM)
    return luaL_error(L, "not enough memory");
  return lxl_fail(L, rc, err->detail);
}

static box *get_box(lua_State *L) {
  box *b = lua_touserdata(L, lua_upvalueindex(1));
  box_release(b);
  return b;
}

/* jid_prep(s) -> prepared JID | nil, message, "jid-malformed" */
static int l_prep(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  box *b = get_box(L);
  lx_error err;
  int rc = lx_jid_new(&b->jid, s, len, &err);
  if (rc)
    return jid_fail(L, rc, &err);
  lua_pushstring(L, lx_jid_full(b->jid));
  box_release(b);
  return 1;
}

static void push_or_nil(lua_State *L, const char *s) {
  if (s)
    lua_pushstring(L, s);
  else
    lua_pushnil(L);
}

/* jid_prepped_split(s) -> local|nil, domain, resource|nil
 *                       | nil, nil, nil, message, "jid-malformed" */
static int l_prepped_split(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  box *b = get_box(L);
  lx_error err;
  int rc = lx_jid_new(&b->jid, s, len, &err);
  if (rc) {
    lua_pushnil(L);
    lua_pushnil(L);
    jid_fail(L, rc, &err);
    return 5;
  }
  push_or_nil(L, lx_jid_local(b->jid));
  lua_pushstring(L, lx_jid_domain(b->jid));
  push_or_nil(L, lx_jid_resource(b->jid));
  box_release(b);
  return 3;
}

/* jid_to_ascii(domain) -> A-label | nil, message, "jid-malformed" */
static int l_to_ascii(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  box *b = get_box(L);
  lx_error err;
  int rc = lx_jid_from_parts(&b->jid, NULL, 0, s, len, NULL, 0, &err);
  if (rc)
    return jid_fail(L, rc, &err);
  lua_pushstring(L, lx_jid_domain_ascii(b->jid));
  box_release(b);
  return 1;
}

/* jid_precis(profile, s) -> prepared | nil, message, "invalid-argument" */
static int l_precis(lua_State *L) {
  static const char *const names[] = {
      [LX_PRECIS_USERNAME_CASE_MAPPED] = "UsernameCaseMapped",
      [LX_PRECIS_USERNAME_CASE_PRESERVED] = "UsernameCasePreserved",
      [LX_PRECIS_OPAQUE_STRING] = "OpaqueString",
      [LX_PRECIS_NICKNAME] = "Nickname",
      [LX_PRECIS_NICKNAME_CASE_MAPPED] = "NicknameCaseMapped",
  };
  const char *name = luaL_checkstring(L, 1);
  size_t len, which = 0;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (names[i] && strcmp(names[i], name) == 0)
      which = i;
  if (!which)
    return luaL_argerror(
        L, 1, lua_pushfstring(L, "unknown PRECIS profile '%s'", name));
  const char *s = luaL_checklstring(L, 2, &len);
  box *b = get_box(L);
  lx_error err;
  int rc = lx_precis_prepare((lx_precis_profile)which, s, len, &b->str, &b->len,
                             &err);
  if (rc)
    return jid_fail(L, rc, &err);
  lua_pushlstring(L, b->str, b->len);
  box_release(b);
  return 1;
}

/* jid_escape(s), jid_unescape(s): XEP-0106, into a Lua buffer. */
static int l_escape(lua_State *L) {
  size_t len;
  luaL_checktype(L, 1, LUA_TSTRING);
  const char *s = lua_tolstring(L, 1, &len);
  luaL_Buffer buf;
  if (len > ((size_t)-1 - 1) / 3)
    return luaL_error(L, "lxmpp: string too long to escape");
  char *out = luaL_buffinitsize(L, &buf, 3 * len + 1);
  luaL_pushresultsize(&buf, lx_jid_escape(s, len, out));
  return 1;
}

static int l_unescape(lua_State *L) {
  size_t len;
  luaL_checktype(L, 1, LUA_TSTRING);
  const char *s = lua_tolstring(L, 1, &len);
  luaL_Buffer buf;
  char *out = luaL_buffinitsize(L, &buf, len + 1);
  luaL_pushresultsize(&buf, lx_jid_unescape(s, len, out));
  return 1;
}

void lxl_open_jid(lua_State *L) {
  static const luaL_Reg fns[] = {{"jid_prep", l_prep},
                                 {"jid_prepped_split", l_prepped_split},
                                 {"jid_to_ascii", l_to_ascii},
                                 {"jid_precis", l_precis},
                                 {"jid_escape", l_escape},
                                 {"jid_unescape", l_unescape},
                                 {NULL, NULL}};
  box *b = lua_newuserdatauv(L, sizeof *b, 0);
  memset(b, 0, sizeof *b);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, box_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  luaL_setfuncs(L, fns, 1);
}

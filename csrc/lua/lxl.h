/* lxl.h: helpers shared by the Lua binding's files (module lxmpp.core). */
#ifndef LXL_H
#define LXL_H

#include "lxmpp.h"

#include <lauxlib.h>
#include <lua.h>

/* Registry key of the metatable shared by every stanza table. */
#define LXL_STANZA_MT "lxmpp.stanza"

/* Pushes nil, message, code-name: the result of a failed network or peer
 * operation. Returns 3 (for `return lxl_fail(...)`). */
int lxl_fail(lua_State *L, int code, const char *detail);

/* Creates a class: a metatable named `name` (its __name) whose __index is
 * a table of `methods`, with the metamethods `meta` (__gc, __close,
 * __tostring...). Leaves nothing on the stack. */
void lxl_class(lua_State *L, const char *name, const luaL_Reg *methods,
               const luaL_Reg *meta);

/* Option helpers: field `key` of the table at `idx` (absent or nil: dflt).
 * A value of the wrong type raises an error naming the option. */
lua_Integer lxl_opt_int(lua_State *L, int idx, const char *key,
                        lua_Integer dflt, lua_Integer min, lua_Integer max);
int lxl_opt_bool(lua_State *L, int idx, const char *key, int dflt);
const char *lxl_opt_string(lua_State *L, int idx, const char *key,
                           const char *dflt);

/* Pushes the Lua stanza table for the tree under `root`. Elements whose
 * namespace differs from `default_ns` (or from an enclosing element that
 * did) get attr.xmlns, as Prosody's util.xmppstream builds them. Raises on
 * memory errors; the tree is not modified. */
void lxl_push_stanza(lua_State *L, const lx_elem *root, const char *default_ns);

/* Each file registers its functions into the module table on the top of
 * the stack. */
void lxl_open_jid(lua_State *L);
void lxl_open_stanza(lua_State *L);
void lxl_open_xml(lua_State *L);
void lxl_open_sasl(lua_State *L);

#endif

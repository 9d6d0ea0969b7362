/* lxl.h: helpers shared by the Lua binding's files (module lxmpp.core). */
#ifndef LXL_H
#define LXL_H

#include "compat.h" /* the 5.4 API on 5.1, 5.2, 5.3 and LuaJIT */
#include "lxmpp.h"

/* Registry key of the metatable shared by every stanza table. */
#define LXL_STANZA_MT "lxmpp.stanza"

/* ---- results, classes, options (lxl.c) ---- */

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
/* The array of strings in field `key` of the table at idx, as a Lua-owned
 * C array left on the stack (its strings stay referenced by the table), its
 * length in *n; NULL when the field is absent. Raises on wrong types. */
const char **lxl_opt_list(lua_State *L, int idx, const char *key, size_t *n);
/* A string option without NUL bytes (a NUL would cut a password short). */
const char *lxl_opt_text(lua_State *L, int idx, const char *key,
                         const char *dflt);

/* Deterministic random bytes for tests: the string of the option `random`,
 * handed out in turn and from the start again when used up. */
typedef struct lxl_random {
  const unsigned char *bytes; /* kept alive by a user value */
  size_t len, pos;
} lxl_random;

/* Reads the option `random` of the table at idx into *r, keeping its string
 * alive as user value `uv` of the userdata at `ud` (which holds r). Returns
 * the lx_random_fn to give with r, or NULL when the option is absent (then
 * OpenSSL's generator is used). Raises unless it is a non-empty string. */
lx_random_fn lxl_opt_random(lua_State *L, int idx, int ud, int uv,
                            lxl_random *r);

/* ---- SASL (sasl.c) ---- */

/* keys = { hash, salt, iterations, client_key, server_key, stored_key } from
 * the table at idx (`hash` may be implied); raises on wrong types. */
void lxl_read_keys(lua_State *L, int idx, lx_sasl_hash implied,
                   lx_scram_keys *k);
/* Pushes keys as the table lxl_read_keys reads (without stored_key). */
void lxl_push_keys(lua_State *L, const lx_scram_keys *k);
/* The code of a SASL condition name ("not-authorized"); raises for
 * others. */
int lxl_sasl_condition(lua_State *L, const char *name);

/* Reads the XML parser's limits from the options table at `idx`:
 * max_stanza_size, max_depth, max_attrs, max_children, max_text_size,
 * max_parser_memory. A value of the wrong kind raises. */
void lxl_parser_limits(lua_State *L, int idx, lx_parser_opts *o);

/* Pushes the Lua stanza table for the tree under `root`. Elements whose
 * namespace differs from `default_ns` (or from an enclosing element that
 * did) get attr.xmlns, as Prosody's util.xmppstream builds them. Raises on
 * memory errors; the tree is not modified. */
void lxl_push_stanza(lua_State *L, const lx_elem *root, const char *default_ns);

/* Pushes a holder for a C stanza tree in transit (*holder is NULL): its
 * __gc frees the tree it holds, so that an error raised while converting
 * it cannot leak it. Set *holder to NULL once the tree is gone. */
lx_stanza **lxl_push_holder(lua_State *L);

/* Serializes the stanza table at `idx` (names and text validated, as
 * tostring does) into a buffer owned by a userdata pushed on the stack: the
 * bytes stay valid while it stays there. Raises on invalid content and on
 * memory errors. */
const char *lxl_serialize_stanza(lua_State *L, int idx, size_t *len);

/* The TLS context for a connection's options at idx: opts.tls_context (a
 * context of that role), or a new one made from the TLS options (cafile,
 * certificate...; for direct TLS the ALPN protocol "xmpp-client"). Leaves
 * one value on the stack that keeps the context alive. Raises on bad
 * options. */
lx_tls_ctx *lxl_tls_context(lua_State *L, int idx, lx_tls_role role,
                            int direct);
/* Pushes a resumable session of t (a userdata), or nil. */
void lxl_push_tls_session(lua_State *L, const lx_tls *t);
/* The session in field `key` of the table at idx, or NULL. */
const lx_tls_session *lxl_tls_session(lua_State *L, int idx, const char *key);

/* Each file registers its functions into the module table on the top of
 * the stack. */
void lxl_open_jid(lua_State *L);
void lxl_open_stanza(lua_State *L);
void lxl_open_xml(lua_State *L);
void lxl_open_sasl(lua_State *L);
void lxl_open_stream(lua_State *L);
void lxl_open_tls(lua_State *L);
void lxl_open_digest(lua_State *L);
void lxl_open_fd(lua_State *L);

#endif

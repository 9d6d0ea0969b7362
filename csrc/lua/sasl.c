/* sasl.c (binding): lxmpp.sasl's client and server classes and
 * scram_keys(). Messages are raw bytes; the stream layer does base64. */
#include "lxl.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#define CLIENT_MT "lxmpp.sasl.client"
#define SERVER_MT "lxmpp.sasl.server"

typedef struct lclient {
  lx_sasl_client *c;
  lxl_random random; /* the option `random` (tests) */
} lclient;

typedef struct lserver {
  lx_sasl_server *s;
  lxl_random random;
} lserver;

/* ---- options ------------------------------------------------------------ */

/* One { type = ..., data = ... } at the top of the stack into cb. */
static void read_cb(lua_State *L, lx_sasl_cb *cb) {
  if (!lua_istable(L, -1) || lua_getfield(L, -1, "type") != LUA_TSTRING ||
      lua_getfield(L, -2, "data") != LUA_TSTRING)
    luaL_error(L, "option 'channel_binding': expected { type = string, "
                  "data = string } or a list of them");
  cb->type = lua_tostring(L, -2);
  cb->data = (const unsigned char *)lua_tolstring(L, -1, &cb->len);
  lua_pop(L, 2);
}

/* channel_binding: one { type, data } or a list of them, preferred first;
 * a Lua-owned array left on the stack, or NULL. */
static const lx_sasl_cb *opt_cb(lua_State *L, int idx, size_t *n) {
  *n = 0;
  if (lua_getfield(L, idx, "channel_binding") == LUA_TNIL) {
    lua_pop(L, 1);
    return NULL;
  }
  int t = lua_gettop(L);
  int single = lua_istable(L, t) && lua_getfield(L, t, "type") != LUA_TNIL;
  if (lua_istable(L, t))
    lua_pop(L, 1);
  size_t len = single ? 1 : lua_istable(L, t) ? (size_t)luaL_len(L, t) : 0;
  lx_sasl_cb *v = lua_newuserdatauv(L, (len ? len : 1) * sizeof *v, 0);
  for (size_t i = 0; i < len; i++) {
    if (single)
      lua_pushvalue(L, t);
    else
      lua_rawgeti(L, t, (lua_Integer)i + 1);
    read_cb(L, &v[i]);
    lua_pop(L, 1);
  }
  if (!len)
    read_cb(L, v); /* raises with the message */
  lua_remove(L, t);
  *n = len;
  return v;
}

/* Argument n as a string without NUL bytes (or NULL when absent and
 * optional). */
static const char *arg_text(lua_State *L, int n, int optional) {
  size_t len;
  const char *v = optional ? luaL_optlstring(L, n, NULL, &len)
                           : luaL_checklstring(L, n, &len);
  luaL_argcheck(L, !v || strlen(v) == len, n, "contains a NUL byte");
  return v;
}

static lx_sasl_hash hash_of(lua_State *L, const char *name) {
  for (int h = LX_SASL_SHA1; h <= LX_SASL_SHA512; h++)
    if (strcmp(lx_sasl_hash_name((lx_sasl_hash)h), name) == 0)
      return (lx_sasl_hash)h;
  return (lx_sasl_hash)luaL_error(
      L, "unknown hash '%s' (SHA-1, SHA-256 or SHA-512)", name);
}

/* A binary string field that must have `len` bytes when present. */
static const unsigned char *opt_key(lua_State *L, int idx, const char *key,
                                    size_t want) {
  size_t len;
  const char *v = lxl_opt_string(L, idx, key, NULL);
  if (!v)
    return NULL;
  lua_getfield(L, idx, key);
  lua_tolstring(L, -1, &len);
  lua_pop(L, 1);
  if (want && len != want)
    luaL_error(L, "option '%s': expected %d bytes", key, (int)want);
  return (const unsigned char *)v;
}

/* keys = { hash, salt, iterations, client_key, server_key, stored_key }
 * from the table at idx (`hash` may be implied). */
void lxl_read_keys(lua_State *L, int idx, lx_sasl_hash implied,
                   lx_scram_keys *k) {
  size_t salt_len = 0;
  const char *h = lxl_opt_string(L, idx, "hash", NULL);
  k->hash = h ? hash_of(L, h) : implied;
  size_t hl = lx_sasl_hash_size(k->hash);
  k->salt = (const unsigned char *)lxl_opt_string(L, idx, "salt", NULL);
  if (k->salt) {
    lua_getfield(L, idx, "salt");
    lua_tolstring(L, -1, &salt_len);
    lua_pop(L, 1);
  }
  k->salt_len = salt_len;
  k->iterations = (unsigned)lxl_opt_int(L, idx, "iterations", 0, 0, 0x7fffffff);
  k->client_key = opt_key(L, idx, "client_key", hl);
  k->stored_key = opt_key(L, idx, "stored_key", hl);
  k->server_key = opt_key(L, idx, "server_key", hl);
}

/* ---- client ------------------------------------------------------------- */

static lclient *check_client(lua_State *L) {
  lclient *lc = luaL_checkudata(L, 1, CLIENT_MT);
  if (!lc->c)
    luaL_error(L, "lxmpp.sasl.client is closed");
  return lc;
}

/* sasl.client(opts) -> client | nil, message, code */
static int l_client(lua_State *L) {
  lx_sasl_client_opts o;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lclient *lc = lua_newuserdatauv(L, sizeof *lc, 1);
  lc->c = NULL;
  luaL_setmetatable(L, CLIENT_MT);
  lx_sasl_client_opts_init(&o);
  o.random = lxl_opt_random(L, 1, 2, 1, &lc->random);
  o.random_user = &lc->random;
  o.offered = lxl_opt_list(L, 1, "mechanisms", &o.n_offered);
  if (!o.offered)
    luaL_error(L, "option 'mechanisms': the list the server offered is "
                  "required");
  o.allowed = lxl_opt_list(L, 1, "allowed", &o.n_allowed);
  o.cb_types = lxl_opt_list(L, 1, "channel_binding_types", &o.n_cb_types);
  o.cb = opt_cb(L, 1, &o.n_cb);
  o.username = lxl_opt_text(L, 1, "username", NULL);
  o.password = lxl_opt_text(L, 1, "password", NULL);
  o.authzid = lxl_opt_text(L, 1, "authzid", NULL);
  o.host = lxl_opt_text(L, 1, "host", NULL);
  o.service = lxl_opt_text(L, 1, "service", o.service);
  o.trace = lxl_opt_text(L, 1, "trace", NULL);
  o.tls = lxl_opt_bool(L, 1, "tls", 0);
  o.require_cb = lxl_opt_bool(L, 1, "require_channel_binding", 0);
  o.require_ssdp = lxl_opt_bool(L, 1, "require_ssdp", 0);
  o.min_iterations = (unsigned)lxl_opt_int(L, 1, "min_iterations",
                                           o.min_iterations, 1, 0x7fffffff);
  o.max_iterations = (unsigned)lxl_opt_int(L, 1, "max_iterations",
                                           o.max_iterations, 1, 0x7fffffff);
  o.max_salt = (size_t)lxl_opt_int(L, 1, "max_salt", (lua_Integer)o.max_salt, 1,
                                   1 << 20);
  o.max_message = (size_t)lxl_opt_int(L, 1, "max_message",
                                      (lua_Integer)o.max_message, 64, 1 << 24);
  lx_scram_keys keys;
  if (lua_getfield(L, 1, "keys") != LUA_TNIL) {
    luaL_checktype(L, -1, LUA_TTABLE);
    lxl_read_keys(L, lua_gettop(L), 0, &keys);
    o.keys = &keys;
  }
  lua_pop(L, 1);
  lx_error e = {0};
  int rc = lx_sasl_client_new(&lc->c, &o, &e);
  if (rc)
    return lxl_fail(L, rc, e.detail);
  lua_pushvalue(L, 2); /* the userdata */
  return 1;
}

/* c:initial() -> response | nil (none) | nil, message, code */
static int l_client_initial(lua_State *L) {
  lclient *lc = check_client(L);
  const unsigned char *out;
  size_t len;
  lx_error e = {0};
  int rc = lx_sasl_client_initial(lc->c, &out, &len, &e);
  if (rc < 0)
    return lxl_fail(L, rc, e.detail);
  if (rc == 0)
    return 0;
  lua_pushlstring(L, (const char *)out, len);
  return 1;
}

/* c:step(challenge) -> response | nil, message, code */
static int l_client_step(lua_State *L) {
  lclient *lc = check_client(L);
  size_t len = 0;
  const char *in = luaL_optlstring(L, 2, "", &len);
  const unsigned char *out;
  size_t out_len;
  lx_error e = {0};
  int rc = lx_sasl_client_step(lc->c, (const unsigned char *)in, len, &out,
                               &out_len, &e);
  if (rc < 0)
    return lxl_fail(L, rc, e.detail);
  lua_pushlstring(L, (const char *)out, out_len);
  return 1;
}

/* c:finish(success_data) -> true | nil, message, code */
static int l_client_finish(lua_State *L) {
  lclient *lc = check_client(L);
  size_t len = 0;
  const char *data = luaL_optlstring(L, 2, NULL, &len);
  lx_error e = {0};
  int rc = lx_sasl_client_finish(lc->c, (const unsigned char *)data, len, &e);
  if (rc < 0)
    return lxl_fail(L, rc, e.detail);
  lua_pushboolean(L, 1);
  return 1;
}

void lxl_push_keys(lua_State *L, const lx_scram_keys *k) {
  size_t hl = lx_sasl_hash_size(k->hash);
  lua_createtable(L, 0, 5);
  lua_pushstring(L, lx_sasl_hash_name(k->hash));
  lua_setfield(L, -2, "hash");
  lua_pushlstring(L, (const char *)k->salt, k->salt_len);
  lua_setfield(L, -2, "salt");
  lua_pushinteger(L, k->iterations);
  lua_setfield(L, -2, "iterations");
  lua_pushlstring(L, (const char *)k->client_key, hl);
  lua_setfield(L, -2, "client_key");
  lua_pushlstring(L, (const char *)k->server_key, hl);
  lua_setfield(L, -2, "server_key");
}

/* c.mechanism, c.channel_binding (the -PLUS type, or nil), c.keys (SCRAM,
 * after a verified success), then methods */
static int l_client_index(lua_State *L) {
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
    return 1;
  lclient *lc = check_client(L);
  const char *key = lua_tostring(L, 2);
  lx_scram_keys k;
  if (key && strcmp(key, "mechanism") == 0)
    lua_pushstring(L, lx_sasl_client_mechanism(lc->c));
  else if (key && strcmp(key, "channel_binding") == 0)
    lua_pushstring(L, lx_sasl_client_channel_binding(lc->c));
  else if (key && strcmp(key, "keys") == 0 &&
           lx_sasl_client_keys(lc->c, &k) == 0)
    lxl_push_keys(L, &k);
  else
    lua_pushnil(L);
  return 1;
}

static int l_client_close(lua_State *L) {
  lclient *lc = luaL_checkudata(L, 1, CLIENT_MT);
  lx_sasl_client_free(lc->c);
  lc->c = NULL;
  return 0;
}

static int l_client_tostring(lua_State *L) {
  lclient *lc = luaL_checkudata(L, 1, CLIENT_MT);
  lua_pushfstring(L, "lxmpp.sasl.client (%s): %p",
                  lc->c ? lx_sasl_client_mechanism(lc->c) : "closed",
                  (void *)lc);
  return 1;
}

/* ---- server ------------------------------------------------------------- */

static lserver *check_server(lua_State *L) {
  lserver *ls = luaL_checkudata(L, 1, SERVER_MT);
  if (!ls->s)
    luaL_error(L, "lxmpp.sasl.server is closed");
  return ls;
}

/* sasl.server(opts) -> server (raises on bad options) */
static int l_server(lua_State *L) {
  lx_sasl_server_opts o;
  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 0);
    lua_newtable(L);
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lserver *ls = lua_newuserdatauv(L, sizeof *ls, 1);
  ls->s = NULL;
  luaL_setmetatable(L, SERVER_MT);
  lx_sasl_server_opts_init(&o);
  o.random = lxl_opt_random(L, 1, 2, 1, &ls->random);
  o.random_user = &ls->random;
  o.mechanisms = lxl_opt_list(L, 1, "mechanisms", &o.n_mechanisms);
  o.cb = opt_cb(L, 1, &o.n_cb);
  o.tls = lxl_opt_bool(L, 1, "tls", 0);
  o.client_cert = lxl_opt_bool(L, 1, "client_cert", 0);
  o.ssdp = lxl_opt_bool(L, 1, "ssdp", 1);
  o.iterations =
      (unsigned)lxl_opt_int(L, 1, "iterations", o.iterations, 1, 0x7fffffff);
  o.max_message = (size_t)lxl_opt_int(L, 1, "max_message",
                                      (lua_Integer)o.max_message, 64, 1 << 24);
  o.host = lxl_opt_text(L, 1, "host", NULL);
  o.service = lxl_opt_text(L, 1, "service", o.service);
  lx_error e = {0};
  int rc = lx_sasl_server_new(&ls->s, &o, &e);
  if (rc)
    return luaL_error(L, "lxmpp.sasl.server: %s", e.detail);
  lua_pushvalue(L, 2);
  return 1;
}

/* Pushes a step's result: "challenge", data | "success", data? |
 * "need-credentials", username, authzid | "failure", condition, text.
 * The caller's mistakes raise. */
static int push_result(lua_State *L, lserver *ls, int rc,
                       const unsigned char *out, size_t len,
                       const lx_error *e) {
  const lx_sasl_request *rq = lx_sasl_server_request(ls->s);
  switch (rc) {
  case LX_SASL_CHALLENGE:
    lua_pushliteral(L, "challenge");
    lua_pushlstring(L, (const char *)out, len);
    return 2;
  case LX_SASL_SUCCESS:
    lua_pushliteral(L, "success");
    if (out)
      lua_pushlstring(L, (const char *)out, len);
    else
      lua_pushnil(L);
    return 2;
  case LX_SASL_NEED_CREDENTIALS:
    lua_pushliteral(L, "need-credentials");
    lua_pushstring(L, rq->username);
    lua_pushstring(L, rq->authzid);
    return 3;
  case LX_ERR_INVALID:
  case LX_ERR_STATE: return luaL_error(L, "lxmpp.sasl.server: %s", e->detail);
  }
  lua_pushliteral(L, "failure");
  /* the SASL condition on the wire; ours (memory...) is temporary */
  const char *cond = lx_error_condition(rc);
  lua_pushstring(L, cond && lx_error_from_condition(LX_FAMILY_SASL, cond) == rc
                        ? cond
                        : "temporary-auth-failure");
  lua_pushstring(L, e->detail[0] ? e->detail : lx_strerror(rc));
  return 3;
}

/* s:start(mechanism, initial) */
static int l_server_start(lua_State *L) {
  lserver *ls = check_server(L);
  const char *mech = arg_text(L, 2, 0);
  size_t len = 0;
  const char *initial = luaL_optlstring(L, 3, NULL, &len);
  const unsigned char *out;
  size_t out_len;
  lx_error e = {0};
  int rc = lx_sasl_server_start(ls->s, mech, (const unsigned char *)initial,
                                len, &out, &out_len, &e);
  return push_result(L, ls, rc, out, out_len, &e);
}

/* s:step(response) */
static int l_server_step(lua_State *L) {
  lserver *ls = check_server(L);
  size_t len = 0;
  const char *in = luaL_optlstring(L, 2, "", &len);
  const unsigned char *out;
  size_t out_len;
  lx_error e = {0};
  int rc = lx_sasl_server_step(ls->s, (const unsigned char *)in, len, &out,
                               &out_len, &e);
  return push_result(L, ls, rc, out, out_len, &e);
}

/* The code of a SASL condition name ("not-authorized"). Raises for others. */
int lxl_sasl_condition(lua_State *L, const char *name) {
  int code = lx_error_from_condition(LX_FAMILY_SASL, name);
  return code ? code : luaL_error(L, "unknown SASL condition '%s'", name);
}

/* s:credentials{ password = | salt =, iterations =, stored_key =,
 * server_key = } | s:credentials(true [, identity]) |
 * s:credentials(false [, condition]) */
static int l_server_credentials(lua_State *L) {
  lserver *ls = check_server(L);
  lx_sasl_credentials c;
  memset(&c, 0, sizeof c);
  if (lua_isboolean(L, 2) && lua_toboolean(L, 2)) {
    c.verdict = LX_SASL_ACCEPT;
    c.identity = arg_text(L, 3, 1);
  } else if (lua_isboolean(L, 2)) {
    c.verdict = lxl_sasl_condition(L, luaL_optstring(L, 3, "not-authorized"));
  } else {
    luaL_checktype(L, 2, LUA_TTABLE);
    c.password = lxl_opt_text(L, 2, "password", NULL);
    c.identity = lxl_opt_text(L, 2, "identity", NULL);
    lxl_read_keys(L, 2, lx_sasl_server_request(ls->s)->hash, &c.keys);
  }
  const unsigned char *out;
  size_t out_len;
  lx_error e = {0};
  int rc = lx_sasl_server_credentials(ls->s, &c, &out, &out_len, &e);
  return push_result(L, ls, rc, out, out_len, &e);
}

static int push_names(lua_State *L, const char **names, size_t n) {
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushstring(L, names[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* s:mechanisms() -> the list to advertise */
static int l_server_mechanisms(lua_State *L) {
  lserver *ls = check_server(L);
  const char *names[16];
  size_t n = lx_sasl_server_mechanisms(ls->s, names, 16);
  return push_names(L, names, n < 16 ? n : 16);
}

/* sasl_server_defaults() -> the mechanisms a server enables by default */
static int l_server_defaults(lua_State *L) {
  const char *names[16];
  size_t n = lx_sasl_server_default_mechanisms(names, 16);
  return push_names(L, names, n < 16 ? n : 16);
}

/* s:channel_binding_types() -> the XEP-0440 list to advertise */
static int l_server_cb_types(lua_State *L) {
  lserver *ls = check_server(L);
  size_t n = lx_sasl_server_cb_types(ls->s, NULL, 0);
  const char **types = lua_newuserdatauv(L, (n ? n : 1) * sizeof *types, 0);
  lx_sasl_server_cb_types(ls->s, types, n);
  return push_names(L, types, n);
}

/* s.mechanism, s.username, s.authzid, s.password, s.trace, s.hash */
static int l_server_index(lua_State *L) {
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
    return 1;
  lserver *ls = check_server(L);
  const lx_sasl_request *rq = lx_sasl_server_request(ls->s);
  const char *key = lua_tostring(L, 2), *v = NULL;
  if (!key)
    v = NULL;
  else if (strcmp(key, "mechanism") == 0)
    v = rq->mechanism;
  else if (strcmp(key, "username") == 0)
    v = rq->username;
  else if (strcmp(key, "authzid") == 0)
    v = rq->authzid;
  else if (strcmp(key, "password") == 0)
    v = rq->password;
  else if (strcmp(key, "trace") == 0)
    v = rq->trace;
  else if (strcmp(key, "hash") == 0)
    v = lx_sasl_hash_name(rq->hash);
  lua_pushstring(L, v);
  return 1;
}

static int l_server_close(lua_State *L) {
  lserver *ls = luaL_checkudata(L, 1, SERVER_MT);
  lx_sasl_server_free(ls->s);
  ls->s = NULL;
  return 0;
}

static int l_server_tostring(lua_State *L) {
  lserver *ls = luaL_checkudata(L, 1, SERVER_MT);
  const char *m = ls->s ? lx_sasl_server_request(ls->s)->mechanism : NULL;
  lua_pushfstring(L, "lxmpp.sasl.server (%s): %p",
                  !ls->s ? "closed"
                  : m    ? m
                         : "idle",
                  (void *)ls);
  return 1;
}

/* ---- scram_keys -----------------------------------------------------------
 */

/* sasl.scram_keys(hash, password [, salt [, iterations]]) -> stored_key,
 * server_key, salt, iterations (a random 16-byte salt and 10000 iterations
 * when not given) */
static int l_scram_keys(lua_State *L) {
  lx_sasl_hash h = hash_of(L, arg_text(L, 1, 0));
  size_t pw_len, salt_len = 16;
  const char *pw = luaL_checklstring(L, 2, &pw_len);
  unsigned char random_salt[16], stored[LX_SASL_MAX_HASH],
      server[LX_SASL_MAX_HASH];
  const char *salt = luaL_optlstring(L, 3, NULL, &salt_len);
  lua_Integer it = luaL_optinteger(L, 4, 10000);
  luaL_argcheck(L, it >= 1 && it <= 0x7fffffff, 4, "1 to 2^31-1");
  if (!salt) {
    if (RAND_bytes(random_salt, sizeof random_salt) != 1)
      return luaL_error(L, "RAND_bytes failed");
    salt = (const char *)random_salt;
    salt_len = sizeof random_salt;
  }
  lx_error e = {0};
  int rc = lx_scram_derive(h, pw, pw_len, (const unsigned char *)salt, salt_len,
                           (unsigned)it, NULL, stored, server, &e);
  if (rc)
    return lxl_fail(L, rc, e.detail);
  size_t hl = lx_sasl_hash_size(h);
  lua_pushlstring(L, (const char *)stored, hl);
  lua_pushlstring(L, (const char *)server, hl);
  lua_pushlstring(L, salt, salt_len);
  lua_pushinteger(L, it);
  OPENSSL_cleanse(stored, sizeof stored);
  OPENSSL_cleanse(server, sizeof server);
  return 4;
}

/* Replaces the class's __index (its methods table) with f, which gets the
 * methods table as its upvalue. */
static void index_with(lua_State *L, const char *mt, lua_CFunction f) {
  luaL_getmetatable(L, mt);
  lua_getfield(L, -1, "__index");
  lua_pushcclosure(L, f, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}

void lxl_open_sasl(lua_State *L) {
  static const luaL_Reg client_methods[] = {{"initial", l_client_initial},
                                            {"step", l_client_step},
                                            {"finish", l_client_finish},
                                            {"close", l_client_close},
                                            {NULL, NULL}};
  static const luaL_Reg client_meta[] = {{"__gc", l_client_close},
                                         {"__close", l_client_close},
                                         {"__tostring", l_client_tostring},
                                         {NULL, NULL}};
  static const luaL_Reg server_methods[] = {
      {"start", l_server_start},
      {"step", l_server_step},
      {"credentials", l_server_credentials},
      {"mechanisms", l_server_mechanisms},
      {"channel_binding_types", l_server_cb_types},
      {"close", l_server_close},
      {NULL, NULL}};
  static const luaL_Reg server_meta[] = {{"__gc", l_server_close},
                                         {"__close", l_server_close},
                                         {"__tostring", l_server_tostring},
                                         {NULL, NULL}};
  lxl_class(L, CLIENT_MT, client_methods, client_meta);
  index_with(L, CLIENT_MT, l_client_index);
  lxl_class(L, SERVER_MT, server_methods, server_meta);
  index_with(L, SERVER_MT, l_server_index);
  static const luaL_Reg fns[] = {{"sasl_client", l_client},
                                 {"sasl_server", l_server},
                                 {"sasl_scram_keys", l_scram_keys},
                                 {"sasl_server_defaults", l_server_defaults},
                                 {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}

/* tls.c (binding): TLS contexts and resumable sessions for lxmpp.stream,
 * and throwaway certificates for tests, demos and development. */
#include "lxl.h"

#include <stdlib.h>
#include <string.h>

#define CTX_MT "lxmpp.tls_context"
#define SESSION_MT "lxmpp.tls_session"
#define MAX_CERTS 16

typedef struct lctx {
  lx_tls_ctx *ctx;
  lx_tls_role role;
} lctx;

/* ---- reading the options (no C allocation: they may raise) ------------- */

typedef struct cert_opt {
  const char *cert, *key;
  size_t cert_len, key_len;
  int files; /* cert and key are paths */
} cert_opt;

typedef struct tls_cfg {
  lx_tls_opts o;
  const char *ca, *cafile, *capath;
  size_t ca_len;
  cert_opt certs[MAX_CERTS];
  size_t n_certs;
  const char **alpn;
  size_t n_alpn;
} tls_cfg;

static int tls_version(lua_State *L, int idx, const char *key, int dflt) {
  const char *v = lxl_opt_string(L, idx, key, NULL);
  if (!v)
    return dflt;
  if (strcmp(v, "1.2") == 0)
    return LX_TLS_V1_2;
  if (strcmp(v, "1.3") == 0)
    return LX_TLS_V1_3;
  return luaL_error(L, "option '%s': \"1.2\" or \"1.3\"", key);
}

static lx_tls_verify tls_verify(lua_State *L, int idx) {
  static const char *const names[] = {
      [LX_TLS_VERIFY_DEFAULT] = "default",
      [LX_TLS_VERIFY_NONE] = "none",
      [LX_TLS_VERIFY_OPTIONAL] = "optional",
      [LX_TLS_VERIFY_REQUIRED] = "required",
  };
  const char *v = lxl_opt_string(L, idx, "verify", "default");
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(v, names[i]) == 0)
      return (lx_tls_verify)i;
  return (lx_tls_verify)luaL_error(
      L, "option 'verify': \"none\", \"optional\" or \"required\"");
}

/* One certificate and key from the table at idx. */
static void read_cert(lua_State *L, int idx, cert_opt *c) {
  c->cert = lxl_opt_string(L, idx, "certificate", NULL);
  c->key = lxl_opt_string(L, idx, "key", NULL);
  c->files = 0;
  if (!c->cert && !c->key) {
    c->cert = lxl_opt_string(L, idx, "certificate_file", NULL);
    c->key = lxl_opt_string(L, idx, "key_file", NULL);
    c->files = 1;
  }
  if (!c->cert || !c->key)
    luaL_error(L, "a certificate needs its key: certificate and key (PEM), "
                  "or certificate_file and key_file");
  c->cert_len = strlen(c->cert);
  c->key_len = strlen(c->key);
}

static void read_tls_cfg(lua_State *L, int idx, tls_cfg *cfg) {
  lx_tls_opts_init(&cfg->o);
  cfg->o.min_version = tls_version(L, idx, "min_tls", LX_TLS_V1_2);
  cfg->o.max_version = tls_version(L, idx, "max_tls", 0);
  cfg->o.verify = tls_verify(L, idx);
  cfg->ca = lxl_opt_string(L, idx, "ca", NULL);
  cfg->ca_len = cfg->ca ? strlen(cfg->ca) : 0;
  cfg->cafile = lxl_opt_string(L, idx, "cafile", NULL);
  cfg->capath = lxl_opt_string(L, idx, "capath", NULL);
  cfg->n_certs = 0;
  if (lxl_opt_string(L, idx, "certificate", NULL) ||
      lxl_opt_string(L, idx, "certificate_file", NULL))
    read_cert(L, idx, &cfg->certs[cfg->n_certs++]);
  if (lua_getfield(L, idx, "certificates") != LUA_TNIL) {
    luaL_checktype(L, -1, LUA_TTABLE);
    lua_Integer n = luaL_len(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
      if (cfg->n_certs == MAX_CERTS)
        luaL_error(L, "option 'certificates': at most %d", MAX_CERTS);
      lua_rawgeti(L, -1, i);
      luaL_checktype(L, -1, LUA_TTABLE);
      read_cert(L, lua_gettop(L), &cfg->certs[cfg->n_certs++]);
      lua_pop(L, 1); /* the strings stay referenced by the options */
    }
  }
  lua_pop(L, 1);
  cfg->alpn = lxl_opt_list(L, idx, "alpn", &cfg->n_alpn);
}

/* ---- contexts ----------------------------------------------------------- */

static int apply(lx_tls_ctx *ctx, const tls_cfg *cfg, lx_error *err) {
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < cfg->n_certs; i++) {
    const cert_opt *c = &cfg->certs[i];
    rc = c->files ? lx_tls_ctx_add_cert_file(ctx, c->cert, c->key, err)
                  : lx_tls_ctx_add_cert(ctx, c->cert, c->cert_len, c->key,
                                        c->key_len, err);
  }
  if (rc == 0 && cfg->ca)
    rc = lx_tls_ctx_add_ca(ctx, cfg->ca, cfg->ca_len, err);
  if (rc == 0 && cfg->cafile)
    rc = lx_tls_ctx_add_ca_file(ctx, cfg->cafile, err);
  if (rc == 0 && cfg->capath)
    rc = lx_tls_ctx_add_ca_dir(ctx, cfg->capath, err);
  if (rc == 0 && cfg->alpn)
    rc = lx_tls_ctx_set_alpn(ctx, cfg->alpn, cfg->n_alpn, err);
  return rc;
}

static lx_tls_role role_of(lua_State *L, const char *name) {
  if (strcmp(name, "client") == 0)
    return LX_TLS_CLIENT;
  if (strcmp(name, "server") == 0)
    return LX_TLS_SERVER;
  return (lx_tls_role)luaL_error(L, "role: \"client\" or \"server\"");
}

/* Pushes a new context userdata for `role` made from the options at idx
 * (for direct TLS, ALPN "xmpp-client" unless the options name theirs).
 * Raises on bad options. */
static lx_tls_ctx *new_context(lua_State *L, int idx, lx_tls_role role,
                               int direct) {
  static const char *xmpp_client[] = {"xmpp-client"};
  tls_cfg cfg;
  read_tls_cfg(L, idx, &cfg);
  if (!cfg.alpn && direct) {
    cfg.alpn = xmpp_client;
    cfg.n_alpn = 1;
  }
  lctx *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->ctx = NULL;
  u->role = role;
  luaL_setmetatable(L, CTX_MT);
  lx_error err = {0};
  if (lx_tls_ctx_new(&u->ctx, role, &cfg.o, &err) || apply(u->ctx, &cfg, &err))
    luaL_error(L, "TLS: %s", err.detail); /* __gc frees the context */
  return u->ctx;
}

lx_tls_ctx *lxl_tls_context(lua_State *L, int idx, lx_tls_role role,
                            int direct) {
  idx = lua_absindex(L, idx);
  if (lua_getfield(L, idx, "tls_context") != LUA_TNIL) {
    lctx *u = luaL_checkudata(L, -1, CTX_MT);
    if (!u->ctx || u->role != role)
      luaL_error(L, "option 'tls_context': a %s context is needed",
                 role == LX_TLS_CLIENT ? "client" : "server");
    return u->ctx;
  }
  lua_pop(L, 1);
  return new_context(L, idx, role, direct);
}

/* tls.context(role, opts) -> a context to share between connections */
static int l_context(lua_State *L) {
  lx_tls_role role = role_of(L, luaL_checkstring(L, 1));
  if (lua_isnoneornil(L, 2)) {
    lua_settop(L, 1);
    lua_newtable(L);
  }
  luaL_checktype(L, 2, LUA_TTABLE);
  new_context(L, 2, role, 0);
  return 1;
}

static int l_context_gc(lua_State *L) {
  lctx *u = luaL_checkudata(L, 1, CTX_MT);
  lx_tls_ctx_free(u->ctx);
  u->ctx = NULL;
  return 0;
}

static int l_context_tostring(lua_State *L) {
  lctx *u = luaL_checkudata(L, 1, CTX_MT);
  lua_pushfstring(L, "lxmpp.tls_context (%s%s): %p",
                  u->role == LX_TLS_CLIENT ? "client" : "server",
                  u->ctx ? "" : ", freed", (void *)u);
  return 1;
}

/* ---- sessions ----------------------------------------------------------- */

void lxl_push_tls_session(lua_State *L, const lx_tls *t) {
  lx_tls_session **u = lua_newuserdatauv(L, sizeof *u, 0);
  *u = NULL;
  luaL_setmetatable(L, SESSION_MT);
  int rc = lx_tls_get_session(t, u);
  if (rc < 0)
    luaL_error(L, "not enough memory");
  if (rc == 0) {
    lua_pop(L, 1);
    lua_pushnil(L);
  }
}

const lx_tls_session *lxl_tls_session(lua_State *L, int idx, const char *key) {
  const lx_tls_session *s = NULL;
  if (lua_getfield(L, idx, key) != LUA_TNIL)
    s = *(lx_tls_session **)luaL_checkudata(L, -1, SESSION_MT);
  lua_pop(L, 1); /* the options table keeps it */
  return s;
}

static int l_session_gc(lua_State *L) {
  lx_tls_session **u = luaL_checkudata(L, 1, SESSION_MT);
  lx_tls_session_free(*u);
  *u = NULL;
  return 0;
}

/* ---- throwaway certificates --------------------------------------------- */

typedef struct pem_pair {
  char *cert, *key;
} pem_pair;

static int l_pem_pair_gc(lua_State *L) {
  pem_pair *p = lua_touserdata(L, 1);
  free(p->cert);
  lx_tls_pem_free(p->key);
  p->cert = p->key = NULL;
  return 0;
}

/* tls.selfsigned(domain [, jid]) -> certificate PEM, key PEM. The key is a
 * Lua string from then on: Lua cannot wipe it. */
static int l_selfsigned(lua_State *L) {
  lx_tls_cert_spec spec = {luaL_optstring(L, 1, NULL),
                           luaL_optstring(L, 2, NULL), LX_TLS_KEY_P256, 0};
  pem_pair *p = lua_newuserdatauv(L, sizeof *p, 0); /* frees on error */
  p->cert = p->key = NULL;
  if (luaL_newmetatable(L, "lxmpp.pem_pair")) {
    lua_pushcfunction(L, l_pem_pair_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  lx_error err = {0};
  if (lx_tls_cert_selfsigned(&spec, &p->cert, &p->key, &err))
    return luaL_error(L, "selfsigned: %s", err.detail);
  lua_pushstring(L, p->cert);
  lua_pushstring(L, p->key);
  lua_pushcfunction(L, l_pem_pair_gc);
  lua_pushvalue(L, -4);
  lua_call(L, 1, 0);
  return 2;
}

void lxl_open_tls(lua_State *L) {
  static const luaL_Reg none[] = {{NULL, NULL}};
  static const luaL_Reg ctx_meta[] = {{"__gc", l_context_gc},
                                      {"__close", l_context_gc},
                                      {"__tostring", l_context_tostring},
                                      {NULL, NULL}};
  static const luaL_Reg session_meta[] = {
      {"__gc", l_session_gc}, {"__close", l_session_gc}, {NULL, NULL}};
  lxl_class(L, CTX_MT, none, ctx_meta);
  lxl_class(L, SESSION_MT, none, session_meta);
  static const luaL_Reg fns[] = {{"tls_context", l_context},
                                 {"tls_selfsigned", l_selfsigned},
                                 {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}

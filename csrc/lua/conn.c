/* conn.c (binding): lxmpp.stream's connection class over lx_conn. Events
 * become tables, stanzas lxmpp.stanza tables (converted straight from the C
 * trees); outbound stanza tables are serialized in C and handed over as
 * XML. */
#include "conn_internal.h"
#include "lxl.h"

#include <string.h>

#define CONN_MT "lxmpp.stream"

typedef struct lconn {
  lx_conn *c; /* NULL once released */
  lx_conn_role role;
  lxl_random random; /* the option `random` (tests) */
} lconn;

static lconn *check_conn(lua_State *L) {
  lconn *u = luaL_checkudata(L, 1, CONN_MT);
  if (!u->c)
    luaL_error(L, "attempt to use a released lxmpp.stream");
  return u;
}

/* nil, message, code from the connection's sticky error. */
static int fail_sticky(lua_State *L, lx_conn *c) {
  const lx_error *e = lx_conn_error(c);
  return lxl_fail(L, e->code, e->detail);
}

/* Results of an operation: true, a misuse raised, or the failure. */
static int result(lua_State *L, lx_conn *c, int rc, const char *what) {
  if (rc == LX_ERR_INVALID || rc == LX_ERR_STATE)
    return luaL_error(L, "%s: %s", what, lx_strerror(rc));
  if (rc < 0) /* out of memory too: it failed the connection */
    return rc == LX_ERR_FULL ? lxl_fail(L, rc, "the output queue is full")
                             : fail_sticky(L, c);
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- options ------------------------------------------------------------ */

/* The option `tls`; `dflt` when absent (a component's stream has no
 * STARTTLS: "disabled" or "direct"). */
static lx_conn_tls_mode tls_mode(lua_State *L, int idx, const char *dflt) {
  static const char *const names[] = {
      [LX_CONN_TLS_REQUIRED] = "required",
      [LX_CONN_TLS_OPTIONAL] = "optional",
      [LX_CONN_TLS_DISABLED] = "disabled",
      [LX_CONN_TLS_DIRECT] = "direct",
  };
  const char *v = lxl_opt_string(L, idx, "tls", dflt);
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(v, names[i]) == 0)
      return (lx_conn_tls_mode)i;
  return (lx_conn_tls_mode)luaL_error(
      L, "option 'tls': \"required\", \"optional\", \"disabled\" or "
         "\"direct\"");
}

static size_t opt_size(lua_State *L, int idx, const char *key, size_t dflt) {
  return (size_t)lxl_opt_int(L, idx, key, (lua_Integer)dflt, 1,
                             (lua_Integer)1 << 40);
}

static void read_limits(lua_State *L, int idx, lx_conn_opts *o) {
  lxl_parser_limits(L, idx, &o->parser);
  o->max_preauth_stanza_bytes =
      opt_size(L, idx, "max_preauth_stanza_size", o->max_preauth_stanza_bytes);
  o->max_output_bytes = opt_size(L, idx, "max_output", o->max_output_bytes);
  o->max_input_bytes = opt_size(L, idx, "max_input", o->max_input_bytes);
}

static void read_component(lua_State *L, int idx, lx_conn_opts *o) {
  o->jid = lxl_opt_text(L, idx, "jid", NULL);
  if (!o->jid)
    luaL_error(L, "option 'jid': a component needs its domain");
  o->component_secret = lxl_opt_text(L, idx, "secret", NULL);
  if (!o->component_secret)
    luaL_error(L, "option 'secret': a component needs its shared secret");
  o->tls_peer_name = lxl_opt_text(L, idx, "server_name", NULL);
  o->tls_session = lxl_tls_session(L, idx, "tls_session");
}

static void read_client(lua_State *L, int idx, lx_conn_opts *o,
                        lx_scram_keys *keys) {
  lx_sasl_client_opts *s = &o->sasl_client;
  o->jid = lxl_opt_text(L, idx, "jid", NULL);
  if (!o->jid)
    luaL_error(L, "option 'jid': a client needs its JID");
  s->password = lxl_opt_text(L, idx, "password", NULL);
  s->authzid = lxl_opt_text(L, idx, "authzid", NULL);
  s->allowed = lxl_opt_list(L, idx, "mechanisms", &s->n_allowed);
  s->require_cb = lxl_opt_bool(L, idx, "require_channel_binding", 0);
  s->require_ssdp = lxl_opt_bool(L, idx, "require_ssdp", 0);
  s->min_iterations = (unsigned)lxl_opt_int(L, idx, "min_iterations",
                                            s->min_iterations, 1, 0x7fffffff);
  s->max_iterations = (unsigned)lxl_opt_int(L, idx, "max_iterations",
                                            s->max_iterations, 1, 0x7fffffff);
  if (lua_getfield(L, idx, "keys") != LUA_TNIL) {
    luaL_checktype(L, -1, LUA_TTABLE);
    lxl_read_keys(L, lua_gettop(L), (lx_sasl_hash)0, keys);
    s->keys = keys;
  }
  lua_pop(L, 1);
  o->tls_session = lxl_tls_session(L, idx, "tls_session");
  o->resume_id = lxl_opt_text(L, idx, "resume_id", NULL);
  o->resume_h =
      (uint32_t)lxl_opt_int(L, idx, "resume_h", 0, 0, (lua_Integer)UINT32_MAX);
}

static void read_domains(lua_State *L, int idx, lx_conn_opts *o) {
  o->domains = lxl_opt_list(L, idx, "domains", &o->n_domains);
  if (!o->domains)
    luaL_error(L, "option 'domains': a server needs the domains it serves");
}

static void read_server(lua_State *L, int idx, lx_conn_opts *o) {
  lx_sasl_server_opts *s = &o->sasl_server;
  read_domains(L, idx, o);
  o->max_auth_attempts = (unsigned)lxl_opt_int(L, idx, "max_auth_attempts",
                                               o->max_auth_attempts, 2, 5);
  o->max_bind_attempts = (unsigned)lxl_opt_int(L, idx, "max_bind_attempts",
                                               o->max_bind_attempts, 5, 10);
  o->offer_session = lxl_opt_bool(L, idx, "session", o->offer_session);
  o->features = lxl_opt_text(L, idx, "features", NULL);
  s->mechanisms = lxl_opt_list(L, idx, "mechanisms", &s->n_mechanisms);
  s->ssdp = lxl_opt_bool(L, idx, "ssdp", s->ssdp);
  s->cb_fallback = lxl_opt_bool(L, idx, "cb_fallback", s->cb_fallback);
  s->iterations =
      (unsigned)lxl_opt_int(L, idx, "iterations", s->iterations, 1, 0x7fffffff);
}

static const char *const role_names[] = {
    [LX_CONN_CLIENT] = "client",
    [LX_CONN_SERVER] = "server",
    [LX_CONN_COMPONENT] = "component",
    [LX_CONN_COMPONENT_SERVER] = "component_server",
};

/* core.stream_new(role, opts) -> a started connection */
static int l_new(lua_State *L) {
  const char *role_name = luaL_checkstring(L, 1);
  lx_conn_role role = 0;
  for (int r = LX_CONN_CLIENT; r <= LX_CONN_COMPONENT_SERVER; r++)
    if (strcmp(role_name, role_names[r]) == 0)
      role = (lx_conn_role)r;
  if (!role)
    return luaL_argerror(L, 1,
                         "\"client\", \"server\", \"component\" or "
                         "\"component_server\"");
  int component = role == LX_CONN_COMPONENT || role == LX_CONN_COMPONENT_SERVER;
  int server = role == LX_CONN_SERVER || role == LX_CONN_COMPONENT_SERVER;
  luaL_checktype(L, 2, LUA_TTABLE);
  lx_conn_opts o;
  lx_scram_keys keys;
  lx_conn_opts_init(&o);
  lconn *u = lua_newuserdatauv(L, sizeof *u, 1);
  int ud = lua_gettop(L);
  u->c = NULL;
  u->role = role;
  luaL_setmetatable(L, CONN_MT);
  o.random = lxl_opt_random(L, 2, ud, 1, &u->random);
  o.random_user = &u->random;
  o.tls = tls_mode(L, 2, component ? "disabled" : "required");
  o.lang = lxl_opt_text(L, 2, "lang", NULL);
  o.cb_types = lxl_opt_list(L, 2, "channel_binding_types", &o.n_cb_types);
  o.extension_ns = lxl_opt_list(L, 2, "extensions", &o.n_extension_ns);
  o.trace = lxl_opt_bool(L, 2, "trace", 0);
  read_limits(L, 2, &o);
  if (role == LX_CONN_CLIENT)
    read_client(L, 2, &o, &keys);
  else if (role == LX_CONN_SERVER)
    read_server(L, 2, &o);
  else if (role == LX_CONN_COMPONENT)
    read_component(L, 2, &o);
  else
    read_domains(L, 2, &o);
  if (o.tls != LX_CONN_TLS_DISABLED)
    o.tls_ctx = lxl_tls_context(L, 2, server ? LX_TLS_SERVER : LX_TLS_CLIENT,
                                o.tls == LX_CONN_TLS_DIRECT);
  lx_error err = {0};
  int rc = lx_conn_new(&u->c, role, &o, &err);
  if (rc == LX_ERR_NOMEM)
    return luaL_error(L, "not enough memory");
  if (rc)
    return luaL_error(L, "lxmpp.stream: %s", err.detail);
  rc = lx_conn_start(u->c);
  if (rc == LX_ERR_NOMEM)
    return luaL_error(L, "not enough memory");
  lua_pushvalue(L, ud);
  return 1; /* a failure to start shows in its state and its events */
}

/* ---- bytes -------------------------------------------------------------- */

/* conn:receive_bytes(data [, i]) -> bytes taken (all of them from i) |
 * nil, msg, code. The work happens in next_event. */
static int l_receive_bytes(lua_State *L) {
  lconn *u = check_conn(L);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  lua_Integer i = luaL_optinteger(L, 3, 1);
  luaL_argcheck(L, i >= 1 && (size_t)i <= len + 1, 3, "out of range");
  ssize_t n = lx_conn_recv(u->c, data + i - 1, len - (size_t)(i - 1));
  if (n == LX_ERR_NOMEM)
    return luaL_error(L, "not enough memory");
  if (n == LX_ERR_FULL)
    return lxl_fail(L, (int)n,
                    "the input buffer is full (max_input): "
                    "take the events first");
  if (n < 0)
    return fail_sticky(L, u->c);
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

/* conn:want_read() -> whether to read from the network now */
static int l_want_read(lua_State *L) {
  lua_pushboolean(L, lx_conn_want_read(check_conn(L)->c));
  return 1;
}

/* conn:want_write() -> whether output waits (take_output) */
static int l_want_write(lua_State *L) {
  lua_pushboolean(L, lx_conn_want_write(check_conn(L)->c));
  return 1;
}

/* conn:receive_eof() -> true | nil, msg, code */
static int l_receive_eof(lua_State *L) {
  lconn *u = check_conn(L);
  return lx_conn_recv_eof(u->c) ? fail_sticky(L, u->c)
                                : (lua_pushboolean(L, 1), 1);
}

/* conn:take_output() -> the bytes to write | nil */
static int l_take_output(lua_State *L) {
  lconn *u = check_conn(L);
  const char *p;
  size_t n = lx_conn_peek_send(u->c, &p);
  if (n == 0)
    return 0;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  do { /* copied before consumed: a memory error leaves the bytes */
    luaL_addlstring(&b, p, n);
    lx_conn_consume_send(u->c, n);
  } while ((n = lx_conn_peek_send(u->c, &p)) > 0);
  luaL_pushresult(&b);
  return 1;
}

/* conn:pending() -> bytes waiting to be taken */
static int l_pending(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)lx_conn_pending_send(check_conn(L)->c));
  return 1;
}

/* ---- events ------------------------------------------------------------- */

static void set_str(lua_State *L, const char *key, const char *value) {
  if (value) {
    lua_pushstring(L, value);
    lua_setfield(L, -2, key);
  }
}

/* The namespace of a role's stanzas (XEP-0114: jabber:component:accept). */
static const char *content_ns(lx_conn_role role) {
  return role == LX_CONN_COMPONENT || role == LX_CONN_COMPONENT_SERVER
             ? LX_NS_COMPONENT
             : LX_NS_CLIENT;
}

/* Sets field `key` of the table on top to the stanza table for e: its
 * xmlns only where it is not the stream's `ns`. */
static void set_stanza(lua_State *L, const char *key, const lx_elem *e,
                       const char *ns) {
  lxl_push_stanza(L, e, ns);
  lua_setfield(L, -2, key);
}

static void push_header(lua_State *L, const lx_elem *h) {
  static const char *const attrs[] = {"from", "to", "id", "version"};
  for (size_t i = 0; i < 4; i++)
    set_str(L, attrs[i], lx_elem_attr(h, NULL, attrs[i]));
  set_str(L, "lang", lx_elem_attr(h, LX_NS_XML, "lang"));
}

/* Sets field peer_names of the table on top: the identities in the peer
 * certificate's subjectAltName, { { type =, value = }, ... } in certificate
 * order (as many as the certificate holds: OpenSSL bounds its size). */
static void push_peer_names(lua_State *L, lx_tls *t) {
  static const char *const types[] = {[LX_TLS_NAME_DNS] = "dns",
                                      [LX_TLS_NAME_XMPP_ADDR] = "xmpp-addr",
                                      [LX_TLS_NAME_SRV] = "srv"};
  lx_tls_name_type type;
  const char *value;
  int rc;
  lua_newtable(L);
  for (size_t i = 0; (rc = lx_tls_peer_name(t, i, &type, &value)) == 1; i++) {
    lua_createtable(L, 0, 2);
    set_str(L, "type", types[type]);
    set_str(L, "value", value);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  if (rc < 0)
    luaL_error(L, "tls_info: out of memory");
  lua_setfield(L, -2, "peer_names");
}

static void push_tls_info(lua_State *L, lx_tls *t) {
  const char *alpn;
  size_t len;
  lx_error err = {0};
  lua_createtable(L, 0, 8);
  set_str(L, "version", lx_tls_version(t));
  set_str(L, "cipher", lx_tls_cipher(t));
  if (lx_tls_alpn(t, &alpn, &len) == 1) {
    lua_pushlstring(L, alpn, len);
    lua_setfield(L, -2, "alpn");
  }
  lua_pushboolean(L, lx_tls_resumed(t));
  lua_setfield(L, -2, "resumed");
  int v = lx_tls_verify_result(t, &err);
  lua_pushboolean(L, v == 0);
  lua_setfield(L, -2, "verified");
  if (v)
    set_str(L, "verify_error", err.detail);
  set_str(L, "server_name", lx_tls_server_name(t));
  push_peer_names(L, t);
}

static void push_auth_request(lua_State *L, const lx_sasl_request *rq) {
  set_str(L, "mechanism", rq->mechanism);
  set_str(L, "username", rq->username);
  set_str(L, "authzid", rq->authzid);
  set_str(L, "password", rq->password);
  set_str(L, "trace", rq->trace);
  set_str(L, "hash", lx_sasl_hash_name(rq->hash));
}

static const char *const event_names[] = {
    [LX_CONN_OPENED] = "opened",
    [LX_CONN_TLS] = "tls",
    [LX_CONN_FEATURES] = "features",
    [LX_CONN_AUTH_REQUEST] = "auth-request",
    [LX_CONN_AUTHENTICATED] = "authenticated",
    [LX_CONN_BIND_REQUEST] = "bind-request",
    [LX_CONN_READY] = "ready",
    [LX_CONN_STANZA] = "stanza",
    [LX_CONN_STREAM_ERROR] = "stream-error",
    [LX_CONN_CLOSED] = "closed",
    [LX_CONN_SENT] = "sent",
    [LX_CONN_RECEIVED] = "received",
    [LX_CONN_HANDSHAKE_REQUEST] = "handshake-request",
    [LX_CONN_RESUME_REQUEST] = "resume-request",
};

/* conn:next_event() -> an event table | nil */
static int l_next_event(lua_State *L) {
  lconn *u = check_conn(L);
  lx_conn_event ev;
  lua_settop(L, 1);
  lx_stanza **h = lxl_push_holder(L); /* frees the tree if we raise */
  if (!lx_conn_next_event(u->c, &ev))
    return 0;
  *h = ev.stanza;
  const lx_elem *root = ev.stanza ? lx_stanza_root(ev.stanza) : NULL;
  lua_createtable(L, 0, 4);
  lua_pushstring(L, event_names[ev.type]);
  lua_setfield(L, -2, "type");
  switch (ev.type) {
  case LX_CONN_OPENED: push_header(L, root); break;
  case LX_CONN_TLS:
    push_tls_info(L, lx_conn_tls(u->c));
    lua_setfield(L, -2, "tls");
    break;
  case LX_CONN_FEATURES:
    set_stanza(L, "features", root, content_ns(u->role));
    break;
  case LX_CONN_AUTH_REQUEST: push_auth_request(L, ev.auth); break;
  case LX_CONN_AUTHENTICATED:
    set_str(L, "mechanism", ev.mechanism);
    set_str(L, "channel_binding", ev.channel_binding);
    if (ev.keys) {
      lxl_push_keys(L, ev.keys);
      lua_setfield(L, -2, "keys");
    }
    set_str(L, "jid", ev.jid);
    break;
  case LX_CONN_READY: set_str(L, "jid", ev.jid); break;
  case LX_CONN_BIND_REQUEST: set_str(L, "resource", ev.jid); break;
  case LX_CONN_HANDSHAKE_REQUEST: set_str(L, "domain", ev.jid); break;
  case LX_CONN_RESUME_REQUEST: /* h checked by the core: a 32-bit count */
    set_str(L, "previd", ev.jid);
    lua_pushinteger(
        L, (lua_Integer)strtoull(lx_elem_attr(root, NULL, "h"), NULL, 10));
    lua_setfield(L, -2, "h");
    break;
  case LX_CONN_STANZA:
    set_stanza(L, "stanza", root, content_ns(u->role));
    break;
  case LX_CONN_STREAM_ERROR:
    set_str(L, "condition", lx_strerror(ev.error.condition));
    set_str(L, "text", ev.error.text);
    set_str(L, "lang", ev.error.lang);
    set_str(L, "other_host", ev.error.other_host);
    if (ev.error.app)
      set_stanza(L, "app", ev.error.app, content_ns(u->role));
    break;
  case LX_CONN_CLOSED:
    if (ev.code) {
      set_str(L, "error", lx_strerror(ev.code));
      set_str(L, "message", lx_conn_error(u->c)->detail);
    }
    break;
  case LX_CONN_SENT:
  case LX_CONN_RECEIVED:
    lua_pushlstring(L, ev.data, ev.len);
    lua_setfield(L, -2, "data");
    break;
  case LX_CONN_NEED_DATA: /* not events: next_event returned 0 */
  case LX_CONN_PAUSED: break;
  }
  lx_stanza_free(*h);
  *h = NULL;
  return 1;
}

/* for ev in conn:events() do ... end */
static int l_events(lua_State *L) {
  check_conn(L);
  lua_pushcfunction(L, l_next_event);
  lua_pushvalue(L, 1);
  return 2;
}

/* ---- sending ------------------------------------------------------------ */

/* conn:send(stanza [, keep]) -> true [, xml] | nil, msg, code: with keep,
 * also the XML sent (kept for a XEP-0198 resumption: serialized once) */
static int l_send(lua_State *L) {
  lconn *u = check_conn(L);
  size_t len;
  int keep = lua_toboolean(L, 3);
  const char *xml = lxl_serialize_stanza(L, 2, &len);
  int rc = conn_submit_serialized(u->c, xml, len);
  if (rc < 0 || !keep)
    return result(L, u->c, rc, "send");
  lua_pushboolean(L, 1);
  lua_pushlstring(L, xml, len);
  return 2;
}

/* conn:send_xml(xml) -> true | nil, msg, code: one element already
 * serialized (checked: one balanced element), e.g. a stanza kept for a
 * XEP-0198 resumption */
static int l_send_xml(lua_State *L) {
  lconn *u = check_conn(L);
  size_t len;
  const char *xml = luaL_checklstring(L, 2, &len);
  return result(L, u->c, lx_conn_submit_xml(u->c, xml, len), "send_xml");
}

/* conn:keepalive() -> whether a space was queued */
static int l_keepalive(lua_State *L) {
  lua_pushboolean(L, lx_conn_keepalive(check_conn(L)->c));
  return 1;
}

/* conn:trim() -> whether the parser was released (see lx_conn_trim) */
static int l_trim(lua_State *L) {
  lua_pushboolean(L, lx_conn_trim(check_conn(L)->c));
  return 1;
}

/* conn:close() -> true | nil, msg, code */
static int l_close(lua_State *L) {
  lconn *u = check_conn(L);
  return result(L, u->c, lx_conn_close(u->c), "close");
}

static int stream_condition(lua_State *L, const char *name) {
  for (int c = LX_ERR_BAD_FORMAT; c >= LX_ERR_UNSUPPORTED_VERSION; c--)
    if (strcmp(lx_strerror(c), name) == 0)
      return c;
  return luaL_error(L, "unknown stream error condition '%s'", name);
}

/* conn:stream_error(condition [, text]) or conn:stream_error{ condition =,
 * text =, lang =, other_host =, app = stanza } -> true | nil, msg, code */
static int l_stream_error(lua_State *L) {
  lconn *u = check_conn(L);
  lx_stream_error e = {0, NULL, NULL, NULL, NULL};
  lx_stanza **h = NULL;
  if (lua_istable(L, 2)) {
    const char *cond = lxl_opt_string(L, 2, "condition", NULL);
    if (!cond)
      return luaL_error(L, "stream_error: a condition is needed");
    e.condition = stream_condition(L, cond);
    e.text = lxl_opt_text(L, 2, "text", NULL);
    e.lang = lxl_opt_text(L, 2, "lang", NULL);
    e.other_host = lxl_opt_text(L, 2, "other_host", NULL);
    if (lua_getfield(L, 2, "app") != LUA_TNIL) {
      size_t len;
      const char *xml = lxl_serialize_stanza(L, -1, &len);
      lx_error err = {0};
      h = lxl_push_holder(L);
      if (lx_parse_document(h, xml, len, NULL, &err))
        return luaL_error(L, "stream_error: app: %s", err.detail);
      e.app = lx_stanza_root(*h);
    }
  } else {
    e.condition = stream_condition(L, luaL_checkstring(L, 2));
    e.text = luaL_optstring(L, 3, NULL);
    if (e.condition == LX_ERR_SEE_OTHER_HOST)
      e.other_host = e.text, e.text = NULL;
  }
  int rc = lx_conn_stream_error(u->c, &e);
  if (h) {
    lx_stanza_free(*h);
    *h = NULL;
  }
  if (rc == 0) { /* the connection is over, as asked */
    lua_pushboolean(L, 1);
    return 1;
  }
  return result(L, u->c, rc, "stream_error");
}

/* ---- answers (server) --------------------------------------------------- */

/* conn:answer_auth{ password = } | { salt =, iterations =, stored_key =,
 * server_key = } | (true [, identity]) | (false [, condition [, text]]) */
static int l_answer_auth(lua_State *L) {
  lconn *u = check_conn(L);
  lx_sasl_credentials c;
  memset(&c, 0, sizeof c);
  if (lua_isboolean(L, 2) && lua_toboolean(L, 2)) {
    c.verdict = LX_SASL_ACCEPT;
    c.identity = luaL_optstring(L, 3, NULL);
  } else if (lua_isboolean(L, 2)) {
    c.verdict = lxl_sasl_condition(L, luaL_optstring(L, 3, "not-authorized"));
    c.text = luaL_optstring(L, 4, NULL);
  } else {
    luaL_checktype(L, 2, LUA_TTABLE);
    c.verdict = LX_SASL_VERIFY;
    c.password = lxl_opt_text(L, 2, "password", NULL);
    lxl_read_keys(L, 2, (lx_sasl_hash)0, &c.keys);
  }
  return result(L, u->c, lx_conn_auth_answer(u->c, &c), "answer_auth");
}

/* conn:accept_bind(full_jid) -> true | nil, msg, code */
static int l_accept_bind(lua_State *L) {
  lconn *u = check_conn(L);
  const char *jid = luaL_checkstring(L, 2);
  return result(L, u->c, lx_conn_bind_accept(u->c, jid), "accept_bind");
}

/* conn:refuse_bind(condition [, text]) -> true | nil, msg, code */
static int l_refuse_bind(lua_State *L) {
  lconn *u = check_conn(L);
  const char *name = luaL_checkstring(L, 2);
  const char *text = luaL_optstring(L, 3, NULL);
  int code = lx_error_from_condition(LX_FAMILY_BIND, name);
  if (code)
    return result(L, u->c, lx_conn_bind_refuse(u->c, code, text),
                  "refuse_bind");
  return luaL_argerror(L, 2,
                       "conflict, not-allowed, resource-constraint or "
                       "bad-request");
}

/* conn:accept_resume(full_jid, h) -> true | nil, msg, code */
static int l_accept_resume(lua_State *L) {
  lconn *u = check_conn(L);
  const char *jid = luaL_checkstring(L, 2);
  lua_Integer h = luaL_checkinteger(L, 3);
  luaL_argcheck(L, h >= 0 && h <= (lua_Integer)UINT32_MAX, 3,
                "a count from 0 to 2^32-1");
  return result(L, u->c, lx_conn_resume_accept(u->c, jid, (uint32_t)h),
                "accept_resume");
}

/* conn:refuse_resume(condition [, h]) -> true | nil, msg, code */
static int l_refuse_resume(lua_State *L) {
  lconn *u = check_conn(L);
  const char *name = luaL_checkstring(L, 2);
  lua_Integer h = luaL_optinteger(L, 3, -1);
  luaL_argcheck(L, h >= -1 && h <= (lua_Integer)UINT32_MAX, 3,
                "a count from 0 to 2^32-1");
  int rc = lx_conn_resume_refuse(u->c, name, (int64_t)h);
  if (rc == LX_ERR_INVALID)
    return luaL_argerror(L, 2, "a stanza error condition (item-not-found...)");
  return result(L, u->c, rc, "refuse_resume");
}

/* conn:answer_handshake(secret | nil [, condition]) -> true | nil, msg,
 * code: a component's secret (nil: none), and a stream error for a right
 * one ("conflict": the domain is taken) */
static int l_answer_handshake(lua_State *L) {
  lconn *u = check_conn(L);
  const char *secret = luaL_optstring(L, 2, NULL);
  const char *cond = luaL_optstring(L, 3, NULL);
  int code = cond ? stream_condition(L, cond) : 0;
  return result(L, u->c, lx_conn_handshake_answer(u->c, secret, code),
                "answer_handshake");
}

/* ---- state -------------------------------------------------------------- */

static const char *state_name(lx_conn_state s) {
  static const char *const names[] = {
      [LX_CONN_STATE_NEW] = "new",
      [LX_CONN_STATE_NEGOTIATING] = "negotiating",
      [LX_CONN_STATE_READY] = "ready",
      [LX_CONN_STATE_CLOSING] = "closing",
      [LX_CONN_STATE_CLOSED] = "closed",
      [LX_CONN_STATE_FAILED] = "failed",
  };
  return names[s];
}

static int l_state(lua_State *L) {
  lua_pushstring(L, state_name(lx_conn_get_state(check_conn(L)->c)));
  return 1;
}

/* conn:error() -> message, code | nil */
static int l_error(lua_State *L) {
  const lx_error *e = lx_conn_error(check_conn(L)->c);
  if (!e->code)
    return 0;
  lua_pushstring(L, e->detail);
  lua_pushstring(L, lx_strerror(e->code));
  return 2;
}

static int l_jid(lua_State *L) {
  lua_pushstring(L, lx_conn_jid(check_conn(L)->c));
  return 1;
}

static int l_stream_id(lua_State *L) {
  lua_pushstring(L, lx_conn_stream_id(check_conn(L)->c));
  return 1;
}

/* conn:tls_info() -> { version, cipher, alpn, resumed, verified } | nil */
static int l_tls_info(lua_State *L) {
  lx_tls *t = lx_conn_tls(check_conn(L)->c);
  if (!t || !lx_tls_version(t))
    return 0;
  push_tls_info(L, t);
  return 1;
}

/* conn:tls_session() -> a session to resume (opts.tls_session) | nil */
static int l_tls_session(lua_State *L) {
  lx_tls *t = lx_conn_tls(check_conn(L)->c);
  if (!t)
    return 0;
  lxl_push_tls_session(L, t);
  return 1;
}

static int l_release(lua_State *L) {
  lconn *u = luaL_checkudata(L, 1, CONN_MT);
  lx_conn_free(u->c);
  u->c = NULL;
  return 0;
}

static int l_tostring(lua_State *L) {
  lconn *u = luaL_checkudata(L, 1, CONN_MT);
  const char *role = role_names[u->role];
  if (!u->c)
    lua_pushfstring(L, "lxmpp.stream (%s, released): %p", role, (void *)u);
  else
    lua_pushfstring(L, "lxmpp.stream (%s, %s%s%s): %p", role,
                    state_name(lx_conn_get_state(u->c)),
                    lx_conn_jid(u->c) ? ", " : "",
                    lx_conn_jid(u->c) ? lx_conn_jid(u->c) : "", (void *)u);
  return 1;
}

void lxl_open_stream(lua_State *L) {
  static const luaL_Reg methods[] = {{"receive_bytes", l_receive_bytes},
                                     {"receive_eof", l_receive_eof},
                                     {"want_read", l_want_read},
                                     {"want_write", l_want_write},
                                     {"take_output", l_take_output},
                                     {"pending", l_pending},
                                     {"next_event", l_next_event},
                                     {"events", l_events},
                                     {"send", l_send},
                                     {"send_xml", l_send_xml},
                                     {"keepalive", l_keepalive},
                                     {"trim", l_trim},
                                     {"close", l_close},
                                     {"stream_error", l_stream_error},
                                     {"answer_auth", l_answer_auth},
                                     {"accept_bind", l_accept_bind},
                                     {"refuse_bind", l_refuse_bind},
                                     {"answer_handshake", l_answer_handshake},
                                     {"accept_resume", l_accept_resume},
                                     {"refuse_resume", l_refuse_resume},
                                     {"state", l_state},
                                     {"error", l_error},
                                     {"jid", l_jid},
                                     {"stream_id", l_stream_id},
                                     {"tls_info", l_tls_info},
                                     {"tls_session", l_tls_session},
                                     {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__gc", l_release},
                                  {"__close", l_release},
                                  {"__tostring", l_tostring},
                                  {NULL, NULL}};
  lxl_class(L, CONN_MT, methods, meta);
  lua_pushcfunction(L, l_new);
  lua_setfield(L, -2, "stream_new");
}

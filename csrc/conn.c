/* conn.c: one XMPP client-to-server stream, negotiated in either role
 * (RFC 6120). Every state transition of the negotiation happens in this
 * file; the options, the event queue and the bytes live beside it
 * (conn_internal.h).
 *
 * The connection waits for one thing at a time (its phase). The parser's
 * top-level elements are dispatched through one table of rules (phase,
 * role, element) to their handlers; what no rule expects is the peer's
 * fault. The roles differ in their rules and in three hooks (role_info),
 * not in tests spread through the code. */
#include "base64.h"
#include "conn_internal.h"
#include "error.h"
#include "random.h"
#include "stanza.h"
#include "streamerror.h"
#include "streamfeatures.h"
#include "xmlout.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int is_stanza(const lx_conn *c, const lx_elem *e) {
  return ns_equal(e->ns, c->role->content_ns) &&
         (strcmp(e->name, "message") == 0 || strcmp(e->name, "presence") == 0 ||
          strcmp(e->name, "iq") == 0);
}

/* A fresh identifier: 128 random bits in hex (also fit for a localpart). */
static int new_id(lx_conn *c, char out[ID_SIZE]) {
  unsigned char r[ID_RANDOM_BYTES];
  if (random_bytes(c->random, c->random_user, r, sizeof r))
    return LX_ERR_INTERNAL;
  for (size_t i = 0; i < sizeof r; i++)
    snprintf(out + 2 * i, 3, "%02x", r[i]);
  return 0;
}

/* A plausible BCP 47 tag: alphanumeric subtags of 1 to 8 characters
 * separated by '-', the first alphabetic, shorter than LANG_SIZE. */
/* ---- failing and closing ------------------------------------------------- */

/* Ends the connection with the sticky error `code` (its detail already in
 * c->error): when the stream can carry them, queues the stream error `e`
 * (NULL: none), </stream:stream> and then close_notify. Reports
 * LX_CONN_CLOSED. Returns code. */
static int end_stream(lx_conn *c, int code, const lx_stream_error *e) {
  int can_write = conn_writable(c) && (c->header_sent || e);
  c->error.code = code;
  c->phase = PH_FAILED; /* first: a failure while writing ends here */
  c->closed_pending = 1;
  if (can_write && (c->header_sent || c->role->send_header(c) == 0)) {
    size_t mark = c->out.len;
    if (e && stream_error_write(&c->out, e))
      c->out.len = mark;
    else if (e)
      conn_sent(c, mark);
    conn_write_footer(c);
  }
  return code;
}

/* Ends the connection after a fault (see end_stream), with the stream
 * error `condition` (0: none) whose text is the detail. */
int conn_fail(lx_conn *c, int code, int condition, const char *fmt, ...) {
  if (c->phase == PH_FAILED)
    return c->error.code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->error.detail, sizeof c->error.detail, fmt, ap);
  va_end(ap);
  lx_stream_error e = {condition, c->error.detail, "en", NULL, NULL};
  return end_stream(c, code, condition ? &e : NULL);
}

int conn_fail_nomem(lx_conn *c) {
  return conn_fail(c, LX_ERR_NOMEM, 0, "out of memory");
}

/* The stream ended cleanly. */
void conn_closed(lx_conn *c) {
  c->phase = PH_CLOSED;
  c->closed_pending = 1;
}

int lx_conn_close(lx_conn *c) {
  if (c->phase == PH_FAILED)
    return c->error.code;
  if (c->phase == PH_CLOSING || c->phase == PH_CLOSED)
    return 0;
  if (conn_writable(c) && c->header_sent) {
    conn_write_footer(c);
    if (c->phase == PH_FAILED)
      return c->error.code;
    c->phase = PH_CLOSING;
  } else {
    conn_closed(c);
  }
  return 0;
}

int lx_conn_stream_error(lx_conn *c, const lx_stream_error *e) {
  if (!e || !stream_condition_valid(e->condition) ||
      (e->condition == LX_ERR_SEE_OTHER_HOST && !e->other_host))
    return LX_ERR_INVALID;
  const char *strings[] = {e->text, e->lang, e->other_host};
  for (size_t i = 0; i < 3; i++)
    if (strings[i] && xml_check_text(strings[i], strlen(strings[i]), NULL))
      return LX_ERR_INVALID;
  if (e->lang && !conn_valid_lang(e->lang))
    return LX_ERR_INVALID;
  if (c->phase == PH_NEW || c->phase == PH_CLOSING || c->phase == PH_CLOSED ||
      c->phase == PH_FAILED)
    return LX_ERR_STATE;
  snprintf(c->error.detail, sizeof c->error.detail, "we sent %s%s%s",
           lx_strerror(e->condition), e->text ? ": " : "",
           e->text ? e->text : "");
  end_stream(c, e->condition, e);
  return 0;
}

/* ---- streams ------------------------------------------------------------- */

/* A new parser for the next stream: stricter limits until authenticated. */
static int set_stops(lx_conn *c);

int conn_new_parser(lx_conn *c) {
  lx_parser_opts o = c->parser_opts;
  lx_parser_free(c->parser);
  c->parser = NULL;
  c->full_limits = c->authenticated;
  if (!c->authenticated) {
    if (o.max_stanza_bytes > c->max_preauth_stanza_bytes)
      o.max_stanza_bytes = c->max_preauth_stanza_bytes;
    if (o.max_text_bytes > c->max_preauth_stanza_bytes)
      o.max_text_bytes = c->max_preauth_stanza_bytes;
  }
  int rc = lx_parser_new(&c->parser, &o);
  if (rc == 0)
    rc = set_stops(c);
  return rc ? conn_fail(c, rc, 0, "cannot create a parser") : 0;
}

/* Both sides treat the old stream as gone (RFC 6120 §4.3.3): a new parser
 * (reset, or new limits after authentication), and the initiator opens the
 * new stream. */
static int restart(lx_conn *c) {
  c->header_sent = 0;
  c->stream_id[0] = '\0';
  c->phase = PH_HEADER;
  int rc = c->full_limits != c->authenticated ? conn_new_parser(c)
                                              : lx_parser_reset(c->parser);
  if (rc)
    return c->phase == PH_FAILED ? rc : conn_fail_nomem(c);
  return c->role->initiator ? c->role->send_header(c) : 0;
}

/* From here on the bytes in both directions are TLS: what is already
 * queued still goes out in the clear first. */
static int start_tls(lx_conn *c) {
  lx_error err;
  /* a server's TLS object is made here (see conn_configure) */
  if (!c->tls && lx_tls_new(&c->tls, c->tls_ctx, NULL, &err))
    return conn_fail(c, err.code, 0, "%s", err.detail);
  c->tls_on = 1;
  c->clear = conn_out_pending(c);
  c->phase = PH_HANDSHAKE;
  c->header_sent = 0;
  int rc = lx_parser_reset(c->parser);
  if (rc)
    return conn_fail_nomem(c);
  if (c->role->tls_role == LX_TLS_CLIENT) {
    rc = lx_tls_handshake(c->tls);
    if (rc < 0)
      return conn_fail(c, rc, 0, "%s", lx_tls_error(c->tls)->detail);
  }
  return 0;
}

int conn_tls_opened(lx_conn *c) {
  c->secure = 1;
  if (!conn_push_event(c, LX_CONN_TLS))
    return conn_fail_nomem(c);
  return restart(c);
}

/* ---- channel bindings ---------------------------------------------------- */

/* The channel bindings our TLS session has, of the types configured,
 * preferred first. */
static size_t tls_bindings(const lx_conn *c, lx_sasl_cb cb[MAX_CB],
                           unsigned char data[MAX_CB][LX_TLS_CB_MAX]) {
  size_t n = 0;
  if (!c->secure)
    return 0;
  for (size_t i = 0; i < c->n_cb_types; i++) {
    size_t len;
    if (lx_tls_channel_binding(c->tls, c->cb_types[i], data[n], LX_TLS_CB_MAX,
                               &len, NULL) == 0) {
      cb[n].type = lx_tls_cb_name(c->cb_types[i]);
      cb[n].data = data[n];
      cb[n].len = len;
      n++;
    }
  }
  return n;
}

/* ---- SASL messages ------------------------------------------------------- */

/* <name xmlns=SASL [mechanism=...]>base64</name>: data NULL writes no
 * content, an empty message "=" (RFC 6120 §6.4.2). */
static int write_sasl(lx_conn *c, const char *name, const char *mechanism,
                      const unsigned char *data, size_t len) {
  buf *b = &c->out;
  size_t mark = b->len;
  int rc = xo_start(b, name, NS_SASL) ||
           (mechanism && xo_attr(b, "mechanism", mechanism));
  if (!data)
    rc = rc || buf_put(b, "/>", 2);
  else
    rc = rc || buf_putc(b, '>') ||
         (len ? base64_encode(b, data, len) : buf_putc(b, '=')) ||
         xo_end(b, name);
  return conn_wrote(c, mark, rc);
}

/* The data of a SASL element: *data NULL when it has none, "=" the empty
 * message. Returns 0, 1 when it is not base64, or LX_ERR_NOMEM. *data is
 * malloc()ed. */
static int read_sasl(lx_stanza *s, unsigned char **data, size_t *len) {
  size_t n = 0;
  const char *text = lx_elem_text(s, s->root, &n);
  *data = NULL;
  *len = 0;
  if (!text)
    return 0;
  if (!(*data = malloc(base64_decoded_max(n) + 1)))
    return LX_ERR_NOMEM;
  if (n == 1 && text[0] == '=')
    return 0;
  if (base64_decode(text, n, *data, base64_decoded_max(n), len)) {
    free(*data);
    *data = NULL;
    return 1;
  }
  return 0;
}

/* ---- the rules ----------------------------------------------------------- */

/* A handler reads the stanza; it is freed afterwards unless the handler
 * takes it (take_stanza) into an event. */
typedef int (*handler)(lx_conn *c, lx_stanza *s);

enum { CLIENT = 1, SERVER = 2, COMPONENT = 4, COMPONENT_SERVER = 8, ALL = 15 };
#define NEGOTIATING                                                            \
  (P(PH_HEADER) | P(PH_FEATURES) | P(PH_OFFERED) | P(PH_STARTTLS) |            \
   P(PH_SASL) | P(PH_BIND) | P(PH_HANDSHAKE_REPLY) | P(PH_RESUME) |            \
   P(PH_COMPONENT_AUTH))

/* A top-level element the connection expects: in which phases, for which
 * roles, its namespace and name (NULL: any), its handler, and the phases
 * the handler may lead to (besides failing): the table is the state
 * machine of the negotiation, and dispatch holds the handlers to it. */
typedef struct rule {
  unsigned phases, roles;
  const char *ns, *name;
  handler fn;
  unsigned next;
} rule;

static int on_stream_error(lx_conn *c, lx_stanza *s);
static int client_features(lx_conn *c, lx_stanza *s);
static int client_proceed(lx_conn *c, lx_stanza *s);
static int client_starttls_failure(lx_conn *c, lx_stanza *s);
static int client_challenge(lx_conn *c, lx_stanza *s);
static int client_success(lx_conn *c, lx_stanza *s);
static int client_sasl_failure(lx_conn *c, lx_stanza *s);
static int client_bind_result(lx_conn *c, lx_stanza *s);
static int client_resumed(lx_conn *c, lx_stanza *s);
static int client_resume_failed(lx_conn *c, lx_stanza *s);
static int server_starttls(lx_conn *c, lx_stanza *s);
static int server_auth(lx_conn *c, lx_stanza *s);
static int server_response(lx_conn *c, lx_stanza *s);
static int server_abort(lx_conn *c, lx_stanza *s);
static int server_bind(lx_conn *c, lx_stanza *s);
static int server_resume(lx_conn *c, lx_stanza *s);
static int server_enable(lx_conn *c, lx_stanza *s);
static int component_handshake(lx_conn *c, lx_stanza *s);
static int component_server_handshake(lx_conn *c, lx_stanza *s);
static int on_stanza(lx_conn *c, lx_stanza *s);

/* the phases after a change of layer: TLS, or a new stream */
#define LAYER (P(PH_HANDSHAKE) | P(PH_HEADER))

/* after a SASL step: another challenge, the application's decision, the
 * restart after success, or the features again after a failure */
#define AFTER_SASL                                                             \
  (P(PH_SASL) | P(PH_CREDENTIALS) | P(PH_HEADER) | P(PH_OFFERED))

static const rule rules[] = {
    {NEGOTIATING | P(PH_READY) | P(PH_CLOSING), ALL, LX_NS_STREAMS, "error",
     on_stream_error, 0},
    {P(PH_FEATURES), CLIENT, LX_NS_STREAMS, "features", client_features,
     P(PH_STARTTLS) | P(PH_SASL) | P(PH_BIND) | P(PH_RESUME)},
    {P(PH_STARTTLS), CLIENT, NS_TLS, "proceed", client_proceed,
     P(PH_HANDSHAKE)},
    {P(PH_STARTTLS), CLIENT, NS_TLS, "failure", client_starttls_failure, 0},
    {P(PH_SASL), CLIENT, NS_SASL, "challenge", client_challenge, P(PH_SASL)},
    {P(PH_SASL), CLIENT, NS_SASL, "success", client_success, P(PH_HEADER)},
    {P(PH_SASL), CLIENT, NS_SASL, "failure", client_sasl_failure, 0},
    {P(PH_BIND), CLIENT, LX_NS_CLIENT, "iq", client_bind_result, P(PH_READY)},
    {P(PH_RESUME), CLIENT, NS_SM, "resumed", client_resumed, P(PH_READY)},
    {P(PH_RESUME), CLIENT, NS_SM, "failed", client_resume_failed, P(PH_BIND)},
    {P(PH_OFFERED), SERVER, NS_TLS, "starttls", server_starttls,
     P(PH_HANDSHAKE)},
    {P(PH_OFFERED), SERVER, NS_SASL, "auth", server_auth, AFTER_SASL},
    {P(PH_SASL), SERVER, NS_SASL, "response", server_response, AFTER_SASL},
    {P(PH_SASL), SERVER, NS_SASL, "abort", server_abort, P(PH_OFFERED)},
    {P(PH_OFFERED), SERVER, LX_NS_CLIENT, "iq", server_bind,
     P(PH_BIND_DECISION) | P(PH_OFFERED)},
    {P(PH_OFFERED), SERVER, NS_SM, "resume", server_resume,
     P(PH_RESUME_DECISION) | P(PH_OFFERED)},
    {P(PH_HANDSHAKE_REPLY), COMPONENT, LX_NS_COMPONENT, "handshake",
     component_handshake, P(PH_READY)},
    {P(PH_COMPONENT_AUTH), COMPONENT_SERVER, LX_NS_COMPONENT, "handshake",
     component_server_handshake, P(PH_SECRET)},
    {P(PH_OFFERED) | P(PH_READY), SERVER, NS_SM, "enable", server_enable,
     P(PH_OFFERED) | P(PH_READY) | P(PH_CLOSING)},
    {P(PH_READY) | P(PH_CLOSING), ALL, NULL, NULL, on_stanza,
     P(PH_READY) | P(PH_CLOSING)},
};

/* The stanza being dispatched, for a handler that keeps it: dispatch then
 * does not free it. */
static lx_stanza *take_stanza(lx_conn *c) {
  lx_stanza *s = c->dispatching;
  c->dispatching = NULL;
  return s;
}

/* Queues an event that carries the stanza being dispatched, or NULL when
 * out of memory. */
static lx_conn_event *push_with_stanza(lx_conn *c, lx_conn_event_type type) {
  lx_conn_event *ev = conn_push_event(c, type);
  if (ev)
    ev->stanza = take_stanza(c);
  return ev;
}

/* What no rule expects: a stanza too early (RFC 6120 §4.3.5 and §8), or an
 * element that has no business here (§4.9.3.24). While closing, ignored. */
static int unexpected(lx_conn *c, lx_stanza *s) {
  const lx_elem *e = s->root;
  char what[160];
  int stanza = is_stanza(c, e);
  snprintf(what, sizeof what, "<%s xmlns='%s'/>", e->name, e->ns ? e->ns : "");
  if (c->phase == PH_CLOSING)
    return 0;
  if (stanza)
    return conn_fail(c, LX_ERR_NOT_AUTHORIZED, LX_ERR_NOT_AUTHORIZED,
                     "%s before the stream is ready", what);
  return conn_fail(c, LX_ERR_UNSUPPORTED_STANZA_TYPE,
                   LX_ERR_UNSUPPORTED_STANZA_TYPE, "unexpected element %s",
                   what);
}

/* The rule for element `e` in the current phase, or NULL. */
static const rule *find_rule(const lx_conn *c, const lx_elem *e) {
  for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
    const rule *r = &rules[i];
    if ((r->phases & P(c->phase)) && (r->roles & c->role->role_bit) &&
        (!r->ns || ns_equal(e->ns, r->ns)) &&
        (!r->name || strcmp(e->name, r->name) == 0))
      return r;
  }
  return NULL;
}

/* Runs fn on `s` as the stanza being dispatched, then frees it unless fn
 * took it. */
static int run_handler(lx_conn *c, handler fn, lx_stanza *s) {
  c->dispatching = s;
  int rc = fn(c, s);
  lx_stanza_free(c->dispatching);
  c->dispatching = NULL;
  return rc;
}

int conn_dispatch(lx_conn *c, lx_stanza *s) {
  const rule *r = find_rule(c, s->root);
  if (!r)
    return run_handler(c, unexpected, s);
  int rc = run_handler(c, r->fn, s);
  if (rc >= 0 && c->phase != PH_FAILED && !(r->next & P(c->phase)))
    return conn_fail(c, LX_ERR_INTERNAL, 0, "a handler left the rules");
  return rc;
}

int conn_paused(const lx_conn *c) {
  return c->phase == PH_CREDENTIALS || c->phase == PH_BIND_DECISION ||
         c->phase == PH_RESUME_DECISION || c->phase == PH_SECRET;
}

/* Makes the parser stop right after the elements that may change the
 * layer in our role (the rules whose next phases include LAYER): what
 * follows them is TLS or a new stream, or the old stream's white space;
 * and after the component's handshake, which authenticates in the stream:
 * what follows it is parsed with the full limits. */
static int set_stops(lx_conn *c) {
  for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
    const rule *r = &rules[i];
    int stop = (r->next & LAYER) || (r->name && !strcmp(r->name, "handshake"));
    int rc;
    if (stop && (r->roles & c->role->role_bit) &&
        (rc = lx_parser_stop_after(c->parser, r->ns, r->name)) != 0)
      return rc;
  }
  return 0;
}

int conn_on_open(lx_conn *c, lx_stanza *s) {
  if (c->phase != PH_HEADER) { /* not while closing: the stream is over */
    lx_stanza_free(s);
    return 0;
  }
  return run_handler(c, c->role->on_header, s);
}

/* ---- both roles ---------------------------------------------------------- */

static int on_stream_error(lx_conn *c, lx_stanza *s) {
  lx_conn_event *ev = push_with_stanza(c, LX_CONN_STREAM_ERROR);
  if (!ev)
    return conn_fail_nomem(c);
  stream_error_parse(s, s->root, &ev->error);
  const lx_stream_error *e = &ev->error;
  return conn_fail(c, e->condition, 0, "the peer sent %s%s%s",
                   lx_strerror(e->condition), e->text ? ": " : "",
                   e->text ? e->text : "");
}

/* The peer's </stream:stream>: we answer with ours (RFC 6120 §4.4). */
int conn_on_peer_close(lx_conn *c) {
  if (c->phase != PH_CLOSING && conn_writable(c) && c->header_sent)
    conn_write_footer(c);
  if (c->phase != PH_FAILED)
    conn_closed(c);
  return 0;
}

static int is_extension(const lx_conn *c, const char *ns) {
  for (size_t i = 0; ns && i < c->n_extension_ns; i++)
    if (strcmp(c->extension_ns[i], ns) == 0)
      return 1;
  return 0;
}

/* A top-level element once bound: a stanza or an extension's element. */
static int on_stanza(lx_conn *c, lx_stanza *s) {
  if (!c->bound) /* closing during negotiation */
    return 0;
  if (!is_stanza(c, s->root) && !is_extension(c, s->root->ns))
    return unexpected(c, s);
  int rc = c->role->on_stanza(c, s);
  if (rc != 0)
    return rc < 0 ? rc : 0;
  return push_with_stanza(c, LX_CONN_STANZA) ? 0 : conn_fail_nomem(c);
}

/* The peer's stream header (its version, RFC 6120 §4.7.5: we speak 1.0,
 * and a missing version means 0.9). */
static int check_version(lx_conn *c, const lx_elem *h) {
  const char *v = lx_elem_attr(h, NULL, "version");
  unsigned long major = 0;
  char *end = NULL;
  if (v && v[0] >= '0' && v[0] <= '9')
    major = strtoul(v, &end, 10);
  if (!v || !end || *end != '.' || end[1] < '0' || end[1] > '9' || major != 1)
    return conn_fail(c, LX_ERR_UNSUPPORTED_VERSION, LX_ERR_UNSUPPORTED_VERSION,
                     "stream version %s: only 1.x is supported",
                     v ? v : "(none, that is 0.9)");
  return 0;
}

static int opened(lx_conn *c) {
  return push_with_stanza(c, LX_CONN_OPENED) ? 0 : conn_fail_nomem(c);
}

/* ---- the client ---------------------------------------------------------- */

static int client_send_header(lx_conn *c) {
  /* our address only once TLS hides it (RFC 6120 §4.7.1) */
  return conn_write_header(c, c->secure ? lx_jid_bare(c->jid) : NULL, NULL,
                           lx_jid_domain(c->jid), c->lang);
}

static int client_on_header(lx_conn *c, lx_stanza *s) {
  const char *id = lx_elem_attr(s->root, NULL, "id");
  int rc = check_version(c, s->root);
  if (rc)
    return rc;
  snprintf(c->stream_id, sizeof c->stream_id, "%s", id ? id : "");
  c->phase = PH_FEATURES;
  return opened(c);
}

static int client_auth(lx_conn *c, const features *f) {
  lx_sasl_client_opts o = c->sasl_client_opts;
  lx_sasl_cb cb[MAX_CB];
  unsigned char cb_data[MAX_CB][LX_TLS_CB_MAX];
  lx_error err = {0};
  const unsigned char *out = NULL;
  size_t len = 0;
  o.offered = f->mechs;
  o.n_offered = f->n_mechs;
  o.cb_types = f->cb ? f->cb_types : NULL;
  o.n_cb_types = f->n_cb;
  /* all our bindings: without XEP-0440 the SASL policy binds only with
   * tls-unique, yet still knows we could bind (the GS2 'y' flag, and
   * require_channel_binding) */
  o.n_cb = tls_bindings(c, cb, cb_data);
  o.cb = o.n_cb ? cb : NULL;
  o.tls = c->secure;
  if (!o.username)
    o.username = lx_jid_local(c->jid);
  if (!o.host)
    o.host = lx_jid_domain(c->jid);
  int rc = lx_sasl_client_new(&c->sasl_client, &o, &err);
  OPENSSL_cleanse(cb_data, sizeof cb_data);
  if (rc == 0)
    rc = lx_sasl_client_initial(c->sasl_client, &out, &len, &err);
  if (rc < 0)
    return conn_fail(c, rc, 0, "%s", err.detail);
  c->phase = PH_SASL;
  return write_sasl(c, "auth", lx_sasl_client_mechanism(c->sasl_client),
                    rc ? out : NULL, len);
}

static int client_bind(lx_conn *c) {
  const char *resource = lx_jid_resource(c->jid);
  buf *b = &c->out;
  if (new_id(c, c->iq_id))
    return conn_fail(c, LX_ERR_INTERNAL, 0, "no random bytes");
  size_t mark = b->len;
  int rc = xo_start(b, "iq", NULL) || xo_attr(b, "type", "set") ||
           xo_attr(b, "id", c->iq_id) || buf_putc(b, '>');
  if (resource)
    rc = rc || xo_start(b, "bind", NS_BIND) || buf_putc(b, '>') ||
         xo_element(b, "resource", NULL, resource) || xo_end(b, "bind");
  else
    rc = rc || xo_element(b, "bind", NS_BIND, NULL);
  rc = rc || xo_end(b, "iq");
  c->phase = PH_BIND;
  return conn_wrote(c, mark, rc);
}

/* XEP-0198 §5: resume the previous session instead of binding. */
static int client_resume(lx_conn *c) {
  char h[16];
  snprintf(h, sizeof h, "%lu", (unsigned long)c->resume_h);
  buf *b = &c->out;
  size_t mark = b->len;
  c->phase = PH_RESUME;
  return conn_wrote(c, mark,
                    xo_start(b, "resume", NS_SM) || xo_attr(b, "h", h) ||
                        xo_attr(b, "previd", c->resume_id) ||
                        buf_puts(b, "/>"));
}

static int client_features(lx_conn *c, lx_stanza *s) {
  features f;
  if (!push_with_stanza(c, LX_CONN_FEATURES)) /* read below, before the
                                                  application gets it */
    return conn_fail_nomem(c);
  features_parse(s, s->root, &f);
  if (!c->secure && (c->tls_mode == LX_CONN_TLS_REQUIRED ||
                     (c->tls_mode == LX_CONN_TLS_OPTIONAL && f.starttls))) {
    if (!f.starttls)
      return conn_fail(c, LX_ERR_STARTTLS_NOT_OFFERED, 0,
                       "the server does not offer STARTTLS, which is required");
    size_t mark = c->out.len;
    c->phase = PH_STARTTLS;
    return conn_wrote(c, mark, xo_element(&c->out, "starttls", NS_TLS, NULL));
  }
  if (!c->authenticated) {
    if (!c->secure && f.starttls_required)
      return conn_fail(c, LX_ERR_SASL_ENCRYPTION_REQUIRED, 0,
                       "the server requires TLS, which is disabled");
    return client_auth(c, &f);
  }
  if (!f.bind)
    return conn_fail(c, LX_ERR_BIND_NOT_OFFERED, 0,
                     "the server offers no resource binding");
  /* legacy session establishment (RFC 3921 §3) only where not optional */
  c->session_pending = f.session && !f.session_optional;
  if (c->resume_id && lx_elem_child(s->root, NS_SM, "sm"))
    return client_resume(c);
  return client_bind(c);
}

static int client_proceed(lx_conn *c, lx_stanza *s) {
  (void)s;
  return start_tls(c);
}

static int client_starttls_failure(lx_conn *c, lx_stanza *s) {
  (void)s;
  return conn_fail(c, LX_ERR_STARTTLS_REFUSED, 0,
                   "the server refused STARTTLS (<failure/>)");
}

/* The data of the server's <challenge/> or <success/> `s`; fails the
 * connection when it is not base64. */
static int client_sasl_data(lx_conn *c, lx_stanza *s, const char *what,
                            unsigned char **data, size_t *len) {
  int rc = read_sasl(s, data, len);
  if (rc == LX_ERR_NOMEM)
    return conn_fail_nomem(c);
  if (rc)
    return conn_fail(c, LX_ERR_SASL_INCORRECT_ENCODING, 0,
                     "the server's %s is not base64", what);
  return 0;
}

static int client_challenge(lx_conn *c, lx_stanza *s) {
  unsigned char *data;
  size_t len, out_len;
  const unsigned char *out;
  lx_error err = {0};
  int rc = client_sasl_data(c, s, "challenge", &data, &len);
  if (rc)
    return rc;
  rc = lx_sasl_client_step(c->sasl_client, data ? data : (unsigned char *)"",
                           len, &out, &out_len, &err);
  free(data);
  if (rc < 0)
    return conn_fail(c, rc, 0, "%s", err.detail);
  return write_sasl(c, "response", NULL, out, out_len);
}

static int client_success(lx_conn *c, lx_stanza *s) {
  unsigned char *data;
  size_t len;
  lx_error err = {0};
  int rc = client_sasl_data(c, s, "success data", &data, &len);
  if (rc)
    return rc;
  rc = lx_sasl_client_finish(c->sasl_client, data, len, &err);
  free(data);
  if (rc < 0)
    return conn_fail(c, rc, 0, "%s", err.detail);
  lx_conn_event *ev = conn_push_event(c, LX_CONN_AUTHENTICATED);
  lx_scram_keys keys;
  if (ev && lx_sasl_client_keys(c->sasl_client, &keys) == 0 &&
      !(ev->keys = conn_copy_keys(&keys)))
    ev = NULL;
  if (!ev)
    return conn_fail_nomem(c);
  ev->jid = lx_jid_local(c->jid) ? lx_jid_bare(c->jid) : NULL;
  ev->mechanism = lx_sasl_client_mechanism(c->sasl_client); /* static */
  const char *cb = lx_sasl_client_channel_binding(c->sasl_client);
  for (size_t i = 0; cb && i < c->n_cb_types; i++) /* its static name */
    if (strcmp(cb, lx_tls_cb_name(c->cb_types[i])) == 0)
      ev->channel_binding = lx_tls_cb_name(c->cb_types[i]);
  c->anonymous = strcmp(ev->mechanism, "ANONYMOUS") == 0;
  lx_sasl_client_free(c->sasl_client);
  c->sasl_client = NULL;
  conn_free_sasl_client_opts(&c->sasl_client_opts); /* the password goes */
  c->authenticated = 1;
  return restart(c);
}

static int client_sasl_failure(lx_conn *c, lx_stanza *s) {
  int code = 0;
  const char *name = "", *text = NULL;
  for (const lx_node *n = lx_elem_first_node(s->root); n; n = lx_node_next(n)) {
    const lx_elem *e = lx_node_elem(n);
    if (!e || !ns_equal(e->ns, NS_SASL))
      continue;
    if (strcmp(e->name, "text") == 0)
      text = lx_elem_text(s, e, NULL);
    else if (!code)
      code = lx_error_from_condition(LX_FAMILY_SASL, name = e->name);
  }
  return conn_fail(c, code ? code : LX_ERR_SASL_NOT_AUTHORIZED, 0,
                   "authentication failed: %s%s%s", name, text ? ": " : "",
                   text ? text : "");
}

/* The condition of a stanza error (RFC 6120 §8.3.3), or NULL. */
static const char *stanza_condition(lx_stanza *s, const char **text) {
  const lx_elem *err = lx_elem_child(s->root, LX_NS_CLIENT, "error");
  const char *cond = NULL;
  *text = NULL;
  for (const lx_elem *e = err ? lx_elem_child(err, NS_STANZAS, NULL) : NULL; e;
       e = lx_elem_next_child(e, NS_STANZAS, NULL)) {
    if (strcmp(e->name, "text") == 0)
      *text = lx_elem_text(s, e, NULL);
    else if (!cond)
      cond = e->name;
  }
  return cond;
}

static int bind_error_code(const char *cond) {
  int code = lx_error_from_condition(LX_FAMILY_BIND, cond);
  return code ? code : LX_ERR_BIND_FAILED;
}

/* 1 for a code with a condition of `family` on the wire. */
static int has_condition(int code, lx_error_family family) {
  return lx_error_condition(code) && error_family(code) == (int)family;
}

static int is_reply(const lx_conn *c, const lx_elem *iq, const char *type) {
  const char *id = lx_elem_attr(iq, NULL, "id");
  const char *t = lx_elem_attr(iq, NULL, "type");
  return id && t && strcmp(id, c->iq_id) == 0 && strcmp(t, type) == 0;
}

static int send_session(lx_conn *c) {
  buf *b = &c->out;
  if (new_id(c, c->iq_id))
    return conn_fail(c, LX_ERR_INTERNAL, 0, "no random bytes");
  size_t mark = b->len;
  return conn_wrote(c, mark,
                    xo_start(b, "iq", NULL) || xo_attr(b, "type", "set") ||
                        xo_attr(b, "id", c->iq_id) || buf_putc(b, '>') ||
                        xo_element(b, "session", NS_SESSION, NULL) ||
                        xo_end(b, "iq"));
}

static int ready(lx_conn *c, lx_jid *full) {
  free(c->features_xml); /* what only negotiation needed */
  free(c->peer_from);
  c->features_xml = c->peer_from = NULL;
  c->full = full;
  c->bound = 1;
  c->phase = PH_READY;
  lx_conn_event *ev = conn_push_event(c, LX_CONN_READY);
  if (!ev)
    return conn_fail_nomem(c);
  ev->jid = lx_jid_full(full);
  return 0;
}

/* 1 when the server bound `full` to the account that authenticated: any
 * resource of it (RFC 6120 §7.6.2.1); after ANONYMOUS, whose name is the
 * server's, any localpart of our domain. Anything else is the server
 * speaking for another account. */
static int bound_to_us(const lx_conn *c, const lx_jid *full) {
  if (c->anonymous)
    return lx_jid_local(full) &&
           strcmp(lx_jid_domain(full), lx_jid_domain(c->jid)) == 0;
  return lx_jid_bare_equal(full, c->jid);
}

static int client_bind_result(lx_conn *c, lx_stanza *s) {
  const lx_elem *iq = s->root;
  const char *text;
  if (is_reply(c, iq, "error")) {
    const char *cond = stanza_condition(s, &text);
    conn_fail(c, bind_error_code(cond), 0, "resource binding failed: %s%s%s",
              cond ? cond : "no condition", text ? ": " : "", text ? text : "");
    return c->error.code;
  }
  if (!is_reply(c, iq, "result"))
    return unexpected(c, s);
  const lx_elem *bind = lx_elem_child(iq, NS_BIND, "bind");
  const lx_elem *jid = bind ? lx_elem_child(bind, NS_BIND, "jid") : NULL;
  size_t len = 0;
  const char *value = jid ? lx_elem_text(s, jid, &len) : NULL;
  lx_jid *full = NULL;
  if (!value || lx_jid_new(&full, value, len, NULL) || !lx_jid_resource(full)) {
    lx_jid_free(full);
    return conn_fail(c, LX_ERR_BIND_FAILED, LX_ERR_UNDEFINED_CONDITION,
                     "the bind result holds no full JID");
  }
  if (!bound_to_us(c, full)) {
    conn_fail(c, LX_ERR_BIND_BAD_JID, LX_ERR_UNDEFINED_CONDITION,
              "the server bound %s, not %s %s", lx_jid_full(full),
              c->anonymous ? "an account of" : "a resource of",
              c->anonymous ? lx_jid_domain(c->jid) : lx_jid_bare(c->jid));
    lx_jid_free(full);
    return c->error.code;
  }
  int rc = ready(c, full);
  if (rc == 0 && c->session_pending)
    rc = send_session(c);
  return rc;
}

/* <resumed/>: the previous session goes on, under the JID it had (ours,
 * which the application set to it); the application reads h from the
 * element, delivered first. No legacy session: it was established. */
static int client_resumed(lx_conn *c, lx_stanza *s) {
  (void)s;
  lx_jid *full = NULL;
  const char *jid = lx_jid_full(c->jid);
  if (!lx_jid_resource(c->jid))
    return conn_fail(c, LX_ERR_INVALID, 0,
                     "resumed a session without knowing its full JID");
  if (!push_with_stanza(c, LX_CONN_STANZA) ||
      lx_jid_new(&full, jid, strlen(jid), NULL))
    return conn_fail_nomem(c);
  c->session_pending = 0;
  return ready(c, full);
}

/* <failed/>: the application learns it (and the h the server may give),
 * and a new session is bound. */
static int client_resume_failed(lx_conn *c, lx_stanza *s) {
  (void)s;
  if (!push_with_stanza(c, LX_CONN_STANZA))
    return conn_fail_nomem(c);
  return client_bind(c);
}

/* The legacy session's result is the connection's own business. */
static int client_on_stanza(lx_conn *c, lx_stanza *s) {
  const char *text;
  if (!c->session_pending || strcmp(s->root->name, "iq") != 0)
    return 0;
  if (is_reply(c, s->root, "result")) {
    c->session_pending = 0;
    return 1;
  }
  if (is_reply(c, s->root, "error")) {
    const char *cond = stanza_condition(s, &text);
    conn_fail(c, LX_ERR_SESSION_FAILED, 0, "session establishment failed: %s",
              cond ? cond : "no condition");
    return c->error.code;
  }
  return 0;
}

/* ---- the server ---------------------------------------------------------- */

static int server_send_header(lx_conn *c) {
  if (!c->stream_id[0] && new_id(c, c->stream_id))
    return conn_fail(c, LX_ERR_INTERNAL, 0, "no random bytes");
  /* an unknown host still gets a domain we serve (RFC 6120 §4.9.1.3) */
  const char *from = c->domain ? c->domain : lx_jid_domain(c->domains[0]);
  return conn_write_header(c, from, c->stream_id, c->peer_from,
                           c->stream_lang[0] ? c->stream_lang : c->lang);
}

/* The SASL server of this stream, made for its TLS state. */
static int new_sasl_server(lx_conn *c) {
  lx_sasl_server_opts o = c->sasl_server_opts;
  lx_sasl_cb cb[MAX_CB];
  unsigned char cb_data[MAX_CB][LX_TLS_CB_MAX];
  lx_error err = {0};
  lx_sasl_server_free(c->sasl_server);
  c->sasl_server = NULL;
  o.n_cb = tls_bindings(c, cb, cb_data);
  o.cb = o.n_cb ? cb : NULL;
  o.tls = c->secure;
  /* XEP-0178: EXTERNAL has an identity only from a verified certificate
   * (verification against the trust anchors of the TLS context) */
  o.client_cert =
      c->secure && c->tls && lx_tls_verify_result(c->tls, NULL) == 0;
  if (!o.host)
    o.host = c->domain;
  int rc = lx_sasl_server_new(&c->sasl_server, &o, &err);
  OPENSSL_cleanse(cb_data, sizeof cb_data);
  return rc ? conn_fail(c, rc, LX_ERR_INTERNAL_SERVER_ERROR, "%s", err.detail)
            : 0;
}

/* What to offer at this stage (RFC 6120 §4.3.2): STARTTLS alone while it is
 * required; then SASL; after authentication, bind and legacy session. */
static int send_features(lx_conn *c) {
  features f;
  memset(&f, 0, sizeof f);
  const char *extra = NULL;
  if (!c->secure && c->tls_mode == LX_CONN_TLS_REQUIRED) {
    f.starttls = f.starttls_required = 1;
  } else if (!c->authenticated) {
    f.starttls = !c->secure && c->tls_mode == LX_CONN_TLS_OPTIONAL;
    if (new_sasl_server(c))
      return c->error.code;
    f.sasl = 1;
    f.n_mechs =
        lx_sasl_server_mechanisms(c->sasl_server, f.mechs, FEATURES_MAX_MECHS);
    if (f.n_mechs > FEATURES_MAX_MECHS)
      f.n_mechs = FEATURES_MAX_MECHS;
    f.n_cb =
        lx_sasl_server_cb_types(c->sasl_server, f.cb_types, FEATURES_MAX_CB);
    if (f.n_cb > FEATURES_MAX_CB)
      f.n_cb = FEATURES_MAX_CB;
    f.cb = f.n_cb > 0;
  } else {
    f.bind = 1;
    f.session = f.session_optional = c->offer_session;
    extra = c->features_xml;
  }
  size_t mark = c->out.len;
  c->phase = PH_OFFERED;
  return conn_wrote(c, mark, features_write(&c->out, &f, extra));
}

/* Which of our domains the peer asked for (RFC 6120 §4.7.1); 0 or the
 * failure. */
static int check_to(lx_conn *c, const lx_elem *h) {
  const char *to = lx_elem_attr(h, NULL, "to");
  const char *prev = c->domain;
  lx_jid *jid = NULL;
  c->domain = NULL;
  for (size_t i = 0; to && i < c->n_domains && !c->domain; i++)
    if (strcmp(lx_jid_domain(c->domains[i]), to) == 0) /* prepared already */
      c->domain = lx_jid_domain(c->domains[i]);
  if (!c->domain && to && *to && lx_jid_new(&jid, to, strlen(to), NULL) == 0 &&
      !lx_jid_local(jid) && !lx_jid_resource(jid))
    for (size_t i = 0; i < c->n_domains && !c->domain; i++)
      if (strcmp(lx_jid_domain(c->domains[i]), lx_jid_domain(jid)) == 0)
        c->domain = lx_jid_domain(c->domains[i]);
  lx_jid_free(jid);
  if (!to || !*to)
    return conn_fail(c, LX_ERR_IMPROPER_ADDRESSING, LX_ERR_IMPROPER_ADDRESSING,
                     "the stream header has no 'to'");
  if (!c->domain)
    return conn_fail(c, LX_ERR_HOST_UNKNOWN, LX_ERR_HOST_UNKNOWN,
                     "this server does not serve '%s'", to);
  if (c->authenticated && c->domain != prev)
    return conn_fail(c, LX_ERR_POLICY_VIOLATION, LX_ERR_POLICY_VIOLATION,
                     "the domain of an authenticated stream cannot change");
  return 0;
}

/* The checks on a client's header; 0 or the failure. */
static int check_client_header(lx_conn *c, const lx_elem *h) {
  int rc = check_to(c, h);
  return rc ? rc : check_version(c, h);
}

static int server_on_header(lx_conn *c, lx_stanza *s) {
  const char *from = lx_elem_attr(s->root, NULL, "from");
  const char *lang = lx_elem_attr(s->root, LX_NS_XML, "lang");
  lx_jid *jid = NULL;
  /* the client's language if it is a tag, else ours (RFC 6120 §4.7.4) */
  snprintf(c->stream_lang, sizeof c->stream_lang, "%s",
           conn_valid_lang(lang) ? lang : c->lang);
  /* our header's 'to' is the client's 'from' (§4.7.2) */
  free(c->peer_from);
  c->peer_from = NULL;
  if (from && lx_jid_new(&jid, from, strlen(from), NULL) == 0) {
    c->peer_from = strdup(lx_jid_full(jid));
    lx_jid_free(jid);
    if (!c->peer_from)
      return conn_fail_nomem(c);
  }
  int rc = check_client_header(c, s->root);
  if (rc)
    return rc;
  if ((rc = opened(c)) != 0)
    return rc;
  if (new_id(c, c->stream_id))
    return conn_fail(c, LX_ERR_INTERNAL, 0, "no random bytes");
  if (server_send_header(c) || send_features(c))
    return c->error.code;
  return 0;
}

static int server_starttls(lx_conn *c, lx_stanza *s) {
  (void)s;
  if (c->secure || c->authenticated || c->tls_mode == LX_CONN_TLS_DISABLED)
    return conn_fail(c, LX_ERR_UNSUPPORTED_STANZA_TYPE,
                     LX_ERR_UNSUPPORTED_STANZA_TYPE,
                     "STARTTLS was not offered");
  size_t mark = c->out.len;
  if (conn_wrote(c, mark, xo_element(&c->out, "proceed", NS_TLS, NULL)))
    return c->error.code;
  return start_tls(c);
}

/* The account that authenticated: the SASL username at this domain, or
 * the EXTERNAL authzid the application accepted, or a random name
 * (ANONYMOUS). */
static int set_account(lx_conn *c) {
  const lx_sasl_request *rq = lx_sasl_server_request(c->sasl_server);
  const char *d = c->domain;
  char random_name[ID_SIZE];
  lx_jid *claim = NULL;
  const char *local = rq->username;
  if (!local && rq->authzid &&
      lx_jid_new(&claim, rq->authzid, strlen(rq->authzid), NULL) == 0 &&
      strcmp(lx_jid_domain(claim), d) == 0)
    local = lx_jid_local(claim);
  if (!local) {
    if (new_id(c, random_name)) {
      lx_jid_free(claim);
      return LX_ERR_INTERNAL;
    }
    local = random_name;
  }
  int rc = lx_jid_from_parts(&c->account, local, strlen(local), d, strlen(d),
                             NULL, 0, NULL);
  lx_jid_free(claim);
  return rc;
}

/* The client asks to act for someone else (RFC 6120 §6.3.8): only EXTERNAL
 * may, the application deciding. */
static int authzid_refused(const lx_conn *c) {
  const lx_sasl_request *rq = lx_sasl_server_request(c->sasl_server);
  lx_jid *a = NULL;
  int refused;
  if (!rq->authzid || !rq->username)
    return 0;
  refused = lx_jid_new(&a, rq->authzid, strlen(rq->authzid), NULL) != 0 ||
            lx_jid_resource(a) || !lx_jid_local(a) ||
            strcmp(lx_jid_local(a), rq->username) != 0 ||
            strcmp(lx_jid_domain(a), c->domain) != 0;
  lx_jid_free(a);
  return refused;
}

/* <failure/> with the condition and, when known, a <text/> saying why
 * (RFC 6120 §6.4.5). A -PLUS attempt with a binding type we lack checked no
 * credentials: up to one per -PLUS mechanism does not count as a failed
 * attempt, so that a client may go on to one that works. */
static int auth_failed(lx_conn *c, int condition, const char *text) {
  size_t mark = c->out.len;
  if (!has_condition(condition, LX_FAMILY_SASL)) {
    condition = LX_ERR_SASL_TEMPORARY_AUTH_FAILURE; /* ours, not the peer's */
    text = NULL;
  }
  int rc = xo_start(&c->out, "failure", NS_SASL) || buf_putc(&c->out, '>') ||
           xo_element(&c->out, lx_error_condition(condition), NULL, NULL) ||
           (text && text[0] &&
            (xo_start(&c->out, "text", NULL) ||
             xo_attr(&c->out, "xml:lang", "en") || buf_putc(&c->out, '>') ||
             xml_escape(&c->out, text, strlen(text), 0, NULL) ||
             xo_end(&c->out, "text"))) ||
           xo_end(&c->out, "failure");
  if (conn_wrote(c, mark, rc))
    return c->error.code;
  c->phase = PH_OFFERED;
  if (c->sasl_server && lx_sasl_server_cb_unsupported(c->sasl_server) &&
      c->cb_failures < MAX_CB) {
    c->cb_failures++;
    return 0;
  }
  if (++c->auth_failures >= c->max_auth_attempts)
    return conn_fail(c, LX_ERR_POLICY_VIOLATION, LX_ERR_POLICY_VIOLATION,
                     "too many failed authentication attempts");
  return 0;
}

/* Acts on what the SASL server said (RFC 6120 §6.4). */
static int sasl_result(lx_conn *c, int rc, const unsigned char *out, size_t len,
                       lx_error *err) {
  if (rc == LX_SASL_NEED_CREDENTIALS && authzid_refused(c)) {
    lx_sasl_credentials no = {LX_ERR_SASL_INVALID_AUTHZID,
                              NULL,
                              {0},
                              NULL,
                              "the authzid is not the account"};
    rc = lx_sasl_server_credentials(c->sasl_server, &no, &out, &len, err);
  }
  switch (rc) {
  case LX_SASL_CHALLENGE:
    c->phase = PH_SASL;
    return write_sasl(c, "challenge", NULL, out, len);
  case LX_SASL_NEED_CREDENTIALS: {
    lx_conn_event *ev = conn_push_event(c, LX_CONN_AUTH_REQUEST);
    if (!ev)
      return conn_fail_nomem(c);
    ev->auth = lx_sasl_server_request(c->sasl_server);
    c->phase = PH_CREDENTIALS;
    return 0;
  }
  case LX_SASL_SUCCESS: break;
  case LX_ERR_NOMEM: return conn_fail_nomem(c); /* fatal (lx_error_is_fatal) */
  default: return auth_failed(c, rc, err->detail);
  }
  if ((rc = set_account(c)) != 0)
    return rc == LX_ERR_NOMEM ? conn_fail_nomem(c)
                              : auth_failed(c, LX_ERR_SASL_NOT_AUTHORIZED,
                                            "not a valid account name");
  if (write_sasl(c, "success", NULL, out, len))
    return c->error.code;
  lx_sasl_server_free(c->sasl_server);
  c->sasl_server = NULL;
  conn_free_sasl_server_opts(&c->sasl_server_opts);
  c->authenticated = 1;
  lx_conn_event *ev = conn_push_event(c, LX_CONN_AUTHENTICATED);
  if (!ev)
    return conn_fail_nomem(c);
  ev->jid = lx_jid_bare(c->account);
  return restart(c);
}

static int server_auth(lx_conn *c, lx_stanza *s) {
  const char *mech = lx_elem_attr(s->root, NULL, "mechanism");
  lx_error err = {0};
  unsigned char *data;
  size_t len, out_len = 0;
  const unsigned char *out = NULL;
  int rc;
  if (c->authenticated || !c->sasl_server)
    return c->authenticated
               ? conn_fail(c, LX_ERR_UNSUPPORTED_STANZA_TYPE,
                           LX_ERR_UNSUPPORTED_STANZA_TYPE,
                           "already authenticated")
               : auth_failed(c, LX_ERR_SASL_ENCRYPTION_REQUIRED, "TLS first");
  rc = read_sasl(s, &data, &len);
  if (rc == LX_ERR_NOMEM)
    return conn_fail_nomem(c);
  if (rc)
    rc = error_set(&err, LX_ERR_SASL_INCORRECT_ENCODING, "bad base64");
  else if (!mech)
    rc = error_set(&err, LX_ERR_SASL_INVALID_MECHANISM, "no mechanism named");
  else
    rc = lx_sasl_server_start(c->sasl_server, mech, data, len, &out, &out_len,
                              &err);
  free_secret(data, len); /* PLAIN carries the password */
  return sasl_result(c, rc, out, out_len, &err);
}

static int server_response(lx_conn *c, lx_stanza *s) {
  lx_error err = {0};
  unsigned char *data;
  size_t len, out_len = 0;
  const unsigned char *out = NULL;
  int rc = read_sasl(s, &data, &len);
  if (rc == LX_ERR_NOMEM)
    return conn_fail_nomem(c);
  if (rc)
    rc = error_set(&err, LX_ERR_SASL_INCORRECT_ENCODING, "bad base64");
  else
    rc = lx_sasl_server_step(c->sasl_server,
                             data ? data : (const unsigned char *)"", len, &out,
                             &out_len, &err);
  free_secret(data, len);
  return sasl_result(c, rc, out, out_len, &err);
}

static int server_abort(lx_conn *c, lx_stanza *s) {
  (void)s;
  return auth_failed(c, LX_ERR_SASL_ABORTED, NULL);
}

int lx_conn_auth_answer(lx_conn *c, const lx_sasl_credentials *cred) {
  const unsigned char *out = NULL;
  size_t len = 0;
  if (c->phase != PH_CREDENTIALS)
    return c->phase == PH_FAILED ? c->error.code : LX_ERR_STATE;
  if (!cred)
    return LX_ERR_INVALID;
  lx_sasl_credentials answer = *cred;
  if (!answer.keys.hash) /* keys for the hash asked for */
    answer.keys.hash = lx_sasl_server_request(c->sasl_server)->hash;
  lx_error err = {0};
  int rc =
      lx_sasl_server_credentials(c->sasl_server, &answer, &out, &len, &err);
  if (rc == LX_ERR_INVALID || rc == LX_ERR_STATE)
    return rc;
  rc = sasl_result(c, rc, out, len, &err);
  return c->phase == PH_FAILED ? c->error.code : rc;
}

/* A refused binding or resumption: the client may try again, a few
 * times. */
static int binding_failed(lx_conn *c) {
  c->phase = PH_OFFERED;
  if (++c->bind_failures >= c->max_bind_attempts)
    return conn_fail(c, LX_ERR_POLICY_VIOLATION, LX_ERR_POLICY_VIOLATION,
                     "too many failed resumption or resource binding "
                     "attempts");
  return 0;
}

/* <iq type='error'> for the bind request: the condition and its type
 * (RFC 6120 §7.6.2, §8.3.2). */
static int bind_error(lx_conn *c, int code, const char *text) {
  const char *type = code == LX_ERR_BIND_RESOURCE_CONSTRAINT ? "wait"
                     : code == LX_ERR_BIND_BAD_REQUEST       ? "modify"
                                                             : "cancel";
  buf *b = &c->out;
  size_t mark = b->len;
  int rc = xo_start(b, "iq", NULL) || xo_attr(b, "type", "error") ||
           xo_attr(b, "id", c->iq_id) || buf_putc(b, '>') ||
           xo_start(b, "error", NULL) || xo_attr(b, "type", type) ||
           buf_putc(b, '>') ||
           xo_element(b, lx_error_condition(code), NS_STANZAS, NULL) ||
           (text && xo_element(b, "text", NS_STANZAS, text)) ||
           xo_end(b, "error") || xo_end(b, "iq");
  if (conn_wrote(c, mark, rc))
    return c->error.code;
  free(c->bind_resource);
  c->bind_resource = NULL;
  return binding_failed(c);
}

/* Waits for the application's `decision` on the request `ev` (NULL: out
 * of memory) about `jid`. */
static int ask_application(lx_conn *c, lx_conn_event *ev, const char *jid,
                           enum phase decision) {
  if (!ev)
    return conn_fail_nomem(c);
  ev->jid = jid;
  c->phase = decision;
  return 0;
}

static int server_bind(lx_conn *c, lx_stanza *s) {
  const lx_elem *iq = s->root;
  const lx_elem *bind = lx_elem_child(iq, NS_BIND, "bind");
  const char *type = lx_elem_attr(iq, NULL, "type");
  const char *id = lx_elem_attr(iq, NULL, "id");
  if (!c->authenticated || !bind)
    return unexpected(c, s);
  snprintf(c->iq_id, sizeof c->iq_id, "%s", id ? id : "");
  if (!id || strlen(id) >= ID_SIZE || !type || strcmp(type, "set") != 0)
    return bind_error(c, LX_ERR_BIND_BAD_REQUEST,
                      "a bind request is an iq "
                      "of type set with an id");
  const lx_elem *res = lx_elem_child(bind, NS_BIND, "resource");
  size_t len = 0;
  const char *value = res ? lx_elem_text(s, res, &len) : NULL;
  lx_jid *asked = NULL;
  if (value && lx_jid_from_parts(&asked, lx_jid_local(c->account),
                                 strlen(lx_jid_local(c->account)), c->domain,
                                 strlen(c->domain), value, len, NULL) != 0)
    return bind_error(c, LX_ERR_BIND_BAD_REQUEST, "not a valid resource");
  if (asked && !(c->bind_resource = strdup(lx_jid_resource(asked)))) {
    lx_jid_free(asked);
    return conn_fail_nomem(c);
  }
  lx_jid_free(asked);
  return ask_application(c, conn_push_event(c, LX_CONN_BIND_REQUEST),
                         c->bind_resource, PH_BIND_DECISION);
}

/* The full JID of a session of the authenticated account (RFC 6120
 * §7.6.2.1), or NULL (*rc: LX_ERR_INVALID, or the state's error when no
 * `decision` is pending). */
static lx_jid *session_jid(lx_conn *c, enum phase decision,
                           const char *full_jid, int *rc) {
  lx_jid *full = NULL;
  if (c->phase != decision) {
    *rc = c->phase == PH_FAILED ? c->error.code : LX_ERR_STATE;
    return NULL;
  }
  if (!full_jid || lx_jid_new(&full, full_jid, strlen(full_jid), NULL) ||
      !lx_jid_resource(full) || !lx_jid_bare_equal(full, c->account)) {
    lx_jid_free(full);
    *rc = LX_ERR_INVALID;
    return NULL;
  }
  return full;
}

int lx_conn_bind_accept(lx_conn *c, const char *full_jid) {
  int rc;
  lx_jid *full = session_jid(c, PH_BIND_DECISION, full_jid, &rc);
  if (!full)
    return rc;
  buf *b = &c->out;
  size_t mark = b->len;
  rc = xo_start(b, "iq", NULL) || xo_attr(b, "type", "result") ||
       xo_attr(b, "id", c->iq_id) || buf_putc(b, '>') ||
       xo_start(b, "bind", NS_BIND) || buf_putc(b, '>') ||
       xo_element(b, "jid", NULL, lx_jid_full(full)) || xo_end(b, "bind") ||
       xo_end(b, "iq");
  if (conn_wrote(c, mark, rc)) {
    lx_jid_free(full);
    return c->error.code;
  }
  free(c->bind_resource);
  c->bind_resource = NULL;
  return ready(c, full);
}

int lx_conn_bind_refuse(lx_conn *c, int condition, const char *text) {
  if (c->phase != PH_BIND_DECISION)
    return c->phase == PH_FAILED ? c->error.code : LX_ERR_STATE;
  if (!has_condition(condition, LX_FAMILY_BIND) ||
      (text && xml_check_text(text, strlen(text), NULL)))
    return LX_ERR_INVALID;
  int rc = bind_error(c, condition, text);
  return c->phase == PH_FAILED ? c->error.code : rc;
}

/* ---- XEP-0198 resumption, in place of binding ---------------------------- */

/* A stanza error condition that is an empty element (RFC 6120 §8.3.3). */
static int stanza_condition_valid(const char *name) {
  static const char *const names[] = {"bad-request",
                                      "conflict",
                                      "feature-not-implemented",
                                      "forbidden",
                                      "internal-server-error",
                                      "item-not-found",
                                      "jid-malformed",
                                      "not-acceptable",
                                      "not-allowed",
                                      "not-authorized",
                                      "policy-violation",
                                      "recipient-unavailable",
                                      "registration-required",
                                      "remote-server-not-found",
                                      "remote-server-timeout",
                                      "resource-constraint",
                                      "service-unavailable",
                                      "subscription-required",
                                      "undefined-condition",
                                      "unexpected-request"};
  for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
    if (strcmp(names[i], name) == 0)
      return 1;
  return 0;
}

/* A count of XEP-0198: decimal, below 2^32. */
static int valid_count(const char *h) {
  size_t n = h ? strspn(h, "0123456789") : 0;
  return n > 0 && n <= 10 && h[n] == '\0' &&
         strtoull(h, NULL, 10) <= UINT32_MAX;
}

/* XEP-0198's <failed/> with a stanza error condition, h when >= 0. */
static int sm_failed(lx_conn *c, const char *condition, int64_t h) {
  char count[16];
  buf *b = &c->out;
  size_t mark = b->len;
  snprintf(count, sizeof count, "%lld", (long long)h);
  int rc = xo_start(b, "failed", NS_SM) || (h >= 0 && xo_attr(b, "h", count)) ||
           buf_putc(b, '>') || xo_element(b, condition, NS_STANZAS, NULL) ||
           xo_end(b, "failed");
  return conn_wrote(c, mark, rc) ? c->error.code : 0;
}

/* <failed/> for a <resume/> (XEP-0198 §5), h when >= 0. */
static int resume_failed(lx_conn *c, const char *condition, int64_t h) {
  int rc = sm_failed(c, condition, h);
  return rc ? rc : binding_failed(c);
}

/* XEP-0198 §3: <enable/> once bound goes to an application that speaks
 * XEP-0198; before binding, or where stream management is off, it is
 * refused with <failed/>, not a stream error. Before authentication it is
 * as unexpected as anything else. */
static int server_enable(lx_conn *c, lx_stanza *s) {
  if (!c->authenticated)
    return unexpected(c, s);
  if (c->bound && is_extension(c, NS_SM))
    return on_stanza(c, s);
  return sm_failed(c, "unexpected-request", -1);
}

/* Only for an application that speaks XEP-0198 (its extension_ns), once
 * authenticated; the application decides. */
static int server_resume(lx_conn *c, lx_stanza *s) {
  const char *previd = lx_elem_attr(s->root, NULL, "previd");
  if (!c->authenticated || !is_extension(c, NS_SM))
    return unexpected(c, s);
  if (!previd || !*previd || strlen(previd) >= ID_SIZE ||
      !valid_count(lx_elem_attr(s->root, NULL, "h")))
    return resume_failed(c, "bad-request", -1);
  free(c->resume_id);
  if (!(c->resume_id = strdup(previd)))
    return conn_fail_nomem(c);
  return ask_application(c, push_with_stanza(c, LX_CONN_RESUME_REQUEST),
                         c->resume_id, PH_RESUME_DECISION);
}

int lx_conn_resume_accept(lx_conn *c, const char *full_jid, uint32_t h) {
  int rc;
  char count[16];
  lx_jid *full = session_jid(c, PH_RESUME_DECISION, full_jid, &rc);
  if (!full)
    return rc;
  buf *b = &c->out;
  size_t mark = b->len;
  snprintf(count, sizeof count, "%lu", (unsigned long)h);
  rc = xo_start(b, "resumed", NS_SM) || xo_attr(b, "h", count) ||
       xo_attr(b, "previd", c->resume_id) || buf_puts(b, "/>");
  if (conn_wrote(c, mark, rc)) {
    lx_jid_free(full);
    return c->error.code;
  }
  return ready(c, full);
}

int lx_conn_resume_refuse(lx_conn *c, const char *condition, int64_t h) {
  if (c->phase != PH_RESUME_DECISION)
    return c->phase == PH_FAILED ? c->error.code : LX_ERR_STATE;
  if (!stanza_condition_valid(condition) || h > (int64_t)UINT32_MAX)
    return LX_ERR_INVALID;
  int rc = resume_failed(c, condition, h);
  return c->phase == PH_FAILED ? c->error.code : rc;
}

/* RFC 6120 §8.1.2.1: the server stamps the sender's address; RFC 6121
 * §3.1.2: the bare JID on subscription presence. The legacy session
 * (RFC 3921 §3) is a no-op answered here. */
static int server_on_stanza(lx_conn *c, lx_stanza *s) {
  lx_elem *e = s->root;
  if (!is_stanza(c, e))
    return 0;
  const char *type = lx_elem_attr(e, NULL, "type");
  if (strcmp(e->name, "iq") == 0 && type && strcmp(type, "set") == 0 &&
      lx_elem_child(e, NS_SESSION, "session")) {
    const char *id = lx_elem_attr(e, NULL, "id");
    buf *b = &c->out;
    size_t mark = b->len;
    int rc = xo_start(b, "iq", NULL) || xo_attr(b, "type", "result") ||
             (id && xo_attr(b, "id", id)) || buf_put(b, "/>", 2);
    rc = conn_wrote(c, mark, rc);
    return rc < 0 ? rc : 1;
  }
  int subscription =
      strcmp(e->name, "presence") == 0 && type &&
      (strcmp(type, "subscribe") == 0 || strcmp(type, "subscribed") == 0 ||
       strcmp(type, "unsubscribe") == 0 || strcmp(type, "unsubscribed") == 0);
  const char *from = subscription ? lx_jid_bare(c->full) : lx_jid_full(c->full);
  if (lx_elem_set_attr(s, e, NULL, "from", from, NULL))
    return conn_fail_nomem(c);
  return 0;
}

/* ---- the component (XEP-0114) ------------------------------------------- */

static int component_send_header(lx_conn *c) {
  return conn_write_header(c, NULL, NULL, lx_jid_domain(c->jid), c->lang);
}

#define HANDSHAKE_HEX 40 /* a SHA-1 in hex */

/* The handshake of XEP-0114 §3: the hex SHA-1 (lower case) of the stream
 * id followed by the secret. 0, or LX_ERR_INTERNAL. */
static int handshake_digest(const lx_conn *c, const char *secret,
                            char hex[HANDSHAKE_HEX + 1]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
           EVP_DigestUpdate(ctx, c->stream_id, strlen(c->stream_id)) == 1 &&
           EVP_DigestUpdate(ctx, secret, strlen(secret)) == 1 &&
           EVP_DigestFinal_ex(ctx, md, &n) == 1 && 2 * n == HANDSHAKE_HEX;
  EVP_MD_CTX_free(ctx);
  for (unsigned int i = 0; ok && i < n; i++)
    snprintf(hex + 2 * i, 3, "%02x", md[i]);
  OPENSSL_cleanse(md, sizeof md);
  return ok ? 0 : LX_ERR_INTERNAL;
}

/* Authenticated without a restart: the parser, stopped right after the
 * handshake (set_stops), takes the full limits for what follows. */
static int authenticated_in_stream(lx_conn *c) {
  c->authenticated = c->full_limits = 1;
  if (lx_parser_set_limits(c->parser, &c->parser_opts))
    return conn_fail(c, LX_ERR_INTERNAL, 0, "cannot raise the limits");
  return 0;
}

/* Ready as `domain`. */
static int ready_as_domain(lx_conn *c, const char *domain) {
  lx_jid *full = NULL;
  lx_error err = {0};
  int rc = authenticated_in_stream(c);
  if (rc == 0 && (rc = lx_jid_new(&full, domain, strlen(domain), &err)) != 0)
    return rc == LX_ERR_NOMEM
               ? conn_fail_nomem(c)
               : conn_fail(c, LX_ERR_INTERNAL, 0, "%s", err.detail);
  return rc ? rc : ready(c, full);
}

/* The server's header gives the stream id; we answer with the handshake. */
static int component_on_header(lx_conn *c, lx_stanza *s) {
  const char *id = lx_elem_attr(s->root, NULL, "id");
  char hex[HANDSHAKE_HEX + 1];
  if (!id || !*id || strlen(id) >= sizeof c->stream_id)
    return conn_fail(c, LX_ERR_BAD_FORMAT, LX_ERR_BAD_FORMAT,
                     "a component stream header needs an id");
  snprintf(c->stream_id, sizeof c->stream_id, "%s", id);
  if (handshake_digest(c, c->component_secret, hex))
    return conn_fail(c, LX_ERR_INTERNAL, 0, "SHA-1 failed");
  int rc = opened(c);
  if (rc)
    return rc;
  size_t mark = c->out.len;
  c->phase = PH_HANDSHAKE_REPLY;
  return conn_wrote(c, mark, xo_element(&c->out, "handshake", NULL, hex));
}

/* The server's <handshake/>: the secret was right; we are the domain. */
static int component_handshake(lx_conn *c, lx_stanza *s) {
  (void)s;
  return ready_as_domain(c, lx_jid_domain(c->jid));
}

static int component_on_stanza(lx_conn *c, lx_stanza *s) {
  (void)c;
  (void)s;
  return 0;
}

/* ---- the server's side of a component (XEP-0114) --------------------------
 */

/* The component's header: one of the component domains we accept (no
 * version: XEP-0114 streams have none); we answer with our header, whose
 * id the handshake hashes. */
static int component_server_on_header(lx_conn *c, lx_stanza *s) {
  int rc = check_to(c, s->root);
  if (rc || (rc = opened(c)) != 0)
    return rc;
  if (new_id(c, c->stream_id))
    return conn_fail(c, LX_ERR_INTERNAL, 0, "no random bytes");
  c->phase = PH_COMPONENT_AUTH;
  return server_send_header(c);
}

/* <handshake>hex SHA-1</handshake>: the application gives the secret. */
static int component_server_handshake(lx_conn *c, lx_stanza *s) {
  size_t n = 0;
  const char *text = lx_elem_text(s, s->root, &n);
  int hex = text && n == HANDSHAKE_HEX;
  for (size_t i = 0; hex && i < n; i++)
    hex = strchr("0123456789abcdefABCDEF", text[i]) != NULL;
  if (!hex)
    return conn_fail(c, LX_ERR_NOT_AUTHORIZED, LX_ERR_NOT_AUTHORIZED,
                     "the handshake is not a hex SHA-1");
  for (size_t i = 0; i < n; i++) /* peers may write upper case */
    c->component_digest[i] = (char)(text[i] | 0x20);
  c->component_digest[n] = '\0';
  lx_conn_event *ev = conn_push_event(c, LX_CONN_HANDSHAKE_REQUEST);
  if (!ev)
    return conn_fail_nomem(c);
  ev->jid = c->domain;
  c->phase = PH_SECRET;
  return 0;
}

int lx_conn_handshake_answer(lx_conn *c, const char *secret, int condition) {
  char hex[HANDSHAKE_HEX + 1];
  int right = 0;
  if (c->phase != PH_SECRET)
    return c->phase == PH_FAILED ? c->error.code : LX_ERR_STATE;
  if (condition && !stream_condition_valid(condition))
    return LX_ERR_INVALID;
  if (secret && handshake_digest(c, secret, hex) == 0)
    right = CRYPTO_memcmp(hex, c->component_digest, HANDSHAKE_HEX) == 0;
  OPENSSL_cleanse(hex, sizeof hex);
  OPENSSL_cleanse(c->component_digest, sizeof c->component_digest);
  if (!right)
    return conn_fail(c, LX_ERR_NOT_AUTHORIZED, LX_ERR_NOT_AUTHORIZED,
                     "wrong handshake for %s", c->domain);
  if (condition)
    return conn_fail(c, condition, condition, "%s is refused: %s", c->domain,
                     lx_strerror(condition));
  size_t mark = c->out.len;
  if (conn_wrote(c, mark, xo_element(&c->out, "handshake", NULL, NULL)))
    return c->error.code;
  int rc = ready_as_domain(c, c->domain);
  return c->phase == PH_FAILED ? c->error.code : rc;
}

/* A component sends from its domain (XEP-0114 §3): a stanza without from
 * gets the domain (as Prosody does), one from another domain ends the
 * stream with invalid-from (RFC 6120 §4.9.3.9, as Prosody does); from is
 * handed on prepared. */
static int component_server_on_stanza(lx_conn *c, lx_stanza *s) {
  lx_elem *e = s->root;
  const char *domain = lx_jid_domain(c->full);
  const char *from = lx_elem_attr(e, NULL, "from");
  lx_jid *j = NULL;
  if (!is_stanza(c, e))
    return 0;
  int rc = from ? lx_jid_new(&j, from, strlen(from), NULL) : 0;
  if (rc == LX_ERR_NOMEM)
    return conn_fail_nomem(c);
  if (rc || (j && strcmp(lx_jid_domain(j), domain) != 0)) {
    lx_jid_free(j);
    return conn_fail(c, LX_ERR_INVALID_FROM, LX_ERR_INVALID_FROM,
                     "a stanza from '%s', which is not an address of %s", from,
                     domain);
  }
  rc = lx_elem_set_attr(s, e, NULL, "from", j ? lx_jid_full(j) : domain, NULL);
  lx_jid_free(j);
  return rc ? conn_fail_nomem(c) : 0;
}

static const role_info client_role = {LX_TLS_CLIENT,
                                      CLIENT,
                                      1,
                                      client_send_header,
                                      client_on_header,
                                      client_on_stanza,
                                      LX_NS_CLIENT,
                                      "1.0",
                                      conn_configure_client};
static const role_info server_role = {LX_TLS_SERVER,
                                      SERVER,
                                      0,
                                      server_send_header,
                                      server_on_header,
                                      server_on_stanza,
                                      LX_NS_CLIENT,
                                      "1.0",
                                      conn_configure_server};
static const role_info component_role = {LX_TLS_CLIENT,
                                         COMPONENT,
                                         1,
                                         component_send_header,
                                         component_on_header,
                                         component_on_stanza,
                                         LX_NS_COMPONENT,
                                         NULL,
                                         conn_configure_component};
static const role_info component_server_role = {
    LX_TLS_SERVER,
    COMPONENT_SERVER,
    0,
    server_send_header,
    component_server_on_header,
    component_server_on_stanza,
    LX_NS_COMPONENT,
    NULL,
    conn_configure_component_server};

/* ---- life cycle ---------------------------------------------------------- */

int lx_conn_new(lx_conn **out, lx_conn_role role, const lx_conn_opts *opts,
                lx_error *err) {
  lx_conn_opts dflt;
  static const role_info *const roles[] = {
      [LX_CONN_CLIENT] = &client_role,
      [LX_CONN_SERVER] = &server_role,
      [LX_CONN_COMPONENT] = &component_role,
      [LX_CONN_COMPONENT_SERVER] = &component_server_role};
  if (!out || role < LX_CONN_CLIENT || role > LX_CONN_COMPONENT_SERVER)
    return error_set(err, LX_ERR_INVALID, "unknown role");
  if (!opts) {
    lx_conn_opts_init(&dflt);
    opts = &dflt;
  }
  lx_conn *c = calloc(1, sizeof *c);
  if (!c)
    return error_set(err, LX_ERR_NOMEM, "out of memory");
  c->role = roles[role];
  c->phase = PH_NEW;
  int rc = conn_configure(c, opts, err);
  if (rc) {
    lx_conn_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

void lx_conn_free(lx_conn *c) {
  if (!c)
    return;
  conn_free_events(c);
  lx_parser_free(c->parser);
  lx_tls_free(c->tls);
  lx_tls_ctx_free(c->tls_ctx);
  buf_free(&c->out);
  buf_free(&c->ends);
  buf_wipe(&c->in); /* they may hold a PLAIN password */
  buf_wipe(&c->held);
  conn_free_opts(c);
  lx_jid_free(c->account);
  lx_jid_free(c->full);
  lx_sasl_client_free(c->sasl_client);
  free(c->peer_from);
  lx_sasl_server_free(c->sasl_server);
  free(c->bind_resource);
  free(c);
}

int lx_conn_start(lx_conn *c) {
  if (c->phase == PH_FAILED)
    return c->error.code;
  if (c->phase != PH_NEW)
    return LX_ERR_STATE;
  if (c->tls_mode == LX_CONN_TLS_DIRECT)
    return start_tls(c) < 0 ? c->error.code : 0;
  c->phase = PH_HEADER;
  return c->role->initiator ? c->role->send_header(c) : 0;
}

lx_conn_state lx_conn_get_state(const lx_conn *c) {
  switch (c->phase) {
  case PH_NEW: return LX_CONN_STATE_NEW;
  case PH_READY: return LX_CONN_STATE_READY;
  case PH_CLOSING: return LX_CONN_STATE_CLOSING;
  case PH_CLOSED: return LX_CONN_STATE_CLOSED;
  case PH_FAILED: return LX_CONN_STATE_FAILED;
  default: return LX_CONN_STATE_NEGOTIATING;
  }
}

const lx_error *lx_conn_error(const lx_conn *c) { return &c->error; }

lx_tls *lx_conn_tls(lx_conn *c) { return c->tls_on ? c->tls : NULL; }

const char *lx_conn_jid(const lx_conn *c) {
  return c->full ? lx_jid_full(c->full) : NULL;
}

const char *lx_conn_stream_id(const lx_conn *c) {
  return c->stream_id[0] ? c->stream_id : NULL;
}

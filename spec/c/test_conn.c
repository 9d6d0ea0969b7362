/* test_conn.c: the sans-I/O connection. Our client and our server wired
 * back to back in memory (bytes moved in pieces of a chosen size), and
 * each role against scripted peers that send exact bytes. */
#include "base64.h"
#include "check.h"
#include "tls.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- certificates, made once ------------------------------------------- */

static lx_tls_ca *ca;
static char *im_cert, *im_key, *other_cert, *other_key;

static void make_certs(void) {
  lx_tls_cert_spec im = {"im.example.com", NULL, LX_TLS_KEY_P256, 0};
  lx_tls_cert_spec other = {"other.example", NULL, LX_TLS_KEY_P256, 0};
  lx_error err;
  if (lx_tls_ca_new(&ca, "lxmpp test CA", &err) ||
      lx_tls_ca_issue(ca, &im, &im_cert, &im_key, &err) ||
      lx_tls_ca_issue(ca, &other, &other_cert, &other_key, &err)) {
    fprintf(stderr, "cannot make certificates: %s\n", err.detail);
    exit(1);
  }
}

static lx_tls_ctx *server_ctx(int max_version, const char *cert,
                              const char *key, const char *alpn) {
  lx_tls_opts o;
  lx_tls_ctx *c = NULL;
  lx_error err;
  lx_tls_opts_init(&o);
  o.max_version = max_version;
  CHECK_INT(lx_tls_ctx_new(&c, LX_TLS_SERVER, &o, &err), 0);
  CHECK_INT(lx_tls_ctx_add_cert(c, cert, strlen(cert), key, strlen(key), &err),
            0);
  if (alpn)
    CHECK_INT(lx_tls_ctx_set_alpn(c, &alpn, 1, &err), 0);
  return c;
}

static lx_tls_ctx *client_ctx(int max_version, const char *alpn) {
  lx_tls_opts o;
  lx_tls_ctx *c = NULL;
  lx_error err;
  lx_tls_opts_init(&o);
  o.max_version = max_version;
  CHECK_INT(lx_tls_ctx_new(&c, LX_TLS_CLIENT, &o, &err), 0);
  CHECK_INT(lx_tls_ctx_add_ca(c, lx_tls_ca_cert(ca), strlen(lx_tls_ca_cert(ca)),
                              &err),
            0);
  if (alpn)
    CHECK_INT(lx_tls_ctx_set_alpn(c, &alpn, 1, &err), 0);
  return c;
}

/* ---- a growable string --------------------------------------------------- */

typedef struct text {
  char *s;
  size_t len, cap;
} text;

static void put(text *t, const char *s, size_t n) {
  if (t->len + n + 1 > t->cap) {
    t->cap = (t->len + n + 1) * 2;
    t->s = realloc(t->s, t->cap);
  }
  memcpy(t->s + t->len, s, n);
  t->len += n;
  t->s[t->len] = '\0';
}

static void putf(text *t, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  put(t, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void text_free(text *t) {
  free(t->s);
  memset(t, 0, sizeof *t);
}

static const char *str(const text *t) { return t->s ? t->s : ""; }

/* ---- one side ------------------------------------------------------------ */

typedef struct side side;

/* What a server does with requests (tests change it). */
typedef struct policy {
  const char *password;     /* juliet's */
  const char *bind_refusal; /* a resource refused with conflict */
  int bind_as;              /* accept with a resource of our own */
  int hold;                 /* answer nothing: the test does */
} policy;

struct side {
  const char *name; /* "C" or "S" */
  lx_conn *c;
  text events;     /* "opened tls ... " */
  text sent, got;  /* trace: plaintext XML */
  text stanzas;    /* the stanzas received, serialized */
  text wire;       /* bytes moved toward this side, not yet taken */
  int recv_rc;     /* the last negative lx_conn_recv result */
  int closed_code; /* LX_CONN_CLOSED's code, or 1 before it */
  char ready_jid[128];
  char mechanism[32];
  lx_stream_error got_error; /* the last STREAM_ERROR (strings below) */
  char error_text[128], other_host[64], app[64];
  policy pol;
};

static void side_init(side *s, const char *name, lx_conn *c) {
  memset(s, 0, sizeof *s);
  s->name = name;
  s->c = c;
  s->closed_code = 1;
  s->pol.password = "r0m30myr0m30";
}

static void side_free(side *s) {
  lx_conn_free(s->c);
  text_free(&s->events);
  text_free(&s->sent);
  text_free(&s->got);
  text_free(&s->stanzas);
  text_free(&s->wire);
}

static const char *event_name(lx_conn_event_type t) {
  static const char *names[] = {"?",
                                "opened",
                                "tls",
                                "features",
                                "auth-request",
                                "authenticated",
                                "bind-request",
                                "ready",
                                "stanza",
                                "stream-error",
                                "closed",
                                "sent",
                                "received"};
  return names[t];
}

static void answer(side *s, const lx_conn_event *ev) {
  if (s->pol.hold)
    return;
  if (ev->type == LX_CONN_AUTH_REQUEST) {
    lx_sasl_credentials cred;
    memset(&cred, 0, sizeof cred);
    snprintf(s->mechanism, sizeof s->mechanism, "%s", ev->auth->mechanism);
    if (ev->auth->username && strcmp(ev->auth->username, "juliet") == 0) {
      cred.verdict = LX_SASL_VERIFY;
      cred.password = s->pol.password;
    } else {
      cred.verdict = LX_ERR_SASL_NOT_AUTHORIZED;
    }
    CHECK(lx_conn_auth_answer(s->c, &cred) >= LX_ERR_POLICY_VIOLATION);
  } else if (ev->type == LX_CONN_BIND_REQUEST) {
    const char *want = ev->jid;
    char full[128];
    if (want && s->pol.bind_refusal && strcmp(want, s->pol.bind_refusal) == 0) {
      lx_conn_bind_refuse(s->c, LX_ERR_BIND_CONFLICT, "in use");
      return;
    }
    snprintf(full, sizeof full, "juliet@im.example.com/%s",
             want && !s->pol.bind_as ? want : "gen-1");
    CHECK_INT(lx_conn_bind_accept(s->c, full), 0);
  }
}

/* Takes every pending event; returns how many. */
static int drain(side *s) {
  lx_conn_event ev;
  int n = 0;
  while (lx_conn_next_event(s->c, &ev)) {
    n++;
    if (ev.type == LX_CONN_SENT) {
      put(&s->sent, ev.data, ev.len);
      continue;
    }
    if (ev.type == LX_CONN_RECEIVED) {
      put(&s->got, ev.data, ev.len);
      continue;
    }
    putf(&s->events, "%s%s", s->events.len ? " " : "", event_name(ev.type));
    switch (ev.type) {
    case LX_CONN_READY:
      snprintf(s->ready_jid, sizeof s->ready_jid, "%s", ev.jid);
      break;
    case LX_CONN_STANZA: {
      char *xml;
      if (lx_serialize(lx_stanza_root(ev.stanza), LX_NS_CLIENT, 0, &xml,
                       NULL) == 0) {
        putf(&s->stanzas, "%s", xml);
        free(xml);
      }
      break;
    }
    case LX_CONN_STREAM_ERROR:
      s->got_error = ev.error;
      snprintf(s->error_text, sizeof s->error_text, "%s",
               ev.error.text ? ev.error.text : "");
      snprintf(s->other_host, sizeof s->other_host, "%s",
               ev.error.other_host ? ev.error.other_host : "");
      snprintf(s->app, sizeof s->app, "%s",
               ev.error.app ? lx_elem_name(ev.error.app) : "");
      s->got_error.text = s->got_error.other_host = s->got_error.lang = NULL;
      s->got_error.app = NULL;
      break;
    case LX_CONN_CLOSED: s->closed_code = ev.code; break;
    default: break;
    }
    answer(s, &ev);
    lx_stanza_free(ev.stanza);
  }
  return n;
}

/* Moves what `from` has to send onto `to`'s wire, then feeds `to` in
 * pieces of `chunk` bytes while it takes them. Returns 1 on progress. */
static int move(side *from, side *to, size_t chunk) {
  const char *p;
  size_t n;
  int progress = 0;
  while ((n = lx_conn_peek_send(from->c, &p)) > 0) {
    put(&to->wire, p, n);
    lx_conn_consume_send(from->c, n);
    progress = 1;
  }
  size_t at = 0;
  while (at < to->wire.len) {
    size_t k = to->wire.len - at < chunk ? to->wire.len - at : chunk;
    ssize_t r = lx_conn_recv(to->c, to->wire.s + at, k);
    if (r < 0) {
      to->recv_rc = (int)r;
      at = to->wire.len; /* the receiver is done: drop the rest */
      break;
    }
    at += (size_t)r;
    if (r > 0)
      progress = 1;
    if ((size_t)r < k)
      break; /* it waits for its application */
  }
  memmove(to->wire.s, to->wire.s + at, to->wire.len - at);
  to->wire.len -= at;
  return progress;
}

/* Runs the two sides until neither has anything to say. */
static void pump(side *a, side *b, size_t chunk) {
  for (int rounds = 0; rounds < 100000; rounds++) {
    int progress = drain(a) | drain(b);
    progress |= move(a, b, chunk);
    progress |= drain(b);
    progress |= move(b, a, chunk);
    if (!progress)
      return;
  }
  CHECK(!"pump: no end");
}

/* ---- making connections -------------------------------------------------- */

typedef struct setup {
  lx_conn_tls_mode client_tls, server_tls;
  int max_version;            /* 0: TLS 1.3 */
  const char *client_jid;     /* "juliet@im.example.com/balcony" */
  const char *password;       /* the client's */
  const char *const *allowed; /* client mechanisms */
  size_t n_allowed;
  const char *const *cb_types; /* both sides */
  size_t n_cb_types;
  const char *server_cert, *server_key;
  const char *const *server_mechs;
  size_t n_server_mechs;
  int trace; /* both sides, with fixed ids and nonces */
  const char *alpn;
} setup;

static setup defaults(void) {
  setup s;
  memset(&s, 0, sizeof s);
  s.client_jid = "juliet@im.example.com/balcony";
  s.password = "r0m30myr0m30";
  s.server_cert = im_cert;
  s.server_key = im_key;
  s.trace = 1;
  return s;
}

static const char *const domains[] = {"im.example.com", "example.net"};
static const char *const client_ids[] = {"c-1", "c-2", "c-3", "c-4"};
static const char *const server_ids[] = {"s-1", "s-2", "s-3", "s-4", "s-5"};

static lx_conn *make_client(const setup *s) {
  lx_conn_opts o;
  lx_conn *c = NULL;
  lx_error err = {0};
  lx_conn_opts_init(&o);
  o.tls = s->client_tls;
  o.jid = s->client_jid;
  o.sasl_client.password = s->password;
  o.sasl_client.allowed = s->allowed;
  o.sasl_client.n_allowed = s->n_allowed;
  o.cb_types = s->cb_types;
  o.n_cb_types = s->n_cb_types;
  o.trace = s->trace;
  if (s->trace) {
    o.ids = client_ids;
    o.n_ids = 4;
    o.sasl_client.nonce = "cnonce";
  }
  if (s->client_tls != LX_CONN_TLS_DISABLED)
    o.tls_ctx = client_ctx(s->max_version, s->alpn);
  CHECK_INT(lx_conn_new(&c, LX_CONN_CLIENT, &o, &err), 0);
  if (err.code)
    fprintf(stderr, "client: %s\n", err.detail);
  lx_tls_ctx_free(o.tls_ctx);
  return c;
}

static lx_conn *make_server(const setup *s) {
  lx_conn_opts o;
  lx_conn *c = NULL;
  lx_error err = {0};
  static const unsigned char salt[] = "0123456789abcdef";
  lx_conn_opts_init(&o);
  o.tls = s->server_tls;
  o.domains = domains;
  o.n_domains = 2;
  o.cb_types = s->cb_types;
  o.n_cb_types = s->n_cb_types;
  o.sasl_server.mechanisms = s->server_mechs;
  o.sasl_server.n_mechanisms = s->n_server_mechs;
  o.sasl_server.iterations = 4096;
  o.trace = s->trace;
  if (s->trace) {
    o.ids = server_ids;
    o.n_ids = 5;
    o.sasl_server.nonce = "snonce";
    o.sasl_server.salt = salt;
    o.sasl_server.salt_len = 16;
  }
  if (s->server_tls != LX_CONN_TLS_DISABLED)
    o.tls_ctx =
        server_ctx(s->max_version, s->server_cert, s->server_key, s->alpn);
  CHECK_INT(lx_conn_new(&c, LX_CONN_SERVER, &o, &err), 0);
  if (err.code)
    fprintf(stderr, "server: %s\n", err.detail);
  lx_tls_ctx_free(o.tls_ctx);
  return c;
}

/* A client and a server from `s`, started. */
static void start_pair(const setup *s, side *cl, side *sv) {
  side_init(cl, "C", make_client(s));
  side_init(sv, "S", make_server(s));
  CHECK_INT(lx_conn_start(sv->c), 0);
  CHECK_INT(lx_conn_start(cl->c), 0);
}

/* The base64-decoded content of the first <auth> the client sent. */
__attribute__((unused)) static void auth_message(const side *cl, char *out,
                                                 size_t cap) {
  const char *a = strstr(str(&cl->sent), "<auth ");
  out[0] = '\0';
  if (!a || !(a = strchr(a, '>')))
    return;
  const char *end = strchr(++a, '<');
  size_t n = 0;
  if (end && base64_decode(a, (size_t)(end - a), (unsigned char *)out, cap - 1,
                           &n) == 0)
    out[n] = '\0';
}

/* ---- negotiations that succeed ------------------------------------------ */

#define FULL_CLIENT_EVENTS                                                     \
  "opened features tls opened features authenticated opened features ready"
#define FULL_SERVER_EVENTS                                                     \
  "opened tls opened auth-request authenticated opened bind-request ready"

TEST(starttls_scram_bind_message_close) {
  setup s = defaults();
  side cl, sv;
  start_pair(&s, &cl, &sv);
  pump(&cl, &sv, 65536);
  CHECK_STR(str(&cl.events), FULL_CLIENT_EVENTS);
  CHECK_STR(str(&sv.events), FULL_SERVER_EVENTS);
  CHECK_STR(cl.ready_jid, "juliet@im.example.com/balcony");
  CHECK_STR(sv.ready_jid, "juliet@im.example.com/balcony");
  CHECK_STR(lx_conn_jid(cl.c), "juliet@im.example.com/balcony");
  CHECK_INT(lx_conn_get_state(cl.c), LX_CONN_STATE_READY);
  CHECK_STR(sv.mechanism, "SCRAM-SHA-512-PLUS");
  CHECK_STR(lx_tls_version(lx_conn_tls(cl.c)), "TLSv1.3");

  /* a message each way; the server stamps the sender's full JID */
  lx_stanza *m;
  lx_elem *body;
  CHECK_INT(lx_stanza_new(&m, LX_NS_CLIENT, "message", NULL), 0);
  lx_elem_set_attr(m, lx_stanza_root(m), NULL, "to", "romeo@example.net", NULL);
  lx_elem_set_attr(m, lx_stanza_root(m), NULL, "from", "forged@evil.example",
                   NULL);
  lx_elem_add_child(m, lx_stanza_root(m), NULL, "body", &body, NULL);
  lx_elem_add_text(m, body, "Art thou", 8, NULL);
  CHECK_INT(lx_conn_submit(cl.c, lx_stanza_root(m)), 0);
  lx_stanza_free(m);
  const char *answer_xml = "<message from='romeo@example.net/orchard' "
                           "to='juliet@im.example.com/balcony'><body>"
                           "Neither</body></message>";
  CHECK_INT(lx_conn_submit_xml(sv.c, answer_xml, strlen(answer_xml)), 0);
  pump(&cl, &sv, 65536);
  CHECK_STR(str(&sv.stanzas),
            "<message to='romeo@example.net' "
            "from='juliet@im.example.com/balcony' xml:lang='en'><body>Art "
            "thou</body></message>");
  CHECK_STR(str(&cl.stanzas),
            "<message from='romeo@example.net/orchard' "
            "to='juliet@im.example.com/balcony' xml:lang='en'><body>"
            "Neither</body></message>");

  /* the closing handshake, with close_notify both ways */
  CHECK_INT(lx_conn_close(cl.c), 0);
  CHECK_INT(lx_conn_get_state(cl.c), LX_CONN_STATE_CLOSING);
  pump(&cl, &sv, 65536);
  CHECK_INT(cl.closed_code, 0);
  CHECK_INT(sv.closed_code, 0);
  CHECK_INT(lx_conn_get_state(cl.c), LX_CONN_STATE_CLOSED);
  CHECK_INT(lx_conn_get_state(sv.c), LX_CONN_STATE_CLOSED);
  CHECK_INT(lx_tls_get_state(lx_conn_tls(cl.c)), LX_TLS_CLOSED);
  CHECK_INT(lx_tls_get_state(lx_conn_tls(sv.c)), LX_TLS_CLOSED);
  CHECK(strstr(str(&cl.sent), "</stream:stream>") != NULL);
  CHECK(strstr(str(&sv.sent), "</stream:stream>") != NULL);
  CHECK_INT(lx_conn_recv_eof(cl.c), 0);
  if (getenv("DUMP"))
    printf("C SENT:\n%s\n\nS SENT:\n%s\n\nC GOT:\n%s\n", str(&cl.sent),
           str(&sv.sent), str(&cl.got));
  side_free(&cl);
  side_free(&sv);
}

int main(void) {
  make_certs();
  RUN(starttls_scram_bind_message_close);
  free(im_cert);
  lx_tls_pem_free(im_key);
  free(other_cert);
  lx_tls_pem_free(other_key);
  lx_tls_ca_free(ca);
  return check_summary();
}

/* conn.c: one XMPP client-to-server stream, negotiated in either role
 * (RFC 6120). Every state transition of the negotiation happens in this
 * file.
 *
 * The connection waits for one thing at a time (its phase). Input goes to
 * TLS or straight to the XML parser, and the parser's top-level elements
 * are dispatched through one table of rules (phase, role, element) to
 * their handlers; what no rule expects is the peer's fault. The roles
 * differ in their rules and in three hooks (role_info), not in tests
 * spread through the code.
 *
 * Until the stream is ready the parser is given input up to one '>' at a
 * time, so the connection acts on every element before the next byte is
 * parsed: bytes after <proceed/> or <starttls/> go to TLS, bytes after
 * <success/> to a new parser, and nothing is parsed while the application
 * holds a decision. Once ready, a piece holds at most as many '>' as events
 * may still be queued (an element ends at a '>'), which bounds the queue. */
#include "base64.h"
#include "error.h"
#include "serialize.h"
#include "stanza.h"
#include "streamerror.h"
#include "streamfeatures.h"
#include "xmlout.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define ID_SIZE 65         /* an id and its NUL: 64 bytes at most */
#define ID_RANDOM_BYTES 16 /* 128 bits */
#define LANG_SIZE 36       /* BCP 47 tags in practice (RFC 5646 §4.4.1) */
#define READ_CHUNK 4096    /* plaintext taken from TLS at a time */

/* What the connection waits for. */
enum phase {
  PH_NEW,           /* lx_conn_start() */
  PH_HANDSHAKE,     /* the end of the TLS handshake */
  PH_HEADER,        /* the peer's stream header */
  PH_FEATURES,      /* client: <stream:features/> */
  PH_OFFERED,       /* server: the client's choice among the features */
  PH_STARTTLS,      /* client: <proceed/> */
  PH_SASL,          /* client: a challenge or the outcome; server: a
                       response or <abort/> */
  PH_CREDENTIALS,   /* server: lx_conn_auth_answer() */
  PH_BIND,          /* client: the bind result */
  PH_BIND_DECISION, /* server: lx_conn_bind_accept() or _refuse() */
  PH_READY,         /* stanzas flow */
  PH_CLOSING,       /* we sent </stream:stream>; the peer's is due */
  PH_CLOSED,
  PH_FAILED
};

#define P(phase) (1u << (phase))

typedef struct event_queue {
  lx_conn_event *items;
  size_t head, len, cap; /* items[head .. len) are pending */
} event_queue;

typedef struct role_info role_info;

struct lx_conn {
  const role_info *role;
  enum phase phase;
  lx_error error; /* sticky, once FAILED */

  /* what has been established */
  unsigned secure : 1;          /* TLS is up */
  unsigned authenticated : 1;   /* SASL succeeded */
  unsigned bound : 1;           /* a resource is bound */
  unsigned header_sent : 1;     /* our header of the current stream */
  unsigned tls_on : 1;          /* bytes flow through TLS */
  unsigned tls_close : 1;       /* close_notify once the output is in TLS */
  unsigned full_limits : 1;     /* the parser has the post-authentication
                                   limits */
  unsigned closed_pending : 1;  /* LX_CONN_CLOSED not yet taken */
  unsigned session_pending : 1; /* client: the legacy session iq */
  unsigned eof : 1;             /* the transport ended */

  /* options, copied */
  lx_conn_tls_mode tls_mode;
  char *lang;
  char *features_xml;
  char **extension_ns;
  size_t n_extension_ns;
  lx_parser_opts parser_opts;
  size_t max_preauth_stanza_bytes, max_output_bytes, max_events;
  unsigned max_auth_attempts, max_bind_attempts;
  int offer_session, trace;
  char **ids;
  size_t n_ids, next_id;
  lx_tls_cb_type cb_types[3]; /* MAX_CB */
  size_t n_cb_types;

  /* bytes */
  lx_parser *parser;
  lx_tls *tls;
  buf out;        /* plaintext XML not yet sent or handed to TLS */
  size_t out_off; /* out.data[out_off .. out.len) is pending */
  size_t clear;   /* of which the first `clear` bytes go out in the clear */
  buf held;       /* plaintext from TLS the parser has not taken yet */
  size_t held_off;

  event_queue events;
  char *last_data;                /* the data of the event last taken */
  const lx_scram_keys *last_keys; /* its keys */

  char stream_id[ID_SIZE];
  char iq_id[ID_SIZE]; /* client: the bind or session iq we wait for */
  lx_jid *account;     /* the authenticated account (bare JID) */
  lx_jid *full;        /* the bound full JID */

  /* client */
  lx_jid *jid;
  lx_sasl_client_opts sasl_client_opts; /* its pointers are owned copies */
  lx_sasl_client *sasl_client;

  /* server */
  lx_jid **domains;
  size_t n_domains;
  const char *domain; /* of the current stream: one of domains */
  char *peer_from;    /* the client's from, prepared */
  char stream_lang[LANG_SIZE];
  lx_sasl_server_opts sasl_server_opts; /* its pointers are owned copies */
  lx_sasl_server *sasl_server;
  unsigned auth_failures, bind_failures;
  unsigned cb_failures; /* -PLUS attempts with a binding type we lack */
  char *bind_resource;  /* asked for, prepared; NULL for none */
};

/* What distinguishes the roles outside the rules table. */
struct role_info {
  lx_tls_role tls_role;
  unsigned role_bit;                          /* in rule.roles */
  int initiator;                              /* sends the first header */
  int (*send_header)(lx_conn *c);             /* our stream header */
  int (*on_header)(lx_conn *c, lx_stanza *s); /* the peer's */
  int (*on_stanza)(lx_conn *c, lx_stanza *s); /* before delivery: 1 when
                                                 consumed */
};

/* ---- small helpers ------------------------------------------------------- */

static char *dup_str(const char *s, int *nomem) {
  char *d = NULL;
  if (s && !(d = strdup(s)))
    *nomem = 1;
  return d;
}

static char **dup_list(const char *const *v, size_t n, int *nomem) {
  char **d;
  if (!v || !n)
    return NULL;
  if (!(d = calloc(n, sizeof *d))) {
    *nomem = 1;
    return NULL;
  }
  for (size_t i = 0; i < n; i++)
    d[i] = dup_str(v[i], nomem);
  return d;
}

static void free_list(char **v, size_t n) {
  for (size_t i = 0; v && i < n; i++)
    free(v[i]);
  free(v);
}

static unsigned char *dup_bytes(const unsigned char *p, size_t n, int *nomem) {
  unsigned char *d = NULL;
  if (p && !(d = malloc(n ? n : 1)))
    *nomem = 1;
  else if (p)
    memcpy(d, p, n);
  return d;
}

/* Frees a secret: wipes it first. */
static void free_secret(void *p, size_t n) {
  if (p) {
    OPENSSL_cleanse(p, n);
    free(p);
  }
}

static void free_str_secret(const char *s) {
  free_secret((char *)s, s ? strlen(s) : 0);
}

static int is_stanza(const lx_elem *e) {
  return ns_equal(e->ns, LX_NS_CLIENT) &&
         (strcmp(e->name, "message") == 0 || strcmp(e->name, "presence") == 0 ||
          strcmp(e->name, "iq") == 0);
}

/* A fresh identifier: the next one of the test list, or 128 random bits in
 * hex (also fit for a localpart). */
static int new_id(lx_conn *c, char out[ID_SIZE]) {
  if (c->next_id < c->n_ids) {
    snprintf(out, ID_SIZE, "%s", c->ids[c->next_id++]);
    return 0;
  }
  unsigned char r[ID_RANDOM_BYTES];
  if (RAND_bytes(r, sizeof r) != 1)
    return LX_ERR_INTERNAL;
  for (size_t i = 0; i < sizeof r; i++)
    snprintf(out + 2 * i, 3, "%02x", r[i]);
  return 0;
}

/* A plausible BCP 47 tag: alphanumeric subtags of 1 to 8 characters
 * separated by '-', the first alphabetic, shorter than LANG_SIZE. */
static int valid_lang(const char *s) {
  size_t n = 0, run = 0;
  if (!s || !*s)
    return 0;
  for (; s[n]; n++) {
    char ch = s[n];
    int alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
    int digit = ch >= '0' && ch <= '9';
    if (ch == '-' && run > 0)
      run = 0;
    else if ((alpha || (digit && n > 0)) && run < 8)
      run++;
    else
      return 0;
  }
  return run > 0 && n < LANG_SIZE;
}

/* ---- copies of the SASL options ---------------------------------------- */

static void free_sasl_client_opts(lx_sasl_client_opts *o) {
  size_t hl = o->keys ? lx_sasl_hash_size(o->keys->hash) : 0;
  free_list((char **)o->allowed, o->n_allowed);
  free((char *)o->username);
  free_str_secret(o->password);
  free((char *)o->authzid);
  free((char *)o->host);
  free((char *)o->service);
  free((char *)o->trace);
  free((char *)o->nonce);
  if (o->keys) {
    free((unsigned char *)o->keys->salt);
    free_secret((unsigned char *)o->keys->client_key, hl);
    free_secret((unsigned char *)o->keys->stored_key, hl);
    free_secret((unsigned char *)o->keys->server_key, hl);
    free((lx_scram_keys *)o->keys);
  }
  memset(o, 0, sizeof *o);
}

/* Owned copies of what the client's SASL options point to. */
static void copy_sasl_client_opts(lx_sasl_client_opts *d,
                                  const lx_sasl_client_opts *s, int *nomem) {
  *d = *s;
  d->offered = NULL;
  d->n_offered = 0;
  d->cb_types = NULL;
  d->n_cb_types = 0;
  d->cb = NULL;
  d->n_cb = 0;
  d->allowed = (const char *const *)dup_list(s->allowed, s->n_allowed, nomem);
  d->username = dup_str(s->username, nomem);
  d->password = dup_str(s->password, nomem);
  d->authzid = dup_str(s->authzid, nomem);
  d->host = dup_str(s->host, nomem);
  d->service = dup_str(s->service, nomem);
  d->trace = dup_str(s->trace, nomem);
  d->nonce = dup_str(s->nonce, nomem);
  d->keys = NULL;
  if (s->keys) {
    lx_scram_keys *k = malloc(sizeof *k);
    size_t hl = lx_sasl_hash_size(s->keys->hash);
    if (!k) {
      *nomem = 1;
      return;
    }
    *k = *s->keys;
    k->salt = dup_bytes(s->keys->salt, s->keys->salt_len, nomem);
    k->client_key = dup_bytes(s->keys->client_key, hl, nomem);
    k->stored_key = dup_bytes(s->keys->stored_key, hl, nomem);
    k->server_key = dup_bytes(s->keys->server_key, hl, nomem);
    d->keys = k;
  }
}

static void free_sasl_server_opts(lx_sasl_server_opts *o) {
  free_list((char **)o->mechanisms, o->n_mechanisms);
  free((char *)o->host);
  free((char *)o->service);
  free((char *)o->nonce);
  free((unsigned char *)o->salt);
  memset(o, 0, sizeof *o);
}

static void copy_sasl_server_opts(lx_sasl_server_opts *d,
                                  const lx_sasl_server_opts *s, int *nomem) {
  *d = *s;
  d->cb = NULL;
  d->n_cb = 0;
  d->mechanisms =
      (const char *const *)dup_list(s->mechanisms, s->n_mechanisms, nomem);
  d->host = dup_str(s->host, nomem);
  d->service = dup_str(s->service, nomem);
  d->nonce = dup_str(s->nonce, nomem);
  d->salt = dup_bytes(s->salt, s->salt_len, nomem);
}

/* ---- events -------------------------------------------------------------- */

/* A new event at the end of the queue, zeroed, or NULL when out of
 * memory. */
static lx_conn_event *push_event(lx_conn *c, lx_conn_event_type type) {
  event_queue *q = &c->events;
  if (q->head == q->len)
    q->head = q->len = 0;
  if (q->len == q->cap) {
    size_t cap = q->cap ? q->cap * 2 : 8;
    lx_conn_event *items = realloc(q->items, cap * sizeof *items);
    if (!items)
      return NULL;
    q->items = items;
    q->cap = cap;
  }
  lx_conn_event *ev = &q->items[q->len++];
  memset(ev, 0, sizeof *ev);
  ev->type = type;
  return ev;
}

static size_t queued(const lx_conn *c) {
  return c->events.len - c->events.head;
}

/* SCRAM keys copied into one allocation, wiped when freed. */
typedef struct keys_copy {
  lx_scram_keys k; /* first: a pointer to it is a pointer to the copy */
  size_t size;
  unsigned char bytes[];
} keys_copy;

static const lx_scram_keys *copy_keys(const lx_scram_keys *k) {
  size_t hl = lx_sasl_hash_size(k->hash);
  size_t size = sizeof(keys_copy) + k->salt_len + 2 * hl;
  keys_copy *d = malloc(size);
  if (!d)
    return NULL;
  d->size = size;
  d->k = *k;
  d->k.salt = memcpy(d->bytes, k->salt, k->salt_len);
  d->k.client_key = memcpy(d->bytes + k->salt_len, k->client_key, hl);
  d->k.server_key = memcpy(d->bytes + k->salt_len + hl, k->server_key, hl);
  d->k.stored_key = NULL;
  return &d->k;
}

static void free_keys(const lx_scram_keys *k) {
  if (k)
    free_secret((void *)k, ((const keys_copy *)(const void *)k)->size);
}

static void free_event(lx_conn_event *ev) {
  lx_stanza_free(ev->stanza);
  free((char *)ev->data);
  free_keys(ev->keys);
}

int lx_conn_next_event(lx_conn *c, lx_conn_event *ev) {
  event_queue *q = &c->events;
  free(c->last_data);
  c->last_data = NULL;
  free_keys(c->last_keys);
  c->last_keys = NULL;
  if (q->head < q->len) {
    *ev = q->items[q->head++];
    c->last_data = (char *)ev->data;
    c->last_keys = ev->keys;
    if (q->head == q->len) { /* drained: give the memory back */
      free(q->items);
      memset(q, 0, sizeof *q);
    }
    return 1;
  }
  if (c->closed_pending) { /* always last, and never lost to NOMEM */
    c->closed_pending = 0;
    memset(ev, 0, sizeof *ev);
    ev->type = LX_CONN_CLOSED;
    ev->code = c->phase == PH_FAILED ? c->error.code : 0;
    return 1;
  }
  return 0;
}

/* ---- output -------------------------------------------------------------- */

static size_t out_pending(const lx_conn *c) { return c->out.len - c->out_off; }

static void out_consumed(lx_conn *c, size_t n) {
  c->out_off += n;
  if (c->out_off == c->out.len) {
    buf_free(&c->out);
    c->out_off = 0;
  }
}

static int fail(lx_conn *c, int code, int condition, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Hands the plaintext to TLS as far as it takes it, then close_notify when
 * asked for and everything is in. Called when the caller asks for output,
 * so that what one step wrote shares TLS records. */
static int flush_tls(lx_conn *c) {
  if (!c->tls_on || c->clear)
    return 0;
  lx_tls_state st = lx_tls_get_state(c->tls);
  if (st != LX_TLS_OPEN && st != LX_TLS_CLOSED)
    return 0;
  while (out_pending(c)) {
    ssize_t k = lx_tls_write(c->tls, c->out.data + c->out_off, out_pending(c));
    if (k < 0)
      return fail(c, (int)k, 0, "%s", lx_tls_error(c->tls)->detail);
    if (k == 0)
      return 0; /* TLS holds max_send_bytes: after the next consume */
    out_consumed(c, (size_t)k);
  }
  if (c->tls_close) {
    c->tls_close = 0;
    lx_tls_close(c->tls);
  }
  return 0;
}

/* Reports out.data[mark ..] as sent (trace). */
static int sent(lx_conn *c, size_t mark) {
  if (c->trace) {
    lx_conn_event *ev = push_event(c, LX_CONN_SENT);
    char *copy = ev ? malloc(c->out.len - mark + 1) : NULL;
    if (!copy) {
      if (ev)
        c->events.len--;
      return fail(c, LX_ERR_NOMEM, 0, "out of memory");
    }
    memcpy(copy, c->out.data + mark, c->out.len - mark);
    copy[c->out.len - mark] = '\0';
    ev->data = copy;
    ev->len = c->out.len - mark;
  }
  return 0;
}

/* Ends a write begun at `mark`: rc is what the writes returned. */
static int wrote(lx_conn *c, size_t mark, int rc) {
  if (rc) {
    c->out.len = mark;
    return fail(c, LX_ERR_NOMEM, 0, "out of memory");
  }
  return sent(c, mark);
}

static int write_header(lx_conn *c, const char *from, const char *id,
                        const char *to, const char *lang) {
  buf *b = &c->out;
  size_t mark = b->len;
  int rc = buf_puts(b, "<?xml version='1.0'?><stream:stream") ||
           xo_attr(b, "xmlns", LX_NS_CLIENT) ||
           xo_attr(b, "xmlns:stream", LX_NS_STREAMS) ||
           (from && xo_attr(b, "from", from)) || (id && xo_attr(b, "id", id)) ||
           (to && xo_attr(b, "to", to)) || xo_attr(b, "version", "1.0") ||
           xo_attr(b, "xml:lang", lang) || buf_putc(b, '>');
  c->header_sent = 1;
  return wrote(c, mark, rc);
}

/* Whether the stream can still carry XML from us. */
static int writable(const lx_conn *c) {
  if (c->eof || c->phase == PH_NEW || c->phase == PH_CLOSING ||
      c->phase == PH_CLOSED || c->phase == PH_FAILED)
    return 0;
  if (!c->tls_on)
    return 1;
  lx_tls_state st = lx_tls_get_state(c->tls);
  return st == LX_TLS_OPEN || st == LX_TLS_CLOSED;
}

/* Queues </stream:stream> and asks for close_notify after it. */
static void write_footer(lx_conn *c) {
  size_t mark = c->out.len;
  if (buf_puts(&c->out, LX_STREAM_FOOTER)) {
    c->out.len = mark;
    return;
  }
  c->tls_close = c->tls_on;
  sent(c, mark);
}

/* ---- failing and closing ------------------------------------------------- */

/* Ends the connection with the sticky error `code` (its detail already in
 * c->error): when the stream can carry them, queues the stream error `e`
 * (NULL: none), </stream:stream> and then close_notify. Reports
 * LX_CONN_CLOSED. Returns code. */
static int end_stream(lx_conn *c, int code, const lx_stream_error *e) {
  int can_write = writable(c) && (c->header_sent || e);
  c->error.code = code;
  c->phase = PH_FAILED; /* first: a failure while writing ends here */
  c->closed_pending = 1;
  if (can_write && (c->header_sent || c->role->send_header(c) == 0)) {
    size_t mark = c->out.len;
    if (e && stream_error_write(&c->out, e))
      c->out.len = mark;
    else if (e)
      sent(c, mark);
    write_footer(c);
  }
  return code;
}

/* Ends the connection after a fault (see end_stream), with the stream
 * error `condition` (0: none) whose text is the detail. */
static int fail(lx_conn *c, int code, int condition, const char *fmt, ...) {
  if (c->phase == PH_FAILED)
    return c->error.code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->error.detail, sizeof c->error.detail, fmt, ap);
  va_end(ap);
  lx_stream_error e = {condition, c->error.detail, "en", NULL, NULL};
  return end_stream(c, code, condition ? &e : NULL);
}

static int fail_nomem(lx_conn *c) {
  return fail(c, LX_ERR_NOMEM, 0, "out of memory");
}

/* The stream ended cleanly. */
static void closed(lx_conn *c) {
  c->phase = PH_CLOSED;
  c->closed_pending = 1;
}

int lx_conn_close(lx_conn *c) {
  if (c->phase == PH_FAILED)
    return c->error.code;
  if (c->phase == PH_CLOSING || c->phase == PH_CLOSED)
    return 0;
  if (writable(c) && c->header_sent) {
    write_footer(c);
    if (c->phase == PH_FAILED)
      return c->error.code;
    c->phase = PH_CLOSING;
  } else {
    closed(c);
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
  if (e->lang && !valid_lang(e->lang))
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
static int new_parser(lx_conn *c) {
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
  return rc ? fail(c, rc, 0, "cannot create a parser") : 0;
}

/* Both sides treat the old stream as gone (RFC 6120 §4.3.3): a new parser
 * (reset, or new limits after authentication), and the initiator opens the
 * new stream. */
static int restart(lx_conn *c) {
  c->header_sent = 0;
  c->stream_id[0] = '\0';
  c->phase = PH_HEADER;
  int rc = c->full_limits != c->authenticated ? new_parser(c)
                                              : lx_parser_reset(c->parser);
  if (rc)
    return c->phase == PH_FAILED ? rc : fail_nomem(c);
  return c->role->initiator ? c->role->send_header(c) : 0;
}

/* From here on the bytes in both directions are TLS: what is already
 * queued still goes out in the clear first. */
static int start_tls(lx_conn *c) {
  c->tls_on = 1;
  c->clear = out_pending(c);
  c->phase = PH_HANDSHAKE;
  c->header_sent = 0;
  int rc = lx_parser_reset(c->parser);
  if (rc)
    return fail_nomem(c);
  if (c->role->tls_role == LX_TLS_CLIENT) {
    rc = lx_tls_handshake(c->tls);
    if (rc < 0)
      return fail(c, rc, 0, "%s", lx_tls_error(c->tls)->detail);
  }
  return 0;
}

static int tls_opened(lx_conn *c) {
  c->secure = 1;
  if (!push_event(c, LX_CONN_TLS))
    return fail_nomem(c);
  return restart(c);
}

/* ---- channel bindings ---------------------------------------------------- */

enum { MAX_CB = 3 };

static const lx_tls_cb_type cb_default[MAX_CB] = {
    LX_TLS_CB_EXPORTER, LX_TLS_CB_SERVER_END_POINT, LX_TLS_CB_UNIQUE};

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
  return wrote(c, mark, rc);
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

/* The code of a SASL condition element's name, 0 for an unknown one. */
static int sasl_condition(const char *name) {
  for (int code = LX_ERR_SASL_ABORTED;
       code >= LX_ERR_SASL_TEMPORARY_AUTH_FAILURE; code--)
    if (strcmp(lx_strerror(code) + 5, name) == 0) /* without "sasl-" */
      return code;
  return 0;
}

/* ---- the rules ----------------------------------------------------------- */

typedef int (*handler)(lx_conn *c, lx_stanza *s);

enum { CLIENT = 1, SERVER = 2, BOTH = 3 };
#define NEGOTIATING                                                            \
  (P(PH_HEADER) | P(PH_FEATURES) | P(PH_OFFERED) | P(PH_STARTTLS) |            \
   P(PH_SASL) | P(PH_BIND))

/* A top-level element the connection expects: in which phases, for which
 * roles, its namespace and name (NULL: any), and its handler. Handlers own
 * the stanza they get. */
typedef struct rule {
  unsigned phases, roles;
  const char *ns, *name;
  handler fn;
} rule;

static int on_stream_error(lx_conn *c, lx_stanza *s);
static int client_features(lx_conn *c, lx_stanza *s);
static int client_proceed(lx_conn *c, lx_stanza *s);
static int client_starttls_failure(lx_conn *c, lx_stanza *s);
static int client_challenge(lx_conn *c, lx_stanza *s);
static int client_success(lx_conn *c, lx_stanza *s);
static int client_sasl_failure(lx_conn *c, lx_stanza *s);
static int client_bind_result(lx_conn *c, lx_stanza *s);
static int server_starttls(lx_conn *c, lx_stanza *s);
static int server_auth(lx_conn *c, lx_stanza *s);
static int server_response(lx_conn *c, lx_stanza *s);
static int server_abort(lx_conn *c, lx_stanza *s);
static int server_bind(lx_conn *c, lx_stanza *s);
static int on_stanza(lx_conn *c, lx_stanza *s);

static const rule rules[] = {
    {NEGOTIATING | P(PH_READY) | P(PH_CLOSING), BOTH, LX_NS_STREAMS, "error",
     on_stream_error},
    {P(PH_FEATURES), CLIENT, LX_NS_STREAMS, "features", client_features},
    {P(PH_STARTTLS), CLIENT, NS_TLS, "proceed", client_proceed},
    {P(PH_STARTTLS), CLIENT, NS_TLS, "failure", client_starttls_failure},
    {P(PH_SASL), CLIENT, NS_SASL, "challenge", client_challenge},
    {P(PH_SASL), CLIENT, NS_SASL, "success", client_success},
    {P(PH_SASL), CLIENT, NS_SASL, "failure", client_sasl_failure},
    {P(PH_BIND), CLIENT, LX_NS_CLIENT, "iq", client_bind_result},
    {P(PH_OFFERED), SERVER, NS_TLS, "starttls", server_starttls},
    {P(PH_OFFERED), SERVER, NS_SASL, "auth", server_auth},
    {P(PH_SASL), SERVER, NS_SASL, "response", server_response},
    {P(PH_SASL), SERVER, NS_SASL, "abort", server_abort},
    {P(PH_OFFERED), SERVER, LX_NS_CLIENT, "iq", server_bind},
    {P(PH_READY) | P(PH_CLOSING), BOTH, NULL, NULL, on_stanza},
};

/* What no rule expects: a stanza too early (RFC 6120 §4.3.5 and §8), or an
 * element that has no business here (§4.9.3.24). While closing, ignored. */
static int unexpected(lx_conn *c, lx_stanza *s) {
  const lx_elem *e = s->root;
  char what[160];
  int stanza = is_stanza(e);
  snprintf(what, sizeof what, "<%s xmlns='%s'/>", e->name, e->ns ? e->ns : "");
  lx_stanza_free(s);
  if (c->phase == PH_CLOSING)
    return 0;
  if (stanza)
    return fail(c, LX_ERR_NOT_AUTHORIZED, LX_ERR_NOT_AUTHORIZED,
                "%s before the stream is ready", what);
  return fail(c, LX_ERR_UNSUPPORTED_STANZA_TYPE, LX_ERR_UNSUPPORTED_STANZA_TYPE,
              "unexpected element %s", what);
}

static int dispatch(lx_conn *c, lx_stanza *s) {
  const lx_elem *e = s->root;
  for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
    const rule *r = &rules[i];
    if ((r->phases & P(c->phase)) && (r->roles & c->role->role_bit) &&
        (!r->ns || ns_equal(e->ns, r->ns)) &&
        (!r->name || strcmp(e->name, r->name) == 0))
      return r->fn(c, s);
  }
  return unexpected(c, s);
}

/* ---- both roles ---------------------------------------------------------- */

static int on_stream_error(lx_conn *c, lx_stanza *s) {
  lx_conn_event *ev = push_event(c, LX_CONN_STREAM_ERROR);
  if (!ev) {
    lx_stanza_free(s);
    return fail_nomem(c);
  }
  ev->stanza = s;
  stream_error_parse(s, s->root, &ev->error);
  const lx_stream_error *e = &ev->error;
  return fail(c, e->condition, 0, "the peer sent %s%s%s",
              lx_strerror(e->condition), e->text ? ": " : "",
              e->text ? e->text : "");
}

/* The peer's </stream:stream>: we answer with ours (RFC 6120 §4.4). */
static int on_peer_close(lx_conn *c) {
  if (c->phase != PH_CLOSING && writable(c) && c->header_sent)
    write_footer(c);
  if (c->phase != PH_FAILED)
    closed(c);
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
  if (!c->bound) { /* closing during negotiation */
    lx_stanza_free(s);
    return 0;
  }
  if (!is_stanza(s->root) && !is_extension(c, s->root->ns))
    return unexpected(c, s);
  int rc = c->role->on_stanza(c, s);
  if (rc != 0)
    return rc < 0 ? rc : 0;
  lx_conn_event *ev = push_event(c, LX_CONN_STANZA);
  if (!ev) {
    lx_stanza_free(s);
    return fail_nomem(c);
  }
  ev->stanza = s;
  return 0;
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
    return fail(c, LX_ERR_UNSUPPORTED_VERSION, LX_ERR_UNSUPPORTED_VERSION,
                "stream version %s: only 1.x is supported",
                v ? v : "(none, that is 0.9)");
  return 0;
}

static int opened(lx_conn *c, lx_stanza *s) {
  lx_conn_event *ev = push_event(c, LX_CONN_OPENED);
  if (!ev) {
    lx_stanza_free(s);
    return fail_nomem(c);
  }
  ev->stanza = s;
  return 0;
}

/* ---- the client ---------------------------------------------------------- */

static int client_send_header(lx_conn *c) {
  /* our address only once TLS hides it (RFC 6120 §4.7.1) */
  return write_header(c, c->secure ? lx_jid_bare(c->jid) : NULL, NULL,
                      lx_jid_domain(c->jid), c->lang);
}

static int client_on_header(lx_conn *c, lx_stanza *s) {
  const char *id = lx_elem_attr(s->root, NULL, "id");
  int rc = check_version(c, s->root);
  if (rc) {
    lx_stanza_free(s);
    return rc;
  }
  snprintf(c->stream_id, sizeof c->stream_id, "%s", id ? id : "");
  c->phase = PH_FEATURES;
  return opened(c, s);
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
    return fail(c, rc, 0, "%s", err.detail);
  c->phase = PH_SASL;
  return write_sasl(c, "auth", lx_sasl_client_mechanism(c->sasl_client),
                    rc ? out : NULL, len);
}

static int client_bind(lx_conn *c) {
  const char *resource = lx_jid_resource(c->jid);
  buf *b = &c->out;
  if (new_id(c, c->iq_id))
    return fail(c, LX_ERR_INTERNAL, 0, "no random bytes");
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
  return wrote(c, mark, rc);
}

static int client_features(lx_conn *c, lx_stanza *s) {
  features f;
  lx_conn_event *ev = push_event(c, LX_CONN_FEATURES);
  if (!ev) {
    lx_stanza_free(s);
    return fail_nomem(c);
  }
  ev->stanza = s; /* read below, before the application gets it */
  features_parse(s, s->root, &f);
  if (!c->secure && (c->tls_mode == LX_CONN_TLS_REQUIRED ||
                     (c->tls_mode == LX_CONN_TLS_OPTIONAL && f.starttls))) {
    if (!f.starttls)
      return fail(c, LX_ERR_STARTTLS_NOT_OFFERED, 0,
                  "the server does not offer STARTTLS, which is required");
    size_t mark = c->out.len;
    c->phase = PH_STARTTLS;
    return wrote(c, mark, xo_element(&c->out, "starttls", NS_TLS, NULL));
  }
  if (!c->authenticated) {
    if (!c->secure && f.starttls_required)
      return fail(c, LX_ERR_SASL_ENCRYPTION_REQUIRED, 0,
                  "the server requires TLS, which is disabled");
    return client_auth(c, &f);
  }
  if (!f.bind)
    return fail(c, LX_ERR_BIND_NOT_OFFERED, 0,
                "the server offers no resource binding");
  /* legacy session establishment (RFC 3921 §3) only where not optional */
  c->session_pending = f.session && !f.session_optional;
  return client_bind(c);
}

static int client_proceed(lx_conn *c, lx_stanza *s) {
  lx_stanza_free(s);
  return start_tls(c);
}

static int client_starttls_failure(lx_conn *c, lx_stanza *s) {
  lx_stanza_free(s);
  return fail(c, LX_ERR_STARTTLS_REFUSED, 0,
              "the server refused STARTTLS (<failure/>)");
}

/* The data of the server's <challenge/> or <success/>, which `s` was (it is
 * freed); fails the connection when it is not base64. */
static int client_sasl_data(lx_conn *c, lx_stanza *s, const char *what,
                            unsigned char **data, size_t *len) {
  int rc = read_sasl(s, data, len);
  lx_stanza_free(s);
  if (rc == LX_ERR_NOMEM)
    return fail_nomem(c);
  if (rc)
    return fail(c, LX_ERR_SASL_INCORRECT_ENCODING, 0,
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
    return fail(c, rc, 0, "%s", err.detail);
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
    return fail(c, rc, 0, "%s", err.detail);
  lx_conn_event *ev = push_event(c, LX_CONN_AUTHENTICATED);
  lx_scram_keys keys;
  if (ev && lx_sasl_client_keys(c->sasl_client, &keys) == 0 &&
      !(ev->keys = copy_keys(&keys)))
    ev = NULL;
  if (!ev)
    return fail_nomem(c);
  ev->jid = lx_jid_local(c->jid) ? lx_jid_bare(c->jid) : NULL;
  ev->mechanism = lx_sasl_client_mechanism(c->sasl_client); /* static */
  const char *cb = lx_sasl_client_channel_binding(c->sasl_client);
  for (size_t i = 0; cb && i < c->n_cb_types; i++) /* its static name */
    if (strcmp(cb, lx_tls_cb_name(c->cb_types[i])) == 0)
      ev->channel_binding = lx_tls_cb_name(c->cb_types[i]);
  lx_sasl_client_free(c->sasl_client);
  c->sasl_client = NULL;
  free_sasl_client_opts(&c->sasl_client_opts); /* the password goes */
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
      code = sasl_condition(name = e->name);
  }
  fail(c, code ? code : LX_ERR_SASL_NOT_AUTHORIZED, 0,
       "authentication failed: %s%s%s", name, text ? ": " : "",
       text ? text : "");
  lx_stanza_free(s);
  return c->error.code;
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
  static const struct {
    const char *name;
    int code;
  } map[] = {{"conflict", LX_ERR_BIND_CONFLICT},
             {"not-allowed", LX_ERR_BIND_NOT_ALLOWED},
             {"resource-constraint", LX_ERR_BIND_RESOURCE_CONSTRAINT},
             {"bad-request", LX_ERR_BIND_BAD_REQUEST}};
  for (size_t i = 0; cond && i < sizeof map / sizeof map[0]; i++)
    if (strcmp(map[i].name, cond) == 0)
      return map[i].code;
  return LX_ERR_BIND_FAILED;
}

static int is_reply(const lx_conn *c, const lx_elem *iq, const char *type) {
  const char *id = lx_elem_attr(iq, NULL, "id");
  const char *t = lx_elem_attr(iq, NULL, "type");
  return id && t && strcmp(id, c->iq_id) == 0 && strcmp(t, type) == 0;
}

static int send_session(lx_conn *c) {
  buf *b = &c->out;
  if (new_id(c, c->iq_id))
    return fail(c, LX_ERR_INTERNAL, 0, "no random bytes");
  size_t mark = b->len;
  return wrote(c, mark,
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
  lx_conn_event *ev = push_event(c, LX_CONN_READY);
  if (!ev)
    return fail_nomem(c);
  ev->jid = lx_jid_full(full);
  return 0;
}

static int client_bind_result(lx_conn *c, lx_stanza *s) {
  const lx_elem *iq = s->root;
  const char *text;
  if (is_reply(c, iq, "error")) {
    const char *cond = stanza_condition(s, &text);
    fail(c, bind_error_code(cond), 0, "resource binding failed: %s%s%s",
         cond ? cond : "no condition", text ? ": " : "", text ? text : "");
    lx_stanza_free(s);
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
    lx_stanza_free(s);
    return fail(c, LX_ERR_BIND_FAILED, 0, "the bind result holds no full JID");
  }
  lx_stanza_free(s);
  int rc = ready(c, full);
  if (rc == 0 && c->session_pending)
    rc = send_session(c);
  return rc;
}

/* The legacy session's result is the connection's own business. */
static int client_on_stanza(lx_conn *c, lx_stanza *s) {
  const char *text;
  if (!c->session_pending || strcmp(s->root->name, "iq") != 0)
    return 0;
  if (is_reply(c, s->root, "result")) {
    c->session_pending = 0;
    lx_stanza_free(s);
    return 1;
  }
  if (is_reply(c, s->root, "error")) {
    const char *cond = stanza_condition(s, &text);
    fail(c, LX_ERR_SESSION_FAILED, 0, "session establishment failed: %s",
         cond ? cond : "no condition");
    lx_stanza_free(s);
    return c->error.code;
  }
  return 0;
}

/* ---- the server ---------------------------------------------------------- */

static int server_send_header(lx_conn *c) {
  if (!c->stream_id[0] && new_id(c, c->stream_id))
    return fail(c, LX_ERR_INTERNAL, 0, "no random bytes");
  /* an unknown host still gets a domain we serve (RFC 6120 §4.9.1.3) */
  const char *from = c->domain ? c->domain : lx_jid_domain(c->domains[0]);
  return write_header(c, from, c->stream_id, c->peer_from,
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
  if (!o.host)
    o.host = c->domain;
  int rc = lx_sasl_server_new(&c->sasl_server, &o, &err);
  OPENSSL_cleanse(cb_data, sizeof cb_data);
  return rc ? fail(c, rc, LX_ERR_INTERNAL_SERVER_ERROR, "%s", err.detail) : 0;
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
  return wrote(c, mark, features_write(&c->out, &f, extra));
}

/* Which of our domains the client asked for (RFC 6120 §4.7.1), and the
 * checks on its header; 0 or the failure. */
static int check_client_header(lx_conn *c, const lx_elem *h) {
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
    return fail(c, LX_ERR_IMPROPER_ADDRESSING, LX_ERR_IMPROPER_ADDRESSING,
                "the stream header has no 'to'");
  if (!c->domain)
    return fail(c, LX_ERR_HOST_UNKNOWN, LX_ERR_HOST_UNKNOWN,
                "this server does not serve '%s'", to);
  if (c->authenticated && c->domain != prev)
    return fail(c, LX_ERR_POLICY_VIOLATION, LX_ERR_POLICY_VIOLATION,
                "the domain of an authenticated stream cannot change");
  return check_version(c, h);
}

static int server_on_header(lx_conn *c, lx_stanza *s) {
  const char *from = lx_elem_attr(s->root, NULL, "from");
  const char *lang = lx_elem_attr(s->root, LX_NS_XML, "lang");
  lx_jid *jid = NULL;
  /* the client's language if it is a tag, else ours (RFC 6120 §4.7.4) */
  snprintf(c->stream_lang, sizeof c->stream_lang, "%s",
           valid_lang(lang) ? lang : c->lang);
  /* our header's 'to' is the client's 'from' (§4.7.2) */
  free(c->peer_from);
  c->peer_from = NULL;
  if (from && lx_jid_new(&jid, from, strlen(from), NULL) == 0) {
    c->peer_from = strdup(lx_jid_full(jid));
    lx_jid_free(jid);
    if (!c->peer_from) {
      lx_stanza_free(s);
      return fail_nomem(c);
    }
  }
  int rc = check_client_header(c, s->root);
  if (rc) {
    lx_stanza_free(s);
    return rc;
  }
  if ((rc = opened(c, s)) != 0)
    return rc;
  if (new_id(c, c->stream_id))
    return fail(c, LX_ERR_INTERNAL, 0, "no random bytes");
  if (server_send_header(c) || send_features(c))
    return c->error.code;
  return 0;
}

static int server_starttls(lx_conn *c, lx_stanza *s) {
  lx_stanza_free(s);
  if (c->secure || c->authenticated || c->tls_mode == LX_CONN_TLS_DISABLED)
    return fail(c, LX_ERR_UNSUPPORTED_STANZA_TYPE,
                LX_ERR_UNSUPPORTED_STANZA_TYPE, "STARTTLS was not offered");
  size_t mark = c->out.len;
  if (wrote(c, mark, xo_element(&c->out, "proceed", NS_TLS, NULL)))
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
  if (condition > LX_ERR_SASL_ABORTED ||
      condition < LX_ERR_SASL_TEMPORARY_AUTH_FAILURE) {
    condition = LX_ERR_SASL_TEMPORARY_AUTH_FAILURE; /* ours, not the peer's */
    text = NULL;
  }
  int rc = xo_start(&c->out, "failure", NS_SASL) || buf_putc(&c->out, '>') ||
           xo_element(&c->out, lx_strerror(condition) + 5, NULL, NULL) ||
           (text && text[0] &&
            (xo_start(&c->out, "text", NULL) ||
             xo_attr(&c->out, "xml:lang", "en") || buf_putc(&c->out, '>') ||
             xml_escape(&c->out, text, strlen(text), 0, NULL) ||
             xo_end(&c->out, "text"))) ||
           xo_end(&c->out, "failure");
  if (wrote(c, mark, rc))
    return c->error.code;
  c->phase = PH_OFFERED;
  if (c->sasl_server && lx_sasl_server_cb_unsupported(c->sasl_server) &&
      c->cb_failures < MAX_CB) {
    c->cb_failures++;
    return 0;
  }
  if (++c->auth_failures >= c->max_auth_attempts)
    return fail(c, LX_ERR_POLICY_VIOLATION, LX_ERR_POLICY_VIOLATION,
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
    lx_conn_event *ev = push_event(c, LX_CONN_AUTH_REQUEST);
    if (!ev)
      return fail_nomem(c);
    ev->auth = lx_sasl_server_request(c->sasl_server);
    c->phase = PH_CREDENTIALS;
    return 0;
  }
  case LX_SASL_SUCCESS: break;
  default: return auth_failed(c, rc, err->detail);
  }
  if ((rc = set_account(c)) != 0)
    return auth_failed(c, rc == LX_ERR_NOMEM ? rc : LX_ERR_SASL_NOT_AUTHORIZED,
                       "not a valid account name");
  if (write_sasl(c, "success", NULL, out, len))
    return c->error.code;
  lx_sasl_server_free(c->sasl_server);
  c->sasl_server = NULL;
  free_sasl_server_opts(&c->sasl_server_opts);
  c->authenticated = 1;
  lx_conn_event *ev = push_event(c, LX_CONN_AUTHENTICATED);
  if (!ev)
    return fail_nomem(c);
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
  if (c->authenticated || !c->sasl_server) {
    lx_stanza_free(s);
    return c->authenticated
               ? fail(c, LX_ERR_UNSUPPORTED_STANZA_TYPE,
                      LX_ERR_UNSUPPORTED_STANZA_TYPE, "already authenticated")
               : auth_failed(c, LX_ERR_SASL_ENCRYPTION_REQUIRED, "TLS first");
  }
  rc = read_sasl(s, &data, &len);
  if (rc == LX_ERR_NOMEM) {
    lx_stanza_free(s);
    return fail_nomem(c);
  }
  if (rc)
    rc = error_set(&err, LX_ERR_SASL_INCORRECT_ENCODING, "bad base64");
  else if (!mech)
    rc = error_set(&err, LX_ERR_SASL_INVALID_MECHANISM, "no mechanism named");
  else
    rc = lx_sasl_server_start(c->sasl_server, mech, data, len, &out, &out_len,
                              &err);
  free_secret(data, len); /* PLAIN carries the password */
  lx_stanza_free(s);
  return sasl_result(c, rc, out, out_len, &err);
}

static int server_response(lx_conn *c, lx_stanza *s) {
  lx_error err = {0};
  unsigned char *data;
  size_t len, out_len = 0;
  const unsigned char *out = NULL;
  int rc = read_sasl(s, &data, &len);
  lx_stanza_free(s);
  if (rc == LX_ERR_NOMEM)
    return fail_nomem(c);
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
  lx_stanza_free(s);
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

/* <iq type='error'> for the bind request: the condition and its type
 * (RFC 6120 §7.6.2, §8.3.2). */
static int bind_error(lx_conn *c, int code, const char *text) {
  static const struct {
    int code;
    const char *name, *type;
  } map[] = {{LX_ERR_BIND_CONFLICT, "conflict", "cancel"},
             {LX_ERR_BIND_NOT_ALLOWED, "not-allowed", "cancel"},
             {LX_ERR_BIND_RESOURCE_CONSTRAINT, "resource-constraint", "wait"},
             {LX_ERR_BIND_BAD_REQUEST, "bad-request", "modify"}};
  size_t i = 0;
  while (map[i].code != code)
    i++;
  buf *b = &c->out;
  size_t mark = b->len;
  int rc = xo_start(b, "iq", NULL) || xo_attr(b, "type", "error") ||
           xo_attr(b, "id", c->iq_id) || buf_putc(b, '>') ||
           xo_start(b, "error", NULL) || xo_attr(b, "type", map[i].type) ||
           buf_putc(b, '>') || xo_element(b, map[i].name, NS_STANZAS, NULL) ||
           (text && xo_element(b, "text", NS_STANZAS, text)) ||
           xo_end(b, "error") || xo_end(b, "iq");
  if (wrote(c, mark, rc))
    return c->error.code;
  free(c->bind_resource);
  c->bind_resource = NULL;
  c->phase = PH_OFFERED;
  if (++c->bind_failures >= c->max_bind_attempts)
    return fail(c, LX_ERR_POLICY_VIOLATION, LX_ERR_POLICY_VIOLATION,
                "too many failed resource binding attempts");
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
  if (!id || strlen(id) >= ID_SIZE || !type || strcmp(type, "set") != 0) {
    lx_stanza_free(s);
    return bind_error(c, LX_ERR_BIND_BAD_REQUEST,
                      "a bind request is an iq "
                      "of type set with an id");
  }
  const lx_elem *res = lx_elem_child(bind, NS_BIND, "resource");
  size_t len = 0;
  const char *value = res ? lx_elem_text(s, res, &len) : NULL;
  lx_jid *asked = NULL;
  if (value && lx_jid_from_parts(&asked, lx_jid_local(c->account),
                                 strlen(lx_jid_local(c->account)), c->domain,
                                 strlen(c->domain), value, len, NULL) != 0) {
    lx_stanza_free(s);
    return bind_error(c, LX_ERR_BIND_BAD_REQUEST, "not a valid resource");
  }
  lx_stanza_free(s);
  if (asked && !(c->bind_resource = strdup(lx_jid_resource(asked)))) {
    lx_jid_free(asked);
    return fail_nomem(c);
  }
  lx_jid_free(asked);
  lx_conn_event *ev = push_event(c, LX_CONN_BIND_REQUEST);
  if (!ev)
    return fail_nomem(c);
  ev->jid = c->bind_resource;
  c->phase = PH_BIND_DECISION;
  return 0;
}

int lx_conn_bind_accept(lx_conn *c, const char *full_jid) {
  lx_jid *full = NULL;
  if (c->phase != PH_BIND_DECISION)
    return c->phase == PH_FAILED ? c->error.code : LX_ERR_STATE;
  if (!full_jid || lx_jid_new(&full, full_jid, strlen(full_jid), NULL) ||
      !lx_jid_resource(full) || !lx_jid_bare_equal(full, c->account)) {
    lx_jid_free(full);
    return LX_ERR_INVALID;
  }
  buf *b = &c->out;
  size_t mark = b->len;
  int rc = xo_start(b, "iq", NULL) || xo_attr(b, "type", "result") ||
           xo_attr(b, "id", c->iq_id) || buf_putc(b, '>') ||
           xo_start(b, "bind", NS_BIND) || buf_putc(b, '>') ||
           xo_element(b, "jid", NULL, lx_jid_full(full)) || xo_end(b, "bind") ||
           xo_end(b, "iq");
  if (wrote(c, mark, rc)) {
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
  if ((condition != LX_ERR_BIND_CONFLICT &&
       condition != LX_ERR_BIND_NOT_ALLOWED &&
       condition != LX_ERR_BIND_RESOURCE_CONSTRAINT &&
       condition != LX_ERR_BIND_BAD_REQUEST) ||
      (text && xml_check_text(text, strlen(text), NULL)))
    return LX_ERR_INVALID;
  int rc = bind_error(c, condition, text);
  return c->phase == PH_FAILED ? c->error.code : rc;
}

/* RFC 6120 §8.1.2.1: the server stamps the sender's address; RFC 6121
 * §3.1.2: the bare JID on subscription presence. The legacy session
 * (RFC 3921 §3) is a no-op answered here. */
static int server_on_stanza(lx_conn *c, lx_stanza *s) {
  lx_elem *e = s->root;
  if (!is_stanza(e))
    return 0;
  const char *type = lx_elem_attr(e, NULL, "type");
  if (strcmp(e->name, "iq") == 0 && type && strcmp(type, "set") == 0 &&
      lx_elem_child(e, NS_SESSION, "session")) {
    const char *id = lx_elem_attr(e, NULL, "id");
    buf *b = &c->out;
    size_t mark = b->len;
    int rc = xo_start(b, "iq", NULL) || xo_attr(b, "type", "result") ||
             (id && xo_attr(b, "id", id)) || buf_put(b, "/>", 2);
    lx_stanza_free(s);
    rc = wrote(c, mark, rc);
    return rc < 0 ? rc : 1;
  }
  int subscription =
      strcmp(e->name, "presence") == 0 && type &&
      (strcmp(type, "subscribe") == 0 || strcmp(type, "subscribed") == 0 ||
       strcmp(type, "unsubscribe") == 0 || strcmp(type, "unsubscribed") == 0);
  const char *from = subscription ? lx_jid_bare(c->full) : lx_jid_full(c->full);
  if (lx_elem_set_attr(s, e, NULL, "from", from, NULL)) {
    lx_stanza_free(s);
    return fail_nomem(c);
  }
  return 0;
}

static const role_info client_role = {
    LX_TLS_CLIENT,      CLIENT,           1,
    client_send_header, client_on_header, client_on_stanza};
static const role_info server_role = {
    LX_TLS_SERVER,      SERVER,           0,
    server_send_header, server_on_header, server_on_stanza};

/* ---- input --------------------------------------------------------------- */

/* How many elements may complete in the next piece of input. */
static size_t budget(const lx_conn *c) {
  switch (c->phase) {
  case PH_READY:
  case PH_CLOSING:
    return queued(c) < c->max_events ? c->max_events - queued(c) : 0;
  case PH_HEADER:
  case PH_FEATURES:
  case PH_OFFERED:
  case PH_STARTTLS:
  case PH_SASL:
  case PH_BIND: return 1;
  default: /* waiting for the application, TLS, or done */ return 0;
  }
}

/* The length of the longest prefix of data[0..len) holding at most n '>'. */
static size_t piece(const char *data, size_t len, size_t n) {
  size_t at = 0;
  while (n-- > 0) {
    const char *gt = memchr(data + at, '>', len - at);
    if (!gt)
      return len;
    at = (size_t)(gt - data) + 1;
  }
  return at;
}

/* Acts on what the parser has queued. */
static int drain_parser(lx_conn *c) {
  lx_parse_event pe;
  while (c->phase != PH_FAILED && lx_parser_next(c->parser, &pe)) {
    int rc = 0;
    switch (pe.type) {
    case LX_PARSE_OPEN: /* not while closing: the stream is over */
      if (c->phase == PH_HEADER)
        rc = c->role->on_header(c, pe.stanza);
      else
        lx_stanza_free(pe.stanza);
      break;
    case LX_PARSE_STANZA: rc = dispatch(c, pe.stanza); break;
    case LX_PARSE_CLOSE: rc = on_peer_close(c); break;
    }
    if (rc < 0)
      return rc;
  }
  return 0;
}

int lx_conn_trim(lx_conn *c) {
  if (c->phase != PH_READY && c->phase != PH_CLOSING)
    return 0;
  if (c->tls_on)
    lx_tls_trim(c->tls);
  return lx_parser_trim(c->parser);
}

/* Gives plaintext to the parser a piece at a time and acts on each piece.
 * Returns how much was taken: less than len when the connection waits for
 * the application or the stream moved on to TLS. */
static ssize_t feed_xml(lx_conn *c, const char *data, size_t len) {
  size_t done = 0;
  int was_tls = c->tls_on;
  if (c->phase == PH_CLOSED)
    return (ssize_t)len; /* nothing more is read */
  while (done < len && c->tls_on == was_tls && c->phase != PH_FAILED) {
    size_t n = budget(c);
    if (n == 0)
      break;
    n = piece(data + done, len - done, n);
    if (c->trace) {
      lx_conn_event *ev = push_event(c, LX_CONN_RECEIVED);
      char *copy = ev ? malloc(n + 1) : NULL;
      if (!copy) {
        if (ev)
          c->events.len--;
        return fail_nomem(c);
      }
      memcpy(copy, data + done, n);
      copy[n] = '\0';
      ev->data = copy;
      ev->len = n;
    }
    ssize_t k = lx_parser_feed(c->parser, data + done, n);
    done += n;
    int rc = drain_parser(c);
    if (rc < 0)
      return rc;
    /* what follows </stream:stream> is ignored, even what the parser
     * rejected in the same piece: the stream had ended before it */
    if (c->phase == PH_CLOSED)
      return (ssize_t)len;
    if (k < 0) {
      int code = (int)k;
      return fail(c, code,
                  code == LX_ERR_NOMEM ? LX_ERR_RESOURCE_CONSTRAINT : code,
                  "%s", lx_parser_error(c->parser)->detail);
    }
  }
  return c->phase == PH_FAILED ? c->error.code : (ssize_t)done;
}

/* The peer's close_notify. */
static int tls_closed(lx_conn *c) {
  if (c->phase == PH_CLOSING || c->phase == PH_CLOSED) {
    if (c->phase == PH_CLOSING)
      closed(c);
    return 0;
  }
  return fail(c, LX_ERR_CONN_CLOSED, 0,
              "the peer closed TLS without closing the stream");
}

static int fail_tls(lx_conn *c, int code) {
  return fail(c, code, 0, "%s", lx_tls_error(c->tls)->detail);
}

/* Ciphertext in, through TLS to the parser. Returns the ciphertext taken
 * (less than len when the connection waits for the application; the
 * plaintext TLS already gave is held meanwhile). */
static ssize_t recv_tls(lx_conn *c, const char *data, size_t len) {
  size_t taken = 0;
  for (;;) {
    if (c->held.len) { /* plaintext left over from before */
      ssize_t k =
          feed_xml(c, c->held.data + c->held_off, c->held.len - c->held_off);
      if (k < 0)
        return k;
      c->held_off += (size_t)k;
      if (c->held_off < c->held.len)
        return (ssize_t)taken;
      buf_free(&c->held);
      c->held_off = 0;
    }
    if (c->phase == PH_FAILED)
      return c->error.code;
    if (budget(c) == 0 && c->phase != PH_CLOSED && c->phase != PH_HANDSHAKE)
      return (ssize_t)taken; /* the application has to act first */
    char plain[READ_CHUNK];
    ssize_t r = lx_tls_read(c->tls, plain, sizeof plain);
    if (r == LX_ERR_TLS_CLOSED) {
      int rc = tls_closed(c);
      return rc < 0 ? rc : (ssize_t)len;
    }
    if (r < 0)
      return fail_tls(c, (int)r);
    if (r > 0) {
      ssize_t k = feed_xml(c, plain, (size_t)r);
      if (k < 0)
        return k;
      if ((size_t)k < (size_t)r &&
          buf_put(&c->held, plain + k, (size_t)r - (size_t)k))
        return fail_nomem(c);
      continue;
    }
    if (taken == len)
      return (ssize_t)taken;
    ssize_t k = lx_tls_recv(c->tls, data + taken, len - taken);
    if (k < 0)
      return fail_tls(c, (int)k);
    taken += (size_t)k;
    if (c->phase == PH_HANDSHAKE && lx_tls_get_state(c->tls) == LX_TLS_OPEN &&
        tls_opened(c) < 0)
      return c->error.code;
    if (k == 0)
      return (ssize_t)taken; /* TLS holds all it may: read first */
  }
}

ssize_t lx_conn_recv(lx_conn *c, const char *data, size_t len) {
  if (c->phase == PH_FAILED)
    return c->error.code;
  if (c->phase == PH_NEW)
    return LX_ERR_STATE;
  if (!data && len)
    return LX_ERR_INVALID;
  if (len == 0 && c->tls_on) { /* go on with the plaintext held */
    ssize_t n = recv_tls(c, NULL, 0);
    return n < 0 ? n : 0;
  }
  size_t done = 0;
  while (done < len) {
    ssize_t n = c->tls_on ? recv_tls(c, data + done, len - done)
                          : feed_xml(c, data + done, len - done);
    if (n < 0)
      return n;
    done += (size_t)n;
    if (n == 0)
      break;
  }
  return (ssize_t)done;
}

int lx_conn_recv_eof(lx_conn *c) {
  if (c->phase == PH_FAILED)
    return c->error.code;
  if (c->phase == PH_CLOSED)
    return 0;
  if (c->phase == PH_CLOSING) {
    closed(c);
    return 0;
  }
  int truncated = c->tls_on && lx_tls_get_state(c->tls) != LX_TLS_CLOSED;
  c->eof = 1; /* nothing can be written any more */
  if (c->tls_on)
    lx_tls_recv_eof(c->tls);
  return fail(c, truncated ? LX_ERR_TLS_TRUNCATED : LX_ERR_CONN_CLOSED, 0,
              "the connection ended before the stream was closed");
}

/* ---- sending ------------------------------------------------------------- */

size_t lx_conn_peek_send(lx_conn *c, const char **data) {
  if (c->clear || !c->tls_on) {
    *data = c->out.data ? c->out.data + c->out_off : NULL;
    return c->clear ? c->clear : out_pending(c);
  }
  flush_tls(c);
  return lx_tls_peek_send(c->tls, data);
}

void lx_conn_consume_send(lx_conn *c, size_t n) {
  if (c->clear || !c->tls_on) {
    size_t avail = c->clear ? c->clear : out_pending(c);
    if (n > avail)
      n = avail;
    if (c->clear)
      c->clear -= n;
    out_consumed(c, n);
  } else {
    lx_tls_consume_send(c->tls, n);
  }
}

size_t lx_conn_pending_send(const lx_conn *c) {
  const char *p;
  size_t tls = c->tls_on ? lx_tls_peek_send(c->tls, &p) : 0;
  return out_pending(c) + tls;
}

int lx_conn_submit_xml(lx_conn *c, const char *xml, size_t len) {
  if (c->phase == PH_FAILED)
    return c->error.code;
  if (c->phase != PH_READY)
    return LX_ERR_STATE;
  if (!xml)
    return LX_ERR_INVALID;
  if (lx_conn_pending_send(c) + len > c->max_output_bytes)
    return LX_ERR_FULL;
  size_t mark = c->out.len;
  if (buf_put(&c->out, xml, len))
    return LX_ERR_NOMEM; /* nothing queued: not fatal */
  return sent(c, mark);
}

int lx_conn_submit(lx_conn *c, const lx_elem *e) {
  buf b = BUF_INIT;
  if (!e)
    return LX_ERR_INVALID;
  if (c->phase == PH_FAILED)
    return c->error.code;
  if (c->phase != PH_READY)
    return LX_ERR_STATE;
  if (serialize_elem(&b, e, LX_NS_CLIENT, 0)) {
    buf_free(&b);
    return LX_ERR_NOMEM;
  }
  int rc = lx_conn_submit_xml(c, b.data, b.len);
  buf_free(&b);
  return rc;
}

int lx_conn_keepalive(lx_conn *c) {
  if (c->phase != PH_READY || lx_conn_pending_send(c))
    return 0;
  size_t mark = c->out.len;
  return wrote(c, mark, buf_putc(&c->out, ' ')) ? 0 : 1;
}

/* ---- life cycle ---------------------------------------------------------- */

void lx_conn_opts_init(lx_conn_opts *o) {
  memset(o, 0, sizeof *o);
  o->tls = LX_CONN_TLS_REQUIRED;
  lx_sasl_client_opts_init(&o->sasl_client);
  lx_sasl_server_opts_init(&o->sasl_server);
  o->max_auth_attempts = 3;
  o->max_bind_attempts = 5;
  o->offer_session = 1;
  lx_parser_opts_init(&o->parser);
  o->max_preauth_stanza_bytes = 10000;
  o->max_output_bytes = 1048576;
  o->max_events = 64;
}

/* Checks and copies the options. */
static int configure(lx_conn *c, const lx_conn_opts *o, lx_error *err) {
  int nomem = 0, rc;
  if (o->tls > LX_CONN_TLS_DIRECT)
    return error_set(err, LX_ERR_INVALID, "unknown TLS mode %d", (int)o->tls);
  if (o->tls != LX_CONN_TLS_DISABLED && !o->tls_ctx)
    return error_set(err, LX_ERR_INVALID, "TLS needs a context (tls_ctx)");
  if (o->lang && !valid_lang(o->lang))
    return error_set(err, LX_ERR_INVALID, "lang '%s' is not a language tag",
                     o->lang);
  if (!o->max_preauth_stanza_bytes || !o->max_output_bytes || !o->max_events)
    return error_set(err, LX_ERR_INVALID, "a limit is zero");
  for (size_t i = 0; i < o->n_ids; i++)
    if (!o->ids[i] || !*o->ids[i] || strlen(o->ids[i]) >= ID_SIZE ||
        xml_check_text(o->ids[i], strlen(o->ids[i]), NULL))
      return error_set(err, LX_ERR_INVALID, "ids[%zu]: 1 to %d characters", i,
                       ID_SIZE - 1);
  if (o->n_cb_types > MAX_CB)
    return error_set(err, LX_ERR_INVALID, "cb_types: at most %d", MAX_CB);
  c->n_cb_types = o->cb_types ? o->n_cb_types : MAX_CB;
  for (size_t i = 0; i < c->n_cb_types; i++) {
    c->cb_types[i] = o->cb_types ? 0 : cb_default[i];
    for (size_t t = 0; o->cb_types && t < MAX_CB; t++)
      if (o->cb_types[i] &&
          strcmp(o->cb_types[i], lx_tls_cb_name(cb_default[t])) == 0)
        c->cb_types[i] = cb_default[t];
    if (!c->cb_types[i])
      return error_set(err, LX_ERR_INVALID, "cb_types[%zu]: unknown type", i);
  }
  for (size_t i = 0; i < o->n_extension_ns; i++)
    if (!o->extension_ns[i] || !*o->extension_ns[i])
      return error_set(err, LX_ERR_INVALID, "extension_ns[%zu] is empty", i);
  c->tls_mode = o->tls;
  c->lang = dup_str(o->lang ? o->lang : "en", &nomem);
  c->extension_ns = dup_list(o->extension_ns, o->n_extension_ns, &nomem);
  c->n_extension_ns = c->extension_ns ? o->n_extension_ns : 0;
  c->ids = dup_list(o->ids, o->n_ids, &nomem);
  c->n_ids = c->ids ? o->n_ids : 0;
  c->parser_opts = o->parser;
  c->parser_opts.default_ns = LX_NS_CLIENT;
  c->max_preauth_stanza_bytes = o->max_preauth_stanza_bytes;
  c->max_output_bytes = o->max_output_bytes;
  c->max_events = o->max_events;
  c->trace = o->trace;
  if (nomem)
    return error_set(err, LX_ERR_NOMEM, "out of memory");
  if ((rc = new_parser(c)) != 0)
    return error_set(err, rc, "invalid parser limits");
  if (o->tls != LX_CONN_TLS_DISABLED) {
    const char *peer = c->jid ? lx_jid_domain_ascii(c->jid) : NULL;
    if ((rc = lx_tls_new(&c->tls, o->tls_ctx, peer, err)) != 0)
      return rc;
    if (o->tls_session && c->role->tls_role == LX_TLS_CLIENT &&
        (rc = lx_tls_set_session(c->tls, o->tls_session, err)) != 0)
      return rc;
  }
  return 0;
}

static int configure_client(lx_conn *c, const lx_conn_opts *o, lx_error *err) {
  int nomem = 0;
  if (!o->jid)
    return error_set(err, LX_ERR_INVALID, "a client needs its JID");
  int rc = lx_jid_new(&c->jid, o->jid, strlen(o->jid), err);
  if (rc)
    return rc;
  copy_sasl_client_opts(&c->sasl_client_opts, &o->sasl_client, &nomem);
  return nomem ? error_set(err, LX_ERR_NOMEM, "out of memory") : 0;
}

static int configure_server(lx_conn *c, const lx_conn_opts *o, lx_error *err) {
  int nomem = 0, rc;
  if (!o->n_domains || !o->domains)
    return error_set(err, LX_ERR_INVALID, "a server needs its domains");
  if (o->max_auth_attempts < 2 || o->max_auth_attempts > 5)
    return error_set(err, LX_ERR_INVALID, "max_auth_attempts: 2 to 5");
  if (o->max_bind_attempts < 5 || o->max_bind_attempts > 10)
    return error_set(err, LX_ERR_INVALID, "max_bind_attempts: 5 to 10");
  if (!(c->domains = calloc(o->n_domains, sizeof *c->domains)))
    return error_set(err, LX_ERR_NOMEM, "out of memory");
  c->n_domains = o->n_domains;
  for (size_t i = 0; i < o->n_domains; i++) {
    const char *d = o->domains[i];
    if (!d || (rc = lx_jid_new(&c->domains[i], d, strlen(d), err)) != 0 ||
        lx_jid_local(c->domains[i]) || lx_jid_resource(c->domains[i]))
      return error_set(err, LX_ERR_INVALID, "domains[%zu] is not a domain", i);
  }
  if (o->features) {
    /* the extra features must be XML elements */
    lx_stanza *check = NULL;
    buf b = BUF_INIT;
    if (buf_puts(&b, "<f>") || buf_puts(&b, o->features) ||
        buf_puts(&b, "</f>"))
      nomem = 1;
    else if ((rc = lx_parse_document(&check, b.data, b.len, NULL, err)) != 0 ||
             lx_elem_first_node(lx_stanza_root(check)) == NULL) {
      lx_stanza_free(check);
      buf_free(&b);
      return error_set(err, LX_ERR_INVALID, "features: not XML elements");
    }
    lx_stanza_free(check);
    buf_free(&b);
    c->features_xml = dup_str(o->features, &nomem);
  }
  c->max_auth_attempts = o->max_auth_attempts;
  c->max_bind_attempts = o->max_bind_attempts;
  c->offer_session = o->offer_session;
  copy_sasl_server_opts(&c->sasl_server_opts, &o->sasl_server, &nomem);
  return nomem ? error_set(err, LX_ERR_NOMEM, "out of memory") : 0;
}

int lx_conn_new(lx_conn **out, lx_conn_role role, const lx_conn_opts *opts,
                lx_error *err) {
  lx_conn_opts dflt;
  if (!out || (role != LX_CONN_CLIENT && role != LX_CONN_SERVER))
    return error_set(err, LX_ERR_INVALID, "unknown role");
  if (!opts) {
    lx_conn_opts_init(&dflt);
    opts = &dflt;
  }
  lx_conn *c = calloc(1, sizeof *c);
  if (!c)
    return error_set(err, LX_ERR_NOMEM, "out of memory");
  c->role = role == LX_CONN_CLIENT ? &client_role : &server_role;
  c->phase = PH_NEW;
  int rc = role == LX_CONN_CLIENT ? configure_client(c, opts, err)
                                  : configure_server(c, opts, err);
  if (rc == 0)
    rc = configure(c, opts, err);
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
  for (size_t i = c->events.head; i < c->events.len; i++)
    free_event(&c->events.items[i]);
  free(c->events.items);
  free(c->last_data);
  free_keys(c->last_keys);
  lx_parser_free(c->parser);
  lx_tls_free(c->tls);
  buf_free(&c->out);
  buf_wipe(&c->held); /* may hold a PLAIN password */
  free(c->lang);
  free(c->features_xml);
  free_list(c->extension_ns, c->n_extension_ns);
  free_list(c->ids, c->n_ids);
  lx_jid_free(c->account);
  lx_jid_free(c->full);
  lx_jid_free(c->jid);
  lx_sasl_client_free(c->sasl_client);
  free_sasl_client_opts(&c->sasl_client_opts);
  for (size_t i = 0; c->domains && i < c->n_domains; i++)
    lx_jid_free(c->domains[i]);
  free(c->domains);
  free(c->peer_from);
  lx_sasl_server_free(c->sasl_server);
  free_sasl_server_opts(&c->sasl_server_opts);
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

/* conn_io.c: the connection's bytes. Input goes to TLS or straight to the
 * XML parser, whose top-level elements go to the negotiation (conn.c);
 * output is plaintext XML queued here, sent in the clear or through TLS.
 *
 * Until the stream is ready the parser is given input up to one '>' at a
 * time, so the connection acts on every element before the next byte is
 * parsed: bytes after <proceed/> or <starttls/> go to TLS, bytes after
 * <success/> to a new parser, and nothing is parsed while the application
 * holds a decision. Once ready, a piece holds at most as many '>' as events
 * may still be queued (an element ends at a '>'), which bounds the queue. */
#include "conn_internal.h"
#include "serialize.h"
#include "xmlout.h"

#include <limits.h>
#include <string.h>

/* ---- output -------------------------------------------------------------- */

size_t conn_out_pending(const lx_conn *c) { return c->out.len - c->out_off; }

/* The offset in out where the i-th recorded element ends. */
static size_t end_at(const lx_conn *c, size_t i) {
  size_t at;
  memcpy(&at, c->ends.data + i * sizeof at, sizeof at);
  return at;
}

static void out_consumed(lx_conn *c, size_t n) {
  c->out_off += n;
  if (c->out_off == c->out.len) {
    buf_free(&c->out);
    c->out_off = 0;
    c->ends.len = c->ends_off = 0;
    return;
  }
  while (c->ends_off < c->ends.len &&
         end_at(c, c->ends_off / sizeof(size_t)) <= c->out_off)
    c->ends_off += sizeof(size_t);
}

/* The most plaintext of one TLS record (RFC 8446 §5.1). */
#define RECORD_PLAINTEXT 16384

/* How much of the pending output the next TLS record takes: up to the last
 * element that ends within a record's worth (a record's worth of one
 * larger element). Records then end between elements, several small ones
 * sharing one: a peer decrypts whole records only, so a connection cut
 * anywhere leaves it no partial element. Prosody 0.12 parses what follows
 * an XEP-0198 resumption with the parser of the session's first
 * connection, and a stanza left partial there swallows every stanza of the
 * resumed stream (docs/sm.md). */
static size_t record_piece(const lx_conn *c) {
  size_t pending = conn_out_pending(c), piece = 0;
  size_t n = c->ends.len / sizeof(size_t);
  for (size_t i = c->ends_off / sizeof(size_t); i < n; i++) {
    size_t at = end_at(c, i) - c->out_off;
    if (at > RECORD_PLAINTEXT)
      break;
    piece = at;
  }
  if (piece == 0)
    piece = pending < RECORD_PLAINTEXT ? pending : RECORD_PLAINTEXT;
  return piece;
}

int conn_fail(lx_conn *c, int code, int condition, const char *fmt, ...)
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
  while (conn_out_pending(c)) {
    ssize_t k = lx_tls_write(c->tls, c->out.data + c->out_off, record_piece(c));
    if (k < 0)
      return conn_fail(c, (int)k, 0, "%s", lx_tls_error(c->tls)->detail);
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

int conn_sent(lx_conn *c, size_t mark) {
  size_t end = c->out.len;
  if (c->tls_on && end > mark && buf_put(&c->ends, &end, sizeof end))
    return conn_fail(c, LX_ERR_NOMEM, 0, "out of memory");
  if (c->trace) {
    lx_conn_event *ev = conn_push_event(c, LX_CONN_SENT);
    char *copy = ev ? malloc(c->out.len - mark + 1) : NULL;
    if (!copy) {
      if (ev)
        c->events.len--;
      return conn_fail(c, LX_ERR_NOMEM, 0, "out of memory");
    }
    memcpy(copy, c->out.data + mark, c->out.len - mark);
    copy[c->out.len - mark] = '\0';
    ev->data = copy;
    ev->len = c->out.len - mark;
  }
  return 0;
}

int conn_wrote(lx_conn *c, size_t mark, int rc) {
  if (rc) {
    c->out.len = mark;
    return conn_fail(c, LX_ERR_NOMEM, 0, "out of memory");
  }
  return conn_sent(c, mark);
}

int conn_write_header(lx_conn *c, const char *from, const char *id,
                      const char *to, const char *lang) {
  buf *b = &c->out;
  size_t mark = b->len;
  int rc = buf_puts(b, "<?xml version='1.0'?>") ||
           serialize_stream_start(b, c->role->content_ns) ||
           (from && xo_attr(b, "from", from)) || (id && xo_attr(b, "id", id)) ||
           (to && xo_attr(b, "to", to)) ||
           (c->role->version && xo_attr(b, "version", c->role->version)) ||
           xo_attr(b, "xml:lang", lang) || buf_putc(b, '>');
  c->header_sent = 1;
  return conn_wrote(c, mark, rc);
}

int conn_writable(const lx_conn *c) {
  if (c->eof || c->phase == PH_NEW || c->phase == PH_CLOSING ||
      c->phase == PH_CLOSED || c->phase == PH_FAILED)
    return 0;
  if (!c->tls_on)
    return 1;
  lx_tls_state st = lx_tls_get_state(c->tls);
  return st == LX_TLS_OPEN || st == LX_TLS_CLOSED;
}

void conn_write_footer(lx_conn *c) {
  size_t mark = c->out.len;
  if (buf_puts(&c->out, LX_STREAM_FOOTER)) {
    c->out.len = mark;
    return;
  }
  c->tls_close = c->tls_on;
  conn_sent(c, mark);
}

/* ---- input --------------------------------------------------------------- */

static int is_xml_space(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* How many leading bytes of data[0..len) are the old stream's white space
 * after a stop at this level (RFC 6120 §11.7: real clients write a newline
 * after each element, also right before a restart). */
static size_t old_space(lx_conn *c, enum skip_ws level, const char *data,
                        size_t len) {
  size_t n = 0;
  if (c->skip_ws != level)
    return 0;
  while (n < len && is_xml_space(data[n]))
    n++;
  if (n < len)
    c->skip_ws = SKIP_NONE;
  return n;
}

/* Reports data[0..len) as received (trace). */
static int received(lx_conn *c, const char *data, size_t len) {
  if (!c->trace || !len)
    return 0;
  lx_conn_event *ev = conn_push_event(c, LX_CONN_RECEIVED);
  char *copy = ev ? malloc(len + 1) : NULL;
  if (!copy) {
    if (ev)
      c->events.len--;
    return conn_fail_nomem(c);
  }
  memcpy(copy, data, len);
  copy[len] = '\0';
  ev->data = copy;
  ev->len = len;
  return 0;
}

/* Gives plaintext to the parser, a slice at a time. Returns how much was
 * taken: less when the parser stopped right after an element that may
 * change the layer (lx_parser_stop_after, set from the rules). A parser
 * fault is acted on once the events before it are dispatched. */
static ssize_t parse(lx_conn *c, const char *data, size_t len,
                     enum skip_ws level) {
  size_t skip = old_space(c, level, data, len);
  size_t n = len - skip < FEED_SLICE ? len - skip : FEED_SLICE;
  ssize_t k = n ? lx_parser_feed(c->parser, data + skip, n) : 0;
  size_t took = k < 0 ? n : (size_t)k;
  if (received(c, data, skip + took))
    return c->error.code;
  if (lx_parser_stopped(c->parser))
    c->skip_ws = level;
  return (ssize_t)(skip + took);
}

static size_t in_pending(const lx_conn *c) { return c->in.len - c->in_off; }

static void in_consumed(lx_conn *c, size_t n) {
  c->in_off += n;
  if (c->in_off == c->in.len) {
    if (c->tls_on)
      buf_free(&c->in);
    else
      buf_wipe(&c->in); /* may hold a PLAIN password */
    c->in_off = 0;
  }
}

static void held_consumed(lx_conn *c, size_t n) {
  c->held_off += n;
  if (c->held_off == c->held.len) {
    buf_wipe(&c->held); /* may hold a PLAIN password */
    c->held_off = 0;
  }
}

/* The peer's close_notify. */
static int tls_closed(lx_conn *c) {
  if (c->phase == PH_CLOSING || c->phase == PH_CLOSED) {
    if (c->phase == PH_CLOSING)
      conn_closed(c);
    return 0;
  }
  return conn_fail(c, LX_ERR_CONN_CLOSED, 0,
                   "the peer closed TLS without closing the stream");
}

static int fail_tls(lx_conn *c, int code) {
  return conn_fail(c, code, 0, "%s", lx_tls_error(c->tls)->detail);
}

/* Through TLS: the plaintext held first, then what TLS decrypts, then
 * more ciphertext for it. Returns 1 when something happened. */
static int step_tls(lx_conn *c) {
  if (c->held.len) {
    ssize_t k = parse(c, c->held.data + c->held_off, c->held.len - c->held_off,
                      SKIP_PLAIN);
    if (k > 0)
      held_consumed(c, (size_t)k);
    return 1;
  }
  char plain[READ_CHUNK];
  ssize_t r = lx_tls_read(c->tls, plain, sizeof plain);
  if (r == LX_ERR_TLS_CLOSED)
    return tls_closed(c), 1;
  if (r < 0)
    return fail_tls(c, (int)r), 1;
  if (r > 0) {
    ssize_t k = parse(c, plain, (size_t)r, SKIP_PLAIN);
    if (k >= 0 && (size_t)k < (size_t)r &&
        buf_put(&c->held, plain + k, (size_t)r - (size_t)k))
      conn_fail_nomem(c);
    OPENSSL_cleanse(plain, (size_t)r);
    return 1;
  }
  if (!in_pending(c))
    return 0;
  size_t skip = old_space(c, SKIP_RAW, c->in.data + c->in_off, in_pending(c));
  in_consumed(c, skip);
  if (!in_pending(c))
    return skip > 0;
  ssize_t k = lx_tls_recv(c->tls, c->in.data + c->in_off, in_pending(c));
  if (k < 0)
    return fail_tls(c, (int)k), 1;
  in_consumed(c, (size_t)k);
  if (c->phase == PH_HANDSHAKE && lx_tls_get_state(c->tls) == LX_TLS_OPEN)
    conn_tls_opened(c);
  return k > 0 || skip > 0;
}

/* Acts on the parser's next event. */
static void dispatch_next(lx_conn *c, lx_parse_event *pe) {
  switch (pe->type) {
  case LX_PARSE_OPEN: conn_on_open(c, pe->stanza); break;
  case LX_PARSE_STANZA: conn_dispatch(c, pe->stanza); break;
  case LX_PARSE_CLOSE: conn_on_peer_close(c); break;
  }
}

int conn_step(lx_conn *c) {
  lx_parse_event pe;
  if (c->phase == PH_CLOSED) { /* nothing more is read */
    in_consumed(c, in_pending(c));
    return 0;
  }
  if (c->phase == PH_NEW || c->phase == PH_FAILED || conn_paused(c))
    return 0;
  if (lx_parser_next(c->parser, &pe)) {
    dispatch_next(c, &pe);
    return 1;
  }
  const lx_error *pe_err = lx_parser_error(c->parser);
  if (pe_err->code)
    return conn_fail(c, pe_err->code,
                     pe_err->code == LX_ERR_NOMEM ? LX_ERR_RESOURCE_CONSTRAINT
                                                  : pe_err->code,
                     "%s", pe_err->detail),
           1;
  /* stopped after an element that kept the layer after all (a SASL step
   * that failed or goes on): the same stream goes on */
  if (lx_parser_stopped(c->parser))
    lx_parser_resume(c->parser);
  if (c->tls_on)
    return step_tls(c);
  if (!in_pending(c))
    return 0;
  ssize_t k = parse(c, c->in.data + c->in_off, in_pending(c), SKIP_RAW);
  if (k > 0)
    in_consumed(c, (size_t)k);
  return 1;
}

int lx_conn_trim(lx_conn *c) {
  int released = 0;
  switch (c->phase) {
  case PH_HEADER:  /* the peer's header (a slowloris dribbles it) */
  case PH_OFFERED: /* a server's features offered: the client's choice */
  case PH_READY:
  case PH_CLOSING: break;
  default: return 0; /* a TLS handshake, SASL, binding: state in flight */
  }
  if (c->tls_on) /* only once the handshake is over (LX_TLS_OPEN) */
    released |= lx_tls_trim(c->tls);
  return lx_parser_trim(c->parser) | released;
}

ssize_t lx_conn_recv(lx_conn *c, const char *data, size_t len) {
  if (c->phase == PH_FAILED)
    return c->error.code;
  if (c->phase == PH_NEW)
    return LX_ERR_STATE;
  if (!data && len)
    return LX_ERR_INVALID;
  if (c->phase == PH_CLOSED || len == 0)
    return (ssize_t)len; /* after the close: ignored */
  if (len > c->max_input_bytes - in_pending(c))
    return LX_ERR_FULL;
  if (c->in_off) { /* what was consumed makes room */
    memmove(c->in.data, c->in.data + c->in_off, in_pending(c));
    c->in.len -= c->in_off;
    c->in_off = 0;
  }
  if (buf_put(&c->in, data, len))
    return conn_fail_nomem(c);
  return (ssize_t)len;
}

int lx_conn_want_read(const lx_conn *c) {
  return c->phase != PH_NEW && c->phase != PH_CLOSED && c->phase != PH_FAILED &&
         !c->eof && !conn_paused(c) && in_pending(c) < c->max_input_bytes;
}

int lx_conn_want_write(const lx_conn *c) { return lx_conn_pending_send(c) > 0; }

int lx_conn_recv_eof(lx_conn *c) {
  while (conn_step(c)) /* the input before the end comes first */
    ;
  if (c->phase == PH_FAILED)
    return c->error.code;
  if (c->phase == PH_CLOSED)
    return 0;
  if (c->phase == PH_CLOSING) {
    conn_closed(c);
    return 0;
  }
  int truncated = c->tls_on && lx_tls_get_state(c->tls) != LX_TLS_CLOSED;
  c->eof = 1; /* nothing can be written any more */
  if (c->tls_on)
    lx_tls_recv_eof(c->tls);
  return conn_fail(c, truncated ? LX_ERR_TLS_TRUNCATED : LX_ERR_CONN_CLOSED, 0,
                   "the connection ended before the stream was closed");
}

/* ---- sending ------------------------------------------------------------- */

size_t lx_conn_peek_send(lx_conn *c, const char **data) {
  if (c->clear || !c->tls_on) {
    *data = c->out.data ? c->out.data + c->out_off : NULL;
    return c->clear ? c->clear : conn_out_pending(c);
  }
  flush_tls(c);
  return lx_tls_peek_send(c->tls, data);
}

void lx_conn_consume_send(lx_conn *c, size_t n) {
  if (c->clear || !c->tls_on) {
    size_t avail = c->clear ? c->clear : conn_out_pending(c);
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
  return conn_out_pending(c) + tls;
}

static int can_submit(const lx_conn *c) {
  if (c->phase == PH_FAILED)
    return c->error.code;
  return c->phase == PH_READY ? 0 : LX_ERR_STATE;
}

int conn_submit_serialized(lx_conn *c, const char *xml, size_t len) {
  int rc = can_submit(c);
  if (rc)
    return rc;
  if (lx_conn_pending_send(c) + len > c->max_output_bytes)
    return LX_ERR_FULL;
  size_t mark = c->out.len;
  if (buf_put(&c->out, xml, len))
    return conn_fail_nomem(c); /* fatal, as everywhere (lx_error_is_fatal) */
  return conn_sent(c, mark);
}

/* Whether xml is one balanced top-level element in the content namespace
 * (what the peer's parser will take as one stanza): checked by parsing it
 * as a document, within the output limit. Returns 0, LX_ERR_INVALID or
 * LX_ERR_NOMEM. */
static int one_element(const lx_conn *c, const char *xml, size_t len) {
  lx_parser_opts o;
  lx_stanza *s = NULL;
  lx_parser_opts_init(&o);
  o.default_ns = c->role->content_ns;
  o.max_stanza_bytes = o.max_text_bytes = c->max_output_bytes;
  o.max_children = UINT_MAX;
  o.stamp_lang = 0;
  if (len < 2 || xml[0] != '<' || xml[1] == '?' || xml[1] == '!')
    return LX_ERR_INVALID; /* no declaration, no text before */
  int rc = lx_parse_document(&s, xml, len, &o, NULL);
  lx_stanza_free(s);
  return rc == 0 || rc == LX_ERR_NOMEM ? rc : LX_ERR_INVALID;
}

int lx_conn_submit_xml(lx_conn *c, const char *xml, size_t len) {
  int rc = can_submit(c);
  if (rc)
    return rc;
  if (!xml)
    return LX_ERR_INVALID;
  if (lx_conn_pending_send(c) + len > c->max_output_bytes)
    return LX_ERR_FULL;
  if ((rc = one_element(c, xml, len)) != 0)
    return rc == LX_ERR_NOMEM ? conn_fail_nomem(c) : rc;
  return conn_submit_serialized(c, xml, len);
}

int lx_conn_submit(lx_conn *c, const lx_elem *e) {
  buf b = BUF_INIT;
  if (!e)
    return LX_ERR_INVALID;
  int rc = can_submit(c);
  if (rc)
    return rc;
  if (serialize_elem(&b, e, c->role->content_ns, 0)) {
    buf_free(&b);
    return conn_fail_nomem(c);
  }
  /* a tree is one balanced element: its builders check every name */
  rc = conn_submit_serialized(c, b.data, b.len);
  buf_free(&b);
  return rc;
}

int lx_conn_keepalive(lx_conn *c) {
  if (c->phase != PH_READY || lx_conn_pending_send(c))
    return 0;
  size_t mark = c->out.len;
  return conn_wrote(c, mark, buf_putc(&c->out, ' ')) ? 0 : 1;
}

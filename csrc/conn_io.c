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

#include <string.h>

/* ---- output -------------------------------------------------------------- */

size_t conn_out_pending(const lx_conn *c) { return c->out.len - c->out_off; }

static void out_consumed(lx_conn *c, size_t n) {
  c->out_off += n;
  if (c->out_off == c->out.len) {
    buf_free(&c->out);
    c->out_off = 0;
  }
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
    ssize_t k =
        lx_tls_write(c->tls, c->out.data + c->out_off, conn_out_pending(c));
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
  int rc = buf_puts(b, "<?xml version='1.0'?><stream:stream") ||
           xo_attr(b, "xmlns", LX_NS_CLIENT) ||
           xo_attr(b, "xmlns:stream", LX_NS_STREAMS) ||
           (from && xo_attr(b, "from", from)) || (id && xo_attr(b, "id", id)) ||
           (to && xo_attr(b, "to", to)) || xo_attr(b, "version", "1.0") ||
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

/* How many elements may complete in the next piece of input. */
static size_t budget(const lx_conn *c) {
  switch (c->phase) {
  case PH_READY:
  case PH_CLOSING:
    return conn_queued(c) < c->max_events ? c->max_events - conn_queued(c) : 0;
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
    case LX_PARSE_OPEN: rc = conn_on_open(c, pe.stanza); break;
    case LX_PARSE_STANZA: rc = conn_dispatch(c, pe.stanza); break;
    case LX_PARSE_CLOSE: rc = conn_on_peer_close(c); break;
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
      lx_conn_event *ev = conn_push_event(c, LX_CONN_RECEIVED);
      char *copy = ev ? malloc(n + 1) : NULL;
      if (!copy) {
        if (ev)
          c->events.len--;
        return conn_fail_nomem(c);
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
      return conn_fail(c, code,
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
      conn_closed(c);
    return 0;
  }
  return conn_fail(c, LX_ERR_CONN_CLOSED, 0,
                   "the peer closed TLS without closing the stream");
}

static int fail_tls(lx_conn *c, int code) {
  return conn_fail(c, code, 0, "%s", lx_tls_error(c->tls)->detail);
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
        return conn_fail_nomem(c);
      continue;
    }
    if (taken == len)
      return (ssize_t)taken;
    ssize_t k = lx_tls_recv(c->tls, data + taken, len - taken);
    if (k < 0)
      return fail_tls(c, (int)k);
    taken += (size_t)k;
    if (c->phase == PH_HANDSHAKE && lx_tls_get_state(c->tls) == LX_TLS_OPEN &&
        conn_tls_opened(c) < 0)
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
    return conn_fail_nomem(c); /* fatal, as everywhere (lx_error_is_fatal) */
  return conn_sent(c, mark);
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
    return conn_fail_nomem(c);
  }
  int rc = lx_conn_submit_xml(c, b.data, b.len);
  buf_free(&b);
  return rc;
}

int lx_conn_keepalive(lx_conn *c) {
  if (c->phase != PH_READY || lx_conn_pending_send(c))
    return 0;
  size_t mark = c->out.len;
  return conn_wrote(c, mark, buf_putc(&c->out, ' ')) ? 0 : 1;
}

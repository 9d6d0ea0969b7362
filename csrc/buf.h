/* buf.h: a growable byte buffer (internal). */
#ifndef LX_BUF_H
#define LX_BUF_H

#include <stddef.h>
#include <string.h>

typedef struct buf {
  char *data; /* malloc()ed, or NULL while empty */
  size_t len;
  size_t cap;
} buf;

#define BUF_INIT                                                               \
  { NULL, 0, 0 }

/* Makes room for `extra` more bytes. Returns 0 or LX_ERR_NOMEM. */
int buf_grow(buf *b, size_t extra);

static inline int buf_reserve(buf *b, size_t extra) {
  return b->cap - b->len >= extra ? 0 : buf_grow(b, extra);
}

static inline int buf_put(buf *b, const void *p, size_t n) {
  int rc = buf_reserve(b, n);
  if (rc == 0 && n) {
    memcpy(b->data + b->len, p, n);
    b->len += n;
  }
  return rc;
}

static inline int buf_puts(buf *b, const char *s) {
  return buf_put(b, s, strlen(s));
}

static inline int buf_putc(buf *b, char c) { return buf_put(b, &c, 1); }

/* Releases the memory; the buffer is empty and usable again. */
void buf_free(buf *b);

/* Like buf_free, wiping the bytes first (for secrets). */
void buf_wipe(buf *b);

#endif

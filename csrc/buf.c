/* buf.c: a growable byte buffer. */
#include "buf.h"

#include "lxmpp.h"

#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>

int buf_grow(buf *b, size_t extra) {
  if (extra > SIZE_MAX / 2 - b->len)
    return LX_ERR_NOMEM;
  size_t need = b->len + extra;
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need)
    cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p)
    return LX_ERR_NOMEM;
  b->data = p;
  b->cap = cap;
  return 0;
}

void buf_free(buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void buf_wipe(buf *b) {
  if (b->data)
    OPENSSL_cleanse(b->data, b->cap);
  buf_free(b);
}

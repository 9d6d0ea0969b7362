/* base64.c: a strict RFC 4648 §4 base64 codec. */
#include "base64.h"

#include "lxmpp.h"

#include <stdint.h>

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_encode(buf *b, const void *data, size_t len) {
  const unsigned char *p = data;
  if (len > SIZE_MAX / 2 || buf_reserve(b, base64_encoded_len(len)))
    return LX_ERR_NOMEM;
  char *o = b->data + b->len;
  size_t i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    *o++ = alphabet[v >> 18];
    *o++ = alphabet[v >> 12 & 63];
    *o++ = alphabet[v >> 6 & 63];
    *o++ = alphabet[v & 63];
  }
  if (i < len) {
    uint32_t v = (uint32_t)p[i] << 16;
    if (i + 1 < len)
      v |= (uint32_t)p[i + 1] << 8;
    *o++ = alphabet[v >> 18];
    *o++ = alphabet[v >> 12 & 63];
    *o++ = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
    *o++ = '=';
  }
  b->len = (size_t)(o - b->data);
  return 0;
}

/* The 6-bit value of a base64 character, or -1. */
static int value(unsigned char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

int base64_decode(const char *text, size_t len, unsigned char *out, size_t cap,
                  size_t *out_len) {
  const unsigned char *t = (const unsigned char *)text;
  if (len % 4)
    return -1;
  size_t pad = 0;
  if (len && t[len - 1] == '=')
    pad = len >= 2 && t[len - 2] == '=' ? 2 : 1;
  size_t n = len / 4 * 3 - pad;
  if (n > cap)
    return -1;
  size_t o = 0;
  for (size_t i = 0; i < len; i += 4) {
    size_t tail = i + 4 == len ? pad : 0, chars = 4 - tail;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; k++) {
      int d = 0;
      if (k < chars && (d = value(t[i + k])) < 0)
        return -1;
      v = v << 6 | (uint32_t)d;
    }
    /* the bits the padding drops must be zero: one text per byte string */
    if ((tail == 1 && (v & 0xff)) || (tail == 2 && (v & 0xffff)))
      return -1;
    out[o++] = (unsigned char)(v >> 16);
    if (chars > 2)
      out[o++] = (unsigned char)(v >> 8);
    if (chars > 3)
      out[o++] = (unsigned char)v;
  }
  *out_len = o;
  return 0;
}

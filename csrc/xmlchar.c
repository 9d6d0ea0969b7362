/* xmlchar.c: XML 1.0 (fifth edition) character and name rules, escaping. */
#include "xmlchar.h"

#include "lxmpp.h"

#include <stdint.h>

/* Decodes one UTF-8 sequence at s[0..len). Returns its length (1 to 4) and
 * the code point in *cp, or 0 for an ill-formed sequence (truncated,
 * overlong, surrogate, above U+10FFFF). */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp) {
  unsigned char c = s[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t n;
  uint32_t min, v;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2, min = 0x80, v = c & 0x1Fu;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3, min = 0x800, v = c & 0x0Fu;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4, min = 0x10000, v = c & 0x07u;
  } else {
    return 0;
  }
  if (len < n)
    return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    v = (v << 6) | (s[i] & 0x3Fu);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
    return 0;
  *cp = v;
  return n;
}

xml_text_fault xml_check_text(const char *str, size_t len, size_t *at) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < len) {
    unsigned char c = s[i];
    if (c >= 0x20 && c < 0x80) { /* the common case: printable ASCII */
      i++;
      continue;
    }
    xml_text_fault fault = XML_TEXT_OK;
    uint32_t cp;
    size_t n = utf8_decode(s + i, len - i, &cp);
    if (n == 0)
      fault = XML_TEXT_BAD_UTF8;
    else if (cp < 0x20 && cp != 0x9 && cp != 0xA && cp != 0xD)
      fault = XML_TEXT_CONTROL;
    else if (cp == 0xFFFE || cp == 0xFFFF)
      fault = XML_TEXT_NONCHARACTER;
    if (fault) {
      if (at)
        *at = i;
      return fault;
    }
    i += n;
  }
  return XML_TEXT_OK;
}

const char *xml_text_fault_str(xml_text_fault f) {
  switch (f) {
  case XML_TEXT_OK: return "valid";
  case XML_TEXT_BAD_UTF8: return "contains invalid utf8";
  case XML_TEXT_CONTROL: return "contains control characters";
  case XML_TEXT_NONCHARACTER:
    return "contains characters not allowed in XML (U+FFFE or U+FFFF)";
  }
  return "invalid";
}

/* NameStartChar minus ':' (XML 1.0 fifth edition, production [4]). */
static int is_name_start(uint32_t c) {
  if (c < 0x80)
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  return (c >= 0xC0 && c <= 0xD6) || (c >= 0xD8 && c <= 0xF6) ||
         (c >= 0xF8 && c <= 0x2FF) || (c >= 0x370 && c <= 0x37D) ||
         (c >= 0x37F && c <= 0x1FFF) || (c >= 0x200C && c <= 0x200D) ||
         (c >= 0x2070 && c <= 0x218F) || (c >= 0x2C00 && c <= 0x2FEF) ||
         (c >= 0x3001 && c <= 0xD7FF) || (c >= 0xF900 && c <= 0xFDCF) ||
         (c >= 0xFDF0 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0xEFFFF);
}

/* NameChar minus ':' (production [4a]). */
static int is_name_char(uint32_t c) {
  if (c < 0x80)
    return is_name_start(c) || c == '-' || c == '.' || (c >= '0' && c <= '9');
  return is_name_start(c) || c == 0xB7 || (c >= 0x300 && c <= 0x36F) ||
         (c >= 0x203F && c <= 0x2040);
}

int xml_is_name(const char *str, size_t len, int flags) {
  const unsigned char *s = (const unsigned char *)str;
  int colons = 0, at_start = 1;
  size_t i = 0;
  if (len == 0)
    return 0;
  while (i < len) {
    uint32_t cp;
    size_t n = utf8_decode(s + i, len - i, &cp);
    if (n == 0)
      return 0;
    if (cp == ':') {
      /* one colon, between two non-empty NCNames */
      if (!(flags & XML_NAME_QNAME) || colons++ || at_start || i + 1 == len)
        return 0;
      at_start = 1;
    } else if (at_start ? !is_name_start(cp) : !is_name_char(cp)) {
      return 0;
    } else {
      at_start = 0;
    }
    i += n;
  }
  return 1;
}

/* What each byte becomes when escaped (NULL: itself). */
static const char *const text_escapes[256] = {
    ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['\r'] = "&#13;"};
static const char *const attr_escapes[256] = {
    ['&'] = "&amp;",  ['<'] = "&lt;",  ['>'] = "&gt;",   ['\''] = "&apos;",
    ['"'] = "&quot;", ['\t'] = "&#9;", ['\n'] = "&#10;", ['\r'] = "&#13;"};

static int escape(buf *b, const char *s, size_t len,
                  const char *const table[256]) {
  if (buf_reserve(b, len) != 0)
    return LX_ERR_NOMEM;
  size_t run = 0; /* start of the pending run of bytes copied as they are */
  for (size_t i = 0; i < len; i++) {
    const char *e = table[(unsigned char)s[i]];
    if (e) {
      if (buf_put(b, s + run, i - run) || buf_puts(b, e))
        return LX_ERR_NOMEM;
      run = i + 1;
    }
  }
  return buf_put(b, s + run, len - run);
}

int xml_escape_text(buf *b, const char *s, size_t len) {
  return escape(b, s, len, text_escapes);
}

int xml_escape_attr(buf *b, const char *s, size_t len) {
  return escape(b, s, len, attr_escapes);
}

int xml_is_blank(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
      return 0;
  return 1;
}

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

/* ASCII name characters: 1 may start a name, 2 may follow. */
static const unsigned char ascii_name[128] = {
    ['-'] = 2, ['.'] = 2, ['0'] = 2, ['1'] = 2, ['2'] = 2, ['3'] = 2, ['4'] = 2,
    ['5'] = 2, ['6'] = 2, ['7'] = 2, ['8'] = 2, ['9'] = 2, ['A'] = 1, ['B'] = 1,
    ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1,
    ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['_'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,
    ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1,
    ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1,
    ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1};

int xml_is_name(const char *str, size_t len, int flags) {
  const unsigned char *s = (const unsigned char *)str;
  int colons = 0, at_start = 1;
  size_t i = 0;
  if (len == 0)
    return 0;
  while (i < len) {
    uint32_t cp = s[i];
    size_t n = 1;
    if (cp < 0x80) { /* the common case, without decoding */
      unsigned kind = ascii_name[cp];
      if (kind && (kind == 1 || !at_start)) {
        at_start = 0;
        i++;
        continue;
      }
    } else if ((n = utf8_decode(s + i, len - i, &cp)) == 0) {
      return 0;
    }
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
static const char *const text_escapes[128] = {
    ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['\r'] = "&#13;"};
static const char *const attr_escapes[128] = {
    ['&'] = "&amp;",  ['<'] = "&lt;",  ['>'] = "&gt;",   ['\''] = "&apos;",
    ['"'] = "&quot;", ['\t'] = "&#9;", ['\n'] = "&#10;", ['\r'] = "&#13;"};

/* Bytes a run of plain characters stops at: 1 in text, 2 in attributes. */
#define CONTROLS                                                               \
  [0] = 3, [1] = 3, [2] = 3, [3] = 3, [4] = 3, [5] = 3, [6] = 3, [7] = 3,      \
  [8] = 3, [11] = 3, [12] = 3, [14] = 3, [15] = 3, [16] = 3, [17] = 3,         \
  [18] = 3, [19] = 3, [20] = 3, [21] = 3, [22] = 3, [23] = 3, [24] = 3,        \
  [25] = 3, [26] = 3, [27] = 3, [28] = 3, [29] = 3, [30] = 3, [31] = 3
static const unsigned char stop[256] = {
    CONTROLS,     ['&'] = 3,    ['<'] = 3,    ['>'] = 3,    ['\r'] = 3,
    ['\''] = 2,   ['"'] = 2,    ['\t'] = 2,   ['\n'] = 2,
#define HIGH(n) [n] = 3, [n + 1] = 3, [n + 2] = 3, [n + 3] = 3
#define HIGH16(n) HIGH(n), HIGH(n + 4), HIGH(n + 8), HIGH(n + 12)
    HIGH16(0x80), HIGH16(0x90), HIGH16(0xA0), HIGH16(0xB0), HIGH16(0xC0),
    HIGH16(0xD0), HIGH16(0xE0), HIGH16(0xF0)};
#undef HIGH16
#undef HIGH
#undef CONTROLS

int xml_escape(buf *b, const char *str, size_t len, int attr,
               xml_text_fault *fault) {
  const unsigned char *s = (const unsigned char *)str;
  const char *const *escapes = attr ? attr_escapes : text_escapes;
  const unsigned char mask = attr ? 3 : 1;
  if (buf_reserve(b, len) != 0)
    return LX_ERR_NOMEM;
  size_t run = 0, i = 0; /* s[run..i) is copied as it is */
  while (i < len) {
    while (i < len && !(stop[s[i]] & mask))
      i++;
    if (i == len)
      break;
    unsigned char c = s[i];
    xml_text_fault f = XML_TEXT_OK;
    if (c >= 0x80) {
      uint32_t cp;
      size_t n = utf8_decode(s + i, len - i, &cp);
      if (n == 0)
        f = XML_TEXT_BAD_UTF8;
      else if (cp == 0xFFFE || cp == 0xFFFF)
        f = XML_TEXT_NONCHARACTER;
      else {
        i += n;
        continue;
      }
    } else if (escapes[c]) {
      if (buf_put(b, s + run, i - run) || buf_puts(b, escapes[c]))
        return LX_ERR_NOMEM;
      run = ++i;
      continue;
    } else if (c != '\t' && c != '\n') {
      f = XML_TEXT_CONTROL;
    } else {
      i++;
      continue;
    }
    if (fault)
      *fault = f;
    return LX_ERR_INVALID;
  }
  return buf_put(b, s + run, len - run);
}

int xml_is_blank(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
      return 0;
  return 1;
}

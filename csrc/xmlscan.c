/* xmlscan.c: follows markup tokens across feeds; see xmlscan.h. */
#include "xmlscan.h"

enum {
  TEXT,   /* character data: not inside a token */
  CDATA,  /* inside <![CDATA[ ... ]]>: expat reports it as it comes */
  REF,    /* &...; */
  LT,     /* just after '<' */
  TAG,    /* a start or end tag */
  SQUOTE, /* an attribute value in '...' */
  DQUOTE, /* an attribute value in "..." */
  BANG,   /* <! ... : CDATA, or refused */
  DECL,   /* <?xml ... ?> at the start of the stream */
  DECL_Q  /* DECL just after a '?' */
};

static const char cdata_open[] = "<![CDATA[";

/* Bytes that expat rejects in any markup: parse at once so it says so. */
static int is_control(unsigned char c) {
  return c < 0x20 && c != '\t' && c != '\n' && c != '\r';
}

static int is_tag_start(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         c == ':' || c == '/' || c >= 0x80;
}

static int is_ref_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '#' || c == '_' || c == '-' ||
         c == '.' || c == ':' || c >= 0x80;
}

void xml_scan_init(xml_scan *s) {
  s->state = TEXT;
  s->matched = 0;
  s->pos = s->tok_start = 0;
}

scan_result xml_scan_bytes(xml_scan *sc, const char *data, size_t n, size_t *at,
                           scan_refusal *what) {
  const unsigned char *s = (const unsigned char *)data;
  const uint64_t base = sc->pos;
  int was_open = sc->state >= REF, finished = 0;
  unsigned state = sc->state, matched = sc->matched;
  size_t i = 0;
  for (; i < n; i++) {
    unsigned char c = s[i];
    switch (state) {
    case TEXT:
      while (c != '<' && c != '&') {
        if (++i == n)
          goto out;
        c = s[i];
      }
      state = c == '<' ? LT : REF;
      sc->tok_start = base + i;
      break;
    case CDATA:
      if (c == ']')
        matched = matched < 2 ? matched + 1 : 2;
      else if (c == '>' && matched == 2)
        state = TEXT;
      else
        matched = 0;
      break;
    case REF:
      if (c == ';' || !is_ref_char(c)) {
        state = TEXT;
        finished = 1;
      }
      break;
    case LT:
      if (c == '!') {
        state = BANG;
        matched = 2;
        break;
      }
      if (c == '?') {
        if (sc->tok_start != 0) {
          *what = SCAN_PI;
          goto refuse;
        }
        state = DECL;
        break;
      }
      state = TAG;
      matched = 0;
      if (!is_tag_start(c))
        finished = 1; /* not a tag: expat will say so */
      break;
    case TAG: /* matched: 1 just after '=' */
      if (c == '>') {
        state = TEXT;
        finished = 1;
      } else if (c == '\'' || c == '"') {
        state = c == '"' ? DQUOTE : SQUOTE;
        finished |= !matched; /* a value must follow '=' */
      } else if (c == '<' || is_control(c)) {
        finished = 1;
      }
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
        matched = c == '=';
      break;
    case SQUOTE:
    case DQUOTE:
      while (c != (state == SQUOTE ? '\'' : '"')) {
        if (c == '<' || is_control(c))
          finished = 1;
        if (++i == n)
          goto out;
        c = s[i];
      }
      state = TAG;
      break;
    case BANG:
      if (matched == 2 && c == '-') {
        *what = SCAN_COMMENT;
        goto refuse;
      }
      if (matched == 2 && c == 'D') {
        *what = SCAN_DOCTYPE;
        goto refuse;
      }
      if (c != (unsigned char)cdata_open[matched]) {
        state = TAG; /* not well-formed: expat will say so */
        finished = 1;
      } else if (++matched == sizeof cdata_open - 1) {
        state = CDATA;
        matched = 0;
        finished = 1;
      }
      break;
    case DECL:
    case DECL_Q:
      if (c == '>' && state == DECL_Q) {
        state = TEXT;
        finished = 1;
      } else {
        state = c == '?' ? DECL_Q : DECL;
      }
      break;
    }
  }
out:
  sc->state = (uint8_t)state;
  sc->matched = (uint8_t)matched;
  sc->pos = base + n;
  return was_open && !finished ? SCAN_HOLD : SCAN_PARSE;
refuse:
  *at = i;
  sc->pos = base + n;
  return SCAN_REFUSE;
}

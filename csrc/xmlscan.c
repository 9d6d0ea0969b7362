/* xmlscan.c: follows an unfinished markup token; see xmlscan.h. */
#include "xmlscan.h"

enum {
  TEXT,         /* character data, or nothing yet */
  CDATA,        /* inside <![CDATA[ ... ]]>: expat reports it as it comes */
  REF,          /* &...; */
  LT,           /* just after '<' */
  TAG,          /* a start or end tag; matched: 1 just after '=' */
  SQUOTE,       /* an attribute value in '...' */
  DQUOTE,       /* an attribute value in "..." */
  BANG,         /* <! then "[CDATA[", "--" or a declaration */
  COMMENT_OPEN, /* <!- */
  COMMENT,      /* <!-- ...; matched: the '-' just seen */
  DECL,         /* <!DOCTYPE and the like, up to '>' or '[' */
  PI            /* <? ... ?>; matched: 1 just after '?' */
};

static const char cdata_open[] = "<![CDATA[";

/* Bytes that expat rejects in any markup. */
#define CONTROLS                                                               \
  [0] = 1, [1] = 1, [2] = 1, [3] = 1, [4] = 1, [5] = 1, [6] = 1, [7] = 1,      \
  [8] = 1, [11] = 1, [12] = 1, [14] = 1, [15] = 1, [16] = 1, [17] = 1,         \
  [18] = 1, [19] = 1, [20] = 1, [21] = 1, [22] = 1, [23] = 1, [24] = 1,        \
  [25] = 1, [26] = 1, [27] = 1, [28] = 1, [29] = 1, [30] = 1, [31] = 1

/* Per state, the bytes a fast loop must stop at. */
static const unsigned char text_stop[256] = {['<'] = 1, ['&'] = 1};
static const unsigned char tag_stop[256] = {
    CONTROLS, ['>'] = 1, ['\''] = 1, ['"'] = 1, ['<'] = 1, ['='] = 1};
static const unsigned char squote_stop[256] = {CONTROLS, ['\''] = 1, ['<'] = 1};
static const unsigned char dquote_stop[256] = {CONTROLS, ['"'] = 1, ['<'] = 1};
static const unsigned char space[256] = {
    [' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1};

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
}

int xml_scan_open(const xml_scan *sc) { return sc->state >= REF; }

int xml_scan_bytes(xml_scan *sc, const char *data, size_t n) {
  const unsigned char *s = (const unsigned char *)data;
  unsigned state = sc->state, matched = sc->matched;
  int finished = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = s[i];
    switch (state) {
    case TEXT:
      while (!text_stop[c]) {
        if (++i == n)
          goto out;
        c = s[i];
      }
      state = c == '<' ? LT : REF;
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
      state = c == ';' || !is_ref_char(c) ? TEXT : REF;
      finished |= state == TEXT;
      break;
    case LT:
      matched = 0;
      if (c == '!') {
        state = BANG;
        matched = 2;
      } else if (c == '?') {
        state = PI;
      } else {
        state = TAG;
        finished |= !is_tag_start(c); /* not a tag: expat will say so */
      }
      break;
    case TAG:
      while (!tag_stop[c]) {
        if (!space[c])
          matched = 0;
        if (++i == n)
          goto out;
        c = s[i];
      }
      if (c == '>') {
        state = TEXT;
        finished = 1;
      } else if (c == '=') {
        matched = 1;
      } else if (c == '\'' || c == '"') {
        state = c == '"' ? DQUOTE : SQUOTE;
        finished |= !matched; /* a value must follow '=' */
        matched = 0;
      } else {
        finished = 1; /* '<' or a control character */
      }
      break;
    case SQUOTE:
    case DQUOTE: {
      const unsigned char *stop = state == SQUOTE ? squote_stop : dquote_stop;
      while (!stop[c]) {
        if (++i == n)
          goto out;
        c = s[i];
      }
      if (c == '\'' || c == '"')
        state = TAG;
      else
        finished = 1; /* '<' or a control character */
      break;
    }
    case BANG:
      if (matched == 2 && c == '-') {
        state = COMMENT_OPEN;
      } else if (c == (unsigned char)cdata_open[matched]) {
        if (++matched == sizeof cdata_open - 1) {
          state = CDATA;
          matched = 0;
          finished = 1;
        }
      } else {
        state = DECL; /* DOCTYPE, or not well-formed: expat will say */
        finished = 1;
      }
      break;
    case COMMENT_OPEN:
      state = c == '-' ? COMMENT : DECL;
      matched = 0;
      finished |= state == DECL;
      break;
    case COMMENT: /* "--" must end it: expat refuses anything else */
      if (matched == 2) {
        state = TEXT;
        finished = 1;
      }
      matched = c == '-' ? matched + 1 : 0;
      break;
    case DECL: /* expat refuses it as soon as it sees '[' or '>' */
      if (c == '>' || c == '[') {
        state = TEXT;
        finished = 1;
      }
      break;
    case PI:
      if (c == '>' && matched) {
        state = TEXT;
        finished = 1;
      }
      matched = c == '?';
      break;
    }
    if (finished)
      break;
  }
out:
  sc->state = (uint8_t)state;
  sc->matched = (uint8_t)matched;
  return finished;
}

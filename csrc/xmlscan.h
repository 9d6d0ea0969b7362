/* xmlscan.h: a byte scanner that follows markup tokens across feeds
 * (internal, for xml.c).
 *
 * expat re-scans an unfinished token from its start on every call, so a
 * large tag fed in small pieces would cost quadratic time (expat's own
 * "reparse deferral" avoids that by holding input back, which stalls a
 * stream whose last stanza arrives in a small read). The scanner tells the
 * parser when new bytes can finish the token in progress, so that bytes
 * which only continue it are held, and expat sees each token at most twice.
 * It also spots restricted markup (comments, processing instructions,
 * DOCTYPE) at its first bytes. */
#ifndef LX_XMLSCAN_H
#define LX_XMLSCAN_H

#include <stddef.h>
#include <stdint.h>

typedef struct xml_scan {
  uint8_t state;
  uint8_t matched;    /* bytes of "<![CDATA[" or "]]>" matched so far */
  uint64_t pos;       /* stream offset of the next byte */
  uint64_t tok_start; /* stream offset of the token in progress */
} xml_scan;

typedef enum scan_result {
  SCAN_HOLD,  /* every byte continues the unfinished token: hold them */
  SCAN_PARSE, /* give everything to expat */
  SCAN_REFUSE /* restricted markup starts at `at`: parse before it only */
} scan_result;

/* What refused markup was. */
typedef enum scan_refusal {
  SCAN_COMMENT = 1,
  SCAN_PI,
  SCAN_DOCTYPE
} scan_refusal;

void xml_scan_init(xml_scan *s);

/* Scans n bytes. For SCAN_REFUSE, *at is the offset in s[0..n) of the byte
 * that shows the markup is restricted, and *what says which it is. */
scan_result xml_scan_bytes(xml_scan *sc, const char *s, size_t n, size_t *at,
                           scan_refusal *what);

#endif

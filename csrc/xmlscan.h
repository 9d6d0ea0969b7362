/* xmlscan.h: follows an unfinished markup token across feeds (internal,
 * for xml.c).
 *
 * expat re-scans an unfinished token from its start on every call, so a
 * large tag fed in small pieces would cost quadratic time (expat's own
 * "reparse deferral" avoids that by holding input back, which stalls a
 * stream whose last stanza arrives in a small read). While expat holds an
 * unfinished token, the scanner tells the parser whether new bytes can
 * finish it: bytes that only continue it are held, so expat sees each token
 * at most twice. Bytes expat would reject inside a token (a '<', a control
 * character, a quote without '=') count as finishing it, so that expat says
 * so at once. */
#ifndef LX_XMLSCAN_H
#define LX_XMLSCAN_H

#include <stddef.h>
#include <stdint.h>

typedef struct xml_scan {
  uint8_t state;
  uint8_t matched; /* progress through a delimiter: "<![CDATA[", "-->"... */
} xml_scan;

/* Starts at a token boundary. */
void xml_scan_init(xml_scan *s);

/* Follows up to n more bytes: returns 1 as soon as a token ends (or expat
 * must see the bytes now), and stops there; returns 0 when every byte
 * continued the token in progress. */
int xml_scan_bytes(xml_scan *sc, const char *s, size_t n);

/* 1 while inside a token that expat cannot finish without more bytes. */
int xml_scan_open(const xml_scan *sc);

#endif

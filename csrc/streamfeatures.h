/* streamfeatures.h: <stream:features/> (RFC 6120 §4.3.2) as a struct, read by a
 * client and written by a server (internal). */
#ifndef LX_FEATURES_H
#define LX_FEATURES_H

#include "buf.h"
#include "lxmpp.h"

#define FEATURES_MAX_MECHS 32 /* more <mechanism/> are ignored */
#define FEATURES_MAX_CB 8     /* more <channel-binding/> are ignored */

typedef struct features {
  int starttls, starttls_required; /* <starttls/>, with <required/> */
  int sasl;                        /* <mechanisms/> */
  const char *mechs[FEATURES_MAX_MECHS];
  size_t n_mechs;
  int cb; /* XEP-0440 <sasl-channel-binding/> */
  const char *cb_types[FEATURES_MAX_CB];
  size_t n_cb;
  int bind;                      /* <bind/> */
  int session, session_optional; /* RFC 3921 <session/>, <optional/> */
} features;

/* Reads the features element `e` of stanza `s`; the strings point into s.
 * Unknown features are left for the application. */
void features_parse(lx_stanza *s, const lx_elem *e, features *out);

/* Appends <stream:features>...</stream:features> for f, then `extra` (XML
 * elements, or NULL) inside it. Returns 0 or LX_ERR_NOMEM. */
int features_write(buf *b, const features *f, const char *extra);

#endif

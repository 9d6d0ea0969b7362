/* streamerror.h: stream errors (RFC 6120 §4.9) written and read
 * (internal). */
#ifndef LX_STREAMERROR_H
#define LX_STREAMERROR_H

#include "buf.h"
#include "lxmpp.h"

/* 1 when `code` is one of the 25 stream error conditions. */
int stream_condition_valid(int code);

/* The condition named `name` (RFC 6120, or RFC 3920's xml-not-well-formed
 * and invalid-id), or 0 for another name. */
int stream_condition_code(const char *name);

/* Appends <stream:error>...</stream:error> for e (valid: see
 * lx_conn_stream_error). Returns 0 or LX_ERR_NOMEM. */
int stream_error_write(buf *b, const lx_stream_error *e);

/* Reads the <stream:error/> element `e` of stanza `s` into *out, whose
 * strings then point into s. A missing or unknown condition is
 * undefined-condition (RFC 6120 §4.9.3.21). */
void stream_error_parse(lx_stanza *s, const lx_elem *e, lx_stream_error *out);

#endif

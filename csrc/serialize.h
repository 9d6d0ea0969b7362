/* serialize.h: stanza trees to XML into a buf (internal). */
#ifndef LX_SERIALIZE_H
#define LX_SERIALIZE_H

#include "buf.h"
#include "lxmpp.h"

/* Appends `e` as XML; see lx_serialize(). Returns 0 or LX_ERR_NOMEM. */
int serialize_elem(buf *b, const lx_elem *e, const char *parent_ns, int flags);

/* Appends a stream header; see lx_serialize_header(). */
int serialize_header(buf *b, const lx_elem *header, const char *content_ns);

#endif

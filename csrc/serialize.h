/* serialize.h: stanza trees to XML into a buf (internal). */
#ifndef LX_SERIALIZE_H
#define LX_SERIALIZE_H

#include "buf.h"
#include "lxmpp.h"

/* Appends `e` as XML; see lx_serialize(). Returns 0 or LX_ERR_NOMEM. */
int serialize_elem(buf *b, const lx_elem *e, const char *parent_ns, int flags);

/* Appends a stream header; see lx_serialize_header(). */
int serialize_header(buf *b, const lx_elem *header, const char *content_ns);

/* Appends the start of every stream header the library writes:
 * "<stream:stream xmlns='content_ns' xmlns:stream='...'" (content_ns NULL:
 * no xmlns); its attributes and '>' follow. Returns 0 or LX_ERR_NOMEM. */
int serialize_stream_start(buf *b, const char *content_ns);

/* Appends the name of an attribute in namespace ns[0..ns_len), for both
 * serializers (trees and Lua tables): " xml:name" for the XML namespace,
 * else a prefix of its own declared on the element, "ns1", "ns2"... (*nsid
 * counts them per element), skipping the prefixes `taken` says the element
 * already declares (NULL: none): " xmlns:ns1='ns' ns1:name". The value
 * follows. Returns 0, LX_ERR_NOMEM, or LX_ERR_INVALID (ns not XML text). */
int serialize_ns_attr_name(buf *b, const char *ns, size_t ns_len,
                           const char *name, size_t name_len, unsigned *nsid,
                           int (*taken)(void *ud, const char *prefix,
                                        size_t len),
                           void *ud);

#endif

/* xmlchar.h: XML 1.0 character and name rules, and escaping (internal).
 * Shared by the C stanza builders, the serializers and the Lua binding. */
#ifndef LX_XMLCHAR_H
#define LX_XMLCHAR_H

#include "buf.h"

#include <stddef.h>

/* Why a string is not acceptable as XML character data. */
typedef enum xml_text_fault {
  XML_TEXT_OK = 0,
  XML_TEXT_BAD_UTF8,    /* ill-formed UTF-8, surrogate or overlong form */
  XML_TEXT_CONTROL,     /* a control character other than TAB, LF, CR */
  XML_TEXT_NONCHARACTER /* U+FFFE or U+FFFF */
} xml_text_fault;

/* Checks that s[0..len) is UTF-8 made of XML Chars. On a fault, *at
 * (optional) receives the byte offset of the offending sequence. */
xml_text_fault xml_check_text(const char *s, size_t len, size_t *at);

/* A human-readable phrase for a fault: "contains control characters". */
const char *xml_text_fault_str(xml_text_fault f);

/* Names: an NCName (no colon) or, with XML_NAME_QNAME, prefix:local. */
enum { XML_NAME_NCNAME = 0, XML_NAME_QNAME = 1 };
int xml_is_name(const char *s, size_t len, int flags);

/* Appends s[0..len) escaped for text (& < > and CR) or, with attr, for a
 * single-quoted attribute value (& < > ' " and TAB, LF, CR), so that a
 * parser gives back exactly the same value, checking in the same pass that
 * it is valid text (xml_check_text). Returns 0, LX_ERR_INVALID with the
 * fault in *fault (optional; bytes may have been appended), or
 * LX_ERR_NOMEM. */
int xml_escape(buf *b, const char *s, size_t len, int attr,
               xml_text_fault *fault);

/* True for XML white space (SP, TAB, LF, CR) only. */
int xml_is_blank(const char *s, size_t len);

#endif

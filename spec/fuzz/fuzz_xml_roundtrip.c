/* fuzz_xml_roundtrip: parse a document, serialize it, parse the output:
 * the second tree must serialize exactly as the first. */
#include "lxmpp.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lx_stanza *first, *second;
  lx_error err;
  if (lx_parse_document(&first, (const char *)data, size, NULL, &err))
    return 0;
  char *xml1, *xml2;
  size_t len1, len2;
  if (lx_serialize(lx_stanza_root(first), NULL, 0, &xml1, &len1))
    abort();
  /* the serializer's output is always acceptable to the parser */
  if (lx_parse_document(&second, xml1, len1, NULL, &err))
    __builtin_trap();
  if (lx_serialize(lx_stanza_root(second), NULL, 0, &xml2, &len2))
    abort();
  if (len1 != len2 || memcmp(xml1, xml2, len1) != 0)
    __builtin_trap();
  free(xml1);
  free(xml2);
  lx_stanza_free(first);
  lx_stanza_free(second);
  return 0;
}

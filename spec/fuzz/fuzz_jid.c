/* fuzz_jid.c: JIDs and PRECIS profiles on arbitrary bytes. Besides not
 * crashing, preparation must be idempotent: what is accepted prepares to
 * itself, for JIDs and for each profile; and XEP-0106 unescaping undoes
 * escaping. Any difference traps. */
#include "lxmpp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void jid_idempotent(const char *s, size_t len) {
  lx_jid *j = NULL, *again = NULL, *parts = NULL;
  if (lx_jid_new(&j, s, len, NULL) != 0)
    return;
  const char *full = lx_jid_full(j);
  if (lx_jid_new(&again, full, strlen(full), NULL) != 0 ||
      strcmp(lx_jid_full(again), full) != 0 ||
      strcmp(lx_jid_domain_ascii(again), lx_jid_domain_ascii(j)) != 0)
    __builtin_trap();
  /* the parts, prepared again one by one, give the same JID */
  const char *l = lx_jid_local(j), *d = lx_jid_domain(j),
             *r = lx_jid_resource(j);
  if (lx_jid_from_parts(&parts, l, l ? strlen(l) : 0, d, strlen(d), r,
                        r ? strlen(r) : 0, NULL) != 0 ||
      !lx_jid_equal(parts, j))
    __builtin_trap();
  lx_jid_free(parts);
  lx_jid_free(again);
  lx_jid_free(j);
}

static void precis_idempotent(lx_precis_profile p, const char *s, size_t len) {
  char *once = NULL, *twice = NULL;
  size_t n1 = 0, n2 = 0;
  if (lx_precis_prepare(p, s, len, &once, &n1, NULL) != 0)
    return;
  if (lx_precis_prepare(p, once, n1, &twice, &n2, NULL) != 0 || n1 != n2 ||
      memcmp(once, twice, n1) != 0)
    __builtin_trap();
  free(once);
  free(twice);
}

static void escape_round_trip(const char *s, size_t len) {
  char *esc = malloc(3 * len + 1), *back = malloc(3 * len + 1);
  if (!esc || !back)
    __builtin_trap();
  size_t n = lx_jid_escape(s, len, esc);
  if (lx_jid_unescape(esc, n, back) != len || memcmp(back, s, len) != 0)
    __builtin_trap();
  free(esc);
  free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  jid_idempotent(s, size);
  for (int p = LX_PRECIS_USERNAME_CASE_MAPPED;
       p <= LX_PRECIS_NICKNAME_CASE_MAPPED; p++)
    precis_idempotent((lx_precis_profile)p, s, size);
  escape_round_trip(s, size);
  return 0;
}

/* test_error.c: the table of conditions (names, wire conditions, lookups)
 * and the fatality rule. */
#include "check.h"
#include "lxmpp.h"

#include <stdlib.h>

#define CODE_(code, value, name, condition) code,
static const int every_code[] = {LX_ERRORS(CODE_)};
#undef CODE_
#define COUNT (sizeof every_code / sizeof every_code[0])

/* Every code has a distinct stable name; the enum's values are the table's. */
TEST(names_are_distinct_and_stable) {
  CHECK_STR(lx_strerror(LX_OK), "ok");
  CHECK_STR(lx_strerror(LX_ERR_NOMEM), "out-of-memory");
  CHECK_STR(lx_strerror(LX_ERR_NOT_WELL_FORMED), "not-well-formed");
  CHECK_STR(lx_strerror(LX_ERR_SASL_NOT_AUTHORIZED), "sasl-not-authorized");
  CHECK_STR(lx_strerror(LX_ERR_BIND_CONFLICT), "bind-conflict");
  CHECK_STR(lx_strerror(-9999), "unknown-error");
  CHECK_STR(lx_strerror(1), "unknown-error");
  CHECK_INT(LX_ERR_SASL_ABORTED, -200);
  CHECK_INT(LX_ERR_SESSION_FAILED, -509);
  for (size_t i = 0; i < COUNT; i++) {
    CHECK(every_code[i] < 0);
    CHECK(strcmp(lx_strerror(every_code[i]), "unknown-error") != 0);
    for (size_t j = 0; j < i; j++)
      CHECK(strcmp(lx_strerror(every_code[i]), lx_strerror(every_code[j])));
  }
}

/* Each condition that goes on the wire is found again from its family. */
TEST(conditions_round_trip) {
  size_t stream = 0, sasl = 0, bind = 0;
  for (size_t i = 0; i < COUNT; i++) {
    const char *c = lx_error_condition(every_code[i]);
    if (!c)
      continue;
    int found = 0;
    for (int f = LX_FAMILY_STREAM; f <= LX_FAMILY_BIND; f++)
      if (lx_error_from_condition((lx_error_family)f, c) == every_code[i]) {
        found++;
        stream += f == LX_FAMILY_STREAM;
        sasl += f == LX_FAMILY_SASL;
        bind += f == LX_FAMILY_BIND;
      }
    CHECK_INT(found, 1);
  }
  /* RFC 6120's 25 stream conditions, 11 SASL conditions, and the four
   * stanza errors of a refused bind that have codes of their own */
  CHECK_INT(stream, 25);
  CHECK_INT(sasl, 11);
  CHECK_INT(bind, 4);
  CHECK_INT(lx_error_from_condition(LX_FAMILY_SASL, "not-authorized"),
            LX_ERR_SASL_NOT_AUTHORIZED);
  CHECK_INT(lx_error_from_condition(LX_FAMILY_STREAM, "not-authorized"),
            LX_ERR_NOT_AUTHORIZED);
  CHECK_INT(lx_error_from_condition(LX_FAMILY_BIND, "conflict"),
            LX_ERR_BIND_CONFLICT);
  CHECK_INT(lx_error_from_condition(LX_FAMILY_STREAM, "conflict"),
            LX_ERR_CONFLICT);
  CHECK_INT(lx_error_from_condition(LX_FAMILY_SASL, "sasl-aborted"), 0);
  CHECK_INT(lx_error_from_condition(LX_FAMILY_BIND, "not-offered"), 0);
  CHECK_INT(lx_error_from_condition(LX_FAMILY_SASL, NULL), 0);
  CHECK(lx_error_condition(LX_ERR_SASL_SERVER_SIGNATURE) == NULL);
  CHECK(lx_error_condition(LX_ERR_NOMEM) == NULL);
}

TEST(fatality_rule) {
  CHECK_INT(lx_error_is_fatal(LX_OK), 0);
  CHECK_INT(lx_error_is_fatal(LX_ERR_INVALID), 0);
  CHECK_INT(lx_error_is_fatal(LX_ERR_STATE), 0);
  CHECK_INT(lx_error_is_fatal(LX_ERR_FULL), 0);
  CHECK_INT(lx_error_is_fatal(LX_ERR_NOMEM), 1);
  CHECK_INT(lx_error_is_fatal(LX_ERR_INTERNAL), 1);
  CHECK_INT(lx_error_is_fatal(-9999), 0);
  CHECK_INT(lx_error_is_fatal(7), 0);
  for (size_t i = 0; i < COUNT; i++)
    if (every_code[i] <= LX_ERR_BAD_FORMAT)
      CHECK_INT(lx_error_is_fatal(every_code[i]), 1);
}

/* The rule as the SASL client keeps it: after a caller's mistake the next
 * right call works; after a peer's fault every call returns that fault. */
TEST(sasl_client_follows_the_rule) {
  const char *offered[] = {"PLAIN"};
  lx_sasl_client_opts o;
  lx_sasl_client_opts_init(&o);
  o.offered = offered;
  o.n_offered = 1;
  o.username = "juliet";
  o.password = "r0m30";
  o.tls = 1;
  lx_sasl_client *c;
  lx_error err = {0};
  const unsigned char *out;
  size_t len;
  CHECK_INT(lx_sasl_client_new(&c, &o, &err), 0);
  int rc = lx_sasl_client_step(c, NULL, 5, &out, &len, &err);
  CHECK_INT(rc, LX_ERR_INVALID);
  CHECK_INT(lx_error_is_fatal(rc), 0);
  CHECK_INT(lx_sasl_client_initial(c, &out, &len, &err), 1);
  rc = lx_sasl_client_finish(c, (const unsigned char *)"x", 1, &err);
  CHECK_INT(rc, LX_ERR_SASL_MALFORMED_REQUEST);
  CHECK_INT(lx_error_is_fatal(rc), 1);
  CHECK_INT(lx_sasl_client_finish(c, NULL, 0, &err),
            LX_ERR_SASL_MALFORMED_REQUEST);
  lx_sasl_client_free(c);
}

int main(void) {
  RUN(names_are_distinct_and_stable);
  RUN(conditions_round_trip);
  RUN(fatality_rule);
  RUN(sasl_client_follows_the_rule);
  return check_summary();
}

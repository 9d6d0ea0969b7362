/* test_jid.c: JIDs per RFC 7622 on the vectors of standards.md §3.9 and
 * §3.10: the RFC's tables, the localpart table, resources, the libidn2
 * domain table, IP literals, lengths, comparison and XEP-0106. */
#include "check.h"
#include "lxmpp.h"

#include <idn2.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistr.h>

/* Prepares `in` and checks its full form (want) or its error (detail). */
static void jid_is(int line, const char *in, size_t len, const char *want,
                   const char *detail) {
  lx_jid *j = NULL;
  lx_error err = {0, ""};
  int rc = lx_jid_new(&j, in, len, &err);
  check_count++;
  if (want && (rc != 0 || strcmp(lx_jid_full(j), want))) {
    check_failures++;
    fprintf(stderr, "%s:%d: got %d \"%s\" (%s), expected \"%s\"\n", __FILE__,
            line, rc, j ? lx_jid_full(j) : "", err.detail, want);
  } else if (!want &&
             (rc != LX_ERR_JID_MALFORMED || strcmp(err.detail, detail))) {
    check_failures++;
    fprintf(stderr, "%s:%d: got %d \"%s\" (%s), expected error \"%s\"\n",
            __FILE__, line, rc, j ? lx_jid_full(j) : "", err.detail, detail);
  }
  if (j) { /* preparing a prepared JID changes nothing */
    lx_jid *again = NULL;
    const char *full = lx_jid_full(j);
    CHECK_INT(lx_jid_new(&again, full, strlen(full), NULL), 0);
    CHECK(again && lx_jid_equal(j, again));
    lx_jid_free(again);
  }
  lx_jid_free(j);
}

#define OK(in, want) jid_is(__LINE__, in, sizeof in - 1, want, NULL)
#define BAD(in, detail) jid_is(__LINE__, in, sizeof in - 1, NULL, detail)

static lx_jid *parse(const char *s) {
  lx_jid *j = NULL;
  CHECK_INT(lx_jid_new(&j, s, strlen(s), NULL), 0);
  return j;
}

/* ---- RFC 7622 §3.5 ------------------------------------------------------ */

TEST(rfc7622_valid) {
  OK("juliet@example.com", "juliet@example.com");
  OK("juliet@example.com/foo", "juliet@example.com/foo");
  OK("juliet@example.com/foo bar", "juliet@example.com/foo bar");
  OK("juliet@example.com/foo@bar", "juliet@example.com/foo@bar");
  OK("foo\\20bar@example.com", "foo\\20bar@example.com");
  OK("fussball@example.com", "fussball@example.com");
  OK("fu\u00DFball@example.com", "fu\u00DFball@example.com");
  OK("\u03C0@example.com", "\u03C0@example.com");
  OK("\u03A3@example.com/foo", "\u03C3@example.com/foo");
  OK("\u03C3@example.com/foo", "\u03C3@example.com/foo");
  OK("\u03C2@example.com/foo", "\u03C2@example.com/foo");
  OK("king@example.com/\u265A", "king@example.com/\u265A");
  OK("example.com", "example.com");
  OK("example.com/foobar", "example.com/foobar");
  OK("a.example.com/b@example.net", "a.example.com/b@example.net");
  /* In Table 2 once; valid under OpaqueString (errata 4560). */
  OK("juliet@example.com/ foo", "juliet@example.com/ foo");
}

TEST(rfc7622_invalid) {
  BAD("\"juliet\"@example.com",
      "localpart: disallowed code point U+0022 (RFC 7622 \u00A73.3.1)");
  BAD("foo bar@example.com", "localpart: disallowed code point U+0020");
  BAD("@example.com/", "localpart: empty");
  BAD("henry\u2163@example.com", "localpart: disallowed code point U+2163");
  BAD("\u265A@example.com", "localpart: disallowed code point U+265A");
  BAD("juliet@", "domainpart: empty");
  BAD("/foobar", "domainpart: empty");
}

/* RFC 7622 §3.1: the resource runs from the first '/', the localpart up
 * to the first '@' before it. */
TEST(split_order) {
  lx_jid *j = parse("a.example.com/b@example.net");
  CHECK(lx_jid_local(j) == NULL);
  CHECK_STR(lx_jid_domain(j), "a.example.com");
  CHECK_STR(lx_jid_resource(j), "b@example.net");
  lx_jid_free(j);
  j = parse("user@host/a@b/c");
  CHECK_STR(lx_jid_local(j), "user");
  CHECK_STR(lx_jid_domain(j), "host");
  CHECK_STR(lx_jid_resource(j), "a@b/c");
  CHECK_STR(lx_jid_bare(j), "user@host");
  lx_jid_free(j);
  BAD("a@b@c", "domainpart: disallowed code point U+0040");
  BAD("juliet@example.com/", "resourcepart: empty");
  BAD("", "domainpart: empty");
}

/* ---- The localpart (UsernameCaseMapped and RFC 7622 §3.3.1) ------------- */

/* standards.md §3.9: each row of the localpart table. */
TEST(localpart_table) {
  OK("Juliet@x", "juliet@x");
  OK("\uFF2A\uFF55\uFF4C\uFF49\uFF45\uFF54@x", "juliet@x");
  OK("\u212Aevin@x", "kevin@x");
  OK("fu\u00DFball@x", "fu\u00DFball@x"); /* nodeprep: fussball */
  OK("\u03A3@x", "\u03C3@x");
  OK("\u03C2@x", "\u03C2@x"); /* nodeprep: σ */
  BAD("henry\u2163@x", "localpart: disallowed code point U+2163");
  BAD("\u265A@x", "localpart: disallowed code point U+265A");
  BAD("\u01C5@x", "localpart: disallowed code point U+01C5");
  BAD("\uFB00@x", "localpart: disallowed code point U+FB00");
  BAD("a\u200Db@x", "localpart: code point U+200D not allowed in this "
                    "context (RFC 5892 Appendix A)");
  BAD("foo bar@x", "localpart: disallowed code point U+0020");
  BAD("d'artagnan@x",
      "localpart: disallowed code point U+0027 (RFC 7622 \u00A73.3.1)");
  OK("\u039F\u0394\u039F\u03A3@x", "\u03BF\u03B4\u03BF\u03C2@x"); /* ΟΔΟΣ */
}

/* The eight code points RFC 7622 forbids, also when width mapping makes
 * them (fullwidth ＂ is "). '/' and '@' can only come in through parts. */
TEST(localpart_forbidden) {
  BAD("a\"b@x", "localpart: disallowed code point U+0022 (RFC 7622 "
                "\u00A73.3.1)");
  BAD("a&b@x", "localpart: disallowed code point U+0026 (RFC 7622 "
               "\u00A73.3.1)");
  BAD("a'b@x", "localpart: disallowed code point U+0027 (RFC 7622 "
               "\u00A73.3.1)");
  BAD("a:b@x", "localpart: disallowed code point U+003A (RFC 7622 "
               "\u00A73.3.1)");
  BAD("a<b@x", "localpart: disallowed code point U+003C (RFC 7622 "
               "\u00A73.3.1)");
  BAD("a>b@x", "localpart: disallowed code point U+003E (RFC 7622 "
               "\u00A73.3.1)");
  BAD("a\uFF02b@x", "localpart: disallowed code point U+0022 (RFC 7622 "
                    "\u00A73.3.1)");
  BAD("a\uFF20b@x", "localpart: disallowed code point U+0040 (RFC 7622 "
                    "\u00A73.3.1)");
  lx_jid *j = NULL;
  lx_error err;
  CHECK_INT(lx_jid_from_parts(&j, "a/b", 3, "x", 1, NULL, 0, &err),
            LX_ERR_JID_MALFORMED);
  CHECK_STR(err.detail,
            "localpart: disallowed code point U+002F (RFC 7622 \u00A73.3.1)");
  CHECK_INT(lx_jid_from_parts(&j, "a@b", 3, "x", 1, NULL, 0, &err),
            LX_ERR_JID_MALFORMED);
  CHECK_STR(err.detail,
            "localpart: disallowed code point U+0040 (RFC 7622 \u00A73.3.1)");
  CHECK(j == NULL);
}

TEST(localpart_bidi) {
  OK("\u05D0\u05D1@x", "\u05D0\u05D1@x");
  BAD("a\u05D0@x", "localpart: bidi rule (RFC 5893) violated at U+05D0");
}

/* ---- The resourcepart (OpaqueString) ------------------------------------ */

TEST(resourcepart) {
  OK("x/ foo", "x/ foo");
  OK("x/foo@bar", "x/foo@bar");
  OK("x/\uFF26\uFF4F\uFF4F", "x/\uFF26\uFF4F\uFF4F"); /* no width mapping */
  OK("x/Foo", "x/Foo");                               /* no case mapping */
  OK("x/\U0001F37A", "x/\U0001F37A");
  OK("x/a\u3000b", "x/a b");
  OK("x/A\u030A", "x/\u00C5");
  BAD("x/\u061Cx", "resourcepart: disallowed code point U+061C");
  BAD("x/\t", "resourcepart: disallowed code point U+0009");
  BAD("x/a\0b", "resourcepart: disallowed code point U+0000");
}

/* ---- The domainpart (IDNA2008) ------------------------------------------ */

static void domain_is(int line, const char *in, const char *ulabel,
                      const char *alabel) {
  lx_jid *j = NULL;
  lx_error err = {0, ""};
  int rc = lx_jid_new(&j, in, strlen(in), &err);
  check_count++;
  if (rc || strcmp(lx_jid_domain(j), ulabel) ||
      strcmp(lx_jid_domain_ascii(j), alabel)) {
    check_failures++;
    fprintf(stderr, "%s:%d: %s: got %d %s %s (%s), expected %s %s\n", __FILE__,
            line, in, rc, j ? lx_jid_domain(j) : "",
            j ? lx_jid_domain_ascii(j) : "", err.detail, ulabel, alabel);
  }
  lx_jid_free(j);
}

#define DOMAIN(in, u, a) domain_is(__LINE__, in, u, a)

/* standards.md §3.9, the column IDN2_NONTRANSITIONAL. */
TEST(domain_libidn2_table) {
  DOMAIN("EXAMPLE.COM", "example.com", "example.com");
  DOMAIN("M\u00DCNCHEN.DE", "m\u00FCnchen.de", "xn--mnchen-3ya.de");
  DOMAIN("m\u00FCnchen.de", "m\u00FCnchen.de", "xn--mnchen-3ya.de");
  DOMAIN("\uFF45\uFF58\uFF41\uFF4D\uFF50\uFF4C\uFF45\uFF0E\uFF43\uFF4F\uFF4D",
         "example.com", "example.com");
  DOMAIN("example\u3002com", "example.com", "example.com");
  DOMAIN("fa\u00DF.de", "fa\u00DF.de", "xn--fa-hia.de"); /* not fass.de */
  DOMAIN("\u01C5.com", "d\u017E.com", "xn--d-toa.com");
  DOMAIN("\uFB00.com", "ff.com", "ff.com");
  BAD("\u2603.net",
      "domainpart: string contains a disallowed character (IDNA2008)");
  BAD("xn--n3h.net",
      "domainpart: string contains a disallowed character (IDNA2008)");
  BAD("a\u200D.com",
      "domainpart: string contains a forbidden context-j character "
      "(IDNA2008)");
  BAD("-abc.com", "domainpart: label starts or ends with a hyphen");
  BAD("xn--zz.com",
      "domainpart: string contains invalid punycode data (IDNA2008)");
}

TEST(domain_idna_cases) {
  DOMAIN("\u00DF.de", "\u00DF.de", "xn--zca.de");    /* ß kept */
  DOMAIN("\u03C2.com", "\u03C2.com", "xn--3xa.com"); /* ς kept */
  DOMAIN("\u03A3.com", "\u03C3.com", "xn--4xa.com"); /* upper case */
  DOMAIN("XN--MNCHEN-3YA.DE", "m\u00FCnchen.de", "xn--mnchen-3ya.de");
  DOMAIN("a\xC2\xAD"
         "b.com",
         "ab.com", "ab.com"); /* UTS #46 drops U+00AD */
  DOMAIN("Example.COM.", "example.com", "example.com");
  DOMAIN("example.com\u3002", "example.com", "example.com");
  BAD("example.com..", "domainpart: empty label");
  BAD("a..b", "domainpart: empty label");
  BAD(".", "domainpart: empty");
  BAD("a_b.com", "domainpart: disallowed code point U+005F");
  BAD("a b.com", "domainpart: disallowed code point U+0020");
  BAD("ab--c.com",
      "domainpart: label has hyphens in its third and fourth places");
  BAD("a\0b.com", "domainpart: disallowed code point U+0000");
  /* UTS #46 in libidn2 2.3.3 passes this A-label; its U-label U+322D is
   * DISALLOWED in IDNA2008 (found by fuzz_jid) */
  BAD("xn--mnk.com",
      "domainpart: string contains a disallowed character (IDNA2008)");
}

/* Letters, digits and hyphens skip libidn2: the result must be its. */
TEST(ascii_domains_agree_with_libidn2) {
  static const char *const names[] = {
      "example.com",
      "EXAMPLE.COM",
      "a-b.c-d.e",
      "x1.y2",
      "A",
      "1a.b",
      "a123456789012345678901234567890123456789012345678901234567890bc.d"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    char *a = NULL;
    lx_jid *j = NULL;
    CHECK_INT(idn2_to_ascii_8z(names[i], &a, IDN2_NONTRANSITIONAL), IDN2_OK);
    CHECK_INT(lx_jid_new(&j, names[i], strlen(names[i]), NULL), 0);
    if (a && j) {
      CHECK_STR(lx_jid_domain_ascii(j), a);
      CHECK_STR(lx_jid_domain(j), a);
    }
    free(a);
    lx_jid_free(j);
  }
}

/* prepare_domain skips the UTS #46 mapping for names IDNA2008 accepts as
 * they are: under it they must map to themselves. Checked for each code
 * point of the planes in use, alone and after a letter. */
TEST(idna2008_names_map_to_themselves) {
  unsigned long accepted = 0, differ = 0;
  for (uint32_t cp = 0x80; cp < 0x40000; cp++) {
    if (cp >= 0xD800 && cp < 0xE000)
      continue;
    for (int after_letter = 0; after_letter < 2; after_letter++) {
      char s[16];
      int k = after_letter ? (s[0] = 'a', 1) : 0;
      k += u8_uctomb((uint8_t *)s + k, cp, 8);
      memcpy(s + k, ".com", 5);
      char *strict = NULL, *mapped = NULL;
      if (idn2_to_ascii_8z(s, &strict, IDN2_NO_TR46) == IDN2_OK) {
        accepted++;
        if (idn2_to_ascii_8z(s, &mapped, IDN2_NONTRANSITIONAL) != IDN2_OK ||
            strcmp(strict, mapped) != 0)
          if (differ++ < 10)
            fprintf(stderr, "U+%04X: %s vs %s\n", (unsigned)cp, strict,
                    mapped ? mapped : "(refused)");
      }
      free(strict);
      free(mapped);
    }
  }
  CHECK(accepted > 200000);
  CHECK_INT(differ, 0);
}

TEST(ip_literals) {
  DOMAIN("[::1]", "[::1]", "[::1]");
  DOMAIN("[0:0::0001]", "[::1]", "[::1]"); /* one spelling (RFC 5952) */
  DOMAIN("[FE80::1]", "[fe80::1]", "[fe80::1]");
  DOMAIN("[::ffff:1.2.3.4]", "[::ffff:1.2.3.4]", "[::ffff:1.2.3.4]");
  DOMAIN("127.0.0.1", "127.0.0.1", "127.0.0.1");
  OK("juliet@[2001:db8::1]/r", "juliet@[2001:db8::1]/r");
  BAD("[127.0.0.1]", "domainpart: not an IPv6 address in brackets");
  BAD("[::1", "domainpart: not an IPv6 address in brackets");
  BAD("::1]", "domainpart: not an IPv6 address in brackets");
  BAD("[fe80::1%eth0]", "domainpart: not an IPv6 address in brackets");
  BAD("[]", "domainpart: not an IPv6 address in brackets");
  /* Names that resolvers read as IPv4 addresses must be exactly that. */
  const char *number = "domainpart: ends in a number but is not an IPv4 "
                       "address";
  jid_is(__LINE__, "127.1", 5, NULL, number);
  jid_is(__LINE__, "0x7f.1", 6, NULL, number);
  jid_is(__LINE__, "01.2.3.4", 8, NULL, number);
  jid_is(__LINE__, "256.1.1.1", 9, NULL, number);
  jid_is(__LINE__, "1.2.3.4.5", 9, NULL, number);
  jid_is(__LINE__, "host.0x1F", 9, NULL, number);
  DOMAIN("host.0xg", "host.0xg", "host.0xg");
  DOMAIN("host.1a", "host.1a", "host.1a");
}

/* ---- Lengths ------------------------------------------------------------ */

/* `times` copies of `unit` between `head` and `tail`, malloc()ed. */
static char *repeat(const char *head, const char *unit, size_t times,
                    const char *tail) {
  size_t h = strlen(head), u = strlen(unit), t = strlen(tail);
  char *s = malloc(h + u * times + t + 1);
  memcpy(s, head, h);
  for (size_t i = 0; i < times; i++)
    memcpy(s + h + i * u, unit, u);
  memcpy(s + h + u * times, tail, t + 1);
  return s;
}

/* Checks that s (which it frees) prepares to `want_len` bytes, or fails
 * with `detail`. */
static void length_is(int line, char *s, size_t want_len, const char *detail) {
  lx_jid *j = NULL;
  lx_error err = {0, ""};
  int rc = lx_jid_new(&j, s, strlen(s), &err);
  check_count++;
  if (detail ? rc != LX_ERR_JID_MALFORMED || strcmp(err.detail, detail)
             : rc != 0 || strlen(lx_jid_full(j)) != want_len) {
    check_failures++;
    fprintf(stderr, "%s:%d: got %d, %zu bytes (%s)\n", __FILE__, line, rc,
            j ? strlen(lx_jid_full(j)) : 0, err.detail);
  }
  lx_jid_free(j);
  free(s);
}

#define LEN_OK(s, n) length_is(__LINE__, s, n, NULL)
#define LEN_BAD(s, detail) length_is(__LINE__, s, 0, detail)

/* Each part is 1 to 1023 bytes once prepared (RFC 7622 §3.1). */
TEST(part_lengths) {
  const char *local = "localpart: longer than 1023 bytes";
  const char *res = "resourcepart: longer than 1023 bytes";
  LEN_OK(repeat("", "a", 1023, "@x"), 1025);
  LEN_BAD(repeat("", "a", 1024, "@x"), local);
  /* two-byte é at the edge: 511 * 2 + 1 = 1023, 512 * 2 = 1024 */
  LEN_OK(repeat("a", "\u00E9", 511, "@x"), 1025);
  LEN_BAD(repeat("", "\u00E9", 512, "@x"), local);
  LEN_BAD(repeat("", "\u00C9", 512, "@x"), local); /* É becomes é */
  /* fullwidth ａ is 3 bytes and prepares to a: 1200 bytes in, 400 out */
  LEN_OK(repeat("", "\uFF41", 400, "@x"), 402);
  LEN_BAD(repeat("", "a", 20000, "@x"), local); /* refused before work */
  /* three-byte € at the edge of the resourcepart */
  LEN_OK(repeat("x/", "\u20AC", 341, ""), 2 + 1023);
  LEN_BAD(repeat("x/", "\u20AC", 341, "a"), res);
  LEN_OK(repeat("x/", "r", 1023, ""), 2 + 1023);
  LEN_BAD(repeat("x/", "r", 1024, ""), res);
}

TEST(domain_lengths) {
  char label63[64];
  memset(label63, 'a', 63);
  label63[63] = '\0';
  char name[300];
  snprintf(name, sizeof name, "%s.%s.%s.%.61s", label63, label63, label63,
           label63); /* 253 bytes */
  LEN_OK(repeat("", name, 1, ""), 253);
  LEN_BAD(repeat("", name, 1, "b"),
          "domainpart: longer than 253 bytes as an A-label");
  LEN_OK(repeat(label63, "", 0, ".com"), 67);
  LEN_BAD(repeat(label63, "", 0, "a.com"),
          "domainpart: label longer than 63 bytes");
  /* U-labels are checked as A-labels: 20 x ü is xn--tdaaaaaaa... */
  LEN_OK(repeat("", "\u00FC", 20, ".de"), 43);
  LEN_BAD(repeat("", "\u00FC", 70, ".de"),
          "domainpart: punycode encoded data will be too large (IDNA2008)");
}

/* ---- The API ------------------------------------------------------------ */

TEST(accessors) {
  lx_jid *j = parse("Juliet@M\u00DCNCHEN.de/Balcony");
  CHECK_STR(lx_jid_local(j), "juliet");
  CHECK_STR(lx_jid_domain(j), "m\u00FCnchen.de");
  CHECK_STR(lx_jid_domain_ascii(j), "xn--mnchen-3ya.de");
  CHECK_STR(lx_jid_resource(j), "Balcony");
  CHECK_STR(lx_jid_bare(j), "juliet@m\u00FCnchen.de");
  CHECK_STR(lx_jid_full(j), "juliet@m\u00FCnchen.de/Balcony");
  lx_jid_free(j);
  j = parse("example.com");
  CHECK(lx_jid_local(j) == NULL);
  CHECK(lx_jid_resource(j) == NULL);
  CHECK_STR(lx_jid_bare(j), "example.com");
  CHECK_STR(lx_jid_full(j), "example.com");
  lx_jid_free(j);
  lx_jid_free(NULL);
}

TEST(from_parts) {
  lx_jid *j = NULL;
  lx_error err;
  CHECK_INT(
      lx_jid_from_parts(&j, "Romeo", 5, "EXAMPLE.net", 11, "a/b@c", 5, &err),
      0);
  CHECK_STR(lx_jid_full(j), "romeo@example.net/a/b@c");
  lx_jid_free(j);
  CHECK_INT(lx_jid_from_parts(&j, NULL, 0, "example.net", 11, NULL, 0, &err),
            0);
  CHECK_STR(lx_jid_full(j), "example.net");
  lx_jid_free(j);
  CHECK_INT(lx_jid_from_parts(&j, "", 0, "example.net", 11, NULL, 0, &err),
            LX_ERR_JID_MALFORMED);
  CHECK_STR(err.detail, "localpart: empty");
  CHECK_INT(lx_jid_from_parts(&j, NULL, 0, "a/b", 3, NULL, 0, &err),
            LX_ERR_JID_MALFORMED);
  CHECK_STR(err.detail, "domainpart: disallowed code point U+002F");
  CHECK_INT(lx_jid_from_parts(&j, NULL, 0, NULL, 0, NULL, 0, &err),
            LX_ERR_INVALID);
  CHECK_INT(lx_jid_from_parts(NULL, NULL, 0, "x", 1, NULL, 0, &err),
            LX_ERR_INVALID);
  CHECK_INT(lx_jid_new(&j, NULL, 1, &err), LX_ERR_INVALID);
  CHECK_INT(lx_jid_new(NULL, "x", 1, &err), LX_ERR_INVALID);
  CHECK_INT(lx_jid_new(&j, "x", 1, NULL), 0); /* err is optional */
  lx_jid_free(j);
}

/* Two spellings of one address compare equal once prepared; resources keep
 * their case. */
TEST(comparison) {
  lx_jid *a = parse("Juliet@Example.COM./Balcony");
  lx_jid *b = parse("\uFF2A\uFF55\uFF4C\uFF49\uFF45\uFF54@example.com/Balcony");
  lx_jid *c = parse("juliet@example.com/balcony");
  lx_jid *d = parse("julia@example.com/Balcony");
  CHECK_INT(lx_jid_equal(a, b), 1);
  CHECK_INT(lx_jid_equal(a, c), 0);
  CHECK_INT(lx_jid_bare_equal(a, c), 1);
  CHECK_INT(lx_jid_bare_equal(a, d), 0);
  lx_jid_free(a);
  lx_jid_free(b);
  lx_jid_free(c);
  lx_jid_free(d);
}

/* ---- XEP-0106 (standards.md §3.10) -------------------------------------- */

static void escape_pair(int line, const char *plain, const char *escaped) {
  char out[256];
  size_t n = lx_jid_escape(plain, strlen(plain), out);
  check_count += 2;
  if (n != strlen(escaped) || strcmp(out, escaped)) {
    check_failures++;
    fprintf(stderr, "%s:%d: escape(%s) = %s, expected %s\n", __FILE__, line,
            plain, out, escaped);
  }
  n = lx_jid_unescape(escaped, strlen(escaped), out);
  if (n != strlen(plain) || strcmp(out, plain)) {
    check_failures++;
    fprintf(stderr, "%s:%d: unescape(%s) = %s, expected %s\n", __FILE__, line,
            escaped, out, plain);
  }
}

#define PAIR(plain, escaped) escape_pair(__LINE__, plain, escaped)

TEST(xep0106) {
  PAIR("space cadet", "space\\20cadet");
  PAIR("call me \"ishmael\"", "call\\20me\\20\\22ishmael\\22");
  PAIR("at&t guy", "at\\26t\\20guy");
  PAIR("d'artagnan", "d\\27artagnan");
  PAIR("/.fanboy", "\\2f.fanboy");
  PAIR("::foo::", "\\3a\\3afoo\\3a\\3a");
  PAIR("<foo>", "\\3cfoo\\3e");
  PAIR("user@host", "user\\40host");
  PAIR("c:\\net", "c\\3a\\net");
  PAIR("c:\\\\net", "c\\3a\\\\net");
  PAIR("c:\\cool stuff", "c\\3a\\cool\\20stuff");
  PAIR("c:\\5commas", "c\\3a\\5c5commas");
  PAIR("\\3and\\2is\\5cool", "\\5c3and\\2is\\5c5cool");
  PAIR("\\5c", "\\5c5c");
  PAIR("call\\20me", "call\\5c20me");
  PAIR("\\2plus\\2is\\4", "\\2plus\\2is\\4");
  PAIR("foo\\bar", "foo\\bar");
  PAIR("foo\\41r", "foo\\41r");
  PAIR("\\2F", "\\2F"); /* upper-case hex is not an escape */
  PAIR("\\", "\\");
  PAIR("", "");
  /* an escaped localpart is a valid one */
  char out[64];
  lx_jid_escape("d'artagnan", 10, out);
  lx_jid *j = NULL;
  CHECK_INT(lx_jid_from_parts(&j, out, strlen(out), "x", 1, NULL, 0, NULL), 0);
  CHECK_STR(lx_jid_local(j), "d\\27artagnan");
  lx_jid_free(j);
}

int main(void) {
  RUN(rfc7622_valid);
  RUN(rfc7622_invalid);
  RUN(split_order);
  RUN(localpart_table);
  RUN(localpart_forbidden);
  RUN(localpart_bidi);
  RUN(resourcepart);
  RUN(domain_libidn2_table);
  RUN(domain_idna_cases);
  RUN(ascii_domains_agree_with_libidn2);
  RUN(idna2008_names_map_to_themselves);
  RUN(ip_literals);
  RUN(part_lengths);
  RUN(domain_lengths);
  RUN(accessors);
  RUN(from_parts);
  RUN(comparison);
  RUN(xep0106);
  return check_summary();
}

/* test_precis.c: the PRECIS derived property of every code point, and the
 * profiles of RFC 8265 and RFC 8266 on vectors from standards.md §3.8 and
 * §3.9 and from precis_i18n's golden set. */
#include "check.h"
#include "lxmpp.h"
#include "precis.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistring/version.h>

#define UCM LX_PRECIS_USERNAME_CASE_MAPPED
#define UCP LX_PRECIS_USERNAME_CASE_PRESERVED
#define OPAQUE LX_PRECIS_OPAQUE_STRING
#define NICK LX_PRECIS_NICKNAME
#define NICK_CM LX_PRECIS_NICKNAME_CASE_MAPPED

/* Checks that `in` prepares to `want` (NULL: is refused with `detail`). */
static void precis_is(int line, lx_precis_profile p, const char *in, size_t len,
                      const char *want, const char *detail) {
  char *out = NULL;
  size_t out_len = 0;
  lx_error err = {0, ""};
  int rc = lx_precis_prepare(p, in, len, &out, &out_len, &err);
  check_count++;
  if (want && (rc != 0 || out_len != strlen(want) || strcmp(out, want))) {
    check_failures++;
    fprintf(stderr, "%s:%d: got %d \"%s\" (%s), expected \"%s\"\n", __FILE__,
            line, rc, out ? out : "", err.detail, want);
  } else if (!want && (rc != LX_ERR_INVALID || strcmp(err.detail, detail))) {
    check_failures++;
    fprintf(stderr, "%s:%d: got %d \"%s\" (%s), expected error \"%s\"\n",
            __FILE__, line, rc, out ? out : "", err.detail, detail);
  }
  free(out);
}

#define OK(p, in, want) precis_is(__LINE__, p, in, sizeof in - 1, want, NULL)
#define BAD(p, in, detail)                                                     \
  precis_is(__LINE__, p, in, sizeof in - 1, NULL, detail)
#define BAD_CTX(p, in, cp)                                                     \
  BAD(p, in,                                                                   \
      "code point U+" cp " not allowed in this context (RFC 5892 Appendix A)")

/* ---- The derived property ---------------------------------------------- */

/* precis_i18n's table for Unicode 14.0, against libunistring's data. */
TEST(derived_property_of_every_code_point) {
  FILE *f = fopen("spec/data/precis-derived-props-14.0.txt", "r");
  CHECK(f != NULL);
  if (!f)
    return;
  /* libunistring 1.0 has Unicode 14.0; later versions assign more code
   * points, so only the assigned ones are compared there. */
  int same_unicode = (_libunistring_version >> 8) == 0x0100;
  if (!same_unicode)
    printf("     (libunistring %d.%d: skipping code points unassigned in "
           "Unicode 14.0)\n",
           _libunistring_version >> 16, (_libunistring_version >> 8) & 0xFF);
  char line[128];
  unsigned long covered = 0, mismatches = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned first, last;
    char want[64];
    if (line[0] == '#' || sscanf(line, "%x-%x %63s", &first, &last, want) != 3)
      continue;
    for (uint32_t cp = first; cp <= last; cp++) {
      precis_category cat;
      precis_value v = precis_derived(cp, &cat);
      char got[64];
      snprintf(got, sizeof got, "%s/%s", precis_value_name(v),
               precis_category_name(cat));
      covered++;
      /* U+180F MONGOLIAN FREE VARIATION SELECTOR FOUR is new in Unicode
       * 14.0 and Default_Ignorable_Code_Point (DerivedCoreProperties 14.0);
       * precis_i18n's own list of those code points stops at U+180E. */
      if (cp == 0x180F && !strcmp(want, "PVALID/letter_digits")) {
        CHECK_STR(got, "DISALLOWED/precis_ignorable_properties");
        continue;
      }
      if (!same_unicode && !strcmp(want, "UNASSIGNED/unassigned"))
        continue;
      if (strcmp(got, want) && mismatches++ < 10)
        fprintf(stderr, "U+%04X: %s, expected %s\n", (unsigned)cp, got, want);
    }
  }
  fclose(f);
  CHECK_INT(covered, 0x110000);
  CHECK_INT(mismatches, 0);
}

TEST(derived_property_examples) {
  precis_category cat;
  CHECK_INT(precis_derived(0x00DF, &cat), PRECIS_PVALID); /* ß: exception */
  CHECK_INT(cat, PRECIS_CAT_EXCEPTIONS);
  CHECK_INT(precis_derived(0x03C2, NULL), PRECIS_PVALID);     /* ς */
  CHECK_INT(precis_derived(0x0640, NULL), PRECIS_DISALLOWED); /* tatweel */
  CHECK_INT(precis_derived(0x200D, NULL), PRECIS_CONTEXTJ);
  CHECK_INT(precis_derived(0x00B7, NULL), PRECIS_CONTEXTO);
  CHECK_INT(precis_derived(0x2163, &cat), PRECIS_FREE_PVAL); /* Ⅳ */
  CHECK_INT(cat, PRECIS_CAT_HAS_COMPAT);
  CHECK_INT(precis_derived(0x265A, &cat), PRECIS_FREE_PVAL); /* ♚ */
  CHECK_INT(cat, PRECIS_CAT_SYMBOLS);
  CHECK_INT(precis_derived(0x0378, NULL), PRECIS_UNASSIGNED);
  CHECK_INT(precis_derived(0xFFFF, &cat), PRECIS_DISALLOWED); /* nonchar */
  CHECK_INT(cat, PRECIS_CAT_IGNORABLE);
  CHECK_INT(precis_derived(0x1100, &cat), PRECIS_DISALLOWED);
  CHECK_INT(cat, PRECIS_CAT_OLD_HANGUL_JAMO);
  CHECK_INT(precis_derived(0x110000, NULL), PRECIS_DISALLOWED);
}

/* ---- UsernameCaseMapped (RFC 8265 §3.3): the JID localpart ------------- */

/* standards.md §3.9, the column "PRECIS RFC 8265". */
TEST(username_case_mapped_table) {
  OK(UCM, "Juliet", "juliet");
  OK(UCM, "\uFF2A\uFF55\uFF4C\uFF49\uFF45\uFF54", "juliet"); /* fullwidth */
  OK(UCM, "\u212Aevin", "kevin");          /* KELVIN SIGN: NFC gives K */
  OK(UCM, "fu\u00DFball", "fu\u00DFball"); /* not fussball */
  OK(UCM, "\u03A3", "\u03C3");
  OK(UCM, "\u03C2", "\u03C2"); /* ς stays ς (toLowerCase, no case folding) */
  BAD(UCM, "henry\u2163", "disallowed code point U+2163");
  BAD(UCM, "\u265A", "disallowed code point U+265A");
  BAD(UCM, "\u01C5", "disallowed code point U+01C5");
  BAD(UCM, "\uFB00", "disallowed code point U+FB00");
  BAD_CTX(UCM, "a\u200Db", "200D");
  BAD(UCM, "foo bar", "disallowed code point U+0020");
  OK(UCM, "d'artagnan", "d'artagnan"); /* RFC 7622 refuses it, not PRECIS */
}

/* Final_Sigma: toLowerCase() with its context, as precis_i18n (Python's
 * str.lower) does. */
TEST(final_sigma) {
  OK(UCM, "\u039F\u0394\u039F\u03A3", "\u03BF\u03B4\u03BF\u03C2"); /* ΟΔΟΣ */
  OK(UCM, "\u03A3\u03A3", "\u03C3\u03C2");
  OK(UCM, "\u0392\u03CC\u03BB\u03BF\u03A3", "\u03B2\u03CC\u03BB\u03BF\u03C2");
  OK(UCM, "\u03A3a", "\u03C3a"); /* not final: nothing cased before */
  OK(UCM, "\u03BF\u03B4\u03BF\u03C3", "\u03BF\u03B4\u03BF\u03C3"); /* kept */
}

TEST(username_width_case_and_normalization) {
  OK(UCM, "\u2126", "\u03C9");  /* OHM SIGN: NFC Ω, lower case ω */
  OK(UCM, "\u1E9E", "\u00DF");  /* capital sharp s */
  OK(UCM, "\u0130", "i\u0307"); /* İ: full lower-case mapping */
  OK(UCM, "E\u0301", "\u00E9");
  OK(UCM, "\uFF76", "\u30AB"); /* halfwidth katakana: width mapping */
  BAD(UCM, "a\u3000b", "disallowed code point U+3000"); /* becomes a space */
  BAD(UCM, "\u00AD", "disallowed code point U+00AD");
  BAD(UCM, "\u0378", "unassigned code point U+0378");
  BAD(UCM, "", "empty string");
}

/* precis_i18n golden.json, profile UsernameCasePreserved. */
TEST(username_case_preserved) {
  OK(UCP, "\u212Aevin", "Kevin");
  OK(UCP, "\uFF2Bevin", "Kevin");
  OK(UCP, "K\u0301evin", "\u1E30evin");
  OK(UCP, "\u037E", ";");
  OK(UCP, "\u1FEF", "`");
  OK(UCP, "\u2126", "\u03A9");
  OK(UCP, "C\u0327", "\u00C7");
  OK(UCP, "q\u0307\u0323", "q\u0323\u0307");
  OK(UCP, "~`!@#$%^&*()-_=+[{}]\\|;:'\",<.>/?",
     "~`!@#$%^&*()-_=+[{}]\\|;:'\",<.>/?");
  BAD(UCP, "\u3300", "disallowed code point U+3300");
  BAD(UCP, "i\u2079", "disallowed code point U+2079");
  BAD(UCP, "Richard \u2163", "disallowed code point U+0020");
  BAD(UCP, "\uFEFF", "disallowed code point U+FEFF");
  BAD(UCP, "\u00A0", "disallowed code point U+00A0");
  BAD(UCP, "A\tA", "disallowed code point U+0009");
  BAD(UCP, "\u2028", "disallowed code point U+2028");
}

/* RFC 5893 §2, applied to strings with right-to-left code points. */
TEST(bidi_rule) {
  OK(UCM, "\u05D0\u05D1", "\u05D0\u05D1");
  OK(UCM,
     "\u05D0"
     "1",
     "\u05D0"
     "1");                                 /* RTL may end in EN */
  OK(UCM, "\u05D0\u05B0", "\u05D0\u05B0"); /* ... and trailing NSM */
  OK(UCM,
     "\u0627"
     "1",
     "\u0627"
     "1");
  BAD(UCM, "a\u0627", "bidi rule (RFC 5893) violated at U+0627"); /* rule 5 */
  BAD(UCM, "\u0627a", "bidi rule (RFC 5893) violated at U+0061"); /* rule 2 */
  BAD(UCM, "1\u05D0", "bidi rule (RFC 5893) violated at U+0031"); /* rule 1 */
  BAD(UCM,
      "\u05D0"
      "1\u0661",
      "bidi rule (RFC 5893) violated at U+0661"); /* rule 4: EN and AN */
  BAD(UCM, "\u05D0-",
      "bidi rule (RFC 5893) violated at U+002D"); /* rule 3: ends in ES */
  OK(UCM, "abc1", "abc1"); /* no RTL code point: no rule */
}

/* RFC 5892 Appendix A, in FreeformClass (OpaqueString has no bidi rule). */
TEST(contextual_rules) {
  OK(OPAQUE, "\u0915\u094D\u200C", "\u0915\u094D\u200C"); /* after virama */
  OK(OPAQUE, "\u0915\u094D\u200D\u0937", "\u0915\u094D\u200D\u0937");
  OK(OPAQUE, "\u0628\u200C\u0628", "\u0628\u200C\u0628"); /* D ZWNJ D */
  OK(OPAQUE, "\u0628\u064B\u200C\u064B\u0628",
     "\u0628\u064B\u200C\u064B\u0628"); /* transparent marks around it */
  OK(OPAQUE, "\U00010D00\u200C\u088E", "\U00010D00\u200C\u088E"); /* 14.0 */
  BAD_CTX(OPAQUE, "a\u200Cb", "200C");
  BAD_CTX(OPAQUE, "\u0628\u200C", "200C");
  OK(OPAQUE, "l\u00B7l", "l\u00B7l");
  BAD_CTX(OPAQUE, "\u00B7l", "00B7");
  BAD_CTX(OPAQUE, "l\u00B7", "00B7");
  OK(OPAQUE, "\u0375\u03B1", "\u0375\u03B1");
  BAD_CTX(OPAQUE, "\u0375a", "0375");
  OK(OPAQUE, "\u05D0\u05F3", "\u05D0\u05F3");
  BAD_CTX(OPAQUE, "a\u05F4", "05F4");
  OK(OPAQUE, "\u30FB\u3400", "\u30FB\u3400");
  OK(OPAQUE, "\u3041\u30FB", "\u3041\u30FB");
  BAD_CTX(OPAQUE, "\u30FB", "30FB");
  OK(OPAQUE, "\u0660\u0661", "\u0660\u0661");
  OK(OPAQUE, "\u06F0\u06F1", "\u06F0\u06F1");
  BAD_CTX(OPAQUE, "\u0660\u06F0", "0660");
  BAD_CTX(OPAQUE, "\u06F0\u0660", "06F0");
}

/* ---- OpaqueString (RFC 8265 §4.2): resources and passwords ------------- */

/* standards.md §3.9, the resource examples. */
TEST(opaque_string_resources) {
  OK(OPAQUE, " foo", " foo");
  OK(OPAQUE, "foo@bar", "foo@bar");
  OK(OPAQUE, "\uFF26\uFF4F\uFF4F", "\uFF26\uFF4F\uFF4F"); /* no width map */
  OK(OPAQUE, "\U0001F37A", "\U0001F37A");
  BAD(OPAQUE, "\u061Cx", "disallowed code point U+061C");
  BAD(OPAQUE, "", "empty string");
  BAD(OPAQUE, "\t", "disallowed code point U+0009");
  OK(OPAQUE, "a\u3000b\u00A0c", "a b c"); /* non-ASCII spaces to U+0020 */
  OK(OPAQUE, "A\u030A", "\u00C5");        /* NFC */
  OK(OPAQUE, "Foo", "Foo");
}

/* The SASLprep vectors of standards.md §3.8 run through OpaqueString, its
 * successor. Where the two differ, the results are RFC 8265's. */
TEST(opaque_string_versus_saslprep) {
  /* SASLprep maps U+00AD to nothing; in PRECIS it is a default-ignorable
   * code point and DISALLOWED. */
  BAD(OPAQUE,
      "I\xC2\xAD"
      "X",
      "disallowed code point U+00AD");
  OK(OPAQUE, "user", "user");
  OK(OPAQUE, "USER", "USER");
  /* SASLprep applies NFKC (ª to a, Ⅸ to IX); OpaqueString applies NFC and
   * FreeformClass allows compatibility characters as they are. */
  OK(OPAQUE, "\u00AA", "\u00AA");
  OK(OPAQUE, "\u2168", "\u2168");
  BAD(OPAQUE, "\x07", "disallowed code point U+0007");
  /* SASLprep's bidi check refuses this; RFC 8265 §4.2 has no directionality
   * rule for OpaqueString. */
  OK(OPAQUE,
     "\u0627"
     "1",
     "\u0627"
     "1");
}

/* ---- Nickname (RFC 8266) ------------------------------------------------ */

TEST(nickname) {
  OK(NICK, "  Foo   Bar  ", "Foo Bar");
  OK(NICK_CM, "  Foo   Bar  ", "foo bar");
  OK(NICK, "Foo\u00A0\u2003Bar", "Foo Bar");
  OK(NICK, "\uFF2Bevin", "Kevin"); /* NFKC */
  OK(NICK_CM, "\u212Aevin", "kevin");
  /* NFKC after lower-casing yields upper case: the rules run again. */
  OK(NICK, "\u210C", "H");
  OK(NICK_CM, "\u210C", "h");
  OK(NICK_CM, "\u03A8\u03D3\u03A7\u0397", "\u03C8\u03CD\u03C7\u03B7");
  /* NFKC yields a space: stripped on the next application. */
  OK(NICK, "\u00A8x", "\u0308x");
  OK(NICK_CM, "\u01F0j\u030C", "\u01F0\u01F0");
  OK(NICK_CM, "T\u00DCRKIYE", "t\u00FCrkiye");
  OK(NICK_CM, "\u03A3\u03A3", "\u03C3\u03C2");
  BAD(NICK, "   ", "empty string");
  BAD(NICK, " \t ", "disallowed code point U+0009");
  BAD_CTX(NICK, "\u00B7", "00B7");
}

/* ---- Input handling ----------------------------------------------------- */

TEST(utf8_is_validated_first) {
  BAD(UCM, "\xC3", "invalid UTF-8 at byte 0");
  BAD(OPAQUE, "ab\xFF", "invalid UTF-8 at byte 2");
  BAD(OPAQUE, "\xC0\xAF", "invalid UTF-8 at byte 0");         /* overlong */
  BAD(OPAQUE, "a\xED\xA0\x80", "invalid UTF-8 at byte 1");    /* surrogate */
  BAD(OPAQUE, "\xF4\x90\x80\x80", "invalid UTF-8 at byte 0"); /* > U+10FFFF */
  BAD(OPAQUE, "a\0b", "disallowed code point U+0000");
}

TEST(bad_arguments) {
  char *out = (char *)"untouched";
  lx_error err;
  CHECK_INT(lx_precis_prepare(OPAQUE, "x", 1, NULL, NULL, &err),
            LX_ERR_INVALID);
  CHECK_INT(lx_precis_prepare(OPAQUE, NULL, 1, &out, NULL, &err),
            LX_ERR_INVALID);
  CHECK_INT(lx_precis_prepare((lx_precis_profile)0, "x", 1, &out, NULL, &err),
            LX_ERR_INVALID);
  CHECK_INT(lx_precis_prepare((lx_precis_profile)99, "x", 1, &out, NULL, NULL),
            LX_ERR_INVALID);
  CHECK_INT(lx_precis_prepare(OPAQUE, "x", 1, &out, NULL, NULL), 0);
  CHECK_STR(out, "x");
  free(out);
}

/* The ASCII fast path gives what the general path gives: a byte followed
 * by é takes the general path. */
TEST(ascii_path_agrees_with_unicode_path) {
  for (int p = UCM; p <= NICK_CM; p++) {
    for (int c = 0; c < 0x80; c++) {
      if (c == ' ' && (p == NICK || p == NICK_CM))
        continue; /* trailing space handling differs by design */
      char a[2] = {(char)c, 0}, b[4] = {(char)c, '\xC3', '\xA9', 0};
      char *oa = NULL, *ob = NULL;
      lx_error ea, eb;
      int ra = lx_precis_prepare(p, a, 1, &oa, NULL, &ea);
      int rb = lx_precis_prepare(p, b, 3, &ob, NULL, &eb);
      CHECK_INT(ra, rb);
      if (ra == 0 && rb == 0) {
        char want[8];
        snprintf(want, sizeof want, "%s\xC3\xA9", oa);
        CHECK_STR(ob, want);
      } else if (ra && rb) {
        CHECK_STR(ea.detail, eb.detail);
      }
      free(oa);
      free(ob);
    }
  }
}

/* A megabyte of mixed text: the work is linear, the result exact. */
TEST(long_input) {
  size_t n = 1 << 20, k = 0;
  char *in = malloc(n + 4);
  while (k < n) {
    memcpy(in + k, "E\xCC\x81x", 4); /* E + U+0301 + x: NFC composes */
    k += 4;
  }
  char *out = NULL;
  size_t out_len = 0;
  CHECK_INT(lx_precis_prepare(UCM, in, n, &out, &out_len, NULL), 0);
  CHECK_INT(out_len, n / 4 * 3); /* é (2 bytes) + x per 4 bytes */
  CHECK(out && !memcmp(out, "\xC3\xA9x\xC3\xA9x", 6));
  free(out);
  free(in);
}

/* Each profile's output prepares to itself. */
TEST(idempotent) {
  static const char *const inputs[] = {
      "Juliet",        "\u212Aevin",        "\u039F\u0394\u039F\u03A3",
      "\u210C",        "\u00A8x",           "\u03A8\u03D3\u03A7\u0397",
      "  Foo   Bar  ", "a\u3000b",          "\u0130",
      "\u1E9E",        "E\u0301\u0301",     "\uFF76\uFF9E",
      "\u01F0j\u030C", "\u0628\u200C\u0628"};
  for (int p = UCM; p <= NICK_CM; p++)
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
      char *once = NULL, *twice = NULL;
      size_t n1 = 0;
      if (lx_precis_prepare(p, inputs[i], strlen(inputs[i]), &once, &n1,
                            NULL) == 0) {
        CHECK_INT(lx_precis_prepare(p, once, n1, &twice, NULL, NULL), 0);
        CHECK_STR(twice, once);
      }
      free(once);
      free(twice);
    }
}

int main(void) {
  RUN(derived_property_of_every_code_point);
  RUN(derived_property_examples);
  RUN(username_case_mapped_table);
  RUN(final_sigma);
  RUN(username_width_case_and_normalization);
  RUN(username_case_preserved);
  RUN(bidi_rule);
  RUN(contextual_rules);
  RUN(opaque_string_resources);
  RUN(opaque_string_versus_saslprep);
  RUN(nickname);
  RUN(utf8_is_validated_first);
  RUN(bad_arguments);
  RUN(ascii_path_agrees_with_unicode_path);
  RUN(long_input);
  RUN(idempotent);
  return check_summary();
}

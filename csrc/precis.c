/* precis.c: the PRECIS framework (RFC 8264) on libunistring's Unicode
 * tables, and its profiles for usernames and passwords (RFC 8265) and
 * nicknames (RFC 8266).
 *
 * A string is decoded to code points, the profile's rules are applied in
 * the order of RFC 8264 §7 (width, additional mapping, case, normalization,
 * directionality), and the result must consist of code points its class
 * allows. Only the result is checked, as precis_i18n does: U+212A KELVIN
 * SIGN normalizes to K and is accepted. Every step is linear in the input.
 *
 * Case mapping is Unicode toLowerCase() with its one context, Final_Sigma:
 * "ΟΔΟΣ" becomes "οδος" and single "Σ" becomes "σ". ς is a lower-case letter
 * of its own, so "ς" and "σ" stay different strings (RFC 8265 uses
 * toLowerCase, not case folding). */
#include "precis.h"
#include "error.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

/* ---- The derived property (RFC 8264 §8, §9) ----------------------------- */

#define GC(c) UC_CATEGORY_MASK_##c

/* The exceptions of RFC 5892 §2.6. */
static int exception(uint32_t cp, precis_value *v) {
  switch (cp) {
  case 0x00DF:
  case 0x03C2:
  case 0x06FD:
  case 0x06FE:
  case 0x0F0B:
  case 0x3007: *v = PRECIS_PVALID; return 1;
  case 0x00B7:
  case 0x0375:
  case 0x05F3:
  case 0x05F4:
  case 0x30FB: *v = PRECIS_CONTEXTO; return 1;
  case 0x0640:
  case 0x07FA:
  case 0x302E:
  case 0x302F:
  case 0x3031:
  case 0x3032:
  case 0x3033:
  case 0x3034:
  case 0x3035:
  case 0x303B: *v = PRECIS_DISALLOWED; return 1;
  }
  if ((cp >= 0x0660 && cp <= 0x0669) || (cp >= 0x06F0 && cp <= 0x06F9)) {
    *v = PRECIS_CONTEXTO;
    return 1;
  }
  return 0;
}

/* Hangul_Syllable_Type L, V or T (libunistring has no table for it; the
 * ranges have not changed since Unicode 5.2). */
static int old_hangul_jamo(uint32_t cp) {
  return (cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0xA960 && cp <= 0xA97C) ||
         (cp >= 0xD7B0 && cp <= 0xD7C6) || (cp >= 0xD7CB && cp <= 0xD7FB);
}

/* toNFKC(cp) != cp: 1, 0, or -1 when libunistring cannot tell (memory). */
static int has_compat(uint32_t cp) {
  ucs4_t tmp[UC_DECOMPOSITION_MAX_LENGTH];
  int tag;
  if (uc_decomposition(cp, &tag, tmp) < 0)
    return 0; /* no decomposition: NFKC leaves it alone */
  uint32_t buf[UC_DECOMPOSITION_MAX_LENGTH];
  size_t n = UC_DECOMPOSITION_MAX_LENGTH;
  uint32_t *r = u32_normalize(UNINORM_NFKC, &cp, 1, buf, &n);
  if (!r)
    return -1;
  int differs = n != 1 || r[0] != cp;
  if (r != buf)
    free(r);
  return differs;
}

precis_value precis_derived(uint32_t cp, precis_category *cat) {
  precis_value v = PRECIS_DISALLOWED;
  precis_category c = PRECIS_CAT_OTHER;
  uint32_t gc = cp <= 0x10FFFF ? uc_general_category(cp).bitmask : 0;
  int compat;
  if (cp > 0x10FFFF) {
    /* not a code point */
  } else if (exception(cp, &v))
    c = PRECIS_CAT_EXCEPTIONS;
  else if ((gc & GC(Cn)) && !uc_is_property_not_a_character(cp))
    v = PRECIS_UNASSIGNED, c = PRECIS_CAT_UNASSIGNED;
  else if (cp >= 0x21 && cp <= 0x7E)
    v = PRECIS_PVALID, c = PRECIS_CAT_ASCII7;
  else if (uc_is_property_join_control(cp))
    v = PRECIS_CONTEXTJ, c = PRECIS_CAT_JOIN_CONTROL;
  else if (old_hangul_jamo(cp))
    c = PRECIS_CAT_OLD_HANGUL_JAMO;
  else if (uc_is_property_default_ignorable_code_point(cp) ||
           uc_is_property_not_a_character(cp))
    c = PRECIS_CAT_IGNORABLE;
  else if (gc & GC(Cc))
    c = PRECIS_CAT_CONTROLS;
  else if ((compat = has_compat(cp)) != 0) {
    if (compat > 0) /* fail closed when it cannot be computed */
      v = PRECIS_FREE_PVAL, c = PRECIS_CAT_HAS_COMPAT;
  } else if (gc &
             (GC(Ll) | GC(Lu) | GC(Lo) | GC(Nd) | GC(Lm) | GC(Mn) | GC(Mc)))
    v = PRECIS_PVALID, c = PRECIS_CAT_LETTER_DIGITS;
  else if (gc & (GC(Lt) | GC(Nl) | GC(No) | GC(Me)))
    v = PRECIS_FREE_PVAL, c = PRECIS_CAT_OTHER_LETTER_DIGITS;
  else if (gc & GC(Zs))
    v = PRECIS_FREE_PVAL, c = PRECIS_CAT_SPACES;
  else if (gc & GC(S))
    v = PRECIS_FREE_PVAL, c = PRECIS_CAT_SYMBOLS;
  else if (gc & GC(P))
    v = PRECIS_FREE_PVAL, c = PRECIS_CAT_PUNCTUATION;
  if (cat)
    *cat = c;
  return v;
}

const char *precis_value_name(precis_value v) {
  static const char *const names[] = {
      [PRECIS_PVALID] = "PVALID",         [PRECIS_FREE_PVAL] = "FREE_PVAL",
      [PRECIS_CONTEXTJ] = "CONTEXTJ",     [PRECIS_CONTEXTO] = "CONTEXTO",
      [PRECIS_DISALLOWED] = "DISALLOWED", [PRECIS_UNASSIGNED] = "UNASSIGNED",
  };
  return names[v];
}

const char *precis_category_name(precis_category c) {
  static const char *const names[] = {
      [PRECIS_CAT_EXCEPTIONS] = "exceptions",
      [PRECIS_CAT_UNASSIGNED] = "unassigned",
      [PRECIS_CAT_ASCII7] = "ascii7",
      [PRECIS_CAT_JOIN_CONTROL] = "join_control",
      [PRECIS_CAT_OLD_HANGUL_JAMO] = "old_hangul_jamo",
      [PRECIS_CAT_IGNORABLE] = "precis_ignorable_properties",
      [PRECIS_CAT_CONTROLS] = "controls",
      [PRECIS_CAT_HAS_COMPAT] = "has_compat",
      [PRECIS_CAT_LETTER_DIGITS] = "letter_digits",
      [PRECIS_CAT_OTHER_LETTER_DIGITS] = "other_letter_digits",
      [PRECIS_CAT_SPACES] = "spaces",
      [PRECIS_CAT_SYMBOLS] = "symbols",
      [PRECIS_CAT_PUNCTUATION] = "punctuation",
      [PRECIS_CAT_OTHER] = "other",
  };
  return names[c];
}

/* ---- Contextual rules (RFC 5892 Appendix A) ----------------------------- */

/* What the rules need to know about the whole string, found in one pass. */
typedef struct context {
  int kana_han;   /* a Hiragana, Katakana or Han code point (A.7) */
  int arabic;     /* U+0660..0669 (A.9) */
  int ext_arabic; /* U+06F0..06F9 (A.8) */
} context;

static int script_is(uint32_t cp, const char *name) {
  const uc_script_t *s = uc_script(cp);
  return s && strcmp(s->name, name) == 0;
}

static void scan_context(const uint32_t *s, size_t n, context *cx) {
  memset(cx, 0, sizeof *cx);
  for (size_t i = 0; i < n; i++) {
    uint32_t cp = s[i];
    if (cp >= 0x0660 && cp <= 0x0669)
      cx->arabic = 1;
    else if (cp >= 0x06F0 && cp <= 0x06F9)
      cx->ext_arabic = 1;
    else if (cp >= 0x2E80 && !cx->kana_han &&
             (script_is(cp, "Hiragana") || script_is(cp, "Katakana") ||
              script_is(cp, "Han")))
      cx->kana_han = 1;
  }
}

static int joining(uint32_t cp, int a, int b) {
  int t = uc_joining_type(cp);
  return t == a || t == b;
}

/* A.1: (Joining_Type:{L,D})(Joining_Type:T)* ZWNJ (Joining_Type:T)*
 * (Joining_Type:{R,D}). Each run of T is crossed by at most the two ZWNJ
 * that border it, so the checks of a whole string stay linear. */
static int zwnj_joins(const uint32_t *s, size_t n, size_t i) {
  size_t j = i;
  while (j > 0 && uc_joining_type(s[j - 1]) == UC_JOINING_TYPE_T)
    j--;
  if (j == 0 || !joining(s[j - 1], UC_JOINING_TYPE_L, UC_JOINING_TYPE_D))
    return 0;
  j = i + 1;
  while (j < n && uc_joining_type(s[j]) == UC_JOINING_TYPE_T)
    j++;
  return j < n && joining(s[j], UC_JOINING_TYPE_R, UC_JOINING_TYPE_D);
}

static int after_virama(const uint32_t *s, size_t i) {
  return i > 0 && uc_combining_class(s[i - 1]) == UC_CCC_VR;
}

/* Whether the CONTEXTJ or CONTEXTO code point s[i] is allowed here. */
static int context_allows(const uint32_t *s, size_t n, size_t i,
                          const context *cx) {
  uint32_t cp = s[i];
  switch (cp) {
  case 0x200C: /* ZERO WIDTH NON-JOINER */
    return after_virama(s, i) || zwnj_joins(s, n, i);
  case 0x200D: /* ZERO WIDTH JOINER */ return after_virama(s, i);
  case 0x00B7: /* MIDDLE DOT: only in l·l (Catalan) */
    return i > 0 && i + 1 < n && s[i - 1] == 0x6C && s[i + 1] == 0x6C;
  case 0x0375: /* GREEK LOWER NUMERAL SIGN: before Greek */
    return i + 1 < n && script_is(s[i + 1], "Greek");
  case 0x05F3: /* HEBREW PUNCTUATION GERESH and GERSHAYIM: after Hebrew */
  case 0x05F4: return i > 0 && script_is(s[i - 1], "Hebrew");
  case 0x30FB: /* KATAKANA MIDDLE DOT: with Hiragana, Katakana or Han */
    return cx->kana_han;
  }
  if (cp >= 0x0660 && cp <= 0x0669) /* not mixed with the extended digits */
    return !cx->ext_arabic;
  return !cx->arabic; /* U+06F0..06F9 */
}

/* ---- The Bidi Rule (RFC 5893 §2) ---------------------------------------- */

#define BIDI(c) (1u << UC_BIDI_##c)

/* Returns 0, or 1 with the code point at fault in *at. Applies only to
 * strings with right-to-left code points (R, AL or AN). */
static int bidi_violation(const uint32_t *s, size_t n, size_t *at) {
  unsigned all = 0;
  for (size_t i = 0; i < n; i++)
    all |= 1u << uc_bidi_class(s[i]);
  if (!(all & (BIDI(R) | BIDI(AL) | BIDI(AN))))
    return 0;
  unsigned first = 1u << uc_bidi_class(s[0]);
  int rtl = (first & (BIDI(R) | BIDI(AL))) != 0;
  if (!rtl && first != BIDI(L)) { /* rule 1 */
    *at = 0;
    return 1;
  }
  unsigned allowed = rtl ? BIDI(R) | BIDI(AL) | BIDI(AN) | BIDI(EN) | BIDI(ES) |
                               BIDI(CS) | BIDI(ET) | BIDI(ON) | BIDI(BN) |
                               BIDI(NSM)
                         : BIDI(L) | BIDI(EN) | BIDI(ES) | BIDI(CS) | BIDI(ET) |
                               BIDI(ON) | BIDI(BN) | BIDI(NSM);
  unsigned numbers = 0;
  for (size_t i = 0; i < n; i++) { /* rules 2, 5 and 4 */
    unsigned b = 1u << uc_bidi_class(s[i]);
    numbers |= b & (BIDI(EN) | BIDI(AN));
    if (!(b & allowed) || (rtl && numbers == (BIDI(EN) | BIDI(AN)))) {
      *at = i;
      return 1;
    }
  }
  size_t last = n; /* rules 3 and 6: the end, ignoring trailing NSM */
  while (last > 1 && uc_bidi_class(s[last - 1]) == UC_BIDI_NSM)
    last--;
  unsigned end = 1u << uc_bidi_class(s[last - 1]);
  unsigned ends =
      rtl ? BIDI(R) | BIDI(AL) | BIDI(EN) | BIDI(AN) : BIDI(L) | BIDI(EN);
  if (!(end & ends)) {
    *at = last - 1;
    return 1;
  }
  return 0;
}

/* ---- Profiles ----------------------------------------------------------- */

typedef struct profile {
  unsigned identifier : 1; /* IdentifierClass, else FreeformClass */
  unsigned width : 1;      /* fullwidth and halfwidth to their decomposition */
  unsigned spaces : 1;     /* non-ASCII spaces to U+0020 */
  unsigned trim : 1;       /* strip and collapse spaces (RFC 8266) */
  unsigned lower : 1;      /* toLowerCase() */
  unsigned nfkc : 1;       /* NFKC, else NFC */
  unsigned bidi : 1;       /* the Bidi Rule */
} profile;

static const profile profiles[] = {
    [LX_PRECIS_USERNAME_CASE_MAPPED] = {.identifier = 1,
                                        .width = 1,
                                        .lower = 1,
                                        .bidi = 1},
    [LX_PRECIS_USERNAME_CASE_PRESERVED] = {.identifier = 1,
                                           .width = 1,
                                           .bidi = 1},
    [LX_PRECIS_OPAQUE_STRING] = {.spaces = 1},
    [LX_PRECIS_NICKNAME] = {.spaces = 1, .trim = 1, .nfkc = 1},
    [LX_PRECIS_NICKNAME_CASE_MAPPED] = {.spaces = 1,
                                        .trim = 1,
                                        .lower = 1,
                                        .nfkc = 1},
};

/* A string of code points; `s` is malloc()ed (or NULL when empty). */
typedef struct u32str {
  uint32_t *s;
  size_t n;
} u32str;

/* Frees after wiping: an OpaqueString may be a password. */
static void u32_release(u32str *u) {
  if (u->s) {
    OPENSSL_cleanse(u->s, u->n * sizeof *u->s);
    free(u->s);
  }
  u->s = NULL;
  u->n = 0;
}

static int width_mapped(uint32_t cp, uint32_t *to) {
  int tag;
  int n = uc_decomposition(cp, &tag, to);
  return n > 0 && (tag == UC_DECOMP_WIDE || tag == UC_DECOMP_NARROW) ? n : 0;
}

/* The Width Mapping Rule of RFC 8265 §3.3.1. */
static int map_width(u32str *u) {
  uint32_t to[UC_DECOMPOSITION_MAX_LENGTH];
  size_t n = 0, changed = 0;
  for (size_t i = 0; i < u->n; i++) {
    int k = width_mapped(u->s[i], to);
    n += k ? (size_t)k : 1;
    changed |= k != 0;
  }
  if (!changed)
    return 0;
  uint32_t *s = malloc(n * sizeof *s);
  if (!s)
    return LX_ERR_NOMEM;
  for (size_t i = 0, o = 0; i < u->n; i++) {
    int k = width_mapped(u->s[i], to);
    if (k) {
      memcpy(s + o, to, (size_t)k * sizeof *s);
      o += (size_t)k;
    } else {
      s[o++] = u->s[i];
    }
  }
  u32_release(u);
  u->s = s;
  u->n = n;
  return 0;
}

static int is_space(uint32_t cp) {
  return cp == 0x20 ||
         (cp > 0x7F && (uc_general_category(cp).bitmask & GC(Zs)));
}

/* Non-ASCII spaces to U+0020; for nicknames also no leading or trailing
 * space and no run of spaces (RFC 8266 §2.1). */
static void map_spaces(const profile *p, u32str *u) {
  size_t o = 0;
  for (size_t i = 0; i < u->n; i++) {
    uint32_t cp = u->s[i];
    if (is_space(cp)) {
      if (p->trim && (o == 0 || u->s[o - 1] == 0x20))
        continue;
      cp = 0x20;
    }
    u->s[o++] = cp;
  }
  if (p->trim && o > 0 && u->s[o - 1] == 0x20)
    o--;
  u->n = o;
}

/* Case mapping and normalization in one call to libunistring. */
static int map_case_normalize(const profile *p, u32str *u) {
  uninorm_t nf = p->nfkc ? UNINORM_NFKC : UNINORM_NFC;
  size_t n = 0;
  uint32_t *s;
  if (u->n == 0)
    return 0;
  if (p->lower)
    s = u32_tolower(u->s, u->n, NULL, nf, NULL, &n);
  else
    s = u32_normalize(nf, u->s, u->n, NULL, &n);
  if (!s)
    return LX_ERR_NOMEM;
  u32_release(u);
  u->s = s;
  u->n = n;
  return 0;
}

/* One application of the profile's mapping rules. */
static int apply_rules(const profile *p, u32str *u) {
  int rc = p->width ? map_width(u) : 0;
  if (rc == 0 && p->spaces)
    map_spaces(p, u);
  if (rc == 0)
    rc = map_case_normalize(p, u);
  return rc;
}

/* The code point of the input to name in an error about `cp` of the
 * result: the first one whose own mapping yields it (U+2163 lower-cases to
 * U+2173), else `cp` itself. Runs only on the failure path. */
static uint32_t culprit(const profile *p, const uint8_t *in, size_t len,
                        uint32_t cp) {
  for (size_t i = 0; i < len;) {
    ucs4_t x;
    i += (size_t)u8_mbtouc(&x, in + i, len - i);
    uint32_t buf[64];
    u32str one = {&x, 1};
    uint32_t w[UC_DECOMPOSITION_MAX_LENGTH];
    int k = p->width ? width_mapped(x, w) : 0;
    if (k)
      one = (u32str){w, (size_t)k};
    size_t n = sizeof buf / sizeof *buf;
    uninorm_t nf = p->nfkc ? UNINORM_NFKC : UNINORM_NFC;
    uint32_t *r = p->lower ? u32_tolower(one.s, one.n, NULL, nf, buf, &n)
                           : u32_normalize(nf, one.s, one.n, buf, &n);
    int found = 0;
    for (size_t j = 0; r && j < n; j++)
      found |= r[j] == cp;
    if (r != buf)
      free(r);
    if (found)
      return x;
  }
  return cp;
}

/* The class check of RFC 8264 §4 on the result, with the contextual rules
 * and the Bidi Rule when the profile has it. */
static int check(const profile *p, const u32str *u, const uint8_t *in,
                 size_t len, lx_error *err) {
  context cx;
  scan_context(u->s, u->n, &cx);
  for (size_t i = 0; i < u->n; i++) {
    uint32_t cp = u->s[i];
    if (cp >= 0x21 && cp <= 0x7E)
      continue;
    switch (precis_derived(cp, NULL)) {
    case PRECIS_PVALID: continue;
    case PRECIS_FREE_PVAL:
      if (!p->identifier)
        continue;
      break;
    case PRECIS_CONTEXTJ:
    case PRECIS_CONTEXTO:
      if (context_allows(u->s, u->n, i, &cx))
        continue;
      return error_set(err, LX_ERR_INVALID,
                       "code point U+%04X not allowed in this context "
                       "(RFC 5892 Appendix A)",
                       (unsigned)cp);
    case PRECIS_UNASSIGNED:
      return error_set(err, LX_ERR_INVALID, "unassigned code point U+%04X",
                       (unsigned)culprit(p, in, len, cp));
    case PRECIS_DISALLOWED: break;
    }
    return error_set(err, LX_ERR_INVALID, "disallowed code point U+%04X",
                     (unsigned)culprit(p, in, len, cp));
  }
  size_t at;
  if (p->bidi && bidi_violation(u->s, u->n, &at))
    return error_set(err, LX_ERR_INVALID,
                     "bidi rule (RFC 5893) violated at U+%04X",
                     (unsigned)u->s[at]);
  return 0;
}

static int equal(const u32str *a, const u32str *b) {
  return a->n == b->n &&
         (a->n == 0 || !memcmp(a->s, b->s, a->n * sizeof *a->s));
}

/* Nicknames: NFKC can yield upper case (U+210C to H) and spaces (U+00A8 to
 * U+0020 U+0308), so RFC 8266 applies the rules until the result is stable,
 * at most three more times. The other profiles are stable in one pass (the
 * fuzzer checks it). */
static int apply_until_stable(const profile *p, u32str *u, lx_error *err) {
  int rc = apply_rules(p, u);
  if (rc || !p->trim)
    return rc;
  for (int again = 0; again < 3; again++) {
    u32str next = {NULL, u->n};
    if (u->n) {
      next.s = malloc(u->n * sizeof *next.s);
      if (!next.s)
        return LX_ERR_NOMEM;
      memcpy(next.s, u->s, u->n * sizeof *next.s);
    }
    rc = apply_rules(p, &next);
    int stable = rc == 0 && equal(u, &next);
    u32_release(u);
    *u = next;
    if (rc || stable)
      return rc;
  }
  return error_set(err, LX_ERR_INVALID,
                   "the Nickname rules do not reach a stable result");
}

/* ASCII input: no width, normalization or bidi work, and every code point
 * is PVALID except controls and (in IdentifierClass) the space. */
static int prepare_ascii(const profile *p, const char *in, size_t len, char *o,
                         size_t *olen, lx_error *err) {
  size_t k = 0;
  for (size_t i = 0; i < len; i++) {
    char c = in[i];
    if ((unsigned char)c < 0x20 || c == 0x7F || (c == ' ' && p->identifier))
      return error_set(err, LX_ERR_INVALID, "disallowed code point U+%04X",
                       (unsigned)c);
    if (c == ' ' && p->trim && (k == 0 || o[k - 1] == ' '))
      continue;
    if (p->lower && c >= 'A' && c <= 'Z')
      c = (char)(c - 'A' + 'a');
    o[k++] = c;
  }
  if (p->trim && k > 0 && o[k - 1] == ' ')
    k--;
  o[k] = '\0';
  *olen = k;
  return 0;
}

static int encode(const u32str *u, char **out, size_t *out_len) {
  size_t n = 0;
  for (size_t i = 0; i < u->n; i++)
    n += u->s[i] < 0x80 ? 1 : u->s[i] < 0x800 ? 2 : u->s[i] < 0x10000 ? 3 : 4;
  uint8_t *o = malloc(n + 1);
  if (!o)
    return LX_ERR_NOMEM;
  for (size_t i = 0, k = 0; i < u->n; i++)
    k += (size_t)u8_uctomb(o + k, u->s[i], (ptrdiff_t)(n - k));
  o[n] = '\0';
  *out = (char *)o;
  *out_len = n;
  return 0;
}

static int decode(const uint8_t *in, size_t len, u32str *u) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    n += (in[i] & 0xC0) != 0x80;
  u->s = malloc(n * sizeof *u->s);
  if (!u->s)
    return LX_ERR_NOMEM;
  u->n = n;
  for (size_t i = 0, k = 0; k < n; k++) {
    ucs4_t cp;
    i += (size_t)u8_mbtouc(&cp, in + i, len - i);
    u->s[k] = cp;
  }
  return 0;
}

int lx_precis_prepare(lx_precis_profile which, const char *in, size_t len,
                      char **out, size_t *out_len, lx_error *err) {
  size_t n = 0;
  if (!out || (!in && len) || which < LX_PRECIS_USERNAME_CASE_MAPPED ||
      which > LX_PRECIS_NICKNAME_CASE_MAPPED)
    return error_set(err, LX_ERR_INVALID, "lx_precis_prepare: bad argument");
  *out = NULL;
  const profile *p = &profiles[which];
  const uint8_t *u8 = (const uint8_t *)in;
  const uint8_t *bad = len ? u8_check(u8, len) : NULL;
  if (bad)
    return error_set(err, LX_ERR_INVALID, "invalid UTF-8 at byte %zu",
                     (size_t)(bad - u8));
  size_t ascii = 0;
  while (ascii < len && u8[ascii] < 0x80)
    ascii++;
  int rc;
  if (ascii == len) {
    char *o = malloc(len + 1);
    if (!o)
      return error_set(err, LX_ERR_NOMEM, "out of memory");
    rc = prepare_ascii(p, in, len, o, &n, err);
    if (rc == 0 && n == 0)
      rc = error_set(err, LX_ERR_INVALID, "empty string");
    if (rc == 0)
      *out = o;
    else {
      OPENSSL_cleanse(o, len + 1);
      free(o);
    }
  } else {
    u32str u = {NULL, 0};
    rc = decode(u8, len, &u);
    if (rc == 0)
      rc = apply_until_stable(p, &u, err);
    if (rc == 0 && u.n == 0)
      rc = error_set(err, LX_ERR_INVALID, "empty string");
    if (rc == 0)
      rc = check(p, &u, u8, len, err);
    if (rc == 0)
      rc = encode(&u, out, &n);
    u32_release(&u);
  }
  if (rc == LX_ERR_NOMEM)
    error_set(err, rc, "out of memory");
  else if (rc == 0) {
    if (out_len)
      *out_len = n;
    error_clear(err);
  }
  return rc;
}

/* jid.c: JIDs per RFC 7622: splitting, preparing each part (PRECIS for the
 * localpart and resourcepart, IDNA2008 through libidn2 for the domainpart),
 * comparison, and XEP-0106 escaping. */
#include "error.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <stdlib.h>
#include <string.h>

struct lx_jid {
  const char *local, *domain, *resource; /* local and resource may be NULL */
  const char *domain_ascii, *bare, *full;
  char data[]; /* the strings above, one after the other */
};

/* No part longer than this can prepare to LX_JID_PART_MAX bytes or fewer:
 * preparation deletes nothing, and each code point of the result comes
 * from at most four of the input (a canonical composition) of at most four
 * bytes each. For the domainpart, whose UTS #46 mapping does delete
 * (U+00AD), it is simply a bound on the work. */
#define MAX_INPUT (16 * LX_JID_PART_MAX)
/* An A-label domain name as DNS carries it (RFC 1035 §2.3.4). */
#define MAX_DOMAIN_ASCII 253
#define MAX_LABEL 63

/* A prepared part: malloc()ed, NUL-terminated. */
typedef struct part {
  char *s;
  size_t len;
} part;

static void part_free(part *p) {
  free(p->s);
  p->s = NULL;
}

/* A PRECIS failure as the JID's: LX_ERR_JID_MALFORMED, "localpart: ...". */
static int part_error(lx_error *err, const char *name, int rc,
                      const lx_error *why) {
  if (rc == LX_ERR_NOMEM)
    return error_set(err, rc, "out of memory");
  return error_set(err, LX_ERR_JID_MALFORMED, "%s: %s", name, why->detail);
}

static int prepare_precis(const char *name, lx_precis_profile profile,
                          const char *s, size_t len, part *out, lx_error *err) {
  lx_error why;
  if (len == 0)
    return error_set(err, LX_ERR_JID_MALFORMED, "%s: empty", name);
  if (len > MAX_INPUT)
    return error_set(err, LX_ERR_JID_MALFORMED, "%s: longer than %d bytes",
                     name, LX_JID_PART_MAX);
  int rc = lx_precis_prepare(profile, s, len, &out->s, &out->len, &why);
  if (rc)
    return part_error(err, name, rc, &why);
  if (out->len > LX_JID_PART_MAX) {
    part_free(out);
    return error_set(err, LX_ERR_JID_MALFORMED, "%s: longer than %d bytes",
                     name, LX_JID_PART_MAX);
  }
  return 0;
}

static int prepare_local(const char *s, size_t len, part *out, lx_error *err) {
  int rc = prepare_precis("localpart", LX_PRECIS_USERNAME_CASE_MAPPED, s, len,
                          out, err);
  for (size_t i = 0; rc == 0 && i < out->len; i++) {
    char c = out->s[i];
    if (memchr("\"&'/:<>@", c, 8)) { /* RFC 7622 §3.3.1 */
      part_free(out);
      rc = error_set(err, LX_ERR_JID_MALFORMED,
                     "localpart: disallowed code point U+%04X "
                     "(RFC 7622 §3.3.1)",
                     (unsigned)c);
    }
  }
  return rc;
}

/* ---- The domainpart ----------------------------------------------------- */

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static int is_ldh(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         c == '-';
}

/* The checks a host name's labels must pass (RFC 5890 §2.3.1, RFC 5891
 * §4.2.3.1); NULL when they pass, else what is wrong. The name is
 * lower-case ASCII without a trailing dot. */
static const char *label_fault(const char *s, size_t len, char *bad) {
  if (len > MAX_DOMAIN_ASCII)
    return "longer than 253 bytes as an A-label";
  for (size_t start = 0; start <= len;) {
    const char *dot = memchr(s + start, '.', len - start);
    size_t end = dot ? (size_t)(dot - s) : len;
    const char *l = s + start;
    size_t n = end - start;
    for (size_t i = 0; i < n; i++)
      if (!is_ldh(l[i])) {
        *bad = l[i];
        return NULL;
      }
    if (n == 0)
      return "empty label";
    if (n > MAX_LABEL)
      return "label longer than 63 bytes";
    if (l[0] == '-' || l[n - 1] == '-')
      return "label starts or ends with a hyphen";
    if (n >= 4 && l[2] == '-' && l[3] == '-' && memcmp(l, "xn", 2) != 0)
      return "label has hyphens in its third and fourth places";
    start = end + 1;
  }
  return NULL;
}

/* WHATWG URL's "ends in a number": a last label of digits, or 0x and hex,
 * makes resolvers read the whole name as an IPv4 address ("127.1"). */
static int ends_in_number(const char *s, size_t len) {
  const char *dot = NULL;
  for (size_t i = 0; i < len; i++)
    if (s[i] == '.')
      dot = s + i;
  const char *l = dot ? dot + 1 : s;
  size_t n = (size_t)(s + len - l), i = 0;
  if (n >= 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X')) {
    for (i = 2; i < n && is_hex(l[i]); i++)
      ;
    return i == n;
  }
  for (; i < n && is_digit(l[i]); i++)
    ;
  return n > 0 && i == n;
}

/* An IPv4 address in dotted decimal, four parts without leading zeros, or
 * the inside of [IPv6] written back in the RFC 5952 form into `canon`. */
static int ip_literal(int family, const char *s, size_t len, char *canon) {
  char text[INET6_ADDRSTRLEN];
  unsigned char addr[16];
  if (len == 0 || len >= sizeof text)
    return 0;
  memcpy(text, s, len);
  text[len] = '\0';
  if (inet_pton(family, text, addr) != 1)
    return 0;
  if (family == AF_INET) { /* glibc takes "01.2.3.4": refuse it */
    for (size_t i = 0; i < len; i++)
      if (s[i] == '0' && (i == 0 || s[i - 1] == '.') && i + 1 < len &&
          is_digit(s[i + 1]))
        return 0;
    return 1;
  }
  return inet_ntop(AF_INET6, addr, canon, INET6_ADDRSTRLEN) != NULL;
}

/* Copies `len` bytes into a new NUL-terminated part. */
static int part_copy(const char *s, size_t len, part *out) {
  out->s = malloc(len + 1);
  if (!out->s)
    return LX_ERR_NOMEM;
  memcpy(out->s, s, len);
  out->s[len] = '\0';
  out->len = len;
  return 0;
}

/* Host names of letters, digits, hyphens and dots need no IDNA work: lower
 * case is their U-label and A-label form. Returns 1 when it copied such a
 * name into `out` (out->s NULL: out of memory), 0 for libidn2 to do. */
static int ascii_host(const char *s, size_t len, part *out) {
  for (size_t i = 0; i < len; i++)
    if (!is_ldh(s[i]) && s[i] != '.')
      return 0;
  for (size_t i = 0; i + 3 < len; i++) /* an A-label to decode and check */
    if ((i == 0 || s[i - 1] == '.') && (s[i] | 0x20) == 'x' &&
        (s[i + 1] | 0x20) == 'n' && s[i + 2] == '-' && s[i + 3] == '-')
      return 0;
  if (part_copy(s, len, out) == 0)
    for (size_t i = 0; i < len; i++)
      if (out->s[i] >= 'A' && out->s[i] <= 'Z')
        out->s[i] = (char)(out->s[i] + 32);
  return 1;
}

/* The UTS #46 label separators: . U+3002 U+FF0E U+FF61. */
static size_t trailing_dot(const char *s, size_t len) {
  if (len >= 1 && s[len - 1] == '.')
    return 1;
  if (len >= 3 && (!memcmp(s + len - 3, "\xE3\x80\x82", 3) ||
                   !memcmp(s + len - 3, "\xEF\xBC\x8E", 3) ||
                   !memcmp(s + len - 3, "\xEF\xBD\xA1", 3)))
    return 3;
  return 0;
}

static int domain_error(lx_error *err, const char *fmt, const char *what) {
  return error_set(err, LX_ERR_JID_MALFORMED, fmt, what);
}

/* What an A-label host name must be: LDH labels of 1 to 63 bytes, and an
 * IPv4 address if it ends in a number. libidn2 passes ASCII it does not map
 * ("a_b", "a@b", "a..b"), so this runs after it too. */
static int check_host(const part *a, lx_error *err) {
  char bad = 0;
  const char *fault = label_fault(a->s, a->len, &bad);
  if (bad)
    return error_set(err, LX_ERR_JID_MALFORMED,
                     "domainpart: disallowed code point U+%04X",
                     (unsigned)(unsigned char)bad);
  if (fault)
    return domain_error(err, "domainpart: %s", fault);
  if (ends_in_number(a->s, a->len) && !ip_literal(AF_INET, a->s, a->len, NULL))
    return error_set(err, LX_ERR_JID_MALFORMED,
                     "domainpart: ends in a number but is not an IPv4 "
                     "address");
  return 0;
}

static int idna_error(lx_error *err, int rc) {
  if (rc == IDN2_MALLOC)
    return LX_ERR_NOMEM;
  return domain_error(err, "domainpart: %s (IDNA2008)", idn2_strerror(rc));
}

/* The U-label form of an A-label name. libidn2 lets some A-labels through
 * UTS #46 whose U-label IDNA2008 refuses ("xn--mnk" is U+322D), so after
 * the mapping the U-labels go through IDNA2008 proper and must give the
 * A-labels back: then preparing the result again changes nothing. */
static int unicode_form(const part *aform, int mapped, part *uform,
                        lx_error *err) {
  char *u = NULL, *back = NULL;
  int rc = idn2_to_unicode_8z8z(aform->s, &u, 0);
  if (rc == IDN2_OK && mapped)
    rc = idn2_to_ascii_8z(u, &back, IDN2_NO_TR46);
  if (rc == IDN2_OK && mapped && strcmp(back, aform->s) != 0)
    rc = domain_error(err, "domainpart: %s",
                      "its U-labels do not give its A-labels back");
  else if (rc != IDN2_OK)
    rc = idna_error(err, rc);
  free(back);
  if (rc) {
    free(u);
    return rc;
  }
  uform->s = u;
  uform->len = strlen(u);
  return 0;
}

/* Prepares the domainpart into its U-label form and its A-label form. */
static int prepare_domain(const char *s, size_t len, part *uform, part *aform,
                          lx_error *err) {
  char canon[INET6_ADDRSTRLEN + 2];
  len -= trailing_dot(s, len);
  if (len == 0)
    return error_set(err, LX_ERR_JID_MALFORMED, "domainpart: empty");
  if (len > MAX_INPUT)
    return error_set(err, LX_ERR_JID_MALFORMED,
                     "domainpart: longer than %d bytes", MAX_INPUT);
  if (memchr(s, '\0', len))
    return error_set(err, LX_ERR_JID_MALFORMED,
                     "domainpart: disallowed code point U+0000");
  if (s[0] == '[' || s[len - 1] == ']') {
    if (len < 2 || s[0] != '[' || s[len - 1] != ']' ||
        !ip_literal(AF_INET6, s + 1, len - 2, canon + 1))
      return error_set(err, LX_ERR_JID_MALFORMED,
                       "domainpart: not an IPv6 address in brackets");
    canon[0] = '[';
    size_t n = strlen(canon);
    canon[n] = ']';
    if (part_copy(canon, n + 1, uform) || part_copy(canon, n + 1, aform))
      return LX_ERR_NOMEM;
    return 0;
  }
  int idna = ascii_host(s, len, aform) == 0;
  if (!idna && !aform->s)
    return LX_ERR_NOMEM;
  int mapped = 0;
  if (idna) {
    part in;
    char *a = NULL;
    if (part_copy(s, len, &in))
      return LX_ERR_NOMEM;
    for (size_t i = 0; i < len; i++) /* what UTS #46 does to ASCII */
      if (in.s[i] >= 'A' && in.s[i] <= 'Z')
        in.s[i] = (char)(in.s[i] + 32);
    /* A name IDNA2008 accepts as it is maps to itself under UTS #46
     * (test_jid checks every code point), so the mapping, four times the
     * work, runs only for the others. */
    int rc = idn2_to_ascii_8z(in.s, &a, IDN2_NO_TR46);
    if (rc != IDN2_OK && rc != IDN2_MALLOC) {
      mapped = 1;
      rc = idn2_to_ascii_8z(in.s, &a, IDN2_NONTRANSITIONAL);
    }
    part_free(&in);
    if (rc != IDN2_OK)
      return idna_error(err, rc);
    aform->s = a; /* libidn2 allocates with malloc() */
    aform->len = strlen(a);
  }
  int rc = check_host(aform, err);
  if (rc == 0)
    rc = idna ? unicode_form(aform, mapped, uform, err)
              : part_copy(aform->s, aform->len, uform);
  if (rc == 0 && uform->len > LX_JID_PART_MAX)
    rc = error_set(err, LX_ERR_JID_MALFORMED,
                   "domainpart: longer than %d bytes", LX_JID_PART_MAX);
  if (rc) {
    part_free(uform);
    part_free(aform);
  }
  return rc;
}

/* ---- JIDs --------------------------------------------------------------- */

static char *put(char **p, const char *a, size_t alen, char sep, const char *b,
                 size_t blen) {
  char *start = *p;
  memcpy(*p, a, alen);
  *p += alen;
  if (b) {
    *(*p)++ = sep;
    memcpy(*p, b, blen);
    *p += blen;
  }
  *(*p)++ = '\0';
  return start;
}

/* Prepares the parts given (local and resource may be NULL) and assembles
 * the JID. */
static int build(lx_jid **out, const char *local, size_t llen,
                 const char *domain, size_t dlen, const char *resource,
                 size_t rlen, lx_error *err) {
  part l = {NULL, 0}, u = {NULL, 0}, a = {NULL, 0}, r = {NULL, 0};
  int rc = 0;
  *out = NULL;
  if (local)
    rc = prepare_local(local, llen, &l, err);
  if (rc == 0)
    rc = prepare_domain(domain, dlen, &u, &a, err);
  if (rc == 0 && resource)
    rc = prepare_precis("resourcepart", LX_PRECIS_OPAQUE_STRING, resource, rlen,
                        &r, err);
  if (rc)
    goto done;
  size_t bare = (l.s ? l.len + 1 : 0) + u.len;
  size_t full = bare + (r.s ? r.len + 1 : 0);
  size_t size = (l.s ? l.len + 1 : 0) + (u.len + 1) + (r.s ? r.len + 1 : 0) +
                (a.len + 1) + (bare + 1) + (full + 1);
  lx_jid *j = malloc(sizeof *j + size);
  if (!j) {
    rc = LX_ERR_NOMEM;
    goto done;
  }
  char *p = j->data;
  j->local = l.s ? put(&p, l.s, l.len, 0, NULL, 0) : NULL;
  j->domain = put(&p, u.s, u.len, 0, NULL, 0);
  j->resource = r.s ? put(&p, r.s, r.len, 0, NULL, 0) : NULL;
  j->domain_ascii = put(&p, a.s, a.len, 0, NULL, 0);
  j->bare = l.s ? put(&p, l.s, l.len, '@', u.s, u.len)
                : put(&p, u.s, u.len, 0, NULL, 0);
  j->full = r.s ? put(&p, j->bare, bare, '/', r.s, r.len)
                : put(&p, j->bare, bare, 0, NULL, 0);
  *out = j;
done:
  if (rc == LX_ERR_NOMEM)
    error_set(err, rc, "out of memory");
  else if (rc == 0)
    error_clear(err);
  part_free(&l);
  part_free(&u);
  part_free(&a);
  part_free(&r);
  return rc;
}

int lx_jid_new(lx_jid **out, const char *s, size_t len, lx_error *err) {
  if (!out || (!s && len))
    return error_set(err, LX_ERR_INVALID, "lx_jid_new: NULL argument");
  if (!s)
    s = "";
  const char *slash = memchr(s, '/', len);
  size_t dend = slash ? (size_t)(slash - s) : len;
  const char *at = memchr(s, '@', dend);
  const char *domain = at ? at + 1 : s;
  return build(out, at ? s : NULL, at ? (size_t)(at - s) : 0, domain,
               (size_t)(s + dend - domain), slash ? slash + 1 : NULL,
               slash ? len - dend - 1 : 0, err);
}

int lx_jid_from_parts(lx_jid **out, const char *local, size_t local_len,
                      const char *domain, size_t domain_len,
                      const char *resource, size_t resource_len,
                      lx_error *err) {
  if (!out || !domain)
    return error_set(err, LX_ERR_INVALID, "lx_jid_from_parts: NULL argument");
  return build(out, local, local_len, domain, domain_len, resource,
               resource_len, err);
}

void lx_jid_free(lx_jid *jid) { free(jid); }

const char *lx_jid_local(const lx_jid *jid) { return jid->local; }
const char *lx_jid_domain(const lx_jid *jid) { return jid->domain; }
const char *lx_jid_resource(const lx_jid *jid) { return jid->resource; }
const char *lx_jid_domain_ascii(const lx_jid *jid) { return jid->domain_ascii; }
const char *lx_jid_bare(const lx_jid *jid) { return jid->bare; }
const char *lx_jid_full(const lx_jid *jid) { return jid->full; }

int lx_jid_equal(const lx_jid *a, const lx_jid *b) {
  return strcmp(a->full, b->full) == 0;
}

int lx_jid_bare_equal(const lx_jid *a, const lx_jid *b) {
  return strcmp(a->bare, b->bare) == 0;
}

/* ---- XEP-0106 ----------------------------------------------------------- */

/* The ten escapes: "\\20" stands for ' ' and so on. */
static const char escapes[] = " \"&'/:<>@\\";
static const char codes[][3] = {"20", "22", "26", "27", "2f",
                                "3a", "3c", "3e", "40", "5c"};

/* The index of the escape sequence at s[0..2] (after a backslash), or -1. */
static int escape_code(const char *s, size_t avail) {
  if (avail < 2)
    return -1;
  for (int i = 0; i < 10; i++)
    if (s[0] == codes[i][0] && s[1] == codes[i][1])
      return i;
  return -1;
}

size_t lx_jid_escape(const char *in, size_t len, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    const char *e = in[i] ? memchr(escapes, in[i], 9) : NULL;
    if (e || (in[i] == '\\' && escape_code(in + i + 1, len - i - 1) >= 0)) {
      out[o++] = '\\';
      memcpy(out + o, codes[e ? e - escapes : 9], 2);
      o += 2;
    } else {
      out[o++] = in[i];
    }
  }
  out[o] = '\0';
  return o;
}

size_t lx_jid_unescape(const char *in, size_t len, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    int k = in[i] == '\\' ? escape_code(in + i + 1, len - i - 1) : -1;
    if (k >= 0) {
      out[o++] = escapes[k];
      i += 2;
    } else {
      out[o++] = in[i];
    }
  }
  out[o] = '\0';
  return o;
}

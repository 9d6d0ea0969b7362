/* digest_md5.c: DIGEST-MD5 (RFC 2831), legacy: qop=auth, md5-sess, one
 * round (nc=00000001), digest-uri <service>/<host>; the client verifies
 * rspauth. Historic since RFC 6331: the server side is only enabled on
 * request. */
#include "digest_md5.h"
#include "error.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DIRECTIVES SASL_MAX_ATTRS

/* ---- directive lists: key=token or key="quoted", comma-separated -------- */

typedef struct directive {
  const char *key;
  size_t key_len;
  size_t val_at, val_len; /* in the unquoted copy */
  int quoted;
} directive;

typedef struct directives {
  directive d[MAX_DIRECTIVES];
  int n;
  buf values; /* unquoted values, each NUL-terminated */
} directives;

static int is_lws(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 2616 token characters. */
static int is_tchar(unsigned char c) {
  return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\\\"/[]?={}", c);
}

/* Parses `in` into ds. Returns 0, LX_ERR_SASL_MALFORMED_REQUEST or
 * LX_ERR_NOMEM. */
static int parse_directives(const char *in, size_t len, directives *ds,
                            lx_error *err) {
  size_t i = 0;
  ds->n = 0;
  ds->values.len = 0;
  for (;;) {
    while (i < len && (is_lws(in[i]) || in[i] == ','))
      i++;
    if (i == len)
      return 0;
    if (ds->n == MAX_DIRECTIVES)
      goto malformed;
    directive *d = &ds->d[ds->n++];
    d->key = in + i;
    while (i < len && is_tchar((unsigned char)in[i]))
      i++;
    d->key_len = (size_t)(in + i - d->key);
    while (i < len && is_lws(in[i]))
      i++;
    if (!d->key_len || i == len || in[i++] != '=')
      goto malformed;
    while (i < len && is_lws(in[i]))
      i++;
    d->val_at = ds->values.len;
    d->quoted = i < len && in[i] == '"';
    if (d->quoted) {
      for (i++;; i++) {
        if (i == len)
          goto malformed;
        if (in[i] == '"')
          break;
        if (in[i] == '\\' && ++i == len)
          goto malformed;
        if (in[i] == '\0' || ((unsigned char)in[i] < 0x20 && !is_lws(in[i])))
          goto malformed;
        if (buf_putc(&ds->values, in[i]))
          return LX_ERR_NOMEM;
      }
      i++;
    } else {
      size_t start = i;
      while (i < len && is_tchar((unsigned char)in[i]))
        i++;
      if (i == start || buf_put(&ds->values, in + start, i - start))
        return i == start ? error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                                      "digest-md5: empty value")
                          : LX_ERR_NOMEM;
    }
    d->val_len = ds->values.len - d->val_at;
    if (buf_putc(&ds->values, '\0'))
      return LX_ERR_NOMEM;
    while (i < len && is_lws(in[i]))
      i++;
    if (i < len && in[i] != ',')
      goto malformed;
  }
malformed:
  return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                   "digest-md5: not a list of directives");
}

/* The value of the only directive named key (case-insensitive), NULL when
 * absent; *dup is set when it appears more than once. */
static const char *get(const directives *ds, const char *key, size_t *len,
                       int *dup) {
  const char *v = NULL;
  size_t kl = strlen(key);
  for (int i = 0; i < ds->n; i++) {
    const directive *d = &ds->d[i];
    if (d->key_len == kl && strncasecmp(d->key, key, kl) == 0) {
      if (v)
        *dup = 1;
      v = ds->values.data + d->val_at;
      if (len)
        *len = d->val_len;
    }
  }
  return v;
}

/* 1 when the comma-separated list `v` holds `token` (case-insensitive). */
static int list_has(const char *v, const char *token) {
  size_t tl = strlen(token);
  while (*v) {
    while (*v == ',' || is_lws(*v))
      v++;
    const char *start = v;
    while (*v && *v != ',' && !is_lws(*v))
      v++;
    if ((size_t)(v - start) == tl && strncasecmp(start, token, tl) == 0)
      return 1;
  }
  return 0;
}

/* Appends key="value" with '"' and '\' escaped. */
static int put_quoted(buf *b, const char *key, const char *v) {
  int rc = buf_puts(b, key) || buf_puts(b, "=\"");
  for (; *v && !rc; v++)
    rc = (*v == '"' || *v == '\\' ? buf_putc(b, '\\') : 0) || buf_putc(b, *v);
  return rc || buf_putc(b, '"') ? LX_ERR_NOMEM : 0;
}

/* ---- the digest ---------------------------------------------------------- */

/* 1 when every character of the n bytes of UTF-8 fits ISO 8859-1 (or,
 * with ascii set, US-ASCII). */
static int fits_n(const char *s, size_t n, int ascii) {
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  while (p < end) {
    if (*p < 0x80)
      p++;
    else if (!ascii && (*p == 0xc2 || *p == 0xc3) && end - p > 1 &&
             (p[1] & 0xc0) == 0x80)
      p += 2;
    else
      return 0;
  }
  return 1;
}

static int fits(const char *s, int ascii) {
  return fits_n(s, strlen(s), ascii);
}

/* Hashes the form of a UTF-8 string that RFC 2831 2.1.2.1 asks for: ISO
 * 8859-1 when every character fits (as Cyrus SASL does for the username,
 * realm and password), else the UTF-8 as is. */
static int put_secret_part(EVP_MD_CTX *ctx, const char *s, size_t n) {
  if (!fits_n(s, n, 0))
    return EVP_DigestUpdate(ctx, s, n) == 1 ? 0 : LX_ERR_INTERNAL;
  unsigned char latin[64];
  int ok = 1;
  for (size_t i = 0, o = 0; ok && i < n; o = 0) {
    for (; i < n && o < sizeof latin; i++) {
      unsigned c = (unsigned char)s[i];
      if (c >= 0x80) /* C2 or C3 and a continuation byte: fits_n said so */
        c = (c & 0x03u) << 6 | ((unsigned char)s[++i] & 0x3fu);
      latin[o++] = (unsigned char)c;
    }
    ok = EVP_DigestUpdate(ctx, latin, o) == 1;
  }
  OPENSSL_cleanse(latin, sizeof latin);
  return ok ? 0 : LX_ERR_INTERNAL;
}

static void hex(const unsigned char *p, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = '\0';
}

/* MD5 of the pieces (NULL-terminated list of strings). */
static int md5_of(unsigned char *out, const char *const *pieces) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = ctx && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1;
  for (; ok && *pieces; pieces++)
    ok = EVP_DigestUpdate(ctx, *pieces, strlen(*pieces)) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx, out, NULL) == 1;
  EVP_MD_CTX_free(ctx);
  return ok ? 0 : LX_ERR_INTERNAL;
}

typedef struct digest_input {
  const char *username, *realm, *password, *nonce, *cnonce, *authzid, *uri;
  size_t password_len;
} digest_input;

/* The 32 hex digits of the response (client_side) or of rspauth. */
static int compute(const digest_input *in, int response, char out[33]) {
  unsigned char h[16];
  char ha1[33], ha2[33];
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int rc =
      ctx && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 ? 0 : LX_ERR_INTERNAL;
  /* H(username:realm:password) */
  if (!rc)
    rc = put_secret_part(ctx, in->username, strlen(in->username)) ||
                 EVP_DigestUpdate(ctx, ":", 1) != 1 ||
                 put_secret_part(ctx, in->realm, strlen(in->realm)) ||
                 EVP_DigestUpdate(ctx, ":", 1) != 1 ||
                 put_secret_part(ctx, in->password, in->password_len) ||
                 EVP_DigestFinal_ex(ctx, h, NULL) != 1
             ? LX_ERR_INTERNAL
             : 0;
  EVP_MD_CTX_free(ctx);
  /* A1 = H(...):nonce:cnonce[:authzid] */
  if (!rc) {
    ctx = EVP_MD_CTX_new();
    rc = ctx && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
                 EVP_DigestUpdate(ctx, h, 16) == 1 &&
                 EVP_DigestUpdate(ctx, ":", 1) == 1 &&
                 EVP_DigestUpdate(ctx, in->nonce, strlen(in->nonce)) == 1 &&
                 EVP_DigestUpdate(ctx, ":", 1) == 1 &&
                 EVP_DigestUpdate(ctx, in->cnonce, strlen(in->cnonce)) == 1 &&
                 (!in->authzid ||
                  (EVP_DigestUpdate(ctx, ":", 1) == 1 &&
                   EVP_DigestUpdate(ctx, in->authzid, strlen(in->authzid)) ==
                       1)) &&
                 EVP_DigestFinal_ex(ctx, h, NULL) == 1
             ? 0
             : LX_ERR_INTERNAL;
    EVP_MD_CTX_free(ctx);
  }
  if (!rc) {
    hex(h, 16, ha1);
    const char *a2[] = {response ? "AUTHENTICATE:" : ":", in->uri, NULL};
    rc = md5_of(h, a2);
  }
  if (!rc) {
    hex(h, 16, ha2);
    const char *kd[] = {ha1, ":",    in->nonce, ":00000001:", in->cnonce,
                        ":", "auth", ":",       ha2,          NULL};
    rc = md5_of(h, kd);
  }
  if (!rc)
    hex(h, 16, out);
  OPENSSL_cleanse(h, sizeof h);
  OPENSSL_cleanse(ha1, sizeof ha1);
  return rc;
}

/* ---- client -------------------------------------------------------------- */

struct digest_client {
  char *username, *authzid, *host, *uri, *cnonce;
  buf password;
  char rspauth[33];
  int state; /* 0 new, 1 response sent, 2 verified */
  size_t max_message;
};

int digest_client_new(digest_client **out, const digest_cfg *cfg) {
  digest_client *c = calloc(1, sizeof *c);
  if (!c)
    return LX_ERR_NOMEM;
  int fail = 0;
  c->username = sasl_dup(cfg->username, &fail);
  c->authzid = sasl_dup(cfg->authzid, &fail);
  c->cnonce = sasl_dup(cfg->nonce, &fail);
  c->host = sasl_dup(cfg->host, &fail);
  c->max_message = cfg->max_message;
  size_t n = strlen(cfg->service) + strlen(cfg->host) + 2;
  if ((c->uri = malloc(n)))
    snprintf(c->uri, n, "%s/%s", cfg->service, cfg->host);
  fail |= !c->uri || buf_put(&c->password, cfg->password, cfg->password_len) ||
          buf_putc(&c->password, '\0');
  if (fail) {
    digest_client_free(c);
    return LX_ERR_NOMEM;
  }
  *out = c;
  return 0;
}

void digest_client_free(digest_client *c) {
  if (!c)
    return;
  free(c->username);
  free(c->authzid);
  free(c->host);
  free(c->uri);
  free(c->cnonce);
  buf_wipe(&c->password);
  OPENSSL_cleanse(c, sizeof *c);
  free(c);
}

int digest_client_response(digest_client *c, const char *in, size_t len,
                           buf *out, lx_error *err) {
  directives ds = {.n = 0};
  int rc, dup = 0;
  char response[33];
  if (c->state != 0)
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "digest-md5: unexpected challenge");
  if (len > c->max_message)
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "digest-md5: challenge longer than %zu bytes",
                     c->max_message);
  if ((rc = parse_directives(in, len, &ds, err)))
    goto done;
  size_t nonce_len = 0;
  const char *nonce = get(&ds, "nonce", &nonce_len, &dup);
  const char *algorithm = get(&ds, "algorithm", NULL, &dup);
  const char *qop = get(&ds, "qop", NULL, &dup);
  const char *charset = get(&ds, "charset", NULL, &dup);
  int realm_dup = 0;
  const char *realm = NULL;
  for (int i = 0; i < ds.n && !realm; i++) /* the first realm offered */
    if (ds.d[i].key_len == 5 && strncasecmp(ds.d[i].key, "realm", 5) == 0)
      realm = ds.values.data + ds.d[i].val_at;
  (void)get(&ds, "realm", NULL, &realm_dup);
  if (dup || !nonce || !nonce_len || nonce_len > SASL_MAX_NONCE || !algorithm ||
      strcasecmp(algorithm, "md5-sess") != 0 ||
      (qop && !list_has(qop, "auth")) ||
      (charset && strcasecmp(charset, "utf-8") != 0)) {
    rc = error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                   "digest-md5: the challenge needs one nonce, "
                   "algorithm=md5-sess and qop auth");
    goto done;
  }
  if (!realm)
    realm = c->host;
  /* without charset=utf-8 everything is ISO 8859-1: names we would send as
   * such must be ASCII, the password must fit */
  if (!charset && (!fits(c->username, 1) || !fits(realm, 1) ||
                   !fits(c->password.data, 0))) {
    rc = error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                   "digest-md5: non-ASCII credentials need a server with "
                   "charset=utf-8");
    goto done;
  }
  digest_input di = {c->username, realm,  c->password.data,   nonce, c->cnonce,
                     c->authzid,  c->uri, c->password.len - 1};
  if ((rc = compute(&di, 1, response)) || (rc = compute(&di, 0, c->rspauth))) {
    rc = error_set(err, rc, "digest-md5: MD5 failed");
    goto done;
  }
  out->len = 0;
  if (put_quoted(out, "username", c->username) || buf_putc(out, ',') ||
      put_quoted(out, "realm", realm) || buf_putc(out, ',') ||
      put_quoted(out, "nonce", nonce) || buf_putc(out, ',') ||
      put_quoted(out, "cnonce", c->cnonce) ||
      buf_puts(out, ",nc=00000001,qop=auth,") ||
      put_quoted(out, "digest-uri", c->uri) || buf_puts(out, ",response=") ||
      buf_puts(out, response) || (charset && buf_puts(out, ",charset=utf-8")) ||
      (c->authzid &&
       (buf_putc(out, ',') || put_quoted(out, "authzid", c->authzid)))) {
    rc = error_set(err, LX_ERR_NOMEM, "digest-md5: out of memory");
    goto done;
  }
  c->state = 1;
done:
  if (rc == LX_ERR_NOMEM)
    error_set(err, rc, "digest-md5: out of memory");
  buf_free(&ds.values);
  return rc;
}

int digest_client_verify(digest_client *c, const char *in, size_t len,
                         lx_error *err) {
  directives ds = {.n = 0};
  int rc, dup = 0;
  size_t n = 0;
  if (c->state != 1)
    return error_set(err, LX_ERR_SASL_SERVER_SIGNATURE,
                     "digest-md5: the server ended the exchange before "
                     "proving it knows the password");
  if (len > c->max_message)
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "digest-md5: message longer than %zu bytes",
                     c->max_message);
  if ((rc = parse_directives(in, len, &ds, err)) == 0) {
    const char *v = get(&ds, "rspauth", &n, &dup);
    if (!v || dup || n != 32 || CRYPTO_memcmp(v, c->rspauth, 32) != 0)
      rc = error_set(err, LX_ERR_SASL_SERVER_SIGNATURE,
                     "digest-md5: rspauth does not verify");
    else
      c->state = 2;
  } else if (rc == LX_ERR_NOMEM) {
    error_set(err, rc, "digest-md5: out of memory");
  }
  buf_free(&ds.values);
  return rc;
}

/* ---- server -------------------------------------------------------------- */

struct digest_server {
  const digest_cfg *cfg;
  char *uri;
  buf nonce;     /* ours, NUL-terminated */
  directives ds; /* the client's response */
  const char *username, *realm, *cnonce, *authzid, *response;
  int state; /* 0 new, 1 challenge sent, 2 response parsed */
};

int digest_server_new(digest_server **out, const digest_cfg *cfg) {
  digest_server *s = calloc(1, sizeof *s);
  if (!s)
    return LX_ERR_NOMEM;
  s->cfg = cfg;
  size_t n = strlen(cfg->service) + strlen(cfg->host) + 2;
  if (!(s->uri = malloc(n))) {
    free(s);
    return LX_ERR_NOMEM;
  }
  snprintf(s->uri, n, "%s/%s", cfg->service, cfg->host);
  *out = s;
  return 0;
}

void digest_server_free(digest_server *s) {
  if (!s)
    return;
  free(s->uri);
  buf_free(&s->nonce);
  buf_free(&s->ds.values);
  free(s);
}

int digest_server_challenge(digest_server *s, buf *out, lx_error *err) {
  s->nonce.len = 0;
  out->len = 0;
  if (buf_puts(&s->nonce, s->cfg->nonce) || buf_putc(&s->nonce, '\0') ||
      put_quoted(out, "realm", s->cfg->host) || buf_putc(out, ',') ||
      put_quoted(out, "nonce", s->nonce.data) ||
      buf_puts(out, ",qop=\"auth\",charset=utf-8,algorithm=md5-sess"))
    return error_set(err, LX_ERR_NOMEM, "digest-md5: out of memory");
  s->state = 1;
  return 0;
}

int digest_server_response(digest_server *s, const char *in, size_t len,
                           char **username, char **authzid, lx_error *err) {
  directives *ds = &s->ds;
  int rc, dup = 0;
  size_t response_len = 0;
  *username = *authzid = NULL;
  if (s->state != 1)
    return error_set(err, LX_ERR_STATE, "digest-md5: no response expected");
  if (len > s->cfg->max_message)
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "digest-md5: response longer than %zu bytes",
                     s->cfg->max_message);
  if ((rc = parse_directives(in, len, ds, err)))
    return rc == LX_ERR_NOMEM ? error_set(err, rc, "digest-md5: out of memory")
                              : rc;
  s->username = get(ds, "username", NULL, &dup);
  s->realm = get(ds, "realm", NULL, &dup);
  s->cnonce = get(ds, "cnonce", NULL, &dup);
  s->authzid = get(ds, "authzid", NULL, &dup);
  s->response = get(ds, "response", &response_len, &dup);
  const char *nonce = get(ds, "nonce", NULL, &dup);
  const char *nc = get(ds, "nc", NULL, &dup);
  const char *qop = get(ds, "qop", NULL, &dup);
  const char *uri = get(ds, "digest-uri", NULL, &dup);
  const char *charset = get(ds, "charset", NULL, &dup);
  if (dup || !s->username || !*s->username || !s->cnonce || !*s->cnonce ||
      !nonce || !nc || !uri || !s->response || response_len != 32 ||
      (qop && strcasecmp(qop, "auth") != 0) ||
      (charset && strcasecmp(charset, "utf-8") != 0) ||
      (s->authzid && !*s->authzid))
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "digest-md5: the response needs username, nonce, "
                     "cnonce, nc, qop=auth, digest-uri and response");
  if (!charset && !fits(s->username, 1))
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "digest-md5: a non-ASCII username needs charset=utf-8");
  if (strcmp(nonce, s->nonce.data) != 0 || strcmp(nc, "00000001") != 0 ||
      (s->realm && strcmp(s->realm, s->cfg->host) != 0) ||
      strcmp(uri, s->uri) != 0)
    return error_set(err, LX_ERR_SASL_NOT_AUTHORIZED,
                     "digest-md5: nonce, nc, realm or digest-uri is not "
                     "this exchange's");
  if (!s->realm)
    s->realm = "";
  size_t ul = strlen(s->username);
  if (ul > SASL_MAX_NAME || !sasl_utf8_valid(s->username, ul) ||
      (s->authzid && (strlen(s->authzid) > SASL_MAX_NAME ||
                      !sasl_utf8_valid(s->authzid, strlen(s->authzid)))))
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "digest-md5: username or authzid is not UTF-8");
  if ((rc = sasl_prep_username(s->username, ul, username, err)))
    return rc == LX_ERR_NOMEM ? rc
                              : error_set(err, LX_ERR_SASL_NOT_AUTHORIZED,
                                          "digest-md5: not a valid username");
  if (s->authzid &&
      !(*authzid = sasl_strndup(s->authzid, strlen(s->authzid)))) {
    free(*username);
    *username = NULL;
    return error_set(err, LX_ERR_NOMEM, "digest-md5: out of memory");
  }
  s->state = 2;
  return 0;
}

int digest_server_verify(digest_server *s, const char *password, size_t len,
                         buf *out, lx_error *err) {
  char expect[33], rspauth[33];
  if (s->state != 2)
    return error_set(err, LX_ERR_STATE, "digest-md5: no response to check");
  digest_input di = {s->username, s->realm,   password, s->nonce.data,
                     s->cnonce,   s->authzid, s->uri,   len};
  int rc = compute(&di, 1, expect) || compute(&di, 0, rspauth)
               ? error_set(err, LX_ERR_INTERNAL, "digest-md5: MD5 failed")
               : 0;
  if (!rc && CRYPTO_memcmp(expect, s->response, 32) != 0)
    rc = error_set(err, LX_ERR_SASL_NOT_AUTHORIZED,
                   "digest-md5: wrong response (password)");
  out->len = 0;
  if (!rc && (buf_puts(out, "rspauth=") || buf_puts(out, rspauth)))
    rc = error_set(err, LX_ERR_NOMEM, "digest-md5: out of memory");
  OPENSSL_cleanse(expect, sizeof expect);
  s->state = 3;
  return rc;
}

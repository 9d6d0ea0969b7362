/* scram.c: SCRAM-SHA-1, -256 and -512, with and without -PLUS, for both
 * roles (RFC 5802, RFC 7677); XEP-0474 downgrade protection (SSDP); key
 * derivation and the client's cache of derived keys. */
#include "scram.h"
#include "base64.h"
#include "error.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

/* ---- keys ---------------------------------------------------------------- */

static int hmac(const EVP_MD *md, const unsigned char *key, size_t key_len,
                const void *data, size_t len, unsigned char *out) {
  unsigned int n = 0;
  return HMAC(md, key, (int)key_len, data, len, out, &n) ? 0 : LX_ERR_INTERNAL;
}

static int hash(const EVP_MD *md, const void *data, size_t len,
                unsigned char *out) {
  return EVP_Digest(data, len, out, NULL, md, NULL) == 1 ? 0 : LX_ERR_INTERNAL;
}

/* ClientKey, StoredKey and ServerKey from SaltedPassword (each optional). */
static int keys_from_salted(const EVP_MD *md, size_t hl,
                            const unsigned char *salted, unsigned char *ck,
                            unsigned char *sk, unsigned char *svk) {
  unsigned char client_key[LX_SASL_MAX_HASH];
  int rc = hmac(md, salted, hl, "Client Key", 10, client_key);
  if (!rc && sk)
    rc = hash(md, client_key, hl, sk);
  if (!rc && ck)
    memcpy(ck, client_key, hl);
  if (!rc && svk)
    rc = hmac(md, salted, hl, "Server Key", 10, svk);
  OPENSSL_cleanse(client_key, sizeof client_key);
  return rc;
}

/* PBKDF2 of an already prepared password, then the keys. */
static int derive_prepared(const EVP_MD *md, size_t hl, const char *pw,
                           size_t pw_len, const unsigned char *salt,
                           size_t salt_len, unsigned iterations,
                           unsigned char *ck, unsigned char *sk,
                           unsigned char *svk) {
  unsigned char salted[LX_SASL_MAX_HASH];
  if (pw_len > INT_MAX || salt_len > INT_MAX || iterations > INT_MAX)
    return LX_ERR_INVALID;
  int rc = PKCS5_PBKDF2_HMAC(pw, (int)pw_len, salt, (int)salt_len,
                             (int)iterations, md, (int)hl, salted) == 1
               ? 0
               : LX_ERR_INTERNAL;
  if (!rc)
    rc = keys_from_salted(md, hl, salted, ck, sk, svk);
  OPENSSL_cleanse(salted, sizeof salted);
  return rc;
}

int lx_scram_derive(lx_sasl_hash h, const char *password, size_t len,
                    const unsigned char *salt, size_t salt_len,
                    unsigned iterations, unsigned char *client_key,
                    unsigned char *stored_key, unsigned char *server_key,
                    lx_error *err) {
  const EVP_MD *md = sasl_md(h);
  if (!md || !password || !salt || !salt_len || !iterations ||
      iterations > INT_MAX)
    return error_set(err, LX_ERR_INVALID,
                     "scram: need a known hash, a salt and 1 to %d "
                     "iterations",
                     INT_MAX);
  char *pw;
  size_t pw_len;
  int rc = sasl_prep_password(password, len, &pw, &pw_len, err);
  if (rc) /* PRECIS's detail names a code point of the password: not shown */
    return rc == LX_ERR_NOMEM ? rc
                              : error_set(err, rc,
                                          "scram: the password is not "
                                          "allowed by OpaqueString");
  rc = derive_prepared(md, lx_sasl_hash_size(h), pw, pw_len, salt, salt_len,
                       iterations, client_key, stored_key, server_key);
  OPENSSL_cleanse(pw, pw_len);
  free(pw);
  if (rc)
    return error_set(err, rc, "scram: key derivation failed");
  return 0;
}

/* ---- XEP-0474 ------------------------------------------------------------ */

static int compare_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends the items sorted by i;octet, joined by 0x1e. */
static int join_sorted(buf *out, const char *const *items, size_t n) {
  if (!n)
    return 0;
  const char **v = malloc(n * sizeof *v);
  if (!v)
    return LX_ERR_NOMEM;
  memcpy(v, items, n * sizeof *v);
  qsort(v, n, sizeof *v, compare_names);
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++)
    rc = (i ? buf_putc(out, '\x1e') : 0) || buf_puts(out, v[i]) ? LX_ERR_NOMEM
                                                                : 0;
  free(v);
  return rc;
}

int scram_ssdp_input(buf *out, const char *const *mechs, size_t n_mechs,
                     const char *const *cb_types, size_t n_cb_types) {
  out->len = 0;
  int rc = join_sorted(out, mechs, n_mechs);
  if (!rc && cb_types)
    rc = buf_putc(out, '\x1f') ? LX_ERR_NOMEM
                               : join_sorted(out, cb_types, n_cb_types);
  return rc;
}

/* ---- message syntax -------------------------------------------------------
 */

typedef struct attr {
  char key;
  const char *val;
  size_t len;
} attr;

static int is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Splits msg at commas into attributes "k=value" (k one letter, value not
 * empty, no NUL). Returns their number, or -1 when malformed or more than
 * SASL_MAX_ATTRS. */
static int split_attrs(const char *msg, size_t len, attr *a) {
  int n = 0;
  size_t i = 0;
  if (!len)
    return -1;
  for (;;) {
    size_t end = i;
    while (end < len && msg[end] != ',')
      end++;
    if (n == SASL_MAX_ATTRS || end - i < 3 || !is_alpha(msg[i]) ||
        msg[i + 1] != '=' || memchr(msg + i, '\0', end - i))
      return -1;
    a[n].key = msg[i];
    a[n].val = msg + i + 2;
    a[n].len = end - i - 2;
    n++;
    if (end == len)
      return n;
    i = end + 1;
  }
}

/* A nonce: printable ASCII except ',' (RFC 5802 c-nonce), bounded. */
static int nonce_valid(const char *s, size_t n) {
  if (!n || n > SASL_MAX_NONCE)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
      return 0;
  return 1;
}

/* Appends a saslname: ',' as =2C and '=' as =3D. */
static int put_saslname(buf *b, const char *s) {
  for (; *s; s++) {
    int rc = *s == ','   ? buf_puts(b, "=2C")
             : *s == '=' ? buf_puts(b, "=3D")
                         : buf_putc(b, *s);
    if (rc)
      return LX_ERR_NOMEM;
  }
  return 0;
}

/* Decodes a saslname into a new string: only =2C and =3D may follow '=';
 * the result is UTF-8 of at most SASL_MAX_NAME bytes. NULL on a bad name
 * (*nomem set when memory ran out). */
static char *get_saslname(const char *s, size_t n, int *nomem) {
  *nomem = 0;
  if (n > 3 * SASL_MAX_NAME)
    return NULL;
  char *out = malloc(n + 1), *o = out;
  if (!out) {
    *nomem = 1;
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '=') {
      *o++ = s[i];
    } else if (i + 2 < n && s[i + 1] == '2' && s[i + 2] == 'C') {
      *o++ = ',';
      i += 2;
    } else if (i + 2 < n && s[i + 1] == '3' && s[i + 2] == 'D') {
      *o++ = '=';
      i += 2;
    } else {
      free(out);
      return NULL;
    }
  }
  *o = '\0';
  size_t len = (size_t)(o - out);
  if (!len || len > SASL_MAX_NAME || !sasl_utf8_valid(out, len)) {
    free(out);
    return NULL;
  }
  return out;
}

/* Decodes base64 into a new buffer (cap bytes at most). Returns 0,
 * LX_ERR_SASL_INCORRECT_ENCODING, LX_ERR_SASL_MALFORMED_REQUEST (too long)
 * or LX_ERR_NOMEM. */
static int decode_b64(const attr *a, size_t cap, buf *out, lx_error *err) {
  out->len = 0;
  if (base64_decoded_max(a->len) > cap + 2)
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "scram: %c= is longer than %zu bytes", a->key, cap);
  if (buf_reserve(out, base64_decoded_max(a->len) + 1))
    return LX_ERR_NOMEM;
  if (base64_decode(a->val, a->len, (unsigned char *)out->data,
                    base64_decoded_max(a->len), &out->len))
    return error_set(err, LX_ERR_SASL_INCORRECT_ENCODING,
                     "scram: %c= is not canonical base64", a->key);
  if (out->len > cap)
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "scram: %c= is longer than %zu bytes", a->key, cap);
  return 0;
}

/* Base64 of H(ssdp input), the h= value. */
static int ssdp_hash(const EVP_MD *md, size_t hl, const buf *ssdp, buf *out) {
  unsigned char h[LX_SASL_MAX_HASH];
  int rc = hash(md, ssdp->data ? ssdp->data : "", ssdp->len, h);
  if (!rc)
    rc = base64_encode(out, h, hl);
  return rc;
}

static void xor_into(unsigned char *a, const unsigned char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    a[i] ^= b[i];
}

/* A peer's text for a detail line: printable ASCII, at most 64 bytes. */
static int printable(const char *s, size_t n) {
  if (n > 64)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] < 0x20 || s[i] > 0x7e)
      return 0;
  return 1;
}

/* ---- client ---------------------------------------------------------------
 */

enum { CLIENT_NEW, CLIENT_FIRST_SENT, CLIENT_FINAL_SENT, CLIENT_VERIFIED };

struct scram_client {
  lx_sasl_hash hash;
  const EVP_MD *md;
  size_t hl;
  int state;
  char flag;
  char *cb_type, *username, *authzid, *our_nonce;
  buf cb_data, password, ssdp;
  int require_ssdp;
  unsigned min_iterations, max_iterations;
  size_t max_salt, max_message;
  buf gs2, bare, nonce;
  /* the keys in use: cached ones until a server-first asks otherwise */
  int have_keys;
  buf salt;
  unsigned iterations;
  unsigned char client_key[LX_SASL_MAX_HASH], server_key[LX_SASL_MAX_HASH];
  unsigned char server_signature[LX_SASL_MAX_HASH];
};

const char *scram_client_cb_type(const scram_client *c) { return c->cb_type; }

void scram_client_free(scram_client *c) {
  if (!c)
    return;
  free(c->cb_type);
  free(c->username);
  free(c->authzid);
  free(c->our_nonce);
  buf_free(&c->cb_data);
  buf_wipe(&c->password);
  buf_free(&c->ssdp);
  buf_free(&c->gs2);
  buf_free(&c->bare);
  buf_free(&c->nonce);
  buf_free(&c->salt);
  OPENSSL_cleanse(c, sizeof *c);
  free(c);
}

int scram_client_new(scram_client **out, const scram_client_cfg *cfg,
                     lx_error *err) {
  scram_client *c = calloc(1, sizeof *c);
  int fail = 0;
  if (!c)
    return error_set(err, LX_ERR_NOMEM, "scram: out of memory");
  c->hash = cfg->hash;
  c->md = sasl_md(cfg->hash);
  c->hl = lx_sasl_hash_size(cfg->hash);
  c->flag = cfg->flag;
  c->require_ssdp = cfg->require_ssdp;
  c->min_iterations = cfg->min_iterations;
  c->max_iterations = cfg->max_iterations;
  c->max_salt = cfg->max_salt;
  c->max_message = cfg->max_message;
  c->cb_type = sasl_dup(cfg->flag == 'p' ? cfg->cb_type : NULL, &fail);
  c->username = sasl_dup(cfg->username, &fail);
  c->authzid = sasl_dup(cfg->authzid, &fail);
  c->our_nonce = sasl_dup(cfg->nonce, &fail);
  if (cfg->flag == 'p')
    fail |= buf_put(&c->cb_data, cfg->cb_data, cfg->cb_len) != 0;
  if (cfg->password)
    fail |= buf_put(&c->password, cfg->password, cfg->password_len) != 0;
  fail |= buf_put(&c->ssdp, cfg->ssdp->data, cfg->ssdp->len) != 0;
  if (cfg->keys && cfg->keys->hash == cfg->hash && cfg->keys->client_key &&
      cfg->keys->server_key && cfg->keys->salt_len) {
    c->have_keys = 1;
    c->iterations = cfg->keys->iterations;
    memcpy(c->client_key, cfg->keys->client_key, c->hl);
    memcpy(c->server_key, cfg->keys->server_key, c->hl);
    fail |= buf_put(&c->salt, cfg->keys->salt, cfg->keys->salt_len) != 0;
  }
  if (fail) {
    scram_client_free(c);
    return error_set(err, LX_ERR_NOMEM, "scram: out of memory");
  }
  *out = c;
  return 0;
}

int scram_client_first(scram_client *c, buf *out, lx_error *err) {
  if (c->state != CLIENT_NEW)
    return error_set(err, LX_ERR_STATE, "scram: client-first already sent");
  int rc = 0;
  if (c->flag == 'p')
    rc = buf_puts(&c->gs2, "p=") || buf_puts(&c->gs2, c->cb_type);
  else
    rc = buf_putc(&c->gs2, c->flag);
  rc = rc || buf_putc(&c->gs2, ',');
  if (c->authzid)
    rc = rc || buf_puts(&c->gs2, "a=") || put_saslname(&c->gs2, c->authzid);
  rc = rc || buf_putc(&c->gs2, ',');
  rc = rc || buf_puts(&c->bare, "n=") || put_saslname(&c->bare, c->username);
  rc = rc || buf_puts(&c->bare, ",r=");
  if (rc)
    return error_set(err, LX_ERR_NOMEM, "scram: out of memory");
  if (buf_puts(&c->bare, c->our_nonce) || buf_puts(&c->nonce, c->our_nonce))
    return error_set(err, LX_ERR_NOMEM, "scram: out of memory");
  out->len = 0;
  if (buf_put(out, c->gs2.data, c->gs2.len) ||
      buf_put(out, c->bare.data, c->bare.len))
    return error_set(err, LX_ERR_NOMEM, "scram: out of memory");
  c->state = CLIENT_FIRST_SENT;
  return 0;
}

/* i=: a positive decimal without leading zeros. 0 when malformed. */
static unsigned long long parse_count(const attr *a) {
  unsigned long long v = 0;
  if (a->len > 12 || a->val[0] == '0')
    return 0;
  for (size_t i = 0; i < a->len; i++) {
    if (a->val[i] < '0' || a->val[i] > '9')
      return 0;
    v = v * 10 + (unsigned)(a->val[i] - '0');
  }
  return v;
}

/* Checks server-first-message's h= against what we saw advertised. */
static int client_check_ssdp(scram_client *c, const attr *h, lx_error *err) {
  if (!h)
    return c->require_ssdp
               ? error_set(err, LX_ERR_SASL_DOWNGRADE,
                           "scram: the server sent no XEP-0474 h= hash")
               : 0;
  unsigned char want[LX_SASL_MAX_HASH];
  buf got = BUF_INIT;
  int rc = hash(c->md, c->ssdp.data ? c->ssdp.data : "", c->ssdp.len, want);
  if (rc)
    rc = error_set(err, rc, "scram: cannot hash the mechanism list");
  else if ((rc = decode_b64(h, c->hl, &got, err)) == 0 &&
           (got.len != c->hl || CRYPTO_memcmp(got.data, want, c->hl) != 0))
    rc = error_set(err, LX_ERR_SASL_DOWNGRADE,
                   "scram: the XEP-0474 hash does not match the mechanisms "
                   "and channel-binding types advertised");
  buf_free(&got);
  return rc;
}

int scram_client_final(scram_client *c, const char *in, size_t len, buf *out,
                       lx_error *err) {
  attr a[SASL_MAX_ATTRS];
  int n, rc;
  if (c->state != CLIENT_FIRST_SENT)
    return error_set(err, LX_ERR_STATE, "scram: no server-first expected");
  if (len > c->max_message)
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "scram: server-first is longer than %zu bytes",
                     c->max_message);
  if ((n = split_attrs(in, len, a)) < 0)
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "scram: server-first is not a list of attributes");
  if (a[0].key == 'm')
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "scram: the server requires an unknown extension (m=)");
  if (n < 3 || a[0].key != 'r' || a[1].key != 's' || a[2].key != 'i')
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "scram: server-first needs r=, s= and i=");
  if (!nonce_valid(a[0].val, a[0].len) || a[0].len <= c->nonce.len ||
      memcmp(a[0].val, c->nonce.data, c->nonce.len) != 0)
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "scram: the server's nonce does not extend ours");
  const attr *h = NULL;
  for (int i = 3; i < n; i++) {
    if (a[i].key == 'h' && h)
      return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                       "scram: server-first has two h=");
    if (a[i].key == 'h')
      h = &a[i];
  }
  unsigned long long iterations = parse_count(&a[2]);
  if (!iterations)
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "scram: i= is not a positive number");
  if (iterations < c->min_iterations)
    return error_set(err, LX_ERR_SASL_MECHANISM_TOO_WEAK,
                     "scram: %llu iterations, below the minimum %u", iterations,
                     c->min_iterations);
  if (iterations > c->max_iterations)
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "scram: %llu iterations, above the maximum %u", iterations,
                     c->max_iterations);
  buf salt = BUF_INIT, am = BUF_INIT, cbind = BUF_INIT;
  unsigned char stored[LX_SASL_MAX_HASH], proof[LX_SASL_MAX_HASH];
  if ((rc = decode_b64(&a[1], c->max_salt, &salt, err)))
    goto done;
  if (!salt.len) {
    rc = error_set(err, LX_ERR_SASL_MALFORMED_REQUEST, "scram: empty salt");
    goto done;
  }
  if ((rc = client_check_ssdp(c, h, err)))
    goto done;

  /* the cached keys when they fit, else PBKDF2 of the password */
  if (!c->have_keys || c->salt.len != salt.len ||
      memcmp(c->salt.data, salt.data, salt.len) != 0 ||
      c->iterations != iterations) {
    if (!c->password.data) {
      rc = error_set(err, LX_ERR_SASL_CREDENTIALS_EXPIRED,
                     "scram: the cached keys are for another salt or "
                     "iteration count, and there is no password");
      goto done;
    }
    c->have_keys = 0;
    if ((rc = derive_prepared(c->md, c->hl, c->password.data, c->password.len,
                              (unsigned char *)salt.data, salt.len,
                              (unsigned)iterations, c->client_key, NULL,
                              c->server_key))) {
      rc = error_set(err, rc, "scram: key derivation failed");
      goto done;
    }
    c->salt.len = 0;
    if (buf_put(&c->salt, salt.data, salt.len)) {
      rc = error_set(err, LX_ERR_NOMEM, "scram: out of memory");
      goto done;
    }
    c->iterations = (unsigned)iterations;
    c->have_keys = 1;
  }

  /* client-final-message-without-proof, then AuthMessage */
  out->len = 0;
  rc = buf_put(&cbind, c->gs2.data, c->gs2.len) ||
       buf_put(&cbind, c->cb_data.data, c->cb_data.len) ||
       buf_puts(out, "c=") || base64_encode(out, cbind.data, cbind.len) ||
       buf_puts(out, ",r=") || buf_put(out, a[0].val, a[0].len) ||
       buf_put(&am, c->bare.data, c->bare.len) || buf_putc(&am, ',') ||
       buf_put(&am, in, len) || buf_putc(&am, ',') ||
       buf_put(&am, out->data, out->len);
  if (rc) {
    rc = error_set(err, LX_ERR_NOMEM, "scram: out of memory");
    goto done;
  }
  if ((rc = hash(c->md, c->client_key, c->hl, stored)) ||
      (rc = hmac(c->md, stored, c->hl, am.data, am.len, proof)) ||
      (rc = hmac(c->md, c->server_key, c->hl, am.data, am.len,
                 c->server_signature))) {
    rc = error_set(err, rc, "scram: HMAC failed");
    goto done;
  }
  xor_into(proof, c->client_key, c->hl);
  if (buf_puts(out, ",p=") || base64_encode(out, proof, c->hl)) {
    rc = error_set(err, LX_ERR_NOMEM, "scram: out of memory");
    goto done;
  }
  c->state = CLIENT_FINAL_SENT;
done:
  OPENSSL_cleanse(stored, sizeof stored);
  OPENSSL_cleanse(proof, sizeof proof);
  buf_free(&salt);
  buf_free(&am);
  buf_free(&cbind);
  return rc;
}

int scram_client_verify(scram_client *c, const char *in, size_t len,
                        lx_error *err) {
  attr a[SASL_MAX_ATTRS];
  if (c->state != CLIENT_FINAL_SENT)
    return error_set(err, LX_ERR_SASL_SERVER_SIGNATURE,
                     "scram: the server ended the exchange before proving "
                     "it knows the credentials");
  if (len > c->max_message || split_attrs(in, len, a) < 0)
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "scram: server-final is not a list of attributes");
  if (a[0].key == 'e')
    return printable(a[0].val, a[0].len)
               ? error_set(err, LX_ERR_SASL_NOT_AUTHORIZED,
                           "scram: the server refused: %.*s", (int)a[0].len,
                           a[0].val)
               : error_set(err, LX_ERR_SASL_NOT_AUTHORIZED,
                           "scram: the server refused");
  if (a[0].key != 'v')
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "scram: server-final needs v= or e=");
  buf v = BUF_INIT;
  int rc = decode_b64(&a[0], c->hl, &v, err);
  if (rc == LX_ERR_NOMEM)
    rc = error_set(err, rc, "scram: out of memory");
  else if (rc == LX_ERR_SASL_MALFORMED_REQUEST || /* too long */
           (!rc && (v.len != c->hl ||
                    CRYPTO_memcmp(v.data, c->server_signature, c->hl) != 0)))
    rc = error_set(err, LX_ERR_SASL_SERVER_SIGNATURE,
                   "scram: the server signature v= does not verify");
  else if (!rc)
    c->state = CLIENT_VERIFIED;
  buf_free(&v);
  return rc;
}

void scram_client_keys(const scram_client *c, lx_scram_keys *keys) {
  memset(keys, 0, sizeof *keys);
  keys->hash = c->hash;
  keys->salt = (const unsigned char *)c->salt.data;
  keys->salt_len = c->salt.len;
  keys->iterations = c->iterations;
  keys->client_key = c->client_key;
  keys->server_key = c->server_key;
}

/* ---- server ---------------------------------------------------------------
 */

struct scram_server {
  const scram_server_cfg *cfg;
  const EVP_MD *md;
  size_t hl;
  const lx_sasl_cb *binding; /* the type the client asked for with p= */
  int cb_unsupported;        /* it asked for one we do not have */
  buf gs2, bare, nonce, server_first;
  size_t client_nonce_len;
  unsigned char stored_key[LX_SASL_MAX_HASH], server_key[LX_SASL_MAX_HASH];
};

int scram_server_cb_unsupported(const scram_server *s) {
  return s->cb_unsupported;
}

int scram_server_new(scram_server **out, const scram_server_cfg *cfg) {
  scram_server *s = calloc(1, sizeof *s);
  if (!s)
    return LX_ERR_NOMEM;
  s->cfg = cfg;
  s->md = sasl_md(cfg->hash);
  s->hl = lx_sasl_hash_size(cfg->hash);
  *out = s;
  return 0;
}

void scram_server_free(scram_server *s) {
  if (!s)
    return;
  buf_free(&s->gs2);
  buf_free(&s->bare);
  buf_free(&s->nonce);
  buf_free(&s->server_first);
  OPENSSL_cleanse(s, sizeof *s);
  free(s);
}

/* The GS2 header: the flag, our binding for p=, the authzid. Returns the
 * header's length (its last byte is the second comma), or a negative
 * code. */
static int parse_gs2(scram_server *s, const char *in, size_t len,
                     char **authzid, lx_error *err) {
  const scram_server_cfg *cfg = s->cfg;
  size_t i = 0;
  char flag = len ? in[0] : 0;
  if (flag == 'p' && len > 1 && in[1] == '=') {
    size_t start = i = 2;
    while (i < len && i - start < 64 &&
           (is_alpha(in[i]) || (in[i] >= '0' && in[i] <= '9') || in[i] == '.' ||
            in[i] == '-'))
      i++;
    size_t n = i - start;
    for (size_t k = 0; k < cfg->n_cb && !s->binding; k++)
      if (n && strlen(cfg->cb[k].type) == n &&
          memcmp(cfg->cb[k].type, in + start, n) == 0)
        s->binding = &cfg->cb[k];
    if (!n || i == len || in[i] != ',')
      return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                       "scram: bad channel-binding name in the GS2 header");
    if (!cfg->plus)
      return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                       "scram: channel binding asked for a mechanism "
                       "without -PLUS");
    if (!s->binding) {
      s->cb_unsupported = 1;
      return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                       "scram: e=unsupported-channel-binding-type");
    }
  } else if ((flag == 'n' || flag == 'y') && len > 1 && in[1] == ',') {
    i = 1;
    if (cfg->plus)
      return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                       "scram: a -PLUS mechanism without channel binding");
    if (flag == 'y' && cfg->offers_plus)
      return error_set(err, LX_ERR_SASL_NOT_AUTHORIZED,
                       "scram: e=server-does-support-channel-binding (the "
                       "client saw no -PLUS: a downgrade)");
  } else {
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "scram: bad GS2 header");
  }
  i++; /* the comma after the flag */
  size_t start = i;
  while (i < len && in[i] != ',')
    i++;
  if (i == len)
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "scram: bad GS2 header");
  if (i > start) {
    int nomem = 0;
    if (i - start < 3 || in[start] != 'a' || in[start + 1] != '=' ||
        !(*authzid = get_saslname(in + start + 2, i - start - 2, &nomem)))
      return nomem ? error_set(err, LX_ERR_NOMEM, "scram: out of memory")
                   : error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                               "scram: bad authzid in the GS2 header");
  }
  return (int)(i + 1);
}

int scram_server_first(scram_server *s, const char *in, size_t len,
                       char **username, char **authzid, lx_error *err) {
  attr a[SASL_MAX_ATTRS];
  char *name = NULL;
  int rc, nomem = 0;
  *username = *authzid = NULL;
  if (len > s->cfg->max_message)
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "scram: client-first is longer than %zu bytes",
                     s->cfg->max_message);
  int gs2_len = parse_gs2(s, in, len, authzid, err);
  if (gs2_len < 0) {
    rc = gs2_len;
    goto fail;
  }
  const char *bare = in + gs2_len;
  size_t bare_len = len - (size_t)gs2_len;
  int n = split_attrs(bare, bare_len, a);
  if (n > 0 && a[0].key == 'm') {
    rc = error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                   "scram: e=extensions-not-supported");
    goto fail;
  }
  if (n < 2 || a[0].key != 'n' || a[1].key != 'r' ||
      !nonce_valid(a[1].val, a[1].len)) {
    rc = error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                   "scram: client-first needs n= and r=");
    goto fail;
  }
  if (!(name = get_saslname(a[0].val, a[0].len, &nomem))) {
    rc = nomem ? error_set(err, LX_ERR_NOMEM, "scram: out of memory")
               : error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                           "scram: e=invalid-username-encoding");
    goto fail;
  }
  if ((rc = sasl_prep_username(name, strlen(name), username, err))) {
    if (rc != LX_ERR_NOMEM)
      rc = error_set(err, LX_ERR_SASL_NOT_AUTHORIZED,
                     "scram: e=unknown-user (not a valid username)");
    goto fail;
  }
  s->gs2.len = s->bare.len = s->nonce.len = 0;
  if (buf_put(&s->gs2, in, (size_t)gs2_len) ||
      buf_put(&s->bare, bare, bare_len) ||
      buf_put(&s->nonce, a[1].val, a[1].len)) {
    rc = error_set(err, LX_ERR_NOMEM, "scram: out of memory");
    goto fail;
  }
  s->client_nonce_len = a[1].len;
  free(name);
  return 0;
fail:
  free(name);
  free(*username);
  free(*authzid);
  *username = *authzid = NULL;
  return rc;
}

int scram_server_challenge(scram_server *s, const lx_scram_keys *keys, buf *out,
                           lx_error *err) {
  if (keys->hash != s->cfg->hash || !keys->stored_key || !keys->server_key ||
      !keys->salt || !keys->salt_len || !keys->iterations)
    return error_set(err, LX_ERR_INVALID,
                     "scram: the keys need the mechanism's hash (%s), a "
                     "salt, iterations, stored_key and server_key",
                     lx_sasl_hash_name(s->cfg->hash));
  memcpy(s->stored_key, keys->stored_key, s->hl);
  memcpy(s->server_key, keys->server_key, s->hl);
  s->nonce.len = s->client_nonce_len;
  if (buf_puts(&s->nonce, s->cfg->nonce))
    return error_set(err, LX_ERR_NOMEM, "scram: out of memory");
  char count[16];
  snprintf(count, sizeof count, "%u", keys->iterations);
  buf *f = &s->server_first;
  f->len = 0;
  int rc = buf_puts(f, "r=") || buf_put(f, s->nonce.data, s->nonce.len) ||
           buf_puts(f, ",s=") || base64_encode(f, keys->salt, keys->salt_len) ||
           buf_puts(f, ",i=") || buf_puts(f, count);
  if (!rc && s->cfg->ssdp)
    rc = buf_puts(f, ",h=") || ssdp_hash(s->md, s->hl, s->cfg->ssdp, f);
  out->len = 0;
  if (rc || buf_put(out, f->data, f->len))
    return error_set(err, LX_ERR_NOMEM, "scram: out of memory");
  return 0;
}

int scram_server_final(scram_server *s, const char *in, size_t len, buf *out,
                       lx_error *err) {
  attr a[SASL_MAX_ATTRS];
  buf cbind = BUF_INIT, proof = BUF_INIT, am = BUF_INIT;
  unsigned char sig[LX_SASL_MAX_HASH], key[LX_SASL_MAX_HASH],
      key_hash[LX_SASL_MAX_HASH];
  int n, rc;
  if (len > s->cfg->max_message)
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "scram: client-final is longer than %zu bytes",
                     s->cfg->max_message);
  if ((n = split_attrs(in, len, a)) < 3 || a[0].key != 'c' || a[1].key != 'r' ||
      a[n - 1].key != 'p')
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "scram: client-final needs c=, r=, ... p=");

  size_t cb_len = s->binding ? s->binding->len : 0;
  if ((rc = decode_b64(&a[0], len, &cbind, err)) ||
      (rc = decode_b64(&a[n - 1], s->hl, &proof, err)))
    goto done;
  if (cbind.len != s->gs2.len + cb_len ||
      CRYPTO_memcmp(cbind.data, s->gs2.data, s->gs2.len) != 0 ||
      (cb_len &&
       CRYPTO_memcmp(cbind.data + s->gs2.len, s->binding->data, cb_len) != 0)) {
    rc = error_set(err, LX_ERR_SASL_NOT_AUTHORIZED,
                   "scram: e=channel-bindings-dont-match");
    goto done;
  }
  if (a[1].len != s->nonce.len ||
      memcmp(a[1].val, s->nonce.data, s->nonce.len) != 0) {
    rc = error_set(err, LX_ERR_SASL_NOT_AUTHORIZED,
                   "scram: the nonce is not this exchange's");
    goto done;
  }
  if (proof.len != s->hl) {
    rc = error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                   "scram: p= must be %zu bytes", s->hl);
    goto done;
  }
  /* AuthMessage; the proof is the last attribute, after a comma */
  size_t without_proof = (size_t)(a[n - 1].val - 2 - in) - 1;
  if (buf_put(&am, s->bare.data, s->bare.len) || buf_putc(&am, ',') ||
      buf_put(&am, s->server_first.data, s->server_first.len) ||
      buf_putc(&am, ',') || buf_put(&am, in, without_proof)) {
    rc = error_set(err, LX_ERR_NOMEM, "scram: out of memory");
    goto done;
  }
  if ((rc = hmac(s->md, s->stored_key, s->hl, am.data, am.len, sig)) == 0) {
    memcpy(key, proof.data, s->hl);
    xor_into(key, sig, s->hl);
    rc = hash(s->md, key, s->hl, key_hash);
  }
  if (rc) {
    rc = error_set(err, rc, "scram: HMAC failed");
    goto done;
  }
  if (CRYPTO_memcmp(key_hash, s->stored_key, s->hl) != 0) {
    rc = error_set(err, LX_ERR_SASL_NOT_AUTHORIZED, "scram: e=invalid-proof");
    goto done;
  }
  out->len = 0;
  if ((rc = hmac(s->md, s->server_key, s->hl, am.data, am.len, sig)))
    rc = error_set(err, rc, "scram: HMAC failed");
  else if (buf_puts(out, "v=") || base64_encode(out, sig, s->hl))
    rc = error_set(err, LX_ERR_NOMEM, "scram: out of memory");
done:
  OPENSSL_cleanse(sig, sizeof sig);
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(s->stored_key, sizeof s->stored_key);
  OPENSSL_cleanse(s->server_key, sizeof s->server_key);
  buf_free(&cbind);
  buf_wipe(&proof);
  buf_free(&am);
  return rc;
}

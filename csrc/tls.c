/* tls.c: TLS for one connection on OpenSSL 3, without sockets.
 *
 * Each session's SSL reads and writes through a BIO of our own kind, a
 * source/sink over two lxmpp buffers: `in`, the ciphertext the caller gave
 * (bounded by max_recv_bytes), and `out`, the ciphertext waiting for the
 * network (lx_tls_write stops taking plaintext at max_send_bytes). Owning
 * the buffers gives exact byte counts, zero-copy peek/consume of the
 * output, and buffers that are released whenever they empty: an idle
 * session holds none. OpenSSL only touches them inside SSL_* calls made
 * from here; no caller code runs in an OpenSSL callback. */
#include "tls.h"

#include "buf.h"
#include "error.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* TLS 1.2 suites: forward secrecy and AEAD only (RFC 9325 §4.2). TLS 1.3
 * suites are OpenSSL's defaults, all of which qualify. */
#define DEFAULT_CIPHERS                                                        \
  "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!eNULL"

/* The most plaintext one SSL_write is given: one record's worth. */
#define WRITE_CHUNK 16384

/* Distinguishes sessions cached by our servers from other applications'. */
static const unsigned char session_id_context[] = "lxmpp";

typedef struct cert_key {
  X509 *cert;
  EVP_PKEY *key;
  STACK_OF(X509) * chain; /* intermediates, maybe empty */
} cert_key;

struct lx_tls_ctx {
  SSL_CTX *ssl;
  BIO_METHOD *bio_method;
  lx_tls_role role;
  lx_tls_opts opts; /* verify resolved; ciphers not kept */
  atomic_int refs;  /* the creator's, plus one per session */
  int frozen;       /* a session exists: configuration is over */
  int has_trust;    /* a CA was configured: no system store */
  cert_key *certs;  /* [0] is the default */
  size_t ncerts;
  unsigned char *alpn; /* a server's protocols, in ALPN wire format */
  unsigned alpn_len;
};

typedef struct san_entry {
  lx_tls_name_type type;
  char *value;
} san_entry;

struct lx_tls {
  lx_tls_ctx *ctx;
  SSL *ssl;
  lx_tls_state state;
  lx_error error;
  buf in, out; /* pending bytes are [in_off, in.len) and [out_off, out.len) */
  size_t in_off, out_off;
  char *peer_name;
  int established; /* the handshake completed */
  int eof;         /* the transport ended */
  int close_sent;
  int oom; /* our BIO could not grow `out` */
  san_entry *names;
  size_t nnames;
  int names_loaded;
};

struct lx_tls_session {
  SSL_SESSION *ssl;
  int verified; /* the peer's chain and name were verified */
  char name[];  /* the reference identity, "" when none */
};

void lx_tls_opts_init(lx_tls_opts *o) {
  o->min_version = LX_TLS_V1_2;
  o->max_version = 0;
  o->verify = LX_TLS_VERIFY_DEFAULT;
  o->ciphers = NULL;
  o->tickets = 1;
  o->session_cache = 1024;
  o->max_recv_bytes = 17408;
  o->max_send_bytes = 32768;
}

SSL_CTX *tls_ctx_ssl(lx_tls_ctx *ctx) { return ctx->ssl; }
SSL *tls_ssl(lx_tls *t) { return t->ssl; }

/* ---- OpenSSL errors ---------------------------------------------------- */

/* Describes the oldest queued OpenSSL error ("certificate verify failed",
 * with its extra data when short) into `out`, then clears the queue.
 * Returns the error code (0: none). */
static unsigned long take_ossl_error(char *out, size_t size) {
  const char *data = NULL;
  int flags = 0;
  unsigned long e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags);
  out[0] = '\0';
  if (e) {
    const char *reason = ERR_reason_error_string(e);
    if (!reason) {
      ERR_error_string_n(e, out, size);
    } else if ((flags & ERR_TXT_STRING) && data && *data && strlen(data) < 80) {
      snprintf(out, size, "%s (%s)", reason, data);
    } else {
      snprintf(out, size, "%s", reason);
    }
  }
  ERR_clear_error();
  return e;
}

/* Fills err with `code`, `what` and OpenSSL's reason. Returns code. */
static int ossl_fail(lx_error *err, int code, const char *what) {
  char why[160];
  take_ossl_error(why, sizeof why);
  return error_set(err, code, "%s%s%s", what, why[0] ? ": " : "", why);
}

/* ---- the BIO ----------------------------------------------------------- */

static size_t in_pending(const lx_tls *t) { return t->in.len - t->in_off; }
static size_t out_pending(const lx_tls *t) { return t->out.len - t->out_off; }

static int bio_write(BIO *b, const char *data, size_t len, size_t *written) {
  lx_tls *t = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  if (buf_put(&t->out, data, len) != 0) {
    t->oom = 1;
    return 0;
  }
  *written = len;
  return 1;
}

static int bio_read(BIO *b, char *data, size_t len, size_t *read) {
  lx_tls *t = BIO_get_data(b);
  size_t n = in_pending(t);
  BIO_clear_retry_flags(b);
  if (n == 0) {
    if (!t->eof)
      BIO_set_retry_read(b);
    return 0;
  }
  if (n > len)
    n = len;
  memcpy(data, t->in.data + t->in_off, n);
  t->in_off += n;
  if (t->in_off == t->in.len) {
    buf_free(&t->in);
    t->in_off = 0;
  }
  *read = n;
  return 1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
  lx_tls *t = BIO_get_data(b);
  (void)num;
  (void)ptr;
  switch (cmd) {
  case BIO_CTRL_FLUSH: return 1;
  case BIO_CTRL_EOF: return t->eof && in_pending(t) == 0;
  case BIO_CTRL_PENDING: return (long)in_pending(t);
  case BIO_CTRL_WPENDING: return (long)out_pending(t);
  default: return 0;
  }
}

static int bio_create(BIO *b) {
  BIO_set_init(b, 1);
  return 1;
}

/* ---- contexts ---------------------------------------------------------- */

static void ctx_release(lx_tls_ctx *c) {
  if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
    return;
  SSL_CTX_free(c->ssl);
  BIO_meth_free(c->bio_method);
  for (size_t i = 0; i < c->ncerts; i++) {
    X509_free(c->certs[i].cert);
    EVP_PKEY_free(c->certs[i].key);
    sk_X509_pop_free(c->certs[i].chain, X509_free);
  }
  free(c->certs);
  free(c->alpn);
  free(c);
}

void lx_tls_ctx_free(lx_tls_ctx *ctx) { ctx_release(ctx); }

static int ctx_freeze(lx_tls_ctx *c, lx_error *err);

int lx_tls_ctx_hold(lx_tls_ctx *ctx, lx_error *err) {
  int rc = ctx_freeze(ctx, err);
  if (rc == 0)
    atomic_fetch_add(&ctx->refs, 1);
  return rc;
}

/* The verify callback of VERIFY_OPTIONAL: note the verdict, go on. */
static int accept_any(int ok, X509_STORE_CTX *store) {
  (void)ok;
  (void)store;
  return 1;
}

/* Server: switches to the first certificate matching the client's SNI. */
static int on_server_name(SSL *ssl, int *alert, void *arg) {
  const lx_tls_ctx *c = arg;
  const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name)
    return SSL_TLSEXT_ERR_OK;
  for (size_t i = 0; i < c->ncerts; i++) {
    const cert_key *ck = &c->certs[i];
    if (X509_check_host(ck->cert, name, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
                        NULL) != 1)
      continue;
    if (i > 0 && !SSL_use_cert_and_key(ssl, ck->cert, ck->key, ck->chain, 1)) {
      *alert = SSL_AD_INTERNAL_ERROR;
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    break;
  }
  return SSL_TLSEXT_ERR_OK;
}

/* Server: the first of our protocols the client offers, or a fatal
 * no_application_protocol alert (RFC 7301 §3.2). */
static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned inlen, void *arg) {
  const lx_tls_ctx *c = arg;
  unsigned char *sel = NULL;
  unsigned char sel_len = 0;
  (void)ssl;
  if (SSL_select_next_proto(&sel, &sel_len, c->alpn, c->alpn_len, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = sel;
  *outlen = sel_len;
  return SSL_TLSEXT_ERR_OK;
}

static int valid_version(int v) { return v == LX_TLS_V1_2 || v == LX_TLS_V1_3; }

int lx_tls_ctx_new(lx_tls_ctx **out, lx_tls_role role, const lx_tls_opts *opts,
                   lx_error *err) {
  lx_tls_opts o;
  lx_tls_ctx *c = NULL;
  int rc;
  *out = NULL;
  if (opts)
    o = *opts;
  else
    lx_tls_opts_init(&o);
  if (role != LX_TLS_CLIENT && role != LX_TLS_SERVER)
    return error_set(err, LX_ERR_INVALID, "unknown TLS role %d", (int)role);
  if (!valid_version(o.min_version) ||
      (o.max_version &&
       (!valid_version(o.max_version) || o.max_version < o.min_version)))
    return error_set(err, LX_ERR_INVALID,
                     "TLS versions must be 1.2 or 1.3, min <= max");
  if (o.verify < LX_TLS_VERIFY_DEFAULT || o.verify > LX_TLS_VERIFY_REQUIRED)
    return error_set(err, LX_ERR_INVALID, "unknown verify mode %d",
                     (int)o.verify);
  if (o.max_recv_bytes == 0 || o.max_send_bytes == 0 ||
      o.max_recv_bytes > INT_MAX || o.max_send_bytes > INT_MAX)
    return error_set(err, LX_ERR_INVALID,
                     "max_recv_bytes and max_send_bytes must be 1 to INT_MAX");
  if (o.verify == LX_TLS_VERIFY_DEFAULT)
    o.verify =
        role == LX_TLS_CLIENT ? LX_TLS_VERIFY_REQUIRED : LX_TLS_VERIFY_NONE;

  if (!(c = calloc(1, sizeof *c)))
    return error_set(err, LX_ERR_NOMEM, "out of memory");
  atomic_init(&c->refs, 1);
  c->role = role;
  c->opts = o;
  c->opts.ciphers = NULL;
  c->ssl = SSL_CTX_new(role == LX_TLS_CLIENT ? TLS_client_method()
                                             : TLS_server_method());
  if (!c->ssl) {
    rc = ossl_fail(err, LX_ERR_NOMEM, "cannot create an SSL_CTX");
    goto fail;
  }
  if (!SSL_CTX_set_min_proto_version(c->ssl, o.min_version) ||
      !SSL_CTX_set_max_proto_version(c->ssl, o.max_version)) {
    rc = ossl_fail(err, LX_ERR_INTERNAL, "cannot set the TLS versions");
    goto fail;
  }
  if (!SSL_CTX_set_cipher_list(c->ssl,
                               o.ciphers ? o.ciphers : DEFAULT_CIPHERS)) {
    rc = ossl_fail(err, LX_ERR_INVALID, "bad cipher list");
    goto fail;
  }
  SSL_CTX_set_options(c->ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                  SSL_OP_CLEANSE_PLAINTEXT |
                                  (o.tickets ? 0 : SSL_OP_NO_TICKET));
  if (role == LX_TLS_SERVER) {
    SSL_CTX_set_options(c->ssl, SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_session_id_context(c->ssl, session_id_context,
                                   sizeof session_id_context - 1);
    if (o.session_cache)
      SSL_CTX_sess_set_cache_size(c->ssl, (long)o.session_cache);
    else
      SSL_CTX_set_session_cache_mode(c->ssl, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_tlsext_servername_callback(c->ssl, on_server_name);
    SSL_CTX_set_tlsext_servername_arg(c->ssl, c);
  }
  switch (o.verify) {
  case LX_TLS_VERIFY_OPTIONAL:
    SSL_CTX_set_verify(c->ssl, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE,
                       accept_any);
    break;
  case LX_TLS_VERIFY_REQUIRED:
    SSL_CTX_set_verify(c->ssl,
                       SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE |
                           SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       NULL);
    break;
  default: SSL_CTX_set_verify(c->ssl, SSL_VERIFY_NONE, NULL); break;
  }

  c->bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                               "lxmpp tls buffers");
  if (!c->bio_method || !BIO_meth_set_write_ex(c->bio_method, bio_write) ||
      !BIO_meth_set_read_ex(c->bio_method, bio_read) ||
      !BIO_meth_set_ctrl(c->bio_method, bio_ctrl) ||
      !BIO_meth_set_create(c->bio_method, bio_create)) {
    rc = ossl_fail(err, LX_ERR_NOMEM, "cannot create the BIO method");
    goto fail;
  }
  *out = c;
  return 0;

fail:
  ctx_release(c);
  return rc;
}

static int configurable(const lx_tls_ctx *c, lx_error *err) {
  if (!c)
    return error_set(err, LX_ERR_INVALID, "no TLS context");
  if (c->frozen)
    return error_set(err, LX_ERR_STATE,
                     "the TLS context is in use: make a new one to change it");
  return 0;
}

/* A PEM password callback that refuses: encrypted keys are not supported,
 * and OpenSSL's default would prompt on the terminal. */
static int no_password(char *pw, int size, int rwflag, void *u) {
  (void)pw;
  (void)size;
  (void)rwflag;
  (void)u;
  return 0;
}

/* Reads every PEM certificate from `bio` into a new stack (at least one). */
static int read_certs(BIO *bio, STACK_OF(X509) * *out, lx_error *err) {
  STACK_OF(X509) *sk = sk_X509_new_null();
  X509 *x;
  unsigned long e;
  *out = NULL;
  if (!sk)
    return error_set(err, LX_ERR_NOMEM, "out of memory");
  ERR_clear_error();
  while ((x = PEM_read_bio_X509(bio, NULL, no_password, NULL))) {
    if (!sk_X509_push(sk, x)) {
      X509_free(x);
      sk_X509_pop_free(sk, X509_free);
      return error_set(err, LX_ERR_NOMEM, "out of memory");
    }
  }
  /* the loop ends on "no start line" at the end of the input */
  e = ERR_peek_last_error();
  if (sk_X509_num(sk) == 0 || ERR_GET_LIB(e) != ERR_LIB_PEM ||
      ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
    sk_X509_pop_free(sk, X509_free);
    return ossl_fail(err, LX_ERR_INVALID, "bad PEM certificate");
  }
  ERR_clear_error();
  *out = sk;
  return 0;
}

static BIO *pem_bio(const char *pem, size_t len, lx_error *err, int *rc) {
  BIO *b;
  if (!pem || len > INT_MAX) {
    *rc = error_set(err, LX_ERR_INVALID, "no PEM data");
    return NULL;
  }
  if (!(b = BIO_new_mem_buf(pem, (int)len)))
    *rc = error_set(err, LX_ERR_NOMEM, "out of memory");
  return b;
}

static BIO *file_bio(const char *path, lx_error *err, int *rc) {
  BIO *b = path ? BIO_new_file(path, "r") : NULL;
  if (!b)
    *rc = ossl_fail(err, LX_ERR_INVALID, path ? path : "no file name");
  return b;
}

/* Takes a certificate chain and key from the two BIOs into the context. */
static int add_cert_from(lx_tls_ctx *c, BIO *cert_bio, BIO *key_bio,
                         lx_error *err) {
  STACK_OF(X509) *certs = NULL;
  EVP_PKEY *key = NULL;
  X509 *leaf = NULL;
  SSL *probe = NULL;
  cert_key *grown;
  int rc;

  if (c->role == LX_TLS_CLIENT && c->ncerts == 1)
    return error_set(err, LX_ERR_INVALID, "a client has one certificate");
  if ((rc = read_certs(cert_bio, &certs, err)) != 0)
    return rc;
  leaf = sk_X509_shift(certs);
  if (!(key = PEM_read_bio_PrivateKey(key_bio, NULL, no_password, NULL))) {
    rc = ossl_fail(err, LX_ERR_INVALID,
                   "bad PEM private key (encrypted keys are not supported)");
    goto fail;
  }
  if (!X509_check_private_key(leaf, key)) {
    rc = ossl_fail(err, LX_ERR_INVALID,
                   "the private key does not match the certificate");
    goto fail;
  }
  /* The first is the context's own; the others are tried on a throwaway
   * SSL so that a refusal (a key too weak) shows now, not at SNI time. */
  if (c->ncerts == 0) {
    if (!SSL_CTX_use_cert_and_key(c->ssl, leaf, key, certs, 1)) {
      rc = ossl_fail(err, LX_ERR_INVALID, "certificate refused");
      goto fail;
    }
  } else {
    if (!(probe = SSL_new(c->ssl))) {
      rc = ossl_fail(err, LX_ERR_NOMEM, "out of memory");
      goto fail;
    }
    if (!SSL_use_cert_and_key(probe, leaf, key, certs, 1)) {
      rc = ossl_fail(err, LX_ERR_INVALID, "certificate refused");
      goto fail;
    }
    SSL_free(probe);
    probe = NULL;
  }
  if (!(grown = realloc(c->certs, (c->ncerts + 1) * sizeof *grown))) {
    rc = error_set(err, LX_ERR_NOMEM, "out of memory");
    goto fail;
  }
  c->certs = grown;
  c->certs[c->ncerts].cert = leaf;
  c->certs[c->ncerts].key = key;
  c->certs[c->ncerts].chain = certs;
  c->ncerts++;
  return 0;

fail:
  SSL_free(probe);
  X509_free(leaf);
  EVP_PKEY_free(key);
  sk_X509_pop_free(certs, X509_free);
  return rc;
}

int lx_tls_ctx_add_cert(lx_tls_ctx *ctx, const char *cert_pem, size_t cert_len,
                        const char *key_pem, size_t key_len, lx_error *err) {
  BIO *cb = NULL, *kb = NULL;
  int rc;
  if ((rc = configurable(ctx, err)) != 0)
    return rc;
  if ((cb = pem_bio(cert_pem, cert_len, err, &rc)) &&
      (kb = pem_bio(key_pem, key_len, err, &rc)))
    rc = add_cert_from(ctx, cb, kb, err);
  BIO_free(cb);
  BIO_free(kb);
  return rc;
}

int lx_tls_ctx_add_cert_file(lx_tls_ctx *ctx, const char *cert_path,
                             const char *key_path, lx_error *err) {
  BIO *cb = NULL, *kb = NULL;
  int rc;
  if ((rc = configurable(ctx, err)) != 0)
    return rc;
  if ((cb = file_bio(cert_path, err, &rc)) &&
      (kb = file_bio(key_path, err, &rc)))
    rc = add_cert_from(ctx, cb, kb, err);
  BIO_free(cb);
  BIO_free(kb);
  return rc;
}

int lx_tls_ctx_add_ca(lx_tls_ctx *ctx, const char *pem, size_t len,
                      lx_error *err) {
  STACK_OF(X509) *certs = NULL;
  X509_STORE *store;
  BIO *b;
  int rc;
  if ((rc = configurable(ctx, err)) != 0)
    return rc;
  if (!(b = pem_bio(pem, len, err, &rc)))
    return rc;
  rc = read_certs(b, &certs, err);
  BIO_free(b);
  if (rc)
    return rc;
  store = SSL_CTX_get_cert_store(ctx->ssl);
  for (int i = 0; i < sk_X509_num(certs); i++) {
    if (!X509_STORE_add_cert(store, sk_X509_value(certs, i))) {
      rc = ossl_fail(err, LX_ERR_NOMEM, "cannot add a CA certificate");
      break;
    }
  }
  sk_X509_pop_free(certs, X509_free);
  if (rc == 0)
    ctx->has_trust = 1;
  return rc;
}

int lx_tls_ctx_add_ca_file(lx_tls_ctx *ctx, const char *path, lx_error *err) {
  int rc;
  if ((rc = configurable(ctx, err)) != 0)
    return rc;
  if (!path || !SSL_CTX_load_verify_file(ctx->ssl, path))
    return ossl_fail(err, LX_ERR_INVALID, path ? path : "no file name");
  ctx->has_trust = 1;
  return 0;
}

int lx_tls_ctx_add_ca_dir(lx_tls_ctx *ctx, const char *path, lx_error *err) {
  int rc;
  if ((rc = configurable(ctx, err)) != 0)
    return rc;
  if (!path || !SSL_CTX_load_verify_dir(ctx->ssl, path))
    return ossl_fail(err, LX_ERR_INVALID, path ? path : "no directory name");
  ctx->has_trust = 1;
  return 0;
}

int lx_tls_ctx_set_alpn(lx_tls_ctx *ctx, const char *const *protocols,
                        size_t count, lx_error *err) {
  unsigned char *wire = NULL;
  size_t len = 0;
  int rc;
  if ((rc = configurable(ctx, err)) != 0)
    return rc;
  if (count && !protocols)
    return error_set(err, LX_ERR_INVALID, "no protocol list");
  for (size_t i = 0; i < count; i++) {
    size_t n = protocols[i] ? strlen(protocols[i]) : 0;
    if (n == 0 || n > 255)
      return error_set(err, LX_ERR_INVALID,
                       "ALPN protocol names are 1 to 255 bytes");
    len += 1 + n;
  }
  if (len > 65535)
    return error_set(err, LX_ERR_INVALID, "ALPN protocol list too long");
  if (count) {
    unsigned char *p;
    if (!(p = wire = malloc(len)))
      return error_set(err, LX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
      size_t n = strlen(protocols[i]);
      *p++ = (unsigned char)n;
      memcpy(p, protocols[i], n);
      p += n;
    }
  }
  if (ctx->role == LX_TLS_CLIENT) {
    /* SSL_CTX_set_alpn_protos returns 0 on success */
    rc = SSL_CTX_set_alpn_protos(ctx->ssl, wire, (unsigned)len);
    free(wire);
    return rc ? ossl_fail(err, LX_ERR_NOMEM, "cannot set ALPN") : 0;
  }
  free(ctx->alpn);
  ctx->alpn = wire;
  ctx->alpn_len = (unsigned)len;
  SSL_CTX_set_alpn_select_cb(ctx->ssl, count ? on_alpn : NULL, ctx);
  return 0;
}

/* Ends configuration when the first session is made. */
static int ctx_freeze(lx_tls_ctx *c, lx_error *err) {
  if (c->frozen)
    return 0;
  if (c->role == LX_TLS_SERVER && c->ncerts == 0)
    return error_set(err, LX_ERR_STATE, "a TLS server needs a certificate");
  /* A client verifies even under VERIFY_NONE, to report the verdict. */
  if (!c->has_trust &&
      (c->role == LX_TLS_CLIENT || c->opts.verify != LX_TLS_VERIFY_NONE) &&
      !SSL_CTX_set_default_verify_paths(c->ssl))
    return ossl_fail(err, LX_ERR_INTERNAL, "cannot load the system CA store");
  ERR_clear_error(); /* a missing system CA file is not an error */
  c->frozen = 1;
  return 0;
}

/* ---- sessions ---------------------------------------------------------- */

/* Sets the reference identity: an IP address or a DNS name, sent as SNI
 * by a client. */
static int set_peer_name(lx_tls *t, const char *name, lx_error *err) {
  X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
  size_t len = strlen(name);
  if (len == 0 || len > 253)
    return error_set(err, LX_ERR_INVALID, "bad peer name length %zu", len);
  if (!(t->peer_name = strdup(name)))
    return error_set(err, LX_ERR_NOMEM, "out of memory");
  if (X509_VERIFY_PARAM_set1_ip_asc(vp, name))
    return 0;
  ERR_clear_error();
  X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (!X509_VERIFY_PARAM_set1_host(vp, name, len))
    return ossl_fail(err, LX_ERR_INVALID, "bad peer name");
  if (t->ctx->role == LX_TLS_CLIENT && !SSL_set_tlsext_host_name(t->ssl, name))
    return ossl_fail(err, LX_ERR_INVALID, "bad server name");
  return 0;
}

int lx_tls_new(lx_tls **out, lx_tls_ctx *ctx, const char *peer_name,
               lx_error *err) {
  lx_tls *t;
  BIO *bio;
  int rc;
  *out = NULL;
  if (!ctx)
    return error_set(err, LX_ERR_INVALID, "no TLS context");
  if (!peer_name && ctx->role == LX_TLS_CLIENT &&
      ctx->opts.verify != LX_TLS_VERIFY_NONE)
    return error_set(err, LX_ERR_INVALID,
                     "a client needs the server's domain to verify it");
  if ((rc = ctx_freeze(ctx, err)) != 0)
    return rc;
  if (!(t = calloc(1, sizeof *t)))
    return error_set(err, LX_ERR_NOMEM, "out of memory");
  atomic_fetch_add(&ctx->refs, 1);
  t->ctx = ctx;
  t->state = LX_TLS_HANDSHAKING;
  if (!(t->ssl = SSL_new(ctx->ssl)) || !(bio = BIO_new(ctx->bio_method))) {
    rc = ossl_fail(err, LX_ERR_NOMEM, "cannot create an SSL");
    goto fail;
  }
  BIO_set_data(bio, t);
  SSL_set_bio(t->ssl, bio, bio);
  if (peer_name && (rc = set_peer_name(t, peer_name, err)) != 0)
    goto fail;
  if (ctx->role == LX_TLS_CLIENT)
    SSL_set_connect_state(t->ssl);
  else
    SSL_set_accept_state(t->ssl);
  *out = t;
  return 0;

fail:
  lx_tls_free(t);
  return rc;
}

void lx_tls_free(lx_tls *t) {
  if (!t)
    return;
  /* SSL_free would mark the session unresumable unless close_notify was
   * sent. A fatal error has already done so (OpenSSL drops the session when
   * it sends or receives a fatal alert); a healthy connection that is just
   * dropped keeps its session. */
  if (t->ssl && t->state != LX_TLS_FAILED)
    SSL_set_shutdown(t->ssl, SSL_get_shutdown(t->ssl) | SSL_SENT_SHUTDOWN);
  SSL_free(t->ssl);
  buf_free(&t->in);
  buf_free(&t->out);
  for (size_t i = 0; i < t->nnames; i++)
    free(t->names[i].value);
  free(t->names);
  free(t->peer_name);
  ctx_release(t->ctx);
  free(t);
}

lx_tls_state lx_tls_get_state(const lx_tls *t) { return t->state; }
const lx_error *lx_tls_error(const lx_tls *t) { return &t->error; }

/* ---- failing ----------------------------------------------------------- */

static int verify_code(long v) {
  return v == X509_V_ERR_HOSTNAME_MISMATCH ||
                 v == X509_V_ERR_IP_ADDRESS_MISMATCH
             ? LX_ERR_TLS_HOSTNAME_MISMATCH
             : LX_ERR_TLS_CERT_INVALID;
}

static int fail(lx_tls *t, int code, const char *what, const char *why) {
  error_set(&t->error, code, "%s%s%s", what, why[0] ? ": " : "", why);
  t->state = LX_TLS_FAILED;
  return code;
}

/* Turns the failure of an SSL call into the sticky error. */
static int fail_ssl(lx_tls *t) {
  char why[160];
  unsigned long e = take_ossl_error(why, sizeof why);
  int reason = ERR_GET_LIB(e) == ERR_LIB_SSL ? ERR_GET_REASON(e) : 0;
  long v = SSL_get_verify_result(t->ssl);
  if (t->oom)
    return fail(t, LX_ERR_NOMEM, "out of memory", "");
  if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED)
    return fail(t, verify_code(v), "certificate verification failed",
                X509_verify_cert_error_string(v));
  if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
    return fail(t, LX_ERR_TLS_CERT_INVALID, "the peer sent no certificate", "");
  if (t->eof && (e == 0 || reason == SSL_R_UNEXPECTED_EOF_WHILE_READING))
    return t->established
               ? fail(t, LX_ERR_TLS_TRUNCATED,
                      "the connection ended without close_notify", "")
               : fail(t, LX_ERR_TLS_HANDSHAKE,
                      "the connection ended during the TLS handshake", "");
  return t->established
             ? fail(t, LX_ERR_TLS_PROTOCOL, "TLS failed", why)
             : fail(t, LX_ERR_TLS_HANDSHAKE, "TLS handshake failed", why);
}

/* ---- moving bytes ------------------------------------------------------ */

int lx_tls_handshake(lx_tls *t) {
  int r;
  if (t->state == LX_TLS_FAILED)
    return t->error.code;
  if (t->state != LX_TLS_HANDSHAKING)
    return 1;
  ERR_clear_error();
  r = SSL_do_handshake(t->ssl);
  if (r == 1) {
    t->state = LX_TLS_OPEN;
    t->established = 1;
    return 1;
  }
  if (SSL_get_error(t->ssl, r) == SSL_ERROR_WANT_READ && !t->oom)
    return 0;
  return fail_ssl(t);
}

/* Appends to `in`, moving the pending bytes to the front rather than
 * growing when there is room before them. */
static int in_put(lx_tls *t, const char *data, size_t n) {
  if (t->in.cap - t->in.len < n && t->in_off > 0) {
    memmove(t->in.data, t->in.data + t->in_off, in_pending(t));
    t->in.len -= t->in_off;
    t->in_off = 0;
  }
  return buf_put(&t->in, data, n);
}

ssize_t lx_tls_recv(lx_tls *t, const char *data, size_t len) {
  size_t off = 0, max = t->ctx->opts.max_recv_bytes;
  if (t->state == LX_TLS_FAILED)
    return t->error.code;
  if (t->eof)
    return LX_ERR_STATE;
  if (len > SSIZE_MAX)
    len = SSIZE_MAX;
  if (t->state == LX_TLS_CLOSED)
    return (ssize_t)len; /* nothing may follow close_notify */
  for (;;) {
    size_t n = max - in_pending(t);
    if (n > len - off)
      n = len - off;
    if (n && in_put(t, data + off, n) != 0)
      return off ? (ssize_t)off : LX_ERR_NOMEM;
    off += n;
    if (t->state != LX_TLS_HANDSHAKING)
      break;
    int rc = lx_tls_handshake(t);
    if (rc < 0)
      return rc;
    if (off == len || in_pending(t) >= max)
      break;
  }
  return (ssize_t)off;
}

int lx_tls_recv_eof(lx_tls *t) {
  int rc;
  t->eof = 1;
  if (t->state != LX_TLS_HANDSHAKING)
    return t->state == LX_TLS_FAILED ? t->error.code : 0;
  rc = lx_tls_handshake(t);
  return rc < 0 ? rc : 0;
}

ssize_t lx_tls_read(lx_tls *t, char *out, size_t cap) {
  size_t got = 0;
  int rc = lx_tls_handshake(t);
  if (rc <= 0)
    return rc;
  if (t->state == LX_TLS_CLOSED)
    return LX_ERR_TLS_CLOSED;
  if (cap > SSIZE_MAX)
    cap = SSIZE_MAX;
  while (got < cap) {
    size_t n = 0;
    ERR_clear_error();
    if (SSL_read_ex(t->ssl, out + got, cap - got, &n)) {
      got += n;
      continue;
    }
    switch (SSL_get_error(t->ssl, 0)) {
    case SSL_ERROR_WANT_READ:
      if (t->oom)
        fail_ssl(t);
      break;
    case SSL_ERROR_ZERO_RETURN: t->state = LX_TLS_CLOSED; break;
    default: fail_ssl(t); break;
    }
    break;
  }
  /* what was read before a close or a failure is given first */
  if (got)
    return (ssize_t)got;
  if (t->state == LX_TLS_CLOSED)
    return LX_ERR_TLS_CLOSED;
  return t->state == LX_TLS_FAILED ? t->error.code : 0;
}

ssize_t lx_tls_write(lx_tls *t, const char *data, size_t len) {
  size_t off = 0, max = t->ctx->opts.max_send_bytes;
  if (t->state == LX_TLS_FAILED)
    return t->error.code;
  if (t->state == LX_TLS_HANDSHAKING || t->close_sent)
    return LX_ERR_STATE;
  if (len > SSIZE_MAX)
    len = SSIZE_MAX;
  while (off < len && out_pending(t) < max) {
    size_t n = len - off < WRITE_CHUNK ? len - off : WRITE_CHUNK, done = 0;
    ERR_clear_error();
    if (!SSL_write_ex(t->ssl, data + off, n, &done))
      return fail_ssl(t);
    off += done;
  }
  return (ssize_t)off;
}

size_t lx_tls_peek_send(lx_tls *t, const char **data) {
  *data = t->out.data ? t->out.data + t->out_off : NULL;
  return out_pending(t);
}

void lx_tls_consume_send(lx_tls *t, size_t n) {
  if (n >= out_pending(t)) {
    buf_free(&t->out);
    t->out_off = 0;
  } else {
    t->out_off += n;
  }
}

int lx_tls_trim(lx_tls *t) {
  /* rather than SSL_MODE_RELEASE_BUFFERS, which frees (and, with
   * CLEANSE_PLAINTEXT, wipes) the read buffer after every record */
  return t->state == LX_TLS_OPEN && SSL_free_buffers(t->ssl) == 1;
}

int lx_tls_close(lx_tls *t) {
  if (t->state == LX_TLS_FAILED)
    return t->error.code;
  if (t->state == LX_TLS_HANDSHAKING)
    return LX_ERR_STATE;
  if (t->close_sent)
    return 0;
  ERR_clear_error();
  if (SSL_shutdown(t->ssl) < 0)
    return fail_ssl(t);
  t->close_sent = 1;
  return 0;
}

/* ---- what was negotiated ----------------------------------------------- */

const char *lx_tls_version(const lx_tls *t) {
  return t->established ? SSL_get_version(t->ssl) : NULL;
}

const char *lx_tls_cipher(const lx_tls *t) {
  return t->established ? SSL_get_cipher_name(t->ssl) : NULL;
}

int lx_tls_resumed(const lx_tls *t) {
  return t->established && SSL_session_reused(t->ssl);
}

int lx_tls_alpn(const lx_tls *t, const char **proto, size_t *len) {
  const unsigned char *p = NULL;
  unsigned n = 0;
  SSL_get0_alpn_selected(t->ssl, &p, &n);
  *proto = n ? (const char *)p : NULL;
  *len = n;
  return n > 0;
}

const char *lx_tls_server_name(const lx_tls *t) {
  if (t->ctx->role == LX_TLS_CLIENT)
    return t->peer_name;
  return SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
}

int lx_tls_verify_result(const lx_tls *t, lx_error *err) {
  long v;
  if (!t->established)
    return error_set(err, LX_ERR_STATE, "the TLS handshake is not complete");
  if (!SSL_get0_peer_certificate(t->ssl))
    return error_set(err, LX_ERR_TLS_CERT_INVALID,
                     "the peer sent no certificate");
  v = SSL_get_verify_result(t->ssl);
  if (v != X509_V_OK)
    return error_set(err, verify_code(v), "certificate verification failed: %s",
                     X509_verify_cert_error_string(v));
  error_clear(err);
  return 0;
}

int lx_tls_peer_cert(const lx_tls *t, unsigned char **der, size_t *len) {
  X509 *x = SSL_get0_peer_certificate(t->ssl);
  unsigned char *p;
  int n;
  *der = NULL;
  *len = 0;
  if (!x)
    return 0;
  if ((n = i2d_X509(x, NULL)) <= 0 || !(p = malloc((size_t)n)))
    return LX_ERR_NOMEM;
  *der = p;
  *len = (size_t)i2d_X509(x, &p);
  return 1;
}

/* The text of a subjectAltName entry we report, or NULL. */
static const ASN1_STRING *san_value(const GENERAL_NAME *g,
                                    lx_tls_name_type *type) {
  if (g->type == GEN_DNS) {
    *type = LX_TLS_NAME_DNS;
    return g->d.dNSName;
  }
  if (g->type == GEN_OTHERNAME) {
    const OTHERNAME *o = g->d.otherName;
    int nid = OBJ_obj2nid(o->type_id);
    if (nid == NID_XmppAddr && o->value->type == V_ASN1_UTF8STRING) {
      *type = LX_TLS_NAME_XMPP_ADDR;
      return o->value->value.utf8string;
    }
    if (nid == NID_SRVName && o->value->type == V_ASN1_IA5STRING) {
      *type = LX_TLS_NAME_SRV;
      return o->value->value.ia5string;
    }
  }
  return NULL;
}

static int load_names(lx_tls *t) {
  X509 *x = SSL_get0_peer_certificate(t->ssl);
  GENERAL_NAMES *gens;
  int rc = 0, n;
  if (!x)
    return 0;
  if (!(gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL))) {
    ERR_clear_error(); /* absent, or undecodable: no names either way */
    t->names_loaded = 1;
    return 0;
  }
  n = sk_GENERAL_NAME_num(gens);
  if (n > 0 && !(t->names = calloc((size_t)n, sizeof *t->names)))
    rc = LX_ERR_NOMEM;
  for (int i = 0; rc == 0 && i < n; i++) {
    lx_tls_name_type type;
    const ASN1_STRING *s = san_value(sk_GENERAL_NAME_value(gens, i), &type);
    size_t len = s ? (size_t)ASN1_STRING_length(s) : 0;
    const unsigned char *data = s ? ASN1_STRING_get0_data(s) : NULL;
    char *copy;
    if (!s || memchr(data, 0, len))
      continue;
    if (!(copy = malloc(len + 1))) {
      rc = LX_ERR_NOMEM;
      break;
    }
    memcpy(copy, data, len);
    copy[len] = '\0';
    t->names[t->nnames].type = type;
    t->names[t->nnames++].value = copy;
  }
  GENERAL_NAMES_free(gens);
  if (rc) {
    for (size_t i = 0; i < t->nnames; i++)
      free(t->names[i].value);
    free(t->names);
    t->names = NULL;
    t->nnames = 0;
    return rc;
  }
  t->names_loaded = 1;
  return 0;
}

int lx_tls_peer_name(lx_tls *t, size_t i, lx_tls_name_type *type,
                     const char **value) {
  int rc;
  if (!t->names_loaded && (rc = load_names(t)) != 0)
    return rc;
  if (i >= t->nnames)
    return 0;
  *type = t->names[i].type;
  *value = t->names[i].value;
  return 1;
}

/* ---- channel bindings -------------------------------------------------- */

const char *lx_tls_cb_name(lx_tls_cb_type type) {
  switch (type) {
  case LX_TLS_CB_EXPORTER: return "tls-exporter";
  case LX_TLS_CB_SERVER_END_POINT: return "tls-server-end-point";
  case LX_TLS_CB_UNIQUE: return "tls-unique";
  }
  return NULL;
}

int tls_end_point_hash(X509 *cert, unsigned char *out, size_t *len,
                       lx_error *err) {
  int md_nid = NID_undef;
  const EVP_MD *md;
  unsigned n = 0;
  if (!X509_get_signature_info(cert, &md_nid, NULL, NULL, NULL) ||
      md_nid == NID_undef || md_nid == NID_md5_sha1)
    return error_set(err, LX_ERR_TLS_CB_UNAVAILABLE,
                     "tls-server-end-point: the certificate's signature has "
                     "no single hash function");
  if (md_nid == NID_md5 || md_nid == NID_sha1)
    md_nid = NID_sha256;
  if (!(md = EVP_get_digestbynid(md_nid)))
    return error_set(err, LX_ERR_TLS_CB_UNAVAILABLE,
                     "tls-server-end-point: unknown hash %s",
                     OBJ_nid2sn(md_nid));
  if (!X509_digest(cert, md, out, &n))
    return ossl_fail(err, LX_ERR_NOMEM, "tls-server-end-point");
  *len = n;
  return 0;
}

static int cb_unavailable(lx_error *err, const char *type, const char *why) {
  return error_set(err, LX_ERR_TLS_CB_UNAVAILABLE, "%s: %s", type, why);
}

int lx_tls_channel_binding(const lx_tls *t, lx_tls_cb_type type,
                           unsigned char *out, size_t cap, size_t *len,
                           lx_error *err) {
  static const char label[] = "EXPORTER-Channel-Binding";
  int tls13 = SSL_version(t->ssl) >= TLS1_3_VERSION;
  int server = t->ctx->role == LX_TLS_SERVER;
  const char *name = lx_tls_cb_name(type);
  unsigned char md[EVP_MAX_MD_SIZE];
  size_t n = 0;
  int rc;

  *len = 0;
  if (!name)
    return error_set(err, LX_ERR_INVALID, "unknown channel binding type %d",
                     (int)type);
  if (!t->established || t->state == LX_TLS_FAILED)
    return error_set(err, LX_ERR_STATE, "the TLS handshake is not complete");
  switch (type) {
  case LX_TLS_CB_EXPORTER:
    if (!tls13 && SSL_get_extms_support(t->ssl) != 1)
      return cb_unavailable(err, name,
                            "TLS 1.2 without Extended Master Secret");
    if (cap < 32)
      return error_set(err, LX_ERR_INVALID, "%s needs 32 bytes", name);
    if (!SSL_export_keying_material(t->ssl, out, 32, label, sizeof label - 1,
                                    NULL, 0, 0))
      return ossl_fail(err, LX_ERR_INTERNAL, name);
    *len = 32;
    return 0;
  case LX_TLS_CB_SERVER_END_POINT: {
    X509 *x = server ? SSL_get_certificate(t->ssl)
                     : SSL_get0_peer_certificate(t->ssl);
    if (!x)
      return cb_unavailable(err, name, "no server certificate");
    if ((rc = tls_end_point_hash(x, md, &n, err)) != 0)
      return rc;
    break;
  }
  case LX_TLS_CB_UNIQUE:
    if (tls13)
      return cb_unavailable(err, name, "not defined for TLS 1.3");
    if (SSL_get_extms_support(t->ssl) != 1)
      return cb_unavailable(err, name, "no Extended Master Secret");
    /* The first Finished: the client's in a full handshake, the server's
     * in an abbreviated (resumed) one. */
    if (server == (SSL_session_reused(t->ssl) != 0))
      n = SSL_get_finished(t->ssl, md, sizeof md);
    else
      n = SSL_get_peer_finished(t->ssl, md, sizeof md);
    if (n == 0 || n > sizeof md)
      return cb_unavailable(err, name, "no Finished message");
    break;
  }
  if (cap < n)
    return error_set(err, LX_ERR_INVALID, "%s needs %zu bytes", name, n);
  memcpy(out, md, n);
  *len = n;
  return 0;
}

/* ---- resumption -------------------------------------------------------- */

int lx_tls_get_session(const lx_tls *t, lx_tls_session **out) {
  const char *name = t->peer_name ? t->peer_name : "";
  SSL_SESSION *s;
  lx_tls_session *r;
  *out = NULL;
  if (t->ctx->role != LX_TLS_CLIENT || !t->established)
    return 0;
  /* A copy, not a reference: OpenSSL marks the connection's own session
   * unresumable when the connection later ends without close_notify (a
   * cut, the very case a reconnect resumes from), which RFC 5246 §7.2.1 no
   * longer asks for and TLS 1.3 tickets do not need. */
  s = SSL_get0_session(t->ssl);
  if (!s || !SSL_SESSION_is_resumable(s))
    return 0;
  if (!(s = SSL_SESSION_dup(s)))
    return LX_ERR_NOMEM;
  if (!(r = malloc(sizeof *r + strlen(name) + 1))) {
    SSL_SESSION_free(s);
    return LX_ERR_NOMEM;
  }
  r->ssl = s;
  r->verified = t->peer_name && SSL_get0_peer_certificate(t->ssl) &&
                SSL_get_verify_result(t->ssl) == X509_V_OK;
  strcpy(r->name, name);
  *out = r;
  return 1;
}

int lx_tls_set_session(lx_tls *t, const lx_tls_session *s, lx_error *err) {
  const char *name = t->peer_name ? t->peer_name : "";
  if (!s)
    return error_set(err, LX_ERR_INVALID, "no session");
  if (t->ctx->role != LX_TLS_CLIENT || !SSL_in_before(t->ssl))
    return error_set(err, LX_ERR_STATE,
                     "only a client resumes, before its handshake");
  if (strcasecmp(s->name, name) != 0)
    return error_set(err, LX_ERR_INVALID,
                     "the session is for \"%s\", not \"%s\"", s->name, name);
  if (!s->verified && t->ctx->opts.verify == LX_TLS_VERIFY_REQUIRED)
    return error_set(err, LX_ERR_INVALID,
                     "the session's peer was not verified");
  if (!SSL_set_session(t->ssl, s->ssl))
    return ossl_fail(err, LX_ERR_INTERNAL, "cannot set the session");
  return 0;
}

void lx_tls_session_free(lx_tls_session *s) {
  if (!s)
    return;
  SSL_SESSION_free(s->ssl);
  free(s);
}

/* test_tls.c: TLS sessions wired back to back in one process. A client and
 * a server lx_tls exchange ciphertext through their byte interfaces, in
 * pieces of a chosen size, until neither has anything left to say. */
#include "check.h"
#include "tls.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- certificates made once for all tests ------------------------------ */

typedef struct pair {
  char *cert, *key;
} pair;

static lx_tls_ca *ca, *ca2;
static pair example, other, bdom, wild, selfsigned, ed25519, juliet,
    juliet_untrusted;

static pair issue(lx_tls_ca *by, const char *domain, const char *jid,
                  lx_tls_key_type key) {
  lx_tls_cert_spec spec = {domain, jid, key, 0};
  pair p = {NULL, NULL};
  lx_error err;
  int rc = by ? lx_tls_ca_issue(by, &spec, &p.cert, &p.key, &err)
              : lx_tls_cert_selfsigned(&spec, &p.cert, &p.key, &err);
  if (rc)
    fprintf(stderr, "cannot make a certificate: %s\n", err.detail);
  return p;
}

static void pair_free(pair *p) {
  free(p->cert);
  lx_tls_pem_free(p->key);
}

static X509 *pem_x509(const char *pem) {
  BIO *b = BIO_new_mem_buf(pem, -1);
  X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  return x;
}

/* ---- contexts and sessions --------------------------------------------- */

static lx_tls_opts opts_with(int max_version) {
  lx_tls_opts o;
  lx_tls_opts_init(&o);
  o.max_version = max_version;
  return o;
}

static lx_tls_ctx *server_ctx(const lx_tls_opts *o, const pair *certs,
                              size_t n) {
  lx_tls_ctx *c = NULL;
  lx_error err;
  CHECK_INT(lx_tls_ctx_new(&c, LX_TLS_SERVER, o, &err), 0);
  for (size_t i = 0; c && i < n; i++)
    CHECK_INT(lx_tls_ctx_add_cert(c, certs[i].cert, strlen(certs[i].cert),
                                  certs[i].key, strlen(certs[i].key), &err),
              0);
  return c;
}

/* A client trusting `trust` (NULL: the system store). */
static lx_tls_ctx *client_ctx(const lx_tls_opts *o, const char *trust) {
  lx_tls_ctx *c = NULL;
  lx_error err;
  CHECK_INT(lx_tls_ctx_new(&c, LX_TLS_CLIENT, o, &err), 0);
  if (c && trust)
    CHECK_INT(lx_tls_ctx_add_ca(c, trust, strlen(trust), &err), 0);
  return c;
}

typedef struct peer {
  lx_tls *t;
  char *got; /* plaintext read */
  size_t len, cap;
  int read_rc; /* the last negative lx_tls_read result */
  int recv_rc; /* the last negative lx_tls_recv result */
} peer;

static void peer_free(peer *p) {
  lx_tls_free(p->t);
  free(p->got);
  memset(p, 0, sizeof *p);
}

static void append(peer *p, const char *data, size_t n) {
  if (p->len + n > p->cap) {
    p->cap = (p->len + n) * 2;
    p->got = realloc(p->got, p->cap);
  }
  memcpy(p->got + p->len, data, n);
  p->len += n;
}

/* Moves up to `chunk` bytes of ciphertext from one side to the other. */
static int move(peer *from, peer *to, size_t chunk) {
  const char *data;
  size_t n = lx_tls_peek_send(from->t, &data);
  ssize_t k;
  if (n == 0)
    return 0;
  if (n > chunk)
    n = chunk;
  k = lx_tls_recv(to->t, data, n);
  if (k < 0) {
    to->recv_rc = (int)k;
    lx_tls_consume_send(from->t, n); /* the receiver is dead: drop it */
    return 1;
  }
  lx_tls_consume_send(from->t, (size_t)k);
  return k > 0;
}

static int drain(peer *p) {
  char tmp[5000];
  int progress = 0;
  for (;;) {
    ssize_t n = lx_tls_read(p->t, tmp, sizeof tmp);
    if (n <= 0) {
      if (n < 0)
        p->read_rc = (int)n;
      return progress;
    }
    append(p, tmp, (size_t)n);
    progress = 1;
  }
}

/* Runs both sides until neither moves. */
static void pump(peer *a, peer *b, size_t chunk) {
  int progress;
  do {
    progress = move(a, b, chunk);
    progress |= move(b, a, chunk);
    progress |= drain(a);
    progress |= drain(b);
  } while (progress);
}

/* Makes a client (for `name`) and a server session and runs the handshake.
 * Returns 1 when both ends are open. */
static int connect_pair(peer *c, peer *s, lx_tls_ctx *cc, lx_tls_ctx *sc,
                        const char *name, size_t chunk) {
  lx_error err;
  memset(c, 0, sizeof *c);
  memset(s, 0, sizeof *s);
  CHECK_INT(lx_tls_new(&c->t, cc, name, &err), 0);
  CHECK_INT(lx_tls_new(&s->t, sc, NULL, &err), 0);
  if (!c->t || !s->t)
    return 0;
  CHECK_INT(lx_tls_handshake(c->t), 0);
  pump(c, s, chunk);
  return lx_tls_get_state(c->t) == LX_TLS_OPEN &&
         lx_tls_get_state(s->t) == LX_TLS_OPEN;
}

/* Writes all of `data` from one side, moving it across as it goes. */
static void send_all(peer *from, peer *to, const char *data, size_t len,
                     size_t piece, size_t chunk) {
  size_t off = 0;
  while (off < len) {
    size_t n = len - off < piece ? len - off : piece;
    ssize_t k = lx_tls_write(from->t, data + off, n);
    CHECK(k >= 0);
    if (k < 0)
      return;
    off += (size_t)k;
    pump(from, to, chunk);
  }
}

static int contains(const char *s, const char *sub) {
  return s && strstr(s, sub) != NULL;
}

/* ---- handshakes -------------------------------------------------------- */

TEST(handshake_tls13) {
  lx_tls_ctx *sc = server_ctx(NULL, &example, 1);
  lx_tls_ctx *cc = client_ctx(NULL, lx_tls_ca_cert(ca));
  peer c, s;
  lx_error err;
  CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  CHECK_STR(lx_tls_version(c.t), "TLSv1.3");
  CHECK_STR(lx_tls_version(s.t), "TLSv1.3");
  CHECK(lx_tls_cipher(c.t) != NULL);
  CHECK_INT(lx_tls_verify_result(c.t, &err), 0);
  CHECK_INT(lx_tls_resumed(c.t), 0);
  CHECK_INT(lx_tls_handshake(c.t), 1);
  CHECK_STR(lx_tls_server_name(c.t), "example.com");
  CHECK_STR(lx_tls_server_name(s.t), "example.com"); /* SNI was sent */
  /* the server asked for no client certificate */
  CHECK_INT(lx_tls_verify_result(s.t, &err), LX_ERR_TLS_CERT_INVALID);
  send_all(&c, &s, "<stream:stream>", 15, 15, SIZE_MAX);
  send_all(&s, &c, "<stream:features/>", 18, 18, SIZE_MAX);
  CHECK_INT(s.len, 15);
  CHECK(s.got && memcmp(s.got, "<stream:stream>", 15) == 0);
  CHECK_INT(c.len, 18);
  CHECK(c.got && memcmp(c.got, "<stream:features/>", 18) == 0);
  CHECK_INT(c.read_rc, 0);
  CHECK_INT(s.read_rc, 0);
  /* nothing is waiting once both sides are drained */
  const char *p;
  CHECK_INT(lx_tls_peek_send(c.t, &p), 0);
  CHECK(p == NULL); /* the output buffer was released */
  CHECK_INT(lx_tls_peek_send(s.t, &p), 0);
  CHECK(p == NULL);
  peer_free(&c);
  peer_free(&s);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

TEST(handshake_tls12) {
  lx_tls_opts o = opts_with(LX_TLS_V1_2);
  lx_tls_ctx *sc = server_ctx(NULL, &example, 1);
  lx_tls_ctx *cc = client_ctx(&o, lx_tls_ca_cert(ca));
  peer c, s;
  CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  CHECK_STR(lx_tls_version(c.t), "TLSv1.2");
  CHECK_STR(lx_tls_version(s.t), "TLSv1.2");
  CHECK(contains(lx_tls_cipher(c.t), "ECDHE")); /* forward secrecy */
  CHECK_INT(lx_tls_verify_result(c.t, NULL), 0);
  send_all(&c, &s, "ping", 4, 4, SIZE_MAX);
  CHECK_INT(s.len, 4);
  peer_free(&c);
  peer_free(&s);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

/* A TLS 1.3-only server and a TLS 1.2-only client have nothing in common. */
TEST(no_common_version) {
  lx_tls_opts so, co = opts_with(LX_TLS_V1_2);
  lx_tls_opts_init(&so);
  so.min_version = LX_TLS_V1_3;
  lx_tls_ctx *sc = server_ctx(&so, &example, 1);
  lx_tls_ctx *cc = client_ctx(&co, lx_tls_ca_cert(ca));
  peer c, s;
  CHECK(!connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  CHECK_INT(s.recv_rc, LX_ERR_TLS_HANDSHAKE);
  CHECK_INT(c.recv_rc, LX_ERR_TLS_HANDSHAKE);
  CHECK(contains(lx_tls_error(s.t)->detail, "unsupported protocol"));
  CHECK(contains(lx_tls_error(c.t)->detail, "alert protocol version"));
  peer_free(&c);
  peer_free(&s);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

/* ---- verification ------------------------------------------------------ */

TEST(hostname_mismatch) {
  lx_tls_ctx *sc = server_ctx(NULL, &other, 1);
  lx_tls_ctx *cc = client_ctx(NULL, lx_tls_ca_cert(ca));
  peer c, s;
  CHECK(!connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  CHECK_INT(lx_tls_get_state(c.t), LX_TLS_FAILED);
  CHECK_INT(c.recv_rc, LX_ERR_TLS_HOSTNAME_MISMATCH);
  CHECK_INT(lx_tls_error(c.t)->code, LX_ERR_TLS_HOSTNAME_MISMATCH);
  CHECK(contains(lx_tls_error(c.t)->detail, "hostname mismatch"));
  /* the client's alert reached the server */
  CHECK_INT(s.recv_rc, LX_ERR_TLS_HANDSHAKE);
  CHECK(contains(lx_tls_error(s.t)->detail, "alert"));
  /* sticky */
  CHECK_INT(lx_tls_handshake(c.t), LX_ERR_TLS_HOSTNAME_MISMATCH);
  CHECK_INT(lx_tls_read(c.t, (char[8]){0}, 8), LX_ERR_TLS_HOSTNAME_MISMATCH);
  CHECK_INT(lx_tls_write(c.t, "x", 1), LX_ERR_TLS_HOSTNAME_MISMATCH);
  CHECK(lx_tls_version(c.t) == NULL);
  peer_free(&c);
  peer_free(&s);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

/* The reference identity is an IP address: no SNI, and the certificate's
 * DNS name does not match it. */
TEST(ip_reference_identity) {
  lx_tls_ctx *sc = server_ctx(NULL, &example, 1);
  lx_tls_ctx *cc = client_ctx(NULL, lx_tls_ca_cert(ca));
  peer c, s;
  CHECK(!connect_pair(&c, &s, cc, sc, "127.0.0.1", SIZE_MAX));
  CHECK_INT(c.recv_rc, LX_ERR_TLS_HOSTNAME_MISMATCH);
  CHECK(lx_tls_server_name(s.t) == NULL);
  peer_free(&c);
  peer_free(&s);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

TEST(untrusted_selfsigned) {
  lx_tls_ctx *sc = server_ctx(NULL, &selfsigned, 1);
  lx_tls_ctx *cc = client_ctx(NULL, lx_tls_ca_cert(ca));
  peer c, s;
  CHECK(!connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  CHECK_INT(c.recv_rc, LX_ERR_TLS_CERT_INVALID);
  CHECK(contains(lx_tls_error(c.t)->detail, "self-signed") ||
        contains(lx_tls_error(c.t)->detail, "self signed"));
  CHECK_INT(s.recv_rc, LX_ERR_TLS_HANDSHAKE);
  peer_free(&c);
  peer_free(&s);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

/* With no CA configured the system store is used, and our throwaway CA is
 * not in it: verification is on by default. */
TEST(system_store_by_default) {
  lx_tls_ctx *sc = server_ctx(NULL, &example, 1);
  lx_tls_ctx *cc = client_ctx(NULL, NULL);
  peer c, s;
  CHECK(!connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  CHECK_INT(c.recv_rc, LX_ERR_TLS_CERT_INVALID);
  peer_free(&c);
  peer_free(&s);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

/* Trusting the self-signed certificate itself works (pinning). */
TEST(trust_selfsigned_directly) {
  lx_tls_ctx *sc = server_ctx(NULL, &selfsigned, 1);
  lx_tls_ctx *cc = client_ctx(NULL, selfsigned.cert);
  peer c, s;
  CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  CHECK_INT(lx_tls_verify_result(c.t, NULL), 0);
  peer_free(&c);
  peer_free(&s);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

TEST(verification_off_explicitly) {
  lx_tls_opts o;
  lx_error err;
  lx_tls_opts_init(&o);
  o.verify = LX_TLS_VERIFY_NONE;
  lx_tls_ctx *sc = server_ctx(NULL, &selfsigned, 1);
  lx_tls_ctx *cc = client_ctx(&o, lx_tls_ca_cert(ca));
  peer c, s;
  CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  /* the verdict is still there for whoever wants it */
  CHECK_INT(lx_tls_verify_result(c.t, &err), LX_ERR_TLS_CERT_INVALID);
  peer_free(&c);
  peer_free(&s);
  /* and without a name, only with verification off */
  CHECK(connect_pair(&c, &s, cc, sc, NULL, SIZE_MAX));
  peer_free(&c);
  peer_free(&s);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

TEST(verification_optional) {
  lx_tls_opts o;
  lx_error err;
  lx_tls_opts_init(&o);
  o.verify = LX_TLS_VERIFY_OPTIONAL;
  lx_tls_ctx *sc = server_ctx(NULL, &other, 1);
  lx_tls_ctx *cc = client_ctx(&o, lx_tls_ca_cert(ca));
  peer c, s;
  CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  CHECK_INT(lx_tls_verify_result(c.t, &err), LX_ERR_TLS_HOSTNAME_MISMATCH);
  CHECK(contains(err.detail, "hostname mismatch"));
  peer_free(&c);
  peer_free(&s);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

TEST(expired_certificate) {
  lx_tls_ctx *sc = server_ctx(NULL, &example, 1);
  lx_tls_ctx *cc = client_ctx(NULL, lx_tls_ca_cert(ca));
  peer c = {0}, s = {0};
  CHECK_INT(lx_tls_new(&c.t, cc, "example.com", NULL), 0);
  CHECK_INT(lx_tls_new(&s.t, sc, NULL, NULL), 0);
  /* verify as if 30 days had passed: the leaf is valid for 7 */
  X509_VERIFY_PARAM_set_time(SSL_get0_param(tls_ssl(c.t)),
                             time(NULL) + 30 * 86400);
  lx_tls_handshake(c.t);
  pump(&c, &s, SIZE_MAX);
  CHECK_INT(c.recv_rc, LX_ERR_TLS_CERT_INVALID);
  CHECK(contains(lx_tls_error(c.t)->detail, "expired"));
  peer_free(&c);
  peer_free(&s);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

TEST(client_needs_a_name_to_verify) {
  lx_tls_ctx *cc = client_ctx(NULL, lx_tls_ca_cert(ca));
  lx_tls *t = NULL;
  lx_error err;
  CHECK_INT(lx_tls_new(&t, cc, NULL, &err), LX_ERR_INVALID);
  CHECK(t == NULL);
  CHECK_INT(lx_tls_new(&t, cc, "", &err), LX_ERR_INVALID);
  lx_tls_ctx_free(cc);
}

/* ---- SNI ---------------------------------------------------------------- */

static int same_der(const lx_tls *t, const char *pem) {
  unsigned char *der = NULL, *mine = NULL;
  size_t len = 0;
  X509 *x = pem_x509(pem);
  int n = i2d_X509(x, &mine), same;
  CHECK_INT(lx_tls_peer_cert(t, &der, &len), 1);
  same = der && n > 0 && len == (size_t)n && memcmp(der, mine, len) == 0;
  free(der);
  OPENSSL_free(mine);
  X509_free(x);
  return same;
}

TEST(sni_chooses_certificate) {
  pair certs[3];
  certs[0] = example;
  certs[1] = bdom;
  certs[2] = wild;
  lx_tls_ctx *sc = server_ctx(NULL, certs, 3);
  lx_tls_ctx *cc = client_ctx(NULL, lx_tls_ca_cert(ca));
  lx_tls_opts o;
  lx_tls_opts_init(&o);
  o.verify = LX_TLS_VERIFY_NONE;
  lx_tls_ctx *lax = client_ctx(&o, lx_tls_ca_cert(ca));
  peer c, s;

  CHECK(connect_pair(&c, &s, cc, sc, "b.example", SIZE_MAX));
  CHECK(same_der(c.t, bdom.cert));
  CHECK_STR(lx_tls_server_name(s.t), "b.example");
  peer_free(&c);
  peer_free(&s);

  CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  CHECK(same_der(c.t, example.cert));
  peer_free(&c);
  peer_free(&s);

  CHECK(connect_pair(&c, &s, cc, sc, "muc.wild.example", SIZE_MAX));
  CHECK(same_der(c.t, wild.cert));
  peer_free(&c);
  peer_free(&s);

  /* unknown names get the default certificate, which then fails the
   * client's check */
  CHECK(!connect_pair(&c, &s, cc, sc, "unknown.example", SIZE_MAX));
  CHECK_INT(c.recv_rc, LX_ERR_TLS_HOSTNAME_MISMATCH);
  peer_free(&c);
  peer_free(&s);
  CHECK(connect_pair(&c, &s, lax, sc, "a.b.wild.example", SIZE_MAX));
  CHECK(same_der(c.t, example.cert));
  peer_free(&c);
  peer_free(&s);
  CHECK(connect_pair(&c, &s, lax, sc, NULL, SIZE_MAX)); /* no SNI */
  CHECK(same_der(c.t, example.cert));
  CHECK(lx_tls_server_name(s.t) == NULL);
  peer_free(&c);
  peer_free(&s);

  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
  lx_tls_ctx_free(lax);
}

/* ---- ALPN --------------------------------------------------------------- */

static lx_tls_ctx *with_alpn(lx_tls_ctx *c, const char *const *protos,
                             size_t n) {
  CHECK_INT(lx_tls_ctx_set_alpn(c, protos, n, NULL), 0);
  return c;
}

TEST(alpn) {
  static const char *const xc[] = {"xmpp-client"};
  static const char *const xs[] = {"xmpp-server"};
  static const char *const both[] = {"xmpp-server", "xmpp-client"};
  lx_tls_ctx *sc = with_alpn(server_ctx(NULL, &example, 1), both, 2);
  lx_tls_ctx *sc_xs = with_alpn(server_ctx(NULL, &example, 1), xs, 1);
  lx_tls_ctx *sc_none = server_ctx(NULL, &example, 1);
  lx_tls_ctx *cc = with_alpn(client_ctx(NULL, lx_tls_ca_cert(ca)), xc, 1);
  lx_tls_ctx *cc_none = client_ctx(NULL, lx_tls_ca_cert(ca));
  const char *proto;
  size_t len;
  peer c, s;

  CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  CHECK_INT(lx_tls_alpn(c.t, &proto, &len), 1);
  CHECK(len == 11 && memcmp(proto, "xmpp-client", 11) == 0);
  CHECK_INT(lx_tls_alpn(s.t, &proto, &len), 1);
  CHECK(len == 11 && memcmp(proto, "xmpp-client", 11) == 0);
  peer_free(&c);
  peer_free(&s);

  /* refused: the server speaks only xmpp-server */
  CHECK(!connect_pair(&c, &s, cc, sc_xs, "example.com", SIZE_MAX));
  CHECK_INT(s.recv_rc, LX_ERR_TLS_HANDSHAKE);
  CHECK_INT(c.recv_rc, LX_ERR_TLS_HANDSHAKE);
  CHECK(contains(lx_tls_error(c.t)->detail, "no application protocol"));
  peer_free(&c);
  peer_free(&s);

  /* absent: the client offers nothing, the server goes on without */
  CHECK(connect_pair(&c, &s, cc_none, sc, "example.com", SIZE_MAX));
  CHECK_INT(lx_tls_alpn(c.t, &proto, &len), 0);
  CHECK_INT(lx_tls_alpn(s.t, &proto, &len), 0);
  CHECK(proto == NULL && len == 0);
  peer_free(&c);
  peer_free(&s);

  /* absent: a server without ALPN ignores the offer */
  CHECK(connect_pair(&c, &s, cc, sc_none, "example.com", SIZE_MAX));
  CHECK_INT(lx_tls_alpn(c.t, &proto, &len), 0);
  peer_free(&c);
  peer_free(&s);

  static const char *const bad[] = {""};
  lx_tls_ctx *fresh = server_ctx(NULL, NULL, 0);
  CHECK_INT(lx_tls_ctx_set_alpn(fresh, bad, 1, NULL), LX_ERR_INVALID);
  lx_tls_ctx_free(fresh);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(sc_xs);
  lx_tls_ctx_free(sc_none);
  lx_tls_ctx_free(cc);
  lx_tls_ctx_free(cc_none);
}

/* ---- resumption --------------------------------------------------------- */

/* Connects, reads the tickets and returns the resumable session. */
static lx_tls_session *first_connection(lx_tls_ctx *cc, lx_tls_ctx *sc,
                                        const char *name) {
  lx_tls_session *sess = NULL;
  peer c, s;
  CHECK(connect_pair(&c, &s, cc, sc, name, SIZE_MAX));
  CHECK_INT(lx_tls_get_session(c.t, &sess), 1);
  CHECK_INT(lx_tls_resumed(c.t), 0);
  peer_free(&c);
  peer_free(&s);
  return sess;
}

static void check_resumes(lx_tls_ctx *cc, lx_tls_ctx *sc,
                          const lx_tls_session *sess) {
  peer c = {0}, s = {0};
  lx_error err;
  CHECK_INT(lx_tls_new(&c.t, cc, "example.com", NULL), 0);
  CHECK_INT(lx_tls_new(&s.t, sc, NULL, NULL), 0);
  CHECK_INT(lx_tls_set_session(c.t, sess, &err), 0);
  lx_tls_handshake(c.t);
  pump(&c, &s, SIZE_MAX);
  CHECK_INT(lx_tls_get_state(c.t), LX_TLS_OPEN);
  CHECK_INT(lx_tls_resumed(c.t), 1);
  CHECK_INT(lx_tls_resumed(s.t), 1);
  CHECK_INT(SSL_session_reused(tls_ssl(c.t)), 1);
  /* the original verdict and certificate carry over */
  CHECK_INT(lx_tls_verify_result(c.t, NULL), 0);
  CHECK(same_der(c.t, example.cert));
  CHECK_INT(lx_tls_set_session(c.t, sess, &err), LX_ERR_STATE);
  send_all(&c, &s, "again", 5, 5, SIZE_MAX);
  CHECK_INT(s.len, 5);
  peer_free(&c);
  peer_free(&s);
}

TEST(resumption_tls13) {
  lx_tls_ctx *sc = server_ctx(NULL, &example, 1);
  lx_tls_ctx *cc = client_ctx(NULL, lx_tls_ca_cert(ca));
  lx_tls_session *sess = first_connection(cc, sc, "example.com");
  peer c = {0};
  lx_error err;
  if (sess) {
    check_resumes(cc, sc, sess);
    /* a session belongs to its reference identity */
    CHECK_INT(lx_tls_new(&c.t, cc, "other.example", NULL), 0);
    CHECK_INT(lx_tls_set_session(c.t, sess, &err), LX_ERR_INVALID);
    peer_free(&c);
  }
  lx_tls_session_free(sess);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

TEST(resumption_tls12_tickets_and_cache) {
  lx_tls_opts o = opts_with(LX_TLS_V1_2);
  lx_tls_opts no_tickets;
  lx_tls_opts_init(&no_tickets);
  no_tickets.tickets = 0;
  lx_tls_ctx *sc = server_ctx(NULL, &example, 1);
  lx_tls_ctx *sc_cache = server_ctx(&no_tickets, &example, 1);
  lx_tls_ctx *cc = client_ctx(&o, lx_tls_ca_cert(ca));
  lx_tls_session *sess = first_connection(cc, sc, "example.com");
  if (sess)
    check_resumes(cc, sc, sess);
  lx_tls_session_free(sess);
  sess = first_connection(cc, sc_cache, "example.com");
  if (sess)
    check_resumes(cc, sc_cache, sess);
  lx_tls_session_free(sess);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(sc_cache);
  lx_tls_ctx_free(cc);
}

/* A session whose peer was not verified is refused where verification is
 * required, and accepted where it is off. */
TEST(resumption_needs_verified_peer) {
  lx_tls_opts o;
  lx_tls_opts_init(&o);
  o.verify = LX_TLS_VERIFY_NONE;
  lx_tls_ctx *sc = server_ctx(NULL, &selfsigned, 1);
  lx_tls_ctx *lax = client_ctx(&o, lx_tls_ca_cert(ca));
  lx_tls_ctx *strict = client_ctx(NULL, lx_tls_ca_cert(ca));
  lx_tls_session *sess = first_connection(lax, sc, "example.com");
  peer c = {0};
  lx_error err;
  if (sess) {
    CHECK_INT(lx_tls_new(&c.t, strict, "example.com", NULL), 0);
    CHECK_INT(lx_tls_set_session(c.t, sess, &err), LX_ERR_INVALID);
    peer_free(&c);
    CHECK_INT(lx_tls_new(&c.t, lax, "example.com", NULL), 0);
    CHECK_INT(lx_tls_set_session(c.t, sess, &err), 0);
    peer_free(&c);
  }
  lx_tls_session_free(sess);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(lax);
  lx_tls_ctx_free(strict);
}

/* The client keeps the session it took while the connection was healthy:
 * a cut afterwards (the reconnect case: no close_notify, OpenSSL then
 * treats the end as fatal) does not make it unresumable (RFC 5246 §7.2.1;
 * TLS 1.3 tickets stand alone). */
TEST(resumption_after_cut) {
  for (int v = LX_TLS_V1_2; v <= LX_TLS_V1_3; v++) {
    lx_tls_opts o = opts_with(v);
    lx_tls_ctx *sc = server_ctx(NULL, &example, 1);
    lx_tls_ctx *cc = client_ctx(&o, lx_tls_ca_cert(ca));
    lx_tls_session *sess = NULL, *after = (lx_tls_session *)1;
    peer c, s;
    CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
    CHECK_INT(lx_tls_get_session(c.t, &sess), 1);
    CHECK_INT(lx_tls_recv_eof(c.t), 0);
    drain(&c);
    CHECK_INT(c.read_rc, LX_ERR_TLS_TRUNCATED);
    /* the cut connection itself offers nothing any more */
    CHECK_INT(lx_tls_get_session(c.t, &after), 0);
    peer_free(&c);
    peer_free(&s);
    if (sess)
      check_resumes(cc, sc, sess);
    lx_tls_session_free(sess);
    lx_tls_ctx_free(sc);
    lx_tls_ctx_free(cc);
  }
}

/* Ticket keys are made at random per context: a session from one server
 * context is not resumed by another with the same certificate (another
 * process, or a context per connection), which makes a full handshake. */
TEST(tickets_are_per_context) {
  for (int v = LX_TLS_V1_2; v <= LX_TLS_V1_3; v++) {
    lx_tls_opts co = opts_with(v);
    lx_tls_ctx *sc = server_ctx(NULL, &example, 1);
    lx_tls_ctx *second_sc = server_ctx(NULL, &example, 1);
    lx_tls_ctx *cc = client_ctx(&co, lx_tls_ca_cert(ca));
    lx_tls_session *sess = first_connection(cc, sc, "example.com");
    peer c = {0}, s = {0};
    CHECK_INT(lx_tls_new(&c.t, cc, "example.com", NULL), 0);
    CHECK_INT(lx_tls_new(&s.t, second_sc, NULL, NULL), 0);
    if (sess)
      CHECK_INT(lx_tls_set_session(c.t, sess, NULL), 0);
    lx_tls_handshake(c.t);
    pump(&c, &s, SIZE_MAX);
    CHECK_INT(lx_tls_get_state(c.t), LX_TLS_OPEN);
    CHECK_INT(lx_tls_resumed(c.t), 0);
    CHECK_INT(lx_tls_verify_result(c.t, NULL), 0);
    peer_free(&c);
    peer_free(&s);
    if (sess) /* the context that issued it still resumes it */
      check_resumes(cc, sc, sess);
    lx_tls_session_free(sess);
    lx_tls_ctx_free(sc);
    lx_tls_ctx_free(second_sc);
    lx_tls_ctx_free(cc);
  }
}

/* A server without tickets and without a session cache resumes nothing:
 * the client falls back to a full handshake, verified again. */
TEST(no_resumption_without_tickets_or_cache) {
  lx_tls_opts o;
  lx_tls_opts_init(&o);
  o.tickets = 0;
  o.session_cache = 0;
  for (int v = LX_TLS_V1_2; v <= LX_TLS_V1_3; v++) {
    lx_tls_opts co = opts_with(v);
    lx_tls_ctx *sc = server_ctx(&o, &example, 1);
    lx_tls_ctx *cc = client_ctx(&co, lx_tls_ca_cert(ca));
    lx_tls_session *sess = NULL;
    peer c = {0}, s = {0};
    CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
    lx_tls_get_session(c.t, &sess);
    peer_free(&c);
    peer_free(&s);
    CHECK_INT(lx_tls_new(&c.t, cc, "example.com", NULL), 0);
    CHECK_INT(lx_tls_new(&s.t, sc, NULL, NULL), 0);
    if (sess)
      CHECK_INT(lx_tls_set_session(c.t, sess, NULL), 0);
    lx_tls_handshake(c.t);
    pump(&c, &s, SIZE_MAX);
    CHECK_INT(lx_tls_get_state(c.t), LX_TLS_OPEN);
    CHECK_INT(lx_tls_resumed(c.t), 0);
    CHECK_INT(lx_tls_resumed(s.t), 0);
    CHECK_INT(lx_tls_verify_result(c.t, NULL), 0);
    peer_free(&c);
    peer_free(&s);
    lx_tls_session_free(sess);
    lx_tls_ctx_free(sc);
    lx_tls_ctx_free(cc);
  }
}

TEST(no_session_before_handshake) {
  lx_tls_ctx *cc = client_ctx(NULL, lx_tls_ca_cert(ca));
  lx_tls_ctx *sc = server_ctx(NULL, &example, 1);
  lx_tls_session *sess = (lx_tls_session *)1;
  peer c = {0}, s = {0};
  CHECK_INT(lx_tls_new(&c.t, cc, "example.com", NULL), 0);
  CHECK_INT(lx_tls_get_session(c.t, &sess), 0);
  CHECK(sess == NULL);
  CHECK_INT(lx_tls_new(&s.t, sc, NULL, NULL), 0);
  CHECK_INT(lx_tls_set_session(s.t, NULL, NULL), LX_ERR_INVALID);
  peer_free(&c);
  peer_free(&s);
  lx_tls_ctx_free(cc);
  lx_tls_ctx_free(sc);
}

/* ---- channel bindings --------------------------------------------------- */

static size_t cb(const lx_tls *t, lx_tls_cb_type type, unsigned char *out,
                 int expect) {
  size_t len = 0;
  lx_error err;
  CHECK_INT(lx_tls_channel_binding(t, type, out, LX_TLS_CB_MAX, &len, &err),
            expect);
  return len;
}

static void sha256_of_der(const char *pem, unsigned char out[32]) {
  X509 *x = pem_x509(pem);
  unsigned char *der = NULL;
  int n = i2d_X509(x, &der);
  unsigned int len = 0;
  EVP_Digest(der, (size_t)n, out, &len, EVP_sha256(), NULL);
  OPENSSL_free(der);
  X509_free(x);
}

TEST(channel_binding_tls13) {
  lx_tls_ctx *sc = server_ctx(NULL, &example, 1);
  lx_tls_ctx *cc = client_ctx(NULL, lx_tls_ca_cert(ca));
  unsigned char a[LX_TLS_CB_MAX], b[LX_TLS_CB_MAX], first[32], want[32];
  static const unsigned char zero[32];
  peer c, s;
  lx_error err;

  CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  CHECK_INT(cb(c.t, LX_TLS_CB_EXPORTER, a, 0), 32);
  CHECK_INT(cb(s.t, LX_TLS_CB_EXPORTER, b, 0), 32);
  CHECK(memcmp(a, b, 32) == 0);
  CHECK(memcmp(a, zero, 32) != 0);
  memcpy(first, a, 32);

  sha256_of_der(example.cert, want);
  CHECK_INT(cb(c.t, LX_TLS_CB_SERVER_END_POINT, a, 0), 32);
  CHECK_INT(cb(s.t, LX_TLS_CB_SERVER_END_POINT, b, 0), 32);
  CHECK(memcmp(a, want, 32) == 0);
  CHECK(memcmp(b, want, 32) == 0);

  cb(c.t, LX_TLS_CB_UNIQUE, a, LX_ERR_TLS_CB_UNAVAILABLE);
  cb(s.t, LX_TLS_CB_UNIQUE, a, LX_ERR_TLS_CB_UNAVAILABLE);
  size_t len;
  CHECK_INT(
      lx_tls_channel_binding(c.t, LX_TLS_CB_UNIQUE, a, sizeof a, &len, &err),
      LX_ERR_TLS_CB_UNAVAILABLE);
  CHECK(contains(err.detail, "TLS 1.3"));
  CHECK_INT(lx_tls_channel_binding(c.t, LX_TLS_CB_EXPORTER, a, 31, &len, &err),
            LX_ERR_INVALID);
  CHECK_INT(
      lx_tls_channel_binding(c.t, (lx_tls_cb_type)9, a, sizeof a, &len, &err),
      LX_ERR_INVALID);
  peer_free(&c);
  peer_free(&s);

  /* another connection, another exporter value */
  CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  CHECK_INT(cb(c.t, LX_TLS_CB_EXPORTER, a, 0), 32);
  CHECK(memcmp(a, first, 32) != 0);
  peer_free(&c);
  peer_free(&s);

  /* nothing before the handshake */
  CHECK_INT(lx_tls_new(&c.t, cc, "example.com", NULL), 0);
  CHECK_INT(
      lx_tls_channel_binding(c.t, LX_TLS_CB_EXPORTER, a, sizeof a, &len, &err),
      LX_ERR_STATE);
  peer_free(&c);

  CHECK_STR(lx_tls_cb_name(LX_TLS_CB_EXPORTER), "tls-exporter");
  CHECK_STR(lx_tls_cb_name(LX_TLS_CB_SERVER_END_POINT), "tls-server-end-point");
  CHECK_STR(lx_tls_cb_name(LX_TLS_CB_UNIQUE), "tls-unique");
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

TEST(channel_binding_tls12_ems) {
  lx_tls_opts o = opts_with(LX_TLS_V1_2);
  lx_tls_ctx *sc = server_ctx(NULL, &example, 1);
  lx_tls_ctx *cc = client_ctx(&o, lx_tls_ca_cert(ca));
  unsigned char a[LX_TLS_CB_MAX], b[LX_TLS_CB_MAX], fin[64];
  lx_tls_session *sess = NULL;
  peer c, s;

  CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  CHECK_INT(SSL_get_extms_support(tls_ssl(c.t)), 1);
  CHECK_INT(cb(c.t, LX_TLS_CB_UNIQUE, a, 0), 12);
  CHECK_INT(cb(s.t, LX_TLS_CB_UNIQUE, b, 0), 12);
  CHECK(memcmp(a, b, 12) == 0);
  /* a full handshake: the client's Finished came first */
  CHECK_INT(SSL_get_finished(tls_ssl(c.t), fin, sizeof fin), 12);
  CHECK(memcmp(a, fin, 12) == 0);
  CHECK_INT(cb(c.t, LX_TLS_CB_EXPORTER, a, 0), 32);
  CHECK_INT(cb(s.t, LX_TLS_CB_EXPORTER, b, 0), 32);
  CHECK(memcmp(a, b, 32) == 0);
  CHECK_INT(cb(c.t, LX_TLS_CB_SERVER_END_POINT, a, 0), 32);
  CHECK_INT(cb(s.t, LX_TLS_CB_SERVER_END_POINT, b, 0), 32);
  CHECK(memcmp(a, b, 32) == 0);
  CHECK_INT(lx_tls_get_session(c.t, &sess), 1);
  peer_free(&c);
  peer_free(&s);

  /* resumed: the server's Finished came first */
  memset(&c, 0, sizeof c);
  memset(&s, 0, sizeof s);
  CHECK_INT(lx_tls_new(&c.t, cc, "example.com", NULL), 0);
  CHECK_INT(lx_tls_new(&s.t, sc, NULL, NULL), 0);
  CHECK_INT(lx_tls_set_session(c.t, sess, NULL), 0);
  lx_tls_handshake(c.t);
  pump(&c, &s, SIZE_MAX);
  CHECK_INT(lx_tls_resumed(c.t), 1);
  CHECK_INT(cb(c.t, LX_TLS_CB_UNIQUE, a, 0), 12);
  CHECK_INT(cb(s.t, LX_TLS_CB_UNIQUE, b, 0), 12);
  CHECK(memcmp(a, b, 12) == 0);
  CHECK_INT(SSL_get_finished(tls_ssl(s.t), fin, sizeof fin), 12);
  CHECK(memcmp(a, fin, 12) == 0);
  peer_free(&c);
  peer_free(&s);
  lx_tls_session_free(sess);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

TEST(channel_binding_tls12_without_ems) {
  lx_tls_opts o = opts_with(LX_TLS_V1_2);
  lx_tls_ctx *sc = server_ctx(NULL, &example, 1);
  lx_tls_ctx *cc = client_ctx(&o, lx_tls_ca_cert(ca));
  unsigned char a[LX_TLS_CB_MAX], b[LX_TLS_CB_MAX];
  size_t len;
  lx_error err;
  peer c, s;
  SSL_CTX_set_options(tls_ctx_ssl(cc), SSL_OP_NO_EXTENDED_MASTER_SECRET);
  CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  CHECK_INT(SSL_get_extms_support(tls_ssl(c.t)), 0);
  cb(c.t, LX_TLS_CB_UNIQUE, a, LX_ERR_TLS_CB_UNAVAILABLE);
  cb(s.t, LX_TLS_CB_UNIQUE, a, LX_ERR_TLS_CB_UNAVAILABLE);
  CHECK_INT(
      lx_tls_channel_binding(c.t, LX_TLS_CB_EXPORTER, a, sizeof a, &len, &err),
      LX_ERR_TLS_CB_UNAVAILABLE);
  CHECK(contains(err.detail, "Extended Master Secret"));
  cb(s.t, LX_TLS_CB_EXPORTER, a, LX_ERR_TLS_CB_UNAVAILABLE);
  CHECK_INT(cb(c.t, LX_TLS_CB_SERVER_END_POINT, a, 0), 32);
  CHECK_INT(cb(s.t, LX_TLS_CB_SERVER_END_POINT, b, 0), 32);
  CHECK(memcmp(a, b, 32) == 0);
  peer_free(&c);
  peer_free(&s);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

/* Ed25519 signatures have no separate hash: tls-server-end-point is not
 * defined (RFC 5929 §4.1). */
TEST(channel_binding_ed25519) {
  lx_tls_ctx *sc = server_ctx(NULL, &ed25519, 1);
  lx_tls_ctx *cc = client_ctx(NULL, ed25519.cert);
  unsigned char a[LX_TLS_CB_MAX];
  peer c, s;
  CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  cb(c.t, LX_TLS_CB_SERVER_END_POINT, a, LX_ERR_TLS_CB_UNAVAILABLE);
  cb(s.t, LX_TLS_CB_SERVER_END_POINT, a, LX_ERR_TLS_CB_UNAVAILABLE);
  CHECK_INT(cb(c.t, LX_TLS_CB_EXPORTER, a, 0), 32);
  peer_free(&c);
  peer_free(&s);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

/* The hash follows the certificate's signature: SHA-384 stays, SHA-1 is
 * upgraded to SHA-256. */
static X509 *signed_with(EVP_PKEY *key, const EVP_MD *md) {
  X509 *x = X509_new();
  X509_NAME *n = X509_get_subject_name(x);
  X509_set_version(x, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                             (const unsigned char *)"hash.example", -1, -1, 0);
  X509_set_issuer_name(x, n);
  X509_set_pubkey(x, key);
  X509_sign(x, key, md);
  return x;
}

TEST(end_point_hash_choice) {
  EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
  X509 *x384 = signed_with(key, EVP_sha384());
  X509 *x1 = signed_with(key, EVP_sha1());
  unsigned char out[EVP_MAX_MD_SIZE], want[EVP_MAX_MD_SIZE];
  unsigned int wlen = 0;
  size_t len = 0;
  CHECK_INT(tls_end_point_hash(x384, out, &len, NULL), 0);
  X509_digest(x384, EVP_sha384(), want, &wlen);
  CHECK_INT(len, 48);
  CHECK(len == wlen && memcmp(out, want, len) == 0);
  CHECK_INT(tls_end_point_hash(x1, out, &len, NULL), 0);
  X509_digest(x1, EVP_sha256(), want, &wlen);
  CHECK_INT(len, 32);
  CHECK(len == wlen && memcmp(out, want, len) == 0);
  X509_free(x384);
  X509_free(x1);
  EVP_PKEY_free(key);
}

/* ---- application data ---------------------------------------------------- */

static char *pattern(size_t len, unsigned seed) {
  char *p = malloc(len);
  for (size_t i = 0; i < len; i++)
    p[i] = (char)((i * 31 + seed) % 251);
  return p;
}

TEST(large_data_small_pieces) {
  const size_t size = 1 << 20;
  lx_tls_ctx *sc = server_ctx(NULL, &example, 1);
  lx_tls_ctx *cc = client_ctx(NULL, lx_tls_ca_cert(ca));
  char *up = pattern(size, 7), *down = pattern(size, 13);
  peer c, s;
  CHECK(connect_pair(&c, &s, cc, sc, "example.com", 1000));
  send_all(&c, &s, up, size, 997, 1500);
  send_all(&s, &c, down, size, 4093, 700);
  CHECK_INT(s.len, size);
  CHECK(s.len == size && memcmp(s.got, up, size) == 0);
  CHECK_INT(c.len, size);
  CHECK(c.len == size && memcmp(c.got, down, size) == 0);
  peer_free(&c);
  peer_free(&s);
  free(up);
  free(down);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

/* An idle session gives OpenSSL's buffers back; data flows on after. */
TEST(trim_idle_session) {
  lx_tls_ctx *sc = server_ctx(NULL, &example, 1);
  lx_tls_ctx *cc = client_ctx(NULL, lx_tls_ca_cert(ca));
  char *up = pattern(50000, 3);
  peer c, s;
  CHECK(connect_pair(&c, &s, cc, sc, "example.com", 1000));
  send_all(&c, &s, up, 20000, 997, 1500);
  CHECK_INT(lx_tls_trim(c.t), 1);
  CHECK_INT(lx_tls_trim(s.t), 1);
  send_all(&c, &s, up + 20000, 30000, 4093, 700);
  CHECK(s.len == 50000 && memcmp(s.got, up, 50000) == 0);
  peer_free(&c);
  peer_free(&s);
  free(up);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

/* The handshake and the data fed one byte at a time give the same
 * plaintext as fed whole. */
TEST(byte_at_a_time) {
  const size_t size = 40000;
  lx_tls_ctx *sc = server_ctx(NULL, &example, 1);
  lx_tls_ctx *cc = client_ctx(NULL, lx_tls_ca_cert(ca));
  char *data = pattern(size, 3);
  peer c, s;
  CHECK(connect_pair(&c, &s, cc, sc, "example.com", 1));
  send_all(&c, &s, data, size, size, 1);
  send_all(&s, &c, data, size, 20000, 1);
  CHECK(s.len == size && memcmp(s.got, data, size) == 0);
  CHECK(c.len == size && memcmp(c.got, data, size) == 0);
  peer_free(&c);
  peer_free(&s);
  free(data);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

/* Nothing grows past the limits: writes stop at max_send_bytes of pending
 * ciphertext, receives at max_recv_bytes of unread ciphertext. */
TEST(bounded_buffers) {
  const size_t size = 1 << 20;
  lx_tls_opts o;
  lx_tls_opts_init(&o);
  lx_tls_ctx *sc = server_ctx(&o, &example, 1);
  lx_tls_ctx *cc = client_ctx(&o, lx_tls_ca_cert(ca));
  char *data = pattern(size, 5);
  const char *p;
  peer c, s;
  CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  ssize_t k = lx_tls_write(c.t, data, size);
  CHECK(k > 0 && (size_t)k < size);
  size_t pending = lx_tls_peek_send(c.t, &p);
  CHECK(pending >= o.max_send_bytes);
  CHECK(pending <= o.max_send_bytes + 16384 + 256);
  CHECK_INT(lx_tls_write(c.t, data + k, size - (size_t)k), 0);
  /* the server takes no more than max_recv_bytes until it reads */
  ssize_t r = lx_tls_recv(s.t, p, pending);
  CHECK(r > 0 && (size_t)r <= o.max_recv_bytes);
  CHECK_INT(lx_tls_recv(s.t, p + r, pending - (size_t)r), 0);
  lx_tls_consume_send(c.t, (size_t)r);
  pump(&c, &s, SIZE_MAX);
  CHECK_INT(s.len, k);
  send_all(&c, &s, data + k, size - (size_t)k, size, SIZE_MAX);
  CHECK(s.len == size && memcmp(s.got, data, size) == 0);
  peer_free(&c);
  peer_free(&s);
  free(data);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

/* ---- closing ------------------------------------------------------------ */

TEST(close_notify_both_ways) {
  lx_tls_ctx *sc = server_ctx(NULL, &example, 1);
  lx_tls_ctx *cc = client_ctx(NULL, lx_tls_ca_cert(ca));
  peer c, s;
  CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  CHECK_INT(lx_tls_write(c.t, "</stream:stream>", 16), 16);
  CHECK_INT(lx_tls_close(c.t), 0);
  CHECK_INT(lx_tls_close(c.t), 0);
  CHECK_INT(lx_tls_write(c.t, "x", 1), LX_ERR_STATE);
  pump(&c, &s, SIZE_MAX);
  /* the data before the close arrives, then the clean close */
  CHECK_INT(s.len, 16);
  CHECK_INT(s.read_rc, LX_ERR_TLS_CLOSED);
  CHECK_INT(lx_tls_get_state(s.t), LX_TLS_CLOSED);
  CHECK_INT(c.read_rc, 0);
  /* the server may still answer, then closes too */
  CHECK_INT(lx_tls_write(s.t, "</stream:stream>", 16), 16);
  CHECK_INT(lx_tls_close(s.t), 0);
  pump(&c, &s, SIZE_MAX);
  CHECK_INT(c.len, 16);
  CHECK_INT(c.read_rc, LX_ERR_TLS_CLOSED);
  CHECK_INT(lx_tls_get_state(c.t), LX_TLS_CLOSED);
  /* the transport's end changes nothing after a clean close */
  CHECK_INT(lx_tls_recv_eof(c.t), 0);
  CHECK_INT(lx_tls_read(c.t, (char[8]){0}, 8), LX_ERR_TLS_CLOSED);
  CHECK_INT(lx_tls_recv_eof(s.t), 0);
  CHECK_INT(lx_tls_read(s.t, (char[8]){0}, 8), LX_ERR_TLS_CLOSED);
  peer_free(&c);
  peer_free(&s);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

TEST(truncation) {
  lx_tls_ctx *sc = server_ctx(NULL, &example, 1);
  lx_tls_ctx *cc = client_ctx(NULL, lx_tls_ca_cert(ca));
  char tmp[64];
  const char *p;
  size_t n;
  peer c, s;

  /* the ciphertext stops in the middle of a record */
  CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  CHECK_INT(lx_tls_write(c.t, "hello", 5), 5);
  CHECK_INT(lx_tls_close(c.t), 0);
  n = lx_tls_peek_send(c.t, &p);
  CHECK_INT(lx_tls_recv(s.t, p, n - 10), n - 10);
  CHECK_INT(lx_tls_recv_eof(s.t), 0);
  CHECK_INT(lx_tls_recv(s.t, p + n - 10, 10), LX_ERR_STATE);
  CHECK_INT(lx_tls_read(s.t, tmp, sizeof tmp), 5); /* what arrived whole */
  CHECK_INT(lx_tls_read(s.t, tmp, sizeof tmp), LX_ERR_TLS_TRUNCATED);
  CHECK_INT(lx_tls_get_state(s.t), LX_TLS_FAILED);
  peer_free(&c);
  peer_free(&s);

  /* the ciphertext stops between records, without close_notify */
  CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  send_all(&c, &s, "hello", 5, 5, SIZE_MAX);
  CHECK_INT(s.len, 5);
  CHECK_INT(lx_tls_recv_eof(s.t), 0);
  CHECK_INT(lx_tls_read(s.t, tmp, sizeof tmp), LX_ERR_TLS_TRUNCATED);
  CHECK(contains(lx_tls_error(s.t)->detail, "close_notify"));
  peer_free(&c);
  peer_free(&s);

  /* the connection ends during the handshake */
  memset(&c, 0, sizeof c);
  CHECK_INT(lx_tls_new(&c.t, cc, "example.com", NULL), 0);
  CHECK_INT(lx_tls_handshake(c.t), 0);
  CHECK_INT(lx_tls_recv_eof(c.t), LX_ERR_TLS_HANDSHAKE);
  peer_free(&c);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

/* ---- garbage ------------------------------------------------------------- */

TEST(garbage_ciphertext) {
  static const char http[] = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
  static const char bad_record[] = "\x16\x03\x01\x00\x05\xff\xff\xff\xff\xff";
  lx_tls_ctx *sc = server_ctx(NULL, &example, 1);
  lx_tls_ctx *cc = client_ctx(NULL, lx_tls_ca_cert(ca));
  char tmp[64];
  peer c = {0}, s = {0};

  CHECK_INT(lx_tls_new(&s.t, sc, NULL, NULL), 0);
  CHECK_INT(lx_tls_recv(s.t, http, sizeof http - 1), LX_ERR_TLS_HANDSHAKE);
  CHECK_INT(lx_tls_get_state(s.t), LX_TLS_FAILED);
  CHECK(lx_tls_error(s.t)->detail[0] != '\0');
  CHECK_INT(lx_tls_recv(s.t, http, 4), LX_ERR_TLS_HANDSHAKE);
  CHECK_INT(lx_tls_read(s.t, tmp, sizeof tmp), LX_ERR_TLS_HANDSHAKE);
  CHECK_INT(lx_tls_close(s.t), LX_ERR_TLS_HANDSHAKE);
  peer_free(&s);

  CHECK_INT(lx_tls_new(&s.t, sc, NULL, NULL), 0);
  CHECK_INT(lx_tls_recv(s.t, bad_record, sizeof bad_record - 1),
            LX_ERR_TLS_HANDSHAKE);
  peer_free(&s);

  /* a client answered with garbage */
  CHECK_INT(lx_tls_new(&c.t, cc, "example.com", NULL), 0);
  CHECK_INT(lx_tls_handshake(c.t), 0);
  CHECK_INT(lx_tls_recv(c.t, http, sizeof http - 1), LX_ERR_TLS_HANDSHAKE);
  peer_free(&c);

  /* garbage after the handshake is a protocol error, not a crash */
  CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  CHECK_INT(lx_tls_recv(s.t,
                        "\x17\x03\x03\x00\x20garbagegarbagegarbagegarbage!!!!",
                        37),
            37);
  CHECK_INT(lx_tls_read(s.t, tmp, sizeof tmp), LX_ERR_TLS_PROTOCOL);
  peer_free(&c);
  peer_free(&s);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

/* ---- client certificates ------------------------------------------------- */

static lx_tls_ctx *client_with_cert(const pair *p) {
  lx_tls_ctx *c = client_ctx(NULL, lx_tls_ca_cert(ca));
  CHECK_INT(lx_tls_ctx_add_cert(c, p->cert, strlen(p->cert), p->key,
                                strlen(p->key), NULL),
            0);
  return c;
}

TEST(client_certificate) {
  lx_tls_opts req, opt;
  lx_tls_opts_init(&req);
  req.verify = LX_TLS_VERIFY_REQUIRED;
  lx_tls_opts_init(&opt);
  opt.verify = LX_TLS_VERIFY_OPTIONAL;
  lx_tls_ctx *sc = server_ctx(&req, &example, 1);
  lx_tls_ctx *sc_opt = server_ctx(&opt, &example, 1);
  CHECK_INT(lx_tls_ctx_add_ca(sc, lx_tls_ca_cert(ca),
                              strlen(lx_tls_ca_cert(ca)), NULL),
            0);
  CHECK_INT(lx_tls_ctx_add_ca(sc_opt, lx_tls_ca_cert(ca),
                              strlen(lx_tls_ca_cert(ca)), NULL),
            0);
  lx_tls_ctx *cc = client_with_cert(&juliet);
  lx_tls_ctx *cc_untrusted = client_with_cert(&juliet_untrusted);
  lx_tls_ctx *cc_none = client_ctx(NULL, lx_tls_ca_cert(ca));
  lx_tls_name_type type;
  const char *value;
  lx_error err;
  peer c, s;

  CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  CHECK_INT(lx_tls_verify_result(s.t, &err), 0);
  CHECK(same_der(s.t, juliet.cert));
  CHECK_INT(lx_tls_peer_name(s.t, 0, &type, &value), 1);
  CHECK_INT(type, LX_TLS_NAME_XMPP_ADDR);
  CHECK_STR(value, "juliet@example.com");
  CHECK_INT(lx_tls_peer_name(s.t, 1, &type, &value), 0);
  /* and the client sees the server's DNS name */
  CHECK_INT(lx_tls_peer_name(c.t, 0, &type, &value), 1);
  CHECK_INT(type, LX_TLS_NAME_DNS);
  CHECK_STR(value, "example.com");
  send_all(&c, &s, "<auth mechanism='EXTERNAL'>=</auth>", 35, 35, SIZE_MAX);
  CHECK_INT(s.len, 35);
  peer_free(&c);
  peer_free(&s);

  /* required but absent: the server refuses */
  connect_pair(&c, &s, cc_none, sc, "example.com", SIZE_MAX);
  CHECK_INT(s.recv_rc, LX_ERR_TLS_CERT_INVALID);
  CHECK(contains(lx_tls_error(s.t)->detail, "no certificate"));
  CHECK_INT(lx_tls_get_state(c.t), LX_TLS_FAILED);
  peer_free(&c);
  peer_free(&s);

  /* required but from an unknown CA */
  connect_pair(&c, &s, cc_untrusted, sc, "example.com", SIZE_MAX);
  CHECK_INT(s.recv_rc, LX_ERR_TLS_CERT_INVALID);
  CHECK_INT(lx_tls_get_state(c.t), LX_TLS_FAILED);
  peer_free(&c);
  peer_free(&s);

  /* optional: the handshake completes, the verdict is reported */
  CHECK(connect_pair(&c, &s, cc_untrusted, sc_opt, "example.com", SIZE_MAX));
  CHECK_INT(lx_tls_verify_result(s.t, &err), LX_ERR_TLS_CERT_INVALID);
  CHECK(same_der(s.t, juliet_untrusted.cert));
  peer_free(&c);
  peer_free(&s);
  CHECK(connect_pair(&c, &s, cc_none, sc_opt, "example.com", SIZE_MAX));
  CHECK_INT(lx_tls_verify_result(s.t, &err), LX_ERR_TLS_CERT_INVALID);
  unsigned char *der = (unsigned char *)1;
  size_t len = 1;
  CHECK_INT(lx_tls_peer_cert(s.t, &der, &len), 0);
  CHECK(der == NULL && len == 0);
  CHECK_INT(lx_tls_peer_name(s.t, 0, &type, &value), 0);
  peer_free(&c);
  peer_free(&s);

  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(sc_opt);
  lx_tls_ctx_free(cc);
  lx_tls_ctx_free(cc_untrusted);
  lx_tls_ctx_free(cc_none);
}

/* A server that knows whom to expect (s2s: the stream's from) checks the
 * client certificate's name too. */
TEST(server_checks_client_domain) {
  lx_tls_opts req;
  lx_tls_opts_init(&req);
  req.verify = LX_TLS_VERIFY_REQUIRED;
  lx_tls_ctx *sc = server_ctx(&req, &example, 1);
  CHECK_INT(lx_tls_ctx_add_ca(sc, lx_tls_ca_cert(ca),
                              strlen(lx_tls_ca_cert(ca)), NULL),
            0);
  lx_tls_ctx *cc = client_with_cert(&bdom);
  const char *expect[] = {"b.example", "c.example"};
  for (int i = 0; i < 2; i++) {
    peer c = {0}, s = {0};
    CHECK_INT(lx_tls_new(&c.t, cc, "example.com", NULL), 0);
    CHECK_INT(lx_tls_new(&s.t, sc, expect[i], NULL), 0);
    lx_tls_handshake(c.t);
    pump(&c, &s, SIZE_MAX);
    if (i == 0) {
      CHECK_INT(lx_tls_get_state(s.t), LX_TLS_OPEN);
      CHECK_INT(lx_tls_verify_result(s.t, NULL), 0);
    } else {
      CHECK_INT(s.recv_rc, LX_ERR_TLS_HOSTNAME_MISMATCH);
    }
    peer_free(&c);
    peer_free(&s);
  }
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

/* ---- renegotiation ---------------------------------------------------------
 */

/* A peer that tries to renegotiate (RFC 6120 §5.3.5 forbids it) gets
 * nowhere: no second handshake happens on either side. */
TEST(no_renegotiation) {
  lx_tls_opts o = opts_with(LX_TLS_V1_2);
  lx_tls_ctx *sc = server_ctx(NULL, &example, 1);
  lx_tls_ctx *cc = client_ctx(&o, lx_tls_ca_cert(ca));
  unsigned char before[64], after[64];
  size_t n;
  peer c, s;

  /* the client asks: our server refuses */
  CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  SSL *raw = tls_ssl(c.t);
  n = SSL_get_peer_finished(tls_ssl(s.t), before, sizeof before);
  SSL_clear_options(raw, SSL_OP_NO_RENEGOTIATION);
  CHECK_INT(SSL_renegotiate(raw), 1);
  SSL_do_handshake(raw); /* queues a new ClientHello */
  pump(&c, &s, SIZE_MAX);
  CHECK_INT(SSL_get_peer_finished(tls_ssl(s.t), after, sizeof after), n);
  CHECK(memcmp(before, after, n) == 0);
  CHECK(contains(lx_tls_error(c.t)->detail, "no renegotiation"));
  peer_free(&c);
  peer_free(&s);

  /* the server asks (HelloRequest): our client answers no_renegotiation */
  CHECK(connect_pair(&c, &s, cc, sc, "example.com", SIZE_MAX));
  raw = tls_ssl(s.t);
  n = SSL_get_finished(tls_ssl(c.t), before, sizeof before);
  SSL_clear_options(raw, SSL_OP_NO_RENEGOTIATION);
  CHECK_INT(SSL_renegotiate(raw), 1);
  SSL_do_handshake(raw); /* queues a HelloRequest */
  pump(&c, &s, SIZE_MAX);
  CHECK_INT(SSL_get_finished(tls_ssl(c.t), after, sizeof after), n);
  CHECK(memcmp(before, after, n) == 0);
  /* the refusal reached the server, which gave up the connection */
  CHECK(contains(lx_tls_error(s.t)->detail, "no renegotiation"));
  CHECK_INT(c.read_rc, LX_ERR_TLS_PROTOCOL);
  peer_free(&c);
  peer_free(&s);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
}

/* ---- configuration and misuse -------------------------------------------- */

static char *encrypted_key(const char *pem) {
  BIO *in = BIO_new_mem_buf(pem, -1), *out = BIO_new(BIO_s_mem());
  EVP_PKEY *k = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
  char *data, *s;
  long n;
  PEM_write_bio_PKCS8PrivateKey(out, k, EVP_aes_128_cbc(), "secret", 6, NULL,
                                NULL);
  n = BIO_get_mem_data(out, &data);
  s = malloc((size_t)n + 1);
  memcpy(s, data, (size_t)n);
  s[n] = '\0';
  EVP_PKEY_free(k);
  BIO_free(in);
  BIO_free(out);
  return s;
}

TEST(configuration_errors) {
  lx_tls_ctx *c = NULL, *cc = NULL;
  lx_tls *t = NULL;
  lx_tls_opts o;
  lx_error err;
  char *enc = encrypted_key(example.key);

  lx_tls_opts_init(&o);
  o.min_version = 0x0301;
  CHECK_INT(lx_tls_ctx_new(&c, LX_TLS_CLIENT, &o, &err), LX_ERR_INVALID);
  CHECK(c == NULL);
  lx_tls_opts_init(&o);
  o.max_version = LX_TLS_V1_2;
  o.min_version = LX_TLS_V1_3;
  CHECK_INT(lx_tls_ctx_new(&c, LX_TLS_CLIENT, &o, &err), LX_ERR_INVALID);
  lx_tls_opts_init(&o);
  o.ciphers = "NOTHING-AT-ALL";
  CHECK_INT(lx_tls_ctx_new(&c, LX_TLS_CLIENT, &o, &err), LX_ERR_INVALID);
  CHECK_INT(lx_tls_ctx_new(&c, (lx_tls_role)7, NULL, &err), LX_ERR_INVALID);

  CHECK_INT(lx_tls_ctx_new(&c, LX_TLS_SERVER, NULL, &err), 0);
  /* a server needs a certificate before its first session */
  CHECK_INT(lx_tls_new(&t, c, NULL, &err), LX_ERR_STATE);
  CHECK_INT(
      lx_tls_ctx_add_cert(c, "junk", 4, example.key, strlen(example.key), &err),
      LX_ERR_INVALID);
  CHECK_INT(lx_tls_ctx_add_cert(c, example.cert, strlen(example.cert), "junk",
                                4, &err),
            LX_ERR_INVALID);
  CHECK_INT(lx_tls_ctx_add_cert(c, example.cert, strlen(example.cert),
                                other.key, strlen(other.key), &err),
            LX_ERR_INVALID);
  CHECK(contains(err.detail, "does not match"));
  CHECK_INT(lx_tls_ctx_add_cert(c, example.cert, strlen(example.cert), enc,
                                strlen(enc), &err),
            LX_ERR_INVALID);
  CHECK_INT(lx_tls_ctx_add_ca(c, "junk", 4, &err), LX_ERR_INVALID);
  CHECK_INT(lx_tls_ctx_add_ca_file(c, "/nonexistent/ca.pem", &err),
            LX_ERR_INVALID);
  CHECK_INT(lx_tls_ctx_add_cert_file(c, "/nonexistent/c.pem",
                                     "/nonexistent/k.pem", &err),
            LX_ERR_INVALID);
  CHECK_INT(lx_tls_ctx_add_cert(c, example.cert, strlen(example.cert),
                                example.key, strlen(example.key), &err),
            0);
  CHECK_INT(lx_tls_new(&t, c, NULL, &err), 0);
  /* configuration ends with the first session */
  CHECK_INT(lx_tls_ctx_add_cert(c, bdom.cert, strlen(bdom.cert), bdom.key,
                                strlen(bdom.key), &err),
            LX_ERR_STATE);
  CHECK_INT(lx_tls_ctx_set_alpn(c, NULL, 0, &err), LX_ERR_STATE);
  CHECK_INT(lx_tls_ctx_add_ca(c, lx_tls_ca_cert(ca), strlen(lx_tls_ca_cert(ca)),
                              &err),
            LX_ERR_STATE);
  /* misuse of a session */
  CHECK_INT(lx_tls_write(t, "x", 1), LX_ERR_STATE);
  CHECK_INT(lx_tls_close(t), LX_ERR_STATE);
  CHECK_INT(lx_tls_verify_result(t, &err), LX_ERR_STATE);
  CHECK(lx_tls_version(t) == NULL);
  /* the context lives on while a session does */
  lx_tls_ctx_free(c);
  lx_tls_free(t);
  lx_tls_ctx_free(NULL);
  lx_tls_free(NULL);
  lx_tls_session_free(NULL);
  lx_tls_pem_free(NULL);

  /* a client has one certificate */
  cc = client_with_cert(&juliet);
  CHECK_INT(lx_tls_ctx_add_cert(cc, juliet.cert, strlen(juliet.cert),
                                juliet.key, strlen(juliet.key), &err),
            LX_ERR_INVALID);
  lx_tls_ctx_free(cc);
  lx_tls_pem_free(enc);
}

/* The context outlives lx_tls_ctx_free() while its sessions run. */
TEST(context_freed_before_sessions) {
  lx_tls_ctx *sc = server_ctx(NULL, &example, 1);
  lx_tls_ctx *cc = client_ctx(NULL, lx_tls_ca_cert(ca));
  peer c = {0}, s = {0};
  CHECK_INT(lx_tls_new(&c.t, cc, "example.com", NULL), 0);
  CHECK_INT(lx_tls_new(&s.t, sc, NULL, NULL), 0);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc);
  lx_tls_handshake(c.t);
  pump(&c, &s, SIZE_MAX);
  CHECK_INT(lx_tls_get_state(c.t), LX_TLS_OPEN);
  CHECK_INT(lx_tls_get_state(s.t), LX_TLS_OPEN);
  peer_free(&c);
  peer_free(&s);
}

static char *write_temp(const char *dir, const char *name, const char *data) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *path = malloc(n);
  FILE *f;
  snprintf(path, n, "%s/%s", dir, name);
  f = fopen(path, "w");
  fputs(data, f);
  fclose(f);
  return path;
}

TEST(files_and_directories) {
  char dir[] = "/tmp/lxmpp-tls-XXXXXX";
  char hashname[32];
  CHECK(mkdtemp(dir) != NULL);
  X509 *cax = pem_x509(lx_tls_ca_cert(ca));
  snprintf(hashname, sizeof hashname, "%08lx.0", X509_subject_name_hash(cax));
  X509_free(cax);
  char *cert = write_temp(dir, "cert.pem", example.cert);
  char *key = write_temp(dir, "key.pem", example.key);
  char *cafile = write_temp(dir, "ca.pem", lx_tls_ca_cert(ca));
  char *hashed = write_temp(dir, hashname, lx_tls_ca_cert(ca));
  lx_tls_ctx *sc = NULL, *cc_file = NULL, *cc_dir = NULL;
  lx_error err;
  peer c, s;

  CHECK_INT(lx_tls_ctx_new(&sc, LX_TLS_SERVER, NULL, &err), 0);
  CHECK_INT(lx_tls_ctx_add_cert_file(sc, cert, key, &err), 0);
  CHECK_INT(lx_tls_ctx_new(&cc_file, LX_TLS_CLIENT, NULL, &err), 0);
  CHECK_INT(lx_tls_ctx_add_ca_file(cc_file, cafile, &err), 0);
  CHECK_INT(lx_tls_ctx_new(&cc_dir, LX_TLS_CLIENT, NULL, &err), 0);
  CHECK_INT(lx_tls_ctx_add_ca_dir(cc_dir, dir, &err), 0);
  /* the key file is not needed once read */
  unlink(key);
  CHECK(connect_pair(&c, &s, cc_file, sc, "example.com", SIZE_MAX));
  peer_free(&c);
  peer_free(&s);
  CHECK(connect_pair(&c, &s, cc_dir, sc, "example.com", SIZE_MAX));
  peer_free(&c);
  peer_free(&s);

  unlink(cert);
  unlink(cafile);
  unlink(hashed);
  rmdir(dir);
  free(cert);
  free(key);
  free(cafile);
  free(hashed);
  lx_tls_ctx_free(sc);
  lx_tls_ctx_free(cc_file);
  lx_tls_ctx_free(cc_dir);
}

TEST(throwaway_certificates) {
  lx_tls_cert_spec spec = {"example.com", NULL, LX_TLS_KEY_P256, 3};
  char *cert = NULL, *key = NULL;
  lx_tls_ca *bad = NULL;
  lx_error err;
  CHECK_INT(lx_tls_cert_selfsigned(&spec, &cert, &key, &err), 0);
  CHECK(contains(cert, "-----BEGIN CERTIFICATE-----"));
  CHECK(contains(key, "-----BEGIN PRIVATE KEY-----"));
  X509 *x = pem_x509(cert);
  CHECK(x != NULL);
  CHECK_INT(X509_check_host(x, "example.com", 0, 0, NULL), 1);
  CHECK_INT(X509_check_host(x, "other.example", 0, 0, NULL), 0);
  /* valid now, for 3 days */
  CHECK(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
  CHECK(X509_cmp_time(X509_get0_notAfter(x),
                      &(time_t){time(NULL) + 2 * 86400}) > 0);
  CHECK(X509_cmp_time(X509_get0_notAfter(x),
                      &(time_t){time(NULL) + 4 * 86400}) < 0);
  X509_free(x);
  free(cert);
  lx_tls_pem_free(key);

  spec.domain = "not a domain";
  CHECK_INT(lx_tls_cert_selfsigned(&spec, &cert, &key, &err), LX_ERR_INVALID);
  CHECK(cert == NULL && key == NULL);
  spec.domain = NULL;
  CHECK_INT(lx_tls_cert_selfsigned(&spec, &cert, &key, &err), LX_ERR_INVALID);
  CHECK_INT(lx_tls_ca_new(&bad, "", &err), LX_ERR_INVALID);
  CHECK(bad == NULL);
}

TEST(error_names) {
  CHECK_STR(lx_strerror(LX_ERR_TLS_HANDSHAKE), "tls-handshake-failed");
  CHECK_STR(lx_strerror(LX_ERR_TLS_CERT_INVALID), "tls-certificate-invalid");
  CHECK_STR(lx_strerror(LX_ERR_TLS_HOSTNAME_MISMATCH), "tls-hostname-mismatch");
  CHECK_STR(lx_strerror(LX_ERR_TLS_PROTOCOL), "tls-protocol-error");
  CHECK_STR(lx_strerror(LX_ERR_TLS_CLOSED), "tls-closed");
  CHECK_STR(lx_strerror(LX_ERR_TLS_TRUNCATED), "tls-truncated");
  CHECK_STR(lx_strerror(LX_ERR_TLS_CB_UNAVAILABLE),
            "tls-channel-binding-unavailable");
}

int main(void) {
  if (lx_tls_ca_new(&ca, "lxmpp test CA", NULL) ||
      lx_tls_ca_new(&ca2, "another CA", NULL)) {
    fprintf(stderr, "cannot make the test CAs\n");
    return 1;
  }
  example = issue(ca, "example.com", NULL, LX_TLS_KEY_P256);
  other = issue(ca, "other.example", NULL, LX_TLS_KEY_P256);
  bdom = issue(ca, "b.example", NULL, LX_TLS_KEY_P256);
  wild = issue(ca, "*.wild.example", NULL, LX_TLS_KEY_P256);
  selfsigned = issue(NULL, "example.com", NULL, LX_TLS_KEY_P256);
  ed25519 = issue(NULL, "example.com", NULL, LX_TLS_KEY_ED25519);
  juliet = issue(ca, NULL, "juliet@example.com", LX_TLS_KEY_P256);
  juliet_untrusted = issue(ca2, NULL, "juliet@example.com", LX_TLS_KEY_P256);

  RUN(handshake_tls13);
  RUN(handshake_tls12);
  RUN(no_common_version);
  RUN(hostname_mismatch);
  RUN(ip_reference_identity);
  RUN(untrusted_selfsigned);
  RUN(system_store_by_default);
  RUN(trust_selfsigned_directly);
  RUN(verification_off_explicitly);
  RUN(verification_optional);
  RUN(expired_certificate);
  RUN(client_needs_a_name_to_verify);
  RUN(sni_chooses_certificate);
  RUN(alpn);
  RUN(resumption_tls13);
  RUN(resumption_tls12_tickets_and_cache);
  RUN(resumption_needs_verified_peer);
  RUN(resumption_after_cut);
  RUN(tickets_are_per_context);
  RUN(no_resumption_without_tickets_or_cache);
  RUN(no_session_before_handshake);
  RUN(channel_binding_tls13);
  RUN(channel_binding_tls12_ems);
  RUN(channel_binding_tls12_without_ems);
  RUN(channel_binding_ed25519);
  RUN(end_point_hash_choice);
  RUN(large_data_small_pieces);
  RUN(trim_idle_session);
  RUN(byte_at_a_time);
  RUN(bounded_buffers);
  RUN(close_notify_both_ways);
  RUN(truncation);
  RUN(garbage_ciphertext);
  RUN(client_certificate);
  RUN(server_checks_client_domain);
  RUN(no_renegotiation);
  RUN(configuration_errors);
  RUN(context_freed_before_sessions);
  RUN(files_and_directories);
  RUN(throwaway_certificates);
  RUN(error_names);

  pair *all[] = {&example,    &other,   &bdom,   &wild,
                 &selfsigned, &ed25519, &juliet, &juliet_untrusted};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++)
    pair_free(all[i]);
  lx_tls_ca_free(ca);
  lx_tls_ca_free(ca2);
  return check_summary();
}

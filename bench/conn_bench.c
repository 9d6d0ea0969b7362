/* conn_bench.c: the C side of bench/conn_bench.lua.
 *   conn_bench speed N   the CPU seconds of N complete negotiations, client
 *                        and server in this process (TLS 1.3 by STARTTLS,
 *                        SCRAM-SHA-256 with the server holding stored
 *                        keys, bind), and of their floor: N bare TLS 1.3
 *                        handshakes (same contexts; the client takes in the
 *                        session tickets) and N PBKDF2-HMAC-SHA-256 of the
 *                        password. Prints "<what> <N> <seconds>", the best
 *                        of five interleaved rounds.
 *   conn_bench memory N  bytes per ready connection, by role, with and
 *                        without TLS, before and after lx_conn_trim:
 *                        "<role> <tls|plain> <ready|trimmed> <ours>
 *                        <openssl>". OpenSSL's through its allocation hooks,
 *                        ours (lxmpp and expat) the rest of the heap glibc
 *                        counts; run with glibc's tcache off, so that freed
 *                        blocks count as free. */
#define _GNU_SOURCE
#include "lxmpp.h"

#include <malloc.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- counting ----------------------------------------------------------- */

/* The heap in use (glibc's count, everything) and OpenSSL's part of it
 * (its allocation hooks); ours is the rest. */
static long long openssl;

static long long heap(void) { return (long long)mallinfo2().uordblks; }

static void *ossl_malloc(size_t n, const char *file, int line) {
  (void)file, (void)line;
  void *p = malloc(n);
  if (p)
    openssl += (long long)malloc_usable_size(p);
  return p;
}

static void *ossl_realloc(void *q, size_t n, const char *file, int line) {
  (void)file, (void)line;
  long long before = q ? (long long)malloc_usable_size(q) : 0;
  void *p = realloc(q, n);
  if (p)
    openssl += (long long)malloc_usable_size(p) - before;
  else if (!n)
    openssl -= before;
  return p;
}

static void ossl_free(void *p, const char *file, int line) {
  (void)file, (void)line;
  if (p)
    openssl -= (long long)malloc_usable_size(p);
  free(p);
}

/* ---- the set-up --------------------------------------------------------- */

static const char *const domains[] = {"im.example.com"};
static const char *const sha256[] = {"SCRAM-SHA-256"};
static const unsigned char salt[] = "bench-salt-16byt";
enum { ITERATIONS = 4096 };
static unsigned char stored[LX_SASL_MAX_HASH], server_key[LX_SASL_MAX_HASH];
static lx_tls_ctx *sctx, *cctx;

static void setup(void) {
  lx_tls_cert_spec spec = {"im.example.com", NULL, LX_TLS_KEY_P256, 0};
  char *cert, *key;
  lx_tls_opts o;
  lx_tls_opts_init(&o);
  o.min_version = LX_TLS_V1_3;
  if (lx_tls_cert_selfsigned(&spec, &cert, &key, NULL) ||
      lx_tls_ctx_new(&sctx, LX_TLS_SERVER, &o, NULL) ||
      lx_tls_ctx_new(&cctx, LX_TLS_CLIENT, &o, NULL) ||
      lx_tls_ctx_add_cert(sctx, cert, strlen(cert), key, strlen(key), NULL) ||
      lx_tls_ctx_add_ca(cctx, cert, strlen(cert), NULL) ||
      lx_scram_derive(LX_SASL_SHA256, "r0m30myr0m30", 12, salt, 16, ITERATIONS,
                      NULL, stored, server_key, NULL))
    exit(2);
  free(cert);
  lx_tls_pem_free(key);
}

static lx_conn *new_conn(lx_conn_role role, int tls) {
  lx_conn_opts o;
  lx_conn *c;
  lx_conn_opts_init(&o);
  o.tls = tls ? LX_CONN_TLS_REQUIRED : LX_CONN_TLS_DISABLED;
  if (role == LX_CONN_CLIENT) {
    o.tls_ctx = tls ? cctx : NULL;
    o.jid = "juliet@im.example.com/balcony";
    o.sasl_client.password = "r0m30myr0m30";
    o.sasl_client.allowed = sha256;
    o.sasl_client.n_allowed = 1;
  } else {
    o.tls_ctx = tls ? sctx : NULL;
    o.domains = domains;
    o.n_domains = 1;
  }
  if (lx_conn_new(&c, role, &o, NULL) || lx_conn_start(c))
    exit(3);
  return c;
}

static void answer(lx_conn *s) {
  lx_conn_event ev;
  while (lx_conn_next_event(s, &ev)) {
    lx_stanza_free(ev.stanza);
    if (ev.type == LX_CONN_AUTH_REQUEST) {
      lx_sasl_credentials cred;
      memset(&cred, 0, sizeof cred);
      cred.keys.hash = LX_SASL_SHA256;
      cred.keys.salt = salt;
      cred.keys.salt_len = 16;
      cred.keys.iterations = ITERATIONS;
      cred.keys.stored_key = stored;
      cred.keys.server_key = server_key;
      if (lx_conn_auth_answer(s, &cred))
        exit(4);
    } else if (ev.type == LX_CONN_BIND_REQUEST) {
      if (lx_conn_bind_accept(s, "juliet@im.example.com/balcony"))
        exit(5);
    }
  }
}

static void drain(lx_conn *c) {
  lx_conn_event ev;
  while (lx_conn_next_event(c, &ev))
    lx_stanza_free(ev.stanza);
}

static int move(lx_conn *from, lx_conn *to) {
  const char *p;
  size_t n;
  int moved = 0;
  while ((n = lx_conn_peek_send(from, &p)) > 0) {
    if (lx_conn_recv(to, p, n) != (ssize_t)n)
      exit(6);
    lx_conn_consume_send(from, n);
    moved = 1;
  }
  return moved;
}

/* A client and a server, negotiated to ready. */
static void negotiate(int tls, lx_conn **client, lx_conn **server) {
  lx_conn *c = new_conn(LX_CONN_CLIENT, tls),
          *s = new_conn(LX_CONN_SERVER, tls);
  for (int moved = 1; moved;) {
    moved = move(c, s);
    answer(s);
    moved |= move(s, c);
    drain(c);
  }
  if (lx_conn_get_state(c) != LX_CONN_STATE_READY ||
      lx_conn_get_state(s) != LX_CONN_STATE_READY)
    exit(7);
  *client = c;
  *server = s;
}

/* ---- measurements ------------------------------------------------------- */

static double cpu(void) { return (double)clock() / CLOCKS_PER_SEC; }

static void run_negotiate(long n) {
  for (long i = 0; i < n; i++) {
    lx_conn *c, *s;
    negotiate(1, &c, &s);
    lx_conn_free(c);
    lx_conn_free(s);
  }
}

static void run_tls(long n) {
  for (long i = 0; i < n; i++) {
    lx_tls *c, *s;
    const char *p;
    size_t k;
    if (lx_tls_new(&c, cctx, "im.example.com", NULL) ||
        lx_tls_new(&s, sctx, NULL, NULL) || lx_tls_handshake(c) < 0)
      exit(8);
    for (int moved = 1; moved;) {
      moved = 0;
      while ((k = lx_tls_peek_send(c, &p)) > 0) {
        lx_tls_recv(s, p, k);
        lx_tls_consume_send(c, k);
        moved = 1;
      }
      while ((k = lx_tls_peek_send(s, &p)) > 0) {
        lx_tls_recv(c, p, k);
        lx_tls_consume_send(s, k);
        moved = 1;
      }
    }
    /* as in a negotiation, the client takes in the server's TLS 1.3
     * session tickets */
    char plain[256];
    if (lx_tls_get_state(c) != LX_TLS_OPEN ||
        lx_tls_get_state(s) != LX_TLS_OPEN || lx_tls_read(c, plain, 256) != 0)
      exit(9);
    lx_tls_free(c);
    lx_tls_free(s);
  }
}

static void run_pbkdf2(long n) {
  unsigned char out[32];
  for (long i = 0; i < n; i++)
    if (!PKCS5_PBKDF2_HMAC("r0m30myr0m30", 12, salt, 16, ITERATIONS,
                           EVP_sha256(), sizeof out, out))
      exit(10);
}

/* The three timings in interleaved rounds, the best of each (the machine
 * is shared: a ratio is only fair between runs made side by side). */
static void speed(long n) {
  void (*fns[3])(long) = {run_negotiate, run_tls, run_pbkdf2};
  static const char *const names[3] = {"negotiate", "tls", "pbkdf2"};
  double best[3] = {1e9, 1e9, 1e9};
  for (int r = 0; r < 5; r++)
    for (int i = 0; i < 3; i++) {
      double t0 = cpu();
      fns[i](n);
      double t = cpu() - t0;
      if (t < best[i])
        best[i] = t;
    }
  for (int i = 0; i < 3; i++)
    printf("%s %ld %.6f\n", names[i], n, best[i]);
}

/* Memory per ready connection by role, TLS or not, trimmed (lx_conn_trim)
 * or not: negotiate n pairs, then free the clients, then the servers. */
static void memory(long n) {
  lx_conn **c = malloc((size_t)n * sizeof *c);
  lx_conn **s = malloc((size_t)n * sizeof *s);
  for (int tls = 1; tls >= 0; tls--) {
    for (int trim = 0; trim < 2; trim++) {
      negotiate(tls, &c[0], &s[0]); /* warm up OpenSSL's and libidn2's */
      lx_conn_free(c[0]);
      lx_conn_free(s[0]);
      long long h0 = heap(), s0 = openssl;
      for (long i = 0; i < n; i++) {
        negotiate(tls, &c[i], &s[i]);
        if (trim && (!lx_conn_trim(c[i]) || !lx_conn_trim(s[i])))
          exit(12);
      }
      long long h1 = heap(), s1 = openssl;
      for (long i = 0; i < n; i++)
        lx_conn_free(c[i]);
      long long h2 = heap(), s2 = openssl;
      for (long i = 0; i < n; i++)
        lx_conn_free(s[i]);
      const char *mode = tls ? "tls" : "plain", *t = trim ? "trimmed" : "ready";
      printf("client %s %s %lld %lld\n", mode, t, ((h1 - h2) - (s1 - s2)) / n,
             (s1 - s2) / n);
      printf("server %s %s %lld %lld\n", mode, t, ((h2 - h0) - (s2 - s0)) / n,
             (s2 - s0) / n);
    }
  }
  free(c);
  free(s);
}

int main(int argc, char **argv) {
  if (argc != 3)
    return 1;
  /* counting OpenSSL's allocations costs time: only to count memory */
  if (strcmp(argv[1], "memory") == 0 &&
      !CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free))
    return 11; /* OpenSSL allocated before main */
  setup();
  long n = atol(argv[2]);
  if (strcmp(argv[1], "speed") == 0)
    speed(n);
  else if (strcmp(argv[1], "memory") == 0)
    memory(n);
  else
    return 1;
  return 0;
}

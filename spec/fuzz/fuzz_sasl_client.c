/* fuzz_sasl_client.c: the client's parsers (SCRAM server-first and
 * server-final, DIGEST-MD5 challenges and rspauth, success data).
 * Input: byte 0 picks the mechanism (sasl_mechs order), byte 1 holds flags
 * (1: TLS, 2: the server advertised XEP-0440 types, 4: require h=), then
 * messages, each a 2-byte big-endian length and its bytes: challenges, the
 * last one being the success data. The credentials and nonces are those of
 * the RFC vectors, with cached keys so that a valid exchange needs no
 * PBKDF2. */
#include "lxmpp.h"
#include "sasl.h"

#include <stdint.h>
#include <string.h>

typedef struct account {
  const unsigned char *salt;
  size_t salt_len;
  const char *nonce;
  unsigned char client[LX_SASL_MAX_HASH], server[LX_SASL_MAX_HASH];
} account;

static account accounts[4]; /* by lx_sasl_hash */

static void init(void) {
  static int done;
  if (done)
    return;
  done = 1;
  static const unsigned char s1[] = {0x41, 0x25, 0xc2, 0x47, 0xe4, 0x3a,
                                     0xb1, 0xe9, 0x3c, 0x6d, 0xff, 0x76};
  static const unsigned char s2[] = {0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12,
                                     0x35, 0x8e, 0xec, 0xa0, 0x4b, 0x14,
                                     0x12, 0x36, 0xfa, 0x81};
  for (int h = LX_SASL_SHA1; h <= LX_SASL_SHA512; h++) {
    account *a = &accounts[h];
    a->salt = h == LX_SASL_SHA1 ? s1 : s2;
    a->salt_len = h == LX_SASL_SHA1 ? sizeof s1 : sizeof s2;
    a->nonce =
        h == LX_SASL_SHA1 ? "fyko+d2lbbFgONRv9qkxdawL" : "rOprNGfwEbeRWgbNEkqO";
    lx_scram_derive((lx_sasl_hash)h, "pencil", 6, a->salt, a->salt_len, 4096,
                    a->client, NULL, a->server, NULL);
  }
}

static int next(const uint8_t **p, size_t *n, const uint8_t **msg,
                size_t *len) {
  if (*n < 2)
    return 0;
  size_t l = (size_t)(*p)[0] << 8 | (*p)[1];
  if (l > *n - 2)
    l = *n - 2;
  *msg = *p + 2;
  *len = l;
  *p += 2 + l;
  *n -= 2 + l;
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  init();
  if (size < 2)
    return 0;
  const mech_info *m = &sasl_mechs[data[0] % MECH_COUNT];
  int flags = data[1];
  const uint8_t *p = data + 2, *msg;
  size_t n = size - 2, len;
  const char *offered[] = {"SCRAM-SHA-1",   "SCRAM-SHA-1-PLUS",
                           "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS",
                           "SCRAM-SHA-512", "SCRAM-SHA-512-PLUS",
                           "DIGEST-MD5",    "PLAIN",
                           "EXTERNAL",      "ANONYMOUS"};
  const char *types[] = {"tls-server-end-point", "tls-exporter"};
  lx_sasl_cb cb = {"tls-exporter",
                   (const unsigned char *)"THIS IS FAKE CB DATA", 20};
  const account *a = &accounts[m->hash ? m->hash : LX_SASL_SHA1];
  lx_scram_keys keys = {.hash = m->hash ? m->hash : LX_SASL_SHA1,
                        .salt = a->salt,
                        .salt_len = a->salt_len,
                        .iterations = 4096,
                        .client_key = a->client,
                        .server_key = a->server};
  lx_sasl_client_opts o;
  lx_sasl_client_opts_init(&o);
  o.offered = offered;
  o.n_offered = 10;
  o.allowed = &m->name;
  o.n_allowed = 1;
  o.cb = &cb;
  o.n_cb = 1;
  if (flags & 2) {
    o.cb_types = types;
    o.n_cb_types = 2;
  }
  o.tls = flags & 1;
  o.require_ssdp = (flags & 4) != 0;
  o.min_iterations = 1;
  o.max_iterations = 4096;
  o.keys = &keys;
  const char *nonce = a->nonce; /* the vectors' */
  if (!strcmp(m->name, "DIGEST-MD5")) {
    o.username = "chris";
    o.password = "secret";
    o.host = "elwood.innosoft.com";
    o.service = "imap";
    nonce = "OA6MHXh6VqTrRk";
  } else {
    o.username = "user";
    o.password = "pencil";
  }
  lx_sasl_client *c = NULL;
  if (sasl_client_create(&c, &o, nonce, NULL))
    return 0;
  const unsigned char *out;
  size_t out_len;
  int rc = lx_sasl_client_initial(c, &out, &out_len, NULL);
  while (rc >= 0 && next(&p, &n, &msg, &len)) {
    if (n == 0) {
      rc = lx_sasl_client_finish(c, msg, len, NULL);
      break;
    }
    rc = lx_sasl_client_step(c, msg, len, &out, &out_len, NULL);
  }
  lx_sasl_client_free(c);
  return 0;
}

/* fuzz_sasl_server.c: the server's parsers (SCRAM client-first and
 * client-final, PLAIN, EXTERNAL, ANONYMOUS, DIGEST-MD5 responses).
 * Input: byte 0 picks the mechanism (sasl_mechs order), byte 1 holds flags
 * (1: TLS, 2: XEP-0474 h=, 4: no initial response, 8: no verified client
 * certificate, so no EXTERNAL), then messages, each a
 * 2-byte big-endian length and its bytes: the initial response, then the
 * responses to each challenge. Credentials are those of the RFC vectors,
 * with stored keys so that a valid exchange needs no PBKDF2. */
#include "lxmpp.h"
#include "sasl.h"

#include <stdint.h>
#include <string.h>

typedef struct account {
  const unsigned char *salt;
  size_t salt_len;
  const char *nonce;
  unsigned char stored[LX_SASL_MAX_HASH], server[LX_SASL_MAX_HASH];
} account;

static account accounts[4]; /* by lx_sasl_hash */

static void init(void) {
  static int done;
  if (done)
    return;
  done = 1;
  /* RFC 5802 (SHA-1) and RFC 7677 (SHA-256, and SHA-512 §3.3) */
  static const unsigned char s1[] = {0x41, 0x25, 0xc2, 0x47, 0xe4, 0x3a,
                                     0xb1, 0xe9, 0x3c, 0x6d, 0xff, 0x76};
  static const unsigned char s2[] = {0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12,
                                     0x35, 0x8e, 0xec, 0xa0, 0x4b, 0x14,
                                     0x12, 0x36, 0xfa, 0x81};
  for (int h = LX_SASL_SHA1; h <= LX_SASL_SHA512; h++) {
    account *a = &accounts[h];
    a->salt = h == LX_SASL_SHA1 ? s1 : s2;
    a->salt_len = h == LX_SASL_SHA1 ? sizeof s1 : sizeof s2;
    a->nonce = h == LX_SASL_SHA1 ? "3rfcNHYJY1ZVvWVs7j"
                                 : "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    lx_scram_derive((lx_sasl_hash)h, "pencil", 6, a->salt, a->salt_len, 4096,
                    NULL, a->stored, a->server, NULL);
  }
}

/* The next length-prefixed message; 0 when the input is used up. */
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
  const uint8_t *p = data + 2, *msg = NULL;
  size_t n = size - 2, len = 0;
  lx_sasl_cb cb[] = {
      {"tls-exporter", (const unsigned char *)"THIS IS FAKE CB DATA", 20},
      {"tls-server-end-point", (const unsigned char *)"an end-point hash", 17}};
  const account *a = &accounts[m->hash ? m->hash : LX_SASL_SHA1];
  lx_sasl_server_opts o;
  lx_sasl_server_opts_init(&o);
  o.mechanisms = &m->name;
  o.n_mechanisms = 1;
  o.cb = cb;
  o.n_cb = 2;
  o.tls = flags & 1;
  o.ssdp = (flags & 2) != 0;
  o.client_cert = (flags & 8) == 0;
  o.host = "elwood.innosoft.com";
  o.service = "imap";
  lx_sasl_server *s = NULL;
  if (lx_sasl_server_new(&s, &o, NULL))
    return 0;
  const unsigned char *out;
  size_t out_len;
  int have = (flags & 4) ? 0 : next(&p, &n, &msg, &len);
  const char *nonce /* the vectors' */ =
      !strcmp(m->name, "DIGEST-MD5") ? "OA6MG9tEQGm2hh" : a->nonce;
  int rc = sasl_server_start(s, nonce, m->name, have ? msg : NULL, len, &out,
                             &out_len, NULL);
  for (int round = 0; round < 8; round++) {
    if (rc == LX_SASL_NEED_CREDENTIALS) {
      lx_sasl_credentials c = {0};
      if (m->hash) {
        c.keys = (lx_scram_keys){.hash = m->hash,
                                 .salt = a->salt,
                                 .salt_len = a->salt_len,
                                 .iterations = 4096,
                                 .stored_key = a->stored,
                                 .server_key = a->server};
      } else if (!strcmp(m->name, "EXTERNAL") ||
                 !strcmp(m->name, "ANONYMOUS")) {
        c.verdict = LX_SASL_ACCEPT;
      } else {
        c.password = !strcmp(m->name, "DIGEST-MD5") ? "secret" : "pencil";
      }
      rc = lx_sasl_server_credentials(s, &c, &out, &out_len, NULL);
    } else if (rc == LX_SASL_CHALLENGE && next(&p, &n, &msg, &len)) {
      rc = lx_sasl_server_step(s, msg, len, &out, &out_len, NULL);
    } else {
      break;
    }
  }
  lx_sasl_server_free(s);
  return 0;
}

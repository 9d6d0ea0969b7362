/* test_scram.c: SCRAM both roles against the exact vectors of standards.md
 * §3.1-3.5 (RFC 5802, RFC 7677, SHA-512, the extra SHA-256 vector, RFC 6120
 * §9, XEP-0474), key derivation (RFC 6070), and every failure path. */
#include "sasl_util.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

typedef struct vector {
  const char *mech, *user, *pass, *cnonce, *snonce, *salt;
  unsigned iterations;
  const char *cfirst, *sfirst, *cfinal, *sfinal;
} vector;

static const vector rfc5802 = {
    "SCRAM-SHA-1",
    "user",
    "pencil",
    "fyko+d2lbbFgONRv9qkxdawL",
    "3rfcNHYJY1ZVvWVs7j",
    "QSXCR+Q6sek8bf92",
    4096,
    "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
    "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
    "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
};

static const vector rfc7677 = {
    "SCRAM-SHA-256",
    "user",
    "pencil",
    "rOprNGfwEbeRWgbNEkqO",
    "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    "W22ZaJ0SNY7soEsUEjb6gQ==",
    4096,
    "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
};

/* self-generated (standards.md §3.3): no IETF vector exists */
static const vector sha512 = {
    "SCRAM-SHA-512",
    "user",
    "pencil",
    "rOprNGfwEbeRWgbNEkqO",
    "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    "W22ZaJ0SNY7soEsUEjb6gQ==",
    4096,
    "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=gMGXRcevScNtxZ6/8lQYpGtnsNAc3mGcmNomv+xnoOMw+3R2xNJdMNnzMlTN8PPC6wdp6"
    "dybEmDYXYTxwnYPJQ==",
    "v=ZQnYEgWQMFmmsM8aQMF0nDDCy/AgCzkwk8CmMZYcMg0vSVlKDanekLtifDSeVGT4+5ZxXnJq"
    "199RVG2rR7N7Zw==",
};

/* ba0f3/scram.nim tests/test_client.nim */
static const vector bob256 = {
    "SCRAM-SHA-256",
    "bob",
    "secret",
    "VeAOLsQ22fn/tjalHQIz7cQT",
    "meE5qJh8qKEe8wALMut1",
    "ldZSefTzKxPNJhP73AmW/A==",
    4096,
    "n,,n=bob,r=VeAOLsQ22fn/tjalHQIz7cQT",
    "r=VeAOLsQ22fn/tjalHQIz7cQTmeE5qJh8qKEe8wALMut1,s=ldZSefTzKxPNJhP73AmW/"
    "A==,i=4096",
    "c=biws,r=VeAOLsQ22fn/tjalHQIz7cQTmeE5qJh8qKEe8wALMut1,"
    "p=AtNtxGzsMA8evcWBM0MXFjxN8OcG1KRkLkFyoHlupOU=",
    "v=jeEn7M7PgnBZ7GRd+f3Ikaj40dw4EGKZ0x8FcQztLLs=",
};

/* RFC 6120 §9.1.2 */
static const vector rfc6120 = {
    "SCRAM-SHA-1",
    "juliet",
    "r0m30myr0m30",
    "oMsTAAwAAAAMAAAANP0TAAAAAABPU0AA",
    "e124695b-69a9-4de6-9c30-b51b3808c59e",
    "NjhkYTM0MDgtNGY0Zi00NjdmLTkxMmUtNDlmNTNmNDNkMDMz",
    4096,
    "n,,n=juliet,r=oMsTAAwAAAAMAAAANP0TAAAAAABPU0AA",
    "r=oMsTAAwAAAAMAAAANP0TAAAAAABPU0AAe124695b-69a9-4de6-9c30-b51b3808c59e,"
    "s=NjhkYTM0MDgtNGY0Zi00NjdmLTkxMmUtNDlmNTNmNDNkMDMz,i=4096",
    "c=biws,r=oMsTAAwAAAAMAAAANP0TAAAAAABPU0AAe124695b-69a9-4de6-9c30-"
    "b51b3808c59e,p=UA57tM/SvpATBkH2FXs0WDXvJYw=",
    "v=pNNDFVEQxuXxCoSEiW8GEZ+1RSo=",
};

/* A client for v, offered only v->mech. */
static lx_sasl_client *vector_client(const vector *v) {
  lx_sasl_client_opts o;
  lx_sasl_client *c = NULL;
  const char *offered[] = {v->mech};
  lx_sasl_client_opts_init(&o);
  o.offered = offered;
  o.n_offered = 1;
  o.username = v->user;
  o.password = v->pass;
  CHECK_INT(sasl_client_create(&c, &o, v->cnonce, NULL), 0);
  return c;
}

static void run_client_vector(const vector *v) {
  const unsigned char *out;
  size_t len;
  lx_sasl_client *c = vector_client(v);
  if (!c)
    return;
  CHECK_STR(lx_sasl_client_mechanism(c), v->mech);
  CHECK_INT(lx_sasl_client_initial(c, &out, &len, NULL), 1);
  CHECK_STR(str(out, len), v->cfirst);
  CHECK_INT(
      lx_sasl_client_step(c, U(v->sfirst), strlen(v->sfirst), &out, &len, NULL),
      LX_SASL_RESPONSE);
  CHECK_STR(str(out, len), v->cfinal);
  CHECK_INT(lx_sasl_client_finish(c, U(v->sfinal), strlen(v->sfinal), NULL), 0);
  lx_scram_keys k;
  unsigned char salt[64];
  size_t salt_len = unb64(v->salt, salt, sizeof salt);
  CHECK_INT(lx_sasl_client_keys(c, &k), 0);
  CHECK_INT(k.iterations, v->iterations);
  CHECK(k.salt_len == salt_len && memcmp(k.salt, salt, salt_len) == 0);
  lx_sasl_client_free(c);
}

/* The server for v: ssdp off (the RFC vectors have no h=); its nonce part
 * is given to sasl_server_start. */
static lx_sasl_server *vector_server(const vector *v) {
  lx_sasl_server_opts o;
  lx_sasl_server *s = NULL;
  const char *mechs[] = {v->mech};
  lx_sasl_server_opts_init(&o);
  o.mechanisms = mechs;
  o.n_mechanisms = 1;
  o.ssdp = 0;
  CHECK_INT(lx_sasl_server_new(&s, &o, NULL), 0);
  return s;
}

static void run_server_vector(const vector *v, int with_keys) {
  const unsigned char *out;
  size_t len;
  unsigned char salt[64], stored[64], server[64];
  lx_sasl_server *s = vector_server(v);
  if (!s)
    return;
  CHECK_INT(sasl_server_start(s, v->snonce, v->mech, U(v->cfirst),
                              strlen(v->cfirst), &out, &len, NULL),
            LX_SASL_NEED_CREDENTIALS);
  const lx_sasl_request *rq = lx_sasl_server_request(s);
  CHECK_STR(rq->mechanism, v->mech);
  CHECK_STR(rq->username, v->user);
  CHECK(rq->authzid == NULL);
  const mech_info *m = sasl_mech_find(v->mech);
  CHECK_INT(rq->hash, m->hash);
  lx_sasl_credentials cred = {0};
  cred.keys.salt = salt;
  cred.keys.salt_len = unb64(v->salt, salt, sizeof salt);
  cred.keys.iterations = v->iterations;
  if (with_keys) {
    CHECK_INT(lx_scram_derive(m->hash, v->pass, strlen(v->pass), salt,
                              cred.keys.salt_len, v->iterations, NULL, stored,
                              server, NULL),
              0);
    cred.keys.hash = m->hash;
    cred.keys.stored_key = stored;
    cred.keys.server_key = server;
  } else {
    cred.password = v->pass;
  }
  CHECK_INT(lx_sasl_server_credentials(s, &cred, &out, &len, NULL),
            LX_SASL_CHALLENGE);
  CHECK_STR(str(out, len), v->sfirst);
  CHECK_INT(
      lx_sasl_server_step(s, U(v->cfinal), strlen(v->cfinal), &out, &len, NULL),
      LX_SASL_SUCCESS);
  CHECK_STR(str(out, len), v->sfinal);
  CHECK_STR(lx_sasl_server_request(s)->username, v->user);
  lx_sasl_server_free(s);
}

TEST(client_vectors) {
  run_client_vector(&rfc5802);
  run_client_vector(&rfc7677);
  run_client_vector(&sha512);
  run_client_vector(&bob256);
  run_client_vector(&rfc6120);
}

TEST(server_vectors_with_password) {
  run_server_vector(&rfc5802, 0);
  run_server_vector(&rfc7677, 0);
  run_server_vector(&sha512, 0);
  run_server_vector(&bob256, 0);
  run_server_vector(&rfc6120, 0);
}

TEST(server_vectors_with_stored_keys) {
  run_server_vector(&rfc5802, 1);
  run_server_vector(&rfc7677, 1);
  run_server_vector(&sha512, 1);
  run_server_vector(&bob256, 1);
  run_server_vector(&rfc6120, 1);
}

/* RFC 6120 §9.1.2 as it appears on the wire (base64 of each message). */
TEST(rfc6120_wire_form) {
  CHECK_STR(b64(rfc6120.cfirst, strlen(rfc6120.cfirst)),
            "biwsbj1qdWxpZXQscj1vTXNUQUF3QUFBQU1BQUFBTlAwVEFBQUFBQUJQVTBBQQ"
            "==");
  CHECK_STR(b64(rfc6120.sfinal, strlen(rfc6120.sfinal)),
            "dj1wTk5ERlZFUXh1WHhDb1NFaVc4R0VaKzFSU289");
  unsigned char salt[64], proof[20];
  size_t n = unb64(rfc6120.salt, salt, sizeof salt);
  CHECK_STR(str(salt, n), "68da3408-4f4f-467f-912e-49f53f43d033");
  CHECK_INT(unb64("UA57tM/SvpATBkH2FXs0WDXvJYw=", proof, sizeof proof), 20);
  CHECK_STR(hex(proof, 20), "500e7bb4cfd2be90130641f6157b345835ef258c");
}

/* RFC 5802 §5's intermediate keys. */
TEST(derive_rfc5802_keys) {
  unsigned char salt[16], ck[20], sk[20], svk[20];
  size_t n = unb64("QSXCR+Q6sek8bf92", salt, sizeof salt);
  CHECK_INT(lx_scram_derive(LX_SASL_SHA1, "pencil", 6, salt, n, 4096, ck, sk,
                            svk, NULL),
            0);
  CHECK_STR(hex(ck, 20), "e234c47bf6c36696dd6d852b99aaa2ba26555728");
  CHECK_STR(hex(sk, 20), "e9d94660c39d65c38fbad91c358f14da0eef2bd6");
  CHECK_STR(hex(svk, 20), "0fe09258b3ac852ba502cc62ba903eaacdbf7d31");
}

/* RFC 6070 PBKDF2-HMAC-SHA1: our ClientKey is HMAC(PBKDF2(...), "Client
 * Key"), so it must match the one computed from the published output. */
TEST(derive_rfc6070_pbkdf2) {
  static const struct {
    unsigned c;
    const char *dk;
  } v[] = {{1, "0c60c80f961f0e71f3a9b524af6012062fe037a6"},
           {2, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"},
           {4096, "4b007901b765489abead49d926f721d065a429c1"}};
  for (size_t i = 0; i < COUNT(v); i++) {
    unsigned char dk[20], want[20], got[20];
    unsigned len = 0;
    for (int k = 0; k < 20; k++) {
      unsigned byte;
      sscanf(v[i].dk + 2 * k, "%2x", &byte);
      dk[k] = (unsigned char)byte;
    }
    HMAC(EVP_sha1(), dk, 20, U("Client Key"), 10, want, &len);
    CHECK_INT(lx_scram_derive(LX_SASL_SHA1, "password", 8, U("salt"), 4, v[i].c,
                              got, NULL, NULL, NULL),
              0);
    CHECK(memcmp(want, got, 20) == 0);
  }
}

TEST(derive_rejects_bad_input) {
  unsigned char k[64];
  lx_error e;
  CHECK_INT(lx_scram_derive(LX_SASL_SHA1, "pencil", 6, U("s"), 0, 4096, k, NULL,
                            NULL, &e),
            LX_ERR_INVALID);
  CHECK_INT(lx_scram_derive(LX_SASL_SHA1, "pencil", 6, U("s"), 1, 0, k, NULL,
                            NULL, NULL),
            LX_ERR_INVALID);
  CHECK_INT(lx_scram_derive((lx_sasl_hash)9, "pencil", 6, U("s"), 1, 1, k, NULL,
                            NULL, NULL),
            LX_ERR_INVALID);
  /* OpaqueString refuses control characters and the empty string */
  CHECK_INT(lx_scram_derive(LX_SASL_SHA1, "a\x07", 2, U("s"), 1, 1, k, NULL,
                            NULL, NULL),
            LX_ERR_INVALID);
  CHECK_INT(
      lx_scram_derive(LX_SASL_SHA1, "", 0, U("s"), 1, 1, k, NULL, NULL, NULL),
      LX_ERR_INVALID);
}

/* ---- XEP-0474 full example (standards.md §3.4) ---- */

#define X_CFIRST "p=tls-exporter,,n=user,r=12C4CD5C-E38E-4A98-8F6D-15C38F51CCC6"
#define X_SFIRST                                                               \
  "r=12C4CD5C-E38E-4A98-8F6D-15C38F51CCC6a09117a6-ac50-4f2f-93f1-"             \
  "93799c2bddf6,s=QSXCR+Q6sek8bf92,i=4096,h=G6k/rBLDqgOhRRaCuuatSDFkJ08="
#define X_CFINAL                                                               \
  "c=cD10bHMtZXhwb3J0ZXIsLFRISVMgSVMgRkFLRSBDQiBEQVRB,r=12C4CD5C-E38E-4A98-"   \
  "8F6D-15C38F51CCC6a09117a6-ac50-4f2f-93f1-93799c2bddf6,x=19C6532F-1CF4-"     \
  "4A27-A18D-DC9CEA41BBB3,p=M/SIDjT+dfcxUh89jZEypRvFxB4="
#define X_SFINAL "v=MQrMPvv7yv4x4Cq4W4Ih25EqS2c="
#define X_CNONCE "12C4CD5C-E38E-4A98-8F6D-15C38F51CCC6"
#define X_SNONCE "a09117a6-ac50-4f2f-93f1-93799c2bddf6"
#define FAKE_CB "THIS IS FAKE CB DATA"

static const lx_sasl_cb xep_cbs[] = {
    {"tls-server-end-point", U("an end-point hash"), 17},
    {"tls-exporter", U(FAKE_CB), 20},
};

static lx_sasl_server *xep_server_with(int cb_fallback) {
  lx_sasl_server_opts o;
  lx_sasl_server *s = NULL;
  const char *mechs[] = {"SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"};
  lx_sasl_server_opts_init(&o);
  o.mechanisms = mechs;
  o.n_mechanisms = 2;
  o.cb = xep_cbs;
  o.n_cb = 2;
  o.tls = 1;
  o.cb_fallback = cb_fallback;
  CHECK_INT(lx_sasl_server_new(&s, &o, NULL), 0);
  return s;
}

static lx_sasl_server *xep_server(void) { return xep_server_with(0); }

static const lx_sasl_credentials pencil_12 = {
    .password = "pencil",
    .keys = {.salt = U("\x41\x25\xc2\x47\xe4\x3a\xb1\xe9\x3c\x6d\xff\x76"),
             .salt_len = 12,
             .iterations = 4096}};

TEST(xep0474_server) {
  const unsigned char *out;
  size_t len;
  lx_sasl_server *s = xep_server();
  const char *names[4], *types[4];
  CHECK_INT(lx_sasl_server_mechanisms(s, names, 4), 2);
  CHECK_STR(names[0], "SCRAM-SHA-1-PLUS");
  CHECK_STR(names[1], "SCRAM-SHA-1");
  CHECK_INT(lx_sasl_server_cb_types(s, types, 4), 2);
  CHECK_STR(types[0], "tls-server-end-point");
  CHECK_STR(types[1], "tls-exporter");
  CHECK_INT(sasl_server_start(s, X_SNONCE, "SCRAM-SHA-1-PLUS", U(X_CFIRST),
                              strlen(X_CFIRST), &out, &len, NULL),
            LX_SASL_NEED_CREDENTIALS);
  CHECK_INT(lx_sasl_server_credentials(s, &pencil_12, &out, &len, NULL),
            LX_SASL_CHALLENGE);
  CHECK_STR(str(out, len), X_SFIRST);
  /* the x= extension is passed through into AuthMessage */
  CHECK_INT(
      lx_sasl_server_step(s, U(X_CFINAL), strlen(X_CFINAL), &out, &len, NULL),
      LX_SASL_SUCCESS);
  CHECK_STR(str(out, len), X_SFINAL);
  lx_sasl_server_free(s);
}

TEST(xep0474_ssdp_input) {
  buf b = BUF_INIT;
  const char *mechs[] = {"SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"};
  const char *types[] = {"tls-server-end-point", "tls-exporter"};
  CHECK_INT(scram_ssdp_input(&b, mechs, 2, types, 2), 0);
  CHECK(b.len == 62 &&
        memcmp(b.data,
               "SCRAM-SHA-1\x1eSCRAM-SHA-1-PLUS\x1ftls-exporter\x1etls-"
               "server-end-point",
               62) == 0);
  /* without XEP-0440 there is no 0x1f */
  CHECK_INT(scram_ssdp_input(&b, mechs, 2, NULL, 0), 0);
  CHECK(b.len == 28 &&
        memcmp(b.data, "SCRAM-SHA-1\x1eSCRAM-SHA-1-PLUS", 28) == 0);
  buf_free(&b);
}

/* The client side of the example: the same first message, the same c=,
 * and h= verified against what it saw advertised. */
static lx_sasl_client *xep_client(const char **offered, size_t n_offered,
                                  const char **types, size_t n_types,
                                  int require_ssdp) {
  lx_sasl_client_opts o;
  lx_sasl_client *c = NULL;
  lx_sasl_client_opts_init(&o);
  o.offered = offered;
  o.n_offered = n_offered;
  o.cb_types = types;
  o.n_cb_types = n_types;
  o.cb = &xep_cbs[1];
  o.n_cb = 1;
  o.tls = 1;
  o.username = "user";
  o.password = "pencil";
  o.require_ssdp = require_ssdp;
  CHECK_INT(sasl_client_create(&c, &o, X_CNONCE, NULL), 0);
  return c;
}

TEST(xep0474_client) {
  const char *offered[] = {"SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"};
  const char *types[] = {"tls-server-end-point", "tls-exporter"};
  const unsigned char *out;
  size_t len;
  lx_sasl_client *c = xep_client(offered, 2, types, 2, 1);
  CHECK_STR(lx_sasl_client_mechanism(c), "SCRAM-SHA-1-PLUS");
  CHECK_INT(lx_sasl_client_initial(c, &out, &len, NULL), 1);
  CHECK_STR(str(out, len), X_CFIRST);
  CHECK_INT(
      lx_sasl_client_step(c, U(X_SFIRST), strlen(X_SFIRST), &out, &len, NULL),
      LX_SASL_RESPONSE);
  const char *want = "c=cD10bHMtZXhwb3J0ZXIsLFRISVMgSVMgRkFLRSBDQiBEQVRB,"
                     "r=12C4CD5C-E38E-4A98-8F6D-15C38F51CCC6a09117a6-ac50-"
                     "4f2f-93f1-93799c2bddf6,p=";
  CHECK(len > strlen(want) && memcmp(out, want, strlen(want)) == 0);
  lx_sasl_client_free(c);

  /* and the whole exchange against our server (same advertisement) */
  c = xep_client(offered, 2, types, 2, 1);
  lx_sasl_server *s = xep_server();
  CHECK_INT(exchange(c, s, &pencil_12), 0);
  lx_sasl_client_free(c);
  lx_sasl_server_free(s);
}

/* A MITM strips SCRAM-SHA-1-PLUS, or a channel-binding type: the h= the
 * real server signed no longer matches what the client saw. */
TEST(xep0474_downgrade_detected) {
  const char *stripped[] = {"SCRAM-SHA-1"};
  const char *both[] = {"SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"};
  const char *types[] = {"tls-server-end-point", "tls-exporter"};
  const char *one_type[] = {"tls-server-end-point"};
  const unsigned char *out;
  size_t len;
  lx_error e;
  struct {
    const char **offered;
    size_t n;
    const char **types;
    size_t nt;
  } cases[] = {
      {stripped, 1, types, 2}, {both, 2, one_type, 1}, {both, 2, NULL, 0}};
  for (size_t i = 0; i < COUNT(cases); i++) {
    lx_sasl_client *c = xep_client(cases[i].offered, cases[i].n, cases[i].types,
                                   cases[i].nt, 0);
    lx_sasl_server *s = xep_server();
    CHECK_INT(lx_sasl_client_initial(c, &out, &len, NULL), 1);
    const char *mech = lx_sasl_client_mechanism(c);
    int r = lx_sasl_server_start(s, mech, out, len, &out, &len, NULL);
    if (r == LX_SASL_NEED_CREDENTIALS)
      r = lx_sasl_server_credentials(s, &pencil_12, &out, &len, NULL);
    if (i == 0) {
      /* stripped -PLUS: the client says 'y', the server sees a downgrade */
      CHECK_INT(r, LX_ERR_SASL_NOT_AUTHORIZED);
      r = LX_SASL_CHALLENGE;
      out = U(X_SFIRST);
      len = strlen(X_SFIRST);
    }
    CHECK_INT(r, LX_SASL_CHALLENGE);
    CHECK_INT(lx_sasl_client_step(c, out, len, &out, &len, &e),
              LX_ERR_SASL_DOWNGRADE);
    CHECK_STR(lx_strerror(e.code), "sasl-downgrade-detected");
    /* final: the same answer again, nothing else tried */
    CHECK_INT(
        lx_sasl_client_step(c, U(X_SFIRST), strlen(X_SFIRST), &out, &len, NULL),
        LX_ERR_SASL_DOWNGRADE);
    lx_sasl_client_free(c);
    lx_sasl_server_free(s);
  }
}

TEST(xep0474_required_but_absent) {
  const char *offered[] = {"SCRAM-SHA-1"};
  const unsigned char *out;
  size_t len;
  lx_sasl_client_opts o;
  lx_sasl_client *c = NULL;
  lx_sasl_client_opts_init(&o);
  o.offered = offered;
  o.n_offered = 1;
  o.username = "user";
  o.password = "pencil";
  o.require_ssdp = 1;
  CHECK_INT(sasl_client_create(&c, &o, rfc5802.cnonce, NULL), 0);
  lx_sasl_client_initial(c, &out, &len, NULL);
  CHECK_INT(lx_sasl_client_step(c, U(rfc5802.sfirst), strlen(rfc5802.sfirst),
                                &out, &len, NULL),
            LX_ERR_SASL_DOWNGRADE);
  lx_sasl_client_free(c);
}

/* ---- client failure paths ---- */

/* A client after its first message, for server-first experiments. */
static lx_sasl_client *started(const vector *v) {
  const unsigned char *out;
  size_t len;
  lx_sasl_client *c = vector_client(v);
  CHECK_INT(lx_sasl_client_initial(c, &out, &len, NULL), 1);
  return c;
}

static int client_first_reply(const char *sfirst, lx_error *e) {
  const unsigned char *out;
  size_t len;
  lx_sasl_client *c = started(&rfc5802);
  int rc = lx_sasl_client_step(c, U(sfirst), strlen(sfirst), &out, &len, e);
  lx_sasl_client_free(c);
  return rc;
}

#define RN "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j"

TEST(client_rejects_bad_server_first) {
  lx_error e;
  static const struct {
    const char *msg;
    int code;
  } cases[] = {
      /* the nonce must extend ours */
      {"r=AAAA+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,"
       "i=4096",
       LX_ERR_SASL_MALFORMED_REQUEST},
      {"r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096",
       LX_ERR_SASL_MALFORMED_REQUEST},
      {"r=fyko+d2lbbFgONRv9qkxdaw,s=QSXCR+Q6sek8bf92,i=4096",
       LX_ERR_SASL_MALFORMED_REQUEST},
      /* iteration counts */
      {RN ",s=QSXCR+Q6sek8bf92,i=4095", LX_ERR_SASL_MECHANISM_TOO_WEAK},
      {RN ",s=QSXCR+Q6sek8bf92,i=1", LX_ERR_SASL_MECHANISM_TOO_WEAK},
      {RN ",s=QSXCR+Q6sek8bf92,i=1000001", LX_ERR_SASL_MALFORMED_REQUEST},
      {RN ",s=QSXCR+Q6sek8bf92,i=2147483648", LX_ERR_SASL_MALFORMED_REQUEST},
      {RN ",s=QSXCR+Q6sek8bf92,i=99999999999999999999999",
       LX_ERR_SASL_MALFORMED_REQUEST},
      {RN ",s=QSXCR+Q6sek8bf92,i=0", LX_ERR_SASL_MALFORMED_REQUEST},
      {RN ",s=QSXCR+Q6sek8bf92,i=04096", LX_ERR_SASL_MALFORMED_REQUEST},
      {RN ",s=QSXCR+Q6sek8bf92,i=-4096", LX_ERR_SASL_MALFORMED_REQUEST},
      {RN ",s=QSXCR+Q6sek8bf92,i=4096x", LX_ERR_SASL_MALFORMED_REQUEST},
      /* salts: bad base64, non-canonical, whitespace, empty */
      {RN ",s=QSXCR+Q6sek8bf9,i=4096", LX_ERR_SASL_INCORRECT_ENCODING},
      {RN ",s=QR==,i=4096", LX_ERR_SASL_INCORRECT_ENCODING},
      {RN ",s=QSXC R+Q6sek8bf9,i=4096", LX_ERR_SASL_INCORRECT_ENCODING},
      {RN ",s=QSXCR+Q6sek8bf92\n,i=4096", LX_ERR_SASL_INCORRECT_ENCODING},
      {RN ",s=QSXC=+Q6sek8bf92,i=4096", LX_ERR_SASL_INCORRECT_ENCODING},
      {RN ",s=,i=4096", LX_ERR_SASL_MALFORMED_REQUEST},
      /* structure */
      {"", LX_ERR_SASL_MALFORMED_REQUEST},
      {",", LX_ERR_SASL_MALFORMED_REQUEST},
      {"garbage", LX_ERR_SASL_MALFORMED_REQUEST},
      {RN, LX_ERR_SASL_MALFORMED_REQUEST},
      {RN ",s=QSXCR+Q6sek8bf92", LX_ERR_SASL_MALFORMED_REQUEST},
      {"s=QSXCR+Q6sek8bf92," RN ",i=4096", LX_ERR_SASL_MALFORMED_REQUEST},
      {RN ",s=QSXCR+Q6sek8bf92,i=4096,", LX_ERR_SASL_MALFORMED_REQUEST},
      {"m=ext," RN ",s=QSXCR+Q6sek8bf92,i=4096", LX_ERR_SASL_MALFORMED_REQUEST},
      {RN ",s=QSXCR+Q6sek8bf92,i=4096,h=AAAA,h=AAAA",
       LX_ERR_SASL_MALFORMED_REQUEST},
      {RN ",s=QSXCR+Q6sek8bf92,i=4096,1=x", LX_ERR_SASL_MALFORMED_REQUEST},
      {RN ",s=QSXCR+Q6sek8bf92,i=4096,==x", LX_ERR_SASL_MALFORMED_REQUEST},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    int rc = client_first_reply(cases[i].msg, &e);
    if (rc != cases[i].code)
      fprintf(stderr, "case %zu: %s\n", i, e.detail);
    CHECK_INT(rc, cases[i].code);
  }
  /* a NUL inside */
  const unsigned char *out;
  size_t len;
  lx_sasl_client *c = started(&rfc5802);
  static const char nul[] = RN ",s=QSXCR+Q6sek8bf92,i=4096,x=a\0b";
  CHECK_INT(lx_sasl_client_step(c, U(nul), sizeof nul - 1, &out, &len, NULL),
            LX_ERR_SASL_MALFORMED_REQUEST);
  lx_sasl_client_free(c);
}

TEST(client_accepts_unknown_extensions) {
  const unsigned char *out;
  size_t len;
  lx_sasl_client *c = started(&rfc5802);
  const char *m = RN ",s=QSXCR+Q6sek8bf92,i=4096,q=whatever,z=1";
  CHECK_INT(lx_sasl_client_step(c, U(m), strlen(m), &out, &len, NULL),
            LX_SASL_RESPONSE);
  lx_sasl_client_free(c);
}

/* Sizes: limits are options; an oversized message or salt is refused. */
TEST(client_bounds_sizes) {
  char big[6000];
  lx_error e;
  unsigned char salt[300];
  memset(salt, 7, sizeof salt);
  /* 257-byte salt: over the default 256 */
  snprintf(big, sizeof big, RN ",s=%s,i=4096", b64(salt, 257));
  CHECK_INT(client_first_reply(big, &e), LX_ERR_SASL_MALFORMED_REQUEST);
  /* 256 bytes pass; so does 125 (libstrophe's assert) */
  snprintf(big, sizeof big, RN ",s=%s,i=4096", b64(salt, 256));
  CHECK_INT(client_first_reply(big, &e), LX_SASL_RESPONSE);
  snprintf(big, sizeof big, RN ",s=%s,i=4096", b64(salt, 125));
  CHECK_INT(client_first_reply(big, &e), LX_SASL_RESPONSE);
  /* a message over max_message */
  int n = snprintf(big, sizeof big, RN ",s=QSXCR+Q6sek8bf92,i=4096,x=");
  memset(big + n, 'a', 4200);
  big[n + 4200] = '\0';
  CHECK_INT(client_first_reply(big, &e), LX_ERR_SASL_MALFORMED_REQUEST);
  /* 33 attributes */
  n = snprintf(big, sizeof big, RN ",s=QSXCR+Q6sek8bf92,i=4096");
  for (int i = 0; i < 30; i++)
    n += snprintf(big + n, sizeof big - (size_t)n, ",x=1");
  CHECK_INT(client_first_reply(big, &e), LX_ERR_SASL_MALFORMED_REQUEST);
  /* a nonce over 512 bytes */
  n = snprintf(big, sizeof big, RN);
  memset(big + n, 'b', 600);
  snprintf(big + n + 600, sizeof big - (size_t)n - 600,
           ",s=QSXCR+Q6sek8bf92,i=4096");
  CHECK_INT(client_first_reply(big, &e), LX_ERR_SASL_MALFORMED_REQUEST);
}

TEST(client_iteration_limits_are_options) {
  const char *offered[] = {"SCRAM-SHA-1"};
  const unsigned char *out;
  size_t len;
  lx_sasl_client_opts o;
  lx_sasl_client *c = NULL;
  lx_sasl_client_opts_init(&o);
  o.offered = offered;
  o.n_offered = 1;
  o.username = "user";
  o.password = "pencil";
  o.min_iterations = 1;
  o.max_iterations = 4096;
  CHECK_INT(lx_sasl_client_new(&c, &o, NULL), 0);
  CHECK_INT(lx_sasl_client_initial(c, &out, &len, NULL), 1);
  char m[200];
  snprintf(m, sizeof m, "%s%s,s=QSXCR+Q6sek8bf92,i=1", str(out + 10, len - 10),
           "ext");
  CHECK_INT(lx_sasl_client_step(c, U(m), strlen(m), &out, &len, NULL),
            LX_SASL_RESPONSE);
  lx_sasl_client_free(c);
  o.max_iterations = 0;
  CHECK_INT(lx_sasl_client_new(&c, &o, NULL), LX_ERR_INVALID);
}

TEST(client_verifies_server_signature) {
  const unsigned char *out;
  size_t len;
  lx_error e;
  /* tampered v= (valid base64 of another value) */
  lx_sasl_client *c = started(&rfc5802);
  lx_sasl_client_step(c, U(rfc5802.sfirst), strlen(rfc5802.sfirst), &out, &len,
                      NULL);
  const char *bad = "v=AmF9pqV8S7suAoZWja4dJRkFsKQ=";
  CHECK_INT(lx_sasl_client_finish(c, U(bad), strlen(bad), &e),
            LX_ERR_SASL_SERVER_SIGNATURE);
  CHECK_STR(lx_strerror(e.code), "sasl-server-signature-invalid");
  /* a failure is final: even the right signature is refused now */
  CHECK_INT(
      lx_sasl_client_finish(c, U(rfc5802.sfinal), strlen(rfc5802.sfinal), NULL),
      LX_ERR_SASL_SERVER_SIGNATURE);
  CHECK_INT(lx_sasl_client_keys(c, &(lx_scram_keys){0}), LX_ERR_STATE);
  lx_sasl_client_free(c);

  /* a success without v= */
  c = started(&rfc5802);
  lx_sasl_client_step(c, U(rfc5802.sfirst), strlen(rfc5802.sfirst), &out, &len,
                      NULL);
  CHECK_INT(lx_sasl_client_finish(c, NULL, 0, NULL),
            LX_ERR_SASL_SERVER_SIGNATURE);
  lx_sasl_client_free(c);

  /* a bare success right after client-first (libstrophe accepts this) */
  c = started(&rfc5802);
  CHECK_INT(lx_sasl_client_finish(c, NULL, 0, NULL),
            LX_ERR_SASL_SERVER_SIGNATURE);
  lx_sasl_client_free(c);

  /* v= of the wrong length, bad base64, or neither v= nor e= */
  const char *bads[] = {"v=rmF9pqV8S7suAoZWja4dJRkF", "v=rmF9pqV8S7suAoZ!!",
                        "x=rmF9pqV8S7suAoZWja4dJRkFsKQ="};
  int codes[] = {LX_ERR_SASL_SERVER_SIGNATURE, LX_ERR_SASL_INCORRECT_ENCODING,
                 LX_ERR_SASL_MALFORMED_REQUEST};
  for (size_t i = 0; i < COUNT(bads); i++) {
    c = started(&rfc5802);
    lx_sasl_client_step(c, U(rfc5802.sfirst), strlen(rfc5802.sfirst), &out,
                        &len, NULL);
    CHECK_INT(lx_sasl_client_finish(c, U(bads[i]), strlen(bads[i]), NULL),
              codes[i]);
    lx_sasl_client_free(c);
  }

  /* the server's e= is surfaced */
  c = started(&rfc5802);
  lx_sasl_client_step(c, U(rfc5802.sfirst), strlen(rfc5802.sfirst), &out, &len,
                      NULL);
  CHECK_INT(lx_sasl_client_finish(c, U("e=invalid-proof"), 15, &e),
            LX_ERR_SASL_NOT_AUTHORIZED);
  CHECK(strstr(e.detail, "invalid-proof") != NULL);
  lx_sasl_client_free(c);

  /* server-final as a challenge, then an empty success */
  c = started(&rfc5802);
  lx_sasl_client_step(c, U(rfc5802.sfirst), strlen(rfc5802.sfirst), &out, &len,
                      NULL);
  CHECK_INT(lx_sasl_client_step(c, U(rfc5802.sfinal), strlen(rfc5802.sfinal),
                                &out, &len, NULL),
            LX_SASL_RESPONSE);
  CHECK_INT(len, 0);
  CHECK_INT(lx_sasl_client_finish(c, NULL, 0, NULL), 0);
  lx_sasl_client_free(c);
}

TEST(client_wrong_password_is_refused_by_server) {
  vector v = rfc5802;
  v.pass = "pencil2";
  lx_sasl_client *c = vector_client(&v);
  lx_sasl_server *s = vector_server(&rfc5802);
  lx_sasl_credentials cred = pencil_12;
  CHECK_INT(exchange(c, s, &cred), LX_ERR_SASL_NOT_AUTHORIZED);
  lx_sasl_client_free(c);
  lx_sasl_server_free(s);
}

/* Reconnects with the cached keys skip PBKDF2 and need no password. */
TEST(client_cached_keys) {
  lx_sasl_client *c = vector_client(&rfc5802);
  const unsigned char *out;
  size_t len;
  lx_sasl_client_initial(c, &out, &len, NULL);
  lx_sasl_client_step(c, U(rfc5802.sfirst), strlen(rfc5802.sfirst), &out, &len,
                      NULL);
  CHECK_INT(
      lx_sasl_client_finish(c, U(rfc5802.sfinal), strlen(rfc5802.sfinal), NULL),
      0);
  lx_scram_keys k;
  CHECK_INT(lx_sasl_client_keys(c, &k), 0);
  CHECK_STR(hex(k.client_key, 20), "e234c47bf6c36696dd6d852b99aaa2ba26555728");
  CHECK_STR(hex(k.server_key, 20), "0fe09258b3ac852ba502cc62ba903eaacdbf7d31");

  const char *offered[] = {"SCRAM-SHA-1"};
  lx_sasl_client_opts o;
  lx_sasl_client *c2 = NULL;
  lx_sasl_client_opts_init(&o);
  o.offered = offered;
  o.n_offered = 1;
  o.username = "user";
  o.keys = &k;
  CHECK_INT(sasl_client_create(&c2, &o, rfc5802.cnonce, NULL), 0);
  lx_sasl_client_initial(c2, &out, &len, NULL);
  CHECK_INT(lx_sasl_client_step(c2, U(rfc5802.sfirst), strlen(rfc5802.sfirst),
                                &out, &len, NULL),
            LX_SASL_RESPONSE);
  CHECK_STR(str(out, len), rfc5802.cfinal);
  CHECK_INT(lx_sasl_client_finish(c2, U(rfc5802.sfinal), strlen(rfc5802.sfinal),
                                  NULL),
            0);
  lx_sasl_client_free(c2);

  /* another salt (the password changed): without a password, expired */
  const char *other = RN ",s=QSXCR+Q6sek8bf93,i=4096";
  lx_error e;
  CHECK_INT(sasl_client_create(&c2, &o, rfc5802.cnonce, NULL), 0);
  lx_sasl_client_initial(c2, &out, &len, NULL);
  CHECK_INT(lx_sasl_client_step(c2, U(other), strlen(other), &out, &len, &e),
            LX_ERR_SASL_CREDENTIALS_EXPIRED);
  lx_sasl_client_free(c2);
  /* with the password as well, it derives afresh */
  o.password = "pencil";
  CHECK_INT(sasl_client_create(&c2, &o, rfc5802.cnonce, NULL), 0);
  lx_sasl_client_initial(c2, &out, &len, NULL);
  CHECK_INT(lx_sasl_client_step(c2, U(other), strlen(other), &out, &len, &e),
            LX_SASL_RESPONSE);
  lx_sasl_client_free(c2);
  /* keys for another hash do not make SCRAM-SHA-256 possible */
  const char *only256[] = {"SCRAM-SHA-256"};
  o.password = NULL;
  o.offered = only256;
  CHECK_INT(lx_sasl_client_new(&c2, &o, NULL), LX_ERR_SASL_INVALID_MECHANISM);
  lx_sasl_client_free(c);
}

/* ---- server failure paths ---- */

static int server_first_reply(lx_sasl_server *s, const char *mech,
                              const char *msg, lx_error *e) {
  const unsigned char *out;
  size_t len;
  return sasl_server_start(s, rfc5802.snonce, mech, U(msg), strlen(msg), &out,
                           &len, e);
}

TEST(server_rejects_bad_client_first) {
  lx_error e;
  lx_sasl_server *s = vector_server(&rfc5802);
  static const struct {
    const char *msg;
    int code;
  } cases[] = {
      {"", LX_ERR_SASL_MALFORMED_REQUEST},
      {"n", LX_ERR_SASL_MALFORMED_REQUEST},
      {"x,,n=user,r=abc", LX_ERR_SASL_MALFORMED_REQUEST},
      {"n,n=user,r=abc", LX_ERR_SASL_MALFORMED_REQUEST},
      {"n,,r=abc,n=user", LX_ERR_SASL_MALFORMED_REQUEST},
      {"n,,n=user", LX_ERR_SASL_MALFORMED_REQUEST},
      {"n,,n=user,r=", LX_ERR_SASL_MALFORMED_REQUEST},
      {"n,,n=user,r=a b", LX_ERR_SASL_MALFORMED_REQUEST},
      {"n,,m=x,n=user,r=abc", LX_ERR_SASL_MALFORMED_REQUEST},
      {"n,,n=us=2Der,r=abc", LX_ERR_SASL_MALFORMED_REQUEST},
      {"n,,n=us=,r=abc", LX_ERR_SASL_MALFORMED_REQUEST},
      {"n,b=x,n=user,r=abc", LX_ERR_SASL_MALFORMED_REQUEST},
      {"n,a=,n=user,r=abc", LX_ERR_SASL_MALFORMED_REQUEST},
      /* channel binding asked for a mechanism without -PLUS */
      {"p=tls-exporter,,n=user,r=abc", LX_ERR_SASL_MALFORMED_REQUEST},
      /* a name that is no localpart */
      {"n,,n=user@example.org,r=abc", LX_ERR_SASL_NOT_AUTHORIZED},
      {"n,,n=us er,r=abc", LX_ERR_SASL_NOT_AUTHORIZED},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    int rc = server_first_reply(s, "SCRAM-SHA-1", cases[i].msg, &e);
    if (rc != cases[i].code)
      fprintf(stderr, "case %zu: %s\n", i, e.detail);
    CHECK_INT(rc, cases[i].code);
  }
  /* the username is prepared (case-mapped), =2C and =3D decoded, the
   * authzid reported */
  CHECK_INT(server_first_reply(s, "SCRAM-SHA-1",
                               "n,a=juliet@example.com,n=USER=2Cx=3Dy,r=abc",
                               &e),
            LX_SASL_NEED_CREDENTIALS);
  CHECK_STR(lx_sasl_server_request(s)->username, "user,x=y");
  CHECK_STR(lx_sasl_server_request(s)->authzid, "juliet@example.com");
  /* a 'y' flag is fine when we offer no -PLUS */
  CHECK_INT(server_first_reply(s, "SCRAM-SHA-1", "y,,n=user,r=abc", &e),
            LX_SASL_NEED_CREDENTIALS);
  /* a mechanism we did not offer */
  CHECK_INT(server_first_reply(s, "SCRAM-SHA-256", "n,,n=user,r=abc", &e),
            LX_ERR_SASL_INVALID_MECHANISM);
  CHECK_INT(server_first_reply(s, "SCRAM-SHA-1-PLUS", "n,,n=user,r=abc", &e),
            LX_ERR_SASL_INVALID_MECHANISM);
  CHECK_INT(server_first_reply(s, "X-UNKNOWN", "", &e),
            LX_ERR_SASL_INVALID_MECHANISM);
  lx_sasl_server_free(s);
}

TEST(server_channel_binding_rules) {
  lx_error e;
  lx_sasl_server *s = xep_server();
  /* 'y' while we offer -PLUS: a downgrade */
  CHECK_INT(server_first_reply(s, "SCRAM-SHA-1", "y,,n=user,r=abc", &e),
            LX_ERR_SASL_NOT_AUTHORIZED);
  CHECK(strstr(e.detail, "server-does-support-channel-binding") != NULL);
  /* -PLUS without binding, a type we do not have */
  CHECK_INT(server_first_reply(s, "SCRAM-SHA-1-PLUS", "n,,n=user,r=abc", &e),
            LX_ERR_SASL_MALFORMED_REQUEST);
  CHECK_INT(server_first_reply(s, "SCRAM-SHA-1-PLUS",
                               "p=tls-unique,,n=user,r=abc", &e),
            LX_ERR_SASL_MALFORMED_REQUEST);
  CHECK_INT(server_first_reply(s, "SCRAM-SHA-1-PLUS",
                               "p=tls exporter,,n=user,r=abc", &e),
            LX_ERR_SASL_MALFORMED_REQUEST);
  /* strictly, a 'y' stays a downgrade after a type we lack */
  CHECK_INT(server_first_reply(s, "SCRAM-SHA-1", "y,,n=user,r=abc", &e),
            LX_ERR_SASL_NOT_AUTHORIZED);
  /* 'n' with a non-PLUS mechanism is allowed */
  CHECK_INT(server_first_reply(s, "SCRAM-SHA-1", "n,,n=user,r=abc", &e),
            LX_SASL_NEED_CREDENTIALS);
  lx_sasl_server_free(s);

  /* cb_fallback: a 'y' is taken once the client asked for a type we lack
   * (it saw our -PLUS: slixmpp's tls-unique on TLS 1.3), not before */
  s = xep_server_with(1);
  CHECK_INT(server_first_reply(s, "SCRAM-SHA-1", "y,,n=user,r=abc", &e),
            LX_ERR_SASL_NOT_AUTHORIZED);
  CHECK_INT(lx_sasl_server_cb_unsupported(s), 0);
  CHECK_INT(server_first_reply(s, "SCRAM-SHA-1-PLUS",
                               "p=tls-unique,,n=user,r=abc", &e),
            LX_ERR_SASL_MALFORMED_REQUEST);
  CHECK_INT(lx_sasl_server_cb_unsupported(s), 1);
  CHECK_INT(server_first_reply(s, "SCRAM-SHA-1", "y,,n=user,r=abc", &e),
            LX_SASL_NEED_CREDENTIALS);
  CHECK_INT(lx_sasl_server_cb_unsupported(s), 0);
  lx_sasl_server_free(s);

  /* binding data that differs: the client's session is not ours */
  const char *offered[] = {"SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"};
  lx_sasl_client_opts o;
  lx_sasl_client *c = NULL;
  const char *types[] = {"tls-server-end-point", "tls-exporter"};
  lx_sasl_cb other = {"tls-exporter", U("OTHER CB DATA"), 13};
  lx_sasl_client_opts_init(&o);
  o.offered = offered;
  o.n_offered = 2;
  o.cb_types = types;
  o.n_cb_types = 2;
  o.cb = &other;
  o.n_cb = 1;
  o.username = "user";
  o.password = "pencil";
  CHECK_INT(lx_sasl_client_new(&c, &o, NULL), 0);
  s = xep_server();
  CHECK_INT(exchange(c, s, &pencil_12), LX_ERR_SASL_NOT_AUTHORIZED);
  lx_sasl_client_free(c);
  lx_sasl_server_free(s);
}

/* The server after a valid client-first and the RFC 5802 credentials. */
static lx_sasl_server *at_final(void) {
  const unsigned char *out;
  size_t len;
  lx_sasl_server *s = vector_server(&rfc5802);
  CHECK_INT(server_first_reply(s, "SCRAM-SHA-1", rfc5802.cfirst, NULL),
            LX_SASL_NEED_CREDENTIALS);
  CHECK_INT(lx_sasl_server_credentials(s, &pencil_12, &out, &len, NULL),
            LX_SASL_CHALLENGE);
  return s;
}

#define CR "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j"

TEST(server_rejects_bad_client_final) {
  static const struct {
    const char *msg;
    int code;
  } cases[] = {
      {CR ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", LX_SASL_SUCCESS},
      {CR ",p=w0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", LX_ERR_SASL_NOT_AUTHORIZED},
      {CR ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4T", LX_ERR_SASL_INCORRECT_ENCODING},
      {CR ",p=v0X8v3Bz2T0CJGbJQyF0X+HI", LX_ERR_SASL_MALFORMED_REQUEST},
      {CR ",p=", LX_ERR_SASL_MALFORMED_REQUEST},
      {CR, LX_ERR_SASL_MALFORMED_REQUEST},
      {"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7X,"
       "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
       LX_ERR_SASL_NOT_AUTHORIZED},
      {"c=eSws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
       "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
       LX_ERR_SASL_NOT_AUTHORIZED},
      {"c=biw,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
       "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
       LX_ERR_SASL_INCORRECT_ENCODING},
      {"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,c=biws,"
       "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
       LX_ERR_SASL_MALFORMED_REQUEST},
      /* an extension between r= and p= changes AuthMessage: wrong proof */
      {CR ",x=1,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", LX_ERR_SASL_NOT_AUTHORIZED},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    const unsigned char *out;
    size_t len;
    lx_error e;
    lx_sasl_server *s = at_final();
    int rc = lx_sasl_server_step(s, U(cases[i].msg), strlen(cases[i].msg), &out,
                                 &len, &e);
    if (rc != cases[i].code)
      fprintf(stderr, "case %zu: %s\n", i, e.detail);
    CHECK_INT(rc, cases[i].code);
    /* after a failure the server takes a new attempt */
    if (rc < 0)
      CHECK_INT(server_first_reply(s, "SCRAM-SHA-1", rfc5802.cfirst, NULL),
                LX_SASL_NEED_CREDENTIALS);
    lx_sasl_server_free(s);
  }
}

TEST(server_credentials_answers) {
  const unsigned char *out;
  size_t len;
  lx_error e;
  lx_sasl_server *s = vector_server(&rfc5802);
  CHECK_INT(server_first_reply(s, "SCRAM-SHA-1", rfc5802.cfirst, NULL),
            LX_SASL_NEED_CREDENTIALS);
  /* the caller's mistakes leave the request pending */
  unsigned char k[64] = {0};
  lx_sasl_credentials bad = {.keys = {.hash = LX_SASL_SHA256,
                                      .salt = U("s"),
                                      .salt_len = 1,
                                      .iterations = 4096,
                                      .stored_key = k,
                                      .server_key = k}};
  CHECK_INT(lx_sasl_server_credentials(s, &bad, &out, &len, &e),
            LX_ERR_INVALID);
  lx_sasl_credentials accept = {.verdict = LX_SASL_ACCEPT};
  CHECK_INT(lx_sasl_server_credentials(s, &accept, &out, &len, &e),
            LX_ERR_INVALID);
  lx_sasl_credentials none = {0};
  CHECK_INT(lx_sasl_server_credentials(s, &none, &out, &len, &e),
            LX_ERR_INVALID);
  lx_sasl_credentials weird = {.verdict = -5};
  CHECK_INT(lx_sasl_server_credentials(s, &weird, &out, &len, &e),
            LX_ERR_INVALID);
  CHECK_INT(lx_sasl_server_step(s, U("x"), 1, &out, &len, &e), LX_ERR_STATE);
  /* the application refuses: that condition goes on the wire */
  lx_sasl_credentials disabled = {.verdict = LX_ERR_SASL_ACCOUNT_DISABLED};
  CHECK_INT(lx_sasl_server_credentials(s, &disabled, &out, &len, &e),
            LX_ERR_SASL_ACCOUNT_DISABLED);
  CHECK_INT(lx_sasl_server_credentials(s, &disabled, &out, &len, &e),
            LX_ERR_STATE);
  lx_sasl_server_free(s);

  /* a password without salt: a fresh random salt, the default count */
  s = vector_server(&rfc5802);
  server_first_reply(s, "SCRAM-SHA-1", rfc5802.cfirst, NULL);
  lx_sasl_credentials pw = {.password = "pencil"};
  CHECK_INT(lx_sasl_server_credentials(s, &pw, &out, &len, NULL),
            LX_SASL_CHALLENGE);
  CHECK(strstr(str(out, len), ",i=10000") != NULL);
  CHECK(strstr(str(out, len), ",s=QSXCR") == NULL);
  CHECK_INT(len, strlen(RN) + strlen(",s=") + 24 + strlen(",i=10000"));
  lx_sasl_server_free(s);
}

/* Two attempts get different nonces; 32 random base64 characters each. */
TEST(server_nonce_is_fresh) {
  lx_sasl_server_opts o;
  lx_sasl_server *s = NULL;
  const unsigned char *out;
  size_t len;
  char first[4096];
  lx_sasl_server_opts_init(&o);
  o.ssdp = 0;
  CHECK_INT(lx_sasl_server_new(&s, &o, NULL), 0);
  for (int i = 0; i < 2; i++) {
    const char *cfirst = "n,,n=user,r=abc";
    lx_sasl_server_start(s, "SCRAM-SHA-256", U(cfirst), strlen(cfirst), &out,
                         &len, NULL);
    CHECK_INT(lx_sasl_server_credentials(s, &pencil_12, &out, &len, NULL),
              LX_SASL_CHALLENGE);
    const char *m = str(out, len);
    CHECK(strncmp(m, "r=abc", 5) == 0 && strchr(m, ',') - m == 5 + 32);
    if (i == 0)
      snprintf(first, sizeof first, "%s", m);
    else
      CHECK(strcmp(first, m) != 0);
  }
  lx_sasl_server_free(s);
}

/* Fails the first call, then gives zeros. */
static int failing_random(void *user, unsigned char *out, size_t n) {
  int *calls = user;
  memset(out, 0, n);
  return (*calls)++ == 0 ? -1 : 0;
}

/* Every random byte comes from the options' random: the client's nonce
 * (RFC 6120 §9's is base64 of 24 bytes, so its exchange is reproduced
 * through the public API), the server's nonce part and the salt it makes
 * for a password given without one. */
TEST(random_source_gives_nonces_and_salts) {
  const unsigned char *out;
  size_t len;
  unsigned char bytes[24];
  fixed_random r = {bytes, unb64(rfc6120.cnonce, bytes, sizeof bytes), 0, 0};
  CHECK_INT(r.len, 24);
  const char *offered[] = {"SCRAM-SHA-1"};
  lx_sasl_client_opts o;
  lx_sasl_client *c = NULL;
  lx_sasl_client_opts_init(&o);
  o.offered = offered;
  o.n_offered = 1;
  o.username = rfc6120.user;
  o.password = rfc6120.pass;
  o.random = fixed_random_fn;
  o.random_user = &r;
  CHECK_INT(lx_sasl_client_new(&c, &o, NULL), 0);
  CHECK_INT(r.calls, 1);
  CHECK_INT(lx_sasl_client_initial(c, &out, &len, NULL), 1);
  CHECK_STR(str(out, len), rfc6120.cfirst);
  CHECK_INT(lx_sasl_client_step(c, U(rfc6120.sfirst), strlen(rfc6120.sfirst),
                                &out, &len, NULL),
            LX_SASL_RESPONSE);
  CHECK_STR(str(out, len), rfc6120.cfinal);
  CHECK_INT(
      lx_sasl_client_finish(c, U(rfc6120.sfinal), strlen(rfc6120.sfinal), NULL),
      0);
  lx_sasl_client_free(c);

  /* the server: call 1 is the nonce part, call 2 the salt (bytes 2) */
  fixed_random sr = {0};
  lx_sasl_server_opts so;
  lx_sasl_server *s = NULL;
  lx_sasl_server_opts_init(&so);
  so.ssdp = 0;
  so.random = fixed_random_fn;
  so.random_user = &sr;
  CHECK_INT(lx_sasl_server_new(&s, &so, NULL), 0);
  CHECK_INT(lx_sasl_server_start(s, "SCRAM-SHA-1", U(rfc6120.cfirst),
                                 strlen(rfc6120.cfirst), &out, &len, NULL),
            LX_SASL_NEED_CREDENTIALS);
  lx_sasl_credentials pw = {.password = "r0m30myr0m30"};
  CHECK_INT(lx_sasl_server_credentials(s, &pw, &out, &len, NULL),
            LX_SASL_CHALLENGE);
  unsigned char ones[24], twos[16];
  memset(ones, 1, sizeof ones);
  memset(twos, 2, sizeof twos);
  char want[256];
  snprintf(want, sizeof want, "r=%s", rfc6120.cnonce);
  snprintf(want + strlen(want), sizeof want - strlen(want), "%s",
           b64(ones, sizeof ones));
  snprintf(want + strlen(want), sizeof want - strlen(want), ",s=%s,i=10000",
           b64(twos, sizeof twos));
  CHECK_STR(str(out, len), want);
  lx_sasl_server_free(s);

  /* no random bytes: the exchange cannot start, and (lx_error_is_fatal) the
   * server is out of order from then on */
  lx_error e;
  int calls = 0;
  o.random = failing_random;
  o.random_user = &calls;
  CHECK_INT(lx_sasl_client_new(&c, &o, &e), LX_ERR_INTERNAL);
  CHECK(c == NULL);
  calls = 0;
  so.random = failing_random;
  so.random_user = &calls;
  CHECK_INT(lx_sasl_server_new(&s, &so, NULL), 0);
  for (int i = 0; i < 2; i++)
    CHECK_INT(lx_sasl_server_start(s, "SCRAM-SHA-1", U(rfc6120.cfirst),
                                   strlen(rfc6120.cfirst), &out, &len, &e),
              LX_ERR_INTERNAL);
  CHECK(strstr(e.detail, "out of order") != NULL);
  CHECK_INT(lx_error_is_fatal(e.code), 1);
  lx_sasl_server_free(s);
}

/* ---- password and username preparation ---- */

/* The StoredKey of a password as hex, or "refused". */
static const char *stored_of(const char *pw) {
  static char out[41];
  unsigned char sk[20];
  lx_error e;
  int rc = lx_scram_derive(LX_SASL_SHA1, pw, strlen(pw), U("salt"), 4, 1, NULL,
                           sk, NULL, &e);
  snprintf(out, sizeof out, "%s", rc ? "refused" : hex(sk, 20));
  return out;
}

static int same_password(const char *a, const char *b) {
  char ka[41];
  snprintf(ka, sizeof ka, "%s", stored_of(a));
  return strcmp(ka, "refused") != 0 && strcmp(ka, stored_of(b)) == 0;
}

/* RFC 4013 §3's examples through OpaqueString (RFC 8265 §4.2), which SCRAM
 * uses as SASLprep's successor. Where the two agree, the RFC 4013 result;
 * where RFC 8265 differs, its behaviour (noted per line). */
TEST(password_preparation_rfc4013) {
  /* agreeing rows */
  CHECK(same_password("user", "user"));
  CHECK(!same_password("USER", "user"));   /* no case mapping: "USER" */
  CHECK_STR(stored_of("\x07"), "refused"); /* U+0007: prohibited */
  /* both map non-ASCII spaces to U+0020 and normalise (NFKC / NFC) */
  CHECK(same_password("I\xc2\xa0X", "I X"));
  CHECK(same_password("\xc3\xa9", "e\xcc\x81"));
  /* RFC 4013: I<U+00AD>X -> "IX" (mapped to nothing); RFC 8265: U+00AD is
   * a default-ignorable code point, disallowed */
  CHECK_STR(stored_of("I\xc2\xadX"), "refused");
  /* RFC 4013: U+00AA -> "a" and U+2168 -> "IX" (NFKC); RFC 8265 keeps them
   * (NFC; compatibility characters are allowed in FreeformClass) */
  CHECK(!same_password("\xc2\xaa", "a"));
  CHECK(same_password("\xc2\xaa", "\xc2\xaa"));
  CHECK(!same_password("\xe2\x85\xa8", "IX"));
  /* RFC 4013: <U+0627><U+0031> fails the bidi check; RFC 8265 has no
   * directionality rule for OpaqueString */
  CHECK(strcmp(stored_of("\xd8\xa7"
                         "1"),
               "refused") != 0);
  /* empty and invalid UTF-8 */
  CHECK_STR(stored_of(""), "refused");
  CHECK_STR(stored_of("\xc3"), "refused");
}

/* The same rules hold end to end, and a refused password's detail does not
 * name its code points. */
TEST(password_preparation_end_to_end) {
  static const struct {
    const char *client, *server;
    int rc;
  } v[] = {{"pass\xc2\xa0word", "pass word", 0},
           {"\xe2\x85\xa8", "\xe2\x85\xa8", 0},
           {"\xe2\x85\xa8", "IX", LX_ERR_SASL_NOT_AUTHORIZED},
           {"caf\xc3\xa9", "cafe\xcc\x81", 0}};
  for (size_t i = 0; i < COUNT(v); i++) {
    vector x = rfc5802;
    x.pass = v[i].client;
    lx_sasl_client *c = vector_client(&x);
    lx_sasl_server *s = vector_server(&rfc5802);
    lx_sasl_credentials cred = pencil_12;
    cred.password = v[i].server;
    CHECK_INT(exchange(c, s, &cred), v[i].rc);
    lx_sasl_client_free(c);
    lx_sasl_server_free(s);
  }
  const char *offered[] = {"SCRAM-SHA-1"};
  lx_sasl_client_opts o;
  lx_sasl_client *c = NULL;
  lx_error e;
  lx_sasl_client_opts_init(&o);
  o.offered = offered;
  o.n_offered = 1;
  o.username = "user";
  o.password = "I\xc2\xadX";
  CHECK_INT(lx_sasl_client_new(&c, &o, &e), LX_ERR_INVALID);
  CHECK(strstr(e.detail, "OpaqueString") != NULL);
  CHECK(strstr(e.detail, "U+") == NULL);
  unsigned char k[20];
  CHECK_INT(lx_scram_derive(LX_SASL_SHA1, o.password, strlen(o.password),
                            U("s"), 1, 1, k, NULL, NULL, &e),
            LX_ERR_INVALID);
  CHECK(strstr(e.detail, "U+") == NULL);
}

/* The server prepares the username as a localpart (UsernameCaseMapped). */
TEST(username_preparation) {
  static const struct {
    const char *sent, *prepared; /* NULL: refused */
  } v[] = {{"USER", "user"},
           {"\xef\xbc\xb5\xef\xbc\xb3\xef\xbc\xa5\xef\xbc\xb2",
            "user"}, /* full-width USER: width-mapped, case-mapped */
           {"\xce\x9f\xce\x94\xce\x9f\xce\xa3", "\xce\xbf\xce\xb4\xce\xbf"
                                                "\xcf\x82"}, /* final sigma */
           {"I\xc2\xadX", NULL}, /* default ignorable */
           /* RFC 5893's bidi rule: an RTL label may end with a digit (RFC
            * 4013's <U+0627><U+0031> passes) but not start with one */
           {"\xd8\xa7"
            "1",
            "\xd8\xa7"
            "1"},
           {"1\xd8\xa7", NULL},
           {"a b", NULL},           /* space */
           {"\xe2\x85\xa8", NULL}}; /* compatibility character */
  for (size_t i = 0; i < COUNT(v); i++) {
    char msg[128];
    lx_error e;
    snprintf(msg, sizeof msg, "n,,n=%s,r=abc", v[i].sent);
    lx_sasl_server *s = vector_server(&rfc5802);
    int rc = server_first_reply(s, "SCRAM-SHA-1", msg, &e);
    if (v[i].prepared) {
      CHECK_INT(rc, LX_SASL_NEED_CREDENTIALS);
      CHECK_STR(lx_sasl_server_request(s)->username, v[i].prepared);
    } else {
      CHECK_INT(rc, LX_ERR_SASL_NOT_AUTHORIZED);
    }
    lx_sasl_server_free(s);
  }
}

int main(void) {
  RUN(client_vectors);
  RUN(server_vectors_with_password);
  RUN(server_vectors_with_stored_keys);
  RUN(rfc6120_wire_form);
  RUN(derive_rfc5802_keys);
  RUN(derive_rfc6070_pbkdf2);
  RUN(derive_rejects_bad_input);
  RUN(password_preparation_rfc4013);
  RUN(password_preparation_end_to_end);
  RUN(username_preparation);
  RUN(xep0474_server);
  RUN(xep0474_ssdp_input);
  RUN(xep0474_client);
  RUN(xep0474_downgrade_detected);
  RUN(xep0474_required_but_absent);
  RUN(client_rejects_bad_server_first);
  RUN(client_accepts_unknown_extensions);
  RUN(client_bounds_sizes);
  RUN(client_iteration_limits_are_options);
  RUN(client_verifies_server_signature);
  RUN(client_wrong_password_is_refused_by_server);
  RUN(client_cached_keys);
  RUN(server_rejects_bad_client_first);
  RUN(server_channel_binding_rules);
  RUN(server_rejects_bad_client_final);
  RUN(server_credentials_answers);
  RUN(server_nonce_is_fresh);
  RUN(random_source_gives_nonces_and_salts);
  return check_summary();
}

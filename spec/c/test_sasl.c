/* test_sasl.c: the strict base64 codec, the client's choice of mechanism,
 * PLAIN (RFC 4616), EXTERNAL, ANONYMOUS, DIGEST-MD5 (RFC 2831 and the XMPP
 * flavour), and our client against our server for every mechanism, with
 * channel-binding data from real TLS 1.3 and TLS 1.2 sessions (lx_tls on
 * OpenSSL, in memory, with a throwaway certificate). */
#include "sasl_util.h"

/* ---- base64 ---- */

TEST(base64_strict) {
  unsigned char out[16];
  size_t n;
  static const struct {
    const char *in, *out;
  } good[] = {{"", ""},
              {"Zg==", "f"},
              {"Zm8=", "fo"},
              {"Zm9v", "foo"},
              {"Zm9vYg==", "foob"},
              {"Zm9vYmE=", "fooba"},
              {"Zm9vYmFy", "foobar"}};
  for (size_t i = 0; i < COUNT(good); i++) {
    CHECK_INT(
        base64_decode(good[i].in, strlen(good[i].in), out, sizeof out, &n), 0);
    CHECK(n == strlen(good[i].out) && memcmp(out, good[i].out, n) == 0);
    CHECK_STR(b64(good[i].out, strlen(good[i].out)), good[i].in);
  }
  /* whitespace, bad length, misplaced or excess padding, non-zero
   * trailing bits, characters outside the alphabet */
  const char *bad[] = {
      "Zg",   "Zg=",  "Zg===",    "Z===", "====", "Zm9v\n", " Zm9v", "Zm 9v",
      "Zh==", "Zm9=", "Zg==Zg==", "Zm-v", "Zm_v", "Zm9v=",  "Z=9v"};
  for (size_t i = 0; i < COUNT(bad); i++)
    CHECK_INT(base64_decode(bad[i], strlen(bad[i]), out, sizeof out, &n), -1);
  /* too long for the output */
  CHECK_INT(base64_decode("Zm9vYmFy", 8, out, 5, &n), -1);
}

/* ---- the client's choice ---- */

static const char *all_offered[] = {"SCRAM-SHA-1",   "SCRAM-SHA-1-PLUS",
                                    "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS",
                                    "SCRAM-SHA-512", "SCRAM-SHA-512-PLUS",
                                    "PLAIN",         "DIGEST-MD5",
                                    "EXTERNAL",      "ANONYMOUS",
                                    "X-OAUTH2"};

static lx_sasl_client_opts base_opts(void) {
  lx_sasl_client_opts o;
  lx_sasl_client_opts_init(&o);
  o.offered = all_offered;
  o.n_offered = COUNT(all_offered);
  o.username = "juliet";
  o.password = "r0m30myr0m30";
  o.host = "im.example.com";
  o.tls = 1;
  return o;
}

/* The mechanism chosen for o, or the error code's name. */
static const char *chosen(const lx_sasl_client_opts *o) {
  static char name[64];
  lx_sasl_client *c = NULL;
  int rc = lx_sasl_client_new(&c, o, NULL);
  snprintf(name, sizeof name, "%s",
           rc ? lx_strerror(rc) : lx_sasl_client_mechanism(c));
  lx_sasl_client_free(c);
  return name;
}

/* The GS2 header the chosen SCRAM mechanism sends. */
static const char *gs2_of(const lx_sasl_client_opts *o) {
  static char gs2[64];
  lx_sasl_client *c = NULL;
  const unsigned char *out;
  size_t len;
  gs2[0] = '\0';
  if (lx_sasl_client_new(&c, o, NULL) == 0 &&
      lx_sasl_client_initial(c, &out, &len, NULL) == 1) {
    const char *m = str(out, len), *end = strchr(strchr(m, ',') + 1, ',');
    snprintf(gs2, sizeof gs2, "%.*s", (int)(end - m + 1), m);
  }
  lx_sasl_client_free(c);
  return gs2;
}

TEST(mechanism_names) {
  const char *known[] = {"SCRAM-SHA-1",   "SCRAM-SHA-1-PLUS",
                         "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS",
                         "SCRAM-SHA-512", "SCRAM-SHA-512-PLUS",
                         "PLAIN",         "EXTERNAL",
                         "ANONYMOUS",     "DIGEST-MD5"};
  for (size_t i = 0; i < sizeof known / sizeof *known; i++)
    CHECK_INT(lx_sasl_mechanism_known(known[i]), 1);
  CHECK_INT(lx_sasl_mechanism_known("scram-sha-1"), 0); /* exact names */
  CHECK_INT(lx_sasl_mechanism_known("CRAM-MD5"), 0);
  CHECK_INT(lx_sasl_mechanism_known(""), 0);
}

/* what a server without opts.mechanisms enables, strongest first: the
 * same list a server with TLS and binding data advertises */
TEST(server_default_mechanisms) {
  const char *defaults[16], *advertised[16];
  size_t n = lx_sasl_server_default_mechanisms(defaults, 16);
  CHECK_INT(n, 7);
  CHECK_STR(defaults[0], "SCRAM-SHA-512-PLUS");
  CHECK_STR(defaults[6], "PLAIN");
  CHECK_INT(lx_sasl_server_default_mechanisms(defaults, 2), 7); /* counts */
  lx_sasl_server_opts o;
  lx_sasl_server_opts_init(&o);
  lx_sasl_cb cb[] = {{"tls-exporter", U("0123456789abcdef"), 16}};
  o.cb = cb;
  o.n_cb = 1;
  o.tls = 1;
  lx_sasl_server *s;
  CHECK_INT(lx_sasl_server_new(&s, &o, NULL), 0);
  CHECK_INT(lx_sasl_server_mechanisms(s, advertised, 16), n);
  for (size_t i = 0; i < n; i++)
    CHECK_STR(advertised[i], defaults[i]);
  lx_sasl_server_free(s);
}

TEST(choice_default_policy) {
  lx_sasl_client_opts o = base_opts();
  lx_sasl_cb cb[] = {{"tls-exporter", U("0123456789abcdef"), 16},
                     {"tls-server-end-point", U("fedcba9876543210"), 16}};
  /* strongest first; -PLUS only with binding data */
  CHECK_STR(chosen(&o), "SCRAM-SHA-512");
  CHECK_STR(gs2_of(&o), "n,,");
  o.cb = cb;
  o.n_cb = 2;
  /* -PLUS offered without XEP-0440: the server is only known to have
   * tls-unique (RFC 5802 6.1), which a TLS 1.3 session lacks: no -PLUS,
   * and 'n', since the server does support channel binding (ejabberd
   * 23.01 offers -PLUS with tls-unique alone, on TLS 1.3 too) */
  CHECK_STR(chosen(&o), "SCRAM-SHA-512");
  CHECK_STR(gs2_of(&o), "n,,");
  /* ... and tls-unique where the session has it (TLS 1.2) */
  lx_sasl_cb tls12[] = {cb[0], cb[1], {"tls-unique", U("0123456789ab"), 12}};
  o.cb = tls12;
  o.n_cb = 3;
  CHECK_STR(chosen(&o), "SCRAM-SHA-512-PLUS");
  CHECK_STR(gs2_of(&o), "p=tls-unique,,");
  lx_sasl_client *c = NULL;
  CHECK_INT(lx_sasl_client_new(&c, &o, NULL), 0);
  CHECK_STR(lx_sasl_client_channel_binding(c), "tls-unique");
  lx_sasl_client_free(c);
  o.cb = cb;
  o.n_cb = 2;
  /* XEP-0440: the first of our types the server supports */
  const char *all_types[] = {"tls-unique", "tls-server-end-point",
                             "tls-exporter"};
  o.cb_types = all_types;
  o.n_cb_types = 3;
  CHECK_STR(chosen(&o), "SCRAM-SHA-512-PLUS");
  CHECK_STR(gs2_of(&o), "p=tls-exporter,,");
  const char *endpoint_only[] = {"tls-server-end-point"};
  o.cb_types = endpoint_only;
  o.n_cb_types = 1;
  CHECK_STR(gs2_of(&o), "p=tls-server-end-point,,");
  /* no mutual type: no -PLUS, and 'n' (XEP-0474 rule 6) */
  const char *unique_only[] = {"tls-unique"};
  o.cb_types = unique_only;
  CHECK_STR(chosen(&o), "SCRAM-SHA-512");
  CHECK_STR(gs2_of(&o), "n,,");
  /* ... unless channel binding is required */
  o.require_cb = 1;
  CHECK_STR(chosen(&o), "sasl-invalid-mechanism");
  o.require_cb = 0;
  o.cb_types = NULL;
  o.n_cb_types = 0;
  /* no -PLUS offered while we could bind: 'y' */
  const char *no_plus[] = {"SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN"};
  o.offered = no_plus;
  o.n_offered = 3;
  CHECK_STR(chosen(&o), "SCRAM-SHA-256");
  CHECK_STR(gs2_of(&o), "y,,");
  CHECK_INT(lx_sasl_client_new(&c, &o, NULL), 0);
  CHECK(lx_sasl_client_channel_binding(c) == NULL);
  lx_sasl_client_free(c);
  o.require_cb = 1;
  CHECK_STR(chosen(&o), "sasl-invalid-mechanism");
}

TEST(choice_weak_mechanisms) {
  lx_sasl_client_opts o = base_opts();
  const char *legacy[] = {"DIGEST-MD5", "PLAIN"};
  const char *plain[] = {"PLAIN"};
  const char *open[] = {"EXTERNAL", "ANONYMOUS"};
  o.offered = legacy;
  o.n_offered = 2;
  CHECK_STR(chosen(&o), "DIGEST-MD5");
  o.offered = plain;
  o.n_offered = 1;
  CHECK_STR(chosen(&o), "PLAIN");
  /* PLAIN only over TLS */
  o.tls = 0;
  CHECK_STR(chosen(&o), "sasl-encryption-required");
  o.allowed = plain;
  o.n_allowed = 1;
  CHECK_STR(chosen(&o), "sasl-encryption-required");
  /* EXTERNAL and ANONYMOUS only when allowed */
  o.allowed = NULL;
  o.n_allowed = 0;
  o.offered = open;
  o.n_offered = 2;
  CHECK_STR(chosen(&o), "sasl-invalid-mechanism");
  const char *anon[] = {"ANONYMOUS", "EXTERNAL"};
  o.allowed = anon;
  o.n_allowed = 2;
  CHECK_STR(chosen(&o), "ANONYMOUS");
  /* the allowed list is our order of preference */
  o.offered = all_offered;
  o.n_offered = COUNT(all_offered);
  const char *pref[] = {"SCRAM-SHA-1", "SCRAM-SHA-512"};
  o.allowed = pref;
  CHECK_STR(chosen(&o), "SCRAM-SHA-1");
  /* nothing offered, or nothing we know */
  const char *unknown[] = {"X-OAUTH2", "GSSAPI"};
  o.allowed = NULL;
  o.n_allowed = 0;
  o.offered = unknown;
  o.n_offered = 2;
  CHECK_STR(chosen(&o), "sasl-invalid-mechanism");
  o.n_offered = 0;
  CHECK_STR(chosen(&o), "sasl-invalid-mechanism");
  /* without a password only EXTERNAL/ANONYMOUS could work */
  o = base_opts();
  o.password = NULL;
  CHECK_STR(chosen(&o), "sasl-invalid-mechanism");
  o.allowed = anon;
  o.n_allowed = 2;
  CHECK_STR(chosen(&o), "ANONYMOUS");
}

TEST(choice_rejects_bad_options) {
  lx_sasl_client_opts o = base_opts();
  lx_error e;
  lx_sasl_client *c = NULL;
  o.username = "juliet@im.example.com"; /* the bare JID: wrong */
  CHECK_INT(lx_sasl_client_new(&c, &o, &e), LX_ERR_INVALID);
  CHECK(strstr(e.detail, "localpart") != NULL);
  o = base_opts();
  o.username = NULL;
  CHECK_INT(lx_sasl_client_new(&c, &o, NULL), LX_ERR_INVALID);
  o = base_opts();
  const char *bogus[] = {"SCRAM-SHA-1", "SCRAM-MD4"};
  o.allowed = bogus;
  o.n_allowed = 2;
  CHECK_INT(lx_sasl_client_new(&c, &o, NULL), LX_ERR_INVALID);
  o = base_opts();
  o.password = "pass\x07word"; /* OpaqueString refuses controls */
  CHECK_INT(lx_sasl_client_new(&c, &o, NULL), LX_ERR_INVALID);
  o.password = "\xff\xfe";
  CHECK_INT(lx_sasl_client_new(&c, &o, NULL), LX_ERR_INVALID);
  o = base_opts();
  lx_sasl_cb cb = {"tls exporter", U("x"), 1};
  o.cb = &cb;
  o.n_cb = 1;
  CHECK_INT(lx_sasl_client_new(&c, &o, NULL), LX_ERR_INVALID);
  CHECK(c == NULL);
}

/* ---- PLAIN (RFC 4616; standards.md §3.7) ---- */

static lx_sasl_client *plain_client(const char *user, const char *pass,
                                    const char *authzid) {
  const char *plain[] = {"PLAIN"};
  lx_sasl_client_opts o;
  lx_sasl_client *c = NULL;
  lx_sasl_client_opts_init(&o);
  o.offered = plain;
  o.n_offered = 1;
  o.tls = 1;
  o.username = user;
  o.password = pass;
  o.authzid = authzid;
  CHECK_INT(lx_sasl_client_new(&c, &o, NULL), 0);
  return c;
}

static lx_sasl_server *server_for(const char *mech, int tls) {
  const char *m[] = {mech};
  lx_sasl_server_opts o;
  lx_sasl_server *s = NULL;
  lx_sasl_server_opts_init(&o);
  o.mechanisms = m;
  o.n_mechanisms = 1;
  o.tls = tls;
  o.client_cert = 1; /* for EXTERNAL */
  o.host = "elwood.innosoft.com";
  CHECK_INT(lx_sasl_server_new(&s, &o, NULL), 0);
  return s;
}

TEST(plain_vectors) {
  static const struct {
    const char *authzid, *user, *pass, *wire;
  } v[] = {{NULL, "user", "pencil", "AHVzZXIAcGVuY2ls"},
           {NULL, "tim", "tanstaaftanstaaf", "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"},
           {"Ursel", "Kurt", "xipj3plmq", "VXJzZWwAS3VydAB4aXBqM3BsbXE="},
           {NULL, "juliet", "r0m30myr0m30", "AGp1bGlldAByMG0zMG15cjBtMzA="}};
  for (size_t i = 0; i < COUNT(v); i++) {
    const unsigned char *out;
    size_t len;
    lx_sasl_client *c = plain_client(v[i].user, v[i].pass, v[i].authzid);
    CHECK_INT(lx_sasl_client_initial(c, &out, &len, NULL), 1);
    CHECK_STR(b64(out, len), v[i].wire);
    /* the server side of the same bytes */
    lx_sasl_server *s = server_for("PLAIN", 1);
    unsigned char msg[64];
    size_t n = unb64(v[i].wire, msg, sizeof msg);
    CHECK_INT(lx_sasl_server_start(s, "PLAIN", msg, n, &out, &len, NULL),
              LX_SASL_NEED_CREDENTIALS);
    const lx_sasl_request *rq = lx_sasl_server_request(s);
    CHECK_STR(rq->password, v[i].pass);
    if (v[i].authzid)
      CHECK_STR(rq->authzid, v[i].authzid);
    else
      CHECK(rq->authzid == NULL);
    lx_sasl_credentials cred = {.password = v[i].pass};
    CHECK_INT(lx_sasl_server_credentials(s, &cred, &out, &len, NULL),
              LX_SASL_SUCCESS);
    CHECK(out == NULL && len == 0);
    CHECK(lx_sasl_server_request(s)->password == NULL); /* wiped */
    CHECK_INT(lx_sasl_client_finish(c, NULL, 0, NULL), 0);
    lx_sasl_client_free(c);
    lx_sasl_server_free(s);
  }
}

TEST(plain_server_paths) {
  const unsigned char *out;
  size_t len;
  lx_error e;
  lx_sasl_server *s = server_for("PLAIN", 1);
  /* the username is a prepared localpart */
  CHECK_INT(
      lx_sasl_server_start(s, "PLAIN", U("\0Juliet\0pw"), 10, &out, &len, NULL),
      LX_SASL_NEED_CREDENTIALS);
  CHECK_STR(lx_sasl_server_request(s)->username, "juliet");
  lx_sasl_credentials wrong = {.password = "pw2"};
  CHECK_INT(lx_sasl_server_credentials(s, &wrong, &out, &len, &e),
            LX_ERR_SASL_NOT_AUTHORIZED);
  /* the application checks the password itself and accepts */
  CHECK_INT(
      lx_sasl_server_start(s, "PLAIN", U("\0juliet\0pw"), 10, &out, &len, NULL),
      LX_SASL_NEED_CREDENTIALS);
  CHECK_STR(lx_sasl_server_request(s)->password, "pw");
  lx_sasl_credentials accept = {.verdict = LX_SASL_ACCEPT};
  CHECK_INT(lx_sasl_server_credentials(s, &accept, &out, &len, NULL),
            LX_SASL_SUCCESS);
  CHECK_INT(
      lx_sasl_server_start(s, "PLAIN", U("\0juliet\0pw"), 10, &out, &len, NULL),
      LX_ERR_STATE);
  lx_sasl_server_free(s);

  /* verified against stored SCRAM keys */
  unsigned char stored[32], server[32];
  CHECK_INT(lx_scram_derive(LX_SASL_SHA256, "pw", 2, U("salty"), 5, 4096, NULL,
                            stored, server, NULL),
            0);
  lx_sasl_credentials keys = {.keys = {.hash = LX_SASL_SHA256,
                                       .salt = U("salty"),
                                       .salt_len = 5,
                                       .iterations = 4096,
                                       .stored_key = stored}};
  const char *pws[] = {"pw", "px"};
  for (int i = 0; i < 2; i++) {
    s = server_for("PLAIN", 1);
    char msg[32];
    int n = snprintf(msg, sizeof msg, "%cjuliet%c%s", 0, 0, pws[i]);
    CHECK_INT(
        lx_sasl_server_start(s, "PLAIN", U(msg), (size_t)n, &out, &len, NULL),
        LX_SASL_NEED_CREDENTIALS);
    CHECK_INT(lx_sasl_server_credentials(s, &keys, &out, &len, NULL),
              i == 0 ? LX_SASL_SUCCESS : LX_ERR_SASL_NOT_AUTHORIZED);
    lx_sasl_server_free(s);
  }

  /* malformed messages */
  s = server_for("PLAIN", 1);
  static const struct {
    const char *m;
    size_t n;
  } bad[] = {{"", 0},
             {"juliet", 6},
             {"\0juliet", 7},
             {"\0\0pw", 4},
             {"\0juliet\0", 8},
             {"\0juliet\0pw\0", 11},
             {"\0ju\xffliet\0pw", 11}};
  for (size_t i = 0; i < COUNT(bad); i++)
    CHECK_INT(lx_sasl_server_start(s, "PLAIN", U(bad[i].m), bad[i].n, &out,
                                   &len, NULL),
              LX_ERR_SASL_MALFORMED_REQUEST);
  char big[300] = {0};
  memset(big + 1, 'a', 256);
  memcpy(big + 258, "pw", 2);
  CHECK_INT(lx_sasl_server_start(s, "PLAIN", U(big), 260, &out, &len, NULL),
            LX_ERR_SASL_MALFORMED_REQUEST);
  /* a bare JID as authcid is no localpart (RFC 6120 6.3.7) */
  CHECK_INT(lx_sasl_server_start(s, "PLAIN", U("\0foo@bar.com\0secret"), 19,
                                 &out, &len, NULL),
            LX_ERR_SASL_NOT_AUTHORIZED);
  /* no initial response: an empty challenge first */
  CHECK_INT(lx_sasl_server_start(s, "PLAIN", NULL, 0, &out, &len, NULL),
            LX_SASL_CHALLENGE);
  CHECK(out != NULL && len == 0);
  CHECK_INT(lx_sasl_server_step(s, U("\0juliet\0pw"), 10, &out, &len, NULL),
            LX_SASL_NEED_CREDENTIALS);
  lx_sasl_server_free(s);

  /* not advertised without TLS; refused as encryption-required */
  s = server_for("PLAIN", 0);
  const char *names[4];
  CHECK_INT(lx_sasl_server_mechanisms(s, names, 4), 0);
  CHECK_INT(
      lx_sasl_server_start(s, "PLAIN", U("\0juliet\0pw"), 10, &out, &len, NULL),
      LX_ERR_SASL_ENCRYPTION_REQUIRED);
  lx_sasl_server_free(s);
}

TEST(plain_client_paths) {
  const unsigned char *out;
  size_t len;
  /* an empty challenge asks for the initial response */
  lx_sasl_client *c = plain_client("juliet", "pw", NULL);
  CHECK_INT(lx_sasl_client_step(c, U(""), 0, &out, &len, NULL),
            LX_SASL_RESPONSE);
  CHECK_INT(len, 10);
  /* anything else is unexpected; success data too */
  CHECK_INT(lx_sasl_client_step(c, U("x"), 1, &out, &len, NULL),
            LX_ERR_SASL_MALFORMED_REQUEST);
  lx_sasl_client_free(c);
  c = plain_client("juliet", "pw", NULL);
  lx_sasl_client_initial(c, &out, &len, NULL);
  CHECK_INT(lx_sasl_client_finish(c, U("x"), 1, NULL),
            LX_ERR_SASL_MALFORMED_REQUEST);
  lx_sasl_client_free(c);
  /* a success before we sent anything */
  c = plain_client("juliet", "pw", NULL);
  CHECK_INT(lx_sasl_client_finish(c, NULL, 0, NULL),
            LX_ERR_SASL_MALFORMED_REQUEST);
  lx_sasl_client_free(c);
  /* initial twice */
  c = plain_client("juliet", "pw", NULL);
  lx_sasl_client_initial(c, &out, &len, NULL);
  CHECK_INT(lx_sasl_client_initial(c, &out, &len, NULL), LX_ERR_STATE);
  lx_sasl_client_free(c);
}

/* ---- EXTERNAL and ANONYMOUS ---- */

TEST(external_and_anonymous) {
  const unsigned char *out;
  size_t len;
  const char *ext[] = {"EXTERNAL"}, *anon[] = {"ANONYMOUS"};
  lx_sasl_client_opts o;
  lx_sasl_client *c = NULL;
  lx_sasl_client_opts_init(&o);
  o.offered = o.allowed = ext;
  o.n_offered = o.n_allowed = 1;
  CHECK_INT(lx_sasl_client_new(&c, &o, NULL), 0);
  CHECK_INT(lx_sasl_client_initial(c, &out, &len, NULL), 1);
  CHECK_INT(len, 0); /* sent as "=" */
  lx_sasl_server *s = server_for("EXTERNAL", 1);
  CHECK_INT(lx_sasl_server_start(s, "EXTERNAL", out, len, &out, &len, NULL),
            LX_SASL_NEED_CREDENTIALS);
  CHECK(lx_sasl_server_request(s)->authzid == NULL);
  CHECK(lx_sasl_server_request(s)->username == NULL);
  /* the application decides from the client certificate */
  lx_sasl_credentials cert_ok = {.verdict = LX_SASL_ACCEPT,
                                 .identity = "juliet"};
  CHECK_INT(lx_sasl_server_credentials(s, &cert_ok, &out, &len, NULL),
            LX_SASL_SUCCESS);
  CHECK_STR(lx_sasl_server_request(s)->username, "juliet");
  CHECK_INT(lx_sasl_client_finish(c, NULL, 0, NULL), 0);
  lx_sasl_client_free(c);
  lx_sasl_server_free(s);

  o.authzid = "juliet@im.example.com";
  CHECK_INT(lx_sasl_client_new(&c, &o, NULL), 0);
  lx_sasl_client_initial(c, &out, &len, NULL);
  CHECK_STR(str(out, len), "juliet@im.example.com");
  s = server_for("EXTERNAL", 1);
  CHECK_INT(lx_sasl_server_start(s, "EXTERNAL", out, len, &out, &len, NULL),
            LX_SASL_NEED_CREDENTIALS);
  CHECK_STR(lx_sasl_server_request(s)->authzid, "juliet@im.example.com");
  lx_sasl_credentials refuse = {.verdict = LX_ERR_SASL_INVALID_AUTHZID};
  CHECK_INT(lx_sasl_server_credentials(s, &refuse, &out, &len, NULL),
            LX_ERR_SASL_INVALID_AUTHZID);
  lx_sasl_credentials verify = {.password = "x"};
  CHECK_INT(lx_sasl_server_start(s, "EXTERNAL", NULL, 0, &out, &len, NULL),
            LX_SASL_CHALLENGE);
  CHECK_INT(lx_sasl_server_step(s, U(""), 0, &out, &len, NULL),
            LX_SASL_NEED_CREDENTIALS);
  CHECK_INT(lx_sasl_server_credentials(s, &verify, &out, &len, NULL),
            LX_ERR_INVALID);
  lx_sasl_client_free(c);
  lx_sasl_server_free(s);

  /* EXTERNAL only for a client whose certificate verified (XEP-0178) */
  lx_sasl_server_opts so;
  const char *names[4];
  lx_error e;
  lx_sasl_server_opts_init(&so);
  so.mechanisms = ext;
  so.n_mechanisms = 1;
  so.tls = 1;
  CHECK_INT(lx_sasl_server_new(&s, &so, NULL), 0);
  CHECK_INT(lx_sasl_server_mechanisms(s, names, 4), 0);
  CHECK_INT(lx_sasl_server_start(s, "EXTERNAL", U(""), 0, &out, &len, &e),
            LX_ERR_SASL_INVALID_MECHANISM);
  CHECK_STR(e.detail, "EXTERNAL needs a client certificate that verified");
  lx_sasl_server_free(s);

  /* ANONYMOUS with a trace token (RFC 4505) */
  lx_sasl_client_opts_init(&o);
  o.offered = o.allowed = anon;
  o.n_offered = o.n_allowed = 1;
  o.trace = "sirhc";
  CHECK_INT(lx_sasl_client_new(&c, &o, NULL), 0);
  lx_sasl_client_initial(c, &out, &len, NULL);
  CHECK_STR(str(out, len), "sirhc");
  s = server_for("ANONYMOUS", 0);
  CHECK_INT(lx_sasl_server_start(s, "ANONYMOUS", out, len, &out, &len, NULL),
            LX_SASL_NEED_CREDENTIALS);
  CHECK_STR(lx_sasl_server_request(s)->trace, "sirhc");
  lx_sasl_credentials ok = {.verdict = LX_SASL_ACCEPT};
  CHECK_INT(lx_sasl_server_credentials(s, &ok, &out, &len, NULL),
            LX_SASL_SUCCESS);
  CHECK_INT(lx_sasl_client_finish(c, NULL, 0, NULL), 0);
  lx_sasl_client_free(c);
  lx_sasl_server_free(s);
  /* a trace over 255 characters, or not UTF-8 */
  char big[300];
  memset(big, 'a', 256);
  big[256] = '\0';
  o.trace = big;
  CHECK_INT(lx_sasl_client_new(&c, &o, NULL), LX_ERR_INVALID);
  s = server_for("ANONYMOUS", 0);
  CHECK_INT(lx_sasl_server_start(s, "ANONYMOUS", U(big), 256, &out, &len, NULL),
            LX_ERR_SASL_MALFORMED_REQUEST);
  CHECK_INT(
      lx_sasl_server_start(s, "ANONYMOUS", U("\xc3"), 1, &out, &len, NULL),
      LX_ERR_SASL_MALFORMED_REQUEST);
  lx_sasl_server_free(s);
}

/* ---- DIGEST-MD5 (RFC 2831 §4; standards.md §3.6) ---- */

typedef struct dvec {
  const char *service, *host, *user, *nonce, *cnonce, *response, *rspauth;
} dvec;

static const dvec imap = {"imap",
                          "elwood.innosoft.com",
                          "chris",
                          "OA6MG9tEQGm2hh",
                          "OA6MHXh6VqTrRk",
                          "d388dad90d4bbd760a152321f2143af7",
                          "ea40f60335c427b5527b84dbabcdfffd"};
static const dvec acap = {"acap",
                          "elwood.innosoft.com",
                          "chris",
                          "OA9BSXrbuRhWay",
                          "OA9BSuZWMSpW8m",
                          "6084c6db3fede7352c551284490fd0fc",
                          "2f0b3d7c3c2e486600ef710726aa2eae"};

static lx_sasl_client *md5_client(const dvec *v, const char *pass) {
  const char *m[] = {"DIGEST-MD5"};
  lx_sasl_client_opts o;
  lx_sasl_client *c = NULL;
  lx_sasl_client_opts_init(&o);
  o.offered = m;
  o.n_offered = 1;
  o.username = v->user;
  o.password = pass;
  o.host = v->host;
  o.service = v->service;
  CHECK_INT(sasl_client_create(&c, &o, v->cnonce, NULL), 0);
  return c;
}

static void digest_client_vector(const dvec *v) {
  const unsigned char *out;
  size_t len;
  char challenge[256], want[512], rsp[64];
  snprintf(challenge, sizeof challenge,
           "realm=\"%s\",nonce=\"%s\",qop=\"auth\",algorithm=md5-sess,"
           "charset=utf-8",
           v->host, v->nonce);
  lx_sasl_client *c = md5_client(v, "secret");
  CHECK_INT(lx_sasl_client_initial(c, &out, &len, NULL), 0);
  CHECK_INT(
      lx_sasl_client_step(c, U(challenge), strlen(challenge), &out, &len, NULL),
      LX_SASL_RESPONSE);
  snprintf(want, sizeof want,
           "username=\"%s\",realm=\"%s\",nonce=\"%s\",cnonce=\"%s\","
           "nc=00000001,qop=auth,digest-uri=\"%s/%s\",response=%s,"
           "charset=utf-8",
           v->user, v->host, v->nonce, v->cnonce, v->service, v->host,
           v->response);
  CHECK_STR(str(out, len), want);
  snprintf(rsp, sizeof rsp, "rspauth=%s", v->rspauth);
  CHECK_INT(lx_sasl_client_step(c, U(rsp), strlen(rsp), &out, &len, NULL),
            LX_SASL_RESPONSE);
  CHECK_INT(len, 0);
  CHECK_INT(lx_sasl_client_finish(c, NULL, 0, NULL), 0);
  lx_sasl_client_free(c);
  /* rspauth in the success data instead */
  c = md5_client(v, "secret");
  lx_sasl_client_step(c, U(challenge), strlen(challenge), &out, &len, NULL);
  CHECK_INT(lx_sasl_client_finish(c, U(rsp), strlen(rsp), NULL), 0);
  lx_sasl_client_free(c);
}

static void digest_server_vector(const dvec *v) {
  const unsigned char *out;
  size_t len;
  char want[256], response[512];
  const char *m[] = {"DIGEST-MD5"};
  lx_sasl_server_opts o;
  lx_sasl_server *s = NULL;
  lx_sasl_server_opts_init(&o);
  o.mechanisms = m;
  o.n_mechanisms = 1;
  o.host = v->host;
  o.service = v->service;
  CHECK_INT(lx_sasl_server_new(&s, &o, NULL), 0);
  CHECK_INT(
      sasl_server_start(s, v->nonce, "DIGEST-MD5", NULL, 0, &out, &len, NULL),
      LX_SASL_CHALLENGE);
  snprintf(want, sizeof want,
           "realm=\"%s\",nonce=\"%s\",qop=\"auth\",charset=utf-8,"
           "algorithm=md5-sess",
           v->host, v->nonce);
  CHECK_STR(str(out, len), want);
  /* the client's response as RFC 2831 §4 prints it */
  snprintf(response, sizeof response,
           "charset=utf-8,username=\"%s\",realm=\"%s\",nonce=\"%s\","
           "nc=00000001,cnonce=\"%s\",digest-uri=\"%s/%s\",response=%s,"
           "qop=auth",
           v->user, v->host, v->nonce, v->cnonce, v->service, v->host,
           v->response);
  CHECK_INT(
      lx_sasl_server_step(s, U(response), strlen(response), &out, &len, NULL),
      LX_SASL_NEED_CREDENTIALS);
  CHECK_STR(lx_sasl_server_request(s)->username, v->user);
  lx_sasl_credentials cred = {.password = "secret"};
  CHECK_INT(lx_sasl_server_credentials(s, &cred, &out, &len, NULL),
            LX_SASL_CHALLENGE);
  snprintf(want, sizeof want, "rspauth=%s", v->rspauth);
  CHECK_STR(str(out, len), want);
  CHECK_INT(lx_sasl_server_step(s, U(""), 0, &out, &len, NULL),
            LX_SASL_SUCCESS);
  lx_sasl_server_free(s);
}

TEST(digest_md5_rfc2831) {
  digest_client_vector(&imap);
  digest_client_vector(&acap);
  digest_server_vector(&imap);
  digest_server_vector(&acap);
}

/* libstrophe tests/test_sasl.c: the XMPP flavour, byte for byte. */
TEST(digest_md5_xmpp_flavour) {
  const unsigned char *out;
  size_t len;
  unsigned char challenge[256];
  size_t n = unb64(
      "cmVhbG09InNvbWVyZWFsbSIsbm9uY2U9Ik9BNk1HOXRFUUdtMmhoIixxb3A9ImF1dGgi"
      "LGNoYXJzZXQ9dXRmLTgsYWxnb3JpdGhtPW1kNS1zZXNzCg==",
      challenge, sizeof challenge);
  dvec v = {"xmpp", "somerealm", "somenode", NULL, "00DEADBEEF00", NULL, NULL};
  lx_sasl_client *c = md5_client(&v, "secret");
  CHECK_INT(lx_sasl_client_step(c, challenge, n, &out, &len, NULL),
            LX_SASL_RESPONSE);
  CHECK_STR(b64(out, len),
            "dXNlcm5hbWU9InNvbWVub2RlIixyZWFsbT0ic29tZXJlYWxtIixub25jZT0i"
            "T0E2TUc5dEVRR20yaGgiLGNub25jZT0iMDBERUFEQkVFRjAwIixuYz0wMDAw"
            "MDAwMSxxb3A9YXV0aCxkaWdlc3QtdXJpPSJ4bXBwL3NvbWVyZWFsbSIscmVz"
            "cG9uc2U9NGVhNmU4N2JjMDkzMzUwNzQzZGIyOGQ3MDIwOGNhZmIsY2hhcnNl"
            "dD11dGYtOA==");
  CHECK(strstr(str(out, len), "response=4ea6e87bc093350743db28d70208cafb"));
  lx_sasl_client_free(c);
}

/* RFC 2831 2.1.2.1: a password that fits ISO 8859-1 is hashed as such
 * (also when long), one that does not as UTF-8. Expected values computed
 * independently (Python hashlib). */
TEST(digest_md5_charset) {
  const unsigned char *out;
  size_t len;
  char latin[700] = "";
  for (int i = 0; i < 300; i++)
    strcat(latin, "\xc3\xa9"); /* U+00E9 */
  const char *challenge =
      "realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\","
      "algorithm=md5-sess,charset=utf-8";
  static const struct {
    const char *pass, *response;
  } v[] = {{NULL, "response=b13aeb9acdc6f377a98ff9d56327e32c"},
           {"\xd0\xbf\xd0\xb0\xd1\x80\xd0\xbe\xd0\xbb\xd1\x8c",
            "response=f312e49c67ed430f39c2a9337d4620a6"}};
  dvec x = imap;
  x.service = "xmpp";
  for (size_t i = 0; i < COUNT(v); i++) {
    lx_sasl_client *c = md5_client(&x, v[i].pass ? v[i].pass : latin);
    CHECK_INT(lx_sasl_client_step(c, U(challenge), strlen(challenge), &out,
                                  &len, NULL),
              LX_SASL_RESPONSE);
    CHECK(strstr(str(out, len), v[i].response) != NULL);
    lx_sasl_client_free(c);
  }
  /* without charset=utf-8 a non-ASCII username cannot be sent */
  x.user = "chr\xc3\xafs";
  lx_sasl_client *c = md5_client(&x, "secret");
  const char *latin1_only = "nonce=\"OA6MG9tEQGm2hh\",algorithm=md5-sess";
  CHECK_INT(lx_sasl_client_step(c, U(latin1_only), strlen(latin1_only), &out,
                                &len, NULL),
            LX_ERR_SASL_MALFORMED_REQUEST);
  lx_sasl_client_free(c);
}

TEST(digest_md5_failures) {
  const unsigned char *out;
  size_t len;
  const char *good = "realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\","
                     "qop=\"auth\",algorithm=md5-sess,charset=utf-8";
  /* a wrong rspauth, a missing one, a success before it */
  lx_sasl_client *c = md5_client(&imap, "secret");
  lx_sasl_client_step(c, U(good), strlen(good), &out, &len, NULL);
  const char *bad = "rspauth=ea40f60335c427b5527b84dbabcdfffe";
  CHECK_INT(lx_sasl_client_step(c, U(bad), strlen(bad), &out, &len, NULL),
            LX_ERR_SASL_SERVER_SIGNATURE);
  lx_sasl_client_free(c);
  c = md5_client(&imap, "secret");
  lx_sasl_client_step(c, U(good), strlen(good), &out, &len, NULL);
  CHECK_INT(lx_sasl_client_finish(c, NULL, 0, NULL),
            LX_ERR_SASL_SERVER_SIGNATURE);
  lx_sasl_client_free(c);
  c = md5_client(&imap, "secret");
  CHECK_INT(lx_sasl_client_finish(c, NULL, 0, NULL),
            LX_ERR_SASL_SERVER_SIGNATURE);
  lx_sasl_client_free(c);
  /* challenges we refuse */
  const char *bads[] = {
      "realm=\"x\",qop=\"auth\",algorithm=md5-sess",
      "nonce=\"a\",qop=\"auth\"",
      "nonce=\"a\",algorithm=md5",
      "nonce=\"a\",qop=\"auth-int,auth-conf\",algorithm=md5-sess",
      "nonce=\"a\",nonce=\"b\",algorithm=md5-sess",
      "nonce=\"a\",algorithm=md5-sess,charset=iso-8859-1",
      "nonce=\"a,algorithm=md5-sess",
      "nonce=a\"b\",algorithm=md5-sess",
      "=\"a\",algorithm=md5-sess",
      "",
  };
  for (size_t i = 0; i < COUNT(bads); i++) {
    c = md5_client(&imap, "secret");
    CHECK_INT(
        lx_sasl_client_step(c, U(bads[i]), strlen(bads[i]), &out, &len, NULL),
        LX_ERR_SASL_MALFORMED_REQUEST);
    lx_sasl_client_free(c);
  }
  /* LWS, quoting and several realms are fine */
  const char *odd = " realm=\"a\" , realm=\"b\",, nonce = \"x\\\"y\" ,"
                    "qop=\"auth-int, auth\",algorithm=MD5-sess\r\n";
  c = md5_client(&imap, "secret");
  CHECK_INT(lx_sasl_client_step(c, U(odd), strlen(odd), &out, &len, NULL),
            LX_SASL_RESPONSE);
  CHECK(strstr(str(out, len), "realm=\"a\",nonce=\"x\\\"y\"") != NULL);
  lx_sasl_client_free(c);

  /* the server: a wrong password, a replayed nonce, off unless enabled */
  lx_sasl_server *s = server_for("DIGEST-MD5", 1);
  dvec x = imap;
  x.service = "xmpp";
  c = md5_client(&x, "wrong");
  lx_sasl_credentials cred = {.password = "secret"};
  CHECK_INT(exchange(c, s, &cred), LX_ERR_SASL_NOT_AUTHORIZED);
  lx_sasl_client_free(c);
  c = md5_client(&x, "secret");
  CHECK_INT(exchange(c, s, &cred), 0);
  CHECK_STR(lx_sasl_server_request(s)->username, "chris");
  lx_sasl_client_free(c);
  lx_sasl_server_free(s);
  /* RFC 2831's response, right but for the nonce our server made */
  s = server_for("DIGEST-MD5", 1);
  CHECK_INT(lx_sasl_server_start(s, "DIGEST-MD5", NULL, 0, &out, &len, NULL),
            LX_SASL_CHALLENGE);
  char response[512];
  snprintf(response, sizeof response,
           "charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\","
           "nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\","
           "digest-uri=\"xmpp/elwood.innosoft.com\",response=%s,qop=auth",
           imap.response);
  CHECK_INT(
      lx_sasl_server_step(s, U(response), strlen(response), &out, &len, NULL),
      LX_ERR_SASL_NOT_AUTHORIZED);
  /* malformed responses */
  const char *bad_responses[] = {
      "username=\"chris\"",
      "charset=utf-8,username=\"chris\",nonce=\"x\",nc=00000001,"
      "cnonce=\"y\",digest-uri=\"xmpp/elwood.innosoft.com\",response=00,"
      "qop=auth",
      "charset=utf-8,username=\"chris\",username=\"chris\",nonce=\"x\","
      "nc=00000001,cnonce=\"y\",digest-uri=\"xmpp/elwood.innosoft.com\","
      "response=d388dad90d4bbd760a152321f2143af7,qop=auth",
      "charset=utf-8,username=\"chris\",nonce=\"x\",nc=00000001,"
      "cnonce=\"y\",digest-uri=\"xmpp/elwood.innosoft.com\","
      "response=d388dad90d4bbd760a152321f2143af7,qop=auth-conf"};
  for (size_t i = 0; i < COUNT(bad_responses); i++) {
    CHECK_INT(lx_sasl_server_start(s, "DIGEST-MD5", NULL, 0, &out, &len, NULL),
              LX_SASL_CHALLENGE);
    CHECK_INT(lx_sasl_server_step(s, U(bad_responses[i]),
                                  strlen(bad_responses[i]), &out, &len, NULL),
              LX_ERR_SASL_MALFORMED_REQUEST);
  }
  /* no initial response with DIGEST-MD5 */
  CHECK_INT(lx_sasl_server_start(s, "DIGEST-MD5", U("x"), 1, &out, &len, NULL),
            LX_ERR_SASL_MALFORMED_REQUEST);
  lx_sasl_server_free(s);
  lx_sasl_server_opts o;
  lx_sasl_server_opts_init(&o);
  o.tls = 1;
  o.host = "example.org";
  CHECK_INT(lx_sasl_server_new(&s, &o, NULL), 0);
  CHECK_INT(lx_sasl_server_start(s, "DIGEST-MD5", NULL, 0, &out, &len, NULL),
            LX_ERR_SASL_INVALID_MECHANISM);
  lx_sasl_server_free(s);
  const char *dm[] = {"DIGEST-MD5"};
  o.mechanisms = dm;
  o.n_mechanisms = 1;
  o.host = NULL;
  CHECK_INT(lx_sasl_server_new(&s, &o, NULL), LX_ERR_INVALID);
}

/* ---- real TLS sessions for channel binding ---- */

typedef struct tls_cb {
  unsigned char exporter[LX_TLS_CB_MAX], endpoint[LX_TLS_CB_MAX],
      unique[LX_TLS_CB_MAX];
  size_t exporter_len, endpoint_len, unique_len; /* 0: not available */
} tls_cb;

static size_t binding(const lx_tls *t, lx_tls_cb_type type,
                      unsigned char *out) {
  size_t len = 0;
  int rc = lx_tls_channel_binding(t, type, out, LX_TLS_CB_MAX, &len, NULL);
  CHECK(rc == 0 || rc == LX_ERR_TLS_CB_UNAVAILABLE);
  return rc ? 0 : len;
}

static void bindings_of(const lx_tls *t, tls_cb *cb) {
  cb->exporter_len = binding(t, LX_TLS_CB_EXPORTER, cb->exporter);
  cb->endpoint_len = binding(t, LX_TLS_CB_SERVER_END_POINT, cb->endpoint);
  cb->unique_len = binding(t, LX_TLS_CB_UNIQUE, cb->unique);
}

/* Moves the ciphertext `from` has pending into `to`. */
static void shovel(lx_tls *from, lx_tls *to) {
  const char *data;
  size_t n;
  while ((n = lx_tls_peek_send(from, &data)) > 0) {
    ssize_t k = lx_tls_recv(to, data, n);
    if (k <= 0)
      break;
    lx_tls_consume_send(from, (size_t)k);
  }
}

/* A TLS session of `version` between an lx_tls client and server, with a
 * throwaway certificate made in memory that the client trusts. */
static void tls_session(int version, tls_cb *client, tls_cb *server) {
  char *cert = NULL, *key = NULL;
  lx_tls_cert_spec spec = {.domain = "example.org"};
  lx_tls_opts o;
  lx_tls_ctx *sctx = NULL, *cctx = NULL;
  lx_tls *c = NULL, *s = NULL;
  CHECK_INT(lx_tls_cert_selfsigned(&spec, &cert, &key, NULL), 0);
  lx_tls_opts_init(&o);
  o.min_version = o.max_version = version;
  CHECK_INT(lx_tls_ctx_new(&sctx, LX_TLS_SERVER, &o, NULL), 0);
  CHECK_INT(lx_tls_ctx_new(&cctx, LX_TLS_CLIENT, &o, NULL), 0);
  CHECK_INT(
      lx_tls_ctx_add_cert(sctx, cert, strlen(cert), key, strlen(key), NULL), 0);
  CHECK_INT(lx_tls_ctx_add_ca(cctx, cert, strlen(cert), NULL), 0);
  CHECK_INT(lx_tls_new(&c, cctx, "example.org", NULL), 0);
  CHECK_INT(lx_tls_new(&s, sctx, NULL, NULL), 0);
  lx_tls_handshake(c);
  for (int i = 0; i < 10; i++) {
    shovel(c, s);
    shovel(s, c);
  }
  CHECK_INT(lx_tls_get_state(c), LX_TLS_OPEN);
  CHECK_INT(lx_tls_get_state(s), LX_TLS_OPEN);
  CHECK_INT(lx_tls_verify_result(c, NULL), 0);
  CHECK_STR(lx_tls_version(c), version == LX_TLS_V1_3 ? "TLSv1.3" : "TLSv1.2");
  bindings_of(c, client);
  bindings_of(s, server);
  lx_tls_free(c);
  lx_tls_free(s);
  lx_tls_ctx_free(cctx);
  lx_tls_ctx_free(sctx);
  lx_tls_pem_free(cert);
  lx_tls_pem_free(key);
}

/* Binding data of one type from a tls_cb (NULL when not available). */
static int cb_of(const tls_cb *t, const char *type, lx_sasl_cb *out) {
  out->type = type;
  if (strcmp(type, "tls-exporter") == 0)
    out->data = t->exporter, out->len = t->exporter_len;
  else if (strcmp(type, "tls-server-end-point") == 0)
    out->data = t->endpoint, out->len = t->endpoint_len;
  else
    out->data = t->unique, out->len = t->unique_len;
  return out->len != 0;
}

static const char *every_mech[] = {"SCRAM-SHA-512-PLUS", "SCRAM-SHA-256-PLUS",
                                   "SCRAM-SHA-1-PLUS",   "SCRAM-SHA-512",
                                   "SCRAM-SHA-256",      "SCRAM-SHA-1",
                                   "DIGEST-MD5",         "PLAIN",
                                   "EXTERNAL",           "ANONYMOUS"};

/* Our client against our server: every mechanism, and for -PLUS every
 * binding type the session has. */
static void matrix(int version, const char *const *types, size_t n_types) {
  tls_cb tc, ts;
  tls_session(version, &tc, &ts);
  lx_sasl_cb ccb[3], scb[3];
  for (size_t i = 0; i < n_types; i++) {
    CHECK(cb_of(&tc, types[i], &ccb[i]) && cb_of(&ts, types[i], &scb[i]));
    CHECK(ccb[i].len == scb[i].len &&
          memcmp(ccb[i].data, scb[i].data, ccb[i].len) == 0);
  }
  for (size_t m = 0; m < COUNT(every_mech); m++) {
    int plus = strstr(every_mech[m], "-PLUS") != NULL;
    for (size_t t = 0; t < (plus ? n_types : 1); t++) {
      lx_sasl_server_opts so;
      lx_sasl_server *s = NULL;
      lx_sasl_server_opts_init(&so);
      so.mechanisms = every_mech;
      so.n_mechanisms = COUNT(every_mech);
      so.tls = 1;
      so.client_cert = 1;
      so.cb = scb;
      so.n_cb = n_types;
      so.host = "example.org";
      so.iterations = 4096;
      CHECK_INT(lx_sasl_server_new(&s, &so, NULL), 0);
      const char *offered[16], *adv_types[4];
      size_t n_off = lx_sasl_server_mechanisms(s, offered, 16);
      size_t n_adv = lx_sasl_server_cb_types(s, adv_types, 4);
      CHECK_INT(n_off, COUNT(every_mech));
      CHECK_INT(n_adv, n_types);
      lx_sasl_client_opts co;
      lx_sasl_client *c = NULL;
      lx_sasl_client_opts_init(&co);
      co.offered = offered;
      co.n_offered = n_off;
      co.cb_types = adv_types;
      co.n_cb_types = n_adv;
      co.allowed = &every_mech[m];
      co.n_allowed = 1;
      co.cb = plus ? &ccb[t] : ccb;
      co.n_cb = plus ? 1 : n_types;
      co.tls = 1;
      co.username = "juliet";
      co.password = "r0m30myr0m30";
      co.host = "example.org";
      co.require_ssdp = 1;
      CHECK_INT(lx_sasl_client_new(&c, &co, NULL), 0);
      CHECK_STR(lx_sasl_client_mechanism(c), every_mech[m]);
      lx_sasl_credentials cred = {.password = "r0m30myr0m30"};
      if (strcmp(every_mech[m], "EXTERNAL") == 0 ||
          strcmp(every_mech[m], "ANONYMOUS") == 0)
        cred = (lx_sasl_credentials){.verdict = LX_SASL_ACCEPT};
      int rc = exchange(c, s, &cred);
      if (rc)
        fprintf(stderr, "%s %s: %s\n", every_mech[m], plus ? types[t] : "",
                lx_strerror(rc));
      CHECK_INT(rc, 0);
      lx_sasl_client_free(c);
      lx_sasl_server_free(s);
    }
  }
}

TEST(our_client_our_server_tls13) {
  const char *types[] = {"tls-exporter", "tls-server-end-point"};
  matrix(LX_TLS_V1_3, types, 2);
  /* tls-unique does not exist for TLS 1.3 */
  tls_cb tc, ts;
  tls_session(LX_TLS_V1_3, &tc, &ts);
  CHECK_INT(tc.unique_len, 0);
  CHECK_INT(ts.unique_len, 0);
}

TEST(our_client_our_server_tls12) {
  const char *types[] = {"tls-unique", "tls-exporter", "tls-server-end-point"};
  matrix(LX_TLS_V1_2, types, 3);
}

/* Binding data from another session (a MITM's) fails the exchange. */
TEST(binding_of_another_session) {
  tls_cb a, as, b, bs;
  tls_session(LX_TLS_V1_3, &a, &as);
  tls_session(LX_TLS_V1_3, &b, &bs);
  const char *types[] = {"tls-exporter", "tls-server-end-point"};
  for (int i = 0; i < 2; i++) {
    lx_sasl_cb ccb, scb;
    cb_of(&a, types[i], &ccb);
    cb_of(&bs, types[i], &scb);
    lx_sasl_server_opts so;
    lx_sasl_server *s = NULL;
    lx_sasl_server_opts_init(&so);
    so.tls = 1;
    so.cb = &scb;
    so.n_cb = 1;
    so.iterations = 4096;
    CHECK_INT(lx_sasl_server_new(&s, &so, NULL), 0);
    const char *offered[16], *adv[2];
    lx_sasl_client_opts co;
    lx_sasl_client *c = NULL;
    lx_sasl_client_opts_init(&co);
    co.offered = offered;
    co.n_offered = lx_sasl_server_mechanisms(s, offered, 16);
    co.cb_types = adv;
    co.n_cb_types = lx_sasl_server_cb_types(s, adv, 2);
    co.cb = &ccb;
    co.n_cb = 1;
    co.tls = 1;
    co.username = "juliet";
    co.password = "r0m30myr0m30";
    CHECK_INT(lx_sasl_client_new(&c, &co, NULL), 0);
    CHECK_STR(lx_sasl_client_mechanism(c), "SCRAM-SHA-512-PLUS");
    lx_sasl_credentials cred = {.password = "r0m30myr0m30"};
    /* tls-server-end-point of the same certificate would match; ours are
     * two certificates */
    CHECK_INT(exchange(c, s, &cred), LX_ERR_SASL_NOT_AUTHORIZED);
    lx_sasl_client_free(c);
    lx_sasl_server_free(s);
  }
}

int main(void) {
  RUN(base64_strict);
  RUN(mechanism_names);
  RUN(server_default_mechanisms);
  RUN(choice_default_policy);
  RUN(choice_weak_mechanisms);
  RUN(choice_rejects_bad_options);
  RUN(plain_vectors);
  RUN(plain_server_paths);
  RUN(plain_client_paths);
  RUN(external_and_anonymous);
  RUN(digest_md5_rfc2831);
  RUN(digest_md5_xmpp_flavour);
  RUN(digest_md5_charset);
  RUN(digest_md5_failures);
  RUN(our_client_our_server_tls13);
  RUN(our_client_our_server_tls12);
  RUN(binding_of_another_session);
  return check_summary();
}

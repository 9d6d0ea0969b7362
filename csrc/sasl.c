/* sasl.c: the SASL client and server objects: mechanism selection and
 * advertisement, the step machines' framing, PLAIN (RFC 4616), EXTERNAL
 * (RFC 4422 App. A) and ANONYMOUS (RFC 4505). Each family of mechanisms is
 * a table of operations (mech_family, at the end with the mechanisms);
 * SCRAM and DIGEST-MD5 do their work in scram.c and digest_md5.c, which
 * know nothing of this file. */
#include "sasl.h"
#include "digest_md5.h"
#include "error.h"
#include "scram.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared -------------------------------------------------------------- */

const mech_info *sasl_mech_find(const char *name) {
  for (size_t i = 0; name && i < MECH_COUNT; i++)
    if (strcmp(sasl_mechs[i].name, name) == 0)
      return &sasl_mechs[i];
  return NULL;
}

int lx_sasl_mechanism_known(const char *name) {
  return sasl_mech_find(name) != NULL;
}

/* The number of UTF-8 characters in a valid string. */
static size_t utf8_chars(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    n += ((unsigned char)*s & 0xc0) != 0x80;
  return n;
}

static int valid_text(const char *s, size_t max_bytes) {
  return s && *s && strlen(s) <= max_bytes && sasl_utf8_valid(s, strlen(s));
}

/* A channel-binding type name (RFC 5056 cb-name). */
static int valid_cb_type(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (!n || n > 64)
    return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9') || *s == '.' || *s == '-'))
      return 0;
  return 1;
}

static int valid_cbs(const lx_sasl_cb *cb, size_t n) {
  if (n && !cb)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!valid_cb_type(cb[i].type) || !cb[i].data || !cb[i].len ||
        cb[i].len > SASL_MAX_CB_DATA)
      return 0;
  return 1;
}

/* Our nonce for an exchange into *out: a copy of `given`, or a fresh one
 * from fn. */
static int our_nonce(char **out, const char *given, lx_random_fn fn, void *user,
                     lx_error *err) {
  int fail = 0;
  if (!given)
    return sasl_nonce(out, fn, user, err);
  *out = sasl_dup(given, &fail);
  return fail ? error_set(err, LX_ERR_NOMEM, "sasl: out of memory") : 0;
}

static int in_list(const char *const *list, size_t n, const char *name) {
  for (size_t i = 0; list && i < n; i++)
    if (list[i] && strcmp(list[i], name) == 0)
      return 1;
  return 0;
}

static const char *plus_name(lx_sasl_hash h) {
  for (size_t i = 0; i < MECH_COUNT; i++)
    if ((sasl_mechs[i].flags & MECH_PLUS) && sasl_mechs[i].hash == h)
      return sasl_mechs[i].name;
  return NULL;
}

/* ---- the families' operations ------------------------------------------- */

/* What a family of mechanisms does in each role; what all share (limits,
 * framing, sticky failures, credentials requests) is done around these. A
 * NULL operation is one the family does not have. Each returns 0 or a
 * negative code with err set, unless said otherwise. */
struct mech_family {
  int uses_nonce; /* each exchange needs a fresh nonce of each side */
  /* client: whether the credentials suit m beyond what its flags say */
  int (*client_suits)(const lx_sasl_client_opts *o, const mech_info *m);
  /* client: copies what the exchange needs from the options */
  int (*client_init)(lx_sasl_client *c, const lx_sasl_client_opts *o,
                     lx_error *err);
  /* client: the initial response into c->out (NULL: the server speaks
   * first) */
  int (*client_first)(lx_sasl_client *c, lx_error *err);
  /* client: the response to the server's challenge into c->out (after our
   * first message, or first when client_first is NULL) */
  int (*client_answer)(lx_sasl_client *c, const char *in, size_t len,
                       lx_error *err);
  /* client: checks the server's proof (NULL: the server proves nothing,
   * and an ACCEPT may answer a credentials request) */
  int (*client_verify)(lx_sasl_client *c, const char *in, size_t len,
                       lx_error *err);
  const char *proof; /* the name of that proof, for errors */
  /* server: prepares an exchange; 0 to go on with the initial response,
   * or a result (LX_SASL_CHALLENGE) that ends the start */
  int (*server_start)(lx_sasl_server *s, const unsigned char *initial,
                      size_t len, lx_error *err);
  /* server: reads the initial response; LX_SASL_NEED_CREDENTIALS (only
   * NULL where server_start never returns 0) */
  int (*server_initial)(lx_sasl_server *s, const char *in, size_t len,
                        lx_error *err);
  /* server: checks the account's password or keys (VERIFY); a
   * LX_SASL_* result */
  int (*server_verify)(lx_sasl_server *s, const lx_sasl_credentials *c,
                       lx_error *err);
};

/* ---- client -------------------------------------------------------------- */

enum { PHASE_NONE, PHASE_FIRST, PHASE_SECOND, PHASE_VERIFIED };

struct lx_sasl_client {
  const mech_info *mech;
  int phase;
  int failed; /* sticky: the code of the first failure */
  lx_error failure;
  int authenticated;
  buf out;
  buf initial; /* the initial response of PLAIN, EXTERNAL, ANONYMOUS; wiped */
  char *nonce; /* SCRAM's nonce, DIGEST-MD5's cnonce */
  scram_client *scram;
  digest_client *digest;
};

void lx_sasl_client_opts_init(lx_sasl_client_opts *o) {
  memset(o, 0, sizeof *o);
  o->min_iterations = 4096;
  o->max_iterations = 1000000;
  o->max_salt = 256;
  o->max_message = 4096;
  o->service = "xmpp";
}

void lx_sasl_client_free(lx_sasl_client *c) {
  if (!c)
    return;
  buf_wipe(&c->out); /* PLAIN's message holds the password */
  buf_wipe(&c->initial);
  free(c->nonce);
  scram_client_free(c->scram);
  digest_client_free(c->digest);
  free(c);
}

static int check_client_opts(const lx_sasl_client_opts *o, lx_error *err) {
  const char *why = NULL;
  if (o->n_offered && !o->offered)
    why = "offered is NULL";
  else if (o->n_allowed && !o->allowed)
    why = "allowed is NULL";
  else if (o->n_cb_types && !o->cb_types)
    why = "cb_types is NULL";
  else if (!valid_cbs(o->cb, o->n_cb))
    why = "bad channel-binding data (type name, 1 to 1024 bytes)";
  else if (o->username && (!valid_text(o->username, SASL_MAX_NAME) ||
                           strchr(o->username, '@')))
    why = "username must be a JID's localpart (UTF-8, no '@')";
  else if (o->password && !o->username)
    why = "a password needs a username";
  else if (o->password && !valid_text(o->password, 4096))
    why = "password must be non-empty UTF-8";
  else if (o->authzid && !valid_text(o->authzid, 3071))
    why = "authzid must be non-empty UTF-8";
  else if (o->trace &&
           (!valid_text(o->trace, 1020) || utf8_chars(o->trace) > 255))
    why = "trace must be 1 to 255 UTF-8 characters";
  else if (!o->min_iterations || o->max_iterations < o->min_iterations ||
           o->max_iterations > INT_MAX || !o->max_salt || o->max_message < 64)
    why = "bad limits";
  else if (!o->service || !*o->service || strchr(o->service, '/'))
    why = "service must be a name without '/'";
  else if (o->host && !valid_text(o->host, 1023))
    why = "host must be UTF-8";
  else if (o->keys && (!lx_sasl_hash_size(o->keys->hash) || !o->keys->salt ||
                       !o->keys->salt_len || !o->keys->iterations ||
                       !o->keys->client_key || !o->keys->server_key))
    why = "keys need hash, salt, iterations, client_key and server_key";
  else if (o->keys && !o->username)
    why = "keys need a username";
  for (size_t i = 0; !why && i < o->n_allowed; i++)
    if (!sasl_mech_find(o->allowed[i]))
      why = "allowed names a mechanism lxmpp does not implement";
  for (size_t i = 0; !why && i < o->n_offered; i++)
    if (!o->offered[i])
      why = "offered holds NULL";
  for (size_t i = 0; !why && i < o->n_cb_types; i++)
    if (!o->cb_types[i])
      why = "cb_types holds NULL";
  return why ? error_set(err, LX_ERR_INVALID, "sasl client: %s", why) : 0;
}

/* Our binding data for a -PLUS mechanism: the first of our types the server
 * advertised (XEP-0440). A server that advertised none is only known to
 * have tls-unique, the type RFC 5802 §6.1 makes mandatory: servers such as
 * Prosody 0.12 and ejabberd 23.01 offer -PLUS with nothing else, also on
 * TLS 1.3 (where tls-unique is undefined and we hold none), so guessing
 * another type would fail the login. No type in common: no -PLUS. */
static const lx_sasl_cb *choose_cb(const lx_sasl_client_opts *o) {
  static const char *const assumed[] = {"tls-unique"};
  const char *const *types = o->cb_types ? o->cb_types : assumed;
  size_t n = o->cb_types ? o->n_cb_types : 1;
  for (size_t i = 0; i < o->n_cb; i++)
    if (in_list(types, n, o->cb[i].type))
      return &o->cb[i];
  return NULL;
}

/* Whether our policy and credentials allow mechanism m. *need_tls is set
 * when only the missing TLS stood in the way. */
static int acceptable(const lx_sasl_client_opts *o, const mech_info *m,
                      int *need_tls) {
  if (o->require_cb && o->n_cb && !(m->flags & MECH_CHANNEL_BOUND))
    return 0;
  if ((m->flags & MECH_NEEDS_PASSWORD) && !o->password)
    return 0;
  if ((m->flags & MECH_NEEDS_HOST) && !o->host)
    return 0;
  if ((m->flags & MECH_NEEDS_TLS) && !o->tls) {
    *need_tls = 1;
    return 0;
  }
  return !m->family->client_suits || m->family->client_suits(o, m);
}

/* SCRAM: -PLUS needs binding data of a type in common; the password, or
 * cached keys of the mechanism's hash. */
static int scram_suits(const lx_sasl_client_opts *o, const mech_info *m) {
  if ((m->flags & MECH_PLUS) && !choose_cb(o))
    return 0;
  return o->password || (o->keys && o->keys->hash == m->hash);
}

static const mech_info *choose(const lx_sasl_client_opts *o, int *need_tls) {
  if (o->allowed) {
    for (size_t i = 0; i < o->n_allowed; i++) {
      const mech_info *m = sasl_mech_find(o->allowed[i]);
      if (in_list(o->offered, o->n_offered, m->name) &&
          acceptable(o, m, need_tls))
        return m;
    }
    return NULL;
  }
  for (size_t i = 0; i < MECH_COUNT; i++)
    if ((sasl_mechs[i].flags & MECH_CLIENT_DEFAULT) &&
        in_list(o->offered, o->n_offered, sasl_mechs[i].name) &&
        acceptable(o, &sasl_mechs[i], need_tls))
      return &sasl_mechs[i];
  return NULL;
}

static int scram_client_init(lx_sasl_client *c, const lx_sasl_client_opts *o,
                             lx_error *err) {
  const mech_info *m = c->mech;
  scram_client_cfg cfg = {0};
  buf ssdp = BUF_INIT;
  char *pw = NULL;
  size_t pw_len = 0;
  const lx_sasl_cb *cb = m->flags & MECH_PLUS ? choose_cb(o) : NULL;
  cfg.hash = m->hash;
  /* RFC 5802 6: 'y' when we could bind but the server offered no -PLUS
   * (a server offering it refuses 'y' as a downgrade); 'n' when it offers
   * -PLUS but we share no binding type with it */
  cfg.flag = cb ? 'p'
             : o->n_cb && !in_list(o->offered, o->n_offered, plus_name(m->hash))
                 ? 'y'
                 : 'n';
  if (cb) {
    cfg.cb_type = cb->type;
    cfg.cb_data = cb->data;
    cfg.cb_len = cb->len;
  }
  cfg.username = o->username;
  cfg.authzid = o->authzid;
  cfg.keys = o->keys;
  cfg.require_ssdp = o->require_ssdp;
  cfg.min_iterations = o->min_iterations;
  cfg.max_iterations = o->max_iterations;
  cfg.max_salt = o->max_salt;
  cfg.max_message = o->max_message;
  cfg.nonce = c->nonce;
  int rc = scram_ssdp_input(&ssdp, o->offered, o->n_offered, o->cb_types,
                            o->n_cb_types);
  if (rc) {
    rc = error_set(err, rc, "sasl client: out of memory");
    goto done;
  }
  cfg.ssdp = &ssdp;
  if (o->password && (rc = sasl_prep_password(o->password, strlen(o->password),
                                              &pw, &pw_len, err))) {
    if (rc == LX_ERR_INVALID)
      error_set(err, rc,
                "sasl client: the password is not allowed by "
                "OpaqueString");
    goto done;
  }
  cfg.password = pw;
  cfg.password_len = pw_len;
  rc = scram_client_new(&c->scram, &cfg, err);
done:
  if (pw) {
    OPENSSL_cleanse(pw, pw_len);
    free(pw);
  }
  buf_free(&ssdp);
  return rc;
}

static int digest_client_init(lx_sasl_client *c, const lx_sasl_client_opts *o,
                              lx_error *err) {
  digest_cfg d = {o->username, o->password,   strlen(o->password),
                  o->authzid,  o->host,       o->service,
                  c->nonce,    o->max_message};
  int rc = digest_client_new(&c->digest, &d);
  return rc ? error_set(err, rc, "sasl client: out of memory") : 0;
}

/* PLAIN's message: [authzid] NUL authcid NUL passwd. */
static int plain_client_init(lx_sasl_client *c, const lx_sasl_client_opts *o,
                             lx_error *err) {
  char *pw;
  size_t pw_len;
  int rc =
      sasl_prep_password(o->password, strlen(o->password), &pw, &pw_len, err);
  if (rc)
    return rc == LX_ERR_INVALID ? error_set(err, rc,
                                            "sasl client: the password is not "
                                            "allowed by OpaqueString")
                                : rc;
  if ((o->authzid && buf_puts(&c->initial, o->authzid)) ||
      buf_putc(&c->initial, '\0') || buf_puts(&c->initial, o->username) ||
      buf_putc(&c->initial, '\0') || buf_put(&c->initial, pw, pw_len))
    rc = error_set(err, LX_ERR_NOMEM, "sasl client: out of memory");
  OPENSSL_cleanse(pw, pw_len);
  free(pw);
  return rc;
}

/* The initial response of EXTERNAL (the authzid) or ANONYMOUS (the
 * trace): the text, or nothing. */
static int put_initial(lx_sasl_client *c, const char *text, lx_error *err) {
  return text && buf_puts(&c->initial, text)
             ? error_set(err, LX_ERR_NOMEM, "sasl client: out of memory")
             : 0;
}

static int external_client_init(lx_sasl_client *c, const lx_sasl_client_opts *o,
                                lx_error *err) {
  return put_initial(c, o->authzid, err);
}

static int anonymous_client_init(lx_sasl_client *c,
                                 const lx_sasl_client_opts *o, lx_error *err) {
  return put_initial(c, o->trace, err);
}

int lx_sasl_client_new(lx_sasl_client **out, const lx_sasl_client_opts *o,
                       lx_error *err) {
  return sasl_client_create(out, o, NULL, err);
}

int sasl_client_create(lx_sasl_client **out, const lx_sasl_client_opts *o,
                       const char *nonce, lx_error *err) {
  int need_tls = 0, rc = 0;
  *out = NULL;
  if (!o)
    return error_set(err, LX_ERR_INVALID, "sasl client: no options");
  if ((rc = check_client_opts(o, err)))
    return rc;
  const mech_info *m = choose(o, &need_tls);
  if (!m)
    return need_tls ? error_set(err, LX_ERR_SASL_ENCRYPTION_REQUIRED,
                                "sasl client: only PLAIN is possible, and "
                                "not without TLS")
                    : error_set(err, LX_ERR_SASL_INVALID_MECHANISM,
                                "sasl client: the server offers no "
                                "mechanism our policy and credentials allow");
  lx_sasl_client *c = calloc(1, sizeof *c);
  if (!c)
    return error_set(err, LX_ERR_NOMEM, "sasl client: out of memory");
  c->mech = m;
  if (m->family->uses_nonce)
    rc = our_nonce(&c->nonce, nonce, o->random, o->random_user, err);
  if (!rc)
    rc = m->family->client_init(c, o, err);
  if (rc) {
    lx_sasl_client_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

const char *lx_sasl_client_mechanism(const lx_sasl_client *c) {
  return c->mech->name;
}

const char *lx_sasl_client_channel_binding(const lx_sasl_client *c) {
  return c->scram ? scram_client_cb_type(c->scram) : NULL;
}

/* Records a failure as sticky (the caller's mistakes are not), with its
 * detail from e, and copies it to the caller's err. */
static int client_fail(lx_sasl_client *c, int rc, const lx_error *e,
                       lx_error *err) {
  if (rc != LX_ERR_STATE && rc != LX_ERR_INVALID) {
    c->failed = rc;
    c->failure = *e;
    c->failure.code = rc;
  }
  if (err)
    *err = *e;
  return rc;
}

static int client_sticky(const lx_sasl_client *c, lx_error *err) {
  if (err)
    *err = c->failure;
  return c->failed;
}

/* The first message of the mechanism into c->out; 1 when it has one. */
static int client_first(lx_sasl_client *c, lx_error *err) {
  c->out.len = 0;
  if (!c->mech->family->client_first)
    return 0;
  int rc = c->mech->family->client_first(c, err);
  if (rc)
    return rc == LX_ERR_NOMEM ? error_set(err, rc, "sasl client: out of memory")
                              : rc;
  c->phase = PHASE_FIRST;
  return 1;
}

static int scram_client_first_op(lx_sasl_client *c, lx_error *err) {
  return scram_client_first(c->scram, &c->out, err);
}

/* PLAIN, EXTERNAL, ANONYMOUS: the message made by client_init. */
static int initial_client_first(lx_sasl_client *c, lx_error *err) {
  (void)err;
  int rc = buf_put(&c->out, c->initial.data, c->initial.len);
  buf_wipe(&c->initial);
  return rc;
}

static int scram_client_answer(lx_sasl_client *c, const char *in, size_t len,
                               lx_error *err) {
  return scram_client_final(c->scram, in, len, &c->out, err);
}

static int scram_client_verify_op(lx_sasl_client *c, const char *in, size_t len,
                                  lx_error *err) {
  return scram_client_verify(c->scram, in, len, err);
}

static int digest_client_answer(lx_sasl_client *c, const char *in, size_t len,
                                lx_error *err) {
  return digest_client_response(c->digest, in, len, &c->out, err);
}

static int digest_client_verify_op(lx_sasl_client *c, const char *in,
                                   size_t len, lx_error *err) {
  return digest_client_verify(c->digest, in, len, err);
}

static const unsigned char *out_data(const buf *b) {
  return b->data ? (const unsigned char *)b->data : (const unsigned char *)"";
}

int lx_sasl_client_initial(lx_sasl_client *c, const unsigned char **out,
                           size_t *len, lx_error *err) {
  if (c->failed)
    return client_sticky(c, err);
  if (c->phase != PHASE_NONE)
    return error_set(err, LX_ERR_STATE, "sasl client: already started");
  lx_error e = {0};
  int rc = client_first(c, &e);
  if (rc < 0)
    return client_fail(c, rc, &e, err);
  *out = out_data(&c->out);
  *len = c->out.len;
  return rc;
}

int lx_sasl_client_step(lx_sasl_client *c, const unsigned char *in, size_t len,
                        const unsigned char **out, size_t *out_len,
                        lx_error *err) {
  const char *msg = (const char *)in;
  int rc = 0;
  if (c->failed)
    return client_sticky(c, err);
  if (c->authenticated)
    return error_set(err, LX_ERR_STATE, "sasl client: already authenticated");
  if (!in && len)
    return error_set(err, LX_ERR_INVALID, "sasl client: NULL challenge");
  lx_error e = {0};
  c->out.len = 0;
  const mech_family *f = c->mech->family;
  /* the phase in which the server's challenge asks for our answer */
  int answer_phase = f->client_first ? PHASE_FIRST : PHASE_NONE;
  if (c->phase == PHASE_NONE && f->client_first) {
    /* an empty challenge asks for the initial response */
    rc = len ? error_set(&e, LX_ERR_SASL_MALFORMED_REQUEST,
                         "sasl client: a challenge before the initial "
                         "response must be empty")
             : client_first(c, &e);
  } else if (f->client_answer && c->phase == answer_phase) {
    if (!(rc = f->client_answer(c, msg, len, &e)))
      c->phase = PHASE_SECOND;
  } else if (f->client_verify && c->phase == PHASE_SECOND) {
    /* the server's proof as a challenge: verify, answer empty */
    if (!(rc = f->client_verify(c, msg, len, &e)))
      c->phase = PHASE_VERIFIED;
  } else {
    rc = error_set(&e, LX_ERR_SASL_MALFORMED_REQUEST,
                   "sasl client: %s expects no challenge now", c->mech->name);
  }
  if (rc < 0)
    return client_fail(c, rc, &e, err);
  *out = out_data(&c->out);
  *out_len = c->out.len;
  return LX_SASL_RESPONSE;
}

int lx_sasl_client_finish(lx_sasl_client *c, const unsigned char *data,
                          size_t len, lx_error *err) {
  const char *msg = (const char *)data;
  int rc = 0;
  if (c->failed)
    return client_sticky(c, err);
  if (c->authenticated)
    return error_set(err, LX_ERR_STATE, "sasl client: already authenticated");
  if (!data && len)
    return error_set(err, LX_ERR_INVALID, "sasl client: NULL data");
  lx_error e = {0};
  const mech_family *f = c->mech->family;
  if (f->client_verify) {
    if (c->phase == PHASE_VERIFIED && len)
      rc = error_set(&e, LX_ERR_SASL_MALFORMED_REQUEST,
                     "sasl client: unexpected data with <success/>");
    else if (c->phase != PHASE_VERIFIED && (c->phase != PHASE_SECOND || !len))
      rc = error_set(&e, LX_ERR_SASL_SERVER_SIGNATURE,
                     "sasl client: success without the server's proof "
                     "(%s)",
                     f->proof);
    else if (c->phase == PHASE_SECOND)
      rc = f->client_verify(c, msg, len, &e);
  } else if (c->phase != PHASE_FIRST) {
    rc = error_set(&e, LX_ERR_SASL_MALFORMED_REQUEST,
                   "sasl client: success before we authenticated");
  } else if (len) {
    rc = error_set(&e, LX_ERR_SASL_MALFORMED_REQUEST,
                   "sasl client: %s has no additional data on success",
                   c->mech->name);
  }
  if (rc < 0)
    return client_fail(c, rc, &e, err);
  c->authenticated = 1;
  c->phase = PHASE_VERIFIED;
  return 0;
}

int lx_sasl_client_keys(const lx_sasl_client *c, lx_scram_keys *keys) {
  if (!c->authenticated || !c->scram)
    return LX_ERR_STATE;
  scram_client_keys(c->scram, keys);
  return 0;
}

/* ---- server -------------------------------------------------------------- */

enum {
  S_IDLE,         /* no exchange, or it failed */
  S_WAIT_INITIAL, /* sent an empty challenge for the initial response */
  S_NEED_CRED,    /* waiting for lx_sasl_server_credentials */
  S_WAIT_FINAL,   /* SCRAM: server-first sent */
  S_WAIT_DIGEST,  /* DIGEST-MD5: challenge sent */
  S_WAIT_ACK,     /* DIGEST-MD5: rspauth sent, waiting for an empty reply */
  S_DONE,         /* success */
  S_BROKEN        /* out of memory or OpenSSL failed: for good */
};

struct lx_sasl_server {
  unsigned char enabled[MECH_COUNT]; /* [i]: sasl_mechs[i] is enabled */
  const char *advertised[MECH_COUNT];
  size_t n_advertised;
  lx_sasl_cb *cb;
  const char **cb_types;
  size_t n_cb;
  int tls, ssdp, client_cert;
  int cb_fallback, cb_fallback_ok; /* the option; a -PLUS attempt was seen */
  int cb_unsupported;              /* the last exchange's failure */
  unsigned iterations;
  size_t max_message;
  char *host, *service;
  lx_random_fn random;
  void *random_user;
  buf ssdp_input;
  /* the exchange */
  const mech_info *mech;
  int state;
  int broken; /* S_BROKEN's code */
  scram_server_cfg scfg;
  scram_server *scram;
  digest_cfg dcfg;
  digest_server *digest;
  lx_sasl_request req;
  char *username, *authzid, *trace;
  char *nonce;  /* ours: SCRAM's nonce part, DIGEST-MD5's nonce */
  buf password; /* PLAIN: the client's, prepared; wiped */
  buf out;
};

void lx_sasl_server_opts_init(lx_sasl_server_opts *o) {
  memset(o, 0, sizeof *o);
  o->ssdp = 1;
  o->iterations = 10000;
  o->max_message = 4096;
  o->service = "xmpp";
}

/* Forgets the current exchange. */
static void server_reset(lx_sasl_server *s) {
  scram_server_free(s->scram);
  digest_server_free(s->digest);
  s->scram = NULL;
  s->digest = NULL;
  free(s->username);
  free(s->authzid);
  free(s->trace);
  free(s->nonce);
  s->username = s->authzid = s->trace = s->nonce = NULL;
  buf_wipe(&s->password);
  memset(&s->req, 0, sizeof s->req);
  s->mech = NULL;
  s->state = S_IDLE;
}

void lx_sasl_server_free(lx_sasl_server *s) {
  if (!s)
    return;
  server_reset(s);
  for (size_t i = 0; i < s->n_cb; i++) {
    free((char *)s->cb[i].type);
    if (s->cb[i].data)
      OPENSSL_cleanse((void *)s->cb[i].data, s->cb[i].len);
    free((void *)s->cb[i].data);
  }
  free(s->cb);
  free(s->cb_types);
  free(s->host);
  free(s->service);
  buf_free(&s->ssdp_input);
  buf_free(&s->out);
  free(s);
}

/* Checks the options and marks the enabled mechanisms in `enabled`. */
static int check_server_opts(const lx_sasl_server_opts *o,
                             unsigned char enabled[MECH_COUNT], lx_error *err) {
  const char *why = NULL, *no_host = NULL;
  for (size_t i = 0; i < MECH_COUNT; i++)
    enabled[i] =
        !o->mechanisms && (sasl_mechs[i].flags & MECH_SERVER_DEFAULT) != 0;
  if (o->n_mechanisms && !o->mechanisms)
    why = "mechanisms is NULL";
  for (size_t i = 0; !why && i < o->n_mechanisms; i++) {
    const mech_info *m = sasl_mech_find(o->mechanisms[i]);
    if (!m)
      why = "mechanisms names one lxmpp does not implement";
    else
      enabled[m - sasl_mechs] = 1;
  }
  for (size_t i = 0; i < MECH_COUNT; i++)
    if (enabled[i] && (sasl_mechs[i].flags & MECH_NEEDS_HOST) && !o->host)
      no_host = sasl_mechs[i].name;
  if (why)
    ;
  else if (!valid_cbs(o->cb, o->n_cb))
    why = "bad channel-binding data (type name, 1 to 1024 bytes)";
  else if (!o->iterations || o->iterations > INT_MAX || o->max_message < 64)
    why = "bad limits";
  else if (!o->service || !*o->service || strchr(o->service, '/') ||
           strchr(o->service, '"'))
    why = "service must be a name without '/'";
  else if (o->host && !valid_text(o->host, 1023))
    why = "host must be UTF-8";
  else if (no_host)
    return error_set(err, LX_ERR_INVALID, "sasl server: %s needs host",
                     no_host);
  return why ? error_set(err, LX_ERR_INVALID, "sasl server: %s", why) : 0;
}

int lx_sasl_server_new(lx_sasl_server **out, const lx_sasl_server_opts *o,
                       lx_error *err) {
  unsigned char enabled[MECH_COUNT];
  int rc, fail = 0;
  *out = NULL;
  if (!o)
    return error_set(err, LX_ERR_INVALID, "sasl server: no options");
  if ((rc = check_server_opts(o, enabled, err)))
    return rc;
  lx_sasl_server *s = calloc(1, sizeof *s);
  if (!s)
    return error_set(err, LX_ERR_NOMEM, "sasl server: out of memory");
  memcpy(s->enabled, enabled, sizeof enabled);
  s->tls = o->tls;
  s->client_cert = o->client_cert;
  s->ssdp = o->ssdp;
  s->cb_fallback = o->cb_fallback;
  s->iterations = o->iterations;
  s->max_message = o->max_message;
  s->host = sasl_dup(o->host, &fail);
  s->service = sasl_dup(o->service, &fail);
  s->random = o->random;
  s->random_user = o->random_user;
  if (o->n_cb) {
    s->cb = calloc(o->n_cb, sizeof *s->cb);
    s->cb_types = calloc(o->n_cb, sizeof *s->cb_types);
    fail |= !s->cb || !s->cb_types;
  }
  for (size_t i = 0; !fail && i < o->n_cb; i++) {
    unsigned char *d = malloc(o->cb[i].len);
    s->cb[i].type = s->cb_types[i] = sasl_dup(o->cb[i].type, &fail);
    s->cb[i].data = d;
    s->cb[i].len = o->cb[i].len;
    s->n_cb = i + 1;
    if (d)
      memcpy(d, o->cb[i].data, o->cb[i].len);
    fail |= !d;
  }
  for (size_t i = 0; i < MECH_COUNT; i++) {
    const mech_info *m = &sasl_mechs[i];
    if (enabled[i] && (!(m->flags & MECH_PLUS) || o->n_cb) &&
        (!(m->flags & MECH_NEEDS_TLS) || o->tls) &&
        (!(m->flags & MECH_NEEDS_CLIENT_CERT) || o->client_cert))
      s->advertised[s->n_advertised++] = m->name;
  }
  if (!fail)
    fail = scram_ssdp_input(&s->ssdp_input, s->advertised, s->n_advertised,
                            s->n_cb ? s->cb_types : NULL, s->n_cb) != 0;
  if (fail) {
    lx_sasl_server_free(s);
    return error_set(err, LX_ERR_NOMEM, "sasl server: out of memory");
  }
  *out = s;
  return 0;
}

size_t lx_sasl_server_mechanisms(const lx_sasl_server *s, const char **names,
                                 size_t max) {
  for (size_t i = 0; i < s->n_advertised && i < max; i++)
    names[i] = s->advertised[i];
  return s->n_advertised;
}

size_t lx_sasl_server_default_mechanisms(const char **names, size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < MECH_COUNT; i++)
    if (sasl_mechs[i].flags & MECH_SERVER_DEFAULT) {
      if (n < max)
        names[n] = sasl_mechs[i].name;
      n++;
    }
  return n;
}

int lx_sasl_server_cb_unsupported(const lx_sasl_server *s) {
  return s->cb_unsupported;
}

size_t lx_sasl_server_cb_types(const lx_sasl_server *s, const char **types,
                               size_t max) {
  for (size_t i = 0; i < s->n_cb && i < max; i++)
    types[i] = s->cb_types[i];
  return s->n_cb;
}

const lx_sasl_request *lx_sasl_server_request(const lx_sasl_server *s) {
  return &s->req;
}

/* A failure of the exchange: the server may start again. */
static int server_fail(lx_sasl_server *s, int rc) {
  if (rc == LX_ERR_NOMEM || rc == LX_ERR_INTERNAL) /* lx_error_is_fatal */
    s->state = S_BROKEN, s->broken = rc;
  else if (rc != LX_ERR_STATE && rc != LX_ERR_INVALID)
    s->state = S_IDLE;
  return rc;
}

static int server_broken(const lx_sasl_server *s, lx_error *err) {
  return error_set(err, s->broken, "sasl server: out of order since %s",
                   lx_strerror(s->broken));
}

static int need_credentials(lx_sasl_server *s) {
  s->req.mechanism = s->mech->name;
  s->req.username = s->username;
  s->req.authzid = s->authzid;
  s->req.trace = s->trace;
  s->req.password = s->password.data;
  s->req.hash = s->mech->hash;
  s->state = S_NEED_CRED;
  return LX_SASL_NEED_CREDENTIALS;
}

/* PLAIN: [authzid] NUL authcid NUL passwd (RFC 4616), each at most 255
 * bytes of UTF-8. */
static int plain_server_initial(lx_sasl_server *s, const char *in, size_t len,
                                lx_error *err) {
  const char *nul1 = memchr(in, '\0', len);
  const char *nul2 =
      nul1 ? memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - in)) : NULL;
  if (!nul2 || memchr(nul2 + 1, '\0', len - (size_t)(nul2 + 1 - in)))
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "plain: not authzid NUL authcid NUL password");
  size_t zl = (size_t)(nul1 - in), ul = (size_t)(nul2 - nul1 - 1),
         pl = len - (size_t)(nul2 + 1 - in);
  if (!ul || !pl || zl > 255 || ul > 255 || pl > 255 ||
      !sasl_utf8_valid(in, zl) || !sasl_utf8_valid(nul1 + 1, ul) ||
      !sasl_utf8_valid(nul2 + 1, pl))
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "plain: authcid and password must be 1 to 255 bytes "
                     "of UTF-8");
  char *pw;
  size_t pw_len;
  int rc;
  if ((rc = sasl_prep_username(nul1 + 1, ul, &s->username, err)) ||
      (rc = sasl_prep_password(nul2 + 1, pl, &pw, &pw_len, err)))
    return rc == LX_ERR_NOMEM
               ? rc
               : error_set(err, LX_ERR_SASL_NOT_AUTHORIZED,
                           "plain: the username or password is not valid");
  rc = buf_put(&s->password, pw, pw_len) || buf_putc(&s->password, '\0');
  OPENSSL_cleanse(pw, pw_len);
  free(pw);
  if (rc || (zl && !(s->authzid = sasl_strndup(in, zl))))
    return error_set(err, LX_ERR_NOMEM, "plain: out of memory");
  return need_credentials(s);
}

/* The client's first message (the initial response). */
static int server_first(lx_sasl_server *s, const char *in, size_t len,
                        lx_error *err) {
  if (len > s->max_message)
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "sasl server: message longer than %zu bytes",
                     s->max_message);
  return s->mech->family->server_initial(s, in, len, err);
}

static int scram_server_initial(lx_sasl_server *s, const char *in, size_t len,
                                lx_error *err) {
  int rc =
      scram_server_first(s->scram, in, len, &s->username, &s->authzid, err);
  if (rc && scram_server_cb_unsupported(s->scram)) {
    s->cb_unsupported = 1;
    s->cb_fallback_ok = s->cb_fallback;
  }
  return rc ? rc : need_credentials(s);
}

/* EXTERNAL: an authzid or nothing. */
static int external_server_initial(lx_sasl_server *s, const char *in,
                                   size_t len, lx_error *err) {
  if (len && (len > 3071 || !sasl_utf8_valid(in, len)))
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "external: the authzid is not UTF-8");
  if (len && !(s->authzid = sasl_strndup(in, len)))
    return error_set(err, LX_ERR_NOMEM, "external: out of memory");
  return need_credentials(s);
}

/* ANONYMOUS: a trace or nothing. */
static int anonymous_server_initial(lx_sasl_server *s, const char *in,
                                    size_t len, lx_error *err) {
  if (len && (len > 1020 || !sasl_utf8_valid(in, len)))
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "anonymous: the trace is not UTF-8");
  if (len && !(s->trace = sasl_strndup(in, len)))
    return error_set(err, LX_ERR_NOMEM, "anonymous: out of memory");
  if (s->trace && utf8_chars(s->trace) > 255)
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "anonymous: the trace is over 255 characters");
  return need_credentials(s);
}

static int out_result(lx_sasl_server *s, int rc, const unsigned char **out,
                      size_t *out_len) {
  if (rc == LX_SASL_CHALLENGE || (rc == LX_SASL_SUCCESS && s->out.len)) {
    *out = out_data(&s->out);
    *out_len = s->out.len;
  } else {
    *out = NULL;
    *out_len = 0;
  }
  return rc < 0 ? server_fail(s, rc) : rc;
}

static int scram_server_start(lx_sasl_server *s, const unsigned char *initial,
                              size_t len, lx_error *err) {
  (void)initial;
  (void)len;
  const mech_info *m = s->mech;
  s->scfg = (scram_server_cfg){
      .hash = m->hash,
      .plus = (m->flags & MECH_PLUS) != 0,
      .offers_plus =
          in_list(s->advertised, s->n_advertised, plus_name(m->hash)) &&
          !s->cb_fallback_ok,
      .cb = s->cb,
      .n_cb = s->n_cb,
      .ssdp = s->ssdp ? &s->ssdp_input : NULL,
      .max_message = s->max_message,
      .nonce = s->nonce,
  };
  return scram_server_new(&s->scram, &s->scfg)
             ? error_set(err, LX_ERR_NOMEM, "sasl server: out of memory")
             : 0;
}

/* DIGEST-MD5: the server speaks first, with its challenge. */
static int digest_server_start(lx_sasl_server *s, const unsigned char *initial,
                               size_t len, lx_error *err) {
  int rc;
  s->dcfg = (digest_cfg){.host = s->host,
                         .service = s->service,
                         .nonce = s->nonce,
                         .max_message = s->max_message};
  if (initial && len)
    return error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                     "digest-md5: no initial response allowed");
  if (digest_server_new(&s->digest, &s->dcfg))
    return error_set(err, LX_ERR_NOMEM, "sasl server: out of memory");
  if ((rc = digest_server_challenge(s->digest, &s->out, err)))
    return rc;
  s->state = S_WAIT_DIGEST;
  return LX_SASL_CHALLENGE;
}

int lx_sasl_server_start(lx_sasl_server *s, const char *mechanism,
                         const unsigned char *initial, size_t len,
                         const unsigned char **out, size_t *out_len,
                         lx_error *err) {
  return sasl_server_start(s, NULL, mechanism, initial, len, out, out_len, err);
}

int sasl_server_start(lx_sasl_server *s, const char *nonce,
                      const char *mechanism, const unsigned char *initial,
                      size_t len, const unsigned char **out, size_t *out_len,
                      lx_error *err) {
  int rc;
  if (s->state == S_BROKEN)
    return server_broken(s, err);
  if (s->state == S_DONE)
    return error_set(err, LX_ERR_STATE, "sasl server: already succeeded");
  if (!initial && len)
    return error_set(err, LX_ERR_INVALID, "sasl server: NULL data");
  server_reset(s);
  s->out.len = 0;
  s->cb_unsupported = 0;
  const mech_info *m = sasl_mech_find(mechanism);
  if (!m || !in_list(s->advertised, s->n_advertised, m->name)) {
    int enabled = m && s->enabled[m - sasl_mechs];
    if (enabled && (m->flags & MECH_NEEDS_TLS) && !s->tls)
      rc = error_set(err, LX_ERR_SASL_ENCRYPTION_REQUIRED,
                     "sasl server: %s needs TLS", m->name);
    else if (enabled && (m->flags & MECH_NEEDS_CLIENT_CERT))
      rc = error_set(err, LX_ERR_SASL_INVALID_MECHANISM,
                     "%s needs a client certificate that verified", m->name);
    else
      rc = error_set(err, LX_ERR_SASL_INVALID_MECHANISM,
                     "sasl server: mechanism not offered");
    return out_result(s, rc, out, out_len);
  }
  s->mech = m;
  if (m->family->uses_nonce &&
      (rc = our_nonce(&s->nonce, nonce, s->random, s->random_user, err)))
    return out_result(s, rc, out, out_len);
  if (m->family->server_start &&
      (rc = m->family->server_start(s, initial, len, err)))
    return out_result(s, rc, out, out_len);
  if (!initial) {
    s->state = S_WAIT_INITIAL;
    return out_result(s, LX_SASL_CHALLENGE, out, out_len);
  }
  return out_result(s, server_first(s, (const char *)initial, len, err), out,
                    out_len);
}

int lx_sasl_server_step(lx_sasl_server *s, const unsigned char *in, size_t len,
                        const unsigned char **out, size_t *out_len,
                        lx_error *err) {
  const char *msg = (const char *)in;
  int rc;
  if (s->state == S_BROKEN)
    return server_broken(s, err);
  if (!in && len)
    return error_set(err, LX_ERR_INVALID, "sasl server: NULL data");
  if (!in)
    msg = "";
  s->out.len = 0;
  switch (s->state) {
  case S_WAIT_INITIAL: rc = server_first(s, msg, len, err); break;
  case S_WAIT_FINAL:
    rc = scram_server_final(s->scram, msg, len, &s->out, err);
    if (!rc)
      s->state = S_DONE, rc = LX_SASL_SUCCESS;
    break;
  case S_WAIT_DIGEST:
    rc = digest_server_response(s->digest, msg, len, &s->username, &s->authzid,
                                err);
    if (!rc)
      rc = need_credentials(s);
    break;
  case S_WAIT_ACK:
    rc = len ? error_set(err, LX_ERR_SASL_MALFORMED_REQUEST,
                         "digest-md5: expected an empty response")
             : LX_SASL_SUCCESS;
    if (rc == LX_SASL_SUCCESS)
      s->state = S_DONE;
    break;
  default:
    return error_set(err, LX_ERR_STATE,
                     s->state == S_NEED_CRED
                         ? "sasl server: waiting for credentials"
                         : "sasl server: no exchange in progress");
  }
  return out_result(s, rc, out, out_len);
}

/* PLAIN: compare the client's password with the account's. */
static int plain_server_verify(lx_sasl_server *s, const lx_sasl_credentials *c,
                               lx_error *err) {
  unsigned char a[LX_SASL_MAX_HASH], b[LX_SASL_MAX_HASH];
  int rc = 0, equal = 0;
  const lx_scram_keys *k = &c->keys;
  if (c->password) {
    char *pw;
    size_t pw_len;
    if ((rc = sasl_prep_password(c->password, strlen(c->password), &pw, &pw_len,
                                 err)))
      return rc == LX_ERR_NOMEM ? rc
                                : error_set(err, LX_ERR_INVALID,
                                            "plain: the account's password "
                                            "is not allowed by OpaqueString");
    /* equal-length digests: the comparison reveals no length */
    rc = EVP_Digest(pw, pw_len, a, NULL, EVP_sha256(), NULL) != 1 ||
                 EVP_Digest(s->password.data, s->password.len - 1, b, NULL,
                            EVP_sha256(), NULL) != 1
             ? LX_ERR_INTERNAL
             : 0;
    equal = !rc && CRYPTO_memcmp(a, b, 32) == 0;
    OPENSSL_cleanse(pw, pw_len);
    free(pw);
  } else if (k->stored_key && lx_sasl_hash_size(k->hash) && k->salt &&
             k->salt_len && k->iterations && k->iterations <= INT_MAX) {
    size_t hl = lx_sasl_hash_size(k->hash);
    rc =
        lx_scram_derive(k->hash, s->password.data, s->password.len - 1, k->salt,
                        k->salt_len, k->iterations, NULL, a, NULL, err);
    equal = !rc && CRYPTO_memcmp(a, k->stored_key, hl) == 0;
  } else {
    return error_set(err, LX_ERR_INVALID,
                     "plain: credentials need a password, or keys with "
                     "hash, salt, iterations and stored_key");
  }
  OPENSSL_cleanse(a, sizeof a);
  OPENSSL_cleanse(b, sizeof b);
  if (rc)
    return error_set(err, LX_ERR_INTERNAL, "plain: hashing failed");
  if (!equal)
    return error_set(err, LX_ERR_SASL_NOT_AUTHORIZED, "plain: wrong password");
  s->state = S_DONE;
  return LX_SASL_SUCCESS;
}

/* SCRAM: the account's keys (derived here from a password) into
 * server-first. */
static int scram_credentials(lx_sasl_server *s, const lx_sasl_credentials *c,
                             lx_error *err) {
  unsigned char stored[LX_SASL_MAX_HASH], server[LX_SASL_MAX_HASH],
      salt[SASL_SALT_BYTES];
  lx_scram_keys k = c->keys;
  int rc = 0;
  if (c->password) {
    k.hash = s->mech->hash;
    if (!k.salt) {
      if ((rc = sasl_random(s->random, s->random_user, salt, sizeof salt, err)))
        return rc;
      k.salt = salt;
      k.salt_len = sizeof salt;
    }
    if (!k.iterations)
      k.iterations = s->iterations;
    k.stored_key = stored;
    k.server_key = server;
    rc = lx_scram_derive(k.hash, c->password, strlen(c->password), k.salt,
                         k.salt_len, k.iterations, NULL, stored, server, err);
  }
  if (!rc)
    rc = scram_server_challenge(s->scram, &k, &s->out, err);
  OPENSSL_cleanse(stored, sizeof stored);
  OPENSSL_cleanse(server, sizeof server);
  if (rc)
    return rc;
  s->state = S_WAIT_FINAL;
  return LX_SASL_CHALLENGE;
}

static int scram_server_verify(lx_sasl_server *s, const lx_sasl_credentials *c,
                               lx_error *err) {
  return c->password || (c->keys.stored_key && c->keys.server_key)
             ? scram_credentials(s, c, err)
             : error_set(err, LX_ERR_INVALID,
                         "sasl server: SCRAM needs a password or keys");
}

static int digest_server_verify_op(lx_sasl_server *s,
                                   const lx_sasl_credentials *c,
                                   lx_error *err) {
  int rc = !c->password
               ? error_set(err, LX_ERR_INVALID,
                           "sasl server: DIGEST-MD5 needs the password")
               : digest_server_verify(s->digest, c->password,
                                      strlen(c->password), &s->out, err);
  if (rc)
    return rc;
  s->state = S_WAIT_ACK;
  return LX_SASL_CHALLENGE;
}

/* ACCEPT: the application vouches for the client, under the identity it
 * may give. */
static int accept_client(lx_sasl_server *s, const lx_sasl_credentials *c,
                         lx_error *err) {
  if (c->identity) {
    free(s->username);
    s->username = sasl_strndup(c->identity, strlen(c->identity));
    s->req.username = s->username;
    if (!s->username)
      return error_set(err, LX_ERR_NOMEM, "sasl server: out of memory");
  }
  s->state = S_DONE;
  return LX_SASL_SUCCESS;
}

int lx_sasl_server_credentials(lx_sasl_server *s, const lx_sasl_credentials *c,
                               const unsigned char **out, size_t *out_len,
                               lx_error *err) {
  int rc;
  if (s->state == S_BROKEN)
    return server_broken(s, err);
  if (s->state != S_NEED_CRED)
    return error_set(err, LX_ERR_STATE, "sasl server: no credentials asked");
  if (!c)
    return error_set(err, LX_ERR_INVALID, "sasl server: no credentials");
  s->out.len = 0;
  const mech_family *f = s->mech->family;
  if (c->verdict < 0) {
    rc = lx_error_condition(c->verdict) &&
                 error_family(c->verdict) == LX_FAMILY_SASL
             ? error_set(err, c->verdict, "%s",
                         c->text ? c->text : "refused by the application")
             : error_set(err, LX_ERR_INVALID,
                         "sasl server: a refusal must be an RFC 6120 "
                         "LX_ERR_SASL_* condition");
  } else if (c->verdict == LX_SASL_ACCEPT) {
    /* where the server must prove that it knows the secret, only the
     * secret can answer */
    rc = f->client_verify ? error_set(err, LX_ERR_INVALID,
                                      "sasl server: %s needs a password or "
                                      "keys",
                                      s->mech->name)
                          : accept_client(s, c, err);
  } else if (c->verdict != LX_SASL_VERIFY) {
    rc = error_set(err, LX_ERR_INVALID, "sasl server: bad verdict");
  } else if (f->server_verify) {
    rc = f->server_verify(s, c, err);
  } else {
    rc = error_set(err, LX_ERR_INVALID,
                   "sasl server: %s is answered with ACCEPT or a refusal",
                   s->mech->name);
  }
  if (rc == LX_SASL_SUCCESS ||
      (rc < 0 && rc != LX_ERR_INVALID && rc != LX_ERR_STATE))
    buf_wipe(&s->password), s->req.password = NULL;
  return out_result(s, rc, out, out_len);
}

/* ---- the table ----------------------------------------------------------- */

static const mech_family scram = {
    .uses_nonce = 1,
    .client_suits = scram_suits,
    .client_init = scram_client_init,
    .client_first = scram_client_first_op,
    .client_answer = scram_client_answer,
    .client_verify = scram_client_verify_op,
    .proof = "v=",
    .server_start = scram_server_start,
    .server_initial = scram_server_initial,
    .server_verify = scram_server_verify,
};

static const mech_family digest_md5 = {
    .uses_nonce = 1,
    .client_init = digest_client_init,
    .client_answer = digest_client_answer,
    .client_verify = digest_client_verify_op,
    .proof = "rspauth",
    .server_start = digest_server_start,
    .server_verify = digest_server_verify_op,
};

static const mech_family plain = {
    .client_init = plain_client_init,
    .client_first = initial_client_first,
    .server_initial = plain_server_initial,
    .server_verify = plain_server_verify,
};

static const mech_family external = {
    .client_init = external_client_init,
    .client_first = initial_client_first,
    .server_initial = external_server_initial,
};

static const mech_family anonymous = {
    .client_init = anonymous_client_init,
    .client_first = initial_client_first,
    .server_initial = anonymous_server_initial,
};

#define SCRAM_PLUS (MECH_PLUS | MECH_CHANNEL_BOUND)
#define DEFAULTS (MECH_CLIENT_DEFAULT | MECH_SERVER_DEFAULT)

const mech_info sasl_mechs[MECH_COUNT] = {
    {"SCRAM-SHA-512-PLUS", &scram, LX_SASL_SHA512, SCRAM_PLUS | DEFAULTS},
    {"SCRAM-SHA-256-PLUS", &scram, LX_SASL_SHA256, SCRAM_PLUS | DEFAULTS},
    {"SCRAM-SHA-1-PLUS", &scram, LX_SASL_SHA1, SCRAM_PLUS | DEFAULTS},
    {"SCRAM-SHA-512", &scram, LX_SASL_SHA512, DEFAULTS},
    {"SCRAM-SHA-256", &scram, LX_SASL_SHA256, DEFAULTS},
    {"SCRAM-SHA-1", &scram, LX_SASL_SHA1, DEFAULTS},
    /* off in the server unless enabled: it needs the password in clear */
    {"DIGEST-MD5", &digest_md5, 0,
     MECH_CLIENT_DEFAULT | MECH_NEEDS_PASSWORD | MECH_NEEDS_HOST},
    {"PLAIN", &plain, 0, DEFAULTS | MECH_NEEDS_PASSWORD | MECH_NEEDS_TLS},
    /* used by either role only when asked for */
    {"EXTERNAL", &external, 0, MECH_CHANNEL_BOUND | MECH_NEEDS_CLIENT_CERT},
    {"ANONYMOUS", &anonymous, 0, 0},
};

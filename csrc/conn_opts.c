/* conn_opts.c: the connection's options, checked and copied, so that the
 * caller's may go away after lx_conn_new(). */
#include "conn_internal.h"
#include "error.h"
#include "xmlout.h"

#include <string.h>

/* ---- small helpers ------------------------------------------------------- */

static char *dup_str(const char *s, int *nomem) {
  char *d = NULL;
  if (s && !(d = strdup(s)))
    *nomem = 1;
  return d;
}

static char **dup_list(const char *const *v, size_t n, int *nomem) {
  char **d;
  if (!v || !n)
    return NULL;
  if (!(d = calloc(n, sizeof *d))) {
    *nomem = 1;
    return NULL;
  }
  for (size_t i = 0; i < n; i++)
    d[i] = dup_str(v[i], nomem);
  return d;
}

static void free_list(char **v, size_t n) {
  for (size_t i = 0; v && i < n; i++)
    free(v[i]);
  free(v);
}

static unsigned char *dup_bytes(const unsigned char *p, size_t n, int *nomem) {
  unsigned char *d = NULL;
  if (p && !(d = malloc(n ? n : 1)))
    *nomem = 1;
  else if (p)
    memcpy(d, p, n);
  return d;
}

static void free_str_secret(const char *s) {
  free_secret((char *)s, s ? strlen(s) : 0);
}

int conn_valid_lang(const char *s) {
  size_t n = 0, run = 0;
  if (!s || !*s)
    return 0;
  for (; s[n]; n++) {
    char ch = s[n];
    int alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
    int digit = ch >= '0' && ch <= '9';
    if (ch == '-' && run > 0)
      run = 0;
    else if ((alpha || (digit && n > 0)) && run < 8)
      run++;
    else
      return 0;
  }
  return run > 0 && n < LANG_SIZE;
}

/* ---- copies of the SASL options ---------------------------------------- */

void conn_free_sasl_client_opts(lx_sasl_client_opts *o) {
  size_t hl = o->keys ? lx_sasl_hash_size(o->keys->hash) : 0;
  free_list((char **)o->allowed, o->n_allowed);
  free((char *)o->username);
  free_str_secret(o->password);
  free((char *)o->authzid);
  free((char *)o->host);
  free((char *)o->service);
  free((char *)o->trace);
  if (o->keys) {
    free((unsigned char *)o->keys->salt);
    free_secret((unsigned char *)o->keys->client_key, hl);
    free_secret((unsigned char *)o->keys->stored_key, hl);
    free_secret((unsigned char *)o->keys->server_key, hl);
    free((lx_scram_keys *)o->keys);
  }
  memset(o, 0, sizeof *o);
}

/* Owned copies of what the client's SASL options point to. */
static void copy_sasl_client_opts(lx_sasl_client_opts *d,
                                  const lx_sasl_client_opts *s, int *nomem) {
  *d = *s;
  d->offered = NULL;
  d->n_offered = 0;
  d->cb_types = NULL;
  d->n_cb_types = 0;
  d->cb = NULL;
  d->n_cb = 0;
  d->allowed = (const char *const *)dup_list(s->allowed, s->n_allowed, nomem);
  d->username = dup_str(s->username, nomem);
  d->password = dup_str(s->password, nomem);
  d->authzid = dup_str(s->authzid, nomem);
  d->host = dup_str(s->host, nomem);
  d->service = dup_str(s->service, nomem);
  d->trace = dup_str(s->trace, nomem);
  d->keys = NULL;
  if (s->keys) {
    lx_scram_keys *k = malloc(sizeof *k);
    size_t hl = lx_sasl_hash_size(s->keys->hash);
    if (!k) {
      *nomem = 1;
      return;
    }
    *k = *s->keys;
    k->salt = dup_bytes(s->keys->salt, s->keys->salt_len, nomem);
    k->client_key = dup_bytes(s->keys->client_key, hl, nomem);
    k->stored_key = dup_bytes(s->keys->stored_key, hl, nomem);
    k->server_key = dup_bytes(s->keys->server_key, hl, nomem);
    d->keys = k;
  }
}

void conn_free_sasl_server_opts(lx_sasl_server_opts *o) {
  free_list((char **)o->mechanisms, o->n_mechanisms);
  free((char *)o->host);
  free((char *)o->service);
  memset(o, 0, sizeof *o);
}

static void copy_sasl_server_opts(lx_sasl_server_opts *d,
                                  const lx_sasl_server_opts *s, int *nomem) {
  *d = *s;
  d->cb = NULL;
  d->n_cb = 0;
  d->mechanisms =
      (const char *const *)dup_list(s->mechanisms, s->n_mechanisms, nomem);
  d->host = dup_str(s->host, nomem);
  d->service = dup_str(s->service, nomem);
}

/* ---- the options --------------------------------------------------------- */

void lx_conn_opts_init(lx_conn_opts *o) {
  memset(o, 0, sizeof *o);
  o->tls = LX_CONN_TLS_REQUIRED;
  lx_sasl_client_opts_init(&o->sasl_client);
  lx_sasl_server_opts_init(&o->sasl_server);
  o->max_auth_attempts = 3;
  o->max_bind_attempts = 5;
  o->offer_session = 1;
  lx_parser_opts_init(&o->parser);
  o->max_preauth_stanza_bytes = 10000;
  o->max_output_bytes = 1048576;
  o->max_input_bytes = 262144;
}

/* The channel-binding types when none are configured, preferred first. */
static const lx_tls_cb_type cb_default[MAX_CB] = {
    LX_TLS_CB_EXPORTER, LX_TLS_CB_SERVER_END_POINT, LX_TLS_CB_UNIQUE};

/* Checks and copies the options. */
static int configure(lx_conn *c, const lx_conn_opts *o, lx_error *err) {
  int nomem = 0, rc;
  if (o->tls > LX_CONN_TLS_DIRECT)
    return error_set(err, LX_ERR_INVALID, "unknown TLS mode %d", (int)o->tls);
  if (o->tls != LX_CONN_TLS_DISABLED && !o->tls_ctx)
    return error_set(err, LX_ERR_INVALID, "TLS needs a context (tls_ctx)");
  if (o->lang && !conn_valid_lang(o->lang))
    return error_set(err, LX_ERR_INVALID, "lang '%s' is not a language tag",
                     o->lang);
  if (!o->max_preauth_stanza_bytes || !o->max_output_bytes ||
      !o->max_input_bytes)
    return error_set(err, LX_ERR_INVALID, "a limit is zero");
  if (o->n_cb_types > MAX_CB)
    return error_set(err, LX_ERR_INVALID, "cb_types: at most %d", MAX_CB);
  c->n_cb_types = o->cb_types ? o->n_cb_types : MAX_CB;
  for (size_t i = 0; i < c->n_cb_types; i++) {
    c->cb_types[i] = o->cb_types ? 0 : cb_default[i];
    for (size_t t = 0; o->cb_types && t < MAX_CB; t++)
      if (o->cb_types[i] &&
          strcmp(o->cb_types[i], lx_tls_cb_name(cb_default[t])) == 0)
        c->cb_types[i] = cb_default[t];
    if (!c->cb_types[i])
      return error_set(err, LX_ERR_INVALID, "cb_types[%zu]: unknown type", i);
  }
  for (size_t i = 0; i < o->n_extension_ns; i++)
    if (!o->extension_ns[i] || !*o->extension_ns[i])
      return error_set(err, LX_ERR_INVALID, "extension_ns[%zu] is empty", i);
  c->tls_mode = o->tls;
  c->lang = dup_str(o->lang ? o->lang : "en", &nomem);
  c->extension_ns = dup_list(o->extension_ns, o->n_extension_ns, &nomem);
  c->n_extension_ns = c->extension_ns ? o->n_extension_ns : 0;
  c->random = o->random;
  c->random_user = o->random_user;
  c->parser_opts = o->parser;
  c->parser_opts.default_ns = c->role->content_ns;
  c->max_preauth_stanza_bytes = o->max_preauth_stanza_bytes;
  c->max_output_bytes = o->max_output_bytes;
  c->max_input_bytes = o->max_input_bytes;
  c->trace = o->trace;
  if (nomem)
    return error_set(err, LX_ERR_NOMEM, "out of memory");
  if ((rc = conn_new_parser(c)) != 0)
    return error_set(err, rc, "invalid parser limits");
  /* a server's TLS object waits for <starttls/>: most of the memory of a
   * connection that never sends it (a flood, a slowloris) */
  if (o->tls != LX_CONN_TLS_DISABLED && o->tls != LX_CONN_TLS_DIRECT &&
      c->role->tls_role == LX_TLS_SERVER) {
    if ((rc = lx_tls_ctx_hold(o->tls_ctx, err)) != 0)
      return rc;
    c->tls_ctx = o->tls_ctx;
  } else if (o->tls != LX_CONN_TLS_DISABLED) {
    const char *peer = c->jid ? lx_jid_domain_ascii(c->jid) : NULL;
    if (o->tls_peer_name && c->role->tls_role == LX_TLS_CLIENT)
      peer = o->tls_peer_name;
    if ((rc = lx_tls_new(&c->tls, o->tls_ctx, peer, err)) != 0)
      return rc;
    if (o->tls_session && c->role->tls_role == LX_TLS_CLIENT &&
        (rc = lx_tls_set_session(c->tls, o->tls_session, err)) != 0)
      return rc;
  }
  return 0;
}

int conn_configure_client(lx_conn *c, const lx_conn_opts *o, lx_error *err) {
  int nomem = 0;
  if (!o->jid)
    return error_set(err, LX_ERR_INVALID, "a client needs its JID");
  int rc = lx_jid_new(&c->jid, o->jid, strlen(o->jid), err);
  if (rc)
    return rc;
  copy_sasl_client_opts(&c->sasl_client_opts, &o->sasl_client, &nomem);
  if (o->resume_id && !(c->resume_id = strdup(o->resume_id)))
    nomem = 1;
  c->resume_h = o->resume_h;
  c->sasl_client_opts.random = o->random; /* one source for everything */
  c->sasl_client_opts.random_user = o->random_user;
  return nomem ? error_set(err, LX_ERR_NOMEM, "out of memory") : 0;
}

/* The domains a server serves, prepared. */
static int configure_domains(lx_conn *c, const lx_conn_opts *o, lx_error *err) {
  int rc;
  if (!o->n_domains || !o->domains)
    return error_set(err, LX_ERR_INVALID, "a server needs its domains");
  if (!(c->domains = calloc(o->n_domains, sizeof *c->domains)))
    return error_set(err, LX_ERR_NOMEM, "out of memory");
  c->n_domains = o->n_domains;
  for (size_t i = 0; i < o->n_domains; i++) {
    const char *d = o->domains[i];
    if (d &&
        (rc = lx_jid_new(&c->domains[i], d, strlen(d), err)) == LX_ERR_NOMEM)
      return rc; /* out of memory is not a bad option */
    if (!d || rc || lx_jid_local(c->domains[i]) ||
        lx_jid_resource(c->domains[i]))
      return error_set(err, LX_ERR_INVALID, "domains[%zu] is not a domain", i);
  }
  return 0;
}

/* XEP-0114 has no STARTTLS: TLS from the first byte, or none. */
static int component_tls(const lx_conn_opts *o, lx_error *err) {
  if (o->tls != LX_CONN_TLS_DISABLED && o->tls != LX_CONN_TLS_DIRECT)
    return error_set(err, LX_ERR_INVALID,
                     "a component stream has no STARTTLS: tls is disabled "
                     "or direct");
  return 0;
}

int conn_configure_server(lx_conn *c, const lx_conn_opts *o, lx_error *err) {
  int nomem = 0, rc;
  if (o->max_auth_attempts < 2 || o->max_auth_attempts > 5)
    return error_set(err, LX_ERR_INVALID, "max_auth_attempts: 2 to 5");
  if (o->max_bind_attempts < 5 || o->max_bind_attempts > 10)
    return error_set(err, LX_ERR_INVALID, "max_bind_attempts: 5 to 10");
  if ((rc = configure_domains(c, o, err)) != 0)
    return rc;
  if (o->features) {
    /* the extra features must be XML elements */
    lx_stanza *check = NULL;
    buf b = BUF_INIT;
    if (buf_puts(&b, "<f>") || buf_puts(&b, o->features) ||
        buf_puts(&b, "</f>"))
      nomem = 1;
    else if ((rc = lx_parse_document(&check, b.data, b.len, NULL, err)) != 0 ||
             lx_elem_first_node(lx_stanza_root(check)) == NULL) {
      lx_stanza_free(check);
      buf_free(&b);
      return rc == LX_ERR_NOMEM
                 ? rc
                 : error_set(err, LX_ERR_INVALID, "features: not XML elements");
    }
    lx_stanza_free(check);
    buf_free(&b);
    c->features_xml = dup_str(o->features, &nomem);
  }
  c->max_auth_attempts = o->max_auth_attempts;
  c->max_bind_attempts = o->max_bind_attempts;
  c->offer_session = o->offer_session;
  copy_sasl_server_opts(&c->sasl_server_opts, &o->sasl_server, &nomem);
  c->sasl_server_opts.random = o->random;
  c->sasl_server_opts.random_user = o->random_user;
  return nomem ? error_set(err, LX_ERR_NOMEM, "out of memory") : 0;
}

/* XEP-0114: the domain, the secret; TLS only from the first byte (no
 * STARTTLS in the component protocol). */
int conn_configure_component(lx_conn *c, const lx_conn_opts *o, lx_error *err) {
  if (!o->jid)
    return error_set(err, LX_ERR_INVALID, "a component needs its domain");
  int rc = lx_jid_new(&c->jid, o->jid, strlen(o->jid), err);
  if (rc)
    return rc;
  if (lx_jid_local(c->jid) || lx_jid_resource(c->jid))
    return error_set(err, LX_ERR_INVALID, "a component's JID is a domain");
  if (!o->component_secret)
    return error_set(err, LX_ERR_INVALID, "a component needs its secret");
  if ((rc = component_tls(o, err)) != 0)
    return rc;
  if (!(c->component_secret = strdup(o->component_secret)))
    return error_set(err, LX_ERR_NOMEM, "out of memory");
  return 0;
}

/* The server's side of XEP-0114: the component domains it accepts. */
int conn_configure_component_server(lx_conn *c, const lx_conn_opts *o,
                                    lx_error *err) {
  int rc = component_tls(o, err);
  return rc ? rc : configure_domains(c, o, err);
}

/* Checks and copies the options: the role's first (a client's JID names
 * the TLS peer), then every role's. */
int conn_configure(lx_conn *c, const lx_conn_opts *o, lx_error *err) {
  int rc = c->role->configure(c, o, err);
  return rc ? rc : configure(c, o, err);
}

void conn_free_opts(lx_conn *c) {
  free(c->lang);
  free(c->features_xml);
  free_list(c->extension_ns, c->n_extension_ns);
  lx_jid_free(c->jid);
  free(c->resume_id);
  conn_free_sasl_client_opts(&c->sasl_client_opts);
  for (size_t i = 0; c->domains && i < c->n_domains; i++)
    lx_jid_free(c->domains[i]);
  free(c->domains);
  conn_free_sasl_server_opts(&c->sasl_server_opts);
  if (c->component_secret)
    free_secret(c->component_secret, strlen(c->component_secret));
}

/* tlscert.c: throwaway certificates made in memory (self-signed, or from a
 * throwaway CA), for tests, demos and development. Keys never touch a file;
 * their PEM passes through OpenSSL's secure-heap memory BIO and a malloc()ed
 * string that lx_tls_pem_free() wipes. */
#include "error.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DAYS 7
#define CA_DAYS 30

struct lx_tls_ca {
  X509 *cert;
  EVP_PKEY *key;
  char *pem;
};

static int ossl_fail(lx_error *err, int code, const char *what) {
  char why[160] = "";
  unsigned long e = ERR_get_error();
  if (e)
    ERR_error_string_n(e, why, sizeof why);
  ERR_clear_error();
  return error_set(err, code, "%s%s%s", what, why[0] ? ": " : "", why);
}

void lx_tls_pem_free(char *pem) {
  if (!pem)
    return;
  OPENSSL_cleanse(pem, strlen(pem));
  free(pem);
}

/* A dNSName is IA5 (ASCII): letters, digits, '-', '.', '_' and a leading
 * '*' label; an IDN must already be in A-labels. */
static int valid_domain(const char *d) {
  size_t len = strlen(d);
  if (len == 0 || len > 253)
    return 0;
  for (const char *p = d; *p; p++) {
    char c = *p;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
          (c == '*' && p == d)))
      return 0;
  }
  return 1;
}

static int check_spec(const lx_tls_cert_spec *spec, lx_error *err) {
  if (!spec || (!spec->domain && !spec->jid))
    return error_set(err, LX_ERR_INVALID,
                     "a certificate needs a domain or "
                     "a JID");
  if (spec->domain && !valid_domain(spec->domain))
    return error_set(err, LX_ERR_INVALID,
                     "bad domain for a certificate (ASCII A-labels only)");
  if (spec->jid && (!*spec->jid || strlen(spec->jid) > 3071))
    return error_set(err, LX_ERR_INVALID, "bad JID for a certificate");
  if (spec->key != LX_TLS_KEY_P256 && spec->key != LX_TLS_KEY_ED25519)
    return error_set(err, LX_ERR_INVALID, "unknown key type %d",
                     (int)spec->key);
  return 0;
}

static EVP_PKEY *make_key(lx_tls_key_type type) {
  if (type == LX_TLS_KEY_ED25519)
    return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
  return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static int add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value) {
  X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, v3, nid, value);
  int ok = e && X509_add_ext(x, e, -1);
  X509_EXTENSION_free(e);
  return ok;
}

/* Appends a string-valued GENERAL_NAME: a dNSName, or an otherName of type
 * `oid_nid` holding a string of ASN.1 type `str_type`. */
static int push_name(GENERAL_NAMES *gens, int oid_nid, int str_type,
                     const char *value) {
  GENERAL_NAME *g = GENERAL_NAME_new();
  ASN1_STRING *s = ASN1_STRING_type_new(str_type);
  ASN1_TYPE *t = NULL;
  ASN1_OBJECT *oid = NULL;
  if (!g || !s || !ASN1_STRING_set(s, value, -1))
    goto fail;
  if (oid_nid == NID_undef) {
    GENERAL_NAME_set0_value(g, GEN_DNS, s);
    s = NULL;
  } else {
    if (!(t = ASN1_TYPE_new()))
      goto fail;
    ASN1_TYPE_set(t, str_type, s);
    s = NULL;
    if (!(oid = OBJ_dup(OBJ_nid2obj(oid_nid))) ||
        !GENERAL_NAME_set0_othername(g, oid, t))
      goto fail;
  }
  if (!sk_GENERAL_NAME_push(gens, g)) {
    GENERAL_NAME_free(g);
    return 0;
  }
  return 1;

fail:
  ASN1_OBJECT_free(oid);
  ASN1_TYPE_free(t);
  ASN1_STRING_free(s);
  GENERAL_NAME_free(g);
  return 0;
}

static int add_san(X509 *x, const lx_tls_cert_spec *spec) {
  GENERAL_NAMES *gens = GENERAL_NAMES_new();
  int ok =
      gens &&
      (!spec->domain ||
       push_name(gens, NID_undef, V_ASN1_IA5STRING, spec->domain)) &&
      (!spec->jid ||
       push_name(gens, NID_XmppAddr, V_ASN1_UTF8STRING, spec->jid)) &&
      X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT);
  GENERAL_NAMES_free(gens);
  return ok;
}

static int random_serial(X509 *x) {
  BIGNUM *bn = BN_new();
  int ok = bn && BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
           BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  return ok;
}

/*
 * Makes a certificate for `spec` (a leaf) or, with spec NULL, for a CA
 * called `cn`. It is signed by issuer/issuer_key, or by itself when issuer
 * is NULL. The new key goes to *key.
 */
static int make_cert(const lx_tls_cert_spec *spec, const char *cn, X509 *issuer,
                     EVP_PKEY *issuer_key, X509 **out, EVP_PKEY **key,
                     lx_error *err) {
  lx_tls_key_type type = spec ? spec->key : LX_TLS_KEY_P256;
  long days = spec ? (spec->days ? (long)spec->days : DEFAULT_DAYS) : CA_DAYS;
  X509 *x = NULL;
  EVP_PKEY *k = NULL, *signer;
  X509_NAME *name;
  X509V3_CTX v3;
  *out = NULL;
  *key = NULL;

  if (!(k = make_key(type)) || !(x = X509_new()))
    goto fail;
  name = X509_get_subject_name(x);
  if (!X509_set_version(x, X509_VERSION_3) || !random_serial(x) ||
      !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
      !X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) ||
      !X509_set_pubkey(x, k))
    goto fail;
  /* a CN longer than 64 bytes is not allowed; the SAN carries the name */
  if (cn && strlen(cn) <= 64 &&
      !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                  (const unsigned char *)cn, -1, -1, 0))
    goto fail;
  if (!X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name))
    goto fail;
  X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
  if (!add_ext(x, &v3, NID_basic_constraints,
               spec ? "critical,CA:FALSE" : "critical,CA:TRUE") ||
      !add_ext(x, &v3, NID_key_usage,
               spec ? "critical,digitalSignature"
                    : "critical,keyCertSign,cRLSign") ||
      !add_ext(x, &v3, NID_subject_key_identifier, "hash") ||
      (issuer &&
       !add_ext(x, &v3, NID_authority_key_identifier, "keyid:always")) ||
      (spec && !add_ext(x, &v3, NID_ext_key_usage, "serverAuth,clientAuth")) ||
      (spec && !add_san(x, spec)))
    goto fail;
  signer = issuer_key ? issuer_key : k;
  if (!X509_sign(x, signer,
                 EVP_PKEY_get_id(signer) == EVP_PKEY_ED25519 ? NULL
                                                             : EVP_sha256()))
    goto fail;
  *out = x;
  *key = k;
  return 0;

fail:
  X509_free(x);
  EVP_PKEY_free(k);
  return ossl_fail(err, LX_ERR_INTERNAL, "cannot make a certificate");
}

/* Copies a memory BIO's contents into a new NUL-terminated string. */
static char *bio_string(BIO *b) {
  char *data = NULL, *s;
  long n = BIO_get_mem_data(b, &data);
  if (n < 0 || !(s = malloc((size_t)n + 1)))
    return NULL;
  memcpy(s, data, (size_t)n);
  s[n] = '\0';
  return s;
}

static int cert_pem(X509 *x, char **out, lx_error *err) {
  BIO *b = BIO_new(BIO_s_mem());
  *out = b && PEM_write_bio_X509(b, x) ? bio_string(b) : NULL;
  BIO_free(b);
  return *out ? 0 : ossl_fail(err, LX_ERR_NOMEM, "cannot write PEM");
}

static int key_pem(EVP_PKEY *k, char **out, lx_error *err) {
  BIO *b = BIO_new(BIO_s_secmem()); /* wiped when freed */
  *out = b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)
             ? bio_string(b)
             : NULL;
  BIO_free(b);
  return *out ? 0 : ossl_fail(err, LX_ERR_NOMEM, "cannot write PEM");
}

/* Writes a new certificate and its key as PEM. */
static int issue(const lx_tls_cert_spec *spec, X509 *issuer,
                 EVP_PKEY *issuer_key, char **cert_out, char **key_out,
                 lx_error *err) {
  X509 *x = NULL;
  EVP_PKEY *k = NULL;
  int rc;
  *cert_out = *key_out = NULL;
  if ((rc = check_spec(spec, err)) != 0)
    return rc;
  if ((rc = make_cert(spec, spec->domain ? spec->domain : spec->jid, issuer,
                      issuer_key, &x, &k, err)) != 0)
    return rc;
  if ((rc = cert_pem(x, cert_out, err)) == 0 &&
      (rc = key_pem(k, key_out, err)) != 0) {
    free(*cert_out);
    *cert_out = NULL;
  }
  X509_free(x);
  EVP_PKEY_free(k);
  return rc;
}

int lx_tls_cert_selfsigned(const lx_tls_cert_spec *spec, char **cert_pem,
                           char **key_pem, lx_error *err) {
  return issue(spec, NULL, NULL, cert_pem, key_pem, err);
}

int lx_tls_ca_new(lx_tls_ca **out, const char *name, lx_error *err) {
  lx_tls_ca *ca;
  int rc;
  *out = NULL;
  if (!name || !*name || strlen(name) > 64)
    return error_set(err, LX_ERR_INVALID, "a CA name is 1 to 64 bytes");
  if (!(ca = calloc(1, sizeof *ca)))
    return error_set(err, LX_ERR_NOMEM, "out of memory");
  if ((rc = make_cert(NULL, name, NULL, NULL, &ca->cert, &ca->key, err)) ||
      (rc = cert_pem(ca->cert, &ca->pem, err))) {
    lx_tls_ca_free(ca);
    return rc;
  }
  *out = ca;
  return 0;
}

void lx_tls_ca_free(lx_tls_ca *ca) {
  if (!ca)
    return;
  X509_free(ca->cert);
  EVP_PKEY_free(ca->key); /* OpenSSL clears private key material */
  free(ca->pem);
  free(ca);
}

const char *lx_tls_ca_cert(const lx_tls_ca *ca) { return ca->pem; }

int lx_tls_ca_issue(lx_tls_ca *ca, const lx_tls_cert_spec *spec,
                    char **cert_pem, char **key_pem, lx_error *err) {
  if (!ca) {
    *cert_pem = *key_pem = NULL;
    return error_set(err, LX_ERR_INVALID, "no CA");
  }
  return issue(spec, ca->cert, ca->key, cert_pem, key_pem, err);
}

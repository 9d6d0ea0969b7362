/*
 * lxmpp.h: the public C API of lxmpp, an XMPP core library.
 *
 * The core does no I/O and reads no clock: bytes go in, events and bytes come
 * out. Every function that can fail returns 0 (or a count) on success and a
 * negative LX_ERR_* code on failure; lx_strerror() gives the code's stable
 * name. Functions taking an `lx_error *err` fill it (when not NULL) with the
 * code and a human-readable detail.
 *
 * Ownership: `_new` allocates, `_free` releases, `_free(NULL)` is a no-op.
 * Pointers returned by accessors are borrowed: they stay valid until the
 * object they came from is freed, unless the comment says otherwise.
 */
#ifndef LXMPP_H
#define LXMPP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LXMPP_VERSION "0.1.0"

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * Error codes. The caller's mistakes (-1 to -99) are not fatal to an object.
 * The peer's faults carry the name of the condition that goes on the wire:
 * stream errors (-100 to -199, RFC 6120 §4.9.3), SASL failures (-200 to -299,
 * RFC 6120 §6.5), and the other families below.
 */
enum lx_err {
  LX_OK = 0,
  /* the caller's side */
  LX_ERR_NOMEM = -1,    /* "out-of-memory" */
  LX_ERR_INVALID = -2,  /* "invalid-argument" */
  LX_ERR_STATE = -3,    /* "invalid-state": not allowed at this point */
  LX_ERR_FULL = -4,     /* "queue-full": a bounded queue would overflow */
  LX_ERR_INTERNAL = -5, /* "internal-error": a library (OpenSSL) failed */

  /* stream error conditions, RFC 6120 §4.9.3, in the RFC's order */
  LX_ERR_BAD_FORMAT = -100,               /* "bad-format" */
  LX_ERR_BAD_NAMESPACE_PREFIX = -101,     /* "bad-namespace-prefix" */
  LX_ERR_CONFLICT = -102,                 /* "conflict" */
  LX_ERR_CONNECTION_TIMEOUT = -103,       /* "connection-timeout" */
  LX_ERR_HOST_GONE = -104,                /* "host-gone" */
  LX_ERR_HOST_UNKNOWN = -105,             /* "host-unknown" */
  LX_ERR_IMPROPER_ADDRESSING = -106,      /* "improper-addressing" */
  LX_ERR_INTERNAL_SERVER_ERROR = -107,    /* "internal-server-error" */
  LX_ERR_INVALID_FROM = -108,             /* "invalid-from" */
  LX_ERR_INVALID_NAMESPACE = -109,        /* "invalid-namespace" */
  LX_ERR_INVALID_XML = -110,              /* "invalid-xml" */
  LX_ERR_NOT_AUTHORIZED = -111,           /* "not-authorized" */
  LX_ERR_NOT_WELL_FORMED = -112,          /* "not-well-formed" */
  LX_ERR_POLICY_VIOLATION = -113,         /* "policy-violation" */
  LX_ERR_REMOTE_CONNECTION_FAILED = -114, /* "remote-connection-failed" */
  LX_ERR_RESET = -115,                    /* "reset" */
  LX_ERR_RESOURCE_CONSTRAINT = -116,      /* "resource-constraint" */
  LX_ERR_RESTRICTED_XML = -117,           /* "restricted-xml" */
  LX_ERR_SEE_OTHER_HOST = -118,           /* "see-other-host" */
  LX_ERR_SYSTEM_SHUTDOWN = -119,          /* "system-shutdown" */
  LX_ERR_UNDEFINED_CONDITION = -120,      /* "undefined-condition" */
  LX_ERR_UNSUPPORTED_ENCODING = -121,     /* "unsupported-encoding" */
  LX_ERR_UNSUPPORTED_FEATURE = -122,      /* "unsupported-feature" */
  LX_ERR_UNSUPPORTED_STANZA_TYPE = -123,  /* "unsupported-stanza-type" */
  LX_ERR_UNSUPPORTED_VERSION = -124,      /* "unsupported-version" */

  /* SASL failure conditions, RFC 6120 §6.5 (names prefixed "sasl-") */
  LX_ERR_SASL_ABORTED = -200,                /* "sasl-aborted" */
  LX_ERR_SASL_ACCOUNT_DISABLED = -201,       /* "sasl-account-disabled" */
  LX_ERR_SASL_CREDENTIALS_EXPIRED = -202,    /* "sasl-credentials-expired" */
  LX_ERR_SASL_ENCRYPTION_REQUIRED = -203,    /* "sasl-encryption-required" */
  LX_ERR_SASL_INCORRECT_ENCODING = -204,     /* "sasl-incorrect-encoding" */
  LX_ERR_SASL_INVALID_AUTHZID = -205,        /* "sasl-invalid-authzid" */
  LX_ERR_SASL_INVALID_MECHANISM = -206,      /* "sasl-invalid-mechanism" */
  LX_ERR_SASL_MALFORMED_REQUEST = -207,      /* "sasl-malformed-request" */
  LX_ERR_SASL_MECHANISM_TOO_WEAK = -208,     /* "sasl-mechanism-too-weak" */
  LX_ERR_SASL_NOT_AUTHORIZED = -209,         /* "sasl-not-authorized" */
  LX_ERR_SASL_TEMPORARY_AUTH_FAILURE = -210, /* "sasl-temporary-auth-failure" */

  /* addresses (RFC 7622) and PRECIS */
  LX_ERR_JID_MALFORMED = -300, /* "jid-malformed" */

  /* TLS (-400 to -499) */

  /* the connection (-500 to -599) */
};

/* The stable lower-case name of an error code ("not-well-formed"), or
 * "unknown-error" for a value that is not an LX_ERR_* code. Never NULL. */
const char *lx_strerror(int code);

/* An error with its detail, filled by functions that take one. */
typedef struct lx_error {
  int code;         /* 0 or a negative LX_ERR_* code */
  char detail[240]; /* a human-readable explanation, NUL-terminated */
} lx_error;

/* ------------------------------------------------------------------------ */
/* Stanza trees                                                              */
/* ------------------------------------------------------------------------ */

/*
 * A stanza is a tree of elements and text nodes allocated from one arena that
 * the lx_stanza owns: every string and node of the tree lives until
 * lx_stanza_free(), which releases it all at once. Names are NCNames; the
 * namespace of an element or attribute is a separate URI (NULL: none). Text
 * and attribute values are UTF-8 without NUL bytes.
 */
typedef struct lx_stanza lx_stanza;
typedef struct lx_elem lx_elem;
typedef struct lx_node lx_node;

#define LX_NS_XML "http://www.w3.org/XML/1998/namespace"
#define LX_NS_STREAMS "http://etherx.jabber.org/streams"
#define LX_NS_CLIENT "jabber:client"
#define LX_NS_SERVER "jabber:server"
#define LX_NS_COMPONENT "jabber:component:accept"

/* Creates a stanza whose root element is `name` in namespace `ns`.
 * Returns 0, LX_ERR_NOMEM, or LX_ERR_INVALID for a bad name or namespace. */
int lx_stanza_new(lx_stanza **out, const char *ns, const char *name,
                  lx_error *err);
void lx_stanza_free(lx_stanza *s);
/* The root element; valid until the stanza is freed. */
lx_elem *lx_stanza_root(lx_stanza *s);
/* Bytes allocated by the stanza's arena (for accounting). */
size_t lx_stanza_memory(const lx_stanza *s);

/* Builders. Each validates its input (XML Name rules for names; UTF-8 and
 * XML Char for text and values) and copies it into the stanza's arena.
 * They return 0, LX_ERR_INVALID (with the reason in err), or LX_ERR_NOMEM.
 * `e` must belong to `s`. */

/* Appends a child element; *out (optional) receives it. */
int lx_elem_add_child(lx_stanza *s, lx_elem *e, const char *ns,
                      const char *name, lx_elem **out, lx_error *err);
/* Sets an attribute, replacing a value already set for the same ns and name.
 * `ns` NULL means no namespace; LX_NS_XML gives the xml: attributes. */
int lx_elem_set_attr(lx_stanza *s, lx_elem *e, const char *ns, const char *name,
                     const char *value, lx_error *err);
/* Appends a text node of `len` bytes (which need not be NUL-terminated). */
int lx_elem_add_text(lx_stanza *s, lx_elem *e, const char *text, size_t len,
                     lx_error *err);

/* Accessors. */
const char *lx_elem_name(const lx_elem *e);
const char *lx_elem_ns(const lx_elem *e);  /* NULL when in no namespace */
lx_elem *lx_elem_parent(const lx_elem *e); /* NULL for the root */
/* The value of an attribute, or NULL. */
const char *lx_elem_attr(const lx_elem *e, const char *ns, const char *name);
size_t lx_elem_attr_count(const lx_elem *e);
/* The i-th attribute (0-based, in document order); returns 0 or
 * LX_ERR_INVALID when i is out of range. Any out pointer may be NULL. */
int lx_elem_attr_at(const lx_elem *e, size_t i, const char **ns,
                    const char **name, const char **value);
/* The first child element with this name and namespace (NULL ns matches the
 * parent's namespace, NULL name matches any name), or NULL. */
lx_elem *lx_elem_child(const lx_elem *e, const char *ns, const char *name);
/* The next sibling element after `c` with this name and namespace. */
lx_elem *lx_elem_next_child(const lx_elem *c, const char *ns, const char *name);
/* The element's own text (its text children concatenated), length in *len
 * (optional). Returns NULL when the element has no text. For an element with
 * several text children the concatenation is kept in the stanza's arena. */
const char *lx_elem_text(lx_stanza *s, const lx_elem *e, size_t *len);

/* Iteration over all children, text included. */
const lx_node *lx_elem_first_node(const lx_elem *e);
const lx_node *lx_node_next(const lx_node *n);
/* The element a node is, or NULL for a text node. */
const lx_elem *lx_node_elem(const lx_node *n);
/* The text a node holds, or NULL for an element. */
const char *lx_node_text(const lx_node *n, size_t *len);

/* ------------------------------------------------------------------------ */
/* Serializer                                                                */
/* ------------------------------------------------------------------------ */

/*
 * Writes `e` and its subtree as XML into a new malloc()ed string, NUL-
 * terminated, *len bytes (optional); the caller free()s it. `parent_ns` is
 * the default namespace in scope around `e` (the stream's content namespace
 * for a stanza): `xmlns` is written only where an element's namespace
 * differs from the one in scope. Namespaced attributes get ns1, ns2...
 * prefixes, xml: attributes their reserved prefix. With
 * LX_SERIALIZE_STREAM_PREFIX, an `e` in the streams namespace is written
 * with the stream: prefix of an enclosing stream header (<stream:features>).
 * One pass, no recursion. Returns 0 or LX_ERR_NOMEM.
 */
enum { LX_SERIALIZE_STREAM_PREFIX = 1 };
int lx_serialize(const lx_elem *e, const char *parent_ns, int flags, char **out,
                 size_t *len);

/* Writes the opening tag of a stream: <stream:stream xmlns='content_ns'
 * xmlns:stream='http://etherx.jabber.org/streams' ...> with the attributes
 * of `header` (to, from, id, version, xml:lang). Same contract as
 * lx_serialize. */
int lx_serialize_header(const lx_elem *header, const char *content_ns,
                        char **out, size_t *len);

/* The closing tag of a stream. */
#define LX_STREAM_FOOTER "</stream:stream>"

/* ------------------------------------------------------------------------ */
/* XML stream parser                                                         */
/* ------------------------------------------------------------------------ */

/*
 * An incremental parser for one XMPP stream (RFC 6120 §4 and §11) on expat.
 * Feed it bytes in any chunking; it queues events: the stream header opened,
 * each complete top-level element (a stanza tree), the stream closed. The
 * same bytes fed whole or in pieces give the same events. Restricted XML,
 * encodings other than UTF-8, bad namespaces and exceeded limits are errors
 * named by their stream error condition. After an error the parser stays
 * failed (every feed returns the same code) until lx_parser_reset().
 */
typedef struct lx_parser lx_parser;

typedef struct lx_parser_opts {
  const char *default_ns;  /* content namespace (LX_NS_CLIENT) */
  size_t max_stanza_bytes; /* bytes of one top-level element (262144) */
  unsigned max_depth;      /* element nesting below the stream (64) */
  unsigned max_attrs;      /* attributes of one element (64) */
  unsigned max_children;   /* child nodes of one element (16384) */
  size_t max_text_bytes;   /* character data in one element (262144) */
  int stamp_lang;          /* copy the header's xml:lang onto stanzas (1) */
} lx_parser_opts;

/* Fills `o` with the defaults given above. */
void lx_parser_opts_init(lx_parser_opts *o);

/* Creates a parser (opts NULL: defaults); the options are copied.
 * Returns 0, LX_ERR_NOMEM or LX_ERR_INVALID (a zero limit). */
int lx_parser_new(lx_parser **out, const lx_parser_opts *opts);
void lx_parser_free(lx_parser *p);

/*
 * Parses `len` bytes. Returns how many were consumed: all of them, unless
 * the parser stopped after the element named by lx_parser_stop_after(); the
 * bytes after it were not parsed and belong to whatever comes next (TLS, a
 * new stream). Once stopped, the parser takes no more input
 * (LX_ERR_STATE) until lx_parser_reset(). On a peer fault returns the stream
 * error's code (lx_parser_error() has the detail); the events queued before
 * the fault stay available.
 */
ssize_t lx_parser_feed(lx_parser *p, const char *data, size_t len);

/* Stops parsing right after the next top-level element named `name` in `ns`
 * completes (both NULL: never stop). The strings are copied. Returns 0,
 * LX_ERR_NOMEM or LX_ERR_INVALID. */
int lx_parser_stop_after(lx_parser *p, const char *ns, const char *name);

/* Starts over for a new stream (after STARTTLS or SASL): drops pending
 * input, queued events (drain them first) and the error; keeps the options
 * and the stop_after setting. Returns 0 or LX_ERR_NOMEM. */
int lx_parser_reset(lx_parser *p);

typedef enum lx_parse_event_type {
  LX_PARSE_OPEN = 1, /* stanza: the header element (attributes, no children) */
  LX_PARSE_STANZA,   /* stanza: a complete top-level element */
  LX_PARSE_CLOSE     /* the peer's </stream:stream>; stanza is NULL */
} lx_parse_event_type;

typedef struct lx_parse_event {
  lx_parse_event_type type;
  lx_stanza *stanza; /* now owned by the caller: lx_stanza_free() it */
} lx_parse_event;

/* Takes the oldest queued event. Returns 1 and fills *ev, or 0 when none is
 * pending. */
int lx_parser_next(lx_parser *p, lx_parse_event *ev);

/* The sticky error (code 0 when none). Valid until reset or free. */
const lx_error *lx_parser_error(const lx_parser *p);

/* Parses one complete XML document (not a stream) into a stanza, with the
 * same restrictions and limits (max_stanza_bytes bounds the document).
 * opts NULL means the defaults without a content namespace. Returns 0 or a
 * negative code with the detail in err. */
int lx_parse_document(lx_stanza **out, const char *data, size_t len,
                      const lx_parser_opts *opts, lx_error *err);

/* ------------------------------------------------------------------------ */
/* PRECIS (RFC 8264, RFC 8265) and JIDs (RFC 7622)                           */
/* ------------------------------------------------------------------------ */

typedef enum lx_precis_profile {
  LX_PRECIS_USERNAME_CASE_MAPPED = 1, /* RFC 8265 §3.3: JID localparts */
  LX_PRECIS_USERNAME_CASE_PRESERVED,  /* RFC 8265 §3.4 */
  LX_PRECIS_OPAQUE_STRING,            /* RFC 8265 §4.2: resources, passwords */
  LX_PRECIS_NICKNAME,                 /* RFC 8266 §2.3: to display */
  LX_PRECIS_NICKNAME_CASE_MAPPED      /* RFC 8266 §2.4: to compare */
} lx_precis_profile;

/* Prepares and enforces `len` bytes of UTF-8 per `profile` into a new
 * malloc()ed, NUL-terminated string in *out (*out_len optional); the caller
 * free()s it (after wiping it, for a password). The result is the form to
 * store and compare byte for byte. Unicode data comes from libunistring;
 * toLowerCase() applies Final_Sigma ("ΟΔΟΣ" gives "οδος"). The Nickname
 * profiles re-apply their rules until the result is stable (RFC 8266).
 * Returns 0; LX_ERR_INVALID when an argument is bad or the input is not
 * allowed, with err naming the rule and the code point ("invalid UTF-8 at
 * byte 3", "empty string", "disallowed code point U+2163", "unassigned
 * code point U+0378", "code point U+200D not allowed in this context
 * (RFC 5892 Appendix A)", "bidi rule (RFC 5893) violated at U+0031");
 * or LX_ERR_NOMEM. The detail of a rejected password names one of its code
 * points: do not log it. */
int lx_precis_prepare(lx_precis_profile profile, const char *in, size_t len,
                      char **out, size_t *out_len, lx_error *err);

/*
 * A JID (RFC 7622): [localpart@]domainpart[/resourcepart], split at the
 * first '/' (the resource) and then at the first '@' before it. Each part is
 * prepared: the localpart with UsernameCaseMapped minus the code points
 * " & ' / : < > @ (RFC 7622 §3.3.1), the resourcepart with OpaqueString, and
 * the domainpart as an IDNA2008 name (libidn2, UTS #46 non-transitional
 * mapping; its canonical form is the U-label, lower case), an IPv4 address
 * in dotted decimal, or an IPv6 address in brackets (written back in the
 * RFC 5952 form). One trailing dot of the domainpart is dropped. Each part
 * is 1 to LX_JID_PART_MAX bytes once prepared. A domainpart whose last label
 * is a number ("127.1", "0x7f.1") must be a whole IPv4 address.
 *
 * Prepared JIDs are equal when their strings are; no further mapping is
 * needed to compare them. An lx_jid is immutable; its strings are
 * NUL-terminated UTF-8 and live until lx_jid_free().
 *
 * Errors are LX_ERR_JID_MALFORMED with the part and the rule in err:
 * "localpart: disallowed code point U+2163", "domainpart: empty",
 * "resourcepart: longer than 1023 bytes"; LX_ERR_INVALID when the caller
 * passes NULL where a pointer is required; LX_ERR_NOMEM.
 */
#define LX_JID_PART_MAX 1023
typedef struct lx_jid lx_jid;

/* Parses and prepares the `len` bytes at `s` into a new JID in *out. */
int lx_jid_new(lx_jid **out, const char *s, size_t len, lx_error *err);
/* Prepares a JID from its parts: `local` and `resource` may be NULL (no
 * such part); `domain` is required. A part given is prepared as it is
 * (an '@' in it is not a separator), and an empty one is an error. */
int lx_jid_from_parts(lx_jid **out, const char *local, size_t local_len,
                      const char *domain, size_t domain_len,
                      const char *resource, size_t resource_len, lx_error *err);
void lx_jid_free(lx_jid *jid);

/* The prepared parts: localpart and resourcepart are NULL when absent; the
 * domainpart is the U-label form. */
const char *lx_jid_local(const lx_jid *jid);
const char *lx_jid_domain(const lx_jid *jid);
const char *lx_jid_resource(const lx_jid *jid);
/* The domainpart as an A-label ("xn--mnchen-3ya.de"), for DNS and for the
 * reference identity of a TLS certificate (RFC 6125); IP literals as they
 * are. */
const char *lx_jid_domain_ascii(const lx_jid *jid);
/* "local@domain" (or "domain"), and the whole JID with its resource. */
const char *lx_jid_bare(const lx_jid *jid);
const char *lx_jid_full(const lx_jid *jid);

/* 1 when two JIDs are the same address (full, or bare: resources
 * ignored), else 0. */
int lx_jid_equal(const lx_jid *a, const lx_jid *b);
int lx_jid_bare_equal(const lx_jid *a, const lx_jid *b);

/* XEP-0106 escaping of a localpart, byte for byte as Prosody's util.jid:
 * each of the nine characters space " & ' / : < > @ becomes \20 \22 \26
 * \27 \2f \3a \3c \3e \40, and a backslash that starts one of these nine
 * sequences or \5c becomes \5c. `out` must have room for 3 * len + 1 bytes;
 * the result is NUL-terminated and its length returned. Escaping does not
 * check XEP-0106's rule that an escaped localpart neither starts nor ends
 * with \20. */
size_t lx_jid_escape(const char *in, size_t len, char *out);
/* The reverse: each of the ten sequences becomes its character; `out` must
 * have room for len + 1 bytes. */
size_t lx_jid_unescape(const char *in, size_t len, char *out);

/* ------------------------------------------------------------------------ */
/* SASL mechanisms                                                           */
/* ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------ */
/* TLS on memory BIOs                                                        */
/* ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------ */
/* The sans-I/O connection                                                   */
/* ------------------------------------------------------------------------ */

#ifdef __cplusplus
}
#endif
#endif

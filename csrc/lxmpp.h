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
 *
 * LX_ERRORS is the one table of them: X(code, value, name, condition) for
 * each, where name is the stable name lx_strerror() gives and condition the
 * element that carries it on the wire (a stream error, a SASL failure, the
 * stanza error of a refused resource binding), or NULL. The enum, the names
 * and the lookups by condition are all made from it.
 */
#define LX_ERRORS(X)                                                           \
  /* the caller's side */                                                      \
  X(LX_ERR_NOMEM, -1, "out-of-memory", NULL)                                   \
  X(LX_ERR_INVALID, -2, "invalid-argument", NULL)                              \
  /* not allowed at this point */                                              \
  X(LX_ERR_STATE, -3, "invalid-state", NULL)                                   \
  /* a bounded queue would overflow */                                         \
  X(LX_ERR_FULL, -4, "queue-full", NULL)                                       \
  /* a library (OpenSSL) failed */                                             \
  X(LX_ERR_INTERNAL, -5, "internal-error", NULL)                               \
  /* stream error conditions, RFC 6120 §4.9.3, in the RFC's order */          \
  X(LX_ERR_BAD_FORMAT, -100, "bad-format", "bad-format")                       \
  X(LX_ERR_BAD_NAMESPACE_PREFIX, -101, "bad-namespace-prefix",                 \
    "bad-namespace-prefix")                                                    \
  X(LX_ERR_CONFLICT, -102, "conflict", "conflict")                             \
  X(LX_ERR_CONNECTION_TIMEOUT, -103, "connection-timeout",                     \
    "connection-timeout")                                                      \
  X(LX_ERR_HOST_GONE, -104, "host-gone", "host-gone")                          \
  X(LX_ERR_HOST_UNKNOWN, -105, "host-unknown", "host-unknown")                 \
  X(LX_ERR_IMPROPER_ADDRESSING, -106, "improper-addressing",                   \
    "improper-addressing")                                                     \
  X(LX_ERR_INTERNAL_SERVER_ERROR, -107, "internal-server-error",               \
    "internal-server-error")                                                   \
  X(LX_ERR_INVALID_FROM, -108, "invalid-from", "invalid-from")                 \
  X(LX_ERR_INVALID_NAMESPACE, -109, "invalid-namespace", "invalid-namespace")  \
  X(LX_ERR_INVALID_XML, -110, "invalid-xml", "invalid-xml")                    \
  X(LX_ERR_NOT_AUTHORIZED, -111, "not-authorized", "not-authorized")           \
  X(LX_ERR_NOT_WELL_FORMED, -112, "not-well-formed", "not-well-formed")        \
  X(LX_ERR_POLICY_VIOLATION, -113, "policy-violation", "policy-violation")     \
  X(LX_ERR_REMOTE_CONNECTION_FAILED, -114, "remote-connection-failed",         \
    "remote-connection-failed")                                                \
  X(LX_ERR_RESET, -115, "reset", "reset")                                      \
  X(LX_ERR_RESOURCE_CONSTRAINT, -116, "resource-constraint",                   \
    "resource-constraint")                                                     \
  X(LX_ERR_RESTRICTED_XML, -117, "restricted-xml", "restricted-xml")           \
  X(LX_ERR_SEE_OTHER_HOST, -118, "see-other-host", "see-other-host")           \
  X(LX_ERR_SYSTEM_SHUTDOWN, -119, "system-shutdown", "system-shutdown")        \
  X(LX_ERR_UNDEFINED_CONDITION, -120, "undefined-condition",                   \
    "undefined-condition")                                                     \
  X(LX_ERR_UNSUPPORTED_ENCODING, -121, "unsupported-encoding",                 \
    "unsupported-encoding")                                                    \
  X(LX_ERR_UNSUPPORTED_FEATURE, -122, "unsupported-feature",                   \
    "unsupported-feature")                                                     \
  X(LX_ERR_UNSUPPORTED_STANZA_TYPE, -123, "unsupported-stanza-type",           \
    "unsupported-stanza-type")                                                 \
  X(LX_ERR_UNSUPPORTED_VERSION, -124, "unsupported-version",                   \
    "unsupported-version")                                                     \
  /* SASL failure conditions, RFC 6120 §6.5, in the RFC's order */            \
  X(LX_ERR_SASL_ABORTED, -200, "sasl-aborted", "aborted")                      \
  X(LX_ERR_SASL_ACCOUNT_DISABLED, -201, "sasl-account-disabled",               \
    "account-disabled")                                                        \
  X(LX_ERR_SASL_CREDENTIALS_EXPIRED, -202, "sasl-credentials-expired",         \
    "credentials-expired")                                                     \
  X(LX_ERR_SASL_ENCRYPTION_REQUIRED, -203, "sasl-encryption-required",         \
    "encryption-required")                                                     \
  X(LX_ERR_SASL_INCORRECT_ENCODING, -204, "sasl-incorrect-encoding",           \
    "incorrect-encoding")                                                      \
  X(LX_ERR_SASL_INVALID_AUTHZID, -205, "sasl-invalid-authzid",                 \
    "invalid-authzid")                                                         \
  X(LX_ERR_SASL_INVALID_MECHANISM, -206, "sasl-invalid-mechanism",             \
    "invalid-mechanism")                                                       \
  X(LX_ERR_SASL_MALFORMED_REQUEST, -207, "sasl-malformed-request",             \
    "malformed-request")                                                       \
  X(LX_ERR_SASL_MECHANISM_TOO_WEAK, -208, "sasl-mechanism-too-weak",           \
    "mechanism-too-weak")                                                      \
  X(LX_ERR_SASL_NOT_AUTHORIZED, -209, "sasl-not-authorized", "not-authorized") \
  X(LX_ERR_SASL_TEMPORARY_AUTH_FAILURE, -210, "sasl-temporary-auth-failure",   \
    "temporary-auth-failure")                                                  \
  /* Local to the SASL client, never sent on the wire: the server did not      \
   * prove it knows the credentials (SCRAM v=, DIGEST-MD5 rspauth: wrong,      \
   * missing, or a success before the exchange finished), or the XEP-0474      \
   * hash did not match what the server advertised. Both mean "something may   \
   * be impersonating the server", unlike sasl-not-authorized ("your           \
   * credentials were refused"). */                                            \
  X(LX_ERR_SASL_SERVER_SIGNATURE, -211, "sasl-server-signature-invalid", NULL) \
  X(LX_ERR_SASL_DOWNGRADE, -212, "sasl-downgrade-detected", NULL)              \
  /* addresses (RFC 7622) and PRECIS */                                        \
  X(LX_ERR_JID_MALFORMED, -300, "jid-malformed", NULL)                         \
  /* TLS (-400 to -499) */                                                     \
  X(LX_ERR_TLS_HANDSHAKE, -400, "tls-handshake-failed", NULL)                  \
  X(LX_ERR_TLS_CERT_INVALID, -401, "tls-certificate-invalid", NULL)            \
  X(LX_ERR_TLS_HOSTNAME_MISMATCH, -402, "tls-hostname-mismatch", NULL)         \
  X(LX_ERR_TLS_PROTOCOL, -403, "tls-protocol-error", NULL)                     \
  X(LX_ERR_TLS_CLOSED, -404, "tls-closed", NULL)                               \
  X(LX_ERR_TLS_TRUNCATED, -405, "tls-truncated", NULL)                         \
  X(LX_ERR_TLS_CB_UNAVAILABLE, -406, "tls-channel-binding-unavailable", NULL)  \
  /* the connection (-500 to -599); a refused bind's stanza error */           \
  X(LX_ERR_CONN_CLOSED, -500, "connection-closed", NULL)                       \
  X(LX_ERR_STARTTLS_NOT_OFFERED, -501, "starttls-not-offered", NULL)           \
  X(LX_ERR_STARTTLS_REFUSED, -502, "starttls-refused", NULL)                   \
  X(LX_ERR_BIND_NOT_OFFERED, -503, "bind-not-offered", NULL)                   \
  X(LX_ERR_BIND_CONFLICT, -504, "bind-conflict", "conflict")                   \
  X(LX_ERR_BIND_NOT_ALLOWED, -505, "bind-not-allowed", "not-allowed")          \
  X(LX_ERR_BIND_RESOURCE_CONSTRAINT, -506, "bind-resource-constraint",         \
    "resource-constraint")                                                     \
  X(LX_ERR_BIND_BAD_REQUEST, -507, "bind-bad-request", "bad-request")          \
  /* another error of the bind request */                                      \
  X(LX_ERR_BIND_FAILED, -508, "bind-failed", NULL)                             \
  X(LX_ERR_SESSION_FAILED, -509, "session-failed", NULL)                       \
  /* the server bound another account or domain than ours */                   \
  X(LX_ERR_BIND_BAD_JID, -510, "bind-bad-jid", NULL)

#define LX_ERROR_ENUM_(code, value, name, condition) code = value,
enum lx_err { LX_OK = 0, LX_ERRORS(LX_ERROR_ENUM_) };
#undef LX_ERROR_ENUM_

/* The stable lower-case name of an error code ("not-well-formed"), or
 * "unknown-error" for a value that is not an LX_ERR_* code. Never NULL. */
const char *lx_strerror(int code);

/* The families of codes whose condition names go on the wire. */
typedef enum lx_error_family {
  LX_FAMILY_STREAM = 1, /* stream errors: LX_ERR_BAD_FORMAT... */
  LX_FAMILY_SASL,       /* SASL failures: LX_ERR_SASL_ABORTED... */
  LX_FAMILY_BIND        /* refused resource binding: LX_ERR_BIND_CONFLICT... */
} lx_error_family;

/* The code of `family` whose wire condition is `condition` ("aborted" for
 * LX_ERR_SASL_ABORTED, "conflict" for LX_ERR_BIND_CONFLICT), or 0 when no
 * code of that family has it (or condition is NULL). */
int lx_error_from_condition(lx_error_family family, const char *condition);

/* The condition of `code` on the wire ("aborted" for LX_ERR_SASL_ABORTED),
 * or NULL for a code that has none. */
const char *lx_error_condition(int code);

/*
 * The fatality rule (as nghttp2_is_fatal): 1 when an object that returned
 * `code` is broken for good, 0 when the call failed and nothing changed.
 *  - LX_ERR_INVALID, LX_ERR_STATE and LX_ERR_FULL are the caller's mistakes
 *    (or backpressure): never fatal, call again correctly.
 *  - LX_ERR_NOMEM and LX_ERR_INTERNAL are always fatal: a connection, SASL
 *    client or SASL server that ran out of memory (or whose OpenSSL or
 *    random source failed) is in its sticky failed state and returns the
 *    same code from then on (never retried in place: what was half done
 *    cannot be trusted).
 *  - Every peer fault (-100 and below) is fatal to the object that saw it.
 *    The SASL server is the one exception by design: a failed exchange only
 *    ends that exchange (RFC 6120 §6.4.5 lets the client try again).
 * 0 for LX_OK and values that are not codes.
 */
int lx_error_is_fatal(int code);

/*
 * A source of random bytes: fills buf with len bytes and returns 0, or
 * returns nonzero when it cannot (the operation that asked then fails with
 * LX_ERR_INTERNAL). `user` is the pointer given beside it. The connection
 * and the SASL objects take every random byte they use (stream and iq ids,
 * nonces, salts) from one; NULL means OpenSSL's RAND_bytes. Tests give a
 * deterministic one to get fixed ids, nonces and salts; anything else must
 * give cryptographically secure bytes. Called only from inside lxmpp's own
 * functions (never from an expat or OpenSSL callback), never re-entered.
 */
typedef int (*lx_random_fn)(void *user, unsigned char *buf, size_t len);

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
#define LX_NS_COMPONENT "jabber:component:accept" /* XEP-0114 */
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

/* Appends a child element; *out (optional) receives it. `ns` NULL puts the
 * child in its parent's namespace; "" puts it in no namespace. */
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
 * One pass, no recursion. Returns 0, LX_ERR_NOMEM, or LX_ERR_INVALID for
 * text that is not XML (which the builders and the parser never produce).
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
  /* expat's own memory (0: 4 x max_stanza_bytes + 64 KiB). expat keeps
   * every name a stream uses: when it grew by a sixteenth of this since the
   * stream header, the parser renews
   * expat between two stanzas (from the recorded stream header); beyond
   * all of it, policy-violation. */
  size_t max_parser_memory;
  int stamp_lang; /* copy the header's xml:lang onto stanzas (1) */
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

/* 1 when the parser stopped after the lx_parser_stop_after() element (the
 * stop may fall on the last byte fed), else 0. */
int lx_parser_stopped(const lx_parser *p);

/* Releases expat and the parser's buffers while a stream is idle: between
 * top-level elements, with no part of the next one received, or before the
 * stream header is complete (the part received is replayed). The next
 * lx_parser_feed() builds a new expat from the recorded stream header, in
 * the same state. For connections that wait long between stanzas (the
 * caller owns the clock). Returns 1 when released, 0 when not idle. */
int lx_parser_trim(lx_parser *p);

/* Bytes the parser holds: expat's memory (counted through its allocator),
 * buffers, queued events' storage and recycled stanzas. */
size_t lx_parser_memory(const lx_parser *p);

/* Stops parsing right after the next top-level element named `name` in `ns`
 * completes. Each call adds one such element, up to LX_PARSER_MAX_STOPS
 * (the parser stops after whichever comes first); both NULL: never stop.
 * The strings are copied. Returns 0, LX_ERR_NOMEM, LX_ERR_FULL or
 * LX_ERR_INVALID. */
#define LX_PARSER_MAX_STOPS 4
int lx_parser_stop_after(lx_parser *p, const char *ns, const char *name);

/* Goes on with the same stream after a stop (the element did not change
 * the layer after all: a SASL step that failed or asked for more): give
 * the bytes after the stopped element again. Costs a new expat, fed the
 * recorded stream header. Returns 0, or LX_ERR_STATE when not stopped. */
int lx_parser_resume(lx_parser *p);

/* Starts over for a new stream (after STARTTLS or SASL): drops pending
 * input, queued events (drain them first) and the error; keeps the options
 * and the stop_after setting. Returns 0 or LX_ERR_NOMEM. */
int lx_parser_reset(lx_parser *p);

/* Changes the limits (not default_ns) for what comes next: for a stream
 * whose peer authenticated without a restart (XEP-0114), while the parser
 * is stopped after the element that did it (lx_parser_stop_after).
 * Returns 0, LX_ERR_STATE when not stopped, LX_ERR_INVALID for a zero
 * limit. */
int lx_parser_set_limits(lx_parser *p, const lx_parser_opts *opts);

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

/* Gives a stanza from lx_parser_next() back for the parser to reuse its
 * memory, instead of lx_stanza_free() (which remains correct). The caller
 * must not use `s` afterwards. */
void lx_parser_recycle(lx_parser *p, lx_stanza *s);

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

/*
 * SASL mechanisms (RFC 4422) as I/O-free step machines, for both roles:
 * SCRAM-SHA-1, SCRAM-SHA-256, SCRAM-SHA-512 (RFC 5802, RFC 7677), each also
 * -PLUS with channel binding (tls-exporter RFC 9266, tls-server-end-point
 * RFC 5929, tls-unique); PLAIN (RFC 4616); EXTERNAL; ANONYMOUS (RFC 4505);
 * DIGEST-MD5 (RFC 2831, legacy: the client for old servers, the server only
 * when enabled). Messages are raw bytes: the connection does the base64 of
 * <auth/>, <challenge/>, <response/> and <success/>.
 *
 * Passwords are prepared with PRECIS OpaqueString (the successor of
 * SASLprep) and usernames on the server with UsernameCaseMapped. Every peer
 * message is bounded; a malformed one is a failure, never an abort.
 *
 * Results of the step functions: LX_SASL_RESPONSE (client), or
 * LX_SASL_CHALLENGE, LX_SASL_SUCCESS and LX_SASL_NEED_CREDENTIALS (server),
 * or a negative code. The negative LX_ERR_SASL_* codes are the peer's faults
 * (on the server: the condition to put in <failure/>; on the client also
 * the local -211 and -212 above); LX_ERR_INVALID and LX_ERR_STATE are the
 * caller's mistakes and change nothing; LX_ERR_NOMEM and LX_ERR_INTERNAL
 * are the library's (a server sends <temporary-auth-failure/> for those).
 * A client that failed stays failed: every later call returns the same code
 * and detail (no silent fallback). A server takes a new start after a
 * failure.
 */

/* The hash functions of the SCRAM family. */
typedef enum lx_sasl_hash {
  LX_SASL_SHA1 = 1,
  LX_SASL_SHA256,
  LX_SASL_SHA512
} lx_sasl_hash;

/* The largest digest, in bytes (SHA-512). */
#define LX_SASL_MAX_HASH 64

/* The digest size of `hash` in bytes, 0 for a value not in lx_sasl_hash. */
size_t lx_sasl_hash_size(lx_sasl_hash hash);
/* "SHA-1", "SHA-256", "SHA-512", or NULL for a value not in lx_sasl_hash. */
const char *lx_sasl_hash_name(lx_sasl_hash hash);

/* 1 when lxmpp implements the mechanism `name` (exact, upper-case), else 0. */
int lx_sasl_mechanism_known(const char *name);

/* Channel-binding data of the TLS session, from the caller: type is the
 * RFC 5056 unique prefix ("tls-exporter", "tls-server-end-point",
 * "tls-unique"), data the binding bytes. tls-unique is only valid for TLS 1.2
 * and below with Extended Master Secret; the caller must not offer it
 * otherwise. Borrowed for the duration of the call that takes it. */
typedef struct lx_sasl_cb {
  const char *type;
  const unsigned char *data;
  size_t len;
} lx_sasl_cb;

/*
 * SCRAM keys for one hash, salt and iteration count. A server stores
 * stored_key and server_key (never the password); a client may cache
 * client_key and server_key to skip PBKDF2 on the next login (they are
 * password-equivalent for that server: keep them as secret as a password).
 * Each key is lx_sasl_hash_size(hash) bytes. Unused keys may be NULL.
 */
typedef struct lx_scram_keys {
  lx_sasl_hash hash;
  const unsigned char *salt;
  size_t salt_len;
  unsigned iterations;
  const unsigned char *client_key; /* ClientKey: the client's cache */
  const unsigned char *stored_key; /* StoredKey = H(ClientKey): the server */
  const unsigned char *server_key; /* ServerKey: both */
} lx_scram_keys;

/*
 * Derives SCRAM keys from a password (account creation, password change):
 * SaltedPassword = PBKDF2(OpaqueString(password), salt, iterations), then
 * ClientKey, StoredKey and ServerKey, each written to its buffer of
 * lx_sasl_hash_size(hash) bytes (any may be NULL). Intermediate secrets are
 * wiped. Returns 0, LX_ERR_INVALID (unknown hash, empty salt, zero
 * iterations, a password OpaqueString refuses), LX_ERR_NOMEM or
 * LX_ERR_INTERNAL.
 */
int lx_scram_derive(lx_sasl_hash hash, const char *password, size_t len,
                    const unsigned char *salt, size_t salt_len,
                    unsigned iterations, unsigned char *client_key,
                    unsigned char *stored_key, unsigned char *server_key,
                    lx_error *err);

/* Results of the step functions. */
enum {
  LX_SASL_CHALLENGE = 1,    /* send the data as <challenge/> (server) */
  LX_SASL_SUCCESS,          /* server: send <success/> with the data */
  LX_SASL_NEED_CREDENTIALS, /* server: answer with lx_sasl_server_credentials */
  LX_SASL_RESPONSE          /* client: send the data as <response/> */
};

/* ---- client ---- */

typedef struct lx_sasl_client lx_sasl_client;

typedef struct lx_sasl_client_opts {
  /* The server's advertised <mechanism/> names, as received (the order does
   * not matter). Required. */
  const char *const *offered;
  size_t n_offered;
  /* The mechanisms we accept, preferred first (NULL: the default,
   * SCRAM-SHA-512-PLUS, -256-PLUS, -1-PLUS, SCRAM-SHA-512, -256, -1,
   * DIGEST-MD5, PLAIN). EXTERNAL and ANONYMOUS are only chosen when listed. */
  const char *const *allowed;
  size_t n_allowed;
  /* XEP-0440: the channel-binding types the server advertised, or NULL when
   * it sent no <sasl-channel-binding/>: then the server is taken to have
   * only tls-unique, the type RFC 5802 makes mandatory (so on TLS 1.3,
   * where we hold no tls-unique, -PLUS is not used and the GS2 flag is
   * 'n'). */
  const char *const *cb_types;
  size_t n_cb_types;
  /* Channel-binding data of our TLS session, preferred type first. */
  const lx_sasl_cb *cb;
  size_t n_cb;
  const char *username; /* authcid: the JID's localpart (RFC 6120 6.3.7) */
  const char *password; /* UTF-8, prepared here with OpaqueString */
  const char *authzid;  /* only when acting for another entity (NULL) */
  /* SCRAM: cached keys (client_key, server_key) used instead of the
   * password when the server's salt and iteration count match. */
  const lx_scram_keys *keys;
  int tls;          /* the stream is protected by TLS: allows PLAIN (0) */
  int require_cb;   /* with cb data, refuse anything but -PLUS (0) */
  int require_ssdp; /* SCRAM: fail when server-first has no h= (0) */
  unsigned min_iterations; /* SCRAM: fewer is refused (4096) */
  unsigned max_iterations; /* SCRAM: more is refused (1000000) */
  size_t max_salt;         /* SCRAM: salt bytes after base64 (256) */
  size_t max_message;      /* bytes of one server message (4096) */
  const char *host;        /* DIGEST-MD5: the server's domain (digest-uri) */
  const char *service;     /* DIGEST-MD5: the digest-uri service ("xmpp") */
  const char *trace;       /* ANONYMOUS: trace token (NULL: none) */
  /* Our SCRAM nonce and DIGEST-MD5 cnonce: base64 of 24 bytes from
   * random(random_user, ...) (NULL: RAND_bytes), drawn once by
   * lx_sasl_client_new. */
  lx_random_fn random;
  void *random_user;
} lx_sasl_client_opts;

/* Fills `o` with the defaults given above (all pointers NULL). */
void lx_sasl_client_opts_init(lx_sasl_client_opts *o);

/*
 * Chooses a mechanism from opts->offered by our policy and creates a client
 * for it; the options and strings are copied (secrets are wiped on free).
 * -PLUS is chosen when we hold binding data of a type the server supports;
 * PLAIN only with opts->tls. Returns 0; LX_ERR_SASL_INVALID_MECHANISM when
 * nothing acceptable is offered, LX_ERR_SASL_ENCRYPTION_REQUIRED when only
 * PLAIN was possible and there is no TLS; LX_ERR_INVALID for bad options (a
 * username with '@', a password OpaqueString refuses, an unknown name in
 * allowed); LX_ERR_NOMEM; LX_ERR_INTERNAL when opts->random gives no
 * bytes (SCRAM and DIGEST-MD5 draw their nonce here).
 */
int lx_sasl_client_new(lx_sasl_client **out, const lx_sasl_client_opts *opts,
                       lx_error *err);
void lx_sasl_client_free(lx_sasl_client *c);

/* The chosen mechanism's name ("SCRAM-SHA-256-PLUS"). */
const char *lx_sasl_client_mechanism(const lx_sasl_client *c);
/* The channel-binding type of a -PLUS mechanism ("tls-unique"), or NULL
 * when the mechanism binds to none; borrowed until c is freed. */
const char *lx_sasl_client_channel_binding(const lx_sasl_client *c);

/*
 * The initial response, to send with <auth/>. Returns 1 with *out and *len
 * set (borrowed until the next call on c; len 0 is an empty response, "="),
 * 0 when the mechanism has none (DIGEST-MD5), LX_ERR_STATE when called
 * twice or after a step, LX_ERR_NOMEM or LX_ERR_INTERNAL.
 */
int lx_sasl_client_initial(lx_sasl_client *c, const unsigned char **out,
                           size_t *len, lx_error *err);

/*
 * Answers a <challenge/>. Returns LX_SASL_RESPONSE with the response in *out
 * (borrowed until the next call on c), or a failure: LX_ERR_SASL_MALFORMED_
 * REQUEST / _INCORRECT_ENCODING (bad server message), _MECHANISM_TOO_WEAK
 * (SCRAM iterations below the minimum), _NOT_AUTHORIZED (the server's e=),
 * _CREDENTIALS_EXPIRED (cached keys do not fit and no password),
 * LX_ERR_SASL_SERVER_SIGNATURE, LX_ERR_SASL_DOWNGRADE; LX_ERR_STATE.
 */
int lx_sasl_client_step(lx_sasl_client *c, const unsigned char *in, size_t len,
                        const unsigned char **out, size_t *out_len,
                        lx_error *err);

/*
 * Checks <success/> and its additional data (NULL or empty when none).
 * Returns 0 when the server is authenticated too: for SCRAM a verified v=,
 * for DIGEST-MD5 a verified rspauth (in this data or an earlier challenge).
 * A success without that proof is LX_ERR_SASL_SERVER_SIGNATURE. Other
 * failures as for lx_sasl_client_step.
 */
int lx_sasl_client_finish(lx_sasl_client *c, const unsigned char *data,
                          size_t len, lx_error *err);

/* SCRAM, after lx_sasl_client_finish succeeded: fills *keys with the hash,
 * salt, iteration count, client_key and server_key used (borrowed until c
 * is freed) for a later opts.keys. Returns 0 or LX_ERR_STATE. */
int lx_sasl_client_keys(const lx_sasl_client *c, lx_scram_keys *keys);

/* ---- server ---- */

typedef struct lx_sasl_server lx_sasl_server;

typedef struct lx_sasl_server_opts {
  /* The mechanisms enabled, any order (NULL: SCRAM-SHA-512, -256, -1, each
   * with -PLUS, and PLAIN). -PLUS is advertised only with binding data,
   * PLAIN only with TLS, EXTERNAL only with client_cert; EXTERNAL,
   * ANONYMOUS and DIGEST-MD5 only when listed here. */
  const char *const *mechanisms;
  size_t n_mechanisms;
  /* The client presented a certificate that verified (0): EXTERNAL
   * (XEP-0178) has an identity to authenticate. lx_conn sets it from its
   * TLS session. */
  int client_cert;
  /* Channel-binding data of this TLS session: the types we advertise
   * (XEP-0440) and accept. */
  const lx_sasl_cb *cb;
  size_t n_cb;
  int tls;             /* the stream is protected by TLS (0) */
  int ssdp;            /* SCRAM: send XEP-0474 h= (1) */
  unsigned iterations; /* SCRAM: count for a password without one (10000) */
  size_t max_message;  /* bytes of one client message (4096) */
  const char *host;    /* DIGEST-MD5: our domain (realm, digest-uri) */
  const char *service; /* DIGEST-MD5: digest-uri service ("xmpp") */
  /* Our SCRAM nonce part and DIGEST-MD5 nonce (base64 of 24 bytes, drawn
   * by each lx_sasl_server_start) and the salt for a password given without
   * one (16 bytes, drawn when the credentials come) are from
   * random(random_user, ...) (NULL: RAND_bytes). */
  lx_random_fn random;
  void *random_user;
  /* SCRAM: once a client of this exchange asked for a binding type we do
   * not have (a -PLUS attempt: it saw our -PLUS), accept its later 'y'
   * instead of refusing it as a downgrade (0). For clients that bind with
   * tls-unique on TLS 1.3 and then fall back (slixmpp 1.8); see
   * docs/server.md, "Channel binding on TLS 1.3". */
  int cb_fallback;
} lx_sasl_server_opts;

/* Fills `o` with the defaults given above (all pointers NULL). */
void lx_sasl_server_opts_init(lx_sasl_server_opts *o);

/* Creates a server; the options are copied. Returns 0, LX_ERR_INVALID (an
 * unknown mechanism, DIGEST-MD5 without host, a bad cb type) or
 * LX_ERR_NOMEM. */
int lx_sasl_server_new(lx_sasl_server **out, const lx_sasl_server_opts *opts,
                       lx_error *err);
void lx_sasl_server_free(lx_sasl_server *s);

/* The mechanisms to advertise in <mechanisms/>, strongest first (borrowed
 * until s is freed). Returns their number; at most `max` are stored. */
size_t lx_sasl_server_mechanisms(const lx_sasl_server *s, const char **names,
                                 size_t max);
/* The mechanisms a server enables by default (opts.mechanisms NULL),
 * strongest first (static strings): for a caller that extends the default
 * list rather than copying it. Returns their number; at most `max` are
 * stored. */
size_t lx_sasl_server_default_mechanisms(const char **names, size_t max);
/* 1 when the last exchange failed because the client asked for a
 * channel-binding type this session does not have, else 0. */
int lx_sasl_server_cb_unsupported(const lx_sasl_server *s);
/* The XEP-0440 channel-binding types to advertise in
 * <sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'/>: one <channel-binding
 * type=.../> each (borrowed). Returns their number; at most max stored. */
size_t lx_sasl_server_cb_types(const lx_sasl_server *s, const char **types,
                               size_t max);

/*
 * Starts (or, after a failure, restarts) an exchange for <auth
 * mechanism=...>: `initial` is the initial response (NULL: none; len 0:
 * empty). Returns LX_SASL_CHALLENGE or LX_SASL_SUCCESS with *out / *out_len
 * (borrowed until the next call on s; *out NULL on a success without
 * additional data), LX_SASL_NEED_CREDENTIALS (see lx_sasl_server_request),
 * or a failure to send: LX_ERR_SASL_INVALID_MECHANISM (not advertised),
 * _ENCRYPTION_REQUIRED (PLAIN without TLS), _MALFORMED_REQUEST,
 * _INCORRECT_ENCODING, _NOT_AUTHORIZED (includes a client claiming no
 * channel binding while we offer -PLUS: a downgrade). LX_ERR_STATE after a
 * success; LX_ERR_NOMEM; LX_ERR_INTERNAL when the options' random gives no
 * bytes (SCRAM and DIGEST-MD5 draw our nonce here).
 */
int lx_sasl_server_start(lx_sasl_server *s, const char *mechanism,
                         const unsigned char *initial, size_t len,
                         const unsigned char **out, size_t *out_len,
                         lx_error *err);

/* Handles a <response/>; results as lx_sasl_server_start. A wrong proof,
 * nonce or channel binding is LX_ERR_SASL_NOT_AUTHORIZED. */
int lx_sasl_server_step(lx_sasl_server *s, const unsigned char *in, size_t len,
                        const unsigned char **out, size_t *out_len,
                        lx_error *err);

/* What the server needs credentials for, after LX_SASL_NEED_CREDENTIALS
 * (strings borrowed until the next start on s). After a success, username
 * and authzid name who authenticated. */
typedef struct lx_sasl_request {
  const char *mechanism;
  const char *username; /* UsernameCaseMapped authcid; NULL for EXTERNAL
                           and ANONYMOUS unless the application set one */
  const char *authzid;  /* the requested authorization identity, or NULL */
  const char *password; /* PLAIN: the client's password (OpaqueString), so
                           the application may check it itself; else NULL */
  const char *trace;    /* ANONYMOUS: the trace token, or NULL */
  lx_sasl_hash hash;    /* SCRAM: stored keys must be for this hash */
} lx_sasl_request;

const lx_sasl_request *lx_sasl_server_request(const lx_sasl_server *s);

enum { LX_SASL_VERIFY = 0, LX_SASL_ACCEPT = 1 };

/*
 * The application's answer to LX_SASL_NEED_CREDENTIALS. verdict is
 * LX_SASL_VERIFY (check the client against password or keys),
 * LX_SASL_ACCEPT (PLAIN after checking request->password itself, EXTERNAL,
 * ANONYMOUS), or a negative LX_ERR_SASL_* condition to refuse (unknown user:
 * LX_ERR_SASL_NOT_AUTHORIZED; LX_ERR_SASL_ACCOUNT_DISABLED...). For VERIFY
 * give the password (SCRAM: salt and iterations of keys are used when set,
 * else generated) or keys (salt, iterations, stored_key, server_key; for
 * PLAIN also hash). identity (optional) names the authenticated user on an
 * accepted EXTERNAL or ANONYMOUS exchange.
 */
typedef struct lx_sasl_credentials {
  int verdict;
  const char *password;
  lx_scram_keys keys;
  const char *identity;
  const char *text; /* a refusal's reason for the client (<text/>), or NULL */
} lx_sasl_credentials;

/* Continues after LX_SASL_NEED_CREDENTIALS; results as lx_sasl_server_start.
 * The credentials are not kept beyond what the exchange needs, and wiped.
 * LX_ERR_INVALID for an answer that does not fit the mechanism (keys of
 * another hash, ACCEPT for SCRAM or DIGEST-MD5), LX_ERR_STATE when no
 * credentials are pending. */
int lx_sasl_server_credentials(lx_sasl_server *s, const lx_sasl_credentials *c,
                               const unsigned char **out, size_t *out_len,
                               lx_error *err);

/* ------------------------------------------------------------------------ */
/* TLS on memory BIOs                                                        */
/* ------------------------------------------------------------------------ */

/*
 * TLS for one connection, without sockets: the caller moves ciphertext
 * between the network and an lx_tls, and plaintext between the lx_tls and
 * the XML layer. OpenSSL 3 does the protocol on a memory BIO whose two
 * buffers lxmpp owns: what the caller feeds (bounded) and what is waiting
 * to be sent (bounded by lx_tls_write's refusal to take more). Both are
 * released whenever they are empty, so an idle session holds no buffer.
 *
 *   lx_tls_ctx  configuration shared by many connections: role, versions,
 *               trust, certificates (several per server, chosen by SNI),
 *               ALPN, session cache. Immutable once its first lx_tls exists.
 *   lx_tls      one connection's TLS: handshake, application data, close,
 *               peer certificate, channel bindings, resumable session.
 *
 * Defaults follow RFC 7590 and BCP 195: TLS 1.2 at least, forward-secret
 * cipher suites, no renegotiation (RFC 6120 §5.3.5), no compression; a
 * client verifies the server's chain against the system store and its name
 * against the reference identity given to lx_tls_new() (the JID's domain,
 * never the host connected to: RFC 6120 §13.7.2), which is also sent as SNI.
 * Turning verification off takes an explicit LX_TLS_VERIFY_NONE.
 *
 * OpenSSL itself reads the clock (certificate validity, ticket lifetimes)
 * and, for CA files and directories, the file system; lxmpp does neither.
 * A context may be shared by threads once its first session exists; one
 * lx_tls must be used by one thread at a time.
 */
typedef struct lx_tls_ctx lx_tls_ctx;
typedef struct lx_tls lx_tls;
typedef struct lx_tls_session lx_tls_session;

typedef enum lx_tls_role { LX_TLS_CLIENT = 1, LX_TLS_SERVER } lx_tls_role;

/* How the peer's certificate is checked. */
typedef enum lx_tls_verify {
  LX_TLS_VERIFY_DEFAULT = 0, /* REQUIRED for a client, NONE for a server */
  /* client: no check fails the handshake (lx_tls_verify_result() still
   * says what a check found); server: asks for no client certificate */
  LX_TLS_VERIFY_NONE,
  /* client: check, but let the handshake complete and leave the verdict to
   * lx_tls_verify_result() (s2s with dialback); server: ask for a client
   * certificate, accept its absence or failure, report them the same way */
  LX_TLS_VERIFY_OPTIONAL,
  /* the handshake fails unless the peer's chain is trusted and, when a
   * reference identity was given, matches it; a server requires a client
   * certificate */
  LX_TLS_VERIFY_REQUIRED
} lx_tls_verify;

/* Protocol versions, as on the wire. */
#define LX_TLS_V1_2 0x0303
#define LX_TLS_V1_3 0x0304

typedef struct lx_tls_opts {
  int min_version;       /* LX_TLS_V1_2 (default) or LX_TLS_V1_3 */
  int max_version;       /* 0 (default): the newest OpenSSL supports */
  lx_tls_verify verify;  /* LX_TLS_VERIFY_DEFAULT */
  const char *ciphers;   /* TLS 1.2 cipher list in OpenSSL syntax; NULL
                            (default): forward-secret suites, AEAD first */
  int tickets;           /* session tickets (1) */
  size_t session_cache;  /* server: sessions cached for TLS 1.2 session-ID
                            resumption (1024); 0: none */
  size_t max_recv_bytes; /* ciphertext held ahead of lx_tls_read (17408) */
  size_t max_send_bytes; /* ciphertext pending before lx_tls_write takes no
                            more plaintext (32768) */
} lx_tls_opts;

/* Fills `o` with the defaults given above. */
void lx_tls_opts_init(lx_tls_opts *o);

/* Creates a context for `role` (opts NULL: defaults; copied). Returns 0,
 * LX_ERR_INVALID (bad role, version or cipher list), LX_ERR_NOMEM or
 * LX_ERR_INTERNAL. */
int lx_tls_ctx_new(lx_tls_ctx **out, lx_tls_role role, const lx_tls_opts *opts,
                   lx_error *err);
/* Drops the caller's reference: the context lives on while sessions made
 * from it do, and is released with the last of them. */
void lx_tls_ctx_free(lx_tls_ctx *ctx);

/*
 * Configuration. Each returns 0, LX_ERR_INVALID (unparsable PEM, a key that
 * does not match its certificate, an encrypted key, a file that cannot be
 * read; err says which), LX_ERR_NOMEM, or LX_ERR_STATE once a session has
 * been made from the context.
 */

/* Adds a certificate (PEM: the leaf first, then any intermediates) with its
 * private key (PEM, unencrypted). A client has at most one, sent when the
 * server asks (SASL EXTERNAL). A server may have several: the first is the
 * default; for each connection the first whose names match the client's SNI
 * is used (wildcards per RFC 6125), else the default. The key bytes are not
 * kept; the caller wipes its copy. */
int lx_tls_ctx_add_cert(lx_tls_ctx *ctx, const char *cert_pem, size_t cert_len,
                        const char *key_pem, size_t key_len, lx_error *err);
/* The same from two PEM files (read now). */
int lx_tls_ctx_add_cert_file(lx_tls_ctx *ctx, const char *cert_path,
                             const char *key_path, lx_error *err);

/* Trust anchors for verifying the peer. Without any, the system store is
 * used; with any, only those configured. PEM may hold several certificates.
 * A file is read now; a directory (hashed, as c_rehash makes) is searched by
 * OpenSSL during verification. */
int lx_tls_ctx_add_ca(lx_tls_ctx *ctx, const char *pem, size_t len,
                      lx_error *err);
int lx_tls_ctx_add_ca_file(lx_tls_ctx *ctx, const char *path, lx_error *err);
int lx_tls_ctx_add_ca_dir(lx_tls_ctx *ctx, const char *path, lx_error *err);

/* ALPN (RFC 7301) protocol names, e.g. "xmpp-client" (XEP-0368). A client
 * offers them in this order. A server picks the first of its own that the
 * client offers, refuses the handshake (no_application_protocol) when the
 * client offers only others, and goes on without ALPN when the client
 * offers none. Names are 1 to 255 bytes. */
int lx_tls_ctx_set_alpn(lx_tls_ctx *ctx, const char *const *protocols,
                        size_t count, lx_error *err);

/*
 * A session for one connection, holding a reference to `ctx`. `peer_name`
 * is the reference identity the peer's certificate must match (RFC 6125):
 * for a client the server's domain (the JID's domain), also sent as SNI
 * unless it is an IP address; required unless verification is NONE. A
 * server may pass the domain it expects in a client certificate (s2s), or
 * NULL. Returns 0, LX_ERR_INVALID (bad or missing name), LX_ERR_STATE (a
 * server context without a certificate), LX_ERR_NOMEM or LX_ERR_INTERNAL.
 */
int lx_tls_new(lx_tls **out, lx_tls_ctx *ctx, const char *peer_name,
               lx_error *err);
void lx_tls_free(lx_tls *t);

typedef enum lx_tls_state {
  LX_TLS_HANDSHAKING = 1, /* before and during the handshake */
  LX_TLS_OPEN,            /* application data flows both ways */
  LX_TLS_CLOSED,          /* the peer's close_notify arrived: no more data */
  LX_TLS_FAILED           /* a sticky error: see lx_tls_error() */
} lx_tls_state;

lx_tls_state lx_tls_get_state(const lx_tls *t);
/* The sticky error (code 0 when none), valid until lx_tls_free(). */
const lx_error *lx_tls_error(const lx_tls *t);

/*
 * Advances the handshake with what has been received. A client calls it
 * once to queue its ClientHello; afterwards lx_tls_recv() drives it.
 * Returns 1 once the handshake is complete, 0 while it waits for the peer,
 * or the sticky error: LX_ERR_TLS_CERT_INVALID, LX_ERR_TLS_HOSTNAME_MISMATCH
 * (the peer's certificate failed verification), LX_ERR_TLS_HANDSHAKE
 * (anything else: no common version, cipher or ALPN protocol, an alert from
 * the peer, bytes that are not TLS), LX_ERR_NOMEM. After a failure the
 * pending output may hold an alert for the peer: send it, then close.
 */
int lx_tls_handshake(lx_tls *t);

/*
 * Takes ciphertext from the network. Returns how many bytes were taken:
 * fewer than `len` when max_recv_bytes are already waiting for
 * lx_tls_read(); read, then give the rest again. Drives the handshake (see
 * lx_tls_handshake() for its errors, returned here). Bytes after the peer's
 * close_notify are taken and ignored. Returns LX_ERR_STATE after
 * lx_tls_recv_eof(), LX_ERR_NOMEM (nothing taken; not sticky).
 */
ssize_t lx_tls_recv(lx_tls *t, const char *data, size_t len);

/* Tells that the transport reached end of file. During the handshake this
 * fails it (returned); afterwards lx_tls_read() tells a clean close
 * (LX_ERR_TLS_CLOSED) from a truncation (LX_ERR_TLS_TRUNCATED). */
int lx_tls_recv_eof(lx_tls *t);

/*
 * Gives up to `cap` bytes of plaintext. Returns the count; 0 when more
 * ciphertext is needed (or the handshake is not done); LX_ERR_TLS_CLOSED
 * once the peer's close_notify has been read (every call after); or a
 * sticky error: LX_ERR_TLS_TRUNCATED (the transport ended without
 * close_notify), LX_ERR_TLS_PROTOCOL (bad record, fatal alert),
 * LX_ERR_NOMEM, or the handshake's errors. Reading may queue output (a
 * key update, an alert): check lx_tls_peek_send() afterwards. Read until it
 * returns 0 or less after each lx_tls_recv().
 */
ssize_t lx_tls_read(lx_tls *t, char *out, size_t cap);

/*
 * Encrypts plaintext for the peer. Returns how many bytes were taken: all
 * of them, or fewer (perhaps 0) once max_send_bytes of ciphertext are
 * waiting to be sent; send, then give the rest again. Returns LX_ERR_STATE
 * before the handshake is complete or after lx_tls_close(), or the sticky
 * error.
 */
ssize_t lx_tls_write(lx_tls *t, const char *data, size_t len);

/* The ciphertext waiting to be sent: sets *data and returns its length (0:
 * nothing). The bytes stay valid until the next call on `t`. */
size_t lx_tls_peek_send(lx_tls *t, const char **data);
/* Marks the first `n` pending bytes as sent (n larger than pending: all). */
void lx_tls_consume_send(lx_tls *t, size_t n);

/* Gives OpenSSL's read and write buffers (about 17 KiB each) back to the
 * heap while the session is idle (nothing received but not yet read);
 * OpenSSL allocates them again when needed. The caller decides when a
 * connection is idle (lx_conn_trim does this too). Returns 1 when released,
 * else 0. */
int lx_tls_trim(lx_tls *t);

/* For an lx_tls_new() later: checks `ctx` as lx_tls_new() does (and
 * freezes it) and takes a reference (lx_tls_ctx_free gives it back).
 * Returns 0 or the error lx_tls_new() would give. */
int lx_tls_ctx_hold(lx_tls_ctx *ctx, lx_error *err);

/* Queues a close_notify; nothing can be written after it, and reading goes
 * on until the peer's close_notify (LX_ERR_TLS_CLOSED). Returns 0 (also
 * when already queued), LX_ERR_STATE during the handshake, or the sticky
 * error. */
int lx_tls_close(lx_tls *t);

/* After the handshake: the protocol version ("TLSv1.3") and cipher suite
 * names, or NULL before. Static strings. */
const char *lx_tls_version(const lx_tls *t);
const char *lx_tls_cipher(const lx_tls *t);
/* Whether the handshake resumed an earlier session (1) or not (0). */
int lx_tls_resumed(const lx_tls *t);
/* The ALPN protocol agreed on: returns 1 and sets *proto (not NUL-
 * terminated, valid until lx_tls_free) and *len, or 0 when there is none. */
int lx_tls_alpn(const lx_tls *t, const char **proto, size_t *len);
/* A client: the reference identity given to lx_tls_new(). A server: the
 * name the client asked for with SNI, or NULL. Valid until lx_tls_free. */
const char *lx_tls_server_name(const lx_tls *t);

/* The verdict on the peer's certificate chain and name after the handshake
 * (also under VERIFY_NONE and OPTIONAL): 0 when verified, else
 * LX_ERR_TLS_CERT_INVALID (no certificate, untrusted, expired...) or
 * LX_ERR_TLS_HOSTNAME_MISMATCH, with OpenSSL's reason in err;
 * LX_ERR_STATE before the handshake is complete. */
int lx_tls_verify_result(const lx_tls *t, lx_error *err);

/* The peer's certificate in DER, in a new malloc()ed buffer the caller
 * free()s. Returns 1, 0 when the peer sent none, or LX_ERR_NOMEM. */
int lx_tls_peer_cert(const lx_tls *t, unsigned char **der, size_t *len);

/* Identities in the peer certificate's subjectAltName (XEP-0178). */
typedef enum lx_tls_name_type {
  LX_TLS_NAME_DNS = 1,   /* dNSName: a domain, maybe a wildcard */
  LX_TLS_NAME_XMPP_ADDR, /* id-on-xmppAddr (RFC 6120 §13.7.1.4): a JID */
  LX_TLS_NAME_SRV        /* id-on-dnsSRV (RFC 4985): "_xmpp-client.domain" */
} lx_tls_name_type;
/* The i-th of those identities, in certificate order (names holding a NUL
 * byte are skipped): returns 1 and sets *type and *value (NUL-terminated,
 * valid until lx_tls_free), 0 past the last or without a peer certificate,
 * or LX_ERR_NOMEM. */
int lx_tls_peer_name(lx_tls *t, size_t i, lx_tls_name_type *type,
                     const char **value);

/*
 * Channel bindings for SASL -PLUS mechanisms, after the handshake:
 * - tls-exporter (RFC 9266): 32 bytes exported with the label
 *   "EXPORTER-Channel-Binding" and no context. Always on TLS 1.3; on TLS 1.2
 *   only when Extended Master Secret (RFC 7627) was negotiated, as RFC 9266
 *   §4.2 requires (renegotiation, which would also forbid it, is off).
 * - tls-server-end-point (RFC 5929 §4.1): the hash of the server's
 *   certificate with the hash of its signature algorithm (MD5 and SHA-1
 *   become SHA-256); a client hashes the peer's, a server its own.
 *   Unavailable for signatures without one hash (Ed25519).
 * - tls-unique (RFC 5929 §3.1): the first Finished message of the latest
 *   handshake (the client's, or the server's when resumed). TLS 1.2 only,
 *   and only with Extended Master Secret (the triple handshake attack).
 */
typedef enum lx_tls_cb_type {
  LX_TLS_CB_EXPORTER = 1,
  LX_TLS_CB_SERVER_END_POINT,
  LX_TLS_CB_UNIQUE
} lx_tls_cb_type;
#define LX_TLS_CB_MAX 64 /* bytes enough for any channel binding */
/* The type's name for GS2 headers ("tls-exporter"), or NULL. */
const char *lx_tls_cb_name(lx_tls_cb_type type);
/* Writes the channel binding data into out (cap bytes; LX_TLS_CB_MAX is
 * enough), its length in *len. Returns 0, LX_ERR_TLS_CB_UNAVAILABLE (not
 * defined for this session; err says why), LX_ERR_STATE (handshake not
 * complete), LX_ERR_INVALID (unknown type, cap too small). */
int lx_tls_channel_binding(const lx_tls *t, lx_tls_cb_type type,
                           unsigned char *out, size_t cap, size_t *len,
                           lx_error *err);

/*
 * Session resumption, for a client. With TLS 1.3 the server's tickets come
 * after the handshake and are taken in by lx_tls_read(); ask after reading.
 * lx_tls_get_session() returns 1 and a new session object in *out (the
 * caller frees it with lx_tls_session_free), 0 when none is resumable (yet,
 * or any more: after a cut or a fatal alert), or LX_ERR_NOMEM. The object
 * is a copy: a later cut of this connection does not make it unresumable. The
 * object remembers the reference identity and whether the peer was verified.
 * lx_tls_set_session(), before the handshake starts, offers it for resumption
 * (the caller keeps its object): LX_ERR_INVALID when it belongs to another
 * reference identity or was not verified while this session's context verifies;
 * LX_ERR_STATE for a server or after the handshake started. A resumed handshake
 * skips certificate verification: lx_tls_verify_result() then gives the
 * original verdict.
 */
int lx_tls_get_session(const lx_tls *t, lx_tls_session **out);
int lx_tls_set_session(lx_tls *t, const lx_tls_session *s, lx_error *err);
void lx_tls_session_free(lx_tls_session *s);

/*
 * Throwaway certificates, made in memory for tests, demos and development,
 * so that no private key is ever committed. Validity starts an hour ago
 * (OpenSSL reads the clock). PEM strings are malloc()ed: release a key with
 * lx_tls_pem_free(), which wipes it.
 */
typedef enum lx_tls_key_type {
  LX_TLS_KEY_P256 = 0, /* ECDSA P-256 with SHA-256 (default) */
  LX_TLS_KEY_ED25519   /* Ed25519 (no tls-server-end-point) */
} lx_tls_key_type;

typedef struct lx_tls_cert_spec {
  const char *domain;  /* subjectAltName dNSName (and CN), or NULL */
  const char *jid;     /* subjectAltName id-on-xmppAddr, or NULL */
  lx_tls_key_type key; /* LX_TLS_KEY_P256 */
  unsigned days;       /* validity; 0 means 7 */
} lx_tls_cert_spec;

/* A self-signed certificate and its key for spec (domain or jid needed).
 * Returns 0, LX_ERR_INVALID, LX_ERR_NOMEM or LX_ERR_INTERNAL. */
int lx_tls_cert_selfsigned(const lx_tls_cert_spec *spec, char **cert_pem,
                           char **key_pem, lx_error *err);

/* A throwaway certificate authority: its key stays in memory and is wiped
 * by lx_tls_ca_free(). `name` is its common name (1 to 64 bytes). Returns 0,
 * LX_ERR_INVALID, LX_ERR_NOMEM or LX_ERR_INTERNAL. */
typedef struct lx_tls_ca lx_tls_ca;
int lx_tls_ca_new(lx_tls_ca **out, const char *name, lx_error *err);
void lx_tls_ca_free(lx_tls_ca *ca);
/* The CA's certificate (PEM) to trust; valid until lx_tls_ca_free. */
const char *lx_tls_ca_cert(const lx_tls_ca *ca);
/* A certificate signed by the CA, and its key. Same returns as
 * lx_tls_cert_selfsigned(). */
int lx_tls_ca_issue(lx_tls_ca *ca, const lx_tls_cert_spec *spec,
                    char **cert_pem, char **key_pem, lx_error *err);
/* Wipes and frees a PEM string from these functions. NULL is a no-op. */
void lx_tls_pem_free(char *pem);

/* ------------------------------------------------------------------------ */
/* The sans-I/O connection                                                   */
/* ------------------------------------------------------------------------ */

/*
 * One XMPP client-to-server stream (RFC 6120) in either role, negotiated
 * from the first byte to the last: stream headers, STARTTLS or direct TLS
 * (XEP-0368), SASL, resource binding, stanzas, stream errors and the closing
 * handshake. It does no I/O and reads no clock. The caller's loop has three
 * steps (h11's receive_data/next_event, nghttp2's mem_recv/want_read):
 *
 *   lx_conn_recv()        give it every byte read from the network
 *                         (ciphertext or plaintext: it takes them all)
 *   lx_conn_next_event()  until it returns 0: what happened, in order
 *                         (headers, features, TLS, authentication, stanzas,
 *                         errors, the close). The work happens here: decrypt,
 *                         parse up to the next top-level element, act on it
 *   lx_conn_peek_send()   write what is pending, then lx_conn_consume_send()
 *
 *   lx_conn_recv(c, data, n);
 *   while (lx_conn_next_event(c, &ev)) { ... }
 *   while ((n = lx_conn_peek_send(c, &p)) > 0) { write p; consume n }
 *
 * The bytes after an element that changes the layer (<proceed/>,
 * <starttls/>, SASL <success/> and the SASL elements that may lead to it)
 * go to TLS or to the new stream, whatever the chunking; white space
 * between top-level elements is the old stream's, also right before a
 * restart. lx_conn_want_read() and lx_conn_want_write() say whether to read
 * and to write (backpressure).
 *
 * Decisions that belong to the application (a server checking credentials
 * or accepting a resource) are events it answers with a call, whenever it
 * likes: until then the connection is paused (what arrives meanwhile waits
 * in its input buffer).
 *
 * The caller's mistakes return LX_ERR_INVALID or LX_ERR_STATE and change
 * nothing. The peer's faults (bad XML, a protocol violation, a failed TLS
 * handshake) put the connection into a sticky error state after queuing
 * what the peer should read (<stream:error/> and </stream:stream>, or a TLS
 * alert): the caller sends the pending output, then closes the transport.
 * Out of memory fails that connection only.
 */
typedef struct lx_conn lx_conn;

/* A client's stream to its server, the server's side of it, an external
 * component's stream to a server (XEP-0114: the stream header in
 * jabber:component:accept, then <handshake/> with the shared secret; no
 * TLS, no SASL, no binding: ready as the component's domain), or the
 * server's side of that (LX_CONN_COMPONENT_SERVER: `domains` are the
 * component domains it accepts; the secret is the application's answer to
 * LX_CONN_HANDSHAKE_REQUEST). */
typedef enum lx_conn_role {
  LX_CONN_CLIENT = 1,
  LX_CONN_SERVER,
  LX_CONN_COMPONENT,
  LX_CONN_COMPONENT_SERVER
} lx_conn_role;

/* How the stream is protected. */
typedef enum lx_conn_tls_mode {
  LX_CONN_TLS_REQUIRED = 0, /* STARTTLS before anything else (default). A
                               client refuses a server that does not offer
                               it; a server offers nothing else first */
  LX_CONN_TLS_OPTIONAL,     /* STARTTLS when both sides offer it */
  LX_CONN_TLS_DISABLED,     /* never: plaintext (tests, loopback links) */
  LX_CONN_TLS_DIRECT        /* TLS from the first byte (XEP-0368); give the
                               context the ALPN protocol "xmpp-client" */
} lx_conn_tls_mode;

/* A stream error (RFC 6120 §4.9), received or to send. */
typedef struct lx_stream_error {
  int condition;          /* LX_ERR_BAD_FORMAT ... LX_ERR_UNSUPPORTED_VERSION */
  const char *text;       /* the <text/> element's content, or NULL */
  const char *lang;       /* its xml:lang, or NULL */
  const char *other_host; /* see-other-host: where to go ("example.net",
                             "example.net:5223", "[2001:db8::1]:5222") */
  const lx_elem *app;     /* an application-specific condition, or NULL */
} lx_stream_error;

typedef struct lx_conn_opts {
  lx_conn_tls_mode tls; /* LX_CONN_TLS_REQUIRED */
  lx_tls_ctx *tls_ctx;  /* the TLS configuration for this role (trust,
                           certificates, ALPN), required unless tls is
                           DISABLED. lx_conn_new takes a session from it,
                           which keeps it alive: the caller may free its
                           reference afterwards. A client's context checks
                           the server's certificate against the JID's
                           domain, which is also sent as SNI */
  const char *lang;     /* xml:lang of our stream header ("en") */
  /* The channel-binding types to use for SASL -PLUS, preferred first:
   * "tls-exporter", "tls-server-end-point", "tls-unique" (NULL: those
   * three). Each is used when the TLS session has it (lx_tls_channel_
   * binding); a server advertises them (XEP-0440). */
  const char *const *cb_types;
  size_t n_cb_types;

  /* client */
  const char *jid;              /* the account: its domain is the server's, its
                                   localpart the SASL username, its resource (if any)
                                   the one asked for; required. A component's: its
                                   domain (required) */
  const char *component_secret; /* a component's shared secret (required;
                                   copied, and wiped when freed) */
  /* SASL (lx_sasl_client_opts_init): the password, the mechanisms allowed
   * and the policy. The connection fills in what the server offered, the
   * TLS state and its channel bindings, and, when NULL, the username (the
   * JID's localpart) and host (its domain). */
  lx_sasl_client_opts sasl_client;
  const lx_tls_session *tls_session; /* offered for resumption (NULL) */
  /* The name the server's certificate must carry, also sent as SNI (NULL:
   * the JID's domain); a component's server may name only its own host.
   * Copied. */
  const char *tls_peer_name;
  /* XEP-0198 resumption: after authentication, where the server offers
   * <sm xmlns='urn:xmpp:sm:3'/>, send <resume previd= h=/> instead of
   * binding. <resumed/> is delivered as LX_CONN_STANZA, then LX_CONN_READY
   * with jid (which must then be the session's full JID); <failed/> is
   * delivered as LX_CONN_STANZA and binding follows. NULL: bind. */
  const char *resume_id;
  uint32_t resume_h; /* the count of stanzas we handled (h) */

  /* server */
  const char *const *domains; /* the domains served: a stream to any other
                                 gets host-unknown; at least one (a
                                 component server: the components') */
  size_t n_domains;
  unsigned max_auth_attempts; /* failed SASL attempts before
                                 policy-violation, 2 to 5 (3) */
  unsigned max_bind_attempts; /* refused binds before policy-violation, 5 to
                                 10 (5) */
  int offer_session;          /* offer legacy <session/> as optional (1) */
  /* SASL (lx_sasl_server_opts_init): mechanisms, SSDP, iterations... The
   * connection fills in the TLS state, its channel bindings and, when
   * NULL, host (the stream's domain). A client asking for an authzid other
   * than its own JID is refused (invalid-authzid), except with EXTERNAL,
   * whose authzid the application checks. */
  lx_sasl_server_opts sasl_server;
  const char *features; /* more features to offer after
                           authentication, as XML elements
                           ("<sm xmlns='urn:xmpp:sm:3'/>"), or NULL */

  /* both: what may arrive after binding besides message, presence and iq
   * in jabber:client: top-level elements in these namespaces (XEP-0198's
   * "urn:xmpp:sm:3"...), delivered as LX_CONN_STANZA. Anything else is
   * unsupported-stanza-type. */
  const char *const *extension_ns;
  size_t n_extension_ns;

  /* limits */
  lx_parser_opts parser;           /* the XML parser's limits once authenticated
                                      (lx_parser_opts_init; default_ns is ignored) */
  size_t max_preauth_stanza_bytes; /* one element before authentication
                                      (10000) */
  size_t max_output_bytes;         /* pending output beyond which lx_conn_submit
                                      refuses more (1048576) */
  size_t max_input_bytes;          /* bytes received and not yet processed
                                      beyond which lx_conn_recv refuses
                                      more (262144) */
  int trace;                       /* report the plaintext XML sent and received
                                      as LX_CONN_SENT and LX_CONN_RECEIVED (0) */

  /* The source of every random byte of the connection: its ids (a server's
   * stream ids and generated localparts, a client's iq ids: 16 bytes each,
   * in hex) and its SASL nonces and salts (the random of sasl_client and
   * sasl_server is replaced by this one). NULL: RAND_bytes. */
  lx_random_fn random;
  void *random_user;
} lx_conn_opts;

/* Fills `o` with the defaults given above (pointers NULL). */
void lx_conn_opts_init(lx_conn_opts *o);

/*
 * Creates a connection for `role`; everything in opts is copied (the
 * password is wiped on free). Nothing is sent before lx_conn_start().
 * Returns 0, LX_ERR_INVALID (a missing or malformed JID or domain, a limit
 * out of range, TLS without a context, a features string that is not XML;
 * err says which), LX_ERR_STATE (a server TLS context without a
 * certificate), LX_ERR_NOMEM or LX_ERR_INTERNAL.
 */
int lx_conn_new(lx_conn **out, lx_conn_role role, const lx_conn_opts *opts,
                lx_error *err);
/* Releases everything, pending events included. NULL is a no-op. */
void lx_conn_free(lx_conn *c);

/* Starts the stream: a client queues its stream header (with direct TLS,
 * its TLS ClientHello first); a server waits for the client's. Returns 0,
 * LX_ERR_STATE when already started, or the sticky error. */
int lx_conn_start(lx_conn *c);

/*
 * Takes bytes from the network, every one of them, into the connection's
 * input buffer: nothing happens before lx_conn_next_event(). Returns len
 * (data may be NULL when len is 0: a no-op), or a negative code and takes
 * nothing: LX_ERR_FULL when the bytes not yet processed would exceed
 * max_input_bytes (drain the events, answer a pending decision, and read
 * less: see lx_conn_want_read), LX_ERR_NOMEM (not fatal), LX_ERR_INVALID,
 * LX_ERR_STATE before lx_conn_start(), or the sticky error once the
 * connection failed. Bytes after the stream closed are taken and ignored.
 */
ssize_t lx_conn_recv(lx_conn *c, const char *data, size_t len);

/* 1 when the connection wants bytes from the network: it is open for
 * input, not paused for an answer of the application, and its input buffer
 * has room; else 0 (stop reading for now). */
int lx_conn_want_read(const lx_conn *c);

/* 1 when bytes wait to be sent (lx_conn_peek_send), else 0. */
int lx_conn_want_write(const lx_conn *c);

/* Tells that the transport reached end of file. Returns 0 when the stream
 * was closed (or closing: we had sent </stream:stream>), else fails the
 * connection with LX_ERR_CONN_CLOSED (or LX_ERR_TLS_TRUNCATED when TLS
 * ended without close_notify) and returns that. */
int lx_conn_recv_eof(lx_conn *c);

/* The bytes waiting to be sent: sets *data and returns their length (0:
 * nothing). Valid until the next call on `c`. Call again after consuming:
 * the output may come in several pieces. */
size_t lx_conn_peek_send(lx_conn *c, const char **data);
/* Marks the first `n` bytes from lx_conn_peek_send() as sent. */
void lx_conn_consume_send(lx_conn *c, size_t n);
/* The bytes waiting to be sent, in every piece (once TLS is on, XML not
 * yet encrypted counts as its plaintext length). */
size_t lx_conn_pending_send(const lx_conn *c);

typedef enum lx_conn_event_type {
  LX_CONN_OPENED = 1,    /* the peer's stream header: stanza */
  LX_CONN_TLS,           /* the TLS handshake completed: see lx_conn_tls() */
  LX_CONN_FEATURES,      /* client: <stream:features/>: stanza */
  LX_CONN_AUTH_REQUEST,  /* server: answer with lx_conn_auth_answer(): auth */
  LX_CONN_AUTHENTICATED, /* SASL succeeded: jid is the account's bare JID
                            (a client that does not know it yet: NULL);
                            a client's also has mechanism, channel_binding
                            and keys */
  LX_CONN_BIND_REQUEST,  /* server: answer with lx_conn_bind_accept() or
                            lx_conn_bind_refuse(): jid is the resource asked
                            for (NULL: none) */
  LX_CONN_READY,         /* bound: jid is the full JID; stanzas may flow.
                            A client takes only a JID of its account (after
                            ANONYMOUS: of its domain), else fails with
                            LX_ERR_BIND_BAD_JID */
  LX_CONN_STANZA,        /* a stanza (a server has stamped its from): stanza */
  LX_CONN_STREAM_ERROR,  /* the peer sent a stream error: error, stanza */
  LX_CONN_CLOSED,        /* the stream is over: code is 0 for a clean close,
                            else the sticky error. The last event */
  LX_CONN_SENT,          /* trace: plaintext XML queued for the peer: data */
  LX_CONN_RECEIVED,      /* trace: plaintext XML from the peer: data */
  LX_CONN_HANDSHAKE_REQUEST, /* component server: the component's
                                <handshake/>: answer with
                                lx_conn_handshake_answer(); jid is the
                                component's domain */
  LX_CONN_RESUME_REQUEST,    /* server: a XEP-0198 <resume/> in place of
                                binding (only where extension_ns has
                                urn:xmpp:sm:3): stanza is the element, jid its
                                previd (valid until answered), h checked to be
                                a 32-bit count; answer with
                                lx_conn_resume_accept() or _refuse() */
  /* not events: what lx_conn_next_event() sets when it returns 0 */
  LX_CONN_NEED_DATA, /* nothing before more bytes come (lx_conn_recv) */
  LX_CONN_PAUSED     /* nothing before the application answers an
                        AUTH_REQUEST, BIND_REQUEST, HANDSHAKE_REQUEST or
                        RESUME_REQUEST */
} lx_conn_event_type;

typedef struct lx_conn_event {
  lx_conn_event_type type;
  /* The element the event is about, or NULL. The caller owns it now and
   * frees it with lx_stanza_free(). */
  lx_stanza *stanza;
  /* Strings valid until the connection is freed (BIND_REQUEST's until it is
   * answered). */
  const char *jid;
  /* AUTH_REQUEST: what to check, valid until answered. */
  const struct lx_sasl_request *auth;
  /* STREAM_ERROR: parsed from stanza (its pointers point into it). */
  lx_stream_error error;
  int code; /* CLOSED: 0 or the error */
  /* AUTHENTICATED, client: the SASL mechanism used and the channel-binding
   * type it bound to (NULL: none), static strings; SCRAM: the keys of this
   * login, for a later sasl_client.keys (else NULL), valid until the next
   * lx_conn_next_event (wiped then). */
  const char *mechanism;
  const char *channel_binding;
  const lx_scram_keys *keys;
  /* SENT, RECEIVED: the bytes, valid until the next lx_conn_next_event. */
  const char *data;
  size_t len;
} lx_conn_event;

/* Takes the next event, doing the work that makes it (decrypting, parsing
 * up to the next top-level element and acting on it): returns 1 and fills
 * *ev, or 0 when there is none now, ev->type then being LX_CONN_NEED_DATA
 * or LX_CONN_PAUSED. A peer's fault shows as the events before it, then
 * LX_CONN_CLOSED with the sticky error (see lx_conn_error). */
int lx_conn_next_event(lx_conn *c, lx_conn_event *ev);

/*
 * Queues a stanza (or, after binding, any top-level element) for the peer,
 * in the stream's content namespace: `e` is serialized now, the caller
 * keeps it. Only once ready (LX_CONN_READY) and before closing. Returns 0,
 * LX_ERR_STATE, LX_ERR_FULL (max_output_bytes would be exceeded: send some
 * output first), LX_ERR_NOMEM (fatal, as always: the connection has failed),
 * or the sticky error.
 */
int lx_conn_submit(lx_conn *c, const lx_elem *e);
/* The same for XML already serialized: exactly one balanced top-level
 * element, in the content namespace, checked (parsed as a document: no
 * </stream:stream>, no second element, no declaration or text around it).
 * Returns the same, and LX_ERR_INVALID for anything else. */
int lx_conn_submit_xml(lx_conn *c, const char *xml, size_t len);

/* Queues one space to keep the stream alive (RFC 6120 §4.6.1), when the
 * stream is ready and nothing else waits to be sent. Returns 1 when queued,
 * 0 when not needed or not allowed now (during negotiation: no white space
 * in the TLS and SASL windows). The caller owns the clock. */
int lx_conn_keepalive(lx_conn *c);

/* Releases what the connection can rebuild: the XML parser (most of a
 * ready connection's memory), when the stream is ready and between
 * stanzas, or while the peer's stream header or its choice among the
 * features is awaited; the next input rebuilds it from the stream header,
 * which costs a few microseconds. Then also OpenSSL's buffers once the
 * handshake is over; never during a handshake. (A server's TLS object is
 * made at <starttls/> only.) The caller
 * decides when a connection is idle enough (it owns the clock). Returns 1
 * when something was released, else 0. */
int lx_conn_trim(lx_conn *c);

/* Closes the stream (RFC 6120 §4.4): queues </stream:stream> and then a
 * TLS close_notify; inbound stanzas are still delivered until the peer's
 * </stream:stream> (LX_CONN_CLOSED). Before our header was sent, or during
 * a TLS handshake, the connection is closed at once. Returns 0 (also when
 * already closing), or the sticky error. */
int lx_conn_close(lx_conn *c);

/* Ends the stream with a stream error of our own (a server kicking a
 * session with conflict, system-shutdown, see-other-host...): queues it,
 * </stream:stream> and close_notify, and fails the connection with
 * e->condition. Returns 0, LX_ERR_INVALID (not a stream error condition,
 * see-other-host without other_host, text that is not XML text),
 * LX_ERR_STATE (already closed or closing) or LX_ERR_NOMEM. */
int lx_conn_stream_error(lx_conn *c, const lx_stream_error *e);

/*
 * Server decisions. Each returns 0; LX_ERR_STATE when no such request is
 * pending; LX_ERR_INVALID for an answer that does not fit (nothing changes:
 * answer again); LX_ERR_NOMEM; or the sticky error when the answer ended
 * the connection (the peer used up its attempts: policy-violation).
 */

/* Answers LX_CONN_AUTH_REQUEST, as lx_sasl_server_credentials() does
 * (keys.hash 0: the hash of the request). A refusal or a failed check
 * counts as a failed attempt. */
int lx_conn_auth_answer(lx_conn *c, const struct lx_sasl_credentials *cred);

/* Accepts LX_CONN_BIND_REQUEST with the session's full JID: the
 * authenticated account and a resource (the one asked for, or another:
 * RFC 6120 §7.6). LX_ERR_INVALID when it is not such a JID. */
int lx_conn_bind_accept(lx_conn *c, const char *full_jid);

/* Refuses it with LX_ERR_BIND_CONFLICT, LX_ERR_BIND_NOT_ALLOWED,
 * LX_ERR_BIND_RESOURCE_CONSTRAINT or LX_ERR_BIND_BAD_REQUEST (RFC 6120
 * §7.6.2), with an optional text; the client may try again. */
int lx_conn_bind_refuse(lx_conn *c, int condition, const char *text);

/* Accepts LX_CONN_RESUME_REQUEST (XEP-0198 §5): the stream goes on as the
 * session `full_jid` (of the authenticated account, as for binding):
 * queues <resumed previd= h=/> with h, the count of the session's stanzas
 * the application handled, and the connection is ready (LX_CONN_READY).
 * The application then sends again what the client did not acknowledge.
 * LX_ERR_INVALID when full_jid is not such a JID. */
int lx_conn_resume_accept(lx_conn *c, const char *full_jid, uint32_t h);

/* Refuses it: queues <failed/> with the stanza error `condition`
 * (RFC 6120 §8.3.3, e.g. "item-not-found" for a session unknown or
 * expired) and, when h >= 0, the h of the session; the client may bind.
 * A refusal counts as a failed binding attempt. LX_ERR_INVALID for a name
 * that is not a stanza error condition, or h beyond 32 bits. */
int lx_conn_resume_refuse(lx_conn *c, const char *condition, int64_t h);

/* Answers LX_CONN_HANDSHAKE_REQUEST with the component's shared secret
 * (NULL: no such component): the handshake must be the hex SHA-1 of the
 * stream id followed by the secret (XEP-0114 §3), compared in constant
 * time. Wrong: the stream ends with not-authorized (one attempt per
 * connection, as the protocol has no other answer). Right, with `condition`
 * 0: <handshake/> and LX_CONN_READY with the domain; right with a stream
 * error condition (LX_ERR_CONFLICT: the domain is connected already): the
 * stream ends with it. The secret is checked first, so that only its
 * holder learns why. LX_ERR_INVALID: condition is not a stream error. */
int lx_conn_handshake_answer(lx_conn *c, const char *secret, int condition);

typedef enum lx_conn_state {
  LX_CONN_STATE_NEW = 1,     /* before lx_conn_start() */
  LX_CONN_STATE_NEGOTIATING, /* headers, TLS, SASL, bind */
  LX_CONN_STATE_READY,       /* stanzas flow */
  LX_CONN_STATE_CLOSING,     /* we sent </stream:stream>; the peer's is due */
  LX_CONN_STATE_CLOSED,      /* closed cleanly: send the output, then close */
  LX_CONN_STATE_FAILED       /* the sticky error: send the output, close */
} lx_conn_state;

lx_conn_state lx_conn_get_state(const lx_conn *c);
/* The sticky error (code 0 when none), valid until lx_conn_free(). */
const lx_error *lx_conn_error(const lx_conn *c);
/* The TLS session once TLS has started, else NULL; valid until
 * lx_conn_free(). For its accessors (version, peer certificate, channel
 * bindings, a session to resume): moving bytes is the connection's job. */
lx_tls *lx_conn_tls(lx_conn *c);
/* The full JID once ready, else NULL. */
const char *lx_conn_jid(const lx_conn *c);
/* The id of the current stream (a server's own; a client's from the
 * server's header), or NULL. */
const char *lx_conn_stream_id(const lx_conn *c);

#ifdef __cplusplus
}
#endif
#endif

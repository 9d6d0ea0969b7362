/* conn_internal.h: what the files of the connection share (internal).
 *
 *   conn.c         the negotiation of both roles: every phase transition
 *   conn_opts.c    checking and copying the options
 *   conn_events.c  the event queue
 *   conn_io.c      bytes: input routed to TLS or the parser, output queued
 */
#ifndef LX_CONN_INTERNAL_H
#define LX_CONN_INTERNAL_H

#include "buf.h"
#include "lxmpp.h"

#include <openssl/crypto.h>
#include <stdlib.h>

#define ID_SIZE 65         /* an id and its NUL: 64 bytes at most */
#define ID_RANDOM_BYTES 16 /* 128 bits */
#define LANG_SIZE 36       /* BCP 47 tags in practice (RFC 5646 §4.4.1) */
#define READ_CHUNK 4096    /* plaintext taken from TLS at a time */
#define FEED_SLICE 4096    /* plaintext given to the parser at a time */
#define MAX_CB 3           /* channel-binding types */

/* What the connection waits for. */
enum phase {
  PH_NEW,             /* lx_conn_start() */
  PH_HANDSHAKE,       /* the end of the TLS handshake */
  PH_HEADER,          /* the peer's stream header */
  PH_FEATURES,        /* client: <stream:features/> */
  PH_OFFERED,         /* server: the client's choice among the features */
  PH_STARTTLS,        /* client: <proceed/> */
  PH_SASL,            /* client: a challenge or the outcome; server: a
                         response or <abort/> */
  PH_CREDENTIALS,     /* server: lx_conn_auth_answer() */
  PH_BIND,            /* client: the bind result */
  PH_HANDSHAKE_REPLY, /* component: the server's <handshake/> */
  PH_RESUME,          /* client: <resumed/> or <failed/> (XEP-0198) */
  PH_BIND_DECISION,   /* server: lx_conn_bind_accept() or _refuse() */
  PH_RESUME_DECISION, /* server: lx_conn_resume_accept() or _refuse() */
  PH_COMPONENT_AUTH,  /* component server: the component's <handshake> */
  PH_SECRET,          /* component server: lx_conn_handshake_answer() */
  PH_READY,           /* stanzas flow */
  PH_CLOSING,         /* we sent </stream:stream>; the peer's is due */
  PH_CLOSED,
  PH_FAILED
};

#define P(phase) (1u << (phase))

typedef struct event_queue {
  lx_conn_event *items;
  size_t head, len, cap; /* items[head .. len) are pending */
} event_queue;

typedef struct role_info role_info;

/* Where the white space of the old stream may still come after the parser
 * stopped: in the bytes received, or in the plaintext from TLS. */
enum skip_ws { SKIP_NONE, SKIP_RAW, SKIP_PLAIN };

struct lx_conn {
  const role_info *role;
  enum phase phase;
  lx_error error; /* sticky, once FAILED */

  /* what has been established */
  unsigned secure : 1;          /* TLS is up */
  unsigned authenticated : 1;   /* SASL succeeded */
  unsigned anonymous : 1;       /* client: with ANONYMOUS, whose localpart
                                   the server chooses */
  unsigned bound : 1;           /* a resource is bound */
  unsigned header_sent : 1;     /* our header of the current stream */
  unsigned tls_on : 1;          /* bytes flow through TLS */
  unsigned tls_close : 1;       /* close_notify once the output is in TLS */
  unsigned full_limits : 1;     /* the parser has the post-authentication
                                   limits */
  unsigned closed_pending : 1;  /* LX_CONN_CLOSED not yet taken */
  unsigned session_pending : 1; /* client: the legacy session iq */
  unsigned eof : 1;             /* the transport ended */

  /* options, copied */
  lx_conn_tls_mode tls_mode;
  char *lang;
  char *features_xml;
  char **extension_ns;
  size_t n_extension_ns;
  lx_parser_opts parser_opts;
  size_t max_preauth_stanza_bytes, max_output_bytes, max_input_bytes;
  unsigned max_auth_attempts, max_bind_attempts;
  int offer_session, trace;
  lx_random_fn random; /* every random byte: ids, SASL nonces and salts */
  void *random_user;
  lx_tls_cb_type cb_types[MAX_CB];
  size_t n_cb_types;

  /* bytes */
  lx_parser *parser;
  lx_tls *tls;
  lx_tls_ctx *tls_ctx; /* a STARTTLS server's, for its TLS at <starttls/> */
  buf out;             /* plaintext XML not yet sent or handed to TLS */
  size_t out_off;      /* out.data[out_off .. out.len) is pending */
  size_t clear; /* of which the first `clear` bytes go out in the clear */
  buf ends;     /* size_t offsets in out where pending elements end (TLS
                   records end there), from ends_off */
  size_t ends_off;
  buf in; /* bytes from lx_conn_recv() not yet taken (ciphertext once TLS
             is on): in.data[in_off .. in.len) */
  size_t in_off;
  buf held; /* plaintext from TLS the parser has not taken yet */
  size_t held_off;
  enum skip_ws skip_ws; /* the parser stopped (see conn_io.c) */

  event_queue events;
  lx_stanza *dispatching;         /* the element a handler is acting on */
  char *last_data;                /* the data of the event last taken */
  const lx_scram_keys *last_keys; /* its keys */

  char stream_id[ID_SIZE];
  char iq_id[ID_SIZE]; /* client: the bind or session iq we wait for */
  lx_jid *account;     /* the authenticated account (bare JID) */
  lx_jid *full;        /* the bound full JID */

  /* client */
  lx_jid *jid;
  lx_sasl_client_opts sasl_client_opts; /* its pointers are owned copies */
  lx_sasl_client *sasl_client;

  /* server */
  lx_jid **domains;
  size_t n_domains;
  const char *domain; /* of the current stream: one of domains */
  char *peer_from;    /* the client's from, prepared */
  char stream_lang[LANG_SIZE];
  lx_sasl_server_opts sasl_server_opts; /* its pointers are owned copies */
  lx_sasl_server *sasl_server;
  unsigned auth_failures, bind_failures;
  unsigned cb_failures;      /* -PLUS attempts with a binding type we lack */
  char *bind_resource;       /* asked for, prepared; NULL for none */
  char *component_secret;    /* a component's; wiped when freed */
  char component_digest[41]; /* component server: the <handshake> received
                                (hex SHA-1, lower case), wiped once checked */
  char *resume_id;           /* XEP-0198 previd, or NULL: the client's to
                                send, the server's asked for */
  uint32_t resume_h;
};

/* What distinguishes the roles outside the rules table. */
struct role_info {
  lx_tls_role tls_role;
  unsigned role_bit;                          /* in rule.roles */
  int initiator;                              /* sends the first header */
  int (*send_header)(lx_conn *c);             /* our stream header */
  int (*on_header)(lx_conn *c, lx_stanza *s); /* the peer's */
  int (*on_stanza)(lx_conn *c, lx_stanza *s); /* before delivery: 1 when
                                                 consumed (not delivered) */
  const char *content_ns; /* of the stanzas: jabber:client, or
                             jabber:component:accept */
  const char *version;    /* of our stream header; NULL: none (XEP-0114) */
  int (*configure)(lx_conn *c, const lx_conn_opts *o, lx_error *err);
};

/* Frees a secret: wipes it first. */
static inline void free_secret(void *p, size_t n) {
  if (p) {
    OPENSSL_cleanse(p, n);
    free(p);
  }
}

/* ---- conn.c: the negotiation --------------------------------------------- */

/* Ends the connection after a fault with the sticky error `code` and the
 * stream error `condition` (0: none) whose text is the detail: queues what
 * the stream can still carry, reports LX_CONN_CLOSED. Returns code. */
int conn_fail(lx_conn *c, int code, int condition, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
int conn_fail_nomem(lx_conn *c);
/* The stream ended cleanly. */
void conn_closed(lx_conn *c);
/* A new parser for the next stream: stricter limits until authenticated. */
int conn_new_parser(lx_conn *c);
/* The TLS handshake completed: the stream restarts. */
int conn_tls_opened(lx_conn *c);
/* Acts on a top-level element of the peer's; takes `s`. */
int conn_dispatch(lx_conn *c, lx_stanza *s);
/* Acts on the peer's stream header; takes `s`. */
int conn_on_open(lx_conn *c, lx_stanza *s);
/* The peer's </stream:stream>. */
int conn_on_peer_close(lx_conn *c);
/* Waits for the application's answer (AUTH_REQUEST, BIND_REQUEST,
 * HANDSHAKE_REQUEST, RESUME_REQUEST). */
int conn_paused(const lx_conn *c);

/* ---- conn_opts.c: the options -------------------------------------------- */

/* A plausible BCP 47 tag. */
int conn_valid_lang(const char *s);
/* Checks and copies the options of c's role (its configure: one of the
 * four below), then those of every role, into c. */
int conn_configure(lx_conn *c, const lx_conn_opts *o, lx_error *err);
int conn_configure_client(lx_conn *c, const lx_conn_opts *o, lx_error *err);
int conn_configure_server(lx_conn *c, const lx_conn_opts *o, lx_error *err);
int conn_configure_component(lx_conn *c, const lx_conn_opts *o, lx_error *err);
int conn_configure_component_server(lx_conn *c, const lx_conn_opts *o,
                                    lx_error *err);
/* Frees the copies of the options. */
void conn_free_opts(lx_conn *c);
void conn_free_sasl_client_opts(lx_sasl_client_opts *o);
void conn_free_sasl_server_opts(lx_sasl_server_opts *o);

/* ---- conn_events.c: the event queue -------------------------------------- */

/* A new event at the end of the queue, zeroed, or NULL when out of
 * memory. */
lx_conn_event *conn_push_event(lx_conn *c, lx_conn_event_type type);
/* Events pending. */
size_t conn_queued(const lx_conn *c);
/* SCRAM keys copied into one allocation (conn_free_keys wipes it), or
 * NULL. */
const lx_scram_keys *conn_copy_keys(const lx_scram_keys *k);
void conn_free_keys(const lx_scram_keys *k);
/* Frees the pending events and the data of the last one taken. */
void conn_free_events(lx_conn *c);

/* ---- conn_io.c: bytes ---------------------------------------------------- */

/* Plaintext XML queued and not yet sent or handed to TLS. */
size_t conn_out_pending(const lx_conn *c);
/* Reports out.data[mark ..] as sent (trace). */
int conn_sent(lx_conn *c, size_t mark);
/* Ends a write begun at `mark`: rc is what the writes returned (non-zero:
 * out of memory, the write is undone and the connection fails). */
int conn_wrote(lx_conn *c, size_t mark, int rc);
/* Queues our stream header. */
int conn_write_header(lx_conn *c, const char *from, const char *id,
                      const char *to, const char *lang);
/* Whether the stream can still carry XML from us. */
int conn_writable(const lx_conn *c);
/* One step of work on the input: dispatches the parser's next event, or
 * gives it more bytes (through TLS when on). Returns 1 when something
 * happened, 0 when nothing can before more bytes come or the application
 * answers. */
int conn_step(lx_conn *c);
/* Queues </stream:stream> and asks for close_notify after it. */
void conn_write_footer(lx_conn *c);
/* lx_conn_submit_xml() for XML the library serialized itself, which is one
 * balanced element by construction (trees, and the Lua binding's stanza
 * tables, whose serializer checks every name and value): not parsed
 * again. */
int conn_submit_serialized(lx_conn *c, const char *xml, size_t len);

#endif

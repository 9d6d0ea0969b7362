/* test_xml.c: the XML stream parser, stanza trees and the serializer. */
#include "check.h"
#include "lxmpp.h"

#include <stdlib.h>

#define HEADER                                                                 \
  "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "                 \
  "xmlns:stream='http://etherx.jabber.org/streams' to='im.example.com' "       \
  "version='1.0' xml:lang='en'>"

/* ---- helpers ------------------------------------------------------------ */

typedef struct transcript {
  char text[1 << 16];
  size_t len;
} transcript;

/* Appends s, or as much of it as fits (long stanzas are cut short). */
static void add(transcript *t, const char *s) {
  size_t n = strlen(s), room = sizeof t->text - 1 - t->len;
  if (n > room)
    n = room;
  memcpy(t->text + t->len, s, n);
  t->len += n;
  t->text[t->len] = '\0';
}

static void drain(lx_parser *p, transcript *t, const char *ns) {
  lx_parse_event ev;
  while (lx_parser_next(p, &ev)) {
    char *xml = NULL;
    switch (ev.type) {
    case LX_PARSE_OPEN:
      CHECK_INT(lx_serialize_header(lx_stanza_root(ev.stanza), ns, &xml, NULL),
                0);
      add(t, "open:");
      break;
    case LX_PARSE_STANZA:
      CHECK_INT(lx_serialize(lx_stanza_root(ev.stanza), ns, 0, &xml, NULL), 0);
      add(t, "stanza:");
      break;
    case LX_PARSE_CLOSE: add(t, "close"); break;
    }
    if (xml)
      add(t, xml);
    add(t, "\n");
    free(xml);
    lx_stanza_free(ev.stanza);
  }
}

/* Feeds `data` in pieces: chunk 0 = whole, n = n bytes, -1 = random sizes.
 * Returns the bytes consumed in all, or the error; the transcript records
 * every event. */
static long feed_all(const lx_parser_opts *o, const char *data, size_t len,
                     long chunk, transcript *t) {
  lx_parser *p;
  CHECK_INT(lx_parser_new(&p, o), 0);
  const char *ns = o ? o->default_ns : LX_NS_CLIENT;
  unsigned seed = 12345;
  long rc = 0, total = 0;
  size_t at = 0;
  t->len = 0;
  t->text[0] = '\0';
  while (at < len) {
    size_t n = len - at;
    if (chunk > 0 && (size_t)chunk < n)
      n = (size_t)chunk;
    if (chunk < 0) {
      seed = seed * 1103515245u + 12345u;
      size_t r = 1 + (seed >> 16) % 37;
      if (r < n)
        n = r;
    }
    rc = (long)lx_parser_feed(p, data + at, n);
    drain(p, t, ns);
    if (rc < 0)
      break;
    total += rc;
    at += n;
  }
  if (rc < 0) {
    add(t, "error:");
    add(t, lx_strerror((int)rc));
  }
  lx_parser_free(p);
  return rc < 0 ? rc : total;
}

/* The stream error a whole stream produces (0 when none). */
static int stream_error(const lx_parser_opts *o, const char *data) {
  transcript *t = malloc(sizeof *t);
  long rc = feed_all(o, data, strlen(data), 0, t);
  free(t);
  return rc < 0 ? (int)rc : 0;
}

/* The same, byte by byte: the error must not depend on chunking. */
static int stream_error_bytewise(const lx_parser_opts *o, const char *data) {
  transcript *t = malloc(sizeof *t);
  long rc = feed_all(o, data, strlen(data), 1, t);
  free(t);
  return rc < 0 ? (int)rc : 0;
}

#define CHECK_STREAM_ERROR(o, data, code)                                      \
  do {                                                                         \
    CHECK_INT(stream_error(o, data), code);                                    \
    CHECK_INT(stream_error_bytewise(o, data), code);                           \
  } while (0)

/* ---- events and chunking ------------------------------------------------ */

static const char sample[] = HEADER
    "<message to='romeo@example.net' type='chat'><body>Art thou not Romeo, "
    "&amp; a Montague? &lt;3 caf\xc3\xa9 \xf0\x9f\x99\x82</body>"
    "<x xmlns='urn:x' xmlns:p='urn:p' p:a='1'><y/>t<![CDATA[<raw>]]></x>"
    "</message>\n  \t<presence xml:lang='fr'/>"
    "<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>"
    "</stream:stream>";

TEST(events_in_order) {
  transcript *t = malloc(sizeof *t);
  CHECK_INT(feed_all(NULL, sample, sizeof sample - 1, 0, t),
            (long)(sizeof sample - 1));
  CHECK_STR(t->text,
            "open:<stream:stream xmlns='jabber:client' "
            "xmlns:stream='http://etherx.jabber.org/streams' "
            "to='im.example.com' version='1.0' xml:lang='en'>\n"
            "stanza:<message to='romeo@example.net' type='chat' "
            "xml:lang='en'><body>Art thou not Romeo, &amp; a Montague? "
            "&lt;3 caf\xc3\xa9 \xf0\x9f\x99\x82</body><x xmlns='urn:x' "
            "xmlns:ns1='urn:p' ns1:a='1'><y/>t&lt;raw&gt;</x></message>\n"
            "stanza:<presence xml:lang='fr'/>\n"
            "stanza:<iq type='get' id='r1' xml:lang='en'><query "
            "xmlns='jabber:iq:roster'/></iq>\n"
            "close\n");
  free(t);
}

TEST(chunking_never_changes_the_result) {
  transcript *whole = malloc(sizeof *whole), *t = malloc(sizeof *t);
  feed_all(NULL, sample, sizeof sample - 1, 0, whole);
  long sizes[] = {1, 2, 3, 7, 64, -1};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    feed_all(NULL, sample, sizeof sample - 1, sizes[i], t);
    CHECK_STR(t->text, whole->text);
  }
  /* and the same for a stream that fails half way */
  static const char bad[] = HEADER "<message><body>x</body></message>"
                                   "<presence><!-- no --></presence>";
  feed_all(NULL, bad, sizeof bad - 1, 0, whole);
  CHECK(strstr(whole->text, "error:restricted-xml") != NULL);
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    feed_all(NULL, bad, sizeof bad - 1, sizes[i], t);
    CHECK_STR(t->text, whole->text);
  }
  free(whole);
  free(t);
}

TEST(tree_accessors) {
  lx_parser *p;
  lx_parse_event ev;
  CHECK_INT(lx_parser_new(&p, NULL), 0);
  CHECK_INT(lx_parser_feed(p, sample, sizeof sample - 1),
            (long)(sizeof sample - 1));
  CHECK_INT(lx_parser_next(p, &ev), 1);
  CHECK_INT(ev.type, LX_PARSE_OPEN);
  lx_elem *h = lx_stanza_root(ev.stanza);
  CHECK_STR(lx_elem_name(h), "stream");
  CHECK_STR(lx_elem_ns(h), LX_NS_STREAMS);
  CHECK_STR(lx_elem_attr(h, NULL, "to"), "im.example.com");
  CHECK_STR(lx_elem_attr(h, LX_NS_XML, "lang"), "en");
  lx_stanza_free(ev.stanza);

  CHECK_INT(lx_parser_next(p, &ev), 1);
  CHECK_INT(ev.type, LX_PARSE_STANZA);
  lx_elem *m = lx_stanza_root(ev.stanza);
  CHECK_STR(lx_elem_name(m), "message");
  CHECK_STR(lx_elem_ns(m), LX_NS_CLIENT);
  CHECK_INT(lx_elem_attr_count(m), 3);
  lx_elem *body = lx_elem_child(m, NULL, "body");
  CHECK(body != NULL);
  size_t len;
  CHECK_STR(lx_elem_text(ev.stanza, body, &len),
            "Art thou not Romeo, & a Montague? <3 caf\xc3\xa9 "
            "\xf0\x9f\x99\x82");
  CHECK_INT(len, 47);
  CHECK(lx_elem_child(m, NULL, "x") == NULL); /* x is in urn:x */
  lx_elem *x = lx_elem_child(m, "urn:x", "x");
  CHECK(x != NULL);
  CHECK_STR(lx_elem_attr(x, "urn:p", "a"), "1");
  CHECK(lx_elem_attr(x, NULL, "a") == NULL);
  CHECK(lx_elem_parent(x) == m);
  /* text and CDATA are one text node; a second text node is joined */
  CHECK_STR(lx_elem_text(ev.stanza, x, NULL), "t<raw>");
  const lx_node *n = lx_elem_first_node(x);
  CHECK(lx_node_elem(n) != NULL);
  n = lx_node_next(n);
  CHECK_STR(lx_node_text(n, NULL), "t<raw>");
  CHECK(lx_node_next(n) == NULL);
  CHECK(lx_elem_next_child(body, "urn:x", "x") == x);
  lx_stanza_free(ev.stanza);
  lx_parser_free(p);
}

/* ---- restricted XML, encodings, well-formedness, namespaces ------------- */

TEST(restricted_xml) {
  CHECK_STREAM_ERROR(NULL, HEADER "<message><!-- x --></message>",
                     LX_ERR_RESTRICTED_XML);
  CHECK_STREAM_ERROR(NULL, HEADER "<!-- at stream level -->",
                     LX_ERR_RESTRICTED_XML);
  CHECK_STREAM_ERROR(NULL, "<!-- before -->" HEADER, LX_ERR_RESTRICTED_XML);
  CHECK_STREAM_ERROR(NULL, HEADER "<message><?pi data?></message>",
                     LX_ERR_RESTRICTED_XML);
  CHECK_STREAM_ERROR(NULL, "<!DOCTYPE stream:stream>" HEADER,
                     LX_ERR_RESTRICTED_XML);
  CHECK_STREAM_ERROR(NULL,
                     "<!DOCTYPE s [<!ENTITY x 'EXPANDED'>]>" HEADER
                     "<message>&x;</message>",
                     LX_ERR_RESTRICTED_XML);
  CHECK_STREAM_ERROR(NULL, HEADER "<message>&nbsp;</message>",
                     LX_ERR_RESTRICTED_XML);
  CHECK_STREAM_ERROR(NULL, HEADER "<message a='&x;'/>", LX_ERR_RESTRICTED_XML);
  CHECK_STREAM_ERROR(NULL, HEADER "<?xml version='1.0'?>",
                     LX_ERR_RESTRICTED_XML);
  CHECK_STREAM_ERROR(NULL,
                     "<?xml version='1.1'?><stream:stream "
                     "xmlns='jabber:client' "
                     "xmlns:stream='http://etherx.jabber.org/streams'>",
                     LX_ERR_RESTRICTED_XML);
  /* the five predefined entities and character references are fine */
  CHECK_STREAM_ERROR(NULL,
                     HEADER "<message a='&quot;&apos;'>&lt;&gt;&amp;&#65;&#x42;"
                            "</message>",
                     0);
}

TEST(billion_laughs_is_refused_before_expansion) {
  static const char doc[] =
      "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>"
      "<!ENTITY lol1 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>"
      "<!ENTITY lol2 '&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;'>"
      "<!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>"
      "]><stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams'><message>&lol3;"
      "</message>";
  CHECK_STREAM_ERROR(NULL, doc, LX_ERR_RESTRICTED_XML);
}

TEST(encodings) {
  CHECK_STREAM_ERROR(NULL,
                     "<?xml version='1.0' encoding='ISO-8859-1'?>"
                     "<stream:stream xmlns='jabber:client' "
                     "xmlns:stream='http://etherx.jabber.org/streams'>",
                     LX_ERR_UNSUPPORTED_ENCODING);
  CHECK_STREAM_ERROR(NULL,
                     "<?xml version='1.0' encoding='utf-8'?>"
                     "<stream:stream xmlns='jabber:client' "
                     "xmlns:stream='http://etherx.jabber.org/streams'>",
                     0);
  /* UTF-16 with and without a byte order mark */
  static const char utf16[] = "\xff\xfe<\0?\0x\0m\0l\0";
  static const char utf16be[] = "\0<\0s\0t\0r";
  lx_parser *p;
  CHECK_INT(lx_parser_new(&p, NULL), 0);
  CHECK_INT(lx_parser_feed(p, utf16, sizeof utf16 - 1),
            LX_ERR_UNSUPPORTED_ENCODING);
  lx_parser_free(p);
  CHECK_INT(lx_parser_new(&p, NULL), 0);
  CHECK_INT(lx_parser_feed(p, "<", 1), 1);
  CHECK_INT(lx_parser_feed(p, "\0", 1), LX_ERR_UNSUPPORTED_ENCODING);
  lx_parser_free(p);
  CHECK_INT(lx_parser_new(&p, NULL), 0);
  CHECK_INT(lx_parser_feed(p, utf16be, sizeof utf16be - 1),
            LX_ERR_UNSUPPORTED_ENCODING);
  lx_parser_free(p);
}

TEST(not_well_formed) {
  CHECK_STREAM_ERROR(NULL, HEADER "<message><body></message>",
                     LX_ERR_NOT_WELL_FORMED);
  CHECK_STREAM_ERROR(NULL, HEADER "<'/>", LX_ERR_NOT_WELL_FORMED);
  CHECK_STREAM_ERROR(NULL, HEADER "<message>&#1;</message>",
                     LX_ERR_NOT_WELL_FORMED);
  CHECK_STREAM_ERROR(NULL, HEADER "<message>\xc0\xaf</message>",
                     LX_ERR_NOT_WELL_FORMED);
  CHECK_STREAM_ERROR(NULL, HEADER "<message>\xed\xa0\x80</message>",
                     LX_ERR_NOT_WELL_FORMED);
  CHECK_STREAM_ERROR(NULL, HEADER "<message>\x1b[31m</message>",
                     LX_ERR_NOT_WELL_FORMED);
  CHECK_STREAM_ERROR(NULL, HEADER "<message a='1' a='2'/>",
                     LX_ERR_NOT_WELL_FORMED);
  CHECK_STREAM_ERROR(NULL, HEADER "hello<message/>", LX_ERR_NOT_WELL_FORMED);
  CHECK_STREAM_ERROR(NULL, HEADER "<message/>x", LX_ERR_NOT_WELL_FORMED);
  CHECK_STREAM_ERROR(NULL, HEADER "</stream:stream><message/>",
                     LX_ERR_NOT_WELL_FORMED);
  /* the detail has expat's line and column */
  lx_parser *p;
  CHECK_INT(lx_parser_new(&p, NULL), 0);
  static const char s[] = HEADER "\n<message>\n  <body></x>";
  CHECK_INT(lx_parser_feed(p, s, sizeof s - 1), LX_ERR_NOT_WELL_FORMED);
  CHECK_STR(lx_parser_error(p)->detail, "line 3, column 10: mismatched tag");
  lx_parser_free(p);
}

TEST(namespaces) {
  CHECK_STREAM_ERROR(NULL,
                     "<stream xmlns='jabber:client' xmlns:stream='urn:other'/>",
                     LX_ERR_INVALID_NAMESPACE);
  CHECK_STREAM_ERROR(NULL,
                     "<stream:stream xmlns='jabber:client' "
                     "xmlns:stream='http://etherx.jabber.org/wrong'>",
                     LX_ERR_INVALID_NAMESPACE);
  CHECK_STREAM_ERROR(NULL,
                     "<stream:features xmlns='jabber:client' "
                     "xmlns:stream='http://etherx.jabber.org/streams'>",
                     LX_ERR_INVALID_NAMESPACE);
  CHECK_STREAM_ERROR(NULL,
                     "<foo:stream xmlns='jabber:client' "
                     "xmlns:foo='http://etherx.jabber.org/streams'>",
                     LX_ERR_BAD_NAMESPACE_PREFIX);
  CHECK_STREAM_ERROR(NULL, "<stream xmlns='http://etherx.jabber.org/streams'>",
                     LX_ERR_BAD_NAMESPACE_PREFIX);
  CHECK_STREAM_ERROR(NULL, HEADER "<p:message/>", LX_ERR_BAD_NAMESPACE_PREFIX);
  CHECK_STREAM_ERROR(NULL, HEADER "<message p:a='1'/>",
                     LX_ERR_BAD_NAMESPACE_PREFIX);
  CHECK_STREAM_ERROR(NULL, "<stream:stream xmlns='jabber:client'>",
                     LX_ERR_BAD_NAMESPACE_PREFIX);
  /* content namespace: missing, or not the expected one */
  CHECK_STREAM_ERROR(
      NULL, "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>",
      LX_ERR_INVALID_NAMESPACE);
  CHECK_STREAM_ERROR(NULL,
                     "<stream:stream xmlns='jabber:server' "
                     "xmlns:stream='http://etherx.jabber.org/streams'>",
                     LX_ERR_INVALID_NAMESPACE);
  lx_parser_opts o;
  lx_parser_opts_init(&o);
  o.default_ns = LX_NS_SERVER;
  CHECK_STREAM_ERROR(&o,
                     "<stream:stream xmlns='jabber:server' "
                     "xmlns:stream='http://etherx.jabber.org/streams'>",
                     0);
  o.default_ns = LX_NS_COMPONENT;
  CHECK_STREAM_ERROR(&o, HEADER, LX_ERR_INVALID_NAMESPACE);
}

/* ---- limits ------------------------------------------------------------- */

/* A stanza of exactly n bytes: <message><body>xxx...</body></message>. */
static char *stanza_of(size_t n) {
  static const char head[] = "<message><body>", tail[] = "</body></message>";
  size_t fixed = sizeof head - 1 + sizeof tail - 1;
  char *s = malloc(n + 1);
  memcpy(s, head, sizeof head - 1);
  memset(s + sizeof head - 1, 'x', n - fixed);
  memcpy(s + n - (sizeof tail - 1), tail, sizeof tail);
  return s;
}

TEST(stanza_size_limit_is_exact_and_checked_while_parsing) {
  lx_parser_opts o;
  lx_parser_opts_init(&o);
  o.max_stanza_bytes = 1000;
  transcript *t = malloc(sizeof *t);
  for (long chunk = 0; chunk <= 4096; chunk = chunk ? chunk * 8 : 1) {
    char *ok = stanza_of(1000), *big = stanza_of(1001);
    size_t hl = strlen(HEADER);
    char *s = malloc(hl + 2 * 1001 + 4);
    sprintf(s, "%s%s  %s", HEADER, ok, ok);
    CHECK_INT(feed_all(&o, s, strlen(s), chunk, t), (long)strlen(s));
    CHECK(strstr(t->text, "error") == NULL);
    sprintf(s, "%s%s", HEADER, big);
    feed_all(&o, s, strlen(s), chunk, t);
    CHECK(strstr(t->text, "error:policy-violation") != NULL);
    free(ok);
    free(big);
    free(s);
  }
  free(t);
  /* refused as soon as byte 1001 of an unfinished stanza arrives */
  lx_parser *p;
  CHECK_INT(lx_parser_new(&p, &o), 0);
  CHECK_INT(lx_parser_feed(p, HEADER, strlen(HEADER)), (long)strlen(HEADER));
  char *open = stanza_of(1200);
  CHECK_INT(lx_parser_feed(p, open, 1000), 1000);
  CHECK_INT(lx_parser_feed(p, open + 1000, 1), LX_ERR_POLICY_VIOLATION);
  CHECK_STR(lx_parser_error(p)->detail,
            "limit exceeded: max_stanza_bytes 1000");
  lx_parser_free(p);
  /* a 1 MB attribute value arriving in one feed is refused too */
  char *huge = malloc(1 << 20);
  memset(huge, 'a', 1 << 20);
  memcpy(huge, "<message to='", 13);
  CHECK_INT(lx_parser_new(&p, &o), 0);
  lx_parser_feed(p, HEADER, strlen(HEADER));
  CHECK_INT(lx_parser_feed(p, huge, 1 << 20), LX_ERR_POLICY_VIOLATION);
  lx_parser_free(p);
  free(huge);
  free(open);
}

/* A stream with one stanza built by repeating `unit` n times inside
 * `open`...`close`. */
static char *repeated(const char *open, const char *unit, size_t n,
                      const char *close) {
  size_t hl = strlen(HEADER), ol = strlen(open), ul = strlen(unit),
         cl = strlen(close);
  char *s = malloc(hl + ol + ul * n + cl + 1), *at = s;
  memcpy(at, HEADER, hl), at += hl;
  memcpy(at, open, ol), at += ol;
  for (size_t i = 0; i < n; i++)
    memcpy(at, unit, ul), at += ul;
  memcpy(at, close, cl + 1);
  return s;
}

static int limit_error(const lx_parser_opts *o, char *s) {
  int rc = stream_error(o, s);
  free(s);
  return rc;
}

TEST(structure_limits) {
  lx_parser_opts o;
  lx_parser_opts_init(&o);
  o.max_depth = 5;
  /* depth counts the stanza itself: message > a > a > a > a is 5 */
  CHECK_INT(limit_error(&o, repeated("<message>", "<a>", 4,
                                     "</a></a></a></a></message>")),
            0);
  CHECK_INT(limit_error(&o, repeated("<message>", "<a>", 5, "")),
            LX_ERR_POLICY_VIOLATION);
  lx_parser_opts_init(&o);
  o.max_attrs = 3;
  CHECK_INT(
      limit_error(&o, repeated("<message a='1' b='2' c='3'", "", 0, "/>")), 0);
  CHECK_INT(limit_error(
                &o, repeated("<message a='1' b='2' c='3' d='4'", "", 0, "/>")),
            LX_ERR_POLICY_VIOLATION);
  lx_parser_opts_init(&o);
  o.max_children = 10;
  CHECK_INT(limit_error(&o, repeated("<message>", "<a/>", 10, "</message>")),
            0);
  CHECK_INT(limit_error(&o, repeated("<message>", "<a/>", 11, "</message>")),
            LX_ERR_POLICY_VIOLATION);
  CHECK_INT(limit_error(&o, repeated("<message>", "<a/>t", 6, "</message>")),
            LX_ERR_POLICY_VIOLATION); /* text nodes are children too */
  lx_parser_opts_init(&o);
  o.max_text_bytes = 100;
  CHECK_INT(limit_error(&o, repeated("<message>", "x", 100, "</message>")), 0);
  CHECK_INT(limit_error(&o, repeated("<message>", "x", 101, "</message>")),
            LX_ERR_POLICY_VIOLATION);
  /* the total over several runs of text in one element */
  CHECK_INT(limit_error(
                &o, repeated("<message>", "xxxxxxxxxx<a/>", 11, "</message>")),
            LX_ERR_POLICY_VIOLATION);
  /* the message names the limit */
  lx_parser *p;
  o.max_text_bytes = 3;
  CHECK_INT(lx_parser_new(&p, &o), 0);
  static const char s[] = HEADER "<message>abcd</message>";
  CHECK_INT(lx_parser_feed(p, s, sizeof s - 1), LX_ERR_POLICY_VIOLATION);
  CHECK_STR(lx_parser_error(p)->detail, "limit exceeded: max_text_bytes 3");
  lx_parser_free(p);
  /* zero limits are refused */
  o.max_depth = 0;
  CHECK_INT(lx_parser_new(&p, &o), LX_ERR_INVALID);
}

TEST(adversarial_inputs_are_handled) {
  lx_parser_opts big;
  lx_parser_opts_init(&big);
  big.max_stanza_bytes = 64u << 20;
  big.max_children = 1u << 30;
  big.max_attrs = 1u << 30;
  big.max_text_bytes = 64u << 20;
  big.max_depth = 1u << 30;
  /* each is parsed with generous limits, and refused with the defaults */
  char *inputs[] = {
      repeated("<message>", "<a/>", 80000, "</message>"),
      repeated("<message>", "x\n", 200000, "</message>"),
      NULL,
      NULL,
  };
  /* 100,000 levels of nesting, closed */
  char *closing = malloc(100000 * 4 + 11);
  for (int i = 0; i < 100000; i++)
    memcpy(closing + 4 * i, "</a>", 4);
  strcpy(closing + 400000, "</message>");
  inputs[3] = repeated("<message>", "<a>", 100000, closing);
  free(closing);
  /* 16,000 distinct attributes */
  size_t hl = strlen(HEADER);
  inputs[2] = malloc(hl + 16000 * 16 + 32);
  char *at = inputs[2] + sprintf(inputs[2], "%s<message", HEADER);
  for (int i = 0; i < 16000; i++)
    at += sprintf(at, " a%d='v'", i);
  strcpy(at, "/>");
  transcript *t = malloc(sizeof *t);
  for (size_t i = 0; i < 4; i++) {
    long n = feed_all(&big, inputs[i], strlen(inputs[i]), 4096, t);
    CHECK(n == (long)strlen(inputs[i]));
    /* delivered as soon as its last byte arrived: no deferral stalls it */
    CHECK(strstr(t->text, "\nstanza:<message") != NULL);
    CHECK_INT(stream_error(NULL, inputs[i]), LX_ERR_POLICY_VIOLATION);
    free(inputs[i]);
  }
  free(t);
}

/* ---- stopping at restart boundaries ------------------------------------- */

TEST(stop_after_proceed_leaves_tls_bytes_unparsed) {
  static const char in[] = HEADER
      "<stream:features><starttls "
      "xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
      "</stream:features><proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
      "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03<not xml";
  size_t boundary = (size_t)(strstr(in, "\x16") - in);
  for (size_t chunk = 1; chunk <= sizeof in; chunk *= 3) {
    lx_parser *p;
    CHECK_INT(lx_parser_new(&p, NULL), 0);
    CHECK_INT(
        lx_parser_stop_after(p, "urn:ietf:params:xml:ns:xmpp-tls", "proceed"),
        0);
    size_t at = 0;
    while (at < sizeof in - 1) {
      size_t n = sizeof in - 1 - at < chunk ? sizeof in - 1 - at : chunk;
      ssize_t rc = lx_parser_feed(p, in + at, n);
      CHECK(rc >= 0);
      at += (size_t)rc;
      if (lx_parser_stopped(p))
        break;
    }
    CHECK_INT(at, boundary);
    CHECK_INT(lx_parser_feed(p, in + at, 1), LX_ERR_STATE);
    lx_parse_event ev;
    int count = 0;
    const char *last = NULL;
    while (lx_parser_next(p, &ev)) {
      count++;
      if (ev.type == LX_PARSE_STANZA)
        last = lx_elem_name(lx_stanza_root(ev.stanza)) ? "stanza" : NULL;
      lx_stanza_free(ev.stanza);
    }
    CHECK_INT(count, 3); /* open, features, proceed */
    CHECK_STR(last, "stanza");
    CHECK_INT(lx_parser_error(p)->code, 0);
    lx_parser_free(p);
  }
}

/* Several stop elements; after a stop the same stream goes on
 * (lx_parser_resume) from the bytes after the stopped element, in any
 * chunking, with the same events as without the stop. */
TEST(stop_after_several_then_resume) {
  static const char in[] =
      HEADER "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>=</auth>\n"
             "<message id='1'/><starttls xmlns='urn:ietf:params:xml:ns:xmpp-"
             "tls'/> <message id='2'/>";
  transcript *want = malloc(sizeof *want), *got = malloc(sizeof *got);
  lx_parser *p;
  want->len = 0;
  CHECK_INT(lx_parser_new(&p, NULL), 0);
  CHECK_INT(lx_parser_feed(p, in, strlen(in)), (long)strlen(in));
  drain(p, want, LX_NS_CLIENT);
  lx_parser_free(p);
  for (size_t chunk = 1; chunk <= sizeof in; chunk += 6) {
    size_t at = 0, stops = 0;
    got->len = 0;
    CHECK_INT(lx_parser_new(&p, NULL), 0);
    CHECK_INT(
        lx_parser_stop_after(p, "urn:ietf:params:xml:ns:xmpp-sasl", "auth"), 0);
    CHECK_INT(
        lx_parser_stop_after(p, "urn:ietf:params:xml:ns:xmpp-tls", "starttls"),
        0);
    CHECK_INT(lx_parser_resume(p), LX_ERR_STATE); /* not stopped */
    while (at < strlen(in)) {
      size_t n = strlen(in) - at < chunk ? strlen(in) - at : chunk;
      ssize_t k = lx_parser_feed(p, in + at, n);
      CHECK(k >= 0);
      if (k < 0)
        break;
      at += (size_t)k;
      drain(p, got, LX_NS_CLIENT);
      if (lx_parser_stopped(p)) {
        stops++;
        CHECK(in[at - 1] == '>');
        CHECK_INT(lx_parser_resume(p), 0);
      }
    }
    CHECK_INT(stops, 2);
    CHECK_STR(got->text, want->text);
    lx_parser_free(p);
  }
  free(want);
  free(got);
}

TEST(pipelined_stream_after_success_is_reparsed_after_reset) {
  static const char first[] =
      HEADER "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
             "dj1wTk5ERlZFUXh1WHhDb1NFaVc4R0VaKzFSU289</success>";
  static const char second[] =
      "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams' id='new'>"
      "<message><body>hi</body></message>";
  char in[sizeof first + sizeof second];
  strcpy(in, first);
  strcat(in, second);
  lx_parser *p;
  CHECK_INT(lx_parser_new(&p, NULL), 0);
  lx_parser_stop_after(p, "urn:ietf:params:xml:ns:xmpp-sasl", "success");
  ssize_t n = lx_parser_feed(p, in, strlen(in));
  CHECK_INT(n, (long)strlen(first));
  transcript *t = malloc(sizeof *t);
  t->len = 0;
  drain(p, t, LX_NS_CLIENT);
  CHECK(strstr(t->text, "stanza:<success") != NULL);
  CHECK(strstr(t->text, "message") == NULL);
  CHECK_INT(lx_parser_reset(p), 0);
  lx_parser_stop_after(p, NULL, NULL);
  CHECK_INT(lx_parser_feed(p, in + n, strlen(in + n)), (long)strlen(second));
  t->len = 0;
  drain(p, t, LX_NS_CLIENT);
  CHECK_STR(t->text, "open:<stream:stream xmlns='jabber:client' "
                     "xmlns:stream='http://etherx.jabber.org/streams' "
                     "id='new'>\nstanza:<message><body>hi</body></message>\n");
  free(t);
  lx_parser_free(p);
}

TEST(errors_are_sticky_and_keep_earlier_events) {
  lx_parser *p;
  CHECK_INT(lx_parser_new(&p, NULL), 0);
  static const char s[] = HEADER "<message/><presence/><iq><!-- x --></iq>";
  CHECK_INT(lx_parser_feed(p, s, sizeof s - 1), LX_ERR_RESTRICTED_XML);
  CHECK_INT(lx_parser_feed(p, "<message/>", 10), LX_ERR_RESTRICTED_XML);
  CHECK_INT(lx_parser_error(p)->code, LX_ERR_RESTRICTED_XML);
  lx_parse_event ev;
  int stanzas = 0;
  while (lx_parser_next(p, &ev)) {
    stanzas += ev.type == LX_PARSE_STANZA;
    lx_stanza_free(ev.stanza);
  }
  CHECK_INT(stanzas, 2);
  CHECK_INT(lx_parser_reset(p), 0);
  CHECK_INT(lx_parser_error(p)->code, 0);
  CHECK_INT(lx_parser_feed(p, HEADER, strlen(HEADER)), (long)strlen(HEADER));
  lx_parser_free(p);
  lx_parser_free(NULL);
}

TEST(lang_is_stamped_from_the_header) {
  transcript *t = malloc(sizeof *t);
  static const char s[] =
      HEADER "<message/><message xml:lang='de'/><stream:features/>";
  feed_all(NULL, s, sizeof s - 1, 0, t);
  /* stanzas only: not the stream's own elements */
  CHECK(strstr(t->text,
               "stanza:<message xml:lang='en'/>\n"
               "stanza:<message xml:lang='de'/>\n"
               "stanza:<features "
               "xmlns='http://etherx.jabber.org/streams'/>\n") != NULL);
  lx_parser_opts o;
  lx_parser_opts_init(&o);
  o.stamp_lang = 0;
  feed_all(&o, s, sizeof s - 1, 0, t);
  CHECK(strstr(t->text, "stanza:<message/>\n") != NULL);
  static const char nolang[] =
      "<stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams'><message/>";
  feed_all(NULL, nolang, sizeof nolang - 1, 0, t);
  CHECK(strstr(t->text, "stanza:<message/>\n") != NULL);
  free(t);
}

/* ---- building and serializing ------------------------------------------- */

TEST(builders_validate) {
  lx_stanza *s;
  lx_error err;
  lx_elem *e;
  CHECK_INT(lx_stanza_new(&s, LX_NS_CLIENT, "1abc", &err), LX_ERR_INVALID);
  CHECK_STR(err.detail, "invalid element name: '1abc'");
  CHECK_INT(lx_stanza_new(&s, LX_NS_CLIENT, "a:b", &err), LX_ERR_INVALID);
  CHECK_INT(lx_stanza_new(&s, LX_NS_CLIENT, "", &err), LX_ERR_INVALID);
  CHECK_INT(lx_stanza_new(&s, "", "a", &err), LX_ERR_INVALID);
  CHECK_INT(lx_stanza_new(&s, LX_NS_XML, "a", &err), LX_ERR_INVALID);
  CHECK_INT(lx_stanza_new(&s, "http://www.w3.org/2000/xmlns/", "a", &err),
            LX_ERR_INVALID);
  CHECK_STR(err.detail,
            "invalid namespace: http://www.w3.org/2000/xmlns/ is reserved");
  CHECK_INT(lx_stanza_new(&s, LX_NS_CLIENT, "message", &err), 0);
  lx_elem *m = lx_stanza_root(s);
  const char *bad_names[] = {"a/b", "a=b", "a b", "-a", ".a", "a\x01"};
  for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
    CHECK_INT(lx_elem_add_child(s, m, NULL, bad_names[i], &e, &err),
              LX_ERR_INVALID);
    CHECK_INT(lx_elem_set_attr(s, m, NULL, bad_names[i], "v", &err),
              LX_ERR_INVALID);
  }
  CHECK_INT(lx_elem_add_child(s, m, NULL, "caf\xc3\xa9", &e, &err), 0);
  CHECK_INT(lx_elem_add_child(s, m, NULL, "a-b.c_1\xc2\xb7", &e, &err), 0);
  struct {
    const char *text;
    const char *reason;
  } bad_text[] = {
      {"\x01", "control characters"},     {"\x14", "control characters"},
      {"\x1b[31m", "control characters"}, {"\x7f ok", NULL},
      {"\xef\xbf\xbe", "U+FFFE"},         {"\xef\xbf\xbf", "U+FFFE"},
      {"\xc0\xaf", "invalid utf8"},       {"\xed\xa0\x80", "invalid utf8"},
      {"\xe2\x82", "invalid utf8"},       {"\xf4\x90\x80\x80", "invalid utf8"},
      {"\xf0\x9f\x99\x82", NULL},         {"tab\tlf\ncr\r", NULL},
  };
  for (size_t i = 0; i < sizeof bad_text / sizeof *bad_text; i++) {
    const char *t = bad_text[i].text;
    int want = bad_text[i].reason ? LX_ERR_INVALID : 0;
    CHECK_INT(lx_elem_add_text(s, m, t, strlen(t), &err), want);
    if (want)
      CHECK(strstr(err.detail, bad_text[i].reason) != NULL);
    CHECK_INT(lx_elem_set_attr(s, m, NULL, "v", t, &err), want);
  }
  CHECK_INT(lx_elem_set_attr(s, m, NULL, "xmlns", "urn:x", &err),
            LX_ERR_INVALID);
  CHECK_INT(lx_elem_set_attr(s, m, "http://www.w3.org/2000/xmlns/", "p",
                             "urn:x", &err),
            LX_ERR_INVALID);
  CHECK_INT(lx_elem_set_attr(s, m, LX_NS_XML, "space", "preserve", &err), 0);
  CHECK_INT(lx_elem_set_attr(s, m, NULL, "to", NULL, &err), LX_ERR_INVALID);
  CHECK_INT(lx_elem_add_text(s, m, NULL, 1, &err), LX_ERR_INVALID);
  lx_stanza_free(s);
  lx_stanza_free(NULL);
}

TEST(serializer_escapes_and_round_trips) {
  lx_stanza *s;
  lx_elem *body, *x;
  CHECK_INT(lx_stanza_new(&s, LX_NS_CLIENT, "message", NULL), 0);
  lx_elem *m = lx_stanza_root(s);
  CHECK_INT(lx_elem_set_attr(s, m, NULL, "to", "a'b\"c<d>e&f\tg\nh\ri", NULL),
            0);
  CHECK_INT(lx_elem_set_attr(s, m, NULL, "to", "juliet@example.com", NULL), 0);
  CHECK_INT(lx_elem_set_attr(s, m, NULL, "v", "1\t2\n3\r4 '\"<>&", NULL), 0);
  CHECK_INT(lx_elem_set_attr(s, m, LX_NS_XML, "lang", "en", NULL), 0);
  CHECK_INT(lx_elem_add_child(s, m, NULL, "body", &body, NULL), 0);
  static const char text[] = "a\r\nb <&> 'q' \"d\"";
  CHECK_INT(lx_elem_add_text(s, body, text, strlen(text), NULL), 0);
  CHECK_INT(lx_elem_add_child(s, m, "urn:x", "x", &x, NULL), 0);
  CHECK_INT(lx_elem_set_attr(s, x, "urn:a", "k", "1", NULL), 0);
  CHECK_INT(lx_elem_set_attr(s, x, "urn:b", "k", "2", NULL), 0);
  CHECK_INT(lx_elem_add_child(s, x, "urn:x", "y", NULL, NULL), 0);
  CHECK_INT(lx_elem_add_child(s, x, LX_NS_CLIENT, "z", NULL, NULL), 0);
  CHECK_INT(lx_elem_add_child(s, x, "", "none", NULL, NULL), 0);
  char *xml, *again_xml;
  size_t len;
  CHECK_INT(lx_serialize(m, LX_NS_CLIENT, 0, &xml, &len), 0);
  CHECK_STR(xml, "<message to='juliet@example.com' "
                 "v='1&#9;2&#10;3&#13;4 &apos;&quot;&lt;&gt;&amp;' "
                 "xml:lang='en'><body>a&#13;\nb &lt;&amp;&gt; 'q' \"d\"</body>"
                 "<x xmlns='urn:x' xmlns:ns1='urn:a' ns1:k='1' "
                 "xmlns:ns2='urn:b' ns2:k='2'><y/><z xmlns='jabber:client'/>"
                 "<none xmlns=''/></x></message>");
  CHECK_INT(len, strlen(xml));
  /* parsing the output gives back every value exactly */
  CHECK_INT(lx_serialize(m, NULL, 0, &again_xml, &len), 0);
  lx_stanza *back;
  lx_error err;
  CHECK_INT(lx_parse_document(&back, again_xml, len, NULL, &err), 0);
  lx_elem *r = lx_stanza_root(back);
  CHECK_STR(lx_elem_ns(r), LX_NS_CLIENT);
  CHECK_STR(lx_elem_attr(r, NULL, "v"), "1\t2\n3\r4 '\"<>&");
  CHECK_STR(lx_elem_text(back, lx_elem_child(r, NULL, "body"), NULL), text);
  CHECK_STR(lx_elem_attr(lx_elem_child(r, "urn:x", "x"), "urn:b", "k"), "2");
  char *again;
  CHECK_INT(lx_serialize(r, NULL, 0, &again, NULL), 0);
  CHECK_STR(again, again_xml);
  free(again);
  free(again_xml);
  free(xml);
  lx_stanza_free(back);
  /* without a namespace in scope the root declares its own */
  CHECK_INT(lx_serialize(body, NULL, 0, &xml, NULL), 0);
  CHECK_STR(xml, "<body xmlns='jabber:client'>a&#13;\nb &lt;&amp;&gt; 'q' "
                 "\"d\"</body>");
  free(xml);
  lx_stanza_free(s);
}

TEST(serializer_stream_header_and_prefix) {
  lx_stanza *h, *f;
  lx_elem *starttls;
  CHECK_INT(lx_stanza_new(&h, LX_NS_STREAMS, "stream", NULL), 0);
  lx_elem *r = lx_stanza_root(h);
  lx_elem_set_attr(h, r, NULL, "from", "im.example.com", NULL);
  lx_elem_set_attr(h, r, NULL, "version", "1.0", NULL);
  lx_elem_set_attr(h, r, LX_NS_XML, "lang", "en", NULL);
  char *xml;
  CHECK_INT(lx_serialize_header(r, LX_NS_CLIENT, &xml, NULL), 0);
  CHECK_STR(xml, "<stream:stream xmlns='jabber:client' "
                 "xmlns:stream='http://etherx.jabber.org/streams' "
                 "from='im.example.com' version='1.0' xml:lang='en'>");
  free(xml);
  CHECK_INT(lx_stanza_new(&f, LX_NS_STREAMS, "features", NULL), 0);
  CHECK_INT(lx_elem_add_child(f, lx_stanza_root(f),
                              "urn:ietf:params:xml:ns:xmpp-tls", "starttls",
                              &starttls, NULL),
            0);
  CHECK_INT(lx_elem_add_child(f, starttls, NULL, "required", NULL, NULL), 0);
  CHECK_INT(lx_serialize(lx_stanza_root(f), LX_NS_CLIENT,
                         LX_SERIALIZE_STREAM_PREFIX, &xml, NULL),
            0);
  CHECK_STR(xml, "<stream:features><starttls "
                 "xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
                 "</starttls></stream:features>");
  free(xml);
  CHECK_INT(lx_serialize(lx_stanza_root(f), LX_NS_CLIENT, 0, &xml, NULL), 0);
  CHECK_STR(xml, "<features xmlns='http://etherx.jabber.org/streams'><starttls "
                 "xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
                 "</starttls></features>");
  free(xml);
  lx_stanza_free(h);
  lx_stanza_free(f);
}

TEST(deep_trees_do_not_recurse) {
  /* 200,000 levels built, serialized and freed without recursion */
  lx_stanza *s;
  CHECK_INT(lx_stanza_new(&s, NULL, "a", NULL), 0);
  lx_elem *e = lx_stanza_root(s);
  for (int i = 0; i < 200000; i++)
    CHECK(lx_elem_add_child(s, e, NULL, "a", &e, NULL) == 0 || i < 0);
  char *xml;
  size_t len;
  CHECK_INT(lx_serialize(lx_stanza_root(s), NULL, 0, &xml, &len), 0);
  CHECK_INT(len, 200000 * 7 + 4);
  free(xml);
  lx_stanza_free(s);
}

TEST(documents) {
  lx_stanza *s;
  lx_error err;
  CHECK_INT(lx_parse_document(&s, "<a xmlns='u'><b/>t</a>", 22, NULL, &err), 0);
  CHECK_STR(lx_elem_ns(lx_stanza_root(s)), "u");
  lx_stanza_free(s);
  CHECK_INT(lx_parse_document(&s, "<a><b></a>", 10, NULL, &err),
            LX_ERR_NOT_WELL_FORMED);
  CHECK_INT(lx_parse_document(&s, "<a>", 3, NULL, &err),
            LX_ERR_NOT_WELL_FORMED);
  CHECK_INT(lx_parse_document(&s, "", 0, NULL, &err), LX_ERR_NOT_WELL_FORMED);
  CHECK_INT(lx_parse_document(&s, "<a/><b/>", 8, NULL, &err),
            LX_ERR_NOT_WELL_FORMED);
  CHECK_INT(lx_parse_document(&s, "<a><!--c--></a>", 15, NULL, &err),
            LX_ERR_RESTRICTED_XML);
  CHECK_STR(err.detail, "comments are not allowed");
}

/* Trim: expat released between top-level elements, rebuilt at the next
 * input in the same state. */
TEST(trim_between_elements) {
  lx_parser *p;
  CHECK_INT(lx_parser_new(&p, NULL), 0);
  CHECK_INT(lx_parser_trim(p), 1); /* before the header too */
  lx_parser_feed(p, HEADER, 9);
  CHECK_INT(lx_parser_trim(p), 1); /* its first bytes are replayed */
  lx_parser_feed(p, HEADER + 9, strlen(HEADER) - 9);
  size_t before = lx_parser_memory(p);
  CHECK_INT(lx_parser_trim(p), 1);
  CHECK(lx_parser_memory(p) < before / 2);
  CHECK_INT(lx_parser_trim(p), 0); /* already */
  lx_parser_feed(p, "<message><body>par", 18);
  CHECK_INT(lx_parser_trim(p), 0); /* inside an element */
  lx_parser_feed(p, "t</body></message>\n ", 20);
  CHECK_INT(lx_parser_trim(p), 1);
  lx_parser_feed(p, "<message to='a", 14);
  CHECK_INT(lx_parser_trim(p), 0); /* inside a tag */
  lx_parser_feed(p, "'/>", 3);
  transcript *t = malloc(sizeof *t);
  t->len = 0;
  drain(p, t, LX_NS_CLIENT);
  CHECK(strstr(t->text, "stanza:<message xml:lang='en'><body>part</body>"
                        "</message>\nstanza:<message to='a' "
                        "xml:lang='en'/>\n") != NULL);
  free(t);
  lx_parser_free(p);
}

/* A stream fed in pieces with its expat released after each, or renewed
 * after every stanza, gives the same events as one fed whole. */
TEST(trimmed_and_renewed_streams_give_the_same_events) {
  transcript *whole = malloc(sizeof *whole), *t = malloc(sizeof *t);
  feed_all(NULL, sample, sizeof sample - 1, 0, whole);
  lx_parser *p;
  lx_parser_opts o;
  lx_parser_opts_init(&o);
  o.max_parser_memory = 16384; /* renewed after every stanza */
  for (int renewing = 0; renewing < 2; renewing++) {
    CHECK_INT(lx_parser_new(&p, renewing ? &o : NULL), 0);
    t->len = 0;
    for (size_t at = 0; at < sizeof sample - 1; at += 5) {
      size_t n = sizeof sample - 1 - at < 5 ? sizeof sample - 1 - at : 5;
      CHECK_INT(lx_parser_feed(p, sample + at, n), (long)n);
      drain(p, t, LX_NS_CLIENT);
      if (!renewing)
        lx_parser_trim(p);
    }
    CHECK_STR(t->text, whole->text);
    lx_parser_free(p);
  }
  free(whole);
  free(t);
}

/* expat keeps every name a stream uses: a peer inventing names must not
 * grow the parser without end. */
TEST(new_names_do_not_grow_the_parser) {
  lx_parser *p;
  lx_parse_event ev;
  CHECK_INT(lx_parser_new(&p, NULL), 0);
  CHECK_INT(lx_parser_feed(p, HEADER, strlen(HEADER)), (long)strlen(HEADER));
  long stanzas = 0;
  size_t most = 0;
  for (int i = 0; i < 20000; i++) {
    char s[96];
    int n =
        snprintf(s, sizeof s,
                 "<message a%d='v'><x%d xmlns='urn:%d'/></message>", i, i, i);
    CHECK_INT(lx_parser_feed(p, s, (size_t)n), n);
    while (lx_parser_next(p, &ev)) {
      stanzas += ev.type == LX_PARSE_STANZA;
      lx_parser_recycle(p, ev.stanza);
    }
    if (lx_parser_memory(p) > most)
      most = lx_parser_memory(p);
  }
  CHECK_INT(stanzas, 20000);
  CHECK(most < 200000); /* without renewal: over 5 MB */
  lx_parser_free(p);
}

TEST(expat_memory_is_bounded_within_a_stanza) {
  lx_parser *p;
  lx_parser_opts o;
  lx_parser_opts_init(&o);
  o.max_parser_memory = 65536;
  CHECK_INT(lx_parser_new(&p, &o), 0);
  lx_parser_feed(p, HEADER, strlen(HEADER));
  char *s = malloc(64000), *at = s;
  at += sprintf(at, "<message>");
  for (int i = 0; i < 3000; i++)
    at += sprintf(at, "<n%d/>", i);
  ssize_t rc = lx_parser_feed(p, s, (size_t)(at - s));
  CHECK_INT(rc, LX_ERR_POLICY_VIOLATION);
  CHECK_STR(lx_parser_error(p)->detail,
            "limit exceeded: max_parser_memory 65536");
  free(s);
  lx_parser_free(p);
}

int main(void) {
  RUN(events_in_order);
  RUN(chunking_never_changes_the_result);
  RUN(tree_accessors);
  RUN(restricted_xml);
  RUN(billion_laughs_is_refused_before_expansion);
  RUN(encodings);
  RUN(not_well_formed);
  RUN(namespaces);
  RUN(stanza_size_limit_is_exact_and_checked_while_parsing);
  RUN(structure_limits);
  RUN(adversarial_inputs_are_handled);
  RUN(stop_after_proceed_leaves_tls_bytes_unparsed);
  RUN(pipelined_stream_after_success_is_reparsed_after_reset);
  RUN(stop_after_several_then_resume);
  RUN(errors_are_sticky_and_keep_earlier_events);
  RUN(lang_is_stamped_from_the_header);
  RUN(builders_validate);
  RUN(serializer_escapes_and_round_trips);
  RUN(serializer_stream_header_and_prefix);
  RUN(deep_trees_do_not_recurse);
  RUN(documents);
  RUN(trim_between_elements);
  RUN(trimmed_and_renewed_streams_give_the_same_events);
  RUN(new_names_do_not_grow_the_parser);
  RUN(expat_memory_is_bounded_within_a_stanza);
  return check_summary();
}

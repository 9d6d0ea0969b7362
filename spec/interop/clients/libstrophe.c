/* The client matrix's libstrophe driver (Debian libstrophe-dev), built by
 * spec/interop/clients_spec.lua with `cc libstrophe.c $(pkg-config --cflags
 * --libs libstrophe)`.
 *
 *   libstrophe HOST PORT DOMAIN CAFILE USER_A PASS_A USER_B PASS_B
 *
 * TLS is mandatory (XMPP_CONN_FLAG_MANDATORY_TLS) and the certificate is
 * verified against CAFILE for the JID's domain. The steps of
 * spec/interop/clients_spec.lua, one line each:
 *   step NAME ok|fail DETAIL      info KEY VALUE
 * libstrophe's own debug log goes to stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <strophe.h>

#define TIMEOUT 20

static const char *host, *domain, *cafile;
static unsigned short port;
static xmpp_ctx_t *ctx;

struct account {
  const char *label;
  xmpp_conn_t *conn;
  char jid[512];
  int status; /* 0 connecting, 1 connected, -1 failed or disconnected */
  char error[256];
  /* every message and presence that arrived, one per line: "body|from" and
   * "type|from" */
  char messages[8192], presences[8192];
};

static void step(const char *name, const char *label, int ok,
                 const char *detail) {
  printf("step %s%s%s %s %s\n", name, label ? ":" : "", label ? label : "",
         ok ? "ok" : "fail", detail ? detail : "");
  fflush(stdout);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs the event loop until *flag is non-zero or the timeout passes. */
static int run_until(volatile int *flag) {
  double deadline = now() + TIMEOUT;
  while (!*flag && now() < deadline)
    xmpp_run_once(ctx, 50);
  return *flag;
}

static void on_connection(xmpp_conn_t *conn, xmpp_conn_event_t event,
                          int error, xmpp_stream_error_t *stream_error,
                          void *data) {
  struct account *a = data;
  (void)conn;
  if (event == XMPP_CONN_CONNECT) {
    a->status = 1;
  } else {
    a->status = -1;
    snprintf(a->error, sizeof a->error, "event %d error %d%s%s", (int)event,
             error, stream_error && stream_error->text ? " " : "",
             stream_error && stream_error->text ? stream_error->text : "");
  }
}

static void append(char *log, size_t size, const char *what,
                   const char *from) {
  size_t used = strlen(log);
  snprintf(log + used, size - used, "%s|%s\n", what, from ? from : "");
}

/* The line of the log that starts with "what|" and whose sender's bare JID
 * is from_bare (any sender when NULL), copied into line. */
static int find(const char *log, const char *what, const char *from_bare,
                char *line, size_t size) {
  size_t n = strlen(what);
  for (const char *p = log; *p; p = strchr(p, '\n') + 1) {
    const char *end = strchr(p, '\n');
    if (strncmp(p, what, n) == 0 && p[n] == '|') {
      const char *from = p + n + 1;
      size_t len = strcspn(from, "/\n");
      if (!from_bare ||
          (strlen(from_bare) == len && strncmp(from, from_bare, len) == 0)) {
        snprintf(line, size, "%.*s", (int)(end - p), p);
        return 1;
      }
    }
  }
  return 0;
}

static int on_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data) {
  struct account *a = data;
  char *body = xmpp_message_get_body(st);
  const char *from = xmpp_stanza_get_from(st);
  (void)conn;
  append(a->messages, sizeof a->messages, body ? body : "", from);
  if (body)
    xmpp_free(ctx, body);
  return 1;
}

static int on_presence(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data) {
  struct account *a = data;
  const char *type = xmpp_stanza_get_type(st);
  const char *from = xmpp_stanza_get_from(st);
  (void)conn;
  append(a->presences, sizeof a->presences, type ? type : "available", from);
  return 1;
}

static int login(struct account *a, const char *user, const char *pass) {
  char detail[600];
  a->conn = xmpp_conn_new(ctx);
  snprintf(a->jid, sizeof a->jid, "%s@%s/matrix-%s", user, domain, a->label);
  xmpp_conn_set_jid(a->conn, a->jid);
  xmpp_conn_set_pass(a->conn, pass);
  xmpp_conn_set_flags(a->conn, XMPP_CONN_FLAG_MANDATORY_TLS);
  xmpp_conn_set_cafile(a->conn, cafile);
  xmpp_handler_add(a->conn, on_message, NULL, "message", NULL, a);
  xmpp_handler_add(a->conn, on_presence, NULL, "presence", NULL, a);
  if (xmpp_connect_client(a->conn, host, port, on_connection, a) != XMPP_EOK) {
    step("tls", a->label, 0, "xmpp_connect_client failed");
    return 0;
  }
  while (a->status == 0)
    xmpp_run_once(ctx, 50);
  /* libstrophe reports only the end: connected means TLS, SASL and bind */
  step("tls", a->label, xmpp_conn_is_secured(a->conn),
       a->status == 1 ? "secured" : a->error);
  step("auth", a->label, a->status == 1, a->status == 1 ? "" : a->error);
  snprintf(detail, sizeof detail, "%s",
           a->status == 1 ? xmpp_conn_get_bound_jid(a->conn) : a->error);
  step("bind", a->label, a->status == 1, detail);
  if (a->status != 1)
    return 0;
  snprintf(a->jid, sizeof a->jid, "%s", xmpp_conn_get_bound_jid(a->conn));
  /* available, so that messages to the bare JID reach it */
  xmpp_send_raw_string(a->conn, "<presence/>");
  return 1;
}

static void send_string(struct account *a, const char *xml) {
  xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);
  xmpp_send(a->conn, st);
  xmpp_stanza_release(st);
}

static void bare(char *out, size_t size, const char *jid) {
  snprintf(out, size, "%s", jid);
  char *slash = strchr(out, '/');
  if (slash)
    *slash = '\0';
}

/* An iq request and its answer. */
struct request {
  int done;
  char result[4096];
  const char *child; /* which children to list: "item" or "feature" */
};

static int on_answer(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data) {
  struct request *r = data;
  (void)conn;
  if (strcmp(xmpp_stanza_get_type(st), "error") == 0) {
    xmpp_stanza_t *error = xmpp_stanza_get_child_by_name(st, "error");
    xmpp_stanza_t *cond = error ? xmpp_stanza_get_children(error) : NULL;
    snprintf(r->result, sizeof r->result, "!error %s",
             cond ? xmpp_stanza_get_name(cond) : "?");
  } else {
    xmpp_stanza_t *query = xmpp_stanza_get_children(st);
    size_t used = 0;
    r->result[0] = '\0';
    for (xmpp_stanza_t *c = query ? xmpp_stanza_get_children(query) : NULL; c;
         c = xmpp_stanza_get_next(c)) {
      const char *name = xmpp_stanza_get_name(c);
      if (!name || !r->child || strcmp(name, r->child) != 0)
        continue;
      if (strcmp(name, "item") == 0) {
        const char *sub = xmpp_stanza_get_attribute(c, "subscription");
        used += (size_t)snprintf(r->result + used, sizeof r->result - used,
                                 "%s%s=%s", used ? " " : "",
                                 xmpp_stanza_get_attribute(c, "jid"),
                                 sub ? sub : "none");
      } else {
        used += (size_t)snprintf(r->result + used, sizeof r->result - used,
                                 "%s%s", used ? " " : "",
                                 xmpp_stanza_get_attribute(c, "var"));
      }
      if (used >= sizeof r->result)
        break;
    }
  }
  r->done = 1;
  return 0;
}

static void request(struct account *a, const char *name, const char *id,
                    const char *xml, const char *child) {
  struct request r = {0, "", child};
  xmpp_id_handler_add(a->conn, on_answer, id, &r);
  send_string(a, xml);
  if (!run_until(&r.done)) {
    xmpp_id_handler_delete(a->conn, on_answer, id);
    step(name, NULL, 0, "no answer");
  } else {
    step(name, NULL, r.result[0] != '!', r.result[0] == '!' ? r.result + 1 : r.result);
  }
}

/* Waits for a line of the log that find() finds. */
static int arrived(const char *log, const char *what, const char *from_bare,
                   char *line, size_t size) {
  double deadline = now() + TIMEOUT;
  while (now() < deadline) {
    if (find(log, what, from_bare, line, size))
      return 1;
    xmpp_run_once(ctx, 50);
  }
  return 0;
}

static void close_stream(struct account *a) {
  a->status = 0;
  xmpp_disconnect(a->conn); /* </stream:stream>, then waits for the server's */
  double deadline = now() + TIMEOUT;
  while (a->status == 0 && now() < deadline)
    xmpp_run_once(ctx, 50);
  step("close", a->label, a->status == -1, a->status == -1 ? a->error : "no end");
}

int main(int argc, char **argv) {
  struct account a = {.label = "a"}, b = {.label = "b"};
  char xml[2048], a_bare[512], b_bare[512], detail[1200];
  if (argc != 9) {
    fprintf(stderr, "usage: %s HOST PORT DOMAIN CAFILE USER_A PASS_A USER_B "
                    "PASS_B\n", argv[0]);
    return 2;
  }
  host = argv[1];
  port = (unsigned short)atoi(argv[2]);
  domain = argv[3];
  cafile = argv[4];
  xmpp_initialize();
  ctx = xmpp_ctx_new(NULL, xmpp_get_default_logger(XMPP_LEVEL_DEBUG));
  if (!login(&a, argv[5], argv[6]) || !login(&b, argv[7], argv[8]))
    return 1;
  bare(a_bare, sizeof a_bare, a.jid);
  bare(b_bare, sizeof b_bare, b.jid);

  const char *cases[2][2] = {{"message-full", a.jid}, {"message-bare", a_bare}};
  for (int i = 0; i < 2; i++) {
    char line[1024], want[600];
    snprintf(xml, sizeof xml,
             "<message to='%s' type='chat'><body>%s</body></message>",
             cases[i][1], cases[i][0]);
    send_string(&b, xml);
    int ok = arrived(a.messages, cases[i][0], NULL, line, sizeof line);
    snprintf(want, sizeof want, "%s|%s", cases[i][0], b.jid);
    step(cases[i][0], NULL, ok && strcmp(line, want) == 0,
         ok ? line : "nothing arrived");
  }

  char line[1024];
  snprintf(xml, sizeof xml, "<presence to='%s' type='subscribe'/>", b_bare);
  send_string(&a, xml);
  if (arrived(b.presences, "subscribe", a_bare, line, sizeof line)) {
    snprintf(xml, sizeof xml, "<presence to='%s' type='subscribed'/>", a_bare);
    send_string(&b, xml);
    /* RFC 6121 3.1.5/3.1.6: a 'subscribed', or B's presence now that A may
     * see it */
    double deadline = now() + TIMEOUT;
    int ok = 0;
    while (!ok && now() < deadline) {
      ok = find(a.presences, "subscribed", b_bare, line, sizeof line) ||
           find(a.presences, "available", b_bare, line, sizeof line);
      xmpp_run_once(ctx, 50);
    }
    snprintf(detail, sizeof detail, "request from %.500s, answer %.600s", a_bare,
             ok ? line : "none");
    step("subscribe", NULL, ok, detail);
  } else {
    snprintf(detail, sizeof detail, "B got %.1000s", b.presences);
    step("subscribe", NULL, 0, detail);
  }

  request(&a, "roster", "matrix1",
          "<iq type='get' id='matrix1'><query xmlns='jabber:iq:roster'/></iq>",
          "item");
  snprintf(xml, sizeof xml,
           "<iq type='get' id='matrix2' to='%s'><query "
           "xmlns='http://jabber.org/protocol/disco#info'/></iq>",
           domain);
  request(&a, "disco", "matrix2", xml, "feature");
  snprintf(xml, sizeof xml,
           "<iq type='get' id='matrix3' to='%s'><ping "
           "xmlns='urn:xmpp:ping'/></iq>",
           domain);
  request(&a, "ping", "matrix3", xml, NULL);

  close_stream(&a);
  close_stream(&b);
  xmpp_conn_release(a.conn);
  xmpp_conn_release(b.conn);
  xmpp_ctx_free(ctx);
  xmpp_shutdown();
  return 0;
}

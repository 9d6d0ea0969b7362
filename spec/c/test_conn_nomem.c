/* test_conn_nomem.c: the connection when memory runs out, one allocation
 * at a time. This program replaces malloc (glibc allows it, "Replacing
 * malloc") so that the n-th allocation fails, whoever makes it: lxmpp,
 * expat, libidn2. Not under AddressSanitizer, which replaces it itself. */
#include "check.h"
#include "lxmpp.h"

#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
int main(void) {
  puts("skipped under AddressSanitizer: it replaces malloc, which this test "
       "must");
  return check_summary(); /* 0 checks; keeps -Werror=unused-function quiet */
}
#else
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

/* Allocations to let through before the one that fails (-1: none fails). */
static long countdown = -1;

static int fail_now(void) { return countdown >= 0 && countdown-- == 0; }

void *malloc(size_t n) { return fail_now() ? NULL : __libc_malloc(n); }
void *calloc(size_t n, size_t size) {
  return fail_now() ? NULL : __libc_calloc(n, size);
}
void *realloc(void *p, size_t n) {
  return fail_now() ? NULL : __libc_realloc(p, n);
}
void free(void *p) { __libc_free(p); }

static const char *const domains[] = {"im.example.com", "example.net"};

/* With its valid options, lx_conn_new fails only with LX_ERR_NOMEM whichever
 * allocation fails (it once said LX_ERR_INVALID for a domain or the
 * features when libidn2 or the parser ran out), and works once none does. */
static void new_with_each_allocation_failing(lx_conn_role role) {
  lx_conn_opts o;
  lx_conn_opts_init(&o);
  o.tls = LX_CONN_TLS_DISABLED;
  o.jid = "juliet@im.example.com/balcony";
  o.domains = domains;
  o.n_domains = 2;
  o.features = "<sm xmlns='urn:xmpp:sm:3'/>";
  long n;
  for (n = 0; n < 100000; n++) {
    lx_conn *c = NULL;
    lx_error err = {0};
    countdown = n;
    int rc = lx_conn_new(&c, role, &o, &err);
    int failed = countdown < 0; /* the n-th allocation was made, and failed */
    countdown = -1;
    if (rc == 0)
      lx_conn_free(c);
    if (!failed) {
      CHECK_INT(rc, 0);
      break;
    }
    if (rc != 0 && rc != LX_ERR_NOMEM)
      fprintf(stderr, "  allocation %ld failing: %s (%s)\n", n, lx_strerror(rc),
              err.detail);
    CHECK(rc == 0 || rc == LX_ERR_NOMEM);
  }
  CHECK(n > 10 && n < 100000); /* every allocation was tried */
}

TEST(conn_new_out_of_memory) {
  new_with_each_allocation_failing(LX_CONN_CLIENT);
  new_with_each_allocation_failing(LX_CONN_SERVER);
}

/* Out of memory while taking bytes is sticky, as lx_error_is_fatal says. */
TEST(recv_out_of_memory_is_sticky) {
  lx_conn_opts o;
  lx_conn *c = NULL;
  lx_conn_opts_init(&o);
  o.tls = LX_CONN_TLS_DISABLED;
  o.domains = domains;
  o.n_domains = 1;
  CHECK_INT(lx_conn_new(&c, LX_CONN_SERVER, &o, NULL), 0);
  CHECK_INT(lx_conn_start(c), 0);
  countdown = 0;
  CHECK_INT(lx_conn_recv(c, "<?xml", 5), LX_ERR_NOMEM);
  countdown = -1;
  CHECK_INT(lx_conn_get_state(c), LX_CONN_STATE_FAILED);
  CHECK_INT(lx_conn_recv(c, "<?xml", 5), LX_ERR_NOMEM);
  lx_conn_event ev;
  CHECK_INT(lx_conn_next_event(c, &ev), 1);
  CHECK_INT(ev.type, LX_CONN_CLOSED);
  CHECK_INT(ev.code, LX_ERR_NOMEM);
  lx_conn_free(c);
}

int main(void) {
  RUN(conn_new_out_of_memory);
  RUN(recv_out_of_memory_is_sticky);
  return check_summary();
}
#endif

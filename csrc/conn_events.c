/* conn_events.c: the connection's queue of events, taken in order by
 * lx_conn_next_event(), which makes them as they are pulled; the data of
 * the last one taken lives until the next call. */
#include "conn_internal.h"

#include <string.h>

lx_conn_event *conn_push_event(lx_conn *c, lx_conn_event_type type) {
  event_queue *q = &c->events;
  if (q->head == q->len)
    q->head = q->len = 0;
  if (q->len == q->cap) {
    size_t cap = q->cap ? q->cap * 2 : 8;
    lx_conn_event *items = realloc(q->items, cap * sizeof *items);
    if (!items)
      return NULL;
    q->items = items;
    q->cap = cap;
  }
  lx_conn_event *ev = &q->items[q->len++];
  memset(ev, 0, sizeof *ev);
  ev->type = type;
  return ev;
}

size_t conn_queued(const lx_conn *c) { return c->events.len - c->events.head; }

/* SCRAM keys copied into one allocation, wiped when freed. */
typedef struct keys_copy {
  lx_scram_keys k; /* first: a pointer to it is a pointer to the copy */
  size_t size;
  unsigned char bytes[];
} keys_copy;

const lx_scram_keys *conn_copy_keys(const lx_scram_keys *k) {
  size_t hl = lx_sasl_hash_size(k->hash);
  size_t size = sizeof(keys_copy) + k->salt_len + 2 * hl;
  keys_copy *d = malloc(size);
  if (!d)
    return NULL;
  d->size = size;
  d->k = *k;
  d->k.salt = memcpy(d->bytes, k->salt, k->salt_len);
  d->k.client_key = memcpy(d->bytes + k->salt_len, k->client_key, hl);
  d->k.server_key = memcpy(d->bytes + k->salt_len + hl, k->server_key, hl);
  d->k.stored_key = NULL;
  return &d->k;
}

void conn_free_keys(const lx_scram_keys *k) {
  if (k)
    free_secret((void *)k, ((const keys_copy *)(const void *)k)->size);
}

static void free_event(lx_conn_event *ev) {
  lx_stanza_free(ev->stanza);
  free((char *)ev->data);
  conn_free_keys(ev->keys);
}

int lx_conn_next_event(lx_conn *c, lx_conn_event *ev) {
  event_queue *q = &c->events;
  free(c->last_data);
  c->last_data = NULL;
  conn_free_keys(c->last_keys);
  c->last_keys = NULL;
  /* the work happens as events are pulled (conn_io.c) */
  while (q->head == q->len && !c->closed_pending && conn_step(c))
    ;
  if (q->head < q->len) {
    *ev = q->items[q->head++];
    c->last_data = (char *)ev->data;
    c->last_keys = ev->keys;
    if (q->head == q->len) { /* drained: give the memory back */
      free(q->items);
      memset(q, 0, sizeof *q);
    }
    return 1;
  }
  if (c->closed_pending) { /* always last, and never lost to NOMEM */
    c->closed_pending = 0;
    memset(ev, 0, sizeof *ev);
    ev->type = LX_CONN_CLOSED;
    ev->code = c->phase == PH_FAILED ? c->error.code : 0;
    return 1;
  }
  memset(ev, 0, sizeof *ev);
  ev->type = conn_paused(c) ? LX_CONN_PAUSED : LX_CONN_NEED_DATA;
  return 0;
}

void conn_free_events(lx_conn *c) {
  for (size_t i = c->events.head; i < c->events.len; i++)
    free_event(&c->events.items[i]);
  free(c->events.items);
  memset(&c->events, 0, sizeof c->events);
  free(c->last_data);
  c->last_data = NULL;
  conn_free_keys(c->last_keys);
  c->last_keys = NULL;
}

/* arena.c: a bump allocator freed all at once. */
#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct arena_chunk {
  arena_chunk *next;
  size_t size;
  alignas(max_align_t) char data[];
};

/* A typical stanza's tree fits the first chunk. */
enum { FIRST_CHUNK = 4096, ALIGN = alignof(max_align_t) };

static void *alloc_slow(arena *a, size_t n) {
  size_t size = a->chunks ? a->chunks->size * 2 : FIRST_CHUNK;
  while (size < n)
    size *= 2;
  if (size > SIZE_MAX - sizeof(arena_chunk))
    return NULL;
  arena_chunk *c = malloc(sizeof(arena_chunk) + size);
  if (!c)
    return NULL;
  c->next = a->chunks;
  c->size = size;
  a->chunks = c;
  a->total += sizeof(arena_chunk) + size;
  a->ptr = c->data + n;
  a->end = c->data + size;
  return c->data;
}

static void *bump(arena *a, size_t n, size_t align) {
  uintptr_t p = ((uintptr_t)a->ptr + align - 1) & ~(uintptr_t)(align - 1);
  if (a->ptr && p <= (uintptr_t)a->end && n <= (uintptr_t)a->end - p) {
    a->ptr = (char *)p + n;
    return (void *)p;
  }
  return n > SIZE_MAX / 4 ? NULL : alloc_slow(a, n);
}

void *arena_alloc(arena *a, size_t n) { return bump(a, n, ALIGN); }

char *arena_strndup(arena *a, const char *s, size_t len) {
  char *p = len < SIZE_MAX ? bump(a, len + 1, 1) : NULL;
  if (p) {
    if (len)
      memcpy(p, s, len);
    p[len] = '\0';
  }
  return p;
}

void arena_rewind(arena *a, size_t keep) {
  arena_chunk *first = a->chunks;
  while (first && first->next) {
    arena_chunk *older = first->next;
    free(first);
    first = older;
  }
  a->chunks = first;
  if (first) {
    keep = (keep + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    a->ptr = first->data + keep;
    a->end = first->data + first->size;
    a->total = sizeof(arena_chunk) + first->size;
  }
}

void arena_free(arena *a) {
  arena_chunk *c = a->chunks;
  while (c) {
    arena_chunk *next = c->next;
    free(c);
    c = next;
  }
  *a = (arena)ARENA_INIT;
}

/* arena.h: a bump allocator whose allocations are all freed together
 * (internal). Chunk sizes double, so a tree of n bytes costs O(log n)
 * mallocs and frees. */
#ifndef LX_ARENA_H
#define LX_ARENA_H

#include <stddef.h>

typedef struct arena_chunk arena_chunk;

typedef struct arena {
  arena_chunk *chunks; /* newest first */
  char *ptr;           /* next free byte of the newest chunk */
  char *end;
  size_t total; /* bytes malloc()ed, headers included */
} arena;

/* An empty arena; the first allocation mallocs a chunk. */
#define ARENA_INIT                                                             \
  { NULL, NULL, NULL, 0 }

/* `n` bytes aligned for any object, or NULL when out of memory. */
void *arena_alloc(arena *a, size_t n);

/* A NUL-terminated copy of `len` bytes of `s`, or NULL. */
char *arena_strndup(arena *a, const char *s, size_t len);

/* Frees every chunk but the first, and makes the first one's bytes after
 * its first `keep` free again (to reuse an arena without malloc). */
void arena_rewind(arena *a, size_t keep);

/* Frees every chunk; the arena is empty and usable again. */
void arena_free(arena *a);

#endif

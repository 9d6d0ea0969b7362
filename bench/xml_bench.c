/* xml_bench.c: the C side of the XML benchmark, run by bench/xml_bench.lua.
 *   xml_bench expat FILE      bare expat, no handlers
 *   xml_bench expat-ns FILE   bare expat in namespace mode, no handlers
 *   xml_bench tree FILE       lxmpp's parser to C trees
 *   xml_bench serialize FILE  lxmpp's serializer over the parsed trees
 * Input is fed in 4 KiB pieces. Prints "<stanzas> <cpu seconds> <bytes>":
 * the best of three runs, in CPU time. */
#include "lxmpp.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { PIECE = 4096, RUNS = 3 };

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f || fseek(f, 0, SEEK_END) != 0)
    exit(1);
  long n = ftell(f);
  char *data = malloc((size_t)n);
  rewind(f);
  if (!data || fread(data, 1, (size_t)n, f) != (size_t)n)
    exit(1);
  fclose(f);
  *len = (size_t)n;
  return data;
}

static double now(void) { return (double)clock() / CLOCKS_PER_SEC; }

static long bare_expat(const char *data, size_t len, int ns) {
  XML_Parser p = ns ? XML_ParserCreateNS("UTF-8", '\1') : XML_ParserCreate(NULL);
  for (size_t at = 0; at < len; at += PIECE) {
    size_t n = len - at < PIECE ? len - at : PIECE;
    if (XML_Parse(p, data + at, (int)n, 0) != XML_STATUS_OK)
      exit(2);
  }
  XML_ParserFree(p);
  return 0;
}

static lx_parser_opts bench_opts(void) {
  lx_parser_opts o;
  lx_parser_opts_init(&o);
  return o;
}

/* Parses the stream; keeps the trees when `keep` is given. */
static long to_trees(const char *data, size_t len, lx_stanza **keep) {
  lx_parser_opts o = bench_opts();
  lx_parser *p;
  long count = 0;
  if (lx_parser_new(&p, &o))
    exit(3);
  for (size_t at = 0; at < len; at += PIECE) {
    size_t n = len - at < PIECE ? len - at : PIECE;
    if (lx_parser_feed(p, data + at, n) < 0) {
      fprintf(stderr, "%s\n", lx_parser_error(p)->detail);
      exit(4);
    }
    lx_parse_event ev;
    while (lx_parser_next(p, &ev)) {
      if (ev.type == LX_PARSE_STANZA) {
        if (keep)
          keep[count] = ev.stanza;
        else
          lx_stanza_free(ev.stanza);
        count++;
      } else {
        lx_stanza_free(ev.stanza);
      }
    }
  }
  lx_parser_free(p);
  return count;
}

int main(int argc, char **argv) {
  if (argc != 3)
    return 1;
  size_t len;
  char *data = slurp(argv[2], &len);
  const char *mode = argv[1];
  double best = 1e30;
  long count = 0;
  size_t bytes = len;
  if (strcmp(mode, "serialize") == 0) {
    lx_stanza **trees = malloc(sizeof *trees * (len / 16));
    count = to_trees(data, len, trees);
    for (int r = 0; r < RUNS; r++) {
      double t0 = now();
      bytes = 0;
      for (long i = 0; i < count; i++) {
        char *xml;
        size_t n;
        if (lx_serialize(lx_stanza_root(trees[i]), LX_NS_CLIENT, 0, &xml, &n))
          return 5;
        bytes += n;
        free(xml);
      }
      double t = now() - t0;
      best = t < best ? t : best;
    }
    for (long i = 0; i < count; i++)
      lx_stanza_free(trees[i]);
    free(trees);
  } else {
    for (int r = 0; r < RUNS; r++) {
      double t0 = now();
      if (strcmp(mode, "expat") == 0 || strcmp(mode, "expat-ns") == 0)
        count = bare_expat(data, len, mode[5] == '-');
      else if (strcmp(mode, "tree") == 0)
        count = to_trees(data, len, NULL);
      else
        return 1;
      double t = now() - t0;
      best = t < best ? t : best;
    }
  }
  printf("%ld %.6f %zu\n", count, best, bytes);
  free(data);
  return 0;
}

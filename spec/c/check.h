/* check.h: a minimal harness for the C unit tests. Each test file defines
 * TEST(name) functions and lists them in main() with RUN(name). */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures, check_count;

#define CHECK(cond)                                                            \
  do {                                                                         \
    check_count++;                                                             \
    if (!(cond)) {                                                             \
      check_failures++;                                                        \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

#define CHECK_INT(a, b)                                                        \
  do {                                                                         \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b);            \
    check_count++;                                                             \
    if (check_a_ != check_b_) {                                                \
      check_failures++;                                                        \
      fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__,          \
              __LINE__, #a, check_a_, check_b_);                               \
    }                                                                          \
  } while (0)

#define CHECK_STR(a, b)                                                        \
  do {                                                                         \
    const char *check_a_ = (a), *check_b_ = (b);                               \
    check_count++;                                                             \
    if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {           \
      check_failures++;                                                        \
      fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__,      \
              __LINE__, #a, check_a_ ? check_a_ : "(null)",                    \
              check_b_ ? check_b_ : "(null)");                                 \
    }                                                                          \
  } while (0)

#define TEST(name) static void name(void)
#define RUN(name)                                                              \
  do {                                                                         \
    int check_before_ = check_failures;                                        \
    name();                                                                    \
    printf("%s %s\n", check_failures == check_before_ ? "ok  " : "FAIL",       \
           #name);                                                             \
  } while (0)

static int check_summary(void) {
  printf("%d checks, %d failed\n", check_count, check_failures);
  return check_failures != 0;
}

#endif

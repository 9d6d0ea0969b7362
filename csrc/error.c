/* error.c: error names and details. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char unknown[] = "unknown-error";

const char *lx_strerror(int code) {
  switch (code) {
  case LX_OK: return "ok";
#define NAME_(code, value, name, condition)                                    \
  case code: return name;
    LX_ERRORS(NAME_)
#undef NAME_
  }
  return unknown;
}

const char *lx_error_condition(int code) {
  switch (code) {
#define CONDITION_(code, value, name, condition)                               \
  case code: return condition;
    LX_ERRORS(CONDITION_)
#undef CONDITION_
  }
  return NULL;
}

int error_family(int code) {
  if (code <= LX_ERR_BAD_FORMAT && code >= LX_ERR_UNSUPPORTED_VERSION)
    return LX_FAMILY_STREAM;
  if (code <= LX_ERR_SASL_ABORTED && code >= LX_ERR_SASL_DOWNGRADE)
    return LX_FAMILY_SASL;
  if (code <= LX_ERR_BIND_NOT_OFFERED && code >= LX_ERR_BIND_FAILED)
    return LX_FAMILY_BIND;
  return 0;
}

int lx_error_from_condition(lx_error_family family, const char *condition) {
  static const int codes[] = {
#define CODE_(code, value, name, condition) code,
      LX_ERRORS(CODE_)
#undef CODE_
  };
  for (size_t i = 0; condition && i < sizeof codes / sizeof codes[0]; i++) {
    const char *c = lx_error_condition(codes[i]);
    if (c && error_family(codes[i]) == (int)family && strcmp(c, condition) == 0)
      return codes[i];
  }
  return 0;
}

int lx_error_is_fatal(int code) {
  if (code == LX_ERR_INVALID || code == LX_ERR_STATE || code == LX_ERR_FULL)
    return 0;
  return code < 0 && lx_strerror(code) != unknown;
}

int error_set(lx_error *err, int code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof err->detail, fmt, ap);
    va_end(ap);
  }
  return code;
}

void error_clear(lx_error *err) {
  if (err) {
    err->code = 0;
    err->detail[0] = '\0';
  }
}

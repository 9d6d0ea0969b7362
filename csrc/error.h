/* error.h: filling lx_error (internal). */
#ifndef LX_ERROR_H
#define LX_ERROR_H

#include "lxmpp.h"

/* Sets err (when not NULL) to `code` with a printf-style detail and returns
 * `code`, so a failure path reads `return error_set(err, LX_ERR_..., ...)`. */
int error_set(lx_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Clears err (when not NULL). */
void error_clear(lx_error *err);

#endif

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

/* The lx_error_family of a code by its block of values (see lxmpp.h), or 0
 * for a code outside the three. */
int error_family(int code);

/* Clears err (when not NULL). */
void error_clear(lx_error *err);

#endif

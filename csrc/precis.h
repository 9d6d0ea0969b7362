/* precis.h: the PRECIS derived property, for the JID code and the tests
 * (internal). */
#ifndef LX_PRECIS_H
#define LX_PRECIS_H

#include "lxmpp.h"

#include <stdint.h>

/* The derived property values of RFC 8264 §8. PRECIS_FREE_PVAL is the value
 * the RFC writes "ID_DIS or FREE_PVAL": allowed in FreeformClass only. */
typedef enum precis_value {
  PRECIS_PVALID,
  PRECIS_FREE_PVAL,
  PRECIS_CONTEXTJ,
  PRECIS_CONTEXTO,
  PRECIS_DISALLOWED,
  PRECIS_UNASSIGNED
} precis_value;

/* The category of RFC 8264 §9 that decided the value (the first match in
 * the order of §8). */
typedef enum precis_category {
  PRECIS_CAT_EXCEPTIONS,
  PRECIS_CAT_UNASSIGNED,
  PRECIS_CAT_ASCII7,
  PRECIS_CAT_JOIN_CONTROL,
  PRECIS_CAT_OLD_HANGUL_JAMO,
  PRECIS_CAT_IGNORABLE,
  PRECIS_CAT_CONTROLS,
  PRECIS_CAT_HAS_COMPAT,
  PRECIS_CAT_LETTER_DIGITS,
  PRECIS_CAT_OTHER_LETTER_DIGITS,
  PRECIS_CAT_SPACES,
  PRECIS_CAT_SYMBOLS,
  PRECIS_CAT_PUNCTUATION,
  PRECIS_CAT_OTHER
} precis_category;

/* The derived property of code point `cp` (0 to 0x10FFFF); *cat (optional)
 * receives the category. */
precis_value precis_derived(uint32_t cp, precis_category *cat);

/* The names precis_i18n and the IANA tables use: "PVALID", "FREE_PVAL"...,
 * and "exceptions", "has_compat"... */
const char *precis_value_name(precis_value v);
const char *precis_category_name(precis_category c);

#endif

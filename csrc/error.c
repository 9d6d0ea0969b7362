/* error.c: error names and details. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

const char *lx_strerror(int code) {
  switch (code) {
  case LX_OK: return "ok";
  case LX_ERR_NOMEM: return "out-of-memory";
  case LX_ERR_INVALID: return "invalid-argument";
  case LX_ERR_STATE: return "invalid-state";
  case LX_ERR_FULL: return "queue-full";
  case LX_ERR_INTERNAL: return "internal-error";

  case LX_ERR_BAD_FORMAT: return "bad-format";
  case LX_ERR_BAD_NAMESPACE_PREFIX: return "bad-namespace-prefix";
  case LX_ERR_CONFLICT: return "conflict";
  case LX_ERR_CONNECTION_TIMEOUT: return "connection-timeout";
  case LX_ERR_HOST_GONE: return "host-gone";
  case LX_ERR_HOST_UNKNOWN: return "host-unknown";
  case LX_ERR_IMPROPER_ADDRESSING: return "improper-addressing";
  case LX_ERR_INTERNAL_SERVER_ERROR: return "internal-server-error";
  case LX_ERR_INVALID_FROM: return "invalid-from";
  case LX_ERR_INVALID_NAMESPACE: return "invalid-namespace";
  case LX_ERR_INVALID_XML: return "invalid-xml";
  case LX_ERR_NOT_AUTHORIZED: return "not-authorized";
  case LX_ERR_NOT_WELL_FORMED: return "not-well-formed";
  case LX_ERR_POLICY_VIOLATION: return "policy-violation";
  case LX_ERR_REMOTE_CONNECTION_FAILED: return "remote-connection-failed";
  case LX_ERR_RESET: return "reset";
  case LX_ERR_RESOURCE_CONSTRAINT: return "resource-constraint";
  case LX_ERR_RESTRICTED_XML: return "restricted-xml";
  case LX_ERR_SEE_OTHER_HOST: return "see-other-host";
  case LX_ERR_SYSTEM_SHUTDOWN: return "system-shutdown";
  case LX_ERR_UNDEFINED_CONDITION: return "undefined-condition";
  case LX_ERR_UNSUPPORTED_ENCODING: return "unsupported-encoding";
  case LX_ERR_UNSUPPORTED_FEATURE: return "unsupported-feature";
  case LX_ERR_UNSUPPORTED_STANZA_TYPE: return "unsupported-stanza-type";
  case LX_ERR_UNSUPPORTED_VERSION: return "unsupported-version";

  case LX_ERR_SASL_ABORTED: return "sasl-aborted";
  case LX_ERR_SASL_ACCOUNT_DISABLED: return "sasl-account-disabled";
  case LX_ERR_SASL_CREDENTIALS_EXPIRED: return "sasl-credentials-expired";
  case LX_ERR_SASL_ENCRYPTION_REQUIRED: return "sasl-encryption-required";
  case LX_ERR_SASL_INCORRECT_ENCODING: return "sasl-incorrect-encoding";
  case LX_ERR_SASL_INVALID_AUTHZID: return "sasl-invalid-authzid";
  case LX_ERR_SASL_INVALID_MECHANISM: return "sasl-invalid-mechanism";
  case LX_ERR_SASL_MALFORMED_REQUEST: return "sasl-malformed-request";
  case LX_ERR_SASL_MECHANISM_TOO_WEAK: return "sasl-mechanism-too-weak";
  case LX_ERR_SASL_NOT_AUTHORIZED: return "sasl-not-authorized";
  case LX_ERR_SASL_TEMPORARY_AUTH_FAILURE: return "sasl-temporary-auth-failure";
  case LX_ERR_SASL_SERVER_SIGNATURE: return "sasl-server-signature-invalid";
  case LX_ERR_SASL_DOWNGRADE: return "sasl-downgrade-detected";

  case LX_ERR_JID_MALFORMED: return "jid-malformed";

  case LX_ERR_TLS_HANDSHAKE: return "tls-handshake-failed";
  case LX_ERR_TLS_CERT_INVALID: return "tls-certificate-invalid";
  case LX_ERR_TLS_HOSTNAME_MISMATCH: return "tls-hostname-mismatch";
  case LX_ERR_TLS_PROTOCOL: return "tls-protocol-error";
  case LX_ERR_TLS_CLOSED: return "tls-closed";
  case LX_ERR_TLS_TRUNCATED: return "tls-truncated";
  case LX_ERR_TLS_CB_UNAVAILABLE:
    return "tls-channel-binding-unavailable";

    /* the connection */
  }
  return "unknown-error";
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

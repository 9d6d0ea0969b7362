-- The Prosody harness, end to end with slixmpp (what lxmpp's client tests
-- will rely on). Mechanisms as observed on Debian's prosody 0.12.3 with
-- internal_plain: the -PLUS variants use tls-unique, so Prosody offers
-- them only when TLS 1.2 was negotiated.
require "interop.suite"(_ENV, "Prosody", require "interop.prosody", {
	version = "^0%.12%.",
	mechanisms = { "SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN" },
	mechanisms_tls12 = { "SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS" },
})

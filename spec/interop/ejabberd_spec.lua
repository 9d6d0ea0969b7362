-- The ejabberd harness, end to end with slixmpp (what lxmpp's client tests
-- will rely on). Mechanisms as observed on Debian's ejabberd 23.01 with
-- internal auth and plain storage: it offers the -PLUS variants
-- (tls-unique) whatever the TLS version, TLS 1.3 included, where RFC 9266
-- says tls-unique is undefined.
local all = {
	"SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN",
	"SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-512-PLUS",
}
require "interop.suite"(_ENV, "ejabberd", require "interop.ejabberd", {
	version = "^23%.01",
	mechanisms = all,
	mechanisms_tls12 = all,
})

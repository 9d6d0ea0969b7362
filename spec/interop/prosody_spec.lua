-- Debian's Prosody 0.12, started once for this file: the harness end to
-- end with slixmpp, then lxmpp.client against it. Mechanisms as observed
-- with internal_plain: the -PLUS variants use tls-unique, so Prosody
-- offers them only when TLS 1.2 was negotiated, and it sends no XEP-0440
-- list. Its direct TLS selects no ALPN protocol (ejabberd's neither).
local client_suite = require "interop.client_suite"

require "interop.suite"(_ENV or getfenv(1), "Prosody", require "interop.prosody", {
	version = "^0%.12%.",
	mechanisms = { "SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN" },
	mechanisms_tls12 = { "SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS" },
}, function(spec, server_of)
	client_suite(spec, server_of, {
		mechanisms = { "SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN" },
		plus = { "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS" },
		default = {
			-- no -PLUS offered, while we could bind: 'y' (RFC 5802 §6)
			tls13 = { mechanism = "SCRAM-SHA-256", gs2 = "y" },
			tls12 = { mechanism = "SCRAM-SHA-256-PLUS", gs2 = "p=tls-unique", channel_binding = "tls-unique" },
		},
		kick = function(server, user, resource)
			server:close_sessions(user .. "@" .. server.domain .. "/" .. resource)
			return {} -- a clean close
		end,
		drop = function(server, full_jid)
			server:close_sessions(full_jid, "system-shutdown", "going down for a moment")
		end,
	})
end)

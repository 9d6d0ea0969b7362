-- Debian's ejabberd 23.01, started once for this file: the harness end to
-- end with slixmpp, then lxmpp.client against it. Mechanisms as observed
-- with internal auth and plain storage: it offers the -PLUS variants
-- (tls-unique, without a XEP-0440 list) whatever the TLS version, TLS 1.3
-- included, where RFC 9266 says tls-unique is undefined.
local client_suite = require "interop.client_suite"

local all = {
	"SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN",
	"SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-512-PLUS",
}
local ejabberd = require "interop.ejabberd"
local MUC = "conference.ejabberd.test"
local COMPONENT = { domain = "echo.ejabberd.test", secret = "the component's secret", direct_tls = true }
local harness = { start = function() return ejabberd.start { muc = MUC, component = COMPONENT } end }
require "interop.suite"(_ENV or getfenv(1), "ejabberd", harness, {
	version = "^23%.01",
	mechanisms = all,
	mechanisms_tls12 = all,
}, function(spec, server_of)
	client_suite(spec, server_of, {
		mechanisms = { "SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN" },
		plus = { "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-512-PLUS" },
		default = {
			-- -PLUS offered, but no binding type in common on TLS 1.3: 'n'
			tls13 = { mechanism = "SCRAM-SHA-512", gs2 = "n" },
			tls12 = { mechanism = "SCRAM-SHA-512-PLUS", gs2 = "p=tls-unique", channel_binding = "tls-unique" },
		},
		kick = function(server, user)
			server:kick_user(user)
			return { condition = "policy%-violation: has been kicked" }
		end,
	})
	-- ejabberd serves several connections of one component (load balancing):
	-- without domain_balancing, each stanza goes to one of them picked by a
	-- hash of the time (ejabberd_router), so which one is left to chance
	require "interop.component_suite"(spec, server_of,
		{ domain = COMPONENT.domain, secret = COMPONENT.secret, second = "ready",
			second_routing = "each stanza goes to one of the two",
			restart = function(server) server:kill_and_start() end,
			tls_domain = COMPONENT.domain, tls_resumes = false })
	require "interop.ext_suite"(spec, server_of, {
		identity = { category = "server", type = "im" },
		features = { "http://jabber.org/protocol/disco#info", "urn:xmpp:ping" },
	})
	require "interop.muc_suite"(spec, server_of, {
		muc = MUC,
		restart = function(server) server:restart() end, -- the service and the sessions
		restart_drops = true,
	})
end)

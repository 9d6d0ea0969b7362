-- lxmpp.server's components listener (XEP-0114; examples/server.lua in
-- its own process) against real components: slixmpp's ComponentXMPP
-- (Debian's slixmpp 1.8.3) and our lxmpp.stream.component
-- (spec/interop/component_suite.lua): the handshake, a wrong secret,
-- messages both ways with an account logged in, a second connection for a
-- connected domain (refused with conflict, as Prosody does); and
-- lxmpp.component over the server's direct-TLS components listener.
local lxmpp_server = require "interop.lxmpp_server"

local COMPONENT = { domain = "echo.lxmpp.test", secret = "the component's secret",
	tls_domain = "tls.lxmpp.test" }

describe("lxmpp.server with external components", function()
	local server

	setup(function()
		server = lxmpp_server.server.start { component = COMPONENT }
	end)

	teardown(function()
		if server then server:stop() end
	end)

	require "interop.component_suite"({ describe = describe, it = it, assert = assert }, function() return server end, {
		domain = COMPONENT.domain, secret = COMPONENT.secret, second = "conflict",
		-- its account logs in after its tls-unique -PLUS attempts (lxmpp_server_spec.lua)
		slixmpp = { keep_trying = true }, slixmpp_refusals = true,
		restart = function(s) s:kill_and_start() end, tls_domain = COMPONENT.tls_domain, tls_resumes = true,
	})
end)

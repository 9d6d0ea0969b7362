-- TLS session resumption of lxmpp.client on reconnection, against Prosody
-- 0.12, ejabberd 23.01, lxmpp.server and the tiny server: a fault proxy
-- (faultproxy.lua) cuts the first connection after the login, the client
-- reconnects and resumes the TLS session it was given (tickets; TLS 1.3
-- and TLS 1.2) where the server can, with the peer identity it verified
-- the first time, and makes a full handshake where it cannot.
local client = require "lxmpp.client"
local clock = require "lxmpp.clock"
local faultproxy = require "interop.faultproxy"

local ACCOUNTS = { alice = "pw-alice" }

-- Each server, and whether a reconnection resumes with TLS 1.3 and 1.2.
-- Prosody 0.12 sets no_ticket by default (core/certmanager.lua): its TLS
-- 1.3 tickets are then stateful (OpenSSL), and are not accepted on the next
-- connection (no server-side session cache), and its TLS 1.2 sessions have
-- neither a ticket nor a session ID. ejabberd 23.01 (fast_tls) does the
-- same. Prosody with tickets turned
-- on resumes TLS 1.3; with TLS 1.2 it binds SCRAM-PLUS to tls-unique, which
-- it computes wrongly on a resumed session, so the client keeps no TLS 1.2
-- session bound to tls-unique (lxmpp.client's tls_keep).
local servers = {
	{ "Prosody 0.12", { ["1.3"] = false, ["1.2"] = false },
		function() return require("interop.prosody").start { accounts = ACCOUNTS } end },
	{ "Prosody 0.12 with tickets on", { ["1.3"] = true, ["1.2"] = false }, function()
		return require("interop.prosody").start { accounts = ACCOUNTS,
			config = { "ssl = { options = { no_ticket = false } }" } }
	end },
	{ "ejabberd 23.01", { ["1.3"] = false, ["1.2"] = false },
		function() return require("interop.ejabberd").start { accounts = ACCOUNTS } end },
	{ "lxmpp.server", { ["1.3"] = true, ["1.2"] = true },
		function() return require("interop.lxmpp_server").server.start { accounts = ACCOUNTS } end },
	{ "the tiny server", { ["1.3"] = true, ["1.2"] = true },
		function() return require("interop.lxmpp_server").tiny.start { accounts = ACCOUNTS } end },
}

-- Bytes after which the proxy cuts, in whichever direction it draws: past
-- the login (about 7 kB down with the certificate, 3 kB up), so that the
-- cut hits a ready stream.
local CUT_AFTER = 12000

for _, case in ipairs(servers) do
	describe("TLS session resumption against " .. case[1], function()
		local server
		lazy_setup(function() server = case[3]() end)
		lazy_teardown(function() if server then server:stop() end end)

		-- Connects through a proxy that cuts once, pings until the client is
		-- back: the report of its reconnection.
		local function cut_and_back(tls)
			local proxy = faultproxy.start { host = server.host, port = server.port, seed = 11, cuts = 1,
				min = CUT_AFTER, max_up = CUT_AFTER, max_down = CUT_AFTER }
			local c
			finally(function()
				if c then c:close() end
				proxy:stop()
			end)
			local a = server:account("alice")
			tls.cafile = server.cafile
			c = assert(client.connect { jid = a.jid, password = a.password, host = "127.0.0.1", port = proxy.port,
				tls = tls, timeout = 20, reconnect = { delay = 0.02, max_delay = 0.2 } })
			local first = c:tls_info()
			local report, failure
			c:on("disconnected", function(message, code) failure = code .. ": " .. message end)
			c:on("reconnected", function(_, r) report = r end)
			c:on("resumed", function(_, r) report = r end)
			local deadline = clock.now() + 60
			while not report do
				assert(c:state() ~= "closed", "the client gave up: " .. tostring(failure))
				assert(clock.now() < deadline, ("the client is not back (%s; cuts made: %d)"):format(c:state(),
					#proxy:cuts()))
				if c:state() == "ready" then
					c:ping(nil, 2) -- fails across the cut; what matters is the reconnection
				else
					c:step(0.5) -- reconnects
				end
			end
			assert.equal(1, #proxy:cuts())
			return first, report, c:tls_info()
		end

		for _, version in ipairs { "1.3", "1.2" } do
			local resumes = case[2][version]
			it(("%s the TLS %s session after a cut, verified as before"):format(resumes and "resumes" or "does not resume",
				version), function()
				local first, report, again = cut_and_back { max_version = version }
				assert.equal("TLSv" .. version, first.version)
				assert.is_false(first.resumed)
				assert.equal(resumes, report.tls_resumed)
				assert.equal(resumes, again.resumed)
				assert.is_true(again.verified)
				assert.equal("TLSv" .. version, again.version)
			end)
		end

		it("makes a full handshake after a cut with tls.resume = false", function()
			local _, report, again = cut_and_back { resume = false }
			assert.is_false(report.tls_resumed)
			assert.is_false(again.resumed)
			assert.is_true(again.verified)
		end)
	end)
end

-- lxmpp.component over direct TLS (docs/component.md, "Direct TLS")
-- against lxmpp.server's direct-TLS components listener (examples/server.lua
-- in its own process, certificates from interop/certs.lua: the server's
-- names lxmpp.test and *.lxmpp.test): the component's domain verified by
-- default and routing both ways with an account, the server's name given
-- in tls.server_name, a name the certificate lacks refused after one
-- connection with `reconnect` on, and the TLS session resumed after a
-- fault proxy cuts the connection.
local clock = require "lxmpp.clock"
local component = require "lxmpp.component"
local client = require "lxmpp.client"
local cqueues = require "cqueues"
local faultproxy = require "interop.faultproxy"
local lxmpp_server = require "interop.lxmpp_server"
local process = require "interop.process"
local st = require "lxmpp.stanza"

local COMPONENT = { domain = "echo.lxmpp.test", secret = "the component's secret", direct_tls = true }

-- Runs fn in a cqueues controller, at most 90 s.
local function run(fn)
	local cq, done = cqueues.new(), false
	cq:wrap(function()
		fn()
		done = true
	end)
	local deadline = clock.now() + 90
	while not done do
		assert(cq:step(0.5))
		assert(clock.now() < deadline, "took more than 90 s")
	end
end

-- The cqueues transport, counting the connections made through it.
local function counting()
	local base = require "lxmpp.transport.cqueues"
	local t = { connects = 0 }
	function t.connect(...)
		t.connects = t.connects + 1
		return base.connect(...)
	end
	return t
end

describe("lxmpp.component over direct TLS against lxmpp.server", function()
	local server

	setup(function()
		server = lxmpp_server.server.start { component = COMPONENT }
		assert(process.wait_port(server.host, server.component_port, clock.now() + 15))
	end)

	teardown(function()
		if server then server:stop() end
	end)

	local function connect(opts, tls)
		local o = { jid = COMPONENT.domain, secret = COMPONENT.secret, host = server.host,
			port = server.component_port, timeout = 20, direct_tls = true, tls = { cafile = server.cafile } }
		for k, v in pairs(opts or {}) do o[k] = v end
		for k, v in pairs(tls or {}) do o.tls[k] = v end
		return component.connect(o)
	end

	it("verifies the component's domain by default and routes both ways with an account", function()
		run(function()
			local c = assert(connect())
			local info = c:tls_info()
			assert.is_true(info.verified)
			assert.equal(COMPONENT.domain, info.server_name)
			c:on("message", function(m)
				c:send(st.message({ to = m.attr.from, from = m.attr.to }, "echo: " .. m:get_child_text("body")))
			end)
			cqueues.running():wrap(function() c:loop() end)
			local a = server:account("alice")
			local alice = assert(client.connect { jid = a.jid, password = a.password, host = server.host,
				port = server.port, tls = { cafile = server.cafile }, timeout = 20 })
			assert(alice:message("bot@" .. COMPONENT.domain, "over TLS"))
			local m = alice:receive(15)
			while m and m.name ~= "message" do m = alice:receive(15) end
			assert.equal("bot@" .. COMPONENT.domain, m and m.attr.from)
			assert.equal("echo: over TLS", m:get_child_text("body"))
			assert.is_true(alice:close())
			assert.is_true(c:close())
		end)
	end)

	it("verifies the server's own name given in tls.server_name", function()
		run(function()
			local c = assert(connect(nil, { server_name = server.domain }))
			assert.is_true(c:tls_info().verified)
			assert.equal(server.domain, c:tls_info().server_name)
			assert.truthy(c:ping())
			assert.is_true(c:close())
		end)
	end)

	it("refuses a certificate without the name, after one connection, even with reconnect", function()
		run(function()
			local t = counting()
			local c, err, code = connect({ reconnect = { delay = 0.01 }, transport = t },
				{ server_name = "elsewhere.test" })
			assert.is_nil(c)
			assert.equal("tls-hostname-mismatch", code)
			assert.equal("certificate verification failed: hostname mismatch", err)
			assert.equal(1, t.connects)
			-- the domain is free: nothing logged in with the secret
			c = assert(connect())
			assert.is_true(c:close())
		end)
	end)

	it("resumes the TLS session when it reconnects after a cut", function()
		run(function()
			-- past the handshake (about 2 kB down with the certificate): the cut hits a ready stream
			local proxy = faultproxy.start { host = server.host, port = server.component_port, seed = 7, cuts = 1,
				min = 4000, max_up = 4000, max_down = 4000 }
			local c
			finally(function()
				if c then c:close() end
				proxy:stop()
			end)
			c = assert(connect { port = proxy.port, host = "127.0.0.1", reconnect = { delay = 0.02, max_delay = 0.2 } })
			assert.is_false(c:tls_info().resumed)
			local report, failure
			c:on("disconnected", function(message, code) failure = code .. ": " .. message end)
			c:on("reconnected", function(_, r) report = r end)
			local deadline = clock.now() + 60
			while not report do
				assert(c:state() ~= "closed", "the component gave up: " .. tostring(failure))
				assert(clock.now() < deadline, "the component is not back: " .. c:state())
				if c:state() == "ready" then
					c:ping(nil, 2) -- fails across the cut; what matters is the reconnection
				else
					c:step(0.5)
				end
			end
			assert.equal(1, #proxy:cuts())
			assert.is_true(report.tls_resumed)
			assert.is_true(c:tls_info().resumed)
			assert.is_true(c:tls_info().verified)
			assert.truthy(c:ping())
		end)
	end)
end)

-- lxmpp.component over direct TLS (docs/component.md, "Direct TLS")
-- against lxmpp.server's direct-TLS components listener in this process:
-- the options checked, the server's certificate verified against the
-- component's domain or tls.server_name, a certificate for another name
-- refused after one connection (no reconnection storm), and the TLS
-- session resumed by the reconnection. The real clock only bounds each
-- wait (10 s), against a hang. Against examples/server.lua in its own
-- process: spec/interop/component_suite.lua (expected.tls_domain).
local cqueues = require "cqueues"
local clock = require "lxmpp.clock"
local component = require "lxmpp.component"
local server = require "lxmpp.server"
local stream = require "lxmpp.stream"
local harness = require "support.tiny_harness"
local raised = require "support.raised"
local counting_transport = require "support.counting_transport"

local DOMAIN, BRIDGE, SECRET = "example.com", "bridge.example.com", "s3cret"
-- the server's certificate names its domain only, as most do: not the component's
local CERT, KEY = stream.selfsigned(DOMAIN)

-- Runs fn(port, srv) with lxmpp.server's direct-TLS components listener on port.
local function with_server(fn)
	local cq = cqueues.new()
	local srv = server.new {
		domain = DOMAIN, certificate = CERT, key = KEY,
		listen = { { host = "127.0.0.1", port = 0, direct_tls = true, components = { [BRIDGE] = SECRET } } },
	}
	assert(srv:start(cq))
	harness.run(cq, function() fn(srv:addresses_bound()[1].port, srv) end)
	srv:close()
	assert(cq:step(0))
end

local function connect(port, opts)
	local o = { jid = BRIDGE, secret = SECRET, host = "127.0.0.1", port = port, timeout = 10, keepalive = false,
		direct_tls = true, tls = { ca = CERT, server_name = DOMAIN } }
	for k, v in pairs(opts or {}) do o[k] = v end
	return component.connect(o)
end

local function wait_until(condition, what)
	local deadline = clock.now() + 10
	while not condition() do
		assert(clock.now() < deadline, what)
		cqueues.sleep(0.01)
	end
end

describe("lxmpp.component over direct TLS", function()
	it("refuses TLS options that cannot work, before connecting", function()
		local base = { jid = BRIDGE, secret = SECRET, port = 1 }
		-- at the caller's line, named as lxmpp.component's
		local function refused(extra, message)
			local o = {}
			for k, v in pairs(base) do o[k] = v end
			for k, v in pairs(extra) do o[k] = v end
			local err = raised(component.connect, o)
			assert.equal(message, (err:gsub("^spec/support/raised%.lua:%d+: ", "")))
			assert.matches("^spec/support/raised%.lua:%d+: ", err)
		end
		refused({ tls = { ca = CERT } }, "lxmpp.component: option 'tls' needs direct_tls = true (XEP-0114 has no STARTTLS)")
		refused({ direct_tls = "yes" }, "lxmpp.component: option 'direct_tls' is true or false")
		refused({ direct_tls = true, tls = { server_name = 5 } }, "lxmpp.component: option 'tls.server_name' is a host name")
		refused({ direct_tls = true, tls = { server_name = "" } }, "lxmpp.component: option 'tls.server_name' is a host name")
		refused({ direct_tls = true, tls = { verify = "no" } }, "lxmpp.component: option 'tls.verify' is true or false")
	end)

	it("verifies the server's certificate against tls.server_name and routes through it", function()
		with_server(function(port, srv)
			local c = assert(connect(port))
			local info = c:tls_info()
			assert.is_true(info.verified)
			assert.equal(DOMAIN, info.server_name) -- the SNI is the name checked
			assert.truthy(srv.components[BRIDGE])
			assert.truthy(c:ping()) -- to its own domain: through the server and back, over TLS
			assert.is_true(c:close())
		end)
	end)

	it("checks the component's domain by default: a certificate without it is refused once, clearly", function()
		with_server(function(port, srv)
			local t = counting_transport()
			local c, err, code = connect(port, { tls = { ca = CERT }, reconnect = { delay = 0.01 }, transport = t })
			assert.is_nil(c)
			assert.equal("tls-hostname-mismatch", code)
			assert.equal("certificate verification failed: hostname mismatch", err)
			assert.equal(1, t.connects) -- no second attempt, reconnect or not
			assert.is_nil(srv.components[BRIDGE]) -- the secret never went out
			-- an untrusted certificate: the same, its own code
			local other_ca = stream.selfsigned(DOMAIN)
			local none, _, why = connect(port, { tls = { ca = other_ca, server_name = DOMAIN },
				reconnect = { delay = 0.01 }, transport = t })
			assert.is_nil(none)
			assert.equal("tls-certificate-invalid", why)
			assert.equal(2, t.connects)
		end)
	end)

	it("resumes the TLS session when it reconnects,", function()
		with_server(function(port, srv)
			local reconnected
			local c = assert(connect(port, { reconnect = { delay = 0.01 } }))
			c:on("reconnected", function(_, report) reconnected = report end)
			assert.is_false(c:tls_info().resumed) -- the first connection: a full handshake
			-- TLS 1.3 sends its tickets after the handshake: let the client read them
			assert.truthy(c:ping())
			cqueues.running():wrap(function() c:loop() end)
			srv.components[BRIDGE]:close("reset")
			wait_until(function() return reconnected end, "the component did not reconnect")
			assert.is_true(reconnected.tls_resumed)
			assert.is_true(c:tls_info().resumed)
			assert.is_true(c:tls_info().verified) -- the verdict carried over from the full handshake
			assert.truthy(c:ping())
			assert.is_true(c:close())
		end)
	end)
end)

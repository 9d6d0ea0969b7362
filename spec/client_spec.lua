-- lxmpp.client against the tiny in-process server (examples/tiny_server.lua)
-- over loopback sockets, everything inside one cqueues controller: the
-- client's waits yield to it, so the server runs while the client waits.
-- The same client against Prosody and ejabberd, from plain blocking
-- scripts, is in spec/interop/client_*_spec.lua.
-- Every client here runs on a fake clock (lxmpp.clock.fake): its time moves
-- only when a test advances it, so that no timeout fires because the
-- machine is slow, and the timing tests assert exact figures. The real
-- clock only bounds each test as a whole (20 s), against a hang.
package.path = "examples/?.lua;" .. package.path
local cqueues = require "cqueues"
local socket = require "cqueues.socket"
local client = require "lxmpp.client"
local raised = require "support.raised"
local clock = require "lxmpp.clock"
local st = require "lxmpp.stanza"
local tiny = require "tiny_server"
local close_scope = require "support.close_scope"
-- A coroutine of the controller waits inside these, also on Lua 5.1.
local pcall = require("lxmpp.compat").pcall

-- PUC Lua 5.1 cannot yield (wait on cqueues) from a for-in iterator or
-- from pcall: there a coroutine reads with receive() in a loop and guards
-- with lxmpp.compat.pcall (docs/versions.md; spec/versions_spec.lua).
local function needs_yield_across_c()
	if not require("lxmpp.compat").yield_across_c then
		pending(_VERSION .. " cannot yield from a for-in iterator or pcall: receive() in a loop instead")
		return true
	end
end

local harness = require "support.tiny_harness"
local DOMAIN, ACCOUNTS = harness.DOMAIN, harness.ACCOUNTS
local with_server, connect = harness.with_server, harness.connect

-- Lets the other coroutines of the controller run for a while (real
-- time: only where nothing depends on how long).
local function pause(seconds)
	cqueues.sleep(seconds)
end

-- Advances clk by `step` each round of the controller until done() is
-- true, but never while a wait whose time has come has not yet resumed:
-- every deadline is seen at the time it falls due.
local function ticker(cq, clk, step, done)
	cq:wrap(function()
		while not done() do
			local due = clk.next_deadline()
			if not due or due > clk.now() then clk.advance(step) end
			cqueues.sleep(0)
		end
	end)
end

-- A resolver that knows only these SRV records (name -> records).
local function srv_resolver(srv)
	return {
		query = function(_, name, rtype)
			if rtype == "SRV" then return srv[name] or {} end
			return {}
		end,
	}
end

local function near(expected, actual, what)
	assert.is_true(math.abs(expected - actual) < 1e-9, ("%s: %.12g, expected %g"):format(what, actual, expected))
end

describe("lxmpp.client connect", function()
	it("negotiates STARTTLS, SCRAM with channel binding, and binds the resource asked for", function()
		with_server(function(server)
			local c = assert(connect(server, "juliet", { resource = "balcony" }))
			assert.equal("juliet@im.example.com/balcony", c.jid)
			assert.equal("ready", c:state())
			-- our server advertises XEP-0440, so the TLS 1.3 binding is used
			assert.same({ mechanism = "SCRAM-SHA-512-PLUS", channel_binding = "tls-exporter" }, c.sasl)
			assert.equal("TLSv1.3", c:tls_info().version)
			assert.is_true(c:tls_info().verified)
			assert.truthy(server:session(c.jid))
			assert.is_true(c:close())
		end)
	end)

	it("takes a server-assigned resource, direct TLS with ALPN, and stored SCRAM keys", function()
		with_server(function(server)
			local c = assert(connect(server, "juliet", { direct_tls = true, port = server.direct_tls_port }))
			assert.matches("^juliet@im%.example%.com/.+", c.jid)
			assert.equal("xmpp-client", c:tls_info().alpn)
			local keys = assert(c.keys)
			assert.equal("SHA-512", keys.hash)
			assert.is_true(c:close())
			-- the keys log in without the password
			local again = assert(connect(server, "juliet", { password = false, keys = keys }))
			assert.equal("SCRAM-SHA-512-PLUS", again.sasl.mechanism)
			assert.is_true(again:close())
		end)
	end)

	it("refuses a wrong password with the server's condition", function()
		with_server(function(server)
			local c, err, code = connect(server, "juliet", { password = "not it" })
			assert.is_nil(c)
			assert.equal("sasl-not-authorized", code)
			assert.matches("not%-authorized", err)
		end)
	end)

	it("verifies the certificate against the JID's domain, whatever the target", function()
		local other_cert, other_key = require("lxmpp.stream").selfsigned("other.example")
		with_server({ certificate = other_cert, key = other_key }, function(server)
			local c, err, code = connect(server, "juliet", { tls = { ca = other_cert } })
			assert.is_nil(c)
			assert.matches("^tls%-", code)
			assert.truthy(err:find("im.example.com", 1, true) or err:find("certificate", 1, true), err)
		end)
	end)

	it("tries the next target on failure, each attempt bounded, the whole bounded", function()
		with_server(function(server, cq, clk)
			-- a port nobody listens on, and one that accepts but never speaks
			local closed = socket.listen { host = "127.0.0.1", port = 0 }
			local _, _, refused_port = closed:localname()
			closed:close()
			local silent = assert(socket.listen { host = "127.0.0.1", port = 0 })
			assert(silent:listen())
			local _, _, silent_port = silent:localname()
			local srv = {
				["_xmpps-client._tcp." .. DOMAIN] = {
					{ priority = 1, weight = 0, port = refused_port, target = "127.0.0.1" },
				},
				["_xmpp-client._tcp." .. DOMAIN] = {
					{ priority = 2, weight = 0, port = silent_port, target = "127.0.0.1" },
					{ priority = 3, weight = 0, port = server.port, target = "127.0.0.1" },
				},
			}
			local resolver = srv_resolver(srv)
			-- once the silent one has the client, its attempt's time runs out
			local function expire_when_accepted(seconds)
				cq:wrap(function()
					local s = assert(silent:accept())
					clk.advance(seconds)
					pause(0.05)
					s:close()
				end)
			end
			local started = clk.now()
			expire_when_accepted(0.3)
			local c = assert(connect(server, "juliet", { host = false, resolver = resolver, attempt_timeout = 0.3 }))
			near(0.3, clk.now() - started, "took")
			assert.equal(server.port, c.target.port)
			assert.is_true(c:close())
			-- a total timeout shorter than the attempts: one deadline
			started = clk.now()
			srv["_xmpp-client._tcp." .. DOMAIN][2] = nil
			expire_when_accepted(0.4)
			local none, err, code = connect(server, "juliet", { host = false, resolver = resolver, timeout = 0.4,
				attempt_timeout = 5 })
			assert.is_nil(none)
			assert.equal("timeout", code)
			assert.truthy(err:find("refused", 1, true) and err:find("negotiating", 1, true), err)
			near(0.4, clk.now() - started, "took")
			silent:close()
		end)
	end)

	it("follows see-other-host, a bounded number of times", function()
		with_server(function(first, cq)
			local second = tiny.start { cq = cq, domain = DOMAIN, accounts = ACCOUNTS, certificate = first.certificate,
				key = first.key }
			first.redirect = "[127.0.0.1]:" .. second.port
			local c = assert(connect(first, "juliet"))
			assert.equal(second.port, c.target.port)
			assert.truthy(second:session(c.jid))
			assert.is_true(c:close())
			-- each sends the client to the other
			second.redirect = "127.0.0.1:" .. first.port
			local none, err, code = connect(first, "juliet", { max_redirects = 3 })
			assert.is_nil(none)
			assert.equal("see-other-host", code)
			local _, hops = err:gsub("see%-other%-host", "")
			assert.equal(4, hops) -- the first stream and three redirects
			second:stop()
		end)
	end)

	it("raises on misuse", function()
		assert.has_error(function() client.connect() end)
		assert.has_error(function() client.connect { password = "x" } end)
		assert.has_error(function() client.connect { jid = "example.com", password = "x" } end)
		assert.has_error(function() client.connect { jid = "a@example.com" } end)
		assert.has_error(function() client.connect { jid = "a@example.com", password = "x", tls = "yes" } end)
		assert.has_error(function() client.connect { jid = "a@example.com", password = "x", keepalive = 5 } end)
		-- at the caller's line, however deep the check
		for _, opts in ipairs { { jid = "a@example.com" }, { jid = "a@example.com", password = "x", port = 0 },
			{ jid = "a@example.com", password = "x", keepalive = 5 } } do
			assert.matches("^spec/support/raised%.lua:%d+: lxmpp%.client: option", raised(client.connect, opts))
		end
	end)
end)

describe("lxmpp.client stanzas", function()
	it("carries messages both ways; receive's timeout is one deadline", function()
		with_server(function(server, cq, clk)
			local j = assert(connect(server, "juliet", { resource = "balcony" }))
			local r = assert(connect(server, "romeo", { resource = "orchard" }))
			assert.is_true(j:message(r.jid, "Art thou not Romeo, and a Montague?"))
			local m = assert(r:receive(5))
			assert.equal("message", m.name)
			assert.equal(j.jid, m.attr.from)
			assert.equal("Art thou not Romeo, and a Montague?", m:get_child_text("body"))
			local started = clk.now()
			cq:wrap(function() clk.advance(0.2) end) -- runs once receive waits
			assert.is_nil(r:receive(0.2)) -- nothing yet: a bare nil
			near(0.2, clk.now() - started, "receive waited")
			assert.is_true(j:close())
			assert.is_true(r:close())
		end)
	end)

	it("takes a flood in order, more stanzas in one read than the connection queues", function()
		with_server(function(server, cq)
			local j = assert(connect(server, "juliet"))
			local r = assert(connect(server, "romeo"))
			cq:wrap(function()
				for i = 1, 500 do assert(r:message(j.jid, "line " .. i)) end
			end)
			for i = 1, 500 do
				assert.equal("line " .. i, assert(j:receive(5)):get_child_text("body"))
			end
			assert.is_true(j:close())
			assert.is_true(r:close())
		end)
	end)

	it("matches an iq's answer by id and sender while other stanzas keep flowing", function()
		with_server(function(server, cq)
			local j = assert(connect(server, "juliet", { resource = "balcony" }))
			local r = assert(connect(server, "romeo", { resource = "orchard" }))
			local n = assert(connect(server, "nurse"))
			r:on("iq", function(request)
				pause(0.2) -- a slow answer
				return st.reply(request):tag("query", { xmlns = "urn:example:answer" })
			end)
			cq:wrap(function() r:loop() end)
			cq:wrap(function()
				pause(0.05)
				-- the same id, from someone else: not the answer
				assert(n:send(st.iq({ type = "result", id = "q1", to = j.jid })))
				assert(n:message(j.jid, "Juliet!"))
			end)
			local answer = assert(j:iq(st.iq({ type = "get", id = "q1", to = r.jid }):tag("query",
				{ xmlns = "urn:example:question" }), 5))
			assert.equal(r.jid, answer.attr.from)
			assert.truthy(answer:get_child("query", "urn:example:answer"))
			-- what came meanwhile waits for receive()
			local forged = assert(j:receive(1))
			assert.equal("iq", forged.name)
			assert.equal(n.jid, forged.attr.from)
			assert.equal("Juliet!", assert(j:receive(1)):get_child_text("body"))
			for _, c in ipairs { j, r, n } do assert.is_true(c:close()) end
		end)
	end)

	it("answers unhandled iqs with service-unavailable, pings with a result, errors as errors", function()
		with_server(function(server, cq, clk)
			local j = assert(connect(server, "juliet"))
			local r = assert(connect(server, "romeo"))
			cq:wrap(function() j:loop() end)
			-- no handler: service-unavailable (RFC 6120 §8.4)
			local none, err, code, reply = r:iq(st.iq({ type = "get", id = "v1", to = j.jid }):query("jabber:iq:version"), 5)
			assert.is_nil(none)
			assert.equal("service-unavailable", code)
			assert.equal("service-unavailable", err)
			assert.equal("error", reply.attr.type)
			-- XEP-0199
			assert.equal(0, assert(r:ping(j.jid, 5))) -- no time passed on the fake clock
			-- a handler that sends its own answer is not answered twice
			j:on("iq", function(request, c)
				assert(c:send(st.reply(request):query("jabber:iq:version"):text_tag("name", "lxmpp")))
			end)
			local version = assert(r:iq(st.iq({ type = "get", id = "v2", to = j.jid }):query("jabber:iq:version"), 5))
			assert.equal("lxmpp", version:get_child("query", "jabber:iq:version"):get_child_text("name"))
			cq:wrap(function() clk.advance(0.2) end)
			assert.is_nil(r:receive(0.2)) -- and no second answer
			-- a result nobody waits for is not a request: it goes to receive()
			assert(r:send(st.iq({ type = "result", id = "stray", to = j.jid })))
			assert.equal("stray", assert(j:receive(2)).attr.id)
			assert.is_true(j:close())
			assert.is_true(r:close())
		end)
	end)

	it("runs handlers in their own coroutines: they may wait, and a failing one is reported", function()
		with_server(function(server, cq)
			local j = assert(connect(server, "juliet"))
			local r = assert(connect(server, "romeo"))
			local failures = {}
			r:on("error", function(message) failures[#failures + 1] = message end)
			r:on("message", function(m, c)
				-- a blocking call inside a handler: the pump goes on
				local roster = assert(c:iq(st.iq({ type = "get", id = c:new_id() }):query("jabber:iq:roster"), 5))
				assert(c:message(m.attr.from, "roster " .. roster.attr.type))
			end)
			r:on("iq", function() error("handler bug") end)
			cq:wrap(function() r:loop() end)
			assert(j:message(r.jid, "hello"))
			assert.equal("roster result", assert(j:receive(5)):get_child_text("body"))
			local _, _, code = j:iq(st.iq({ type = "set", id = "x1", to = r.jid }):query("urn:example:x"), 5)
			assert.equal("internal-server-error", code)
			assert.equal(1, #failures)
			assert.matches("handler bug", failures[1])
			assert.is_true(j:close())
			assert.is_true(r:close())
		end)
	end)

	it("serves several coroutines at once: one reads, the others wait their turn", function()
		if needs_yield_across_c() then return end
		with_server(function(server, cq)
			local j = assert(connect(server, "juliet"))
			local r = assert(connect(server, "romeo"))
			local got, answers = {}, 0
			cq:wrap(function()
				for m in j:stanzas() do got[#got + 1] = m:get_child_text("body") end
			end)
			for _ = 1, 3 do
				cq:wrap(function()
					for _ = 1, 5 do
						assert(j:iq(st.iq({ type = "get", id = j:new_id() }):query("jabber:iq:roster"), 5))
						answers = answers + 1
					end
				end)
			end
			for i = 1, 20 do assert(r:message(j.jid, "m" .. i)) end
			local deadline = clock.now() + 5
			while (#got < 20 or answers < 15) and clock.now() < deadline do pause(0.01) end
			assert.equal(15, answers)
			assert.equal(20, #got)
			assert.equal("m20", got[20])
			assert.is_true(j:close())
			assert.is_true(r:close())
			pause(0.05) -- the stanzas() loop ends
		end)
	end)

	it("is pollable: composes with cqueues.poll, then receive(0)", function()
		with_server(function(server)
			local j = assert(connect(server, "juliet"))
			local r = assert(connect(server, "romeo"))
			assert.equal("r", r:events())
			assert.is_number(r:pollfd())
			assert.is_nil(r:receive(0))
			assert(j:message(r.jid, "poll me"))
			assert.equal(r, cqueues.poll(r, 5))
			local m = r:receive(0)
			while not m do m = r:receive(0) end
			assert.equal("poll me", m:get_child_text("body"))
			assert.is_true(j:close())
			assert.is_true(r:close())
		end)
	end)
end)

describe("lxmpp.client closing", function()
	it("closes at the end of a to-be-closed scope", function()
		local scope, why = close_scope([[return function(connect, inside)
			local c <close> = assert(connect())
			inside(c)
			return c
		end]], _ENV)
		if not scope then return pending(why) end
		with_server(function(server)
			local c = scope(function() return connect(server, "juliet") end,
				function(open) assert.truthy(server:session(open.jid)) end)
			assert.equal("closed", c:state())
			assert.is_nil(server:session(c.jid))
		end)
	end)

	it("closes with the handshake", function()
		with_server(function(server)
			local c = assert(connect(server, "juliet"))
			assert.is_true(c:close())
			assert.equal("closed", c:state())
			assert.is_true(c:close()) -- idempotent
			assert.same({ nil, "the stream is closed", "closed" }, { c:send(st.message({ to = "x@y" })) })
		end)
	end)

	it("ends stanzas() and loop() when the server closes the stream cleanly", function()
		if needs_yield_across_c() then return end
		with_server(function(server, cq)
			local c = assert(connect(server, "juliet"))
			local r = assert(connect(server, "romeo"))
			assert(r:message(c.jid, "one"))
			local got = {}
			for m in c:stanzas() do
				got[#got + 1] = m:get_child_text("body")
				server:kick(c.jid)
			end
			assert.same({ "one" }, got)
			assert.equal("closed", c:state())
			cq:wrap(function()
				pause(0.1)
				server:kick(r.jid)
			end)
			assert.is_true(r:loop(5))
		end)
	end)

	it("ends a receive() loop when the server closes (stanzas() on Lua 5.1), guarded by compat.pcall", function()
		with_server(function(server, cq)
			local c = assert(connect(server, "juliet"))
			local r = assert(connect(server, "romeo"))
			cq:wrap(function()
				assert(r:message(c.jid, "one"))
				pause(0.1)
				server:kick(c.jid, "policy-violation", "be nice")
			end)
			local got = {}
			local ok, err, code = require("lxmpp.compat").pcall(function()
				while true do
					local m, why, condition = c:receive()
					if not m then return why, condition end
					got[#got + 1] = m:get_child_text("body")
				end
			end)
			assert.is_true(ok)
			assert.same({ "one" }, got)
			assert.same({ "the peer sent policy-violation: be nice", "policy-violation" }, { err, code })
			assert.is_true(r:close())
		end)
	end)

	it("raises from stanzas() on a stream error, with the condition and text", function()
		if needs_yield_across_c() then return end
		with_server(function(server, cq)
			local c = assert(connect(server, "juliet"))
			cq:wrap(function()
				pause(0.05)
				server:kick(c.jid, "policy-violation", "be nice")
			end)
			local ok, err = pcall(function()
				for _ in c:stanzas() do end
			end)
			assert.is_false(ok)
			assert.matches("policy%-violation: be nice", err)
			assert.same({ nil, "the peer sent policy-violation: be nice", "policy-violation" }, { c:receive(0) })
		end)
	end)
end)

describe("lxmpp.client keepalive", function()
	it("sends white space when only we are silent, pings when the server is", function()
		with_server(function(server, cq, clk)
			local sent = {}
			local c = assert(connect(server, "juliet", {
				keepalive = { interval = 0.15, timeout = 1 },
				trace = function(direction, data) if direction == "sent" then sent[#sent + 1] = data end end,
			}))
			local r = assert(connect(server, "romeo"))
			-- a message every 0.05 s: the server is never silent for 0.15 s
			for i = 1, 10 do
				assert(r:message(c.jid, "tick " .. i))
				assert(c:receive(2))
				clk.advance(0.05)
			end
			local spaces, pings = 0, 0
			for _, data in ipairs(sent) do
				if data == " " then spaces = spaces + 1 end
				if data:find("urn:xmpp:ping", 1, true) then pings = pings + 1 end
			end
			assert.is_true(spaces >= 2, "spaces: " .. spaces)
			assert.equal(0, pings)
			-- now nothing arrives: the server gets a ping, answers, all is well
			sent = {}
			local waited = false
			ticker(cq, clk, 0.05, function() return waited end)
			assert.is_nil(c:receive(0.5))
			waited = true
			assert.equal("ready", c:state())
			local probes = 0
			for _, data in ipairs(sent) do
				if data:find("urn:xmpp:ping", 1, true) then probes = probes + 1 end
			end
			assert.is_true(probes >= 1)
			assert.is_true(c:close())
			assert.is_true(r:close())
		end)
	end)

	it("gives up on a dead peer after the timeout", function()
		with_server(function(server, cq, clk)
			local c = assert(connect(server, "juliet", { keepalive = { interval = 0.25, timeout = 0.375 } }))
			server:freeze(c.jid)
			local started = clk.now()
			ticker(cq, clk, 0.125, function() return c:state() == "closed" end)
			local st_, err, code = c:receive(5)
			local took = clk.now() - started
			assert.is_nil(st_)
			assert.equal("dead-peer", code)
			assert.matches("dead peer", err)
			near(0.625, took, "took") -- silent for the interval, then the probe's timeout
			assert.equal("closed", c:state())
		end)
	end)
end)

describe("lxmpp.client reconnection", function()
	it("reconnects with backoff after a lost stream, and sends its presence again", function()
		with_server(function(server, cq, clk)
			local events = {}
			local c = assert(connect(server, "juliet", {
				resource = "balcony", reconnect = { delay = 0.1, max_delay = 0.4 },
			}))
			c:on("disconnected", function(_, code, again)
				events[#events + 1] = { "disconnected", code, again, clk.now() }
			end)
			c:on("reconnected", function(j) events[#events + 1] = { "reconnected", j, clk.now() } end)
			assert(c:presence { status = "on the balcony" })
			assert.equal("presence", assert(c:receive(2)).name) -- our own, from the server
			cq:wrap(function() server:kick(c.jid, "system-shutdown") end) -- once receive waits
			-- time passes while it waits to reconnect, and only then
			cq:wrap(function()
				while #events < 2 do
					if c:state() == "reconnecting" then clk.advance(0.0078125) end
					cqueues.sleep(0)
				end
			end)
			local again = assert(c:receive(5)) -- across the reconnection
			assert.equal("presence", again.name)
			assert.equal("on the balcony", again:get_child_text("status"))
			assert.equal("ready", c:state())
			assert.equal("disconnected", events[1][1])
			assert.equal("system-shutdown", events[1][2])
			assert.is_true(events[1][3])
			assert.equal("reconnected", events[2][1])
			assert.equal("juliet@im.example.com/balcony", events[2][2])
			local delay = events[2][3] - events[1][4]
			-- within [delay/2, delay], rounded up to the ticker's step
			assert.is_true(delay >= 0.05 and delay <= 0.1 + 0.0078125, "delay " .. delay)
			assert.is_true(c:close())
		end)
	end)

	-- Kicks c and lets the fake clock run until it is back: its report.
	local function kicked_and_back(server, cq, clk, c)
		local report
		c:on("reconnected", function(_, r) report = r end)
		assert(c:presence())
		assert.equal("presence", assert(c:receive(2)).name) -- our own, from the server
		cq:wrap(function() server:kick(c.jid, "system-shutdown") end) -- once receive waits
		cq:wrap(function() -- time passes while it waits to reconnect
			while not report do
				if c:state() == "reconnecting" then clk.advance(0.0078125) end
				cqueues.sleep(0)
			end
		end)
		assert.equal("presence", assert(c:receive(5)).name) -- sent again, across the reconnection
		return assert(report)
	end

	it("resumes its TLS session on reconnection (tickets), verified as before", function()
		with_server(function(server, cq, clk)
			for _, direct in ipairs { false, true } do
				local c = assert(connect(server, "juliet", { reconnect = { delay = 0.1 },
					port = direct and server.direct_tls_port or server.port, direct_tls = direct }))
				assert.is_false(c:tls_info().resumed)
				assert.is_true(kicked_and_back(server, cq, clk, c).tls_resumed)
				assert.is_true(c:tls_info().resumed)
				assert.is_true(c:tls_info().verified) -- the identity the session was verified with
				-- and again, from the ticket the resumed connection brought
				assert.is_true(kicked_and_back(server, cq, clk, c).tls_resumed)
				assert.is_true(c:close())
			end
		end)
	end)

	it("makes a full handshake on reconnection with tls.resume = false", function()
		with_server(function(server, cq, clk)
			local c = assert(connect(server, "juliet", { reconnect = { delay = 0.1 },
				tls = { ca = server.certificate, resume = false } }))
			assert.is_false(kicked_and_back(server, cq, clk, c).tls_resumed)
			assert.is_false(c:tls_info().resumed)
			assert.is_true(c:close())
			assert.has_error(function() connect(server, "juliet", { tls = { resume = "no" } }) end,
				"lxmpp.client: option 'tls.resume' is true or false")
		end)
	end)

	it("does not fight over a resource (conflict), nor reconnect after its own close", function()
		with_server(function(server)
			local c = assert(connect(server, "juliet", { resource = "balcony", reconnect = true }))
			local d = assert(connect(server, "juliet", { resource = "balcony" }))
			local none, err, code = c:loop(5)
			assert.is_nil(none)
			assert.equal("conflict", code)
			assert.matches("conflict: Replaced by new connection", err)
			assert.equal("closed", c:state())
			assert.is_true(d:close())
		end)
	end)
end)

describe("lxmpp.client stream management without a server that offers it", function()
	-- A resumable session as c:sm_state() gives it, with the location its
	-- <enabled/> named, and one stanza the server never acknowledged.
	local function state(location)
		return { version = 1, id = "sess-1", jid = "juliet@im.example.com/balcony", out = 1, acked = 0,
			inbound = 0, location = location,
			unacked = { "<message to='romeo@im.example.com/orchard' id='kept'><body>hi</body></message>" } }
	end

	-- A transport that records the targets tried and takes "sm-location.example"
	-- to the tiny server (or refuses it).
	local function recording(server, refuse)
		local real = require "lxmpp.transport.cqueues"
		local tried = {}
		return tried, { connect = function(host, port, deadline, opts)
			tried[#tried + 1] = host .. ":" .. port
			if host ~= "sm-location.example" then return real.connect(host, port, deadline, opts) end
			if refuse then return nil, "connection refused", "refused" end
			return real.connect(server.host, server.port, deadline, opts)
		end }
	end

	it("tries the location of the session first, then the usual targets", function()
		with_server(function(server)
			local romeo = assert(connect(server, "romeo", { resource = "orchard" }))
			local usual = server.host .. ":" .. server.port
			local tried, via = recording(server)
			local c = assert(connect(server, "juliet", { resume = state("sm-location.example:5999"), transport = via }))
			assert.same({ "sm-location.example:5999" }, tried)
			-- no stream management there: a new session, the kept stanza sent again
			assert.same({ resumed = false, acked = 0, resent = 1, tls_resumed = false }, c:sm_report())
			assert.equal("kept", assert(romeo:receive(5)).attr.id)
			c:close()
			tried, via = recording(server, true)
			c = assert(connect(server, "juliet", { resume = state("sm-location.example:5999"), transport = via }))
			assert.same({ "sm-location.example:5999", usual }, tried)
			c:close()
			-- not a target: ignored
			tried, via = recording(server)
			c = assert(connect(server, "juliet", { resume = state("not a host!"), transport = via }))
			assert.same({ usual }, tried)
			harness.close(c, romeo)
		end)
	end)

	it("refuses a stanza while reconnecting when there is no stream management", function()
		with_server(function(server, cq)
			local c = assert(connect(server, "juliet", { resource = "balcony", reconnect = { delay = 60 } }))
			cq:wrap(function() server:kick(c.jid, "system-shutdown") end)
			c:step(5)
			assert.equal("reconnecting", c:state())
			local ok, err, code = c:send(st.message({ to = "romeo@im.example.com" }, "later"))
			assert.is_nil(ok)
			assert.equal("not-connected", code)
			assert.matches("not connected", err)
			c:close()
		end)
	end)
end)

describe("lxmpp.client under a hostile or broken peer", function()
	-- Six stanzas in one write of the server's: they reach the client in one read.
	local function burst(server, to, bodies)
		local s = assert(server:session(to))
		for _, body in ipairs(bodies) do
			assert(s.conn:send(st.message({ to = to, from = "romeo@" .. DOMAIN .. "/x", type = "chat" }, body)))
		end
		s:flush()
	end

	local function wait_until(cond)
		local deadline = clock.now() + 10 -- real time: against a hang only
		while not cond() do
			assert(clock.now() < deadline, "waited too long")
			pause(0.005)
		end
	end

	it("hands stanzas to the handlers in arrival order, several in one read", function()
		with_server(function(server, cq)
			local j = assert(connect(server, "juliet"))
			local got = {}
			j:on("message", function(m) got[#got + 1] = m:get_child_text("body") end)
			cq:wrap(function() j:loop() end)
			burst(server, j.jid, { "m1", "m2", "m3", "m4", "m5", "m6" })
			wait_until(function() return #got == 6 end)
			assert.same({ "m1", "m2", "m3", "m4", "m5", "m6" }, got)
			assert.is_true(j:close())
		end)
	end)

	it("runs one stanza's handlers at a time; max_handlers lets more run, started in arrival order", function()
		with_server(function(server, cq)
			for _, width in ipairs { 1, 3 } do
				local j = assert(connect(server, "juliet", { max_handlers = width }))
				local log, active, most = {}, 0, 0
				j:on("message", function(m, c)
					local body = m:get_child_text("body")
					active = active + 1
					most = math.max(most, active)
					log[#log + 1] = "+" .. body
					-- a handler that waits: the server's answer takes a round trip
					assert(c:iq(st.iq({ type = "get", id = c:new_id() }):query("jabber:iq:roster"), 5))
					log[#log + 1] = "-" .. body
					active = active - 1
				end)
				cq:wrap(function() j:loop() end)
				burst(server, j.jid, { "1", "2", "3", "4", "5", "6" })
				wait_until(function() return #log == 12 end)
				assert.equal(width, most)
				local started = {}
				for _, entry in ipairs(log) do
					if entry:sub(1, 1) == "+" then started[#started + 1] = entry:sub(2) end
				end
				assert.same({ "1", "2", "3", "4", "5", "6" }, started)
				if width == 1 then
					assert.same({ "+1", "-1", "+2", "-2", "+3", "-3", "+4", "-4", "+5", "-5", "+6", "-6" }, log)
				end
				assert.is_true(j:close())
			end
		end)
	end)

	-- A presence of a thousand empty elements: 4 KB on the wire, about
	-- 300 KB of Lua tables.
	local function heavy(to, id, children)
		local p = st.presence({ to = to, from = "romeo@" .. DOMAIN .. "/x", id = id })
		for _ = 1, children or 1000 do p:tag("x"):up() end
		return p
	end

	-- The server sends `count` heavy presences p1, p2... to the client.
	local function send_heavy(server, jid, count)
		local s = assert(server:session(jid))
		for i = 1, count do assert(s.conn:send(heavy(jid, "p" .. i))) end
		s:flush()
	end

	-- A handler for `event` that waits until `held.released`, then records
	-- the stanza's id in `held`.
	local function held_handler(c, event)
		local held = { released = false }
		c:on(event, function(p)
			while not held.released do pause(0.005) end
			held[#held + 1] = p.attr.id
		end)
		return held
	end

	-- While the client reads nothing, a ping to it from `other` times out.
	local function ping_unanswered(cq, clk, other, jid)
		cq:wrap(function() clk.advance(1) end)
		local none, _, code = other:ping(jid, 1)
		assert.is_nil(none)
		assert.equal("timeout", code)
	end

	it("bounds the bytes queued for receive(): the oldest are dropped and reported", function()
		with_server(function(server)
			-- each holds about 141 kB once parsed; the six fit one TLS record
			-- (the server ends its records between stanzas), so they come in one read
			local j = assert(connect(server, "juliet", { max_queue_bytes = 200000 }))
			local dropped = {}
			j:on("dropped", function(stanza) dropped[#dropped + 1] = stanza.attr.id end)
			local s = assert(server:session(j.jid))
			for i = 1, 5 do assert(s.conn:send(heavy(j.jid, "p" .. i, 500))) end
			assert(s.conn:send(st.message({ to = j.jid, id = "end" }, "end")))
			s:flush()
			local ids = {}
			repeat
				local stanza = assert(j:receive(5))
				ids[#ids + 1] = stanza.attr.id
			until stanza.attr.id == "end"
			assert.same({ "p5", "end" }, ids)
			wait_until(function() return #dropped == 4 end) -- the "dropped" handlers run in order too
			assert.same({ "p1", "p2", "p3", "p4" }, dropped)
			assert.is_true(j:close())
		end)
	end)

	it("stops reading while the handlers' inbox is over its bytes, and catches up after", function()
		with_server(function(server, cq, clk)
			local j = assert(connect(server, "juliet", { max_inbox_bytes = 400000 }))
			local r = assert(connect(server, "romeo"))
			local handled = held_handler(j, "presence")
			cq:wrap(function() j:loop() end)
			send_heavy(server, j.jid, 20)
			-- j reads no more: its server's pings go unanswered meanwhile
			ping_unanswered(cq, clk, r, j.jid)
			handled.released = true
			wait_until(function() return #handled == 20 end)
			for i = 1, 20 do assert.equal("p" .. i, handled[i]) end
			assert.equal(0, assert(r:ping(j.jid, 5)))
			assert.is_true(j:close())
			assert.is_true(r:close())
		end)
	end)

	it("tells an outside poller it will not read while the inbox is over its bound", function()
		with_server(function(server, cq, clk)
			local j = assert(connect(server, "juliet", { max_inbox_bytes = 400000 }))
			local handled = held_handler(j, "presence")
			send_heavy(server, j.jid, 20)
			-- the loop of a host server: poll, then receive(0) when woken
			local wakeups, nudge = 0, require("cqueues.condition").new()
			cq:wrap(function()
				while #handled < 20 do
					cqueues.poll(j, nudge)
					wakeups = wakeups + 1
					j:receive(0)
				end
			end)
			-- (the inbox's count, read only to know when the bound is reached)
			wait_until(function() return j.inbox_bytes > 400000 end)
			local before = wakeups
			assert.equal("", j:events())
			for _ = 1, 200 do cqueues.sleep(0) end -- 200 rounds of the controller
			clk.advance(1)
			for _ = 1, 200 do cqueues.sleep(0) end
			assert.is_true(wakeups - before <= 1, ("%d wake-ups with nothing to do"):format(wakeups - before))
			-- the handlers catch up; the poller, nudged, reads the rest
			handled.released = true
			wait_until(function()
				nudge:signal()
				return #handled == 20
			end)
			for i = 1, 20 do assert.equal("p" .. i, handled[i]) end
			assert.equal("r", j:events())
			assert.is_true(j:close())
		end)
	end)

	it("counts the stanzas held by waiting \"dropped\" handlers against the inbox bound", function()
		with_server(function(server, cq, clk)
			local j = assert(connect(server, "juliet", { max_queue_bytes = 400000, max_inbox_bytes = 400000 }))
			local r = assert(connect(server, "romeo"))
			local dropped = held_handler(j, "dropped")
			cq:wrap(function() j:loop() end)
			send_heavy(server, j.jid, 20)
			ping_unanswered(cq, clk, r, j.jid)
			dropped.released = true
			wait_until(function() return #dropped == 19 end)
			for i = 1, 19 do assert.equal("p" .. i, dropped[i]) end
			assert.equal("p20", assert(j:receive(5)).attr.id)
			assert.is_true(j:close())
			assert.is_true(r:close())
		end)
	end)

	it("refuses a see-other-host to port 0, 70000 or 99999 without raising, also while reconnecting", function()
		with_server(function(server, cq, clk)
			for _, where in ipairs { "127.0.0.1:0", "127.0.0.1:70000", "[::1]:99999" } do
				server.redirect = where
				local ok, none, err, code = pcall(connect, server, "juliet")
				assert.is_true(ok, none)
				assert.is_nil(none)
				assert.equal("see-other-host", code)
				assert.matches("invalid port", err)
			end
			server.redirect = nil
			local c = assert(connect(server, "juliet", { reconnect = { delay = 0.25, attempts = 2 } }))
			server.redirect = "127.0.0.1:70000"
			cq:wrap(function() server:kick(c.jid, "system-shutdown") end)
			ticker(cq, clk, 0.125, function() return c:state() == "closed" end)
			local ok, none, err, code = pcall(c.loop, c)
			assert.is_true(ok, none)
			assert.is_nil(none)
			assert.equal("see-other-host", code)
			assert.matches("invalid port", err)
		end)
	end)

	it("skips SRV records with an invalid port or host", function()
		with_server(function(server)
			local srv = {
				["_xmpp-client._tcp." .. DOMAIN] = {
					{ priority = 1, weight = 0, port = 0, target = "127.0.0.1" },
					{ priority = 2, weight = 0, port = 99999, target = "127.0.0.1" },
					{ priority = 3, weight = 0, port = server.port, target = "bad host\0name" },
					{ priority = 4, weight = 0, port = server.port, target = "127.0.0.1" },
				},
			}
			local resolver = srv_resolver(srv)
			local ok, c = pcall(connect, server, "juliet", { host = false, resolver = resolver })
			assert.is_true(ok, c)
			assert(c)
			assert.equal(server.port, c.target.port)
			assert.is_true(c:close())
		end)
	end)

	it("gives up on a server that stops reading, loop() without a timeout included", function()
		-- without keepalive the timeout option bounds the stall, with it the
		-- keepalive's timeout (long before its silence probe, at 60 s)
		for _, opts in ipairs { { keepalive = false, timeout = 2 }, { keepalive = { interval = 60, timeout = 2 } } } do
			with_server(function(server, cq, clk)
				local c = assert(connect(server, "juliet", opts))
				server:freeze(c.jid)
				local big = string.rep("x", 65536)
				local sent = 0
				repeat -- fill the server's socket buffers, then ours
					local ok, _, code = c:send(st.message({ to = "romeo@" .. DOMAIN }, big), 0)
					sent = sent + 1
					assert(ok or code == "timeout" or code == "full", code)
				until code == "full" or sent > 2000
				assert.is_true(sent <= 2000, "the output never filled up")
				local started = clk.now()
				ticker(cq, clk, 0.25, function() return c:state() == "closed" end)
				local none, err, code = c:loop()
				assert.is_nil(none)
				assert.equal("dead-peer", code)
				assert.matches("read nothing", err)
				assert.is_true(clk.now() - started <= 2 + 0.25, "took " .. (clk.now() - started))
			end)
		end
	end)

	it("accepts a bound JID of its own account only", function()
		-- A hostile server: a real login, then a bind result it writes
		-- itself. Plaintext both ways (the client's stream is made without
		-- TLS), so that the test can write it.
		local stream = require "lxmpp.stream"
		local transport = require "lxmpp.transport.cqueues"
		local make_client = stream.client
		local function hostile(cq, bound)
			local listener = assert(socket.listen { host = "127.0.0.1", port = 0 })
			assert(listener:listen())
			local _, _, port = listener:localname()
			cq:wrap(function()
				local t = transport.wrap(assert(listener:accept(5)))
				local conn = stream.server { domains = { DOMAIN }, tls = "disabled", trace = true }
				local id
				repeat
					for ev in conn:events() do
						if ev.type == "auth-request" then
							assert(conn:answer_auth { password = ACCOUNTS[ev.username] or "" })
						elseif ev.type == "received" then
							id = id or ev.data:match("<iq type='set' id='([^']+)'")
						elseif ev.type == "bind-request" then
							assert(t:write(conn:take_output() or "", clock.now() + 5))
							assert(t:write(("<iq type='result' id='%s'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
								.. "<jid>%s</jid></bind></iq>"):format(id, bound), clock.now() + 5))
						end
					end
					local out = conn:take_output()
					if out then assert(t:write(out, clock.now() + 5)) end
					local data = t:read(clock.now() + 5)
				until not data or not conn:receive_bytes(data)
				t:close()
				listener:close()
			end)
			return port
		end
		with_server(function(server, cq)
			stream.client = function(o)
				o.tls, o.tls_context = "disabled", nil
				return make_client(o)
			end
			local forged = { "admin@evil.test/x", "admin@" .. DOMAIN .. "/x", "juliet@evil.test/x", "juliet@" .. DOMAIN }
			for _, bound in ipairs(forged) do
				local ok, none, err, code = pcall(connect, server, "juliet", { port = hostile(cq, bound) })
				assert.is_true(ok, none)
				assert.is_nil(none)
				if bound == "juliet@" .. DOMAIN then -- no resource
					assert.equal("bind-failed", code)
				else
					assert.equal("bind-bad-jid", code)
					assert.truthy(err:find(bound, 1, true), err)
				end
			end
			-- the server chooses the resource
			local c = assert(connect(server, "juliet", { port = hostile(cq, "juliet@" .. DOMAIN .. "/r7") }))
			assert.equal("juliet@" .. DOMAIN .. "/r7", c.jid)
			stream.client = make_client
			c:close(0)
		end)
		stream.client = make_client
	end)
end)

describe("lxmpp.client in a plain script", function()
	-- The server runs in a process of its own (it needs a controller); the
	-- client blocks, outside any, on the real clock (a fake one outside a
	-- controller would move to each deadline at once): only generous
	-- timeouts here, against a hang.
	local SERVER = [[
package.path = "examples/?.lua;lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local cqueues = require "cqueues"
local st = require "lxmpp.stanza"
local tiny = require "tiny_server"
local function read(name) local f = assert(io.open(name)); local s = f:read("*a"); f:close(); return s end
local cq = cqueues.new()
local server = tiny.start { cq = cq, domain = arg[1], accounts = { juliet = arg[2] },
	certificate = read(arg[3]), key = read(arg[4]) }
-- an iq of urn:example:burst: six messages in one write, then the answer
server.on_iq = function(session, stanza)
	if stanza.tags[1] and stanza.tags[1].attr.xmlns == "urn:example:burst" then
		for i = 1, 6 do
			assert(session.conn:send(st.message({ to = session.jid, from = arg[1], type = "chat" }, tostring(i))))
		end
		session:flush()
		return st.reply(stanza)
	end
end
io.stdout:write(server.port, "\n")
io.stdout:flush()
assert(cq:loop())
]]

	local function with_child_server(fn)
		local cert, key = require("lxmpp.stream").selfsigned(DOMAIN)
		local files = {}
		for i, text in ipairs { SERVER, cert, key } do
			files[i] = os.tmpname()
			local f = assert(io.open(files[i], "w"))
			f:write(text)
			f:close()
		end
		local child = assert(io.popen(("echo $$; exec lua5.4 %s %s %s %s %s"):format(files[1], DOMAIN,
			ACCOUNTS.juliet, files[2], files[3])))
		local pid = assert(tonumber(child:read("*l")))
		local port = tonumber(child:read("*l"))
		local ok, err = pcall(function()
			assert(port, "the server did not start")
			fn(port, cert)
		end)
		os.execute("kill " .. pid)
		child:close()
		for _, name in ipairs(files) do os.remove(name) end
		assert(ok, err)
	end

	local function burst(c)
		assert(c:iq(st.iq({ type = "get", id = c:new_id() }):query("urn:example:burst"), 30))
	end

	it("hands stanzas to the handlers in arrival order, one stanza at a time", function()
		with_child_server(function(port, cert)
			local c = assert(client.connect { jid = "juliet@" .. DOMAIN, password = ACCOUNTS.juliet,
				host = "127.0.0.1", port = port, tls = { ca = cert }, timeout = 30 })
			local log = {}
			c:on("message", function(m)
				local body = m:get_child_text("body")
				log[#log + 1] = "+" .. body
				-- waits for the server: the stanzas behind wait too
				assert(c:iq(st.iq({ type = "get", id = c:new_id() }):query("jabber:iq:roster"), 30))
				log[#log + 1] = "-" .. body
			end)
			burst(c)
			while #log < 12 do assert(c:step(30)) end
			assert.same({ "+1", "-1", "+2", "-2", "+3", "-3", "+4", "-4", "+5", "-5", "+6", "-6" }, log)
			assert.is_true(c:close())
		end)
	end)

	it("goes on with the next stanzas when a handler yields outside lxmpp", function()
		with_child_server(function(port, cert)
			local c = assert(client.connect { jid = "juliet@" .. DOMAIN, password = ACCOUNTS.juliet,
				host = "127.0.0.1", port = port, tls = { ca = cert }, timeout = 30 })
			local got, failures = {}, {}
			c:on("error", function(message) failures[#failures + 1] = message end)
			c:on("message", function(m)
				local body = m:get_child_text("body")
				if body == "1" then coroutine.yield("not lxmpp's") end
				got[#got + 1] = body
			end)
			burst(c)
			for _ = 1, 10 do
				if #got == 5 then break end
				assert(c:step(1))
			end
			assert.same({ "2", "3", "4", "5", "6" }, got)
			assert.equal(1, #failures)
			assert.matches("yielded outside lxmpp", failures[1])
			assert.is_true(c:close())
		end)
	end)
end)

describe("make demo over sockets", function()
	it("plays the exchange through the tiny server on 127.0.0.1", function()
		local demo = assert(io.popen(require "support.lua_command" .. " examples/demo_sockets.lua 2>&1"))
		local text = demo:read("*a")
		assert.is_true(demo:close(), text)
		assert.matches("-- the server listens on 127.0.0.1 port %d+\n", text)
		assert.matches("C: <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\nS: <proceed", text, 1, true)
		assert.matches("mechanism='SCRAM-SHA-512-PLUS'", text, 1, true)
		assert.matches("TLSv1.3, SCRAM-SHA-512-PLUS bound to tls-exporter", text, 1, true)
		assert.matches("Art thou not Romeo, and a Montague?", text, 1, true)
		assert.matches("-- juliet got: Neither, fair saint, if either thee dislike.", text, 1, true)
		assert.matches("C: </stream:stream>\nS: </stream:stream>\n$", text)
	end)
end)

describe("docs/client.md", function()
	for name, run in require "support.doc_examples"("docs/client.md") do it(name, run) end
end)

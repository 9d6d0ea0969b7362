-- lxmpp.client against the tiny in-process server (examples/tiny_server.lua)
-- over loopback sockets, everything inside one cqueues controller: the
-- client's waits yield to it, so the server runs while the client waits.
-- The same client against Prosody and ejabberd, from plain blocking
-- scripts, is in spec/interop/client_*_spec.lua.
package.path = "examples/?.lua;" .. package.path
local cqueues = require "cqueues"
local socket = require "cqueues.socket"
local client = require "lxmpp.client"
local clock = require "lxmpp.clock"
local st = require "lxmpp.stanza"
local tiny = require "tiny_server"
local close_scope = require "support.close_scope"

-- PUC Lua 5.1 cannot yield (wait on cqueues) from a for-in iterator or
-- from pcall: there a coroutine reads with receive() in a loop and guards
-- with lxmpp.compat.pcall (docs/versions.md; spec/versions_spec.lua).
local function needs_yield_across_c()
	if not require("lxmpp.compat").yield_across_c then
		pending(_VERSION .. " cannot yield from a for-in iterator or pcall: receive() in a loop instead")
		return true
	end
end

local DOMAIN = "im.example.com"
local ACCOUNTS = { juliet = "r0m30myr0m30", romeo = "wherefore", nurse = "anon" }

-- Runs fn in a coroutine of a fresh controller, with a server, until it
-- returns (errors propagate); then stops the server.
local function with_server(opts, fn)
	if fn == nil then opts, fn = {}, opts end
	local cq = cqueues.new()
	local o = { cq = cq, domain = DOMAIN, accounts = ACCOUNTS, direct_tls = true }
	for k, v in pairs(opts) do o[k] = v end
	local server = tiny.start(o)
	local done = false
	cq:wrap(function()
		fn(server, cq)
		done = true
	end)
	local deadline = clock.now() + 20
	while not done do
		assert(cq:step(0.5))
		assert(clock.now() < deadline, "the test did not finish in time")
	end
	server:stop()
	assert(cq:step(0))
end

local function connect(server, user, opts)
	local o = {
		jid = user .. "@" .. DOMAIN, password = ACCOUNTS[user], host = server.host, port = server.port,
		tls = { ca = server.certificate }, timeout = 5,
	}
	for k, v in pairs(opts or {}) do o[k] = v end
	return client.connect(o)
end

-- Sleeps inside the controller.
local function pause(seconds)
	cqueues.sleep(seconds)
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
		with_server(function(server)
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
			local resolver = {
				query = function(_, name, rtype)
					if rtype == "SRV" then return srv[name] or {} end
					return {}
				end,
			}
			local started = clock.now()
			local c = assert(connect(server, "juliet", { host = false, resolver = resolver, attempt_timeout = 0.3 }))
			local took = clock.now() - started
			assert.is_true(took >= 0.3 and took < 2, "took " .. took)
			assert.equal(server.port, c.target.port)
			assert.is_true(c:close())
			-- a total timeout shorter than the attempts: one deadline
			started = clock.now()
			srv["_xmpp-client._tcp." .. DOMAIN][2] = nil
			local none, err, code = connect(server, "juliet", { host = false, resolver = resolver, timeout = 0.4,
				attempt_timeout = 5 })
			assert.is_nil(none)
			assert.equal("timeout", code)
			assert.truthy(err:find("refused", 1, true) and err:find("negotiating", 1, true), err)
			assert.is_true(clock.now() - started < 1.5)
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
	end)
end)

describe("lxmpp.client stanzas", function()
	it("carries messages both ways; receive's timeout is one deadline", function()
		with_server(function(server)
			local j = assert(connect(server, "juliet", { resource = "balcony" }))
			local r = assert(connect(server, "romeo", { resource = "orchard" }))
			assert.is_true(j:message(r.jid, "Art thou not Romeo, and a Montague?"))
			local m = assert(r:receive(5))
			assert.equal("message", m.name)
			assert.equal(j.jid, m.attr.from)
			assert.equal("Art thou not Romeo, and a Montague?", m:get_child_text("body"))
			local started = clock.now()
			assert.is_nil(r:receive(0.2)) -- nothing yet: a bare nil
			assert.is_true(clock.now() - started >= 0.2)
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
		with_server(function(server, cq)
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
			local rtt = assert(r:ping(j.jid, 5))
			assert.is_true(rtt >= 0 and rtt < 5)
			-- a handler that sends its own answer is not answered twice
			j:on("iq", function(request, c)
				assert(c:send(st.reply(request):query("jabber:iq:version"):text_tag("name", "lxmpp")))
			end)
			local version = assert(r:iq(st.iq({ type = "get", id = "v2", to = j.jid }):query("jabber:iq:version"), 5))
			assert.equal("lxmpp", version:get_child("query", "jabber:iq:version"):get_child_text("name"))
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
			cq:wrap(function()
				assert(r:message(c.jid, "one"))
				pause(0.1)
				server:kick(c.jid)
			end)
			local got = {}
			for m in c:stanzas() do got[#got + 1] = m:get_child_text("body") end
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
		with_server(function(server, cq)
			local sent = {}
			local c = assert(connect(server, "juliet", {
				keepalive = { interval = 0.15, timeout = 1 },
				trace = function(direction, data) if direction == "sent" then sent[#sent + 1] = data end end,
			}))
			local r = assert(connect(server, "romeo"))
			cq:wrap(function()
				for i = 1, 10 do
					assert(r:message(c.jid, "tick " .. i))
					pause(0.05)
				end
			end)
			for _ = 1, 10 do assert(c:receive(2)) end
			local spaces, pings = 0, 0
			for _, data in ipairs(sent) do
				if data == " " then spaces = spaces + 1 end
				if data:find("urn:xmpp:ping", 1, true) then pings = pings + 1 end
			end
			assert.is_true(spaces >= 2, "spaces: " .. spaces)
			assert.equal(0, pings)
			-- now nothing arrives: the server gets a ping, answers, all is well
			sent = {}
			assert.is_nil(c:receive(0.5))
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
		with_server(function(server)
			local c = assert(connect(server, "juliet", { keepalive = { interval = 0.2, timeout = 0.3 } }))
			server:freeze(c.jid)
			local started = clock.now()
			local st_, err, code = c:receive(5)
			local took = clock.now() - started
			assert.is_nil(st_)
			assert.equal("dead-peer", code)
			assert.matches("dead peer", err)
			assert.is_true(took >= 0.5 and took < 1.5, "took " .. took)
			assert.equal("closed", c:state())
		end)
	end)
end)

describe("lxmpp.client reconnection", function()
	it("reconnects with backoff after a lost stream, and sends its presence again", function()
		with_server(function(server, cq)
			local events = {}
			local c = assert(connect(server, "juliet", {
				resource = "balcony", reconnect = { delay = 0.1, max_delay = 0.4 },
			}))
			c:on("disconnected", function(_, code, again)
				events[#events + 1] = { "disconnected", code, again, clock.now() }
			end)
			c:on("reconnected", function(j) events[#events + 1] = { "reconnected", j, clock.now() } end)
			assert(c:presence { status = "on the balcony" })
			assert.equal("presence", assert(c:receive(2)).name) -- our own, from the server
			cq:wrap(function()
				pause(0.05)
				server:kick(c.jid, "system-shutdown")
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
			assert.is_true(delay >= 0.05 and delay < 0.5, "delay " .. delay) -- within [delay/2, delay] + work
			assert.is_true(c:close())
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

-- lxmpp.component against the server's side of XEP-0114 played by
-- spec/support/fake_component_server.lua, on a fake clock: `from` stamped
-- or refused, the object API and the extensions on a component, a wrong
-- secret, and the backoff after `conflict` and after a dropped connection.
-- Against Prosody and ejabberd: spec/interop/component_suite.lua.
local cqueues = require "cqueues"
local clock = require "lxmpp.clock"
local component = require "lxmpp.component"
local raised = require "support.raised"
local fake = require "support.fake_component_server"
local harness = require "support.tiny_harness"
local st = require "lxmpp.stanza"

local DOMAIN, SECRET = "bridge.example.com", "s3cret"

-- Runs fn(server, cq, clk, sleeps) in a cqueues controller. clk is a fake
-- clock; a wait on it without anything to wait for (the backoff between
-- two attempts) ends exactly at its deadline: the time jumps there, and
-- sleeps lists { from, to } of each. Nothing else moves the time, so every
-- figure below is exact whatever the machine's load (the handlers of an
-- event may run after the jump: their clk.now() is not asserted).
local function with_server(fn)
	local cq = cqueues.new()
	local f = clock.fake(1000)
	local sleeps = {}
	local clk = { now = f.now, monotonic = true, next_deadline = f.next_deadline, advance = f.advance }
	function clk.wait(deadline, ...)
		if select("#", ...) == 0 and deadline and deadline > f.now() then
			sleeps[#sleeps + 1] = { f.now(), deadline }
			f.advance(deadline - f.now())
			cqueues.sleep(0)
			return
		end
		return f.wait(deadline, ...)
	end
	local server = fake.start { cq = cq, domain = DOMAIN, secret = SECRET, clock = clk }
	harness.run(cq, function() fn(server, cq, clk, sleeps) end)
	server:stop()
	assert(cq:step(0))
end

local function connect(server, clk, opts)
	local o = { jid = DOMAIN, secret = SECRET, host = "127.0.0.1", port = server.port, clock = clk, timeout = 60,
		keepalive = false }
	for k, v in pairs(opts or {}) do o[k] = v end
	return component.connect(o)
end

-- Waits (real time, against a hang) until the server got n stanzas.
local function received(server, n)
	local deadline = clock.now() + 10
	while #server.received < n do
		assert(clock.now() < deadline, "the server did not get the stanza")
		cqueues.sleep(0.005)
	end
	return server.received[n]
end

describe("lxmpp.component", function()
	it("handshakes, stamps `from` with its domain where missing, and refuses one outside it", function()
		with_server(function(server, _, clk)
			local c = assert(connect(server, clk))
			assert.equal(DOMAIN, c.jid)
			assert.equal("ready", c:state())
			assert.matches("^lxmpp.component %(ready, bridge.example.com%)$", tostring(c))
			assert.is_function(getmetatable(c).__close) -- a <close> variable closes it (Lua 5.4)
			assert(c:send(st.message({ to = "juliet@example.com" }, "stamped")))
			local m = received(server, 1)
			assert.equal(DOMAIN, m.attr.from)
			assert.equal("stamped", m:get_child_text("body"))
			assert(c:message("juliet@example.com", "sugar"))
			assert.equal(DOMAIN, received(server, 2).attr.from)
			assert(c:send(st.message({ to = "juliet@example.com", from = "echo@" .. DOMAIN .. "/x" }, "kept")))
			assert.equal("echo@" .. DOMAIN .. "/x", received(server, 3).attr.from)
			for _, from in ipairs { "juliet@example.com", "echo@sub." .. DOMAIN, "example.com", "not a jid@@" } do
				local ok, err, code = c:send(st.message({ to = "juliet@example.com", from = from }, "refused"))
				assert.is_nil(ok)
				assert.equal("invalid-from", code)
				assert.equal(("'from' %s is not in the component's domain %s"):format(from, DOMAIN), err)
			end
			local iq = st.iq({ type = "get", id = "v0", to = "example.com", from = "example.com" })
			local ok, _, code = c:iq(iq:query("jabber:iq:version"))
			assert.is_nil(ok)
			assert.equal("invalid-from", code)
			assert(c:send(st.message({ to = "juliet@example.com" }, "after")))
			assert.equal("after", received(server, 4):get_child_text("body")) -- nothing refused went out
			assert.equal(4, #server.received)
			assert.is_true(c:close())
			assert.equal("closed", c:state())
		end)
	end)

	it("receives, answers iq requests from the address asked, and pings itself through the server", function()
		with_server(function(server, cq, clk)
			local c = assert(connect(server, clk))
			cq:wrap(function() c:loop() end) -- serves the requests
			server:send("<message from='juliet@example.com/balcony' to='echo@" .. DOMAIN .. "'><body>hi</body></message>")
			local m = assert(c:receive(5))
			assert.equal("hi", m:get_child_text("body"))
			assert.equal("echo@" .. DOMAIN, m.attr.to)
			-- a request nobody serves: service-unavailable, from the address asked
			server:send("<iq type='get' id='v1' from='juliet@example.com/balcony' to='echo@" .. DOMAIN .. "'>"
				.. "<query xmlns='jabber:iq:private'/></iq>")
			local answer = received(server, 1)
			assert.equal("error", answer.attr.type)
			assert.equal("echo@" .. DOMAIN, answer.attr.from)
			assert.equal("service-unavailable", select(2, answer:get_error()))
			-- the keepalive's probe goes to the domain, through the server and back
			assert.equal(0, c:ping())
			assert.is_true(c:close())
		end)
	end)

	it("keeps alive through the server: the probe of a silent server is a ping to the domain, which comes back", function()
		with_server(function(server, cq, clk)
			local c = assert(connect(server, clk, { keepalive = { interval = 30, timeout = 10 } }))
			cq:wrap(function() c:loop() end)
			clk.advance(30)
			local probe = received(server, 1)
			assert.same({ "iq", "get", DOMAIN, DOMAIN }, { probe.name, probe.attr.type, probe.attr.to, probe.attr.from })
			assert.equal("urn:xmpp:ping", probe.tags[1].attr.xmlns)
			local pong = received(server, 2) -- the component answered its own ping, routed back to it
			assert.same({ "result", probe.attr.id }, { pong.attr.type, pong.attr.id })
			clk.advance(10) -- the probe's timeout: the answer came, the component stays
			server:send("<message from='juliet@example.com' to='" .. DOMAIN .. "'><body>still there</body></message>")
			assert.equal("still there", assert(c:receive(5)):get_child_text("body"))
			assert.equal("ready", c:state())
			assert.is_true(c:close())
			-- a server that routes nothing back: dead after the probe's timeout
			server.route = false
			c = assert(connect(server, clk, { keepalive = { interval = 30, timeout = 10 } }))
			local ended = {}
			cq:wrap(function() ended = { c:loop() } end)
			clk.advance(30)
			received(server, 3) -- the probe
			clk.advance(10)
			local deadline = clock.now() + 10 -- real time: against a hang only
			while not ended[3] do
				assert(clock.now() < deadline, "the component did not give up")
				cqueues.sleep(0.005)
			end
			assert.equal("dead-peer", ended[3])
		end)
	end)

	it("takes the extensions: disco answers as component/generic, version as configured", function()
		with_server(function(server, cq, clk)
			local c = assert(connect(server, clk))
			cq:wrap(function() c:loop() end) -- serves the requests
			local disco = c:use("disco")
			c:use("version", { name = "bridge", version = "1.0" })
			server:send("<iq type='get' id='d1' from='juliet@example.com/balcony' to='" .. DOMAIN .. "'>"
				.. "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
			local info = received(server, 1)
			assert.equal("result", info.attr.type)
			assert.equal(DOMAIN, info.attr.from)
			local identity = info.tags[1]:get_child("identity")
			assert.same({ "component", "generic" }, { identity.attr.category, identity.attr.type })
			local features = {}
			for f in info.tags[1]:childtags("feature") do features[f.attr.var] = true end
			assert.is_true(features["jabber:iq:version"])
			server:send("<iq type='get' id='v2' from='juliet@example.com/balcony' to='echo@" .. DOMAIN .. "'>"
				.. "<query xmlns='jabber:iq:version'/></iq>")
			local version = received(server, 2)
			assert.equal("echo@" .. DOMAIN, version.attr.from)
			assert.equal("bridge", version.tags[1]:get_child_text("name"))
			-- asking: a disco#info to our own domain goes through the server and comes back answered
			local own = assert(disco:info(DOMAIN))
			assert.is_true(own.has["jabber:iq:version"])
			assert.is_true(c:close())
		end)
	end)

	it("returns not-authorized for a wrong secret, after one attempt, even with reconnect", function()
		with_server(function(server, _, clk)
			local c, err, code = connect(server, clk, { secret = "not the secret", reconnect = true })
			assert.is_nil(c)
			assert.equal("not-authorized", code)
			assert.matches("not%-authorized", err)
			assert.equal(1, server.streams)
		end)
	end)

	it("returns conflict at once without reconnect; with it, retries with backoff until the domain is free", function()
		with_server(function(server, _, clk, sleeps)
			server.conflicts = 1 -- another component holds the domain
			local c, _, code = connect(server, clk)
			assert.is_nil(c)
			assert.equal("conflict", code)
			assert.equal(1, server.streams)
			server.conflicts = 4 -- it holds it for four more attempts
			local started = clk.now()
			c = assert(connect(server, clk, { reconnect = { delay = 1, max_delay = 4 } }))
			assert.equal("ready", c:state())
			-- the 2nd to 5th streams of this connect() were refused; the 6th got in
			assert.equal(6, server.streams)
			local opened = server.opened
			assert.equal(started, opened[2])
			for i, full in ipairs { 1, 2, 4, 4 } do -- doubling up to max_delay
				local gap = opened[i + 2] - opened[i + 1]
				assert.is_true(gap >= full / 2 and gap <= full, ("gap %d: %g"):format(i, gap))
				assert.same({ opened[i + 1], opened[i + 2] }, sleeps[i])
			end
			assert.is_true(c:close())
			-- within `timeout` only: then conflict, with the number of attempts
			server.conflicts = math.huge
			local none, err
			none, err, code = connect(server, clk, { reconnect = { delay = 1, max_delay = 4 }, timeout = 10 })
			assert.is_nil(none)
			assert.equal("conflict", code)
			assert.matches("%(%d attempts%)$", err)
		end)
	end)

	it("reconnects after a dropped connection; retries conflict while the server holds the old one", function()
		with_server(function(server, cq, clk)
			local c = assert(connect(server, clk, { reconnect = { delay = 2, max_delay = 60 } }))
			local events = {}
			c:on("disconnected", function(_, code, again) events[#events + 1] = { "disconnected", code, again } end)
			c:on("retrying", function(_, code, delay) events[#events + 1] = { "retrying", code, delay, clk.now() } end)
			c:on("reconnected", function(j) events[#events + 1] = { "reconnected", j, clk.now() } end)
			cq:wrap(function()
				server:drop(3) -- the server notices after three more attempts: the 5th stream gets in
			end)
			local message
			cq:wrap(function()
				while c:state() ~= "ready" or #events < 5 do cqueues.sleep(0.001) end
				server:send("<message from='juliet@example.com' to='" .. DOMAIN .. "'><body>back</body></message>")
			end)
			message = assert(c:receive(600)) -- across the reconnection
			assert.equal("back", message:get_child_text("body"))
			assert.same({ "disconnected", "connection-closed", true }, { events[1][1], events[1][2], events[1][3] })
			local opened = server.opened
			for i = 2, 4 do -- the 2nd to 4th streams: conflict, each announced with its delay
				local e = events[i]
				assert.same({ "retrying", "conflict" }, { e[1], e[2] })
				assert.equal(opened[i] + e[3], opened[i + 1]) -- the next attempt exactly after the delay
				local full = 2 * 2 ^ (i - 1)
				assert.is_true(e[3] >= full / 2 and e[3] <= full, ("delay %d: %g"):format(i, e[3]))
			end
			-- the first delay after the drop (at the time of the first stream: only the waits move the time)
			assert.is_true(opened[2] - opened[1] >= 1 and opened[2] - opened[1] <= 2)
			assert.same({ "reconnected", DOMAIN }, { events[5][1], events[5][2] })
			assert(c:send(st.message({ to = "juliet@example.com" }, "again")))
			assert.equal("again", received(server, 1):get_child_text("body"))
			assert.is_true(c:close())
		end)
	end)

	it("checks its options", function()
		assert.has_error(function() component.connect { jid = "juliet@example.com", secret = "x" } end,
			"lxmpp.component: option 'jid' is a domain (bridge.example.com): juliet@example.com")
		assert.has_error(function() component.connect { jid = DOMAIN } end,
			"lxmpp.component: option 'secret' is required (a string)")
		assert.has_error(function() component.connect { jid = DOMAIN, secret = "x", password = "y" } end,
			"lxmpp.component: option 'password' is a client's, not a component's")
		-- the options it shares with lxmpp.client are named as its own
		assert.has_error(function() component.connect { jid = DOMAIN, secret = "x", port = 0 } end,
			"lxmpp.component: option 'port' is an integer in 1..65535")
		assert.has_error(function() component.connect { jid = DOMAIN, secret = "x", port = "5347" } end,
			"lxmpp.component: option 'port' is an integer in 1..65535")
		assert.has_error(function() component.connect { jid = DOMAIN, secret = "x", keepalive = 5 } end,
			"lxmpp.component: option 'keepalive' is true, false or a table")
		-- at the caller's line, its own options and the shared ones alike
		for _, opts in ipairs { { jid = DOMAIN }, { jid = DOMAIN, secret = "x", keepalive = 5 } } do
			assert.matches("^spec/support/raised%.lua:%d+: lxmpp%.component: option", raised(component.connect, opts))
		end
	end)
end)

describe("docs/component.md", function()
	for name, run in require "support.doc_examples"("docs/component.md") do it(name, run) end
end)

-- lxmpp.stream's component role (XEP-0114), fed a server's side by hand:
-- the header in jabber:component:accept, the handshake's hash, stanzas in
-- the stream's namespace, refusals, chunking. The same against Prosody's
-- and ejabberd's component listeners: spec/interop/component_suite.lua.
local core = require "lxmpp.core"
local st = require "lxmpp.stanza"
local stream = require "lxmpp.stream"

local HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
	.. "xmlns:stream='http://etherx.jabber.org/streams' from='bridge.example.com' id='3BF96D75'>"

local function hex(s)
	return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

local function drain(conn)
	local events = {}
	for ev in conn:events() do events[#events + 1] = ev end
	return events
end

-- Feeds the server's side, `step` bytes at a time; returns the events.
local function feed(conn, data, step)
	local events = {}
	for i = 1, #data, step do
		assert(conn:receive_bytes(data:sub(i, i + step - 1)))
		for _, ev in ipairs(drain(conn)) do events[#events + 1] = ev end
	end
	return events
end

describe("lxmpp.stream component (XEP-0114)", function()
	it("opens in jabber:component:accept, answers the id with SHA-1(id .. secret), and is ready", function()
		for _, step in ipairs { 1, 7, 4096 } do
			local conn = stream.component { jid = "bridge.example.com", secret = "s3cret" }
			local header = conn:take_output()
			assert.matches("xmlns='jabber:component:accept'", header)
			assert.matches("to='bridge.example.com'", header)
			assert.is_nil(header:match("<stream:stream[^>]* version=")) -- XEP-0114 headers carry none
			local events = feed(conn, HEADER, step)
			assert.equal("opened", events[1].type)
			assert.equal("<handshake>" .. hex(core.digest("sha-1", "3BF96D75s3cret")) .. "</handshake>",
				conn:take_output())
			events = feed(conn, "<handshake/>", step)
			assert.same({ type = "ready", jid = "bridge.example.com" }, { type = events[1].type, jid = events[1].jid })
			assert.equal("ready", conn:state())
			events = feed(conn, "<message from='juliet@example.com/balcony' to='echo@bridge.example.com'>"
				.. "<body>hi</body></message>", step)
			local m = events[1].stanza
			assert.equal("message", m.name)
			assert.is_nil(m.attr.xmlns) -- the stream's namespace
			assert.equal("hi", m:get_child_text("body"))
			assert(conn:send(st.message({ to = "juliet@example.com/balcony", from = "echo@bridge.example.com" }, "back")))
			local out = conn:take_output() -- attributes in any order
			assert.matches("^<message [^>]*from='echo@bridge%.example%.com'[^>]*><body>back</body></message>$", out)
			assert.matches("^<message [^>]*to='juliet@example%.com/balcony'", out)
		end
	end)

	it("ends with the server's stream error: not-authorized for a wrong secret, conflict", function()
		for _, condition in ipairs { "not-authorized", "conflict" } do
			local conn = stream.component { jid = "bridge.example.com", secret = "wrong" }
			conn:take_output()
			feed(conn, HEADER, 4096)
			local events = feed(conn, "<stream:error><" .. condition
				.. " xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>", 4096)
			assert.equal("closed", events[#events].type)
			assert.equal(condition, events[#events].error)
			assert.equal("failed", conn:state())
		end
	end)

	it("refuses a header without an id (bad-format), and stanzas before the handshake", function()
		local conn = stream.component { jid = "bridge.example.com", secret = "s3cret" }
		conn:take_output()
		local events = feed(conn, HEADER:gsub(" id='3BF96D75'", ""), 4096)
		assert.equal("bad-format", events[#events].error)
		assert.matches("<bad%-format", conn:take_output())

		conn = stream.component { jid = "bridge.example.com", secret = "s3cret" }
		conn:take_output()
		feed(conn, HEADER, 4096)
		events = feed(conn, "<message to='x@bridge.example.com'/>", 4096)
		assert.equal("not-authorized", events[#events].error)
	end)

	it("takes a domain and a secret, and no STARTTLS", function()
		assert.has_error(function() stream.component { jid = "juliet@example.com", secret = "x" } end,
			"lxmpp.stream: a component's JID is a domain")
		assert.has_error(function() stream.component { jid = "bridge.example.com" } end)
		assert.has_error(function() stream.component { secret = "x" } end)
		assert.has_error(function() stream.component { jid = "bridge.example.com", secret = "x", tls = "required" } end,
			"lxmpp.stream: a component stream has no STARTTLS: tls is disabled or direct")
		assert.matches("^lxmpp.stream %(component", tostring(stream.component { jid = "b.example.com", secret = "x" }))
	end)
end)

-- Moves bytes between two connections until neither has any; returns
-- each one's events.
local function pump(a, b)
	local ea, eb = {}, {}
	repeat
		local moved = false
		for _, pair in ipairs { { a, b, eb }, { b, a, ea } } do
			local from, to, events = pair[1], pair[2], pair[3]
			local out = from:take_output()
			if out then
				moved = true
				to:receive_bytes(out) -- fails after its events when the peer did wrong
			end
			for ev in to:events() do
				events[#events + 1] = ev
				if ev.type == "handshake-request" then to:answer_handshake(to.secret_for(ev.domain)) end
			end
		end
	until not moved
	return ea, eb
end

local function types(events)
	local out = {}
	for i, ev in ipairs(events) do out[i] = ev.type end
	return table.concat(out, " ")
end

describe("lxmpp.stream component_server (the server's side of XEP-0114)", function()
	local function server(secrets)
		local conn = stream.component_server { domains = { "bridge.example.com" } }
		-- a field on the userdata is not possible: a wrapper table
		return setmetatable({ secret_for = function(d) return secrets[d] end }, { __index = function(_, k)
			return function(_, ...) return conn[k](conn, ...) end
		end })
	end

	it("accepts our component with the right secret; from is stamped or checked", function()
		local co = stream.component { jid = "bridge.example.com", secret = "s3cret" }
		local sv = server { ["bridge.example.com"] = "s3cret" }
		local ec, es = pump(co, sv)
		assert.equal("opened ready", types(ec))
		assert.equal("opened handshake-request ready", types(es))
		assert.equal("bridge.example.com", es[2].domain)
		assert.equal("bridge.example.com", sv:jid())
		assert(co:send(st.message({ to = "juliet@example.com" }, "no from")))
		assert(sv:send(st.message({ to = "echo@bridge.example.com", from = "juliet@example.com/b" }, "down")))
		ec, es = pump(co, sv)
		assert.equal("bridge.example.com", es[1].stanza.attr.from)
		assert.equal("down", ec[1].stanza:get_child_text("body"))
		assert(co:send(st.message({ to = "juliet@example.com", from = "juliet@example.com" }, "forged")))
		ec, es = pump(co, sv)
		assert.equal("invalid-from", es[#es].error)
		assert.equal("invalid-from", ec[1].condition)
	end)

	it("refuses a wrong secret (not-authorized) and an unknown domain (host-unknown)", function()
		local co = stream.component { jid = "bridge.example.com", secret = "wrong" }
		local ec, es = pump(co, server { ["bridge.example.com"] = "s3cret" })
		assert.equal("not-authorized", ec[#ec - 1].condition)
		assert.equal("not-authorized", es[#es].error)
		co = stream.component { jid = "other.example.com", secret = "s3cret" }
		ec = pump(co, server {})
		assert.equal("host-unknown", ec[#ec - 1].condition)
	end)

	it("takes the domains it accepts, and no STARTTLS", function()
		assert.has_error(function() stream.component_server {} end)
		assert.has_error(function() stream.component_server { domains = { "b.example.com" }, tls = "required" } end,
			"lxmpp.stream: a component stream has no STARTTLS: tls is disabled or direct")
		assert.has_error(function() stream.component_server { domains = { "b.example.com" } }:answer_handshake("x") end)
	end)
end)


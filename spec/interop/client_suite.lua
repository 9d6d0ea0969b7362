-- lxmpp.client against a real server, from a plain script (no cqueues
-- controller: every call blocks, and handlers run while a call waits).
-- Run by the server's spec file on the server it started (interop.suite),
-- so that each server starts once per file.
--   client_suite(spec, server_of, expected) where server_of() gives the
--   running server and expected = {
--     mechanisms = { ... },        -- offered after STARTTLS with TLS 1.3
--     plus = { ... },              -- the -PLUS ones offered with TLS 1.2
--     alpn = the ALPN protocol the server selects on direct TLS, or nil
--     default = { tls13 = { mechanism =, gs2 = }, tls12 = { ... } },
--     kick = function(server, user, resource) -> how the server ends a
--            session: { condition = nil (a clean close) or the error's },
--     drop = function(server, full_jid): ends it with system-shutdown
--            (optional: where the server can)
--   }
local mime = require "mime"
local client = require "lxmpp.client"
local clock = require "lxmpp.clock"
local dnsmasq = require "interop.dnsmasq"
local process = require "interop.process"
local st = require "lxmpp.stanza"

-- The GS2 header of the <auth/> we sent ("n", "y", "p=tls-unique").
local function gs2_flag(sent)
	local all = table.concat(sent)
	local data = all:match("<auth [^>]*>([^<]*)</auth>")
	if not data then return nil end
	return mime.unb64(data):match("^([^,]*),")
end

-- Our open descriptors and what they are, without the listing's own pipe:
-- both its ends are the pipe the listing writes to (its fd 1), and popen
-- closes our copy of the write end at a moment of its own, maybe between
-- the listing's glob and its readlink (then there is no link to read).
local function fds()
	local stat = assert(io.open("/proc/self/stat"))
	local pid = tonumber(stat:read("*n"))
	stat:close()
	local n, what = 0, {}
	local p = assert(io.popen("own=$(readlink /proc/$$/fd/1); cd /proc/" .. pid .. "/fd && for f in *; do "
		.. "l=$(readlink $f) && [ \"$l\" != \"$own\" ] && echo \"$f $l\"; done"))
	for line in p:lines() do
		n = n + 1
		what[#what + 1] = line
	end
	p:close()
	return n, table.concat(what, "\n")
end

return function(spec, server_of, expected)
	local describe, it, assert = spec.describe, spec.it, spec.assert

	local function options(account, extra)
		local server = server_of()
		local o = {
			jid = account.jid, password = account.password, host = server.host, port = server.port,
			tls = { cafile = server.cafile }, timeout = 10,
		}
		for k, v in pairs(extra or {}) do
			if v == false then o[k] = nil else o[k] = v end
		end
		return o
	end

	local function connect(user, extra)
		return client.connect(options(server_of():account(user), extra))
	end

	-- Receives until a stanza satisfies match; the others are skipped.
	local function expect(c, match, timeout)
		local deadline = clock.now() + (timeout or 5)
		while true do
			local left = deadline - clock.now()
			if left <= 0 then return nil end
			local stanza, err, code = c:receive(left)
			if not stanza then
				assert(not err, tostring(err) .. " (" .. tostring(code) .. ")")
				return nil
			end
			if match(stanza) then return stanza end
		end
	end

	-- expect(c, match), while `other` is pumped too: outside a controller
	-- its handlers and answers run only while one of its calls waits, so it
	-- waits in turns with c for as long as the answer takes (not for a fixed
	-- time that a loaded machine may not be done in). pump(other, seconds)
	-- is that call.
	local function expect_pumping(c, other, pump, match)
		local deadline = clock.now() + 10
		while clock.now() < deadline do
			pump(other, 0.02)
			local stanza = expect(c, match, 0.02)
			if stanza then return stanza end
		end
		return nil
	end

	-- Logs alice in; returns what connect does and the XML we sent.
	local function login(mech, tls_max, extra)
		local sent = {}
		local o = {
			mechanisms = mech and { mech }, tls = { cafile = server_of().cafile, max_version = tls_max },
			trace = function(direction, data) if direction == "sent" then sent[#sent + 1] = data end end,
		}
		for k, v in pairs(extra or {}) do o[k] = v end
		local c, err, code = connect("alice", o)
		return c, err, code, sent
	end

	describe("lxmpp.client", function()
		it("logs in with each mechanism the server offers after STARTTLS (TLS 1.3)", function()
			for _, mech in ipairs(expected.mechanisms) do
				local c, err = login(mech)
				assert.truthy(c, mech .. ": " .. tostring(err))
				assert.equal(mech, c.sasl.mechanism)
				assert.is_nil(c.sasl.channel_binding)
				assert.equal("TLSv1.3", c:tls_info().version)
				assert.is_true(c:tls_info().verified)
				assert.is_true(c:close())
			end
		end)

		it("logs in with each -PLUS mechanism, bound to tls-unique (TLS 1.2)", function()
			for _, mech in ipairs(expected.plus) do
				local c, err, _, sent = login(mech, "1.2")
				assert.truthy(c, mech .. ": " .. tostring(err))
				assert.equal(mech, c.sasl.mechanism)
				assert.equal("tls-unique", c.sasl.channel_binding)
				assert.equal("p=tls-unique", gs2_flag(sent))
				assert.equal("TLSv1.2", c:tls_info().version)
				assert.is_true(c:close())
			end
		end)

		it("chooses, with TLS 1.3 and 1.2, what docs/client.md says (-PLUS without XEP-0440)", function()
			for _, version in ipairs { "tls13", "tls12" } do
				local want = expected.default[version]
				local c, err, _, sent = login(nil, version == "tls12" and "1.2" or nil)
				assert.truthy(c, version .. ": " .. tostring(err))
				assert.equal(want.mechanism, c.sasl.mechanism)
				assert.equal(want.gs2, gs2_flag(sent))
				assert.equal(want.channel_binding, c.sasl.channel_binding)
				assert.is_true(c:close())
			end
			-- TLS 1.3 without tls-exporter on the server (Prosody 0.12):
			-- no binding type in common, whether or not -PLUS is offered.
			-- Who requires channel binding is refused before any password
			-- leaves, and so is a -PLUS mechanism asked for by name.
			if expected.default.tls13.channel_binding then return end
			local c, err, code, sent = login(nil, nil, { require_channel_binding = true })
			assert.is_nil(c)
			assert.equal("sasl-invalid-mechanism", code, err)
			assert.is_nil(gs2_flag(sent))
			c, err, code, sent = login(expected.plus[1])
			assert.is_nil(c)
			assert.equal("sasl-invalid-mechanism", code, err)
			assert.is_nil(gs2_flag(sent))
		end)

		it("connects with direct TLS (XEP-0368) on the server's TLS port", function()
			local c = assert(connect("bob", { port = server_of().direct_tls_port, direct_tls = true }))
			assert.equal(expected.alpn, c:tls_info().alpn) -- we offer it; the server may not answer
			assert.is_true(c:close())
		end)

		it("finds the server through DNS: SRV records of both kinds, AAAA then A", function()
			local server = server_of()
			-- ::1 first (nothing listens there), then 127.0.0.1
			local dns = dnsmasq.start {
				domains = { server.domain },
				srv = {
					{ "_xmpps-client._tcp." .. server.domain, "tls." .. server.domain, server.direct_tls_port, 5, 0 },
					{ "_xmpp-client._tcp." .. server.domain, "xmpp." .. server.domain, server.port, 10, 0 },
				},
				hosts = {
					{ "tls." .. server.domain, "::1", "127.0.0.1" },
					{ "xmpp." .. server.domain, "127.0.0.1" },
				},
			}
			local ok, err = pcall(function()
				local resolver = require("lxmpp.resolve").dns { nameservers = { dns.nameserver } }
				local c = assert(connect("alice", { host = false, port = false, resolver = resolver }))
				assert.same({ host = "tls." .. server.domain, port = server.direct_tls_port, direct_tls = true },
					c.target)
				assert.equal(expected.alpn, c:tls_info().alpn)
				assert.is_true(c:close())
			end)
			dns:stop()
			assert(ok, err)
		end)

		it("binds the resource asked for, or one the server assigns", function()
			local c = assert(connect("alice", { resource = "balcony" }))
			assert.equal(server_of():account("alice").jid .. "/balcony", c.jid)
			local d = assert(connect("alice"))
			assert.matches("^" .. server_of():account("alice").jid:gsub("%p", "%%%0") .. "/.+", d.jid)
			assert.are_not.equal(c.jid, d.jid)
			assert.is_true(c:close())
			assert.is_true(d:close())
		end)

		it("loses a session to a resource conflict, and says so", function()
			local first = assert(connect("alice", { resource = "same", reconnect = true }))
			local second = assert(connect("alice", { resource = "same" }))
			assert.equal(first.jid, second.jid)
			local none, err, code = first:receive(5)
			assert.is_nil(none)
			assert.equal("conflict", code)
			assert.matches("conflict", err)
			assert.equal("closed", first:state()) -- no reconnection fight
			assert.is_true(second:close())
		end)

		it("carries messages between two accounts, both ways, unaltered", function()
			local a = assert(connect("alice", { resource = "a" }))
			local b = assert(connect("bob", { resource = "b" }))
			local text = "Art thou not Romeo? <&> ünïcödé 🌹"
			assert.is_true(a:message(b.jid, text))
			local m = assert(expect(b, function(s) return s.name == "message" end))
			assert.equal(a.jid, m.attr.from)
			assert.equal("chat", m.attr.type)
			assert.equal(text, m:get_child_text("body"))
			assert.is_true(b:message(a.jid, "Neither, fair saint"))
			assert.equal("Neither, fair saint", assert(expect(a, function(s) return s.name == "message" end))
				:get_child_text("body"))
			assert.is_true(a:close())
			assert.is_true(b:close())
		end)

		it("works over the LuaSocket transport as well", function()
			local a = assert(connect("alice", { resource = "socket", transport = "luasocket" }))
			local b = assert(connect("bob", { resource = "socket", transport = "luasocket" }))
			assert.is_true(a:message(b.jid, "over LuaSocket"))
			assert.equal("over LuaSocket", assert(expect(b, function(s) return s.name == "message" end))
				:get_child_text("body"))
			assert(b:ping(nil, 5))
			assert.is_true(a:close())
			assert.is_true(b:close())
		end)

		it("gets the roster with an iq, and sets it", function()
			local a = assert(connect("alice"))
			local bob = server_of():account("bob").jid
			local set = st.iq({ type = "set", id = a:new_id() }):query("jabber:iq:roster")
				:tag("item", { jid = bob, name = "Bob" }):tag("group"):text("Friends")
			assert(a:iq(set, 5))
			local roster = assert(a:iq(st.iq({ type = "get", id = a:new_id() }):query("jabber:iq:roster"), 5))
			assert.equal("result", roster.attr.type)
			local item = roster:get_child("query", "jabber:iq:roster"):get_child("item")
			assert.equal(bob, item.attr.jid)
			assert.equal("Bob", item.attr.name)
			assert.equal("Friends", item:get_child_text("group"))
			-- an error comes back as nil, message, condition, stanza
			local none, err, condition, reply = a:iq(st.iq({ type = "get", id = a:new_id(), to = bob })
				:query("urn:example:nothing-here"), 5)
			assert.is_nil(none)
			assert.equal("service-unavailable", condition)
			assert.matches("^service%-unavailable", err)
			assert.equal("error", reply.attr.type)
			assert.is_true(a:close())
		end)

		it("subscribes both ways, sees presence come and go with a clean close", function()
			local alice, bob = server_of():account("alice").jid, server_of():account("bob").jid
			local a = assert(connect("alice", { resource = "home" }))
			local b = assert(connect("bob", { resource = "work" }))
			local function presence_from(from, kind)
				return function(s) return s.name == "presence" and s.attr.from == from and s.attr.type == kind end
			end
			-- available resources get subscription requests, interested ones
			-- (that asked for the roster) approvals and roster pushes, which
			-- the client acknowledges (RFC 6121 §2.1.6, §3.1)
			for _, c in ipairs { a, b } do
				assert(c:iq(st.iq({ type = "get", id = c:new_id() }):query("jabber:iq:roster"), 5))
				assert(c:presence())
			end
			-- RFC 6121 §3: request, approval, both ways
			assert(a:subscribe(bob))
			assert(expect(b, presence_from(alice, "subscribe")))
			assert(b:approve(alice))
			assert(expect(a, presence_from(bob, "subscribed")))
			assert(b:subscribe(alice))
			assert(expect(a, presence_from(bob, "subscribe")))
			assert(a:approve(bob))
			assert(expect(b, presence_from(alice, "subscribed")))
			-- available presence, both ways
			assert(a:presence { show = "chat", status = "on the balcony", priority = 5 })
			local p = assert(expect(b, function(s)
				return presence_from(a.jid, nil)(s) and s:get_child_text("status") == "on the balcony"
			end))
			assert.equal("chat", p:get_child_text("show"))
			assert.equal("5", p:get_child_text("priority"))
			assert(b:presence { status = "working" })
			assert(expect(a, function(s)
				return presence_from(b.jid, nil)(s) and s:get_child_text("status") == "working"
			end))
			-- alice closes: the server answers </stream:stream> and tells bob
			assert.is_true(a:close())
			assert(expect(b, presence_from(a.jid, "unavailable")))
			assert.is_true(b:close())
		end)

		it("refuses a wrong password with not-authorized", function()
			local c, err, code = connect("alice", { password = "not alice's" })
			assert.is_nil(c)
			assert.equal("sasl-not-authorized", code)
			assert.matches("not%-authorized", err)
		end)

		it("answers the requests no handler takes, and runs handlers while a call waits", function()
			local a = assert(connect("alice", { resource = "bot" }))
			local b = assert(connect("bob", { resource = "user" }))
			-- no handler: service-unavailable; a ping: a result
			assert(b:send(st.iq({ type = "get", id = "v1", to = a.jid }):query("jabber:iq:version")))
			assert(b:send(st.iq({ type = "get", id = "p1", to = a.jid }):tag("ping", { xmlns = "urn:xmpp:ping" })))
			local function pump(c, seconds)
				assert.is_nil(c:receive(seconds)) -- a's pump runs, and answers; nothing is left for receive
			end
			local answers = {}
			for _ = 1, 2 do
				local r = assert(expect_pumping(b, a, pump, function(s) return s.name == "iq" end))
				answers[r.attr.id] = r
			end
			assert.equal("error", answers.v1.attr.type)
			assert.truthy(answers.v1:get_child("error"):get_child("service-unavailable",
				"urn:ietf:params:xml:ns:xmpp-stanzas"))
			assert.equal("result", answers.p1.attr.type)
			-- a handler that waits for an iq of its own inside: the pump goes on
			a:on("message", function(m, c)
				local roster = assert(c:iq(st.iq({ type = "get", id = c:new_id() }):query("jabber:iq:roster"), 5))
				assert(c:message(m.attr.from, "roster: " .. roster.attr.type))
			end)
			assert(b:message(a.jid, "roster please"))
			local function run_handlers(c, seconds) assert.is_nil(c:loop(seconds)) end
			assert.equal("roster: result", assert(expect_pumping(b, a, run_handlers,
				function(s) return s.name == "message" end)):get_child_text("body"))
			assert.is_true(a:close())
			assert.is_true(b:close())
		end)

		it("reports how the server ends a session, and ends its loops", function()
			local c = assert(connect("bob", { resource = "kicked" }))
			local how = expected.kick(server_of(), "bob", "kicked")
			local ok, err = pcall(function()
				for _ in c:stanzas() do end
			end)
			if how.condition then
				assert.is_false(ok)
				assert.matches(how.condition, err)
			else
				assert(ok, err) -- a clean close ends the loop
			end
			assert.equal("closed", c:state())
		end)

		if expected.drop then
			it("reconnects after the server drops its stream, and sends its presence again", function()
				local c = assert(connect("alice", { resource = "phoenix", reconnect = { delay = 0.2, max_delay = 1 } }))
				local events = {}
				c:on("disconnected", function(_, code, again) events[#events + 1] = { "disconnected", code, again } end)
				c:on("reconnected", function(j) events[#events + 1] = { "reconnected", j } end)
				local function own_presence(s)
					return s.name == "presence" and s.attr.from == c.jid and s:get_child_text("status") == "rising"
				end
				assert(c:presence { status = "rising" })
				assert(expect(c, own_presence))
				expected.drop(server_of(), c.jid)
				assert(expect(c, own_presence, 10)) -- from the new session
				assert.same({ { "disconnected", "system-shutdown", true }, { "reconnected", c.jid } }, events)
				assert.equal("ready", c:state())
				assert.is_true(c:close())
			end)
		end

		-- The examples, run as a user runs them.
		local function example(name, account, args)
			return process.example(server_of(), name, account, args)
		end

		it("runs examples/send.lua and examples/roster.lua", function()
			local alice, bob = server_of():account("alice"), server_of():account("bob")
			local b = assert(connect("bob", { resource = "reader" }))
			assert(b:presence())
			local ok, out = process.run(example("send.lua", alice, { alice.jid, b.jid, "sent from the command line" }))
			assert(ok, out)
			local m = assert(expect(b, function(s) return s.name == "message" end))
			assert.equal("sent from the command line", m:get_child_text("body"))
			assert.is_true(b:close())
			local failed, why, code = process.run(example("send.lua", { password = "wrong" }, { alice.jid, bob.jid, "x" }))
			assert.is_false(failed)
			assert.equal(1, code)
			assert.matches("not%-authorized", why)
			-- the roster as the earlier test left it
			ok, out = process.run(example("roster.lua", alice, { alice.jid }))
			assert(ok, out)
			assert.matches(bob.jid:gsub("%p", "%%%0") .. "\tBob\t%a+\tFriends\n", out)
		end)

		it("runs examples/echo_bot.lua: echoes, and answers !ping", function()
			local bob = server_of():account("bob")
			local dir = process.tempdir()
			local bot, bot_jid = process.start_bot(server_of(), "echo_bot.lua", bob, { bob.jid }, dir .. "/bot.log")
			if not bot then process.remove(dir) end
			assert(bot, "the bot did not come online:\n" .. tostring(bot_jid))
			local ok, err = pcall(function()
				local a = assert(connect("alice", { resource = "talker" }))
				local function ask(text)
					assert(a:message(bot_jid, text))
					return assert(expect(a, function(s) return s.name == "message" and s.attr.from == bot_jid end))
						:get_child_text("body")
				end
				assert.equal("hello, bot", ask("hello, bot"))
				assert.matches("^pong %(%d+%.%d ms%)$", ask("!ping"))
				assert.is_true(a:close())
			end)
			bot:stop()
			process.remove(dir)
			assert(ok, err)
		end)

		it("connects and disconnects 200 times, leaking no descriptor and no memory", function()
			local function cycle()
				local c = assert(connect("alice", { resource = "cycle" }))
				assert.is_true(c:close())
			end
			-- LuaJIT's compiled traces are collectable objects too, and grow
			-- (to a bound) as paths get hot: flushed, they do not count.
			local jit = rawget(_G, "jit")
			local function settle()
				if jit then jit.flush() end
				collectgarbage("collect")
				collectgarbage("collect")
			end
			for _ = 1, 10 do cycle() end -- caches and pools warm up
			settle()
			local fds_before, listing = fds()
			local lua_before = collectgarbage("count")
			for _ = 1, 200 do cycle() end
			settle()
			local fds_after, listing_after = fds()
			assert.equal(fds_before, fds_after, "before:\n" .. listing .. "\nafter:\n" .. listing_after)
			local growth = collectgarbage("count") - lua_before
			assert.is_true(growth < 64, ("Lua memory grew by %.1f KiB"):format(growth))
		end)
	end)
end

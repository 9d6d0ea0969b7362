-- External components (XEP-0114) against a server's component listener:
-- lxmpp.stream's component role over the luasocket transport (the
-- handshake, a wrong secret, messages both ways with an account, a second
-- connection for a domain already connected), then lxmpp.component's
-- object API on cqueues (routing both ways, examples/component_echo.lua, a
-- wrong secret without a reconnection storm, a second component that
-- retries `conflict` with backoff until the first leaves, reconnection
-- after the server is killed and started again on the same ports); with
-- expected.slixmpp, the same from slixmpp's ComponentXMPP. Run by each
-- server's spec file:
--   component_suite(spec, server_of, expected) with expected = {
--     domain =, secret = (the server's component),
--     second = what a second connection for the domain gets: "conflict"
--              (closed with that stream error) or "ready" (both served),
--     second_routing = where stanzas go then, when both are served,
--     restart = function(server): kills the server and starts it again on
--              the same ports,
--     slixmpp = options for slixmpp's runs (nil: no slixmpp),
--     slixmpp_refusals = true: slixmpp is also refused a wrong secret and,
--              while ours holds the domain, with `second`,
--     tls_domain = a component's domain that the server takes over direct
--              TLS on server.component_tls_port, with `secret` and a
--              certificate from interop/certs.lua for its domain and *.domain,
--     tls_resumes = whether it resumes a TLS session on the reconnection,
--     tls_refusal = { code, pattern } of a connection whose tls.server_name
--              the certificate lacks ("tls-hostname-mismatch" by default)
--   }
local clock = require "lxmpp.clock"
local component = require "lxmpp.component"
local counting = require "support.counting_transport"
local cqueues = require "cqueues"
local faultproxy = require "interop.faultproxy"
local process = require "interop.process"
local slixmpp = require "interop.slixmpp"
local client = require "lxmpp.client"
local st = require "lxmpp.stanza"
local stream = require "lxmpp.stream"
local transport = require "lxmpp.transport.luasocket"

return function(spec, server_of, expected)
	local describe, it, assert = spec.describe, spec.it, spec.assert

	-- A component connection and its transport.
	local function open(secret)
		local server = server_of()
		local deadline = clock.now() + 15
		-- the server may open its component port after its client port
		assert(process.wait_port(server.host, server.component_port, deadline))
		local t = assert(transport.connect(server.host, server.component_port, deadline))
		return { conn = stream.component { jid = expected.domain, secret = secret }, t = t }
	end

	-- Pumps c until an event satisfies stop (returned), the stream closes
	-- (its "closed" event returned) or 15 s pass (nil).
	local function until_event(c, stop)
		local deadline = clock.now() + 15
		while clock.now() < deadline do
			local out = c.conn:take_output()
			if out then assert(c.t:write(out, deadline)) end
			for ev in c.conn:events() do
				if ev.type == "closed" or stop(ev) then
					out = c.conn:take_output()
					if out then c.t:write(out, deadline) end
					return ev
				end
			end
			out = c.conn:take_output()
			if out then assert(c.t:write(out, deadline)) end
			local data, _, code = c.t:read(clock.now() + 0.2)
			if data then
				c.conn:receive_bytes(data)
			elseif code ~= "timeout" then
				c.conn:receive_eof()
			end
		end
		return nil
	end

	local function ready(ev) return ev.type == "ready" end

	local function close(c)
		c.conn:close()
		until_event(c, function() return false end)
		c.t:close()
	end

	describe("lxmpp.stream component (XEP-0114)", function()
		it("handshakes with the shared secret and routes messages both ways", function()
			local c = open(expected.secret)
			local ev = until_event(c, ready)
			assert.equal("ready", ev and ev.type, ev and ev.message)
			assert.equal(expected.domain, ev.jid)
			local server = server_of()
			local account = server:account("alice")
			local alice = assert(client.connect { jid = account.jid, password = account.password, host = server.host,
				port = server.port, tls = { cafile = server.cafile }, timeout = 10 })
			assert(alice:message("echo@" .. expected.domain, "hello component"))
			ev = until_event(c, function(e) return e.type == "stanza" end)
			assert.equal("stanza", ev and ev.type)
			assert.equal(alice.jid, ev.stanza.attr.from)
			assert.equal("hello component", ev.stanza:get_child_text("body"))
			assert.is_nil(ev.stanza.attr.xmlns) -- in the stream's namespace, jabber:component:accept
			assert(c.conn:send(st.message({ to = alice.jid, from = "echo@" .. expected.domain, type = "chat" },
				"hello account")))
			assert(c.t:write(c.conn:take_output(), clock.now() + 15))
			local m = alice:receive(10)
			while m and m.name ~= "message" do m = alice:receive(10) end
			assert.equal("echo@" .. expected.domain, m and m.attr.from)
			assert.equal("hello account", m:get_child_text("body"))
			assert.is_true(alice:close())

			-- a second connection for the same domain while the first holds it
			local second = open(expected.secret)
			ev = until_event(second, ready)
			if expected.second == "conflict" then
				assert.equal("closed", ev and ev.type)
				assert.equal("conflict", ev.error)
			else
				assert.equal("ready", ev and ev.type)
				close(second)
			end
			second.t:close()
			close(c)
		end)

		it("refuses a wrong secret with not-authorized", function()
			local c = open("not the secret")
			local ev = until_event(c, ready)
			assert.equal("closed", ev and ev.type)
			assert.equal("not-authorized", ev.error)
			c.t:close()
		end)
	end)

	-- Runs each function in a coroutine of one cqueues controller until
	-- all have returned (at most 90 s of real time, against a hang).
	local function together(...)
		local cq, left = cqueues.new(), select("#", ...)
		for _, fn in ipairs { ... } do
			cq:wrap(function()
				fn()
				left = left - 1
			end)
		end
		local deadline = clock.now() + 90
		while left > 0 do
			assert(cq:step(0.5))
			assert(clock.now() < deadline, "took more than 90 s")
		end
	end

	local function connect(opts)
		local server = server_of()
		assert(process.wait_port(server.host, server.component_port, clock.now() + 15))
		local o = { jid = expected.domain, secret = expected.secret, host = server.host, port = server.component_port,
			timeout = 20 }
		for k, v in pairs(opts or {}) do o[k] = v end
		return component.connect(o)
	end

	local function account(name)
		local server = server_of()
		local a = server:account(name)
		return assert(client.connect { jid = a.jid, password = a.password, host = server.host, port = server.port,
			tls = { cafile = server.cafile }, timeout = 10 })
	end

	-- Echoes each message with a body, from the address it was sent to.
	local function echo(c, label)
		c:on("message", function(m)
			local body = m:get_child_text("body")
			if body then c:send(st.message({ to = m.attr.from, from = m.attr.to, type = "chat" }, label .. body)) end
		end)
	end

	-- alice's message to an address of the component (at `domain`, else
	-- expected.domain), and the answer.
	local function round_trip(alice, body, domain)
		assert(alice:message("echo@" .. (domain or expected.domain), body))
		local m = alice:receive(15)
		while m and m.name ~= "message" do m = alice:receive(15) end
		return m
	end

	describe("lxmpp.component (XEP-0114)", function()
		it("routes both ways with an account through the object API, and asks the server", function()
			together(function()
				local c = assert(connect())
				assert.equal(expected.domain, c.jid)
				local got = {}
				c:on("message", function(m) got[#got + 1] = m end)
				echo(c, "echo: ")
				local runner = cqueues.running()
				runner:wrap(function() c:loop() end)
				local alice = account("alice")
				local m = round_trip(alice, "hello component")
				assert.equal("echo@" .. expected.domain, m and m.attr.from)
				assert.equal("echo: hello component", m:get_child_text("body"))
				assert.equal(alice.jid, got[1].attr.from)
				-- stamped with the domain, and an iq to the server answered through the object API
				assert(c:send(st.message({ to = alice.jid, type = "chat" }, "from the domain")))
				m = alice:receive(15)
				assert.equal(expected.domain, m and m.attr.from)
				local info = assert(c:use("disco"):info(server_of().domain))
				assert.is_true(#info.identities > 0)
				assert.is_true(alice:close())
				assert.is_true(c:close())
			end)
		end)

		it("runs examples/component_echo.lua, which echoes an account's messages", function()
			local server = server_of()
			local log = process.tempdir() .. "/component_echo.log"
			local proc = process.spawn({ "env", "COMPONENT_SECRET=" .. expected.secret, require "support.lua_command",
				"examples/component_echo.lua", expected.domain, server.host, tostring(server.component_port) },
				{ log = log })
			local deadline = clock.now() + 15
			while not process.read(log):find("online as " .. expected.domain, 1, true) do
				assert(clock.now() < deadline and proc:alive(), "component_echo did not come online:\n" .. process.read(log))
				cqueues.sleep(0.05)
			end
			together(function()
				local alice = account("alice")
				local m = round_trip(alice, "hello example")
				assert.equal("echo@" .. expected.domain, m and m.attr.from)
				assert.equal("hello example", m:get_child_text("body"))
				assert.is_true(alice:close())
			end)
			proc:stop()
		end)

		it("returns not-authorized for a wrong secret, after one connection, even with reconnect", function()
			together(function()
				local t = counting()
				local c, err, code = connect { secret = "not the secret", reconnect = true, transport = t }
				assert.is_nil(c)
				assert.equal("not-authorized", code, err)
				assert.equal(1, t.connects)
			end)
		end)

		if expected.second == "conflict" then
			it("lets a second component for the domain retry conflict with backoff until the first leaves", function()
				local t = counting()
				local first, second, err, code
				together(function()
					first = assert(connect())
					-- the first leaves once the second was refused three times
					while t.connects < 4 do cqueues.sleep(0.05) end
					assert.is_true(first:close())
				end, function()
					while not first do cqueues.sleep(0.05) end
					second, err, code = connect { transport = t, reconnect = { delay = 0.25, max_delay = 1 } }
				end)
				assert(second, err)
				assert.is_nil(code)
				assert.is_true(t.connects >= 4)
				together(function()
					echo(second, "second: ")
					cqueues.running():wrap(function() second:loop() end)
					local alice = account("alice")
					assert.equal("second: hi", round_trip(alice, "hi"):get_child_text("body"))
					assert.is_true(alice:close())
					assert.is_true(second:close())
				end)
			end)
		else
			it("serves a second component for the domain at once; " .. expected.second_routing, function()
				together(function()
					local first = assert(connect())
					local t = counting()
					local second = assert(connect { transport = t, reconnect = true })
					assert.equal(1, t.connects)
					echo(first, "first: ")
					echo(second, "second: ")
					cqueues.running():wrap(function() first:loop() end)
					cqueues.running():wrap(function() second:loop() end)
					local alice = account("alice")
					local answers = {}
					for i = 1, 6 do
						local m = round_trip(alice, "m" .. i)
						answers[#answers + 1] = m and m:get_child_text("body"):match("^(%a+):")
					end
					for i, who in ipairs(answers) do
						assert.is_true(who == "first" or who == "second", ("m%d answered by %s"):format(i, tostring(who)))
					end
					assert.is_nil(alice:receive(1)) -- once each: no other answer comes
					assert.is_true(alice:close())
					assert.is_true(first:close())
					assert.is_true(second:close())
				end)
			end)
		end

		it("reconnects after the server restarts, and routes again", function()
			local c, events = nil, {}
			together(function()
				c = assert(connect { reconnect = { delay = 0.5, max_delay = 2 } })
				echo(c, "echo: ")
				c:on("disconnected", function(_, code, again) events[#events + 1] = { "disconnected", code, again } end)
				c:on("reconnected", function(j) events[#events + 1] = { "reconnected", j } end)
				cqueues.running():wrap(function() c:loop() end)
				expected.restart(server_of())
				local deadline = clock.now() + 60
				while #events < 2 do
					assert(clock.now() < deadline, "not reconnected within 60 s")
					cqueues.sleep(0.1)
				end
				assert.equal("disconnected", events[1][1])
				assert.is_true(events[1][3])
				assert.same({ "reconnected", expected.domain }, events[2])
				local alice = account("alice")
				local m = round_trip(alice, "after the restart")
				assert.equal("echo: after the restart", m and m:get_child_text("body"))
				assert.is_true(alice:close())
				assert.is_true(c:close())
			end)
		end)
	end)

	if expected.tls_domain then
		-- docs/component.md, "Direct TLS"
		describe("lxmpp.component over direct TLS", function()
			local function connect_tls(opts, tls)
				local server = server_of()
				local o = { jid = expected.tls_domain, port = server.component_tls_port, direct_tls = true,
					tls = { cafile = server.cafile } }
				for k, v in pairs(opts or {}) do o[k] = v end
				for k, v in pairs(tls or {}) do o.tls[k] = v end
				return connect(o)
			end

			it("verifies the component's domain by default and routes both ways with an account", function()
				together(function()
					local c = assert(connect_tls())
					assert.is_true(c:tls_info().verified)
					assert.equal(expected.tls_domain, c:tls_info().server_name)
					echo(c, "echo: ")
					cqueues.running():wrap(function() c:loop() end)
					local alice = account("alice")
					local m = round_trip(alice, "over TLS", expected.tls_domain)
					assert.equal("echo@" .. expected.tls_domain, m and m.attr.from)
					assert.equal("echo: over TLS", m:get_child_text("body"))
					assert.is_true(alice:close())
					assert.is_true(c:close())
				end)
			end)

			it("verifies the server's own name given in tls.server_name", function()
				together(function()
					local domain = server_of().domain
					local c = assert(connect_tls(nil, { server_name = domain }))
					assert.is_true(c:tls_info().verified)
					assert.equal(domain, c:tls_info().server_name)
					assert.truthy(c:ping())
					assert.is_true(c:close())
				end)
			end)

			it("refuses a name the certificate lacks (or the server has none for), once, even with reconnect", function()
				together(function()
					local t = counting()
					local c, err, code = connect_tls({ reconnect = { delay = 0.01 }, transport = t },
						{ server_name = "elsewhere.test" })
					assert.is_nil(c)
					local refusal = expected.tls_refusal or { "tls-hostname-mismatch", "hostname mismatch" }
					assert.equal(refusal[1], code)
					assert.matches(refusal[2], err)
					assert.equal(1, t.connects)
					c = assert(connect_tls()) -- the secret was never sent: the domain is free
					assert.is_true(c:close())
				end)
			end)

			it((expected.tls_resumes and "resumes" or "does not resume")
				.. " the TLS session when it reconnects after a cut", function()
				local server = server_of()
				-- past the handshake (about 2 kB down with the certificate): the cut hits a ready stream
				local proxy = faultproxy.start { host = server.host, port = server.component_tls_port, seed = 7,
					cuts = 1, min = 4000, max_up = 4000, max_down = 4000 }
				local c
				local ok, err = pcall(together, function()
					c = assert(connect_tls { host = "127.0.0.1", port = proxy.port,
						reconnect = { delay = 0.02, max_delay = 0.2 } })
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
					assert.equal(expected.tls_resumes, report.tls_resumed)
					assert.equal(expected.tls_resumes, c:tls_info().resumed)
					assert.is_true(c:tls_info().verified)
					assert.truthy(c:ping())
				end)
				if c then c:close() end
				proxy:stop()
				assert(ok, err)
			end)
		end)
	end

	if not expected.slixmpp then return end

	-- slixmpp as the component, for `secret`; its reports and output
	local function run_slixmpp(mode, secret, accounts)
		local server = server_of()
		local o = { component = ("%s:%s:%d"):format(expected.domain, secret, server.component_port) }
		for k, v in pairs(expected.slixmpp) do o[k] = v end
		return slixmpp.run(server, mode, accounts, o)
	end

	describe("slixmpp's ComponentXMPP (XEP-0114)", function()
		it("routes messages to and from it", function()
			local reports, output = run_slixmpp("component", expected.secret, { server_of():account("alice") })
			local report = reports[1]
			assert(report and report.ok, "slixmpp said:\n" .. output)
			assert.same({ from = "echo@" .. expected.domain, body = "tnenopmoc olleh" },
				{ from = report.from, body = report.body })
		end)

		if not expected.slixmpp_refusals then return end

		it("is refused a wrong secret, and a domain our component holds", function()
			local reports, output = run_slixmpp("component-refused", "not the secret", {})
			assert(reports[1] and reports[1].ok, "slixmpp said:\n" .. output)
			assert.equal("not-authorized", reports[1].condition)
			local ours = open(expected.secret)
			local ev = until_event(ours, ready)
			assert.equal("ready", ev and ev.type)
			reports, output = run_slixmpp("component-refused", expected.secret, {})
			assert(reports[1] and reports[1].ok, "slixmpp said:\n" .. output)
			assert.equal(expected.second, reports[1].condition)
			close(ours)
		end)
	end)
end

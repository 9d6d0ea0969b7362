-- lxmpp.stream's component role (XEP-0114) against a server's component
-- listener, over the luasocket transport: the handshake, a wrong secret,
-- messages both ways with an account (lxmpp.client), and a second
-- connection for a domain already connected; with expected.slixmpp, the
-- same from slixmpp's ComponentXMPP. Run by each server's spec file:
--   component_suite(spec, server_of, expected) with expected = {
--     domain =, secret = (the server's component),
--     second = what a second connection for the domain gets: "conflict"
--              (closed with that stream error) or "ready" (both served),
--     slixmpp = options for slixmpp's runs (nil: no slixmpp),
--     slixmpp_refusals = true: slixmpp is also refused a wrong secret and,
--              while ours holds the domain, with `second`
--   }
local clock = require "lxmpp.clock"
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
			until_event(c, function() return c.conn:pending() == 0 end)
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

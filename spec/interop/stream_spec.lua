-- lxmpp.stream's client role against the real servers of the interop
-- harness (Prosody 0.12, ejabberd 23.01 from the distribution), over the
-- luasocket transport: STARTTLS and direct TLS, TLS 1.3 and 1.2, a message
-- from one account to another, a wrong password, the closing handshake.
local clock = require "lxmpp.clock"
local stream = require "lxmpp.stream"
local st = require "lxmpp.stanza"
local transport = require "lxmpp.transport.luasocket"

-- A client session: connects, negotiates, runs `on` for each event until
-- it returns true or the stream ends; returns the connection, its events
-- and the transport. `opts` go to stream.client.
local function session(server, account, opts, on)
	local deadline = clock.now() + 15
	local direct = opts.tls == "direct"
	local t = assert(transport.connect(server.host, direct and server.direct_tls_port or server.port, deadline))
	local o = { jid = account.jid .. "/lxmpp", password = account.password, cafile = server.cafile }
	for k, v in pairs(opts) do o[k] = v end
	local conn = stream.client(o)
	local events = {}
	local function flush()
		local out = conn:take_output()
		if out then assert(t:write(out, deadline)) end
	end
	while true do
		flush()
		for ev in conn:events() do
			events[#events + 1] = ev
			if ev.type == "closed" or (on and on(conn, ev)) then
				flush()
				return conn, events, t
			end
		end
		flush()
		local data, err, code = t:read(deadline)
		if not data then
			conn:receive_eof()
			error(("transport: %s (%s)"):format(err, code))
		end
		conn:receive_bytes(data)
	end
end

local function types(events)
	local t = {}
	for _, ev in ipairs(events) do t[#t + 1] = ev.type end
	return table.concat(t, " ")
end

-- Closes a session cleanly: our </stream:stream>, the server's, EOF.
local function close(conn, t)
	assert(conn:close())
	local _, events = pcall(function()
		local deadline = clock.now() + 10
		local evs = {}
		while conn:state() == "closing" do
			local out = conn:take_output()
			if out then t:write(out, deadline) end
			local data = t:read(deadline)
			if not data then conn:receive_eof() break end
			conn:receive_bytes(data)
			for ev in conn:events() do evs[#evs + 1] = ev end
		end
		return evs
	end)
	t:close()
	return conn:state(), events
end

for _, case in ipairs{
	{ name = "Prosody", harness = "interop.prosody", domain = "prosody.test" },
	{ name = "ejabberd", harness = "interop.ejabberd", domain = "ejabberd.test" },
} do
	describe("lxmpp.stream against " .. case.name, function()
		local server

		lazy_setup(function()
			server = require(case.harness).start{ domain = case.domain }
		end)

		lazy_teardown(function()
			if server then server:stop() end
		end)

		for _, tls in ipairs{ "required", "direct" } do
			for _, version in ipairs{ "1.3", "1.2" } do
				it(("negotiates with %s TLS %s and delivers a message"):format(tls, version), function()
					local alice, bob = server:account("alice"), server:account("bob")
					local opts = { tls = tls, max_tls = version }
					local b, bevents, bt = session(server, bob, opts, function(_, ev)
						return ev.type == "ready"
					end)
					assert.equal("ready", b:state(), types(bevents))
					assert.equal("TLSv" .. version, b:tls_info().version)
					assert.is_true(b:tls_info().verified)
					-- bob says he is there, so that the message is delivered
					assert(b:send(st.presence()))
					local a, aevents, at = session(server, alice, opts, function(conn, ev)
						if ev.type == "ready" then
							assert(conn:send(st.message({ to = bob.jid .. "/lxmpp", type = "chat" },
								"Art thou not Romeo?")))
							return true
						end
					end)
					assert.equal(alice.jid .. "/lxmpp", a:jid(), types(aevents))
					local _, got = pcall(function()
						local deadline = clock.now() + 10
						while true do
							local out = b:take_output()
							if out then bt:write(out, deadline) end
							for ev in b:events() do
								if ev.type == "stanza" and ev.stanza.name == "message" then return ev.stanza end
							end
							b:receive_bytes(assert(bt:read(deadline)))
						end
					end)
					assert.equal("Art thou not Romeo?", type(got) == "table" and got:get_child_text("body") or got)
					assert.equal(alice.jid .. "/lxmpp", got.attr.from)
					assert.equal("closed", (close(a, at)))
					assert.equal("closed", (close(b, bt)))
				end)
			end
		end

		it("reports a wrong password", function()
			local alice = server:account("alice")
			local conn, events, t = session(server, { jid = alice.jid, password = "wherefore" }, {})
			t:close()
			local closed = events[#events]
			assert.equal("closed", closed.type)
			assert.equal("sasl-not-authorized", closed.error, types(events))
			assert.equal("failed", conn:state())
		end)
	end)
end

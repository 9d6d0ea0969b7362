-- lxmpp.stream: the Lua face of the sans-I/O connection. Our client and
-- our server wired back to back in one process, and the failures a user
-- must see.
local stream = require "lxmpp.stream"
local st = require "lxmpp.stanza"

local cert, key = stream.selfsigned("im.example.com")
local other_cert, other_key = stream.selfsigned("other.example")

local function client(opts)
	local o = { jid = "juliet@im.example.com/balcony", password = "r0m30myr0m30", ca = cert }
	for k, v in pairs(opts or {}) do o[k] = v end
	return stream.client(o)
end

local function server(opts)
	local o = { domains = { "im.example.com" }, certificate = cert, key = key }
	for k, v in pairs(opts or {}) do o[k] = v end
	return stream.server(o)
end

-- A server application: juliet's password, any resource.
local function answer(conn, ev)
	if ev.type == "auth-request" then
		if ev.username == "juliet" then
			assert(conn:answer_auth{ password = "r0m30myr0m30" })
		else
			assert(conn:answer_auth(false, "not-authorized"))
		end
	elseif ev.type == "bind-request" then
		assert(conn:accept_bind("juliet@im.example.com/" .. (ev.resource or "gen")))
	end
end

-- Moves bytes both ways, in pieces of `chunk` bytes, until both are quiet:
-- the caller's loop (give every byte, take the events, write the output).
-- Returns the events of each side (tables), and each side's failure (as
-- { message, code }, from receive_bytes or the "closed" event).
local function pump(c, s, opts)
	opts = opts or {}
	local chunk = opts.chunk or 2 ^ 30
	local log = { [c] = opts.c_events or {}, [s] = opts.s_events or {} }
	local failed = { [c] = nil, [s] = nil }
	local wire = { [c] = "", [s] = "" }
	for _ = 1, 10000 do
		local moved = false
		for _, pair in ipairs{ { c, s }, { s, c } } do
			local from, to = pair[1], pair[2]
			local out = from:take_output()
			if out then
				wire[to] = wire[to] .. out
				moved = true
			end
			local function drain()
				for ev in to:events() do
					moved = true
					table.insert(log[to], ev)
					if ev.type == "closed" and ev.error then
						failed[to] = failed[to] or { ev.message, ev.error }
					end
					if to == s and not opts.hold then answer(s, ev) end
				end
			end
			local at = 1
			while at <= #wire[to] and not failed[to] do
				local piece = wire[to]:sub(at, at + chunk - 1)
				local n, err, code = to:receive_bytes(piece)
				if not n then
					failed[to] = { err, code }
				else
					assert.equal(#piece, n) -- every byte, always
					moved = true
				end
				at = at + #piece
				drain()
			end
			wire[to] = ""
			drain()
		end
		if not moved then break end
	end
	return log[c], log[s], failed[c], failed[s]
end

local function types(events)
	local t = {}
	for _, ev in ipairs(events) do
		if ev.type ~= "sent" and ev.type ~= "received" then t[#t + 1] = ev.type end
	end
	return table.concat(t, " ")
end

local function find(events, kind)
	for _, ev in ipairs(events) do
		if ev.type == kind then return ev end
	end
end

describe("lxmpp.stream", function()
	it("negotiates STARTTLS, SCRAM and bind, exchanges stanzas and closes", function()
		local c, s = client(), server()
		local ce, se = pump(c, s)
		assert.equal("opened features tls opened features authenticated opened features ready", types(ce))
		assert.equal("opened tls opened auth-request authenticated opened bind-request ready", types(se))
		assert.equal("juliet@im.example.com/balcony", c:jid())
		assert.equal("juliet@im.example.com/balcony", find(ce, "ready").jid)
		assert.equal("balcony", find(se, "bind-request").resource)
		assert.equal("SCRAM-SHA-512-PLUS", find(se, "auth-request").mechanism)
		assert.equal("im.example.com", find(ce, "opened").from)
		assert.equal(c:stream_id(), s:stream_id())
		assert.equal("TLSv1.3", c:tls_info().version)
		assert.is_true(find(ce, "tls").tls.verified)
		assert.equal("ready", c:state())
		-- the features are stanzas, with their methods
		local features = find(ce, "features").features
		assert.equal("features", features.name)
		assert.truthy(features:get_child("starttls", "urn:ietf:params:xml:ns:xmpp-tls"))

		-- stanzas both ways; the server stamps the sender
		assert.is_true(c:send(st.message({ to = "romeo@example.net", from = "forged@evil.example", type = "chat" },
			"Art thou not Romeo, and a Montague?")))
		assert(s:send(st.message({ to = "juliet@im.example.com/balcony", from = "romeo@example.net/orchard" },
			"Neither, fair saint, if either thee dislike.")))
		ce, se = pump(c, s, { c_events = {}, s_events = {} })
		local got = find(se, "stanza").stanza
		assert.equal("juliet@im.example.com/balcony", got.attr.from)
		assert.equal("Art thou not Romeo, and a Montague?", got:get_child_text("body"))
		assert.equal(st.stanza_mt, getmetatable(got))
		assert.equal("Neither, fair saint, if either thee dislike.", find(ce, "stanza").stanza:get_child_text("body"))

		-- the closing handshake
		assert.is_true(c:close())
		ce, se = pump(c, s, { c_events = {}, s_events = {} })
		assert.equal("closed", types(ce))
		assert.equal("closed", types(se))
		assert.is_nil(find(ce, "closed").error)
		assert.equal("closed", c:state())
		assert.equal("closed", s:state())
		assert.is_true(c:receive_eof())
	end)

	it("gives the same events byte by byte", function()
		local a = { pump(client{ mechanisms = { "SCRAM-SHA-256" } }, server()) }
		local b = { pump(client{ mechanisms = { "SCRAM-SHA-256" } }, server(), { chunk = 1 }) }
		assert.equal(types(a[1]), types(b[1]))
		assert.equal(types(a[2]), types(b[2]))
	end)

	it("takes every byte but acts on none while a decision is pending", function()
		local c = client{ tls = "disabled" }
		local s = server{ tls = "disabled" }
		local ce, se = pump(c, s, { hold = true })
		assert.equal("opened auth-request", types(se))
		assert.equal("negotiating", s:state())
		assert.is_false(s:want_read()) -- paused: read no more for now
		-- what the client sends meanwhile waits for the answer
		local out = c:take_output()
		assert.is_nil(out)
		assert.equal(2, s:receive_bytes(" \n"))
		assert.equal(1, s:receive_bytes("xx\n", 3)) -- from byte 3
		assert.equal(0, s:receive_bytes(""))
		assert.is_nil(s:next_event())
		assert.is_true(s:answer_auth{ password = "r0m30myr0m30" })
		pump(c, s, { c_events = ce, s_events = se })
		assert.equal("ready", c:state())
		assert.equal("ready", s:state())
	end)

	it("reports the peer's faults as nil, message, code", function()
		-- a wrong password
		local c = client{ password = "wherefore" }
		local ce, _, cfail = pump(c, server())
		assert.same("sasl-not-authorized", cfail[2])
		local closed = find(ce, "closed")
		assert.equal("sasl-not-authorized", closed.error)
		assert.truthy(closed.message)
		assert.equal("failed", c:state())
		local msg, code = c:error()
		assert.equal("sasl-not-authorized", code)
		assert.truthy(msg)
		local n, err, code2 = c:receive_bytes("more")
		assert.is_nil(n)
		assert.truthy(err)
		assert.equal("sasl-not-authorized", code2)

		-- a certificate for another domain, trusted or not
		local _, _, cf = pump(client{ ca = other_cert }, server{ certificate = other_cert, key = other_key })
		assert.equal("tls-hostname-mismatch", cf[2])
		_, _, cf = pump(client(), server{ certificate = other_cert, key = other_key })
		assert.equal("tls-certificate-invalid", cf[2])

		-- STARTTLS stripped by a meddling server
		c = client()
		local ce2, _, cf2 = pump(c, server{ tls = "disabled" })
		assert.equal("starttls-not-offered", cf2[2])
		assert.equal("starttls-not-offered", find(ce2, "closed").error)

		-- a resource in use
		c = client()
		local s = server()
		local events = {}
		local log = {}
		for _ = 1, 3 do
			local ce3, se3 = pump(c, s, { hold = true, c_events = log, s_events = events })
			log, events = ce3, se3
			for _, ev in ipairs(events) do
				if ev.type == "auth-request" and not ev.done then
					ev.done = true
					assert(s:answer_auth{ password = "r0m30myr0m30" })
				elseif ev.type == "bind-request" and not ev.done then
					ev.done = true
					assert(s:refuse_bind("conflict", "in use"))
				end
			end
		end
		assert.equal("bind-conflict", find(log, "closed").error)
	end)

	it("sends and reads stream errors", function()
		local c, s = client{ tls = "disabled" }, server{ tls = "disabled" }
		pump(c, s)
		assert.is_true(s:stream_error{ condition = "see-other-host", other_host = "example.org:5223",
			text = "moved", app = st.stanza("moved", { xmlns = "urn:example:app" }) })
		local ce = pump(c, s)
		local ev = find(ce, "stream-error")
		assert.equal("see-other-host", ev.condition)
		assert.equal("example.org:5223", ev.other_host)
		assert.equal("moved", ev.text)
		assert.equal("moved", ev.app.name)
		assert.equal("urn:example:app", ev.app.attr.xmlns)
		assert.equal("see-other-host", find(ce, "closed").error)

		c, s = client{ tls = "disabled" }, server{ tls = "disabled" }
		pump(c, s)
		assert.is_true(c:stream_error("policy-violation", "no thanks"))
		local _, se = pump(c, s)
		assert.equal("policy-violation", find(se, "stream-error").condition)
		assert.equal("no thanks", find(se, "stream-error").text)
	end)

	it("raises on misuse", function()
		local c = client()
		assert.has_error(function() c:send(st.message()) end) -- not ready
		assert.has_error(function() c:accept_bind("a@b/c") end)
		assert.has_error(function() c:answer_auth{ password = "x" } end)
		assert.has_error(function() c:refuse_bind("bogus") end)
		assert.has_error(function() c:stream_error("bogus") end)
		assert.has_error(function() c:send("not a stanza") end)
		assert.has_error(function() stream.client{ password = "x" } end) -- no jid
		assert.has_error(function() stream.client{ jid = "a@b", tls = "sometimes" } end)
		assert.has_error(function() stream.server{ domains = { "a.example" }, certificate = "junk", key = "junk" } end)
		assert.has_error(function() stream.server{ tls = "disabled" } end) -- no domains
		assert.has_error(function() stream.server{ domains = { "a.example" }, tls = "disabled",
			max_auth_attempts = 9 } end)
		local s = server()
		assert.has_error(function() s:accept_bind("juliet@im.example.com/x") end)
		getmetatable(c).__close(c)
		assert.has_error(function() c:take_output() end)
		assert.matches("released", tostring(c))
	end)

	it("shares a TLS context, resumes a TLS session, negotiates direct TLS", function()
		local sctx = stream.tls_context("server", { certificate = cert, key = key, alpn = { "xmpp-client" } })
		local cctx = stream.tls_context("client", { ca = cert })
		local c = client{ tls_context = cctx }
		pump(c, server{ tls_context = sctx })
		local session = c:tls_session()
		assert.truthy(session)
		local c2 = client{ tls_context = cctx, tls_session = session }
		pump(c2, server{ tls_context = sctx })
		assert.is_true(c2:tls_info().resumed)
		assert.equal("ready", c2:state())
		assert.has_error(function() stream.client{ jid = "a@b", tls_context = sctx } end) -- a server's

		local c3 = client{ tls = "direct" }
		local s3 = server{ tls = "direct" }
		local ce = pump(c3, s3)
		assert.equal("tls opened features authenticated opened features ready", types(ce))
		assert.equal("xmpp-client", c3:tls_info().alpn)
	end)

	it("traces the plaintext XML both ways", function()
		local c, s = client{ trace = true, mechanisms = { "SCRAM-SHA-1" } }, server{ trace = true }
		local ce, se = pump(c, s)
		local sent, got = {}, {}
		for _, ev in ipairs(ce) do
			if ev.type == "sent" then sent[#sent + 1] = ev.data end
		end
		for _, ev in ipairs(se) do
			if ev.type == "received" then got[#got + 1] = ev.data end
		end
		assert.equal(table.concat(sent), table.concat(got))
		assert.matches("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", table.concat(sent), 1, true)
		assert.matches("mechanism='SCRAM-SHA-1'", table.concat(sent), 1, true)
	end)

	it("takes its ids, nonces and salts from the random option (tests)", function()
		local function run()
			local c = client{ trace = true, tls = "disabled", random = "\1" }
			local s = server{ trace = true, tls = "disabled", random = "\2" }
			local ce = pump(c, s)
			assert.equal("ready", c:state())
			local sent = {}
			for _, ev in ipairs(ce) do
				if ev.type == "sent" or ev.type == "received" then sent[#sent + 1] = ev.data end
			end
			return s:stream_id(), table.concat(sent)
		end
		local id, transcript = run()
		assert.equal(("02"):rep(16), id)
		-- the same bytes, the same stream: every id, nonce and salt repeats
		local id2, transcript2 = run()
		assert.equal(id, id2)
		assert.equal(transcript, transcript2)
		assert.matches("<iq type='set' id='" .. ("01"):rep(16) .. "'>", transcript, 1, true)
	end)

	it("keeps the stream alive on request", function()
		local c, s = client{ tls = "disabled" }, server{ tls = "disabled" }
		assert.is_false(c:keepalive()) -- negotiating
		pump(c, s)
		assert.is_true(c:keepalive())
		assert.equal(1, c:pending())
		assert.equal(" ", c:take_output())
		assert.equal(1, s:receive_bytes(" "))
		assert.is_nil(s:next_event())
	end)

	it("releases the parser of an idle stream and rebuilds it", function()
		local c, s = client(), server()
		assert.is_true(c:trim()) -- waiting for the server's header: its expat
		assert.is_false(c:trim())
		pump(c, s)
		assert.is_true(c:trim())
		assert.is_true(s:trim())
		assert.is_true(s:send(st.message({ to = "juliet@im.example.com/balcony" }, "still there")))
		local ce = pump(c, s)
		assert.equal("still there", find(ce, "stanza").stanza:get_child_text("body"))
	end)

	it("bounds the output queue", function()
		local c, s = client{ tls = "disabled", max_output = 3000 }, server{ tls = "disabled" }
		pump(c, s)
		local body = ("x"):rep(1000)
		assert.is_true(c:send(st.message({}, body)))
		assert.is_true(c:send(st.message({}, body)))
		local ok, err, code = c:send(st.message({}, body))
		assert.is_nil(ok)
		assert.truthy(err)
		assert.equal("queue-full", code)
		assert.truthy(c:take_output())
		assert.is_true(c:send(st.message({}, body)))
	end)
end)

describe("make demo", function()
	it("plays RFC 6120 §9 between our client and our server", function()
		local lines = {}
		local write = io.write
		io.write = function(...) lines[#lines + 1] = table.concat({ ... }) end -- luacheck: ignore
		local ok, err = pcall(dofile, "examples/demo.lua")
		io.write = write -- luacheck: ignore
		assert(ok, err)
		local text = table.concat(lines)
		assert.matches("C: <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", text, 1, true)
		assert.matches("S: <proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", text, 1, true)
		assert.matches("C: [TLS handshake:", text, 1, true)
		assert.matches("mechanism='SCRAM-SHA-1'", text, 1, true)
		assert.matches("<jid>juliet@im.example.com/balcony</jid>", text, 1, true)
		assert.matches("Art thou not Romeo, and a Montague?", text, 1, true)
		assert.matches("Neither, fair saint, if either thee dislike.", text, 1, true)
		assert.matches("C: </stream:stream>\nS: </stream:stream>\n$", text)
	end)
end)

describe("docs/stream.md", function()
	for name, run in require "support.doc_examples"("docs/stream.md") do it(name, run) end
end)

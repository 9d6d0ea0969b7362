-- lxmpp.server over loopback sockets, with lxmpp.client as the client,
-- everything inside one cqueues controller (the clients' waits yield to it,
-- so the server runs while they wait). Time-driven limits use an injected
-- clock moved by the test, never sleeps.
local cqueues = require "cqueues"
local socket = require "cqueues.socket"
local client = require "lxmpp.client"
local clock = require "lxmpp.clock"
local server = require "lxmpp.server"
local lua_command = require "support.lua_command"
local raised = require "support.raised"

-- A coroutine of the controller waits inside these, also on Lua 5.1.
local compat = require "lxmpp.compat"
local xpcall, pcall = compat.xpcall, compat.pcall
local st = require "lxmpp.stanza"
local stream = require "lxmpp.stream"
local transport = require "lxmpp.transport.cqueues"

local DOMAIN = "im.example.com"
local CERT, KEY = stream.selfsigned(DOMAIN)
local ACCOUNTS = { juliet = "r0m30myr0m30", romeo = "wherefore", nurse = "anon" }

-- A clock the test moves.
local function fake_clock()
	local t = { now = 1000 }
	t.fn = function() return t.now end
	return t
end

local function config(extra)
	local c = {
		domain = DOMAIN, certificate = CERT, key = KEY, accounts = ACCOUNTS, iterations = 4096,
		listen = { { host = "127.0.0.1", port = 0 }, { host = "::1", port = 0, direct_tls = true } },
	}
	for k, v in pairs(extra or {}) do c[k] = v end
	return c
end

-- Runs fn(srv, cq) in a coroutine of a fresh controller with a started
-- server, until it returns (errors propagate); then closes the server.
local function with_server(extra, fn)
	if fn == nil then extra, fn = nil, extra end
	local cq = cqueues.new()
	local srv = server.new(config(extra))
	assert(srv:start(cq))
	local done, failure = false, nil
	cq:wrap(function()
		local ok, err = xpcall(fn, debug.traceback, srv, cq)
		if not ok then failure = err end
		srv:close(2)
		done = true
	end)
	local deadline = clock.now() + 60
	while not done do
		local ok, err = cq:step(0.5)
		if not ok then error(err) end
		assert(clock.now() < deadline, "the test did not finish in time")
	end
	if failure then error(failure, 0) end
	return srv
end

local function port_of(srv, direct)
	for _, l in ipairs(srv:addresses_bound()) do
		if l.direct_tls == (direct or false) then return l.port, l.host end
	end
end

local function connect(srv, user, opts)
	local port, host = port_of(srv, opts and opts.direct_tls)
	local o = {
		jid = user .. "@" .. DOMAIN, password = ACCOUNTS[user], host = host, port = port,
		tls = { ca = CERT }, timeout = 10,
	}
	for k, v in pairs(opts or {}) do o[k] = v end
	return client.connect(o)
end

local iq_ids = 0
local function iq(attr, ns)
	iq_ids = iq_ids + 1
	attr.id = "t" .. iq_ids
	local s = st.iq(attr)
	if ns then s:query(ns) end
	return s
end

-- The next stanza the client receives that `keep` accepts (others skipped).
local function next_stanza(c, keep, timeout)
	local deadline = clock.now() + (timeout or 5)
	while clock.now() < deadline do
		local s = c:receive(math.max(0, deadline - clock.now()))
		if s and (not keep or keep(s)) then return s end
	end
	return nil
end

local function is_message(s) return s.name == "message" end

-- A raw socket to the server, for what a real client would not do.
local function raw(srv)
	local port, host = port_of(srv)
	local sock = assert(socket.connect { host = host, port = port })
	assert(sock:connect(5))
	return transport.wrap(sock)
end

local function read_until(t, pattern, seconds)
	local got, deadline = "", clock.now() + (seconds or 5)
	while not got:find(pattern) do
		local data = t:read(deadline)
		if not data then break end
		got = got .. data
	end
	return got
end

local HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
	.. "xmlns:stream='http://etherx.jabber.org/streams' to='" .. DOMAIN .. "' version='1.0'>"

describe("lxmpp.server", function()
	describe("logging in", function()
		it("negotiates STARTTLS, SCRAM with channel binding and binds; direct TLS over IPv6 with ALPN", function()
			with_server(function(srv)
				local c = assert(connect(srv, "juliet", { resource = "balcony" }))
				assert.equal("juliet@im.example.com/balcony", c.jid)
				assert.same({ mechanism = "SCRAM-SHA-512-PLUS", channel_binding = "tls-exporter" }, c.sasl)
				assert.equal("TLSv1.3", c:tls_info().version)
				assert.equal(srv.sessions[c.jid].full_jid, c.jid)
				local d = assert(connect(srv, "romeo", { direct_tls = true }))
				assert.matches("^romeo@im%.example%.com/.+", d.jid)
				assert.equal("xmpp-client", d:tls_info().alpn)
				assert.is_true(c:close())
				assert.is_true(d:close())
			end)
		end)

		it("keeps SCRAM keys, never the password, and checks PLAIN against them", function()
			with_server(function(srv)
				local record = srv.storage:open_store(DOMAIN .. "/accounts"):get("juliet")
				assert.same({ "SHA-1", "SHA-256", "SHA-512" }, (function()
					local hashes = {}
					for h in pairs(record) do hashes[#hashes + 1] = h end
					table.sort(hashes)
					return hashes
				end)())
				assert.falsy(require("lxmpp.server.serialize").encode(record):find(ACCOUNTS.juliet, 1, true))
				local c = assert(connect(srv, "juliet", { mechanisms = { "PLAIN" } }))
				assert.equal("PLAIN", c.sasl.mechanism)
				assert.is_true(c:close())
				local none, _, code = connect(srv, "juliet", { mechanisms = { "PLAIN" }, password = "wrong" })
				assert.is_nil(none)
				assert.equal("sasl-not-authorized", code)
			end)
		end)

		it("refuses a wrong password and an unknown user alike", function()
			with_server(function(srv)
				local a, _, code_a = connect(srv, "juliet", { password = "not it" })
				local b, _, code_b = connect(srv, "nobody", { password = "not it" })
				assert.is_nil(a)
				assert.is_nil(b)
				assert.equal("sasl-not-authorized", code_a)
				assert.equal(code_a, code_b)
			end)
		end)

		it("asks the host's callback instead of the store when given one, and the callback may wait", function()
			local asked = {}
			local function authenticate(_, request)
				asked[#asked + 1] = request.username
				cqueues.sleep(0.05) -- a directory lookup
				if request.username == "guest" then return { password = "open sesame" } end
				return false, "account-disabled", "this account is closed"
			end
			with_server({ authenticate = authenticate }, function(srv)
				local c = assert(connect(srv, "guest", { password = "open sesame" }))
				assert.equal("guest@im.example.com", c.jid:match("^[^/]+"))
				assert.is_true(c:close())
				local none, err, code = connect(srv, "juliet")
				assert.is_nil(none)
				assert.equal("sasl-account-disabled", code)
				assert.matches("this account is closed", err)
				assert.same({ "guest", "juliet" }, asked)
			end)
		end)

		it("ends only the session whose handling fails, not the server", function()
			local logged = {}
			local function authenticate(_, request)
				if request.username == "juliet" then return "not an answer" end -- answer_auth raises
				return { password = ACCOUNTS[request.username] }
			end
			with_server({ authenticate = authenticate, log = function(level, m) logged[#logged + 1] = level .. " " .. m end },
				function(srv)
					local none = connect(srv, "juliet", { timeout = 5 })
					assert.is_nil(none)
					local c = assert(connect(srv, "romeo"))
					assert.truthy(c:ping())
					assert.is_true(c:close())
					-- the function named as the interpreter's debug information
					-- names it: answer_auth (Lua 5.4), the local authenticate (LuaJIT)
					local log_text = table.concat(logged, "\n")
					assert.truthy(log_text:find("error [^\n]*answer_auth")
						or log_text:find("error [^\n]*bad argument #2 to 'authenticate' %(table expected"), log_text)
				end)
		end)

		it("goes on when ending a session fails, logged, and when the log function itself raises", function()
			local logged = {}
			with_server({ log = function(level, m) logged[#logged + 1] = level .. " " .. m end }, function(srv)
				-- a bug where the server forgets a session (after its work)
				local forget = srv.forget
				srv.forget = function(self, s)
					forget(self, s)
					error("a bug in forget")
				end
				local c = assert(connect(srv, "juliet"))
				assert.is_true(c:close())
				local deadline = clock.now() + 5
				while not table.concat(logged, "\n"):find("error [^\n]*a bug in forget") and clock.now() < deadline do
					cqueues.sleep(0.01)
				end
				assert.matches("error [^\n]*a bug in forget", table.concat(logged, "\n"))
				local d = assert(connect(srv, "romeo"))
				assert.truthy(d:ping())
				assert.is_true(d:close())
			end)
			-- a "resource-unbind" handler that raises, logged by a log function
			-- that raises too
			local unbound = 0
			with_server({ log = function() error("the log is broken") end }, function(srv)
				srv:hook("resource-unbind", function()
					unbound = unbound + 1
					error("a plugin's bug")
				end)
				for _, user in ipairs { "juliet", "romeo" } do
					local c = assert(connect(srv, user))
					assert.truthy(c:ping())
					assert.is_true(c:close())
				end
				local deadline = clock.now() + 5
				while unbound < 2 and clock.now() < deadline do cqueues.sleep(0.01) end
				assert.equal(2, unbound)
				local d = assert(connect(srv, "nurse"))
				assert.truthy(d:ping())
				assert.is_true(d:close())
			end)
		end)

		it("replaces the older session on a resource conflict, or refuses the new one by policy", function()
			with_server(function(srv)
				local old = assert(connect(srv, "juliet", { resource = "phone" }))
				local new = assert(connect(srv, "juliet", { resource = "phone" }))
				local _, _, code = old:receive(5)
				assert.equal("conflict", code)
				assert.equal(srv.sessions["juliet@im.example.com/phone"].conn, srv.sessions[new.jid].conn)
				assert.is_true(new:close())
			end)
			with_server({ resource_conflict = "refuse" }, function(srv)
				local first = assert(connect(srv, "juliet", { resource = "phone" }))
				local second, _, code = connect(srv, "juliet", { resource = "phone" })
				assert.is_nil(second)
				assert.equal("bind-conflict", code)
				assert.truthy(first:ping())
				assert.is_true(first:close())
			end)
		end)
	end)

	describe("client certificates (XEP-0178) and a certificate per domain", function()
		-- self-signed client certificates with an XmppAddr: each is its own
		-- trust anchor, listed in the server's client_certificates.ca
		local JULIET_CERT, JULIET_KEY = stream.selfsigned(nil, "juliet@" .. DOMAIN)
		local STRANGER_CERT, STRANGER_KEY = stream.selfsigned(nil, "stranger@" .. DOMAIN)
		local ELSEWHERE_CERT, ELSEWHERE_KEY = stream.selfsigned(nil, "juliet@elsewhere.example")
		local UNTRUSTED_CERT, UNTRUSTED_KEY = stream.selfsigned(nil, "juliet@" .. DOMAIN)
		local CLIENT_CAS = JULIET_CERT .. STRANGER_CERT .. ELSEWHERE_CERT

		local function with_cert(cert, key, extra)
			local o = { password = false, tls = { ca = CERT, certificate = cert, key = key } }
			for k, v in pairs(extra or {}) do o[k] = v end
			return o
		end

		local function offered(srv, opts)
			local mechanisms
			local o = { trace = function(dir, xml)
				if dir == "received" and xml:find("<mechanisms", 1, true) then mechanisms = xml end
			end }
			for k, v in pairs(opts) do o[k] = v end
			o.password = ACCOUNTS.juliet
			local c = assert(connect(srv, "juliet", o))
			assert.is_true(c:close())
			return mechanisms
		end

		it("logs a client in with EXTERNAL as the XmppAddr of its certificate, offered only for a verified one", function()
			with_server({ client_certificates = { ca = CLIENT_CAS } }, function(srv)
				local c = assert(connect(srv, "juliet", with_cert(JULIET_CERT, JULIET_KEY)))
				assert.equal("EXTERNAL", c.sasl.mechanism)
				assert.matches("^juliet@im%.example%.com/", c.jid)
				assert.equal("juliet", srv.sessions[c.jid].username)
				assert.is_true(c:close())
				-- no certificate, or one from another CA: no EXTERNAL, and
				-- the password works as before
				local none = offered(srv, {})
				assert.matches("<mechanism>SCRAM%-SHA%-256</mechanism>", none)
				assert.not_matches("EXTERNAL", none)
				assert.not_matches("EXTERNAL", offered(srv, with_cert(UNTRUSTED_CERT, UNTRUSTED_KEY)))
				assert.matches("<mechanism>EXTERNAL</mechanism>", offered(srv, with_cert(JULIET_CERT, JULIET_KEY)))
				local refused, err, code = connect(srv, "juliet", with_cert(UNTRUSTED_CERT, UNTRUSTED_KEY))
				assert.is_nil(refused)
				assert.equal("sasl-invalid-mechanism", code, err)
			end)
		end)

		it("refuses a certificate for another JID or one without an account, saying why", function()
			with_server({ client_certificates = { ca = CLIENT_CAS } }, function(srv)
				local none, err, code = connect(srv, "juliet", with_cert(ELSEWHERE_CERT, ELSEWHERE_KEY))
				assert.is_nil(none)
				assert.equal("sasl-not-authorized", code)
				assert.matches("your certificate names no JID at im%.example%.com", err)
				none, err, code = connect(srv, "stranger", with_cert(STRANGER_CERT, STRANGER_KEY))
				assert.is_nil(none)
				assert.equal("sasl-not-authorized", code)
				assert.matches("no account stranger@im%.example%.com", err)
			end)
		end)

		it("lets the host's callback decide EXTERNAL from the certificate's identities", function()
			local seen
			local function authenticate(_, request)
				seen = request.identities
				-- an account the store does not have: the callback knows it
				if request.mechanism == "EXTERNAL" then return true, request.identities[1]:match("^[^@]+") end
				return false
			end
			with_server({ client_certificates = { ca = CLIENT_CAS }, authenticate = authenticate }, function(srv)
				local c = assert(connect(srv, "stranger", with_cert(STRANGER_CERT, STRANGER_KEY)))
				assert.same({ "stranger@im.example.com" }, seen)
				assert.matches("^stranger@im%.example%.com/", c.jid)
				assert.is_true(c:close())
			end)
		end)

		it("refuses the handshake without a client certificate when they are required", function()
			with_server({ client_certificates = { ca = CLIENT_CAS, required = true } }, function(srv)
				local c = assert(connect(srv, "juliet", with_cert(JULIET_CERT, JULIET_KEY)))
				assert.equal("EXTERNAL", c.sasl.mechanism)
				assert.is_true(c:close())
				local none, err = connect(srv, "juliet", { timeout = 5 })
				assert.is_nil(none)
				assert.matches("TLS", err)
			end)
		end)

		it("serves each domain with its own certificate, chosen by SNI, and checks the stream's domain against it", function()
			local A, B = "a.example", "b.example"
			local A_CERT, A_KEY = stream.selfsigned(A)
			local B_CERT, B_KEY = stream.selfsigned(B)
			with_server({ domain = false, domains = { A, B }, certificate = false, key = false,
				certificates = { [A] = { certificate = A_CERT, key = A_KEY }, [B] = { certificate = B_CERT, key = B_KEY } },
				accounts = { ["juliet@a.example"] = "r0m30myr0m30", ["romeo@b.example"] = "wherefore" } },
				function(srv)
					local port, host = port_of(srv)
					-- each client trusts only its domain's certificate
					local a = assert(client.connect { jid = "juliet@" .. A, password = "r0m30myr0m30",
						host = host, port = port, tls = { ca = A_CERT }, timeout = 10 })
					local b = assert(client.connect { jid = "romeo@" .. B, password = "wherefore",
						host = host, port = port, tls = { ca = B_CERT }, timeout = 10 })
					assert.matches("^juliet@a%.example/", a.jid)
					assert.matches("^romeo@b%.example/", b.jid)
					assert.equal(A, srv.sessions[a.jid].conn:tls_info().server_name)
					assert.equal(B, srv.sessions[b.jid].conn:tls_info().server_name)
					-- b.example's client does not trust a.example's certificate
					local none, err = client.connect { jid = "romeo@" .. B, password = "wherefore",
						host = host, port = port, tls = { ca = A_CERT }, timeout = 10 }
					assert.is_nil(none)
					assert.matches("certificate", err)
					assert.is_true(a:close())
					assert.is_true(b:close())
				end)
		end)

		it("refuses a config whose certificates do not cover its domains", function()
			assert.has_error(function()
				server.new { domains = { "a.example", "b.example" },
					certificates = { ["a.example"] = { certificate = CERT, key = KEY } } }
			end, "lxmpp.server: config: needs 'certificate' and 'key' (file names or PEM), or certificates[\"b.example\"]")
			assert.has_error(function()
				server.new { domain = DOMAIN, certificate = CERT, key = KEY,
					certificates = { ["c.example"] = { certificate = CERT, key = KEY } } }
			end, "lxmpp.server: config: certificates: c.example is not one of the domains")
			assert.has_error(function()
				server.new { domain = DOMAIN, certificate = CERT, key = KEY, client_certificates = { required = true } }
			end, "lxmpp.server: config: 'client_certificates' is { ca = file name or PEM [, required = boolean] }")
			-- two names of one domain would silently keep one of the two
			assert.has_error(function()
				server.new { domain = DOMAIN, certificates = { [DOMAIN] = { certificate = CERT, key = KEY },
					[DOMAIN:upper()] = { certificate = CERT, key = KEY } } }
			end, "lxmpp.server: config: certificates: " .. DOMAIN .. " is given twice (as two names that prepare to it)")
			-- the error names the caller's line, for a bad pair too
			local at_caller = "^spec/support/raised%.lua:%d+: lxmpp%.server: config: "
			assert.matches(at_caller .. "'certificate' needs", raised(server.new, { domain = DOMAIN, certificate = CERT }))
			assert.matches(at_caller .. "certificates%[\"" .. DOMAIN:gsub("%p", "%%%0") .. "\"%] needs",
				raised(server.new, { domain = DOMAIN, certificates = { [DOMAIN] = { key = KEY } } }))
			assert.matches(at_caller .. "certificates: c%.example is not", raised(server.new,
				{ domain = DOMAIN, certificate = CERT, key = KEY, certificates = { ["c.example"] = {} } }))
		end)
	end)

	describe("routing", function()
		it("delivers to a full JID, to a bare JID's highest priority, and bounces the rest", function()
			with_server(function(srv)
				local j = assert(connect(srv, "juliet", { resource = "balcony" }))
				local r1 = assert(connect(srv, "romeo", { resource = "low" }))
				local r2 = assert(connect(srv, "romeo", { resource = "high" }))
				r1:presence { priority = 1 }
				r2:presence { priority = 5 }
				assert.truthy(r1:ping()) -- the presences are processed
				assert.truthy(r2:ping())
				j:send(st.message({ to = "romeo@im.example.com/low", type = "chat" }, "to low"))
				assert.equal("to low", next_stanza(r1, is_message):get_child_text("body"))
				j:send(st.message({ to = "romeo@im.example.com", type = "chat" }, "to bare"))
				local m = next_stanza(r2, is_message)
				assert.equal("to bare", m:get_child_text("body"))
				assert.equal("juliet@im.example.com/balcony", m.attr.from)
				-- an iq to a resource that is not there, a message to nobody, another domain
				local _, _, cond = j:iq(iq({ type = "get", to = "romeo@im.example.com/gone" }, "urn:xmpp:ping"))
				assert.equal("service-unavailable", cond)
				j:send(st.message({ to = "nobody@im.example.com", type = "chat", id = "m1" }, "?"))
				local e = next_stanza(j, is_message)
				assert.equal("error", e.attr.type)
				assert.equal("m1", e.attr.id)
				assert.equal("service-unavailable", select(2, e:get_error()))
				_, _, cond = j:iq(iq({ type = "get", to = "example.net" }, "urn:xmpp:ping"))
				assert.equal("remote-server-not-found", cond)
				_, _, cond = j:iq(iq({ type = "get", to = DOMAIN }, "urn:example:nothing"))
				assert.equal("service-unavailable", cond)
				for _, c in ipairs { j, r1, r2 } do assert.is_true(c:close()) end
			end)
		end)

		it("follows the bare-JID rules for each message type, and for iq and presence", function()
			with_server(function(srv)
				-- juliet's connection drops at the end: without stream management
				-- her session ends at once (with it, it would wait for a resumption)
				local j = assert(connect(srv, "juliet", { resource = "balcony", stream_management = false }))
				local r = assert(connect(srv, "romeo", { resource = "garden" }))
				local r2 = assert(connect(srv, "romeo", { resource = "hidden" }))
				r:presence()
				r2:presence { priority = -1 } -- never gets bare-JID messages
				assert.truthy(r:ping())
				assert.truthy(r2:ping())
				local function body_of(s) return s:get_child_text("body") end
				-- headline: every available resource of non-negative priority
				j:send(st.message({ to = "romeo@im.example.com", type = "headline" }, "news"))
				assert.equal("news", body_of(next_stanza(r, is_message)))
				-- groupchat to a bare JID: an error
				j:send(st.message({ to = "romeo@im.example.com", type = "groupchat", id = "g" }, "room?"))
				local e = next_stanza(j, is_message)
				assert.equal("g", e.attr.id)
				assert.equal("service-unavailable", select(2, e:get_error()))
				-- to a resource that is not there: as to the bare JID
				j:send(st.message({ to = "romeo@im.example.com/gone", type = "chat" }, "anyone?"))
				assert.equal("anyone?", body_of(next_stanza(r, is_message)))
				-- the negative-priority resource got none of them, but full-JID ones
				j:send(st.message({ to = r2.jid, type = "chat" }, "just you"))
				assert.equal("just you", body_of(next_stanza(r2, is_message)))
				-- an iq to another account's bare JID is the server's to answer
				local _, _, cond = j:iq(iq({ type = "get", to = "romeo@im.example.com" }, "urn:example:nothing"))
				assert.equal("service-unavailable", cond)
				-- a bad JID
				_, _, cond = j:iq(iq({ type = "get", to = "romeo@@im.example.com" }, "urn:xmpp:ping"))
				assert.equal("jid-malformed", cond)
				-- directed presence, and its unavailable when the sender goes
				j:send(st.presence { to = r.jid })
				local p = next_stanza(r, function(s) return s.name == "presence" and s.attr.from == j.jid end)
				assert.is_nil(p.attr.type)
				j.t:close()
				p = next_stanza(r, function(s) return s.name == "presence" and s.attr.from == j.jid end)
				assert.equal("unavailable", p.attr.type)
				assert.is_true(r:close())
				assert.is_true(r2:close())
			end)
		end)

		it("keeps messages for an account without an available resource until its presence", function()
			with_server(function(srv)
				local j = assert(connect(srv, "juliet"))
				j:send(st.message({ to = "romeo@im.example.com", type = "chat" }, "while you were out"))
				assert.truthy(j:ping())
				local r = assert(connect(srv, "romeo"))
				assert.is_nil(next_stanza(r, is_message, 0.2))
				r:presence()
				local m = next_stanza(r, is_message)
				assert.equal("while you were out", m:get_child_text("body"))
				assert.equal(DOMAIN, m:get_child_attr("delay", "urn:xmpp:delay", "from"))
				assert.is_true(j:close())
				assert.is_true(r:close())
			end)
		end)
	end)

	describe("the basic plugins", function()
		it("answers ping, disco#info with the registered features, disco#items and version", function()
			with_server(function(srv)
				local c = assert(connect(srv, "juliet"))
				assert.truthy(c:ping())
				assert.truthy(c:ping("juliet@im.example.com"))
				local info = assert(c:iq(iq({ type = "get", to = DOMAIN }, "http://jabber.org/protocol/disco#info")))
				local features = {}
				for f in info.tags[1]:childtags("feature") do features[f.attr.var] = true end
				assert.truthy(features["urn:xmpp:ping"])
				assert.truthy(features["jabber:iq:version"])
				assert.truthy(features["http://jabber.org/protocol/disco#info"])
				assert.equal("server", info.tags[1]:get_child("identity").attr.category)
				assert(c:iq(iq({ type = "get", to = DOMAIN }, "http://jabber.org/protocol/disco#items")))
				local v = assert(c:iq(iq({ type = "get", to = DOMAIN }, "jabber:iq:version")))
				assert.equal("lxmpp", v.tags[1]:get_child_text("name"))
				assert.is_true(c:close())
			end)
		end)

		it("keeps the roster: set, get with versions, pushes to the other resources, remove", function()
			with_server(function(srv)
				local a = assert(connect(srv, "juliet", { resource = "a" }))
				local b = assert(connect(srv, "juliet", { resource = "b" }))
				local pushes = {}
				b:on("iq", function(s)
					pushes[#pushes + 1] = s
					return st.reply(s)
				end)
				local first = assert(b:iq(iq({ type = "get" }, "jabber:iq:roster")))
				local ver = first.tags[1].attr.ver
				local set = iq({ type = "set" }, "jabber:iq:roster")
				set.tags[1]:tag("item", { jid = "nurse@im.example.com", name = "Nurse" }):text_tag("group", "House")
				assert(a:iq(set))
				for _ = 1, 50 do
					if pushes[1] then break end
					b:receive(0.1)
				end
				local push = assert(pushes[1])
				assert.equal("Nurse", push.tags[1]:get_child("item").attr.name)
				local full = assert(a:iq(iq({ type = "get" }, "jabber:iq:roster")))
				local item = full.tags[1]:get_child("item")
				assert.equal("nurse@im.example.com", item.attr.jid)
				assert.equal("none", item.attr.subscription)
				assert.equal("House", item:get_child_text("group"))
				assert.not_equal(ver, full.tags[1].attr.ver)
				-- the same version again: an empty result
				local again = iq({ type = "get" }, "jabber:iq:roster")
				again.tags[1].attr.ver = full.tags[1].attr.ver
				assert.equal(0, #assert(a:iq(again)).tags)
				local remove = iq({ type = "set" }, "jabber:iq:roster")
				remove.tags[1]:tag("item", { jid = "nurse@im.example.com", subscription = "remove" })
				assert(a:iq(remove))
				local bad = iq({ type = "set" }, "jabber:iq:roster")
				bad.tags[1]:tag("item", { jid = "nurse@im.example.com", subscription = "both" })
				local _, _, cond = a:iq(bad)
				assert.equal("bad-request", cond)
				assert.is_true(a:close())
				assert.is_true(b:close())
			end)
		end)

		it("plays the subscription handshake, broadcasts presence, probes, and says unavailable on disconnect", function()
			with_server(function(srv)
				local j = assert(connect(srv, "juliet", { resource = "balcony" }))
				local r = assert(connect(srv, "romeo", { resource = "garden" }))
				j:presence()
				r:presence()
				assert(j:iq(iq({ type = "get" }, "jabber:iq:roster")))
				j:subscribe("romeo@im.example.com")
				local ask = next_stanza(r, function(s) return s.attr.type == "subscribe" end)
				assert.equal("juliet@im.example.com", ask.attr.from)
				r:approve("juliet@im.example.com")
				local ok = next_stanza(j, function(s) return s.attr.type == "subscribed" end)
				assert.equal("romeo@im.example.com", ok.attr.from)
				local p = next_stanza(j, function(s) return s.name == "presence" and s.attr.from == r.jid end)
				assert.is_nil(p.attr.type)
				local roster = assert(j:iq(iq({ type = "get" }, "jabber:iq:roster")))
				assert.equal("to", roster.tags[1]:get_child("item").attr.subscription)
				-- a new session of juliet gets romeo's presence at once (the probe)
				local j2 = assert(connect(srv, "juliet", { resource = "tower" }))
				j2:presence()
				assert.truthy(next_stanza(j2, function(s) return s.name == "presence" and s.attr.from == r.jid end))
				-- romeo cancels: juliet's item goes back to none, and she is told
				r:deny("juliet@im.example.com")
				assert.truthy(next_stanza(j, function(s) return s.attr.type == "unsubscribed" end))
				roster = assert(j:iq(iq({ type = "get" }, "jabber:iq:roster")))
				assert.equal("none", roster.tags[1]:get_child("item").attr.subscription)
				local rr = assert(r:iq(iq({ type = "get" }, "jabber:iq:roster")))
				assert.equal("none", rr.tags[1]:get_child("item").attr.subscription)
				-- romeo goes away without a word: juliet learns it
				r.t:close()
				local gone = next_stanza(j, function(s) return s.attr.from == r.jid and s.attr.type == "unavailable" end)
				assert.truthy(gone)
				assert.is_true(j:close())
				assert.is_true(j2:close())
			end)
		end)
	end)

	describe("limits", function()
		it("closes a connection that sends no stream header in time, and one that does not authenticate", function()
			local fc = fake_clock()
			with_server({ clock = fc.fn }, function(srv)
				local silent = raw(srv)
				local talker = raw(srv)
				assert(talker:write(HEADER))
				assert.matches("<starttls", read_until(talker, "</stream:features>"))
				fc.now = fc.now + 9
				srv:tick()
				assert.is_nil((silent:read(clock.now() + 0.2)))
				fc.now = fc.now + 2
				srv:tick()
				local out = read_until(silent, "</stream:stream>")
				assert.matches("<connection%-timeout xmlns='urn:ietf:params:xml:ns:xmpp%-streams'/>", out)
				assert.matches("no stream header in time", out)
				assert.is_nil((talker:read(clock.now() + 0.2)))
				fc.now = fc.now + 50
				srv:tick()
				out = read_until(talker, "</stream:stream>")
				assert.matches("<connection%-timeout", out)
				assert.matches("not authenticated in time", out)
				-- a session that logged in is not touched
				local c = assert(connect(srv, "juliet"))
				fc.now = fc.now + 3600
				srv:tick()
				assert.truthy(c:ping())
				assert.is_true(c:close())
			end)
		end)
	end)

	describe("limits (idle)", function()
		it("trims a connection in the middle of its stream header at once, and one quiet before login", function()
			local fc = fake_clock()
			with_server({ clock = fc.fn }, function(srv)
				local slow = raw(srv)
				assert(slow:write(HEADER:sub(1, 40)))
				-- the server has read the 40 bytes when they left its bucket
				local s
				for _ = 1, 500 do
					s = next(srv.all)
					if s and s.tokens < srv.limits.read_burst then break end
					cqueues.sleep(0.01)
				end
				assert.equal(srv.limits.read_burst - 40, s.tokens)
				assert.is_true(s.trimmed) -- its parser waits without expat
				assert(slow:write(HEADER:sub(41)))
				assert.matches("<starttls", read_until(slow, "</stream:features>"))
				assert.is_false(s.trimmed)
				fc.now = fc.now + 3
				srv:tick()
				assert.is_true(s.trimmed) -- quiet for 2 s before <starttls/>
				assert(slow:write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"))
				assert.matches("<proceed", read_until(slow, "<proceed[^>]*>"))
			end)
		end)
	end)

	describe("limits (2)", function()
		it("throttles failed logins per address, across connections, until time refills them", function()
			local fc = fake_clock()
			with_server({ clock = fc.fn, limits = { max_auth_failures_per_ip = 3 } }, function(srv)
				for _ = 1, 3 do
					local none, _, code = connect(srv, "juliet", { password = "guess" })
					assert.is_nil(none)
					assert.equal("sasl-not-authorized", code)
				end
				-- the right password too is refused now, with the reason
				local none, err, code = connect(srv, "juliet")
				assert.is_nil(none)
				assert.equal("sasl-temporary-auth-failure", code)
				assert.matches("too many failed logins", err)
				fc.now = fc.now + 7 -- 10 a minute: one more
				local c = assert(connect(srv, "juliet"))
				assert.is_true(c:close())
				-- a success gives its attempt back
				c = assert(connect(srv, "juliet"))
				assert.is_true(c:close())
			end)
		end)

		it("refuses connections beyond the total and the per-address limit with a stream error", function()
			with_server({ limits = { max_connections_per_ip = 2 } }, function(srv)
				local a, b, c, d = raw(srv), raw(srv), raw(srv), raw(srv)
				local out = read_until(c, "</stream:stream>")
				-- our stream header (RFC 6120 §4.9.1.3), then the error
				local id = out:match("^<%?xml version='1.0'%?><stream:stream xmlns='jabber:client' xmlns:stream="
					.. "'http://etherx.jabber.org/streams' from='im.example.com' id='(%x+)' version='1.0' xml:lang='en'>"
					.. "<stream:error><policy%-violation xmlns='urn:ietf:params:xml:ns:xmpp%-streams'/>")
				assert.truthy(id, out)
				assert.matches("too many connections from your address</text></stream:error></stream:stream>$", out)
				-- each refused stream has an id of its own
				local other = read_until(d, "</stream:stream>"):match(" id='(%x+)'")
				assert.truthy(other)
				assert.not_equal(id, other)
				assert(a:write(HEADER))
				assert.matches("<starttls", read_until(a, "</stream:features>"))
				b:close()
				a:close()
			end)
			with_server({ limits = { max_connections = 1 } }, function(srv)
				local a, b = raw(srv), raw(srv)
				local out = read_until(b, "</stream:stream>")
				assert.matches("<resource%-constraint", out)
				a:close()
			end)
		end)

		it("ends a stream whose element before authentication is too big", function()
			with_server({ limits = { max_preauth_stanza_size = 2000 } }, function(srv)
				local t = raw(srv)
				assert(t:write(HEADER .. "<message><body>" .. ("x"):rep(3000) .. "</body></message>"))
				local out = read_until(t, "</stream:stream>")
				assert.matches("<policy%-violation", out)
				t:close()
			end)
		end)

		-- juliet sends romeo, who is online, five messages of 10 kB.
		local function five_big_messages(srv)
			local j = assert(connect(srv, "juliet"))
			local r = assert(connect(srv, "romeo"))
			r:presence()
			assert.truthy(r:ping())
			local body = ("x"):rep(10000)
			for i = 1, 5 do j:send(st.message({ to = "romeo@im.example.com", type = "chat" }, i .. body)) end
			return j, r
		end

		it("reads at most the rate limit from a session, on the server's clock", function()
			local fc = fake_clock()
			with_server({ clock = fc.fn, limits = { read_rate = 1000, read_burst = 40000 } }, function(srv)
				local j, r = five_big_messages(srv)
				local got = 0
				while next_stanza(r, is_message, 0.5) do got = got + 1 end
				assert.is_true(got < 5, "all 5 arrived")
				fc.now = fc.now + 60
				srv:tick()
				while got < 5 and next_stanza(r, is_message, 5) do got = got + 1 end
				assert.equal(5, got)
				assert.is_true(j:close())
				assert.is_true(r:close())
			end)
		end)

		it("wakes a session held by its read rate when its bucket refills, not before", function()
			local fc = fake_clock()
			with_server({ clock = fc.fn, limits = { read_rate = 1000, read_burst = 20000 } }, function(srv)
				local j, r = five_big_messages(srv)
				local held = srv.sessions[j.jid]
				for _ = 1, 200 do
					if srv.throttled[held] then break end
					cqueues.sleep(0.05)
				end
				assert.is_true(srv.throttled[held])
				-- what was read before the hold has been routed: take it all
				local got = 0
				while next_stanza(r, is_message, 1) do got = got + 1 end
				assert.is_true(got < 5, "all 5 arrived")
				-- the bucket holds a byte again at this time of the server's clock
				local refill = held.refilled + (1 - held.tokens) / 1000
				fc.now = refill - 0.01
				srv:tick()
				assert.is_nil(next_stanza(r, is_message, 0.3))
				assert.is_true(srv.throttled[held])
				fc.now = refill
				srv:tick()
				assert.truthy(next_stanza(r, is_message, 5))
				-- juliet's session, held again, ends with the server's close
				assert.is_true(r:close())
			end)
		end)

		it("disconnects a client that does not read once its output passes the bound; the others go on", function()
			local fc = fake_clock()
			with_server({ clock = fc.fn, limits = { max_output = 100000, read_rate = 1e9, read_burst = 1e9 } },
				function(srv)
					local j = assert(connect(srv, "juliet"))
					-- romeo's one handler never returns and its inbox holds little: it
					-- stops reading (the client's own backpressure), so the kernel's
					-- buffers fill, then the server's output for it
					-- (no stream management: its bound on unacknowledged stanzas is
					-- tested with it)
					local r = assert(connect(srv, "romeo", { resource = "deaf", max_inbox_bytes = 20000,
						stream_management = false }))
					local never = require("cqueues.condition").new()
					r:on("message", function() never:wait() end)
					r:presence()
					assert.truthy(r:ping())
					local body = ("x"):rep(10000)
					local sent = 0
					while srv.sessions["romeo@im.example.com/deaf"] and sent < 3000 do
						j:send(st.message({ to = "romeo@im.example.com/deaf", type = "chat" }, body))
						sent = sent + 1
						-- a round trip after each one: the server routes it and romeo's
						-- writer moves it to the kernel before the next, so the bound is
						-- passed only once the kernel's buffers are full (a batch of ten
						-- read at once under load passed it with the buffers still empty,
						-- and the socket then closed before the write timeout was tested)
						assert.truthy(j:ping())
					end
					assert.is_nil(srv.sessions["romeo@im.example.com/deaf"])
					assert.truthy(j:ping())
					-- its socket goes when the write has waited too long
					local before = srv.count
					assert.equal(2, before)
					fc.now = fc.now + 31
					srv:tick()
					for _ = 1, 100 do
						if srv.count < before then break end
						cqueues.sleep(0.01)
					end
					assert.equal(before - 1, srv.count)
					assert.is_true(j:close())
				end)
		end)
	end)

	describe("stream management (XEP-0198)", function()
		local function bodies(c, n)
			local got = {}
			for i = 1, n do
				local m = next_stanza(c, is_message)
				got[i] = m and m:get_child_text("body")
			end
			return got
		end

		-- romeo with stream management; juliet sees his directed presence
		local function pair(srv, opts)
			local j = assert(connect(srv, "juliet", { resource = "balcony" }))
			local r = assert(connect(srv, "romeo", opts or { resource = "garden" }))
			r:send(st.presence { to = j.jid })
			assert(next_stanza(j, function(s) return s.name == "presence" end))
			return j, r
		end

		-- waits for the session's connection to be gone and the session kept
		-- (its coroutines end in their own time)
		local function await_detached(srv, session)
			for _ = 1, 500 do
				if session.detached then break end
				cqueues.sleep(0.01)
			end
			assert.is_true(session.detached)
			assert.is_nil(srv.all[session])
			assert.equal(session, srv.sessions[session.full_jid])
		end

		-- the client's connection dies unannounced; the server keeps its session
		local function cut(srv, c)
			local full = c.jid
			c.t:close()
			await_detached(srv, srv.sessions[full])
			return full
		end

		local function presence_from(c, from, timeout)
			return next_stanza(c, function(s) return s.name == "presence" and s.attr.from == from end, timeout)
		end

		it("is enabled with resumption after binding, and counts both directions", function()
			with_server(function(srv)
				local j, r = pair(srv)
				local session = srv.sessions[r.jid]
				local state = assert(r:sm_state())
				assert.equal(session.sm_id, state.id)
				assert.matches("^%x+$", state.id)
				-- the server acknowledges what romeo sends
				assert(r:send(st.message({ to = j.jid }, "one"), { ack_timeout = 5 }))
				-- and asks romeo for acknowledgements (after request_after = 5)
				for i = 1, 6 do assert(j:send(st.message({ to = r.jid, type = "chat" }, "m" .. i))) end
				assert.same({ "m1", "m2", "m3", "m4", "m5", "m6" }, bodies(r, 6))
				assert.truthy(r:ping())
				assert.truthy(j:ping())
				assert.truthy(r:ping())
				assert.is_true(session.sm.acked >= 5) -- the <r/> after the fifth was answered
				assert.is_true(session.sm:handled() >= 3)
				assert.is_true(r:close())
				assert.is_true(j:close())
			end)
		end)

		-- the connection dies under a client on a fake clock: it finds it gone
		-- and is reconnecting (its next attempt waits until the test moves the
		-- clock past the delay); the server keeps the session
		local function cut_under(srv, r)
			local session = srv.sessions[r.jid]
			r.t.socket:shutdown("rw")
			await_detached(srv, session)
			r:step(1)
			assert.equal("reconnecting", r:state())
			return session
		end

		it("tells the stanzas kept while reconnecting that a close ends them, and keeps them for sm_state()",
			function()
				with_server(function(srv)
					local fake = clock.fake()
					local j, r = pair(srv, { resource = "garden", clock = fake, reconnect = { delay = 60 } })
					cut_under(srv, r)
					local told = {}
					for i = 1, 2 do
						assert.is_true(r:send(st.message({ to = j.jid, type = "chat" }, "k" .. i),
							{ on_ack = function(ok, why) told[#told + 1] = { i, ok, why } end }))
					end
					cqueues.sleep(0)
					assert.same({}, told) -- kept, waiting for the resumption
					assert.is_true(r:close())
					for _ = 1, 100 do
						if #told == 2 then break end
						cqueues.sleep(0)
					end
					assert.same({ { 1, false, "closed" }, { 2, false, "closed" } }, told)
					assert.equal("closed", r:state())
					-- the queue stays: another client resumes the session and sends them, once
					local state = assert(r:sm_state())
					assert.is_true(#state.unacked >= 2)
					local again = assert(connect(srv, "romeo", { resume = state }))
					assert.is_true(again:sm_report().resumed)
					assert.same({ "k1", "k2" }, bodies(j, 2))
					assert.is_nil(next_stanza(j, is_message, 0.3))
					assert.same({ { 1, false, "closed" }, { 2, false, "closed" } }, told) -- told once
					assert.is_true(again:close())
					assert.is_true(j:close())
				end)
			end)

		it("sends its presence once in a new session after a refused resumption: the latest it set", function()
			local fc = fake_clock()
			with_server({ clock = fc.fn, stream_management = { resume_timeout = 60 } }, function(srv)
				local fake = clock.fake()
				local sent = {}
				local j, r = pair(srv, { resource = "garden", clock = fake, reconnect = { delay = 1 },
					trace = function(kind, data) if kind == "sent" then sent[#sent + 1] = data end end })
				local told = {}
				local function on_ack(name) return function(ok, why) told[#told + 1] = { name, ok, why } end end
				assert(r:send(st.presence():text_tag("status", "away"), { on_ack = on_ack("away") }))
				assert(r:presence { status = "here" }) -- both unacknowledged
				local session = cut_under(srv, r)
				assert(r:presence { status = "back" }) -- set while reconnecting: kept
				assert(r:send(st.message({ to = j.jid, type = "chat" }, "after"))) -- and after it
				fc.now = fc.now + 61
				srv:tick()
				assert.is_nil(srv.sessions[session.full_jid]) -- the session is gone: no resumption
				local report
				r:on("reconnected", function(_, rep) report = rep end)
				sent = {}
				fake.advance(1) -- past the delay: the next step reconnects
				for _ = 1, 50 do
					if report then break end
					if r:state() == "reconnecting" then r:step(1) else cqueues.sleep(0) end -- (handlers run)
				end
				assert.is_false(assert(report).resumed)
				-- what the server got of our presence in the new session: the
				-- latest, once, where it was left (before the message sent after it)
				local out = table.concat(sent)
				local ours = {}
				for attrs, body in out:gsub("<presence[^>]-/>", ""):gmatch("<presence([^>]*)>(.-)</presence>") do
					if not attrs:find(" to=", 1, true) then ours[#ours + 1] = body:match("<status>(.-)</status>") end
				end
				assert.same({ "back" }, ours)
				assert.is_true(out:find("<status>back</status>", 1, true) < out:find("<body>after</body>", 1, true))
				assert.same({ { "away", false, "superseded" } }, told)
				assert.equal("after", bodies(j, 1)[1])
				assert.is_true(r:close())
				assert.is_true(j:close())
			end)
		end)

		it("keeps a dropped session, queues what comes for it, and resumes it in order", function()
			with_server(function(srv)
				local j, r = pair(srv)
				local state = assert(r:sm_state())
				local full = cut(srv, r)
				local kept = srv.sessions[full]
				for i = 1, 3 do assert(j:send(st.message({ to = full, type = "chat" }, "q" .. i))) end
				assert.truthy(j:ping())
				-- still available to the others: no unavailable presence
				assert.is_nil(presence_from(j, full, 0.3))
				assert.equal(3, kept.sm:count())
				local again = assert(connect(srv, "romeo", { resume = state }))
				assert.is_true(again:sm_report().resumed)
				assert.equal(full, again.jid)
				assert.same({ "q1", "q2", "q3" }, bodies(again, 3))
				assert.is_nil(next_stanza(again, is_message, 0.3)) -- none twice
				local now = srv.sessions[full]
				assert.is_not.equal(kept, now)
				assert.is_true(now.directed[j.jid]) -- the session's state came along
				assert.truthy(again:ping())
				assert.is_true(again:close())
				-- a clean close ends it: unavailable now, and no resumption
				assert.equal("unavailable", presence_from(j, full).attr.type)
				local gone = assert(connect(srv, "romeo", { resume = state }))
				assert.is_false(gone:sm_report().resumed)
				assert.is_true(gone:close())
				assert.is_true(j:close())
			end)
		end)

		it("takes a peer that leaves its <r/> unanswered for ack_timeout for dead: detached, resumable", function()
			local fc = fake_clock()
			with_server({ clock = fc.fn, stream_management = { ack_timeout = 30 } }, function(srv)
				local j, r = pair(srv)
				local state = assert(r:sm_state())
				local full = r.jid
				local session = srv.sessions[full]
				-- romeo reads nothing from now on: the <r/> after the fifth goes unanswered
				for i = 1, 5 do assert(j:send(st.message({ to = full, type = "chat" }, "d" .. i))) end
				assert.truthy(j:ping())
				assert.is_not_nil(session.sm.asked_at)
				fc.now = fc.now + 29
				srv:tick()
				assert.is_nil(session.detached)
				fc.now = fc.now + 2
				srv:tick()
				await_detached(srv, session)
				assert.is_nil(presence_from(j, full, 0.3)) -- still available to the others
				-- its connection is closed: the client reads what was sent, then the end
				local m, err
				repeat m, err = r:receive(5) until not m
				assert.is_not_nil(err)
				local again = assert(connect(srv, "romeo", { resume = state }))
				assert.is_true(again:sm_report().resumed)
				assert.same({ "d1", "d2", "d3", "d4", "d5" }, bodies(again, 5))
				assert.is_true(again:close())
				assert.is_true(j:close())
			end)
		end)

		it("sends the configured location in <enabled/>: the client resumes there", function()
			local process = require "interop.process"
			local port, dead = process.free_port(), process.free_port()
			local location = "127.0.0.1:" .. port
			with_server({ listen = { { host = "127.0.0.1", port = port } }, stream_management = { location = location } },
				function(srv)
					local got = {}
					local j, r = pair(srv, { resource = "garden",
						trace = function(kind, data) if kind == "received" then got[#got + 1] = data end end })
					assert.matches("<enabled [^>]*location='" .. location:gsub("%.", "%%.") .. "'", table.concat(got))
					local state = assert(r:sm_state())
					assert.equal(location, state.location)
					local full = cut(srv, r)
					assert(j:send(st.message({ to = full, type = "chat" }, "there")))
					assert.truthy(j:ping())
					-- nothing listens where the client would go by itself
					local again = assert(connect(srv, "romeo", { resume = state, port = dead }))
					assert.is_true(again:sm_report().resumed)
					assert.same({ "there" }, bodies(again, 1))
					assert.is_true(again:close())
					assert.is_true(j:close())
				end)
			assert.has_error(function() server.new(config { stream_management = { location = 5222 } }) end,
				"lxmpp.server: stream_management.location: a string (host:port)")
		end)

		it("detaches a session whose write timed out (a client that stopped reading), resumable", function()
			local fc = fake_clock()
			with_server({ clock = fc.fn, limits = { max_output = 67108864, read_rate = 1e9, read_burst = 1e9 },
				stream_management = { max_unacked = 100000, max_unacked_bytes = 67108864 } }, function(srv)
				local j, r = pair(srv)
				local state = assert(r:sm_state())
				local full = r.jid
				local session = srv.sessions[full]
				-- romeo reads nothing from now on: the kernel's buffers fill and
				-- the server's write waits
				local body = ("x"):rep(20000)
				local sent = 0
				while not session.writing_since and sent < 3000 do
					for _ = 1, 10 do assert(j:send(st.message({ to = full, type = "chat" }, body))) end
					sent = sent + 10
					assert.truthy(j:ping())
				end
				assert.is_not_nil(session.writing_since)
				fc.now = fc.now + srv.limits.write_timeout + 1
				srv:tick()
				await_detached(srv, session)
				assert.is_nil(presence_from(j, full, 0.3)) -- still available to the others
				assert(j:send(st.message({ to = full, type = "chat" }, "last")))
				assert.truthy(j:ping())
				local again = assert(connect(srv, "romeo", { resume = state }))
				assert.is_true(again:sm_report().resumed)
				local n, last = 0
				repeat
					local m = next_stanza(again, is_message)
					n, last = n + 1, m and m:get_child_text("body")
				until not m or last == "last"
				assert.equal("last", last)
				assert.equal(sent + 1, n) -- everything, none lost
				assert.is_true(again:close())
				assert.is_true(j:close())
			end)
		end)

		it("takes a session over from a connection that still seems alive", function()
			with_server(function(srv)
				local j, r = pair(srv)
				local full = r.jid
				local again = assert(connect(srv, "romeo", { resume = assert(r:sm_state()) }))
				assert.is_true(again:sm_report().resumed)
				assert.equal("conflict", select(3, r:receive(5)))
				assert(j:send(st.message({ to = full, type = "chat" }, "still here?")))
				assert.same({ "still here?" }, bodies(again, 1))
				assert.is_nil(presence_from(j, full, 0.3))
				assert.is_true(again:close())
				assert.is_true(j:close())
			end)
		end)

		it("leaves the session waiting when the new connection cannot take it over", function()
			with_server(function(srv)
				local j, r = pair(srv)
				local state = assert(r:sm_state())
				local full = cut(srv, r)
				assert(j:send(st.message({ to = full, type = "chat" }, "kept")))
				assert.truthy(j:ping())
				-- the new connection fails to accept (as out of memory would)
				local methods = getmetatable(srv.sessions[full].conn).__index
				local accept = methods.accept_resume
				local failures = 0
				methods.accept_resume = function(conn, _, h)
					failures = failures + 1
					return accept(conn, "not a JID", h)
				end
				local ok, failed = pcall(connect, srv, "romeo", { resume = state, timeout = 1 })
				methods.accept_resume = accept
				assert.is_true(ok)
				assert.is_nil(failed)
				assert.equal(1, failures)
				-- the old session is intact: still waiting, resumable, its stanza kept
				local kept = srv.sessions[full]
				assert.is_true(kept.detached)
				assert.equal(1, kept.sm:count())
				local again = assert(connect(srv, "romeo", { resume = state }))
				assert.is_true(again:sm_report().resumed)
				assert.same({ "kept" }, bodies(again, 1))
				assert.is_true(again:close())
				assert.is_true(j:close())
			end)
		end)

		it("ends, not keeps, a session whose stream the server ended for the client's fault", function()
			with_server({ limits = { max_stanza_size = 5000 } }, function(srv)
				local j, r = pair(srv)
				local full = r.jid
				-- over max_stanza_size: policy-violation, a limit like any other
				r:send(st.message({ to = j.jid, type = "chat" }, ("x"):rep(10000)))
				assert.equal("unavailable", presence_from(j, full).attr.type)
				assert.is_nil(srv.sessions[full])
				assert.is_nil(next(srv.detached))
				assert.is_true(j:close())
			end)
		end)

		it("takes timeouts that are not whole seconds, and logs them", function()
			local logged = {}
			local function log(level, m) logged[#logged + 1] = level .. " " .. m end
			with_server({ log = log, stream_management = { resume_timeout = 90.5 } }, function(srv)
				local j, r = pair(srv)
				local full = cut(srv, r)
				assert.is_true(srv.sessions[full].detached)
				assert.matches("connection lost, kept for 90.5 s", table.concat(logged, "\n"), 1, true)
				assert.is_true(j:close())
			end)
		end)

		it("refuses to resume another account's session", function()
			with_server(function(srv)
				local j = assert(connect(srv, "juliet", { resource = "balcony" }))
				local state = assert(j:sm_state())
				local full = cut(srv, j)
				-- romeo knows juliet's session id
				local forged = {}
				for k, v in pairs(state) do forged[k] = v end
				forged.jid = "romeo@im.example.com/balcony"
				local got = {}
				local r = assert(connect(srv, "romeo", { resume = forged,
					trace = function(kind, data) if kind == "received" then got[#got + 1] = data end end }))
				assert.is_false(r:sm_report().resumed)
				assert.matches("<failed xmlns='urn:xmpp:sm:3'><item%-not%-found ", table.concat(got))
				assert.equal("romeo@im.example.com/balcony", r.jid)
				assert.is_true(srv.sessions[full].detached) -- juliet's waits on
				assert.is_true(r:close())
				-- nor juliet's own with an h beyond what the server sent
				local lying = {}
				for k, v in pairs(state) do lying[k] = v end
				lying.inbound = state.inbound + 50
				local seen = {}
				local again = assert(connect(srv, "juliet", { resume = lying,
					trace = function(kind, data) if kind == "received" then seen[#seen + 1] = data end end }))
				assert.is_false(again:sm_report().resumed)
				assert.matches("<failed xmlns='urn:xmpp:sm:3' h='%d+'><unexpected%-request ", table.concat(seen))
				-- (it bound its resource anew: the old session was replaced)
				assert.is_nil(srv.sessions[again.jid].detached)
				assert.is_true(again:close())
			end)
		end)

		it("ends a session not resumed in time: messages to offline storage, requests bounced, then unavailable",
			function()
				local fc = fake_clock()
				with_server({ clock = fc.fn, stream_management = { resume_timeout = 60 } }, function(srv)
					local j, r = pair(srv)
					local state = assert(r:sm_state())
					local full = cut(srv, r)
					assert(j:send(st.message({ to = full, type = "chat", id = "c" }, "stored")))
					assert(j:send(st.message({ to = full, type = "groupchat", id = "g" }, "bounced")))
					assert(j:send(st.message({ to = full, type = "headline", id = "h" }, "dropped")))
					assert(j:send(st.iq({ to = full, type = "get", id = "q" }):query("urn:example:x")))
					assert.truthy(j:ping())
					fc.now = fc.now + 59
					srv:tick()
					assert.is_true(srv.sessions[full].detached)
					fc.now = fc.now + 2
					srv:tick()
					assert.is_nil(srv.sessions[full])
					local got = {}
					for _ = 1, 3 do
						local e = next_stanza(j, function(s) return s.attr.type == "error" or s.attr.from == full end)
						got[e.attr.id or e.name] = e.name == "presence" and e.attr.type or select(2, e:get_error())
					end
					assert.same({ g = "service-unavailable", q = "service-unavailable", presence = "unavailable" }, got)
					-- too late to resume; the chat message waits offline for romeo's
					-- next session
					local late = assert(connect(srv, "romeo", { resume = state }))
					assert.is_false(late:sm_report().resumed)
					assert.is_true(late:close())
					local again = assert(connect(srv, "romeo", { resource = "later" }))
					again:presence()
					local m = next_stanza(again, is_message)
					assert.equal("c", m.attr.id)
					assert.is_not_nil(m:get_child("delay", "urn:xmpp:delay"))
					assert.is_nil(next_stanza(again, is_message, 0.3))
					assert.is_true(again:close())
					assert.is_true(j:close())
				end)
			end)

		it("gives what a session ended without to the account's other available resource, not offline storage",
			function()
				local fc = fake_clock()
				with_server({ clock = fc.fn, stream_management = { resume_timeout = 60 } }, function(srv)
					local j, r = pair(srv)
					local other = assert(connect(srv, "romeo", { resource = "orchard" }))
					other:presence()
					assert.truthy(other:ping()) -- the server has its presence: it is available
					local full = cut(srv, r)
					assert(j:send(st.message({ to = full, type = "chat", id = "kept" }, "for romeo")))
					assert.truthy(j:ping())
					-- detached: it waits for the session, not for the other resource
					assert.is_nil(next_stanza(other, is_message, 0.2))
					fc.now = fc.now + 61
					srv:tick()
					assert.is_nil(srv.sessions[full])
					local m = next_stanza(other, is_message)
					assert.equal("kept", m and m.attr.id)
					assert.equal("for romeo", m:get_child_text("body"))
					-- and nothing waits offline for a next session
					local again = assert(connect(srv, "romeo", { resource = "later" }))
					again:presence()
					assert.is_nil(next_stanza(again, is_message, 0.3))
					assert.is_true(again:close())
					assert.is_true(other:close())
					assert.is_true(j:close())
				end)
			end)

		it("bounces to its sender a message that a session ended without, when offline storage is full", function()
			local fc = fake_clock()
			with_server({ clock = fc.fn, max_offline = 0, stream_management = { resume_timeout = 60 } }, function(srv)
				local j, r = pair(srv)
				local full = cut(srv, r)
				assert(j:send(st.message({ to = full, type = "chat", id = "full" }, "no room")))
				assert.truthy(j:ping())
				fc.now = fc.now + 61
				srv:tick()
				local e = next_stanza(j, function(m) return m.attr.type == "error" end)
				assert.equal("full", e and e.attr.id)
				assert.equal("service-unavailable", select(2, e:get_error()))
				assert.is_true(j:close())
			end)
		end)

		it("bounds what waits for a detached session: beyond, it ends and everything goes offline in order", function()
			with_server({ stream_management = { max_unacked = 3 } }, function(srv)
				local j, r = pair(srv)
				local full = cut(srv, r)
				for i = 1, 4 do assert(j:send(st.message({ to = full, type = "chat" }, "o" .. i))) end
				assert.truthy(j:ping())
				assert.is_nil(srv.sessions[full])
				-- the bound holds for a connected session too: its own presence
				-- and two of the four go out unacknowledged, the third ends it with
				-- policy-violation; all four wait offline again, in order
				local again = assert(connect(srv, "romeo"))
				again:presence()
				local got, why = {}
				repeat
					local m, _, code = again:receive(5)
					if m and m.name == "message" then got[#got + 1] = m:get_child_text("body") end
					why = code
				until not m
				assert.same({ "o1", "o2" }, got)
				assert.equal("policy-violation", why)
				local last = assert(connect(srv, "romeo", { stream_management = false }))
				last:presence()
				assert.same({ "o1", "o2", "o3", "o4" }, bodies(last, 4))
				assert.is_true(last:close())
				assert.is_true(j:close())
			end)
		end)

		it("stores offline a message as large as the limits allow when the session ends unacknowledged", function()
			local fc = fake_clock()
			-- larger than lxmpp.xml's default stanza size (each text within
			-- the text limit): kept as sent, it is read back with limits of
			-- its own size
			local half = 150000
			with_server({ clock = fc.fn, limits = { max_stanza_size = 4 * half, read_burst = 8 * half },
				stream_management = { resume_timeout = 60 } }, function(srv)
				local j, r = pair(srv)
				local full = cut(srv, r)
				local big = st.message({ to = full, type = "chat", id = "big" }, ("x"):rep(half))
					:tag("note", { xmlns = "urn:example:note" }):text(("y"):rep(half)):up()
				assert(j:send(big))
				assert.truthy(j:ping())
				assert.equal(1, srv.sessions[full].sm:count())
				fc.now = fc.now + 61
				srv:tick()
				assert.is_nil(srv.sessions[full])
				local again = assert(connect(srv, "romeo", { resource = "later", max_stanza_size = 4 * half }))
				again:presence()
				local m = next_stanza(again, is_message)
				assert.equal("big", m and m.attr.id)
				assert.equal(half, #m:get_child_text("body"))
				assert.equal(half, #m:get_child_text("note", "urn:example:note"))
				assert.is_true(again:close())
				assert.is_true(j:close())
			end)
		end)

		it("keeps at most max_detached sessions of an account waiting: the oldest ends", function()
			with_server({ stream_management = { max_detached = 2 } }, function(srv)
				local fulls = {}
				for i = 1, 3 do
					fulls[i] = cut(srv, assert(connect(srv, "romeo", { resource = "r" .. i })))
				end
				assert.is_nil(srv.sessions[fulls[1]])
				assert.is_true(srv.sessions[fulls[2]].detached)
				assert.is_true(srv.sessions[fulls[3]].detached)
			end)
		end)

		it("refuses a second <enable/>, and one where it is off, with <failed/>: the stream goes on", function()
			local FAILED = "<failed xmlns='urn:xmpp:sm:3'><unexpected%-request "
				.. "xmlns='urn:ietf:params:xml:ns:xmpp%-stanzas'/></failed>"
			-- the client enables (where offered), then the test once more
			local function enable_again(srv)
				local got = {}
				local c = assert(connect(srv, "juliet",
					{ trace = function(kind, data) if kind == "received" then got[#got + 1] = data end end }))
				local session = srv.sessions[c.jid]
				local enabled = table.concat(got):find("<enabled", 1, true) ~= nil
				got = {}
				assert(c.conn:send_xml("<enable xmlns='urn:xmpp:sm:3' resume='true'/>"))
				assert.truthy(c:ping())
				assert.equal(session, srv.sessions[c.jid])
				assert.is_true(c:close())
				return enabled, table.concat(got), session
			end
			with_server(function(srv)
				local enabled, got, session = enable_again(srv)
				assert.is_true(enabled)
				assert.matches("^" .. FAILED, got)
				assert.is_not_nil(session.sm_id)
			end)
			with_server({ stream_management = false }, function(srv)
				local enabled, got, session = enable_again(srv)
				assert.is_false(enabled)
				assert.matches("^" .. FAILED, got)
				assert.is_nil(session.sm)
			end)
		end)

		it("checks its options, and is off with stream_management = false", function()
			assert.has_error(function() server.new(config { stream_management = { resume_timeout = -1 } }) end,
				"lxmpp.server: stream_management.resume_timeout: a number > 0")
			assert.has_error(function() server.new(config { stream_management = { bogus = 1 } }) end,
				"lxmpp.server: stream_management: unknown option bogus")
			with_server({ stream_management = false }, function(srv)
				local j = assert(connect(srv, "juliet"))
				assert.is_nil(j:sm_state())
				assert.is_nil(srv.sessions[j.jid].sm)
				assert.is_true(j:close())
			end)
		end)
	end)

	describe("plugins", function()
		it("run handlers by priority, one stanza after another per session, and may wait", function()
			with_server(function(srv)
				local seen = {}
				srv:hook("pre-message/bare", function(event)
					local body = event.stanza:get_child_text("body")
					seen[#seen + 1] = body
					if body == "slow" then cqueues.sleep(0.1) end -- a handler that waits
				end, 5)
				srv:hook("pre-message/bare", function(event)
					if event.stanza:get_child_text("body") == "secret" then
						event.origin.send(st.error_reply(event.stanza, "modify", "not-acceptable"))
						return true -- handled: not routed
					end
				end, 1)
				local j = assert(connect(srv, "juliet"))
				local r = assert(connect(srv, "romeo"))
				r:presence()
				assert.truthy(r:ping())
				for _, body in ipairs { "slow", "fast", "secret", "last" } do
					j:send(st.message({ to = "romeo@im.example.com", type = "chat" }, body))
				end
				local got = {}
				for _ = 1, 3 do got[#got + 1] = next_stanza(r, is_message):get_child_text("body") end
				assert.same({ "slow", "fast", "last" }, got)
				assert.same({ "slow", "fast", "secret", "last" }, seen)
				local e = next_stanza(j, is_message)
				assert.equal("not-acceptable", select(2, e:get_error()))
				assert.is_true(j:close())
				assert.is_true(r:close())
			end)
		end)

		it("gives a module object: features, timers on the server's clock, stores, config, send", function()
			local fc = fake_clock()
			with_server({ clock = fc.fn, greeter = { greeting = "Good morrow" } }, function(srv)
				local fired, mod = 0, nil
				srv:load(function(module)
					mod = module
					module:add_feature("urn:example:greeter")
					module:add_timer(10, function()
						fired = fired + 1
						module:send(st.message({ to = "juliet@im.example.com", type = "headline" },
							module:get_option("greeting")))
						if fired < 2 then return 5 end
					end)
				end, "greeter")
				assert.equal("greeter", mod.name)
				local store = mod:open_store("notes")
				assert(store:set("juliet", { text = "hi", n = 1 }))
				assert.same({ text = "hi", n = 1 }, store:get("juliet"))
				local j = assert(connect(srv, "juliet"))
				j:presence { priority = 1 }
				assert.truthy(j:ping())
				local info = assert(j:iq(iq({ type = "get", to = DOMAIN }, "http://jabber.org/protocol/disco#info")))
				assert.truthy(info.tags[1]:get_child_with_attr("feature", nil, "var", "urn:example:greeter"))
				fc.now = fc.now + 9.9
				srv:tick()
				assert.is_nil(next_stanza(j, is_message, 0.2))
				fc.now = fc.now + 0.1
				srv:tick()
				local m = next_stanza(j, is_message)
				assert.equal("Good morrow", m:get_child_text("body"))
				assert.equal(DOMAIN, m.attr.from)
				fc.now = fc.now + 5
				srv:tick()
				assert.truthy(next_stanza(j, is_message))
				fc.now = fc.now + 100
				srv:tick()
				assert.is_nil(next_stanza(j, is_message, 0.2))
				assert.equal(2, fired)
				assert.is_true(j:close())
			end)
		end)
	end)

	describe("running", function()
		it("is pollable: a host loop drives it through pollfd, events, timeout and step", function()
			local srv = server.new(config())
			assert(srv:start()) -- its own controller
			local outer = cqueues.new()
			local done = false
			outer:wrap(function()
				while not done do
					cqueues.poll(srv)
					assert(srv:step(0))
				end
			end)
			outer:wrap(function()
				local c = assert(connect(srv, "juliet"))
				assert.truthy(c:ping())
				assert.is_true(c:close())
				done = true
			end)
			assert(outer:loop())
			srv:close(1)
		end)

		it("accepts one connection at a time during a flood, so the others keep running", function()
			local cq = cqueues.new()
			local srv = server.new(config())
			assert(srv:start(cq))
			local port, host = port_of(srv)
			local socks = {}
			for i = 1, 20 do
				socks[i] = socket.connect { host = host, port = port }
				assert(socks[i]:connect(5))
			end
			-- each step of the controller accepts at most one of them
			local steps = 0
			while srv.count < 20 do
				local before = srv.count
				assert(cq:step(1))
				assert.is_true(srv.count - before <= 1, "accepted " .. (srv.count - before) .. " in one step")
				steps = steps + 1
				assert.is_true(steps < 1000)
			end
			for _, s in ipairs(socks) do s:close() end
			srv:close(1)
		end)

		it("keeps its stores durably with sqlite3", function()
			local dir = require("interop.process").tempdir()
			local storage = require "lxmpp.server.storage"
			local db = assert(storage.open { driver = "sqlite3", path = dir .. "/s.sqlite" })
			local roster = db:open_store("im.example.com/roster")
			assert(roster:set("juliet", { items = { ["romeo@im.example.com"] = { subscription = "both", name = "R\0'\"" } },
				ver = 3 }))
			assert(db:open_store("im.example.com/other"):set("juliet", { x = 1 }))
			db:close()
			db = assert(storage.open { driver = "sqlite3", path = dir .. "/s.sqlite" })
			local back = db:open_store("im.example.com/roster"):get("juliet")
			assert.same({ items = { ["romeo@im.example.com"] = { subscription = "both", name = "R\0'\"" } }, ver = 3 }, back)
			assert(db:open_store("im.example.com/roster"):set("juliet", nil))
			assert.is_nil(db:open_store("im.example.com/roster"):get("juliet"))
			assert.same({ x = 1 }, db:open_store("im.example.com/other"):get("juliet"))
			db:close()
			require("interop.process").remove(dir)
		end)
	end)

	describe("examples/server.lua", function()
		local process = require "interop.process"

		it("runs a server from a config file with durable storage, adds users, and shuts down cleanly", function()
			local dir = process.tempdir()
			local cfg = dir .. "/server.cfg.lua"
			local f = assert(io.open(cfg, "w"))
			f:write(("return { domain = %q, certificate = %q, key = %q, iterations = 4096,\n"):format(DOMAIN, CERT, KEY),
				("  storage = { driver = 'sqlite3', path = %q },\n"):format(dir .. "/store.sqlite"),
				"  listen = { { host = '127.0.0.1', port = 0 }, { host = '127.0.0.1', port = 0, direct_tls = true } } }\n")
			f:close()
			local ok, out = process.run(process.ours {
				lua_command, "examples/server.lua", cfg, "adduser", "romeo@" .. DOMAIN, "s3cret" })
			assert(ok, out)
			local log = dir .. "/log"
			local proc = process.spawn(process.ours { lua_command, "examples/server.lua", cfg }, { log = log })
			local cq = cqueues.new()
			cq:wrap(function()
				local deadline = clock.now() + 30
				local text
				repeat
					cqueues.sleep(0.05)
					text = process.read(log)
				until text:find("listening on 127.0.0.1:%d+ %(direct TLS%)") or clock.now() > deadline
				local port = tonumber(text:match("listening on 127%.0%.0%.1:(%d+)\n"))
				assert(port, text)
				local c = assert(client.connect { jid = "romeo@" .. DOMAIN, password = "s3cret", host = "127.0.0.1",
					port = port, tls = { ca = CERT }, timeout = 10 })
				assert.truthy(c:ping())
				proc:stop()
				local _, _, code = c:receive(10)
				assert.equal("system-shutdown", code)
			end)
			local done, err = cq:loop()
			proc:stop()
			process.remove(dir)
			assert(done, err)
		end)
	end)

	describe("external components (XEP-0114)", function()
		local BRIDGE = "bridge." .. DOMAIN
		local COMPONENTS = { [BRIDGE] = "s3cret", ["irc.example.net"] = "other" }
		local function component_config(extra)
			local c = { listen = { { host = "127.0.0.1", port = 0 },
				{ host = "127.0.0.1", port = 0, components = COMPONENTS } } }
			for k, v in pairs(extra or {}) do c[k] = v end
			return c
		end
		local function component_port(srv, direct_tls)
			for _, l in ipairs(srv:addresses_bound()) do
				if l.components and l.direct_tls == (direct_tls or false) then return l.port, l.host end
			end
		end

		-- Our lxmpp.stream.component over a socket to the components
		-- listener, driven by hand: step() writes its output, reads, and
		-- returns the next event (nil after `seconds`).
		local function component(srv, domain, secret, direct_tls)
			local port, host = component_port(srv, direct_tls)
			local t = assert(transport.connect(host, port, clock.now() + 5))
			-- (over TLS it checks the server's certificate, which is for
			-- DOMAIN, against its own domain: not here)
			local conn = stream.component { jid = domain, secret = secret, tls = direct_tls and "direct" or nil,
				tls_context = direct_tls and stream.tls_context("client", { verify = "none" }) or nil }
			local c = { conn = conn }
			function c.next(seconds)
				local deadline = clock.now() + (seconds or 5)
				while true do
					local ev = conn:next_event()
					if ev then return ev end
					local out = conn:take_output()
					if out then t:write(out, deadline) end
					if conn:state() == "closed" or conn:state() == "failed" then return nil end
					local data = t:read(deadline)
					if not data then return nil end
					conn:receive_bytes(data)
				end
			end
			-- the next event of `type` (others skipped), or nil
			function c.expect(type, seconds)
				repeat
					local ev = c.next(seconds)
					if ev and ev.type == type then return ev end
				until not ev
			end
			function c.send(stanza)
				assert(conn:send(stanza))
				t:write(conn:take_output(), clock.now() + 5)
			end
			function c.close() t:close() end
			return c
		end

		it("takes a component over direct TLS without asking it for the certificate clients must show", function()
			local juliet_cert = stream.selfsigned(nil, "juliet@" .. DOMAIN)
			with_server(component_config {
				client_certificates = { ca = juliet_cert, required = true },
				listen = { { host = "127.0.0.1", port = 0 },
					{ host = "127.0.0.1", port = 0, components = COMPONENTS, direct_tls = true } },
			}, function(srv)
				local c = component(srv, BRIDGE, "s3cret", true)
				assert.truthy((c.expect("ready")))
				assert.truthy(srv.components[BRIDGE])
				c.close()
				-- while a client without one is refused at the handshake
				assert.is_nil((connect(srv, "juliet", { timeout = 5 })))
			end)
		end)

		it("takes a component with its secret and routes both ways: any JID at its domain, full and bare JIDs", function()
			local seen = {}
			with_server(component_config(), function(srv)
				srv:hook("component-authenticated", function(e) seen[#seen + 1] = "+" .. e.session.host end)
				srv:hook("component-disconnected", function(e) seen[#seen + 1] = "-" .. e.session.host end)
				local juliet = assert(connect(srv, "juliet", { resource = "balcony" }))
				juliet:send(st.presence())
				local co = component(srv, BRIDGE, "s3cret")
				assert.equal(BRIDGE, co.expect("ready").jid)
				assert.same({ "+" .. BRIDGE }, seen)
				-- disco#items of the server's domain lists it
				local items = assert(juliet:iq(iq({ type = "get", to = DOMAIN }, "http://jabber.org/protocol/disco#items")))
				assert.equal(BRIDGE, items.tags[1].tags[1].attr.jid)

				juliet:send(st.message({ to = "echo@" .. BRIDGE .. "/r", type = "chat" }, "up"))
				local m = co.expect("stanza").stanza
				assert.equal("up", m:get_child_text("body"))
				assert.equal("juliet@" .. DOMAIN .. "/balcony", m.attr.from)
				juliet:send(st.message({ to = BRIDGE }, "to the domain"))
				assert.equal("to the domain", co.expect("stanza").stanza:get_child_text("body"))

				co.send(st.message({ from = "echo@" .. BRIDGE, to = "juliet@" .. DOMAIN .. "/balcony" }, "down full"))
				co.send(st.message({ from = "echo@" .. BRIDGE, to = "juliet@" .. DOMAIN, type = "chat" }, "down bare"))
				local got = next_stanza(juliet, is_message)
				assert.equal("down full", got:get_child_text("body"))
				assert.equal("echo@" .. BRIDGE, got.attr.from)
				assert.equal("down bare", next_stanza(juliet, is_message):get_child_text("body"))
				-- the server answers a component's iq to its domain (ping)
				co.send(st.iq({ from = BRIDGE, to = DOMAIN, type = "get", id = "p1" }):tag("ping", { xmlns = "urn:xmpp:ping" }))
				local pong = co.expect("stanza").stanza
				assert.same({ "result", "p1" }, { pong.attr.type, pong.attr.id })
				-- an account that does not exist: the component gets the error
				co.send(st.message({ from = "echo@" .. BRIDGE, to = "nobody@" .. DOMAIN }, "?"))
				assert.equal("error", co.expect("stanza").stanza.attr.type)
				-- without 'to': bad-request (from stamped: the domain), never in
				-- answer to an error or a result (RFC 6120 §8.3.1)
				co.send(st.message({ type = "error", id = "e1" }, "an error to nobody"))
				co.send(st.iq({ type = "result", id = "r1" }))
				co.send(st.message({ id = "n1" }, "to nobody"))
				local nowhere = co.expect("stanza").stanza
				assert.equal("n1", nowhere.attr.id)
				assert.equal(BRIDGE, nowhere.attr.to)
				assert.truthy(nowhere:get_child("error"):get_child("bad-request", "urn:ietf:params:xml:ns:xmpp-stanzas"))

				-- a stanza from another domain ends the component's stream
				co.send(st.message({ from = "juliet@" .. DOMAIN, to = "romeo@" .. DOMAIN }, "forged"))
				assert.equal("invalid-from", co.expect("stream-error").condition)
				co.close()
				-- gone: stanzas to its domain come back with an error
				local deadline = clock.now() + 5
				while srv.components[BRIDGE] and clock.now() < deadline do cqueues.sleep(0.01) end
				assert.same({ "+" .. BRIDGE, "-" .. BRIDGE }, seen)
				-- presence gets no error (RFC 6120 §8.3.1: unavailable, directed
				-- available), a message does; in order, so a presence error
				-- would come first
				juliet:send(st.presence({ to = "echo@" .. BRIDGE, type = "unavailable", id = "p1" }))
				juliet:send(st.presence({ to = "echo@" .. BRIDGE, id = "p2" }))
				juliet:send(st.message({ to = "echo@" .. BRIDGE, id = "m2" }, "anyone?"))
				local err = next_stanza(juliet, function(x) return x.attr.type == "error" end)
				assert.same({ "message", "error", "m2" }, { err.name, err.attr.type, err.attr.id })
				assert.truthy(err:get_child("error"):get_child("remote-server-timeout", "urn:ietf:params:xml:ns:xmpp-stanzas"))
				items = assert(juliet:iq(iq({ type = "get", to = DOMAIN }, "http://jabber.org/protocol/disco#items")))
				assert.equal(0, #items.tags[1].tags)
				assert.is_true(juliet:close())
			end)
		end)

		it("plays the subscription handshake between an account and an address at a component (a gateway)", function()
			with_server(component_config(), function(srv)
				local juliet = assert(connect(srv, "juliet", { resource = "balcony" }))
				juliet:send(st.presence())
				assert.truthy(juliet:ping()) -- the presence has been processed
				local co = component(srv, BRIDGE, "s3cret")
				assert(co.expect("ready"))
				local contact = "romeo@" .. BRIDGE
				co.send(st.presence { type = "subscribe", from = contact, to = "juliet@" .. DOMAIN })
				local ask = next_stanza(juliet, function(x) return x.name == "presence" and x.attr.type ~= nil end)
				assert.same({ "subscribe", contact }, { ask.attr.type, ask.attr.from })
				juliet:send(st.presence { type = "subscribed", to = contact })
				local function presence_to_component()
					repeat
						local ev = co.expect("stanza")
						if ev and ev.stanza.name == "presence" then return ev.stanza end
					until not ev
				end
				local approved = presence_to_component()
				assert.same({ "subscribed", "juliet@" .. DOMAIN, contact },
					{ approved.attr.type, approved.attr.from, approved.attr.to })
				local available = presence_to_component() -- her current presence follows
				assert.same({ nil, "juliet@" .. DOMAIN .. "/balcony" }, { available.attr.type, available.attr.from })
				local roster = assert(juliet:iq(iq({ type = "get" }, "jabber:iq:roster")))
				local item = roster.tags[1].tags[1]
				assert.same({ contact, "from" }, { item.attr.jid, item.attr.subscription })
				assert.is_true(juliet:close())
				co.close()
			end)
		end)

		it("refuses a wrong secret, an unknown domain, and a second connection for a connected domain", function()
			local logged = {}
			local function log(level, m) logged[#logged + 1] = level .. " " .. m end
			with_server(component_config { log = log }, function(srv)
				local wrong = component(srv, BRIDGE, "wrong")
				assert.equal("not-authorized", wrong.expect("stream-error").condition)
				-- the log says why
				assert.matches("component " .. BRIDGE:gsub("%p", "%%%0") .. " refused: wrong handshake",
					table.concat(logged, "\n"))
				local unknown = component(srv, "nope." .. DOMAIN, "s3cret")
				assert.equal("host-unknown", unknown.expect("stream-error").condition)
				local first = component(srv, BRIDGE, "s3cret")
				assert(first.expect("ready"))
				local second = component(srv, BRIDGE, "s3cret")
				assert.equal("conflict", second.expect("stream-error").condition)
				assert.matches("refused: [^\n]*conflict", table.concat(logged, "\n"))
				-- the first one goes on; another component's domain is its own
				local other = component(srv, "irc.example.net", "other")
				assert(other.expect("ready"))
				other.send(st.message({ from = "irc.example.net", to = "x@" .. BRIDGE }, "between components"))
				assert.equal("between components", first.expect("stanza").stanza:get_child_text("body"))
				-- a client's stream on the components port is the wrong namespace
				local port, host = component_port(srv)
				local t = assert(transport.connect(host, port, clock.now() + 5))
				assert(t:write(HEADER, clock.now() + 5))
				assert.matches("<invalid%-namespace", read_until(t, "</stream:stream>"))
				for _, c in ipairs { wrong, unknown, first, second, other } do c.close() end
			end)
		end)

		it("serves lxmpp.component: messages both ways, its ping through us, conflict, and the retry through it", function()
			local component_api = require "lxmpp.component"
			with_server(component_config(), function(srv, cq)
				local port, host = component_port(srv)
				local function open(opts)
					local o = { jid = BRIDGE, secret = "s3cret", host = host, port = port, timeout = 10 }
					for k, v in pairs(opts or {}) do o[k] = v end
					return component_api.connect(o)
				end
				local comp = assert(open())
				assert.equal(BRIDGE, comp.jid)
				local juliet = assert(connect(srv, "juliet", { resource = "balcony" }))
				juliet:send(st.presence())
				assert(juliet:message("echo@" .. BRIDGE, "up"))
				local m = next_stanza(comp, is_message)
				assert.equal("up", m:get_child_text("body"))
				assert(comp:send(st.message({ to = m.attr.from, from = "echo@" .. BRIDGE }, "down")))
				assert.equal("down", next_stanza(juliet, is_message):get_child_text("body"))
				assert.truthy(comp:ping()) -- to its own domain: through the server and back
				local second, _, code = open()
				assert.is_nil(second)
				assert.equal("conflict", code)
				local _, _, wrong = open { secret = "wrong" }
				assert.equal("not-authorized", wrong)
				-- a newcomer that retries through conflict gets in once the first leaves
				local newcomer
				cq:wrap(function() newcomer = open { reconnect = { delay = 0.05 } } end)
				cqueues.sleep(0.2)
				assert.is_nil(newcomer)
				comp:close()
				local deadline = clock.now() + 10
				while not newcomer and clock.now() < deadline do cqueues.sleep(0.05) end
				assert.truthy(newcomer)
				assert(juliet:message("echo@" .. BRIDGE, "to the newcomer"))
				assert.equal("to the newcomer", next_stanza(newcomer, is_message):get_child_text("body"))
				newcomer:close()
				assert.is_true(juliet:close())
			end)
		end)

		it("replaces the connected component with the newcomer when configured so", function()
			local seen, order = {}, {}
			with_server(component_config { component_conflict = "replace" }, function(srv)
				srv:hook("component-disconnected", function(e)
					seen[#seen + 1] = e.session
					order[#order + 1] = { "-", e.session }
				end)
				srv:hook("component-authenticated", function(e) order[#order + 1] = { "+", e.session } end)
				local first = component(srv, BRIDGE, "s3cret")
				assert(first.expect("ready"))
				local wrong = component(srv, BRIDGE, "wrong") -- no secret, no say
				assert.equal("not-authorized", wrong.expect("stream-error").condition)
				local second = component(srv, BRIDGE, "s3cret")
				assert(second.expect("ready"))
				local ev = first.expect("stream-error")
				assert.same({ "conflict", "Replaced by a new connection" }, { ev.condition, ev.text })
				assert.equal(1, #seen)
				assert.truthy(srv.components[BRIDGE])
				assert.are_not.equal(seen[1], srv.components[BRIDGE]) -- the older one went
				-- as Prosody: the replaced one disconnects before the newcomer is authenticated
				assert.equal(3, #order)
				assert.same({ "+", "-", "+" }, { order[1][1], order[2][1], order[3][1] })
				assert.equal(order[1][2], order[2][2])
				assert.equal(srv.components[BRIDGE], order[3][2])
				local juliet = assert(connect(srv, "juliet"))
				juliet:send(st.message({ to = BRIDGE }, "to the newcomer"))
				assert.equal("to the newcomer", second.expect("stanza").stanza:get_child_text("body"))
				assert.is_true(juliet:close())
				for _, c in ipairs { first, wrong, second } do c.close() end
			end)
			assert.has_error(function() server.new(config { component_conflict = "kick" }) end,
				'lxmpp.server: component_conflict: "refuse" or "replace"')
		end)

		it("holds components to the open and auth timeouts, the pre-auth size and the failed logins per address", function()
			local fc = fake_clock()
			with_server(component_config { clock = fc.fn, limits = { max_auth_failures_per_ip = 2 } }, function(srv)
				local port, host = component_port(srv)
				local silent = assert(transport.connect(host, port, clock.now() + 5))
				local t = assert(transport.connect(host, port, clock.now() + 5))
				assert(t:write("<stream:stream xmlns='jabber:component:accept' "
					.. "xmlns:stream='http://etherx.jabber.org/streams' to='" .. BRIDGE .. "'>", clock.now() + 5))
				assert.matches("<stream:stream", read_until(t, "id="))
				fc.now = fc.now + 11
				srv:tick()
				assert.matches("no stream header in time", read_until(silent, "</stream:stream>"))
				fc.now = fc.now + 50
				srv:tick()
				assert.matches("not authenticated in time", read_until(t, "</stream:stream>"))
				local big = assert(transport.connect(host, port, clock.now() + 5))
				assert(big:write("<stream:stream xmlns='jabber:component:accept' "
					.. "xmlns:stream='http://etherx.jabber.org/streams' to='" .. BRIDGE .. "'><handshake>"
					.. ("0"):rep(20000) .. "</handshake>", clock.now() + 5))
				assert.matches("<policy%-violation", read_until(big, "</stream:stream>"))
				-- two wrong secrets use up the address's logins: the right one waits
				for _ = 1, 2 do
					assert.equal("not-authorized", component(srv, BRIDGE, "wrong").expect("stream-error").condition)
				end
				assert.equal("policy-violation", component(srv, BRIDGE, "s3cret").expect("stream-error").condition)
				fc.now = fc.now + 3600
				assert(component(srv, BRIDGE, "s3cret").expect("ready"))
				for _, c in ipairs { silent, t, big } do c:close() end
			end)
		end)

		it("checks the components of its config", function()
			local function bad(components, message)
				assert.has_error(function()
					server.new(config { listen = { { host = "127.0.0.1", port = 0, components = components } } })
				end, message)
			end
			bad({ [DOMAIN] = "x" }, "lxmpp.server: components: " .. DOMAIN .. " is a domain of the server")
			bad({ [BRIDGE] = "" }, "lxmpp.server: components: the secret of " .. BRIDGE)
			bad({ ["a@b"] = "x" }, "lxmpp.server: listen[1].components: not a domain: a@b")
			bad({}, "lxmpp.server: listen[1].components: { [domain] = secret, ... }")
			-- direct TLS needs TLS: not a listener that fails every connection
			assert.has_error(function()
				server.new(config { tls = "disabled",
					listen = { { host = "127.0.0.1", port = 0, components = { [BRIDGE] = "x" }, direct_tls = true } } })
			end, "lxmpp.server: listen[1]: direct_tls with tls = \"disabled\"")
		end)
	end)

	describe("docs/server.md", function()
		for name, run in require "support.doc_examples"("docs/server.md") do it(name, run) end
	end)
end)

-- lxmpp.server (examples/server.lua in its own process) against Debian's
-- slixmpp 1.8.3: the evidence for what the server offers on TLS 1.3.
-- slixmpp binds only with tls-unique, which TLS 1.3 does not have; it tries
-- each -PLUS mechanism we offer, then plain SCRAM with the GS2 flag 'y'.
-- By default the server takes that 'y' once the client showed it saw
-- -PLUS (channel_binding_fallback); strictly (RFC 5802 §6) it would be a
-- downgrade, and slixmpp would be locked out. Also slixmpp's XEP-0198
-- (xep_0198): enabled, cut, resumed with what came meanwhile.
local certs = require "interop.certs"
local client_matrix = require "interop.client_matrix"
local clock = require "lxmpp.clock"
local process = require "interop.process"
local slixmpp = require "interop.slixmpp"

local DOMAIN = "lxmpp.test"

-- Starts examples/server.lua with `extra` config lines (or a function of
-- the certificates from certs.make that returns them); returns the
-- server table the slixmpp driver takes, and the process.
local function start(dir, name, extra)
	local c = certs.make(dir, DOMAIN)
	if type(extra) == "function" then extra = extra(c) end
	local cfg = dir .. "/" .. name .. ".cfg.lua"
	local f = assert(io.open(cfg, "w"))
	f:write(("return { domain = %q, certificate = %q, key = %q, iterations = 4096,\n"):format(DOMAIN, c.certfile,
		c.keyfile), "  accounts = { juliet = 'r0m30myr0m30', romeo = 'wherefore' },\n",
		"  listen = { { host = '127.0.0.1', port = 0 }, { host = '127.0.0.1', port = 0, direct_tls = true } },\n",
		extra or "", "}\n")
	f:close()
	local log = dir .. "/" .. name .. ".log"
	local lua_path, lua_cpath = process.lua54_env()
	local proc = process.spawn({ "env", lua_path, lua_cpath, "lua5.4", "examples/server.lua", cfg }, { log = log })
	local deadline, text = clock.now() + 30, ""
	while not text:find("%(direct TLS%)") and clock.now() < deadline and proc:alive() do
		os.execute("sleep 0.05")
		text = process.read(log)
	end
	local port = tonumber(text:match("listening on 127%.0%.0%.1:(%d+)\n"))
	local direct = tonumber(text:match("listening on 127%.0%.0%.1:(%d+) %(direct TLS%)"))
	assert(port and direct, text)
	return { host = "127.0.0.1", port = port, direct_tls_port = direct, cafile = c.cafile }, proc
end

local function failures_texts(report)
	local texts = {}
	for _, f in ipairs(report.failures or {}) do texts[#texts + 1] = f.condition .. ": " .. tostring(f.text) end
	return texts
end

describe("lxmpp.server with slixmpp 1.8.3", function()
	local dir, server, proc

	setup(function()
		dir = process.tempdir()
		server, proc = start(dir, "default")
	end)

	teardown(function()
		if proc then proc:stop() end
		if dir then process.remove(dir) end
	end)

	it("logs in on TLS 1.3 after its tls-unique -PLUS attempts, each refused with a reason", function()
		local reports, output = slixmpp.run(server, "login", { { jid = "juliet@" .. DOMAIN, password = "r0m30myr0m30" } },
			{ keep_trying = true })
		local r = reports[1]
		assert(r and r.ok, output)
		assert.equal("TLSv1.3", r.tls)
		assert.equal("SCRAM-SHA-512", r.mechanism)
		assert.same({
			"malformed-request: scram: e=unsupported-channel-binding-type",
			"malformed-request: scram: e=unsupported-channel-binding-type",
			"malformed-request: scram: e=unsupported-channel-binding-type",
		}, failures_texts(r))
	end)

	it("binds with tls-unique on TLS 1.2, and over direct TLS", function()
		local reports, output = slixmpp.run(server, "login", { { jid = "juliet@" .. DOMAIN, password = "r0m30myr0m30" } },
			{ tls_max = "1.2" })
		assert(reports[1] and reports[1].ok, output)
		assert.equal("SCRAM-SHA-512-PLUS", reports[1].mechanism)
		reports, output = slixmpp.run(server, "login", { { jid = "romeo@" .. DOMAIN, password = "wherefore" } },
			{ keep_trying = true, direct_tls = true })
		assert(reports[1] and reports[1].ok, output)
	end)

	it("is refused a wrong password with the reason, three times, then the stream ends", function()
		local reports, output = slixmpp.run(server, "login", { { jid = "juliet@" .. DOMAIN, password = "nope" } },
			{ keep_trying = true })
		local r = reports[1]
		assert(r and not r.ok, output)
		local texts = failures_texts(r)
		assert.equal(6, #texts, output)
		for i = 4, 6 do assert.equal("not-authorized: scram: e=invalid-proof", texts[i]) end
	end)

	it("exchanges messages between two accounts", function()
		local reports, output = slixmpp.run(server, "exchange", {
			{ jid = "juliet@" .. DOMAIN, password = "r0m30myr0m30" }, { jid = "romeo@" .. DOMAIN, password = "wherefore" },
		}, { keep_trying = true, count = 50 })
		assert(reports[1] and reports[1].ok, output)
		assert.equal(50, reports[1].received)
	end)

	it("resumes slixmpp's XEP-0198 session after its connection was cut, with what came meanwhile", function()
		local reports, output = slixmpp.run(server, "sm", {
			{ jid = "juliet@" .. DOMAIN, password = "r0m30myr0m30" }, { jid = "romeo@" .. DOMAIN, password = "wherefore" },
		}, { keep_trying = true, count = 5 })
		local r = reports[1]
		assert(r and r.ok, output)
		assert.matches("^%x+$", r.previd)
		assert.equal(r.jid, r.resumed_jid)
		assert.same({ "while cut 0", "while cut 1", "while cut 2", "while cut 3", "while cut 4" }, r.bodies)
	end)

	it("locks it out on TLS 1.3 without the fallback (strict RFC 5802 'y')", function()
		local strict_server, strict = start(dir, "strict", "  channel_binding_fallback = false,\n")
		local reports, output = slixmpp.run(strict_server, "login",
			{ { jid = "juliet@" .. DOMAIN, password = "r0m30myr0m30" } }, { keep_trying = true })
		strict:stop()
		local r = reports[1]
		assert(r and not r.ok, output)
		local texts = failures_texts(r)
		assert.truthy(texts[4] and texts[4]:find("downgrade", 1, true), output)
	end)
end)

-- XEP-0178 with a real client (slixmpp's certfile/keyfile and EXTERNAL),
-- and a second domain with its own certificate, which slixmpp (direct TLS)
-- and aioxmpp (STARTTLS) verify against the name they send as SNI.
describe("lxmpp.server with client certificates and a certificate per domain", function()
	local SECOND = "second.test"
	local dir, other_dir, server, proc
	local juliet, elsewhere, alien

	setup(function()
		dir, other_dir = process.tempdir(), process.tempdir()
		server, proc = start(dir, "certs", function(c)
			local second = certs.server(dir, SECOND)
			juliet, elsewhere = certs.client(dir, "juliet@" .. DOMAIN), certs.client(dir, "juliet@elsewhere.test")
			return ("  domains = { %q, %q },\n  client_certificates = { ca = %q },\n"
				.. "  certificates = { [%q] = { certificate = %q, key = %q } },\n"):format(
				DOMAIN, SECOND, c.cafile, SECOND, second.certfile, second.keyfile)
		end)
		certs.make(other_dir, "other.test")
		alien = certs.client(other_dir, "juliet@" .. DOMAIN)
	end)

	teardown(function()
		if proc then proc:stop() end
		if dir then process.remove(dir) end
		if other_dir then process.remove(other_dir) end
	end)

	local function login(jid, opts)
		local reports, output = slixmpp.run(server, "login", { { jid = jid, password = "r0m30myr0m30" } }, opts)
		return reports[1] or {}, output
	end

	it("logs slixmpp in with EXTERNAL as its certificate's XmppAddr", function()
		local r, output = login("juliet@" .. DOMAIN, { mech = "EXTERNAL", certfile = juliet.certfile,
			keyfile = juliet.keyfile })
		assert(r.ok, output)
		assert.equal("EXTERNAL", r.mechanism)
		assert.matches("^juliet@lxmpp%.test/", r.bound)
		assert.truthy(table.concat(r.offered, " "):find("EXTERNAL", 1, true))
	end)

	it("offers no EXTERNAL without a certificate or with one from another CA", function()
		for _, cert in ipairs { false, alien } do
			local r, output = login("juliet@" .. DOMAIN, { keep_trying = true, certfile = cert and cert.certfile,
				keyfile = cert and cert.keyfile })
			assert(r.ok, output)
			assert.is_nil(table.concat(r.offered, " "):find("EXTERNAL", 1, true), output)
			assert.matches("^SCRAM", r.mechanism)
		end
	end)

	it("refuses a certificate for another JID with not-authorized and the reason", function()
		local r, output = login("juliet@" .. DOMAIN, { mech = "EXTERNAL", certfile = elsewhere.certfile,
			keyfile = elsewhere.keyfile })
		assert(not r.ok, output)
		assert.same({ { condition = "not-authorized", text = "your certificate names no JID at lxmpp.test" } },
			r.failures)
	end)

	it("serves each domain its own certificate by SNI: slixmpp verifies each name and logs in", function()
		-- slixmpp connects by the JID's domain (spec/interop/slixmpp.lua), so
		-- it sends that domain as SNI and checks the certificate against it.
		-- Direct TLS (XEP-0368): over STARTTLS a stream to a domain the
		-- server does not host ends with host-unknown before any TLS.
		local reports, output = slixmpp.run(server, "login", { { jid = "juliet@" .. DOMAIN, password = "r0m30myr0m30" },
			{ jid = "juliet@" .. SECOND, password = "r0m30myr0m30" },
			{ jid = "juliet@unknown.test", password = "r0m30myr0m30" } }, { direct_tls = true, keep_trying = true })
		for i, domain in ipairs { DOMAIN, SECOND } do
			local r = reports[i] or {}
			assert(r.ok, output)
			assert.same({ domain, "*." .. domain }, r.certificate)
			assert.matches("^juliet@" .. domain:gsub("%.", "%%.") .. "/", r.bound)
		end
		-- a name without its own certificate gets the default one, for
		-- lxmpp.test: slixmpp refuses it before any SASL
		local r = reports[3] or {}
		assert(r.ok == false, output)
		assert.matches("certificate is not valid for 'unknown.test'", r.condition, 1, true)
		assert.same({}, r.failures)
	end)

	it("serves each domain its own certificate by SNI: aioxmpp verifies each name and does its full exchange", function()
		local argv
		for _, client in ipairs(client_matrix.CLIENTS) do
			if client.name == "aioxmpp" then argv = client.argv end
		end
		for _, domain in ipairs { DOMAIN, SECOND } do
			local cmd = { "timeout", "60" }
			for _, a in ipairs(argv) do cmd[#cmd + 1] = a end
			for _, a in ipairs { server.host, tostring(server.port), domain, server.cafile, "juliet", "r0m30myr0m30",
				"romeo", "wherefore" } do cmd[#cmd + 1] = a end
			local _, out = process.run(cmd)
			assert.matches("step tls:a ok", out)
			assert.matches("step bind:a ok juliet@" .. domain:gsub("%.", "%%.") .. "/matrix%-a", out)
			assert.matches("step message%-bare ok", out)
			assert.not_matches("step %S+ fail", out)
		end
	end)

	it("ends a stream to a domain other than the one TLS was set up for (SNI) with host-unknown", function()
		local header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
			.. "xmlns:stream='http://etherx.jabber.org/streams' to='" .. DOMAIN .. "' version='1.0'>"
		local input = dir .. "/header.xml"
		local f = assert(io.open(input, "w"))
		f:write(header)
		f:close()
		local _, out = process.run { "sh", "-c", ("timeout 20 openssl s_client -quiet -connect 127.0.0.1:%d "
			.. "-servername %s -CAfile %s -verify_return_error < %s"):format(server.direct_tls_port, SECOND,
			server.cafile, input) }
		assert.matches("<host%-unknown xmlns='urn:ietf:params:xml:ns:xmpp%-streams'/>", out)
		assert.matches("TLS was set up with the certificate for second.test, not for lxmpp.test", out, 1, true)
	end)
end)

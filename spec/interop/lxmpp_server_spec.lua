-- lxmpp.server (examples/server.lua in its own process) against Debian's
-- slixmpp 1.8.3: the evidence for what the server offers on TLS 1.3.
-- slixmpp binds only with tls-unique, which TLS 1.3 does not have; it tries
-- each -PLUS mechanism we offer, then plain SCRAM with the GS2 flag 'y'.
-- By default the server takes that 'y' once the client showed it saw
-- -PLUS (channel_binding_fallback); strictly (RFC 5802 §6) it would be a
-- downgrade, and slixmpp would be locked out. Also slixmpp's XEP-0198
-- (xep_0198): enabled, cut, resumed with what came meanwhile.
local certs = require "interop.certs"
local clock = require "lxmpp.clock"
local process = require "interop.process"
local slixmpp = require "interop.slixmpp"

local DOMAIN = "lxmpp.test"

-- Starts examples/server.lua with `extra` config lines; returns the
-- server table the slixmpp driver takes, and the process.
local function start(dir, name, extra)
	local c = certs.make(dir, DOMAIN)
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

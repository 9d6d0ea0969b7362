-- The extensions (docs/extensions.md) against a real server and a real
-- client: an lxmpp bot with disco, caps, version and time is asked by
-- slixmpp (its xep_0030, xep_0115, xep_0092, xep_0202), which checks our
-- caps hash with its own code while the bot checks slixmpp's with ours;
-- then the bot asks the server. Run by each server's spec file as part of
-- its `more` tests:
--   ext_suite(spec, server_of, expected) with expected = {
--     identity = { category =, type = } of the server,
--     features = { ... } the server must announce,
--     slixmpp = options for slixmpp's runs (interop.slixmpp), or nil
--   }
local clock = require "lxmpp.clock"
local client = require "lxmpp.client"
local process = require "interop.process"
local slixmpp = require "interop.slixmpp"
local st = require "lxmpp.stanza"

return function(spec, server_of, expected)
	local describe, it, assert = spec.describe, spec.it, spec.assert

	-- slixmpp's options: the server's (expected.slixmpp) and these
	local function slixmpp_options(o)
		for k, v in pairs(expected.slixmpp or {}) do o[k] = v end
		return o
	end

	local function connect(user)
		local server = server_of()
		local account = server:account(user)
		return assert(client.connect { jid = account.jid, password = account.password, host = server.host,
			port = server.port, tls = { cafile = server.cafile }, timeout = 10 })
	end

	describe("lxmpp.ext", function()
		it("answers slixmpp's disco, caps, version and time, and checks slixmpp's caps", function()
			local server = server_of()
			local bot = connect("alice")
			local disco = bot:use("disco", { identities = { { category = "client", type = "bot", name = "lxmpp bot" } } })
			disco:node("bot-items", { items = { { jid = bot.jid, node = "one", name = "First" } } })
			bot:use("version", { name = "lxmpp-interop", version = "1.0" })
			bot:use("time", { tzo = "+02:00" })
			local caps = bot:use("caps", { node = "https://lxmpp.test/bot" })
			local peer = server:account("bob").jid .. "/disco"
			local theirs, info, verified, why
			bot:on("presence", function(p, c)
				if p.attr.from ~= peer or p.attr.type then return end
				assert(c:presence{ to = peer })
				-- slixmpp's caps, resolved and checked by our code
				theirs = caps:peer(peer)
				if theirs then info, why = caps:info(peer, 10) end
				verified = info and require("lxmpp.ext.caps").verification(info, theirs.hash)
				assert(c:send(st.message({ to = peer, type = "chat" }, "bye")))
			end)

			local log = process.tempdir() .. "/slixmpp.log"
			local proc = slixmpp.start(server, "discover", { server:account("bob") },
				slixmpp_options { target = bot.jid, log = log, timeout = 20 })
			local deadline = clock.now() + 30
			while proc:alive() and clock.now() < deadline do bot:loop(0.2) end
			local status = proc:stop()
			local report, output = slixmpp.reports(log)[1], process.read(log)
			process.remove(log:match("^(.*)/"))
			assert(report and report.ok, "slixmpp said (exit " .. tostring(status) .. "):\n" .. output)

			-- slixmpp computed our ver with its own code and agreed
			assert.equal(caps:ver(), report.caps.ver)
			assert.equal(caps:ver(), report.caps.verified)
			assert.same({ hash = "sha-1", node = "https://lxmpp.test/bot" },
				{ hash = report.caps.hash, node = report.caps.node })
			assert.same({ { "client", "bot", nil, "lxmpp bot" } }, report.identities)
			assert.same({ "http://jabber.org/protocol/caps", "http://jabber.org/protocol/disco#info",
				"http://jabber.org/protocol/disco#items", "jabber:iq:version", "urn:xmpp:time" }, report.features)
			assert.same({ { bot.jid, "one", "First" } }, report.items)
			assert.equal("item-not-found", report.missing)
			assert.same({ name = "lxmpp-interop", version = "1.0" }, report.version)
			assert.equal("+02:00", report.time.tzo)
			assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d", report.time.utc)

			-- and we computed slixmpp's with ours
			assert(theirs, "no presence with caps from slixmpp")
			assert.equal("sha-1", theirs.hash)
			assert.equal(theirs.ver, verified, why)
			assert.is_true(info.has["urn:example:slixmpp-only"])
			assert.is_true(bot:close())
		end)

		it("runs examples/adhoc_bot.lua: slixmpp lists and executes its commands (XEP-0050)", function()
			local server = server_of()
			local alice, bob = server:account("alice"), server:account("bob")
			local dir = process.tempdir()
			local bot, bot_jid = process.start_bot(server, "adhoc_bot.lua", alice, { alice.jid, bob.jid }, dir .. "/bot.log")
			if not bot then process.remove(dir) end
			assert(bot, "the bot did not come online:\n" .. tostring(bot_jid))
			local ok, err = pcall(function()
				local reports, output = slixmpp.run(server, "adhoc", { bob },
					slixmpp_options { target = bot_jid, timeout = 20 })
				local report = reports[1]
				assert(report and report.ok, "slixmpp said:\n" .. output)
				assert.same({ { bot_jid, "greet", "Greet someone" }, { bot_jid, "roll", "Roll dice" } }, report.listed)
				assert.same({ status = "executing", actions = { "next" }, fields = { "name" } }, report.first)
				assert.same({ actions = { "complete", "prev" }, fields = { "shout" } }, report.second)
				assert.equal("Slix", report.back)
				assert.same({ status = "completed", notes = { { "info", "HELLO, SLIXMPP!" } } }, report.done)
				assert.same({ "4", "6", "20" }, report.roll.options)
				assert.equal("completed", report.roll.status)
				assert.equal(3, report.roll.rows)
				for _, v in ipairs(report.roll.values) do assert(v >= 1 and v <= 20, v) end
				assert.equal("bad-request", report.refused)
				-- alice's own other resource may not run them: not in the list given
				local c = connect("alice")
				local none, _, code = c:use("adhoc"):execute(bot_jid, "greet", { timeout = 10 })
				assert.is_nil(none)
				assert.equal("forbidden", code)
				assert.is_true(c:close())
			end)
			bot:stop()
			process.remove(dir)
			assert(ok, err)
		end)

		it("asks the server: disco#info, its features, and items", function()
			local bot = connect("alice")
			local disco = bot:use("disco")
			local info = assert(disco:info())
			local found = false
			for _, i in ipairs(info.identities) do
				if i.category == expected.identity.category and i.type == expected.identity.type then found = true end
			end
			assert(found, "no identity " .. expected.identity.category .. "/" .. expected.identity.type)
			for _, var in ipairs(expected.features) do assert(info.has[var], var) end
			assert(disco:items())
			assert.is_true(disco:has_feature(nil, "urn:xmpp:ping"))
			-- our own account's bare JID is answered by the server for it (XEP-0030 §7.2)
			local account = assert(disco:info(server_of():account("alice").jid))
			assert.same({ category = "account", type = "registered" },
				{ category = account.identities[1].category, type = account.identities[1].type })
			assert.is_true(bot:close())
		end)
	end)
end

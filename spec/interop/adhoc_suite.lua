-- lxmpp.ext.adhoc (XEP-0050) with a real client: examples/adhoc_bot.lua,
-- run as a user runs it, offers its commands; slixmpp's xep_0050
-- (spec/interop/slixmpp_adhoc.py) lists them, runs the one-step command
-- and the two-step one with its form, and cancels a session; a JID not
-- allowed sees none. Run by a server's spec file:
--   adhoc_suite(spec, server_of)
local clock = require "lxmpp.clock"
local client = require "lxmpp.client"
local json = require "dkjson"
local process = require "interop.process"
local tasks = require "lxmpp.tasks"

return function(spec, server_of)
	local it, assert = spec.it, spec.assert

	it("runs examples/adhoc_bot.lua's commands from slixmpp's xep_0050", function()
		local server = server_of()
		local alice, bob = server:account("alice"), server:account("bob")
		local dir = process.tempdir()
		local log = dir .. "/bot.log"
		local bot = process.spawn({ "env", "XMPP_PASSWORD=" .. alice.password, "XMPP_HOST=" .. server.host,
			"XMPP_PORT=" .. server.port, "XMPP_CAFILE=" .. server.cafile, require "support.lua_command",
			"examples/adhoc_bot.lua", alice.jid, bob.jid .. "/adhoc" }, { log = log })
		local ok, err = pcall(function()
			local deadline, bot_jid = clock.now() + 15, nil
			while not bot_jid and clock.now() < deadline do
				bot_jid = process.read(log):match("online as (%S+)")
				if not bot_jid then tasks.sleep(0.05) end
			end
			assert(bot_jid, "the bot did not come online:\n" .. process.read(log))
			local _, out = process.run { "/usr/bin/python3", process.dir .. "slixmpp_adhoc.py", server.host,
				tostring(server.port), server.cafile, bob.jid, bob.password, bot_jid }
			local report = json.decode(out:match("\n(%{\"ok\"[^\n]*)") or "null")
			assert(type(report) == "table" and report.ok, "slixmpp said:\n" .. out)
			table.sort(report.commands, function(x, y) return x[1] < y[1] end) -- slixmpp keeps items in a set
			assert.same({ { "greet", "Greet someone" }, { "uptime", "Uptime" } }, report.commands)
			assert.equal("completed", report.uptime.status)
			assert.matches("^up for %d+ seconds$", report.uptime.notes[1][2])
			assert.same({ title = "Greet", fields = { "name", "tone" } }, report.form)
			assert.same({ status = "completed", notes = { { "info", "Good day, Slixmpp." } },
				greeting = "Good day, Slixmpp." }, report.greet)
			assert.equal("canceled", report.canceled)

			-- a JID not in the list (the allowed one is slixmpp's full JID) sees no command and may run none
			local c = assert(client.connect { jid = bob.jid, password = bob.password, resource = "other",
				host = server.host, port = server.port, tls = { cafile = server.cafile }, timeout = 10 })
			local adhoc = c:use("adhoc")
			assert.same({}, assert(adhoc:list(bot_jid)))
			local none, _, code = adhoc:execute(bot_jid, "uptime")
			assert.is_nil(none)
			assert.equal("forbidden", code)
			assert.is_true(c:close())
		end)
		bot:stop()
		local output = process.read(log)
		process.remove(dir)
		assert(ok, tostring(err) .. "\n--- the bot's output:\n" .. output)
	end)
end

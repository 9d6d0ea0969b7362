-- lxmpp.ext.adhoc (XEP-0050): a bot offers a command of two steps with a
-- form; clients list it (or not: access control by JID), run it, cancel
-- it, and misuse sessions, against the tiny server on a fake clock.
local harness = require "support.tiny_harness"
local forms = require "lxmpp.ext.forms"

local ASK = forms.new { type = "form", title = "Greeting", fields = {
	{ var = "name", label = "Whom to greet", required = true },
	{ var = "mood", type = "list-single", options = { "warm", "cold" }, value = "warm" },
} }

-- A command of two steps: the form, then the greeting as a note.
local function greet(session, submitted, action)
	if session.step == 1 then
		return { status = "executing", form = ASK, actions = { "complete" }, default = "complete" }
	end
	assert(action == "complete")
	local values, why = ASK:check(submitted)
	if not values then return { status = "completed", notes = { { type = "error", text = why } } } end
	local greeting = values.mood == "warm" and "Good morrow, " or "Good cold morrow, "
	return { status = "completed", notes = { { text = greeting .. values.name } } }
end

describe("lxmpp.ext.adhoc", function()
	it("lists commands to whom may run them, runs them in steps with a form, and cancels", function()
		harness.with_server(function(server, cq, clk)
			local bot = assert(harness.connect(server, "juliet", { keepalive = false }))
			local adhoc = bot:use("adhoc", { session_timeout = 60 })
			adhoc:add { node = "greet", name = "Greet someone", allow = { "romeo@im.example.com" }, run = greet }
			cq:wrap(function() bot:loop() end)
			local romeo = assert(harness.connect(server, "romeo", { keepalive = false }))
			local nurse = assert(harness.connect(server, "nurse", { keepalive = false }))
			local ra, na = romeo:use("adhoc"), nurse:use("adhoc")

			assert.same({ { jid = bot.jid, node = "greet", name = "Greet someone" } }, assert(ra:list(bot.jid)))
			assert.same({}, assert(na:list(bot.jid)))
			local none, _, code = na:execute(bot.jid, "greet")
			assert.is_nil(none)
			assert.equal("forbidden", code)

			local step = assert(ra:execute(bot.jid, "greet"))
			assert.equal("executing", step.status)
			assert.same({ "complete" }, step.actions)
			assert.equal("Greeting", step.form.title)
			local done = assert(ra:execute(bot.jid, "greet", { session = step.sessionid, action = "complete",
				form = step.form, values = { name = "Romeo" } }))
			assert.equal("completed", done.status)
			assert.same({ { type = "info", text = "Good morrow, Romeo" } }, done.notes)
			-- the session is over
			none, _, code = ra:execute(bot.jid, "greet", { session = step.sessionid, action = "complete" })
			assert.is_nil(none)
			assert.equal("bad-request", code)

			-- cancel, and a session is its starter's only
			step = assert(ra:execute(bot.jid, "greet"))
			none, _, code = na:execute(bot.jid, "greet", { session = step.sessionid, action = "cancel" })
			assert.is_nil(none)
			assert.equal("forbidden", code)
			local canceled = assert(ra:execute(bot.jid, "greet", { session = step.sessionid, action = "cancel" }))
			assert.equal("canceled", canceled.status)

			-- a session left alone expires after session_timeout
			step = assert(ra:execute(bot.jid, "greet"))
			clk.advance(61)
			none, _, code = ra:execute(bot.jid, "greet", { session = step.sessionid, action = "complete",
				form = step.form, values = { name = "Romeo" } })
			assert.is_nil(none)
			assert.equal("bad-request", code)
			none, _, code = ra:execute(bot.jid, "nothing")
			assert.is_nil(none)
			assert.equal("item-not-found", code)
			assert(romeo:close())
			assert(nurse:close())
			assert(bot:close())
		end)
	end)
end)

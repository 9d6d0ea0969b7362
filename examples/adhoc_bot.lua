-- A bot that offers two XEP-0050 ad-hoc commands with data forms, to the
-- JIDs given after its own (bare JIDs let every resource in):
--   XMPP_PASSWORD=... lua5.4 examples/adhoc_bot.lua bot@example.com juliet@example.com
-- (XMPP_HOST, XMPP_PORT and XMPP_CAFILE as in send.lua). Any client with
-- ad-hoc commands (Gajim, Psi, Conversations, slixmpp's xep_0050) lists
-- them: "greet" asks a name, then whether to shout; "roll" rolls dice.
-- Also answers disco, caps and software version. Stays online,
-- reconnecting when the connection drops, until it is stopped.
local client = require "lxmpp.client"
local compat = require "lxmpp.compat"
local forms = require "lxmpp.ext.forms"

local allow = { compat.unpack(arg, 2) }
local bot = assert(client.connect {
	jid = assert(arg[1], "usage: adhoc_bot.lua JID ALLOWED_JID..."),
	password = os.getenv("XMPP_PASSWORD") or io.read("*l"),
	host = os.getenv("XMPP_HOST"), port = tonumber(os.getenv("XMPP_PORT")),
	tls = { cafile = os.getenv("XMPP_CAFILE") },
	reconnect = true,
})
bot:use("version", { name = "adhoc_bot", version = "1.0" })
bot:use("caps")
local adhoc = bot:use("adhoc")

-- Two steps: the name, then a boolean; the session keeps the name between them.
adhoc:add_command {
	node = "greet", name = "Greet someone", allow = allow,
	handler = function(request)
		if request.action == "execute" or request.action == "prev" then
			return { status = "executing", actions = { "next" }, form = forms.new {
				title = "Greet", instructions = "Whom shall I greet?",
				fields = { { var = "name", type = "text-single", label = "Name", required = true,
					value = request.session.name } } } }
		end
		local form = forms.new { fields = { { var = "name", type = "text-single", required = true },
			{ var = "shout", type = "boolean" } } }
		if request.action == "next" then
			local values, why = form:check(request.form or {})
			if not values then -- asked again, with the reason
				return { status = "executing", actions = { "next" }, notes = { { type = "error", text = why } },
					form = forms.new { fields = { { var = "name", type = "text-single", required = true } } } }
			end
			request.session.name = values.name
			return { status = "executing", actions = { "prev", "complete" }, form = forms.new {
				title = "Greet " .. values.name, fields = { { var = "shout", type = "boolean", label = "Shout?",
					value = false } } } }
		end
		local shout = request.form and request.form:values().shout
		local text = "Hello, " .. request.session.name .. "!"
		return { status = "completed", notes = { { type = "info", text = shout and text:upper() or text } } }
	end,
}

-- One step: a form of sides and count, answered with a table of results.
local roll_form = forms.new {
	title = "Roll dice",
	fields = {
		{ var = "sides", type = "list-single", label = "Sides", options = { "4", "6", "20" }, value = "6", required = true },
		{ var = "count", type = "text-single", label = "How many", value = "1" },
	},
}
adhoc:add_command {
	node = "roll", name = "Roll dice", allow = allow,
	handler = function(request)
		if request.action == "execute" then return { status = "executing", form = roll_form } end
		local values, why = roll_form:check(request.form or {})
		local count = values and compat.tointeger(tonumber(values.count or "1"))
		if not count or count < 1 or count > 20 then
			return { status = "completed", notes = { { type = "error", text = why or "count: 1 to 20" } } }
		end
		local rows = {}
		for i = 1, count do rows[i] = { die = tostring(i), value = tostring(math.random(tonumber(values.sides))) } end
		return { status = "completed", form = forms.new { type = "result", title = "Rolled",
			reported = { { var = "die", label = "Die" }, { var = "value", label = "Value" } }, items = rows } }
	end,
}

bot:presence { status = "ad-hoc commands: greet, roll" }
print("adhoc_bot: online as " .. bot.jid)
io.stdout:flush()
assert(bot:loop())

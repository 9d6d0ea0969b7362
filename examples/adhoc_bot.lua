-- A bot that offers two ad-hoc commands (XEP-0050) to the JIDs given:
-- "uptime" (one step: a note) and "greet" (a form asking whom to greet and
-- how, then the greeting):
--   XMPP_PASSWORD=... lua5.4 examples/adhoc_bot.lua bot@example.com admin@example.com [more JIDs]
-- (XMPP_HOST, XMPP_PORT and XMPP_CAFILE as in send.lua). Any client with
-- ad-hoc commands (Gajim, Psi, slixmpp's xep_0050) runs them.
local client = require "lxmpp.client"
local forms = require "lxmpp.ext.forms"

local allowed = {}
for i = 2, #arg do allowed[#allowed + 1] = arg[i] end
local bot = assert(client.connect {
	jid = assert(arg[1], "usage: adhoc_bot.lua JID ALLOWED_JID..."),
	password = os.getenv("XMPP_PASSWORD") or io.read("*l"),
	host = os.getenv("XMPP_HOST"), port = tonumber(os.getenv("XMPP_PORT")),
	tls = { cafile = os.getenv("XMPP_CAFILE") },
	reconnect = true,
})
local started = os.time()
local adhoc = bot:use("adhoc")

adhoc:add { node = "uptime", name = "Uptime", allow = allowed, run = function()
	return { notes = { { text = ("up for %d seconds"):format(os.time() - started) } } }
end }

local ask = forms.new { type = "form", title = "Greet", instructions = "Whom shall I greet?", fields = {
	{ var = "name", label = "Name", required = true },
	{ var = "tone", type = "list-single", label = "Tone", options = { "warm", "formal" }, value = "warm" },
} }
adhoc:add { node = "greet", name = "Greet someone", allow = allowed, run = function(session, submitted)
	if session.step == 1 then
		return { status = "executing", form = ask, actions = { "complete" }, default = "complete" }
	end
	local values, why = ask:check(submitted or {})
	if not values then return { notes = { { type = "error", text = why } } } end
	local text = (values.tone == "formal" and "Good day, %s." or "Hello, %s!"):format(values.name)
	return { notes = { { text = text } }, form = forms.new { type = "result", fields = {
		{ var = "greeting", value = text } } } }
end }

bot:presence()
print("adhoc_bot: online as " .. bot.jid)
io.stdout:flush()
assert(bot:loop())

-- A bot that echoes every chat message and answers "!ping" with the time
-- its server takes to answer a ping:
--   XMPP_PASSWORD=... lua5.4 examples/echo_bot.lua bot@example.com
-- (XMPP_HOST, XMPP_PORT and XMPP_CAFILE as in send.lua). It stays online,
-- reconnecting when the connection drops, until it is stopped.
local client = require "lxmpp.client"
local st = require "lxmpp.stanza"

local bot = assert(client.connect {
	jid = assert(arg[1], "usage: echo_bot.lua JID"),
	password = os.getenv("XMPP_PASSWORD") or io.read("*l"),
	host = os.getenv("XMPP_HOST"), port = tonumber(os.getenv("XMPP_PORT")),
	tls = { cafile = os.getenv("XMPP_CAFILE") },
	reconnect = true,
})

bot:on("message", function(m)
	local body = m:get_child_text("body")
	if m.attr.type ~= "chat" or not body then return end
	local answer = body
	if body == "!ping" then
		-- a blocking call inside a handler: other stanzas keep flowing
		local seconds, err = bot:ping()
		answer = seconds and ("pong (%.1f ms)"):format(seconds * 1000) or ("no pong: " .. err)
	end
	bot:send(st.message({ to = m.attr.from, type = "chat" }, answer))
end)

bot:presence { status = "I echo" }
print("echo_bot: online as " .. bot.jid)
io.stdout:flush()
assert(bot:loop())

-- A group chat bot: joins a room and answers "!ping" there with "<nick>:
-- pong", and "!who" with the occupants and their roles. It stays in the
-- room across reconnections and a restart of the room's service (the
-- rejoin of lxmpp.ext.muc: see docs/extensions.md):
--   XMPP_PASSWORD=... lua5.4 examples/muc_bot.lua bot@example.com room@conference.example.com [nick [seconds]]
-- (XMPP_HOST, XMPP_PORT and XMPP_CAFILE as in send.lua; seconds: how long
-- a silent room waits for a self-ping, 300 by default).
local client = require "lxmpp.client"

local account, room_jid = arg[1], arg[2]
assert(account and room_jid, "usage: muc_bot.lua JID ROOM [NICK [PING_SECONDS]]")
local bot = assert(client.connect {
	jid = account,
	password = os.getenv("XMPP_PASSWORD") or io.read("*l"),
	host = os.getenv("XMPP_HOST"), port = tonumber(os.getenv("XMPP_PORT")),
	tls = { cafile = os.getenv("XMPP_CAFILE") },
	reconnect = { delay = 0.5, max_delay = 5 },
})
local muc = bot:use("muc", { ping_interval = tonumber(arg[4]) or 300, rejoin_delay = 1 })
local room = assert(muc:join(room_jid, arg[3] or "bot", { history = { maxstanzas = 0 } }))

local function say(...)
	print("muc_bot: " .. table.concat({ ... }, " "))
	io.stdout:flush()
end

room:on("message", function(m, nick, delayed)
	local body = m:get_child_text("body")
	if delayed or nick == room.nick or not body then return end
	if body == "!ping" then
		room:say(nick .. ": pong")
	elseif body == "!who" then
		local list = {}
		for n, o in pairs(room.occupants) do list[#list + 1] = n .. " (" .. o.role .. ")" end
		table.sort(list)
		room:say(table.concat(list, ", "))
	end
end)
room:on("dropped", function(why) say("out of the room:", why) end)
room:on("rejoined", function() say("back in", room.jid, "as", room.nick) end)

say("online as", bot.jid, "in", room.jid, "as", room.nick)
assert(bot:loop())

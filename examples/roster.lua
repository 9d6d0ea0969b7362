-- Prints the roster (contact list) of an account:
--   XMPP_PASSWORD=... lua5.4 examples/roster.lua juliet@example.com
-- (XMPP_HOST, XMPP_PORT and XMPP_CAFILE as in send.lua).
local client = require "lxmpp.client"
local st = require "lxmpp.stanza"

local c = assert(client.connect {
	jid = assert(arg[1], "usage: roster.lua JID"),
	password = os.getenv("XMPP_PASSWORD") or io.read("*l"),
	host = os.getenv("XMPP_HOST"), port = tonumber(os.getenv("XMPP_PORT")),
	tls = { cafile = os.getenv("XMPP_CAFILE") },
})

local function print_roster()
	local roster = assert(c:iq(st.iq({ type = "get", id = c:new_id() }):query("jabber:iq:roster")))
	for item in roster:get_child("query", "jabber:iq:roster"):childtags("item") do
		local groups = {}
		for group in item:childtags("group") do groups[#groups + 1] = group:get_text() end
		print(("%s\t%s\t%s\t%s"):format(item.attr.jid, item.attr.name or "", item.attr.subscription or "none",
			table.concat(groups, ",")))
	end
end

-- On Lua 5.4 `local c <close> = ...` closes it; this runs on every version.
local ok, err = pcall(print_roster)
c:close()
assert(ok, err)

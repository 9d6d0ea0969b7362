-- An external component (XEP-0114) that echoes every message sent to any
-- address of its domain, from that address:
--   COMPONENT_SECRET=... lua5.4 examples/component_echo.lua echo.example.com [host [port]]
-- (or COMPONENT_HOST and COMPONENT_PORT; localhost:5347 by default). It
-- stays connected, reconnecting when the server goes away (also while the
-- server still holds the old connection: conflict), until it is stopped.
local component = require "lxmpp.component"
local st = require "lxmpp.stanza"

local echo = assert(component.connect {
	jid = assert(arg[1], "usage: component_echo.lua DOMAIN [HOST [PORT]]"),
	secret = os.getenv("COMPONENT_SECRET") or io.read("*l"),
	host = arg[2] or os.getenv("COMPONENT_HOST"),
	port = tonumber(arg[3] or os.getenv("COMPONENT_PORT")),
	reconnect = true,
})

echo:on("message", function(m)
	local body = m:get_child_text("body")
	if m.attr.type == "error" or not body then return end
	-- from the address it was sent to: any address of the domain is ours
	echo:send(st.message({ to = m.attr.from, from = m.attr.to, type = m.attr.type }, body))
end)
echo:on("disconnected", function(message) print("component_echo: disconnected: " .. message) end)
echo:on("retrying", function(message, _, delay)
	print(("component_echo: %s; again in %.1f s"):format(message, delay))
end)
echo:on("reconnected", function(jid) print("component_echo: back as " .. jid) end)

print("component_echo: online as " .. echo.jid)
io.stdout:flush()
assert(echo:loop())

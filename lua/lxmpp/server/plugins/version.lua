-- XEP-0092: the server's name and version (the OS only when configured:
-- version = { show_os = true }).
local st = require "lxmpp.stanza"
local core = require "lxmpp.core"

local NS = "jabber:iq:version"

---@param module table the plugin's lxmpp.server.module object
return function(module)
	module:add_feature(NS)
	local name = module:get_option("server_name", "lxmpp")
	local show_os = module:get_option("show_os", false)
	local os_name
	if show_os then
		local f = io.popen("uname -sr")
		os_name = f and f:read("*l")
		if f then f:close() end
	end
	module:hook("iq-get/host/" .. NS .. ":query", function(event)
		local reply = st.reply(event.stanza):query(NS):text_tag("name", name):text_tag("version", core.version)
		if os_name then reply:text_tag("os", os_name) end
		event.origin.send(reply)
		return true
	end)
end

-- XEP-0199: the server answers pings to its domain and to an account.
local st = require "lxmpp.stanza"

---@param module table the plugin's lxmpp.server.module object
return function(module)
	module:add_feature("urn:xmpp:ping")
	local function pong(event)
		event.origin.send(st.reply(event.stanza))
		return true
	end
	module:hook("iq-get/host/urn:xmpp:ping:ping", pong)
	module:hook("iq-get/self/urn:xmpp:ping:ping", pong)
end

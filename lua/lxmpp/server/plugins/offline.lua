-- Offline messages (RFC 6121 §8.5.2.1.1, XEP-0160): a chat or normal
-- message to an account without an available resource is stored, stamped
-- with XEP-0203 delay, and delivered at the account's next initial
-- presence. At most `max_offline` (100) messages per account are kept;
-- beyond, the sender gets service-unavailable.
local st = require "lxmpp.stanza"
local server = require "lxmpp.server"

---@param module table the plugin's lxmpp.server.module object
return function(module)
	local store = module:open_store("offline")
	local max = module:get_option("max_offline", 100)

	module:hook("message/offline/handle", function(event)
		local stanza = event.stanza
		local user = event.to_bare:match("^[^@]+")
		local list = store:get(user) or {}
		if #list >= max then return server.bounce(event.origin, stanza, "service-unavailable", "offline storage is full") end
		local stamped = st.clone(stanza)
		stamped:tag("delay", { xmlns = "urn:xmpp:delay", from = module.host, stamp = os.date("!%Y-%m-%dT%H:%M:%SZ") }):up()
		list[#list + 1] = st.preserialize(stamped)
		store:set(user, list)
		return true
	end)

	module:hook("message/offline/broadcast", function(event)
		local session = event.origin
		local list = store:get(session.username)
		if not list then return end
		store:set(session.username, nil)
		local left = {}
		for _, saved in ipairs(list) do
			if not session.send(st.deserialize(saved)) then left[#left + 1] = saved end
		end
		if #left > 0 then -- the session ended meanwhile: kept for the next one
			local now = store:get(session.username) or {}
			for _, saved in ipairs(left) do now[#now + 1] = saved end
			store:set(session.username, now)
		end
		return true
	end)
end

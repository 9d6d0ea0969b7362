-- XEP-0030: disco#info of the domain (its identity and the features the
-- plugins registered with module:add_feature) and of an account; disco#items
-- (the external components connected).
local st = require "lxmpp.stanza"

local INFO = "http://jabber.org/protocol/disco#info"
local ITEMS = "http://jabber.org/protocol/disco#items"

---@param module table the plugin's lxmpp.server.module object
return function(module)
	module:add_identity("server", "im", module:get_option("name", "lxmpp"))
	module:add_feature(INFO)
	module:add_feature(ITEMS)
	local host = module.srv.hosts[module.host]

	module:hook("iq-get/host/" .. INFO .. ":query", function(event)
		local node = event.stanza.tags[1].attr.node
		if node then
			event.origin.send(st.error_reply(event.stanza, "cancel", "item-not-found"))
			return true
		end
		local reply = st.reply(event.stanza):query(INFO)
		for _, id in ipairs(host.identities) do
			reply:tag("identity", { category = id.category, type = id.type, name = id.name }):up()
		end
		for _, ns in ipairs(host.features) do reply:tag("feature", { var = ns }):up() end
		event.origin.send(reply)
		return true
	end)

	-- the external components connected under this domain, as Prosody
	-- lists its subdomains
	module:hook("iq-get/host/" .. ITEMS .. ":query", function(event)
		local reply = st.reply(event.stanza):query(ITEMS)
		if not event.stanza.tags[1].attr.node then
			for _, domain in ipairs(module.srv:components_of(module.host)) do reply:tag("item", { jid = domain }):up() end
		end
		event.origin.send(reply)
		return true
	end)

	-- an account's own info (RFC 6121 accounts are "account/registered")
	local function account_info(event)
		local reply = st.reply(event.stanza):query(INFO)
		reply:tag("identity", { category = "account", type = "registered" }):up()
		reply:tag("feature", { var = INFO }):up()
		event.origin.send(reply)
		return true
	end
	module:hook("iq-get/self/" .. INFO .. ":query", account_info)

	local function account_items(event)
		event.origin.send(st.reply(event.stanza):query(ITEMS))
		return true
	end
	module:hook("iq-get/self/" .. ITEMS .. ":query", account_items)
end

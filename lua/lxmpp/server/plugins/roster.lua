-- RFC 6121 §2: the roster: get (with versioning, §2.6), set and remove,
-- pushes to the account's other resources.
local st = require "lxmpp.stanza"
local jid_util = require "lxmpp.jid"
local rosters = require "lxmpp.server.rosters"

local NS = rosters.NS

---@param module table the plugin's lxmpp.server.module object
return function(module)
	local r = rosters.new(module.srv, module.host)
	module.srv.hosts[module.host].rosters = r
	module:add_stream_feature("<ver xmlns='urn:xmpp:features:rosterver'/>")

	module:hook("iq-get/self/" .. NS .. ":query", function(event)
		local session, stanza = event.origin, event.stanza
		local roster = r:load(session.username)
		session.roster_requested = true
		local ver = stanza.tags[1].attr.ver
		if ver and ver == tostring(roster.ver) then -- §2.6.3: nothing changed
			session.send(st.reply(stanza))
			return true
		end
		local reply = st.reply(stanza):query(NS)
		reply.tags[1].attr.ver = tostring(roster.ver)
		for jid, item in pairs(roster.items) do
			if rosters.visible(item) then rosters.item_element(reply, jid, item) end
		end
		session.send(reply)
		return true
	end)

	module:hook("iq-set/self/" .. NS .. ":query", function(event)
		local session, stanza = event.origin, event.stanza
		local query = stanza.tags[1]
		local items = query.tags
		-- §2.1.5: exactly one item, a valid JID, no subscription but remove
		if #items ~= 1 or items[1].name ~= "item" or not items[1].attr.jid then
			session.send(st.error_reply(stanza, "modify", "bad-request"))
			return true
		end
		local el = items[1]
		local jid = jid_util.prep(el.attr.jid)
		if not jid or jid:find("/", 1, true) then
			session.send(st.error_reply(stanza, "modify", "jid-malformed"))
			return true
		end
		local sub = el.attr.subscription
		if sub == "remove" then
			local before = r:load(session.username).items[jid]
			if not before then
				session.send(st.error_reply(stanza, "cancel", "item-not-found"))
				return true
			end
			-- §2.5.2: cancel both directions with the contact
			local me = session.username .. "@" .. session.host
			if before.subscription == "to" or before.subscription == "both" or before.ask then
				module.srv:route(st.presence { type = "unsubscribe", from = me, to = jid }, session)
			end
			if before.subscription == "from" or before.subscription == "both" or before.pending_in then
				module.srv:route(st.presence { type = "unsubscribed", from = me, to = jid }, session)
			end
			r:update(session.username, jid, function(item) item.remove = true end)
			session.send(st.reply(stanza))
			return true
		elseif sub ~= nil and sub ~= "none" then
			session.send(st.error_reply(stanza, "modify", "bad-request"))
			return true
		end
		local groups, seen = {}, {}
		for g in el:childtags("group") do
			local name = g:get_text()
			if name == "" or seen[name] then
				session.send(st.error_reply(stanza, "modify", "bad-request"))
				return true
			end
			seen[name] = true
			groups[#groups + 1] = name
		end
		r:update(session.username, jid, function(item)
			item.name = el.attr.name
			item.groups = groups
			item.shown = true
		end)
		session.send(st.reply(stanza))
		return true
	end)
end

-- RFC 6121 §3-4: subscriptions (the handshake, approvals, cancellations,
-- with roster pushes), presence broadcast to subscribers and the account's
-- own resources, probes answered from the sessions (initial presence gets
-- the contacts' presence), directed presence, and unavailable presence when
-- a session ends without sending it. Only this server's accounts: there is
-- no server-to-server.
local st = require "lxmpp.stanza"
local jid_util = require "lxmpp.jid"
local tointeger = require("lxmpp.compat").tointeger

local SUBSCRIPTION = { subscribe = true, subscribed = true, unsubscribe = true, unsubscribed = true }

local function has_from(item) return item and (item.subscription == "from" or item.subscription == "both") end
local function has_to(item) return item and (item.subscription == "to" or item.subscription == "both") end

---@param module table the plugin's lxmpp.server.module object
return function(module)
	local srv, host = module.srv, module.host
	local function rosters() return srv.hosts[host].rosters end

	local function copy_to(stanza, from, to)
		local c = st.clone(stanza)
		c.attr.from, c.attr.to = from, to
		return c
	end

	-- The presence of each available resource of `user` to `to`.
	local function send_presences(user, to, origin)
		for _, s in pairs(srv:sessions_of(user .. "@" .. host) or {}) do
			if s.presence then srv:route(copy_to(s.presence, s.full_jid, to), origin, true) end
		end
	end

	-- Broadcast (§4.2.2, §4.4.2, §4.5.2): subscribers, our own available
	-- resources, and whoever got directed presence.
	local function broadcast(session, stanza)
		local roster = rosters():load(session.username)
		local from = session.full_jid
		for jid, item in pairs(roster.items) do
			if has_from(item) then srv:route(copy_to(stanza, from, jid), session, true) end
		end
		for _, s in pairs(srv:sessions_of(session.username .. "@" .. host) or {}) do
			if s.presence or s == session then s.send(copy_to(stanza, from, s.full_jid)) end
		end
		for jid in pairs(session.directed or {}) do
			if not has_from(roster.items[jid_util.bare(jid)]) then srv:route(copy_to(stanza, from, jid), session, true) end
		end
	end

	local function unavailable(session, stanza)
		local was = session.presence
		session.presence = nil
		if was or session.directed then broadcast(session, stanza or st.presence { type = "unavailable" }) end
		session.directed = nil
	end

	local function available(session, stanza)
		local initial = session.presence == nil
		local priority = tointeger(tonumber(stanza:get_child_text("priority") or "0")) or 0
		session.priority = math.max(-128, math.min(127, priority))
		session.presence = st.clone(stanza)
		session.presence.attr.to = nil
		broadcast(session, stanza)
		if not initial then return end
		-- §4.3: probes, answered here from the contacts' sessions
		local roster = rosters():load(session.username)
		for jid, item in pairs(roster.items) do
			if has_to(item) then
				local user, contact_host = jid_util.split(jid)
				if contact_host == host and user then send_presences(user, session.full_jid, session) end
			end
			-- §3.1.3: subscription requests waiting for the account
			if item.pending_in then
				session.send(st.presence { type = "subscribe", from = jid, to = session.username .. "@" .. host })
			end
		end
		module:fire_event("message/offline/broadcast", { origin = session, session = session })
	end

	-- Outbound subscription stanzas (§3.1.2, §3.2, §3.3.2, §3.2.2).
	local function outbound_subscription(session, stanza, contact)
		local t = stanza.attr.type
		local r = rosters()
		local me = session.username .. "@" .. host
		local route = true
		r:update(session.username, contact, function(item)
			if t == "subscribe" then
				if has_to(item) then return false end
				item.ask = "subscribe"
			elseif t == "subscribed" then
				if not item.pending_in then route = false; return false end
				item.pending_in = nil
				item.subscription = item.subscription == "to" and "both" or "from"
			elseif t == "unsubscribe" then
				if not (has_to(item) or item.ask) then return false end
				item.ask = nil
				item.subscription = item.subscription == "both" and "from" or "none"
			elseif t == "unsubscribed" then
				if not (has_from(item) or item.pending_in) then return false end
				item.pending_in = nil
				item.subscription = item.subscription == "both" and "to" or "none"
			end
		end)
		if not route then return true end
		srv:route(copy_to(stanza, me, contact), session, true)
		if t == "subscribed" then
			send_presences(session.username, contact, session)
		elseif t == "unsubscribed" then
			for _, s in pairs(srv:sessions_of(me) or {}) do
				if s.presence then
					srv:route(st.presence { type = "unavailable", from = s.full_jid, to = contact }, session, true)
				end
			end
		end
		return true
	end

	-- A client's presence to an address (a bare or a full JID).
	local function outbound(event)
		local session, stanza = event.origin, event.stanza
		local t = stanza.attr.type
		if SUBSCRIPTION[t] then return outbound_subscription(session, stanza, event.to_bare) end
		if t == "probe" then return true end -- the server probes, not clients
		if t == nil or t == "unavailable" then -- directed presence (§4.6)
			session.directed = session.directed or {}
			session.directed[stanza.attr.to] = t == nil or nil
		end
		return nil
	end

	module:hook("pre-presence/bare", function(event)
		local session, stanza = event.origin, event.stanza
		if stanza.attr.to ~= nil then return outbound(event) end
		local t = stanza.attr.type
		if t == nil then
			available(session, stanza)
		elseif t == "unavailable" then
			unavailable(session, stanza)
		end
		return true -- other types without a recipient mean nothing
	end, 10)

	module:hook("pre-presence/full", outbound, 10)

	-- Inbound, for an account of this domain (§3.1.3, §3.1.6, §3.2.3, §3.3.3, §4.3.2).
	module:hook("presence/bare", function(event)
		local stanza = event.stanza
		local t = stanza.attr.type
		if not (SUBSCRIPTION[t] or t == "probe") then return nil end
		local user = jid_util.split(event.to_bare)
		local contact = jid_util.bare(stanza.attr.from)
		if not srv.hosts[host].accounts:exists(user) then
			if t == "subscribe" then
				srv:route(st.presence { type = "unsubscribed", from = event.to_bare, to = contact }, nil, true)
			end
			return true
		end
		local r = rosters()
		if t == "probe" then
			if has_from(r:load(user).items[contact]) then send_presences(user, stanza.attr.from, nil) end
			return true
		end
		local deliver = true
		r:update(user, contact, function(item)
			if t == "subscribe" then
				if has_from(item) then -- already approved: answer for the user
					deliver = false
					srv:route(st.presence { type = "subscribed", from = event.to_bare, to = contact }, nil, true)
					return false
				end
				if item.pending_in then deliver = true; return false end
				item.pending_in = true
			elseif t == "subscribed" then
				if not item.ask then deliver = false; return false end
				item.ask = nil
				item.subscription = item.subscription == "from" and "both" or "to"
			elseif t == "unsubscribe" then
				if not (has_from(item) or item.pending_in) then deliver = false; return false end
				item.pending_in = nil
				item.subscription = item.subscription == "both" and "to" or "none"
			elseif t == "unsubscribed" then
				if not (has_to(item) or item.ask) then deliver = false; return false end
				item.ask = nil
				item.subscription = item.subscription == "both" and "from" or "none"
			end
		end)
		if deliver then
			for _, s in ipairs(srv:available(event.to_bare)) do s.send(stanza) end
		end
		return true
	end, 10)

	module:hook("resource-unbind", function(event)
		unavailable(event.session)
	end)
end

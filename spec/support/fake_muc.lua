-- A scripted XEP-0045 service inside the tiny server (spec/support/
-- tiny_harness.lua): enough of a room to test lxmpp.ext.muc on a fake
-- clock. It answers joins (occupants, self-presence with 110, 201 for a
-- new room, the history asked for, the subject), relays groupchat and
-- private messages (keeping them, stamped, as the history), answers
-- self-pings (XEP-0410) for occupants and not-acceptable otherwise, and
-- can forget an occupant silently, as a restarted service does. A nick
-- held by another JID is a conflict.
--   local m = fake_muc.attach(server, "conference.im.example.com")
--   m.joins: every join presence received, in order; m.pings: every ping
--   m:forget(room, nick) (silently); m:shutdown(room) (status 332)
--   m.stamp(i): the epoch second of the room's i-th message, in the history
local jid_util = require "lxmpp.jid"
local st = require "lxmpp.stanza"
local time = require "lxmpp.ext.time"

local NS = "http://jabber.org/protocol/muc"
local NS_USER = NS .. "#user"

local fake_muc = {}

local function send(server, stanza)
	for _, s in ipairs(server:route(stanza.attr.to)) do s:deliver(stanza) end
end

local function occupant_presence(room_jid, nick, occupant, to, codes, kind)
	local p = st.presence({ from = room_jid .. "/" .. nick, to = to, type = kind }):tag("x", { xmlns = NS_USER })
		:tag("item", { affiliation = occupant.affiliation, role = occupant.role, jid = occupant.jid }):up()
	for _, code in ipairs(codes or {}) do p:tag("status", { code = code }):up() end
	return p:up()
end

local function handle(self, stanza)
	local server, to, from = self.server, stanza.attr.to, stanza.attr.from
	local room_jid, nick = jid_util.bare(to), jid_util.resource(to)
	local room = self.rooms[room_jid]
	if stanza.name == "presence" and nick then
		if stanza.attr.type == "unavailable" then
			if room and room.occupants[nick] then
				room.occupants[nick] = nil
				local gone = { role = "none", affiliation = "none" }
				for _, o in pairs(room.occupants) do
					send(server, occupant_presence(room_jid, nick, gone, o.jid, nil, "unavailable"))
				end
				send(server, occupant_presence(room_jid, nick, gone, from, { "110" }, "unavailable"))
			end
			return
		end
		self.joins[#self.joins + 1] = stanza
		if room and room.occupants[nick] and room.occupants[nick].jid ~= from then
			local refused = st.error_reply(stanza, "cancel", "conflict")
			refused.attr.from = to
			return send(server, refused)
		end
		local created = room == nil
		if created then
			room = { occupants = {}, subject = "Welcome", history = {} }
			self.rooms[room_jid] = room
		end
		local me = { jid = from, role = created and "moderator" or "participant",
			affiliation = created and "owner" or "none" }
		for other, o in pairs(room.occupants) do
			send(server, occupant_presence(room_jid, other, o, from))
			send(server, occupant_presence(room_jid, nick, me, o.jid))
		end
		room.occupants[nick] = me
		send(server, occupant_presence(room_jid, nick, me, from, created and { "110", "201" } or { "110" }))
		local x = stanza:get_child("x", NS)
		local asked = x and x:get_child("history")
		local most = asked and tonumber(asked.attr.maxstanzas) or #room.history
		for i = math.max(1, #room.history - most + 1), #room.history do
			local m = st.clone(room.history[i])
			m.attr.to = from
			send(server, m:tag("delay", { xmlns = "urn:xmpp:delay", from = room_jid, stamp = time.format(self.stamp(i)) })
				:up())
		end
		send(server, st.message({ from = room_jid, to = from, type = "groupchat" }):text_tag("subject", room.subject))
	elseif stanza.name == "message" and stanza.attr.type == "groupchat" and room then
		for sender, o in pairs(room.occupants) do
			if o.jid == from then
				local kept = st.clone(stanza)
				kept.attr.from = room_jid .. "/" .. sender
				room.history[#room.history + 1] = kept
				for _, each in pairs(room.occupants) do
					local m = st.clone(stanza)
					m.attr.from, m.attr.to = room_jid .. "/" .. sender, each.jid
					send(server, m)
				end
			end
		end
	elseif stanza.name == "iq" and stanza.tags[1] and stanza.tags[1].name == "ping" then
		self.pings[#self.pings + 1] = stanza
		local o = room and nick and room.occupants[nick]
		if o and o.jid == from then
			send(server, st.reply(stanza))
		else
			send(server, st.error_reply(stanza, "cancel", "not-acceptable"))
		end
	elseif stanza.name == "iq" and stanza.attr.type ~= "result" and stanza.attr.type ~= "error" then
		send(server, st.reply(stanza)) -- owner queries: accepted
	end
end

---@param server table a tiny server
---@param domain string the service's domain
---@return table service
function fake_muc.attach(server, domain)
	local self = { server = server, rooms = {}, joins = {}, pings = {},
		stamp = function(i) return 1767225600 + i end }
	function self.deliver(_, stanza)
		handle(self, stanza)
		return true
	end
	function self.forget(_, room_jid, nick)
		self.rooms[room_jid].occupants[nick] = nil
	end
	-- the service shuts the room down (status 332) and forgets everyone
	function self.shutdown(_, room_jid)
		local room = self.rooms[room_jid]
		for nick, o in pairs(room.occupants) do
			send(server, occupant_presence(room_jid, nick, { role = "none", affiliation = "none" }, o.jid,
				{ "110", "332" }, "unavailable"))
		end
		self.rooms[room_jid] = nil
	end
	local route = server.route
	function server.route(s, to)
		if jid_util.host(to) == domain then return { self } end
		return route(s, to)
	end
	return self
end

return fake_muc

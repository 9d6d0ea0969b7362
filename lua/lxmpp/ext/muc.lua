-- lxmpp.ext.muc: XEP-0045 multi-user chat, with XEP-0249 direct invitations
-- and XEP-0410 self-ping. A room is kept from the presence the service
-- sends (occupants with their roles and affiliations, our own nick) and is
-- joined again by itself: after the client reconnects, when the service
-- removed us (system shutdown), and when a self-ping says the service
-- forgot us silently; the history asked for then starts at the last
-- message seen, so nothing seen is replayed. See docs/extensions.md.
--   local muc = c:use("muc", { ping_interval = 300, ping_timeout = 30, rejoin_delay = 10 })
--   local room = muc:join(room_jid, nick [, { password =, history =, timeout = }])
--   room:on("message", fn) room:say(text) room:leave()
local compat = require "lxmpp.compat"
local jid_util = require "lxmpp.jid"
local st = require "lxmpp.stanza"
local forms = require "lxmpp.ext.forms"
local time = require "lxmpp.ext.time"

local NS = "http://jabber.org/protocol/muc"
local NS_USER = NS .. "#user"
local NS_ADMIN = NS .. "#admin"
local NS_OWNER = NS .. "#owner"
local NS_CONFERENCE = "jabber:x:conference"
local NS_PING = "urn:xmpp:ping"
local NS_DELAY = "urn:xmpp:delay"

local unpack, xpcall = compat.unpack, compat.xpcall

local muc = { name = "muc", NS = NS }

---@class lxmpp.muc
local methods = {}
local mt = { __name = "lxmpp.ext.muc", __index = methods }

---@class lxmpp.muc.occupant
---@field nick string
---@field role string "moderator", "participant", "visitor" or "none"
---@field affiliation string "owner", "admin", "member", "outcast" or "none"
---@field jid? string the occupant's real JID, when the room tells it
---@field show? string
---@field status? string

---@class lxmpp.muc.room
---@field jid string the room's bare JID
---@field nick string our nick (the service may change it: status 210)
---@field state string "joining", "joined", "out" (rejoins by itself) or "left"
---@field occupants table<string, lxmpp.muc.occupant> by nick
---@field subject? string
---@field me? lxmpp.muc.occupant ourselves
local room_methods = {}
local room_mt = { __name = "lxmpp.muc.room", __index = room_methods }

local function misuse(message)
	error("lxmpp.ext.muc: " .. message, 3)
end

---------------------------------------------------------------------------
-- events: run in order, in one task of the client's (handlers may wait)

local function run_events(self)
	local q = self.events
	while q.first <= q.last do
		local ev = q[q.first]
		q[q.first], q.first = nil, q.first + 1
		for _, fn in ipairs(ev.handlers) do
			local ok, err = xpcall(fn, debug.traceback, unpack(ev, 1, ev.n))
			if not ok then self.c.sched.on_error(err) end
		end
	end
	self.worker = false
end

local function emit(room, name, ...)
	if room.held then
		room.held[#room.held + 1] = { name = name, n = select("#", ...), ... }
		return
	end
	local list = room.handlers[name]
	if not list or #list == 0 then return end
	local self = room.muc
	local q = self.events
	q.last = q.last + 1
	q[q.last] = { handlers = { unpack(list) }, n = select("#", ...), ... }
	if not self.worker then
		self.worker = true
		self.c.sched:spawn(run_events, self)
	end
end

-- What the room sent after the self-presence of a first join (the history,
-- the subject) came in the same reads: join() held it for the handlers its
-- caller adds when it returns, and this task, which runs once the caller
-- yields, passes it on in order.
local function release(room)
	local held = room.held
	room.held = nil
	for _, ev in ipairs(held) do emit(room, ev.name, unpack(ev, 1, ev.n)) end
end

-- A join() that failed: the room is left, and nothing held is passed on.
local function give_up(room, message, code)
	room.state, room.held = "left", nil
	return nil, message, code
end

---Adds a handler of a room's events (see docs/extensions.md for the list).
---@param name string
---@param fn function
---@return fun() remove removes the handler
function room_methods:on(name, fn)
	if type(name) ~= "string" or type(fn) ~= "function" then misuse("on takes an event name and a function") end
	local list = self.handlers[name] or {}
	self.handlers[name] = list
	list[#list + 1] = fn
	return function()
		for i, f in ipairs(list) do
			if f == fn then return table.remove(list, i) end
		end
	end
end

---------------------------------------------------------------------------
-- joining

local function join_presence(room, history)
	local p = st.presence({ to = room.jid .. "/" .. room.nick }):tag("x", { xmlns = NS })
	if room.password then p:text_tag("password", room.password) end
	if history then
		local attr = {}
		for _, k in ipairs({ "maxchars", "maxstanzas", "seconds" }) do
			if history[k] then attr[k] = tostring(math.floor(history[k])) end
		end
		if history.since then attr.since = time.format(history.since) end
		p:tag("history", attr):up()
	end
	return p:up()
end

-- Asks to (re)join: the first time with the history the application asked
-- for, then from the last message seen (or none at all).
local function send_join(room, history)
	local self = room.muc
	room.state = "joining"
	room.join_deadline = self.c.clock.now() + self.opts.join_timeout
	room.last_seen = self.c.clock.now()
	local ok, err, code = self.c:send(join_presence(room, history))
	if not ok then room.state = "out" end
	self:wake()
	return ok, err, code
end

local function rejoin(room)
	local history = { maxstanzas = 0 }
	if room.last_second then history = { since = room.last_second } end
	emit(room, "rejoining")
	return send_join(room, history)
end

---Joins a room and waits until the service says we are in.
---@param room_jid string the room's bare JID
---@param nick string
---@param opts? { password: string?, history: { maxstanzas: integer?, maxchars: integer?, seconds: number?, since: number? }?, timeout: number?, rejoin: boolean? }
---@return lxmpp.muc.room|nil room
---@return string? message
---@return string? code the error condition the service answered, or "timeout"
function methods:join(room_jid, nick, opts)
	opts = opts or {}
	local bare = jid_util.prep(room_jid)
	if not bare or jid_util.resource(bare) or not jid_util.node(bare) then misuse("join takes a room's bare JID") end
	if type(nick) ~= "string" or nick == "" then misuse("join takes a nick") end
	if self.rooms[bare] and self.rooms[bare].state ~= "left" then misuse("already in room " .. bare) end
	local room = setmetatable({ muc = self, jid = bare, nick = nick, password = opts.password,
		rejoin = opts.rejoin ~= false, occupants = {}, handlers = {}, renamed_to = {} }, room_mt)
	self.rooms[bare] = room
	local ok, err, code = send_join(room, opts.history)
	if not ok then return give_up(room, err, code) end
	local c = self.c
	local deadline = c.clock.now() + (opts.timeout or self.opts.join_timeout)
	while room.state == "joining" do
		local left = deadline - c.clock.now()
		if left <= 0 then return give_up(room, "no answer from room " .. bare .. " in time", "timeout") end
		local stepped, why, failure = c:step(left)
		if not stepped then return give_up(room, why, failure) end
	end
	if room.state ~= "joined" then
		return give_up(room, room.failure or "could not join " .. bare, room.failure_code)
	end
	c.sched:spawn(release, room)
	return room
end

---Leaves the room (no rejoining after this).
---@param status? string
---@return true|nil ok
---@return string? message
---@return string? code
function room_methods:leave(status)
	self.state = "left"
	self.muc:wake()
	local p = st.presence({ to = self.jid .. "/" .. self.nick, type = "unavailable" })
	if status then p:text_tag("status", status) end
	return self.muc.c:send(p)
end

---------------------------------------------------------------------------
-- what the service sends

local function status_codes(x)
	local codes = {}
	if x then
		for s in x:childtags("status") do
			if s.attr.code then codes[s.attr.code] = true end
		end
	end
	return codes
end

-- Why the service removed an occupant, from the status codes.
local REMOVALS = { ["307"] = "kicked", ["301"] = "banned", ["321"] = "affiliation", ["322"] = "members-only",
	["332"] = "shutdown", ["333"] = "error" }

local function removal(codes)
	for code, why in pairs(REMOVALS) do
		if codes[code] then return why, code end
	end
end

local function on_self_unavailable(room, codes, item)
	if codes["303"] and item and item.attr.nick then
		room.renamed = room.occupants[room.nick]
		room.occupants[room.nick] = nil
		room.nick = item.attr.nick -- our nick change: the new one's presence follows
		return
	end
	local why = removal(codes)
	room.occupants = {}
	if room.state == "left" or not why then
		room.state = "left"
		emit(room, "left")
		return
	end
	local reason = item and item:get_child_text("reason")
	local actor = item and item:get_child("actor")
	-- a shutdown or an error of the service's is no decision against us: rejoin
	if (why == "shutdown" or why == "error") and room.rejoin then
		room.state = "out"
		room.rejoin_at = room.muc.c.clock.now() + room.muc.opts.rejoin_delay
		room.muc:wake()
	else
		room.state = "left"
	end
	emit(room, why == "kicked" and "kicked" or why == "banned" and "banned" or "removed", reason,
		actor and (actor.attr.nick or actor.attr.jid), why)
end

local function on_error_presence(room, stanza)
	local _, condition, text = stanza:get_error()
	condition = condition or "undefined-condition"
	if room.state ~= "joining" then return emit(room, "error", condition, text) end
	room.failure = "cannot join " .. room.jid .. ": " .. condition .. (text and (": " .. text) or "")
	room.failure_code = condition
	if room.joined_once and room.rejoin then
		room.state = "out" -- e.g. our old nick still held by the service: try again later
		room.rejoin_at = room.muc.c.clock.now() + room.muc.opts.rejoin_delay
		room.muc:wake()
	else
		room.state = "failed"
	end
	emit(room, "error", condition, text)
end

local function on_presence(room, stanza, nick)
	if stanza.attr.type == "error" then return on_error_presence(room, stanza) end
	if not nick then return end
	local x = stanza:get_child("x", NS_USER)
	local codes, item = status_codes(x), x and x:get_child("item")
	local is_self = codes["110"] or (nick == room.nick and room.state == "joining")
	if stanza.attr.type == "unavailable" then
		local gone = room.occupants[nick]
		if is_self then return on_self_unavailable(room, codes, item) end
		room.occupants[nick] = nil
		if codes["303"] and item and item.attr.nick then
			room.renamed_to[item.attr.nick] = true -- its presence under the new nick is no "join"
			return emit(room, "nick", gone, item.attr.nick)
		end
		return emit(room, "leave", gone or { nick = nick }, removal(codes),
			item and item:get_child_text("reason"))
	end
	local previous = room.occupants[nick]
	local occupant = {
		nick = nick, role = item and item.attr.role or "none", affiliation = item and item.attr.affiliation or "none",
		jid = item and item.attr.jid, show = stanza:get_child_text("show"), status = stanza:get_child_text("status"),
	}
	room.occupants[nick] = occupant
	if is_self then
		room.nick = nick -- 210: the service chose it
		room.me = occupant
		if room.state == "joining" then
			local again = room.joined_once
			room.state, room.joined_once, room.failure = "joined", true, nil
			room.muc:wake()
			if codes["201"] and room.muc.opts.instant then
				-- a new room: accept the default configuration (an "instant room")
				room.muc.c:send(st.iq({ type = "set", to = room.jid, id = room.muc.c:new_id() })
					:query(NS_OWNER):tag("x", { xmlns = forms.NS, type = "submit" }))
			end
			emit(room, again and "rejoined" or "joined", occupant, codes)
			if not again then room.held = {} end -- see release
			return
		end
		if room.renamed then
			local old = room.renamed
			room.renamed = nil
			return emit(room, "nick", old, nick)
		end
	end
	if previous then return emit(room, "occupant", occupant, previous) end
	if room.renamed_to[nick] then
		room.renamed_to[nick] = nil
		return
	end
	emit(room, "join", occupant)
end

local function stamp_of(stanza)
	local delay = stanza:get_child("delay", NS_DELAY)
	return delay and delay.attr.stamp and time.parse(delay.attr.stamp)
end

-- A rejoin asks for the history since the last second a message was seen
-- in, and stamps count whole seconds (Prosody's have no fraction): so the
-- room keeps which messages it saw in that second, by sender, id and body.
local function message_key(stanza, nick)
	return ("%s\0%s\0%s"):format(nick or "", stanza.attr.id or "", stanza:get_child_text("body") or "")
end

local function seen(room, key, at)
	local second = math.floor(at)
	if not room.last_second or second > room.last_second then room.last_second, room.seen_keys = second, {} end
	if second == room.last_second then room.seen_keys[key] = true end
end

-- A history message from before that second, or seen in it.
local function is_replay(room, key, stamp)
	if not room.last_second then return false end
	local second = math.floor(stamp)
	return second < room.last_second or (second == room.last_second and room.seen_keys[key])
end

local function on_message(room, stanza, nick)
	local kind = stanza.attr.type
	if kind == "error" then
		local _, condition, text = stanza:get_error()
		return emit(room, "error", condition or "undefined-condition", text, stanza)
	end
	local x = stanza:get_child("x", NS_USER)
	local invite = x and x:get_child("invite")
	if invite then return end -- an invitation to us: muc:on("invite")
	if kind == "groupchat" then
		local subject = stanza:get_child("subject")
		if subject and not stanza:get_child("body") then
			room.subject = subject:get_text()
			return emit(room, "subject", room.subject, nick)
		end
		local stamp, key = stamp_of(stanza), message_key(stanza, nick)
		if stamp and is_replay(room, key, stamp) then return end
		seen(room, key, stamp or room.muc.opts.now())
		return emit(room, "message", stanza, nick, stamp ~= nil)
	end
	if nick and (kind == "chat" or kind == nil or kind == "normal") then emit(room, "private", stanza, nick) end
end

-- Invitations come from a room (mediated, XEP-0045 §7.8.2) or from a
-- person (direct, XEP-0249): one event either way.
local function invitation(stanza)
	local x = stanza:get_child("x", NS_USER)
	local invite = x and x:get_child("invite")
	if invite then
		return { room = jid_util.bare(stanza.attr.from), from = invite.attr.from,
			reason = invite:get_child_text("reason"), password = x:get_child_text("password") }
	end
	local direct = stanza:get_child("x", NS_CONFERENCE)
	if direct and direct.attr.jid then
		return { room = direct.attr.jid, from = stanza.attr.from, reason = direct.attr.reason,
			password = direct.attr.password, direct = true }
	end
end

local function incoming(self, stanza)
	local from = stanza.attr.from
	if not from or stanza.name == "iq" then return end
	local bare, nick = jid_util.bare(from), jid_util.resource(from)
	local room = self.rooms[bare]
	if stanza.name == "message" then
		local invite = invitation(stanza)
		if invite then
			for _, fn in ipairs(self.invite_handlers) do self.c.sched:spawn(fn, invite) end
		end
	end
	if not room or room.state == "left" then return end
	room.last_seen = self.c.clock.now()
	if stanza.name == "presence" then
		on_presence(room, stanza, nick)
	elseif stanza.name == "message" then
		on_message(room, stanza, nick)
	end
end

---Adds a handler of invitations: fn({ room =, from =, reason =, password =, direct = })
---@param fn fun(invite: table)
function methods:on_invite(fn)
	self.invite_handlers[#self.invite_handlers + 1] = fn
end

---The room we are in (or joining) at this JID, or nil.
---@param room_jid string
---@return lxmpp.muc.room?
function methods:room(room_jid)
	local room = self.rooms[jid_util.prep(room_jid) or room_jid]
	if room and room.state ~= "left" and room.state ~= "failed" then return room end
end

---------------------------------------------------------------------------
-- talking

---Sends a message to everyone in the room.
---@param body string
---@return true|nil ok
---@return string? message
---@return string? code
function room_methods:say(body)
	return self.muc.c:send(st.message({ to = self.jid, type = "groupchat" }, body))
end

---Sends a private message to one occupant.
---@param nick string
---@param body string
---@return true|nil ok
---@return string? message
---@return string? code
function room_methods:private(nick, body)
	return self.muc.c:send(st.message({ to = self.jid .. "/" .. nick, type = "chat" }, body)
		:tag("x", { xmlns = NS_USER }):up())
end

---Changes the room's subject.
---@param subject string
---@return true|nil ok
---@return string? message
---@return string? code
function room_methods:set_subject(subject)
	return self.muc.c:send(st.message({ to = self.jid, type = "groupchat" }):text_tag("subject", subject))
end

---Asks for another nick: the room answers with a 303 presence (the "nick"
---event) or an error (the "error" event, e.g. "conflict").
---@param nick string
---@return true|nil ok
---@return string? message
---@return string? code
function room_methods:change_nick(nick)
	if type(nick) ~= "string" or nick == "" then misuse("change_nick takes a nick") end
	return self.muc.c:send(st.presence({ to = self.jid .. "/" .. nick }))
end

---Invites someone: through the room (mediated, XEP-0045 §7.8.2), or with
---`direct` straight to them (XEP-0249).
---@param to string
---@param reason? string
---@param direct? boolean
---@return true|nil ok
---@return string? message
---@return string? code
function room_methods:invite(to, reason, direct)
	local c = self.muc.c
	if direct then
		return c:send(st.message({ to = to }):tag("x", { xmlns = NS_CONFERENCE, jid = self.jid, reason = reason,
			password = self.password }):up())
	end
	local m = st.message({ to = self.jid }):tag("x", { xmlns = NS_USER }):tag("invite", { to = to })
	if reason then m:text_tag("reason", reason) end
	return c:send(m:up():up())
end

---------------------------------------------------------------------------
-- moderation and configuration

local function admin(room, attr, reason, timeout)
	local c = room.muc.c
	local iq = st.iq({ type = "set", to = room.jid, id = c:new_id() }):query(NS_ADMIN):tag("item", attr)
	if reason then iq:text_tag("reason", reason) end
	local ok, err, code, error_stanza = c:iq(iq, timeout)
	if not ok then return nil, err, code, error_stanza end
	return true
end

---Sets an occupant's role ("none" kicks: status 307).
---@param nick string
---@param role "moderator"|"participant"|"visitor"|"none"
---@param reason? string
---@param timeout? number seconds
---@return true|nil ok
---@return string? message
---@return string? code the service's error condition, e.g. "not-allowed"
function room_methods:set_role(nick, role, reason, timeout)
	return admin(self, { nick = nick, role = role }, reason, timeout)
end

---Sets a user's affiliation ("outcast" bans: status 301).
---@param user string a bare JID
---@param affiliation "owner"|"admin"|"member"|"outcast"|"none"
---@param reason? string
---@param timeout? number seconds
---@return true|nil ok
---@return string? message
---@return string? code
function room_methods:set_affiliation(user, affiliation, reason, timeout)
	return admin(self, { jid = user, affiliation = affiliation }, reason, timeout)
end

---Kicks an occupant.
---@param nick string
---@param reason? string
---@param timeout? number seconds
---@return true|nil ok
---@return string? message
---@return string? code
function room_methods:kick(nick, reason, timeout)
	return self:set_role(nick, "none", reason, timeout)
end

---Bans a user by bare JID.
---@param user string
---@param reason? string
---@param timeout? number seconds
---@return true|nil ok
---@return string? message
---@return string? code
function room_methods:ban(user, reason, timeout)
	return self:set_affiliation(user, "outcast", reason, timeout)
end

---The room's configuration form (owners only).
---@param timeout? number seconds
---@return lxmpp.form|nil form
---@return string? message
---@return string? code
function room_methods:configuration(timeout)
	local c = self.muc.c
	local reply, err, code = c:iq(st.iq({ type = "get", to = self.jid, id = c:new_id() }):query(NS_OWNER), timeout)
	if not reply then return nil, err, code end
	local q = reply:get_child("query", NS_OWNER)
	local x = q and q:get_child("x", forms.NS)
	if not x then return nil, "the room sent no configuration form", "bad-reply" end
	local form, why = forms.parse(x)
	if not form then return nil, why, "bad-reply" end
	return form
end

---Changes the configuration: fetches the owner's form, fills in `values`
---(by var, e.g. { ["muc#roomconfig_persistentroom"] = true }) over the
---current ones, checks them against the form and submits.
---@param values table<string, any>
---@param timeout? number seconds
---@return true|nil ok
---@return string? message
---@return string? code
function room_methods:configure(values, timeout)
	local form, err, code = self:configuration(timeout)
	if not form then return nil, err, code end
	local merged = {}
	for var, v in pairs(form:values()) do merged[var] = v end
	for var, v in pairs(values) do merged[var] = v end
	local submit, why = form:submit(merged)
	if not submit then return nil, why, "bad-request" end
	local c = self.muc.c
	local iq = st.iq({ type = "set", to = self.jid, id = c:new_id() }):query(NS_OWNER):add_child(submit:element())
	local ok, failure, condition = c:iq(iq, timeout)
	if not ok then return nil, failure, condition end
	return true
end

---------------------------------------------------------------------------
-- staying in: XEP-0410 self-ping and rejoining

-- What a self-ping's answer says (XEP-0410 §4): true joined, false not
-- joined, nil inconclusive (ask again later).
local function still_joined(reply, code)
	if reply then return true end
	if code == "service-unavailable" or code == "feature-not-implemented" or code == "item-not-found" then
		return true -- the room passed it on to one of our clients, or a nick change is under way
	end
	if code == "timeout" or code == "remote-server-not-found" or code == "remote-server-timeout"
		or code == "not-connected" or code == "closed" then
		return nil
	end
	return false
end

local function self_ping(self, room)
	local c = self.c
	local ping = st.iq({ type = "get", to = room.jid .. "/" .. room.nick, id = c:new_id() })
		:tag("ping", { xmlns = NS_PING })
	local reply, _, code = c:iq(ping, self.opts.ping_timeout)
	room.last_seen = c.clock.now()
	if room.state ~= "joined" then return end
	if still_joined(reply, code) == false then
		room.state = room.rejoin and "out" or "left"
		emit(room, "dropped", code)
		if room.rejoin then rejoin(room) end
	end
end

-- One task per connection: pings the rooms that were silent for
-- ping_interval, rejoins the rooms that are out, and sleeps until the next.
local function keeper(self)
	local c = self.c
	while c:state() ~= "closed" do
		local now, due, acted, active = c.clock.now(), nil, false, false
		for _, room in pairs(self.rooms) do
			local at
			active = active or room.state == "joined" or room.state == "joining" or room.state == "out"
			if room.state == "joined" and self.opts.ping_interval then
				at = room.last_seen + self.opts.ping_interval
				if at <= now and c:state() == "ready" then
					self_ping(self, room)
					acted = true
				end
			elseif room.state == "joining" and room.joined_once then
				at = room.join_deadline -- a rejoin nobody answered: try again
				if at <= now then room.state, room.rejoin_at, acted = "out", now, true end
			elseif room.state == "out" and room.rejoin and room.rejoin_at then
				at = room.rejoin_at
				if at <= now and c:state() == "ready" then
					room.rejoin_at, acted = nil, true
					rejoin(room)
				end
			end
			if at and at > now and (not due or at < due) then due = at end
		end
		if not active then break end -- the next join starts it again
		if not acted then -- otherwise look again: what was done moved the times
			if c.sched:in_task() then c.sched:wait(self, due) else c.clock.wait(due, self.cond) end
		end
	end
	self.keeping = false
end

---Wakes the keeper task: something about the rooms changed.
function methods:wake()
	if not self.keeping then
		self.keeping = true
		self.c.sched:spawn(keeper, self)
	end
	self.c.sched:wake(self)
	if self.cond then self.cond:signal() end
end

---------------------------------------------------------------------------

---c:use("muc", { ping_interval = 300, ping_timeout = 30, rejoin_delay = 10, join_timeout = 30, instant = true })
---ping_interval: self-ping a room silent that long (false: never);
---rejoin_delay: how long to wait before trying again when the service
---shut the room down or refused a rejoin; instant: accept the default
---configuration of a room we created.
---@param c table the connection
---@param opts table
---@return lxmpp.muc
function muc.init(c, opts)
	local o = require("lxmpp.ext").numbers(opts, { ping_timeout = 30, rejoin_delay = 10, join_timeout = 30 },
		"lxmpp.ext.muc")
	o.ping_interval = opts.ping_interval == nil and 300 or opts.ping_interval
	if o.ping_interval ~= false and type(o.ping_interval) ~= "number" then
		error("lxmpp.ext.muc: option 'ping_interval' is a number or false", 4)
	end
	if opts.now ~= nil and type(opts.now) ~= "function" then error("lxmpp.ext.muc: option 'now' is a function", 4) end
	o.instant, o.now = opts.instant ~= false, opts.now or os.time
	local have_condition, condition = pcall(require, "cqueues.condition")
	local self = setmetatable({ c = c, opts = o, rooms = {}, invite_handlers = {},
		events = { first = 1, last = 0 }, cond = have_condition and condition.new() or nil }, mt)
	c:use("disco"):add_feature(NS)
	c:use("disco"):add_feature(NS_CONFERENCE)
	c:filter("incoming", function(stanza) incoming(self, stanza) end)
	c:on("disconnected", function(_, _, reconnecting)
		for _, room in pairs(self.rooms) do
			if room.state == "joined" or room.state == "joining" then
				room.state, room.rejoin_at = room.rejoin and "out" or "left", nil
				room.occupants = {}
				emit(room, "dropped", "disconnected")
			end
		end
		if not reconnecting then self:wake() end
	end)
	c:on("reconnected", function()
		for _, room in pairs(self.rooms) do
			if room.state == "out" and room.rejoin then rejoin(room) end
		end
	end)
	return self
end

return muc

-- lxmpp.server.sm: XEP-0198 stream management for lxmpp.server's sessions
-- (docs/server.md, "Stream management"). The counting is lxmpp.sm's; this
-- file is the server's policy: <enable/> after binding, <r/> and <a/>, a
-- bounded queue of what the client has not acknowledged, a session kept
-- detached when its connection drops, <resume/> onto a new connection of
-- the same account, and, when a session ends without being resumed, its
-- unacknowledged stanzas handled as undeliverable (RFC 6121 §8.5.3:
-- offline storage for messages, errors for requests).
local smstate = require "lxmpp.sm"
local st = require "lxmpp.stanza"
local xml = require "lxmpp.xml"

---@class lxmpp.server.sm
local sm = {}

local NS = smstate.NS
sm.NS = NS

-- Safe defaults; config.stream_management = { ... } changes them.
sm.DEFAULTS = {
	resume_timeout = 300, -- seconds a detached session waits for its client
	max_unacked = 10000, -- stanzas kept for the client (while detached too)
	max_unacked_bytes = 1048576, -- and their bytes (max_output's default)
	request_after = 5, -- <r/> once this many are unacknowledged
	request_interval = 10, -- or once the oldest has waited this long
	ack_timeout = 60, -- an <r/> unanswered this long: the peer is dead, detached
	max_detached = 10, -- detached sessions per account; beyond, the oldest ends
}

--- The options of config.stream_management: false when off, else a table
--- with every field; nil, message for a bad one.
---@param value boolean|table|nil (true)
---@return table|false|nil options
---@return string? message
function sm.options(value)
	if value == false then return false end
	if value ~= nil and value ~= true and type(value) ~= "table" then
		return nil, "stream_management: true, false or a table"
	end
	local given = type(value) == "table" and value or {}
	local out = { location = given.location }
	if out.location ~= nil and type(out.location) ~= "string" then
		return nil, "stream_management.location: a string (host:port)"
	end
	for k in pairs(given) do
		if k ~= "location" and sm.DEFAULTS[k] == nil then return nil, "stream_management: unknown option " .. tostring(k) end
	end
	for k, v in pairs(sm.DEFAULTS) do
		local x = given[k]
		if x ~= nil and (type(x) ~= "number" or x ~= x or x <= 0) then
			return nil, "stream_management." .. k .. ": a number > 0"
		end
		out[k] = x or v
	end
	return out
end

-- <r/>, <a/>, <enabled/>, <failed/>: lost, they would leave the client
-- waiting, so an output queue too full for them ends the session.
local function send_element(s, text)
	if s.conn:state() ~= "ready" then return end
	local ok, _, code = s.conn:send_xml(text)
	if ok then
		s:wake_writer()
	else
		s:refused(code)
	end
end

local function request(s)
	send_element(s, "<r xmlns='" .. NS .. "'/>")
	s.sm:requested()
end

local function failed(s, condition)
	send_element(s, tostring(st.stanza("failed", { xmlns = NS })
		:tag(condition, { xmlns = "urn:ietf:params:xml:ns:xmpp-stanzas" })))
end

local function enable(srv, s, el)
	local o = srv.sm_opts
	if s.sm then return failed(s, "unexpected-request") end
	s.sm = smstate.new { clock = { now = srv.now }, max_unacked = o.max_unacked,
		max_unacked_bytes = o.max_unacked_bytes, request_after = o.request_after,
		request_interval = o.request_interval }
	local resume = el.attr.resume == "true" or el.attr.resume == "1"
	if not resume then return send_element(s, "<enabled xmlns='" .. NS .. "'/>") end
	s.sm_id = srv:random_id() .. srv:random_id()
	srv.resumable[s.sm_id] = s
	send_element(s, tostring(st.stanza("enabled", { xmlns = NS, id = s.sm_id, resume = "true",
		max = ("%d"):format(math.ceil(o.resume_timeout)), location = o.location })))
end

--- The client's XEP-0198 elements on a bound stream.
---@param srv lxmpp.server
---@param s lxmpp.server.session
---@param el table the element
function sm.element(srv, s, el)
	local name = el.name
	if name == "enable" then
		enable(srv, s, el)
	elseif name == "r" and s.sm then
		send_element(s, ("<a xmlns='%s' h='%d'/>"):format(NS, s.sm:handled()))
	elseif name == "a" and s.sm then
		local done, err = s.sm:ack(el.attr.h)
		-- XEP-0198 §4: acknowledging more than was sent is a broken client
		if not done then s:close("undefined-condition", err) end
	elseif name ~= "r" and name ~= "a" then
		failed(s, "unexpected-request")
	end
end

--- Counts a stanza the client sent (h).
---@param s lxmpp.server.session
function sm.received(s)
	if s.sm then s.sm:received() end
end

--- Delivers a stanza to a session that has stream management: sent and
--- kept until acknowledged, or only kept while the session is detached or
--- its connection dying. Over the bounds the session ends
--- (policy-violation while connected) and false tells the router to treat
--- the stanza as undeliverable.
---@param s lxmpp.server.session
---@param stanza table
---@return boolean delivered
function sm.deliver(s, stanza)
	local q, conn = s.sm, s.conn
	if s.detached or s.gone or conn:state() ~= "ready" then
		if not s.sm_id then return false end
		local text = tostring(stanza)
		if not q:fits(#text) then
			s.srv:log("info", "%s: detached with too many stanzas waiting: ended", tostring(s))
			s.srv:unregister(s)
			return false
		end
		q:sent(text)
		return true
	end
	if q:count() >= q.opts.max_unacked then
		s:close("policy-violation", "too many stanzas unacknowledged (XEP-0198)")
		return false
	end
	local ok, text, code = conn:send(stanza, true)
	if not ok then return s:refused(code) end
	if not q:fits(#text) then
		-- sent, but too big to keep: the session cannot promise it (the
		-- client may get it twice)
		s:close("policy-violation", "too many bytes unacknowledged (XEP-0198)")
		return false
	end
	q:sent(text)
	if q:should_request() then request(s) end
	s:wake_writer()
	return true
end

-- Whether the connection was lost (a reset, a cut, a write that failed),
-- rather than closed or ended by a stream error (either side's: a limit,
-- bad XML), which ends the session.
local function lost(conn)
	local state = conn:state()
	if state ~= "failed" then return state ~= "closed" end
	local _, code = conn:error()
	return code == "connection-closed" or code == "tls-truncated"
end

--- The session's connection is lost: a resumable session is kept
--- (registered, its presence standing) for resume_timeout. True when
--- detached; false when the session ends.
---@param srv lxmpp.server
---@param s lxmpp.server.session
---@return boolean detached
function sm.detach(srv, s)
	if not (s.sm and s.sm_id) or s.closed_at or srv.closing or srv.sessions[s.full_jid] ~= s
		or not lost(s.conn) then
		return false
	end
	-- an account cannot pile up detached sessions: the oldest goes
	local oldest, n = nil, 0
	for _, other in pairs(srv:sessions_of(s.username .. "@" .. s.host)) do
		if other.detached then
			n = n + 1
			if not oldest or other.resume_until < oldest.resume_until then oldest = other end
		end
	end
	if n >= srv.sm_opts.max_detached then srv:unregister(oldest) end
	s.detached, s.resume_until = true, srv.now() + srv.sm_opts.resume_timeout
	s.sm:connection_lost()
	srv.detached[s] = true
	srv:log("info", "%s: connection lost, kept for %g s", tostring(s), srv.sm_opts.resume_timeout)
	return true
end

-- RFC 6121 §8.5.3.2 for a stanza the session will never get: a message
-- goes where the router sends one to a resource that is gone (the
-- account's other available resources, else offline storage, else a
-- bounce; groupchat bounced; error and headline messages dropped), an iq
-- request bounces, anything else is dropped.
local function undeliverable(srv, s, text)
	-- kept as sent: in the stream's default namespace, and within the
	-- server's limits, not lxmpp.xml's defaults (the wrapper is one level
	-- more): limits of its own size
	local doc = "<w xmlns='jabber:client'>" .. text .. "</w>"
	local n = math.min(#doc, 1073741824) -- (the counts' ceiling)
	local wrapped, err = xml.parse(doc, { default_ns = "jabber:client", max_stanza_size = n,
		max_text_size = n, max_depth = n, max_attrs = n, max_children = n })
	local stanza = wrapped and wrapped.tags[1]
	if not stanza then
		return srv:log("error", "%s: an unacknowledged stanza is lost: %s", tostring(s), tostring(err))
	end
	-- the origin of what happens to it: an error goes back to the sender
	-- through the router (the host session's own send drops what it gets,
	-- and the offline plugin bounces through the origin when it is full)
	local origin = { type = "local", host = s.host, send = function(reply) return srv:route(reply) end }
	local t = stanza.attr.type
	if stanza.name == "message" then
		-- the session is out of the registry already
		srv:fire(s.host, "message/full", { origin = origin, stanza = stanza, to_bare = s.username .. "@" .. s.host })
	elseif stanza.name == "iq" and (t == "get" or t == "set") then
		origin.send(st.error_reply(stanza, "cancel", "service-unavailable"))
	end
end

--- The session ends without resumption (closed, expired, replaced): what
--- the client did not acknowledge is undeliverable.
---@param srv lxmpp.server
---@param s lxmpp.server.session
function sm.ended(srv, s)
	local q = s.sm
	if not q then return end
	s.sm = nil
	srv.detached[s] = nil
	if s.sm_id then srv.resumable[s.sm_id] = nil end
	for _, item in ipairs(q:take_unacked()) do undeliverable(srv, s, item.xml) end
end

-- The old session's connection, if it still seems alive, is closed; the
-- session itself goes on elsewhere (no unregistering, no presence).
local function cut_off(srv, old)
	srv.detached[old] = nil
	old.sm, old.sm_id, old.detached = nil, nil, nil
	if old.gone then return end
	local state = old.conn:state()
	if state ~= "closed" and state ~= "failed" and state ~= "closing" then
		old.conn:stream_error("conflict", "the session was resumed on another connection")
	end
	old.closed_at = old.closed_at or srv.now()
	old:wake_writer()
end

--- A <resume/> in place of binding (XEP-0198 §5): only a session of the
--- same account that still waits, and an h that fits; the new connection
--- takes the session over and gets again what the client did not
--- acknowledge, in order.
---@param srv lxmpp.server
---@param s lxmpp.server.session
---@param ev table the "resume-request" event: previd, h
function sm.resume(srv, s, ev)
	local old = srv.resumable[ev.previd]
	-- another account's session is as unknown as an expired one
	if not old or old.username ~= s.username or old.host ~= s.host or srv.sessions[old.full_jid] ~= old then
		s.conn:refuse_resume("item-not-found")
		return
	end
	local q = old.sm
	if not q:ack(ev.h) then
		s.conn:refuse_resume("unexpected-request", q:handled())
		return
	end
	-- the new connection first: if it cannot go on, the session waits on
	if not s.conn:accept_resume(old.full_jid, q:handled()) then return end
	q:connection_lost()
	local id = old.sm_id
	cut_off(srv, old)
	s:take_over(old)
	s.sm, s.sm_id, s.detached, s.resumed = q, id, nil, true
	srv.resumable[id] = s
	srv:replace(old, s)
	for _, item in ipairs(q:unacked()) do s.conn:send_xml(item.xml) end
	if q:count() > 0 then request(s) end
	srv:log("info", "%s: resumed, %d stanzas sent again", tostring(s), q:count())
end

--- Time-driven work on the detached sessions: those that expired end, the
--- others' expiry is recorded with `due` (connected sessions' <r/>:
--- sm.request_due).
---@param srv lxmpp.server
---@param now number
---@param due fun(at: number|nil) records the next deadline
function sm.tick(srv, now, due)
	for s in pairs(srv.detached) do
		if now >= s.resume_until then
			srv:log("info", "%s: not resumed in time", tostring(s))
			srv:unregister(s)
		else
			due(s.resume_until)
		end
	end
end

--- For a connected session: an <r/> when due; a peer that has not
--- answered ours within ack_timeout is taken for dead: its connection is
--- closed and the session detached as for a dropped connection (see
--- sm.detach, through srv:forget). The time of the next deadline.
---@param s lxmpp.server.session
---@param now number
---@return number|nil at
function sm.request_due(s, now)
	local q = s.sm
	if not q or s.detached or s.gone then return nil end
	if q.asked_at then
		local dead_at = q.asked_at + s.srv.sm_opts.ack_timeout
		if now < dead_at then return dead_at end
		s.srv:log("info", "%s: no <a/> in %g s, connection closed", tostring(s), s.srv.sm_opts.ack_timeout)
		s:abort()
		return nil
	end
	if q:should_request() then request(s) end
	return q:request_due() or (q.asked_at and q.asked_at + s.srv.sm_opts.ack_timeout)
end

return sm

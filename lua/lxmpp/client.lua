-- lxmpp.client: an XMPP client over the network for bots and scripts. One
-- object owns one transport and one lxmpp.stream connection, and one pump
-- moves bytes between them; every call that waits runs the pump with its
-- own deadline. See docs/client.md.
--   local c, err, code = client.connect{ jid =, password =, ... }
--   c.jid, c:send(st [, timeout]), c:receive([timeout]), c:stanzas(),
--   c:iq(st [, timeout]), c:on(kind, fn), c:loop([timeout]), c:close([timeout])
--   c:message(to, body [, type]), c:presence([opts]), c:subscribe(jid),
--   c:unsubscribe(jid), c:approve(jid), c:deny(jid), c:ping([to [, timeout]])
--   c:step([timeout]), c:pollfd(), c:events(), c:timeout(), c:state(), c:tls_info()
--   c:use(extension [, opts]), c:filter(direction, fn)  (docs/extensions.md)
--   c:sm_state(), c:sm_report() (XEP-0198, docs/sm.md)
local default_clock = require "lxmpp.clock"
local compat = require "lxmpp.compat"
local jid_util = require "lxmpp.jid"
local resolve = require "lxmpp.resolve"
local sm = require "lxmpp.sm"
local st = require "lxmpp.stanza"
local stream = require "lxmpp.stream"
local tasks = require "lxmpp.tasks"
local xml_codec = require "lxmpp.xml"

-- Yieldable on Lua 5.1 too: handlers and reads wait inside them.
local pcall, xpcall, running = compat.pcall, compat.xpcall, compat.running
local pack, unpack, math_type, tointeger = compat.pack, compat.unpack, compat.math_type, compat.tointeger

local NS_PING = "urn:xmpp:ping"
local NS_ROSTER = "jabber:iq:roster"
local NS_SM = sm.NS

---@class lxmpp.client_module
---A connected client (docs/client.md): a coroutine-friendly XMPP session.
---@class lxmpp.client
---@field jid string the full JID bound
local client = {}

local methods = {}
local mt = { __name = "lxmpp.client", __index = methods }

local DEFAULTS = {
	timeout = 30, -- connect, and calls without a timeout of their own
	attempt_timeout = 10, -- one target of connect
	close_timeout = 5, -- the closing handshake of close() and <close>
	max_redirects = 5, -- see-other-host followed
	max_queue = 1000, -- stanzas kept for receive() before the oldest is dropped
	max_queue_bytes = 4194304, -- and the memory they may hold (estimated, see held_bytes)
	max_handlers = 1, -- stanzas whose handlers run at once
	max_inbox_bytes = 4194304, -- stanzas waiting for their handlers; beyond, no reading
	max_output = 1048576, -- bytes not written yet beyond which send refuses more
}

-- The phases of a client, c:state(). connect() goes new -> connecting ->
-- ready, through failed and connecting again for each target that fails;
-- a ready stream ends in closed (close(), a clean close by the server, or a
-- failure) or, with `reconnect`, in reconnecting, which goes through
-- connecting (and failed) back to ready, or to closed.
-- client.PHASES documents them (c:state() names one); a phase outside it
-- is a bug.
local PHASES = {
	new = "created; connect() has not begun",
	connecting = "an attempt negotiates the stream with one target",
	failed = "that attempt failed (connect tries the next target)",
	ready = "bound: stanzas flow",
	closing = "close() sent </stream:stream> and waits for the server's",
	reconnecting = "the stream failed; waiting for or making the next attempt",
	closed = "over for good (c:receive() and the others say why)",
}
client.PHASES = PHASES

local KEEPALIVE = { interval = 60, timeout = 30, ping = false }
local RECONNECT = { delay = 1, max_delay = 60, attempts = math.huge }
-- XEP-0198 (docs/sm.md): lxmpp.sm's limits and <r/> policy, and what a
-- refused resumption does with the unacknowledged stanzas ("resend" them in
-- the new session, or "return" them to the application).
local STREAM_MANAGEMENT = { request_after = 5, request_interval = 10, max_unacked = 10000,
	max_unacked_bytes = 16777216, unacked = "resend" }

-- Seconds without input after which a connection gives its XML parser's
-- memory back before it waits (conn:trim(); the next input rebuilds it).
local IDLE_TRIM = 2

-- The one list of final failures: after them neither another target nor a
-- reconnection would help (the credentials, bind or TLS policy would fail
-- again) or it would fight (conflict: another session took the resource;
-- an administrator's kick).
local FINAL = { conflict = true, ["not-authorized"] = true, ["policy-violation"] = true,
	["starttls-refused"] = true, ["starttls-not-offered"] = true }

local function is_final(code)
	return FINAL[code] or code:match("^sasl%-") ~= nil or code:match("^bind%-") ~= nil
end

-- A method's misuse, named as the module the object came from.
local function misuse(self, message)
	error(self.role.name .. ": " .. message, 3)
end

-- A bad option of connect: raised as a marked error, which client.open
-- reports as the role's (lxmpp.component's options are also lxmpp.client's)
-- at its caller's line, however deep the check was.
local option_error_mt = {}

---Raises an error about an option of connect; client.open reports it as
---the role's module's (for a role's `options`).
---@param message string
function client.bad_option(message)
	error(setmetatable({ message = message }, option_error_mt), 0)
end
local bad_option = client.bad_option

local function min_deadline(a, b)
	if not a then return b end
	if not b then return a end
	return math.min(a, b)
end

local function deadline_of(self, timeout)
	if timeout == nil then return nil end
	if type(timeout) ~= "number" or timeout ~= timeout then misuse(self, "a timeout is a number of seconds") end
	return self.clock.now() + math.max(0, timeout)
end

---------------------------------------------------------------------------
-- options

local function is_pem(s)
	return s:find("-----BEGIN", 1, true) ~= nil
end

---The lxmpp.stream TLS options for a `tls` table of client.connect's
---shape (docs/client.md); for a role's options (lxmpp.component).
---@param tls table|nil { cafile =, capath =, ca =, certificate =, key =, verify =, min_version =, max_version =, resume = }
---@return table options for stream.tls_context("client", ...)
function client.tls_options(tls)
	if tls == nil then return {} end
	if type(tls) ~= "table" then bad_option("option 'tls' is a table") end
	local o = { cafile = tls.cafile, capath = tls.capath, ca = tls.ca,
		min_tls = tls.min_version, max_tls = tls.max_version }
	if tls.resume ~= nil and type(tls.resume) ~= "boolean" then
		bad_option("option 'tls.resume' is true or false")
	end
	if tls.verify == false then
		o.verify = "none"
	elseif tls.verify ~= nil and tls.verify ~= true then
		bad_option("option 'tls.verify' is true or false")
	end
	if tls.certificate or tls.key then
		if type(tls.certificate) ~= "string" or type(tls.key) ~= "string" then
			bad_option("options 'tls.certificate' and 'tls.key' go together (PEM text or file names)")
		end
		if is_pem(tls.certificate) then
			o.certificate, o.key = tls.certificate, tls.key
		else
			o.certificate_file, o.key_file = tls.certificate, tls.key
		end
	end
	return o
end

local function table_option(value, defaults, name)
	if value == nil or value == false then return nil end
	if value == true then value = {} end
	if type(value) ~= "table" then bad_option("option '" .. name .. "' is true, false or a table") end
	local o = {}
	for k, v in pairs(defaults) do
		if value[k] == nil then
			o[k] = v
		elseif type(value[k]) ~= type(v) then
			bad_option("option '" .. name .. "." .. k .. "' is a " .. type(v))
		else
			o[k] = value[k]
		end
	end
	return o
end

-- The account's options (jid, resource, credentials, stream management,
-- TLS) into o: the client's part of check_options.
local function account_options(opts, o)
	if type(opts.jid) ~= "string" then bad_option("option 'jid' is required (a string)") end
	local account = jid_util.prep(opts.jid)
	if not account then bad_option("option 'jid': not a valid JID: " .. opts.jid) end
	local node, domain, resource = jid_util.split(account)
	if not node then bad_option("option 'jid' needs a localpart (user@domain)") end
	if opts.resource ~= nil then
		if type(opts.resource) ~= "string" then bad_option("option 'resource' is a string") end
		resource = opts.resource
	end
	-- a client certificate may log in alone, with SASL EXTERNAL (XEP-0178)
	local certificate = type(opts.tls) == "table" and opts.tls.certificate
	if opts.password == nil and opts.keys == nil and not certificate then
		bad_option("option 'password' (or 'keys', or a client certificate in 'tls') is required")
	end
	o.bare = node .. "@" .. domain
	o.domain = domain
	o.full = resource and (o.bare .. "/" .. resource) or o.bare
	o.sm = table_option(opts.stream_management == nil or opts.stream_management, STREAM_MANAGEMENT,
		"stream_management")
	if o.sm and o.sm.unacked ~= "resend" and o.sm.unacked ~= "return" then
		bad_option("option 'stream_management.unacked' is \"resend\" or \"return\"")
	end
	if opts.resume ~= nil and (type(opts.resume) ~= "table" or not o.sm) then
		bad_option("option 'resume' is a table from c:sm_state(), and needs stream_management")
	end
	o.tls = client.tls_options(opts.tls)
	o.tls_resume = not (opts.tls and opts.tls.resume == false)
end

-- The options every role shares, then the role's own (role.options).
local function check_options(role, opts)
	if type(opts) ~= "table" then bad_option("connect takes a table of options") end
	local o = {}
	role.options(opts, o)
	for name in pairs(DEFAULTS) do
		if opts[name] ~= nil and type(opts[name]) ~= "number" then bad_option("option '" .. name .. "' is a number") end
	end
	if opts.port ~= nil and (math_type(opts.port) ~= "integer" or opts.port < 1 or opts.port > 65535) then
		bad_option("option 'port' is an integer in 1..65535")
	end
	if math_type(opts.max_handlers) == "float" or (opts.max_handlers or 1) < 1 then
		bad_option("option 'max_handlers' is an integer, at least 1")
	end
	local c = opts.clock
	if c ~= nil and (type(c) ~= "table" or type(c.now) ~= "function" or type(c.wait) ~= "function") then
		bad_option("option 'clock' is an lxmpp.clock-shaped table (now, wait)")
	end
	if opts.trace ~= nil and type(opts.trace) ~= "function" then
		bad_option("option 'trace' is a function(direction, data)")
	end
	for k, v in pairs(DEFAULTS) do o[k] = opts[k] or v end
	o.keepalive = table_option(opts.keepalive == nil or opts.keepalive, KEEPALIVE, "keepalive")
	o.reconnect = table_option(opts.reconnect, RECONNECT, "reconnect")
	o.trace = opts.trace
	o.clock = c or default_clock
	o.transport = opts.transport or "cqueues"
	if type(o.transport) == "string" then
		o.transport = require("lxmpp.transport." .. o.transport)
	end
	return o
end

-- The lxmpp.stream options of one connection attempt.
-- TLS session resumption (docs/client.md): the client keeps, in memory,
-- the session of its last ready connection with the target it came from,
-- and offers it to the next connection to that same target (host, port,
-- STARTTLS or direct TLS; the SNI is always our domain). One at a time.
local function tls_target_key(target)
	return ("%s|%s|%s"):format(target.host, target.port, target.direct_tls and "direct" or "starttls")
end

local function tls_keep(self)
	if not self.opts.tls_resume then return end
	-- Not a TLS 1.2 session whose login was bound to tls-unique: on a resumed
	-- session that binding is the server's Finished (RFC 5929 §3.1), which
	-- Prosody 0.12 gets wrong (the login then fails: "Invalid channel
	-- binding value"); the next connection makes a full handshake instead.
	local unique = self.sasl and self.sasl.channel_binding == "tls-unique"
	local session = not unique and self.conn:tls_session()
	self.tls_kept = session and { key = tls_target_key(self.attempt_target), session = session } or nil
end

---For a role's stream (lxmpp.component): into the lxmpp.stream options s,
---the TLS context of the target's kind (one per kind, made from opts.tls
---and reused by every connection of this object) and the TLS session kept
---for this target (see tls_keep). Returns s.
---@param self lxmpp.client
---@param target { host: string, port: integer, direct_tls?: boolean }
---@param s table the lxmpp.stream options of one connection
---@param alpn? string[] the protocols offered on direct TLS
---@return table s
function client.tls_stream_options(self, target, s, alpn)
	local key = target.direct_tls and "direct" or "starttls"
	self.contexts = self.contexts or {}
	if not self.contexts[key] then
		local t = {}
		for k, v in pairs(self.opts.tls) do t[k] = v end
		t.alpn = alpn
		self.contexts[key] = stream.tls_context("client", t)
	end
	s.tls_context = self.contexts[key]
	local kept = self.tls_kept
	if kept and kept.key == tls_target_key(target) then s.tls_session = kept.session end
	return s
end

local function stream_options(self, target)
	local direct_tls = target.direct_tls
	local opts, o = self.given, self.opts
	local s = {
		jid = o.full, password = opts.password or nil, keys = self.keys or opts.keys,
		mechanisms = opts.mechanisms or (not opts.password and not opts.keys and { "EXTERNAL" }) or nil,
		require_channel_binding = opts.require_channel_binding,
		require_ssdp = opts.require_ssdp, lang = opts.lang, trace = o.trace ~= nil,
		tls = direct_tls and "direct" or "required",
		max_stanza_size = opts.max_stanza_size, max_output = self.opts.max_output,
	}
	if o.sm then
		s.extensions = { NS_SM }
		local session = self.sm_session
		if session and session.resumable then
			-- XEP-0198 §5: the session goes on under its full JID
			s.jid, s.resume_id, s.resume_h = self.jid, session.id, self.sm:handled()
		end
	end
	return client.tls_stream_options(self, target, s, direct_tls and { "xmpp-client" } or nil)
end

---------------------------------------------------------------------------
-- queues: the stanzas kept for receive(), and the inbox of the handlers

local function queue_push(q, item)
	q.last = q.last + 1
	q[q.last] = item
end

local function queue_pop(q)
	if q.first > q.last then return nil end
	local item = q[q.first]
	q[q.first] = nil
	q.first = q.first + 1
	return item
end

local function queue_size(q)
	return q.last - q.first + 1
end

-- What a stanza's tables hold in Lua, estimated from its shape (measured
-- on Lua 5.4, 64 bits: about 280 bytes an element, 32 an attribute and 24 a
-- text node besides the strings; docs/client.md, "Limits"). A stanza of many
-- small elements holds about 75 times its size on the wire.
local function held_bytes(el)
	local n = 280 + #el.name
	for k, v in pairs(el.attr) do n = n + 32 + #k + #v end
	for _, child in ipairs(el) do
		n = n + (type(child) == "string" and 24 + #child or held_bytes(child))
	end
	return n
end

local work, leave

-- The inbox: what the handlers have to do, in arrival order (stanzas and
-- named events). Up to max_handlers workers take it from the front; a
-- worker runs one item's handlers to the end, so a handler that waits holds
-- back the items behind it unless another worker is free. Popping and
-- starting are one step, so items start in arrival order however the
-- workers are scheduled.
local function hire(self)
	if self.workers < self.opts.max_handlers and queue_size(self.inbox) > 0 then
		self.workers = self.workers + 1
		self.sched:spawn_with(function() leave(self) end, work, self)
	end
end

local function inbox_push(self, bytes, run, ...)
	queue_push(self.inbox, pack(bytes, run, ...))
	self.inbox_bytes = self.inbox_bytes + bytes
	hire(self)
end

-- Is the inbox over its bound? Then the pump stops reading (the peer's
-- output, then its server's queue, hold the rest) until the handlers
-- catch up.
local function inbox_full(self)
	return self.inbox_bytes > self.opts.max_inbox_bytes
end

local function handler_failed(self, message)
	local list = self.handlers.error
	if list and #list > 0 then
		for _, fn in ipairs(list) do
			local ok, err = pcall(fn, message)
			if not ok then io.stderr:write("lxmpp.client: the error handler failed: ", tostring(err), "\n") end
		end
	else
		io.stderr:write("lxmpp.client: a handler failed: ", tostring(message), "\n")
	end
end

-- A worker leaves when the inbox is empty, or when the scheduler closes
-- it (a handler yielded outside lxmpp); another takes over what is left.
function leave(self)
	self.workers = self.workers - 1
	hire(self)
end

function work(self)
	while true do
		local item = queue_pop(self.inbox)
		if not item then break end
		self.inbox_bytes = self.inbox_bytes - item[1]
		self.sched:signal() -- a pump waiting for room may read again
		local ok, err = xpcall(item[2], debug.traceback, self, unpack(item, 3, item.n))
		if not ok then handler_failed(self, err) end
	end
	leave(self) -- (abandoned, it leaves by the cleanup given to spawn_with)
end

-- Calls each handler of a kind, in the order they were added.
local function run_handlers(self, kind, ...)
	for _, fn in ipairs(self.handlers[kind] or {}) do
		local ok, err = xpcall(fn, debug.traceback, ...)
		if not ok then handler_failed(self, err) end
	end
end

-- Named events: "disconnected", "reconnected", "dropped", "error". `bytes`:
-- what the event holds (a dropped stanza), counted against the inbox bound.
local function emit_holding(self, bytes, name, ...)
	local list = self.handlers[name]
	if list and #list > 0 then inbox_push(self, bytes, run_handlers, name, ...) end
end

local function emit(self, name, ...)
	emit_holding(self, 0, name, ...)
end

-- Keeps a stanza for receive(); beyond max_queue stanzas or
-- max_queue_bytes, the oldest go to the "dropped" handlers.
local function to_queue(self, stanza)
	local q, bytes = self.queue, held_bytes(stanza)
	queue_push(q, { stanza = stanza, bytes = bytes })
	q.bytes = q.bytes + bytes
	while queue_size(q) > self.opts.max_queue or (q.bytes > self.opts.max_queue_bytes and queue_size(q) > 1) do
		local dropped = queue_pop(q)
		q.bytes = q.bytes - dropped.bytes
		emit_holding(self, dropped.bytes, "dropped", dropped.stanza)
	end
end

local function from_queue(self)
	local item = queue_pop(self.queue)
	if not item then return nil end
	self.queue.bytes = self.queue.bytes - item.bytes
	return item.stanza
end

---------------------------------------------------------------------------
-- connection state (PHASES)

local function fail_waiters(self, message, code)
	for id, slot in pairs(self.pending) do
		slot.done, slot.message, slot.code = true, message, code
		self.pending[id] = nil
		self.sched:wake(slot)
	end
	self.requests = {}
end

-- Ends the transport and the connection (the object stays).
local function teardown(self)
	if self.t then
		self.t:close()
		self.t = nil
	end
	self.conn = nil
	self.unsent = ""
end

local reconnect_delay

-- Tells the callers waiting for these stanzas' acknowledgement what became
-- of them: acknowledged (true), or not and why. Once: an item that stays
-- queued (for c:sm_state()) forgets its callback.
local function settle(items, ok, why)
	for _, item in ipairs(items) do
		local on_ack = item.on_ack
		item.on_ack = nil
		if on_ack then on_ack(ok, why) end
	end
end

-- Ends stream management for good: no resumption, no acknowledgement coming.
local function sm_give_up(self, why)
	if self.sm then settle(self.sm:take_unacked(), false, why) end
	self.sm, self.sm_session, self.sm_out, self.sm_in = nil, nil, false, false
end

-- The connection is over: cleanly (message nil) or not.
local function ended(self, message, code)
	local was = self.phase
	teardown(self)
	-- a TLS failure other than a cut: the next attempt makes a full handshake
	if code and code:find("^tls%-") and code ~= "tls-truncated" then self.tls_kept = nil end
	if was == "connecting" then
		self.phase = "failed"
		self.failure = { message = message, code = code, other_host = self.other_host }
		return
	end
	if message then
		fail_waiters(self, message, code)
	else
		fail_waiters(self, "the stream is closed", "closed")
	end
	local reconnect = self.opts.reconnect
	if self.sm then self.sm:connection_lost() end
	if message and was == "ready" and reconnect and not self.role.final(code) then
		self.phase = "reconnecting"
		self.attempts = 0
		self.reconnect_at = self.clock.now() + reconnect_delay(self)
		emit(self, "disconnected", message, code, true)
		return
	end
	self.phase = "closed"
	self.failure = message and { message = message, code = code } or nil
	self.tls_kept = nil
	sm_give_up(self, "closed")
	if was ~= "closing" then emit(self, "disconnected", message, code, false) end
end

---------------------------------------------------------------------------
-- output

-- Seconds output may wait without a byte written before the peer counts as
-- dead: one that stops reading is as dead as one that stops writing.
local function stall_limit(self)
	local ka = self.opts.keepalive
	return ka and ka.timeout or self.opts.timeout
end

-- When waiting output makes the peer dead, or nil when none waits.
local function stall_due(self)
	if #self.unsent == 0 then return nil end
	return self.out_progress + stall_limit(self)
end

-- Writes what the connection has for the peer, within the deadline and
-- never past the stall limit: every write has a deadline. Another coroutine
-- already writing (cqueues) takes ours with its own. A write cut short
-- keeps the rest for the next flush.
local function flush(self, deadline)
	if self.writing then
		self.dirty = true
		return true
	end
	if not self.t then return true end
	self.writing = true
	local ok, err, code = true, nil, nil
	repeat
		self.dirty = false
		local t = self.t
		local out = self.conn and self.conn:take_output()
		if out then
			if #self.unsent == 0 then self.out_progress = self.clock.now() end
			self.unsent = self.unsent .. out
		end
		if t and #self.unsent > 0 then
			local done, e, c, written = t:write(self.unsent, min_deadline(deadline, stall_due(self)))
			if done then
				self.unsent = ""
				self.last_sent = self.clock.now()
			elseif self.t == t then
				if (written or 0) > 0 then self.out_progress = self.clock.now() end
				self.unsent = self.unsent:sub((written or 0) + 1)
				ok, err, code = nil, e, c
				if c ~= "timeout" then
					self.writing = false
					ended(self, "connection lost: " .. e, c)
					return nil, e, c
				end
				break
			end
		end
	until not self.dirty
	self.writing = false
	return ok, err, code
end

---------------------------------------------------------------------------
-- stream management (XEP-0198; docs/sm.md): self.sm counts (lxmpp.sm),
-- self.sm_session is what the server's <enabled/> said, self.sm_out is true
-- once this connection counts what we send (from <enable/>), self.sm_in
-- once it counts what we receive (from <enabled/>), self.sm_resumed when
-- this connection resumed the session.

-- Queues an XEP-0198 element, or a kept stanza, while the stream is open
-- (not after our </stream:stream>): true when queued.
local function sm_send(self, xml)
	return self.conn:state() == "ready" and self.conn:send_xml(xml) == true
end

local function request_ack(self)
	if sm_send(self, "<r xmlns='" .. NS_SM .. "'/>") then self.sm:requested() end
end

-- The stanzas the server acknowledged: counted in the report, their
-- on_ack told.
local function sm_settle_acked(self, done)
	self.sm_last.acked = self.sm_last.acked + #done
	settle(done, true)
end

local function sm_acked(self, h)
	local done, err = self.sm:ack(h)
	if not done then -- XEP-0198 §4: the server is broken
		self.conn:stream_error("undefined-condition", err)
		flush(self, self.clock.now() + 1)
		if not self.conn then return end
		ended(self, "stream management: " .. err, "undefined-condition")
		return
	end
	sm_settle_acked(self, done)
end

-- The server's XEP-0198 elements.
local function sm_element(self, el)
	local name, attr = el.name, el.attr
	if name == "r" then
		if self.sm_in then
			sm_send(self, ("<a xmlns='%s' h='%d'/>"):format(NS_SM, self.sm:handled()))
		end
	elseif name == "a" then
		if self.sm_out then sm_acked(self, attr.h) end
	elseif name == "enabled" and self.sm_out then
		self.sm_in = true
		local resumable = (attr.resume == "true" or attr.resume == "1") and attr.id ~= nil
		self.sm_session = { id = attr.id, location = attr.location, resumable = resumable }
	elseif name == "resumed" and self.sm then
		self.sm_resumed = true
		sm_acked(self, attr.h)
	elseif name == "failed" and self.phase == "connecting" and self.sm then
		-- the resumption refused; the h it may carry says what it got (an
		-- invalid one is ignored: all is sent again, or returned)
		local done = attr.h and self.sm:ack(attr.h)
		if done then sm_settle_acked(self, done) end
		self.sm_session = nil
	elseif name == "failed" and self.sm_out then
		sm_give_up(self, "the server refused stream management")
	end
end

-- Is this stanza (XML kept for a resumption) our own presence: a presence
-- without `to`, available or unavailable?
local function is_our_presence(xml)
	if not xml:find("^<presence[%s/>]") then return false end
	local p = xml_codec.parse(xml)
	return p ~= nil and p.attr.to == nil and (p.attr.type == nil or p.attr.type == "unavailable")
end

-- The stream is ready: resumed (re-send what the server lacks) or new
-- (enable stream management where offered; the stanzas a refused
-- resumption left are re-sent or returned, as the policy says).
local function sm_ready(self)
	local report = self.sm_last
	if self.sm_resumed then
		self.sm_out, self.sm_in = true, true
		for _, item in ipairs(self.sm:unacked()) do sm_send(self, item.xml) end
		report.resumed, report.resent = true, self.sm:count()
		if self.sm:count() > 0 then request_ack(self) end
		return
	end
	local left = self.sm and self.sm:take_unacked() or {}
	self.presence_resent = nil
	self.sm, self.sm_session, self.sm_out, self.sm_in = nil, nil, false, false
	if self.opts.sm and self.sm_offered then
		local o = self.opts.sm
		self.sm = sm.new { clock = self.clock, max_unacked = o.max_unacked, max_unacked_bytes = o.max_unacked_bytes,
			request_after = o.request_after, request_interval = o.request_interval }
		self.sm_out = sm_send(self, "<enable xmlns='" .. NS_SM .. "' resume='true'/>")
	end
	if #left == 0 then return end
	if self.opts.sm.unacked == "return" then
		local list = {}
		for i, item in ipairs(left) do list[i] = item.xml end
		report.returned = list
		settle(left, false, "not-resumed")
		return
	end
	-- our presence (no `to`, available or not) is state: once the
	-- application set one with c:presence, the new session gets only the
	-- latest, once (sent here where it was left, in order, or else by the
	-- role's reestablish)
	local latest = self.current_presence and tostring(self.current_presence)
	report.resent = 0
	for _, item in ipairs(left) do
		local ours = self.current_presence ~= nil and is_our_presence(item.xml)
		if ours and item.xml ~= latest then
			settle({ item }, false, "superseded")
		else
			if ours then self.presence_resent = true end
			report.resent = report.resent + 1
			local ok, why = self.conn:send_xml(item.xml)
			if ok and self.sm_out then
				self.sm:sent(item.xml, item.on_ack)
			elseif item.on_ack then
				item.on_ack(false, ok and "no-sm" or why)
			end
		end
	end
end

-- Between two connections of a stream-managed session (reconnecting, or
-- an attempt not ready yet): stanzas wait in its queue of unacknowledged
-- ones, and the resumption (or the new session, by the `unacked` policy)
-- sends them.
local function sm_between(self)
	local p = self.phase
	return self.sm ~= nil and (p == "reconnecting" or p == "connecting" or p == "failed")
end

local function submit(self, stanza, on_ack)
	local between = sm_between(self) -- kept in the queue for the next connection
	if not between and (self.phase ~= "ready" or self.conn:state() ~= "ready") then
		if self.phase == "closed" and self.failure then
			return nil, self.failure.message, self.failure.code
		end
		local closed = self.phase == "closed" or self.phase == "closing"
		return nil, closed and "the stream is closed" or "not connected (" .. self.phase .. ")",
			closed and "closed" or "not-connected"
	end
	if not between and #self.unsent > self.opts.max_output then
		return nil, "the output queue is full", "full"
	end
	for _, fn in ipairs(self.filters.outgoing) do fn(stanza, self) end
	if self.role.outgoing then
		local ok, err, code = self.role.outgoing(self, stanza)
		if not ok then return nil, err, code end
	end
	if not between and not self.sm_out then
		local ok, err, code = self.conn:send(stanza)
		if ok and on_ack then on_ack(false, "no-sm") end
		return ok, err, code
	end
	local xml = tostring(stanza)
	if not self.sm:fits(#xml) then
		if not between and not self.sm.asked_at then request_ack(self) end
		return nil, ("%d stanzas wait for the server's acknowledgement"):format(self.sm:count()), "full"
	end
	if between then return self.sm:sent(xml, on_ack) end
	local ok, err, code = self.conn:send_xml(xml)
	if not ok then return nil, err, code end
	self.sm:sent(xml, on_ack)
	if self.sm:should_request() then request_ack(self) end
	return true
end

---------------------------------------------------------------------------
-- input

local function jid_key(j)
	return j and jid_util.prep(j) or nil
end

-- Does `from` answer a request sent to `to`? (RFC 6120 §10.3: what went
-- to our account, or to no one, is answered by it or by our server.)
local function answers(self, to, from)
	from = jid_key(from)
	if to == nil or to == self.account then
		return from == nil or from == self.account or from == self.jid or from == self.opts.domain
	end
	return from == to
end

local function request_key(peer, id)
	return (peer or "") .. "\0" .. (id or "")
end

-- The answer to a request no handler answered: an acknowledgement for a
-- roster push from our own account (RFC 6121 §2.1.6), else
-- service-unavailable (RFC 6120 §8.4).
local function default_answer(self, stanza)
	local q, from = stanza.tags[1], jid_key(stanza.attr.from)
	if stanza.attr.type == "set" and q and q.name == "query" and q.attr.xmlns == NS_ROSTER
		and (from == nil or from == self.account) then
		return st.reply(stanza)
	end
	return st.error_reply(stanza, "cancel", "service-unavailable")
end

local function is_ping(stanza)
	local child = stanza.tags[1]
	return stanza.attr.type == "get" and child and child.name == "ping" and child.attr.xmlns == NS_PING
		and #stanza.tags == 1
end

-- An iq get or set: the handlers answer it, else service-unavailable.
local function serve_request(self, stanza)
	local key = request_key(jid_key(stanza.attr.from) or stanza.attr.from, stanza.attr.id)
	local generation = self.generation
	self.requests[key] = stanza
	local answer
	for _, fn in ipairs(self.handlers.iq) do
		local ok, result = xpcall(fn, debug.traceback, stanza, self)
		if not ok then
			handler_failed(self, result)
			answer = st.error_reply(stanza, "cancel", "internal-server-error")
			break
		end
		if self.requests[key] ~= stanza then return end -- it sent its answer
		if st.is_stanza(result) then
			answer = result
			break
		end
	end
	if self.requests[key] ~= stanza or self.generation ~= generation then return end
	self.requests[key] = nil
	answer = answer or default_answer(self, stanza)
	local ok, err = submit(self, answer)
	if ok then flush(self) elseif err then handler_failed(self, "answering an iq: " .. err) end
end

local function dispatch(self, stanza)
	for _, fn in ipairs(self.filters.incoming) do
		local ok, err = xpcall(fn, debug.traceback, stanza, self)
		if not ok then handler_failed(self, err) end
	end
	local name, kind = stanza.name, stanza.attr.type
	if name == "iq" and (kind == "result" or kind == "error") then
		local slot = self.pending[stanza.attr.id]
		if slot and answers(self, slot.to, stanza.attr.from) then
			self.pending[stanza.attr.id] = nil
			slot.done, slot.reply = true, stanza
			self.sched:wake(slot)
		else
			to_queue(self, stanza) -- late, or not ours: the "iq" handlers take requests
		end
		return
	elseif name == "iq" then
		if is_ping(stanza) then
			submit(self, st.reply(stanza))
		elseif #self.handlers.iq > 0 then
			inbox_push(self, held_bytes(stanza), serve_request, stanza)
		else
			submit(self, default_answer(self, stanza))
		end
		return
	end
	local list = self.handlers[name]
	if list and #list > 0 then
		inbox_push(self, held_bytes(stanza), run_handlers, name, stanza, self)
	else
		to_queue(self, stanza)
	end
end

local function on_event(self, ev)
	local kind = ev.type
	if kind == "stanza" then
		local stanza = ev.stanza
		if stanza.attr.xmlns == NS_SM then
			sm_element(self, stanza)
			return
		end
		if self.sm_in then self.sm:received() end
		dispatch(self, stanza)
	elseif kind == "features" then
		self.sm_offered = ev.features:get_child("sm", NS_SM) ~= nil
	elseif kind == "sent" or kind == "received" then
		self.opts.trace(kind, ev.data)
	elseif kind == "authenticated" then
		self.sasl = { mechanism = ev.mechanism, channel_binding = ev.channel_binding }
		if ev.keys then self.keys = ev.keys end
	elseif kind == "ready" then
		local jid, why = self.role.ready(self, ev.jid)
		if not jid then
			ended(self, why, "bad-jid")
			return
		end
		self.jid = jid
		self.phase = "ready"
		local tls = self.conn:tls_info()
		self.sm_last.tls_resumed = tls ~= nil and tls.resumed
		tls_keep(self)
		sm_ready(self)
	elseif kind == "stream-error" then
		self.other_host = ev.other_host
	elseif kind == "closed" then
		if self.phase == "closing" then self.peer_closed = not ev.error end
		flush(self, self.clock.now() + 1) -- our </stream:stream> answering theirs, or a stream error
		ended(self, ev.error and ev.message, ev.error)
	end
end

-- Handles the connection's events until there are none.
local function drain(self, conn)
	while self.conn == conn do
		local ev = conn:next_event()
		if not ev then return end
		on_event(self, ev)
	end
end

-- The loop of every caller of the connection (docs/stream.md): give it
-- every byte read, take its events until there are none; pump writes what
-- it has to send. A fault of the peer's comes as the "closed" event.
local function feed(self, data)
	local conn = self.conn
	local ok, err, code = conn:receive_bytes(data)
	drain(self, conn)
	if not ok and self.conn == conn then ended(self, err, code) end
end

---------------------------------------------------------------------------
-- timers: keepalive, the dead-peer probe and the write stall

-- When the timers need the pump next, or nil.
local function timers_due(self)
	local due, ka = stall_due(self), self.opts.keepalive
	if self.sm_out and self.phase == "ready" then due = min_deadline(due, self.sm:request_due()) end
	if not ka or self.phase ~= "ready" then return due end
	if self.probe_sent then return min_deadline(due, self.probe_sent + ka.timeout) end
	return min_deadline(due, math.min(self.last_sent + ka.interval, self.last_received + ka.interval))
end

local function send_ping(self, to)
	local id = self:new_id()
	local ok = submit(self, st.iq({ type = "get", id = id, to = to }):tag("ping", { xmlns = NS_PING }))
	if ok then self.pending[id] = { to = to } end -- its answer is dropped
	return ok
end

local function timers(self)
	local ka, t = self.opts.keepalive, self.clock.now()
	local stalled = stall_due(self)
	if stalled and t >= stalled then
		ended(self, ("the server read nothing for %g seconds (dead peer)"):format(t - self.out_progress),
			"dead-peer")
		return
	end
	if self.sm_out and self.phase == "ready" and self.sm:should_request() then request_ack(self) end
	if not ka or self.phase ~= "ready" then return end
	if self.probe_sent then
		if t >= self.probe_sent + ka.timeout then
			ended(self, ("no data from the server for %g seconds (dead peer)"):format(t - self.last_received),
				"dead-peer")
		end
		return
	end
	if t >= self.last_received + ka.interval then
		-- the server has been silent: make it speak
		if send_ping(self, self.opts.domain) then self.probe_sent = t end
	elseif t >= self.last_sent + ka.interval then
		if ka.ping then send_ping(self, self.opts.domain) else self.conn:keepalive() end
	end
end

---------------------------------------------------------------------------
-- the pump

local reconnect_step

-- Reads once, within `until_`, and handles what came.
local function read_once(self, t, until_)
	local pumper = self.pumper
	if self.phase == "ready" and self.clock.now() - self.last_received >= IDLE_TRIM then self.conn:trim() end
	self.pumper = running()
	local ok, data, err, code = pcall(t.read, t, until_)
	self.pumper = pumper
	if self.t ~= t then return end -- closed or replaced meanwhile: nothing to do
	if not ok then error(data, 0) end
	if data then
		self.last_received = self.clock.now()
		self.probe_sent = nil
		feed(self, data)
	elseif code == "eof" then
		local conn = self.conn
		conn:receive_eof()
		drain(self, conn)
		if self.t == t then ended(self, "connection closed by the server", "eof") end
	elseif code ~= "timeout" then
		ended(self, "connection lost: " .. err, code)
	end
end

-- One round: timers, output, one read (bounded by the deadline, the
-- timers and the tasks' deadlines; none while the handlers' inbox is full),
-- input, output, then the tasks.
local function pump(self, deadline)
	-- the coroutine that reads or reconnects; others wait for its signal
	local pumper = self.pumper
	if self.phase == "reconnecting" then
		self.pumper = running()
		local ok, err = pcall(reconnect_step, self, deadline)
		self.pumper = pumper
		if not ok then error(err, 0) end
	elseif self.t then
		timers(self)
		local until_ = min_deadline(min_deadline(deadline, timers_due(self)), self.sched:next_deadline())
		if self.t then flush(self, until_) end
		local t = self.t
		if t and inbox_full(self) and (self.sched:controller() or until_) then
			-- the handlers are behind: the rest stays with the peer meanwhile
			self.pumper = running()
			self.sched:block(until_)
			self.pumper = pumper
		elseif t then
			read_once(self, t, until_)
		end
		if self.t then flush(self, until_) end
	end
	self.rounds = self.rounds + 1
	self.sched:wake(self)
	self.sched:signal()
	self.sched:run()
end

-- Waits until ready() is true (returns true) or the deadline (false): it
-- pumps, or, when another coroutine pumps, lets it (see tasks.lua). A
-- deadline already past reads once without waiting. A plain task waits
-- for `key` (woken when it may be ready), by default the client (woken
-- after each round).
local function wait_for(self, ready, deadline, key)
	local sched = self.sched
	local polled = false -- a deadline already past still reads what is there
	while not ready() do
		if self.phase == "closed" or self.phase == "failed" then return ready() end
		if polled and deadline and self.clock.now() >= deadline then return false end
		polled = true
		if sched:in_task() then
			sched:wait(key or self, deadline)
		elseif self.pumper and self.pumper ~= running() and sched:controller() then
			sched:block(deadline)
		else
			pump(self, deadline)
		end
	end
	return true
end

---------------------------------------------------------------------------
-- connecting

-- Where the peer (a redirect, an SRV record) sends us: a host name or an
-- IP literal, and a port in 1..65535. What the peer says is checked here,
-- where it enters: a bad value is a failure of that target, never an error
-- raised into the caller's script.
local function check_target(host, port)
	if type(host) ~= "string" or #host == 0 or #host > 253
		or not (host:match("^[%w%.%-_]+$") or host:match("^[%x:%.]+$")) then
		return nil, "an invalid host: " .. tostring(host)
	end
	if math_type(port) ~= "integer" or port < 1 or port > 65535 then
		return nil, "an invalid port: " .. tostring(port)
	end
	return true
end

-- "host", "host:port", "[v6]" or "[v6]:port" (RFC 6120 §4.9.3.19): the
-- target, or nil and why not.
local function parse_other_host(other, current)
	if type(other) ~= "string" then return nil, "an invalid see-other-host" end
	local host, port = other:match("^%[(.+)%]:(%d+)$")
	if not host then host = other:match("^%[(.+)%]$") end
	if not host then host, port = other:match("^([^:]+):(%d+)$") end
	if not host then host = other:match("^[^:]+$") end
	if port then
		port = tointeger(tonumber(port)) or -1
	else
		port = current.direct_tls and current.port or 5222
	end
	local ok, why = check_target(host, port)
	if not ok then return nil, "see-other-host to " .. why end
	return { host = host, port = port, direct_tls = current.direct_tls }
end

-- One target: transport, stream, negotiation, until ready or failed.
local function attempt(self, target, deadline)
	local valid, why = check_target(target.host, target.port)
	if not valid then return nil, why, "bad-target" end
	local t, err, code = self.opts.transport.connect(target.host, target.port, deadline,
		{ resolver = self.given.resolver, clock = self.clock })
	if not t then return nil, err, code end
	self.generation = self.generation + 1
	self.attempt_target = target
	self.t, self.unsent, self.other_host, self.failure = t, "", nil, nil
	self.sm_offered, self.sm_resumed, self.sm_out, self.sm_in = false, false, false, false
	self.sm_last = { resumed = false, acked = 0, resent = 0 }
	self.phase = "connecting"
	local ok, conn = pcall(self.role.stream, self, target)
	if not ok then
		teardown(self)
		self.phase = "failed"
		error(conn, 0)
	end
	self.conn = conn
	self.last_sent, self.last_received, self.probe_sent = self.clock.now(), self.clock.now(), nil
	-- ready once bound and, where stream management was asked for, enabled or refused
	wait_for(self, function()
		return self.phase ~= "connecting" and not (self.phase == "ready" and self.sm_out and not self.sm_in)
	end, deadline)
	if self.phase == "ready" then
		return true
	end
	if self.phase == "connecting" then
		teardown(self)
		self.phase = "failed"
		return nil, "timed out while negotiating the stream", "timeout"
	end
	-- failed, or closed by the application meanwhile (another coroutine)
	local f = self.failure or { message = "closed by the application", code = "closed" }
	return nil, f.message, f.code, f.other_host
end

-- Where the server asked us to resume its session (XEP-0198 §5: the
-- location of <enabled/>, "host", "host:port" or "[v6]:port"), tried
-- before the usual targets; nil when there is no session to resume or the
-- location is not a valid target. The certificate is still checked against
-- our domain.
local function resume_location(self)
	local session = self.sm_session
	if not (session and session.resumable and session.location) then return nil end
	local given = self.given
	return (parse_other_host(session.location, { direct_tls = given.direct_tls, port = given.port }))
end

-- Resolves and tries each target until one is ready: true, or nil,
-- message, code.
local function establish(self, deadline)
	local o = self.opts
	local targets, err, code = self.role.targets(self, deadline)
	if not targets then return nil, err, code end
	local location = resume_location(self)
	if location then table.insert(targets, 1, location) end
	local failures, redirects, last = {}, 0, nil
	local i = 1
	while targets[i] do
		local target = targets[i]
		if deadline and self.clock.now() >= deadline then
			code, last = "timeout", nil
			failures[#failures + 1] = "timed out"
			break
		end
		local ok, message, why, other = attempt(self, target, min_deadline(deadline, self.clock.now() + o.attempt_timeout))
		if ok then
			self.target = target
			return true
		end
		if self.phase == "closed" then return nil, message, why end
		local where = tostring(target.host)
		if where:find(":", 1, true) then where = "[" .. where .. "]" end
		local next_target, bad
		if other then
			next_target, bad = parse_other_host(other, target)
			if bad then message = message .. " (" .. bad .. ", not followed)" end
		end
		last, code = message, why
		failures[#failures + 1] = where .. ":" .. tostring(target.port) .. ": " .. message
		if other then
			if next_target and redirects < o.max_redirects then
				redirects = redirects + 1
				table.insert(targets, i + 1, next_target)
			end
		elseif self.role.final(code) then
			return nil, message, code
		end
		i = i + 1
	end
	if #failures == 1 and last then return nil, last, code end
	return nil, table.concat(failures, "; "), code
end

function reconnect_delay(self)
	local r = self.opts.reconnect
	local full = math.min(r.max_delay, r.delay * 2 ^ (self.attempts or 0))
	return full / 2 + math.random() * full / 2 -- "equal jitter"
end

function reconnect_step(self, deadline)
	local t = self.clock.now()
	if t < self.reconnect_at then
		local until_ = min_deadline(min_deadline(deadline, self.reconnect_at), self.sched:next_deadline())
		self.clock.wait(until_)
		return
	end
	local ok, message, code = establish(self, deadline)
	if self.phase == "closed" then return end -- closed by the application meanwhile
	if ok then
		self.attempts = 0
		if self.sm_resumed then -- the session goes on: its presence too
			flush(self, deadline)
			emit(self, "resumed", self.jid, self.sm_last)
			return
		end
		self.role.reestablish(self)
		flush(self, deadline)
		emit(self, "reconnected", self.jid, self.sm_last)
		return
	end
	if deadline and self.clock.now() >= deadline and code == "timeout" then
		self.phase, self.reconnect_at = "reconnecting", self.clock.now() -- cut short by the caller: not an attempt
		return
	end
	self.attempts = self.attempts + 1
	if self.role.final(code) or self.attempts >= self.opts.reconnect.attempts then
		self.phase = "closed"
		self.tls_kept = nil
		self.failure = { message = message, code = code }
		sm_give_up(self, "closed")
		emit(self, "disconnected", message, code, false)
		return
	end
	self.phase = "reconnecting"
	local delay = reconnect_delay(self)
	self.reconnect_at = self.clock.now() + delay
	emit(self, "retrying", message, code, delay) -- a component's domain still held: "conflict"
end

-- The first connection. With `reconnect`, a refusal the role retries
-- (role.retry: a component's domain the server still holds) is tried again
-- after the reconnection's backoff, within the deadline.
local function first_connection(self, deadline)
	local r = self.opts.reconnect
	self.attempts = 0
	while true do
		local ok, message, code = establish(self, deadline)
		if ok or self.phase == "closed" or not (r and self.role.retry[code]) then return ok, message, code end
		local at = self.clock.now() + reconnect_delay(self)
		self.attempts = self.attempts + 1
		if self.attempts >= r.attempts or (deadline and at >= deadline) then
			return nil, ("%s (%d attempts)"):format(message, self.attempts), code
		end
		self.clock.wait(at)
	end
end

-- Each role's metatable: the client's methods under the role's name.
local metatables = setmetatable({}, { __mode = "k" })

local function metatable_of(role)
	local m = metatables[role]
	if not m then
		m = {}
		for k, v in pairs(mt) do m[k] = v end
		m.__name = role.name
		metatables[role] = m
	end
	return m
end

---What differs between the callers of one connection object (an account
---here, an external component in lxmpp.component): data, so that the
---machinery of this module serves both.
---@class lxmpp.client.role
---@field name string the objects' type name ("lxmpp.client")
---@field options fun(opts: table, o: table) checks the role's own options (jid, credentials...) into o: o.domain, o.bare (the account), o.full (the JID asked for), o.sm, o.tls
---@field stream fun(self: lxmpp.client, target: table): lxmpp.stream.connection the connection of one attempt
---@field targets fun(self: lxmpp.client, deadline: number?): table[]|nil, string?, string? where to connect, in order ({ host =, port =, direct_tls = })
---@field ready fun(self: lxmpp.client, jid: string): string|nil, string? the JID of a ready stream, checked (nil and why: it fails)
---@field reestablish fun(self: lxmpp.client) what a reconnection sends again (the client: its presence)
---@field outgoing? fun(self: lxmpp.client, stanza: table): true|nil, string?, string? checks (and completes) each stanza sent
---@field final fun(code: string): boolean a failure after which neither another target nor a reconnection helps
---@field retry table<string, boolean> failures that the first connection retries with backoff (with `reconnect`)

-- Connects; a bad option is raised at stack `level` (the user's call).
-- Its callers keep their frames (no tail calls): PUC 5.1 counts a tail
-- call as a frame without a line.
local function open(role, opts, level)
	local checked, o = pcall(check_options, role, opts)
	if not checked then
		if getmetatable(o) ~= option_error_mt then error(o, 0) end
		error(role.name .. ": " .. o.message, level)
	end
	local self = setmetatable({
		role = role,
		given = opts, opts = o, account = o.bare, phase = "new", generation = 0, clock = o.clock,
		queue = { first = 1, last = 0, bytes = 0 }, inbox = { first = 1, last = 0 }, inbox_bytes = 0,
		workers = 0, rounds = 0, pending = {}, requests = {}, unsent = "",
		handlers = { message = {}, presence = {}, iq = {} }, next_id = 0,
		filters = { incoming = {}, outgoing = {} }, extensions = {},
		id_prefix = ("%08x"):format(math.random(0, 0x7fffffff)),
	}, metatable_of(role))
	self.sched = tasks.new(function(message) handler_failed(self, message) end, o.clock)
	if opts.resume then
		local o_sm = o.sm
		local restored, why = sm.restore(opts.resume, { clock = o.clock, max_unacked = o_sm.max_unacked,
			max_unacked_bytes = o_sm.max_unacked_bytes, request_after = o_sm.request_after,
			request_interval = o_sm.request_interval })
		local full = type(opts.resume.jid) == "string" and jid_util.prep(opts.resume.jid)
		if not restored or type(opts.resume.id) ~= "string" or not full
			or select(3, jid_util.split(full)) == nil or jid_util.bare(full) ~= o.bare then
			return nil, "option 'resume': " .. (why or "not a session of " .. o.bare), "bad-resume-state"
		end
		self.sm, self.jid = restored, full
		self.sm_session = { id = opts.resume.id, location = opts.resume.location, resumable = true }
	end
	local ok, message, code = first_connection(self, deadline_of(self, o.timeout))
	if not ok then
		self.phase = "closed"
		return nil, message, code
	end
	return self
end

---Connects an object of the given role (lxmpp.component uses it; an
---application calls client.connect).
---@param role lxmpp.client.role
---@param opts table the options of client.connect, and the role's
---@param depth? integer the caller's own frames between its caller and this call (0)
---@return lxmpp.client|nil c ready
---@return string? message
---@return string? code
function client.open(role, opts, depth)
	local c, message, code = open(role, opts, 3 + (depth or 0))
	return c, message, code
end

-- An account's role: RFC 6120 to the domain's targets (SRV, STARTTLS or
-- direct TLS), SASL and bind.
local ACCOUNT = {
	name = "lxmpp.client",
	options = account_options,
	stream = function(self, target) return stream.client(stream_options(self, target)) end,
	targets = function(self, deadline)
		local given = self.given
		return resolve.targets(self.opts.domain, deadline, {
			host = given.host, port = given.port, direct_tls = given.direct_tls,
			resolver = given.resolver, clock = self.clock,
		})
	end,
	ready = function(_, jid) return jid end, -- the core accepts only a JID of our account
	reestablish = function(self)
		if self.current_presence and not self.presence_resent then submit(self, self.current_presence) end
		self.presence_resent = nil
	end,
	final = is_final,
	retry = {},
}

-- client.connect(opts) -> a ready client | nil, message, code
---@param opts table jid, password, host, port, tls, resource, transport... (docs/client.md)
---@return lxmpp.client|nil c ready: TLS, SASL and bind done
---@return string? message
---@return string? code
function client.connect(opts)
	local c, message, code = open(ACCOUNT, opts, 3)
	return c, message, code
end

---------------------------------------------------------------------------
-- the API

---@return string id unique on this client
function methods:new_id()
	self.next_id = self.next_id + 1
	return self.id_prefix .. "-" .. self.next_id
end

---@return string phase "ready", "reconnecting", "closing", "closed"...
function methods:state()
	return self.phase
end

---@return table|nil info version, cipher... of the current TLS session
function methods:tls_info()
	return self.conn and self.conn:tls_info()
end

-- c:sm_state() -> a plain table (id, location, jid, the counters, the
-- unacknowledged stanzas as XML) for client.connect{ resume = }, or nil
-- when no session can be resumed. Serialize it as you like.
---@return table|nil
function methods:sm_state()
	local session = self.sm_session
	if not (self.sm and session and session.resumable) then return nil end
	return self.sm:state { id = session.id, location = session.location, jid = self.jid }
end

-- c:sm_report() -> what the last connection did with stream management:
-- { resumed = bool, acked = n (acknowledged by the resumption and since),
-- resent = n, returned = { xml... } (the "return" policy) }, or nil.
---@return table|nil
function methods:sm_report()
	return self.sm_last
end

local function run_on_ack(_, fn, ok, why)
	fn(ok, why)
end

local function send_one(self, stanza, timeout, on_ack)
	if stanza.name == "iq" and (stanza.attr.type == "result" or stanza.attr.type == "error") then
		local key = request_key(jid_key(stanza.attr.to) or stanza.attr.to, stanza.attr.id)
		self.requests[key] = nil -- a request answered by its handler
	end
	local kept = self.sm_out and self.sm_session ~= nil and self.opts.reconnect ~= nil
	local ok, err, code = submit(self, stanza, on_ack)
	if not ok then return nil, err, code end
	ok, err, code = flush(self, deadline_of(self, timeout or self.opts.timeout))
	-- a stanza kept for the resumption is on its way, written or not
	if not ok and kept and self.phase == "reconnecting" then return true end
	return ok, err, code
end

-- c:send(stanza [, timeout | opts]) -> true | nil, message, code. opts:
-- timeout (to write it), on_ack = function(acknowledged, why) (run as a
-- handler once the server acknowledged the stanza: true; or once it cannot
-- be: false and "no-sm", "not-resumed" or "closed"), ack_timeout (seconds:
-- return once the server acknowledged it, or nil, message, "timeout").
-- While reconnecting, a stream-managed session keeps the stanza for the
-- resumption (true); without stream management: nil, message, "not-connected".
---@param stanza table
---@param opts? number|{ timeout: number?, on_ack: fun(ok: boolean, why: string?)?, ack_timeout: number? }
---@return true|nil ok
---@return string? message
---@return string? code
function methods:send(stanza, opts)
	if not st.is_stanza(stanza) then misuse(self, "send takes a stanza") end
	if type(opts) ~= "table" then return send_one(self, stanza, opts) end
	local fn = opts.on_ack
	if fn ~= nil and type(fn) ~= "function" then misuse(self, "option 'on_ack' is a function") end
	local on_ack = fn and function(ok, why) inbox_push(self, 0, run_on_ack, fn, ok, why) end
	if not opts.ack_timeout then return send_one(self, stanza, opts.timeout, on_ack) end
	local ack_deadline = deadline_of(self, opts.ack_timeout)
	if not (self.sm_out or sm_between(self)) then
		return nil, "the server does not acknowledge stanzas (no stream management)", "no-sm"
	end
	local slot = {}
	local ok, err, code = send_one(self, stanza, opts.timeout, function(acked, why)
		slot.done, slot.acked, slot.why = true, acked, why
		self.sched:wake(slot)
		if on_ack then on_ack(acked, why) end
	end)
	if not ok and code ~= "timeout" then return nil, err, code end
	if self.sm_out and self.phase == "ready" then -- ask now rather than by the policy
		request_ack(self)
		flush(self, ack_deadline)
	end
	if not wait_for(self, function() return slot.done end, ack_deadline, slot) then
		return nil, "no acknowledgement from the server in time", "timeout"
	end
	if not slot.acked then return nil, "the server did not acknowledge the stanza (" .. slot.why .. ")", slot.why end
	return true
end

-- Why the client is closed: nil, message, code.
local function closed_result(self)
	if self.failure then return nil, self.failure.message, self.failure.code end
	return nil, "the stream is closed", "closed"
end

-- c:receive([timeout]) -> stanza | nil (nothing yet) | nil, message, code
---@param timeout? number seconds; 0: only what is there
---@return lxmpp.stanza|nil stanza nil: nothing yet, or (with message and code) the stream ended
---@return string? message
---@return string? code
function methods:receive(timeout)
	local deadline = deadline_of(self, timeout)
	local queue = self.queue
	wait_for(self, function()
		return queue.first <= queue.last or self.phase == "closed"
	end, deadline)
	local stanza = from_queue(self)
	if stanza then return stanza end
	if self.phase == "closed" then return closed_result(self) end
	return nil
end

-- c:step([timeout]) -> true | nil, message, code: one round of the pump
-- (timers, output, one read within the timeout, the handlers), or, when
-- another coroutine pumps, the end of its round. For a loop of one's own.
---@param timeout? number seconds
---@return true|nil ok
---@return string? message
---@return string? code
function methods:step(timeout)
	if self.phase == "closed" then return closed_result(self) end
	local rounds = self.rounds
	wait_for(self, function() return self.rounds > rounds end, deadline_of(self, timeout))
	if self.phase == "closed" then return closed_result(self) end
	return true
end

-- for stanza in c:stanzas() do ... end: ends when the stream closes
-- cleanly; raises on a failure.
function methods:stanzas()
	return function()
		local stanza, err, code = self:receive()
		if stanza then return stanza end
		if code == "closed" then return nil end
		error(("lxmpp.client: %s (%s)"):format(err, code), 2)
	end
end

-- c:iq(stanza [, timeout]) -> result | nil, message, code [, error stanza]
---@param stanza lxmpp.stanza an iq of type get or set
---@param timeout? number seconds
---@return lxmpp.stanza|nil result
---@return string? message
---@return string? code
---@return lxmpp.stanza? error the error reply, if there was one
function methods:iq(stanza, timeout)
	if not st.is_stanza(stanza) or stanza.name ~= "iq"
		or (stanza.attr.type ~= "get" and stanza.attr.type ~= "set") then
		misuse(self, "iq takes an iq stanza of type get or set")
	end
	local deadline = deadline_of(self, timeout or self.opts.timeout)
	local id = stanza.attr.id
	if not id then
		id = self:new_id()
		stanza.attr.id = id
	end
	if self.pending[id] then misuse(self, "an iq with id '" .. id .. "' is already waiting for its answer") end
	local ok, err, code = submit(self, stanza)
	if not ok then return nil, err, code end
	local slot = { to = jid_key(stanza.attr.to) }
	self.pending[id] = slot
	flush(self, deadline)
	local answered = wait_for(self, function() return slot.done end, deadline, slot)
	if self.pending[id] == slot then self.pending[id] = nil end
	if not answered then return nil, "no answer to iq " .. id .. " in time", "timeout" end
	local reply = slot.reply
	if not reply then return nil, slot.message, slot.code end
	if reply.attr.type == "result" then return reply end
	local _, condition, text = reply:get_error()
	condition = condition or "undefined-condition"
	return nil, condition .. (text and (": " .. text) or ""), condition, reply
end

-- c:ping([to [, timeout]]) -> round-trip seconds | nil, message, code
---@param to? string the server by default
---@param timeout? number
---@return number|nil seconds the round trip
---@return string? message
---@return string? code
function methods:ping(to, timeout)
	local started = self.clock.now()
	local ping = st.iq({ type = "get", to = to or self.opts.domain, id = self:new_id() }):tag("ping", { xmlns = NS_PING })
	local ok, err, code = self:iq(ping, timeout)
	if not ok then return nil, err, code end
	return self.clock.now() - started
end

-- A function that removes fn from list (of handlers, or filters).
local function remover(list, fn)
	return function()
		for i, f in ipairs(list) do
			if f == fn then
				table.remove(list, i)
				return
			end
		end
	end
end

-- c:on(kind, fn) -> a function that removes the handler
---@param kind string "message", "presence", "iq", "error"...
---@param fn function
---@return lxmpp.client self
function methods:on(kind, fn)
	if type(kind) ~= "string" or type(fn) ~= "function" then misuse(self, "on takes a kind and a function") end
	local list = self.handlers[kind]
	if not list then
		list = {}
		self.handlers[kind] = list
	end
	list[#list + 1] = fn
	return remover(list, fn)
end

---Enables an extension (lxmpp.ext.<name>, or a module { name =, init = })
---once on this client and returns its object (docs/extensions.md).
---@param e string|table the extension's name or module
---@param opts? table its options, given the first time only
---@return any extension
function methods:use(e, opts)
	return require("lxmpp.ext").use(self, e, opts)
end

---Adds a filter: "incoming" filters see each stanza as it arrives, before
---the handlers and receive() (they must not wait); "outgoing" filters see
---(and may change) each stanza as it is sent. For extensions.
---@param direction "incoming"|"outgoing"
---@param fn fun(stanza: table, c: table)
---@return fun() remove removes the filter
function methods:filter(direction, fn)
	local list = self.filters[direction]
	if not list or type(fn) ~= "function" then misuse(self, "filter takes \"incoming\" or \"outgoing\" and a function") end
	list[#list + 1] = fn
	return remover(list, fn)
end

-- c:loop([timeout]) -> true (closed cleanly) | nil (the timeout passed) |
-- nil, message, code: runs the handlers until the stream ends.
---@param timeout? number seconds; nil: until the stream ends
---@return true|nil ended true when it closed cleanly; nil at the timeout
---@return string? message
---@return string? code
function methods:loop(timeout)
	wait_for(self, function() return self.phase == "closed" end, deadline_of(self, timeout))
	if self.phase ~= "closed" then return nil end
	if self.failure then return closed_result(self) end
	return true
end

-- c:close([timeout]) -> true when the server closed its stream too |
-- nil, message, code. Idempotent.
---@param timeout? number seconds the closing handshake may take
---@return true|nil closed
---@return string? message
---@return string? code
function methods:close(timeout)
	if self.phase == "closed" or self.phase == "closing" then return true end
	local deadline = deadline_of(self, timeout or self.opts.close_timeout)
	self.tls_kept = nil -- no connection follows
	if self.phase ~= "ready" then -- reconnecting
		teardown(self)
		self.phase = "closed"
		fail_waiters(self, "the stream is closed", "closed")
		-- the session stays resumable from c:sm_state(), but this client
		-- will see no acknowledgement: its callers are told now
		if self.sm then settle(self.sm:unacked(), false, "closed") end
		self.sched:run()
		return true
	end
	self.phase = "closing"
	self.peer_closed = false
	if self.sm_out and self.sm:count() > 0 then request_ack(self) end -- the server answers before its </stream:stream>
	self.conn:close()
	flush(self, deadline)
	wait_for(self, function() return self.phase == "closed" end, deadline)
	if self.phase ~= "closed" then
		teardown(self)
		self.phase = "closed"
		fail_waiters(self, "the stream is closed", "closed")
		return nil, "the server did not close its stream in time", "timeout"
	end
	if self.peer_closed then
		self.failure = nil
		return true
	end
	return nil, self.failure and self.failure.message or "the stream ended badly",
		self.failure and self.failure.code or "closed"
end

mt.__close = function(self)
	self:close()
end

function mt:__tostring()
	return ("%s (%s%s)"):format(getmetatable(self).__name, self.phase, self.jid and (", " .. self.jid) or "")
end

-- Pollable: compose with cqueues.poll or another loop, then call
-- c:receive(0) (or any call with a zero timeout) when it is ready.
---@return integer|nil fd
function methods:pollfd()
	return self.t and self.t:pollfd()
end

-- "r" only while the client will read: with its inbox over the bound it
-- reads nothing (see pump), and a poller told "r" would spin on receive(0).
---@return string events "r" or "rw"
function methods:events()
	local pending = #self.unsent > 0 or (self.conn and self.conn:pending() > 0)
	local reading = not inbox_full(self)
	return (reading and "r" or "") .. (pending and "w" or "")
end

---@return number|nil seconds until something is due
function methods:timeout()
	local due = min_deadline(timers_due(self), self.sched:next_deadline())
	if self.phase == "reconnecting" then due = min_deadline(due, self.reconnect_at) end
	return due and math.max(0, due - self.clock.now())
end

---------------------------------------------------------------------------
-- sugar

---@param to string
---@param body string
---@param kind? string "chat" by default
---@return true|nil ok
---@return string? message
---@return string? code
function methods:message(to, body, kind)
	return self:send(st.message({ to = to, type = kind or "chat" }, body))
end

-- c:presence{ show =, status =, priority =, to =, type = }: without `to`
-- and `type`, our presence, sent again after a reconnection.
---@param opts? { show?: string, status?: string, priority?: integer, to?: string, type?: string }
---@return true|nil ok
---@return string? message
---@return string? code
function methods:presence(opts)
	opts = opts or {}
	local p = st.presence({ to = opts.to, type = opts.type })
	if opts.show then p:text_tag("show", opts.show) end
	if opts.status then p:text_tag("status", opts.status) end
	if opts.priority then p:text_tag("priority", tostring(tointeger(opts.priority) or opts.priority)) end
	if not opts.to and (opts.type == nil or opts.type == "unavailable") then
		self.current_presence = (opts.type == nil) and p or false -- false: set unavailable
	end
	return self:send(p)
end

---@param to string
---@return true|nil ok
function methods:subscribe(to) return self:send(st.presence({ to = to, type = "subscribe" })) end
---@param to string
---@return true|nil ok
function methods:unsubscribe(to) return self:send(st.presence({ to = to, type = "unsubscribe" })) end
---@param to string
---@return true|nil ok
function methods:approve(to) return self:send(st.presence({ to = to, type = "subscribed" })) end
---@param to string
---@return true|nil ok
function methods:deny(to) return self:send(st.presence({ to = to, type = "unsubscribed" })) end

return client

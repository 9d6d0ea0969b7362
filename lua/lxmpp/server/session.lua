-- lxmpp.server.session: one client connection of lxmpp.server: its
-- lxmpp.stream connection, its socket (a bare lxmpp.core.fd: the
-- connection does the buffering), and the coroutines that move bytes
-- between them: a reader that feeds the connection and runs the handlers
-- of what arrived, one stanza after another, and a writer that writes what
-- is pending, which runs only while there is output (an idle session keeps
-- one coroutine, the reader's). A session has Prosody's fields for plugins:
-- type ("c2s_unauthed", then "c2s"), username, host, resource, full_jid,
-- ip, presence, priority, and send(stanza).
local cqueues = require "cqueues"
local condition = require "cqueues.condition"
local xpcall = require("lxmpp.compat").xpcall
local smlib = require "lxmpp.server.sm"

---@class lxmpp.server.sessionlib
local session = {}

local READ_SIZE = 16384

---@class lxmpp.server.session
---@field type string "c2s_unauthed" or "c2s"
---@field username string|nil
---@field host string|nil
---@field resource string|nil
---@field full_jid string|nil
---@field ip string
---@field presence table|nil the last available presence broadcast
---@field priority integer
---@field send fun(stanza: table): boolean
local methods = {}
local mt = { __name = "lxmpp.server.session", __index = methods }
session.methods = methods

function mt:__tostring()
	return ("lxmpp.server.session %s [%s]"):format(self.full_jid or self.username or "-", self.ip or "?")
end

---@param srv table the lxmpp.server
---@param fd userdata the socket, an lxmpp.core.fd (the session closes it)
---@param conn lxmpp.stream.connection
---@param ip string the client's address
---@return lxmpp.server.session
function session.new(srv, fd, conn, ip)
	local self = setmetatable({
		srv = srv, conn = conn, fd = fd, ip = ip, type = "c2s_unauthed", running = 1,
		priority = 0, rcond = condition.new(),
		tokens = srv.limits.read_burst, refilled = srv.now(), last_read = srv.now(),
	}, mt)
	self.send = function(stanza) return self:deliver(stanza) end
	return self
end

local function over(conn)
	local state = conn:state()
	return state == "closed" or state == "failed"
end

-- The connection's input contract in one place: it takes every byte, then
-- the events do the work (running their handlers, which answer the
-- connection's questions before the next event is pulled). A peer's fault
-- makes receive_bytes fail after its events, "closed" the last of them.
---@param data string bytes read
function methods:feed(data)
	self.conn:receive_bytes(data)
	self:drain()
end

-- Runs the handlers of every queued event, then wakes the writer.
---@return any
function methods:drain()
	for ev in self.conn:events() do self.srv:on_event(self, ev) end
	self:wake_writer()
end

-- Waits while the read rate limit is used up (a token bucket in bytes,
-- refilled on the server's clock; the server's tick wakes us).
function methods:throttle()
	local srv = self.srv
	local limits = srv.limits
	while true do
		local now = srv.now()
		self.tokens = math.min(limits.read_burst, self.tokens + (now - self.refilled) * limits.read_rate)
		self.refilled = now
		if self.tokens > 0 or self.gone then break end
		if not srv.throttled[self] then
			srv.throttled[self] = true
			if srv.wake then srv.wake:signal() end -- the tick learns when to wake us
		end
		self.rcond:wait()
	end
	srv.throttled[self] = nil
end

-- Reads what has arrived, waiting for more (or a signal on rcond). Returns
-- the bytes, or nil and "eof", "gone" (abort() was called) or an errno.
---@return string|nil bytes
---@return string? why "eof", "gone" or the system's message
function methods:read()
	local fd = self.fd
	while true do
		if self.gone then return nil, "gone" end
		local data, why = fd:read(READ_SIZE)
		if data then return data end
		if why ~= "again" then return nil, why end
		cqueues.poll(fd, self.rcond)
	end
end

-- Writes all of out, waiting while the client does not read (or until
-- abort()). Returns true, or nil.
---@param out string
---@return boolean|nil ok
function methods:write(out)
	local fd, i, writable = self.fd, 1, nil
	while i <= #out do
		if self.aborted then return nil end
		local n = fd:write(out, i)
		if not n then return nil end
		i = i + n
		if i <= #out then
			writable = writable or { pollfd = fd:pollfd(), events = "w" }
			cqueues.poll(writable, self.wcond)
		end
	end
	return true
end

-- Runs one of the session's loops (or its end) and returns what it
-- returned; a failure in it (a bug, a plugin's misuse of the connection)
-- ends this session, logged, not the server.
local function guarded(self, loop)
	local ok, result = xpcall(loop, debug.traceback, self)
	if ok then return result end
	self.srv:log("error", "%s: %s", tostring(self), tostring(result))
	self.aborted = true
end

local function forget(self)
	self.srv:forget(self)
end

-- Both coroutines end through here; the last one closes the socket
-- (never while the other waits on it) and tells the server, guarded: what
-- runs there (stream management, plugins' "resource-unbind" handlers,
-- the log) must not end the server's loop with this session.
function methods:finished()
	self.gone = true
	self.running = self.running - 1
	if self.running > 0 then
		if self.wcond then self.wcond:signal() end
		self.rcond:signal()
		return
	end
	cqueues.cancel(self.fd:pollfd())
	self.fd:close()
	guarded(self, forget)
end

local function read_loop(self)
	local conn = self.conn
	self:drain() -- a direct TLS connection has nothing yet; a refused one, its error
	while not over(conn) and not self.gone do
		self:throttle()
		local data, why = self:read()
		if not data then
			if why == "eof" and not over(conn) then
				conn:receive_eof()
				self:drain()
			end
			break
		end
		self.tokens = self.tokens - #data
		self.last_read, self.trimmed = self.srv.now(), false
		self:feed(data)
		-- a stream header in pieces (a slowloris's, which is never idle for
		-- long): the parser waits for the rest without expat, the bytes so
		-- far replayed at the next piece in microseconds
		if not self.opened then self.trimmed = conn:trim() end
		-- let the others run (the writers of what we routed, too) before
		-- reading more: a busy client cannot starve the server
		cqueues.sleep(0)
	end
end

function methods:reader()
	guarded(self, read_loop)
	self:finished()
end

-- Writes until there is nothing left, then ends (wake_writer starts it
-- again). Once the connection is over or the session gone, or when a write
-- fails, the reader stops too. A write that waits longer than
-- limits.write_timeout (on the server's clock, see srv:tick) ends the
-- session: a client that stops reading holds at most max_output bytes,
-- that long.
local function write_loop(self)
	local conn, srv = self.conn, self.srv
	while true do
		local out = conn:take_output()
		if out then
			self.writing_since = srv.now()
			srv:wake_at(self.writing_since + srv.limits.write_timeout)
			local ok = self:write(out)
			self.writing_since = nil
			if not ok then break end
		elseif self.gone or over(conn) then
			break
		else
			return "idle"
		end
	end
	self.aborted = true
end

function methods:writer()
	if guarded(self, write_loop) == "idle" then
		self.wcond = nil -- the next output starts a new writer
		self.running = self.running - 1
	else
		self:finished()
	end
end

-- Wakes the writer where it waits for the socket, or starts one when
-- there is output.
function methods:wake_writer()
	if self.wcond then
		self.wcond:signal()
	elseif self.running > 0 and (self.conn:want_write() or over(self.conn)) then
		self.wcond = condition.new()
		self.running = self.running + 1
		self.srv.cq:wrap(self.writer, self)
	end
end

-- What belongs to a connection, not to the session it carries: a resumed
-- session (XEP-0198) keeps the new connection's and takes every other
-- field (plugins' too) from the old session.
local CONNECTION_FIELDS = {
	srv = true, conn = true, fd = true, ip = true, running = true, wcond = true, rcond = true,
	tokens = true, refilled = true, send = true, gone = true, aborted = true, closed_at = true,
	writing_since = true, deadline = true, auth_deadline = true, last_read = true, trimmed = true,
	opened = true, authenticated = true,
}

--- Takes over the session `old` (XEP-0198 resumption): its fields, except
--- what belongs to its connection.
---@param old lxmpp.server.session
function methods:take_over(old)
	for k, v in pairs(old) do
		if not CONNECTION_FIELDS[k] then self[k] = v end
	end
end

--- Queues a stanza for this session's client. false when the session is
--- not ready or gone; a client that reads too slowly to take what is sent
--- to it is disconnected with policy-violation. With stream management,
--- lxmpp.server.sm delivers (and keeps) it.
---@param stanza table
---@return boolean
function methods:deliver(stanza)
	if self.sm then return smlib.deliver(self, stanza) end
	local conn = self.conn
	if self.gone or conn:state() ~= "ready" then return false end
	local ok, _, code = conn:send(stanza)
	if not ok then return self:refused(code) end
	self:wake_writer()
	return true
end

--- After the connection refused output: a client too slow to take what
--- is sent to it (the core's queue is full) is disconnected.
---@param code string the refusal's code
---@return false
function methods:refused(code)
	if code == "queue-full" then self:close("policy-violation", "too much unsent output: the client does not read") end
	return false
end

--- Ends the session: a stream error with `cond` (and `text`), or a
--- clean close without one.
---@param cond? string
---@param text? string
function methods:close(cond, text)
	local conn = self.conn
	self.srv:unregister(self)
	if not over(conn) and conn:state() ~= "closing" then
		if cond then
			conn:stream_error(cond, text)
		else
			conn:close()
		end
	end
	if not self.closed_at then
		self.closed_at = self.srv.now()
		self.srv:wake_at(self.closed_at + self.srv.limits.close_timeout)
	end
	self:wake_writer()
end

-- Stops both coroutines without another word; the socket is closed.
function methods:abort()
	self.gone, self.aborted = true, true
	if self.wcond then self.wcond:signal() end
	self.rcond:signal()
end

return session

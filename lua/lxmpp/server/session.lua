-- lxmpp.server.session: one client connection of lxmpp.server: its
-- lxmpp.stream connection, its socket, and the two coroutines that move
-- bytes between them (a reader that feeds the connection and runs the
-- handlers of what arrived, one stanza after another, and a writer that
-- writes what is pending). A session has Prosody's fields for plugins:
-- type ("c2s_unauthed", then "c2s"), username, host, resource, full_jid,
-- ip, presence, priority, and send(stanza).
local cqueues = require "cqueues"
local condition = require "cqueues.condition"
local transport = require "lxmpp.transport.cqueues"

local session = {}

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

---@return lxmpp.server.session
function session.new(srv, sock, conn, ip)
	local self = setmetatable({
		srv = srv, conn = conn, t = transport.wrap(sock), ip = ip, type = "c2s_unauthed",
		priority = 0, wcond = condition.new(), rcond = condition.new(),
		tokens = srv.limits.read_burst, refilled = srv.now(),
	}, mt)
	self.send = function(stanza) return self:deliver(stanza) end
	return self
end

local function over(conn)
	local state = conn:state()
	return state == "closed" or state == "failed"
end

-- The connection's input contract in one place: give it the bytes, take
-- the events (running their handlers), and go on until it took everything
-- and has nothing more to report (TLS may hold decrypted input it could not
-- parse while its event queue was full).
function methods:feed(data)
	local conn, at = self.conn, 1
	while true do
		local n = conn:receive_bytes(at <= #data and data or "", at <= #data and at or nil)
		local events = self:drain()
		if not n then return end
		at = at + n
		if at > #data and events == 0 then return end
	end
end

-- Runs the handlers of every queued event, then wakes the writer.
function methods:drain()
	local n = 0
	for ev in self.conn:events() do
		n = n + 1
		self.srv:on_event(self, ev)
	end
	self.wcond:signal()
	return n
end

-- Waits while the read rate limit is used up (a token bucket in bytes,
-- refilled on the server's clock; the server's tick wakes us).
function methods:throttle()
	local limits, now = self.srv.limits, self.srv.now()
	self.tokens = math.min(limits.read_burst, self.tokens + (now - self.refilled) * limits.read_rate)
	self.refilled = now
	while self.tokens <= 0 and not self.gone do
		self.srv.throttled[self] = true
		self.rcond:wait()
		now = self.srv.now()
		self.tokens = math.min(limits.read_burst, self.tokens + (now - self.refilled) * limits.read_rate)
		self.refilled = now
	end
	self.srv.throttled[self] = nil
end

function methods:reader()
	local conn, t = self.conn, self.t
	self:drain() -- a direct TLS connection has nothing yet; a refused one, its error
	while not over(conn) and not self.gone do
		self:throttle()
		if self.gone then break end
		local ok, data, _, code = pcall(t.read, t, nil)
		if not ok or not data then
			if ok and code == "eof" and not over(conn) then
				conn:receive_eof()
				self:drain()
			end
			break
		end
		self.tokens = self.tokens - #data
		self:feed(data)
	end
	self.gone = true
	self.wcond:signal()
end

function methods:writer()
	local conn, t, limits = self.conn, self.t, self.srv.limits
	while true do
		local out = conn:take_output()
		if out then
			local ok = pcall(t.write, t, out, cqueues.monotime() + limits.write_timeout)
			if not ok then break end
		elseif self.gone or over(conn) then
			break
		else
			self.wcond:wait()
		end
	end
	self.gone = true
	t:close()
	self.rcond:signal()
	self.srv:forget(self)
end

--- Queues a stanza for this session's client. false when the session is
--- not ready or gone; a client that reads too slowly to take what is sent
--- to it is disconnected with policy-violation.
---@param stanza table
---@return boolean
function methods:deliver(stanza)
	local conn = self.conn
	if self.gone or conn:state() ~= "ready" then return false end
	local ok, _, code = conn:send(stanza)
	if not ok then
		if code == "queue-full" then
			self:close("policy-violation", "too much unsent output: the client does not read")
		end
		return false
	end
	self.wcond:signal()
	return true
end

--- Ends the session: a stream error with `cond` (and `text`), or a
--- clean close without one.
---@param cond? string
---@param text? string
function methods:close(cond, text)
	local conn = self.conn
	if not over(conn) and conn:state() ~= "closing" then
		if cond then
			conn:stream_error(cond, text)
		else
			conn:close()
		end
	end
	self.closed_at = self.closed_at or self.srv.now()
	self.wcond:signal()
end

-- Stops both coroutines without another word (the socket is closed).
function methods:abort()
	self.gone = true
	self.wcond:signal()
	self.rcond:signal()
end

return session

-- lxmpp.transport.cqueues: a TCP byte stream on cqueues sockets.
--   transport.connect(host, port, deadline [, opts]) -> t | nil, message, code
--   transport.wrap(socket)                          -> t (an accepted socket)
--   t:read(deadline)         -> bytes | nil, message, code
--   t:write(bytes, deadline) -> true | nil, message, code, bytes_written
--   t:close()
--   t:pollfd(), t:events(), t:timeout(), t:peer()
-- Deadlines are lxmpp.clock times (nil: no limit). Codes: "timeout", "eof"
-- (the peer closed its side), or the errno name ("ECONNREFUSED", ...).
-- When a call would block it waits in cqueues.poll: inside a cqueues
-- controller that yields to the controller, elsewhere it blocks, so the
-- same code serves both. TLS is not done here: the lxmpp connection does
-- it on the bytes. One coroutine at a time may use a transport. See
-- docs/transport.md.
local cqueues = require "cqueues"
local socket = require "cqueues.socket"
local errno = require "cqueues.errno"
local base = require "lxmpp.transport.base"

local NAME = "lxmpp.transport.cqueues"
local EAGAIN, EPIPE, ETIMEDOUT = errno.EAGAIN, errno.EPIPE, errno.ETIMEDOUT
local poll, remaining = cqueues.poll, base.remaining

local READ_SIZE = 16384

---@class lxmpp.transport.cqueues
---@field now fun(): number lxmpp.clock.now
local transport = { now = base.now }

local methods, mt = base.class(NAME, function(sock)
	return select(2, sock:peername())
end)

-- cqueues raises most socket errors by default; here they are results.
local function return_errors(_, _, why)
	return why
end

local function failure(why, what)
	if why == ETIMEDOUT then return nil, what .. ": timed out", "timeout" end
	-- cqueues' address errors are negative; only a malformed literal gets here
	return nil, what .. ": " .. errno.strerror(why), errno[why] or (why < 0 and "invalid-address" or tostring(why))
end

-- Waits until the socket is ready for what it last asked, or the deadline.
-- Returns false when the deadline has passed.
local function wait(self, deadline, events)
	local left = remaining(deadline)
	if left and left <= 0 then return false end
	self.waiting, self.deadline = events, deadline
	poll(self.socket, left)
	self.waiting, self.deadline = nil, nil
	return true
end

---@param sock any a cqueues socket, connected (accepted by a server)
---@return lxmpp.transport t
function transport.wrap(sock)
	sock:setmode("bn", "bn")
	sock:onerror(return_errors)
	return setmetatable({ socket = sock }, mt)
end

-- Connects to each address of `host` in turn, each with an equal share of
-- the time left (lxmpp.transport.base). opts: resolver (see lxmpp.resolve),
-- read_size (bytes per read, default 16384).
---@param host string a name or an IP address
---@param port integer
---@param deadline? number an lxmpp.clock time; nil: no limit
---@param opts? { resolver?: table, read_size?: integer }
---@return lxmpp.transport|nil t
---@return string? message
---@return string? code
function transport.connect(host, port, deadline, opts)
	opts = opts or {}
	return base.connect(NAME, host, port, deadline, opts, function(address, _, seconds)
		local sock = socket.connect { host = address, port = port, mode = "bn", nodelay = true }
		sock:onerror(return_errors)
		local ok, why = sock:connect(seconds)
		if ok then
			local self = transport.wrap(sock)
			self.read_size = opts.read_size
			return self
		end
		sock:close()
		return failure(why, "[" .. address .. "]:" .. port)
	end)
end

---@param deadline? number
---@return string|nil bytes
---@return string? message
---@return string? code "timeout", "eof" or the errno name
function methods:read(deadline)
	local sock = base.open(NAME, self)
	base.check_deadline(NAME, deadline, 2)
	while true do
		local data, why = sock:recv(-(self.read_size or READ_SIZE), "bn")
		if data then return data end
		if why == EAGAIN then
			if not wait(self, deadline, "r") then return nil, "timeout", "timeout" end
		elseif why == nil or why == EPIPE then
			return nil, "connection closed by peer", "eof"
		else
			return failure(why, "read")
		end
	end
end

---@param data string
---@param deadline? number
---@return boolean|nil ok
---@return string? message
---@return string? code
---@return integer? written bytes written before the failure
function methods:write(data, deadline)
	local sock = base.open(NAME, self)
	if type(data) ~= "string" then error("lxmpp.transport.cqueues: data must be a string", 2) end
	base.check_deadline(NAME, deadline, 2)
	local i = 1
	while i <= #data do
		local n, why = sock:send(data, i, #data, "bn")
		i = i + n
		if i <= #data then
			if why ~= EAGAIN then
				local _, message, code = failure(why, "write")
				return nil, message, code, i - 1
			end
			if not wait(self, deadline, "w") then return nil, "timeout", "timeout", i - 1 end
		end
	end
	-- cqueues may hold a tail in its own buffer: push it to the kernel.
	local left = remaining(deadline)
	self.waiting, self.deadline = "w", deadline
	local ok, why = sock:flush("n", left and math.max(left, 0))
	self.waiting, self.deadline = nil, nil
	if not ok then
		local _, message, code = failure(why, "write")
		return nil, message, code, #data - select(2, sock:pending())
	end
	return true
end

-- The address and port of the peer.
---@return string address
---@return integer port
function methods:peer()
	local _, address, port = base.open(NAME, self):peername()
	return address, port
end

---@return integer fd
function methods:pollfd()
	return base.open(NAME, self):pollfd()
end

return transport

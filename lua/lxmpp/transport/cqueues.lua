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
local socket = require "cqueues.socket"
local errno = require "cqueues.errno"
local base = require "lxmpp.transport.base"

local NAME = "lxmpp.transport.cqueues"
local EAGAIN, EPIPE, ETIMEDOUT = errno.EAGAIN, errno.EPIPE, errno.ETIMEDOUT
local remaining = base.remaining

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

-- Waits on the transport's clock until the socket is ready for what it
-- last asked, or the deadline. Returns false when the deadline has passed.
local function wait(self, deadline, events)
	local left = remaining(self.clock, deadline)
	if left and left <= 0 then return false end
	self.waiting, self.deadline = events, deadline
	self.clock.wait(deadline, self.socket)
	self.waiting, self.deadline = nil, nil
	return true
end

-- An accepted socket as a transport; opts.clock (lxmpp.clock by default)
-- measures its deadlines.
---@param sock any a cqueues socket, connected (accepted by a server)
---@param opts? { clock?: table }
---@return lxmpp.transport t
function transport.wrap(sock, opts)
	sock:setmode("bn", "bn")
	sock:onerror(return_errors)
	return setmetatable({ socket = sock, clock = opts and opts.clock or base.clock }, mt)
end

-- Connects to each address of `host` in turn, each with an equal share of
-- the time left (lxmpp.transport.base). opts: resolver (see lxmpp.resolve),
-- read_size (bytes per read, default 16384), clock (lxmpp.clock-shaped).
---@param host string a name or an IP address
---@param port integer
---@param deadline? number an lxmpp.clock time; nil: no limit
---@param opts? { resolver?: table, read_size?: integer, clock?: table }
---@return lxmpp.transport|nil t
---@return string? message
---@return string? code
function transport.connect(host, port, deadline, opts)
	opts = opts or {}
	local c = opts.clock or base.clock
	return base.connect(NAME, c, host, port, deadline, opts, function(address, _, until_)
		local sock = socket.connect { host = address, port = port, mode = "bn", nodelay = true }
		sock:onerror(return_errors)
		local self = transport.wrap(sock, opts)
		self.read_size = opts.read_size
		while true do
			local ok, why = sock:connect(0)
			if ok then return self end
			if why ~= ETIMEDOUT and why ~= EAGAIN then
				sock:close()
				return failure(why, "[" .. address .. "]:" .. port)
			end
			if not wait(self, until_, "w") then
				sock:close()
				return failure(ETIMEDOUT, "[" .. address .. "]:" .. port)
			end
		end
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

-- Writes data. cqueues keeps what the kernel did not take in a buffer of
-- its own; more is handed to it only once that buffer is empty, so that it
-- never grows and "written" counts only bytes that went on (or will go on
-- right after the buffer) while the peer reads.
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
	local handed = 0 -- bytes of data given to cqueues
	while true do
		local flushed, why = sock:flush("n", 0)
		if flushed then
			if handed == #data then return true end
			local n
			n, why = sock:send(data, handed + 1, #data, "bn")
			handed = handed + n
		end
		if why and why ~= EAGAIN and why ~= ETIMEDOUT then
			local _, message, code = failure(why, "write")
			return nil, message, code, handed
		end
		if why and not wait(self, deadline, "w") then return nil, "timeout", "timeout", handed end
	end
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

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
local clock = require "lxmpp.clock"
local resolve = require "lxmpp.resolve"

local EAGAIN, EPIPE, ETIMEDOUT = errno.EAGAIN, errno.EPIPE, errno.ETIMEDOUT
local poll, now = cqueues.poll, clock.now

local READ_SIZE = 16384

local transport = { now = now }

local methods = {}
local mt = {
	__name = "lxmpp.transport.cqueues",
	__index = methods,
}

-- cqueues raises most socket errors by default; here they are results.
local function return_errors(_, _, why)
	return why
end

local function failure(why, what)
	if why == ETIMEDOUT then return nil, what .. ": timed out", "timeout" end
	-- cqueues' address errors are negative; only a malformed literal gets here
	return nil, what .. ": " .. errno.strerror(why), errno[why] or (why < 0 and "invalid-address" or tostring(why))
end

local function remaining(deadline)
	if deadline == nil then return nil end
	return deadline - now()
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

local function check_deadline(deadline)
	if deadline ~= nil and type(deadline) ~= "number" then
		error("lxmpp.transport.cqueues: deadline must be a number (lxmpp.clock time) or nil", 3)
	end
end

local function open(self)
	if not self.socket then error("lxmpp.transport.cqueues: transport is closed", 3) end
	return self.socket
end

function transport.wrap(sock)
	sock:setmode("bn", "bn")
	sock:onerror(return_errors)
	return setmetatable({ socket = sock }, mt)
end

-- Tries each address of `host` in turn (IPv6 and IPv4 interleaved), giving
-- each attempt an equal share of the time left, so that one silent address
-- cannot use up the whole deadline. opts: resolver (see lxmpp.resolve),
-- read_size (bytes per read, default 16384).
function transport.connect(host, port, deadline, opts)
	if type(host) ~= "string" then error("lxmpp.transport.cqueues: host must be a string", 2) end
	if math.type(port) ~= "integer" or port < 1 or port > 65535 then
		error("lxmpp.transport.cqueues: port must be an integer in 1..65535", 2)
	end
	check_deadline(deadline)
	opts = opts or {}
	local addresses, err, code = resolve.addresses(host, deadline, opts)
	if not addresses then return nil, err, code end
	local failures = {}
	for i, address in ipairs(addresses) do
		local left = remaining(deadline)
		if left and left <= 0 then break end
		local share = left and left / (#addresses - i + 1)
		local sock = socket.connect { host = address, port = port, mode = "bn", nodelay = true }
		sock:onerror(return_errors)
		local ok, why = sock:connect(share)
		if ok then
			local self = transport.wrap(sock)
			self.read_size = opts.read_size
			return self
		end
		sock:close()
		local _, message, name = failure(why, "[" .. address .. "]:" .. port)
		failures[#failures + 1] = message
		code = name
	end
	local what = "connect to " .. host .. " port " .. port
	if #failures == 0 then return nil, what .. ": timed out", "timeout" end
	if code == "timeout" then return nil, what .. ": timed out (" .. table.concat(failures, "; ") .. ")", "timeout" end
	return nil, what .. ": " .. table.concat(failures, "; "), code
end

function methods:read(deadline)
	local sock = open(self)
	check_deadline(deadline)
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

function methods:write(data, deadline)
	local sock = open(self)
	if type(data) ~= "string" then error("lxmpp.transport.cqueues: data must be a string", 2) end
	check_deadline(deadline)
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

function methods:close()
	if self.socket then
		self.socket:close()
		self.socket = nil
	end
end

-- The address and port of the peer.
function methods:peer()
	local _, address, port = open(self):peername()
	return address, port
end

-- Pollable (cqueues.poll and other loops): the descriptor, "w" while a
-- write or connect waits and "r" otherwise, and the time left before the
-- deadline of the call in progress.
function methods:pollfd()
	return open(self):pollfd()
end

function methods:events()
	return self.waiting or "r"
end

function methods:timeout()
	local left = remaining(self.deadline)
	return left and math.max(left, 0)
end

mt.__close = methods.close
mt.__gc = methods.close

function mt:__tostring()
	if not self.socket then return "lxmpp.transport.cqueues (closed)" end
	local _, address, port = self.socket:peername()
	return ("lxmpp.transport.cqueues [%s]:%s"):format(address, port)
end

return transport

-- lxmpp.transport.base: what the transports share: argument checks,
-- deadlines, the connect loop over a host's addresses, and the methods that
-- do not touch the socket library. Each transport brings its sockets.
local clock = require "lxmpp.clock"
local resolve = require "lxmpp.resolve"
local math_type = require("lxmpp.compat").math_type

---What every transport object has (lxmpp.transport.cqueues, .luasocket).
---@class lxmpp.transport
---@field socket any the socket; nil once closed
---@field read fun(self: lxmpp.transport, deadline?: number): string|nil, string?, string? bytes, or nil, message, code ("timeout", "eof"...)
---@field write fun(self: lxmpp.transport, data: string, deadline?: number): boolean|nil, string?, string?, integer? true, or nil, message, code, bytes written
---@field close fun(self: lxmpp.transport) idempotent; also __close (and __gc where tables have it)
---@field events fun(self: lxmpp.transport): "r"|"w" for cqueues.poll
---@field timeout fun(self: lxmpp.transport): number|nil seconds left of the call in progress
---@field peer fun(self: lxmpp.transport): string, integer address and port
---@field pollfd fun(self: lxmpp.transport): integer

---@class lxmpp.transport.base
---@field now fun(): number lxmpp.clock.now
---@field clock table lxmpp.clock
local base = { now = clock.now, clock = clock }

-- Seconds left before `deadline` on `c` (an lxmpp.clock), nil for none.
---@param c table an lxmpp.clock
---@param deadline? number
---@return number|nil seconds may be negative; nil without a deadline
function base.remaining(c, deadline)
	if deadline == nil then return nil end
	return deadline - c.now()
end

-- Raises, `level` frames up, unless deadline is a number or nil.
---@param name string the transport's name, for the message
---@param deadline any
---@param level integer
function base.check_deadline(name, deadline, level)
	if deadline ~= nil and type(deadline) ~= "number" then
		error(name .. ": deadline must be a number (lxmpp.clock time) or nil", level + 1)
	end
end

-- The socket of an open transport; raises, for the caller of the method
-- that asks, on a closed one.
---@param name string
---@param self lxmpp.transport
---@return any socket
function base.open(name, self)
	if not self.socket then error(name .. ": transport is closed", 3) end
	return self.socket
end

-- A transport class: its methods table, with close, events and timeout,
-- and its metatable, with __close, __gc and a __tostring that names the
-- peer (peer_of(socket) returns the address and port). A transport object
-- has `socket` (nil once closed), and `waiting` ("r", "w") and `deadline`
-- while a call waits.
---@param name string
---@param peer_of fun(socket: any): string, integer
---@return table methods
---@return table mt
function base.class(name, peer_of)
	local methods = {}
	local mt = { __name = name, __index = methods }

	function methods:close()
		if self.socket then
			self.socket:close()
			self.socket = nil
		end
	end

	-- Pollable: "w" while a write or connect waits and "r" otherwise, and
	-- the time left before the deadline of the call in progress.
	function methods:events()
		return self.waiting or "r"
	end

	function methods:timeout()
		local left = base.remaining(self.clock, self.deadline)
		return left and math.max(left, 0)
	end

	mt.__close = methods.close
	mt.__gc = methods.close
	function mt:__tostring()
		if not self.socket then return name .. " (closed)" end
		return ("%s [%s]:%s"):format(name, peer_of(self.socket))
	end
	return methods, mt
end

-- Connects to `host`: each of its addresses in turn (IPv6 and IPv4
-- interleaved, see lxmpp.resolve), each attempt with an equal share of the
-- time left on clock `c`, so that one silent address cannot use up the
-- whole deadline. attempt(address, port, deadline) returns a connected
-- transport, or nil, message, code. Returns the transport or nil, message,
-- code.
---@param name string
---@param c table an lxmpp.clock
---@param host string
---@param port integer
---@param deadline? number
---@param resolve_opts? table options of lxmpp.resolve.addresses
---@param attempt fun(address: string, port: integer, deadline?: number): lxmpp.transport|nil, string?, string?
---@return lxmpp.transport|nil t
---@return string? message
---@return string? code
function base.connect(name, c, host, port, deadline, resolve_opts, attempt)
	if type(host) ~= "string" then error(name .. ": host must be a string", 3) end
	if math_type(port) ~= "integer" or port < 1 or port > 65535 then
		error(name .. ": port must be an integer in 1..65535", 3)
	end
	base.check_deadline(name, deadline, 3)
	local addresses, err, code = resolve.addresses(host, deadline, resolve_opts)
	if not addresses then return nil, err, code end
	local failures = {}
	for i, address in ipairs(addresses) do
		local left = base.remaining(c, deadline)
		if left and left <= 0 then break end
		local t, message, why = attempt(address, port, left and c.now() + left / (#addresses - i + 1))
		if t then return t end
		failures[#failures + 1] = message
		code = why
	end
	local what = "connect to " .. host .. " port " .. port
	if #failures == 0 then return nil, what .. ": timed out", "timeout" end
	if code == "timeout" then return nil, what .. ": timed out (" .. table.concat(failures, "; ") .. ")", "timeout" end
	return nil, what .. ": " .. table.concat(failures, "; "), code
end

return base

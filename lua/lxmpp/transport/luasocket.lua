-- lxmpp.transport.luasocket: the transport interface on LuaSocket, for
-- scripts that prefer it. Same methods, results and codes as
-- lxmpp.transport.cqueues (see there and docs/transport.md), but it always
-- blocks: it never yields, even inside a cqueues controller.
--   transport.connect(host, port, deadline [, opts]) -> t | nil, message, code
--   transport.wrap(socket)                          -> t (an accepted socket)
--   t:read(deadline), t:write(bytes, deadline), t:close()
--   t:pollfd(), t:events(), t:timeout(), t:peer()
-- Names are resolved with getaddrinfo, which does not honour the deadline;
-- pass opts.resolver (lxmpp.resolve) to bound it.
local socket = require "socket"
local base = require "lxmpp.transport.base"
local tointeger = require("lxmpp.compat").tointeger

local NAME = "lxmpp.transport.luasocket"
local remaining = base.remaining

local READ_SIZE = 16384

---@class lxmpp.transport.luasocket
---@field now fun(): number lxmpp.clock.now
local transport = { now = base.now }

local methods, mt = base.class(NAME, function(sock)
	return sock:getpeername()
end)

-- LuaSocket reports errors as messages; these are the codes the cqueues
-- transport gives for the same conditions.
local CODES = {
	["timeout"] = "timeout",
	["connection refused"] = "ECONNREFUSED",
	["address already in use"] = "EADDRINUSE",
	["permission denied"] = "EACCES",
	["Network is unreachable"] = "ENETUNREACH",
	["No route to host"] = "EHOSTUNREACH",
	["Broken pipe"] = "EPIPE",
	["host or service not provided, or not known"] = "invalid-address",
}

local function failure(err, what)
	if err == "timeout" then return nil, what .. ": timed out", "timeout" end
	return nil, what .. ": " .. err, CODES[err] or "socket-error"
end

-- LuaSocket keeps a per-wait ("b") and a per-call ("t") timeout, and a
-- call obeys the smaller: set both, or a stale one spins or stalls.
local function set_timeout(sock, seconds)
	sock:settimeout(seconds, "b")
	sock:settimeout(seconds, "t")
end

-- An accepted socket as a transport. It waits in real time: a clock given
-- as opts.clock (lxmpp.clock-shaped) only says what time it is.
---@param sock any a LuaSocket TCP socket, connected (accepted by a server)
---@param opts? { clock?: table }
---@return lxmpp.transport t
function transport.wrap(sock, opts)
	sock:setoption("tcp-nodelay", true)
	return setmetatable({ socket = sock, clock = opts and opts.clock or base.clock }, mt)
end

-- getaddrinfo as an lxmpp.resolve resolver: one blocking lookup per name.
local function getaddrinfo_resolver()
	local cache = {}
	return {
		query = function(_, name, rtype)
			local infos = cache[name]
			if infos == nil then
				infos = socket.dns.getaddrinfo(name) or {}
				cache[name] = infos
			end
			local family = rtype == "AAAA" and "inet6" or "inet"
			local records = {}
			for _, info in ipairs(infos) do
				if info.family == family then records[#records + 1] = { address = info.addr } end
			end
			return records
		end,
	}
end

-- Connects to each address of `host` in turn, each with an equal share of
-- the time left (lxmpp.transport.base); names through getaddrinfo unless
-- opts.resolver is given.
---@param host string a name or an IP address
---@param port integer
---@param deadline? number an lxmpp.clock time; nil: no limit
---@param opts? { resolver?: table, read_size?: integer, clock?: table }
---@return lxmpp.transport|nil t
---@return string? message
---@return string? code
function transport.connect(host, port, deadline, opts)
	opts = opts or {}
	local resolver = opts.resolver or getaddrinfo_resolver()
	local c = opts.clock or base.clock
	return base.connect(NAME, c, host, port, deadline, { resolver = resolver, clock = c }, function(address, _, until_)
		local sock = address:find(":", 1, true) and socket.tcp6() or socket.tcp4()
		set_timeout(sock, remaining(c, until_))
		local ok, why = sock:connect(address, port)
		if ok then
			local self = transport.wrap(sock, opts)
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
		set_timeout(sock, 0)
		local data, err, partial = sock:receive(self.read_size or READ_SIZE)
		if data then return data end
		if partial and #partial > 0 then return partial end
		if err == "closed" then return nil, "connection closed by peer", "eof" end
		if err ~= "timeout" then return failure(err, "read") end
		local left = remaining(self.clock, deadline)
		if left and left <= 0 then return nil, "timeout", "timeout" end
		self.waiting, self.deadline = "r", deadline
		socket.select({ sock }, nil, left)
		self.waiting, self.deadline = nil, nil
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
	if type(data) ~= "string" then error("lxmpp.transport.luasocket: data must be a string", 2) end
	base.check_deadline(NAME, deadline, 2)
	local i = 1
	while i <= #data do
		local left = remaining(self.clock, deadline)
		if left and left <= 0 then return nil, "timeout", "timeout", i - 1 end
		set_timeout(sock, left)
		self.waiting, self.deadline = "w", deadline
		local last, err, partial = sock:send(data, i)
		self.waiting, self.deadline = nil, nil
		if last then
			i = tointeger(last) + 1
		else
			i = tointeger(partial) + 1
			if err ~= "timeout" then
				local _, message, code = failure(err == "closed" and "Broken pipe" or err, "write")
				return nil, message, code, i - 1
			end
		end
	end
	return true
end

---@return string address
---@return integer port
function methods:peer()
	local address, port = base.open(NAME, self):getpeername()
	return address, tonumber(port)
end

---@return integer fd
function methods:pollfd()
	return base.open(NAME, self):getfd()
end

return transport

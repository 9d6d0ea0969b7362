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
local clock = require "lxmpp.clock"
local resolve = require "lxmpp.resolve"

local now = clock.now

local READ_SIZE = 16384

local transport = { now = now }

local methods = {}
local mt = {
	__name = "lxmpp.transport.luasocket",
	__index = methods,
}

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

local function remaining(deadline)
	if deadline == nil then return nil end
	return deadline - now()
end

-- LuaSocket keeps a per-wait ("b") and a per-call ("t") timeout, and a
-- call obeys the smaller: set both, or a stale one spins or stalls.
local function set_timeout(sock, seconds)
	sock:settimeout(seconds, "b")
	sock:settimeout(seconds, "t")
end

local function check_deadline(deadline)
	if deadline ~= nil and type(deadline) ~= "number" then
		error("lxmpp.transport.luasocket: deadline must be a number (lxmpp.clock time) or nil", 3)
	end
end

local function open(self)
	if not self.socket then error("lxmpp.transport.luasocket: transport is closed", 3) end
	return self.socket
end

function transport.wrap(sock)
	sock:setoption("tcp-nodelay", true)
	return setmetatable({ socket = sock }, mt)
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

-- As lxmpp.transport.cqueues.connect: each address in turn, each attempt
-- with an equal share of the time left.
function transport.connect(host, port, deadline, opts)
	if type(host) ~= "string" then error("lxmpp.transport.luasocket: host must be a string", 2) end
	if math.type(port) ~= "integer" or port < 1 or port > 65535 then
		error("lxmpp.transport.luasocket: port must be an integer in 1..65535", 2)
	end
	check_deadline(deadline)
	opts = opts or {}
	local addresses, err, code = resolve.addresses(host, deadline, { resolver = opts.resolver or getaddrinfo_resolver() })
	if not addresses then return nil, err, code end
	local failures = {}
	for i, address in ipairs(addresses) do
		local left = remaining(deadline)
		if left and left <= 0 then break end
		local sock = address:find(":", 1, true) and socket.tcp6() or socket.tcp4()
		set_timeout(sock, left and left / (#addresses - i + 1))
		local ok, why = sock:connect(address, port)
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
		set_timeout(sock, 0)
		local data, err, partial = sock:receive(self.read_size or READ_SIZE)
		if data then return data end
		if partial and #partial > 0 then return partial end
		if err == "closed" then return nil, "connection closed by peer", "eof" end
		if err ~= "timeout" then return failure(err, "read") end
		local left = remaining(deadline)
		if left and left <= 0 then return nil, "timeout", "timeout" end
		self.waiting, self.deadline = "r", deadline
		socket.select({ sock }, nil, left)
		self.waiting, self.deadline = nil, nil
	end
end

function methods:write(data, deadline)
	local sock = open(self)
	if type(data) ~= "string" then error("lxmpp.transport.luasocket: data must be a string", 2) end
	check_deadline(deadline)
	local i = 1
	while i <= #data do
		local left = remaining(deadline)
		if left and left <= 0 then return nil, "timeout", "timeout", i - 1 end
		set_timeout(sock, left)
		self.waiting, self.deadline = "w", deadline
		local last, err, partial = sock:send(data, i)
		self.waiting, self.deadline = nil, nil
		if last then
			i = math.tointeger(last) + 1
		else
			i = math.tointeger(partial) + 1
			if err ~= "timeout" then
				local _, message, code = failure(err == "closed" and "Broken pipe" or err, "write")
				return nil, message, code, i - 1
			end
		end
	end
	return true
end

function methods:close()
	if self.socket then
		self.socket:close()
		self.socket = nil
	end
end

function methods:peer()
	local address, port = open(self):getpeername()
	return address, tonumber(port)
end

function methods:pollfd()
	return open(self):getfd()
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
	if not self.socket then return "lxmpp.transport.luasocket (closed)" end
	local address, port = self.socket:getpeername()
	return ("lxmpp.transport.luasocket [%s]:%s"):format(address, port)
end

return transport

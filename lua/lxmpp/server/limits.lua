-- lxmpp.server.limits: the server's limits, their defaults, and what is
-- counted per address (connections, failed logins).
---@class lxmpp.server.limits
local limits = {}

-- Safe defaults; every one is a config option (config.limits).
limits.DEFAULTS = {
	open_timeout = 10, -- seconds from accept to the stream header
	auth_timeout = 60, -- seconds from accept to a bound session
	close_timeout = 5, -- seconds a closing session may take to flush
	write_timeout = 30, -- seconds one write may wait for a client to read
	max_connections = 10000, -- in total
	max_connections_per_ip = 100,
	max_auth_failures_per_ip = 10, -- logins without success, refilled at
	auth_failure_refill = 10 / 60, -- this many per second (10 a minute)
	max_auth_attempts = 3, -- per connection, then policy-violation (2 to 5)
	max_preauth_stanza_size = 10000, -- bytes of one element before authentication
	max_stanza_size = 262144,
	read_rate = 65536, -- bytes per second per session, sustained
	read_burst = 262144, -- bytes read before the rate applies
	max_output = 1048576, -- bytes queued for one client (4 stanzas of the largest size);
	-- beyond: policy-violation
}

--- The limits with defaults filled in; nil, message for a bad one.
---@param given table|nil
---@return table|nil
---@return string? message
function limits.check(given)
	local out = {}
	for k, v in pairs(limits.DEFAULTS) do out[k] = v end
	for k, v in pairs(given or {}) do
		if limits.DEFAULTS[k] == nil then return nil, "limits: unknown limit " .. tostring(k) end
		if type(v) ~= "number" or v ~= v or v < 0 then return nil, "limits." .. k .. ": a number >= 0" end
		out[k] = v
	end
	return out
end

local counters_methods = {}
local counters_mt = { __index = counters_methods }

--- Per-address counters: open connections, and a bucket of login attempts
--- that a success refunds (failures drain it, time refills it).
---@param l table the limits
---@param now fun(): number
---@return table counters with take, release, try_auth and auth_succeeded
function limits.counters(l, now)
	return setmetatable({ limits = l, now = now, conns = {}, auth = {} }, counters_mt)
end

-- Takes a connection slot for ip; false when it has too many.
---@param ip string
---@return boolean taken
function counters_methods:take(ip)
	local n = self.conns[ip] or 0
	if n >= self.limits.max_connections_per_ip then return false end
	self.conns[ip] = n + 1
	return true
end

---@param ip string
function counters_methods:release(ip)
	local n = (self.conns[ip] or 1) - 1
	self.conns[ip] = n > 0 and n or nil
end

local function bucket(self, ip)
	local l, now = self.limits, self.now()
	local b = self.auth[ip]
	if not b then return nil, now end
	b.tokens = math.min(l.max_auth_failures_per_ip, b.tokens + (now - b.at) * l.auth_failure_refill)
	b.at = now
	if b.tokens >= l.max_auth_failures_per_ip then
		self.auth[ip] = nil -- full again: forget the address
		return nil, now
	end
	return b, now
end

-- A login attempt from ip: false when its failures used up the bucket.
---@param ip string
---@return boolean allowed
function counters_methods:try_auth(ip)
	local b, now = bucket(self, ip)
	if not b then
		b = { tokens = self.limits.max_auth_failures_per_ip, at = now }
		self.auth[ip] = b
	end
	if b.tokens < 1 then return false end
	b.tokens = b.tokens - 1
	return true
end

---@param ip string
function counters_methods:auth_succeeded(ip)
	local b = bucket(self, ip)
	if b then b.tokens = b.tokens + 1 end
end

return limits

-- lxmpp.resolve: where to connect for an XMPP domain (RFC 6120 §3.2 and
-- XEP-0368), and the addresses of a host name.
--   resolve.targets(domain, deadline [, opts]) -> { {host, port, direct_tls}, ... }
--                                               | nil, message, code
--   resolve.addresses(host, deadline [, opts]) -> { "2001:db8::1", "192.0.2.1", ... }
--                                               | nil, message, code
--   resolve.order(records, random)             -> records in RFC 2782 order
--   resolve.dns([opts])                        -> a resolver on cqueues.dns
-- Deadlines are times of opts.clock (lxmpp.clock-shaped: now, wait; the
-- real lxmpp.clock by default). A resolver is any object with
--   resolver:query(name, rtype, deadline [, clock]) -> records | nil, message, code
-- where rtype is "SRV", "A" or "AAAA", records is a list ({} when the name
-- or the type does not exist) of { priority, weight, port, target } for SRV
-- and { address } for A and AAAA. See docs/resolve.md.
local clock = require "lxmpp.clock"

---A resolver: lxmpp.resolve.dns() or any object with this query method.
---@class lxmpp.resolver
---@field query fun(self: lxmpp.resolver, name: string, rtype: "SRV"|"A"|"AAAA", deadline?: number, clock?: table): table[]|nil, string?, string?

---@class lxmpp.resolve.target
---@field host string
---@field port integer
---@field direct_tls boolean XEP-0368: TLS from the first byte

---@class lxmpp.resolve.options
---@field resolver? lxmpp.resolver
---@field host? string an explicit endpoint: no DNS
---@field port? integer
---@field direct_tls? boolean
---@field random? fun(m: integer, n: integer): integer
---@field prefer_direct_tls? boolean
---@field clock? table lxmpp.clock-shaped: the deadline's

---@class lxmpp.resolve
local resolve = {}

local function is_ip_literal(host)
	return host:find(":", 1, true) ~= nil or host:match("^%d+%.%d+%.%d+%.%d+$") ~= nil
end

-- DNS through cqueues: a pool of stub resolvers, so that coroutines may
-- query concurrently. With opts.nameservers ({ "[127.0.0.1]:5353", ... },
-- cqueues' syntax) only those servers are asked and /etc/hosts is not read;
-- without, the system's resolv.conf and hosts file apply. opts.clock
-- (lxmpp.clock-shaped) measures the deadlines of its queries, unless a
-- query is given a clock of its own.
local dns_resolver = {}
dns_resolver.__index = dns_resolver

local RCODE_NAMES = { [1] = "format error", [2] = "server failure", [4] = "not implemented", [5] = "refused" }

---@param opts? { nameservers?: string[] }
---@return lxmpp.resolver resolver
function resolve.dns(opts)
	opts = opts or {}
	local errno = require "cqueues.errno"
	local pool
	if opts.nameservers then
		pool = require("cqueues.dns.resolvers").stub { nameserver = opts.nameservers, lookup = { "bind" } }
	else
		pool = require("cqueues.dns").getpool()
	end
	return setmetatable({ pool = pool, errno = errno, clock = opts.clock or clock }, dns_resolver)
end

-- Sends the query, then waits for the answer on the clock `c`: its
-- deadline is what ends the wait (the stub resolver only retransmits).
local function ask(self, c, name, rtype, deadline)
	local res, why = self.pool:get(deadline and math.max(0, deadline - c.now()))
	if not res then return nil, why end
	local ok, packet
	ok, why = res:submit(name, rtype, "IN")
	while ok do
		packet, why = res:fetch()
		if packet or why ~= self.errno.EAGAIN then break end
		if deadline and c.now() >= deadline then
			why = self.errno.ETIMEDOUT
			break
		end
		c.wait(deadline, res)
	end
	self.pool:put(res)
	return packet, why
end

---@param name string
---@param rtype "SRV"|"A"|"AAAA"
---@param deadline? number a time of `c`'s (nil: no limit)
---@param c? table the clock (lxmpp.clock-shaped) to wait on; the resolver's by default
---@return table? records
---@return string? message
---@return string? code
function dns_resolver:query(name, rtype, deadline, c)
	local absolute = name:sub(-1) == "." and name or name .. "."
	local packet, why = ask(self, c or self.clock, absolute, rtype, deadline)
	if not packet then
		if why == self.errno.ETIMEDOUT then
			return nil, "DNS " .. rtype .. " query for " .. name .. " timed out", "timeout"
		end
		return nil, "DNS " .. rtype .. " query for " .. name .. ": " .. self.errno.strerror(why),
			self.errno[why] or "dns-error"
	end
	local rcode = packet:flags().rcode
	if rcode == 3 then return {} end -- NXDOMAIN: no such name
	if rcode ~= 0 then
		return nil, "DNS " .. rtype .. " query for " .. name .. ": " .. (RCODE_NAMES[rcode] or "rcode " .. rcode),
			"dns-error"
	end
	local records = {}
	for rr in packet:grep { section = "answer", type = rtype } do
		if rtype == "SRV" then
			records[#records + 1] = {
				priority = rr:priority(), weight = rr:weight(), port = rr:port(), target = rr:target(),
			}
		else
			records[#records + 1] = { address = rr:addr() }
		end
	end
	return records
end

local default_resolver
local function resolver_of(opts)
	if opts.resolver then return opts.resolver end
	default_resolver = default_resolver or resolve.dns()
	return default_resolver
end

-- RFC 2782: by ascending priority; within a priority, repeatedly pick at
-- random with probability proportional to weight, weight-0 records placed
-- first so that they are chosen only rarely. random(m, n) returns an
-- integer in [m, n], as math.random does.
---@param records { priority: integer, weight: integer, port: integer, target: string }[]
---@param random? fun(m: integer, n: integer): integer math.random by default
---@return table[] ordered
function resolve.order(records, random)
	random = random or math.random
	local by_priority, priorities = {}, {}
	for _, r in ipairs(records) do
		local group = by_priority[r.priority]
		if not group then
			group = {}
			by_priority[r.priority] = group
			priorities[#priorities + 1] = r.priority
		end
		-- weight 0 first, otherwise in the order given
		if r.weight == 0 then
			local i = 1
			while group[i] and group[i].weight == 0 do i = i + 1 end
			table.insert(group, i, r)
		else
			group[#group + 1] = r
		end
	end
	table.sort(priorities)
	local ordered = {}
	for _, priority in ipairs(priorities) do
		local group = by_priority[priority]
		while #group > 0 do
			local sum = 0
			for _, r in ipairs(group) do sum = sum + r.weight end
			local pick = random(0, sum)
			local running, chosen = 0, #group
			for i, r in ipairs(group) do
				running = running + r.weight
				if running >= pick then
					chosen = i
					break
				end
			end
			ordered[#ordered + 1] = table.remove(group, chosen)
		end
	end
	return ordered
end

-- One service's usable SRV records (a target other than "." and a port
-- other than 0), or false when it has records but none usable: the single
-- "." of RFC 2782 says the service is decidedly not available. Or nil,
-- message, code when the lookup failed.
local function service_records(resolver, name, deadline, c)
	local records, err, code = resolver:query(name, "SRV", deadline, c)
	if not records then return nil, err, code end
	local usable = {}
	for _, r in ipairs(records) do
		if r.target ~= "." and r.target ~= "" and r.port > 0 then usable[#usable + 1] = r end
	end
	if #records > 0 and #usable == 0 then return false end
	return usable
end

local function strip_dot(name)
	return (name:gsub("%.$", ""))
end

-- Copies of SRV records, marked with the service they came from.
local function tagged(records, direct_tls, into)
	for _, r in ipairs(records) do
		into[#into + 1] = {
			priority = r.priority, weight = r.weight, port = r.port, target = r.target, direct_tls = direct_tls,
		}
	end
	return into
end

-- Two lists each in RFC 2782 order, merged by priority, the first list's
-- records first among equals; each list keeps its own order.
local function merge_by_priority(first, second)
	local merged, i, j = {}, 1, 1
	while i <= #first or j <= #second do
		if j > #second or (i <= #first and first[i].priority <= second[j].priority) then
			merged[#merged + 1] = first[i]
			i = i + 1
		else
			merged[#merged + 1] = second[j]
			j = j + 1
		end
	end
	return merged
end

-- Where to connect for `domain`, best first. opts: host and port (an
-- explicit endpoint: no DNS at all; port defaults to 5222), direct_tls (for
-- the explicit endpoint), resolver, random (see resolve.order),
-- prefer_direct_tls (default true: at equal priority, direct TLS targets
-- come before STARTTLS ones; false mixes both by weight, XEP-0368 §2 rule
-- 1), clock (lxmpp.clock-shaped: the deadline's; handed to the resolver).
-- The certificate identity stays the domain whatever the target.
---@param domain string
---@param deadline? number an lxmpp.clock time
---@param opts? lxmpp.resolve.options
---@return lxmpp.resolve.target[]|nil targets best first
---@return string? message
---@return string? code "timeout", "no-service"...
function resolve.targets(domain, deadline, opts)
	opts = opts or {}
	if opts.host then
		return { { host = opts.host, port = opts.port or 5222, direct_tls = opts.direct_tls == true } }
	end
	local resolver = resolver_of(opts)
	local direct, derr, dcode = service_records(resolver, "_xmpps-client._tcp." .. domain, deadline, opts.clock)
	local starttls, serr, scode = service_records(resolver, "_xmpp-client._tcp." .. domain, deadline, opts.clock)
	if dcode == "timeout" or scode == "timeout" then
		return nil, dcode == "timeout" and derr or serr, "timeout"
	end
	-- A lookup that failed counts as one that found nothing: the A/AAAA
	-- fallback then applies, and its own lookup reports a broken DNS.
	local absent = direct == false or starttls == false
	direct, starttls = direct or {}, starttls or {}
	if #direct == 0 and #starttls == 0 then
		if absent then
			-- records, but none usable: RFC 6120 §3.2.1 (xmpp-client) and
			-- XEP-0368 (xmpps-client) forbid the fallback.
			return nil, "no XMPP client service at " .. domain .. ' (SRV target ".")', "no-service"
		end
		return { { host = domain, port = 5222, direct_tls = false } }
	end
	local ordered
	if opts.prefer_direct_tls == false then
		ordered = resolve.order(tagged(starttls, false, tagged(direct, true, {})), opts.random)
	else
		ordered = merge_by_priority(resolve.order(tagged(direct, true, {}), opts.random),
			resolve.order(tagged(starttls, false, {}), opts.random))
	end
	local targets = {}
	for i, r in ipairs(ordered) do
		targets[i] = { host = strip_dot(r.target), port = r.port, direct_tls = r.direct_tls }
	end
	return targets
end

-- The addresses of `host`: an IP literal as it is, otherwise its AAAA and
-- A records, interleaved IPv6 first (RFC 8305 §4), so that a broken family
-- costs one attempt, not all of them. Fails only when both lookups give
-- nothing. opts: resolver, clock (as for resolve.targets).
---@param host string a name or an IP literal
---@param deadline? number
---@param opts? { resolver?: lxmpp.resolver, clock?: table }
---@return string[]|nil addresses IPv6 and IPv4 interleaved
---@return string? message
---@return string? code
function resolve.addresses(host, deadline, opts)
	opts = opts or {}
	local literal = host:match("^%[(.*)%]$") or host
	if is_ip_literal(literal) then return { literal } end
	local resolver = resolver_of(opts)
	local v6, err6, code6 = resolver:query(host, "AAAA", deadline, opts.clock)
	local v4, err4, code4 = resolver:query(host, "A", deadline, opts.clock)
	v6, v4 = v6 or {}, v4 or {}
	local addresses = {}
	for i = 1, math.max(#v6, #v4) do
		if v6[i] then addresses[#addresses + 1] = v6[i].address end
		if v4[i] then addresses[#addresses + 1] = v4[i].address end
	end
	if #addresses == 0 then
		if err4 or err6 then
			return nil, err4 or err6, (code4 == "timeout" or code6 == "timeout") and "timeout" or code4 or code6
		end
		return nil, "no address for " .. host, "no-address"
	end
	return addresses
end

return resolve

-- lxmpp.sm: the state of XEP-0198 stream management, for either role,
-- without I/O: the counters of both directions (modulo 2^32), the bounded
-- queue of stanzas the peer has not acknowledged, when to ask for an
-- acknowledgement (<r/>), and a plain-table form of it all that survives a
-- serializer. The client (and a server's session) moves the elements; this
-- module only counts. See docs/sm.md.
--   local s = sm.new{ clock =, max_unacked =, max_unacked_bytes =,
--     request_after =, request_interval = }
--   s:fits(bytes), s:sent(xml [, on_ack]), s:received(), s:handled(), s:ack(h),
--   s:should_request(), s:requested(), s:request_due(), s:unacked(),
--   s:count(), s:state(extra), sm.restore(state [, opts])
local default_clock = require "lxmpp.clock"

local sm = {}

sm.NS = "urn:xmpp:sm:3"

local WRAP = 4294967296 -- counters are unsigned 32-bit (XEP-0198 §4)

-- An integer from a number or a decimal string, or nil (any Lua from 5.1).
local function integer(v)
	local n = tonumber(v)
	if n and n == math.floor(n) then return n end
	return nil
end

local DEFAULTS = {
	max_unacked = 10000, -- stanzas kept for a resumption; beyond, sent() refuses
	max_unacked_bytes = 16777216, -- and the bytes they may hold
	request_after = 5, -- ask for an ack once this many stanzas are unacknowledged
	request_interval = 10, -- or once the oldest has waited this many seconds
}

local methods = {}
local mt = { __name = "lxmpp.sm", __index = methods }

local function misuse(message)
	error("lxmpp.sm: " .. message, 3)
end

local function check_opts(opts)
	opts = opts or {}
	if type(opts) ~= "table" then misuse("options are a table") end
	local o = { clock = opts.clock or default_clock }
	for k, v in pairs(DEFAULTS) do
		local given = opts[k]
		if given ~= nil and (type(given) ~= "number" or given ~= given or given <= 0) then
			misuse("option '" .. k .. "' is a positive number")
		end
		o[k] = given or v
	end
	return o
end

local function wrap(n)
	return n % WRAP
end

---@class lxmpp.sm
---@field opts table

-- sm.new(opts) -> a fresh state: both counters at zero, nothing unacknowledged.
---@param opts? table clock, max_unacked, max_unacked_bytes, request_after, request_interval
---@return lxmpp.sm
function sm.new(opts)
	return setmetatable({
		opts = check_opts(opts),
		out = 0, -- stanzas sent, modulo 2^32
		acked = 0, -- of them, acknowledged by the peer
		inbound = 0, -- stanzas received and handled (our h)
		queue = { first = 1, last = 0 }, -- { xml =, on_ack =, at = } from acked+1 to out
		bytes = 0,
		asked_at = nil, -- when our outstanding <r/> went out
	}, mt)
end

---@return integer the stanzas sent and not acknowledged yet
function methods:count()
	return self.queue.last - self.queue.first + 1
end

-- Would one more stanza of `bytes` fit in the queue?
---@param bytes integer
---@return boolean
function methods:fits(bytes)
	return self:count() < self.opts.max_unacked and self.bytes + bytes <= self.opts.max_unacked_bytes
end

-- s:sent(xml [, on_ack]) -> true | nil, message, "full": counts one
-- stanza sent and keeps it until acknowledged. `on_ack(true)` runs when the
-- peer acknowledges it. A full queue refuses (nothing counted): the caller
-- asks for an ack and tries again later.
---@param xml string the stanza as sent
---@param on_ack? function
---@return true|nil ok
---@return string? message
---@return string? code
function methods:sent(xml, on_ack)
	if type(xml) ~= "string" then misuse("sent takes the stanza's XML") end
	local o = self.opts
	if not self:fits(#xml) then
		return nil, ("%d stanzas (%d bytes) wait for the peer's acknowledgement"):format(self:count(), self.bytes), "full"
	end
	local q = self.queue
	q.last = q.last + 1
	q[q.last] = { xml = xml, on_ack = on_ack, at = o.clock.now() }
	self.bytes = self.bytes + #xml
	self.out = wrap(self.out + 1)
	return true
end

-- Counts one stanza received from the peer and handled.
function methods:received()
	self.inbound = wrap(self.inbound + 1)
end

---@return integer h the count of stanzas handled, for <a h=/>
function methods:handled()
	return self.inbound
end

-- s:ack(h) -> the acknowledged entries ({ xml =, on_ack = }, oldest first)
-- | nil, message, "undefined-condition" when h acknowledges more than was
-- sent (XEP-0198 §4: the peer is broken; nothing changes here).
---@param h integer|string the peer's h
---@return table|nil acknowledged
---@return string? message
---@return string? code
function methods:ack(h)
	local n = integer(h)
	if not n or n < 0 or n >= WRAP or not tostring(h):match("^%d+$") then
		return nil, "not a valid h: " .. tostring(h), "undefined-condition"
	end
	local newly = wrap(n - self.acked)
	if newly > self:count() then
		return nil, ("h=%d acknowledges %d stanzas, only %d were sent and not acknowledged"):format(
			n, newly, self:count()), "undefined-condition"
	end
	local q, done = self.queue, {}
	for i = 1, newly do
		local item = q[q.first]
		q[q.first] = nil
		q.first = q.first + 1
		self.bytes = self.bytes - #item.xml
		done[i] = item
	end
	self.acked = n
	self.asked_at = nil -- an <a/> answers the outstanding <r/>
	return done
end

-- When an <r/> becomes due (a time of the clock), or nil when none will
-- be: nothing unacknowledged, or one is outstanding already.
---@return number|nil
function methods:request_due()
	if self.asked_at or self:count() == 0 then return nil end
	return self.queue[self.queue.first].at + self.opts.request_interval
end

-- Is an <r/> due now: request_after stanzas unacknowledged, or the oldest
-- waiting request_interval seconds, and no <r/> outstanding?
---@return boolean
function methods:should_request()
	if self.asked_at or self:count() == 0 then return false end
	return self:count() >= self.opts.request_after or self.opts.clock.now() >= self:request_due()
end

-- Records that an <r/> went out.
function methods:requested()
	self.asked_at = self.opts.clock.now()
end

-- Forgets an outstanding <r/> (the connection that carried it is gone).
function methods:connection_lost()
	self.asked_at = nil
end

-- The unacknowledged stanzas, oldest first: their XML and on_ack.
---@return table list of { xml =, on_ack = }
function methods:unacked()
	local list, q = {}, self.queue
	for i = q.first, q.last do list[#list + 1] = q[i] end
	return list
end

-- Empties the queue (the caller re-sends or hands back what it held) and
-- returns what it held; the outbound counter stays.
---@return table list of { xml =, on_ack = }
function methods:take_unacked()
	local list = self:unacked()
	self.queue = { first = 1, last = 0 }
	self.bytes = 0
	self.acked = self.out
	self.asked_at = nil
	return list
end

-- A plain table: the counters, the unacknowledged stanzas as XML, and the
-- fields of `extra` (the caller's: session id, location, JID). Strings,
-- integers and a list: any serializer keeps it.
---@param extra? table
---@return table
function methods:state(extra)
	local t = { version = 1, out = self.out, acked = self.acked, inbound = self.inbound, unacked = {} }
	for i, item in ipairs(self:unacked()) do t.unacked[i] = item.xml end
	for k, v in pairs(extra or {}) do t[k] = v end
	return t
end

local function counter(v)
	local n = type(v) == "number" and integer(v)
	return n and n >= 0 and n < WRAP and n
end

-- sm.restore(state [, opts]) -> a state | nil, message: the inverse of
-- s:state() (a state from another process or a file: checked).
---@param state table
---@param opts? table as for sm.new
---@return lxmpp.sm|nil
---@return string? message
function sm.restore(state, opts)
	if type(state) ~= "table" or state.version ~= 1 then return nil, "not a stream management state" end
	local out, acked, inbound = counter(state.out), counter(state.acked), counter(state.inbound)
	if not (out and acked and inbound) or type(state.unacked) ~= "table" then
		return nil, "a stream management state with invalid counters"
	end
	if wrap(out - acked) ~= #state.unacked then
		return nil, "a stream management state whose counters disagree with its queue"
	end
	local s = sm.new(opts)
	local now = s.opts.clock.now()
	for i, xml in ipairs(state.unacked) do
		if type(xml) ~= "string" then return nil, "a stream management state with a non-string stanza" end
		s.queue[i] = { xml = xml, at = now }
		s.bytes = s.bytes + #xml
	end
	s.queue.last = #state.unacked
	s.out, s.acked, s.inbound = out, acked, inbound
	return s
end

return sm

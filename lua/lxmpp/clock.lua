-- lxmpp.clock: the clock every deadline in lxmpp is measured on, and the
-- one way lxmpp waits for a deadline.
--   clock.now() -> seconds (a float), only differences are meaningful
--   clock.wait(deadline, ...) -- until one of the cqueues pollables (sockets,
--                             -- conditions) is ready, or the deadline (nil: none)
--   clock.monotonic           -- true when now() cannot jump
--   clock.fake([start])       -- a clock whose time moves only when told:
--     f.now(), f.wait(deadline, ...), f.advance(seconds), f.next_deadline()
-- A deadline is now() + timeout, computed once per call chain and handed
-- down, so that nested waits share one budget. The real clock is monotonic
-- (CLOCK_MONOTONIC, through cqueues) when cqueues is installed, otherwise
-- LuaSocket's wall clock. Everything that measures time (lxmpp.client,
-- lxmpp.tasks, the transports) takes a clock of this shape as an option, so
-- that a test can run it on a fake one: its timeouts then fire exactly when
-- the test advances the time, never because the machine was slow.
local have_cqueues, cqueues = pcall(require, "cqueues")
local condition = have_cqueues and require "cqueues.condition"
local have_socket, socket = pcall(require, "socket")
local compat = require "lxmpp.compat"
if not have_cqueues and not have_socket then error("lxmpp.clock: needs cqueues or LuaSocket", 2) end

---@class lxmpp.clock
---@field now fun(): number seconds; only differences between two readings mean something
---@field monotonic boolean whether now() cannot jump (CLOCK_MONOTONIC, with cqueues)
local clock = {}

local real_now = have_cqueues and cqueues.monotime or socket.gettime
clock.now = real_now
clock.monotonic = have_cqueues

-- cqueues.poll reads a trailing number as the timeout: no number, no limit.
-- When the time is up it returns that number: then nothing is ready.
local function poll_for(seconds, ...)
	if not seconds then return cqueues.poll(...) end
	local args = compat.pack(...)
	args.n = args.n + 1
	args[args.n] = seconds
	local ready = cqueues.poll(compat.unpack(args, 1, args.n))
	if ready ~= seconds then return ready end
end

---@param deadline? number a time of now()'s; nil: no limit
---@param ... any cqueues pollables
---@return any ready the pollable that is ready, if any
function clock.wait(deadline, ...)
	local left = deadline and math.max(0, deadline - real_now())
	if select("#", ...) == 0 then
		if not left then error("lxmpp.clock: wait with neither a deadline nor something to wait for", 2) end
		if have_cqueues then cqueues.sleep(left) else socket.sleep(left) end
		return
	end
	if not have_cqueues then error("lxmpp.clock: waiting for sockets needs cqueues", 2) end
	return poll_for(left, ...)
end

-- A fake clock. Inside a cqueues controller, a wait ends when a pollable is
-- ready or when advance() moves the time past its deadline (nothing else
-- moves it). Outside a controller nothing else can run while the caller
-- waits, so a wait looks once at its pollables and, when none is ready,
-- moves the time to its deadline.
---@param start? number the time it starts at (the real clock's now by default)
---@return table clock now, wait, advance, next_deadline
function clock.fake(start)
	local t = start or real_now()
	local waits = {} -- condition -> deadline
	local f = { monotonic = true }

	function f.now()
		return t
	end

	function f.wait(deadline, ...)
		if deadline and deadline <= t then return end
		local n = select("#", ...)
		if not (have_cqueues and cqueues.running()) then
			if n > 0 and have_cqueues then
				local ready = poll_for(deadline and 0, ...)
				if ready or not deadline then return ready end
			end
			if not deadline then error("lxmpp.clock: a fake clock's wait without a deadline would never end", 2) end
			t = math.max(t, deadline)
			return
		end
		local cond = condition.new()
		waits[cond] = deadline or math.huge
		local ready = poll_for(nil, cond, ...)
		waits[cond] = nil
		if ready ~= cond then return ready end
	end

	-- Moves the time on and wakes the waits whose deadline it passed.
	---@param seconds number
	function f.advance(seconds)
		assert(type(seconds) == "number" and seconds >= 0, "advance takes seconds")
		t = t + seconds
		for cond, deadline in pairs(waits) do
			if deadline <= t then cond:signal() end
		end
	end

	-- The earliest deadline a wait is waiting for, or nil.
	---@return number?
	function f.next_deadline()
		local earliest
		for _, deadline in pairs(waits) do
			if deadline < math.huge and (not earliest or deadline < earliest) then earliest = deadline end
		end
		return earliest
	end

	return f
end

return clock

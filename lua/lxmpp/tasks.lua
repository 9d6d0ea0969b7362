-- lxmpp.tasks: the coroutines a client's handlers run in, and how a call
-- that must wait for the network waits (see docs/client.md, "Concurrency").
--   local sched = tasks.new(on_error)   -- on_error(message) for a failed task
--   sched:spawn(fn, ...)     -- run fn(...) in a task of its own
--   sched:in_task()          -- is the running coroutine one of our tasks?
--   sched:wait(ready, deadline) -- from a task: suspend until ready() or the deadline
--   sched:run()              -- resume what can go on (plain tasks)
--   sched:next_deadline()    -- the earliest deadline a suspended task waits for
--   sched:controller()       -- the cqueues controller running us, or nil
--   sched:block(deadline)    -- in a controller: wait for a signal or the deadline
--   sched:signal()           -- wake the blocked ones: something happened
--   tasks.sleep(seconds)
-- Inside a cqueues controller a task is a coroutine of that controller
-- (cq:wrap), and waits the way every coroutine there does. Elsewhere a task
-- is a plain coroutine that the client resumes whenever it has read from
-- the network; a task that must wait yields a private token back to it.
-- Either way, no coroutine of the caller's ever sees a yield of ours.
local clock = require "lxmpp.clock"
local compat = require "lxmpp.compat"

local have_cqueues, cqueues = pcall(require, "cqueues")
local condition = have_cqueues and require "cqueues.condition"
local socket = not have_cqueues and require "socket"

local now = clock.now
-- Yieldable on Lua 5.1 too: a task waits from inside it.
local xpcall, running, pack, unpack = compat.xpcall, compat.running, compat.pack, compat.unpack

---@class lxmpp.tasks
local tasks = {}

-- What our plain tasks yield: the wait they are in.
local WAIT = setmetatable({}, { __name = "lxmpp.tasks wait" })

---@class lxmpp.tasks.scheduler
local sched = {}
sched.__index = sched

---@param on_error fun(message: string) called with a failed task's error and traceback
---@return lxmpp.tasks.scheduler sched
function tasks.new(on_error)
	return setmetatable({
		runnable = {}, -- plain tasks to resume, in order
		waiting = {}, -- plain task -> { ready = fn, deadline = t }
		mine = setmetatable({}, { __mode = "k" }), -- every plain task of ours
		on_error = on_error,
		cond = condition and condition.new(),
	}, sched)
end

---@param seconds number
function tasks.sleep(seconds)
	if seconds <= 0 then return end
	if have_cqueues then
		cqueues.sleep(seconds)
	else
		socket.sleep(seconds)
	end
end

---@param _ lxmpp.tasks.scheduler
---@return table|nil cq the cqueues controller running us
function sched.controller(_)
	return have_cqueues and cqueues.running() or nil
end

local function guarded(self, fn, ...)
	local ok, err = xpcall(fn, debug.traceback, ...)
	if not ok then self.on_error(err) end
end

---@param fn function
---@param ... any its arguments
function sched:spawn(fn, ...)
	local cq = self:controller()
	if cq then
		cq:wrap(guarded, self, fn, ...)
		return
	end
	local co = coroutine.create(guarded)
	self.mine[co] = true
	self.runnable[#self.runnable + 1] = pack(co, self, fn, ...)
end

---@return boolean mine whether the running coroutine is one of our tasks
function sched:in_task()
	return self.mine[running()] == true
end

---@param _ lxmpp.tasks.scheduler
---@param ready fun(): boolean
---@param deadline? number
function sched.wait(_, ready, deadline)
	local token = coroutine.yield(WAIT, ready, deadline)
	assert(token == WAIT, "lxmpp.tasks: a task was resumed from outside")
end

-- Resumes co with args; keeps it waiting when it yields our token.
local function resume(self, co, ...)
	local ok, token, ready, deadline = coroutine.resume(co, ...)
	if not ok then
		self.on_error(debug.traceback(co, token))
	elseif coroutine.status(co) == "suspended" then
		if token == WAIT then
			self.waiting[co] = { ready = ready, deadline = deadline }
		else
			self.on_error("a handler yielded outside lxmpp (coroutine.yield in a handler?): "
				.. "it is abandoned")
		end
	end
end

function sched:run()
	if self.running then return end
	self.running = true
	repeat
		local jobs = self.runnable
		local progress = #jobs > 0
		self.runnable = {} -- what these spawn waits for the next round
		for _, job in ipairs(jobs) do
			resume(self, unpack(job, 1, job.n))
		end
		local t, due = now(), {}
		for co, w in pairs(self.waiting) do
			if w.ready() or (w.deadline and t >= w.deadline) then due[#due + 1] = co end
		end
		for _, co in ipairs(due) do
			self.waiting[co] = nil
			resume(self, co, WAIT)
			progress = true
		end
	until not progress
	self.running = false
end

---@return number|nil deadline the earliest a suspended task waits for
function sched:next_deadline()
	local earliest
	for _, w in pairs(self.waiting) do
		if w.deadline and (not earliest or w.deadline < earliest) then earliest = w.deadline end
	end
	return earliest
end

---@param deadline? number
function sched:block(deadline)
	local left = deadline and math.max(0, deadline - now())
	self.cond:wait(left)
end

function sched:signal()
	if self.cond then self.cond:signal() end
end

return tasks

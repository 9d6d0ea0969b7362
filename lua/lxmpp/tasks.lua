-- lxmpp.tasks: the coroutines a client's handlers run in, and how a call
-- that must wait for the network waits (see docs/client.md, "Concurrency").
--   local sched = tasks.new(on_error [, clock]) -- on_error(message) for a failed task
--   sched:spawn(fn, ...)     -- run fn(...) in a task of its own
--   sched:in_task()          -- is the running coroutine one of our plain tasks?
--   sched:wait(key, deadline) -- from a task: suspend until wake(key) or the deadline
--   sched:wake(key)          -- make the tasks waiting for key runnable
--   sched:run()              -- resume what can go on (plain tasks)
--   sched:next_deadline()    -- the earliest deadline a suspended task waits for
--   sched:controller()       -- the cqueues controller running us, or nil
--   sched:block(deadline)    -- in a controller: wait for a signal or the deadline
--   sched:signal()           -- wake the blocked ones: something happened
--   tasks.sleep(seconds)     -- on the real clock
-- Inside a cqueues controller a task is a coroutine of that controller
-- (cq:wrap), and waits the way every coroutine there does. Elsewhere a task
-- is a plain coroutine that the client resumes whenever it has read from
-- the network; a task that must wait yields a private token back to it.
-- Either way, no coroutine of the caller's ever sees a yield of ours.
-- A plain task waits for a key (what it waits for: an iq's slot, a queue)
-- and its deadline sits in a heap: run() touches the tasks that were woken
-- or whose deadline passed, never the others, so its cost per read does
-- not grow with the number of tasks waiting.
local default_clock = require "lxmpp.clock"
local compat = require "lxmpp.compat"
local coroutine_close = rawget(coroutine, "close") -- Lua 5.4

-- Yieldable on Lua 5.1 too: a task waits from inside it.
local xpcall, running, pack, unpack = compat.xpcall, compat.running, compat.pack, compat.unpack

local have_cqueues, cqueues = pcall(require, "cqueues")
local condition = have_cqueues and require "cqueues.condition"

---@class lxmpp.tasks
local tasks = {}

-- What our plain tasks yield: the wait they are in.
local WAIT = setmetatable({}, { __name = "lxmpp.tasks wait" })

---@class lxmpp.tasks.scheduler
local sched = {}
sched.__index = sched

---@param on_error fun(message: string) called with a failed task's traceback
---@param clock? table an lxmpp.clock-shaped clock (lxmpp.clock by default)
---@return table scheduler
function tasks.new(on_error, clock)
	return setmetatable({
		runnable = {}, -- plain tasks to resume, in order: { co, args... } or { co, WAIT }
		waiting = {}, -- plain task -> the wait it is in: { key =, deadline = }
		by_key = {}, -- key -> { [task] = true } waiting for it
		heap = {}, -- the waits with a deadline, earliest first
		mine = setmetatable({}, { __mode = "k" }), -- every plain task of ours
		on_error = on_error,
		clock = clock or default_clock,
		cond = condition and condition.new(),
	}, sched)
end

---@param seconds number
function tasks.sleep(seconds)
	if seconds > 0 then default_clock.wait(default_clock.now() + seconds) end
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
	self:spawn_with(nil, fn, ...)
end

-- spawn, with cleanup() run if the task is abandoned (it yielded outside
-- lxmpp): what a to-be-closed variable in it does on Lua 5.4, on every Lua.
---@param cleanup? fun()
---@param fn function
---@param ... any its arguments
function sched:spawn_with(cleanup, fn, ...)
	local cq = self:controller()
	if cq then
		cq:wrap(guarded, self, fn, ...)
		return
	end
	local co = coroutine.create(guarded)
	self.mine[co] = cleanup or true
	self.runnable[#self.runnable + 1] = pack(co, self, fn, ...)
end

---@return boolean mine whether the running coroutine is one of our plain tasks
function sched:in_task()
	return self.mine[running()] ~= nil
end

---@param _ lxmpp.tasks.scheduler
---@param key any what to wait for (see wake)
---@param deadline? number a clock time
function sched.wait(_, key, deadline)
	local token = coroutine.yield(WAIT, key, deadline)
	assert(token == WAIT, "lxmpp.tasks: a task was resumed from outside")
end

---------------------------------------------------------------------------
-- the heap of deadlines (a binary min-heap of waits)

local function heap_push(h, w)
	local i = #h + 1
	h[i] = w
	while i > 1 do
		local parent = math.floor(i / 2)
		if h[parent].deadline <= w.deadline then break end
		h[i], h[parent] = h[parent], w
		i = parent
	end
end

local function heap_pop(h)
	local top, last = h[1], h[#h]
	h[#h] = nil
	if #h == 0 then return top end
	local i, n = 1, #h
	while true do
		local child = 2 * i
		if child > n then break end
		if child < n and h[child + 1].deadline < h[child].deadline then child = child + 1 end
		if h[child].deadline >= last.deadline then break end
		h[i] = h[child]
		i = child
	end
	h[i] = last
	return top
end

-- A wait that ended early stays in the heap until it comes to the top.
local function heap_top(self)
	local h = self.heap
	while h[1] and self.waiting[h[1].co] ~= h[1] do heap_pop(h) end
	return h[1]
end

---------------------------------------------------------------------------

local function end_wait(self, co)
	local w = self.waiting[co]
	self.waiting[co] = nil
	local set = self.by_key[w.key]
	if set then
		set[co] = nil
		if next(set) == nil then self.by_key[w.key] = nil end
	end
	self.runnable[#self.runnable + 1] = { co, WAIT, n = 2 }
end

---@param key any what the tasks wait for
function sched:wake(key)
	local set = self.by_key[key]
	if not set then return end
	for co in pairs(set) do end_wait(self, co) end
end

-- Resumes co with args; keeps it waiting when it yields our token.
local function resume(self, co, ...)
	local ok, token, key, deadline = coroutine.resume(co, ...)
	if not ok then
		self.on_error(debug.traceback(co, token))
	elseif coroutine.status(co) == "suspended" then
		if token == WAIT then
			local w = { co = co, key = key, deadline = deadline }
			self.waiting[co] = w
			if key ~= nil then
				local set = self.by_key[key] or {}
				self.by_key[key] = set
				set[co] = true
			end
			if deadline then heap_push(self.heap, w) end
		else
			self.on_error("a handler yielded outside lxmpp (coroutine.yield in a handler?): "
				.. "it is abandoned")
			local cleanup = self.mine[co]
			if coroutine_close then coroutine_close(co) end -- its to-be-closed variables run
			if type(cleanup) == "function" then cleanup() end
		end
	end
end

function sched:run()
	if self.running then return end
	self.running = true
	repeat
		local t = self.clock.now()
		for _ = 1, #self.heap do
			local w = heap_top(self)
			if not w or w.deadline > t then break end
			heap_pop(self.heap)
			end_wait(self, w.co)
		end
		local jobs = self.runnable
		self.runnable = {} -- what these spawn or wake goes in the next round
		for _, job in ipairs(jobs) do
			resume(self, unpack(job, 1, job.n))
		end
	until #self.runnable == 0
	self.running = false
end

---@return number|nil deadline the earliest a suspended task waits for
function sched:next_deadline()
	local w = heap_top(self)
	return w and w.deadline
end

-- Outside cqueues (LuaSocket alone) there is no one to signal: it sleeps
-- until the deadline.
---@param deadline? number
function sched:block(deadline)
	if self.cond then self.clock.wait(deadline, self.cond) else self.clock.wait(deadline) end
end

function sched:signal()
	if self.cond then self.cond:signal() end
end

return tasks

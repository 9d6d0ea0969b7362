-- lxmpp.tasks outside any cqueues controller: the plain coroutines a
-- client's handlers run in, resumed by whoever pumps.
local clock = require "lxmpp.clock"
local tasks = require "lxmpp.tasks"

describe("lxmpp.tasks, plain", function()
	it("runs what is spawned, in order, when run() is called", function()
		local sched = tasks.new(error, clock.fake(0))
		local log = {}
		sched:spawn(function(a, b) log[#log + 1] = a .. b end, "x", "y")
		sched:spawn(function() log[#log + 1] = "second" end)
		assert.same({}, log)
		sched:run()
		assert.same({ "xy", "second" }, log)
	end)

	it("suspends a task until what it waits for is woken, or its deadline", function()
		local clk = clock.fake(100)
		local sched = tasks.new(error, clk)
		local key, results = {}, {}
		sched:spawn(function()
			assert.is_true(sched:in_task())
			sched:wait(key, nil)
			results[#results + 1] = "woken"
		end)
		sched:spawn(function()
			sched:wait({}, 100.05)
			results[#results + 1] = "deadline"
		end)
		sched:run()
		assert.same({}, results)
		assert.equal(100.05, sched:next_deadline())
		assert.is_false(sched:in_task())
		sched:wake(key)
		sched:run()
		assert.same({ "woken" }, results)
		clk.advance(0.049)
		sched:run()
		assert.same({ "woken" }, results) -- not a moment early
		clk.advance(0.001)
		sched:run()
		assert.same({ "woken", "deadline" }, results)
		assert.is_nil(sched:next_deadline())
	end)

	it("keeps deadlines in order, and a task woken early leaves its deadline behind", function()
		local clk = clock.fake(0)
		local sched = tasks.new(error, clk)
		local order, keys = {}, {}
		for i, d in ipairs { 5, 1, 4, 2, 3 } do
			keys[i] = {}
			sched:spawn(function()
				sched:wait(keys[i], d)
				order[#order + 1] = d
			end)
		end
		sched:run()
		assert.equal(1, sched:next_deadline())
		sched:wake(keys[2]) -- the one due at 1
		sched:run()
		assert.same({ 1 }, order)
		assert.equal(2, sched:next_deadline())
		clk.advance(3.5)
		sched:run()
		assert.same({ 1, 2, 3 }, order)
		clk.advance(10)
		sched:run()
		assert.same({ 1, 2, 3, 4, 5 }, order)
	end)

	it("reports a failing task and a foreign yield, and goes on", function()
		local failures = {}
		local sched = tasks.new(function(message) failures[#failures + 1] = message end, clock.fake(0))
		local after = false
		sched:spawn(function() error("boom") end)
		local closed = false
		sched:spawn_with(function() closed = true end, function() coroutine.yield("something else") end)
		sched:spawn(function() after = true end)
		sched:run()
		assert.is_true(after)
		assert.equal(2, #failures)
		assert.matches("boom", failures[1])
		assert.matches("stack traceback", failures[1])
		assert.matches("yielded outside lxmpp", failures[2])
		assert.is_true(closed) -- abandoned, and cleaned up
	end)

	it("wakes every task waiting for a key, and only those", function()
		local sched = tasks.new(error, clock.fake(0))
		local open, other, done = {}, {}, 0
		for i = 1, 5000 do
			sched:spawn(function()
				sched:wait(i % 2 == 0 and open or other, 60)
				done = done + 1
			end)
		end
		sched:run()
		assert.equal(0, done)
		sched:wake(open)
		sched:run()
		assert.equal(2500, done)
		sched:wake(other)
		sched:run()
		assert.equal(5000, done)
	end)

	it("touches only the woken and the due tasks in a run, however many wait", function()
		-- counts the calls into the clock and the heap instead of timing them
		local function cost(waiting)
			local clk = clock.fake(0)
			local sched = tasks.new(error, clk)
			for _ = 1, waiting do
				sched:spawn(function() sched:wait({}, 1000) end)
			end
			local key = {}
			sched:spawn(function() sched:wait(key, 1000) end)
			sched:run()
			-- no collector step inside: a finalizer in Lua left by another
			-- spec (a transport's __gc) would count its own instructions
			collectgarbage("collect")
			collectgarbage("stop")
			local steps = 0
			debug.sethook(function() steps = steps + 1 end, "", 1)
			sched:wake(key)
			sched:run()
			local _ = sched:next_deadline()
			debug.sethook()
			collectgarbage("restart")
			return steps
		end
		local small, large = cost(100), cost(20000)
		assert.is_true(large < small * 1.5 + 50, ("%d instructions with 100 waiting, %d with 20000"):format(small, large))
	end)
end)

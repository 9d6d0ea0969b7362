-- lxmpp.tasks outside any cqueues controller: the plain coroutines a
-- client's handlers run in, resumed by whoever pumps.
local clock = require "lxmpp.clock"
local tasks = require "lxmpp.tasks"

describe("lxmpp.tasks, plain", function()
	it("runs what is spawned, in order, when run() is called", function()
		local sched = tasks.new(error)
		local log = {}
		sched:spawn(function(a, b) log[#log + 1] = a .. b end, "x", "y")
		sched:spawn(function() log[#log + 1] = "second" end)
		assert.same({}, log)
		sched:run()
		assert.same({ "xy", "second" }, log)
	end)

	it("suspends a task until what it waits for is ready, or its deadline", function()
		local sched = tasks.new(error)
		local ready, results = false, {}
		sched:spawn(function()
			assert.is_true(sched:in_task())
			sched:wait(function() return ready end, nil)
			results[#results + 1] = "ready"
		end)
		local deadline = clock.now() + 0.05
		sched:spawn(function()
			sched:wait(function() return false end, deadline)
			results[#results + 1] = "deadline"
		end)
		sched:run()
		assert.same({}, results)
		assert.equal(deadline, sched:next_deadline())
		assert.is_false(sched:in_task())
		ready = true
		sched:run()
		assert.same({ "ready" }, results)
		tasks.sleep(0.06)
		sched:run()
		assert.same({ "ready", "deadline" }, results)
		assert.is_nil(sched:next_deadline())
	end)

	it("reports a failing task and a foreign yield, and goes on", function()
		local failures = {}
		local sched = tasks.new(function(message) failures[#failures + 1] = message end)
		local after = false
		sched:spawn(function() error("boom") end)
		sched:spawn(function() coroutine.yield("something else") end)
		sched:spawn(function() after = true end)
		sched:run()
		assert.is_true(after)
		assert.equal(2, #failures)
		assert.matches("boom", failures[1])
		assert.matches("stack traceback", failures[1])
		assert.matches("yielded outside lxmpp", failures[2])
	end)

	it("wakes every waiting task whose wait is over", function()
		local sched = tasks.new(error)
		local open, done = false, 0
		for _ = 1, 5000 do
			sched:spawn(function()
				sched:wait(function() return open end)
				done = done + 1
			end)
		end
		sched:run()
		assert.equal(0, done)
		open = true
		sched:run()
		assert.equal(5000, done)
	end)
end)

-- The transports against a real loopback TCP server made with cqueues in
-- the same process: both block from a plain script; the cqueues one yields
-- inside a cqueues controller.
local cqueues = require "cqueues"
local condition = require "cqueues.condition"
local socket = require "cqueues.socket"
local clock = require "lxmpp.clock"
local close_scope = require "support.close_scope"
local math_type = require("lxmpp.compat").math_type
local server_side = require "lxmpp.transport.cqueues"

local function listener(host)
	local srv = assert(socket.listen { host = host, port = 0, reuseaddr = true })
	assert(srv:listen())
	local _, _, port = srv:localname()
	return srv, port
end

local function accept(srv)
	local s = assert(srv:accept(5))
	s:setmode("bn", "bn")
	return s
end

-- Everything the peer sends, until it closes.
local function read_all(s)
	local t = server_side.wrap(s)
	local parts = {}
	while true do
		local data, _, code = t:read(clock.now() + 5)
		if not data then
			assert.equal("eof", code)
			return table.concat(parts)
		end
		parts[#parts + 1] = data
	end
end

local every_byte = {}
for i = 0, 255 do every_byte[#every_byte + 1] = string.char(i) end
every_byte = table.concat(every_byte) .. "\r\n\n\r"

for _, name in ipairs { "cqueues", "luasocket" } do
describe("lxmpp.transport." .. name .. " outside a controller (blocking)", function()
	local transport = require("lxmpp.transport." .. name)
	local srv, port
	before_each(function() srv, port = listener("127.0.0.1") end)
	after_each(function() srv:close() end)

	it("moves bytes both ways unchanged, CR and LF included", function()
		local t = assert(transport.connect("127.0.0.1", port, clock.now() + 5))
		local s = accept(srv)
		assert.is_true(t:write(every_byte, clock.now() + 5))
		t:close()
		assert.equal(every_byte, read_all(s))
		s:close()

		t = assert(transport.connect("127.0.0.1", port, clock.now() + 5))
		s = accept(srv)
		assert(s:xwrite(every_byte, "bn", 5))
		local got = {}
		while #table.concat(got) < #every_byte do
			got[#got + 1] = assert(t:read(clock.now() + 5))
		end
		assert.equal(every_byte, table.concat(got))
		s:close()
		t:close()
	end)

	it("connects over IPv6", function()
		local srv6, port6 = listener("::1")
		local t = assert(transport.connect("::1", port6, clock.now() + 5))
		local s = accept(srv6)
		assert.equal("::1", (t:peer()))
		assert(t:write("over six", clock.now() + 5))
		t:close()
		assert.equal("over six", read_all(s))
		s:close()
		srv6:close()
	end)

	it("accepts a bracketed IPv6 literal", function()
		local srv6, port6 = listener("::1")
		local t = assert(transport.connect("[::1]", port6, clock.now() + 5))
		assert.equal("::1", (t:peer()))
		t:close()
		srv6:close()
	end)

	it("returns what is available without waiting for more", function()
		local t = assert(transport.connect("127.0.0.1", port, clock.now() + 5))
		local s = accept(srv)
		assert(s:xwrite("abc", "bn", 5))
		assert.equal("abc", t:read(clock.now() + 5))
		t:close()
		s:close()
	end)

	it("times out a read at its deadline", function()
		local t = assert(transport.connect("127.0.0.1", port, clock.now() + 5))
		local s = accept(srv)
		local start, cpu = clock.now(), os.clock()
		local data, err, code = t:read(start + 0.2)
		local elapsed = clock.now() - start
		assert.is_true(os.clock() - cpu < 0.1, "CPU seconds " .. os.clock() - cpu)
		assert.is_nil(data)
		assert.equal("timeout", err)
		assert.equal("timeout", code)
		assert.is_true(elapsed >= 0.19 and elapsed < 2, "elapsed " .. elapsed)
		-- the stream is still usable after a timeout
		assert(s:xwrite("late", "bn", 5))
		assert.equal("late", t:read(clock.now() + 5))
		t:close()
		s:close()
	end)

	it("polls without waiting when the deadline is now", function()
		local t = assert(transport.connect("127.0.0.1", port, clock.now() + 5))
		local s = accept(srv)
		local start = clock.now()
		assert.same({ nil, "timeout", "timeout" }, { t:read(start) })
		assert.is_true(clock.now() - start < 0.1)
		t:close()
		s:close()
	end)

	it("shares one deadline across a chain of calls", function()
		local t = assert(transport.connect("127.0.0.1", port, clock.now() + 5))
		local s = accept(srv)
		assert(s:xwrite("one", "bn", 5))
		assert.equal("one", t:read(clock.now() + 5)) -- whenever the machine delivers it
		-- The rest on a fake clock (the transport's clock field), where a
		-- chain's budget is used up when the test says so: a call that began
		-- a fresh one would wait 30 s, or move the fake clock past it.
		local clk = clock.fake(0)
		t.clock = clk
		local deadline = 30
		clk.advance(30) -- the earlier calls of the chain took it all
		local start = clock.now()
		assert.equal("timeout", select(3, t:read(deadline)))
		assert.equal("timeout", select(3, t:read(deadline)))
		assert.equal(30, clk.now())
		assert.is_true(clock.now() - start < 10, "a fresh budget of 30 s") -- real time, only against that
		t:close()
		s:close()
	end)

	it("times out a write the peer does not read, saying how much went out", function()
		local t = assert(transport.connect("127.0.0.1", port, clock.now() + 5))
		local s = accept(srv)
		local big = string.rep("x", 64 * 1024 * 1024)
		local start, cpu = clock.now(), os.clock()
		local ok, err, code, written = t:write(big, start + 0.3)
		assert.is_nil(ok)
		assert.equal("timeout", err)
		assert.equal("timeout", code)
		assert.equal("integer", math_type(written))
		assert.is_true(written > 0 and written < #big, "written " .. tostring(written))
		assert.is_true(clock.now() - start < 2)
		-- it waited in poll, not in a loop
		assert.is_true(os.clock() - cpu < 0.2, "CPU seconds " .. os.clock() - cpu)
		t:close()
		s:close()
	end)

	it("reports the end of the stream after the last bytes", function()
		local t = assert(transport.connect("127.0.0.1", port, clock.now() + 5))
		local s = accept(srv)
		assert(s:xwrite("bye", "bn", 5))
		s:close()
		assert.equal("bye", t:read(clock.now() + 5))
		assert.same({ nil, "connection closed by peer", "eof" }, { t:read(clock.now() + 5) })
		t:close()
	end)

	it("reports a refused connection with its errno name", function()
		srv:close()
		local t, err, code = transport.connect("127.0.0.1", port, clock.now() + 5)
		assert.is_nil(t)
		assert.equal("ECONNREFUSED", code)
		assert.matches("127.0.0.1", err)
		srv, port = listener("127.0.0.1")
	end)

	it("does not try when the deadline has passed", function()
		local t, err, code = transport.connect("127.0.0.1", port, clock.now() - 1)
		assert.is_nil(t)
		assert.equal("timeout", code)
		assert.matches("timed out", err)
	end)

	it("tries the next address, IPv6 first, when one fails", function()
		local asked = {}
		local resolver = {
			query = function(_, host, rtype)
				asked[#asked + 1] = host .. " " .. rtype
				if rtype == "AAAA" then return { { address = "::1" } } end
				return { { address = "127.0.0.1" } }
			end,
		}
		-- only 127.0.0.1 listens on this port: ::1 refuses, then IPv4 works
		local t = assert(transport.connect("xmpp.example", port, clock.now() + 5, { resolver = resolver }))
		assert.same({ "xmpp.example AAAA", "xmpp.example A" }, asked)
		assert.equal("127.0.0.1", (t:peer()))
		t:close()
	end)

	it("connects by name through the system's resolver (localhost)", function()
		local t = assert(transport.connect("localhost", port, clock.now() + 5))
		assert.equal("127.0.0.1", (t:peer()))
		t:close()
	end)

	it("reports a name with no address", function()
		local resolver = { query = function() return {} end }
		local t, err, code = transport.connect("nowhere.example", port, clock.now() + 5, { resolver = resolver })
		assert.is_nil(t)
		assert.equal("no-address", code)
		assert.matches("nowhere.example", err)
	end)

	it("raises on the caller's mistakes", function()
		local prefix = "lxmpp.transport." .. name .. ": "
		assert.has_error(function() transport.connect(nil, port) end, prefix .. "host must be a string")
		assert.has_error(function() transport.connect("127.0.0.1", 0) end,
			prefix .. "port must be an integer in 1..65535")
		assert.has_error(function() transport.connect("127.0.0.1", 65536) end,
			prefix .. "port must be an integer in 1..65535")
		assert.has_error(function() transport.connect("127.0.0.1", "5222") end,
			prefix .. "port must be an integer in 1..65535")
		assert.has_error(function() transport.connect("127.0.0.1", port, "soon") end,
			prefix .. "deadline must be a number (lxmpp.clock time) or nil")
		local t = assert(transport.connect("127.0.0.1", port, clock.now() + 5))
		assert.has_error(function() t:write(42, clock.now()) end, prefix .. "data must be a string")
		assert.has_error(function() t:read("soon") end, prefix .. "deadline must be a number (lxmpp.clock time) or nil")
		t:close()
	end)

	it("reports a malformed address literal", function()
		for _, literal in ipairs { "999.1.1.1", "::zz" } do
			local t, err, code = transport.connect(literal, port, clock.now() + 5)
			assert.is_nil(t)
			assert.equal("invalid-address", code)
			assert.matches(literal, err, 1, true)
		end
	end)

	it("refuses use after close, and closes twice quietly", function()
		local t = assert(transport.connect("127.0.0.1", port, clock.now() + 5))
		t:close()
		t:close()
		local closed = "lxmpp.transport." .. name .. ": transport is closed"
		assert.has_error(function() t:read(clock.now()) end, closed)
		assert.has_error(function() t:write("x", clock.now()) end, closed)
		assert.matches("closed", tostring(t))
	end)

	it("closes at the end of a to-be-closed scope", function()
		local scope, why = close_scope([[return function(connect)
			do
				local scoped <close> = assert(connect())
				return scoped
			end
		end]], _ENV)
		if not scope then return pending(why) end
		local t = scope(function() return transport.connect("127.0.0.1", port, clock.now() + 5) end)
		assert.has_error(function() t:read(clock.now()) end)
	end)

	it("is pollable with cqueues.poll", function()
		local t = assert(transport.connect("127.0.0.1", port, clock.now() + 5))
		local s = accept(srv)
		assert.equal("r", t:events())
		assert.is_nil(t:timeout())
		assert.is_number(t:pollfd())
		-- nothing to read: poll returns its timeout, not the transport
		local start = clock.now()
		assert.equal(0.1, (cqueues.poll(t, 0.1)))
		assert.is_true(clock.now() - start >= 0.09)
		assert(s:xwrite("ready", "bn", 5))
		assert.equal(t, (cqueues.poll(t, 5)))
		assert.equal("ready", t:read(clock.now()))
		t:close()
		s:close()
	end)
end)
end

describe("lxmpp.transport.cqueues and coroutines", function()
	local transport = require "lxmpp.transport.cqueues"

	it("blocks, never yields, in a coroutine that is not a controller's", function()
		-- a host's own coroutines (e.g. Prosody's async runners) must not
		-- see cqueues' yields
		local srv, port = listener("127.0.0.1")
		local co = coroutine.wrap(function()
			local t = assert(transport.connect("127.0.0.1", port, clock.now() + 5))
			local result = { t:read(clock.now() + 0.1) }
			t:close()
			return "finished", result[3]
		end)
		assert.same({ "finished", "timeout" }, { co() })
		srv:close()
	end)
	it("yields while waiting, so other coroutines run", function()
		local srv, port = listener("127.0.0.1")
		local cq = cqueues.new()
		local ticks, got, ticks_at_read = 0, nil, nil
		local ticked = condition.new() -- the ticker's ten ticks are done
		cq:wrap(function()
			local s = accept(srv)
			-- writes once the ticker is done (not after a sleep that a
			-- loaded machine may make shorter than ten ticks)
			while ticks < 10 do ticked:wait() end
			assert(s:xwrite("hello", "bn", 5))
			cqueues.sleep(0.1)
			s:close()
		end)
		cq:wrap(function()
			local t = assert(transport.connect("127.0.0.1", port, clock.now() + 5))
			got = assert(t:read(clock.now() + 5))
			ticks_at_read = ticks
			assert.same({ nil, "connection closed by peer", "eof" }, { t:read(clock.now() + 5) })
			t:close()
		end)
		cq:wrap(function()
			for _ = 1, 10 do
				ticks = ticks + 1
				cqueues.sleep(0.01)
			end
			ticked:signal()
		end)
		assert(cq:loop(10))
		srv:close()
		assert.equal("hello", got)
		-- the ticker ran to completion while the reader waited
		assert.equal(10, ticks_at_read)
	end)

	it("times out a read without blocking the controller", function()
		local srv, port = listener("::1")
		local cq = cqueues.new()
		local result, ticks = nil, 0
		local timed_out = condition.new()
		cq:wrap(function()
			local s = accept(srv)
			-- closes once the read has timed out (after a fixed sleep, a
			-- read that began late saw the close instead)
			while not result do timed_out:wait() end
			s:close()
		end)
		cq:wrap(function()
			local t = assert(transport.connect("::1", port, clock.now() + 5))
			local start = clock.now()
			result = { t:read(start + 0.2) }
			result.elapsed = clock.now() - start
			timed_out:signal()
			t:close()
		end)
		cq:wrap(function()
			for _ = 1, 5 do
				ticks = ticks + 1
				cqueues.sleep(0.01)
			end
		end)
		assert(cq:loop(10))
		srv:close()
		assert.same({ nil, "timeout", "timeout" }, { result[1], result[2], result[3] })
		assert.is_true(result.elapsed >= 0.19 and result.elapsed < 2)
		assert.equal(5, ticks)
	end)

	it("moves a large payload both ways concurrently", function()
		local srv, port = listener("127.0.0.1")
		local payload = string.rep(every_byte, 8192) -- 2 MiB
		local cq = cqueues.new()
		local echoed
		cq:wrap(function()
			-- echo server
			local s = transport.wrap(accept(srv))
			while true do
				local data, _, code = s:read(clock.now() + 5)
				if not data then
					assert.equal("eof", code)
					break
				end
				assert(s:write(data, clock.now() + 5))
			end
			s:close()
		end)
		cq:wrap(function()
			local t = assert(transport.connect("127.0.0.1", port, clock.now() + 5))
			local parts, total = {}, 0
			cq:wrap(function()
				assert(t:write(payload, clock.now() + 10))
			end)
			while total < #payload do
				local data = assert(t:read(clock.now() + 10))
				parts[#parts + 1] = data
				total = total + #data
			end
			echoed = table.concat(parts)
			t:close()
		end)
		assert(cq:loop(20))
		srv:close()
		assert.equal(#payload, #echoed)
		assert.is_true(payload == echoed)
	end)
end)

describe("docs/transport.md", function()
	for name, run in require "support.doc_examples"("docs/transport.md") do it(name, run) end
end)

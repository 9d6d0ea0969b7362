-- lxmpp.sm: XEP-0198 counting on a fake clock.
local clock = require "lxmpp.clock"
local sm = require "lxmpp.sm"

describe("lxmpp.sm", function()
	local c
	before_each(function() c = clock.fake(100) end)

	it("counts both directions and acknowledges in order, calling on_ack", function()
		local s = sm.new { clock = c }
		local acked = {}
		for i = 1, 3 do
			assert(s:sent("<message id='" .. i .. "'/>", function() acked[#acked + 1] = i end))
		end
		s:received()
		s:received()
		assert.equal(2, s:handled())
		assert.equal(3, s:count())
		local done = assert(s:ack(2))
		assert.same({ "<message id='1'/>", "<message id='2'/>" }, { done[1].xml, done[2].xml })
		for _, item in ipairs(done) do item.on_ack(true) end
		assert.same({ 1, 2 }, acked)
		assert.same({ "<message id='3'/>" }, { s:unacked()[1].xml })
		assert.same({}, assert(s:ack("2"))) -- the same h again acknowledges nothing new
		assert.equal(1, s:count())
	end)

	it("refuses an h that acknowledges more than was sent, changing nothing", function()
		local s = sm.new { clock = c }
		assert(s:sent("<message/>"))
		local ok, err, code = s:ack(2)
		assert.is_nil(ok)
		assert.equal("undefined-condition", code)
		assert.matches("acknowledges 2 stanzas, only 1", err)
		assert.equal(1, s:count())
		assert.is_nil((s:ack(-1)))
		assert.is_nil((s:ack("1x")))
		assert.is_nil((s:ack(4294967296)))
		assert.equal(1, #assert(s:ack(1)))
	end)

	it("wraps both counters at 2^32", function()
		local max = 4294967295
		local s = assert(sm.restore({ version = 1, out = max, acked = max - 1, inbound = max,
			unacked = { "<message id='a'/>" } }, { clock = c }))
		s:received()
		assert.equal(0, s:handled())
		assert(s:sent("<message id='b'/>"))
		assert(s:sent("<message id='c'/>"))
		assert.equal(1, s:state().out)
		local done = assert(s:ack(0)) -- acknowledges max and 0: a and b
		assert.same({ "<message id='a'/>", "<message id='b'/>" }, { done[1].xml, done[2].xml })
		assert.equal(1, #assert(s:ack(1)))
		assert.equal(0, s:count())
		assert.is_nil((s:ack(2)))
	end)

	it("bounds the queue by count and by bytes", function()
		local s = sm.new { clock = c, max_unacked = 2, max_unacked_bytes = 20 }
		assert(s:sent("<a/>"))
		assert(s:sent("<b/>"))
		local ok, _, code = s:sent("<c/>")
		assert.is_nil(ok)
		assert.equal("full", code)
		assert.equal(2, s:state().out) -- the refused one is not counted
		assert(s:ack(2))
		assert(s:sent(("x"):rep(20)))
		assert.equal("full", select(3, s:sent("<d/>")))
	end)

	it("asks for an ack after N stanzas or T seconds, one <r/> at a time", function()
		local s = sm.new { clock = c, request_after = 3, request_interval = 10 }
		assert.is_false(s:should_request())
		assert.is_nil(s:request_due())
		s:sent("<a/>")
		assert.equal(110, s:request_due())
		assert.is_false(s:should_request())
		c.advance(10)
		assert.is_true(s:should_request())
		s:requested()
		assert.is_false(s:should_request())
		assert.is_nil(s:request_due())
		assert(s:ack(1))
		s:sent("<b/>")
		s:sent("<c/>")
		assert.is_false(s:should_request())
		s:sent("<d/>")
		assert.is_true(s:should_request()) -- three unacknowledged
		s:requested()
		s:connection_lost() -- the <r/> went with the connection
		assert.is_true(s:should_request())
	end)

	it("hands the unacknowledged stanzas back, keeping the counter", function()
		local s = sm.new { clock = c }
		s:sent("<a/>")
		s:sent("<b/>")
		local list = s:take_unacked()
		assert.same({ "<a/>", "<b/>" }, { list[1].xml, list[2].xml })
		assert.equal(0, s:count())
		assert.equal(2, s:state().out)
		assert.is_nil((s:ack(3)))
	end)

	it("survives a round trip through a serializer", function()
		local s = sm.new { clock = c }
		for i = 1, 3 do s:sent(("<message id='%d'><body>é &amp; \"q\"</body></message>"):format(i)) end
		s:received()
		assert(s:ack(1))
		local state = s:state { id = "sm-id-1", location = "[::1]:5222", jid = "a@b/c" }
		-- a serializer that knows only strings, integers and lists: %q
		local function serialize(v)
			if type(v) == "number" then return tostring(v) end -- %q quotes numbers before Lua 5.4
			if type(v) ~= "table" then return ("%q"):format(v) end
			local parts = {}
			for k, x in pairs(v) do parts[#parts + 1] = "[" .. serialize(k) .. "]=" .. serialize(x) end
			return "{" .. table.concat(parts, ",") .. "}"
		end
		local copy = assert((loadstring or load)("return " .. serialize(state)))()
		assert.same(state, copy)
		assert.equal("sm-id-1", copy.id)
		local r = assert(sm.restore(copy, { clock = c }))
		assert.same(s:state(), r:state())
		assert.equal(1, r:handled())
		assert.equal(2, r:count())
		assert.equal(2, #assert(r:ack(3)))
	end)

	it("refuses a state that is not one", function()
		assert.is_nil((sm.restore("x")))
		assert.is_nil((sm.restore { version = 1, out = 2, acked = 0, inbound = 0, unacked = { "<a/>" } }))
		assert.is_nil((sm.restore { version = 1, out = 1.5, acked = 0, inbound = 0, unacked = {} }))
		assert.is_nil((sm.restore { version = 1, out = 1, acked = 0, inbound = 0, unacked = { 7 } }))
		assert.has_error(function() sm.new { request_after = 0 } end)
	end)

	if _VERSION == "Lua 5.4" then -- docs/sm.md loads lxmpp.client, which needs 5.4 (<close>)
		for name, run in require "support.doc_examples"("docs/sm.md") do it(name, run) end
	end
end)

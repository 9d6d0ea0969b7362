-- lxmpp.ext.muc against a scripted room (spec/support/fake_muc.lua) in the
-- tiny server, on a fake clock: joining, the occupant list, messages, and
-- staying in: the XEP-0410 self-ping's timing and the rejoins after it and
-- after a reconnection, with a history request that replays nothing seen.
local cqueues = require "cqueues"
local harness = require "support.tiny_harness"
local fake_muc = require "support.fake_muc"
local time = require "lxmpp.ext.time"

local ROOM = "garden@conference.im.example.com"

-- Steps the controller until done() or the real-time bound.
local function until_(done)
	for _ = 1, 2000 do
		if done() then return true end
		cqueues.sleep(0.005)
	end
	return done()
end

describe("lxmpp.ext.muc", function()
	it("joins, keeps the occupants from presence, and relays messages, subject and leaving", function()
		harness.with_server(function(server, cq)
			local service = fake_muc.attach(server, "conference.im.example.com")
			local juliet = assert(harness.connect(server, "juliet"))
			local romeo = assert(harness.connect(server, "romeo"))
			cq:wrap(function() juliet:loop() end)
			cq:wrap(function() romeo:loop() end)
			local jm = juliet:use("muc", { ping_interval = false })
			local room = assert(jm:join(ROOM, "Juliet", { history = { maxstanzas = 5 } }))
			assert.equal("joined", room.state)
			assert.equal("moderator", room.me.role)
			assert.equal("owner", room.me.affiliation)
			local history = service.joins[1]:get_child("x", "http://jabber.org/protocol/muc"):get_child("history")
			assert.equal("5", history.attr.maxstanzas)

			local seen = {}
			room:on("join", function(o) seen[#seen + 1] = "join " .. o.nick .. " " .. o.role end)
			room:on("message", function(m, nick) seen[#seen + 1] = nick .. ": " .. m:get_child_text("body") end)
			local rm = romeo:use("muc", { ping_interval = false })
			local rroom = assert(rm:join(ROOM, "Romeo"))
			assert.equal("Welcome", rroom.subject)
			assert.equal("owner", rroom.occupants.Juliet.affiliation)
			assert.truthy(until_(function() return room.occupants.Romeo ~= nil end))
			assert(rroom:say("Hello, fair one"))
			assert.truthy(until_(function() return #seen == 2 end))
			assert.same({ "join Romeo participant", "Romeo: Hello, fair one" }, seen)
			assert.is_nil(jm:join(ROOM .. "x", "J", { timeout = 0 }))

			local left
			room:on("leave", function(o) left = o.nick end)
			assert(rroom:leave())
			assert.truthy(until_(function() return left == "Romeo" end))
			assert.is_nil(room.occupants.Romeo)
			assert.is_nil(rm:room(ROOM))
			assert(juliet:close())
			assert(romeo:close())
		end)
	end)

	it("holds the history and subject of a join for the handlers added when join() returns, stamps alike", function()
		harness.with_server(function(server, cq)
			local service = fake_muc.attach(server, "conference.im.example.com")
			service.stamp = function() return 1767225600 end -- stamps count seconds: all in one
			local juliet = assert(harness.connect(server, "juliet"))
			local romeo = assert(harness.connect(server, "romeo"))
			cq:wrap(function() juliet:loop() end)
			local jroom = assert(juliet:use("muc", { ping_interval = false }):join(ROOM, "Juliet"))
			for i = 1, 3 do assert(jroom:say("line " .. i)) end
			local rm = romeo:use("muc", { ping_interval = false })
			-- juliet's lines are in: the service keeps what it relayed
			assert.truthy(until_(function() return #service.rooms[ROOM].history == 3 end))
			local room = assert(rm:join(ROOM, "Romeo", { history = { maxstanzas = 2 } }))
			assert.equal("Welcome", room.subject) -- the state is there at once
			local seen = {}
			room:on("message", function(m, nick, delayed)
				seen[#seen + 1] = ("%s: %s%s"):format(nick, m:get_child_text("body"), delayed and " (delayed)" or "")
			end)
			room:on("subject", function(subject) seen[#seen + 1] = "subject " .. subject end)
			cq:wrap(function() romeo:loop() end)
			assert.truthy(until_(function() return #seen == 3 end))
			assert.same({ "Juliet: line 2 (delayed)", "Juliet: line 3 (delayed)", "subject Welcome" }, seen)
			assert(jroom:say("line 4"))
			assert.truthy(until_(function() return #seen == 4 end))
			assert.equal("Juliet: line 4", seen[4])
			assert(juliet:close())
			assert(romeo:close())
		end)
	end)

	it("leaves no room behind when a join cannot be sent", function()
		harness.with_server(function(server)
			fake_muc.attach(server, "conference.im.example.com")
			local juliet = assert(harness.connect(server, "juliet"))
			local jm = juliet:use("muc", { ping_interval = false })
			assert(juliet:close())
			for _ = 1, 2 do -- the second is no "already in room"
				local room, message, code = jm:join(ROOM, "Juliet")
				assert.is_nil(room)
				assert.is_string(message)
				assert.equal("closed", code)
			end
			assert.is_nil(jm:room(ROOM))
		end)
	end)

	it("self-pings a silent room after ping_interval and rejoins when the room forgot us", function()
		harness.with_server(function(server, cq, clk)
			local service = fake_muc.attach(server, "conference.im.example.com")
			local juliet = assert(harness.connect(server, "juliet", { keepalive = false }))
			cq:wrap(function() juliet:loop() end)
			local wall = 1800000000
			local muc = juliet:use("muc", { ping_interval = 60, ping_timeout = 10, now = function() return wall end })
			local room = assert(muc:join(ROOM, "Juliet"))
			local rejoined = 0
			room:on("rejoined", function() rejoined = rejoined + 1 end)
			assert(room:say("first"))
			assert.truthy(until_(function() return room.last_second ~= nil end))
			clk.advance(59)
			cqueues.sleep(0.1) -- time for a wrong ping to show
			assert.equal(0, #service.pings) -- not silent long enough
			clk.advance(2)
			assert.truthy(until_(function() return #service.pings == 1 end))
			assert.equal(ROOM .. "/Juliet", service.pings[1].attr.to)
			assert.equal("joined", room.state) -- the room answered: still in
			assert.equal(1, #service.joins)

			service:forget(ROOM, "Juliet") -- e.g. the service restarted
			clk.advance(61)
			-- the service has the second join once its answer is on the way: wait for it too
			until_(function() return #service.pings == 2 and #service.joins == 2 and room.state == "joined" end)
			assert.same({ 2, 2, "joined" }, { #service.pings, #service.joins, room.state })
			local history = service.joins[2]:get_child("x", "http://jabber.org/protocol/muc"):get_child("history")
			assert.equal(time.format(wall), history.attr.since) -- from the last message seen, not before
			assert.truthy(until_(function() return rejoined == 1 end))
			assert.equal("joined", room.state)
			assert(juliet:close())
		end)
	end)

	it("rejoins rejoin_delay seconds after the service shut the room down (332), with the history since", function()
		harness.with_server(function(server, cq, clk)
			local service = fake_muc.attach(server, "conference.im.example.com")
			local juliet = assert(harness.connect(server, "juliet", { keepalive = false }))
			cq:wrap(function() juliet:loop() end)
			local muc = juliet:use("muc", { ping_interval = false, rejoin_delay = 10, now = function() return 1800000000 end })
			local room = assert(muc:join(ROOM, "Juliet"))
			local events = {}
			room:on("removed", function(_, _, why) events[#events + 1] = "removed " .. why end)
			room:on("rejoined", function(me) events[#events + 1] = "rejoined " .. me.nick end)
			assert(room:say("before the shutdown"))
			assert.truthy(until_(function() return room.last_second ~= nil end))
			service:shutdown(ROOM)
			assert.truthy(until_(function() return #events == 1 end))
			assert.equal("out", room.state)
			clk.advance(9)
			cqueues.sleep(0.1) -- time for an early rejoin to show
			assert.equal(1, #service.joins)
			clk.advance(2)
			assert.truthy(until_(function() return #events == 2 end))
			assert.same({ "removed shutdown", "rejoined Juliet" }, events)
			local history = service.joins[2]:get_child("x", "http://jabber.org/protocol/muc"):get_child("history")
			assert.equal(time.format(1800000000), history.attr.since)
			assert(juliet:close())
		end)
	end)

	it("tries again after rejoin_delay when its old self still holds the nick (conflict)", function()
		harness.with_server(function(server, cq, clk)
			local service = fake_muc.attach(server, "conference.im.example.com")
			local juliet = assert(harness.connect(server, "juliet", {
				keepalive = false, reconnect = { delay = 0.1, max_delay = 0.4 } }))
			cq:wrap(function() juliet:loop() end)
			local room = assert(juliet:use("muc", { ping_interval = false, rejoin_delay = 10 }):join(ROOM, "Juliet"))
			local events = {}
			room:on("error", function(condition) events[#events + 1] = "error " .. condition end)
			room:on("rejoined", function(me) events[#events + 1] = "rejoined " .. me.nick end)
			local old = juliet.jid
			server:kick(old, "system-shutdown") -- the room still holds Juliet for the old session
			assert.truthy(until_(function()
				if juliet:state() == "reconnecting" then clk.advance(0.05) end
				return #events == 1
			end))
			assert.same({ "error conflict" }, events)
			assert.are_not.equal(old, juliet.jid) -- the tiny server gave another resource
			assert.equal("out", room.state)
			service:forget(ROOM, "Juliet") -- the service lets the ghost go
			clk.advance(9)
			cqueues.sleep(0.1) -- time for an early retry to show
			assert.equal(2, #service.joins)
			clk.advance(2)
			assert.truthy(until_(function() return #events == 2 end))
			assert.same({ "error conflict", "rejoined Juliet" }, events)
			assert.equal(3, #service.joins)
			assert(juliet:close())
		end)
	end)

	it("rejoins with the same nick after the client reconnects, asking for no history when none was seen", function()
		harness.with_server(function(server, cq, clk)
			local service = fake_muc.attach(server, "conference.im.example.com")
			local juliet = assert(harness.connect(server, "juliet", {
				keepalive = false, reconnect = { delay = 0.1, max_delay = 0.4 } }))
			cq:wrap(function() juliet:loop() end)
			local room = assert(juliet:use("muc", { ping_interval = false }):join(ROOM, "Juliet"))
			local events = {}
			room:on("dropped", function(why) events[#events + 1] = "dropped " .. why end)
			room:on("rejoined", function(me) events[#events + 1] = "rejoined " .. me.nick end)
			service:forget(ROOM, "Juliet") -- the server ends our session: the room sees us leave
			server:kick(juliet.jid, "system-shutdown")
			assert.truthy(until_(function()
				if juliet:state() == "reconnecting" then clk.advance(0.05) end
				return #events == 2
			end))
			assert.same({ "dropped disconnected", "rejoined Juliet" }, events)
			assert.equal(2, #service.joins)
			local history = service.joins[2]:get_child("x", "http://jabber.org/protocol/muc"):get_child("history")
			assert.equal("0", history.attr.maxstanzas)
			assert.equal(juliet.jid, service.joins[2].attr.from)
			assert(juliet:close())
		end)
	end)
end)

-- XEP-0198 stream management of lxmpp.client against Prosody 0.12
-- (mod_smacks), ejabberd 23.01 (mod_stream_mgmt) and lxmpp.server (its
-- lxmpp.server.sm): enable, acks, and
-- messages from alice to bob through a fault-injecting proxy
-- (faultproxy.lua) that cuts alice's connections at byte offsets drawn
-- from a seed, in both directions, during negotiation, resumption and
-- traffic. Bob connects directly. Every message must reach bob, in order;
-- a resumed session delivers none twice; the duplicates that a refused
-- resumption cannot avoid (XEP-0198 §5) are counted and printed. Also: a
-- process restart resuming from sm_state() (sm_process_main.lua), a
-- Prosody restart, and the h of <failed/> for a session that expired.
local client = require "lxmpp.client"
local clock = require "lxmpp.clock"
local st = require "lxmpp.stanza"
local faultproxy = require "interop.faultproxy"
local process = require "interop.process"
local lua_command = require "support.lua_command"

local MESSAGES = tonumber(os.getenv("LXMPP_SM_MESSAGES")) or 10000
local CUTS = tonumber(os.getenv("LXMPP_SM_CUTS")) or 50
local SEED = tonumber(os.getenv("LXMPP_SM_SEED")) or 198

local servers = {
	{ "Prosody 0.12 (mod_smacks)", function()
		return require("interop.prosody").start {
			accounts = { alice = "pw-alice", bob = "pw-bob" }, modules = { "smacks" },
		}
	end, restartable = true },
	{ "ejabberd 23.01 (mod_stream_mgmt)", function()
		return require("interop.ejabberd").start {
			accounts = { alice = "pw-alice", bob = "pw-bob" }, stream_management = true,
		}
	end },
	{ "lxmpp.server", function()
		-- bob reads between batches of 100 messages, and not while alice
		-- waits out a cut: the bounds are raised so that his session can
		-- hold a whole run unread (the defaults end a client that does not
		-- read for 30 s, or leaves 1 MiB unacknowledged)
		return require("interop.lxmpp_server").server.start { accounts = { alice = "pw-alice", bob = "pw-bob" },
			limits = { write_timeout = 3600, max_output = 64 * 1048576 },
			stream_management = { max_unacked = MESSAGES + 100, max_unacked_bytes = 64 * 1048576 } }
	end },
}

local function connect_to(server, user, extra)
	local a = server:account(user)
	local o = { jid = a.jid, password = a.password, host = server.host, port = server.port,
		tls = { cafile = server.cafile }, timeout = 20 }
	for k, v in pairs(extra or {}) do o[k] = v end
	return assert(client.connect(o))
end

-- The c:sm_state() of alice in another process (sm_process_main.lua) that
-- sent prefix1..prefix5 to `to` and died, with prefix6 added: a stanza it
-- counted but never got out.
local function dead_process_state(server, to, prefix)
	local a = server:account("alice")
	local ok, text = process.run(process.ours { lua_command, "spec/interop/sm_process_main.lua", a.jid,
		a.password, server.host, tostring(server.port), server.cafile, to, prefix, "5" })
	assert(ok, text)
	local saved = assert(load(text))()
	assert.equal(5, #saved.unacked)
	saved.unacked[6] = tostring(st.message({ to = to, id = prefix .. "6" }, "m"))
	saved.out = (saved.out + 1) % 4294967296
	return saved
end

for _, case in ipairs(servers) do
	describe("stream management against " .. case[1], function()
		local server
		lazy_setup(function() server = case[2]() end)
		lazy_teardown(function() if server then server:stop() end end)

		local function connect(user, extra) return connect_to(server, user, extra) end

		-- Sends, stepping the client while its queue is full. A stanza sent
		-- while it reconnects is kept for the resumption; then the client is
		-- stepped until it is back.
		local function send_through(c, stanza, deadline)
			while true do
				local ok, err = c:send(stanza)
				if ok then break end
				assert(c:state() ~= "closed", err)
				assert(clock.now() < deadline, "no progress: " .. tostring(err))
				c:step(0.5)
			end
			while c:state() ~= "ready" do
				assert(c:state() ~= "closed", "the client gave up")
				assert(clock.now() < deadline, "no reconnection")
				c:step(0.5)
			end
		end

		-- Bob's messages from alice with the run's prefix, as they come: the
		-- ids in order. box.take(timeout) reads one stanza (nil when none came).
		local function collector(bob, prefix)
			local box = { ids = {}, seen = {}, distinct = 0 }
			function box.take(timeout)
				local m = bob:receive(timeout)
				local id = m and m.name == "message" and m.attr.id
				if id and id:sub(1, #prefix) == prefix then
					local n = tonumber(id:sub(#prefix + 1))
					box.ids[#box.ids + 1] = n
					if not box.seen[n] then
						box.seen[n] = true
						box.distinct = box.distinct + 1
					end
				end
				return m
			end
			return box
		end

		-- Bob's messages with the prefix until `want` distinct ones came (in
		-- `box` too, when given) or the deadline passed: the ids in order.
		local function collect(bob, prefix, want, deadline, box)
			box = box or collector(bob, prefix)
			while box.distinct < want and clock.now() < deadline do box.take(1) end
			return box.ids
		end

		-- first occurrences in order 1..n, and how many came twice
		local function check_delivery(ids, n)
			local seen, firsts, duplicates = {}, {}, 0
			for _, id in ipairs(ids) do
				if seen[id] then
					duplicates = duplicates + 1
				else
					seen[id] = true
					firsts[#firsts + 1] = id
				end
			end
			assert.equal(n, #firsts, "messages lost")
			for i = 1, n do
				if firsts[i] ~= i then error(("message %d arrived at place %d"):format(firsts[i], i)) end
			end
			return duplicates
		end

		it("enables it, and the server acknowledges what we send", function()
			local alice = connect("alice")
			local bob = connect("bob")
			local state = assert(alice:sm_state(), "no resumable session")
			assert.is_string(state.id)
			assert.equal(alice.jid, state.jid)
			local acked = {}
			assert(alice:send(st.message({ to = bob.jid, id = "ack-1" }, "one"),
				{ on_ack = function(ok) acked[#acked + 1] = ok end }))
			assert(alice:send(st.message({ to = bob.jid, id = "ack-2" }, "two"), { ack_timeout = 10 }))
			assert.equal(0, alice:sm_state().out - alice:sm_state().acked)
			alice:step(0) -- runs the on_ack handler
			assert.same({ true }, acked)
			local got = collect(bob, "ack-", 2, clock.now() + 10)
			assert.same({ 1, 2 }, got)
			-- switched off: no acknowledgement to wait for
			local plain = connect("alice", { resource = "plain", stream_management = false })
			assert.is_nil(plain:sm_state())
			local ok, _, code = plain:send(st.message({ to = bob.jid }, "x"), { ack_timeout = 1 })
			assert.is_nil(ok)
			assert.equal("no-sm", code)
			plain:close()
			alice:close()
			bob:close()
		end)

		it(("delivers %d messages through %d cuts, in order"):format(MESSAGES, CUTS), function()
			local started = clock.now()
			-- alice writes far more than she reads: the budgets of the two directions differ
			local proxy = faultproxy.start { host = server.host, port = server.port, seed = SEED, cuts = CUTS,
				min = 1, max_up = math.floor(MESSAGES * 150 / CUTS), max_down = 2500 }
			local bob, alice -- busted keeps one finally per test: it ends them all
			finally(function()
				if alice then alice:close() end
				if bob then bob:close() end
				proxy:stop()
			end)
			bob = connect("bob")
			local events = { resumed = 0, reconnected = 0, refused_resent = 0 }
			local deadline = clock.now() + 600
			repeat -- the proxy may cut the first login too
				alice = client.connect { jid = server:account("alice").jid, password = "pw-alice",
					host = "127.0.0.1", port = proxy.port, tls = { cafile = server.cafile }, timeout = 20,
					reconnect = { delay = 0.02, max_delay = 0.2 }, keepalive = { interval = 30, timeout = 10 } }
			until alice or clock.now() > deadline
			assert(alice, "no first login through the proxy")
			alice:on("resumed", function() events.resumed = events.resumed + 1 end)
			alice:on("reconnected", function(_, report)
				events.reconnected = events.reconnected + 1
				events.refused_resent = events.refused_resent + report.resent
			end)
			-- bob reads as they come: a server drops a client that stops reading
			local box = collector(bob, "cut-")
			for i = 1, MESSAGES do
				send_through(alice, st.message({ to = bob.jid, id = "cut-" .. i, type = "chat" }, "m" .. i), deadline)
				if i % 100 == 0 then repeat until not box.take(0) end
			end
			-- the last one acknowledged means all were
			while not alice:send(st.message({ to = bob.jid, id = "cut-" .. (MESSAGES + 1), type = "chat" }, "end"),
				{ ack_timeout = 5 }) do
				assert(clock.now() < deadline, "the last message was never acknowledged")
				alice:step(0.5)
			end
			local ids = collect(bob, "cut-", MESSAGES + 1, clock.now() + 60, box)
			local duplicates = check_delivery(ids, MESSAGES + 1)
			local cuts = #proxy:cuts()
			print(("\n%s: %d messages, %d cuts made (seed %d), %d resumed, %d new sessions "
				.. "(%d stanzas re-sent), %d duplicates, %.1f s"):format(case[1], MESSAGES + 1, cuts, SEED,
				events.resumed, events.reconnected, events.refused_resent, duplicates, clock.now() - started))
			assert.is_true(cuts >= math.floor(CUTS / 2), "the proxy cut too little")
			assert.is_true(events.resumed > 0, "no session was resumed")
			if events.reconnected == 0 then assert.equal(0, duplicates) end
			assert.is_true(duplicates <= events.refused_resent)
		end)

		if case.restartable then
			it("survives a server restart: a new session, the unacknowledged stanzas sent again", function()
				local started = clock.now()
				local bob = connect("bob", { resource = "restart" })
				local alice = connect("alice", { reconnect = { delay = 0.1, max_delay = 0.5 },
					stream_management = { request_after = 1000, request_interval = 1000 } })
				local reports = {}
				alice:on("reconnected", function(_, report) reports[#reports + 1] = report end)
				local function send(i, opts)
					return alice:send(st.message({ to = bob.jid, id = "rr-" .. i }, "m" .. i), opts)
				end
				for i = 1, 10 do assert(send(i)) end
				assert(send(11, { ack_timeout = 10 })) -- the server has 1 to 11
				for i = 12, 20 do assert(send(i)) end -- delivered, never acknowledged
				local ids = collect(bob, "rr-", 20, clock.now() + 10)
				assert.equal(20, #ids)
				server:kill()
				local deadline = clock.now() + 30
				while alice:state() ~= "reconnecting" do
					assert(clock.now() < deadline, "the client never noticed")
					alice:step(0.5)
				end
				for i = 21, 25 do assert(send(i)) end -- kept for the next connection
				for _ = 1, 3 do alice:step(0.5) end -- attempts refused: nothing listens
				assert.equal("reconnecting", alice:state())
				assert.equal(0, #reports)
				server:restart()
				deadline = clock.now() + 30
				bob = connect("bob", { resource = "restart" })
				while #reports == 0 do
					assert(clock.now() < deadline, "no new session")
					alice:step(0.5)
				end
				local report = reports[1]
				assert.is_false(report.resumed) -- the server lost the session
				assert.equal(14, report.resent) -- 12 to 25
				assert(send(26, { ack_timeout = 10 }))
				for _, id in ipairs(collect(bob, "rr-", 15, clock.now() + 10)) do ids[#ids + 1] = id end
				local duplicates = check_delivery(ids, 26)
				print(("\n%s restarted: 26 messages, %d sent again in a new session, %d duplicates, %.1f s"):format(
					case[1], report.resent, duplicates, clock.now() - started))
				assert.equal(9, duplicates) -- 12 to 20: XEP-0198 cannot know bob had them
				alice:close()
				bob:close()
			end)
		end

		it("resumes from sm_state() after a process restart", function()
			local bob = connect("bob")
			-- another process sends five, writes its state and dies
			local saved = dead_process_state(server, bob.jid, "rs-")
			local again = connect("alice", { resume = saved })
			local report = again:sm_report()
			assert.is_true(report.resumed)
			assert.equal(saved.jid, again.jid)
			-- the server had the five: only the sixth goes again
			assert.equal(5, report.acked)
			assert.equal(1, report.resent)
			assert(again:send(st.message({ to = bob.jid, id = "rs-7" }, "m"), { ack_timeout = 10 }))
			local ids = collect(bob, "rs-", 7, clock.now() + 10)
			assert.equal(0, check_delivery(ids, 7))
			-- a session that is gone: a new one, the stanzas re-sent (the default policy)
			local gone = again:sm_state()
			again:close() -- a clean close ends the session on the server
			gone.unacked = { tostring(st.message({ to = bob.jid, id = "gone-1" }, "m")) }
			gone.out = (gone.acked + 1) % 4294967296
			local fresh = connect("alice", { resume = gone })
			report = fresh:sm_report()
			assert.is_false(report.resumed)
			assert.equal(1, report.resent)
			assert.same({ 1 }, collect(bob, "gone-", 1, clock.now() + 10))
			-- the same with unacked = "return": handed back, never sent
			local back_state = fresh:sm_state()
			fresh:close()
			local kept = tostring(st.message({ to = bob.jid, id = "gone-2" }, "m"))
			back_state.unacked = { kept }
			back_state.out = (back_state.acked + 1) % 4294967296
			local back = connect("alice", { resume = back_state, stream_management = { unacked = "return" } })
			report = back:sm_report()
			assert.is_false(report.resumed)
			assert.equal(0, report.resent)
			assert.same({ kept }, report.returned)
			assert(back:send(st.message({ to = bob.jid, id = "gone-3" }, "m"), { ack_timeout = 10 }))
			assert.same({ 3 }, collect(bob, "gone-", 1, clock.now() + 10))
			back:close()
			bob:close()
		end)
	end)
end

-- A session that expired: Prosody's <failed/> then says how many stanzas
-- it had (h), and only those it lacked are sent again in the new session.
describe("stream management against Prosody 0.12 after the session expired", function()
	local server
	lazy_setup(function()
		server = require("interop.prosody").start {
			accounts = { alice = "pw-alice", bob = "pw-bob" }, modules = { "smacks" },
			config = { "smacks_hibernation_time = 1" }, log_level = "debug",
		}
	end)
	lazy_teardown(function() if server then server:stop() end end)

	it("sends again only what the h of <failed/> lacks", function()
		local function connect(user, extra) return connect_to(server, user, extra) end
		local bob = connect("bob")
		local saved = dead_process_state(server, bob.jid, "ex-")
		-- Prosody's own word that the session expired (its timer, not ours)
		local deadline = clock.now() + 30
		while not server:log():find("Destroying session for hibernating too long", 1, true) do
			assert(clock.now() < deadline, "the session never expired")
			clock.wait(clock.now() + 0.1)
		end
		local again = connect("alice", { resume = saved })
		local report = again:sm_report()
		assert.is_false(report.resumed)
		assert.equal(5, report.acked) -- <failed h='5'/>
		assert.equal(1, report.resent)
		assert(again:send(st.message({ to = bob.jid, id = "ex-7" }, "m"), { ack_timeout = 10 }))
		local ids = {}
		while #ids < 7 and clock.now() < deadline do
			local m = bob:receive(1)
			if m and m.name == "message" then ids[#ids + 1] = m.attr.id end
		end
		assert.same({ "ex-1", "ex-2", "ex-3", "ex-4", "ex-5", "ex-6", "ex-7" }, ids)
		assert.is_nil(bob:receive(0.5)) -- none twice
		again:close()
		bob:close()
	end)
end)

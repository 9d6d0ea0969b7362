-- bench/client_bench.lua: lxmpp.client over real sockets, side by side
-- with slixmpp (Debian's python3-slixmpp) against the same Prosody 0.12,
-- started for this run on loopback (spec/interop/prosody.lua):
--   - messages per second from one account to another through Prosody
--     (lxmpp to lxmpp, slixmpp to slixmpp), and each client's CPU time;
--   - connect-to-ready latency (TCP, STARTTLS, TLS 1.3, SCRAM, bind), the
--     median and the spread of several logins.
-- CLIENT_BENCH_MESSAGES (20000) and CLIENT_BENCH_LOGINS (21) set the sizes.
-- Prints Markdown; passes or fails on nothing.
local cqueues = require "cqueues"
local client = require "lxmpp.client"
local clock = require "lxmpp.clock"
local st = require "lxmpp.stanza"
local prosody = require "interop.prosody"
local slixmpp = require "interop.slixmpp"

local MESSAGES = tonumber(os.getenv("CLIENT_BENCH_MESSAGES")) or 20000
local LOGINS = tonumber(os.getenv("CLIENT_BENCH_LOGINS")) or 21

local server = prosody.start { log_level = "warn" }
local alice, bob = server:account("alice"), server:account("bob")

local function connect(account, resource)
	return assert(client.connect {
		jid = account.jid, password = account.password, resource = resource,
		host = server.host, port = server.port, tls = { cafile = server.cafile },
	})
end

local function median(list)
	table.sort(list)
	return list[math.floor((#list + 1) / 2)], list[1], list[#list]
end

-- lxmpp: a sender and a receiver, coroutines of one cqueues controller (as
-- slixmpp's two clients share one asyncio loop), the same messages and
-- the same in-order check as slixmpp_client.py's exchange.
local function lxmpp_exchange(count)
	local cq = cqueues.new()
	local result
	cq:wrap(function()
		local sender, receiver = connect(alice, "sender"), connect(bob, "receiver")
		local cpu, started = os.clock(), clock.now()
		cq:wrap(function()
			for i = 0, count - 1 do
				assert(sender:send(st.message({ to = receiver.jid, type = "chat" }, "message " .. i)))
			end
		end)
		for i = 0, count - 1 do
			local m = assert(receiver:receive(60))
			assert(m:get_child_text("body") == "message " .. i and m.attr.from == sender.jid, "out of order")
		end
		local seconds = clock.now() - started
		result = { per_second = count / seconds, seconds = seconds, cpu_seconds = os.clock() - cpu }
		sender:close()
		receiver:close()
	end)
	assert(cq:loop())
	return result
end

local function slixmpp_exchange(count)
	local reports, output = slixmpp.run(server, "exchange", { alice, bob }, { count = count, timeout = 300 })
	local report = reports[1]
	assert(report and report.ok, "slixmpp: " .. output)
	return report
end

local function lxmpp_logins(n)
	local seconds, mechanism = {}, nil
	for i = 1, n do
		local started = clock.now()
		local c = connect(alice)
		seconds[i] = clock.now() - started
		mechanism = c.sasl.mechanism
		c:close()
	end
	return seconds, mechanism
end

local function slixmpp_logins(n)
	local accounts = {}
	for i = 1, n do accounts[i] = alice end
	local reports, output = slixmpp.run(server, "login", accounts, { timeout = 300 })
	assert(#reports == n, "slixmpp: " .. output)
	local seconds = {}
	for i, r in ipairs(reports) do
		assert(r.ok, "slixmpp: " .. tostring(r.condition))
		seconds[i] = r.seconds
	end
	return seconds, reports[1].mechanism
end

local ok, err = pcall(function()
	-- a first round each, not counted: caches, JIT-less warm-up of both
	lxmpp_exchange(100)
	slixmpp_exchange(100)
	local ours, theirs = lxmpp_exchange(MESSAGES), slixmpp_exchange(MESSAGES)
	print(("Messages from alice to bob through Prosody %s on loopback, %d of them, in order, checked."):format(
		server.version, MESSAGES))
	print()
	print("| client | messages/s | wall s | client CPU s | CPU µs per message |")
	print("|---|---:|---:|---:|---:|")
	for _, row in ipairs { { "lxmpp.client (Lua 5.4, cqueues)", ours }, { "slixmpp 1.8 (Python 3)", theirs } } do
		local r = row[2]
		print(("| %s | %.0f | %.2f | %.2f | %.1f |"):format(row[1], r.per_second, r.seconds, r.cpu_seconds,
			r.cpu_seconds / MESSAGES * 1e6))
	end
	print()
	local ours_s, our_mech = lxmpp_logins(LOGINS)
	local theirs_s, their_mech = slixmpp_logins(LOGINS)
	print(("Connect to ready (TCP, STARTTLS, TLS 1.3, SASL, bind), %d logins each, milliseconds."):format(LOGINS))
	print()
	print("| client | mechanism | median | fastest | slowest |")
	print("|---|---|---:|---:|---:|")
	for _, row in ipairs { { "lxmpp.client", ours_s, our_mech }, { "slixmpp", theirs_s, their_mech } } do
		local m, lo, hi = median(row[2])
		print(("| %s | %s | %.1f | %.1f | %.1f |"):format(row[1], row[3], m * 1e3, lo * 1e3, hi * 1e3))
	end
end)
server:stop()
assert(ok, err)

-- bench/server_bench.lua: lxmpp.server (examples/server.lua, its own
-- process) side by side with Prosody 0.12 (Debian; internal_hashed, so
-- both keep SCRAM keys), the same load from this process (lxmpp.client
-- coroutines on one cqueues controller), on loopback, one run:
--   - logins per second: STARTTLS, TLS 1.3, SCRAM with stored keys (the
--     client reuses its keys: no PBKDF2 on its side), bind, close;
--   - messages routed per second between 100 pairs of sessions, with p50
--     and p99 latency (send to receipt, on this process's clock);
--   - memory per authenticated idle TLS 1.3 connection: the server's RSS
--     growth over SERVER_BENCH_IDLE (2000) connections, divided by them;
-- and the server's CPU seconds for each; then the messages again with
-- XEP-0198 stream management on both (Prosody with mod_smacks): without
-- it the other figures compare like with like. The load generator is Lua too:
-- where it is the bottleneck, the servers' CPU time tells them apart.
-- SERVER_BENCH_LOGINS (300), SERVER_BENCH_PAIRS (100),
-- SERVER_BENCH_MESSAGES (50 per pair) set the sizes. Prints Markdown.
local cqueues = require "cqueues"
local client = require "lxmpp.client"
local clock = require "lxmpp.clock"
local st = require "lxmpp.stanza"
local lxmpp_server = require "interop.lxmpp_server"
local process = require "interop.process"
local prosody = require "interop.prosody"

local LOGINS = tonumber(os.getenv("SERVER_BENCH_LOGINS")) or 300
local PAIRS = tonumber(os.getenv("SERVER_BENCH_PAIRS")) or 100
local MESSAGES = tonumber(os.getenv("SERVER_BENCH_MESSAGES")) or 50
local IDLE = tonumber(os.getenv("SERVER_BENCH_IDLE")) or 2000
local CONCURRENCY = 10
-- the loads of the latency plot, in pairs; the last is the table's
local LOADS = { math.max(1, math.floor(PAIRS / 10)), math.max(1, math.floor(PAIRS / 2)), PAIRS }
local ACCOUNTS = { alice = "alice's secret", bob = "bob's secret" }

-- lxmpp.server from a config file, like any user would run it.
local function start_lxmpp()
	local p = lxmpp_server.server.start { accounts = ACCOUNTS, limits = {
		max_connections = 50000, max_connections_per_ip = 50000, max_auth_failures_per_ip = 1000,
		read_rate = 1e9, read_burst = 1e9,
	} }
	return {
		name = "lxmpp.server", domain = p.domain, host = p.host, port = p.port, cafile = p.cafile,
		pid = p.proc.pid, stop = function() p:stop() end,
	}
end

local function start_prosody()
	local p = prosody.start { log_level = "warn", accounts = ACCOUNTS, authentication = "internal_hashed",
		modules = { "smacks" } }
	return {
		name = "Prosody " .. p.version:match("^[%d.]+"), domain = p.domain, host = p.host, port = p.port,
		cafile = p.cafile, pid = p.proc.pid, stop = function() p:stop() end,
	}
end

local function percentile(sorted, p)
	return sorted[math.max(1, math.ceil(#sorted * p))]
end

local function connect(srv, user, extra)
	local o = { jid = user .. "@" .. srv.domain, password = ACCOUNTS[user], host = srv.host, port = srv.port,
		tls = { cafile = srv.cafile }, timeout = 60, keepalive = false, stream_management = false }
	for k, v in pairs(extra or {}) do o[k] = v end
	return client.connect(o)
end

-- Runs fn in a fresh controller until it returns.
local function run(fn)
	local cq, result = cqueues.new(), nil
	cq:wrap(function() result = fn(cq) end)
	assert(cq:loop())
	return result
end

local function logins(srv)
	return run(function(cq)
		local first = assert(connect(srv, "alice"))
		local keys = first.keys
		first:close()
		local left, done = LOGINS, 0
		local cpu, started = process.cpu_seconds(srv.pid), clock.now()
		local finished = require("cqueues.condition").new()
		for _ = 1, CONCURRENCY do
			cq:wrap(function()
				while left > 0 do
					left = left - 1
					local c = assert(connect(srv, "alice", { keys = keys }))
					c:close()
					done = done + 1
				end
				finished:signal()
			end)
		end
		while done < LOGINS do finished:wait(1) end
		local seconds = clock.now() - started
		return { per_second = LOGINS / seconds, cpu = process.cpu_seconds(srv.pid) - cpu }
	end)
end

-- sm: the clients enable XEP-0198 stream management
local function messages(srv, n_pairs, sm)
	return run(function(cq)
		local senders, receivers = {}, {}
		for i = 1, n_pairs do
			senders[i] = assert(connect(srv, "alice", { resource = "s" .. i, stream_management = sm }))
			receivers[i] = assert(connect(srv, "bob", { resource = "r" .. i, stream_management = sm }))
		end
		local latencies, done = {}, 0
		local finished = require("cqueues.condition").new()
		local cpu, started = process.cpu_seconds(srv.pid), clock.now()
		for i = 1, n_pairs do
			cq:wrap(function()
				for _ = 1, MESSAGES do
					local m = assert(receivers[i]:receive(60))
					latencies[#latencies + 1] = clock.now() - tonumber(m:get_child_text("body"))
				end
				done = done + 1
				finished:signal()
			end)
			cq:wrap(function()
				for _ = 1, MESSAGES do
					assert(senders[i]:send(st.message({ to = receivers[i].jid, type = "chat" }, ("%.6f"):format(clock.now()))))
				end
			end)
		end
		while done < n_pairs do finished:wait(1) end
		local seconds = clock.now() - started
		local cpu_used = process.cpu_seconds(srv.pid) - cpu
		for i = 1, n_pairs do
			senders[i]:close()
			receivers[i]:close()
		end
		table.sort(latencies)
		return { per_second = #latencies / seconds, p50 = percentile(latencies, 0.5),
			p99 = percentile(latencies, 0.99), cpu = cpu_used }
	end)
end

local function idle(srv)
	return run(function()
		local c = assert(connect(srv, "alice", { resource = "warm" }))
		local keys = c.keys
		collectgarbage()
		cqueues.sleep(1)
		local before = process.rss(srv.pid)
		local list, samples = { c }, { { 0, 0 } }
		local step = math.max(1, math.floor(IDLE / 10))
		for i = 2, IDLE do
			list[i] = assert(connect(srv, "alice", { keys = keys, resource = "idle" .. i }))
			if i % step == 0 then samples[#samples + 1] = { i, process.rss(srv.pid) - before } end
		end
		cqueues.sleep(3) -- quiet: the servers may trim their idle connections
		local after = process.rss(srv.pid)
		for _, x in ipairs(list) do x.t:close() end
		return { per_connection = (after - before) / (IDLE - 1), total = after, samples = samples }
	end)
end

local results = {}
for _, start in ipairs { start_lxmpp, start_prosody } do
	local srv = start()
	local ok, err = pcall(function()
		local r = { name = srv.name, logins = logins(srv), loads = {} }
		for _, pairs_ in ipairs(LOADS) do r.loads[#r.loads + 1] = messages(srv, pairs_) end
		r.messages = r.loads[#r.loads]
		r.sm = messages(srv, PAIRS, true)
		r.idle = idle(srv)
		results[#results + 1] = r
	end)
	srv.stop()
	assert(ok, err)
end

local a, b = results[1], results[2]
local function ratio(x, y) return ("%.2f"):format(x / y) end
print(("| | %s | %s | ratio |"):format(a.name, b.name))
print("|---|---:|---:|---:|")
print(("| logins per second (%d, %d at once) | %.0f | %.0f | %s |"):format(LOGINS, CONCURRENCY,
	a.logins.per_second, b.logins.per_second, ratio(a.logins.per_second, b.logins.per_second)))
print(("| server CPU ms per login | %.2f | %.2f | %s |"):format(a.logins.cpu * 1000 / LOGINS,
	b.logins.cpu * 1000 / LOGINS, ratio(a.logins.cpu, b.logins.cpu)))
print(("| messages per second (%d pairs, %d each) | %.0f | %.0f | %s |"):format(PAIRS, MESSAGES,
	a.messages.per_second, b.messages.per_second, ratio(a.messages.per_second, b.messages.per_second)))
print(("| latency p50, ms | %.1f | %.1f | %s |"):format(a.messages.p50 * 1000, b.messages.p50 * 1000,
	ratio(a.messages.p50, b.messages.p50)))
print(("| latency p99, ms | %.1f | %.1f | %s |"):format(a.messages.p99 * 1000, b.messages.p99 * 1000,
	ratio(a.messages.p99, b.messages.p99)))
print(("| server CPU µs per message | %.1f | %.1f | %s |"):format(a.messages.cpu * 1e6 / (PAIRS * MESSAGES),
	b.messages.cpu * 1e6 / (PAIRS * MESSAGES), ratio(a.messages.cpu, b.messages.cpu)))
print(("| with XEP-0198: messages per second | %.0f | %.0f | %s |"):format(a.sm.per_second, b.sm.per_second,
	ratio(a.sm.per_second, b.sm.per_second)))
print(("| with XEP-0198: server CPU µs per message | %.1f | %.1f | %s |"):format(
	a.sm.cpu * 1e6 / (PAIRS * MESSAGES), b.sm.cpu * 1e6 / (PAIRS * MESSAGES), ratio(a.sm.cpu, b.sm.cpu)))
print(("| memory per idle TLS 1.3 connection (%d), bytes | %.0f | %.0f | %s |"):format(IDLE,
	a.idle.per_connection, b.idle.per_connection, ratio(a.idle.per_connection, b.idle.per_connection)))
print(("| server RSS with them, MB | %.1f | %.1f | %s |"):format(a.idle.total / 1e6, b.idle.total / 1e6,
	ratio(a.idle.total, b.idle.total)))

-- The plots beside the tables in bench/README.md, when gnuplot is there.
local function plot(name, title, xlabel, ylabel, series)
	local dir = process.tempdir()
	local lines = {}
	for i, one in ipairs(series) do
		local path = ("%s/%d.dat"):format(dir, i)
		local f = assert(io.open(path, "w"))
		for _, point in ipairs(one.points) do f:write(point[1], " ", point[2], "\n") end
		f:close()
		lines[#lines + 1] = ("'%s' using 1:2 with linespoints title '%s'"):format(path, one.title)
	end
	local script = table.concat({
		"set terminal png size 800,500",
		"set output 'bench/" .. name .. "'",
		"set title '" .. title .. "'",
		"set xlabel '" .. xlabel .. "'",
		"set ylabel '" .. ylabel .. "'",
		"set key left top",
		"plot " .. table.concat(lines, ", "),
	}, "\n")
	local f = assert(io.open(dir .. "/plot.gp", "w"))
	f:write(script, "\n")
	f:close()
	local ok, out = process.run { "gnuplot", dir .. "/plot.gp" }
	process.remove(dir)
	if ok then print("\n![" .. title .. "](" .. name .. ")") else print("\n(gnuplot failed: " .. out .. ")") end
end

if process.run { "sh", "-c", "command -v gnuplot" } then
	local memory, latency = {}, {}
	for _, r in ipairs(results) do
		local points = {}
		for _, sample in ipairs(r.idle.samples) do points[#points + 1] = { sample[1], sample[2] / 1e6 } end
		memory[#memory + 1] = { title = r.name, points = points }
		local p50, p99 = {}, {}
		for i, load in ipairs(r.loads) do
			p50[#p50 + 1] = { LOADS[i], load.p50 * 1000 }
			p99[#p99 + 1] = { LOADS[i], load.p99 * 1000 }
		end
		latency[#latency + 1] = { title = r.name .. " p50", points = p50 }
		latency[#latency + 1] = { title = r.name .. " p99", points = p99 }
	end
	plot("server_memory.png", "server memory growth over idle TLS 1.3 connections", "connections", "MB", memory)
	plot("server_latency.png", ("latency, %d messages per pair sent at once"):format(MESSAGES), "pairs of sessions",
		"ms", latency)
end


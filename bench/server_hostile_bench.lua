-- bench/server_hostile_bench.lua: lxmpp.server (examples/server.lua, its
-- own process, default limits) beside Prosody 0.12 (Debian, started as in
-- server_bench.lua), each under the same hostile loads from this process,
-- with a well-behaved client's ping round trip meanwhile and the server's
-- RSS before and after each load, one run. The loads, in this order:
--   - quiet (nothing);
--   - a slowloris: HOSTILE_SLOWLORIS (200) connections that write their
--     stream header one byte every 100 ms, for 4 s;
--   - an unauthenticated flood: HOSTILE_FLOOD (1000) connections opened
--     at once that never speak, held 2 s;
--   - a stanza flood from one session: HOSTILE_STANZAS (2000) messages of
--     200 bytes to a session that reads them;
--   - a client that never reads (an examples/echo_bot.lua process, stopped
--     with SIGSTOP once online), sent HOSTILE_DEAF_MB (8) MB from 32
--     sessions;
--   - failed logins: HOSTILE_LOGINS (1000; the issue's 100k with
--     HOSTILE_LOGINS=100000) wrong PLAIN passwords, 10 at a time, each on
--     its own TLS connection (last: lxmpp.server refuses this address's
--     logins for a while after).
-- The loads run in this process beside the pinging client, so the pings
-- also wait for the attacker's own work. Prints Markdown.
-- HOSTILE_BASE=DIR (a built copy of another lxmpp tree, e.g. main's) runs
-- that tree's lxmpp.server first, as "lxmpp.server (base)": a change and
-- its base side by side in one run.
local cqueues = require "cqueues"
local condition = require "cqueues.condition"
local socket = require "cqueues.socket"
local client = require "lxmpp.client"
local clock = require "lxmpp.clock"
local st = require "lxmpp.stanza"
local lxmpp_server = require "interop.lxmpp_server"
local process = require "interop.process"
local prosody = require "interop.prosody"

local SLOWLORIS = tonumber(os.getenv("HOSTILE_SLOWLORIS")) or 200
local FLOOD = tonumber(os.getenv("HOSTILE_FLOOD")) or 1000
local STANZAS = tonumber(os.getenv("HOSTILE_STANZAS")) or 2000
local DEAF_MB = tonumber(os.getenv("HOSTILE_DEAF_MB")) or 8
local LOGINS = tonumber(os.getenv("HOSTILE_LOGINS")) or 1000
local DEAF_SENDERS = 32

local ACCOUNTS = { alice = "alice's secret", bob = "bob's secret", mallory = "mallory's secret" }

local BASE = os.getenv("HOSTILE_BASE")

local function start_lxmpp()
	local p = lxmpp_server.server.start { accounts = ACCOUNTS }
	return { name = "lxmpp.server", server = p, pid = p.proc.pid }
end

-- examples/server.lua of this tree on the modules of BASE
local function start_base()
	local p = lxmpp_server.server.start { accounts = ACCOUNTS, wrap = { "env",
		("LUA_PATH=%s/lua/?.lua;%s/lua/?/init.lua;;"):format(BASE, BASE), ("LUA_CPATH=%s/build/?.so;;"):format(BASE) } }
	return { name = "lxmpp.server (base)", server = p, pid = p.proc.pid }
end

local function start_prosody()
	local p = prosody.start { log_level = "warn", accounts = ACCOUNTS, authentication = "internal_hashed" }
	return { name = "Prosody " .. p.version:match("^[%d.]+"), server = p, pid = p.proc.pid }
end

-- Runs fn(i) for i = 1..n, `width` at a time, and waits for them all.
local function in_parallel(n, width, fn)
	local next_i, running, done = 1, 0, condition.new()
	local function worker()
		while next_i <= n do
			local i = next_i
			next_i = next_i + 1
			fn(i)
		end
		running = running - 1
		done:signal()
	end
	for _ = 1, math.min(width, n) do
		running = running + 1
		cqueues.running():wrap(worker)
	end
	while running > 0 do done:wait() end
end

local function header(domain)
	return ("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
		.. "xmlns:stream='http://etherx.jabber.org/streams' to='%s' version='1.0'>"):format(domain)
end

-- The loads: name, and a function(target, connect) that attacks.
local LOADS = {
	{ "quiet", function() cqueues.sleep(1) end },

	{ ("a slowloris: %d connections writing their stream header a byte per 100 ms, 4 s"):format(SLOWLORIS),
		function(t)
			local text, stop = header(t.server.domain), clock.now() + 4
			in_parallel(SLOWLORIS, SLOWLORIS, function()
				local s = socket.connect { host = t.server.host, port = t.server.port }
				s:onerror(function(_, _, why) return why end)
				if not s:connect(5) then return s:close() end
				s:setmode("bn", "bn")
				local i = 1
				while clock.now() < stop do
					if i <= #text and not s:write(text:sub(i, i)) then break end
					i = i + 1
					cqueues.sleep(0.1)
				end
				s:close()
			end)
			cqueues.sleep(1) -- the server sees them go
		end },

	{ ("an unauthenticated flood: %d connections at once that never speak, held 2 s"):format(FLOOD),
		function(t)
			local socks = {}
			in_parallel(FLOOD, 50, function(i)
				local s = socket.connect { host = t.server.host, port = t.server.port }
				s:onerror(function(_, _, why) return why end)
				socks[i] = s
				s:connect(5)
			end)
			cqueues.sleep(2)
			for _, s in pairs(socks) do s:close() end
			cqueues.sleep(1) -- the server sees them go
		end },

	{ ("a stanza flood from one session: %d messages of 200 bytes"):format(STANZAS), function(_, connect)
		local bob = assert(connect("bob", { resource = "reader" }))
		bob:on("message", function() end)
		local m = assert(connect("mallory", { resource = "flood" }))
		local body = ("x"):rep(200)
		for _ = 1, STANZAS do assert(m:send(st.message({ to = bob.jid, type = "chat" }, body))) end
		-- answered once the server has read everything before it
		assert(m:ping(nil, 300))
		m:close()
		bob:close()
	end },

	{ ("a client that never reads (stopped), sent %d MB from %d sessions"):format(DEAF_MB, DEAF_SENDERS),
		function(t, connect)
			local dir = process.tempdir()
			local bob = { user = "bob", jid = "bob@" .. t.server.domain, password = ACCOUNTS.bob }
			local bot, deaf = process.start_bot(t.server, "echo_bot.lua", bob, { bob.jid .. "/deaf" }, dir .. "/bot.log")
			assert(bot, deaf)
			os.execute("kill -STOP " .. bot.pid)
			local body = ("x"):rep(10000)
			local each = math.ceil(DEAF_MB * 1e6 / #body / DEAF_SENDERS)
			in_parallel(DEAF_SENDERS, DEAF_SENDERS, function(i)
				local m = connect("mallory", { resource = "sender" .. i })
				if not m then return end
				for _ = 1, each do m:send(st.message({ to = deaf, type = "chat" }, body)) end
				m:ping(nil, 120)
				m:close()
			end)
			os.execute("kill -CONT " .. bot.pid)
			bot:stop()
			process.remove(dir)
		end },

	{ ("failed logins: %d wrong PLAIN passwords, 10 at once, a TLS connection each"):format(LOGINS),
		function(_, connect)
			in_parallel(LOGINS, 10, function()
				connect("bob", { password = "wrong", mechanisms = { "PLAIN" }, timeout = 10 })
			end)
		end },
}

local function attack(target)
	local rows = {}
	local cq = cqueues.new()
	cq:wrap(function()
		local srv = target.server
		local function connect(user, extra)
			local o = { jid = user .. "@" .. srv.domain, password = ACCOUNTS[user], host = srv.host, port = srv.port,
				tls = { cafile = srv.cafile }, timeout = 30, keepalive = false }
			for k, v in pairs(extra or {}) do o[k] = v end
			return client.connect(o)
		end
		local good = assert(connect("alice", { resource = "good" }))
		for _, load in ipairs(LOADS) do
			local before, started = process.rss(target.pid), clock.now()
			local running = true
			cq:wrap(function()
				load[2](target, connect)
				running = false
			end)
			local times = {}
			repeat
				local rtt = good:ping(nil, 30)
				times[#times + 1] = rtt or 30
				cqueues.sleep(0.05)
			until not running and #times >= 5
			table.sort(times)
			rows[#rows + 1] = { p50 = times[math.floor((#times + 1) / 2)] * 1000, max = times[#times] * 1000,
				pings = #times, seconds = clock.now() - started, before = before, after = process.rss(target.pid) }
		end
		good:close()
	end)
	assert(cq:loop())
	return rows
end

local results = {}
local starts = { start_lxmpp, start_prosody }
if BASE then table.insert(starts, 1, start_base) end
for _, start in ipairs(starts) do
	local target = start()
	local ok, rows = pcall(attack, target)
	target.server:stop()
	assert(ok, rows)
	results[#results + 1] = { name = target.name, rows = rows }
end

-- one column per server under each heading
local function columns(heading, cell)
	local out = {}
	for i, r in ipairs(results) do out[i] = (i == 1 and heading and heading .. ": " or "") .. cell(r) end
	return table.concat(out, " | ")
end
local name = function(r) return r.name end
print(("| while | %s | %s | %s | %s |"):format(columns("ping p50, ms", name), columns("ping max, ms", name),
	columns("seconds", name), columns("RSS before → after, MB", name)))
print("|---|" .. ("---:|"):rep(4 * #results))
for i, load in ipairs(LOADS) do
	local function cell(fmt, f) return columns(nil, function(r) return fmt:format(f(r.rows[i])) end) end
	print(("| %s | %s | %s | %s | %s |"):format(load[1],
		cell("%.1f", function(x) return x.p50 end), cell("%.1f", function(x) return x.max end),
		cell("%.1f", function(x) return x.seconds end),
		cell("%.1f → %.1f", function(x) return x.before / 1e6, x.after / 1e6 end)))
end

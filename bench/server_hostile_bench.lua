-- bench/server_hostile_bench.lua: lxmpp.server (examples/server.lua, its
-- own process, default limits) under hostile load from this process, and a
-- well-behaved client's ping round trip meanwhile: quiet, during a flood
-- of connections that never speak, during a stanza flood from one session,
-- during failed logins from one address, and with a client that never
-- reads. Also the server's RSS before and after each. Prints Markdown.
local cqueues = require "cqueues"
local socket = require "cqueues.socket"
local client = require "lxmpp.client"
local st = require "lxmpp.stanza"
local lxmpp_server = require "interop.lxmpp_server"
local process = require "interop.process"

local ACCOUNTS = { alice = "alice's secret", bob = "bob's secret", mallory = "mallory's secret" }

local srv = lxmpp_server.server.start { accounts = ACCOUNTS }
local domain, port, pid = srv.domain, srv.port, srv.proc.pid

local rows = {}
local cq = cqueues.new()
cq:wrap(function()
	local function connect(user, extra)
		local o = { jid = user .. "@" .. domain, password = ACCOUNTS[user], host = "127.0.0.1", port = port,
			tls = { cafile = srv.cafile }, timeout = 30, keepalive = false }
		for k, v in pairs(extra or {}) do o[k] = v end
		return client.connect(o)
	end
	local good = assert(connect("alice", { resource = "good" }))

	-- pings of the good client while `attack` runs (in its own coroutine)
	local function measure(name, attack)
		local before = process.rss(pid)
		local running = true
		cq:wrap(function()
			attack()
			running = false
		end)
		local times = {}
		repeat
			local rtt = good:ping(nil, 30)
			times[#times + 1] = rtt or 30
			cqueues.sleep(0.05)
		until not running and #times >= 5
		table.sort(times)
		rows[#rows + 1] = { name, times[math.floor((#times + 1) / 2)] * 1000, times[#times] * 1000, #times, before,
			process.rss(pid) }
	end

	measure("quiet", function() cqueues.sleep(1) end)

	measure("90 connections that never speak (the per-address limit is 100)", function()
		local socks = {}
		for i = 1, 90 do
			socks[i] = socket.connect { host = "127.0.0.1", port = port }
			socks[i]:connect(5)
		end
		cqueues.sleep(2)
		for _, s in ipairs(socks) do s:close() end
	end)

	measure("a stanza flood: 20,000 messages from one session", function()
		local m = assert(connect("mallory", { resource = "flood" }))
		local body = ("x"):rep(200)
		for _ = 1, 20000 do m:send(st.message({ to = "bob@" .. domain, type = "chat" }, body)) end
		assert(m:ping(nil, 120))
		m:close()
	end)

	measure("a client that never reads, sent 5 MB", function()
		local deaf = assert(connect("bob", { resource = "deaf" }))
		deaf:presence()
		assert(deaf:ping())
		local m = assert(connect("mallory", { resource = "sender" }))
		local body = ("x"):rep(10000)
		for _ = 1, 500 do m:send(st.message({ to = deaf.jid, type = "chat" }, body)) end
		assert(m:ping(nil, 60))
		m:close()
		deaf.t:close()
	end)

	-- last: from then on this address may not log in for a while
	measure("30 failed logins from this address (the bucket holds 10)", function()
		for _ = 1, 30 do connect("bob", { password = "wrong", timeout = 10 }) end
	end)

	good:close()
end)
local ok, err = cq:loop()
srv:stop()
assert(ok, err)

print("| while | ping p50, ms | ping max, ms | pings | server RSS before, MB | after, MB |")
print("|---|---:|---:|---:|---:|---:|")
for _, r in ipairs(rows) do
	print(("| %s | %.1f | %.1f | %d | %.1f | %.1f |"):format(r[1], r[2], r[3], r[4], r[5] / 1e6, r[6] / 1e6))
end

-- conn_bench.lua: complete negotiations (TLS 1.3 by STARTTLS, SCRAM-SHA-256
-- with stored keys on the server, bind; client and server in this process)
-- side by side with their floor from the same run: the bare TLS handshakes
-- and the PBKDF2 a SCRAM client must do. Then the memory each ready
-- connection holds. CPU time; the C side runs bench/conn_bench.c. Run: make
-- bench, or with LUA_PATH/LUA_CPATH as the Makefile sets them.
local stream = require "lxmpp.stream"
local sasl = require "lxmpp.sasl"

local BIN = os.getenv("LXMPP_BENCH_BIN") or "build/bench"
local N = tonumber(os.getenv("LXMPP_BENCH_NEGOTIATIONS")) or 300

local function run(args, env)
	local p = assert(io.popen(("%s%s/conn_bench %s"):format(env or "", BIN, args)))
	local out = p:read("*a")
	p:close()
	return out
end

-- The same negotiation through lxmpp.stream: the binding's cost on top.
local cert, key = stream.selfsigned("im.example.com")
local sctx = stream.tls_context("server", { certificate = cert, key = key, min_tls = "1.3" })
local cctx = stream.tls_context("client", { ca = cert, min_tls = "1.3" })
local stored, server_key, salt, iterations = sasl.scram_keys("SHA-256", "r0m30myr0m30", "bench-salt-16byt", 4096)

local function lua_negotiation()
	local c = stream.client{ jid = "juliet@im.example.com/balcony", password = "r0m30myr0m30",
		mechanisms = { "SCRAM-SHA-256" }, tls_context = cctx }
	local s = stream.server{ domains = { "im.example.com" }, tls_context = sctx }
	repeat
		local moved = false
		local out = c:take_output()
		if out then moved = true; assert(s:receive_bytes(out) == #out) end
		for ev in s:events() do
			if ev.type == "auth-request" then
				assert(s:answer_auth{ salt = salt, iterations = iterations, stored_key = stored,
					server_key = server_key })
			elseif ev.type == "bind-request" then
				assert(s:accept_bind("juliet@im.example.com/balcony"))
			end
		end
		out = s:take_output()
		if out then moved = true; assert(c:receive_bytes(out) == #out) end
		for _ in c:events() do end
	until not moved
	assert(c:state() == "ready" and s:state() == "ready")
end

local function lua_time(n)
	local best = math.huge
	for _ = 1, 3 do
		collectgarbage()
		local t0 = os.clock()
		for _ = 1, n do lua_negotiation() end
		best = math.min(best, os.clock() - t0)
	end
	return best
end

local t = {}
for what, n, seconds in run("speed " .. N):gmatch("(%a[%w]*) (%d+) ([%d.]+)") do
	t[what] = tonumber(seconds) / tonumber(n)
end
assert(t.negotiate and t.tls and t.pbkdf2, "conn_bench speed failed")
local floor = t.tls + t.pbkdf2
local thirds = math.max(math.floor(N / 3), 1)
local lua = lua_time(thirds) / thirds

local function row(name, per)
	print(("| %s | %.3f | %.0f | %+.1f%% |"):format(name, per * 1e3, 1 / per, (per / floor - 1) * 100))
end
print(("Negotiations, CPU time, best of interleaved rounds (%d each):\n"):format(N))
print("| | ms each | per second | over the floor |")
print("|---|---:|---:|---:|")
print(("| floor: a TLS 1.3 handshake (%.3f ms) + PBKDF2-SHA-256, 4096 iterations (%.3f ms) | %.3f | %.0f | |")
	:format(t.tls * 1e3, t.pbkdf2 * 1e3, floor * 1e3, 1 / floor))
row("complete negotiation, C (lx_conn)", t.negotiate)
row("complete negotiation, Lua (lxmpp.stream)", lua)

print("\nMemory per ready connection, bytes (lx_conn_trim, for an idle stream, releases the XML parser"
	.. " and OpenSSL's read and write buffers):\n")
print("| role | transport | ours, ready | ours, trimmed | OpenSSL's, ready | OpenSSL's, trimmed |")
print("|---|---|---:|---:|---:|---:|")
local mem = {}
for role, mode, state, ours, ossl in run("memory 200", "GLIBC_TUNABLES=glibc.malloc.tcache_count=0 ")
		:gmatch("(%a+) (%a+) (%a+) (%-?%d+) (%-?%d+)") do
	local k = role .. " " .. mode
	mem[k] = mem[k] or { role = role, mode = mode }
	mem[k][state] = tonumber(ours)
	mem[k][state .. "_openssl"] = tonumber(ossl)
end
for _, k in ipairs{ "client tls", "server tls", "client plain", "server plain" } do
	local m = assert(mem[k], "conn_bench memory failed")
	print(("| %s | %s | %d | %d | %d | %d |"):format(m.role, m.mode == "tls" and "TLS 1.3" or "plaintext",
		m.ready, m.trimmed, m.ready_openssl, m.trimmed_openssl))
end

-- bench/sasl_bench.lua: SCRAM logins per second (CPU time, os.clock) for
-- each hash and role, next to the bare key derivation (PBKDF2 + 3 HMACs)
-- in the same run, a reconnect with cached keys, and Prosody's util.sasl
-- SCRAM server driven by our client when Prosody is installed. Figures
-- are the best of interleaved rounds; SASL_BENCH_SECONDS sets the budget
-- per figure (0.4 s).
-- Prints Markdown tables; passes or fails on nothing.
local sasl = require "lxmpp.sasl"

local clock = os.clock
local ITERATIONS = 4096
local BUDGET = tonumber(os.getenv("SASL_BENCH_SECONDS")) or 0.4
local PASSWORD, SALT = "pencil", "0123456789abcdef"

local ROUNDS = 5

-- Calls f until `budget` seconds of CPU have passed; f returns the seconds
-- that count (nil: all of its time). Returns operations per second.
local function rate(f, budget)
	local n, counted, start = 0, 0, clock()
	repeat
		local t0 = clock()
		local part = f()
		counted = counted + (part or clock() - t0)
		n = n + 1
	until clock() - start >= budget
	return n / counted
end

-- The rates of the functions in `fs`, measured in interleaved rounds (the
-- machine is shared and its speed drifts); the best round of each counts.
local function rates(fs)
	local best = {}
	for _ = 1, ROUNDS do
		for i, f in ipairs(fs) do
			best[i] = math.max(best[i] or 0, rate(f, BUDGET / ROUNDS))
		end
	end
	return require("lxmpp.compat").unpack(best)
end

local function timed(f, ...)
	local t0 = clock()
	local a, b, c = f(...)
	return clock() - t0, a, b, c
end

-- One login of client c against our server s: returns the client's and
-- the server's CPU seconds.
local function login(c, s, answer)
	local tc, ts = 0, 0
	local dt, initial = timed(c.initial, c)
	tc = tc + dt
	local kind, data
	dt, kind, data = timed(s.start, s, c.mechanism, initial)
	ts = ts + dt
	while true do
		if kind == "need-credentials" then
			dt, kind, data = timed(s.credentials, s, answer)
			ts = ts + dt
		elseif kind == "challenge" then
			local response
			dt, response = timed(c.step, c, data)
			tc = tc + dt
			dt, kind, data = timed(s.step, s, assert(response))
			ts = ts + dt
		else
			assert(kind == "success", data)
			dt = timed(function() assert(c:finish(data)) end)
			return tc + dt, ts
		end
	end
end

local rows = {}
for _, hash in ipairs{ "SHA-1", "SHA-256", "SHA-512" } do
	local mech = "SCRAM-" .. hash
	local stored, server_key = sasl.scram_keys(hash, PASSWORD, SALT, ITERATIONS)
	local answer = { salt = SALT, iterations = ITERATIONS, stored_key = stored, server_key = server_key }
	local function client(keys)
		return assert(sasl.client{ mechanisms = { mech }, username = "user",
			password = not keys and PASSWORD or nil, keys = keys })
	end
	local warm = client()
	login(warm, sasl.server{ mechanisms = { mech } }, answer)
	local cached = warm.keys
	local derive, full, reconnect, server, both = rates{
		function() sasl.scram_keys(hash, PASSWORD, SALT, ITERATIONS) end,
		function() return (login(client(), sasl.server{ mechanisms = { mech } }, answer)) end,
		function() return (login(client(cached), sasl.server{ mechanisms = { mech } }, answer)) end,
		function() return select(2, login(client(cached), sasl.server{ mechanisms = { mech } }, answer)) end,
		function() login(client(), sasl.server{ mechanisms = { mech } }, answer) end,
	}
	rows[#rows + 1] = ("| %s | %.0f | %.0f (%+.1f%%) | %.0f | %.0f | %.0f |"):format(mech, derive, full,
		100 * derive / full - 100, reconnect, server, both)
end

print(("### SCRAM, %d iterations, logins per CPU second (lxmpp)"):format(ITERATIONS))
print()
print("| mechanism | key derivation alone | client login (overhead) | client reconnect, cached keys "
	.. "| server, stored keys | whole exchange, both sides |")
print("|---|---:|---:|---:|---:|---:|")
for _, row in ipairs(rows) do print(row) end
print()
print("Key derivation = PBKDF2 + ClientKey/StoredKey/ServerKey (sasl.scram_keys). The client login's "
	.. "overhead is how much slower a login is than the derivation alone.")

-- Prosody's util.sasl, same process, same client, same stored keys.
local prosody_path = "/usr/lib/prosody/?.lua;"
package.path = package.path .. ";" .. prosody_path
package.cpath = package.cpath .. ";/usr/lib/prosody/?.so"
local ok, psasl = pcall(require, "util.sasl")
local phashes = ok and require "util.hashes"
print()
if not ok then
	print("(Prosody's util.sasl not found: no comparison)")
	return
end

local prow = {}
for _, hash in ipairs{ "SHA-1", "SHA-256" } do
	local mech = "SCRAM-" .. hash
	local stored, server_key = sasl.scram_keys(hash, PASSWORD, SALT, ITERATIONS)
	local answer = { salt = SALT, iterations = ITERATIONS, stored_key = stored, server_key = server_key }
	local warm = assert(sasl.client{ mechanisms = { mech }, username = "user", password = PASSWORD })
	login(warm, sasl.server{ mechanisms = { mech } }, answer)
	local cached = warm.keys
	local profile = { ["scram_" .. hash:lower():gsub("-", "_")] = function()
		return stored, server_key, ITERATIONS, SALT, true
	end }
	local function prosody_login()
		local c = assert(sasl.client{ mechanisms = { mech }, username = "user", keys = cached })
		local handler = psasl.new("example.org", profile)
		local ts = 0
		local dt = timed(handler.select, handler, mech)
		ts = ts + dt
		local msg = c:initial()
		while true do
			local kind, data
			dt, kind, data = timed(handler.process, handler, msg)
			ts = ts + dt
			if kind == "success" then
				assert(c:finish(data))
				return ts
			end
			assert(kind == "challenge", data)
			msg = assert(c:step(data))
		end
	end
	local pbkdf2 = hash == "SHA-1" and phashes.pbkdf2_hmac_sha1 or phashes.pbkdf2_hmac_sha256
	local ours, theirs, derive, pderive = rates{
		function()
			return select(2, login(assert(sasl.client{ mechanisms = { mech }, username = "user", keys = cached }),
				sasl.server{ mechanisms = { mech } }, answer))
		end,
		prosody_login,
		function() sasl.scram_keys(hash, PASSWORD, SALT, ITERATIONS) end,
		function() pbkdf2(PASSWORD, SALT, ITERATIONS) end,
	}
	prow[#prow + 1] = ("| %s | %.0f | %.0f | %.1fx | %.0f | %.0f |"):format(mech, ours, theirs,
		ours / theirs, derive, pderive)
end
print("### SCRAM server, stored keys: lxmpp vs Prosody 0.12 util.sasl (same process, same client)")
print()
print("| mechanism | lxmpp server logins/s | Prosody server logins/s | ratio "
	.. "| lxmpp scram_keys/s | Prosody pbkdf2/s |")
print("|---|---:|---:|---:|---:|---:|")
for _, row in ipairs(prow) do print(row) end

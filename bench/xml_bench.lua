-- Parsing and serializing the benchmark corpus (bench/gen_corpus.lua:
-- 100,000 stanzas of a realistic server-to-client stream), by lxmpp and by
-- Prosody 0.12 (util.xmppstream on LuaExpat, util.stanza) in this process,
-- then the adversarial inputs at n and 2n. CPU time, best of three.
local xml = require "lxmpp.xml"
require "lxmpp.stanza"

local STANZAS = tonumber(os.getenv("LXMPP_BENCH_STANZAS")) or 100000
local BIN = os.getenv("LXMPP_BENCH_BIN") or "build/bench"
local corpus = ("bench/corpus-%d.xml"):format(STANZAS)
local PIECE = 4096

local function best_of(n, fn)
	local best, result = math.huge, nil
	for _ = 1, n do
		collectgarbage()
		local t0 = os.clock()
		result = fn()
		best = math.min(best, os.clock() - t0)
	end
	return best, result
end

local function file_exists(path)
	local f = io.open(path, "rb")
	if f then f:close() end
	return f ~= nil
end

if not file_exists(corpus) then
	assert(os.execute(("lua5.4 bench/gen_corpus.lua %d %s 42 2>/dev/null"):format(STANZAS, corpus)))
end
local data = assert(io.open(corpus, "rb")):read("*a")

local xmppstream, why = require "support.prosody"("util.xmppstream")
local prosody_ok = xmppstream ~= nil
if not prosody_ok then print("**" .. why .. ": its columns are empty.**\n") end

local rows = {}
local function row(name, stanzas, seconds, bytes)
	rows[#rows + 1] = { name, stanzas, seconds, bytes }
	return seconds
end

-- C side: a separate program on the same file.
local function cbench(mode)
	local p = assert(io.popen(("%s/xml_bench %s %s"):format(BIN, mode, corpus)))
	local out = p:read("*a")
	p:close()
	local count, seconds, bytes = out:match("^(%d+) ([%d.]+) (%d+)")
	assert(count, "xml_bench " .. mode .. " failed: " .. out)
	return tonumber(count), tonumber(seconds), tonumber(bytes)
end

local function lxmpp_parse(keep)
	local p = xml.stream()
	local out, count = {}, 0
	for i = 1, #data, PIECE do
		assert(p:feed(data:sub(i, i + PIECE - 1)))
		while true do
			local kind, st = p:next()
			if not kind then break end
			if kind == "stanza" then
				count = count + 1
				if keep then out[count] = st end
			end
		end
	end
	return keep and out or count
end

-- The floor of the tables (issue 9): the same stanzas' tables built alone
-- by bench/tables_floor.c with the fewest Lua C API calls, strings already
-- made. Each stanza is parsed and recorded, then (with `build`) built again
-- at once, as the conversion would: the floor is the difference between
-- the two runs, on the same heap as the parse above (the corpus in it).
local function tables_floor(build)
	local floor = require "bench.tables_floor"
	local mt = getmetatable(require "lxmpp.stanza".stanza("x"))
	local p = xml.stream()
	for i = 1, #data, PIECE do
		assert(p:feed(data:sub(i, i + PIECE - 1)))
		for kind, st in p.next, p do
			if kind == "stanza" then
				local strings = {}
				local rec = floor.record(st, strings)
				if build then floor.build(rec, strings, mt) end
			end
		end
	end
end

local function prosody_parse(keep)
	local out, count = {}, 0
	local session = { notopen = true }
	local stream = xmppstream.new(session, {
		default_ns = "jabber:client",
		streamopened = function(s) s.notopen = nil end,
		handlestanza = function(_, st)
			count = count + 1
			if keep then out[count] = st end
		end,
	})
	for i = 1, #data, PIECE do assert(stream:feed(data:sub(i, i + PIECE - 1))) end
	return keep and out or count
end

local bytes = #data
local _, expat_s = cbench("expat")
row("bare expat, no handlers (C)", nil, expat_s, bytes)
local _, expat_ns_s = cbench("expat-ns")
row("bare expat, namespace mode, no handlers (C)", nil, expat_ns_s, bytes)
local n_c, tree_s = cbench("tree")
row("lxmpp parser to C trees (C)", n_c, tree_s, bytes)
local lua_s, n_lua = best_of(3, function() return lxmpp_parse(false) end)
row("lxmpp.xml.stream to Lua tables", n_lua, lua_s, bytes)
-- with and without the builds, interleaved so that the load's drift hits both
local with_builds, without = math.huge, math.huge
for _ = 1, 3 do
	with_builds = math.min(with_builds, (best_of(1, function() tables_floor(true) end)))
	without = math.min(without, (best_of(1, function() tables_floor(false) end)))
end
local floor_s = with_builds - without
row("the same tables built alone (Lua C API, fewest calls, strings already made)", n_lua, floor_s, bytes)
row("floor: bare expat in namespace mode (C) + the same tables built alone", n_lua, expat_ns_s + floor_s, bytes)
local prosody_s
if prosody_ok then
	local n_p
	prosody_s, n_p = best_of(3, function() return prosody_parse(false) end)
	row("Prosody util.xmppstream (LuaExpat) to Lua tables", n_p, prosody_s, bytes)
end
local _, ser_c_s, ser_bytes = cbench("serialize")
row("lxmpp serializer, C trees (C)", n_c, ser_c_s, ser_bytes)
local ours = lxmpp_parse(true)
local out_bytes = 0
local tostring_s = best_of(3, function()
	out_bytes = 0
	for i = 1, #ours do out_bytes = out_bytes + #tostring(ours[i]) end
end)
row("lxmpp tostring(stanza) (C, from Lua tables)", #ours, tostring_s, out_bytes)
ours = nil -- luacheck: ignore 311
local prosody_tostring_s
if prosody_ok then
	local theirs = prosody_parse(true)
	local their_bytes = 0
	prosody_tostring_s = best_of(3, function()
		their_bytes = 0
		for i = 1, #theirs do their_bytes = their_bytes + #tostring(theirs[i]) end
	end)
	row("Prosody tostring(stanza)", #theirs, prosody_tostring_s, their_bytes)
end

print(("Corpus: %d stanzas, %.1f MB, fed in %d-byte pieces.\n"):format(n_c, bytes / 1e6, PIECE))
print("| path | stanzas/s | MB/s |")
print("|---|---:|---:|")
for _, r in ipairs(rows) do
	print(("| %s | %s | %.1f |"):format(r[1], r[2] and ("%.0f"):format(r[2] / r[3]) or "", r[4] / r[3] / 1e6))
end
local function ratio(a, b) return a and b and ("%.2fx"):format(b / a) or "n/a" end
print("\nRatios from this run (higher is better for lxmpp):\n")
print("| ratio | value | target |")
print("|---|---:|---:|")
print(("| C parse vs bare expat (speed) | %s | at least 0.75x |"):format(ratio(tree_s, expat_s)))
print(("| Lua parse vs Prosody util.xmppstream | %s | at least 4x |"):format(ratio(lua_s, prosody_s)))
print(("| the floor (bare expat + the same tables alone) vs Prosody | %s | |"):format(
	ratio(expat_ns_s + floor_s, prosody_s)))
print(("| Lua tostring vs Prosody tostring | %s | at least 4x |"):format(ratio(tostring_s, prosody_tostring_s)))

-- Adversarial inputs: each is refused by lxmpp's default limits, and parsed
-- with the limits lifted, in time proportional to its size.
local HEADER = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
local adversarial = require "support.adversarial"
local function siblings(n) return adversarial.siblings(HEADER, n) end
local function chunks(n) return adversarial.chunks(HEADER, n) end
local function attrs(n) return adversarial.attrs(HEADER, n) end
local function nesting(n) return adversarial.nesting(HEADER, n) end
local function laughs() return adversarial.laughs(HEADER) end
local lifted = {
	max_stanza_size = 2 ^ 30, max_depth = 2 ^ 30, max_attrs = 2 ^ 30,
	max_children = 2 ^ 30, max_text_size = 2 ^ 30,
}

-- "parsed" only when the one stanza of the input came out.
local function outcome(stanzas, failure)
	return failure or (stanzas == 1 and "parsed" or ("%d stanzas"):format(stanzas))
end

-- Feeds `input` in pieces of `piece` bytes; returns the time and the outcome.
local function lxmpp_run(input, opts, piece)
	return best_of(3, function()
		local p = xml.stream(opts)
		local stanzas = 0
		for i = 1, #input, piece do
			local ok, _, cond = p:feed(input:sub(i, i + piece - 1))
			-- LuaJIT's 8000 stack slots end the lifted deep nesting with an error
			repeat
				local fine, kind = pcall(p.next, p)
				if not fine then return tostring(kind):match("[^:]*$") end
				if kind == "stanza" then stanzas = stanzas + 1 end
			until kind == nil
			if not ok then return cond end
		end
		return outcome(stanzas)
	end)
end

local function prosody_run(input, piece)
	return best_of(3, function()
		local session = { notopen = true }
		local failure, stanzas = nil, 0
		local stream = xmppstream.new(session, {
			default_ns = "jabber:client",
			streamopened = function(s) s.notopen = nil end,
			handlestanza = function() stanzas = stanzas + 1 end,
			error = function(_, cond, detail) failure = failure or (cond .. (detail and " " .. tostring(detail) or "")) end,
		}, 2 ^ 30)
		for i = 1, #input, piece do
			local ok, err = stream:feed(input:sub(i, i + piece - 1))
			if not ok then return failure or err end
			if failure then return failure end
		end
		return outcome(stanzas)
	end)
end

print("\nAdversarial inputs, CPU milliseconds (best of three). lxmpp with its default limits, lxmpp with")
print("every limit lifted, and Prosody's util.xmppstream (1 GB stanza limit). 2n/n near 2 means linear.\n")
print("| input | bytes | lxmpp default | lxmpp lifted | 2n/n | Prosody | 2n/n |")
print("|---|---:|---|---|---:|---|---:|")
local cases = {
	{ "empty siblings", siblings, 80000, 4096 },
	{ "two-byte text chunks", chunks, 200000, 4096 },
	{ "attributes", attrs, 16000, 4096 },
	{ "attributes, fed one byte at a time", attrs, 16000, 1 },
	{ "nesting", nesting, 100000, 4096 },
}
for _, c in ipairs(cases) do
	local name, make, n, piece = c[1], c[2], c[3], c[4]
	local small, big = make(n), make(2 * n)
	local d_s, d_out = lxmpp_run(small, nil, piece)
	local l_s, l_out = lxmpp_run(small, lifted, piece)
	local l2_s = lxmpp_run(big, lifted, piece)
	local p_cell, p_ratio = "", ""
	if prosody_ok then
		local p_s, p_out = prosody_run(small, piece)
		local p2_s = prosody_run(big, piece)
		p_cell = ("%.1f (%s)"):format(p_s * 1e3, p_out)
		p_ratio = ("%.2f"):format(p2_s / p_s)
	end
	print(("| %s, n=%d | %d | %.2f (%s) | %.1f (%s) | %.2f | %s | %s |"):format(name, n, #small,
		d_s * 1e3, d_out, l_s * 1e3, l_out, l2_s / l_s, p_cell, p_ratio))
end
local bl = laughs()
local bl_s, bl_out = lxmpp_run(bl, nil, 4096)
local bp = prosody_ok and ("%.2f (%s)"):format(prosody_run(bl, 4096) * 1e3, select(2, prosody_run(bl, 4096))) or ""
print(("| billion laughs | %d | %.3f (%s) | | | %s | |"):format(#bl, bl_s * 1e3, bl_out, bp))

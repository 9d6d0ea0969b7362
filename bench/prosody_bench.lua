-- bench/prosody_bench.lua: Prosody 0.12 (Debian's) with and without
-- mod_lxmpp, side by side, from one run on the same machine and load:
--   - messages per second between PAIRS pairs of sessions, and Prosody's
--     CPU time per routed message (from /proc: the server's own);
--   - Prosody's memory per authenticated, idle connection;
--   - the time to deliver a 64 KiB stanza that arrives in 4 KiB reads
--     (median, least and most of 9).
-- Both run on Debian's current expat (bookworm-security's libexpat1,
-- unpacked into a temporary directory, as in the interop tests), whose
-- reparse deferral holds back a start tag split across reads. The clients
-- are raw sockets (PLAIN without TLS on loopback, so that the figures are
-- the parser's and the router's, not TLS's), driven from this process.
-- PROSODY_BENCH_PAIRS (100) and PROSODY_BENCH_MESSAGES (per pair, 100).
-- Prints Markdown; passes or fails on nothing.
local clock = require "lxmpp.clock"
local debian = require "interop.debian"
local process = require "interop.process"
local prosody = require "interop.prosody"
local raw = require "interop.raw"

local PAIRS = tonumber(os.getenv("PROSODY_BENCH_PAIRS")) or 100
local MESSAGES = tonumber(os.getenv("PROSODY_BENCH_MESSAGES")) or 100
local BIG_RUNS = 9

-- Prosody's CPU seconds and resident bytes.
local function cpu(server)
	return process.cpu_seconds(server.proc.pid)
end

local function rss(server)
	return process.rss(server.proc.pid)
end

local function measure(server)
	local alice, bob = server:account("alice"), server:account("bob")
	local before = rss(server)
	local senders, receivers = {}, {}
	for i = 1, PAIRS do
		senders[i] = raw.login(server, alice, "s" .. i)
		receivers[i] = raw.login(server, bob, "r" .. i)
	end
	local per_connection = (rss(server) - before) / (2 * PAIRS)

	-- every sender writes its messages, then every receiver reads them
	local started, cpu_started = clock.now(), cpu(server)
	for i = 1, PAIRS do
		local batch, to = {}, receivers[i].jid
		for m = 1, MESSAGES do
			batch[m] = "<message type='chat' to='" .. to .. "' id='m" .. m .. "'><body>message " .. m
				.. " of pair " .. i .. "</body></message>"
		end
		assert(senders[i]:write(table.concat(batch)))
	end
	for i = 1, PAIRS do
		for m = 1, MESSAGES do
			local st = raw.stanza(receivers[i], clock.now() + 60)
			assert(st.name == "message" and st.attr.id == "m" .. m, tostring(st))
		end
	end
	local seconds, cpu_seconds = clock.now() - started, cpu(server) - cpu_started
	local routed = PAIRS * MESSAGES

	-- 64 KiB of body in 4 KiB writes, each read by Prosody before the next;
	-- the median of BIG_RUNS, or how it was held back
	local times, delivery = {}, nil
	for run = 1, BIG_RUNS do
		local id = "big" .. run
		local big = "<message type='chat' to='" .. receivers[1].jid .. "' id='" .. id .. "'><body>"
			.. ("x"):rep(65536) .. "</body></message>"
		local last
		for i = 1, #big, 4096 do
			assert(senders[1]:read_by_server(clock.now() + 10))
			last = clock.now()
			assert(senders[1]:write(big:sub(i, i + 4095)))
		end
		if receivers[1]:next(clock.now() + 2) == "stanza" then
			times[#times + 1] = clock.now() - last
		else -- held back: white space between stanzas lets it through
			assert(senders[1]:write((" "):rep(65536)))
			assert(raw.stanza(receivers[1], clock.now() + 10).attr.id == id)
			delivery = "not within 2 s; only when more bytes came"
		end
	end
	table.sort(times)
	if not delivery then
		local median = times[math.floor((#times + 1) / 2)]
		delivery = ("%.2f ms (%.2f to %.2f)"):format(median * 1e3, times[1] * 1e3, times[#times] * 1e3)
	end

	for i = 1, PAIRS do
		senders[i]:close()
		receivers[i]:close()
	end
	return {
		per_second = routed / seconds,
		cpu_per_message = cpu_seconds / routed,
		per_connection = per_connection,
		delivery = delivery,
	}
end

local dir = process.tempdir()
local root = assert(debian.unpack(dir, { "libexpat1" }))
local opts = {
	library_path = root .. "/lib/x86_64-linux-gnu",
	config = { "c2s_require_encryption = false", "allow_unencrypted_plain_auth = true" },
}
local results = {}
for i, case in ipairs { { "Prosody 0.12", opts }, { "Prosody 0.12 with mod_lxmpp", prosody.with_lxmpp(opts) } } do
	local server = prosody.start(case[2])
	local ok, r = pcall(measure, server)
	server:stop()
	if not ok then
		process.remove(dir)
		error(r)
	end
	r.name = case[1]
	results[i] = r
end
process.remove(dir)

print(("%d pairs of sessions (%d connections), %d messages from one to the other in each pair, "
	.. "raw PLAIN sessions on loopback;"):format(PAIRS, 2 * PAIRS, MESSAGES))
print("Debian's current expat for both. CPU is Prosody's own (user + system, 10 ms ticks).\n")
print("| server | messages/s | Prosody CPU µs per routed message | memory per connection "
	.. "| 64 KiB stanza in 4 KiB reads: delivered after the last (median, range of 9) |")
print("|---|---:|---:|---:|---|")
for _, r in ipairs(results) do
	print(("| %s | %.0f | %.1f | %.1f KiB | %s |"):format(r.name, r.per_second, r.cpu_per_message * 1e6,
		r.per_connection / 1024, r.delivery))
end
local a, b = results[1], results[2]
print(("\nWith mod_lxmpp: %.2fx the messages per second, %.2fx the CPU per message, "
	.. "%.2fx the memory per connection."):format(b.per_second / a.per_second,
	b.cpu_per_message / a.cpu_per_message, b.per_connection / a.per_connection))

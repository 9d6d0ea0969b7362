-- bench/resume_bench.lua: what stream management (XEP-0198) and TLS
-- session resumption cost and save, against Prosody 0.12 (mod_smacks,
-- TLS tickets turned on: its default config issues none that it accepts
-- again, docs/client.md), ejabberd 23.01 (mod_stream_mgmt; no TLS
-- resumption) and lxmpp.server (examples/server.lua; its stream management
-- rows where it offers XEP-0198), each started for this run on loopback:
--   - from a cut to a ready session: the client's socket is closed under
--     it, it reconnects (backoff 0.5-1 ms) and is ready again; a fresh
--     login (full TLS handshake, SASL, bind) against a TLS resumption with
--     a new session, an SM resumption with a full TLS handshake, and both
--     resumptions; the median of RESUME_BENCH_CUTS (15) cuts, as ratios;
--   - bytes on the wire (both directions, counted at the transport) and
--     the client's CPU (os.clock) per message, with SM and without: the
--     client sends RESUME_BENCH_MESSAGES (2000) messages to its own full
--     JID and takes them all back (with SM: until the server acknowledged
--     every one).
-- Prints Markdown; passes or fails on nothing.
local client = require "lxmpp.client"
local clock = require "lxmpp.clock"
local st = require "lxmpp.stanza"
local cq_transport = require "lxmpp.transport.cqueues"

local CUTS = tonumber(os.getenv("RESUME_BENCH_CUTS")) or 15
local MESSAGES = tonumber(os.getenv("RESUME_BENCH_MESSAGES")) or 2000

local servers = {
	{ "Prosody", function()
		return require("interop.prosody").start { log_level = "warn", modules = { "smacks" },
			config = { "ssl = { options = { no_ticket = false } }" } }
	end },
	{ "ejabberd", function()
		return require("interop.ejabberd").start { log_level = "warning", stream_management = true }
	end },
	-- its stream management rows only where it offers XEP-0198
	{ "lxmpp.server", function() return require("interop.lxmpp_server").server.start {} end },
}

-- The cqueues transport, counting the bytes that pass in each direction.
local bytes = { up = 0, down = 0 }
local counting = {
	connect = function(...)
		local t, err, code = cq_transport.connect(...)
		if not t then return nil, err, code end
		local read, write = t.read, t.write
		function t.read(self, deadline)
			local data, e, c = read(self, deadline)
			if data then bytes.down = bytes.down + #data end
			return data, e, c
		end
		function t.write(self, data, deadline)
			local ok, e, c, written = write(self, data, deadline)
			bytes.up = bytes.up + (ok and #data or written or 0)
			return ok, e, c, written
		end
		return t
	end,
}

local function connect(server, extra)
	local a = server:account("alice")
	local o = { jid = a.jid, password = a.password, host = server.host, port = server.port,
		tls = { cafile = server.cafile }, timeout = 20, transport = counting,
		reconnect = { delay = 0.001, max_delay = 0.001 } }
	for k, v in pairs(extra) do
		if k == "tls" then
			for tk, tv in pairs(v) do o.tls[tk] = tv end
		else
			o[k] = v
		end
	end
	return assert(client.connect(o))
end

local function median(list)
	table.sort(list)
	return list[math.floor((#list + 1) / 2)]
end

-- Closes the client's socket CUTS times, each time waiting until it is
-- ready again: the median seconds, and how many came back as `want`
-- ("resumed", "reconnected") with the TLS session resumed.
local function cut_to_ready(server, extra, want)
	local c = connect(server, extra)
	local seconds, wire, cpu, tls_resumed, kind_seen = {}, {}, {}, 0, 0
	local back
	c:on("resumed", function(_, r) back = { "resumed", clock.now(), r } end)
	c:on("reconnected", function(_, r) back = { "reconnected", clock.now(), r } end)
	for i = 1, CUTS do
		back = nil
		bytes.up, bytes.down = 0, 0
		local started, cpu_started = clock.now(), os.clock()
		c.t.socket:shutdown("rw") -- the connection is gone; the client finds out at its next read
		local deadline = started + 20
		while not back do
			assert(clock.now() < deadline, "the client did not come back")
			c:step(5) -- a shorter step would cut the attempt short
		end
		seconds[i], wire[i], cpu[i] = back[2] - started, bytes.up + bytes.down, os.clock() - cpu_started
		if back[1] == want then kind_seen = kind_seen + 1 end
		if back[3].tls_resumed then tls_resumed = tls_resumed + 1 end
	end
	c:close()
	return median(seconds), median(wire), median(cpu), kind_seen, tls_resumed
end

-- Sends MESSAGES to itself and takes them back: bytes and CPU seconds.
local function exchange(server, extra)
	local c = connect(server, extra)
	local sm = extra.stream_management ~= false
	bytes.up, bytes.down = 0, 0
	local cpu = os.clock()
	local deadline = clock.now() + 120
	for i = 1, MESSAGES do
		local m = st.message({ to = c.jid, type = "chat", id = "b" .. i }, "message " .. i)
		while not c:send(m) do
			assert(clock.now() < deadline, "no progress sending")
			c:step(0.05)
		end
	end
	local got = 0
	while got < MESSAGES do
		local m = assert(c:receive(30), "a message did not come back")
		if m.name == "message" then got = got + 1 end
	end
	while sm do
		local state = assert(c:sm_state(), "no stream management")
		if state.out == state.acked then break end
		assert(clock.now() < deadline, "not all acknowledged")
		c:step(0.05)
	end
	local result = { up = bytes.up, down = bytes.down, cpu = os.clock() - cpu }
	c:close()
	return result
end

local PATHS = {
	{ "fresh login: full TLS handshake, SASL, bind", { stream_management = false, tls = { resume = false } },
		"reconnected" },
	{ "TLS resumption, SASL, bind (a new session)", { stream_management = false }, "reconnected" },
	{ "full TLS handshake, SASL, SM resume", { tls = { resume = false } }, "resumed" },
	{ "TLS resumption, SASL, SM resume", {}, "resumed" },
}

local rows, traffic, notes = {}, {}, {}
for _, case in ipairs(servers) do
	local server = case[2]()
	local name = server.version == case[1] and case[1] or case[1] .. " " .. server.version
	local ok, err = pcall(function()
		local first = connect(server, {}) -- a first login, not counted: caches on both sides
		local has_sm = first:sm_state() ~= nil
		first:close()
		if not has_sm then notes[#notes + 1] = case[1] .. " offers no stream management: its SM rows are left out." end
		local fresh
		for _, path in ipairs(PATHS) do
			if path[3] == "resumed" and not has_sm then break end
			local s, wire, cpu, kind, tls = cut_to_ready(server, path[2], path[3])
			fresh = fresh or { s, wire, cpu }
			rows[#rows + 1] = ("| %s | %s | %.1f | %.2f | %d | %.2f | %.2f | %.2f | %d/%d | %d/%d |"):format(
				name, path[1], s * 1e3, s / fresh[1], wire, wire / fresh[2], cpu * 1e3,
				cpu / fresh[3], kind, CUTS, tls, CUTS)
		end
		for _, sm in ipairs { false, has_sm or nil } do
			local r = exchange(server, { stream_management = sm })
			traffic[#traffic + 1] = { name, sm, r }
		end
	end)
	server:stop()
	assert(ok, err)
end

print(("From a cut to a ready session (the client's socket closed under it), median of %d cuts."):format(CUTS))
print("Bytes: both directions, at the transport; client CPU: os.clock; both from the cut to ready")
print("(medians). Ratios: to the fresh login against the same server. The last columns: the cuts")
print("that came back as the path says (SM resumed, or a new session) and with the TLS session resumed.")
print()
print("| server | path | median ms | ratio | bytes | ratio | client CPU ms | ratio | as said | TLS resumed |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for _, row in ipairs(rows) do print(row) end
print()
for _, note in ipairs(notes) do print(note .. "\n") end
print(("%d messages to the client's own full JID and back, bytes at the transport (TLS records), per message."):format(
	MESSAGES))
print()
print("| server | SM | bytes up | bytes down | bytes total | client CPU µs | ratio bytes | ratio CPU |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for i, t in ipairs(traffic) do
	local r, base = t[3], traffic[t[2] and i - 1 or i][3]
	print(("| %s | %s | %.0f | %.0f | %.0f | %.1f | %.2f | %.2f |"):format(t[1], t[2] and "on" or "off",
		r.up / MESSAGES, r.down / MESSAGES, (r.up + r.down) / MESSAGES, r.cpu / MESSAGES * 1e6,
		(r.up + r.down) / (base.up + base.down), r.cpu / base.cpu))
end

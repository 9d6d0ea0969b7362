-- lxmpp.resolve: the merging and ordering rules of RFC 6120 §3.2, RFC 2782
-- and XEP-0368 with a scripted resolver, then the cqueues.dns path against
-- a real DNS server (dnsmasq) started on loopback.
local clock = require "lxmpp.clock"
local resolve = require "lxmpp.resolve"

-- A resolver answering from a table keyed "name TYPE"; a string value is
-- a failure code. Records every question.
local function fake(answers)
	local r = { asked = {} }
	function r.query(_, name, rtype, deadline)
		r.asked[#r.asked + 1] = name .. " " .. rtype
		r.deadline = deadline
		local answer = answers[name .. " " .. rtype]
		if type(answer) == "string" then return nil, "lookup of " .. name .. " failed", answer end
		return answer or {}
	end
	return r
end

local function srv(priority, weight, port, target)
	return { priority = priority, weight = weight, port = port, target = target }
end

-- A random function playing back a script, recording its arguments.
local function scripted(values)
	local calls, i = {}, 0
	return function(m, n)
		i = i + 1
		calls[#calls + 1] = { m, n }
		return values[i]
	end, calls
end

local function first(m) return m end

describe("resolve.targets", function()
	it("uses an explicit host and port without asking DNS", function()
		local r = fake {}
		assert.same({ { host = "127.0.0.1", port = 15222, direct_tls = false } },
			resolve.targets("example.com", nil, { host = "127.0.0.1", port = 15222, resolver = r }))
		assert.same({ { host = "tls.example.net", port = 443, direct_tls = true } },
			resolve.targets("example.com", nil, { host = "tls.example.net", port = 443, direct_tls = true, resolver = r }))
		assert.same({ { host = "xmpp.example.net", port = 5222, direct_tls = false } },
			resolve.targets("example.com", nil, { host = "xmpp.example.net", resolver = r }))
		assert.same({}, r.asked)
	end)

	it("asks for both services, passing the deadline down", function()
		local r = fake {}
		local deadline = clock.now() + 7
		resolve.targets("example.com", deadline, { resolver = r })
		assert.same({ "_xmpps-client._tcp.example.com SRV", "_xmpp-client._tcp.example.com SRV" }, r.asked)
		assert.equal(deadline, r.deadline)
	end)

	it("falls back to the domain on port 5222 when there are no SRV records", function()
		assert.same({ { host = "example.com", port = 5222, direct_tls = false } },
			resolve.targets("example.com", nil, { resolver = fake {} }))
	end)

	it("falls back when the SRV lookups fail", function()
		local r = fake {
			["_xmpps-client._tcp.example.com SRV"] = "dns-error",
			["_xmpp-client._tcp.example.com SRV"] = "dns-error",
		}
		assert.same({ { host = "example.com", port = 5222, direct_tls = false } },
			resolve.targets("example.com", nil, { resolver = r }))
	end)

	it("uses one service's records when the other's lookup fails", function()
		local r = fake {
			["_xmpps-client._tcp.example.com SRV"] = "dns-error",
			["_xmpp-client._tcp.example.com SRV"] = { srv(0, 0, 5222, "xmpp.example.com.") },
		}
		assert.same({ { host = "xmpp.example.com", port = 5222, direct_tls = false } },
			resolve.targets("example.com", nil, { resolver = r }))
	end)

	it("reports a timeout rather than falling back", function()
		local r = fake { ["_xmpp-client._tcp.example.com SRV"] = "timeout" }
		local targets, err, code = resolve.targets("example.com", nil, { resolver = r })
		assert.is_nil(targets)
		assert.equal("timeout", code)
		assert.matches("_xmpp%-client", err)
	end)

	it("gives up when xmpp-client is \".\" (RFC 6120 §3.2.1)", function()
		local r = fake { ["_xmpp-client._tcp.example.com SRV"] = { srv(0, 0, 0, ".") } }
		local targets, err, code = resolve.targets("example.com", nil, { resolver = r })
		assert.is_nil(targets)
		assert.equal("no-service", code)
		assert.matches("example.com", err)
	end)

	it("gives up when xmpps-client is \".\" and there is no xmpp-client (XEP-0368)", function()
		local r = fake { ["_xmpps-client._tcp.example.com SRV"] = { srv(0, 0, 0, ".") } }
		assert.equal("no-service", select(3, resolve.targets("example.com", nil, { resolver = r })))
	end)

	it("uses STARTTLS records when xmpps-client is \".\"", function()
		local r = fake {
			["_xmpps-client._tcp.example.com SRV"] = { srv(0, 0, 0, ".") },
			["_xmpp-client._tcp.example.com SRV"] = { srv(5, 0, 5222, "xmpp.example.com.") },
		}
		assert.same({ { host = "xmpp.example.com", port = 5222, direct_tls = false } },
			resolve.targets("example.com", nil, { resolver = r }))
	end)

	it("uses direct TLS records when xmpp-client is \".\"", function()
		local r = fake {
			["_xmpps-client._tcp.example.com SRV"] = { srv(0, 0, 443, "tls.example.com.") },
			["_xmpp-client._tcp.example.com SRV"] = { srv(0, 0, 0, ".") },
		}
		assert.same({ { host = "tls.example.com", port = 443, direct_tls = true } },
			resolve.targets("example.com", nil, { resolver = r }))
	end)

	it("ignores a \".\" among other records", function()
		local r = fake {
			["_xmpp-client._tcp.example.com SRV"] = { srv(0, 0, 0, "."), srv(1, 0, 5222, "xmpp.example.com.") },
		}
		assert.same({ { host = "xmpp.example.com", port = 5222, direct_tls = false } },
			resolve.targets("example.com", nil, { resolver = r }))
	end)

	it("skips records with port 0", function()
		local r = fake {
			["_xmpp-client._tcp.example.com SRV"] = { srv(0, 0, 0, "zero.example.com."), srv(1, 0, 5222, "xmpp.example.com.") },
		}
		assert.same({ { host = "xmpp.example.com", port = 5222, direct_tls = false } },
			resolve.targets("example.com", nil, { resolver = r }))
		-- records, none usable: the domain did publish SRV, so no fallback
		r = fake { ["_xmpp-client._tcp.example.com SRV"] = { srv(0, 0, 0, "zero.example.com.") } }
		assert.equal("no-service", select(3, resolve.targets("example.com", nil, { resolver = r })))
	end)

	it("orders by priority across both services, direct TLS first among equals", function()
		local r = fake {
			["_xmpps-client._tcp.example.com SRV"] = {
				srv(20, 0, 5223, "d20.example.com."), srv(10, 0, 443, "d10.example.com."),
			},
			["_xmpp-client._tcp.example.com SRV"] = {
				srv(5, 0, 5222, "s5.example.com."), srv(10, 0, 5222, "s10.example.com."), srv(30, 0, 5222, "s30.example.com."),
			},
		}
		local targets = resolve.targets("example.com", nil, { resolver = r, random = first })
		assert.same({
			{ host = "s5.example.com", port = 5222, direct_tls = false },
			{ host = "d10.example.com", port = 443, direct_tls = true },
			{ host = "s10.example.com", port = 5222, direct_tls = false },
			{ host = "d20.example.com", port = 5223, direct_tls = true },
			{ host = "s30.example.com", port = 5222, direct_tls = false },
		}, targets)
	end)

	it("mixes both services by weight when asked to (XEP-0368 rule 1)", function()
		local r = fake {
			["_xmpps-client._tcp.example.com SRV"] = { srv(10, 10, 443, "tls.example.com.") },
			["_xmpp-client._tcp.example.com SRV"] = { srv(10, 90, 5222, "xmpp.example.com.") },
		}
		-- running sums: tls 10, xmpp 100; a draw of 50 picks xmpp first
		local random = scripted { 50, 0 }
		assert.same({
			{ host = "xmpp.example.com", port = 5222, direct_tls = false },
			{ host = "tls.example.com", port = 443, direct_tls = true },
		}, resolve.targets("example.com", nil, { resolver = r, random = random, prefer_direct_tls = false }))
		-- preferring direct TLS, each service is drawn on its own
		random = scripted { 5, 0 }
		assert.same({
			{ host = "tls.example.com", port = 443, direct_tls = true },
			{ host = "xmpp.example.com", port = 5222, direct_tls = false },
		}, resolve.targets("example.com", nil, { resolver = r, random = random }))
	end)
end)

describe("resolve.order (RFC 2782)", function()
	it("draws within a priority, weight-0 records placed first", function()
		local a, b, c = srv(1, 10, 1, "a"), srv(1, 20, 2, "b"), srv(1, 0, 3, "c")
		-- list c(0) a(10) b(30); draw 25 -> b; then c(0) a(10); draw 0 -> c; then a
		local random, calls = scripted { 25, 0, 7 }
		assert.same({ b, c, a }, resolve.order({ a, b, c }, random))
		assert.same({ { 0, 30 }, { 0, 10 }, { 0, 10 } }, calls)
	end)

	it("takes lower priorities first whatever the weights", function()
		local records = { srv(3, 100, 1, "x"), srv(1, 0, 2, "y"), srv(2, 50, 3, "z") }
		local ordered = resolve.order(records, function(_, n) return n end)
		assert.same({ "y", "z", "x" }, { ordered[1].target, ordered[2].target, ordered[3].target })
	end)

	it("picks in proportion to weight (seeded generator)", function()
		math.randomseed(20240229)
		local records = { srv(0, 10, 1, "ten"), srv(0, 30, 2, "thirty"), srv(0, 60, 3, "sixty"), srv(0, 0, 4, "zero") }
		local counts, trials = { ten = 0, thirty = 0, sixty = 0, zero = 0 }, 20000
		for _ = 1, trials do
			local name = resolve.order(records, math.random)[1].target
			counts[name] = counts[name] + 1
		end
		-- a draw in [0, 100]: zero wins on 0, ten on 1..10, thirty on 11..40, sixty on 41..100
		local expected = { zero = 1 / 101, ten = 10 / 101, thirty = 30 / 101, sixty = 60 / 101 }
		for name, p in pairs(expected) do
			assert.is_true(math.abs(counts[name] / trials - p) < 0.015, name .. ": " .. counts[name])
		end
		math.randomseed(os.time())
	end)
end)

describe("resolve.addresses", function()
	it("returns IP literals as they are", function()
		local r = fake {}
		assert.same({ "192.0.2.1" }, resolve.addresses("192.0.2.1", nil, { resolver = r }))
		assert.same({ "2001:db8::1" }, resolve.addresses("2001:db8::1", nil, { resolver = r }))
		assert.same({ "2001:db8::1" }, resolve.addresses("[2001:db8::1]", nil, { resolver = r }))
		assert.same({}, r.asked)
	end)

	it("interleaves IPv6 and IPv4, IPv6 first", function()
		local r = fake {
			["h.example AAAA"] = { { address = "2001:db8::1" }, { address = "2001:db8::2" }, { address = "2001:db8::3" } },
			["h.example A"] = { { address = "192.0.2.1" } },
		}
		assert.same({ "2001:db8::1", "192.0.2.1", "2001:db8::2", "2001:db8::3" },
			resolve.addresses("h.example", nil, { resolver = r }))
	end)

	it("uses the family that answers when the other fails", function()
		local r = fake { ["h.example AAAA"] = "dns-error", ["h.example A"] = { { address = "192.0.2.1" } } }
		assert.same({ "192.0.2.1" }, resolve.addresses("h.example", nil, { resolver = r }))
	end)

	it("reports a name without addresses, and failed lookups", function()
		assert.equal("no-address", select(3, resolve.addresses("h.example", nil, { resolver = fake {} })))
		local r = fake { ["h.example AAAA"] = "dns-error", ["h.example A"] = "timeout" }
		assert.equal("timeout", select(3, resolve.addresses("h.example", nil, { resolver = r })))
		r = fake { ["h.example AAAA"] = "dns-error", ["h.example A"] = "dns-error" }
		assert.equal("dns-error", select(3, resolve.addresses("h.example", nil, { resolver = r })))
	end)
end)

describe("resolve.dns against a real DNS server (dnsmasq on loopback)", function()
	local dnsmasq = require "interop.dnsmasq"
	local socket = require "cqueues.socket"
	local transport = require "lxmpp.transport.cqueues"
	local dns, resolver, listener, listen_port

	lazy_setup(function()
		listener = assert(socket.listen { host = "127.0.0.1", port = 0, reuseaddr = true })
		assert(listener:listen())
		listen_port = select(3, listener:localname())
		dns = dnsmasq.start {
			domains = { "example.test", "dot.test", "plain.test", "live.test" },
			srv = {
				{ "_xmpps-client._tcp.example.test", "xmpp1.example.test", 5223, 10, 0 },
				{ "_xmpp-client._tcp.example.test", "xmpp1.example.test", 5222, 10, 0 },
				{ "_xmpp-client._tcp.example.test", "xmpp2.example.test", 5222, 20, 0 },
				{ "_xmpps-client._tcp.dot.test" },
				{ "_xmpp-client._tcp.live.test", "xmpp.live.test", listen_port, 0, 0 },
			},
			hosts = {
				{ "xmpp1.example.test", "127.0.0.1", "::1" },
				{ "plain.test", "127.0.0.2" },
				{ "xmpp.live.test", "127.0.0.1" },
			},
		}
		resolver = resolve.dns { nameservers = { dns.nameserver } }
	end)

	lazy_teardown(function()
		if dns then dns:stop() end
		if listener then listener:close() end
	end)

	it("reads SRV records of both services and orders them", function()
		local targets = assert(resolve.targets("example.test", clock.now() + 5, { resolver = resolver }))
		assert.same({
			{ host = "xmpp1.example.test", port = 5223, direct_tls = true },
			{ host = "xmpp1.example.test", port = 5222, direct_tls = false },
			{ host = "xmpp2.example.test", port = 5222, direct_tls = false },
		}, targets)
	end)

	it("sees a \".\" target and does not fall back", function()
		local targets, _, code = resolve.targets("dot.test", clock.now() + 5, { resolver = resolver })
		assert.is_nil(targets)
		assert.equal("no-service", code)
	end)

	it("falls back on NXDOMAIN, and finds the domain's address", function()
		assert.same({}, assert(resolver:query("_xmpp-client._tcp.plain.test", "SRV", clock.now() + 5)))
		assert.same({ { host = "plain.test", port = 5222, direct_tls = false } },
			resolve.targets("plain.test", clock.now() + 5, { resolver = resolver }))
		assert.same({ "127.0.0.2" }, resolve.addresses("plain.test", clock.now() + 5, { resolver = resolver }))
	end)

	it("reads AAAA and A records", function()
		assert.same({ "::1", "127.0.0.1" }, resolve.addresses("xmpp1.example.test", clock.now() + 5, { resolver = resolver }))
		assert.equal("no-address",
			select(3, resolve.addresses("missing.example.test", clock.now() + 5, { resolver = resolver })))
	end)

	it("connects to an SRV target through the transport", function()
		local deadline = clock.now() + 5
		local target = assert(resolve.targets("live.test", deadline, { resolver = resolver }))[1]
		assert.same({ host = "xmpp.live.test", port = listen_port, direct_tls = false }, target)
		local t = assert(transport.connect(target.host, target.port, deadline, { resolver = resolver }))
		local s = assert(listener:accept(5))
		assert(t:write("<stream:stream>", deadline))
		assert.equal("<stream:stream>", s:xread(-100, "bn", 5))
		s:close()
		t:close()
	end)

	it("times out on its clock against a server that never answers", function()
		-- a fake clock: the query ends when that clock reaches the
		-- deadline, never earlier, however slow the machine
		local cqueues = require "cqueues"
		local silent = assert(socket.listen { host = "127.0.0.1", port = 0, type = socket.SOCK_DGRAM })
		local port = select(3, silent:localname())
		local mute = resolve.dns { nameservers = { "[127.0.0.1]:" .. port } }
		local fake_clock = clock.fake()
		local deadline = fake_clock.now() + 30
		local result
		local cq = cqueues.new()
		cq:wrap(function()
			result = { resolve.targets("example.test", deadline, { resolver = mute, clock = fake_clock }) }
		end)
		for _ = 1, 10 do assert(cq:step(0.01)) end
		fake_clock.advance(29.5)
		for _ = 1, 10 do assert(cq:step(0.01)) end
		assert.is_nil(result, "gave up before its deadline")
		fake_clock.advance(0.5)
		local guard = clock.now() + 5 -- real seconds; the old wait took 30
		while not result do
			assert(cq:step(0.05))
			assert.is_true(clock.now() < guard, "the query waits on the real clock")
		end
		silent:close()
		assert.is_nil(result[1])
		assert.matches("timed out", result[2])
		assert.equal("timeout", result[3])
	end)

	it("reports a server that refuses", function()
		local closed = resolve.dns { nameservers = { "[127.0.0.1]:" .. require("interop.process").free_port() } }
		local addresses, _, code = resolve.addresses("xmpp1.example.test", clock.now() + 5, { resolver = closed })
		assert.is_nil(addresses)
		assert.equal("ECONNREFUSED", code)
	end)
end)

describe("docs/resolve.md", function()
	for name, run in require "support.doc_examples"("docs/resolve.md") do it(name, run) end
end)

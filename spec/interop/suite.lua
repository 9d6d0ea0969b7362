-- The checks every interop harness must pass before lxmpp is tested
-- against its server: the server starts on loopback from the throwaway
-- config, speaks RFC 6120 on the raw port, and the reference client
-- (slixmpp) logs in with every account and every mechanism offered,
-- exchanges messages, and is refused a wrong password.
--   suite(_ENV or getfenv(1), name, harness, expected [, more]) from a spec file (its
--       _ENV holds busted's describe, it and assert), where expected = {
--       version = pattern, mechanisms = { ... } (after TLS 1.3),
--       mechanisms_tls12 = ... }; more(_ENV or getfenv(1), server_of) adds tests that use
--       the same running server (server_of() returns it).
local clock = require "lxmpp.clock"
local probe = require "interop.probe"
local process = require "interop.process"
local slixmpp = require "interop.slixmpp"

local TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls"

local function sorted(list)
	local copy = {}
	for i, v in ipairs(list) do copy[i] = v end
	table.sort(copy)
	return copy
end

return function(spec, name, harness, expected, more)
	local describe, it, assert = spec.describe, spec.it, spec.assert
	local lazy_setup, lazy_teardown = spec.lazy_setup, spec.lazy_teardown
	describe("interop harness: " .. name, function()
		local server

		lazy_setup(function()
			server = harness.start()
		end)

		lazy_teardown(function()
			if server then server:stop() end
		end)

		-- One login run; fails the test with slixmpp's own output otherwise.
		local function login(accounts, opts)
			local reports, output = slixmpp.run(server, "login", accounts, opts)
			assert(#reports == #accounts, "slixmpp said:\n" .. output)
			return reports
		end

		it("runs the distribution's server on loopback with the accounts made", function()
			assert.matches(expected.version, server.version)
			assert.equal("127.0.0.1", server.host)
			assert.is_true(server.port ~= server.direct_tls_port)
			assert.same({ "alice", "bob" }, { server.accounts[1].user, server.accounts[2].user })
			assert.equal("alice@" .. server.domain, server:account("alice").jid)
			assert.truthy(io.open(server.cafile)):close()
		end)

		it("answers a stream header with its own and requires STARTTLS", function()
			local s = probe.open(server, clock.now() + 10)
			assert.equal(server.domain, s.header.from)
			assert.equal("1.0", s.header.version)
			assert.truthy(s.header.id and #s.header.id > 0)
			assert.equal("features", s.features.name)
			local starttls = s.features:get_child("starttls", TLS_NS)
			assert.truthy(starttls, tostring(s.features))
			assert.truthy(starttls:get_child("required"), tostring(s.features))
			-- no authentication before TLS
			assert.is_nil(s.features:get_child("mechanisms", "urn:ietf:params:xml:ns:xmpp-sasl"))
			assert(s:close(clock.now() + 10))
		end)

		it("lets slixmpp log in with every account", function()
			local reports = login(server.accounts)
			for i, report in ipairs(reports) do
				assert.is_true(report.ok, report.condition)
				assert.equal(server.accounts[i].jid, report.jid)
				assert.matches("^" .. server.accounts[i].jid:gsub("%p", "%%%0") .. "/.", report.bound)
				assert.equal("TLSv1.3", report.tls)
			end
		end)

		it("offers its mechanisms after TLS 1.3, and each works", function()
			local alice = server:account("alice")
			assert.same(sorted(expected.mechanisms), login({ alice })[1].offered)
			for _, mech in ipairs(expected.mechanisms) do
				local report = login({ alice }, { mech = mech })[1]
				assert.is_true(report.ok, mech .. ": " .. tostring(report.condition))
				assert.equal(mech, report.mechanism)
			end
		end)

		it("offers its mechanisms after TLS 1.2, -PLUS included, and each -PLUS works", function()
			local alice = server:account("alice")
			assert.same(sorted(expected.mechanisms_tls12), login({ alice }, { tls_max = "1.2" })[1].offered)
			for _, mech in ipairs(expected.mechanisms_tls12) do
				if mech:match("%-PLUS$") then
					local report = login({ alice }, { mech = mech, tls_max = "1.2" })[1]
					assert.is_true(report.ok, mech .. ": " .. tostring(report.condition))
					assert.equal(mech, report.mechanism)
					assert.equal("TLSv1.2", report.tls)
				end
			end
		end)

		it("serves direct TLS on its own port", function()
			local report = login({ server:account("bob") }, { direct_tls = true })[1]
			assert.is_true(report.ok, report.condition)
		end)

		it("carries messages between two accounts, in order and unaltered", function()
			local reports, output = slixmpp.run(server, "exchange", { server:account("alice"), server:account("bob") },
				{ count = 50 })
			local report = assert(reports[1], output)
			assert.is_true(report.ok, tostring(report.problem or report.condition))
			assert.equal(50, report.received)
		end)

		it("refuses a wrong password", function()
			local alice = server:account("alice")
			local wrong = { jid = alice.jid, password = "not " .. alice.password }
			local reports, output, code = slixmpp.run(server, "login", { wrong })
			assert.equal(1, #reports, output)
			assert.is_false(reports[1].ok)
			assert.equal("not-authorized", reports[1].condition)
			assert.equal(1, code)
		end)

		if more then more(spec, function() return server end) end

		it("stops, leaving no process and no files behind", function()
			local dir, proc = server.dir, server.proc
			assert.is_true(#process.mentioning(dir) > 0)
			server:stop()
			assert.is_false(proc:alive())
			assert.same({}, process.mentioning(dir))
			assert.is_false(process.run { "test", "-e", dir })
			server = nil
		end)
	end)
end

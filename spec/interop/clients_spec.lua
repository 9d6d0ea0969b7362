-- Eight real client libraries against a server (spec/interop/client_matrix.lua,
-- drivers in spec/interop/clients/, what each does in
-- spec/interop/clients/README.md): STARTTLS with the certificate verified
-- against a throwaway CA, SASL, bind, a message to a full and to a bare
-- JID, a presence subscription between two accounts, a roster get, disco,
-- ping and a clean close; every client at once. A client that is not
-- installed fails its test with how to install it: nothing is skipped.
--
-- Servers: Debian's Prosody 0.12 (the reference), the same with mod_lxmpp
-- (docs/prosody.md), and lxmpp.server (examples/server.lua). Against
-- examples/tiny_server.lua (no roster, no disco, no subscriptions: an
-- example) the matrix records, from the server's side, what each client
-- sends at SASL on TLS 1.3, which spec/interop/clients/README.md reports,
-- and, with a certificate for another name, that each refuses it.
local client_matrix = require "interop.client_matrix"
local lxmpp_server = require "interop.lxmpp_server"
local sasl_trace = require "interop.sasl_trace"

local function set(list)
	local s = {}
	for _, v in ipairs(list or {}) do s[v] = true end
	return s
end

local function bare(j)
	return (j:gsub("/.*", ""))
end

-- What a working server's answers show, beyond the step's own "ok".
local function check_detail(step, detail, server, client)
	local b = client_matrix.user(client, "b") .. "@" .. server.domain
	if step == "roster" then
		-- A's subscription to B, approved: RFC 6121 §3.1.5
		assert(detail:find(b .. "=to", 1, true), "A's roster lacks B with subscription 'to': " .. detail)
	elseif step == "disco" then
		assert(detail:find("urn:xmpp:ping", 1, true), "disco#info lacks urn:xmpp:ping: " .. detail)
	elseif step == "message-full" or step == "message-bare" then
		assert(detail:find(b .. "/matrix-b", 1, true), "not from B's full JID: " .. detail)
	elseif step:match("^bind:") then
		local label = step:sub(-1)
		assert(bare(detail:match("^(%S*)")) == client_matrix.user(client, label) .. "@" .. server.domain,
			"bound to " .. detail)
	end
end

local function full_matrix(name, harness)
	describe("the client matrix against " .. name, function()
		local server, reports, started

		lazy_setup(function()
			assert(client_matrix.build())
			server = harness.start { accounts = client_matrix.accounts() }
			started = os.time()
			reports = client_matrix.run(server)
			local costs = {}
			for _, client in ipairs(client_matrix.CLIENTS) do
				local r = reports[client.name]
				costs[#costs + 1] = ("%s %.1fs"):format(client.name, r and r.seconds or 0)
			end
			print(("\n%s: all clients at once in %ds (%s)"):format(name, os.time() - started,
				table.concat(costs, ", ")))
			for _, client in ipairs(client_matrix.CLIENTS) do
				if client.unsupported then
					print(("%s: %s CANNOT %s (see spec/interop/clients/README.md)"):format(name, client.name,
						table.concat(client.unsupported, ", ")))
				end
			end
		end)

		lazy_teardown(function()
			if server then server:stop() end
		end)

		for _, client in ipairs(client_matrix.CLIENTS) do
			it(client.name .. ": every step it can do", function()
				local missing = client_matrix.missing(client)
				if missing then error(missing, 0) end
				local r = reports[client.name]
				local unsupported = set(client.unsupported)
				for _, step in ipairs(client_matrix.STEPS) do
					if unsupported[step] then
						-- said by the driver, with its reason, and never done
						assert(r.unsupported[step] and r.steps[step] == nil,
							client.name .. " must say why it cannot do " .. step .. "\n" .. r.output)
					else
						local s = r.steps[step]
						if not s or not s.ok then
							error(("%s: %s %s\n--- %s's own output (exit %s):\n%s"):format(client.name, step,
								s and "failed: " .. s.detail or "was never reached", client.name,
								tostring(r.status), r.output), 0)
						end
						local ok, why = pcall(check_detail, step, s.detail, server, client)
						if not ok then error(client.name .. ": " .. step .. ": " .. why .. "\n" .. r.output, 0) end
					end
				end
				assert.equal(0, r.status, r.output)
			end)
		end
	end)
end

local prosody = require "interop.prosody"
full_matrix("Prosody 0.12", prosody)
full_matrix("Prosody 0.12 with mod_lxmpp (docs/prosody.md)", {
	start = function(opts) return prosody.start(prosody.with_lxmpp(opts)) end,
})
full_matrix("lxmpp.server", lxmpp_server.server)

-- What each client sends at SASL, seen by the tiny server (lxmpp.stream's
-- server role: on TLS 1.3 it offers SCRAM-SHA-1/256/512, their -PLUS with
-- tls-exporter and tls-server-end-point announced by XEP-0440, and PLAIN),
-- with the right password and with a wrong one. These are the facts
-- spec/interop/clients/README.md states; a Debian update that changes one
-- fails here.
describe("what each client does at SASL (examples/tiny_server.lua's trace)", function()
	local runs = {}

	lazy_setup(function()
		assert(client_matrix.build())
		for _, refused in ipairs { false, true } do
			local server = lxmpp_server.tiny.start { accounts = client_matrix.accounts() }
			local ok, reports = pcall(client_matrix.run, server, { refused = refused })
			local trace = server:trace()
			server:stop()
			assert(ok, reports)
			runs[refused] = { reports = reports, attempts = sasl_trace.attempts(trace) }
		end
	end)

	for _, case in ipairs { { false, sasl_trace.EXPECTED, "" }, { true, sasl_trace.REFUSED, " (wrong password)" } } do
		local refused, expected, title = case[1], case[2], case[3]
		for _, client in ipairs(client_matrix.CLIENTS) do
			it(client.name .. title, function()
				local missing = client_matrix.missing(client)
				if missing then error(missing, 0) end
				local run = runs[refused]
				local seen = run.attempts[client_matrix.user(client, "a")]
				assert(sasl_trace.matches(expected[client.name], seen), ("%s at SASL%s: %s\n--- its output:\n%s")
					:format(client.name, title, sasl_trace.describe(seen), run.reports[client.name].output))
			end)
		end
	end
end)

-- RFC 6120 §13.7.2.1 (RFC 6125): a client checks the server's certificate
-- against the JID's domain, not the address it connects to (the drivers
-- connect to 127.0.0.1). The tiny server presents a certificate from the
-- same test CA for another name only; every client must refuse it before
-- it sends a password: no <auth/> of its account in the server's trace, and
-- its own output names the wrong name. With the matrix's runs above (same
-- CA, the right name: every client logs in), this proves the name check.
describe("each client refuses a certificate for another name from the same CA", function()
	local run

	lazy_setup(function()
		assert(client_matrix.build())
		local server = lxmpp_server.tiny.start { accounts = client_matrix.accounts(),
			certificate_name = "elsewhere.test" }
		local ok, reports = pcall(client_matrix.run, server)
		local trace = server:trace()
		server:stop()
		assert(ok, reports)
		run = { reports = reports, attempts = sasl_trace.attempts(trace) }
		for _, client in ipairs(client_matrix.CLIENTS) do
			local insecure = reports[client.name] and reports[client.name].info.insecure
			if insecure then
				print(("\nWARNING: %s refused the certificate but %s (see spec/interop/clients/README.md)")
					:format(client.name, insecure))
			end
		end
	end)

	for _, client in ipairs(client_matrix.CLIENTS) do
		it(client.name, function()
			local missing = client_matrix.missing(client)
			if missing then error(missing, 0) end
			local r = run.reports[client.name]
			local seen = run.attempts[client_matrix.user(client, "a")]
			assert(seen == nil, ("%s went on to SASL with a certificate for elsewhere.test: %s\n%s")
				:format(client.name, sasl_trace.describe(seen), r.output))
			for _, step in ipairs { "tls:a", "auth:a", "bind:a" } do
				assert(not (r.steps[step] and r.steps[step].ok), client.name .. ": " .. step .. " ok\n" .. r.output)
			end
			assert(r.output:find(client.wrong_name, 1, true), ("%s refused, but its output does not say %q:\n%s")
				:format(client.name, client.wrong_name, r.output))
		end)
	end
end)

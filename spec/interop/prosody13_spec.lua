-- Prosody 13 (Debian's bookworm-backports), unpacked at test time into a
-- private directory, as it is and with mod_lxmpp, with the same expected
-- results: slixmpp logs in and exchanges messages, lxmpp.client's suite,
-- rosters, presence, a MUC room and messages. slixmpp 1.8 runs on TLS 1.2
-- here: on TLS 1.3 it cannot bind (no tls-exporter) and says 'y' to a
-- server that offers -PLUS, which Prosody 13 rightly refuses (RFC 5802 §6).
local process = require "interop.process"
local prosody = require "interop.prosody"
local prosody13 = require "interop.prosody13"
local prosody_more = require "interop.prosody_more"
local slixmpp = require "interop.slixmpp"

local SLIXMPP = { tls_max = "1.2" }

local dir, installation
local function options(extra)
	if not installation then
		dir = process.tempdir()
		installation = assert(prosody13.unpack(dir))
	end
	local o = { muc = prosody_more.MUC, component = prosody_more.COMPONENT }
	for k, v in pairs(installation) do o[k] = v end
	for k, v in pairs(extra or {}) do o[k] = v end
	return o
end

teardown(function()
	if dir then process.remove(dir) end
end)

for _, case in ipairs {
	{ "Prosody 13", function() return options() end },
	{ "Prosody 13 with mod_lxmpp", function() return prosody.with_lxmpp(options()) end },
} do
	describe(case[1], function()
		local server
		lazy_setup(function() server = prosody.start(case[2]()) end)
		lazy_teardown(function() if server then server:stop() end end)

		it("runs Debian's Prosody 13 from its private directory", function()
			assert.matches("^13%.", server.version)
		end)

		it("lets slixmpp log in with every account, on STARTTLS and direct TLS", function()
			for _, direct_tls in ipairs { false, true } do
				local reports, output = slixmpp.run(server, "login", server.accounts,
					{ tls_max = "1.2", direct_tls = direct_tls or nil })
				assert.equal(#server.accounts, #reports, output)
				for i, report in ipairs(reports) do
					assert.is_true(report.ok, report.condition)
					assert.equal(server.accounts[i].jid, report.jid)
					assert.equal("SCRAM-SHA-256-PLUS", report.mechanism)
				end
			end
		end)

		it("carries messages between two accounts, in order and unaltered", function()
			local reports, output = slixmpp.run(server, "exchange", { server:account("alice"), server:account("bob") },
				{ count = 50, tls_max = "1.2" })
			local report = assert(reports[1], output)
			assert.is_true(report.ok, tostring(report.problem or report.condition))
			assert.equal(50, report.received)
		end)

		prosody_more.tests {
			tls13 = { mechanism = "SCRAM-SHA-256-PLUS", gs2 = "p=tls-exporter", channel_binding = "tls-exporter" },
			slixmpp = SLIXMPP,
		}(_ENV or getfenv(1), function() return server end)
	end)
end

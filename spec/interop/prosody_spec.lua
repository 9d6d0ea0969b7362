-- Debian's Prosody 0.12, started once per configuration: as it is, and with
-- this tree's mod_lxmpp (its streams parsed by lxmpp, its stanzas
-- serialized by lxmpp). Each runs the harness end to end with slixmpp,
-- then lxmpp.client, then rosters, presence, a MUC room and messages
-- between two slixmpp clients, all with the same expected results.
-- Mechanisms as observed with internal_plain: the -PLUS variants use
-- tls-unique, so Prosody offers them only when TLS 1.2 was negotiated, and
-- it sends no XEP-0440 list. Its direct TLS selects no ALPN protocol
-- (ejabberd's neither).
local client_suite = require "interop.client_suite"
local prosody = require "interop.prosody"
local slixmpp = require "interop.slixmpp"

local MUC = "rooms.prosody.test"

local function more(spec, server_of)
	client_suite(spec, server_of, {
		mechanisms = { "SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN" },
		plus = { "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS" },
		default = {
			-- no -PLUS offered, while we could bind: 'y' (RFC 5802 §6)
			tls13 = { mechanism = "SCRAM-SHA-256", gs2 = "y" },
			tls12 = { mechanism = "SCRAM-SHA-256-PLUS", gs2 = "p=tls-unique", channel_binding = "tls-unique" },
		},
		kick = function(server, user, resource)
			server:close_sessions(user .. "@" .. server.domain .. "/" .. resource)
			return {} -- a clean close
		end,
		drop = function(server, full_jid)
			server:close_sessions(full_jid, "system-shutdown", "going down for a moment")
		end,
	})

	spec.it("keeps rosters, presence, a MUC room and messages between slixmpp clients", function()
		local server = server_of()
		local alice, bob = server:account("alice"), server:account("bob")
		local reports, output = slixmpp.run(server, "social", { alice, bob }, { muc = MUC })
		local report = reports[1]
		spec.assert(report and report.ok, "slixmpp said:\n" .. output)
		spec.assert.same({ subscription = "both", name = "Bob", groups = { "Friends" } }, report.roster)
		spec.assert.same({ from = bob.jid .. "/work", show = "away", status = "at lunch" }, report.presence)
		spec.assert.same({ "Alice", "Bob" }, report.occupants)
		spec.assert.same({ from = "lobby@" .. MUC .. "/Alice", body = "hello room" }, report.groupchat)
		spec.assert.same({ from = alice.jid .. "/home", body = "see you at lunch" }, report.chat)
	end)
end

local expected = {
	version = "^0%.12%.",
	mechanisms = { "SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN" },
	mechanisms_tls12 = { "SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS" },
}

for _, case in ipairs {
	{ "Prosody", { muc = MUC } },
	{ "Prosody with mod_lxmpp", prosody.with_lxmpp { muc = MUC } },
} do
	require "interop.suite"(_ENV, case[1], {
		start = function() return prosody.start(case[2]) end,
	}, expected, more)
end

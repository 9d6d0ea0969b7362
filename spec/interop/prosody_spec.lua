-- Debian's Prosody 0.12, started once per configuration: as it is, and with
-- this tree's mod_lxmpp (its streams parsed by lxmpp, its stanzas
-- serialized by lxmpp). Each runs the harness end to end with slixmpp,
-- then lxmpp.client, then rosters, presence, a MUC room and messages
-- between two slixmpp clients, and an external component (slixmpp's), all
-- with the same expected results.
-- Mechanisms as observed with internal_plain: the -PLUS variants use
-- tls-unique, so Prosody offers them only when TLS 1.2 was negotiated, and
-- it sends no XEP-0440 list. Its direct TLS selects no ALPN protocol
-- (ejabberd's neither).
local prosody = require "interop.prosody"
local prosody_more = require "interop.prosody_more"

local MUC = prosody_more.MUC

local expected = {
	version = "^0%.12%.",
	mechanisms = { "SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN" },
	mechanisms_tls12 = { "SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS" },
}

for _, case in ipairs {
	{ "Prosody", { muc = MUC, component = prosody_more.COMPONENT } },
	{ "Prosody with mod_lxmpp", prosody.with_lxmpp { muc = MUC, component = prosody_more.COMPONENT } },
} do
	require "interop.suite"(_ENV or getfenv(1), case[1], {
		start = function() return prosody.start(case[2]) end,
	}, expected, prosody_more.tests())
end

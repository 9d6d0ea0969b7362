-- The tests every Prosody configuration of the interop specs runs after
-- the harness's (interop.suite's `more`, or on their own): lxmpp.client,
-- then rosters, presence, a MUC room and messages between two slixmpp
-- clients.
--   prosody_more.MUC, prosody_more.COMPONENT: the MUC component's domain
--       and the external component to start Prosody with
--   prosody_more.tests([opts]) -> function(spec, server_of)
-- opts: tls13 (what lxmpp.client chooses on TLS 1.3, if not 0.12's plain
-- SCRAM-SHA-256), slixmpp (options for slixmpp's runs).
local client_suite = require "interop.client_suite"
local slixmpp = require "interop.slixmpp"

local prosody_more = {
	MUC = "rooms.prosody.test",
	-- direct_tls: also on mod_net_multiplex's TLS port (server.component_tls_port)
	COMPONENT = { domain = "echo.prosody.test", secret = "the component's secret", direct_tls = true },
}
local MUC, COMPONENT = prosody_more.MUC, prosody_more.COMPONENT

function prosody_more.tests(opts)
	opts = opts or {}
	return function(spec, server_of)
		client_suite(spec, server_of, {
			mechanisms = { "SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN" },
			plus = { "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS" },
			default = {
				-- 0.12 offers no -PLUS on TLS 1.3, while we could bind: 'y' (RFC 5802 §6)
				tls13 = opts.tls13 or { mechanism = "SCRAM-SHA-256", gs2 = "y" },
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

		require "interop.component_suite"(spec, server_of, { domain = COMPONENT.domain, secret = COMPONENT.secret,
			second = "conflict", slixmpp = opts.slixmpp or {},
			-- Prosody picks the component's own certificate by SNI, and
			-- refuses a name it has none for; it does not resume a session
			tls_domain = COMPONENT.domain, tls_resumes = false,
			tls_refusal = { "tls-handshake-failed", "unrecognized name" },
			restart = function(server)
				server:kill()
				server:restart()
			end })

		require "interop.ext_suite"(spec, server_of, {
			identity = { category = "server", type = "im" },
			features = { "http://jabber.org/protocol/disco#info", "urn:xmpp:ping" },
			slixmpp = opts.slixmpp,
		})

		require "interop.muc_suite"(spec, server_of, {
			muc = MUC,
			-- the room forgets the occupant and tells no one, as a service that lost its state does
			forget = function(server, occupant)
				local room = occupant:match("^[^/]+")
				server:shell(([[>local r = prosody.hosts[%q].modules.muc.get_room_from_jid(%q) ]]
					.. [[local o = r:get_occupant_by_nick(%q) for real in o:each_session() do r._jid_nick[real] = nil end ]]
					.. [[r._occupants[%q] = nil return "OK"]]):format(MUC, room, occupant, occupant))
			end,
			-- 0.12 saves the rooms with their occupants on unload and restores them: nobody is dropped
			restart = function(server) server:shell(("module:reload(%q, %q)"):format("muc", MUC)) end,
		})

		spec.it("keeps rosters, presence, a MUC room and messages between slixmpp clients", function()
			local server = server_of()
			local alice, bob = server:account("alice"), server:account("bob")
			local o = { muc = MUC }
			for k, v in pairs(opts.slixmpp or {}) do o[k] = v end
			local reports, output = slixmpp.run(server, "social", { alice, bob }, o)
			local report = reports[1]
			spec.assert(report and report.ok, "slixmpp said:\n" .. output)
			spec.assert.same({ subscription = "both", name = "Bob", groups = { "Friends" } }, report.roster)
			spec.assert.same({ from = bob.jid .. "/work", show = "away", status = "at lunch" }, report.presence)
			spec.assert.same({ "Alice", "Bob" }, report.occupants)
			spec.assert.same({ from = "lobby@" .. MUC .. "/Alice", body = "hello room" }, report.groupchat)
			spec.assert.same({ from = alice.jid .. "/home", body = "see you at lunch" }, report.chat)
		end)
	end
end

return prosody_more

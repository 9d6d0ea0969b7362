-- lxmpp.server.certs: SASL EXTERNAL's choice of identity (XEP-0178 §3)
-- among the XmppAddr JIDs of a verified client certificate. The exchange
-- over TLS is in spec/server_spec.lua ("client certificates").
local certs = require "lxmpp.server.certs"

local HOST = "im.example.com"
local accounts = { exists = function(_, user) return user == "juliet" or user == "nurse" end }

local function external(identities, authzid)
	return { certs.external({ mechanism = "EXTERNAL", identities = identities, authzid = authzid }, HOST, accounts) }
end

describe("lxmpp.server.certs.external", function()
	it("takes the certificate's one JID at this domain, ignoring those elsewhere", function()
		assert.same({ true, "juliet" }, external { "juliet@elsewhere.example", "juliet@im.example.com" })
	end)

	it("takes the authzid when it is one of the certificate's JIDs, and refuses it otherwise", function()
		local two = { "juliet@im.example.com", "nurse@im.example.com" }
		assert.same({ true, "nurse" }, external(two, "Nurse@im.example.com"))
		assert.same({ false, "invalid-authzid", "the authzid is not a JID of your certificate" },
			external(two, "romeo@im.example.com"))
		assert.same({ false, "invalid-authzid", "your certificate names several JIDs here: give one as the authzid" },
			external(two))
	end)

	it("refuses a certificate without a JID here, or for an account that does not exist", function()
		assert.same({ false, "not-authorized", "your certificate names no JID at im.example.com" }, external {})
		assert.same({ false, "not-authorized", "no account romeo@im.example.com" }, external { "romeo@im.example.com" })
	end)
end)

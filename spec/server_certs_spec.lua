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

describe("lxmpp.server.certs: a certificate per domain", function()
	local A = { certificate = "-----BEGIN a", key = "-----BEGIN ka" }
	local B = { certificate = "b.crt", key = "b.key" }

	-- a connection whose client asked for `sni` (nil: no SNI)
	local function conn(sni)
		return { tls_info = function() return { server_name = sni } end }
	end

	it("lists the certificates for the TLS context, the default first, and the others' domains", function()
		local tls, own = certs.context_options({ certificate = "d.crt", key = "d.key", certificates = { ["B.example"] = B } },
			{ "a.example", "b.example" })
		assert.same({ { certificate_file = "b.crt", key_file = "b.key" } }, tls.certificates)
		assert.equal("d.crt", tls.certificate_file)
		assert.same({ ["b.example"] = true }, own)
		assert.is_nil(certs.wrong_certificate(own, conn("b.example"), "b.example"))
		assert.is_nil(certs.wrong_certificate(own, conn(nil), "a.example"))
		assert.equal("TLS was set up with the certificate for no name (no SNI), not for b.example: ask for "
			.. "b.example with SNI", certs.wrong_certificate(own, conn(nil), "b.example"))
	end)

	it("takes the first domain's certificate as the default when there is no other", function()
		local tls, own = certs.context_options({ certificates = { ["a.example"] = A, ["b.example"] = B } },
			{ "a.example", "b.example" })
		assert.same({ { certificate = A.certificate, key = A.key }, { certificate_file = "b.crt", key_file = "b.key" } },
			tls.certificates)
		-- a client without SNI gets a.example's: fine for a stream to a.example
		assert.is_nil(certs.wrong_certificate(own, conn(nil), "a.example"))
		assert.truthy(certs.wrong_certificate(own, conn("b.example"), "a.example"))
		assert.truthy(certs.wrong_certificate(own, conn("a.example"), "b.example"))
	end)

	it("asks for client certificates against the configured CA only", function()
		local tls = certs.context_options({ certificate = "d.crt", key = "d.key", client_certificates = { ca = "ca.pem" } },
			{ "a.example" })
		assert.equal("ca.pem", tls.cafile)
		assert.equal("optional", tls.verify)
		tls = certs.context_options({ certificate = "d.crt", key = "d.key",
			client_certificates = { ca = "-----BEGIN CERTIFICATE-----", required = true } }, { "a.example" })
		assert.equal("-----BEGIN CERTIFICATE-----", tls.ca)
		assert.equal("required", tls.verify)
	end)
end)

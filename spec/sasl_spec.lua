-- lxmpp.sasl: the Lua face of the SASL mechanisms (both roles), with the
-- exact vectors of standards.md §3 and the failures a user must see.
local sasl = require "lxmpp.sasl"

local function hex(s)
	return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

local function unhex(s)
	return (s:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
end

-- Runs a whole exchange between client c and server s; `answer` answers a
-- credentials request (a table, or true). Returns true, or what failed.
local function exchange(c, s, answer)
	local kind, a, b = s:start(c.mechanism, c:initial())
	for _ = 1, 10 do
		if kind == "need-credentials" then
			if type(answer) == "table" then
				kind, a, b = s:credentials(answer)
			else
				kind, a, b = s:credentials(answer)
			end
		elseif kind == "challenge" then
			local response, err, code = c:step(a)
			if not response then return nil, err, code end
			kind, a, b = s:step(response)
		elseif kind == "success" then
			return c:finish(a)
		else
			return nil, b, a
		end
	end
	error("exchange did not end")
end

local rfc5802 = {
	salt = unhex("4125c247e43ab1e93c6dff76"), -- QSXCR+Q6sek8bf92
}

local rfc6120 = {
	cfirst = "n,,n=juliet,r=oMsTAAwAAAAMAAAANP0TAAAAAABPU0AA",
	sfirst = "r=oMsTAAwAAAAMAAAANP0TAAAAAABPU0AAe124695b-69a9-4de6-9c30-b51b3808c59e,"
		.. "s=NjhkYTM0MDgtNGY0Zi00NjdmLTkxMmUtNDlmNTNmNDNkMDMz,i=4096",
	cfinal = "c=biws,r=oMsTAAwAAAAMAAAANP0TAAAAAABPU0AAe124695b-69a9-4de6-9c30-b51b3808c59e,"
		.. "p=UA57tM/SvpATBkH2FXs0WDXvJYw=",
	sfinal = "v=pNNDFVEQxuXxCoSEiW8GEZ+1RSo=",
	salt = "68da3408-4f4f-467f-912e-49f53f43d033",
}

-- RFC 6120 §9's client nonce is base64 of 24 bytes: given as the client's
-- random bytes, it makes the RFC's exchange. (RFC 5802's and the other
-- published nonces are not such base64; spec/c/test_scram.c replays them.)
local RFC6120_RANDOM = unhex("a0cb13000c0000000c00000034fd1300000000004f534000")

-- a server whose random bytes are all zero: its nonce part is 32 'A's
local ZEROS = "\0"

describe("lxmpp.sasl client", function()
	it("reproduces RFC 6120 §9 (SCRAM-SHA-1), its nonce from the random bytes", function()
		local c = assert(sasl.client{ mechanisms = { "SCRAM-SHA-1" }, username = "juliet",
			password = "r0m30myr0m30", random = RFC6120_RANDOM })
		assert.equal("SCRAM-SHA-1", c.mechanism)
		assert.equal(rfc6120.cfirst, c:initial())
		assert.equal(rfc6120.cfinal, c:step(rfc6120.sfirst))
		assert.is_nil(c.keys) -- only after the server proved itself
		assert.is_true(c:finish(rfc6120.sfinal))
		local k = c.keys
		assert.equal("SHA-1", k.hash)
		assert.equal(4096, k.iterations)
		assert.equal(rfc6120.salt, k.salt)
		local _, server_key = sasl.scram_keys("SHA-1", "r0m30myr0m30", rfc6120.salt, 4096)
		assert.equal(hex(server_key), hex(k.server_key))
	end)

	it("reproduces the RFC 6120 §9 juliet exchange, PLAIN offered too", function()
		local c = assert(sasl.client{ mechanisms = { "SCRAM-SHA-1", "PLAIN" }, tls = true,
			username = "juliet", password = "r0m30myr0m30", random = RFC6120_RANDOM })
		assert.equal(rfc6120.cfirst, c:initial())
		assert.equal(rfc6120.cfinal, c:step(rfc6120.sfirst))
		assert.is_true(c:finish(rfc6120.sfinal))
	end)

	it("refuses a random option that is not a string of bytes", function()
		for _, bad in ipairs{ "", 42, {} } do
			assert.has_error(function()
				sasl.client{ mechanisms = { "SCRAM-SHA-1" }, username = "u", password = "p", random = bad }
			end, "option 'random': expected a non-empty string of bytes")
		end
	end)

	it("reconnects with cached keys instead of the password", function()
		local c = assert(sasl.client{ mechanisms = { "SCRAM-SHA-1" }, username = "juliet",
			password = "r0m30myr0m30", random = RFC6120_RANDOM })
		c:initial(); c:step(rfc6120.sfirst); assert(c:finish(rfc6120.sfinal))
		local again = assert(sasl.client{ mechanisms = { "SCRAM-SHA-1" }, username = "juliet",
			keys = c.keys, random = RFC6120_RANDOM })
		again:initial()
		assert.equal(rfc6120.cfinal, again:step(rfc6120.sfirst))
		assert.is_true(again:finish(rfc6120.sfinal))
		-- the server changed the salt: without a password that is final
		local stale = assert(sasl.client{ mechanisms = { "SCRAM-SHA-1" }, username = "juliet",
			keys = c.keys, random = RFC6120_RANDOM })
		stale:initial()
		local ok, _, code = stale:step((rfc6120.sfirst:gsub("MDMz,", "MDM0,")))
		assert.is_nil(ok)
		assert.equal("sasl-credentials-expired", code)
	end)

	it("refuses a server that does not prove it knows the password", function()
		local function started()
			local c = assert(sasl.client{ mechanisms = { "SCRAM-SHA-1" }, username = "juliet",
				password = "r0m30myr0m30", random = RFC6120_RANDOM })
			c:initial()
			return c
		end
		-- a bare success right after client-first
		local c = started()
		local ok, msg, code = c:finish()
		assert.is_nil(ok)
		assert.equal("sasl-server-signature-invalid", code)
		assert.matches("v=", msg, 1, true)
		-- a success without v=, and a tampered v=
		c = started(); c:step(rfc6120.sfirst)
		assert.equal("sasl-server-signature-invalid", select(3, c:finish("")))
		c = started(); c:step(rfc6120.sfirst)
		assert.equal("sasl-server-signature-invalid",
			select(3, c:finish("v=qNNDFVEQxuXxCoSEiW8GEZ+1RSo=")))
		-- and the failure is final
		assert.equal("sasl-server-signature-invalid", select(3, c:finish(rfc6120.sfinal)))
		-- the server's e= is shown
		c = started(); c:step(rfc6120.sfirst)
		ok, msg, code = c:finish("e=invalid-proof")
		assert.is_nil(ok)
		assert.equal("sasl-not-authorized", code)
		assert.matches("invalid-proof", msg, 1, true)
	end)

	it("bounds what the server may ask", function()
		local function reply(msg, opts)
			opts = opts or {}
			opts.mechanisms, opts.username, opts.password = { "SCRAM-SHA-1" }, "user", "pencil"
			opts.random = RFC6120_RANDOM
			local c = assert(sasl.client(opts))
			c:initial()
			return select(3, c:step(msg))
		end
		local rn = "r=oMsTAAwAAAAMAAAANP0TAAAAAABPU0AA3rfcNHYJY1ZVvWVs7j"
		assert.equal("sasl-mechanism-too-weak", reply(rn .. ",s=QSXCR+Q6sek8bf92,i=4095"))
		assert.is_nil(reply(rn .. ",s=QSXCR+Q6sek8bf92,i=1", { min_iterations = 1 }))
		assert.equal("sasl-malformed-request", reply(rn .. ",s=QSXCR+Q6sek8bf92,i=1000001"))
		assert.equal("sasl-malformed-request",
			reply(rn .. ",s=QSXCR+Q6sek8bf92,i=20000", { max_iterations = 10000 }))
		assert.equal("sasl-malformed-request",
			reply("r=someone-elses-nonce,s=QSXCR+Q6sek8bf92,i=4096"))
		assert.equal("sasl-incorrect-encoding", reply(rn .. ",s=QSXCR+Q6sek8bf9,i=4096"))
		assert.equal("sasl-malformed-request", reply(rn .. ",s=QSXCR+Q6sek8bf92,i=4096",
			{ max_salt = 8 }))
		assert.equal("sasl-malformed-request", reply("nonsense"))
	end)

	it("chooses by its own policy, strongest first", function()
		local all = { "PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "DIGEST-MD5" }
		local cb = { type = "tls-exporter", data = ("\1"):rep(32) }
		local function pick(opts)
			opts.mechanisms = opts.mechanisms or all
			opts.username = opts.username or "juliet"
			if opts.password == nil then opts.password = "pw" end
			if opts.password == false then opts.password = nil end
			local c, _, code = sasl.client(opts)
			return c and c.mechanism or code
		end
		assert.equal("SCRAM-SHA-256", pick{ tls = true })
		-- without XEP-0440 the server is only known to have tls-unique
		assert.equal("SCRAM-SHA-256", pick{ tls = true, channel_binding = cb })
		local unique = { type = "tls-unique", data = ("\2"):rep(12) }
		assert.equal("SCRAM-SHA-256-PLUS", pick{ tls = true, channel_binding = { cb, unique } })
		local bound = sasl.client{ mechanisms = all, username = "juliet", password = "pw", tls = true,
			channel_binding = { cb, unique } }
		assert.equal("tls-unique", bound.channel_binding)
		assert.is_nil(sasl.client{ mechanisms = all, username = "juliet", password = "pw" }.channel_binding)
		assert.equal("SCRAM-SHA-256-PLUS", pick{ tls = true, channel_binding = cb,
			channel_binding_types = { "tls-unique", "tls-exporter" } })
		assert.equal("SCRAM-SHA-256", pick{ tls = true, channel_binding = cb,
			channel_binding_types = { "tls-server-end-point" } })
		assert.equal("SCRAM-SHA-1", pick{ allowed = { "SCRAM-SHA-1", "SCRAM-SHA-256" } })
		assert.equal("PLAIN", pick{ mechanisms = { "PLAIN", "X-FOO" }, tls = true })
		assert.equal("sasl-encryption-required", pick{ mechanisms = { "PLAIN" } })
		assert.equal("sasl-invalid-mechanism", pick{ mechanisms = { "X-FOO", "GSSAPI" } })
		assert.equal("sasl-invalid-mechanism", pick{ mechanisms = { "EXTERNAL", "ANONYMOUS" } })
		assert.equal("ANONYMOUS", pick{ mechanisms = { "EXTERNAL", "ANONYMOUS" }, password = false,
			allowed = { "ANONYMOUS" } })
		assert.equal("sasl-invalid-mechanism", pick{ mechanisms = { "SCRAM-SHA-1" },
			channel_binding = cb, require_channel_binding = true })
		assert.equal("invalid-argument", pick{ username = "juliet@example.com" })
	end)

	it("raises on misuse", function()
		assert.has_error(function() sasl.client() end)
		assert.has_error(function() sasl.client{ username = "x" } end)
		assert.has_error(function() sasl.client{ mechanisms = "PLAIN" } end)
		assert.has_error(function() sasl.client{ mechanisms = {}, tls = "yes" } end)
		assert.has_error(function() sasl.client{ mechanisms = {}, channel_binding = { type = 1 } } end)
		assert.has_error(function() sasl.client{ mechanisms = {}, keys = { hash = "MD5" } } end)
		-- a NUL would cut the password short in C
		assert.has_error(function()
			sasl.client{ mechanisms = { "PLAIN" }, tls = true, username = "u", password = "pass\0word" }
		end)
		local c = assert(sasl.client{ mechanisms = { "SCRAM-SHA-1" }, username = "u", password = "p" })
		c:close()
		c:close()
		assert.has_error(function() c:initial() end)
		assert.matches("closed", tostring(c))
	end)
end)

describe("lxmpp.sasl server", function()
	it("serves RFC 5802's account with a password and with stored keys", function()
		local stored, server = sasl.scram_keys("SHA-1", "pencil", rfc5802.salt, 4096)
		assert.equal("e9d94660c39d65c38fbad91c358f14da0eef2bd6", hex(stored))
		assert.equal("0fe09258b3ac852ba502cc62ba903eaacdbf7d31", hex(server))
		for _, answer in ipairs{
			{ password = "pencil", salt = rfc5802.salt, iterations = 4096 },
			{ salt = rfc5802.salt, iterations = 4096, stored_key = stored, server_key = server },
		} do
			local c = assert(sasl.client{ mechanisms = { "SCRAM-SHA-1" }, username = "user",
				password = "pencil", random = RFC6120_RANDOM })
			local s = sasl.server{ mechanisms = { "SCRAM-SHA-1" }, ssdp = false, random = ZEROS }
			assert.same({ "need-credentials", "user" }, { s:start("SCRAM-SHA-1", c:initial()) })
			assert.equal("SHA-1", s.hash)
			-- our nonce part: base64 of the server's random bytes
			local sfirst = "r=oMsTAAwAAAAMAAAANP0TAAAAAABPU0AA" .. ("A"):rep(32)
				.. ",s=QSXCR+Q6sek8bf92,i=4096"
			assert.same({ "challenge", sfirst }, { s:credentials(answer) })
			local kind, sfinal = s:step(c:step(sfirst))
			assert.equal("success", kind)
			assert.is_true(c:finish(sfinal))
			assert.equal("user", s.username)
		end
	end)

	it("serves the RFC 6120 §9 juliet account, salting a bare password from its random bytes", function()
		local c = assert(sasl.client{ mechanisms = { "SCRAM-SHA-1" }, username = "juliet",
			password = "r0m30myr0m30", random = RFC6120_RANDOM })
		local s = sasl.server{ tls = true, ssdp = false, random = ZEROS }
		assert.same({ "need-credentials", "juliet" }, { s:start("SCRAM-SHA-1", c:initial()) })
		local sfirst = "r=oMsTAAwAAAAMAAAANP0TAAAAAABPU0AA" .. ("A"):rep(32)
		assert.same({ "challenge", sfirst .. ",s=NjhkYTM0MDgtNGY0Zi00NjdmLTkxMmUtNDlmNTNmNDNkMDMz,i=4096" },
			{ s:credentials{ password = "r0m30myr0m30", salt = rfc6120.salt, iterations = 4096 } })
		local kind, sfinal = s:step(c:step(sfirst .. ",s=NjhkYTM0MDgtNGY0Zi00NjdmLTkxMmUtNDlmNTNmNDNkMDMz,i=4096"))
		assert.equal("success", kind)
		assert.is_true(c:finish(sfinal))
		-- a password without salt: 16 random bytes of salt (zeros here)
		s = sasl.server{ tls = true, ssdp = false, random = ZEROS }
		c = assert(sasl.client{ mechanisms = { "SCRAM-SHA-1" }, username = "juliet",
			password = "r0m30myr0m30", random = RFC6120_RANDOM })
		s:start("SCRAM-SHA-1", c:initial())
		assert.same({ "challenge", sfirst .. ",s=AAAAAAAAAAAAAAAAAAAAAA==,i=10000" },
			{ s:credentials{ password = "r0m30myr0m30" } })
	end)

	it("sends XEP-0474's h= of the full example (p=tls-exporter)", function()
		local cbs = {
			{ type = "tls-server-end-point", data = "an end-point hash" },
			{ type = "tls-exporter", data = "THIS IS FAKE CB DATA" },
		}
		local s = sasl.server{ mechanisms = { "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS" }, tls = true,
			channel_binding = cbs, random = ZEROS }
		assert.same({ "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1" }, s:mechanisms())
		assert.same({ "tls-server-end-point", "tls-exporter" }, s:channel_binding_types())
		local types = { "tls-server-end-point", "tls-exporter" }
		local c = assert(sasl.client{ mechanisms = { "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS" }, tls = true,
			channel_binding_types = types, channel_binding = cbs[2],
			username = "user", password = "pencil", random = RFC6120_RANDOM, require_ssdp = true })
		assert.equal("SCRAM-SHA-1-PLUS", c.mechanism)
		assert.equal("need-credentials", s:start("SCRAM-SHA-1-PLUS", c:initial()))
		local sfirst = "r=oMsTAAwAAAAMAAAANP0TAAAAAABPU0AA" .. ("A"):rep(32)
			.. ",s=QSXCR+Q6sek8bf92,i=4096,h=G6k/rBLDqgOhRRaCuuatSDFkJ08="
		assert.same({ "challenge", sfirst },
			{ s:credentials{ password = "pencil", salt = rfc5802.salt, iterations = 4096 } })
		local kind, sfinal = s:step(c:step(sfirst))
		assert.equal("success", kind)
		assert.is_true(c:finish(sfinal))

		-- a client that saw the list without -PLUS detects the downgrade
		c = assert(sasl.client{ mechanisms = { "SCRAM-SHA-1" }, channel_binding_types = types,
			username = "user", password = "pencil", random = RFC6120_RANDOM })
		c:initial()
		local ok, _, code = c:step(sfirst)
		assert.is_nil(ok)
		assert.equal("sasl-downgrade-detected", code)
	end)

	it("fails a 'y' flag while offering -PLUS (downgrade)", function()
		local s = sasl.server{ channel_binding = { type = "tls-exporter", data = ("x"):rep(32) } }
		local kind, condition, text = s:start("SCRAM-SHA-256", "y,,n=user,r=abcdef")
		assert.equal("failure", kind)
		assert.equal("not-authorized", condition)
		assert.matches("server-does-support-channel-binding", text, 1, true)
		-- and it takes a new attempt afterwards
		assert.equal("need-credentials", s:start("SCRAM-SHA-256", "n,,n=user,r=abcdef"))
	end)

	it("answers credentials: refusals, verdicts, PLAIN's password", function()
		local s = sasl.server{ tls = true }
		assert.same({ "need-credentials", "juliet", "juliet@example.com" },
			{ s:start("PLAIN", "juliet@example.com\0Juliet\0r0m30") })
		assert.equal("r0m30", s.password)
		assert.same({ "failure", "account-disabled", "refused by the application" },
			{ s:credentials(false, "account-disabled") })
		s:start("PLAIN", "\0juliet\0r0m30")
		assert.same({ "failure", "not-authorized", "plain: wrong password" },
			{ s:credentials{ password = "other" } })
		s:start("PLAIN", "\0juliet\0r0m30")
		assert.same({ "success" }, { s:credentials(true) })
		assert.is_nil(s.password)
		assert.has_error(function() s:credentials(true) end) -- nothing pending
		assert.has_error(function() s:credentials(false, "no-such-condition") end)
		local s2 = sasl.server{ tls = true }
		s2:start("PLAIN", "\0juliet\0r0m30")
		assert.has_error(function() s2:credentials{ password = "r0m30\0x" } end)
		assert.has_error(function() s2:start("PLAIN\0X", "") end)
		-- malformed PLAIN, PLAIN without TLS
		local t = sasl.server{ tls = true }
		local kind, condition = t:start("PLAIN", "juliet")
		assert.equal("failure", kind)
		assert.equal("malformed-request", condition)
		local plain = sasl.server{}
		assert.same({ "SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1" }, plain:mechanisms())
		-- the default list, for callers that extend it: what a server with
		-- TLS and binding data advertises without `mechanisms`
		local full = sasl.server{ tls = true, channel_binding = { type = "tls-exporter", data = ("\1"):rep(32) } }
		assert.same(full:mechanisms(), sasl.server_defaults())
		assert.same({ "SCRAM-SHA-512-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-512", "SCRAM-SHA-256",
			"SCRAM-SHA-1", "PLAIN" }, sasl.server_defaults())
		assert.same({}, plain:channel_binding_types())
		assert.equal("encryption-required", select(2, plain:start("PLAIN", "\0a\0b")))
		assert.equal("invalid-mechanism", select(2, plain:start("X-FOO")))
	end)

	it("prepares passwords with OpaqueString and usernames as localparts (RFC 8265)", function()
		local function key(pw) return (sasl.scram_keys("SHA-256", pw, "salt", 1)) end
		-- as RFC 4013 SASLprep: NFC, non-ASCII spaces mapped, no case mapping
		assert.equal(key("caf\195\169"), key("cafe\204\129"))
		assert.equal(key("a\194\160b"), key("a b"))
		assert.not_equal(key("USER"), key("user"))
		-- unlike RFC 4013: U+00AD is refused (not removed), U+2168 kept (not "IX")
		assert.equal("invalid-argument", select(3, sasl.scram_keys("SHA-256", "I\194\173X", "s", 1)))
		assert.not_equal(key("\226\133\168"), key("IX"))
		-- the server's username: width- and case-mapped
		local s = sasl.server{}
		assert.same({ "need-credentials", "user" },
			{ s:start("SCRAM-SHA-256", "n,,n=\239\188\181\239\188\179\239\188\165\239\188\178,r=abc") })
		assert.equal("not-authorized", select(2, s:start("SCRAM-SHA-256", "n,,n=\226\133\168,r=abc")))
	end)

	it("derives keys for account creation", function()
		local stored, server, salt, iterations = sasl.scram_keys("SHA-256", "pencil")
		assert.equal(32, #stored)
		assert.equal(32, #server)
		assert.equal(16, #salt)
		assert.equal(10000, iterations)
		assert.not_equal(salt, select(3, sasl.scram_keys("SHA-256", "pencil")))
		assert.has_error(function() sasl.scram_keys("MD5", "x") end)
		local ok, _, code = sasl.scram_keys("SHA-1", "bell\7")
		assert.is_nil(ok)
		assert.equal("invalid-argument", code)
	end)
end)

describe("lxmpp.sasl client against server", function()
	local mechs = { "SCRAM-SHA-512-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS",
		"SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1", "DIGEST-MD5", "PLAIN", "EXTERNAL", "ANONYMOUS" }
	local bindings = {
		{ type = "tls-exporter", data = ("\17"):rep(32) },
		{ type = "tls-server-end-point", data = ("\34"):rep(32) },
		{ type = "tls-unique", data = ("\51"):rep(12) },
	}
	for _, mech in ipairs(mechs) do
		for _, cb in ipairs(mech:match("PLUS") and bindings or { false }) do
			it(mech .. (cb and " with " .. cb.type or ""), function()
				local s = sasl.server{ mechanisms = mechs, tls = true, host = "example.org",
					channel_binding = bindings, iterations = 4096, client_cert = true }
				local c = assert(sasl.client{ mechanisms = s:mechanisms(),
					channel_binding_types = s:channel_binding_types(), allowed = { mech },
					channel_binding = cb or bindings, tls = true, host = "example.org",
					username = "juliet", password = "r0m30myr0m30", require_ssdp = true })
				assert.equal(mech, c.mechanism)
				local answer = { password = "r0m30myr0m30" }
				if mech == "EXTERNAL" or mech == "ANONYMOUS" then answer = true end
				assert.is_true(exchange(c, s, answer))
				if mech:match("^SCRAM") then
					assert.equal("juliet", s.username)
					local size = { ["1"] = 20, ["256"] = 32, ["512"] = 64 }
					assert.equal(size[mech:match("SHA%-(%d+)")], #c.keys.client_key)
				end
			end)
		end
	end

	it("fails on a wrong password and on another session's binding", function()
		local s = sasl.server{ tls = true }
		local c = assert(sasl.client{ mechanisms = s:mechanisms(), username = "juliet",
			password = "wrong", tls = true })
		local ok, text, condition = exchange(c, s, { password = "r0m30myr0m30" })
		assert.is_nil(ok)
		assert.equal("not-authorized", condition)
		assert.matches("invalid-proof", text, 1, true)

		s = sasl.server{ channel_binding = bindings[1] }
		c = assert(sasl.client{ mechanisms = s:mechanisms(), username = "juliet",
			password = "r0m30myr0m30", channel_binding_types = s:channel_binding_types(),
			channel_binding = { type = "tls-exporter", data = ("\0"):rep(32) } })
		assert.equal("SCRAM-SHA-512-PLUS", c.mechanism)
		ok, text, condition = exchange(c, s, { password = "r0m30myr0m30" })
		assert.is_nil(ok)
		assert.equal("not-authorized", condition)
		assert.matches("channel-bindings-dont-match", text, 1, true)
	end)

	it("speaks DIGEST-MD5 (RFC 2831), its cnonce from the random bytes", function()
		local c = assert(sasl.client{ mechanisms = { "DIGEST-MD5" }, username = "chris",
			password = "secret", host = "elwood.innosoft.com", service = "imap", random = ZEROS })
		assert.is_nil(c:initial())
		local s = sasl.server{ mechanisms = { "DIGEST-MD5" }, host = "elwood.innosoft.com",
			service = "imap", random = ZEROS }
		local kind, challenge = s:start("DIGEST-MD5")
		assert.equal("challenge", kind)
		assert.matches('nonce="' .. ("A"):rep(32) .. '"', challenge, 1, true)
		local response = c:step(challenge)
		assert.matches('cnonce="' .. ("A"):rep(32) .. '"', response, 1, true)
		assert.same({ "need-credentials", "chris" }, { s:step(response) })
		local rspauth
		kind, rspauth = s:credentials{ password = "secret" }
		assert.equal("challenge", kind)
		assert.equal("", c:step(rspauth))
		assert.equal("success", s:step(""))
		assert.is_true(c:finish())
	end)

	it("sends PLAIN as RFC 4616 says, with the localpart", function()
		local c = assert(sasl.client{ mechanisms = { "PLAIN" }, tls = true,
			username = "juliet", password = "r0m30myr0m30" })
		assert.equal("\0juliet\0r0m30myr0m30", c:initial())
		c = assert(sasl.client{ mechanisms = { "PLAIN" }, tls = true,
			username = "Kurt", password = "xipj3plmq", authzid = "Ursel" })
		assert.equal("Ursel\0Kurt\0xipj3plmq", c:initial())
	end)
end)

-- lxmpp.jid: Prosody's util.jid API with RFC 7622 preparation. Where both
-- must agree (split, bare, join, compare, escape, unescape, and prep of
-- plain ASCII), Prosody's own util.jid runs on the same inputs.
local jid = require "lxmpp.jid"

-- Prosody's module, from the distribution package (a dependency of the tests).
local prosody, no_prosody = require "support.prosody"("util.jid", true)

-- Every string of up to `max` pieces from `alphabet`.
local function strings(alphabet, max)
	local all, level = { "" }, { "" }
	for _ = 1, max do
		local next_level = {}
		for _, s in ipairs(level) do
			for _, c in ipairs(alphabet) do
				next_level[#next_level + 1] = s .. c
			end
		end
		for _, s in ipairs(next_level) do all[#all + 1] = s end
		level = next_level
	end
	return all
end

local function pack(...) return { n = select("#", ...), ... } end

describe("lxmpp.jid", function()
	describe("split", function()
		it("splits at the first / and the first @ before it", function()
			assert.same(pack("node", "host", "res"), pack(jid.split("node@host/res")))
			assert.same(pack(nil, "host", "res@x/y"), pack(jid.split("host/res@x/y")))
			assert.same(pack("a", "b", "c@d"), pack(jid.split("a@b/c@d")))
			assert.same(pack(nil, "host", nil), pack(jid.split("host")))
			assert.same(pack("Juliet", "EXAMPLE.com", nil), pack(jid.split("Juliet@EXAMPLE.com")))
		end)

		it("returns three nils for an invalid JID and nothing for nil", function()
			for _, bad in ipairs { "", "@host", "node@/res", "a@b@c", "host/", "/res", "@", "a@" } do
				assert.same(pack(nil, nil, nil), pack(jid.split(bad)), bad)
			end
			assert.equal(0, select("#", jid.split(nil)))
		end)

		it("raises on a value that is not a string", function()
			assert.has_error(function() jid.split({}) end)
			assert.has_error(function() jid.split(false) end)
		end)

		it("gives node, host, resource and bare", function()
			assert.equal("node", jid.node("node@host/res"))
			assert.equal("host", jid.host("node@host/res"))
			assert.equal("res", jid.resource("node@host/res"))
			assert.equal("node@host", jid.bare("node@host/res"))
			assert.equal("host", jid.bare("host/res"))
			assert.is_nil(jid.bare("@host"))
			assert.is_nil(jid.node("host"))
			assert.equal(1, select("#", jid.node("host")))
		end)
	end)

	describe("join", function()
		it("joins the parts given", function()
			assert.equal("n@h/r", jid.join("n", "h", "r"))
			assert.equal("n@h", jid.join("n", "h"))
			assert.equal("h/r", jid.join(nil, "h", "r"))
			assert.equal("h", jid.join(nil, "h"))
			assert.equal(0, select("#", jid.join("n", nil, "r")))
		end)

		it("raises on false, as Prosody's does", function()
			assert.has_error(function() jid.join(false, "h") end)
		end)
	end)

	describe("compare", function()
		it("matches each part the rule has", function()
			assert.is_true(jid.compare("user@host/res", "host"))
			assert.is_true(jid.compare("user@host/res", "user@host"))
			assert.is_true(jid.compare("user@host/res", "user@host/res"))
			assert.is_false(jid.compare("user@host", "user@host/res"))
			assert.is_false(jid.compare("user@other", "host"))
			assert.is_false(jid.compare("host", "user@host"))
		end)

		it("compares the strings as they are (prepare them first)", function()
			assert.is_false(jid.compare("User@Host", "user@host"))
			assert.is_true(jid.compare(jid.prep("User@Host"), jid.prep("user@host")))
		end)
	end)

	describe("prep", function()
		it("prepares each part per RFC 7622", function()
			assert.equal("juliet@example.com/Balcony", jid.prep("Juliet@EXAMPLE.COM/Balcony"))
			-- U+FF2A U+FF55 U+FF4C U+FF49 U+FF45 U+FF54: fullwidth "Juliet"
			local fullwidth = "\239\188\170\239\189\149\239\189\140\239\189\137\239\189\133\239\189\148"
			assert.equal("juliet@example.com", jid.prep(fullwidth .. "@example.com"))
			assert.equal("kevin@example.com", jid.prep("\226\132\170evin@example.com"))
			assert.equal("σ@example.com/foo", jid.prep("Σ@example.com/foo"))
			assert.equal("οδος@example.com", jid.prep("ΟΔΟΣ@example.com"))
			assert.equal("example.com", jid.prep("example.com."))
			assert.equal("münchen.de", jid.prep("MÜNCHEN.DE"))
			assert.equal("example.com", jid.prep("example\227\128\130com"))
			assert.equal("[::1]", jid.prep("[0::1]"))
			assert.equal("juliet@example.com/ foo", jid.prep("juliet@example.com/ foo"))
			assert.equal("a.example.com/b@example.net", jid.prep("a.example.com/b@example.net"))
		end)

		it("returns nil and the reason for an invalid JID", function()
			local cases = {
				["henryⅣ@example.com"] = "localpart: disallowed code point U+2163",
				["♚@example.com"] = "localpart: disallowed code point U+265A",
				["\"juliet\"@example.com"] = "localpart: disallowed code point U+0022 (RFC 7622 §3.3.1)",
				["foo bar@example.com"] = "localpart: disallowed code point U+0020",
				["@example.com/"] = "localpart: empty",
				["juliet@"] = "domainpart: empty",
				["/foobar"] = "domainpart: empty",
				["juliet@example.com/"] = "resourcepart: empty",
				["a@b@c"] = "domainpart: disallowed code point U+0040",
				["☃.net"] = "domainpart: string contains a disallowed character (IDNA2008)",
				["[127.0.0.1]"] = "domainpart: not an IPv6 address in brackets",
				["127.1"] = "domainpart: ends in a number but is not an IPv4 address",
				["x/\t"] = "resourcepart: disallowed code point U+0009",
				["\195@x"] = "localpart: invalid UTF-8 at byte 0",
			}
			for input, reason in pairs(cases) do
				local result, err, code = jid.prep(input)
				assert.is_nil(result, input)
				assert.equal(reason, err)
				assert.equal("jid-malformed", code)
			end
		end)

		it("returns nothing for nil and accepts Prosody's strict argument", function()
			assert.equal(0, select("#", jid.prep(nil)))
			assert.equal("a@b", jid.prep("A@B", true))
			assert.has_error(function() jid.prep({}) end)
		end)

		it("holds each part to 1023 bytes once prepared", function()
			assert.equal(("a"):rep(1023) .. "@x", jid.prep(("a"):rep(1023) .. "@x"))
			assert.same({ nil, "localpart: longer than 1023 bytes", "jid-malformed" },
				{ jid.prep(("a"):rep(1024) .. "@x") })
			assert.equal("x/" .. ("€"):rep(341), jid.prep("x/" .. ("€"):rep(341)))
			assert.is_nil(jid.prep("x/" .. ("€"):rep(341) .. "a"))
			-- 1200 bytes in, 400 once the fullwidth letters are mapped
			assert.equal(("a"):rep(400) .. "@x", jid.prep(("\239\189\129"):rep(400) .. "@x"))
		end)

		it("is idempotent", function()
			for _, s in ipairs { "Juliet@EXAMPLE.COM/Balcony", "ΟΔΟΣ@MÜNCHEN.DE/♚", "xn--mnchen-3ya.de", "[::1]/ r" } do
				local once = jid.prep(s)
				assert.equal(once, jid.prep(once))
			end
		end)
	end)

	describe("prepped_split", function()
		it("returns the prepared parts", function()
			assert.same(pack("juliet", "münchen.de", "Balcony"), pack(jid.prepped_split("Juliet@MÜNCHEN.DE/Balcony")))
			assert.same(pack(nil, "example.com", nil), pack(jid.prepped_split("EXAMPLE.COM.")))
		end)

		it("keeps the host nil for an invalid JID, the reason after the parts", function()
			-- callers test `if not host`: the reason must not land there
			local node, host, resource, reason, code = jid.prepped_split("henryⅣ@example.com/r")
			assert.is_nil(node)
			assert.is_nil(host)
			assert.is_nil(resource)
			assert.equal("localpart: disallowed code point U+2163", reason)
			assert.equal("jid-malformed", code)
			assert.equal(0, select("#", jid.prepped_split(nil)))
		end)
	end)

	describe("escape and unescape", function()
		local vectors = { -- standards.md §3.10 (XEP-0106 §5)
			{ "space cadet", "space\\20cadet" },
			{ "call me \"ishmael\"", "call\\20me\\20\\22ishmael\\22" },
			{ "at&t guy", "at\\26t\\20guy" },
			{ "d'artagnan", "d\\27artagnan" },
			{ "/.fanboy", "\\2f.fanboy" },
			{ "::foo::", "\\3a\\3afoo\\3a\\3a" },
			{ "<foo>", "\\3cfoo\\3e" },
			{ "user@host", "user\\40host" },
			{ "c:\\net", "c\\3a\\net" },
			{ "c:\\\\net", "c\\3a\\\\net" },
			{ "c:\\cool stuff", "c\\3a\\cool\\20stuff" },
			{ "c:\\5commas", "c\\3a\\5c5commas" },
			{ "\\3and\\2is\\5cool", "\\5c3and\\2is\\5c5cool" },
			{ "\\5c", "\\5c5c" },
			{ "call\\20me", "call\\5c20me" },
			{ "\\2plus\\2is\\4", "\\2plus\\2is\\4" },
			{ "foo\\bar", "foo\\bar" },
			{ "foo\\41r", "foo\\41r" },
		}

		it("follows XEP-0106", function()
			for _, v in ipairs(vectors) do
				assert.equal(v[2], jid.escape(v[1]))
				assert.equal(v[1], jid.unescape(v[2]))
			end
		end)

		it("passes nil and false through and raises on other types", function()
			assert.is_nil(jid.escape(nil))
			assert.is_false(jid.escape(false))
			assert.is_nil(jid.unescape(nil))
			assert.has_error(function() jid.escape(12) end)
			assert.has_error(function() jid.unescape({}) end)
		end)
	end)

	describe("precis", function()
		it("applies each profile", function()
			assert.equal("kevin", jid.precis("UsernameCaseMapped", "\226\132\170evin"))
			assert.equal("Kevin", jid.precis("UsernameCasePreserved", "\239\188\171evin"))
			assert.equal("\239\188\166oo bar", jid.precis("OpaqueString", "\239\188\166oo\227\128\128bar"))
			assert.equal("Foo Bar", jid.precis("Nickname", "  Foo   Bar "))
			assert.equal("foo bar", jid.precis("NicknameCaseMapped", "  Foo   Bar "))
			assert.equal("ª", jid.precis("OpaqueString", "ª")) -- SASLprep gives "a"
		end)

		it("returns nil, the reason and a code for a refused string, like the rest of lxmpp.jid", function()
			local code = "invalid-argument"
			assert.same({ nil, "disallowed code point U+2163", code }, { jid.precis("UsernameCaseMapped", "henryⅣ") })
			assert.same({ nil, "disallowed code point U+00AD", code }, { jid.precis("OpaqueString", "I\194\173X") })
			assert.same({ nil, "empty string", code }, { jid.precis("Nickname", "   ") })
			assert.same({ nil, "bidi rule (RFC 5893) violated at U+0627", code },
				{ jid.precis("UsernameCaseMapped", "a\216\167") })
		end)

		it("raises on an unknown profile", function()
			local ok, err = pcall(jid.precis, "SASLprep", "x")
			assert.is_false(ok)
			assert.matches("unknown PRECIS profile 'SASLprep'", err, 1, true)
			assert.has_error(function() jid.precis("OpaqueString") end)
		end)
	end)

	describe("to_ascii", function()
		it("gives the A-label of a domain", function()
			assert.equal("xn--mnchen-3ya.de", jid.to_ascii("MÜNCHEN.DE"))
			assert.equal("xn--fa-hia.de", jid.to_ascii("faß.de"))
			assert.equal("example.com", jid.to_ascii("EXAMPLE.COM."))
			assert.equal("[::1]", jid.to_ascii("[::1]"))
		end)

		it("refuses what is not a domain", function()
			assert.same({ nil, "domainpart: disallowed code point U+0040", "jid-malformed" }, { jid.to_ascii("a@b") })
			assert.is_nil(jid.to_ascii("xn--zz.com"))
		end)
	end)

	describe("beside Prosody's util.jid", function()
		local function it_prosody(name, fn)
			it(name, function()
				if not prosody then return pending(no_prosody) end
				fn()
			end)
		end

		it_prosody("splits, joins and compares every short string alike", function()
			for _, s in ipairs(strings({ "a", "@", "/", "é" }, 5)) do
				assert.same(pack(prosody.split(s)), pack(jid.split(s)), s)
				assert.equal(prosody.bare(s), jid.bare(s))
				assert.equal(prosody.node(s), jid.node(s))
				assert.equal(prosody.host(s), jid.host(s))
				assert.equal(prosody.resource(s), jid.resource(s))
				assert.same(pack(prosody.join(prosody.split(s))), pack(jid.join(jid.split(s))))
			end
			local short = strings({ "a", "@", "/" }, 3)
			for _, a in ipairs(short) do
				for _, b in ipairs(short) do
					assert.equal(prosody.compare(a, b), jid.compare(a, b), a .. " " .. b)
				end
			end
		end)

		it_prosody("escapes and unescapes every short string alike", function()
			local alphabet = { "\\", "2", "0", "5", "c", "F", "f", " ", "@", "'", "x" }
			for _, s in ipairs(strings(alphabet, 4)) do
				assert.equal(prosody.escape(s), jid.escape(s), s)
				assert.equal(prosody.unescape(s), jid.unescape(s), s)
			end
		end)

		it_prosody("prepares plain ASCII JIDs alike", function()
			for _, s in ipairs {
				"juliet@example.com", "Juliet@EXAMPLE.COM/Balcony", "example.com", "example.com.",
				"a.example.com/b@example.net", "foo\\20bar@example.com", "user@host/ spaced res",
			} do
				assert.equal(prosody.prep(s), jid.prep(s), s)
			end
		end)

		it_prosody("differs where PRECIS differs from stringprep", function()
			-- nodeprep case-folds ß and ς; toLowerCase keeps them
			assert.equal("fussball@example.com", prosody.prep("fußball@example.com"))
			assert.equal("fußball@example.com", jid.prep("fußball@example.com"))
			assert.equal("σ@example.com", prosody.prep("ς@example.com"))
			assert.equal("ς@example.com", jid.prep("ς@example.com"))
			-- nodeprep maps compatibility characters (NFKC); PRECIS refuses them
			assert.equal("henryiv@example.com", prosody.prep("henryⅣ@example.com"))
			assert.is_nil(jid.prep("henryⅣ@example.com"))
			-- nodeprep allows symbols; IdentifierClass does not
			assert.equal("♚@example.com", prosody.prep("♚@example.com"))
			assert.is_nil(jid.prep("♚@example.com"))
			-- stringprep's buffers stop at 1024 bytes of input; RFC 7622 limits
			-- the prepared part (1200 bytes of fullwidth letters give 400)
			assert.is_nil(prosody.prep(("\239\189\129"):rep(400) .. "@x"))
			assert.equal(("a"):rep(400) .. "@x", jid.prep(("\239\189\129"):rep(400) .. "@x"))
		end)
	end)
end)

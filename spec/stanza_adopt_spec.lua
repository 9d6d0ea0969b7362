-- lxmpp.stanza.adopt: inside Prosody, lxmpp's stanzas and Prosody's share
-- one metatable (Prosody's), so that each side's is_stanza accepts the
-- other's stanzas and every Prosody module works on either. mod_lxmpp
-- adopts util.stanza's metatable while it is loaded.
local prosody = require "support.prosody"
local st = require "lxmpp.stanza"
local xml = require "lxmpp.xml"

local HEADER = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"

local pst = prosody.for_spec(_ENV or getfenv(1), "lxmpp.stanza.adopt", "util.stanza")
if not pst then return end

describe("lxmpp.stanza.adopt", function()
	local own

	before_each(function()
		own = st.adopt(pst.stanza_mt)
	end)

	after_each(function()
		st.adopt(own)
	end)

	local function parsed(data)
		local p = xml.stream()
		assert(p:feed(HEADER .. data))
		assert(p:next() == "open")
		local _, s = p:next()
		return s
	end

	it("makes what lxmpp parses and builds a stanza to Prosody, and Prosody's to lxmpp", function()
		local m = parsed("<message to='romeo@example.net'><body>hi</body></message>")
		assert.equal(pst.stanza_mt, getmetatable(m))
		assert.is_true(pst.is_stanza(m) and pst.is_stanza(m.tags[1]))
		assert.is_true(pst.is_stanza(st.message({ to = "a@b" }, "x")))
		assert.is_true(pst.is_stanza(assert(xml.parse("<query xmlns='jabber:iq:roster'/>"))))
		assert.is_true(st.is_stanza(pst.message({ to = "a@b" }, "x")))
		assert.equal(pst.stanza_mt, st.stanza_mt)
	end)

	it("lets each library's functions work on the other's stanzas", function()
		local m = parsed("<message from='juliet@example.com/balcony' to='romeo@example.net' id='m1'>"
			.. "<body>Wherefore art thou?</body></message>")
		local copy = pst.clone(m)
		assert.equal("Wherefore art thou?", copy:get_child_text("body"))
		assert.equal("juliet@example.com/balcony", pst.reply(m).attr.to)
		local err = st.error_reply(pst.message({ from = "a@b", to = "c@d", id = "x" }), "cancel", "gone")
		assert.equal("error", err.attr.type)
		assert.equal("gone", select(2, err:get_error()))
		st.message({ to = "a@b" }):add_child(pst.stanza("x", { xmlns = "urn:example" }))
	end)

	it("keeps Prosody's methods and lends lxmpp's where Prosody has none, until it is given back", function()
		local prosody_tag = pst.stanza_mt.tag
		assert.equal(prosody_tag, st.adopt(pst.stanza_mt).tag)
		assert.is_function(rawget(pst.stanza_mt, "get_child_attr")) -- Prosody 13's, lent
		local m = pst.message({ to = "a@b" }):tag("x", { xmlns = "urn:example", y = "z" }):up()
		assert.equal("z", m:get_child_attr("x", "urn:example", "y"))
		assert.equal(pst.stanza_mt, st.adopt(own))
		assert.is_nil(rawget(pst.stanza_mt, "get_child_attr"))
		assert.equal(prosody_tag, pst.stanza_mt.tag)
		assert.equal(own, getmetatable(parsed("<presence/>")))
		assert.is_false(pst.is_stanza(parsed("<presence/>")))
		st.adopt(pst.stanza_mt) -- for after_each
	end)

	it("refuses what is not a metatable", function()
		assert.has_error(function() st.adopt("stanza") end, "bad argument to adopt: expected table, got string")
	end)
end)

describe("docs/prosody.md", function()
	assert(prosody("util.stanza")) -- Prosody's C libraries kept loaded (see support.prosody)
	for name, run in require "support.doc_examples"("docs/prosody.md") do it(name, run) end
end)

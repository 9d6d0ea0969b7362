-- The extension mechanism (c:use) and the extensions that answer and ask
-- simple questions: XEP-0030 service discovery with its cache, XEP-0092
-- software version, XEP-0202 entity time. Two clients through the tiny
-- server (spec/support/tiny_harness.lua), on a fake clock.
local harness = require "support.tiny_harness"
local forms = require "lxmpp.ext.forms"
local time = require "lxmpp.ext.time"

describe("lxmpp.ext", function()
	it("enables an extension once; misuse raises", function()
		harness.with_server(function(server)
			local c = assert(harness.connect(server, "juliet"))
			local disco = c:use("disco")
			assert.equal(disco, c:use("disco"))
			assert.equal(disco, c:use(require "lxmpp.ext.disco"))
			assert.has_error(function() c:use("disco", { cache_ttl = 5 }) end,
				"lxmpp.ext: extension 'disco' is in use already: options are given once")
			assert.has_error(function() c:use("../evil") end, "lxmpp.ext: not an extension name: ../evil")
			assert.has_error(function() c:use(42) end)
			assert.has_error(function() c:use("version", { name = 1 }) end)
			-- an extension of one's own
			local mine = c:use({ name = "mine", init = function(conn, opts)
				conn:use("disco"):add_feature("urn:example:mine")
				return { conn = conn, opts = opts }
			end }, { x = 1 })
			assert.same({ x = 1 }, mine.opts)
			assert.is_true(disco:own_info().has["urn:example:mine"])
			c:close()
		end)
	end)

	it("answers disco#info, #items and nodes; queries others with a cache", function()
		harness.with_server(function(server, cq, clk)
			local juliet = assert(harness.connect(server, "juliet"))
			local romeo = assert(harness.connect(server, "romeo"))
			cq:wrap(function() juliet:loop() end)
			local asked = 0
			juliet:filter("incoming", function(s) if s.name == "iq" and s.attr.type == "get" then asked = asked + 1 end end)
			local jd = juliet:use("disco", { identities = { { category = "client", type = "bot", name = "Nurse" } },
				cache_ttl = 60 })
			juliet:use("version", { name = "nursebot", version = "1.0" })
			juliet:use("time")
			juliet:use("forms")
			jd:add_item({ jid = "rooms.example.com", name = "Rooms" })
			jd:add_form(forms.new{ type = "result", fields = {
				{ var = "FORM_TYPE", type = "hidden", value = "urn:xmpp:dataforms:softwareinfo" },
				{ var = "software", value = "nursebot" } } })
			jd:node("commands", { identities = { { category = "automation", type = "command-list" } },
				items = { { jid = juliet.jid, node = "ping", name = "Ping" } } })
			jd:node("private", function(stanza)
				if stanza.attr.from == romeo.jid then return { features = { "urn:example:secret" } } end
			end)

			local rd = romeo:use("disco", { cache_ttl = 60, max_cache = 3 })
			local info = assert(rd:info(juliet.jid))
			assert.same({ { category = "client", type = "bot", name = "Nurse" } }, info.identities)
			for _, var in ipairs({ "http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items",
				"jabber:iq:version", "urn:xmpp:time", "jabber:x:data" }) do
				assert.is_true(info.has[var], var)
			end
			assert.equal("nursebot", info.forms[1]:values().software)
			assert.same({ { jid = "rooms.example.com", name = "Rooms" } }, assert(rd:items(juliet.jid)))
			local node_items = assert(rd:items(juliet.jid, "commands"))
			assert.same({ { jid = juliet.jid, node = "ping", name = "Ping" } }, node_items)
			assert.equal("command-list", assert(rd:info(juliet.jid, "commands")).identities[1].type)
			assert.is_true(assert(rd:info(juliet.jid, "private")).has["urn:example:secret"])
			local none, _, code, error_stanza = rd:info(juliet.jid, "nowhere")
			assert.is_nil(none)
			assert.equal("item-not-found", code)
			assert.equal("error", error_stanza.attr.type)

			-- cached for cache_ttl, by JID and node; the oldest go beyond max_cache
			local before = asked
			assert.is_true(assert(rd:info(juliet.jid, "private")).has["urn:example:secret"])
			assert.equal(before, asked)
			clk.advance(61)
			assert(rd:info(juliet.jid, "private"))
			assert.equal(before + 1, asked)
			assert.is_true(rd:has_feature(juliet.jid, "urn:xmpp:time"))
			assert(rd:items(juliet.jid))
			assert.equal(before + 3, asked) -- the cache holds these three, the newest
			assert.is_false(rd:has_feature(juliet.jid, "urn:example:none"))
			assert.equal(before + 3, asked)
			assert(rd:info(juliet.jid, "commands"))
			assert.equal(before + 4, asked)
			assert(rd:info(juliet.jid, "private")) -- the oldest: gone
			assert.equal(before + 5, asked)
			assert(rd:info(juliet.jid, "commands"))
			assert.equal(before + 5, asked)
			rd:forget(juliet.jid)
			assert(rd:info(juliet.jid, "commands"))
			assert.equal(before + 6, asked)

			-- the server (the tiny one answers no disco): an error, not cached
			local server_info, _, why = rd:info()
			assert.is_nil(server_info)
			assert.equal("service-unavailable", why)
			juliet:close()
			romeo:close()
		end)
	end)

	it("answers and asks software version and entity time", function()
		harness.with_server(function(server, cq)
			local juliet = assert(harness.connect(server, "juliet"))
			local romeo = assert(harness.connect(server, "romeo"))
			cq:wrap(function() juliet:loop() end)
			juliet:use("version", { name = "nursebot", version = "1.0" })
			juliet:use("time", { now = function() return 1166551115.5 end, tzo = "-06:00" })
			local v = assert(romeo:use("version"):query(juliet.jid))
			assert.same({ name = "nursebot", version = "1.0" }, v) -- no os unless given
			local t = assert(romeo:use("time"):query(juliet.jid))
			assert.same({ utc = "2006-12-19T17:58:35Z", tzo = "-06:00", time = 1166551115, offset = -21600 }, t)
			juliet:close()
			local gone, _, code = romeo:use("version"):query(juliet.jid)
			assert.is_nil(gone)
			assert.equal("service-unavailable", code)
			romeo:close()
		end)
	end)

	it("reads XEP-0082 date-times", function()
		assert.equal(1166551115, time.parse("2006-12-19T17:58:35Z"))
		assert.equal(1166551115, time.parse("2006-12-19T11:58:35-06:00"))
		assert.equal(1166551115.25, time.parse("2006-12-19T17:58:35.25Z"))
		assert.equal(951782400, time.parse("2000-02-29T00:00:00Z"))
		assert.is_nil(time.parse("2006-13-19T17:58:35Z"))
		assert.is_nil(time.parse("2006-12-19T17:58:35"))
		assert.is_nil(time.parse("2006-12-19T17:58:35+25:00"))
		assert.equal("2006-12-19T17:58:35Z", time.format(1166551115.9))
	end)
end)

describe("docs/extensions.md", function()
	for name, run in require "support.doc_examples"("docs/extensions.md") do it(name, run) end
end)

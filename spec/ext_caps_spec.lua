-- lxmpp.ext.caps: the verification string against XEP-0115's own examples
-- (§5.2 simple, §5.3 complex with an extended form), then live through the
-- tiny server: presence decorated, a peer's caps resolved once per ver.
local caps = require "lxmpp.ext.caps"
local disco = require "lxmpp.ext.disco"
local harness = require "support.tiny_harness"
local st = require "lxmpp.stanza"
local xml = require "lxmpp.xml"

local function info_of(text)
	return assert(disco.parse_info(assert(xml.parse(text)):get_child("query", disco.INFO)))
end

describe("lxmpp.ext.caps", function()
	it("computes XEP-0115 §5.2's simple example", function()
		local info = info_of([[<iq xmlns='jabber:client' type='result'>
			<query xmlns='http://jabber.org/protocol/disco#info'
				node='http://code.google.com/p/exodus#QgayPKawpkPSDYmwT/WM94uAlu0='>
			<identity category='client' name='Exodus 0.9.1' type='pc'/>
			<feature var='http://jabber.org/protocol/caps'/>
			<feature var='http://jabber.org/protocol/disco#info'/>
			<feature var='http://jabber.org/protocol/disco#items'/>
			<feature var='http://jabber.org/protocol/muc'/></query></iq>]])
		assert.equal("client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<"
			.. "http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<", caps.string(info))
		assert.equal("QgayPKawpkPSDYmwT/WM94uAlu0=", caps.verification(info))
	end)

	local complex = [[<iq xmlns='jabber:client' type='result'>
		<query xmlns='http://jabber.org/protocol/disco#info' node='http://psi-im.org#q07IKJEyjvHSyhy//CH0CxmKi8w='>
		<identity xml:lang='en' category='client' name='Psi 0.11' type='pc'/>
		<identity xml:lang='el' category='client' name='Ψ 0.11' type='pc'/>
		<feature var='http://jabber.org/protocol/caps'/>
		<feature var='http://jabber.org/protocol/disco#info'/>
		<feature var='http://jabber.org/protocol/disco#items'/>
		<feature var='http://jabber.org/protocol/muc'/>
		<x xmlns='jabber:x:data' type='result'>
			<field var='FORM_TYPE' type='hidden'><value>urn:xmpp:dataforms:softwareinfo</value></field>
			<field var='ip_version' type='text-multi'><value>ipv4</value><value>ipv6</value></field>
			<field var='os'><value>Mac</value></field>
			<field var='os_version'><value>10.5.1</value></field>
			<field var='software'><value>Psi</value></field>
			<field var='software_version'><value>0.11</value></field>
		</x></query></iq>]]

	it("computes XEP-0115 §5.3's complex example, with its extended form", function()
		local info = info_of(complex)
		assert.equal("client/pc/el/Ψ 0.11<client/pc/en/Psi 0.11<http://jabber.org/protocol/caps<"
			.. "http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<"
			.. "http://jabber.org/protocol/muc<urn:xmpp:dataforms:softwareinfo<ip_version<ipv4<ipv6<os<Mac<"
			.. "os_version<10.5.1<software<Psi<software_version<0.11<", caps.string(info))
		assert.equal("q07IKJEyjvHSyhy//CH0CxmKi8w=", caps.verification(info))
		assert.is_nil(caps.verification(info, "md5")) -- not a hash XEP-0115 knows
	end)

	it("refuses info that §5.4 makes unfit: two forms of one FORM_TYPE, duplicates", function()
		local twice = complex:gsub("</x>", "</x><x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' "
			.. "type='hidden'><value>urn:xmpp:dataforms:softwareinfo</value></field></x>")
		local s, why = caps.string(info_of(twice))
		assert.is_nil(s)
		assert.matches("two forms", why)
		local dup = complex:gsub("<feature var='http://jabber.org/protocol/muc'/>", "%0%0")
		assert.matches("feature", info_of(dup).duplicate)
	end)

	it("announces a new ver in a new presence when the features change (§4)", function()
		harness.with_server(function(server)
			local juliet = assert(harness.connect(server, "juliet"))
			local other = assert(harness.connect(server, "juliet", { resource = "other" }))
			local jcaps = juliet:use("caps")
			assert(juliet:presence{ status = "here" }) -- the broadcast: to our other session, here
			local first = assert(other:receive(5))
			local ver = first:get_child("c", caps.NS).attr.ver
			assert.equal(jcaps:ver(), ver)
			juliet:use("version")
			local again = assert(other:receive(5))
			assert.equal("here", again:get_child_text("status"))
			local new = again:get_child("c", caps.NS).attr.ver
			assert.not_equal(ver, new)
			assert.equal(caps.verification(juliet:use("disco"):own_info()), new)
			-- directed presence and unavailable are not sent again
			assert(juliet:presence{ type = "unavailable" })
			assert.equal("unavailable", assert(other:receive(5)).attr.type)
			juliet:use("time")
			assert(juliet:message(other.jid, "after the change")) -- what comes next, in order
			assert.equal("message", assert(other:receive(5)).name)
			harness.close(juliet, other)
		end)
	end)

	it("decorates presence, answers node#ver, and resolves a peer's caps once per ver", function()
		harness.with_server(function(server, cq)
			local juliet = assert(harness.connect(server, "juliet"))
			local romeo = assert(harness.connect(server, "romeo"))
			local nurse = assert(harness.connect(server, "nurse"))
			-- juliet and nurse answer from their own loops
			cq:wrap(function() juliet:loop() end)
			cq:wrap(function() nurse:loop() end)
			local jcaps = juliet:use("caps")
			juliet:use("version")
			local rcaps = romeo:use("caps")
			local questions = 0
			for _, c in ipairs({ juliet, nurse }) do
				c:filter("incoming", function(stanza)
					if stanza.name == "iq" and stanza.attr.type == "get" then questions = questions + 1 end
				end)
			end

			-- the ver hashes what disco says about juliet, and juliet answers at node#ver
			local ver = jcaps:ver()
			assert.equal(caps.verification(juliet:use("disco"):own_info()), ver)
			assert(juliet:presence{ to = romeo.jid })
			local p = assert(romeo:receive(5))
			local c = p:get_child("c", caps.NS)
			assert.same({ hash = "sha-1", node = "https://luarocks.org/modules/lxmpp/lxmpp", ver = ver, xmlns = caps.NS },
				c.attr)
			assert.same({ hash = "sha-1", node = c.attr.node, ver = ver }, rcaps:peer(juliet.jid))
			local info = assert(rcaps:info(juliet.jid))
			assert.is_true(info.has["jabber:iq:version"])
			assert.equal(1, questions)
			assert.is_true(rcaps:has_feature(juliet.jid, caps.NS))
			assert.equal(1, questions) -- cached

			-- nurse runs the same software: its caps resolve without a question
			local ndisco = nurse:use("disco")
			ndisco:add_feature("jabber:iq:version")
			ndisco:add_feature(caps.NS)
			ndisco:node(c.attr.node .. "#" .. ver, function() return ndisco:own_info() end)
			assert.equal(ver, caps.verification(ndisco:own_info()))
			local forged = st.presence({ to = romeo.jid }):tag("c", { xmlns = caps.NS, hash = "sha-1",
				node = c.attr.node, ver = ver }):up()
			assert(nurse:send(forged))
			assert(romeo:receive(5))
			assert.is_true(rcaps:has_feature(nurse.jid, "jabber:iq:version"))
			assert.equal(1, questions)

			-- a ver that does not hash what the peer answers is used for that peer only
			local wrong = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
			ndisco:node(c.attr.node .. "#" .. wrong, function() return ndisco:own_info() end)
			forged.tags[1].attr.ver = wrong
			assert(nurse:send(forged))
			assert(romeo:receive(5))
			assert(rcaps:info(nurse.jid))
			assert.equal(2, questions)
			assert(juliet:send(st.presence({ to = romeo.jid }))) -- decorated with its own ver again
			local again = assert(romeo:receive(5))
			assert.equal(ver, again:get_child("c", caps.NS).attr.ver)

			-- an unavailable presence forgets the peer's caps
			assert(nurse:send(st.presence({ to = romeo.jid, type = "unavailable" })))
			assert(romeo:receive(5))
			assert.is_nil(rcaps:peer(nurse.jid))
			harness.close(juliet, romeo, nurse)
		end)
	end)
end)

-- lxmpp.xml: documents and streams to stanza tables.
local xml = require "lxmpp.xml"
local stanza = require "lxmpp.stanza"
local close_scope = require "support.close_scope"
local unpack = require("lxmpp.compat").unpack

local HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
	.. "xmlns:stream='http://etherx.jabber.org/streams' to='im.example.com' "
	.. "version='1.0' xml:lang='en'>"

-- Every event of a stream fed in pieces of `size` bytes (0: whole).
local function events(data, size, opts)
	local p = xml.stream(opts)
	local out, failure = {}, nil
	local step = size > 0 and size or #data
	for i = 1, #data, step do
		local ok, msg, cond = p:feed(data:sub(i, i + step - 1))
		if not ok then failure = { msg, cond } end
		while true do
			local kind, value = p:next()
			if not kind then break end
			out[#out + 1] = { kind, value and (kind == "open" and value or tostring(value)) }
		end
		if failure then break end
	end
	return out, failure
end

local function stream_error(data, opts)
	local _, failure = events(data, 0, opts)
	local _, bytewise = events(data, 1, opts)
	assert.same(failure, bytewise, "the error depends on chunking")
	return failure and failure[2], failure and failure[1]
end

describe("lxmpp.xml.parse", function()
	it("builds stanza tables in the Prosody shape", function()
		local st = assert(xml.parse("<a xmlns='urn:a' x='1'>t<b/>u<c xmlns='urn:c'><d/></c></a>"))
		assert.is_true(stanza.is_stanza(st))
		assert.equal("a", st.name)
		assert.same({ xmlns = "urn:a", x = "1" }, st.attr)
		assert.equal(4, #st)
		assert.equal("t", st[1])
		assert.equal(st.tags[1], st[2])
		assert.equal("u", st[3])
		assert.equal(st.tags[2], st[4])
		assert.equal(2, #st.tags)
		-- like util.xml, every namespaced element carries its xmlns
		assert.equal("urn:a", st.tags[1].attr.xmlns)
		assert.equal("urn:c", st.tags[2].attr.xmlns)
		assert.equal("urn:c", st.tags[2].tags[1].attr.xmlns)
		assert.equal("<a xmlns='urn:a' x='1'>t<b/>u<c xmlns='urn:c'><d/></c></a>",
			tostring(st):gsub(" x='1' xmlns='urn:a'", " xmlns='urn:a' x='1'"))
	end)

	it("keys namespaced attributes as uri\\1name and xml:lang as xml:lang", function()
		local st = assert(xml.parse("<a xmlns:p='urn:p' p:k='v' xml:lang='en'/>"))
		assert.same({ ["urn:p\1k"] = "v", ["xml:lang"] = "en" }, st.attr)
		assert.is_nil(st.attr.xmlns)
	end)

	it("keeps every value through a round trip", function()
		local st = stanza.stanza("m", { v = "1\t2\n3\r4 '\"<>&" }):text("a\r\nb <&>")
		local back = assert(xml.parse(tostring(st)))
		assert.equal("1\t2\n3\r4 '\"<>&", back.attr.v)
		assert.equal("a\r\nb <&>", back[1])
	end)

	it("builds trees of any depth the limits allow", function()
		local n = 300
		-- each level: a name of its own, an attribute, text around its child
		local open, close = {}, {}
		for i = 1, n do
			open[i] = ("<e%d d='%d'>t%d"):format(i, i, i)
			close[n - i + 1] = ("</e%d>"):format(i) .. (i > 1 and ("u%d"):format(i - 1) or "")
		end
		local st = assert(xml.parse(table.concat(open) .. table.concat(close), { max_depth = n }))
		for i = 1, n do
			assert.equal("e" .. i, st.name)
			assert.same({ d = tostring(i) }, st.attr)
			if i < n then
				assert.same({ "t" .. i, st.tags[1], "u" .. i }, { unpack(st) })
				assert.equal(1, #st.tags)
				st = st.tags[1]
			else
				assert.same({ "t" .. n }, { unpack(st) })
				assert.same({}, st.tags)
			end
		end
	end)

	it("gives each attribute its own value, whatever repeats", function()
		-- names and values repeat from stanza to stanza, with many distinct
		-- ones between them, short and long
		local p = xml.stream()
		assert(p:feed(HEADER))
		assert.equal("open", (p:next()))
		for i = 1, 3000 do
			local v = ("v%d"):format(i * 7919 % 2003)
			local long = ("%s-%s"):format(v, ("L"):rep(i % 70))
			assert(p:feed(("<message id='%s' n%d='%s' type='chat'><x%d xmlns='urn:%d' a='%s'/></message>")
				:format(v, i % 13, long, i % 5, i % 11, v)))
			local kind, st = p:next()
			assert.equal("stanza", kind)
			assert.same({ id = v, ["n" .. i % 13] = long, type = "chat", ["xml:lang"] = "en" }, st.attr)
			assert.equal("x" .. i % 5, st.tags[1].name)
			assert.same({ xmlns = "urn:" .. i % 11, a = v }, st.tags[1].attr)
		end
	end)

	it("returns nil, message, condition for bad documents", function()
		local cases = {
			{ "<a><b></a>", "not-well-formed", "line 1, column 8: mismatched tag" },
			{ "<a>", "not-well-formed" },
			{ "", "not-well-formed" },
			{ "<a/><b/>", "not-well-formed" },
			{ "<a><!-- c --></a>", "restricted-xml", "comments are not allowed" },
			{ "<a><?pi x?></a>", "restricted-xml", "processing instructions are not allowed" },
			{ "<!DOCTYPE a><a/>", "restricted-xml", "DOCTYPE is not allowed" },
			{ "<a>&nbsp;</a>", "restricted-xml" },
			{ "<?xml version='1.0' encoding='latin1'?><a/>", "unsupported-encoding" },
			{ "<p:a/>", "bad-namespace-prefix" },
		}
		for _, case in ipairs(cases) do
			local st, msg, cond = xml.parse(case[1])
			assert.is_nil(st, case[1])
			assert.equal(case[2], cond, case[1])
			assert.is_string(msg)
			if case[3] then assert.equal(case[3], msg) end
		end
	end)

	it("applies the limits given as options", function()
		assert.truthy(xml.parse("<a><b><c/></b></a>", { max_depth = 3 }))
		local _, msg, cond = xml.parse("<a><b><c/></b></a>", { max_depth = 2 })
		assert.equal("policy-violation", cond)
		assert.equal("limit exceeded: max_depth 2", msg)
		assert.equal("policy-violation", select(3, xml.parse("<a x='1' y='2'/>", { max_attrs = 1 })))
		assert.equal("policy-violation", select(3, xml.parse("<a><b/><c/></a>", { max_children = 1 })))
		assert.equal("policy-violation", select(3, xml.parse("<a>abc</a>", { max_text_size = 2 })))
		assert.equal("policy-violation", select(3, xml.parse("<a>abc</a>", { max_stanza_size = 9 })))
		assert.truthy(xml.parse("<a>abc</a>", { max_stanza_size = 10 }))
	end)

	it("lets a text as big as a raised max_stanza_size through, unless max_text_size says less", function()
		local big = "<a>" .. ("x"):rep(300000) .. "</a>"
		assert.equal(300000, #assert(xml.parse(big, { max_stanza_size = 600000 }))[1])
		local _, msg = xml.parse(big, { max_stanza_size = 600000, max_text_size = 262144 })
		assert.equal("limit exceeded: max_text_bytes 262144", msg)
	end)

	it("refuses options of the wrong kind", function()
		assert.has_error(function() xml.parse("<a/>", { max_depth = "deep" }) end,
			"option 'max_depth': expected an integer from 1 to 1073741824")
		assert.has_error(function() xml.parse("<a/>", { max_depth = 0 }) end)
		assert.has_error(function() xml.parse("<a/>", { stamp_lang = 1 }) end,
			"option 'stamp_lang': expected a boolean")
		assert.has_error(function() xml.parse("<a/>", 5) end)
		assert.has_error(function() xml.parse(nil) end)
	end)
end)

describe("lxmpp.xml.stream", function()
	local sample = HEADER
		.. "<message to='romeo@example.net' type='chat'><body>Art thou not Romeo, &amp; a Montague?</body>"
		.. "<x xmlns='urn:x'><y/><z xmlns='jabber:client'/></x></message>\n \t"
		.. "<presence xml:lang='fr'/><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
		.. "</stream:features></stream:stream>"

	it("gives open, stanza and close events", function()
		local p = xml.stream()
		assert.same({ true, #sample }, { p:feed(sample) })
		local kind, attr = p:next()
		assert.equal("open", kind)
		assert.same({ to = "im.example.com", version = "1.0", ["xml:lang"] = "en" }, attr)
		local k, st = p:next()
		assert.equal("stanza", k)
		assert.equal("message", st.name)
		assert.is_nil(st.attr.xmlns)
		assert.equal("en", st.attr["xml:lang"])
		assert.equal("Art thou not Romeo, & a Montague?", st:get_child_text("body"))
		local x = st:get_child("x", "urn:x")
		assert.equal("urn:x", x.attr.xmlns)
		-- as in util.xmppstream: everything below a foreign element has xmlns
		assert.equal("urn:x", x.tags[1].attr.xmlns)
		assert.equal("jabber:client", x.tags[2].attr.xmlns)
		k, st = p:next()
		assert.equal("stanza", k)
		assert.equal("presence", st.name)
		assert.equal("fr", st.attr["xml:lang"])
		k, st = p:next()
		assert.equal("stanza", k)
		assert.equal("features", st.name)
		assert.equal("http://etherx.jabber.org/streams", st.attr.xmlns)
		assert.equal("urn:ietf:params:xml:ns:xmpp-tls", st.tags[1].attr.xmlns)
		assert.equal("close", p:next())
		assert.is_nil(p:next())
	end)

	it("gives the same events whatever the chunking", function()
		local whole = events(sample, 0)
		for _, size in ipairs({ 1, 2, 3, 5, 8, 13, 100 }) do
			assert.same(whole, (events(sample, size)))
		end
	end)

	it("builds the same tables as Prosody's util.xmppstream", function()
		local xmppstream, why = require "support.prosody"("util.xmppstream", true)
		if not xmppstream then return pending(why) end
		local theirs = {}
		local session = { notopen = true }
		local callbacks = {
			default_ns = "jabber:client",
			streamopened = function(s) s.notopen = nil end,
			handlestanza = function(_, st) theirs[#theirs + 1] = st end,
		}
		local ps = xmppstream.new(session, callbacks)
		assert(ps:feed(sample))
		local p = xml.stream()
		p:feed(sample)
		local ours = {}
		while true do
			local kind, st = p:next()
			if not kind then break end
			if kind == "stanza" then ours[#ours + 1] = st end
		end
		assert.equal(#theirs, #ours)
		for i = 1, #ours do
			-- one difference by design: Prosody stamps xml:lang on every top-level
			-- element; lxmpp only on stanzas (RFC 6120 §4.7.4), not <features/>
			if theirs[i].attr.xmlns then
				assert.equal("en", theirs[i].attr["xml:lang"])
				assert.is_nil(ours[i].attr["xml:lang"])
				theirs[i].attr["xml:lang"] = nil
			end
			assert.same(stanza.preserialize(theirs[i]), stanza.preserialize(ours[i]))
		end
	end)

	it("names each stream error by its RFC 6120 condition", function()
		local cases = {
			{ HEADER .. "<message><!-- x --></message>", "restricted-xml" },
			{ HEADER .. "<message><?pi?></message>", "restricted-xml" },
			{ "<!DOCTYPE s [<!ENTITY x 'y'>]>" .. HEADER, "restricted-xml" },
			{ HEADER .. "<message>&x;</message>", "restricted-xml" },
			{ HEADER .. "<?xml version='1.0'?>", "restricted-xml" },
			{ "<?xml version='1.0' encoding='UTF-16'?>" .. HEADER:sub(22), "unsupported-encoding" },
			{ "\255\254<\0", "unsupported-encoding" },
			{ HEADER .. "<message><body></message>", "not-well-formed" },
			{ HEADER .. "hello", "not-well-formed" },
			{ HEADER .. "<message a='1' a='2'/>", "not-well-formed" },
			{ "<stream xmlns='jabber:client'/>", "invalid-namespace" },
			{ "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'>",
				"invalid-namespace" },
			{ "<s:stream xmlns='jabber:client' xmlns:s='http://etherx.jabber.org/streams'>",
				"bad-namespace-prefix" },
			{ HEADER .. "<p:message/>", "bad-namespace-prefix" },
		}
		for _, case in ipairs(cases) do
			assert.equal(case[2], (stream_error(case[1])), case[1])
		end
		assert.is_nil(stream_error(HEADER .. "<message/>"))
	end)

	it("checks the content namespace given as default_ns", function()
		local server = HEADER:gsub("jabber:client", "jabber:server")
		assert.is_nil(stream_error(server, { default_ns = "jabber:server" }))
		assert.equal("invalid-namespace", stream_error(HEADER, { default_ns = "jabber:component:accept" }))
		-- elements in the stream's content namespace carry no xmlns
		local p = xml.stream({ default_ns = "jabber:server" })
		p:feed(server .. "<message/>")
		p:next()
		local _, st = p:next()
		assert.is_nil(st.attr.xmlns)
	end)

	it("enforces the stanza size limit while parsing", function()
		local p = xml.stream({ max_stanza_size = 1000 })
		assert(p:feed(HEADER))
		assert(p:feed("<message><body>" .. ("x"):rep(1000 - 15 - 1)))
		local ok, msg, cond = p:feed("xx")
		assert.is_nil(ok)
		assert.equal("policy-violation", cond)
		assert.equal("limit exceeded: max_stanza_bytes 1000", msg)
		-- and keep-alive white space between stanzas is not counted
		p = xml.stream({ max_stanza_size = #HEADER })
		assert(p:feed(HEADER))
		for _ = 1, 100 do assert(p:feed("   \n")) end
		assert(p:feed("<message/>"))
	end)

	it("stays failed after an error, keeping the stanzas before it", function()
		local p = xml.stream()
		local ok, _, cond = p:feed(HEADER .. "<message/><presence/><iq><!-- --></iq>")
		assert.is_nil(ok)
		assert.equal("restricted-xml", cond)
		assert.same({ nil, "comments are not allowed", "restricted-xml" }, { p:feed("<message/>") })
		assert.equal("open", p:next())
		assert.equal("message", select(2, p:next()).name)
		assert.equal("presence", select(2, p:next()).name)
		assert.is_nil(p:next())
		p:reset()
		assert.truthy(p:feed(HEADER))
		assert.equal("open", p:next())
	end)

	it("stops after a chosen element and restarts with reset", function()
		local tls_bytes = "\22\3\1\2\0\1\0\1\252\3\3"
		local data = HEADER .. "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>" .. tls_bytes
		local p = xml.stream()
		p:stop_after("urn:ietf:params:xml:ns:xmpp-tls", "proceed")
		local ok, n = p:feed(data)
		assert.is_true(ok)
		assert.equal(#data - #tls_bytes, n)
		assert.is_true(p:stopped())
		assert.has_error(function() p:feed("x") end, "the parser stopped: reset() it first")
		assert.equal("open", p:next())
		assert.equal("proceed", select(2, p:next()).name)
		p:reset()
		p:stop_after(nil)
		assert.is_false(p:stopped())
		assert.truthy(p:feed(HEADER .. "<message/>"))
		assert.equal("open", p:next())
		assert.equal("message", select(2, p:next()).name)
	end)

	it("stamps the header's xml:lang unless told not to", function()
		local p = xml.stream({ stamp_lang = false })
		p:feed(HEADER .. "<message/>")
		p:next()
		assert.is_nil(select(2, p:next()).attr["xml:lang"])
	end)

	it("closes once, by close(), <close> or the collector", function()
		local p = xml.stream()
		assert.matches("^lxmpp.xml.stream %(ok%)", tostring(p))
		p:close()
		p:close()
		assert.matches("^lxmpp.xml.stream %(closed%)", tostring(p))
		assert.has_error(function() p:feed("x") end, "attempt to use a closed parser")
		local failed = xml.stream()
		failed:feed("<x")
		failed:feed("/>")
		assert.matches("^lxmpp.xml.stream %(invalid%-namespace%)", tostring(failed))
	end)
end)

describe("lxmpp.xml.stream in a to-be-closed variable", function()
	it("is closed at the end of the scope", function()
		local scope, why = close_scope([[return function(xml, header)
			do
				local q <close> = xml.stream()
				q:feed(header)
				return q
			end
		end]], _ENV)
		if not scope then return pending(why) end
		local q = scope(xml, HEADER)
		assert.matches("^lxmpp.xml.stream %(closed%)", tostring(q))
	end)
end)

describe("docs/xml.md", function()
	for name, run in require "support.doc_examples"("docs/xml.md") do it(name, run) end
end)

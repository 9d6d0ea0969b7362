-- lxmpp.stanza: building, querying, mutating and writing stanzas, and the
-- validation Prosody's util.stanza lacks.
local st = require "lxmpp.stanza"
local core = require "lxmpp.core"
local xml = require "lxmpp.xml"

local NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"

-- The message of the error fn raises, without the "file:line: " prefix.
local function error_of(fn, ...)
	local ok, err = pcall(fn, ...)
	assert(not ok, "expected an error")
	return (tostring(err):gsub("^[^:]*:%d+: ", ""))
end

local function parse(s)
	local doc, err = xml.parse(s)
	assert(doc, err)
	return doc
end

-- Invalid in element and attribute names, with the reason given.
local bad_names = {
	{ "1abc", "is not a valid XML name" },
	{ "a/b", "is not a valid XML name" },
	{ "a=b", "is not a valid XML name" },
	{ "-a", "is not a valid XML name" },
	{ ".a", "is not a valid XML name" },
	{ ":a", "is not a valid XML name" },
	{ "a:", "is not a valid XML name" },
	{ "a:b:c", "is not a valid XML name" },
	{ "a;b", "is not a valid XML name" },
	{ "", "empty string" },
	{ "a b", "contains invalid characters" },
	{ "a<b", "contains invalid characters" },
	{ "a>b", "contains invalid characters" },
	{ "a&b", "contains invalid characters" },
	{ "a'b", "contains invalid characters" },
	{ 'a"b', "contains invalid characters" },
	{ "a\0b", "contains control characters" },
	{ "a\20", "contains control characters" },
	{ "a\27[31m", "contains control characters" },
	{ "a\31", "contains control characters" },
	{ "a\t", "is not a valid XML name" },
	{ "a\192\175", "contains invalid utf8" },
	{ "a\237\160\128", "contains invalid utf8" },
	{ "a\255", "contains invalid utf8" },
	{ "a\195", "contains invalid utf8" },
	{ "a\239\191\190", "contains characters not allowed in XML (U+FFFE or U+FFFF)" },
	{ "a\239\191\191", "contains characters not allowed in XML (U+FFFE or U+FFFF)" },
}

local good_names = { "a", "message", "a:b", "stream:features", "xmlns:stream", "xml:lang", "_x", "a.b-c_d1", "é",
	"\240\144\128\128x", "日本" }

-- Invalid as text and attribute values, with the reason given.
local bad_texts = {
	{ "\0", "contains control characters" },
	{ "a\1", "contains control characters" },
	{ "\8", "contains control characters" },
	{ "\11", "contains control characters" },
	{ "\12", "contains control characters" },
	{ "\20", "contains control characters" },
	{ "\27[31mred", "contains control characters" },
	{ "\31", "contains control characters" },
	{ "\239\191\190", "contains characters not allowed in XML (U+FFFE or U+FFFF)" },
	{ "x\239\191\191", "contains characters not allowed in XML (U+FFFE or U+FFFF)" },
	{ "\192\175", "contains invalid utf8" },
	{ "\224\128\175", "contains invalid utf8" },
	{ "\240\128\128\175", "contains invalid utf8" },
	{ "\237\160\128", "contains invalid utf8" },
	{ "\237\191\191", "contains invalid utf8" },
	{ "\244\144\128\128", "contains invalid utf8" },
	{ "\128", "contains invalid utf8" },
	{ "abc\226\130", "contains invalid utf8" },
	{ 5, "expected string, got number" },
	{ true, "expected string, got boolean" },
	{ {}, "expected string, got table" },
}

local good_texts = { "", "plain", "tab\tlf\ncr\r", "\127", "<&>'\"", "é€😀", "\239\191\189", "\244\143\191\191" }

describe("lxmpp.stanza", function()
	describe("module", function()
		it("exports Prosody's functions", function()
			for _, name in ipairs { "stanza", "message", "iq", "presence", "reply", "error_reply", "clone",
				"preserialize", "deserialize", "is_stanza", "xml_escape", "pretty_print" } do
				assert.is_function(st[name], name)
			end
		end)

		it("puts the methods on the C metatable shared with the parsers", function()
			assert.equal(core.stanza_mt, st.stanza_mt)
			assert.equal(core.stanza_mt, getmetatable(st.stanza("a")))
			assert.equal("stanza", st.stanza_mt.__name)
			assert.equal(st.stanza_mt, st.stanza_mt.__index)
			for _, name in ipairs { "tag", "text", "up", "reset", "at_top", "text_tag", "body", "query", "add_child",
				"add_direct_child", "get_child", "get_child_text", "get_child_with_attr", "child_with_name",
				"child_with_ns", "children", "childtags", "get_text", "find", "get_error", "add_error",
				"get_child_attr", "maptags", "remove_children", "top_tag", "pretty_print", "pretty_top_tag",
				"indent" } do
				assert.is_function(st.stanza_mt[name], name)
			end
			local parsed = parse("<a><b>x</b></a>")
			assert.equal(st.stanza_mt, getmetatable(parsed))
			assert.equal("x", parsed:get_child_text("b"))
		end)

		it("has no each_child, as no Prosody version has", function()
			assert.is_nil(st.stanza_mt.each_child)
		end)

		it("tells stanzas from other values", function()
			assert.is_true(st.is_stanza(st.stanza("a")))
			assert.is_true(st.is_stanza(parse("<a/>")))
			assert.is_false(st.is_stanza({ name = "a", attr = {}, tags = {} }))
			assert.is_false(st.is_stanza("a"))
			assert.is_false(st.is_stanza(nil))
		end)
	end)

	describe("stanza()", function()
		it("builds the Prosody table shape", function()
			local attr = { to = "a@b", ["xml:lang"] = "en" }
			local ns = { stream = "http://etherx.jabber.org/streams" }
			local s = st.stanza("message", attr, ns)
			assert.equal("message", s.name)
			assert.equal(attr, s.attr) -- kept as given
			assert.equal(ns, s.namespaces)
			assert.same({}, s.tags)
			assert.equal(0, #s)
			assert.is_nil(s.last_add)
		end)

		it("defaults attr to a new empty table", function()
			local a, b = st.stanza("a"), st.stanza("a")
			assert.same({}, a.attr)
			assert.not_equal(a.attr, b.attr)
		end)

		it("accepts XML names and QNames", function()
			for _, name in ipairs(good_names) do
				assert.equal(name, st.stanza(name).name)
				assert.equal("v", st.stanza("a", { [name] = "v" }).attr[name])
			end
		end)

		it("rejects invalid element names with Prosody's message form", function()
			for _, case in ipairs(bad_names) do
				assert.equal("invalid tag name: " .. case[2], error_of(st.stanza, case[1]), case[1])
			end
			assert.equal("invalid tag name: expected string, got number", error_of(st.stanza, 1))
			assert.equal("invalid tag name: expected string, got nil", error_of(st.stanza))
			assert.equal("invalid tag name: expected string, got table", error_of(st.stanza, {}))
		end)

		it("rejects invalid attribute names", function()
			for _, case in ipairs(bad_names) do
				assert.equal("invalid attribute name: " .. case[2], error_of(st.stanza, "a", { [case[1]] = "v" }),
					case[1])
			end
			assert.equal("invalid attribute name: expected string, got number", error_of(st.stanza, "a", { "v" }))
		end)

		it("takes namespaced attribute names as uri\\1local", function()
			local s = st.stanza("a", { ["urn:x\1foo"] = "1", ["http://www.w3.org/XML/1998/namespace\1lang"] = "en" })
			assert.equal("1", s.attr["urn:x\1foo"])
			for _, name in ipairs { "\1foo", "urn:x\1", "urn:x\1a:b", "urn:x\0011abc", "urn:x\1a\1b" } do
				assert.has_error(function() st.stanza("a", { [name] = "v" }) end)
			end
			assert.equal("invalid tag name: contains control characters", error_of(st.stanza, "urn:x\1foo"))
		end)

		it("accepts valid attribute values and rejects the others", function()
			for _, text in ipairs(good_texts) do
				assert.equal(text, st.stanza("a", { v = text }).attr.v)
			end
			for _, case in ipairs(bad_texts) do
				assert.equal("invalid attribute value: " .. case[2], error_of(st.stanza, "a", { v = case[1] }))
			end
		end)

		it("rejects every C0 control character but TAB, LF and CR", function()
			for byte = 0, 31 do
				local c = string.char(byte)
				if byte == 9 or byte == 10 or byte == 13 then
					assert.equal(c, st.stanza("a", { v = c }).attr.v)
					assert.equal(c, st.stanza("a"):text(c)[1])
				else
					assert.equal("invalid attribute value: contains control characters",
						error_of(st.stanza, "a", { v = "x" .. c }), byte)
					assert.equal("invalid text value: contains control characters",
						error_of(function() st.stanza("a"):text(c .. "x") end), byte)
				end
			end
		end)

		it("rejects a number attribute value at construction", function()
			assert.equal("invalid attribute value: expected string, got number",
				error_of(st.stanza, "a", { id = 5 }))
			assert.equal("invalid attribute value: expected string, got number",
				error_of(st.message, { id = 5 }))
			assert.equal("invalid attribute value: expected string, got number",
				error_of(function() st.stanza("a"):tag("b", { id = 1 }) end))
		end)

		it("rejects attributes that are not a table", function()
			assert.equal("invalid attributes: expected table, got string", error_of(st.stanza, "a", "x"))
		end)

		it("points errors at the caller's line", function()
			local ok, err = pcall(function() st.stanza("1abc") end)
			assert.is_false(ok)
			assert.matches("stanza_spec%.lua:%d+: invalid tag name", err)
			ok, err = pcall(function() st.stanza("a"):tag("b"):text("\27") end)
			assert.is_false(ok)
			assert.matches("stanza_spec%.lua:%d+: invalid text value", err)
		end)
	end)

	describe("message(), iq(), presence()", function()
		it("message() with and without a body", function()
			local m = st.message({ to = "a@b", type = "chat" })
			assert.equal("message", m.name)
			assert.same({ to = "a@b", type = "chat" }, m.attr)
			assert.equal(0, #m)
			m = st.message({ to = "a@b" }, "hi")
			assert.equal("hi", m:get_child_text("body"))
			assert.is_true(m:at_top())
			assert.equal("<message><body>x</body></message>", tostring(st.message(nil, "x")))
			assert.equal("invalid text value: contains control characters", error_of(st.message, nil, "\1"))
		end)

		it("iq() requires id and type", function()
			assert.equal("iq stanzas require id and type attributes", error_of(st.iq))
			assert.equal("iq stanzas require an id attribute", error_of(st.iq, { type = "get" }))
			assert.equal("iq stanzas require a type attribute", error_of(st.iq, { id = "1" }))
			local iq = st.iq({ id = "1", type = "get", to = "example.com" })
			assert.equal("iq", iq.name)
			assert.equal("get", iq.attr.type)
			assert.equal("invalid attribute value: expected string, got number",
				error_of(st.iq, { id = 1, type = "get" }))
		end)

		it("presence()", function()
			local p = st.presence()
			assert.equal("presence", p.name)
			assert.same({}, p.attr)
			assert.equal("unavailable", st.presence({ type = "unavailable" }).attr.type)
		end)
	end)

	describe("building", function()
		it("tag/text/up move a cursor", function()
			local s = st.stanza("a"):tag("b", { x = "1" }):text("t"):tag("c"):up():up():tag("d")
			assert.equal("<a><b x='1'>t<c/></b><d/></a>", tostring(s))
			assert.equal(2, #s.tags)
			assert.equal(s[1], s.tags[1])
			assert.equal(s[2], s.tags[2])
			assert.equal("t", s[1][1])
			assert.equal(s[1][2], s[1].tags[1])
		end)

		it("keeps text and element children in document order", function()
			local s = st.stanza("a"):text("1"):tag("b"):up():text("2"):tag("c"):up():text("3")
			assert.same({ "1", "2", "3" }, { s[1], s[3], s[5] })
			assert.same({ "b", "c" }, { s.tags[1].name, s.tags[2].name })
			assert.equal("1<b/>2<c/>3", tostring(s):match("^<a>(.*)</a>$"))
		end)

		it("ignores nil and empty text", function()
			local s = st.stanza("a"):text(nil):text("")
			assert.equal(0, #s)
		end)

		it("rejects invalid text", function()
			for _, case in ipairs(bad_texts) do
				assert.equal("invalid text value: " .. case[2],
					error_of(function() st.stanza("a"):text(case[1]) end))
			end
			for _, text in ipairs(good_texts) do
				if text ~= "" then assert.equal(text, st.stanza("a"):text(text)[1]) end
			end
		end)

		it("up() at the top does nothing; reset() and at_top()", function()
			local s = st.stanza("a")
			assert.is_true(s:at_top())
			s:up():up()
			assert.is_true(s:at_top())
			s:tag("b"):tag("c")
			assert.is_false(s:at_top())
			s:up()
			assert.is_false(s:at_top())
			s:up()
			assert.is_true(s:at_top())
			s:tag("b"):tag("c"):reset()
			assert.is_nil(s.last_add)
			assert.is_true(s:at_top())
			s:tag("d")
			assert.equal("<a><b><c/></b><b><c/></b><d/></a>", tostring(s))
		end)

		it("text_tag, body and query", function()
			local s = st.stanza("iq"):text_tag("x", "1", { a = "b" }):body("hi", { ["xml:lang"] = "en" })
				:text_tag("empty", nil):query("jabber:iq:roster"):tag("item"):up()
			assert.equal("1", s:get_child_text("x"))
			assert.equal("b", s:get_child("x").attr.a)
			assert.equal("hi", s:get_child_text("body"))
			assert.equal("en", s:get_child("body").attr["xml:lang"])
			assert.equal(0, #s:get_child("empty"))
			local q = s:get_child("query", "jabber:iq:roster")
			assert.equal(1, #q.tags)
			assert.equal(q, s.last_add[1]) -- query() leaves the cursor inside
			assert.equal("invalid text value: expected string, got number",
				error_of(function() st.stanza("a"):text_tag("b", 1) end))
			assert.equal("invalid tag name: contains invalid characters",
				error_of(function() st.stanza("a"):text_tag("b c", "x") end))
		end)

		it("add_child adds at the cursor, add_direct_child to the element itself", function()
			local child = st.stanza("c")
			local s = st.stanza("a"):tag("b"):add_child(child)
			assert.equal(child, s.tags[1].tags[1])
			assert.equal(s, s:add_child("text"))
			assert.equal("text", s.tags[1][2])
			local other = st.stanza("d")
			assert.is_nil(s:add_direct_child(other))
			assert.equal(other, s.tags[2])
			assert.equal(other, s[2])
			s:add_direct_child("t")
			assert.equal("t", s[3])
			assert.equal(2, #s.tags)
			assert.equal("invalid text value: expected string, got table",
				error_of(function() s:add_child({}) end))
			assert.equal("invalid text value: contains control characters",
				error_of(function() s:add_direct_child("\27") end))
		end)

		it("text() given an element adds it as an element, as Prosody does", function()
			local s = st.stanza("a"):text(st.stanza("b"))
			assert.equal("b", s.tags[1].name)
			assert.equal(s[1], s.tags[1])
		end)
	end)

	describe("querying", function()
		-- <iq xmlns='jabber:client'><query xmlns='urn:q'><item/>…</query><x/><y xmlns='urn:y'/></iq>
		local function sample()
			return st.stanza("iq", { xmlns = "jabber:client", type = "result" })
				:tag("query", { xmlns = "urn:q" })
				:tag("item", { xmlns = "urn:q", jid = "a@b", name = "A" }):up()
				:tag("item", { xmlns = "urn:q", jid = "C@D", name = "C" }):up()
				:tag("group", { xmlns = "urn:q" }):text("friends"):up()
				:up()
				:tag("x"):up()
				:tag("y", { xmlns = "urn:y" }):text("why"):up()
				:tag("x", { xmlns = "jabber:client" }):up()
		end

		it("get_child with a nil xmlns matches the parent's namespace and no xmlns", function()
			local s = sample()
			assert.equal(s.tags[2], s:get_child("x")) -- no xmlns at all
			assert.is_nil(s:get_child("y"))
			assert.is_nil(s:get_child("query"))
			local q = s:get_child("query", "urn:q")
			assert.equal(s.tags[1], q)
			assert.equal(q.tags[1], q:get_child("item")) -- same xmlns as its parent
			assert.equal(q.tags[3], q:get_child("group"))
			assert.equal(s.tags[3], s:get_child("y", "urn:y"))
			assert.equal(s.tags[4], s:get_child("x", "jabber:client"))
			assert.equal(s.tags[2], s:get_child(nil)) -- first in the same namespace
			assert.equal(s.tags[1], s:get_child(nil, "urn:q"))
			assert.is_nil(s:get_child("nothing"))
		end)

		it("get_child on parsed stanzas, where xmlns is set only where it changes", function()
			local m = xml.parse("<message xmlns='jabber:client'><body>hi</body><x xmlns='urn:x'><y>1</y></x></message>",
				{ default_ns = "jabber:client" })
			assert.is_nil(m.attr.xmlns)
			assert.equal("hi", m:get_child_text("body"))
			local x = m:get_child("x", "urn:x")
			assert.equal("urn:x", x:get_child("y").attr.xmlns)
			assert.equal("1", x:get_child_text("y"))
		end)

		it("get_child_text, get_child_attr, get_text", function()
			local s = sample()
			assert.equal("why", s:get_child_text("y", "urn:y"))
			assert.equal("", s:get_child_text("x"))
			assert.is_nil(s:get_child_text("query")) -- not in this namespace
			assert.is_nil(s:get_child("query", "urn:q"):get_text()) -- has child tags
			assert.equal("result", s.attr.type)
			assert.equal("a@b", s:get_child("query", "urn:q"):get_child_attr("item", nil, "jid"))
			assert.is_nil(s:get_child("query", "urn:q"):get_child_attr("item", nil, "nope"))
			assert.is_nil(s:get_child_attr("nope", nil, "jid"))
			assert.equal("ab", st.stanza("a"):text("a"):text("b"):get_text())
		end)

		it("get_child_with_attr, with a normalizer", function()
			local q = sample():get_child("query", "urn:q")
			assert.equal(q.tags[2], q:get_child_with_attr("item", nil, "jid", "C@D"))
			assert.is_nil(q:get_child_with_attr("item", nil, "jid", "c@d"))
			assert.equal(q.tags[2], q:get_child_with_attr("item", nil, "jid", "c@d", string.lower))
			assert.equal(q.tags[1], q:get_child_with_attr("item", "urn:q", "name", "A"))
			assert.is_nil(q:get_child_with_attr("item", "urn:other", "name", "A"))
		end)

		it("child_with_name and child_with_ns ignore the other criterion", function()
			local s = sample()
			assert.equal(s.tags[1], s:child_with_name("query"))
			assert.equal(s.tags[2], s:child_with_name("x"))
			assert.equal(s.tags[3], s:child_with_ns("urn:y"))
			assert.equal(s.tags[2], s:child_with_ns(nil))
			assert.is_nil(s:child_with_name("nope"))
			assert.is_nil(s:child_with_ns("urn:nope"))
		end)

		it("children() gives every child, text included", function()
			local s = st.stanza("a"):text("1"):tag("b"):up():text("2")
			local seen = {}
			for child in s:children() do seen[#seen + 1] = type(child) == "table" and child.name or child end
			assert.same({ "1", "b", "2" }, seen)
		end)

		it("childtags() filters by name and namespace", function()
			local s = sample()
			local q = s:get_child("query", "urn:q")
			local function names(iter)
				local out = {}
				for tag in iter do out[#out + 1] = tag.name .. "=" .. tostring(tag.attr.name) end
				return out
			end
			assert.same({ "item=A", "item=C", "group=nil" }, names(q:childtags()))
			assert.same({ "item=A", "item=C" }, names(q:childtags("item")))
			assert.same({ "item=A", "item=C" }, names(q:childtags("item", "urn:q")))
			assert.same({}, names(q:childtags("item", "urn:other")))
			assert.same({ "x=nil", "x=nil" }, names(s:childtags("x")))
			assert.same({ "y=nil" }, names(s:childtags(nil, "urn:y")))
		end)

		it("find() follows paths", function()
			local s = st.message({ from = "a@b" }, "hello")
				:tag("x", { xmlns = "urn:x", ["urn:a\1b"] = "nsattr", ["pfx:c"] = "literal" })
				:tag("item", { jid = "c@d" }):text("txt"):up()
			s:get_child("x", "urn:x").namespaces = { p = "urn:p" }
			s:get_child("x", "urn:x").attr["urn:p\1d"] = "prefixed"
			assert.equal("hello", s:find("body#"))
			assert.equal(s.tags[1], s:find("body"))
			assert.equal("a@b", s:find("@from"))
			assert.equal(s.tags[2], s:find("{urn:x}x"))
			assert.equal("c@d", s:find("{urn:x}x/item@jid"))
			assert.equal("c@d", s:find("{urn:x}x/item/@jid"))
			assert.equal("txt", s:find("{urn:x}x/item#"))
			assert.equal("nsattr", s:find("{urn:x}x@{urn:a}b"))
			assert.equal("prefixed", s:find("{urn:x}x@p:d"))
			assert.equal("literal", s:find("{urn:x}x@pfx:c")) -- an unknown prefix: the literal key
			assert.is_nil(s:find("x/item"))
			assert.is_nil(s:find("{urn:x}x/nope#"))
			assert.is_nil(s:find("{urn:x}x/nope/deeper@jid"))
			assert.is_nil(s:find("@nope"))
			assert.matches("invalid path", error_of(s.find, s, "{urn:x"))
			assert.matches("invalid path", error_of(s.find, s, "{}x"))
			for _ = 1, 3 do assert.equal("c@d", s:find("{urn:x}x/item@jid")) end -- cached path
		end)

		it("get_error() reads a stanza error", function()
			local e = parse("<iq type='error'><error type='cancel' by='x'><item-not-found xmlns='" .. NS_STANZAS ..
				"'/><text xmlns='" .. NS_STANZAS .. "'>gone away</text><app xmlns='urn:app'/></error></iq>")
			local t, cond, text, extra = e:get_error()
			assert.equal("cancel", t)
			assert.equal("item-not-found", cond)
			assert.equal("gone away", text)
			assert.equal("app", extra.name)
			t, cond, text, extra = parse("<iq><error type='wait'/></iq>"):get_error()
			assert.same({ "wait", "undefined-condition" }, { t, cond })
			assert.is_nil(text)
			assert.is_nil(extra)
			assert.equal(4, select("#", st.stanza("iq"):get_error()))
			assert.is_nil((st.stanza("iq"):get_error()))
		end)
	end)

	describe("reply() and error_reply()", function()
		it("reply swaps to/from, keeps the id, answers an iq with a result", function()
			local iq = st.iq({ id = "1", type = "get", from = "a@b/c", to = "d" }):query("urn:q")
			local r = st.reply(iq)
			assert.same({ to = "a@b/c", from = "d", id = "1", type = "result" }, r.attr)
			assert.equal(0, #r)
			r = st.reply(st.message({ id = "m", type = "chat", from = "x", to = "y" }))
			assert.same({ to = "x", from = "y", id = "m", type = "chat" }, r.attr)
			assert.same({}, st.reply(st.presence()).attr)
			assert.equal("bad argument to reply: expected stanza, got table",
				error_of(st.reply, { name = "a", attr = {} }))
			assert.equal("bad argument to reply: expected stanza, got nil", error_of(st.reply))
		end)

		it("error_reply builds <error> with the cursor inside it", function()
			local orig = st.iq({ id = "1", type = "set", from = "a@b/c", to = "d" })
			local r = st.error_reply(orig, "modify", "bad-request", "why not", "e")
			assert.same({ to = "a@b/c", from = "d", id = "1", type = "error" }, r.attr)
			local err = r.tags[1]
			assert.same({ type = "modify", by = "e" }, err.attr)
			assert.equal("bad-request", err.tags[1].name)
			assert.equal(NS_STANZAS, err.tags[1].attr.xmlns)
			assert.equal(0, #err.tags[1])
			assert.equal("why not", err:get_child_text("text", NS_STANZAS))
			r:tag("app", { xmlns = "urn:app" })
			assert.equal("app", err.tags[3].name)
			local t, cond, text, extra = r:get_error()
			assert.same({ "modify", "bad-request", "why not", "app" }, { t, cond, text, extra.name })
		end)

		it("error_reply drops `by` when it is the reply's from", function()
			local r = st.error_reply(st.message({ to = "d", from = "a" }), "cancel", "gone", nil, "d")
			assert.is_nil(r.tags[1].attr.by)
			assert.equal(1, #r.tags[1].tags) -- no <text/>
		end)

		it("error_reply takes a util.error-like object", function()
			local orig = st.message({ to = "d", from = "a", id = "i" })
			local r = st.error_reply(orig, {
				type = "cancel", condition = "gone", text = "moved",
				context = { by = "z" }, extra = { uri = "xmpp:new@place" },
			})
			local err = r.tags[1]
			assert.same({ type = "cancel", by = "z" }, err.attr)
			assert.equal("xmpp:new@place", err:get_child_text("gone", NS_STANZAS))
			assert.equal("moved", err:get_child_text("text", NS_STANZAS))

			local app = st.stanza("too-fast", { xmlns = "urn:app" })
			r = st.error_reply(orig, { type = "wait", condition = "policy-violation", extra = { tag = app } })
			assert.equal(app, r.tags[1].tags[2])
			assert.is_nil(r.tags[1].attr.by)

			r = st.error_reply(orig, {
				type = "modify", condition = "bad-request",
				extra = { namespace = "urn:app", condition = "bad-thing" },
			})
			assert.equal("urn:app", r.tags[1]:get_child("bad-thing", "urn:app").attr.xmlns)
			local _, _, _, extra = r:get_error()
			assert.equal("bad-thing", extra.name)

			r = st.error_reply(orig, { type = "cancel", condition = "gone", context = { by = "d" } })
			assert.is_nil(r.tags[1].attr.by)
		end)

		it("error_reply refuses non-stanzas and errors", function()
			assert.equal("bad argument to error_reply: expected stanza, got string",
				error_of(st.error_reply, "x", "cancel", "gone"))
			assert.equal("bad argument to error_reply: got stanza of type error which must not be replied to",
				error_of(st.error_reply, st.message({ type = "error" }), "cancel", "gone"))
			assert.equal("invalid tag name: expected string, got nil",
				error_of(st.error_reply, st.message(), "cancel"))
		end)

		it("add_error adds a complete <error/> at the cursor and keeps the cursor", function()
			local s = st.message({ from = "me" })
			assert.equal(s, s:add_error("cancel", "not-allowed", "no", "me"))
			assert.is_true(s:at_top())
			assert.same({ type = "cancel" }, s.tags[1].attr)
			s:tag("x"):add_error({ type = "auth", condition = "forbidden" }):tag("y")
			assert.equal("error", s.tags[2].tags[1].name)
			assert.equal("y", s.tags[2].tags[2].name)
			local t, cond, text = s:get_error()
			assert.same({ "cancel", "not-allowed", "no" }, { t, cond, text })
		end)
	end)

	describe("maptags() and remove_children()", function()
		local function sample()
			return st.stanza("a", { xmlns = "urn:a" }):text("1"):tag("b"):up():text("2")
				:tag("c", { xmlns = "urn:c" }):up():text("3"):tag("b", { xmlns = "urn:a" }):up():text("4")
		end

		it("maptags replaces and removes child tags in place", function()
			local s = sample()
			local seen = {}
			assert.equal(s, s:maptags(function(tag)
				seen[#seen + 1] = tag.name
				if tag.name == "c" then return nil end
				if tag.attr.xmlns then return st.stanza("z") end
				return tag
			end))
			assert.same({ "b", "c", "b" }, seen)
			assert.equal("<a xmlns='urn:a'>1<b/>23<z/>4</a>", tostring(s))
			assert.equal(2, #s.tags)
			assert.equal(s[2], s.tags[1])
			assert.equal(s[5], s.tags[2])
			assert.equal(6, #s)
		end)

		it("maptags with nothing to do", function()
			local s = sample()
			local before = tostring(s)
			s:maptags(function(tag) return tag end)
			assert.equal(before, tostring(s))
			local empty = st.stanza("a"):text("t")
			assert.equal(empty, empty:maptags(error)) -- no tags: never called
		end)

		it("maptags leaves the stanza unchanged when a callback fails", function()
			local s = sample()
			local before = tostring(s)
			local n = 0
			assert.has_error(function()
				s:maptags(function()
					n = n + 1
					if n == 3 then error("boom", 0) end
					return nil
				end)
			end, "boom")
			assert.equal(before, tostring(s))
			assert.equal(3, #s.tags)
		end)

		it("maptags guards against tags missing from the children (Prosody #981)", function()
			local s = sample()
			s.tags[#s.tags + 1] = st.stanza("ghost")
			assert.equal("Invalid stanza state! Please report this error.",
				error_of(s.maptags, s, function(t) return t end))
			assert.equal("Invalid stanza state! Please report this error.",
				error_of(s.remove_children, s, "b"))
			assert.equal(4, #s.tags)
			s = sample()
			s.tags[1], s.tags[3] = s.tags[3], s.tags[1] -- out of order
			assert.has_error(function() s:maptags(function(t) return t end) end)
		end)

		it("remove_children defaults xmlns to the parent's", function()
			local s = sample()
			s:remove_children("b")
			assert.equal("<a xmlns='urn:a'>1<b/>2<c xmlns='urn:c'/>34</a>", tostring(s))
			s = sample():remove_children("b", nil)
			assert.equal(2, #s.tags)
			s = sample():remove_children(nil, "urn:c")
			assert.equal("<a xmlns='urn:a'>1<b/>23<b/>4</a>", tostring(s))
			s = sample():remove_children()
			assert.same({ "b", "c" }, { s.tags[1].name, s.tags[2].name })
			s = st.stanza("a"):tag("x"):up():tag("y"):up():text("t")
			s:remove_children()
			assert.equal("<a>t</a>", tostring(s))
			assert.same({}, s.tags)
		end)

		it("are linear: 200000 children, half of them removed", function()
			local s = st.stanza("a")
			for i = 1, 100000 do s:tag(i % 2 == 0 and "even" or "odd"):up():text("t") end
			s:remove_children("odd")
			assert.equal(50000, #s.tags)
			assert.equal(150000, #s)
			s:maptags(function() return nil end)
			assert.equal(0, #s.tags)
			assert.equal(100000, #s)
		end)
	end)

	describe("clone()", function()
		it("copies deeply", function()
			local s = st.message({ to = "a" }, "hi"):tag("x", { xmlns = "urn:x" }, { p = "urn:p" }):text("t")
			local c = st.clone(s)
			assert.same(st.preserialize(s), st.preserialize(c))
			assert.equal(getmetatable(s), getmetatable(c))
			assert.not_equal(s, c)
			assert.not_equal(s.attr, c.attr)
			assert.not_equal(s.tags[2], c.tags[2])
			assert.not_equal(s.tags[2].namespaces, c.tags[2].namespaces)
			assert.same(s.tags[2].namespaces, c.tags[2].namespaces)
			assert.equal(c[1], c.tags[1])
			assert.equal(c[2], c.tags[2])
			assert.is_nil(c.last_add)
			c.tags[2].attr.changed = "yes"
			c:get_child("body")[1] = "changed"
			assert.is_nil(s.tags[2].attr.changed)
			assert.equal("hi", s:get_child_text("body"))
		end)

		it("copies only the top element with only_top", function()
			local s = st.message({ to = "a" }, "hi")
			local c = st.clone(s, true)
			assert.equal("<message to='a'/>", tostring(c))
			assert.not_equal(s.attr, c.attr)
			assert.same({}, c.tags)
		end)

		it("raises on a non-stanza", function()
			assert.equal("bad argument to clone: expected stanza, got table", error_of(st.clone, {}))
			assert.equal("bad argument to clone: expected stanza, got nil", error_of(st.clone))
		end)

		it("handles 100000 levels without recursion", function()
			local s = st.stanza("a")
			for _ = 1, 100000 do s:tag("a") end
			s:text("deep")
			local c = st.clone(s)
			local node = c
			for _ = 1, 100000 do node = node.tags[1] end
			assert.equal("deep", node[1])
			local copy = st.deserialize(st.preserialize(s))
			if _VERSION == "Lua 5.1" then
				-- Lua 5.1 and LuaJIT give a C function 8000 stack slots
				-- (LUAI_MAXCSTACK), and the serializer two per open element:
				-- it says so instead of crashing; 3000 levels fit.
				assert.has_error(function() tostring(s) end, "stack overflow (stanza too deep)")
				local shallow = st.stanza("a")
				for _ = 1, 3000 do shallow:tag("a") end
				shallow:text("deep")
				assert.equal(tostring(shallow), tostring(st.deserialize(st.preserialize(shallow))))
			else
				assert.equal(tostring(s), tostring(copy))
			end
			node = s:indent(1, "") -- an indent string would make the output quadratic
			for _ = 1, 100000 do node = node.tags[1] end
			assert.equal("deep", node[1])
		end)
	end)

	describe("preserialize() and deserialize()", function()
		local function sample()
			return st.message({ to = "a@b", ["urn:x\1y"] = "1" }, "hi")
				:tag("x", { xmlns = "urn:x" }):text("a"):tag("y"):up():text("b")
		end

		it("preserialize gives a plain table without tags, cursor or metatable", function()
			local s = sample()
			local p = st.preserialize(s)
			assert.is_nil(getmetatable(p))
			assert.is_nil(p.tags)
			assert.is_nil(p.last_add)
			assert.same({
				name = "message", attr = { to = "a@b", ["urn:x\1y"] = "1" },
				{ name = "body", attr = {}, "hi" },
				{ name = "x", attr = { xmlns = "urn:x" }, "a", { name = "y", attr = {} }, "b" },
			}, p)
			assert.equal(st.preserialize, st.stanza_mt.__freeze)
		end)

		it("deserialize rebuilds an equal stanza", function()
			local s = sample()
			local d = st.deserialize(st.preserialize(s))
			assert.is_true(st.is_stanza(d))
			assert.same(st.preserialize(s), st.preserialize(d))
			assert.not_equal(s.attr, d.attr)
			assert.equal(d[2], d.tags[2])
			assert.equal("y", d.tags[2].tags[1].name)
			assert.is_nil(st.deserialize(nil))
		end)

		it("deserialize converts legacy ns|attr keys and drops non-string keys", function()
			local d = st.deserialize({ name = "a", attr = { ["urn:x|y"] = "1", [1] = "z", plain = "p" } })
			assert.same({ ["urn:x\1y"] = "1", plain = "p" }, d.attr)
			d = st.deserialize({ name = "a", attr = { ["urn:a|b\1y"] = "1" } }) -- already namespaced
			assert.same({ ["urn:a|b\1y"] = "1" }, d.attr)
		end)

		it("deserialize validates, and skips children that are neither text nor tables", function()
			assert.equal("invalid tag name: is not a valid XML name",
				error_of(st.deserialize, { name = "1abc", attr = {} }))
			assert.equal("invalid attribute value: expected string, got number",
				error_of(st.deserialize, { name = "a", attr = {}, { name = "b", attr = { x = 1 } } }))
			assert.equal("invalid text value: contains control characters",
				error_of(st.deserialize, { name = "a", attr = {}, "\27" }))
			local d = st.deserialize({ name = "a", attr = {}, "x", 5, true, { name = "b", attr = {} } })
			assert.equal("<a>x<b/></a>", tostring(d))
		end)
	end)

	describe("serialization", function()
		it("escapes text and attribute values", function()
			local s = st.stanza("a", { v = "<&>'\"" }):text("<&>'\"")
			assert.equal("<a v='&lt;&amp;&gt;&apos;&quot;'>&lt;&amp;&gt;'\"</a>", tostring(s))
		end)

		it("escapes TAB, LF and CR in attributes and CR in text", function()
			local s = st.stanza("a", { v = "1\t2\n3\r4" }):text("l1\r\nl2\tx\n")
			assert.equal("<a v='1&#9;2&#10;3&#13;4'>l1&#13;\nl2\tx\n</a>", tostring(s))
		end)

		it("round-trips TAB/LF/CR in attributes and CR in text through xml.parse", function()
			local s = st.stanza("a", { v = "1\t2\n3\r4\r\n" }):text("l1\r\nl2\r"):tag("b", { w = " \t " })
			local p = parse(tostring(s))
			assert.equal(s.attr.v, p.attr.v)
			assert.equal(s[1], p[1])
			assert.equal(" \t ", p.tags[1].attr.w)
			assert.same(st.preserialize(s), st.preserialize(p))
		end)

		it("omits xmlns equal to the parent's", function()
			local s = st.stanza("a", { xmlns = "urn:a" }):tag("b", { xmlns = "urn:a" }):tag("c", { xmlns = "urn:c" })
				:tag("d", { xmlns = "urn:c" })
			assert.equal("<a xmlns='urn:a'><b><c xmlns='urn:c'><d/></c></b></a>", tostring(s))
		end)

		it("writes namespaced attributes with prefixes", function()
			local s = st.stanza("a", { ["urn:x\1foo"] = "v" })
			assert.equal("<a xmlns:ns1='urn:x' ns1:foo='v'/>", tostring(s))
			assert.equal("<a xml:lang='en'/>",
				tostring(st.stanza("a", { ["http://www.w3.org/XML/1998/namespace\1lang"] = "en" })))
			local p = parse(tostring(st.stanza("a", { ["urn:x\1foo"] = "1", ["urn:y\1bar"] = "2", ["xml:lang"] = "de" })))
			assert.same({ ["urn:x\1foo"] = "1", ["urn:y\1bar"] = "2", ["xml:lang"] = "de" }, p.attr)
		end)

		it("top_tag gives the opening tag alone", function()
			local s = st.stanza("stream:stream", {
				xmlns = "jabber:client", ["xmlns:stream"] = "http://etherx.jabber.org/streams", version = "1.0",
			}):tag("x"):up()
			local top = s:top_tag()
			assert.matches("^<stream:stream .*>$", top)
			assert.not_matches("/>$", top)
			local p = parse(top .. "</stream:stream>")
			assert.equal("stream", p.name) -- the parser keeps local names
			assert.equal("http://etherx.jabber.org/streams", p.attr.xmlns)
			assert.equal("1.0", p.attr.version)
			assert.equal("<a x='&lt;'>", st.stanza("a", { x = "<" }):text("t"):top_tag())
			assert.equal(s.top_tag, s.pretty_top_tag)
		end)
	end)

	describe("indent() and pretty_print()", function()
		local function sample()
			return st.message({ to = "a" }):text_tag("body", "hi"):tag("x", { xmlns = "urn:x" }):text("  ")
				:tag("y"):tag("z"):up():up():text("words"):up():tag("empty"):up()
		end

		it("indent returns an indented copy", function()
			local s = sample()
			local before = tostring(s)
			local i = s:indent()
			assert.equal(before, tostring(s))
			assert.equal(table.concat({
				"<message to='a'>",
				"\t<body>hi</body>",
				"\t<x xmlns='urn:x'>",
				"\t\t<y>",
				"\t\t\t<z/>",
				"\t\t</y>",
				"\t\twords",
				"\t</x>",
				"\t<empty/>",
				"</message>",
			}, "\n"), tostring(i))
			assert.same({ "body", "x", "empty" }, { i.tags[1].name, i.tags[2].name, i.tags[3].name })
		end)

		it("indent takes a level and an indent string", function()
			assert.equal("<a>\n    <b/>\n  </a>", tostring(st.stanza("a"):tag("b"):up():indent(2, "  ")))
			assert.equal("invalid text value: contains control characters",
				error_of(function() st.stanza("a"):tag("b"):up():indent(1, "\1") end))
		end)

		it("indent keeps empty and text-only elements as they are", function()
			local e = st.stanza("a")
			assert.equal(e, e:indent())
			local t = st.stanza("a"):text(" x ")
			assert.equal(t, t:indent())
		end)

		it("pretty_print is the indented XML", function()
			local s = sample()
			assert.equal(tostring(s:indent()), s:pretty_print())
			assert.equal(tostring(s:indent()), st.pretty_print(tostring(s)))
			assert.equal("<unclosed", st.pretty_print("<unclosed"))
			assert.equal("plain text", st.pretty_print("plain text"))
		end)
	end)

	describe("docs/stanza.md", function()
		for name, run in require "support.doc_examples"("docs/stanza.md") do it(name, run) end
	end)

	describe("xml_escape()", function()
		it("escapes all five special characters", function()
			assert.equal("&lt;a href=&quot;x&quot;&gt;&amp;&apos;", st.xml_escape("<a href=\"x\">&'"))
			assert.equal("plain \t\n\r é", st.xml_escape("plain \t\n\r é"))
			assert.equal("", st.xml_escape(""))
			assert.equal("&amp;amp;", st.xml_escape("&amp;"))
		end)
	end)
end)

describe("tostring never writes XML a namespace-aware parser refuses", function()
	it("gives namespaced attributes prefixes no literal declaration uses", function()
		local s = st.stanza("a", { ["xmlns:ns1"] = "urn:mine", ["urn:x\1k"] = "v", ["urn:y\1k"] = "w" })
		local back = assert(xml.parse(tostring(s)))
		assert.equal("v", back.attr["urn:x\1k"])
		assert.equal("w", back.attr["urn:y\1k"])
	end)

	it("refuses the same xml: attribute given in both forms", function()
		local s = st.stanza("a", { ["xml:lang"] = "en" })
		s.attr["http://www.w3.org/XML/1998/namespace\1lang"] = "de"
		assert.has_error(function() tostring(s) end, "invalid attribute name: xml:lang given twice")
		s.attr["xml:lang"] = nil
		assert.equal("de", assert(xml.parse(tostring(s))).attr["xml:lang"])
	end)

	it("refuses reserved prefixes and namespaces", function()
		local cases = {
			{ ["http://www.w3.org/2000/xmlns/\1k"] = "v" },
			{ ["xmlns:xml"] = "urn:x" },
			{ ["xmlns:xmlns"] = "urn:x" },
			{ ["xmlns:p"] = "http://www.w3.org/2000/xmlns/" },
			{ xmlns = "http://www.w3.org/XML/1998/namespace" },
		}
		for _, attr in ipairs(cases) do
			local s = st.stanza("a")
			for k, v in pairs(attr) do s.attr[k] = v end
			assert.has_error(function() tostring(s) end)
		end
	end)
end)

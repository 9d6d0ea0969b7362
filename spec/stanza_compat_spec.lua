-- lxmpp.stanza against Prosody 0.12's util.stanza: the same calls on both,
-- compared by structure (preserialize) and by XML (each output parsed, as
-- attribute order follows pairs()). Prosody must be installed in
-- /usr/lib/prosody: if its module cannot be loaded on Lua 5.4, this spec
-- fails; on other interpreters it is pending.
local lst = require "lxmpp.stanza"
local pack = require("lxmpp.compat").pack
local xml = require "lxmpp.xml"

local prosody = require "support.prosody"

local pst = prosody.for_spec(_ENV or getfenv(1), "lxmpp.stanza compared with Prosody's util.stanza", "util.stanza")
if not pst then return end
local perrors = assert(prosody "util.error")

local NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"

-- ---- comparable results ---------------------------------------------------

local XML, ERR = {}, {} -- markers

-- An XML string, compared by what it parses to.
local function as_xml(s)
	return setmetatable({ s }, XML)
end

-- The error fn raises (without its position), or what it returns.
local function outcome(fn, ...)
	local ok, err = pcall(fn, ...)
	if ok then return "no error" end
	return setmetatable({ (tostring(err):gsub("^[^:]*:%d+: ", "")) }, ERR)
end

local function comparable(v)
	if type(v) ~= "table" then return v end
	local mt = getmetatable(v)
	if mt == pst.stanza_mt then return { stanza = pst.preserialize(v) } end
	if mt == lst.stanza_mt then return { stanza = lst.preserialize(v) } end
	if mt == XML then
		local doc, err = xml.parse(v[1], { max_depth = 100000 })
		assert(doc, "not well-formed: " .. tostring(err) .. ": " .. v[1])
		return { xml = lst.preserialize(doc) }
	end
	if mt == ERR then return { error = v[1] } end
	local out = {}
	for k, x in pairs(v) do out[k] = comparable(x) end
	return out
end

-- Runs scenario(st) with each module and compares what it returns.
local function same(scenario)
	local theirs = comparable(pack(scenario(pst)))
	local ours = comparable(pack(scenario(lst)))
	assert.same(theirs, ours)
	return ours
end

-- The names of what an iterator gives (text children as they are).
local function names(f, state, control)
	local out = {}
	for child in f, state, control do out[#out + 1] = type(child) == "table" and child.name or child end
	return out
end

-- ---- scenarios --------------------------------------------------------------

local function chat(st)
	return st.message({ to = "juliet@capulet.lit/balcony", from = "romeo@montague.lit/orchard", type = "chat",
		id = "m1", ["xml:lang"] = "en" }, "Wherefore art thou?")
		:tag("active", { xmlns = "http://jabber.org/protocol/chatstates" }):up()
		:tag("x", { xmlns = "jabber:x:data", type = "form" })
		:tag("field", { var = "a", type = "text-single" }):text_tag("value", "1"):up()
		:tag("field", { var = "B" }):text_tag("value", "2"):text_tag("value", "3"):up()
		:tag("field", { var = "c", ["urn:x\1extra"] = "e" }):up()
		:up()
		:tag("thread"):text("t-1"):up()
end

local function roster(st)
	return st.iq({ type = "result", id = "r1", to = "a@b/c" })
		:query("jabber:iq:roster")
		:tag("item", { jid = "x@y", name = "X", subscription = "both" }):tag("group"):text("Friends"):up():up()
		:tag("item", { jid = "Z@Y", subscription = "none" }):up()
		:reset()
end

local function mixed(st)
	return st.stanza("a", { xmlns = "urn:a" }):text("one"):tag("b"):text("in b"):up():text(" two ")
		:tag("c", { xmlns = "urn:c" }):tag("d"):up():up():text("three"):tag("b", { xmlns = "urn:a" }):up()
		:tag("e", { xmlns = "urn:e" }):up()
end

local all = { chat = chat, roster = roster, mixed = mixed }

describe("lxmpp.stanza compared with Prosody's util.stanza", function()
	it("is comparing against Prosody 0.12's module", function()
		assert.is_function(pst.stanza)
		assert.not_equal(pst.stanza_mt, lst.stanza_mt)
		assert.matches("/usr/lib/prosody/util/stanza.lua", debug.getinfo(pst.stanza, "S").source, 1, true)
	end)

	describe("building", function()
		for name, build in pairs(all) do
			it("gives the same tree and XML: " .. name, function()
				same(function(st)
					local s = build(st)
					return s, as_xml(tostring(s)), s:at_top(), #s, #s.tags
				end)
			end)
		end

		it("message, iq, presence constructors", function()
			same(function(st)
				return st.message(), st.message({ to = "a" }), st.message({ to = "a" }, "body"),
					st.message(nil, false), st.presence(), st.presence({ type = "probe" }),
					st.iq({ id = "1", type = "get" }), st.stanza("x", { y = "z" }, { p = "urn:p" }).namespaces
			end)
		end)

		it("text and tag interleaving, up beyond the top, reset", function()
			same(function(st)
				local s = st.stanza("a"):up():up():text("x"):text(""):text(nil):tag("b"):text("y"):tag("c")
				local deep = s:at_top()
				s:reset():text("z"):tag("d"):up():up():up():text("w")
				return s, deep, s:at_top(), as_xml(tostring(s))
			end)
		end)

		it("add_child and add_direct_child", function()
			same(function(st)
				local s = st.stanza("a"):tag("b"):tag("c")
				s:add_child(st.stanza("d", { k = "v" })):add_child("text")
				s:add_direct_child(st.stanza("e"))
				s:add_direct_child("direct")
				s:up():add_child(st.stanza("f"))
				return s, as_xml(tostring(s))
			end)
		end)

		it("text_tag, body and query", function()
			same(function(st)
				return st.stanza("x"):text_tag("a", "1", { k = "v" }, { p = "urn:p" }):body("b", { ["xml:lang"] = "de" })
					:text_tag("empty"):query("urn:q"):text_tag("inner", "i")
			end)
		end)

		it("characters both accept", function()
			same(function(st)
				local s = st.stanza("a", { v = "<&>'\"", w = "é😀\127" }):text("<&>'\" é😀\127\t\n")
				return s, as_xml(tostring(s))
			end)
		end)
	end)

	describe("querying", function()
		it("get_child, get_child_text with and without xmlns", function()
			same(function(st)
				local s, out = mixed(st), {}
				for _, q in ipairs { { "b" }, { "b", "urn:a" }, { "c" }, { "c", "urn:c" }, { "d" }, { nil },
					{ nil, "urn:e" }, { "e", "urn:a" }, { "nope" } } do
					out[#out + 1] = { s:get_child(q[1], q[2]) or false, s:get_child_text(q[1], q[2]) or false }
				end
				local c = s:get_child("c", "urn:c")
				out[#out + 1] = { c:get_child("d") or false, c:get_child("d", "urn:c") or false }
				return out
			end)
		end)

		it("get_child on a stanza whose children repeat the parent's xmlns", function()
			same(function(st)
				local s = st.stanza("x", { xmlns = "urn:x" }):tag("y", { xmlns = "urn:x" }):text("1"):up()
					:tag("z"):text("2"):up()
				return s:get_child("y"), s:get_child("z"), s:get_child_text("y"), s:get_child_text("z"),
					s:get_child(nil, "urn:x"), s:get_child("z", "urn:x")
			end)
		end)

		it("children, childtags, child_with_name, child_with_ns", function()
			same(function(st)
				local s = mixed(st)
				local x = chat(st):get_child("x", "jabber:x:data")
				return names(s:children()), names(s:childtags()), names(s:childtags("b")),
					names(s:childtags("b", "urn:a")), names(s:childtags(nil, "urn:c")),
					names(x:childtags("field")), names(x:childtags("field", "urn:other")),
					s:child_with_name("c"), s:child_with_ns("urn:e"), s:child_with_ns(nil),
					s:child_with_name("nope") or false
			end)
		end)

		it("get_child_with_attr", function()
			same(function(st)
				local x = chat(st):get_child("x", "jabber:x:data")
				return x:get_child_with_attr("field", nil, "var", "b") or false,
					x:get_child_with_attr("field", nil, "var", "b", string.lower) or false,
					x:get_child_with_attr("field", nil, "var", "a"),
					x:get_child_with_attr("field", "jabber:x:data", "type", "text-single"),
					x:get_child_with_attr("field", nil, "nope", nil)
			end)
		end)

		it("get_text", function()
			same(function(st)
				local s = mixed(st)
				return s:get_text() or false, s.tags[1]:get_text(), st.stanza("a"):get_text(),
					st.stanza("a"):text("x"):text("y"):get_text()
			end)
		end)

		it("find", function()
			same(function(st)
				local s, out = chat(st), {}
				for i, path in ipairs { "body", "body#", "@to", "@xml:lang", "{jabber:x:data}x",
					"{jabber:x:data}x@type", "{jabber:x:data}x/field@var", "{jabber:x:data}x/field/value#",
					"{jabber:x:data}x/field/@type", "{http://jabber.org/protocol/chatstates}active",
					"thread#", "x/field", "{jabber:x:data}x/nope/value#", "nope#", "@nope", "", "#" } do
					out[i] = s:find(path) or false
				end
				return out
			end)
		end)

		it("get_error", function()
			same(function(st)
				local e = st.message({ type = "error" }):tag("error", { type = "modify", by = "x" })
					:tag("bad-request", { xmlns = NS_STANZAS }):up()
					:tag("text", { xmlns = NS_STANZAS }):text("why"):up()
					:tag("app", { xmlns = "urn:app" }):up()
				local bare = st.message():tag("error", { type = "wait" }):up()
				return pack(e:get_error()), pack(bare:get_error()), pack(st.message():get_error())
			end)
		end)

		it("top_tag", function()
			same(function(st)
				local s = st.stanza("stream:stream", { xmlns = "jabber:client", to = "example.com",
					["xmlns:stream"] = "http://etherx.jabber.org/streams", version = "1.0" }):tag("x"):up()
				local a = st.stanza("a", { x = "<'>" }):text("t")
				return as_xml(s:top_tag() .. "</stream:stream>"), as_xml(a:top_tag() .. "</a>")
			end)
		end)
	end)

	describe("replies and errors", function()
		it("reply", function()
			same(function(st)
				return st.reply(st.iq({ id = "1", type = "get", to = "a", from = "b" })),
					st.reply(st.message({ id = "2", type = "chat", to = "a", from = "b" })),
					st.reply(st.presence({ type = "subscribe" })), st.reply(st.stanza("custom", { from = "x" }))
			end)
		end)

		it("error_reply with strings, and the cursor inside <error>", function()
			same(function(st)
				local orig = st.iq({ id = "1", type = "set", to = "service", from = "user@host/r" })
				local a = st.error_reply(orig, "cancel", "item-not-found")
				local b = st.error_reply(orig, "modify", "bad-request", "bad thing", "service")
				local c = st.error_reply(orig, "auth", "forbidden", nil, "other")
				c:tag("app", { xmlns = "urn:app" }):text("x"):up():text_tag("more", "y")
				return a, b, c, as_xml(tostring(c)), pack(c:get_error())
			end)
		end)

		it("error_reply with util.error objects", function()
			local app = lst.stanza("too-fast", { xmlns = "urn:app" })
			local papp = pst.stanza("too-fast", { xmlns = "urn:app" })
			local tag_err = {
				[pst] = perrors.new({ type = "wait", condition = "policy-violation", text = "slow", extra = { tag = papp } }),
				[lst] = perrors.new({ type = "wait", condition = "policy-violation", text = "slow", extra = { tag = app } }),
			}
			same(function(st)
				local orig = st.message({ id = "1", to = "room", from = "user" })
				return st.error_reply(orig, perrors.new({ type = "cancel", condition = "gone",
						extra = { uri = "xmpp:elsewhere" } }, { by = "room" })),
					st.error_reply(orig, perrors.new({ type = "cancel", condition = "gone" }, { by = "judge" })),
					st.error_reply(orig, perrors.new({ type = "modify", condition = "bad-request",
						extra = { namespace = "urn:app", condition = "bad-thing" } })),
					st.error_reply(orig, tag_err[st]),
					st.error_reply(orig, perrors.new("plain string"))
			end)
		end)

		it("errors raised the same way", function()
			same(function(st)
				return outcome(st.reply, {}), outcome(st.reply), outcome(st.error_reply, "x"),
					outcome(st.error_reply, st.message({ type = "error" }), "cancel", "gone"),
					outcome(st.clone, {}), outcome(st.iq), outcome(st.iq, { id = "1" }), outcome(st.iq, { type = "get" })
			end)
		end)
	end)

	describe("mutation", function()
		it("maptags", function()
			same(function(st)
				local s = mixed(st)
				local seen = {}
				s:maptags(function(tag)
					seen[#seen + 1] = tag.name
					if tag.name == "b" then return nil end
					if tag.name == "c" then return st.stanza("new") end
					return tag
				end)
				local t = mixed(st):maptags(function() return nil end)
				local u = mixed(st):maptags(function(tag) return tag end)
				return s, seen, #s, #s.tags, t, u
			end)
		end)

		it("maptags refuses a stanza whose tags are not among its children", function()
			same(function(st)
				local s = mixed(st)
				table.insert(s.tags, st.stanza("ghost"))
				return outcome(s.maptags, s, function(tag) return tag end)
			end)
		end)

		it("remove_children", function()
			same(function(st)
				return mixed(st):remove_children("b"), mixed(st):remove_children("b", "urn:a"),
					mixed(st):remove_children(nil, "urn:c"), mixed(st):remove_children(),
					st.stanza("x"):tag("y"):up():text("t"):tag("y"):up():remove_children("y"),
					chat(st):remove_children("thread"), chat(st):remove_children("active",
						"http://jabber.org/protocol/chatstates")
			end)
		end)
	end)

	describe("copies", function()
		it("clone, deep and only_top", function()
			same(function(st)
				local s = chat(st)
				local c = st.clone(s)
				local same_attr = c.attr == s.attr
				c.tags[1][1] = "changed"
				return s, c, st.clone(s, true), same_attr, c.last_add == nil,
					st.clone(st.stanza("n", nil, { p = "urn:p" })).namespaces
			end)
		end)

		it("preserialize and deserialize", function()
			same(function(st)
				local p = st.preserialize(chat(st))
				local legacy = st.deserialize({ name = "x", attr = { ["urn:a|b"] = "v", plain = "p", [1] = "drop" },
					"text", { name = "y", attr = {}, "in y" } })
				return p, st.deserialize(p), legacy, legacy.attr, getmetatable(p) == nil, p.tags == nil,
					st.deserialize(nil)
			end)
		end)

		it("indent", function()
			same(function(st)
				local s = chat(st):tag("pad"):text("   "):tag("in"):up():text(" kept "):up()
				return s:indent(), s:indent(2, "  "), s:indent(0, "-"), st.stanza("leaf"):text("x"):indent(),
					as_xml(tostring(s:indent()))
			end)
		end)

		it("xml_escape", function()
			same(function(st)
				return st.xml_escape("<a href=\"x\">&amp;'</a>"), st.xml_escape("plain"), st.xml_escape("")
			end)
		end)
	end)

	describe("validation both do", function()
		it("rejects the same inputs with the same messages", function()
			same(function(st)
				return outcome(st.stanza, 5), outcome(st.stanza, ""), outcome(st.stanza, "a b"),
					outcome(st.stanza, "a<b"), outcome(st.stanza, "a\1"), outcome(st.stanza, "a\192\175"),
					outcome(st.stanza, "x", "attr"), outcome(st.stanza, "x", { [1] = "v" }),
					outcome(st.stanza, "x", { ["a'"] = "v" }), outcome(st.stanza, "x", { a = 5 }),
					outcome(st.stanza, "x", { a = true }), outcome(st.stanza, "x", { a = "\0" }),
					outcome(st.stanza, "x", { a = "\237\160\128" }), outcome(st.message, { to = 1 }),
					outcome(function() st.stanza("x"):text(5) end),
					outcome(function() st.stanza("x"):text("\8") end),
					outcome(function() st.stanza("x"):text("\244\144\128\128") end),
					outcome(function() st.stanza("x"):tag("a&b") end),
					outcome(function() st.stanza("x"):add_child({}) end),
					outcome(function() st.stanza("x"):text_tag("y", "\2") end),
					outcome(st.deserialize, { name = "x", attr = { a = 1 } })
			end)
		end)
	end)

	describe("a random walk of builder and query calls", function()
		local tag_names = { "a", "b", "c", "item", "x", "stream:features" }
		local namespaces = { false, false, "urn:one", "urn:two" }
		local texts = { "t", "<&>", "'\"", " ", "é", "two words", "\t" }
		local values = { "v", "<&>", "'\"", " ", "é", "two words" } -- no TAB: Prosody loses it (below)

		-- A fixed list of operations, replayed on both modules.
		local function plan(seed, n)
			local state = seed
			local function rand(k) -- a small LCG, so both replays see the same numbers
				state = (state * 1103515245 + 12345) % 2147483648
				return state % k + 1
			end
			local ops = {}
			for i = 1, n do
				ops[i] = { rand(10), rand(#tag_names), rand(#namespaces), rand(#texts), rand(3) }
			end
			return ops
		end

		local function replay(st, ops)
			local s = st.stanza("root", { xmlns = "urn:root" })
			local results = {}
			for _, op in ipairs(ops) do
				local kind, name, ns, text, attr = op[1], tag_names[op[2]], namespaces[op[3]] or nil, texts[op[4]], op[5]
				local attrs = { xmlns = ns, k = attr > 1 and values[attr * 2] or nil }
				if kind <= 3 then
					s:tag(name, attrs)
				elseif kind == 4 then
					s:text(text)
				elseif kind <= 6 then
					s:up()
				elseif kind == 7 then
					s:text_tag(name, text, attrs)
				elseif kind == 8 then
					results[#results + 1] = s:get_child(name, ns) or false
					results[#results + 1] = s:get_child_text(name, ns) or false
				elseif kind == 9 then
					results[#results + 1] = names(s:childtags(name, ns))
				else
					s:add_child(st.stanza(name, { xmlns = ns }))
				end
			end
			local plain = st.clone(s)
			plain:remove_children("a")
			return s, plain, results, s:indent()
		end

		for _, seed in ipairs { 1, 7, 42, 1234, 99991 } do
			it("seed " .. seed, function()
				local ops = plan(seed, 400)
				same(function(st) return replay(st, ops) end)
				same(function(st)
					local s = replay(st, ops)
					s = st.stanza("wrapper", { ["xmlns:stream"] = "http://etherx.jabber.org/streams" }):add_child(s)
					return as_xml(tostring(s))
				end)
			end)
		end
	end)

	describe("where lxmpp deliberately differs (convention §1.4)", function()
		it("rejects names that are not XML names, which Prosody accepts", function()
			for _, name in ipairs { "1abc", "a/b", "a=b", "-x", "a:b:c" } do
				assert.has_no_error(function() pst.stanza(name) end)
				assert.has_error(function() lst.stanza(name) end)
				assert.has_error(function() lst.stanza("x", { [name] = "v" }) end)
				local doc = xml.parse(tostring(pst.stanza(name)))
				if name ~= "a:b:c" then assert.is_nil(doc) end -- Prosody's output is not well-formed
			end
		end)

		it("rejects control characters 0x14-0x1F, and U+FFFE/U+FFFF, which Prosody accepts", function()
			for _, text in ipairs { "\20", "\27[31m", "\31", "\239\191\190", "\239\191\191" } do
				local p = pst.stanza("a", { v = text }):text(text)
				assert.is_nil(xml.parse(tostring(p)))
				assert.has_error(function() lst.stanza("a", { v = text }) end)
				assert.has_error(function() lst.stanza("a"):text(text) end)
			end
		end)

		it("keeps TAB, LF and CR in attributes and CR in text through a round trip", function()
			local attr, text = "1\t2\n3\r4", "a\r\nb\r"
			local theirs = xml.parse(tostring(pst.stanza("a", { v = attr }):text(text)))
			local ours = xml.parse(tostring(lst.stanza("a", { v = attr }):text(text)))
			assert.equal("1 2 3 4", theirs.attr.v)
			assert.equal("a\nb\n", theirs[1])
			assert.equal(attr, ours.attr.v)
			assert.equal(text, ours[1])
		end)

		it("pretty_print gives indented XML rather than ANSI colours", function()
			local p, l = chat(pst), chat(lst)
			assert.matches("\27%[", p:pretty_print())
			assert.not_matches("\27", l:pretty_print())
			assert.equal(tostring(l:indent()), l:pretty_print())
		end)

		it("has Prosody 13's add_error and get_child_attr", function()
			assert.is_nil(pst.stanza_mt.add_error)
			assert.is_nil(pst.stanza_mt.get_child_attr)
			local e = lst.message({ from = "a" }):add_error("cancel", "gone")
			assert.equal("gone", select(2, e:get_error()))
			assert.equal("X", roster(lst):get_child("query", "jabber:iq:roster"):get_child_attr("item", nil, "name"))
		end)
	end)
end)

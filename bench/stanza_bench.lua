-- Stanza building, querying, copying and writing: lxmpp.stanza against
-- Prosody 0.12's util.stanza (from /usr/lib/prosody) in the same process.
-- Prints a Markdown table of CPU time per operation.
local lst = require "lxmpp.stanza"

local pst, why = require "support.prosody"("util.stanza")

-- A chat message with a chat state and a small data form.
local function build(st)
	return st.message({ to = "juliet@capulet.lit/balcony", from = "romeo@montague.lit/orchard", type = "chat",
		id = "abc123" }, "Wherefore art thou, Romeo?")
		:tag("active", { xmlns = "http://jabber.org/protocol/chatstates" }):up()
		:tag("x", { xmlns = "jabber:x:data", type = "form" })
		:tag("field", { var = "a", type = "text-single" }):text_tag("value", "1"):up()
		:tag("field", { var = "b" }):text_tag("value", "2"):up()
		:up()
end

local cases = {
	{ "build (8 elements)", function(st) return function() build(st) end end },
	{ "tostring", function(st)
		local s = build(st)
		return function() tostring(s) end
	end },
	{ "get_child ×3", function(st)
		local s = build(st)
		return function()
			s:get_child("body"); s:get_child("x", "jabber:x:data"); s:get_child_text("body")
		end
	end },
	{ "childtags loop", function(st)
		local x = build(st):get_child("x", "jabber:x:data")
		return function() for _ in x:childtags("field") do end end
	end },
	{ "find", function(st)
		local s = build(st)
		return function() s:find("{jabber:x:data}x/field@var") end
	end },
	{ "maptags (identity)", function(st)
		local s = build(st)
		local same = function(t) return t end
		return function() s:maptags(same) end
	end },
	{ "reply + error_reply", function(st)
		local s = build(st)
		return function() st.reply(s); st.error_reply(s, "cancel", "item-not-found", "gone") end
	end },
	{ "clone", function(st)
		local s = build(st)
		return function() st.clone(s) end
	end },
	{ "preserialize + deserialize", function(st)
		local s = build(st)
		return function() st.deserialize(st.preserialize(s)) end
	end },
}

local N = 50000

local function time(fn)
	collectgarbage()
	local t0 = os.clock()
	for _ = 1, N do fn() end
	return (os.clock() - t0) / N * 1e6 -- µs per call
end

print("### lxmpp.stanza vs Prosody 0.12 util.stanza (µs per call, " .. N .. " calls)")
print()
if not pst then
	print("Prosody's util.stanza could not be loaded: " .. tostring(why))
	print()
end
print("| operation | Prosody util.stanza | lxmpp.stanza | speed-up |")
print("|---|---:|---:|---:|")
for _, case in ipairs(cases) do
	local ours = time(case[2](lst))
	if pst then
		local theirs = time(case[2](pst))
		print(("| %s | %.2f | %.2f | %.1f× |"):format(case[1], theirs, ours, theirs / ours))
	else
		print(("| %s | – | %.2f | – |"):format(case[1], ours))
	end
end

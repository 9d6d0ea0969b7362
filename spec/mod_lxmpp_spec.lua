-- prosody/mod_lxmpp.lua outside a server: loaded as Prosody loads a module
-- (a `module` object, Prosody's own util.xmppstream and util.stanza from
-- Debian's 0.12), its streams are compared with util.xmppstream's on the
-- same bytes: the same callbacks with the same arguments, in the same
-- order, the same results from feed. The interop specs run it in a real
-- Prosody.
local prosody = require "support.prosody"

local HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
	.. "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='fr'>"

-- Prosody's modules are built for Lua 5.4: elsewhere this spec is pending.
if not prosody.for_spec(_ENV or getfenv(1), "mod_lxmpp", "util.xmppstream") then return end

describe("mod_lxmpp", function()
	local xmppstream = assert(prosody("util.xmppstream"))
	local pst = assert(prosody("util.stanza"))
	local prosody_new = xmppstream.new
	local module_object

	setup(function()
		package.loaded["core.modulemanager"] = { is_loaded = function() return false end }
		module_object = {
			set_global = function() end,
			get_option = function(_, _, default) return default end,
			log = function() end,
		}
		local env = setmetatable({ module = module_object, prosody = {} }, { __index = _G })
		local chunk = assert(loadfile("prosody/mod_lxmpp.lua", "t", env))
		if setfenv then setfenv(chunk, env) end -- Lua 5.1's loadfile takes no env
		chunk()
		module_object.load()
	end)

	teardown(function()
		module_object.unload()
		package.loaded["core.modulemanager"] = nil
	end)

	-- A stanza as text with its attributes sorted (tostring follows the
	-- tables' order, which depends on how each parser filled them).
	local function canonical(st)
		if type(st) == "string" then return st end
		local keys = {}
		for k, v in pairs(st.attr) do keys[#keys + 1] = k .. "='" .. v .. "'" end
		table.sort(keys)
		local out = { "<" .. st.name .. " " .. table.concat(keys, " ") .. ">" }
		for _, child in ipairs(st) do out[#out + 1] = canonical(child) end
		return table.concat(out) .. "</" .. st.name .. ">"
	end

	-- A stream made by `new`, and the list of what its callbacks saw.
	local function recorder(new, limit, default_ns)
		local seen = {}
		local session = { notopen = true }
		function session.close(_, reason) seen[#seen + 1] = "close " .. reason.condition .. ": " .. reason.text end
		local callbacks = {
			default_ns = default_ns or "jabber:client",
			streamopened = function(s, attr)
				s.notopen = nil
				local keys = {}
				for k, v in pairs(attr) do keys[#keys + 1] = k .. "=" .. v end
				table.sort(keys)
				seen[#seen + 1] = "open " .. table.concat(keys, " ")
			end,
			streamclosed = function() seen[#seen + 1] = "closed" end,
			handlestanza = function(_, st)
				assert(pst.is_stanza(st))
				seen[#seen + 1] = "stanza " .. canonical(st)
			end,
			error = function(_, name, data)
				seen[#seen + 1] = "error " .. name .. (pst.is_stanza(data) and " " .. canonical(data) or "")
			end,
		}
		return new(session, callbacks, limit), seen, session
	end

	-- Feeds the pieces to both; returns what each saw, and feed's results.
	local function both(pieces, limit)
		local out = {}
		for i, new in ipairs { xmppstream.new, prosody_new } do
			local stream, seen = recorder(new, limit)
			for _, piece in ipairs(pieces) do
				local ok, err = stream:feed(piece)
				if not ok then
					seen[#seen + 1] = "feed: " .. tostring(err)
					break
				end
			end
			out[i] = seen
		end
		return out[1], out[2]
	end

	local function bytes(s)
		local t = {}
		for i = 1, #s do t[i] = s:sub(i, i) end
		return t
	end

	it("replaces util.xmppstream.new while loaded", function()
		assert.are_not.equal(prosody_new, xmppstream.new)
	end)

	it("calls Prosody's callbacks as util.xmppstream does, however the bytes are cut", function()
		local stream = HEADER .. "<message to='a@example.com' id='1'><body>hi &amp; bye</body>"
			.. "<x xmlns='urn:example'><y a='b'/></x></message>\n <presence xml:lang='en'/>"
			.. "<iq type='get' id='2'><query xmlns='jabber:iq:roster'/></iq>"
			.. "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
			.. "</stream:stream>"
		local ours, theirs = both { stream }
		assert.same(theirs, ours)
		assert.equal(6, #ours)
		local whole = ours
		ours, theirs = both(bytes(stream))
		assert.same(whole, ours)
		-- Prosody's, on an expat with reparse deferral (Debian's current),
		-- holds back the last tag until more bytes come: the rest is the same
		assert.is_true(#theirs >= #whole - 1)
		for i = 1, #theirs do assert.equal(whole[i], theirs[i]) end
	end)

	it("says stanza-too-large from feed past the size limit, as util.xmppstream", function()
		local big = "<message><body>" .. ("x"):rep(3000) .. "</body></message>"
		local pieces = { HEADER }
		for i = 1, #big, 500 do pieces[#pieces + 1] = big:sub(i, i + 499) end
		local ours, theirs = both(pieces, 1000)
		assert.same(theirs, ours)
		assert.equal("feed: stanza-too-large", ours[#ours])
		-- in one read: Prosody counts after parsing it, lxmpp while parsing
		ours, theirs = both({ HEADER, big }, 1000)
		assert.equal("feed: stanza-too-large", ours[#ours])
		assert.matches("^stanza <message", theirs[#theirs])
	end)

	it("gives malformed XML back from feed, as util.xmppstream (the caller closes)", function()
		local ours, theirs = both { HEADER, "<message></presence>" }
		assert.equal("feed: line 1, column 162: mismatched tag", ours[2])
		assert.equal("feed: mismatched tag", theirs[2])
	end)

	it("closes with lxmpp's condition where Prosody's callbacks would say not-well-formed", function()
		local stream, seen = recorder(xmppstream.new)
		assert.is_nil((stream:feed(HEADER .. "<message><!-- hi --></message>")))
		assert.equal("close restricted-xml: comments are not allowed", seen[2])
		stream, seen = recorder(xmppstream.new)
		assert.is_nil((stream:feed(HEADER .. "<message>" .. ("<a>"):rep(100))))
		assert.equal("close policy-violation: limit exceeded: max_depth 64", seen[2])
	end)

	it("takes a new size limit between stanzas, in the middle of a stream (s2s after dialback)", function()
		local stream, seen = recorder(xmppstream.new, 1000, "jabber:server")
		local header = HEADER:gsub("jabber:client", "jabber:server"):gsub("<stream:stream", "<stream:stream "
			.. "xmlns:db='jabber:server:dialback'")
		assert(stream:feed(header .. "<db:result from='b' to='a'>key</db:result><message><body>"))
		stream:set_stanza_size_limit(5000) -- part of a stanza pending: applied after it
		assert(stream:feed("</body></message>"))
		assert(stream:feed("<message><body>" .. ("x"):rep(3000) .. "</body></message><db:verify id='1'/>"))
		assert.equal(5, #seen)
		assert.matches("^stanza <result .*xmlns='jabber:server:dialback'", seen[2])
		assert.matches("^stanza <message[^>]*><body[^>]*>" .. ("x"):rep(3000), seen[4])
		assert.matches("^stanza <verify", seen[5])
	end)

	it("lets a callback's error through, and keeps working after it", function()
		local fail = true
		local stream = xmppstream.new({ notopen = true }, {
			default_ns = "jabber:client",
			streamopened = function(s) s.notopen = nil end,
			handlestanza = function(_, st)
				if fail then error("handler failed on " .. st.name, 0) end
			end,
		}, 1000)
		assert.has_error(function() stream:feed(HEADER .. "<presence/>") end, "handler failed on presence")
		fail = false
		stream:set_stanza_size_limit(5000)
		assert(stream:feed("<message><body>" .. ("x"):rep(3000) .. "</body></message>"))
	end)

	it("starts over when a callback resets the stream (SASL success), dropping what followed", function()
		local seen, stream = {}, nil
		local session = { notopen = true }
		stream = xmppstream.new(session, {
			default_ns = "jabber:client",
			streamopened = function(s)
				s.notopen = nil
				seen[#seen + 1] = "open"
			end,
			handlestanza = function(s, st)
				seen[#seen + 1] = st.name
				if st.name == "auth" then -- what mod_saslauth does on success
					s.notopen = true
					stream:reset()
				end
			end,
		})
		assert(stream:feed(HEADER .. "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/><presence/>"))
		assert(stream:feed(HEADER .. "<iq type='get' id='3'/>"))
		assert.same({ "open", "auth", "open", "iq" }, seen)
	end)

	it("leaves other streams (BOSH's, WebSocket's) to util.xmppstream", function()
		local stream = xmppstream.new({}, { stream_ns = "http://jabber.org/protocol/httpbind", stream_tag = "body",
			default_ns = "jabber:client", handlestanza = function() end })
		assert.is_function(stream.feed)
		assert.is_nil(rawget(stream, "lxmpp"))
	end)
end)

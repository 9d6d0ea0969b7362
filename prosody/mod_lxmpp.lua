-- mod_lxmpp: Prosody's c2s, s2s and component streams parsed by lxmpp's
-- bounded parser (lxmpp.xml.stream), and stanzas serialized by lxmpp's
-- serializer. Enable it with modules_enabled = { "lxmpp" }; unloading it
-- gives Prosody's own parser and serializer back. See docs/prosody.md.
--
-- Prosody's modules create a stream with util.xmppstream.new(session,
-- callbacks, size_limit, ex) and use the object it returns: feed(data),
-- reset(), set_session(s), set_stanza_size_limit(n). This module puts a
-- `new` in its place that returns the same object around an lxmpp parser
-- and calls the same callbacks (streamopened, streamclosed, handlestanza,
-- error with "stream-error") and gives feed's same results (nil and
-- "stanza-too-large" past the size limit, nil and a message for bad XML).
-- The modules that keep a stream (c2s, s2s, component) capture `new` when
-- they load, so those loaded before this one are reloaded to pick it up.
-- luacheck: globals module prosody
module:set_global()

local xmppstream = require "util.xmppstream"
local st = require "util.stanza"
local modulemanager = require "core.modulemanager"
local lxmpp_stanza = require "lxmpp.stanza"
local xml = require "lxmpp.xml"

local xmlns_streams = "http://etherx.jabber.org/streams"
local default_size_limit = 1024 * 1024 -- util.xmppstream's

-- The content namespaces lxmpp's stream parser knows. Other streams (BOSH's
-- <body/>, WebSocket framing) keep Prosody's parser.
local content_ns = {
	["jabber:client"] = true,
	["jabber:server"] = true,
	["jabber:component:accept"] = true,
}

-- The other limits of lxmpp's parser (max_depth, max_attrs, max_children,
-- max_text_size), when the defaults of docs/xml.md do not fit.
local parser_options = module:get_option("lxmpp_parser_options", {})

local stream_modules = { "c2s", "s2s", "component" }

local prosody_new = xmppstream.new

local function handled(callbacks)
	local ns, tag = callbacks.stream_ns, callbacks.stream_tag
	return content_ns[callbacks.default_ns] and (ns == nil or ns == xmlns_streams) and (tag == nil or tag == "stream")
end

-- The stream header's start tag in the bytes that began a stream (lxmpp
-- parsed it, so it is well-formed: a '>' outside quotes ends it; and its
-- prefix is 'stream', which lxmpp requires as RFC 6120 4.8.5 says).
local function header_bytes(data)
	local pos = data:find("<stream:stream", 1, true)
	if not pos then return nil end
	local quote
	for i = pos, #data do
		local c = data:sub(i, i)
		if quote then
			if c == quote then quote = nil end
		elseif c == "'" or c == '"' then
			quote = c
		elseif c == ">" then
			return data:sub(pos, i)
		end
	end
	return nil
end

local function new(session, callbacks, size_limit, ex)
	if not handled(callbacks) then return prosody_new(session, callbacks, size_limit, ex) end
	local default_ns = callbacks.default_ns
	local cb_streamopened, cb_streamclosed = callbacks.streamopened, callbacks.streamclosed
	local cb_handlestanza = callbacks.handlestanza
	local cb_error = callbacks.error or function(_, e, data)
		error("XML stream error: " .. tostring(e) .. (data and ": " .. tostring(data) or ""), 2)
	end
	size_limit = size_limit or default_size_limit
	module:log("debug", "lxmpp parses a %s stream", default_ns)

	local parser, header, opening -- header: its bytes; opening: the bytes fed until it came
	local stream_lang = "en"
	local generation = 0 -- counts resets, so that a drain stops at one
	local draining = false
	local wanted_limit -- a new limit waiting for the stream to be idle

	local function open_parser()
		local opts = { default_ns = default_ns, max_stanza_size = size_limit }
		for k, v in pairs(parser_options) do opts[k] = v end
		parser, header, opening = xml.stream(opts), nil, {}
	end
	open_parser()

	-- A new parser with the new limit, in the state of the old one: fed the
	-- same header. Only between stanzas, so that nothing is lost.
	local function apply_limit()
		if not wanted_limit or draining or not header or not parser:trim() then return end
		size_limit, wanted_limit = wanted_limit, nil
		local bytes = header
		open_parser()
		header, opening = bytes, nil
		assert(parser:feed(bytes))
		assert(parser:next() == "open")
	end

	-- Hands the queued events to the callbacks; stops when one resets the
	-- stream (what followed belonged to the old one).
	local function drain()
		local this = generation
		while generation == this do
			local kind, value = parser:next()
			if kind == nil then
				break
			elseif kind == "stanza" then
				if value.attr["xml:lang"] == nil then value.attr["xml:lang"] = stream_lang end
				if value.name == "error" and value.attr.xmlns == xmlns_streams then
					cb_error(session, "stream-error", value)
				else
					cb_handlestanza(session, value)
				end
			elseif kind == "open" then
				header, opening = header_bytes(table.concat(opening)), nil
				value.xmlns = xmlns_streams -- as LuaExpat reports the root's namespace
				stream_lang = value["xml:lang"] or stream_lang
				if session.notopen and cb_streamopened then
					cb_streamopened(session, value)
				end
			elseif kind == "close" then
				if cb_streamclosed then cb_streamclosed(session) end
			end
		end
	end

	local stream = {}

	function stream.feed(_, data)
		if opening then opening[#opening + 1] = data end
		local ok, message, condition = parser:feed(data)
		draining = true
		local drained, why = pcall(drain)
		draining = false
		if not drained then error(why, 0) end -- a callback's error, as from util.xmppstream
		apply_limit()
		if ok then return true end
		if condition == "policy-violation" and message:find("limit exceeded: max_stanza_", 1, true) then
			return nil, "stanza-too-large" -- Prosody's own path: policy-violation, <stanza-too-big/>
		elseif condition ~= "not-well-formed" and session.close then
			-- The caller closes with not-well-formed whatever the error;
			-- lxmpp knows the condition (restricted-xml, invalid-namespace,
			-- policy-violation...). The caller's own close that follows is
			-- a no-op on the closed session.
			session:close({ condition = condition, text = message })
		end
		return nil, message
	end

	function stream.reset()
		generation = generation + 1
		open_parser()
	end

	function stream.set_session(_, new_session)
		session = new_session
	end

	-- Applied at once when the stream is between stanzas, else as soon as
	-- it is; c2s raises it right before the stream restarts after SASL.
	function stream.set_stanza_size_limit(_, limit)
		wanted_limit = limit
		apply_limit()
	end

	-- As util.xmppstream's, serialized by top_tag (lxmpp's while loaded).
	function session.open_stream(s, from, to)
		local send = s.sends2s or s.send
		local attr = {
			["xmlns:stream"] = xmlns_streams,
			["xml:lang"] = "en",
			xmlns = default_ns,
			version = s.version and (s.version > 0 and "1.0" or nil),
			id = s.streamid or "",
			from = from or s.host,
			to = to,
		}
		if s.stream_attrs then s:stream_attrs(from, to, attr) end
		send("<?xml version='1.0'?>" .. st.stanza("stream:stream", attr):top_tag())
		return true
	end

	return stream
end

-- ---- loading and unloading ----------------------------------------------

local prosody_mt = st.stanza_mt
local lxmpp_mt -- lxmpp's own stanza metatable, while Prosody's is adopted
local saved = {} -- Prosody's serializer methods while lxmpp's are in place

-- The stream modules already loaded hold the `new` they found; a reload
-- makes them take the current one. Not while Prosody is stopping.
local function reload_stream_modules()
	if prosody.shutdown_reason then return end
	for _, name in ipairs(stream_modules) do
		if modulemanager.is_loaded("*", name) then
			local ok, err = modulemanager.reload("*", name)
			if not ok then module:log("error", "Could not reload mod_%s: %s", name, err) end
		end
	end
end

function module.load()
	lxmpp_mt = lxmpp_stanza.adopt(prosody_mt)
	for _, key in ipairs { "__tostring", "top_tag" } do
		saved[key] = rawget(prosody_mt, key)
		prosody_mt[key] = lxmpp_mt[key]
	end
	xmppstream.new = new
	reload_stream_modules()
	module:log("info", "c2s, s2s and component streams parsed by lxmpp %s", require "lxmpp".version)
end

function module.unload()
	xmppstream.new = prosody_new
	for key, value in pairs(saved) do prosody_mt[key] = value end
	lxmpp_stanza.adopt(lxmpp_mt)
	reload_stream_modules()
end

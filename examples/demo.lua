-- make demo: the RFC 6120 §9.1 client-to-server exchange (kept in
-- examples/rfc6120-s9-*.xml, one file per direction) parsed with
-- lxmpp.xml.stream, each element re-serialized and pretty-printed, in the
-- order of the conversation. The parsers stop exactly where a stream
-- restarts (after <starttls/> and <proceed/>, after SASL success) and are
-- reset for the new stream, as the connection does.
local xml = require "lxmpp.xml"

local TLS = "urn:ietf:params:xml:ns:xmpp-tls"
local SASL = "urn:ietf:params:xml:ns:xmpp-sasl"

local function read(path)
	local f = assert(io.open(path, "rb"))
	local data = f:read("a")
	f:close()
	return data
end

-- Parses one direction into its elements, in order. `stops` lists, per
-- stream, the element after which that stream ends (nil for the last).
local function parse(path, stops)
	local data, at = read(path), 1
	local parser = xml.stream()
	local out = {}
	for _, stop in ipairs(stops) do
		if stop then parser:stop_after(stop[1], stop[2]) else parser:stop_after(nil) end
		local ok, consumed, condition = parser:feed(data:sub(at))
		if not ok then error(path .. ": " .. consumed .. " (" .. condition .. ")") end
		at = at + consumed
		while true do
			local kind, value = parser:next()
			if not kind then break end
			out[#out + 1] = { kind = kind, value = value }
		end
		parser:reset()
	end
	return out
end

local client = parse("examples/rfc6120-s9-client.xml", { { TLS, "starttls" }, { SASL, "response" }, false })
local server = parse("examples/rfc6120-s9-server.xml", { { TLS, "proceed" }, { SASL, "success" }, false })

local function header(attr)
	local st = require "lxmpp.stanza".stanza("stream:stream", {
		xmlns = "jabber:client", ["xmlns:stream"] = "http://etherx.jabber.org/streams",
	})
	for k, v in pairs(attr) do st.attr[k] = v end
	return st:top_tag()
end

local function show(who, event)
	local text
	if event.kind == "open" then
		text = header(event.value)
	elseif event.kind == "close" then
		text = "</stream:stream>"
	else
		text = event.value:pretty_print()
	end
	local prefix = who .. ": "
	for line in text:gmatch("[^\n]+") do
		print(prefix .. line)
		prefix = "   "
	end
end

-- Who speaks at each step of RFC 6120 §9.1; "-" marks the TLS handshake.
local script = "CSSCS-CSSCSCSCSSCSCSCS"
local next_of = { C = 1, S = 1 }
local sides = { C = client, S = server }
for who in script:gmatch(".") do
	if who == "-" then
		print("   [TLS negotiation: the parsers are reset, the streams restart]")
	else
		local events = sides[who]
		local event = events[next_of[who]]
		next_of[who] = next_of[who] + 1
		if event then show(who, event) end
	end
end
assert(next_of.C > #client and next_of.S > #server, "the script does not cover every element")

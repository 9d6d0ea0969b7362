-- A raw look at a server's c2s port with lxmpp's own transport and stream
-- parser: no TLS, no lxmpp connection, just the first exchange of RFC 6120
-- §4.3 and the closing handshake of §4.4.
--   probe.open(server, deadline) -> session with .header (the response
--       header's attributes) and .features (the <stream:features/> stanza)
--   session:close(deadline) -> true when the server answered </stream:stream>
--       and then closed the TCP connection
local transport = require "lxmpp.transport.cqueues"
local xml = require "lxmpp.xml"

local probe = {}

local session = {}
session.__index = session

-- The next parser event, reading more bytes as needed.
local function next_event(self, deadline)
	while true do
		local kind, value = self.parser:next()
		if kind then return kind, value end
		local data, err, code = self.t:read(deadline)
		if not data then return nil, err, code end
		assert(self.parser:feed(data))
	end
end

function probe.open(server, deadline)
	local t = assert(transport.connect(server.host, server.port, deadline))
	local self = setmetatable({ t = t, parser = xml.stream() }, session)
	assert(t:write("<?xml version='1.0'?><stream:stream to='" .. server.domain .. "' version='1.0' xml:lang='en'"
		.. " xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>", deadline))
	local kind, header = next_event(self, deadline)
	assert(kind == "open", "expected the server's stream header, got " .. tostring(kind) .. " " .. tostring(header))
	self.header = header
	local k, features = next_event(self, deadline)
	assert(k == "stanza", "expected <stream:features/>, got " .. tostring(k) .. " " .. tostring(features))
	self.features = features
	return self
end

function session:close(deadline)
	assert(self.t:write("</stream:stream>", deadline))
	local kind, err, code = next_event(self, deadline)
	local answered = kind == "close"
	if answered then
		kind, err, code = self.t:read(deadline)
	end
	self.t:close()
	return answered and kind == nil and code == "eof", tostring(kind) .. " " .. tostring(err) .. " " .. tostring(code)
end

return probe

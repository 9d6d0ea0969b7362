-- A raw c2s connection to an interop server, before TLS: write any bytes,
-- read what the server answers with lxmpp's stream parser.
--   raw.open(server, deadline) -> session (the server's header and
--       features read); raw.connect(server, deadline) -> session (nothing
--       sent, nothing read); raw.header(domain);
--       session:read_by_server(deadline) (waits until the server has read
--       all we sent); session:write(bytes), session:next(deadline) ->
--       "stanza", st | "close" | nil, message, code ("timeout", "eof");
--       session:close()
local cqueues = require "cqueues"
local clock = require "lxmpp.clock"
local transport = require "lxmpp.transport.cqueues"
local xml = require "lxmpp.xml"

local raw = {}

local session = {}
session.__index = session

function raw.header(domain)
	return "<?xml version='1.0'?><stream:stream to='" .. domain .. "' version='1.0' xml:lang='en'"
		.. " xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
end

-- Connected, nothing sent yet.
function raw.connect(server, deadline)
	local t = assert(transport.connect(server.host, server.port, deadline))
	return setmetatable({ t = t, parser = xml.stream() }, session)
end

function raw.open(server, deadline)
	local self = raw.connect(server, deadline)
	self:write(raw.header(server.domain))
	local kind, why, code = self:next(deadline)
	assert(kind == "open", "expected the server's stream header, got " .. tostring(kind or why) .. " " .. tostring(code))
	local k, features = self:next(deadline)
	assert(k == "stanza" and features.name == "features", "expected <stream:features/>")
	return self
end

-- Writes everything, or gives the error (the server may have closed).
function session:write(bytes, deadline)
	return self.t:write(bytes, deadline)
end

-- The next event from the server, reading as needed until the deadline.
function session:next(deadline)
	while true do
		local kind, value = self.parser:next()
		if kind then return kind, value end
		local data, err, code = self.t:read(deadline)
		if not data then return nil, err, code end
		local ok, message = self.parser:feed(data)
		if not ok then return nil, message, "bad-xml" end
	end
end

-- The bytes the server has received on this connection and not yet read
-- (its socket's receive queue, from /proc/net/tcp), or nil if not found.
function session:unread()
	local _, _, ours = self.t.socket:localname()
	local _, _, theirs = self.t.socket:peername()
	local want = (":%04X"):format(theirs) .. " [%x]+:" .. ("%04X"):format(ours) .. " "
	for line in io.lines("/proc/net/tcp") do
		if line:find(want) then
			return tonumber(line:match("^%s*%d+: %S+ %S+ %x+ %x+:(%x+)"), 16)
		end
	end
	return nil
end

-- Waits until the server has read everything sent (true), or the deadline.
function session:read_by_server(deadline)
	while clock.now() < deadline do
		if self:unread() == 0 then return true end
		cqueues.sleep(0.01)
	end
	return false
end

function session:close()
	self.t:close()
end

return raw

-- A raw c2s connection to an interop server, before TLS: write any bytes,
-- read what the server answers with lxmpp's stream parser.
--   raw.open(server, deadline) -> session (the server's header and
--       features read); raw.connect(server, deadline) -> session (nothing
--       sent, nothing read); raw.header(domain);
--       session:read_by_server(deadline) (waits until the server has read
--       all we sent); raw.login(server, account, resource) -> session,
--       authenticated and bound; raw.stanza(session, deadline) -> the next
--       stanza or an error; session:write(bytes), session:next(deadline) ->
--       "stanza", st | "close" | nil, message, code ("timeout", "eof");
--       session:close()
local cqueues = require "cqueues"
local mime = require "mime"
local clock = require "lxmpp.clock"
local transport = require "lxmpp.transport.cqueues"
local xml = require "lxmpp.xml"

local raw = {}

local SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
local BIND = "urn:ietf:params:xml:ns:xmpp-bind"

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

-- The next stanza, failing loudly on anything else.
function raw.stanza(s, deadline)
	local kind, st, code = s:next(deadline)
	assert(kind == "stanza", "expected a stanza, got " .. tostring(kind or st) .. " " .. tostring(code))
	return st
end

-- An authenticated, bound session (session.jid: its full JID): SASL PLAIN
-- without TLS (the server must allow it), the stream restart, bind.
function raw.login(server, account, resource)
	local deadline = clock.now() + 30
	local s = raw.open(server, deadline)
	assert(s:write("<auth xmlns='" .. SASL .. "' mechanism='PLAIN'>"
		.. mime.b64("\0" .. account.user .. "\0" .. account.password) .. "</auth>"))
	assert(raw.stanza(s, deadline).name == "success")
	s.parser:reset()
	assert(s:write(raw.header(server.domain)))
	assert(s:next(deadline) == "open")
	assert(raw.stanza(s, deadline).name == "features")
	assert(s:write("<iq type='set' id='b'><bind xmlns='" .. BIND .. "'><resource>" .. resource
		.. "</resource></bind></iq>"))
	assert(raw.stanza(s, deadline).attr.type == "result")
	s.jid = account.jid .. "/" .. resource
	return s
end

return raw

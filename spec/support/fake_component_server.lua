-- The server's side of XEP-0114 for lxmpp.component's specs, on a
-- loopback socket inside a cqueues controller: it checks the handshake,
-- holds the domain as Prosody does (a second stream for it gets `conflict`),
-- keeps what the component sends, and routes what is addressed to the
-- component's domain back to it (a ping to itself comes back). The specs
-- make it misbehave: `conflicts = n` refuses the next n streams as if
-- another component held the domain, drop(n) cuts the connection without a
-- word and then does that (a server that has not noticed yet). Real
-- servers: spec/interop/component_suite.lua.
--   local server = fake.start{ cq =, domain =, secret =, clock = }
--   server.port, server.received (stanzas), server.opened (the clock's time
--   of each stream opened), server.conflicts, server.route (false: route
--   nothing back), server:send(xml),
--   server:drop([conflicts]), server:stop()
local clock = require "lxmpp.clock"
local core = require "lxmpp.core"
local cqueues = require "cqueues"
local socket = require "cqueues.socket"
local jid_util = require "lxmpp.jid"
local transport = require "lxmpp.transport.cqueues"
local xml = require "lxmpp.xml"
local pcall = require("lxmpp.compat").pcall -- yieldable on Lua 5.1 too (accept waits)

local fake = {}
local server = {}
server.__index = server

local function hex(s)
	return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

local function write(t, data)
	return t:write(data, cqueues.monotime() + 10)
end

local function refuse(t, condition)
	write(t, "<stream:error><" .. condition .. " xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
		.. "</stream:stream>")
	t:close()
end

function server:serve(t)
	local parser = xml.stream { default_ns = "jabber:component:accept" }
	self.streams = self.streams + 1
	local id = ("%08d"):format(self.streams)
	local session = { t = t }
	while true do
		local data = t:read(cqueues.monotime() + 60)
		if not data then break end
		if not parser:feed(data) then break end
		while true do
			local kind, value = parser:next()
			if not kind then break end
			if kind == "open" then
				self.opened[#self.opened + 1] = self.clock.now()
				write(t, "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
					.. "xmlns:stream='http://etherx.jabber.org/streams' from='" .. self.domain .. "' id='" .. id .. "'>")
			elseif kind == "close" then
				write(t, "</stream:stream>")
				t:close()
				if self.current == session then self.current, self.held = nil, false end
				return
			elseif value.name == "handshake" and not session.ready then
				if value[1] ~= hex(core.digest("sha-1", id .. self.secret)) then return refuse(t, "not-authorized") end
				if self.held or self.conflicts > 0 then
					self.conflicts = math.max(0, self.conflicts - 1)
					return refuse(t, "conflict")
				end
				session.ready, self.held, self.current = true, true, session
				write(t, "<handshake/>")
			elseif session.ready then
				self.received[#self.received + 1] = value
				if self.route and jid_util.host(value.attr.to or "") == self.domain then write(t, tostring(value)) end
			else
				return refuse(t, "not-authorized")
			end
		end
	end
	t:close()
	if self.current == session then self.current = nil end -- the domain stays held until release()
end

-- fake.start{ cq =, domain =, secret = [, clock =] } -> a server listening on 127.0.0.1
function fake.start(opts)
	local self = setmetatable({ domain = opts.domain, secret = opts.secret, clock = opts.clock or clock, cq = opts.cq,
		received = {}, opened = {}, streams = 0, held = false, conflicts = 0, route = true }, server)
	self.listener = assert(socket.listen { host = "127.0.0.1", port = 0 })
	assert(self.listener:listen())
	self.port = select(3, self.listener:localname())
	self.cq:wrap(function()
		while true do
			local ok, sock = pcall(self.listener.accept, self.listener)
			if not ok or not sock then return end
			self.cq:wrap(self.serve, self, transport.wrap(sock))
		end
	end)
	return self
end

-- Sends XML to the ready component.
function server:send(data)
	assert(self.current, "no component is connected")
	assert(write(self.current.t, data))
end

-- Cuts the component's connection without a word; the domain stays held
-- for the next `conflicts` streams (the server has not noticed yet).
function server:drop(conflicts)
	assert(self.current, "no component is connected")
	self.current.t.socket:shutdown("rw") -- its reader sees the end, the component too
	self.current, self.held, self.conflicts = nil, false, conflicts or 0
end

function server:stop()
	self.listener:close()
	if self.current then self.current.t:close() end
end

return fake

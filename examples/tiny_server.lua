-- A tiny XMPP server in one process: lxmpp.stream's server role on cqueues
-- sockets. It negotiates STARTTLS or direct TLS, SCRAM and bind, routes
-- stanzas between its sessions, answers pings and roster gets, and kicks an
-- older session on a resource conflict. make demo and the client's specs
-- run it on 127.0.0.1; it is an example, not a server to deploy (no
-- storage, no s2s, no rosters).
--   local tiny = require "tiny_server"   -- with examples/ on package.path
--   local server = tiny.start{ cq = cqueues.new(), domain = "im.example.com",
--       accounts = { juliet = "r0m30myr0m30" } }
--   server.host, server.port, server.direct_tls_port, server.certificate (PEM)
--   server:session(jid), server:kick(jid [, condition, text]),
--   server:freeze(jid), server:stop()
--   server.redirect = "host:port" (see-other-host for every new stream)
--   server.on_iq = function(session, stanza) -> an answer or nil
--   server.trace = function(session, direction, data)
local cqueues = require "cqueues"
local condition = require "cqueues.condition"
local socket = require "cqueues.socket"
local st = require "lxmpp.stanza"
local stream = require "lxmpp.stream"
local jid_util = require "lxmpp.jid"
local sasl = require "lxmpp.sasl"
local transport = require "lxmpp.transport.cqueues"
-- On Lua 5.1 a coroutine cannot yield (wait for the socket) inside pcall:
-- lxmpp.compat's pcall can, and is the standard one elsewhere.
local pcall = require("lxmpp.compat").pcall

local tiny = {}

local server = {}
server.__index = server

local session = {}
session.__index = session

-- Writes what the connection has for the peer; a coroutine already writing
-- takes the rest with its own.
function session:flush()
	if self.writing then
		self.dirty = true
		return
	end
	self.writing = true
	repeat
		self.dirty = false
		local out = self.conn:take_output()
		if out and not self.t:write(out, cqueues.monotime() + 10) then break end
	until not self.dirty
	self.writing = false
end

function session:deliver(stanza)
	if self.frozen or self.conn:state() ~= "ready" then return false end
	if not self.conn:send(stanza) then return false end
	self:flush()
	return true
end

local function bare(j)
	local node, host = jid_util.split(j)
	return node and (node .. "@" .. host) or host
end

-- The sessions a stanza to `to` reaches: the one full JID, or every
-- session of a bare JID.
function server:route(to)
	local found = {}
	for _, s in pairs(self.sessions) do
		if s.jid == to or bare(s.jid) == to then found[#found + 1] = s end
	end
	return found
end

function server:session(j)
	return self.sessions[j]
end

local ROSTER = "jabber:iq:roster"
local PING = "urn:xmpp:ping"

-- What the server itself answers: pings, roster gets, else
-- service-unavailable (RFC 6120 §8.4).
local function serve_iq(self, from, stanza)
	local answer = self.on_iq and self.on_iq(from, stanza)
	if answer then return answer end
	local child = stanza.tags[1]
	if child and child.attr.xmlns == PING and stanza.attr.type == "get" then
		return st.reply(stanza)
	elseif child and child.attr.xmlns == ROSTER and stanza.attr.type == "get" then
		return st.reply(stanza):query(ROSTER)
	end
	return st.error_reply(stanza, "cancel", "service-unavailable")
end

local function on_stanza(self, from, stanza)
	local to = stanza.attr.to
	local account = bare(from.jid)
	local is_request = stanza.name == "iq" and (stanza.attr.type == "get" or stanza.attr.type == "set")
	if to == nil or to == self.domain or (to == account and stanza.name ~= "message") then
		if is_request then
			from:deliver(serve_iq(self, from, stanza))
		elseif stanza.name == "presence" and to == nil then
			for _, s in ipairs(self:route(account)) do s:deliver(stanza) end -- RFC 6121 §4.2.2
		end
		return
	end
	local targets = self:route(jid_util.prep(to) or to)
	for _, s in ipairs(targets) do s:deliver(stanza) end
	if #targets == 0 and is_request then
		from:deliver(st.error_reply(stanza, "cancel", "service-unavailable"))
	end
end

local function on_event(self, s, ev)
	local conn = s.conn
	if ev.type == "opened" and self.redirect then
		conn:stream_error{ condition = "see-other-host", other_host = self.redirect }
	elseif ev.type == "auth-request" then
		local password = self.accounts[ev.username]
		if not password then
			conn:answer_auth(false, "not-authorized")
		elseif ev.hash then -- SCRAM: keys made once per account, as a server stores them
			local key = ev.username .. " " .. ev.hash
			local keys = self.keys[key]
			if not keys then
				local stored_key, server_key, salt, iterations = sasl.scram_keys(ev.hash, password)
				keys = { hash = ev.hash, stored_key = stored_key, server_key = server_key, salt = salt,
					iterations = iterations }
				self.keys[key] = keys
			end
			conn:answer_auth(keys)
		else
			conn:answer_auth{ password = password }
		end
	elseif ev.type == "bind-request" then
		local account = s.account
		local resource = ev.resource or ("r" .. self.next_resource)
		self.next_resource = self.next_resource + 1
		local full = account .. "@" .. self.domain .. "/" .. resource
		local old = self.sessions[full]
		if old then self:kick(full, "conflict", "Replaced by new connection") end
		conn:accept_bind(full)
	elseif ev.type == "authenticated" then
		s.account = ev.jid and ev.jid:match("^([^@]+)@")
	elseif ev.type == "ready" then
		s.jid = ev.jid
		self.sessions[ev.jid] = s
	elseif ev.type == "stanza" then
		on_stanza(self, s, ev.stanza)
	elseif (ev.type == "sent" or ev.type == "received") and self.trace then
		self.trace(s, ev.type, ev.data)
	end
end

local function drain(self, s)
	local n = 0
	for ev in s.conn:events() do
		n = n + 1
		on_event(self, s, ev)
	end
	s:flush()
	return n
end

local function serve(self, s)
	local conn, t = s.conn, s.t
	drain(self, s)
	while conn:state() ~= "closed" and conn:state() ~= "failed" do
		if s.frozen then
			s.wake:wait() -- a dead peer: reads nothing, answers nothing
			break
		end
		local ok, data, _, code = pcall(t.read, t, nil)
		if not ok or not data then -- stopped, or the peer is gone
			if code == "eof" then conn:receive_eof() end
			break
		end
		-- every byte in, the events out (the work happens there), the
		-- output written (drain flushes)
		local taken = conn:receive_bytes(data)
		drain(self, s)
		if not taken then break end -- the failure came as a "closed" event
	end
	pcall(drain, self, s)
	if s.jid and self.sessions[s.jid] == s then self.sessions[s.jid] = nil end
	t:close()
	self.all[s] = nil
end

local function accept_loop(self, listener, direct)
	while true do
		local ok, sock = pcall(listener.accept, listener)
		if not ok or not sock then return end
		local s = setmetatable({ t = transport.wrap(sock), wake = condition.new() }, session)
		s.conn = stream.server {
			domains = { self.domain }, tls_context = self.contexts[direct and "direct" or "starttls"],
			tls = direct and "direct" or "required", trace = self.trace ~= nil,
		}
		self.all[s] = true
		self.cq:wrap(serve, self, s)
	end
end

local function listen(host)
	local listener = assert(socket.listen { host = host, port = 0 })
	assert(listener:listen())
	local _, _, port = listener:localname()
	return listener, port
end

-- tiny.start(opts) -> server. opts: cq (a cqueues controller, required),
-- domain, accounts (user -> password), host ("127.0.0.1"), direct_tls
-- (also listen for XEP-0368 direct TLS), certificate and key (PEM; a
-- throwaway one by default), trace.
function tiny.start(opts)
	local self = setmetatable({
		cq = assert(opts.cq, "tiny_server: a cqueues controller is needed"),
		domain = opts.domain or "localhost", accounts = opts.accounts or {},
		host = opts.host or "127.0.0.1", sessions = {}, all = {}, next_resource = 1, keys = {},
		trace = opts.trace, listeners = {},
	}, server)
	self.certificate, self.key = opts.certificate, opts.key
	if not self.certificate then self.certificate, self.key = stream.selfsigned(self.domain) end
	-- one TLS context per listener: its ticket keys (random, made by OpenSSL
	-- per context) let clients resume their TLS sessions on reconnection
	self.contexts = {
		starttls = stream.tls_context("server", { certificate = self.certificate, key = self.key }),
		direct = stream.tls_context("server", { certificate = self.certificate, key = self.key,
			alpn = { "xmpp-client" } }),
	}
	local listener
	listener, self.port = listen(self.host)
	self.listeners[1] = listener
	self.cq:wrap(accept_loop, self, listener, false)
	if opts.direct_tls then
		listener, self.direct_tls_port = listen(self.host)
		self.listeners[2] = listener
		self.cq:wrap(accept_loop, self, listener, true)
	end
	return self
end

-- Ends a session: a clean close (</stream:stream>) without a condition,
-- else a stream error.
function server:kick(j, cond, text)
	local s = self.sessions[j]
	if not s then return false end
	self.sessions[j] = nil
	if cond then
		s.conn:stream_error(cond, text)
	else
		s.conn:close()
	end
	s:flush()
	return true
end

-- Makes a session a dead peer: from now on it neither reads nor writes.
function server:freeze(j)
	local s = self.sessions[j]
	if s then s.frozen = true end
	return s ~= nil
end

function server:stop()
	for _, listener in ipairs(self.listeners) do listener:close() end
	self.listeners = {}
	for s in pairs(self.all) do
		s.frozen = false
		s.t:close()
		s.wake:signal()
	end
	self.sessions, self.all = {}, {}
end

return tiny

-- lxmpp.stream: XMPP client-to-server streams (RFC 6120) without I/O. A
-- connection takes the bytes read from the network and gives the bytes to
-- write, and reports what happened as events; STARTTLS, TLS, SASL and
-- resource binding happen inside it. See docs/stream.md.
--   local conn = stream.client{ jid = "juliet@example.com", password = "..." }
--   local conn = stream.component{ jid = "bridge.example.com", secret = "..." }
--   local conn = stream.component_server{ domains = { "bridge.example.com" } }
-- The caller's loop: give every byte, take the events, write the output.
--   conn:receive_bytes(data) -> #data (every byte is taken) | nil, message, code
--   for ev in conn:events() do ... end  (the work happens as they are taken:
--     decrypt, parse up to the next element, act on it)
--   conn:take_output() -> bytes | nil
--   conn:want_read(), conn:want_write() -> backpressure
local core = require "lxmpp.core"
require "lxmpp.stanza" -- the methods of the stanzas in events

local new = core.stream_new

---A connection of either role (docs/stream.md lists every method and
---event). The input side of its contract: receive_bytes takes every byte of
---data (from byte i): how many, or nil, message, code. next_event makes the
---next event as it is taken (nil: it needs bytes or an answer). want_read:
---read from the network now (false while paused for an answer, or full)?
---want_write: output waits?
---@class lxmpp.stream.connection
---@field receive_bytes fun(self: lxmpp.stream.connection, data: string, i?: integer): integer|nil, string?, string? every byte taken, or nil, message, code
---@field receive_eof fun(self: lxmpp.stream.connection): boolean|nil, string?, string?
---@field next_event fun(self: lxmpp.stream.connection): table|nil
---@field events fun(self: lxmpp.stream.connection): fun(): table|nil iterator over the events ({ type = ... })
---@field want_read fun(self: lxmpp.stream.connection): boolean
---@field want_write fun(self: lxmpp.stream.connection): boolean
---@field take_output fun(self: lxmpp.stream.connection): string|nil the bytes to write
---@field pending fun(self: lxmpp.stream.connection): integer bytes waiting to be taken
---@field send fun(self: lxmpp.stream.connection, stanza: lxmpp.stanza, keep?: boolean): boolean|nil, string?, string? true (and with keep the XML sent), or nil, message, code
---@field accept_resume fun(self: lxmpp.stream.connection, full_jid: string, h: integer): boolean|nil, string?, string?
---@field refuse_resume fun(self: lxmpp.stream.connection, condition: string, h?: integer): boolean|nil, string?, string?
---@field close fun(self: lxmpp.stream.connection)
---@field answer_handshake fun(self: lxmpp.stream.connection, secret: string|nil, condition?: string): boolean|nil, string?, string?

---@class lxmpp.stream
---@field tls_context fun(opts: table): userdata a TLS context to share between connections (opts.tls_context)
---@field selfsigned fun(domain: string): string, string a throwaway certificate and key (PEM) for tests
local stream = {
	---@param opts table the client's options (docs/stream.md): jid, password, tls...
	---@return lxmpp.stream.connection conn
	client = function(opts) return new("client", opts) end,
	---@param opts table the server's options (docs/stream.md): domains, certificate, key...
	---@return lxmpp.stream.connection conn
	server = function(opts) return new("server", opts) end,
	---An external component (XEP-0114): its domain and the shared secret;
	---tls "disabled" (the default) or "direct" (docs/stream.md, "The component")
	---@param opts table { jid = the component's domain, secret = ... [, tls =] }
	---@return lxmpp.stream.connection conn
	component = function(opts) return new("component", opts) end,
	---The server's side of a component's stream (XEP-0114): the component
	---domains it accepts; its "handshake-request" event (domain) is answered
	---with conn:answer_handshake(secret | nil [, condition]) (docs/stream.md)
	---@param opts table { domains = { "bridge.example.com", ... } [, tls =] }
	---@return lxmpp.stream.connection conn
	component_server = function(opts) return new("component_server", opts) end,
	tls_context = core.tls_context,
	selfsigned = core.tls_selfsigned,
}
return stream

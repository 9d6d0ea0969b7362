-- lxmpp.stream: XMPP client-to-server streams (RFC 6120) without I/O. A
-- connection takes the bytes read from the network and gives the bytes to
-- write, and reports what happened as events; STARTTLS, TLS, SASL and
-- resource binding happen inside it. See docs/stream.md.
--   local conn = stream.client{ jid = "juliet@example.com", password = "..." }
-- The caller's loop: give every byte, take the events, write the output.
--   conn:receive_bytes(data) -> #data (every byte is taken) | nil, message, code
--   for ev in conn:events() do ... end  (the work happens as they are taken:
--     decrypt, parse up to the next element, act on it)
--   conn:take_output() -> bytes | nil
--   conn:want_read(), conn:want_write() -> backpressure
local core = require "lxmpp.core"
require "lxmpp.stanza" -- the methods of the stanzas in events

local new = core.stream_new

---A connection of either role (docs/stream.md lists every method and event).
---@class lxmpp.stream.connection
---@field receive_bytes fun(self: lxmpp.stream.connection, data: string, i?: integer): integer|nil, string?, string? bytes consumed, or nil, message, code
---@field receive_eof fun(self: lxmpp.stream.connection): boolean|nil, string?, string?
---@field take_output fun(self: lxmpp.stream.connection): string|nil the bytes to write
---@field pending fun(self: lxmpp.stream.connection): integer bytes waiting to be taken
---@field events fun(self: lxmpp.stream.connection): fun(): table|nil iterator over the events ({ type = ... })
---@field send fun(self: lxmpp.stream.connection, stanza: lxmpp.stanza): boolean|nil, string?, string?
---@field close fun(self: lxmpp.stream.connection)

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
	tls_context = core.tls_context,
	selfsigned = core.tls_selfsigned,
}
return stream

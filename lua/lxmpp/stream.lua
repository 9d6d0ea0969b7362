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

---A connection (its methods are in C: lxmpp.core; docs/stream.md has them
---all). The input side of its contract:
---receive_bytes takes every byte of data (from byte i): how many, or nil,
---message, code. next_event makes the next event as it is taken (nil: it
---needs bytes or an answer). want_read: read from the network now (false
---while paused for an answer, or full)? want_write: output waits?
---@class lxmpp.stream.conn
---@field receive_bytes fun(self, data: string, i?: integer): integer?, string?, string?
---@field next_event fun(self): table?
---@field want_read fun(self): boolean
---@field want_write fun(self): boolean

local stream = {}

---A started client connection; bad options raise.
---@param opts table see docs/stream.md, "The client"
---@return lxmpp.stream.conn
function stream.client(opts) return new("client", opts) end

---A server connection waiting for the client's header; bad options raise.
---@param opts table see docs/stream.md, "The server"
---@return lxmpp.stream.conn
function stream.server(opts) return new("server", opts) end

return {
	client = stream.client,
	server = stream.server,
	tls_context = core.tls_context,
	selfsigned = core.tls_selfsigned,
}

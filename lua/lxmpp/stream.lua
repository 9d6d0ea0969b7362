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

return {
	client = function(opts) return new("client", opts) end,
	server = function(opts) return new("server", opts) end,
	tls_context = core.tls_context,
	selfsigned = core.tls_selfsigned,
}

-- lxmpp.stream: XMPP client-to-server streams (RFC 6120) without I/O. A
-- connection takes the bytes read from the network and gives the bytes to
-- write, and reports what happened as events; STARTTLS, TLS, SASL and
-- resource binding happen inside it. See docs/stream.md.
--   local conn = stream.client{ jid = "juliet@example.com", password = "..." }
--   conn:receive_bytes(data) -> consumed | nil, message, code
--     (once the events are drained, receive_bytes("") goes on with TLS
--     plaintext the connection held while its event queue was full)
--   conn:take_output() -> bytes | nil
--   for ev in conn:events() do ... end
local core = require "lxmpp.core"
require "lxmpp.stanza" -- the methods of the stanzas in events

local new = core.stream_new

return {
	client = function(opts) return new("client", opts) end,
	server = function(opts) return new("server", opts) end,
	tls_context = core.tls_context,
	selfsigned = core.tls_selfsigned,
}

-- lxmpp.sasl: SASL mechanisms for clients and servers, in C (see docs/sasl.md).
--   sasl.client{ mechanisms = offered, username =, password =, ... }
--     -> client | nil, message, code; c.mechanism, c:initial(), c:step(ch),
--        c:finish(data), c.keys
--   sasl.server{ mechanisms =, tls =, channel_binding =, ... } -> server;
--     s:mechanisms(), s:channel_binding_types(), s:start(mech, initial),
--     s:step(response), s:credentials(...)
--   sasl.scram_keys(hash, password [, salt [, iterations]])
--     -> stored_key, server_key, salt, iterations
-- Messages are raw bytes: the stream layer does the base64.
local core = require "lxmpp.core"

return {
	client = core.sasl_client,
	server = core.sasl_server,
	scram_keys = core.sasl_scram_keys,
}

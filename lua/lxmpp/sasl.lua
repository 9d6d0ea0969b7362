-- lxmpp.sasl: SASL mechanisms for clients and servers, in C (see docs/sasl.md).
--   sasl.client{ mechanisms = offered, username =, password =, ... }
--     -> client | nil, message, code; c.mechanism, c:initial(), c:step(ch),
--        c:finish(data), c.keys
--   sasl.server{ mechanisms =, tls =, channel_binding =, ... } -> server;
--     s:mechanisms(), s:channel_binding_types(), s:start(mech, initial),
--     s:step(response), s:credentials(...)
--   sasl.server_defaults() -> what a server enables without `mechanisms`
--   sasl.scram_keys(hash, password [, salt [, iterations]])
--     -> stored_key, server_key, salt, iterations
-- Messages are raw bytes: the stream layer does the base64.
local core = require "lxmpp.core"

---@class lxmpp.sasl
---@field client fun(opts: table): userdata|nil, string?, string? a SASL client for the best mechanism offered, or nil, message, code
---@field server fun(opts: table): userdata a SASL server (docs/sasl.md)
---@field scram_keys fun(hash: string, password: string, salt?: string, iterations?: integer): string, string, string, integer stored_key, server_key, salt, iterations
---@field server_defaults fun(): string[] the mechanisms a server enables without `mechanisms`, strongest first
local sasl = {
	client = core.sasl_client,
	server = core.sasl_server,
	scram_keys = core.sasl_scram_keys,
	server_defaults = core.sasl_server_defaults,
}
return sasl

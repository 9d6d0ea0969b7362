-- lxmpp: an XMPP library for Lua. Submodules load on first use:
--   local lxmpp = require "lxmpp"; local st = lxmpp.stanza.message{ to = "a@b" }
local core = require "lxmpp.core"

---@class lxmpp
---@field version string
---@field stanza lxmpp.stanza_module
---@field xml lxmpp.xml
---@field jid lxmpp.jid
---@field sasl lxmpp.sasl
---@field stream lxmpp.stream
---@field client lxmpp.client

local submodules = {
	stanza = true, xml = true, jid = true, sasl = true, stream = true,
	client = true, server = true,
}

return setmetatable({ version = core.version }, {
	__index = function(self, name)
		if not submodules[name] then return nil end
		local module = require("lxmpp." .. name)
		rawset(self, name, module)
		return module
	end,
})

-- lxmpp: an XMPP library for Lua. Submodules load on first use:
--   local lxmpp = require "lxmpp"; local st = lxmpp.stanza.message{ to = "a@b" }
local core = require "lxmpp.core"
local searchpath = require("lxmpp.compat").searchpath

-- The submodules reachable as fields; each is lxmpp.<name>.
local submodules = {
	stanza = true, xml = true, jid = true, sasl = true, stream = true,
	client = true, server = true,
}

-- Whether require(modname) can find the module (a module that is found but
-- fails to load raises its own error).
local function findable(modname)
	if package.loaded[modname] or package.preload[modname] then return true end
	return searchpath(modname, package.path) ~= nil or searchpath(modname, package.cpath) ~= nil
end

---@class lxmpp
---@field version string the library's version
---@field stanza table lxmpp.stanza
---@field xml table lxmpp.xml
---@field jid table lxmpp.jid
---@field sasl table lxmpp.sasl
---@field stream table lxmpp.stream
---@field client table lxmpp.client
---@field server table lxmpp.server
return setmetatable({ version = core.version }, {
	__index = function(self, name)
		if not submodules[name] then return nil end
		local modname = "lxmpp." .. name
		if not findable(modname) then
			error(("%s is not part of this installation of lxmpp %s"):format(modname, core.version), 2)
		end
		local module = require(modname)
		rawset(self, name, module)
		return module
	end,
})

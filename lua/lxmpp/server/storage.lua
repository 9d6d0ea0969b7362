-- lxmpp.server.storage: key-value stores in the shape of Prosody's
-- (module:open_store(name) -> store; store:get(user), store:set(user, data)).
-- A value is a Lua table of strings, numbers, booleans and tables; `set`
-- with nil deletes. Drivers: "memory" (the default, for tests) and
-- { driver = "sqlite3", path = } (durable, through LuaDBI).
--   local driver = storage.open(config.storage) ; driver:open_store(name)
--   driver:close()
local storage = {}

---@class lxmpp.server.store
---@field get fun(self, user: string): table|nil, string?
---@field set fun(self, user: string, data: table|nil): boolean|nil, string?

---@class lxmpp.server.storage_driver
---@field open_store fun(self, name: string): lxmpp.server.store
---@field close fun(self)

local DRIVERS = { memory = "lxmpp.server.storage.memory", sqlite3 = "lxmpp.server.storage.sqlite3" }

--- Opens the storage a config names: "memory" (or nil), or a table with
--- `driver` ("memory", "sqlite3") and the driver's options (`path`).
---@param config string|table|nil
---@return lxmpp.server.storage_driver|nil driver
---@return string? message
function storage.open(config)
	if config == nil then config = "memory" end
	if type(config) == "string" then config = { driver = config } end
	if type(config) ~= "table" then return nil, "storage: \"memory\" or { driver = , ... }" end
	local name = DRIVERS[config.driver]
	if not name then return nil, "storage: unknown driver " .. tostring(config.driver) end
	return require(name).open(config)
end

return storage

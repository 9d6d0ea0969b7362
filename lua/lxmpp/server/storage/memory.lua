-- lxmpp.server.storage.memory: stores in Lua tables, gone with the process.
-- Values are copied in and out, so a caller's later changes to its table
-- do not reach the store (as with a durable driver).
---A storage driver: open_store(name) gives a store, close() ends it.
---@class lxmpp.server.storage.memory
local memory = {}

local function copy(v)
	if type(v) ~= "table" then return v end
	local c = {}
	for k, x in pairs(v) do c[k] = copy(x) end
	return c
end

local store_methods = {}
local store_mt = { __index = store_methods }

---@param user string
---@return table|nil data a copy of what was stored, nil when nothing was
function store_methods:get(user)
	return copy(self.data[user])
end

---@param user string
---@param data table|nil nil removes it
---@return boolean|nil ok
---@return string? message
function store_methods:set(user, data)
	self.data[user] = copy(data)
	return true
end

local driver_methods = {}
local driver_mt = { __index = driver_methods }

---@param name string the store's name ("accounts", "roster"...)
---@return table store with get(user) and set(user, data)
function driver_methods:open_store(name)
	local s = self.stores[name]
	if not s then
		s = setmetatable({ data = {} }, store_mt)
		self.stores[name] = s
	end
	return s
end

function driver_methods.close() end

---@return table driver
function memory.open()
	return setmetatable({ stores = {} }, driver_mt)
end

return memory

-- lxmpp.server.storage.sqlite3: stores in one SQLite file through LuaDBI
-- (Debian lua-dbi-sqlite3, the library Prosody's SQL storage uses). One
-- table, (store, user) -> value, the value a Lua table serialized as text
-- (lxmpp.server.serialize) and read back without running code.
local serialize = require "lxmpp.server.serialize"
local unpack = require("lxmpp.compat").unpack

---A storage driver: open_store(name) gives a store, close() ends it.
---@class lxmpp.server.storage.sqlite3
local sqlite3 = {}

local SCHEMA = [[CREATE TABLE IF NOT EXISTS lxmpp_store (
	store TEXT NOT NULL, user TEXT NOT NULL, value TEXT NOT NULL,
	PRIMARY KEY (store, user))]]

local store_methods = {}
local store_mt = { __index = store_methods }

---@param user string
---@return table|nil data a copy of what was stored, nil when nothing was
function store_methods:get(user)
	local db = self.driver.db
	local q, err = db:prepare("SELECT value FROM lxmpp_store WHERE store = ? AND user = ?")
	if not q then return nil, err end
	local ok, e = q:execute(self.name, user)
	if not ok then return nil, e end
	local row = q:fetch(false)
	q:close()
	if not row then return nil end
	return serialize.decode(row[1])
end

---@param user string
---@param data table|nil nil removes it
---@return boolean|nil ok
---@return string? message
function store_methods:set(user, data)
	local db = self.driver.db
	local sql, args
	if data == nil then
		sql, args = "DELETE FROM lxmpp_store WHERE store = ? AND user = ?", { self.name, user }
	else
		sql = "INSERT OR REPLACE INTO lxmpp_store (store, user, value) VALUES (?, ?, ?)"
		args = { self.name, user, serialize.encode(data) }
	end
	local q, err = db:prepare(sql)
	if not q then return nil, err end
	local ok, e = q:execute(unpack(args))
	q:close()
	if not ok then return nil, e end
	return db:commit()
end

local driver_methods = {}
local driver_mt = { __index = driver_methods }

---@param name string the store's name ("accounts", "roster"...)
---@return table store with get(user) and set(user, data)
function driver_methods:open_store(name)
	return setmetatable({ driver = self, name = name }, store_mt)
end

function driver_methods:close()
	if self.db then
		self.db:close()
		self.db = nil
	end
end

---@param config { path: string } the SQLite file
---@return table|nil driver
---@return string? message
function sqlite3.open(config)
	if type(config.path) ~= "string" then return nil, "storage: sqlite3 needs a path" end
	local ok, dbi = pcall(require, "DBI")
	if not ok then return nil, "storage: sqlite3 needs LuaDBI (Debian: lua-dbi-sqlite3)" end
	local db, err = dbi.Connect("SQLite3", config.path)
	if not db then return nil, "storage: " .. tostring(err) end
	local created, e = db:prepare(SCHEMA)
	if not created then return nil, "storage: " .. tostring(e) end
	created:execute()
	created:close()
	db:commit()
	return setmetatable({ db = db }, driver_mt)
end

return sqlite3

-- lxmpp.server.accounts: accounts kept as SCRAM keys (RFC 5802), never as
-- passwords. Each account holds, per hash (SHA-1, SHA-256, SHA-512), a salt,
-- an iteration count, StoredKey and ServerKey: enough to verify SCRAM and
-- PLAIN, useless to log in elsewhere. Stored under the "accounts" store.
--   local a = accounts.new(store, { iterations = 10000 })
--   a:set_password(user, password) ; a:exists(user) ; a:remove(user)
--   a:keys(user, hash) -> keys for conn:answer_auth (a decoy for unknown users)
--   a:check_password(user, password) -> true | false
local random = require "lxmpp.server.random"
local sasl = require "lxmpp.sasl"

---@class lxmpp.server.accountlib
local accounts = {}

local HASHES = { "SHA-1", "SHA-256", "SHA-512" }
local DEFAULT_ITERATIONS = 10000

---@class lxmpp.server.accounts
local methods = {}
local mt = { __index = methods }

---@param store lxmpp.server.store
---@param opts? { iterations?: integer }
---@return lxmpp.server.accounts
function accounts.new(store, opts)
	opts = opts or {}
	local self = setmetatable({ store = store, iterations = opts.iterations or DEFAULT_ITERATIONS }, mt)
	-- a per-process secret for the decoys of unknown users
	self.secret = random.hex(32)
	return self
end

--- Stores the keys of every hash for a password (three PBKDF2 runs).
---@param user string
---@param password string
---@return boolean|nil ok
---@return string? message
function methods:set_password(user, password)
	local record = {}
	for _, hash in ipairs(HASHES) do
		local stored_key, server_key, salt, iterations = sasl.scram_keys(hash, password, nil, self.iterations)
		record[hash] = { salt = salt, iterations = iterations, stored_key = stored_key, server_key = server_key }
	end
	return self.store:set(user, record)
end

---@param user string
---@return boolean
function methods:exists(user)
	return self.store:get(user) ~= nil
end

---@param user string
---@return boolean|nil ok
---@return string? message
function methods:remove(user)
	return self.store:set(user, nil)
end

-- Keys that no password matches, with a salt that is the same for a name
-- every time: an unknown user fails at the proof, as a wrong password does,
-- and the salt tells nobody that the account does not exist.
---@param user string
---@param hash string
---@return table keys that no password matches
function methods:decoy(user, hash)
	local digest = sasl.scram_keys(hash, self.secret, user, 1)
	local size = #digest
	local stored_key, server_key = random.bytes(size), random.bytes(size)
	return { hash = hash, salt = digest:sub(1, 16), iterations = self.iterations,
		stored_key = stored_key, server_key = server_key }
end

--- The keys to answer a SCRAM auth-request with.
---@param user string
---@param hash string "SHA-1", "SHA-256" or "SHA-512"
---@return table keys
---@return boolean known
function methods:keys(user, hash)
	local record = self.store:get(user)
	local keys = record and record[hash]
	if not keys then return self:decoy(user, hash), false end
	keys.hash = hash
	return keys, true
end

-- Equal strings, in time that does not depend on where they differ (a sum
-- of squared differences: Lua 5.1 and 5.2 have no bit operators).
local function same(a, b)
	if #a ~= #b then return false end
	local diff = 0
	for i = 1, #a do
		local d = a:byte(i) - b:byte(i)
		diff = diff + d * d
	end
	return diff == 0
end

--- PLAIN: the password against the stored keys (one PBKDF2).
---@param user string
---@param password string
---@return boolean
function methods:check_password(user, password)
	local record = self.store:get(user)
	local keys = record and record["SHA-256"]
	if not keys then
		keys = self:decoy(user, "SHA-256") -- the same cost as a known user
	end
	local stored_key = sasl.scram_keys("SHA-256", password, keys.salt, keys.iterations)
	return stored_key ~= nil and same(stored_key, keys.stored_key) and record ~= nil
end

return accounts

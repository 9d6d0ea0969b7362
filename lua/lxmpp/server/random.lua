-- lxmpp.server.random: random bytes for the server (ids, secrets, decoy
-- keys), from the core's OpenSSL CSPRNG.
local random_bytes = require("lxmpp.core").random_bytes

---@class lxmpp.server.random
local random = {}

---@param n integer 1 to 1024
---@return string bytes n random bytes
function random.bytes(n)
	return random_bytes(n)
end

---@param n integer 1 to 1024
---@return string hex n random bytes as 2n lower-case hex digits
function random.hex(n)
	return (("%02x"):rep(n):format(random_bytes(n):byte(1, n)))
end

return random

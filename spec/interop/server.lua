-- What the interop server harnesses share: the test accounts, the
-- temporary directory and the supervised process, and the methods every
-- server object has (account, stop).
local process = require "interop.process"

local server = {}

server.DEFAULT_ACCOUNTS = { alice = "alice's secret", bob = "bob's secret" }

-- { user, password } pairs from opts.accounts (user -> password), by name.
function server.accounts(given)
	given = given or server.DEFAULT_ACCOUNTS
	local list = {}
	for user, password in pairs(given) do list[#list + 1] = { user = user, password = password } end
	table.sort(list, function(a, b) return a.user < b.user end)
	return list
end

function server.write(path, text)
	local f = assert(io.open(path, "wb"))
	f:write(text)
	f:close()
end

server.methods = {}

function server.methods:account(user)
	for _, a in ipairs(self.accounts) do
		if a.user == user then return a end
	end
	error("no account " .. user, 2)
end

-- Stops the server and everything it started, and removes its directory.
-- Idempotent.
function server.methods:stop()
	if self.proc then
		self.proc:stop()
		self.proc = nil
	end
	if self.dir then
		process.remove(self.dir)
		self.dir = nil
	end
end

return server

-- The fault-injecting proxy (faultproxy_main.lua) as a process on a free
-- loopback port in front of a server:
--   local proxy = faultproxy.start { host =, port =, seed =, cuts =, min =, max_up =, max_down = }
--   proxy.port, proxy:cuts() (the cuts made so far: { n =, direction =, bytes = }),
--   proxy:stop()
local clock = require "lxmpp.clock"
local process = require "interop.process"

local faultproxy = {}
local methods = {}
local mt = { __index = methods }

function faultproxy.start(opts)
	local self = setmetatable({ dir = process.tempdir(), port = process.free_port() }, mt)
	self.log = self.dir .. "/faultproxy.log"
	local lua_path, lua_cpath = process.lua54_env() -- whatever interpreter runs the specs
	self.proc = process.spawn({ "env", lua_path, lua_cpath, "lua5.4",
		"spec/interop/faultproxy_main.lua", tostring(self.port), opts.host, tostring(opts.port),
		tostring(opts.seed or 1), tostring(opts.cuts or 0), tostring(opts.min or 1),
		tostring(opts.max_up or 10000), tostring(opts.max_down or 10000) },
		{ log = self.log, grace = 2 })
	-- not process.wait_port: its probe would be the first connection
	local deadline = clock.now() + 10
	while not (process.read(self.log) or ""):find("listening", 1, true) do
		if clock.now() > deadline or not self.proc:alive() then
			self:stop()
			error("the fault proxy did not start: " .. tostring(process.read(self.log)))
		end
		clock.wait(clock.now() + 0.05)
	end
	return self
end

function methods:cuts()
	local list = {}
	for n, direction, bytes in (process.read(self.log) or ""):gmatch("cut (%d+) (%a+) (%d+)") do
		list[#list + 1] = { n = tonumber(n), direction = direction, bytes = tonumber(bytes) }
	end
	return list
end

function methods:stop()
	self.proc:stop()
	process.remove(self.dir)
end

return faultproxy

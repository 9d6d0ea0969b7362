-- A fault-injecting TCP proxy on loopback, run by spec/interop/faultproxy.lua
-- as a process of its own:
--   lua5.4 faultproxy_main.lua port target_host target_port seed cuts min max_up max_down
-- The first `cuts` connections it accepts are each cut once: in a
-- direction (client to server or back) and after a number of bytes in
-- min..max_up or min..max_down, both drawn from the seed, so that a run repeats its cuts; the
-- cut forwards exactly that many bytes, then closes both sides. Later
-- connections pass untouched. Each cut is logged on stdout when planned
-- and when made: plan|cut <n> <up|down> <bytes>
local cqueues = require "cqueues"
local socket = require "cqueues.socket"

local port, host, target_port, seed, cuts, min, max_up, max_down = tonumber(arg[1]), arg[2],
	tonumber(arg[3]), tonumber(arg[4]), tonumber(arg[5]), tonumber(arg[6]), tonumber(arg[7]), tonumber(arg[8])
math.randomseed(seed)

local listener = assert(socket.listen { host = "127.0.0.1", port = port, reuseaddr = true })
assert(listener:listen())
io.stdout:setvbuf("line")
print("listening " .. port)

local cq = cqueues.new()

-- Copies from `from` to `to`; with a budget, stops after that many bytes
-- and closes both (the cut).
local function shovel(from, to, budget, on_cut)
	while true do
		local want = budget and math.min(budget, 16384) or 16384
		local data = from:xread(-want, "n")
		if not data or #data == 0 then break end
		local ok = to:xwrite(data, "n")
		if not ok then break end
		to:flush("n")
		if budget then
			budget = budget - #data
			if budget <= 0 then
				on_cut()
				break
			end
		end
	end
	from:shutdown("r")
	to:shutdown("w")
end

local n = 0
cq:wrap(function()
	while true do
		local client = listener:accept()
		if client then
			n = n + 1
			local k = n
			local server = socket.connect { host = host, port = target_port }
			client:setmode("bn", "bn")
			server:setmode("bn", "bn")
			local up, down -- byte budgets: nil passes everything
			if k <= cuts then
				if math.random(2) == 1 then up = math.random(min, max_up) else down = math.random(min, max_down) end
				print(("plan %d %s %d"):format(k, up and "up" or "down", up or down))
			end
			-- a cut shuts both sockets down (the other shovel then reads the
			-- end); the last shovel to finish closes them
			local function cut()
				print(("cut %d %s %d"):format(k, up and "up" or "down", up or down))
				client:shutdown("rw")
				server:shutdown("rw")
			end
			local running = 2
			local function run(from, to, budget)
				pcall(shovel, from, to, budget, cut)
				running = running - 1
				if running == 0 then
					client:close()
					server:close()
				end
			end
			cq:wrap(run, client, server, up)
			cq:wrap(run, server, client, down)
		end
	end
end)

-- an error in one connection's coroutine ends that coroutine, not the proxy
while true do
	local ok, err = cq:loop()
	if ok then break end
	io.stderr:write("faultproxy: ", tostring(err), "\n")
end

-- tools/server_heap.lua: where the bytes of an idle authenticated TLS 1.3
-- session of lxmpp.server go. Runs examples/server.lua under valgrind
-- (massif, with its gdbserver), takes valgrind's allocation tree
-- (`xtmemory`) with one warm session and again with N more idle sessions
-- (after the server's idle trim), and prints the difference per
-- connection by library and function. Slow (valgrind): N defaults to 200.
--   LUA_PATH="lua/?.lua;lua/?/init.lua;spec/?.lua;;" LUA_CPATH="build/?.so;;" \
--     lua5.4 tools/server_heap.lua [N]
local cqueues = require "cqueues"
local client = require "lxmpp.client"
local lxmpp_server = require "interop.lxmpp_server"
local process = require "interop.process"

local N = tonumber(arg[1]) or 200
local ACCOUNTS = { alice = "alice's secret" }
local dir = process.tempdir()

local srv = lxmpp_server.server.start { accounts = ACCOUNTS, wrap = {
	"valgrind", "--tool=massif", "--vgdb=yes", "--xtree-memory=allocs",
	"--massif-out-file=" .. dir .. "/massif.out",
}, limits = { max_connections = 50000, max_connections_per_ip = 50000, read_rate = 1e9, read_burst = 1e9 } }

-- The allocation stacks of valgrind's tree (callgrind format: each stack
-- a chain of calls= lines from "(below main)" to the allocating function,
-- which has the cost line "LINE BYTES BLOCKS"): bytes and blocks by the
-- stack's frames, "file:function" from the outermost.
local function snapshot(name)
	local file = dir .. "/" .. name .. ".kcg"
	assert(process.run { "vgdb", "--pid=" .. srv.proc.pid, "xtmemory", file })
	local files, fns, stacks = {}, {}, {}
	local stack, fl, call = {}, "?", false
	local function named(tok, into)
		local id, text = tok:match("^%((%d+)%)%s?(.*)$")
		if text ~= "" then into[id] = text end
		return into[id]
	end
	for line in io.lines(file) do
		local key, rest = line:match("^(%a+)=(.*)$")
		if key == "fl" then
			fl = named(rest, files)
		elseif key == "fn" then
			local fn = named(rest, fns)
			if fn == "(below main)" then stack = {} end
			stack[#stack + 1] = fl .. ":" .. fn
			call = false
		elseif key == "cfi" or key == "cfl" then
			named(rest, files)
		elseif key == "cfn" then
			named(rest, fns)
		elseif key == "calls" then
			call = true
		elseif line:match("^%d") then
			local bytes, blocks = line:match("^%d+ (%d+) (%d+)")
			if call then
				call = false
			elseif bytes then
				local k = table.concat(stack, "\n")
				local e = stacks[k] or { stack = { (unpack or table.unpack)(stack) }, 0, 0 }
				e[1], e[2] = e[1] + tonumber(bytes), e[2] + tonumber(blocks)
				stacks[k] = e
			end
		end
	end
	return stacks
end

-- Where a stack's bytes belong, by its frames from the innermost out.
local function owner(stack)
	for i = #stack, 1, -1 do
		local f = stack[i]
		if f:find(":XML_", 1, true) then return "expat" end
		if f:find(":SSL_", 1, true) or f:find(":EVP_", 1, true) or f:find(":CRYPTO_", 1, true)
			or f:find(":BIO_", 1, true) or f:find(":lx_tls_", 1, true) then return "OpenSSL" end
		if f:find("csrc/lua/", 1, true) then return "Lua values made by lxmpp's binding" end
		if f:find("csrc/", 1, true) then return "lxmpp's C (connection, parser, JIDs)" end
	end
	return "Lua (tables, strings, closures, coroutines, userdata) and cqueues"
end

-- The innermost named frames of a stack, for the detailed list.
local function where(stack)
	local names = {}
	for i = #stack, 1, -1 do
		local fn = stack[i]:match(":(.*)$")
		if not fn:find("???", 1, true) then names[#names + 1] = fn end
		if #names == 3 then break end
	end
	return table.concat(names, " < ")
end

local result
local cq = cqueues.new()
cq:wrap(function()
	local function connect(extra)
		local o = { jid = "alice@" .. srv.domain, password = ACCOUNTS.alice, host = srv.host, port = srv.port,
			tls = { cafile = srv.cafile }, timeout = 600, keepalive = false }
		for k, v in pairs(extra or {}) do o[k] = v end
		return assert(client.connect(o))
	end
	local warm = connect { resource = "warm" }
	cqueues.sleep(8)
	local before = snapshot("before")
	local list = {}
	for i = 1, N do list[i] = connect { keys = warm.keys, resource = "idle" .. i } end
	cqueues.sleep(8) -- the server trims sessions quiet for 2 s
	result = { before = before, after = snapshot("after") }
	for _, c in ipairs(list) do c.t:close() end
	warm.t:close()
end)
local ok, err = cq:loop()
srv:stop()
assert(ok, err)

-- after - before, per session, by owner and by allocation site
local owners, sites = {}, {}
local function add(into, key, bytes, blocks)
	local e = into[key] or { key, 0, 0 }
	e[2], e[3] = e[2] + bytes / N, e[3] + blocks / N
	into[key] = e
end
for k, a in pairs(result.after) do
	local b = result.before[k] or { 0, 0 }
	add(owners, owner(a.stack), a[1] - b[1], a[2] - b[2])
	add(sites, where(a.stack), a[1] - b[1], a[2] - b[2])
end
for k, b in pairs(result.before) do
	if not result.after[k] then
		add(owners, owner(b.stack), -b[1], -b[2])
		add(sites, where(b.stack), -b[1], -b[2])
	end
end
local function sorted(t)
	local list = {}
	for _, e in pairs(t) do list[#list + 1] = e end
	table.sort(list, function(x, y) return x[2] > y[2] end)
	return list
end
local total, blocks = 0, 0
print(("Heap per idle authenticated TLS 1.3 session (%d sessions; bytes asked of malloc, blocks):"):format(N))
print("\n| owner | bytes | blocks |\n|---|---:|---:|")
for _, e in ipairs(sorted(owners)) do
	print(("| %s | %.0f | %.1f |"):format(e[1], e[2], e[3]))
	total, blocks = total + e[2], blocks + e[3]
end
print(("| in all | %.0f | %.1f |"):format(total, blocks))
print("\nAllocation sites, innermost named frames (16 bytes or more):\n")
for _, e in ipairs(sorted(sites)) do
	if math.abs(e[2]) >= 16 then print(("%8.0f %6.1f  %s"):format(e[2], e[3], e[1])) end
end
if os.getenv("KEEP") then print("kept " .. dir) else process.remove(dir) end

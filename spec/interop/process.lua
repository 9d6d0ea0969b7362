-- Child processes, temporary directories and ports for the interop
-- harnesses and the DNS spec. Servers run under supervise.py, which reaps
-- whatever they fork and kills it all on stop(), or when this process dies.
--   process.spawn(argv, { log = path, cwd = dir, grace = seconds }) -> proc
--   proc:alive(), proc:stop() -> exit status, proc.pid
--   process.run(argv [, opts]) -> ok, output (stdout and stderr), exit code
--   process.ours(argv) -> argv that keeps make asan's preloaded runtime (our own Lua)
--   process.tempdir(), process.remove(dir), process.free_port(), process.read(path)
--   process.mentioning(text) -> pids of processes whose command line holds text
--   process.cpu_seconds(pid), process.rss(pid) -> a live process's CPU time
--       (user and system) and resident bytes, from /proc
--   process.wait_port(host, port, deadline, proc) -> true | nil, why
--   process.example(server, name, account, args) -> the argv that runs
--       examples/<name> as account on server (XMPP_* in its environment)
--   process.start_bot(server, name, account, args, log [, seconds]) -> proc, its JID
--       once it printed "online as JID" | nil, the log
local cqueues = require "cqueues"
local socket = require "cqueues.socket"
local clock = require "lxmpp.clock"
local transport = require "lxmpp.transport.cqueues"

local process = {}

local function quote(s)
	return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Absolute, since servers run in their own directories.
local HERE = debug.getinfo(1, "S").source:match("^@(.*/)")
do
	local realpath = assert(io.popen("realpath " .. quote(HERE)))
	process.dir = realpath:read("*l") .. "/"
	realpath:close()
end
local SUPERVISOR = process.dir .. "supervise.py"

-- The package paths of a Lua 5.4 program the tests start (Prosody with
-- mod_lxmpp, the lxmpp server, s2s_pair.lua): this tree's modules, its
-- spec helpers and its 5.4 build, then
-- 5.4's defaults, whichever interpreter runs the specs (LuaJIT's build and
-- 5.1 paths would not load there).
function process.lua54_env()
	local root = process.dir .. "../../"
	return "LUA_PATH=" .. root .. "lua/?.lua;" .. root .. "lua/?/init.lua;" .. root .. "spec/?.lua;;",
		"LUA_CPATH=" .. root .. "build/?.so;;"
end

local function command_line(argv, opts)
	local words = {}
	if opts.cwd then words[#words + 1] = "cd " .. quote(opts.cwd) .. " &&" end
	-- the sanitizers' runtime (make asan preloads it into Lua) is not for them
	words[#words + 1] = "exec env -u LD_PRELOAD"
	for _, arg in ipairs(argv) do words[#words + 1] = quote(arg) end
	return table.concat(words, " ")
end

-- argv for a program that runs lxmpp's own code (our Lua module): under
-- make asan it keeps the sanitizers' runtime that command_line drops.
function process.ours(argv)
	local preload = os.getenv("LD_PRELOAD")
	if not preload then return argv end
	local words = { "env", "LD_PRELOAD=" .. preload }
	for _, arg in ipairs(argv) do words[#words + 1] = arg end
	return words
end

function process.run(argv, opts)
	-- The exit status comes last in the output: pipe:close() gives it from
	-- Lua 5.2 on, Lua 5.1 and LuaJIT say true whatever it was.
	local pipe = assert(io.popen("(" .. command_line(argv, opts or {}) .. ") 2>&1; echo \"exit $?\"", "r"))
	local output, code = pipe:read("*a"):match("^(.*)exit (%d+)\n$")
	pipe:close()
	code = tonumber(code)
	return code == 0, output, code
end

function process.example(server, name, account, args)
	local argv = { "env", "XMPP_PASSWORD=" .. account.password, "XMPP_HOST=" .. server.host,
		"XMPP_PORT=" .. server.port, "XMPP_CAFILE=" .. server.cafile, require "support.lua_command",
		"examples/" .. name }
	for _, a in ipairs(args) do argv[#argv + 1] = a end
	return argv
end

-- Starts examples/<name> (see process.example), writing into `log`, and
-- waits until it prints "online as JID": the process and that JID, or
-- nil and the log when it did not come online within `seconds`.
function process.start_bot(server, name, account, args, log, seconds)
	local proc = process.spawn(process.example(server, name, account, args), { log = log })
	local deadline = clock.now() + (seconds or 10)
	while clock.now() < deadline do
		local jid = process.read(log):match("online as (%S+)")
		if jid then return proc, jid end
		require("lxmpp.tasks").sleep(0.05)
	end
	proc:stop()
	return nil, process.read(log)
end

-- Clock ticks per second of /proc/PID/stat's times (USER_HZ, 100 on Linux).
local TICKS = 100

function process.cpu_seconds(pid)
	local fields = {}
	for x in process.read("/proc/" .. pid .. "/stat"):match("^.*%) (.*)$"):gmatch("%S+") do fields[#fields + 1] = x end
	return (tonumber(fields[12]) + tonumber(fields[13])) / TICKS -- utime, stime
end

function process.rss(pid)
	return tonumber(process.read("/proc/" .. pid .. "/status"):match("VmRSS:%s*(%d+)")) * 1024
end

function process.read(path)
	local f = io.open(path, "rb")
	if not f then return "" end
	local data = f:read("*a") -- nil when /proc/PID went away meanwhile
	f:close()
	return data or ""
end

function process.tempdir()
	local ok, out = process.run { "mktemp", "-d", "/tmp/lxmpp-test-XXXXXX" }
	assert(ok, out)
	return (out:gsub("%s+$", ""))
end

function process.remove(dir)
	assert(dir:match("^/tmp/lxmpp%-test%-"), "refusing to remove " .. dir)
	assert(process.run { "rm", "-rf", "--", dir })
end

-- A TCP port free on loopback right now (the kernel's choice).
function process.free_port()
	local srv = assert(socket.listen { host = "127.0.0.1", port = 0 })
	assert(srv:listen())
	local _, _, port = srv:localname()
	srv:close()
	return port
end

-- A server that failed to start: the error, the server's log, and the
-- error again, so that the tail of a long output shows it too.
function process.start_error(err, name, log)
	return ("%s\n--- %s:\n%s\n--- end of %s; the error: %s"):format(tostring(err), name, log, name, tostring(err))
end

local proc_methods = {}
local proc_mt = { __index = proc_methods }

function process.spawn(argv, opts)
	local line = { "/usr/bin/python3", SUPERVISOR, opts.log, tostring(opts.grace or 10), "--" }
	for _, arg in ipairs(argv) do line[#line + 1] = arg end
	local pipe = assert(io.popen(command_line(line, opts), "r"))
	local first = pipe:read("*l")
	local supervisor, pid = (first or ""):match("^(%d+) (%d+)$")
	if not supervisor then
		local rest = pipe:read("*a")
		pipe:close()
		error("could not start " .. argv[1] .. ": " .. tostring(first) .. (rest or ""))
	end
	return setmetatable({ pipe = pipe, supervisor = supervisor, pid = tonumber(pid) }, proc_mt)
end

function proc_methods:alive()
	if not self.pipe then return false end
	-- "" when it is gone, also between the open and the read
	local state = process.read("/proc/" .. self.pid .. "/stat"):match("^.*%) (%a)")
	return state ~= nil and state ~= "Z"
end

-- Stops the process and everything it started; returns its exit status
-- (negative: the signal that ended it). Idempotent.
function proc_methods:stop()
	if not self.pipe then return self.status end
	os.execute("kill -TERM " .. self.supervisor .. " 2>/dev/null")
	local rest = self.pipe:read("*a")
	self.pipe:close()
	self.pipe = nil
	self.status = tonumber(rest:match("exit (%-?%d+)"))
	return self.status
end

-- Pids of the processes whose command line mentions `text` (a directory
-- of ours), to check that nothing was left running.
function process.mentioning(text)
	local pids = {}
	local listing = assert(io.popen("ls /proc"))
	for entry in listing:lines() do
		if entry:match("^%d+$") then
			local cmdline = process.read("/proc/" .. entry .. "/cmdline")
			if cmdline:find(text, 1, true) then pids[#pids + 1] = tonumber(entry) end
		end
	end
	listing:close()
	return pids
end

-- Waits until something accepts TCP connections on host:port, the process
-- dies, or the deadline passes.
function process.wait_port(host, port, deadline, proc)
	while clock.now() < deadline do
		if proc and not proc:alive() then return nil, "the process exited" end
		local t = transport.connect(host, port, math.min(deadline, clock.now() + 1))
		if t then
			t:close()
			return true
		end
		cqueues.sleep(0.05)
	end
	return nil, "nothing listens on " .. host .. " port " .. port .. " after the deadline"
end

return process

-- examples/tiny_server.lua as a process, started the way examples/server.lua
-- starts lxmpp.server, so that the client matrix runs the same harness
-- (spec/interop/lxmpp_server.lua) against both:
--   lua5.4 spec/interop/tiny_server_main.lua CONFIG [TRACE]
-- CONFIG is a Lua chunk returning { domain =, certificate =, key = (file
-- names), listen = { { host =, port = } }, accounts = { name = "password" } }.
-- Prints "listening on HOST:PORT" for its listener. With TRACE, every byte
-- each session sends and receives goes to that file, one line per chunk:
-- "<session number> <sent|received> <data>".
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "../../examples/?.lua;" .. package.path
local cqueues = require "cqueues"
local tiny = require "tiny_server"

local config_file, trace_file = arg[1], arg[2]
if not config_file then
	io.stderr:write("usage: tiny_server_main.lua CONFIG [TRACE]\n")
	os.exit(2)
end
local config = assert(dofile(config_file))

local function read(path)
	local f = assert(io.open(path, "rb"))
	local data = f:read("*a")
	f:close()
	return data
end

local trace
if trace_file then
	local out = assert(io.open(trace_file, "ab"))
	out:setvbuf("line")
	local numbers, next_number = setmetatable({}, { __mode = "k" }), 1
	trace = function(session, direction, data)
		if not numbers[session] then
			numbers[session], next_number = next_number, next_number + 1
		end
		out:write(numbers[session], " ", direction, " ", (data:gsub("\n", "\\n")), "\n")
	end
end

assert(config.listen and #config.listen == 1 and not config.listen[1].direct_tls,
	"the tiny server listens once, with STARTTLS")
local cq = cqueues.new()
local server = tiny.start {
	cq = cq, domain = config.domain, accounts = config.accounts, host = config.listen[1].host,
	certificate = read(config.certificate), key = read(config.key), trace = trace,
}
io.stdout:write("listening on ", server.host, ":", server.port, "\n")
io.stdout:flush()
assert(cq:loop())

-- A complete XMPP server from a config file (a Lua chunk returning the
-- lxmpp.server config table, see docs/server.md):
--   lua5.4 examples/server.lua CONFIG            run it
--   lua5.4 examples/server.lua CONFIG adduser NAME@DOMAIN PASSWORD
-- It prints "listening on HOST:PORT" for each listener, then serves until
-- SIGINT or SIGTERM, when it shuts down (system-shutdown to every session).
local server = require "lxmpp.server"

local path, command = arg[1], arg[2]
if not path then
	io.stderr:write("usage: server.lua CONFIG [adduser NAME@DOMAIN PASSWORD]\n")
	os.exit(2)
end
local config_env = {}
local chunk, err = loadfile(path, "t", config_env)
if chunk and setfenv then setfenv(chunk, config_env) end -- Lua 5.1: loadfile takes no env
if not chunk then
	io.stderr:write(err, "\n")
	os.exit(1)
end
local config = chunk()
config.log = config.log or function(level, message)
	if level ~= "debug" then io.stderr:write(level, ": ", message, "\n") end
end

-- The collector as Prosody sets it by default (its util/startup.lua): a
-- cycle starts once the heap has grown 5% since the last one and runs 5x
-- as fast as Lua's default, which lets the heap double first and leaves
-- the garbage of past logins beside the idle sessions (bench/README.md).
-- config.gc = { pause =, stepmul = } sets others.
local gc = config.gc or {}
config.gc = nil
collectgarbage("setpause", gc.pause or 105)
collectgarbage("setstepmul", gc.stepmul or 500)

local srv = server.new(config)

if command == "adduser" then
	local name, password = arg[3], arg[4]
	local user, domain = (name or ""):match("^([^@]+)@(.+)$")
	local accounts = user and srv:accounts(domain)
	if not accounts or not password then
		io.stderr:write("usage: server.lua CONFIG adduser NAME@DOMAIN PASSWORD\n")
		os.exit(2)
	end
	assert(accounts:set_password(user, password))
	srv:close()
	print("added " .. name)
	return
end

local ok, message = srv:start()
if not ok then
	io.stderr:write(message, "\n")
	os.exit(1)
end
for _, l in ipairs(srv:addresses_bound()) do
	print(("listening on %s:%d%s%s"):format(l.host, l.port, l.direct_tls and " (direct TLS)" or "",
		l.components and " (components: " .. table.concat(l.components, ", ") .. ")" or ""))
end
io.stdout:flush()

-- Signals end the loop through the server's own controller.
local have_signal, signal = pcall(require, "cqueues.signal")
if have_signal then
	signal.block(signal.SIGINT, signal.SIGTERM)
	local listener = signal.listen(signal.SIGINT, signal.SIGTERM)
	srv.cq:wrap(function()
		listener:wait()
		srv:close(5)
	end)
end
assert(srv:run())

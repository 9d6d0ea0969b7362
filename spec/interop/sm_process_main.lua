-- The first life of a process that resumes its session after a restart
-- (spec/interop/sm_spec.lua): logs in with stream management, sends
-- `count` messages to `to` (ids prefix1, prefix2...) that the server does
-- not acknowledge yet, prints c:sm_state() serialized, and dies without
-- closing the stream.
--   lua sm_process_main.lua jid password host port cafile to prefix count
local client = require "lxmpp.client"
local st = require "lxmpp.stanza"
local serialize = require "interop.serialize"

local jid, password, host, port, cafile, to, prefix, count = ...
local c = assert(client.connect { jid = jid, password = password, host = host, port = tonumber(port),
	tls = { cafile = cafile }, timeout = 20,
	stream_management = { request_after = 1000, request_interval = 1000 } })
for i = 1, tonumber(count) do
	assert(c:send(st.message({ to = to, id = prefix .. i }, "m" .. i)))
end
io.write("return ", serialize(assert(c:sm_state())), "\n")
io.stdout:flush()
os.exit(0) -- the socket closes with the process, unannounced

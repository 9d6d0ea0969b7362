-- Runs a test against the tiny in-process server (examples/tiny_server.lua)
-- over loopback sockets, inside one cqueues controller, on a fake clock
-- (lxmpp.clock.fake): no timeout fires because the machine is slow. The
-- real clock only bounds each test as a whole (20 s), against a hang.
--   harness.with_server([opts,] function(server, cq, clk) ... end)
--   harness.connect(server, user [, opts]) -> a client
--   harness.close(c1, c2, ...)
--   harness.run(cq, fn): fn in a coroutine of cq, until it returns
package.path = "examples/?.lua;" .. package.path
local cqueues = require "cqueues"
local client = require "lxmpp.client"
local clock = require "lxmpp.clock"
local tiny = require "tiny_server"

local harness = {
	DOMAIN = "im.example.com",
	ACCOUNTS = { juliet = "r0m30myr0m30", romeo = "wherefore", nurse = "anon" },
}

-- Runs fn in a coroutine of cq until it returns; the real clock bounds it
-- (20 s) against a hang.
function harness.run(cq, fn)
	local done = false
	cq:wrap(function()
		fn()
		done = true
	end)
	local deadline = clock.now() + 20
	while not done do
		assert(cq:step(0.5))
		assert(clock.now() < deadline, "the test did not finish in time")
	end
end

function harness.with_server(opts, fn)
	if fn == nil then opts, fn = {}, opts end
	local cq = cqueues.new()
	local o = { cq = cq, domain = harness.DOMAIN, accounts = harness.ACCOUNTS, direct_tls = true }
	for k, v in pairs(opts) do o[k] = v end
	local server = tiny.start(o)
	server.clock = clock.fake()
	harness.run(cq, function() fn(server, cq, server.clock) end)
	server:stop()
	assert(cq:step(0))
end

function harness.connect(server, user, opts)
	local o = {
		jid = user .. "@" .. harness.DOMAIN, password = harness.ACCOUNTS[user], host = server.host,
		port = server.port, tls = { ca = server.certificate }, timeout = 5, clock = server.clock,
	}
	for k, v in pairs(opts or {}) do o[k] = v end
	return client.connect(o)
end

-- Closes each client given.
function harness.close(...)
	for _, c in ipairs({ ... }) do c:close() end
end

return harness

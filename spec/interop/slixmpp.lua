-- Drives spec/interop/slixmpp_client.py (slixmpp under Debian's
-- /usr/bin/python3) against an interop server. slixmpp connects by the
-- JID's domain, found at server.host (slixmpp_client.py answers its DNS),
-- so that it checks the certificate against the domain: given the address,
-- slixmpp 1.8.3 would check no name (spec/interop/clients/README.md).
--   slixmpp.run(server, mode, accounts [, opts]) -> reports, output, exit code
--       mode "login", "exchange", "social", "component", "component-refused" or "discover"; accounts: list
--       of { jid, password }; reports: the JSON lines decoded, in order.
--   slixmpp.start(server, mode, accounts, opts) -> a process (process.spawn)
--       writing into opts.log, while this one goes on (an lxmpp peer answers);
--       slixmpp.reports(path) -> the JSON lines of that log
-- opts: debug (slixmpp's log on stderr), mech, certfile and keyfile (a client certificate), tls_max ("1.2"), direct_tls, keep_trying, resource, count,
-- timeout, muc, component ("domain:secret:port"), target (a full JID).
local json = require "dkjson"
local process = require "interop.process"

local slixmpp = {}

local PYTHON = "/usr/bin/python3"
local SCRIPT = process.dir .. "slixmpp_client.py"

local function argv(server, mode, accounts, opts)
	local a = { PYTHON, SCRIPT, "--host", server.host, "--cafile", server.cafile }
	a[#a + 1] = "--port"
	a[#a + 1] = tostring(opts.direct_tls and server.direct_tls_port or server.port)
	if opts.direct_tls then a[#a + 1] = "--direct-tls" end
	if opts.keep_trying then a[#a + 1] = "--keep-trying" end
	if opts.debug then a[#a + 1] = "--debug" end
	for _, option in ipairs { "mech", "certfile", "keyfile", "tls_max", "resource", "count", "timeout", "muc",
		"component", "target" } do
		if opts[option] then
			a[#a + 1] = "--" .. option:gsub("_", "-")
			a[#a + 1] = tostring(opts[option])
		end
	end
	a[#a + 1] = mode
	for _, account in ipairs(accounts) do
		a[#a + 1] = account.jid
		a[#a + 1] = account.password
	end
	return a
end

local function decode_lines(text)
	local reports = {}
	for line in text:gmatch("[^\n]+") do
		local report = json.decode(line)
		if type(report) == "table" then reports[#reports + 1] = report end
	end
	return reports
end

function slixmpp.run(server, mode, accounts, opts)
	local _, output, code = process.run(argv(server, mode, accounts, opts or {}))
	return decode_lines(output), output, code
end

function slixmpp.start(server, mode, accounts, opts)
	return process.spawn(argv(server, mode, accounts, opts), { log = opts.log, grace = 5 })
end

function slixmpp.reports(path)
	return decode_lines(process.read(path) or "")
end

return slixmpp

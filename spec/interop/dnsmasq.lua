-- A real DNS server on loopback for the resolver specs: Debian's dnsmasq
-- with a throwaway set of records, on a free port, with no upstream (names
-- outside the records are NXDOMAIN in the listed domains).
--   local dns = dnsmasq.start {
--     domains = { "example.test" },                 -- answered locally only
--     srv = { { "_xmpp-client._tcp.example.test", "xmpp1.example.test", 5222, 10, 60 }, -- priority, weight
--             { "_xmpps-client._tcp.none.test" } }, -- no target: "."
--     hosts = { { "xmpp1.example.test", "127.0.0.1", "::1" } },
--   }
--   dns.nameserver -- "[127.0.0.1]:port", for lxmpp.resolve.dns { nameservers = { ... } }
--   dns:stop()
local clock = require "lxmpp.clock"
local process = require "interop.process"

local dnsmasq = {}

local server = {}
server.__index = server

function dnsmasq.start(opts)
	local dir = process.tempdir()
	local port = process.free_port()
	local _, user = process.run { "id", "-un" }
	local _, group = process.run { "id", "-gn" }
	local argv = {
		"/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
		"--no-poll", "--pid-file=", "--bind-interfaces", "--listen-address=127.0.0.1", "--port=" .. port,
		"--user=" .. user:gsub("%s+$", ""), "--group=" .. group:gsub("%s+$", ""), "--log-facility=-",
		"--log-queries",
	}
	for _, domain in ipairs(opts.domains or {}) do argv[#argv + 1] = "--local=/" .. domain .. "/" end
	for _, srv in ipairs(opts.srv or {}) do argv[#argv + 1] = "--srv-host=" .. table.concat(srv, ",") end
	for _, host in ipairs(opts.hosts or {}) do
		for i = 2, #host do argv[#argv + 1] = "--host-record=" .. host[1] .. "," .. host[i] end
	end
	local self = setmetatable({ dir = dir, host = "127.0.0.1", port = port }, server)
	self.nameserver = "[127.0.0.1]:" .. port
	self.proc = process.spawn(argv, { log = dir .. "/dnsmasq.log", grace = 5 })
	-- dnsmasq answers over TCP on the same port once it is ready
	local ok, why = process.wait_port("127.0.0.1", port, clock.now() + 10, self.proc)
	if not ok then
		local log = process.read(dir .. "/dnsmasq.log")
		self:stop()
		error("dnsmasq did not start (" .. why .. "):\n" .. log)
	end
	return self
end

function server:stop()
	if self.proc then
		self.proc:stop()
		self.proc = nil
	end
	if self.dir then
		process.remove(self.dir)
		self.dir = nil
	end
end

return dnsmasq

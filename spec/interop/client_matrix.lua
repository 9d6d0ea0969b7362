-- The client matrix: eight real XMPP client libraries, each driven by a
-- small program of its own language in spec/interop/clients/, run at once
-- against one server harness (spec/interop/prosody.lua, or
-- spec/interop/lxmpp_server.lua's). Every driver takes
--   HOST PORT DOMAIN CAFILE USER_A PASS_A USER_B PASS_B
-- verifies the server's certificate against CAFILE for DOMAIN, and prints
-- one line per step ("step NAME ok|fail DETAIL"), per step it cannot do
-- ("unsupported NAME WHY") and facts ("info KEY VALUE").
--   client_matrix.CLIENTS          the clients, in order, with their steps
--   client_matrix.STEPS            every step, in order
--   client_matrix.missing(client)  -> nil, or how to install it
--   client_matrix.build()          -> the C and C++ drivers, built once
--   client_matrix.accounts()       -> user -> password, two per client
--   client_matrix.user(client, "a" | "b") -> the user name of its account
--   client_matrix.run(server [, { refused = true }]) -> reports, by client
--       name (refused: A's password is wrong): { steps =
--       { name -> { ok =, detail = } }, unsupported = { name -> why },
--       info = { key -> value }, output =, status =, seconds = }
local process = require "interop.process"

local client_matrix = {}

local DIR = process.dir .. "clients/"
local ROOT = process.dir .. "../../"
local BUILD = ROOT .. "build/interop-clients/"
-- Debian's Python, which has the Debian clients; the drivers run with -B,
-- so that importing transcript.py writes no __pycache__ into the tree.
local PYTHON = "/usr/bin/python3"

client_matrix.STEPS = { "tls:a", "auth:a", "bind:a", "tls:b", "auth:b", "bind:b", "message-full", "message-bare",
	"subscribe", "roster", "disco", "ping", "close:a", "close:b" }

local function exists(path)
	local f = io.open(path)
	if f then f:close() end
	return f ~= nil
end

local DEPS = "run `sh tools/deps.sh` as root"

-- Each client: name, its Debian package (or npm's, with how to check it is
-- there), the driver's command line before the common arguments.
-- `unsupported` lists the steps the client cannot do (its driver says why).
-- `wrong_name`: what the client's output says when the certificate is not
-- for the JID's domain (clients_spec.lua's certificate-for-another-name run).
client_matrix.CLIENTS = {
	{ name = "slixmpp", debian = "python3-slixmpp", wrong_name = "Hostname mismatch",
		argv = { PYTHON, "-B", DIR .. "slixmpp_driver.py" } },
	{ name = "aioxmpp", debian = "python3-aioxmpp", wrong_name = "certificate hostname mismatch",
		argv = { PYTHON, "-B", DIR .. "aioxmpp_driver.py" } },
	{ name = "nbxmpp", debian = "python3-nbxmpp", wrong_name = "G_TLS_CERTIFICATE_BAD_IDENTITY",
		argv = { PYTHON, "-B", DIR .. "nbxmpp_driver.py" } },
	{ name = "libstrophe", debian = "libstrophe-dev", wrong_name = "X509_V_ERR_HOSTNAME_MISMATCH",
		binary = "libstrophe", source = "libstrophe.c", compiler = "cc -std=c11 -D_POSIX_C_SOURCE=200809L",
		pkg = "libstrophe" },
	{ name = "gloox", debian = "libgloox-dev", wrong_name = "CertWrongPeer",
		binary = "gloox", source = "gloox.cc", compiler = "c++ -std=c++17", pkg = "gloox" },
	{ name = "xmpp.js", npm = "@xmpp/client (spec/interop/clients/package.json; Node >= 20.10)",
		present = function()
			local ok, version = process.run { "node", "--version" }
			local major, minor = (version or ""):match("^v(%d+)%.(%d+)")
			major, minor = tonumber(major), tonumber(minor)
			return ok and major and (major > 20 or (major == 20 and minor >= 10))
				and exists(DIR .. "node_modules/@xmpp/client/package.json")
		end,
		argv = { "node", DIR .. "xmppjs.js" }, ca_env = "NODE_EXTRA_CA_CERTS",
		wrong_name = "ERR_TLS_CERT_ALTNAME_INVALID" },
	{ name = "Net::XMPP", debian = "libnet-xmpp-perl", wrong_name = "hostname verification failed",
		argv = { "perl", DIR .. "net_xmpp.pl" } },
	{ name = "go-sendxmpp", debian = "go-sendxmpp", wrong_name = "x509: certificate is valid for",
		argv = { "sh", DIR .. "go_sendxmpp.sh" },
		unsupported = { "roster", "subscribe", "disco", "ping", "close:a", "close:b" } },
}

-- The accounts' user names: letters only, the client's name without
-- punctuation, then a or b.
local function user(client, label)
	return client.name:lower():gsub("[^a-z]", "") .. label
end
client_matrix.user = user

function client_matrix.accounts()
	local accounts = {}
	for _, client in ipairs(client_matrix.CLIENTS) do
		for _, label in ipairs { "a", "b" } do
			accounts[user(client, label)] = "secret of " .. user(client, label)
		end
	end
	return accounts
end

-- Whether the client is installed, asked once: dpkg for every Debian
-- package at once.
local installed
local function present(client)
	if not installed then
		installed = {}
		local argv = { "dpkg-query", "-W", "-f=${Package} ${Status}\n" }
		for _, c in ipairs(client_matrix.CLIENTS) do argv[#argv + 1] = c.debian end
		local _, listing = process.run(argv) -- fails when one is unknown, and lists the others
		for package, status in listing:gmatch("(%S+) ([^\n]*)") do
			installed[package] = status:match(" installed$") ~= nil
		end
		for _, c in ipairs(client_matrix.CLIENTS) do
			if c.present then installed[c] = c.present() and true or false end
		end
	end
	return installed[client.debian or client] == true
end

function client_matrix.missing(client)
	if present(client) then return nil end
	return ("%s is not installed: %s (it installs %s)"):format(client.name, DEPS,
		client.debian and "Debian's " .. client.debian or "npm's " .. client.npm)
end

local function quote(s)
	return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Builds the C and C++ drivers into build/interop-clients/ when their
-- source is newer than the binary; returns nil, output on failure.
function client_matrix.build()
	assert(process.run { "mkdir", "-p", BUILD })
	for _, client in ipairs(client_matrix.CLIENTS) do
		if client.binary and present(client) then
			local binary, source = BUILD .. client.binary, DIR .. client.source
			local cmd = ("[ %s -nt %s ] || %s -O1 -Wall -Wextra -Werror -o %s %s $(pkg-config --cflags --libs %s)")
				:format(quote(binary), quote(source), client.compiler, quote(binary), quote(source), client.pkg)
			local ok, out = process.run { "sh", "-c", cmd }
			if not ok then return nil, client.name .. " driver did not build:\n" .. out end
			client.argv = { binary }
		end
	end
	return true
end

local function parse(text)
	local report = { steps = {}, unsupported = {}, info = {} }
	for line in text:gmatch("[^\n]+") do
		local name, verdict, detail = line:match("^step (%S+) (%S+) ?(.*)$")
		if name then
			report.steps[name] = { ok = verdict == "ok", detail = detail }
		else
			local what, why = line:match("^unsupported (%S+) ?(.*)$")
			if what then
				report.unsupported[what] = why
			else
				local key, value = line:match("^info (%S+) ?(.*)$")
				if key then report.info[key] = value end
			end
		end
	end
	return report
end

-- Runs every present client's driver at once against the server; each is
-- given 90 s (its own timeouts are shorter). opts.refused: account A's
-- password is wrong.
function client_matrix.run(server, opts)
	opts = opts or {}
	local clients = client_matrix.CLIENTS
	local dir = process.tempdir()
	local script = {}
	for i, client in ipairs(clients) do
		if present(client) then
			local words = {}
			if client.ca_env then words[#words + 1] = "env " .. client.ca_env .. "=" .. quote(server.cafile) end
			words[#words + 1] = "timeout -k 5 90"
			for _, arg in ipairs(client.argv) do words[#words + 1] = quote(arg) end
			for _, arg in ipairs { server.host, server.port, server.domain, server.cafile } do
				words[#words + 1] = quote(arg)
			end
			for _, label in ipairs { "a", "b" } do
				local name = user(client, label)
				words[#words + 1] = quote(name)
				local password = server:account(name).password
				words[#words + 1] = quote((opts.refused and label == "a" and "not " or "") .. password)
			end
			local out = quote(dir .. "/" .. i)
			script[#script + 1] = ("( s=$(date +%%s%%N); %s > %s.out 2> %s.err; echo $? $s $(date +%%s%%N) > %s.rc ) &")
				:format(table.concat(words, " "), out, out, out)
		end
	end
	script[#script + 1] = "wait"
	process.run({ "sh", "-c", table.concat(script, "\n") }, { cwd = dir })
	local reports = {}
	for i, client in ipairs(clients) do
		if present(client) then
			local base = dir .. "/" .. i
			local stdout, stderr = process.read(base .. ".out"), process.read(base .. ".err")
			local report = parse(stdout)
			local status, started, ended = process.read(base .. ".rc"):match("^(%d+) (%d+) (%d+)")
			report.status = tonumber(status)
			report.seconds = started and (tonumber(ended) - tonumber(started)) / 1e9
			report.output = stdout .. "--- stderr (the last 6000 bytes):\n" .. stderr:sub(-6000)
			reports[client.name] = report
		end
	end
	process.remove(dir)
	return reports
end

return client_matrix

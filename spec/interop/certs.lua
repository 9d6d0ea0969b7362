-- Throwaway certificates for the interop servers and clients, made with the
-- openssl command line in the test's temporary directory: a CA, and leaves
-- signed by it (P-256 keys, valid two days). Clients verify against the CA
-- file. Nothing here is ever committed.
--   certs.make(dir, domain) -> { cafile, certfile, keyfile, pemfile }
--       a new CA in dir, and a server certificate for domain from it;
--       pemfile holds the key, the leaf and the CA (ejabberd's format)
--   certs.server(dir, domain) -> { certfile, keyfile }: another server
--       certificate from dir's CA (made by certs.make)
--   certs.client(dir, jid) -> { certfile, keyfile }: a client certificate
--       from dir's CA whose only name is the XmppAddr jid (XEP-0178)
local process = require "interop.process"

local certs = {}

local XMPP_ADDR = "1.3.6.1.5.5.7.8.5" -- id-on-xmppAddr, RFC 6120 §13.7.1.4

local function openssl(args)
	local argv = { "openssl" }
	for _, a in ipairs(args) do argv[#argv + 1] = a end
	local ok, out = process.run(argv)
	if not ok then error("openssl " .. args[1] .. " failed:\n" .. out, 3) end
end

local function write(path, text)
	local f = assert(io.open(path, "wb"))
	f:write(text)
	f:close()
end

-- A leaf signed by dir's CA, with these subjectAltNames and extended key
-- usage; its files are named after `name`.
local function leaf(dir, name, san, usage)
	local file = dir .. "/" .. name:gsub("[^%w.-]", "_")
	local key, csr, pem, ext = file .. ".key", file .. ".csr", file .. ".crt", file .. ".ext"
	openssl { "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", key, "-out", csr, "-subj", "/CN=" .. name }
	write(ext, table.concat({
		"basicConstraints=critical,CA:FALSE",
		"keyUsage=critical,digitalSignature,keyEncipherment",
		"extendedKeyUsage=" .. usage,
		"subjectAltName=" .. san,
	}, "\n") .. "\n")
	openssl { "x509", "-req", "-in", csr, "-CA", dir .. "/ca.pem", "-CAkey", dir .. "/ca.key", "-CAcreateserial",
		"-out", pem, "-days", "2", "-extfile", ext }
	return { certfile = pem, keyfile = key }
end

function certs.server(dir, domain)
	-- RFC 6120 §13.7.1.2: a DNS name and an XmppAddr for the domain
	return leaf(dir, domain, "DNS:" .. domain .. ",DNS:*." .. domain .. ",otherName:" .. XMPP_ADDR .. ";UTF8:" .. domain,
		"serverAuth,clientAuth")
end

function certs.client(dir, jid)
	return leaf(dir, jid, "otherName:" .. XMPP_ADDR .. ";UTF8:" .. jid, "clientAuth")
end

function certs.make(dir, domain)
	local ca_pem = dir .. "/ca.pem"
	openssl { "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", dir .. "/ca.key", "-out", ca_pem, "-days", "2", "-subj", "/CN=lxmpp interop test CA",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign" }
	local c = certs.server(dir, domain)
	local bundle = dir .. "/" .. domain .. ".pem"
	write(bundle, process.read(c.keyfile) .. process.read(c.certfile) .. process.read(ca_pem))
	return { cafile = ca_pem, certfile = c.certfile, keyfile = c.keyfile, pemfile = bundle }
end

return certs

-- Throwaway certificates for the interop servers, made with the openssl
-- command line in the test's temporary directory: a CA, and a leaf for the
-- test domain signed by it (P-256 keys, valid two days). Clients verify
-- against the CA file. Nothing here is ever committed.
--   certs.make(dir, domain) -> { cafile, certfile, keyfile, pemfile }
-- pemfile holds the key, the leaf and the CA (ejabberd's format).
local process = require "interop.process"

local certs = {}

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

function certs.make(dir, domain)
	local ca_key, ca_pem = dir .. "/ca.key", dir .. "/ca.pem"
	local key, csr, pem = dir .. "/" .. domain .. ".key", dir .. "/" .. domain .. ".csr", dir .. "/" .. domain .. ".crt"
	local ext = dir .. "/leaf.ext"
	openssl { "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", ca_key, "-out", ca_pem, "-days", "2", "-subj", "/CN=lxmpp interop test CA",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign" }
	openssl { "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", key, "-out", csr, "-subj", "/CN=" .. domain }
	-- RFC 6120 §13.7.1.2: a DNS name and an XmppAddr for the domain
	write(ext, table.concat({
		"basicConstraints=critical,CA:FALSE",
		"keyUsage=critical,digitalSignature,keyEncipherment",
		"extendedKeyUsage=serverAuth,clientAuth",
		"subjectAltName=DNS:" .. domain .. ",DNS:*." .. domain .. ",otherName:1.3.6.1.5.5.7.8.5;UTF8:" .. domain,
	}, "\n") .. "\n")
	openssl { "x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key, "-CAcreateserial",
		"-out", pem, "-days", "2", "-extfile", ext }
	local bundle = dir .. "/" .. domain .. ".pem"
	write(bundle, process.read(key) .. process.read(pem) .. process.read(ca_pem))
	return { cafile = ca_pem, certfile = pem, keyfile = key, pemfile = bundle }
end

return certs

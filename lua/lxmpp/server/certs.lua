-- lxmpp.server.certs: the server's TLS from its config: a certificate per
-- domain chosen by the client's SNI, client certificates checked against
-- the config's own CA, and SASL EXTERNAL on their identities (XEP-0178).
--   local tls, own = certs.context_options(config, domains) -- for stream.tls_context
--   certs.wrong_certificate(own, conn, host) -> nil | why
--   certs.identities(conn) -> { "juliet@example.com", ... }
--   certs.external(request, host, accounts) -> what conn:answer_auth takes
local jid_util = require "lxmpp.jid"

---@class lxmpp.server.certs
local certs = {}

-- `depth`: the functions of this file between server.new and here (1:
-- context_options itself), so that the error names the caller's line.
local function misuse(message, depth)
	error("lxmpp.server: config: " .. message, 3 + (depth or 1))
end

local function pem_or_file(value, pem_key, file_key, into)
	if value:find("-----BEGIN", 1, true) then into[pem_key] = value else into[file_key] = value end
	return into
end

-- One { certificate =, key = } pair (file names or PEM) in the binding's
-- shape; `where` names it in errors.
local function pair(spec, where)
	if type(spec) ~= "table" or type(spec.certificate) ~= "string" or type(spec.key) ~= "string" then
		misuse(where .. " needs 'certificate' and 'key' (file names or PEM)", 2)
	end
	local out = pem_or_file(spec.certificate, "certificate", "certificate_file", {})
	return pem_or_file(spec.key, "key", "key_file", out)
end

--- The options of the server's TLS context: the default certificate
--- (`certificate`, `key`), one per domain (`certificates`, keyed by
--- domain, chosen by SNI), and with `client_certificates = { ca =,
--- required = }` a request for the client's certificate, verified against
--- that CA only. Bad config raises.
---@param config table the server's config
---@param domains string[] its domains, prepared
---@return table options for stream.tls_context("server", ...)
---@return table|nil own the domains with a certificate other than the default (a set)
function certs.context_options(config, domains)
	local served = {}
	for _, d in ipairs(domains) do served[d] = true end
	local list, per_domain = {}, nil
	if config.certificates ~= nil then
		if type(config.certificates) ~= "table" then
			misuse("'certificates' is { [domain] = { certificate =, key = } }")
		end
		per_domain = {}
		for name, spec in pairs(config.certificates) do
			local d = jid_util.prep(tostring(name))
			if not served[d or ""] then misuse("certificates: " .. tostring(name) .. " is not one of the domains") end
			if per_domain[d] then misuse("certificates: " .. d .. " is given twice (as two names that prepare to it)") end
			per_domain[d] = spec
		end
		-- in the order of the domains: the first is the default without
		-- `certificate`
		for _, d in ipairs(domains) do
			if per_domain[d] then list[#list + 1] = pair(per_domain[d], "certificates[\"" .. d .. "\"]") end
		end
	end
	local tls = { alpn = { "xmpp-client" }, certificates = list }
	if config.certificate or config.key then
		local default = pair(config, "'certificate'")
		for k, v in pairs(default) do tls[k] = v end
	end
	for _, d in ipairs(domains) do
		if not tls.certificate and not tls.certificate_file and not (per_domain and per_domain[d]) then
			misuse("needs 'certificate' and 'key' (file names or PEM), or certificates[\"" .. d .. "\"]")
		end
	end
	local cc = config.client_certificates
	if cc ~= nil then
		if type(cc) ~= "table" or type(cc.ca) ~= "string" or (cc.required ~= nil and type(cc.required) ~= "boolean") then
			misuse("'client_certificates' is { ca = file name or PEM [, required = boolean] }")
		end
		pem_or_file(cc.ca, "ca", "cafile", tls)
		tls.verify = cc.required and "required" or "optional"
	end
	local own
	if per_domain then
		own = {}
		for d in pairs(per_domain) do own[d] = true end
		-- without `certificate` the first of them is the default, which a
		-- client without SNI gets
		if not tls.certificate and not tls.certificate_file then
			for _, d in ipairs(domains) do
				if own[d] then
					own[d] = nil
					break
				end
			end
		end
	end
	return tls, own
end

-- The domain whose certificate a name gets: its own, or the default (nil).
local function certificate_of(own, name)
	local d = name and jid_util.prep(name)
	return d and own[d] and d or nil
end

--- With certificates per domain: why a secured stream to `host` is
--- refused (the certificate chosen by the client's SNI is another
--- domain's), or nil when it is fine.
---@param own table|nil the domains with their own certificate
---@param conn lxmpp.stream.connection
---@param host string the stream's domain
---@return string|nil why
function certs.wrong_certificate(own, conn, host)
	if not own then return nil end
	local info = conn:tls_info()
	if not info then return nil end
	if certificate_of(own, info.server_name) ~= certificate_of(own, host) then
		return ("TLS was set up with the certificate for %s, not for %s: ask for %s with SNI"):format(
			info.server_name or "no name (no SNI)", host, host)
	end
	return nil
end

--- The bare JIDs in the client certificate's XmppAddr names (RFC 6120
--- §13.7.1.4, id-on-xmppAddr); empty without a verified certificate.
---@param conn lxmpp.stream.connection
---@return string[]
function certs.identities(conn)
	local info = conn:tls_info()
	local out = {}
	if not info or not info.verified then return out end
	for _, name in ipairs(info.peer_names) do
		if name.type == "xmpp-addr" then
			local node, host, resource = jid_util.prepped_split(name.value)
			if node and host and not resource then out[#out + 1] = node .. "@" .. host end
		end
	end
	return out
end

--- SASL EXTERNAL (XEP-0178 §3): the identity is the certificate's JID at
--- this domain (the authzid chooses among several and must be one of
--- them), and its account must exist. Returns what conn:answer_auth takes.
---@param request table the auth-request event, with `identities`
---@param host string the stream's domain
---@param accounts lxmpp.server.accounts
---@return boolean ok
---@return string? identity_or_condition
---@return string? text
function certs.external(request, host, accounts)
	local mine = {}
	for _, id in ipairs(request.identities) do
		if select(2, jid_util.split(id)) == host then mine[#mine + 1] = id end
	end
	local chosen
	if request.authzid then
		local wanted = jid_util.prep(request.authzid)
		for _, id in ipairs(mine) do
			if id == wanted then chosen = id end
		end
		if not chosen then
			return false, "invalid-authzid", "the authzid is not a JID of your certificate"
		end
	elseif #mine == 1 then
		chosen = mine[1]
	elseif #mine == 0 then
		return false, "not-authorized", "your certificate names no JID at " .. host
	else
		return false, "invalid-authzid", "your certificate names several JIDs here: give one as the authzid"
	end
	local user = jid_util.split(chosen)
	if not accounts:exists(user) then return false, "not-authorized", "no account " .. chosen end
	return true, user
end

return certs

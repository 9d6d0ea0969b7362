-- lxmpp.component: an external component (XEP-0114) over the network, with
-- the object API of lxmpp.client (send, receive, stanzas, iq, on, loop,
-- close, pollable, keepalive, reconnection, extensions). It is lxmpp.client's
-- machinery given another role: the stream is lxmpp.stream.component, the
-- one target is the host and port given, the ready stream serves the
-- component's domain, and every stanza sent is from that domain; over
-- direct TLS, the TLS of lxmpp.client (context, session resumption) with
-- the server's certificate checked against the domain or tls.server_name.
-- See docs/component.md.
--   local c, err, code = component.connect{ jid = "bridge.example.com", secret =, host =, port = }
local client = require "lxmpp.client"
local jid_util = require "lxmpp.jid"
local stream = require "lxmpp.stream"

---@class lxmpp.component_module
---@field PORT integer the default port (5347)
local component = {
	PORT = 5347, -- Prosody's component_ports default (ejabberd has no default)
}

local misuse = client.bad_option -- reported at the caller of connect

-- Failures after which reconnecting cannot help: a wrong secret, a domain
-- the server does not serve, an administrator's kick. `conflict` is not
-- one: the server still holds our old connection, and lets us in once it
-- notices that connection is dead (or the other component leaves). Over
-- direct TLS, a certificate we do not trust is one too: the next attempt
-- meets the same certificate, and the secret never goes to it.
local FINAL = { ["not-authorized"] = true, ["host-unknown"] = true, ["policy-violation"] = true,
	["bad-jid"] = true, ["tls-certificate-invalid"] = true, ["tls-hostname-mismatch"] = true }

local function options(opts, o)
	if type(opts.jid) ~= "string" then misuse("option 'jid' is required (the component's domain)") end
	local domain = jid_util.prep(opts.jid)
	if not domain or jid_util.host(domain) ~= domain then
		misuse("option 'jid' is a domain (bridge.example.com): " .. opts.jid)
	end
	if type(opts.secret) ~= "string" then misuse("option 'secret' is required (a string)") end
	if opts.host ~= nil and type(opts.host) ~= "string" then misuse("option 'host' is a string") end
	for _, name in ipairs { "password", "resume", "resource", "stream_management" } do
		if opts[name] ~= nil then misuse("option '" .. name .. "' is a client's, not a component's") end
	end
	if opts.direct_tls ~= nil and type(opts.direct_tls) ~= "boolean" then
		misuse("option 'direct_tls' is true or false")
	end
	if opts.tls ~= nil and not opts.direct_tls then
		misuse("option 'tls' needs direct_tls = true (XEP-0114 has no STARTTLS)")
	end
	local tls = opts.tls or {}
	if type(tls) ~= "table" then misuse("option 'tls' is a table") end
	if tls.server_name ~= nil and (type(tls.server_name) ~= "string" or tls.server_name == "") then
		misuse("option 'tls.server_name' is a host name")
	end
	o.domain, o.bare, o.full = domain, domain, domain
	o.host, o.port = opts.host or "localhost", opts.port or component.PORT
	o.direct_tls = opts.direct_tls == true
	o.tls = client.tls_options(opts.tls)
	o.tls_resume = tls.resume ~= false
	o.server_name = tls.server_name
end

-- Stamps `from` with the domain where it is missing, and refuses a `from`
-- outside it (the server would bounce or drop the stanza).
local function outgoing(self, stanza)
	local from = stanza.attr.from
	if from == nil then
		stanza.attr.from = self.opts.domain
		return true
	end
	local j = jid_util.prep(from)
	if not j or jid_util.host(j) ~= self.opts.domain then
		return nil, ("'from' %s is not in the component's domain %s"):format(from, self.opts.domain), "invalid-from"
	end
	return true
end

local ROLE = {
	name = "lxmpp.component",
	options = options,
	stream = function(self, target)
		local given, o = self.given, self.opts
		local s = {
			jid = o.domain, secret = given.secret, trace = o.trace ~= nil, lang = given.lang,
			max_stanza_size = given.max_stanza_size, max_output = o.max_output,
		}
		if target.direct_tls then
			-- no ALPN: "xmpp-client" would be a lie, and no protocol is registered for components
			s.tls, s.server_name = "direct", o.server_name
			client.tls_stream_options(self, target, s)
		end
		return stream.component(s)
	end,
	targets = function(self)
		local o = self.opts
		return { { host = o.host, port = o.port, direct_tls = o.direct_tls } }
	end,
	ready = function(self, jid)
		if jid ~= self.opts.domain then
			return nil, ("the server accepted %s, not %s"):format(tostring(jid), self.opts.domain)
		end
		return jid
	end,
	reestablish = function() end, -- nothing: a component has no presence or session of its own
	outgoing = outgoing,
	final = function(code) return FINAL[code] == true end,
	retry = { conflict = true },
}

---A connected component: the methods of lxmpp.client (docs/client.md), on
---a component's stream. c.jid is the component's domain.
---@class lxmpp.component : lxmpp.client

---component.connect{ jid =, secret =, host =, port =, timeout =, reconnect =,
---keepalive =, direct_tls =, tls =, ... } -> a ready component, or nil,
---message, code. The other options are lxmpp.client's (clock, transport,
---trace, limits). With `reconnect`, a `conflict` (the domain still
---connected) is retried with backoff within `timeout`, here and after each
---reconnection. `direct_tls = true`: TLS from the first byte, with `tls` a
---client's table (cafile, capath, ca, verify, min_version, max_version,
---resume) and server_name, the name the certificate must carry (the domain).
---@param opts { jid: string, secret: string, host?: string, port?: integer, timeout?: number, reconnect?: boolean|table, keepalive?: boolean|table, clock?: table, transport?: string|table, direct_tls?: boolean, tls?: table }
---@return lxmpp.component|nil c ready: the handshake done
---@return string? message
---@return string? code "not-authorized" (the secret), "conflict", "timeout", "host-unknown", "tls-hostname-mismatch", "tls-certificate-invalid"...
function component.connect(opts)
	local c, message, code = client.open(ROLE, opts, 1) -- its errors name our caller's line
	return c, message, code
end

return component

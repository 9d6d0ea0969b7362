-- lxmpp.server: an XMPP server (client-to-server, RFC 6120/6121) on cqueues,
-- with plugins in the shape of Prosody's. See docs/server.md.
--   local srv = server.new(config)
--   srv:start(cq) | srv:run() ; srv:close([timeout])
--   srv:hook(event, fn [, priority]) ; srv:load(plugin [, name])
--   srv:route(stanza [, origin]) ; srv:sessions_of(bare) ; srv.sessions
--   srv:pollfd(), srv:events(), srv:timeout(), srv:step([timeout])
--   srv:tick() (time-driven work, on the server's clock)
--   srv:components_of(host) (the external components connected, XEP-0114)
local cqueues = require "cqueues"
-- Yieldable on Lua 5.1 too: writes and accepts wait inside it.
local pcall = require("lxmpp.compat").pcall
local condition = require "cqueues.condition"
local socket = require "cqueues.socket"
local core = require "lxmpp.core"
local jid_util = require "lxmpp.jid"
local st = require "lxmpp.stanza"
local stream = require "lxmpp.stream"
local accounts = require "lxmpp.server.accounts"
local certs = require "lxmpp.server.certs"
local events = require "lxmpp.server.events"
local limits_lib = require "lxmpp.server.limits"
local modulelib = require "lxmpp.server.module"
local random = require "lxmpp.server.random"
local sessionlib = require "lxmpp.server.session"
local smlib = require "lxmpp.server.sm"
local storage = require "lxmpp.server.storage"

local server = {}

-- Seconds without input after which a session's connection is trimmed.
local IDLE_TRIM = 2

local DEFAULT_PLUGINS = { "ping", "disco", "version", "roster", "presence", "offline" }

-- A session whose stream is ready: a client's bound resource, or an
-- external component that made its handshake.
local function established(s)
	return s.type == "c2s" or s.type == "component"
end

---@class lxmpp.server
---@field config table
---@field domains string[]
---@field sessions table<string, lxmpp.server.session> full JID -> session
---@field components table<string, lxmpp.server.session> component domain -> its session, while connected
---@field limits table
---@field now fun(): number
local methods = {}
local mt = { __name = "lxmpp.server", __index = methods }

local function misuse(message)
	error("lxmpp.server: " .. message, 3)
end

-- The SASL mechanisms offered: config.mechanisms (the core's server
-- default when nil), with EXTERNAL when client certificates are asked for
-- (the connection offers it only to a client whose certificate verified).
local function mechanisms_of(config)
	if not config.client_certificates then return config.mechanisms end
	local list = {}
	for _, m in ipairs(config.mechanisms or core.sasl_server_defaults()) do
		if m ~= "EXTERNAL" then list[#list + 1] = m end
	end
	list[#list + 1] = "EXTERNAL"
	return list
end

local function prep_domain(d, where)
	local prepped = type(d) == "string" and jid_util.prep(d)
	if not prepped or prepped:find("[@/]") then misuse(where .. ": not a domain: " .. tostring(d)) end
	return prepped
end

local function domains_of(config)
	local list = config.domains or (config.domain and { config.domain })
	if type(list) ~= "table" or #list == 0 then misuse("config needs 'domain' or 'domains'") end
	local out = {}
	for i, d in ipairs(list) do out[i] = prep_domain(d, "domains[" .. i .. "]") end
	return out
end

-- The external components of the listeners (XEP-0114): domain -> secret,
-- and each listener's domains, prepared. A component's domain is not one
-- the server serves itself, and has one secret.
local function components_of_config(self)
	local conflict = self.config.component_conflict
	if conflict ~= nil and conflict ~= "refuse" and conflict ~= "replace" then
		misuse("component_conflict: \"refuse\" or \"replace\"")
	end
	for i, spec in ipairs(self.config.listen or {}) do
		if type(spec) == "table" and spec.components ~= nil then
			if type(spec.components) ~= "table" or next(spec.components) == nil then
				misuse("listen[" .. i .. "].components: { [domain] = secret, ... }")
			end
			if spec.direct_tls and self.config.tls == "disabled" then
				misuse("listen[" .. i .. "]: direct_tls with tls = \"disabled\"")
			end
			local domains = {}
			for d, secret in pairs(spec.components) do
				local domain = prep_domain(d, "listen[" .. i .. "].components")
				if type(secret) ~= "string" or secret == "" then misuse("components: the secret of " .. domain) end
				if self.hosts[domain] then misuse("components: " .. domain .. " is a domain of the server") end
				if self.component_secrets[domain] then misuse("components: " .. domain .. " is given twice") end
				self.component_secrets[domain] = secret
				domains[#domains + 1] = domain
			end
			table.sort(domains)
			self.listener_components[spec] = domains
		end
	end
end

--- Makes a server from its config (see docs/server.md). Bad config raises.
---@param config table
---@return lxmpp.server
function server.new(config)
	if type(config) ~= "table" then misuse("config is a table") end
	local self = setmetatable({
		config = config, domains = domains_of(config), sessions = {}, bare = {}, hosts = {},
		all = {}, throttled = {}, timers = {}, listeners = {}, stream_features = {},
		components = {}, component_secrets = {}, listener_components = {},
		now = config.clock or cqueues.monotime, log_fn = config.log, count = 0,
		resumable = {}, detached = {}, refusals = {},
	}, mt)
	local limits, err = limits_lib.check(config.limits)
	if not limits then misuse(err) end
	self.limits = limits
	self.sm_opts, err = smlib.options(config.stream_management)
	if self.sm_opts == nil then misuse(err) end
	if self.sm_opts then self.stream_features[1] = "<sm xmlns='" .. smlib.NS .. "'/>" end
	self.per_ip = limits_lib.counters(limits, self.now)
	local driver
	driver, err = storage.open(config.storage)
	if not driver then misuse(err) end
	self.storage = driver
	if config.tls ~= "disabled" then
		local tls
		tls, self.own_certificates = certs.context_options(config, self.domains)
		self.tls_context = stream.tls_context("server", tls)
		-- components log in with their secret: no client certificate asked
		tls.verify, tls.ca, tls.cafile = nil, nil, nil
		self.component_tls_context = config.client_certificates and stream.tls_context("server", tls)
			or self.tls_context
	end
	self.mechanisms = mechanisms_of(config)
	for _, domain in ipairs(self.domains) do
		self.hosts[domain] = {
			events = events.new(), features = {}, identities = {},
			session = { type = "local", host = domain, send = function() return true end },
			accounts = accounts.new(driver:open_store(domain .. "/accounts"), { iterations = config.iterations }),
		}
		self:add_core_handlers(domain)
	end
	components_of_config(self)
	for name, password in pairs(config.accounts or {}) do
		local user, host = jid_util.split(name)
		for _, domain in ipairs(user and { host } or self.domains) do
			local h = self.hosts[domain]
			if not h then misuse("accounts: unknown domain in " .. name) end
			local a = h.accounts
			if not a:check_password(user or name, password) then a:set_password(user or name, password) end
		end
	end
	for _, plugin in ipairs(config.plugins or DEFAULT_PLUGINS) do self:load(plugin) end
	return self
end

---------------------------------------------------------------------------
-- logging, events, plugins

---@param level string "debug", "info", "warn", "error"
---@param fmt string a string.format format
---@param ... any its arguments
function methods:log(level, fmt, ...)
	if not self.log_fn then return end
	-- the log is called from error paths: a log function that raises must
	-- not turn a logged failure into one that stops the server
	local ok, err = pcall(self.log_fn, level, fmt:format(...))
	if not ok then io.stderr:write("lxmpp.server: the log function failed: ", tostring(err), "\n") end
end

--- Hooks a handler on an event of every domain (Prosody's names:
--- "message/bare", "iq-get/host/urn:xmpp:ping:ping", ...). The handler gets
--- { origin = session, stanza = stanza } and returns true when it handled it.
---@param event string
---@param fn fun(event: table): any
---@param priority? number (0; higher first)
function methods:hook(event, fn, priority)
	for _, domain in ipairs(self.domains) do self.hosts[domain].events:hook(event, fn, priority) end
end

---@param event string
---@param fn function
function methods:unhook(event, fn)
	for _, domain in ipairs(self.domains) do self.hosts[domain].events:unhook(event, fn) end
end

local function is_request(stanza)
	local t = stanza.attr.type
	return stanza.name == "iq" and (t == "get" or t == "set")
end

-- A handler that raises is logged; for a request, the sender gets
-- internal-server-error (once), and the session goes on.
---@param host string the domain
---@param name string the event's name
---@param event table
---@return any result the first handler's non-nil result
function methods:fire(host, name, event)
	local h = self.hosts[host]
	if not h then return nil end
	local ok, result = pcall(h.events.fire, h.events, name, event)
	if ok then return result end
	self:log("error", "handler of %s failed: %s", name, tostring(result))
	local s = event.stanza
	if s and is_request(s) and event.origin then
		event.origin.send(st.error_reply(s, "wait", "internal-server-error"))
	end
	return true
end

--- Loads a plugin on every domain: a function(module), a module name
--- ("lxmpp.server.plugins.NAME" is tried first for a bare NAME), or a table
--- with a `load` function. Each domain gets its own module object.
---@param plugin string|function|table
---@param name? string
function methods:load(plugin, name)
	if type(plugin) == "string" then
		name = name or plugin
		local ok, p = pcall(require, "lxmpp.server.plugins." .. plugin)
		if not ok then p = require(plugin) end
		plugin = p
	end
	if type(plugin) == "table" then plugin = plugin.load end
	if type(plugin) ~= "function" then misuse("a plugin is a function(module), a module name or a table with load") end
	for _, domain in ipairs(self.domains) do plugin(modulelib.new(self, domain, name or "plugin")) end
end

---@param host string
---@param name string
---@return table store with get(user) and set(user, data)
function methods:open_store(host, name)
	return self.storage:open_store(host .. "/" .. name)
end

--- The accounts of a domain (lxmpp.server.accounts): set_password, exists,
--- remove.
---@param host? string (the first domain)
---@return lxmpp.server.accounts|nil accounts
function methods:accounts(host)
	local h = self.hosts[host or self.domains[1]]
	return h and h.accounts
end

---@param delay number seconds
---@param fn fun(now: number): number|nil a number returned runs it again after that long
function methods:add_timer(delay, fn)
	self.timers[#self.timers + 1] = { at = self.now() + delay, fn = fn }
end

---------------------------------------------------------------------------
-- the session registry

--- The sessions of an account, by resource (nil: none).
---@param bare string
---@return table<string, lxmpp.server.session>|nil
function methods:sessions_of(bare)
	return self.bare[bare]
end

local function register(self, s)
	self.sessions[s.full_jid] = s
	local bare = s.username .. "@" .. s.host
	local list = self.bare[bare]
	if not list then
		list = {}
		self.bare[bare] = list
	end
	list[s.resource] = s
end

-- A resumed session (XEP-0198) in the registry in place of its old
-- connection's session: no unbind, no bind.
---@param old lxmpp.server.session
---@param new lxmpp.server.session
function methods:replace(old, new)
	if self.sessions[old.full_jid] == old then register(self, new) end
end

-- Takes a session out of the registry (it gets no more stanzas), and fires
-- "resource-unbind" once.
---@param s lxmpp.server.session
function methods:unregister(s)
	if s.type == "component" then
		self:unregister_component(s)
		return
	end
	if not s.full_jid or self.sessions[s.full_jid] ~= s then return end
	self.sessions[s.full_jid] = nil
	local bare = s.username .. "@" .. s.host
	local list = self.bare[bare]
	list[s.resource] = nil
	if next(list) == nil then self.bare[bare] = nil end
	self:fire(s.host, "resource-unbind", { session = s, origin = s })
	smlib.ended(self, s)
end

-- Called once per session, by its last coroutine when the socket is closed.
---@param s lxmpp.server.session
function methods:forget(s)
	if not self.all[s] then return end
	self.all[s] = nil
	self.count = self.count - 1
	self.per_ip:release(s.ip)
	self.throttled[s] = nil
	if not smlib.detach(self, s) then self:unregister(s) end
	if self.all_gone and next(self.all) == nil then self.all_gone:signal() end
end

---------------------------------------------------------------------------
-- the stream's events

local function authenticate(self, s, ev)
	local h = self.hosts[s.host]
	-- every attempt takes a token of the address, a success gives it back
	if not self.per_ip:try_auth(s.ip) then
		self:log("warn", "%s: too many failed logins", s.ip)
		return s.conn:answer_auth(false, "temporary-auth-failure",
			"too many failed logins from your address; try again later")
	end
	if ev.mechanism == "EXTERNAL" then ev.identities = certs.identities(s.conn) end
	local custom = self.config.authenticate
	if custom then
		return s.conn:answer_auth(custom(s, ev))
	end
	if ev.identities then
		return s.conn:answer_auth(certs.external(ev, s.host, h.accounts))
	elseif ev.hash then
		return s.conn:answer_auth((h.accounts:keys(ev.username, ev.hash)))
	elseif ev.password then
		return s.conn:answer_auth(h.accounts:check_password(ev.username, ev.password))
	end
	return s.conn:answer_auth(false, "invalid-mechanism", "no account store for this mechanism")
end

---------------------------------------------------------------------------
-- stanza errors (routing and the components' both answer with them)

-- Answers a stanza with an error, unless it is one (or a result, or a
-- presence that needs none).
---@param origin lxmpp.server.session
---@param stanza lxmpp.stanza
---@param cond string the stanza error condition
---@param text? string
---@param kind? string the error type ("cancel")
---@return boolean handled
local function bounce(origin, stanza, cond, text, kind)
	local t = stanza.attr.type
	if t == "error" or t == "result" then return true end
	if stanza.name == "presence" and t ~= "subscribe" and t ~= "probe" then return true end
	if origin and origin.send then
		origin.send(st.error_reply(stanza, kind or "cancel", cond, text))
	end
	return true
end
server.bounce = bounce

---------------------------------------------------------------------------
-- external components (XEP-0114)

--- The server's domain a component belongs to: the one it is a subdomain
--- of (bridge.example.com: example.com), else the first. Its events fire
--- there, and that domain's disco#items lists it.
---@param domain string a component's domain
---@return string host
function methods:component_parent(domain)
	for _, host in ipairs(self.domains) do
		if domain:sub(-#host - 1) == "." .. host then return host end
	end
	return self.domains[1]
end

--- The components connected under a domain of the server (see
--- component_parent), sorted.
---@param host string
---@return string[] domains
function methods:components_of(host)
	local out = {}
	for domain in pairs(self.components) do
		if self:component_parent(domain) == host then out[#out + 1] = domain end
	end
	table.sort(out)
	return out
end

-- The component's <handshake>: its secret, checked in the core; a domain
-- already connected refuses the newcomer (conflict, as Prosody's default),
-- or with component_conflict = "replace" the right secret ends the older
-- connection (Prosody's kick_old); every attempt takes a login token of
-- the address, as a client's does.
local function component_handshake(self, s, ev)
	if not self.per_ip:try_auth(s.ip) then
		self:log("warn", "%s: too many failed logins", s.ip)
		return s:close("policy-violation", "too many failed logins from your address; try again later")
	end
	local old = self.components[ev.domain]
	local replace = old and self.config.component_conflict == "replace"
	local ok = s.conn:answer_handshake(self.component_secrets[ev.domain], old and not replace and "conflict" or nil)
	if ok and replace then old:close("conflict", "Replaced by a new connection") end
	if not ok then self:log("info", "%s: component %s refused: %s", s.ip, ev.domain, s.conn:error() or "?") end
	return ok
end

local function component_ready(self, s, domain)
	s.host, s.type, s.deadline = domain, "component", nil
	self.per_ip:auth_succeeded(s.ip)
	self.components[domain] = s
	self:log("info", "%s: component %s connected", s.ip, domain)
	self:fire(self:component_parent(domain), "component-authenticated", { session = s, origin = s })
end

--- Takes a component out of the routing (stanzas to its domain bounce
--- again), and fires "component-disconnected" once.
---@param s lxmpp.server.session
function methods:unregister_component(s)
	if self.components[s.host] ~= s then return end
	self.components[s.host] = nil
	self:log("info", "component %s disconnected", s.host)
	self:fire(self:component_parent(s.host), "component-disconnected", { session = s, origin = s })
end

-- A stanza to a component's domain (any JID at it) goes to its session;
-- while none is connected, an error (Prosody's: wait, remote-server-timeout).
local function to_component(self, stanza, origin, domain)
	local s = self.components[domain]
	if s and s.send(stanza) then return true end
	return bounce(origin, stanza, "remote-server-timeout", "the component is not connected", "wait")
end

local function bind(self, s, ev)
	local resource = ev.resource or ("lx" .. self:random_id())
	local full = s.username .. "@" .. s.host .. "/" .. resource
	local old = self.sessions[full]
	if old then
		if self.config.resource_conflict == "refuse" then
			return s.conn:refuse_bind("conflict", "the resource is in use")
		end
		old:close("conflict", "Replaced by new connection")
	end
	local ok = s.conn:accept_bind(full)
	if ok then s.resource = resource end
	return ok
end

---@return string id 6 random bytes in hex (12 digits)
function methods.random_id()
	return random.hex(6)
end

---@param s lxmpp.server.session
---@param ev table an event of its connection
function methods:on_event(s, ev)
	local kind = ev.type
	if kind == "stanza" then
		local stanza = ev.stanza
		if stanza.attr.xmlns == smlib.NS then
			smlib.element(self, s, stanza)
		else
			smlib.received(s)
			self:process(s, stanza)
		end
	elseif kind == "opened" then
		s.host = jid_util.prep(ev.to or "") or self.domains[1]
		s.opened = true
		-- a client's stream, not a component's (whose domain is its own)
		local wrong = s.type == "c2s_unauthed" and certs.wrong_certificate(self.own_certificates, s.conn, s.host)
		if wrong then s:close("host-unknown", wrong) end
	elseif kind == "auth-request" then
		authenticate(self, s, ev)
	elseif kind == "authenticated" then
		s.username = jid_util.split(ev.jid)
		s.authenticated = true
		self.per_ip:auth_succeeded(s.ip)
		self:fire(s.host, "authentication-success", { session = s, origin = s })
	elseif kind == "bind-request" then
		bind(self, s, ev)
	elseif kind == "resume-request" then
		smlib.resume(self, s, ev)
	elseif kind == "handshake-request" then
		component_handshake(self, s, ev)
	elseif kind == "ready" and s.type == "component_unauthed" then
		component_ready(self, s, ev.jid)
	elseif kind == "ready" and not s.resumed then
		s.full_jid, s.type = ev.jid, "c2s"
		s.deadline = nil
		register(self, s)
		self:fire(s.host, "resource-bind", { session = s, origin = s })
	end
end

---------------------------------------------------------------------------
-- routing (RFC 6120 §10, RFC 6121 §8)

-- The kind of address, as Prosody names it: "bare", "full", "host", or
-- "self" (an iq to the sender's own account); the domain; the bare JID.
local function classify(stanza, origin)
	local to = stanza.attr.to
	if to == nil then
		if origin.username then
			local bare = origin.username .. "@" .. origin.host
			return stanza.name == "iq" and "self" or "bare", origin.host, bare
		end
		return "host", origin.host
	end
	local node, host, resource = jid_util.prepped_split(to)
	if not host then return nil end
	if node == nil then return "host", host end
	local bare = node .. "@" .. host
	if resource then return "full", host, bare end
	if stanza.name == "iq" and origin.username and bare == origin.username .. "@" .. origin.host then
		return "self", host, bare
	end
	return "bare", host, bare
end

--- Routes a stanza: from a client session (its `from` stamped), or from
--- the server itself (origin nil: the first domain's host session; `from`
--- the domain unless given). Fires
--- "pre-NAME/KIND" for stanzas of clients, then the iq's namespace events,
--- then "NAME/KIND" on the recipient's domain. `inbound`: skip the pre-
--- events (the sender's side is done: a plugin delivering on its behalf).
---@param stanza table
---@param origin? table
---@param inbound? boolean
---@return boolean handled
function methods:route(stanza, origin, inbound)
	origin = origin or self.hosts[self.domains[1]].session
	if origin.type == "local" and not stanza.attr.from then stanza.attr.from = origin.host end
	local name = stanza.name
	local kind, host, bare = classify(stanza, origin)
	if not kind then return bounce(origin, stanza, "jid-malformed") end
	local event = { origin = origin, stanza = stanza, to_bare = bare }
	local from_host = origin.host
	if origin.type == "c2s" and not inbound and self:fire(from_host, "pre-" .. name .. "/" .. kind, event) then
		return true
	end
	if self.component_secrets[host] then return to_component(self, stanza, origin, host) end
	if not self.hosts[host] then
		return bounce(origin, stanza, "remote-server-not-found", "this server does not federate")
	end
	if is_request(stanza) then
		local child = stanza.tags[1]
		if not child or #stanza.tags ~= 1 then return bounce(origin, stanza, "bad-request") end
		local ns = (child.attr.xmlns or "") .. ":" .. child.name
		if self:fire(host, "iq-" .. stanza.attr.type .. "/" .. kind .. "/" .. ns, event) then return true end
		if self:fire(host, "iq/" .. kind .. "/" .. ns, event) then return true end
	end
	if self:fire(host, name .. "/" .. kind, event) then return true end
	if is_request(stanza) then return bounce(origin, stanza, "service-unavailable") end
	return false
end

-- What a client sends: the stanza goes through route().
---@param s lxmpp.server.session
---@param stanza lxmpp.stanza
function methods:process(s, stanza)
	if s.type == "component" and not stanza.attr.to then
		bounce(s, stanza, "bad-request", "a component's stanza needs a 'to'", "modify")
	else
		self:route(stanza, s)
	end
end

--- The available sessions of an account (with an available presence and a
--- priority not below `min_priority`), sorted by priority, highest first.
---@param bare string
---@param min_priority? integer
---@return lxmpp.server.session[]
function methods:available(bare, min_priority)
	local found = {}
	for _, s in pairs(self.bare[bare] or {}) do
		if s.presence and s.priority >= (min_priority or -129) then found[#found + 1] = s end
	end
	table.sort(found, function(a, b) return a.priority > b.priority end)
	return found
end

-- The default rules, at the lowest priority so that plugins go first.
---@param domain string
function methods:add_core_handlers(domain)
	local ev = self.hosts[domain].events
	local LOW = -1000

	-- RFC 6121 §8.5.2: a message to an account goes to its available
	-- resources of the highest non-negative priority, else to offline
	-- storage (a plugin on "message/offline/handle"), else it bounces.
	ev:hook("message/bare", function(e)
		local stanza, bare = e.stanza, e.to_bare
		local t = stanza.attr.type or "normal"
		local user = jid_util.split(bare)
		if not self.hosts[domain].accounts:exists(user) then
			if t == "error" or t == "headline" or t == "groupchat" then return true end
			return bounce(e.origin, stanza, "service-unavailable")
		end
		if t == "error" then return true end
		if t == "groupchat" then return bounce(e.origin, stanza, "service-unavailable") end
		local targets = self:available(bare, 0)
		if t == "headline" then
			for _, s in ipairs(targets) do s.send(stanza) end
			return true
		end
		local top = targets[1] and targets[1].priority
		local delivered = false
		for _, s in ipairs(targets) do
			if s.priority == top then delivered = s.send(stanza) or delivered end
		end
		if delivered then return true end
		if self:fire(domain, "message/offline/handle", e) then return true end
		return bounce(e.origin, stanza, "service-unavailable")
	end, LOW)

	-- §8.5.3.2.1: to a resource that is not there, as to the account
	ev:hook("message/full", function(e)
		local s = self.sessions[e.stanza.attr.to]
		if s and s.send(e.stanza) then return true end
		local t = e.stanza.attr.type
		if t == "groupchat" then return bounce(e.origin, e.stanza, "service-unavailable") end
		if t == "error" or t == "headline" then return true end
		return self:fire(domain, "message/bare", e)
	end, LOW)

	-- presence to a full JID: delivered, or dropped (§8.5.3.2.3); the
	-- subscription types are the account's business
	ev:hook("presence/full", function(e)
		local s = self.sessions[e.stanza.attr.to]
		if s and s.send(e.stanza) then return true end
		local t = e.stanza.attr.type
		if t == "subscribe" or t == "subscribed" or t == "unsubscribe" or t == "unsubscribed" then
			return self:fire(domain, "presence/bare", e)
		end
		return true
	end, LOW)

	ev:hook("presence/bare", function(e)
		local t = e.stanza.attr.type
		if t == nil or t == "unavailable" then
			for _, s in ipairs(self:available(e.to_bare)) do s.send(e.stanza) end
		end
		return true
	end, LOW)

	-- an iq to a full JID goes to that resource; a request to one that is
	-- not there bounces (§8.5.3.2.2); results and errors are dropped
	ev:hook("iq/full", function(e)
		local s = self.sessions[e.stanza.attr.to]
		if s and s.send(e.stanza) then return true end
		if is_request(e.stanza) then return bounce(e.origin, e.stanza, "service-unavailable") end
		return true
	end, LOW)

	for _, kind in ipairs { "bare", "self", "host" } do
		ev:hook("iq/" .. kind, function(e)
			if is_request(e.stanza) then return bounce(e.origin, e.stanza, "service-unavailable") end
			return true
		end, LOW)
	end
	ev:hook("message/host", function() return true end, LOW)
	ev:hook("presence/host", function() return true end, LOW)
end

---------------------------------------------------------------------------
-- listening and accepting

local function peer_ip(sock)
	local _, ip = sock:peername()
	return ip or "?"
end

---@param direct_tls boolean
---@return lxmpp.stream.connection conn
function methods:new_conn(direct_tls)
	local limits = self.limits
	return stream.server {
		domains = self.domains, tls_context = self.tls_context,
		tls = self.config.tls == "disabled" and "disabled" or (direct_tls and "direct" or "required"),
		max_preauth_stanza_size = limits.max_preauth_stanza_size, max_stanza_size = limits.max_stanza_size,
		max_output = limits.max_output, max_auth_attempts = limits.max_auth_attempts,
		mechanisms = self.mechanisms, channel_binding_types = self.config.channel_binding_types,
		features = self.stream_features[1] and table.concat(self.stream_features) or nil,
		extensions = self.sm_opts and { smlib.NS } or nil,
		cb_fallback = self.config.channel_binding_fallback ~= false,
	}
end

-- The server's side of a component's stream, for the listener's domains.
---@param domains string[]
---@param direct_tls boolean
---@return lxmpp.stream.connection conn
function methods:new_component_conn(domains, direct_tls)
	local limits = self.limits
	return stream.component_server {
		domains = domains, tls_context = self.component_tls_context, tls = direct_tls and "direct" or "disabled",
		max_preauth_stanza_size = limits.max_preauth_stanza_size, max_stanza_size = limits.max_stanza_size,
		max_output = limits.max_output,
	}
end

-- What a refused connection gets: our stream header and a stream error
-- (RFC 6120 §4.9.1.3, in the clear: it has not started TLS), written by a
-- connection of our own once per condition (each has one text), then only
-- a new stream id each time: a flood of refusals stays cheap.
local function refusal(self, cond, text)
	local cached = self.refusals[cond]
	if not cached then
		local conn = stream.server { domains = self.domains, tls = "disabled" }
		conn:stream_error(cond, text)
		cached = { conn:take_output():match("^(.- id=')%x+('.*)$") }
		self.refusals[cond] = cached
	end
	return cached[1] .. random.hex(16) .. cached[2]
end

-- A connection over the limits gets its stream error and is closed. The
-- few hundred bytes fit a new socket's send buffer: written at once, or
-- not at all (no coroutine, no wait).
local function refuse(self, sock, direct_tls, cond, text)
	local fd = not direct_tls and core.fd(sock:pollfd())
	sock:close()
	if fd then
		fd:write(refusal(self, cond, text))
		fd:close()
	end
end

---@param sock any an accepted cqueues socket
---@param direct_tls boolean
---@param components? string[] the component domains of a components listener
---@return any
function methods:accept(sock, direct_tls, components)
	local ip = peer_ip(sock)
	local limits = self.limits
	if self.count >= limits.max_connections then
		self:log("warn", "%s: refused, %d connections", ip, self.count)
		return refuse(self, sock, direct_tls, "resource-constraint", "the server has too many connections")
	end
	if not self.per_ip:take(ip) then
		self:log("warn", "%s: refused, too many connections from it", ip)
		return refuse(self, sock, direct_tls, "policy-violation", "too many connections from your address")
	end
	-- the session keeps the bare descriptor: a cqueues socket would hold
	-- its own buffers (9 KB or more) beside the connection's
	local fd, err = core.fd(sock:pollfd())
	sock:close()
	if not fd then
		self:log("warn", "%s: cannot take the connection: %s", ip, err)
		return
	end
	local conn = components and self:new_component_conn(components, direct_tls) or self:new_conn(direct_tls)
	local s = sessionlib.new(self, fd, conn, ip)
	if components then s.type = "component_unauthed" end
	s.host = self.domains[1]
	s.deadline = self.now() + limits.open_timeout
	s.auth_deadline = self.now() + limits.auth_timeout
	self:wake_at(math.min(s.deadline, s.auth_deadline))
	self.all[s] = true
	self.count = self.count + 1
	self.cq:wrap(s.reader, s)
end

local function accept_loop(self, l)
	local listener = l.socket
	while not self.closing do
		local ok, sock = pcall(listener.accept, listener, nil)
		if not ok or not sock then break end
		local accepted, err = pcall(self.accept, self, sock, l.direct_tls, l.components)
		if not accepted then
			self:log("error", "accepting: %s", tostring(err))
			sock:close()
		end
		-- one connection at a time: during a flood the others still run
		cqueues.sleep(0)
	end
end

local function listen(self, spec)
	if type(spec) ~= "table" or type(spec.host) ~= "string" then
		misuse("listen: { host =, port = [, direct_tls = true] [, components = { [domain] = secret }] }")
	end
	local components = self.listener_components[spec]
	local port = spec.port or (components and 5347) or (spec.direct_tls and 5223 or 5222)
	local listener = socket.listen { host = spec.host, port = port, reuseaddr = true,
		v6only = spec.host:find(":") and true or nil }
	listener:onerror(function(_, _, why) return why end)
	local ok, err = listener:listen()
	if not ok then
		listener:close()
		return nil, ("listen on %s port %d: %s"):format(spec.host, port, require("cqueues.errno").strerror(err))
	end
	local _, host, bound = listener:localname()
	local l = { socket = listener, host = host, port = bound, direct_tls = spec.direct_tls and true or false,
		components = components }
	self.listeners[#self.listeners + 1] = l
	return l
end

---------------------------------------------------------------------------
-- time

-- The sessions' own deadlines (no stream header, not authenticated, a
-- close or a write that takes too long) and the trimming of quiet ones: one
-- walk over every session, when the nearest deadline of the last walk is
-- due (or one set since, see wake_at), and at least once a second.
local function sweep(self, now)
	local limits = self.limits
	local nearest = now + 1
	local function due(at)
		if at and at < nearest then nearest = at end
	end
	for s in pairs(self.all) do
		if s.deadline and not s.opened and now >= s.deadline then
			s.deadline = nil
			s:close("connection-timeout", "no stream header in time")
		elseif s.auth_deadline and not established(s) and now >= s.auth_deadline then
			s.auth_deadline = nil
			s:close("connection-timeout", "not authenticated in time")
		elseif s.closed_at and now >= s.closed_at + limits.close_timeout then
			s:abort()
		elseif s.writing_since and now >= s.writing_since + limits.write_timeout then
			self:log("info", "%s: not reading, closed", tostring(s))
			s:abort()
		else
			due(s.writing_since and s.writing_since + limits.write_timeout)
			due(not s.opened and s.deadline)
			due(not established(s) and s.auth_deadline)
			due(s.closed_at and s.closed_at + limits.close_timeout)
		end
		if not s.trimmed and now >= s.last_read + IDLE_TRIM then
			-- quiet: the connection gives back its parser and TLS buffers
			-- (rebuilt at the next input, in microseconds), also before its
			-- stream is ready; false in a phase it must keep (a handshake,
			-- SASL): tried again at the next walk
			s.trimmed = s.conn:trim()
		end
		due(smlib.request_due(s, now))
	end
	smlib.tick(self, now, due)
	-- a close above sets a deadline through wake_at: keep the earlier one
	self.sweep_at = math.min(self.sweep_at or nearest, nearest)
end

--- Makes the next tick() walk the sessions at `at` at the latest (a
--- session's new deadline, on the server's clock).
---@param at number
function methods:wake_at(at)
	if not self.sweep_at or at < self.sweep_at then self.sweep_at = at end
end

--- Does what is due on the server's clock: timeouts of connections that
--- have not opened or authenticated, sessions waiting for their read rate,
--- plugins' timers, closes that took too long. The server's own timer calls
--- it; tests with an injected clock call it after moving the clock.
---@return number|nil seconds until the next thing that is due
function methods:tick()
	local now = self.now()
	if not self.sweep_at or now >= self.sweep_at then
		self.sweep_at = nil
		sweep(self, now)
	end
	local nearest = self.sweep_at
	local function due(at)
		if at and (not nearest or at < nearest) then nearest = at end
	end
	-- a session held by its read rate goes on when its bucket holds a byte
	-- again; only the held ones are looked at
	local rate = self.limits.read_rate
	for s in pairs(self.throttled) do
		local at = s.refilled + (1 - s.tokens) / rate -- never, at rate 0
		if now >= at then s.rcond:signal() else due(at) end
	end
	local timers = self.timers
	local i = 1
	while i <= #timers do
		local t = timers[i]
		if now >= t.at then
			table.remove(timers, i)
			self.cq:wrap(function()
				local ok, again = pcall(t.fn, now)
				if not ok then
					self:log("error", "timer failed: %s", tostring(again))
				elseif type(again) == "number" then
					self:add_timer(again, t.fn)
				end
			end)
		else
			due(t.at)
			i = i + 1
		end
	end
	return nearest and math.max(0, nearest - now)
end

local function timer_loop(self)
	while not self.stopped do
		local wait = self:tick()
		self.wake:wait(math.min(wait or 1, 1))
	end
end

---------------------------------------------------------------------------
-- running

--- Starts listening (config.listen) and serving inside a cqueues
--- controller. Returns the server, or nil, message when a listener fails.
---@param cq? table a cqueues controller (a new one by default)
---@return lxmpp.server|nil
---@return string? message
function methods:start(cq)
	if self.cq then misuse("already started") end
	self.cq = cq or cqueues.new()
	self.wake = condition.new()
	local specs = self.config.listen or { { host = "127.0.0.1", port = 5222 } }
	for _, spec in ipairs(specs) do
		local l, err = listen(self, spec)
		if not l then
			for _, other in ipairs(self.listeners) do other.socket:close() end
			self.listeners = {}
			return nil, err
		end
	end
	for _, l in ipairs(self.listeners) do
		self.cq:wrap(accept_loop, self, l)
		self:log("info", "listening on %s:%d%s%s", l.host, l.port, l.direct_tls and " (direct TLS)" or "",
			l.components and " (components)" or "")
	end
	self.cq:wrap(timer_loop, self)
	return self
end

--- Runs the server on its own until it is closed.
---@return boolean|nil ok
---@return string? message
function methods:run()
	if not self.cq then
		local ok, err = self:start()
		if not ok then return nil, err end
	end
	while not self.stopped do
		local ok, err = self.cq:step()
		if not ok then return nil, err end
	end
	return true
end

--- Pollable, like the client: a host loop waits on pollfd() for events()
--- up to timeout(), then calls step(0).
---@return integer fd
function methods:pollfd() return self.cq:pollfd() end
---@return string events
function methods:events() return self.cq:events() end
---@return number|nil seconds
function methods:timeout() return self.cq:timeout() end
---@return boolean|nil ok
---@return string? err
---@param timeout? number
function methods:step(timeout) return self.cq:step(timeout) end

--- Shuts down: no new connections, system-shutdown to every session, their
--- output flushed (at most `timeout` seconds, default 5), storage closed.
---@return boolean closed
---@param timeout? number
function methods:close(timeout)
	if self.stopped then return true end
	self.closing = true
	for _, l in ipairs(self.listeners) do l.socket:close() end
	self.listeners = {}
	for s in pairs(self.all) do s:close("system-shutdown", "the server is shutting down") end
	for s in pairs(self.detached) do self:unregister(s) end
	-- the timeout is on the server's clock; the waits below are real time,
	-- at most a second each, so that an injected clock is looked at again
	local deadline = self.now() + (timeout or 5)
	if next(self.all) then
		self.all_gone = condition.new()
		while next(self.all) and self.now() < deadline do
			local wait = math.min(1, deadline - self.now())
			if cqueues.running() then self.all_gone:wait(wait) else self.cq:step(wait) end
		end
	end
	for s in pairs(self.all) do s:abort() end
	self.stopped = true
	if self.wake then self.wake:signal() end
	if self.cq and not cqueues.running() then self.cq:step(0) end
	self.storage:close()
	return true
end

--- Where the listeners are: { { host =, port =, direct_tls =, components = }, ... }
--- (components: the component domains a components listener accepts).
---@return table[]
function methods:addresses_bound()
	local out = {}
	for i, l in ipairs(self.listeners) do
		out[i] = { host = l.host, port = l.port, direct_tls = l.direct_tls, components = l.components }
	end
	return out
end

return server

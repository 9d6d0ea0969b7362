-- lxmpp.ext.disco: XEP-0030 service discovery. Answers disco#info and
-- disco#items for the connection (identities, features, XEP-0128 extended
-- forms, items, and nodes with handlers of their own) and queries others,
-- with a cache. The other extensions announce their features here. See
-- docs/extensions.md, "Service discovery".
--   local disco = c:use("disco" [, { identities =, cache_ttl =, max_cache = }])
--   disco:add_feature(var), disco:remove_feature(var), disco:add_identity{ ... }
--   disco:add_item{ jid =, node =, name = }, disco:add_form(form), disco:node(name, info),
--   disco:own_info(), disco:watch(fn)
--   disco:info([jid [, node [, timeout]]]) -> info | nil, message, code [, error stanza]
--   disco:items([jid [, node [, timeout]]]) -> items | nil, message, code [, error stanza]
--   disco:has_feature(jid, var [, timeout]) -> boolean | nil, message, code
local forms = require "lxmpp.ext.forms"
local jid_util = require "lxmpp.jid"
local st = require "lxmpp.stanza"

local INFO = "http://jabber.org/protocol/disco#info"
local ITEMS = "http://jabber.org/protocol/disco#items"

local disco = { name = "disco", INFO = INFO, ITEMS = ITEMS }

local DEFAULTS = {
	cache_ttl = 600, -- seconds an answer is reused
	max_cache = 1000, -- answers kept; beyond, the oldest go
}

---@class lxmpp.disco.identity
---@field category string
---@field type string
---@field name? string
---@field lang? string

---@class lxmpp.disco.item
---@field jid string
---@field node? string
---@field name? string

---What disco#info says: identities, the features as a list and as a set
---(`has`), the extended forms (lxmpp.form) and, when the answer repeated an
---identity or a feature, `duplicate` (XEP-0115 §5.4 refuses such answers).
---@class lxmpp.disco.info
---@field identities lxmpp.disco.identity[]
---@field features string[]
---@field has table<string, true>
---@field forms lxmpp.form[]
---@field duplicate? string

---@class lxmpp.disco
local methods = {}
local mt = { __name = "lxmpp.ext.disco", __index = methods }

local function misuse(message)
	error("lxmpp.ext.disco: " .. message, 3)
end

-- What we announce changed: a new revision, and the watchers told.
local function changed(self)
	self.revision = self.revision + 1
	for _, fn in ipairs(self.watchers) do fn(self) end
end

local function identity_key(i)
	return table.concat({ i.category, i.type, i.lang or "", i.name or "" }, "/")
end

local function check_identity(i)
	if type(i) ~= "table" or type(i.category) ~= "string" or type(i.type) ~= "string" then
		misuse("an identity is { category =, type = [, name =, lang = ] }")
	end
	return { category = i.category, type = i.type, name = i.name, lang = i.lang }
end

---Announces a feature (idempotent).
---@param var string
function methods:add_feature(var)
	if type(var) ~= "string" then misuse("a feature is a string") end
	if not self.has[var] then
		self.has[var] = true
		self.features[#self.features + 1] = var
		changed(self)
	end
end

---Stops announcing a feature.
---@param var string
function methods:remove_feature(var)
	if not self.has[var] then return end
	self.has[var] = nil
	for i, f in ipairs(self.features) do
		if f == var then table.remove(self.features, i) break end
	end
	changed(self)
end

---Adds an identity (XEP-0030 §3.1): { category =, type = [, name =, lang = ] }.
---@param identity lxmpp.disco.identity
function methods:add_identity(identity)
	local i = check_identity(identity)
	for _, have in ipairs(self.identities) do
		if identity_key(have) == identity_key(i) then return end
	end
	self.identities[#self.identities + 1] = i
	changed(self)
end

---Adds an item to disco#items: { jid = [, node =, name = ] }.
---@param item lxmpp.disco.item
function methods:add_item(item)
	if type(item) ~= "table" or type(item.jid) ~= "string" then misuse("an item is { jid = [, node =, name = ] }") end
	self.item_list[#self.item_list + 1] = { jid = item.jid, node = item.node, name = item.name }
end

---Adds an extended form to disco#info (XEP-0128; a result form with a
---FORM_TYPE, e.g. urn:xmpp:dataforms:softwareinfo).
---@param form lxmpp.form
function methods:add_form(form)
	if getmetatable(form) ~= getmetatable(forms.new{}) or not forms.form_type(form) then
		misuse("add_form takes an lxmpp.ext.forms form with a FORM_TYPE field")
	end
	self.forms[#self.forms + 1] = form
	changed(self)
end

---Answers a node (XEP-0030 §3.2, §4.2): `info` is a table
---{ identities =, features =, forms =, items = } or a function(stanza)
---returning one (nil: item-not-found); nil removes the node.
---@param name string
---@param info table|fun(stanza: table): table?|nil
function methods:node(name, info)
	if type(name) ~= "string" then misuse("a node's name is a string") end
	if info ~= nil and type(info) ~= "table" and type(info) ~= "function" then
		misuse("a node is answered by a table or a function")
	end
	self.nodes[name] = info
end

---Calls fn(disco) each time our identities, features or forms change
---(caps announces the new ver).
---@param fn fun(disco: lxmpp.disco)
function methods:watch(fn)
	self.watchers[#self.watchers + 1] = fn
end

---This connection's own info, as `info` answers describe others'.
---@return lxmpp.disco.info
function methods:own_info()
	local has = {}
	for _, f in ipairs(self.features) do has[f] = true end
	return { identities = self.identities, features = self.features, has = has, forms = self.forms }
end

local function info_reply(stanza, node, info)
	local reply = st.reply(stanza):tag("query", { xmlns = INFO, node = node })
	for _, i in ipairs(info.identities or {}) do
		reply:tag("identity", { category = i.category, type = i.type, name = i.name, ["xml:lang"] = i.lang }):up()
	end
	for _, var in ipairs(info.features or {}) do reply:tag("feature", { var = var }):up() end
	for _, form in ipairs(info.forms or {}) do reply:add_child(form:element()) end
	return reply
end

local function items_reply(stanza, node, items)
	local reply = st.reply(stanza):tag("query", { xmlns = ITEMS, node = node })
	for _, item in ipairs(items or {}) do
		reply:tag("item", { jid = item.jid, node = item.node, name = item.name }):up()
	end
	return reply
end

-- The answer to a disco request, or nil when it is not one.
local function answer(self, stanza)
	if stanza.attr.type ~= "get" then return nil end
	local q = stanza.tags[1]
	if not q or q.name ~= "query" or (q.attr.xmlns ~= INFO and q.attr.xmlns ~= ITEMS) then return nil end
	local node = q.attr.node
	local info
	if node == nil then
		info = self:own_info()
		info.items = self.item_list
	else
		info = self.nodes[node]
		if type(info) == "function" then info = info(stanza) end
		if not info then return st.error_reply(stanza, "cancel", "item-not-found") end
	end
	if q.attr.xmlns == INFO then return info_reply(stanza, node, info) end
	return items_reply(stanza, node, info.items)
end

---Reads a disco#info <query/> into an lxmpp.disco.info; nil and why when
---it is not valid (a form that is not one).
---@param q table the <query xmlns='http://jabber.org/protocol/disco#info'/>
---@return lxmpp.disco.info|nil info
---@return string? why
function disco.parse_info(q)
	local info = { identities = {}, features = {}, has = {}, forms = {} }
	local seen = {}
	for el in q:childtags("identity") do
		local i = { category = el.attr.category, type = el.attr.type, name = el.attr.name, lang = el.attr["xml:lang"] }
		if not (i.category and i.type) then return nil, "an identity without category or type" end
		local key = identity_key(i)
		if seen[key] then info.duplicate = "identity " .. key end
		seen[key] = true
		info.identities[#info.identities + 1] = i
	end
	for el in q:childtags("feature") do
		local var = el.attr.var
		if not var then return nil, "a feature without var" end
		if info.has[var] then info.duplicate = "feature " .. var end
		info.has[var] = true
		info.features[#info.features + 1] = var
	end
	for el in q:childtags("x", forms.NS) do
		local form, why = forms.parse(el)
		if not form then return nil, why end
		info.forms[#info.forms + 1] = form
	end
	return info
end

local function parse_items(q)
	local items = {}
	for el in q:childtags("item") do
		if not el.attr.jid then return nil, "an item without jid" end
		items[#items + 1] = { jid = el.attr.jid, node = el.attr.node, name = el.attr.name }
	end
	return items
end

---------------------------------------------------------------------------
-- the cache: answers by kind, JID and node, for cache_ttl seconds, at most
-- max_cache of them (the oldest go first)

local function cache_get(self, key)
	local entry = self.cache[key]
	if entry and self.c.clock.now() < entry.expires then return entry.value end
	return nil
end

-- Rebuilds the order from the entries alive (keys stored again leave
-- stale places behind): every 2 * max_cache stores at most.
local function compact(self)
	local alive = {}
	for key, entry in pairs(self.cache) do alive[#alive + 1] = { place = entry.place, key = key } end
	table.sort(alive, function(a, b) return a.place < b.place end)
	local order = { first = 1, last = #alive }
	for i, a in ipairs(alive) do
		order[i] = a.key
		self.cache[a.key].place = i
	end
	self.order = order
end

local function cache_put(self, key, value)
	local cache, order = self.cache, self.order
	if cache[key] == nil then self.cached = self.cached + 1 end
	order.last = order.last + 1
	order[order.last] = key
	cache[key] = { value = value, expires = self.c.clock.now() + self.opts.cache_ttl, place = order.last }
	if order.last - order.first >= 2 * self.opts.max_cache then
		compact(self)
		order = self.order
	end
	while self.cached > self.opts.max_cache do
		local place = order.first
		local old = order[place]
		order[place] = nil
		order.first = place + 1
		-- a key stored again holds a later place: only its last one counts
		if cache[old] and cache[old].place == place then
			cache[old] = nil
			self.cached = self.cached - 1
		end
	end
end

local function query(self, ns, parse, jid, node, timeout)
	if jid ~= nil and type(jid) ~= "string" then misuse("a JID is a string") end
	if node ~= nil and type(node) ~= "string" then misuse("a node is a string") end
	-- no JID: our server (an iq without `to` would ask our own account)
	jid = jid or jid_util.host(self.c.jid)
	local key = ns .. "\0" .. (jid and jid_util.prep(jid) or jid or "") .. "\0" .. (node or "")
	local hit = cache_get(self, key)
	if hit then return hit end
	local c = self.c
	local request = st.iq({ type = "get", to = jid, id = c:new_id() }):tag("query", { xmlns = ns, node = node })
	local reply, err, code, error_stanza = c:iq(request, timeout)
	if not reply then return nil, err, code, error_stanza end
	local q = reply:get_child("query", ns)
	if not q then return nil, "the answer holds no " .. ns .. " query", "bad-reply" end
	local value, why = parse(q)
	if not value then return nil, "an invalid answer: " .. why, "bad-reply" end
	cache_put(self, key, value)
	return value
end

---What an entity (default: our server, for a client) says about itself or
---one of its nodes; answers are cached.
---@param jid? string
---@param node? string
---@param timeout? number seconds
---@return lxmpp.disco.info|nil info
---@return string? message
---@return string? code an error condition, "timeout", "bad-reply"...
---@return table? error the error stanza, when the entity answered one
function methods:info(jid, node, timeout)
	return query(self, INFO, disco.parse_info, jid, node, timeout)
end

---The items of an entity (or one of its nodes); answers are cached.
---@param jid? string
---@param node? string
---@param timeout? number seconds
---@return lxmpp.disco.item[]|nil items
---@return string? message
---@return string? code
---@return table? error
function methods:items(jid, node, timeout)
	return query(self, ITEMS, parse_items, jid, node, timeout)
end

---Whether an entity announces a feature.
---@param jid? string
---@param var string
---@param timeout? number seconds
---@return boolean|nil has
---@return string? message
---@return string? code
function methods:has_feature(jid, var, timeout)
	local info, err, code = self:info(jid, nil, timeout)
	if not info then return nil, err, code end
	return info.has[var] == true
end

---Forgets cached answers: all, those about one JID, or about one of its nodes.
---@param jid? string
---@param node? string
function methods:forget(jid, node)
	if jid == nil then
		self.cache, self.cached, self.order = {}, 0, { first = 1, last = 0 }
		return
	end
	local j = "\0" .. (jid_util.prep(jid) or jid) .. "\0"
	for key in pairs(self.cache) do
		local at = key:find(j, 1, true)
		if at and (node == nil or key:sub(at + #j) == node) then
			self.cache[key] = nil
			self.cached = self.cached - 1
		end
	end
end

---c:use("disco" [, opts]): opts.identities (default: client/bot for an
---account, component/generic for a component), opts.cache_ttl,
---opts.max_cache.
---@param c table the connection
---@param opts table
---@return lxmpp.disco
function disco.init(c, opts)
	local o = require("lxmpp.ext").numbers(opts, DEFAULTS, "lxmpp.ext.disco")
	local self = setmetatable({ c = c, opts = o, identities = {}, features = {}, has = {}, forms = {},
		item_list = {}, nodes = {}, revision = 0, watchers = {}, cache = {}, cached = 0,
		order = { first = 1, last = 0 } }, mt)
	local account = jid_util.node(c.jid or "") ~= nil
	for _, i in ipairs(opts.identities or { account and { category = "client", type = "bot" }
		or { category = "component", type = "generic" } }) do
		self:add_identity(i)
	end
	self:add_feature(INFO)
	self:add_feature(ITEMS)
	c:on("iq", function(stanza) return answer(self, stanza) end)
	return self
end

return disco

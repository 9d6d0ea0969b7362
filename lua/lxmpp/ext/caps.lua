-- lxmpp.ext.caps: XEP-0115 entity capabilities. Decorates our available
-- presence with <c node= ver= hash='sha-1'/>, the hash of what disco#info
-- says about us (answered at node#ver too), and records the peers' caps
-- from their presence, so that what a peer can do is asked once per
-- software version instead of once per peer: caps:info(jid) resolves
-- through a cache by ver, after checking that the answer hashes to the ver
-- (XEP-0115 §5.4; an answer that does not is used for that peer only).
-- When our features change, our broadcast presence goes out again (§4).
--   local caps = c:use("caps" [, { node =, max_peers = }])
--   caps:ver(), caps:peer(jid), caps:info(jid [, timeout]), caps:has_feature(jid, var [, timeout])
--   caps.string(info), caps.verification(info [, hash])
local compat = require "lxmpp.compat"
local core = require "lxmpp.core"
local forms = require "lxmpp.ext.forms"
local jid_util = require "lxmpp.jid"
local st = require "lxmpp.stanza"

local NS = "http://jabber.org/protocol/caps"
local HASH = "sha-1" -- the one XEP-0115 requires everyone to support

local caps = { name = "caps", NS = NS }

---@class lxmpp.caps
local methods = {}
local mt = { __name = "lxmpp.ext.caps", __index = methods }

local function sorted(list, less)
	local copy = {}
	for i, v in ipairs(list) do copy[i] = v end
	table.sort(copy, less)
	return copy
end

local function identity_less(a, b)
	if a.category ~= b.category then return a.category < b.category end
	if a.type ~= b.type then return a.type < b.type end
	if (a.lang or "") ~= (b.lang or "") then return (a.lang or "") < (b.lang or "") end
	return (a.name or "") < (b.name or "")
end

---The string XEP-0115 §5.1 hashes, from disco info (lxmpp.disco.info);
---nil and why when §5.4 makes the info unfit (two forms of one FORM_TYPE).
---@param info lxmpp.disco.info|table { identities =, features =, forms = }
---@return string|nil s
---@return string? why
function caps.string(info)
	local out = {}
	for _, i in ipairs(sorted(info.identities or {}, identity_less)) do
		out[#out + 1] = table.concat({ i.category, i.type, i.lang or "", i.name or "" }, "/") .. "<"
	end
	for _, f in ipairs(sorted(info.features or {})) do out[#out + 1] = f .. "<" end
	local typed, seen = {}, {}
	for _, form in ipairs(info.forms or {}) do
		local field = form:field("FORM_TYPE")
		-- a form whose FORM_TYPE is not hidden does not count (§5.4)
		if field and field.type == "hidden" then
			local form_type = forms.form_type(form)
			if not form_type then return nil, "a FORM_TYPE without one value" end
			if seen[form_type] then return nil, "two forms of FORM_TYPE " .. form_type end
			seen[form_type] = true
			typed[#typed + 1] = { form_type = form_type, form = form }
		end
	end
	table.sort(typed, function(a, b) return a.form_type < b.form_type end)
	for _, t in ipairs(typed) do
		out[#out + 1] = t.form_type .. "<"
		local fields = {}
		for _, field in ipairs(t.form.fields) do
			if field.var and field.var ~= "FORM_TYPE" then fields[#fields + 1] = field end
		end
		table.sort(fields, function(a, b) return a.var < b.var end)
		for _, field in ipairs(fields) do
			out[#out + 1] = field.var .. "<"
			for _, v in ipairs(sorted(forms.texts(field))) do out[#out + 1] = v .. "<" end
		end
	end
	return table.concat(out)
end

---The verification string (ver) of disco info: base64 of the hash of
---caps.string(info). nil and why when the hash is unknown or the info unfit.
---@param info lxmpp.disco.info|table
---@param hash? string an IANA hash name; "sha-1" by default
---@return string|nil ver
---@return string? why
function caps.verification(info, hash)
	local s, why = caps.string(info)
	if not s then return nil, why end
	local digest = core.digest(hash or HASH, s)
	if not digest then return nil, "unknown hash " .. tostring(hash) end
	return core.base64(digest)
end

---Our current ver (it changes when disco's identities, features or forms do).
---@return string
function methods:ver()
	local disco = self.disco
	if self.revision ~= disco.revision then
		if self.current then disco:node(self.node .. "#" .. self.current, nil) end
		self.current = assert(caps.verification(disco:own_info()))
		self.revision = disco.revision
		disco:node(self.node .. "#" .. self.current, function() return disco:own_info() end)
	end
	return self.current
end

---What a peer's last presence said of its caps: { node =, ver =, hash = }
---(hash nil: the legacy format, which cannot be checked), or nil.
---@param jid string
---@return { node: string, ver: string, hash: string? }?
function methods:peer(jid)
	return self.peers[jid_util.prep(jid) or jid]
end

---What a peer can do: its disco#info, through the cache by ver when its
---presence carried caps, else asked directly (and cached by disco).
---@param jid string
---@param timeout? number seconds
---@return lxmpp.disco.info|nil info
---@return string? message
---@return string? code
function methods:info(jid, timeout)
	local p = self:peer(jid)
	if not p then return self.disco:info(jid, nil, timeout) end
	local key = p.hash and (p.hash .. "\0" .. p.ver)
	if key and self.by_ver[key] then return self.by_ver[key] end
	local info, err, code = self.disco:info(jid, p.node .. "#" .. p.ver, timeout)
	if not info then return nil, err, code end
	if key and not info.duplicate and caps.verification(info, p.hash) == p.ver then
		if self.vers >= self.max_peers then self.by_ver, self.vers = {}, 0 end
		self.by_ver[key] = info
		self.vers = self.vers + 1
	end
	return info
end

---Whether a peer announces a feature (see caps:info).
---@param jid string
---@param var string
---@param timeout? number seconds
---@return boolean|nil has
---@return string? message
---@return string? code
function methods:has_feature(jid, var, timeout)
	local info, err, code = self:info(jid, timeout)
	if not info then return nil, err, code end
	return info.has[var] == true
end

local function decorate(self, stanza)
	if stanza.name ~= "presence" then return end
	if stanza.attr.to == nil then -- our broadcast presence: sent again when the ver changes
		self.broadcast = stanza.attr.type == nil and stanza or nil
	end
	if stanza.attr.type ~= nil then return end
	stanza:remove_children("c", NS) -- a presence sent again (after a reconnection) gets the ver of now
	stanza:add_direct_child(st.stanza("c", { xmlns = NS, hash = HASH, node = self.node, ver = self:ver() }))
end

local function record(self, stanza)
	if stanza.name ~= "presence" then return end
	local from = stanza.attr.from and jid_util.prep(stanza.attr.from)
	if not from then return end
	local c = stanza:get_child("c", NS)
	if stanza.attr.type ~= nil or not c or not c.attr.node or not c.attr.ver then
		if self.peers[from] then
			self.peers[from] = nil
			self.count = self.count - 1
		end
		return
	end
	if not self.peers[from] then
		if self.count >= self.max_peers then return end -- beyond: asked directly
		self.count = self.count + 1
	end
	self.peers[from] = { node = c.attr.node, ver = c.attr.ver, hash = c.attr.hash }
end

---c:use("caps" [, { node = "https://luarocks.org/modules/lxmpp/lxmpp", max_peers = 10000 }])
---@param c table the connection
---@param opts table
---@return lxmpp.caps
function caps.init(c, opts)
	if opts.node ~= nil and type(opts.node) ~= "string" then error("lxmpp.ext.caps: option 'node' is a string", 4) end
	if opts.max_peers ~= nil and compat.math_type(opts.max_peers) ~= "integer" then
		error("lxmpp.ext.caps: option 'max_peers' is an integer", 4)
	end
	local disco = c:use("disco")
	local self = setmetatable({ c = c, disco = disco, node = opts.node or "https://luarocks.org/modules/lxmpp/lxmpp",
		max_peers = opts.max_peers or 10000, peers = {}, count = 0, by_ver = {}, vers = 0 }, mt)
	disco:add_feature(NS)
	c:filter("outgoing", function(stanza) decorate(self, stanza) end)
	-- XEP-0115 §4: new features, a new presence with the new ver
	disco:watch(function()
		if self.broadcast and c:state() == "ready" then c:send(self.broadcast) end
	end)
	c:filter("incoming", function(stanza) record(self, stanza) end)
	return self
end

return caps

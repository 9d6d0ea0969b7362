-- lxmpp.jid: JIDs per RFC 7622 (PRECIS for the localpart and resourcepart,
-- IDNA2008 for the domainpart), with the functions, arguments and results of
-- Prosody's util.jid. split, bare, join, compare, node, host and resource
-- work on the string as it is; prep and prepped_split prepare it.
--   jid.prep(s)               -> "local@domain/resource" | nil, reason
--   jid.prepped_split(s)      -> local, domain, resource | nil, nil, nil, reason
--   jid.precis(profile, s)    -> prepared | nil, reason, "invalid-argument"
--   jid.to_ascii(domain)      -> A-label | nil, reason
-- See docs/jid.md.
local core = require "lxmpp.core"

---@class lxmpp.jid
---@field precis fun(profile: "UsernameCaseMapped"|"UsernameCasePreserved"|"OpaqueString"|"Nickname", s: string): string|nil, string?, string? the string prepared by a PRECIS profile (RFC 8264), or nil, reason, "jid-malformed"
---@field to_ascii fun(domain: string): string|nil, string?, string? the domain's A-label form (IDNA2008), or nil, reason, "jid-malformed"

local find, sub, select = string.find, string.sub, select

-- [node@]host[/resource]: the resource runs from the first '/', the node up
-- to an '@' before it. Empty parts, or an '@' in the host, make it invalid.
---@param jid string|nil
---@return string|nil node
---@return string|nil host nil when the JID is invalid
---@return string|nil resource
local function split(jid)
	if jid == nil then return end
	local len = #jid
	local slash = find(jid, "/", 1, true)
	local host_end = slash and slash - 1 or len
	local at = find(jid, "@", 1, true)
	local node, host_start = nil, 1
	if at and at <= host_end then
		if at == 1 then return nil, nil, nil end
		node, host_start = sub(jid, 1, at - 1), at + 1
		local at2 = find(jid, "@", host_start, true)
		if at2 and at2 <= host_end then return nil, nil, nil end
	end
	if host_end < host_start or slash == len then return nil, nil, nil end
	return node, sub(jid, host_start, host_end), slash and sub(jid, slash + 1) or nil
end

---@param jid string|nil
---@return string|nil bare node@host or host; nil when invalid
local function bare(jid)
	local node, host = split(jid)
	if node ~= nil and host ~= nil then
		return node .. "@" .. host
	end
	return host
end

---@param node string|nil
---@param host string|nil
---@param resource string|nil
---@return string|nil jid nil without a host
local function join(node, host, resource)
	if host == nil then return end
	if node ~= nil and resource ~= nil then
		return node .. "@" .. host .. "/" .. resource
	elseif node ~= nil then
		return node .. "@" .. host
	elseif resource ~= nil then
		return host .. "/" .. resource
	end
	return host
end

-- `strict` is accepted for compatibility: PRECIS always refuses unassigned
-- code points.
---@param jid string|nil
---@param strict? boolean ignored (PRECIS always is)
---@return string|nil node
---@return string|nil host
---@return string|nil resource
---@return string? reason why it is invalid (then node, host and resource are nil)
local function prepped_split(jid, strict) -- luacheck: no unused args
	if jid == nil then return end
	return core.jid_prepped_split(jid)
end

---@param jid string|nil
---@param strict? boolean ignored (PRECIS always is)
---@return string|nil jid the prepared JID
---@return string? reason why it is invalid
local function prep(jid, strict) -- luacheck: no unused args
	if jid == nil then return end
	return core.jid_prep(jid)
end

-- Whether jid matches the rule acl: each part acl has must be equal. Both
-- are split as they are; prepare them first to compare addresses.
---@param jid string
---@param acl string
---@return boolean matches
local function compare(jid, acl)
	local jid_node, jid_host, jid_resource = split(jid)
	local acl_node, acl_host, acl_resource = split(acl)
	return (acl_node == nil or acl_node == jid_node)
		and (acl_host == nil or acl_host == jid_host)
		and (acl_resource == nil or acl_resource == jid_resource)
end

---@param jid string|nil
---@return string|nil node
local function node(jid) return (select(1, split(jid))) end
---@param jid string|nil
---@return string|nil host
local function host(jid) return (select(2, split(jid))) end
---@param jid string|nil
---@return string|nil resource
local function resource(jid) return (select(3, split(jid))) end

---@param s string|nil
---@return string|nil escaped XEP-0106 escaping of a localpart
local function escape(s) return s and core.jid_escape(s) end
---@param s string|nil
---@return string|nil unescaped
local function unescape(s) return s and core.jid_unescape(s) end

return {
	split = split,
	bare = bare,
	prepped_split = prepped_split,
	join = join,
	prep = prep,
	compare = compare,
	node = node,
	host = host,
	resource = resource,
	escape = escape,
	unescape = unescape,
	precis = core.jid_precis,
	to_ascii = core.jid_to_ascii,
}

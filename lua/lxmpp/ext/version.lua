-- lxmpp.ext.version: XEP-0092 software version. Answers jabber:iq:version
-- with the software's name and version (the operating system only when
-- given: it tells an attacker what to aim at) and asks others theirs.
--   local version = c:use("version", { name =, version =, os = })
--   version:query(jid [, timeout]) -> { name =, version =, os = } | nil, message, code
local core = require "lxmpp.core"
local st = require "lxmpp.stanza"

local NS = "jabber:iq:version"

local version = { name = "version", NS = NS }

---@class lxmpp.version
local methods = {}
local mt = { __name = "lxmpp.ext.version", __index = methods }

---What an entity says it runs.
---@param jid string
---@param timeout? number seconds
---@return { name: string?, version: string?, os: string? }|nil answer
---@return string? message
---@return string? code
---@return table? error the error stanza, when the entity answered one
function methods:query(jid, timeout)
	local c = self.c
	local reply, err, code, error_stanza = c:iq(st.iq({ type = "get", to = jid, id = c:new_id() }):query(NS), timeout)
	if not reply then return nil, err, code, error_stanza end
	local q = reply:get_child("query", NS)
	if not q then return nil, "the answer holds no " .. NS .. " query", "bad-reply" end
	return { name = q:get_child_text("name"), version = q:get_child_text("version"), os = q:get_child_text("os") }
end

---c:use("version", { name = "lxmpp", version = <lxmpp's>, os = nil })
---@param c table the connection
---@param opts table
---@return lxmpp.version
function version.init(c, opts)
	for _, k in ipairs({ "name", "version", "os" }) do
		if opts[k] ~= nil and type(opts[k]) ~= "string" then
			error("lxmpp.ext.version: option '" .. k .. "' is a string", 4)
		end
	end
	local self = setmetatable({ c = c, software = opts.name or "lxmpp", version = opts.version or core.version,
		os = opts.os }, mt)
	c:use("disco"):add_feature(NS)
	c:on("iq", function(stanza)
		local q = stanza.tags[1]
		if stanza.attr.type ~= "get" or not q or q.name ~= "query" or q.attr.xmlns ~= NS then return nil end
		local reply = st.reply(stanza):query(NS):text_tag("name", self.software):text_tag("version", self.version)
		if self.os then reply:text_tag("os", self.os) end
		return reply
	end)
	return self
end

return version

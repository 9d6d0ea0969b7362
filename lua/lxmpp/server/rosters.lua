-- lxmpp.server.rosters: the accounts' rosters (RFC 6121 §2) and
-- subscription states (§3), kept in the domain's "roster" store, shared by
-- the roster and presence plugins.
--   roster = { items = { [bare jid] = { name =, groups = { ... },
--     subscription = "none" | "to" | "from" | "both", ask = "subscribe" | nil,
--     pending_in = true | nil } }, ver = integer }
-- Items with only pending_in are not shown to the client (§3.1.3); once
-- shown, an item stays until removed (`shown`), whatever its subscription.
local st = require "lxmpp.stanza"

local NS = "jabber:iq:roster"

---@class lxmpp.server.rosterlib
local rosters = {}

---@class lxmpp.server.rosters
local methods = {}
local mt = { __index = methods }

---@param srv table the lxmpp.server
---@param host string
---@return lxmpp.server.rosters
function rosters.new(srv, host)
	return setmetatable({ srv = srv, host = host, store = srv:open_store(host, "roster") }, mt)
end

---@param user string
---@return table roster
function methods:load(user)
	local r = self.store:get(user)
	if not r then r = { items = {}, ver = 0 } end
	return r
end

---@param user string
---@param roster table { items = { [jid] = item }, ver = integer }
---@return boolean|nil ok
---@return string? message
function methods:save(user, roster)
	roster.ver = roster.ver + 1
	return self.store:set(user, roster)
end

-- Shown to the client: anything but a bare pending-in.
---@param item table a roster item
---@return boolean shown
local function visible(item)
	return item.subscription ~= "none" or item.ask or item.name or (item.groups and #item.groups > 0) or item.shown
end
rosters.visible = visible

--- The <item/> of a roster push or result.
---@param parent lxmpp.stanza the <query/> (cursor inside)
---@param jid string
---@param item table
---@return lxmpp.stanza parent
function rosters.item_element(parent, jid, item)
	parent:tag("item", { jid = jid, name = item.name, subscription = item.subscription or "none", ask = item.ask })
	for _, g in ipairs(item.groups or {}) do parent:text_tag("group", g) end
	return parent:up()
end

--- Pushes an item (nil: removed) to the account's resources that asked
--- for the roster (§2.1.6).
---@param user string
---@param roster table
---@param jid string
---@param item table|nil nil: removed
function methods:push(user, roster, jid, item)
	local bare = user .. "@" .. self.host
	for _, s in pairs(self.srv:sessions_of(bare) or {}) do
		if s.roster_requested then
			local push = st.iq { type = "set", id = "push" .. self.srv:random_id(), to = s.full_jid }
				:tag("query", { xmlns = NS, ver = tostring(roster.ver) })
			if item then
				rosters.item_element(push, jid, item)
			else
				push:tag("item", { jid = jid, subscription = "remove" }):up()
			end
			s.send(push)
		end
	end
end

--- Changes one item with fn(item) and stores it; pushes it when it is (or
--- was) visible. fn returns false to leave everything as it was.
---@param user string
---@param jid string
---@param fn fun(item: table): boolean|nil false leaves everything as it was
---@return table|nil item the item after the change
function methods:update(user, jid, fn)
	local roster = self:load(user)
	local item = roster.items[jid] or { subscription = "none" }
	local was = visible(item)
	if fn(item) == false then return roster.items[jid] end
	if item.remove then
		roster.items[jid] = nil
	else
		item.shown = visible(item) and true or nil -- once on the roster, it stays (RFC 6121 §3)
		roster.items[jid] = item
	end
	self:save(user, roster)
	if item.remove then
		if was then self:push(user, roster, jid, nil) end
	elseif visible(item) or was then
		self:push(user, roster, jid, item)
	end
	return roster.items[jid]
end

rosters.NS = NS
return rosters

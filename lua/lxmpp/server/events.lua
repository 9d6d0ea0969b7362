-- lxmpp.server.events: named events with prioritized handlers, in the shape
-- of Prosody's util.events. A handler gets the event table; the first
-- handler returning a non-nil value ends the dispatch and that value is
-- fire()'s result. Higher priorities run first; equal priorities in the
-- order they were added.
--   local ev = events.new(); ev:hook(name, fn [, priority]); ev:unhook(name, fn)
--   ev:fire(name, event) -> the first non-nil result
local events = {}

---@class lxmpp.server.events
local methods = {}
local mt = { __index = methods }

---@return lxmpp.server.events
function events.new()
	return setmetatable({ handlers = {}, seq = 0 }, mt)
end

-- Sorted once per change, not per fire.
local function sort(list)
	table.sort(list, function(a, b)
		if a.priority ~= b.priority then return a.priority > b.priority end
		return a.seq < b.seq
	end)
end

---@param name string
---@param fn function
---@param priority? number (0)
function methods:hook(name, fn, priority)
	if type(name) ~= "string" then error("lxmpp.server: an event name is a string", 2) end
	if type(fn) ~= "function" then error("lxmpp.server: a handler is a function", 2) end
	local list = self.handlers[name]
	if not list then
		list = {}
		self.handlers[name] = list
	end
	self.seq = self.seq + 1
	list[#list + 1] = { fn = fn, priority = priority or 0, seq = self.seq }
	sort(list)
end

---@param name string
---@param fn function
function methods:unhook(name, fn)
	local list = self.handlers[name]
	if not list then return end
	for i = #list, 1, -1 do
		if list[i].fn == fn then table.remove(list, i) end
	end
	if #list == 0 then self.handlers[name] = nil end
end

---@param name string
---@return boolean
function methods:has(name)
	return self.handlers[name] ~= nil
end

---@param name string
---@param event table
---@return any
function methods:fire(name, event)
	local list = self.handlers[name]
	if not list then return nil end
	-- a copy: a handler may hook or unhook while we iterate
	local n = #list
	if n == 1 then return list[1].fn(event) end
	local copy = {}
	for i = 1, n do copy[i] = list[i] end
	for i = 1, n do
		local r = copy[i].fn(event)
		if r ~= nil then return r end
	end
	return nil
end

return events

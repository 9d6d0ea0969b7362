-- lxmpp.server.module: the `module` object a plugin gets, in the shape of
-- Prosody's module API, once for each domain the server serves:
--   module.host, module.name, module:get_option(name [, default])
--   module:hook(event, fn [, priority]), module:unhook(event, fn)
--   module:send(stanza)            route a stanza from the server
--   module:add_feature(ns)         a disco#info feature of the domain
--   module:add_identity(category, type [, name])
--   module:add_stream_feature(xml) offered after authentication
--   module:open_store([name])      a key-value store: get(user), set(user, data)
--   module:add_timer(delay, fn)    fn(now) runs after delay seconds (its own
--                                  coroutine); a number returned runs it again
--   module:log(level, message, ...)
---@class lxmpp.server.modulelib
local modulelib = {}

---@class lxmpp.server.module
---@field host string the domain this instance serves
---@field name string
local methods = {}
local mt = { __index = methods }

---@param srv table the lxmpp.server
---@param host string the domain it serves
---@param name string the plugin's name
---@return lxmpp.server.module
function modulelib.new(srv, host, name)
	return setmetatable({ srv = srv, host = host, name = name }, mt)
end

--- A config value: the server's config, or the plugin's own table in it
--- (config[name] = { ... }).
---@param option string
---@param default any
---@return any
function methods:get_option(option, default)
	local own = self.srv.config[self.name]
	local v
	if type(own) == "table" then v = own[option] end
	if v == nil then v = self.srv.config[option] end
	if v == nil then return default end
	return v
end

---@param event string
---@param fn fun(event: table): any
---@param priority? number
function methods:hook(event, fn, priority)
	self.srv.hosts[self.host].events:hook(event, fn, priority)
end

---@param event string
---@param fn function
function methods:unhook(event, fn)
	self.srv.hosts[self.host].events:unhook(event, fn)
end

---@param event string
---@param data table
---@return any
function methods:fire_event(event, data)
	return self.srv:fire(self.host, event, data)
end

---@param stanza table
---@return boolean|nil routed
function methods:send(stanza)
	return self.srv:route(stanza, self.srv.hosts[self.host].session)
end

---@param ns string
function methods:add_feature(ns)
	local features = self.srv.hosts[self.host].features
	if not features[ns] then
		features[ns] = true
		features[#features + 1] = ns
	end
end

--- A stream feature offered after authentication, as XML.
---@param xml string
function methods:add_stream_feature(xml)
	local list = self.srv.stream_features
	for _, x in ipairs(list) do
		if x == xml then return end
	end
	list[#list + 1] = xml
end

---@param category string
---@param type_ string
---@param name? string
function methods:add_identity(category, type_, name)
	local ids = self.srv.hosts[self.host].identities
	ids[#ids + 1] = { category = category, type = type_, name = name }
end

---@param name? string (the module's name)
---@return lxmpp.server.store
function methods:open_store(name)
	return self.srv:open_store(self.host, name or self.name)
end

---@param delay number seconds
---@param fn fun(now: number): number|nil
---@return any timer
function methods:add_timer(delay, fn)
	return self.srv:add_timer(delay, fn)
end

---@param level string
---@param message string
---@param ... any format arguments
function methods:log(level, message, ...)
	self.srv:log(level, "%s/%s: " .. message, self.host, self.name, ...)
end

return modulelib

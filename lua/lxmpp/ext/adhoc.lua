-- lxmpp.ext.adhoc: XEP-0050 ad-hoc commands. The provider offers commands
-- (listed through disco to those allowed to run them), runs them in
-- sessions of one or more steps with data forms, notes, cancel and access
-- control by JID; the executor lists and runs others' commands. See
-- docs/extensions.md, "Ad-hoc commands".
--   local adhoc = c:use("adhoc" [, { max_sessions =, session_timeout = }])
--   adhoc:add_command{ node =, name =, allow =, handler = function(request) return response end }
--   adhoc:list(jid [, timeout]) -> { { jid, node, name } } | nil, message, code
--   adhoc:execute(jid, node [, { action =, sessionid =, form =, timeout = }])
--       -> { status, sessionid, node, form, notes, actions, default } | nil, message, code [, error]
local forms = require "lxmpp.ext.forms"
local jid_util = require "lxmpp.jid"
local st = require "lxmpp.stanza"

local NS = "http://jabber.org/protocol/commands"

local adhoc = { name = "adhoc", NS = NS }

local DEFAULTS = {
	max_sessions = 100, -- sessions open at once, all requesters together
	session_timeout = 600, -- seconds a session waits for its next step
}

local ACTIONS = { execute = true, cancel = true, prev = true, next = true, complete = true }
local NOTE_TYPES = { info = true, warn = true, error = true }

---@class lxmpp.adhoc.note
---@field type "info"|"warn"|"error"
---@field text string

---What a command's handler returns, and what execute() gives back.
---@class lxmpp.adhoc.response
---@field status "executing"|"completed"|"canceled"
---@field form? lxmpp.form
---@field notes? lxmpp.adhoc.note[]
---@field actions? string[] while executing: of "prev", "next", "complete" (default { "complete" })
---@field default? string the action that "execute" means (default: the last of actions)
---@field sessionid? string (execute's result)
---@field node? string (execute's result)

---What a handler is given.
---@class lxmpp.adhoc.request
---@field from string the requester's full JID
---@field action string "execute" (the first step), "next", "prev" or "complete"
---@field form? lxmpp.form what the requester submitted
---@field session table kept from step to step (empty at the first)
---@field stanza table the request

---@class lxmpp.adhoc
local methods = {}
local mt = { __name = "lxmpp.ext.adhoc", __index = methods }

local function misuse(message)
	error("lxmpp.ext.adhoc: " .. message, 3)
end

-- Does `allow` (a list of JIDs, bare ones matching every resource, or a
-- function of the full JID) let `from` run a command?
local function allowed(allow, from)
	from = from and jid_util.prep(from)
	if not from then return false end
	if type(allow) == "function" then return allow(from) == true end
	local bare = jid_util.bare(from)
	for _, j in ipairs(allow) do
		if j == from or j == bare then return true end
	end
	return false
end

---@class lxmpp.adhoc.command
---@field node string
---@field name string
---@field allow? string[]|fun(jid: string): boolean
---@field handler fun(request: lxmpp.adhoc.request): lxmpp.adhoc.response

---Offers a command. `allow` is who may run it: a list of JIDs (a bare JID
---lets every resource in) or a function(full_jid) -> boolean; by default
---only our own account. `handler(request)` returns an lxmpp.adhoc.response
---(it may wait: it runs in its own coroutine).
---@param command lxmpp.adhoc.command
function methods:add_command(command)
	if type(command) ~= "table" or type(command.node) ~= "string" or type(command.name) ~= "string"
		or type(command.handler) ~= "function" then
		misuse("add_command takes { node =, name =, handler = [, allow = ] }")
	end
	local allow = command.allow
	if allow == nil then
		allow = { jid_util.bare(self.c.jid) }
	elseif type(allow) == "table" then
		local list = {}
		for i, j in ipairs(allow) do
			list[i] = type(j) == "string" and jid_util.prep(j) or misuse("allow: not a JID: " .. tostring(j))
		end
		allow = list
	elseif type(allow) ~= "function" then
		misuse("allow is a list of JIDs or a function")
	end
	if self.commands[command.node] then misuse("a command with node '" .. command.node .. "' exists already") end
	local cmd = { node = command.node, name = command.name, allow = allow, handler = command.handler }
	self.commands[command.node] = cmd
	self.order[#self.order + 1] = cmd
	self.disco:node(cmd.node, function(stanza)
		if not allowed(cmd.allow, stanza.attr.from) then return nil end
		return { identities = { { category = "automation", type = "command-node", name = cmd.name } },
			features = { NS, forms.NS } }
	end)
end

local function command_error(stanza, kind, condition, specific)
	local e = st.error_reply(stanza, kind, condition)
	if specific then e:tag(specific, { xmlns = NS }):up() end
	return e
end

-- Drops sessions whose time has passed (at most max_sessions to look at),
-- remembering the last max_sessions of them for session-expired.
local function expire(self)
	local now = self.c.clock.now()
	for key, s in pairs(self.sessions) do
		if now >= s.expires then
			self.sessions[key] = nil
			self.open = self.open - 1
			if self.expired_count >= self.opts.max_sessions then self.expired, self.expired_count = {}, 0 end
			self.expired[key] = true
			self.expired_count = self.expired_count + 1
		end
	end
end

local function respond(self, stanza, cmd, id, response)
	if type(response) ~= "table" or (response.status ~= "executing" and response.status ~= "completed"
		and response.status ~= "canceled") then
		error("lxmpp.ext.adhoc: the handler of '" .. cmd.node .. "' returned no response { status = }", 0)
	end
	local reply = st.reply(stanza):tag("command", { xmlns = NS, node = cmd.node, sessionid = id,
		status = response.status })
	local key = stanza.attr.from .. "\0" .. id
	if response.status == "executing" then
		local actions = response.actions or { "complete" }
		local offered = {}
		for _, a in ipairs(actions) do
			if a ~= "prev" and a ~= "next" and a ~= "complete" then
				error("lxmpp.ext.adhoc: an action is prev, next or complete, not " .. tostring(a), 0)
			end
			offered[a] = true
		end
		local default = response.default or actions[#actions]
		local session = self.sessions[key]
		if not session then -- canceled (or expired) while the handler worked
			return respond(self, stanza, cmd, id, { status = "canceled" })
		end
		session.offered, session.default = offered, default
		session.expires = self.c.clock.now() + self.opts.session_timeout
		reply:tag("actions", { execute = default })
		for _, a in ipairs(actions) do reply:tag(a):up() end
		reply:up()
	else
		if self.sessions[key] then
			self.sessions[key] = nil
			self.open = self.open - 1
		end
	end
	for _, note in ipairs(response.notes or {}) do
		reply:text_tag("note", note.text, { type = NOTE_TYPES[note.type] and note.type or "info" })
	end
	if response.form then reply:add_child(response.form:element()) end
	return reply
end

-- The answer to a command request, or nil when it is not one.
local function serve(self, stanza)
	local cmdel = stanza.tags[1]
	if stanza.attr.type ~= "set" or not cmdel or cmdel.name ~= "command" or cmdel.attr.xmlns ~= NS then
		return nil
	end
	local from = stanza.attr.from and jid_util.prep(stanza.attr.from)
	local cmd = self.commands[cmdel.attr.node or ""]
	if not cmd then return command_error(stanza, "cancel", "item-not-found") end
	if not from or not allowed(cmd.allow, from) then return command_error(stanza, "cancel", "forbidden") end
	local action = cmdel.attr.action or "execute"
	if not ACTIONS[action] then return command_error(stanza, "modify", "bad-request", "malformed-action") end
	local form
	if cmdel:get_child("x", forms.NS) then
		local why
		form, why = forms.parse(cmdel)
		if not form then return st.error_reply(stanza, "modify", "bad-request", "an invalid form: " .. why) end
	end
	expire(self)
	local id, session = cmdel.attr.sessionid
	if id == nil then
		if action ~= "execute" then return command_error(stanza, "modify", "bad-request", "bad-sessionid") end
		if self.open >= self.opts.max_sessions then
			return command_error(stanza, "wait", "resource-constraint")
		end
		id = self.c:new_id()
		session = { node = cmd.node, data = {} }
		self.sessions[stanza.attr.from .. "\0" .. id] = session
		self.open = self.open + 1
	else
		local key = stanza.attr.from .. "\0" .. id
		session = self.sessions[key]
		if not session and self.expired[key] then
			return command_error(stanza, "cancel", "not-allowed", "session-expired")
		end
		if not session or session.node ~= cmd.node then
			return command_error(stanza, "modify", "bad-request", "bad-sessionid")
		end
		if action == "cancel" then
			return respond(self, stanza, cmd, id, { status = "canceled" })
		end
		if action == "execute" then action = session.default end
		if not session.offered[action] then return command_error(stanza, "modify", "bad-request", "bad-action") end
	end
	session.expires = self.c.clock.now() + self.opts.session_timeout -- not expired while the handler works
	local response = cmd.handler({ from = stanza.attr.from, action = action, form = form, session = session.data,
		stanza = stanza })
	return respond(self, stanza, cmd, id, response)
end

---The commands an entity offers us (its disco#items at the commands node).
---@param jid string
---@param timeout? number seconds
---@return lxmpp.disco.item[]|nil items
---@return string? message
---@return string? code
function methods:list(jid, timeout)
	self.disco:forget(jid, NS) -- what we may run changes: never from the cache
	return self.disco:items(jid, NS, timeout)
end

---Runs one step of another entity's command: the first with no options
---(action "execute"), the next ones with the sessionid of the last answer
---and an action ("next", "prev", "complete", "cancel", or "execute": the
---default), and the submitted form.
---@param jid string
---@param node string
---@param opts? { action: string?, sessionid: string?, form: lxmpp.form?, timeout: number? }
---@return lxmpp.adhoc.response|nil response
---@return string? message
---@return string? code an error condition (its XEP-0050 specific one in the 4th result's), "timeout"...
---@return table? error the error stanza
function methods:execute(jid, node, opts)
	opts = opts or {}
	if type(jid) ~= "string" or type(node) ~= "string" then misuse("execute takes a JID and a node") end
	if opts.action ~= nil and not ACTIONS[opts.action] then misuse("not an action: " .. tostring(opts.action)) end
	local c = self.c
	local request = st.iq({ type = "set", to = jid, id = c:new_id() }):tag("command", { xmlns = NS, node = node,
		sessionid = opts.sessionid, action = opts.action or "execute" })
	if opts.form then request:add_child(opts.form:element()) end
	local reply, err, code, error_stanza = c:iq(request, opts.timeout)
	if not reply then return nil, err, code, error_stanza end
	local el = reply:get_child("command", NS)
	if not el then return nil, "the answer holds no command", "bad-reply" end
	local response = { status = el.attr.status, sessionid = el.attr.sessionid, node = el.attr.node, notes = {} }
	for note in el:childtags("note") do
		response.notes[#response.notes + 1] = { type = note.attr.type or "info", text = note:get_text() or "" }
	end
	local actions = el:get_child("actions")
	if actions then
		response.actions, response.default = {}, actions.attr.execute
		for a in actions:childtags() do response.actions[#response.actions + 1] = a.name end
	end
	if el:get_child("x", forms.NS) then
		local form, why = forms.parse(el)
		if not form then return nil, "an invalid form: " .. why, "bad-reply" end
		response.form = form
	end
	return response
end

---c:use("adhoc" [, { max_sessions = 100, session_timeout = 600 }])
---@param c table the connection
---@param opts table
---@return lxmpp.adhoc
function adhoc.init(c, opts)
	local o = require("lxmpp.ext").numbers(opts, DEFAULTS, "lxmpp.ext.adhoc")
	local disco = c:use("disco")
	c:use("forms")
	local self = setmetatable({ c = c, opts = o, disco = disco, commands = {}, order = {}, sessions = {}, open = 0,
		expired = {}, expired_count = 0 }, mt)
	disco:add_feature(NS)
	disco:node(NS, function(stanza)
		local items = {}
		for _, cmd in ipairs(self.order) do
			if allowed(cmd.allow, stanza.attr.from) then
				items[#items + 1] = { jid = stanza.attr.to or c.jid, node = cmd.node, name = cmd.name }
			end
		end
		return { identities = { { category = "automation", type = "command-list" } }, items = items }
	end)
	c:on("iq", function(stanza) return serve(self, stanza) end)
	return self
end

return adhoc

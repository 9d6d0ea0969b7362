-- lxmpp.ext.adhoc: XEP-0050 ad-hoc commands. The provider offers commands
-- (listed in disco under the commands node, to the JIDs allowed to run
-- them), runs them in sessions of several steps with data forms, notes and
-- cancel; the executor lists and runs others'. See docs/extensions.md.
--   local adhoc = c:use("adhoc", { session_timeout = 600, max_sessions = 100 })
--   adhoc:add{ node =, name =, allow = fn(jid) | { jids }, run = fn(session, submitted, action) -> response }
--   adhoc:list(jid) adhoc:execute(jid, node [, { session =, values =, action = }])
local jid_util = require "lxmpp.jid"
local st = require "lxmpp.stanza"
local forms = require "lxmpp.ext.forms"

local NS = "http://jabber.org/protocol/commands"

local adhoc = { name = "adhoc", NS = NS }

---@class lxmpp.adhoc
local methods = {}
local mt = { __name = "lxmpp.ext.adhoc", __index = methods }

---@class lxmpp.adhoc.response
---@field status? "executing"|"completed"|"canceled" "completed" when nil
---@field form? lxmpp.form a form to fill (executing) or a result
---@field notes? { type: string?, text: string }[] type "info", "warn" or "error"
---@field actions? string[] what the requester may do next: "prev", "next", "complete"
---@field default? string the action taken when the requester names none
---@field sessionid? string (the executor's side) the session to go on with

---@class lxmpp.adhoc.command
---@field node string
---@field name string
---@field allow? (fun(jid: string): boolean)|string[] who may see and run it; nil: our own account only
---@field run fun(session: table, submitted: lxmpp.form?, action: string): lxmpp.adhoc.response

local function misuse(message)
	error("lxmpp.ext.adhoc: " .. message, 3)
end

-- Whether `from` may run the command: the account's own resources always.
local function allowed(self, command, from)
	local bare = jid_util.bare(from or "")
	if bare == jid_util.bare(self.c.jid) then return true end
	local allow = command.allow
	if type(allow) == "function" then return allow(from) == true end
	if type(allow) == "table" then
		for _, j in ipairs(allow) do
			if j == bare or j == from then return true end
		end
	end
	return false
end

---Offers a command (replacing one at the same node).
---@param command lxmpp.adhoc.command
function methods:add(command)
	if type(command) ~= "table" or type(command.node) ~= "string" or type(command.run) ~= "function" then
		misuse("add takes { node =, name =, allow =, run = }")
	end
	self.commands[command.node] = command
	if not self.order[command.node] then
		self.order[#self.order + 1] = command.node
		self.order[command.node] = true
	end
	self.disco:node(command.node, function(request)
		if not allowed(self, command, request.attr.from) then return nil end
		return { identities = { { category = "automation", type = "command-node", name = command.name } },
			features = { NS, forms.NS } }
	end)
end

---Withdraws a command; its sessions end.
---@param node string
function methods:remove(node)
	self.commands[node] = nil
	self.disco:node(node, nil)
	for i, n in ipairs(self.order) do
		if n == node then table.remove(self.order, i) end
	end
	self.order[node] = nil
end

local function response_stanza(request, node, sessionid, r)
	local status = r.status or "completed"
	local reply = st.reply(request):tag("command", { xmlns = NS, node = node, sessionid = sessionid, status = status })
	if status == "executing" and r.actions then
		reply:tag("actions", { execute = r.default })
		for _, a in ipairs(r.actions) do reply:tag(a):up() end
		reply:up()
	end
	for _, note in ipairs(r.notes or {}) do reply:text_tag("note", note.text, { type = note.type or "info" }) end
	if r.form then reply:add_child(r.form:element()) end
	return reply
end

local function expire(self)
	local now = self.c.clock.now()
	for id, s in pairs(self.sessions) do
		if s.expires <= now then
			self.sessions[id] = nil
			self.count = self.count - 1
		end
	end
end

local function bad_request(stanza, specific)
	return st.error_reply(stanza, "modify", "bad-request"):tag(specific, { xmlns = NS }):up()
end

-- Serves an <iq type='set'><command/></iq>.
local function serve(self, stanza, cmd)
	local node, from = cmd.attr.node, stanza.attr.from
	local command = self.commands[node or ""]
	if not command then return st.error_reply(stanza, "cancel", "item-not-found") end
	if not allowed(self, command, from) then return st.error_reply(stanza, "auth", "forbidden") end
	expire(self)
	local action = cmd.attr.action or "execute"
	local id = cmd.attr.sessionid
	local session
	if id then
		session = self.sessions[id]
		-- a session belongs to the full JID that started it (XEP-0050 §4.3)
		if not session or session.owner ~= from or session.node ~= node then
			return bad_request(stanza, "bad-sessionid")
		end
	else
		if self.count >= self.opts.max_sessions then
			return st.error_reply(stanza, "wait", "resource-constraint")
		end
		id = self.c:new_id()
		session = { id = id, owner = from, node = node, data = {} }
		self.sessions[id] = session
		self.count = self.count + 1
	end
	if action == "cancel" then
		self.sessions[id] = nil
		self.count = self.count - 1
		return response_stanza(stanza, node, id, { status = "canceled" })
	end
	if action == "execute" then action = session.default or (session.step and "next" or "execute") end
	if session.step and session.actions and action ~= "execute" then
		local ok = false
		for _, a in ipairs(session.actions) do ok = ok or a == action end
		if not ok then return bad_request(stanza, "bad-action") end
	end
	local submitted
	local x = cmd:get_child("x", forms.NS)
	if x then
		local why
		submitted, why = forms.parse(x)
		if not submitted then return bad_request(stanza, "bad-payload"):text_tag("text", why) end
	end
	session.step = (session.step or 0) + 1
	local r = command.run(session, submitted, action)
	if type(r) ~= "table" then r = { status = "completed" } end
	if r.status == "executing" then
		session.actions, session.default = r.actions, r.default
		session.expires = self.c.clock.now() + self.opts.session_timeout
	else
		self.sessions[id] = nil
		self.count = self.count - 1
	end
	return response_stanza(stanza, node, id, r)
end

---------------------------------------------------------------------------
-- the executor

---The commands an entity offers us: a list of { jid, node, name }.
---@param jid string
---@param timeout? number seconds
---@return lxmpp.disco.item[]|nil items
---@return string? message
---@return string? code
function methods:list(jid, timeout)
	return self.disco:items(jid, NS, timeout)
end

---Runs a command, or a further step of a session.
---@param jid string
---@param node string
---@param opts? { session: string?, action: string?, values: table?, form: lxmpp.form?, timeout: number? }
---`values` fill in `form` (the previous step's) over its defaults, checked, as a submission
---@return lxmpp.adhoc.response|nil response with `sessionid`, `status`, `form`, `notes`, `actions`
---@return string? message
---@return string? code
function methods:execute(jid, node, opts)
	opts = opts or {}
	local c = self.c
	local iq = st.iq({ type = "set", to = jid, id = c:new_id() })
		:tag("command", { xmlns = NS, node = node, sessionid = opts.session, action = opts.action })
	if opts.values then
		if not opts.form then misuse("execute's values fill in a form: give the step's form too") end
		local merged = opts.form:values() -- the form's defaults, unless given
		for var, v in pairs(opts.values) do merged[var] = v end
		local submit, why = opts.form:submit(merged)
		if not submit then return nil, why, "bad-request" end
		iq:add_child(submit:element())
	end
	local reply, err, code = c:iq(iq, opts.timeout)
	if not reply then return nil, err, code end
	local cmd = reply:get_child("command", NS)
	if not cmd then return nil, "the answer holds no command", "bad-reply" end
	local r = { sessionid = cmd.attr.sessionid, status = cmd.attr.status, notes = {}, actions = {} }
	for note in cmd:childtags("note") do r.notes[#r.notes + 1] = { type = note.attr.type, text = note:get_text() } end
	local actions = cmd:get_child("actions")
	if actions then
		r.default = actions.attr.execute
		for a in actions:childtags() do r.actions[#r.actions + 1] = a.name end
	end
	local x = cmd:get_child("x", forms.NS)
	if x then
		local form, why = forms.parse(x)
		if not form then return nil, why, "bad-reply" end
		r.form = form
	end
	return r
end

---------------------------------------------------------------------------

---c:use("adhoc", { session_timeout = 600, max_sessions = 100 })
---@param c table the connection
---@param opts table
---@return lxmpp.adhoc
function adhoc.init(c, opts)
	local o = { session_timeout = 600, max_sessions = 100 }
	for k, v in pairs(opts) do
		if o[k] == nil then error("lxmpp.ext.adhoc: unknown option '" .. tostring(k) .. "'", 4) end
		o[k] = v
	end
	local disco = c:use("disco")
	local self = setmetatable({ c = c, opts = o, disco = disco, commands = {}, order = {}, sessions = {}, count = 0 },
		mt)
	c:use("forms")
	disco:add_feature(NS)
	disco:node(NS, function(request)
		local items = {}
		for _, node in ipairs(self.order) do
			local command = self.commands[node]
			if allowed(self, command, request.attr.from) then
				items[#items + 1] = { jid = c.jid, node = node, name = command.name }
			end
		end
		return { identities = { { category = "automation", type = "command-list" } }, items = items }
	end)
	c:on("iq", function(stanza)
		local cmd = stanza.tags[1]
		if stanza.attr.type ~= "set" or not cmd or cmd.name ~= "command" or cmd.attr.xmlns ~= NS then return nil end
		return serve(self, stanza, cmd)
	end)
	return self
end

return adhoc

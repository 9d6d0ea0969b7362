-- lxmpp.stanza: XMPP stanzas as Lua tables, compatible with Prosody's
-- util.stanza (0.12, plus 13.0's add_error and get_child_attr). Names and
-- character data are checked in C against the XML Name and Char rules, and
-- tostring() (C) escapes what a parser would otherwise normalise. See
-- docs/stanza.md.
local core = require "lxmpp.core"

local error, type, next = error, type, next
local setmetatable, getmetatable, tostring = setmetatable, getmetatable, tostring
local s_find, s_sub, s_match, s_gsub, s_rep = string.find, string.sub, string.match, string.gsub, string.rep
local t_concat = table.concat

local valid_name, valid_text = core.valid_name, core.valid_text
local serialize, xml_parse = core.stanza_tostring, core.xml_parse

---An element: a table with name, attr, its children in the array part
---(strings and elements) and its child elements in tags, as Prosody's.
---@class lxmpp.stanza
---@field name string
---@field attr table<string, string> attributes; attr.xmlns where the namespace changes
---@field tags lxmpp.stanza[]
---@field [integer] string|lxmpp.stanza
---@field get_child fun(self: lxmpp.stanza, name?: string, xmlns?: string): lxmpp.stanza|nil the first child element matching
---@field get_text fun(self: lxmpp.stanza): string|nil the text children concatenated (nil without any)
local stanza_mt = core.stanza_mt -- shared with the C parsers (by the registry key below)
local MT_KEY = "lxmpp.stanza" -- csrc/lua/lxl.h LXL_STANZA_MT
local xmlns_stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"

-- ---- validation ---------------------------------------------------------
-- Internal functions take `level`: the error() level, seen from that
-- function, of the user's call, so that messages point at the user's code.
-- A public function calls one without a tail call, and passes 3: Lua 5.1
-- keeps a frame for a tail call and 5.2 and later do not, so that the
-- same level would point elsewhere.

-- Names already found valid as element (hence also attribute) names, so
-- that the usual few cost a table lookup rather than a call into C.
-- Emptied when full, to bound the memory.
local known_names, n_known = {}, 0

local function remember(name)
	if n_known == 512 then known_names, n_known = {}, 0 end
	n_known = n_known + 1
	known_names[name] = true
end

local function check_attr(attr, level)
	if type(attr) ~= "table" then
		error("invalid attributes: expected table, got " .. type(attr), level)
	end
	for k, v in next, attr do
		if not known_names[k] then
			local ok, why = valid_name(k, true)
			if not ok then error("invalid attribute name: " .. why, level) end
			if not s_find(k, "\1", 1, true) then remember(k) end
		end
		local ok, why = valid_text(v)
		if not ok then error("invalid attribute value: " .. why, level) end
	end
end

local function new_element(name, attr, namespaces, level)
	if not known_names[name] then
		local ok, why = valid_name(name)
		if not ok then error("invalid tag name: " .. why, level) end
		remember(name)
	end
	if attr == nil then
		attr = {}
	else
		check_attr(attr, level + 1)
	end
	return setmetatable({ name = name, attr = attr, namespaces = namespaces, tags = {} }, stanza_mt)
end

---@param s any
---@return boolean stanza whether s is an lxmpp stanza
local function is_stanza(s)
	return getmetatable(s) == stanza_mt
end

-- Appends a child (an element or a text string) to `parent` itself.
local function append(parent, child, level)
	if getmetatable(child) == stanza_mt then
		local tags = parent.tags
		tags[#tags + 1] = child
	else
		local ok, why = valid_text(child)
		if not ok then error("invalid text value: " .. why, level) end
	end
	parent[#parent + 1] = child
end

-- The element the builder cursor points at.
local function cursor(self)
	local last_add = self.last_add
	return last_add and last_add[#last_add] or self
end

-- ---- building -----------------------------------------------------------

-- Adds an element at the cursor and moves the cursor into it.
local function add_tag(self, name, attr, namespaces, level)
	local s = new_element(name, attr, namespaces, level + 1)
	local last_add = self.last_add
	local parent
	if last_add then
		local n = #last_add
		parent = last_add[n] or self
		last_add[n + 1] = s
	else
		self.last_add = { s }
		parent = self
	end
	local tags = parent.tags
	tags[#tags + 1] = s
	parent[#parent + 1] = s
	return self
end

---@param name string
---@param attr? table<string, string>
---@param namespaces? table<string, string> prefixes to declare
---@return lxmpp.stanza self with the cursor in the new element
function stanza_mt:tag(name, attr, namespaces)
	return (add_tag(self, name, attr, namespaces, 3))
end

---@param text? string nil or "" adds nothing
---@return lxmpp.stanza self
function stanza_mt:text(text)
	if text ~= nil and text ~= "" then
		local last_add = self.last_add
		local parent = last_add and last_add[#last_add] or self
		if type(text) == "string" then
			local ok, why = valid_text(text)
			if not ok then error("invalid text value: " .. why, 2) end
			parent[#parent + 1] = text
		else -- an element given as text is added as an element
			append(parent, text, 3)
		end
	end
	return self
end

---@return lxmpp.stanza self with the cursor one level up
function stanza_mt:up()
	local last_add = self.last_add
	if last_add then last_add[#last_add] = nil end
	return self
end

---@return lxmpp.stanza self with the cursor at the top
function stanza_mt:reset()
	self.last_add = nil
	return self
end

---@return boolean top whether the cursor is at the top element
function stanza_mt:at_top()
	local last_add = self.last_add
	return last_add == nil or #last_add == 0
end

-- Adds <name>text</name> at the cursor; the cursor stays.
local function add_text_tag(self, name, text, attr, namespaces, level)
	local s = new_element(name, attr, namespaces, level + 1)
	if text ~= nil and text ~= "" then
		local ok, why = valid_text(text)
		if not ok then
			if getmetatable(text) ~= stanza_mt then error("invalid text value: " .. why, level) end
			s.tags[1] = text
		end
		s[1] = text
	end
	local parent = cursor(self)
	local tags = parent.tags
	tags[#tags + 1] = s
	parent[#parent + 1] = s
	return self
end

---@param name string
---@param text? string
---@param attr? table<string, string>
---@param namespaces? table<string, string>
---@return lxmpp.stanza self the cursor stays
function stanza_mt:text_tag(name, text, attr, namespaces)
	return (add_text_tag(self, name, text, attr, namespaces, 3))
end

---@param text? string
---@param attr? table<string, string>
---@return lxmpp.stanza self
function stanza_mt:body(text, attr)
	return (add_text_tag(self, "body", text, attr, nil, 3))
end

---@param xmlns string
---@return lxmpp.stanza self with the cursor in <query/>
function stanza_mt:query(xmlns)
	return (add_tag(self, "query", { xmlns = xmlns }, nil, 3))
end

---@param child string|lxmpp.stanza appended to this element, not at the cursor
function stanza_mt:add_direct_child(child)
	append(self, child, 3)
end

---@param child string|lxmpp.stanza appended at the cursor
---@return lxmpp.stanza self
function stanza_mt:add_child(child)
	append(cursor(self), child, 3)
	return self
end

-- ---- querying -----------------------------------------------------------
-- A nil xmlns matches children in the parent's namespace, and children
-- without attr.xmlns (the parser sets it only where it changes).

local function get_child(self, name, xmlns)
	local tags = self.tags
	local parent_ns = self.attr.xmlns
	for i = 1, #tags do
		local child = tags[i]
		if not name or child.name == name then
			local ns = child.attr.xmlns
			if ns == xmlns or (not xmlns and ns == parent_ns) then return child end
		end
	end
	return nil
end
stanza_mt.get_child = get_child

local function get_text(self)
	if #self.tags == 0 then return t_concat(self) end
	return nil
end
stanza_mt.get_text = get_text

---@param name? string
---@param xmlns? string
---@return string|nil text
function stanza_mt:get_child_text(name, xmlns)
	local child = get_child(self, name, xmlns)
	if child then return get_text(child) end
	return nil
end

---@param name? string
---@param xmlns? string
---@param attr string
---@return string|nil value
function stanza_mt:get_child_attr(name, xmlns, attr)
	local child = get_child(self, name, xmlns)
	if child then return child.attr[attr] end
	return nil
end

---@param name string
---@return lxmpp.stanza|nil child
function stanza_mt:child_with_name(name)
	local tags = self.tags
	for i = 1, #tags do
		local child = tags[i]
		if child.name == name then return child end
	end
	return nil
end

---@param ns string
---@return lxmpp.stanza|nil child
function stanza_mt:child_with_ns(ns)
	local tags = self.tags
	for i = 1, #tags do
		local child = tags[i]
		if child.attr.xmlns == ns then return child end
	end
	return nil
end

---@return fun(s: lxmpp.stanza): string|lxmpp.stanza|nil iterator
---@return lxmpp.stanza s
---@return integer i
function stanza_mt:children()
	local i = 0
	return function(s)
		i = i + 1
		return s[i]
	end, self, i
end

---@param name? string any when nil
---@param xmlns? string the parent's when nil
---@return fun(): lxmpp.stanza|nil iterator
function stanza_mt:childtags(name, xmlns)
	local tags = self.tags
	local i, n = 0, #tags
	local parent_ns = self.attr.xmlns
	return function()
		while i < n do
			i = i + 1
			local child = tags[i]
			if not name or child.name == name then
				local ns = child.attr.xmlns
				if ns == xmlns or (not xmlns and ns == parent_ns) then return child end
			end
		end
	end
end

-- The first child tag matching name and xmlns (as get_child) whose
-- attribute equals attr_value, after normalize(value) if given.
---@param name? string
---@param xmlns? string
---@param attr_name string
---@param attr_value string
---@param normalize? fun(value: string): string
---@return lxmpp.stanza|nil child
function stanza_mt:get_child_with_attr(name, xmlns, attr_name, attr_value, normalize)
	local tags = self.tags
	local parent_ns = self.attr.xmlns
	for i = 1, #tags do
		local child = tags[i]
		if not name or child.name == name then
			local attr = child.attr
			local ns = attr.xmlns
			if ns == xmlns or (not xmlns and ns == parent_ns) then
				local value = attr[attr_name]
				if (normalize and normalize(value) or value) == attr_value then return child end
			end
		end
	end
	return nil
end

-- XPath-like paths: "{ns}name/child", "…/child#" (its text), "…@attr",
-- "…@{ns}attr" and "…@prefix:attr" (prefix from self.namespaces). A path
-- is parsed once into { name1, ns1, name2, ns2, … } (false for nil), with
-- .text (the last step wants text) or .attr (an attribute key), and kept
-- in a small cache since paths are mostly literals.
local paths, n_paths = {}, 0

local function parse_path(path)
	local steps, n = {}, 0
	local pos, stop = 1, #path + 1
	while true do
		local c = s_sub(path, pos, pos)
		if c == "@" then
			local attr = s_sub(path, pos + 1)
			if s_sub(attr, 1, 1) == "{" then
				steps.attr = s_gsub(s_sub(attr, 2), "}", "\1", 1)
			else
				steps.attr = attr
				steps.prefix, steps.local_name = s_match(attr, "^([^:]+):(.*)")
			end
			break
		end
		local xmlns = false
		if c == "{" then
			local close = s_find(path, "}", pos + 1, true)
			if not close or close == pos + 1 then return nil, "invalid path: expected {namespace} in " .. path end
			xmlns, pos = s_sub(path, pos + 1, close - 1), close + 1
		end
		local name, mark
		name, mark, pos = s_match(path, "^([^@/#]*)([/#]?)()", pos)
		steps[n + 1], steps[n + 2] = name ~= "" and name, xmlns
		n = n + 2
		if pos == stop then
			steps.text = mark == "#"
			break
		end
	end
	steps.n = n
	return steps
end

---@param path string "name{xmlns}/child@attr" or "...#" for the text
---@return any found an element, an attribute value, a text, or nil
function stanza_mt:find(path)
	local steps = paths[path]
	if not steps then
		local err
		steps, err = parse_path(path)
		if not steps then error(err, 2) end
		if n_paths == 256 then paths, n_paths = {}, 0 end
		paths[path], n_paths = steps, n_paths + 1
	end
	local attr = steps.attr
	local last = attr and steps.n or steps.n - 2 -- the steps walked through
	for i = 1, last, 2 do
		self = get_child(self, steps[i] or nil, steps[i + 1] or nil)
		if not self then return end -- nothing at all, as Prosody
	end
	if attr then
		local prefix, namespaces = steps.prefix, self.namespaces
		if prefix and namespaces and namespaces[prefix] then
			return self.attr[namespaces[prefix] .. "\1" .. steps.local_name]
		end
		return self.attr[attr]
	end
	local name, xmlns = steps[last + 1] or nil, steps[last + 2] or nil
	if steps.text then
		local child = get_child(self, name, xmlns)
		if child then return get_text(child) end
		return nil
	end
	return get_child(self, name, xmlns)
end

---@return string|nil type "cancel", "modify"...
---@return string|nil condition
---@return string|nil text
---@return lxmpp.stanza|nil extra the application-specific condition
function stanza_mt:get_error()
	local error_tag = get_child(self, "error")
	if not error_tag then return nil, nil, nil, nil end
	local condition, text, extra_tag
	local tags = error_tag.tags
	for i = 1, #tags do
		local child = tags[i]
		if child.attr.xmlns == xmlns_stanzas then
			if not text and child.name == "text" then
				text = get_text(child)
			elseif not condition then
				condition = child.name
			end
		else
			extra_tag = child
		end
		if condition and text and extra_tag then break end
	end
	return error_tag.attr.type, condition or "undefined-condition", text, extra_tag
end

-- ---- mutation -----------------------------------------------------------

-- maptags and remove_children run in two passes: the first works out each
-- child tag's replacement (nil: removed) while checking that the tags
-- appear, in order, among the children (a stanza whose two lists disagree
-- is rejected, as Prosody does); the second applies them in one sweep, and
-- only if something changed. So the cost is linear, and an error in a
-- callback leaves the stanza as it was.
local invalid_state = "Invalid stanza state! Please report this error."

-- The replacements so far when the k-th tag is the first one to change.
local function results_from(tags, k)
	local results = { nil, nil, nil, nil, nil, nil, nil, nil }
	for j = 1, k - 1 do results[j] = tags[j] end
	return results
end

local function apply(self, tags, n_tags, results)
	local n = #self
	local k, w, wt = 1, 0, 0
	for i = 1, n do
		local child = self[i]
		if child == tags[k] then
			child = results[k]
			k = k + 1
			if child ~= nil then
				wt = wt + 1
				tags[wt] = child
			end
		end
		if child ~= nil then
			w = w + 1
			self[w] = child
		end
	end
	for i = w + 1, n do self[i] = nil end
	for i = wt + 1, n_tags do tags[i] = nil end
end

-- Replaces each child tag by callback(tag); nil removes it.
---@param callback fun(tag: lxmpp.stanza): lxmpp.stanza|nil nil removes the tag
---@return lxmpp.stanza self
function stanza_mt:maptags(callback)
	local tags = self.tags
	local n_tags = #tags
	if n_tags == 0 then return self end
	local results, k = nil, 1
	for i = 1, #self do
		local child = self[i]
		if child == tags[k] then
			local new = callback(child)
			if results then
				results[k] = new
			elseif new ~= child then
				results = results_from(tags, k)
				results[k] = new
			end
			if k == n_tags then
				if results then apply(self, tags, n_tags, results) end
				return self
			end
			k = k + 1
		end
	end
	error(invalid_state, 2)
end

-- Removes the child tags named `name` (any if nil) in namespace `xmlns`
-- (default: the parent's).
---@param name? string
---@param xmlns? string
---@return lxmpp.stanza self
function stanza_mt:remove_children(name, xmlns)
	xmlns = xmlns or self.attr.xmlns
	return self:maptags(function(tag)
		if (not name or tag.name == name) and tag.attr.xmlns == xmlns then return nil end
		return tag
	end)
end

-- ---- copies and plain tables --------------------------------------------

-- A childless copy of an element: name, a copy of attr and of namespaces.
local function copy_top(s)
	local attr = {}
	for k, v in next, s.attr do attr[k] = v end
	local namespaces = s.namespaces
	if namespaces then
		local copy = {}
		for k, v in next, namespaces do copy[k] = v end
		namespaces = copy
	end
	return setmetatable({ name = s.name, attr = attr, namespaces = namespaces, tags = {} }, stanza_mt)
end

-- Deep copy without recursion: a stack of (original, copy) pairs whose
-- children are still to be copied.
local function deep_copy(root)
	local top = copy_top(root)
	local stack, n = { root, top }, 2
	while n > 0 do
		local src, dst = stack[n - 1], stack[n]
		n = n - 2
		local tags, nt = dst.tags, 0
		for i = 1, #src do
			local child = src[i]
			if child.name then
				local copy = copy_top(child)
				nt = nt + 1
				tags[nt] = copy
				if child[1] ~= nil then
					stack[n + 1], stack[n + 2] = child, copy
					n = n + 2
				end
				child = copy
			end
			dst[i] = child
		end
	end
	return top
end

---@param s lxmpp.stanza
---@param only_top? boolean
---@return lxmpp.stanza copy
local function clone(s, only_top)
	if getmetatable(s) ~= stanza_mt then
		error("bad argument to clone: expected stanza, got " .. type(s), 2)
	end
	if only_top then return copy_top(s) end
	return deep_copy(s)
end

-- { name, attr, [i] = child } without tags, cursor or metatable; attr is
-- shared with the stanza, as in Prosody.
---@param root lxmpp.stanza
---@return table plain without tags, cursor or metatable
local function preserialize(root)
	local top = { name = root.name, attr = root.attr }
	local stack, n = { root, top }, 2
	while n > 0 do
		local src, dst = stack[n - 1], stack[n]
		n = n - 2
		for i = 1, #src do
			local child = src[i]
			if child == nil then break end -- as ipairs() would
			if type(child) == "table" then
				local plain = { name = child.name, attr = child.attr }
				stack[n + 1], stack[n + 2] = child, plain
				n = n + 2
				child = plain
			end
			dst[i] = child
		end
	end
	return top
end

stanza_mt.__freeze = preserialize

-- An attr table from a plain one: string keys only, legacy "ns|name" keys
-- turned into "ns\1name".
local function plain_attr(attr)
	local out = {}
	if attr == nil then return out end
	for k, v in next, attr do
		if type(k) == "string" then
			if s_find(k, "|", 1, true) and not s_find(k, "\1", 1, true) then
				local ns, name = s_match(k, "^([^|]+)|(.+)$")
				if ns then k = ns .. "\1" .. name end
			end
			out[k] = v
		end
	end
	return out
end

-- Rebuilds a stanza from preserialize()'s form, validating everything.
---@param t table what preserialize gave
---@return lxmpp.stanza stanza
local function deserialize(t)
	if not t then return end -- nothing at all, as Prosody
	local top = new_element(t.name, plain_attr(t.attr), nil, 3)
	local stack, n = { t, top }, 2
	while n > 0 do
		local src, dst = stack[n - 1], stack[n]
		n = n - 2
		for i = 1, #src do
			local child = src[i]
			if child == nil then break end
			local kind = type(child)
			if kind == "table" then
				local s = new_element(child.name, plain_attr(child.attr), nil, 3)
				append(dst, s, 3)
				stack[n + 1], stack[n + 2] = child, s
				n = n + 2
			elseif kind == "string" then
				append(dst, child, 3)
			end
		end
	end
	return top
end

-- ---- output -------------------------------------------------------------

-- The opening tag alone: "<stream:stream xmlns='…'>".
---@return string xml the opening tag alone
function stanza_mt:top_tag()
	local s = serialize({ name = self.name, attr = self.attr })
	return s_sub(s, 1, -3) .. ">"
end

-- An indented copy: each child on its own line, `indent` (default a tab)
-- repeated per level. Elements holding only text are kept as they are,
-- and white-space-only text is dropped.
---@param level? integer
---@param indent? string
---@return lxmpp.stanza copy
function stanza_mt:indent(level, indent)
	local n = #self
	if n == 0 or (n == 1 and type(self[1]) == "string") then return self end
	indent = indent or "\t"
	level = level or 1
	local ok, why = valid_text(indent)
	if not ok then error("invalid text value: " .. why, 2) end
	local breaks = {} -- "\n" .. indent repeated, per level
	local function line(l)
		local b = breaks[l]
		if not b then
			local shorter = breaks[l - 1] -- usually there: levels go one by one
			b = shorter and shorter .. indent or "\n" .. s_rep(indent, l)
			breaks[l] = b
		end
		return b
	end
	local top = copy_top(self)
	local stack, sp = { self, top, level }, 3
	while sp > 0 do
		local src, dst, l = stack[sp - 2], stack[sp - 1], stack[sp]
		sp = sp - 3
		local tags, w = dst.tags, 0
		for i = 1, #src do
			local child = src[i]
			if type(child) == "string" then
				if s_find(child, "%S") then
					dst[w + 1], dst[w + 2] = line(l), child
					w = w + 2
				end
			elseif getmetatable(child) == stanza_mt then
				local m = #child
				if m > 0 and not (m == 1 and type(child[1]) == "string") then
					local copy = copy_top(child)
					stack[sp + 1], stack[sp + 2], stack[sp + 3] = child, copy, l + 1
					sp = sp + 3
					child = copy
				end
				dst[w + 1], dst[w + 2] = line(l), child
				w = w + 2
				tags[#tags + 1] = child
			end
		end
		dst[w + 1] = line(l - 1)
	end
	return top
end

-- Readable output for people: the indented XML text (no colours).
---@return string xml indented
function stanza_mt:pretty_print()
	return tostring(self:indent())
end

stanza_mt.pretty_top_tag = stanza_mt.top_tag

-- ---- errors -------------------------------------------------------------

-- Adds <error type by><condition/><text/>[extra]</error> at the cursor.
-- `error_type` may be a util.error-like object (type, condition, text,
-- context.by, extra.uri for gone, extra.tag or extra.namespace+condition).
local function add_error(self, error_type, condition, text, by, level)
	local extra
	if type(error_type) == "table" then
		if type(error_type.extra) == "table" then extra = error_type.extra end
		local context = error_type.context
		if type(context) == "table" and type(context.by) == "string" then by = context.by end
		error_type, condition, text = error_type.type, error_type.condition, error_type.text
	end
	if self.attr.from == by then by = nil end
	add_tag(self, "error", { type = error_type, by = by }, nil, level + 1)
	add_tag(self, condition, { xmlns = xmlns_stanzas }, nil, level + 1)
	if extra and condition == "gone" and type(extra.uri) == "string" then self:text(extra.uri) end
	self:up()
	if text then add_text_tag(self, "text", text, { xmlns = xmlns_stanzas }, nil, level + 1) end
	if extra and getmetatable(extra.tag) == stanza_mt then
		append(cursor(self), extra.tag, level + 1)
	elseif extra and extra.namespace and extra.condition then
		add_tag(self, extra.condition, { xmlns = extra.namespace }, nil, level + 1):up()
	end
	return self:up()
end

---@param error_type string "cancel", "continue", "modify", "auth", "wait"
---@param condition string|lxmpp.stanza
---@param text? string
---@param by? string
---@return lxmpp.stanza self
function stanza_mt:add_error(error_type, condition, text, by)
	return (add_error(self, error_type, condition, text, by, 3))
end

-- ---- a host's metatable -------------------------------------------------
-- Inside a server with its own stanza library (Prosody's util.stanza), both
-- must share one metatable so that each one's is_stanza accepts the
-- other's stanzas. adopt(mt) makes `mt` the metatable of every stanza
-- lxmpp builds from then on, its C parsers included. The host's methods
-- stay; lxmpp's fill in those it lacks, and are removed again when another
-- metatable is adopted. Returns the metatable adopted before.
local own_mt = stanza_mt
local filled = {} -- the keys lxmpp added to the adopted metatable

local function adopt(mt, level)
	if type(mt) ~= "table" then error("bad argument to adopt: expected table, got " .. type(mt), level) end
	local before = stanza_mt
	for k in next, filled do before[k] = nil end
	filled = {}
	if mt ~= own_mt then
		for k, v in next, own_mt do
			if mt[k] == nil then
				mt[k], filled[k] = v, true
			end
		end
	end
	debug.getregistry()[MT_KEY] = mt
	stanza_mt = mt
	return before
end

-- ---- module functions ---------------------------------------------------

---@param name string
---@param attr? table<string, string>
---@param namespaces? table<string, string>
---@return lxmpp.stanza s
local function stanza(name, attr, namespaces)
	return (new_element(name, attr, namespaces, 3))
end

---@param attr? table<string, string>
---@param body? string
---@return lxmpp.stanza message
local function message(attr, body)
	local s = new_element("message", attr, nil, 3)
	if body then add_text_tag(s, "body", body, nil, nil, 3) end
	return s
end

---@param attr { id: string, type: string, [string]: string }
---@return lxmpp.stanza iq
local function iq(attr)
	if not attr then error("iq stanzas require id and type attributes", 2) end
	if not attr.id then error("iq stanzas require an id attribute", 2) end
	if not attr.type then error("iq stanzas require a type attribute", 2) end
	return (new_element("iq", attr, nil, 3))
end

---@param attr? table<string, string>
---@return lxmpp.stanza presence
local function presence(attr)
	return (new_element("presence", attr, nil, 3))
end

local function make_reply(orig, level)
	local a = orig.attr
	return new_element(orig.name, {
		to = a.from,
		from = a.to,
		id = a.id,
		type = orig.name == "iq" and "result" or a.type,
	}, nil, level) -- a tail call: same level
end

---@param orig lxmpp.stanza
---@return lxmpp.stanza reply to the sender, same id (an iq: type result)
local function reply(orig)
	if getmetatable(orig) ~= stanza_mt then
		error("bad argument to reply: expected stanza, got " .. type(orig), 2)
	end
	return (make_reply(orig, 3))
end

-- An error reply with the cursor inside <error>, for an application child.
---@param orig lxmpp.stanza
---@param error_type string
---@param condition string
---@param text? string
---@param by? string
---@return lxmpp.stanza reply with the cursor inside <error>
local function error_reply(orig, error_type, condition, text, by)
	if getmetatable(orig) ~= stanza_mt then
		error("bad argument to error_reply: expected stanza, got " .. type(orig), 2)
	elseif orig.attr.type == "error" then
		error("bad argument to error_reply: got stanza of type error which must not be replied to", 2)
	end
	local r = make_reply(orig, 3)
	r.attr.type = "error"
	add_error(r, error_type, condition, text, by, 3)
	r.last_add = { r[1] }
	return r
end

local escapes = { ["'"] = "&apos;", ['"'] = "&quot;", ["<"] = "&lt;", [">"] = "&gt;", ["&"] = "&amp;" }

---@param s string
---@return string escaped
local function xml_escape(s)
	return (s_gsub(s, "['\"<>&]", escapes))
end

-- An XML document re-indented for reading; other strings come back as
-- they are.
---@param s string
---@return string pretty
local function pretty_print(s)
	local doc = xml_parse(s)
	if not doc then return s end
	return tostring(doc:indent())
end

---@class lxmpp.stanza_module
---@field stanza_mt table the stanzas' metatable (shared with the parsers)
local M = {
	stanza = stanza,
	message = message,
	iq = iq,
	presence = presence,
	reply = reply,
	error_reply = error_reply,
	clone = clone,
	preserialize = preserialize,
	deserialize = deserialize,
	is_stanza = is_stanza,
	xml_escape = xml_escape,
	pretty_print = pretty_print,
	stanza_mt = stanza_mt,
}

---Makes `mt` the metatable of every stanza lxmpp builds from then on (its
---C parsers included), keeping `mt`'s methods and lending lxmpp's where
---`mt` has none.
---@param mt table a host's stanza metatable (Prosody's util.stanza.stanza_mt)
---@return table before the metatable adopted before (adopt it to undo)
function M.adopt(mt)
	local before = adopt(mt, 3)
	M.stanza_mt = mt
	return before
end

return M

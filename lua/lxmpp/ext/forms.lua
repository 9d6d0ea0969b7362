-- lxmpp.ext.forms: XEP-0004 data forms. A library (build a form, read one
-- from a stanza, check what a peer submitted) and an extension: c:use
-- "forms" announces jabber:x:data in service discovery. See
-- docs/extensions.md, "Data forms".
--   local f = forms.new{ type = "form", title =, instructions =, fields = { ... } }
--   f:element() -> <x xmlns='jabber:x:data'/>; forms.parse(x) -> form | nil, why
--   f:values() -> { var = typed value }; f:check(submitted) -> values | nil, why, var
--   f:submit(values) -> the submit form; forms.form_type(f)
local jid_util = require "lxmpp.jid"
local st = require "lxmpp.stanza"

local NS = "jabber:x:data"

local forms = { name = "forms", NS = NS }

-- The field types (XEP-0004 §3.3): what each holds.
local MULTI = { ["jid-multi"] = true, ["list-multi"] = true, ["text-multi"] = true }
local TYPES = {
	boolean = true, fixed = true, hidden = true, ["jid-multi"] = true, ["jid-single"] = true,
	["list-multi"] = true, ["list-single"] = true, ["text-multi"] = true,
	["text-private"] = true, ["text-single"] = true,
}
local FORM_TYPES = { form = true, submit = true, cancel = true, result = true }

---@class lxmpp.form.option
---@field label? string
---@field value string

---@class lxmpp.form.field
---@field var? string the field's name (only a fixed field may lack one)
---@field type? string a XEP-0004 field type; nil means text-single
---@field label? string
---@field desc? string
---@field required? boolean
---@field value? string|boolean|string[] the typed value (see form:values())
---@field options? (lxmpp.form.option|string)[] for list-single and list-multi
---@field texts? string[] the <value/> texts as received (parsed forms only)

---@class lxmpp.form
---@field type string "form", "submit", "cancel" or "result"
---@field title? string
---@field instructions? string[]
---@field fields lxmpp.form.field[]
---@field reported? lxmpp.form.field[] the columns of a result table
---@field items? table[] its rows: { var = typed value }
local form_methods = {}
local form_mt = { __name = "lxmpp.form", __index = form_methods }

local function field_type(field)
	return field.type or "text-single"
end

-- The typed value of a field's <value/> texts, or nil and why.
local function typed(kind, texts, var)
	if MULTI[kind] then
		if kind == "jid-multi" then
			local jids = {}
			for i, text in ipairs(texts) do
				jids[i] = jid_util.prep(text)
				if not jids[i] then return nil, ("field '%s': not a JID: %s"):format(var, text) end
			end
			return jids
		end
		return texts
	end
	if #texts > 1 then return nil, ("field '%s' (%s) has more than one value"):format(var, kind) end
	local text = texts[1]
	if text == nil then return nil end
	if kind == "boolean" then
		if text == "1" or text == "true" then return true end
		if text == "0" or text == "false" then return false end
		return nil, ("field '%s': not a boolean: %s"):format(var, text)
	elseif kind == "jid-single" then
		local j = jid_util.prep(text)
		if not j then return nil, ("field '%s': not a JID: %s"):format(var, text) end
		return j
	end
	return text
end

-- The <value/> texts of a typed value.
local function texts_of(kind, value)
	if value == nil then return {} end
	if kind == "boolean" and type(value) == "boolean" then return { value and "1" or "0" } end
	if type(value) == "table" then return value end
	if kind == "text-multi" then
		local lines = {}
		for line in (value .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
		return lines
	end
	return { tostring(value) }
end

local function check_field(field, where)
	if type(field) ~= "table" then error(("lxmpp.ext.forms: %s is not a table"):format(where), 4) end
	local kind = field_type(field)
	if not TYPES[kind] then error(("lxmpp.ext.forms: %s has an unknown type '%s'"):format(where, tostring(kind)), 4) end
	if field.var == nil and kind ~= "fixed" then error(("lxmpp.ext.forms: %s needs a var"):format(where), 4) end
end

---Builds a form from a table of its parts (the shape of lxmpp.form).
---@param def table { type =, title =, instructions = string|string[], fields =, reported =, items = }
---@return lxmpp.form
function forms.new(def)
	if type(def) ~= "table" then error("lxmpp.ext.forms: new takes a table", 2) end
	local kind = def.type or "form"
	if not FORM_TYPES[kind] then error("lxmpp.ext.forms: a form's type is form, submit, cancel or result", 2) end
	local instructions = def.instructions
	if type(instructions) == "string" then instructions = { instructions } end
	local f = setmetatable({ type = kind, title = def.title, instructions = instructions or {},
		fields = {}, reported = def.reported, items = def.items }, form_mt)
	for i, field in ipairs(def.fields or {}) do
		check_field(field, "field " .. i)
		f.fields[i] = field
	end
	for i, field in ipairs(def.reported or {}) do check_field(field, "reported field " .. i) end
	return f
end

---The field named var, or nil.
---@param var string
---@return lxmpp.form.field?
function form_methods:field(var)
	for _, field in ipairs(self.fields) do
		if field.var == var then return field end
	end
	return nil
end

local function add_field(x, field, with_details)
	local kind = field_type(field)
	x:tag("field", { var = field.var, type = field.type, label = with_details and field.label or nil })
	if with_details then
		if field.desc then x:text_tag("desc", field.desc) end
		if field.required then x:tag("required"):up() end
		for _, o in ipairs(field.options or {}) do
			if type(o) == "string" then o = { value = o } end
			x:tag("option", { label = o.label }):text_tag("value", o.value):up()
		end
	end
	for _, text in ipairs(texts_of(kind, field.value)) do x:text_tag("value", text) end
	x:up()
end

---The form as an <x xmlns='jabber:x:data'/> element, to add to a stanza.
---@return table element
function form_methods:element()
	local x = st.stanza("x", { xmlns = NS, type = self.type })
	if self.title then x:text_tag("title", self.title) end
	for _, line in ipairs(self.instructions) do x:text_tag("instructions", line) end
	local details = self.type ~= "submit"
	for _, field in ipairs(self.fields) do add_field(x, field, details) end
	if self.reported then
		x:tag("reported")
		for _, field in ipairs(self.reported) do
			add_field(x, { var = field.var, type = field.type, label = field.label }, true)
		end
		x:up()
		local kinds = {}
		for _, field in ipairs(self.reported) do kinds[field.var] = field_type(field) end
		for _, row in ipairs(self.items or {}) do
			x:tag("item")
			for _, field in ipairs(self.reported) do
				x:tag("field", { var = field.var })
				for _, text in ipairs(texts_of(kinds[field.var], row[field.var])) do x:text_tag("value", text) end
				x:up()
			end
			x:up()
		end
	end
	return x
end

-- A field from its element, or nil and why; `kinds` gives the types of a
-- table's columns (an item's fields carry none).
local function parse_field(el, kinds)
	local var = el.attr.var
	local kind = el.attr.type or (kinds and kinds[var]) or "text-single"
	if not TYPES[kind] then return nil, ("field '%s' has an unknown type '%s'"):format(tostring(var), kind) end
	if var == nil and kind ~= "fixed" then return nil, "a field without var" end
	local field = { var = var, type = el.attr.type, label = el.attr.label,
		desc = el:get_child_text("desc"), required = el:get_child("required") ~= nil or nil }
	local texts = {}
	for v in el:childtags("value") do texts[#texts + 1] = v:get_text() or "" end
	for o in el:childtags("option") do
		field.options = field.options or {}
		field.options[#field.options + 1] = { label = o.attr.label, value = o:get_child_text("value") or "" }
	end
	-- without a type (allowed in a submission) the texts are taken as they
	-- come: the form's owner types them (form:check)
	local value, why
	if el.attr.type == nil and not (kinds and kinds[var]) and #texts > 1 then
		value = texts
	else
		value, why = typed(kind, texts, var)
	end
	if why then return nil, why end
	field.value, field.texts = value, texts
	return field
end

---Reads a form from its <x xmlns='jabber:x:data'/> element (or a stanza or
---element that holds one): the form, or nil and why it is not valid.
---@param el table
---@return lxmpp.form|nil form
---@return string? why
function forms.parse(el)
	if not st.is_stanza(el) then return nil, "not an element" end
	if not (el.name == "x" and el.attr.xmlns == NS) then
		el = el:get_child("x", NS)
		if not el then return nil, "no data form" end
	end
	local kind = el.attr.type
	if not FORM_TYPES[kind] then return nil, "a form's type is form, submit, cancel or result" end
	local f = setmetatable({ type = kind, title = el:get_child_text("title"), instructions = {}, fields = {} }, form_mt)
	for i in el:childtags("instructions") do f.instructions[#f.instructions + 1] = i:get_text() or "" end
	local seen = {}
	for fe in el:childtags("field") do
		local field, why = parse_field(fe)
		if not field then return nil, why end
		if field.var then
			if seen[field.var] then return nil, ("field '%s' appears twice"):format(field.var) end
			seen[field.var] = true
		end
		f.fields[#f.fields + 1] = field
	end
	local reported = el:get_child("reported")
	if reported then
		f.reported, f.items = {}, {}
		local kinds = {}
		for fe in reported:childtags("field") do
			local field, why = parse_field(fe)
			if not field then return nil, why end
			f.reported[#f.reported + 1] = field
			kinds[field.var] = field_type(field)
		end
		for item in el:childtags("item") do
			local row = {}
			for fe in item:childtags("field") do
				if not kinds[fe.attr.var] then
					return nil, ("an item has the field '%s', not reported"):format(tostring(fe.attr.var))
				end
				local field, why = parse_field(fe, kinds)
				if not field then return nil, why end
				row[field.var] = field.value
			end
			f.items[#f.items + 1] = row
		end
	end
	return f
end

---The fields' values by var, typed: boolean fields give true or false,
---jid-single a prepared JID, the -multi types a list, the others a string.
---@return table<string, any>
function form_methods:values()
	local values = {}
	for _, field in ipairs(self.fields) do
		if field.var then values[field.var] = field.value end
	end
	return values
end

---Checks values (a table var -> typed value, or a submitted form) against
---this form: required fields present, types, list-single values among the
---options (list-single and list-multi). The typed values, or nil, why and
---the field's var.
---@param submitted table|lxmpp.form
---@return table<string, any>|nil values
---@return string? why
---@return string? var
function form_methods:check(submitted)
	if type(submitted) ~= "table" then error("lxmpp.ext.forms: check takes a form or a table of values", 2) end
	local given = getmetatable(submitted) == form_mt and submitted:values() or submitted
	local values = {}
	for _, field in ipairs(self.fields) do
		local var, kind = field.var, field_type(field)
		if var and kind ~= "fixed" then
			local value, why = typed(kind, texts_of(kind, given[var]), var)
			if why then return nil, why, var end
			if field.required and (value == nil or (MULTI[kind] and #value == 0)) then
				return nil, ("field '%s' is required"):format(var), var
			end
			if value ~= nil and (kind == "list-single" or kind == "list-multi") and field.options then
				local offered = {}
				for _, o in ipairs(field.options) do offered[type(o) == "string" and o or o.value] = true end
				for _, v in ipairs(kind == "list-multi" and value or { value }) do
					if not offered[v] then
						return nil, ("field '%s': '%s' is not one of the options"):format(var, tostring(v)), var
					end
				end
			end
			values[var] = value
		end
	end
	return values
end

---The submit form answering this one with the given values (checked).
---@param values table<string, any>
---@return lxmpp.form|nil submit
---@return string? why
---@return string? var
function form_methods:submit(values)
	local checked, why, var = self:check(values)
	if not checked then return nil, why, var end
	local fields = {}
	for _, field in ipairs(self.fields) do
		if field.var and field_type(field) ~= "fixed" and (checked[field.var] ~= nil or field_type(field) == "hidden") then
			local value = checked[field.var]
			if value == nil then value = field.value end
			fields[#fields + 1] = { var = field.var, type = field.type, value = value }
		end
	end
	return forms.new{ type = "submit", fields = fields }
end

---The <value/> texts of a field: as received for a parsed form (XEP-0115
---hashes them), as they will be sent for a built one.
---@param field lxmpp.form.field
---@return string[]
function forms.texts(field)
	return field.texts or texts_of(field_type(field), field.value)
end

---The FORM_TYPE of a form (its hidden field of that name), or nil.
---@param f lxmpp.form
---@return string?
function forms.form_type(f)
	local field = f:field("FORM_TYPE")
	return field and type(field.value) == "string" and field.value or nil
end

---As an extension (c:use "forms"): announces jabber:x:data.
---@param c lxmpp.client
---@return table forms this module
function forms.init(c)
	c:use("disco"):add_feature(NS)
	return forms
end

return forms

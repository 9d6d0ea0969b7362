-- lxmpp.ext: the extension mechanism of a connection (lxmpp.client today;
-- every connection object with on, iq, send, filter, new_id and clock).
-- c:use(name [, opts]) loads lxmpp.ext.<name> (or takes a module table
-- { name =, init = }), calls init(c, opts) once per connection and returns
-- what init returned, the extension's object; using it again returns the
-- same object. An extension registers its own disco features
-- (c:use("disco"):add_feature(...)). See docs/extensions.md.
---@class lxmpp.ext
local ext = {}

local function misuse(message)
	error("lxmpp.ext: " .. message, 4)
end

---Enables an extension on a connection; see c:use.
---@param c table the connection
---@param e string|{ name: string, init: fun(c: table, opts: table): any }
---@param opts? table the extension's options, given the first time only
---@return any extension the extension's object
function ext.use(c, e, opts)
	local module
	if type(e) == "string" then
		if not e:match("^[%w_]+$") then misuse("not an extension name: " .. e) end
		module = require("lxmpp.ext." .. e)
	elseif type(e) == "table" and type(e.name) == "string" and type(e.init) == "function" then
		module = e
	else
		misuse("use takes an extension name or a module { name =, init = }")
	end
	if opts ~= nil and type(opts) ~= "table" then misuse("an extension's options are a table") end
	local loaded = c.extensions
	local have = loaded[module.name]
	if have ~= nil then
		if have == false then misuse("extension '" .. module.name .. "' uses itself while it starts") end
		if opts ~= nil then misuse("extension '" .. module.name .. "' is in use already: options are given once") end
		return have
	end
	loaded[module.name] = false
	local ok, object = pcall(module.init, c, opts or {})
	if not ok then
		loaded[module.name] = nil
		error(object, 0)
	end
	loaded[module.name] = object == nil and true or object
	return loaded[module.name]
end

---An extension's numeric options: `opts` over `defaults`, each a number.
---@param opts table what the application gave
---@param defaults table<string, number>
---@param who string the extension's module, for the error
---@return table<string, number>
function ext.numbers(opts, defaults, who)
	local o = {}
	for k, v in pairs(defaults) do
		if opts[k] ~= nil and type(opts[k]) ~= "number" then
			error(who .. ": option '" .. k .. "' is a number", 4)
		end
		o[k] = opts[k] or v
	end
	return o
end

return ext

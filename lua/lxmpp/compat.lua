-- lxmpp.compat: what lxmpp's modules need from Lua 5.4 on Lua 5.1, 5.2, 5.3
-- and LuaJIT 2.1 (see docs/versions.md). On 5.4 every field is the standard
-- function itself.
---@class lxmpp.compat
---@field unpack fun(t: table, i?: integer, j?: integer): ... table.unpack (unpack on 5.1)
---@field pack fun(...): table table.pack: the arguments, with their count in field n
---@field pcall fun(fn: function, ...): boolean, ... pcall, in which a coroutine may yield also on Lua 5.1
---@field xpcall fun(fn: function, handler: function, ...): boolean, ... xpcall, the same
local compat = {}

compat.unpack = table.unpack or unpack ---@diagnostic disable-line: deprecated

---@param ... any
---@return table packed the arguments, with their count in field n
function compat.pack(...)
	return { n = select("#", ...), ... }
end
if table.pack then compat.pack = table.pack end

-- Before 5.3 every number is a float: one with an integral value counts as
-- an integer, as 5.3 reads such a literal.
local function integral(x)
	return type(x) == "number" and x == math.floor(x) and x >= -2 ^ 53 and x <= 2 ^ 53
end

---@param x any
---@return "integer"|"float"|nil kind what math.type says of x on Lua 5.3 and later
function compat.math_type(x)
	if math.type then return math.type(x) end
	if type(x) ~= "number" then return nil end
	return integral(x) and "integer" or "float"
end

---@param x any
---@return integer|nil n x if it is a number with an integral value
function compat.tointeger(x)
	if math.tointeger then
		-- 5.4 converts integral strings too; 5.3 and this module do not.
		return type(x) == "number" and math.tointeger(x) or nil
	end
	if integral(x) then return x end
	return nil
end

-- Whether a coroutine may yield from inside pcall: Lua 5.2 and later and
-- LuaJIT can; Lua 5.1 cannot ("attempt to yield across metamethod/C-call
-- boundary"). There, pcall and xpcall run the function in a coroutine of
-- their own and pass its yields on.
local probe = coroutine.create(function() return pcall(coroutine.yield) end)
coroutine.resume(probe)
local yieldable_pcall = coroutine.status(probe) == "suspended"
-- Where a coroutine may yield from inside pcall, a metamethod or the
-- iterator of a for-in loop: everywhere but PUC Lua 5.1.
compat.yield_across_c = yieldable_pcall

-- The coroutine each of our inner coroutines stands for (Lua 5.1 only).
local outer = setmetatable({}, { __mode = "kv" })

---@return thread|nil co the running coroutine as the caller sees it (nil on the main thread on 5.1)
function compat.running()
	local co = coroutine.running()
	while co and outer[co] do co = outer[co] end
	return co
end

---@param fn function
---@param handler fun(message: any): any called with the error, before the stack unwinds
---@param ... any arguments for fn
---@return boolean ok
---@return any ... fn's results, or the handler's result
function compat.xpcall(fn, handler, ...)
	local args = compat.pack(...)
	local co = coroutine.create(function() return fn(compat.unpack(args, 1, args.n)) end)
	outer[co] = compat.running()
	local function step(ok, ...)
		if not ok then
			-- The dead coroutine keeps its stack: the traceback is fn's.
			if handler == debug.traceback then return false, debug.traceback(co, (...)) end
			return false, handler((...))
		end
		if coroutine.status(co) == "dead" then return true, ... end
		return step(coroutine.resume(co, coroutine.yield(...)))
	end
	return step(coroutine.resume(co))
end

---@param fn function
---@param ... any arguments for fn
---@return boolean ok
---@return any ... fn's results, or the error
function compat.pcall(fn, ...)
	return compat.xpcall(fn, function(message) return message end, ...)
end

if yieldable_pcall then
	---@return thread|nil co the running coroutine
	compat.running = function() return (coroutine.running()) end
	compat.pcall, compat.xpcall = pcall, xpcall
end

---@param name string a module name ("lxmpp.server")
---@param path string package.path or package.cpath
---@return string|nil file the first file of path's templates that exists
function compat.searchpath(name, path)
	if package.searchpath then return package.searchpath(name, path) end
	local file_name = name:gsub("%.", "/")
	for template in path:gmatch("[^;]+") do
		local candidate = template:gsub("%?", file_name)
		local f = io.open(candidate)
		if f then
			f:close()
			return candidate
		end
	end
	return nil
end

-- To-be-closed variables (`local x <close> = ...`) exist from Lua 5.4 on;
-- elsewhere call x:close() yourself, as docs/versions.md shows.
compat.has_close = _VERSION >= "Lua 5.4"

return compat

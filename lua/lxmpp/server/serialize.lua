-- lxmpp.server.serialize: a Lua table of strings, numbers, booleans and
-- tables as text, and back. decode parses with its own small reader (no
-- load()), so a damaged or hostile value cannot run code.
--   serialize.encode(t) -> text ; serialize.decode(text) -> t | nil, message
local math_type = require("lxmpp.compat").math_type

---@class lxmpp.server.serialize
local serialize = {}

local function encode(v, out)
	local t = type(v)
	if t == "string" then
		out[#out + 1] = ("%q"):format(v):gsub("\\\n", "\\n")
	elseif t == "number" then
		out[#out + 1] = math_type(v) == "integer" and ("%d"):format(v) or ("%.17g"):format(v)
	elseif t == "boolean" then
		out[#out + 1] = tostring(v)
	elseif t == "table" then
		out[#out + 1] = "{"
		for k, x in pairs(v) do
			out[#out + 1] = "["
			encode(k, out)
			out[#out + 1] = "]="
			encode(x, out)
			out[#out + 1] = ","
		end
		out[#out + 1] = "}"
	else
		error("lxmpp.server.serialize: cannot store a " .. t, 3)
	end
end

---@param v table
---@return string
function serialize.encode(v)
	local out = {}
	encode(v, out)
	return table.concat(out)
end

local ESCAPES = { n = "\n", t = "\t", r = "\r", a = "\a", b = "\b", f = "\f", v = "\v",
	["\\"] = "\\", ['"'] = '"', ["'"] = "'", ["\n"] = "\n" }

-- Reads one value at position i; returns it and the next position.
local function read(s, i)
	local c = s:sub(i, i)
	if c == "{" then
		local t = {}
		i = i + 1
		while s:sub(i, i) ~= "}" do
			if s:sub(i, i) ~= "[" then error("bad key") end
			local k, v
			k, i = read(s, i + 1)
			if s:sub(i, i + 1) ~= "]=" then error("bad entry") end
			v, i = read(s, i + 2)
			if s:sub(i, i) ~= "," then error("bad separator") end
			i = i + 1
			t[k] = v
		end
		return t, i + 1
	elseif c == '"' then
		local parts = {}
		i = i + 1
		while true do
			local j = s:find('[\\"]', i)
			if not j then error("unterminated string") end
			parts[#parts + 1] = s:sub(i, j - 1)
			if s:sub(j, j) == '"' then return table.concat(parts), j + 1 end
			local e = s:sub(j + 1, j + 1)
			local digits = s:match("^%d%d?%d?", j + 1)
			if digits then
				parts[#parts + 1] = string.char(tonumber(digits))
				i = j + 1 + #digits
			elseif ESCAPES[e] then
				parts[#parts + 1] = ESCAPES[e]
				i = j + 2
			else
				error("bad escape")
			end
		end
	elseif s:sub(i, i + 3) == "true" then
		return true, i + 4
	elseif s:sub(i, i + 4) == "false" then
		return false, i + 5
	end
	local num = s:match("^[-+%w%.]+", i)
	local n = num and tonumber(num)
	if not n then error("bad value") end
	return n, i + #num
end

---@param text string
---@return table|nil value
---@return string? message
function serialize.decode(text)
	local ok, v, i = pcall(read, text, 1)
	if not ok or i ~= #text + 1 then return nil, "serialize: damaged value" end
	return v
end

return serialize

-- A serializer that knows strings, numbers and tables: what a program
-- would write to a file (c:sm_state() in spec/interop/sm_spec.lua).
--   local text = serialize(value) -- load("return " .. text)() gives it back
local function serialize(v)
	if type(v) == "number" then return ("%.17g"):format(v) end -- %q quotes numbers on 5.1
	if type(v) ~= "table" then return type(v) == "string" and ("%q"):format(v) or tostring(v) end
	local parts = {}
	for k, x in pairs(v) do parts[#parts + 1] = "[" .. serialize(k) .. "]=" .. serialize(x) end
	return "{" .. table.concat(parts, ",") .. "}"
end

return serialize

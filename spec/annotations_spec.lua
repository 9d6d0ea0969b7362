-- The public Lua API carries LuaCATS annotations (---@class, ---@param,
-- ---@return), so that editors (LuaLS) complete and check code that uses
-- it. Public: every function a module returns (found by loading it) and
-- every function defined on a table at the top level of a module file
-- (methods of its objects). Each needs ---@param for each parameter and,
-- when it returns a value, ---@return; a C function a module returns needs
-- a ---@field in the module's ---@class, which a module returning a table
-- has. Every module in lua/lxmpp counts.

local function read_lines(path)
	local lines = {}
	for line in io.lines(path) do lines[#lines + 1] = line end
	return lines
end

-- The ---@ lines right above line n (the doc comment of a definition).
local function doc_above(lines, n)
	local tags = {}
	for i = n - 1, 1, -1 do
		local tag, rest = lines[i]:match("^%s*%-%-%-(@%a+)%s*(.*)$")
		if not lines[i]:match("^%s*%-%-%-") then break end
		if tag then tags[#tags + 1] = { tag = tag, rest = rest } end
	end
	return tags
end

local function params_of(line)
	local list = line:match("function%s*[%w_.:]*%s*%(([^)]*)%)")
	local params = {}
	for p in (list or ""):gmatch("[%w_%.]+") do params[#params + 1] = p end
	return params
end

-- Whether the function defined at line n returns a value: a `return x`
-- before the `end` at the definition's indentation (or on a one-liner).
local function returns_value(lines, n)
	local indent = lines[n]:match("^(%s*)")
	local last = n
	if not lines[n]:match("end%)?,?%s*$") then
		for i = n + 1, #lines do
			if lines[i] == indent .. "end" or lines[i]:match("^" .. indent .. "end[,)]") then
				last = i
				break
			end
		end
	end
	local skip_until -- the indentation of a nested function's `end`
	for i = n, last do
		local code = lines[i]:gsub("%-%-.*$", "")
		if i == n then code = code:match("function%s*[%w_.:]*%s*%b()(.*)$") or "" end -- the body only
		local nested = code:find("%f[%w]function%f[%W]")
		if skip_until then
			if code:match("^" .. skip_until .. "end") then skip_until = nil end
		elseif nested then -- the returns of a nested function are its own
			if not code:find("%f[%w]end[%s%),]*$") then skip_until = code:match("^(%s*)") end
		else
			for rest in code:gmatch("%f[%w]return%s+([%w_\"'({%-#]+)") do
				if rest ~= "end" then return true end
			end
		end
	end
	return false
end

-- The problems of the definition at line n ({} when it is annotated).
local function check_definition(lines, n, what)
	local problems, tags = {}, doc_above(lines, n)
	local documented = {}
	for _, t in ipairs(tags) do
		if t.tag == "@param" then documented[t.rest:match("^([%w_%.]+)")] = true end
	end
	for _, p in ipairs(params_of(lines[n])) do
		if not documented[p] then problems[#problems + 1] = what .. ": no ---@param " .. p end
	end
	if returns_value(lines, n) then
		local has = false
		for _, t in ipairs(tags) do has = has or t.tag == "@return" end
		if not has then problems[#problems + 1] = what .. ": no ---@return" end
	end
	return problems
end

local function modules()
	local found = {}
	for path in io.popen("find lua/lxmpp -name '*.lua' | sort"):lines() do
		local name = path:gsub("^lua/", ""):gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
		found[#found + 1] = { path = path, name = name }
	end
	return found
end

describe("LuaCATS annotations", function()
	for _, m in ipairs(modules()) do
		it("cover the public API of " .. m.name, function()
			local lines = read_lines(m.path)
			local source = table.concat(lines, "\n")
			local problems = {}
			-- functions defined on tables: module functions and methods
			for n, line in ipairs(lines) do
				local name = line:match("^function%s+([%w_]+[.:][%w_]+)%s*%(")
				if name and not name:match("[.:]_") then
					for _, p in ipairs(check_definition(lines, n, name)) do problems[#problems + 1] = p end
				end
			end
			-- what the module returns
			local ok, mod = pcall(require, m.name)
			assert(ok, mod)
			if type(mod) == "function" then -- a plugin: the function is its API
				local n = debug.getinfo(mod, "S").linedefined
				for _, p in ipairs(check_definition(lines, n, m.name)) do problems[#problems + 1] = p end
			elseif not source:find("%-%-%-@class") then
				problems[#problems + 1] = "no ---@class"
			end
			if type(mod) == "table" then
				for key, value in pairs(mod) do
					if type(value) == "function" and type(key) == "string" then
						local info = debug.getinfo(value, "S")
						if info.source == "@" .. m.path then
							local n = info.linedefined
							if not lines[n]:match("^function") then -- else checked above
								for _, p in ipairs(check_definition(lines, n, m.name .. "." .. key)) do
									problems[#problems + 1] = p
								end
							end
						elseif not source:find("%-%-%-@field%s+" .. key .. "[%s?]") then
							problems[#problems + 1] = m.name .. "." .. key .. ": no ---@field in the module's class"
						end
					end
				end
			end
			table.sort(problems)
			assert.same({}, problems)
		end)
	end
end)

-- lxmpp.compat: what lxmpp's modules use of Lua 5.4 on 5.1, 5.2, 5.3 and
-- LuaJIT, tested on whichever interpreter runs the specs (make test runs
-- them on every one installed).
local compat = require "lxmpp.compat"

describe("lxmpp.compat on " .. (rawget(_G, "jit") and jit.version or _VERSION), function()
	it("packs and unpacks with the count, nils included", function()
		local t = compat.pack(1, nil, 3, nil)
		assert.equal(4, t.n)
		assert.equal(4, select("#", compat.unpack(t, 1, t.n)))
		assert.same({ 1, nil, 3 }, { compat.unpack(t, 1, 3) })
	end)

	it("tells integers from floats as 5.3 does, where a number is integral", function()
		assert.equal("integer", compat.math_type(5222))
		assert.equal("float", compat.math_type(0.5))
		assert.is_nil(compat.math_type("5222"))
		assert.equal(5222, compat.tointeger(5222))
		assert.is_nil(compat.tointeger(52.5))
		assert.is_nil(compat.tointeger("5222"))
	end)

	it("lets a coroutine wait inside pcall and xpcall, and passes their arguments", function()
		local co = coroutine.create(function(a, b)
			local ok, sum = compat.pcall(function(x, y) return x + coroutine.yield("waiting") + y end, a, b)
			local ok2, err = compat.xpcall(function(x)
				coroutine.yield("again")
				error({ x })
			end, function(e) return e[1] * 2 end, 21)
			return ok, sum, ok2, err
		end)
		assert.same({ true, "waiting" }, { coroutine.resume(co, 1, 2) })
		assert.same({ true, "again" }, { coroutine.resume(co, 10) })
		assert.same({ true, true, 13, false, 42 }, { coroutine.resume(co) })
	end)

	it("gives the traceback of the failing function to debug.traceback", function()
		local function failing() error("deep") end
		local ok, trace = compat.xpcall(function() failing() end, debug.traceback)
		assert.is_false(ok)
		assert.matches("deep", trace)
		assert.matches("stack traceback", trace)
		assert.matches("versions_spec.lua:%d+: in [%a ]*'failing'", trace)
	end)

	it("names the caller's coroutine inside pcall", function()
		local co
		co = coroutine.create(function()
			return select(2, compat.pcall(function() return compat.running() == co end))
		end)
		assert.same({ true, true }, { coroutine.resume(co) })
	end)

	it("finds a module's file along a path", function()
		assert.equal("lua/lxmpp/compat.lua", compat.searchpath("lxmpp.compat", "nowhere/?.lua;lua/?.lua"))
		assert.is_nil(compat.searchpath("lxmpp.nothing", "lua/?.lua"))
	end)

	it("says whether the interpreter has to-be-closed variables", function()
		assert.equal(_VERSION == "Lua 5.4", compat.has_close)
		assert.equal(not (_VERSION == "Lua 5.1" and not rawget(_G, "jit")), compat.yield_across_c)
	end)
end)

describe("docs/versions.md", function()
	for name, run in require "support.doc_examples"("docs/versions.md") do it(name, run) end
end)

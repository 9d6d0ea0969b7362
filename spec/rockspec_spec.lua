-- The rockspec builds from an explicit source list: it must name every C
-- file and every Lua module, or `luarocks make` ships a broken rock.
describe("lxmpp-scm-1.rockspec", function()
	local spec = {}
	local chunk = assert(loadfile("lxmpp-scm-1.rockspec", "t", spec))
	if setfenv then setfenv(chunk, spec) end -- Lua 5.1's loadfile takes no env
	chunk()

	local function listing(command)
		local found = {}
		for line in io.popen(command):lines() do found[#found + 1] = line end
		table.sort(found)
		return found
	end

	it("lists every C source of the core and the binding", function()
		local sources = spec.build.modules["lxmpp.core"].sources
		local listed = {}
		for i, s in ipairs(sources) do listed[i] = s end
		table.sort(listed)
		assert.same(listing("ls csrc/*.c csrc/lua/*.c"), listed)
	end)

	it("installs every Lua module, and the Prosody module mod_lxmpp", function()
		local modules = {}
		for _, path in pairs(spec.build.modules) do
			if type(path) == "string" then modules[#modules + 1] = path end
		end
		table.sort(modules)
		assert.same(listing("find lua prosody -name '*.lua'"), modules)
	end)
end)
